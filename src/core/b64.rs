//! base64url without padding (RFC 4648 §5), strict.
//!
//! Strict means every byte string has exactly one accepted text form: no
//! padding, no whitespace, no characters from the standard alphabet, and the
//! unused low bits of the last character must be zero. Without the last rule a
//! token could be re-encoded (a different last character decoding to the same
//! bytes) and still verify.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Encoded length of `n` bytes.
pub const fn encoded_len(n: usize) -> usize {
    (n / 3) * 4 + match n % 3 {
        0 => 0,
        1 => 2,
        _ => 3,
    }
}

/// Encode without padding.
pub fn encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(encoded_len(input.len()));
    let mut chunks = input.chunks_exact(3);
    for c in &mut chunks {
        let &[a, b, c] = c else { break };
        let n = (u32::from(a) << 16) | (u32::from(b) << 8) | u32::from(c);
        for shift in [18u32, 12, 6, 0] {
            out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
        }
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.push(char::from(ALPHABET[((n >> 18) & 63) as usize]));
            out.push(char::from(ALPHABET[((n >> 12) & 63) as usize]));
        }
        [a, b] => {
            let n = (u32::from(a) << 16) | (u32::from(b) << 8);
            out.push(char::from(ALPHABET[((n >> 18) & 63) as usize]));
            out.push(char::from(ALPHABET[((n >> 12) & 63) as usize]));
            out.push(char::from(ALPHABET[((n >> 6) & 63) as usize]));
        }
        _ => {}
    }
    out
}

/// Reverse alphabet: 6-bit value, or `INVALID`. A table instead of range
/// matches keeps decoding branch-light (it runs on every request).
const INVALID: u8 = 0xFF;
const DECODE: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
};

#[inline]
fn value(c: u8) -> Option<u32> {
    match DECODE[usize::from(c)] {
        INVALID => None,
        v => Some(u32::from(v)),
    }
}

/// Why a base64url text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// A character outside the base64url alphabet (including `=`).
    InvalidCharacter,
    /// A length of 1 mod 4 cannot come from any byte string.
    InvalidLength,
    /// The unused bits of the last character are not zero (non-canonical).
    NonCanonical,
}

/// Decode strictly; see the module documentation.
pub fn decode(input: &[u8]) -> Result<Vec<u8>, DecodeError> {
    if input.len() % 4 == 1 {
        return Err(DecodeError::InvalidLength);
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 2);
    let mut chunks = input.chunks_exact(4);
    for c in &mut chunks {
        let &[a, b, c2, d] = c else { return Err(DecodeError::InvalidLength) };
        let [a, b, c2, d] = [a, b, c2, d].map(|x| DECODE[usize::from(x)]);
        // One check for the whole quad: INVALID has its top bits set.
        if (a | b | c2 | d) & 0xC0 != 0 {
            return Err(DecodeError::InvalidCharacter);
        }
        let n = (u32::from(a) << 18) | (u32::from(b) << 12) | (u32::from(c2) << 6) | u32::from(d);
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
    match *chunks.remainder() {
        [a, b] => {
            let n = (value(a).ok_or(DecodeError::InvalidCharacter)? << 6)
                | value(b).ok_or(DecodeError::InvalidCharacter)?;
            if n & 0xF != 0 {
                return Err(DecodeError::NonCanonical);
            }
            out.push((n >> 4) as u8);
        }
        [a, b, c] => {
            let n = (value(a).ok_or(DecodeError::InvalidCharacter)? << 12)
                | (value(b).ok_or(DecodeError::InvalidCharacter)? << 6)
                | value(c).ok_or(DecodeError::InvalidCharacter)?;
            if n & 0x3 != 0 {
                return Err(DecodeError::NonCanonical);
            }
            out.extend_from_slice(&[(n >> 10) as u8, (n >> 2) as u8]);
        }
        _ => {}
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors_without_padding() {
        let cases: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (b"fooba", "Zm9vYmE"),
            (b"foobar", "Zm9vYmFy"),
        ];
        for (raw, text) in cases {
            assert_eq!(encode(raw), text);
            assert_eq!(decode(text.as_bytes()).unwrap(), raw);
        }
    }

    #[test]
    fn url_alphabet_round_trips_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let text = encode(&all);
        assert!(!text.contains('+') && !text.contains('/') && !text.contains('='));
        assert_eq!(decode(text.as_bytes()).unwrap(), all);
    }

    #[test]
    fn refuses_padding_standard_alphabet_and_bad_lengths() {
        assert_eq!(decode(b"Zg=="), Err(DecodeError::InvalidCharacter));
        assert_eq!(decode(b"Zm+v"), Err(DecodeError::InvalidCharacter));
        assert_eq!(decode(b"Zm/v"), Err(DecodeError::InvalidCharacter));
        assert_eq!(decode(b"Zm9 "), Err(DecodeError::InvalidCharacter));
        assert_eq!(decode(b"Z"), Err(DecodeError::InvalidLength));
        assert_eq!(decode(b"Zm9vY"), Err(DecodeError::InvalidLength));
    }

    #[test]
    fn refuses_non_canonical_trailing_bits() {
        // "Zg" is canonical for "f"; "Zh" decodes to the same byte with a stray bit.
        assert_eq!(decode(b"Zh"), Err(DecodeError::NonCanonical));
        assert_eq!(decode(b"Zm8"), Ok(b"fo".to_vec()));
        assert_eq!(decode(b"Zm9"), Err(DecodeError::NonCanonical));
        assert_eq!(decode(b"Zm-"), Err(DecodeError::NonCanonical));
    }
}

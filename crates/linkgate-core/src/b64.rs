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
    (n / 3) * 4
        + match n % 3 {
            0 => 0,
            1 => 2,
            _ => 3,
        }
}

/// The alphabet character of the low six bits of `n` (in range by the mask;
/// the fallback is unreachable and compiled away).
fn sextet(n: u32) -> u8 {
    ALPHABET.get((n & 63) as usize).copied().unwrap_or(b'A')
}

/// Encode without padding.
pub fn encode(input: &[u8]) -> String {
    // Bytes into a buffer of the final length, a quad at a time: no
    // `String::push` (a UTF-8 re-encoding per character) and no capacity
    // check per write, each a call at opt-level z (the JS signer).
    let mut out = vec![0u8; encoded_len(input.len())];
    let mut quads = out.chunks_exact_mut(4);
    let mut chunks = input.chunks_exact(3);
    for (q, c) in (&mut quads).zip(&mut chunks) {
        if let ([w, x, y, z], &[a, b, c]) = (q, c) {
            let n = (u32::from(a) << 16) | (u32::from(b) << 8) | u32::from(c);
            (*w, *x, *y, *z) = (sextet(n >> 18), sextet(n >> 12), sextet(n >> 6), sextet(n));
        }
    }
    match (quads.into_remainder(), chunks.remainder()) {
        ([w, x], &[a]) => {
            let n = u32::from(a) << 16;
            (*w, *x) = (sextet(n >> 18), sextet(n >> 12));
        }
        ([w, x, y], &[a, b]) => {
            let n = (u32::from(a) << 16) | (u32::from(b) << 8);
            (*w, *x, *y) = (sextet(n >> 18), sextet(n >> 12), sextet(n >> 6));
        }
        _ => {}
    }
    // Only alphabet bytes were written: ASCII, always UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// Reverse alphabet, one table per position in a quad with the 6-bit value
/// already shifted into place, so a quad is four loads and three ORs (this
/// runs on every request; 4 KiB of tables). Bit 31 marks characters outside
/// the alphabet: OR-ing every looked-up value and testing that bit once finds
/// any of them without a branch per quad.
const INVALID: u32 = 1 << 31;
#[expect(
    clippy::indexing_slicing,
    reason = "evaluated at compile time: an index out of range fails the build, never a request"
)]
const fn shifted(shift: u32) -> [u32; 256] {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        t[ALPHABET[i] as usize] = (i as u32) << shift;
        i += 1;
    }
    t
}
static DECODE_18: [u32; 256] = shifted(18);
static DECODE_12: [u32; 256] = shifted(12);
static DECODE_6: [u32; 256] = shifted(6);
static DECODE_0: [u32; 256] = shifted(0);

/// A decode table's entry for byte `b`: a u8 always indexes 256 entries (the
/// fallback is unreachable and compiled away).
#[inline(always)]
fn at(table: &[u32; 256], b: u8) -> u32 {
    table.get(usize::from(b)).copied().unwrap_or(INVALID)
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

/// Decoded length of an `n`-character text, or `None` when no byte string
/// encodes to that length (1 mod 4).
pub const fn decoded_len(n: usize) -> Option<usize> {
    match n % 4 {
        0 => Some(n / 4 * 3),
        2 => Some(n / 4 * 3 + 1),
        3 => Some(n / 4 * 3 + 2),
        _ => None,
    }
}

/// Decode strictly; see the module documentation.
pub fn decode(input: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let n = decoded_len(input.len()).ok_or(DecodeError::InvalidLength)?;
    let mut out = vec![0u8; n];
    decode_into(input, &mut out)?;
    Ok(out)
}

/// Decode strictly into the front of `out` and return the decoded bytes, so
/// hot paths can decode into a stack buffer. An `out` shorter than the
/// decoded length is refused as `InvalidLength` (callers bound the text
/// first); the contents of `out` are unspecified after an error.
pub fn decode_into<'o>(input: &[u8], out: &'o mut [u8]) -> Result<&'o [u8], DecodeError> {
    let n = decoded_len(input.len()).ok_or(DecodeError::InvalidLength)?;
    let out = out.get_mut(..n).ok_or(DecodeError::InvalidLength)?;
    // Two quads (8 characters, 6 bytes) per step: one 48-bit word, written
    // with one copy. The odd quad and the 2-3 character tail follow.
    // Fixed-size chunks: the 6-byte copy is two moves, not a call.
    let (octs, octs_rest) = input.as_chunks::<8>();
    let (sixes, sixes_rest) = out.as_chunks_mut::<6>();
    let mut seen = 0u32;
    for (&[a, b, c, d, e, f, g, h], o) in octs.iter().zip(sixes.iter_mut()) {
        let hi = at(&DECODE_18, a) | at(&DECODE_12, b) | at(&DECODE_6, c) | at(&DECODE_0, d);
        let lo = at(&DECODE_18, e) | at(&DECODE_12, f) | at(&DECODE_6, g) | at(&DECODE_0, h);
        seen |= hi | lo;
        // Garbage written for a bad quad is never returned (checked below).
        let w = (u64::from(hi) << 24) | u64::from(lo & 0x00FF_FFFF);
        let [_, _, bytes @ ..] = w.to_be_bytes();
        *o = bytes;
    }
    let mut quads = octs_rest.chunks_exact(4);
    let mut triples = sixes_rest.chunks_exact_mut(3);
    for (q, o) in (&mut quads).zip(&mut triples) {
        let (&[a, b, c, d], [x, y, z]) = (q, o) else { continue };
        let w = at(&DECODE_18, a) | at(&DECODE_12, b) | at(&DECODE_6, c) | at(&DECODE_0, d);
        seen |= w;
        let [_, p, q2, r] = w.to_be_bytes();
        (*x, *y, *z) = (p, q2, r);
    }
    let tail = quads.remainder();
    let mut w = 0u32;
    for &ch in tail {
        let v = at(&DECODE_0, ch);
        seen |= v;
        w = (w << 6) | (v & 0x3F);
    }
    if seen & INVALID != 0 {
        return Err(DecodeError::InvalidCharacter);
    }
    let rest = triples.into_remainder();
    match (tail.len(), rest) {
        (0, []) => {}
        (2, [x]) => {
            // 12 bits carry 8: the low 4 must be zero (canonical form).
            if w & 0xF != 0 {
                return Err(DecodeError::NonCanonical);
            }
            *x = (w >> 4) as u8;
        }
        (3, [x, y]) => {
            if w & 0x3 != 0 {
                return Err(DecodeError::NonCanonical);
            }
            let [_, _, p, q2] = (w >> 2).to_be_bytes();
            (*x, *y) = (p, q2);
        }
        _ => return Err(DecodeError::InvalidLength),
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

    #[test]
    fn decode_into_matches_decode_and_refuses_short_buffers() {
        let all: Vec<u8> = (0..=255).collect();
        for n in 0..40 {
            let text = encode(&all[..n]);
            let mut buf = [0u8; 64];
            assert_eq!(decode_into(text.as_bytes(), &mut buf), Ok(&all[..n]));
            let mut short = vec![0u8; n.saturating_sub(1)];
            if n > 0 {
                assert_eq!(decode_into(text.as_bytes(), &mut short), Err(DecodeError::InvalidLength));
            }
        }
        // A bad character anywhere, in a full quad or in the tail.
        for bad in ["Zm9v*m9v", "*m9vZm9v", "Zm9vZm9*", "Zm9vZ*", "Zm9vZm*", "Zm9vZg==", "Zm9v\u{e9}9v"] {
            assert_eq!(decode(bad.as_bytes()), Err(DecodeError::InvalidCharacter), "{bad}");
        }
        assert_eq!(decode(&[b'Z', b'm', b'9', 0xC3]), Err(DecodeError::InvalidCharacter));
    }
}

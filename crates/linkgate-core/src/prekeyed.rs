//! HMAC-SHA256 with the key's two pad blocks compressed once (RFC 2104),
//! driven directly by SHA-256's compression function.
//!
//! Every request checks one tag. `hmac::Hmac` keyed in advance already skips
//! the two pad blocks, but cloning its state, its block buffer and its
//! finalization cost about as much as one more compression (measured in
//! `docs/performance.md`, "Native verification"). Here a tag is the four
//! compressions it needs (for a typical link) and nothing else: the inner
//! state copied, the signing input streamed through one 64-byte block, the
//! SHA-256 padding, one outer block. The result is pinned to the `hmac`
//! crate by tests (every length across block boundaries, every domain), and
//! signing still goes through `hmac`, so every round trip checks one against
//! the other.

use sha2::digest::generic_array::GenericArray;
use subtle::ConstantTimeEq;

/// SHA-256 block size in bytes.
const BLOCK: usize = 64;
/// Output size in bytes.
pub(crate) const OUT: usize = 32;

/// SHA-256's initial hash value (FIPS 180-4 §5.3.3).
const IV: [u32; 8] =
    [0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19];

// One call site for SHA-256's compression: inlined at each of the five
// callers it would cost the wasm builds ~1 KB gzip each time.
#[inline(never)]
fn compress(state: &mut [u32; 8], block: &[u8; BLOCK]) {
    sha2::compress256(state, core::slice::from_ref(GenericArray::from_slice(block)));
}

/// The states after the inner (`key ^ 0x36…`) and outer (`key ^ 0x5c…`) pad
/// blocks. Secret: never printed (no `Debug`).
#[derive(Clone)]
pub(crate) struct PreKeyed {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl PreKeyed {
    /// Key with `secret` of at most one block (longer keys, which HMAC would
    /// hash first, are refused by the key ring before this).
    pub(crate) fn new(secret: &[u8]) -> Option<PreKeyed> {
        if secret.len() > BLOCK {
            return None;
        }
        let (mut ipad, mut opad) = ([0x36u8; BLOCK], [0x5cu8; BLOCK]);
        for ((i, o), k) in ipad.iter_mut().zip(opad.iter_mut()).zip(secret) {
            *i ^= k;
            *o ^= k;
        }
        let (mut inner, mut outer) = (IV, IV);
        compress(&mut inner, &ipad);
        compress(&mut outer, &opad);
        Some(PreKeyed { inner, outer })
    }

    /// HMAC-SHA256 of `label || message`.
    pub(crate) fn tag(&self, label: &[u8], message: &[u8]) -> [u8; OUT] {
        let inner = digest_after_pad(self.inner, [label, message]);
        digest_after_pad(self.outer, [&inner, &[]])
    }

    /// Does `tag` equal the tag of `label || message`? Compared in constant
    /// time, as `hmac`'s `verify_slice` does; a tag of another length never
    /// matches. Every word is compared and the differences OR-ed (no early
    /// exit), and one `subtle` test decides: `subtle`'s slice comparison
    /// does the same with an optimization barrier per byte, which measured
    /// at ~8 % of a whole tag check.
    pub(crate) fn verify(&self, label: &[u8], message: &[u8], tag: &[u8]) -> bool {
        let Ok(tag) = <&[u8; OUT]>::try_from(tag) else {
            return false;
        };
        let mine = self.tag(label, message);
        let mut diff = 0u64;
        for (a, b) in mine.as_chunks::<8>().0.iter().zip(tag.as_chunks::<8>().0) {
            diff |= u64::from_ne_bytes(*a) ^ u64::from_ne_bytes(*b);
        }
        bool::from(diff.ct_eq(&0))
    }
}

/// Finish a SHA-256 whose state has absorbed one pad block: absorb `parts`,
/// pad (0x80, zeros, the bit length of everything including the pad
/// block), and return the digest.
fn digest_after_pad(mut state: [u32; 8], parts: [&[u8]; 2]) -> [u8; OUT] {
    let mut block = [0u8; BLOCK];
    let mut fill = 0usize;
    let mut total = BLOCK as u64;
    for part in parts {
        total = total.wrapping_add(part.len() as u64);
        fill = absorb(&mut state, &mut block, fill, part);
    }
    // `fill < BLOCK` here: a full block was compressed in `absorb`.
    if let Some(b) = block.get_mut(fill) {
        *b = 0x80;
    }
    if let Some(tail) = block.get_mut(fill.saturating_add(1)..) {
        tail.fill(0);
    }
    if fill >= BLOCK - 8 {
        compress(&mut state, &block);
        block = [0u8; BLOCK];
    }
    if let Some((_, len)) = block.split_last_chunk_mut::<8>() {
        *len = total.wrapping_mul(8).to_be_bytes();
    }
    compress(&mut state, &block);
    let mut out = [0u8; OUT];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// Absorb `data` after `fill` buffered bytes; the new fill (< BLOCK). Whole
/// blocks of `data` are compressed where they lie, not copied.
fn absorb(state: &mut [u32; 8], block: &mut [u8; BLOCK], fill: usize, data: &[u8]) -> usize {
    let mut data = data;
    let mut fill = fill;
    if fill > 0 {
        let room = block.get_mut(fill..).unwrap_or_default();
        let n = room.len().min(data.len());
        let (now, later) = data.split_at(n);
        if let Some(dst) = room.get_mut(..n) {
            dst.copy_from_slice(now);
        }
        data = later;
        fill = fill.saturating_add(n);
        if fill < BLOCK {
            return fill;
        }
        compress(state, block);
    }
    let (whole, rest) = data.as_chunks::<BLOCK>();
    for b in whole {
        compress(state, b);
    }
    if let Some(dst) = block.get_mut(..rest.len()) {
        dst.copy_from_slice(rest);
    }
    rest.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    fn reference(key: &[u8], label: &[u8], message: &[u8]) -> [u8; OUT] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
        mac.update(label);
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    #[test]
    fn equals_hmac_across_block_boundaries() {
        let message: Vec<u8> = (0..400u32).map(|i| (i * 7 + 3) as u8).collect();
        for key_len in [0, 1, 32, 63, 64] {
            let key: Vec<u8> = (0..key_len).map(|i| (i * 13 + 1) as u8).collect();
            let k = PreKeyed::new(&key).unwrap();
            for label in [&b""[..], b"linkgate-link-v1\0", b"linkgate-session-v1\0", &[0xAA; 70]] {
                for n in 0..message.len() {
                    let m = &message[..n];
                    let want = reference(&key, label, m);
                    assert_eq!(k.tag(label, m), want, "key {key_len} label {} msg {n}", label.len());
                    assert!(k.verify(label, m, &want));
                    let mut bad = want;
                    bad[n % OUT] ^= 1 << (n % 8);
                    assert!(!k.verify(label, m, &bad));
                    assert!(!k.verify(label, m, &want[..OUT - 1]));
                }
            }
        }
    }

    #[test]
    fn rfc4231_case_2() {
        let k = PreKeyed::new(b"Jefe").unwrap();
        let tag = k.tag(b"what do ya want ", b"for nothing?");
        let want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, want);
    }

    #[test]
    fn longer_keys_are_refused() {
        assert!(PreKeyed::new(&[1; 65]).is_none());
    }
}

//! Sealed links: the v1 claims encrypted and authenticated with
//! XChaCha20-Poly1305, so that a link shows only which key opens it
//! (`docs/link-format.md` §17).
//!
//! ```text
//! token    = 0x02 || kid_len:u8 || kid || nonce(24) || ciphertext || tag(16)
//! seal key = HMAC-SHA256(link key, "linkgate-seal-link-v2" || 0x00)
//! AEAD     = XChaCha20-Poly1305(seal key, nonce, AAD = everything before the ciphertext)
//! plaintext = a v1 payload (0x01 || fields), whose kid equals the header's
//! ```
//!
//! The core never draws randomness: callers pass the nonce (random in use,
//! fixed only in the test vectors). Download sessions of a sealed link use a
//! synthetic nonce ([`synthetic_nonce`]), since the edge mints them without a
//! random source.

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{KeyInit, Tag, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::b64;
use super::keys::{Key, KeyId};
use super::reason::Reason;
use super::token::{ClaimError, Claims, ClaimsView, DecodeError, Domain, Field, MAX_RAW_BYTES, MAX_TOKEN_CHARS};

/// The first byte of a sealed token (a v1 token starts with 0x01).
pub const SEALED_VERSION: u8 = 0x02;
/// XChaCha20 nonce length.
pub const NONCE_BYTES: usize = 24;
/// Poly1305 tag length (never truncated).
pub const AEAD_TAG_BYTES: usize = 16;
/// Longest key id (as in v1).
const MAX_KID: usize = 32;
/// Longest inner payload: any sealed token with a payload this long fits the
/// v1 byte limit whatever its kid (2080 − 1 − 1 − 32 − 24 − 16).
pub const MAX_SEALED_PAYLOAD_BYTES: usize = MAX_RAW_BYTES - 2 - MAX_KID - NONCE_BYTES - AEAD_TAG_BYTES;
/// Shortest sealed token: a 1-byte kid and a 1-byte ciphertext.
pub const MIN_SEALED_BYTES: usize = 2 + 1 + NONCE_BYTES + 1 + AEAD_TAG_BYTES;
/// Seal-key label for links.
pub const SEAL_LINK_LABEL: &[u8] = b"linkgate-seal-link-v2\0";
/// Seal-key label for download sessions.
pub const SEAL_SESSION_LABEL: &[u8] = b"linkgate-seal-session-v2\0";
/// Seal-key label for media sessions.
pub const SEAL_MEDIA_LABEL: &[u8] = b"linkgate-seal-media-v2\0";
/// Label of the synthetic nonce of sealed download sessions.
pub const SEAL_NONCE_LABEL: &[u8] = b"linkgate-seal-nonce-v2\0";

/// The seal-key label of a domain.
pub const fn seal_label(domain: Domain) -> &'static [u8] {
    match domain {
        Domain::Link => SEAL_LINK_LABEL,
        Domain::Session => SEAL_SESSION_LABEL,
        Domain::Media => SEAL_MEDIA_LABEL,
    }
}

/// HMAC-SHA256(link key, label): the AEAD key of `domain`. [`Key`] derives
/// both once, when the ring is parsed.
pub(crate) fn derive_seal_key(mac: &Hmac<Sha256>, domain: Domain) -> [u8; 32] {
    let mut mac = mac.clone();
    mac.update(seal_label(domain));
    mac.finalize().into_bytes().into()
}

fn cipher(key: &Key, domain: Domain) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&(*key.seal_key(domain)).into())
}

/// The nonce the edge seals a download session with: the first 24 bytes of
/// HMAC-SHA256(seal key, "linkgate-seal-nonce-v2\0" || payload). Equal
/// payloads give equal nonces (and equal tokens), different payloads
/// different nonces: no nonce is ever reused for another plaintext.
pub fn synthetic_nonce(key: &Key, domain: Domain, payload: &[u8]) -> [u8; NONCE_BYTES] {
    let mut out = [0u8; NONCE_BYTES];
    if let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key.seal_key(domain)) {
        mac.update(SEAL_NONCE_LABEL);
        mac.update(payload);
        let full: [u8; 32] = mac.finalize().into_bytes().into();
        for (o, b) in out.iter_mut().zip(full) {
            *o = b;
        }
    }
    out
}

impl Claims {
    /// Seal as a link with `key` and a fresh random `nonce`; the token text.
    pub fn seal(&self, key: &Key, nonce: &[u8; NONCE_BYTES]) -> Result<String, ClaimError> {
        self.seal_in(key, Domain::Link, nonce)
    }

    /// Seal as a token of `domain`. As [`Claims::sign`], the key's id is
    /// authoritative and relabels claims built for another kid.
    pub fn seal_in(&self, key: &Key, domain: Domain, nonce: &[u8; NONCE_BYTES]) -> Result<String, ClaimError> {
        let payload = self.payload_for(key)?;
        if payload.len() > MAX_SEALED_PAYLOAD_BYTES {
            return Err(ClaimError { field: Field::Scope, reason: "claims too large for one sealed token" });
        }
        let raw = seal_payload(key, domain, nonce, &payload)
            .ok_or(ClaimError { field: Field::Scope, reason: "claims too large for one sealed token" })?;
        Ok(b64::encode(&raw))
    }
}

/// Header, encrypted payload and tag, for `payload` exactly as given (no
/// claim checks: [`Claims::seal_in`] checks, and the test vectors use this
/// to seal payloads no signer would). None for a payload too long to seal.
pub fn seal_payload(key: &Key, domain: Domain, nonce: &[u8; NONCE_BYTES], payload: &[u8]) -> Option<Vec<u8>> {
    let kid = key.kid().as_str().as_bytes();
    let kid_len = u8::try_from(kid.len()).ok()?;
    if payload.len() > MAX_SEALED_PAYLOAD_BYTES {
        return None;
    }
    let header_len = 2 + kid.len() + NONCE_BYTES;
    let mut raw = Vec::with_capacity(header_len + payload.len() + AEAD_TAG_BYTES);
    raw.push(SEALED_VERSION);
    raw.push(kid_len);
    raw.extend_from_slice(kid);
    raw.extend_from_slice(nonce);
    raw.extend_from_slice(payload);
    let (header, body) = raw.split_at_mut_checked(header_len)?;
    let tag = cipher(key, domain).encrypt_in_place_detached(&XNonce::from(*nonce), header, body).ok()?;
    raw.extend_from_slice(&tag);
    Some(raw)
}

/// Where the parts of a sealed token lie in its bytes; every length checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Header length: version, kid length, kid, nonce (the AAD).
    header: usize,
    /// Kid length.
    kid: usize,
}

impl Layout {
    /// §17.4 step 3: the header and the lengths, before any key is used.
    pub(crate) fn parse(raw: &[u8]) -> Result<Layout, DecodeError> {
        match raw.first() {
            Some(&SEALED_VERSION) => {}
            _ => return Err(DecodeError::UnsupportedVersion),
        }
        if raw.len() < MIN_SEALED_BYTES {
            return Err(DecodeError::Truncated);
        }
        let kid = usize::from(raw.get(1).copied().unwrap_or(0));
        let kid_bytes = raw.get(2..2 + kid).ok_or(DecodeError::SealedHeader)?;
        if !KeyId::is_valid(kid_bytes) {
            return Err(DecodeError::SealedHeader);
        }
        let header = 2 + kid + NONCE_BYTES;
        // At least one ciphertext byte (the inner version) and the tag.
        let body = raw.len().checked_sub(header + AEAD_TAG_BYTES).filter(|&n| n >= 1).ok_or(DecodeError::Truncated)?;
        if body > MAX_SEALED_PAYLOAD_BYTES {
            return Err(DecodeError::BadLength);
        }
        Ok(Layout { header, kid })
    }

    /// The header's key id (checked ASCII).
    pub(crate) fn kid<'r>(&self, raw: &'r [u8]) -> &'r [u8] {
        raw.get(2..2 + self.kid).unwrap_or(&[])
    }

    /// Decrypt in place and return the inner payload, or None when the AEAD
    /// does not open (tampered, another key, another domain). Nothing of
    /// the plaintext is reachable unless it opened.
    pub(crate) fn open<'r>(&self, raw: &'r mut [u8], key: &Key, domain: Domain) -> Option<&'r [u8]> {
        let (header, rest) = raw.split_at_mut_checked(self.header)?;
        let body_len = rest.len().checked_sub(AEAD_TAG_BYTES)?;
        let (body, tag) = rest.split_at_mut_checked(body_len)?;
        let nonce: [u8; NONCE_BYTES] = header.get(header.len().checked_sub(NONCE_BYTES)?..)?.try_into().ok()?;
        let tag: [u8; AEAD_TAG_BYTES] = (&*tag).try_into().ok()?;
        cipher(key, domain).decrypt_in_place_detached(&XNonce::from(nonce), header, body, &Tag::from(tag)).ok()?;
        Some(body)
    }
}

/// §17.4 step 5a: the opened payload is a complete v1 payload naming the
/// header's key. `request_path` as for [`ClaimsView::parse`].
pub(crate) fn inner_claims<'p>(
    payload: &'p [u8],
    header_kid: &[u8],
    request_path: Option<&str>,
) -> Result<ClaimsView<'p>, DecodeError> {
    let view = ClaimsView::parse(payload, request_path)?;
    if view.kid != header_kid {
        return Err(DecodeError::SealedKidMismatch);
    }
    Ok(view)
}

/// A decoded sealed token whose AEAD has **not** been opened: only its key
/// id is known (`linkgate inspect` without keys shows nothing else).
#[derive(Debug, Clone)]
pub struct SealedToken {
    raw: Vec<u8>,
    layout: Layout,
    kid: KeyId,
}

impl SealedToken {
    /// Decode the token bytes (already base64url-decoded).
    fn from_raw(raw: Vec<u8>) -> Result<SealedToken, DecodeError> {
        let layout = Layout::parse(&raw)?;
        let kid = KeyId::from_checked(layout.kid(&raw));
        Ok(SealedToken { raw, layout, kid })
    }

    /// The key id in the cleartext header.
    pub fn kid(&self) -> &KeyId {
        &self.kid
    }

    /// Open with `key` as a token of `domain`: the authentic claims, or the
    /// reason it is refused (`bad_tag`, or a decode error of the inner
    /// payload, which only a key holder can produce).
    pub fn open(mut self, key: &Key, domain: Domain) -> Result<Claims, Reason> {
        let layout = self.layout;
        let header_kid = self.kid.as_str().as_bytes().to_vec();
        let payload = layout.open(&mut self.raw, key, domain).ok_or(Reason::BadTag)?;
        Ok(inner_claims(payload, &header_kid, None).map_err(Reason::Token)?.to_claims())
    }
}

/// Any token: v1 (signed) or sealed, told apart by the first byte before
/// anything else is read.
#[derive(Debug, Clone)]
pub enum AnyToken {
    /// Boxed: v1 tokens carry their decoded claims, sealed ones only a kid.
    Plain(Box<super::token::UnverifiedToken>),
    Sealed(SealedToken),
    /// Signed with Ed25519 (§18): checked with a public key, never an HMAC key.
    Ed25519(Box<super::ed25519::Ed25519Token>),
}

impl AnyToken {
    /// Decode the token text (§2–§4, §17.4 step 3).
    pub fn decode(text: &str) -> Result<AnyToken, DecodeError> {
        if text.is_empty() || text.len() > MAX_TOKEN_CHARS {
            return Err(DecodeError::BadLength);
        }
        let raw = b64::decode(text.as_bytes()).map_err(|_| DecodeError::BadEncoding)?;
        match raw.first() {
            Some(&SEALED_VERSION) => SealedToken::from_raw(raw).map(AnyToken::Sealed),
            Some(&super::ed25519::ED25519_VERSION) => {
                super::ed25519::Ed25519Token::from_raw(raw).map(|t| AnyToken::Ed25519(Box::new(t)))
            }
            _ => super::token::UnverifiedToken::from_raw(raw).map(|t| AnyToken::Plain(Box::new(t))),
        }
    }

    /// The key id the token names.
    pub fn kid(&self) -> &KeyId {
        match self {
            AnyToken::Plain(t) => t.kid(),
            AnyToken::Sealed(t) => t.kid(),
            AnyToken::Ed25519(t) => t.kid(),
        }
    }

    /// Is it sealed?
    pub fn is_sealed(&self) -> bool {
        matches!(self, AnyToken::Sealed(_))
    }

    /// Check the tag (v1) or open the AEAD (sealed) with `key`. An Ed25519
    /// token never verifies under an HMAC key (`bad_tag`): check it with
    /// its public key ([`super::ed25519::Ed25519Token::verify`]).
    pub fn verify_in(self, key: &Key, domain: Domain) -> Result<Claims, Reason> {
        match self {
            AnyToken::Plain(t) => t.verify_tag_in(key, domain).map_err(|_| Reason::BadTag),
            AnyToken::Sealed(t) => t.open(key, domain),
            AnyToken::Ed25519(_) => Err(Reason::BadTag),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::Code;
    use crate::ip::Cidr;
    use crate::keys::KeyRing;
    use crate::mint::link_url;
    use crate::path::Scope;
    use crate::token::{FileName, HostName, Jti, Label, UnverifiedToken};
    use crate::verify::{verify, verify_in, Method, RequestFacts, TimeRules, VerifiedLink};
    use core::num::NonZeroU32;

    const T0: u64 = 1_800_000_000;
    const NONCE: [u8; NONCE_BYTES] = [0x5a; NONCE_BYTES];

    fn ring() -> KeyRing {
        KeyRing::parse(&format!("new:{},old:{}", b64::encode(&[1u8; 32]), b64::encode(&[2u8; 32]))).unwrap()
    }

    /// Every claim present, each with text that must not show in the token.
    fn claims() -> Claims {
        let mut c = Claims::new(
            KeyId::parse("new").unwrap(),
            Jti([0x42; 16]),
            T0,
            T0 + 3600,
            Scope::parse("/board/secret-merger-plan.pdf").unwrap(),
        );
        c.host = Some(HostName::parse("files.example.com").unwrap());
        c.sub = Some(Label::parse(Field::Sub, "recipient-7731").unwrap());
        c.tenant = Some(Label::parse(Field::Tenant, "acme-holdings").unwrap());
        c.ip = vec![Cidr::parse("192.0.2.0/24").unwrap()];
        c.uses = NonZeroU32::new(3);
        c.filename = Some(FileName::parse("Merger plan – draft.pdf").unwrap());
        c
    }

    fn facts(token: &str) -> RequestFacts<'_> {
        RequestFacts {
            raw_path: "/board/secret-merger-plan.pdf",
            token: Some(token),
            method: Method::Get,
            host: Some("files.example.com"),
            client_ip: "192.0.2.9".parse().ok(),
            now: T0 + 10,
        }
    }

    fn check(token: &str) -> Result<VerifiedLink, Code> {
        verify(&ring(), &TimeRules::default(), &facts(token)).map_err(|r| r.code)
    }

    #[test]
    fn round_trip_gives_the_same_claims_as_v1() {
        let ring = ring();
        let key = ring.signing_key();
        let sealed = claims().seal(key, &NONCE).unwrap();
        let link = check(&sealed).unwrap();
        assert!(link.sealed());
        assert_eq!(link.claims(), &claims());
        let plain = check(&claims().sign(key).unwrap()).unwrap();
        assert!(!plain.sealed());
        assert_eq!(plain.claims(), link.claims());
        // The other key of the ring opens its own sealed links.
        let old = ring.get("old").unwrap();
        let by_old = check(&claims().seal(old, &NONCE).unwrap()).unwrap();
        assert_eq!(by_old.claims().kid.as_str(), "old");
        // AnyToken (inspect) agrees.
        let any = AnyToken::decode(&sealed).unwrap();
        assert!(any.is_sealed());
        assert_eq!(any.kid().as_str(), "new");
        assert_eq!(any.verify_in(key, Domain::Link).unwrap(), claims());
    }

    #[test]
    fn nonces_make_tokens_differ_and_are_where_the_spec_says() {
        let ring = ring();
        let key = ring.signing_key();
        let a = claims().seal(key, &NONCE).unwrap();
        let b = claims().seal(key, &[0x5b; NONCE_BYTES]).unwrap();
        assert_ne!(a, b);
        assert_eq!(a, claims().seal(key, &NONCE).unwrap(), "deterministic for a given nonce");
        let raw = b64::decode(a.as_bytes()).unwrap();
        assert_eq!(raw.get(..5).unwrap(), [SEALED_VERSION, 3, b'n', b'e', b'w']);
        assert_eq!(raw.get(5..5 + NONCE_BYTES).unwrap(), NONCE);
        let payload = claims().encode_payload();
        assert_eq!(raw.len(), 5 + NONCE_BYTES + payload.len() + AEAD_TAG_BYTES);
    }

    /// Issue 14: the token and the URL carry none of the claims' text (nor
    /// their bytes: the payload is not there in any encoding).
    #[test]
    fn a_sealed_token_and_its_url_show_no_claim() {
        let ring = ring();
        let c = claims();
        let token = c.seal(ring.signing_key(), &NONCE).unwrap();
        let raw = b64::decode(token.as_bytes()).unwrap();
        let plain_payload = c.encode_payload();
        for secret in ["secret-merger-plan", "recipient-7731", "acme-holdings", "Merger plan", "files.example.com"] {
            assert!(!token.contains(secret), "{secret} in the token");
            assert!(!raw.windows(secret.len()).any(|w| w == secret.as_bytes()), "{secret} in the bytes");
            assert!(!token.contains(&b64::encode(secret.as_bytes())), "{secret} base64url in the token");
        }
        // No 8-byte run of the v1 payload after the cleartext header (jti,
        // times, ranges all live there).
        let body = raw.get(5 + NONCE_BYTES..).unwrap();
        assert!(plain_payload.get(6..).unwrap().windows(8).all(|w| !body.windows(8).any(|b| b == w)));
        // The URL is the link's path and the token: sealing hides the claims
        // of a link, not the object it names, so a sealed link is minted by
        // a URL whose path the recipient needs. What the URL adds is checked.
        let url = link_url("https://files.example.com", &c.scope, &token);
        let query = url.split_once('?').unwrap().1;
        for secret in ["recipient-7731", "acme-holdings", "Merger", "192.0.2"] {
            assert!(!url.contains(secret), "{secret} in the URL");
        }
        assert_eq!(query, format!("lg={token}"));
    }

    /// Issue 14: any byte changed → signature_invalid, except the bytes that
    /// are decided before a key is used (§17.4): the version (malformed),
    /// and the kid length and kid, which then name no key, an invalid one or
    /// another key.
    #[test]
    fn tampering_with_any_byte_is_refused_without_a_decryption_code() {
        let ring = ring();
        let token = claims().seal(ring.signing_key(), &NONCE).unwrap();
        let raw = b64::decode(token.as_bytes()).unwrap();
        assert!(check(&token).is_ok());
        let kid_end = 2 + 3;
        for i in 0..raw.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut t = raw.clone();
                *t.get_mut(i).unwrap() ^= flip;
                let got = check(&b64::encode(&t)).map(|_| ()).unwrap_err();
                let want = if i == 0 {
                    Code::TokenMalformed
                } else if i < kid_end {
                    match Layout::parse(&t) {
                        Err(_) => Code::TokenMalformed,
                        Ok(l) if ring.get_bytes(l.kid(&t)).is_none() => Code::KeyUnknown,
                        Ok(_) => Code::SignatureInvalid,
                    }
                } else {
                    Code::SignatureInvalid
                };
                assert_eq!(got, want, "byte {i} ^ {flip:#04x}");
            }
        }
        // Truncated or extended: no longer opens (or no longer parses).
        for n in [raw.len() - 1, raw.len() - AEAD_TAG_BYTES, 5 + NONCE_BYTES + 1 + AEAD_TAG_BYTES] {
            assert_eq!(check(&b64::encode(raw.get(..n).unwrap())).unwrap_err(), Code::SignatureInvalid, "{n}");
        }
        assert_eq!(
            check(&b64::encode(raw.get(..5 + NONCE_BYTES + AEAD_TAG_BYTES).unwrap())).unwrap_err(),
            Code::TokenMalformed
        );
        let mut longer = raw.clone();
        longer.push(0);
        assert_eq!(check(&b64::encode(&longer)).unwrap_err(), Code::SignatureInvalid);
    }

    #[test]
    fn kid_length_names_the_refusal() {
        let ring = ring();
        let raw = b64::decode(claims().seal(ring.signing_key(), &NONCE).unwrap().as_bytes()).unwrap();
        let with_kid_len = |n: u8| {
            let mut t = raw.clone();
            *t.get_mut(1).unwrap() = n;
            check(&b64::encode(&t)).unwrap_err()
        };
        assert_eq!(with_kid_len(0), Code::TokenMalformed, "no kid");
        assert_eq!(with_kid_len(33), Code::TokenMalformed, "kid too long");
        assert_eq!(with_kid_len(255), Code::TokenMalformed, "past the end");
        // "ne" is a valid id the ring does not hold.
        assert_eq!(with_kid_len(2), Code::KeyUnknown);
        // The nonce byte 0x5a is 'Z': "newZ" is a valid unknown id.
        assert_eq!(with_kid_len(4), Code::KeyUnknown);
    }

    #[test]
    fn another_key_or_domain_never_opens() {
        let ring = ring();
        let new = ring.signing_key();
        let old = ring.get("old").unwrap();
        // Sealed by "old" but relabelled "new" in the header: another seal key.
        let by_old = claims().seal(old, &NONCE).unwrap();
        let mut raw = b64::decode(by_old.as_bytes()).unwrap();
        raw.splice(2..5, *b"new");
        assert_eq!(check(&b64::encode(&raw)).unwrap_err(), Code::SignatureInvalid);
        // The same kid with another secret (a ring from another deployment).
        let other = KeyRing::parse(&format!("new:{}", b64::encode(&[3u8; 32]))).unwrap();
        let foreign = claims().seal(other.signing_key(), &NONCE).unwrap();
        assert_eq!(check(&foreign).unwrap_err(), Code::SignatureInvalid);
        // A session token is not a link, nor a link a session.
        let session = claims().seal_in(new, Domain::Session, &NONCE).unwrap();
        assert_eq!(check(&session).unwrap_err(), Code::SignatureInvalid);
        let f = facts(&session);
        assert!(verify_in(&ring, &TimeRules::default(), &f, Domain::Session).is_ok());
        let link = claims().seal(new, &NONCE).unwrap();
        let f = facts(&link);
        assert_eq!(
            verify_in(&ring, &TimeRules::default(), &f, Domain::Session).unwrap_err().code,
            Code::SignatureInvalid
        );
        // A v1 tag over the sealed header and body is not a seal.
        let mut forged = b64::decode(link.as_bytes()).unwrap();
        let n = forged.len() - AEAD_TAG_BYTES;
        forged.truncate(n);
        let tag = crate::token::compute_tag(new, &forged);
        forged.extend_from_slice(tag.get(..AEAD_TAG_BYTES).unwrap());
        assert_eq!(check(&b64::encode(&forged)).unwrap_err(), Code::SignatureInvalid);
        // A v1-only decoder refuses a sealed token as malformed.
        assert_eq!(UnverifiedToken::decode(&link).unwrap_err(), DecodeError::UnsupportedVersion);
    }

    /// §17.4 step 5a: only a key holder can seal a bad inner payload; it is
    /// malformed, not a valid link, and an inner kid must be the header's.
    #[test]
    fn an_authentic_but_bad_inner_payload_is_malformed() {
        let ring = ring();
        let key = ring.signing_key();
        let seal_raw = |payload: &[u8]| b64::encode(&seal_payload(key, Domain::Link, &NONCE, payload).unwrap());
        let mut other_kid = claims();
        other_kid.kid = KeyId::parse("old").unwrap();
        let r = verify(&ring, &TimeRules::default(), &facts(&seal_raw(&other_kid.encode_payload()))).unwrap_err();
        assert_eq!((r.code, r.reason), (Code::TokenMalformed, Reason::Token(DecodeError::SealedKidMismatch)));
        let mut trailing = claims().encode_payload();
        trailing.push(0);
        assert_eq!(check(&seal_raw(&trailing)).unwrap_err(), Code::TokenMalformed);
        let mut v3 = claims().encode_payload();
        *v3.first_mut().unwrap() = 3;
        assert_eq!(check(&seal_raw(&v3)).unwrap_err(), Code::TokenMalformed);
        let r = AnyToken::decode(&seal_raw(&other_kid.encode_payload())).unwrap().verify_in(key, Domain::Link);
        assert_eq!(r.unwrap_err(), Reason::Token(DecodeError::SealedKidMismatch));
    }

    #[test]
    fn sizes_are_bounded_as_v1() {
        assert_eq!(MAX_SEALED_PAYLOAD_BYTES, 2006);
        assert_eq!(MIN_SEALED_BYTES, 44);
        // The longest sealed token (32-byte kid, longest payload) is exactly
        // the v1 text limit.
        assert_eq!(b64::encoded_len(2 + 32 + NONCE_BYTES + MAX_SEALED_PAYLOAD_BYTES + AEAD_TAG_BYTES), MAX_TOKEN_CHARS);
        let ring = KeyRing::parse(&format!("{}:{}", "k".repeat(32), b64::encode(&[1u8; 32]))).unwrap();
        let key = ring.signing_key();
        // Claims over the limit are refused by the sealer (v1 signs up to
        // 2048 bytes; a sealed payload has 42 bytes less room).
        let mut big = claims();
        big.scope = Scope::parse(&format!("/{}", "s".repeat(1023))).unwrap();
        big.host = Some(HostName::parse(&format!("{}.example.com", "h".repeat(60))).unwrap());
        big.ip = (0..16).map(|i| Cidr::parse(&format!("2001:db8:{i:x}::/48")).unwrap()).collect();
        big.content_type = Some(crate::token::ContentType::parse(&format!("x/{}", "y".repeat(125))).unwrap());
        big.sub = Some(Label::parse(Field::Sub, &"u".repeat(128)).unwrap());
        big.tenant = Some(Label::parse(Field::Tenant, &"t".repeat(128)).unwrap());
        big.filename = Some(FileName::parse(&"f".repeat(150)).unwrap());
        big.kid = key.kid().clone();
        let n = big.encode_payload().len();
        assert!(n > MAX_SEALED_PAYLOAD_BYTES && n <= crate::token::MAX_PAYLOAD_BYTES, "{n}");
        assert!(big.sign(key).is_ok());
        assert_eq!(big.seal(key, &NONCE).unwrap_err().field, Field::Scope);
        // Exactly the limit opens (layout-wise); one byte more is refused
        // before the key is looked up.
        let mut raw = vec![SEALED_VERSION, 32];
        raw.extend_from_slice(&[b'k'; 32]);
        raw.extend_from_slice(&NONCE);
        raw.extend(core::iter::repeat_n(0u8, MAX_SEALED_PAYLOAD_BYTES + 1 + AEAD_TAG_BYTES));
        assert_eq!(Layout::parse(&raw), Err(DecodeError::BadLength));
        raw.truncate(raw.len() - 1);
        assert!(Layout::parse(&raw).is_ok());
        assert_eq!(b64::encode(&raw).len(), MAX_TOKEN_CHARS);
    }

    #[test]
    fn the_synthetic_nonce_depends_on_key_domain_and_payload() {
        let ring = ring();
        let (new, old) = (ring.signing_key(), ring.get("old").unwrap());
        let p = claims().encode_payload();
        let n = synthetic_nonce(new, Domain::Session, &p);
        assert_eq!(n, synthetic_nonce(new, Domain::Session, &p));
        assert_ne!(n, synthetic_nonce(old, Domain::Session, &p));
        assert_ne!(n, synthetic_nonce(new, Domain::Link, &p));
        let mut q = p.clone();
        q.push(0);
        assert_ne!(n, synthetic_nonce(new, Domain::Session, &q));
        assert_ne!(n, [0; NONCE_BYTES]);
    }

    #[test]
    fn seal_keys_are_domain_separated_and_never_print() {
        let ring = ring();
        let key = ring.signing_key();
        assert_ne!(key.seal_key(Domain::Link), key.seal_key(Domain::Session));
        let link_key = *key.seal_key(Domain::Link);
        let debug = format!("{key:?} {ring:?}");
        assert!(!debug.contains(&format!("{:?}", link_key)));
        assert!(!debug.contains(&b64::encode(&link_key)));
        assert!(!debug.contains("seal"));
    }
}

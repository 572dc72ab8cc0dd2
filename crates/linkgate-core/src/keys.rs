//! Key ids and the key ring parsed from `LINKGATE_KEYS`.
//!
//! `LINKGATE_KEYS` is `kid:base64url-key[,kid:base64url-key...]`. Every listed
//! key verifies; the first one signs. Errors name the entry by position and kid,
//! never by key material.

use core::fmt;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::b64;
use super::ed25519::{PublicKeyError, PublicKeyRing};
#[cfg(not(target_arch = "wasm32"))]
use super::prekeyed::PreKeyed;
use super::token::Domain;

/// Shortest accepted key, in bytes (the HMAC-SHA256 output size).
pub const MIN_KEY_BYTES: usize = 32;
/// Longest accepted key, in bytes (one SHA-256 block; longer keys get hashed
/// by HMAC anyway and only cost time).
pub const MAX_KEY_BYTES: usize = 64;
/// Longest key id.
pub const MAX_KID_BYTES: usize = 32;

/// The bytes of a key id, as a table: checked on every request.
#[expect(
    clippy::indexing_slicing,
    reason = "evaluated at compile time: an index out of range fails the build, never a request"
)]
const KID_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
        b += 1;
    }
    t
};

/// A key id: 1–32 of `[A-Za-z0-9_-]`. Shared text: the claims of every
/// verified link carry their key's id, and a clone costs no allocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(Arc<str>);

impl KeyId {
    /// Check a key id.
    pub fn parse(s: &str) -> Option<KeyId> {
        KeyId::is_valid(s.as_bytes()).then(|| KeyId(Arc::from(s)))
    }

    /// The check of [`KeyId::parse`], without building one.
    pub(crate) fn is_valid(s: &[u8]) -> bool {
        !s.is_empty()
            && s.len() <= MAX_KID_BYTES
            && s.iter().all(|&b| KID_BYTES.get(usize::from(b)).copied().unwrap_or(false))
    }

    /// Build from bytes that passed [`KeyId::is_valid`] (ASCII: a byte is a
    /// char; not from_utf8_lossy, which links ~1 KB of wasm for this alone).
    pub(crate) fn from_checked(s: &[u8]) -> KeyId {
        KeyId(Arc::from(s.iter().copied().map(char::from).collect::<String>()))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A signing/verifying key. The HMAC state is keyed once, at parse time, so a
/// verification only clones it (saves two SHA-256 blocks per request).
#[derive(Clone)]
pub struct Key {
    kid: KeyId,
    mac: Hmac<Sha256>,
    /// The same key's pad states for the tag check of every request.
    #[cfg(not(target_arch = "wasm32"))]
    prekeyed: PreKeyed,
    /// The seal keys of links and download sessions (`docs/link-format.md`
    /// §17.2), derived once here so that opening a sealed token costs no
    /// HMAC. Never printed.
    seal_link: [u8; 32],
    seal_session: [u8; 32],
    seal_media: [u8; 32],
}

impl Key {
    /// Build a key from raw bytes (32–64 bytes).
    pub fn new(kid: KeyId, secret: &[u8]) -> Result<Key, KeyRingError> {
        if secret.len() < MIN_KEY_BYTES {
            return Err(KeyRingError::KeyTooShort { kid: kid.0.to_string(), bytes: secret.len() });
        }
        if secret.len() > MAX_KEY_BYTES {
            return Err(KeyRingError::KeyTooLong { kid: kid.0.to_string(), bytes: secret.len() });
        }
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
            .map_err(|_| KeyRingError::KeyTooShort { kid: kid.0.to_string(), bytes: secret.len() })?;
        let seal_link = super::sealed::derive_seal_key(&mac, Domain::Link);
        let seal_session = super::sealed::derive_seal_key(&mac, Domain::Session);
        let seal_media = super::sealed::derive_seal_key(&mac, Domain::Media);
        #[cfg(not(target_arch = "wasm32"))]
        let prekeyed = PreKeyed::new(secret)
            .ok_or_else(|| KeyRingError::KeyTooLong { kid: kid.0.to_string(), bytes: secret.len() })?;
        Ok(Key {
            kid,
            mac,
            #[cfg(not(target_arch = "wasm32"))]
            prekeyed,
            seal_link,
            seal_session,
            seal_media,
        })
    }

    /// The key's id.
    pub fn kid(&self) -> &KeyId {
        &self.kid
    }

    /// A fresh MAC keyed with this key.
    pub(crate) fn mac(&self) -> Hmac<Sha256> {
        self.mac.clone()
    }

    /// The pre-keyed HMAC of tag checks.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn prekeyed(&self) -> &PreKeyed {
        &self.prekeyed
    }

    /// The AEAD key of sealed tokens of `domain`.
    pub(crate) fn seal_key(&self, domain: Domain) -> &[u8; 32] {
        match domain {
            Domain::Link => &self.seal_link,
            Domain::Session => &self.seal_session,
            Domain::Media => &self.seal_media,
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("Key").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// Why `LINKGATE_KEYS` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRingError {
    /// No entries at all.
    Empty,
    /// Entry number `index` (1-based) has no `:`.
    MissingSeparator { index: usize },
    /// Entry number `index` has an invalid key id.
    BadKeyId { index: usize },
    /// The key of `kid` is not base64url.
    BadKeyEncoding { kid: String },
    /// The key of `kid` is shorter than 32 bytes.
    KeyTooShort { kid: String, bytes: usize },
    /// The key of `kid` is longer than 64 bytes.
    KeyTooLong { kid: String, bytes: usize },
    /// `kid` is listed twice.
    DuplicateKeyId { kid: String },
}

impl fmt::Display for KeyRingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyRingError::Empty => write!(f, "LINKGATE_KEYS has no entries"),
            KeyRingError::MissingSeparator { index } => {
                write!(f, "LINKGATE_KEYS entry {index} is not of the form kid:key")
            }
            KeyRingError::BadKeyId { index } => {
                write!(f, "LINKGATE_KEYS entry {index} has an invalid key id (1-{MAX_KID_BYTES} of A-Z a-z 0-9 _ -)")
            }
            KeyRingError::BadKeyEncoding { kid } => {
                write!(f, "key \"{kid}\" is not valid base64url")
            }
            KeyRingError::KeyTooShort { kid, bytes } => {
                write!(f, "key \"{kid}\" has {bytes} bytes; at least {MIN_KEY_BYTES} are required")
            }
            KeyRingError::KeyTooLong { kid, bytes } => {
                write!(f, "key \"{kid}\" has {bytes} bytes; at most {MAX_KEY_BYTES} are allowed")
            }
            KeyRingError::DuplicateKeyId { kid } => {
                write!(f, "key id \"{kid}\" is listed more than once")
            }
        }
    }
}

impl std::error::Error for KeyRingError {}

/// Every key that verifies; the first one signs. Non-empty by construction
/// (the signing key is its own field, so no lookup can fail).
#[derive(Clone, Debug)]
pub struct KeyRing {
    signing: Key,
    others: Vec<Key>,
    /// Ed25519 public keys (`LINKGATE_PUBLIC_KEYS`, §18): they verify, never sign.
    public: PublicKeyRing,
}

impl KeyRing {
    /// Parse a `LINKGATE_KEYS` value. ASCII whitespace (tab, line feed, form
    /// feed, carriage return, space: `str::trim_ascii`) around entries, kids
    /// and keys is ignored, and nothing else is: a no-break space or a BOM
    /// makes the value invalid rather than depend on which "trim" a second
    /// implementation uses. Keys may carry `=` padding (it is stripped).
    pub fn parse(text: &str) -> Result<KeyRing, KeyRingError> {
        let mut keys: Vec<Key> = Vec::new();
        for (i, entry) in text.split(',').enumerate() {
            let index = i + 1;
            let entry = entry.trim_ascii();
            if entry.is_empty() {
                continue;
            }
            let (kid, secret) = entry.split_once(':').ok_or(KeyRingError::MissingSeparator { index })?;
            let kid = KeyId::parse(kid.trim_ascii()).ok_or(KeyRingError::BadKeyId { index })?;
            if keys.iter().any(|k| k.kid == kid) {
                return Err(KeyRingError::DuplicateKeyId { kid: kid.0.to_string() });
            }
            let secret = secret.trim_ascii().trim_end_matches('=');
            let bytes =
                b64::decode(secret.as_bytes()).map_err(|_| KeyRingError::BadKeyEncoding { kid: kid.0.to_string() })?;
            keys.push(Key::new(kid, &bytes)?);
        }
        KeyRing::from_keys(keys)
    }

    /// Build from keys already made; refuses an empty list and duplicate ids.
    pub fn from_keys(keys: Vec<Key>) -> Result<KeyRing, KeyRingError> {
        for (i, k) in keys.iter().enumerate() {
            if keys.iter().skip(i + 1).any(|o| o.kid == k.kid) {
                return Err(KeyRingError::DuplicateKeyId { kid: k.kid.0.to_string() });
            }
        }
        let mut it = keys.into_iter();
        let signing = it.next().ok_or(KeyRingError::Empty)?;
        Ok(KeyRing { signing, others: it.collect(), public: PublicKeyRing::default() })
    }

    /// Add the Ed25519 public keys. Key ids are one namespace across both
    /// rings (a `kid` revocation must name one key), so a shared id is refused.
    pub fn with_public(mut self, public: PublicKeyRing) -> Result<KeyRing, PublicKeyError> {
        if let Some(k) = public.keys().iter().find(|k| self.get(k.kid().as_str()).is_some()) {
            return Err(PublicKeyError::DuplicateKeyId { kid: k.kid().to_string() });
        }
        self.public = public;
        Ok(self)
    }

    /// The Ed25519 public keys (possibly none).
    pub fn public(&self) -> &PublicKeyRing {
        &self.public
    }

    /// The key that signs new links (the first listed).
    pub fn signing_key(&self) -> &Key {
        &self.signing
    }

    fn all(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.signing).chain(self.others.iter())
    }

    /// The key with this id, if listed.
    pub fn get(&self, kid: &str) -> Option<&Key> {
        self.get_bytes(kid.as_bytes())
    }

    /// [`KeyRing::get`] for an id still in token bytes.
    pub(crate) fn get_bytes(&self, kid: &[u8]) -> Option<&Key> {
        self.all().find(|k| k.kid.as_str().as_bytes() == kid)
    }

    /// All key ids, in order.
    pub fn kids(&self) -> impl Iterator<Item = &KeyId> {
        self.all().map(|k| &k.kid)
    }
}

/// Format a new `kid:key` entry for `LINKGATE_KEYS`.
pub fn format_entry(kid: &KeyId, secret: &[u8]) -> String {
    format!("{}:{}", kid, b64::encode(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_text(byte: u8, n: usize) -> String {
        b64::encode(&vec![byte; n])
    }

    #[test]
    fn parses_a_ring_and_keeps_order() {
        let text = format!(" k2:{} , k1:{}== ,", key_text(2, 32), key_text(1, 33));
        let ring = KeyRing::parse(&text).unwrap();
        assert_eq!(ring.signing_key().kid().as_str(), "k2");
        assert_eq!(ring.kids().map(|k| k.as_str()).collect::<Vec<_>>(), ["k2", "k1"]);
        assert!(ring.get("k1").is_some());
        assert!(ring.get("k3").is_none());
    }

    #[test]
    fn trims_ascii_whitespace_only() {
        let k = key_text(2, 32);
        for ws in ["\t", "\n", "\r", "\x0c", " ", "\r\n\t "] {
            let text = format!("{ws}k2{ws}:{ws}{k}{ws},{ws}");
            assert!(KeyRing::parse(&text).is_ok(), "{text:?}");
        }
        // Unicode whitespace, VT and the BOM (which JavaScript's trim removes) are not trimmed.
        for ws in ["\u{a0}", "\u{feff}", "\u{2003}", "\x0b", "\u{85}"] {
            assert!(KeyRing::parse(&format!("{ws}k2:{k}")).is_err(), "{ws:?} before the kid");
            assert!(KeyRing::parse(&format!("k2:{k}{ws}")).is_err(), "{ws:?} after the key");
        }
    }

    #[test]
    fn refuses_bad_entries_with_clear_errors() {
        let good = key_text(7, 32);
        let cases: Vec<(String, KeyRingError)> = vec![
            ("".into(), KeyRingError::Empty),
            (" , ".into(), KeyRingError::Empty),
            (format!("k1{good}"), KeyRingError::MissingSeparator { index: 1 }),
            (format!("k1:{good},bad kid:{good}"), KeyRingError::BadKeyId { index: 2 }),
            (format!(":{good}"), KeyRingError::BadKeyId { index: 1 }),
            (format!("{}:{good}", "k".repeat(33)), KeyRingError::BadKeyId { index: 1 }),
            ("k1:not*base64".into(), KeyRingError::BadKeyEncoding { kid: "k1".into() }),
            ("k1:a+b/".into(), KeyRingError::BadKeyEncoding { kid: "k1".into() }),
            (format!("k1:{}", key_text(1, 31)), KeyRingError::KeyTooShort { kid: "k1".into(), bytes: 31 }),
            (format!("k1:{}", key_text(1, 65)), KeyRingError::KeyTooLong { kid: "k1".into(), bytes: 65 }),
            (format!("k1:{good},k1:{good}"), KeyRingError::DuplicateKeyId { kid: "k1".into() }),
        ];
        for (text, want) in cases {
            assert_eq!(KeyRing::parse(&text).unwrap_err(), want, "{text}");
        }
    }

    #[test]
    fn errors_and_debug_never_show_key_material() {
        let secret = key_text(9, 40);
        let ring = KeyRing::parse(&format!("k:{secret}")).unwrap();
        assert!(!format!("{ring:?}").contains(&secret));
        let err = KeyRing::parse(&format!("k:{}", key_text(9, 20))).unwrap_err().to_string();
        assert!(!err.contains(&key_text(9, 20)));
    }

    #[test]
    fn key_ids() {
        assert!(KeyId::parse("a").is_some());
        assert!(KeyId::parse("A-z_09").is_some());
        assert!(KeyId::parse(&"x".repeat(32)).is_some());
        for bad in ["", "a b", "a.b", "a:b", "é", &"x".repeat(33)] {
            assert!(KeyId::parse(bad).is_none(), "{bad}");
        }
    }
}

//! Links signed with Ed25519 (`docs/link-format.md` §18): the same claims and
//! payload as v1, signed by a private key the edge never holds, verified with
//! the public key listed in `LINKGATE_PUBLIC_KEYS`.
//!
//! The core does every check that needs no curve arithmetic (key ring, key
//! constraints, token layout, canonical `S`, a canonical and not small-order
//! `R`) and leaves the signature equation itself to its caller: the Worker
//! asks WebCrypto (`crypto.subtle.verify("Ed25519", …)`, a gate step), native
//! callers (CLI, tests) use `ed25519-dalek`, never compiled for
//! wasm32-unknown-unknown so that it never enters the Worker's (or the JS
//! package's) wasm.

use core::fmt;

use super::b64;
use super::keys::KeyId;
use super::path::{canonical_folder, Prefix, Scope};
use super::token::{Claims, DecodeError, Field, Label, MAX_RAW_BYTES};

/// First byte of an Ed25519-signed token (v1 is 0x01, sealed 0x02).
pub const ED25519_VERSION: u8 = 0x03;
/// Domain label of the signed message (§18.2), NUL-terminated like v1's.
pub const ED25519_DOMAIN: &[u8] = b"linkgate-link-ed25519-v1\0";
/// An Ed25519 signature: `R` (32 bytes) then `S` (32 bytes, little-endian).
pub const SIGNATURE_BYTES: usize = 64;
/// An Ed25519 public key (compressed Edwards point).
pub const PUBLIC_KEY_BYTES: usize = 32;
/// An Ed25519 private key (the RFC 8032 seed).
pub const SECRET_KEY_BYTES: usize = 32;
/// Longest payload: the token bytes fit the same text limit as v1 (§3).
pub const MAX_ED25519_PAYLOAD_BYTES: usize = MAX_RAW_BYTES - 1 - SIGNATURE_BYTES;
/// Constraints per public key entry (`tenant`, `prefix`).
const MAX_CONSTRAINTS: usize = 2;

/// The group order L, little-endian (RFC 8032 §5.1): `S` must be below it.
const ORDER_L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// The field prime p = 2^255 - 19, little-endian: an encoded `y` must be below it.
const FIELD_P: [u8; 32] = [
    0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
];

/// The `y` coordinates (sign bit cleared) of the eight points of small order
/// (orders 1, 2, 4, 8): 0, 1, p-1 and the two order-8 values. Every small-order
/// point, whatever its sign bit, has one of these (tested against dalek).
const SMALL_ORDER_Y: [[u8; 32]; 5] = [
    [0; 32],
    [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
    ],
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf,
        0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
    ],
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20,
        0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,
    ],
];

/// `a < b` for 256-bit little-endian numbers (public values: no need for
/// constant time).
fn less_le(a: &[u8; 32], b: &[u8; 32]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

/// A point encoding the strict rules accept (§18.3): `y < p` (canonical),
/// not `-0` (sign bit set with x = 0, only possible for y = 1 or y = p-1,
/// both small order) and not of small order.
pub fn acceptable_point(encoded: &[u8; 32]) -> bool {
    let mut y = *encoded;
    if let Some(last) = y.last_mut() {
        *last &= 0x7f;
    }
    less_le(&y, &FIELD_P) && !SMALL_ORDER_Y.contains(&y)
}

/// `S` is a canonical scalar (`S < L`, RFC 8032 §5.1.7 step 1).
pub fn canonical_scalar(s: &[u8; 32]) -> bool {
    less_le(s, &ORDER_L)
}

/// The checks of a signature a verifier makes before any curve arithmetic:
/// canonical `S`, acceptable `R`.
pub fn signature_precheck(sig: &[u8; SIGNATURE_BYTES]) -> bool {
    let (r, s) = sig.split_at(32);
    match (<&[u8; 32]>::try_from(r), <&[u8; 32]>::try_from(s)) {
        (Ok(r), Ok(s)) => canonical_scalar(s) && acceptable_point(r),
        _ => false,
    }
}

/// The message an Ed25519 link signature covers: the domain label, then the
/// v1 payload exactly as it appears in the token.
pub fn signed_message(payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(ED25519_DOMAIN.len() + payload.len());
    m.extend_from_slice(ED25519_DOMAIN);
    m.extend_from_slice(payload);
    m
}

/// Split Ed25519 token bytes (first byte [`ED25519_VERSION`]) into the v1
/// payload and the signature. Lengths only; the payload is checked by the
/// caller with the v1 rules.
pub(crate) fn split(raw: &[u8]) -> Result<(&[u8], &[u8; SIGNATURE_BYTES]), DecodeError> {
    let body = match raw.split_first() {
        Some((&ED25519_VERSION, body)) => body,
        _ => return Err(DecodeError::UnsupportedVersion),
    };
    let payload_len = body.len().checked_sub(SIGNATURE_BYTES).ok_or(DecodeError::Truncated)?;
    if payload_len == 0 {
        return Err(DecodeError::Truncated);
    }
    if payload_len > MAX_ED25519_PAYLOAD_BYTES {
        return Err(DecodeError::BadLength);
    }
    let (payload, sig) = body.split_at_checked(payload_len).ok_or(DecodeError::Truncated)?;
    let sig = <&[u8; SIGNATURE_BYTES]>::try_from(sig).map_err(|_| DecodeError::Truncated)?;
    Ok((payload, sig))
}

/// Assemble token text from a v1 payload and its signature.
pub fn assemble(payload: &[u8], sig: &[u8; SIGNATURE_BYTES]) -> String {
    let mut raw = Vec::with_capacity(1 + payload.len() + SIGNATURE_BYTES);
    raw.push(ED25519_VERSION);
    raw.extend_from_slice(payload);
    raw.extend_from_slice(sig);
    b64::encode(&raw)
}

/// A decoded Ed25519 token whose signature is **not** checked (`inspect`,
/// the path-less form). The gate verifies through [`crate::verify::verify_start`].
#[derive(Debug, Clone)]
pub struct Ed25519Token {
    raw: Vec<u8>,
    claims: Claims,
}

impl Ed25519Token {
    /// From the decoded token bytes (first byte [`ED25519_VERSION`]).
    pub(crate) fn from_raw(raw: Vec<u8>) -> Result<Ed25519Token, DecodeError> {
        let (payload, _) = split(&raw)?;
        let claims = super::token::ClaimsView::parse(payload, None)?.to_claims();
        Ok(Ed25519Token { raw, claims })
    }

    /// The key id the payload names.
    pub fn kid(&self) -> &KeyId {
        &self.claims.kid
    }

    /// The claims as decoded, **not authenticated**: for display only.
    pub fn claims_unverified(&self) -> &Claims {
        &self.claims
    }

    /// The signed message and the signature, for a verifier outside the
    /// core (WebCrypto in JavaScript); None if the signature's encoding is
    /// refused before any curve arithmetic (§18.3).
    pub fn message_and_signature(&self) -> Option<(Vec<u8>, [u8; SIGNATURE_BYTES])> {
        let (payload, sig) = split(&self.raw).ok()?;
        signature_precheck(sig).then(|| (signed_message(payload), *sig))
    }

    /// Verify natively with `key` (found by this token's kid): the signature
    /// (`bad_tag`), then the key's constraints (`key_constraint`).
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    pub fn verify(self, key: &PublicKey) -> Result<Claims, super::reason::Reason> {
        let valid = self.message_and_signature().is_some_and(|(m, sig)| native::verify_with(key, &m, &sig));
        self.accept(key, valid)
    }

    /// Go on with another verifier's answer (WebCrypto): `valid` is whether
    /// [`Ed25519Token::message_and_signature`] verified under `key`; then
    /// the key's constraints.
    pub fn accept(self, key: &PublicKey, valid: bool) -> Result<Claims, super::reason::Reason> {
        use super::reason::Reason;
        if !valid || self.message_and_signature().is_none() {
            return Err(Reason::BadTag);
        }
        if !key.constraints().permit(&self.claims) {
            return Err(Reason::KeyConstraint);
        }
        Ok(self.claims)
    }
}

/// What a public key may sign for (`@tenant=…;prefix=…`): a link signed
/// outside them is refused `key_unknown` (reason `key_constraint`), so a
/// tenant's leaked private key cannot reach another tenant's files.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Constraints {
    /// The link must carry exactly this `tenant` claim.
    pub tenant: Option<Label>,
    /// The link's scope must lie inside this folder.
    pub prefix: Option<Prefix>,
}

impl Constraints {
    /// Do authentic claims stay inside the constraints?
    pub fn permit(&self, claims: &Claims) -> bool {
        let tenant_ok = match &self.tenant {
            None => true,
            Some(t) => claims.tenant.as_ref() == Some(t),
        };
        let prefix_ok = match &self.prefix {
            None => true,
            // Both end in '/' or the object path is canonical: starts_with
            // is whole-segment containment (§8).
            Some(p) => match &claims.scope {
                Scope::Object(o) => p.covers(o),
                Scope::Prefix(q) => q.as_str().starts_with(p.as_str()),
            },
        };
        tenant_ok && prefix_ok
    }

    /// The entry text after `@` (empty when unconstrained).
    pub fn to_entry_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = &self.tenant {
            parts.push(format!("tenant={}", t.as_str()));
        }
        if let Some(p) = &self.prefix {
            parts.push(format!("prefix={}", super::path::encode_path(p.as_str())));
        }
        parts.join(";")
    }
}

/// One entry of `LINKGATE_PUBLIC_KEYS`.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    kid: KeyId,
    bytes: [u8; PUBLIC_KEY_BYTES],
    constraints: Constraints,
}

impl PublicKey {
    /// A checked public key: canonical and not of small order (§18.3).
    pub fn new(kid: KeyId, bytes: &[u8], constraints: Constraints) -> Result<PublicKey, PublicKeyError> {
        let bytes = <[u8; PUBLIC_KEY_BYTES]>::try_from(bytes)
            .map_err(|_| PublicKeyError::BadLength { kid: kid.to_string(), bytes: bytes.len() })?;
        if !acceptable_point(&bytes) {
            return Err(PublicKeyError::WeakKey { kid: kid.to_string() });
        }
        Ok(PublicKey { kid, bytes, constraints })
    }

    /// The key id.
    pub fn kid(&self) -> &KeyId {
        &self.kid
    }

    /// The raw 32 bytes (what WebCrypto's `importKey("raw", …)` takes).
    pub fn bytes(&self) -> &[u8; PUBLIC_KEY_BYTES] {
        &self.bytes
    }

    /// What the key may sign for.
    pub fn constraints(&self) -> &Constraints {
        &self.constraints
    }

    /// The `LINKGATE_PUBLIC_KEYS` entry for this key.
    pub fn to_entry(&self) -> String {
        let c = self.constraints.to_entry_text();
        let at = if c.is_empty() { "" } else { "@" };
        format!("{}:{}{at}{c}", self.kid, b64::encode(&self.bytes))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("kid", &self.kid)
            .field("key", &b64::encode(&self.bytes))
            .field("constraints", &self.constraints)
            .finish()
    }
}

/// Why `LINKGATE_PUBLIC_KEYS` was refused (a configuration error: the edge
/// answers 500 for every request, as for `LINKGATE_KEYS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKeyError {
    /// Entry number `index` (1-based) has no `:`.
    MissingSeparator { index: usize },
    /// Entry number `index` has an invalid key id.
    BadKeyId { index: usize },
    /// The key of `kid` is not base64url.
    BadKeyEncoding { kid: String },
    /// The key of `kid` is not 32 bytes.
    BadLength { kid: String, bytes: usize },
    /// The key of `kid` is not a canonical point, or is of small order.
    WeakKey { kid: String },
    /// The constraints of `kid` do not parse.
    BadConstraint { kid: String, why: &'static str },
    /// `kid` is listed twice (here, or here and in `LINKGATE_KEYS`).
    DuplicateKeyId { kid: String },
}

impl fmt::Display for PublicKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublicKeyError::MissingSeparator { index } => {
                write!(f, "LINKGATE_PUBLIC_KEYS entry {index} is not of the form kid:public-key[@constraints]")
            }
            PublicKeyError::BadKeyId { index } => {
                write!(f, "LINKGATE_PUBLIC_KEYS entry {index} has an invalid key id (1-32 of A-Z a-z 0-9 _ -)")
            }
            PublicKeyError::BadKeyEncoding { kid } => write!(f, "public key \"{kid}\" is not valid base64url"),
            PublicKeyError::BadLength { kid, bytes } => {
                write!(f, "public key \"{kid}\" has {bytes} bytes; an Ed25519 public key has 32")
            }
            PublicKeyError::WeakKey { kid } => {
                write!(f, "public key \"{kid}\" is not a canonical Ed25519 point of large order")
            }
            PublicKeyError::BadConstraint { kid, why } => write!(f, "public key \"{kid}\": {why}"),
            PublicKeyError::DuplicateKeyId { kid } => {
                write!(
                    f,
                    "key id \"{kid}\" is listed more than once (LINKGATE_KEYS and LINKGATE_PUBLIC_KEYS share ids)"
                )
            }
        }
    }
}

impl std::error::Error for PublicKeyError {}

/// The public keys that verify Ed25519 links. May be empty (no Ed25519 links).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PublicKeyRing {
    keys: Vec<PublicKey>,
}

impl PublicKeyRing {
    /// Parse a `LINKGATE_PUBLIC_KEYS` value: comma-separated
    /// `kid:base64url-public-key[@constraint(;constraint)*]`, trimmed as
    /// `LINKGATE_KEYS` is (§6). An empty value is an empty ring.
    pub fn parse(text: &str) -> Result<PublicKeyRing, PublicKeyError> {
        let mut keys: Vec<PublicKey> = Vec::new();
        for (i, entry) in text.split(',').enumerate() {
            let index = i.saturating_add(1);
            let entry = entry.trim_ascii();
            if entry.is_empty() {
                continue;
            }
            let (kid, rest) = entry.split_once(':').ok_or(PublicKeyError::MissingSeparator { index })?;
            let kid = KeyId::parse(kid.trim_ascii()).ok_or(PublicKeyError::BadKeyId { index })?;
            if keys.iter().any(|k| k.kid == kid) {
                return Err(PublicKeyError::DuplicateKeyId { kid: kid.to_string() });
            }
            let (key, constraints) = match rest.split_once('@') {
                Some((k, c)) => (k, Some(c)),
                None => (rest, None),
            };
            let key = key.trim_ascii().trim_end_matches('=');
            let bytes =
                b64::decode(key.as_bytes()).map_err(|_| PublicKeyError::BadKeyEncoding { kid: kid.to_string() })?;
            let constraints = match constraints {
                Some(c) => parse_constraints(c.trim_ascii())
                    .map_err(|why| PublicKeyError::BadConstraint { kid: kid.to_string(), why })?,
                None => Constraints::default(),
            };
            keys.push(PublicKey::new(kid, &bytes, constraints)?);
        }
        Ok(PublicKeyRing { keys })
    }

    /// Build from keys already made; refuses duplicate ids.
    pub fn from_keys(keys: Vec<PublicKey>) -> Result<PublicKeyRing, PublicKeyError> {
        for (i, k) in keys.iter().enumerate() {
            if keys.iter().skip(i.saturating_add(1)).any(|o| o.kid == k.kid) {
                return Err(PublicKeyError::DuplicateKeyId { kid: k.kid.to_string() });
            }
        }
        Ok(PublicKeyRing { keys })
    }

    /// The key with this id, if listed.
    pub fn get(&self, kid: &str) -> Option<&PublicKey> {
        self.get_bytes(kid.as_bytes())
    }

    /// [`PublicKeyRing::get`] for an id still in token bytes.
    pub(crate) fn get_bytes(&self, kid: &[u8]) -> Option<&PublicKey> {
        self.keys.iter().find(|k| k.kid.as_str().as_bytes() == kid)
    }

    /// All keys, in order.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// No public keys listed.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// `tenant=<label>` and/or `prefix=<percent-encoded folder>`, separated by
/// `;`, each at most once.
fn parse_constraints(text: &str) -> Result<Constraints, &'static str> {
    let mut c = Constraints::default();
    let mut n = 0usize;
    for part in text.split(';') {
        n = n.saturating_add(1);
        if n > MAX_CONSTRAINTS {
            return Err("too many constraints (tenant and prefix, each at most once)");
        }
        let (name, value) = part.trim_ascii().split_once('=').ok_or("a constraint is not of the form name=value")?;
        match name {
            "tenant" if c.tenant.is_none() => {
                c.tenant = Some(Label::parse(Field::Tenant, value).map_err(|_| "tenant= is not a valid tenant id")?);
            }
            "prefix" if c.prefix.is_none() => {
                c.prefix =
                    Some(canonical_folder(value).map_err(|_| "prefix= is not a canonical folder path ending in '/'")?);
            }
            "tenant" | "prefix" => return Err("a constraint is given twice"),
            _ => return Err("unknown constraint (tenant=, prefix=)"),
        }
    }
    Ok(c)
}

/// Native signing and verification with `ed25519-dalek` (CLI, tests,
/// benches; also the core's tests on wasm32-wasip1). Never compiled for
/// wasm32-unknown-unknown: the Worker verifies through WebCrypto and holds
/// no private key, and the JS package signs through WebCrypto.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub mod native {
    use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

    use super::{
        assemble, signature_precheck, signed_message, PublicKey, MAX_ED25519_PAYLOAD_BYTES, PUBLIC_KEY_BYTES,
        SECRET_KEY_BYTES, SIGNATURE_BYTES,
    };
    use crate::keys::KeyId;
    use crate::token::{ClaimError, Claims, Field};

    /// A private key that signs Ed25519 links. Debug never prints it.
    pub struct PrivateKey {
        kid: KeyId,
        key: SigningKey,
    }

    impl PrivateKey {
        /// From the 32-byte RFC 8032 seed.
        pub fn from_seed(kid: KeyId, seed: &[u8; SECRET_KEY_BYTES]) -> PrivateKey {
            PrivateKey { kid, key: SigningKey::from_bytes(seed) }
        }

        /// Parse `kid:base64url-seed` (what `linkgate keygen --ed25519` prints).
        pub fn parse(text: &str) -> Option<PrivateKey> {
            let (kid, seed) = text.trim_ascii().split_once(':')?;
            let kid = KeyId::parse(kid.trim_ascii())?;
            let seed = crate::b64::decode(seed.trim_ascii().trim_end_matches('=').as_bytes()).ok()?;
            Some(PrivateKey::from_seed(kid, &<[u8; SECRET_KEY_BYTES]>::try_from(seed.as_slice()).ok()?))
        }

        /// The key id.
        pub fn kid(&self) -> &KeyId {
            &self.kid
        }

        /// The 32 public-key bytes.
        pub fn public_bytes(&self) -> [u8; PUBLIC_KEY_BYTES] {
            self.key.verifying_key().to_bytes()
        }

        /// The `kid:seed` text (keep it secret).
        pub fn to_entry(&self) -> String {
            format!("{}:{}", self.kid, crate::b64::encode(self.key.as_bytes()))
        }

        /// The public entry for `LINKGATE_PUBLIC_KEYS`, unconstrained.
        pub fn public_entry(&self) -> String {
            format!("{}:{}", self.kid, crate::b64::encode(&self.public_bytes()))
        }

        /// Sign raw bytes (tests, the primitive's vectors).
        pub fn sign_bytes(&self, message: &[u8]) -> [u8; SIGNATURE_BYTES] {
            self.key.sign(message).to_bytes()
        }

        /// Sign `claims` (relabelled with this key's id) as an Ed25519 link
        /// token. Deterministic, as RFC 8032 signing is.
        pub fn sign(&self, claims: &Claims) -> Result<String, ClaimError> {
            let relabelled;
            let claims = if claims.kid == self.kid {
                claims
            } else {
                relabelled = Claims { kid: self.kid.clone(), ..claims.clone() };
                &relabelled
            };
            claims.check()?;
            let payload = claims.encode_payload();
            if payload.len() > MAX_ED25519_PAYLOAD_BYTES {
                return Err(crate::token::claim_error(Field::Scope, "claims too large for one token"));
            }
            let sig = self.sign_bytes(&signed_message(&payload));
            Ok(assemble(&payload, &sig))
        }
    }

    impl core::fmt::Debug for PrivateKey {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_struct("PrivateKey").field("kid", &self.kid).finish_non_exhaustive()
        }
    }

    /// Verify with the strict rules of §18.3: the core's prechecks (canonical
    /// `S`, acceptable `R` and `A`), then dalek's `verify_strict`
    /// (cofactorless equation, `R` compared by its encoding).
    pub fn verify(public: &[u8; PUBLIC_KEY_BYTES], message: &[u8], sig: &[u8; SIGNATURE_BYTES]) -> bool {
        if !super::acceptable_point(public) || !signature_precheck(sig) {
            return false;
        }
        let Ok(key) = VerifyingKey::from_bytes(public) else {
            return false;
        };
        key.verify_strict(message, &Signature::from_bytes(sig)).is_ok()
    }

    /// [`verify`] with a ring entry.
    pub fn verify_with(key: &PublicKey, message: &[u8], sig: &[u8; SIGNATURE_BYTES]) -> bool {
        verify(key.bytes(), message, sig)
    }
}

#[cfg(test)]
mod tests;

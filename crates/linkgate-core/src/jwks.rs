//! JSON Web Key Sets (RFC 7517): an identity provider's public keys, read
//! into typed keys, and the per-isolate cache policy the edge keeps them
//! under (`docs/identity.md`, "Keys and their cache").
//!
//! Only verification keys linkgate can use are kept: RSA (2048 to 4096-bit
//! modulus, odd exponent) and EC P-256, `use` absent or `sig`, `alg` absent
//! or RS256/ES256, no private members. Other keys are skipped (a JWKS may
//! list encryption keys beside the signing ones); a key id listed twice is
//! dropped, both times (which of them signed would be a guess).

use std::rc::Rc;

use super::b64;
use super::json::{self, Obj, Value};
use super::jwt::{Alg, MAX_KID_BYTES};

/// Longest JWKS document read.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// Most keys a JWKS may list.
pub const MAX_JWKS_KEYS: usize = 32;

/// A public key's material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// RSA: modulus and public exponent, unsigned big-endian, no leading zero.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// EC P-256: the point's coordinates.
    P256 { x: [u8; 32], y: [u8; 32] },
}

/// One usable key of a JWKS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    pub kid: Option<String>,
    /// The key's own `alg`, when it names one.
    pub alg: Option<Alg>,
    pub key: PublicKey,
}

impl Jwk {
    /// Whether this key can verify `alg` (its type, its curve and its own
    /// `alg` agree).
    pub fn suits(&self, alg: Alg) -> bool {
        let kind =
            matches!((&self.key, alg), (PublicKey::Rsa { .. }, Alg::Rs256) | (PublicKey::P256 { .. }, Alg::Es256));
        kind && self.alg.is_none_or(|a| a == alg)
    }

    /// The length a signature under this key has (RS256: the modulus').
    pub fn signature_len(&self) -> usize {
        match &self.key {
            PublicKey::Rsa { n, .. } => n.len(),
            PublicKey::P256 { .. } => 64,
        }
    }

    /// The key as a minimal public JWK, for WebCrypto's `importKey("jwk")`.
    pub fn to_public_jwk(&self) -> String {
        let o = json::Object::new();
        match &self.key {
            PublicKey::Rsa { n, e } => o.str("kty", "RSA").str("n", &b64::encode(n)).str("e", &b64::encode(e)),
            PublicKey::P256 { x, y } => {
                o.str("kty", "EC").str("crv", "P-256").str("x", &b64::encode(x)).str("y", &b64::encode(y))
            }
        }
        .finish()
        .into_string()
    }
}

/// Why a JWKS document was refused whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwksError {
    /// Longer than [`MAX_JWKS_BYTES`].
    TooLong,
    /// Not a JSON object.
    NotJson,
    /// No `keys` array.
    NoKeys,
    /// More than [`MAX_JWKS_KEYS`] keys.
    TooManyKeys,
}

impl JwksError {
    pub const fn as_str(self) -> &'static str {
        match self {
            JwksError::TooLong => "jwks_too_long",
            JwksError::NotJson => "jwks_not_json",
            JwksError::NoKeys => "jwks_no_keys",
            JwksError::TooManyKeys => "jwks_too_many_keys",
        }
    }
}

/// A provider's usable keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

fn b64_member(o: &Obj, name: &str) -> Option<Vec<u8>> {
    b64::decode(o.get(name)?.as_str()?.as_bytes()).ok()
}

/// RSA members: a 2048-4096-bit modulus and an odd exponent of at most 32
/// bits, both without leading zeros (RFC 7518 §6.3.1).
fn rsa(o: &Obj) -> Option<PublicKey> {
    let n = b64_member(o, "n")?;
    let e = b64_member(o, "e")?;
    let n_ok = (256..=512).contains(&n.len()) && n.first().is_some_and(|&b| b != 0);
    let e_value = e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    let e_ok = (1..=4).contains(&e.len()) && e.first().is_some_and(|&b| b != 0) && e_value % 2 == 1 && e_value >= 3;
    (n_ok && e_ok).then_some(PublicKey::Rsa { n, e })
}

fn p256(o: &Obj) -> Option<PublicKey> {
    if o.get("crv")?.as_str()? != "P-256" {
        return None;
    }
    let x: [u8; 32] = b64_member(o, "x")?.try_into().ok()?;
    let y: [u8; 32] = b64_member(o, "y")?.try_into().ok()?;
    Some(PublicKey::P256 { x, y })
}

/// One member of `keys`, if linkgate can verify with it.
fn usable(v: &Value) -> Option<Jwk> {
    let o = v.as_obj()?;
    if o.get("use").is_some_and(|u| u.as_str() != Some("sig")) {
        return None;
    }
    if let Some(ops) = o.get("key_ops") {
        if !ops.as_arr()?.iter().any(|op| op.as_str() == Some("verify")) {
            return None;
        }
    }
    // Private material in a public key set: a mistake linkgate will not use.
    if ["d", "p", "q", "dp", "dq", "qi", "k"].iter().any(|m| o.get(m).is_some()) {
        return None;
    }
    let alg = match o.get("alg") {
        None => None,
        Some(a) => Some(Alg::parse(a.as_str()?)?),
    };
    let kid = match o.get("kid") {
        None => None,
        Some(k) => Some(k.as_str().filter(|k| !k.is_empty() && k.len() <= MAX_KID_BYTES)?.to_owned()),
    };
    let key = match o.get("kty")?.as_str()? {
        "RSA" => rsa(o)?,
        "EC" => p256(o)?,
        _ => return None,
    };
    let jwk = Jwk { kid, alg, key };
    // A key whose own alg contradicts its type suits nothing.
    Alg::ALL.into_iter().any(|a| jwk.suits(a)).then_some(jwk)
}

impl Jwks {
    /// Read a JWKS document (other top-level members, such as Access's
    /// `public_cert`, are ignored).
    pub fn parse(text: &str) -> Result<Jwks, JwksError> {
        if text.len() > MAX_JWKS_BYTES {
            return Err(JwksError::TooLong);
        }
        let doc = json::parse(text).map_err(|_| JwksError::NotJson)?;
        let top = doc.as_obj().ok_or(JwksError::NotJson)?;
        let list = top.get("keys").and_then(Value::as_arr).ok_or(JwksError::NoKeys)?;
        if list.len() > MAX_JWKS_KEYS {
            return Err(JwksError::TooManyKeys);
        }
        let found: Vec<Jwk> = list.iter().filter_map(usable).collect();
        let listed = |kid: &str| list.iter().filter(|v| v.get("kid").and_then(Value::as_str) == Some(kid)).count();
        let keys = found.into_iter().filter(|k| k.kid.as_deref().is_none_or(|kid| listed(kid) == 1)).collect();
        Ok(Jwks { keys })
    }

    /// A set of these keys (tests, native drivers).
    pub fn from_keys(keys: Vec<Jwk>) -> Jwks {
        Jwks { keys }
    }

    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    /// The key for a token: the one with its `kid` (which must suit its
    /// `alg`); a token without `kid` only when exactly one key suits.
    pub fn find(&self, kid: Option<&str>, alg: Alg) -> Option<&Jwk> {
        match kid {
            Some(kid) => self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)).filter(|k| k.suits(alg)),
            None => {
                let mut suitable = self.keys.iter().filter(|k| k.suits(alg));
                let first = suitable.next()?;
                suitable.next().is_none().then_some(first)
            }
        }
    }
}

/// Lifetime of a JWKS whose response names no `max-age`.
pub const DEFAULT_JWKS_TTL_SECS: u64 = 300;
/// Longest a JWKS is kept fresh, whatever its `max-age` says.
pub const MAX_JWKS_TTL_SECS: u64 = 600;
/// Shortest: even `no-store` is kept this long, so that requests cannot
/// turn into a fetch each.
pub const MIN_JWKS_TTL_SECS: u64 = 30;
/// After a failed fetch, no other attempt for this long (requests meanwhile
/// use the stale set if there is one, else fail closed).
pub const JWKS_RETRY_MS: u64 = 5_000;
/// How long past its lifetime a stale set may stand in while the provider's
/// JWKS cannot be fetched.
pub const JWKS_STALE_IF_ERROR_SECS: u64 = 600;

/// The lifetime of a fetched JWKS from its `Cache-Control`: `max-age`,
/// clamped to [`MIN_JWKS_TTL_SECS`]..=[`MAX_JWKS_TTL_SECS`].
pub fn jwks_ttl_secs(cache_control: Option<&str>) -> u64 {
    let directives = cache_control.unwrap_or("").split(',').map(str::trim);
    let mut ttl = DEFAULT_JWKS_TTL_SECS;
    for d in directives {
        let (name, value) = d.split_once('=').unwrap_or((d, ""));
        if name.eq_ignore_ascii_case("max-age") {
            ttl = value.trim_matches('"').parse().unwrap_or(0);
        } else if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            ttl = 0;
        }
    }
    ttl.clamp(MIN_JWKS_TTL_SECS, MAX_JWKS_TTL_SECS)
}

/// What the edge should do for a key lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksPlan {
    /// Use this set (it is fresh, or refreshing it now is not allowed).
    Use(Rc<Jwks>),
    /// Fetch the JWKS, then [`JwksCache::fetched`] or [`JwksCache::failed`].
    Fetch,
    /// Nothing usable and no fetch allowed now: fail closed.
    Unavailable,
}

/// One provider's keys in one isolate: the set, when it was fetched, and
/// when a fetch was last tried. Decides when to fetch; the edge fetches.
#[derive(Debug, Clone, Default)]
pub struct JwksCache {
    set: Option<Rc<Jwks>>,
    fetched_ms: u64,
    fresh_until_ms: u64,
    /// The last fetch that completed (success or failure).
    last_attempt_ms: Option<u64>,
    last_failed: bool,
    /// A fetch is under way until then (its timeout): other requests use
    /// the kept set meanwhile instead of fetching too.
    in_flight_until_ms: u64,
}

impl JwksCache {
    pub fn new() -> JwksCache {
        JwksCache::default()
    }

    /// What to do to find the key for (`kid`, `alg`) at `now_ms`. A fresh set
    /// that lacks the key is refetched (a rotation), at most once per
    /// `refresh_ms`: a flood of made-up key ids costs at most one fetch per
    /// interval. A stale set is refetched, with [`JWKS_RETRY_MS`] between
    /// failed attempts.
    pub fn plan(&self, now_ms: u64, kid: Option<&str>, alg: Alg, refresh_ms: u64) -> JwksPlan {
        let since_attempt = self.last_attempt_ms.map(|t| now_ms.saturating_sub(t));
        let in_flight = now_ms < self.in_flight_until_ms;
        let may_fetch = match since_attempt {
            None => true,
            Some(d) if self.last_failed => d >= JWKS_RETRY_MS,
            Some(d) => d >= refresh_ms,
        };
        let Some(set) = &self.set else {
            // Nothing kept (a new isolate): requests that arrive while the
            // first fetch is under way fetch too rather than fail.
            return if may_fetch || in_flight { JwksPlan::Fetch } else { JwksPlan::Unavailable };
        };
        let may_fetch = may_fetch && !in_flight;
        let fresh = now_ms < self.fresh_until_ms;
        if fresh && (set.find(kid, alg).is_some() || !may_fetch) {
            return JwksPlan::Use(set.clone());
        }
        if may_fetch {
            return JwksPlan::Fetch;
        }
        self.stale_if_error(now_ms).map_or(JwksPlan::Unavailable, JwksPlan::Use)
    }

    /// A fetch starts now and gives up after `timeout_ms`.
    pub fn started(&mut self, now_ms: u64, timeout_ms: u64) {
        self.in_flight_until_ms = now_ms.saturating_add(timeout_ms);
    }

    /// A fetched set, kept for `ttl_secs` ([`jwks_ttl_secs`]).
    pub fn fetched(&mut self, now_ms: u64, jwks: Jwks, ttl_secs: u64) -> Rc<Jwks> {
        self.in_flight_until_ms = 0;
        let set = Rc::new(jwks);
        self.set = Some(set.clone());
        self.fetched_ms = now_ms;
        self.fresh_until_ms = now_ms.saturating_add(ttl_secs.saturating_mul(1000));
        self.last_attempt_ms = Some(now_ms);
        self.last_failed = false;
        set
    }

    /// The fetch failed (network, timeout, status, a document refused):
    /// the set to use instead, if a fresh or recently stale one is kept.
    pub fn failed(&mut self, now_ms: u64) -> Option<Rc<Jwks>> {
        self.in_flight_until_ms = 0;
        self.last_attempt_ms = Some(now_ms);
        self.last_failed = true;
        self.stale_if_error(now_ms)
    }

    fn stale_if_error(&self, now_ms: u64) -> Option<Rc<Jwks>> {
        let limit = self.fresh_until_ms.saturating_add(JWKS_STALE_IF_ERROR_SECS.saturating_mul(1000));
        self.set.clone().filter(|_| now_ms < limit)
    }

    /// When the kept set was fetched (ms), if any.
    pub fn fetched_at_ms(&self) -> Option<u64> {
        self.set.as_ref().map(|_| self.fetched_ms)
    }
}

#[cfg(test)]
mod tests;

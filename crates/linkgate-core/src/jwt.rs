//! Identity assertions: JSON Web Tokens in JWS compact form (RFC 7515,
//! RFC 7519), read strictly (`docs/identity.md`, "What is checked").
//!
//! linkgate does not issue JWTs; it reads the ones an identity provider
//! (Cloudflare Access, an OIDC provider) put in front of a request, to learn
//! who is asking. The reader refuses everything a verifier has been tricked
//! with before: `alg: none`, HMAC algorithms (a public key used as an HMAC
//! secret), any algorithm outside the configured allow-list (RS256, ES256),
//! `crit`, keys or key URLs carried in the header (`jwk`, `jku`, `x5u`,
//! `x5c`), JWE, padding or whitespace in base64url, duplicate JSON members,
//! NumericDates that are not whole seconds, and tokens over
//! [`MAX_JWT_BYTES`]. The signature itself is checked outside the core
//! (WebCrypto at the edge, `rsa`/`p256` in the tests): the gate asks with
//! [`crate::gate::Step::VerifyJwt`]. Nothing here ever formats the token:
//! [`Jwt`]'s `Debug` shows the algorithm and key id only.

use core::fmt;

use super::b64;
use super::json::{self, Obj, Value};
use super::verify::TimeRules;

/// Longest assertion read (Cloudflare Access tokens are about 1 KB; an ID
/// token with many group claims a few KB).
pub const MAX_JWT_BYTES: usize = 8192;
/// Longest `kid` accepted, in the token or a JWKS.
pub const MAX_KID_BYTES: usize = 256;

/// A signature algorithm linkgate verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (Cloudflare Access, most OIDC providers).
    Rs256,
    /// ECDSA P-256 with SHA-256, signature as raw `r || s` (64 bytes).
    Es256,
}

impl Alg {
    /// Every algorithm linkgate can verify.
    pub const ALL: [Alg; 2] = [Alg::Rs256, Alg::Es256];

    /// The JOSE name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
        }
    }

    /// Parse a JOSE name (exact, case-sensitive as RFC 7518 has it).
    pub fn parse(s: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// Why an assertion was refused before any key was looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtError {
    /// Longer than [`MAX_JWT_BYTES`].
    TooLong,
    /// Not three dot-separated parts (a JWE has five).
    Shape,
    /// A part is not strict base64url (padding, whitespace, `+`, `/`,
    /// non-zero trailing bits).
    Encoding,
    /// The header is not a JSON object, a member has the wrong type, or it
    /// names JWE members (`enc`, `zip`).
    Header,
    /// The payload is not a JSON object.
    Payload,
    /// `alg: none` (any spelling): an unsigned token.
    AlgNone,
    /// `HS256` and friends: with a public key as the "secret", anyone could sign.
    AlgHmac,
    /// An algorithm linkgate does not verify (PS256, ES384, EdDSA, ...).
    AlgUnknown,
    /// RS256 or ES256, but not on the configured allow-list.
    AlgNotAllowed,
    /// `crit` (or `b64`): extensions linkgate does not implement.
    Critical,
    /// The header carries a key or a key URL (`jwk`, `jku`, `x5u`, `x5c`):
    /// keys come from the configured JWKS only.
    KeyInHeader,
    /// `typ` other than `JWT`.
    Type,
    /// `kid` empty, too long or not a string.
    Kid,
    /// The signature's length cannot be the algorithm's (ES256: 64 bytes;
    /// RS256: the key's modulus length).
    SignatureLength,
    /// A registered claim has the wrong type: `iss` not a string, `aud` not a
    /// string or a non-empty list of strings, `exp`/`nbf`/`iat`/`auth_time`
    /// not whole non-negative seconds.
    Claims,
}

impl JwtError {
    /// Every error, for tests and documentation.
    pub const ALL: [JwtError; 15] = [
        JwtError::TooLong,
        JwtError::Shape,
        JwtError::Encoding,
        JwtError::Header,
        JwtError::Payload,
        JwtError::AlgNone,
        JwtError::AlgHmac,
        JwtError::AlgUnknown,
        JwtError::AlgNotAllowed,
        JwtError::Critical,
        JwtError::KeyInHeader,
        JwtError::Type,
        JwtError::Kid,
        JwtError::SignatureLength,
        JwtError::Claims,
    ];

    /// The stable name (the audit event's `reason`, the vectors).
    pub const fn as_str(self) -> &'static str {
        match self {
            JwtError::TooLong => "jwt_too_long",
            JwtError::Shape => "jwt_shape",
            JwtError::Encoding => "jwt_encoding",
            JwtError::Header => "jwt_header",
            JwtError::Payload => "jwt_payload",
            JwtError::AlgNone => "jwt_alg_none",
            JwtError::AlgHmac => "jwt_alg_hmac",
            JwtError::AlgUnknown => "jwt_alg_unknown",
            JwtError::AlgNotAllowed => "jwt_alg_not_allowed",
            JwtError::Critical => "jwt_crit",
            JwtError::KeyInHeader => "jwt_key_in_header",
            JwtError::Type => "jwt_typ",
            JwtError::Kid => "jwt_kid",
            JwtError::SignatureLength => "jwt_signature_length",
            JwtError::Claims => "jwt_claims",
        }
    }
}

impl fmt::Display for JwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Header members that carry a key or say where to fetch one.
const KEY_MEMBERS: [&str; 4] = ["jwk", "jku", "x5u", "x5c"];

/// The registered claims linkgate reads, typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registered {
    pub iss: Option<String>,
    /// `aud` as a list (a single string is a list of one).
    pub aud: Vec<String>,
    pub exp: Option<u64>,
    pub nbf: Option<u64>,
    pub iat: Option<u64>,
    /// OIDC's time of the actual sign-in.
    pub auth_time: Option<u64>,
}

/// A structurally valid assertion whose signature is not yet checked.
#[derive(Clone)]
pub struct Jwt {
    alg: Alg,
    kid: Option<String>,
    registered: Registered,
    claims: Obj,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`, the signed bytes.
    signing_input: String,
    signature: Vec<u8>,
}

impl fmt::Debug for Jwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the token, its claims or its signature.
        f.debug_struct("Jwt").field("alg", &self.alg).field("kid", &self.kid).finish_non_exhaustive()
    }
}

fn decode_json(part: &str, err: JwtError) -> Result<Obj, JwtError> {
    let bytes = b64::decode(part.as_bytes()).map_err(|_| JwtError::Encoding)?;
    match json::parse_bytes(&bytes) {
        Ok(Value::Obj(o)) => Ok(o),
        _ => Err(err),
    }
}

fn numeric_date(o: &Obj, name: &str) -> Result<Option<u64>, JwtError> {
    match o.get(name) {
        None => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or(JwtError::Claims),
    }
}

fn registered(o: &Obj) -> Result<Registered, JwtError> {
    let iss = match o.get("iss") {
        None => None,
        Some(v) => Some(v.as_str().ok_or(JwtError::Claims)?.to_owned()),
    };
    let aud = match o.get("aud") {
        None => Vec::new(),
        Some(Value::Str(s)) => vec![s.clone()],
        Some(Value::Arr(items)) if !items.is_empty() => {
            items.iter().map(|v| v.as_str().map(str::to_owned).ok_or(JwtError::Claims)).collect::<Result<_, _>>()?
        }
        Some(_) => return Err(JwtError::Claims),
    };
    Ok(Registered {
        iss,
        aud,
        exp: numeric_date(o, "exp")?,
        nbf: numeric_date(o, "nbf")?,
        iat: numeric_date(o, "iat")?,
        auth_time: numeric_date(o, "auth_time")?,
    })
}

/// Check the header; the algorithm it names.
fn header(h: &Obj, allowed: &[Alg]) -> Result<(Alg, Option<String>), JwtError> {
    let alg = h.get("alg").and_then(Value::as_str).ok_or(JwtError::Header)?;
    let alg = match Alg::parse(alg) {
        Some(a) => a,
        None if alg.eq_ignore_ascii_case("none") => return Err(JwtError::AlgNone),
        None if alg.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("hs")) => return Err(JwtError::AlgHmac),
        None => return Err(JwtError::AlgUnknown),
    };
    if !allowed.contains(&alg) {
        return Err(JwtError::AlgNotAllowed);
    }
    if h.get("crit").is_some() || h.get("b64").is_some() {
        return Err(JwtError::Critical);
    }
    if KEY_MEMBERS.iter().any(|m| h.get(m).is_some()) {
        return Err(JwtError::KeyInHeader);
    }
    if h.get("enc").is_some() || h.get("zip").is_some() {
        return Err(JwtError::Header);
    }
    if let Some(t) = h.get("typ") {
        if !t.as_str().is_some_and(|t| t.eq_ignore_ascii_case("JWT")) {
            return Err(JwtError::Type);
        }
    }
    let kid = match h.get("kid") {
        None => None,
        Some(v) => {
            let k = v.as_str().filter(|k| !k.is_empty() && k.len() <= MAX_KID_BYTES).ok_or(JwtError::Kid)?;
            Some(k.to_owned())
        }
    };
    Ok((alg, kid))
}

/// RS256 signatures of the moduli a JWKS may hold (2048 to 4096 bits).
const RSA_SIGNATURE_BYTES: core::ops::RangeInclusive<usize> = 256..=512;

impl Jwt {
    /// Read a JWS compact assertion whose `alg` is on `allowed`.
    pub fn parse(text: &str, allowed: &[Alg]) -> Result<Jwt, JwtError> {
        if text.len() > MAX_JWT_BYTES {
            return Err(JwtError::TooLong);
        }
        let mut parts = text.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(JwtError::Shape);
        };
        let head = decode_json(h, JwtError::Header)?;
        let (alg, kid) = header(&head, allowed)?;
        let claims = decode_json(p, JwtError::Payload)?;
        let signature = b64::decode(s.as_bytes()).map_err(|_| JwtError::Encoding)?;
        let length_ok = match alg {
            Alg::Es256 => signature.len() == 64,
            Alg::Rs256 => RSA_SIGNATURE_BYTES.contains(&signature.len()),
        };
        if !length_ok {
            return Err(JwtError::SignatureLength);
        }
        let registered = registered(&claims)?;
        let signing_input = text.get(..h.len().saturating_add(1).saturating_add(p.len())).unwrap_or("").to_owned();
        Ok(Jwt { alg, kid, registered, claims, signing_input, signature })
    }

    pub fn alg(&self) -> Alg {
        self.alg
    }

    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The bytes the signature covers.
    pub fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    /// The signature (ES256: raw `r || s`, as JWS has it, not DER).
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    pub fn registered(&self) -> &Registered {
        &self.registered
    }

    /// A claim by path (`["custom", "employee_id"]`).
    pub fn claim(&self, path: &[String]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        rest.iter().try_fold(self.claims.get(first)?, |v, k| v.get(k))
    }

    /// A claim's text values: a string is one, a list of strings its items
    /// (anything else: none).
    pub fn claim_texts(&self, path: &[String]) -> Vec<&str> {
        match self.claim(path) {
            Some(Value::Str(s)) => vec![s.as_str()],
            Some(Value::Arr(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// When the person signed in: `auth_time` when the provider says, else `iat`.
    pub fn signed_in_at(&self) -> Option<u64> {
        self.registered.auth_time.or(self.registered.iat)
    }
}

/// Why an authentic assertion (its signature verified) is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimRefusal {
    /// `iss` is not the configured issuer.
    Issuer,
    /// `aud` names none of the configured audiences.
    Audience,
    /// No `exp`, or at or after it (`exp` is exact: skew never extends it).
    Expired,
    /// `nbf`, `iat` or `auth_time` further in the future than the skew.
    NotYetValid,
}

/// The registered-claim checks of an authentic assertion, with linkgate's
/// clock rules: `exp` required and exact; `nbf`, `iat`, `auth_time` may be
/// up to `LINKGATE_CLOCK_SKEW_SECS` in the future.
pub fn check_registered(
    r: &Registered,
    issuer: &str,
    audiences: &[String],
    time: &TimeRules,
    now: u64,
) -> Result<(), ClaimRefusal> {
    if r.iss.as_deref() != Some(issuer) {
        return Err(ClaimRefusal::Issuer);
    }
    if !r.aud.iter().any(|a| audiences.contains(a)) {
        return Err(ClaimRefusal::Audience);
    }
    match r.exp {
        Some(exp) if now < exp => {}
        _ => return Err(ClaimRefusal::Expired),
    }
    let latest = now.saturating_add(time.skew_secs);
    if [r.nbf, r.iat, r.auth_time].into_iter().flatten().any(|t| t > latest) {
        return Err(ClaimRefusal::NotYetValid);
    }
    Ok(())
}

#[cfg(test)]
mod tests;

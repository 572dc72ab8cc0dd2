//! The verifier: one request's facts in, a verified link or a refusal out.
//!
//! Order (the contract's): canonicalize the path, then the token: presence,
//! decoding, key id, tag, time window, maximum lifetime, scope, host, IP,
//! method. Nothing the token claims is believed before its tag verifies.

use std::cell::OnceCell;
use std::net::IpAddr;

use super::code::Code;
use super::ed25519::{
    signature_precheck, signed_message, PublicKey, ED25519_VERSION, PUBLIC_KEY_BYTES, SIGNATURE_BYTES,
};
use super::keys::KeyRing;
use super::path::{canonical_request_path, CanonicalPath};
use super::reason::Reason;
use super::sealed::{inner_claims, Layout, SEALED_VERSION};
use super::token::{decode_raw, tag_matches_in, Claims, ClaimsView, Domain, RawToken, StoredClaims};

/// Default allowed clock skew for `nbf`/`iat` (`LINKGATE_CLOCK_SKEW_SECS`).
pub const DEFAULT_SKEW_SECS: u64 = 30;
/// Default maximum lifetime `exp - iat` (`LINKGATE_MAX_TTL_SECS`): 7 days.
pub const DEFAULT_MAX_TTL_SECS: u64 = 7 * 24 * 3600;

/// Time settings of the verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRules {
    /// How far in the future `nbf`/`iat` may be. Never applied to `exp`.
    pub skew_secs: u64,
    /// Longest accepted `exp - iat`.
    pub max_ttl_secs: u64,
}

impl Default for TimeRules {
    fn default() -> Self {
        TimeRules { skew_secs: DEFAULT_SKEW_SECS, max_ttl_secs: DEFAULT_MAX_TTL_SECS }
    }
}

/// The request method, as far as links care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Other,
}

impl Method {
    /// From the HTTP method text (case-sensitive, as HTTP methods are).
    pub fn parse(s: &str) -> Method {
        match s {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            _ => Method::Other,
        }
    }
}

/// What the verifier needs to know about one request.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// The URL path, still percent-encoded.
    pub raw_path: &'a str,
    /// The `lg` token, if the request has one.
    pub token: Option<&'a str>,
    pub method: Method,
    /// The `Host` header.
    pub host: Option<&'a str>,
    /// The client address (`CF-Connecting-IP`).
    pub client_ip: Option<IpAddr>,
    /// Unix seconds.
    pub now: u64,
}

/// A link whose tag verified and whose every claim holds for this request.
/// Only [`verify`] builds one.
///
/// A link verified from a token keeps its checked payload bytes and builds
/// its owned [`Claims`] and [`CanonicalPath`] on first use, once: a
/// verification is one copy of the bytes, not one allocation per claim
/// (`docs/performance.md`, "Native verification"). Nothing is checked
/// again: the bytes passed every check before this was built.
#[derive(Clone)]
pub struct VerifiedLink {
    body: Body,
    /// The token was sealed (§17): policy may require it.
    sealed: bool,
    /// A Common Access Token, not a linkgate link (`docs/cat.md`).
    cat: bool,
}

#[derive(Clone)]
enum Body {
    /// Claims and path built by the caller (Ed25519 links, CAT, resumes).
    Built(Box<(Claims, CanonicalPath)>),
    /// Kept as checked bytes; built on first use (the claims boxed, so that
    /// a verified link stays small while it is returned).
    Stored { stored: StoredClaims, claims: OnceCell<Box<Claims>>, path: OnceCell<CanonicalPath> },
}

impl VerifiedLink {
    fn built(claims: Claims, path: CanonicalPath, sealed: bool, cat: bool) -> VerifiedLink {
        VerifiedLink { body: Body::Built(Box::new((claims, path))), sealed, cat }
    }

    /// The authenticated claims.
    pub fn claims(&self) -> &Claims {
        match &self.body {
            Body::Built(b) => &b.0,
            Body::Stored { stored, claims, .. } => claims.get_or_init(|| Box::new(stored.to_claims(self.path()))),
        }
    }

    /// The canonical path of the request.
    pub fn path(&self) -> &CanonicalPath {
        match &self.body {
            Body::Built(b) => &b.1,
            Body::Stored { stored, path, .. } => path.get_or_init(|| stored.path()),
        }
    }

    /// A Common Access Token verified by [`crate::cat::verify`].
    pub(crate) fn from_cat(claims: Claims, path: CanonicalPath) -> VerifiedLink {
        VerifiedLink::built(claims, path, false, true)
    }

    /// Was this a Common Access Token?
    pub fn is_cat(&self) -> bool {
        self.cat
    }

    /// Was the link sealed (`docs/link-format.md` §17)?
    pub fn sealed(&self) -> bool {
        self.sealed
    }

    /// Seconds until `exp` (at least 1: a verified link has not expired).
    pub fn seconds_left(&self, now: u64) -> u64 {
        let exp = match &self.body {
            Body::Built(b) => b.0.exp,
            Body::Stored { stored, .. } => stored.exp(),
        };
        exp.saturating_sub(now).max(1)
    }
}

impl PartialEq for VerifiedLink {
    fn eq(&self, other: &Self) -> bool {
        self.claims() == other.claims()
            && self.path() == other.path()
            && self.sealed == other.sealed
            && self.cat == other.cat
    }
}

impl Eq for VerifiedLink {}

impl core::fmt::Debug for VerifiedLink {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VerifiedLink")
            .field("claims", self.claims())
            .field("path", self.path())
            .field("sealed", &self.sealed)
            .field("cat", &self.cat)
            .finish()
    }
}

/// Why a request was refused, with what is safe to know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The contract code (and so the status).
    pub code: Code,
    /// The finer cause (audit `reason`, `inspect`).
    pub reason: Reason,
    /// The canonical path, when canonicalization succeeded.
    pub path: Option<CanonicalPath>,
    /// The claims, only when the tag verified (authentic but refused for
    /// time, scope, host, IP or method); audit events use them.
    pub claims: Option<Box<Claims>>,
    /// The token was sealed and opened (meaningful only with `claims`).
    pub sealed: bool,
}

impl Refusal {
    fn new(reason: Reason) -> Refusal {
        Refusal { code: code_of(reason), reason, path: None, claims: None, sealed: false }
    }
}

/// The code of a refusal reason (every reason the verifier produces has one).
fn code_of(reason: Reason) -> Code {
    reason.code().unwrap_or(Code::PolicyDenied)
}

/// Check the time window of authentic claims.
pub fn check_time(claims: &Claims, now: u64, rules: &TimeRules) -> Result<(), Reason> {
    check_times(claims.iat, claims.nbf, claims.exp, now, rules)
}

/// [`check_time`] on the three times (owned claims and checked views alike).
fn check_times(iat: u64, nbf: Option<u64>, exp: u64, now: u64, rules: &TimeRules) -> Result<(), Reason> {
    let horizon = now.saturating_add(rules.skew_secs);
    if iat > horizon {
        return Err(Reason::IssuedInFuture);
    }
    if let Some(nbf) = nbf {
        if nbf > horizon {
            return Err(Reason::BeforeNbf);
        }
    }
    // exp is exact: valid while now < exp; skew never extends it.
    if now >= exp {
        return Err(Reason::AfterExp);
    }
    if exp.saturating_sub(iat) > rules.max_ttl_secs {
        return Err(Reason::LifetimeOverMaximum);
    }
    Ok(())
}

/// Check the request-bound claims: scope, host, IP, method.
pub fn check_binding(claims: &Claims, path: &CanonicalPath, facts: &RequestFacts<'_>) -> Result<(), Reason> {
    if !claims.scope.covers(path) {
        return Err(Reason::OutsideScope);
    }
    check_host(claims, facts.host)?;
    check_ip(claims, facts.client_ip)?;
    check_method(claims, facts.method)
}

/// [`check_time`] then [`check_binding`] on the checked claims of an
/// authentic token, before any owned value is built (the same rules through
/// the same helpers; the verify tests run both through every refusal).
fn check_view(view: &ClaimsView<'_>, path: &str, rules: &TimeRules, facts: &RequestFacts<'_>) -> Result<(), Reason> {
    check_times(view.iat, view.nbf, view.exp, facts.now, rules)?;
    if !crate::path::scope_covers(view.scope, path) {
        return Err(Reason::OutsideScope);
    }
    match view.host {
        // The usual request names the claim exactly (as in `host::matches`).
        Some(h) if facts.host.is_some_and(|req| req.as_bytes() == h) => {}
        // Checked ASCII: the conversion never fails (and would refuse if it did).
        h => host_ok(h.map(|h| core::str::from_utf8(h).map_err(|_| Reason::OtherHost)).transpose()?, facts.host)?,
    }
    ip_ok(view.ip.is_empty(), Cidrs(view.ip), facts.client_ip)?;
    method_ok(view.uses.is_some(), facts.method)
}

/// The CIDRs of a checked `ip` claim's wire form.
struct Cidrs<'a>(&'a [u8]);

impl Iterator for Cidrs<'_> {
    type Item = crate::ip::Cidr;
    fn next(&mut self) -> Option<crate::ip::Cidr> {
        let (c, rest) = crate::ip::Cidr::decode_from(self.0)?;
        self.0 = rest;
        Some(c)
    }
}

/// §9 step 11: a link bound to a host needs a `Host` that names it.
pub fn check_host(claims: &Claims, host: Option<&str>) -> Result<(), Reason> {
    host_ok(claims.host.as_ref().map(|h| h.as_str()), host)
}

fn host_ok(claim: Option<&str>, host: Option<&str>) -> Result<(), Reason> {
    match claim {
        Some(h) if !host.is_some_and(|req| crate::host::matches(h, req)) => Err(Reason::OtherHost),
        _ => Ok(()),
    }
}

/// §9 step 12: a link bound to ranges needs a client address inside one.
pub fn check_ip(claims: &Claims, client_ip: Option<IpAddr>) -> Result<(), Reason> {
    ip_ok(claims.ip.is_empty(), claims.ip.iter().copied(), client_ip)
}

fn ip_ok(
    any: bool,
    mut ranges: impl Iterator<Item = crate::ip::Cidr>,
    client_ip: Option<IpAddr>,
) -> Result<(), Reason> {
    if any || client_ip.is_some_and(|ip| ranges.any(|c| c.contains(ip))) {
        Ok(())
    } else {
        Err(Reason::OutsideIpRanges)
    }
}

/// §9 step 13: GET and HEAD; POST only on a bounded-use link.
pub fn check_method(claims: &Claims, method: Method) -> Result<(), Reason> {
    method_ok(claims.uses.is_some(), method)
}

fn method_ok(bounded_use: bool, method: Method) -> Result<(), Reason> {
    match method {
        Method::Get | Method::Head => Ok(()),
        // POST consumes a use of a bounded-use link (landing page button).
        Method::Post if bounded_use => Ok(()),
        Method::Post | Method::Put | Method::Delete | Method::Other => Err(Reason::Method),
    }
}

/// Verify one request carrying a link. See the module documentation for the order.
pub fn verify(keys: &KeyRing, rules: &TimeRules, facts: &RequestFacts<'_>) -> Result<VerifiedLink, Refusal> {
    verify_in(keys, rules, facts, Domain::Link)
}

/// Verify one request carrying a token of `domain` (link or download session).
/// An Ed25519 link's signature is checked natively with `ed25519-dalek`
/// (`docs/link-format.md` §18); in wasm, where the core carries no curve
/// code, callers use [`verify_start`] and answer [`SignatureCheck`] (the
/// Worker asks WebCrypto), and this function refuses such a link
/// `signature_invalid`.
pub fn verify_in(
    keys: &KeyRing,
    rules: &TimeRules,
    facts: &RequestFacts<'_>,
    domain: Domain,
) -> Result<VerifiedLink, Refusal> {
    match verify_start(keys, rules, facts, domain) {
        Verification::Done(r) => r,
        Verification::Signature(check) => {
            #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
            let valid = check.verify_natively();
            #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
            let valid = false;
            check.answer(valid, rules, facts)
        }
    }
}

/// The verifier's answer, or the one question it cannot answer itself.
// The decided variant is every request's path: boxing it would allocate per
// request; the rare question is the boxed one.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Verification {
    /// Decided.
    Done(Result<VerifiedLink, Refusal>),
    /// An Ed25519 link passed every check before its signature (§18.4 steps
    /// 1–4): does the signature verify? Answer with [`SignatureCheck::answer`].
    Signature(Box<SignatureCheck>),
}

/// An Ed25519 signature to check: the public key, the exact message and the
/// signature. Nothing in it is believed until the answer is `true`.
#[derive(Debug)]
pub struct SignatureCheck {
    key: PublicKey,
    message: Vec<u8>,
    signature: [u8; SIGNATURE_BYTES],
    /// Built from the payload, **not authentic** until the signature verifies;
    /// never leaves this struct otherwise.
    claims: Claims,
    path: CanonicalPath,
}

impl SignatureCheck {
    /// The 32-byte public key (WebCrypto: `importKey("raw", …, "Ed25519")`).
    pub fn public_key(&self) -> &[u8; PUBLIC_KEY_BYTES] {
        self.key.bytes()
    }

    /// The signed message: `"linkgate-link-ed25519-v1\0" || payload`.
    pub fn message(&self) -> &[u8] {
        &self.message
    }

    /// The 64-byte signature (`R || S`; `S` canonical and `R` acceptable, checked).
    pub fn signature(&self) -> &[u8; SIGNATURE_BYTES] {
        &self.signature
    }

    /// The key id (audit, logs).
    pub fn kid(&self) -> &str {
        self.key.kid().as_str()
    }

    /// Verify with `ed25519-dalek` (native callers).
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    pub fn verify_natively(&self) -> bool {
        crate::ed25519::native::verify_with(&self.key, &self.message, &self.signature)
    }

    /// Go on with the answer: `valid` is whether the signature verified
    /// (a failed or impossible check is `false`: fail closed). Then the key's
    /// constraints (§18.4 step 5a), then §9 steps 6–13 as for v1.
    pub fn answer(self, valid: bool, rules: &TimeRules, facts: &RequestFacts<'_>) -> Result<VerifiedLink, Refusal> {
        let SignatureCheck { key, claims, path, .. } = self;
        let unauthenticated = |reason: Reason| Refusal {
            code: code_of(reason),
            reason,
            path: Some(path.clone()),
            claims: None,
            sealed: false,
        };
        if !valid {
            return Err(unauthenticated(Reason::BadTag));
        }
        // Authentic, but the key may not sign for this tenant or folder: as
        // if no key for this link were known (its claims are not believed).
        if !key.constraints().permit(&claims) {
            return Err(unauthenticated(Reason::KeyConstraint));
        }
        finish(claims, path, false, rules, facts)
    }
}

/// The authentic part of verification (§9 steps 6–13).
fn finish(
    claims: Claims,
    path: CanonicalPath,
    sealed: bool,
    rules: &TimeRules,
    facts: &RequestFacts<'_>,
) -> Result<VerifiedLink, Refusal> {
    let refuse = |reason: Reason, claims: &Claims| Refusal {
        code: code_of(reason),
        reason,
        path: Some(path.clone()),
        claims: Some(Box::new(claims.clone())),
        sealed,
    };
    check_time(&claims, facts.now, rules).map_err(|r| refuse(r, &claims))?;
    check_binding(&claims, &path, facts).map_err(|r| refuse(r, &claims))?;
    Ok(VerifiedLink::built(claims, path, sealed, false))
}

/// Verify as far as the core can alone: everything for v1 and sealed
/// tokens; for an Ed25519 link everything up to the signature equation.
pub fn verify_start(keys: &KeyRing, rules: &TimeRules, facts: &RequestFacts<'_>, domain: Domain) -> Verification {
    // Borrowed while the token is checked: a request that fails before the
    // tag allocates only for its refusal.
    let path = match canonical_request_path(facts.raw_path) {
        Ok(p) => p,
        Err(e) => return Verification::Done(Err(Refusal::new(Reason::Path(e)))),
    };
    let with_path = |reason: Reason| Refusal {
        code: code_of(reason),
        reason,
        path: Some(CanonicalPath::from_checked(&path)),
        claims: None,
        sealed: false,
    };
    let refused = |reason: Reason| Verification::Done(Err(with_path(reason)));

    let text = match facts.token {
        Some(t) if !t.is_empty() => t,
        _ => return refused(Reason::NoToken),
    };
    // Typical tokens are a few hundred bytes: zeroing a stack buffer for the
    // longest one would cost more than decoding.
    let (mut small, mut large) = ([0u8; 512], Vec::new());
    let raw = match decode_raw(text, &mut small, &mut large) {
        Ok(r) => r,
        Err(e) => return refused(Reason::Token(e)),
    };
    // The first byte tells a sealed or Ed25519 token from a v1 one before
    // anything else is read (`docs/link-format.md` §17.1, §18.1).
    let sealed = raw.first() == Some(&SEALED_VERSION);
    // Ed25519 links are links only: download sessions are the edge's own
    // HMAC tokens (§18.5).
    if raw.first() == Some(&ED25519_VERSION) && domain == Domain::Link {
        return ed25519_start(keys, raw, &path).unwrap_or_else(refused);
    }
    let checked = if sealed {
        // §17.4: header and lengths, key, then the AEAD, opened in place in
        // the same buffer (a forged sealed token allocates nothing either).
        Layout::parse(raw).map_err(Reason::Token).and_then(|layout| {
            let key = keys.get_bytes(layout.kid(raw)).ok_or(Reason::UnknownKid)?;
            let payload = layout.open(raw, key, domain).ok_or(Reason::BadTag)?;
            // The key was found by the header's kid, so its id is that kid.
            let view = inner_claims(payload, key.kid().as_str().as_bytes(), Some(&path)).map_err(Reason::Token)?;
            Ok((view, payload, key))
        })
    } else {
        RawToken::split(raw, Some(&path)).map_err(Reason::Token).and_then(|token| {
            let key = keys.get_bytes(token.claims.kid).ok_or(Reason::UnknownKid)?;
            if !tag_matches_in(key, domain, token.payload, token.tag) {
                return Err(Reason::BadTag);
            }
            Ok((token.claims, token.payload, key))
        })
    };
    let (view, payload, key) = match checked {
        Ok(v) => v,
        Err(reason) => return refused(reason),
    };
    // Authentic from here on: §9 steps 6-13 on the checked view; a verified
    // link keeps the bytes, a refusal gets the owned claims for its audit.
    match check_view(&view, &path, rules, facts) {
        Ok(()) => Verification::Done(Ok(VerifiedLink {
            body: Body::Stored {
                stored: StoredClaims::new(&view, payload, &path),
                claims: OnceCell::new(),
                path: OnceCell::new(),
            },
            sealed,
            cat: false,
        })),
        Err(reason) => {
            let path = CanonicalPath::from_checked(&path);
            let claims = view.to_claims_sharing(Some(key.kid()), Some(&path));
            Verification::Done(Err(Refusal {
                code: code_of(reason),
                reason,
                path: Some(path),
                claims: Some(Box::new(claims)),
                sealed,
            }))
        }
    }
}

/// §18.4 steps 3–4: layout, v1 payload, key lookup, signature prechecks.
/// Every refusal here is decided without curve arithmetic and, up to the
/// key lookup, without allocation.
fn ed25519_start(keys: &KeyRing, raw: &[u8], path: &str) -> Result<Verification, Reason> {
    let (payload, signature) = crate::ed25519::split(raw).map_err(Reason::Token)?;
    let view = ClaimsView::parse(payload, Some(path)).map_err(Reason::Token)?;
    let key = keys.public().get_bytes(view.kid).ok_or(Reason::UnknownKid)?;
    if !signature_precheck(signature) {
        return Err(Reason::BadTag);
    }
    let path = CanonicalPath::from_checked(path);
    let claims = view.to_claims_sharing(Some(key.kid()), Some(&path));
    Ok(Verification::Signature(Box::new(SignatureCheck {
        key: key.clone(),
        message: signed_message(payload),
        signature: *signature,
        claims,
        path,
    })))
}

/// An expired link that may still continue a download started before `exp`
/// (`LINKGATE_RESUME_GRACE_SECS`). Only [`resume_candidate`] builds one, and
/// only the edge can turn it into a [`VerifiedLink`], after its store confirms
/// that this client started this download before `exp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeCandidate {
    link: VerifiedLink,
}

impl ResumeCandidate {
    /// The link's claims, to look the download start up.
    pub fn claims(&self) -> &Claims {
        self.link.claims()
    }

    /// The canonical path.
    pub fn path(&self) -> &CanonicalPath {
        self.link.path()
    }

    /// The store confirmed a start by this client before `exp`.
    pub fn confirm(self) -> VerifiedLink {
        self.link
    }
}

/// After `verify` refused with `expired`: may this request be a resume? Only
/// a continuation (`continuation`: a single Range starting after byte 0, see
/// [`crate::http::continuation_start`]), within `resume_grace_secs`
/// after `exp`, of an authentic link whose every other check (lifetime,
/// scope, host, IP, method) holds.
pub fn resume_candidate(
    refusal: &Refusal,
    facts: &RequestFacts<'_>,
    rules: &TimeRules,
    resume_grace_secs: u64,
    continuation: bool,
) -> Option<ResumeCandidate> {
    if refusal.reason != Reason::AfterExp || resume_grace_secs == 0 || !continuation {
        return None;
    }
    let claims = refusal.claims.as_deref()?;
    let path = refusal.path.as_ref()?;
    if facts.now >= claims.exp.saturating_add(resume_grace_secs) {
        return None;
    }
    if claims.exp.saturating_sub(claims.iat) > rules.max_ttl_secs || !matches!(facts.method, Method::Get | Method::Head)
    {
        return None;
    }
    check_binding(claims, path, facts).ok()?;
    Some(ResumeCandidate { link: VerifiedLink::built(claims.clone(), path.clone(), refusal.sealed, false) })
}

/// The token a request's query carries (`docs/link-format.md` §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryToken<'a> {
    /// No `lg` and no `lgs` piece.
    Absent,
    /// Exactly one `lg` piece: its value, verbatim (empty for `lg=` and a
    /// bare `lg`, which the verifier answers with `token_missing`).
    Link(&'a str),
    /// Exactly one `lgs` piece and no `lg`: a download session (`docs/edge.md`).
    Session(&'a str),
    /// Exactly one `lgm` piece and no other token: a media session, as a
    /// rewritten manifest hands it out (`docs/edge.md`, "Media sessions").
    Media(&'a str),
}

/// Find the token in a raw query string (without `?` and `#`): split on
/// `&`, each piece at its first `=` (no `=`: an empty value), names compared
/// byte for byte, nothing percent-decoded. Two `lg` (or two `lgs`) pieces,
/// or `lg` beside `lgs`, are ambiguous: refused, never resolved by picking one.
pub fn query_token(query: &str) -> Result<QueryToken<'_>, Reason> {
    let (mut lg, mut lgs, mut lgm) = (None, None, None);
    let mut duplicate = false;
    for piece in query.split('&') {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        let slot = match name {
            "lg" => &mut lg,
            "lgs" => &mut lgs,
            "lgm" => &mut lgm,
            _ => continue,
        };
        duplicate |= slot.is_some();
        *slot = Some(value);
    }
    match (lg, lgs, lgm) {
        _ if duplicate => Err(Reason::DuplicateToken),
        (Some(t), None, None) => Ok(QueryToken::Link(t)),
        (None, Some(t), None) => Ok(QueryToken::Session(t)),
        (None, None, Some(t)) => Ok(QueryToken::Media(t)),
        (None, None, None) => Ok(QueryToken::Absent),
        _ => Err(Reason::TwoTokens),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b64;
    use crate::ip::Cidr;
    use crate::keys::KeyId;
    use crate::path::Scope;
    use crate::token::{HostName, Jti};
    use core::num::NonZeroU32;

    const T0: u64 = 1_800_000_000;

    fn ring() -> KeyRing {
        KeyRing::parse(&format!("new:{},old:{}", b64::encode(&[1u8; 32]), b64::encode(&[2u8; 32]))).unwrap()
    }

    fn claims(scope: &str) -> Claims {
        Claims::new(KeyId::parse("new").unwrap(), Jti([9; 16]), T0, T0 + 3600, Scope::parse(scope).unwrap())
    }

    fn facts<'a>(path: &'a str, token: Option<&'a str>, now: u64) -> RequestFacts<'a> {
        RequestFacts {
            raw_path: path,
            token,
            method: Method::Get,
            host: Some("files.example.com"),
            client_ip: None,
            now,
        }
    }

    fn code_of(r: Result<VerifiedLink, Refusal>) -> Result<(), Code> {
        r.map(|_| ()).map_err(|e| e.code)
    }

    #[test]
    fn valid_link_verifies_with_either_key() {
        let ring = ring();
        let t = claims("/a/b.pdf").sign(ring.signing_key()).unwrap();
        let v = verify(&ring, &TimeRules::default(), &facts("/a/b.pdf", Some(&t), T0 + 1)).unwrap();
        assert_eq!(v.path().as_str(), "/a/b.pdf");
        assert_eq!(v.seconds_left(T0 + 1), 3599);
        let old = ring.get("old").unwrap();
        let t = claims("/a/b.pdf").sign(old).unwrap();
        assert!(verify(&ring, &TimeRules::default(), &facts("/a/b.pdf", Some(&t), T0 + 1)).is_ok());
    }

    #[test]
    fn verified_links_read_back_the_signed_claims() {
        let ring = ring();
        let mut full = claims("/a/");
        full.nbf = Some(T0 - 5);
        full.host = Some(HostName::parse("files.example.com:8443").unwrap());
        full.sub = Some(crate::token::Label::parse(crate::token::Field::Sub, &"s".repeat(40)).unwrap());
        full.tenant = Some(crate::token::Label::parse(crate::token::Field::Tenant, "acme").unwrap());
        full.ip = vec![Cidr::parse("192.0.2.0/24").unwrap(), Cidr::parse("2001:db8::/32").unwrap()];
        full.uses = NonZeroU32::new(3);
        full.mode = Some(crate::token::Mode::Redirect);
        full.filename = Some(crate::token::FileName::parse("Q3 – ledger.csv").unwrap());
        full.content_type = Some(crate::token::ContentType::parse("text/csv; charset=utf-8").unwrap());
        let mut object = claims("/a/%C3%A9.csv");
        object.scope = Scope::parse("/a/é.csv").unwrap();
        for (c, raw_path, path) in [(full, "/a/b/c.txt", "/a/b/c.txt"), (object, "/a/%C3%A9.csv", "/a/é.csv")] {
            let f = RequestFacts {
                raw_path,
                token: None,
                method: Method::Get,
                host: Some("files.example.com:8443"),
                client_ip: Some("192.0.2.7".parse().unwrap()),
                now: T0 + 1,
            };
            for (token, sealed) in
                [(c.sign(ring.signing_key()).unwrap(), false), (c.seal(ring.signing_key(), &[5; 24]).unwrap(), true)]
            {
                let v = verify(&ring, &TimeRules::default(), &RequestFacts { token: Some(&token), ..f }).unwrap();
                assert_eq!(v.seconds_left(T0 + 1), 3599);
                let copy = v.clone();
                assert_eq!(v.path().as_str(), path);
                assert_eq!(v.claims(), &c);
                assert_eq!(copy.claims(), &c, "a clone made before the first read reads the same");
                assert_eq!(v, copy);
                assert_eq!(v.sealed(), sealed);
                assert!(format!("{v:?}").contains("acme") || c.tenant.is_none());
            }
        }
    }

    #[test]
    fn exact_time_boundaries() {
        let ring = ring();
        let rules = TimeRules { skew_secs: 30, max_ttl_secs: DEFAULT_MAX_TTL_SECS };
        let t = claims("/f").sign(ring.signing_key()).unwrap();
        let at = |now| code_of(verify(&ring, &rules, &facts("/f", Some(&t), now)));
        assert_eq!(at(T0 + 3599), Ok(()), "exp-1");
        assert_eq!(at(T0 + 3600), Err(Code::Expired), "exp");
        assert_eq!(at(T0 + 3601), Err(Code::Expired), "exp+1");
        assert_eq!(at(u64::MAX), Err(Code::Expired));
        // iat in the future: allowed up to the skew.
        assert_eq!(at(T0 - 30), Ok(()), "iat - skew");
        assert_eq!(at(T0 - 31), Err(Code::NotYetValid), "iat - skew - 1");

        let mut c = claims("/f");
        c.nbf = Some(T0 + 600);
        let t = c.sign(ring.signing_key()).unwrap();
        let at = |rules: &TimeRules, now| code_of(verify(&ring, rules, &facts("/f", Some(&t), now)));
        let no_skew = TimeRules { skew_secs: 0, ..rules };
        assert_eq!(at(&no_skew, T0 + 599), Err(Code::NotYetValid), "nbf-1 without skew");
        assert_eq!(at(&no_skew, T0 + 600), Ok(()), "nbf without skew");
        assert_eq!(at(&rules, T0 + 569), Err(Code::NotYetValid), "nbf-skew-1");
        assert_eq!(at(&rules, T0 + 570), Ok(()), "nbf-skew");
        // Skew never extends exp.
        let big_skew = TimeRules { skew_secs: 10_000, ..rules };
        assert_eq!(at(&big_skew, T0 + 3600), Err(Code::Expired));
    }

    #[test]
    fn maximum_lifetime_is_enforced() {
        let ring = ring();
        let mut c = claims("/f");
        c.exp = T0 + 7 * 86400;
        let t = c.sign(ring.signing_key()).unwrap();
        let ok = TimeRules::default();
        assert_eq!(code_of(verify(&ring, &ok, &facts("/f", Some(&t), T0))), Ok(()));
        let short = TimeRules { max_ttl_secs: 7 * 86400 - 1, ..ok };
        assert_eq!(code_of(verify(&ring, &short, &facts("/f", Some(&t), T0))), Err(Code::PolicyDenied));
    }

    #[test]
    fn refusals_in_contract_order() {
        let ring = ring();
        let rules = TimeRules::default();
        let t = claims("/a/").sign(ring.signing_key()).unwrap();
        // Path first, even without a token.
        assert_eq!(code_of(verify(&ring, &rules, &facts("/a/../b", None, T0))), Err(Code::PathInvalid));
        assert_eq!(code_of(verify(&ring, &rules, &facts("/a/b", None, T0))), Err(Code::TokenMissing));
        assert_eq!(code_of(verify(&ring, &rules, &facts("/a/b", Some(""), T0))), Err(Code::TokenMissing));
        assert_eq!(code_of(verify(&ring, &rules, &facts("/a/b", Some("!!"), T0))), Err(Code::TokenMalformed));
        let other = KeyRing::parse(&format!("zzz:{}", b64::encode(&[3u8; 32]))).unwrap();
        let foreign = claims("/a/").sign(other.signing_key()).unwrap();
        assert_eq!(code_of(verify(&ring, &rules, &facts("/a/b", Some(&foreign), T0))), Err(Code::KeyUnknown));
        let forged = KeyRing::parse(&format!("new:{}", b64::encode(&[4u8; 32]))).unwrap();
        let forged = claims("/a/").sign(forged.signing_key()).unwrap();
        let r = verify(&ring, &rules, &facts("/a/b", Some(&forged), T0)).unwrap_err();
        assert_eq!(r.code, Code::SignatureInvalid);
        assert!(r.claims.is_none(), "unauthenticated claims must not leak into refusals");
        assert_eq!(code_of(verify(&ring, &rules, &facts("/ab", Some(&t), T0))), Err(Code::ScopeMismatch));
        let r = verify(&ring, &rules, &facts("/a/b", Some(&t), T0 + 3600)).unwrap_err();
        assert_eq!(r.code, Code::Expired);
        assert!(r.claims.is_some(), "authentic claims are kept for the audit");
    }

    #[test]
    fn host_ip_and_method_bindings() {
        let ring = ring();
        let rules = TimeRules::default();
        let mut c = claims("/f");
        c.host = Some(HostName::parse("files.example.com").unwrap());
        c.ip = vec![Cidr::parse("192.0.2.0/24").unwrap(), Cidr::parse("2001:db8::/32").unwrap()];
        let t = c.sign(ring.signing_key()).unwrap();
        let run = |host: Option<&str>, ip: Option<&str>, m: Method| {
            let f = RequestFacts {
                raw_path: "/f",
                token: Some(&t),
                method: m,
                host,
                client_ip: ip.map(|s| s.parse().unwrap()),
                now: T0,
            };
            code_of(verify(&ring, &rules, &f))
        };
        let h = Some("files.example.com");
        assert_eq!(run(h, Some("192.0.2.1"), Method::Get), Ok(()));
        assert_eq!(run(h, Some("::ffff:192.0.2.1"), Method::Head), Ok(()));
        assert_eq!(run(h, Some("2001:db8::7"), Method::Get), Ok(()));
        assert_eq!(run(Some("other.example.com"), Some("192.0.2.1"), Method::Get), Err(Code::HostMismatch));
        assert_eq!(run(None, Some("192.0.2.1"), Method::Get), Err(Code::HostMismatch));
        assert_eq!(run(h, Some("198.51.100.1"), Method::Get), Err(Code::IpMismatch));
        assert_eq!(run(h, None, Method::Get), Err(Code::IpMismatch));
        assert_eq!(run(h, Some("192.0.2.1"), Method::Post), Err(Code::MethodNotAllowed));
        assert_eq!(run(h, Some("192.0.2.1"), Method::Other), Err(Code::MethodNotAllowed));

        let mut c = claims("/f");
        c.uses = NonZeroU32::new(1);
        let t = c.sign(ring.signing_key()).unwrap();
        let mut f = facts("/f", Some(&t), T0);
        f.method = Method::Post;
        assert!(verify(&ring, &rules, &f).is_ok(), "POST is allowed on bounded-use links");
        f.method = Method::Other;
        assert_eq!(code_of(verify(&ring, &rules, &f)), Err(Code::MethodNotAllowed));
    }

    #[test]
    fn resume_candidates_only_for_ranges_within_the_grace() {
        let ring = ring();
        let rules = TimeRules::default();
        let t = claims("/f").sign(ring.signing_key()).unwrap();
        let at = |now: u64| {
            let f = facts("/f", Some(&t), now);
            let r = verify(&ring, &rules, &f).unwrap_err();
            (r.clone(), f)
        };
        let (r, f) = at(T0 + 3600);
        assert!(resume_candidate(&r, &f, &rules, 60, true).is_some(), "at exp");
        assert!(resume_candidate(&r, &f, &rules, 60, false).is_none(), "not a range");
        assert!(resume_candidate(&r, &f, &rules, 0, true).is_none(), "feature off");
        let (r, f) = at(T0 + 3659);
        assert!(resume_candidate(&r, &f, &rules, 60, true).is_some(), "exp + grace - 1");
        let (r, f) = at(T0 + 3660);
        assert!(resume_candidate(&r, &f, &rules, 60, true).is_none(), "exp + grace");
        // Another refusal is never a resume.
        let f = facts("/g", Some(&t), T0 + 10);
        let r = verify(&ring, &rules, &f).unwrap_err();
        assert!(resume_candidate(&r, &f, &rules, 60, true).is_none());
        // Other bindings still hold after exp.
        let f = facts("/g", Some(&t), T0 + 3601);
        let r = verify(&ring, &rules, &f).unwrap_err();
        assert_eq!(r.code, Code::Expired);
        assert!(resume_candidate(&r, &f, &rules, 60, true).is_none(), "scope still checked");
    }

    #[test]
    fn long_tokens_verify_past_the_stack_buffer() {
        // A scope near the path limit makes a token of well over 512 bytes.
        let ring = ring();
        let path = format!("/{}", "a".repeat(1000));
        let t = claims(&path).sign(ring.signing_key()).unwrap();
        assert!(t.len() > 1400);
        let v = verify(&ring, &TimeRules::default(), &facts(&path, Some(&t), T0)).unwrap();
        assert_eq!(v.path().as_str(), path);
        let mut forged = t.clone();
        // Flip a character inside the tag: still well-formed, no longer authentic.
        let i = t.len() - 10;
        forged.replace_range(i..=i, if &t[i..=i] == "A" { "B" } else { "A" });
        assert_eq!(
            code_of(verify(&ring, &TimeRules::default(), &facts(&path, Some(&forged), T0))),
            Err(Code::SignatureInvalid)
        );
    }

    #[test]
    fn query_token_extraction() {
        use QueryToken::{Absent, Link, Session};
        assert_eq!(query_token(""), Ok(Absent));
        assert_eq!(query_token("a=1"), Ok(Absent));
        assert_eq!(query_token("lg=abc"), Ok(Link("abc")));
        assert_eq!(query_token("x=1&lg=abc&y"), Ok(Link("abc")));
        assert_eq!(query_token("&&lg=abc&"), Ok(Link("abc")));
        assert_eq!(query_token("lg"), Ok(Link("")));
        assert_eq!(query_token("lg="), Ok(Link("")));
        assert_eq!(query_token("lg==a"), Ok(Link("=a")), "split at the first =");
        assert_eq!(query_token("lg=a%41"), Ok(Link("a%41")), "values are verbatim");
        assert_eq!(query_token("%6Cg=abc"), Ok(Absent), "names are not decoded");
        assert_eq!(query_token("LG=abc"), Ok(Absent));
        assert_eq!(query_token("lgx=abc"), Ok(Absent));
        assert_eq!(query_token("lgs=abc"), Ok(Session("abc")));
        assert_eq!(query_token("lg=a&lg=b"), Err(Reason::DuplicateToken));
        assert_eq!(query_token("lg=&lg="), Err(Reason::DuplicateToken));
        assert_eq!(query_token("lg&lg"), Err(Reason::DuplicateToken));
        assert_eq!(query_token("lgs=a&lgs=a"), Err(Reason::DuplicateToken));
        assert_eq!(query_token("lg=a&lg=a&lgs=b"), Err(Reason::DuplicateToken));
        assert_eq!(query_token("lg=a&lgs=b"), Err(Reason::TwoTokens));
        assert_eq!(query_token("lgs&lg"), Err(Reason::TwoTokens));
        assert_eq!(query_token("a=1&lgm=m"), Ok(QueryToken::Media("m")));
        assert_eq!(query_token("lgm=m&lgm=m"), Err(Reason::DuplicateToken));
        assert_eq!(query_token("lg=a&lgm=m"), Err(Reason::TwoTokens));
        assert_eq!(query_token("lgs=a&lgm=m"), Err(Reason::TwoTokens));
    }
}

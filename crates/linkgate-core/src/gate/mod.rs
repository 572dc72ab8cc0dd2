//! The gate: every decision about one download request, without I/O.
//!
//! The edge hands [`start`] the request's facts and gets a [`Step`]: either
//! an I/O the gate needs answered (read the form body, the client's country
//! once a tag verified, the denylist, the object's metadata, the usage
//! counter; consume a use; deliver; give a use back) or [`Step::Done`] with the reply and the audit event. Each step is
//! its own type that only accepts its answer, so the edge cannot skip a
//! check or answer out of order; it loops until `Done`.
//!
//! Order (the contract's): canonicalize → verify (→ country) → denylist → object and
//! policy → usage → deliver → audit. Everything that can refuse is decided
//! before a use is consumed or a download session minted; a use consumed for
//! a download that then fails before its first byte is given back.

mod plan;

#[cfg(test)]
mod tests;

use std::net::IpAddr;

pub use plan::{Delivery, EdgeCacheCopy, ObjectBody, ObjectMeta};

use super::audit::{AuditEvent, Outcome};
use super::cat::{find_token, Carriers, CatRequest};
use super::code::Code;
use super::config::EdgeConfig;
use super::http::continuation_start;
use super::identity::{IdentityConfig, IdentityRefusal, IdentityRule};
use super::jwks::{Jwk, Jwks};
use super::jwt::{Alg, Jwt};
use super::keys::KeyRing;
use super::media::{cookie_token, cors_headers, set_cookie, ManifestKind, ManifestRewrite};
use super::origin::{OriginFailure, OriginRequest};
use super::path::{encode_path, CanonicalPath, Scope};
use super::policy::{evaluate, CacheMode, Decision, MediaMode, RevocationMode};
use super::problem::{self, refresh_url};
use super::reason::Reason;
use super::revocation::{find_revocation, lookup_keys};
use super::sealed::{synthetic_nonce, AnyToken};
use super::token::{Claims, Domain, Jti, Mode};
use super::usage::{
    client_fingerprint, consume, find_start, form_field, landing_page, refusal_page, rfc3339, wants_html,
    ConsumeOutcome, ConsumeRequest, Landing, RefusalPage, Start, UsageState,
};
use super::verify::{
    query_token, resume_candidate, verify_start, Method, QueryToken, Refusal, RequestFacts, ResumeCandidate,
    SignatureCheck, Verification, VerifiedLink,
};

/// Largest form body read for a token (the landing page's Download button).
pub const MAX_FORM_BYTES: u64 = 8192;

/// What the edge knows about a request before any I/O. Its `Debug` shows the
/// cookie and the identity assertion by length only (`docs/identity.md`,
/// "No identity data leaks").
#[derive(Clone, Default)]
pub struct Facts {
    /// The HTTP method as sent.
    pub method: String,
    /// The request URL exactly as the runtime received it.
    pub url: String,
    /// `CF-Connecting-IP`.
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub accept: Option<String>,
    pub content_length: Option<String>,
    pub range: Option<String>,
    pub if_range: Option<String>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    /// `CTA-Common-Access-Token` (a Common Access Token, `docs/cat.md`).
    pub cat_header: Option<String>,
    /// `Common-Access-Token`.
    pub common_access_token: Option<String>,
    /// `Cookie`: its `lgm` media session and Common Access Token cookies
    /// are read (never logged).
    pub cookie: Option<String>,
    /// `Origin`: a player page on another origin (CORS).
    pub origin: Option<String>,
    /// `Cf-Access-Jwt-Assertion`: Cloudflare Access's identity assertion
    /// (`docs/identity.md`). Read only for an object whose rule requires an
    /// identity; never logged, cached or forwarded.
    pub access_assertion: Option<String>,
    /// The client's country (ISO 3166 alpha-2), when known up front (the
    /// admin API). Downloads leave it None: reading it (`request.cf`) is one
    /// of the costliest facts, so the gate asks for it with
    /// [`Step::ReadCountry`] only once a link's tag has verified.
    pub country: Option<String>,
    pub request_id: String,
    /// Unix seconds.
    pub now: u64,
}

impl core::fmt::Debug for Facts {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let len = |v: &Option<String>| v.as_ref().map(|s| s.len());
        f.debug_struct("Facts")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("client_ip", &self.client_ip)
            .field("user_agent", &self.user_agent)
            .field("accept", &self.accept)
            .field("range", &self.range)
            .field("cookie_bytes", &len(&self.cookie))
            .field("access_assertion_bytes", &len(&self.access_assertion))
            .field("country", &self.country)
            .field("request_id", &self.request_id)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

/// The request headers the gate reads, in the order the edge packs them (see
/// [`unpack_request`]); `cf-ray` last, for the request id.
pub const PACKED_HEADERS: [&str; 14] = [
    "cf-connecting-ip",
    "user-agent",
    "accept",
    "content-length",
    "range",
    "if-range",
    "if-none-match",
    "if-modified-since",
    "cta-common-access-token",
    "common-access-token",
    "cookie",
    "origin",
    "cf-access-jwt-assertion",
    "cf-ray",
];

/// A request as the edge reads it in one call across the JS boundary (one
/// string instead of a call and a string per header): method, URL, then each
/// of [`PACKED_HEADERS`] as `+value`, or `-` when absent, one per line.
/// Header values and serialized URLs cannot hold a line break.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpackedRequest {
    pub method: String,
    pub url: String,
    /// In the order of [`PACKED_HEADERS`].
    pub headers: [Option<String>; 14],
}

/// Parse the packed form; None when it is not exactly that (the edge then
/// reads the headers one by one).
pub fn unpack_request(text: &str) -> Option<UnpackedRequest> {
    let mut lines = text.split('\n');
    let method = lines.next()?.to_owned();
    let url = lines.next()?.to_owned();
    let mut headers: [Option<String>; 14] = Default::default();
    for slot in &mut headers {
        let line = lines.next()?;
        *slot = match line.strip_prefix('+') {
            Some(v) => Some(v.to_owned()),
            None if line == "-" => None,
            None => return None,
        };
    }
    lines.next().is_none().then_some(UnpackedRequest { method, url, headers })
}

/// Split a request URL into (authority, raw path, raw query) without
/// re-serializing it, so the path is exactly what the runtime received.
/// The authority ends at the first `/`, `?` or `#`; an empty path is `/`
/// (as URL parsers have it: `https://h?lg=…` asks for `/`); the fragment
/// is dropped.
pub fn split_url(url: &str) -> (&str, &str, &str) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split('#').next().unwrap_or("");
    // split_at_checked: `find` gives a char boundary, so this never falls
    // back, and unlike split_at it links no panic message that formats chars
    // (str::slice_error_fail and the Unicode printable tables, ~2 KB of wasm).
    let (authority, path_query) =
        rest.split_at_checked(rest.find(['/', '?']).unwrap_or(rest.len())).unwrap_or((rest, ""));
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    (authority, if path.is_empty() { "/" } else { path }, query)
}

/// What the edge must do next.
#[must_use]
pub enum Step<'c> {
    /// Read the (small, declared-length) form body: it may carry the token.
    ReadForm(ReadForm<'c>),
    /// Verify an Ed25519 link's signature (WebCrypto at the edge): asked
    /// only for a known, unconstrained-so-far key and a well-formed signature.
    VerifySignature(VerifySignature<'c>),
    /// The identity provider's keys (JWKS), for an object whose rule
    /// requires an identity: asked only once the link itself verified and
    /// the assertion passed the strict reader.
    ReadJwks(ReadJwks<'c>),
    /// Verify the identity assertion's signature (RS256 or ES256, WebCrypto
    /// at the edge) under the key [`ReadJwks`] found.
    VerifyJwt(VerifyJwt<'c>),
    /// The client's country: asked only for authentic links, so requests
    /// that never authenticate (a flood of forged links) never pay for it.
    ReadCountry(ReadCountry<'c>),
    /// One bulk read of these denylist keys.
    ReadDenylist(ReadDenylist<'c>),
    /// The object's metadata (and, when asked, its body in the same call).
    ReadObject(ReadObject<'c>),
    /// One read of these keys from the strict revocation registry.
    ReadStrict(ReadStrict<'c>),
    /// The usage counter's state (read only).
    ReadUsage(ReadUsage<'c>),
    /// Consume one use in the usage counter.
    Consume(Consume<'c>),
    /// Serve the object as planned, then report how it went.
    Deliver(Deliver<'c>),
    /// Give back the use consumed for a download that failed.
    Refund(Refund<'c>),
    /// Answer and audit.
    Done(Box<Done>),
}

/// The end of a request: what to answer, what to audit, what to do after.
#[derive(Debug)]
pub struct Done {
    pub reply: Reply,
    pub event: AuditEvent,
    /// Record a download start for resume-after-expiry (off the response path).
    pub record_start: Option<RecordStart>,
}

/// The response, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `application/problem+json`, `no-store`, with extra headers (416's `Content-Range`).
    Problem { status: u16, body: String, headers: Vec<(&'static str, String)> },
    /// An HTML page (landing page, link-ended page): `no-store`, strict CSP.
    Page { status: u16, html: String },
    /// `303 See Other` to a download session.
    SeeOther { location: String },
    /// `302 Found` to a presigned storage URL: these headers (`Location`,
    /// `Cache-Control: no-store`, `Content-Length: 0`), no body.
    Redirect { headers: Vec<(&'static str, String)> },
    /// The response built by the [`Deliver`] step.
    Delivered,
}

/// Remember that a client started a download (resume after expiry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordStart {
    pub jti: Jti,
    pub start: Start,
    /// When the counter may forget the link.
    pub forget_at: u64,
}

/// Why a planned delivery could not be carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryFailure {
    /// The object was deleted after its metadata was read.
    Missing,
    /// The object was replaced after its metadata was read.
    Changed,
    /// R2 failed or returned no body.
    Unavailable,
    /// The private origin failed, or answered other than asked.
    Origin(OriginFailure),
}

/// The request's context, carried from step to step.
struct Ctx<'c> {
    cfg: &'c EdgeConfig,
    facts: Facts,
    method: Method,
    event: AuditEvent,
    /// The identity rule's `max_auth_age` once identity is checked.
    identity_max_age: Option<u64>,
}

/// A link that verified, and how it was presented.
struct Authorized {
    link: VerifiedLink,
    domain: Domain,
    /// The token when it came in a form body (the query holds it otherwise).
    form_token: Option<String>,
    /// Set for a confirmed resume after `exp`: the version that was started.
    resume_etag: Option<String>,
}

/// Start deciding a request.
pub fn start(cfg: &EdgeConfig, facts: Facts) -> Step<'_> {
    let facts = match expand_path_form(Some(&cfg.keys), &facts.url) {
        Some(url) => Facts { url, ..facts },
        None => facts,
    };
    let method = Method::parse(&facts.method);
    let event = event_for(&facts);
    let ctx = Ctx { cfg, facts, method, event, identity_max_age: None };
    let (_, raw_path, query) = split_url(&ctx.facts.url);
    let found = query_token(query);
    let source = match found {
        Ok(QueryToken::Link(_)) => Some(Domain::Link),
        Ok(QueryToken::Session(_)) => Some(Domain::Session),
        Ok(QueryToken::Media(_)) => Some(Domain::Media),
        // No token in the query: a media session cookie, if any (a token in
        // the query always wins over the cookie).
        Ok(QueryToken::Absent) => cookie_token(ctx.facts.cookie.as_deref()).map(|_| Domain::Media),
        Err(_) => None,
    };
    let ambiguous = found.err();
    // The admin API's prefix is never an object, in any spelling (`%5F`, case).
    let maybe_reserved =
        raw_path.get(1..2) == Some("_") || raw_path.get(1..4).is_some_and(|p| p.eq_ignore_ascii_case("%5f"));
    if maybe_reserved {
        if let Ok(p) = CanonicalPath::from_request(raw_path) {
            if super::admin::is_reserved(p.as_str()) {
                return ctx.refuse(Reason::ReservedPath, Some((&p, None)));
            }
        }
    }
    if let Some(reason) = ambiguous {
        // The path is canonicalized first all the same: path_invalid wins.
        let path = CanonicalPath::from_request(raw_path);
        return match path {
            Err(e) => ctx.refuse(Reason::Path(e), None),
            Ok(p) => ctx.refuse(reason, Some((&p, None))),
        };
    }
    if let Some(cat) = &cfg.cat {
        let carriers = Carriers {
            header_cta: ctx.facts.cat_header.as_deref(),
            header_common: ctx.facts.common_access_token.as_deref(),
            cookie: ctx.facts.cookie.as_deref(),
            query,
        };
        // The same rule as for `lg`: one token, never a pick among several.
        let found = match find_token(&cat.sources, &carriers) {
            Ok(Some(_)) if source.is_some() => Err(Reason::TwoTokens),
            other => other.map(|t| t.map(str::to_owned)),
        };
        match found {
            Ok(Some(token)) => return cat_step(ctx, &token),
            Ok(None) => {}
            Err(reason) => {
                return match CanonicalPath::from_request(raw_path) {
                    Err(e) => ctx.refuse(Reason::Path(e), None),
                    Ok(p) => ctx.refuse(reason, Some((&p, None))),
                }
            }
        }
    }
    let small_body = ctx.facts.content_length.as_deref().and_then(|v| v.trim().parse::<u64>().ok());
    if source.is_none() && ctx.method == Method::Post && small_body.is_some_and(|n| n <= MAX_FORM_BYTES) {
        return Step::ReadForm(ReadForm { ctx });
    }
    verify_step(ctx, source.unwrap_or(Domain::Link), None)
}

/// Verify a Common Access Token (`docs/cat.md`): once authentic it goes
/// down the same road as a link (country, denylist by its jti/sub/tenant/
/// path/kid, object and policy, bounded use, audit), marked `issued_by: cat`.
fn cat_step<'c>(mut ctx: Ctx<'c>, token: &str) -> Step<'c> {
    let cfg = ctx.cfg;
    let Some(cat) = cfg.cat.as_ref() else { return ctx.refuse(Reason::NoToken, None) };
    let (authority, raw_path, _) = split_url(&ctx.facts.url);
    let path = match CanonicalPath::from_request(raw_path) {
        Ok(p) => p,
        Err(e) => return ctx.refuse(Reason::Path(e), None),
    };
    let result = {
        let scheme = ctx.facts.url.split_once("://").map_or("https", |(s, _)| s);
        let req = CatRequest {
            token,
            path: &path,
            scheme,
            authority,
            method: &ctx.facts.method,
            client_ip: ctx.client_ip(),
            now: ctx.facts.now,
        };
        super::cat::verify(cat, &cfg.time, &req)
    };
    match result {
        Err(r) if r.reason.is_unauthenticated() => ctx.refuse(r.reason, Some((&path, None))),
        Ok(link) => {
            ctx.event.issued_by = Some(CAT_ISSUED_BY.to_owned());
            let auth = Authorized { link, domain: Domain::Link, form_token: None, resume_etag: None };
            read_country(ctx, Authentic::Verified(Box::new(auth)))
        }
        Err(r) => {
            ctx.event.issued_by = Some(CAT_ISSUED_BY.to_owned());
            read_country(ctx, Authentic::Refused(Box::new(r)))
        }
    }
}

/// The audit event's `issued_by` for a Common Access Token.
pub const CAT_ISSUED_BY: &str = "cat";

/// First path segment of a path-less link (`/_lg/<token>[/<name>]`).
pub const PATH_FORM_LINK: &str = "_lg";
/// First path segment of a path-less download session (`/_lgs/<token>`).
pub const PATH_FORM_SESSION: &str = "_lgs";
/// The path a path-less request whose token cannot be read is verified at.
pub const PATH_FORM_UNREADABLE: &str = "/_lg-token";

/// A path-less link (`docs/link-format.md` §17.7), as the request it stands
/// for: `/_lg/<token>[/<name>]` becomes `<scope>[<name>]?lg=<token>` and
/// `/_lgs/<token>` becomes `<scope>?lgs=<token>`, the client's own query
/// kept after it (a second token there is refused as in any query). The
/// scope is the token's: a sealed token's once it opens under its key, a
/// plain one's from its readable claims. Nothing is decided here: the
/// request is then verified whole, and a token that cannot be read gets the
/// path [`PATH_FORM_UNREADABLE`], so it is refused exactly as in a query. A sealed token is
/// opened twice (here and by the verifier): ~3 µs in wasm. `inspect` (the
/// CLI's, the JS package's) reads path-less links the same way; without
/// keys a sealed token's scope is unknown (the path is [`PATH_FORM_UNREADABLE`]).
pub fn expand_path_form(keys: Option<&KeyRing>, url: &str) -> Option<String> {
    let (authority, raw_path, query) = split_url(url);
    let rest = raw_path.strip_prefix('/')?;
    let (first, rest) = rest.split_once('/')?;
    let (param, domain) = match first {
        PATH_FORM_LINK => ("lg", Domain::Link),
        PATH_FORM_SESSION => ("lgs", Domain::Session),
        _ => return None,
    };
    let (token, name) = match rest.split_once('/') {
        Some((t, n)) => (t, Some(n)),
        None => (rest, None),
    };
    let scope = match AnyToken::decode(token) {
        Ok(AnyToken::Sealed(t)) => {
            keys.and_then(|r| r.get(t.kid().as_str())).and_then(|k| t.open(k, domain).ok()).map(|c| c.scope)
        }
        Ok(AnyToken::Plain(t)) => Some(t.claims_unverified().scope.clone()),
        Ok(AnyToken::Ed25519(t)) => Some(t.claims_unverified().scope.clone()),
        Err(_) => None,
    };
    let path = match (&scope, name) {
        (Some(Scope::Prefix(p)), n) => format!("{}{}", encode_path(p.as_str()), n.unwrap_or("")),
        // A name after an object link's token asks for another object:
        // the verifier's scope check refuses it.
        (Some(Scope::Object(p)), Some(n)) => format!("{}/{n}", encode_path(p.as_str())),
        (Some(Scope::Object(p)), None) => encode_path(p.as_str()),
        // Unreadable: a canonical path no object can have, so the verifier
        // refuses the token itself (malformed, unknown key, bad tag) and a
        // flood of such requests aggregates under its own first segment.
        (None, _) => PATH_FORM_UNREADABLE.to_owned(),
    };
    let scheme = url.split_once("://").map_or("https", |(s, _)| s);
    let more = if query.is_empty() { String::new() } else { format!("&{query}") };
    Some(format!("{scheme}://{authority}{path}?{param}={token}{more}"))
}

/// The audit event of a request, before anything is decided: time, request
/// id, method, client address, country and user agent (capped).
pub fn event_for(facts: &Facts) -> AuditEvent {
    let mut ev = AuditEvent {
        time: facts.now,
        request_id: facts.request_id.clone(),
        method: facts.method.clone(),
        client_ip: facts.client_ip.clone(),
        country: facts.country.clone(),
        ..Default::default()
    };
    if let Some(ua) = &facts.user_agent {
        ev.set_user_agent(ua);
    }
    ev
}

/// Read the form body; answer with its text (None if unreadable or too big).
pub struct ReadForm<'c> {
    ctx: Ctx<'c>,
}

impl<'c> ReadForm<'c> {
    /// The most bytes to read.
    pub fn limit(&self) -> u64 {
        MAX_FORM_BYTES
    }

    pub fn answer(self, body: Option<&str>) -> Step<'c> {
        let token = body.filter(|b| b.len() as u64 <= MAX_FORM_BYTES).and_then(|b| form_field(b, "lg"));
        let token = token.map(str::to_owned);
        verify_step(self.ctx, Domain::Link, token)
    }
}

/// The verifier's view of the request (the token from the form or the query).
fn request_facts<'a>(ctx: &'a Ctx<'_>, domain: Domain, form_token: Option<&'a str>) -> RequestFacts<'a> {
    let (authority, raw_path, query) = split_url(&ctx.facts.url);
    let query_token = match (query_token(query), domain) {
        (Ok(QueryToken::Link(t)), Domain::Link) | (Ok(QueryToken::Session(t)), Domain::Session) => Some(t),
        (Ok(QueryToken::Media(t)), Domain::Media) => Some(t),
        (Ok(QueryToken::Absent), Domain::Media) => cookie_token(ctx.facts.cookie.as_deref()),
        _ => None,
    };
    RequestFacts {
        raw_path,
        token: form_token.or(query_token),
        method: ctx.method,
        host: Some(authority),
        client_ip: ctx.client_ip(),
        now: ctx.facts.now,
    }
}

fn verify_step(ctx: Ctx<'_>, domain: Domain, form_token: Option<String>) -> Step<'_> {
    let facts = request_facts(&ctx, domain, form_token.as_deref());
    match verify_start(&ctx.cfg.keys, &ctx.cfg.time, &facts, domain) {
        Verification::Done(result) => verified(ctx, result, domain, form_token),
        // An Ed25519 link that passed every check but its signature: the
        // edge asks WebCrypto (unknown kids and malformed signatures never
        // get here).
        Verification::Signature(check) => Step::VerifySignature(VerifySignature { ctx, check, domain, form_token }),
    }
}

/// Go on with the verifier's decision.
fn verified(
    ctx: Ctx<'_>,
    result: Result<VerifiedLink, Refusal>,
    domain: Domain,
    form_token: Option<String>,
) -> Step<'_> {
    let cfg = ctx.cfg;
    match result {
        Ok(link) => {
            read_country(ctx, Authentic::Verified(Box::new(Authorized { link, domain, form_token, resume_etag: None })))
        }
        Err(r) if r.reason.is_unauthenticated() => match &r.path {
            Some(p) => ctx.refuse(r.reason, Some((p, r.claims.as_deref()))),
            None => ctx.refuse(r.reason, None),
        },
        // A media session ends at `exp`: no resume grace (the link's own
        // URL still resumes a download as before).
        Err(r) if domain == Domain::Media => read_country(ctx, Authentic::Refused(Box::new(r))),
        Err(r) => {
            let continuation = continuation_start(ctx.facts.range.as_deref()).is_some();
            let facts = request_facts(&ctx, domain, form_token.as_deref());
            match resume_candidate(&r, &facts, &cfg.time, cfg.resume_grace_secs, continuation) {
                Some(candidate) => {
                    read_country(ctx, Authentic::Resume { candidate: Box::new(candidate), domain, form_token })
                }
                None => read_country(ctx, Authentic::Refused(Box::new(r))),
            }
        }
    }
}

/// Check an Ed25519 signature (`docs/link-format.md` §18): at the edge with
/// WebCrypto, natively with `ed25519-dalek`. The answer is only whether it
/// verified; the core decides everything else.
pub struct VerifySignature<'c> {
    ctx: Ctx<'c>,
    check: Box<SignatureCheck>,
    domain: Domain,
    form_token: Option<String>,
}

impl<'c> VerifySignature<'c> {
    /// The raw 32-byte public key.
    pub fn public_key(&self) -> &[u8; 32] {
        self.check.public_key()
    }

    /// The exact bytes signed.
    pub fn message(&self) -> &[u8] {
        self.check.message()
    }

    /// The 64-byte signature.
    pub fn signature(&self) -> &[u8; 64] {
        self.check.signature()
    }

    /// The key's id.
    pub fn kid(&self) -> &str {
        self.check.kid()
    }

    /// Verify natively (tests, native drivers).
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    pub fn verify_natively(&self) -> bool {
        self.check.verify_natively()
    }

    /// Did the signature verify? A failed or impossible check is `false`
    /// (fail closed: `signature_invalid`).
    pub fn answer(self, valid: bool) -> Step<'c> {
        let VerifySignature { ctx, check, domain, form_token } = self;
        let result = {
            let facts = request_facts(&ctx, domain, form_token.as_deref());
            check.answer(valid, &ctx.cfg.time, &facts)
        };
        verified(ctx, result, domain, form_token)
    }
}

/// What follows once the country of an authentic request is known.
enum Authentic {
    /// The link verified.
    Verified(Box<Authorized>),
    /// The tag verified but the link expired: it may be a resume.
    Resume { candidate: Box<ResumeCandidate>, domain: Domain, form_token: Option<String> },
    /// The tag verified and a claim refuses the request.
    Refused(Box<Refusal>),
}

fn read_country(ctx: Ctx<'_>, then: Authentic) -> Step<'_> {
    Step::ReadCountry(ReadCountry { ctx, then })
}

/// Answer with the client's country (the platform's, None if unknown).
pub struct ReadCountry<'c> {
    ctx: Ctx<'c>,
    then: Authentic,
}

impl<'c> ReadCountry<'c> {
    pub fn answer(self, country: Option<String>) -> Step<'c> {
        let ReadCountry { mut ctx, then } = self;
        ctx.event.country.clone_from(&country);
        ctx.facts.country = country;
        match then {
            // A session is a view of a consumed use: it never consumes one.
            Authentic::Verified(auth) if auth.domain == Domain::Session && ctx.method == Method::Post => {
                let claims = auth.link.claims().clone();
                ctx.refuse(Reason::Method, Some((auth.link.path(), Some(&claims))))
            }
            Authentic::Verified(auth) => after_verify(ctx, *auth),
            Authentic::Resume { candidate, domain, form_token } => {
                Step::ReadUsage(ReadUsage { ctx, purpose: UsagePurpose::Resume { candidate, domain, form_token } })
            }
            Authentic::Refused(r) => match &r.path {
                Some(p) => ctx.refuse(r.reason, Some((p, r.claims.as_deref()))),
                None => ctx.refuse(r.reason, None),
            },
        }
    }
}

fn after_verify(mut ctx: Ctx<'_>, auth: Authorized) -> Step<'_> {
    ctx.event.with_claims(auth.link.claims());
    ctx.event.path = Some(auth.link.path().as_str().to_owned());
    let keys = lookup_keys(auth.link.claims(), auth.link.path());
    Step::ReadDenylist(ReadDenylist { ctx, auth, keys })
}

/// Read these denylist keys (one KV bulk get, or a fresh memo of one).
pub struct ReadDenylist<'c> {
    ctx: Ctx<'c>,
    auth: Authorized,
    keys: Vec<String>,
}

impl<'c> ReadDenylist<'c> {
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The keys that exist, with their values.
    pub fn answer(self, found: &[(String, String)]) -> Step<'c> {
        let ReadDenylist { mut ctx, auth, .. } = self;
        let entry = find_revocation(auth.link.claims(), found.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if let Some(entry) = entry {
            ctx.event.rule = Some(format!("revoked:{}", entry.scope.as_str()));
            return ctx.refuse_link(Reason::Revoked(entry.scope), &auth);
        }
        let c = auth.link.claims();
        let plain = ctx.facts.range.is_none()
            && ctx.facts.if_range.is_none()
            && ctx.facts.if_none_match.is_none()
            && ctx.facts.if_modified_since.is_none();
        // One R2 call for the commonest download: a plain GET that neither
        // the edge cache nor the usage counter has to see first.
        // Not when policy may choose a redirect: its body would go unread.
        let may_redirect = ctx.cfg.redirect.is_some() && c.mode != Some(Mode::Stream);
        let with_body = ctx.method == Method::Get
            && plain
            && c.uses.is_none()
            && !ctx.cfg.edge_cache
            && auth.resume_etag.is_none()
            && !may_redirect
            // An origin is asked HEAD first: the body GET carries the Range
            // the metadata decides.
            && ctx.cfg.origin.is_none();
        Step::ReadObject(ReadObject { ctx, auth, with_body })
    }

    /// KV could not be read: fail closed.
    pub fn unavailable(self) -> Step<'c> {
        let ReadDenylist { ctx, auth, .. } = self;
        ctx.refuse_link(Reason::DenylistUnavailable, &auth)
    }
}

/// Read the object's metadata (R2 `head`, or `get` when [`Self::with_body`]).
pub struct ReadObject<'c> {
    ctx: Ctx<'c>,
    auth: Authorized,
    with_body: bool,
}

impl<'c> ReadObject<'c> {
    /// The R2 key.
    pub fn key(&self) -> &str {
        self.auth.link.path().object_key()
    }

    /// Fetch the body in the same call (kept by the edge for [`Deliver`]).
    pub fn with_body(&self) -> bool {
        self.with_body
    }

    /// With a private origin configured, the `HEAD` to send it instead of
    /// reading R2 (answer with [`Self::origin_answer`] or
    /// [`Self::origin_failed`]); None: read R2.
    pub fn origin_head(&self) -> Option<Result<OriginRequest, OriginFailure>> {
        let origin = self.ctx.cfg.origin.as_ref()?;
        Some(origin.request(true, self.key(), None, self.ctx.facts.now).ok_or(OriginFailure::Error))
    }

    /// The origin's answer to [`Self::origin_head`]: its status and a reader
    /// of its [`super::origin::ORIGIN_RESPONSE_HEADERS`].
    pub fn origin_answer(self, status: u16, headers: &dyn Fn(&str) -> Option<String>) -> Step<'c> {
        let Some(origin) = self.ctx.cfg.origin.as_ref() else { return self.unavailable() };
        match origin.head_meta(status, headers) {
            Ok(meta) => self.answer(meta),
            Err(f) => self.origin_failed(f),
        }
    }

    /// The origin's `HEAD` failed: fail closed.
    pub fn origin_failed(self, failure: OriginFailure) -> Step<'c> {
        let ReadObject { ctx, auth, .. } = self;
        ctx.refuse_link(Reason::of_origin(failure), &auth)
    }

    /// The object's metadata, None if it does not exist.
    pub fn answer(self, meta: Option<ObjectMeta>) -> Step<'c> {
        let ReadObject { mut ctx, auth, with_body } = self;
        let Some(meta) = meta else { return ctx.refuse_link(Reason::NoObject, &auth) };
        let claims = auth.link.claims();
        // Policy first, on the link's own claims: before any use is consumed,
        // any session minted or any page shown.
        let rule = ctx.cfg.policy.rule_for(meta.classification.as_deref());
        let redirect = ctx.cfg.redirect.as_ref();
        let decision = match evaluate(
            &rule,
            claims,
            auth.link.sealed(),
            ctx.facts.country.as_deref(),
            redirect.is_some(),
            Some(meta.size),
        ) {
            // Without presigning credentials, a rule that only allows
            // redirects refuses rather than streams.
            Ok(d) if d.mode == Mode::Redirect && redirect.is_none() => {
                ctx.event.rule = Some(format!("{}.modes", rule.name));
                return ctx.refuse_link(Reason::RedirectUnavailable, &auth);
            }
            Ok(d) => d,
            Err(denied) => {
                ctx.event.rule = Some(denied.rule);
                return ctx.refuse_link(Reason::Policy, &auth);
            }
        };
        if auth.domain == Domain::Media && rule.media == MediaMode::Off {
            // A session is held to the rule of every object it reaches: an
            // object whose rule has no media sessions needs its own link.
            ctx.event.rule = Some(format!("{}.media", rule.name));
            return ctx.refuse_link(Reason::Policy, &auth);
        }
        let mut decision = decision;
        if auth.domain == Domain::Media && decision.cache == CacheMode::Public {
            // The URL of a cookie request carries no token: a shared cache
            // downstream would serve it to anyone, past a revocation.
            decision.cache = CacheMode::Private;
        }
        if rule.identity.is_some() && decision.cache == CacheMode::Public {
            // A response for one signed-in person: a shared cache downstream
            // would hand it to the next holder of the URL, signed in or not.
            decision.cache = CacheMode::Private;
        }
        let opens_media = rule.media;
        ctx.event.rule = Some(decision.rule.clone());
        let strict = rule.revocation == RevocationMode::Strict;
        let allowed = Allowed { auth, meta, decision, with_body, opens_media };
        match rule.identity {
            // Links for one person: the link verified and policy allowed it;
            // now who is asking (docs/identity.md).
            Some(identity) => identity_start(ctx, Pending { allowed, strict, rule: identity, class: rule.name }),
            None => after_policy(ctx, allowed, strict),
        }
    }

    /// R2 failed: fail closed.
    pub fn unavailable(self) -> Step<'c> {
        let ReadObject { ctx, auth, .. } = self;
        ctx.refuse_link(Reason::ObjectUnavailable, &auth)
    }
}

/// After policy (and identity): the strict registry when the rule says so,
/// then delivery planning.
fn after_policy(ctx: Ctx<'_>, allowed_: Allowed, strict: bool) -> Step<'_> {
    if strict {
        // Strict revocation: KV said nothing, but KV may not have the
        // entry yet; the registry has every entry the admin API answered.
        let keys = lookup_keys(allowed_.auth.link.claims(), allowed_.auth.link.path());
        return Step::ReadStrict(ReadStrict { ctx, keys, allowed: allowed_ });
    }
    allowed(ctx, allowed_)
}

/// A request allowed by policy whose rule also requires an identity.
struct Pending {
    allowed: Allowed,
    strict: bool,
    rule: IdentityRule,
    /// The classification rule's name, for the audit rule.
    class: String,
}

impl Pending {
    fn refuse(self, mut ctx: Ctx<'_>, why: IdentityRefusal) -> Step<'_> {
        ctx.event.rule = Some(format!("{}.{}", self.class, why.rule_suffix()));
        ctx.refuse_link(Reason::Identity(why), &self.allowed.auth)
    }
}

/// Find the request's assertion and read it strictly; the keys come next.
fn identity_start(mut ctx: Ctx<'_>, p: Pending) -> Step<'_> {
    ctx.identity_max_age = p.rule.max_auth_age_secs;
    let cfg = ctx.cfg;
    let Some(id) = cfg.identity.as_ref() else { return p.refuse(ctx, IdentityRefusal::Unconfigured) };
    let jwt = match id.assertion(ctx.facts.access_assertion.as_deref(), ctx.facts.cookie.as_deref()) {
        Err(why) => Err(why),
        Ok(None) => Err(IdentityRefusal::Missing),
        Ok(Some(text)) => Jwt::parse(text, &id.algorithms).map_err(IdentityRefusal::Malformed),
    };
    match jwt {
        Ok(jwt) => Step::ReadJwks(ReadJwks { ctx, pending: Box::new(p), jwt: Box::new(jwt) }),
        Err(why) => p.refuse(ctx, why),
    }
}

/// Find the key for the assertion: answer with the provider's JWKS (the
/// edge's per-isolate copy, refreshed per [`crate::jwks::JwksCache`]), or
/// [`Self::unavailable`] when there is none to be had (fail closed, 503).
pub struct ReadJwks<'c> {
    ctx: Ctx<'c>,
    pending: Box<Pending>,
    jwt: Box<Jwt>,
}

impl<'c> ReadJwks<'c> {
    fn config(&self) -> Option<&'c IdentityConfig> {
        self.ctx.cfg.identity.as_ref()
    }

    /// Where the provider publishes its keys.
    pub fn url(&self) -> &str {
        self.config().map_or("", |c| c.jwks_url.as_str())
    }

    /// The assertion's key id and algorithm (to see whether a kept set has it).
    pub fn kid(&self) -> Option<&str> {
        self.jwt.kid()
    }

    pub fn alg(&self) -> Alg {
        self.jwt.alg()
    }

    /// Least time between two fetches for an unknown key id, ms.
    pub fn refresh_ms(&self) -> u64 {
        self.config().map_or(crate::identity::DEFAULT_JWKS_REFRESH_SECS * 1000, |c| c.jwks_refresh_ms)
    }

    /// Bound on the fetch, ms.
    pub fn timeout_ms(&self) -> u64 {
        self.config().map_or(crate::identity::DEFAULT_JWKS_TIMEOUT_MS, |c| c.jwks_timeout_ms)
    }

    pub fn answer(self, jwks: &Jwks) -> Step<'c> {
        let ReadJwks { ctx, pending, jwt } = self;
        let key = match crate::identity::select_key(jwks, &jwt) {
            Ok(k) => Box::new(k.clone()),
            Err(why) => return pending.refuse(ctx, why),
        };
        Step::VerifyJwt(VerifyJwt { ctx, pending, jwt, key })
    }

    /// No keys: nothing kept and the fetch failed (or may not be retried yet).
    pub fn unavailable(self) -> Step<'c> {
        let ReadJwks { ctx, pending, .. } = self;
        pending.refuse(ctx, IdentityRefusal::KeysUnavailable)
    }
}

/// Verify the assertion's signature; answer whether it verified (a failed
/// or impossible check is `false`: fail closed).
pub struct VerifyJwt<'c> {
    ctx: Ctx<'c>,
    pending: Box<Pending>,
    jwt: Box<Jwt>,
    key: Box<Jwk>,
}

impl<'c> VerifyJwt<'c> {
    pub fn alg(&self) -> Alg {
        self.jwt.alg()
    }

    /// The provider's key (its [`Jwk::to_public_jwk`] imports into WebCrypto).
    pub fn key(&self) -> &Jwk {
        &self.key
    }

    /// The signed bytes (`header.payload`).
    pub fn signing_input(&self) -> &[u8] {
        self.jwt.signing_input()
    }

    /// RS256: PKCS #1 v1.5 signature; ES256: raw `r || s`.
    pub fn signature(&self) -> &[u8] {
        self.jwt.signature()
    }

    pub fn answer(self, valid: bool) -> Step<'c> {
        let VerifyJwt { mut ctx, pending, jwt, .. } = self;
        if !valid {
            return pending.refuse(ctx, IdentityRefusal::BadSignature);
        }
        let cfg = ctx.cfg;
        let Some(id) = cfg.identity.as_ref() else { return pending.refuse(ctx, IdentityRefusal::Unconfigured) };
        // Authentic: whoever it names is recorded, allowed or not.
        ctx.event.identity = crate::identity::audit_value(id, &jwt);
        let sub = pending.allowed.auth.link.claims().sub.as_ref().map(|s| s.as_str());
        match crate::identity::judge(id, &pending.rule, &jwt, sub, &cfg.time, ctx.facts.now) {
            Ok(()) => {
                let Pending { allowed: a, strict, .. } = *pending;
                after_policy(ctx, a, strict)
            }
            Err(why) => pending.refuse(ctx, why),
        }
    }
}

/// An object found and allowed by policy, before its delivery is planned.
struct Allowed {
    auth: Authorized,
    meta: ObjectMeta,
    decision: Decision,
    with_body: bool,
    /// The rule's media sessions (`media`).
    opens_media: MediaMode,
}

fn allowed(ctx: Ctx<'_>, allowed: Allowed) -> Step<'_> {
    let Allowed { auth, meta, decision, with_body, opens_media } = allowed;
    let etag = super::http::strong_etag(&meta.etag);
    if auth.resume_etag.as_ref().is_some_and(|e| *e != etag) {
        return ctx.refuse_link(Reason::ResumeOtherVersion, &auth);
    }
    let mut plan = match (decision.mode, ctx.cfg.redirect.as_ref()) {
        (Mode::Redirect, Some(r)) => match plan::redirect(&ctx, &auth.link, r, auth.resume_etag.is_some()) {
            Ok(p) => p,
            Err(_) => return ctx.refuse_link(Reason::RedirectUnavailable, &auth),
        },
        _ => match plan::plan(&ctx, &auth.link, &meta, &decision, with_body) {
            Ok(p) => p,
            Err(headers) => return ctx.refuse_with(Reason::Range, &auth, headers),
        },
    };
    if !plan.is_redirect() {
        match opens_media {
            MediaMode::Off => {}
            MediaMode::Cookie => open_media_session(&ctx, &auth, &mut plan),
            MediaMode::Rewrite => {
                open_media_session(&ctx, &auth, &mut plan);
                rewrite_playlist(&ctx, &auth, &mut plan);
            }
        }
        plan.headers.extend(cors_headers(&ctx.cfg.media_origins, ctx.facts.origin.as_deref()));
    }
    let located = Located { auth, meta, etag, plan };
    let Some(max) = located.auth.link.claims().uses.filter(|_| located.auth.resume_etag.is_none()) else {
        return deliver(ctx, located, None);
    };
    let continuation = continuation_start(ctx.facts.range.as_deref()).is_some();
    // A CAT is presented by a player or client, not followed from a mail:
    // its plain GET is the download and consumes (no landing page, whose
    // form could not carry a header or cookie token anyway).
    let cat_download = located.auth.link.is_cat() && ctx.method == Method::Get && !continuation;
    let purpose = match (located.auth.domain, ctx.method) {
        (Domain::Session, _) => Purpose::Continue,
        (Domain::Link, _) if cat_download => {
            let request = consume_request(&ctx, &located, max.get(), false);
            return Step::Consume(Consume { ctx, located, request });
        }
        // The edge opens media sessions only for unbounded links.
        (Domain::Media, _) => return ctx.refuse_link(Reason::SessionNotOpen, &located.auth),
        (Domain::Link, Method::Post) => {
            let request = consume_request(&ctx, &located, max.get(), false);
            return Step::Consume(Consume { ctx, located, request });
        }
        (Domain::Link, Method::Head) => Purpose::Head,
        (Domain::Link, _) if continuation => Purpose::Continue,
        (Domain::Link, _) => Purpose::Landing,
    };
    Step::ReadUsage(ReadUsage { ctx, purpose: UsagePurpose::Located(Box::new(located), purpose) })
}

/// Read these keys from the strict revocation registry (one Durable Object
/// round trip), for an object whose rule says `revocation: strict`.
pub struct ReadStrict<'c> {
    ctx: Ctx<'c>,
    keys: Vec<String>,
    allowed: Allowed,
}

impl<'c> ReadStrict<'c> {
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The keys the registry holds, with their values (the same entries as
    /// the KV denylist's).
    pub fn answer(self, found: &[(String, String)]) -> Step<'c> {
        let ReadStrict { mut ctx, allowed: a, .. } = self;
        let entry = find_revocation(a.auth.link.claims(), found.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if let Some(entry) = entry {
            ctx.event.rule = Some(format!("revoked:{}", entry.scope.as_str()));
            return ctx.refuse_link(Reason::Revoked(entry.scope), &a.auth);
        }
        allowed(ctx, a)
    }

    /// The registry is not bound or could not be read: fail closed.
    pub fn unavailable(self) -> Step<'c> {
        let ReadStrict { ctx, allowed, .. } = self;
        ctx.refuse_link(Reason::RegistryUnavailable, &allowed.auth)
    }
}

/// Everything known once the object is found and policy allowed it.
struct Located {
    auth: Authorized,
    meta: ObjectMeta,
    /// The object's strong ETag as sent in headers.
    etag: String,
    plan: Delivery,
}

fn consume_request(ctx: &Ctx<'_>, located: &Located, max: u32, peek: bool) -> ConsumeRequest {
    ConsumeRequest {
        max,
        client: ctx.client(),
        client_ip: ctx.client_ip().map(|i| super::ip::addr_text(&i)),
        user_agent: ctx.event.user_agent.clone(),
        now: ctx.facts.now,
        grace_secs: ctx.cfg.download_grace_secs,
        peek,
        path: located.auth.link.path().as_str().to_owned(),
        etag: located.etag.clone(),
    }
}

/// Why the usage counter's state is read.
enum UsagePurpose {
    /// An expired link's continuation: was it started before `exp`?
    Resume { candidate: Box<ResumeCandidate>, domain: Domain, form_token: Option<String> },
    /// A bounded-use request whose object was found and allowed.
    Located(Box<Located>, Purpose),
}

/// What a bounded-use request wants from the counter.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// HEAD: headers, unless every use is gone and nothing is open.
    Head,
    /// A continuation (Range on the link) or a session request: free only
    /// within an open download of this client, object and version.
    Continue,
    /// A plain GET: the landing page (never a download).
    Landing,
}

/// Read the usage counter of [`Self::jti`].
pub struct ReadUsage<'c> {
    ctx: Ctx<'c>,
    purpose: UsagePurpose,
}

impl<'c> ReadUsage<'c> {
    pub fn jti(&self) -> Jti {
        match &self.purpose {
            UsagePurpose::Located(l, _) => l.auth.link.claims().jti,
            UsagePurpose::Resume { candidate, .. } => candidate.claims().jti,
        }
    }

    pub fn answer(self, state: &UsageState) -> Step<'c> {
        let ReadUsage { ctx, purpose } = self;
        match purpose {
            UsagePurpose::Located(located, purpose) => decide_usage(ctx, *located, purpose, state),
            UsagePurpose::Resume { candidate, domain, form_token } => {
                resume(ctx, *candidate, domain, form_token, state)
            }
        }
    }

    /// The counter could not be reached: fail closed.
    pub fn unavailable(self) -> Step<'c> {
        self.fail(Reason::UsageUnavailable)
    }

    /// The counter is not bound at all: fail closed.
    pub fn unbound(self) -> Step<'c> {
        self.fail(Reason::UsageStoreMissing)
    }

    fn fail(self, reason: Reason) -> Step<'c> {
        let ReadUsage { ctx, purpose } = self;
        match purpose {
            UsagePurpose::Located(l, _) => ctx.refuse_link(reason, &l.auth),
            UsagePurpose::Resume { candidate, .. } => {
                ctx.refuse(reason, Some((candidate.path(), Some(candidate.claims()))))
            }
        }
    }
}

/// An expired link asks to continue: only a download this client started
/// before `exp` may go on, and only at the version it started.
fn resume<'c>(
    ctx: Ctx<'c>,
    candidate: ResumeCandidate,
    domain: Domain,
    form_token: Option<String>,
    state: &UsageState,
) -> Step<'c> {
    let client = ctx.client();
    let started = find_start(state, &client, candidate.path().as_str(), candidate.claims().exp).map(str::to_owned);
    match started {
        Some(etag) => {
            let link = candidate.confirm();
            after_verify(ctx, Authorized { link, domain, form_token, resume_etag: Some(etag) })
        }
        None => ctx.refuse(Reason::NotStartedBeforeExp, Some((candidate.path(), Some(candidate.claims())))),
    }
}

fn decide_usage<'c>(ctx: Ctx<'c>, located: Located, purpose: Purpose, state: &UsageState) -> Step<'c> {
    let max = located.auth.link.claims().uses.map_or(0, |u| u.get());
    // Peeks decide on a copy: reading never changes the counter.
    let peek = consume_request(&ctx, &located, max, true);
    let outcome = consume(&mut state.clone(), &peek);
    let session = located.auth.domain == Domain::Session;
    match (purpose, outcome) {
        (_, ConsumeOutcome::UsedUp) => ctx.refuse_link(Reason::UsedUp, &located.auth),
        // A CAT's Range request with no open download is a new download.
        (Purpose::Continue, ConsumeOutcome::NoSession { .. }) if located.auth.link.is_cat() => {
            let request = consume_request(&ctx, &located, max, false);
            Step::Consume(Consume { ctx, located, request })
        }
        (Purpose::Head, _) | (Purpose::Continue, ConsumeOutcome::Continued { .. }) => deliver(ctx, located, None),
        (Purpose::Continue, _) if session => ctx.refuse_link(Reason::SessionNotOpen, &located.auth),
        // Nothing left to press Download for.
        (Purpose::Landing, ConsumeOutcome::Continued { remaining: 0 } | ConsumeOutcome::NoSession { remaining: 0 }) => {
            ctx.refuse_link(Reason::UsedUp, &located.auth)
        }
        (Purpose::Continue | Purpose::Landing, ConsumeOutcome::NoSession { remaining })
        | (Purpose::Landing, ConsumeOutcome::Continued { remaining }) => landing(ctx, &located, remaining),
        // A peek never consumes; an answer that says so is a broken store.
        (Purpose::Continue | Purpose::Landing, ConsumeOutcome::Consumed { .. }) => {
            ctx.refuse_link(Reason::UsageUnavailable, &located.auth)
        }
    }
}

/// Consume one use (the Download button's POST).
pub struct Consume<'c> {
    ctx: Ctx<'c>,
    located: Located,
    request: ConsumeRequest,
}

impl<'c> Consume<'c> {
    pub fn jti(&self) -> Jti {
        self.located.auth.link.claims().jti
    }

    pub fn request(&self) -> &ConsumeRequest {
        &self.request
    }

    /// When the counter may forget the link: every window that can still
    /// honour it has closed.
    pub fn forget_at(&self) -> u64 {
        forget_at(self.ctx.cfg, self.located.auth.link.claims())
    }

    pub fn answer(self, outcome: ConsumeOutcome) -> Step<'c> {
        let Consume { mut ctx, located, request } = self;
        match outcome {
            ConsumeOutcome::Consumed { .. } => {
                ctx.event.reason = None;
                let refund = RefundCall { client: request.client, time: request.now, path: request.path };
                // A CAT has no session URL: its token is not the link's format.
                let cat = located.auth.link.is_cat();
                if wants_html(ctx.facts.accept.as_deref()) && !located.plan.is_redirect() && !cat {
                    // Browsers cannot resume a POST: send them to a session
                    // URL that serves GET with Range for the grace window.
                    if let Some(location) = session_url(ctx.cfg, &located.auth.link) {
                        return ctx.finish(Reply::SeeOther { location }, 303, Reason::DownloadSession, None);
                    }
                }
                deliver(ctx, located, Some(refund))
            }
            ConsumeOutcome::UsedUp => ctx.refuse_link(Reason::UsedUp, &located.auth),
            ConsumeOutcome::Continued { .. } | ConsumeOutcome::NoSession { .. } => {
                ctx.refuse_link(Reason::UsageUnavailable, &located.auth)
            }
        }
    }

    pub fn unavailable(self) -> Step<'c> {
        self.ctx.refuse_link(Reason::UsageUnavailable, &self.located.auth)
    }

    pub fn unbound(self) -> Step<'c> {
        self.ctx.refuse_link(Reason::UsageStoreMissing, &self.located.auth)
    }
}

fn forget_at(cfg: &EdgeConfig, c: &Claims) -> u64 {
    c.exp.saturating_add(cfg.windows().after_exp())
}

/// A download-session URL: the link's own claims, narrowed to the object,
/// signed with the link's own key in the session domain. It verifies under
/// the same key, so killing the key kills the session; policy judges the
/// link's own claims; the counter decides whether this client may use it.
fn session_url(cfg: &EdgeConfig, link: &VerifiedLink) -> Option<String> {
    let mut claims = link.claims().clone();
    claims.scope = Scope::Object(link.path().clone());
    let key = cfg.keys.get(claims.kid.as_str())?;
    // A sealed link's session is sealed too, or its URL (a redirect target,
    // in the browser's history) would show the claims the link hides. The
    // gate has no random source: a synthetic nonce (§17.2).
    if link.sealed() {
        let nonce = synthetic_nonce(key, Domain::Session, &claims.encode_payload());
        let token = claims.seal_in(key, Domain::Session, &nonce).ok()?;
        // Path-less too (§17.7): the object's path is in no URL of a sealed link.
        return Some(format!("/{PATH_FORM_SESSION}/{token}"));
    }
    let token = claims.sign_in(key, Domain::Session).ok()?;
    Some(format!("{}?lgs={token}", link.path().to_url_path()))
}

/// Set the `lgm` cookie on the response to a GET of an unbounded prefix
/// link whose rule has media sessions. Bounded-use links never open one: a
/// session would serve hundreds of requests on one use, and the use count
/// is the point of such a link (they keep their landing page).
fn open_media_session(ctx: &Ctx<'_>, auth: &Authorized, plan: &mut Delivery) {
    let link = &auth.link;
    let claims = link.claims();
    let Scope::Prefix(prefix) = &claims.scope else { return };
    if auth.domain != Domain::Link || ctx.method != Method::Get || claims.uses.is_some() {
        return;
    }
    let Some(token) = media_token(ctx.cfg, link) else { return };
    let cookie = set_cookie(
        &token,
        &encode_path(prefix.as_str()),
        link.seconds_left(ctx.facts.now),
        !ctx.cfg.media_origins.is_empty(),
    );
    // A response that sets a session is nobody else's: no cache downstream
    // may keep it (or its Set-Cookie).
    for (name, value) in &mut plan.headers {
        match *name {
            "cache-control" => *value = "no-store".to_owned(),
            "expires" => *value = super::http::http_date(0),
            _ => {}
        }
    }
    plan.headers.push(("set-cookie", cookie));
}

/// Rewrite an HLS playlist or a DASH MPD (`media: "rewrite"`) opened by an unbounded
/// prefix link or a media session: its body goes through the streaming
/// rewriter, which adds `lgm=<session>` to every URI under the prefix. Only
/// a whole-body 200 (a range of a rewritten body would be another body); its
/// length is unknown ahead, its ETag is weak (the bytes are not the
/// object's), and it is never `public` (it carries a token).
fn rewrite_playlist(ctx: &Ctx<'_>, auth: &Authorized, plan: &mut Delivery) {
    let link = &auth.link;
    let claims = link.claims();
    let Scope::Prefix(prefix) = &claims.scope else { return };
    let opener = auth.domain == Domain::Media || (auth.domain == Domain::Link && claims.uses.is_none());
    let Some(kind) = ManifestKind::of_path(link.path().as_str()) else { return };
    if !opener || ctx.method != Method::Get || plan.status != 200 {
        return;
    }
    let Some(body) = plan.body.as_mut() else { return };
    let Some(token) = media_token(ctx.cfg, link) else { return };
    body.rewrite = Some(ManifestRewrite {
        kind,
        token,
        playlist: link.path().to_url_path(),
        prefix: encode_path(prefix.as_str()),
    });
    plan.headers.retain(|(name, _)| !matches!(*name, "content-length" | "accept-ranges"));
    for (name, value) in &mut plan.headers {
        match *name {
            "etag" if !value.starts_with("W/") => *value = format!("W/{value}"),
            "cache-control" if value.starts_with("public") => *value = value.replacen("public", "private", 1),
            _ => {}
        }
    }
}

/// A media-session token: the link's own claims (prefix scope, `exp`, IP
/// binding, jti: revoking the link revokes the session) under the link's
/// own key in the media domain; sealed when the link was.
fn media_token(cfg: &EdgeConfig, link: &VerifiedLink) -> Option<String> {
    let claims = link.claims();
    let key = cfg.keys.get(claims.kid.as_str())?;
    if link.sealed() {
        let nonce = synthetic_nonce(key, Domain::Media, &claims.encode_payload());
        return claims.seal_in(key, Domain::Media, &nonce).ok();
    }
    claims.sign_in(key, Domain::Media).ok()
}

/// What the counter needs to give a use back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundCall {
    pub client: String,
    pub time: u64,
    pub path: String,
}

fn deliver(mut ctx: Ctx<'_>, located: Located, refund: Option<RefundCall>) -> Step<'_> {
    if located.plan.is_redirect() {
        // Nothing to fetch: the client takes the bytes from storage itself.
        ctx.event.mode = Some("redirect");
        ctx.event.bytes = Some(0);
        let Located { plan, .. } = located;
        return ctx.finish(Reply::Redirect { headers: plan.headers }, 302, Reason::Redirected, None);
    }
    ctx.event.mode = Some("stream");
    // With an origin, every body comes from it: a body without its request
    // (it could not be signed) is refused, never read from R2 instead.
    let unsigned = located.plan.body.as_ref().is_some_and(|b| b.origin.is_none());
    if ctx.cfg.origin.is_some() && unsigned {
        return ctx.refuse_link(Reason::OriginError, &located.auth);
    }
    Step::Deliver(Deliver { ctx, located, refund })
}

/// Serve [`Self::plan`]; then say [`Self::sent`] or [`Self::failed`].
pub struct Deliver<'c> {
    ctx: Ctx<'c>,
    located: Located,
    refund: Option<RefundCall>,
}

impl<'c> Deliver<'c> {
    pub fn plan(&self) -> &Delivery {
        &self.located.plan
    }

    /// The response went out; `cache` is `hit`/`miss` when the edge cache took part.
    pub fn sent(self, cache: Option<&'static str>) -> Step<'c> {
        let Deliver { mut ctx, located, .. } = self;
        let plan = &located.plan;
        ctx.event.cache = cache;
        ctx.event.bytes = Some(plan.body.as_ref().map_or(0, |b| b.length));
        let record_start = record_start(&ctx, &located);
        let reason = if located.auth.resume_etag.is_some() { Reason::ResumeAfterExp } else { Reason::Served };
        let status = plan.status;
        match ctx.finish(Reply::Delivered, status, reason, record_start) {
            Step::Done(mut done) if status == 304 => {
                done.event.outcome = Some(Outcome::NotModified);
                Step::Done(done)
            }
            step => step,
        }
    }

    /// The delivery failed before the response: refuse, and give back a use
    /// this request consumed.
    pub fn failed(self, why: DeliveryFailure) -> Step<'c> {
        let Deliver { ctx, located, refund } = self;
        let reason = match why {
            DeliveryFailure::Missing => Reason::NoObject,
            DeliveryFailure::Changed => Reason::ObjectChanged,
            DeliveryFailure::Unavailable => Reason::ObjectUnavailable,
            DeliveryFailure::Origin(f) => Reason::of_origin(f),
        };
        match refund {
            Some(call) => Step::Refund(Refund { ctx, located, call, reason }),
            None => ctx.refuse_link(reason, &located.auth),
        }
    }
}

fn record_start(ctx: &Ctx<'_>, located: &Located) -> Option<RecordStart> {
    let c = located.auth.link.claims();
    let fresh_download = matches!(located.plan.status, 200 | 206) && ctx.method == Method::Get;
    let wanted = ctx.cfg.resume_grace_secs > 0
        && fresh_download
        && located.auth.domain == Domain::Link
        && located.auth.resume_etag.is_none()
        // A CAT has no resume after exp (docs/cat.md).
        && !located.auth.link.is_cat()
        // A consumed use is its own start.
        && c.uses.is_none();
    if !wanted {
        return None;
    }
    Some(RecordStart {
        jti: c.jti,
        start: Start {
            time: ctx.facts.now,
            client: ctx.client(),
            path: located.auth.link.path().as_str().to_owned(),
            etag: located.etag.clone(),
        },
        forget_at: forget_at(ctx.cfg, c),
    })
}

/// Give back the use of a download that failed; then refuse with its reason.
pub struct Refund<'c> {
    ctx: Ctx<'c>,
    located: Located,
    call: RefundCall,
    reason: Reason,
}

impl<'c> Refund<'c> {
    pub fn jti(&self) -> Jti {
        self.located.auth.link.claims().jti
    }

    pub fn call(&self) -> &RefundCall {
        &self.call
    }

    /// Whether the counter gave the use back (the audit event says which).
    pub fn done(self, given_back: bool) -> Step<'c> {
        let Refund { mut ctx, located, reason, .. } = self;
        ctx.event.rule = Some(if given_back { "usage:refunded" } else { "usage:refund_failed" }.to_owned());
        ctx.refuse_link(reason, &located.auth)
    }
}

fn landing<'c>(mut ctx: Ctx<'c>, located: &Located, uses_left: u32) -> Step<'c> {
    let link = &located.auth.link;
    let claims = link.claims();
    let (_, _, query) = split_url(&ctx.facts.url);
    let token = match &located.auth.form_token {
        Some(t) => t.as_str(),
        None => match query_token(query) {
            Ok(QueryToken::Link(t)) => t,
            _ => "",
        },
    };
    let utc = rfc3339(claims.exp);
    // A sealed link's form posts to its path-less URL: the object's path is
    // in no URL of a sealed link (§17.7).
    let action = if link.sealed() { format!("/{PATH_FORM_LINK}/{token}") } else { link.path().to_url_path() };
    // Opened from outside where the object's rule expects its links to be
    // used: said before the button, and recorded (docs/policy.md).
    let rule = ctx.cfg.policy.rule_for(located.meta.classification.as_deref());
    let untrusted = super::policy::untrusted_context(&rule, ctx.facts.country.as_deref(), ctx.client_ip());
    ctx.event.context = untrusted.map(super::policy::Untrusted::as_str);
    let html = landing_page(&Landing {
        file_name: claims.filename.as_ref().map_or_else(|| link.path().file_name(), |f| f.as_str()),
        size: located.meta.size,
        expires_at: claims.exp,
        expires_utc: &utc,
        uses_left,
        action: &action,
        token,
        warning: untrusted.map(super::policy::Untrusted::warning),
    });
    ctx.finish(Reply::Page { status: 200, html }, 200, Reason::LandingPage, None)
}

impl<'c> Ctx<'c> {
    /// The client's address, parsed.
    /// The client address; a text that is not one counts as none (§9).
    fn client_ip(&self) -> Option<IpAddr> {
        self.facts.client_ip.as_deref().and_then(super::ip::parse_addr)
    }

    /// Who may continue a download: a fingerprint of address and user agent.
    fn client(&self) -> String {
        let ip = self.client_ip().map(|i| super::ip::addr_text(&i));
        client_fingerprint(ip.as_deref(), self.facts.user_agent.as_deref())
    }

    /// A refusal of a verified link (its claims are in the event).
    fn refuse_link(self, reason: Reason, auth: &Authorized) -> Step<'c> {
        self.refuse_with(reason, auth, Vec::new())
    }

    fn refuse_with(self, reason: Reason, auth: &Authorized, headers: Vec<(&'static str, String)>) -> Step<'c> {
        let link = &auth.link;
        self.refuse_full(reason, Some((link.path(), Some(link.claims()))), headers)
    }

    /// A refusal; `about` is the canonical path and, when the tag verified,
    /// the claims.
    fn refuse(self, reason: Reason, about: Option<(&CanonicalPath, Option<&Claims>)>) -> Step<'c> {
        self.refuse_full(reason, about, Vec::new())
    }

    fn refuse_full(
        mut self,
        reason: Reason,
        about: Option<(&CanonicalPath, Option<&Claims>)>,
        headers: Vec<(&'static str, String)>,
    ) -> Step<'c> {
        let code = reason.code().unwrap_or(Code::StoreUnavailable);
        let (path, claims) = about.map_or((None, None), |(p, c)| (Some(p), c));
        if let Some(p) = path {
            self.event.path = Some(p.as_str().to_owned());
        }
        if let Some(c) = claims {
            self.event.with_claims(c);
        }
        self.event.refuse(code, reason.as_str());
        let jti = claims.map(|c| c.jti.to_hex());
        let refresh = self.cfg.refresh_url.as_deref().filter(|_| problem::offers_refresh(code)).map(|t| {
            let encoded = path.map(|p| encode_path(p.as_str()));
            refresh_url(t, encoded.as_deref(), jti.as_deref())
        });
        // A person following a link in a browser gets a page in plain words
        // with the same status; scripts keep problem JSON. A refusal that
        // carries protocol headers (416's Content-Range) stays JSON.
        let sign_in = match code {
            Code::IdentityRequired | Code::ReauthRequired | Code::IdentityMismatch => self.sign_in_url(),
            _ => None,
        };
        let reply = if self.wants_html() && headers.is_empty() {
            let utc = |t: Option<u64>| t.map(rfc3339);
            let (expired_at, opens_at) = (utc(claims.map(|c| c.exp)), utc(claims.and_then(|c| c.nbf)));
            let page = RefusalPage {
                expired_at: expired_at.as_deref(),
                opens_at: opens_at.as_deref(),
                refresh: refresh.as_deref(),
                sign_in: sign_in.as_deref(),
                request_id: &self.facts.request_id,
            };
            Reply::Page { status: code.status(), html: refusal_page(code, &page) }
        } else {
            let mut fields = problem::fields(code, refresh.as_deref(), Some(&self.facts.request_id));
            if let Some(t) = &sign_in {
                fields = fields.str("login", &crate::identity::without_return(t));
            }
            let body = fields.finish().into_string();
            // A player on another origin reads the status (401, 410) instead
            // of a bare network error.
            let mut headers = headers;
            headers.extend(cors_headers(&self.cfg.media_origins, self.facts.origin.as_deref()));
            Reply::Problem { status: code.status(), body, headers }
        };
        Step::Done(Box::new(Done { reply, event: self.event, record_start: None }))
    }

    fn wants_html(&self) -> bool {
        wants_html(self.facts.accept.as_deref())
    }

    /// The sign-in address, its way back left to the browser
    /// ([`crate::identity::RETURN_MARKER`]): the token is in no error body.
    fn sign_in_url(&self) -> Option<String> {
        let id = self.cfg.identity.as_ref()?;
        let scheme = self.facts.url.split_once("://").map_or("https", |(s, _)| s);
        let (authority, _, _) = split_url(&self.facts.url);
        id.sign_in_template(scheme, authority, self.identity_max_age)
    }

    /// A request let through.
    fn finish(mut self, reply: Reply, status: u16, reason: Reason, record: Option<RecordStart>) -> Step<'c> {
        self.event.status = status;
        self.event.outcome = Some(Outcome::Allowed);
        self.event.code = None;
        self.event.reason = Some(reason.as_str());
        Step::Done(Box::new(Done { reply, event: self.event, record_start: record }))
    }
}

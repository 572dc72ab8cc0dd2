//! Links for one person: who is asking, from the organisation's sign-in
//! (`docs/identity.md`).
//!
//! `LINKGATE_IDENTITY` (JSON) names one identity source: Cloudflare Access
//! (the `Cf-Access-Jwt-Assertion` header or the `CF_Authorization` cookie,
//! the team's JWKS, the application's AUD tag) or a generic OIDC provider
//! (an ID token in a cookie, the issuer's JWKS). A classification rule with
//! `identity` ([`IdentityRule`], `docs/policy.md`) then requires a verified
//! assertion whose configured claim equals the link's `sub` (the link
//! format is unchanged: `sub` already names the recipient), optionally a
//! recent sign-in, group membership or other claim values. Unset = the
//! feature is off; a rule that requires identity then fails closed
//! (`identity_unavailable`, reason `identity_unconfigured`).

use core::fmt;

use super::duration::parse_duration;
use super::json::{self, Obj, Value};
use super::jwks::{Jwk, Jwks};
use super::jwt::{Alg, ClaimRefusal, Jwt, JwtError};
use super::verify::TimeRules;

/// The request header Cloudflare Access sets.
pub const ACCESS_HEADER: &str = "cf-access-jwt-assertion";
/// The cookie Cloudflare Access sets in browsers.
pub const ACCESS_COOKIE: &str = "CF_Authorization";
/// Default interval between two JWKS fetches for an unknown `kid`.
pub const DEFAULT_JWKS_REFRESH_SECS: u64 = 30;
/// Default bound on a JWKS fetch.
pub const DEFAULT_JWKS_TIMEOUT_MS: u64 = 3000;
/// Longest identity value kept in an audit event.
pub const MAX_IDENTITY_BYTES: usize = 256;

/// Where assertions come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Cloudflare Access: header, then cookie.
    Access,
    /// A generic OpenID Connect provider: an ID token in a cookie.
    Oidc,
}

/// `LINKGATE_IDENTITY`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityConfig {
    pub source: Source,
    /// The exact `iss` (Access: `https://<team>.cloudflareaccess.com`).
    pub issuer: String,
    /// Accepted `aud` values (Access: the application's AUD tag).
    pub audiences: Vec<String>,
    pub jwks_url: String,
    /// The cookie holding the assertion.
    pub cookie: String,
    /// The claim whose value is the person's id, as a path (`sub`,
    /// `email`, `custom.employee_id`).
    pub claim: Vec<String>,
    /// With an email claim: the organisation's mail domain. The link's
    /// `sub` (which may not hold an `@`) is then the mailbox name, and only
    /// addresses of this domain match.
    pub email_domain: Option<String>,
    /// The claim listing the person's groups (`groups`).
    pub groups_claim: Vec<String>,
    pub algorithms: Vec<Alg>,
    /// The sign-in address offered on refusal pages (placeholders:
    /// `{return}`, `{return_path}`, `{host}`, `{max_age}`).
    pub login_url: Option<String>,
    /// Least time between two JWKS fetches for an unknown `kid`, ms.
    pub jwks_refresh_ms: u64,
    pub jwks_timeout_ms: u64,
}

/// Why `LINKGATE_IDENTITY` was refused: a message naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityConfigError(pub String);

impl fmt::Display for IdentityConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LINKGATE_IDENTITY: {}", self.0)
    }
}

const FIELDS: [&str; 14] = [
    "source",
    "team_domain",
    "issuer",
    "audience",
    "jwks_url",
    "cookie",
    "claim",
    "email_domain",
    "groups_claim",
    "algorithms",
    "login_url",
    "jwks_refresh_secs",
    "jwks_timeout_ms",
    "note",
];

fn bad(msg: impl Into<String>) -> IdentityConfigError {
    IdentityConfigError(msg.into())
}

fn text<'o>(o: &'o Obj, key: &str) -> Result<Option<&'o str>, IdentityConfigError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_str().map(Some).ok_or_else(|| bad(format!("{key} must be a string"))),
    }
}

fn texts(o: &Obj, key: &str) -> Result<Option<Vec<String>>, IdentityConfigError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(vec![s.clone()])),
        Some(Value::Arr(a)) if !a.is_empty() => a
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| bad(format!("{key} must list strings"))))
            .collect::<Result<_, _>>()
            .map(Some),
        Some(_) => Err(bad(format!("{key} must be a string or a non-empty list of strings"))),
    }
}

/// A claim path: dot-separated names, 1-4 of them.
pub fn claim_path(text: &str) -> Option<Vec<String>> {
    let parts: Vec<String> = text.split('.').map(str::to_owned).collect();
    let ok = (1..=4).contains(&parts.len())
        && parts.iter().all(|p| !p.is_empty() && p.len() <= 64 && p.bytes().all(|b| b.is_ascii_graphic()));
    ok.then_some(parts)
}

/// A URL linkgate fetches: `https://`, or `http://` to this machine only
/// (tests, a local provider).
fn fetchable(url: &str) -> bool {
    let host_of = |rest: &str| rest.split(['/', '?', '#']).next().unwrap_or("").to_owned();
    if let Some(rest) = url.strip_prefix("https://") {
        return !host_of(rest).is_empty() && !url.contains(char::is_whitespace);
    }
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let host = host_of(rest);
    let name = host
        .rsplit_once(':')
        .map_or(host.as_str(), |(h, p)| if p.bytes().all(|b| b.is_ascii_digit()) { h } else { "" });
    matches!(name, "127.0.0.1" | "localhost" | "[::1]")
}

/// The login URL template's placeholders.
const PLACEHOLDERS: [&str; 4] = ["{return}", "{return_path}", "{host}", "{max_age}"];

fn check_login_url(t: &str) -> Result<(), IdentityConfigError> {
    let absolute = t.starts_with("https://") || fetchable(t);
    let relative = t.starts_with('/') && !t.starts_with("//");
    if !(absolute || relative) || t.contains(char::is_whitespace) || t.contains(['"', '<', '>']) {
        return Err(bad("login_url must be an https:// URL or a path on this host (/...)"));
    }
    let mut rest = t;
    while let Some(i) = rest.find('{') {
        let tail = rest.get(i..).unwrap_or("");
        let Some(p) = PLACEHOLDERS.iter().find(|p| tail.starts_with(*p)) else {
            return Err(bad("login_url: unknown placeholder; use {return}, {return_path}, {host} or {max_age}"));
        };
        rest = tail.get(p.len()..).unwrap_or("");
    }
    Ok(())
}

fn host_name(t: &str) -> bool {
    !t.is_empty() && t.len() <= 253 && t.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
}

fn seconds(
    o: &Obj,
    key: &str,
    default: u64,
    range: core::ops::RangeInclusive<u64>,
) -> Result<u64, IdentityConfigError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .filter(|n| range.contains(n))
            .ok_or_else(|| bad(format!("{key} must be a whole number from {} to {}", range.start(), range.end()))),
    }
}

impl IdentityConfig {
    /// Parse `LINKGATE_IDENTITY`; unset or blank = off (None).
    pub fn parse(text_value: Option<&str>) -> Result<Option<IdentityConfig>, IdentityConfigError> {
        let Some(t) = text_value.filter(|t| !t.trim().is_empty()) else { return Ok(None) };
        let doc = json::parse(t).map_err(|e| bad(format!("not JSON: {e} (expected an object)")))?;
        let o = doc.as_obj().ok_or_else(|| bad("expected an object"))?;
        if let Some(k) = o.unknown_key(&FIELDS) {
            return Err(bad(format!("unknown field \"{k}\", expected one of {}", FIELDS.join(", "))));
        }
        let source = match text(o, "source")? {
            Some("access") => Source::Access,
            Some("oidc") => Source::Oidc,
            _ => return Err(bad("source must be \"access\" or \"oidc\"")),
        };
        let audiences =
            texts(o, "audience")?.ok_or_else(|| bad("audience is required (Access: the application's AUD tag)"))?;
        if audiences.iter().any(|a| a.is_empty()) {
            return Err(bad("audience must not be empty"));
        }
        let (issuer, jwks_default, cookie_default, login_default, algs_default) = match source {
            Source::Access => {
                if text(o, "issuer")?.is_some() {
                    return Err(bad("issuer is derived from team_domain for source access"));
                }
                let team = text(o, "team_domain")?.ok_or_else(|| bad("team_domain is required for source access"))?;
                let team = team.trim().trim_start_matches("https://").trim_end_matches('/').to_ascii_lowercase();
                let team = if team.contains('.') { team } else { format!("{team}.cloudflareaccess.com") };
                if !host_name(&team) {
                    return Err(bad("team_domain must be a team name or <team>.cloudflareaccess.com"));
                }
                let aud = audiences.first().cloned().unwrap_or_default();
                (
                    format!("https://{team}"),
                    Some(format!("https://{team}/cdn-cgi/access/certs")),
                    ACCESS_COOKIE.to_owned(),
                    Some(format!(
                        "https://{team}/cdn-cgi/access/login/{{host}}?kid={aud}&redirect_url={{return_path}}"
                    )),
                    vec![Alg::Rs256],
                )
            }
            Source::Oidc => {
                if text(o, "team_domain")?.is_some() {
                    return Err(bad("team_domain is for source access"));
                }
                let iss = text(o, "issuer")?
                    .filter(|i| !i.is_empty())
                    .ok_or_else(|| bad("issuer is required for source oidc"))?;
                let cookie = text(o, "cookie")?
                    .ok_or_else(|| bad("cookie is required for source oidc (the cookie holding the ID token)"))?;
                (iss.to_owned(), None, cookie.to_owned(), None, vec![Alg::Rs256, Alg::Es256])
            }
        };
        let jwks_url = match text(o, "jwks_url")? {
            Some(u) => u.to_owned(),
            None => jwks_default.ok_or_else(|| bad("jwks_url is required for source oidc"))?,
        };
        if !fetchable(&jwks_url) {
            return Err(bad("jwks_url must be an https:// URL (http:// only to 127.0.0.1 or localhost)"));
        }
        let cookie = text(o, "cookie")?.map_or(cookie_default, str::to_owned);
        if cookie.is_empty() || !cookie.bytes().all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b)) {
            return Err(bad("cookie must be a cookie name"));
        }
        let path = |key: &str, default: &str| -> Result<Vec<String>, IdentityConfigError> {
            let t = text(o, key)?.unwrap_or(default);
            claim_path(t)
                .ok_or_else(|| bad(format!("{key} must be a claim name or a dotted path such as custom.employee_id")))
        };
        let claim = path("claim", "sub")?;
        let groups_claim = path("groups_claim", "groups")?;
        let email_domain = match text(o, "email_domain")? {
            Some(d) if host_name(d) && d.contains('.') => Some(d.to_ascii_lowercase()),
            Some(_) => return Err(bad("email_domain must be a mail domain such as example.com")),
            None => None,
        };
        let algorithms = match texts(o, "algorithms")? {
            None => algs_default,
            Some(list) => list
                .iter()
                .map(|a| Alg::parse(a).ok_or_else(|| bad("algorithms must list RS256 and/or ES256")))
                .collect::<Result<_, _>>()?,
        };
        let login_url = match text(o, "login_url")? {
            Some("") => None,
            Some(u) => Some(u.to_owned()),
            None => login_default,
        };
        if let Some(u) = &login_url {
            check_login_url(u)?;
        }
        Ok(Some(IdentityConfig {
            source,
            issuer,
            audiences,
            jwks_url,
            cookie,
            claim,
            email_domain,
            groups_claim,
            algorithms,
            login_url,
            jwks_refresh_ms: seconds(o, "jwks_refresh_secs", DEFAULT_JWKS_REFRESH_SECS, 1..=600)?.saturating_mul(1000),
            jwks_timeout_ms: seconds(o, "jwks_timeout_ms", DEFAULT_JWKS_TIMEOUT_MS, 100..=10_000)?,
        }))
    }

    /// The assertion a request carries: Access's header first (Cloudflare
    /// recommends it over the cookie), then the cookie. A cookie named twice
    /// is ambiguous: linkgate never picks one of two credentials.
    pub fn assertion<'a>(
        &self,
        header: Option<&'a str>,
        cookie: Option<&'a str>,
    ) -> Result<Option<&'a str>, IdentityRefusal> {
        if self.source == Source::Access {
            if let Some(h) = header.map(str::trim).filter(|h| !h.is_empty()) {
                return Ok(Some(h));
            }
        }
        let mut found = None;
        for piece in cookie.unwrap_or("").split(';') {
            if let Some((n, v)) = piece.trim().split_once('=') {
                if n.trim() == self.cookie {
                    if found.is_some() {
                        return Err(IdentityRefusal::Ambiguous);
                    }
                    found = Some(v.trim().trim_matches('"'));
                }
            }
        }
        Ok(found.filter(|v| !v.is_empty()))
    }

    /// The sign-in address for a refusal page, with [`RETURN_MARKER`] where
    /// the link to come back to goes (`{return}`: the whole link;
    /// `{return_path}`: its path and query). linkgate never writes the link
    /// there itself: the token would be in an error body. The page's script
    /// puts the browser's own address in place of the marker when the
    /// person clicks (`docs/identity.md`, "Signing in and back").
    pub fn sign_in_template(&self, scheme: &str, host: &str, max_age: Option<u64>) -> Option<String> {
        self.login_for(scheme, host, RETURN_MARKER, max_age)
    }

    /// The template with the return filled in (`path_and_query`, encoded here).
    pub fn login_for(&self, scheme: &str, host: &str, path_and_query: &str, max_age: Option<u64>) -> Option<String> {
        let t = self.login_url.as_deref()?;
        let whole = format!("{scheme}://{host}{path_and_query}");
        Some(
            t.replace("{return_path}", &encode_component(path_and_query))
                .replace("{return}", &encode_component(&whole))
                .replace("{host}", &encode_component(host))
                .replace("{max_age}", &max_age.map(|s| s.to_string()).unwrap_or_default()),
        )
    }
}

/// Where a sign-in template wants the way back: replaced in the browser by
/// the percent-encoded path and query of the refused address (unreserved
/// characters only, so percent-encoding leaves it as it is).
pub const RETURN_MARKER: &str = "LG-RETURN";

/// The sign-in address without a way back (scripts, browsers without
/// JavaScript): the marker becomes `/`.
pub fn without_return(template: &str) -> String {
    template.replace(RETURN_MARKER, "%2F")
}

/// Percent-encode for a query component: everything but unreserved
/// characters (the path encoder's set, without `/`).
pub fn encode_component(s: &str) -> String {
    super::path::encode_path(s).replace('/', "%2F")
}

/// A classification rule's identity requirement (`docs/policy.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRule {
    /// The link must name its recipient (`sub`) and only that identity opens
    /// it (default). False: any verified identity meeting the rest.
    pub bind: bool,
    /// The sign-in (`auth_time`, else `iat`) at most this many seconds ago.
    pub max_auth_age_secs: Option<u64>,
    /// At least one of these in the configured groups claim.
    pub groups: Vec<String>,
    /// Other claims: each (path, accepted values) must hold one of its values.
    pub claims: Vec<(Vec<String>, Vec<String>)>,
}

impl IdentityRule {
    /// The rule of `"identity": true`.
    pub fn bound() -> IdentityRule {
        IdentityRule { bind: true, max_auth_age_secs: None, groups: Vec::new(), claims: Vec::new() }
    }

    /// Parse a rule's `identity` member: `true`, `false`, or an object with
    /// `bind`, `max_auth_age`, `groups`, `claims`. `Err` is the message.
    pub fn parse(v: &Value) -> Result<Option<IdentityRule>, String> {
        let o = match v {
            Value::Bool(true) => return Ok(Some(IdentityRule::bound())),
            Value::Bool(false) => return Ok(None),
            Value::Obj(o) => o,
            _ => return Err("must be true, false or an object".to_owned()),
        };
        if let Some(k) = o.unknown_key(&["bind", "max_auth_age", "groups", "claims"]) {
            return Err(format!("unknown field \"{k}\", expected bind, max_auth_age, groups or claims"));
        }
        let mut rule = IdentityRule::bound();
        if let Some(b) = o.get("bind").filter(|v| !v.is_null()) {
            rule.bind = b.as_bool().ok_or("bind must be true or false")?;
        }
        if let Some(a) = o.get("max_auth_age").filter(|v| !v.is_null()) {
            let t = a.as_str().ok_or("max_auth_age must be a duration such as \"1h\"")?;
            rule.max_auth_age_secs = Some(parse_duration(t).ok_or("max_auth_age must be a duration such as \"1h\"")?);
        }
        let list = |v: &Value, what: &str| -> Result<Vec<String>, String> {
            let items =
                v.as_arr().filter(|a| !a.is_empty()).ok_or(format!("{what} must be a non-empty list of strings"))?;
            items.iter().map(|x| x.as_str().map(str::to_owned).ok_or(format!("{what} must list strings"))).collect()
        };
        if let Some(g) = o.get("groups").filter(|v| !v.is_null()) {
            rule.groups = list(g, "groups")?;
        }
        if let Some(c) = o.get("claims").filter(|v| !v.is_null()) {
            let c = c.as_obj().ok_or("claims must be an object of claim path to accepted values")?;
            for (name, values) in c.iter() {
                let path = claim_path(name).ok_or(format!("claims: \"{name}\" is not a claim path"))?;
                rule.claims.push((path, list(values, &format!("claims.{name}"))?));
            }
        }
        Ok(Some(rule))
    }
}

/// Why a request's identity did not open the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityRefusal {
    /// The rule requires identity but `LINKGATE_IDENTITY` is not set.
    Unconfigured,
    /// The request carries no assertion.
    Missing,
    /// The assertion cookie is named twice.
    Ambiguous,
    /// The assertion failed the strict reader.
    Malformed(JwtError),
    /// The provider's keys could not be had (nothing cached, fetch failed).
    KeysUnavailable,
    /// No key of the provider's JWKS has the token's `kid` and `alg`.
    UnknownKey,
    /// The signature does not verify under the provider's key.
    BadSignature,
    Issuer,
    Audience,
    Expired,
    NotYetValid,
    /// The assertion lacks the configured claim (or, with `email_domain`,
    /// is an address of another domain).
    NoSubject,
    /// The assertion's person is not the link's recipient.
    OtherSubject,
    /// Not in any of the rule's groups.
    NotInGroup,
    /// A claim of the rule's `claims` does not hold an accepted value.
    Claim,
    /// Signed in longer ago than the rule's `max_auth_age`.
    Stale,
}

impl IdentityRefusal {
    /// The stable name (the audit event's `reason`).
    pub const fn as_str(self) -> &'static str {
        match self {
            IdentityRefusal::Unconfigured => "identity_unconfigured",
            IdentityRefusal::Missing => "identity_missing",
            IdentityRefusal::Ambiguous => "identity_ambiguous",
            IdentityRefusal::Malformed(e) => e.as_str(),
            IdentityRefusal::KeysUnavailable => "identity_keys_unavailable",
            IdentityRefusal::UnknownKey => "identity_unknown_key",
            IdentityRefusal::BadSignature => "identity_bad_signature",
            IdentityRefusal::Issuer => "identity_issuer",
            IdentityRefusal::Audience => "identity_audience",
            IdentityRefusal::Expired => "identity_expired",
            IdentityRefusal::NotYetValid => "identity_not_yet_valid",
            IdentityRefusal::NoSubject => "identity_no_subject",
            IdentityRefusal::OtherSubject => "identity_other_subject",
            IdentityRefusal::NotInGroup => "identity_not_in_group",
            IdentityRefusal::Claim => "identity_claim",
            IdentityRefusal::Stale => "identity_stale",
        }
    }

    /// The audit rule suffix (`<class>.identity…`) of this refusal.
    pub const fn rule_suffix(self) -> &'static str {
        match self {
            IdentityRefusal::OtherSubject | IdentityRefusal::NoSubject => "identity.sub",
            IdentityRefusal::NotInGroup => "identity.groups",
            IdentityRefusal::Claim => "identity.claims",
            IdentityRefusal::Stale => "identity.max_auth_age",
            _ => "identity",
        }
    }
}

impl From<ClaimRefusal> for IdentityRefusal {
    fn from(c: ClaimRefusal) -> Self {
        match c {
            ClaimRefusal::Issuer => IdentityRefusal::Issuer,
            ClaimRefusal::Audience => IdentityRefusal::Audience,
            ClaimRefusal::Expired => IdentityRefusal::Expired,
            ClaimRefusal::NotYetValid => IdentityRefusal::NotYetValid,
        }
    }
}

/// The person's id from an authentic assertion: the configured claim's
/// text, and with `email_domain` the mailbox name of an address in it
/// (lowercased). None when the claim is absent or of another domain.
pub fn person(cfg: &IdentityConfig, jwt: &Jwt) -> Option<String> {
    let value = jwt.claim(&cfg.claim)?.as_str()?;
    match &cfg.email_domain {
        None => Some(value.to_owned()),
        Some(domain) => {
            let (local, host) = value.rsplit_once('@')?;
            (host.eq_ignore_ascii_case(domain) && !local.is_empty()).then(|| local.to_ascii_lowercase())
        }
    }
}

/// The provider's key for an assertion: the one with its `kid` and a type
/// that suits its `alg`, and a signature as long as that key's.
pub fn select_key<'k>(jwks: &'k Jwks, jwt: &Jwt) -> Result<&'k Jwk, IdentityRefusal> {
    let key = jwks.find(jwt.kid(), jwt.alg()).ok_or(IdentityRefusal::UnknownKey)?;
    if jwt.signature().len() != key.signature_len() {
        return Err(IdentityRefusal::Malformed(JwtError::SignatureLength));
    }
    Ok(key)
}

/// A signature check a driver brings to [`decide`]: key, algorithm, signed
/// bytes, signature.
pub type Verifier<'v> = dyn FnMut(&Jwk, Alg, &[u8], &[u8]) -> bool + 'v;

/// The whole identity decision for a driver that holds the keys and can
/// verify signatures itself (tests, the vectors, the fuzzer): the gate's
/// steps in the gate's order (read, key, signature, [`judge`]). Returns the
/// verdict and the identity an audit event would record.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    cfg: &IdentityConfig,
    rule: &IdentityRule,
    jwks: &Jwks,
    assertion: &str,
    link_sub: Option<&str>,
    time: &TimeRules,
    now: u64,
    verify: &mut Verifier<'_>,
) -> (Result<(), IdentityRefusal>, Option<String>) {
    let jwt = match Jwt::parse(assertion, &cfg.algorithms) {
        Ok(j) => j,
        Err(e) => return (Err(IdentityRefusal::Malformed(e)), None),
    };
    let key = match select_key(jwks, &jwt) {
        Ok(k) => k,
        Err(r) => return (Err(r), None),
    };
    if !verify(key, jwt.alg(), jwt.signing_input(), jwt.signature()) {
        return (Err(IdentityRefusal::BadSignature), None);
    }
    (judge(cfg, rule, &jwt, link_sub, time, now), audit_value(cfg, &jwt))
}

/// The raw claim value for the audit trail, capped.
pub fn audit_value(cfg: &IdentityConfig, jwt: &Jwt) -> Option<String> {
    let mut v = jwt.claim(&cfg.claim)?.as_str()?.to_owned();
    super::audit::truncate(&mut v, MAX_IDENTITY_BYTES);
    Some(v)
}

/// Judge an authentic assertion (its signature verified) against the rule
/// and the link's recipient: registered claims, then who it is, groups,
/// other claims, and last the sign-in's age (the one a fresh sign-in fixes).
pub fn judge(
    cfg: &IdentityConfig,
    rule: &IdentityRule,
    jwt: &Jwt,
    link_sub: Option<&str>,
    time: &TimeRules,
    now: u64,
) -> Result<(), IdentityRefusal> {
    super::jwt::check_registered(jwt.registered(), &cfg.issuer, &cfg.audiences, time, now)?;
    let who = person(cfg, jwt);
    if rule.bind {
        let Some(who) = who else { return Err(IdentityRefusal::NoSubject) };
        let same = match (&cfg.email_domain, link_sub) {
            (_, None) => false,
            (Some(_), Some(sub)) => who.eq_ignore_ascii_case(sub),
            (None, Some(sub)) => who == sub,
        };
        if !same {
            return Err(IdentityRefusal::OtherSubject);
        }
    } else if who.is_none() {
        return Err(IdentityRefusal::NoSubject);
    }
    if !rule.groups.is_empty() {
        let mine = jwt.claim_texts(&cfg.groups_claim);
        if !rule.groups.iter().any(|g| mine.contains(&g.as_str())) {
            return Err(IdentityRefusal::NotInGroup);
        }
    }
    for (path, accepted) in &rule.claims {
        let values = jwt.claim_texts(path);
        if !accepted.iter().any(|a| values.contains(&a.as_str())) {
            return Err(IdentityRefusal::Claim);
        }
    }
    if let Some(max) = rule.max_auth_age_secs {
        // Skew never extends freshness (as it never extends `exp`).
        match jwt.signed_in_at() {
            Some(t) if now.saturating_sub(t) <= max => {}
            _ => return Err(IdentityRefusal::Stale),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

//! The admin API's platform-free half: authentication, routing and request
//! validation. The edge only moves bytes to and from the stores.

use sha2::{Digest, Sha256};

use super::credential::Capability;
use super::duration::parse_duration;
use super::json::{self, Object, Value};
use super::mint::{Expiry, LinkRequest};
use super::path::{CanonicalPath, Prefix};
use super::revocation::RevocationScope;
use super::token::Jti;
use super::verify::Method;

/// Largest JSON body accepted by the admin API.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest page of a listing.
pub const MAX_PAGE: u32 = 1000;
/// Default page size.
pub const DEFAULT_PAGE: u32 = 100;

/// Compare `Authorization: Bearer <token>` with the configured token in
/// constant time. Both sides are hashed first so that neither the length nor
/// a common prefix of the secret leaks through timing. The scheme name is
/// case-insensitive (RFC 9110 §11.1: `bearer` and `BEARER` are `Bearer`);
/// the token is not.
pub fn bearer_matches(authorization: Option<&str>, expected: &str) -> bool {
    let Some(given) = authorization
        .and_then(|h| h.split_once(' '))
        .and_then(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer").then_some(token))
    else {
        return false;
    };
    if expected.is_empty() {
        return false;
    }
    let a = Sha256::digest(given.trim().as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    core::hint::black_box(diff) == 0
}

/// Every admin route as (method, OpenAPI path template). `docs/admin-api.yaml`
/// must describe exactly these (checked by `tests/openapi.rs`).
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/_linkgate/links"),
    ("POST", "/_linkgate/inspect"),
    ("POST", "/_linkgate/revocations"),
    ("GET", "/_linkgate/revocations"),
    ("DELETE", "/_linkgate/revocations/{scope}/{value}"),
    ("GET", "/_linkgate/events"),
    ("PUT", "/_linkgate/files/{path}"),
    ("GET", "/_linkgate/files"),
    ("GET", "/_linkgate/policy"),
    ("GET", "/_linkgate/events/hourly"),
];

/// An admin call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    MintLink,
    Inspect,
    CreateRevocation,
    ListRevocations,
    DeleteRevocation {
        scope: RevocationScope,
        value: String,
    },
    Events,
    PutFile {
        path: CanonicalPath,
    },
    /// The bucket listing under a folder (the console's path picker).
    ListFiles,
    /// The classification policy as the worker applies it.
    Policy,
    /// Downloads and refusals per hour (the console's chart).
    EventsHourly,
}

impl Route {
    /// What a scoped credential needs for this call (`docs/admin.md`; the
    /// OpenAPI document's `x-linkgate-capability`, checked by
    /// `tests/openapi.rs`). Exhaustive: a new route does not compile until
    /// it says what it needs.
    pub fn capability(&self) -> Capability {
        match self {
            Route::MintLink => Capability::LinksMint,
            Route::Inspect => Capability::LinksInspect,
            Route::CreateRevocation | Route::ListRevocations | Route::DeleteRevocation { .. } => Capability::Revoke,
            Route::Events => Capability::EventsRead,
            Route::PutFile { .. } => Capability::FilesWrite,
            Route::EventsHourly => Capability::EventsRead,
            // The listing is the mint form's path picker and the policy its
            // limits shown before submit: what a minting credential needs
            // (docs/admin.md).
            Route::ListFiles | Route::Policy => Capability::LinksMint,
        }
    }
}

/// Why a route did not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    NotFound,
    MethodNotAllowed {
        allow: &'static str,
    },
    /// A path parameter is invalid (400).
    BadParameter {
        field: &'static str,
        detail: String,
    },
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let h = char::from(*b.get(i + 1)?).to_digit(16)?;
            let l = char::from(*b.get(i + 2)?).to_digit(16)?;
            out.push(u8::try_from(h * 16 + l).ok()?);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Match method and raw path (starting with `/_linkgate/`).
pub fn route(method: Method, raw_path: &str) -> Result<Route, RouteError> {
    let rest = raw_path.strip_prefix("/_linkgate/").ok_or(RouteError::NotFound)?;
    // HEAD is GET without the body, wherever GET exists (the edge drops it).
    let method =
        if method == Method::Head && matches!(rest, "events" | "revocations" | "files" | "policy" | "events/hourly") {
            Method::Get
        } else {
            method
        };
    let m = |want: Method, allow: &'static str, r: Route| {
        if method == want {
            Ok(r)
        } else {
            Err(RouteError::MethodNotAllowed { allow })
        }
    };
    match rest {
        "links" => m(Method::Post, "POST", Route::MintLink),
        "inspect" => m(Method::Post, "POST", Route::Inspect),
        "events" => m(Method::Get, "GET", Route::Events),
        "events/hourly" => m(Method::Get, "GET", Route::EventsHourly),
        "files" => m(Method::Get, "GET", Route::ListFiles),
        "policy" => m(Method::Get, "GET", Route::Policy),
        "revocations" => match method {
            Method::Post => Ok(Route::CreateRevocation),
            Method::Get => Ok(Route::ListRevocations),
            _ => Err(RouteError::MethodNotAllowed { allow: "GET, POST" }),
        },
        _ => {
            if let Some(tail) = rest.strip_prefix("revocations/") {
                if method != Method::Delete {
                    return Err(RouteError::MethodNotAllowed { allow: "DELETE" });
                }
                let (scope, value) = tail.split_once('/').unwrap_or((tail, ""));
                let scope = RevocationScope::parse(scope).ok_or_else(|| RouteError::BadParameter {
                    field: "scope",
                    detail: "must be one of jti, sub, tenant, path, kid, all, credential".into(),
                })?;
                let value = percent_decode(value).ok_or_else(|| RouteError::BadParameter {
                    field: "value",
                    detail: "must be percent-encoded UTF-8".into(),
                })?;
                return Ok(Route::DeleteRevocation { scope, value });
            }
            if let Some(tail) = rest.strip_prefix("files/") {
                if method != Method::Put {
                    return Err(RouteError::MethodNotAllowed { allow: "PUT" });
                }
                let path = CanonicalPath::from_request(&format!("/{tail}")).map_err(|e| RouteError::BadParameter {
                    field: "path",
                    detail: format!("not a canonical object path ({e})"),
                })?;
                if is_reserved(path.as_str()) {
                    return Err(RouteError::BadParameter {
                        field: "path",
                        detail: "/_linkgate/ is reserved for the admin API".into(),
                    });
                }
                return Ok(Route::PutFile { path });
            }
            Err(RouteError::NotFound)
        }
    }
}

/// A 400 naming the bad field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub detail: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, detail: impl Into<String>) -> Invalid {
        Invalid { field: field.into(), detail: detail.into() }
    }

    /// Problem body (RFC 9457) with `code: invalid_request` and the field.
    pub fn body(&self, request_id: &str) -> String {
        Object::new()
            .str("type", "urn:linkgate:problem:invalid_request")
            .str("title", "Bad Request")
            .num("status", 400)
            .str("code", "invalid_request")
            .str("field", &self.field)
            .str("detail", &self.detail)
            .str("request_id", request_id)
            .finish()
            .into_string()
    }
}

/// A request body: a JSON object of at most [`MAX_BODY_BYTES`] with no
/// member outside `known`. A body that is no such object is named `body`; an
/// unknown member names itself.
fn parse_body(body: &[u8], known: &[&str]) -> Result<json::Obj, Invalid> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Invalid::new("body", format!("larger than {MAX_BODY_BYTES} bytes")));
    }
    let v = json::parse_bytes(body).map_err(|e| Invalid::new("body", format!("not JSON: {e}")))?;
    let Value::Obj(o) = v else {
        return Err(Invalid::new("body", format!("must be a JSON object, not {}", v.kind())));
    };
    if let Some(k) = o.unknown_key(known) {
        return Err(Invalid::new(k, format!("unknown field `{k}`, expected one of {}", known.join(", "))));
    }
    Ok(o)
}

/// A member that may be absent or null.
fn opt<'o>(o: &'o json::Obj, key: &str) -> Option<&'o Value> {
    o.get(key).filter(|v| !v.is_null())
}

fn opt_text(o: &json::Obj, key: &str) -> Result<Option<String>, Invalid> {
    opt(o, key)
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| Invalid::new(key, format!("must be a string, not {}", v.kind())))
        })
        .transpose()
}

fn opt_u64(o: &json::Obj, key: &str) -> Result<Option<u64>, Invalid> {
    opt(o, key).map(|v| v.as_u64().ok_or_else(|| Invalid::new(key, "must be a whole number of at least 0"))).transpose()
}

fn opt_bool(o: &json::Obj, key: &str) -> Result<Option<bool>, Invalid> {
    opt(o, key)
        .map(|v| v.as_bool().ok_or_else(|| Invalid::new(key, format!("must be true or false, not {}", v.kind()))))
        .transpose()
}

fn texts(o: &json::Obj, key: &str) -> Result<Vec<String>, Invalid> {
    let Some(v) = opt(o, key) else { return Ok(Vec::new()) };
    let bad = || Invalid::new(key, "must be a list of strings");
    v.as_arr().ok_or_else(bad)?.iter().map(|x| x.as_str().map(str::to_owned).ok_or_else(bad)).collect()
}

/// The members of `POST /_linkgate/links`.
const MINT_FIELDS: [&str; 15] = [
    "path",
    "prefix",
    "ttl",
    "expires_at",
    "not_before",
    "host",
    "sub",
    "tenant",
    "ip",
    "uses",
    "mode",
    "filename",
    "content_type",
    "whole_bucket",
    "sealed",
];

/// Parse `POST /_linkgate/links`. `ttl` is seconds (number) or a duration
/// text (`"15m"`); exactly one of `path` / `prefix`.
///
/// A prefix of `/` (or `""`) is the whole bucket: refused unless the body
/// says `whole_bucket: true` **and** `allow_whole_bucket` (the worker's
/// `LINKGATE_ALLOW_WHOLE_BUCKET`) is on. The CLI, which cannot know the
/// worker's setting, passes `true` and lets the worker decide.
pub fn parse_mint(body: &[u8], allow_whole_bucket: bool) -> Result<LinkRequest, Invalid> {
    let j = parse_body(body, &MINT_FIELDS)?;
    let prefix = match opt(&j, "prefix") {
        None => None,
        Some(Value::Str(p)) => Some(p.clone()),
        Some(_) => {
            return Err(Invalid::new(
                "prefix",
                "is the folder itself, a string ending in / such as \"/exports/\", not a flag",
            ))
        }
    };
    let (path, prefix) = match (opt_text(&j, "path")?, prefix) {
        (Some(p), None) => (p, false),
        (None, Some(p)) => (p, true),
        (Some(_), Some(_)) => return Err(Invalid::new("path", "give path or prefix, not both")),
        (None, None) => return Err(Invalid::new("path", "path (one object) or prefix (a folder) is required")),
    };
    let whole_bucket = opt_bool(&j, "whole_bucket")?.unwrap_or(false);
    let whole = prefix && (path.is_empty() || path == "/");
    if whole && !whole_bucket {
        return Err(Invalid::new(
            "prefix",
            "\"/\" (or \"\") is every object in the bucket: send whole_bucket: true as well if that is meant \
             (the worker must also allow it: LINKGATE_ALLOW_WHOLE_BUCKET=on)",
        ));
    }
    if whole_bucket && !whole {
        return Err(Invalid::new("whole_bucket", "only with prefix \"/\" (the whole bucket)"));
    }
    if whole_bucket && !allow_whole_bucket {
        return Err(Invalid::new(
            "whole_bucket",
            "whole-bucket links are off on this worker (LINKGATE_ALLOW_WHOLE_BUCKET is not on)",
        ));
    }
    let expiry = match (opt(&j, "ttl"), opt_u64(&j, "expires_at")?) {
        (Some(Value::Num(n)), None) => Expiry::Ttl(
            n.as_u64().filter(|&s| s > 0).ok_or_else(|| Invalid::new("ttl", "must be a positive number of seconds"))?,
        ),
        (Some(Value::Str(s)), None) => Expiry::Ttl(
            parse_duration(s).ok_or_else(|| Invalid::new("ttl", "use seconds or a duration such as 15m, 24h, 7d"))?,
        ),
        (Some(_), None) => return Err(Invalid::new("ttl", "must be seconds or a duration text")),
        (None, Some(e)) => Expiry::At(e),
        (Some(_), Some(_)) => return Err(Invalid::new("ttl", "give ttl or expires_at, not both")),
        (None, None) => return Err(Invalid::new("ttl", "ttl or expires_at is required")),
    };
    Ok(LinkRequest {
        path,
        prefix,
        whole_bucket,
        expiry: Some(expiry),
        not_before: opt_u64(&j, "not_before")?,
        issued_at: None,
        host: opt_text(&j, "host")?,
        sub: opt_text(&j, "sub")?,
        tenant: opt_text(&j, "tenant")?,
        ip: texts(&j, "ip")?,
        uses: opt_u64(&j, "uses")?,
        mode: opt_text(&j, "mode")?,
        filename: opt_text(&j, "filename")?,
        content_type: opt_text(&j, "content_type")?,
        sealed: opt_bool(&j, "sealed")?.unwrap_or(false),
    })
}

/// `POST /_linkgate/inspect`: a token, and the raw path to check it against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectRequest {
    pub token: String,
    pub raw_path: Option<String>,
}

/// Parse `POST /_linkgate/inspect`: `{"link": URL}` or `{"token": T, "path"?: P}`.
pub fn parse_inspect(body: &[u8]) -> Result<InspectRequest, Invalid> {
    let j = parse_body(body, &["link", "token", "path"])?;
    match (opt_text(&j, "link")?, opt_text(&j, "token")?) {
        (Some(link), None) => {
            use super::verify::{query_token, QueryToken};
            let (_, path, query) = super::gate::split_url(&link);
            // An empty lg is inspected, and answered like the edge: token_missing.
            let token = match query_token(query) {
                Ok(QueryToken::Link(t)) => t,
                Ok(QueryToken::Absent) => return Err(Invalid::new("link", "has no lg parameter")),
                Ok(QueryToken::Session(_)) => {
                    return Err(Invalid::new("link", "is a download-session URL (lgs), not a link"))
                }
                Ok(QueryToken::Media(_)) => {
                    return Err(Invalid::new("link", "is a media-session URL (lgm), not a link"))
                }
                Err(_) => return Err(Invalid::new("link", "has more than one token parameter (lg, lgs)")),
            };
            Ok(InspectRequest { token: token.to_owned(), raw_path: Some(path.to_owned()) })
        }
        (None, Some(token)) => {
            Ok(InspectRequest { token, raw_path: opt_text(&j, "path")?.map(|p| super::path::encode_path(&p)) })
        }
        _ => Err(Invalid::new("link", "give link or token")),
    }
}

/// A validated revocation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokeRequest {
    pub scope: RevocationScope,
    pub value: String,
    pub reason: String,
    pub actor: Option<String>,
    pub link_expires_at: Option<u64>,
    /// `link` (a link URL or token) instead of a jti `value`: the edge
    /// verifies it and revokes its jti, recording the link's tenant and
    /// expiry (how a tenant's credential revokes one link, docs/admin.md).
    pub link: Option<InspectRequest>,
}

/// Validate a revocation value for its scope.
pub fn check_revocation_value(scope: RevocationScope, value: &str) -> Result<String, Invalid> {
    use super::token::{Field, Label};
    match scope {
        RevocationScope::Jti => {
            Jti::parse_hex(value).map(|j| j.to_hex()).ok_or_else(|| Invalid::new("value", "a jti is 32 hex digits"))
        }
        RevocationScope::Sub => Label::parse(Field::Sub, value)
            .map(|l| l.as_str().to_owned())
            .map_err(|e| Invalid::new("value", e.to_string())),
        RevocationScope::Tenant => Label::parse(Field::Tenant, value)
            .map(|l| l.as_str().to_owned())
            .map_err(|e| Invalid::new("value", e.to_string())),
        RevocationScope::Kid => super::keys::KeyId::parse(value)
            .map(|k| k.as_str().to_owned())
            .ok_or_else(|| Invalid::new("value", "a kid is 1-32 of A-Z a-z 0-9 _ -")),
        RevocationScope::Path => revocation_path(value),
        RevocationScope::Credential => Jti::parse_hex(value)
            .map(|j| j.to_hex())
            .ok_or_else(|| Invalid::new("value", "a credential id is 32 hex digits")),
        RevocationScope::All => {
            if value.is_empty() {
                Ok(String::new())
            } else {
                Err(Invalid::new("value", "must be empty for scope all"))
            }
        }
    }
}

/// A path revocation's value, read like the path of a download URL (percent-
/// decoded once, then canonical), so that what an operator pastes from a link
/// is what downloads are matched against: `/board/q3%20pack.txt` revokes the
/// object `/board/q3 pack.txt`. A value that could never match a download is
/// refused. (An object whose name holds a literal `%` is written `%25`.)
pub fn revocation_path(value: &str) -> Result<String, Invalid> {
    let bad = |e: super::path::PathError| {
        Invalid::new("value", format!("not an object path or a folder ending in / ({})", e.as_str()))
    };
    if value == "/" {
        return Ok("/".to_owned());
    }
    match value.strip_suffix('/') {
        Some(folder) => {
            let p = CanonicalPath::from_request(folder).map_err(bad)?;
            Ok(Prefix::parse(&format!("{}/", p.as_str())).map_err(bad)?.as_str().to_owned())
        }
        None => Ok(CanonicalPath::from_request(value).map_err(bad)?.as_str().to_owned()),
    }
}

/// Who made an admin call, from its credential: `admin:` and the first eight
/// hex digits of the token's SHA-256 (tells tokens apart across rotations;
/// reveals nothing usable). Free text in a request never decides it.
pub fn credential_actor(token: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(token.as_bytes());
    let hex: String = d.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("admin:{hex}")
}

/// Paths under `/_linkgate/` belong to the admin API, in every spelling
/// (`/%5Flinkgate/`, `/_LinkGate/`): no object may be stored or served there.
pub fn is_reserved(canonical: &str) -> bool {
    let first = canonical.strip_prefix('/').unwrap_or(canonical).split('/').next().unwrap_or("");
    // `_lg` and `_lgs` hold path-less links (docs/link-format.md §17.7): an
    // object there could never be reached by a link to it.
    ["_linkgate", super::gate::PATH_FORM_LINK, super::gate::PATH_FORM_SESSION]
        .iter()
        .any(|r| first.eq_ignore_ascii_case(r))
}

/// Free text kept for people to read (the denylist, the audit trail): no
/// control, separator, invisible or bidi formatting characters (see
/// [`super::text`]), so what is shown is what was stored.
pub fn check_free_text(field: &str, text: &str) -> Result<(), Invalid> {
    match super::text::first_hidden(text) {
        None => Ok(()),
        Some(c) => Err(Invalid::new(
            field,
            format!("must not contain control, line-separator or invisible formatting characters (found {c})"),
        )),
    }
}

/// Parse `POST /_linkgate/revocations`.
pub fn parse_revoke(body: &[u8]) -> Result<RevokeRequest, Invalid> {
    let j = parse_body(body, &["scope", "value", "reason", "actor", "link_expires_at", "link"])?;
    let link = opt_text(&j, "link")?;
    let scope = match (opt_text(&j, "scope")?, &link) {
        (None, Some(_)) => "jti".to_owned(),
        (Some(s), _) => s,
        (None, None) => return Err(Invalid::new("scope", "missing field `scope`")),
    };
    let scope = RevocationScope::parse(&scope)
        .ok_or_else(|| Invalid::new("scope", "must be one of jti, sub, tenant, path, kid, all, credential"))?;
    let (value, link) = match link {
        None => (check_revocation_value(scope, &opt_text(&j, "value")?.unwrap_or_default())?, None),
        Some(_) if scope != RevocationScope::Jti => {
            return Err(Invalid::new("link", "a link revokes its own jti: scope jti (or no scope)"))
        }
        Some(_) if opt(&j, "value").is_some() => return Err(Invalid::new("value", "give value or link, not both")),
        Some(l) => {
            let url = l.contains("://") || l.starts_with('/') || l.contains('?');
            let body = Object::new().str(if url { "link" } else { "token" }, &l).finish();
            let ir = parse_inspect(body.as_str().as_bytes()).map_err(|e| Invalid::new("link", e.detail))?;
            (String::new(), Some(ir))
        }
    };
    let reason = opt_text(&j, "reason")?.unwrap_or_default();
    if reason.trim().is_empty() || reason.len() > 500 {
        return Err(Invalid::new("reason", "a reason of 1-500 characters is required"));
    }
    check_free_text("reason", &reason)?;
    let actor = opt_text(&j, "actor")?;
    if let Some(a) = &actor {
        if a.is_empty() || a.len() > 200 {
            return Err(Invalid::new("actor", "1-200 characters"));
        }
        check_free_text("actor", a)?;
    }
    Ok(RevokeRequest { scope, value, reason, actor, link_expires_at: opt_u64(&j, "link_expires_at")?, link })
}

/// What `POST /_linkgate/inspect` found out about a token.
/// Inspect a token: the checks of [`crate::inspect::inspect`] that need no
/// request (decoding, key, tag, time window, and scope when a path is
/// given). Host, IP and method bindings depend on a real request and are
/// skipped.
pub fn inspect(
    keys: &super::keys::KeyRing,
    rules: &super::verify::TimeRules,
    token: &str,
    raw_path: Option<&str>,
    now: u64,
    signature: Option<bool>,
) -> super::inspect::Inspection {
    let facts = super::inspect::Facts { token: Ok(token), raw_path, now, ..Default::default() };
    super::inspect::inspect_with(keys, rules, &facts, signature)
}

/// The Ed25519 signature [`inspect`] needs answered (the worker asks
/// WebCrypto), if the token is an Ed25519 link of a listed public key.
pub fn inspect_signature(keys: &super::keys::KeyRing, token: &str) -> Option<([u8; 32], Vec<u8>, [u8; 64])> {
    let facts = super::inspect::Facts { token: Ok(token), ..Default::default() };
    super::inspect::signature_question(keys, &facts)
}

/// The denylist keys that can revoke an inspected link: its jti, sub,
/// tenant, kid and `all`, and the path entries of the object (or, for a
/// folder link without an object, of the folder and every folder above it).
pub fn inspect_keys(c: &super::token::Claims, raw_path: Option<&str>) -> Vec<String> {
    use super::revocation::lookup_keys;
    let object = match (&c.scope, raw_path) {
        (super::path::Scope::Object(p), _) => Some(p.clone()),
        (super::path::Scope::Prefix(_), Some(raw)) if !raw.ends_with('/') => CanonicalPath::from_request(raw).ok(),
        _ => None,
    };
    if let Some(p) = object {
        return lookup_keys(c, &p);
    }
    let folder = match (&c.scope, raw_path.and_then(|r| r.strip_suffix('/'))) {
        (_, Some(f)) if !f.is_empty() => CanonicalPath::from_request(f).map(|p| format!("{}/", p.as_str())).ok(),
        (super::path::Scope::Prefix(p), _) => Some(p.as_str().to_owned()),
        _ => None,
    }
    .unwrap_or_else(|| "/".to_owned());
    // The keys of an object in the folder, less that object's own key.
    let probe = format!("{folder}_");
    match CanonicalPath::parse(&probe) {
        Ok(p) => lookup_keys(c, &p)
            .into_iter()
            .filter(|k| *k != super::revocation::kv_key(super::revocation::RevocationScope::Path, &probe))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Listing parameters shared by revocations and events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub pairs: Vec<(String, String)>,
}

impl Query {
    /// Parse a raw query string (percent-decoded, `+` as space).
    pub fn parse(raw: &str) -> Result<Query, Invalid> {
        let mut pairs = Vec::new();
        for part in raw.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let k =
                percent_decode(&k.replace('+', " ")).ok_or_else(|| Invalid::new("query", "bad percent-encoding"))?;
            let v =
                percent_decode(&v.replace('+', " ")).ok_or_else(|| Invalid::new(k.clone(), "bad percent-encoding"))?;
            pairs.push((k, v));
        }
        Ok(Query { pairs })
    }

    /// The value of a parameter given at most once.
    pub fn get(&self, name: &str) -> Result<Option<&str>, Invalid> {
        let mut it = self.pairs.iter().filter(|(k, _)| k == name);
        let first = it.next().map(|(_, v)| v.as_str());
        if it.next().is_some() {
            return Err(Invalid::new(name, "given more than once"));
        }
        Ok(first)
    }

    /// A whole-number parameter.
    pub fn number(&self, name: &str) -> Result<Option<u64>, Invalid> {
        self.get(name)?.map(|v| v.parse::<u64>().map_err(|_| Invalid::new(name, "must be a whole number"))).transpose()
    }

    /// `limit` (1..=1000, default 100).
    pub fn limit(&self) -> Result<u32, Invalid> {
        match self.number("limit")? {
            None => Ok(DEFAULT_PAGE),
            Some(n) if (1..=u64::from(MAX_PAGE)).contains(&n) => Ok(n as u32),
            Some(_) => Err(Invalid::new("limit", "must be 1-1000")),
        }
    }

    /// Refuse parameters outside `allowed`.
    pub fn only(&self, allowed: &[&str]) -> Result<(), Invalid> {
        for (k, _) in &self.pairs {
            if !allowed.contains(&k.as_str()) {
                return Err(Invalid::new(k.clone(), format!("unknown parameter; allowed: {}", allowed.join(", "))));
            }
        }
        Ok(())
    }
}

/// A bound SQL parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlArg {
    Text(String),
    Number(f64),
}

/// A call refused for its request (400) or for its credential (401/403).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forbidden {
    Invalid(Invalid),
    Refused(super::credential::Refusal),
}

impl From<Invalid> for Forbidden {
    fn from(e: Invalid) -> Forbidden {
        Forbidden::Invalid(e)
    }
}

/// A [`Forbidden`] for the root, which no credential rule refuses.
fn as_root<T>(r: Result<T, Forbidden>) -> Result<T, Invalid> {
    r.map_err(|e| match e {
        Forbidden::Invalid(i) => i,
        Forbidden::Refused(r) => Invalid::new("tenant", r.detail()),
    })
}

/// The WHERE clauses (joined with AND) and bound values of the events
/// field filters, shared by the listing and the hourly counts.
fn event_filters(q: &Query) -> Result<(Vec<String>, Vec<SqlArg>), Invalid> {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<SqlArg> = Vec::new();
    for field in ["jti", "sub", "tenant", "path", "outcome", "identity"] {
        if let Some(v) = q.get(field)? {
            args.push(SqlArg::Text(v.to_owned()));
            clauses.push(format!("{field} = ?{}", args.len()));
        }
    }
    Ok((clauses, args))
}

/// Add `time >= since` / `time <= until` to a filter.
fn time_filters(clauses: &mut Vec<String>, args: &mut Vec<SqlArg>, since: Option<u64>, until: Option<u64>) {
    for (v, op) in [(since, ">="), (until, "<=")] {
        if let Some(v) = v {
            args.push(SqlArg::Number(v as f64));
            clauses.push(format!("time {op} ?{}", args.len()));
        }
    }
}

/// Force events to what `who` may read: a credential limited to tenants
/// reads only their events (a `tenant` filter naming another is refused),
/// one limited to a folder only events of paths inside it. Shared by the
/// listing and the hourly counts, so the chart never counts more than the
/// listing shows.
fn scope_filters(
    q: &Query,
    who: &super::credential::Principal,
    clauses: &mut Vec<String>,
    args: &mut Vec<SqlArg>,
) -> Result<(), Forbidden> {
    if let Some(ts) = who.tenants() {
        if q.get("tenant")?.is_some_and(|t| !who.tenant_ok(Some(t))) {
            return Err(Forbidden::Refused(super::credential::Refusal::TenantForbidden));
        }
        let mut marks = Vec::with_capacity(ts.len());
        for t in ts {
            args.push(SqlArg::Text(t.as_str().to_owned()));
            marks.push(format!("?{}", args.len()));
        }
        clauses.push(format!("tenant IN ({})", marks.join(", ")));
    }
    if let Some(p) = who.prefix() {
        // A plain comparison of the leading bytes: no LIKE, so `%` and `_`
        // in folder names mean themselves.
        args.push(SqlArg::Number(p.as_str().chars().count() as f64));
        let n = args.len();
        args.push(SqlArg::Text(p.as_str().to_owned()));
        clauses.push(format!("substr(path, 1, ?{n}) = ?{}", args.len()));
    }
    Ok(())
}

/// The events listing as one SQL statement with its parameters, from the
/// `GET /_linkgate/events` query; `limit` is the page size (one more row is
/// read to know whether a next page exists).
pub fn events_query(raw_query: &str) -> Result<(String, Vec<SqlArg>, u32), Invalid> {
    as_root(events_query_for(raw_query, &super::credential::Principal::Root))
}

/// [`events_query`] as `who` may read it ([`scope_filters`]).
pub fn events_query_for(
    raw_query: &str,
    who: &super::credential::Principal,
) -> Result<(String, Vec<SqlArg>, u32), Forbidden> {
    let q = Query::parse(raw_query)?;
    q.only(&["jti", "sub", "tenant", "path", "outcome", "identity", "since", "until", "limit", "cursor"])?;
    let (mut clauses, mut args) = event_filters(&q)?;
    time_filters(&mut clauses, &mut args, q.number("since")?, q.number("until")?);
    scope_filters(&q, who, &mut clauses, &mut args)?;
    if let Some(c) = q.get("cursor")? {
        let parsed = c.split_once(':').and_then(|(t, i)| Some((t.parse::<u64>().ok()?, i.parse::<u64>().ok()?)));
        let Some((t, i)) = parsed else {
            return Err(Invalid::new("cursor", "not a cursor returned by this API").into());
        };
        args.push(SqlArg::Number(t as f64));
        let tn = args.len();
        args.push(SqlArg::Number(i as f64));
        clauses.push(format!("(time < ?{tn} OR (time = ?{tn} AND id < ?{}))", args.len()));
    }
    let limit = q.limit()?;
    let where_ = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
    let sql = format!(
        "SELECT id, time, request_id, method, jti, kid, sub, tenant, path, outcome, status, code, reason, rule, mode, bytes, cache, \
         client_ip, country, user_agent, count, actor, subject, detail, identity, context, COALESCE(issued_by, (SELECT issued_by FROM links WHERE links.jti = events.jti), \
         CASE WHEN jti IS NULL THEN NULL ELSE 'offline' END) AS issued_by FROM events {where_} ORDER BY time DESC, id DESC LIMIT {}",
        u64::from(limit) + 1
    );
    Ok((sql, args, limit))
}

/// The KV key prefix that lists one scope's revocations (`scope=` filter).
pub fn revocation_list_prefix(scope: Option<&str>) -> Result<Option<String>, Invalid> {
    Ok(match scope {
        None => None,
        Some("all") => Some("all".to_owned()),
        Some("path") => Some("path".to_owned()),
        Some(s) => match RevocationScope::parse(s) {
            Some(sc) => Some(format!("{}:", sc.as_str())),
            None => return Err(Invalid::new("scope", "must be one of jti, sub, tenant, path, kid, all, credential")),
        },
    })
}

/// Refuse at minting what the download would refuse later (a plain link to
/// an object whose rule requires sealed links included). Country rules
/// depend on where the download comes from, so they are left to it.
pub fn mint_policy(
    rule: &super::policy::Rule,
    claims: &super::token::Claims,
    sealed: bool,
) -> Result<(), super::policy::Denied> {
    match super::policy::evaluate(rule, claims, sealed, None, false, None) {
        Err(d) if d.rule.ends_with(".countries") => Ok(()),
        Err(d) => Err(d),
        Ok(_) => Ok(()),
    }
}

/// Longest span `GET /_linkgate/events/hourly` counts: 31 days of hours.
pub const MAX_HOURLY_SPAN_SECS: u64 = 31 * 86_400;
/// Its default span: the 24 hours before `until`.
pub const DEFAULT_HOURLY_SPAN_SECS: u64 = 86_400;

/// Downloads and refusals per hour for the events filters of
/// `GET /_linkgate/events/hourly` (the listing's filters without paging):
/// one grouped SQL statement with its parameters, and the span counted
/// (`since`, `until`; `until` defaults to `now`, `since` to a day before).
/// Downloads are allowed GET/POST decisions (HEAD is not a download);
/// refusals count what aggregated events stand for. Admin calls are neither.
pub fn hourly_query(raw_query: &str, now: u64) -> Result<(String, Vec<SqlArg>, u64, u64), Invalid> {
    as_root(hourly_query_for(raw_query, now, &super::credential::Principal::Root))
}

/// [`hourly_query`] as `who` may read it: forced to its tenants and prefix
/// exactly as the events listing ([`scope_filters`]).
pub fn hourly_query_for(
    raw_query: &str,
    now: u64,
    who: &super::credential::Principal,
) -> Result<(String, Vec<SqlArg>, u64, u64), Forbidden> {
    let q = Query::parse(raw_query)?;
    q.only(&["jti", "sub", "tenant", "path", "outcome", "identity", "since", "until"])?;
    let until = q.number("until")?.unwrap_or(now);
    let since = q.number("since")?.unwrap_or_else(|| until.saturating_sub(DEFAULT_HOURLY_SPAN_SECS));
    if since > until {
        return Err(Invalid::new("since", "must not be after until").into());
    }
    if until - since > MAX_HOURLY_SPAN_SECS {
        return Err(Invalid::new("since", "the span is at most 31 days").into());
    }
    let (mut clauses, mut args) = event_filters(&q)?;
    time_filters(&mut clauses, &mut args, Some(since), Some(until));
    scope_filters(&q, who, &mut clauses, &mut args)?;
    let sql = format!(
        "SELECT (time / 3600) * 3600 AS hour, \
         SUM(CASE WHEN outcome = 'allowed' AND method IS NOT 'HEAD' THEN COALESCE(count, 1) ELSE 0 END) AS downloads, \
         SUM(CASE WHEN outcome = 'refused' THEN COALESCE(count, 1) ELSE 0 END) AS refusals \
         FROM events WHERE {} GROUP BY hour ORDER BY hour",
        clauses.join(" AND ")
    );
    Ok((sql, args, since, until))
}

/// `GET /_linkgate/files`: one page of the bucket under a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesQuery {
    /// The folder listed, as a path: `/` or `/a/b/`.
    pub prefix: String,
    /// The same as an R2 key prefix (no leading `/`).
    pub key_prefix: String,
    pub cursor: Option<String>,
    pub limit: u32,
}

/// Parse `GET /_linkgate/files?prefix=&cursor=&limit=`: `prefix` is `/`
/// (the default) or a canonical folder ending in `/`; `limit` is at most
/// 1000 (R2's own largest page).
pub fn files_query(raw_query: &str) -> Result<FilesQuery, Invalid> {
    as_root(files_query_for(raw_query, &super::credential::Principal::Root))
}

/// [`files_query`] as `who` may list: a credential limited to a folder lists
/// only at or below it (no `prefix` given lists its folder; a folder outside
/// it, or above it, is `prefix_forbidden`). Listing is for the console's
/// path picker, so it follows mint's path rule: without a prefix, every
/// folder (docs/admin.md).
pub fn files_query_for(raw_query: &str, who: &super::credential::Principal) -> Result<FilesQuery, Forbidden> {
    let q = Query::parse(raw_query)?;
    q.only(&["prefix", "cursor", "limit"])?;
    let prefix = match (q.get("prefix")?, who.prefix()) {
        (None | Some(""), Some(own)) => own.as_str().to_owned(),
        (None | Some("") | Some("/"), None) => "/".to_owned(),
        (Some("/"), Some(_)) => return Err(Forbidden::Refused(super::credential::Refusal::PrefixForbidden)),
        (Some(p), own) => {
            let p = Prefix::parse(p).map_err(|e| {
                Invalid::new("prefix", format!("a folder such as /exports/, ending in / ({})", e.as_str()))
            })?;
            if own.is_some_and(|o| !p.as_str().starts_with(o.as_str())) {
                return Err(Forbidden::Refused(super::credential::Refusal::PrefixForbidden));
            }
            p.as_str().to_owned()
        }
    };
    let key_prefix = prefix.trim_start_matches('/').to_owned();
    Ok(FilesQuery { prefix, key_prefix, cursor: q.get("cursor")?.map(str::to_owned), limit: q.limit()? })
}

/// One object of the listing: its path, size, upload time, stored
/// classification and the policy rule that applies to it (the stored
/// classification's, or the default's).
pub fn file_json(
    key: &str,
    size: u64,
    uploaded: u64,
    classification: Option<&str>,
    policy: &super::policy::Policy,
) -> json::Raw {
    Object::new()
        .str("path", &format!("/{key}"))
        .num("size", size)
        .num("uploaded", uploaded)
        .opt_str("classification", classification)
        .str("rule", &policy.rule_for(classification).name)
        .finish()
}

/// `GET /_linkgate/policy`: every classification's rule as the worker
/// applies it, `max_ttl_secs` already capped by the worker's maximum
/// lifetime, so a form can show the limits before it submits.
pub fn policy_json(policy: &super::policy::Policy, max_ttl_secs: u64) -> json::Raw {
    use super::policy::{CacheMode, MediaMode, RevocationMode};
    let rules = policy.rules.iter().map(|r| {
        let cache = match r.cache {
            CacheMode::Public => "public",
            CacheMode::Private => "private",
            CacheMode::NoStore => "no-store",
        };
        let media = match r.media {
            MediaMode::Off => "off",
            MediaMode::Cookie => "cookie",
            MediaMode::Rewrite => "rewrite",
        };
        let revocation = match r.revocation {
            RevocationMode::Kv => "kv",
            RevocationMode::Strict => "strict",
        };
        let countries =
            r.countries.as_ref().map_or_else(json::null, |c| json::array(c.iter().map(|x| json::string(x))));
        Object::new()
            .str("name", &r.name)
            .num("max_ttl_secs", r.max_ttl_secs.min(max_ttl_secs))
            .raw("modes", &json::array(r.modes.iter().map(|m| json::string(m.as_str()))))
            .boolean("require_sub", r.require_sub)
            .boolean("require_ip", r.require_ip)
            .num("min_ip_prefix_v4", u64::from(r.min_ip_prefix_v4))
            .num("min_ip_prefix_v6", u64::from(r.min_ip_prefix_v6))
            .boolean("require_sealed", r.require_sealed)
            .raw("countries", &countries)
            .str("cache", cache)
            .num("max_age_secs", r.max_age_secs)
            .str("revocation", revocation)
            .opt_num("redirect_above", r.redirect_above)
            .str("media", media)
            .finish()
    });
    Object::new()
        .str("default_classification", &policy.default_classification)
        .num("max_ttl_secs", max_ttl_secs)
        .raw("rules", &json::array(rules))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_query_binds_every_filter_and_refuses_unknown_ones() {
        let (sql, args, limit) = events_query("jti=ab&since=5&cursor=10:3&limit=2").unwrap();
        assert_eq!(limit, 2);
        assert!(sql.contains("WHERE jti = ?1 AND time >= ?2 AND (time < ?3 OR (time = ?3 AND id < ?4))"), "{sql}");
        assert!(sql.ends_with("LIMIT 3"));
        assert_eq!(args, [SqlArg::Text("ab".into()), SqlArg::Number(5.0), SqlArg::Number(10.0), SqlArg::Number(3.0)]);
        assert!(!sql.contains("ab"), "values are bound, never spliced");
        assert_eq!(events_query("colour=red").unwrap_err().field, "colour");
        assert_eq!(events_query("cursor=x").unwrap_err().field, "cursor");
        let (sql, args, _) = events_query("").unwrap();
        assert!(!sql.contains("FROM events WHERE") && args.is_empty());
    }

    /// A8: path revocations are read like download URLs and refused when
    /// they could never match.
    #[test]
    fn path_revocations_are_canonical() {
        assert_eq!(revocation_path("/board/q3%20pack.txt").unwrap(), "/board/q3 pack.txt");
        assert_eq!(revocation_path("/board/q3 pack.txt").unwrap(), "/board/q3 pack.txt");
        assert_eq!(revocation_path("/board/2026/").unwrap(), "/board/2026/");
        assert_eq!(revocation_path("/board/caf%C3%A9/").unwrap(), "/board/café/");
        assert_eq!(revocation_path("/").unwrap(), "/");
        for bad in ["board/x", "/a//b", "/a/%2F/b", "/a/%zz", "/a/../b/", "/a/cafe%CC%81"] {
            assert_eq!(revocation_path(bad).unwrap_err().field, "value", "{bad}");
        }
    }

    /// A9: a folder link's own URL inspects as valid, and a revoked folder
    /// (or one above it) is among the keys checked.
    #[test]
    fn folder_links_inspect_by_their_folder() {
        use crate::keys::KeyId;
        use crate::path::Scope;
        use crate::token::{Claims, Jti};
        let c = Claims::new(KeyId::parse("k").unwrap(), Jti([1; 16]), 0, 10, Scope::parse("/board/2026/").unwrap());
        let ring = crate::keys::KeyRing::parse(&format!("k:{}", crate::b64::encode(&[5; 32]))).unwrap();
        let t = c.sign(ring.signing_key()).unwrap();
        let rules = crate::verify::TimeRules::default();
        let inspected = |raw: &str| {
            let i = inspect(&ring, &rules, &t, Some(raw), 1, None);
            (i.code, i.reason)
        };
        assert_eq!(inspected("/board/2026/"), (None, None));
        assert_eq!(inspected("/board/2026/q3/"), (None, None));
        assert_eq!(inspected("/board/"), (Some(crate::Code::ScopeMismatch), Some(crate::Reason::OutsideScope)));
        assert_eq!(inspected("/board/2026/x.pdf"), (None, None));
        let dots = crate::Reason::Path(crate::path::PathError::DotSegment);
        assert_eq!(inspected("/board/%2e%2e/"), (Some(crate::Code::PathInvalid), Some(dots)));
        for raw in [None, Some("/board/2026/")] {
            let keys = inspect_keys(&c, raw);
            for k in ["path:/board/2026/", "path:/board/", "path:/", "kid:k", "all"] {
                assert!(keys.iter().any(|x| x == k), "{raw:?} lacks {k}: {keys:?}");
            }
            assert!(!keys.iter().any(|x| x.ends_with("_")), "{keys:?}");
        }
        assert!(inspect_keys(&c, Some("/board/2026/a.pdf")).iter().any(|k| k == "path:/board/2026/a.pdf"));
    }

    /// A16: the admin prefix is reserved in every spelling.
    #[test]
    fn the_admin_prefix_is_reserved() {
        for p in ["/_linkgate/x", "/_LinkGate/x", "/_linkgate", "/_LINKGATE/a/b", "/_lg/x", "/_LGS/x", "/_lg"] {
            assert!(is_reserved(p), "{p}");
        }
        for p in ["/_linkgatex/y", "/a/_linkgate/b", "/linkgate/x", "/", "/_lgx/y", "/a/_lg/b"] {
            assert!(!is_reserved(p), "{p}");
        }
        assert!(matches!(
            route(Method::Put, "/_linkgate/files/%5Flinkgate/x"),
            Err(RouteError::BadParameter { field: "path", .. })
        ));
        assert!(matches!(
            route(Method::Put, "/_linkgate/files/_LINKGATE/x"),
            Err(RouteError::BadParameter { field: "path", .. })
        ));
        assert!(matches!(route(Method::Head, "/_linkgate/events"), Ok(Route::Events)));
        assert!(matches!(route(Method::Head, "/_linkgate/revocations"), Ok(Route::ListRevocations)));
    }

    /// Every route needs exactly one capability, and each capability is
    /// needed by some route.
    #[test]
    fn every_route_maps_to_a_capability() {
        use crate::credential::Capability as C;
        let cases = [
            (Method::Post, "/_linkgate/links", C::LinksMint),
            (Method::Post, "/_linkgate/inspect", C::LinksInspect),
            (Method::Post, "/_linkgate/revocations", C::Revoke),
            (Method::Get, "/_linkgate/revocations", C::Revoke),
            (Method::Delete, "/_linkgate/revocations/sub/u1", C::Revoke),
            (Method::Get, "/_linkgate/events", C::EventsRead),
            (Method::Put, "/_linkgate/files/a/b.pdf", C::FilesWrite),
            (Method::Get, "/_linkgate/files", C::LinksMint),
            (Method::Get, "/_linkgate/policy", C::LinksMint),
            (Method::Get, "/_linkgate/events/hourly", C::EventsRead),
        ];
        assert_eq!(cases.len(), ROUTES.len());
        for (m, p, cap) in cases {
            assert_eq!(route(m, p).unwrap().capability(), cap, "{p}");
        }
        for cap in C::ALL {
            assert!(cases.iter().any(|c| c.2 == cap), "{cap:?} guards no route");
        }
    }

    /// A credential limited to tenants or a folder reads only their events.
    #[test]
    fn events_are_forced_to_the_credentials_tenants_and_prefix() {
        use crate::credential::{Body, Capability, Principal, Refusal, UntrustedCredential};
        let scoped = |tenants: Option<&[String]>, prefix: Option<&str>| {
            let b = Body::new([1; 16], "n", tenants, &[Capability::EventsRead], prefix, 10, 100).unwrap();
            Principal::Scoped(UntrustedCredential::decode(&b.sign("root")).unwrap().verify("root", 10, 0).unwrap())
        };
        let two = ["acme".to_owned(), "globex".to_owned()];
        let p = scoped(Some(&two), Some("/acmé/"));
        let (sql, args, _) = events_query_for("sub=u1", &p).unwrap();
        assert!(sql.contains("WHERE sub = ?1 AND tenant IN (?2, ?3) AND substr(path, 1, ?4) = ?5"), "{sql}");
        assert_eq!(
            args,
            [
                SqlArg::Text("u1".into()),
                SqlArg::Text("acme".into()),
                SqlArg::Text("globex".into()),
                SqlArg::Number(6.0),
                SqlArg::Text("/acmé/".into())
            ]
        );
        assert!(events_query_for("tenant=globex", &p).is_ok());
        assert_eq!(events_query_for("tenant=initech", &p).unwrap_err(), Forbidden::Refused(Refusal::TenantForbidden));
        // Every tenant, no folder: the query is the root's.
        assert_eq!(events_query_for("sub=u1", &scoped(None, None)).unwrap(), events_query("sub=u1").unwrap());
    }

    /// A scoped principal for the credential-rule tests.
    fn scoped(
        tenants: Option<&[String]>,
        caps: &[crate::credential::Capability],
        prefix: Option<&str>,
    ) -> crate::credential::Principal {
        use crate::credential::{Body, Principal, UntrustedCredential};
        let b = Body::new([1; 16], "n", tenants, caps, prefix, 10, 100).unwrap();
        Principal::Scoped(UntrustedCredential::decode(&b.sign("root")).unwrap().verify("root", 10, 0).unwrap())
    }

    /// The hourly counts get the listing's forced tenant and prefix, so the
    /// chart never counts what the credential may not list.
    #[test]
    fn hourly_counts_are_forced_to_the_credentials_tenants_and_prefix() {
        use crate::credential::{Capability, Refusal};
        let acme = ["acme".to_owned()];
        let p = scoped(Some(&acme), &[Capability::EventsRead], Some("/acme/"));
        let (sql, args, since, until) = hourly_query_for("outcome=refused", 100_000, &p).unwrap();
        assert_eq!((since, until), (13_600, 100_000));
        assert!(
            sql.contains("WHERE outcome = ?1 AND time >= ?2 AND time <= ?3 AND tenant IN (?4) AND substr(path, 1, ?5) = ?6 GROUP BY hour"),
            "{sql}"
        );
        assert_eq!(&args[3..], [SqlArg::Text("acme".into()), SqlArg::Number(6.0), SqlArg::Text("/acme/".into())]);
        // The same restriction, clause for clause, as the listing's.
        let (listing, _, _) = events_query_for("outcome=refused", &p).unwrap();
        assert!(listing.contains("AND tenant IN (?2) AND substr(path, 1, ?3) = ?4"), "{listing}");
        assert!(hourly_query_for("tenant=acme", 100_000, &p).is_ok());
        assert_eq!(
            hourly_query_for("tenant=globex", 100_000, &p).unwrap_err(),
            Forbidden::Refused(Refusal::TenantForbidden)
        );
        // Bad requests stay 400 for a credential too.
        assert!(matches!(hourly_query_for("limit=5", 0, &p), Err(Forbidden::Invalid(_))));
        // Every tenant, no folder: the root's statement.
        assert_eq!(
            hourly_query_for("sub=u1", 100_000, &scoped(None, &[Capability::EventsRead], None)).unwrap(),
            hourly_query("sub=u1", 100_000).unwrap()
        );
    }

    /// A credential limited to a folder lists only at or below it.
    #[test]
    fn the_listing_stays_inside_the_credentials_prefix() {
        use crate::credential::{Capability, Refusal};
        let acme = ["acme".to_owned()];
        let p = scoped(Some(&acme), &[Capability::LinksMint], Some("/acme/"));
        let q = files_query_for("", &p).unwrap();
        assert_eq!((q.prefix.as_str(), q.key_prefix.as_str()), ("/acme/", "acme/"), "no prefix: its own");
        assert_eq!(files_query_for("prefix=", &p).unwrap().prefix, "/acme/");
        assert_eq!(files_query_for("prefix=/acme/q3/&limit=5", &p).unwrap().key_prefix, "acme/q3/");
        for raw in ["prefix=/", "prefix=/globex/", "prefix=/acmex/", "prefix=/ac/"] {
            assert_eq!(files_query_for(raw, &p).unwrap_err(), Forbidden::Refused(Refusal::PrefixForbidden), "{raw}");
        }
        assert!(matches!(files_query_for("prefix=/acme", &p), Err(Forbidden::Invalid(_))));
        assert!(matches!(files_query_for("colour=red", &p), Err(Forbidden::Invalid(_))));
        // No folder (a tenant credential without a prefix mints anywhere for
        // its tenant): any folder, like the root.
        let t = scoped(Some(&acme), &[Capability::LinksMint], None);
        assert_eq!(files_query_for("", &t).unwrap(), files_query("").unwrap());
        assert_eq!(files_query_for("prefix=/globex/", &t).unwrap().prefix, "/globex/");
    }

    #[test]
    fn revoking_by_link() {
        let r = parse_revoke(br#"{"link":"https://h.example/a.pdf?lg=TOKEN","reason":"leaked"}"#).unwrap();
        assert_eq!((r.scope, r.value.as_str()), (RevocationScope::Jti, ""));
        assert_eq!(r.link, Some(InspectRequest { token: "TOKEN".into(), raw_path: Some("/a.pdf".into()) }));
        let r = parse_revoke(br#"{"scope":"jti","link":"TOKEN","reason":"leaked"}"#).unwrap();
        assert_eq!(r.link.unwrap().token, "TOKEN");
        for (body, field) in [
            (&br#"{"scope":"sub","link":"TOKEN","reason":"r"}"#[..], "link"),
            (br#"{"link":"TOKEN","value":"abababababababababababababababab","reason":"r"}"#, "value"),
            (br#"{"link":"https://h/a","reason":"r"}"#, "link"),
            (br#"{"scope":"credential","value":"nope","reason":"r"}"#, "value"),
        ] {
            assert_eq!(parse_revoke(body).unwrap_err().field, field, "{}", String::from_utf8_lossy(body));
        }
        let c = parse_revoke(br#"{"scope":"credential","value":"0A0A0A0A0A0A0A0A0A0A0A0A0A0A0A0A","reason":"r"}"#);
        assert_eq!(c.unwrap().value, "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a");
    }

    #[test]
    fn revocation_listing_prefixes() {
        assert_eq!(revocation_list_prefix(None).unwrap(), None);
        assert_eq!(revocation_list_prefix(Some("kid")).unwrap().as_deref(), Some("kid:"));
        assert_eq!(revocation_list_prefix(Some("path")).unwrap().as_deref(), Some("path"));
        assert_eq!(revocation_list_prefix(Some("nope")).unwrap_err().field, "scope");
    }

    #[test]
    fn console_routes() {
        assert_eq!(route(Method::Get, "/_linkgate/files"), Ok(Route::ListFiles));
        assert_eq!(route(Method::Head, "/_linkgate/files"), Ok(Route::ListFiles));
        assert_eq!(route(Method::Get, "/_linkgate/policy"), Ok(Route::Policy));
        assert_eq!(route(Method::Get, "/_linkgate/events/hourly"), Ok(Route::EventsHourly));
        assert_eq!(route(Method::Post, "/_linkgate/files"), Err(RouteError::MethodNotAllowed { allow: "GET" }));
        assert_eq!(route(Method::Put, "/_linkgate/policy"), Err(RouteError::MethodNotAllowed { allow: "GET" }));
        assert_eq!(
            route(Method::Delete, "/_linkgate/events/hourly"),
            Err(RouteError::MethodNotAllowed { allow: "GET" })
        );
        // An upload still needs a path under files/.
        assert_eq!(route(Method::Get, "/_linkgate/files/"), Err(RouteError::MethodNotAllowed { allow: "PUT" }));
        assert_eq!(route(Method::Get, "/_linkgate/events/daily"), Err(RouteError::NotFound));
        assert_eq!(route(Method::Get, "/_linkgate/console"), Err(RouteError::NotFound), "the console is no API route");
    }

    #[test]
    fn files_queries() {
        let q = files_query("").unwrap();
        assert_eq!((q.prefix.as_str(), q.key_prefix.as_str(), q.cursor, q.limit), ("/", "", None, DEFAULT_PAGE));
        let q = files_query("prefix=%2Fboard%2F2026%2F&cursor=c1&limit=5").unwrap();
        assert_eq!(
            (q.prefix.as_str(), q.key_prefix.as_str(), q.cursor.as_deref(), q.limit),
            ("/board/2026/", "board/2026/", Some("c1"), 5)
        );
        assert_eq!(files_query("prefix=/caf%C3%A9/").unwrap().key_prefix, "café/");
        for (raw, field) in [
            ("prefix=/board", "prefix"),
            ("prefix=board/", "prefix"),
            ("prefix=/a/../b/", "prefix"),
            ("prefix=/a//", "prefix"),
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("colour=red", "colour"),
            ("prefix=/a/&prefix=/b/", "prefix"),
        ] {
            assert_eq!(files_query(raw).unwrap_err().field, field, "{raw}");
        }
    }

    #[test]
    fn file_entries_name_their_rule() {
        use crate::policy::Policy;
        let p = Policy::default();
        let v = json::parse(file_json("a/b.pdf", 3, 9, Some("restricted"), &p).as_str()).unwrap();
        assert_eq!(v.get("path").and_then(Value::as_str), Some("/a/b.pdf"));
        assert_eq!(v.get("rule").and_then(Value::as_str), Some("restricted"));
        let v = json::parse(file_json("x", 3, 9, None, &p).as_str()).unwrap();
        assert!(v.get("classification").is_some_and(Value::is_null));
        assert_eq!(v.get("rule").and_then(Value::as_str), Some("internal"), "the default classification's");
    }

    #[test]
    fn the_policy_document_caps_ttl_by_the_worker() {
        use crate::policy::Policy;
        let p = Policy::parse(
            r#"{"classifications":{"confidential":{"max_ttl":"2h","require_ip":true,"countries":["DE"]}}}"#,
        )
        .unwrap();
        let v = json::parse(policy_json(&p, 3600).as_str()).unwrap();
        assert_eq!(v.get("max_ttl_secs").and_then(Value::as_u64), Some(3600));
        assert_eq!(v.get("default_classification").and_then(Value::as_str), Some("internal"));
        let rules = v.get("rules").and_then(Value::as_arr).unwrap();
        assert_eq!(rules.len(), 4);
        let rule = |n: &str| rules.iter().find(|r| r.get("name").and_then(Value::as_str) == Some(n)).unwrap();
        let c = rule("confidential");
        assert_eq!(c.get("max_ttl_secs").and_then(Value::as_u64), Some(3600), "2h capped by the worker's 1h");
        assert_eq!(c.get("require_ip").and_then(Value::as_bool), Some(true));
        assert_eq!(c.get("countries").and_then(Value::as_arr).map(<[Value]>::len), Some(1));
        let r = rule("restricted");
        assert_eq!(r.get("require_sub").and_then(Value::as_bool), Some(true));
        assert_eq!(r.get("require_sealed").and_then(Value::as_bool), Some(true));
        assert_eq!(r.get("cache").and_then(Value::as_str), Some("no-store"));
        assert_eq!(r.get("revocation").and_then(Value::as_str), Some("strict"));
        let modes: Vec<&str> =
            rule("public").get("modes").and_then(Value::as_arr).unwrap().iter().filter_map(Value::as_str).collect();
        assert_eq!(modes, ["stream", "redirect"]);
        assert!(rule("internal").get("countries").is_some_and(Value::is_null));
    }

    #[test]
    fn hourly_counts_bind_filters_and_bound_the_span() {
        let (sql, args, since, until) = hourly_query("tenant=acme&outcome=refused", 100_000).unwrap();
        assert_eq!((since, until), (100_000 - 86_400, 100_000), "the last day by default");
        assert!(
            sql.contains("WHERE tenant = ?1 AND outcome = ?2 AND time >= ?3 AND time <= ?4 GROUP BY hour"),
            "{sql}"
        );
        assert_eq!(
            args,
            [
                SqlArg::Text("acme".into()),
                SqlArg::Text("refused".into()),
                SqlArg::Number(13_600.0),
                SqlArg::Number(100_000.0)
            ]
        );
        assert!(!sql.contains("acme"), "values are bound, never spliced");
        let (_, _, since, until) = hourly_query("since=10&until=7200", 1).unwrap();
        assert_eq!((since, until), (10, 7200));
        assert_eq!(hourly_query("since=10", 5).unwrap_err().field, "since", "since after until");
        assert_eq!(hourly_query(&format!("since=0&until={}", MAX_HOURLY_SPAN_SECS + 1), 0).unwrap_err().field, "since");
        assert!(hourly_query(&format!("since=0&until={MAX_HOURLY_SPAN_SECS}"), 0).is_ok());
        for bad in ["cursor=1:2", "limit=5", "colour=red"] {
            assert!(hourly_query(bad, 0).is_err(), "{bad}");
        }
    }

    #[test]
    fn bearer() {
        assert!(bearer_matches(Some("Bearer s3cret"), "s3cret"));
        assert!(!bearer_matches(Some("Bearer s3cre"), "s3cret"));
        assert!(!bearer_matches(Some("s3cret"), "s3cret"));
        assert!(!bearer_matches(None, "s3cret"));
        assert!(!bearer_matches(Some("Bearer "), ""));
    }

    /// A15: the scheme is case-insensitive (RFC 9110 §11.1), the token is not.
    #[test]
    fn bearer_scheme_is_case_insensitive() {
        for scheme in ["bearer", "BEARER", "bEaReR", "Bearer"] {
            assert!(bearer_matches(Some(&format!("{scheme} s3cret")), "s3cret"), "{scheme}");
            assert!(bearer_matches(Some(&format!("{scheme}  s3cret")), "s3cret"), "{scheme}, two spaces");
            assert!(!bearer_matches(Some(&format!("{scheme} S3CRET")), "s3cret"), "{scheme}: token case matters");
            assert!(!bearer_matches(Some(&format!("{scheme} s3cre")), "s3cret"), "{scheme}");
        }
        for other in
            ["Basic s3cret", "Bearers s3cret", "Bear s3cret", "Bearer", "bearer", "Bearers3cret", " Bearer s3cret"]
        {
            assert!(!bearer_matches(Some(other), "s3cret"), "{other:?}");
        }
    }

    #[test]
    fn every_listed_route_is_routed() {
        for (method, template) in ROUTES {
            let path = template.replace("{scope}", "sub").replace("{value}", "u1").replace("{path}", "a/b.pdf");
            let m = Method::parse(method);
            assert!(route(m, &path).is_ok(), "{method} {path}");
        }
    }

    #[test]
    fn routes() {
        assert_eq!(route(Method::Post, "/_linkgate/links"), Ok(Route::MintLink));
        assert_eq!(route(Method::Get, "/_linkgate/links"), Err(RouteError::MethodNotAllowed { allow: "POST" }));
        assert_eq!(route(Method::Get, "/_linkgate/revocations"), Ok(Route::ListRevocations));
        assert_eq!(route(Method::Post, "/_linkgate/revocations"), Ok(Route::CreateRevocation));
        assert_eq!(
            route(Method::Delete, "/_linkgate/revocations/path/%2Fa%2Fb%2F"),
            Ok(Route::DeleteRevocation { scope: RevocationScope::Path, value: "/a/b/".into() })
        );
        assert!(matches!(
            route(Method::Delete, "/_linkgate/revocations/nope/x"),
            Err(RouteError::BadParameter { field: "scope", .. })
        ));
        assert_eq!(
            route(Method::Put, "/_linkgate/files/a%20b/c.pdf"),
            Ok(Route::PutFile { path: CanonicalPath::parse("/a b/c.pdf").unwrap() })
        );
        assert!(matches!(
            route(Method::Put, "/_linkgate/files/a/../b"),
            Err(RouteError::BadParameter { field: "path", .. })
        ));
        assert_eq!(route(Method::Get, "/_linkgate/nope"), Err(RouteError::NotFound));
        assert_eq!(route(Method::Get, "/_linkgate/files/a"), Err(RouteError::MethodNotAllowed { allow: "PUT" }));
        assert_eq!(
            route(Method::Get, "/_linkgate/revocations/sub/u"),
            Err(RouteError::MethodNotAllowed { allow: "DELETE" })
        );
    }

    #[test]
    fn mint_bodies() {
        let r = parse_mint(br#"{"path":"/a.pdf","ttl":"15m","uses":1,"ip":["10.0.0.0/8"]}"#, false).unwrap();
        assert_eq!((r.path.as_str(), r.prefix, r.expiry, r.uses), ("/a.pdf", false, Some(Expiry::Ttl(900)), Some(1)));
        let r = parse_mint(br#"{"prefix":"/a/","ttl":60}"#, false).unwrap();
        assert!(r.prefix);
        for (body, field) in [
            (&br#"{"ttl":60}"#[..], "path"),
            (br#"{"path":"/a","prefix":"/b/","ttl":60}"#, "path"),
            (br#"{"path":"/a"}"#, "ttl"),
            (br#"{"path":"/a","ttl":0}"#, "ttl"),
            (br#"{"path":"/a","ttl":"soon"}"#, "ttl"),
            (br#"{"path":"/a","ttl":60,"color":"red"}"#, "color"),
            // A value of the wrong type names its field.
            (br#"{"path":"/a","ttl":60,"uses":"one"}"#, "uses"),
            (br#"{"path":"/a","ttl":60,"uses":true}"#, "uses"),
            (br#"{"path":"/a","ttl":60,"uses":-1}"#, "uses"),
            (br#"{"path":1,"ttl":60}"#, "path"),
            (br#"{"path":"/a","ttl":60,"ip":"10.0.0.0/8"}"#, "ip"),
            (br#"{"path":"/a","ttl":60,"sealed":"yes"}"#, "sealed"),
            (br#"{"path":"/a","ttl":60,"expires_at":1.5}"#, "expires_at"),
            (b"[]", "body"),
            (br#"{"path":"/a","ttl":60,"path":"/b"}"#, "body"),
            // `prefix` is the folder itself, not a flag (A6: `{"path":"","prefix":true}`).
            (br#"{"path":"","prefix":true,"ttl":60}"#, "prefix"),
            (br#"{"prefix":true,"ttl":60}"#, "prefix"),
            (b"not json", "body"),
        ] {
            assert_eq!(parse_mint(body, false).unwrap_err().field, field, "{}", String::from_utf8_lossy(body));
        }
        let huge = format!(r#"{{"path":"/{}","ttl":60}}"#, "a".repeat(MAX_BODY_BYTES));
        assert_eq!(parse_mint(huge.as_bytes(), false).unwrap_err().field, "body");
    }

    #[test]
    fn revoke_bodies() {
        let r = parse_revoke(br#"{"scope":"jti","value":"ABABABABABABABABABABABABABABABAB","reason":"oops"}"#).unwrap();
        assert_eq!(r.value, "abababababababababababababababab");
        assert!(parse_revoke(br#"{"scope":"all","reason":"incident"}"#).is_ok());
        for (body, field) in [
            (&br#"{"scope":"jti","value":"xyz","reason":"r"}"#[..], "value"),
            (br#"{"scope":"everything","value":"","reason":"r"}"#, "scope"),
            (br#"{"scope":"sub","value":"a@b.c","reason":"r"}"#, "value"),
            (br#"{"scope":"path","value":"/a/../b","reason":"r"}"#, "value"),
            // NFD é (JSON escape): path revocations are NFC like the paths they match.
            (br#"{"scope":"path","value":"/board/e\u0301.pdf","reason":"r"}"#, "value"),
            (br#"{"scope":"all","value":"x","reason":"r"}"#, "value"),
            (br#"{"scope":"sub","value":"u1"}"#, "reason"),
            (br#"{"value":"u1","reason":"r"}"#, "scope"),
            (br#"{"scope":7,"value":"u1","reason":"r"}"#, "scope"),
            (br#"{"scope":"sub","value":"u1","reason":"r","actor":5}"#, "actor"),
            (br#"{"scope":"sub","value":"u1","reason":"r","why":"x"}"#, "why"),
            (br#"{"scope":"sub","value":"u1","reason":" "}"#, "reason"),
        ] {
            assert_eq!(parse_revoke(body).unwrap_err().field, field, "{}", String::from_utf8_lossy(body));
        }
    }

    /// A6: `{"prefix": ""}` or `{"prefix": "/"}` would mint a link to the
    /// whole bucket.
    #[test]
    fn mint_refuses_a_whole_bucket_prefix_by_default() {
        for body in [&br#"{"prefix":"","ttl":60}"#[..], br#"{"prefix":"/","ttl":60}"#] {
            let e = parse_mint(body, false).unwrap_err();
            assert_eq!(e.field, "prefix", "{}", String::from_utf8_lossy(body));
            assert!(e.detail.contains("whole_bucket"), "{}", e.detail);
            // Allowing it in the configuration is not enough on its own.
            assert_eq!(parse_mint(body, true).unwrap_err().field, "prefix");
        }
        // Both the request flag and the configuration: minted.
        let kid = crate::keys::KeyId::parse("k").unwrap();
        for body in
            [&br#"{"prefix":"","ttl":60,"whole_bucket":true}"#[..], br#"{"prefix":"/","ttl":60,"whole_bucket":true}"#]
        {
            let r = parse_mint(body, true).unwrap();
            assert!(r.whole_bucket);
            let c = r.build(kid.clone(), Jti([1; 16]), 1000, 3600).unwrap();
            assert_eq!(c.scope.as_str(), "/");
            // The flag without the configuration: refused, naming the flag.
            let e = parse_mint(body, false).unwrap_err();
            assert_eq!(e.field, "whole_bucket");
            assert!(e.detail.contains("LINKGATE_ALLOW_WHOLE_BUCKET"), "{}", e.detail);
        }
        // The flag only goes with the whole bucket.
        for body in [
            &br#"{"prefix":"/a/","ttl":60,"whole_bucket":true}"#[..],
            br#"{"path":"/a.pdf","ttl":60,"whole_bucket":true}"#,
        ] {
            assert_eq!(parse_mint(body, true).unwrap_err().field, "whole_bucket");
        }
        // whole_bucket: false is the default, spelled out.
        assert_eq!(parse_mint(br#"{"prefix":"/","ttl":60,"whole_bucket":false}"#, true).unwrap_err().field, "prefix");
        assert!(!parse_mint(br#"{"prefix":"/a/","ttl":60,"whole_bucket":false}"#, true).unwrap().whole_bucket);
        // Neither "/" as an object nor an empty object path is a way around it.
        let kid2 = kid.clone();
        let build = |b: &[u8]| parse_mint(b, true).unwrap().build(kid2.clone(), Jti([1; 16]), 1000, 3600);
        assert!(build(br#"{"path":"/","ttl":60}"#).is_err());
        assert!(build(br#"{"path":"","ttl":60}"#).is_err());
    }

    /// A14: free text that ends up in the denylist and the audit trail must
    /// read as what it is: no bidi overrides, line separators, zero-width or
    /// other invisible formatting characters, no C0/C1 controls.
    #[test]
    fn revoke_free_text_refuses_invisible_characters() {
        let hidden = [
            "\\u202e",
            "\\u202a",
            "\\u202d",
            "\\u2066",
            "\\u2069",
            "\\u200e",
            "\\u200f",
            "\\u061c",
            "\\u2028",
            "\\u2029",
            "\\u200b",
            "\\u200d",
            "\\u2060",
            "\\ufeff",
            "\\u00ad",
            "\\u0000",
            "\\u0007",
            "\\u001b",
            "\\u007f",
            "\\u0085",
            "\\u009b",
            "\\ufff9",
            "\\udb40\\udc01",
            "\\udb40\\udc41",
            "\\n",
            "\\t",
        ];
        for h in hidden {
            let body = format!(r#"{{"scope":"sub","value":"u1","reason":"leak{h}cod.exe"}}"#);
            let e = parse_revoke(body.as_bytes()).unwrap_err();
            assert_eq!(e.field, "reason", "{h}: {e:?}");
            let body = format!(r#"{{"scope":"sub","value":"u1","reason":"leak","actor":"ops{h}"}}"#);
            let e = parse_revoke(body.as_bytes()).unwrap_err();
            assert_eq!(e.field, "actor", "{h}: {e:?}");
        }
        let e = parse_revoke(br#"{"scope":"sub","value":"u1","reason":"a\u202eb"}"#).unwrap_err();
        assert!(e.detail.contains("U+202E"), "the detail names the character: {}", e.detail);
        // Visible text in any script, emoji and ordinary spaces are fine.
        let ok = parse_revoke(
            r#"{"scope":"sub","value":"u1","reason":"Leck gemeldet — тикет №42 🔒 ﷺ","actor":"Zoë Åberg"}"#.as_bytes(),
        )
        .unwrap();
        assert_eq!(ok.actor.as_deref(), Some("Zoë Åberg"));
    }

    #[test]
    fn inspect_bodies() {
        let r = parse_inspect(br#"{"link":"https://h.example/a%20b.pdf?x=1&lg=TOKEN"}"#).unwrap();
        assert_eq!(r, InspectRequest { token: "TOKEN".into(), raw_path: Some("/a%20b.pdf".into()) });
        let r = parse_inspect(br#"{"token":"T","path":"/a b"}"#).unwrap();
        assert_eq!(r.raw_path.as_deref(), Some("/a%20b"));
        assert_eq!(parse_inspect(br#"{"link":"https://h/a"}"#).unwrap_err().field, "link");
        let r = parse_inspect(br#"{"link":"https://h?lg=T"}"#).unwrap();
        assert_eq!(r, InspectRequest { token: "T".into(), raw_path: Some("/".into()) });
        let r = parse_inspect(br#"{"link":"https://h/a?lg="}"#).unwrap();
        assert_eq!(r.token, "");
        assert_eq!(parse_inspect(br#"{"link":"https://h/a?lg=a&lg=b"}"#).unwrap_err().field, "link");
        assert_eq!(parse_inspect(br#"{}"#).unwrap_err().field, "link");
    }

    #[test]
    fn inspection() {
        use crate::b64;
        use crate::keys::KeyRing;
        use crate::mint::{Expiry, LinkRequest};
        use crate::verify::TimeRules;
        use crate::Code;
        let ring = KeyRing::parse(&format!("k:{}", b64::encode(&[5; 32]))).unwrap();
        let req = LinkRequest { path: "/a/b".into(), expiry: Some(Expiry::Ttl(60)), ..Default::default() };
        let c = req.build(ring.signing_key().kid().clone(), Jti([3; 16]), 1000, 3600).unwrap();
        let t = c.sign(ring.signing_key()).unwrap();
        let rules = TimeRules::default();
        let ok = inspect(&ring, &rules, &t, Some("/a/b"), 1001, None);
        assert_eq!((ok.code, ok.checked.as_slice()), (None, &["signature", "time", "scope"][..]));
        assert_eq!(inspect(&ring, &rules, &t, Some("/a/c"), 1001, None).code, Some(Code::ScopeMismatch));
        assert_eq!(inspect(&ring, &rules, &t, None, 1060, None).code, Some(Code::Expired));
        assert!(inspect(&ring, &rules, &t, None, 1060, None).claims.is_some());
        assert_eq!(inspect(&ring, &rules, "AAAA", None, 1001, None).code, Some(Code::TokenMalformed));
        assert_eq!(inspect(&ring, &rules, "", None, 1001, None).code, Some(Code::TokenMissing), "as at the edge");
        let other = KeyRing::parse(&format!("k:{}", b64::encode(&[6; 32]))).unwrap();
        let bad = inspect(&other, &rules, &t, None, 1001, None);
        assert_eq!((bad.code, bad.claims), (Some(Code::SignatureInvalid), None));
    }

    /// A7: minting refuses what the download would: an "IP binding" of the
    /// whole Internet under a rule that requires one.
    #[test]
    fn mint_policy_refuses_an_everywhere_ip_binding() {
        use crate::keys::KeyId;
        use crate::policy::Policy;
        let p = Policy::parse(r#"{"classifications":{"internal":{"require_ip":true}}}"#).unwrap();
        let rule = p.rule_for(None);
        let claims = |ip: &[&str]| {
            let mut r = parse_mint(br#"{"path":"/a.pdf","ttl":60}"#, false).unwrap();
            r.ip = ip.iter().map(|s| (*s).to_owned()).collect();
            r.build(KeyId::parse("k").unwrap(), Jti([1; 16]), 1000, 3600).unwrap()
        };
        assert_eq!(mint_policy(&rule, &claims(&["0.0.0.0/0", "::/0"]), false).unwrap_err().rule, "internal.require_ip");
        assert_eq!(mint_policy(&rule, &claims(&["10.0.0.0/8"]), false).unwrap_err().rule, "internal.require_ip");
        assert!(mint_policy(&rule, &claims(&["10.20.0.0/16", "2001:db8::/32"]), false).is_ok());
    }

    #[test]
    fn queries() {
        let q = Query::parse("sub=u1&limit=5&path=%2Fa+b").unwrap();
        assert_eq!(q.get("sub").unwrap(), Some("u1"));
        assert_eq!(q.get("path").unwrap(), Some("/a b"));
        assert_eq!(q.limit().unwrap(), 5);
        assert!(q.only(&["sub", "limit"]).is_err());
        assert_eq!(Query::parse("limit=0").unwrap().limit().unwrap_err().field, "limit");
        assert_eq!(Query::parse("a=1&a=2").unwrap().get("a").unwrap_err().field, "a");
        assert!(Query::parse("a=%ZZ").is_err());
    }
}

//! The JS signer (issue 15): linkgate's core behind a small boundary.
//!
//! Options cross the boundary packed ([`Packed`]: one string holding every
//! text value and one `Float64Array` of type tags and numbers, built by the
//! JavaScript wrapper `lib/api.mjs`), so a call costs two copies into wasm
//! memory instead of a `Reflect.get` and a string decode per option. A signed
//! link comes back as one line-separated string; everything else (and every
//! refusal) as one JSON string (`{"ok": ...}` or `{"error": {code, field,
//! message}}`) that the wrapper turns into values (with Dates) or a thrown
//! `LinkgateError`. The key ring is parsed once per `LINKGATE_KEYS` text
//! (`use_keys`). This keeps the glue tiny, keeps a JSON parser out of the
//! wasm, and leaves the API testable natively; only the exports and the
//! randomness are wasm-only.

#![forbid(unsafe_code)]

use std::net::IpAddr;

use linkgate_core::duration::parse_duration;
use linkgate_core::ed25519::{signed_message, MAX_ED25519_PAYLOAD_BYTES};
use linkgate_core::gate::split_url;
use linkgate_core::inspect::{self as core_inspect, Facts as InspectFacts};
use linkgate_core::keys::{format_entry, KeyId, KeyRingError};
use linkgate_core::mint::{default_base, link_base, url_for, Expiry, LinkRequest};
use linkgate_core::sealed::AnyToken;
use linkgate_core::token::{ClaimError, ClaimJson, Field, Jti};
use linkgate_core::verify::{query_token, QueryToken, TimeRules};
#[cfg(test)]
use linkgate_core::UnverifiedToken;
use linkgate_core::{Claims, Code, KeyRing, Reason};

mod json;

use json::Raw;

/// The `code` of every refusal of caller input: the admin API's code for the
/// same mistakes (`linkgate mint` prints it), with `field` naming the option.
pub const INVALID_REQUEST: &str = "invalid_request";
/// The JS runtime gave no randomness (no `crypto.getRandomValues`).
pub const RANDOMNESS_UNAVAILABLE: &str = "randomness_unavailable";

/// A refusal of a call, thrown in JS as a `LinkgateError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub field: Option<String>,
    pub message: String,
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError { code: INVALID_REQUEST, field: Some(field.to_owned()), message: format!("{field}: {}", message.into()) }
}

/// The answer as the JS wrapper reads it.
pub fn respond(r: Result<Raw, ApiError>) -> String {
    match r {
        Ok(v) => json::object([("ok", v)]),
        Err(e) => json::object([(
            "error",
            json::object([
                ("code", json::string(e.code)),
                ("field", json::opt_string(e.field.as_deref())),
                ("message", json::string(&e.message)),
            ]),
        )]),
    }
    .into_string()
}

/// The key ring of a `LINKGATE_KEYS` text, or the refusal naming `keys`.
pub fn parse_keys(text: &str) -> Result<KeyRing, ApiError> {
    KeyRing::parse(text).map_err(|e: KeyRingError| invalid("keys", e.to_string()))
}

/// One option's value as the API reads it, whatever the caller's runtime
/// representation: a JS object on wasm (through `Reflect`, so no JSON parser
/// is linked into the wasm), a JSON value in the native tests.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// `undefined` or `null`.
    Absent,
    Str(String),
    Num(f64),
    Bool(bool),
    List(Vec<Val>),
    /// Anything else (an object, a function, a bigint...).
    Other,
}

/// A caller's options object.
pub trait Source {
    /// Its own enumerable member names.
    fn names(&self) -> Vec<String>;
    fn get(&self, name: &str) -> Val;
    /// A member whose name is not in `known`.
    fn unknown(&self, known: &[&str]) -> Option<String> {
        self.names().into_iter().find(|k| !known.contains(&k.as_str()))
    }
}

/// Type tags of [`Packed`] slots; `lib/api.mjs` writes the same numbers.
pub mod tag {
    /// Not given (`undefined`, or no such member).
    pub const NONE: f64 = 0.0;
    /// `null`: given, and known to be absent.
    pub const NULL: f64 = 1.0;
    /// A string: the slot's value is its length in UTF-16 code units.
    pub const STR: f64 = 2.0;
    pub const NUM: f64 = 3.0;
    /// A boolean: the value is 0 or 1.
    pub const BOOL: f64 = 4.0;
    /// An array (top level only): the value is its length, its items follow.
    pub const LIST: f64 = 5.0;
    /// Anything else (an object, a function, a bigint...).
    pub const OTHER: f64 = 6.0;
}

/// Options packed by the JavaScript wrapper, one slot per name of a fixed
/// list, in order: `slots` holds a (tag, value) pair per slot (a list's
/// items follow its own pair), `text` every string value, concatenated.
/// String lengths count UTF-16 code units, JavaScript's own length, so the
/// wrapper never measures UTF-8; a lone surrogate arrives as U+FFFD, which
/// is one unit too. Malformed packing (only possible by calling the wasm
/// export directly) is refused as `invalid_request`, never a panic.
#[derive(Debug, Clone, PartialEq)]
pub struct Packed {
    names: &'static [&'static str],
    vals: Vec<(bool, Val)>,
    /// A member the caller gave whose name is not in `names`.
    unknown: Option<String>,
}

impl Packed {
    pub fn decode(
        names: &'static [&'static str],
        text: &str,
        slots: &[f64],
        unknown: Option<String>,
    ) -> Result<Packed, ApiError> {
        let malformed = || ApiError {
            code: INVALID_REQUEST,
            field: None,
            message: "options: malformed packing (call the package's JavaScript API, not the wasm exports)".into(),
        };
        let mut rest = text;
        let mut pairs = slots.chunks_exact(2).map(|p| match *p {
            [t, v] => (t, v),
            _ => (f64::NAN, f64::NAN),
        });
        if !slots.len().is_multiple_of(2) {
            return Err(malformed());
        }
        fn one(t: f64, v: f64, rest: &mut &str) -> Option<Val> {
            Some(match t {
                t if t == tag::NONE || t == tag::NULL => Val::Absent,
                t if t == tag::STR => {
                    let units = whole(v)?;
                    let mut counted = 0u64;
                    let mut end = 0;
                    for c in rest.chars() {
                        if counted >= units {
                            break;
                        }
                        counted = counted.checked_add(c.len_utf16() as u64)?;
                        end += c.len_utf8();
                    }
                    if counted != units {
                        return None;
                    }
                    let (head, tail) = rest.split_at_checked(end)?;
                    *rest = tail;
                    Val::Str(head.to_owned())
                }
                t if t == tag::NUM => Val::Num(v),
                t if t == tag::BOOL => Val::Bool(v != 0.0),
                t if t == tag::OTHER => Val::Other,
                _ => return None,
            })
        }
        let mut vals = Vec::with_capacity(names.len());
        for _ in names {
            let (t, v) = pairs.next().ok_or_else(malformed)?;
            let given = t != tag::NONE;
            let val = if t == tag::LIST {
                let n = whole(v).filter(|&n| n <= 4096).ok_or_else(malformed)?;
                let mut items = Vec::new();
                for _ in 0..n {
                    let (t, v) = pairs.next().ok_or_else(malformed)?;
                    items.push(if t == tag::LIST { Val::Other } else { one(t, v, &mut rest).ok_or_else(malformed)? });
                }
                Val::List(items)
            } else {
                one(t, v, &mut rest).ok_or_else(malformed)?
            };
            vals.push((given, val));
        }
        if pairs.next().is_some() || !rest.is_empty() {
            return Err(malformed());
        }
        Ok(Packed { names, vals, unknown })
    }

    /// The slots from `at` on, as their own source (the top-level options
    /// packed after a link's).
    fn split_off(&mut self, at: usize) -> Packed {
        let names = self.names.get(at..).unwrap_or_default();
        self.names = self.names.get(..at).unwrap_or(self.names);
        let at = at.min(self.vals.len());
        Packed { names, vals: self.vals.split_off(at), unknown: None }
    }
}

impl Source for Packed {
    fn names(&self) -> Vec<String> {
        let given = self.names.iter().zip(&self.vals).filter(|(_, (g, _))| *g).map(|(n, _)| (*n).to_owned());
        self.unknown.iter().cloned().chain(given).collect()
    }

    fn get(&self, name: &str) -> Val {
        // Length and first byte before the comparison: at opt-level z a
        // string comparison is a call, and `sign` asks ~20 names of ~20.
        let same = |n: &&str| n.len() == name.len() && n.as_bytes().first() == name.as_bytes().first() && *n == name;
        self.names.iter().position(same).and_then(|i| self.vals.get(i)).map_or(Val::Absent, |(_, v)| v.clone())
    }

    fn unknown(&self, known: &[&str]) -> Option<String> {
        // The wrapper found any member outside the packing; packed names
        // outside `known` count too (a packing larger than the call's list).
        let given = self.names.iter().zip(&self.vals).filter(|(_, (g, _))| *g);
        self.unknown.clone().or_else(|| given.map(|(n, _)| *n).find(|n| !known.contains(n)).map(str::to_owned))
    }
}

/// Whole, non-negative seconds (or counts) from a JS number; JS numbers are
/// exact integers up to 2^53 - 1.
fn whole(f: f64) -> Option<u64> {
    (f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f <= 9_007_199_254_740_991.0).then_some(f as u64)
}

/// Options, refusing names the caller did not mean to send (a typo such as
/// `expires` must not mint a link without it).
struct Obj<'a> {
    src: &'a dyn Source,
}

impl<'a> Obj<'a> {
    fn new(src: &'a dyn Source, known: &[&str]) -> Result<Obj<'a>, ApiError> {
        if let Some(k) = src.unknown(known) {
            return Err(invalid(&k, "unknown option"));
        }
        Ok(Obj { src })
    }

    fn get(&self, name: &str) -> Val {
        self.src.get(name)
    }

    fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            Val::Absent => Ok(None),
            Val::Str(s) => Ok(Some(s)),
            _ => Err(invalid(name, "must be a string")),
        }
    }

    fn seconds(&self, name: &str) -> Result<Option<u64>, ApiError> {
        match self.get(name) {
            Val::Absent => Ok(None),
            Val::Num(n) => whole(n).map(Some).ok_or_else(|| invalid(name, "must be a whole, non-negative number")),
            _ => Err(invalid(name, "must be a whole, non-negative number")),
        }
    }

    fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            Val::Absent => Ok(false),
            Val::Bool(b) => Ok(b),
            _ => Err(invalid(name, "must be true or false")),
        }
    }
}

/// A `LINKGATE_KEYS` entry for `kid` and a secret of 32 random bytes.
pub fn keygen(kid: &str, secret: &[u8; 32]) -> Result<Raw, ApiError> {
    let kid = KeyId::parse(kid).ok_or_else(|| invalid("kid", "must be 1-32 of A-Z a-z 0-9 _ -"))?;
    Ok(json::string(&format_entry(&kid, secret)))
}

/// What `sign` packs: a link's options, then the call's (`base`,
/// `maxTtlSecs`, `now`), in the order [`Packed`] slots follow.
pub const SIGN_PACKING: &[&str] = &[
    "path",
    "prefix",
    "wholeBucket",
    "ttl",
    "exp",
    "nbf",
    "iat",
    "kid",
    "sub",
    "tenant",
    "ip",
    "host",
    "uses",
    "mode",
    "filename",
    "contentType",
    "sealed",
    "base",
    "maxTtlSecs",
    "now",
];

/// The options of a link.
pub const LINK_OPTIONS: &[&str] = SIGN_PACKING.split_at(SIGN_PACKING.len() - 3).0;
/// The call options of `sign`.
pub const SIGN_OPTIONS: &[&str] = SIGN_PACKING.split_at(SIGN_PACKING.len() - 3).1;

/// The facts `inspect` takes, in packing order.
pub const FACT_OPTIONS: &[&str] = &["path", "method", "host", "ip", "now", "skewSecs", "maxTtlSecs"];

/// A signed link as the JS API returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub url: String,
    pub token: String,
    pub jti: String,
    pub iat: u64,
    pub exp: u64,
}

impl Signed {
    pub fn to_json(&self) -> Raw {
        json::object([
            ("url", json::string(&self.url)),
            ("token", json::string(&self.token)),
            ("jti", json::string(&self.jti)),
            ("iat", json::num(self.iat)),
            ("exp", json::num(self.exp)),
        ])
    }

    /// `ok` and the five fields, one per line: no JSON to build or parse on
    /// the hot path (a URL and a token never hold a raw line break: both are
    /// percent- or base64url-encoded).
    pub fn to_lines(&self) -> String {
        let (iat, exp) = (self.iat.to_string(), self.exp.to_string());
        let parts = ["ok", &self.url, &self.token, &self.jti, &iat, &exp];
        let mut out = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
        for p in parts {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(p);
        }
        out
    }
}

/// The JS option a claim error is about.
fn option_of(field: Field, ttl_given: bool) -> &'static str {
    match field {
        Field::Scope => "path",
        Field::Exp if ttl_given => "ttl",
        Field::ContentType => "contentType",
        f => f.as_str(),
    }
}

/// Sign one link: `link` holds the link's options, `opts` `base`,
/// `maxTtlSecs` and `now` (the wrapper has turned Dates into seconds).
/// `nonce`: 24 fresh random bytes, used when `sealed` is set.
pub fn sign(
    ring: &KeyRing,
    link: &dyn Source,
    opts: &dyn Source,
    jti: [u8; 16],
    nonce: [u8; 24],
) -> Result<Signed, ApiError> {
    sign_with(Signer::Ring(ring), link, opts, jti, nonce)
}

/// Who signs: an HMAC key of the ring, or an Ed25519 private key held by the
/// JS runtime (docs/link-format.md §18). The wasm holds no curve code: for
/// Ed25519 the core encodes the payload and the wrapper signs it with
/// WebCrypto (`crypto.subtle.sign("Ed25519", …)`).
#[derive(Clone, Copy)]
pub enum Signer<'a> {
    Ring(&'a KeyRing),
    /// The private key's id.
    Ed25519(&'a str),
}

/// [`sign`] for either signer. For [`Signer::Ed25519`] the answer's `token`
/// is the base64url **message** to sign (`"linkgate-link-ed25519-v1\0" ||
/// payload`) and its `url` ends with `?lg=`: the wrapper appends the token
/// `0x03 || payload || signature`.
pub fn sign_with(
    signer: Signer<'_>,
    link: &dyn Source,
    opts: &dyn Source,
    jti: [u8; 16],
    nonce: [u8; 24],
) -> Result<Signed, ApiError> {
    let top = Obj::new(opts, SIGN_OPTIONS)?;
    let link = Obj::new(link, LINK_OPTIONS)?;
    let now = top.seconds("now")?.ok_or_else(|| invalid("now", "is required"))?;
    let max_ttl = top.seconds("maxTtlSecs")?.unwrap_or(TimeRules::default().max_ttl_secs);
    let base = top.string("base")?;

    let path = link.string("path")?.ok_or_else(|| invalid("path", "is required"))?;
    let ttl = match link.get("ttl") {
        Val::Absent => None,
        Val::Str(s) => Some(parse_duration(&s).ok_or_else(|| invalid("ttl", "use seconds or e.g. 90s, 15m, 24h, 7d"))?),
        Val::Num(n) => {
            Some(whole(n).filter(|&s| s > 0).ok_or_else(|| invalid("ttl", "must be a positive number of seconds"))?)
        }
        _ => return Err(invalid("ttl", "must be a number of seconds or a duration text")),
    };
    let expiry = match (ttl, link.seconds("exp")?) {
        (Some(t), None) => Expiry::Ttl(t),
        (None, Some(e)) => Expiry::At(e),
        (Some(_), Some(_)) => return Err(invalid("ttl", "give ttl or exp, not both")),
        (None, None) => return Err(invalid("ttl", "a lifetime (ttl) or an expiry time (exp) is required")),
    };
    let ip = match link.get("ip") {
        Val::Absent => Vec::new(),
        Val::Str(s) => vec![s],
        Val::List(items) => items
            .into_iter()
            .map(|i| match i {
                Val::Str(s) => Ok(s),
                _ => Err(invalid("ip", "must be a string or an array of strings")),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(invalid("ip", "must be a string or an array of strings")),
    };
    let req = LinkRequest {
        path,
        prefix: link.flag("prefix")?,
        whole_bucket: link.flag("wholeBucket")?,
        expiry: Some(expiry),
        not_before: link.seconds("nbf")?,
        issued_at: link.seconds("iat")?,
        host: link.string("host")?,
        sub: link.string("sub")?,
        tenant: link.string("tenant")?,
        ip,
        uses: link.seconds("uses")?,
        mode: link.string("mode")?,
        filename: link.string("filename")?,
        content_type: link.string("contentType")?,
        sealed: link.flag("sealed")?,
    };
    let kid = link.string("kid")?;
    // Build, sign, then the URL on the checked base: the CLI's steps, so
    // both mint the same bytes (and the URL is formatted once).
    let opt = |e: ClaimError| invalid(option_of(e.field, ttl.is_some()), e.reason);
    let (claims, token) = match signer {
        Signer::Ring(ring) => {
            let key = match &kid {
                Some(k) => {
                    ring.get(k).ok_or_else(|| invalid("kid", format!("no key with id {k:?} in the key ring")))?
                }
                None => ring.signing_key(),
            };
            let claims = req.build(key.kid().clone(), Jti(jti), now, max_ttl).map_err(opt)?;
            let token = if req.sealed { claims.seal(key, &nonce) } else { claims.sign(key) }.map_err(opt)?;
            (claims, token)
        }
        Signer::Ed25519(kid) => {
            // Short texts: the package's wasm is near its 60 KB budget.
            if req.sealed {
                return Err(invalid("sealed", "not with Ed25519"));
            }
            let kid = KeyId::parse(kid).ok_or_else(|| invalid("kid", "must be 1-32 of A-Z a-z 0-9 _ -"))?;
            let claims = req.build(kid, Jti(jti), now, max_ttl).map_err(opt)?;
            let payload = claims.encode_payload();
            if payload.len() > MAX_ED25519_PAYLOAD_BYTES {
                return Err(invalid("path", "claims too large for one token"));
            }
            (claims, linkgate_core::b64::encode(&signed_message(&payload)))
        }
    };
    let ed25519 = matches!(signer, Signer::Ed25519(_));
    // A base is scheme://host[:port] only, and names the bound host (the
    // CLI's --base rule, docs/link-format.md): a URL path would be outside
    // the link's scope.
    let base = match &base {
        Some(b) => link_base(b, claims.host.as_ref()).map_err(|e| invalid("base", e))?,
        None => default_base(claims.host.as_ref()),
    };
    let url = url_for(&base, &claims.scope, if ed25519 { "" } else { &token }, req.sealed);
    Ok(Signed { url, token, jti: claims.jti.to_hex(), iat: claims.iat, exp: claims.exp })
}

/// [`sign`] over options packed by the wrapper: a link's, then the call's
/// ([`SIGN_PACKING`]).
pub fn sign_packed(
    ring: &KeyRing,
    text: &str,
    slots: &[f64],
    unknown: Option<String>,
    jti: [u8; 16],
    nonce: [u8; 24],
) -> Result<Signed, ApiError> {
    sign_packed_with(Signer::Ring(ring), text, slots, unknown, jti, nonce)
}

/// [`sign_with`] over packed options.
pub fn sign_packed_with(
    signer: Signer<'_>,
    text: &str,
    slots: &[f64],
    unknown: Option<String>,
    jti: [u8; 16],
    nonce: [u8; 24],
) -> Result<Signed, ApiError> {
    let mut link = Packed::decode(SIGN_PACKING, text, slots, unknown)?;
    let top = link.split_off(LINK_OPTIONS.len());
    sign_with(signer, &link, &top, jti, nonce)
}

/// What a link or bare token says: (token or None, raw path, host).
/// Err: the link has more than one `lg`.
type Split = (Option<String>, Option<String>, Option<String>);

fn split_link(input: &str) -> Result<Split, ()> {
    let input = input.trim();
    let Some(rest) = input.strip_prefix("https://").or_else(|| input.strip_prefix("http://")) else {
        return Ok(((!input.is_empty()).then(|| input.to_owned()), None, None));
    };
    // The edge's own URL splitting and query rules (docs/link-format.md §1).
    let (authority, path, query) = split_url(rest);
    let token = match query_token(query).map_err(|_| ())? {
        QueryToken::Link(t) if !t.is_empty() => Some(t.to_owned()),
        _ => None,
    };
    Ok((token, Some(path.to_owned()), Some(authority.to_owned())))
}

fn claims_json(c: &Claims) -> Raw {
    json::object(c.json_fields().into_iter().map(|(k, v)| {
        let v = match v {
            ClaimJson::Num(n) => json::num(n),
            ClaimJson::Text(t) => json::string(&t),
            ClaimJson::List(l) => json::array(l.iter().map(|i| json::string(i))),
        };
        (k, v)
    }))
}

/// An inspect answer: verdict, the refusal (code, status, reason) if any,
/// the checks made and skipped, the claims if decoded, whether the token is
/// sealed, and a sealed token's kid when its claims cannot be read.
fn verdict(
    verdict: &str,
    refusal: Option<(Code, &str)>,
    checked: &[&str],
    skipped: Option<Raw>,
    claims: Option<&Claims>,
    sealed: bool,
    sealed_kid: Option<&str>,
) -> Raw {
    let mut members = vec![
        ("verdict", json::string(verdict)),
        ("code", json::opt_string(refusal.map(|(c, _)| c.as_str()))),
        ("status", refusal.map_or_else(json::null, |(c, _)| json::num(u64::from(c.status())))),
        ("reason", json::opt_string(refusal.map(|(_, r)| r))),
        ("checked", json::array(checked.iter().map(|c| json::string(c)))),
        ("claims", claims.map_or_else(json::null, claims_json)),
    ];
    if let Some(s) = skipped {
        members.push(("skipped", s));
    }
    members.push(("sealed", json::boolean(sealed)));
    if let Some(kid) = sealed_kid {
        members.push(("kid", json::string(kid)));
    }
    json::object(members)
}

/// Inspect a link or token with the core's `inspect` (the same steps as
/// `linkgate inspect` and the edge, docs/link-format.md §9). Without keys:
/// decode only (`unverified`). With keys: every check whose fact is known
/// (`path`, `method`, `host`, `ip`, from `facts` or the link's URL); the
/// others are listed in `skipped`. A fact given as null is known to be
/// absent (no Host header, no address), one not given at all is unknown.
pub fn inspect(input: &str, ring: Option<&KeyRing>, facts: &dyn Source) -> Result<Raw, ApiError> {
    let f = Obj::new(facts, FACT_OPTIONS)?;
    let now = f.seconds("now")?.ok_or_else(|| invalid("now", "is required"))?;
    let defaults = TimeRules::default();
    let rules = TimeRules {
        skew_secs: f.seconds("skewSecs")?.unwrap_or(defaults.skew_secs),
        max_ttl_secs: f.seconds("maxTtlSecs")?.unwrap_or(defaults.max_ttl_secs),
    };
    let given = f.src.names();
    let has = |name: &str| given.iter().any(|n| n == name);
    // Known absent is the empty text, which is no host and no address.
    let known = |name: &str| -> Result<Option<String>, ApiError> {
        Ok(if has(name) { Some(f.string(name)?.unwrap_or_default()) } else { None })
    };
    let ip = known("ip")?;
    if let Some(t) = ip.as_deref().filter(|t| !t.is_empty()) {
        t.parse::<IpAddr>().map_err(|_| invalid("ip", "is not an IP address"))?;
    }
    let method = f.string("method")?;
    // A path-less link (sealed, `/_lg/<token>`) is read as the request it
    // stands for, as the edge reads it (docs/link-format.md §17.7).
    let expanded = linkgate_core::gate::expand_path_form(ring, input.trim());
    let (token, url_path, url_host) = match split_link(expanded.as_deref().unwrap_or(input)) {
        Ok((token, path, host)) => (Ok(token.unwrap_or_default()), path, host),
        Err(()) => (Err(Reason::DuplicateToken), None, None),
    };
    let path = f.string("path")?.or(url_path);
    let host = known("host")?.or(url_host);
    let facts = InspectFacts {
        token: token.as_ref().map(String::as_str).map_err(|r| *r),
        raw_path: path.as_deref(),
        host: host.as_deref(),
        client_ip: ip.as_deref(),
        method: method.as_deref(),
        now,
    };
    let Some(ring) = ring else {
        return Ok(match core_inspect::decode(&facts) {
            Ok(AnyToken::Plain(t)) => verdict("unverified", None, &[], None, Some(t.claims_unverified()), false, None),
            Ok(AnyToken::Ed25519(t)) => {
                verdict("unverified", None, &[], None, Some(t.claims_unverified()), false, None)
            }
            // Nothing but the key id can be read without the key.
            Ok(AnyToken::Sealed(t)) => verdict("unverified", None, &[], None, None, true, Some(t.kid().as_str())),
            Err(reason) => verdict(
                "refused",
                Some((reason.code().unwrap_or(Code::TokenMalformed), reason.as_str())),
                &[],
                None,
                None,
                false,
                None,
            ),
        });
    };
    let ins = core_inspect::inspect(ring, &rules, &facts);
    let skipped = json::array(
        ins.skipped.iter().map(|s| json::object([("check", json::string(s.check)), ("needs", json::string(s.needs))])),
    );
    Ok(match (ins.code, &ins.claims) {
        (None, Some(c)) => verdict("valid", None, &ins.checked, Some(skipped), Some(c), ins.sealed, None),
        (code, claims) => verdict(
            "refused",
            Some((code.unwrap_or(Code::SignatureInvalid), ins.reason.map_or("", Reason::as_str))),
            &ins.checked,
            Some(skipped),
            claims.as_ref(),
            ins.sealed,
            None,
        ),
    })
}

/// The exports, wasm32 only: options packed by `lib/api.mjs` ([`Packed`]),
/// the key ring held between calls, randomness from the JS runtime's
/// `crypto.getRandomValues` (getrandom's `wasm_js` backend).
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod bindings {
    use wasm_bindgen::prelude::wasm_bindgen;

    use std::cell::RefCell;

    use linkgate_core::KeyRing;

    use super::{respond, ApiError, Packed, FACT_OPTIONS, LINK_OPTIONS, RANDOMNESS_UNAVAILABLE, SIGN_OPTIONS};

    thread_local! {
        /// The ring of the last `use_keys` text: the wrapper calls
        /// `use_keys` only when the caller's LINKGATE_KEYS text changes, so
        /// a signing loop neither copies nor parses it again.
        static RING: RefCell<Option<KeyRing>> = const { RefCell::new(None) };
        /// Random bytes drawn 1 KiB at a time: node's crypto.getRandomValues
        /// costs several microseconds per call whatever the size.
        static POOL: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }

    /// Every option's name and the packing order, for the wrapper:
    /// `link|sign|facts`, each comma-separated (one list, in Rust).
    #[wasm_bindgen]
    pub fn option_names() -> String {
        [LINK_OPTIONS, SIGN_OPTIONS, FACT_OPTIONS].map(|l| l.join(",")).join("|")
    }

    /// Parse and keep a key ring: `""`, or `{"error": ...}` (the ring kept
    /// before stays).
    #[wasm_bindgen]
    pub fn use_keys(text: &str) -> String {
        match super::parse_keys(text) {
            Ok(ring) => {
                RING.with(|c| c.replace(Some(ring)));
                String::new()
            }
            Err(e) => respond(Err(e)),
        }
    }

    fn with_ring<T>(f: impl FnOnce(&KeyRing) -> Result<T, ApiError>) -> Result<T, ApiError> {
        RING.with(|c| match c.try_borrow().as_deref() {
            Ok(Some(ring)) => f(ring),
            _ => Err(super::invalid("keys", "no key ring: call use_keys first")),
        })
    }

    fn random<const N: usize>() -> Result<[u8; N], ApiError> {
        POOL.with(|c| {
            let mut pool = c.try_borrow_mut().map_err(|_| unavailable("busy"))?;
            if pool.len() < N {
                let mut fresh = vec![0u8; 1024];
                getrandom::fill(&mut fresh).map_err(|e| unavailable(&e.to_string()))?;
                *pool = fresh;
            }
            // Bytes handed out leave the pool: never used twice.
            let at = pool.len().saturating_sub(N);
            <[u8; N]>::try_from(pool.split_off(at)).map_err(|_| unavailable("short read"))
        })
    }

    fn unavailable(why: &str) -> ApiError {
        ApiError {
            code: RANDOMNESS_UNAVAILABLE,
            field: None,
            message: format!("no randomness from the JS runtime: {why}"),
        }
    }

    /// `{"ok": "kid:key"}` or `{"error": ...}`.
    #[wasm_bindgen]
    pub fn keygen(kid: &str) -> String {
        respond(random().and_then(|s| super::keygen(kid, &s)))
    }

    /// A link's options then `sign`'s, packed: `ok` and url, token, jti, iat,
    /// exp on lines of their own, or `{"error": ...}`. With `ed25519_kid`,
    /// for an Ed25519 private key of that id instead of the ring: the URL
    /// ends with `?lg=` and the token line is the base64url message to sign
    /// (the wrapper signs with WebCrypto and appends the token). One export
    /// for both keeps the wasm small.
    #[wasm_bindgen]
    pub fn sign(text: &str, slots: &[f64], unknown: Option<String>, ed25519_kid: Option<String>) -> String {
        // The nonce is drawn for every link, sealed or not: one pool read,
        // and no branch on an option before the options are parsed.
        let drawn = random().and_then(|jti| random().map(|nonce| (jti, nonce)));
        match drawn.and_then(|(jti, nonce)| match &ed25519_kid {
            Some(kid) => super::sign_packed_with(super::Signer::Ed25519(kid), text, slots, unknown, jti, nonce),
            None => with_ring(|ring| super::sign_packed(ring, text, slots, unknown, jti, nonce)),
        }) {
            Ok(s) => s.to_lines(),
            Err(e) => respond(Err(e)),
        }
    }

    /// `{"ok": {verdict, code, status, reason, checked, skipped, claims}}`
    /// or `{"error": ...}`; `keyed`: verify with the ring of `use_keys`.
    #[wasm_bindgen]
    pub fn inspect(input: &str, keyed: bool, text: &str, slots: &[f64], unknown: Option<String>) -> String {
        respond(Packed::decode(FACT_OPTIONS, text, slots, unknown).and_then(|facts| {
            if keyed {
                with_ring(|ring| super::inspect(input, Some(ring), &facts))
            } else {
                super::inspect(input, None, &facts)
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// A written answer, read back.
    fn parsed(r: Raw) -> Value {
        serde_json::from_str(r.as_str()).unwrap()
    }

    const KEYS: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

    /// Options as JSON, standing in for the JS object of the wasm build.
    struct J(Value);

    fn val(v: &Value) -> Val {
        match v {
            Value::Null => Val::Absent,
            Value::String(s) => Val::Str(s.clone()),
            Value::Number(n) => Val::Num(n.as_f64().unwrap()),
            Value::Bool(b) => Val::Bool(*b),
            Value::Array(a) => Val::List(a.iter().map(val).collect()),
            Value::Object(_) => Val::Other,
        }
    }

    impl Source for J {
        fn names(&self) -> Vec<String> {
            self.0.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
        }
        fn get(&self, name: &str) -> Val {
            self.0.get(name).map(val).unwrap_or(Val::Absent)
        }
    }

    fn facts(text: &str) -> J {
        J(serde_json::from_str(text).unwrap())
    }

    fn sign_ok(opts: Value) -> Value {
        let ring = parse_keys(KEYS).unwrap();
        parsed(
            sign(&ring, &J(opts), &J(json!({ "base": "https://f.example", "now": 1000 })), [3; 16], [4; 24])
                .unwrap()
                .to_json(),
        )
    }

    fn sign_err(opts: Value, keys: &str) -> ApiError {
        parse_keys(keys)
            .and_then(|ring| sign(&ring, &J(opts), &J(json!({ "now": 1000 })), [3; 16], [4; 24]))
            .unwrap_err()
    }

    /// `inspect` with the ring of a keys text.
    fn ins(input: &str, keys: Option<&str>, facts: &dyn Source) -> Result<Value, ApiError> {
        let ring = keys.map(|k| parse_keys(k).unwrap());
        inspect(input, ring.as_ref(), facts).map(parsed)
    }

    #[test]
    fn signs_and_inspects_its_own_links() {
        let s = sign_ok(
            json!({ "path": "/a b.pdf", "ttl": "1h", "sub": "u1", "ip": "10.0.0.0/8", "contentType": "text/csv" }),
        );
        assert_eq!(s["exp"], 4600);
        assert_eq!(s["jti"], "03".repeat(16));
        let url = s["url"].as_str().unwrap();
        assert!(url.starts_with("https://f.example/a%20b.pdf?lg="), "{url}");
        let v = ins(url, Some(KEYS), &facts(r#"{"now": 1001, "host": "f.example"}"#)).unwrap();
        assert_eq!(v["verdict"], "valid", "{v}");
        assert_eq!(v["claims"]["sub"], "u1");
        // The link binds no host: nothing to check there. Its ip binding and
        // the method need facts not given: skipped, and said so.
        assert_eq!(v["checked"], json!(["signature", "time", "scope"]));
        assert_eq!(
            v["skipped"],
            json!([{ "check": "ip", "needs": "client_ip" }, { "check": "method", "needs": "method" }])
        );
        let v = ins(url, Some(KEYS), &facts(r#"{"now": 4600}"#)).unwrap();
        assert_eq!(v["code"], "expired", "{v}");
        let v = ins(url, Some(KEYS), &facts(r#"{"now": 1001, "ip": "192.0.2.1"}"#)).unwrap();
        assert_eq!(v["code"], "ip_mismatch", "{v}");
        let v = ins(s["token"].as_str().unwrap(), None, &facts(r#"{"now": 1}"#)).unwrap();
        assert_eq!(v["verdict"], "unverified");
    }

    #[test]
    fn folder_links_check_signature_and_time_without_a_path() {
        let s = sign_ok(json!({ "path": "/f", "prefix": true, "exp": 2000 }));
        let url = s["url"].as_str().unwrap();
        let v = ins(url, Some(KEYS), &facts(r#"{"now": 1500}"#)).unwrap();
        assert_eq!((v["verdict"].as_str(), v["claims"]["scope"].as_str()), (Some("valid"), Some("/f/")), "{v}");
        let other = "k1:ISEhISEhISEhISEhISEhISEhISEhISEhISEhISEhISE";
        assert_eq!(ins(url, Some(other), &facts(r#"{"now": 1500}"#)).unwrap()["code"], "signature_invalid");
        let v = ins(url, Some(KEYS), &facts(r#"{"now": 1500, "path": "/g/x"}"#)).unwrap();
        assert_eq!(v["code"], "scope_mismatch", "{v}");
    }

    #[test]
    fn refusals_name_the_option() {
        let cases = [
            (json!({ "path": "/a/../b", "ttl": 60 }), "path"),
            (json!({ "path": "/a", "ttl": 700_000 }), "ttl"),
            (json!({ "path": "/a", "exp": 999 }), "exp"),
            (json!({ "path": "/a" }), "ttl"),
            (json!({ "path": "/a", "ttl": 60, "exp": 99 }), "ttl"),
            (json!({ "path": "/a", "ttl": -1 }), "ttl"),
            (json!({ "path": "/a", "ttl": 1.5 }), "ttl"),
            (json!({ "path": "/a", "exp": 1e300 }), "exp"),
            (json!({ "path": "/a", "ttl": 60, "uses": true }), "uses"),
            (json!({ "path": "/a", "ttl": 60, "contentType": "x" }), "contentType"),
            (json!({ "path": "/a", "ttl": 60, "expires": 5 }), "expires"),
            (json!({ "path": "/a", "ttl": 60, "sealed": 1 }), "sealed"),
            (json!({ "path": "/a", "ttl": 60, "kid": "nope" }), "kid"),
            (json!({ "path": "/a", "ttl": 60, "ip": [1] }), "ip"),
            (json!({ "ttl": 60 }), "path"),
        ];
        for (opts, field) in cases {
            let e = sign_err(opts.clone(), KEYS);
            assert_eq!((e.code, e.field.as_deref()), (INVALID_REQUEST, Some(field)), "{opts}: {e:?}");
        }
        for keys in ["", "k1", "k1:short", "bad kid:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"] {
            let e = sign_err(json!({ "path": "/a", "ttl": 60 }), keys);
            assert_eq!(e.field.as_deref(), Some("keys"), "{keys}");
        }
        assert_eq!(keygen("bad kid", &[0; 32]).unwrap_err().field.as_deref(), Some("kid"));
        assert_eq!(parsed(keygen("k", &[0; 32]).unwrap()), json!("k:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    }

    #[test]
    fn inspect_reports_missing_and_damaged_tokens() {
        let v = ins("https://f.example/a.pdf", Some(KEYS), &facts(r#"{"now": 1}"#)).unwrap();
        assert_eq!(v["code"], "token_missing");
        let v = ins("https://f.example/a/../b?lg=x", Some(KEYS), &facts(r#"{"now": 1}"#)).unwrap();
        assert_eq!(v["code"], "path_invalid");
        let v = ins("https://f.example/a?lg=x&lg=y", Some(KEYS), &facts(r#"{"now": 1}"#)).unwrap();
        assert_eq!(v["code"], "token_malformed");
        let v = ins("AAAA", None, &facts(r#"{"now": 1}"#)).unwrap();
        assert_eq!(v["code"], "token_malformed");
        assert_eq!(ins("x", None, &facts(r#"{"now": 1, "ip": "nope"}"#)).unwrap_err().field.as_deref(), Some("ip"));
        assert_eq!(ins("x", None, &facts(r#"{"now": 1, "pth": "/a"}"#)).unwrap_err().field.as_deref(), Some("pth"));
    }

    #[test]
    fn numbers_must_be_whole_and_exact() {
        assert_eq!(whole(3.0), Some(3));
        assert_eq!(whole(9_007_199_254_740_991.0), Some(9_007_199_254_740_991));
        for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, 9_007_199_254_740_992.0] {
            assert_eq!(whole(bad), None, "{bad}");
        }
    }

    #[test]
    fn answers_are_json_envelopes() {
        let ok: Value = serde_json::from_str(&respond(Ok(json::num(1)))).unwrap();
        assert_eq!(ok, json!({ "ok": 1 }));
        let err: Value = serde_json::from_str(&respond(Err(invalid("path", "bad")))).unwrap();
        assert_eq!(err, json!({ "error": { "code": "invalid_request", "field": "path", "message": "path: bad" } }));
    }

    /// What `lib/api.mjs` does, in Rust: one slot per name, strings
    /// measured in UTF-16 units, arrays only at the top level.
    fn pack(v: &Value, names: &[&str]) -> (String, Vec<f64>, Option<String>) {
        fn put(v: Option<&Value>, top: bool, text: &mut String, slots: &mut Vec<f64>) {
            match v {
                None => slots.extend([tag::NONE, 0.0]),
                Some(Value::Null) => slots.extend([tag::NULL, 0.0]),
                Some(Value::String(s)) => {
                    slots.extend([tag::STR, s.encode_utf16().count() as f64]);
                    text.push_str(s);
                }
                Some(Value::Number(n)) => slots.extend([tag::NUM, n.as_f64().unwrap()]),
                Some(Value::Bool(b)) => slots.extend([tag::BOOL, f64::from(u8::from(*b))]),
                Some(Value::Array(a)) if top => {
                    slots.extend([tag::LIST, a.len() as f64]);
                    a.iter().for_each(|i| put(Some(i), false, text, slots));
                }
                Some(_) => slots.extend([tag::OTHER, 0.0]),
            }
        }
        let (mut text, mut slots) = (String::new(), Vec::new());
        names.iter().for_each(|n| put(v.get(n), true, &mut text, &mut slots));
        let unknown = v.as_object().and_then(|o| o.keys().find(|k| !names.contains(&k.as_str())).cloned());
        (text, slots, unknown)
    }

    /// Every sign case through both sources: the packed one (the wasm
    /// path) answers exactly as the object one (what the rules are written
    /// against), refusals included.
    #[test]
    fn packed_options_answer_as_the_object_does() {
        let ring = parse_keys(KEYS).unwrap();
        let top = json!({ "base": "https://f.example", "now": 1000 });
        let cases = [
            json!({ "path": "/a b.pdf", "ttl": "1h", "sub": "u1", "ip": "10.0.0.0/8", "contentType": "text/csv" }),
            json!({ "path": "/r", "prefix": true, "exp": 4000, "nbf": 1005, "iat": 1000, "tenant": "t",
                    "ip": ["10.0.0.0/8", "2001:db8::/32"], "uses": 2, "host": "F.example", "mode": "redirect",
                    "filename": "Bericht – Q3 😀.pdf", "kid": "k1", "wholeBucket": false, "sealed": false }),
            json!({ "path": "/ä/😀/\u{fffd}.txt", "ttl": 60, "sub": null }),
            json!({ "path": "/a/../b", "ttl": 60 }),
            json!({ "path": "/a", "ttl": 700_000 }),
            json!({ "path": "/a", "ttl": 60, "exp": 99 }),
            json!({ "path": "/a", "ttl": 1.5 }),
            json!({ "path": "/a", "ttl": 60, "uses": true }),
            json!({ "path": "/a", "ttl": 60, "expires": 5 }),
            json!({ "path": "/a", "ttl": 60, "ip": [1] }),
            json!({ "path": "/a", "ttl": 60, "ip": [["10.0.0.0/8"]] }),
            json!({ "path": "/a", "ttl": 60, "ip": {} }),
            json!({ "path": "/a", "ttl": 60, "sub": "" }),
            json!({ "ttl": 60 }),
            json!({ "path": 7, "ttl": 60 }),
        ];
        for link in cases {
            let object = sign(&ring, &J(link.clone()), &J(top.clone()), [3; 16], [4; 24]);
            let mut both = link.as_object().unwrap().clone();
            both.extend(top.as_object().unwrap().clone());
            let (text, slots, unknown) = pack(&Value::Object(both), SIGN_PACKING);
            let packed = sign_packed(&ring, &text, &slots, unknown, [3; 16], [4; 24]);
            assert_eq!(packed, object, "{link}");
        }
        let facts = json!({ "now": 1001, "host": null, "path": "/a b.pdf" });
        let url = sign_ok(json!({ "path": "/a b.pdf", "ttl": 60 }))["url"].as_str().unwrap().to_owned();
        let (text, slots, unknown) = pack(&facts, FACT_OPTIONS);
        let packed = Packed::decode(FACT_OPTIONS, &text, &slots, unknown).unwrap();
        assert_eq!(inspect(&url, Some(&ring), &packed), inspect(&url, Some(&ring), &J(facts)));
    }

    #[test]
    fn malformed_packing_is_refused_not_panicked_on() {
        let names: &'static [&'static str] = &["a", "b"];
        let ok = Packed::decode(names, "xy😀", &[tag::STR, 2.0, tag::STR, 2.0], None).unwrap();
        assert_eq!((ok.get("a"), ok.get("b")), (Val::Str("xy".into()), Val::Str("😀".into())));
        assert_eq!(ok.names(), ["a", "b"]);
        let bad: &[(&str, &[f64])] = &[
            ("", &[tag::NONE, 0.0]),                                 // too few slots
            ("", &[tag::NONE, 0.0, tag::NONE, 0.0, tag::NONE, 0.0]), // too many
            ("", &[tag::NONE, 0.0, tag::NONE]),                      // odd
            ("x", &[tag::NONE, 0.0, tag::NONE, 0.0]),                // text left over
            ("x", &[tag::STR, 2.0, tag::NONE, 0.0]),                 // text too short
            ("😀", &[tag::STR, 1.0, tag::NONE, 0.0]),                // half a surrogate pair
            ("x", &[tag::STR, -1.0, tag::NONE, 0.0]),
            ("x", &[tag::STR, f64::NAN, tag::NONE, 0.0]),
            ("", &[9.0, 0.0, tag::NONE, 0.0]),                       // unknown tag
            ("", &[tag::LIST, 1e9, tag::NONE, 0.0]),                 // list too long
            ("", &[tag::LIST, 3.0, tag::NONE, 0.0, tag::NONE, 0.0]), // list runs off
        ];
        for (text, slots) in bad {
            let e = Packed::decode(names, text, slots, None).unwrap_err();
            assert_eq!((e.code, e.field.as_deref()), (INVALID_REQUEST, None), "{text:?} {slots:?}");
        }
    }

    /// The package writes claims itself (no serde_json in its wasm): the
    /// same members and values as the core's `Claims::to_json` (in the
    /// format's order, where serde_json's map sorts them).
    #[test]
    fn claims_are_written_as_the_core_writes_them() {
        let ring = parse_keys(KEYS).unwrap();
        let full = json!({ "path": "/r", "prefix": true, "exp": 4000, "nbf": 1005, "iat": 1000, "tenant": "t",
            "sub": "s\"q", "ip": ["10.0.0.0/8", "2001:db8::/32"], "uses": 2, "host": "f.example", "mode": "redirect",
            "filename": "Bericht – \"Q3\" 😀.pdf", "contentType": "text/csv" });
        for link in [full, json!({ "path": "/a", "ttl": 60 })] {
            let s = sign(&ring, &J(link.clone()), &J(json!({ "now": 1000 })), [3; 16], [4; 24]).unwrap();
            let claims = UnverifiedToken::decode(&s.token).unwrap().claims_unverified().clone();
            assert_eq!(parsed(claims_json(&claims)), claims.to_json(), "{link}");
        }
    }
}

//! The JS signer (issue 15): linkgate's core behind a small boundary.
//!
//! Options come in as JS objects read through [`Source`]; every answer goes
//! out as one JSON string (`{"ok": ...}` or `{"error": {code, field,
//! message}}`) that the JavaScript wrapper (`lib/api.mjs`) turns into values
//! (with Dates) or a thrown `LinkgateError`. This keeps the wasm-bindgen glue
//! tiny, keeps a JSON parser out of the wasm, and leaves the API testable
//! natively; only the exports and the randomness are wasm-only.

#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::net::IpAddr;

use linkgate_core::duration::parse_duration;
use linkgate_core::gate::split_url;
use linkgate_core::inspect::{self as core_inspect, Facts as InspectFacts};
use linkgate_core::keys::{format_entry, KeyId, KeyRingError};
use linkgate_core::mint::{link_base, link_url, sign_link, Expiry, LinkRequest};
use linkgate_core::token::{ClaimError, Field, Jti};
use linkgate_core::verify::{query_token, QueryToken, TimeRules};
use linkgate_core::{Claims, Code, KeyRing, Reason};
use serde_json::{json, Value};

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
pub fn respond(r: Result<Value, ApiError>) -> String {
    match r {
        Ok(v) => json!({ "ok": v }).to_string(),
        Err(e) => json!({ "error": { "code": e.code, "field": e.field, "message": e.message } }).to_string(),
    }
}

thread_local! {
    /// The last key ring parsed, by its text: callers pass the same
    /// LINKGATE_KEYS string on every call, and parsing it (base64, HMAC key
    /// setup) would otherwise cost as much as signing.
    static RING: RefCell<Option<(String, KeyRing)>> = const { RefCell::new(None) };
}

fn with_ring<T>(text: &str, f: impl FnOnce(&KeyRing) -> Result<T, ApiError>) -> Result<T, ApiError> {
    let cached =
        RING.with(|c| c.try_borrow().ok().and_then(|g| g.as_ref().filter(|(t, _)| t == text).map(|(_, r)| r.clone())));
    let ring = match cached {
        Some(r) => r,
        None => {
            let r = KeyRing::parse(text).map_err(|e: KeyRingError| invalid("keys", e.to_string()))?;
            RING.with(|c| {
                if let Ok(mut g) = c.try_borrow_mut() {
                    *g = Some((text.to_owned(), r.clone()));
                }
            });
            r
        }
    };
    f(&ring)
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
        if let Some(k) = src.names().into_iter().find(|k| !known.contains(&k.as_str())) {
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
pub fn keygen(kid: &str, secret: &[u8; 32]) -> Result<Value, ApiError> {
    let kid = KeyId::parse(kid).ok_or_else(|| invalid("kid", "must be 1-32 of A-Z a-z 0-9 _ -"))?;
    Ok(Value::String(format_entry(&kid, secret)))
}

const LINK_OPTIONS: &[&str] = &[
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
];

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
pub fn sign(keys: &str, link: &dyn Source, opts: &dyn Source, jti: [u8; 16]) -> Result<Value, ApiError> {
    let top = Obj::new(opts, &["base", "maxTtlSecs", "now"])?;
    let link = Obj::new(link, LINK_OPTIONS)?;
    let now = top.seconds("now")?.ok_or_else(|| invalid("now", "is required"))?;
    let max_ttl = top.seconds("maxTtlSecs")?.unwrap_or(TimeRules::default().max_ttl_secs);
    let base = top.string("base")?;

    if link.flag("sealed")? {
        return Err(invalid("sealed", "sealed links are not implemented in linkgate's core yet"));
    }
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
    };
    let kid = link.string("kid")?;
    with_ring(keys, |ring| {
        let key = match &kid {
            Some(k) => ring.get(k).ok_or_else(|| invalid("kid", format!("no key with id {k:?} in the key ring")))?,
            None => ring.signing_key(),
        };
        let signed = sign_link(&req, key, Jti(jti), now, max_ttl, None)
            .map_err(|e: ClaimError| invalid(option_of(e.field, ttl.is_some()), e.reason))?;
        // A base is scheme://host[:port] only, and names the bound host (the
        // CLI's --base rule, docs/link-format.md): a URL path would be outside
        // the link's scope.
        let url = match &base {
            Some(b) => {
                let b = link_base(b, signed.claims.host.as_ref()).map_err(|e| invalid("base", e))?;
                link_url(&b, &signed.claims.scope, &signed.token)
            }
            None => signed.url.clone(),
        };
        Ok(json!({
            "url": url,
            "token": signed.token,
            "jti": signed.claims.jti.to_hex(),
            "iat": signed.claims.iat,
            "exp": signed.claims.exp,
        }))
    })
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

fn refused(code: Code, reason: &str, checked: &[&str], claims: Option<&Claims>) -> Value {
    json!({
        "verdict": "refused", "code": code.as_str(), "status": code.status(), "reason": reason,
        "checked": checked, "claims": claims.map(Claims::to_json),
    })
}

/// Inspect a link or token with the core's `inspect` (the same steps as
/// `linkgate inspect` and the edge, docs/link-format.md §9). Without keys:
/// decode only (`unverified`). With keys: every check whose fact is known
/// (`path`, `method`, `host`, `ip`, from `facts` or the link's URL); the
/// others are listed in `skipped`. A fact given as null is known to be
/// absent (no Host header, no address), one not given at all is unknown.
pub fn inspect(input: &str, keys: Option<&str>, facts: &dyn Source) -> Result<Value, ApiError> {
    let f = Obj::new(facts, &["path", "method", "host", "ip", "now", "skewSecs", "maxTtlSecs"])?;
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
    let (token, url_path, url_host) = match split_link(input) {
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
    let Some(keys) = keys else {
        return Ok(match core_inspect::decode(&facts) {
            Ok(t) => json!({ "verdict": "unverified", "code": null, "status": null, "reason": null,
                             "checked": [], "claims": t.claims_unverified().to_json() }),
            Err(reason) => refused(reason.code().unwrap_or(Code::TokenMalformed), reason.as_str(), &[], None),
        });
    };
    with_ring(keys, |ring| {
        let ins = core_inspect::inspect(ring, &rules, &facts);
        let skipped: Vec<Value> = ins.skipped.iter().map(|s| json!({ "check": s.check, "needs": s.needs })).collect();
        let mut v = match (ins.code, &ins.claims) {
            (None, Some(c)) => json!({ "verdict": "valid", "code": null, "status": null, "reason": null,
                                       "checked": ins.checked, "claims": c.to_json() }),
            (code, claims) => refused(
                code.unwrap_or(Code::SignatureInvalid),
                ins.reason.map_or("", Reason::as_str),
                &ins.checked,
                claims.as_ref(),
            ),
        };
        if let Some(o) = v.as_object_mut() {
            o.insert("skipped".to_owned(), Value::Array(skipped));
        }
        Ok(v)
    })
}

/// The exports, wasm32 only: options read from JS objects with `Reflect`,
/// randomness from the JS runtime's `crypto.getRandomValues` (getrandom's
/// `wasm_js` backend).
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod bindings {
    use js_sys::{Array, Object, Reflect};
    use wasm_bindgen::prelude::wasm_bindgen;
    use wasm_bindgen::JsValue;

    use std::cell::RefCell;

    use super::{respond, ApiError, Source, Val, RANDOMNESS_UNAVAILABLE};

    fn val(v: &JsValue) -> Val {
        if v.is_undefined() || v.is_null() {
            Val::Absent
        } else if let Some(s) = v.as_string() {
            Val::Str(s)
        } else if let Some(n) = v.as_f64() {
            Val::Num(n)
        } else if let Some(b) = v.as_bool() {
            Val::Bool(b)
        } else if Array::is_array(v) {
            Val::List(Array::from(v).iter().map(|i| val(&i)).collect())
        } else {
            Val::Other
        }
    }

    thread_local! {
        /// Option names as JS strings, made once: a name passed from wasm
        /// is decoded by the JS side's TextDecoder on every call (about a
        /// microsecond each in node), more than signing costs.
        static NAMES: RefCell<Vec<(String, JsValue)>> = const { RefCell::new(Vec::new()) };
        /// Random bytes drawn 1 KiB at a time: node's crypto.getRandomValues
        /// costs several microseconds per call whatever the size.
        static POOL: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }

    fn name(n: &str) -> JsValue {
        NAMES.with(|c| {
            let Ok(mut names) = c.try_borrow_mut() else {
                return JsValue::from_str(n);
            };
            if let Some((_, v)) = names.iter().find(|(k, _)| k == n) {
                return v.clone();
            }
            let v = JsValue::from_str(n);
            names.push((n.to_owned(), v.clone()));
            v
        })
    }

    struct Js<'a>(&'a JsValue);

    impl Source for Js<'_> {
        fn names(&self) -> Vec<String> {
            if !self.0.is_object() {
                return Vec::new();
            }
            Object::keys(&Object::from(self.0.clone())).iter().filter_map(|k| k.as_string()).collect()
        }

        fn get(&self, n: &str) -> Val {
            if !self.0.is_object() {
                return Val::Absent;
            }
            Reflect::get(self.0, &name(n)).map(|v| val(&v)).unwrap_or(Val::Other)
        }
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

    /// `{"ok": {url, token, jti, iat, exp}}` or `{"error": ...}`.
    #[wasm_bindgen]
    pub fn sign(keys: &str, link: &JsValue, opts: &JsValue) -> String {
        respond(random().and_then(|j| super::sign(keys, &Js(link), &Js(opts), j)))
    }

    /// `{"ok": {verdict, code, status, reason, checked, claims}}` or `{"error": ...}`.
    #[wasm_bindgen]
    pub fn inspect(input: &str, keys: Option<String>, facts: &JsValue) -> String {
        respond(super::inspect(input, keys.as_deref(), &Js(facts)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        sign(KEYS, &J(opts), &J(json!({ "base": "https://f.example", "now": 1000 })), [3; 16]).unwrap()
    }

    fn sign_err(opts: Value, keys: &str) -> ApiError {
        sign(keys, &J(opts), &J(json!({ "now": 1000 })), [3; 16]).unwrap_err()
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
        let v = inspect(url, Some(KEYS), &facts(r#"{"now": 1001, "host": "f.example"}"#)).unwrap();
        assert_eq!(v["verdict"], "valid", "{v}");
        assert_eq!(v["claims"]["sub"], "u1");
        // The link binds no host: nothing to check there. Its ip binding and
        // the method need facts not given: skipped, and said so.
        assert_eq!(v["checked"], json!(["signature", "time", "scope"]));
        assert_eq!(
            v["skipped"],
            json!([{ "check": "ip", "needs": "client_ip" }, { "check": "method", "needs": "method" }])
        );
        let v = inspect(url, Some(KEYS), &facts(r#"{"now": 4600}"#)).unwrap();
        assert_eq!(v["code"], "expired", "{v}");
        let v = inspect(url, Some(KEYS), &facts(r#"{"now": 1001, "ip": "192.0.2.1"}"#)).unwrap();
        assert_eq!(v["code"], "ip_mismatch", "{v}");
        let v = inspect(s["token"].as_str().unwrap(), None, &facts(r#"{"now": 1}"#)).unwrap();
        assert_eq!(v["verdict"], "unverified");
    }

    #[test]
    fn folder_links_check_signature_and_time_without_a_path() {
        let s = sign_ok(json!({ "path": "/f", "prefix": true, "exp": 2000 }));
        let url = s["url"].as_str().unwrap();
        let v = inspect(url, Some(KEYS), &facts(r#"{"now": 1500}"#)).unwrap();
        assert_eq!((v["verdict"].as_str(), v["claims"]["scope"].as_str()), (Some("valid"), Some("/f/")), "{v}");
        let other = "k1:ISEhISEhISEhISEhISEhISEhISEhISEhISEhISEhISE";
        assert_eq!(inspect(url, Some(other), &facts(r#"{"now": 1500}"#)).unwrap()["code"], "signature_invalid");
        let v = inspect(url, Some(KEYS), &facts(r#"{"now": 1500, "path": "/g/x"}"#)).unwrap();
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
            (json!({ "path": "/a", "ttl": 60, "sealed": true }), "sealed"),
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
        assert_eq!(keygen("k", &[0; 32]).unwrap(), json!("k:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    }

    #[test]
    fn inspect_reports_missing_and_damaged_tokens() {
        let v = inspect("https://f.example/a.pdf", Some(KEYS), &facts(r#"{"now": 1}"#)).unwrap();
        assert_eq!(v["code"], "token_missing");
        let v = inspect("https://f.example/a/../b?lg=x", Some(KEYS), &facts(r#"{"now": 1}"#)).unwrap();
        assert_eq!(v["code"], "path_invalid");
        let v = inspect("https://f.example/a?lg=x&lg=y", Some(KEYS), &facts(r#"{"now": 1}"#)).unwrap();
        assert_eq!(v["code"], "token_malformed");
        let v = inspect("AAAA", None, &facts(r#"{"now": 1}"#)).unwrap();
        assert_eq!(v["code"], "token_malformed");
        assert_eq!(inspect("x", None, &facts(r#"{"now": 1, "ip": "nope"}"#)).unwrap_err().field.as_deref(), Some("ip"));
        assert_eq!(inspect("x", None, &facts(r#"{"now": 1, "pth": "/a"}"#)).unwrap_err().field.as_deref(), Some("pth"));
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
        let ok: Value = serde_json::from_str(&respond(Ok(json!(1)))).unwrap();
        assert_eq!(ok, json!({ "ok": 1 }));
        let err: Value = serde_json::from_str(&respond(Err(invalid("path", "bad")))).unwrap();
        assert_eq!(err, json!({ "error": { "code": "invalid_request", "field": "path", "message": "path: bad" } }));
    }
}

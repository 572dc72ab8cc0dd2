//! Commands that talk to the worker's admin API: mint, revoke, revocations,
//! lift, events, upload.
//!
//! The base URL comes from `--admin URL` or `LINKGATE_ADMIN_URL` (default
//! http://127.0.0.1:8787, i.e. `scripts/dev.sh`); the bearer token from
//! `--admin-token-file FILE` (a token, or a `.dev.vars` file) or
//! `LINKGATE_ADMIN_TOKEN`. Everything that can be checked locally (options,
//! durations, scope values, claim values, classification) is checked with the
//! same core code the worker uses, before any request is sent (exit 2).
//!
//! Exit 1 covers both a refusal (4xx problem: `<code> (<status>): <detail>`,
//! and with `--json` the problem object on stdout) and a failure of the
//! server or the network (5xx, connection refused), which names the URL.
// The server's JSON answers are read with serde_json's `value["key"]`, which
// yields Null for anything missing and never panics; the one write is on an
// object built here.
#![allow(clippy::indexing_slicing)]

use std::cell::Cell;
use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::rc::Rc;
use std::time::Duration;

use linkgate_core::admin::{check_revocation_value, parse_mint, parse_revoke};
use linkgate_core::duration::parse_duration;
use linkgate_core::keys::KeyId;
use linkgate_core::path::{encode_path, CanonicalPath};
use linkgate_core::policy::CLASSIFICATIONS;
use linkgate_core::revocation::RevocationScope;
use linkgate_core::token::{Field, Jti, Label};
use serde_json::{json, Map, Value};

use crate::args::{self, Args};
use crate::util::{self, Failure};
use crate::EXIT_OK;

const DEFAULT_ADMIN: &str = "http://127.0.0.1:8787";
const SCOPES: &str = "jti, sub, tenant, path, kid, all";
const OUTCOMES: [&str; 4] = ["allowed", "not_modified", "refused", "admin"];

/// A configured admin API client.
struct Admin {
    base: String,
    token: String,
    agent: ureq::Agent,
}

/// Percent-encode one query value or path segment (everything but the RFC
/// 3986 unreserved characters, `/` included).
fn enc(v: &str) -> String {
    encode_path(v).replace('/', "%2F")
}

/// The admin token: `--admin-token-file FILE` (the bare token, or a dotenv /
/// `.dev.vars` file with a `LINKGATE_ADMIN_TOKEN=` line), else the
/// `LINKGATE_ADMIN_TOKEN` variable. A file that is neither is refused rather
/// than sent whole as a bearer token (it may hold the signing keys).
pub(crate) fn load_token(file: Option<&str>) -> Result<String, Failure> {
    let token = match file {
        Some(f) => {
            let text = std::fs::read_to_string(f).map_err(|e| Failure::usage(format!("cannot read {f}: {e}")))?;
            match util::dotenv_var(&text, "LINKGATE_ADMIN_TOKEN") {
                Some(v) => v,
                None if text.trim().lines().count() == 1 && !text.trim().contains(char::is_whitespace) => {
                    text.trim().to_owned()
                }
                None => {
                    return Err(Failure::usage(format!(
                        "{f} has no LINKGATE_ADMIN_TOKEN= line (and is not a file holding just the token)"
                    )))
                }
            }
        }
        None => std::env::var("LINKGATE_ADMIN_TOKEN")
            .map_err(|_| Failure::usage("no admin token: set LINKGATE_ADMIN_TOKEN or pass --admin-token-file FILE"))?,
    };
    let token = token.trim();
    if token.is_empty() {
        return Err(Failure::usage("the admin token is empty"));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Failure::usage("the admin token must be printable ASCII without spaces"));
    }
    Ok(token.to_owned())
}

/// Longest stretch of a non-JSON error body that is shown.
const ERROR_BODY_CHARS: usize = 300;

/// `text` with every occurrence of the admin token (as sent, percent-encoded
/// or HTML-escaped, as an error page might echo it) replaced by `***`.
fn redact_token(text: &str, token: &str) -> String {
    let html = token
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    let mut out = text.to_owned();
    for form in [token.to_owned(), enc(token), html] {
        if !form.is_empty() {
            out = out.replace(&form, "***");
        }
    }
    out
}

/// [`redact_token`] on every string (keys included) of a JSON value.
fn redact_value(v: &mut Value, token: &str) {
    match v {
        Value::String(s) => *s = redact_token(s, token),
        Value::Array(items) => items.iter_mut().for_each(|i| redact_value(i, token)),
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (k, mut item) in old {
                redact_value(&mut item, token);
                map.insert(redact_token(&k, token), item);
            }
        }
        _ => {}
    }
}

/// A non-JSON error body as a one-line detail: the token redacted, runs of
/// whitespace (newlines included) made one space, at most
/// [`ERROR_BODY_CHARS`] characters. Still raw: shown through `util::shown`.
fn error_snippet(body: &str, token: &str) -> String {
    let flat = redact_token(body, token).split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.is_empty() {
        return "no body".to_owned();
    }
    let mut snippet: String = flat.chars().take(ERROR_BODY_CHARS).collect();
    if flat.chars().nth(ERROR_BODY_CHARS).is_some() {
        snippet.push('…');
    }
    snippet
}

/// "Connection Failed: Connect error: Connection refused (os error 111)", without the URL.
fn transport_detail(t: &ureq::Transport) -> String {
    let mut out = t.kind().to_string();
    for part in
        [t.message().map(str::to_owned), std::error::Error::source(t).map(|s| s.to_string())].into_iter().flatten()
    {
        out.push_str(": ");
        out.push_str(&part);
    }
    out
}

/// A URL-ish text split as (`scheme://` or empty, authority, the rest): the
/// authority runs to the first `/`, `\`, `?` or `#` (URL parsers treat `\`
/// as `/` in http URLs). Without a well-formed `scheme://` the authority
/// starts at the beginning, so `user:pass@host` is still seen as one.
fn split_authority(url: &str) -> (&str, &str, &str) {
    let (head, rest) = match url.split_once("://") {
        Some((scheme, _))
            if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            url.split_at(scheme.len() + 3)
        }
        _ => ("", url),
    };
    let end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    (head, authority, tail)
}

/// The URL with any `user:password@` replaced by `***@`, for messages.
fn redact_userinfo(url: &str) -> String {
    let (head, authority, tail) = split_authority(url);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{head}***@{host}{tail}"),
        None => url.to_owned(),
    }
}

/// `http(s)://host[:port][/prefix]`, without a trailing `/`. Credentials in
/// the URL (`https://user:pass@host/`) are refused, and never printed: the
/// admin API takes only the bearer token, and every message naming the URL
/// would show them.
fn check_base(base: &str) -> Result<String, Failure> {
    let shown = util::shown(&redact_userinfo(base));
    if split_authority(base).1.contains('@') {
        return Err(Failure::usage(format!(
            "admin URL {shown} has credentials in it (user:password@); remove them and give the admin token with \
             LINKGATE_ADMIN_TOKEN or --admin-token-file"
        )));
    }
    let rest = base
        .strip_prefix("http://")
        .or_else(|| base.strip_prefix("https://"))
        .ok_or_else(|| Failure::usage(format!("admin URL \"{shown}\" must start with http:// or https://")))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || rest.contains(['?', '#']) || base.contains(char::is_whitespace) {
        return Err(Failure::usage(format!("admin URL \"{shown}\" must be http(s)://host[:port][/path]")));
    }
    if base.starts_with("http://") {
        let name = if host.starts_with('[') {
            host.split(']').next().unwrap_or(host).trim_start_matches('[')
        } else {
            host.split(':').next().unwrap_or(host)
        };
        let loopback = name == "localhost" || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            eprintln!("linkgate: warning: sending the admin token to {} over plain http", util::shown(host));
        }
    }
    Ok(base.trim_end_matches('/').to_owned())
}

impl Admin {
    fn from_args(a: &Args) -> Result<Admin, Failure> {
        let base = match a.value("admin") {
            Some(b) => b.to_owned(),
            None => std::env::var("LINKGATE_ADMIN_URL")
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_ADMIN.to_owned()),
        };
        let base = check_base(base.trim())?;
        let token = load_token(a.value("admin-token-file"))?;
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout_read(Duration::from_secs(120))
            // A redirect would drop the token or replay a body: report it instead.
            .redirects(0)
            .user_agent(concat!("linkgate-cli/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Admin { base, token, agent })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/_linkgate/{path}", self.base)
    }

    fn request(&self, method: &str, url: &str) -> ureq::Request {
        self.agent.request(method, url).set("Authorization", &format!("Bearer {}", self.token))
    }

    /// Turn a response into its JSON body or a failure (exit 1).
    fn finish(
        &self,
        method: &str,
        url: &str,
        r: Result<ureq::Response, ureq::Error>,
        json_out: bool,
    ) -> Result<Value, Failure> {
        let (status, resp) = match r {
            Ok(resp) if (200..300).contains(&resp.status()) => {
                let text = resp
                    .into_string()
                    .map_err(|e| Failure::refused(format!("reading the answer from {url} failed: {e}")))?;
                return serde_json::from_str(&text).map_err(|_| {
                    Failure::refused(format!(
                        "{url} answered {method} with something other than JSON; is --admin the linkgate worker?"
                    ))
                });
            }
            Ok(resp) => (resp.status(), resp),
            Err(ureq::Error::Status(status, resp)) => (status, resp),
            Err(ureq::Error::Transport(t)) => {
                let why = match t.kind() {
                    ureq::ErrorKind::ConnectionFailed | ureq::ErrorKind::Dns => "cannot reach the admin API at",
                    _ => "the request failed:",
                };
                let detail = util::shown(&redact_token(&transport_detail(&t), &self.token));
                return Err(Failure::refused(format!("{why} {method} {url}: {detail}")));
            }
        };
        if (300..400).contains(&status) {
            let to = util::shown(&redact_token(resp.header("location").unwrap_or("?"), &self.token));
            return Err(Failure::refused(format!(
                "{method} {url} was redirected ({status}) to {to}; pass the worker's final URL as --admin"
            )));
        }
        // Whatever the server says is untrusted: an error page may echo the
        // Authorization header, and any text may carry terminal escapes.
        let text = resp.into_string().unwrap_or_default();
        let problem =
            serde_json::from_str::<Value>(&text).ok().filter(|v| v.get("code").is_some() || v.get("detail").is_some());
        let is_problem = problem.is_some();
        let mut v = problem.unwrap_or_else(
            || json!({ "status": status, "code": "http_error", "detail": error_snippet(&text, &self.token) }),
        );
        redact_value(&mut v, &self.token);
        if json_out {
            println!("{}", util::json_line(&v));
        }
        let code = util::shown(v["code"].as_str().unwrap_or("error"));
        let detail = util::shown(v["detail"].as_str().unwrap_or(""));
        let mut msg = format!("{code} ({status}): {detail}");
        if let Some(f) = v["field"].as_str() {
            msg.push_str(&format!(" [field: {}]", util::shown(f)));
        }
        if let Some(r) = v["rule"].as_str() {
            msg.push_str(&format!(" [rule: {}]", util::shown(r)));
        }
        if status >= 500 {
            msg = format!("the server failed at {method} {url}: {msg}");
        } else if status == 401 {
            msg.push_str(" (check LINKGATE_ADMIN_TOKEN or --admin-token-file)");
        } else if !is_problem {
            msg.push_str(&format!(" (from {method} {url}, not a linkgate problem response)"));
        } else if status == 404 && method != "DELETE" {
            msg.push_str(&format!(
                " ({url}: the admin API answers 404 when LINKGATE_ADMIN_TOKEN is not set on the worker)"
            ));
        }
        Err(Failure::refused(msg))
    }

    fn send_json(&self, method: &str, path: &str, body: Option<&Value>, json_out: bool) -> Result<Value, Failure> {
        let url = self.url(path);
        let req = self.request(method, &url).set("Accept", "application/json");
        let r = match body {
            Some(b) => req.set("Content-Type", "application/json").send_string(&b.to_string()),
            None => req.call(),
        };
        self.finish(method, &url, r, json_out)
    }
}

fn no_positional(a: &Args) -> Result<(), Failure> {
    match a.positional.first() {
        Some(p) => Err(Failure::usage(format!("unexpected argument {p:?}"))),
        None => Ok(()),
    }
}

fn parse_limit(a: &Args) -> Result<Option<u32>, Failure> {
    a.value("limit")
        .map(|l| match l.parse::<u32>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(n),
            _ => Err(Failure::usage(format!("--limit must be 1-1000, got {l:?}"))),
        })
        .transpose()
}

fn parse_scope(s: &str) -> Result<RevocationScope, Failure> {
    RevocationScope::parse(s).ok_or_else(|| Failure::usage(format!("--scope must be one of {SCOPES}, got {s:?}")))
}

/// Print rows as aligned columns (the last column is not padded).
fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut width: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut out = String::new();
        for (i, (c, w)) in cells.iter().zip(&width).enumerate() {
            if i == last {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  "));
            }
        }
        println!("{}", out.trim_end());
    };
    line(headers.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}

fn text(v: &Value, k: &str) -> String {
    match &v[k] {
        Value::Null => "-".to_owned(),
        Value::String(s) if s.is_empty() => "-".to_owned(),
        Value::String(s) => util::shown(s),
        other => util::shown(&other.to_string()),
    }
}

fn time(v: &Value, k: &str) -> String {
    v[k].as_u64().map_or_else(|| text(v, k), util::rfc3339)
}

/// `linkgate mint ...`: mint a link at the edge.
pub fn mint(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(argv, &args::MINT)?;
    no_positional(&a)?;
    let path = a.value("path").ok_or_else(|| Failure::usage("--path is required"))?;
    let mut body = Map::new();
    if a.flag("prefix") {
        let folder = if path.ends_with('/') { path.to_owned() } else { format!("{path}/") };
        body.insert("prefix".into(), json!(folder));
    } else {
        body.insert("path".into(), json!(path));
    }
    if a.flag("whole-bucket") {
        body.insert("whole_bucket".into(), json!(true));
    }
    if a.flag("sealed") {
        body.insert("sealed".into(), json!(true));
    }
    match (a.value("ttl"), a.value("expires-at")) {
        (Some(t), None) => {
            let secs =
                parse_duration(t).ok_or_else(|| Failure::usage(format!("--ttl {t:?}: use e.g. 90s, 15m, 24h, 7d")))?;
            body.insert("ttl".into(), json!(secs));
        }
        (None, Some(e)) => {
            body.insert("expires_at".into(), json!(util::parse_unix("expires-at", e)?));
        }
        (Some(_), Some(_)) => return Err(Failure::usage("give --ttl or --expires-at, not both")),
        (None, None) => return Err(Failure::usage("--ttl or --expires-at is required")),
    }
    if let Some(v) = a.value("not-before") {
        body.insert("not_before".into(), json!(util::parse_unix("not-before", v)?));
    }
    for (opt, key) in [("host", "host"), ("sub", "sub"), ("tenant", "tenant")] {
        if let Some(v) = a.value(opt) {
            body.insert(key.into(), json!(v));
        }
    }
    if !a.values("ip").is_empty() {
        body.insert("ip".into(), json!(a.values("ip")));
    }
    if let Some(u) = a.value("uses") {
        let n: u64 = u.parse().map_err(|_| Failure::usage(format!("--uses must be a whole number, got {u:?}")))?;
        body.insert("uses".into(), json!(n));
    }
    for (opt, key) in [("mode", "mode"), ("filename", "filename"), ("content-type", "content_type")] {
        if let Some(v) = a.value(opt) {
            body.insert(key.into(), json!(v));
        }
    }
    let body = Value::Object(body);
    // The worker's own parser and claim checks; only the maximum lifetime,
    // whether whole-bucket links are allowed and the object's policy are
    // left for the server to decide.
    let req = parse_mint(body.to_string().as_bytes(), true).map_err(|e| {
        // The admin API's field names, as this command's options.
        let option = match e.field.as_str() {
            "path" | "prefix" => "--path",
            "whole_bucket" => "--whole-bucket",
            "sealed" => "--sealed",
            "ttl" | "expires_at" => "--ttl/--expires-at",
            "not_before" => "--not-before",
            "content_type" => "--content-type",
            "host" => "--host",
            "sub" => "--sub",
            "tenant" => "--tenant",
            "ip" => "--ip",
            "uses" => "--uses",
            "mode" => "--mode",
            "filename" => "--filename",
            _ => "the request",
        };
        Failure::usage(format!("{option}: {}", e.detail))
    })?;
    let Some(kid) = KeyId::parse("cli") else { return Err(Failure::usage("internal error: placeholder key id")) };
    // The server applies its own maximum lifetime (LINKGATE_MAX_TTL_SECS).
    req.build(kid, Jti([0; 16]), util::now(), u64::MAX).map_err(|e| util::claim_failure(e, None))?;

    let admin = Admin::from_args(&a)?;
    let v = admin.send_json("POST", "links", Some(&body), a.flag("json"))?;
    if a.flag("json") {
        println!("{}", util::json_line(&v));
    } else {
        let url = v["url"].as_str().ok_or_else(|| Failure::refused("the server's answer has no url"))?;
        println!("{}", util::shown(url));
    }
    Ok(EXIT_OK)
}

/// `linkgate revoke (--jti|--sub|--tenant|--path|--kid VALUE | --all) --reason R [--actor A]`
pub fn revoke(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(argv, &args::REVOKE)?;
    no_positional(&a)?;
    let mut chosen: Vec<(RevocationScope, &str)> = Vec::new();
    for scope in [
        RevocationScope::Jti,
        RevocationScope::Sub,
        RevocationScope::Tenant,
        RevocationScope::Path,
        RevocationScope::Kid,
        RevocationScope::Credential,
    ] {
        if let Some(v) = a.value(scope.as_str()) {
            chosen.push((scope, v));
        }
    }
    if a.flag("all") {
        chosen.push((RevocationScope::All, ""));
    }
    let link = a.value("link");
    let one_of = "--jti, --link, --sub, --tenant, --path, --kid, --all, --credential";
    let (scope, value) = match (chosen.as_slice(), link) {
        ([one], None) => *one,
        ([], Some(_)) => (RevocationScope::Jti, ""),
        ([], None) => return Err(Failure::usage(format!("give one of {one_of}"))),
        _ => return Err(Failure::usage(format!("give exactly one of {one_of}"))),
    };
    let reason = a.value("reason").ok_or_else(|| Failure::usage("--reason is required (it is kept with the entry)"))?;
    let (value, mut body) = match link {
        // The worker reads the jti (and the tenant) from the verified link.
        Some(l) => (String::new(), json!({ "link": l, "reason": reason })),
        None => {
            let value = check_revocation_value(scope, value)
                .map_err(|e| Failure::usage(format!("--{}: {}", scope.as_str(), e.detail)))?;
            (value.clone(), json!({ "scope": scope.as_str(), "value": value, "reason": reason }))
        }
    };
    if let Some(actor) = a.value("actor") {
        body["actor"] = json!(actor);
    }
    // The worker's own validation of the whole request (reason, actor).
    parse_revoke(body.to_string().as_bytes()).map_err(|e| Failure::usage(format!("--{}: {}", e.field, e.detail)))?;

    let admin = Admin::from_args(&a)?;
    let v = admin.send_json("POST", "revocations", Some(&body), a.flag("json"))?;
    if a.flag("json") {
        println!("{}", util::json_line(&v));
    } else {
        let shown = match v["value"].as_str() {
            Some(v) if !v.is_empty() => v.to_owned(),
            _ if value.is_empty() => "(every link)".to_owned(),
            _ => value,
        };
        let expires = v["expires_at"]
            .as_u64()
            .map_or("kept until lifted".to_owned(), |e| format!("entry expires {}", util::rfc3339(e)));
        // The worker states its guarantees; an older worker without the
        // registry answers none, and then only the KV bound holds.
        let g = &v["guarantees"];
        let reach = match (g["strict"].as_str(), g["kv_within_secs"].as_u64()) {
            (Some("immediate"), Some(kv)) => format!(
                "refused at once for strict objects (restricted by default), everywhere within about {kv} s for the others"
            ),
            _ => "every location refuses within about 92 s".to_owned(),
        };
        println!("revoked {} {shown}: {expires}; {reach}", scope.as_str());
    }
    Ok(EXIT_OK)
}

/// Follow `cursor` pages of a listing, handing each page to `each`.
fn pages(
    admin: &Admin,
    base_query: &[String],
    mut cursor: Option<String>,
    all_pages: bool,
    what: &str,
    json_out: bool,
    mut each: impl FnMut(&Value),
) -> Result<Option<String>, Failure> {
    loop {
        let mut q = base_query.to_vec();
        if let Some(c) = &cursor {
            q.push(format!("cursor={}", enc(c)));
        }
        let path = if q.is_empty() { what.to_owned() } else { format!("{what}?{}", q.join("&")) };
        let v = admin.send_json("GET", &path, None, json_out)?;
        each(&v);
        let next = v["cursor"].as_str().filter(|c| !c.is_empty()).map(str::to_owned);
        if next.is_none() || !all_pages || next == cursor {
            return Ok(next);
        }
        cursor = next;
    }
}

/// `linkgate revocations [--scope S] [--limit N] [--cursor C] [--all-pages] [--json]`
pub fn revocations(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(argv, &args::REVOCATIONS)?;
    no_positional(&a)?;
    let mut q = Vec::new();
    if let Some(s) = a.value("scope") {
        q.push(format!("scope={}", parse_scope(s)?.as_str()));
    }
    if let Some(n) = parse_limit(&a)? {
        q.push(format!("limit={n}"));
    }
    let admin = Admin::from_args(&a)?;
    let mut all: Vec<Value> = Vec::new();
    let cursor = pages(
        &admin,
        &q,
        a.value("cursor").map(str::to_owned),
        a.flag("all-pages"),
        "revocations",
        a.flag("json"),
        |v| {
            all.extend(v["entries"].as_array().cloned().unwrap_or_default());
        },
    )?;
    if a.flag("json") {
        println!("{}", util::json_line(&json!({ "entries": all, "cursor": cursor })));
        return Ok(EXIT_OK);
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|e| {
            let value = if e["scope"] == "all" { "*".to_owned() } else { text(e, "value") };
            let expires = if e["expires_at"].is_null() { "never".to_owned() } else { time(e, "expires_at") };
            vec![text(e, "scope"), value, time(e, "revoked_at"), expires, text(e, "actor"), text(e, "reason")]
        })
        .collect();
    if rows.is_empty() {
        eprintln!("no revocation entries");
    } else {
        print_table(&["SCOPE", "VALUE", "REVOKED_AT", "EXPIRES", "ACTOR", "REASON"], &rows);
    }
    if let Some(c) = cursor {
        eprintln!("more entries: pass --all-pages, or --cursor {}", util::shown(&c));
    }
    Ok(EXIT_OK)
}

/// `linkgate lift --scope S [--value V]` (no value for scope all)
pub fn lift(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(argv, &args::LIFT)?;
    no_positional(&a)?;
    let scope = parse_scope(a.value("scope").ok_or_else(|| Failure::usage("--scope is required"))?)?;
    let value = match (scope, a.value("value")) {
        (RevocationScope::All, v) => v.unwrap_or(""),
        (_, Some(v)) => v,
        (_, None) => return Err(Failure::usage("--value is required")),
    };
    let value = check_revocation_value(scope, value).map_err(|e| Failure::usage(format!("--value: {}", e.detail)))?;
    let admin = Admin::from_args(&a)?;
    let v =
        admin.send_json("DELETE", &format!("revocations/{}/{}", scope.as_str(), enc(&value)), None, a.flag("json"))?;
    if a.flag("json") {
        println!("{}", util::json_line(&v));
    } else {
        let e = &v["lifted"];
        let shown = if value.is_empty() { "(every link)" } else { &value };
        println!(
            "lifted {} {shown} (revoked {} by {}: {})",
            scope.as_str(),
            time(e, "revoked_at"),
            text(e, "actor"),
            text(e, "reason")
        );
    }
    Ok(EXIT_OK)
}

/// `linkgate events [filters] [--json]` (JSON Lines with --json)
pub fn events(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(argv, &args::EVENTS)?;
    no_positional(&a)?;
    let mut q: Vec<String> = Vec::new();
    if let Some(j) = a.value("jti") {
        let jti = Jti::parse_hex(j).ok_or_else(|| Failure::usage("--jti must be 32 hex digits"))?;
        q.push(format!("jti={}", jti.to_hex()));
    }
    for (opt, field) in [("sub", Field::Sub), ("tenant", Field::Tenant)] {
        if let Some(v) = a.value(opt) {
            Label::parse(field, v).map_err(|e| Failure::usage(format!("--{opt}: {}", e.reason)))?;
            q.push(format!("{opt}={}", enc(v)));
        }
    }
    if let Some(p) = a.value("path") {
        CanonicalPath::parse(p)
            .map_err(|e| Failure::usage(format!("--path {p:?} is not a canonical object path ({e})")))?;
        q.push(format!("path={}", enc(p)));
    }
    if let Some(o) = a.value("outcome") {
        if !OUTCOMES.contains(&o) {
            return Err(Failure::usage(format!("--outcome must be one of {}, got {o:?}", OUTCOMES.join(", "))));
        }
        q.push(format!("outcome={o}"));
    }
    if let Some(i) = a.value("identity") {
        if i.is_empty() || i.len() > 256 {
            return Err(Failure::usage("--identity must be 1-256 bytes"));
        }
        q.push(format!("identity={}", enc(i)));
    }
    let now = util::now();
    let mut window = [None, None];
    for (i, k) in ["since", "until"].into_iter().enumerate() {
        if let Some(v) = a.value(k) {
            // Unix seconds, or a duration meaning "that long ago".
            let t = match v.parse::<u64>() {
                Ok(t) => t,
                Err(_) => now.saturating_sub(parse_duration(v).ok_or_else(|| {
                    Failure::usage(format!(
                        "--{k} must be Unix seconds or a duration such as 90s, 15m, 1h, 7d (that long ago), got {v:?}"
                    ))
                })?),
            };
            window[i] = Some(t);
            q.push(format!("{k}={t}"));
        }
    }
    if let [Some(s), Some(u)] = window {
        if s > u {
            return Err(Failure::usage("--since is after --until"));
        }
    }
    if let Some(n) = parse_limit(&a)? {
        q.push(format!("limit={n}"));
    }
    let json_out = a.flag("json");
    let admin = Admin::from_args(&a)?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut out = std::io::stdout().lock();
    let cursor =
        pages(&admin, &q, a.value("cursor").map(str::to_owned), a.flag("all-pages"), "events", json_out, |v| {
            for e in v["events"].as_array().map(Vec::as_slice).unwrap_or_default() {
                if json_out {
                    // JSON Lines: one event per line, as the server sent it.
                    let _ = writeln!(out, "{}", util::json_line(e));
                } else {
                    rows.push(vec![
                        time(e, "time"),
                        text(e, "outcome"),
                        text(e, "status"),
                        text(e, "code"),
                        text(e, "path"),
                        text(e, "sub"),
                        text(e, "client_ip"),
                        text(e, "rule"),
                    ]);
                }
            }
            let _ = out.flush();
        })?;
    drop(out);
    if !json_out {
        if rows.is_empty() {
            eprintln!("no events");
        } else {
            print_table(&["TIME", "OUTCOME", "STATUS", "CODE", "PATH", "SUB", "CLIENT_IP", "RULE"], &rows);
        }
    }
    if let Some(c) = cursor {
        eprintln!("more events: pass --all-pages, or --cursor {}", util::shown(&c));
    }
    Ok(EXIT_OK)
}

/// Reads the file and reports progress on stderr (when it is a terminal).
/// The body must be exactly `total` bytes (the Content-Length sent): a file
/// that ends early (it shrank, or is a pseudo-file such as a /sys entry whose
/// size is not its length) is an error, which aborts the request, rather than
/// a short body that leaves the server waiting. `ended_early` then holds the
/// bytes read.
struct Progress<R> {
    inner: R,
    sent: u64,
    total: u64,
    show: bool,
    last_pct: Option<u64>,
    ended_early: Rc<Cell<Option<u64>>>,
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() && self.sent < self.total {
            self.ended_early.set(Some(self.sent));
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the file ended before its size"));
        }
        self.sent += n as u64;
        if self.show {
            let pct = (self.sent * 100).checked_div(self.total).unwrap_or(100);
            if self.last_pct != Some(pct) {
                self.last_pct = Some(pct);
                eprint!("\ruploading {} / {} bytes ({pct}%)", self.sent, self.total);
                let _ = std::io::stderr().flush();
            }
        }
        Ok(n)
    }
}

/// Content-Type from the file name's extension.
fn guess_type(file: &str) -> &'static str {
    let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
    let ext = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    };
    match ext.as_str() {
        "pdf" => "application/pdf",
        "txt" | "log" => "text/plain; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        "7z" => "application/x-7z-compressed",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "mp3" => "audio/mpeg",
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "m3u8" => "application/vnd.apple.mpegurl",
        "mpd" => "application/dash+xml",
        "ts" => "video/mp2t",
        "doc" => "application/msword",
        "xls" => "application/vnd.ms-excel",
        "ppt" => "application/vnd.ms-powerpoint",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        _ => "application/octet-stream",
    }
}

/// What a file that is not a regular file is, for the refusal.
fn file_kind(t: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a named pipe";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Open an upload's FILE and find its size. Only a regular file will do,
/// and that is checked before opening it: opening a named pipe blocks until
/// something writes to it, and a device or pseudo-file has no size to send
/// as Content-Length (/dev/zero never ends; /proc files report 0 bytes and
/// would upload as empty objects). A regular file that reports 0 bytes is
/// read once to make sure it is really empty.
fn open_regular(file: &str) -> Result<(File, u64), Failure> {
    let not_regular = |what: &str| {
        Failure::usage(format!("{file} is {what}; upload takes a regular file (copy the data into one first)"))
    };
    let before = std::fs::metadata(file).map_err(|e| Failure::usage(format!("cannot open {file}: {e}")))?;
    if !before.is_file() {
        return Err(not_regular(file_kind(before.file_type())));
    }
    let mut f = File::open(file).map_err(|e| Failure::usage(format!("cannot open {file}: {e}")))?;
    let meta = f.metadata().map_err(|e| Failure::usage(format!("cannot stat {file}: {e}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if (meta.dev(), meta.ino()) != (before.dev(), before.ino()) {
            return Err(Failure::usage(format!("{file} was replaced while it was opened; try again")));
        }
    }
    if !meta.is_file() {
        return Err(not_regular(file_kind(meta.file_type())));
    }
    if meta.len() == 0 {
        let mut probe = [0u8; 1];
        if f.read(&mut probe).map_err(|e| Failure::usage(format!("cannot read {file}: {e}")))? > 0 {
            return Err(not_regular("a pseudo-file (its size reads 0 but it has content, as in /proc)"));
        }
    }
    Ok((f, meta.len()))
}

/// `linkgate upload FILE --path P [--classification C] [--content-type CT]`
pub fn upload(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(argv, &args::UPLOAD)?;
    let file = match a.positional.as_slice() {
        [f] => f.clone(),
        [] => return Err(Failure::usage("upload needs a FILE")),
        _ => return Err(Failure::usage("upload takes one FILE")),
    };
    let path =
        a.value("path").ok_or_else(|| Failure::usage("--path is required (the object path, e.g. /reports/q1.pdf)"))?;
    let canonical = CanonicalPath::parse(path)
        .map_err(|e| Failure::usage(format!("--path {path:?} is not a canonical object path starting with / ({e})")))?;
    if let Some(c) = a.value("classification") {
        if !CLASSIFICATIONS.contains(&c) {
            return Err(Failure::usage(format!(
                "--classification must be one of {}, got {c:?}",
                CLASSIFICATIONS.join(", ")
            )));
        }
    }
    let content_type = a.value("content-type").unwrap_or_else(|| guess_type(&file));
    if content_type.is_empty() || !content_type.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
        return Err(Failure::usage("--content-type must be printable ASCII"));
    }
    let (f, total) = open_regular(&file)?;
    let admin = Admin::from_args(&a)?;
    let url = admin.url(&format!("files/{}", encode_path(canonical.object_key())));
    let mut req = admin
        .request("PUT", &url)
        .set("Accept", "application/json")
        .set("Content-Type", content_type)
        // A known length: the body is streamed, never chunked (R2 needs the size).
        .set("Content-Length", &total.to_string());
    if let Some(c) = a.value("classification") {
        req = req.set("X-Linkgate-Classification", c);
    }
    let show = std::io::stderr().is_terminal();
    // `take`: a file that grows while it is read cannot overrun Content-Length.
    let ended_early = Rc::new(Cell::new(None));
    let body =
        Progress { inner: f.take(total), sent: 0, total, show, last_pct: None, ended_early: ended_early.clone() };
    let r = req.send(body);
    if show {
        eprintln!();
    }
    if let Some(read) = ended_early.get() {
        return Err(Failure::refused(format!(
            "{file} ended after {read} of the {total} bytes its size promised (it shrank while it was read, or is \
             a pseudo-file); the upload to {url} was aborted"
        )));
    }
    let r = match r {
        Err(ureq::Error::Transport(t)) if t.kind() == ureq::ErrorKind::Io => {
            return Err(Failure::refused(format!(
                "the upload to {url} was cut off: {} (the server may have refused it before reading the body: check the token, --path and --classification)",
                transport_detail(&t)
            )))
        }
        r => r,
    };
    let v = admin.finish("PUT", &url, r, a.flag("json"))?;
    if a.flag("json") {
        println!("{}", util::json_line(&v));
    } else {
        println!(
            "uploaded {} ({} bytes, etag {}, version {}, classification {})",
            util::shown(v["path"].as_str().unwrap_or(canonical.as_str())),
            v["size"].as_u64().unwrap_or(total),
            text(&v, "etag"),
            text(&v, "version"),
            util::shown(v["classification"].as_str().unwrap_or("default policy"))
        );
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_from_extensions() {
        assert_eq!(guess_type("a/b/report.PDF"), "application/pdf");
        assert_eq!(guess_type("data.csv"), "text/csv; charset=utf-8");
        assert_eq!(guess_type(".bashrc"), "application/octet-stream");
        assert_eq!(guess_type("noext"), "application/octet-stream");
        assert_eq!(guess_type("x.bin"), "application/octet-stream");
    }

    #[test]
    fn admin_urls() {
        assert_eq!(check_base("http://127.0.0.1:8787/").unwrap(), "http://127.0.0.1:8787");
        assert_eq!(check_base("https://dl.example.com/base").unwrap(), "https://dl.example.com/base");
        assert_eq!(check_base("https://dl.example.com/a@b").unwrap(), "https://dl.example.com/a@b");
        assert!(check_base("ftp://x").is_err());
        assert!(check_base("http://").is_err());
        assert!(check_base("http://x/?a=b").is_err());
    }

    #[test]
    fn admin_urls_with_credentials_are_refused_and_redacted() {
        for (url, shown) in [
            ("https://user:s3cret@dl.example.com/", "https://***@dl.example.com/"),
            ("http://s3cret@127.0.0.1:8787", "http://***@127.0.0.1:8787"),
            ("https://a:b@c:s3cret@host/p", "https://***@host/p"),
            ("http://u:s3cret@host\\@x/", "http://***@host\\@x/"),
            ("ftp://u:s3cret@host/", "ftp://***@host/"),
            ("u:s3cret@host/x", "***@host/x"),
        ] {
            assert_eq!(redact_userinfo(url), shown);
            let e = check_base(url).unwrap_err();
            assert_eq!(e.exit, crate::EXIT_USAGE, "{url}");
            assert!(!e.message.contains("s3cret"), "{}", e.message);
            assert!(e.message.contains("credentials") && e.message.contains("***@"), "{}", e.message);
        }
        assert_eq!(redact_userinfo("https://host/a@b"), "https://host/a@b");
    }

    #[test]
    fn the_token_is_redacted_from_server_text() {
        let t = "ab<c>&d/e";
        let page = format!("Authorization: Bearer {t}; %-encoded ab%3Cc%3E%26d%2Fe; html ab&lt;c&gt;&amp;d/e");
        let r = redact_token(&page, t);
        assert_eq!(r, "Authorization: Bearer ***; %-encoded ***; html ***");
        let mut v = json!({ "detail": format!("bad {t}"), "echo": [{ t: t }], "status": 401 });
        redact_value(&mut v, t);
        assert_eq!(v, json!({ "detail": "bad ***", "echo": [{ "***": "***" }], "status": 401 }));
        // Flattened, capped at 300 characters, redacted before the cut.
        let long = format!("{}{t}\n\n<p>{}</p>", "x".repeat(298), "y".repeat(500));
        let s = error_snippet(&long, t);
        assert_eq!(s.chars().count(), ERROR_BODY_CHARS + 1);
        assert!(s.ends_with("**…") && !s.contains("ab<"), "{s}");
        assert_eq!(error_snippet(" \n ", t), "no body");
    }

    #[test]
    fn a_file_that_ends_before_its_size_is_an_error() {
        let ended_early = Rc::new(Cell::new(None));
        let mut p = Progress {
            inner: &b"abc"[..],
            sent: 0,
            total: 5,
            show: false,
            last_pct: None,
            ended_early: ended_early.clone(),
        };
        let mut out = Vec::new();
        assert!(p.read_to_end(&mut out).is_err());
        assert_eq!(ended_early.get(), Some(3));
        let ended_early = Rc::new(Cell::new(None));
        let mut p = Progress {
            inner: &b"abc"[..],
            sent: 0,
            total: 3,
            show: false,
            last_pct: None,
            ended_early: ended_early.clone(),
        };
        let mut out = Vec::new();
        assert_eq!(p.read_to_end(&mut out).unwrap(), 3);
        assert_eq!(ended_early.get(), None);
    }
}

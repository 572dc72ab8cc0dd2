//! Commands that talk to the worker's admin API: mint, revoke, revocations,
//! lift, events, upload.
//!
//! The base URL comes from `--admin URL` or `LINKGATE_ADMIN_URL` (default
//! http://127.0.0.1:8787, i.e. `scripts/dev.sh`); the bearer token from
//! `LINKGATE_ADMIN_TOKEN` or `--admin-token-file FILE` (a token, or a
//! `.dev.vars` file). Everything that can be checked locally is checked
//! before a request is sent (exit 2).

use std::io::{IsTerminal, Read, Write};
use std::time::Duration;

use linkgate::core::admin::check_revocation_value;
use linkgate::core::duration::parse_duration;
use linkgate::core::path::encode_path;
use linkgate::core::policy::CLASSIFICATIONS;
use linkgate::core::revocation::RevocationScope;
use serde_json::{json, Value};

use crate::args::{Args, Kind};
use crate::util::{self, Failure};
use crate::EXIT_OK;

const DEFAULT_ADMIN: &str = "http://127.0.0.1:8787";

struct Admin {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl Admin {
    fn from_args(a: &Args) -> Result<Admin, Failure> {
        let base = a
            .value("admin")
            .map(str::to_owned)
            .or_else(|| std::env::var("LINKGATE_ADMIN_URL").ok())
            .unwrap_or_else(|| DEFAULT_ADMIN.to_owned());
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Failure::usage(format!("--admin {base:?} must be an http:// or https:// URL")));
        }
        let token = match a.value("admin-token-file") {
            Some(f) => {
                let text = std::fs::read_to_string(f).map_err(|e| Failure::usage(format!("cannot read {f}: {e}")))?;
                util::var_from_file_text(&text, "LINKGATE_ADMIN_TOKEN")
            }
            None => std::env::var("LINKGATE_ADMIN_TOKEN")
                .map_err(|_| Failure::usage("no admin token: set LINKGATE_ADMIN_TOKEN or pass --admin-token-file FILE"))?,
        };
        if token.trim().is_empty() {
            return Err(Failure::usage("the admin token is empty"));
        }
        let agent = ureq::AgentBuilder::new().timeout_connect(Duration::from_secs(10)).build();
        Ok(Admin { base: base.trim_end_matches('/').to_owned(), token: token.trim().to_owned(), agent })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/_linkgate/{path}", self.base)
    }

    fn finish(&self, url: &str, r: Result<ureq::Response, ureq::Error>, json_out: bool) -> Result<Value, Failure> {
        match r {
            Ok(resp) => {
                let text = resp.into_string().map_err(|e| Failure::refused(format!("reading the answer from {url}: {e}")))?;
                serde_json::from_str(&text).map_err(|_| Failure::refused(format!("{url} did not answer JSON")))
            }
            Err(ureq::Error::Status(status, resp)) => {
                let text = resp.into_string().unwrap_or_default();
                let v: Value = serde_json::from_str(&text).unwrap_or(json!({ "status": status, "detail": text }));
                if json_out {
                    println!("{v}");
                }
                let code = v["code"].as_str().unwrap_or("error");
                let detail = v["detail"].as_str().unwrap_or("");
                let field = v["field"].as_str().map(|f| format!(" [field: {f}]")).unwrap_or_default();
                let rule = v["rule"].as_str().map(|r| format!(" [rule: {r}]")).unwrap_or_default();
                Err(Failure::refused(format!("{code} ({status}): {detail}{field}{rule}")))
            }
            Err(ureq::Error::Transport(t)) => Err(Failure::refused(format!("cannot reach the admin API at {url}: {t}"))),
        }
    }

    fn send_json(&self, method: &str, path: &str, body: Option<&Value>, json_out: bool) -> Result<Value, Failure> {
        let url = self.url(path);
        let req = self.agent.request(method, &url).set("authorization", &format!("Bearer {}", self.token));
        let r = match body {
            Some(b) => req.set("content-type", "application/json").send_string(&b.to_string()),
            None => req.call(),
        };
        self.finish(&url, r, json_out)
    }
}

fn no_positional(a: &Args) -> Result<(), Failure> {
    match a.positional.first() {
        Some(p) => Err(Failure::usage(format!("unexpected argument {p:?}"))),
        None => Ok(()),
    }
}

const ADMIN_OPTS: [(&str, Kind); 3] = [("admin", Kind::Value), ("admin-token-file", Kind::Value), ("json", Kind::Flag)];

fn spec(extra: &[(&'static str, Kind)]) -> Vec<(&'static str, Kind)> {
    let mut v = ADMIN_OPTS.to_vec();
    v.extend_from_slice(extra);
    v
}

/// `linkgate mint ...`: mint a link at the edge.
pub fn mint(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(
        argv,
        &spec(&[
            ("path", Kind::Value),
            ("prefix", Kind::Flag),
            ("ttl", Kind::Value),
            ("expires-at", Kind::Value),
            ("not-before", Kind::Value),
            ("sub", Kind::Value),
            ("tenant", Kind::Value),
            ("ip", Kind::Many),
            ("host", Kind::Value),
            ("uses", Kind::Value),
            ("mode", Kind::Value),
            ("filename", Kind::Value),
            ("content-type", Kind::Value),
        ]),
    )?;
    no_positional(&a)?;
    let path = a.value("path").ok_or_else(|| Failure::usage("--path is required"))?;
    let mut body = serde_json::Map::new();
    body.insert(if a.flag("prefix") { "prefix" } else { "path" }.into(), json!(path));
    match (a.value("ttl"), a.value("expires-at")) {
        (Some(t), None) => {
            let secs = parse_duration(t).ok_or_else(|| Failure::usage(format!("--ttl {t:?}: use e.g. 90s, 15m, 24h, 7d")))?;
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
    if let Some(u) = a.value("uses") {
        let n: u64 = u.parse().map_err(|_| Failure::usage(format!("--uses must be a whole number, got {u:?}")))?;
        body.insert("uses".into(), json!(n));
    }
    for (opt, key) in [("sub", "sub"), ("tenant", "tenant"), ("host", "host"), ("mode", "mode"), ("filename", "filename"), ("content-type", "content_type")] {
        if let Some(v) = a.value(opt) {
            body.insert(key.into(), json!(v));
        }
    }
    if !a.values("ip").is_empty() {
        body.insert("ip".into(), json!(a.values("ip")));
    }
    let admin = Admin::from_args(&a)?;
    let v = admin.send_json("POST", "links", Some(&Value::Object(body)), a.flag("json"))?;
    if a.flag("json") {
        println!("{v}");
    } else {
        println!("{}", v["url"].as_str().unwrap_or(""));
    }
    Ok(EXIT_OK)
}

/// `linkgate revoke (--jti|--sub|--tenant|--path|--kid|--all) VALUE --reason R`
pub fn revoke(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(
        argv,
        &spec(&[
            ("jti", Kind::Value),
            ("sub", Kind::Value),
            ("tenant", Kind::Value),
            ("path", Kind::Value),
            ("kid", Kind::Value),
            ("all", Kind::Flag),
            ("reason", Kind::Value),
            ("actor", Kind::Value),
        ]),
    )?;
    no_positional(&a)?;
    let mut chosen: Vec<(RevocationScope, String)> = Vec::new();
    for scope in [RevocationScope::Jti, RevocationScope::Sub, RevocationScope::Tenant, RevocationScope::Path, RevocationScope::Kid] {
        if let Some(v) = a.value(scope.as_str()) {
            chosen.push((scope, v.to_owned()));
        }
    }
    if a.flag("all") {
        chosen.push((RevocationScope::All, String::new()));
    }
    let (scope, value) = match chosen.as_slice() {
        [one] => one.clone(),
        [] => return Err(Failure::usage("give one of --jti, --sub, --tenant, --path, --kid, --all")),
        _ => return Err(Failure::usage("give exactly one of --jti, --sub, --tenant, --path, --kid, --all")),
    };
    let value = check_revocation_value(scope, &value).map_err(|e| Failure::usage(format!("--{}: {}", scope.as_str(), e.detail)))?;
    let reason = a.value("reason").filter(|r| !r.trim().is_empty()).ok_or_else(|| Failure::usage("--reason is required"))?;
    let mut body = json!({ "scope": scope.as_str(), "value": value, "reason": reason });
    if let Some(actor) = a.value("actor").map(str::to_owned).or_else(|| std::env::var("USER").ok()) {
        body["actor"] = json!(actor);
    }
    let admin = Admin::from_args(&a)?;
    let v = admin.send_json("POST", "revocations", Some(&body), a.flag("json"))?;
    if a.flag("json") {
        println!("{v}");
    } else {
        let expires = v["expires_at"].as_u64().map_or("until lifted".to_owned(), |e| format!("entry expires {}", util::rfc3339(e)));
        println!("revoked {} {} ({expires}; takes up to ~90 s to reach every location)", scope.as_str(), if value.is_empty() { "*" } else { &value });
    }
    Ok(EXIT_OK)
}

fn print_entries(entries: &[Value]) {
    println!("{:<7} {:<34} {:<21} {:<21} {:<12} reason", "scope", "value", "revoked", "expires", "actor");
    for e in entries {
        let t = |k: &str| e[k].as_u64().map_or("-".to_owned(), util::rfc3339);
        println!(
            "{:<7} {:<34} {:<21} {:<21} {:<12} {}",
            e["scope"].as_str().unwrap_or("?"),
            e["value"].as_str().unwrap_or(""),
            t("revoked_at"),
            t("expires_at"),
            e["actor"].as_str().unwrap_or(""),
            e["reason"].as_str().unwrap_or(""),
        );
    }
}

/// `linkgate revocations [--scope S] [--limit N] [--all-pages] [--json]`
pub fn revocations(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(argv, &spec(&[("scope", Kind::Value), ("limit", Kind::Value), ("all-pages", Kind::Flag)]))?;
    no_positional(&a)?;
    if let Some(s) = a.value("scope") {
        RevocationScope::parse(s).ok_or_else(|| Failure::usage("--scope must be one of jti, sub, tenant, path, kid, all"))?;
    }
    let limit: u32 = a.value("limit").map_or(Ok(100), |l| l.parse().map_err(|_| Failure::usage("--limit must be 1-1000")))?;
    if !(1..=1000).contains(&limit) {
        return Err(Failure::usage("--limit must be 1-1000"));
    }
    let admin = Admin::from_args(&a)?;
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut q = format!("limit={limit}");
        if let Some(s) = a.value("scope") {
            q.push_str(&format!("&scope={s}"));
        }
        if let Some(c) = &cursor {
            q.push_str(&format!("&cursor={}", encode_path(c).replace('/', "%2F")));
        }
        let v = admin.send_json("GET", &format!("revocations?{q}"), None, a.flag("json"))?;
        all.extend(v["entries"].as_array().cloned().unwrap_or_default());
        cursor = v["cursor"].as_str().map(str::to_owned);
        if cursor.is_none() || !a.flag("all-pages") {
            break;
        }
    }
    if a.flag("json") {
        println!("{}", json!({ "entries": all, "cursor": cursor }));
    } else {
        print_entries(&all);
        if cursor.is_some() {
            println!("(more: pass --all-pages)");
        }
    }
    Ok(EXIT_OK)
}

/// `linkgate lift --scope S --value V`
pub fn lift(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(argv, &spec(&[("scope", Kind::Value), ("value", Kind::Value)]))?;
    no_positional(&a)?;
    let scope = a
        .value("scope")
        .and_then(RevocationScope::parse)
        .ok_or_else(|| Failure::usage("--scope must be one of jti, sub, tenant, path, kid, all"))?;
    let value = check_revocation_value(scope, a.value("value").unwrap_or(""))
        .map_err(|e| Failure::usage(format!("--value: {}", e.detail)))?;
    let admin = Admin::from_args(&a)?;
    let enc = encode_path(&value).replace('/', "%2F");
    let v = admin.send_json("DELETE", &format!("revocations/{}/{enc}", scope.as_str()), None, a.flag("json"))?;
    if a.flag("json") {
        println!("{v}");
    } else {
        println!("lifted {} {}", scope.as_str(), value);
    }
    Ok(EXIT_OK)
}

/// `linkgate events [filters] [--json]` (JSON Lines with --json)
pub fn events(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(
        argv,
        &spec(&[
            ("jti", Kind::Value),
            ("sub", Kind::Value),
            ("tenant", Kind::Value),
            ("path", Kind::Value),
            ("outcome", Kind::Value),
            ("since", Kind::Value),
            ("until", Kind::Value),
            ("limit", Kind::Value),
        ]),
    )?;
    no_positional(&a)?;
    let mut q: Vec<String> = Vec::new();
    for k in ["jti", "sub", "tenant", "path", "outcome"] {
        if let Some(v) = a.value(k) {
            q.push(format!("{k}={}", encode_path(v).replace('/', "%2F")));
        }
    }
    if let Some(o) = a.value("outcome") {
        if !["allowed", "not_modified", "refused", "admin"].contains(&o) {
            return Err(Failure::usage("--outcome must be allowed, not_modified, refused or admin"));
        }
    }
    let now = util::now();
    for k in ["since", "until"] {
        if let Some(v) = a.value(k) {
            // Unix seconds, or a duration meaning "that long ago".
            let t = match v.parse::<u64>() {
                Ok(t) => t,
                Err(_) => now.saturating_sub(
                    parse_duration(v).ok_or_else(|| Failure::usage(format!("--{k} must be Unix seconds or a duration like 1h")))?,
                ),
            };
            q.push(format!("{k}={t}"));
        }
    }
    if let Some(l) = a.value("limit") {
        let n: u32 = l.parse().map_err(|_| Failure::usage("--limit must be 1-1000"))?;
        if !(1..=1000).contains(&n) {
            return Err(Failure::usage("--limit must be 1-1000"));
        }
        q.push(format!("limit={n}"));
    }
    let admin = Admin::from_args(&a)?;
    let v = admin.send_json("GET", &format!("events?{}", q.join("&")), None, a.flag("json"))?;
    let list = v["events"].as_array().cloned().unwrap_or_default();
    if a.flag("json") {
        for e in &list {
            println!("{e}");
        }
        return Ok(EXIT_OK);
    }
    println!("{:<21} {:<9} {:<6} {:<18} {:<30} {:<12} {:<15} rule", "time", "outcome", "status", "code", "path", "sub", "client");
    for e in &list {
        println!(
            "{:<21} {:<9} {:<6} {:<18} {:<30} {:<12} {:<15} {}",
            e["time"].as_u64().map_or("-".to_owned(), util::rfc3339),
            e["outcome"].as_str().unwrap_or("-"),
            e["status"].as_u64().map_or("-".to_owned(), |s| s.to_string()),
            e["code"].as_str().unwrap_or("-"),
            e["path"].as_str().unwrap_or("-"),
            e["sub"].as_str().unwrap_or("-"),
            e["client_ip"].as_str().unwrap_or("-"),
            e["rule"].as_str().unwrap_or("-"),
        );
    }
    Ok(EXIT_OK)
}

/// Reads a file and reports progress on stderr (when it is a terminal).
struct Progress<R> {
    inner: R,
    sent: u64,
    total: u64,
    show: bool,
    last_pct: u64,
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sent += n as u64;
        if self.show && self.total > 0 {
            let pct = self.sent * 100 / self.total;
            if pct != self.last_pct || n == 0 {
                self.last_pct = pct;
                eprint!("\ruploading {} / {} bytes ({pct}%)", self.sent, self.total);
                let _ = std::io::stderr().flush();
            }
        }
        Ok(n)
    }
}

fn guess_type(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "txt" => "text/plain; charset=utf-8",
        "csv" => "text/csv",
        "json" => "application/json",
        "zip" => "application/zip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "mp4" => "video/mp4",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => "application/octet-stream",
    }
}

/// `linkgate upload FILE --path P [--classification C] [--content-type CT]`
pub fn upload(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(argv, &spec(&[("path", Kind::Value), ("classification", Kind::Value), ("content-type", Kind::Value)]))?;
    let file = match a.positional.as_slice() {
        [f] => f.clone(),
        [] => return Err(Failure::usage("upload needs a FILE")),
        _ => return Err(Failure::usage("upload takes one FILE")),
    };
    let path = a.value("path").ok_or_else(|| Failure::usage("--path is required"))?;
    let canonical = linkgate::core::CanonicalPath::parse(path)
        .map_err(|e| Failure::usage(format!("--path {path:?} is not a canonical object path ({e})")))?;
    if let Some(c) = a.value("classification") {
        if !CLASSIFICATIONS.contains(&c) {
            return Err(Failure::usage("--classification must be public, internal, confidential or restricted"));
        }
    }
    let f = std::fs::File::open(&file).map_err(|e| Failure::usage(format!("cannot open {file}: {e}")))?;
    let total = f.metadata().map_err(|e| Failure::usage(format!("cannot stat {file}: {e}")))?.len();
    let admin = Admin::from_args(&a)?;
    let url = admin.url(&format!("files/{}", encode_path(canonical.object_key())));
    let mut req = admin
        .agent
        .put(&url)
        .set("authorization", &format!("Bearer {}", admin.token))
        .set("content-type", a.value("content-type").unwrap_or_else(|| guess_type(&file)))
        .set("content-length", &total.to_string());
    if let Some(c) = a.value("classification") {
        req = req.set("x-linkgate-classification", c);
    }
    let show = std::io::stderr().is_terminal();
    let r = req.send(Progress { inner: f, sent: 0, total, show, last_pct: u64::MAX });
    if show {
        eprintln!();
    }
    let v = admin.finish(&url, r, a.flag("json"))?;
    if a.flag("json") {
        println!("{v}");
    } else {
        println!(
            "uploaded {} ({} bytes, etag {}, classification {})",
            v["path"].as_str().unwrap_or(path),
            v["size"].as_u64().unwrap_or(total),
            v["etag"].as_str().unwrap_or("?"),
            v["classification"].as_str().unwrap_or("default")
        );
    }
    Ok(EXIT_OK)
}

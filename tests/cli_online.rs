//! The `linkgate` binary's online commands against a fake admin API: a tiny
//! hand-written HTTP/1.1 server on 127.0.0.1 that records every request and
//! answers canned JSON. Checks the exact method, path, query, headers and
//! body each command sends, the human and `--json` outputs, and the exit
//! statuses (0 ok, 1 refused / server or network failure, 2 usage, with
//! nothing sent).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // test code: a panic is a failed test

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

const TOKEN: &str = "t0ken-for-tests";
const JTI: &str = "0123456789abcdef0123456789abcdef";

/// One request as it arrived.
#[derive(Debug, Clone)]
struct Req {
    method: String,
    /// Path and query exactly as sent.
    target: String,
    /// Lower-cased names.
    headers: HashMap<String, String>,
    body: Vec<u8>,
    chunked: bool,
}

impl Req {
    fn path(&self) -> &str {
        self.target.split_once('?').map_or(self.target.as_str(), |(p, _)| p)
    }
    fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, q)| q)
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// What the fake answers: status, extra headers, body (JSON unless a
/// content-type header says otherwise).
type Answer = (u16, Vec<(&'static str, String)>, String);
type Handler = Arc<dyn Fn(&Req) -> Answer + Send + Sync>;

struct Fake {
    url: String,
    log: Arc<Mutex<Vec<Req>>>,
}

impl Fake {
    fn start(handler: impl Fn(&Req) -> Answer + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(handler);
        let log2 = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (log, handler) = (log2.clone(), handler.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &log, &handler);
                });
            }
        });
        Fake { url, log }
    }

    /// Always the same answer.
    fn canned(status: u16, body: Value) -> Fake {
        Fake::start(move |_| (status, vec![], body.to_string()))
    }

    fn requests(&self) -> Vec<Req> {
        self.log.lock().unwrap().clone()
    }

    fn only(&self) -> Req {
        let r = self.requests();
        assert_eq!(r.len(), 1, "expected exactly one request, got {r:?}");
        r.into_iter().next().unwrap()
    }
}

fn serve(stream: TcpStream, log: &Mutex<Vec<Req>>, handler: &Handler) -> std::io::Result<()> {
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let mut parts = line.trim_end().splitn(3, ' ');
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    assert_eq!(parts.next(), Some("HTTP/1.1"), "request line {line:?}");
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').expect("header line");
        let prev = headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        assert!(prev.is_none(), "header {k} sent twice");
    }
    let chunked = headers.get("transfer-encoding").is_some_and(|t: &String| t.eq_ignore_ascii_case("chunked"));
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap(), 16).expect("chunk size");
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = headers.get("content-length") {
        let n: usize = n.parse().expect("content-length");
        body.resize(n, 0);
        r.read_exact(&mut body)?;
    }
    let req = Req { method, target, headers, body, chunked };
    let (status, extra, text) = handler(&req);
    log.lock().unwrap().push(req);
    let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n", text.len());
    if !extra.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        let ct = if status >= 400 { "application/problem+json" } else { "application/json" };
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    w.write_all(text.as_bytes())?;
    w.flush()
}

fn problem(status: u16, code: &str, detail: &str, field: Option<&str>) -> Value {
    let mut v =
        json!({ "type": format!("urn:linkgate:problem:{code}"), "status": status, "code": code, "detail": detail });
    if let Some(f) = field {
        v["field"] = json!(f);
    }
    v
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_linkgate"));
    for v in ["LINKGATE_ADMIN_TOKEN", "LINKGATE_ADMIN_URL", "LINKGATE_KEYS"] {
        c.env_remove(v);
    }
    c.stdin(Stdio::null());
    c
}

/// Run with `--admin <fake>` and the token in the environment.
fn run(fake: &Fake, args: &[&str]) -> Output {
    bin().args(args).args(["--admin", &fake.url]).env("LINKGATE_ADMIN_TOKEN", TOKEN).output().expect("run linkgate")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn status(o: &Output, code: i32) {
    assert_eq!(o.status.code(), Some(code), "stdout: {}\nstderr: {}", out(o), err(o));
}

/// The common checks on every request: bearer token, no stray body.
#[track_caller]
fn authed(r: &Req) {
    assert_eq!(r.header("authorization"), Some(&*format!("Bearer {TOKEN}")));
}

fn temp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("linkgate-cli-online-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

// ---------------------------------------------------------------- mint

#[test]
fn mint_posts_every_claim_and_prints_the_url() {
    let answer = json!({
        "url": format!("https://dl.example.com/board/pack.pdf?lg=TOKEN"),
        "token": "TOKEN", "jti": JTI, "expires_at": 1_900_000_000u64, "issued_by": "edge"
    });
    let fake = Fake::canned(201, answer.clone());
    let nbf = now() + 60;
    let o = run(
        &fake,
        &[
            "mint",
            "--path",
            "/board/pack.pdf",
            "--ttl",
            "15m",
            "--not-before",
            &nbf.to_string(),
            "--sub",
            "r-7",
            "--tenant",
            "acme",
            "--ip",
            "203.0.113.0/24",
            "--ip",
            "2001:db8::/32",
            "--host",
            "dl.example.com",
            "--uses",
            "1",
            "--mode",
            "redirect",
            "--filename",
            "Board pack.pdf",
            "--content-type",
            "application/pdf",
        ],
    );
    status(&o, 0);
    assert_eq!(out(&o), "https://dl.example.com/board/pack.pdf?lg=TOKEN\n");
    let r = fake.only();
    authed(&r);
    assert_eq!((r.method.as_str(), r.target.as_str()), ("POST", "/_linkgate/links"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        json!({
            "path": "/board/pack.pdf", "ttl": 900, "not_before": nbf, "sub": "r-7", "tenant": "acme",
            "ip": ["203.0.113.0/24", "2001:db8::/32"], "host": "dl.example.com", "uses": 1, "mode": "redirect",
            "filename": "Board pack.pdf", "content_type": "application/pdf"
        })
    );

    // A folder link with an absolute expiry; --json prints the server's answer.
    let fake = Fake::canned(201, answer.clone());
    let exp = (now() + 3600).to_string();
    let o = run(&fake, &["mint", "--path", "/hls/show", "--prefix", "--expires-at", &exp, "--json"]);
    status(&o, 0);
    let printed: Value = serde_json::from_str(out(&o).trim()).unwrap();
    assert_eq!(printed, answer);
    assert_eq!(fake.only().json(), json!({ "prefix": "/hls/show/", "expires_at": exp.parse::<u64>().unwrap() }));

    // A6: the whole bucket only with --whole-bucket, which is sent along (the
    // worker decides whether it allows such links at all).
    let fake = Fake::canned(201, answer.clone());
    let o = run(&fake, &["mint", "--path", "/", "--prefix", "--ttl", "1h", "--whole-bucket"]);
    status(&o, 0);
    assert_eq!(fake.only().json(), json!({ "prefix": "/", "ttl": 3600, "whole_bucket": true }));
    let fake = Fake::canned(201, answer);
    let o = run(&fake, &["mint", "--path", "", "--prefix", "--ttl", "1h"]);
    status(&o, 2);
    assert!(err(&o).contains("--path") && err(&o).contains("whole_bucket"), "{}", err(&o));
    assert!(fake.requests().is_empty());
}

// ---------------------------------------------------------------- revoke / lift / list

fn entry(scope: &str, value: &str) -> Value {
    json!({ "scope": scope, "value": value, "reason": "leaked", "actor": "alice",
            "revoked_at": 1_700_000_000u64, "expires_at": 1_700_604_800u64 })
}

#[test]
fn revoke_posts_one_scope_with_its_reason() {
    let cases: [(&[&str], &str, &str); 6] = [
        (&["--jti", "0123456789ABCDEF0123456789ABCDEF"], "jti", JTI),
        (&["--sub", "r-7"], "sub", "r-7"),
        (&["--tenant", "acme"], "tenant", "acme"),
        (&["--path", "/board/"], "path", "/board/"),
        (&["--kid", "k2024"], "kid", "k2024"),
        (&["--all"], "all", ""),
    ];
    for (opt, scope, value) in cases {
        let fake = Fake::canned(201, entry(scope, value));
        let mut args = vec!["revoke", "--reason", "leaked", "--actor", "alice"];
        args.extend_from_slice(opt);
        let o = run(&fake, &args);
        status(&o, 0);
        assert!(out(&o).starts_with(&format!("revoked {scope} ")), "{}", out(&o));
        assert!(out(&o).contains("2023-11-21T22:13:20Z"), "entry expiry shown: {}", out(&o));
        let r = fake.only();
        authed(&r);
        assert_eq!((r.method.as_str(), r.target.as_str()), ("POST", "/_linkgate/revocations"));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.json(), json!({ "scope": scope, "value": value, "reason": "leaked", "actor": "alice" }));
    }

    // Without --actor none is sent (the server records its default); --json
    // prints the entry as the server returned it.
    let fake = Fake::canned(
        201,
        json!({ "scope": "sub", "value": "r-7", "reason": "x", "actor": "admin-api", "revoked_at": 1, "expires_at": null }),
    );
    let o = run(&fake, &["revoke", "--sub", "r-7", "--reason", "x", "--json"]);
    status(&o, 0);
    assert_eq!(serde_json::from_str::<Value>(out(&o).trim()).unwrap()["actor"], "admin-api");
    assert_eq!(fake.only().json(), json!({ "scope": "sub", "value": "r-7", "reason": "x" }));
}

#[test]
fn revoke_says_which_bound_applies() {
    let mut answer = entry("sub", "r-7");
    answer["guarantees"] = json!({ "strict": "immediate", "kv_within_secs": 93 });
    let o = run(&Fake::canned(201, answer), &["revoke", "--sub", "r-7", "--reason", "x"]);
    status(&o, 0);
    assert!(out(&o).contains("refused at once for strict objects"), "{}", out(&o));
    assert!(out(&o).contains("within about 93 s for the others"), "the worker's own bound: {}", out(&o));
    // A worker without the registry states nothing: only the KV bound holds.
    let o = run(&Fake::canned(201, entry("sub", "r-7")), &["revoke", "--sub", "r-7", "--reason", "x"]);
    assert!(out(&o).contains("every location refuses within about 92 s"), "{}", out(&o));
    assert!(!out(&o).contains("at once"), "{}", out(&o));
}

#[test]
fn lift_deletes_the_percent_encoded_entry() {
    let fake = Fake::canned(200, json!({ "lifted": entry("path", "/board/Q1 pack+v2.pdf") }));
    let o = run(&fake, &["lift", "--scope", "path", "--value", "/board/Q1 pack+v2.pdf"]);
    status(&o, 0);
    let r = fake.only();
    authed(&r);
    assert_eq!(r.method, "DELETE");
    assert_eq!(r.target, "/_linkgate/revocations/path/%2Fboard%2FQ1%20pack%2Bv2.pdf");
    assert!(r.body.is_empty());
    assert!(
        out(&o).starts_with("lifted path /board/Q1 pack+v2.pdf (revoked 2023-11-14T22:13:20Z by alice: leaked)"),
        "{}",
        out(&o)
    );

    let fake = Fake::canned(200, json!({ "lifted": entry("all", "") }));
    status(&run(&fake, &["lift", "--scope", "all", "--json"]), 0);
    assert_eq!(fake.only().target, "/_linkgate/revocations/all/");

    // Absent: the server's 404 problem, exit 1.
    let fake = Fake::canned(404, problem(404, "not_found", "No such revocation entry.", None));
    let o = run(&fake, &["lift", "--scope", "jti", "--value", JTI]);
    status(&o, 1);
    assert_eq!(err(&o).trim(), "linkgate: not_found (404): No such revocation entry.");
    assert_eq!(fake.only().target, format!("/_linkgate/revocations/jti/{JTI}"));
}

#[test]
fn revocations_lists_a_table_and_follows_cursors() {
    let fake = Fake::start(|r| {
        let page = if r.query().contains("cursor=") {
            json!({ "entries": [entry("jti", JTI)], "cursor": null })
        } else {
            let mut all = entry("all", "");
            all["expires_at"] = Value::Null;
            json!({ "entries": [entry("sub", "r-7"), all], "cursor": "c/1+2" })
        };
        (200, vec![], page.to_string())
    });
    let o = run(&fake, &["revocations", "--scope", "sub", "--limit", "2"]);
    status(&o, 0);
    let r = fake.only();
    authed(&r);
    assert_eq!((r.method.as_str(), r.target.as_str()), ("GET", "/_linkgate/revocations?scope=sub&limit=2"));
    let text = out(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out(&o));
    let cols: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(cols, ["SCOPE", "VALUE", "REVOKED_AT", "EXPIRES", "ACTOR", "REASON"]);
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(row, ["sub", "r-7", "2023-11-14T22:13:20Z", "2023-11-21T22:13:20Z", "alice", "leaked"]);
    let row: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(row, ["all", "*", "2023-11-14T22:13:20Z", "never", "alice", "leaked"]);
    assert!(err(&o).contains("--cursor c/1+2"), "{}", err(&o));

    // --all-pages sends the cursor back, percent-encoded; --json merges the pages.
    let before = fake.requests().len();
    let o = run(&fake, &["revocations", "--all-pages", "--json"]);
    status(&o, 0);
    let reqs = fake.requests();
    assert_eq!(reqs[before].target, "/_linkgate/revocations");
    assert_eq!(reqs[before + 1].target, "/_linkgate/revocations?cursor=c%2F1%2B2");
    assert_eq!(reqs.len(), before + 2);
    let v: Value = serde_json::from_str(out(&o).trim()).unwrap();
    assert_eq!(v["entries"].as_array().unwrap().len(), 3);
    assert_eq!(v["cursor"], Value::Null);
}

// ---------------------------------------------------------------- events

fn event(time: u64, outcome: &str, status: u16, code: Option<&str>) -> Value {
    json!({ "time": time, "request_id": "rid-1", "method": "GET", "jti": JTI, "kid": "k1", "sub": "r-7",
            "tenant": null, "path": "/board/pack.pdf", "outcome": outcome, "status": status, "code": code,
            "reason": null, "rule": "confidential", "mode": "stream", "bytes": 1024, "cache": "miss",
            "client_ip": "203.0.113.9", "country": "DE", "user_agent": "curl/8", "issued_by": "edge" })
}

#[test]
fn events_filters_and_prints_a_table_or_json_lines() {
    let body = json!({ "events": [event(1_700_000_100, "refused", 410, Some("revoked")), event(1_700_000_000, "allowed", 200, None)], "cursor": null });
    let fake = Fake::canned(200, body.clone());
    let o = run(
        &fake,
        &[
            "events",
            "--jti",
            JTI,
            "--sub",
            "r+7&x",
            "--tenant",
            "acme",
            "--path",
            "/board/Q1 pack.pdf",
            "--outcome",
            "refused",
            "--identity",
            "alice@example.com",
            "--since",
            "1700000000",
            "--until",
            "1700003600",
            "--limit",
            "50",
        ],
    );
    status(&o, 0);
    let r = fake.only();
    authed(&r);
    assert_eq!(r.method, "GET");
    assert_eq!(r.path(), "/_linkgate/events");
    assert_eq!(
        r.query(),
        format!("jti={JTI}&sub=r%2B7%26x&tenant=acme&path=%2Fboard%2FQ1%20pack.pdf&outcome=refused&identity=alice%40example.com&since=1700000000&until=1700003600&limit=50")
    );
    let text = out(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["TIME", "OUTCOME", "STATUS", "CODE", "PATH", "SUB", "CLIENT_IP", "RULE"]
    );
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["2023-11-14T22:15:00Z", "refused", "410", "revoked", "/board/pack.pdf", "r-7", "203.0.113.9", "confidential"]
    );
    assert_eq!(lines[2].split_whitespace().nth(3), Some("-"), "no code shows as -");

    // --since 1h means an hour ago; --json is JSON Lines, one event per line.
    let fake = Fake::canned(200, body.clone());
    let o = run(&fake, &["events", "--since", "1h", "--json"]);
    status(&o, 0);
    let q = fake.only().query().to_owned();
    let since: u64 = q.strip_prefix("since=").expect(&q).parse().unwrap();
    assert!(since.abs_diff(now() - 3600) <= 5, "{since}");
    let lines: Vec<Value> = out(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines, body["events"].as_array().unwrap().clone());
}

// ---------------------------------------------------------------- upload

#[test]
fn upload_streams_the_exact_bytes_with_its_headers() {
    // 5 MiB + 123 bytes of non-repeating data.
    let mut data = Vec::with_capacity(5 * 1024 * 1024 + 123);
    let mut x: u32 = 0x1234_5678;
    while data.len() < 5 * 1024 * 1024 + 123 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data.push(x as u8);
    }
    let file = temp("Q1 final.pdf", &data);
    let n = data.len();
    let fake = Fake::start(move |r| {
        (201, vec![], json!({ "path": "/reports/Q1 final.pdf", "size": r.body.len(), "etag": "e-1", "version": "v-1", "classification": "confidential" }).to_string())
    });
    let o = run(
        &fake,
        &["upload", file.to_str().unwrap(), "--path", "/reports/Q1 final.pdf", "--classification", "confidential"],
    );
    status(&o, 0);
    assert_eq!(
        out(&o),
        format!("uploaded /reports/Q1 final.pdf ({n} bytes, etag e-1, version v-1, classification confidential)\n")
    );
    assert_eq!(err(&o), "", "no progress when stderr is not a terminal");
    let r = fake.only();
    authed(&r);
    assert_eq!((r.method.as_str(), r.target.as_str()), ("PUT", "/_linkgate/files/reports/Q1%20final.pdf"));
    assert_eq!(r.header("content-type"), Some("application/pdf"));
    assert_eq!(r.header("content-length"), Some(&*n.to_string()));
    assert_eq!(r.header("x-linkgate-classification"), Some("confidential"));
    assert!(!r.chunked, "sent with a known length");
    assert!(r.body == data, "the exact bytes");
    let _ = std::fs::remove_file(&file);

    // Unknown extension: octet-stream and no classification header;
    // --content-type wins; --json prints the server's answer.
    let file = temp("blob.bin", b"abc");
    let fake =
        Fake::canned(201, json!({ "path": "/b/blob", "size": 3, "etag": "e", "version": "v", "classification": null }));
    let o = run(&fake, &["upload", file.to_str().unwrap(), "--path", "/b/blob", "--json"]);
    status(&o, 0);
    assert_eq!(serde_json::from_str::<Value>(out(&o).trim()).unwrap()["size"], 3);
    let r = fake.only();
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert_eq!(r.header("x-linkgate-classification"), None);
    assert_eq!(r.body, b"abc");
    let fake =
        Fake::canned(201, json!({ "path": "/b/blob", "size": 3, "etag": "e", "version": "v", "classification": null }));
    status(&run(&fake, &["upload", file.to_str().unwrap(), "--path", "/b/blob", "--content-type", "text/csv"]), 0);
    assert_eq!(fake.only().header("content-type"), Some("text/csv"));
}

// ---------------------------------------------------------------- configuration

#[test]
fn token_comes_from_a_dev_vars_file_before_the_environment() {
    let vars = temp(
        "dev.vars",
        b"LINKGATE_KEYS=\"k1:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI\"\nLINKGATE_ADMIN_TOKEN=\"from-file\"\n",
    );
    let fake = Fake::canned(200, json!({ "entries": [], "cursor": null }));
    let o = run(&fake, &["revocations", "--admin-token-file", vars.to_str().unwrap()]);
    status(&o, 0);
    assert_eq!(fake.only().header("authorization"), Some("Bearer from-file"));

    // A file holding just the token.
    let bare = temp("token.txt", b"bare-token\n");
    let fake = Fake::canned(200, json!({ "entries": [], "cursor": null }));
    status(&run(&fake, &["revocations", "--admin-token-file", bare.to_str().unwrap()]), 0);
    assert_eq!(fake.only().header("authorization"), Some("Bearer bare-token"));

    // A dotenv file without the token is refused, never sent whole.
    let keys_only = temp("keys.vars", b"LINKGATE_KEYS=k1:abc\nOTHER=1\n");
    let fake = Fake::canned(200, json!({ "entries": [], "cursor": null }));
    let o = run(&fake, &["revocations", "--admin-token-file", keys_only.to_str().unwrap()]);
    status(&o, 2);
    assert!(err(&o).contains("no LINKGATE_ADMIN_TOKEN= line"), "{}", err(&o));
    assert!(fake.requests().is_empty());

    // LINKGATE_ADMIN_URL is used without --admin.
    let fake = Fake::canned(200, json!({ "entries": [], "cursor": null }));
    let o = bin()
        .args(["revocations"])
        .env("LINKGATE_ADMIN_TOKEN", TOKEN)
        .env("LINKGATE_ADMIN_URL", format!("{}/", fake.url))
        .output()
        .unwrap();
    status(&o, 0);
    assert_eq!(fake.only().target, "/_linkgate/revocations");
}

#[test]
fn usage_errors_exit_2_before_any_request() {
    let fake = Fake::canned(201, json!({}));
    let f = temp("u.txt", b"x");
    let file = f.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &["mint", "--path", "/a.pdf"],
        &["mint", "--path", "/a.pdf", "--ttl", "15 minutes"],
        &["mint", "--path", "/a.pdf", "--ttl", "0s"],
        &["mint", "--path", "/a.pdf", "--ttl", "1h", "--expires-at", "1900000000"],
        &["mint", "--path", "/a.pdf", "--expires-at", "1000"],
        &["mint", "--path", "/a/../b.pdf", "--ttl", "1h"],
        &["mint", "--path", "/folder/", "--ttl", "1h"],
        &["mint", "--path", "/a.pdf", "--ttl", "1h", "--mode", "teleport"],
        &["mint", "--path", "/a.pdf", "--ttl", "1h", "--ip", "10.0.0.1/8"],
        &["mint", "--path", "/a.pdf", "--ttl", "1h", "--uses", "0"],
        &["mint", "--path", "/a.pdf", "--ttl", "1h", "--bogus"],
        &["mint", "--prefix", "--path", "", "--ttl", "1h"],
        &["mint", "--prefix", "--path", "/", "--ttl", "1h"],
        &["mint", "--prefix", "--path", "/a/", "--ttl", "1h", "--whole-bucket"],
        &["mint", "--path", "/a.pdf", "--ttl", "1h", "--whole-bucket"],
        &["revoke", "--jti", "xyz", "--reason", "r"],
        &["revoke", "--sub", "a", "--tenant", "b", "--reason", "r"],
        &["revoke", "--reason", "r"],
        &["revoke", "--sub", "a"],
        &["revoke", "--sub", "a", "--reason", " "],
        &["revoke", "--path", "relative", "--reason", "r"],
        &["revocations", "--scope", "everything"],
        &["revocations", "--limit", "0"],
        &["lift", "--scope", "sub"],
        &["lift", "--scope", "all", "--value", "x"],
        &["events", "--outcome", "maybe"],
        &["events", "--since", "yesterday"],
        &["events", "--jti", "nothex"],
        &["events", "--since", "1700003600", "--until", "1700000000"],
        &["events", "--limit", "5000"],
        &["upload", "--path", "/a.txt"],
        &["upload", file, "--path", "a.txt"],
        &["upload", file, "--path", "/a.txt", "--classification", "secret"],
        &["upload", "/nonexistent/file", "--path", "/a.txt"],
        &["upload", "/tmp", "--path", "/a.txt"],
    ];
    let o = run(&fake, &["mint", "--path", "/a.pdf", "--ttl", "1h", "--mode", "teleport"]);
    assert_eq!(err(&o).trim(), "linkgate: --mode: must be stream or redirect");
    for args in cases {
        let o = run(&fake, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", err(&o));
        assert!(err(&o).starts_with("linkgate: "), "{args:?}: {}", err(&o));
        assert_eq!(out(&o), "", "{args:?}");
    }
    // No token at all; a bad admin URL.
    let o = bin().args(["events", "--admin", &fake.url]).output().unwrap();
    status(&o, 2);
    assert!(err(&o).contains("LINKGATE_ADMIN_TOKEN"), "{}", err(&o));
    let o = bin().args(["events", "--admin", "ftp://127.0.0.1/"]).env("LINKGATE_ADMIN_TOKEN", TOKEN).output().unwrap();
    status(&o, 2);
    let o = bin().args(["events", "--admin", &fake.url]).env("LINKGATE_ADMIN_TOKEN", "").output().unwrap();
    status(&o, 2);
    assert!(fake.requests().is_empty(), "nothing may be sent: {:?}", fake.requests());
}

// ---------------------------------------------------------------- server refusals and failures

#[test]
fn server_refusals_exit_1_with_the_problem() {
    // 401: wrong token.
    let fake = Fake::start(|_| {
        (
            401,
            vec![("WWW-Authenticate", "Bearer".into())],
            problem(401, "unauthorized", "A valid admin bearer token is required.", None).to_string(),
        )
    });
    let o = run(&fake, &["revoke", "--sub", "r-7", "--reason", "x"]);
    status(&o, 1);
    assert!(
        err(&o).starts_with("linkgate: unauthorized (401): A valid admin bearer token is required."),
        "{}",
        err(&o)
    );
    assert_eq!(out(&o), "");
    let file = temp("refused.csv", b"a,b\n1,2\n");
    let o = run(&fake, &["upload", file.to_str().unwrap(), "--path", "/r.csv", "--json"]);
    status(&o, 1);
    assert!(err(&o).contains("unauthorized (401)"), "{}", err(&o));
    assert_eq!(serde_json::from_str::<Value>(out(&o).trim()).unwrap()["code"], "unauthorized");
    assert_eq!(fake.requests()[1].header("content-type"), Some("text/csv; charset=utf-8"));

    // 400 with a field; --json puts the problem on stdout.
    let p = problem(400, "invalid_request", "lifetime exceeds the configured maximum", Some("ttl"));
    let fake = Fake::canned(400, p.clone());
    let o = run(&fake, &["mint", "--path", "/a.pdf", "--ttl", "30d", "--json"]);
    status(&o, 1);
    assert_eq!(err(&o).trim(), "linkgate: invalid_request (400): lifetime exceeds the configured maximum [field: ttl]");
    assert_eq!(serde_json::from_str::<Value>(out(&o).trim()).unwrap(), p);
    assert_eq!(fake.only().json(), json!({ "path": "/a.pdf", "ttl": 2_592_000 }));

    // 403 policy refusal names the rule.
    let mut p = problem(403, "policy_denied", "restricted objects need an IP binding", None);
    p["rule"] = json!("restricted");
    let fake = Fake::canned(403, p);
    let o = run(&fake, &["mint", "--path", "/a.pdf", "--ttl", "1h"]);
    status(&o, 1);
    assert!(err(&o).contains("policy_denied (403)") && err(&o).contains("[rule: restricted]"), "{}", err(&o));
}

#[test]
fn server_and_network_failures_exit_1_and_name_the_url() {
    // 5xx problem.
    let fake = Fake::canned(503, problem(503, "store_unavailable", "KV unreachable", None));
    let o = run(&fake, &["events"]);
    status(&o, 1);
    assert!(
        err(&o).contains("server failed") && err(&o).contains(&format!("{}/_linkgate/events", fake.url)),
        "{}",
        err(&o)
    );
    assert!(err(&o).contains("store_unavailable (503): KV unreachable"), "{}", err(&o));

    // A non-JSON error page (a proxy in the way).
    let fake = Fake::start(|_| (502, vec![("Content-Type", "text/html".into())], "<h1>Bad gateway</h1>".into()));
    let o = run(&fake, &["revocations"]);
    status(&o, 1);
    assert!(err(&o).contains("502") && err(&o).contains(&fake.url), "{}", err(&o));

    // A 2xx that is not JSON.
    let fake = Fake::start(|_| (200, vec![("Content-Type", "text/html".into())], "<html>".into()));
    let o = run(&fake, &["revocations"]);
    status(&o, 1);
    assert!(err(&o).contains("is --admin the linkgate worker?"), "{}", err(&o));

    // A redirect is reported, not followed (it would drop the token).
    let fake =
        Fake::start(|_| (301, vec![("Location", "https://elsewhere.example/_linkgate/events".into())], String::new()));
    let o = run(&fake, &["events"]);
    status(&o, 1);
    assert!(err(&o).contains("redirected (301) to https://elsewhere.example/"), "{}", err(&o));
    assert_eq!(fake.requests().len(), 1);

    // Nothing listening.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let o = bin()
        .args(["revoke", "--all", "--reason", "incident", "--admin", &url])
        .env("LINKGATE_ADMIN_TOKEN", TOKEN)
        .output()
        .unwrap();
    status(&o, 1);
    assert!(
        err(&o).contains("cannot reach the admin API at POST")
            && err(&o).contains(&format!("{url}/_linkgate/revocations")),
        "{}",
        err(&o)
    );
}

// ---------------------------------------------------------------- output safety

/// Server text a hostile or compromised server (or a proxy, or a logged
/// user agent) might send: a screen clear, a title change, DEL, a C1 CSI, a
/// right-to-left override, a bidi isolate, a line separator, and a newline
/// that forges a line of the CLI's own output.
const NASTY: &str = "\u{1b}[2J\u{1b}]0;pwned\u{7}x\u{7f}\u{9b}31m\u{202e}fdp.exe\u{2066}\u{2028}\nlinkgate: forged";

/// Nothing a terminal acts on, nor any bidi control, outside line ends.
#[track_caller]
fn inert(s: &str) {
    for c in s.chars() {
        let hidden = c.is_control()
            || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}')
            || matches!(c, '\u{2066}'..='\u{2069}');
        assert!(c == '\n' || !hidden, "raw {c:?} in {s:?}");
    }
    assert!(!s.contains("\nlinkgate: forged"), "a forged line: {s:?}");
}

/// The escaped rendering of [`NASTY`] is there.
#[track_caller]
fn escaped(s: &str) {
    assert!(
        s.contains(r"\x1b[2J\x1b]0;pwned\x07x\x7f\u{9b}31m\u{202e}fdp.exe\u{2066}\u{2028}\x0alinkgate: forged"),
        "{s:?}"
    );
}

#[test]
fn server_text_is_shown_with_controls_and_bidi_escaped() {
    // A problem's detail, field and rule; ordinary non-ASCII text is kept.
    let mut p = problem(403, "policy_denied", &format!("Zürich 東京 {NASTY}"), Some(NASTY));
    p["rule"] = json!(NASTY);
    let fake = Fake::canned(403, p);
    let o = run(&fake, &["mint", "--path", "/a.pdf", "--ttl", "1h"]);
    status(&o, 1);
    inert(&err(&o));
    escaped(&err(&o));
    assert!(err(&o).contains("policy_denied (403): Zürich 東京 "), "{}", err(&o));
    assert_eq!(err(&o).lines().count(), 1, "{}", err(&o));

    // A non-JSON error page.
    let fake = Fake::start(|_| (502, vec![("Content-Type", "text/html".into())], format!("<h1>{NASTY}</h1>")));
    let o = run(&fake, &["events"]);
    status(&o, 1);
    inert(&err(&o));
    assert!(err(&o).contains(r"\x1b[2J") && err(&o).contains(r"\u{202e}fdp.exe"), "{}", err(&o));

    // The revocation table, and the cursor hint.
    let mut e = entry("sub", "r-7");
    e["reason"] = json!(NASTY);
    e["actor"] = json!(NASTY);
    let fake = Fake::canned(200, json!({ "entries": [e], "cursor": NASTY }));
    let o = run(&fake, &["revocations"]);
    status(&o, 0);
    inert(&out(&o));
    escaped(&out(&o));
    inert(&err(&o));
    escaped(&err(&o));

    // The events table (path, sub, code, rule, client IP, outcome as sent).
    let mut ev = event(1_700_000_000, "refused", 403, Some(NASTY));
    for k in ["path", "sub", "rule", "client_ip", "outcome"] {
        ev[k] = json!(NASTY);
    }
    let fake = Fake::canned(200, json!({ "events": [ev], "cursor": null }));
    let o = run(&fake, &["events"]);
    status(&o, 0);
    inert(&out(&o));
    escaped(&out(&o));
    assert_eq!(out(&o).lines().count(), 2, "a header and one row: {}", out(&o));

    // lift's summary, mint's URL, upload's summary.
    let mut e = entry("jti", JTI);
    e["reason"] = json!(NASTY);
    let fake = Fake::canned(200, json!({ "lifted": e }));
    let o = run(&fake, &["lift", "--scope", "jti", "--value", JTI]);
    status(&o, 0);
    inert(&out(&o));
    escaped(&out(&o));
    let fake = Fake::canned(201, json!({ "url": format!("https://x.example/a.pdf?lg={NASTY}") }));
    let o = run(&fake, &["mint", "--path", "/a.pdf", "--ttl", "1h"]);
    status(&o, 0);
    inert(&out(&o));
    escaped(&out(&o));
    let file = temp("nasty.txt", b"abc");
    let fake = Fake::canned(
        201,
        json!({ "path": NASTY, "size": 3, "etag": NASTY, "version": NASTY, "classification": NASTY }),
    );
    let o = run(&fake, &["upload", file.to_str().unwrap(), "--path", "/n.txt"]);
    status(&o, 0);
    inert(&out(&o));
    escaped(&out(&o));

    // A redirect's Location header (ureq itself hides a value that is not
    // visible ASCII; either way nothing raw reaches the terminal).
    let fake =
        Fake::start(|_| (302, vec![("Location", "https://evil.example/\u{1b}[2J\u{202e}".into())], String::new()));
    let o = run(&fake, &["events"]);
    status(&o, 1);
    inert(&err(&o));
}

#[test]
fn json_output_keeps_server_text_as_data_with_hidden_characters_escaped() {
    let mut ev = event(1_700_000_000, "allowed", 200, None);
    ev["user_agent"] = json!(NASTY);
    ev["path"] = json!(format!("/Zürich/{NASTY}"));
    let body = json!({ "events": [ev.clone(), ev.clone()], "cursor": null });
    let fake = Fake::canned(200, body.clone());
    let o = run(&fake, &["events", "--json"]);
    status(&o, 0);
    inert(&out(&o));
    assert!(out(&o).contains("/Zürich/"), "{}", out(&o));
    let lines: Vec<Value> = out(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines, [ev.clone(), ev.clone()], "the same data");

    // Listings, single answers and problems alike.
    let mut e = entry("sub", "r-7");
    e["reason"] = json!(NASTY);
    let fake = Fake::canned(200, json!({ "entries": [e.clone()], "cursor": null }));
    let o = run(&fake, &["revocations", "--json"]);
    status(&o, 0);
    inert(&out(&o));
    assert_eq!(serde_json::from_str::<Value>(out(&o).trim()).unwrap()["entries"][0], e);
    let fake = Fake::canned(201, e.clone());
    let o = run(&fake, &["revoke", "--sub", "r-7", "--reason", "x", "--json"]);
    status(&o, 0);
    inert(&out(&o));
    assert_eq!(serde_json::from_str::<Value>(out(&o).trim()).unwrap(), e);
    let p = problem(400, "invalid_request", NASTY, Some(NASTY));
    let fake = Fake::canned(400, p.clone());
    let o = run(&fake, &["mint", "--path", "/a.pdf", "--ttl", "1h", "--json"]);
    status(&o, 1);
    inert(&out(&o));
    inert(&err(&o));
    assert_eq!(serde_json::from_str::<Value>(out(&o).trim()).unwrap(), p);
}

#[test]
fn error_pages_never_show_the_admin_token() {
    // A proxy's error page that echoes the request headers, then a lot more.
    let page = format!(
        "<html><body><h1>401</h1><pre>GET /_linkgate/events HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\n\
         </pre>{}</body></html>",
        "<p>filler</p>".repeat(200)
    );
    let fake = Fake::start(move |_| (401, vec![("Content-Type", "text/html".into())], page.clone()));
    for json_flag in [false, true] {
        let mut args = vec!["events"];
        if json_flag {
            args.push("--json");
        }
        let o = run(&fake, &args);
        status(&o, 1);
        assert!(!err(&o).contains(TOKEN) && !out(&o).contains(TOKEN), "{}{}", out(&o), err(&o));
        assert!(err(&o).contains("Authorization: Bearer ***"), "{}", err(&o));
        assert_eq!(err(&o).lines().count(), 1, "{}", err(&o));
        assert!(err(&o).len() < 600, "capped: {} bytes", err(&o).len());
        if json_flag {
            let v: Value = serde_json::from_str(out(&o).trim()).unwrap();
            let detail = v["detail"].as_str().unwrap();
            assert!(detail.chars().count() <= 301 && detail.contains("Bearer ***"), "{detail}");
        }
    }

    // A problem (JSON) that echoes it, in the detail and anywhere else.
    let mut p = problem(400, "invalid_request", &format!("token {TOKEN} is not allowed here"), None);
    p["echo"] = json!({ "authorization": format!("Bearer {TOKEN}") });
    let fake = Fake::canned(400, p);
    let o = run(&fake, &["revocations", "--json"]);
    status(&o, 1);
    assert!(!err(&o).contains(TOKEN) && !out(&o).contains(TOKEN), "{}{}", out(&o), err(&o));
    assert!(err(&o).contains("token *** is not allowed here"), "{}", err(&o));
    let v: Value = serde_json::from_str(out(&o).trim()).unwrap();
    assert_eq!(v["echo"]["authorization"], "Bearer ***");

    // A redirect whose Location carries it.
    let fake = Fake::start(|_| (302, vec![("Location", format!("https://login.example/?t={TOKEN}"))], String::new()));
    let o = run(&fake, &["events"]);
    status(&o, 1);
    assert!(!err(&o).contains(TOKEN), "{}", err(&o));
    assert!(err(&o).contains("https://login.example/?t=***"), "{}", err(&o));
}

#[test]
fn admin_urls_with_credentials_are_refused_and_never_printed() {
    let fake = Fake::canned(200, json!({ "entries": [], "cursor": null }));
    let host = fake.url.strip_prefix("http://").unwrap().to_owned();
    let urls = [
        format!("http://admin:s3cret@{host}"),
        format!("http://s3cret@{host}/"),
        "https://admin:s3cret@dl.example.com/base".to_owned(),
        "ftp://admin:s3cret@dl.example.com/".to_owned(),
        format!("admin:s3cret@{host}"),
    ];
    for url in &urls {
        for via_env in [false, true] {
            let mut c = bin();
            c.args(["revocations"]).env("LINKGATE_ADMIN_TOKEN", TOKEN);
            if via_env {
                c.env("LINKGATE_ADMIN_URL", url);
            } else {
                c.args(["--admin", url]);
            }
            let o = c.output().unwrap();
            status(&o, 2);
            assert!(!err(&o).contains("s3cret") && !out(&o).contains("s3cret"), "{url}: {}", err(&o));
            assert!(err(&o).contains("credentials") && err(&o).contains("***@"), "{url}: {}", err(&o));
        }
    }
    // Every command checks it before sending anything.
    let file = temp("cred.txt", b"x");
    let url = format!("http://admin:s3cret@{host}");
    for args in [
        &["mint", "--path", "/a.pdf", "--ttl", "1h"][..],
        &["revoke", "--all", "--reason", "x"],
        &["lift", "--scope", "all"],
        &["events"],
        &["upload", file.to_str().unwrap(), "--path", "/x.txt"],
    ] {
        let o = bin().args(args).args(["--admin", &url]).env("LINKGATE_ADMIN_TOKEN", TOKEN).output().unwrap();
        status(&o, 2);
        assert!(!err(&o).contains("s3cret"), "{args:?}: {}", err(&o));
    }
    assert!(fake.requests().is_empty(), "nothing may be sent: {:?}", fake.requests());
}

/// Run with a deadline, so that a command that blocks (an upload opening a
/// named pipe) fails the test instead of hanging it.
fn run_timed(fake: &Fake, args: &[&str]) -> Output {
    let mut child = bin()
        .args(args)
        .args(["--admin", &fake.url])
        .env("LINKGATE_ADMIN_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run linkgate");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            let o = child.wait_with_output().unwrap();
            panic!("linkgate {args:?} hung (stderr: {})", err(&o));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn upload_takes_regular_files_only() {
    let dir = std::env::temp_dir().join(format!("linkgate-cli-online-special-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("pipe");
    let _ = std::fs::remove_file(&fifo);
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo");
    let link = dir.join("link-to-pipe");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&fifo, &link).unwrap();

    let fake = Fake::canned(201, json!({ "path": "/x", "size": 0, "etag": "e", "version": "v" }));
    let mut cases: Vec<(String, &str)> = vec![
        (fifo.to_str().unwrap().to_owned(), "is a named pipe"),
        (link.to_str().unwrap().to_owned(), "is a named pipe"),
        (dir.to_str().unwrap().to_owned(), "is a directory"),
    ];
    for (special, what) in [
        ("/dev/null", "is a character device"),
        ("/dev/zero", "is a character device"),
        ("/proc/self/status", "is a pseudo-file"),
    ] {
        if std::path::Path::new(special).exists() {
            cases.push((special.to_owned(), what));
        }
    }
    for (file, what) in &cases {
        let o = run_timed(&fake, &["upload", file, "--path", "/x.bin"]);
        status(&o, 2);
        assert!(err(&o).contains(what) && err(&o).contains("upload takes a regular file"), "{file}: {}", err(&o));
        assert_eq!(out(&o), "");
    }
    assert!(fake.requests().is_empty(), "nothing may be sent: {:?}", fake.requests());

    // An empty regular file is still an upload, of 0 bytes.
    let empty = dir.join("empty.txt");
    std::fs::write(&empty, b"").unwrap();
    let o = run_timed(&fake, &["upload", empty.to_str().unwrap(), "--path", "/x.bin"]);
    status(&o, 0);
    let r = fake.only();
    assert_eq!(r.header("content-length"), Some("0"));
    assert!(r.body.is_empty());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_upload_whose_file_ends_before_its_size_is_aborted() {
    // sysfs attributes report 4096 bytes and hold a few: a short body would
    // leave the server waiting for the rest. Skipped where /sys has none.
    let Some(file) = ["/sys/kernel/uevent_seqnum", "/sys/kernel/profiling", "/sys/power/state"].into_iter().find(|f| {
        let len = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
        let read = std::fs::read(f).map(|b| b.len() as u64).unwrap_or(u64::MAX);
        len > 0 && read < len
    }) else {
        eprintln!("no sysfs file whose size exceeds its content; skipped");
        return;
    };
    let fake = Fake::canned(201, json!({ "path": "/x", "size": 0, "etag": "e", "version": "v" }));
    let o = run_timed(&fake, &["upload", file, "--path", "/x.bin"]);
    status(&o, 1);
    assert!(err(&o).contains("ended after") && err(&o).contains("aborted"), "{}", err(&o));
    assert_eq!(out(&o), "");
    std::thread::sleep(Duration::from_millis(100));
    assert!(fake.requests().is_empty(), "no complete request: {:?}", fake.requests());
}

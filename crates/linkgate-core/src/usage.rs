//! Bounded-use links: the counter's state machine, download sessions, and
//! the scanner-safe landing page. The Durable Object (`edge::usage`) only
//! stores [`UsageState`] and calls [`consume`]; everything else is here and
//! tested natively.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::code::Code;
use super::json::{self, Object, Raw, Value};

/// Default `LINKGATE_DOWNLOAD_GRACE_SECS`: how long a started download may
/// continue (Range, retries) from the same client without another use.
pub const DEFAULT_DOWNLOAD_GRACE_SECS: u64 = 120;
/// Most consumptions kept in the history (the count itself is exact).
pub const MAX_HISTORY: usize = 100;

/// One consumed use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumption {
    pub time: u64,
    /// Opaque client fingerprint (hash of IP and user agent).
    pub client: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// The object (canonical path) and version (ETag) the use started: only
    /// that object at that version may be continued for free.
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub etag: String,
}

/// A download start, recorded for resume-after-expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Start {
    pub time: u64,
    pub client: String,
    pub path: String,
    /// The object version (ETag) the download started on.
    pub etag: String,
}

/// Most download starts kept per link.
pub const MAX_STARTS: usize = 32;

/// What the counter stores for one jti.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageState {
    pub used: u32,
    pub history: Vec<Consumption>,
    #[serde(default)]
    pub starts: Vec<Start>,
}

// The worker talks to its counter object in JSON (`edge::usage`); these
// are the bodies, written and read by hand (see `json`). Texts that may be
// absent default to empty, as stored states always had them.

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)?.as_str().map(str::to_owned)
}

fn text_or_empty(v: &Value, key: &str) -> Option<String> {
    match v.get(key) {
        None => Some(String::new()),
        Some(t) => t.as_str().map(str::to_owned),
    }
}

fn opt_text(v: &Value, key: &str) -> Option<Option<String>> {
    match v.get(key) {
        None | Some(Value::Null) => Some(None),
        Some(t) => t.as_str().map(|t| Some(t.to_owned())),
    }
}

fn num(v: &Value, key: &str) -> Option<u64> {
    v.get(key)?.as_u64()
}

fn num32(v: &Value, key: &str) -> Option<u32> {
    u32::try_from(num(v, key)?).ok()
}

fn list<T>(v: &Value, key: &str, item: fn(&Value) -> Option<T>) -> Option<Vec<T>> {
    match v.get(key) {
        None => Some(Vec::new()),
        Some(a) => a.as_arr()?.iter().map(item).collect(),
    }
}

impl Consumption {
    fn to_json(&self) -> Raw {
        Object::new()
            .num("time", self.time)
            .str("client", &self.client)
            .opt_str("client_ip", self.client_ip.as_deref())
            .opt_str("user_agent", self.user_agent.as_deref())
            .str("path", &self.path)
            .str("etag", &self.etag)
            .finish()
    }

    fn from_value(v: &Value) -> Option<Consumption> {
        Some(Consumption {
            time: num(v, "time")?,
            client: text(v, "client")?,
            client_ip: opt_text(v, "client_ip")?,
            user_agent: opt_text(v, "user_agent")?,
            path: text_or_empty(v, "path")?,
            etag: text_or_empty(v, "etag")?,
        })
    }
}

impl Start {
    pub fn to_json(&self) -> Raw {
        Object::new()
            .num("time", self.time)
            .str("client", &self.client)
            .str("path", &self.path)
            .str("etag", &self.etag)
            .finish()
    }

    pub fn from_value(v: &Value) -> Option<Start> {
        Some(Start {
            time: num(v, "time")?,
            client: text(v, "client")?,
            path: text(v, "path")?,
            etag: text(v, "etag")?,
        })
    }
}

impl UsageState {
    pub fn to_json(&self) -> Raw {
        Object::new()
            .num("used", u64::from(self.used))
            .raw("history", &self.history_json())
            .raw("starts", &json::array(self.starts.iter().map(Start::to_json)))
            .finish()
    }

    /// The consumptions, oldest first (the admin API's inspect shows them).
    pub fn history_json(&self) -> Raw {
        json::array(self.history.iter().map(Consumption::to_json))
    }

    pub fn from_json(text: &str) -> Option<UsageState> {
        let v = json::parse(text).ok()?;
        Some(UsageState {
            used: num32(&v, "used")?,
            history: v.get("history")?.as_arr()?.iter().map(Consumption::from_value).collect::<Option<_>>()?,
            starts: list(&v, "starts", Start::from_value)?,
        })
    }
}

impl ConsumeRequest {
    pub fn to_json(&self) -> Raw {
        Object::new()
            .num("max", u64::from(self.max))
            .str("client", &self.client)
            .opt_str("client_ip", self.client_ip.as_deref())
            .opt_str("user_agent", self.user_agent.as_deref())
            .num("now", self.now)
            .num("grace_secs", self.grace_secs)
            .boolean("peek", self.peek)
            .str("path", &self.path)
            .str("etag", &self.etag)
            .finish()
    }

    pub fn from_value(v: &Value) -> Option<ConsumeRequest> {
        Some(ConsumeRequest {
            max: num32(v, "max")?,
            client: text(v, "client")?,
            client_ip: opt_text(v, "client_ip")?,
            user_agent: opt_text(v, "user_agent")?,
            now: num(v, "now")?,
            grace_secs: num(v, "grace_secs")?,
            peek: match v.get("peek") {
                None => false,
                Some(b) => b.as_bool()?,
            },
            path: text_or_empty(v, "path")?,
            etag: text_or_empty(v, "etag")?,
        })
    }
}

impl ConsumeOutcome {
    /// `{"outcome": "consumed", "remaining": 2}`, `{"outcome": "used_up"}`.
    pub fn to_json(&self) -> Raw {
        let (name, remaining) = match *self {
            ConsumeOutcome::Consumed { remaining } => ("consumed", Some(remaining)),
            ConsumeOutcome::Continued { remaining } => ("continued", Some(remaining)),
            ConsumeOutcome::UsedUp => ("used_up", None),
            ConsumeOutcome::NoSession { remaining } => ("no_session", Some(remaining)),
        };
        let o = Object::new().str("outcome", name);
        match remaining {
            Some(r) => o.num("remaining", u64::from(r)),
            None => o,
        }
        .finish()
    }

    pub fn from_json(text: &str) -> Option<ConsumeOutcome> {
        let v = json::parse(text).ok()?;
        let remaining = || num32(&v, "remaining");
        Some(match v.get("outcome")?.as_str()? {
            "consumed" => ConsumeOutcome::Consumed { remaining: remaining()? },
            "continued" => ConsumeOutcome::Continued { remaining: remaining()? },
            "used_up" => ConsumeOutcome::UsedUp,
            "no_session" => ConsumeOutcome::NoSession { remaining: remaining()? },
            _ => return None,
        })
    }
}

/// The body of the counter's `/consume` call.
pub fn consume_call(request: &ConsumeRequest, forget_at: u64) -> Raw {
    Object::new().raw("request", &request.to_json()).num("forget_at", forget_at).finish()
}

/// Read a `/consume` body: the request and when the counter may forget.
pub fn read_consume_call(body: &str) -> Option<(ConsumeRequest, u64)> {
    let v = json::parse(body).ok()?;
    Some((ConsumeRequest::from_value(v.get("request")?)?, num(&v, "forget_at")?))
}

/// The body of the counter's `/start` call.
pub fn start_call(start: &Start, forget_at: u64) -> Raw {
    Object::new().raw("start", &start.to_json()).num("forget_at", forget_at).finish()
}

/// Read a `/start` body.
pub fn read_start_call(body: &str) -> Option<(Start, u64)> {
    let v = json::parse(body).ok()?;
    Some((Start::from_value(v.get("start")?)?, num(&v, "forget_at")?))
}

/// The body of the counter's `/refund` call: the use to give back.
pub fn refund_call(client: &str, time: u64, path: &str) -> Raw {
    Object::new().str("client", client).num("time", time).str("path", path).finish()
}

/// Read a `/refund` body: client, time, path.
pub fn read_refund_call(body: &str) -> Option<(String, u64, String)> {
    let v = json::parse(body).ok()?;
    Some((text(&v, "client")?, num(&v, "time")?, text(&v, "path")?))
}

/// Record that `client` started downloading `path` at version `etag`.
pub fn record_start(state: &mut UsageState, start: Start) {
    state.starts.retain(|s| !(s.client == start.client && s.path == start.path));
    state.starts.push(start);
    if state.starts.len() > MAX_STARTS {
        let extra = state.starts.len() - MAX_STARTS;
        state.starts.drain(..extra);
    }
}

/// The version a client's download of `path` started on, if it started
/// before `before` (the link's exp). A consumed use of a bounded-use link is
/// a start too.
pub fn find_start<'a>(state: &'a UsageState, client: &str, path: &str, before: u64) -> Option<&'a str> {
    let starts = state.starts.iter().map(|s| (s.time, s.client.as_str(), s.path.as_str(), s.etag.as_str()));
    let uses = state.history.iter().map(|c| (c.time, c.client.as_str(), c.path.as_str(), c.etag.as_str()));
    starts
        .chain(uses)
        .filter(|(time, c, p, _)| *c == client && *p == path && *time < before)
        .max_by_key(|(time, ..)| *time)
        .map(|(.., etag)| etag)
}

/// A request to start (or continue) a download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumeRequest {
    pub max: u32,
    pub client: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub now: u64,
    pub grace_secs: u64,
    /// Only look: continue an open session but never consume a use.
    #[serde(default)]
    pub peek: bool,
    /// The object and version this request is for.
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub etag: String,
}

/// The counter's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ConsumeOutcome {
    /// A use was consumed; `remaining` uses are left.
    Consumed { remaining: u32 },
    /// The same client started a download within the grace window: no new use.
    Continued { remaining: u32 },
    /// Every use is gone (or, for a peek, no session is open).
    UsedUp,
    /// Peek only: no open session for this client, uses remain.
    NoSession { remaining: u32 },
}

/// Apply one request to the state. Exact under concurrency as long as calls
/// are serialized, which a Durable Object guarantees.
///
/// A consuming request (the Download button's POST) always takes a use: a
/// second click is a second download. Continuing a started download (a
/// Range GET, a resumed transfer) is a `peek`, free for the same client
/// within the grace window.
pub fn consume(state: &mut UsageState, req: &ConsumeRequest) -> ConsumeOutcome {
    let remaining = req.max.saturating_sub(state.used);
    if req.peek {
        // Free only for the same client, object and version the use started
        // (a prefix link's other objects each cost a use).
        let open = state.history.iter().rev().any(|c| {
            c.client == req.client
                && c.path == req.path
                && c.etag == req.etag
                && c.time <= req.now
                && req.now.saturating_sub(c.time) < req.grace_secs
        });
        return if open {
            ConsumeOutcome::Continued { remaining }
        } else if remaining == 0 {
            ConsumeOutcome::UsedUp
        } else {
            ConsumeOutcome::NoSession { remaining }
        };
    }
    if remaining == 0 {
        return ConsumeOutcome::UsedUp;
    }
    state.used = state.used.saturating_add(1);
    state.history.push(Consumption {
        time: req.now,
        client: req.client.clone(),
        client_ip: req.client_ip.clone(),
        user_agent: req.user_agent.clone(),
        path: req.path.clone(),
        etag: req.etag.clone(),
    });
    if state.history.len() > MAX_HISTORY {
        let extra = state.history.len() - MAX_HISTORY;
        state.history.drain(..extra);
    }
    ConsumeOutcome::Consumed { remaining: req.max.saturating_sub(state.used) }
}

/// Give back the use `client` consumed at `time` for `path`, because its
/// download failed before a byte was sent. Returns whether one was found.
/// Serialized like [`consume`], so a use is given back at most once.
pub fn refund(state: &mut UsageState, client: &str, time: u64, path: &str) -> bool {
    let found = state.history.iter().rposition(|c| c.client == client && c.time == time && c.path == path);
    match found {
        Some(i) => {
            state.history.remove(i);
            state.used = state.used.saturating_sub(1);
            true
        }
        None => false,
    }
}

/// An opaque fingerprint of a client: who may continue a download.
pub fn client_fingerprint(ip: Option<&str>, user_agent: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(ip.unwrap_or("").as_bytes());
    h.update([0u8]);
    h.update(user_agent.unwrap_or("").as_bytes());
    let d = h.finalize();
    d.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// Does the client ask for HTML (a browser following the link)?
pub fn wants_html(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.split(',').any(|t| t.trim().starts_with("text/html")))
}

/// Escape text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Content-Security-Policy of the pages: nothing external, no script but the
/// one hashed inline snippet that shows the expiry in local time.
pub fn page_csp() -> String {
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src '{LOCAL_TIME_SCRIPT_HASH}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
}

/// Rewrites the UTC expiry into the reader's local time; the page works without it.
pub const LOCAL_TIME_SCRIPT: &str = "for(const t of document.querySelectorAll('time[datetime]')){const d=new Date(t.dateTime);if(!isNaN(d))t.textContent=d.toLocaleString();}for(const a of document.querySelectorAll('a[data-login]'))a.href=a.dataset.login.split('LG-RETURN').join(encodeURIComponent(location.pathname+location.search));";
/// `sha256-` + base64 of the script, for the CSP (checked by a test).
pub const LOCAL_TIME_SCRIPT_HASH: &str = "sha256-XJiTZ/W5CGsYt/MbNvFWVwCP3d5agO6YtGtZhgxdlIw=";

/// RFC 3339 UTC text of Unix seconds (`2026-11-28T12:00:00Z`).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (H. Hinnant), days since 1970-01-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} bytes")
    } else {
        format!("{} {}", one_decimal(v), UNITS.get(u).copied().unwrap_or("bytes"))
    }
}

/// `format!("{v:.1}")` for a finite `v` ≥ 0, written with integers: the float
/// formatter (with its bignum fallback) is ~9.5 KB of the worker's wasm and
/// this was its only use. The same digits: `v`'s exact binary value rounded
/// to tenths, ties to even (tested against `{:.1}`).
fn one_decimal(v: f64) -> String {
    let bits = v.to_bits();
    let biased = i32::try_from((bits >> 52) & 0x7ff).unwrap_or(0);
    let frac = bits & ((1u64 << 52) - 1);
    // v = mant · 2^exp exactly.
    let (mant, exp) = if biased == 0 { (frac, -1074) } else { (frac | 1 << 52, biased - 1075) };
    let m10 = u128::from(mant) * 10;
    let tenths = if exp >= 0 {
        m10.checked_shl(exp.unsigned_abs()).unwrap_or(u128::MAX)
    } else if exp < -127 {
        0
    } else {
        let shift = exp.unsigned_abs();
        let (q, r, half) = (m10 >> shift, m10 & ((1u128 << shift) - 1), 1u128 << (shift - 1));
        if r > half || (r == half && q & 1 == 1) {
            q + 1
        } else {
            q
        }
    };
    // In u64 (the only integer Display linked besides the smaller ones).
    let tenths = u64::try_from(tenths).unwrap_or(u64::MAX);
    format!("{}.{}", tenths / 10, tenths % 10)
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fff;max-width:32rem;margin:3rem auto;padding:0 1rem}\
h1{font-size:1.4rem}dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem}dt{font-weight:600}\
button{font:inherit;padding:.6rem 1.4rem;border:0;border-radius:.3rem;background:#0b57d0;color:#fff;cursor:pointer}\
button:focus{outline:3px solid #1a1a1a;outline-offset:2px}p.note{color:#444;font-size:.9rem}\
p.warn{border-left:4px solid #b3261e;background:#fdecea;padding:.6rem .8rem;color:#1a1a1a}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"robots\" content=\"noindex,nofollow\"><title>{}</title><style>{STYLE}</style></head><body><main>{body}</main>\
<script>{LOCAL_TIME_SCRIPT}</script></body></html>",
        html_escape(title)
    )
}

/// What the landing page shows.
pub struct Landing<'a> {
    pub file_name: &'a str,
    pub size: u64,
    pub expires_at: u64,
    pub expires_utc: &'a str,
    pub uses_left: u32,
    /// Form target: the link's path (no query: the token travels in the body).
    pub action: &'a str,
    pub token: &'a str,
    /// An untrusted-context warning, shown before the Download button.
    pub warning: Option<&'a str>,
}

/// The neutral landing page of a bounded-use link: no file bytes, and the
/// token only in the form body.
pub fn landing_page(l: &Landing<'_>) -> String {
    let body = format!(
        "<h1>Download {name}</h1><dl><dt>File</dt><dd>{name}</dd><dt>Size</dt><dd>{size}</dd>\
<dt>Expires</dt><dd><time datetime=\"{dt}\">{utc}</time></dd><dt>Downloads left</dt><dd>{left}</dd></dl>{warning}\
<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"lg\" value=\"{token}\">\
<button type=\"submit\" autofocus>Download</button></form>\
<p class=\"note\">This link can be used a limited number of times. Pressing Download uses one.</p>",
        name = html_escape(l.file_name),
        size = human_size(l.size),
        dt = html_escape(l.expires_utc),
        utc = html_escape(l.expires_utc),
        left = l.uses_left,
        action = html_escape(l.action),
        token = html_escape(l.token),
        warning = l
            .warning
            .map(|w| format!("<p class=\"warn\" role=\"alert\" id=\"untrusted-context\">{}</p>", html_escape(w)))
            .unwrap_or_default(),
    );
    page(&format!("Download {}", l.file_name), &body)
}

/// What a refusal page needs beyond the code: when the link ends or
/// begins (RFC 3339 UTC, shown in the reader's local time by the page's one
/// script), the refresh link when one is offered, and the request id.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefusalPage<'a> {
    pub expired_at: Option<&'a str>,
    pub opens_at: Option<&'a str>,
    pub refresh: Option<&'a str>,
    /// The sign-in address (identity refusals, `docs/identity.md`).
    pub sign_in: Option<&'a str>,
    pub request_id: &'a str,
}

/// A heading and what happened, in plain words, for a person who followed
/// a link in a browser (`docs/edge.md`, "Refusal pages").
fn refusal_words(code: Code) -> (&'static str, &'static str) {
    match code {
        Code::TokenMissing => (
            "This page needs a download link",
            "The address you opened is missing the part that grants access. Open the full link you were sent.",
        ),
        Code::TokenMalformed | Code::SignatureInvalid | Code::PathInvalid => (
            "This link is not valid",
            "It may have been cut short or changed when it was copied. Open it again from the original message.",
        ),
        Code::KeyUnknown => ("This link is no longer valid", "It was signed with a key this service no longer accepts."),
        Code::ScopeMismatch => ("This link does not open this file", "It was issued for a different file or folder."),
        Code::HostMismatch => ("This link does not open on this site", "It was issued for another address."),
        Code::IpMismatch => (
            "This link cannot be opened from this network",
            "It only opens from the network it was issued for, such as an office network or VPN.",
        ),
        Code::MethodNotAllowed => ("This link cannot be used this way", "Open it as a normal link."),
        Code::NotYetValid => ("This link is not active yet", "It cannot be used before the time it opens."),
        Code::PolicyDenied => (
            "This file cannot be shared this way",
            "The link asks for more than this file's sharing rules allow, or it is opened from a place they do not allow.",
        ),
        Code::Expired => ("This link has expired", "Links to this file work for a limited time only."),
        Code::Revoked => ("This link has been withdrawn", "The sender or an administrator turned it off."),
        Code::UsedUp => (
            "This link has been used up",
            "It could be used a limited number of times, and every use is gone.",
        ),
        Code::NotFound => ("This file is not available", "It may have been moved or deleted."),
        Code::RangeNotSatisfiable => ("This part of the file cannot be sent", "Download the file again from the start."),
        Code::StoreUnavailable => (
            "Downloads are unavailable right now",
            "The link could not be checked. Try again in a few minutes.",
        ),
        Code::IdentityRequired => (
            "Sign in to open this file",
            "This link opens only for the person it was sent to. Sign in with your organisation's account, and the file opens.",
        ),
        Code::IdentityMismatch => (
            "This link was sent to someone else",
            "It opens only for its recipient, and you are signed in as another person, or your account lacks the access this file needs. If the link was sent to you, sign in with the account it was sent to.",
        ),
        Code::ReauthRequired => (
            "Sign in again to open this file",
            "This file needs a recent sign-in, and yours is older than its rules allow.",
        ),
        Code::IdentityUnavailable => (
            "Your sign-in cannot be checked right now",
            "The service that confirms who you are could not be reached. Try again in a few minutes.",
        ),
    }
}

/// The page a browser gets instead of problem JSON: same status, no token,
/// nothing from the request but the request id.
pub fn refusal_page(code: Code, p: &RefusalPage<'_>) -> String {
    let (heading, what) = refusal_words(code);
    let when = |label: &str, t: &str| format!("<p>{label} <time datetime=\"{t}\">{t}</time>.</p>", t = html_escape(t));
    let mut body = format!("<h1>{}</h1><p>{}</p>", html_escape(heading), html_escape(what));
    if let (Code::Expired, Some(t)) = (code, p.expired_at) {
        body.push_str(&when("It expired on", t));
    }
    if let (Code::NotYetValid, Some(t)) = (code, p.opens_at) {
        body.push_str(&when("It opens on", t));
    }
    let signs_in = matches!(code, Code::IdentityRequired | Code::ReauthRequired | Code::IdentityMismatch);
    if let (true, Some(u)) = (signs_in, p.sign_in) {
        // The way back (this page's own address, the link) is filled in by
        // the page's script: the token is never written into the page.
        let label = if code == Code::IdentityMismatch { "Sign in as the recipient" } else { "Sign in" };
        body.push_str(&format!(
            "<p><a href=\"{}\" data-login=\"{}\" rel=\"noreferrer\">{label}</a></p>",
            html_escape(&super::identity::without_return(u)),
            html_escape(u)
        ));
    }
    if let Some(r) = p.refresh {
        body.push_str(&format!("<p><a href=\"{}\">Request a new link</a></p>", html_escape(r)));
    } else if !matches!(
        code,
        Code::StoreUnavailable
            | Code::RangeNotSatisfiable
            | Code::NotYetValid
            | Code::IdentityRequired
            | Code::ReauthRequired
            | Code::IdentityUnavailable
    ) {
        body.push_str("<p>Ask the person who sent it to you for a new link.</p>");
    }
    body.push_str(&format!(
        "<p class=\"note\">Reference for support: <code>{}</code> ({})</p>",
        html_escape(p.request_id),
        code.as_str()
    ));
    page(heading, &body)
}

/// The value of a form field in an `application/x-www-form-urlencoded` body.
pub fn form_field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    body.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_state() -> UsageState {
        let mut s = UsageState::default();
        for (i, ip) in [None, Some("192.0.2.1".to_owned())].into_iter().enumerate() {
            s.used += 1;
            s.history.push(Consumption {
                time: 10 + i as u64,
                client: format!("c{i}"),
                client_ip: ip,
                user_agent: Some("UA \"x\"\u{1}é".into()),
                path: "/a b/c.pdf".into(),
                etag: "\"e1\"".into(),
            });
        }
        s.starts.push(Start { time: 9, client: "c0".into(), path: "/p".into(), etag: "e".into() });
        s
    }

    /// The hand-written bodies are byte for byte what serde_json wrote
    /// (the counter objects of a running deployment read both ways).
    #[test]
    fn one_decimal_matches_the_float_formatter() {
        let mut values: Vec<f64> =
            vec![0.0, 0.05, 0.25, 0.35, 0.45, 1.05, 1.15, 1.25, 2.5, 999.95, 999.99, 1e15, 4503599627370496.5];
        // Every size human_size can pass, near each unit, and scattered.
        for n in (0..3_000_000u64).chain((0..200_000u64).map(|k| k * 5_000 + 999_000)) {
            values.push(n as f64 / 1000.0);
            values.push(n as f64 / 1000.0 / 1000.0);
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut v = x as f64;
            while v >= 1000.0 {
                v /= 1000.0;
            }
            values.push(v);
        }
        for v in values {
            assert_eq!(one_decimal(v), format!("{v:.1}"), "{v:e}");
        }
    }

    #[test]
    fn counter_bodies_match_serde_json_and_round_trip() {
        let state = sample_state();
        assert_eq!(state.to_json().as_str(), serde_json::to_string(&state).unwrap());
        assert_eq!(UsageState::from_json(state.to_json().as_str()), Some(state.clone()));
        assert_eq!(UsageState::from_json(r#"{"used":0,"history":[]}"#), Some(UsageState::default()));
        assert_eq!(UsageState::from_json(r#"{"used":-1,"history":[]}"#), None);
        assert_eq!(UsageState::from_json(r#"{"used":1}"#), None);
        let req = ConsumeRequest {
            max: 3,
            client: "c".into(),
            client_ip: None,
            user_agent: Some("ua".into()),
            now: 7,
            grace_secs: 120,
            peek: true,
            path: "/x".into(),
            etag: "e".into(),
        };
        assert_eq!(req.to_json().as_str(), serde_json::to_string(&req).unwrap());
        assert_eq!(read_consume_call(consume_call(&req, 99).as_str()), Some((req.clone(), 99)));
        let minimal = r#"{"request":{"max":1,"client":"c","now":1,"grace_secs":0},"forget_at":5}"#;
        let (r, at) = read_consume_call(minimal).unwrap();
        assert_eq!((r.peek, r.path.as_str(), r.client_ip, at), (false, "", None, 5));
        assert_eq!(read_consume_call(r#"{"request":{"max":1},"forget_at":5}"#), None);
        let start = &state.starts[0];
        assert_eq!(read_start_call(start_call(start, 4).as_str()), Some((start.clone(), 4)));
        assert_eq!(read_refund_call(refund_call("c", 3, "/p").as_str()), Some(("c".into(), 3, "/p".into())));
        assert_eq!(read_refund_call(r#"{"client":"c","time":"3","path":"/p"}"#), None);
        for o in [
            ConsumeOutcome::Consumed { remaining: 2 },
            ConsumeOutcome::Continued { remaining: 0 },
            ConsumeOutcome::UsedUp,
            ConsumeOutcome::NoSession { remaining: u32::MAX },
        ] {
            assert_eq!(o.to_json().as_str(), serde_json::to_string(&o).unwrap());
            assert_eq!(ConsumeOutcome::from_json(o.to_json().as_str()), Some(o));
        }
        for bad in [r#"{"outcome":"consumed"}"#, r#"{"outcome":"gone"}"#, r#"{"remaining":1}"#, "null"] {
            assert_eq!(ConsumeOutcome::from_json(bad), None, "{bad}");
        }
    }

    fn req(client: &str, now: u64) -> ConsumeRequest {
        ConsumeRequest {
            max: 2,
            client: client.into(),
            client_ip: None,
            user_agent: None,
            now,
            grace_secs: 120,
            peek: false,
            path: "/f".into(),
            etag: "\"v1\"".into(),
        }
    }

    fn peek(client: &str, now: u64) -> ConsumeRequest {
        ConsumeRequest { peek: true, ..req(client, now) }
    }

    #[test]
    fn counts_exactly_with_grace_per_client() {
        let mut s = UsageState::default();
        assert_eq!(consume(&mut s, &req("a", 100)), ConsumeOutcome::Consumed { remaining: 1 });
        assert_eq!(consume(&mut s, &peek("a", 150)), ConsumeOutcome::Continued { remaining: 1 }, "Range in grace");
        assert_eq!(consume(&mut s, &peek("b", 150)), ConsumeOutcome::NoSession { remaining: 1 }, "no ride along");
        assert_eq!(
            consume(&mut s, &req("a", 150)),
            ConsumeOutcome::Consumed { remaining: 0 },
            "a second click is a second use"
        );
        assert_eq!(consume(&mut s, &req("c", 150)), ConsumeOutcome::UsedUp);
        assert_eq!(consume(&mut s, &peek("c", 150)), ConsumeOutcome::UsedUp);
        assert_eq!(consume(&mut s, &peek("a", 269)), ConsumeOutcome::Continued { remaining: 0 });
        assert_eq!(consume(&mut s, &peek("a", 270)), ConsumeOutcome::UsedUp, "grace is over");
        assert_eq!(s.used, 2);
        assert_eq!(s.history.len(), 2);
    }

    /// F3: a use of a prefix link continues only the object (and version)
    /// it started.
    #[test]
    fn continuation_is_free_only_for_the_same_object_and_version() {
        let mut s = UsageState::default();
        assert_eq!(consume(&mut s, &req("a", 100)), ConsumeOutcome::Consumed { remaining: 1 });
        let other_path = ConsumeRequest { path: "/g".into(), ..peek("a", 110) };
        assert_eq!(consume(&mut s, &other_path), ConsumeOutcome::NoSession { remaining: 1 });
        let other_version = ConsumeRequest { etag: "\"v2\"".into(), ..peek("a", 110) };
        assert_eq!(consume(&mut s, &other_version), ConsumeOutcome::NoSession { remaining: 1 });
        assert_eq!(consume(&mut s, &peek("a", 110)), ConsumeOutcome::Continued { remaining: 1 });
        assert_eq!(s.used, 1, "peeks never consume");
    }

    /// F7: a use whose download failed is given back, once.
    #[test]
    fn refund_gives_back_exactly_one_use() {
        let mut s = UsageState::default();
        assert_eq!(consume(&mut s, &req("a", 100)), ConsumeOutcome::Consumed { remaining: 1 });
        assert_eq!(consume(&mut s, &req("b", 101)), ConsumeOutcome::Consumed { remaining: 0 });
        assert!(!refund(&mut s, "a", 101, "/f"), "wrong time");
        assert!(!refund(&mut s, "a", 100, "/g"), "wrong path");
        assert!(refund(&mut s, "a", 100, "/f"));
        assert!(!refund(&mut s, "a", 100, "/f"), "only once");
        assert_eq!(s.used, 1);
        assert_eq!(consume(&mut s, &req("c", 102)), ConsumeOutcome::Consumed { remaining: 0 });
    }

    #[test]
    fn a_consumption_counts_as_a_start_for_resume() {
        let mut s = UsageState::default();
        consume(&mut s, &req("a", 100));
        assert_eq!(find_start(&s, "a", "/f", 101), Some("\"v1\""));
        assert_eq!(find_start(&s, "a", "/f", 100), None, "consumed at exp is too late");
        assert_eq!(find_start(&s, "b", "/f", 101), None);
    }

    #[test]
    fn starts_for_resume() {
        let mut s = UsageState::default();
        let st = |client: &str, time, etag: &str| Start {
            time,
            client: client.into(),
            path: "/f".into(),
            etag: etag.into(),
        };
        record_start(&mut s, st("a", 10, "\"v1\""));
        record_start(&mut s, st("a", 20, "\"v2\""));
        assert_eq!(s.starts.len(), 1, "one start per client and path");
        assert_eq!(find_start(&s, "a", "/f", 100), Some("\"v2\""));
        assert_eq!(find_start(&s, "a", "/f", 20), None, "started at exp is too late");
        assert_eq!(find_start(&s, "b", "/f", 100), None);
        assert_eq!(find_start(&s, "a", "/g", 100), None);
        for i in 0..100 {
            record_start(&mut s, st(&format!("c{i}"), 1, "e"));
        }
        assert_eq!(s.starts.len(), MAX_STARTS);
    }

    #[test]
    fn peeks_never_consume() {
        let mut s = UsageState::default();
        let mut p = req("a", 100);
        p.peek = true;
        assert_eq!(consume(&mut s, &p), ConsumeOutcome::NoSession { remaining: 2 });
        assert_eq!(s.used, 0);
        consume(&mut s, &req("a", 100));
        assert_eq!(consume(&mut s, &p), ConsumeOutcome::Continued { remaining: 1 });
        assert_eq!(s.used, 1);
    }

    #[test]
    fn pages_escape_everything_and_carry_the_token_only_in_the_form() {
        let l = Landing {
            file_name: "<b>&\"q3\".pdf",
            size: 1_500_000,
            expires_at: 0,
            expires_utc: "2026-11-28T12:00:00Z",
            uses_left: 1,
            action: "/a/b.pdf",
            token: "TOKEN123",
            warning: None,
        };
        let html = landing_page(&l);
        assert!(!html.contains("untrusted-context"));
        // A warning comes before the button, escaped.
        let warned = landing_page(&Landing { warning: Some("from <there>"), ..l });
        let (at, button) = (warned.find("id=\"untrusted-context\"").unwrap(), warned.find("<button").unwrap());
        assert!(at < button, "the warning precedes the Download button");
        assert!(warned.contains("from &lt;there&gt;"));
        assert!(html.contains("&lt;b&gt;&amp;&quot;q3&quot;.pdf"));
        assert!(!html.contains("<b>&"));
        assert_eq!(html.matches("TOKEN123").count(), 1);
        assert!(html.contains("name=\"lg\" value=\"TOKEN123\""));
        assert!(html.contains("1.5 MB"));
        assert!(html.contains("method=\"post\""));
        let e = refusal_page(
            Code::UsedUp,
            &RefusalPage { refresh: Some("https://r.example/?a=1&b=2"), request_id: "r<1>", ..Default::default() },
        );
        assert!(e.contains("href=\"https://r.example/?a=1&amp;b=2\""));
        assert!(e.contains("<code>r&lt;1&gt;</code>") && !e.contains("r<1>"));
    }

    /// Every code has its own words, a heading, the code and the request id;
    /// times only where they mean something; a new link is asked of the
    /// sender unless a refresh link is offered or asking would not help.
    #[test]
    fn every_refusal_has_a_page_in_plain_words() {
        let mut headings = std::collections::HashSet::new();
        for code in Code::ALL {
            let (heading, what) = refusal_words(code);
            assert!(!heading.is_empty() && what.ends_with('.'), "{code}");
            headings.insert(heading);
            let p = RefusalPage {
                expired_at: Some("2026-11-28T12:00:00Z"),
                opens_at: Some("2026-12-01T08:00:00Z"),
                refresh: None,
                sign_in: Some("https://login.example/?r=LG-RETURN&b=1"),
                request_id: "req-7",
            };
            let html = refusal_page(code, &p);
            let identity = matches!(code, Code::IdentityRequired | Code::ReauthRequired | Code::IdentityMismatch);
            assert_eq!(html.contains("href=\"https://login.example/?r=%2F&amp;b=1\""), identity, "{code}");
            assert_eq!(html.contains("data-login=\"https://login.example/?r=LG-RETURN&amp;b=1\""), identity, "{code}");
            assert!(html.contains(&format!("<h1>{}</h1>", html_escape(heading))), "{code}");
            assert!(html.contains("<code>req-7</code>") && html.contains(code.as_str()), "{code}");
            assert_eq!(html.contains("2026-11-28T12:00:00Z"), code == Code::Expired, "{code}");
            assert_eq!(html.contains("2026-12-01T08:00:00Z"), code == Code::NotYetValid, "{code}");
            let asks = html.contains("Ask the person who sent it");
            let helpless = matches!(
                code,
                Code::StoreUnavailable
                    | Code::RangeNotSatisfiable
                    | Code::NotYetValid
                    | Code::IdentityRequired
                    | Code::ReauthRequired
                    | Code::IdentityUnavailable
            );
            assert_eq!(asks, !helpless, "{code}");
            let offered = refusal_page(code, &RefusalPage { refresh: Some("https://app.example/renew"), ..p });
            assert!(offered.contains("Request a new link") && !offered.contains("Ask the person"), "{code}");
        }
        // Codes that mean the same to a person share words; the rest differ.
        assert!(headings.len() >= Code::ALL.len() - 2, "{headings:?}");
    }

    #[test]
    fn csp_hash_matches_the_inline_script() {
        use crate::b64;
        let digest = Sha256::digest(LOCAL_TIME_SCRIPT.as_bytes());
        // CSP hashes use standard base64 with padding.
        let std = b64::encode(&digest).replace('-', "+").replace('_', "/") + "=";
        assert_eq!(LOCAL_TIME_SCRIPT_HASH, format!("sha256-{std}"));
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_800_000_000), "2027-01-15T08:00:00Z");
    }

    #[test]
    fn helpers() {
        assert!(wants_html(Some("text/html,application/xhtml+xml;q=0.9")));
        assert!(!wants_html(Some("*/*")));
        assert!(!wants_html(None));
        assert_eq!(form_field("a=1&lg=XYZ", "lg"), Some("XYZ"));
        assert_eq!(form_field("lgx=1", "lg"), None);
        assert_ne!(client_fingerprint(Some("1.2.3.4"), Some("ua")), client_fingerprint(Some("1.2.3.5"), Some("ua")));
        assert_eq!(client_fingerprint(None, None).len(), 24);
    }
}

//! Audit events: one structured JSON object per decision.
//!
//! The type has no field that could hold a token or a key, so no code path
//! can log one by mistake. Every text field is capped ([`AuditEvent::cap`]),
//! so an event's JSON never exceeds [`MAX_EVENT_BYTES`] whatever a client
//! sends; batches for the queue are cut by bytes as well as count
//! ([`batches`]); and refusals of requests that never authenticated are
//! counted per isolate and interval instead of logged one by one
//! ([`Aggregator`]), so a flood can neither push a real event out of a batch
//! nor fill the store.

use std::collections::HashMap;

use super::code::Code;
use super::json::Object;
use super::token::Claims;

/// What happened to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Bytes (or headers, for HEAD) were served.
    Allowed,
    /// 304: the client's copy is current.
    NotModified,
    /// Refused with a problem response.
    Refused,
    /// An admin API call (the action is in `reason`).
    Admin,
}

impl Outcome {
    /// Wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::NotModified => "not_modified",
            Outcome::Refused => "refused",
            Outcome::Admin => "admin",
        }
    }
}

/// One decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditEvent {
    /// Unix seconds.
    pub time: u64,
    pub request_id: String,
    pub method: String,
    pub jti: Option<String>,
    pub kid: Option<String>,
    pub sub: Option<String>,
    pub tenant: Option<String>,
    /// Canonical path (decoded); absent when the path was refused.
    pub path: Option<String>,
    pub outcome: Option<Outcome>,
    pub status: u16,
    pub code: Option<&'static str>,
    /// Finer reason behind `code` (which rule of the path, time, ...).
    pub reason: Option<&'static str>,
    /// The policy rule that decided (classification rule name).
    pub rule: Option<String>,
    pub mode: Option<&'static str>,
    pub bytes: Option<u64>,
    pub cache: Option<&'static str>,
    pub client_ip: Option<String>,
    pub country: Option<String>,
    pub user_agent: Option<String>,
    /// `edge` (admin API), `offline` (CLI/JS signer) or `cat` (a Common
    /// Access Token), when known.
    pub issued_by: Option<String>,
    /// How many requests an aggregated event stands for (absent = one).
    pub count: Option<u64>,
    /// Admin calls: who, from the credential (never free text).
    pub actor: Option<String>,
    /// Admin calls: what was acted on (`jti:<hex>`, `path:/a/`, `file:/a/b.pdf`).
    pub subject: Option<String>,
    /// Admin calls: the rest as JSON text (a revocation's reason, old and new
    /// classification, ...).
    pub detail: Option<String>,
    /// Links for one person: the verified identity (the configured claim of
    /// an assertion whose signature verified, `docs/identity.md`), whether
    /// it opened the link or not. Never the assertion itself.
    pub identity: Option<String>,
    /// A landing page shown with an untrusted-context warning:
    /// `untrusted_network` or `untrusted_country` (`docs/policy.md`).
    pub context: Option<&'static str>,
}

/// Longest user agent kept.
pub const MAX_USER_AGENT: usize = 256;
/// Longest request id, client address, method or country kept.
pub const MAX_SHORT_FIELD: usize = 64;
/// Longest path, rule, subject or other text field kept (a canonical path is
/// at most 1024 bytes already).
pub const MAX_TEXT_FIELD: usize = 1024;
/// Longest `detail` kept.
pub const MAX_DETAIL: usize = 2048;
/// Upper bound of one event's JSON, after [`AuditEvent::cap`]: every capped
/// field escaped at worst six bytes per byte (`\u00XX`), plus the names.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

/// Cut `s` to at most `max` bytes, on a char boundary.
pub fn truncate(s: &mut String, max: usize) {
    let end = capped(s, max).len();
    s.truncate(end);
}

/// `s` cut to at most `max` bytes, at a character boundary.
pub fn capped(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    s.get(..end).unwrap_or_default()
}

impl AuditEvent {
    /// Copy the link's identifying claims into the event.
    pub fn with_claims(&mut self, c: &Claims) {
        self.jti = Some(c.jti.to_hex());
        self.kid = Some(c.kid.as_str().to_owned());
        self.sub = c.sub.as_ref().map(|s| s.as_str().to_owned());
        self.tenant = c.tenant.as_ref().map(|s| s.as_str().to_owned());
    }

    /// Record a refusal.
    pub fn refuse(&mut self, code: Code, reason: &'static str) {
        self.outcome = Some(Outcome::Refused);
        self.status = code.status();
        self.code = Some(code.as_str());
        self.reason = Some(reason);
    }

    /// Keep at most [`MAX_USER_AGENT`] bytes of a user agent, on a char boundary.
    pub fn set_user_agent(&mut self, ua: &str) {
        self.user_agent = Some(capped(ua, MAX_USER_AGENT).to_owned());
    }

    /// A refusal of a request that never authenticated (no token, a token
    /// or path that does not parse, an unknown key, a wrong tag): such events
    /// may be aggregated (no claim of theirs is believed).
    pub fn is_unauthenticated(&self) -> bool {
        self.outcome == Some(Outcome::Refused)
            && self.jti.is_none()
            && self.code.and_then(Code::from_wire).is_some_and(|c| {
                matches!(
                    c,
                    Code::TokenMissing
                        | Code::TokenMalformed
                        | Code::PathInvalid
                        | Code::SignatureInvalid
                        | Code::KeyUnknown
                )
            })
    }

    /// The log line and queue message, encoded once. Every text field a
    /// client can influence (headers, paths) is capped on the way, so the
    /// JSON stays under [`MAX_EVENT_BYTES`] (written from the fields as they
    /// are: no copy of the event per request).
    pub fn to_json(&self) -> String {
        fn short(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(|v| capped(v, MAX_SHORT_FIELD))
        }
        fn id(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(|v| capped(v, MAX_SHORT_FIELD * 4))
        }
        fn text(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(|v| capped(v, MAX_TEXT_FIELD))
        }
        // Every member, in declaration order, null when absent.
        Object::with_capacity(512)
            .num("time", self.time)
            .str("request_id", capped(&self.request_id, MAX_SHORT_FIELD))
            .str("method", capped(&self.method, MAX_SHORT_FIELD))
            .opt_str("jti", id(&self.jti))
            .opt_str("kid", id(&self.kid))
            .opt_str("sub", id(&self.sub))
            .opt_str("tenant", id(&self.tenant))
            .opt_str("path", text(&self.path))
            .opt_str("outcome", self.outcome.map(Outcome::as_str))
            .num("status", u64::from(self.status))
            .opt_str("code", self.code)
            .opt_str("reason", self.reason)
            .opt_str("rule", text(&self.rule))
            .opt_str("mode", self.mode)
            .opt_num("bytes", self.bytes)
            .opt_str("cache", self.cache)
            .opt_str("client_ip", short(&self.client_ip))
            .opt_str("country", short(&self.country))
            .opt_str("user_agent", self.user_agent.as_deref().map(|v| capped(v, MAX_USER_AGENT)))
            .opt_str("issued_by", id(&self.issued_by))
            .opt_num("count", self.count)
            .opt_str("actor", id(&self.actor))
            .opt_str("subject", text(&self.subject))
            .opt_str("detail", self.detail.as_deref().map(|v| capped(v, MAX_DETAIL)))
            .opt_str("identity", id(&self.identity))
            .opt_str("context", self.context)
            .finish()
            .into_string()
    }
}

/// Queue limits (Cloudflare Queues: 100 messages and 256 KB per `sendBatch`,
/// 128 KB per message), with headroom for per-message overhead.
pub const MAX_BATCH_MESSAGES: usize = 100;
pub const MAX_BATCH_BYTES: usize = 192 * 1024;

/// Split messages into consecutive batches of at most `max_count` messages
/// and `max_bytes` bytes (a single larger message goes alone; capped events
/// never are). Returns the batches' lengths, in order.
pub fn batches(sizes: &[usize], max_count: usize, max_bytes: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let (mut n, mut bytes) = (0usize, 0usize);
    for &size in sizes {
        if n > 0 && (n >= max_count || bytes.saturating_add(size) > max_bytes) {
            out.push(n);
            (n, bytes) = (0, 0);
        }
        n += 1;
        bytes = bytes.saturating_add(size);
    }
    if n > 0 {
        out.push(n);
    }
    out
}

/// How long an isolate counts unauthenticated refusals before writing them
/// as aggregated events.
pub const AGGREGATE_WINDOW_MS: u64 = 5_000;
/// Most distinct aggregates per window; past it, refusals are counted in one
/// overflow aggregate (code `*`), so memory stays bounded under any flood.
pub const MAX_AGGREGATES: usize = 256;

/// What unauthenticated refusals are grouped by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct AggregateKey {
    code: &'static str,
    reason: Option<&'static str>,
    /// The client's network: /24 for IPv4, /48 for IPv6.
    network: Option<String>,
    /// The first path segment (`/board/`), or None when the path was refused.
    prefix: Option<String>,
}

/// Counts of unauthenticated refusals, per isolate and window.
#[derive(Debug, Default)]
pub struct Aggregator {
    counts: HashMap<AggregateKey, (u64, u64)>,
    window_start_ms: Option<u64>,
}

/// The network of a client address: /24 (IPv4) or /48 (IPv6), as CIDR text.
pub fn client_network(ip: &str) -> Option<String> {
    match ip.trim().parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            Some(format!("{a}.{b}.{c}.0/24"))
        }
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => {
                let [a, b, c, _] = v4.octets();
                Some(format!("{a}.{b}.{c}.0/24"))
            }
            None => {
                let s = v6.segments();
                let (a, b, c) = (s.first()?, s.get(1)?, s.get(2)?);
                Some(format!("{a:x}:{b:x}:{c:x}::/48"))
            }
        },
    }
}

fn first_segment(path: &str) -> String {
    match path.get(1..).and_then(|rest| rest.find('/')) {
        Some(i) => path.get(..i.saturating_add(2)).unwrap_or("/").to_owned(),
        None => "/".to_owned(),
    }
}

impl Aggregator {
    pub fn new() -> Aggregator {
        Aggregator::default()
    }

    /// Count an unauthenticated refusal. Returns true when this starts a new
    /// window (the caller then arranges a [`Aggregator::drain`] after
    /// [`AGGREGATE_WINDOW_MS`]).
    pub fn add(&mut self, ev: &AuditEvent, now_ms: u64) -> bool {
        let mut key = AggregateKey {
            code: ev.code.unwrap_or("*"),
            reason: ev.reason,
            network: ev.client_ip.as_deref().and_then(client_network),
            prefix: ev.path.as_deref().map(first_segment),
        };
        if !self.counts.contains_key(&key) && self.counts.len() >= MAX_AGGREGATES {
            key = AggregateKey { code: "*", reason: None, network: None, prefix: None };
        }
        let entry = self.counts.entry(key).or_insert((0, ev.time));
        entry.0 = entry.0.saturating_add(1);
        let started = self.window_start_ms.is_none();
        if started {
            self.window_start_ms = Some(now_ms);
        }
        started
    }

    /// Take the aggregated events of the window (and start a new one).
    pub fn drain(&mut self, now_secs: u64) -> Vec<AuditEvent> {
        self.window_start_ms = None;
        let mut out: Vec<AuditEvent> = self
            .counts
            .drain()
            .map(|(k, (count, first))| AuditEvent {
                time: first,
                request_id: format!("aggregate-{now_secs}"),
                method: "*".to_owned(),
                path: k.prefix,
                outcome: Some(Outcome::Refused),
                status: Code::from_wire(k.code).map_or(0, Code::status),
                code: Some(k.code),
                reason: k.reason,
                client_ip: k.network,
                count: Some(count),
                ..Default::default()
            })
            .collect();
        crate::small_sort::sort_by_key(&mut out, |e| std::cmp::Reverse(e.count));
        out
    }

    /// Whether a window is open (a drain is due).
    pub fn is_open(&self) -> bool {
        self.window_start_ms.is_some()
    }

    pub fn len(&self) -> usize {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hostile(field_len: usize) -> AuditEvent {
        let nasty = "\"\u{1}\u{202e}é".repeat(field_len);
        let mut e = AuditEvent {
            request_id: nasty.clone(),
            method: nasty.clone(),
            jti: Some(nasty.clone()),
            kid: Some(nasty.clone()),
            sub: Some(nasty.clone()),
            tenant: Some(nasty.clone()),
            path: Some(nasty.clone()),
            rule: Some(nasty.clone()),
            client_ip: Some(nasty.clone()),
            country: Some(nasty.clone()),
            issued_by: Some(nasty.clone()),
            actor: Some(nasty.clone()),
            subject: Some(nasty.clone()),
            detail: Some(nasty.clone()),
            ..Default::default()
        };
        e.set_user_agent(&nasty);
        e
    }

    /// A1: whatever a client sends, one event stays far below the queue's
    /// per-message limit, and a batch cut by [`batches`] below its batch limit.
    #[test]
    fn capped_events_are_bounded() {
        let json = hostile(10_000).to_json();
        assert!(json.len() <= MAX_EVENT_BYTES, "{}", json.len());
        assert!(json.len() < 128 * 1024);
        assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok());
    }

    proptest! {
        /// An event's JSON is one line whatever a client sends: the edge
        /// joins a queue batch's texts with newlines (src/js.rs).
        #[test]
        fn event_json_is_one_line(text in "\\PC*|[\\x00-\\x20\\u{85}\\u{2028}]{0,20}") {
            let mut e = AuditEvent { request_id: text.clone(), path: Some(text.clone()), detail: Some(text.clone()), ..Default::default() };
            e.set_user_agent(&text);
            let json = e.to_json();
            prop_assert!(json.bytes().all(|b| b >= 0x20), "{json:?}");
        }

        #[test]
        fn batches_respect_both_limits_and_keep_order(sizes in prop::collection::vec(1usize..70_000, 0..400)) {
            let cuts = batches(&sizes, MAX_BATCH_MESSAGES, MAX_BATCH_BYTES);
            prop_assert_eq!(cuts.iter().sum::<usize>(), sizes.len());
            let mut at = 0;
            for n in cuts {
                prop_assert!((1..=MAX_BATCH_MESSAGES).contains(&n));
                let bytes: usize = sizes[at..at + n].iter().sum();
                prop_assert!(bytes <= MAX_BATCH_BYTES || n == 1, "{} bytes in {} messages", bytes, n);
                at += n;
            }
        }
    }

    /// A2: a flood of unauthenticated refusals becomes a few counted events.
    #[test]
    fn floods_aggregate_by_code_network_and_prefix() {
        let mut agg = Aggregator::new();
        let ev = |ip: &str, path: Option<&str>, code: Code| {
            let mut e =
                AuditEvent { time: 7, client_ip: Some(ip.into()), path: path.map(str::to_owned), ..Default::default() };
            e.refuse(code, "no_token");
            e
        };
        assert!(agg.add(&ev("203.0.113.9", Some("/board/q3.pdf"), Code::TokenMissing), 0), "opens a window");
        for i in 0..10_000u32 {
            let ip = format!("203.0.113.{}", i % 250);
            assert!(!agg.add(&ev(&ip, Some("/board/x"), Code::TokenMissing), 1));
        }
        agg.add(&ev("2001:db8:1:2::5", None, Code::SignatureInvalid), 2);
        agg.add(&ev("::ffff:198.51.100.7", Some("/a"), Code::TokenMissing), 2);
        let out = agg.drain(100);
        assert_eq!(out.len(), 3);
        assert_eq!(out.iter().map(|e| e.count.unwrap()).sum::<u64>(), 10_003);
        let top = &out[0];
        assert_eq!(
            (top.count, top.client_ip.as_deref(), top.path.as_deref()),
            (Some(10_001), Some("203.0.113.0/24"), Some("/board/"))
        );
        assert_eq!(top.status, 401);
        assert!(out.iter().any(|e| e.client_ip.as_deref() == Some("2001:db8:1::/48")));
        assert!(out
            .iter()
            .any(|e| e.client_ip.as_deref() == Some("198.51.100.0/24") && e.path.as_deref() == Some("/")));
        assert!(!agg.is_open() && agg.is_empty());
        // Bounded memory: distinct keys past the limit share one overflow bucket.
        for i in 0..1000u32 {
            agg.add(&ev(&format!("10.{}.{}.1", i / 256, i % 256), None, Code::TokenMissing), 3);
        }
        assert_eq!(agg.len(), MAX_AGGREGATES + 1);
        assert_eq!(agg.drain(4).iter().map(|e| e.count.unwrap()).sum::<u64>(), 1000);
    }

    /// Every member is written, under its stored name (the D1 consumer
    /// and the log readers depend on them), null when absent.
    #[test]
    fn every_member_is_written_under_its_name() {
        let full = AuditEvent {
            time: 1,
            request_id: "rid".into(),
            method: "GET".into(),
            jti: Some("j".into()),
            kid: Some("k".into()),
            sub: Some("s".into()),
            tenant: Some("t".into()),
            path: Some("/p\"q".into()),
            outcome: Some(Outcome::NotModified),
            status: 304,
            code: Some("c"),
            reason: Some("r"),
            rule: Some("rule".into()),
            mode: Some("m"),
            bytes: Some(9),
            cache: Some("hit"),
            client_ip: Some("192.0.2.1".into()),
            country: Some("CH".into()),
            user_agent: Some("ua".into()),
            issued_by: Some("edge".into()),
            count: Some(3),
            actor: Some("a".into()),
            subject: Some("jti:x".into()),
            detail: Some("{}".into()),
            identity: Some("id".into()),
            context: Some("untrusted_country"),
        };
        let v: serde_json::Value = serde_json::from_str(&full.to_json()).unwrap();
        let want = serde_json::json!({
            "time": 1, "request_id": "rid", "method": "GET", "jti": "j", "kid": "k", "sub": "s", "tenant": "t",
            "path": "/p\"q", "outcome": "not_modified", "status": 304, "code": "c", "reason": "r", "rule": "rule",
            "mode": "m", "bytes": 9, "cache": "hit", "client_ip": "192.0.2.1", "country": "CH", "user_agent": "ua",
            "issued_by": "edge", "count": 3, "actor": "a", "subject": "jti:x", "detail": "{}", "identity": "id",
            "context": "untrusted_country"
        });
        assert_eq!(v, want);
        let empty: serde_json::Value = serde_json::from_str(&AuditEvent::default().to_json()).unwrap();
        let obj = empty.as_object().unwrap();
        assert_eq!(obj.len(), 26);
        assert!(obj
            .iter()
            .all(|(k, v)| v.is_null() || ["time", "request_id", "method", "status"].contains(&k.as_str())));
        for o in [Outcome::Allowed, Outcome::NotModified, Outcome::Refused, Outcome::Admin] {
            assert!(o.as_str().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
    }

    #[test]
    fn refusal_fields_and_truncation() {
        let mut e = AuditEvent { time: 5, request_id: "r".into(), ..Default::default() };
        e.refuse(Code::Expired, "after_exp");
        e.set_user_agent(&"é".repeat(200));
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["outcome"], "refused");
        assert_eq!(v["status"], 410);
        assert_eq!(v["code"], "expired");
        assert!(v["user_agent"].as_str().unwrap().len() <= MAX_USER_AGENT);
    }
}

//! The gate driven natively by an in-memory world: the same loop as the
//! edge, with maps for KV, R2 and the usage counter (running the real
//! `consume`/`refund`), so every path through the pipeline is tested here.

use std::collections::HashMap;
use std::num::NonZeroU32;

use proptest::prelude::*;

use super::*;
use crate::b64;
use crate::config::EdgeConfig;
use crate::ip::Cidr;
use crate::keys::KeyId;
use crate::revocation::{kv_key, Entry, RevocationScope};
use crate::token::{Field, Label};
use crate::usage::refund;

const T0: u64 = 1_800_000_000;
const HOST: &str = "files.example.com";

fn cfg_with(extra: &[(&str, &str)]) -> EdgeConfig {
    let keys = format!("k1:{},k0:{}", b64::encode(&[7u8; 32]), b64::encode(&[8u8; 32]));
    let mut vars: HashMap<String, String> = HashMap::new();
    vars.insert("LINKGATE_KEYS".into(), keys);
    vars.insert("LINKGATE_EDGE_CACHE".into(), "off".into());
    for (k, v) in extra {
        vars.insert((*k).into(), (*v).into());
    }
    EdgeConfig::from_lookup(&|k: &str| vars.get(k).cloned()).unwrap()
}

fn cfg() -> EdgeConfig {
    cfg_with(&[])
}

fn claims(scope: &str) -> Claims {
    let mut c = Claims::new(KeyId::parse("k1").unwrap(), Jti([5; 16]), T0, T0 + 3600, Scope::parse(scope).unwrap());
    c.sub = Some(Label::parse(Field::Sub, "alice").unwrap());
    c
}

fn sign(cfg: &EdgeConfig, c: &Claims) -> String {
    c.sign(cfg.keys.get(c.kid.as_str()).unwrap()).unwrap()
}

fn object(classification: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        size: 5000,
        etag: "v1".into(),
        version: "ver1".into(),
        uploaded: T0 - 100,
        content_type: Some("application/pdf".into()),
        classification: classification.map(str::to_owned),
    }
}

/// A private origin's answer to a HEAD: status and headers.
type OriginHead = (u16, Vec<(&'static str, String)>);

/// KV, R2 and the usage counter, in memory.
#[derive(Default)]
struct World {
    denylist: HashMap<String, String>,
    /// The strict revocation registry (a Durable Object at the edge).
    registry: HashMap<String, String>,
    objects: HashMap<String, ObjectMeta>,
    usage: HashMap<Jti, UsageState>,
    /// Make a store fail: "kv", "r2", "registry", "usage", "usage_unbound".
    fail: Option<&'static str>,
    /// Make the delivery fail after planning.
    deliver_fails: Option<DeliveryFailure>,
    /// Every I/O the gate asked for, in order.
    trace: Vec<&'static str>,
    /// The plan the gate asked to deliver.
    delivered: Option<Delivery>,
    /// Whether a body was fetched with the metadata.
    fetched_body: bool,
    /// The platform's country for the client, and how often it was asked.
    country: Option<String>,
    country_asked: u32,
    /// The private origin's answer to a HEAD: status and headers, or a failure.
    origin: Option<Result<OriginHead, crate::origin::OriginFailure>>,
    /// The HEAD requests sent to the origin.
    origin_heads: Vec<crate::origin::OriginRequest>,
    /// The identity provider's keys (None: the JWKS cannot be had).
    jwks: Option<crate::jwks::Jwks>,
}

impl World {
    fn with_object(path: &str, meta: ObjectMeta) -> World {
        let mut w = World::default();
        w.objects.insert(path.trim_start_matches('/').to_owned(), meta);
        w
    }

    fn used(&self, jti: Jti) -> u32 {
        self.usage.get(&jti).map_or(0, |s| s.used)
    }

    /// Revoke in the strict registry only, as just after a revoke whose KV
    /// write has not reached this location yet.
    fn revoke_strict_only(&mut self, scope: RevocationScope, value: &str, at: u64) {
        self.revoke(scope, value, at);
        let key = kv_key(scope, value);
        let entry = self.denylist.remove(&key).unwrap();
        self.registry.insert(key, entry);
    }

    fn revoke(&mut self, scope: RevocationScope, value: &str, at: u64) {
        let e = Entry {
            scope,
            value: value.into(),
            reason: "test".into(),
            actor: "t".into(),
            revoked_at: at,
            expires_at: None,
            tenant: None,
            also: Vec::new(),
        };
        self.denylist.insert(kv_key(scope, value), e.to_json().into_string());
    }

    /// The edge's loop, with maps for bindings.
    fn run(&mut self, cfg: &EdgeConfig, facts: Facts, form: Option<&str>) -> Box<Done> {
        let mut step = start(cfg, facts);
        loop {
            step = match step {
                Step::ReadForm(s) => {
                    self.trace.push("form");
                    s.answer(form)
                }
                Step::VerifySignature(s) => {
                    self.trace.push("verify_signature");
                    // "webcrypto": the platform's verify threw (fail closed).
                    let valid = self.fail != Some("webcrypto") && s.verify_natively();
                    s.answer(valid)
                }
                Step::ReadJwks(s) => {
                    self.trace.push("jwks");
                    match &self.jwks {
                        Some(set) => s.answer(set),
                        None => s.unavailable(),
                    }
                }
                Step::VerifyJwt(s) => {
                    self.trace.push("verify_jwt");
                    let valid = idp::verifies(s.key(), s.signing_input(), s.signature());
                    s.answer(valid)
                }
                Step::ReadCountry(s) => {
                    self.country_asked += 1;
                    s.answer(self.country.clone())
                }
                Step::ReadDenylist(s) => {
                    self.trace.push("kv");
                    if self.fail == Some("kv") {
                        s.unavailable()
                    } else {
                        let found: Vec<(String, String)> = s
                            .keys()
                            .iter()
                            .filter_map(|k| self.denylist.get(k).map(|v| (k.clone(), v.clone())))
                            .collect();
                        s.answer(&found)
                    }
                }
                Step::ReadObject(s) if s.origin_head().is_some() => {
                    self.trace.push("origin_head");
                    match s.origin_head() {
                        Some(Ok(req)) => self.origin_heads.push(req),
                        Some(Err(f)) => panic!("origin request not signed: {f:?}"),
                        None => {}
                    }
                    match self.origin.clone() {
                        Some(Ok((status, headers))) => {
                            s.origin_answer(status, &|n| headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone()))
                        }
                        Some(Err(f)) => s.origin_failed(f),
                        None => s.origin_answer(404, &|_| None),
                    }
                }
                Step::ReadObject(s) => {
                    self.trace.push(if s.with_body() { "r2_get" } else { "r2_head" });
                    self.fetched_body = s.with_body();
                    if self.fail == Some("r2") {
                        s.unavailable()
                    } else {
                        let meta = self.objects.get(s.key()).cloned();
                        s.answer(meta)
                    }
                }
                Step::ReadStrict(s) => {
                    self.trace.push("registry");
                    if self.fail == Some("registry") {
                        s.unavailable()
                    } else {
                        let found: Vec<(String, String)> = s
                            .keys()
                            .iter()
                            .filter_map(|k| self.registry.get(k).map(|v| (k.clone(), v.clone())))
                            .collect();
                        s.answer(&found)
                    }
                }
                Step::ReadUsage(s) => {
                    self.trace.push("usage_read");
                    match self.fail {
                        Some("usage") => s.unavailable(),
                        Some("usage_unbound") => s.unbound(),
                        _ => {
                            let state = self.usage.get(&s.jti()).cloned().unwrap_or_default();
                            s.answer(&state)
                        }
                    }
                }
                Step::Consume(s) => {
                    self.trace.push("consume");
                    match self.fail {
                        Some("usage") => s.unavailable(),
                        Some("usage_unbound") => s.unbound(),
                        _ => {
                            let state = self.usage.entry(s.jti()).or_default();
                            let outcome = consume(state, s.request());
                            s.answer(outcome)
                        }
                    }
                }
                Step::Deliver(s) => {
                    self.trace.push("deliver");
                    self.delivered = Some(s.plan().clone());
                    match self.deliver_fails {
                        Some(f) => s.failed(f),
                        None => s.sent(None),
                    }
                }
                Step::Refund(s) => {
                    self.trace.push("refund");
                    let state = self.usage.entry(s.jti()).or_default();
                    let call = s.call().clone();
                    let ok = refund(state, &call.client, call.time, &call.path);
                    s.done(ok)
                }
                Step::Done(d) => return d,
            }
        }
    }
}

fn get(path_and_query: &str, now: u64) -> Facts {
    Facts {
        method: "GET".into(),
        url: format!("https://{HOST}{path_and_query}"),
        client_ip: Some("198.51.100.7".into()),
        user_agent: Some("dl/1".into()),
        request_id: "rid".into(),
        now,
        ..Facts::default()
    }
}

fn link_url(path: &str, token: &str) -> String {
    format!("{path}?lg={token}")
}

fn code(d: &Done) -> Option<&'static str> {
    d.event.code
}

fn status(d: &Done) -> u16 {
    match &d.reply {
        Reply::Problem { status, .. } | Reply::Page { status, .. } => *status,
        Reply::SeeOther { .. } => 303,
        Reply::Redirect { .. } => 302,
        Reply::Delivered => d.event.status,
    }
}

fn post_form(path: &str, token: &str, now: u64, html: bool) -> (Facts, String) {
    let body = format!("lg={token}");
    let f = Facts {
        method: "POST".into(),
        content_length: Some(body.len().to_string()),
        accept: html.then(|| "text/html,application/xhtml+xml".to_owned()),
        ..get(path, now)
    };
    (f, body)
}

fn bounded(scope: &str, uses: u32) -> Claims {
    let mut c = claims(scope);
    c.uses = NonZeroU32::new(uses);
    c
}

// ------------------------------------------------------------------ basics

#[test]
fn a_valid_link_is_served_with_one_r2_call_when_the_cache_is_off() {
    let cfg = cfg();
    let t = sign(&cfg, &claims("/a/b.pdf"));
    let mut w = World::with_object("/a/b.pdf", object(None));
    let d = w.run(&cfg, get(&link_url("/a/b.pdf", &t), T0 + 1), None);
    assert_eq!(d.reply, Reply::Delivered);
    assert_eq!(d.event.status, 200);
    assert_eq!(d.event.outcome, Some(Outcome::Allowed));
    assert_eq!(w.trace, ["kv", "r2_get", "deliver"]);
    let plan = w.delivered.unwrap();
    assert!(plan.body.unwrap().reuse_fetched);
    assert!(!d.event.to_json().contains(&t), "the token never reaches the audit event");
}

#[test]
fn refusals_in_contract_order_and_without_io_before_authentication() {
    let cfg = cfg();
    let t = sign(&cfg, &claims("/a/"));
    for (url, want) in [
        ("/a/%2e%2e/b?lg=x", "path_invalid"),
        ("/a/b", "token_missing"),
        ("/a/b?lg=a&lg=b", "token_malformed"),
        ("/a/%2fb?lg=a&lg=b", "path_invalid"),
        ("/a/b?lg=!!", "token_malformed"),
    ] {
        let mut w = World::default();
        let d = w.run(&cfg, get(url, T0), None);
        assert_eq!(code(&d), Some(want), "{url}");
        assert!(w.trace.is_empty(), "{url}: no I/O before authentication: {:?}", w.trace);
        assert_eq!(w.country_asked, 0, "{url}: the country is read only for authentic links");
        assert!(d.event.jti.is_none());
    }
    let mut w = World::default();
    let d = w.run(&cfg, get(&format!("/a/b?lg={t}&lgs={t}"), T0), None);
    assert_eq!((code(&d), d.event.reason), (Some("token_malformed"), Some("two_tokens")));
    assert!(w.trace.is_empty());
}

/// The country (`request.cf`, costly) is asked once the tag verifies, for
/// every authentic decision (served or refused), never before; the event
/// records it and the classification's `countries` rule judges it.
#[test]
fn the_country_is_asked_once_per_authentic_request_and_decides_geo_rules() {
    let cfg = cfg_with(&[("LINKGATE_POLICY", r#"{"classifications":{"confidential":{"countries":["DE","FR"]}}}"#)]);
    let t = sign(&cfg, &claims("/a/"));
    let served = |country: Option<&str>, path: &str, meta: ObjectMeta, now: u64| {
        let mut w = World::with_object(path, meta);
        w.country = country.map(str::to_owned);
        let d = w.run(&cfg, get(&link_url(path, &t), now), None);
        (w.country_asked, d)
    };
    let (asked, d) = served(Some("DE"), "/a/b.pdf", object(Some("confidential")), T0 + 1);
    assert_eq!((asked, d.reply, d.event.country.as_deref()), (1, Reply::Delivered, Some("DE")));
    let (asked, d) = served(Some("US"), "/a/b.pdf", object(Some("confidential")), T0 + 1);
    assert_eq!((asked, code(&d), d.event.country.as_deref()), (1, Some("policy_denied"), Some("US")));
    let (asked, d) = served(None, "/a/b.pdf", object(Some("confidential")), T0 + 1);
    assert_eq!((asked, code(&d)), (1, Some("policy_denied")), "an unknown country is not an allowed one");
    // An authentic link refused by its own claims is still an authentic decision.
    let (asked, d) = served(Some("FR"), "/a/b.pdf", object(None), T0 + 7200);
    assert_eq!((asked, code(&d), d.event.country.as_deref()), (1, Some("expired"), Some("FR")));
    let (asked, d) = served(Some("FR"), "/elsewhere.pdf", object(None), T0 + 1);
    assert_eq!((asked, code(&d), d.event.country.as_deref()), (1, Some("scope_mismatch"), Some("FR")));
}

// ------------------------------------------------------------------ F1, F10

#[test]
fn f1_a_killed_key_refuses_links_the_thief_signs_after_the_kill() {
    let cfg = cfg();
    let mut w = World::with_object("/a/b.pdf", object(None));
    w.revoke(RevocationScope::Kid, "k1", T0);
    for iat in [T0 - 10, T0, T0 + 5, T0 + 3000] {
        let mut c = claims("/a/b.pdf");
        c.iat = iat;
        c.exp = iat + 600;
        let d = w.run(&cfg, get(&link_url("/a/b.pdf", &sign(&cfg, &c)), iat + 1), None);
        assert_eq!(code(&d), Some("revoked"), "iat {iat}");
        assert_eq!(d.event.reason, Some("revoked_kid"));
    }
    // A link under the other key is untouched.
    let mut c = claims("/a/b.pdf");
    c.kid = KeyId::parse("k0").unwrap();
    let d = w.run(&cfg, get(&link_url("/a/b.pdf", &sign(&cfg, &c)), T0 + 1), None);
    assert_eq!(d.reply, Reply::Delivered);
}

/// F10: a session names the link's key, so killing that key kills it, even
/// when another key is the one that signs at the edge.
#[test]
fn f10_a_download_session_is_signed_with_the_links_key_and_dies_with_it() {
    let cfg = cfg();
    let mut c = bounded("/a/b.pdf", 2);
    c.kid = KeyId::parse("k0").unwrap(); // not the edge's signing key
    let t = sign(&cfg, &c);
    let mut w = World::with_object("/a/b.pdf", object(None));
    let (f, body) = post_form("/a/b.pdf", &t, T0 + 1, true);
    let d = w.run(&cfg, f, Some(&body));
    let Reply::SeeOther { location } = &d.reply else { panic!("{:?}", d.reply) };
    let session = location.split_once("lgs=").unwrap().1;
    let raw = b64::decode(session.as_bytes()).unwrap();
    assert!(raw.windows(4).any(|x| x == [0x01, 0x00, 0x02, b'k']), "session names kid k0");
    let s = w.run(&cfg, get(location, T0 + 2), None);
    assert_eq!(s.reply, Reply::Delivered, "{:?}", s.event);
    w.revoke(RevocationScope::Kid, "k0", T0 + 3);
    let s = w.run(&cfg, get(location, T0 + 4), None);
    assert_eq!(code(&s), Some("revoked"));
}

// ------------------------------------------------------------------ F2, F8

#[test]
fn f2_policy_is_decided_on_the_links_claims_before_a_use_or_a_session() {
    // restricted: max 1 h, sub required. This link lives 7 days and has no sub.
    let cfg = cfg();
    let mut c = bounded("/r/board.pdf", 1);
    c.sub = None;
    c.exp = T0 + 7 * 86_400;
    let t = sign(&cfg, &c);
    let mut w = World::with_object("/r/board.pdf", object(Some("restricted")));
    let (f, body) = post_form("/r/board.pdf", &t, T0 + 1, true);
    let d = w.run(&cfg, f, Some(&body));
    assert_eq!(code(&d), Some("policy_denied"));
    assert_eq!(d.event.rule.as_deref(), Some("restricted.max_ttl"));
    assert_eq!(w.used(c.jti), 0, "no use consumed");
    assert!(!w.trace.contains(&"consume"));
    // The landing page is refused too (F8): no name or size of a refused object.
    let d = w.run(&cfg, Facts { accept: Some("text/html".into()), ..get(&link_url("/r/board.pdf", &t), T0 + 1) }, None);
    assert_eq!(code(&d), Some("policy_denied"));
    // A browser gets the refusal page: no landing page, no name, no form.
    let Reply::Page { status: 403, html } = &d.reply else { panic!("{:?}", d.reply) };
    assert!(!html.contains("board.pdf") && !html.contains("<form") && !html.contains(&t));
}

#[test]
fn f2_a_session_is_held_to_the_links_rule() {
    // confidential requiring an IP binding; the link has none.
    let cfg = cfg_with(&[("LINKGATE_POLICY", r#"{"classifications":{"confidential":{"require_ip":true}}}"#)]);
    let c = bounded("/c/x.pdf", 3);
    let t = sign(&cfg, &c);
    let mut w = World::with_object("/c/x.pdf", object(None));
    let (f, body) = post_form("/c/x.pdf", &t, T0 + 1, true);
    let d = w.run(&cfg, f, Some(&body));
    let Reply::SeeOther { location } = &d.reply else { panic!("{:?}", d.reply) };
    // Reclassified after the session was minted: the session is judged by
    // the link's own claims, which lack the IP binding.
    w.objects.insert("c/x.pdf".into(), object(Some("confidential")));
    let s = w.run(&cfg, get(location, T0 + 2), None);
    assert_eq!(code(&s), Some("policy_denied"));
    assert_eq!(s.event.rule.as_deref(), Some("confidential.require_ip"));
}

#[test]
fn f8_landing_page_only_after_the_object_is_found_and_allowed() {
    let cfg = cfg();
    let t = sign(&cfg, &bounded("/a/missing.pdf", 1));
    let mut w = World::default();
    let d = w.run(&cfg, Facts { accept: Some("text/html".into()), ..get(&link_url("/a/missing.pdf", &t), T0) }, None);
    assert_eq!(code(&d), Some("not_found"));
    let t = sign(&cfg, &bounded("/a/b.pdf", 1));
    let mut w = World::with_object("/a/b.pdf", object(None));
    let d = w.run(&cfg, get(&link_url("/a/b.pdf", &t), T0), None);
    let Reply::Page { status: 200, html } = &d.reply else { panic!("{:?}", d.reply) };
    assert!(html.contains("b.pdf") && html.contains("5.0 KB"));
    assert_eq!(w.trace, ["kv", "r2_head", "usage_read"]);
}

// ------------------------------------------------------------------ F3, F9

#[test]
fn f3_a_prefix_links_use_continues_only_the_object_it_started() {
    let cfg = cfg();
    let c = bounded("/pack/", 1);
    let t = sign(&cfg, &c);
    let mut w = World::with_object("/pack/a.pdf", object(None));
    w.objects.insert("pack/b.pdf".into(), ObjectMeta { etag: "vb".into(), ..object(None) });
    let (f, body) = post_form("/pack/a.pdf", &t, T0 + 1, false);
    assert_eq!(w.run(&cfg, f, Some(&body)).reply, Reply::Delivered);
    let range = |path: &str| Facts { range: Some("bytes=100-".into()), ..get(&link_url(path, &t), T0 + 2) };
    let d = w.run(&cfg, range("/pack/a.pdf"), None);
    assert_eq!((d.reply.clone(), d.event.status), (Reply::Delivered, 206), "same object continues");
    let d = w.run(&cfg, range("/pack/b.pdf"), None);
    assert_eq!(code(&d), Some("used_up"), "another object is not a continuation");
    // A new version of the same object is not the download that started.
    w.objects.insert("pack/a.pdf".into(), ObjectMeta { etag: "v2".into(), ..object(None) });
    let d = w.run(&cfg, range("/pack/a.pdf"), None);
    assert_eq!(code(&d), Some("used_up"));
    assert_eq!(w.used(c.jti), 1);
}

#[test]
fn f9_only_a_single_range_after_byte_zero_continues() {
    let cfg = cfg();
    let c = bounded("/a/b.pdf", 1);
    let t = sign(&cfg, &c);
    let mut w = World::with_object("/a/b.pdf", object(None));
    let (f, body) = post_form("/a/b.pdf", &t, T0 + 1, false);
    assert_eq!(w.run(&cfg, f, Some(&body)).reply, Reply::Delivered);
    for (range, continues) in
        [("bytes=0-", false), ("bytes=0-99,200-", false), ("bytes=-100", false), ("bytes=10-", true)]
    {
        let d = w.run(&cfg, Facts { range: Some(range.into()), ..get(&link_url("/a/b.pdf", &t), T0 + 2) }, None);
        assert_eq!(d.reply == Reply::Delivered, continues, "{range}: {:?}", d.reply);
        if !continues {
            assert_eq!(code(&d), Some("used_up"), "{range}");
        }
    }
    // Resume after exp has the same gate.
    let cfg = cfg_with(&[("LINKGATE_RESUME_GRACE_SECS", "300")]);
    let c = claims("/a/b.pdf");
    let t = sign(&cfg, &c);
    let mut w = World::with_object("/a/b.pdf", object(None));
    let d = w.run(&cfg, Facts { range: Some("bytes=0-99".into()), ..get(&link_url("/a/b.pdf", &t), T0 + 1) }, None);
    let start = d.record_start.expect("a start is recorded when resume is on");
    w.usage.entry(start.jti).or_default().starts.push(start.start);
    for (range, resumes) in [("bytes=0-", false), ("bytes=100-,200-", false), ("bytes=100-", true)] {
        let f = Facts { range: Some(range.into()), ..get(&link_url("/a/b.pdf", &t), c.exp + 10) };
        let d = w.run(&cfg, f, None);
        assert_eq!(d.reply == Reply::Delivered, resumes, "{range}: {:?}", d.event);
        if resumes {
            assert_eq!(d.event.reason, Some("resume_after_exp"));
        } else {
            assert_eq!(code(&d), Some("expired"));
        }
    }
}

// ------------------------------------------------------------------ F6, F7

#[test]
fn f6_head_on_a_used_up_link_is_refused_like_get_and_never_consumes() {
    let cfg = cfg();
    let c = bounded("/a/b.pdf", 1);
    let t = sign(&cfg, &c);
    let mut w = World::with_object("/a/b.pdf", object(None));
    let head = || Facts { method: "HEAD".into(), ..get(&link_url("/a/b.pdf", &t), T0 + 1) };
    let d = w.run(&cfg, head(), None);
    assert_eq!((d.reply.clone(), d.event.status), (Reply::Delivered, 200));
    assert!(w.delivered.as_ref().unwrap().body.is_none());
    assert_eq!(w.used(c.jti), 0);
    let (f, body) = post_form("/a/b.pdf", &t, T0 + 1, false);
    w.run(&cfg, Facts { client_ip: Some("203.0.113.9".into()), ..f }, Some(&body));
    let d = w.run(&cfg, head(), None);
    assert_eq!(code(&d), Some("used_up"));
    assert_eq!(w.used(c.jti), 1);
}

#[test]
fn f7_everything_that_can_refuse_is_checked_before_a_use_is_consumed() {
    let cfg = cfg();
    let c = bounded("/a/", 1);
    let t = sign(&cfg, &c);
    // Missing object, unsatisfiable range, R2 down, denylist down: no use spent.
    let cases: [(&str, Option<&str>, Option<&'static str>, &str); 4] = [
        ("/a/missing.pdf", None, None, "not_found"),
        ("/a/b.pdf", Some("bytes=9000-"), None, "range_not_satisfiable"),
        ("/a/b.pdf", None, Some("r2"), "store_unavailable"),
        ("/a/b.pdf", None, Some("kv"), "store_unavailable"),
    ];
    for (path, range, fail, want) in cases {
        let mut w = World::with_object("/a/b.pdf", object(None));
        w.fail = fail;
        let (f, body) = post_form(path, &t, T0 + 1, false);
        let d = w.run(&cfg, Facts { range: range.map(str::to_owned), ..f }, Some(&body));
        assert_eq!(code(&d), Some(want), "{path} {range:?} {fail:?}");
        assert_eq!(w.used(c.jti), 0, "{want}: no use consumed");
        assert!(!w.trace.contains(&"consume"), "{want}: {:?}", w.trace);
    }
}

#[test]
fn f7_a_download_that_fails_after_consuming_gives_the_use_back() {
    let cfg = cfg();
    let c = bounded("/a/b.pdf", 1);
    let t = sign(&cfg, &c);
    for (failure, want) in [
        (DeliveryFailure::Unavailable, "store_unavailable"),
        (DeliveryFailure::Changed, "store_unavailable"),
        (DeliveryFailure::Missing, "not_found"),
    ] {
        let mut w = World::with_object("/a/b.pdf", object(None));
        w.deliver_fails = Some(failure);
        let (f, body) = post_form("/a/b.pdf", &t, T0 + 1, false);
        let d = w.run(&cfg, f, Some(&body));
        assert_eq!(code(&d), Some(want));
        assert_eq!(w.trace, ["form", "kv", "r2_head", "consume", "deliver", "refund"]);
        assert_eq!(d.event.rule.as_deref(), Some("usage:refunded"));
        assert_eq!(w.used(c.jti), 0, "{failure:?}: the use is back");
        w.deliver_fails = None;
        let (f, body) = post_form("/a/b.pdf", &t, T0 + 2, false);
        assert_eq!(w.run(&cfg, f, Some(&body)).reply, Reply::Delivered, "and can be used");
    }
}

// ------------------------------------------------------------------ sessions

#[test]
fn sessions_serve_only_the_client_that_consumed_within_the_grace() {
    let cfg = cfg_with(&[("LINKGATE_DOWNLOAD_GRACE_SECS", "60")]);
    let c = bounded("/a/b.pdf", 2);
    let t = sign(&cfg, &c);
    let mut w = World::with_object("/a/b.pdf", object(None));
    let (f, body) = post_form("/a/b.pdf", &t, T0 + 1, true);
    let d = w.run(&cfg, f, Some(&body));
    assert_eq!((status(&d), d.event.reason), (303, Some("download_session")));
    let Reply::SeeOther { location } = &d.reply else { panic!() };
    assert!(!location.contains(&t), "the session URL is not the link");
    let s = w.run(&cfg, Facts { range: Some("bytes=10-19".into()), ..get(location, T0 + 5) }, None);
    assert_eq!(s.event.status, 206);
    let s = w.run(&cfg, get(location, T0 + 6), None);
    assert_eq!(s.event.status, 200, "a plain GET of the session downloads (no landing page)");
    let other = w.run(&cfg, Facts { client_ip: Some("192.0.2.5".into()), ..get(location, T0 + 6) }, None);
    assert_eq!((code(&other), other.event.reason), (Some("expired"), Some("session_not_open")));
    let late = w.run(&cfg, get(location, T0 + 61), None);
    assert_eq!(code(&late), Some("expired"));
    // A session never consumes, and cannot be POSTed.
    let (f, _) = post_form(location, "", T0 + 7, false);
    let p = w.run(&cfg, Facts { content_length: None, ..f }, None);
    assert_eq!(code(&p), Some("method_not_allowed"));
    assert_eq!(w.used(c.jti), 1);
    // A session token is not a link, nor a link a session.
    let session = location.split_once("lgs=").unwrap().1;
    let d = w.run(&cfg, get(&link_url("/a/b.pdf", session), T0 + 8), None);
    assert_eq!(code(&d), Some("signature_invalid"));
    let d = w.run(&cfg, get(&format!("/a/b.pdf?lgs={t}"), T0 + 8), None);
    assert_eq!(code(&d), Some("signature_invalid"));
}

#[test]
fn a_plain_get_of_a_bounded_link_is_a_landing_page_never_a_download() {
    let cfg = cfg();
    let c = bounded("/a/b.pdf", 1);
    let t = sign(&cfg, &c);
    let mut w = World::with_object("/a/b.pdf", object(None));
    for _ in 0..3 {
        let d = w.run(&cfg, get(&link_url("/a/b.pdf", &t), T0 + 1), None);
        assert!(matches!(d.reply, Reply::Page { status: 200, .. }));
        assert_eq!(d.event.reason, Some("landing_page"));
    }
    assert_eq!(w.used(c.jti), 0);
    let (f, body) = post_form("/a/b.pdf", &t, T0 + 1, false);
    assert_eq!(w.run(&cfg, f, Some(&body)).reply, Reply::Delivered);
    let d = w.run(&cfg, Facts { accept: Some("text/html".into()), ..get(&link_url("/a/b.pdf", &t), T0 + 2) }, None);
    let Reply::Page { status: 410, html } = &d.reply else { panic!("{:?}", d.reply) };
    assert!(html.contains("used up"));
    let d = w.run(&cfg, get(&link_url("/a/b.pdf", &t), T0 + 2), None);
    assert!(matches!(d.reply, Reply::Problem { status: 410, .. }));
}

/// Issue 17, item 4: a bounded-use link opened from outside the rule's
/// expected countries or networks gets a warning before its Download button,
/// recorded in the event's `context`; inside them, or with
/// `untrusted_context: off`, none. The warning never refuses.
#[test]
fn the_landing_page_warns_about_an_untrusted_context() {
    let policy = |extra: &str| {
        cfg_with(&[(
            "LINKGATE_POLICY",
            &format!(
                r#"{{"classifications":{{"confidential":{{"expected_countries":["DE","FR"],"expected_networks":["198.51.100.0/24","2001:db8::/32"]{extra}}}}}}}"#
            ),
        )])
    };
    let cfg = policy("");
    let c = bounded("/a/b.pdf", 2);
    let t = sign(&cfg, &c);
    let visit = |cfg: &EdgeConfig, country: Option<&str>, ip: Option<&str>, class: Option<&str>| {
        let mut w = World::with_object("/a/b.pdf", object(class));
        w.country = country.map(str::to_owned);
        let f = Facts { client_ip: ip.map(str::to_owned), ..get(&link_url("/a/b.pdf", &t), T0 + 1) };
        let d = w.run(cfg, f, None);
        let Reply::Page { status: 200, html } = &d.reply else { panic!("{:?}", d.reply) };
        assert_eq!(d.event.reason, Some("landing_page"));
        assert_eq!(w.used(c.jti), 0, "a warning never uses (or refuses) anything");
        let warned = html.find("id=\"untrusted-context\"");
        if let Some(at) = warned {
            assert!(at < html.find("<button").unwrap(), "before the button");
        }
        (d.event.context, warned.is_some(), html.clone())
    };
    let conf = Some("confidential");
    assert_eq!(visit(&cfg, Some("DE"), Some("198.51.100.9"), conf).0, None);
    assert_eq!(visit(&cfg, Some("FR"), Some("2001:db8::1"), conf).0, None);
    let (ctx, shown, html) = visit(&cfg, Some("US"), Some("198.51.100.9"), conf);
    assert_eq!((ctx, shown), (Some("untrusted_country"), true));
    assert!(html.contains("from a country it is not expected"));
    assert_eq!(visit(&cfg, None, Some("198.51.100.9"), conf).0, Some("untrusted_country"), "unknown is not expected");
    let (ctx, shown, html) = visit(&cfg, Some("DE"), Some("203.0.113.5"), conf);
    assert_eq!((ctx, shown), (Some("untrusted_network"), true));
    assert!(html.contains("from a network it is not expected"));
    assert_eq!(visit(&cfg, Some("DE"), None, conf).0, Some("untrusted_network"));
    // Another classification's rule expects nothing: no warning.
    assert!(!visit(&cfg, Some("US"), Some("203.0.113.5"), Some("internal")).1);
    // Off: no warning, nothing recorded.
    let off = policy(r#","untrusted_context":"off""#);
    assert_eq!(
        visit(&off, Some("US"), Some("203.0.113.5"), conf),
        (None, false, visit(&off, Some("DE"), None, conf).2)
    );
}

/// A browser gets a page for every refusal, with the same status and code in
/// the audit; a script gets problem JSON; no page carries the token.
#[test]
fn browsers_get_refusal_pages_and_scripts_problem_json() {
    let cfg = cfg_with(&[("LINKGATE_REFRESH_URL", "https://app.example/renew?f={path}")]);
    let good = sign(&cfg, &claims("/a/b.pdf"));
    let mut late = claims("/a/b.pdf");
    late.nbf = Some(T0 + 500);
    let late = sign(&cfg, &late);
    // A tag character changed (not the last, whose spare bits must stay zero).
    let at = good.len() - 5;
    let flip = if good.as_bytes()[at] == b'A' { "B" } else { "A" };
    let forged = format!("{}{flip}{}", &good[..at], &good[at + 1..]);
    let mut w = World::with_object("/a/b.pdf", object(None));
    let html = |f: Facts| Facts { accept: Some("text/html,application/xhtml+xml;q=0.9".into()), ..f };
    for (url, now, status, code_name, words) in [
        (link_url("/a/b.pdf", &good), T0 + 7200, 410, "expired", "It expired on"),
        (link_url("/a/b.pdf", &late), T0 + 1, 403, "not_yet_valid", "It opens on"),
        (link_url("/a/b.pdf", &forged), T0 + 1, 403, "signature_invalid", "This link is not valid"),
        (link_url("/a/other.pdf", &good), T0 + 1, 403, "scope_mismatch", "does not open this file"),
        ("/a/b.pdf".to_owned(), T0 + 1, 401, "token_missing", "needs a download link"),
    ] {
        let d = w.run(&cfg, html(get(&url, now)), None);
        assert_eq!(code(&d), Some(code_name));
        let Reply::Page { status: s, html: page } = &d.reply else { panic!("{code_name}: {:?}", d.reply) };
        assert_eq!(*s, status, "{code_name}");
        assert!(page.contains(words), "{code_name}: {page}");
        assert!(page.contains(&d.event.request_id), "{code_name}");
        for t in [&good, &late, &forged] {
            assert!(!page.contains(t.as_str()), "{code_name}: token echoed");
        }
        assert_eq!(page.contains("Request a new link"), code_name == "expired", "{code_name}");
        // The same request from a script: problem JSON.
        let d = w.run(&cfg, get(&url, now), None);
        assert!(matches!(d.reply, Reply::Problem { status: s, .. } if s == status), "{code_name}");
    }
}

#[test]
fn stores_fail_closed() {
    let cfg = cfg();
    let plain = sign(&cfg, &claims("/a/b.pdf"));
    let one = sign(&cfg, &bounded("/a/b.pdf", 1));
    for (token, fail, reason) in [
        (&plain, "kv", "denylist_unavailable"),
        (&plain, "r2", "object_unavailable"),
        (&one, "usage", "usage_unavailable"),
        (&one, "usage_unbound", "usage_store_missing"),
    ] {
        let mut w = World::with_object("/a/b.pdf", object(None));
        w.fail = Some(fail);
        let d = w.run(&cfg, get(&link_url("/a/b.pdf", token), T0 + 1), None);
        assert_eq!((code(&d), d.event.reason), (Some("store_unavailable"), Some(reason)));
        let (f, body) = post_form("/a/b.pdf", token, T0 + 1, false);
        let d = w.run(&cfg, f, Some(&body));
        assert_eq!(code(&d), if token == &plain { Some("method_not_allowed") } else { Some("store_unavailable") });
    }
}

// ------------------------------------------------------------------ F12

#[test]
fn f12_the_cache_diagnostic_header_is_off_by_default() {
    let t = |cfg: &EdgeConfig| sign(cfg, &claims("/a/b.pdf"));
    for (cfg, want) in [
        (cfg_with(&[("LINKGATE_EDGE_CACHE", "on")]), false),
        (cfg_with(&[("LINKGATE_EDGE_CACHE", "on"), ("LINKGATE_DEBUG_HEADERS", "on")]), true),
    ] {
        let mut w = World::with_object("/a/b.pdf", object(Some("public")));
        w.run(&cfg, get(&link_url("/a/b.pdf", &t(&cfg)), T0 + 1), None);
        let plan = w.delivered.unwrap();
        assert_eq!(plan.debug_cache_header, want);
        assert!(plan.body.unwrap().edge_cache.is_some());
    }
}

// ------------------------------------------------------------------ properties

fn arb_method() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["GET", "HEAD", "POST", "PUT", "OPTIONS"])
}

fn arb_range() -> impl Strategy<Value = Option<&'static str>> {
    prop::sample::select(vec![None, Some("bytes=0-"), Some("bytes=10-"), Some("bytes=9000-"), Some("bytes=1-2,5-")])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Whatever the request, a bounded-use link never starts more
    /// downloads than its uses, only a POST consumes, and a refused request
    /// consumes nothing.
    #[test]
    fn bounded_use_is_exact_and_only_a_post_consumes(
        uses in 1u32..3,
        requests in prop::collection::vec((arb_method(), arb_range(), 0u8..3, any::<bool>(), 0u64..200), 1..12),
        classification in prop::sample::select(vec![None, Some("restricted"), Some("public")]),
    ) {
        let cfg = cfg_with(&[("LINKGATE_DOWNLOAD_GRACE_SECS", "60")]);
        let mut c = bounded("/a/", uses);
        c.exp = T0 + 7200; // longer than restricted allows (1 h)
        let t = sign(&cfg, &c);
        let mut w = World::with_object("/a/b.pdf", object(classification));
        let mut downloads = 0u32;
        for (method, range, client, html, dt) in requests {
            let used_before = w.used(c.jti);
            let ip = format!("198.51.100.{client}");
            let (mut f, body) = post_form("/a/b.pdf", &t, T0 + dt, html);
            f.method = method.into();
            f.client_ip = Some(ip);
            f.range = range.map(str::to_owned);
            if method != "POST" {
                f.url = format!("https://{HOST}{}", link_url("/a/b.pdf", &t));
                f.content_length = None;
            }
            w.trace.clear();
            let d = w.run(&cfg, f, Some(&body));
            let consumed = w.used(c.jti) - used_before;
            prop_assert!(consumed <= 1);
            if consumed == 1 {
                prop_assert_eq!(method, "POST");
                prop_assert!(matches!(d.reply, Reply::Delivered | Reply::SeeOther { .. }), "{:?}", d.reply);
                downloads += 1;
            }
            if d.event.outcome == Some(Outcome::Refused) {
                prop_assert_eq!(consumed, 0, "a refusal consumed a use: {:?}", d.event);
            }
            if classification == Some("restricted") {
                // The link's sub is set, but it lives longer than restricted allows.
                let c = code(&d);
                prop_assert!(c == Some("policy_denied") || c == Some("method_not_allowed"), "{:?}", c);
            }
        }
        prop_assert!(downloads <= uses);
        prop_assert_eq!(w.used(c.jti), downloads);
    }

    /// Any single tampered byte of a token is refused before any I/O.
    #[test]
    fn a_tampered_token_is_refused_before_any_io(i in 0usize..400, with in any::<u8>()) {
        let cfg = cfg();
        let t = sign(&cfg, &claims("/a/b.pdf"));
        let mut raw = b64::decode(t.as_bytes()).unwrap();
        let i = i % raw.len();
        prop_assume!(raw[i] != with);
        raw[i] = with;
        let mut w = World::with_object("/a/b.pdf", object(None));
        let d = w.run(&cfg, get(&link_url("/a/b.pdf", &b64::encode(&raw)), T0 + 1), None);
        prop_assert_eq!(d.event.outcome, Some(Outcome::Refused));
        prop_assert!(w.trace.is_empty(), "{:?}", w.trace);
        prop_assert_eq!(w.country_asked, 0);
    }
}

/// A16: `/_linkgate/` is never an object, in any spelling, even with a
/// valid link to a folder above it.
#[test]
fn the_admin_prefix_is_never_served() {
    let cfg = cfg();
    let t = sign(&cfg, &claims("/"));
    let mut w = World::with_object("/_linkgate/x", object(None));
    for path in ["/%5Flinkgate/x", "/%5flinkgate/x", "/_LinkGate/x", "/_linkgate/x"] {
        let d = w.run(&cfg, get(&link_url(path, &t), T0 + 1), None);
        assert_eq!((code(&d), d.event.reason), (Some("path_invalid"), Some("reserved_path")), "{path}");
    }
    assert!(w.trace.is_empty());
    let mut w = World::with_object("/_linkgatex/y", object(None));
    assert_eq!(w.run(&cfg, get(&link_url("/_linkgatex/y", &t), T0 + 1), None).reply, Reply::Delivered);
}

#[test]
fn split_url_keeps_the_raw_path() {
    assert_eq!(split_url("https://h.example/a%20b/c?lg=x#f"), ("h.example", "/a%20b/c", "lg=x"));
    assert_eq!(split_url("https://h.example"), ("h.example", "/", ""));
    assert_eq!(split_url("https://h.example/?"), ("h.example", "/", ""));
    assert_eq!(split_url("/p?q"), ("", "/p", "q"));
    assert_eq!(split_url("https://h.example?lg=x"), ("h.example", "/", "lg=x"), "no / before the query");
    assert_eq!(split_url("https://h.example#a/b?c"), ("h.example", "/", ""));
    assert_eq!(split_url("https://h.example:8443/a?b#c?d"), ("h.example:8443", "/a", "b"));
}

#[test]
fn ip_bound_links_check_the_client() {
    let cfg = cfg();
    let mut c = claims("/a/b.pdf");
    c.ip = vec![Cidr::parse("198.51.100.0/24").unwrap()];
    let t = sign(&cfg, &c);
    let mut w = World::with_object("/a/b.pdf", object(None));
    assert_eq!(w.run(&cfg, get(&link_url("/a/b.pdf", &t), T0), None).reply, Reply::Delivered);
    let d = w.run(&cfg, Facts { client_ip: Some("192.0.2.1".into()), ..get(&link_url("/a/b.pdf", &t), T0) }, None);
    assert_eq!(code(&d), Some("ip_mismatch"));
}

/// A7: at download, a rule that requires an IP binding refuses a link whose
/// binding is the whole Internet (`0.0.0.0/0` + `::/0`), or any range broader
/// than the rule's minimum prefix length.
#[test]
fn a7_require_ip_refuses_an_everywhere_binding() {
    let cfg = cfg_with(&[("LINKGATE_POLICY", r#"{"classifications":{"confidential":{"require_ip":true}}}"#)]);
    let mut w = World::with_object("/c/x.pdf", object(Some("confidential")));
    for (ranges, allowed) in [
        (&["0.0.0.0/0", "::/0"][..], false),
        (&["198.0.0.0/8"], false),
        (&["::ffff:0.0.0.0/96"], false),
        (&["198.51.0.0/16", "::/0"], false),
        (&["198.51.0.0/16"], true),
        (&["198.51.100.0/24", "2001:db8::/32"], true),
    ] {
        let mut c = claims("/c/x.pdf");
        c.ip = ranges.iter().map(|r| Cidr::parse(r).unwrap()).collect();
        let d = w.run(&cfg, get(&link_url("/c/x.pdf", &sign(&cfg, &c)), T0), None);
        if allowed {
            assert_eq!(d.reply, Reply::Delivered, "{ranges:?}");
        } else {
            assert_eq!(code(&d), Some("policy_denied"), "{ranges:?}");
            assert_eq!(d.event.rule.as_deref(), Some("confidential.require_ip"), "{ranges:?}");
        }
    }
}

/// The packed request form the edge reads in one boundary call.
#[test]
fn packed_requests_unpack_exactly() {
    let text = "GET\nhttps://h/a?lg=x\n+198.51.100.7\n+dl/1\n-\n+0\n+bytes=0-9\n-\n+\"v1\"\n-\n+cat\n-\n+lgm=t; b=2\n+https://player.example\n+a.b.c\n+8a1b";
    let u = unpack_request(text).unwrap();
    assert_eq!((u.method.as_str(), u.url.as_str()), ("GET", "https://h/a?lg=x"));
    assert_eq!(u.headers[0].as_deref(), Some("198.51.100.7"));
    assert_eq!(u.headers[2], None);
    assert_eq!(u.headers[3].as_deref(), Some("0"));
    assert_eq!(u.headers[6].as_deref(), Some("\"v1\""));
    assert_eq!(u.headers[8].as_deref(), Some("cat"));
    assert_eq!(u.headers[9], None);
    assert_eq!(u.headers[10].as_deref(), Some("lgm=t; b=2"));
    assert_eq!(u.headers[11].as_deref(), Some("https://player.example"));
    assert_eq!(u.headers[12].as_deref(), Some("a.b.c"));
    assert_eq!(u.headers[13].as_deref(), Some("8a1b"));
    // An empty header value is present, not absent.
    let empty = "GET\nu\n+\n-\n-\n-\n-\n-\n-\n-\n-\n-\n-\n-\n-\n-";
    assert_eq!(unpack_request(empty).unwrap().headers[0].as_deref(), Some(""));
    // Anything but exactly method, URL and fourteen markers is refused.
    for bad in [
        "",
        "GET",
        "GET\nu",
        "GET\nu\n-\n-\n-\n-\n-\n-\n-\n-\n-\n-\n-\n-\n-",
        "GET\nu\n-\n-\n-\n-\n-\n-\n-\n-\n-\n-\n-\n-\n-\n-\n-",
        "GET\nu\nx\n-\n-\n-\n-\n-\n-\n-\n-\n-\n-\n-\n-\n-",
    ] {
        assert_eq!(unpack_request(bad), None, "{bad:?}");
    }
}

/// The packed form of an R2 object's metadata (`src/objects.rs` writes it).
#[test]
fn packed_object_metadata_unpacks_exactly() {
    let m = ObjectMeta::unpack("1024\n\"abc\"\nv1\n1700000000999\n+text/plain\n+restricted").unwrap();
    assert_eq!(
        m,
        ObjectMeta {
            size: 1024,
            etag: "\"abc\"".into(),
            version: "v1".into(),
            uploaded: 1_700_000_000,
            content_type: Some("text/plain".into()),
            classification: Some("restricted".into()),
        }
    );
    let none = ObjectMeta::unpack("0\ne\nv\n0\n-\n-").unwrap();
    assert_eq!((none.content_type, none.classification), (None, None));
    // An empty value is present; escapes come back as written.
    let esc = ObjectMeta::unpack("1\ne\\\\\nv\n0\n+\n+a\\nb\\\\c").unwrap();
    assert_eq!(esc.etag, "e\\");
    assert_eq!(esc.content_type.as_deref(), Some(""));
    assert_eq!(esc.classification.as_deref(), Some("a\nb\\c"));
    for bad in [
        "",
        "1\ne\nv\n0\n-",
        "1\ne\nv\n0\n-\n-\n-",
        "x\ne\nv\n0\n-\n-",
        "-1\ne\nv\n0\n-\n-",
        "1\ne\nv\n1.5\n-\n-",
        "1\ne\nv\n0\nx\n-",
        "1\ne\\x\nv\n0\n-\n-",
        "1\ne\\\nv\n0\n-\n-",
    ] {
        assert_eq!(ObjectMeta::unpack(bad), None, "{bad:?}");
    }
}

/// `src/objects.rs`' escape, in Rust: `\` first, then line breaks.
fn pack_object_meta(m: &ObjectMeta, uploaded_ms: u64) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('\n', "\\n");
    let opt = |s: &Option<String>| s.as_deref().map_or("-".to_owned(), |v| format!("+{}", esc(v)));
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        m.size,
        esc(&m.etag),
        esc(&m.version),
        uploaded_ms,
        opt(&m.content_type),
        opt(&m.classification)
    )
}

proptest! {
    /// Whatever an uploader stored (line breaks, backslashes, `+` and `-`
    /// at the start, any text), the packed metadata reads back as it was.
    #[test]
    fn any_object_metadata_survives_packing(
        size in any::<u64>(),
        etag in any::<String>(),
        version in any::<String>(),
        uploaded_ms in 0u64..(u64::MAX / 2),
        content_type in prop::option::of(".*|[\\\\\n+-]{0,6}"),
        classification in prop::option::of(".*|[\\\\\nn+-]{0,6}"),
    ) {
        let m = ObjectMeta { size, etag, version, uploaded: uploaded_ms / 1000, content_type, classification };
        prop_assert_eq!(ObjectMeta::unpack(&pack_object_meta(&m, uploaded_ms)), Some(m));
    }
}

/// The worker's inline JS packs exactly [`PACKED_HEADERS`], in that order:
/// the two lists live in two languages, so this test holds them together.
#[test]
fn the_worker_packs_the_headers_unpack_request_expects() {
    let edge = include_str!("../../../../src/lib.rs");
    let list = edge.split("const NAMES = [").nth(1).and_then(|r| r.split("];").next()).unwrap();
    let names: Vec<&str> = list.split(',').map(|n| n.trim().trim_matches('"')).filter(|n| !n.is_empty()).collect();
    assert_eq!(names, PACKED_HEADERS);
}

// ------------------------------------------------------------------ strict revocation
// (links to restricted objects are sealed: restricted requires it by default)

#[test]
fn strict_objects_consult_the_registry_after_kv_and_before_anything_is_served() {
    let cfg = cfg();
    let c = claims("/r/board.pdf");
    let url = link_url("/r/board.pdf", &seal(&cfg, &c));
    let mut w = World::with_object("/r/board.pdf", object(Some("restricted")));
    let d = w.run(&cfg, get(&url, T0 + 1), None);
    assert_eq!((code(&d), &w.trace[..]), (None, &["kv", "r2_get", "registry", "deliver"][..]));

    // Every scope, written to the registry only (KV has not caught up).
    let jti = c.jti.to_hex();
    for (scope, value) in [
        (RevocationScope::Jti, jti.as_str()),
        (RevocationScope::Sub, "alice"),
        (RevocationScope::Path, "/r/board.pdf"),
        (RevocationScope::Path, "/r/"),
        (RevocationScope::Kid, "k1"),
        (RevocationScope::All, ""),
    ] {
        let mut w = World::with_object("/r/board.pdf", object(Some("restricted")));
        w.revoke_strict_only(scope, value, T0 + 1);
        let d = w.run(&cfg, get(&url, T0 + 2), None);
        assert_eq!(code(&d), Some("revoked"), "{scope:?} {value}");
        assert_eq!(d.event.rule.as_deref(), Some(format!("revoked:{}", scope.as_str()).as_str()));
        assert!(!w.trace.contains(&"deliver"), "{scope:?}: {:?}", w.trace);
    }
    // A tenant entry, for a link of that tenant.
    let mut t = claims("/r/board.pdf");
    t.tenant = Some(Label::parse(Field::Tenant, "acme").unwrap());
    let mut w = World::with_object("/r/board.pdf", object(Some("restricted")));
    w.revoke_strict_only(RevocationScope::Tenant, "acme", T0 + 1);
    assert_eq!(code(&w.run(&cfg, get(&link_url("/r/board.pdf", &seal(&cfg, &t)), T0 + 2), None)), Some("revoked"));
}

#[test]
fn kv_objects_never_wait_for_the_registry() {
    let cfg = cfg();
    let c = claims("/i/memo.pdf");
    let url = link_url("/i/memo.pdf", &seal(&cfg, &c));
    for classification in [None, Some("public"), Some("internal"), Some("confidential")] {
        let mut w = World::with_object("/i/memo.pdf", object(classification));
        w.revoke_strict_only(RevocationScope::Sub, "alice", T0 + 1);
        w.fail = Some("registry");
        let d = w.run(&cfg, get(&url, T0 + 2), None);
        assert_eq!(code(&d), None, "{classification:?}: KV is the denylist of this rule");
        assert!(!w.trace.contains(&"registry"), "{classification:?}: {:?}", w.trace);
    }
}

#[test]
fn an_unreachable_registry_fails_strict_objects_closed() {
    let cfg = cfg();
    let c = claims("/r/board.pdf");
    let mut w = World::with_object("/r/board.pdf", object(Some("restricted")));
    w.fail = Some("registry");
    let d = w.run(&cfg, get(&link_url("/r/board.pdf", &seal(&cfg, &c)), T0 + 1), None);
    assert_eq!((code(&d), d.event.reason), (Some("store_unavailable"), Some("registry_unavailable")));
    assert!(!w.trace.contains(&"deliver"));
}

#[test]
fn the_policy_chooses_strict_revocation_per_classification() {
    let cfg = cfg_with(&[(
        "LINKGATE_POLICY",
        r#"{"classifications":{"internal":{"revocation":"strict"},"restricted":{"revocation":"kv"}}}"#,
    )]);
    let c = claims("/x/a.pdf");
    let url = link_url("/x/a.pdf", &seal(&cfg, &c));
    for (classification, strict) in [(Some("internal"), true), (Some("restricted"), false), (Some("public"), false)] {
        let mut w = World::with_object("/x/a.pdf", object(classification));
        w.revoke_strict_only(RevocationScope::Sub, "alice", T0 + 1);
        let d = w.run(&cfg, get(&url, T0 + 2), None);
        assert_eq!(code(&d), strict.then_some("revoked"), "{classification:?}");
        assert_eq!(w.trace.contains(&"registry"), strict, "{classification:?}: {:?}", w.trace);
    }
}

#[test]
fn strict_revocation_kills_bounded_use_links_before_a_use_is_consumed() {
    let cfg = cfg();
    let mut c = bounded("/r/board.pdf", 1);
    c.sub = Some(Label::parse(Field::Sub, "alice").unwrap());
    let t = seal(&cfg, &c);
    let mut w = World::with_object("/r/board.pdf", object(Some("restricted")));
    w.revoke_strict_only(RevocationScope::Jti, &c.jti.to_hex(), T0 + 1);
    let (f, body) = post_form("/r/board.pdf", &t, T0 + 2, false);
    let d = w.run(&cfg, f, Some(&body));
    assert_eq!(code(&d), Some("revoked"));
    assert_eq!(w.used(c.jti), 0);
    assert!(!w.trace.contains(&"consume"), "{:?}", w.trace);
}

// ------------------------------------------------------------------ redirect mode (issue 13)

const S3: [(&str, &str); 4] = [
    ("LINKGATE_S3_ACCESS_KEY_ID", "AKIDTEST"),
    ("LINKGATE_S3_SECRET_ACCESS_KEY", "secret/test+key"),
    ("LINKGATE_S3_BUCKET", "files"),
    ("LINKGATE_S3_ENDPOINT", "http://127.0.0.1:9000"),
];

fn redirect_claims(scope: &str) -> Claims {
    let mut c = claims(scope);
    c.mode = Some(Mode::Redirect);
    c
}

fn location(d: &Done) -> String {
    let Reply::Redirect { headers } = &d.reply else { panic!("{:?} {:?}", d.reply, d.event) };
    headers.iter().find(|(k, _)| *k == "location").map(|(_, v)| v.clone()).unwrap()
}

/// The URL the gate should have presigned, made by the presigner directly.
fn expected_url(cfg: &EdgeConfig, method: crate::presign::PresignMethod, key: &str, now: u64, secs: u64) -> String {
    use crate::presign::{presign, PresignRequest};
    let r = cfg.redirect.as_ref().unwrap();
    let disposition = crate::http::content_disposition(key.rsplit('/').next().unwrap());
    let req = PresignRequest {
        method,
        key,
        now,
        expires_secs: secs,
        content_disposition: Some(&disposition),
        content_type: None,
    };
    presign(&r.location, &r.credentials, &req).unwrap()
}

/// Without S3 settings, `redirect` behaves as docs/policy.md has always said:
/// streamed when the rule also allows stream, refused when it allows only redirect.
#[test]
fn without_credentials_redirect_falls_back_or_is_refused() {
    let cfg = cfg();
    assert!(cfg.redirect.is_none());
    let t = sign(&cfg, &redirect_claims("/a/b.pdf"));
    let mut w = World::with_object("/a/b.pdf", object(Some("public")));
    let d = w.run(&cfg, get(&link_url("/a/b.pdf", &t), T0 + 1), None);
    assert_eq!((d.reply.clone(), d.event.mode), (Reply::Delivered, Some("stream")));
    let only = cfg_with(&[("LINKGATE_POLICY", r#"{"classifications":{"public":{"modes":["redirect"]}}}"#)]);
    let t = sign(&only, &claims("/a/b.pdf"));
    let d = w.run(&only, get(&link_url("/a/b.pdf", &t), T0 + 1), None);
    assert_eq!((code(&d), d.event.reason), (Some("policy_denied"), Some("redirect_unavailable")));
    assert_eq!(d.event.rule.as_deref(), Some("public.modes"));
}

#[test]
fn a_redirect_link_gets_a_302_to_a_presigned_url_and_no_bytes() {
    use crate::presign::PresignMethod;
    let cfg = cfg_with(&S3);
    let t = sign(&cfg, &redirect_claims("/a/b.pdf"));
    let mut w = World::with_object("/a/b.pdf", object(None));
    let d = w.run(&cfg, get(&link_url("/a/b.pdf", &t), T0 + 1), None);
    assert_eq!(status(&d), 302);
    assert_eq!(w.trace, ["kv", "r2_head"], "metadata only: nothing fetched, nothing delivered");
    let Reply::Redirect { headers } = &d.reply else { panic!() };
    let header = |n: &str| headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str());
    assert_eq!(header("cache-control"), Some("no-store"));
    assert_eq!(header("content-length"), Some("0"));
    let url = location(&d);
    assert_eq!(url, expected_url(&cfg, PresignMethod::Get, "a/b.pdf", T0 + 1, 30), "default TTL 30 s");
    assert!(url.starts_with("http://127.0.0.1:9000/files/a/b.pdf?response-content-disposition="));
    assert!(!url.contains(&t), "the token never reaches storage");
    assert_eq!((d.event.mode, d.event.bytes, d.event.reason), (Some("redirect"), Some(0), Some("redirected")));
    assert_eq!(d.event.rule.as_deref(), Some("classification:internal"));
    // HEAD gets a URL signed for HEAD (a GET with it is refused by storage).
    let head = Facts { method: "HEAD".into(), ..get(&link_url("/a/b.pdf", &t), T0 + 1) };
    let d = w.run(&cfg, head, None);
    assert_eq!(location(&d), expected_url(&cfg, PresignMethod::Head, "a/b.pdf", T0 + 1, 30));
    // A link with 7 s left gets a URL living 7 s; the configured TTL caps it.
    let d = w.run(&cfg, get(&link_url("/a/b.pdf", &t), T0 + 3593), None);
    assert!(location(&d).contains("&X-Amz-Expires=7&"), "{}", location(&d));
    let long = cfg_with(&[S3[0], S3[1], S3[2], S3[3], ("LINKGATE_REDIRECT_TTL_SECS", "300")]);
    let d = w.run(&long, get(&link_url("/a/b.pdf", &t), T0 + 1), None);
    assert!(location(&d).contains("&X-Amz-Expires=300&"));
    // The link's file name and content type are signed in as overrides.
    let mut c = redirect_claims("/a/b.pdf");
    c.filename = Some(crate::token::FileName::parse("Q3 ü.pdf").unwrap());
    c.content_type = Some(crate::token::ContentType::parse("application/pdf").unwrap());
    let d = w.run(&cfg, get(&link_url("/a/b.pdf", &sign(&cfg, &c)), T0 + 1), None);
    let url = location(&d);
    assert!(url.contains("filename%2A%3DUTF-8%27%27Q3%2520%25C3%25BC.pdf"), "{url}");
    assert!(url.contains("&response-content-type=application%2Fpdf&"), "{url}");
}

/// A link that does not ask for a mode gets the rule's first mode; a link
/// that asks for `stream` is streamed even where redirects are configured.
#[test]
fn the_links_mode_and_the_rules_modes_decide() {
    let cfg = cfg_with(&S3);
    let mut w = World::with_object("/a/b.pdf", object(None));
    let t = sign(&cfg, &claims("/a/b.pdf"));
    let d = w.run(&cfg, get(&link_url("/a/b.pdf", &t), T0 + 1), None);
    assert_eq!(d.event.mode, Some("stream"), "internal's modes start with stream");
    let mut c = claims("/a/b.pdf");
    c.mode = Some(Mode::Stream);
    let d = w.run(&cfg, get(&link_url("/a/b.pdf", &sign(&cfg, &c)), T0 + 1), None);
    assert_eq!(d.event.mode, Some("stream"));
    let mut w = World::with_object("/a/b.pdf", object(Some("confidential")));
    let d = w.run(&cfg, get(&link_url("/a/b.pdf", &sign(&cfg, &redirect_claims("/a/b.pdf"))), T0 + 1), None);
    assert_eq!((code(&d), d.event.rule.as_deref()), (Some("policy_denied"), Some("confidential.modes")));
}

/// Bounded use: the GET is still the scanner-safe landing page; the
/// Download button's POST consumes one use and answers the 302 (no download
/// session: the presigned URL serves Range itself); HEAD never uses one.
#[test]
fn a_redirect_counts_as_a_use_of_a_bounded_link() {
    let cfg = cfg_with(&S3);
    let mut c = redirect_claims("/a/b.pdf");
    c.uses = NonZeroU32::new(1);
    let t = sign(&cfg, &c);
    let mut w = World::with_object("/a/b.pdf", object(None));
    let d = w.run(&cfg, Facts { accept: Some("text/html".into()), ..get(&link_url("/a/b.pdf", &t), T0 + 1) }, None);
    assert!(matches!(d.reply, Reply::Page { status: 200, .. }), "{:?}", d.reply);
    let head = Facts { method: "HEAD".into(), ..get(&link_url("/a/b.pdf", &t), T0 + 1) };
    assert_eq!(status(&w.run(&cfg, head, None)), 302);
    assert_eq!(w.used(c.jti), 0, "neither the landing page nor HEAD uses one");
    let (f, body) = post_form("/a/b.pdf", &t, T0 + 2, true);
    let d = w.run(&cfg, f, Some(&body));
    assert!(location(&d).starts_with("http://127.0.0.1:9000/files/a/b.pdf?"));
    assert_eq!(w.used(c.jti), 1);
    let (f, body) = post_form("/a/b.pdf", &t, T0 + 3, false);
    let d = w.run(&cfg, f, Some(&body));
    assert_eq!(code(&d), Some("used_up"));
}

/// Hybrid by policy: the rule's `redirect_above` sends large objects to a
/// presigned URL and streams small ones, for the same link.
#[test]
fn hybrid_rules_choose_the_mode_by_object_size() {
    let policy = ("LINKGATE_POLICY", r#"{"classifications":{"public":{"redirect_above":"4KiB"}}}"#);
    let cfg = cfg_with(&[S3[0], S3[1], S3[2], S3[3], policy]);
    let t = sign(&cfg, &claims("/a/"));
    let sized = |size| ObjectMeta { size, ..object(Some("public")) };
    let mut w = World::with_object("/a/big.bin", sized(4097));
    w.objects.insert("a/small.bin".into(), sized(4096));
    let d = w.run(&cfg, get(&link_url("/a/big.bin", &t), T0 + 1), None);
    assert_eq!((status(&d), d.event.mode), (302, Some("redirect")));
    let d = w.run(&cfg, get(&link_url("/a/small.bin", &t), T0 + 1), None);
    assert_eq!((status(&d), d.event.mode, d.reply), (200, Some("stream"), Reply::Delivered));
    // Restricted objects stream whatever their size.
    let mut c = claims("/a/");
    c.exp = T0 + 600;
    let t = seal(&cfg, &c);
    w.objects.insert("a/secret.bin".into(), ObjectMeta { size: 1 << 40, ..object(Some("restricted")) });
    let d = w.run(&cfg, get(&link_url("/a/secret.bin", &t), T0 + 1), None);
    assert_eq!((status(&d), d.event.mode), (200, Some("stream")));
    // Without presigning settings the big object streams too.
    let plain = cfg_with(&[policy]);
    let t = sign(&plain, &claims("/a/"));
    let d = w.run(&plain, get(&link_url("/a/big.bin", &t), T0 + 1), None);
    assert_eq!((status(&d), d.event.mode), (200, Some("stream")));
}

// ------------------------------------------------------------------ sealed links (issue 14)

fn seal(cfg: &EdgeConfig, c: &Claims) -> String {
    c.seal(cfg.keys.get(c.kid.as_str()).unwrap(), &[0x33; crate::sealed::NONCE_BYTES]).unwrap()
}

/// A restricted object (require_sealed by default) takes a sealed link and
/// refuses the same claims signed plain, with the rule that decided.
#[test]
fn restricted_objects_take_sealed_links_only() {
    let cfg = cfg();
    let c = claims("/r/board.pdf");
    let mut w = World::with_object("/r/board.pdf", object(Some("restricted")));
    let d = w.run(&cfg, get(&link_url("/r/board.pdf", &seal(&cfg, &c)), T0 + 1), None);
    assert_eq!(d.reply, Reply::Delivered, "{:?}", d.event);
    assert_eq!(d.event.jti.as_deref(), Some("05050505050505050505050505050505"));
    let d = w.run(&cfg, get(&link_url("/r/board.pdf", &sign(&cfg, &c)), T0 + 1), None);
    assert_eq!((status(&d), code(&d)), (403, Some("policy_denied")));
    assert_eq!(d.event.rule.as_deref(), Some("restricted.require_sealed"));
    // Other classifications take both.
    let mut w = World::with_object("/a/b.pdf", object(Some("confidential")));
    for t in [seal(&cfg, &claims("/a/b.pdf")), sign(&cfg, &claims("/a/b.pdf"))] {
        let d = w.run(&cfg, get(&link_url("/a/b.pdf", &t), T0 + 1), None);
        assert_eq!(d.reply, Reply::Delivered, "{:?}", d.event);
    }
    // A tampered sealed link never reaches a store.
    let mut raw = b64::decode(seal(&cfg, &c).as_bytes()).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 1;
    let mut w = World::with_object("/r/board.pdf", object(Some("restricted")));
    let d = w.run(&cfg, get(&link_url("/r/board.pdf", &b64::encode(&raw)), T0 + 1), None);
    assert_eq!((code(&d), d.event.reason), (Some("signature_invalid"), Some("bad_tag")));
    assert!(w.trace.is_empty(), "{:?}", w.trace);
}

/// The download session of a sealed bounded-use link is sealed too (its URL
/// is a redirect target, kept in the browser's history) and serves like
/// any session; a plain link's session stays plain.
#[test]
fn a_sealed_links_session_is_sealed() {
    let cfg = cfg_with(&[("LINKGATE_DOWNLOAD_GRACE_SECS", "60")]);
    let mut c = bounded("/r/board.pdf", 2);
    c.tenant = Some(Label::parse(Field::Tenant, "acme-holdings").unwrap());
    let t = seal(&cfg, &c);
    let mut w = World::with_object("/r/board.pdf", object(Some("restricted")));
    let (f, body) = post_form("/r/board.pdf", &t, T0 + 1, true);
    let d = w.run(&cfg, f, Some(&body));
    let Reply::SeeOther { location } = &d.reply else { panic!("{:?}", d.reply) };
    // Path-less (§17.7): the Location names neither the object nor anything else.
    let session = location.strip_prefix("/_lgs/").unwrap_or_else(|| panic!("{location}"));
    assert!(!location.contains("board"), "{location}");
    let raw = b64::decode(session.as_bytes()).unwrap();
    assert_eq!(raw[0], crate::sealed::SEALED_VERSION);
    for secret in [&b"acme-holdings"[..], b"alice", &c.jti.0] {
        assert!(!raw.windows(secret.len()).any(|w| w == secret), "{secret:?} in the session token");
    }
    let s = w.run(&cfg, get(location, T0 + 2), None);
    assert_eq!(s.reply, Reply::Delivered, "{:?}", s.event);
    // The sealed session is no link, and the link no session.
    let d = w.run(&cfg, get(&link_url("/r/board.pdf", session), T0 + 3), None);
    assert_eq!(code(&d), Some("signature_invalid"));
    let d = w.run(&cfg, get(&format!("/r/board.pdf?lgs={t}"), T0 + 3), None);
    assert_eq!(code(&d), Some("signature_invalid"));
    // A plain bounded link (to an object that allows it) gets a plain session.
    let plain = sign(&cfg, &bounded("/a/b.pdf", 2));
    let mut w = World::with_object("/a/b.pdf", object(None));
    let (f, body) = post_form("/a/b.pdf", &plain, T0 + 1, true);
    let d = w.run(&cfg, f, Some(&body));
    let Reply::SeeOther { location } = &d.reply else { panic!("{:?}", d.reply) };
    let raw = b64::decode(location.split_once("lgs=").unwrap().1.as_bytes()).unwrap();
    assert_eq!(raw[0], 0x01);
}

const PLAIN_ORIGIN: [(&str, &str); 3] = [
    ("LINKGATE_ORIGIN", "https://internal.example/files"),
    ("LINKGATE_ORIGIN_SECRET_HEADER", "x-origin-secret"),
    ("LINKGATE_ORIGIN_SECRET", "origin-shared-secret-0123"),
];

fn origin_head_answer(classification: Option<&str>) -> OriginHead {
    let mut h = vec![
        ("content-length", "5000".to_owned()),
        ("etag", "\"o1\"".to_owned()),
        ("last-modified", crate::http::http_date(T0 - 100)),
        ("content-type", "application/pdf".to_owned()),
    ];
    if let Some(c) = classification {
        h.push(("x-linkgate-classification", c.to_owned()));
    }
    (200, h)
}

/// With `LINKGATE_ORIGIN`, metadata comes from the origin's HEAD (never R2),
/// policy reads its classification, and the planned body is a GET to the
/// origin that carries only the key, the Range and the origin's secret:
/// never the token, the query, or a client header.
#[test]
fn an_origin_replaces_r2_and_never_sees_the_token() {
    let cfg = cfg_with(&PLAIN_ORIGIN);
    let t = sign(&cfg, &claims("/a/b c.pdf"));
    let mut w = World { origin: Some(Ok(origin_head_answer(None))), ..World::default() };
    let mut facts = get(&link_url("/a/b%20c.pdf", &t), T0 + 1);
    facts.range = Some("bytes=100-199".into());
    let d = w.run(&cfg, facts, None);
    assert_eq!((status(&d), d.event.reason), (206, Some("served")));
    assert_eq!(w.trace, ["kv", "origin_head", "deliver"], "no R2 read at all");
    let head = &w.origin_heads[0];
    assert_eq!((head.method, head.url.as_str()), ("HEAD", "https://internal.example/files/a/b%20c.pdf"));
    assert_eq!(head.headers, vec![("x-origin-secret".to_owned(), "origin-shared-secret-0123".to_owned())]);
    let plan = w.delivered.clone().unwrap();
    let body = plan.body.unwrap();
    let get_req = body.origin.unwrap();
    assert_eq!((get_req.method, get_req.url.as_str()), ("GET", "https://internal.example/files/a/b%20c.pdf"));
    assert_eq!(
        get_req.headers,
        vec![
            ("x-origin-secret".to_owned(), "origin-shared-secret-0123".to_owned()),
            ("range".to_owned(), "bytes=100-199".to_owned())
        ]
    );
    assert_eq!((body.range, body.version.as_str()), (Some((100, 100)), "\"o1\""));
    for r in [head, &get_req] {
        let all = format!("{} {:?}", r.url, r.headers);
        assert!(!all.contains(&t) && !all.contains("lg=") && !all.contains("dl/1"), "{all}");
    }
    let cc = plan.headers.iter().find(|(k, _)| *k == "content-range").map(|(_, v)| v.as_str());
    assert_eq!(cc, Some("bytes 100-199/5000"));

    // Policy reads the origin's classification header (restricted: a sealed link).
    let mut w = World { origin: Some(Ok(origin_head_answer(Some("restricted")))), ..World::default() };
    let sealed = seal(&cfg, &claims("/a/b c.pdf"));
    let d = w.run(&cfg, get(&link_url("/a/b%20c.pdf", &sealed), T0 + 1), None);
    assert_eq!(d.event.rule.as_deref(), Some("classification:restricted"));
    assert_eq!(w.trace, ["kv", "origin_head", "registry", "deliver"], "restricted: strict revocation");

    // The S3 origin signs its requests with SigV4 headers.
    let s3 = cfg_with(&[S3[0], S3[1], S3[2], S3[3], ("LINKGATE_ORIGIN", "s3")]);
    let t3 = sign(&s3, &claims("/a/b.pdf"));
    let mut w = World { origin: Some(Ok(origin_head_answer(None))), ..World::default() };
    let d = w.run(&s3, get(&link_url("/a/b.pdf", &t3), T0 + 1), None);
    assert_eq!(status(&d), 200);
    let names: Vec<&str> = w.origin_heads[0].headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["authorization", "x-amz-content-sha256", "x-amz-date"]);
    assert_eq!(w.origin_heads[0].url, "http://127.0.0.1:9000/files/a/b.pdf");
}

/// Origin failures fail closed with their own reason; a missing object is
/// `not_found`; a delivery whose origin GET went wrong gives back the use.
#[test]
fn origin_failures_fail_closed() {
    use crate::origin::OriginFailure;
    let cfg = cfg_with(&PLAIN_ORIGIN);
    let t = sign(&cfg, &claims("/a/b.pdf"));
    for (answer, want_status, want_code, want_reason) in [
        (Err(OriginFailure::Timeout), 503, "store_unavailable", "origin_timeout"),
        (Err(OriginFailure::Unreachable), 503, "store_unavailable", "origin_unreachable"),
        (Ok((403, Vec::new())), 503, "store_unavailable", "origin_refused"),
        (Ok((500, Vec::new())), 503, "store_unavailable", "origin_error"),
        (Ok((302, vec![("location", "https://elsewhere/".to_owned())])), 503, "store_unavailable", "origin_error"),
        (Ok((404, Vec::new())), 404, "not_found", "no_object"),
    ] {
        let mut w = World { origin: Some(answer), ..World::default() };
        let d = w.run(&cfg, get(&link_url("/a/b.pdf", &t), T0 + 1), None);
        assert_eq!((status(&d), code(&d), d.event.reason), (want_status, Some(want_code), Some(want_reason)));
        let Reply::Problem { body, .. } = &d.reply else { panic!("a problem") };
        assert!(!body.contains("elsewhere") && !body.contains(&t));
    }
    let mut w = World {
        origin: Some(Ok(origin_head_answer(None))),
        deliver_fails: Some(DeliveryFailure::Origin(OriginFailure::Timeout)),
        ..World::default()
    };
    let d = w.run(&cfg, get(&link_url("/a/b.pdf", &t), T0 + 1), None);
    assert_eq!((status(&d), d.event.reason), (503, Some("origin_timeout")));
}

// ------------------------------------------------------------------ path-less links (§17.7)

/// A sealed link's path-less URL (`/_lg/<token>`) opens its object; a
/// folder link's takes an object name after the token; the landing page of a
/// bounded sealed link posts to it; nothing else changes in the decision.
#[test]
fn path_less_links_open_what_their_token_says() {
    let cfg = cfg();
    let c = claims("/r/board.pdf");
    let t = seal(&cfg, &c);
    let mut w = World::with_object("/r/board.pdf", object(Some("restricted")));
    let d = w.run(&cfg, get(&format!("/_lg/{t}"), T0 + 1), None);
    assert_eq!((d.reply.clone(), d.event.path.as_deref()), (Reply::Delivered, Some("/r/board.pdf")), "{:?}", d.event);
    // A name after an object link's token asks for another object.
    let d = w.run(&cfg, get(&format!("/_lg/{t}/other.pdf"), T0 + 1), None);
    assert_eq!(code(&d), Some("scope_mismatch"));
    // A second token in the query is refused as in any query.
    let d = w.run(&cfg, get(&format!("/_lg/{t}?lg={t}"), T0 + 1), None);
    assert_eq!(code(&d), Some("token_malformed"));
    // Forged, unknown-key and unreadable tokens: the same refusals as in a query.
    let mut raw = b64::decode(t.as_bytes()).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 1;
    let forged = b64::encode(&raw);
    assert_eq!(code(&w.run(&cfg, get(&format!("/_lg/{forged}"), T0 + 1), None)), Some("signature_invalid"));
    let other = cfg_with(&[("LINKGATE_KEYS", &format!("zz:{}", b64::encode(&[9u8; 32])))]);
    assert_eq!(code(&w.run(&other, get(&format!("/_lg/{t}"), T0 + 1), None)), Some("key_unknown"));
    assert_eq!(code(&w.run(&cfg, get("/_lg/!!", T0 + 1), None)), Some("token_malformed"));
    assert_eq!(code(&w.run(&cfg, get("/_lg/", T0 + 1), None)), Some("token_missing"));
    // A folder link: the object name follows the token.
    let mut f = claims("/r/");
    f.scope = Scope::parse("/r/").unwrap();
    let ft = seal(&cfg, &f);
    let d = w.run(&cfg, get(&format!("/_lg/{ft}/board.pdf"), T0 + 1), None);
    assert_eq!(d.reply, Reply::Delivered, "{:?}", d.event);
    let d = w.run(&cfg, get(&format!("/_lg/{ft}/x/../board.pdf"), T0 + 1), None);
    assert_eq!(code(&d), Some("path_invalid"));
    // A plain token works in the form too (its claims are readable anyway).
    let mut p = claims("/a/b.pdf");
    p.sub = None;
    let mut w = World::with_object("/a/b.pdf", object(None));
    assert_eq!(w.run(&cfg, get(&format!("/_lg/{}", sign(&cfg, &p)), T0 + 1), None).reply, Reply::Delivered);
    // The landing page of a bounded sealed link posts to its path-less URL.
    let mut b = bounded("/r/board.pdf", 1);
    b.sub = Some(Label::parse(Field::Sub, "alice").unwrap());
    let bt = seal(&cfg, &b);
    let mut w = World::with_object("/r/board.pdf", object(Some("restricted")));
    let page = Facts { accept: Some("text/html".into()), ..get(&format!("/_lg/{bt}"), T0 + 1) };
    let Reply::Page { html, .. } = w.run(&cfg, page, None).reply else { panic!() };
    assert!(html.contains(&format!("action=\"/_lg/{bt}\"")), "{html}");
    assert!(!html.contains("action=\"/r/"), "{html}");
    // The form's POST: to the path-less URL, the token in the body as well.
    let (mut post, body) = post_form("/r/board.pdf", &bt, T0 + 2, true);
    post.url = format!("https://{HOST}/_lg/{bt}");
    let d = w.run(&cfg, post, Some(&body));
    let Reply::SeeOther { location } = &d.reply else { panic!("{:?} {:?}", d.reply, d.event) };
    assert!(location.starts_with("/_lgs/"), "{location}");
    assert_eq!(w.used(b.jti), 1);
    assert_eq!(w.run(&cfg, get(location, T0 + 3), None).reply, Reply::Delivered);
}

// ------------------------------------------------------------------ Ed25519 links (issue 20)

mod ed25519_links {
    use super::*;
    use crate::ed25519::native::PrivateKey;

    /// Tenant keys: acme may sign only tenant acme under /t/acme/; `ops` is
    /// unconstrained. The HMAC ring (k1, k0) is the usual one.
    fn keys() -> (PrivateKey, PrivateKey, EdgeConfig) {
        let acme = PrivateKey::from_seed(KeyId::parse("acme").unwrap(), &[0x11; 32]);
        let ops = PrivateKey::from_seed(KeyId::parse("ops").unwrap(), &[0x22; 32]);
        let public = format!("{}@tenant=acme;prefix=/t/acme/,{}", acme.public_entry(), ops.public_entry());
        let cfg = cfg_with(&[("LINKGATE_PUBLIC_KEYS", &public)]);
        (acme, ops, cfg)
    }

    fn tenant(scope: &str, t: &str) -> Claims {
        let mut c = claims(scope);
        c.tenant = Some(Label::parse(Field::Tenant, t).unwrap());
        c
    }

    #[test]
    fn a_link_signed_with_a_private_key_is_served_after_one_signature_check() {
        let (acme, ops, cfg) = keys();
        let mut w = World::with_object("/t/acme/r.pdf", object(None));
        let d = w.run(
            &cfg,
            get(&link_url("/t/acme/r.pdf", &acme.sign(&tenant("/t/acme/r.pdf", "acme")).unwrap()), T0 + 1),
            None,
        );
        assert_eq!(d.reply, Reply::Delivered, "{:?}", d.event);
        assert_eq!(d.event.kid.as_deref(), Some("acme"));
        assert_eq!(w.trace.first(), Some(&"verify_signature"));
        let d =
            w.run(&cfg, get(&link_url("/t/acme/r.pdf", &ops.sign(&claims("/t/acme/r.pdf")).unwrap()), T0 + 1), None);
        assert_eq!(d.reply, Reply::Delivered, "{:?}", d.event);
    }

    #[test]
    fn a_tenant_key_cannot_sign_for_another_tenant_or_folder() {
        let (acme, _, cfg) = keys();
        let mut w = World::with_object("/t/globex/r.pdf", object(None));
        for c in [
            tenant("/t/globex/r.pdf", "acme"),   // another tenant's folder
            tenant("/t/globex/r.pdf", "globex"), // another tenant's claim and folder
            tenant("/t/acme/../globex/r.pdf".replace("/../", "/x/").as_str(), "globex"),
            claims("/t/acme/r.pdf"), // no tenant claim
            tenant("/", "acme"),     // the whole bucket
        ] {
            let path = match &c.scope {
                Scope::Object(p) => p.as_str().to_owned(),
                Scope::Prefix(p) => format!("{}r.pdf", p.as_str()),
            };
            w.trace.clear();
            let d = w.run(&cfg, get(&link_url(&path, &acme.sign(&c).unwrap()), T0 + 1), None);
            assert_eq!(
                (status(&d), code(&d), d.event.reason),
                (403, Some("key_unknown"), Some("key_constraint")),
                "{c:?}"
            );
            // Decided after the signature, before any store is read.
            assert_eq!(w.trace, vec!["verify_signature"]);
        }
    }

    #[test]
    fn forged_and_unknown_tokens_are_refused_without_a_signature_check() {
        let (acme, _, cfg) = keys();
        let mut w = World::with_object("/t/acme/r.pdf", object(None));
        let c = tenant("/t/acme/r.pdf", "acme");
        // Unknown kid: refused before WebCrypto.
        let stranger = PrivateKey::from_seed(KeyId::parse("stranger").unwrap(), &[0x33; 32]);
        let d = w.run(&cfg, get(&link_url("/t/acme/r.pdf", &stranger.sign(&c).unwrap()), T0 + 1), None);
        assert_eq!((code(&d), d.event.reason), (Some("key_unknown"), Some("unknown_kid")));
        assert!(w.trace.is_empty(), "{:?}", w.trace);
        // An HMAC key of the edge named like the public key is not that key:
        // a v1 token naming "acme" finds no HMAC key.
        let hmac = crate::keys::Key::new(KeyId::parse("acme").unwrap(), &[7u8; 32]).unwrap();
        let d = w.run(&cfg, get(&link_url("/t/acme/r.pdf", &c.sign(&hmac).unwrap()), T0 + 1), None);
        assert_eq!((code(&d), d.event.reason), (Some("key_unknown"), Some("unknown_kid")));
        // Non-canonical S (S + L): refused before WebCrypto.
        let good = acme.sign(&c).unwrap();
        let mut raw = b64::decode(good.as_bytes()).unwrap();
        let n = raw.len();
        raw[n - 1] |= 0xf0;
        let d = w.run(&cfg, get(&link_url("/t/acme/r.pdf", &b64::encode(&raw)), T0 + 1), None);
        assert_eq!((code(&d), d.event.reason), (Some("signature_invalid"), Some("bad_tag")));
        assert!(w.trace.is_empty(), "{:?}", w.trace);
        // A flipped signature bit: WebCrypto says no.
        let mut raw = b64::decode(good.as_bytes()).unwrap();
        raw[n - 40] ^= 1;
        let d = w.run(&cfg, get(&link_url("/t/acme/r.pdf", &b64::encode(&raw)), T0 + 1), None);
        assert_eq!((code(&d), d.event.reason), (Some("signature_invalid"), Some("bad_tag")));
        assert_eq!(w.trace, vec!["verify_signature"]);
        // A failing platform check fails closed.
        w.fail = Some("webcrypto");
        let d = w.run(&cfg, get(&link_url("/t/acme/r.pdf", &good), T0 + 1), None);
        assert_eq!((code(&d), d.event.reason), (Some("signature_invalid"), Some("bad_tag")));
    }

    #[test]
    fn same_verification_order_and_codes_as_hmac_links() {
        let (acme, _, cfg) = keys();
        let mut w = World::with_object("/t/acme/r.pdf", object(None));
        let c = tenant("/t/acme/r.pdf", "acme");
        let t = acme.sign(&c).unwrap();
        // Expired, out of scope, revoked by kid: the v1 codes.
        let d = w.run(&cfg, get(&link_url("/t/acme/r.pdf", &t), T0 + 3600), None);
        assert_eq!(code(&d), Some("expired"));
        let d = w.run(&cfg, get(&link_url("/t/acme/other.pdf", &t), T0 + 1), None);
        assert_eq!(code(&d), Some("scope_mismatch"));
        w.revoke(RevocationScope::Kid, "acme", T0);
        let d = w.run(&cfg, get(&link_url("/t/acme/r.pdf", &t), T0 + 1), None);
        assert_eq!((code(&d), d.event.reason), (Some("revoked"), Some("revoked_kid")));
    }

    #[test]
    fn a_bounded_use_ed25519_link_consumes_and_never_gets_an_edge_signed_session() {
        // The edge holds no key of this kid, so it cannot sign a session for it:
        // a browser's POST is served directly (no 303).
        let (_, ops, cfg) = keys();
        let mut w = World::with_object("/a/b.pdf", object(None));
        let b = bounded("/a/b.pdf", 2);
        let (f, body) = post_form("/a/b.pdf", &ops.sign(&b).unwrap(), T0 + 1, true);
        let d = w.run(&cfg, f, Some(&body));
        assert_eq!(d.reply, Reply::Delivered, "{:?}", d.event);
        assert_eq!(w.used(b.jti), 1);
    }

    #[test]
    fn the_path_less_form_reads_an_ed25519_token_like_a_v1_one() {
        // `/_lg/<token>`: the scope comes from the (unverified) claims, then
        // the whole verification runs, signature and constraints included.
        let (acme, _, cfg) = keys();
        let mut w = World::with_object("/t/acme/r.pdf", object(None));
        let t = acme.sign(&tenant("/t/acme/r.pdf", "acme")).unwrap();
        assert_eq!(w.run(&cfg, get(&format!("/_lg/{t}"), T0 + 1), None).reply, Reply::Delivered);
        let other = acme.sign(&tenant("/t/globex/r.pdf", "acme")).unwrap();
        assert_eq!(code(&w.run(&cfg, get(&format!("/_lg/{other}"), T0 + 1), None)), Some("key_unknown"));
    }

    #[test]
    fn inspect_takes_an_outside_verifiers_answer() {
        // The admin API's inspect in the Worker asks WebCrypto: the core
        // states the question and takes the answer.
        use crate::inspect::{inspect_with, signature_question, Facts as InspectFacts};
        let (acme, _, cfg) = keys();
        let t = acme.sign(&tenant("/t/acme/r.pdf", "acme")).unwrap();
        let facts = InspectFacts { token: Ok(&t), now: T0 + 1, ..Default::default() };
        let (pk, message, sig) = signature_question(&cfg.keys, &facts).unwrap();
        assert!(crate::ed25519::native::verify(&pk, &message, &sig));
        assert_eq!(inspect_with(&cfg.keys, &cfg.time, &facts, Some(true)).code, None);
        assert_eq!(inspect_with(&cfg.keys, &cfg.time, &facts, Some(false)).reason, Some(Reason::BadTag));
        let other = acme.sign(&tenant("/t/globex/r.pdf", "acme")).unwrap();
        let facts = InspectFacts { token: Ok(&other), now: T0 + 1, ..Default::default() };
        assert_eq!(inspect_with(&cfg.keys, &cfg.time, &facts, Some(true)).reason, Some(Reason::KeyConstraint));
        // No question for v1 tokens or unknown kids.
        let v1 = sign(&cfg, &claims("/a/b.pdf"));
        assert!(signature_question(&cfg.keys, &InspectFacts { token: Ok(&v1), ..Default::default() }).is_none());
    }

    #[test]
    fn a_kid_in_both_rings_or_a_weak_public_key_is_a_configuration_error() {
        let k = PrivateKey::from_seed(KeyId::parse("k1").unwrap(), &[1; 32]);
        let mut vars: HashMap<String, String> = HashMap::new();
        vars.insert("LINKGATE_KEYS".into(), format!("k1:{}", b64::encode(&[7u8; 32])));
        vars.insert("LINKGATE_PUBLIC_KEYS".into(), k.public_entry());
        assert!(EdgeConfig::from_lookup(&|n: &str| vars.get(n).cloned()).is_err());
        vars.insert("LINKGATE_PUBLIC_KEYS".into(), format!("p:{}", b64::encode(&[0; 32])));
        assert!(EdgeConfig::from_lookup(&|n: &str| vars.get(n).cloned()).is_err());
    }
}

// ------------------------------------------------- Common Access Tokens

const CAT_SECRET: [u8; 32] = [3u8; 32];

fn cat_cfg() -> EdgeConfig {
    let keys = format!("c1:{}", b64::encode(&CAT_SECRET));
    cfg_with(&[("LINKGATE_CAT_KEYS", &keys), ("LINKGATE_CAT_ISSUERS", "https://tokens.example")])
}

fn cat_claims() -> crate::cat::MintCat {
    crate::cat::MintCat {
        kid: "c1".into(),
        iss: Some("https://tokens.example".into()),
        exp: Some(T0 + 3600),
        iat: Some(T0),
        cti: Some(vec![0xca; 16]),
        cwt_tag: true,
        ..Default::default()
    }
}

fn cat_token(m: &crate::cat::MintCat) -> String {
    crate::cat::mint(&CAT_SECRET, m).unwrap()
}

fn cat_get(path: &str, token: &str, now: u64) -> Facts {
    Facts { cat_header: Some(token.into()), ..get(path, now) }
}

#[test]
fn a_cat_in_any_configured_carrier_opens_the_object_and_is_audited_as_cat() {
    let cfg = cat_cfg();
    let t = cat_token(&cat_claims());
    let carriers = [
        cat_get("/v/a.ts", &t, T0 + 1),
        Facts { common_access_token: Some(t.clone()), ..get("/v/a.ts", T0 + 1) },
        Facts { cookie: Some(format!("a=1; CTA-Common-Access-Token={t}")), ..get("/v/a.ts", T0 + 1) },
        Facts { cookie: Some(format!("Common-Access-Token={t}")), ..get("/v/a.ts", T0 + 1) },
        get(&format!("/v/a.ts?CAT={t}"), T0 + 1),
        get(&format!("/v/a.ts?x=1&cat={t}"), T0 + 1),
    ];
    for facts in carriers {
        let mut w = World::with_object("/v/a.ts", object(None));
        let d = w.run(&cfg, facts, None);
        assert_eq!((d.reply.clone(), d.event.status), (Reply::Delivered, 200));
        assert_eq!(d.event.issued_by.as_deref(), Some("cat"));
        assert_eq!(d.event.jti.as_deref(), Some("cacacacacacacacacacacacacacacaca"));
        assert_eq!(d.event.kid.as_deref(), Some("c1"));
        assert_eq!(d.event.tenant.as_deref(), Some("https://tokens.example"));
        assert_eq!(w.trace, ["kv", "r2_get", "deliver"]);
        assert!(!d.event.to_json().contains(&t), "the token never reaches the audit event");
    }
}

#[test]
fn cats_are_off_unless_configured() {
    let t = cat_token(&cat_claims());
    let mut w = World::with_object("/v/a.ts", object(None));
    let d = w.run(&cfg(), cat_get("/v/a.ts", &t, T0 + 1), None);
    assert_eq!(code(&d), Some("token_missing"));
    // And a listed source list narrows where a CAT is looked for.
    let keys = format!("c1:{}", b64::encode(&CAT_SECRET));
    let only_query = cfg_with(&[("LINKGATE_CAT_KEYS", &keys), ("LINKGATE_CAT_SOURCES", "query:token")]);
    let d = w.run(&only_query, cat_get("/v/a.ts", &t, T0 + 1), None);
    assert_eq!(code(&d), Some("token_missing"));
    let d = w.run(&only_query, get(&format!("/v/a.ts?token={t}"), T0 + 1), None);
    assert_eq!(d.event.status, 200);
}

#[test]
fn two_tokens_of_any_kind_are_malformed_and_cost_no_io() {
    let cfg = cat_cfg();
    let t = cat_token(&cat_claims());
    let lg = sign(&cfg, &claims("/v/"));
    for (facts, reason) in [
        (Facts { cookie: Some(format!("Common-Access-Token={t}")), ..cat_get("/v/a.ts", &t, T0) }, "duplicate_token"),
        (get(&format!("/v/a.ts?CAT={t}&cat={t}"), T0), "duplicate_token"),
        (cat_get(&format!("/v/a.ts?lg={lg}"), &t, T0), "two_tokens"),
    ] {
        let mut w = World::with_object("/v/a.ts", object(None));
        let d = w.run(&cfg, facts, None);
        assert_eq!((code(&d), d.event.reason), (Some("token_malformed"), Some(reason)));
        assert!(w.trace.is_empty());
    }
}

#[test]
fn forged_or_unreadable_cats_refuse_before_any_io() {
    let cfg = cat_cfg();
    let good = cat_token(&cat_claims());
    let forged = crate::cat::mint(&[4u8; 32], &cat_claims()).unwrap();
    let other_kid = cat_token(&crate::cat::MintCat { kid: "k1".into(), ..cat_claims() });
    for (token, want) in [
        (forged.as_str(), "signature_invalid"),
        (other_kid.as_str(), "key_unknown"),
        ("not-cbor", "token_malformed"),
        (&good[..good.len() - 3], "token_malformed"),
    ] {
        let mut w = World::with_object("/v/a.ts", object(None));
        let d = w.run(&cfg, cat_get("/v/a.ts", token, T0 + 1), None);
        assert_eq!(code(&d), Some(want), "{token}");
        assert!(w.trace.is_empty() && w.country_asked == 0);
        assert!(d.event.jti.is_none() && d.event.issued_by.is_none());
    }
    // A link key never verifies a CAT, even under the same kid.
    let link_key_cat = crate::cat::mint(&[7u8; 32], &crate::cat::MintCat { kid: "k1".into(), ..cat_claims() }).unwrap();
    let d = World::default().run(&cfg, cat_get("/v/a.ts", &link_key_cat, T0 + 1), None);
    assert_eq!(code(&d), Some("key_unknown"));
}

#[test]
fn authentic_cat_refusals_carry_the_claims_and_their_codes() {
    let cfg = cat_cfg();
    let cases: Vec<(crate::cat::MintCat, u64, &str, &str)> = vec![
        (cat_claims(), T0 + 3600, "expired", "after_exp"),
        (crate::cat::MintCat { catu: vec![(3, 1, "/audio/".into())], ..cat_claims() }, T0, "scope_mismatch", "cat_uri"),
        (
            crate::cat::MintCat { catu: vec![(1, 0, "x.example".into())], ..cat_claims() },
            T0,
            "host_mismatch",
            "other_host",
        ),
        (
            crate::cat::MintCat { catnip: vec![Cidr::parse("10.0.0.0/8").unwrap()], ..cat_claims() },
            T0,
            "ip_mismatch",
            "outside_ip_ranges",
        ),
        (crate::cat::MintCat { catm: vec!["HEAD".into()], ..cat_claims() }, T0, "method_not_allowed", "method"),
        (crate::cat::MintCat { crit: vec![323], ..cat_claims() }, T0, "policy_denied", "cat_critical"),
        (
            crate::cat::MintCat { iss: Some("https://other.example".into()), ..cat_claims() },
            T0,
            "policy_denied",
            "cat_issuer",
        ),
        (crate::cat::MintCat { exp: None, ..cat_claims() }, T0, "policy_denied", "cat_no_expiry"),
    ];
    for (m, now, want, reason) in cases {
        let mut w = World::with_object("/v/a.ts", object(None));
        let d = w.run(&cfg, cat_get("/v/a.ts", &cat_token(&m), now), None);
        assert_eq!((code(&d), d.event.reason), (Some(want), Some(reason)));
        assert_eq!(d.event.issued_by.as_deref(), Some("cat"), "{reason}");
        assert_eq!(d.event.jti.as_deref(), Some("cacacacacacacacacacacacacacacaca"), "{reason}");
        assert!(w.trace.is_empty(), "{reason}: refused before the denylist");
    }
}

#[test]
fn a_cat_is_revoked_by_its_cti_its_issuer_or_its_path() {
    let cfg = cat_cfg();
    let t = cat_token(&cat_claims());
    for (scope, value, reason) in [
        (RevocationScope::Jti, "cacacacacacacacacacacacacacacaca", "revoked_jti"),
        (RevocationScope::Tenant, "https://tokens.example", "revoked_tenant"),
        (RevocationScope::Path, "/v/", "revoked_path"),
        (RevocationScope::Kid, "c1", "revoked_kid"),
    ] {
        let mut w = World::with_object("/v/a.ts", object(None));
        w.revoke(scope, value, T0 + 1);
        let d = w.run(&cfg, cat_get("/v/a.ts", &t, T0 + 2), None);
        assert_eq!((code(&d), d.event.reason), (Some("revoked"), Some(reason)));
    }
}

#[test]
fn catreplay_prohibited_is_one_use_consumed_by_the_get_itself() {
    let cfg = cat_cfg();
    let t = cat_token(&crate::cat::MintCat { catreplay: Some(1), ..cat_claims() });
    let jti = Jti([0xca; 16]);
    let mut w = World::with_object("/v/a.ts", object(None));
    // HEAD never uses one.
    let head = Facts { method: "HEAD".into(), ..cat_get("/v/a.ts", &t, T0 + 1) };
    assert_eq!(w.run(&cfg, head, None).event.status, 200);
    assert_eq!(w.used(jti), 0);
    // A browser's GET downloads (no landing page, no session redirect).
    let browser = Facts { accept: Some("text/html".into()), ..cat_get("/v/a.ts", &t, T0 + 2) };
    let d = w.run(&cfg, browser, None);
    assert_eq!((d.reply.clone(), d.event.status), (Reply::Delivered, 200));
    assert_eq!(w.used(jti), 1);
    assert!(w.trace.contains(&"consume"));
    // The same client may resume its download within the grace window.
    let resume = Facts { range: Some("bytes=100-".into()), ..cat_get("/v/a.ts", &t, T0 + 3) };
    assert_eq!(w.run(&cfg, resume, None).event.status, 206);
    assert_eq!(w.used(jti), 1);
    // Another GET, or another client's Range, finds it used up.
    assert_eq!(code(&w.run(&cfg, cat_get("/v/a.ts", &t, T0 + 4), None)), Some("used_up"));
    let other = Facts {
        client_ip: Some("203.0.113.1".into()),
        range: Some("bytes=100-".into()),
        ..cat_get("/v/a.ts", &t, T0 + 5)
    };
    assert_eq!(code(&w.run(&cfg, other, None)), Some("used_up"));
    assert_eq!(w.used(jti), 1);
}

#[test]
fn a_cats_range_without_an_open_download_consumes_its_use() {
    let cfg = cat_cfg();
    let t = cat_token(&crate::cat::MintCat { catreplay: Some(1), ..cat_claims() });
    let mut w = World::with_object("/v/a.ts", object(None));
    let first = Facts { range: Some("bytes=100-".into()), ..cat_get("/v/a.ts", &t, T0 + 1) };
    assert_eq!(w.run(&cfg, first, None).event.status, 206);
    assert_eq!(w.used(Jti([0xca; 16])), 1);
}

#[test]
fn policy_still_judges_a_cat() {
    let cfg = cat_cfg();
    // confidential requires a sub by default? Use restricted: it requires an IP binding.
    let t = cat_token(&cat_claims());
    let mut w = World::with_object("/v/a.ts", object(Some("restricted")));
    let d = w.run(&cfg, cat_get("/v/a.ts", &t, T0 + 1), None);
    assert_eq!(code(&d), Some("policy_denied"));
    assert_eq!(d.event.reason, Some("policy"));
}

#[test]
fn a_cat_response_is_never_public_downstream() {
    let cfg = cat_cfg();
    let header = |d: &Delivery, name: &str| d.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
    // The same public object: a link may be public, a CAT stays private.
    let mut w = World::with_object("/v/a.ts", object(Some("public")));
    w.run(&cfg, get(&link_url("/v/a.ts", &sign(&cfg, &claims("/v/"))), T0 + 1), None);
    let link_cc = header(&w.delivered.take().unwrap(), "cache-control").unwrap();
    assert!(link_cc.contains("public"), "{link_cc}");
    w.run(&cfg, cat_get("/v/a.ts", &cat_token(&cat_claims()), T0 + 1), None);
    let cat_cc = header(&w.delivered.unwrap(), "cache-control").unwrap();
    assert!(cat_cc.contains("private") && !cat_cc.contains("public"), "{cat_cc}");
}

// ------------------------------------------------------------------ media sessions (issue 16)

fn media_cfg() -> EdgeConfig {
    cfg_with(&[
        ("LINKGATE_POLICY", r#"{"classifications":{"public":{"media":"cookie"},"internal":{"media":"cookie"}}}"#),
        ("LINKGATE_MEDIA_ORIGINS", "https://player.example"),
    ])
}

fn media_world(classification: Option<&str>) -> World {
    let mut w = World::default();
    for p in ["m/show/master.m3u8", "m/show/seg1.ts", "m/other/seg1.ts"] {
        w.objects.insert(p.to_owned(), object(classification));
    }
    w
}

/// The `lgm` cookie the last delivery set, as `(token, attributes)`.
fn set_cookie_of(w: &World) -> Option<(String, String)> {
    let plan = w.delivered.as_ref()?;
    let v = plan.headers.iter().find(|(k, _)| *k == "set-cookie")?.1.clone();
    let (pair, attrs) = v.split_once("; ")?;
    Some((pair.strip_prefix("lgm=")?.to_owned(), attrs.to_owned()))
}

fn header_of(w: &World, name: &str) -> Option<String> {
    w.delivered.as_ref()?.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
}

fn with_cookie(mut f: Facts, token: &str) -> Facts {
    f.cookie = Some(format!("theme=dark; lgm={token}"));
    f
}

#[test]
fn a_prefix_link_opens_a_media_session_scoped_to_its_prefix() {
    let cfg = media_cfg();
    let mut w = media_world(None);
    let link = sign(&cfg, &claims("/m/show/"));
    let d = w.run(&cfg, get(&link_url("/m/show/master.m3u8", &link), T0 + 100), None);
    assert_eq!(d.reply, Reply::Delivered, "{:?}", d.event);
    let (token, attrs) = set_cookie_of(&w).expect("a session cookie");
    assert_eq!(attrs, "Path=/m/show/; Max-Age=3500; HttpOnly; Secure; SameSite=None");
    assert_ne!(token, link, "a media session is its own token");
    assert!(!token.is_empty());
    // The response that sets it is nobody else's to cache.
    assert_eq!(header_of(&w, "cache-control").as_deref(), Some("no-store"));

    // A segment under the prefix, with the cookie and no token: served, with
    // the link's jti in the audit event, no usage round trip.
    w.trace.clear();
    let d = w.run(&cfg, with_cookie(get("/m/show/seg1.ts", T0 + 200), &token), None);
    assert_eq!(d.reply, Reply::Delivered, "{:?}", d.event);
    assert_eq!(w.trace, ["kv", "r2_get", "deliver"]);
    assert_eq!(d.event.jti.as_deref(), Some("05050505050505050505050505050505"));
    assert!(set_cookie_of(&w).is_none(), "a session never sets another");
    // Private even where the rule says public: the URL carries no token.
    assert!(header_of(&w, "cache-control").unwrap().starts_with("private, max-age="));

    // The same segment without the cookie: 401; another prefix: 403.
    let d = w.run(&cfg, get("/m/show/seg1.ts", T0 + 200), None);
    assert_eq!((status(&d), code(&d)), (401, Some("token_missing")));
    let d = w.run(&cfg, with_cookie(get("/m/other/seg1.ts", T0 + 200), &token), None);
    assert_eq!((status(&d), code(&d)), (403, Some("scope_mismatch")));
    // The link itself is not a session cookie, nor a session a link.
    let d = w.run(&cfg, with_cookie(get("/m/show/seg1.ts", T0 + 200), &link), None);
    assert_eq!((status(&d), code(&d)), (403, Some("signature_invalid")));
    let d = w.run(&cfg, get(&link_url("/m/show/seg1.ts", &token), T0 + 200), None);
    assert_eq!((status(&d), code(&d)), (403, Some("signature_invalid")));
    // A tampered cookie.
    let last = if token.ends_with('A') { "B" } else { "A" };
    let forged = format!("{}{last}", &token[..token.len() - 1]);
    let d = w.run(&cfg, with_cookie(get("/m/show/seg1.ts", T0 + 200), &forged), None);
    assert_eq!(status(&d), 403);
}

#[test]
fn a_media_session_dies_with_its_link() {
    let cfg = media_cfg();
    let mut w = media_world(None);
    let link = sign(&cfg, &claims("/m/show/"));
    w.run(&cfg, get(&link_url("/m/show/master.m3u8", &link), T0 + 1), None);
    let (token, _) = set_cookie_of(&w).unwrap();
    // Expired: 410 at exp exactly, and no resume grace for a session.
    let cfg_grace = cfg_with(&[
        ("LINKGATE_POLICY", r#"{"classifications":{"internal":{"media":"cookie"}}}"#),
        ("LINKGATE_RESUME_GRACE_SECS", "600"),
    ]);
    for c in [&cfg, &cfg_grace] {
        let mut f = with_cookie(get("/m/show/seg1.ts", T0 + 3600), &token);
        f.range = Some("bytes=100-".into());
        let d = w.run(c, f, None);
        assert_eq!((status(&d), code(&d)), (410, Some("expired")));
    }
    // Revoked by the link's jti, by its sub, by the path: 410.
    for (scope, value) in [
        (RevocationScope::Jti, "05050505050505050505050505050505"),
        (RevocationScope::Sub, "alice"),
        (RevocationScope::Path, "/m/show/"),
    ] {
        let mut w = media_world(None);
        w.revoke(scope, value, T0 + 10);
        let d = w.run(&cfg, with_cookie(get("/m/show/seg1.ts", T0 + 20), &token), None);
        assert_eq!((status(&d), code(&d)), (410, Some("revoked")), "{scope:?}");
    }
    // A killed key kills every session it signed.
    let mut w = media_world(None);
    w.revoke(RevocationScope::Kid, "k1", T0 + 10);
    let d = w.run(&cfg, with_cookie(get("/m/show/seg1.ts", T0 + 20), &token), None);
    assert_eq!((status(&d), code(&d)), (410, Some("revoked")));
}

#[test]
fn media_sessions_keep_the_links_ip_binding_and_method_rules() {
    let cfg = media_cfg();
    let mut w = media_world(None);
    let mut c = claims("/m/show/");
    c.ip = vec![Cidr::parse("198.51.100.0/24").unwrap()];
    w.run(&cfg, get(&link_url("/m/show/master.m3u8", &sign(&cfg, &c)), T0 + 1), None);
    let (token, _) = set_cookie_of(&w).unwrap();
    let d = w.run(&cfg, with_cookie(get("/m/show/seg1.ts", T0 + 2), &token), None);
    assert_eq!(d.reply, Reply::Delivered);
    let mut f = with_cookie(get("/m/show/seg1.ts", T0 + 2), &token);
    f.client_ip = Some("203.0.113.9".into());
    let d = w.run(&cfg, f, None);
    assert_eq!((status(&d), code(&d)), (403, Some("ip_mismatch")));
    let mut f = with_cookie(get("/m/show/seg1.ts", T0 + 2), &token);
    f.method = "POST".into();
    let d = w.run(&cfg, f, None);
    assert_eq!((status(&d), code(&d)), (405, Some("method_not_allowed")));
}

#[test]
fn only_rules_with_media_sessions_open_or_honour_them() {
    let cfg = media_cfg();
    // A confidential object's rule has no media sessions: no cookie...
    let mut w = media_world(Some("confidential"));
    let link = sign(&cfg, &claims("/m/show/"));
    let d = w.run(&cfg, get(&link_url("/m/show/master.m3u8", &link), T0 + 1), None);
    assert_eq!(d.reply, Reply::Delivered);
    assert!(set_cookie_of(&w).is_none());
    // ...and a session opened elsewhere does not reach it.
    let mut open = media_world(None);
    open.run(&cfg, get(&link_url("/m/show/master.m3u8", &link), T0 + 1), None);
    let (token, _) = set_cookie_of(&open).unwrap();
    let d = w.run(&cfg, with_cookie(get("/m/show/seg1.ts", T0 + 2), &token), None);
    assert_eq!((status(&d), code(&d)), (403, Some("policy_denied")));
    assert_eq!(d.event.rule.as_deref(), Some("confidential.media"));
    // The default policy opens none.
    let mut w = media_world(None);
    w.run(&super::tests::cfg(), get(&link_url("/m/show/master.m3u8", &link), T0 + 1), None);
    assert!(set_cookie_of(&w).is_none());
}

#[test]
fn object_links_bounded_links_and_head_open_no_session() {
    let cfg = media_cfg();
    let mut w = media_world(None);
    let object_link = sign(&cfg, &claims("/m/show/master.m3u8"));
    w.run(&cfg, get(&link_url("/m/show/master.m3u8", &object_link), T0 + 1), None);
    assert!(set_cookie_of(&w).is_none(), "an object link has no prefix to open");
    let mut head = get(&link_url("/m/show/master.m3u8", &sign(&cfg, &claims("/m/show/"))), T0 + 1);
    head.method = "HEAD".into();
    w.delivered = None;
    w.run(&cfg, head, None);
    assert!(set_cookie_of(&w).is_none());
    // A bounded-use prefix link keeps its landing page and one use per
    // download: a session would spend one use on a whole presentation.
    w.delivered = None;
    let d = w.run(&cfg, get(&link_url("/m/show/master.m3u8", &sign(&cfg, &bounded("/m/show/", 3))), T0 + 1), None);
    assert!(matches!(d.reply, Reply::Page { status: 200, .. }), "{:?}", d.reply);
    assert!(w.delivered.is_none());
}

#[test]
fn a_sealed_link_opens_a_sealed_session() {
    let cfg = media_cfg();
    let mut w = media_world(None);
    let c = claims("/m/show/");
    w.run(&cfg, get(&link_url("/m/show/master.m3u8", &seal(&cfg, &c)), T0 + 1), None);
    let (token, _) = set_cookie_of(&w).unwrap();
    let opened = AnyToken::decode(&token).unwrap();
    assert!(matches!(opened, AnyToken::Sealed(_)), "the cookie hides the claims the link hides");
    let d = w.run(&cfg, with_cookie(get("/m/show/seg1.ts", T0 + 2), &token), None);
    assert_eq!(d.reply, Reply::Delivered, "{:?}", d.event);
}

#[test]
fn listed_player_origins_get_credentialed_cors_on_answers_and_refusals() {
    let cfg = media_cfg();
    let mut w = media_world(None);
    let link = sign(&cfg, &claims("/m/show/"));
    let mut f = get(&link_url("/m/show/master.m3u8", &link), T0 + 1);
    f.origin = Some("https://player.example".into());
    w.run(&cfg, f, None);
    assert_eq!(header_of(&w, "access-control-allow-origin").as_deref(), Some("https://player.example"));
    assert_eq!(header_of(&w, "access-control-allow-credentials").as_deref(), Some("true"));
    let mut f = get("/m/show/seg1.ts", T0 + 1);
    f.origin = Some("https://player.example".into());
    let d = w.run(&cfg, f, None);
    let Reply::Problem { status: 401, headers, .. } = &d.reply else { panic!("{:?}", d.reply) };
    assert!(headers.contains(&("access-control-allow-origin", "https://player.example".to_owned())));
    // Another origin gets none.
    let mut f = get(&link_url("/m/show/master.m3u8", &link), T0 + 1);
    f.origin = Some("https://evil.example".into());
    w.run(&cfg, f, None);
    assert_eq!(header_of(&w, "access-control-allow-origin"), None);
}

/// The README's claim: a sealed prefix link is path-less, so a player's
/// relative segment URLs resolve under `/_lg/<token>/` and carry the link.
#[test]
fn a_sealed_prefix_links_path_less_url_reaches_every_relative_segment() {
    let cfg = media_cfg();
    let mut w = media_world(None);
    let token = seal(&cfg, &claims("/m/show/"));
    for name in ["master.m3u8", "seg1.ts"] {
        let d = w.run(&cfg, get(&format!("/{PATH_FORM_LINK}/{token}/{name}"), T0 + 1), None);
        assert_eq!(d.reply, Reply::Delivered, "{name}: {:?}", d.event);
        assert_eq!(d.event.path.as_deref(), Some(format!("/m/show/{name}").as_str()));
    }
    let d = w.run(&cfg, get(&format!("/{PATH_FORM_LINK}/{token}/../other/seg1.ts"), T0 + 1), None);
    assert_ne!(d.reply, Reply::Delivered);
}

fn rewrite_cfg() -> EdgeConfig {
    cfg_with(&[(
        "LINKGATE_POLICY",
        r#"{"classifications":{"internal":{"media":"rewrite"},"public":{"media":"cookie"}}}"#,
    )])
}

fn rewrite_of(w: &World) -> Option<crate::media::ManifestRewrite> {
    w.delivered.as_ref()?.body.as_ref()?.rewrite.clone()
}

#[test]
fn rewrite_mode_rewrites_playlists_opened_by_the_link_or_its_session() {
    let cfg = rewrite_cfg();
    let mut w = media_world(None);
    w.objects.insert("m/show/720p/index.m3u8".into(), object(None));
    let link = sign(&cfg, &claims("/m/show/"));
    let d = w.run(&cfg, get(&link_url("/m/show/master.m3u8", &link), T0 + 100), None);
    assert_eq!(d.reply, Reply::Delivered, "{:?}", d.event);
    let r = rewrite_of(&w).expect("the playlist is rewritten");
    assert_eq!((r.playlist.as_str(), r.prefix.as_str()), ("/m/show/master.m3u8", "/m/show/"));
    // The same session as the cookie's (players that keep cookies use either).
    let (cookie, _) = set_cookie_of(&w).unwrap();
    assert_eq!(r.token, cookie);
    assert_eq!(header_of(&w, "content-length"), None, "the length changes");
    assert!(header_of(&w, "etag").unwrap().starts_with("W/"));
    // A URI of the rewritten playlist: the session in the query.
    let d = w.run(&cfg, get(&format!("/m/show/720p/index.m3u8?lgm={}", r.token), T0 + 200), None);
    assert_eq!(d.reply, Reply::Delivered, "{:?}", d.event);
    assert_eq!(rewrite_of(&w).map(|r| r.playlist), Some("/m/show/720p/index.m3u8".to_owned()));
    let d = w.run(&cfg, get(&format!("/m/show/seg1.ts?lgm={}", r.token), T0 + 200), None);
    assert_eq!(d.reply, Reply::Delivered);
    assert_eq!(rewrite_of(&w), None, "segments pass as they are");
    assert!(set_cookie_of(&w).is_none());
    // Outside the prefix, expired, or beside another token: refused.
    let d = w.run(&cfg, get(&format!("/m/other/seg1.ts?lgm={}", r.token), T0 + 200), None);
    assert_eq!(code(&d), Some("scope_mismatch"));
    let d = w.run(&cfg, get(&format!("/m/show/seg1.ts?lgm={}", r.token), T0 + 3600), None);
    assert_eq!((status(&d), code(&d)), (410, Some("expired")));
    let d = w.run(&cfg, get(&format!("/m/show/seg1.ts?lgm={}&lg={link}", r.token), T0 + 200), None);
    assert_eq!(code(&d), Some("token_malformed"));
}

#[test]
fn rewrite_mode_leaves_ranges_heads_bounded_links_and_cookie_rules_alone() {
    let cfg = rewrite_cfg();
    let mut w = media_world(None);
    let link = sign(&cfg, &claims("/m/show/"));
    let mut ranged = get(&link_url("/m/show/master.m3u8", &link), T0 + 1);
    ranged.range = Some("bytes=0-9".into());
    w.run(&cfg, ranged, None);
    assert_eq!(rewrite_of(&w), None);
    let object_link = sign(&cfg, &claims("/m/show/master.m3u8"));
    w.run(&cfg, get(&link_url("/m/show/master.m3u8", &object_link), T0 + 1), None);
    assert_eq!(rewrite_of(&w), None, "an object link has no prefix");
    let mut w = media_world(Some("public"));
    w.run(&cfg, get(&link_url("/m/show/master.m3u8", &link), T0 + 1), None);
    assert_eq!(rewrite_of(&w), None, "cookie mode serves playlists as they are");
    assert!(set_cookie_of(&w).is_some());
}

#[test]
fn rewrite_mode_rewrites_dash_mpds_too() {
    let cfg = rewrite_cfg();
    let mut w = media_world(None);
    w.objects.insert("m/show/manifest.mpd".into(), object(None));
    let link = sign(&cfg, &claims("/m/show/"));
    w.run(&cfg, get(&link_url("/m/show/manifest.mpd", &link), T0 + 1), None);
    let r = rewrite_of(&w).expect("the MPD is rewritten");
    assert_eq!(r.kind, crate::media::ManifestKind::Dash);
    assert!(matches!(r.rewriter(), crate::media::Rewriter::Dash(_)));
    w.run(&cfg, get(&link_url("/m/show/master.m3u8", &link), T0 + 1), None);
    assert_eq!(rewrite_of(&w).map(|r| r.kind), Some(crate::media::ManifestKind::Hls));
}

// ------------------------------------------------------------------ links for one person (issue 21)

/// A stand-in identity provider: its "signature" is a hash of the key and
/// the signed bytes, as long as an RS256 signature under that key, so a
/// token signed with another key (or altered) does not verify. The real
/// RS256/ES256 checks are in the JWT vectors (tests/vectors.rs) and e2e.
mod idp {
    use crate::b64;
    use crate::jwks::{Jwk, Jwks, PublicKey};
    use crate::jwt::Alg;
    use sha2::{Digest, Sha256};

    pub fn key(kid: &str, seed: u8) -> Jwk {
        Jwk {
            kid: Some(kid.into()),
            alg: Some(Alg::Rs256),
            key: PublicKey::Rsa { n: vec![seed | 0x80; 256], e: vec![1, 0, 1] },
        }
    }

    pub fn set(keys: &[&Jwk]) -> Jwks {
        Jwks::from_keys(keys.iter().map(|k| (*k).clone()).collect())
    }

    fn sign(key: &Jwk, input: &[u8]) -> Vec<u8> {
        let d = Sha256::new().chain_update(key.to_public_jwk()).chain_update(input).finalize();
        d.iter().cycle().take(key.signature_len()).copied().collect()
    }

    pub fn verifies(key: &Jwk, input: &[u8], signature: &[u8]) -> bool {
        sign(key, input) == signature
    }

    /// A token with this header and payload, signed with `key`.
    pub fn token(header: &str, payload: &str, key: &Jwk) -> String {
        let input = format!("{}.{}", b64::encode(header.as_bytes()), b64::encode(payload.as_bytes()));
        let sig = sign(key, input.as_bytes());
        format!("{input}.{}", b64::encode(&sig))
    }
}

mod identity_links {
    use super::*;

    const ISS: &str = "https://acme.cloudflareaccess.com";
    const AUD: &str = "aud-tag-1";
    const IDENTITY: &str = r#"{"source":"access","team_domain":"acme","audience":"aud-tag-1"}"#;

    fn id_cfg(policy: &str) -> EdgeConfig {
        cfg_with(&[("LINKGATE_IDENTITY", IDENTITY), ("LINKGATE_POLICY", policy)])
    }

    /// internal: bound, sign-in at most 1 h old.
    fn bound_cfg() -> EdgeConfig {
        id_cfg(r#"{"classifications":{"internal":{"identity":{"max_auth_age":"1h"}}}}"#)
    }

    fn provider() -> (crate::jwks::Jwk, crate::jwks::Jwks) {
        let k = idp::key("idp-1", 1);
        let set = idp::set(&[&k]);
        (k, set)
    }

    fn claims_json(sub: &str, extra: &str) -> String {
        format!(r#"{{"iss":"{ISS}","aud":["{AUD}"],"sub":"{sub}","iat":{},"exp":{}{extra}}}"#, T0 - 60, T0 + 600)
    }

    fn assertion(sub: &str) -> String {
        let (k, _) = provider();
        idp::token(r#"{"alg":"RS256","kid":"idp-1","typ":"JWT"}"#, &claims_json(sub, ""), &k)
    }

    fn world() -> World {
        let mut w = World::with_object("/a/b.pdf", object(None));
        w.jwks = Some(provider().1);
        w
    }

    fn with_header(f: Facts, a: &str) -> Facts {
        Facts { access_assertion: Some(a.to_owned()), ..f }
    }

    fn request(cfg: &EdgeConfig, a: Option<&str>) -> Facts {
        let f = get(&link_url("/a/b.pdf", &sign(cfg, &claims("/a/b.pdf"))), T0 + 1);
        match a {
            Some(a) => with_header(f, a),
            None => f,
        }
    }

    #[test]
    fn the_recipient_downloads_and_the_event_names_them() {
        let cfg = bound_cfg();
        let mut w = world();
        let a = assertion("alice");
        let d = w.run(&cfg, request(&cfg, Some(&a)), None);
        assert_eq!(d.reply, Reply::Delivered);
        assert_eq!(w.trace, ["kv", "r2_get", "jwks", "verify_jwt", "deliver"]);
        assert_eq!(d.event.identity.as_deref(), Some("alice"));
        assert_eq!(d.event.rule.as_deref(), Some("classification:internal"));
        let json = d.event.to_json();
        assert!(!json.contains(&a) && !json.contains(a.split('.').nth(1).unwrap()), "never the assertion");
        let f = Facts { cookie: Some(format!("CF_Authorization={a}")), ..request(&cfg, Some(&a)) };
        assert!(!format!("{f:?}").contains(a.split('.').nth(1).unwrap()), "Debug never shows it either");
        // The cookie works as well as the header.
        let mut w = world();
        let f = Facts { cookie: Some(format!("x=1; CF_Authorization={a}")), ..request(&cfg, None) };
        assert_eq!(w.run(&cfg, f, None).reply, Reply::Delivered);
    }

    /// Every refusal, with its code, status, reason and deciding rule; the
    /// link's claims and the identity (when authentic) are in the event.
    #[test]
    fn every_other_identity_is_refused_with_its_code() {
        let cfg = bound_cfg();
        let (k, _) = provider();
        let stranger_key = idp::key("idp-1", 2);
        let hdr = r#"{"alg":"RS256","kid":"idp-1"}"#;
        let tok = |payload: &str| idp::token(hdr, payload, &k);
        let b64j = |s: &str| b64::encode(s.as_bytes());
        let unsigned = format!("{}.{}.", b64j(r#"{"alg":"none"}"#), b64j(&claims_json("alice", "")));
        let hs256 =
            format!("{}.{}.{}", b64j(r#"{"alg":"HS256"}"#), b64j(&claims_json("alice", "")), b64::encode(&[1; 32]));
        let other_aud = tok(&format!(
            r#"{{"iss":"{ISS}","aud":"another-app","sub":"alice","iat":{},"exp":{}}}"#,
            T0 - 60,
            T0 + 600
        ));
        let other_iss = tok(&format!(
            r#"{{"iss":"https://evil.cloudflareaccess.com","aud":"{AUD}","sub":"alice","iat":{},"exp":{}}}"#,
            T0 - 60,
            T0 + 600
        ));
        let expired = tok(&format!(r#"{{"iss":"{ISS}","aud":"{AUD}","sub":"alice","iat":{},"exp":{}}}"#, T0 - 600, T0));
        let stale =
            tok(&format!(r#"{{"iss":"{ISS}","aud":"{AUD}","sub":"alice","iat":{},"exp":{}}}"#, T0 - 3700, T0 + 600));
        let mut altered = tok(&claims_json("alice", ""));
        altered.replace_range(altered.len() - 8..altered.len() - 4, "AAAA");
        // (what, assertion, status, code, reason, rule, authentic)
        type Case = (&'static str, Option<String>, u16, &'static str, &'static str, &'static str, bool);
        let cases: Vec<Case> = vec![
            ("missing", None, 401, "identity_required", "identity_missing", "internal.identity", false),
            (
                "another person",
                Some(assertion("bob")),
                403,
                "identity_mismatch",
                "identity_other_subject",
                "internal.identity.sub",
                true,
            ),
            ("expired", Some(expired), 401, "identity_required", "identity_expired", "internal.identity", true),
            (
                "stale sign-in",
                Some(stale),
                401,
                "reauth_required",
                "identity_stale",
                "internal.identity.max_auth_age",
                true,
            ),
            (
                "wrong audience",
                Some(other_aud),
                401,
                "identity_required",
                "identity_audience",
                "internal.identity",
                true,
            ),
            ("wrong issuer", Some(other_iss), 401, "identity_required", "identity_issuer", "internal.identity", true),
            (
                "another key",
                Some(idp::token(hdr, &claims_json("alice", ""), &stranger_key)),
                401,
                "identity_required",
                "identity_bad_signature",
                "internal.identity",
                false,
            ),
            ("altered", Some(altered), 401, "identity_required", "identity_bad_signature", "internal.identity", false),
            (
                "unknown kid",
                Some(idp::token(r#"{"alg":"RS256","kid":"idp-9"}"#, &claims_json("alice", ""), &k)),
                401,
                "identity_required",
                "identity_unknown_key",
                "internal.identity",
                false,
            ),
            ("alg none", Some(unsigned), 401, "identity_required", "jwt_alg_none", "internal.identity", false),
            ("HS256", Some(hs256), 401, "identity_required", "jwt_alg_hmac", "internal.identity", false),
            ("garbage", Some("x".into()), 401, "identity_required", "jwt_shape", "internal.identity", false),
        ];
        for (what, a, want_status, want_code, want_reason, want_rule, authentic) in cases {
            let mut w = world();
            let d = w.run(&cfg, request(&cfg, a.as_deref()), None);
            assert_eq!(
                (status(&d), code(&d), d.event.reason),
                (want_status, Some(want_code), Some(want_reason)),
                "{what}"
            );
            assert_eq!(d.event.rule.as_deref(), Some(want_rule), "{what}");
            assert_eq!(d.event.sub.as_deref(), Some("alice"), "{what}: the link's claims are recorded");
            assert_eq!(d.event.identity.is_some(), authentic, "{what}");
            assert!(!w.trace.contains(&"deliver"), "{what}");
            if let (Reply::Problem { body, .. }, Some(a)) = (&d.reply, &a) {
                assert!(!body.contains(a.as_str()) || a == "x", "{what}: no assertion in the body");
            }
        }
    }

    #[test]
    fn forged_links_never_cost_a_jwks_fetch_or_a_verify() {
        let cfg = bound_cfg();
        let t = sign(&cfg, &claims("/a/b.pdf"));
        let at = t.len() - 5;
        let flip = if t.as_bytes()[at] == b'A' { "B" } else { "A" };
        let forged = format!("{}{flip}{}", &t[..at], &t[at + 1..]);
        let mut w = world();
        let d = w.run(&cfg, with_header(get(&link_url("/a/b.pdf", &forged), T0 + 1), &assertion("alice")), None);
        assert_eq!(code(&d), Some("signature_invalid"));
        assert!(w.trace.is_empty(), "{:?}", w.trace);
        // A revoked link neither.
        let mut w = world();
        w.revoke(RevocationScope::Sub, "alice", T0 + 1);
        let d = w.run(&cfg, request(&cfg, Some(&assertion("alice"))), None);
        assert_eq!(code(&d), Some("revoked"));
        assert_eq!(w.trace, ["kv"]);
    }

    #[test]
    fn a_link_for_one_person_must_name_them() {
        let cfg = bound_cfg();
        let mut c = claims("/a/b.pdf");
        c.sub = None;
        let mut w = world();
        let d =
            w.run(&cfg, with_header(get(&link_url("/a/b.pdf", &sign(&cfg, &c)), T0 + 1), &assertion("alice")), None);
        assert_eq!((code(&d), d.event.rule.as_deref()), (Some("policy_denied"), Some("internal.identity.bind")));
        assert!(!w.trace.contains(&"jwks"));
        // The admin API refuses to mint it.
        let rule = cfg.policy.rule_for(None);
        assert_eq!(crate::admin::mint_policy(&rule, &c, false).unwrap_err().rule, "internal.identity.bind");
    }

    #[test]
    fn fail_closed_without_keys_or_without_a_source() {
        let cfg = bound_cfg();
        let mut w = world();
        w.jwks = None;
        let d = w.run(&cfg, request(&cfg, Some(&assertion("alice"))), None);
        assert_eq!(
            (status(&d), code(&d), d.event.reason),
            (503, Some("identity_unavailable"), Some("identity_keys_unavailable"))
        );
        // A rule that requires identity with LINKGATE_IDENTITY unset.
        let cfg = cfg_with(&[("LINKGATE_POLICY", r#"{"classifications":{"internal":{"identity":true}}}"#)]);
        let mut w = world();
        let d = w.run(&cfg, request(&cfg, Some(&assertion("alice"))), None);
        assert_eq!(
            (status(&d), code(&d), d.event.reason),
            (503, Some("identity_unavailable"), Some("identity_unconfigured"))
        );
        assert!(!w.trace.contains(&"jwks") && !w.trace.contains(&"deliver"));
    }

    /// A response for one person is never `public` downstream, whatever the
    /// rule's `cache` says.
    #[test]
    fn identity_responses_are_never_public() {
        let cfg = id_cfg(r#"{"classifications":{"public":{"identity":true}}}"#);
        let mut w = World::with_object("/a/b.pdf", object(Some("public")));
        w.jwks = Some(provider().1);
        let d = w.run(&cfg, request(&cfg, Some(&assertion("alice"))), None);
        assert_eq!(d.reply, Reply::Delivered);
        let plan = w.delivered.unwrap();
        let cc = plan.headers.iter().find(|(n, _)| *n == "cache-control").map(|(_, v)| v.clone()).unwrap();
        assert!(cc.starts_with("private"), "{cc}");
    }

    #[test]
    fn rules_without_identity_ignore_assertions() {
        let cfg = bound_cfg();
        let mut w = World::with_object("/a/b.pdf", object(Some("public")));
        w.jwks = None;
        let d = w.run(&cfg, request(&cfg, Some("not even a token")), None);
        assert_eq!(d.reply, Reply::Delivered);
        assert!(!w.trace.contains(&"jwks"));
        assert_eq!(d.event.identity, None);
    }

    /// Strict objects: identity is decided before the registry round trip.
    #[test]
    fn restricted_objects_check_identity_then_the_registry() {
        let cfg = id_cfg(r#"{"classifications":{"restricted":{"identity":true}}}"#);
        let mut w = World::with_object("/r/x.pdf", object(Some("restricted")));
        w.jwks = Some(provider().1);
        let url = link_url("/r/x.pdf", &seal(&cfg, &claims("/r/x.pdf")));
        let d = w.run(&cfg, with_header(get(&url, T0 + 1), &assertion("alice")), None);
        assert_eq!(d.reply, Reply::Delivered);
        assert_eq!(w.trace, ["kv", "r2_get", "jwks", "verify_jwt", "registry", "deliver"]);
        let mut w = World::with_object("/r/x.pdf", object(Some("restricted")));
        w.jwks = Some(provider().1);
        let d = w.run(&cfg, with_header(get(&url, T0 + 1), &assertion("bob")), None);
        assert_eq!(code(&d), Some("identity_mismatch"));
        assert!(!w.trace.contains(&"registry"));
    }

    #[test]
    fn groups_and_claims_without_binding() {
        let cfg = id_cfg(
            r#"{"classifications":{"internal":{"identity":{"bind":false,"groups":["board"],"claims":{"department":["legal"]}}}}}"#,
        );
        let (k, _) = provider();
        let tok = |extra: &str| idp::token(r#"{"alg":"RS256","kid":"idp-1"}"#, &claims_json("carol", extra), &k);
        let mut c = claims("/a/b.pdf");
        c.sub = None;
        let url = link_url("/a/b.pdf", &sign(&cfg, &c));
        let run = |a: &str| {
            let mut w = world();
            w.run(&cfg, with_header(get(&url, T0 + 1), a), None)
        };
        assert_eq!(run(&tok(r#","groups":["all","board"],"department":"legal""#)).reply, Reply::Delivered);
        let d = run(&tok(r#","groups":["all"],"department":"legal""#));
        assert_eq!((code(&d), d.event.rule.as_deref()), (Some("identity_mismatch"), Some("internal.identity.groups")));
        let d = run(&tok(r#","groups":["board"],"department":"sales""#));
        assert_eq!((code(&d), d.event.rule.as_deref()), (Some("identity_mismatch"), Some("internal.identity.claims")));
    }

    /// A browser is offered the team's sign-in; the way back (the link, with
    /// its token) is filled in by the page's script from the browser's own
    /// address, so the token is in no error body. Scripts get the sign-in
    /// address without a way back as the problem's `login`.
    #[test]
    fn browsers_are_sent_to_sign_in_and_back() {
        let cfg = bound_cfg();
        let mut w = world();
        let t = sign(&cfg, &claims("/a/b.pdf"));
        let f = Facts { accept: Some("text/html".into()), ..get(&link_url("/a/b.pdf", &t), T0 + 1) };
        let d = w.run(&cfg, f, None);
        let Reply::Page { status, html } = &d.reply else { panic!("{:?}", d.reply) };
        assert_eq!(*status, 401);
        let login =
            format!("https://acme.cloudflareaccess.com/cdn-cgi/access/login/{HOST}?kid={AUD}&amp;redirect_url=");
        assert!(html.contains(&format!("href=\"{login}%2F\"")), "{html}");
        assert!(html.contains(&format!("data-login=\"{login}LG-RETURN\"")), "{html}");
        assert!(!html.contains(&t), "the token is in no error body");
        let mut w = world();
        let d = w.run(&cfg, request(&cfg, None), None);
        let Reply::Problem { body, .. } = &d.reply else { panic!() };
        let login = crate::json::parse(body).unwrap().get("login").and_then(|v| v.as_str()).map(str::to_owned).unwrap();
        assert!(login.ends_with(&format!("?kid={AUD}&redirect_url=%2F")), "{login}");
        // Not offered where signing in cannot help.
        let mut w = world();
        w.jwks = None;
        let d = w.run(&cfg, request(&cfg, Some(&assertion("alice"))), None);
        let Reply::Problem { body, .. } = &d.reply else { panic!() };
        assert!(!body.contains("login"), "{body}");
    }
}

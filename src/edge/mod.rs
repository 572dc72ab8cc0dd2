//! The Cloudflare Worker: thin glue between bindings and the core.
//!
//! Every request: canonicalize → verify → denylist → usage → policy →
//! deliver → audit. The core decides; this module only moves bytes and
//! talks to KV, R2 and the Cache API. It never returns `Err` to the runtime:
//! every failure becomes a problem response.

mod admin;
mod audit;
mod deliver;
mod kv;
mod respond;
mod usage;

pub use usage::UsageCounter;

use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;

use worker::{event, Context, Date, Env, Request, Response};

use crate::core::audit::{AuditEvent, Outcome};
use crate::core::config::{ConfigError, EdgeConfig};
use crate::core::memo::DenylistMemo;
use crate::core::path::CanonicalPath;
use crate::core::problem::refresh_url;
use crate::core::revocation::{find_revocation, lookup_keys};
use crate::core::token::Domain;
use crate::core::usage::{client_fingerprint, form_field, wants_html, ConsumeOutcome, ConsumeRequest};
use crate::core::verify::{param_from_query, resume_candidate, token_from_query, verify_in, Method, RequestFacts};
use crate::core::Code;

use deliver::{deliver, Conditions, Delivered};

/// KV binding of the revocation denylist.
pub const DENYLIST_BINDING: &str = "LINKGATE_DENYLIST";
/// R2 binding of the files.
pub const FILES_BINDING: &str = "LINKGATE_FILES";
/// Durable Object binding of the usage counters.
pub const USAGE_BINDING: &str = "LINKGATE_USAGE";
/// Queue binding that carries audit events to D1.
pub const EVENTS_BINDING: &str = "LINKGATE_EVENTS";
/// D1 binding of the audit store.
pub const AUDIT_BINDING: &str = "LINKGATE_AUDIT";

thread_local! {
    // Vars and secrets are fixed for an isolate's life, so parse them (and key
    // the HMAC states) once instead of on every request.
    static CONFIG: RefCell<Option<Rc<Result<EdgeConfig, ConfigError>>>> = const { RefCell::new(None) };
    // Recent denylist reads (see core::memo for the bound it adds).
    static DENYLIST_MEMO: RefCell<DenylistMemo> = RefCell::new(DenylistMemo::new());
}

/// A revocation was written or lifted through this isolate: the memo must
/// not hide it here even for its short lifetime.
pub(crate) fn forget_denylist_reads() {
    DENYLIST_MEMO.with(|m| m.borrow_mut().clear());
}

/// The denylist entries among `keys`: from the memo when every key was read
/// moments ago, else one KV bulk read (remembered for the next request).
async fn denylist(env: &Env, keys: &[String], cfg: &EdgeConfig) -> Result<Vec<(String, String)>, kv::KvUnavailable> {
    let now_ms = Date::now().as_millis();
    let ttl = cfg.denylist_memo_ms;
    if let Some(found) = DENYLIST_MEMO.with(|m| m.borrow().lookup(keys, now_ms, ttl)) {
        return Ok(found);
    }
    let generation = DENYLIST_MEMO.with(|m| m.borrow().generation());
    let found = kv::bulk_get(env, DENYLIST_BINDING, keys, cfg.kv_cache_ttl_secs).await?;
    // Stamped with the time the read started: the memo never outlives a read;
    // and not kept at all if a revocation was written here meanwhile.
    DENYLIST_MEMO.with(|m| m.borrow_mut().store(keys, &found, now_ms, ttl, generation));
    Ok(found)
}

fn config(env: &Env) -> Rc<Result<EdgeConfig, ConfigError>> {
    CONFIG.with(|c| {
        if let Some(cfg) = c.borrow().as_ref() {
            return cfg.clone();
        }
        let lookup = |name: &str| -> Option<String> {
            env.secret(name).ok().map(|s| s.to_string()).or_else(|| env.var(name).ok().map(|v| v.to_string()))
        };
        let parsed = Rc::new(EdgeConfig::from_lookup(&lookup));
        *c.borrow_mut() = Some(parsed.clone());
        parsed
    })
}

/// Split a request URL into (authority, raw path, raw query) without
/// re-serializing it, so the path is exactly what the runtime received.
fn split_url(url: &str) -> (&str, &str, &str) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (authority, path_query) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let path_query = path_query.split('#').next().unwrap_or("");
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    (authority, path, query)
}

fn now_secs() -> u64 {
    Date::now().as_millis() / 1000
}

fn request_id(req: &Request) -> String {
    if let Ok(Some(ray)) = req.headers().get("cf-ray") {
        if !ray.is_empty() && ray.len() <= 64 {
            return ray;
        }
    }
    let a = (worker::js_sys::Math::random() * 4_294_967_296.0) as u64;
    let b = (worker::js_sys::Math::random() * 4_294_967_296.0) as u64;
    format!("{a:08x}{b:08x}")
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

#[event(fetch)]
pub async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let rid = request_id(&req);
    let mut ev = AuditEvent {
        time: now_secs(),
        request_id: rid.clone(),
        method: req.method().to_string(),
        ..Default::default()
    };
    ev.client_ip = header(&req, "cf-connecting-ip");
    ev.country = req.cf().and_then(|cf| cf.country());
    if let Some(ua) = header(&req, "user-agent") {
        ev.set_user_agent(&ua);
    }
    let url = req.inner().url();
    let (authority, raw_path, query) = split_url(&url);
    let result = if raw_path == "/_linkgate" || raw_path.starts_with("/_linkgate/") {
        match config(&env).as_ref() {
            Ok(cfg) => {
                let scheme = url.split_once("://").map_or("https", |(s, _)| s);
                let origin = format!("{scheme}://{authority}");
                let (raw_path, query) = (raw_path.to_owned(), query.to_owned());
                admin::handle(req, &env, cfg, &origin, &raw_path, &query, now_secs(), &mut ev).await
            }
            Err(e) => misconfigured(e, &mut ev),
        }
    } else {
        handle(&req, &env, &ctx, &mut ev).await
    };
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            // Storage failures fail closed; the detail goes to the log only.
            worker::console_error!(
                "{}",
                serde_json::json!({"event": "store_error", "request_id": rid, "error": e}).to_string()
            );
            ev.refuse(Code::StoreUnavailable, "store_error");
            respond::problem_response(Code::StoreUnavailable, None, &rid)?
        }
    };
    audit::emit(&env, &ctx, &ev);
    Ok(response)
}

fn misconfigured(e: &ConfigError, ev: &mut AuditEvent) -> Result<Response, String> {
    ev.status = 500;
    ev.outcome = Some(Outcome::Refused);
    ev.code = Some("misconfigured");
    worker::console_error!("{}", serde_json::json!({"event": "misconfigured", "error": e.to_string()}).to_string());
    respond::misconfigured("linkgate is not configured correctly; see the worker log", &ev.request_id)
        .map_err(|e| e.to_string())
}

async fn handle(req: &Request, env: &Env, ctx: &Context, ev: &mut AuditEvent) -> Result<Response, String> {
    let rid = ev.request_id.clone();
    let url = req.inner().url();
    let (authority, raw_path, query) = split_url(&url);
    let cfg = config(env);
    let cfg = match cfg.as_ref() {
        Ok(c) => c,
        Err(e) => return misconfigured(e, ev),
    };
    let now = now_secs();
    let method = Method::parse(&req.method().to_string());
    let refuse =
        |ev: &mut AuditEvent, code: Code, reason: &'static str, jti: Option<String>, path: Option<&CanonicalPath>| {
            ev.refuse(code, reason);
            let refresh = cfg.refresh_url.as_deref().map(|t| {
                let encoded = path.map(|p| crate::core::path::encode_path(p.as_str()));
                refresh_url(t, encoded.as_deref(), jti.as_deref())
            });
            respond::problem_response(code, refresh.as_deref(), &rid).map_err(|e| e.to_string())
        };

    // Two `lg` parameters are ambiguous; still canonicalize the path first.
    let html = wants_html(header(req, "accept").as_deref());
    let lookup = token_from_query(query).and_then(|lg| Ok((lg, param_from_query(query, "lgs")?)));
    let token_pair = match lookup {
        Ok(t) => t,
        Err(code) => {
            let path = CanonicalPath::from_request(raw_path);
            return match path {
                Err(e) => refuse(ev, Code::PathInvalid, e.as_str(), None, None),
                Ok(p) => {
                    ev.path = Some(p.as_str().to_owned());
                    refuse(ev, code, "duplicate_token", None, Some(&p))
                }
            };
        }
    };
    // A bounded-use link's Download button POSTs the token in a form body
    // so that it never lands in another URL.
    // Only small bodies with a declared length are read: an attacker's
    // endless POST must never be buffered by the worker.
    let small_body =
        header(req, "content-length").and_then(|v| v.trim().parse::<u64>().ok()).is_some_and(|n| n <= 8192);
    let form_token: Option<String> = if method == Method::Post
        && token_pair.0.is_none()
        && token_pair.1.is_none()
        && small_body
    {
        match req.clone() {
            Ok(mut r) => {
                r.text().await.ok().filter(|b| b.len() <= 8192).and_then(|b| form_field(&b, "lg").map(str::to_owned))
            }
            Err(_) => None,
        }
    } else {
        None
    };
    let (token, domain) = match (token_pair, form_token.as_deref()) {
        ((Some(lg), None), _) => (Some(lg), Domain::Link),
        ((None, Some(lgs)), _) => (Some(lgs), Domain::Session),
        ((Some(_), Some(_)), _) => {
            // A link and a session token at once: ambiguous, like two `lg`.
            return match CanonicalPath::from_request(raw_path) {
                Err(e) => refuse(ev, Code::PathInvalid, e.as_str(), None, None),
                Ok(p) => refuse(ev, Code::TokenMalformed, "two_tokens", None, Some(&p)),
            };
        }
        ((None, None), Some(f)) => (Some(f), Domain::Link),
        ((None, None), None) => (None, Domain::Link),
    };
    let client_ip: Option<IpAddr> = header(req, "cf-connecting-ip").and_then(|s| s.trim().parse().ok());
    let facts = RequestFacts { raw_path, token, method, host: Some(authority), client_ip, now };

    let has_range = header(req, "range").is_some();
    let mut require_etag: Option<String> = None;
    let link = match verify_in(&cfg.keys, &cfg.time, &facts, domain) {
        Ok(l) => l,
        Err(r)
            if domain == Domain::Link
                && resume_candidate(&r, &facts, &cfg.time, cfg.resume_grace_secs, has_range).is_some() =>
        {
            // Past exp, within the resume grace: serve only if this client
            // started this download (this object version) before exp.
            let Some(cand) = resume_candidate(&r, &facts, &cfg.time, cfg.resume_grace_secs, has_range) else {
                return Err("resume candidate vanished".to_owned());
            };
            ev.with_claims(cand.claims());
            ev.path = Some(cand.path().as_str().to_owned());
            let jti = Some(cand.claims().jti.to_hex());
            let client =
                client_fingerprint(client_ip.map(|i| i.to_string()).as_deref(), header(req, "user-agent").as_deref());
            let started = match env.durable_object(USAGE_BINDING) {
                Ok(ns) => usage::state(&ns, cand.claims()).await.ok().and_then(|s| {
                    crate::core::usage::find_start(&s, &client, cand.path().as_str(), cand.claims().exp)
                        .map(str::to_owned)
                }),
                Err(_) => None,
            };
            match started {
                Some(etag) => {
                    ev.reason = Some("resume_after_exp");
                    require_etag = Some(etag);
                    cand.confirm()
                }
                None => return refuse(ev, Code::Expired, "after_exp", jti, Some(cand.path())),
            }
        }
        Err(r) => {
            ev.path = r.path.as_ref().map(|p| p.as_str().to_owned());
            if let Some(c) = &r.claims {
                ev.with_claims(c);
            }
            let jti = r.claims.as_ref().map(|c| c.jti.to_hex());
            if html && r.claims.as_ref().is_some_and(|c| c.uses.is_some()) && r.code == Code::Expired {
                ev.refuse(r.code, r.reason);
                return ended(cfg, r.code, r.path.as_ref(), jti.as_deref());
            }
            return refuse(ev, r.code, r.reason, jti, r.path.as_ref());
        }
    };
    let claims = link.claims();
    ev.with_claims(claims);
    ev.path = Some(link.path().as_str().to_owned());
    let jti = Some(claims.jti.to_hex());

    // Denylist: one bulk read (or the memo of one); unreachable → fail closed.
    let keys = lookup_keys(claims, link.path());
    let found = match denylist(env, &keys, cfg).await {
        Ok(f) => f,
        Err(e) => {
            worker::console_error!(
                "{}",
                serde_json::json!({"event": "denylist_unavailable", "request_id": rid, "error": e.0}).to_string()
            );
            return refuse(ev, Code::StoreUnavailable, "denylist_unavailable", jti, Some(link.path()));
        }
    };
    if let Some(entry) = find_revocation(claims, found.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        ev.rule = Some(format!("revoked:{}", entry.scope.as_str()));
        return refuse(ev, Code::Revoked, "denylist", jti, Some(link.path()));
    }

    // Bounded use: HEAD never consumes; GET shows the landing page (or
    // continues an open download with Range); POST consumes exactly one use.
    let mut method = method;
    // A confirmed resume-after-expiry continues a download that already
    // paid its use.
    if let Some(max) = claims.uses.filter(|_| require_etag.is_none()) {
        let Ok(ns) = env.durable_object(USAGE_BINDING) else {
            // Without the counter, fail closed rather than serve unlimited downloads.
            return refuse(ev, Code::StoreUnavailable, "usage_store_missing", jti, Some(link.path()));
        };
        if method != Method::Head {
            let ua = header(req, "user-agent");
            let ip_text = client_ip.map(|i| i.to_string());
            let peek = method == Method::Get;
            if peek && header(req, "range").is_none() {
                let uses_left = match usage::state(&ns, claims).await {
                    Ok(s) => max.get().saturating_sub(s.used),
                    Err(e) => {
                        worker::console_error!(
                            "{}",
                            serde_json::json!({"event": "usage_unavailable", "request_id": rid, "error": e})
                        );
                        return refuse(ev, Code::StoreUnavailable, "usage_unavailable", jti, Some(link.path()));
                    }
                };
                if uses_left == 0 {
                    ev.refuse(Code::UsedUp, "used_up");
                    return if html {
                        ended(cfg, Code::UsedUp, Some(link.path()), jti.as_deref())
                    } else {
                        refuse(ev, Code::UsedUp, "used_up", jti, Some(link.path()))
                    };
                }
                ev.outcome = Some(Outcome::Allowed);
                ev.status = 200;
                ev.reason = Some("landing_page");
                let token_text = token.unwrap_or("");
                return landing(env, cfg, &link, uses_left, token_text, now).await;
            }
            let call = ConsumeRequest {
                max: max.get(),
                client: client_fingerprint(ip_text.as_deref(), ua.as_deref()),
                client_ip: ip_text,
                user_agent: ua,
                now,
                grace_secs: cfg.download_grace_secs,
                peek,
            };
            let forget_at = claims.exp.saturating_add(cfg.download_grace_secs).saturating_add(cfg.resume_grace_secs);
            let outcome = match usage::consume(&ns, claims, call, forget_at).await {
                Ok(o) => o,
                Err(e) => {
                    worker::console_error!(
                        "{}",
                        serde_json::json!({"event": "usage_unavailable", "request_id": rid, "error": e})
                    );
                    return refuse(ev, Code::StoreUnavailable, "usage_unavailable", jti, Some(link.path()));
                }
            };
            ev.rule = Some(format!(
                "usage:{}",
                match outcome {
                    ConsumeOutcome::Consumed { .. } => "consumed",
                    ConsumeOutcome::Continued { .. } => "continued",
                    ConsumeOutcome::UsedUp => "used_up",
                    ConsumeOutcome::NoSession { .. } => "no_session",
                }
            ));
            match outcome {
                ConsumeOutcome::Consumed { .. } | ConsumeOutcome::Continued { .. } => {}
                ConsumeOutcome::UsedUp => {
                    ev.refuse(Code::UsedUp, "used_up");
                    return if html {
                        ended(cfg, Code::UsedUp, Some(link.path()), jti.as_deref())
                    } else {
                        refuse(ev, Code::UsedUp, "used_up", jti, Some(link.path()))
                    };
                }
                ConsumeOutcome::NoSession { remaining } => {
                    // A Range request with no download in progress: show the page.
                    ev.outcome = Some(Outcome::Allowed);
                    ev.status = 200;
                    ev.reason = Some("landing_page");
                    return landing(env, cfg, &link, remaining, token.unwrap_or(""), now).await;
                }
            }
            if method == Method::Post {
                if html {
                    // Browsers cannot resume a POST: hand them a short-lived,
                    // client-bound session URL that serves GET with Range.
                    let location = match usage::session_url(cfg, &link, client_ip, now) {
                        Ok(l) => l,
                        Err(e) => return Err(e),
                    };
                    ev.status = 303;
                    ev.outcome = Some(Outcome::Allowed);
                    ev.reason = Some("download_session");
                    return respond::see_other(&location).map_err(|e| e.to_string());
                }
                method = Method::Get;
            }
        }
    }
    let no_store = claims.uses.is_some() || domain == Domain::Session;

    // Policy is decided in `deliver`, once the object's classification is
    // known from its metadata.
    ev.mode = Some("stream");

    let bucket = env.bucket(FILES_BINDING).map_err(|e| e.to_string())?;
    let cond = Conditions {
        range: header(req, "range"),
        if_range: header(req, "if-range"),
        if_none_match: header(req, "if-none-match"),
        if_modified_since: header(req, "if-modified-since"),
    };
    let country = ev.country.clone();
    match deliver(&bucket, &link, method, &cond, country.as_deref(), no_store, require_etag.as_deref(), cfg, now, ctx)
        .await
    {
        Ok(Delivered::Sent { response, status, bytes, cache, rule, etag }) => {
            // Resume-after-expiry needs to know who started what before exp;
            // recorded only when the feature is on, off the response path.
            if cfg.resume_grace_secs > 0
                && method == Method::Get
                && (status == 200 || status == 206)
                && domain == Domain::Link
                && require_etag.is_none()
            {
                if let Ok(ns) = env.durable_object(USAGE_BINDING) {
                    let claims = link.claims().clone();
                    let start = crate::core::usage::Start {
                        time: now,
                        client: client_fingerprint(
                            client_ip.map(|i| i.to_string()).as_deref(),
                            header(req, "user-agent").as_deref(),
                        ),
                        path: link.path().as_str().to_owned(),
                        etag,
                    };
                    let forget_at =
                        claims.exp.saturating_add(cfg.resume_grace_secs).saturating_add(cfg.download_grace_secs);
                    ctx.wait_until(async move {
                        if let Err(e) = usage::record(&ns, &claims, start, forget_at).await {
                            worker::console_error!(
                                "{}",
                                serde_json::json!({"event": "resume_start_not_recorded", "error": e})
                            );
                        }
                    });
                }
            }
            ev.rule = Some(rule);
            ev.status = status;
            ev.outcome = Some(if status == 304 { Outcome::NotModified } else { Outcome::Allowed });
            ev.bytes = bytes;
            ev.cache = cache;
            Ok(response)
        }
        Ok(Delivered::Refused { code, reason, extra, rule }) => {
            ev.rule = rule;
            ev.refuse(code, reason);
            let pairs: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
            respond::problem_with_status(code.status(), &crate::core::problem::body(code, None, Some(&rid)), &pairs)
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.0),
    }
}

/// The HTML page of a bounded-use link that cannot be used any more.
fn ended(cfg: &EdgeConfig, code: Code, path: Option<&CanonicalPath>, jti: Option<&str>) -> Result<Response, String> {
    let refresh = cfg.refresh_url.as_deref().map(|t| {
        let encoded = path.map(|p| crate::core::path::encode_path(p.as_str()));
        refresh_url(t, encoded.as_deref(), jti)
    });
    let heading = match code {
        Code::UsedUp => "This link has been used up",
        Code::Expired => "This link has expired",
        _ => "This link cannot be used",
    };
    let html = crate::core::usage::ended_page(heading, code.detail(), refresh.as_deref());
    respond::html(code.status(), &html).map_err(|e| e.to_string())
}

/// The landing page: file name and size from R2, expiry, uses left.
async fn landing(
    env: &Env,
    cfg: &EdgeConfig,
    link: &crate::core::VerifiedLink,
    uses_left: u32,
    token: &str,
    _now: u64,
) -> Result<Response, String> {
    let bucket = env.bucket(FILES_BINDING).map_err(|e| e.to_string())?;
    let Some(head) = bucket.head(link.path().object_key()).await.map_err(|e| e.to_string())? else {
        return respond::problem_response(Code::NotFound, None, "landing").map_err(|e| e.to_string());
    };
    let claims = link.claims();
    let name = claims.filename.as_ref().map(|f| f.as_str()).unwrap_or_else(|| link.path().file_name());
    let utc = crate::core::usage::rfc3339(claims.exp);
    let action = link.path().to_url_path();
    let page = crate::core::usage::landing_page(&crate::core::usage::Landing {
        file_name: name,
        size: head.size(),
        expires_at: claims.exp,
        expires_utc: &utc,
        uses_left,
        action: &action,
        token,
    });
    let _ = cfg;
    respond::html(200, &page).map_err(|e| e.to_string())
}

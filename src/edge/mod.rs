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

use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;

use worker::{event, Context, Date, Env, Request, Response};

use crate::core::audit::{AuditEvent, Outcome};
use crate::core::config::{ConfigError, EdgeConfig};
use crate::core::path::CanonicalPath;
use crate::core::problem::refresh_url;
use crate::core::revocation::{find_revocation, lookup_keys};
use crate::core::verify::{token_from_query, verify, Method, RequestFacts};
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
    let mut ev = AuditEvent { time: now_secs(), request_id: rid.clone(), method: req.method().to_string(), ..Default::default() };
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
    respond::misconfigured("linkgate is not configured correctly; see the worker log", &ev.request_id).map_err(|e| e.to_string())
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
    let refuse = |ev: &mut AuditEvent, code: Code, reason: &'static str, jti: Option<String>, path: Option<&CanonicalPath>| {
        ev.refuse(code, reason);
        let refresh = cfg.refresh_url.as_deref().map(|t| {
            let encoded = path.map(|p| crate::core::path::encode_path(p.as_str()));
            refresh_url(t, encoded.as_deref(), jti.as_deref())
        });
        respond::problem_response(code, refresh.as_deref(), &rid).map_err(|e| e.to_string())
    };

    // Two `lg` parameters are ambiguous; still canonicalize the path first.
    let token = match token_from_query(query) {
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
    let client_ip: Option<IpAddr> = header(req, "cf-connecting-ip").and_then(|s| s.trim().parse().ok());
    let facts = RequestFacts { raw_path, token, method, host: Some(authority), client_ip, now };

    let link = match verify(&cfg.keys, &cfg.time, &facts) {
        Ok(l) => l,
        Err(r) => {
            ev.path = r.path.as_ref().map(|p| p.as_str().to_owned());
            if let Some(c) = &r.claims {
                ev.with_claims(c);
            }
            let jti = r.claims.as_ref().map(|c| c.jti.to_hex());
            return refuse(ev, r.code, r.reason, jti, r.path.as_ref());
        }
    };
    let claims = link.claims();
    ev.with_claims(claims);
    ev.path = Some(link.path().as_str().to_owned());
    let jti = Some(claims.jti.to_hex());

    // Denylist: one bulk read; unreachable → fail closed.
    let keys = lookup_keys(claims, link.path());
    let found = match kv::bulk_get(env, DENYLIST_BINDING, &keys, cfg.kv_cache_ttl_secs).await {
        Ok(f) => f,
        Err(e) => {
            worker::console_error!("{}", serde_json::json!({"event": "denylist_unavailable", "request_id": rid, "error": e.0}).to_string());
            return refuse(ev, Code::StoreUnavailable, "denylist_unavailable", jti, Some(link.path()));
        }
    };
    if let Some(entry) = find_revocation(claims, found.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        ev.rule = Some(format!("revoked:{}", entry.scope.as_str()));
        return refuse(ev, Code::Revoked, "denylist", jti, Some(link.path()));
    }

    // Bounded-use links need the usage counter; without it, fail closed
    // rather than hand out unlimited downloads.
    if claims.uses.is_some() {
        return refuse(ev, Code::StoreUnavailable, "usage_store_missing", jti, Some(link.path()));
    }

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
    match deliver(&bucket, &link, method, &cond, country.as_deref(), cfg, now, ctx).await {
        Ok(Delivered::Sent { response, status, bytes, cache, rule }) => {
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

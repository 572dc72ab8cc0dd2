//! The admin API under `/_linkgate/`: thin glue around `core::admin`.
//!
//! Off (404 for every path) unless `LINKGATE_ADMIN_TOKEN` is set; every call
//! needs `Authorization: Bearer <token>`, compared in constant time.

use serde_json::{json, Value};
use worker::js_sys::{Reflect, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::{Data, Env, Headers, HttpMetadata, Request, Response, ResponseBody};

use crate::core::admin::{self, bearer_matches, Invalid, Query, Route, RouteError};
use crate::core::audit::{AuditEvent, Outcome};
use crate::core::config::EdgeConfig;
use crate::core::keys::Key;
use crate::core::mint::{link_url, LinkRequest};
use crate::core::policy::{evaluate, CLASSIFICATIONS};
use crate::core::revocation::{entry_expiry, find_revocation, kv_key, lookup_keys, Entry, RevocationScope};
use crate::core::token::Jti;
use crate::core::verify::Method;
use crate::core::Code;

use super::{kv, respond, AUDIT_BINDING, DENYLIST_BINDING, FILES_BINDING};

type R = Result<Response, String>;

fn json_response(status: u16, v: &Value) -> R {
    let h = Headers::new();
    let set = |k: &str, val: &str| h.set(k, val).map_err(|e| e.to_string());
    set("content-type", "application/json")?;
    set("cache-control", "no-store")?;
    Ok(Response::from_body(ResponseBody::Body(v.to_string().into_bytes()))
        .map_err(|e| e.to_string())?
        .with_status(status)
        .with_headers(h))
}

fn problem(code: &str, status: u16, detail: &str, rid: &str, extra: &[(&str, &str)]) -> R {
    let body = json!({
        "type": format!("urn:linkgate:problem:{code}"),
        "title": match status { 401 => "Unauthorized", 404 => "Not Found", 405 => "Method Not Allowed", _ => "Error" },
        "status": status,
        "code": code,
        "detail": detail,
        "request_id": rid,
    });
    respond::problem_with_status(status, &body.to_string(), extra).map_err(|e| e.to_string())
}

fn invalid(e: &Invalid, rid: &str, ev: &mut AuditEvent) -> R {
    ev.status = 400;
    ev.code = Some("invalid_request");
    respond::problem_with_status(400, &e.body(rid), &[]).map_err(|e| e.to_string())
}

/// 16 bytes from the platform CSPRNG (`crypto.getRandomValues`).
fn random_jti() -> Result<Jti, String> {
    let global = worker::js_sys::global();
    let crypto = Reflect::get(&global, &"crypto".into()).map_err(|_| "no crypto global".to_owned())?;
    let f: worker::js_sys::Function = Reflect::get(&crypto, &"getRandomValues".into())
        .map_err(|_| "no getRandomValues".to_owned())?
        .dyn_into()
        .map_err(|_| "getRandomValues is not a function".to_owned())?;
    let buf = Uint8Array::new_with_length(16);
    f.call1(&crypto, &buf).map_err(|_| "getRandomValues failed".to_owned())?;
    let mut out = [0u8; 16];
    buf.copy_to(&mut out);
    Ok(Jti(out))
}

async fn body_bytes(req: &mut Request) -> Result<Vec<u8>, Invalid> {
    // The length is checked before anything is read, so an oversized or
    // unbounded body is never buffered.
    match req.headers().get("content-length").ok().flatten() {
        Some(len) if len.trim().parse::<usize>().is_ok_and(|n| n <= admin::MAX_BODY_BYTES) => {}
        Some(_) => return Err(Invalid::new("body", format!("larger than {} bytes", admin::MAX_BODY_BYTES))),
        None => return Err(Invalid::new("content-length", "required for JSON bodies")),
    }
    req.bytes().await.map_err(|_| Invalid::new("body", "could not be read"))
}

fn entry_json(e: &Entry) -> Value {
    serde_json::to_value(e).unwrap_or(Value::Null)
}

/// Handle one admin request. `ev` is the audit event of this request.
pub async fn handle(
    mut req: Request,
    env: &Env,
    cfg: &EdgeConfig,
    origin: &str,
    raw_path: &str,
    query: &str,
    now: u64,
    ev: &mut AuditEvent,
) -> R {
    let rid = ev.request_id.clone();
    ev.outcome = Some(Outcome::Admin);
    let Some(expected) = cfg.admin_token.as_deref() else {
        ev.status = 404;
        ev.reason = Some("admin_off");
        return respond::problem_response(Code::NotFound, None, &rid).map_err(|e| e.to_string());
    };
    let authorization = req.headers().get("authorization").ok().flatten();
    if !bearer_matches(authorization.as_deref(), expected) {
        ev.status = 401;
        ev.code = Some("unauthorized");
        return problem(
            "unauthorized",
            401,
            "A valid admin bearer token is required.",
            &rid,
            &[("www-authenticate", "Bearer")],
        );
    }
    let method = Method::parse(&req.method().to_string());
    let route = match admin::route(method, raw_path) {
        Ok(r) => r,
        Err(RouteError::NotFound) => {
            ev.status = 404;
            return respond::problem_response(Code::NotFound, None, &rid).map_err(|e| e.to_string());
        }
        Err(RouteError::MethodNotAllowed { allow }) => {
            ev.status = 405;
            ev.code = Some("method_not_allowed");
            return problem("method_not_allowed", 405, "This method is not allowed here.", &rid, &[("allow", allow)]);
        }
        Err(RouteError::BadParameter { field, detail }) => return invalid(&Invalid::new(field, detail), &rid, ev),
    };
    ev.status = 200;
    match route {
        Route::MintLink => {
            ev.reason = Some("mint");
            let body = match body_bytes(&mut req).await {
                Ok(b) => b,
                Err(e) => return invalid(&e, &rid, ev),
            };
            let lr = match admin::parse_mint(&body) {
                Ok(r) => r,
                Err(e) => return invalid(&e, &rid, ev),
            };
            mint(env, cfg, origin, &lr, now, ev).await
        }
        Route::Inspect => {
            ev.reason = Some("inspect");
            let body = match body_bytes(&mut req).await {
                Ok(b) => b,
                Err(e) => return invalid(&e, &rid, ev),
            };
            let ir = match admin::parse_inspect(&body) {
                Ok(r) => r,
                Err(e) => return invalid(&e, &rid, ev),
            };
            inspect(env, cfg, &ir, now).await
        }
        Route::CreateRevocation => {
            ev.reason = Some("revoke");
            let body = match body_bytes(&mut req).await {
                Ok(b) => b,
                Err(e) => return invalid(&e, &rid, ev),
            };
            let r = match admin::parse_revoke(&body) {
                Ok(r) => r,
                Err(e) => return invalid(&e, &rid, ev),
            };
            let entry = Entry {
                scope: r.scope,
                value: r.value,
                reason: r.reason,
                actor: r.actor.unwrap_or_else(|| "admin-api".to_owned()),
                revoked_at: now,
                expires_at: entry_expiry(r.scope, now, r.link_expires_at, cfg.time.max_ttl_secs, cfg.time.skew_secs),
            };
            let store = env.kv(DENYLIST_BINDING).map_err(|e| e.to_string())?;
            let text = serde_json::to_string(&entry).map_err(|e| e.to_string())?;
            let mut put = store.put(&kv_key(entry.scope, &entry.value), text).map_err(|e| e.to_string())?;
            if let Some(exp) = entry.expires_at {
                // KV refuses expirations less than 60 s ahead.
                put = put.expiration(exp.max(now + 60));
            }
            put.execute().await.map_err(|e| e.to_string())?;
            super::forget_denylist_reads();
            ev.status = 201;
            ev.rule = Some(format!("revoke:{}", entry.scope.as_str()));
            json_response(201, &entry_json(&entry))
        }
        Route::ListRevocations => {
            ev.reason = Some("list_revocations");
            let q = match Query::parse(query).and_then(|q| q.only(&["scope", "limit", "cursor"]).map(|_| q)) {
                Ok(q) => q,
                Err(e) => return invalid(&e, &rid, ev),
            };
            let (scope, limit, cursor) = match (q.get("scope"), q.limit(), q.get("cursor")) {
                (Ok(s), Ok(l), Ok(c)) => (s.map(str::to_owned), l, c.map(str::to_owned)),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return invalid(&e, &rid, ev),
            };
            let prefix = match scope.as_deref() {
                None => None,
                Some("all") => Some("all".to_owned()),
                Some("path") => Some("path".to_owned()),
                Some(s) => match RevocationScope::parse(s) {
                    Some(sc) => Some(format!("{}:", sc.as_str())),
                    None => {
                        return invalid(
                            &Invalid::new("scope", "must be one of jti, sub, tenant, path, kid, all"),
                            &rid,
                            ev,
                        )
                    }
                },
            };
            let store = env.kv(DENYLIST_BINDING).map_err(|e| e.to_string())?;
            let mut list = store.list().limit(u64::from(limit.min(100)));
            if let Some(p) = prefix {
                list = list.prefix(p);
            }
            if let Some(c) = cursor {
                list = list.cursor(c);
            }
            let page = list.execute().await.map_err(|e| e.to_string())?;
            let names: Vec<String> = page.keys.iter().map(|k| k.name.clone()).collect();
            let values = kv::bulk_get(env, DENYLIST_BINDING, &names, 0).await.map_err(|e| e.0)?;
            let entries: Vec<Value> = values
                .iter()
                .map(|(k, v)| serde_json::from_str::<Value>(v).unwrap_or_else(|_| json!({"key": k, "raw": v})))
                .collect();
            let next = if page.list_complete { None } else { page.cursor };
            json_response(200, &json!({ "entries": entries, "cursor": next }))
        }
        Route::DeleteRevocation { scope, value } => {
            ev.reason = Some("lift");
            let value = match admin::check_revocation_value(scope, &value) {
                Ok(v) => v,
                Err(e) => return invalid(&e, &rid, ev),
            };
            let store = env.kv(DENYLIST_BINDING).map_err(|e| e.to_string())?;
            let key = kv_key(scope, &value);
            let Some(text) = store.get(&key).text().await.map_err(|e| e.to_string())? else {
                ev.status = 404;
                return problem("not_found", 404, "No such revocation entry.", &rid, &[]);
            };
            store.delete(&key).await.map_err(|e| e.to_string())?;
            super::forget_denylist_reads();
            ev.rule = Some(format!("lift:{}", scope.as_str()));
            let lifted = serde_json::from_str::<Value>(&text).unwrap_or_else(|_| json!({"key": key, "raw": text}));
            json_response(200, &json!({ "lifted": lifted }))
        }
        Route::Events => {
            ev.reason = Some("events");
            match events(env, query).await? {
                Ok(v) => json_response(200, &v),
                Err(e) => invalid(&e, &rid, ev),
            }
        }
        Route::PutFile { path } => {
            ev.reason = Some("upload");
            ev.path = Some(path.as_str().to_owned());
            let classification = req.headers().get("x-linkgate-classification").ok().flatten();
            if let Some(c) = &classification {
                if !CLASSIFICATIONS.contains(&c.as_str()) {
                    return invalid(
                        &Invalid::new("classification", "must be public, internal, confidential or restricted"),
                        &rid,
                        ev,
                    );
                }
            }
            let content_type = req.headers().get("content-type").ok().flatten();
            // R2 needs the length up front to stream a body; a chunked upload
            // would have to be buffered, which is exactly what we refuse to do.
            let Some(length) =
                req.headers().get("content-length").ok().flatten().and_then(|v| v.trim().parse::<u64>().ok())
            else {
                return invalid(
                    &Invalid::new(
                        "content-length",
                        "required: uploads are streamed into R2, which needs the size up front",
                    ),
                    &rid,
                    ev,
                );
            };
            let Some(body) = req.inner().body() else {
                return invalid(&Invalid::new("body", "the file's bytes are required"), &rid, ev);
            };
            // The runtime may not know the incoming body's length (e.g. when a
            // proxy re-chunks it); a FixedLengthStream states it, and fails the
            // upload if the client sends more or fewer bytes.
            let fixed = worker::worker_sys::FixedLengthStream::new_big_int(worker::js_sys::BigInt::from(length))
                .map_err(|e| format!("FixedLengthStream: {e:?}"))?;
            let transform: &worker::web_sys::TransformStream = fixed.as_ref();
            let readable = transform.readable();
            let writable = transform.writable();
            let pipe: worker::js_sys::Function = Reflect::get(&body, &"pipeTo".into())
                .map_err(|_| "no pipeTo".to_owned())?
                .dyn_into()
                .map_err(|_| "pipeTo is not a function".to_owned())?;
            // Runs concurrently with the R2 put that consumes `readable`.
            let _piping = pipe.call1(&body, &writable).map_err(|e| format!("pipeTo: {e:?}"))?;
            let bucket = env.bucket(FILES_BINDING).map_err(|e| e.to_string())?;
            let mut put = bucket
                .put(path.object_key(), Data::ReadableStream(readable))
                .http_metadata(HttpMetadata { content_type, ..Default::default() });
            if let Some(c) = &classification {
                put = put.custom_metadata([("classification".to_owned(), c.clone())]);
            }
            let obj = put.execute().await.map_err(|e| e.to_string())?.ok_or("R2 put returned nothing")?;
            ev.status = 201;
            ev.bytes = Some(obj.size());
            json_response(
                201,
                &json!({
                    "path": path.as_str(),
                    "size": obj.size(),
                    "etag": obj.etag(),
                    "version": obj.version(),
                    "classification": classification,
                }),
            )
        }
    }
}

async fn mint(env: &Env, cfg: &EdgeConfig, origin: &str, lr: &LinkRequest, now: u64, ev: &mut AuditEvent) -> R {
    let rid = ev.request_id.clone();
    let key: &Key = cfg.keys.signing_key();
    let jti = random_jti()?;
    let claims = match lr.build(key.kid().clone(), jti, now, cfg.time.max_ttl_secs) {
        Ok(c) => c,
        Err(e) => return invalid(&Invalid::new(e.field.as_str(), e.reason), &rid, ev),
    };
    // Refuse now what the download would refuse later: the object's
    // classification (or the default one, for folders and objects not yet
    // uploaded) decides.
    let classification = match &claims.scope {
        crate::core::Scope::Object(p) => {
            let bucket = env.bucket(FILES_BINDING).map_err(|e| e.to_string())?;
            bucket
                .head(p.object_key())
                .await
                .map_err(|e| e.to_string())?
                .and_then(|o| o.custom_metadata().ok())
                .and_then(|m| m.get("classification").cloned())
        }
        crate::core::Scope::Prefix(_) => None,
    };
    let rule = cfg.policy.rule_for(classification.as_deref());
    if let Err(denied) = evaluate(&rule, &claims, None, false).or_else(|d| {
        // Country rules can only be judged per download.
        if d.rule.ends_with(".countries") {
            Ok(crate::core::policy::Decision {
                rule: d.rule.clone(),
                mode: crate::core::Mode::Stream,
                cache: rule.cache,
                max_age_secs: 0,
            })
        } else {
            Err(d)
        }
    }) {
        ev.status = 403;
        ev.code = Some("policy_denied");
        ev.rule = Some(denied.rule.clone());
        let body = json!({
            "type": "urn:linkgate:problem:policy_denied",
            "title": "Forbidden",
            "status": 403,
            "code": "policy_denied",
            "detail": Code::PolicyDenied.detail(),
            "rule": denied.rule,
            "request_id": rid,
        });
        return respond::problem_with_status(403, &body.to_string(), &[]).map_err(|e| e.to_string());
    }
    let token = claims.sign(key).map_err(|e| e.to_string())?;
    let base = cfg.public_url.clone().unwrap_or_else(|| origin.to_owned());
    let url = link_url(&base, &claims.scope, &token);
    ev.with_claims(&claims);
    ev.path = Some(claims.scope.as_str().to_owned());
    ev.issued_by = Some("edge".to_owned());
    ev.status = 201;
    // The links table lets the audit consumer tell edge-minted links from
    // offline ones; a failure here must not lose the link, so it is logged.
    if let Ok(db) = env.d1(AUDIT_BINDING) {
        let stmt = db.prepare(
            "INSERT OR REPLACE INTO links (jti, issued_at, expires_at, scope, sub, tenant, issued_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'edge')",
        );
        let args = [
            JsValue::from_str(&claims.jti.to_hex()),
            JsValue::from_f64(claims.iat as f64),
            JsValue::from_f64(claims.exp as f64),
            JsValue::from_str(claims.scope.as_str()),
            claims.sub.as_ref().map_or(JsValue::NULL, |s| JsValue::from_str(s.as_str())),
            claims.tenant.as_ref().map_or(JsValue::NULL, |s| JsValue::from_str(s.as_str())),
        ];
        match stmt.bind(&args) {
            Ok(s) => {
                if let Err(e) = s.run().await {
                    worker::console_error!("{}", json!({"event": "links_insert_failed", "error": e.to_string()}));
                }
            }
            Err(e) => worker::console_error!("{}", json!({"event": "links_insert_failed", "error": e.to_string()})),
        }
    }
    json_response(
        201,
        &json!({ "url": url, "token": token, "jti": claims.jti.to_hex(), "expires_at": claims.exp, "issued_by": "edge" }),
    )
}

async fn inspect(env: &Env, cfg: &EdgeConfig, ir: &admin::InspectRequest, now: u64) -> R {
    let ins = admin::inspect(&cfg.keys, &cfg.time, &ir.token, ir.raw_path.as_deref(), now);
    let mut code = ins.code;
    let mut reason = ins.reason;
    let mut revocation = Value::Null;
    let mut uses_consumed = Value::Null;
    let mut consumptions = Value::Null;
    if let Some(c) = ins.claims.as_ref().filter(|c| c.uses.is_some()) {
        if let Ok(ns) = env.durable_object(super::USAGE_BINDING) {
            let s = super::usage::state(&ns, c).await?;
            uses_consumed = json!(s.used);
            consumptions = serde_json::to_value(&s.history).unwrap_or(Value::Null);
        }
    }
    if let Some(c) = &ins.claims {
        let path = match &c.scope {
            crate::core::Scope::Object(p) => Some(p.clone()),
            crate::core::Scope::Prefix(_) => {
                ir.raw_path.as_deref().and_then(|r| crate::core::CanonicalPath::from_request(r).ok())
            }
        };
        let keys = match &path {
            Some(p) => lookup_keys(c, p),
            None => {
                // A folder link without a path: check every entry but the per-object ones.
                let mut k = lookup_keys(c, &crate::core::CanonicalPath::parse("/_").map_err(|e| e.to_string())?);
                k.retain(|x| !x.starts_with("path"));
                k
            }
        };
        let found = kv::bulk_get(env, DENYLIST_BINDING, &keys, 0).await.map_err(|e| e.0)?;
        if let Some(entry) = find_revocation(c, found.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            revocation = entry_json(&entry);
            if code.is_none() {
                code = Some(Code::Revoked);
                reason = "denylist";
            }
        }
    }
    json_response(
        200,
        &json!({
            "verdict": if code.is_none() { "valid" } else { "refused" },
            "code": code.map(|c| c.as_str()),
            "status": code.map(|c| c.status()),
            "reason": if reason.is_empty() { None } else { Some(reason) },
            "checked": ins.checked,
            "claims": ins.claims.as_ref().map(|c| c.to_json()),
            "revocation": revocation,
            "uses_consumed": uses_consumed,
            "consumptions": consumptions,
        }),
    )
}

/// `GET /_linkgate/events`: filters, newest first, keyset pagination
/// (`cursor` = "<time>:<id>" of the last row returned).
async fn events(env: &Env, query: &str) -> Result<Result<Value, Invalid>, String> {
    let q = match Query::parse(query) {
        Ok(q) => q,
        Err(e) => return Ok(Err(e)),
    };
    if let Err(e) = q.only(&["jti", "sub", "tenant", "path", "outcome", "since", "until", "limit", "cursor"]) {
        return Ok(Err(e));
    }
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<JsValue> = Vec::new();
    for field in ["jti", "sub", "tenant", "path", "outcome"] {
        match q.get(field) {
            Ok(Some(v)) => {
                args.push(JsValue::from_str(v));
                clauses.push(format!("{field} = ?{}", args.len()));
            }
            Ok(None) => {}
            Err(e) => return Ok(Err(e)),
        }
    }
    for (field, op) in [("since", ">="), ("until", "<=")] {
        match q.number(field) {
            Ok(Some(v)) => {
                args.push(JsValue::from_f64(v as f64));
                clauses.push(format!("time {op} ?{}", args.len()));
            }
            Ok(None) => {}
            Err(e) => return Ok(Err(e)),
        }
    }
    match q.get("cursor") {
        Ok(Some(c)) => {
            let parsed = c.split_once(':').and_then(|(t, i)| Some((t.parse::<u64>().ok()?, i.parse::<u64>().ok()?)));
            let Some((t, i)) = parsed else {
                return Ok(Err(Invalid::new("cursor", "not a cursor returned by this API")));
            };
            args.push(JsValue::from_f64(t as f64));
            let tn = args.len();
            args.push(JsValue::from_f64(i as f64));
            clauses.push(format!("(time < ?{tn} OR (time = ?{tn} AND id < ?{}))", args.len()));
        }
        Ok(None) => {}
        Err(e) => return Ok(Err(e)),
    }
    let limit = match q.limit() {
        Ok(l) => l,
        Err(e) => return Ok(Err(e)),
    };
    let where_ = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
    let sql = format!(
        "SELECT id, time, request_id, method, jti, kid, sub, tenant, path, outcome, status, code, reason, rule, mode, bytes, cache, \
         client_ip, country, user_agent, COALESCE(issued_by, (SELECT issued_by FROM links WHERE links.jti = events.jti), \
         CASE WHEN jti IS NULL THEN NULL ELSE 'offline' END) AS issued_by FROM events {where_} ORDER BY time DESC, id DESC LIMIT {}",
        limit + 1
    );
    let db = env.d1(AUDIT_BINDING).map_err(|e| e.to_string())?;
    let stmt = db.prepare(sql).bind(&args).map_err(|e| e.to_string())?;
    let rows: Vec<Value> = stmt.all().await.map_err(|e| e.to_string())?.results().map_err(|e| e.to_string())?;
    let more = rows.len() > limit as usize;
    let mut rows: Vec<Value> = rows.into_iter().take(limit as usize).collect();
    let cursor = if more {
        rows.last().map(|r| format!("{}:{}", r["time"].as_u64().unwrap_or(0), r["id"].as_u64().unwrap_or(0)))
    } else {
        None
    };
    for r in &mut rows {
        if let Some(o) = r.as_object_mut() {
            o.remove("id");
        }
    }
    Ok(Ok(json!({ "events": rows, "cursor": cursor })))
}

//! The admin API under `/_linkgate/`: thin glue around `core::admin`.
//!
//! Off (404 for every path) unless `LINKGATE_ADMIN_TOKEN` is set; every call
//! needs `Authorization: Bearer <token>`: the root token (compared in
//! constant time) or a scoped credential it minted (`docs/admin.md`), whose
//! capability, tenants and prefix the core checks per route.

use worker::js_sys::{Reflect, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::{Data, Env, Headers, HttpMetadata, Request, Response, ResponseBody};

use linkgate_core::admin::{self, Forbidden, Invalid, Route, RouteError, SqlArg};
use linkgate_core::audit::{AuditEvent, Outcome};
use linkgate_core::config::EdgeConfig;
use linkgate_core::credential::{self, Principal, Refusal};
use linkgate_core::gate::{split_url, Facts};
use linkgate_core::json::{self, Object, Raw, Value};
use linkgate_core::mint::url_for;
use linkgate_core::policy::CLASSIFICATIONS;
use linkgate_core::revocation::{entry_expiry, find_revocation, kv_key, Entry, RevocationScope};
use linkgate_core::token::Jti;
use linkgate_core::verify::Method;
use linkgate_core::{CanonicalPath, Code, Scope};

use super::error::EdgeError;
use super::{audit, js, kv, registry, respond, AUDIT_BINDING, DENYLIST_BINDING, FILES_BINDING};

/// Why an admin call did not succeed: the caller's mistake (400) or the
/// platform's (503).
enum Fail {
    Invalid(Invalid),
    /// The credential does not reach this far (or is no good): 401/403.
    Refused(Refusal),
    Store(EdgeError),
}

impl From<Refusal> for Fail {
    fn from(r: Refusal) -> Fail {
        Fail::Refused(r)
    }
}

impl From<Forbidden> for Fail {
    fn from(f: Forbidden) -> Fail {
        match f {
            Forbidden::Invalid(i) => Fail::Invalid(i),
            Forbidden::Refused(r) => Fail::Refused(r),
        }
    }
}

impl From<Invalid> for Fail {
    fn from(e: Invalid) -> Fail {
        Fail::Invalid(e)
    }
}

macro_rules! store_failures {
    ($($t:ty),*) => {$(
        impl From<$t> for Fail {
            fn from(e: $t) -> Fail {
                Fail::Store(e.into())
            }
        }
    )*};
}
store_failures!(EdgeError, worker::Error, worker::kv::KvError, JsValue, &str);

type R = Result<Response, Fail>;

/// One admin call in progress: the request, what it needs, its audit event.
struct Call<'a> {
    req: Request,
    env: &'a Env,
    cfg: &'a EdgeConfig,
    origin: String,
    query: String,
    now: u64,
    ev: AuditEvent,
}

fn json_response(status: u16, v: Raw) -> R {
    let h = Headers::new();
    h.set("content-type", "application/json")?;
    h.set("cache-control", "no-store")?;
    Ok(Response::from_body(ResponseBody::Body(v.into_string().into_bytes()))?.with_status(status).with_headers(h))
}

fn problem(code: &str, status: u16, detail: &str, rid: &str, extra: &[(&'static str, &str)]) -> R {
    let title = match status {
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Error",
    };
    let body = Object::new()
        .str("type", &format!("urn:linkgate:problem:{code}"))
        .str("title", title)
        .num("status", u64::from(status))
        .str("code", code)
        .str("detail", detail)
        .str("request_id", rid)
        .finish();
    let extra = extra.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    Ok(respond::problem_body(status, body.into_string(), extra)?)
}

/// N bytes from the platform CSPRNG (`crypto.getRandomValues`).
fn random<const N: usize>() -> Result<[u8; N], EdgeError> {
    let global = worker::js_sys::global();
    let crypto = Reflect::get(&global, &"crypto".into())?;
    let f: worker::js_sys::Function = Reflect::get(&crypto, &"getRandomValues".into())?.dyn_into()?;
    let buf = Uint8Array::new_with_length(u32::try_from(N).unwrap_or(0));
    f.call1(&crypto, &buf)?;
    let mut out = [0u8; N];
    buf.copy_to(&mut out);
    Ok(out)
}

/// A token id: 16 random bytes.
fn random_jti() -> Result<Jti, EdgeError> {
    random().map(Jti)
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

/// What a revoke's answer promises: objects whose rule says `revocation:
/// strict` refuse every download that starts after it; the others once KV
/// has the entry everywhere.
fn guarantees(cfg: &EdgeConfig) -> Raw {
    Object::new().str("strict", "immediate").num("kv_within_secs", cfg.kv_revocation_bound_secs()).finish()
}

/// A stored denylist value as JSON: as stored if it is JSON, else wrapped.
fn stored_json(key: &str, text: &str) -> Raw {
    match json::parse(text) {
        Ok(v) => v.to_raw(),
        Err(_) => Object::new().str("key", key).str("raw", text).finish(),
    }
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// A credential refusal as problem JSON (401s invite a bearer again).
fn refusal(r: Refusal, rid: &str) -> worker::Result<Response> {
    let body = Object::new()
        .str("type", &format!("urn:linkgate:problem:{}", r.code()))
        .str("title", if r.status() == 401 { "Unauthorized" } else { "Forbidden" })
        .num("status", u64::from(r.status()))
        .str("code", r.code())
        .str("detail", r.detail())
        .str("request_id", rid)
        .finish();
    let extra = if r.status() == 401 { vec![("www-authenticate", "Bearer".to_owned())] } else { Vec::new() };
    respond::problem_body(r.status(), body.into_string(), extra)
}

/// Serve one admin request and audit it.
pub async fn serve(
    req: Request,
    env: &Env,
    ctx: &worker::Context,
    cfg: &EdgeConfig,
    facts: Facts,
) -> worker::Result<Response> {
    let (authority, raw_path, query) = split_url(&facts.url);
    // The console's static files: no credential, no data, not audited; off
    // (404 below, like every admin path) when the admin API is.
    if let Some(asset) = linkgate_core::console::asset(raw_path).filter(|_| cfg.admin_token.is_some()) {
        return super::console::serve(asset, Method::parse(&facts.method), &facts.request_id);
    }
    let scheme = facts.url.split_once("://").map_or("https", |(s, _)| s);
    let origin = format!("{scheme}://{authority}");
    let (raw_path, query) = (raw_path.to_owned(), query.to_owned());
    let mut ev = linkgate_core::gate::event_for(&facts);
    ev.outcome = Some(Outcome::Admin);
    let mut call = Call { req, env, cfg, origin, query, now: facts.now, ev };
    let result = handle(&mut call, &raw_path).await;
    let mut ev = call.ev;
    let response = match result {
        Ok(r) => Ok(r),
        Err(Fail::Invalid(e)) => {
            ev.status = 400;
            ev.code = Some("invalid_request");
            respond::problem_body(400, e.body(&ev.request_id), Vec::new())
        }
        Err(Fail::Refused(r)) => {
            ev.status = r.status();
            ev.code = Some(r.code());
            refusal(r, &ev.request_id)
        }
        Err(Fail::Store(e)) => super::store_failure(&e, &mut ev),
    };
    audit::emit(env, ctx, &ev, cfg.audit_aggregate_ms);
    if ev.method == "HEAD" {
        // HEAD is GET without the body.
        return response.and_then(|r| {
            let (status, headers) = (r.status_code(), r.headers().clone());
            Ok(Response::from_body(ResponseBody::Empty)?.with_status(status).with_headers(headers))
        });
    }
    response
}

/// Authenticate and route.
async fn handle(call: &mut Call<'_>, raw_path: &str) -> R {
    let rid = call.ev.request_id.clone();
    let Some(expected) = call.cfg.admin_token.as_deref() else {
        call.ev.status = 404;
        call.ev.reason = Some("admin_off");
        return Ok(respond::problem(Code::NotFound, &rid)?);
    };
    let authorization = header(&call.req, "authorization");
    let who = match credential::authenticate(authorization.as_deref(), expected, call.now, call.cfg.time.skew_secs) {
        Ok(who) => who,
        Err(None) => {
            call.ev.status = 401;
            call.ev.code = Some("unauthorized");
            let detail = "A valid admin bearer token is required.";
            return problem("unauthorized", 401, detail, &rid, &[("www-authenticate", "Bearer")]);
        }
        Err(Some((r, actor))) => {
            call.ev.actor = actor;
            return Err(r.into());
        }
    };
    call.ev.actor = Some(who.actor(expected));
    if let Principal::Scoped(c) = &who {
        // Killed by a `credential` denylist entry (read like a link's
        // entries: same bound, fail closed).
        let key = kv_key(RevocationScope::Credential, &c.body().id_hex());
        if !kv::denylist(call.env, &[key], call.cfg).await?.is_empty() {
            return Err(Refusal::Revoked.into());
        }
    }
    let route = match admin::route(Method::parse(call.req.method().as_ref()), raw_path) {
        Ok(r) => r,
        Err(RouteError::NotFound) => {
            call.ev.status = 404;
            return Ok(respond::problem(Code::NotFound, &rid)?);
        }
        Err(RouteError::MethodNotAllowed { allow }) => {
            call.ev.status = 405;
            call.ev.code = Some("method_not_allowed");
            return problem("method_not_allowed", 405, "This method is not allowed here.", &rid, &[("allow", allow)]);
        }
        Err(RouteError::BadParameter { field, detail }) => return Err(Invalid::new(field, detail).into()),
    };
    who.require(route.capability())?;
    call.ev.status = 200;
    match route {
        Route::MintLink => mint(call, &who).await,
        Route::Inspect => inspect(call, &who).await,
        Route::CreateRevocation => revoke(call, &who).await,
        Route::ListRevocations => list_revocations(call, &who).await,
        Route::DeleteRevocation { scope, value } => lift(call, &who, scope, &value).await,
        Route::Events => events(call, &who).await,
        Route::PutFile { path } => upload(call, &who, &path).await,
        Route::ListFiles => list_files(call, &who).await,
        Route::Policy => policy(call),
        Route::EventsHourly => events_hourly(call, &who).await,
    }
}

async fn revoke(call: &mut Call<'_>, who: &Principal) -> R {
    call.ev.reason = Some("revoke");
    let mut r = admin::parse_revoke(&body_bytes(&mut call.req).await?)?;
    let now = call.now;
    // Revoking by link: its verified claims name the jti, the tenant and the
    // expiry (docs/admin.md).
    let mut link_tenant = None;
    if let Some(link) = r.link.take() {
        let claims = verified_claims(call, &link)
            .await
            .ok_or_else(|| Invalid::new("link", "not a link signed by this worker's keys"))?;
        who.link_ok(&claims)?;
        about_link(&mut call.ev, &claims);
        r.value = claims.jti.to_hex();
        r.link_expires_at = r.link_expires_at.or(Some(claims.exp));
        link_tenant = Some(claims.tenant.as_ref().map(|t| t.as_str().to_owned()));
    }
    who.revocation_ok(r.scope, &r.value, link_tenant.as_ref().map(Option::as_deref))?;
    let default_actor = match who {
        Principal::Root => "admin-api".to_owned(),
        Principal::Scoped(c) => c.body().actor(),
    };
    let requested = Entry {
        scope: r.scope,
        value: r.value,
        reason: r.reason,
        actor: r.actor.unwrap_or(default_actor),
        revoked_at: now,
        expires_at: entry_expiry(r.scope, now, r.link_expires_at, &call.cfg.windows()),
        tenant: link_tenant.flatten(),
        also: Vec::new(),
    };
    call.ev.subject = Some(format!("{}:{}", requested.scope.as_str(), requested.value));
    call.ev.detail =
        Some(Object::new().str("reason", &requested.reason).str("actor", &requested.actor).finish().into_string());
    if requested.scope == RevocationScope::Path {
        folder_check(call.env, &requested.value).await?;
    }
    let key = kv_key(requested.scope, &requested.value);
    // A second revoke never weakens the first (core::revocation::merge). The
    // strict registry merges (its requests are serialized) and is written
    // first: once this call answers, every download of a strict object is
    // refused. If it cannot be written, nothing is (503; the operator
    // retries). KV then gets the same entry.
    let existing = js::kv_get(call.env, DENYLIST_BINDING, &key).await?.and_then(|t| Entry::from_json(&t));
    let entry = registry::revoke(call.env, &key, &requested, existing.as_ref()).await?;
    // KV refuses expirations less than 60 s ahead.
    let expiration = entry.expires_at.map(|exp| exp.max(now + 60));
    js::kv_put(call.env, DENYLIST_BINDING, &key, entry.to_json().as_str(), expiration).await?;
    kv::forget_reads();
    call.ev.status = 201;
    call.ev.rule = Some(format!("revoke:{}", entry.scope.as_str()));
    json_response(201, entry.members().raw("guarantees", &guarantees(call.cfg)).finish())
}

/// A path revocation without a trailing `/` names an object; if there is no
/// such object but there is a folder of that name, it could never match what
/// the operator meant: say so instead of answering 201.
async fn folder_check(env: &Env, value: &str) -> Result<(), Fail> {
    if value.ends_with('/') {
        return Ok(());
    }
    let key = value.trim_start_matches('/');
    let bucket = env.bucket(FILES_BINDING)?;
    if bucket.head(key).await?.is_some() {
        return Ok(());
    }
    let listed = bucket.list().prefix(format!("{key}/")).limit(1).execute().await?;
    if listed.objects().is_empty() {
        return Ok(());
    }
    let hint = format!("{value} is a folder, not an object: revoke {value}/ (with the trailing slash)");
    Err(Invalid::new("value", hint).into())
}

async fn list_revocations(call: &mut Call<'_>, who: &Principal) -> R {
    call.ev.reason = Some("list_revocations");
    let q = admin::Query::parse(&call.query)?;
    q.only(&["scope", "limit", "cursor"])?;
    let prefix = admin::revocation_list_prefix(q.get("scope")?)?;
    let limit = u64::from(q.limit()?.min(100));
    let (names, next) = js::kv_list(call.env, DENYLIST_BINDING, prefix.as_deref(), limit, q.get("cursor")?).await?;
    let mut values = kv::bulk_get(call.env, DENYLIST_BINDING, &names, 0).await?;
    // A limited credential sees the entries it could have made (a page may
    // then hold fewer than `limit`, even none, with a cursor to go on).
    values.retain(|(_, v)| who.unrestricted() || Entry::from_json(v).is_some_and(|e| visible(who, &e)));
    let entries = json::array(values.iter().map(|(k, v)| stored_json(k, v)));
    json_response(200, Object::new().raw("entries", &entries).opt_str("cursor", next.as_deref()).finish())
}

/// The revoked link's tenant a `jti` entry recorded (revoked by its link).
fn link_tenant_of(e: &Entry) -> Option<Option<&str>> {
    (e.scope == RevocationScope::Jti && e.tenant.is_some()).then_some(e.tenant.as_deref())
}

/// May a limited credential see or lift this stored entry?
fn visible(who: &Principal, e: &Entry) -> bool {
    who.revocation_ok(e.scope, &e.value, link_tenant_of(e)).is_ok()
}

async fn lift(call: &mut Call<'_>, who: &Principal, scope: RevocationScope, value: &str) -> R {
    call.ev.reason = Some("lift");
    let value = admin::check_revocation_value(scope, value)?;
    let key = kv_key(scope, &value);
    call.ev.subject = Some(format!("{}:{value}", scope.as_str()));
    if !who.unrestricted() {
        // Checked against the stored entry (a jti entry's tenant) before
        // anything is lifted.
        let stored = js::kv_get(call.env, DENYLIST_BINDING, &key).await?.and_then(|t| Entry::from_json(&t));
        who.revocation_ok(scope, &value, stored.as_ref().and_then(link_tenant_of))?;
    }
    let in_registry = registry::lift(call.env, &key).await?;
    let Some(text) = js::kv_get(call.env, DENYLIST_BINDING, &key).await?.or(in_registry) else {
        call.ev.status = 404;
        return problem("not_found", 404, "No such revocation entry.", &call.ev.request_id, &[]);
    };
    js::kv_delete(call.env, DENYLIST_BINDING, &key).await?;
    kv::forget_reads();
    call.ev.rule = Some(format!("lift:{}", scope.as_str()));
    let lifted = Object::new().raw("lifted", &stored_json(&key, &text)).finish();
    call.ev.subject = Some(format!("{}:{value}", scope.as_str()));
    call.ev.detail = Some(lifted.as_str().to_owned());
    json_response(200, lifted)
}

/// `PUT /_linkgate/files/{path}`: stream the body into R2.
async fn upload(call: &mut Call<'_>, who: &Principal, path: &CanonicalPath) -> R {
    call.ev.reason = Some("upload");
    call.ev.path = Some(path.as_str().to_owned());
    call.ev.subject = Some(format!("file:{}", path.as_str()));
    who.upload_ok(path)?;
    let asked = header(&call.req, "x-linkgate-classification");
    if asked.as_deref().is_some_and(|c| !CLASSIFICATIONS.contains(&c)) {
        return Err(Invalid::new("classification", "must be public, internal, confidential or restricted").into());
    }
    let content_type = header(&call.req, "content-type");
    // R2 needs the length up front to stream a body; a chunked upload
    // would have to be buffered, which is exactly what we refuse to do.
    let Some(length) = header(&call.req, "content-length").and_then(|v| v.trim().parse::<u64>().ok()) else {
        let detail = "required: uploads are streamed into R2, which needs the size up front";
        return Err(Invalid::new("content-length", detail).into());
    };
    let Some(body) = call.req.inner().body() else {
        return Err(Invalid::new("body", "the file's bytes are required").into());
    };
    // Re-uploading keeps the object's classification unless one is given:
    // a restricted file never silently becomes the default class.
    let bucket = call.env.bucket(FILES_BINDING)?;
    let before = super::objects::read(call.env, path.object_key(), false, 0).await?.0.and_then(|m| m.classification);
    let classification = asked.clone().or_else(|| before.clone());
    let (readable, piped) = fixed_length(&body, length)?;
    let mut put = bucket
        .put(path.object_key(), Data::ReadableStream(readable))
        .http_metadata(HttpMetadata { content_type, ..Default::default() });
    if let Some(c) = &classification {
        put = put.custom_metadata([("classification".to_owned(), c.clone())]);
    }
    let written = put.execute().await;
    // Whatever the outcome, this isolate must not keep describing the old object.
    super::objects::forget(path.object_key());
    let obj = match written {
        Ok(o) => o.ok_or("R2 put returned nothing")?,
        Err(_) if piped.failed() => {
            // The client sent fewer (or more) bytes than its Content-Length.
            return Err(
                Invalid::new("body", format!("the body is not the {length} bytes its Content-Length says")).into()
            );
        }
        Err(e) => return Err(e.into()),
    };
    call.ev.status = 201;
    call.ev.bytes = Some(obj.size());
    let detail = Object::new()
        .opt_str("old_classification", before.as_deref())
        .opt_str("new_classification", classification.as_deref())
        .boolean("changed", before != classification)
        .finish();
    call.ev.detail = Some(detail.into_string());
    let v = Object::new()
        .str("path", path.as_str())
        .num("size", obj.size())
        .str("etag", &obj.etag())
        .str("version", &obj.version())
        .opt_str("classification", classification.as_deref())
        .opt_str("previous_classification", before.as_deref())
        .finish();
    json_response(201, v)
}

/// Whether piping the request body into the upload failed (short or long body).
struct Piped(std::rc::Rc<std::cell::Cell<bool>>);

impl Piped {
    fn failed(&self) -> bool {
        self.0.get()
    }
}

/// The runtime may not know the incoming body's length (e.g. when a proxy
/// re-chunks it); a FixedLengthStream states it, and fails the upload if the
/// client sends more or fewer bytes. The pipe's failure is caught (never an
/// unhandled rejection) and reported through [`Piped`].
fn fixed_length(
    body: &worker::web_sys::ReadableStream,
    length: u64,
) -> Result<(worker::web_sys::ReadableStream, Piped), EdgeError> {
    let fixed = worker::worker_sys::FixedLengthStream::new_big_int(worker::js_sys::BigInt::from(length))?;
    let transform: &worker::web_sys::TransformStream = fixed.as_ref();
    let pipe: worker::js_sys::Function = Reflect::get(body, &"pipeTo".into())?.dyn_into()?;
    // Runs concurrently with the R2 put that consumes the readable side.
    let piping: worker::js_sys::Promise = pipe.call1(body, &transform.writable())?.dyn_into()?;
    let failed = std::rc::Rc::new(std::cell::Cell::new(false));
    let flag = failed.clone();
    let on_error = worker::wasm_bindgen::closure::Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| flag.set(true));
    let _caught = piping.catch(&on_error);
    // Owned by the promise from here on (a few bytes per upload, an admin act).
    on_error.forget();
    Ok((transform.readable(), Piped(failed)))
}

async fn mint(call: &mut Call<'_>, who: &Principal) -> R {
    call.ev.reason = Some("mint");
    let mut lr = admin::parse_mint(&body_bytes(&mut call.req).await?, call.cfg.allow_whole_bucket)?;
    // A one-tenant credential's links are that tenant's unless they say.
    if lr.tenant.is_none() {
        lr.tenant = who.default_tenant().map(str::to_owned);
    }
    let cfg = call.cfg;
    let key = cfg.keys.signing_key();
    let claims = lr
        .build(key.kid().clone(), random_jti()?, call.now, cfg.time.max_ttl_secs)
        .map_err(|e| Invalid::new(e.field.as_str(), e.reason))?;
    call.ev.path = Some(claims.scope.as_str().to_owned());
    who.link_ok(&claims)?;
    // After the check: a refused mint for another tenant is not filed under
    // that tenant (its credentials would read who tried).
    call.ev.tenant = claims.tenant.as_ref().map(|t| t.as_str().to_owned());
    // The object's classification (or the default one, for folders and
    // objects not yet uploaded) decides.
    let classification = match &claims.scope {
        Scope::Object(p) => {
            super::objects::read(call.env, p.object_key(), false, 0).await?.0.and_then(|m| m.classification)
        }
        Scope::Prefix(_) => None,
    };
    if let Err(denied) = admin::mint_policy(&cfg.policy.rule_for(classification.as_deref()), &claims, lr.sealed) {
        call.ev.status = 403;
        call.ev.code = Some("policy_denied");
        call.ev.rule = Some(denied.rule.clone());
        let body = linkgate_core::problem::fields(Code::PolicyDenied, None, Some(&call.ev.request_id))
            .str("rule", &denied.rule)
            .finish();
        return Ok(respond::problem_body(403, body.into_string(), Vec::new())?);
    }
    // A sealed link's nonce: fresh random bytes (docs/link-format.md §17.2).
    let token = if lr.sealed { claims.seal(key, &random()?) } else { claims.sign(key) }
        .map_err(|e| Invalid::new(e.field.as_str(), e.reason))?;
    let base = cfg.public_url.clone().unwrap_or_else(|| call.origin.clone());
    let url = url_for(&base, &claims.scope, &token, lr.sealed);
    call.ev.with_claims(&claims);
    call.ev.path = Some(claims.scope.as_str().to_owned());
    call.ev.issued_by = Some("edge".to_owned());
    call.ev.status = 201;
    record_minted(call.env, &claims).await;
    let answer = Object::new()
        .str("url", &url)
        .str("token", &token)
        .str("jti", &claims.jti.to_hex())
        .num("expires_at", claims.exp)
        .str("issued_by", "edge")
        .boolean("sealed", lr.sealed)
        .finish();
    json_response(201, answer)
}

/// The links table lets the audit trail tell edge-minted links from offline
/// ones; a failure here must not lose the link, so it is logged.
async fn record_minted(env: &Env, claims: &linkgate_core::Claims) {
    let Ok(db) = env.d1(AUDIT_BINDING) else { return };
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
    let result = match stmt.bind(&args) {
        Ok(s) => s.run().await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        let line = Object::new().str("event", "links_insert_failed").str("error", &e.to_string()).finish();
        worker::console_error!("{line}");
    }
}

/// Inspect a link or token as `POST /_linkgate/inspect` does. An Ed25519
/// link's signature is checked by WebCrypto, as on the request path.
async fn inspection(call: &Call<'_>, ir: &admin::InspectRequest) -> linkgate_core::inspect::Inspection {
    let cfg = call.cfg;
    let signature = match admin::inspect_signature(&cfg.keys, &ir.token) {
        Some((key, message, sig)) => Some(super::webcrypto::verify_bytes(&key, &message, &sig).await),
        None => None,
    };
    admin::inspect(&cfg.keys, &cfg.time, &ir.token, ir.raw_path.as_deref(), call.now, signature)
}

/// The claims of a link whose signature verifies (whatever its time or
/// scope), or `None`.
async fn verified_claims(call: &Call<'_>, ir: &admin::InspectRequest) -> Option<linkgate_core::Claims> {
    inspection(call, ir).await.claims
}

/// An admin call about one link the caller may see is filed under the link's
/// tenant and path, so that a tenant's credentials find it in their events
/// (docs/admin.md). Not its jti: only decisions about the link itself carry
/// that, and the console counts them as its downloads.
fn about_link(ev: &mut AuditEvent, c: &linkgate_core::Claims) {
    ev.tenant = c.tenant.as_ref().map(|t| t.as_str().to_owned());
    ev.path = Some(c.scope.as_str().to_owned());
}

async fn inspect(call: &mut Call<'_>, who: &Principal) -> R {
    call.ev.reason = Some("inspect");
    let ir = admin::parse_inspect(&body_bytes(&mut call.req).await?)?;
    let env = call.env;
    let ins = inspection(call, &ir).await;
    // Another tenant's (or folder's) link: nothing about it is shown.
    if let Some(c) = &ins.claims {
        who.link_ok(c)?;
        about_link(&mut call.ev, c);
    }
    let mut reason = ins.reason;
    let (mut revocation, mut uses_consumed, mut consumptions) = (json::null(), json::null(), json::null());
    if let Some(c) = ins.claims.as_ref().filter(|c| c.uses.is_some()) {
        if let Some(ns) = super::usage::namespace(env) {
            let s = super::usage::state(&ns, c.jti).await?;
            uses_consumed = json::num(u64::from(s.used));
            consumptions = s.history_json();
        }
    }
    if let Some(c) = &ins.claims {
        let keys = admin::inspect_keys(c, ir.raw_path.as_deref());
        let found = kv::bulk_get(env, DENYLIST_BINDING, &keys, 0).await?;
        if let Some(entry) = find_revocation(c, found.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            revocation = entry.to_json();
            reason = reason.or(Some(linkgate_core::Reason::Revoked(entry.scope)));
        }
    }
    let code = reason.and_then(|r| r.code());
    let answer = Object::new()
        .str("verdict", if code.is_none() { "valid" } else { "refused" })
        .opt_str("code", code.map(|c| c.as_str()))
        .opt_num("status", code.map(|c| u64::from(c.status())))
        .opt_str("reason", reason.map(|r| r.as_str()))
        .raw("checked", &json::array(ins.checked.iter().map(|c| json::string(c))))
        .boolean("sealed", ins.sealed)
        .raw("claims", &ins.claims.as_ref().map_or_else(json::null, |c| c.to_raw_json()))
        .raw("revocation", &revocation)
        .raw("uses_consumed", &uses_consumed)
        .raw("consumptions", &consumptions)
        .finish();
    json_response(200, answer)
}

/// `GET /_linkgate/events`: filters, newest first, keyset pagination
/// (`cursor` = "<time>:<id>" of the last row returned).
async fn events(call: &mut Call<'_>, who: &Principal) -> R {
    call.ev.reason = Some("events");
    let (sql, args, limit) = admin::events_query_for(&call.query, who)?;
    let rows = select_rows(call.env, sql, args).await?;
    let more = rows.len() > limit as usize;
    let mut rows: Vec<Value> = rows.into_iter().take(limit as usize).collect();
    let number = |r: &Value, k: &str| r.get(k).and_then(Value::as_u64).unwrap_or(0);
    let cursor = if more { rows.last().map(|r| format!("{}:{}", number(r, "time"), number(r, "id"))) } else { None };
    for r in &mut rows {
        if let Value::Obj(o) = r {
            o.remove("id");
        }
    }
    let rows = json::array(rows.iter().map(Value::to_raw));
    json_response(200, Object::new().raw("events", &rows).opt_str("cursor", cursor.as_deref()).finish())
}

/// The rows of one audit-store SELECT, its values bound (never spliced).
async fn select_rows(env: &Env, sql: String, args: Vec<SqlArg>) -> Result<Vec<Value>, Fail> {
    let args: Vec<JsValue> = args
        .into_iter()
        .map(|a| match a {
            SqlArg::Text(t) => JsValue::from_str(&t),
            SqlArg::Number(n) => JsValue::from_f64(n),
        })
        .collect();
    let db = env.d1(AUDIT_BINDING)?;
    match json::parse(&all_rows(&db.prepare(sql).bind(&args)?).await?) {
        Ok(Value::Arr(rows)) => Ok(rows),
        _ => Err(EdgeError::new("D1 rows unreadable").into()),
    }
}

/// A statement's rows as JSON text (`JSON.stringify` of D1's `results`):
/// read by the core's JSON reader rather than deserialized row by row.
async fn all_rows(stmt: &worker::D1PreparedStatement) -> Result<String, EdgeError> {
    let inner: &JsValue = stmt.inner().as_ref();
    let all: worker::js_sys::Function = Reflect::get(inner, &"all".into())?.dyn_into()?;
    let promise: worker::js_sys::Promise = all.call0(inner)?.dyn_into()?;
    let result = crate::task::wait(&promise).await?;
    let rows = Reflect::get(&result, &"results".into())?;
    let rows = if rows.is_undefined() || rows.is_null() { worker::js_sys::Array::new().into() } else { rows };
    worker::js_sys::JSON::stringify(&rows)?.as_string().ok_or_else(|| EdgeError::new("D1 rows unreadable"))
}

/// `GET /_linkgate/files`: one page of the bucket under a folder, with each
/// object's classification and the rule that applies to it.
async fn list_files(call: &mut Call<'_>, who: &Principal) -> R {
    call.ev.reason = Some("list_files");
    let q = admin::files_query_for(&call.query, who)?;
    call.ev.subject = Some(format!("files:{}", q.prefix));
    let bucket = call.env.bucket(FILES_BINDING)?;
    let mut list = bucket
        .list()
        .prefix(q.key_prefix.clone())
        .delimiter("/")
        .limit(q.limit)
        .include(vec![worker::Include::CustomMetadata]);
    if let Some(c) = &q.cursor {
        list = list.cursor(c.clone());
    }
    let page = list.execute().await?;
    let policy = &call.cfg.policy;
    let files = json::array(page.objects().iter().map(|o| {
        let classification = o.custom_metadata().ok().and_then(|mut m| m.remove("classification"));
        admin::file_json(&o.key(), o.size(), o.uploaded().as_millis() / 1000, classification.as_deref(), policy)
    }));
    let folders = json::array(page.delimited_prefixes().iter().map(|p| json::string(&format!("/{p}"))));
    let cursor = if page.truncated() { page.cursor() } else { None };
    let v = Object::new()
        .str("prefix", &q.prefix)
        .raw("folders", &folders)
        .raw("files", &files)
        .opt_str("cursor", cursor.as_deref())
        .finish();
    json_response(200, v)
}

/// `GET /_linkgate/policy`: the rules the worker applies, for forms that
/// show a classification's limits before they submit.
fn policy(call: &mut Call<'_>) -> R {
    call.ev.reason = Some("policy");
    admin::Query::parse(&call.query)?.only(&[])?;
    json_response(200, admin::policy_json(&call.cfg.policy, call.cfg.time.max_ttl_secs))
}

/// `GET /_linkgate/events/hourly`: downloads and refusals per hour, counted
/// by D1 over the whole selection (not one page of it).
async fn events_hourly(call: &mut Call<'_>, who: &Principal) -> R {
    call.ev.reason = Some("events_hourly");
    let (sql, args, since, until) = admin::hourly_query_for(&call.query, call.now, who)?;
    let rows = select_rows(call.env, sql, args).await?;
    let number = |r: &Value, k: &str| r.get(k).and_then(Value::as_u64).unwrap_or(0);
    let hours = json::array(rows.iter().map(|r| {
        Object::new()
            .num("hour", number(r, "hour"))
            .num("downloads", number(r, "downloads"))
            .num("refusals", number(r, "refusals"))
            .finish()
    }));
    json_response(200, Object::new().num("since", since).num("until", until).raw("hours", &hours).finish())
}

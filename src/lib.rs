//! linkgate's Cloudflare Worker: thin glue between bindings and the core.
//!
//! Every download request is decided by `linkgate_core::gate` (the
//! platform-free core, `crates/linkgate-core`): this crate
//! reads the request's facts, performs each I/O step the gate asks for with
//! one adapter per binding, and turns the gate's answer into a `Response`.
//! It decides nothing itself. It is wasm32-only and cdylib-only (so the
//! release profile's LTO applies); on any other target it is empty. It never returns `Err` to the runtime: a
//! platform failure becomes a fail-closed problem response.
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

mod admin;
mod audit;
mod console;
mod deliver;
mod durable;
mod error;
mod identity;
mod js;
mod kv;
mod objects;
mod origin;
mod registry;
mod respond;
mod task;
mod usage;
mod webcrypto;

pub use registry::RevocationRegistry;
pub use usage::UsageCounter;

use std::cell::Cell;

use worker::wasm_bindgen::prelude::wasm_bindgen;
use worker::wasm_bindgen::JsValue;
use worker::{Context, Env, Request, Response};

use linkgate_core::audit::AuditEvent;
use linkgate_core::config::{ConfigError, EdgeConfig};
use linkgate_core::gate::{self, split_url, Facts, Step};
use linkgate_core::json::Object;
use linkgate_core::Code;

/// KV binding of the revocation denylist.
pub const DENYLIST_BINDING: &str = "LINKGATE_DENYLIST";
/// R2 binding of the files.
pub const FILES_BINDING: &str = "LINKGATE_FILES";
/// Durable Object binding of the usage counters.
pub const USAGE_BINDING: &str = "LINKGATE_USAGE";
/// Durable Object binding of the strict revocation registry.
pub const REGISTRY_BINDING: &str = "LINKGATE_REVOCATIONS";
/// Queue binding that carries audit events to D1.
pub const EVENTS_BINDING: &str = "LINKGATE_EVENTS";
/// D1 binding of the audit store.
pub const AUDIT_BINDING: &str = "LINKGATE_AUDIT";

/// Longest `CF-Ray` accepted as the request id.
const MAX_REQUEST_ID: usize = 64;

type Config = Result<EdgeConfig, ConfigError>;

thread_local! {
    // Vars and secrets are fixed for an isolate's life, so parse them (and key
    // the HMAC states) once instead of on every request. Leaked once per
    // isolate: a `'static` borrow lets a request's gate state move into the
    // future of the few requests that need I/O.
    static CONFIG: Cell<Option<&'static Config>> = const { Cell::new(None) };
}

fn config(env: &Env) -> &'static Config {
    CONFIG.with(|c| {
        if let Some(cfg) = c.get() {
            return cfg;
        }
        let lookup = |name: &str| -> Option<String> {
            env.secret(name).ok().map(|s| s.to_string()).or_else(|| env.var(name).ok().map(|v| v.to_string()))
        };
        let parsed: &'static Config = Box::leak(Box::new(EdgeConfig::from_lookup(&lookup)));
        c.set(Some(parsed));
        parsed
    })
}

/// Milliseconds since the epoch: `Date.now()`, without the `Date` object
/// workers-rs' `Date::now()` constructs.
pub(crate) fn now_ms() -> u64 {
    worker::js_sys::Date::now() as u64
}

fn now_secs() -> u64 {
    now_ms() / 1000
}

/// The runtime's request. The fetch handler takes it unwrapped: workers-rs'
/// `Request` reads `request.cf` on construction, which the runtime builds on
/// first access and which is among the costliest facts of a request.
type RawRequest = worker::web_sys::Request;

fn header(req: &RawRequest, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

fn request_id(ray: Option<String>) -> String {
    if let Some(ray) = ray.filter(|r| !r.is_empty() && r.len() <= MAX_REQUEST_ID) {
        return ray;
    }
    // 16 hex digits from two random 32-bit halves.
    let half = || ((worker::js_sys::Math::random() * 4_294_967_296.0) as u32).to_be_bytes();
    let [a, b] = [half(), half()];
    linkgate_core::hex::lower(&[a, b].concat())
}

// One call across the JS boundary for the method, the URL and every header
// the gate reads (a call and a string each cost more than the reading):
// the packed form of `linkgate_core::gate::unpack_request`, with the headers
// in the order of `PACKED_HEADERS`.
#[worker::wasm_bindgen::prelude::wasm_bindgen(inline_js = r#"
const NAMES = ["cf-connecting-ip", "user-agent", "accept", "content-length", "range",
  "if-range", "if-none-match", "if-modified-since", "cta-common-access-token",
  "common-access-token", "cookie", "origin", "cf-access-jwt-assertion", "cf-ray"];
export function linkgate_pack_request(r) {
  const h = r.headers;
  let out = r.method + "\n" + r.url;
  for (const n of NAMES) {
    const v = h.get(n);
    out += v === null ? "\n-" : "\n+" + v;
  }
  return out;
}
"#)]
extern "C" {
    fn linkgate_pack_request(req: &RawRequest) -> String;
}

/// What the gate needs to know about the request. The country (`request.cf`,
/// costly to materialize) only when `with_country`: the gate asks for it
/// itself once a link is authentic.
fn facts(req: &RawRequest, with_country: bool) -> Facts {
    let Some(u) = gate::unpack_request(&linkgate_pack_request(req)) else {
        return facts_one_by_one(req, with_country);
    };
    let [client_ip, user_agent, accept, content_length, range, if_range, if_none_match, if_modified_since, cat_header, common_access_token, cookie, origin, access_assertion, ray] =
        u.headers;
    Facts {
        method: u.method,
        url: u.url,
        client_ip,
        user_agent,
        accept,
        content_length,
        range,
        if_range,
        if_none_match,
        if_modified_since,
        cat_header,
        common_access_token,
        cookie,
        origin,
        access_assertion,
        country: if with_country { country(req) } else { None },
        request_id: request_id(ray),
        now: now_secs(),
    }
}

/// The same facts, a call per header (if the packed form ever fails to parse).
fn facts_one_by_one(req: &RawRequest, with_country: bool) -> Facts {
    Facts {
        method: req.method(),
        url: req.url(),
        client_ip: header(req, "cf-connecting-ip"),
        user_agent: header(req, "user-agent"),
        accept: header(req, "accept"),
        content_length: header(req, "content-length"),
        range: header(req, "range"),
        if_range: header(req, "if-range"),
        if_none_match: header(req, "if-none-match"),
        if_modified_since: header(req, "if-modified-since"),
        cat_header: header(req, "cta-common-access-token"),
        common_access_token: header(req, "common-access-token"),
        cookie: header(req, "cookie"),
        origin: header(req, "origin"),
        access_assertion: header(req, "cf-access-jwt-assertion"),
        country: if with_country { country(req) } else { None },
        request_id: request_id(header(req, "cf-ray")),
        now: now_secs(),
    }
}

// `request.cf.country` in one call (two `Reflect.get` calls and a type check
// before). workerd builds the whole `cf` object on its first read, which is
// most of this call's cost; benches/edge/profile.mjs prices it by this
// function's name.
#[worker::wasm_bindgen::prelude::wasm_bindgen(inline_js = r#"
export function linkgate_country(r) {
  const cf = r.cf;
  const c = cf !== null && typeof cf === "object" ? cf.country : undefined;
  return typeof c === "string" ? c : undefined;
}
"#)]
extern "C" {
    fn linkgate_country(req: &RawRequest) -> Option<String>;
}

/// `request.cf.country`, without workers-rs' panicking getters.
fn country(req: &RawRequest) -> Option<String> {
    linkgate_country(req)
}

/// The worker's fetch handler, in place of workers-rs' `#[event(fetch)]`
/// (same export, same shim): that macro makes every request an `async fn`
/// run through `future_to_promise` (a promise, a microtask, a poll, a
/// waker), and converts its `worker::Response`. Here a request the gate
/// decides without I/O — every refusal of a forged or malformed link — is
/// answered synchronously with a plain `Response`; only a request that waits
/// on a store, a body or WebCrypto becomes a promise, driven by `task`.
#[wasm_bindgen]
pub fn fetch(req: RawRequest, env: Env, ctx: worker::worker_sys::Context) -> JsValue {
    let ctx = Context::new(ctx);
    let cfg = config(&env);
    let mut facts = facts(&req, cfg.is_err());
    let (_, raw_path, _) = split_url(&facts.url);
    let admin = raw_path == "/_linkgate" || raw_path.starts_with("/_linkgate/");
    if admin && facts.country.is_none() {
        facts.country = country(&req);
    }
    let cfg = match cfg {
        Ok(cfg) => cfg,
        Err(e) => return to_js(misconfigured(e, &facts, &env, &ctx).map(web_sys_response)),
    };
    if admin {
        return promise(
            async move { admin::serve(Request::from(req), &env, &ctx, cfg, facts).await.map(web_sys_response) },
        );
    }
    let rid = facts.request_id.clone();
    match gate::start(cfg, facts) {
        Step::Done(done) => to_js(finish(done, None, &env, &ctx, cfg)),
        step => promise(async move { serve(&req, &env, &ctx, cfg, rid, step).await }),
    }
}

fn web_sys_response(r: Response) -> worker::web_sys::Response {
    r.into()
}

/// A handler's result as the runtime takes it; an error (the runtime refused
/// to build a response) is logged and answered 500, as `#[event(fetch)]` did.
fn to_js(r: worker::Result<worker::web_sys::Response>) -> JsValue {
    match r {
        Ok(r) => r.into(),
        Err(e) => {
            worker::console_error!("{e}");
            Response::error("INTERNAL SERVER ERROR", 500)
                .map(web_sys_response)
                .map(JsValue::from)
                .unwrap_or(JsValue::NULL)
        }
    }
}

/// The answer of a request that may wait on I/O: its `Response`, or a
/// promise of it (see `task`).
fn promise(f: impl std::future::Future<Output = worker::Result<worker::web_sys::Response>> + 'static) -> JsValue {
    task::spawn(async move { to_js(f.await) })
}

/// The gate's last step: background work, the audit event, the response.
fn finish(
    done: Box<gate::Done>,
    delivered: Option<worker::web_sys::Response>,
    env: &Env,
    ctx: &Context,
    cfg: &EdgeConfig,
) -> worker::Result<worker::web_sys::Response> {
    let gate::Done { reply, event, record_start } = *done;
    if let Some(start) = record_start {
        usage::record_in_background(env, ctx, start);
    }
    audit::emit(env, ctx, &event, cfg.audit_aggregate_ms);
    respond::reply(reply, delivered)
}

/// Drive the gate from `step`: do each I/O it asks for, hand the answer back.
async fn serve(
    req: &RawRequest,
    env: &Env,
    ctx: &Context,
    cfg: &EdgeConfig,
    rid: String,
    mut step: Step<'_>,
) -> worker::Result<worker::web_sys::Response> {
    let mut fetched: Option<objects::Fetched> = None;
    let mut delivered: Option<worker::web_sys::Response> = None;
    loop {
        step = match step {
            Step::ReadForm(s) => {
                let body = read_form(req, s.limit()).await;
                s.answer(body.as_deref())
            }
            // An Ed25519 link's signature (WebCrypto: the core holds no curve code).
            Step::VerifySignature(s) => webcrypto::verify(s).await,
            // Links for one person: the provider's keys, then the assertion's
            // signature (docs/identity.md).
            Step::ReadJwks(s) => identity::read_jwks(s, &rid).await,
            Step::VerifyJwt(s) => identity::verify_jwt(s).await,
            Step::ReadCountry(s) => s.answer(country(req)),
            Step::ReadDenylist(s) => kv::denylist_step(env, s, cfg, &rid).await,
            Step::ReadObject(s) => match s.origin_head() {
                // A private origin: its HEAD instead of R2 (the core reads the answer).
                Some(head) => origin::read_head(s, head, &rid).await,
                None => match objects::read(env, s.key(), s.with_body(), cfg.object_memo_ms).await {
                    Ok((meta, object)) => {
                        fetched = object;
                        s.answer(meta)
                    }
                    Err(e) => s.unavailable().logged("object_unavailable", &rid, &e),
                },
            },
            Step::ReadStrict(s) => registry::lookup_step(env, s, now_secs(), &rid).await,
            Step::ReadUsage(s) => usage::read_step(env, s, &rid).await,
            Step::Consume(s) => usage::consume_step(env, s, &rid).await,
            Step::Deliver(s) => match deliver::run(env, ctx, s.plan(), fetched.take()).await {
                Ok((response, cache)) => {
                    delivered = Some(response);
                    s.sent(cache)
                }
                Err(failure) => s.failed(failure),
            },
            Step::Refund(s) => usage::refund_step(env, s).await,
            Step::Done(done) => return finish(done, delivered, env, ctx, cfg),
        };
    }
}

/// Log why a store failed (never in a response), keeping the step.
trait Logged {
    fn logged(self, event: &str, request_id: &str, e: &error::EdgeError) -> Self;
}

impl Logged for Step<'_> {
    fn logged(self, event: &str, request_id: &str, e: &error::EdgeError) -> Self {
        let line =
            Object::new().str("event", event).str("request_id", request_id).str("error", &e.to_string()).finish();
        worker::console_error!("{line}");
        self
    }
}

/// The small form body of a POST (the gate has checked its declared length);
/// never more than `limit` bytes are kept.
async fn read_form(req: &RawRequest, limit: u64) -> Option<String> {
    let body = req.text().ok()?;
    let text = crate::task::wait(&body).await.ok()?.as_string()?;
    Some(text).filter(|b| b.len() as u64 <= limit)
}

fn misconfigured(e: &ConfigError, facts: &Facts, env: &Env, ctx: &Context) -> worker::Result<Response> {
    let mut ev = linkgate_core::gate::event_for(facts);
    ev.status = 500;
    ev.outcome = Some(linkgate_core::audit::Outcome::Refused);
    ev.code = Some("misconfigured");
    worker::console_error!("{}", Object::new().str("event", "misconfigured").str("error", &e.to_string()).finish());
    audit::emit(env, ctx, &ev, 0);
    respond::misconfigured("linkgate is not configured correctly; see the worker log", &facts.request_id)
}

/// A platform failure outside the gate (admin API): 503, detail in the log.
fn store_failure(e: &error::EdgeError, ev: &mut AuditEvent) -> worker::Result<Response> {
    let line = Object::new().str("event", "store_error").str("request_id", &ev.request_id).str("error", &e.to_string());
    worker::console_error!("{}", line.finish());
    ev.refuse(Code::StoreUnavailable, "store_error");
    respond::problem(Code::StoreUnavailable, &ev.request_id)
}

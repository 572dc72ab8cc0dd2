//! Durable Object `UsageCounter`: one per jti, counting bounded-use
//! downloads exactly, and the worker's adapter to it.
//!
//! The object serializes its requests, so the read-modify-write of each call
//! cannot interleave; the decisions themselves are `core::usage`.

use worker::{durable_object, Context, DurableObject, Env, ObjectNamespace, Request, Response, State, Storage};

use linkgate_core::gate::{self, RecordStart, RefundCall, Step};
use linkgate_core::json::Object;
use linkgate_core::token::Jti;
use linkgate_core::usage::{
    consume as decide, consume_call, read_consume_call, read_refund_call, read_start_call, record_start,
    refund as give_back, refund_call, start_call, ConsumeOutcome, ConsumeRequest, UsageState,
};

use super::error::{EdgeError, Result};
use super::{Logged, USAGE_BINDING};

const KEY: &str = "state";

#[durable_object]
pub struct UsageCounter {
    state: State,
}

impl DurableObject for UsageCounter {
    fn new(state: State, _env: Env) -> Self {
        UsageCounter { state }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        // Read the call *before* the state: awaiting anything but storage
        // opens the object's input gate to other requests, so between loading
        // the state and storing it there must be storage operations only.
        let path = req.path();
        let body = if path == "/state" { String::new() } else { req.text().await? };
        let storage = self.state.storage();
        let mut s = load(&storage).await?;
        match path.as_str() {
            "/state" => Response::ok(s.to_json().into_string()),
            "/consume" => {
                let Some((request, forget_at)) = read_consume_call(&body) else { return bad_call() };
                let outcome = decide(&mut s, &request);
                if matches!(outcome, ConsumeOutcome::Consumed { .. }) {
                    save(&storage, &s, forget_at).await?;
                }
                Response::ok(outcome.to_json().into_string())
            }
            "/refund" => {
                let Some((client, time, path)) = read_refund_call(&body) else { return bad_call() };
                if !give_back(&mut s, &client, time, &path) {
                    return Response::error("no such use", 409);
                }
                put(&storage, &s).await?;
                Response::ok("refunded")
            }
            "/start" => {
                let Some((start, forget_at)) = read_start_call(&body) else { return bad_call() };
                record_start(&mut s, start);
                save(&storage, &s, forget_at).await?;
                Response::ok("recorded")
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        // Every link this counter could serve has expired: forget it.
        self.state.storage().delete_all().await?;
        Response::ok("forgotten")
    }
}

/// A call body the counter cannot read (only the worker calls it).
fn bad_call() -> worker::Result<Response> {
    Response::error("unreadable call", 400)
}

/// The stored state (none yet: the default). Stored as the structured value
/// of its JSON form, read back through `JSON.stringify` (see `js`).
async fn load(storage: &Storage) -> worker::Result<UsageState> {
    match super::js::stored_json(storage, KEY).await? {
        None => Ok(UsageState::default()),
        Some(text) => UsageState::from_json(&text).ok_or_else(|| "stored usage state unreadable".into()),
    }
}

async fn put(storage: &Storage, s: &UsageState) -> worker::Result<()> {
    Ok(super::js::store_json(storage, KEY, s.to_json().as_str()).await?)
}

/// Store the state; the first write sets the alarm that forgets it.
async fn save(storage: &Storage, s: &UsageState, forget_at: u64) -> worker::Result<()> {
    put(storage, s).await?;
    if storage.get_alarm().await?.is_none() {
        let at = i64::try_from(forget_at).unwrap_or(i64::MAX / 1000).saturating_mul(1000);
        storage.set_alarm(worker::ScheduledTime::from(at)).await?;
    }
    Ok(())
}

/// The counters' namespace, None when the binding is missing (fail closed).
pub fn namespace(env: &Env) -> Option<ObjectNamespace> {
    env.durable_object(USAGE_BINDING).ok()
}

async fn call(ns: &ObjectNamespace, jti: Jti, path: &str, body: Option<String>) -> Result<String> {
    super::durable::call(ns, &jti.to_hex(), &format!("https://usage{path}"), body, "usage counter").await
}

/// The gate's `ReadUsage` step: the counter's state (fail closed).
pub async fn read_step<'c>(env: &Env, s: gate::ReadUsage<'c>, rid: &str) -> Step<'c> {
    let Some(ns) = namespace(env) else { return s.unbound() };
    match state(&ns, s.jti()).await {
        Ok(state) => s.answer(&state),
        Err(e) => s.unavailable().logged("usage_unavailable", rid, &e),
    }
}

/// The gate's `Consume` step: one use, exactly (fail closed).
pub async fn consume_step<'c>(env: &Env, s: gate::Consume<'c>, rid: &str) -> Step<'c> {
    let Some(ns) = namespace(env) else { return s.unbound() };
    match consume(&ns, s.jti(), s.request(), s.forget_at()).await {
        Ok(outcome) => s.answer(outcome),
        Err(e) => s.unavailable().logged("usage_unavailable", rid, &e),
    }
}

/// The gate's `Refund` step: give back the use of a download that failed
/// (the audit event says whether it was).
pub async fn refund_step<'c>(env: &Env, s: gate::Refund<'c>) -> Step<'c> {
    let given_back = match namespace(env) {
        Some(ns) => refund(&ns, s.jti(), s.call()).await.is_ok(),
        None => false,
    };
    s.done(given_back)
}

/// Uses consumed so far, with the history.
pub async fn state(ns: &ObjectNamespace, jti: Jti) -> Result<UsageState> {
    let text = call(ns, jti, "/state", None).await?;
    UsageState::from_json(&text).ok_or_else(|| EdgeError::new("usage counter state unreadable"))
}

/// Consume one use.
pub async fn consume(
    ns: &ObjectNamespace,
    jti: Jti,
    request: &ConsumeRequest,
    forget_at: u64,
) -> Result<ConsumeOutcome> {
    let body = consume_call(request, forget_at).into_string();
    let text = call(ns, jti, "/consume", Some(body)).await?;
    ConsumeOutcome::from_json(&text).ok_or_else(|| EdgeError::new("usage counter answer unreadable"))
}

/// Give back a use whose download failed.
pub async fn refund(ns: &ObjectNamespace, jti: Jti, refund: &RefundCall) -> Result<()> {
    let body = refund_call(&refund.client, refund.time, &refund.path).into_string();
    call(ns, jti, "/refund", Some(body)).await.map(|_| ())
}

/// Record a download start for resume-after-expiry, off the response path.
pub fn record_in_background(env: &Env, ctx: &Context, start: RecordStart) {
    let Some(ns) = namespace(env) else { return };
    ctx.wait_until(async move {
        let body = start_call(&start.start, start.forget_at).into_string();
        if let Err(e) = call(&ns, start.jti, "/start", Some(body)).await {
            let line = Object::new().str("event", "resume_start_not_recorded").str("error", &e.to_string()).finish();
            worker::console_error!("{line}");
        }
    });
}

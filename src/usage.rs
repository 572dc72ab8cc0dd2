//! Durable Object `UsageCounter`: one per jti, counting bounded-use
//! downloads exactly, and the worker's adapter to it.
//!
//! The object serializes its requests, so the read-modify-write of each call
//! cannot interleave; the decisions themselves are `core::usage`.

use serde::{Deserialize, Serialize};
use worker::{durable_object, Context, DurableObject, Env, ObjectNamespace, Request, Response, State, Storage};

use linkgate_core::gate::{RecordStart, RefundCall};
use linkgate_core::token::Jti;
use linkgate_core::usage::{
    consume as decide, record_start, refund as give_back, ConsumeOutcome, ConsumeRequest, Start, UsageState,
};

use super::error::{EdgeError, Result};
use super::USAGE_BINDING;

const KEY: &str = "state";

/// What the worker sends to `/consume`.
#[derive(Serialize, Deserialize)]
pub struct ConsumeCall {
    pub request: ConsumeRequest,
    /// When the link (plus every grace) is over: the object deletes itself then.
    pub forget_at: u64,
}

/// What the worker sends to `/start` (resume-after-expiry bookkeeping).
#[derive(Serialize, Deserialize)]
pub struct StartCall {
    pub start: Start,
    pub forget_at: u64,
}

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
        let mut s: UsageState = storage.get(KEY).await?.unwrap_or_default();
        match path.as_str() {
            "/state" => Response::from_json(&s),
            "/consume" => {
                let call: ConsumeCall = serde_json::from_str(&body)?;
                let outcome = decide(&mut s, &call.request);
                if matches!(outcome, ConsumeOutcome::Consumed { .. }) {
                    save(&storage, &s, call.forget_at).await?;
                }
                Response::from_json(&outcome)
            }
            "/refund" => {
                let call: RefundCall = serde_json::from_str(&body)?;
                if !give_back(&mut s, &call.client, call.time, &call.path) {
                    return Response::error("no such use", 409);
                }
                storage.put(KEY, &s).await?;
                Response::ok("refunded")
            }
            "/start" => {
                let call: StartCall = serde_json::from_str(&body)?;
                record_start(&mut s, call.start);
                save(&storage, &s, call.forget_at).await?;
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

/// Store the state; the first write sets the alarm that forgets it.
async fn save(storage: &Storage, s: &UsageState, forget_at: u64) -> worker::Result<()> {
    storage.put(KEY, s).await?;
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

async fn call(ns: &ObjectNamespace, jti: Jti, path: &str, body: Option<String>) -> Result<Response> {
    let stub = ns.id_from_name(&jti.to_hex())?.get_stub()?;
    let url = format!("https://usage{path}");
    let mut r = match body {
        None => stub.fetch_with_str(&url).await?,
        Some(body) => {
            let mut init = worker::RequestInit::new();
            init.with_method(worker::Method::Post).with_body(Some(body.into()));
            stub.fetch_with_request(Request::new_with_init(&url, &init)?).await?
        }
    };
    if r.status_code() != 200 {
        let text = r.text().await.unwrap_or_default();
        return Err(EdgeError::new(format!("usage counter answered {}: {text}", r.status_code())));
    }
    Ok(r)
}

/// Uses consumed so far, with the history.
pub async fn state(ns: &ObjectNamespace, jti: Jti) -> Result<UsageState> {
    Ok(call(ns, jti, "/state", None).await?.json().await?)
}

/// Consume one use.
pub async fn consume(
    ns: &ObjectNamespace,
    jti: Jti,
    request: &ConsumeRequest,
    forget_at: u64,
) -> Result<ConsumeOutcome> {
    let body = serde_json::to_string(&ConsumeCall { request: request.clone(), forget_at })?;
    Ok(call(ns, jti, "/consume", Some(body)).await?.json().await?)
}

/// Give back a use whose download failed.
pub async fn refund(ns: &ObjectNamespace, jti: Jti, refund: &RefundCall) -> Result<()> {
    call(ns, jti, "/refund", Some(serde_json::to_string(refund)?)).await.map(|_| ())
}

/// Record a download start for resume-after-expiry, off the response path.
pub fn record_in_background(env: &Env, ctx: &Context, start: RecordStart) {
    let Some(ns) = namespace(env) else { return };
    ctx.wait_until(async move {
        let body = serde_json::to_string(&StartCall { start: start.start, forget_at: start.forget_at });
        let result = match body {
            Ok(body) => call(&ns, start.jti, "/start", Some(body)).await.map(|_| ()),
            Err(e) => Err(e.into()),
        };
        if let Err(e) = result {
            worker::console_error!(
                "{}",
                serde_json::json!({"event": "resume_start_not_recorded", "error": e.to_string()})
            );
        }
    });
}

//! Durable Object `UsageCounter`: one per jti, counting bounded-use
//! downloads exactly. The object serializes its events, so the read-modify-
//! write in `consume` cannot interleave; the decision itself is
//! `core::usage::consume`.

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use crate::core::usage::{consume as decide, record_start, ConsumeOutcome, ConsumeRequest, Start, UsageState};

const KEY: &str = "state";

/// What the worker sends to `/consume`.
#[derive(Serialize, Deserialize)]
pub struct ConsumeCall {
    pub request: ConsumeRequest,
    /// When the link (plus grace) is over: the object deletes itself then.
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

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let storage = self.state.storage();
        match req.path().as_str() {
            "/consume" => {
                let call: ConsumeCall = req.json().await?;
                let mut s: UsageState = storage.get(KEY).await?.unwrap_or_default();
                let outcome = decide(&mut s, &call.request);
                if matches!(outcome, ConsumeOutcome::Consumed { .. }) {
                    storage.put(KEY, &s).await?;
                    if storage.get_alarm().await?.is_none() {
                        storage
                            .set_alarm(worker::ScheduledTime::from((call.forget_at as i64).saturating_mul(1000)))
                            .await?;
                    }
                }
                Response::from_json(&outcome)
            }
            "/start" => {
                let call: StartCall = req.json().await?;
                let mut s: UsageState = storage.get(KEY).await?.unwrap_or_default();
                record_start(&mut s, call.start);
                storage.put(KEY, &s).await?;
                if storage.get_alarm().await?.is_none() {
                    storage
                        .set_alarm(worker::ScheduledTime::from((call.forget_at as i64).saturating_mul(1000)))
                        .await?;
                }
                Response::ok("recorded")
            }
            "/state" => {
                let s: UsageState = storage.get(KEY).await?.unwrap_or_default();
                Response::from_json(&s)
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        // Every link this counter could serve has expired: forget it.
        self.state.storage().delete_all().await?;
        Response::ok("forgotten")
    }
}

/// The counter of one link.
fn stub(ns: &worker::ObjectNamespace, claims: &crate::core::Claims) -> std::result::Result<worker::Stub, String> {
    ns.id_from_name(&claims.jti.to_hex()).and_then(|id| id.get_stub()).map_err(|e| e.to_string())
}

/// Uses consumed so far, with the history.
pub async fn state(
    ns: &worker::ObjectNamespace,
    claims: &crate::core::Claims,
) -> std::result::Result<UsageState, String> {
    let mut r = stub(ns, claims)?.fetch_with_str("https://usage/state").await.map_err(|e| e.to_string())?;
    r.json().await.map_err(|e| e.to_string())
}

/// Record a download start (only when resume-after-expiry is on).
pub async fn record(
    ns: &worker::ObjectNamespace,
    claims: &crate::core::Claims,
    start: Start,
    forget_at: u64,
) -> std::result::Result<(), String> {
    let body = serde_json::to_string(&StartCall { start, forget_at }).map_err(|e| e.to_string())?;
    post(ns, claims, "https://usage/start", &body).await.map(|_| ())
}

async fn post(
    ns: &worker::ObjectNamespace,
    claims: &crate::core::Claims,
    url: &str,
    body: &str,
) -> std::result::Result<Response, String> {
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post).with_body(Some(worker::wasm_bindgen::JsValue::from_str(body)));
    let req = Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
    let r = stub(ns, claims)?.fetch_with_request(req).await.map_err(|e| e.to_string())?;
    if r.status_code() != 200 {
        return Err(format!("usage counter answered {}", r.status_code()));
    }
    Ok(r)
}

/// Consume (or continue, or peek at) one download.
pub async fn consume(
    ns: &worker::ObjectNamespace,
    claims: &crate::core::Claims,
    request: ConsumeRequest,
    forget_at: u64,
) -> std::result::Result<ConsumeOutcome, String> {
    let body = serde_json::to_string(&ConsumeCall { request, forget_at }).map_err(|e| e.to_string())?;
    let mut r = post(ns, claims, "https://usage/consume", &body).await?;
    r.json().await.map_err(|e| e.to_string())
}

/// A download-session URL for a consumed link: same path, a session token
/// (`lgs`) valid for the grace window, bound to the client's address.
pub fn session_url(
    cfg: &crate::core::config::EdgeConfig,
    link: &crate::core::VerifiedLink,
    client_ip: Option<std::net::IpAddr>,
    now: u64,
) -> std::result::Result<String, String> {
    let c = link.claims();
    let key = cfg.keys.signing_key();
    let mut s = c.clone();
    s.kid = key.kid().clone();
    s.iat = now;
    s.nbf = None;
    s.exp = now.saturating_add(cfg.download_grace_secs.max(1)).min(c.exp.saturating_add(cfg.download_grace_secs));
    s.scope = crate::core::Scope::Object(link.path().clone());
    s.uses = None;
    s.mode = None;
    s.ip = match client_ip {
        Some(ip) => {
            let ip = crate::core::ip::normalize(ip);
            let prefix = if ip.is_ipv4() { 32 } else { 128 };
            vec![crate::core::ip::Cidr::new(ip, prefix).map_err(|e| e.to_string())?]
        }
        None => vec![],
    };
    if s.exp <= s.iat {
        s.exp = s.iat + 1;
    }
    let token = s.sign_in(key, crate::core::token::Domain::Session).map_err(|e| e.to_string())?;
    Ok(format!("{}?lgs={token}", link.path().to_url_path()))
}

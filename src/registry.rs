//! Durable Object `RevocationRegistry`: the strongly consistent copy of the
//! denylist that downloads of `revocation: strict` objects consult
//! (`docs/revocation.md`, "Strict revocation"), and the worker's adapter.
//!
//! One instance per deployment (named `global`): a revoke written here is
//! seen by every later request anywhere, because every strict request asks
//! this one object. Entries are the KV denylist's (same keys, same JSON);
//! merging happens here, where requests are serialized, so two concurrent
//! revokes cannot lose one another.

use serde::Deserialize;
use worker::{durable_object, DurableObject, Env, ObjectNamespace, Request, Response, State};

use linkgate_core::revocation::{merge, Entry};

use super::error::{EdgeError, Result};
use super::REGISTRY_BINDING;

/// The instance every request and revoke goes to.
const INSTANCE: &str = "global";

#[derive(Deserialize)]
struct Lookup {
    keys: Vec<String>,
    now: u64,
}

#[derive(Deserialize)]
struct Revoke {
    key: String,
    entry: Entry,
    /// KV's entry for the key, when the registry has none yet (written by
    /// hand, or before the registry existed): merged from, not lost.
    kv: Option<Entry>,
}

#[derive(Deserialize)]
struct Lift {
    key: String,
}

#[durable_object]
pub struct RevocationRegistry {
    state: State,
}

impl DurableObject for RevocationRegistry {
    fn new(state: State, _env: Env) -> Self {
        RevocationRegistry { state }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        // The call first: awaiting anything but storage between reading and
        // writing an entry would let another request in (input gate).
        let path = req.path();
        let body = req.text().await?;
        let storage = self.state.storage();
        match path.as_str() {
            "/lookup" => {
                let call: Lookup = serde_json::from_str(&body)?;
                let mut found = Vec::new();
                for key in call.keys {
                    if let Some(text) = storage.get::<String>(&key).await? {
                        // An expired entry can no longer match a link that
                        // can be honoured; it only waits for the alarm.
                        let expired = serde_json::from_str::<Entry>(&text)
                            .ok()
                            .and_then(|e| e.expires_at)
                            .is_some_and(|at| at <= call.now);
                        if !expired {
                            found.push((key, text));
                        }
                    }
                }
                Response::from_json(&found)
            }
            "/revoke" => {
                let call: Revoke = serde_json::from_str(&body)?;
                let stored = storage.get::<String>(&call.key).await?.and_then(|t| serde_json::from_str(&t).ok());
                let entry = merge(stored.or(call.kv), call.entry);
                storage.put(&call.key, serde_json::to_string(&entry)?).await?;
                if let Some(at) = entry.expires_at {
                    let at_ms = i64::try_from(at).unwrap_or(i64::MAX / 1000).saturating_mul(1000);
                    let sooner = storage.get_alarm().await?.is_none_or(|a| a > at_ms);
                    if sooner {
                        storage.set_alarm(worker::ScheduledTime::from(at_ms)).await?;
                    }
                }
                Response::from_json(&entry)
            }
            "/lift" => {
                let call: Lift = serde_json::from_str(&body)?;
                let text = storage.get::<String>(&call.key).await?;
                storage.delete(&call.key).await?;
                Response::from_json(&text)
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        // Drop expired entries; wake again for the next one to expire.
        let storage = self.state.storage();
        let now = worker::Date::now().as_millis() / 1000;
        let mut next: Option<u64> = None;
        let all = storage.list().await?;
        for key in all.keys() {
            let Some(key) = key?.as_string() else { continue };
            let Some(text) = storage.get::<String>(&key).await? else { continue };
            match serde_json::from_str::<Entry>(&text).ok().and_then(|e| e.expires_at) {
                Some(at) if at <= now => {
                    storage.delete(&key).await?;
                }
                Some(at) => next = Some(next.map_or(at, |n| n.min(at))),
                None => {}
            }
        }
        if let Some(at) = next {
            let at_ms = i64::try_from(at).unwrap_or(i64::MAX / 1000).saturating_mul(1000);
            storage.set_alarm(worker::ScheduledTime::from(at_ms)).await?;
        }
        Response::ok("swept")
    }
}

/// The registry's namespace, None when the binding is missing (strict
/// objects then fail closed).
pub fn namespace(env: &Env) -> Option<ObjectNamespace> {
    env.durable_object(REGISTRY_BINDING).ok()
}

async fn call(ns: &ObjectNamespace, path: &str, body: String) -> Result<Response> {
    let stub = ns.id_from_name(INSTANCE)?.get_stub()?;
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post).with_body(Some(body.into()));
    let mut r = stub.fetch_with_request(Request::new_with_init(&format!("https://registry{path}"), &init)?).await?;
    if r.status_code() != 200 {
        let text = r.text().await.unwrap_or_default();
        return Err(EdgeError::new(format!("revocation registry answered {}: {text}", r.status_code())));
    }
    Ok(r)
}

/// The entries among `keys` (unexpired at `now`).
pub async fn lookup(env: &Env, keys: &[String], now: u64) -> Result<Vec<(String, String)>> {
    let ns = namespace(env).ok_or_else(|| EdgeError::new(format!("{REGISTRY_BINDING} is not bound")))?;
    let body = serde_json::to_string(&serde_json::json!({ "keys": keys, "now": now }))?;
    Ok(call(&ns, "/lookup", body).await?.json().await?)
}

/// Write an entry, merged with what the registry holds for the key (or, if
/// nothing, with KV's entry `kv`); answers the merged entry, which is then
/// what KV gets too.
pub async fn revoke(env: &Env, key: &str, entry: &Entry, kv: Option<&Entry>) -> Result<Entry> {
    let ns = namespace(env).ok_or_else(|| EdgeError::new(format!("{REGISTRY_BINDING} is not bound")))?;
    let body = serde_json::to_string(&serde_json::json!({ "key": key, "entry": entry, "kv": kv }))?;
    Ok(call(&ns, "/revoke", body).await?.json().await?)
}

/// Delete an entry; answers its text if there was one.
pub async fn lift(env: &Env, key: &str) -> Result<Option<String>> {
    let ns = namespace(env).ok_or_else(|| EdgeError::new(format!("{REGISTRY_BINDING} is not bound")))?;
    let body = serde_json::to_string(&serde_json::json!({ "key": key }))?;
    Ok(call(&ns, "/lift", body).await?.json().await?)
}

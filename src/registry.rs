//! Durable Object `RevocationRegistry`: the strongly consistent copy of the
//! denylist that downloads of `revocation: strict` objects consult
//! (`docs/revocation.md`, "Strict revocation"), and the worker's adapter.
//!
//! One instance per deployment (named `global`): a revoke written here is
//! seen by every later request anywhere, because every strict request asks
//! this one object. Entries are the KV denylist's (same keys, same JSON);
//! merging happens here, where requests are serialized, so two concurrent
//! revokes cannot lose one another.

use worker::wasm_bindgen::JsValue;
use worker::{durable_object, DurableObject, Env, ObjectNamespace, Request, Response, State};

use linkgate_core::json::{self, Object, Value};
use linkgate_core::revocation::{merge, Entry};

use linkgate_core::gate::{ReadStrict, Step};

use super::error::{EdgeError, Result};
use super::{Logged, REGISTRY_BINDING};

/// The instance every request and revoke goes to.
const INSTANCE: &str = "global";

// The calls' bodies: {"keys": [..], "now": n}, {"key", "entry", "kv"},
// {"key"}. Only the worker calls the registry; a body it cannot read is a 400.

fn bad_call() -> worker::Result<Response> {
    Response::error("unreadable call", 400)
}

fn expires_at(text: &str) -> Option<u64> {
    Entry::from_json(text).and_then(|e| e.expires_at)
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
                let call = json::parse(&body).ok();
                let (Some(keys), Some(now)) = (
                    call.as_ref().and_then(|c| c.get("keys")).and_then(Value::as_arr),
                    call.as_ref().and_then(|c| c.get("now")).and_then(Value::as_u64),
                ) else {
                    return bad_call();
                };
                // The answer: [[key, entry text], ...].
                let mut found = Vec::new();
                for key in keys.iter().filter_map(Value::as_str) {
                    if let Some(text) = super::js::stored_text(&storage, key).await? {
                        // An expired entry can no longer match a link that
                        // can be honoured; it only waits for the alarm.
                        if expires_at(&text).is_none_or(|at| at > now) {
                            found.push(json::array([json::string(key), json::string(&text)]));
                        }
                    }
                }
                Response::ok(json::array(found).into_string())
            }
            "/revoke" => {
                let call = json::parse(&body).ok();
                let field = |k: &str| call.as_ref().and_then(|c| c.get(k));
                let (Some(key), Some(new)) =
                    (field("key").and_then(Value::as_str), field("entry").and_then(Entry::from_value))
                else {
                    return bad_call();
                };
                let kv = field("kv").and_then(Entry::from_value);
                let stored = super::js::stored_text(&storage, key).await?.and_then(|t| Entry::from_json(&t));
                let entry = merge(stored.or(kv), new);
                let text = entry.to_json().into_string();
                super::js::store(&storage, key, &JsValue::from_str(&text)).await?;
                if let Some(at) = entry.expires_at {
                    let at_ms = i64::try_from(at).unwrap_or(i64::MAX / 1000).saturating_mul(1000);
                    let sooner = storage.get_alarm().await?.is_none_or(|a| a > at_ms);
                    if sooner {
                        storage.set_alarm(worker::ScheduledTime::from(at_ms)).await?;
                    }
                }
                Response::ok(text)
            }
            "/lift" => {
                let call = json::parse(&body).ok();
                let Some(key) = call.as_ref().and_then(|c| c.get("key")).and_then(Value::as_str) else {
                    return bad_call();
                };
                let text = super::js::stored_text(&storage, key).await?;
                storage.delete(key).await?;
                Response::ok(json::opt_string(text.as_deref()).into_string())
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        // Drop expired entries; wake again for the next one to expire.
        let storage = self.state.storage();
        let now = crate::now_ms() / 1000;
        let mut next: Option<u64> = None;
        let all = storage.list().await?;
        for key in all.keys() {
            let Some(key) = key?.as_string() else { continue };
            let Some(text) = super::js::stored_text(&storage, &key).await? else { continue };
            match expires_at(&text) {
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

async fn call(ns: &ObjectNamespace, path: &str, body: String) -> Result<String> {
    super::durable::call(ns, INSTANCE, &format!("https://registry{path}"), Some(body), "revocation registry").await
}

/// The gate's `ReadStrict` step (fail closed).
pub async fn lookup_step<'c>(env: &Env, s: ReadStrict<'c>, now: u64, rid: &str) -> Step<'c> {
    match lookup(env, s.keys(), now).await {
        Ok(found) => s.answer(&found),
        Err(e) => s.unavailable().logged("registry_unavailable", rid, &e),
    }
}

/// The entries among `keys` (unexpired at `now`).
pub async fn lookup(env: &Env, keys: &[String], now: u64) -> Result<Vec<(String, String)>> {
    let ns = namespace(env).ok_or_else(|| EdgeError::new(format!("{REGISTRY_BINDING} is not bound")))?;
    let keys = json::array(keys.iter().map(|k| json::string(k)));
    let body = Object::new().raw("keys", &keys).num("now", now).finish().into_string();
    let text = call(&ns, "/lookup", body).await?;
    let unreadable = || EdgeError::new("revocation registry answer unreadable");
    let answer = json::parse(&text).map_err(|_| unreadable())?;
    let pair = |v: &Value| match v.as_arr()? {
        [k, t] => Some((k.as_str()?.to_owned(), t.as_str()?.to_owned())),
        _ => None,
    };
    answer.as_arr().ok_or_else(unreadable)?.iter().map(|v| pair(v).ok_or_else(unreadable)).collect()
}

/// Write an entry, merged with what the registry holds for the key (or, if
/// nothing, with KV's entry `kv`); answers the merged entry, which is then
/// what KV gets too.
pub async fn revoke(env: &Env, key: &str, entry: &Entry, kv: Option<&Entry>) -> Result<Entry> {
    let ns = namespace(env).ok_or_else(|| EdgeError::new(format!("{REGISTRY_BINDING} is not bound")))?;
    let kv = kv.map_or_else(json::null, Entry::to_json);
    let body = Object::new().str("key", key).raw("entry", &entry.to_json()).raw("kv", &kv).finish().into_string();
    let text = call(&ns, "/revoke", body).await?;
    Entry::from_json(&text).ok_or_else(|| EdgeError::new("revocation registry answer unreadable"))
}

/// Delete an entry; answers its text if there was one.
pub async fn lift(env: &Env, key: &str) -> Result<Option<String>> {
    let ns = namespace(env).ok_or_else(|| EdgeError::new(format!("{REGISTRY_BINDING} is not bound")))?;
    let body = Object::new().str("key", key).finish().into_string();
    let text = call(&ns, "/lift", body).await?;
    match json::parse(&text) {
        Ok(Value::Null) => Ok(None),
        Ok(Value::Str(t)) => Ok(Some(t)),
        _ => Err(EdgeError::new("revocation registry answer unreadable")),
    }
}

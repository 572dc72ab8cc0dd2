//! Denylist reads: one KV bulk get per request, behind a short memo.
//!
//! workers-rs has no bulk-get wrapper, so this calls the binding's JS
//! `get(keys[], {type, cacheTtl})`, which answers a `Map` in one round trip.

use std::cell::RefCell;

use worker::js_sys::{Array, Function, Map, Object, Promise, Reflect};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::Env;

use linkgate_core::config::EdgeConfig;
use linkgate_core::gate::{ReadDenylist, Step};
use linkgate_core::memo::DenylistMemo;

use super::error::{EdgeError, Result};
use super::js::js_err;
use super::{Logged, DENYLIST_BINDING};

/// KV's bulk get takes at most this many keys per call.
const MAX_KEYS_PER_CALL: usize = 100;

thread_local! {
    // Recent denylist reads (see core::memo for the bound it adds).
    static MEMO: RefCell<DenylistMemo> = RefCell::new(DenylistMemo::new());
}

/// A revocation was written or lifted through this isolate: the memo must
/// not hide it here even for its short lifetime.
pub fn forget_reads() {
    MEMO.with(|m| m.borrow_mut().clear());
}

/// The gate's `ReadDenylist` step (fail closed).
pub async fn denylist_step<'c>(env: &Env, s: ReadDenylist<'c>, cfg: &EdgeConfig, rid: &str) -> Step<'c> {
    match denylist(env, s.keys(), cfg).await {
        Ok(found) => s.answer(&found),
        Err(e) => s.unavailable().logged("denylist_unavailable", rid, &e),
    }
}

/// The denylist entries among `keys`: from the memo when every key was read
/// moments ago, else one KV bulk read (remembered for the next request).
pub async fn denylist(env: &Env, keys: &[String], cfg: &EdgeConfig) -> Result<Vec<(String, String)>> {
    let now_ms = crate::now_ms();
    let ttl = cfg.denylist_memo_ms;
    if let Some(found) = MEMO.with(|m| m.borrow().lookup(keys, now_ms, ttl)) {
        return Ok(found);
    }
    let generation = MEMO.with(|m| m.borrow().generation());
    let found = bulk_get(env, DENYLIST_BINDING, keys, cfg.kv_cache_ttl_secs).await?;
    // Stamped with the time the read started: the memo never outlives a read;
    // and not kept at all if a revocation was written here meanwhile.
    MEMO.with(|m| m.borrow_mut().store(keys, &found, now_ms, ttl, generation));
    Ok(found)
}

/// Fetch `keys` from the namespace bound as `binding`; returns the present
/// ones with their text values. `cache_ttl` 0 skips edge caching of the read.
pub async fn bulk_get(env: &Env, binding: &str, keys: &[String], cache_ttl: u64) -> Result<Vec<(String, String)>> {
    let ns = Reflect::get(env.as_ref(), &JsValue::from_str(binding)).map_err(|e| js_err("binding", e))?;
    if ns.is_undefined() || ns.is_null() {
        return Err(EdgeError::new(format!("KV binding {binding} is not configured")));
    }
    let get: Function = Reflect::get(&ns, &JsValue::from_str("get"))
        .map_err(|e| js_err("get", e))?
        .dyn_into()
        .map_err(|e| js_err("get is not a function", e))?;
    let opts = Object::new();
    Reflect::set(&opts, &"type".into(), &"text".into()).map_err(|e| js_err("opts", e))?;
    // 0 means "read fresh" (admin calls); KV refuses a cacheTtl below 30.
    if cache_ttl > 0 {
        Reflect::set(&opts, &"cacheTtl".into(), &JsValue::from_f64(cache_ttl as f64)).map_err(|e| js_err("opts", e))?;
    }

    let mut found = Vec::new();
    for chunk in keys.chunks(MAX_KEYS_PER_CALL) {
        let arr = Array::new();
        for k in chunk {
            arr.push(&JsValue::from_str(k));
        }
        let promise: Promise = get
            .call2(&ns, &arr, &opts)
            .map_err(|e| js_err("KV get", e))?
            .dyn_into()
            .map_err(|e| js_err("KV get did not return a promise", e))?;
        let map: Map = crate::task::wait(&promise)
            .await
            .map_err(|e| js_err("KV get", e))?
            .dyn_into()
            .map_err(|e| js_err("KV bulk get did not return a Map", e))?;
        for k in chunk {
            if let Some(v) = map.get(&JsValue::from_str(k)).as_string() {
                found.push((k.clone(), v));
            }
        }
    }
    Ok(found)
}

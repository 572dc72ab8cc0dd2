//! Denylist reads: one KV bulk get per request.
//!
//! workers-rs has no bulk-get wrapper, so this calls the binding's JS
//! `get(keys[], {type, cacheTtl})`, which answers a `Map` in one round trip.

use worker::js_sys::{Array, Function, Map, Object, Promise, Reflect};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::Env;

/// KV's bulk get takes at most this many keys per call.
const MAX_KEYS_PER_CALL: usize = 100;

/// Why the denylist could not be read (the caller fails closed).
#[derive(Debug)]
pub struct KvUnavailable(pub String);

fn js_err(what: &str, e: JsValue) -> KvUnavailable {
    KvUnavailable(format!("{what}: {}", e.as_string().unwrap_or_else(|| format!("{e:?}"))))
}

/// Fetch `keys` from the namespace bound as `binding`; returns the present
/// ones with their text values. `cache_ttl` 0 skips edge caching of the read.
pub async fn bulk_get(
    env: &Env,
    binding: &str,
    keys: &[String],
    cache_ttl: u64,
) -> Result<Vec<(String, String)>, KvUnavailable> {
    let ns = Reflect::get(env.as_ref(), &JsValue::from_str(binding)).map_err(|e| js_err("binding", e))?;
    if ns.is_undefined() || ns.is_null() {
        return Err(KvUnavailable(format!("KV binding {binding} is not configured")));
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
        let map: Map = JsFuture::from(promise)
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

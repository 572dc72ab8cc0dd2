//! The runtime's JS APIs called directly, where workers-rs' wrappers convert
//! their options or answers through serde (`serde_wasm_bindgen`, and with it
//! serde_json's `Value` and serde's error messages): KV get/put/list/delete,
//! Durable Object storage, Queue `sendBatch`, D1's result `meta`. Cutting
//! those paths took 12.8 KB gzip off the worker (docs/performance.md,
//! "Worker size"). What is stored is unchanged: the same KV texts and
//! options, the same Durable Object values.

use worker::js_sys::{Array, Function, Object, Promise, Reflect, JSON};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::{Env, Storage};

use super::error::{EdgeError, Result};

/// A JS failure as an error text (for the log only).
pub fn js_err(what: &str, e: JsValue) -> EdgeError {
    let detail = e
        .as_string()
        .or_else(|| e.dyn_ref::<worker::js_sys::Error>().map(|e| String::from(e.message())))
        .unwrap_or_else(|| "(not a string)".to_owned());
    EdgeError::new(format!("{what}: {detail}"))
}

/// `obj[name]`.
pub fn get(obj: &JsValue, name: &str) -> Result<JsValue> {
    Reflect::get(obj, &JsValue::from_str(name)).map_err(|e| js_err(name, e))
}

/// `{k: v, ...}`.
pub fn object(fields: &[(&str, JsValue)]) -> Result<JsValue> {
    let o = Object::new();
    for (k, v) in fields {
        Reflect::set(&o, &JsValue::from_str(k), v).map_err(|e| js_err(k, e))?;
    }
    Ok(o.into())
}

/// `await obj[name](...args)`.
pub async fn call(obj: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue> {
    let f: Function = get(obj, name)?.dyn_into().map_err(|e| js_err(name, e))?;
    let args: Array = args.iter().collect();
    let result = Reflect::apply(&f, obj, &args).map_err(|e| js_err(name, e))?;
    match result.dyn_into::<Promise>() {
        Ok(p) => crate::task::wait(&p).await.map_err(|e| js_err(name, e)),
        Err(v) => Ok(v),
    }
}

/// The binding `name` of `env`, an error if it is not configured.
pub fn binding(env: &Env, name: &str) -> Result<JsValue> {
    let b = get(env.as_ref(), name)?;
    if b.is_undefined() || b.is_null() {
        return Err(EdgeError::new(format!("binding {name} is not configured")));
    }
    Ok(b)
}

/// A JS string, or None for `null`/`undefined` (an error for anything else).
fn opt_string(v: JsValue, what: &str) -> Result<Option<String>> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_string().map(Some).ok_or_else(|| EdgeError::new(format!("{what}: not a string")))
}

/// KV `get(key, {type: "text"})`.
pub async fn kv_get(env: &Env, ns: &str, key: &str) -> Result<Option<String>> {
    let opts = object(&[("type", "text".into())])?;
    opt_string(call(&binding(env, ns)?, "get", &[key.into(), opts]).await?, "KV get")
}

/// KV `put(key, value, {expiration})` (seconds since the epoch).
pub async fn kv_put(env: &Env, ns: &str, key: &str, value: &str, expiration: Option<u64>) -> Result<()> {
    let opts = match expiration {
        Some(at) => object(&[("expiration", JsValue::from_f64(at as f64))])?,
        None => Object::new().into(),
    };
    call(&binding(env, ns)?, "put", &[key.into(), value.into(), opts]).await.map(drop)
}

/// KV `delete(key)`.
pub async fn kv_delete(env: &Env, ns: &str, key: &str) -> Result<()> {
    call(&binding(env, ns)?, "delete", &[key.into()]).await.map(drop)
}

/// One page of KV `list({prefix, limit, cursor})`: the key names, and the
/// cursor of the next page unless the listing is complete.
pub async fn kv_list(
    env: &Env,
    ns: &str,
    prefix: Option<&str>,
    limit: u64,
    cursor: Option<&str>,
) -> Result<(Vec<String>, Option<String>)> {
    let mut fields = vec![("limit", JsValue::from_f64(limit as f64))];
    if let Some(p) = prefix {
        fields.push(("prefix", p.into()));
    }
    if let Some(c) = cursor {
        fields.push(("cursor", c.into()));
    }
    let page = call(&binding(env, ns)?, "list", &[object(&fields)?]).await?;
    let keys: Array = get(&page, "keys")?.dyn_into().map_err(|e| js_err("KV list keys", e))?;
    let mut names = Vec::new();
    for k in keys.iter() {
        names.push(opt_string(get(&k, "name")?, "KV list name")?.unwrap_or_default());
    }
    let complete = get(&page, "list_complete")?.as_bool().unwrap_or(true);
    let next = if complete { None } else { opt_string(get(&page, "cursor")?, "KV list cursor")? };
    Ok((names, next))
}

/// Durable Object storage `get(key)`: `undefined` when absent.
pub async fn stored(storage: &Storage, key: &str) -> Result<JsValue> {
    call(storage.as_raw().as_ref(), "get", &[key.into()]).await
}

/// A stored string (the revocation registry's entries).
pub async fn stored_text(storage: &Storage, key: &str) -> Result<Option<String>> {
    opt_string(stored(storage, key).await?, "stored value")
}

/// Durable Object storage `put(key, value)`.
pub async fn store(storage: &Storage, key: &str, value: &JsValue) -> Result<()> {
    call(storage.as_raw().as_ref(), "put", &[key.into(), value.clone()]).await.map(drop)
}

/// A stored structured value as JSON text (`JSON.stringify`), None if absent.
pub async fn stored_json(storage: &Storage, key: &str) -> Result<Option<String>> {
    let v = stored(storage, key).await?;
    if v.is_undefined() {
        return Ok(None);
    }
    let text = JSON::stringify(&v).map_err(|e| js_err("stored value", e))?;
    text.as_string().map(Some).ok_or_else(|| EdgeError::new("stored value: not JSON"))
}

/// Store JSON text as the structured value it denotes (`JSON.parse`): what
/// workers-rs' serde-based `put` stored for the same data.
pub async fn store_json(storage: &Storage, key: &str, json: &str) -> Result<()> {
    let v = JSON::parse(json).map_err(|e| js_err("JSON.parse", e))?;
    store(storage, key, &v).await
}

/// D1 result's `meta.changes` (rows changed), 0 when absent.
pub fn d1_changes(result: &JsValue) -> u64 {
    get(result, "meta").and_then(|m| get(&m, "changes")).ok().and_then(|c| c.as_f64()).map_or(0, |c| c as u64)
}

// A batch of one-line texts as `sendBatch` messages, built in one call from
// the texts joined by newlines (one string across the boundary, instead of a
// string and two property sets per message).
#[worker::wasm_bindgen::prelude::wasm_bindgen(inline_js = r#"
export function linkgate_text_messages(lines) {
  return lines.split("\n").map((body) => ({ body, contentType: "text" }));
}
"#)]
extern "C" {
    fn linkgate_text_messages(lines: &str) -> JsValue;
}

/// Queue `sendBatch` of text messages (`contentType: "text"`).
pub async fn queue_send_texts(queue: &JsValue, texts: &[String]) -> Result<()> {
    if texts.is_empty() {
        return Ok(()); // "".split("\n") would be one empty message
    }
    let batch = if texts.iter().any(|t| t.contains('\n')) {
        // Never for an audit event (its JSON escapes every control
        // character), but a line break would split a message in two.
        let mut messages = Vec::with_capacity(texts.len());
        for t in texts {
            messages.push(object(&[("body", t.as_str().into()), ("contentType", "text".into())])?);
        }
        messages.iter().collect::<Array>().into()
    } else {
        linkgate_text_messages(&texts.join("\n"))
    };
    call(queue, "sendBatch", &[batch]).await.map(drop)
}

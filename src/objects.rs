//! R2 adapter: an object's metadata as the gate wants it, and bodies.
//!
//! Each read is one snippet call, one awaited promise and one packed string
//! (`ObjectMeta::unpack` in the core reads it): workers-rs' `Bucket` builds
//! an options object per call and its `Object` reads every field across the
//! boundary, ~25 calls and 8 transcoded strings per download with the edge
//! cache off (docs/performance.md, "CPU per request in the isolate").

use std::cell::RefCell;

use worker::wasm_bindgen::prelude::wasm_bindgen;
use worker::wasm_bindgen::JsValue;
use worker::web_sys::ReadableStream;
use worker::Env;

use linkgate_core::gate::ObjectMeta;
use linkgate_core::memo::ObjectMemo;

use super::error::{EdgeError, Result};
use super::js::js_err;
use super::task::wait;

thread_local! {
    // Recent `head` answers (see core::memo::ObjectMemo for the bound).
    static MEMO: RefCell<ObjectMemo> = RefCell::new(ObjectMemo::new());
}

// `head` or `get` (a range when `offset` >= 0) on the files bucket (bound as
// `super::FILES_BINDING`); never throws: a failure is a rejected promise.
// The metadata in `ObjectMeta::unpack`'s packed form: text fields escape
// `\` and line breaks, so an uploader's metadata can never shift the lines.
#[wasm_bindgen(inline_js = r#"
const esc = (s) => (/[\\\n]/.test(s) ? s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n") : s);
const opt = (s) => (typeof s === "string" ? "+" + esc(s) : "-");
export function linkgate_r2_read(env, key, body, offset, length) {
  try {
    const b = env.LINKGATE_FILES;
    if (b === undefined || b === null) return Promise.reject(new Error("binding LINKGATE_FILES is not configured"));
    if (!body) return b.head(key);
    return offset < 0 ? b.get(key) : b.get(key, { range: { offset, length } });
  } catch (e) {
    return Promise.reject(e);
  }
}
export function linkgate_r2_meta(o) {
  const h = o.httpMetadata, c = o.customMetadata;
  return o.size + "\n" + esc(String(o.httpEtag)) + "\n" + esc(String(o.version)) + "\n" + o.uploaded.getTime() + "\n" +
    opt(h && h.contentType) + "\n" + opt(c && c.classification);
}
export function linkgate_r2_body(o) { return o.body ?? null; }
"#)]
extern "C" {
    fn linkgate_r2_read(env: &JsValue, key: &str, body: bool, offset: f64, length: f64) -> JsValue;
    #[wasm_bindgen(catch)]
    fn linkgate_r2_meta(object: &JsValue) -> std::result::Result<String, JsValue>;
    fn linkgate_r2_body(object: &JsValue) -> Option<ReadableStream>;
}

/// An object `get` returned: its version (to check against the plan's) and body.
pub struct Fetched {
    pub version: String,
    pub body: Option<ReadableStream>,
}

/// One R2 call: None when the object does not exist.
async fn r2(
    env: &Env,
    key: &str,
    body: bool,
    range: Option<(u64, u64)>,
) -> Result<Option<(ObjectMeta, Option<Fetched>)>> {
    // Offsets and lengths are below the 5 TB object limit: exact as f64.
    let (offset, length) = range.map_or((-1.0, 0.0), |(o, l)| (o as f64, l as f64));
    let object = wait(&linkgate_r2_read(env.as_ref(), key, body, offset, length)).await.map_err(|e| js_err("R2", e))?;
    if object.is_null() || object.is_undefined() {
        return Ok(None);
    }
    let packed = linkgate_r2_meta(&object).map_err(|e| js_err("R2 metadata", e))?;
    let meta = ObjectMeta::unpack(&packed).ok_or_else(|| EdgeError::new("R2 metadata: not in the packed form"))?;
    let fetched = body.then(|| Fetched { version: meta.version.clone(), body: linkgate_r2_body(&object) });
    Ok(Some((meta, fetched)))
}

/// `head` the object, or `get` it (body kept for delivery) when `with_body`.
/// A `head` is answered from the memo when R2 gave it less than `memo_ms`
/// ago (0: always ask R2); every answer from R2 refreshes the memo.
pub async fn read(
    env: &Env,
    key: &str,
    with_body: bool,
    memo_ms: u64,
) -> Result<(Option<ObjectMeta>, Option<Fetched>)> {
    let now = crate::now_ms();
    if !with_body {
        if let Some(meta) = MEMO.with(|m| m.borrow().lookup(key, now, memo_ms)) {
            return Ok((Some(meta), None));
        }
    }
    let generation = MEMO.with(|m| m.borrow().generation());
    let (meta, fetched) = r2(env, key, with_body, None).await?.unzip();
    MEMO.with(|memo| match &meta {
        Some(m) => memo.borrow_mut().store(key, m, now, memo_ms, generation),
        // Gone from R2: no older answer may describe it any more.
        None => memo.borrow_mut().forget(key),
    });
    Ok((meta, fetched.flatten()))
}

/// `get` the object's body, or the `(offset, length)` range of it; None
/// when the object does not exist.
pub async fn get(env: &Env, key: &str, range: Option<(u64, u64)>) -> Result<Option<Fetched>> {
    Ok(r2(env, key, true, range).await?.and_then(|(_, fetched)| fetched))
}

/// `key` was written, or found other than the memo said: ask R2 next time.
pub fn forget(key: &str) {
    MEMO.with(|m| m.borrow_mut().forget(key));
}

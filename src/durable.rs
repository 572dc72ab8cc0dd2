//! Calls from the worker to its Durable Objects (the usage counters and the
//! revocation registry): one POST (or GET) with a JSON text body; anything
//! but 200 is a failure of the store.

use worker::wasm_bindgen::JsValue;
use worker::ObjectNamespace;

use super::error::{EdgeError, Result};
use super::js;

/// Call `url` on the instance `name` of `ns` and answer the response's text;
/// `who` names the object in errors. Through the runtime's JS API directly
/// (`idFromName`, `get`, `fetch`, `text`): workers-rs' `RequestInit` goes
/// through serde for options these calls never set (~7 KB of wasm), and its
/// `Response::text` reads the body as a Rust stream (~3 KB).
pub async fn call(ns: &ObjectNamespace, name: &str, url: &str, body: Option<String>, who: &str) -> Result<String> {
    let ns: &JsValue = ns.as_ref();
    let id = js::call(ns, "idFromName", &[name.into()]).await?;
    let stub = js::call(ns, "get", &[id]).await?;
    let mut args = vec![JsValue::from_str(url)];
    if let Some(body) = body {
        args.push(js::object(&[("method", "POST".into()), ("body", body.into())])?);
    }
    let r = js::call(&stub, "fetch", &args).await?;
    let status = js::get(&r, "status")?.as_f64().unwrap_or(0.0);
    let text = js::call(&r, "text", &[]).await.ok().and_then(|t| t.as_string());
    if status != 200.0 {
        let status = status as u16;
        return Err(EdgeError::new(format!("{who} answered {status}: {}", text.unwrap_or_default())));
    }
    text.ok_or_else(|| EdgeError::new(format!("{who}: answer unreadable")))
}

//! Calls from the worker to its Durable Objects (the usage counters and the
//! revocation registry): one POST (or GET) with a JSON text body; anything
//! but 200 is a failure of the store.

use worker::wasm_bindgen::JsValue;
use worker::{Request, Response, Stub};

use super::error::{EdgeError, Result};

/// Call `url` on `stub`; `who` names the object in errors. The request is
/// built with the runtime's `Request` directly: workers-rs' `RequestInit`
/// goes through serde for options these calls never set (~7 KB of wasm).
pub async fn call(stub: &Stub, url: &str, body: Option<String>, who: &str) -> Result<Response> {
    let mut r = match body {
        None => stub.fetch_with_str(url).await?,
        Some(body) => {
            let init = worker::web_sys::RequestInit::new();
            init.set_method("POST");
            init.set_body(&JsValue::from_str(&body));
            let req = worker::web_sys::Request::new_with_str_and_init(url, &init)?;
            stub.fetch_with_request(Request::from(req)).await?
        }
    };
    if r.status_code() != 200 {
        let text = r.text().await.unwrap_or_default();
        return Err(EdgeError::new(format!("{who} answered {}: {text}", r.status_code())));
    }
    Ok(r)
}

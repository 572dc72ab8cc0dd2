//! Fetches to a private origin (`LINKGATE_ORIGIN`): exactly the requests the
//! core built (`linkgate_core::origin`), bounded by its timeout. Nothing of
//! the client's request is added: no query, no cookie, no header.

use worker::wasm_bindgen::JsCast;
use worker::web_sys::Response as WebResponse;

use linkgate_core::gate::{ReadObject, Step};
use linkgate_core::origin::{head_failure, OriginFailure, OriginRequest};

// `fetch` with an AbortController on a timer that covers the wait for the
// response headers (not the body: a large download streams for as long as it
// takes). Redirects are never followed: a 3xx is an origin error, so the
// secret header or signature never goes to another host. Headers come as
// `name\nvalue\n…` (header values cannot hold a line break).
#[worker::wasm_bindgen::prelude::wasm_bindgen(inline_js = r#"
export async function linkgate_origin_fetch(method, url, packed, timeoutMs) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const headers = new Headers();
    const parts = packed === "" ? [] : packed.split("\n");
    for (let i = 0; i + 1 < parts.length; i += 2) headers.set(parts[i], parts[i + 1]);
    return await fetch(url, { method, headers, redirect: "manual", signal: controller.signal });
  } catch (e) {
    return controller.signal.aborted ? "timeout" : "unreachable";
  } finally {
    clearTimeout(timer);
  }
}
"#)]
extern "C" {
    fn linkgate_origin_fetch(method: &str, url: &str, packed: &str, timeout_ms: f64) -> worker::js_sys::Promise;
}

/// Send `req`; the response (any status) once its headers arrived.
pub async fn fetch(req: &OriginRequest) -> Result<WebResponse, OriginFailure> {
    let mut packed = String::new();
    for (name, value) in &req.headers {
        if !packed.is_empty() {
            packed.push('\n');
        }
        packed.push_str(name);
        packed.push('\n');
        packed.push_str(value);
    }
    let promise = linkgate_origin_fetch(req.method, &req.url, &packed, req.timeout_ms as f64);
    let answer = crate::task::wait(&promise).await.map_err(|_| OriginFailure::Unreachable)?;
    if let Some(why) = answer.as_string() {
        return Err(if why == "timeout" { OriginFailure::Timeout } else { OriginFailure::Unreachable });
    }
    answer.dyn_into::<WebResponse>().map_err(|_| OriginFailure::Unreachable)
}

/// One response header.
pub fn header(resp: &WebResponse, name: &str) -> Option<String> {
    resp.headers().get(name).ok().flatten()
}

/// Why an origin request failed, for the worker log (the URL names the
/// object, never a token; no header value is logged).
pub fn log_failure(request_id: &str, req: &OriginRequest, failure: &str, status: Option<u16>) {
    let line = linkgate_core::json::Object::new()
        .str("event", "origin_failed")
        .str("request_id", request_id)
        .str("method", req.method)
        .str("url", &req.url)
        .str("failure", failure)
        .opt_num("status", status.map(u64::from))
        .finish();
    worker::console_error!("{line}");
}

/// The origin's `HEAD` for the gate's [`ReadObject`] step (instead of R2):
/// sent, logged when it fails, and handed back for the core to read.
pub async fn read_head<'c>(
    step: ReadObject<'c>,
    head: Result<OriginRequest, OriginFailure>,
    request_id: &str,
) -> Step<'c> {
    let head = match head {
        Ok(h) => h,
        Err(f) => return step.origin_failed(f),
    };
    match fetch(&head).await {
        Ok(resp) => {
            let status = resp.status();
            if let Some(f) = head_failure(status) {
                log_failure(request_id, &head, &format!("{f:?}"), Some(status));
            }
            step.origin_answer(status, &|name| header(&resp, name))
        }
        Err(f) => {
            log_failure(request_id, &head, &format!("{f:?}"), None);
            step.origin_failed(f)
        }
    }
}

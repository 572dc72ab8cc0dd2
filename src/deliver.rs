//! Carry out a delivery plan: edge cache, R2 body, response.
//!
//! The gate has decided status, headers and which bytes; this only moves
//! them. Full-object responses the plan marks cacheable try the Cache API
//! first (keyed by path and version, never the token) and fill it on a
//! miss. Bodies are handed to the runtime as streams: no byte passes
//! through wasm, except an HLS playlist in media `rewrite` mode, which goes
//! through the core's streaming rewriter (a `TransformStream`; the edge cache
//! keeps the original bytes).

use std::cell::RefCell;
use std::rc::Rc;

use worker::js_sys::{Function, Uint8Array};
use worker::wasm_bindgen::closure::Closure;
use worker::wasm_bindgen::JsCast;
use worker::web_sys::{self, ReadableStream};
use worker::{Cache, Context, Env, Response, ResponseBody};

use linkgate_core::gate::{Delivery, DeliveryFailure, EdgeCacheCopy, ObjectBody};
use linkgate_core::origin::OriginFailure;

use super::objects::Fetched;
use super::respond::{headers_of, streamed};
use super::task::wait;

type Delivered = Result<(web_sys::Response, Option<&'static str>), DeliveryFailure>;

/// Send `plan`; `fetched` is the object the metadata step already got.
pub async fn run(env: &Env, ctx: &Context, plan: &Delivery, fetched: Option<Fetched>) -> Delivered {
    let Some(body) = &plan.body else {
        return respond(plan, None, None);
    };
    if let Some(copy) = &body.edge_cache {
        // A cache failure never fails a download: fall through to R2.
        if let Ok(hit) = wait(&linkgate_cache_body(&copy.key)).await {
            if let Ok(stream) = hit.dyn_into::<ReadableStream>() {
                return respond(plan, Some(&rewritten(body, stream)), Some("hit"));
            }
        }
    }
    if let Some(req) = &body.origin {
        // A private origin: its GET, checked by the core to be exactly the
        // planned bytes before any of them is sent.
        let resp = super::origin::fetch(req).await.map_err(|f| {
            super::origin::log_failure("", req, &format!("{f:?}"), None);
            DeliveryFailure::Origin(f)
        })?;
        let checked =
            linkgate_core::origin::check_body(body, resp.status(), &|name| super::origin::header(&resp, name));
        if let Err(failure) = checked {
            super::origin::log_failure("", req, &format!("{failure:?}"), Some(resp.status()));
            // Release the connection: not a byte of this answer is sent.
            if let Some(unsent) = resp.body() {
                let _ = unsent.cancel();
            }
            return Err(failure);
        }
        let stream = resp.body().ok_or(DeliveryFailure::Origin(OriginFailure::Error))?;
        return send(ctx, plan, body, stream);
    }
    let object = match fetched.filter(|_| body.reuse_fetched) {
        Some(o) => o,
        None => get(env, body).await.inspect_err(|_| super::objects::forget(&body.key))?,
    };
    if object.version != body.version {
        // Replaced between metadata (or the memo of it) and body: the
        // headers describe another version. The next request reads R2.
        super::objects::forget(&body.key);
        return Err(DeliveryFailure::Changed);
    }
    let stream = object.body.ok_or(DeliveryFailure::Unavailable)?;
    send(ctx, plan, body, stream)
}

/// Stream the body out, and into the edge cache when the plan says so.
fn send(ctx: &Context, plan: &Delivery, body: &ObjectBody, stream: ReadableStream) -> Delivered {
    let Some(copy) = &body.edge_cache else {
        return respond(plan, Some(&rewritten(body, stream)), None);
    };
    let branches = stream.tee();
    store(ctx, copy, branches.get(1).into())?;
    respond(plan, Some(&rewritten(body, branches.get(0).into())), Some("miss"))
}

// The body of the edge cache's copy under `key` (null on a miss), in one
// call: workers-rs' `Cache::get` builds an options object and reads the
// cached response's headers, status, `webSocket` and `cf` to wrap it, and
// only the body is used. Never throws: a failure is a rejected promise.
#[worker::wasm_bindgen::prelude::wasm_bindgen(inline_js = r#"
export function linkgate_cache_body(key) {
  try {
    return caches.default.match(key).then((r) => (r ? r.body : null));
  } catch (e) {
    return Promise.reject(e);
  }
}
"#)]
extern "C" {
    fn linkgate_cache_body(key: &str) -> worker::wasm_bindgen::JsValue;
}

// Pipe a stream through two wasm callbacks (a TransformStream): `push`
// takes each chunk and returns what to send so far, `finish` the rest.
#[worker::wasm_bindgen::prelude::wasm_bindgen(inline_js = r#"
export function linkgate_transform(stream, push, finish) {
  return stream.pipeThrough(new TransformStream({
    transform(chunk, c) { const out = push(chunk); if (out.length) c.enqueue(out); },
    flush(c) { const out = finish(); if (out.length) c.enqueue(out); },
  }));
}
"#)]
extern "C" {
    fn linkgate_transform(stream: &ReadableStream, push: &Function, finish: &Function) -> ReadableStream;
}

/// The body as sent: through the HLS rewriter when the plan says so (only
/// the current line is held, so memory stays bounded whatever the size).
fn rewritten(body: &ObjectBody, stream: ReadableStream) -> ReadableStream {
    let Some(rewrite) = &body.rewrite else { return stream };
    let state = Rc::new(RefCell::new(rewrite.rewriter()));
    let pushing = state.clone();
    let push = Closure::<dyn FnMut(Uint8Array) -> Uint8Array>::new(move |chunk: Uint8Array| {
        let mut out = Vec::new();
        if let Ok(mut r) = pushing.try_borrow_mut() {
            r.push(&chunk.to_vec(), &mut out);
        }
        Uint8Array::from(out.as_slice())
    });
    let finish = Closure::<dyn FnMut() -> Uint8Array>::new(move || {
        let mut out = Vec::new();
        if let Ok(mut r) = state.try_borrow_mut() {
            r.finish(&mut out);
        }
        Uint8Array::from(out.as_slice())
    });
    // The JS side owns both callbacks from here; they are freed when the
    // stream is collected.
    let (push, finish) = (push.into_js_value(), finish.into_js_value());
    linkgate_transform(&stream, push.unchecked_ref(), finish.unchecked_ref())
}

async fn get(env: &Env, body: &ObjectBody) -> Result<Fetched, DeliveryFailure> {
    match super::objects::get(env, &body.key, body.range).await {
        Ok(Some(o)) => Ok(o),
        Ok(None) => Err(DeliveryFailure::Missing),
        Err(_) => Err(DeliveryFailure::Unavailable),
    }
}

/// Put the second branch of the body into the edge cache, after the response.
fn store(ctx: &Context, copy: &EdgeCacheCopy, stream: worker::web_sys::ReadableStream) -> Result<(), DeliveryFailure> {
    let headers = headers_of(&copy.headers).map_err(|_| DeliveryFailure::Unavailable)?;
    let stored = Response::from_body(ResponseBody::Stream(stream))
        .map_err(|_| DeliveryFailure::Unavailable)?
        .with_status(200)
        .with_headers(headers);
    let key = copy.key.clone();
    ctx.wait_until(async move {
        if let Err(e) = Cache::default().put(key.as_str(), stored).await {
            let line = linkgate_core::json::Object::new()
                .str("event", "cache_put_failed")
                .str("error", &e.to_string())
                .finish();
            worker::console_warn!("{line}");
        }
    });
    Ok(())
}

/// The response, built in one call; `cache` is the edge cache's part (hit
/// or miss), shown in `x-linkgate-cache` when the plan asks for it.
fn respond(plan: &Delivery, body: Option<&ReadableStream>, cache: Option<&'static str>) -> Delivered {
    let debug = cache.filter(|_| plan.debug_cache_header).map(|c| ("x-linkgate-cache", c));
    let r = streamed(plan.status, body, &plan.headers, debug).map_err(|_| DeliveryFailure::Unavailable)?;
    Ok((r, cache))
}

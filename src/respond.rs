//! Turning the gate's replies into responses.

use worker::wasm_bindgen::prelude::wasm_bindgen;
use worker::web_sys;
use worker::{Headers, Response, ResponseBody};

use linkgate_core::gate::Reply;
use linkgate_core::problem;
use linkgate_core::Code;

/// Headers on every response linkgate sends for a link.
const SECURITY_HEADERS: [(&str, &str); 3] =
    [("referrer-policy", "no-referrer"), ("x-robots-tag", "noindex, nofollow"), ("x-content-type-options", "nosniff")];

/// Response headers from the gate's list, plus the security headers.
pub fn headers_of(pairs: &[(&'static str, String)]) -> worker::Result<Headers> {
    let h = Headers::new();
    for (k, v) in SECURITY_HEADERS {
        h.set(k, v)?;
    }
    for (k, v) in pairs {
        h.set(k, v)?;
    }
    Ok(h)
}

fn with_body(status: u16, body: String, pairs: &[(&'static str, String)]) -> worker::Result<Response> {
    let h = headers_of(pairs)?;
    Ok(Response::from_body(ResponseBody::Body(body.into_bytes()))?.with_status(status).with_headers(h))
}

// A response in one call across the boundary (the request path's answers:
// refusals, pages, redirects). Through workers-rs it took one call per header,
// a `ResponseInit` built property by property and the body copied into a fresh
// `Uint8Array`; here the headers travel as one "name\nvalue\n…" string.
// `set` keeps `Headers::set`'s meaning (a later pair replaces an earlier one).
// A `fixed` list (no per-request value: a plain refusal's, a page's) is built
// into a `Headers` once per isolate and reused as the init of every response
// that carries it (the constructor copies it; nothing mutates the cached one).
// A string body would get a default content-type only if none is set; every
// body sent here sets its own.
#[wasm_bindgen(inline_js = r#"
const HEADS = new Map();
function headersOf(head) {
  const h = new Headers();
  const p = head.split("\n");
  for (let i = 0; i + 1 < p.length; i += 2) h.set(p[i], p[i + 1]);
  return h;
}
export function linkgate_response(status, body, head, fixed) {
  let h = fixed ? HEADS.get(head) : undefined;
  if (h === undefined) {
    h = headersOf(head);
    if (fixed) {
      if (HEADS.size >= 8) HEADS.clear();
      HEADS.set(head, h);
    }
  }
  return new Response(body, { status, headers: h });
}
export function linkgate_stream_response(status, body, head) {
  return new Response(body, { status, headers: headersOf(head) });
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    fn linkgate_response(
        status: u16,
        body: Option<&str>,
        head: &str,
        fixed: bool,
    ) -> Result<web_sys::Response, worker::wasm_bindgen::JsValue>;

    #[wasm_bindgen(catch)]
    fn linkgate_stream_response(
        status: u16,
        body: Option<&web_sys::ReadableStream>,
        head: &str,
    ) -> Result<web_sys::Response, worker::wasm_bindgen::JsValue>;
}

/// The security headers, `pairs` and `extra`, packed for [`linkgate_response`]
/// as "name\nvalue\n…". Names are static; a value with a line break (which
/// no header may carry, and which would shift the pairs after it) is
/// refused, whatever produced it: a download's values include the stored
/// object's metadata.
fn packed(pairs: &[(&'static str, String)], extra: Option<(&'static str, &str)>) -> worker::Result<String> {
    let mut out = String::with_capacity(256);
    let listed = pairs.iter().map(|(k, v)| (*k, v.as_str()));
    for (k, v) in SECURITY_HEADERS.into_iter().chain(listed).chain(extra) {
        if v.contains('\n') {
            return Err(worker::Error::RustError(format!("header {k}: a line break in its value")));
        }
        out.push_str(k);
        out.push('\n');
        out.push_str(v);
        out.push('\n');
    }
    Ok(out)
}

/// A download's response in one call: `body` streamed as it is, the gate's
/// headers and `extra` (the debug cache header) with the security headers.
pub fn streamed(
    status: u16,
    body: Option<&web_sys::ReadableStream>,
    pairs: &[(&'static str, String)],
    extra: Option<(&'static str, &str)>,
) -> worker::Result<web_sys::Response> {
    linkgate_stream_response(status, body, &packed(pairs, extra)?).map_err(worker::Error::from)
}

/// `fixed`: the same list for every response that has it (see [`linkgate_response`]).
fn raw(
    status: u16,
    body: Option<&str>,
    pairs: &[(&'static str, String)],
    fixed: bool,
) -> worker::Result<web_sys::Response> {
    linkgate_response(status, body, &packed(pairs, None)?, fixed).map_err(worker::Error::from)
}

/// The response for the gate's final reply; `delivered` is what the
/// delivery step built, if it ran.
pub fn reply(reply: Reply, delivered: Option<web_sys::Response>) -> worker::Result<web_sys::Response> {
    match reply {
        Reply::Delivered => match delivered {
            Some(r) => Ok(r),
            None => raw_problem(
                Code::StoreUnavailable.status(),
                problem::body(Code::StoreUnavailable, None, Some("")),
                Vec::new(),
            ),
        },
        Reply::Problem { status, body, headers } => raw_problem(status, body, headers),
        Reply::Page { status, html } => raw(status, Some(&html), &page_headers(), true),
        Reply::SeeOther { location } => {
            raw(303, None, &[("location", location), ("cache-control", "no-store".to_owned())], false)
        }
        Reply::Redirect { headers } => raw(302, None, &headers, false),
    }
}

fn raw_problem(
    status: u16,
    body: String,
    mut headers: Vec<(&'static str, String)>,
) -> worker::Result<web_sys::Response> {
    // Without extra headers (416's Content-Range, CORS) the list is the same
    // for every refusal.
    let fixed = headers.is_empty();
    push_problem_headers(&mut headers);
    raw(status, Some(&body), &headers, fixed)
}

fn push_problem_headers(headers: &mut Vec<(&'static str, String)>) {
    headers.push(("content-type", "application/problem+json".to_owned()));
    headers.push(("cache-control", "no-store".to_owned()));
}

/// An `application/problem+json` body with extra headers; never cached.
pub fn problem_body(status: u16, body: String, mut headers: Vec<(&'static str, String)>) -> worker::Result<Response> {
    push_problem_headers(&mut headers);
    with_body(status, body, &headers)
}

/// The problem response of a contract code.
pub fn problem(code: Code, request_id: &str) -> worker::Result<Response> {
    problem_body(code.status(), problem::body(code, None, Some(request_id)), Vec::new())
}

/// 500 for an operator mistake (bad or missing configuration). Clients cannot
/// cause it; the detail says what to fix without echoing secrets.
pub fn misconfigured(detail: &str, request_id: &str) -> worker::Result<Response> {
    let body = linkgate_core::json::Object::new()
        .str("type", "urn:linkgate:problem:misconfigured")
        .str("title", "Internal Server Error")
        .num("status", 500)
        .str("code", "misconfigured")
        .str("detail", detail)
        .str("request_id", request_id)
        .finish();
    problem_body(500, body.into_string(), Vec::new())
}

/// An HTML page's headers (landing page, link-ended page): strict CSP, no caching.
fn page_headers() -> [(&'static str, String); 4] {
    [
        ("content-type", "text/html; charset=utf-8".to_owned()),
        ("cache-control", "no-store".to_owned()),
        ("content-security-policy", linkgate_core::usage::page_csp()),
        ("x-frame-options", "DENY".to_owned()),
    ]
}

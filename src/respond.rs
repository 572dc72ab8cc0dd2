//! Turning the gate's replies into responses.

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

/// The response for the gate's final reply; `delivered` is what the
/// delivery step built, if it ran.
pub fn reply(reply: Reply, delivered: Option<Response>) -> worker::Result<Response> {
    match reply {
        Reply::Delivered => match delivered {
            Some(r) => Ok(r),
            None => problem(Code::StoreUnavailable, ""),
        },
        Reply::Problem { status, body, headers } => problem_body(status, body, headers),
        Reply::Page { status, html } => page(status, html),
        Reply::SeeOther { location } => {
            let h = headers_of(&[("location", location), ("cache-control", "no-store".to_owned())])?;
            Ok(Response::from_body(ResponseBody::Empty)?.with_status(303).with_headers(h))
        }
        Reply::Redirect { headers } => {
            let h = headers_of(&headers)?;
            Ok(Response::from_body(ResponseBody::Empty)?.with_status(302).with_headers(h))
        }
    }
}

/// An `application/problem+json` body with extra headers; never cached.
pub fn problem_body(status: u16, body: String, mut headers: Vec<(&'static str, String)>) -> worker::Result<Response> {
    headers.push(("content-type", "application/problem+json".to_owned()));
    headers.push(("cache-control", "no-store".to_owned()));
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

/// An HTML page (landing page, link-ended page): strict CSP, no caching.
fn page(status: u16, html: String) -> worker::Result<Response> {
    let headers = [
        ("content-type", "text/html; charset=utf-8".to_owned()),
        ("cache-control", "no-store".to_owned()),
        ("content-security-policy", linkgate_core::usage::page_csp()),
        ("x-frame-options", "DENY".to_owned()),
    ];
    with_body(status, html, &headers)
}

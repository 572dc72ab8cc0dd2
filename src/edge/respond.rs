//! Building responses: problems and the headers every download carries.

use worker::{Headers, Response, ResponseBody};

use crate::core::problem;
use crate::core::Code;

/// Headers on every response linkgate sends for a link.
pub fn security_headers(h: &Headers) -> worker::Result<()> {
    h.set("referrer-policy", "no-referrer")?;
    h.set("x-robots-tag", "noindex, nofollow")?;
    h.set("x-content-type-options", "nosniff")?;
    Ok(())
}

/// An `application/problem+json` response for `code`.
pub fn problem_response(code: Code, refresh: Option<&str>, request_id: &str) -> worker::Result<Response> {
    problem_with_status(code.status(), &problem::body(code, refresh, Some(request_id)), &[])
}

/// A problem body with an explicit status (for non-contract errors such as
/// misconfiguration) and extra headers.
pub fn problem_with_status(status: u16, body: &str, extra: &[(&str, &str)]) -> worker::Result<Response> {
    let h = Headers::new();
    h.set("content-type", "application/problem+json")?;
    h.set("cache-control", "no-store")?;
    security_headers(&h)?;
    for (k, v) in extra {
        h.set(k, v)?;
    }
    Ok(Response::from_body(ResponseBody::Body(body.as_bytes().to_vec()))?.with_status(status).with_headers(h))
}

/// 500 for an operator mistake (bad or missing configuration). Clients cannot
/// cause it; the detail says what to fix without echoing secrets.
pub fn misconfigured(detail: &str, request_id: &str) -> worker::Result<Response> {
    let body = serde_json::json!({
        "type": "urn:linkgate:problem:misconfigured",
        "title": "Internal Server Error",
        "status": 500,
        "code": "misconfigured",
        "detail": detail,
        "request_id": request_id,
    })
    .to_string();
    problem_with_status(500, &body, &[])
}

/// An HTML page (landing page, used-up page): strict CSP, no caching, no
/// referrer, not indexed.
pub fn html(status: u16, body: &str) -> worker::Result<Response> {
    let h = Headers::new();
    h.set("content-type", "text/html; charset=utf-8")?;
    h.set("cache-control", "no-store")?;
    h.set("content-security-policy", &crate::core::usage::page_csp())?;
    h.set("x-frame-options", "DENY")?;
    security_headers(&h)?;
    Ok(Response::from_body(ResponseBody::Body(body.as_bytes().to_vec()))?.with_status(status).with_headers(h))
}

/// 303 to a download-session URL.
pub fn see_other(location: &str) -> worker::Result<Response> {
    let h = Headers::new();
    h.set("location", location)?;
    h.set("cache-control", "no-store")?;
    security_headers(&h)?;
    Ok(Response::from_body(ResponseBody::Empty)?.with_status(303).with_headers(h))
}

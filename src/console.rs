//! The admin console's three static files (`src/console/`), built into the
//! worker and served at `/_linkgate/console` with the headers the core
//! chooses (`linkgate_core::console`). Nothing here reads a credential: the
//! page's script sends one with each admin API call (`docs/console.md`).

use worker::{Headers, Response, ResponseBody};

use linkgate_core::console::{self, Asset};
use linkgate_core::json::Object;
use linkgate_core::verify::Method;

const PAGE: &str = include_str!("console/index.html");
const SCRIPT: &str = include_str!("console/app.js");
const STYLE: &str = include_str!("console/app.css");

/// Serve one of the console's files (GET, or HEAD without the body).
pub fn serve(asset: Asset, method: Method, request_id: &str) -> worker::Result<Response> {
    if console::check_method(method).is_err() {
        let body = Object::new()
            .str("type", "urn:linkgate:problem:method_not_allowed")
            .str("title", "Method Not Allowed")
            .num("status", 405)
            .str("code", "method_not_allowed")
            .str("detail", "The console is read with GET.")
            .str("request_id", request_id)
            .finish();
        return super::respond::problem_body(405, body.into_string(), vec![("allow", "GET, HEAD".to_owned())]);
    }
    let h = Headers::new();
    for (k, v) in console::headers(asset) {
        h.set(k, v)?;
    }
    let text = match asset {
        Asset::Page => PAGE,
        Asset::Script => SCRIPT,
        Asset::Style => STYLE,
    };
    let body = if method == Method::Head { ResponseBody::Empty } else { ResponseBody::Body(text.as_bytes().to_vec()) };
    Ok(Response::from_body(body)?.with_headers(h))
}

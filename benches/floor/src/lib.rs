//! A Rust worker that refuses every request at once (see Cargo.toml).
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

use worker::{event, Context, Env, Response};

#[event(fetch)]
pub async fn fetch(_req: worker::web_sys::Request, _env: Env, _ctx: Context) -> worker::Result<Response> {
    Ok(Response::error("forbidden", 403)?)
}

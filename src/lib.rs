//! linkgate: expiring, revocable download links verified at the CDN edge.
//!
//! - [`core`]: the platform-free core (link format, keys, canonical paths,
//!   verification). No I/O; builds for the host and for wasm32.
//! - `edge` (wasm32 only): the Cloudflare Worker glue.

pub mod core;

#[cfg(target_arch = "wasm32")]
pub mod edge;

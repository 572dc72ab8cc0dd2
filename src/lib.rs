//! linkgate: expiring, revocable download links verified at the CDN edge.
//!
//! - [`core`]: the platform-free core (link format, keys, canonical paths,
//!   verification). No I/O; builds for the host and for wasm32.
//! - `edge` (wasm32-unknown-unknown only): the Cloudflare Worker glue. Not
//!   on wasm32-wasip1, where the core's tests run (scripts/test.sh).

pub mod core;

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub mod edge;

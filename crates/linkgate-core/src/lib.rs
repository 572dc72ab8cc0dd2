//! The platform-free core: everything linkgate decides without I/O.
//!
//! No `worker` dependency and no clock: callers pass the time in. Builds for
//! the host and for `wasm32-unknown-unknown`, and is tested natively.

#![forbid(unsafe_code)]

pub mod admin;
pub mod audit;
pub mod b64;
pub mod cache;
pub mod cat;
pub mod code;
pub mod config;
pub mod console;
pub mod credential;
pub mod decimal;
pub mod duration;
pub mod ed25519;
pub mod gate;
pub mod hex;
pub mod host;
pub mod http;
pub mod identity;
pub mod inspect;
pub mod ip;
pub mod json;
pub mod jwks;
pub mod jwt;
pub mod keys;
pub mod media;
pub mod memo;
pub mod mint;
pub mod mpd;
pub mod nfc;
mod nfc_tables;
pub mod origin;
pub mod path;
pub mod policy;
// Native only: in wasm, SHA-256 runs without CPU extensions and `hmac`'s
// wrapper is a small share of a tag check, while every byte of code is paid
// by the worker and the JS package (docs/performance.md, "Native verification").
#[cfg(not(target_arch = "wasm32"))]
mod prekeyed;
pub mod presign;
pub mod problem;
pub mod reason;
pub mod revocation;
pub mod sealed;
pub mod small_sort;
pub mod text;
pub mod token;
pub mod usage;
pub mod verify;

pub use code::Code;
pub use keys::{Key, KeyId, KeyRing, KeyRingError};
pub use path::{CanonicalPath, PathError, Prefix, Scope};
pub use reason::Reason;
pub use token::{Claims, Jti, Mode, UnverifiedToken};
pub use verify::{verify, Method, Refusal, RequestFacts, TimeRules, VerifiedLink};

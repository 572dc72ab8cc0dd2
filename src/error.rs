//! One error type for the edge: anything that failed talking to the platform.
//!
//! Every binding adapter returns it, `?` converts into it, and [`super::fetch`]
//! turns it into one fail-closed answer (503 `store_unavailable`, detail in
//! the log only). Refusals a client causes are never errors: the gate decides
//! those.

use core::fmt;

/// A platform call failed (KV, R2, Durable Objects, D1, Queues, JS glue).
#[derive(Debug)]
pub struct EdgeError(String);

pub type Result<T> = std::result::Result<T, EdgeError>;

impl EdgeError {
    pub fn new(what: impl Into<String>) -> EdgeError {
        EdgeError(what.into())
    }
}

impl fmt::Display for EdgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<worker::Error> for EdgeError {
    fn from(e: worker::Error) -> EdgeError {
        EdgeError(e.to_string())
    }
}

/// For the Durable Objects' handlers, which answer `worker::Result`.
impl From<EdgeError> for worker::Error {
    fn from(e: EdgeError) -> worker::Error {
        worker::Error::from(e.0)
    }
}

impl From<worker::kv::KvError> for EdgeError {
    fn from(e: worker::kv::KvError) -> EdgeError {
        EdgeError(format!("KV: {e:?}"))
    }
}

impl From<worker::wasm_bindgen::JsValue> for EdgeError {
    fn from(e: worker::wasm_bindgen::JsValue) -> EdgeError {
        EdgeError(e.as_string().unwrap_or_else(|| format!("{e:?}")))
    }
}

impl From<&str> for EdgeError {
    fn from(e: &str) -> EdgeError {
        EdgeError(e.to_owned())
    }
}

//! R2 adapter: an object's metadata as the gate wants it, and bodies.

use std::cell::RefCell;

use worker::{Env, Object};

use linkgate_core::gate::ObjectMeta;
use linkgate_core::memo::ObjectMemo;

use super::error::Result;
use super::FILES_BINDING;

thread_local! {
    // Recent `head` answers (see core::memo::ObjectMemo for the bound).
    static MEMO: RefCell<ObjectMemo> = RefCell::new(ObjectMemo::new());
}

/// The gate's view of an R2 object.
pub fn meta(o: &Object) -> ObjectMeta {
    ObjectMeta {
        size: o.size(),
        etag: o.http_etag(),
        version: o.version(),
        uploaded: o.uploaded().as_millis() / 1000,
        content_type: o.http_metadata().content_type,
        classification: o.custom_metadata().ok().and_then(|mut m| m.remove("classification")),
    }
}

/// `head` the object, or `get` it (body kept for delivery) when `with_body`.
/// A `head` is answered from the memo when R2 gave it less than `memo_ms`
/// ago (0: always ask R2); every answer from R2 refreshes the memo.
pub async fn read(env: &Env, key: &str, with_body: bool, memo_ms: u64) -> Result<(Option<ObjectMeta>, Option<Object>)> {
    let now = crate::now_ms();
    if !with_body {
        if let Some(meta) = MEMO.with(|m| m.borrow().lookup(key, now, memo_ms)) {
            return Ok((Some(meta), None));
        }
    }
    let generation = MEMO.with(|m| m.borrow().generation());
    let bucket = env.bucket(FILES_BINDING)?;
    let object = if with_body { bucket.get(key).execute().await? } else { bucket.head(key).await? };
    let meta = object.as_ref().map(meta);
    MEMO.with(|memo| match &meta {
        Some(m) => memo.borrow_mut().store(key, m, now, memo_ms, generation),
        // Gone from R2: no older answer may describe it any more.
        None => memo.borrow_mut().forget(key),
    });
    Ok((meta, object.filter(|_| with_body)))
}

/// `key` was written, or found other than the memo said: ask R2 next time.
pub fn forget(key: &str) {
    MEMO.with(|m| m.borrow_mut().forget(key));
}

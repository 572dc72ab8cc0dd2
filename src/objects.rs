//! R2 adapter: an object's metadata as the gate wants it, and bodies.

use worker::{Env, Object};

use linkgate_core::gate::ObjectMeta;

use super::error::Result;
use super::FILES_BINDING;

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
pub async fn read(env: &Env, key: &str, with_body: bool) -> Result<(Option<ObjectMeta>, Option<Object>)> {
    let bucket = env.bucket(FILES_BINDING)?;
    let object = if with_body { bucket.get(key).execute().await? } else { bucket.head(key).await? };
    let meta = object.as_ref().map(meta);
    Ok((meta, object.filter(|_| with_body)))
}

//! Delivery from R2 through the edge cache.
//!
//! One R2 `head` gives the object's size, version, ETag and metadata, so
//! Range, conditional requests and policy are all decided in Rust before any
//! body is fetched. Full-object GETs then try the Cache API (keyed by path
//! and version, never the token); misses and ranges stream from R2. Bodies
//! are handed to the runtime as streams: no byte passes through wasm.
//!
//! A plain GET (no Range, no conditionals) that the edge cache cannot serve
//! skips the `head`: one `get` answers the same metadata, policy is decided
//! from it before the body is touched, and a refused body is dropped unread.
//! That halves the R2 calls of the most common download.

use worker::{Bucket, Cache, Context, Headers, Range as R2Range, Response, ResponseBody};

use crate::core::cache::{client_cache, edge_cache_control, edge_cache_key};
use crate::core::config::EdgeConfig;
use crate::core::http::{
    content_disposition, content_range, decide_range, evaluate_preconditions, http_date, strong_etag,
    unsatisfied_content_range, Precondition, RangeDecision,
};
use crate::core::policy::{evaluate, CacheMode};
use crate::core::verify::{Method, VerifiedLink};
use crate::core::Code;
use crate::core::Mode;

use super::respond::security_headers;

/// What the client sent that matters for delivery.
pub struct Conditions {
    pub range: Option<String>,
    pub if_range: Option<String>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
}

impl Conditions {
    /// No header that needs the object's metadata before its body.
    fn is_plain(&self) -> bool {
        self.range.is_none()
            && self.if_range.is_none()
            && self.if_none_match.is_none()
            && self.if_modified_since.is_none()
    }
}

/// The result, with what the audit event needs.
pub enum Delivered {
    Sent {
        response: Response,
        status: u16,
        bytes: Option<u64>,
        cache: Option<&'static str>,
        rule: String,
        etag: String,
    },
    Refused {
        code: Code,
        reason: &'static str,
        extra: Vec<(&'static str, String)>,
        rule: Option<String>,
    },
}

/// A storage failure (fail closed with 503).
pub struct StoreError(pub String);

impl From<worker::Error> for StoreError {
    fn from(e: worker::Error) -> StoreError {
        StoreError(e.to_string())
    }
}

#[allow(clippy::too_many_arguments)]
pub async fn deliver(
    bucket: &Bucket,
    link: &VerifiedLink,
    method: Method,
    cond: &Conditions,
    country: Option<&str>,
    force_no_store: bool,
    require_etag: Option<&str>,
    cfg: &EdgeConfig,
    now: u64,
    ctx: &Context,
) -> Result<Delivered, StoreError> {
    let key = link.path().object_key();
    let single_get = method == Method::Get && cond.is_plain() && (!cfg.edge_cache || force_no_store);
    let object = if single_get { bucket.get(key).execute().await? } else { bucket.head(key).await? };
    let Some(head) = object else {
        return Ok(Delivered::Refused { code: Code::NotFound, reason: "no_object", extra: vec![], rule: None });
    };
    let claims = link.claims();

    // Policy: the object's classification selects the rule that decides.
    let classification = head.custom_metadata().ok().and_then(|m| m.get("classification").cloned());
    let rule = cfg.policy.rule_for(classification.as_deref());
    let decision = match evaluate(&rule, claims, country, false) {
        Ok(d) if d.mode == Mode::Redirect => {
            // Presigned redirects need R2 S3 credentials, which this
            // deployment does not configure: refuse rather than stream
            // against a rule that only allows redirects.
            return Ok(Delivered::Refused {
                code: Code::PolicyDenied,
                reason: "redirect_unavailable",
                extra: vec![],
                rule: Some(format!("{}.modes", rule.name)),
            });
        }
        Ok(d) => d,
        Err(denied) => {
            return Ok(Delivered::Refused {
                code: Code::PolicyDenied,
                reason: "policy",
                extra: vec![],
                rule: Some(denied.rule),
            })
        }
    };
    let no_store =
        force_no_store || claims.uses.is_some() || decision.cache == CacheMode::NoStore || decision.max_age_secs == 0;
    let public = decision.cache == CacheMode::Public;
    let max_age_cap = cfg.max_age_cap_secs.min(decision.max_age_secs);
    let rule_name = decision.rule;
    let size = head.size();
    let etag = strong_etag(&head.http_etag());
    if require_etag.is_some_and(|e| e != etag) {
        // A resume after exp must continue the same object version.
        return Ok(Delivered::Refused {
            code: Code::Expired,
            reason: "resume_other_version",
            extra: vec![],
            rule: Some(rule_name),
        });
    }
    let last_modified = head.uploaded().as_millis() / 1000;
    let version = head.version();

    let h = Headers::new();
    let content_type = claims
        .content_type
        .as_ref()
        .map(|c| c.as_str().to_owned())
        .or_else(|| head.http_metadata().content_type)
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let filename = claims.filename.as_ref().map(|f| f.as_str()).unwrap_or_else(|| link.path().file_name());
    let cc = client_cache(now, claims.exp, no_store, public, max_age_cap);
    h.set("etag", &etag)?;
    h.set("last-modified", &http_date(last_modified))?;
    h.set("accept-ranges", "bytes")?;
    h.set("cache-control", &cc.cache_control)?;
    h.set("expires", &cc.expires)?;
    security_headers(&h)?;

    if evaluate_preconditions(cond.if_none_match.as_deref(), cond.if_modified_since.as_deref(), &etag, last_modified)
        == Precondition::NotModified
    {
        let r = Response::from_body(ResponseBody::Empty)?.with_status(304).with_headers(h);
        return Ok(Delivered::Sent {
            response: r,
            status: 304,
            bytes: Some(0),
            cache: None,
            rule: rule_name,
            etag: etag.clone(),
        });
    }

    h.set("content-type", &content_type)?;
    h.set("content-disposition", &content_disposition(filename))?;

    let decision = decide_range(cond.range.as_deref(), cond.if_range.as_deref(), size, &etag, last_modified);
    let (status, r2_range, length) = match decision {
        RangeDecision::Unsatisfiable => {
            return Ok(Delivered::Refused {
                code: Code::RangeNotSatisfiable,
                reason: "range",
                extra: vec![("content-range", unsatisfied_content_range(size))],
                rule: Some(rule_name),
            })
        }
        RangeDecision::Full => (200u16, None, size),
        RangeDecision::Partial { start, end } => {
            let length = end.saturating_sub(start).saturating_add(1);
            h.set("content-range", &content_range(start, end, size))?;
            (206u16, Some(R2Range::OffsetWithLength { offset: start, length }), length)
        }
    };
    h.set("content-length", &length.to_string())?;

    if method == Method::Head {
        let r = Response::from_body(ResponseBody::Empty)?.with_status(status).with_headers(h);
        return Ok(Delivered::Sent {
            response: r,
            status,
            bytes: Some(0),
            cache: None,
            rule: rule_name,
            etag: etag.clone(),
        });
    }

    let cacheable = cfg.edge_cache && r2_range.is_none() && !no_store && size <= cfg.edge_cache_max_bytes;
    let cache_key = edge_cache_key(link.path(), &version);
    if cacheable {
        // A cache failure never fails a download: fall through to R2.
        if let Ok(Some(hit)) = Cache::default().get(cache_key.as_str(), false).await {
            let (_, body) = hit.into_parts();
            if let ResponseBody::Stream(stream) = body {
                h.set("x-linkgate-cache", "hit")?;
                let r = Response::from_body(ResponseBody::Stream(stream))?.with_status(200).with_headers(h);
                return Ok(Delivered::Sent {
                    response: r,
                    status: 200,
                    bytes: Some(size),
                    cache: Some("hit"),
                    rule: rule_name,
                    etag: etag.clone(),
                });
            }
        }
    }

    let object = if single_get {
        head
    } else {
        let mut get = bucket.get(key);
        if let Some(r) = r2_range {
            get = get.range(r);
        }
        let Some(object) = get.execute().await? else {
            // Deleted between head and get.
            return Ok(Delivered::Refused { code: Code::NotFound, reason: "no_object", extra: vec![], rule: None });
        };
        object
    };
    if object.version() != version {
        // Replaced between head and get: the headers above describe another
        // version. Refuse to mix them; the client retries.
        return Err(StoreError("object changed during the request".to_owned()));
    }
    let Some(body) = object.body() else {
        return Err(StoreError("R2 returned no body".to_owned()));
    };
    let body = body.response_body()?;
    let ResponseBody::Stream(stream) = body else {
        return Err(StoreError("R2 body is not a stream".to_owned()));
    };

    if cacheable {
        let branches = stream.tee();
        let client: worker::web_sys::ReadableStream = branches.get(0).into();
        let stored: worker::web_sys::ReadableStream = branches.get(1).into();
        let sh = Headers::new();
        sh.set("content-type", &content_type)?;
        sh.set("etag", &etag)?;
        sh.set("content-length", &size.to_string())?;
        sh.set("cache-control", &edge_cache_control(cfg.edge_cache_ttl_secs))?;
        let stored = Response::from_body(ResponseBody::Stream(stored))?.with_status(200).with_headers(sh);
        ctx.wait_until(async move {
            if let Err(e) = Cache::default().put(cache_key.as_str(), stored).await {
                worker::console_warn!("{{\"event\":\"cache_put_failed\",\"error\":{:?}}}", e.to_string());
            }
        });
        h.set("x-linkgate-cache", "miss")?;
        let r = Response::from_body(ResponseBody::Stream(client))?.with_status(status).with_headers(h);
        return Ok(Delivered::Sent {
            response: r,
            status,
            bytes: Some(length),
            cache: Some("miss"),
            rule: rule_name,
            etag: etag.clone(),
        });
    }

    let r = Response::from_body(ResponseBody::Stream(stream))?.with_status(status).with_headers(h);
    Ok(Delivered::Sent { response: r, status, bytes: Some(length), cache: None, rule: rule_name, etag })
}

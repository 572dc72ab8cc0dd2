//! The delivery plan: status, headers and which bytes to send, decided from
//! the object's metadata before any body is read.

use super::super::cache::{client_cache, edge_cache_control, edge_cache_key};
use super::super::config::RedirectConfig;
use super::super::http::{
    content_disposition, content_range, decide_range, evaluate_preconditions, http_date, strong_etag,
    unsatisfied_content_range, Precondition, RangeDecision,
};
use super::super::origin::OriginRequest;
use super::super::policy::{CacheMode, Decision};
use super::super::presign::{presign, PresignError, PresignMethod, PresignRequest};
use super::super::verify::{Method, VerifiedLink};
use super::Ctx;

/// What R2 says about an object (from `head`, or the metadata of a `get`),
/// or a private origin's `HEAD` (then `version` is its ETag).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    pub size: u64,
    /// The HTTP ETag as R2 gives it.
    pub etag: String,
    /// R2's version id: part of the edge cache key.
    pub version: String,
    /// Upload time, Unix seconds (`Last-Modified`).
    pub uploaded: u64,
    pub content_type: Option<String>,
    /// Custom metadata `classification`.
    pub classification: Option<String>,
}

impl ObjectMeta {
    /// Parse the packed form the edge reads an R2 object's metadata in (one
    /// string across the JS boundary instead of a call per field): size,
    /// ETag, version, upload time in milliseconds, then the content type and
    /// the `classification` custom metadata as `+value` or `-` when absent,
    /// one per line. In the four text fields a `\` is written `\\` and a
    /// line break `\n`. None when it is not exactly that.
    pub fn unpack(text: &str) -> Option<ObjectMeta> {
        let mut lines = text.split('\n');
        let size = lines.next()?.parse().ok()?;
        let etag = unescape_line(lines.next()?)?;
        let version = unescape_line(lines.next()?)?;
        let uploaded_ms: u64 = lines.next()?.parse().ok()?;
        let mut optional = || -> Option<Option<String>> {
            let line = lines.next()?;
            match line.strip_prefix('+') {
                Some(v) => Some(Some(unescape_line(v)?)),
                None => (line == "-").then_some(None),
            }
        };
        let content_type = optional()?;
        let classification = optional()?;
        lines.next().is_none().then_some(ObjectMeta {
            size,
            etag,
            version,
            uploaded: uploaded_ms / 1000,
            content_type,
            classification,
        })
    }
}

/// One text field of [`ObjectMeta::unpack`]: `\\` and `\n` are the only escapes.
fn unescape_line(line: &str) -> Option<String> {
    if !line.contains('\\') {
        return Some(line.to_owned());
    }
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '\\' => match chars.next()? {
                'n' => '\n',
                '\\' => '\\',
                _ => return None,
            },
            c => c,
        });
    }
    Some(out)
}

/// A response to send, decided; the edge adds only the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// 200, 206 or 304.
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    /// None for HEAD and 304.
    pub body: Option<ObjectBody>,
    /// Add `X-Linkgate-Cache: hit|miss` (operators' diagnostics only).
    pub debug_cache_header: bool,
}

/// The bytes of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectBody {
    /// R2 key.
    pub key: String,
    /// `(offset, length)` for a 206; None for the whole object.
    pub range: Option<(u64, u64)>,
    /// Bytes sent.
    pub length: u64,
    /// The version the headers describe: a body of another version is refused.
    pub version: String,
    /// The `ReadObject` step already fetched the body: send that one.
    pub reuse_fetched: bool,
    /// Look the object up in, and store it into, the edge cache.
    pub edge_cache: Option<EdgeCacheCopy>,
    /// With a private origin: the `GET` that fetches these bytes from it
    /// (only the key, the Range and the origin's credentials); None: R2.
    pub origin: Option<OriginRequest>,
    /// Pipe the body through the HLS rewriter (media `rewrite` mode); the
    /// edge cache keeps the original bytes.
    pub rewrite: Option<super::super::media::ManifestRewrite>,
}

/// The edge-cache copy of an object version (keyed without the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeCacheCopy {
    pub key: String,
    /// Headers of the stored copy.
    pub headers: Vec<(&'static str, String)>,
}

impl Delivery {
    /// A 302 to presigned storage (see [`redirect`]).
    pub fn is_redirect(&self) -> bool {
        self.status == 302
    }
}

/// Plan a `302` to a presigned URL of the object: `GET` or `HEAD` as asked,
/// living `min(LINKGATE_REDIRECT_TTL_SECS, seconds the link has left)` (for
/// a resume after `exp`, the seconds its grace has left), with the link's
/// file name and content type signed in as response overrides. The storage
/// answers Range and conditional requests on that URL itself.
pub(super) fn redirect(
    ctx: &Ctx<'_>,
    link: &VerifiedLink,
    cfg: &RedirectConfig,
    resume: bool,
) -> Result<Delivery, PresignError> {
    let claims = link.claims();
    let now = ctx.facts.now;
    let end = if resume { claims.exp.saturating_add(ctx.cfg.resume_grace_secs) } else { claims.exp };
    let expires_secs = cfg.ttl_secs.min(end.saturating_sub(now)).max(1);
    let filename = claims.filename.as_ref().map_or_else(|| link.path().file_name(), |f| f.as_str());
    let disposition = content_disposition(filename);
    let request = PresignRequest {
        method: if ctx.method == Method::Head { PresignMethod::Head } else { PresignMethod::Get },
        key: link.path().object_key(),
        now,
        expires_secs,
        content_disposition: Some(&disposition),
        content_type: claims.content_type.as_ref().map(|c| c.as_str()),
    };
    let url = presign(&cfg.location, &cfg.credentials, &request)?;
    Ok(Delivery {
        status: 302,
        headers: vec![("location", url), ("cache-control", "no-store".to_owned()), ("content-length", "0".to_owned())],
        body: None,
        debug_cache_header: false,
    })
}

/// Plan the response; `Err` holds the headers of a 416.
pub(super) fn plan(
    ctx: &Ctx<'_>,
    link: &VerifiedLink,
    meta: &ObjectMeta,
    decision: &Decision,
    fetched: bool,
) -> Result<Delivery, Vec<(&'static str, String)>> {
    let cfg = ctx.cfg;
    let facts = &ctx.facts;
    let claims = link.claims();
    let no_store = claims.uses.is_some() || decision.cache == CacheMode::NoStore || decision.max_age_secs == 0;
    // A CAT may come in a header or cookie, not in the URL: a shared cache
    // keyed by the URL would hand a public copy to requests without one.
    let public = decision.cache == CacheMode::Public && !link.is_cat();
    let etag = strong_etag(&meta.etag);
    let cc = client_cache(facts.now, claims.exp, no_store, public, cfg.max_age_cap_secs.min(decision.max_age_secs));
    let mut headers: Vec<(&'static str, String)> = vec![
        ("etag", etag.clone()),
        ("last-modified", http_date(meta.uploaded)),
        ("accept-ranges", "bytes".to_owned()),
        ("cache-control", cc.cache_control),
        ("expires", cc.expires),
    ];
    let not_modified = evaluate_preconditions(
        facts.if_none_match.as_deref(),
        facts.if_modified_since.as_deref(),
        &etag,
        meta.uploaded,
    ) == Precondition::NotModified;
    if not_modified {
        return Ok(Delivery { status: 304, headers, body: None, debug_cache_header: false });
    }
    let content_type = claims
        .content_type
        .as_ref()
        .map(|c| c.as_str().to_owned())
        .or_else(|| meta.content_type.clone())
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let filename = claims.filename.as_ref().map_or_else(|| link.path().file_name(), |f| f.as_str());
    headers.push(("content-type", content_type.clone()));
    headers.push(("content-disposition", content_disposition(filename)));
    let size = meta.size;
    let range = decide_range(facts.range.as_deref(), facts.if_range.as_deref(), size, &etag, meta.uploaded);
    let (status, range, length) = match range {
        RangeDecision::Unsatisfiable => return Err(vec![("content-range", unsatisfied_content_range(size))]),
        RangeDecision::Full => (200, None, size),
        RangeDecision::Partial { start, end } => {
            let length = end.saturating_sub(start).saturating_add(1);
            headers.push(("content-range", content_range(start, end, size)));
            (206, Some((start, length)), length)
        }
    };
    headers.push(("content-length", crate::decimal::string(length)));
    if ctx.method == Method::Head {
        return Ok(Delivery { status, headers, body: None, debug_cache_header: false });
    }
    let cacheable = cfg.edge_cache && range.is_none() && !no_store && size <= cfg.edge_cache_max_bytes;
    let edge_cache = cacheable.then(|| EdgeCacheCopy {
        key: edge_cache_key(link.path(), &meta.version),
        headers: vec![
            ("content-type", content_type),
            ("etag", etag),
            ("content-length", crate::decimal::string(size)),
            ("cache-control", edge_cache_control(cfg.edge_cache_ttl_secs)),
        ],
    });
    let origin = cfg.origin.as_ref().and_then(|o| o.request(false, link.path().object_key(), range, facts.now));
    let body = ObjectBody {
        origin,
        rewrite: None,
        key: link.path().object_key().to_owned(),
        range,
        length,
        version: meta.version.clone(),
        reuse_fetched: fetched,
        edge_cache,
    };
    Ok(Delivery { status, headers, body: Some(body), debug_cache_header: cfg.debug_headers })
}

//! A private origin behind the worker (`LINKGATE_ORIGIN`): the requests the
//! worker sends it and what its answers mean. No I/O: the edge performs the
//! fetches this module describes and hands back status and headers.
//!
//! Two kinds of origin:
//!
//! - `s3`: an S3-compatible bucket (the `LINKGATE_S3_*` settings, shared
//!   with redirect mode), every request signed with SigV4 `Authorization`
//!   headers ([`super::presign::sign_headers`]);
//! - `https://host[/base]`: a plain HTTP file service that requires a shared
//!   secret header (`LINKGATE_ORIGIN_SECRET_HEADER` names it,
//!   `LINKGATE_ORIGIN_SECRET` is its value). `http://` only for a loopback
//!   host (tests): the secret never crosses a network in clear.
//!
//! When an origin is configured it replaces R2 for downloads: metadata comes
//! from its `HEAD`, bytes from its `GET`. A request to the origin carries
//! only what is built here (the key in the path, `Range`, the signature or
//! the secret): never the client's query (`lg`, `lgs`), cookies or headers.
//! Every answer other than the expected one fails closed.

use core::fmt;

use super::gate::{DeliveryFailure, ObjectBody, ObjectMeta};
use super::http::{parse_http_date, strong_etag};
use super::path::encode_path;
use super::presign::{sign_headers, HeaderSignRequest, PresignMethod, S3Credentials, S3Location};

/// Default `LINKGATE_ORIGIN_TIMEOUT_MS`.
pub const DEFAULT_ORIGIN_TIMEOUT_MS: u64 = 10_000;
/// Largest `LINKGATE_ORIGIN_TIMEOUT_MS`.
pub const MAX_ORIGIN_TIMEOUT_MS: u64 = 60_000;
/// Shortest `LINKGATE_ORIGIN_SECRET`, in bytes.
pub const MIN_ORIGIN_SECRET_BYTES: usize = 16;

/// The object's classification on an S3 origin (user metadata `classification`).
pub const S3_CLASSIFICATION_HEADER: &str = "x-amz-meta-classification";
/// The object's classification on a plain HTTP origin.
pub const HTTP_CLASSIFICATION_HEADER: &str = "x-linkgate-classification";

/// The response headers the gate reads from an origin (the edge reads
/// exactly these).
pub const ORIGIN_RESPONSE_HEADERS: [&str; 7] = [
    "content-length",
    "content-range",
    "etag",
    "last-modified",
    "content-type",
    S3_CLASSIFICATION_HEADER,
    HTTP_CLASSIFICATION_HEADER,
];

/// Headers a secret header may not be named (the worker sets them itself, or
/// they would change what the origin serves).
const RESERVED_HEADERS: [&str; 12] = [
    "host",
    "range",
    "content-length",
    "connection",
    "transfer-encoding",
    "cookie",
    "if-range",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "x-amz-date",
];

/// Which origin.
#[derive(Clone, PartialEq, Eq)]
pub enum OriginKind {
    /// S3-compatible, SigV4 `Authorization` headers.
    S3 { location: S3Location, credentials: S3Credentials },
    /// Plain HTTP(S) with a shared secret header. `base` is
    /// `scheme://authority[/path]`, no trailing `/`.
    Http { base: String, header: String, secret: String },
}

impl fmt::Debug for OriginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginKind::S3 { location, credentials } => {
                f.debug_struct("S3").field("location", location).field("credentials", credentials).finish()
            }
            OriginKind::Http { base, header, .. } => f
                .debug_struct("Http")
                .field("base", base)
                .field("header", header)
                .field("secret", &"<redacted>")
                .finish(),
        }
    }
}

/// A configured origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub kind: OriginKind,
    /// Bound on each origin request until its response headers arrive.
    pub timeout_ms: u64,
}

/// Why a plain origin setting was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginConfigError {
    /// Not `r2`, `s3`, `https://host[/path]` or a loopback `http://` URL.
    Url,
    /// `LINKGATE_ORIGIN_SECRET_HEADER` is missing, not a header name, or reserved.
    HeaderName,
    /// `LINKGATE_ORIGIN_SECRET` is missing, shorter than
    /// [`MIN_ORIGIN_SECRET_BYTES`], or not printable ASCII.
    Secret,
    /// `LINKGATE_ORIGIN=s3` without the `LINKGATE_S3_*` settings.
    S3Settings,
    /// `LINKGATE_ORIGIN_TIMEOUT_MS` is 0 or over [`MAX_ORIGIN_TIMEOUT_MS`].
    Timeout,
}

impl fmt::Display for OriginConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginConfigError::Url => f.write_str(
                "LINKGATE_ORIGIN must be r2, s3 or https://host[:port][/path] (http:// only for a loopback host)",
            ),
            OriginConfigError::HeaderName => f.write_str(
                "LINKGATE_ORIGIN_SECRET_HEADER must name the origin's secret header (a header name the worker does not set itself)",
            ),
            OriginConfigError::Secret => write!(
                f,
                "LINKGATE_ORIGIN_SECRET must be at least {MIN_ORIGIN_SECRET_BYTES} bytes of printable ASCII"
            ),
            OriginConfigError::S3Settings => f.write_str(
                "LINKGATE_ORIGIN=s3 needs LINKGATE_S3_ACCESS_KEY_ID, LINKGATE_S3_SECRET_ACCESS_KEY, LINKGATE_S3_BUCKET and LINKGATE_S3_ENDPOINT (or LINKGATE_R2_ACCOUNT_ID)",
            ),
            OriginConfigError::Timeout => {
                write!(f, "LINKGATE_ORIGIN_TIMEOUT_MS must be 1 to {MAX_ORIGIN_TIMEOUT_MS}")
            }
        }
    }
}

/// Why an origin request did not give what was needed. Each fails closed
/// (503 `store_unavailable`); the audit reason says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginFailure {
    /// No response headers within the timeout.
    Timeout,
    /// The fetch itself failed (connection refused, DNS, TLS).
    Unreachable,
    /// 401 or 403: the origin refused the worker's signature or secret.
    Refused,
    /// Any other unexpected answer: 5xx, a redirect, a body that is not the
    /// one asked for, metadata that cannot be used.
    Error,
}

/// One request to the origin. `Debug` shows the method, the URL and the
/// header names, never a header's value (the signature, the secret).
#[derive(Clone, PartialEq, Eq)]
pub struct OriginRequest {
    /// `GET` or `HEAD`.
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// Abort when no response headers came within this many milliseconds.
    pub timeout_ms: u64,
}

impl fmt::Debug for OriginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("OriginRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &names)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host == "[::1]" || host.starts_with("127.")
}

/// `https://host[:port][/path]` → `scheme://host[:port][/path]` without a
/// trailing `/`; `http://` only for a loopback host.
fn http_base(url: &str) -> Result<String, OriginConfigError> {
    let (scheme, rest) = url.split_once("://").ok_or(OriginConfigError::Url)?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host =
        authority.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(authority, |(h, _)| h);
    let authority_ok = !host.is_empty()
        && authority.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    let path_ok =
        path.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.' | b'_' | b'~' | b'%'));
    let scheme_ok = match scheme {
        "https" => true,
        "http" => is_loopback(host),
        _ => false,
    };
    if !(authority_ok && path_ok && scheme_ok) || path.contains("//") {
        return Err(OriginConfigError::Url);
    }
    Ok(format!("{scheme}://{}{}", authority.to_ascii_lowercase(), path.trim_end_matches('/')))
}

impl Origin {
    /// `LINKGATE_ORIGIN` and its settings. `value` is the variable (None or
    /// empty or `r2`: no origin); `s3` is the parsed `LINKGATE_S3_*` settings
    /// when present; `get` reads the other variables.
    pub fn parse(
        value: Option<&str>,
        s3: Option<(&S3Location, &S3Credentials)>,
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Origin>, OriginConfigError> {
        let value = value.map(str::trim).unwrap_or("");
        let kind = match value {
            "" | "r2" => return Ok(None),
            "s3" => {
                let (location, credentials) = s3.ok_or(OriginConfigError::S3Settings)?;
                OriginKind::S3 { location: location.clone(), credentials: credentials.clone() }
            }
            url => {
                let base = http_base(url)?;
                let header = get("LINKGATE_ORIGIN_SECRET_HEADER").map(|h| h.trim().to_ascii_lowercase());
                let header = header
                    .filter(|h| {
                        !h.is_empty()
                            && h.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
                            && !RESERVED_HEADERS.contains(&h.as_str())
                    })
                    .ok_or(OriginConfigError::HeaderName)?;
                let secret = get("LINKGATE_ORIGIN_SECRET")
                    .filter(|s| s.len() >= MIN_ORIGIN_SECRET_BYTES && s.bytes().all(|b| (0x20..0x7f).contains(&b)))
                    .filter(|s| s.trim() == s)
                    .ok_or(OriginConfigError::Secret)?;
                OriginKind::Http { base, header, secret }
            }
        };
        let timeout_ms = match get("LINKGATE_ORIGIN_TIMEOUT_MS").map(|v| v.trim().to_owned()) {
            None => DEFAULT_ORIGIN_TIMEOUT_MS,
            Some(v) if v.is_empty() => DEFAULT_ORIGIN_TIMEOUT_MS,
            Some(v) => v.parse().map_err(|_| OriginConfigError::Timeout)?,
        };
        if !(1..=MAX_ORIGIN_TIMEOUT_MS).contains(&timeout_ms) {
            return Err(OriginConfigError::Timeout);
        }
        Ok(Some(Origin { kind, timeout_ms }))
    }

    /// `s3` or `http`, for logs.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            OriginKind::S3 { .. } => "s3",
            OriginKind::Http { .. } => "http",
        }
    }

    /// The request for an object `key` (no leading `/`): `HEAD` for its
    /// metadata, or `GET` of its bytes (`range` = `(offset, length)`).
    /// None only if S3 signing fails (a time past year 9999).
    pub fn request(&self, head: bool, key: &str, range: Option<(u64, u64)>, now: u64) -> Option<OriginRequest> {
        let range =
            range.map(|(offset, length)| format!("bytes={offset}-{}", offset.saturating_add(length).saturating_sub(1)));
        let (url, headers) = match &self.kind {
            OriginKind::S3 { location, credentials } => {
                let method = if head { PresignMethod::Head } else { PresignMethod::Get };
                let req = HeaderSignRequest { method, key, now, range: range.as_deref() };
                let signed = sign_headers(location, credentials, &req).ok()?;
                (signed.url, signed.headers.into_iter().map(|(n, v)| (n.to_owned(), v)).collect())
            }
            OriginKind::Http { base, header, secret } => {
                let mut headers = vec![(header.clone(), secret.clone())];
                if let Some(r) = range {
                    headers.push(("range".to_owned(), r));
                }
                (format!("{base}{}", encode_path(&format!("/{key}"))), headers)
            }
        };
        Some(OriginRequest { method: if head { "HEAD" } else { "GET" }, url, headers, timeout_ms: self.timeout_ms })
    }

    /// The metadata of a `HEAD` answer (`get` reads one of
    /// [`ORIGIN_RESPONSE_HEADERS`]): `Ok(None)` for 404/410 (not found).
    /// A 200 must give `Content-Length`, `ETag` and `Last-Modified`; the
    /// ETag is the object's version (edge cache key, resume, body check).
    pub fn head_meta(
        &self,
        status: u16,
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<ObjectMeta>, OriginFailure> {
        if let Some(f) = head_failure(status) {
            return Err(f);
        }
        if status != 200 {
            return Ok(None);
        }
        let size = get("content-length").and_then(|v| v.trim().parse::<u64>().ok()).ok_or(OriginFailure::Error)?;
        // A weak ETag cannot validate byte ranges (RFC 9110 §13.1.5).
        let etag = get("etag")
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty() && !e.starts_with("W/"))
            .ok_or(OriginFailure::Error)?;
        let uploaded = get("last-modified").and_then(|d| parse_http_date(d.trim())).ok_or(OriginFailure::Error)?;
        let classification_header = match self.kind {
            OriginKind::S3 { .. } => S3_CLASSIFICATION_HEADER,
            OriginKind::Http { .. } => HTTP_CLASSIFICATION_HEADER,
        };
        Ok(Some(ObjectMeta {
            size,
            version: etag.clone(),
            etag,
            uploaded,
            content_type: get("content-type").filter(|c| !c.trim().is_empty()),
            classification: get(classification_header).map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()),
        }))
    }
}

/// How a `HEAD` status fails, None when it is an answer: 200 (the object)
/// or 404/410 (no object). The edge logs these failures; [`Origin::head_meta`]
/// refuses with them.
pub fn head_failure(status: u16) -> Option<OriginFailure> {
    match status {
        200 | 404 | 410 => None,
        other => Some(failure_of(other)),
    }
}

fn failure_of(status: u16) -> OriginFailure {
    match status {
        401 | 403 => OriginFailure::Refused,
        _ => OriginFailure::Error,
    }
}

/// Whether the answer to a body `GET` is exactly what the plan's headers
/// describe: the same version (ETag), 206 with the asked range or 200 with
/// the whole length. Anything else is refused before a byte is sent: a 404
/// as [`DeliveryFailure::Missing`], another version or a 412 as
/// [`DeliveryFailure::Changed`], the rest as origin failures.
pub fn check_body(body: &ObjectBody, status: u16, get: &dyn Fn(&str) -> Option<String>) -> Result<(), DeliveryFailure> {
    match status {
        200 | 206 => {}
        404 | 410 => return Err(DeliveryFailure::Missing),
        412 => return Err(DeliveryFailure::Changed),
        other => return Err(DeliveryFailure::Origin(failure_of(other))),
    }
    let same_version = get("etag").is_some_and(|e| strong_etag(e.trim()) == strong_etag(&body.version));
    if !same_version {
        return Err(DeliveryFailure::Changed);
    }
    let length = get("content-length").and_then(|v| v.trim().parse::<u64>().ok());
    let exact = match body.range {
        None => status == 200 && length.is_none_or(|n| n == body.length),
        Some((offset, len)) => {
            let want = format!("bytes {offset}-{}/", offset.saturating_add(len).saturating_sub(1));
            status == 206
                && get("content-range").is_some_and(|r| r.trim().starts_with(&want))
                && length.is_none_or(|n| n == len)
        }
    };
    if exact {
        Ok(())
    } else {
        Err(DeliveryFailure::Origin(OriginFailure::Error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |k| m.get(k).cloned()
    }

    fn http_origin() -> Origin {
        let get = lookup(&[
            ("LINKGATE_ORIGIN_SECRET_HEADER", "X-Origin-Secret"),
            ("LINKGATE_ORIGIN_SECRET", "0123456789abcdef-secret"),
        ]);
        Origin::parse(Some("https://Internal.example/files/"), None, &get).unwrap().unwrap()
    }

    fn s3_origin() -> Origin {
        let loc = S3Location::path_style("http://127.0.0.1:9000", "us-east-1", "files").unwrap();
        let creds = S3Credentials::new("AKID", "s3-secret-value").unwrap();
        Origin::parse(Some("s3"), Some((&loc, &creds)), &lookup(&[])).unwrap().unwrap()
    }

    #[test]
    fn settings() {
        let none = lookup(&[]);
        assert_eq!(Origin::parse(None, None, &none), Ok(None));
        assert_eq!(Origin::parse(Some(" r2 "), None, &none), Ok(None));
        assert_eq!(Origin::parse(Some("s3"), None, &none), Err(OriginConfigError::S3Settings));
        let o = http_origin();
        assert_eq!(o.timeout_ms, DEFAULT_ORIGIN_TIMEOUT_MS);
        match &o.kind {
            OriginKind::Http { base, header, .. } => {
                assert_eq!((base.as_str(), header.as_str()), ("https://internal.example/files", "x-origin-secret"))
            }
            OriginKind::S3 { .. } => panic!("kind"),
        }
        let shown = format!("{o:?}");
        assert!(!shown.contains("0123456789abcdef-secret"), "{shown}");
        let good = [("LINKGATE_ORIGIN_SECRET_HEADER", "x-s"), ("LINKGATE_ORIGIN_SECRET", "0123456789abcdef")];
        for bad in
            ["ftp://h", "http://internal.example", "https://", "https://h/a b", "https://u@h", "https://h//x", "h"]
        {
            assert_eq!(Origin::parse(Some(bad), None, &lookup(&good)), Err(OriginConfigError::Url), "{bad}");
        }
        for ok in ["http://127.0.0.1:8080", "http://localhost/x", "https://h:8443/a/b"] {
            assert!(Origin::parse(Some(ok), None, &lookup(&good)).is_ok(), "{ok}");
        }
        for bad_header in ["", "Range", "cookie", "x y", "host"] {
            let get = lookup(&[
                ("LINKGATE_ORIGIN_SECRET_HEADER", bad_header),
                ("LINKGATE_ORIGIN_SECRET", "0123456789abcdef"),
            ]);
            assert_eq!(
                Origin::parse(Some("https://h"), None, &get),
                Err(OriginConfigError::HeaderName),
                "{bad_header}"
            );
        }
        for bad_secret in ["short", " 0123456789abcdef", "0123456789abcdef\u{e9}"] {
            let get = lookup(&[("LINKGATE_ORIGIN_SECRET_HEADER", "x-s"), ("LINKGATE_ORIGIN_SECRET", bad_secret)]);
            assert_eq!(Origin::parse(Some("https://h"), None, &get), Err(OriginConfigError::Secret), "{bad_secret}");
        }
        let get = lookup(&[("LINKGATE_ORIGIN_TIMEOUT_MS", "0")]);
        assert_eq!(
            Origin::parse(Some("s3"), s3_parts().as_ref().map(|(l, c)| (l, c)), &get),
            Err(OriginConfigError::Timeout)
        );
        let get = lookup(&[("LINKGATE_ORIGIN_TIMEOUT_MS", "250")]);
        let o = Origin::parse(Some("s3"), s3_parts().as_ref().map(|(l, c)| (l, c)), &get).unwrap().unwrap();
        assert_eq!((o.timeout_ms, o.kind_name()), (250, "s3"));
    }

    fn s3_parts() -> Option<(S3Location, S3Credentials)> {
        Some((
            S3Location::path_style("http://127.0.0.1:9000", "us-east-1", "files").unwrap(),
            S3Credentials::new("AKID", "s3-secret-value").unwrap(),
        ))
    }

    #[test]
    fn requests_carry_only_the_key_range_and_credentials() {
        let o = http_origin();
        let r = o.request(false, "a/b c+ü.pdf", Some((10, 5)), 0).unwrap();
        assert_eq!((r.method, r.url.as_str()), ("GET", "https://internal.example/files/a/b%20c%2B%C3%BC.pdf"));
        assert_eq!(
            r.headers,
            vec![
                ("x-origin-secret".to_owned(), "0123456789abcdef-secret".to_owned()),
                ("range".to_owned(), "bytes=10-14".to_owned())
            ]
        );
        assert!(!format!("{r:?}").contains("0123456789abcdef-secret"));
        let h = o.request(true, "k", None, 0).unwrap();
        assert_eq!((h.method, h.headers.len()), ("HEAD", 1));

        let s3 = s3_origin();
        let r = s3.request(false, "dir/k.bin", Some((0, 1)), 1_369_353_600).unwrap();
        assert_eq!(r.url, "http://127.0.0.1:9000/files/dir/k.bin");
        let names: Vec<&str> = r.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["authorization", "range", "x-amz-content-sha256", "x-amz-date"]);
        assert!(r.headers[0].1.contains("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date"));
        assert!(!format!("{r:?}").contains("Signature="));
        assert_eq!(s3.request(true, "k", None, 253_402_300_800), None, "past year 9999");
    }

    #[test]
    fn head_answers_map_to_metadata_or_fail_closed() {
        let o = s3_origin();
        let full = [
            ("content-length", "25165824"),
            ("etag", "\"abc\""),
            ("last-modified", "Wed, 21 Oct 2015 07:28:00 GMT"),
            ("content-type", "application/pdf"),
            ("x-amz-meta-classification", "confidential"),
            ("x-linkgate-classification", "public"),
        ];
        let meta = o.head_meta(200, &lookup(&full)).unwrap().unwrap();
        assert_eq!(meta.size, 25_165_824);
        assert_eq!((meta.etag.as_str(), meta.version.as_str()), ("\"abc\"", "\"abc\""));
        assert_eq!(meta.uploaded, 1_445_412_480);
        assert_eq!(meta.classification.as_deref(), Some("confidential"), "S3 reads its user metadata");
        let meta = http_origin().head_meta(200, &lookup(&full)).unwrap().unwrap();
        assert_eq!(meta.classification.as_deref(), Some("public"), "plain origins send x-linkgate-classification");
        assert_eq!(o.head_meta(404, &lookup(&[])), Ok(None));
        // What the edge logs as a failure is exactly what head_meta refuses.
        for status in [200, 204, 206, 301, 304, 401, 403, 404, 410, 412, 429, 500, 503] {
            assert_eq!(head_failure(status), o.head_meta(status, &lookup(&full)).err(), "{status}");
        }
        assert_eq!(o.head_meta(403, &lookup(&full)), Err(OriginFailure::Refused));
        assert_eq!(o.head_meta(401, &lookup(&full)), Err(OriginFailure::Refused));
        for status in [500, 502, 503, 301, 302, 206, 304] {
            assert_eq!(o.head_meta(status, &lookup(&full)), Err(OriginFailure::Error), "{status}");
        }
        let weak: Vec<(&str, &str)> =
            full.iter().copied().map(|(n, v)| if n == "etag" { (n, "W/\"abc\"") } else { (n, v) }).collect();
        assert_eq!(o.head_meta(200, &lookup(&weak)), Err(OriginFailure::Error), "weak ETag");
        for missing in ["content-length", "etag", "last-modified"] {
            let some: Vec<(&str, &str)> = full.iter().copied().filter(|(n, _)| *n != missing).collect();
            assert_eq!(o.head_meta(200, &lookup(&some)), Err(OriginFailure::Error), "{missing}");
        }
    }

    #[test]
    fn a_body_is_sent_only_when_it_is_exactly_the_planned_one() {
        let body = |range| ObjectBody {
            rewrite: None,
            key: "k".to_owned(),
            range,
            length: range.map_or(100, |(_, l)| l),
            version: "\"v1\"".to_owned(),
            reuse_fetched: false,
            edge_cache: None,
            origin: None,
        };
        let full = body(None);
        assert_eq!(check_body(&full, 200, &lookup(&[("etag", "\"v1\""), ("content-length", "100")])), Ok(()));
        assert_eq!(check_body(&full, 200, &lookup(&[("etag", "W/\"v1\"")])), Err(DeliveryFailure::Changed));
        assert_eq!(check_body(&full, 200, &lookup(&[("etag", "\"v2\"")])), Err(DeliveryFailure::Changed));
        assert_eq!(check_body(&full, 200, &lookup(&[])), Err(DeliveryFailure::Changed));
        assert_eq!(
            check_body(&full, 200, &lookup(&[("etag", "\"v1\""), ("content-length", "99")])),
            Err(DeliveryFailure::Origin(OriginFailure::Error))
        );
        assert_eq!(
            check_body(&full, 206, &lookup(&[("etag", "\"v1\"")])),
            Err(DeliveryFailure::Origin(OriginFailure::Error))
        );
        let part = body(Some((10, 5)));
        let ok = [("etag", "\"v1\""), ("content-range", "bytes 10-14/100"), ("content-length", "5")];
        assert_eq!(check_body(&part, 206, &lookup(&ok)), Ok(()));
        let wrong = [("etag", "\"v1\""), ("content-range", "bytes 0-99/100")];
        assert_eq!(check_body(&part, 206, &lookup(&wrong)), Err(DeliveryFailure::Origin(OriginFailure::Error)));
        assert_eq!(check_body(&part, 200, &lookup(&ok)), Err(DeliveryFailure::Origin(OriginFailure::Error)));
        assert_eq!(check_body(&part, 404, &lookup(&[])), Err(DeliveryFailure::Missing));
        assert_eq!(check_body(&part, 412, &lookup(&[])), Err(DeliveryFailure::Changed));
        assert_eq!(check_body(&part, 403, &lookup(&[])), Err(DeliveryFailure::Origin(OriginFailure::Refused)));
        assert_eq!(check_body(&part, 503, &lookup(&[])), Err(DeliveryFailure::Origin(OriginFailure::Error)));
    }
}

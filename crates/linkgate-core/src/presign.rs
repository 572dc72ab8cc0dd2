//! AWS Signature Version 4 for S3-compatible storage (R2's S3 API, AWS S3,
//! MinIO, moto …), in both of its forms: query presigning ([`presign`], the
//! URL a `redirect` delivery sends the client to) and `Authorization` header
//! signing ([`sign_headers`], the worker's own requests to a private S3
//! origin). Both share the path encoding, the credential scope and the key
//! derivation. No I/O and no clock: the signing time is a parameter.
//!
//! What is signed (the S3 flavour of SigV4, as AWS documents for query
//! authentication):
//!
//! - method `GET` or `HEAD`; the path `/<bucket>/<key>` (path style) or
//!   `/<key>` (a bucket in the host), every byte but the unreserved ones and
//!   `/` percent-encoded once (S3 does not double-encode);
//! - the query: `response-content-disposition` and `response-content-type`
//!   when given, `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
//!   `X-Amz-Expires` and `X-Amz-SignedHeaders=host`, sorted by name, names and
//!   values percent-encoded (everything but `A-Z a-z 0-9 - . _ ~`);
//! - one signed header, `host` (with the port when it is not the scheme's
//!   default);
//! - the payload hash `UNSIGNED-PAYLOAD`.
//!
//! The URL's query carries the same pairs in the order botocore writes them
//! (response overrides first, then the `X-Amz-*` ones, the signature last),
//! so the vectors in `tests/vectors/presign.json` compare byte for byte.
//! The secret key never leaves this module and [`S3Credentials`]' `Debug`
//! does not print it.

use core::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::http::civil_from_days;

/// Longest `X-Amz-Expires` S3 (and R2) accept: 7 days.
pub const MAX_EXPIRES_SECS: u64 = 7 * 86_400;

/// The region R2 expects.
pub const R2_REGION: &str = "auto";

/// An access key pair. `Debug` shows the key id, never the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Credentials {
    access_key_id: String,
    secret_access_key: String,
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

impl S3Credentials {
    /// Both parts must be non-empty printable ASCII without spaces (what AWS
    /// and R2 issue); the key id goes into the URL.
    pub fn new(access_key_id: &str, secret_access_key: &str) -> Result<S3Credentials, PresignConfigError> {
        let printable = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
        if !printable(access_key_id) {
            return Err(PresignConfigError::AccessKeyId);
        }
        if !printable(secret_access_key) {
            return Err(PresignConfigError::SecretAccessKey);
        }
        Ok(S3Credentials { access_key_id: access_key_id.to_owned(), secret_access_key: secret_access_key.to_owned() })
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
}

/// Where objects live: an endpoint, a region and (path style) a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// `https` or `http`.
    scheme: &'static str,
    /// `host[:port]`, lowercase, the port only when it is not the scheme's default.
    authority: String,
    region: String,
    /// Path style: `/<bucket>/<key>`. None: the bucket is in the host.
    bucket: Option<String>,
}

/// Why a presigning setting was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresignConfigError {
    /// The endpoint is not `https://host[:port]` or `http://host[:port]`.
    Endpoint,
    /// The region is empty or not `[a-z0-9-]`.
    Region,
    /// The bucket name is not 3–63 of `[a-z0-9.-]` (S3's rule; R2's is stricter).
    Bucket,
    /// An R2 account id is 32 lowercase hex digits.
    Account,
    AccessKeyId,
    SecretAccessKey,
}

impl PresignConfigError {
    /// A stable code for logs and tests.
    pub fn as_str(self) -> &'static str {
        match self {
            PresignConfigError::Endpoint => "s3_endpoint",
            PresignConfigError::Region => "s3_region",
            PresignConfigError::Bucket => "s3_bucket",
            PresignConfigError::Account => "r2_account_id",
            PresignConfigError::AccessKeyId => "s3_access_key_id",
            PresignConfigError::SecretAccessKey => "s3_secret_access_key",
        }
    }
}

impl fmt::Display for PresignConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PresignConfigError::Endpoint => {
                "LINKGATE_S3_ENDPOINT must be https://host[:port] (or http:// for a loopback test server), no path"
            }
            PresignConfigError::Region => "LINKGATE_S3_REGION must be a region name such as auto or us-east-1",
            PresignConfigError::Bucket => "LINKGATE_S3_BUCKET must be a bucket name (3-63 of a-z 0-9 . -)",
            PresignConfigError::Account => {
                "LINKGATE_R2_ACCOUNT_ID must be the 32 hex digits of a Cloudflare account id"
            }
            PresignConfigError::AccessKeyId => "LINKGATE_S3_ACCESS_KEY_ID must be printable ASCII without spaces",
            PresignConfigError::SecretAccessKey => {
                "LINKGATE_S3_SECRET_ACCESS_KEY must be printable ASCII without spaces"
            }
        })
    }
}

fn valid_bucket(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
}

impl S3Location {
    /// An S3-compatible endpoint (`https://s3.example.com`,
    /// `http://127.0.0.1:9000`), path style. A default port is dropped, as
    /// the `host` header signers send has it.
    pub fn path_style(endpoint: &str, region: &str, bucket: &str) -> Result<S3Location, PresignConfigError> {
        if !valid_bucket(bucket) {
            return Err(PresignConfigError::Bucket);
        }
        let mut loc = S3Location::virtual_hosted(endpoint, region)?;
        loc.bucket = Some(bucket.to_owned());
        Ok(loc)
    }

    /// R2: `https://<account>.r2.cloudflarestorage.com/<bucket>/…`, region `auto`.
    pub fn r2(account_id: &str, bucket: &str) -> Result<S3Location, PresignConfigError> {
        if account_id.len() != 32 || !account_id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(PresignConfigError::Account);
        }
        S3Location::path_style(&format!("https://{account_id}.r2.cloudflarestorage.com"), R2_REGION, bucket)
    }

    /// An endpoint whose host already names the bucket
    /// (`https://examplebucket.s3.amazonaws.com`): keys go right after `/`.
    pub fn virtual_hosted(endpoint: &str, region: &str) -> Result<S3Location, PresignConfigError> {
        let base = super::mint::link_base(endpoint.trim(), None).map_err(|_| PresignConfigError::Endpoint)?;
        let (scheme, authority) = match base.split_once("://") {
            Some(("https", a)) => ("https", a),
            Some(("http", a)) => ("http", a),
            _ => return Err(PresignConfigError::Endpoint),
        };
        let default_port = if scheme == "https" { ":443" } else { ":80" };
        let authority = authority.strip_suffix(default_port).unwrap_or(authority).to_owned();
        if region.is_empty()
            || region.len() > 32
            || !region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(PresignConfigError::Region);
        }
        Ok(S3Location { scheme, authority, region: region.to_owned(), bucket: None })
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn bucket(&self) -> Option<&str> {
        self.bucket.as_deref()
    }

    /// `scheme://authority`, for docs and logs (no credentials in it).
    pub fn endpoint(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }
}

/// The method a presigned URL is good for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresignMethod {
    Get,
    Head,
}

impl PresignMethod {
    fn as_str(self) -> &'static str {
        match self {
            PresignMethod::Get => "GET",
            PresignMethod::Head => "HEAD",
        }
    }
}

/// One URL to presign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresignRequest<'a> {
    pub method: PresignMethod,
    /// The object key (no leading `/`), raw: it is encoded here.
    pub key: &'a str,
    /// Signing time, Unix seconds.
    pub now: u64,
    /// `X-Amz-Expires`, 1..=[`MAX_EXPIRES_SECS`].
    pub expires_secs: u64,
    /// `response-content-disposition` (the storage answers with it), e.g.
    /// [`super::http::content_disposition`]'s value.
    pub content_disposition: Option<&'a str>,
    /// `response-content-type`.
    pub content_type: Option<&'a str>,
}

/// Why a URL could not be presigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresignError {
    /// `expires_secs` is 0 or more than 7 days.
    Expires,
    /// The key is empty.
    EmptyKey,
    /// The time is past year 9999 (no `X-Amz-Date` for it).
    Time,
}

impl fmt::Display for PresignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PresignError::Expires => "X-Amz-Expires must be 1 s to 7 days",
            PresignError::EmptyKey => "empty object key",
            PresignError::Time => "signing time out of range",
        })
    }
}

/// Percent-encode for SigV4: every byte but `A-Z a-z 0-9 - . _ ~` (and `/`
/// when `keep_slash`, for the path) as `%XX`, uppercase.
fn uri_encode(out: &mut String, s: &str, keep_slash: bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0')));
            out.push(char::from(HEX.get(usize::from(b & 0x0F)).copied().unwrap_or(b'0')));
        }
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length; the error arm cannot happen.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else { return [0; 32] };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// `(YYYYMMDD, YYYYMMDDTHHMMSSZ)` of Unix seconds.
fn amz_dates(now: u64) -> Result<(String, String), PresignError> {
    let (y, m, d) = civil_from_days(now / 86_400);
    if y > 9999 {
        return Err(PresignError::Time);
    }
    let rem = now % 86_400;
    let date = format!("{y:04}{m:02}{d:02}");
    let stamp = format!("{date}T{:02}{:02}{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60);
    Ok((date, stamp))
}

/// `/<bucket>/<key>` (path style) or `/<key>`, encoded once (S3 does not
/// double-encode): the URL's path and the canonical URI, shared by both
/// signing forms.
fn canonical_uri(loc: &S3Location, key: &str) -> String {
    let mut path = String::with_capacity(key.len().saturating_mul(3).saturating_add(72));
    path.push('/');
    if let Some(bucket) = &loc.bucket {
        uri_encode(&mut path, bucket, false);
        path.push('/');
    }
    uri_encode(&mut path, key, true);
    path
}

/// The SigV4 signature of a canonical request: the string to sign
/// (algorithm, time, scope, hash of the canonical request) under the key
/// derived from the secret, the date, the region and `s3`.
fn signature(creds: &S3Credentials, loc: &S3Location, date: &str, stamp: &str, canonical_request: &str) -> String {
    let scope = credential_scope(loc, date);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
        crate::hex::lower(&Sha256::digest(canonical_request.as_bytes()))
    );
    let mut k = hmac(format!("AWS4{}", creds.secret_access_key).as_bytes(), date.as_bytes());
    k = hmac(&k, loc.region.as_bytes());
    k = hmac(&k, b"s3");
    k = hmac(&k, b"aws4_request");
    crate::hex::lower(&hmac(&k, string_to_sign.as_bytes()))
}

fn credential_scope(loc: &S3Location, date: &str) -> String {
    format!("{date}/{}/s3/aws4_request", loc.region)
}

/// The presigned URL.
pub fn presign(loc: &S3Location, creds: &S3Credentials, req: &PresignRequest<'_>) -> Result<String, PresignError> {
    if req.expires_secs == 0 || req.expires_secs > MAX_EXPIRES_SECS {
        return Err(PresignError::Expires);
    }
    if req.key.is_empty() {
        return Err(PresignError::EmptyKey);
    }
    let (date, stamp) = amz_dates(req.now)?;
    let scope = credential_scope(loc, &date);
    let path = canonical_uri(loc, req.key);

    // Name and encoded value of each query parameter, in the URL's order:
    // the response overrides, then the X-Amz-* ones (botocore's order).
    let encoded = |v: &str| {
        let mut out = String::with_capacity(v.len().saturating_mul(3));
        uri_encode(&mut out, v, false);
        out
    };
    let mut params: Vec<(&str, String)> = Vec::with_capacity(7);
    if let Some(v) = req.content_disposition {
        params.push(("response-content-disposition", encoded(v)));
    }
    if let Some(v) = req.content_type {
        params.push(("response-content-type", encoded(v)));
    }
    params.push(("X-Amz-Algorithm", "AWS4-HMAC-SHA256".to_owned()));
    params.push(("X-Amz-Credential", encoded(&format!("{}/{scope}", creds.access_key_id))));
    params.push(("X-Amz-Date", stamp.clone()));
    params.push(("X-Amz-Expires", req.expires_secs.to_string()));
    params.push(("X-Amz-SignedHeaders", "host".to_owned()));
    let join = |params: &[(&str, String)]| {
        let mut q = String::with_capacity(512);
        for (name, value) in params {
            if !q.is_empty() {
                q.push('&');
            }
            q.push_str(name);
            q.push('=');
            q.push_str(value);
        }
        q
    };
    let query = join(&params);
    // The canonical query is sorted by name, byte-wise (`X-Amz-*` before
    // `response-*`); names are distinct, so values never decide.
    crate::small_sort::sort_by_key(&mut params, |p| p.0);
    let canonical_query = join(&params);

    let canonical_request =
        format!("{}\n{path}\n{canonical_query}\nhost:{}\n\nhost\nUNSIGNED-PAYLOAD", req.method.as_str(), loc.authority);
    let signature = signature(creds, loc, &date, &stamp, &canonical_request);
    Ok(format!("{}://{}{path}?{query}&X-Amz-Signature={signature}", loc.scheme, loc.authority))
}

/// SHA-256 of an empty payload: what a signed `GET`/`HEAD` (no body) sends
/// as `x-amz-content-sha256` (AWS's header-signing example does the same;
/// every S3-compatible server accepts it, unlike `UNSIGNED-PAYLOAD` on some).
pub const EMPTY_PAYLOAD_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// One request to sign with an `Authorization` header (the private-origin
/// fetches: the worker itself talks to the storage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderSignRequest<'a> {
    pub method: PresignMethod,
    /// The object key (no leading `/`), raw: it is encoded here.
    pub key: &'a str,
    /// Signing time, Unix seconds.
    pub now: u64,
    /// A `Range` header value to send (and sign), e.g. `bytes=0-9`.
    pub range: Option<&'a str>,
}

/// A request signed with SigV4 headers: the URL and every header to send
/// (the runtime adds `host` from the URL, exactly as signed). `Debug` shows
/// the URL and the header names, never the `Authorization` value.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub url: String,
    /// Lowercase names: `authorization`, `range` (when asked),
    /// `x-amz-content-sha256`, `x-amz-date`.
    pub headers: Vec<(&'static str, String)>,
}

impl fmt::Debug for SignedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| *n).collect();
        f.debug_struct("SignedRequest").field("url", &self.url).field("headers", &names).finish()
    }
}

/// The `Authorization` value separates its parts with `, ` as botocore
/// writes it (AWS's documentation shows `,`; S3 accepts both), so
/// `tests/vectors/sign_headers.json` compares byte for byte.
///
/// Sign a `GET`/`HEAD` with an `Authorization` header (AWS's "Authenticating
/// Requests: Using the Authorization Header", single chunk, empty payload).
/// Signed headers: `host`, `range` when given, `x-amz-content-sha256`,
/// `x-amz-date`, sorted by name; a header value's runs of whitespace are one
/// space and its ends trimmed, as SigV4 canonicalizes them.
pub fn sign_headers(
    loc: &S3Location,
    creds: &S3Credentials,
    req: &HeaderSignRequest<'_>,
) -> Result<SignedRequest, PresignError> {
    if req.key.is_empty() {
        return Err(PresignError::EmptyKey);
    }
    let (date, stamp) = amz_dates(req.now)?;
    let path = canonical_uri(loc, req.key);
    let range = req.range.map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "));
    let mut canonical_headers = format!("host:{}\n", loc.authority);
    let mut signed = String::from("host");
    if let Some(r) = &range {
        canonical_headers.push_str(&format!("range:{r}\n"));
        signed.push_str(";range");
    }
    canonical_headers.push_str(&format!("x-amz-content-sha256:{EMPTY_PAYLOAD_SHA256}\nx-amz-date:{stamp}\n"));
    signed.push_str(";x-amz-content-sha256;x-amz-date");
    let canonical_request =
        format!("{}\n{path}\n\n{canonical_headers}\n{signed}\n{EMPTY_PAYLOAD_SHA256}", req.method.as_str());
    let signature = signature(creds, loc, &date, &stamp, &canonical_request);
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={signed}, Signature={signature}",
        creds.access_key_id,
        credential_scope(loc, &date)
    );
    let mut headers = vec![("authorization", authorization)];
    if let Some(r) = range {
        headers.push(("range", r));
    }
    headers.push(("x-amz-content-sha256", EMPTY_PAYLOAD_SHA256.to_owned()));
    headers.push(("x-amz-date", stamp));
    Ok(SignedRequest { url: format!("{}://{}{path}", loc.scheme, loc.authority), headers })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published example of query-string authentication (S3 API
    /// reference, "Authenticating Requests: Using Query Parameters").
    #[test]
    fn aws_published_example() {
        let loc = S3Location::virtual_hosted("https://examplebucket.s3.amazonaws.com", "us-east-1").unwrap();
        let creds = S3Credentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY").unwrap();
        // 2013-05-24T00:00:00Z
        let req = PresignRequest {
            method: PresignMethod::Get,
            key: "test.txt",
            now: 1_369_353_600,
            expires_secs: 86_400,
            content_disposition: None,
            content_type: None,
        };
        let url = presign(&loc, &creds, &req).unwrap();
        assert_eq!(
            url,
            "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
        // Any change to what is signed changes the signature.
        let other = presign(&loc, &creds, &PresignRequest { method: PresignMethod::Head, ..req }).unwrap();
        assert!(!other.ends_with("aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"));
        let other = presign(&loc, &creds, &PresignRequest { expires_secs: 86_399, ..req }).unwrap();
        assert!(!other.ends_with("aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"));
    }

    /// AWS's published example of header signing, "GET Object" (S3 API
    /// reference, "Signature Calculations for the Authorization Header:
    /// Transferring Payload in a Single Chunk"): `GET /test.txt` with
    /// `Range: bytes=0-9`, 2013-05-24T00:00:00Z.
    #[test]
    fn aws_published_header_example() {
        let loc = S3Location::virtual_hosted("https://examplebucket.s3.amazonaws.com", "us-east-1").unwrap();
        let creds = S3Credentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY").unwrap();
        let req = HeaderSignRequest {
            method: PresignMethod::Get,
            key: "test.txt",
            now: 1_369_353_600,
            range: Some("bytes=0-9"),
        };
        let signed = sign_headers(&loc, &creds, &req).unwrap();
        assert_eq!(signed.url, "https://examplebucket.s3.amazonaws.com/test.txt");
        let auth = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
                    SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
                    Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
        assert_eq!(
            signed.headers,
            vec![
                ("authorization", auth.to_owned()),
                ("range", "bytes=0-9".to_owned()),
                ("x-amz-content-sha256", EMPTY_PAYLOAD_SHA256.to_owned()),
                ("x-amz-date", "20130524T000000Z".to_owned()),
            ]
        );
        // Any change to what is signed changes the signature.
        for other in [
            HeaderSignRequest { range: Some("bytes=0-10"), ..req },
            HeaderSignRequest { range: None, ..req },
            HeaderSignRequest { method: PresignMethod::Head, ..req },
            HeaderSignRequest { now: req.now + 1, ..req },
        ] {
            let a = &sign_headers(&loc, &creds, &other).unwrap().headers[0].1;
            assert!(!a.ends_with("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"), "{other:?}");
        }
        // Debug never shows the signature.
        assert!(!format!("{signed:?}").contains("f0e8bdb8"));
        assert_eq!(sign_headers(&loc, &creds, &HeaderSignRequest { key: "", ..req }), Err(PresignError::EmptyKey));
    }

    #[test]
    fn secrets_never_print() {
        let creds = S3Credentials::new("AKID", "very-secret-value").unwrap();
        let shown = format!("{creds:?}");
        assert!(shown.contains("AKID") && !shown.contains("very-secret-value"), "{shown}");
    }

    #[test]
    fn limits_and_settings() {
        let loc = S3Location::path_style("http://127.0.0.1:9000", "auto", "files").unwrap();
        let creds = S3Credentials::new("a", "b").unwrap();
        let req = |expires_secs, key| PresignRequest {
            method: PresignMethod::Get,
            key,
            now: 0,
            expires_secs,
            content_disposition: None,
            content_type: None,
        };
        assert_eq!(presign(&loc, &creds, &req(0, "k")), Err(PresignError::Expires));
        assert_eq!(presign(&loc, &creds, &req(MAX_EXPIRES_SECS + 1, "k")), Err(PresignError::Expires));
        assert_eq!(presign(&loc, &creds, &req(60, "")), Err(PresignError::EmptyKey));
        assert!(presign(&loc, &creds, &req(MAX_EXPIRES_SECS, "k"))
            .unwrap()
            .starts_with("http://127.0.0.1:9000/files/k?X-Amz-Algorithm="));
        let far = PresignRequest { now: 253_402_300_800, ..req(60, "k") };
        assert_eq!(presign(&loc, &creds, &far), Err(PresignError::Time));

        assert_eq!(
            S3Location::path_style("https://s3.example.com:443/", "auto", "b1b").unwrap().authority,
            "s3.example.com"
        );
        assert_eq!(S3Location::path_style("http://h:80", "auto", "b1b").unwrap().authority, "h");
        assert_eq!(
            S3Location::path_style("https://S3.Example.com:8443", "auto", "b1b").unwrap().authority,
            "s3.example.com:8443"
        );
        for bad in ["s3.example.com", "https://s3.example.com/base", "ftp://h", "https://"] {
            assert_eq!(S3Location::path_style(bad, "auto", "bucket"), Err(PresignConfigError::Endpoint), "{bad}");
        }
        assert_eq!(S3Location::path_style("https://h", "", "bucket"), Err(PresignConfigError::Region));
        assert_eq!(S3Location::path_style("https://h", "US-EAST-1", "bucket"), Err(PresignConfigError::Region));
        for bad in ["ab", "Bucket", "b/c", &"b".repeat(64)] {
            assert_eq!(S3Location::path_style("https://h", "auto", bad), Err(PresignConfigError::Bucket), "{bad}");
        }
        let r2 = S3Location::r2("0123456789abcdef0123456789abcdef", "files").unwrap();
        assert_eq!(r2.endpoint(), "https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com");
        assert_eq!((r2.region(), r2.bucket()), ("auto", Some("files")));
        assert_eq!(S3Location::r2("acct", "files"), Err(PresignConfigError::Account));
        assert_eq!(S3Credentials::new("", "s"), Err(PresignConfigError::AccessKeyId));
        assert_eq!(S3Credentials::new("a", "s s"), Err(PresignConfigError::SecretAccessKey));
    }
}

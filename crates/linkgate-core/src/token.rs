//! Link format v1: claims, their binary encoding, signing and decoding.
//!
//! The byte-exact specification is `docs/link-format.md`. In short:
//!
//! ```text
//! payload = 0x01 (version) || field*      fields in strictly ascending tag order
//! field   = tag:u8 || len:u16be || value
//! tag     = HMAC-SHA256(key, "linkgate-link-v1" || 0x00 || payload)   (32 bytes)
//! token   = base64url-nopad(payload || tag)
//! ```
//!
//! Decoding accepts exactly the bytes that encoding produces: unknown tags,
//! out-of-order or duplicate fields, trailing bytes, non-canonical values and
//! non-canonical base64 are all refused, so a claim set has one token per key.

use core::fmt;
use core::num::NonZeroU32;

use hmac::Mac;

use super::b64;
use super::ip::Cidr;
use super::keys::{Key, KeyId};
use super::path::{CanonicalPath, Scope};

/// The only format version this code reads or writes.
pub const VERSION: u8 = 1;
/// Domain-separation label for link tags (other token kinds use other labels).
pub const LINK_DOMAIN: &[u8] = b"linkgate-link-v1\0";
/// Label for download-session tokens (the short-lived, client-bound URL a
/// consumed bounded-use link redirects to). Same payload format, other
/// label: a session token never verifies as a link, nor a link as a session.
pub const SESSION_DOMAIN: &[u8] = b"linkgate-session-v1\0";
/// Label for media-session tokens (the `lgm` cookie a prefix link opens for
/// a player, `docs/edge.md`): a media session is neither a link nor a
/// download session, so neither can be replayed as it.
pub const MEDIA_DOMAIN: &[u8] = b"linkgate-media-v1\0";

/// Which kind of token a tag is computed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// A download link (`lg=`).
    Link,
    /// A download session (`lgs=`).
    Session,
    /// A media session (the `lgm` cookie).
    Media,
}

impl Domain {
    /// The signing-input label.
    pub const fn label(self) -> &'static [u8] {
        match self {
            Domain::Link => LINK_DOMAIN,
            Domain::Session => SESSION_DOMAIN,
            Domain::Media => MEDIA_DOMAIN,
        }
    }
}
/// Tag length: the full HMAC-SHA256 output.
pub const TAG_BYTES: usize = 32;
/// Longest payload accepted, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 2048;
/// Longest token text accepted; anything longer is refused before decoding.
pub const MAX_TOKEN_CHARS: usize = b64::encoded_len(MAX_PAYLOAD_BYTES + TAG_BYTES);
/// Most CIDRs in one `ip` claim.
pub const MAX_CIDRS: usize = 16;
/// Longest `sub` / `tenant` value.
pub const MAX_LABEL_BYTES: usize = 128;
/// Longest filename.
pub const MAX_FILENAME_BYTES: usize = 255;
/// Longest content type.
pub const MAX_CONTENT_TYPE_BYTES: usize = 127;
/// Longest host.
pub const MAX_HOST_BYTES: usize = 253 + 6;

/// Field tags, in the order they must appear.
pub mod tag {
    pub const KID: u8 = 0x01;
    pub const JTI: u8 = 0x02;
    pub const IAT: u8 = 0x03;
    pub const EXP: u8 = 0x04;
    pub const NBF: u8 = 0x05;
    pub const SCOPE: u8 = 0x06;
    pub const HOST: u8 = 0x07;
    pub const SUB: u8 = 0x08;
    pub const TENANT: u8 = 0x09;
    pub const IP: u8 = 0x0A;
    pub const USES: u8 = 0x0B;
    pub const MODE: u8 = 0x0C;
    pub const FILENAME: u8 = 0x0D;
    pub const CONTENT_TYPE: u8 = 0x0E;
}

/// A token id: 128 random bits, shown as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Jti(pub [u8; 16]);

impl Jti {
    /// Parse 32 hex digits (either case).
    pub fn parse_hex(s: &str) -> Option<Jti> {
        if s.len() != 32 {
            return None;
        }
        let mut out = [0u8; 16];
        for (o, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
            let hi = char::from(*pair.first()?).to_digit(16)?;
            let lo = char::from(*pair.get(1)?).to_digit(16)?;
            *o = u8::try_from(hi * 16 + lo).ok()?;
        }
        Some(Jti(out))
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        crate::hex::lower(&self.0)
    }
}

impl fmt::Debug for Jti {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Jti({})", self.to_hex())
    }
}

impl fmt::Display for Jti {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// How the file is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Streamed through the worker (default).
    Stream,
    /// 302 to a seconds-long presigned URL.
    Redirect,
}

impl Mode {
    /// Wire byte.
    pub const fn to_byte(self) -> u8 {
        match self {
            Mode::Stream => 1,
            Mode::Redirect => 2,
        }
    }

    /// From the wire byte.
    pub const fn from_byte(b: u8) -> Option<Mode> {
        match b {
            1 => Some(Mode::Stream),
            2 => Some(Mode::Redirect),
            _ => None,
        }
    }

    /// `stream` or `redirect`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::Stream => "stream",
            Mode::Redirect => "redirect",
        }
    }

    /// From `stream` or `redirect`.
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "stream" => Some(Mode::Stream),
            "redirect" => Some(Mode::Redirect),
            _ => None,
        }
    }
}

/// Which text claim a [`ClaimError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Kid,
    Jti,
    Iat,
    Exp,
    Nbf,
    Scope,
    Host,
    Sub,
    Tenant,
    Ip,
    Uses,
    Mode,
    Filename,
    ContentType,
}

impl Field {
    /// The claim's name in the contract.
    pub const fn as_str(self) -> &'static str {
        match self {
            Field::Kid => "kid",
            Field::Jti => "jti",
            Field::Iat => "iat",
            Field::Exp => "exp",
            Field::Nbf => "nbf",
            Field::Scope => "scope",
            Field::Host => "host",
            Field::Sub => "sub",
            Field::Tenant => "tenant",
            Field::Ip => "ip",
            Field::Uses => "uses",
            Field::Mode => "mode",
            Field::Filename => "filename",
            Field::ContentType => "content_type",
        }
    }
}

/// A claim value that cannot be signed or was decoded invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimError {
    /// The offending claim.
    pub field: Field,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for ClaimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field.as_str(), self.reason)
    }
}

impl std::error::Error for ClaimError {}

/// A claim error for other modules of the core (Ed25519 signing, native only).
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub(crate) fn claim_error(field: Field, reason: &'static str) -> ClaimError {
    err(field, reason)
}

fn err(field: Field, reason: &'static str) -> ClaimError {
    ClaimError { field, reason }
}

/// Which ASCII claims admit a byte: one table lookup per byte instead of a
/// chain of range checks (claims are checked on every request).
const LABEL_BYTE: u8 = 1;
const HOST_BYTE: u8 = 2;
#[expect(
    clippy::indexing_slicing,
    reason = "evaluated at compile time: an index out of range fails the build, never a request"
)]
const CLAIM_BYTES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0x21;
    while b < 0x7F {
        t[b] = LABEL_BYTE;
        let host = (b >= b'a' as usize && b <= b'z' as usize)
            || (b >= b'0' as usize && b <= b'9' as usize)
            || b == b'-' as usize
            || b == b'.' as usize
            || b == b':' as usize
            || b == b'[' as usize
            || b == b']' as usize;
        if host {
            t[b] |= HOST_BYTE;
        }
        b += 1;
    }
    t
};

/// Longest claim text kept inline by [`ShortText`].
const INLINE_TEXT: usize = 30;

/// Claim text stored inline when short (most hosts and labels), so that
/// building the claims of a verified link does not allocate for them;
/// longer text is boxed. Compared, hashed, ordered and printed as its text.
#[derive(Clone)]
enum ShortText {
    Inline { len: u8, bytes: [u8; INLINE_TEXT] },
    Boxed(Box<str>),
}

impl ShortText {
    /// From checked claim text (ASCII for hosts and labels).
    fn new(s: &[u8]) -> ShortText {
        let mut bytes = [0u8; INLINE_TEXT];
        match (u8::try_from(s.len()), bytes.get_mut(..s.len())) {
            (Ok(len), Some(head)) => {
                head.copy_from_slice(s);
                ShortText::Inline { len, bytes }
            }
            // Built from checked ASCII text: a byte is a char. (Not
            // from_utf8_lossy: it links ~1 KB of wasm that only this used.)
            _ => ShortText::Boxed(s.iter().copied().map(char::from).collect::<String>().into()),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // The bytes are checked ASCII copied in `new`, so this never
            // falls back; re-validating (a few ns) keeps the code safe.
            ShortText::Inline { len, bytes } => {
                bytes.get(..usize::from(*len)).and_then(|b| core::str::from_utf8(b).ok()).unwrap_or("")
            }
            ShortText::Boxed(s) => s,
        }
    }
}

impl PartialEq for ShortText {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ShortText {}

impl core::hash::Hash for ShortText {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for ShortText {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ShortText {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Debug for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// An opaque id (`sub`, `tenant`): 1–128 printable ASCII characters, no
/// spaces. `sub` additionally refuses `@`: tokens are readable by anyone who
/// holds the link, so recipients are named by id, never by email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label(ShortText);

impl Label {
    /// Check a label for `field` (`Sub` or `Tenant`).
    pub fn parse(field: Field, s: &str) -> Result<Label, ClaimError> {
        Label::check(field, s.as_bytes())?;
        Ok(Label(ShortText::new(s.as_bytes())))
    }

    /// The checks of [`Label::parse`] without building one (token decoding
    /// checks before the tag and builds only after it).
    /// On bytes: whatever passes is ASCII, so decoding needs no UTF-8 pass.
    fn check(field: Field, s: &[u8]) -> Result<(), ClaimError> {
        if s.is_empty() || s.len() > MAX_LABEL_BYTES {
            return Err(err(field, "must be 1-128 characters"));
        }
        // One pass: a bad byte anywhere is reported before an '@'.
        let mut has_at = false;
        for &b in s {
            if CLAIM_BYTES.get(usize::from(b)).copied().unwrap_or(0) & LABEL_BYTE == 0 {
                return Err(err(field, "must be printable ASCII without spaces"));
            }
            has_at |= b == b'@';
        }
        if field == Field::Sub && has_at {
            return Err(err(field, "must be an opaque recipient id, not an email address"));
        }
        Ok(())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// A host name the link is bound to: a lowercase DNS name, IPv4 address or
/// bracketed canonical IPv6 address, optionally with `:port` (the grammar
/// is in [`super::host`] and `docs/link-format.md` §4.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostName(ShortText);

impl HostName {
    /// Check a host; uppercase is refused here (the CLI lowercases input) so
    /// that a claim has one encoding.
    pub fn parse(s: &str) -> Result<HostName, ClaimError> {
        HostName::check(s.as_bytes())?;
        Ok(HostName(ShortText::new(s.as_bytes())))
    }

    /// The checks of [`HostName::parse`] without building one.
    /// On bytes: whatever passes is ASCII, so decoding needs no UTF-8 pass.
    fn check(s: &[u8]) -> Result<(), ClaimError> {
        if super::host::plain_dns_name(s) {
            return Ok(());
        }
        if s.is_empty() || s.len() > MAX_HOST_BYTES {
            return Err(err(Field::Host, "must be 1-259 characters"));
        }
        // A bad byte anywhere is reported before the grammar.
        if s.iter().any(|&b| CLAIM_BYTES.get(usize::from(b)).copied().unwrap_or(0) & HOST_BYTE == 0) {
            return Err(err(Field::Host, super::host::why::BAD_BYTE));
        }
        let text = core::str::from_utf8(s).map_err(|_| err(Field::Host, super::host::why::BAD_BYTE))?;
        super::host::check_claim(text).map_err(|reason| err(Field::Host, reason))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Does the request's `Host` header name this host? ASCII case-insensitive;
    /// a claim without a port matches any port (`docs/link-format.md` §9).
    pub fn matches(&self, request_host: &str) -> bool {
        super::host::matches(self.0.as_str(), request_host)
    }
}

/// A download file name: 1–255 bytes of UTF-8, no control characters, no
/// path separators, not `.` or `..`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileName(String);

impl FileName {
    /// Check a file name.
    pub fn parse(s: &str) -> Result<FileName, ClaimError> {
        FileName::check(s)?;
        Ok(FileName(s.to_owned()))
    }

    /// The checks of [`FileName::parse`] without building one.
    fn check(s: &str) -> Result<(), ClaimError> {
        if s.is_empty() || s.len() > MAX_FILENAME_BYTES {
            return Err(err(Field::Filename, "must be 1-255 bytes"));
        }
        if s.chars().any(|c| c.is_control() || c == '/' || c == '\\') {
            return Err(err(Field::Filename, "must not contain control characters or slashes"));
        }
        if s == "." || s == ".." {
            return Err(err(Field::Filename, "must not be . or .."));
        }
        Ok(())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Content-Type value: `type/subtype` of RFC 9110 token characters,
/// optional `; param=value` parts, printable ASCII only (no header injection).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContentType(String);

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl ContentType {
    /// Check a content type.
    pub fn parse(s: &str) -> Result<ContentType, ClaimError> {
        ContentType::check(s)?;
        Ok(ContentType(s.to_owned()))
    }

    /// The checks of [`ContentType::parse`] without building one.
    fn check(s: &str) -> Result<(), ClaimError> {
        if s.is_empty() || s.len() > MAX_CONTENT_TYPE_BYTES {
            return Err(err(Field::ContentType, "must be 1-127 characters"));
        }
        if !s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(err(Field::ContentType, "must be printable ASCII"));
        }
        let essence = s.split(';').next().unwrap_or("");
        let Some((t, st)) = essence.trim_end().split_once('/') else {
            return Err(err(Field::ContentType, "must look like type/subtype"));
        };
        if t.is_empty() || st.is_empty() || !t.bytes().all(is_tchar) || !st.bytes().all(is_tchar) {
            return Err(err(Field::ContentType, "must look like type/subtype"));
        }
        Ok(())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One claim's value in JSON: a number, a text or a list of texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimJson<'a> {
    Num(u64),
    Text(std::borrow::Cow<'a, str>),
    List(Vec<String>),
}

/// The claims of a v1 link. Build one, then [`Claims::sign`] it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub kid: KeyId,
    pub jti: Jti,
    pub iat: u64,
    pub exp: u64,
    pub nbf: Option<u64>,
    pub scope: Scope,
    pub host: Option<HostName>,
    pub sub: Option<Label>,
    pub tenant: Option<Label>,
    /// Empty means "any address".
    pub ip: Vec<Cidr>,
    pub uses: Option<NonZeroU32>,
    pub mode: Option<Mode>,
    pub filename: Option<FileName>,
    pub content_type: Option<ContentType>,
}

fn put(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    // Every value is bounded far below u16::MAX by the claim types.
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
    out.push(tag);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(value);
}

impl Claims {
    /// Required claims only; set the optional ones on the result.
    pub fn new(kid: KeyId, jti: Jti, iat: u64, exp: u64, scope: Scope) -> Claims {
        Claims {
            kid,
            jti,
            iat,
            exp,
            nbf: None,
            scope,
            host: None,
            sub: None,
            tenant: None,
            ip: Vec::new(),
            uses: None,
            mode: None,
            filename: None,
            content_type: None,
        }
    }

    /// Cross-field rules that single types cannot express.
    pub fn check(&self) -> Result<(), ClaimError> {
        if self.exp <= self.iat {
            return Err(err(Field::Exp, "must be after iat"));
        }
        if let Some(nbf) = self.nbf {
            if nbf >= self.exp {
                return Err(err(Field::Nbf, "must be before exp"));
            }
        }
        if self.ip.len() > MAX_CIDRS {
            return Err(err(Field::Ip, "at most 16 ranges"));
        }
        Ok(())
    }

    /// The claims as a JSON object (contract names; absent claims omitted;
    /// `jti` as hex; `version` included). Used by inspect, vectors and the
    /// admin API.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{Map, Value};
        let m: Map<String, Value> = self
            .json_fields()
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    ClaimJson::Num(n) => Value::from(n),
                    ClaimJson::Text(t) => Value::from(t),
                    ClaimJson::List(l) => Value::from(l),
                };
                (k.to_owned(), v)
            })
            .collect();
        Value::Object(m)
    }

    /// The claims as a JSON object, written directly (what the worker
    /// answers; [`Claims::to_json`] is the same members as a serde value).
    pub fn to_raw_json(&self) -> crate::json::Raw {
        use crate::json::{self, Object};
        let mut o = Object::new();
        for (k, v) in self.json_fields() {
            o = match v {
                ClaimJson::Num(n) => o.num(k, n),
                ClaimJson::Text(t) => o.str(k, &t),
                ClaimJson::List(l) => o.raw(k, &json::array(l.iter().map(|x| json::string(x)))),
            };
        }
        o.finish()
    }

    /// The members of [`Claims::to_json`], in order, without building JSON:
    /// one list for every writer (the JS package writes its answers without
    /// serde_json, which would double its wasm).
    pub fn json_fields(&self) -> Vec<(&'static str, ClaimJson<'_>)> {
        use ClaimJson::{List, Num, Text};
        let mut m = vec![
            ("version", Num(u64::from(VERSION))),
            ("kid", Text(self.kid.as_str().into())),
            ("jti", Text(self.jti.to_hex().into())),
            ("iat", Num(self.iat)),
            ("exp", Num(self.exp)),
        ];
        if let Some(v) = self.nbf {
            m.push(("nbf", Num(v)));
        }
        m.push(("scope", Text(self.scope.as_str().into())));
        if let Some(v) = &self.host {
            m.push(("host", Text(v.as_str().into())));
        }
        if let Some(v) = &self.sub {
            m.push(("sub", Text(v.as_str().into())));
        }
        if let Some(v) = &self.tenant {
            m.push(("tenant", Text(v.as_str().into())));
        }
        if !self.ip.is_empty() {
            m.push(("ip", List(self.ip.iter().map(|c| c.to_string()).collect())));
        }
        if let Some(v) = self.uses {
            m.push(("uses", Num(u64::from(v.get()))));
        }
        if let Some(v) = self.mode {
            m.push(("mode", Text(v.as_str().into())));
        }
        if let Some(v) = &self.filename {
            m.push(("filename", Text(v.as_str().into())));
        }
        if let Some(v) = &self.content_type {
            m.push(("content_type", Text(v.as_str().into())));
        }
        m
    }

    /// The payload bytes (version and fields), without the tag.
    pub fn encode_payload(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        out.push(VERSION);
        put(&mut out, tag::KID, self.kid.as_str().as_bytes());
        put(&mut out, tag::JTI, &self.jti.0);
        put(&mut out, tag::IAT, &self.iat.to_be_bytes());
        put(&mut out, tag::EXP, &self.exp.to_be_bytes());
        if let Some(nbf) = self.nbf {
            put(&mut out, tag::NBF, &nbf.to_be_bytes());
        }
        put(&mut out, tag::SCOPE, self.scope.as_str().as_bytes());
        if let Some(h) = &self.host {
            put(&mut out, tag::HOST, h.as_str().as_bytes());
        }
        if let Some(s) = &self.sub {
            put(&mut out, tag::SUB, s.as_str().as_bytes());
        }
        if let Some(t) = &self.tenant {
            put(&mut out, tag::TENANT, t.as_str().as_bytes());
        }
        if !self.ip.is_empty() {
            let mut v = Vec::with_capacity(self.ip.len() * 18);
            for c in &self.ip {
                c.encode_into(&mut v);
            }
            put(&mut out, tag::IP, &v);
        }
        if let Some(u) = self.uses {
            put(&mut out, tag::USES, &u.get().to_be_bytes());
        }
        if let Some(m) = self.mode {
            put(&mut out, tag::MODE, &[m.to_byte()]);
        }
        if let Some(f) = &self.filename {
            put(&mut out, tag::FILENAME, f.as_str().as_bytes());
        }
        if let Some(c) = &self.content_type {
            put(&mut out, tag::CONTENT_TYPE, c.as_str().as_bytes());
        }
        out
    }

    /// Sign with `key` and return the token text. `self.kid` must name the
    /// key; the key's id is authoritative and overwrites it.
    pub fn sign(&self, key: &Key) -> Result<String, ClaimError> {
        self.sign_in(key, Domain::Link)
    }

    /// The checked payload a token made with `key` carries: the token names
    /// its key, so claims built for another kid are re-labelled on a copy
    /// (the usual caller built them for this key). Signing and sealing share it.
    pub(crate) fn payload_for(&self, key: &Key) -> Result<Vec<u8>, ClaimError> {
        let relabelled;
        let claims = if self.kid == *key.kid() {
            self
        } else {
            relabelled = Claims { kid: key.kid().clone(), ..self.clone() };
            &relabelled
        };
        claims.check()?;
        Ok(claims.encode_payload())
    }

    /// Sign as a token of `domain`.
    pub fn sign_in(&self, key: &Key, domain: Domain) -> Result<String, ClaimError> {
        let payload = self.payload_for(key)?;
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(err(Field::Scope, "claims too large for one token"));
        }
        let tag = compute_tag_in(key, domain, &payload);
        let mut raw = payload;
        raw.extend_from_slice(&tag);
        Ok(b64::encode(&raw))
    }
}

/// HMAC-SHA256 over the link domain label and the payload.
pub fn compute_tag(key: &Key, payload: &[u8]) -> [u8; TAG_BYTES] {
    compute_tag_in(key, Domain::Link, payload)
}

/// HMAC-SHA256 over `domain`'s label and the payload.
pub fn compute_tag_in(key: &Key, domain: Domain, payload: &[u8]) -> [u8; TAG_BYTES] {
    let mut mac = key.mac();
    mac.update(domain.label());
    mac.update(payload);
    mac.finalize().into_bytes().into()
}

/// Constant-time check of a link `tag` over `payload`.
pub fn tag_matches(key: &Key, payload: &[u8], tag: &[u8]) -> bool {
    tag_matches_in(key, Domain::Link, payload, tag)
}

/// Constant-time check of `tag` over `payload` for `domain`.
pub fn tag_matches_in(key: &Key, domain: Domain, payload: &[u8], tag: &[u8]) -> bool {
    // Compared in constant time (subtle::ConstantTimeEq), as `hmac`'s
    // `verify_slice`; natively computed without `hmac`'s wrapper
    // (src/prekeyed.rs, pinned to `hmac` by its tests).
    #[cfg(not(target_arch = "wasm32"))]
    return key.prekeyed().verify(domain.label(), payload, tag);
    #[cfg(target_arch = "wasm32")]
    {
        let mut mac = key.mac();
        mac.update(domain.label());
        mac.update(payload);
        mac.verify_slice(tag).is_ok()
    }
}

/// Why a token could not be decoded (all answer 400 `token_malformed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Empty or longer than [`MAX_TOKEN_CHARS`].
    BadLength,
    /// Not canonical base64url.
    BadEncoding,
    /// Shorter than a version byte plus a tag.
    Truncated,
    /// Version byte other than 1.
    UnsupportedVersion,
    /// A field header or value runs past the payload.
    FieldOverrun,
    /// A tag not defined in v1.
    UnknownField,
    /// Fields out of ascending order, or repeated.
    FieldOrder,
    /// A required claim is absent.
    MissingClaim(Field),
    /// A claim value is invalid.
    BadClaim(ClaimError),
    /// A sealed token's key id length or key id is invalid (§17.4).
    SealedHeader,
    /// A sealed token opened, but its inner kid is not its header's (§17.4
    /// step 5a: only a key holder can make one).
    SealedKidMismatch,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::BadLength => f.write_str("token length out of range"),
            DecodeError::BadEncoding => f.write_str("token is not canonical base64url"),
            DecodeError::Truncated => f.write_str("token is truncated"),
            DecodeError::UnsupportedVersion => f.write_str("unsupported token version"),
            DecodeError::FieldOverrun => f.write_str("a field runs past the end of the token"),
            DecodeError::UnknownField => f.write_str("unknown field"),
            DecodeError::FieldOrder => f.write_str("fields out of order or repeated"),
            DecodeError::MissingClaim(c) => write!(f, "missing claim {}", c.as_str()),
            DecodeError::BadClaim(e) => write!(f, "invalid claim {e}"),
            DecodeError::SealedHeader => f.write_str("invalid sealed token header"),
            DecodeError::SealedKidMismatch => f.write_str("sealed token's inner kid differs from its header"),
        }
    }
}

impl DecodeError {
    /// Stable name, for vectors and logs.
    pub const fn name(&self) -> &'static str {
        match self {
            DecodeError::BadLength => "bad_length",
            DecodeError::BadEncoding => "bad_encoding",
            DecodeError::Truncated => "truncated",
            DecodeError::UnsupportedVersion => "unsupported_version",
            DecodeError::FieldOverrun => "field_overrun",
            DecodeError::UnknownField => "unknown_field",
            DecodeError::FieldOrder => "field_order",
            DecodeError::MissingClaim(_) => "missing_claim",
            DecodeError::BadClaim(_) => "bad_claim",
            DecodeError::SealedHeader => "sealed_header",
            DecodeError::SealedKidMismatch => "sealed_kid_mismatch",
        }
    }
}

/// Longest decoded token (payload and tag), in bytes.
pub const MAX_RAW_BYTES: usize = MAX_PAYLOAD_BYTES + TAG_BYTES;

/// A decoded token whose tag has **not** been checked yet. Its claims are
/// only reachable through [`crate::verify`] or, for display,
/// [`UnverifiedToken::claims_unverified`].
#[derive(Debug, Clone)]
pub struct UnverifiedToken {
    raw: Vec<u8>,
    claims: Claims,
}

fn be_u64(field: Field, v: &[u8]) -> Result<u64, DecodeError> {
    let arr: [u8; 8] = v.try_into().map_err(|_| DecodeError::BadClaim(err(field, "must be 8 bytes")))?;
    Ok(u64::from_be_bytes(arr))
}

fn utf8(field: Field, v: &[u8]) -> Result<&str, DecodeError> {
    core::str::from_utf8(v).map_err(|_| DecodeError::BadClaim(err(field, "must be UTF-8")))
}

/// An ASCII-only claim checked on its bytes: anything `check` accepts is
/// ASCII, so the UTF-8 pass is needed only to name the error of a refused
/// value, and then it comes first, as for every other text claim.
fn ascii(field: Field, v: &[u8], check: impl Fn(&[u8]) -> Result<(), ClaimError>) -> Result<&[u8], DecodeError> {
    match check(v) {
        Ok(()) => Ok(v),
        Err(e) => {
            utf8(field, v)?;
            Err(DecodeError::BadClaim(e))
        }
    }
}

/// Claims borrowed from a decoded payload: every value checked exactly as
/// the owned claim types check it, nothing allocated. Not authenticated:
/// the verifier checks the tag first and only then builds [`Claims`] (with
/// [`ClaimsView::to_claims`]), so a forged token costs no allocations.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClaimsView<'a> {
    /// ASCII, checked (as are host, sub and tenant).
    pub(crate) kid: &'a [u8],
    jti: Jti,
    pub(crate) iat: u64,
    pub(crate) exp: u64,
    pub(crate) nbf: Option<u64>,
    pub(crate) scope: &'a str,
    pub(crate) host: Option<&'a [u8]>,
    sub: Option<&'a [u8]>,
    tenant: Option<&'a [u8]>,
    /// The checked wire form of the `ip` claim (empty when absent).
    pub(crate) ip: &'a [u8],
    ip_count: usize,
    pub(crate) uses: Option<NonZeroU32>,
    mode: Option<Mode>,
    filename: Option<&'a str>,
    content_type: Option<&'a str>,
}

impl<'a> ClaimsView<'a> {
    /// Parse and check a payload (version byte and fields). `request_path`,
    /// when given, is a canonical path: a scope equal to it or a folder of
    /// it needs no second scan.
    pub(crate) fn parse(payload: &'a [u8], request_path: Option<&str>) -> Result<ClaimsView<'a>, DecodeError> {
        let (&version, mut rest) = payload.split_first().ok_or(DecodeError::Truncated)?;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion);
        }

        let mut last_tag = 0u8;
        let mut kid = None;
        let mut jti = None;
        let mut iat = None;
        let mut exp = None;
        let mut nbf = None;
        let mut scope = None;
        let mut host = None;
        let mut sub = None;
        let mut tenant = None;
        let mut ip: &[u8] = &[];
        let mut ip_count = 0usize;
        let mut uses = None;
        let mut mode = None;
        let mut filename = None;
        let mut content_type = None;

        while let Some((&t, after_tag)) = rest.split_first() {
            let (len, after_len) = after_tag.split_first_chunk::<2>().ok_or(DecodeError::FieldOverrun)?;
            let len = usize::from(u16::from_be_bytes(*len));
            if after_len.len() < len {
                return Err(DecodeError::FieldOverrun);
            }
            let (v, next) = after_len.split_at(len);
            rest = next;
            if t == 0 || t > tag::CONTENT_TYPE {
                return Err(DecodeError::UnknownField);
            }
            if t <= last_tag {
                return Err(DecodeError::FieldOrder);
            }
            last_tag = t;
            let bad = DecodeError::BadClaim;
            match t {
                tag::KID => {
                    kid = Some(ascii(Field::Kid, v, |b| {
                        if KeyId::is_valid(b) {
                            Ok(())
                        } else {
                            Err(err(Field::Kid, "must be 1-32 of A-Z a-z 0-9 _ -"))
                        }
                    })?);
                }
                tag::JTI => {
                    let a: [u8; 16] = v.try_into().map_err(|_| bad(err(Field::Jti, "must be 16 bytes")))?;
                    jti = Some(Jti(a));
                }
                tag::IAT => iat = Some(be_u64(Field::Iat, v)?),
                tag::EXP => exp = Some(be_u64(Field::Exp, v)?),
                tag::NBF => nbf = Some(be_u64(Field::Nbf, v)?),
                tag::SCOPE => {
                    let s = utf8(Field::Scope, v)?;
                    let checked = match request_path {
                        Some(p) => Scope::check_given(s, p),
                        None => Scope::check(s),
                    };
                    checked.map_err(|_| bad(err(Field::Scope, "must be a canonical path or prefix")))?;
                    scope = Some(s);
                }
                tag::HOST => host = Some(ascii(Field::Host, v, HostName::check)?),
                tag::SUB => sub = Some(ascii(Field::Sub, v, |b| Label::check(Field::Sub, b))?),
                tag::TENANT => tenant = Some(ascii(Field::Tenant, v, |b| Label::check(Field::Tenant, b))?),
                tag::IP => {
                    let mut cur = v;
                    while !cur.is_empty() {
                        let (_, r) = Cidr::decode_from(cur).ok_or(bad(err(Field::Ip, "invalid range")))?;
                        ip_count = ip_count.saturating_add(1);
                        cur = r;
                        if ip_count > MAX_CIDRS {
                            return Err(bad(err(Field::Ip, "at most 16 ranges")));
                        }
                    }
                    if ip_count == 0 {
                        return Err(bad(err(Field::Ip, "must not be empty when present")));
                    }
                    ip = v;
                }
                tag::USES => {
                    let a: [u8; 4] = v.try_into().map_err(|_| bad(err(Field::Uses, "must be 4 bytes")))?;
                    let n =
                        NonZeroU32::new(u32::from_be_bytes(a)).ok_or(bad(err(Field::Uses, "must be at least 1")))?;
                    uses = Some(n);
                }
                tag::MODE => {
                    let b = match v {
                        [b] => *b,
                        _ => return Err(bad(err(Field::Mode, "must be 1 byte"))),
                    };
                    mode = Some(Mode::from_byte(b).ok_or(bad(err(Field::Mode, "unknown mode")))?);
                }
                tag::FILENAME => {
                    let s = utf8(Field::Filename, v)?;
                    FileName::check(s).map_err(bad)?;
                    filename = Some(s);
                }
                tag::CONTENT_TYPE => {
                    let s = utf8(Field::ContentType, v)?;
                    ContentType::check(s).map_err(bad)?;
                    content_type = Some(s);
                }
                _ => return Err(DecodeError::UnknownField),
            }
        }

        let view = ClaimsView {
            kid: kid.ok_or(DecodeError::MissingClaim(Field::Kid))?,
            jti: jti.ok_or(DecodeError::MissingClaim(Field::Jti))?,
            iat: iat.ok_or(DecodeError::MissingClaim(Field::Iat))?,
            exp: exp.ok_or(DecodeError::MissingClaim(Field::Exp))?,
            nbf,
            scope: scope.ok_or(DecodeError::MissingClaim(Field::Scope))?,
            host,
            sub,
            tenant,
            ip,
            ip_count,
            uses,
            mode,
            filename,
            content_type,
        };
        // The cross-field rules of `Claims::check` (the CIDR count is
        // bounded in the loop above).
        if view.exp <= view.iat {
            return Err(DecodeError::BadClaim(err(Field::Exp, "must be after iat")));
        }
        if view.nbf.is_some_and(|nbf| nbf >= view.exp) {
            return Err(DecodeError::BadClaim(err(Field::Nbf, "must be before exp")));
        }
        Ok(view)
    }

    /// The owned claims. Every value was checked by [`ClaimsView::parse`].
    pub(crate) fn to_claims(self) -> Claims {
        self.to_claims_sharing(None, None)
    }

    /// The owned claims, sharing text the verifier already holds instead of
    /// copying it: the id of the key that verified the tag, and the request
    /// path when the scope is that very object.
    pub(crate) fn to_claims_sharing(self, kid: Option<&KeyId>, path: Option<&CanonicalPath>) -> Claims {
        let mut ip = Vec::with_capacity(self.ip_count);
        let mut cur = self.ip;
        while let Some((c, r)) = Cidr::decode_from(cur) {
            ip.push(c);
            cur = r;
        }
        Claims {
            kid: match kid {
                Some(k) if k.as_str().as_bytes() == self.kid => k.clone(),
                _ => KeyId::from_checked(self.kid),
            },
            jti: self.jti,
            iat: self.iat,
            exp: self.exp,
            nbf: self.nbf,
            scope: match path {
                Some(p) if p.as_str() == self.scope => Scope::Object(p.clone()),
                _ => Scope::from_checked(self.scope),
            },
            host: self.host.map(|s| HostName(ShortText::new(s))),
            sub: self.sub.map(|s| Label(ShortText::new(s))),
            tenant: self.tenant.map(|s| Label(ShortText::new(s))),
            ip,
            uses: self.uses,
            mode: self.mode,
            filename: self.filename.map(|s| FileName(s.to_owned())),
            content_type: self.content_type.map(|s| ContentType(s.to_owned())),
        }
    }
}

/// Where a value lies in a [`StoredClaims`] buffer (payloads and paths are
/// a few KiB at most: 16 bits keep a verified link small).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    at: u16,
    len: u16,
}

impl Span {
    /// The place of `part`, a slice of `base`.
    fn of(base: &[u8], part: &[u8]) -> Span {
        Span::new(part.as_ptr().addr().wrapping_sub(base.as_ptr().addr()), part.len())
    }

    /// Out of range only for a buffer far over the token limits; then the
    /// span reads as empty ([`StoredClaims::bytes`]) rather than wrap.
    fn new(at: usize, len: usize) -> Span {
        match (u16::try_from(at), u16::try_from(len)) {
            (Ok(at), Ok(len)) => Span { at, len },
            _ => Span { at: u16::MAX, len: u16::MAX },
        }
    }

    fn range(self) -> core::ops::Range<usize> {
        let at = usize::from(self.at);
        at..at.saturating_add(usize::from(self.len))
    }
}

/// The claims of an authentic token as its checked payload bytes and where
/// each value lies in them (and the request's canonical path after them):
/// what a verified link keeps until its claims are first read, one copy
/// instead of building every owned value. Only built from a [`ClaimsView`]
/// that [`ClaimsView::parse`] returned for those very bytes.
#[derive(Clone)]
pub(crate) struct StoredClaims {
    /// The payload, then the canonical request path.
    bytes: Box<[u8]>,
    path: Span,
    kid: Span,
    scope: Span,
    host: Option<Span>,
    sub: Option<Span>,
    tenant: Option<Span>,
    ip: Span,
    filename: Option<Span>,
    content_type: Option<Span>,
    ip_count: u8,
    jti: Jti,
    iat: u64,
    exp: u64,
    nbf: Option<u64>,
    uses: Option<NonZeroU32>,
    mode: Option<Mode>,
}

impl StoredClaims {
    /// Keep `view`, parsed from `payload`, and the canonical request `path`.
    pub(crate) fn new(view: &ClaimsView<'_>, payload: &[u8], path: &str) -> StoredClaims {
        let mut bytes = Vec::with_capacity(payload.len().saturating_add(path.len()));
        bytes.extend_from_slice(payload);
        bytes.extend_from_slice(path.as_bytes());
        let at = |part: &[u8]| Span::of(payload, part);
        StoredClaims {
            bytes: bytes.into_boxed_slice(),
            path: Span::new(payload.len(), path.len()),
            kid: at(view.kid),
            scope: at(view.scope.as_bytes()),
            host: view.host.map(at),
            sub: view.sub.map(at),
            tenant: view.tenant.map(at),
            ip: at(view.ip),
            filename: view.filename.map(|s| at(s.as_bytes())),
            content_type: view.content_type.map(|s| at(s.as_bytes())),
            // At most MAX_CIDRS (16), checked by the parser.
            ip_count: u8::try_from(view.ip_count).unwrap_or(u8::MAX),
            jti: view.jti,
            iat: view.iat,
            exp: view.exp,
            nbf: view.nbf,
            uses: view.uses,
            mode: view.mode,
        }
    }

    /// The bytes of `span`. Every span was taken from these bytes, so the
    /// empty fallback is never used.
    fn bytes(&self, span: Span) -> &[u8] {
        self.bytes.get(span.range()).unwrap_or_default()
    }

    /// The text of `span`: checked UTF-8 (claims) or a canonical path, so
    /// the empty fallback is never used.
    fn text(&self, span: Span) -> &str {
        core::str::from_utf8(self.bytes(span)).unwrap_or_default()
    }

    /// `exp`.
    pub(crate) fn exp(&self) -> u64 {
        self.exp
    }

    /// The canonical request path.
    pub(crate) fn path(&self) -> CanonicalPath {
        CanonicalPath::from_checked(self.text(self.path))
    }

    /// The owned claims, sharing `path` (this link's path) when the scope is it.
    pub(crate) fn to_claims(&self, path: &CanonicalPath) -> Claims {
        let view = ClaimsView {
            kid: self.bytes(self.kid),
            jti: self.jti,
            iat: self.iat,
            exp: self.exp,
            nbf: self.nbf,
            scope: self.text(self.scope),
            host: self.host.map(|s| self.bytes(s)),
            sub: self.sub.map(|s| self.bytes(s)),
            tenant: self.tenant.map(|s| self.bytes(s)),
            ip: self.bytes(self.ip),
            ip_count: usize::from(self.ip_count),
            uses: self.uses,
            mode: self.mode,
            filename: self.filename.map(|s| self.text(s)),
            content_type: self.content_type.map(|s| self.text(s)),
        };
        view.to_claims_sharing(None, Some(path))
    }
}

/// A token decoded into a caller's buffer: payload, tag and checked claims,
/// all borrowed. The tag is **not** checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawToken<'b> {
    pub(crate) payload: &'b [u8],
    pub(crate) tag: &'b [u8],
    pub(crate) claims: ClaimsView<'b>,
}

impl<'b> RawToken<'b> {
    /// Split decoded token bytes into payload and tag and check the
    /// payload. `request_path` is the canonical request path, if known.
    pub(crate) fn split(raw: &'b [u8], request_path: Option<&str>) -> Result<RawToken<'b>, DecodeError> {
        let payload_len = raw.len().checked_sub(TAG_BYTES).ok_or(DecodeError::Truncated)?;
        let (payload, tag) = raw.split_at_checked(payload_len).ok_or(DecodeError::Truncated)?;
        let claims = ClaimsView::parse(payload, request_path)?;
        Ok(RawToken { payload, tag, claims })
    }
}

/// The token text's bytes (§2, §3's text limit), decoded into `small` when
/// they fit (no allocation), else into `large`, sized for the longest token.
/// Mutable, so that a sealed token is opened in place.
pub(crate) fn decode_raw<'b>(
    text: &str,
    small: &'b mut [u8],
    large: &'b mut Vec<u8>,
) -> Result<&'b mut [u8], DecodeError> {
    if text.is_empty() || text.len() > MAX_TOKEN_CHARS {
        return Err(DecodeError::BadLength);
    }
    let n = b64::decoded_len(text.len()).ok_or(DecodeError::BadEncoding)?;
    let buf = if n <= small.len() {
        small
    } else {
        large.resize(MAX_RAW_BYTES, 0);
        large.as_mut_slice()
    };
    let len = b64::decode_into(text.as_bytes(), buf).map_err(|_| DecodeError::BadEncoding)?.len();
    buf.get_mut(..len).ok_or(DecodeError::BadEncoding)
}

impl UnverifiedToken {
    /// Decode the token text; checks structure and claim syntax, not the tag.
    /// A sealed token is refused here (`unsupported_version`): read it with
    /// [`crate::sealed::AnyToken::decode`].
    pub fn decode(text: &str) -> Result<UnverifiedToken, DecodeError> {
        if text.is_empty() || text.len() > MAX_TOKEN_CHARS {
            return Err(DecodeError::BadLength);
        }
        let raw = b64::decode(text.as_bytes()).map_err(|_| DecodeError::BadEncoding)?;
        UnverifiedToken::from_raw(raw)
    }

    /// From the decoded token bytes.
    pub(crate) fn from_raw(raw: Vec<u8>) -> Result<UnverifiedToken, DecodeError> {
        let claims = RawToken::split(&raw, None)?.claims.to_claims();
        Ok(UnverifiedToken { raw, claims })
    }

    /// The key id the token names (needed to pick the key).
    pub fn kid(&self) -> &KeyId {
        &self.claims.kid
    }

    /// Check the tag with `key` in constant time; on success the claims are
    /// authentic.
    pub fn verify_tag(self, key: &Key) -> Result<Claims, Box<UnverifiedToken>> {
        self.verify_tag_in(key, Domain::Link)
    }

    /// Check the tag as a token of `domain`.
    pub fn verify_tag_in(self, key: &Key, domain: Domain) -> Result<Claims, Box<UnverifiedToken>> {
        let split = self.raw.len().saturating_sub(TAG_BYTES);
        let (payload, tag) = self.raw.split_at(split);
        if tag_matches_in(key, domain, payload, tag) {
            Ok(self.claims)
        } else {
            Err(Box::new(self))
        }
    }

    /// The claims as decoded, **not authenticated**: for display only
    /// (`linkgate inspect` without keys). Never base a decision on them.
    pub fn claims_unverified(&self) -> &Claims {
        &self.claims
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyRing;

    fn ring() -> KeyRing {
        KeyRing::parse(&format!("k1:{}", b64::encode(&[7u8; 32]))).unwrap()
    }

    fn claims() -> Claims {
        Claims::new(
            KeyId::parse("k1").unwrap(),
            Jti([0xAB; 16]),
            1_800_000_000,
            1_800_003_600,
            Scope::parse("/reports/q3.pdf").unwrap(),
        )
    }

    #[test]
    fn round_trip_minimal_and_full() {
        let ring = ring();
        let key = ring.signing_key();
        let mut full = claims();
        full.nbf = Some(1_800_000_100);
        full.scope = Scope::parse("/board/").unwrap();
        full.host = Some(HostName::parse("files.example.com").unwrap());
        full.sub = Some(Label::parse(Field::Sub, "user-42").unwrap());
        full.tenant = Some(Label::parse(Field::Tenant, "acme").unwrap());
        full.ip = vec![Cidr::parse("10.0.0.0/8").unwrap(), Cidr::parse("2001:db8::/32").unwrap()];
        full.uses = NonZeroU32::new(3);
        full.mode = Some(Mode::Redirect);
        full.filename = Some(FileName::parse("Board pack – Q3.pdf").unwrap());
        full.content_type = Some(ContentType::parse("application/pdf").unwrap());
        for c in [claims(), full] {
            let t = c.sign(key).unwrap();
            let d = UnverifiedToken::decode(&t).unwrap();
            assert_eq!(d.claims_unverified(), &c);
            assert_eq!(d.verify_tag(key).unwrap(), c);
        }
    }

    #[test]
    fn signing_is_deterministic_and_key_bound() {
        let ring = ring();
        let t1 = claims().sign(ring.signing_key()).unwrap();
        let t2 = claims().sign(ring.signing_key()).unwrap();
        assert_eq!(t1, t2);
        let other = KeyRing::parse(&format!("k1:{}", b64::encode(&[8u8; 32]))).unwrap();
        let d = UnverifiedToken::decode(&t1).unwrap();
        assert!(d.verify_tag(other.signing_key()).is_err());
    }

    #[test]
    fn a_token_names_the_key_that_signed_it() {
        let k2 = KeyRing::parse(&format!("k2:{}", b64::encode(&[9u8; 32]))).unwrap();
        let key = k2.signing_key();
        let d = UnverifiedToken::decode(&claims().sign(key).unwrap()).unwrap();
        assert_eq!(d.claims_unverified().kid.as_str(), "k2");
        assert_eq!(d.verify_tag(key).unwrap(), Claims { kid: key.kid().clone(), ..claims() });
    }

    #[test]
    fn link_and_session_domains_never_cross() {
        let ring = ring();
        let key = ring.signing_key();
        let link = claims().sign(key).unwrap();
        let session = claims().sign_in(key, Domain::Session).unwrap();
        assert_ne!(link, session);
        assert!(UnverifiedToken::decode(&link).unwrap().verify_tag_in(key, Domain::Session).is_err());
        assert!(UnverifiedToken::decode(&session).unwrap().verify_tag(key).is_err());
        assert!(UnverifiedToken::decode(&session).unwrap().verify_tag_in(key, Domain::Session).is_ok());
    }

    #[test]
    fn sign_refuses_inconsistent_times() {
        let ring = ring();
        let mut c = claims();
        c.exp = c.iat;
        assert_eq!(c.sign(ring.signing_key()).unwrap_err().field, Field::Exp);
        let mut c = claims();
        c.nbf = Some(c.exp);
        assert_eq!(c.sign(ring.signing_key()).unwrap_err().field, Field::Nbf);
    }

    #[test]
    fn value_types() {
        assert!(Label::parse(Field::Sub, "a@b.c").is_err());
        assert!(Label::parse(Field::Tenant, "a@b").is_ok());
        assert!(Label::parse(Field::Sub, "a b").is_err());
        assert!(Label::parse(Field::Sub, "").is_err());
        assert!(Label::parse(Field::Sub, &"x".repeat(129)).is_err());
        assert!(HostName::parse("Files.example.com").is_err());
        assert!(HostName::parse("files.example.com:8443").is_ok());
        assert!(HostName::parse("files.example.com.").is_err());
        assert!(HostName::parse("files.example.com.:8443").is_err());
        for bad in ["a:b.:c", "[a]:.:80", "a[b", "[", ":80", "a:", "::1", "-a", "a:0", "[0::1]"] {
            assert!(HostName::parse(bad).is_err(), "{bad}");
        }
        assert!(FileName::parse("a/b").is_err());
        assert!(FileName::parse("a\nb").is_err());
        assert!(FileName::parse("..").is_err());
        assert!(ContentType::parse("text/plain; charset=utf-8").is_ok());
        assert!(ContentType::parse("text/plain\r\nX: y").is_err());
        assert!(ContentType::parse("textplain").is_err());
        assert!(ContentType::parse("te xt/plain").is_err());
    }

    #[test]
    fn host_matching() {
        let h = HostName::parse("files.example.com").unwrap();
        assert!(h.matches("files.example.com"));
        assert!(h.matches("FILES.example.com"));
        assert!(h.matches("files.example.com:8443"));
        assert!(h.matches("files.example.com."));
        assert!(!h.matches("evil.example.com"));
        assert!(!h.matches("files.example.com.evil.net"));
        assert!(!h.matches(""));
        let p = HostName::parse("files.example.com:8443").unwrap();
        assert!(p.matches("files.example.com:8443"));
        assert!(!p.matches("files.example.com"));
        assert!(!p.matches("files.example.com:443"));
        let v6 = HostName::parse("[::1]").unwrap();
        assert!(v6.matches("[::1]:8787"));
        assert!(!v6.matches("[::2]:8787"));
        assert!(!v6.matches("[::1]junk"));
        assert!(!v6.matches("[::1]:"));
        // A port after the trailing dot, never a dot after the port.
        assert!(h.matches("files.example.com.:8443"));
        assert!(!h.matches("files.example.com:8443."));
        assert!(!h.matches("files.example.com:abc"));
        assert!(!h.matches("files.example.com.."));
    }

    #[test]
    fn short_text_behaves_like_its_text() {
        let texts = ["a".repeat(29), "a".repeat(30), "a".repeat(31), "b".into(), "a".repeat(128)];
        for x in &texts {
            let l = Label::parse(Field::Tenant, x).unwrap();
            assert_eq!(l.as_str(), x);
            assert_eq!(format!("{l:?}"), format!("Label({x:?})"));
            for y in &texts {
                let m = Label::parse(Field::Tenant, y).unwrap();
                assert_eq!(l == m, x == y);
                assert_eq!(l.cmp(&m), x.cmp(y), "{x} {y}");
            }
        }
        let h = HostName::parse(&format!("{}.example.com", "h".repeat(40))).unwrap();
        assert!(h.matches(&format!("{}.EXAMPLE.com:443", "h".repeat(40))));
    }

    #[test]
    fn ascii_claims_report_utf8_errors_first() {
        let with = |t: u8, v: &[u8]| {
            let mut p = claims().encode_payload();
            p.push(t);
            p.extend_from_slice(&u16::try_from(v.len()).unwrap().to_be_bytes());
            p.extend_from_slice(v);
            p.extend_from_slice(&[0u8; TAG_BYTES]);
            match UnverifiedToken::decode(&b64::encode(&p)) {
                Err(DecodeError::BadClaim(e)) => (e.field, e.reason),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(with(tag::HOST, b"\xff"), (Field::Host, "must be UTF-8"));
        assert_eq!(
            with(tag::HOST, "é".as_bytes()),
            (Field::Host, "must be a lowercase host name, optionally with :port")
        );
        assert_eq!(with(tag::HOST, b"A"), (Field::Host, "must be a lowercase host name, optionally with :port"));
        assert_eq!(with(tag::HOST, b"a."), (Field::Host, "must not end with a dot"));
        assert_eq!(with(tag::SUB, b"\xc3"), (Field::Sub, "must be UTF-8"));
        assert_eq!(with(tag::SUB, b"a@b"), (Field::Sub, "must be an opaque recipient id, not an email address"));
        assert_eq!(with(tag::TENANT, "\u{e9}".as_bytes()), (Field::Tenant, "must be printable ASCII without spaces"));
    }

    #[test]
    fn jti_hex() {
        let j = Jti([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0, 1, 2, 3, 4, 5, 6, 0xff]);
        assert_eq!(j.to_hex(), "0123456789abcdef00010203040506ff");
        assert_eq!(Jti::parse_hex(&j.to_hex()), Some(j));
        assert_eq!(Jti::parse_hex("xyz"), None);
        assert_eq!(Jti::parse_hex(&"g".repeat(32)), None);
    }
}

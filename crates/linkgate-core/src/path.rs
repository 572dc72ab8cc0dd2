//! Canonical object paths and link scopes.
//!
//! A request path is canonicalized exactly once, before anything else looks at
//! it. Anything ambiguous is refused rather than normalized: a path that could
//! mean two objects to two components is an authorization bypass waiting to
//! happen. The rules are listed in `docs/link-format.md` ("Canonical paths").

use core::fmt;
use std::borrow::Cow;
use std::sync::Arc;

use super::nfc;

/// Longest canonical (decoded) path, in bytes.
pub const MAX_PATH_BYTES: usize = 1024;
/// Longest raw (percent-encoded) path: three raw bytes per decoded byte.
pub const MAX_RAW_PATH_BYTES: usize = 3 * MAX_PATH_BYTES;

/// Why a path was refused. All of these answer 400 `path_invalid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// Does not start with `/`.
    NotAbsolute,
    /// Longer than [`MAX_PATH_BYTES`] after decoding.
    TooLong,
    /// `%` not followed by two hex digits.
    BadPercentEscape,
    /// `%2F`: an encoded slash would hide a segment boundary.
    EncodedSlash,
    /// `\` or `%5C`: some stores and OSes treat it as a separator.
    Backslash,
    /// `%00` or a literal NUL.
    Nul,
    /// A control character (Unicode category Cc).
    ControlCharacter,
    /// A `.` or `..` segment, encoded or not.
    DotSegment,
    /// `//`, or a trailing `/` on an object path.
    EmptySegment,
    /// The decoded bytes are not UTF-8.
    InvalidUtf8,
    /// Not in Unicode NFC (e.g. `e` + U+0301 for `é`): the store would take
    /// it for the NFC spelling's object. See [`super::nfc`].
    NotNfc,
}

impl PathError {
    /// Stable name, used in test vectors and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            PathError::NotAbsolute => "not_absolute",
            PathError::TooLong => "too_long",
            PathError::BadPercentEscape => "bad_percent_escape",
            PathError::EncodedSlash => "encoded_slash",
            PathError::Backslash => "backslash",
            PathError::Nul => "nul",
            PathError::ControlCharacter => "control_character",
            PathError::DotSegment => "dot_segment",
            PathError::EmptySegment => "empty_segment",
            PathError::InvalidUtf8 => "invalid_utf8",
            PathError::NotNfc => "not_nfc",
        }
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[inline]
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Byte classes for [`check_decoded`]: one table lookup per byte instead of
/// a chain of range matches (this runs on every request, twice).
const PLAIN: u8 = 0;
const SLASH: u8 = 1;
const DOT: u8 = 2;
const NUL: u8 = 3;
const CONTROL: u8 = 4;
const BACKSLASH: u8 = 5;
/// 0x80..=0x9F: a C1 control when it follows 0xC2 (U+0080..U+009F).
const C1_TAIL: u8 = 6;
#[expect(
    clippy::indexing_slicing,
    reason = "evaluated at compile time: an index out of range fails the build, never a request"
)]
const CLASS: [u8; 256] = {
    let mut t = [PLAIN; 256];
    let mut b = 1;
    while b < 0x20 {
        t[b] = CONTROL;
        b += 1;
    }
    t[0x7F] = CONTROL;
    let mut b = 0x80;
    while b <= 0x9F {
        t[b] = C1_TAIL;
        b += 1;
    }
    t[0] = NUL;
    t[b'/' as usize] = SLASH;
    t[b'.' as usize] = DOT;
    t[b'\\' as usize] = BACKSLASH;
    t
};

/// The class of byte `b` (a u8 always indexes 256 entries; the fallback is
/// unreachable and compiled away).
#[inline(always)]
fn class(b: u8) -> u8 {
    CLASS.get(usize::from(b)).copied().unwrap_or(CONTROL)
}

/// A segment seen so far, as far as the segment rules care.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Seg {
    Empty,
    Dot,
    DotDot,
    Other,
}

/// Checks shared by request paths and scopes, on decoded text.
/// `allow_trailing_slash` admits exactly one empty segment: the last one.
///
/// One pass; a bad byte anywhere wins over a bad segment anywhere (the
/// contract's reason order), so a segment error is kept until the end.
fn check_decoded(path: &str, allow_trailing_slash: bool) -> Result<(), PathError> {
    if plainly_canonical(path, allow_trailing_slash, false) {
        return Ok(());
    }
    check_decoded_exactly(path, allow_trailing_slash)?;
    // Last rule: only text with a non-ASCII character can be other than NFC
    // (and the fast path above accepts nothing else).
    if path.is_ascii() || nfc::is_nfc(path) {
        Ok(())
    } else {
        Err(PathError::NotNfc)
    }
}

/// Fast accept for the common path: ASCII only, no byte that needs a closer
/// look and no `/` followed by `/` or `.`. Branch-free per byte; anything it
/// does not accept goes to [`check_decoded_exactly`], which finds the reason
/// (and to the NFC check, which only non-ASCII text needs).
///
/// `raw_path`: the text is a raw request path, and a `%` (which would need
/// decoding) sends it to the slow path too, so that the usual request path
/// is read once, not once for `%` and once for the rules.
fn plainly_canonical(path: &str, allow_trailing_slash: bool, raw_path: bool) -> bool {
    let Some(rest) = path.strip_prefix('/') else { return false };
    if path.len() > MAX_PATH_BYTES || rest.is_empty() || rest.starts_with(['/', '.']) {
        return false;
    }
    if rest.ends_with('/') && !allow_trailing_slash {
        return false;
    }
    // Eight bytes at a time (SWAR); any non-ASCII byte in a word sends the
    // path to the exact check, which keeps the per-byte masks exact.
    let mut words = rest.as_bytes().chunks_exact(8);
    let (mut special, mut suspicious, mut carry) = (0u64, 0u64, 0u64);
    for w in &mut words {
        let Ok(w) = <[u8; 8]>::try_from(w) else { continue };
        let x = u64::from_le_bytes(w);
        // Non-ASCII, below 0x20, DEL, backslash.
        special |= (x & HI) | (!x.wrapping_add(LO * 0x60) & HI) | eq_mask(x, 0x7F) | eq_mask(x, b'\\');
        if raw_path {
            special |= eq_mask(x, b'%');
        }
        let slash = eq_mask(x, b'/');
        // A '/' (here, or ending the previous word) before a '/' or '.'.
        suspicious |= ((slash << 8) | carry) & (slash | eq_mask(x, b'.'));
        carry = slash >> 56;
    }
    let mut prev_slash = carry != 0;
    for &b in words.remainder() {
        // Non-ASCII (like the words' `x & HI`), and every class but PLAIN
        // and the segment bytes.
        special |= u64::from(b >= 0x80 || class(b) > DOT || (raw_path && b == b'%'));
        suspicious |= u64::from(prev_slash && (b == b'/' || b == b'.'));
        prev_slash = b == b'/';
    }
    special == 0 && suspicious == 0
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = LO * 0x80;

/// 0x80 in every byte of `x` equal to `c`. Exact when every byte of `x` is
/// ASCII (no carry crosses a byte); otherwise `x & HI` already refuses.
fn eq_mask(x: u64, c: u8) -> u64 {
    !(x ^ (LO * u64::from(c))).wrapping_add(LO * 0x7F) & HI
}

/// The exact check, with the contract's reason for a refusal.
fn check_decoded_exactly(path: &str, allow_trailing_slash: bool) -> Result<(), PathError> {
    let rest = path.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
    if path.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong);
    }
    // Byte-wise on valid UTF-8: C0 controls and DEL are single bytes; C1
    // controls U+0080..U+009F are 0xC2 0x80..0x9F.
    let mut prev = b'/';
    let mut seg = Seg::Empty;
    let mut seg_error = None;
    for &b in rest.as_bytes() {
        match class(b) {
            PLAIN => seg = Seg::Other,
            SLASH => {
                if seg_error.is_none() {
                    seg_error = segment_error(seg);
                }
                seg = Seg::Empty;
            }
            DOT => {
                seg = match seg {
                    Seg::Empty => Seg::Dot,
                    Seg::Dot => Seg::DotDot,
                    Seg::DotDot | Seg::Other => Seg::Other,
                }
            }
            NUL => return Err(PathError::Nul),
            BACKSLASH => return Err(PathError::Backslash),
            C1_TAIL if prev != 0xC2 => seg = Seg::Other,
            _ => return Err(PathError::ControlCharacter),
        }
        prev = b;
    }
    if rest.is_empty() {
        // "/" alone: only meaningful as the all-objects prefix.
        return if allow_trailing_slash { Ok(()) } else { Err(PathError::EmptySegment) };
    }
    if let Some(e) = seg_error {
        return Err(e);
    }
    // The last segment; empty only with the trailing slash of a prefix.
    match seg {
        Seg::Empty if allow_trailing_slash => Ok(()),
        s => segment_error(s).map_or(Ok(()), Err),
    }
}

fn segment_error(seg: Seg) -> Option<PathError> {
    match seg {
        Seg::Empty => Some(PathError::EmptySegment),
        Seg::Dot | Seg::DotDot => Some(PathError::DotSegment),
        Seg::Other => None,
    }
}

/// The canonical text of a request path (see [`CanonicalPath::from_request`]),
/// borrowed when nothing needed decoding: the common case costs no
/// allocation, and the verifier builds a [`CanonicalPath`] only when it
/// must hand one out.
pub(crate) fn canonical_request_path(raw: &str) -> Result<Cow<'_, str>, PathError> {
    decode_checked(raw, false)
}

/// §7 of `docs/link-format.md` on a raw path; `allow_trailing_slash` admits
/// the folder URL of a prefix link (its one empty last segment).
fn decode_checked(raw: &str, allow_trailing_slash: bool) -> Result<Cow<'_, str>, PathError> {
    // Fast paths: nothing to decode, and `raw` is already UTF-8.
    if plainly_canonical(raw, allow_trailing_slash, true) {
        return Ok(Cow::Borrowed(raw));
    }
    if !raw.contains('%') {
        check_decoded(raw, allow_trailing_slash)?;
        return Ok(Cow::Borrowed(raw));
    }
    let raw = raw.as_bytes();
    if raw.first() != Some(&b'/') {
        return Err(PathError::NotAbsolute);
    }
    // Each decoded byte takes at most three raw bytes: a longer raw path is
    // refused before decoding (a MUST of §7, so the reason does not depend
    // on the implementation), and nobody can make us decode megabytes.
    if raw.len() > MAX_RAW_PATH_BYTES {
        return Err(PathError::TooLong);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == b'%' {
            let hi = raw.get(i + 1).copied().and_then(hex_value);
            let lo = raw.get(i + 2).copied().and_then(hex_value);
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(PathError::BadPercentEscape);
            };
            let decoded = (hi << 4) | lo;
            match decoded {
                b'/' => return Err(PathError::EncodedSlash),
                b'\\' => return Err(PathError::Backslash),
                0 => return Err(PathError::Nul),
                _ => out.push(decoded),
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    if out.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong);
    }
    let text = String::from_utf8(out).map_err(|_| PathError::InvalidUtf8)?;
    check_decoded(&text, allow_trailing_slash)?;
    Ok(Cow::Owned(text))
}

/// The folder a prefix link's own URL names (`/exports/2026/`, or `/`):
/// a raw path ending in `/`, canonicalized like a request path except that
/// its last segment is empty. `linkgate inspect` and the admin API's inspect
/// check such a URL against the link's scope.
pub fn canonical_folder(raw: &str) -> Result<Prefix, PathError> {
    if !raw.ends_with('/') {
        return Err(PathError::NotAbsolute);
    }
    decode_checked(raw, true).map(|p| Prefix(p.into_owned()))
}

/// A canonical object path: decoded, UTF-8 in NFC, starting with `/`, no
/// empty, `.` or `..` segments, no control characters or backslashes, at most
/// 1024 bytes. Only constructible through checking.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CanonicalPath(Arc<str>);

impl CanonicalPath {
    /// Canonicalize the path of a request URL (still percent-encoded):
    /// percent-decode exactly once and refuse anything ambiguous.
    pub fn from_request(raw: &str) -> Result<CanonicalPath, PathError> {
        canonical_request_path(raw).map(|p| CanonicalPath(Arc::from(p)))
    }

    /// Wrap text that [`canonical_request_path`] returned.
    pub(crate) fn from_checked(decoded: &str) -> CanonicalPath {
        CanonicalPath(Arc::from(decoded))
    }

    /// Check an already-decoded object path (CLI input, claim values).
    pub fn parse(decoded: &str) -> Result<CanonicalPath, PathError> {
        check_decoded(decoded, false)?;
        Ok(CanonicalPath(Arc::from(decoded)))
    }

    /// The decoded path, with its leading `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The R2 object key: the path without its leading `/`.
    pub fn object_key(&self) -> &str {
        self.0.get(1..).unwrap_or("")
    }

    /// The last segment: the default download file name.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    /// Percent-encoded form for URLs; `from_request` of it gives `self` back.
    pub fn to_url_path(&self) -> String {
        encode_path(&self.0)
    }
}

impl fmt::Display for CanonicalPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Percent-encode a decoded path for a URL: every byte but the RFC 3986
/// unreserved characters and `/` is escaped, so the result survives any
/// intermediary unchanged.
pub fn encode_path(decoded: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let kept = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/');
    // A nibble always indexes 16 digits (fallback unreachable).
    let hex = |n: u8| HEX.get(usize::from(n)).copied().unwrap_or(b'0');
    let mut out = Vec::with_capacity(decoded.len() + 16);
    // Runs of kept bytes are copied whole: a push per byte is a call each
    // at opt-level z (the JS signer encodes every link's path).
    let mut rest = decoded.as_bytes();
    loop {
        let run = rest.iter().position(|b| !kept(b)).unwrap_or(rest.len());
        let Some((kept_run, tail)) = rest.split_at_checked(run) else { break };
        out.extend_from_slice(kept_run);
        let Some((&b, tail)) = tail.split_first() else { break };
        out.extend_from_slice(&[b'%', hex(b >> 4), hex(b & 15)]);
        rest = tail;
    }
    // Only ASCII was written: always UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// [`Scope::covers`] on the texts of a checked scope and a canonical path:
/// a folder (ending in `/`) covers the paths it starts, an object only
/// itself.
pub(crate) fn scope_covers(scope: &str, path: &str) -> bool {
    if scope.ends_with('/') {
        path.starts_with(scope)
    } else {
        scope == path
    }
}

/// What a link may open: one object, or every object below a folder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Exactly this object.
    Object(CanonicalPath),
    /// Every object whose path starts with this folder (which ends in `/`).
    Prefix(Prefix),
}

/// A canonical folder path ending in `/` (`/` alone is every object).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix(String);

impl Prefix {
    /// Check a decoded folder path; it must end in `/`.
    pub fn parse(decoded: &str) -> Result<Prefix, PathError> {
        if !decoded.ends_with('/') {
            return Err(PathError::NotAbsolute);
        }
        check_decoded(decoded, true)?;
        Ok(Prefix(decoded.to_owned()))
    }

    /// The decoded folder path, with leading and trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whole-segment containment: `/a/` covers `/a/b`, never `/ab`.
    pub fn covers(&self, path: &CanonicalPath) -> bool {
        // The prefix ends in '/', so a plain starts_with is segment-aligned.
        path.as_str().starts_with(self.0.as_str())
    }
}

impl Scope {
    /// Parse a decoded scope: a trailing `/` makes it a prefix.
    pub fn parse(decoded: &str) -> Result<Scope, PathError> {
        if decoded.ends_with('/') {
            Prefix::parse(decoded).map(Scope::Prefix)
        } else {
            CanonicalPath::parse(decoded).map(Scope::Object)
        }
    }

    /// The checks of [`Scope::parse`], without building one.
    pub(crate) fn check(decoded: &str) -> Result<(), PathError> {
        if decoded.ends_with('/') {
            check_decoded(decoded, true)
        } else {
            check_decoded(decoded, false)
        }
    }

    /// [`Scope::check`], skipped when the answer follows from `canonical`,
    /// a request path already found canonical: a scope equal to it is that
    /// same object path, and a scope ending in `/` that starts it consists
    /// of whole segments of it (the common cases, so the verifier does not
    /// scan the same text twice). The NFC check decides each character from
    /// the one before it, so such a prefix of an accepted path is accepted.
    pub(crate) fn check_given(decoded: &str, canonical: &str) -> Result<(), PathError> {
        if decoded == canonical || (decoded.ends_with('/') && canonical.starts_with(decoded)) {
            return Ok(());
        }
        Scope::check(decoded)
    }

    /// Build from text that passed [`Scope::check`].
    pub(crate) fn from_checked(decoded: &str) -> Scope {
        if decoded.ends_with('/') {
            Scope::Prefix(Prefix(decoded.to_owned()))
        } else {
            Scope::Object(CanonicalPath(Arc::from(decoded)))
        }
    }

    /// Does this scope allow the canonical path?
    pub fn covers(&self, path: &CanonicalPath) -> bool {
        match self {
            Scope::Object(p) => p == path,
            Scope::Prefix(p) => p.covers(path),
        }
    }

    /// The decoded text of the scope (as signed).
    pub fn as_str(&self) -> &str {
        match self {
            Scope::Object(p) => p.as_str(),
            Scope::Prefix(p) => p.as_str(),
        }
    }

    /// True for a folder scope.
    pub fn is_prefix(&self) -> bool {
        matches!(self, Scope::Prefix(_))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs of kept bytes are copied whole: the same text as a byte at a time.
    #[test]
    fn encode_path_matches_the_byte_at_a_time_form() {
        let per_byte = |s: &str| {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
                        char::from(b).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        };
        let every: String = (1u32..0x250).filter_map(char::from_u32).chain("😀\u{10ffff}".chars()).collect();
        for s in [every.as_str(), "", "/", "%", "/a b/c", "ä", "/reports/2026/Q1 board pack.pdf", "  "] {
            assert_eq!(encode_path(s), per_byte(s), "{s:?}");
        }
    }

    /// One row per canonicalization rule of the contract.
    #[test]
    fn request_path_rules_table() {
        let long_ok = format!("/{}", "a".repeat(MAX_PATH_BYTES - 1));
        let long_bad = format!("/{}", "a".repeat(MAX_PATH_BYTES));
        let long_encoded = format!("/{}", "%61".repeat(MAX_PATH_BYTES));
        let huge_raw = format!("/{}", "a".repeat(MAX_PATH_BYTES * 3));
        let ok: &[(&str, &str)] = &[
            ("/a", "/a"),
            ("/reports/q3.pdf", "/reports/q3.pdf"),
            ("/a%20b", "/a b"),
            ("/%61%62", "/ab"),
            ("/caf%C3%A9.pdf", "/café.pdf"),
            ("/café.pdf", "/café.pdf"),
            ("/a/.hidden", "/a/.hidden"),
            ("/a/...", "/a/..."),
            ("/a/..b", "/a/..b"),
            ("/%2525", "/%25"),
            ("/a%3Fb", "/a?b"),
            ("/%E0%AE%95%E0%AE%BE", "/\u{b95}\u{bbe}"),
            ("/\u{b95}\u{bbe}.pdf", "/\u{b95}\u{bbe}.pdf"),
            ("/\u{ac00}/%EA%B0%81", "/\u{ac00}/\u{ac01}"),
        ];
        for &(raw, want) in ok {
            assert_eq!(CanonicalPath::from_request(raw).map(|p| p.0.to_string()), Ok(want.to_owned()), "{raw}");
        }
        assert_eq!(CanonicalPath::from_request(&long_ok).map(|p| p.0.len()), Ok(MAX_PATH_BYTES));

        let bad: &[(&str, PathError)] = &[
            ("", PathError::NotAbsolute),
            ("a/b", PathError::NotAbsolute),
            ("%2Fa", PathError::NotAbsolute),
            ("/", PathError::EmptySegment),
            ("//a", PathError::EmptySegment),
            ("/a//b", PathError::EmptySegment),
            ("/a/", PathError::EmptySegment),
            ("/a/.", PathError::DotSegment),
            ("/a/./b", PathError::DotSegment),
            ("/a/../b", PathError::DotSegment),
            ("/..", PathError::DotSegment),
            ("/%2e%2e/etc", PathError::DotSegment),
            ("/%2E/a", PathError::DotSegment),
            ("/.%2e/a", PathError::DotSegment),
            ("/a%2Fb", PathError::EncodedSlash),
            ("/a%2fb", PathError::EncodedSlash),
            ("/a%5Cb", PathError::Backslash),
            ("/a%5cb", PathError::Backslash),
            ("/a\\b", PathError::Backslash),
            ("/a%00b", PathError::Nul),
            ("/a\0b", PathError::Nul),
            ("/a%0Ab", PathError::ControlCharacter),
            ("/a%0db", PathError::ControlCharacter),
            ("/a%7Fb", PathError::ControlCharacter),
            ("/a%C2%85b", PathError::ControlCharacter),
            ("/a\tb", PathError::ControlCharacter),
            ("/a%ZZ", PathError::BadPercentEscape),
            ("/a%4", PathError::BadPercentEscape),
            ("/a%", PathError::BadPercentEscape),
            ("/a%%41", PathError::BadPercentEscape),
            ("/%C3", PathError::InvalidUtf8),
            ("/%FF", PathError::InvalidUtf8),
            ("/%ED%A0%80", PathError::InvalidUtf8),
            ("/%C0%AF", PathError::InvalidUtf8),
            ("/e%CC%81", PathError::NotNfc),
            ("/board/e\u{301}.pdf", PathError::NotNfc),
            ("/e\u{323}", PathError::NotNfc),
            ("/a/e\u{323}", PathError::NotNfc),
            ("/%E2%84%AB", PathError::NotNfc),
            ("/\u{1100}\u{1161}", PathError::NotNfc),
            ("/\u{bc6}\u{bbe}", PathError::NotNfc),
            ("/e\u{301}/../x", PathError::DotSegment),
            ("/e\u{301}\t", PathError::ControlCharacter),
        ];
        for &(raw, want) in bad {
            assert_eq!(CanonicalPath::from_request(raw), Err(want), "{raw:?}");
        }
        assert_eq!(CanonicalPath::from_request(&long_bad), Err(PathError::TooLong));
        assert_eq!(CanonicalPath::from_request(&long_encoded), Err(PathError::TooLong));
        assert_eq!(CanonicalPath::from_request(&huge_raw), Err(PathError::TooLong));
    }

    #[test]
    fn percent_decoding_happens_exactly_once() {
        // %252F is "%2F" after one decode: a literal key name, not a slash.
        let p = CanonicalPath::from_request("/a%252Fb").unwrap();
        assert_eq!(p.as_str(), "/a%2Fb");
        assert_eq!(p.object_key(), "a%2Fb");
        let p = CanonicalPath::from_request("/%252e%252e").unwrap();
        assert_eq!(p.as_str(), "/%2e%2e");
    }

    #[test]
    fn scope_covers_on_texts_is_scope_covers() {
        let scopes = ["/", "/a/", "/a/b", "/a/b/", "/ab", "/a/b/c.txt", "/é/"];
        let paths = ["/a", "/a/b", "/ab", "/a/b/c.txt", "/a/bc", "/é/x", "/b"];
        for s in scopes {
            for p in paths {
                let scope = Scope::parse(s).unwrap();
                let path = CanonicalPath::parse(p).unwrap();
                assert_eq!(scope_covers(s, p), scope.covers(&path), "{s} {p}");
            }
        }
    }

    #[test]
    fn prefix_matches_whole_segments_only() {
        let a = Scope::parse("/a/").unwrap();
        let yes = ["/a/b", "/a/b/c", "/a/.x"];
        let no = ["/a", "/ab", "/ab/c", "/b/a/c", "/A/b"];
        for p in yes {
            assert!(a.covers(&CanonicalPath::parse(p).unwrap()), "{p}");
        }
        for p in no {
            assert!(!a.covers(&CanonicalPath::parse(p).unwrap()), "{p}");
        }
        let all = Scope::parse("/").unwrap();
        assert!(all.covers(&CanonicalPath::parse("/x/y").unwrap()));
        let obj = Scope::parse("/a/b").unwrap();
        assert!(obj.covers(&CanonicalPath::parse("/a/b").unwrap()));
        assert!(!obj.covers(&CanonicalPath::parse("/a/b/c").unwrap()));
        assert!(!obj.covers(&CanonicalPath::parse("/a/bc").unwrap()));
    }

    #[test]
    fn scopes_follow_the_same_rules() {
        assert_eq!(Scope::parse("/a//"), Err(PathError::EmptySegment));
        assert_eq!(Scope::parse("/a/../"), Err(PathError::DotSegment));
        assert_eq!(Scope::parse("a/"), Err(PathError::NotAbsolute));
        assert_eq!(Scope::parse(""), Err(PathError::NotAbsolute));
        assert_eq!(Scope::parse("/board/e\u{301}/"), Err(PathError::NotNfc));
        assert_eq!(Scope::parse("/board/e\u{301}.pdf"), Err(PathError::NotNfc));
        assert_eq!(Prefix::parse("/\u{212b}/"), Err(PathError::NotNfc));
        assert!(Scope::parse("/board/\u{e9}/").unwrap().is_prefix());
        assert!(Scope::parse("/a/b/").unwrap().is_prefix());
        assert!(!Scope::parse("/a/b").unwrap().is_prefix());
    }

    #[test]
    fn url_encoding_round_trips() {
        for p in ["/a b/ü.pdf", "/%41", "/a?b#c", "/x/+&=;,", "/~user/-._"] {
            let c = CanonicalPath::parse(p).unwrap();
            let url = c.to_url_path();
            assert!(url.bytes().all(|b| b.is_ascii_graphic()), "{url}");
            assert_eq!(CanonicalPath::from_request(&url).unwrap(), c);
        }
    }

    #[test]
    fn object_key_and_file_name() {
        let p = CanonicalPath::parse("/reports/2026/q3.pdf").unwrap();
        assert_eq!(p.object_key(), "reports/2026/q3.pdf");
        assert_eq!(p.file_name(), "q3.pdf");
    }

    /// The two-pass checker this module used before the one-pass table scan;
    /// kept to pin the scan to the same answers and reason order.
    fn reference_check(path: &str, allow_trailing_slash: bool) -> Result<(), PathError> {
        let rest = path.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
        if path.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong);
        }
        let mut prev = 0u8;
        for &b in path.as_bytes() {
            match b {
                0 => return Err(PathError::Nul),
                0x01..=0x1F | 0x7F => return Err(PathError::ControlCharacter),
                0x80..=0x9F if prev == 0xC2 => return Err(PathError::ControlCharacter),
                b'\\' => return Err(PathError::Backslash),
                _ => {}
            }
            prev = b;
        }
        if rest.is_empty() {
            return if allow_trailing_slash { Ok(()) } else { Err(PathError::EmptySegment) };
        }
        let body = match rest.strip_suffix('/') {
            Some(b) if allow_trailing_slash => b,
            _ => rest,
        };
        for seg in body.split('/') {
            match seg {
                "" => return Err(PathError::EmptySegment),
                "." | ".." => return Err(PathError::DotSegment),
                _ => {}
            }
        }
        // The NFC rule comes last; its own reference test is in tests/properties.rs.
        if nfc::is_nfc(path) {
            Ok(())
        } else {
            Err(PathError::NotNfc)
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        #[test]
        fn one_pass_check_matches_the_reference(parts in proptest::collection::vec(proptest::sample::select(vec![
                "/", "//", ".", "..", "...", "a", ".a", "\u{0}", "\t", "\u{1f}", " ", "~", "\u{7f}", "\u{85}", "\u{9f}", "\u{a0}",
                "\u{c2}", "é", "\\", "abcdefg", "/a/b/c/", "%", "e", "\u{301}", "\u{323}", "\u{212b}",
            ]), 0..40),
            allow in proptest::bool::ANY) {
            let path: String = parts.concat();
            proptest::prop_assert_eq!(check_decoded(&path, allow), reference_check(&path, allow), "{:?}", path);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// ASCII paths dense in '/' and '.', so that every position of a
        /// segment boundary in and across the 8-byte words is exercised.
        #[test]
        fn word_scan_matches_the_reference(path in "/[ab./]{0,40}|/[ab./\\\\\t\x7f\x1f ]{0,24}", allow in proptest::bool::ANY) {
            proptest::prop_assert_eq!(check_decoded(&path, allow), reference_check(&path, allow), "{:?}", path);
        }
    }

    proptest::proptest! {
        #[test]
        fn scope_shortcut_agrees_with_the_full_check(
            parts in proptest::collection::vec(proptest::sample::select(vec!["/", "a", "b", ".", "..", "é", "\u{85}", "\t"]), 1..8),
            cut in 0usize..16, tail in proptest::sample::select(vec!["", "/", "x", "/.", "//"])) {
            let path: String = parts.concat();
            if check_decoded(&path, false).is_ok() {
                // Scopes derived from the path: itself, its folders, and near misses.
                let mut cuts: Vec<String> = path.char_indices().filter(|&(_, c)| c == '/').map(|(i, _)| path[..=i].to_owned()).collect();
                cuts.push(path.clone());
                let base = cuts.get(cut % cuts.len()).cloned().unwrap_or_default();
                let scope = format!("{base}{tail}");
                proptest::prop_assert_eq!(Scope::check_given(&scope, &path), Scope::check(&scope), "{:?} {:?}", scope, path);
            }
        }
    }
}

//! HTTP details decided without I/O: byte ranges, preconditions, HTTP dates
//! and Content-Disposition.
//!
//! Every input here is attacker-controlled header text, so parsing is
//! bounded (long values are refused before any work), uses checked
//! arithmetic and `get`, and never panics.

use crate::decimal;

/// Header values longer than this are not parsed: no legitimate Range,
/// If-Range or validator list comes close, and the cap bounds the work.
const MAX_HEADER: usize = 1024;

/// Longest HTTP date accepted (the longest RFC 850 form is 33 bytes).
const MAX_DATE: usize = 64;

/// Trim optional whitespace (RFC 9110 OWS: space and horizontal tab only).
fn trim_ows(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t')
}

/// A non-empty run of ASCII digits as a `u64`; `None` on anything else,
/// including values that overflow.
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.bytes().try_fold(0u64, |acc, b| {
        let d = if b.is_ascii_digit() { b.checked_sub(b'0')? } else { return None };
        acc.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// Exactly `width` ASCII digits.
fn fixed_digits(s: &str, width: usize) -> Option<u64> {
    if s.len() == width {
        digits(s)
    } else {
        None
    }
}

// ---------------------------------------------------------------- Range

/// Outcome of a Range header against an object of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeDecision {
    /// 200 with the whole object: no Range, several ranges, or an If-Range
    /// that does not match the current object.
    Full,
    /// 206 with bytes `start..=end` (both inclusive, `end < size`).
    Partial { start: u64, end: u64 },
    /// 416: the Range is invalid or cannot be satisfied.
    Unsatisfiable,
}

/// One syntactically valid byte-range-spec.
#[derive(Debug, Clone, Copy)]
enum Spec {
    /// `a-b` with `a <= b`.
    FromTo(u64, u64),
    /// `a-`.
    From(u64),
    /// `-n`: the last `n` bytes.
    Suffix(u64),
}

fn parse_spec(s: &str) -> Option<Spec> {
    let (first, last) = s.split_once('-')?;
    let (first, last) = (trim_ows(first), trim_ows(last));
    if first.is_empty() {
        return Some(Spec::Suffix(digits(last)?));
    }
    let a = digits(first)?;
    if last.is_empty() {
        return Some(Spec::From(a));
    }
    let b = digits(last)?;
    // RFC 9110 §14.1.1: a last-pos below first-pos makes the range invalid.
    (a <= b).then_some(Spec::FromTo(a, b))
}

/// Decide a Range request (RFC 9110 §14.2, §13.1.5).
///
/// `range`: the Range header; `if_range`: the If-Range header; `etag`: the
/// object's strong ETag as sent in headers (quoted, e.g. `"\"abc\""`);
/// `last_modified`: Unix seconds.
///
/// Choices, all permitted by RFC 9110:
/// - Only single ranges are served. A request for several ranges gets the
///   whole object (200): multipart/byteranges is never produced, so there is
///   no amplification and no multipart code to get wrong.
/// - Invalid syntax, other units and overflowing numbers are answered with
///   416 rather than silently ignored, so a broken client learns of its bug.
/// - If-Range is evaluated first: when it does not match, the Range is
///   ignored entirely (RFC 9110 §13.2.2 step 5), valid or not.
/// - Empty list elements (`bytes=0-9,`) are ignored as RFC 9110 §5.6.1
///   requires, so they do not turn a single range into a multi-range.
pub fn decide_range(
    range: Option<&str>,
    if_range: Option<&str>,
    size: u64,
    etag: &str,
    last_modified: u64,
) -> RangeDecision {
    let Some(range) = range else { return RangeDecision::Full };
    if range.len() > MAX_HEADER {
        return RangeDecision::Unsatisfiable;
    }
    if let Some(ir) = if_range {
        if !if_range_matches(ir, etag, last_modified) {
            return RangeDecision::Full;
        }
    }
    let Some((unit, set)) = range.split_once('=') else { return RangeDecision::Unsatisfiable };
    if !trim_ows(unit).eq_ignore_ascii_case("bytes") {
        return RangeDecision::Unsatisfiable;
    }
    let mut specs = set.split(',').map(trim_ows).filter(|s| !s.is_empty());
    let Some(first) = specs.next().and_then(parse_spec) else { return RangeDecision::Unsatisfiable };
    let mut several = false;
    for other in specs {
        if parse_spec(other).is_none() {
            return RangeDecision::Unsatisfiable;
        }
        several = true;
    }
    // An empty object has no byte to serve, whatever was asked for.
    let Some(last_byte) = size.checked_sub(1) else { return RangeDecision::Unsatisfiable };
    if several {
        return RangeDecision::Full;
    }
    match first {
        // A zero-length suffix selects nothing (RFC 9110 §14.1.3).
        Spec::Suffix(0) => RangeDecision::Unsatisfiable,
        Spec::Suffix(n) => RangeDecision::Partial { start: size.saturating_sub(n), end: last_byte },
        Spec::From(a) | Spec::FromTo(a, _) if a > last_byte => RangeDecision::Unsatisfiable,
        Spec::From(a) => RangeDecision::Partial { start: a, end: last_byte },
        Spec::FromTo(a, b) => RangeDecision::Partial { start: a, end: b.min(last_byte) },
    }
}

/// Where a *continuation* starts: a Range header that names exactly one
/// range `bytes=N-` or `bytes=N-M` with `N > 0`. Only such a request can be
/// a free continuation of a bounded-use download or a resume after `exp`;
/// `bytes=0-`, suffix ranges (`bytes=-N`) and several ranges ask for the
/// object from its start (or all of it) again, so they are not.
pub fn continuation_start(range: Option<&str>) -> Option<u64> {
    let range = range?;
    if range.len() > MAX_HEADER {
        return None;
    }
    let (unit, set) = range.split_once('=')?;
    if !trim_ows(unit).eq_ignore_ascii_case("bytes") {
        return None;
    }
    let mut specs = set.split(',').map(trim_ows).filter(|s| !s.is_empty());
    let first = parse_spec(specs.next()?)?;
    if specs.next().is_some() {
        return None;
    }
    match first {
        Spec::From(a) | Spec::FromTo(a, _) if a > 0 => Some(a),
        _ => None,
    }
}

/// If-Range (RFC 9110 §13.1.5): an entity tag must match by *strong*
/// comparison, a date must equal Last-Modified exactly. Anything else,
/// including an unparsable value, is "no match", which only costs a 200.
fn if_range_matches(value: &str, etag: &str, last_modified: u64) -> bool {
    if value.len() > MAX_HEADER {
        return false;
    }
    let value = trim_ows(value);
    if value.starts_with('"') || value.starts_with("W/") {
        return match (single_etag(value), single_etag(trim_ows(etag))) {
            (Some(theirs), Some(ours)) => !theirs.weak && !ours.weak && theirs.opaque == ours.opaque,
            _ => false,
        };
    }
    parse_http_date(value) == Some(last_modified)
}

/// `Content-Range` of a 206, e.g. `bytes 0-99/1000`.
pub fn content_range(start: u64, end: u64, size: u64) -> String {
    format!("bytes {start}-{end}/{size}")
}

/// `Content-Range` of a 416, e.g. `bytes */1000`, so the client learns the size.
pub fn unsatisfied_content_range(size: u64) -> String {
    format!("bytes */{size}")
}

// -------------------------------------------------------- Entity tags

/// A parsed entity-tag; `opaque` is the text between the quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EntityTag<'a> {
    weak: bool,
    opaque: &'a str,
}

/// RFC 9110 etagc: `%x21 / %x23-7E / obs-text`.
fn is_etagc(b: u8) -> bool {
    b == 0x21 || (0x23..=0x7E).contains(&b) || b >= 0x80
}

/// Parse one entity-tag at the start of `s`; return it and the rest.
fn take_etag(s: &str) -> Option<(EntityTag<'_>, &str)> {
    let (weak, s) = match s.strip_prefix("W/") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (opaque, rest) = s.strip_prefix('"')?.split_once('"')?;
    opaque.bytes().all(is_etagc).then_some((EntityTag { weak, opaque }, rest))
}

/// `s` is exactly one entity-tag.
fn single_etag(s: &str) -> Option<EntityTag<'_>> {
    match take_etag(s)? {
        (tag, "") => Some(tag),
        _ => None,
    }
}

/// Does any tag of an If-None-Match list match `ours` by weak comparison?
/// `None` when the list is malformed (or has no tag at all). Entity tags may
/// contain commas, so the list is scanned tag by tag, not split on `,`.
fn list_matches_weakly(list: &str, ours: Option<EntityTag<'_>>) -> Option<bool> {
    let mut rest = list;
    let mut tags = 0usize;
    let mut matched = false;
    loop {
        rest = trim_ows(rest);
        if let Some(r) = rest.strip_prefix(',') {
            rest = r; // empty list element: ignored (RFC 9110 §5.6.1)
            continue;
        }
        if rest.is_empty() {
            break;
        }
        let (tag, after) = take_etag(rest)?;
        tags = tags.saturating_add(1);
        matched |= ours.is_some_and(|o| o.opaque == tag.opaque);
        rest = trim_ows(after);
        if !rest.is_empty() {
            rest = rest.strip_prefix(',')?;
        }
    }
    (tags > 0).then_some(matched)
}

// ------------------------------------------------------ Preconditions

/// Outcome of If-None-Match / If-Modified-Since on a GET or HEAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// 304: the client's copy is current.
    NotModified,
    /// Serve the object.
    Proceed,
}

/// RFC 9110 §13.2.2 for GET/HEAD.
///
/// If-None-Match, when present, decides alone (weak comparison, `*` matches
/// any existing object); If-Modified-Since is only looked at without it.
/// Anything malformed or unparsable means `Proceed`: sending the object is
/// always safe, a wrong 304 is not.
pub fn evaluate_preconditions(
    if_none_match: Option<&str>,
    if_modified_since: Option<&str>,
    etag: &str,
    last_modified: u64,
) -> Precondition {
    if let Some(inm) = if_none_match {
        if inm.len() > MAX_HEADER {
            return Precondition::Proceed;
        }
        let inm = trim_ows(inm);
        if inm == "*" {
            return Precondition::NotModified;
        }
        return match list_matches_weakly(inm, single_etag(trim_ows(etag))) {
            Some(true) => Precondition::NotModified,
            Some(false) | None => Precondition::Proceed,
        };
    }
    match if_modified_since.filter(|v| v.len() <= MAX_HEADER).and_then(parse_http_date) {
        Some(since) if last_modified <= since => Precondition::NotModified,
        _ => Precondition::Proceed,
    }
}

// ---------------------------------------------------------- HTTP dates

/// Last second representable as a four-digit IMF-fixdate year:
/// 9999-12-31T23:59:59Z.
const MAX_UNIX: u64 = 253_402_300_799;
const SECS_PER_DAY: u64 = 86_400;
/// Days from 0000-03-01 (the proleptic era origin) to 1970-01-01.
const EPOCH_SHIFT: u64 = 719_468;
const DAYS_PER_ERA: u64 = 146_097;

/// Indexed by days since the epoch mod 7; 1970-01-01 was a Thursday.
const SHORT_DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const LONG_DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01
/// (Howard Hinnant's civil_from_days, unsigned since we never go before 1970).
pub(crate) fn civil_from_days(days: u64) -> (u64, u32, u32) {
    let z = days.saturating_add(EPOCH_SHIFT);
    let era = z / DAYS_PER_ERA;
    let doe = z % DAYS_PER_ERA; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365], March-based
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let y = era.saturating_mul(400).saturating_add(yoe).saturating_add(u64::from(m <= 2));
    (y, u32::try_from(m).unwrap_or(1), u32::try_from(d).unwrap_or(1))
}

/// Days since 1970-01-01 of a valid civil date in or after 1970 (the inverse
/// of [`civil_from_days`]); `None` before 1970.
fn days_from_civil(y: u64, m: u32, d: u32) -> Option<u64> {
    let (m, d) = (u64::from(m), u64::from(d));
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y.checked_sub(1)? } else { y };
    let era = y / 400;
    let yoe = y % 400;
    let mp = if m > 2 { m - 3 } else { m + 9 }; // March-based month [0, 11]
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era.checked_mul(DAYS_PER_ERA)?.checked_add(doe)?.checked_sub(EPOCH_SHIFT)
}

fn is_leap(y: u64) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`, the only form HTTP
/// senders may produce. Times after 9999-12-31T23:59:59Z are clamped to it,
/// since the format has a four-digit year.
pub fn http_date(unix: u64) -> String {
    let t = unix.min(MAX_UNIX);
    let days = t / SECS_PER_DAY;
    let secs = t % SECS_PER_DAY;
    let (y, m, d) = civil_from_days(days);
    let wd = usize::try_from(days % 7).ok().and_then(|i| SHORT_DAYS.get(i)).copied().unwrap_or("Thu");
    let mon = m.checked_sub(1).and_then(|i| MONTHS.get(usize::try_from(i).ok()?)).copied().unwrap_or("Jan");
    let mut out = String::with_capacity(29);
    out.push_str(wd);
    out.push_str(", ");
    decimal::push(&mut out, u64::from(d), 2);
    out.push(' ');
    out.push_str(mon);
    out.push(' ');
    decimal::push(&mut out, y, 4);
    for (sep, n) in [(' ', secs / 3600), (':', secs % 3600 / 60), (':', secs % 60)] {
        out.push(sep);
        decimal::push(&mut out, n, 2);
    }
    out.push_str(" GMT");
    out
}

/// `HH:MM:SS` as seconds into the day. A leap second is only accepted where
/// one can occur, at 23:59:60 (RFC 9110 §5.6.7); it counts as the next
/// day's midnight, as Unix time has no leap seconds.
fn time_of_day(s: &str) -> Option<u64> {
    let mut it = s.split(':');
    let (h, m, sec) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let (h, m, sec) = (fixed_digits(h, 2)?, fixed_digits(m, 2)?, fixed_digits(sec, 2)?);
    let valid = h < 24 && m < 60 && (sec < 60 || (sec == 60 && h == 23 && m == 59));
    valid.then(|| h * 3600 + m * 60 + sec)
}

/// Unix seconds of a validated date; `None` before 1970, after 9999 or on
/// an impossible day (31 Nov, 29 Feb of a common year, ...).
fn assemble(y: u64, month: &str, d: u64, secs: u64) -> Option<u64> {
    let m = MONTHS.iter().position(|x| *x == month)?;
    let m = u32::try_from(m).ok()?.checked_add(1)?;
    let d = u32::try_from(d).ok()?;
    if !(1970..=9999).contains(&y) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    days_from_civil(y, m, d)?.checked_mul(SECS_PER_DAY)?.checked_add(secs)
}

/// Parse an HTTP date (RFC 9110 §5.6.7): IMF-fixdate, and the obsolete
/// RFC 850 and asctime forms that recipients MUST accept. Names are
/// case-sensitive; the weekday must be a real name but is not checked
/// against the date. Dates before 1970 give `None`.
///
/// RFC 850 has two-digit years; the core has no clock, so they are read as
/// 1970–2069 (00–69 → 20xx, 70–99 → 19xx) instead of relative to "now".
pub fn parse_http_date(s: &str) -> Option<u64> {
    if s.len() > MAX_DATE {
        return None;
    }
    let parts: Vec<&str> = trim_ows(s).split(' ').collect();
    match parts.as_slice() {
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        [wd, d, mon, y, t, "GMT"] => {
            if !SHORT_DAYS.contains(&wd.strip_suffix(',')?) {
                return None;
            }
            assemble(fixed_digits(y, 4)?, mon, fixed_digits(d, 2)?, time_of_day(t)?)
        }
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
        [wd, dmy, t, "GMT"] => {
            if !LONG_DAYS.contains(&wd.strip_suffix(',')?) {
                return None;
            }
            let mut it = dmy.split('-');
            let (d, mon, y) = (it.next()?, it.next()?, it.next()?);
            if it.next().is_some() {
                return None;
            }
            let yy = fixed_digits(y, 2)?;
            let century: u64 = if yy >= 70 { 1900 } else { 2000 };
            let year = century.checked_add(yy)?;
            assemble(year, mon, fixed_digits(d, 2)?, time_of_day(t)?)
        }
        // asctime: Sun Nov  6 08:49:37 1994 (one-digit day padded with a space)
        [wd, mon, "", d, t, y] | [wd, mon, d, t, y] => {
            if !SHORT_DAYS.contains(wd) {
                return None;
            }
            let width = if parts.len() == 6 { 1 } else { 2 };
            assemble(fixed_digits(y, 4)?, mon, fixed_digits(d, width)?, time_of_day(t)?)
        }
        _ => None,
    }
}

// ------------------------------------------------- Content-Disposition

/// RFC 8187 attr-char: sent as-is in `filename*`; every other byte is
/// percent-encoded.
fn is_attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b)
}

fn hex_upper(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).map_or('0', |c| c.to_ascii_uppercase())
}

/// `attachment; filename="<ascii fallback>"; filename*=UTF-8''<percent-encoded>` (RFC 6266 + RFC 8187).
///
/// Modern clients use `filename*`, which carries the exact UTF-8 name; old
/// ones get a fallback with every non-ASCII char, `"`, `\`, `%`, `;` and
/// control char replaced by `_`, so it stays a plain quoted-string that no
/// client can misread. No control character (CR/LF included) ever reaches
/// the header, so a file name cannot inject headers.
pub fn content_disposition(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| if c.is_ascii() && !c.is_ascii_control() && !matches!(c, '"' | '\\' | '%' | ';') { c } else { '_' })
        .collect();
    let mut encoded = String::with_capacity(filename.len().saturating_mul(3));
    for b in filename.bytes() {
        if is_attr_char(b) {
            encoded.push(char::from(b));
        } else {
            encoded.push('%');
            encoded.push(hex_upper(b >> 4));
            encoded.push(hex_upper(b & 0x0F));
        }
    }
    let mut out = String::with_capacity(fallback.len().saturating_add(encoded.len()).saturating_add(40));
    out.push_str("attachment; filename=\"");
    out.push_str(&fallback);
    out.push_str("\"; filename*=UTF-8''");
    out.push_str(&encoded);
    out
}

/// Quote an R2 etag (hex) as an HTTP strong entity tag if it is not quoted already.
///
/// R2 exposes both the bare hex and the quoted form; taking either keeps the
/// ETag, If-None-Match and If-Range comparisons consistent.
pub fn strong_etag(etag: &str) -> String {
    if etag.len() >= 2 && etag.starts_with('"') && etag.ends_with('"') {
        etag.to_owned()
    } else {
        let mut out = String::with_capacity(etag.len().saturating_add(2));
        out.push('"');
        out.push_str(etag);
        out.push('"');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use RangeDecision::{Full, Partial, Unsatisfiable};

    /// F9: only a single range that starts after byte 0 continues a download.
    #[test]
    fn continuations_are_single_ranges_after_byte_zero() {
        for (h, want) in [
            (None, None),
            (Some("bytes=1000-"), Some(1000)),
            (Some("bytes=1-1"), Some(1)),
            (Some(" Bytes = 7-9 ,"), Some(7)),
            (Some("bytes=0-"), None),
            (Some("bytes=0-999"), None),
            (Some("bytes=-500"), None),
            (Some("bytes=100-,200-"), None),
            (Some("bytes=0-10,1000-"), None),
            (Some("bytes=10-5"), None),
            (Some("items=10-"), None),
            (Some("bytes=x-"), None),
            (Some("bytes="), None),
            (Some(""), None),
        ] {
            assert_eq!(continuation_start(h), want, "{h:?}");
        }
    }

    const ET: &str = "\"abc\"";
    /// Sun, 06 Nov 1994 08:49:37 GMT
    const LM: u64 = 784_111_777;
    const LM_IMF: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

    fn r(h: &str, size: u64) -> RangeDecision {
        decide_range(Some(h), None, size, ET, LM)
    }

    fn p(start: u64, end: u64) -> RangeDecision {
        Partial { start, end }
    }

    // ------------------------------------------------------------ Range

    #[test]
    fn no_range_is_full() {
        assert_eq!(decide_range(None, None, 1000, ET, LM), Full);
        assert_eq!(decide_range(None, None, 0, ET, LM), Full);
        // If-Range alone means nothing.
        assert_eq!(decide_range(None, Some(ET), 1000, ET, LM), Full);
        assert_eq!(decide_range(None, Some("\"other\""), 1000, ET, LM), Full);
    }

    #[test]
    fn closed_ranges() {
        assert_eq!(r("bytes=0-0", 1000), p(0, 0));
        assert_eq!(r("bytes=0-9", 1000), p(0, 9));
        assert_eq!(r("bytes=0-999", 1000), p(0, 999));
        assert_eq!(r("bytes=999-999", 1000), p(999, 999));
        assert_eq!(r("bytes=500-600", 1000), p(500, 600));
        assert_eq!(r("bytes=5-5", 1000), p(5, 5));
        assert_eq!(r("bytes=0-0", 1), p(0, 0));
    }

    #[test]
    fn end_is_clamped_to_last_byte() {
        assert_eq!(r("bytes=0-1000", 1000), p(0, 999));
        assert_eq!(r("bytes=995-5000", 1000), p(995, 999));
        assert_eq!(r("bytes=999-1000", 1000), p(999, 999));
        assert_eq!(r(&format!("bytes=0-{}", u64::MAX), 1000), p(0, 999));
        assert_eq!(r(&format!("bytes=0-{}", u64::MAX), u64::MAX), p(0, u64::MAX - 1));
        assert_eq!(r("bytes=0-5", 1), p(0, 0));
    }

    #[test]
    fn open_ranges() {
        assert_eq!(r("bytes=0-", 1000), p(0, 999));
        assert_eq!(r("bytes=998-", 1000), p(998, 999));
        assert_eq!(r("bytes=999-", 1000), p(999, 999));
        assert_eq!(r("bytes=0-", 1), p(0, 0));
    }

    #[test]
    fn start_at_or_past_size_is_unsatisfiable() {
        assert_eq!(r("bytes=1000-", 1000), Unsatisfiable);
        assert_eq!(r("bytes=1000-1000", 1000), Unsatisfiable);
        assert_eq!(r("bytes=1000-2000", 1000), Unsatisfiable);
        assert_eq!(r("bytes=1001-", 1000), Unsatisfiable);
        assert_eq!(r("bytes=1-", 1), Unsatisfiable);
        assert_eq!(r(&format!("bytes={}-", u64::MAX), 1000), Unsatisfiable);
        assert_eq!(r(&format!("bytes={}-", u64::MAX - 1), u64::MAX), p(u64::MAX - 1, u64::MAX - 1));
        assert_eq!(r(&format!("bytes={}-", u64::MAX), u64::MAX), Unsatisfiable);
    }

    #[test]
    fn suffix_ranges() {
        assert_eq!(r("bytes=-1", 1000), p(999, 999));
        assert_eq!(r("bytes=-10", 1000), p(990, 999));
        assert_eq!(r("bytes=-999", 1000), p(1, 999));
        assert_eq!(r("bytes=-1000", 1000), p(0, 999));
        assert_eq!(r("bytes=-1001", 1000), p(0, 999));
        assert_eq!(r("bytes=-5000", 1000), p(0, 999));
        assert_eq!(r(&format!("bytes=-{}", u64::MAX), 1000), p(0, 999));
        assert_eq!(r("bytes=-1", 1), p(0, 0));
        assert_eq!(r("bytes=-0", 1000), Unsatisfiable);
        assert_eq!(r("bytes=-000", 1000), Unsatisfiable);
    }

    #[test]
    fn reversed_range_is_unsatisfiable() {
        assert_eq!(r("bytes=5-2", 1000), Unsatisfiable);
        assert_eq!(r("bytes=1-0", 1000), Unsatisfiable);
        assert_eq!(r("bytes=2000-1000", 1000), Unsatisfiable);
    }

    #[test]
    fn empty_object_refuses_every_range() {
        for h in ["bytes=0-", "bytes=0-0", "bytes=-1", "bytes=-0", "bytes=0-1,2-3", "bytes=x"] {
            assert_eq!(r(h, 0), Unsatisfiable, "{h}");
        }
    }

    #[test]
    fn unit_and_whitespace_tolerance() {
        assert_eq!(r("BYTES=0-9", 1000), p(0, 9));
        assert_eq!(r("Bytes=0-9", 1000), p(0, 9));
        assert_eq!(r("bytes = 10 - 19", 1000), p(10, 19));
        assert_eq!(r("BYTES = 10 - 19", 1000), p(10, 19));
        assert_eq!(r("bytes=\t10\t-\t19\t", 1000), p(10, 19));
        assert_eq!(r(" bytes=0-9 ", 1000), p(0, 9));
        assert_eq!(r("bytes= -5", 1000), p(995, 999));
        assert_eq!(r("bytes=- 5", 1000), p(995, 999));
        assert_eq!(r("bytes=5 - ", 1000), p(5, 999));
        assert_eq!(r("bytes=007-010", 1000), p(7, 10));
        // Only SP and HTAB are whitespace.
        assert_eq!(r("bytes=0-9\r\n", 1000), Unsatisfiable);
        assert_eq!(r("bytes=\u{a0}0-9", 1000), Unsatisfiable);
    }

    #[test]
    fn garbage_is_unsatisfiable() {
        for h in [
            "",
            "bytes",
            "bytes=",
            "bytes= ",
            "bytes=-",
            "bytes= - ",
            "bytes=--1",
            "bytes=0--1",
            "bytes=1-2-3",
            "bytes=+1-2",
            "bytes=1-+2",
            "bytes=-+1",
            "bytes=0x10-0x20",
            "bytes=1e3-",
            "bytes=1.5-2",
            "bytes=abc",
            "bytes=a-b",
            "bytes=0",
            "bytes 0-1",
            "bytes:0-1",
            "bytes==0-1",
            "=0-1",
            "items=0-1",
            "byte=0-1",
            "bytesx=0-1",
            "bytes=０-１",
            "bytes=1 2-3",
            "bytes=,",
            "bytes=, ,",
        ] {
            assert_eq!(r(h, 1000), Unsatisfiable, "{h:?}");
        }
    }

    #[test]
    fn overflowing_numbers_are_unsatisfiable() {
        let max = u64::MAX.to_string();
        assert_eq!(max, "18446744073709551615");
        assert_eq!(r("bytes=18446744073709551616-", 1000), Unsatisfiable);
        assert_eq!(r("bytes=0-18446744073709551616", 1000), Unsatisfiable);
        assert_eq!(r("bytes=-18446744073709551616", 1000), Unsatisfiable);
        assert_eq!(r("bytes=99999999999999999999-", 1000), Unsatisfiable);
        assert_eq!(r(&format!("bytes=0-{}", "9".repeat(500)), 1000), Unsatisfiable);
        // Exactly u64::MAX parses.
        assert_eq!(r(&format!("bytes=0-{max}"), 10), p(0, 9));
        assert_eq!(r(&format!("bytes=-{max}"), 10), p(0, 9));
        // Leading zeros do not count towards overflow.
        assert_eq!(r(&format!("bytes=0-{}{max}", "0".repeat(100)), 10), p(0, 9));
    }

    #[test]
    fn multi_range_is_full() {
        assert_eq!(r("bytes=0-1,5-6", 1000), Full);
        assert_eq!(r("bytes=0-1, 5-6", 1000), Full);
        assert_eq!(r("bytes=0-1 , -5 , 9-", 1000), Full);
        assert_eq!(r("bytes=0-0,0-0", 1000), Full);
        // Even if none of them is satisfiable: the whole object is allowed.
        assert_eq!(r("bytes=2000-3000,4000-", 1000), Full);
        // But invalid syntax in any element is still a 416.
        assert_eq!(r("bytes=0-1,x", 1000), Unsatisfiable);
        assert_eq!(r("bytes=0-1,5-2", 1000), Unsatisfiable);
        assert_eq!(r("bytes=0-1,99999999999999999999-", 1000), Unsatisfiable);
        // Empty list elements are not ranges.
        assert_eq!(r("bytes=0-9,", 1000), p(0, 9));
        assert_eq!(r("bytes=, 0-9 ,,", 1000), p(0, 9));
    }

    #[test]
    fn overlong_range_header_is_unsatisfiable() {
        let pad = " ".repeat(MAX_HEADER - "bytes=0-9".len());
        let at_limit = format!("bytes=0-9{pad}");
        assert_eq!(at_limit.len(), MAX_HEADER);
        assert_eq!(r(&at_limit, 1000), p(0, 9));
        let over = format!("{at_limit} ");
        assert_eq!(r(&over, 1000), Unsatisfiable);
        // Even with a matching If-Range: the Range is refused unparsed.
        assert_eq!(decide_range(Some(&over), Some(ET), 1000, ET, LM), Unsatisfiable);
        assert_eq!(r(&format!("bytes=0-{}", "1".repeat(2000)), 1000), Unsatisfiable);
    }

    #[test]
    fn if_range_entity_tag() {
        let d = |ir: &str| decide_range(Some("bytes=0-1"), Some(ir), 10, ET, LM);
        assert_eq!(d(ET), p(0, 1));
        assert_eq!(d(" \"abc\" "), p(0, 1));
        assert_eq!(d("\"other\""), Full);
        assert_eq!(d("\"ABC\""), Full);
        assert_eq!(d("\"abc"), Full);
        assert_eq!(d("\"abc\"x"), Full);
        assert_eq!(d("\"abc\", \"abc\""), Full);
        assert_eq!(d("\"\""), Full);
        assert_eq!(d(""), Full);
        assert_eq!(d("*"), Full);
        // Weak tags never match for If-Range.
        assert_eq!(d("W/\"abc\""), Full);
        assert_eq!(d("w/\"abc\""), Full);
        // A weak current ETag never matches either.
        assert_eq!(decide_range(Some("bytes=0-1"), Some("W/\"abc\""), 10, "W/\"abc\"", LM), Full);
        assert_eq!(decide_range(Some("bytes=0-1"), Some(ET), 10, "W/\"abc\"", LM), Full);
        // An unquoted current ETag is not an entity tag.
        assert_eq!(decide_range(Some("bytes=0-1"), Some("abc"), 10, "abc", LM), Full);
    }

    #[test]
    fn if_range_date() {
        let d = |ir: &str| decide_range(Some("bytes=0-1"), Some(ir), 10, ET, LM);
        assert_eq!(d(LM_IMF), p(0, 1));
        assert_eq!(d("Sunday, 06-Nov-94 08:49:37 GMT"), p(0, 1));
        assert_eq!(d("Sun Nov  6 08:49:37 1994"), p(0, 1));
        // Exact equality only: neither earlier nor later.
        assert_eq!(d("Sun, 06 Nov 1994 08:49:38 GMT"), Full);
        assert_eq!(d("Sun, 06 Nov 1994 08:49:36 GMT"), Full);
        assert_eq!(d("garbage"), Full);
        assert_eq!(d("Sun, 31 Nov 1994 08:49:37 GMT"), Full);
        assert_eq!(d(&"x".repeat(MAX_HEADER + 1)), Full);
        let padded = format!("{LM_IMF}{}", " ".repeat(MAX_HEADER));
        assert_eq!(d(&padded), Full);
    }

    #[test]
    fn if_range_mismatch_ignores_even_an_invalid_range() {
        assert_eq!(decide_range(Some("bytes=x"), Some("\"old\""), 10, ET, LM), Full);
        assert_eq!(decide_range(Some("bytes=50-"), Some("\"old\""), 10, ET, LM), Full);
        // With a match, the Range is decided normally.
        assert_eq!(decide_range(Some("bytes=x"), Some(ET), 10, ET, LM), Unsatisfiable);
        assert_eq!(decide_range(Some("bytes=50-"), Some(ET), 10, ET, LM), Unsatisfiable);
        assert_eq!(decide_range(Some("bytes=-3"), Some(ET), 10, ET, LM), p(7, 9));
        assert_eq!(decide_range(Some("bytes=0-1,3-4"), Some(ET), 10, ET, LM), Full);
    }

    #[test]
    fn content_range_headers() {
        assert_eq!(content_range(0, 99, 1000), "bytes 0-99/1000");
        assert_eq!(content_range(0, 0, 1), "bytes 0-0/1");
        assert_eq!(
            content_range(u64::MAX - 1, u64::MAX - 1, u64::MAX),
            format!("bytes {0}-{0}/{1}", u64::MAX - 1, u64::MAX)
        );
        assert_eq!(unsatisfied_content_range(1000), "bytes */1000");
        assert_eq!(unsatisfied_content_range(0), "bytes */0");
    }

    // ---------------------------------------------------- Preconditions

    fn pre(inm: Option<&str>, ims: Option<&str>) -> Precondition {
        evaluate_preconditions(inm, ims, ET, LM)
    }

    #[test]
    fn no_preconditions_proceed() {
        assert_eq!(pre(None, None), Precondition::Proceed);
    }

    #[test]
    fn if_none_match_weak_comparison() {
        use Precondition::*;
        assert_eq!(pre(Some(ET), None), NotModified);
        assert_eq!(pre(Some("W/\"abc\""), None), NotModified);
        assert_eq!(pre(Some("*"), None), NotModified);
        assert_eq!(pre(Some(" * "), None), NotModified);
        assert_eq!(pre(Some("\"x\""), None), Proceed);
        assert_eq!(pre(Some("\"ABC\""), None), Proceed);
        assert_eq!(pre(Some("\"abcd\""), None), Proceed);
        assert_eq!(pre(Some("\"ab\""), None), Proceed);
        // The current ETag may itself be weak.
        assert_eq!(evaluate_preconditions(Some(ET), None, "W/\"abc\"", LM), NotModified);
        assert_eq!(evaluate_preconditions(Some("W/\"abc\""), None, "W/\"abc\"", LM), NotModified);
        // An unquoted current ETag matches nothing but `*`.
        assert_eq!(evaluate_preconditions(Some("abc"), None, "abc", LM), Proceed);
        assert_eq!(evaluate_preconditions(Some("*"), None, "abc", LM), NotModified);
    }

    #[test]
    fn if_none_match_lists() {
        use Precondition::*;
        assert_eq!(pre(Some("\"x\", \"abc\""), None), NotModified);
        assert_eq!(pre(Some("\"x\",\"abc\""), None), NotModified);
        assert_eq!(pre(Some("\"abc\", \"x\""), None), NotModified);
        assert_eq!(pre(Some(" \"x\" ,\t W/\"abc\" , \"y\" "), None), NotModified);
        assert_eq!(pre(Some("\"x\", \"y\""), None), Proceed);
        // Empty list elements are tolerated.
        assert_eq!(pre(Some(", \"abc\",,"), None), NotModified);
        // Commas are legal inside an entity tag.
        assert_eq!(evaluate_preconditions(Some("\"a,b\""), None, "\"a,b\"", LM), NotModified);
        assert_eq!(evaluate_preconditions(Some("\"x\", \"a,b\""), None, "\"a,b\"", LM), NotModified);
        assert_eq!(evaluate_preconditions(Some("\"a\", \"b\""), None, "\"a,b\"", LM), Proceed);
    }

    #[test]
    fn malformed_if_none_match_proceeds() {
        use Precondition::*;
        for inm in [
            "",
            " ",
            ",",
            "abc",
            "\"",
            "\"abc",
            "abc\"",
            "\"abc\"x",
            "\"abc\" \"x\"",
            "\"abc\", x",
            "x, \"abc\"",
            "\"abc\", \"x",
            "*, \"abc\"",
            "\"abc\", *",
            "W/abc",
            "W/ \"abc\"",
            "w/\"abc\"",
            "\"a\"bc\"",
            "\"ab c\"",
            "\"ab\tc\"",
        ] {
            assert_eq!(pre(Some(inm), None), Proceed, "{inm:?}");
            // A present If-None-Match, even malformed, shadows If-Modified-Since.
            assert_eq!(pre(Some(inm), Some(LM_IMF)), Proceed, "{inm:?}");
        }
        let long = format!("\"abc\"{}", ", \"x\"".repeat(300));
        assert!(long.len() > MAX_HEADER);
        assert_eq!(pre(Some(&long), None), Proceed);
    }

    #[test]
    fn if_none_match_takes_precedence_over_if_modified_since() {
        use Precondition::*;
        assert_eq!(pre(Some("\"x\""), Some(LM_IMF)), Proceed);
        assert_eq!(pre(Some("\"x\""), Some("Fri, 31 Dec 9999 23:59:59 GMT")), Proceed);
        assert_eq!(pre(Some(ET), Some("Thu, 01 Jan 1970 00:00:00 GMT")), NotModified);
        assert_eq!(pre(Some(ET), Some("garbage")), NotModified);
    }

    #[test]
    fn if_modified_since() {
        use Precondition::*;
        assert_eq!(pre(None, Some(LM_IMF)), NotModified);
        assert_eq!(pre(None, Some("Sun, 06 Nov 1994 08:49:38 GMT")), NotModified);
        assert_eq!(pre(None, Some("Fri, 31 Dec 9999 23:59:59 GMT")), NotModified);
        assert_eq!(pre(None, Some("Sun, 06 Nov 1994 08:49:36 GMT")), Proceed);
        assert_eq!(pre(None, Some("Thu, 01 Jan 1970 00:00:00 GMT")), Proceed);
        assert_eq!(pre(None, Some("Sunday, 06-Nov-94 08:49:37 GMT")), NotModified);
        assert_eq!(pre(None, Some("Sun Nov  6 08:49:37 1994")), NotModified);
        assert_eq!(pre(None, Some("yesterday")), Proceed);
        assert_eq!(pre(None, Some("")), Proceed);
        assert_eq!(pre(None, Some("784111777")), Proceed);
        assert_eq!(pre(None, Some("Sun, 06 Nov 1969 08:49:37 GMT")), Proceed);
        assert_eq!(evaluate_preconditions(None, Some("Thu, 01 Jan 1970 00:00:00 GMT"), ET, 0), NotModified);
    }

    // ------------------------------------------------------------ Dates

    #[test]
    fn known_date_vectors() {
        for (t, s) in [
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (59, "Thu, 01 Jan 1970 00:00:59 GMT"),
            (86_399, "Thu, 01 Jan 1970 23:59:59 GMT"),
            (86_400, "Fri, 02 Jan 1970 00:00:00 GMT"),
            (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (946_684_799, "Fri, 31 Dec 1999 23:59:59 GMT"),
            (946_684_800, "Sat, 01 Jan 2000 00:00:00 GMT"),
            (1_000_000_000, "Sun, 09 Sep 2001 01:46:40 GMT"),
            (1_234_567_890, "Fri, 13 Feb 2009 23:31:30 GMT"),
            (1_709_164_800, "Thu, 29 Feb 2024 00:00:00 GMT"),
            (2_147_483_647, "Tue, 19 Jan 2038 03:14:07 GMT"),
            (4_102_444_800, "Fri, 01 Jan 2100 00:00:00 GMT"),
            (4_107_542_399, "Sun, 28 Feb 2100 23:59:59 GMT"),
            (4_107_628_799, "Mon, 01 Mar 2100 23:59:59 GMT"),
            (253_402_300_799, "Fri, 31 Dec 9999 23:59:59 GMT"),
        ] {
            assert_eq!(http_date(t), s, "{t}");
            assert_eq!(parse_http_date(s), Some(t), "{s}");
        }
    }

    #[test]
    fn http_date_clamps_past_year_9999() {
        let last = "Fri, 31 Dec 9999 23:59:59 GMT";
        assert_eq!(http_date(MAX_UNIX + 1), last);
        assert_eq!(http_date(u64::MAX), last);
    }

    #[test]
    fn obsolete_date_forms() {
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(LM));
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(LM));
        assert_eq!(parse_http_date("Sun Nov 16 08:49:37 1994"), Some(LM + 10 * 86_400));
        assert_eq!(parse_http_date("Sun Nov 06 08:49:37 1994"), Some(LM));
        assert_eq!(parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("Friday, 31-Dec-99 23:59:59 GMT"), Some(946_684_799));
        assert_eq!(parse_http_date("Saturday, 01-Jan-00 00:00:00 GMT"), Some(946_684_800));
        assert_eq!(parse_http_date("Thursday, 29-Feb-24 00:00:00 GMT"), Some(1_709_164_800));
        assert_eq!(parse_http_date("Monday, 31-Dec-69 23:59:59 GMT"), Some(3_155_759_999));
        assert_eq!(parse_http_date("Thu Feb 29 00:00:00 2024"), Some(1_709_164_800));
        assert_eq!(parse_http_date("Thu Jan  1 00:00:00 1970"), Some(0));
        // The weekday is not checked against the date.
        assert_eq!(parse_http_date("Mon, 06 Nov 1994 08:49:37 GMT"), Some(LM));
        assert_eq!(parse_http_date("Friday, 06-Nov-94 08:49:37 GMT"), Some(LM));
        assert_eq!(parse_http_date("Wed Nov  6 08:49:37 1994"), Some(LM));
        // Surrounding whitespace is fine.
        assert_eq!(parse_http_date(" Sun, 06 Nov 1994 08:49:37 GMT\t"), Some(LM));
    }

    #[test]
    fn leap_second_only_at_end_of_day() {
        assert_eq!(parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT"), Some(1_483_228_800));
        assert_eq!(parse_http_date("Sat, 31 Dec 2016 23:58:60 GMT"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:60 GMT"), None);
        assert_eq!(parse_http_date("Sat, 31 Dec 2016 23:59:61 GMT"), None);
    }

    #[test]
    fn day_of_month_validation() {
        for (mon, last) in [
            ("Jan", 31),
            ("Feb", 28),
            ("Mar", 31),
            ("Apr", 30),
            ("May", 31),
            ("Jun", 30),
            ("Jul", 31),
            ("Aug", 31),
            ("Sep", 30),
            ("Oct", 31),
            ("Nov", 30),
            ("Dec", 31),
        ] {
            let ok = format!("Mon, {last:02} {mon} 2023 12:00:00 GMT");
            let bad = format!("Mon, {:02} {mon} 2023 12:00:00 GMT", last + 1);
            assert!(parse_http_date(&ok).is_some(), "{ok}");
            assert_eq!(parse_http_date(&bad), None, "{bad}");
            let first = format!("Mon, 01 {mon} 2023 00:00:00 GMT");
            assert!(parse_http_date(&first).is_some(), "{first}");
        }
        assert_eq!(parse_http_date("Mon, 00 Jan 2023 00:00:00 GMT"), None);
        assert_eq!(parse_http_date("Mon, 32 Jan 2023 00:00:00 GMT"), None);
        assert_eq!(parse_http_date("Mon, 99 Jan 2023 00:00:00 GMT"), None);
    }

    #[test]
    fn leap_years() {
        // Divisible by 4: leap; by 100: not; by 400: leap.
        for (y, leap) in [
            (1972, true),
            (1996, true),
            (2000, true),
            (2023, false),
            (2024, true),
            (2100, false),
            (2400, true),
            (1970, false),
        ] {
            let feb29 = format!("Mon, 29 Feb {y} 00:00:00 GMT");
            assert_eq!(parse_http_date(&feb29).is_some(), leap, "{feb29}");
            assert!(parse_http_date(&format!("Mon, 28 Feb {y} 00:00:00 GMT")).is_some());
            assert_eq!(parse_http_date(&format!("Mon, 30 Feb {y} 00:00:00 GMT")), None);
            assert_eq!(is_leap(y), leap);
        }
        assert_eq!(parse_http_date("Thu Feb 29 00:00:00 2024"), Some(1_709_164_800));
        assert_eq!(parse_http_date("Tue Feb 29 00:00:00 2023"), None);
        assert_eq!(parse_http_date("Thursday, 29-Feb-24 00:00:00 GMT"), Some(1_709_164_800));
        assert_eq!(parse_http_date("Wednesday, 29-Feb-23 00:00:00 GMT"), None);
        // 2000-02-29 → 2000-03-01 is one day.
        assert_eq!(
            parse_http_date("Wed, 01 Mar 2000 00:00:00 GMT"),
            parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT").map(|t| t + 86_400)
        );
    }

    #[test]
    fn invalid_dates() {
        for bad in [
            "",
            " ",
            "GMT",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08:49:37 gmt",
            "Sun, 06 Nov 1994 08:49:37 +0000",
            "Sun 06 Nov 1994 08:49:37 GMT",
            "Sun,06 Nov 1994 08:49:37 GMT",
            "Sun,  06 Nov 1994 08:49:37 GMT",
            "Sun, 06  Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994  08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT ,",
            "Sun, 06 Nov 1994\t08:49:37 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Thu, 29 Feb 2023 00:00:00 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 23:60:00 GMT",
            "Sun, 06 Nov 1994 99:99:99 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 08:49:37:00 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sun, 06 Nov 1994 08:4a:37 GMT",
            "Sun, 06 Nov 1994 08:49:+7 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Wed, 31 Dec 1969 23:59:59 GMT",
            "Sun, 06 Nov 0000 08:49:37 GMT",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun, 06 Nov 19940 08:49:37 GMT",
            "Sun, 06 Nov +994 08:49:37 GMT",
            "Xyz, 06 Nov 1994 08:49:37 GMT",
            "sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06 Nov 1994 08:49:37 GMT",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 006 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 nov 1994 08:49:37 GMT",
            "Sun, 06 NOV 1994 08:49:37 GMT",
            "Sun, 06 November 1994 08:49:37 GMT",
            "Sun, +6 Nov 1994 08:49:37 GMT",
            // RFC 850
            "Sun, 06-Nov-94 08:49:37 GMT",
            "Sunday 06-Nov-94 08:49:37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sunday, 6-Nov-94 08:49:37 GMT",
            "Sunday, 06-Nov-94-1 08:49:37 GMT",
            "Sunday, 06-Nov 08:49:37 GMT",
            "Sunday, 31-Nov-94 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37",
            "Funday, 06-Nov-94 08:49:37 GMT",
            // asctime
            "Sun Nov 6 08:49:37 1994",
            "Sun Nov  06 08:49:37 1994",
            "Sun Nov   6 08:49:37 1994",
            "Sun Nov 31 08:49:37 1994",
            "Sun Nov  0 08:49:37 1994",
            "Sun Nov  6 08:49:37 94",
            "Sun Nov  6 08:49:37 1969",
            "Sunday Nov  6 08:49:37 1994",
            "Sun, Nov  6 08:49:37 1994",
            "Sun Nov  6 08:49:37 1994 GMT",
            // Other junk
            "784111777",
            "Sun, 06 Nov 1994 08:49:37 GMT\r\n",
            "Sun, 06 Nov 1994 08:49:37 GMT\0",
            "Sun, ０6 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
        let long = format!("{LM_IMF}{}", " ".repeat(MAX_DATE));
        assert_eq!(parse_http_date(&long), None);
    }

    #[test]
    fn civil_conversions_match_a_naive_calendar() {
        // Walk day by day from 1970-01-01 to 2500-12-31 and compare with
        // plain counting.
        let (mut y, mut m, mut d) = (1970u64, 1u32, 1u32);
        let mut n = 0u64;
        while y <= 2500 {
            assert_eq!(civil_from_days(n), (y, m, d), "{n}");
            assert_eq!(days_from_civil(y, m, d), Some(n), "{y}-{m}-{d}");
            n += 1;
            d += 1;
            if d > days_in_month(y, m) {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
        assert_eq!(civil_from_days(MAX_UNIX / SECS_PER_DAY), (9999, 12, 31));
        assert_eq!(days_from_civil(1969, 12, 31), None);
        assert_eq!(days_from_civil(1970, 0, 1), None);
        assert_eq!(days_from_civil(1970, 13, 1), None);
        assert_eq!(days_from_civil(1970, 1, 0), None);
    }

    #[test]
    fn date_round_trip_over_many_timestamps() {
        // Every day from 1970 to past 2100, at a different second each day.
        let mut t = 0u64;
        let mut count = 0u32;
        while t < 4_200_000_000 {
            let s = http_date(t);
            assert_eq!(s.len(), 29, "{s}");
            assert_eq!(parse_http_date(&s), Some(t), "{t} {s}");
            t += 86_400 + 7_919;
            count += 1;
        }
        assert!(count > 40_000);
        // Year boundaries and leap days, one second either side.
        for s in [
            "Thu, 01 Jan 1970 00:00:00 GMT",
            "Sat, 01 Jan 2000 00:00:00 GMT",
            "Tue, 29 Feb 2000 00:00:00 GMT",
            "Wed, 01 Mar 2000 00:00:00 GMT",
            "Mon, 01 Jan 2001 00:00:00 GMT",
            "Sun, 29 Feb 2004 00:00:00 GMT",
            "Thu, 29 Feb 2024 00:00:00 GMT",
            "Fri, 01 Mar 2024 00:00:00 GMT",
            "Sun, 28 Feb 2100 00:00:00 GMT",
            "Mon, 01 Mar 2100 00:00:00 GMT",
            "Fri, 01 Jan 2100 00:00:00 GMT",
            "Tue, 29 Feb 2400 00:00:00 GMT",
            "Fri, 31 Dec 9999 00:00:00 GMT",
        ] {
            let t = parse_http_date(s).unwrap_or_else(|| panic!("{s}"));
            assert_eq!(http_date(t), s);
            for u in [t.saturating_sub(1), t, t + 1, t + 86_399] {
                assert_eq!(parse_http_date(&http_date(u)), Some(u), "{u}");
            }
        }
    }

    #[test]
    fn weekdays_are_correct() {
        // 1970-01-01 was a Thursday; every seven days repeat.
        for week in 0..3000u64 {
            for (i, wd) in SHORT_DAYS.iter().enumerate() {
                let t = (week * 7 + i as u64) * SECS_PER_DAY;
                assert!(http_date(t).starts_with(wd), "{t}");
            }
        }
        assert!(http_date(951_782_400).starts_with("Tue")); // 2000-02-29
        assert!(http_date(4_107_542_400).starts_with("Mon")); // 2100-03-01
    }

    // ---------------------------------------------- Content-Disposition

    fn percent_decode(s: &str) -> Vec<u8> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                assert_eq!(hex, hex.to_ascii_uppercase(), "uppercase hex");
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        out
    }

    /// Split the header into (fallback, encoded), checking its shape.
    fn split_disposition(h: &str) -> (&str, &str) {
        let rest = h.strip_prefix("attachment; filename=\"").expect("prefix");
        let (fallback, encoded) = rest.split_once("\"; filename*=UTF-8''").expect("separator");
        (fallback, encoded)
    }

    #[test]
    fn disposition_plain_ascii() {
        assert_eq!(content_disposition("q3.pdf"), "attachment; filename=\"q3.pdf\"; filename*=UTF-8''q3.pdf");
        assert_eq!(content_disposition(""), "attachment; filename=\"\"; filename*=UTF-8''");
        assert_eq!(
            content_disposition("a b(1).tar.gz"),
            "attachment; filename=\"a b(1).tar.gz\"; filename*=UTF-8''a%20b%281%29.tar.gz"
        );
        // All attr-chars pass unencoded.
        let attr = "AZaz09!#$&+-.^_`|~";
        assert_eq!(content_disposition(attr), format!("attachment; filename=\"{attr}\"; filename*=UTF-8''{attr}"));
    }

    #[test]
    fn disposition_non_ascii() {
        assert_eq!(
            content_disposition("Q3 – rapport.pdf"),
            "attachment; filename=\"Q3 _ rapport.pdf\"; filename*=UTF-8''Q3%20%E2%80%93%20rapport.pdf"
        );
        assert_eq!(content_disposition("€.txt"), "attachment; filename=\"_.txt\"; filename*=UTF-8''%E2%82%AC.txt");
        assert_eq!(
            content_disposition("日本.pdf"),
            "attachment; filename=\"__.pdf\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.pdf"
        );
        assert_eq!(content_disposition("😀"), "attachment; filename=\"_\"; filename*=UTF-8''%F0%9F%98%80");
    }

    #[test]
    fn disposition_special_characters() {
        assert_eq!(
            content_disposition("a\"b\\c%d;e'f"),
            "attachment; filename=\"a_b_c_d_e'f\"; filename*=UTF-8''a%22b%5Cc%25d%3Be%27f"
        );
        assert_eq!(content_disposition("a=b,c/d"), "attachment; filename=\"a=b,c/d\"; filename*=UTF-8''a%3Db%2Cc%2Fd");
    }

    #[test]
    fn disposition_never_emits_control_characters() {
        let nasty = content_disposition("a\"b\\c%d;e\r\nX-Evil: 1\u{7f}\0\t\u{1b}\u{85}.pdf");
        assert!(!nasty.chars().any(|c| c.is_control()), "{nasty:?}");
        assert!(!nasty.contains('\r') && !nasty.contains('\n'));
        assert_eq!(
            nasty,
            "attachment; filename=\"a_b_c_d_e__X-Evil: 1_____.pdf\"; \
             filename*=UTF-8''a%22b%5Cc%25d%3Be%0D%0AX-Evil%3A%201%7F%00%09%1B%C2%85.pdf"
        );
        for b in 0u8..=0x7F {
            let name = format!("x{}y", char::from(b));
            let h = content_disposition(&name);
            assert!(!h.chars().any(|c| c.is_control()), "{b:#x}: {h:?}");
            let (fallback, encoded) = split_disposition(&h);
            assert_eq!(percent_decode(encoded), name.as_bytes());
            assert_eq!(fallback.chars().count(), 3);
        }
    }

    #[test]
    fn strong_etags() {
        assert_eq!(strong_etag("abc"), "\"abc\"");
        assert_eq!(strong_etag("\"abc\""), "\"abc\"");
        assert_eq!(strong_etag("d41d8cd98f00b204e9800998ecf8427e"), "\"d41d8cd98f00b204e9800998ecf8427e\"");
        assert_eq!(strong_etag(""), "\"\"");
        assert_eq!(strong_etag("\"\""), "\"\"");
        assert_eq!(strong_etag("\""), "\"\"\"");
        // Both R2 forms compare equal once quoted.
        let e = strong_etag("abc");
        assert_eq!(evaluate_preconditions(Some(&e), None, &strong_etag("\"abc\""), 0), Precondition::NotModified);
        assert_eq!(decide_range(Some("bytes=0-0"), Some(&e), 5, &strong_etag("abc"), 0), p(0, 0));
    }

    // ------------------------------------------------------ Properties

    proptest! {
        #[test]
        fn prop_date_round_trip(t in 0u64..=MAX_UNIX) {
            let s = http_date(t);
            prop_assert_eq!(parse_http_date(&s), Some(t));
        }

        #[test]
        fn prop_parse_never_panics(s in "\\PC{0,80}") {
            let _ = parse_http_date(&s);
            let _ = evaluate_preconditions(Some(&s), Some(&s), ET, LM);
            let _ = evaluate_preconditions(None, Some(&s), ET, LM);
            let _ = decide_range(Some(&s), Some(&s), 1000, ET, LM);
        }

        #[test]
        fn prop_date_like_strings_never_panic(
            wd in "[A-Za-z]{0,10},?", d in "[0-9 ]{0,3}", mon in "[A-Za-z]{0,4}",
            y in "[0-9]{0,5}", h in "[0-9]{0,3}", m in "[0-9]{0,3}", sec in "[0-9]{0,3}"
        ) {
            for s in [
                format!("{wd} {d} {mon} {y} {h}:{m}:{sec} GMT"),
                format!("{wd} {d}-{mon}-{y} {h}:{m}:{sec} GMT"),
                format!("{wd} {mon} {d} {h}:{m}:{sec} {y}"),
            ] {
                if let Some(t) = parse_http_date(&s) {
                    prop_assert!(t <= MAX_UNIX + 1);
                }
            }
        }

        #[test]
        fn prop_range_result_is_within_object(
            h in "(?i:bytes)[ \t]?=[ \t]?[0-9]{0,21}[ \t]?-[ \t]?[0-9]{0,21}(,[0-9]{0,3}-[0-9]{0,3})?",
            size in prop_oneof![0u64..2000, Just(u64::MAX), any::<u64>()],
        ) {
            match decide_range(Some(&h), None, size, ET, LM) {
                RangeDecision::Partial { start, end } => {
                    prop_assert!(start <= end);
                    prop_assert!(end < size);
                }
                RangeDecision::Full => prop_assert!(h.contains(',')),
                RangeDecision::Unsatisfiable => {}
            }
        }

        #[test]
        fn prop_closed_range_semantics(a in 0u64..3000, len in 0u64..3000, size in 0u64..2000) {
            let b = a + len;
            let got = decide_range(Some(&format!("bytes={a}-{b}")), None, size, ET, LM);
            let want = if a >= size { Unsatisfiable } else { p(a, b.min(size - 1)) };
            prop_assert_eq!(got, want);
        }

        #[test]
        fn prop_suffix_semantics(n in 0u64..3000, size in 0u64..2000) {
            let got = decide_range(Some(&format!("bytes=-{n}")), None, size, ET, LM);
            let want = if n == 0 || size == 0 { Unsatisfiable } else { p(size.saturating_sub(n), size - 1) };
            prop_assert_eq!(got, want);
        }

        #[test]
        fn prop_disposition_is_safe_and_lossless(name in "\\PC{0,40}|[\\x00-\\x7f]{0,40}") {
            let h = content_disposition(&name);
            prop_assert!(h.is_ascii());
            prop_assert!(!h.chars().any(|c| c.is_control()));
            let (fallback, encoded) = split_disposition(&h);
            prop_assert!(!fallback.contains(['"', '\\', '%', ';']));
            prop_assert_eq!(fallback.chars().count(), name.chars().count());
            prop_assert!(encoded.bytes().all(|b| is_attr_char(b) || b == b'%' || b.is_ascii_hexdigit()));
            prop_assert_eq!(percent_decode(encoded), name.as_bytes().to_vec());
        }

        #[test]
        fn prop_if_none_match_finds_its_tag(tags in proptest::collection::vec("[a-z0-9,]{0,8}", 0..6), weak in any::<bool>()) {
            let list = tags.iter().map(|t| format!("{}\"{t}\"", if weak { "W/" } else { "" })).collect::<Vec<_>>().join(" , ");
            let ours = "\"zzz\"";
            let with = if list.is_empty() { ours.to_owned() } else { format!("{list}, {ours}") };
            prop_assert_eq!(evaluate_preconditions(Some(&with), None, ours, 0), Precondition::NotModified);
            let want = if list.is_empty() { Precondition::Proceed } else {
                if tags.iter().any(|t| t == "zzz") { Precondition::NotModified } else { Precondition::Proceed }
            };
            prop_assert_eq!(evaluate_preconditions(Some(&list), None, ours, 0), want);
        }
    }
}

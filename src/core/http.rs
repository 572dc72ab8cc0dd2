//! HTTP details decided without I/O: byte ranges, preconditions, HTTP dates
//! and Content-Disposition. Every input here is attacker-controlled header
//! text: parsing is bounded, checked, and never panics.

/// Header values longer than this are not parsed.
const MAX_HEADER: usize = 1024;

/// Outcome of a Range header against an object of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeDecision {
    /// Send the whole object (no Range, several ranges, or a stale If-Range).
    Full,
    /// Send bytes `start..=end`.
    Partial { start: u64, end: u64 },
    /// 416: invalid or unsatisfiable.
    Unsatisfiable,
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Decide a Range request (RFC 9110 §14). One range only: several ranges are
/// answered with the whole object (allowed by the RFC; never multipart).
/// Invalid syntax is 416 rather than ignored, so clients learn of their bug.
pub fn decide_range(range: Option<&str>, if_range: Option<&str>, size: u64, etag: &str, last_modified: u64) -> RangeDecision {
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
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return RangeDecision::Unsatisfiable;
    }
    if set.contains(',') {
        return RangeDecision::Full;
    }
    let Some((first, last)) = set.split_once('-') else { return RangeDecision::Unsatisfiable };
    let (first, last) = (first.trim(), last.trim());
    if size == 0 {
        return RangeDecision::Unsatisfiable;
    }
    let max = size - 1;
    if first.is_empty() {
        // Suffix: the last n bytes.
        let Some(n) = digits(last) else { return RangeDecision::Unsatisfiable };
        if n == 0 {
            return RangeDecision::Unsatisfiable;
        }
        return RangeDecision::Partial { start: size.saturating_sub(n), end: max };
    }
    let Some(start) = digits(first) else { return RangeDecision::Unsatisfiable };
    let end = if last.is_empty() {
        max
    } else {
        let Some(e) = digits(last) else { return RangeDecision::Unsatisfiable };
        if e < start {
            return RangeDecision::Unsatisfiable;
        }
        e.min(max)
    };
    if start > max {
        return RangeDecision::Unsatisfiable;
    }
    RangeDecision::Partial { start, end }
}

fn if_range_matches(v: &str, etag: &str, last_modified: u64) -> bool {
    if v.len() > MAX_HEADER {
        return false;
    }
    let v = v.trim();
    if v.starts_with("W/") {
        return false; // weak validators never match If-Range
    }
    if v.starts_with('"') {
        return v == etag;
    }
    parse_http_date(v) == Some(last_modified)
}

/// `Content-Range` of a partial response.
pub fn content_range(start: u64, end: u64, size: u64) -> String {
    format!("bytes {start}-{end}/{size}")
}

/// `Content-Range` of a 416.
pub fn unsatisfied_content_range(size: u64) -> String {
    format!("bytes */{size}")
}

/// Outcome of If-None-Match / If-Modified-Since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    NotModified,
    Proceed,
}

fn opaque(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// RFC 9110 §13.2.2 for GET/HEAD: If-None-Match (weak comparison) wins over
/// If-Modified-Since; anything unparsable means "proceed".
pub fn evaluate_preconditions(if_none_match: Option<&str>, if_modified_since: Option<&str>, etag: &str, last_modified: u64) -> Precondition {
    if let Some(inm) = if_none_match {
        if inm.len() > MAX_HEADER {
            return Precondition::Proceed;
        }
        let inm = inm.trim();
        if inm == "*" {
            return Precondition::NotModified;
        }
        let ours = opaque(etag);
        for tag in inm.split(',') {
            let t = opaque(tag.trim());
            let quoted = t.len() >= 2 && t.starts_with('"') && t.ends_with('"');
            if !quoted {
                return Precondition::Proceed;
            }
            if t == ours {
                return Precondition::NotModified;
            }
        }
        return Precondition::Proceed;
    }
    if let Some(ims) = if_modified_since.filter(|v| v.len() <= MAX_HEADER).and_then(parse_http_date) {
        if last_modified <= ims {
            return Precondition::NotModified;
        }
    }
    Precondition::Proceed
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const LONG_DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let rem = unix % 86_400;
    let (y, m, d) = civil_from_days(days);
    let wd = DAYS.get((days.rem_euclid(7)) as usize).copied().unwrap_or("Thu");
    let mon = MONTHS.get((m as usize).saturating_sub(1)).copied().unwrap_or("Jan");
    format!("{wd}, {d:02} {mon} {y:04} {:02}:{:02}:{:02} GMT", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn time_of_day(s: &str) -> Option<u64> {
    let mut it = s.split(':');
    let (h, m, sec) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || h.len() != 2 || m.len() != 2 || sec.len() != 2 {
        return None;
    }
    let (h, m, sec) = (digits(h)?, digits(m)?, digits(sec)?);
    // 60 allows a leap second as RFC 5322 does; it rolls into the next minute.
    (h < 24 && m < 60 && sec <= 60).then_some(h * 3600 + m * 60 + sec)
}

fn assemble(y: i64, mon: &str, d: u64, tod: u64) -> Option<u64> {
    let m = MONTHS.iter().position(|x| *x == mon)? as u32 + 1;
    let d = u32::try_from(d).ok()?;
    if !(1970..=9999).contains(&y) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    let days = u64::try_from(days_from_civil(y, m, d)).ok()?;
    days.checked_mul(86_400)?.checked_add(tod)
}

/// Parse an HTTP date: IMF-fixdate, RFC 850, or asctime (RFC 9110 §5.6.7).
pub fn parse_http_date(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.len() > 64 {
        return None;
    }
    let parts: Vec<&str> = s.split(' ').collect();
    match parts.as_slice() {
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        [wd, d, mon, y, t, "GMT"] => {
            let wd = wd.strip_suffix(',')?;
            if !DAYS.contains(&wd) || d.len() != 2 || y.len() != 4 {
                return None;
            }
            assemble(i64::try_from(digits(y)?).ok()?, mon, digits(d)?, time_of_day(t)?)
        }
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
        [wd, dmy, t, "GMT"] => {
            let wd = wd.strip_suffix(',')?;
            if !LONG_DAYS.contains(&wd) {
                return None;
            }
            let mut it = dmy.split('-');
            let (d, mon, y) = (it.next()?, it.next()?, it.next()?);
            if it.next().is_some() || d.len() != 2 || y.len() != 2 {
                return None;
            }
            let yy = i64::try_from(digits(y)?).ok()?;
            // Two-digit years: RFC 9110 says interpret > 50 years ahead as past.
            let year = if yy >= 70 { 1900 + yy } else { 2000 + yy };
            assemble(year, mon, digits(d)?, time_of_day(t)?)
        }
        // asctime: Sun Nov  6 08:49:37 1994 (day padded with a space)
        [wd, mon, "", d, t, y] | [wd, mon, d, t, y] => {
            if !DAYS.contains(wd) || d.is_empty() || d.len() > 2 || y.len() != 4 {
                return None;
            }
            assemble(i64::try_from(digits(y)?).ok()?, mon, digits(d)?, time_of_day(t)?)
        }
        _ => None,
    }
}

/// `attachment; filename="<ascii fallback>"; filename*=UTF-8''<encoded>`
/// (RFC 6266, RFC 8187). The fallback keeps only safe ASCII; the encoded form
/// carries the exact UTF-8 name. No control character reaches the header.
pub fn content_disposition(filename: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let fallback: String = filename
        .chars()
        .map(|c| if c.is_ascii() && !c.is_ascii_control() && !matches!(c, '"' | '\\' | '%' | ';') { c } else { '_' })
        .collect();
    let mut encoded = String::with_capacity(filename.len() * 3);
    for &b in filename.as_bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push('%');
            encoded.push(char::from(HEX[usize::from(b >> 4)]));
            encoded.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// R2's etag (hex) as an HTTP strong entity tag.
pub fn strong_etag(etag: &str) -> String {
    if etag.len() >= 2 && etag.starts_with('"') && etag.ends_with('"') {
        etag.to_owned()
    } else {
        format!("\"{etag}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ET: &str = "\"abc\"";

    fn r(h: &str, size: u64) -> RangeDecision {
        decide_range(Some(h), None, size, ET, 0)
    }

    #[test]
    fn ranges() {
        use RangeDecision::*;
        assert_eq!(decide_range(None, None, 10, ET, 0), Full);
        assert_eq!(r("bytes=0-9", 1000), Partial { start: 0, end: 9 });
        assert_eq!(r("bytes=0-0", 1000), Partial { start: 0, end: 0 });
        assert_eq!(r("bytes=999-999", 1000), Partial { start: 999, end: 999 });
        assert_eq!(r("bytes=999-", 1000), Partial { start: 999, end: 999 });
        assert_eq!(r("bytes=1000-", 1000), Unsatisfiable);
        assert_eq!(r("bytes=995-5000", 1000), Partial { start: 995, end: 999 });
        assert_eq!(r("bytes=-1", 1000), Partial { start: 999, end: 999 });
        assert_eq!(r("bytes=-5000", 1000), Partial { start: 0, end: 999 });
        assert_eq!(r("bytes=-0", 1000), Unsatisfiable);
        assert_eq!(r("BYTES = 10 - 19", 1000), Partial { start: 10, end: 19 });
        assert_eq!(r("bytes=5-2", 1000), Unsatisfiable);
        assert_eq!(r("bytes=abc", 1000), Unsatisfiable);
        assert_eq!(r("bytes=", 1000), Unsatisfiable);
        assert_eq!(r("bytes=-", 1000), Unsatisfiable);
        assert_eq!(r("bytes=--1", 1000), Unsatisfiable);
        assert_eq!(r("bytes=+1-2", 1000), Unsatisfiable);
        assert_eq!(r("items=0-1", 1000), Unsatisfiable);
        assert_eq!(r("bytes 0-1", 1000), Unsatisfiable);
        assert_eq!(r("bytes=99999999999999999999-", 1000), Unsatisfiable);
        assert_eq!(r(&format!("bytes=0-{}", u64::MAX), 1000), Partial { start: 0, end: 999 });
        assert_eq!(r("bytes=0-1,5-6", 1000), Full);
        assert_eq!(r("bytes=0-", 0), Unsatisfiable);
        assert_eq!(r("bytes=-1", 0), Unsatisfiable);
        assert_eq!(r(&format!("bytes=0-{}", "1".repeat(2000)), 1000), Unsatisfiable);
    }

    #[test]
    fn if_range() {
        use RangeDecision::*;
        let lm = 784_111_777;
        let d = |ir: &str| decide_range(Some("bytes=0-1"), Some(ir), 10, ET, lm);
        assert_eq!(d(ET), Partial { start: 0, end: 1 });
        assert_eq!(d("\"other\""), Full);
        assert_eq!(d("W/\"abc\""), Full);
        assert_eq!(d("Sun, 06 Nov 1994 08:49:37 GMT"), Partial { start: 0, end: 1 });
        assert_eq!(d("Sun, 06 Nov 1994 08:49:38 GMT"), Full);
        assert_eq!(d("garbage"), Full);
    }

    #[test]
    fn preconditions() {
        use Precondition::*;
        let lm = 784_111_777;
        let p = |inm: Option<&str>, ims: Option<&str>| evaluate_preconditions(inm, ims, ET, lm);
        assert_eq!(p(None, None), Proceed);
        assert_eq!(p(Some(ET), None), NotModified);
        assert_eq!(p(Some("W/\"abc\""), None), NotModified);
        assert_eq!(p(Some("\"x\", \"abc\""), None), NotModified);
        assert_eq!(p(Some("*"), None), NotModified);
        assert_eq!(p(Some("\"x\""), None), Proceed);
        assert_eq!(p(Some("abc"), None), Proceed);
        assert_eq!(p(Some("\""), None), Proceed);
        // If-None-Match present: If-Modified-Since is ignored.
        assert_eq!(p(Some("\"x\""), Some("Sun, 06 Nov 1994 08:49:37 GMT")), Proceed);
        assert_eq!(p(None, Some("Sun, 06 Nov 1994 08:49:37 GMT")), NotModified);
        assert_eq!(p(None, Some("Sun, 06 Nov 1994 08:49:36 GMT")), Proceed);
        assert_eq!(p(None, Some("yesterday")), Proceed);
    }

    #[test]
    fn dates() {
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(784_111_777));
        assert_eq!(parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT"), Some(1_709_164_800));
        for bad in [
            "",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Thu, 29 Feb 2023 00:00:00 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Xyz, 06 Nov 1994 08:49:37 GMT",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
        let mut t = 0u64;
        while t < 4_102_444_800 {
            assert_eq!(parse_http_date(&http_date(t)), Some(t), "{t}");
            t += 86_399 * 7 + 12_345;
        }
        for t in [951_782_399, 951_782_400, 951_868_800, 978_307_199, 978_307_200, 4_107_542_399] {
            assert_eq!(parse_http_date(&http_date(t)), Some(t), "{t}");
        }
    }

    #[test]
    fn disposition() {
        assert_eq!(content_disposition("q3.pdf"), "attachment; filename=\"q3.pdf\"; filename*=UTF-8''q3.pdf");
        assert_eq!(
            content_disposition("Q3 – rapport.pdf"),
            "attachment; filename=\"Q3 _ rapport.pdf\"; filename*=UTF-8''Q3%20%E2%80%93%20rapport.pdf"
        );
        let nasty = content_disposition("a\"b\\c%d;e\r\nX-Evil: 1\u{7f}.pdf");
        assert!(!nasty.chars().any(|c| c.is_control()), "{nasty}");
        assert!(nasty.starts_with("attachment; filename=\"a_b_c_d_e__X-Evil: 1_.pdf\""), "{nasty}");
        assert_eq!(strong_etag("abc"), "\"abc\"");
        assert_eq!(strong_etag("\"abc\""), "\"abc\"");
    }
}

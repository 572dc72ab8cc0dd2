//! The `host` claim: its grammar, and when a request's `Host` matches it.
//!
//! `docs/link-format.md` §4.2 gives the grammar and §9 the matching rule.
//! A claim has exactly one spelling per host (lowercase, canonical IPv6
//! text, no trailing dot, no leading zeros in a port), so that it can be
//! compared as text; anything a URL parser would print differently could
//! never match and is refused when signing and when decoding.

use std::net::Ipv6Addr;

use super::ip::v6_text;

/// Longest host name without its port (RFC 1035's 253 bytes of text).
pub const MAX_NAME_BYTES: usize = 253;
/// Longest DNS label.
pub const MAX_LABEL_BYTES: usize = 63;

/// Why a claim text is not a host: a short reason for error messages.
pub(crate) mod why {
    pub const BAD_BYTE: &str = "must be a lowercase host name, optionally with :port";
    pub const TRAILING_DOT: &str = "must not end with a dot";
    pub const LABEL: &str = "each DNS label must be 1-63 of a-z 0-9 -, not starting or ending with -";
    pub const LAST_LABEL: &str =
        "must be a DNS name whose last label starts with a letter, or an IPv4 address (four numbers 0-255 without leading zeros)";
    pub const NAME_TOO_LONG: &str = "a DNS name is at most 253 characters";
    pub const IPV6: &str = "an IPv6 address must be bracketed and canonical, e.g. [2001:db8::1]";
    pub const COLONS: &str = "a host has one ':' at most, before its port (an IPv6 address goes in brackets)";
    pub const PORT: &str = "a port must be 1-65535 without leading zeros";
}

/// The name and port of a host text, split at the port's `:`: `[v6]` keeps
/// its brackets; an unbracketed text splits at its only colon. `None` when
/// the text cannot be split (an unbracketed text with two colons, or junk
/// after `]`).
fn split(s: &str) -> Option<(&str, Option<&str>)> {
    if s.starts_with('[') {
        let close = s.find(']')?;
        let (name, rest) = s.split_at_checked(close.checked_add(1)?)?;
        return match rest {
            "" => Some((name, None)),
            _ => Some((name, Some(rest.strip_prefix(':')?))),
        };
    }
    match s.split_once(':') {
        None => Some((s, None)),
        Some((_, port)) if port.contains(':') => None,
        Some((name, port)) => Some((name, Some(port))),
    }
}

/// `1-65535` without leading zeros.
fn valid_port(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 5
        && p.bytes().all(|b| b.is_ascii_digit())
        && !p.starts_with('0')
        && p.parse::<u32>().is_ok_and(|n| n <= 65_535)
}

/// A decimal octet without leading zeros.
fn dec_octet(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 3
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s.len() == 1 || !s.starts_with('0'))
        && s.parse::<u16>().is_ok_and(|n| n <= 255)
}

fn ipv4(s: &str) -> bool {
    let mut parts = 0usize;
    for p in s.split('.') {
        if !dec_octet(p) {
            return false;
        }
        parts = parts.saturating_add(1);
    }
    parts == 4
}

fn label(l: &str) -> bool {
    let b = l.as_bytes();
    let edge = |c: Option<&u8>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    !b.is_empty()
        && b.len() <= MAX_LABEL_BYTES
        && edge(b.first())
        && edge(b.last())
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// Check the name part (no port) of a claim.
fn check_name(name: &str) -> Result<(), &'static str> {
    if let Some(inner) = name.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or(why::IPV6)?;
        let addr: Ipv6Addr = inner.parse().map_err(|_| why::IPV6)?;
        return if v6_text(&addr) == inner { Ok(()) } else { Err(why::IPV6) };
    }
    if name.ends_with('.') {
        return Err(why::TRAILING_DOT);
    }
    if name.contains(['[', ']']) {
        return Err(why::IPV6);
    }
    // The last label decides: a letter starts a DNS name; anything else
    // must be an IPv4 address (URL parsers read `1.2.3` or `a.0x1` as one).
    let last = name.rsplit('.').next().unwrap_or("");
    if last.bytes().next().is_some_and(|b| b.is_ascii_lowercase()) {
        if name.len() > MAX_NAME_BYTES {
            return Err(why::NAME_TOO_LONG);
        }
        return if name.split('.').all(label) { Ok(()) } else { Err(why::LABEL) };
    }
    if ipv4(name) {
        Ok(())
    } else {
        Err(why::LAST_LABEL)
    }
}

/// `1-65535` without leading zeros, on bytes.
fn plain_port(p: &[u8]) -> bool {
    let mut n = 0u32;
    for &b in p {
        if !b.is_ascii_digit() {
            return false;
        }
        n = n.saturating_mul(10).saturating_add(u32::from(b - b'0'));
    }
    (1..=5).contains(&p.len()) && p.first() != Some(&b'0') && n <= 65_535
}

/// The usual claim, accepted in one pass over its bytes: a DNS name whose
/// last label starts with a letter, optionally with a port. `true` only for
/// texts [`check_claim`] accepts (a property test pins it); anything else
/// (addresses, brackets, every refusal) goes through [`check_claim`], which
/// names the reason. Decoding checks the host of every link before its tag.
pub(crate) fn plain_dns_name(s: &[u8]) -> bool {
    // Length and first byte of the current label, the byte before, and how
    // many bytes the name has (up to the port's `:`).
    let (mut len, mut first, mut prev, mut name_len) = (0usize, 0u8, b'.', 0usize);
    let mut port = None;
    for (i, &b) in s.iter().enumerate() {
        match b {
            b'.' if len > 0 && prev != b'-' => len = 0,
            b'a'..=b'z' | b'0'..=b'9' | b'-' if len < MAX_LABEL_BYTES && !(len == 0 && b == b'-') => {
                if len == 0 {
                    first = b;
                }
                len += 1;
            }
            b':' => {
                port = s.get(i.saturating_add(1)..);
                break;
            }
            _ => return false,
        }
        prev = b;
        name_len = i.saturating_add(1);
    }
    (1..=MAX_NAME_BYTES).contains(&name_len)
        && len > 0
        && prev != b'-'
        && first.is_ascii_lowercase()
        && port.is_none_or(plain_port)
}

/// Check a claim text already known to consist of allowed bytes (`a–z 0–9 - . : [ ]`).
pub(crate) fn check_claim(s: &str) -> Result<(), &'static str> {
    let (name, port) = split(s).ok_or(if s.starts_with('[') { why::IPV6 } else { why::COLONS })?;
    check_name(name)?;
    match port {
        Some(p) if !valid_port(p) => Err(why::PORT),
        _ => Ok(()),
    }
}

/// Does the request's `Host` (`request`) name the host of `claim`, a text
/// that passed [`check_claim`]? §9 step 11: split both at the port's `:`
/// (a request port must be digits), drop one trailing `.` from the request's
/// name, compare names folding ASCII case only, and ports as text when the
/// claim has one.
pub fn matches(claim: &str, request: &str) -> bool {
    // The usual request names the claim exactly: equal texts split alike,
    // and a claim's port is digits and its name has no trailing dot.
    if claim == request {
        return true;
    }
    let (Some((cname, cport)), Some((rname, rport))) = (split(claim), split(request)) else {
        return false;
    };
    if rport.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    let rname = rname.strip_suffix('.').unwrap_or(rname);
    rname.eq_ignore_ascii_case(cname) && cport.is_none_or(|c| rport == Some(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        let long_label = "a".repeat(63);
        let long_name = format!("{0}.{0}.{0}.{1}", "a".repeat(63), "b".repeat(61));
        assert_eq!(long_name.len(), 253);
        for ok in [
            "files.example.com",
            "files.example.com:8443",
            "localhost",
            "a",
            "x1.example",
            "a-b.c-d",
            "192.0.2.1",
            "0.0.0.0:1",
            "255.255.255.255:65535",
            "[::1]",
            "[::1]:8787",
            "[2001:db8::1]",
            "[::ffff:102:304]",
            "xn--bcher-kva.example",
            "1.example.com",
            long_label.as_str(),
            long_name.as_str(),
        ] {
            assert_eq!(check_claim(ok), Ok(()), "{ok}");
        }
        let too_long = format!("{long_name}b");
        let long_label_64 = format!("{}.com", "a".repeat(64));
        for (bad, reason) in [
            ("files.example.com.", why::TRAILING_DOT),
            ("files.example.com.:443", why::TRAILING_DOT),
            ("a:b.:c", why::COLONS),
            ("[a]:.:80", why::IPV6),
            ("a[b", why::IPV6),
            ("[", why::IPV6),
            ("]", why::IPV6),
            ("[::1", why::IPV6),
            ("[::1]junk", why::IPV6),
            ("::1", why::COLONS),
            ("2001:db8::1", why::COLONS),
            ("[0::1]", why::IPV6),
            ("[::ffff:1.2.3.4]", why::IPV6),
            ("[2001:DB8::1]", why::IPV6),
            ("[fe80::1%eth0]", why::IPV6),
            (":80", why::LAST_LABEL),
            ("a:", why::PORT),
            ("a:0", why::PORT),
            ("a:080", why::PORT),
            ("a:65536", why::PORT),
            ("a:123456", why::PORT),
            ("[::1]:", why::PORT),
            ("-a", why::LAST_LABEL),
            ("-a.com", why::LABEL),
            ("a-", why::LABEL),
            ("a..b", why::LABEL),
            (".a", why::LABEL),
            (long_label_64.as_str(), why::LABEL),
            (too_long.as_str(), why::NAME_TOO_LONG),
            ("1.2.3", why::LAST_LABEL),
            ("a.1", why::LAST_LABEL),
            ("256.1.1.1", why::LAST_LABEL),
            ("01.2.3.4", why::LAST_LABEL),
            ("1.2.3.4.5", why::LAST_LABEL),
            ("0x7f.0.0.1", why::LAST_LABEL),
            ("a.0x1f", why::LAST_LABEL),
        ] {
            assert_eq!(check_claim(bad), Err(reason), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn plain_names_are_claims(s in "[a-z0-9.:-]{0,12}|[a-z][a-z0-9-]{0,64}(\\.[a-z0-9-]{1,64}){0,4}(:[0-9]{0,6})?") {
            if plain_dns_name(s.as_bytes()) {
                proptest::prop_assert_eq!(check_claim(&s), Ok(()), "{}", s);
            }
        }

        #[test]
        fn usual_names_take_the_one_pass(s in "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?){0,3}\\.[a-z]{1,6}(:[1-9][0-9]{0,3})?") {
            proptest::prop_assert!(plain_dns_name(s.as_bytes()), "{}", s);
            proptest::prop_assert_eq!(check_claim(&s), Ok(()));
        }

        #[test]
        fn equal_texts_match(s in "[a-z0-9.:\\[\\]-]{0,16}") {
            if check_claim(&s).is_ok() {
                proptest::prop_assert!(matches(&s, &s));
            }
        }
    }

    #[test]
    fn plain_names_on_the_grammar_table() {
        let long_label = "a".repeat(63);
        for ok in ["files.example.com", "files.example.com:8443", "localhost", "a", "1.example.com", "a:65535"] {
            assert!(plain_dns_name(ok.as_bytes()), "{ok}");
        }
        assert!(plain_dns_name(long_label.as_bytes()));
        let long_label_64 = format!("{}.com", "a".repeat(64));
        for other in [
            "",
            "files.example.com.",
            "-a",
            "a-",
            "a..b",
            ".a",
            "a:",
            "a:0",
            "a:080",
            "a:65536",
            "a:123456",
            "a:1:2",
            "192.0.2.1",
            "a.1",
            "[::1]",
            "A",
            long_label_64.as_str(),
        ] {
            assert!(!plain_dns_name(other.as_bytes()), "{other}");
        }
    }

    #[test]
    fn matching() {
        let m = |c: &str, r: &str| {
            assert_eq!(check_claim(c), Ok(()), "{c}");
            matches(c, r)
        };
        let h = "files.example.com";
        for yes in [h, "FILES.example.com", "files.example.com.", "files.example.com:8443", "files.example.com.:80"] {
            assert!(m(h, yes), "{yes}");
        }
        for no in [
            "",
            "files.example.com..",
            "files.example.com:80.",
            "files.example.com:abc",
            "files.example.com:",
            "files.example.com:+80",
            "files.example.com:1:2",
            "evil.example.com",
            "files.example.com.evil.net",
            "\u{212a}files.example.com",
        ] {
            assert!(!m(h, no), "{no}");
        }
        let p = "files.example.com:8443";
        assert!(m(p, "files.example.com:8443"));
        assert!(m(p, "Files.Example.Com.:8443"));
        assert!(!m(p, "files.example.com"));
        assert!(!m(p, "files.example.com:443"));
        assert!(!m(p, "files.example.com:08443"), "ports compare as text");
        let v6 = "[::1]";
        assert!(m(v6, "[::1]"));
        assert!(m(v6, "[::1]:8787"));
        assert!(!m(v6, "[::1]junk"));
        assert!(!m(v6, "[::1]:"));
        assert!(!m(v6, "[0::1]"), "no address normalization");
        assert!(!m(v6, "::1"));
        assert!(m("[::1]:8787", "[::1]:8787"));
        assert!(!m("[::1]:8787", "[::1]"));
        assert!(m("192.0.2.1", "192.0.2.1:80"));
        assert!(!m("192.0.2.1", "192.0.2.01"));
    }
}

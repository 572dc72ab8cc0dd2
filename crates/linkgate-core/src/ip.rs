//! CIDR ranges for the `ip` claim, IPv4 and IPv6.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are treated as the IPv4
//! address they carry, on both sides, so a dual-stack edge cannot be used to
//! step around an IPv4 binding.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why a CIDR text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CidrError {
    /// Not an IPv4 or IPv6 address.
    BadAddress,
    /// Prefix length missing digits or too large for the family.
    BadPrefixLength,
    /// Bits set below the prefix length (`10.0.0.1/8`): ambiguous intent.
    HostBitsSet,
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CidrError::BadAddress => "not an IPv4 or IPv6 address",
            CidrError::BadPrefixLength => "bad prefix length",
            CidrError::HostBitsSet => "address has bits set below the prefix length",
        })
    }
}

/// A network: address plus prefix length, host bits zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cidr {
    /// IPv4 network, prefix 0..=32.
    V4 { addr: Ipv4Addr, prefix: u8 },
    /// IPv6 network, prefix 0..=128 (never an IPv4-mapped one).
    V6 { addr: Ipv6Addr, prefix: u8 },
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix.min(32))).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix.min(128))).unwrap_or(0)
}

/// A client address from its text (`docs/link-format.md` §9): IPv4 in dotted
/// decimal without leading zeros, or IPv6 as RFC 3986's `IPv6address` (hex
/// digits in either case, `::` at most once, an IPv4 tail allowed). Nothing
/// else: no brackets, zone ids (`fe80::1%eth0`), whitespace or octal-looking
/// `198.051.100.9`. The standard library's parser accepts exactly this
/// grammar (checked against RFC 3986's grammar in `tests/properties.rs`).
pub fn parse_addr(text: &str) -> Option<IpAddr> {
    text.parse().ok()
}

/// The canonical text of an IPv6 address (RFC 5952 §4): lowercase, no
/// leading zeros, the longest run of two or more zero groups as `::` (the
/// first of equally long runs). Never the dotted form of RFC 5952 §5, which
/// `Ipv6Addr`'s `Display` uses for IPv4-mapped addresses: one text per
/// address, the one URL parsers print (`[::ffff:102:304]`).
pub fn v6_text(addr: &Ipv6Addr) -> String {
    let groups = addr.segments();
    // The longest run of zero groups: (start, length).
    let (mut best, mut run) = ((0usize, 0usize), (0usize, 0usize));
    for (i, g) in groups.iter().enumerate() {
        if *g == 0 {
            run = if run.1 == 0 { (i, 1) } else { (run.0, run.1 + 1) };
            if run.1 > best.1 {
                best = run;
            }
        } else {
            run = (0, 0);
        }
    }
    let hex = |gs: &[u16]| gs.iter().map(|g| format!("{g:x}")).collect::<Vec<_>>().join(":");
    if best.1 < 2 {
        return hex(&groups);
    }
    let head = groups.get(..best.0).unwrap_or(&[]);
    let tail = groups.get(best.0 + best.1..).unwrap_or(&[]);
    format!("{}::{}", hex(head), hex(tail))
}

/// `ip.to_string()`, written here: std's IPv6 `Display` (with its buffer and
/// IPv4 forms) is ~2 KB of the worker's wasm. The same text: dotted IPv4,
/// IPv4-mapped IPv6 as `::ffff:a.b.c.d`, any other IPv6 canonical (tested
/// against `Display`).
pub fn addr_text(ip: &IpAddr) -> String {
    let v4 = |a: &std::net::Ipv4Addr| {
        let [a, b, c, d] = a.octets();
        format!("{a}.{b}.{c}.{d}")
    };
    match ip {
        IpAddr::V4(a) => v4(a),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(m) => format!("::ffff:{}", v4(&m)),
            None => v6_text(a),
        },
    }
}

/// The address as the matcher sees it: IPv4-mapped IPv6 becomes IPv4.
pub fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

impl Cidr {
    /// Build from parts, refusing host bits and out-of-range prefixes.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Cidr, CidrError> {
        match addr {
            IpAddr::V4(a) => {
                if prefix > 32 {
                    return Err(CidrError::BadPrefixLength);
                }
                if u32::from(a) & !mask32(prefix) != 0 {
                    return Err(CidrError::HostBitsSet);
                }
                Ok(Cidr::V4 { addr: a, prefix })
            }
            IpAddr::V6(a) => {
                if prefix > 128 {
                    return Err(CidrError::BadPrefixLength);
                }
                if u128::from(a) & !mask128(prefix) != 0 {
                    return Err(CidrError::HostBitsSet);
                }
                // ::ffff:0:0/96 and longer are IPv4 networks in disguise.
                if prefix >= 96 {
                    if let Some(v4) = a.to_ipv4_mapped() {
                        return Ok(Cidr::V4 { addr: v4, prefix: prefix - 96 });
                    }
                }
                Ok(Cidr::V6 { addr: a, prefix })
            }
        }
    }

    /// Parse `addr/len` or a bare address (a single host). The address is a
    /// [`parse_addr`] text; the length is decimal without leading zeros
    /// (`0`, `8`, `24`, `128`; never `08`), so each range has one spelling.
    pub fn parse(text: &str) -> Result<Cidr, CidrError> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => {
                let digits = !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit());
                if !digits || (p.len() > 1 && p.starts_with('0')) {
                    return Err(CidrError::BadPrefixLength);
                }
                let p: u8 = p.parse().map_err(|_| CidrError::BadPrefixLength)?;
                (a, Some(p))
            }
            None => (text, None),
        };
        let addr = parse_addr(addr).ok_or(CidrError::BadAddress)?;
        let prefix = prefix.unwrap_or(if addr.is_ipv4() { 32 } else { 128 });
        Cidr::new(addr, prefix)
    }

    /// Does the network contain the address?
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self, normalize(ip)) {
            (Cidr::V4 { addr, prefix }, IpAddr::V4(c)) => {
                let m = mask32(*prefix);
                u32::from(c) & m == u32::from(*addr)
            }
            (Cidr::V6 { addr, prefix }, IpAddr::V6(c)) => {
                let m = mask128(*prefix);
                u128::from(c) & m == u128::from(*addr)
            }
            _ => false,
        }
    }

    /// Wire form: family byte (4 or 6), address bytes, prefix length.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Cidr::V4 { addr, prefix } => {
                out.push(4);
                out.extend_from_slice(&addr.octets());
                out.push(*prefix);
            }
            Cidr::V6 { addr, prefix } => {
                out.push(6);
                out.extend_from_slice(&addr.octets());
                out.push(*prefix);
            }
        }
    }

    /// Decode one entry from the front of `input`; returns it and the rest.
    /// Refuses anything `encode_into` would not produce.
    pub fn decode_from(input: &[u8]) -> Option<(Cidr, &[u8])> {
        let (&family, rest) = input.split_first()?;
        match family {
            4 => {
                let (a, rest) = rest.split_first_chunk::<4>()?;
                let (&p, rest) = rest.split_first()?;
                let c = Cidr::new(IpAddr::V4(Ipv4Addr::from(*a)), p).ok()?;
                Some((c, rest))
            }
            6 => {
                let (a, rest) = rest.split_first_chunk::<16>()?;
                let (&p, rest) = rest.split_first()?;
                let c = Cidr::new(IpAddr::V6(Ipv6Addr::from(*a)), p).ok()?;
                // A mapped network must travel as family 4.
                if !matches!(c, Cidr::V6 { .. }) {
                    return None;
                }
                Some((c, rest))
            }
            _ => None,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cidr::V4 { addr, prefix } => write!(f, "{addr}/{prefix}"),
            Cidr::V6 { addr, prefix } => write!(f, "{}/{prefix}", v6_text(addr)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addr_text_is_display() {
        let mut addrs: Vec<IpAddr> = [
            "0.0.0.0",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "64:ff9b::1.2.3.4",
            "1::",
            "1:0:0:2::3",
            "1:0:0:2:0:0:0:3",
            "fe80::1:0:0:1",
            "2001:db8::",
            "::ffff:0:1",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let mut x = 0x853c_49e6_748f_ea9bu64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Groups that are zero often, so runs of every length occur.
            let g = |k: u32| if (x >> k) & 3 == 0 { (x >> (k + 2)) as u16 } else { 0 };
            addrs.push(IpAddr::V6(Ipv6Addr::new(g(0), g(8), g(16), g(24), g(32), g(40), g(48), g(56))));
            addrs.push(IpAddr::V4(std::net::Ipv4Addr::from((x >> 20) as u32)));
        }
        for a in addrs {
            assert_eq!(addr_text(&a), a.to_string());
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_refuses() {
        assert_eq!(Cidr::parse("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(Cidr::parse("192.0.2.7").unwrap().to_string(), "192.0.2.7/32");
        assert_eq!(Cidr::parse("2001:db8::/32").unwrap().to_string(), "2001:db8::/32");
        assert_eq!(Cidr::parse("::1").unwrap().to_string(), "::1/128");
        assert_eq!(Cidr::parse("0.0.0.0/0").unwrap().to_string(), "0.0.0.0/0");
        assert_eq!(Cidr::parse("::ffff:10.0.0.0/104").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(Cidr::parse("10.0.0.1/8"), Err(CidrError::HostBitsSet));
        assert_eq!(Cidr::parse("2001:db8::1/32"), Err(CidrError::HostBitsSet));
        assert_eq!(Cidr::parse("10.0.0.0/33"), Err(CidrError::BadPrefixLength));
        assert_eq!(Cidr::parse("::/129"), Err(CidrError::BadPrefixLength));
        assert_eq!(Cidr::parse("10.0.0.0/"), Err(CidrError::BadPrefixLength));
        assert_eq!(Cidr::parse("10.0.0.0/+8"), Err(CidrError::BadPrefixLength));
        assert_eq!(Cidr::parse("10.0.0.0/0008"), Err(CidrError::BadPrefixLength));
        assert_eq!(Cidr::parse("10.0.0.0/08"), Err(CidrError::BadPrefixLength), "one spelling per length");
        assert_eq!(Cidr::parse("::/00"), Err(CidrError::BadPrefixLength));
        assert_eq!(Cidr::parse("010.0.0.0/8"), Err(CidrError::BadAddress), "no leading zeros");
        assert_eq!(Cidr::parse("fe80::%eth0/64"), Err(CidrError::BadAddress), "no zone id");
        assert_eq!(Cidr::parse(" 10.0.0.0/8"), Err(CidrError::BadAddress), "no whitespace");
        assert_eq!(Cidr::parse("::1.2.3.0/120").unwrap().to_string(), "::102:300/120", "never dotted");
        assert_eq!(Cidr::parse("2001:DB8::/32").unwrap().to_string(), "2001:db8::/32");
        assert_eq!(Cidr::parse("10.0.0/8"), Err(CidrError::BadAddress));
        assert_eq!(Cidr::parse("example.com"), Err(CidrError::BadAddress));
        assert_eq!(Cidr::parse(""), Err(CidrError::BadAddress));
    }

    #[test]
    fn client_address_text() {
        for ok in
            ["198.51.100.9", "0.0.0.0", "::1", "2001:DB8::A", "::ffff:198.51.100.9", "1:2:3:4:5:6:7:8", "::1.2.3.4"]
        {
            assert!(parse_addr(ok).is_some(), "{ok}");
        }
        for bad in [
            "198.051.100.9",
            "fe80::1%eth0",
            "[::1]",
            " 198.51.100.9",
            "198.51.100.9 ",
            "1.2.3",
            "0x7f.0.0.1",
            "+1.2.3.4",
            "::1.2.3.04",
            "1:2:3:4:5:6:7:8:9",
            "12345::",
            "",
            "garbage",
        ] {
            assert!(parse_addr(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn canonical_v6_text() {
        let t = |s: &str| v6_text(&s.parse().unwrap());
        assert_eq!(t("::"), "::");
        assert_eq!(t("::1"), "::1");
        assert_eq!(t("1::"), "1::");
        assert_eq!(t("2001:0DB8:0000:0000:0000:0000:0000:0001"), "2001:db8::1");
        assert_eq!(t("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1", "one zero group stays");
        assert_eq!(t("1:0:0:1:0:0:0:1"), "1:0:0:1::1", "the longest run");
        assert_eq!(t("1:0:0:1:0:0:1:1"), "1::1:0:0:1:1", "the first of equal runs");
        assert_eq!(t("::ffff:1.2.3.4"), "::ffff:102:304", "never dotted");
        assert_eq!(t("::1.2.3.0"), "::102:300");
        // Every other address prints as Display does.
        for s in ["2001:db8::", "fe80::1:2", "0:1:2:3:4:5:6:7", "1:2:3:4:5:6:7:0", "ff02::2"] {
            assert_eq!(t(s), s.parse::<Ipv6Addr>().unwrap().to_string(), "{s}");
        }
    }

    #[test]
    fn v4_boundaries() {
        let c = Cidr::parse("192.0.2.0/24").unwrap();
        assert!(c.contains(ip("192.0.2.0")));
        assert!(c.contains(ip("192.0.2.255")));
        assert!(!c.contains(ip("192.0.3.0")));
        assert!(!c.contains(ip("192.0.1.255")));
        assert!(!c.contains(ip("2001:db8::1")));
        let host = Cidr::parse("192.0.2.9/32").unwrap();
        assert!(host.contains(ip("192.0.2.9")));
        assert!(!host.contains(ip("192.0.2.8")));
        let any = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(any.contains(ip("255.255.255.255")));
        assert!(!any.contains(ip("::1")));
    }

    #[test]
    fn v6_boundaries() {
        let c = Cidr::parse("2001:db8:abcd::/48").unwrap();
        assert!(c.contains(ip("2001:db8:abcd::")));
        assert!(c.contains(ip("2001:db8:abcd:ffff:ffff:ffff:ffff:ffff")));
        assert!(!c.contains(ip("2001:db8:abce::")));
        assert!(!c.contains(ip("192.0.2.1")));
        let any = Cidr::parse("::/0").unwrap();
        assert!(any.contains(ip("2001:db8::1")));
    }

    #[test]
    fn ipv4_mapped_addresses_match_ipv4_ranges() {
        let c = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(c.contains(ip("::ffff:10.1.2.3")));
        assert!(!c.contains(ip("::ffff:10.2.2.3")));
        // IPv4-compatible (deprecated) is not mapped and must not match.
        assert!(!c.contains(ip("::10.1.2.3")));
        let mapped = Cidr::parse("::ffff:10.1.0.0/112").unwrap();
        assert!(mapped.contains(ip("10.1.9.9")));
    }

    #[test]
    fn wire_round_trip_and_strictness() {
        for t in ["10.0.0.0/8", "0.0.0.0/0", "2001:db8::/32", "::/0", "::1/128"] {
            let c = Cidr::parse(t).unwrap();
            let mut w = Vec::new();
            c.encode_into(&mut w);
            assert_eq!(Cidr::decode_from(&w), Some((c, &[][..])));
        }
        assert_eq!(Cidr::decode_from(&[4, 10, 0, 0, 1, 8]), None, "host bits");
        assert_eq!(Cidr::decode_from(&[4, 10, 0, 0, 0, 33]), None, "prefix");
        assert_eq!(Cidr::decode_from(&[4, 10, 0, 0]), None, "short");
        assert_eq!(Cidr::decode_from(&[5, 10, 0, 0, 0, 8]), None, "family");
        let mut mapped = vec![6];
        mapped.extend_from_slice(&Ipv4Addr::new(10, 0, 0, 0).to_ipv6_mapped().octets());
        mapped.push(104);
        assert_eq!(Cidr::decode_from(&mapped), None, "mapped must be family 4");
    }
}

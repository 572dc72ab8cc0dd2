//! Shared pieces of the linkgate fuzz targets: the fixed key ring, the byte
//! layout of the `verify` target's input (also written by the corpus seeder),
//! and the path invariants checked by `path_canonicalize` and `verify`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use linkgate_core::b64;
use linkgate_core::keys::KeyRing;
use linkgate_core::path::{CanonicalPath, MAX_PATH_BYTES};
use linkgate_core::verify::{Method, TimeRules, DEFAULT_MAX_TTL_SECS};

/// Reference time: `now` in the `verify` input is relative to this unless the
/// "absolute time" flag is set.
pub const T0: u64 = 1_800_000_000;

/// The fuzz CAT key (`cat1`), for Common Access Tokens (`cat_decode`).
pub const CAT_SECRET: [u8; 32] = [0x33; 32];

/// The fixed two-key ring of the `verify` target: `new` signs, `old` verifies.
pub fn ring() -> KeyRing {
    KeyRing::parse(&format!("new:{},old:{}", b64::encode(&[0x11; 32]), b64::encode(&[0x22; 48])))
        .expect("fixed ring parses")
}

/// One request for the `verify` target, decoded from fuzz bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyCase {
    pub method: Method,
    pub token: Option<String>,
    pub host: Option<String>,
    pub client_ip: Option<IpAddr>,
    pub now: u64,
    pub rules: TimeRules,
    pub path: String,
}

/// Fixed header length of a `verify` input.
pub const HEADER: usize = 30;

const METHODS: [Method; 6] = [Method::Get, Method::Head, Method::Post, Method::Put, Method::Delete, Method::Other];

fn rules_for(sel: u8) -> TimeRules {
    match sel & 3 {
        0 => TimeRules::default(),
        1 => TimeRules { skew_secs: 0, max_ttl_secs: DEFAULT_MAX_TTL_SECS },
        2 => TimeRules { skew_secs: u64::MAX, max_ttl_secs: u64::MAX },
        _ => TimeRules { skew_secs: 30, max_ttl_secs: 0 },
    }
}

fn rules_selector(r: &TimeRules) -> u8 {
    (0..4).find(|&s| rules_for(s) == *r).unwrap_or(0)
}

/// Layout (short inputs are padded with zeros, so every input is used):
///
/// ```text
/// [0]      method (mod 6: GET HEAD POST PUT DELETE other)
/// [1]      flags: 1 token present, 2 host present, 4 ip present,
///          8 absolute now, bits 4-5 time rules
/// [2..10]  now, u64 BE (absolute), or T0 + (low 32 bits as i32)
/// [10]     ip family: even = IPv4 from [11..15], odd = IPv6 from [11..27]
/// [27..29] path length, u16 BE
/// [29]     host length
/// then     path bytes, host bytes, token bytes (the rest);
///          non-UTF-8 is replaced (lossy), so every byte string is a request
/// ```
pub fn decode_case(data: &[u8]) -> VerifyCase {
    let mut h = [0u8; HEADER];
    let n = data.len().min(HEADER);
    h[..n].copy_from_slice(&data[..n]);
    let body = data.get(HEADER..).unwrap_or(&[]);

    let method = METHODS[usize::from(h[0]) % METHODS.len()];
    let flags = h[1];
    let raw_now = u64::from_be_bytes(h[2..10].try_into().unwrap());
    let now = if flags & 8 != 0 { raw_now } else { T0.wrapping_add_signed(i64::from(raw_now as u32 as i32)) };
    let client_ip = (flags & 4 != 0).then(|| {
        if h[10] % 2 == 0 {
            IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(&h[11..15]).unwrap()))
        } else {
            IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&h[11..27]).unwrap()))
        }
    });
    let path_len = usize::from(u16::from_be_bytes([h[27], h[28]])).min(body.len());
    let (path, body) = body.split_at(path_len);
    let host_len = usize::from(h[29]).min(body.len());
    let (host, token) = body.split_at(host_len);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    VerifyCase {
        method,
        token: (flags & 1 != 0).then(|| text(token)),
        host: (flags & 2 != 0).then(|| text(host)),
        client_ip,
        now,
        rules: rules_for(flags >> 4),
        path: text(path),
    }
}

/// Inverse of [`decode_case`] for the seeder (`now` is written absolute).
pub fn encode_case(c: &VerifyCase) -> Vec<u8> {
    let mut h = [0u8; HEADER];
    h[0] = METHODS.iter().position(|m| *m == c.method).unwrap_or(0) as u8;
    let mut flags = 8u8 | (rules_selector(&c.rules) << 4);
    if c.token.is_some() {
        flags |= 1;
    }
    if c.host.is_some() {
        flags |= 2;
    }
    match c.client_ip {
        Some(IpAddr::V4(a)) => {
            flags |= 4;
            h[10] = 0;
            h[11..15].copy_from_slice(&a.octets());
        }
        Some(IpAddr::V6(a)) => {
            flags |= 4;
            h[10] = 1;
            h[11..27].copy_from_slice(&a.octets());
        }
        None => {}
    }
    h[1] = flags;
    h[2..10].copy_from_slice(&c.now.to_be_bytes());
    let host = c.host.as_deref().unwrap_or("");
    h[27..29].copy_from_slice(&(c.path.len() as u16).to_be_bytes());
    h[29] = host.len() as u8;
    let mut out = h.to_vec();
    out.extend_from_slice(c.path.as_bytes());
    out.extend_from_slice(host.as_bytes());
    out.extend_from_slice(c.token.as_deref().unwrap_or("").as_bytes());
    out
}

#[path = "../../tests/common/reference_path.rs"]
mod reference_path;
pub use reference_path::reference_canonicalize;

/// The invariants every canonical path satisfies; panics with the path if not.
pub fn assert_canonical(p: &CanonicalPath) {
    let s = p.as_str();
    assert!(s.starts_with('/'), "{s:?}");
    assert!(s.len() <= MAX_PATH_BYTES, "{} bytes", s.len());
    assert!(!s.contains("//"), "{s:?}");
    assert!(!s.contains("/./") && !s.ends_with("/."), "{s:?}");
    assert!(!s.contains("/../") && !s.ends_with("/.."), "{s:?}");
    assert!(!s.ends_with('/'), "{s:?}");
    assert!(!s.chars().any(|c| c.is_control() || c == '\\'), "{s:?}");
    assert_eq!(CanonicalPath::parse(s).as_ref(), Ok(p), "re-validation of {s:?}");
}

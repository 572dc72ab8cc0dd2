//! Common Access Tokens (docs/cat.md): the strict CBOR reader, the
//! COSE_Mac0 envelope, the claims decoder and the verifier.
//!
//! Each input is tried three ways: as token text (if UTF-8); as the token's
//! bytes (base64url-encoded first), which reaches the envelope and header
//! checks; and as a claims payload that the target MACs itself under the
//! fuzz CAT key, which gets past the tag to the claims decoder and every
//! check after it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use linkgate_core::b64;
use linkgate_core::cat::{self, CatConfig, CatRequest};
use linkgate_core::path::CanonicalPath;
use linkgate_core::verify::TimeRules;
use linkgate_core::KeyRing;
use linkgate_fuzz::{CAT_SECRET, T0};

fn check(cfg: &CatConfig, text: &str) {
    let _ = cat::read_unverified(text);
    let Ok(a) = cat::authenticate(&cfg.keys, text) else { return };
    // Only HS256 with a full tag under a ring key authenticates.
    assert_eq!(a.tag.len(), 32);
    assert!(cfg.keys.get(a.kid.as_str()).is_some());
    let rules = TimeRules::default();
    let path = CanonicalPath::from_request("/vod/show/seg1.ts").expect("path");
    for (method, now) in [("GET", T0), ("HEAD", T0 + 100), ("POST", T0), ("GET", u64::MAX)] {
        let req = CatRequest {
            token: text,
            path: &path,
            scheme: "https",
            authority: "files.example.com",
            method,
            client_ip: "198.51.100.7".parse().ok(),
            now,
        };
        match cat::verify(cfg, &rules, &req) {
            Ok(link) => {
                let c = link.claims();
                assert!(now < c.exp, "accepted at or after exp");
                assert!(c.exp.saturating_sub(c.iat) <= rules.max_ttl_secs, "lifetime over the maximum");
                assert!(c.iat <= now.saturating_add(rules.skew_secs));
                assert!(method == "GET" || method == "HEAD");
                assert!(link.is_cat());
            }
            Err(r) => assert!(r.claims.is_none() || !r.reason.is_unauthenticated()),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let keys = format!("cat1:{}", b64::encode(&CAT_SECRET));
    let cfg = CatConfig {
        keys: KeyRing::parse(&keys).expect("ring"),
        issuers: Vec::new(),
        audiences: Vec::new(),
        sources: cat::default_sources(),
    };
    if let Ok(text) = std::str::from_utf8(data) {
        check(&cfg, text);
    }
    check(&cfg, &b64::encode(data));
    // As a payload: MAC it under the fuzz key so the claims decoder runs.
    let protected = [0xa2, 0x01, 0x05, 0x04, 0x44, b'c', b'a', b't', b'1'];
    let Some(tag) = cat::mac_tag(&CAT_SECRET, &protected, data) else { return };
    let mut raw = vec![0xd1, 0x84, 0x49];
    raw.extend_from_slice(&protected);
    raw.push(0xa0);
    match data.len() {
        n if n < 24 => raw.push(0x40 | n as u8),
        n if n < 256 => raw.extend_from_slice(&[0x58, n as u8]),
        n if n < 65536 => {
            raw.push(0x59);
            raw.extend_from_slice(&(n as u16).to_be_bytes());
        }
        _ => return,
    }
    raw.extend_from_slice(data);
    raw.extend_from_slice(&[0x58, 0x20]);
    raw.extend_from_slice(&tag);
    check(&cfg, &b64::encode(&raw));
});

// A benchmark sets itself up from known-good inputs: a failure there is a
// broken bench, not a request, so it may unwrap, index and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

//! `cargo bench --bench cat`: the cost of verifying a Common Access Token
//! (base64url, strict CBOR, COSE_Mac0, HS256 over the MAC_structure, claim
//! mapping, catu/catnip/catm checks) against a linkgate link verification of
//! the equivalent claims, side by side in one run (the figure to read is the
//! ratio; both sides share the machine's noise). Fastest of 15 interleaved
//! rounds, medians printed too.

use std::hint::black_box;
use std::time::Duration;

#[path = "common/timing.rs"]
mod timing;
use timing::time_per_iter;

use linkgate_core::b64;
use linkgate_core::cat::{self, CatConfig, CatRequest, MintCat};
use linkgate_core::ip::Cidr;
use linkgate_core::token::{Claims, Jti};
use linkgate_core::verify::{verify, Method, RequestFacts, TimeRules};
use linkgate_core::{CanonicalPath, KeyId, KeyRing, Scope};

const T0: u64 = 1_800_000_000;

fn main() {
    let secret = [0x5Au8; 32];
    let ring = KeyRing::parse(&format!("bench:{}", b64::encode(&secret))).unwrap();
    let cfg = CatConfig {
        keys: ring.clone(),
        issuers: vec!["https://tokens.example".into()],
        audiences: vec!["linkgate".into()],
        sources: cat::default_sources(),
    };
    let m = MintCat {
        kid: "bench".into(),
        iss: Some("https://tokens.example".into()),
        aud: Some("linkgate".into()),
        exp: Some(T0 + 86_400),
        iat: Some(T0),
        cti: Some(vec![7; 16]),
        catnip: vec![Cidr::parse("192.0.2.0/24").unwrap()],
        catu: vec![(3, 1, "/vod/show/".into()), (8, 0, ".ts".into())],
        catm: vec!["GET".into(), "HEAD".into()],
        cwt_tag: true,
        ..Default::default()
    };
    let token = cat::mint(&secret, &m).unwrap();
    let path = CanonicalPath::from_request("/vod/show/seg00042.ts").unwrap();
    let rules = TimeRules::default();
    let req = CatRequest {
        token: &token,
        path: &path,
        scheme: "https",
        authority: "files.example.com",
        method: "GET",
        client_ip: "192.0.2.9".parse().ok(),
        now: T0 + 60,
    };
    assert!(cat::verify(&cfg, &rules, &req).is_ok(), "the bench CAT verifies");

    let mut c =
        Claims::new(KeyId::parse("bench").unwrap(), Jti([7; 16]), T0, T0 + 86_400, Scope::parse("/vod/show/").unwrap());
    c.ip = vec![Cidr::parse("192.0.2.0/24").unwrap()];
    let link = c.sign(ring.signing_key()).unwrap();
    let facts = RequestFacts {
        raw_path: "/vod/show/seg00042.ts",
        token: Some(&link),
        method: Method::Get,
        host: Some("files.example.com"),
        client_ip: "192.0.2.9".parse().ok(),
        now: T0 + 60,
    };
    assert!(verify(&ring, &rules, &facts).is_ok());

    println!("CAT: {} base64url chars; link: {} chars", token.len(), link.len());
    let (mut cat_ns, mut link_ns) = (Vec::new(), Vec::new());
    let budget = Duration::from_millis(200);
    for _ in 0..15 {
        cat_ns.push(time_per_iter(|| drop(black_box(cat::verify(&cfg, &rules, black_box(&req)))), budget));
        link_ns.push(time_per_iter(|| drop(black_box(verify(&ring, &rules, black_box(&facts)))), budget));
    }
    let min = |v: &[f64]| v.iter().cloned().fold(f64::INFINITY, f64::min);
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    println!(
        "fastest: CAT verify {:.0} ns, link verify {:.0} ns, ratio {:.2}",
        min(&cat_ns),
        min(&link_ns),
        min(&cat_ns) / min(&link_ns)
    );
    let (mc, ml) = (median(&mut cat_ns), median(&mut link_ns));
    println!("medians: CAT verify {mc:.0} ns, link verify {ml:.0} ns, ratio {:.2}", mc / ml);
}

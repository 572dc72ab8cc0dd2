// A benchmark sets itself up from known-good inputs: a failure there is a
// broken bench, not a request, so it may unwrap, index and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

//! `cargo bench --bench verify`: the cost of a full link verification
//! (decode + canonicalize + HMAC + claim checks) against a bare HMAC-SHA256
//! over the same signing input, measured side by side in one run.
//!
//! Prints absolute times for context but the figure to read is the ratio:
//! both sides share the machine's noise. Goal: ratio <= 1.3 (issue 11; it
//! was 1.5 before). The ratio is
//! of each side's fastest of 15 interleaved rounds; medians are printed too.
//!
//! A sealed link (docs/link-format.md §17) of the same claims is verified in
//! the same rounds, and its ratio to the plain link printed (no goal: the
//! figure for docs/performance.md; nothing here asserts a time).
//!
//! So is an Ed25519 link (§18) of the same claims, verified natively with
//! ed25519-dalek (the CLI's path; the worker asks WebCrypto instead).

use std::hint::black_box;
use std::time::Duration;

#[path = "common/timing.rs"]
mod timing;
use timing::time_per_iter;

use hmac::{Hmac, Mac};
use linkgate_core::b64;
use linkgate_core::ip::Cidr;
use linkgate_core::token::{tag_matches, Claims, Field, HostName, Jti, Label, UnverifiedToken, LINK_DOMAIN, TAG_BYTES};
use linkgate_core::verify::{verify, Method, RequestFacts, TimeRules};
use linkgate_core::{CanonicalPath, KeyId, KeyRing, Scope};
use sha2::Sha256;

const T0: u64 = 1_800_000_000;

fn main() {
    let secret = [0x5Au8; 32];
    let ring = KeyRing::parse(&format!("bench:{}", b64::encode(&secret))).expect("bench key ring");
    let claims = Claims {
        kid: KeyId::parse("bench").expect("kid"),
        jti: Jti([7; 16]),
        iat: T0,
        exp: T0 + 86_400,
        nbf: None,
        scope: Scope::parse("/exports/2026/finance/q3-ledger.csv").expect("scope"),
        host: Some(HostName::parse("files.example.com").expect("host")),
        sub: Some(Label::parse(Field::Sub, "recipient-8812").expect("sub")),
        tenant: Some(Label::parse(Field::Tenant, "acme").expect("tenant")),
        ip: vec![Cidr::parse("192.0.2.0/24").expect("cidr")],
        uses: None,
        mode: None,
        filename: None,
        content_type: None,
    };
    let token = claims.sign(ring.signing_key()).expect("sign");
    let raw = b64::decode(token.as_bytes()).expect("decode");
    let payload = raw[..raw.len() - TAG_BYTES].to_vec();
    let rules = TimeRules::default();
    let ip = "192.0.2.10".parse().expect("ip");
    let facts = RequestFacts {
        raw_path: "/exports/2026/finance/q3-ledger.csv",
        token: Some(&token),
        method: Method::Get,
        host: Some("files.example.com"),
        client_ip: Some(ip),
        now: T0 + 60,
    };
    assert!(verify(&ring, &rules, &facts).is_ok(), "bench link must verify");
    let sealed = claims.seal(ring.signing_key(), &[0x24; 24]).expect("seal");
    let sealed_facts = RequestFacts { token: Some(&sealed), ..facts };
    assert!(verify(&ring, &rules, &sealed_facts).is_ok_and(|v| v.sealed()), "sealed bench link must verify");
    let ed_key =
        linkgate_core::ed25519::native::PrivateKey::from_seed(KeyId::parse("bench-ed").expect("kid"), &[9; 32]);
    let ed_ring = KeyRing::parse(&format!("bench:{}", b64::encode(&secret)))
        .expect("bench key ring")
        .with_public(linkgate_core::ed25519::PublicKeyRing::parse(&ed_key.public_entry()).expect("public ring"))
        .expect("rings");
    let ed_token = ed_key.sign(&claims).expect("ed25519 sign");
    let ed_facts = RequestFacts { token: Some(&ed_token), ..facts };
    assert!(verify(&ed_ring, &rules, &ed_facts).is_ok(), "Ed25519 bench link must verify");

    // The three measured operations, shared by the one-side mode and the rounds.
    let bare_hmac = || {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(black_box(&secret)).expect("hmac key");
        mac.update(LINK_DOMAIN);
        mac.update(black_box(&payload));
        black_box(mac.finalize().into_bytes());
    };
    let tag_check = || {
        black_box(tag_matches(ring.signing_key(), black_box(&payload), black_box(&raw[raw.len() - TAG_BYTES..])));
    };
    let full_verify = || {
        black_box(verify(black_box(&ring), &rules, black_box(&facts)).is_ok());
    };

    // `LINKGATE_BENCH_PROFILE=1 perf record cargo bench --bench verify`:
    // only the full verification, so a flat profile shows where it goes.
    // `=bare` or `=tag` runs only that side instead, e.g. for
    // `perf stat -e cycles:u` (cycles of this process only: steadier than
    // wall time on a shared machine).
    if let Some(which) = std::env::var_os("LINKGATE_BENCH_PROFILE") {
        let (name, ns) = match which.to_str() {
            Some("bare") => ("bare HMAC", time_per_iter(bare_hmac, Duration::from_secs(3))),
            Some("tag") => ("tag check", time_per_iter(tag_check, Duration::from_secs(3))),
            _ => ("full verify", time_per_iter(full_verify, Duration::from_secs(3))),
        };
        println!("{name} only: {ns:.0} ns/op");
        return;
    }
    let budget =
        Duration::from_millis(std::env::var("LINKGATE_BENCH_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(1500));
    // Interleave many short rounds so drift on a shared machine hits both
    // sides, and keep each side's fastest: the round least disturbed by
    // other work (the usual estimator for microbenchmarks on busy hosts).
    let rounds = 15;
    let (mut full_ns, mut bare_ns, mut sealed_ns, mut ed_ns) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut read_ns = Vec::new();
    for _ in 0..rounds {
        bare_ns.push(time_per_iter(bare_hmac, budget / rounds));
        full_ns.push(time_per_iter(full_verify, budget / rounds));
        // A verified link builds its owned claims on first use (the edge
        // reads them for policy and audit): the same verification, then
        // the claims and path read once.
        read_ns.push(time_per_iter(
            || {
                let v = verify(black_box(&ring), &rules, black_box(&facts));
                black_box(v.as_ref().map(|v| (v.claims().exp, v.path().as_str().len())).ok());
            },
            budget / rounds,
        ));
        sealed_ns.push(time_per_iter(
            || {
                black_box(verify(black_box(&ring), &rules, black_box(&sealed_facts)).is_ok());
            },
            budget / rounds,
        ));
        ed_ns.push(time_per_iter(
            || {
                black_box(verify(black_box(&ed_ring), &rules, black_box(&ed_facts)).is_ok());
            },
            budget / rounds,
        ));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    // Where the time goes (one pass each, for the performance notes).
    let budget_part = budget / 6;
    let parts = [
        (
            "  base64url decode",
            time_per_iter(
                || {
                    black_box(b64::decode(black_box(token.as_bytes())).is_ok());
                },
                budget_part,
            ),
        ),
        (
            "  token decode (b64 + claims)",
            time_per_iter(
                || {
                    black_box(UnverifiedToken::decode(black_box(&token)).is_ok());
                },
                budget_part,
            ),
        ),
        (
            "  path canonicalize",
            time_per_iter(
                || {
                    black_box(CanonicalPath::from_request(black_box(facts.raw_path)).is_ok());
                },
                budget_part,
            ),
        ),
        // Natively the pre-keyed compression (src/prekeyed.rs); in wasm the
        // key ring's keyed `hmac` state, cloned.
        (
            if cfg!(target_arch = "wasm32") {
                "  tag check (keyed HMAC, cloned)"
            } else {
                "  tag check (pre-keyed HMAC)"
            },
            time_per_iter(tag_check, budget_part),
        ),
    ];
    for (name, ns) in parts {
        println!("{name:<34}{ns:8.0} ns/op");
    }
    let fastest = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let (full, bare) = (fastest(&full_ns), fastest(&bare_ns));
    println!(
        "medians of {rounds} rounds: bare {:.0} ns, full {:.0} ns, ratio {:.2}",
        median(&mut bare_ns),
        median(&mut full_ns),
        median(&mut full_ns) / median(&mut bare_ns)
    );
    println!("token: {} chars, signing input: {} bytes", token.len(), LINK_DOMAIN.len() + payload.len());
    println!("bare HMAC-SHA256 (key setup + input): {bare:8.0} ns/op");
    println!("full verify (decode+canonicalize+HMAC+claims): {full:8.0} ns/op");
    println!("ratio full/bare: {:.2} (goal <= 1.30, issue 11)", full / bare);
    let read = fastest(&read_ns);
    println!("full verify, then its owned claims and path read once: {read:8.0} ns/op");
    println!(
        "ratio (verify + claims)/bare: {:.2} (fastest rounds), {:.2} (medians)",
        read / bare,
        median(&mut read_ns) / median(&mut bare_ns)
    );
    let sealed_fast = fastest(&sealed_ns);
    println!("sealed token: {} chars", sealed.len());
    println!("sealed verify (decode+canonicalize+XChaCha20-Poly1305 open+claims): {sealed_fast:8.0} ns/op");
    println!(
        "ratio sealed/plain verify: {:.2} (fastest rounds), {:.2} (medians)",
        sealed_fast / full,
        median(&mut sealed_ns) / median(&mut full_ns)
    );
    let ed_fast = fastest(&ed_ns);
    println!("Ed25519 token: {} chars", ed_token.len());
    println!("Ed25519 verify (decode+canonicalize+dalek verify_strict+claims): {ed_fast:8.0} ns/op");
    println!(
        "ratio Ed25519/HMAC verify: {:.1} (fastest rounds), {:.1} (medians)",
        ed_fast / full,
        median(&mut ed_ns) / median(&mut full_ns)
    );
}

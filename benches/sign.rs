// A benchmark sets itself up from known-good inputs: a failure there is a
// broken bench, not a request, so it may unwrap, index and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

//! `cargo bench --bench sign`: the native per-link cost of what
//! `linkgate sign --json` does once its process is running: parse
//! LINKGATE_KEYS, build and sign the claims (`mint::sign_link`, the path the
//! CLI and the JS package share) and format the JSON line. The JS package's
//! figure comes from `packages/linkgate-js/bench/sign.mjs` with the same
//! link; scripts/bench-js.sh runs both side by side and prints the ratio
//! (docs/performance.md, "JS signer (issue 15)").
//!
//! Prints ns per link, the fastest of 7 rounds, for two cases: `cli` (the
//! key ring parsed per link, as each CLI process does) and `ring` (parsed
//! once, as the package caches it).

use std::hint::black_box;
use std::time::{Duration, Instant};

use linkgate_core::mint::{sign_link, Expiry, LinkRequest};
use linkgate_core::token::Jti;
use linkgate_core::KeyRing;

const KEYS: &str = "live:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
const NOW: u64 = 1_800_000_000;

fn request() -> LinkRequest {
    LinkRequest {
        path: "/reports/2026/Q1 board pack.pdf".into(),
        expiry: Some(Expiry::Ttl(3600)),
        sub: Some("u-12345".into()),
        ..Default::default()
    }
}

fn ns_per_iter(mut f: impl FnMut(u64)) -> f64 {
    let mut best = f64::MAX;
    let mut n = 0u64;
    for _ in 0..7 {
        let start = Instant::now();
        let mut iters = 0u64;
        while start.elapsed() < Duration::from_millis(150) {
            for _ in 0..200 {
                f(n);
                n += 1;
            }
            iters += 200;
        }
        best = best.min(start.elapsed().as_nanos() as f64 / iters as f64);
    }
    best
}

/// This process's CPU time in clock ticks (utime + stime of
/// /proc/self/stat; Linux, 100 a second), or None elsewhere.
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// [`ns_per_iter`] in CPU time (the fastest of 8 rounds of 0.5 s of CPU):
/// less disturbed by other processes on a shared machine than wall time.
/// `scripts/bench-js.sh` compares it with the package's CPU time.
fn cpu_ns_per_iter(mut f: impl FnMut(u64)) -> Option<f64> {
    let mut best = f64::MAX;
    let mut n = 0u64;
    for _ in 0..8 {
        let start = cpu_ticks()?;
        let mut iters = 0u64;
        while cpu_ticks()? - start < 50 {
            for _ in 0..2000 {
                f(n);
                n += 1;
            }
            iters += 2000;
        }
        best = best.min((cpu_ticks()? - start) as f64 * 1e7 / iters as f64);
    }
    Some(best)
}

fn jti(n: u64) -> Jti {
    let mut j = [0u8; 16];
    j[..8].copy_from_slice(&n.to_le_bytes());
    Jti(j)
}

fn line(l: &linkgate_core::mint::SignedLink) -> String {
    serde_json::json!({ "url": l.url, "token": l.token, "jti": l.claims.jti.to_hex(), "expires_at": l.claims.exp })
        .to_string()
}

fn main() {
    let req = request();
    let cli = ns_per_iter(|n| {
        let ring = KeyRing::parse(black_box(KEYS)).unwrap();
        let l = sign_link(&req, ring.signing_key(), jti(n), &[0; 24], NOW, 604_800, Some("https://files.example.com"))
            .unwrap();
        black_box(line(&l));
    });
    let ring = KeyRing::parse(KEYS).unwrap();
    let reused = ns_per_iter(|n| {
        let l = sign_link(&req, ring.signing_key(), jti(n), &[0; 24], NOW, 604_800, Some("https://files.example.com"))
            .unwrap();
        black_box(line(&l));
    });
    println!("native_cli_ns_per_link {cli:.0}");
    println!("native_ring_ns_per_link {reused:.0}");
    let cpu = cpu_ns_per_iter(|n| {
        let ring = KeyRing::parse(black_box(KEYS)).unwrap();
        let l = sign_link(&req, ring.signing_key(), jti(n), &[0; 24], NOW, 604_800, Some("https://files.example.com"))
            .unwrap();
        black_box(line(&l));
    });
    if let Some(cpu) = cpu {
        println!("native_cli_cpu_ns_per_link {cpu:.0}");
    }
}

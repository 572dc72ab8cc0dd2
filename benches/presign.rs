// A benchmark sets itself up from known-good inputs: a failure there is a
// broken bench, not a request, so it may unwrap, index and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

//! `cargo bench --bench presign`: the native cost of one SigV4 presigned
//! URL as redirect mode makes it (R2 endpoint, a key with spaces and
//! non-ASCII, a signed Content-Disposition and content type): four HMACs for
//! the signing key, one SHA-256 of the canonical request, one HMAC of the
//! string to sign, and the percent-encoding. Prints ns per URL, the fastest
//! of 7 rounds (docs/performance.md, "Redirect vs stream").

use std::hint::black_box;
use std::time::{Duration, Instant};

use linkgate_core::http::content_disposition;
use linkgate_core::presign::{presign, PresignMethod, PresignRequest, S3Credentials, S3Location};

fn main() {
    let loc = S3Location::r2("0123456789abcdef0123456789abcdef", "linkgate-files").unwrap();
    let creds = S3Credentials::new("0123456789abcdef0123456789abcdef", "a".repeat(64).as_str()).unwrap();
    let key = "reports/2026/Q1 board pack – final.pdf";
    let mut best = f64::MAX;
    let mut n = 0u64;
    for _ in 0..7 {
        let start = Instant::now();
        let mut iters = 0u64;
        while start.elapsed() < Duration::from_millis(150) {
            for _ in 0..100 {
                // The disposition is built per request at the edge too.
                let disposition = content_disposition("Q1 board pack – final.pdf");
                let req = PresignRequest {
                    method: PresignMethod::Get,
                    key: black_box(key),
                    now: 1_800_000_000 + n,
                    expires_secs: 30,
                    content_disposition: Some(&disposition),
                    content_type: Some("application/pdf"),
                };
                black_box(presign(&loc, &creds, &req).unwrap());
                n += 1;
            }
            iters += 100;
        }
        best = best.min(start.elapsed().as_nanos() as f64 / iters as f64);
    }
    println!("native_presign_ns_per_url {best:.0}");
}

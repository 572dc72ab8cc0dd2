//! Timing shared by the native benches (`benches/verify.rs`, `benches/cat.rs`).

use std::time::{Duration, Instant};

/// Nanoseconds per call of `f`: a warm-up, then batches of 1000 calls until
/// `budget` is spent.
pub fn time_per_iter(mut f: impl FnMut(), budget: Duration) -> f64 {
    for _ in 0..1000 {
        f();
    }
    let mut iters: u64 = 0;
    let start = Instant::now();
    while start.elapsed() < budget {
        for _ in 0..1000 {
            f();
        }
        iters += 1000;
    }
    start.elapsed().as_nanos() as f64 / iters as f64
}

#!/usr/bin/env bash
# Edge benchmark. Serves, with the same R2 objects (1 KiB, 1 MiB) and bindings,
# through Miniflare and through `wrangler dev` (what scripts/dev.sh runs):
#   a  linkgate, valid link, default configuration (wrangler.toml: edge cache on, audit on)
#   a0 linkgate, valid link, edge cache off
#   b  a JS worker that serves the object with no authorization (benches/baseline)
#   c/c0 linkgate refusing a link with one changed character (both configurations)
#   d  a JS peer written after Cloudflare's "Sign requests" example (benches/peer)
# loads each with wrk (loopback only, bounded in time), interleaved per round,
# then runs the profile ladder (the baseline adding each platform call linkgate
# makes). Prints both tables and the issue 11 targets, and writes them into
# docs/performance.md. About 15 minutes.
#
#   scripts/bench.sh                full run (6 s per load run, 3 rounds; ladder 4 s, 2 rounds)
#   BENCH_QUICK=1 scripts/bench.sh  2 s runs, 1 round: checks the script
#   BENCH_SECS / BENCH_ROUNDS / BENCH_CONNS override the defaults;
#   BENCH_RUNTIMES=miniflare (or wrangler) runs one runtime;
#   BENCH_PROFILE_SECS / BENCH_PROFILE_ROUNDS the ladder's; BENCH_PROFILE=0
#   skips the ladder, BENCH_PROFILE=only runs just the ladder.
#   Then the redirect variant (issue 13, benches/edge/redirect.mjs): time to a
#   redirect's 302 vs time to the first byte of a stream, 1 KiB and 1 MiB;
#   BENCH_REDIRECT=0 skips it, BENCH_REDIRECT=only runs just it
#   (BENCH_REDIRECT_REQUESTS, default 300 per variant, or 50 with BENCH_QUICK).
#   Then the segment variant (issue 16, benches/edge/segment.mjs): a 512 KiB
#   segment requested with a media-session cookie next to the no-auth
#   baseline, target >= 0.95 of its rate; BENCH_SEGMENT=0 skips it,
#   BENCH_SEGMENT=only runs just it (BENCH_SEGMENT_SECS, BENCH_SEGMENT_ROUNDS).
#
# Where the time goes inside the worker's isolate (V8 sampling profiler): each
# variant's own CPU per request beside the Rust and JS floors, or one variant's
# hottest functions (docs/performance.md, "CPU per request in the isolate"):
#   node benches/edge/profile.mjs [rounds] [secs]
#   LINKGATE_KEEP_NAMES=1 scripts/build.sh && node benches/edge/profile.mjs top refused|valid|off [secs]
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
build_worker
say "building the Rust floor worker (benches/floor: #[event(fetch)] answering 403 at once)"
(
  cd "$ROOT/benches/floor"
  WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen" \
  ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild" \
  WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt" \
    worker-build --release
)
cargo build --release --bin linkgate
# The edge table also measures the core's verifier in wasm (run.py).
ensure_wasm_target wasm32-wasip1
if ! command -v wrk >/dev/null; then
  say "installing wrk (Debian package)"
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
if [[ "${BENCH_SEGMENT:-1}" == "only" ]]; then
  say "segment variant: 512 KiB with a media-session cookie vs the no-auth baseline (benches/edge/segment.mjs)"
  if [[ "${BENCH_QUICK:-}" == 1 ]]; then node benches/edge/segment.mjs 2 1; else node benches/edge/segment.mjs; fi
  exit 0
fi
if [[ "${BENCH_REDIRECT:-1}" != "only" ]]; then
  say "load runs (this takes a few minutes)"
  python3 benches/edge/run.py
fi
if [[ "${BENCH_REDIRECT:-1}" != "0" ]]; then
  say "redirect vs stream: time to 302 vs time to first byte (benches/edge/redirect.mjs)"
  quick_n=300
  [[ "${BENCH_QUICK:-}" == 1 ]] && quick_n=50
  node benches/edge/redirect.mjs "${BENCH_REDIRECT_REQUESTS:-$quick_n}"
fi
if [[ "${BENCH_SEGMENT:-1}" != "0" && "${BENCH_REDIRECT:-1}" != "only" ]]; then
  say "segment variant: 512 KiB with a media-session cookie vs the no-auth baseline (benches/edge/segment.mjs)"
  if [[ "${BENCH_QUICK:-}" == 1 ]]; then node benches/edge/segment.mjs 2 1; else node benches/edge/segment.mjs; fi
fi

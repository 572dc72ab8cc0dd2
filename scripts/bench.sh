#!/usr/bin/env bash
# Edge benchmark: linkgate (valid links), a baseline worker with no
# authorization, and linkgate refusing invalid links, served by the same local
# workerd with the same R2 objects, loaded with wrk (loopback only, bounded in
# time), interleaved a, b, c per round. Then the profile ladder: the baseline
# adding each platform call linkgate makes, and linkgate without its audit
# queue. Prints both tables and writes them into docs/performance.md.
#
#   scripts/bench.sh                full run (6 s per load run, 3 rounds; ladder 4 s, 2 rounds)
#   BENCH_QUICK=1 scripts/bench.sh  2 s runs, 1 round: checks the script
#   BENCH_SECS / BENCH_ROUNDS / BENCH_CONNS override the defaults;
#   BENCH_PROFILE_SECS / BENCH_PROFILE_ROUNDS the ladder's; BENCH_PROFILE=0
#   skips the ladder, BENCH_PROFILE=only runs just the ladder.
#
# Where the time goes inside the worker's isolate (V8 sampling profiler):
#   LINKGATE_KEEP_NAMES=1 scripts/build.sh && node benches/edge/profile.mjs
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
build_worker
cargo build --release --bin linkgate
if ! command -v wrk >/dev/null; then
  say "installing wrk (Debian package)"
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
say "load runs (this takes a few minutes)"
python3 benches/edge/run.py

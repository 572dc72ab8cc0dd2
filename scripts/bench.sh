#!/usr/bin/env bash
# Edge benchmark: linkgate (valid links), a baseline worker with no
# authorization, and linkgate refusing invalid links, served by the same local
# workerd with the same R2 objects, loaded with wrk (loopback only, bounded in
# time), interleaved a, b, c per round. Prints the table and writes it into
# docs/performance.md.
#
#   scripts/bench.sh                full run (8 s per load run, 3 rounds)
#   BENCH_QUICK=1 scripts/bench.sh  2 s runs, 1 round: checks the script
#   BENCH_SECS / BENCH_ROUNDS / BENCH_CONNS override the defaults
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

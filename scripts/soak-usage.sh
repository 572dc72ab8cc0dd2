#!/usr/bin/env bash
# Soak for bounded use: TRIALS (1000) one-time links, each hit by CONCURRENCY
# (20) simultaneous consuming POSTs against the real worker in workerd; every
# trial must start exactly one download. Not part of CI (it takes minutes).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
[[ -f build/index.js ]] || build_worker
ensure_node_modules
cargo build --release --bin linkgate
node tests/e2e/measure/soak-usage.mjs

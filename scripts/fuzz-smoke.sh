#!/usr/bin/env bash
# Fuzz smoke pass: build the cargo-fuzz targets in fuzz/ with nightly, seed
# their corpora with valid tokens from the real signer, and run each target
# for FUZZ_SECS seconds (default 20). Exits non-zero on any crash, panic,
# sanitizer report or timeout (libFuzzer saves the input under
# fuzz/artifacts/<target>/; rerun it with `cargo +nightly fuzz run <target> <file>`).
#
#   scripts/fuzz-smoke.sh                     all targets, 20 s each
#   FUZZ_SECS=600 scripts/fuzz-smoke.sh verify    one target, 10 minutes
#
# Long runs and how to read their output: docs/fuzzing.md.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

FUZZ_SECS="${FUZZ_SECS:-20}"
TARGETS=("$@")
if [[ ${#TARGETS[@]} -eq 0 ]]; then
  TARGETS=(token_decode verify path_canonicalize sealed_decode path_form ed25519_decode json_parse cat_decode hls_rewrite admin_credential admin_query jwt_parse)
fi

if ! rustup toolchain list | grep -q '^nightly'; then
  say "installing the nightly toolchain (cargo-fuzz needs it)"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  say "installing cargo-fuzz (a few minutes, once)"
  cargo install cargo-fuzz --locked
fi

say "building fuzz targets (nightly, address sanitizer, debug assertions)"
cargo +nightly fuzz build

say "seeding fuzz/corpus/ with tokens from the real signer"
cargo +nightly run --quiet --manifest-path fuzz/Cargo.toml --example seed_corpus -- fuzz/corpus

for t in "${TARGETS[@]}"; do
  say "fuzzing $t for ${FUZZ_SECS}s"
  # One job, lowest priority (shared machines); -timeout turns a hang into a
  # failure; cargo fuzz exits non-zero on any crash.
  # libFuzzer's progress lines go to a log; the final stats are printed.
  log="$ROOT/target/fuzz-$t.log"
  mkdir -p "$ROOT/target"
  if ! nice -n 19 cargo +nightly fuzz run "$t" "fuzz/corpus/$t" -- \
      -max_total_time="$FUZZ_SECS" -timeout=10 -print_final_stats=1 > "$log" 2>&1; then
    tail -n 60 "$log"
    say "fuzz target $t failed; the crashing input is in fuzz/artifacts/$t/ (full log: $log)"
    exit 1
  fi
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || tail -n 3 "$log"
done
say "fuzz smoke pass: no crashes"

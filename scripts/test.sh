#!/usr/bin/env bash
# Run every linkgate test on this machine, installing what is missing first.
#
#   scripts/test.sh            everything
#   SKIP_E2E=1 scripts/test.sh native tests only (no wasm build, no workerd)
#   FUZZ_SECS=N                length of the fuzz smoke pass per target (default 20; 0 skips)
#
# Stages: native unit/property/vector/CLI tests, the independent Python check
# of the test vectors, the wasm32 core build, the core's tests on 32-bit wasm
# (wasm32-wasip1 under node), a fuzz smoke pass, the release worker build,
# the end-to-end suite against the real worker in workerd, and the JS signer
# (packages/linkgate-js: build, node tests, npm pack + install).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

say "formatting (cargo fmt --check, rustfmt.toml)"
if command -v rustfmt >/dev/null || rustup component add rustfmt >/dev/null 2>&1; then
  cargo fmt --check || { say "unformatted code: run cargo fmt"; exit 1; }
  (cd fuzz && cargo fmt --check) || { say "unformatted code in fuzz/: run cargo fmt there"; exit 1; }
else
  say "rustfmt unavailable: formatting not checked"
fi

say "lints (clippy -D warnings, host and wasm32; Cargo.toml [lints])"
command -v cargo-clippy >/dev/null || rustup component add clippy
ensure_wasm_target
cargo clippy --release --workspace --all-targets -- -D warnings
cargo clippy --release -p linkgate -p linkgate-core -p linkgate-js --lib --target wasm32-unknown-unknown -- -D warnings

say "native tests (unit, property, vectors, CLI)"
mkdir -p target
cargo test --release --workspace --all-targets 2>&1 | tee target/test-native.log
# Pipes hide cargo's status; fail if any test binary failed.
if grep -qE '^test result: FAILED|^error(\[|:)' target/test-native.log; then
  say "native tests failed"; exit 1
fi

if [[ -f tests/vectors/check_vectors.py ]]; then
  say "test vectors, independent Python implementation"
  ensure_python_cryptography
  python3 tests/vectors/check_vectors.py
fi
say "Common Access Token vectors, re-made and re-judged with cbor2 + hmac (tests/vectors/cat_vectors.py)"
ensure_cbor2
python3 tests/vectors/cat_vectors.py
ensure_moto || say "moto/botocore could not be installed: the presign vectors are checked by tests/vectors.rs only"
if python3 -c 'import botocore' 2>/dev/null; then
  say "presign vectors, re-made by botocore's presigner (tests/vectors/presign_vectors.py)"
  python3 tests/vectors/presign_vectors.py
  say "header-signing vectors, re-made by botocore's S3SigV4Auth (tests/vectors/sign_headers_vectors.py)"
  python3 tests/vectors/sign_headers_vectors.py
else
  say "botocore not importable: presign vectors not re-checked against it (tests/vectors.rs still checks them)"
fi

say "core builds for wasm32-unknown-unknown"
ensure_wasm_target
cargo build -p linkgate-core --lib --release --target wasm32-unknown-unknown

say "core tests on wasm32 (wasip1 under node)"
# The worker is 32-bit (usize is 4 bytes): run the core's unit, vector and
# property tests unchanged on wasm32-wasip1, under Node's WASI. --nocapture:
# panic=abort there, so a failing test kills the harness before it could
# print the captured panic message.
ensure_wasm_target wasm32-wasip1
CARGO_TARGET_WASM32_WASIP1_RUNNER="node $ROOT/scripts/wasi-run.mjs" \
  cargo test --release -p linkgate-core --target wasm32-wasip1 --lib --test vectors --test properties -- --nocapture 2>&1 |
  tee target/test-wasm32.log || { say "core tests on wasm32 failed"; exit 1; }
if grep -qE '^test result: FAILED|^error(\[|:)' target/test-wasm32.log; then
  say "core tests on wasm32 failed"; exit 1
fi

if [[ "${FUZZ_SECS:-20}" != "0" && -x scripts/fuzz-smoke.sh ]]; then
  say "fuzz smoke pass (${FUZZ_SECS:-20}s per target)"
  scripts/fuzz-smoke.sh
fi

if [[ -n "${SKIP_E2E:-}" ]]; then
  say "SKIP_E2E set: skipping the worker build and end-to-end tests"
  exit 0
fi

build_worker
ensure_chromium
ensure_ffmpeg
say "end-to-end tests (release worker in workerd via Miniflare, Chromium for the browser test)"
cargo build --release --bin linkgate
node --test --test-concurrency=1 tests/e2e/

say "JS signer (packages/linkgate-js): build, node --test, deno test, npm pack + install"
js_start=$SECONDS
build_js_package
# Vectors, API and error codes, 2,000 links each way with the CLI, and a
# Worker minting a link the release worker serves (in workerd).
node --test --test-concurrency=1 packages/linkgate-js/test/*.test.mjs
# The same API and vector tests under Deno (its node:test maps onto Deno.test);
# the CLI cross-check and the workerd test need Node's child processes and
# Miniflare, so they run under Node only.
DENO_NO_UPDATE_CHECK=1 deno test --quiet --no-prompt --allow-read --allow-env \
  packages/linkgate-js/test/api.test.mjs packages/linkgate-js/test/vectors.test.mjs
check_js_package_install
say "JS signer stage: $((SECONDS - js_start)) s"

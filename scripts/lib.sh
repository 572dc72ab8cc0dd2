# Shared helpers for linkgate's scripts. Source it; do not run it.
# Every install step is idempotent: it checks first and skips what is there.

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"
export WRANGLER_SEND_METRICS=false
export CI="${CI:-}"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

WORKER_BUILD_VERSION=0.8.7

# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

# wasm32-unknown-unknown (the worker) unless another target is named, e.g.
# wasm32-wasip1 (the core's tests on 32-bit wasm, run under node).
ensure_wasm_target() {
  local target="${1:-wasm32-unknown-unknown}"
  if ! rustup target list --installed | grep -qx "$target"; then
    say "adding rust target $target"
    rustup target add "$target"
  fi
}

ensure_worker_build() {
  if ! worker-build --version 2>/dev/null | grep -q "$WORKER_BUILD_VERSION"; then
    say "installing worker-build $WORKER_BUILD_VERSION (a few minutes, once)"
    cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
  fi
  local want; want="$(wasm_bindgen_version)"
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $want\$"; then
    say "installing wasm-bindgen-cli $want (a few minutes, once)"
    # --locked makes resolution fail for this crate; see shared/ENVIRONMENT.md.
    cargo install wasm-bindgen-cli --version "$want" --force
  fi
}

ensure_node_modules() {
  local stamp="$ROOT/node_modules/.linkgate-stamp"
  if [[ ! -f "$stamp" || "$ROOT/package-lock.json" -nt "$stamp" ]]; then
    say "installing node packages (wrangler, miniflare, esbuild, binaryen)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$stamp"
  fi
}

# moto (an S3 implementation, server mode) and with it botocore (AWS's
# reference SigV4 presigner), from PyPI: the redirect end-to-end tests follow
# the worker's presigned URLs against moto, and the presign vectors are
# re-made with botocore. Skipped when both import already.
ensure_moto() {
  if ! python3 -c 'import moto.server, boto3, botocore, flask' >/dev/null 2>&1; then
    say "installing moto[server] (PyPI) for the redirect tests and the presign vectors"
    python3 -m pip install --quiet 'moto[server]>=5,<6' 2>/dev/null ||
      python3 -m pip install --quiet --break-system-packages 'moto[server]>=5,<6'
  fi
}

# PyPI's `cbor2` for the Common Access Token vectors (tests/vectors/
# cat_vectors.py) and the CATs the end-to-end tests mint (tests/e2e/
# cat_mint.py): an implementation independent of the core's. Skipped when
# importable.
ensure_cbor2() {
  if ! python3 -c 'import cbor2' 2>/dev/null; then
    say "installing the Python package cbor2 (CAT vectors and e2e)"
    python3 -m pip install --quiet cbor2 2>/dev/null ||
      python3 -m pip install --quiet --break-system-packages cbor2
  fi
}

# PyPI's `cryptography` for the Python check of the sealed vectors (its
# ChaCha20-Poly1305; HChaCha20 is in the checker). Skipped when importable.
ensure_python_cryptography() {
  if ! python3 -c 'import cryptography.hazmat.primitives.ciphers.aead' 2>/dev/null; then
    say "installing the Python package cryptography (sealed vectors)"
    python3 -m pip install --quiet cryptography 2>/dev/null ||
      python3 -m pip install --quiet --break-system-packages cryptography
  fi
}

# Debian's Chromium for the browser test (playwright-core drives it; no
# browser download from the internet).
ensure_chromium() {
  if [[ ! -x /usr/bin/chromium ]]; then
    say "installing chromium (Debian package) for the browser test"
    apt-get install -y chromium >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }
  fi
}

# WebAssembly features every runtime linkgate's wasm runs in has (workerd's
# V8, Node >= 20, Deno): wasm-opt may use them.
WASM_FEATURES="--enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int --enable-mutable-globals --enable-reference-types"

# ffmpeg (Debian package) makes the HLS and DASH presentations the player
# tests play through linkgate (tests/e2e/media-player.test.mjs).
ensure_ffmpeg() {
  if ! command -v ffmpeg >/dev/null 2>&1; then
    say "installing ffmpeg (Debian package) for the player tests"
    apt-get install -y ffmpeg >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y ffmpeg >/dev/null; }
  fi
}

# Build the release worker into build/ (index.js, index_bg.wasm, worker/shim.mjs).
build_worker() {
  ensure_wasm_target
  ensure_worker_build
  ensure_node_modules
  say "building the worker (worker-build --release)"
  (
    cd "$ROOT"
    WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen" \
    ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild" \
    WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt" \
      worker-build --release
  )
  # worker-build runs wasm-opt -Oz for the MVP feature set only; a second
  # pass to a fixed point with the features workerd's V8 has (bulk memory,
  # sign extension, ...) saves ~3 KB gzip more (~20 s). It also drops the
  # name section (function names, ~65 KB) that only debuggers and profilers
  # use; every byte is paid at cold start (LINKGATE_KEEP_NAMES=1 keeps it,
  # and skips the pass, for benches/edge/profile.mjs). --gufa first (whole-
  # program inference of the values each location can hold, then -Oz
  # folds what it proved constant): 0.4 KB gzip more for ~10 s.
  if [ "${LINKGATE_KEEP_NAMES:-0}" != 1 ]; then
    wasm-opt "$ROOT/build/index_bg.wasm" --gufa -Oz --converge $WASM_FEATURES \
      --strip-debug --strip-producers -o "$ROOT/build/index_bg.wasm"
  fi
  say "wasm: $(stat -c %s "$ROOT/build/index_bg.wasm") bytes raw, $(gzip -9 -c "$ROOT/build/index_bg.wasm" | wc -c) bytes gzip"
}

# Build the JS signer (issue 15) into packages/linkgate-js/dist/: the
# cdylib-only crate for wasm32 (release-js profile: the release profile's
# opt-level z and LTO, SHA-256/HMAC at 3),
# wasm-bindgen --target web (ES module glue that is given the compiled module
# by lib/node.mjs or lib/workerd.mjs), then wasm-opt -Oz and -O3 -aimfs 8. Offline; the tools
# are the worker's (same wasm-bindgen pin, binaryen from node_modules).
build_js_package() {
  ensure_wasm_target
  ensure_worker_build
  ensure_node_modules
  local pkg="$ROOT/packages/linkgate-js"
  say "building the JS signer (packages/linkgate-js)"
  # The release profile with the hash crates at opt-level 3 (`release-js`
  # in Cargo.toml; the Worker keeps `release`).
  (cd "$ROOT" && cargo build --profile release-js -p linkgate-js --lib --target wasm32-unknown-unknown)
  rm -rf "$pkg/dist"
  wasm-bindgen --target web --no-typescript --out-dir "$pkg/dist" --out-name linkgate_js \
    "$ROOT/target/wasm32-unknown-unknown/release-js/linkgate_js.wasm"
  # .mjs: tools that ignore package.json "type" (Miniflare, some bundlers)
  # then still read the glue as an ES module.
  mv "$pkg/dist/linkgate_js.js" "$pkg/dist/linkgate_js.mjs"
  wasm-opt "$pkg/dist/linkgate_js_bg.wasm" -Oz --converge $WASM_FEATURES --enable-multivalue \
    --strip-debug --strip-producers -o "$pkg/dist/linkgate_js_bg.wasm"
  # Then -O3 inlining every function of at most 8 bytes (accessors, the
  # one-call wrappers opt-level z leaves behind): a few % faster signing
  # for ~0.5 KB gzip (docs/performance.md, "JS signer", third pass).
  wasm-opt "$pkg/dist/linkgate_js_bg.wasm" -O3 -aimfs 8 $WASM_FEATURES --enable-multivalue \
    --strip-debug --strip-producers -o "$pkg/dist/linkgate_js_bg.wasm"
  say "JS signer wasm: $(stat -c %s "$pkg/dist/linkgate_js_bg.wasm") bytes raw, $(gzip -9 -c "$pkg/dist/linkgate_js_bg.wasm" | wc -c) bytes gzip"
}

# npm pack the JS signer and install the tarball into a fresh temporary
# project, offline (the package has no dependencies, so npm fetches
# nothing), then mint a link there in three lines.
check_js_package_install() {
  local out="$ROOT/target/js" tmp tgz url deno_url
  mkdir -p "$out"
  rm -f "$out"/linkgate-js-*.tgz
  tgz="$(cd "$ROOT/packages/linkgate-js" && npm pack --silent --pack-destination "$out" | tail -n 1)"
  say "npm pack: $tgz, $(stat -c %s "$out/$tgz") bytes"
  tmp="$(mktemp -d)"
  (
    cd "$tmp"
    npm init -y >/dev/null
    npm install --offline --no-audit --no-fund --loglevel=error "$out/$tgz" >/dev/null
    printf '%s\n' \
      'import { keygen, sign } from "linkgate-js";' \
      'const keys = keygen("k1");' \
      'console.log(sign({ path: "/reports/q3.pdf", ttl: "1h" }, keys, { base: "https://files.example.com" }).url);' \
      >example.mjs
    node example.mjs >url.txt
    # Deno runs the same project from its node_modules (the "deno" export).
    DENO_NO_UPDATE_CHECK=1 "$ROOT/node_modules/.bin/deno" run --quiet --no-prompt --allow-read example.mjs >deno-url.txt
  ) || { rm -rf "$tmp"; say "the packed JS signer did not install or run"; return 1; }
  url="$(cat "$tmp/url.txt")"
  deno_url="$(cat "$tmp/deno-url.txt")"
  rm -rf "$tmp"
  for u in "$url" "$deno_url"; do
    if [[ "$u" != "https://files.example.com/reports/q3.pdf?lg="* ]]; then
      say "the packed JS signer minted an unexpected link: $u"
      return 1
    fi
  done
  say "a fresh project installed the tarball and minted $url (node) and $deno_url (deno)"
}

#!/usr/bin/env bash
# Build the JS signer npm package (packages/linkgate-js/dist/). Idempotent and
# offline; see build_js_package in scripts/lib.sh. `--pack` also runs
# `npm pack` into target/js/ and prints the tarball's path.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
build_js_package
if [[ "${1:-}" == "--pack" ]]; then
  mkdir -p target/js
  (cd packages/linkgate-js && npm pack --silent --pack-destination "$ROOT/target/js")
fi

#!/usr/bin/env bash
# Build the release worker into build/. Installs missing tools first.
source "$(dirname "$0")/lib.sh"
build_worker
ls -l "$ROOT/build/index_bg.wasm" 2>/dev/null || ls -l "$ROOT"/build/*.wasm

#!/usr/bin/env bash
# Signing cost of the JS package in node against the native code path of
# `linkgate sign` (without process start), side by side, three rounds each,
# interleaved, for `sign` (one link a call) and `signMany` (batches of 100),
# in wall time and (Linux) in CPU time.
# Builds the package if needed. Prints the ratios; see
# docs/performance.md, "JS signer (issue 15)".
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
[[ -f packages/linkgate-js/dist/linkgate_js_bg.wasm ]] || build_js_package
cargo bench -p linkgate-core --bench sign --no-run 2>/dev/null
for round in 1 2 3; do
  native="$(cargo bench -q -p linkgate-core --bench sign 2>/dev/null)"
  js="$(node packages/linkgate-js/bench/sign.mjs)"
  cli="$(awk '/native_cli_ns_per_link/ {print $2}' <<<"$native")"
  ring="$(awk '/native_ring_ns_per_link/ {print $2}' <<<"$native")"
  j="$(awk '/js_ns_per_link/ {print $2}' <<<"$js")"
  m="$(awk '/js_many_ns_per_link/ {print $2}' <<<"$js")"
  echo "round $round: native (keys parsed per link, as a CLI process) ${cli} ns, native (ring reused) ${ring} ns, node+wasm sign ${j} ns, signMany ${m} ns a link;" \
    "sign vs CLI path $(awk -v a="$j" -v b="$cli" 'BEGIN{printf "%.2f", a/b}'), vs ring reused $(awk -v a="$j" -v b="$ring" 'BEGIN{printf "%.2f", a/b}');" \
    "signMany vs CLI path $(awk -v a="$m" -v b="$cli" 'BEGIN{printf "%.2f", a/b}')"
  # CPU time (less disturbed by other processes than wall time): native
  # from /proc/self/stat, node from process.cpuUsage().
  ccli="$(awk '/native_cli_cpu_ns_per_link/ {print $2}' <<<"$native")"
  cj="$(awk '/js_cpu_ns_per_link/ {print $2}' <<<"$js")"
  cm="$(awk '/js_many_cpu_ns_per_link/ {print $2}' <<<"$js")"
  if [[ -n "$ccli" ]]; then
    echo "round $round, CPU time: native CLI path ${ccli} ns, sign ${cj} ns, signMany ${cm} ns a link;" \
      "sign vs CLI path $(awk -v a="$cj" -v b="$ccli" 'BEGIN{printf "%.2f", a/b}'), signMany vs CLI path $(awk -v a="$cm" -v b="$ccli" 'BEGIN{printf "%.2f", a/b}')"
  fi
done

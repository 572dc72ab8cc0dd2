// Strict vs KV revocation, measured side by side (not a test: it prints
// figures for docs/performance.md and asserts nothing about speed):
//
//   1. download latency of a strict object (KV + the registry round trip)
//      against the same bytes under a KV-only rule, interleaved;
//   2. the admin API's revoke latency (registry, then KV).
//
// Run: node tests/e2e/measure/strict.mjs   (after scripts/build.sh and
// `cargo build --release --bin linkgate`). N=… sets the request count.

import { performance } from "node:perf_hooks";
import { startWorker, sign, linkFor, newKeyEntry, BASE, HOST } from "../harness.mjs";

const N = Number(process.env.N ?? 400);
const KEYS = newKeyEntry("m");
const ADMIN = "measure-admin-token-0123456789abcdef";
const w = await startWorker({ keys: KEYS, vars: { LINKGATE_EDGE_CACHE: "off", LINKGATE_ADMIN_TOKEN: ADMIN } });
const body = new Uint8Array(1024).fill(7);
await w.r2.put("r/file.bin", body, { customMetadata: { classification: "restricted" } });
await w.r2.put("c/file.bin", body, { customMetadata: { classification: "confidential" } });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p99 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)];
const link = (path) => linkFor(sign(KEYS, ["--host", HOST, "--path", path, "--ttl", "30m", "--sub", "r-1", "--sealed"]));
const strict = link("/r/file.bin");
const kv = link("/c/file.bin");

async function time(url) {
  const t = performance.now();
  const r = await w.fetch(url);
  await r.arrayBuffer();
  if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
  return performance.now() - t;
}

for (let i = 0; i < 50; i++) await time(i % 2 ? strict : kv); // warm up
const s = [];
const k = [];
for (let i = 0; i < N; i++) {
  s.push(await time(strict));
  k.push(await time(kv));
}
console.log(`download, 1 KiB, ${N} each, interleaved (Miniflare, edge cache off):`);
console.log(`  kv-only rule (confidential): median ${median(k).toFixed(2)} ms, p99 ${p99(k).toFixed(2)} ms`);
console.log(`  strict rule (restricted):   median ${median(s).toFixed(2)} ms, p99 ${p99(s).toFixed(2)} ms`);
console.log(`  strict / kv median: ${(median(s) / median(k)).toFixed(2)}, added ${(median(s) - median(k)).toFixed(2)} ms`);

const revokes = [];
for (let i = 0; i < 50; i++) {
  const text = JSON.stringify({ scope: "sub", value: `m-${i}`, reason: "measure" });
  const t = performance.now();
  const r = await w.fetch(`${BASE}/_linkgate/revocations`, {
    method: "POST",
    body: text,
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json", "content-length": String(text.length) },
  });
  await r.arrayBuffer();
  if (r.status !== 201) throw new Error(`revoke: ${r.status}`);
  revokes.push(performance.now() - t);
}
console.log(`revoke (registry then KV), 50: median ${median(revokes).toFixed(2)} ms, p99 ${p99(revokes).toFixed(2)} ms`);
await w.stop();

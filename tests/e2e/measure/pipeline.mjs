// Side-by-side measurements that the closing notes and docs/performance.md
// quote (not a test: it prints figures, it asserts nothing about speed):
//
//   1. bounded-use download latency vs a plain download, same object, same run
//   2. audit pipeline: events per second from request to a row in D1, and
//      the batch size the consumer sees
//
// Run: node tests/e2e/measure/pipeline.mjs   (after scripts/build.sh and
// `cargo build --release --bin linkgate`). N=… sets the request count.

import { performance } from "node:perf_hooks";
import { startWorker, sign, linkFor, newKeyEntry, BASE, HOST } from "../harness.mjs";

const N = Number(process.env.N ?? 300);
const KEYS = newKeyEntry("m");
const w = await startWorker({ keys: KEYS, vars: { LINKGATE_EDGE_CACHE: "off" } });
await w.r2.put("m/file.bin", new Uint8Array(1024).fill(7));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p99 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)];

// 1. Interleave plain GETs and bounded-use POSTs so drift hits both.
const plain = sign(KEYS, ["--host", HOST, "--path", "/m/file.bin", "--ttl", "1h"]);
const bounded = sign(KEYS, ["--host", HOST, "--path", "/m/file.bin", "--ttl", "1h", "--uses", String(N * 2)]);
const tPlain = [];
const tBounded = [];
for (let i = 0; i < 20; i++) {
  await (await w.fetch(linkFor(plain))).arrayBuffer();
}
for (let i = 0; i < N; i++) {
  let t = performance.now();
  await (await w.fetch(linkFor(plain))).arrayBuffer();
  tPlain.push(performance.now() - t);
  t = performance.now();
  const r = await w.fetch(`${BASE}/m/file.bin`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "content-length": String(3 + bounded.token.length), "cf-connecting-ip": `10.0.${i >> 8}.${i & 255}` },
    body: `lg=${bounded.token}`,
  });
  await r.arrayBuffer();
  if (r.status !== 200) throw new Error(`bounded download ${i}: ${r.status}`);
  tBounded.push(performance.now() - t);
}
console.log(`latency over ${N} interleaved requests (ms): plain p50 ${median(tPlain).toFixed(2)} p99 ${p99(tPlain).toFixed(2)}; ` +
  `bounded-use p50 ${median(tBounded).toFixed(2)} p99 ${p99(tBounded).toFixed(2)}; ratio p50 ${(median(tBounded) / median(tPlain)).toFixed(2)}x`);

// 2. Audit pipeline: time from the first request until every event is a row.
const before = (await w.db.prepare("SELECT COUNT(*) AS n FROM events").first()).n;
const t0 = performance.now();
const burst = [];
for (let i = 0; i < N; i++) burst.push(w.fetch(linkFor(plain)).then((r) => r.arrayBuffer()));
await Promise.all(burst);
const served = performance.now() - t0;
let rows = 0;
while (performance.now() - t0 < 60_000) {
  rows = (await w.db.prepare("SELECT COUNT(*) AS n FROM events").first()).n - before;
  if (rows >= N) break;
  await new Promise((r) => setTimeout(r, 20));
}
const stored = performance.now() - t0;
console.log(`audit pipeline: ${N} requests served in ${served.toFixed(0)} ms, ${rows} events in D1 after ${stored.toFixed(0)} ms ` +
  `(${((rows / stored) * 1000).toFixed(0)} events/s end to end; queue batches of up to 100, max wait 1 s in this run)`);
await w.stop();

// Sealed vs plain links in the worker, side by side (not a test: it prints
// figures for docs/performance.md and asserts nothing about speed):
//
//   1. downloads of one internal object through a plain and a sealed link
//      carrying the same claims, interleaved;
//   2. refusals of forged tokens of each kind (one byte of the tag or the
//      ciphertext changed): what a flood of forged links costs.
//
// Run: node tests/e2e/measure/sealed.mjs   (after scripts/build.sh and
// `cargo build --release --bin linkgate`). N=… sets the request count.

import { performance } from "node:perf_hooks";
import { startWorker, sign, linkFor, newKeyEntry, HOST } from "../harness.mjs";

const N = Number(process.env.N ?? 400);
const KEYS = newKeyEntry("m");
const w = await startWorker({ keys: KEYS, vars: { LINKGATE_EDGE_CACHE: "off" } });
await w.r2.put("i/file.bin", new Uint8Array(1024).fill(7), { customMetadata: { classification: "internal" } });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const args = ["--host", HOST, "--path", "/i/file.bin", "--ttl", "30m", "--sub", "r-1", "--tenant", "acme"];
const plain = sign(KEYS, args);
const sealed = sign(KEYS, [...args, "--sealed"]);
// A forgery: the last character changed (the tag's last bits; both kinds
// decode, look up the key, and fail the tag or the AEAD).
const forge = (m) => {
  const t = m.token;
  const last = t.at(-1) === "A" ? "Q" : "A";
  return linkFor({ ...m, token: t.slice(0, -1) + last });
};

async function time(url, want) {
  const t = performance.now();
  const r = await w.fetch(url);
  await r.arrayBuffer();
  if (r.status !== want) throw new Error(`${url}: ${r.status}`);
  return performance.now() - t;
}

const cases = [
  ["download, plain link", linkFor(plain), 200],
  ["download, sealed link", linkFor(sealed), 200],
  ["refusal, forged plain link", forge(plain), 403],
  ["refusal, forged sealed link", forge(sealed), 403],
];
for (let i = 0; i < 40; i++) for (const [, url, want] of cases) await time(url, want);
const times = cases.map(() => []);
for (let i = 0; i < N; i++) for (let k = 0; k < cases.length; k++) times[k].push(await time(cases[k][1], cases[k][2]));
console.log(`${N} requests each, interleaved (Miniflare, edge cache off, 1 KiB):`);
cases.forEach(([name], k) => console.log(`  ${name.padEnd(30)} median ${median(times[k]).toFixed(3)} ms`));
console.log(`  sealed / plain download: ${(median(times[1]) / median(times[0])).toFixed(3)}`);
console.log(`  sealed / plain refusal:  ${(median(times[3]) / median(times[2])).toFixed(3)}`);
await w.stop();

// Ed25519 vs HMAC links in the worker, side by side (not a test: it prints
// figures for docs/performance.md and asserts nothing about speed):
//
//   1. downloads of one object through an HMAC link and an Ed25519 link
//      carrying the same claims, interleaved: the difference is the cost of
//      the WebCrypto verify (crypto.subtle.verify("Ed25519")) plus its await;
//   2. refusals of forged tokens: an HMAC tag changed, an Ed25519 signature
//      changed (reaches WebCrypto), an Ed25519 token with an unknown kid and
//      one with a non-canonical S (both refused by the core before WebCrypto).
//
// Run: node tests/e2e/measure/ed25519.mjs   (after scripts/build.sh and
// `cargo build --release --bin linkgate`). N=… sets the request count.

import { performance } from "node:perf_hooks";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker, sign, linkFor, newKeyEntry, HOST, BASE, CLI } from "../harness.mjs";

const N = Number(process.env.N ?? 400);
const dir = mkdtempSync(join(tmpdir(), "linkgate-measure-ed-"));
const keygen = (kid) => JSON.parse(execFileSync(CLI, ["keygen", "--ed25519", "--json", "--kid", kid], { encoding: "utf8" }));
const pair = keygen("m-ed");
const stranger = keygen("m-stranger");
const keyFile = (name, k) => {
  const f = join(dir, name);
  writeFileSync(f, k.private_key);
  return f;
};
const signEd = (file, args) =>
  JSON.parse(execFileSync(CLI, ["sign", "--json", "--base", BASE, "--ed25519-key", file, ...args], { encoding: "utf8" }));

const KEYS = newKeyEntry("m");
const w = await startWorker({ keys: KEYS, vars: { LINKGATE_EDGE_CACHE: "off", LINKGATE_PUBLIC_KEYS: pair.public_entry } });
await w.r2.put("i/file.bin", new Uint8Array(1024).fill(7), { customMetadata: { classification: "internal" } });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const args = ["--host", HOST, "--path", "/i/file.bin", "--ttl", "30m", "--sub", "r-1", "--tenant", "acme"];
const hmac = sign(KEYS, args);
const ed = signEd(keyFile("ed.key", pair), args);
const unknown = signEd(keyFile("stranger.key", stranger), args);
const edit = (m, f) => {
  const raw = Buffer.from(m.token, "base64url");
  f(raw);
  return linkFor({ ...m, token: raw.toString("base64url") });
};
const n = (m) => Buffer.from(m.token, "base64url").length;

async function time(url, want) {
  const t = performance.now();
  const r = await w.fetch(url);
  await r.arrayBuffer();
  if (r.status !== want) throw new Error(`${url}: ${r.status}`);
  return performance.now() - t;
}

const cases = [
  ["download, HMAC link", linkFor(hmac), 200],
  ["download, Ed25519 link", linkFor(ed), 200],
  ["refusal, forged HMAC tag", edit(hmac, (r) => (r[n(hmac) - 1] ^= 1)), 403],
  ["refusal, forged Ed25519 signature", edit(ed, (r) => (r[n(ed) - 40] ^= 1)), 403],
  ["refusal, Ed25519 unknown kid", linkFor(unknown), 403],
  ["refusal, Ed25519 S not canonical", edit(ed, (r) => (r[n(ed) - 1] |= 0xe0)), 403],
];
for (let i = 0; i < 40; i++) for (const [, url, want] of cases) await time(url, want);
const times = cases.map(() => []);
for (let i = 0; i < N; i++) for (let k = 0; k < cases.length; k++) times[k].push(await time(cases[k][1], cases[k][2]));
console.log(`${N} requests each, interleaved (Miniflare, edge cache off, 1 KiB):`);
cases.forEach(([name], k) => console.log(`  ${name.padEnd(36)} median ${median(times[k]).toFixed(3)} ms`));
const d = (a, b) => ((median(times[a]) - median(times[b])) * 1000).toFixed(0);
console.log(`  Ed25519 - HMAC download:            ${d(1, 0)} µs`);
console.log(`  forged Ed25519 - forged HMAC:       ${d(3, 2)} µs`);
console.log(`  unknown kid - forged HMAC:          ${d(4, 2)} µs`);
await w.stop();

// 3. The primitive alone in workerd: a JS worker that awaits K calls of
// crypto.subtle.verify("Ed25519") (the worker's own call, key imported once)
// or K HMAC-SHA256 signs through WebCrypto, timed from outside as
// (time of K calls - time of 0 calls) / K: workerd's clocks do not advance
// while a request computes, so the worker cannot time itself.
import { Miniflare } from "miniflare";
const K = Number(process.env.K ?? 2000);
const mf = new Miniflare({
  modules: true,
  compatibilityDate: "2025-11-01",
  script: `
    const te = new TextEncoder();
    let ed, hm;
    async function setup() {
      if (ed) return;
      const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
      const msg = te.encode("linkgate-link-ed25519-v1\0" + "x".repeat(120));
      const sig = await crypto.subtle.sign({ name: "Ed25519" }, pair.privateKey, msg);
      const raw = await crypto.subtle.exportKey("raw", pair.publicKey);
      const pub = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
      ed = { pub, msg, sig: new Uint8Array(sig) };
      const key = await crypto.subtle.importKey("raw", new Uint8Array(32).fill(7), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      hm = { key, msg };
    }
    export default {
      async fetch(req) {
        await setup();
        const u = new URL(req.url);
        const k = Number(u.searchParams.get("k"));
        let ok = 0;
        if (u.pathname === "/ed25519") for (let i = 0; i < k; i++) ok += (await crypto.subtle.verify({ name: "Ed25519" }, ed.pub, ed.sig, ed.msg)) ? 1 : 0;
        else for (let i = 0; i < k; i++) ok += (await crypto.subtle.sign("HMAC", hm.key, hm.msg)).byteLength > 0 ? 1 : 0;
        return new Response(String(ok));
      },
    };`,
});
async function per(path) {
  const t = async (k) => {
    const s = performance.now();
    const r = await mf.dispatchFetch(`http://x/${path}?k=${k}`);
    const body = await r.text();
    if (Number(body) !== k) throw new Error(`${path}: ${body}`);
    return performance.now() - s;
  };
  for (let i = 0; i < 3; i++) await t(K);
  const full = [], empty = [];
  for (let i = 0; i < 15; i++) {
    full.push(await t(K));
    empty.push(await t(0));
  }
  return ((median(full) - median(empty)) / K) * 1000;
}
const edUs = await per("ed25519");
const hmUs = await per("hmac");
console.log(`WebCrypto in workerd, ${K} awaited calls per request, 15 rounds:`);
console.log(`  crypto.subtle.verify("Ed25519")   ${edUs.toFixed(1)} µs per call`);
console.log(`  crypto.subtle.sign("HMAC" SHA-256) ${hmUs.toFixed(1)} µs per call (for scale; the worker's HMAC runs in Rust wasm)`);
await mf.dispose();
rmSync(dir, { recursive: true, force: true });

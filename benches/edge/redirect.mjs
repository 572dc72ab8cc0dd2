// Redirect vs stream (issue 13), for scripts/bench.sh: how long a client waits
// for linkgate's answer in each delivery mode.
//
//   node benches/edge/redirect.mjs [requests per variant, default 300]
//
// One release worker in workerd (Miniflare, a real HTTP listener on
// 127.0.0.1, edge cache off so every stream reads R2), presigning configured
// against a loopback endpoint (nothing is fetched from it: a 302 is the whole
// of linkgate's work in redirect mode). For 1 KiB and 1 MiB objects:
//
//   stream:   time to the first body byte of a streamed download (TTFB),
//             and to its last byte;
//   redirect: time to the complete 302 (headers; there is no body).
//
// Requests are sequential (one connection, keep-alive) and the variants are
// interleaved request by request, so machine noise hits both alike; the
// table holds medians and p90 in ms and the ratio of medians. Prints a
// markdown table and writes it into docs/performance.md between the markers
// <!-- redirect-bench:start --> and <!-- redirect-bench:end -->.

import { Miniflare } from "miniflare";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { applyMigrations } from "./common.mjs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const N = Number(process.argv[2] || process.env.BENCH_REDIRECT_REQUESTS || 300);
const keys = `bench:${randomBytes(32).toString("base64url")}`;
const SIZES = { "1 KiB": 1024, "1 MiB": 1024 * 1024 };

const persist = mkdtempSync(join(tmpdir(), "linkgate-bench-redirect-"));
const mf = new Miniflare({
  scriptPath: join(ROOT, "build", "index.js"),
  modules: true,
  modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
  compatibilityDate: "2025-11-01",
  kvNamespaces: ["LINKGATE_DENYLIST"],
  r2Buckets: ["LINKGATE_FILES"],
  d1Databases: ["LINKGATE_AUDIT"],
  durableObjects: { LINKGATE_USAGE: "UsageCounter" },
  queueProducers: { LINKGATE_EVENTS: { queueName: "linkgate-events" } },
  queueConsumers: { "linkgate-events": { maxBatchSize: 100, maxBatchTimeout: 1 } },
  cache: true,
  d1Persist: join(persist, "d1"),
  host: "127.0.0.1",
  port: 0,
  handleRuntimeStdio(out, err) {
    out.resume();
    err.resume();
  },
  bindings: {
    LINKGATE_KEYS: keys,
    LINKGATE_EDGE_CACHE: "off",
    LINKGATE_S3_ACCESS_KEY_ID: "AKIDBENCH",
    LINKGATE_S3_SECRET_ACCESS_KEY: "bench-secret",
    LINKGATE_S3_BUCKET: "files",
    LINKGATE_S3_ENDPOINT: "http://127.0.0.1:9",
  },
});
const base = String(await mf.ready).replace(/\/$/, "");
const db = await mf.getD1Database("LINKGATE_AUDIT");
await applyMigrations(db);
const r2 = await mf.getR2Bucket("LINKGATE_FILES");
const cli = join(ROOT, "target", "release", "linkgate");
const sign = (path, mode) =>
  JSON.parse(
    execFileSync(cli, ["sign", "--json", "--base", base, "--path", path, "--ttl", "1h", "--mode", mode], {
      env: { ...process.env, LINKGATE_KEYS: keys },
      encoding: "utf8",
    }),
  ).url;

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

async function streamOnce(url) {
  const t0 = process.hrtime.bigint();
  const res = await fetch(url);
  const reader = res.body.getReader();
  const first = await reader.read();
  const ttfb = ms(t0);
  let n = first.value?.length ?? 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
  }
  if (res.status !== 200) throw new Error(`stream: ${res.status}`);
  return { ttfb, total: ms(t0), n };
}

async function redirectOnce(url) {
  const t0 = process.hrtime.bigint();
  const res = await fetch(url, { redirect: "manual" });
  const body = await res.arrayBuffer();
  const t = ms(t0);
  if (res.status !== 302 || body.byteLength !== 0) throw new Error(`redirect: ${res.status}, ${body.byteLength} bytes`);
  return t;
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

const rows = [];
try {
  for (const [label, size] of Object.entries(SIZES)) {
    const path = `/bench/${size}.bin`;
    await r2.put(path.slice(1), new Uint8Array(size).fill(7), { customMetadata: { classification: "public" } });
    const streamUrl = sign(path, "stream");
    const redirectUrl = sign(path, "redirect");
    // Warm-up: isolate start, JIT, first reads.
    for (let i = 0; i < 20; i++) {
      await streamOnce(streamUrl);
      await redirectOnce(redirectUrl);
    }
    const ttfb = [];
    const total = [];
    const r = [];
    for (let i = 0; i < N; i++) {
      const s = await streamOnce(streamUrl);
      if (s.n !== size) throw new Error(`stream sent ${s.n} of ${size} bytes`);
      ttfb.push(s.ttfb);
      total.push(s.total);
      r.push(await redirectOnce(redirectUrl));
    }
    const f = (x) => x.toFixed(2);
    rows.push(
      `| ${label} | ${f(quantile(r, 0.5))} / ${f(quantile(r, 0.9))} | ${f(quantile(ttfb, 0.5))} / ${f(quantile(ttfb, 0.9))} | ` +
        `${f(quantile(total, 0.5))} / ${f(quantile(total, 0.9))} | ${(quantile(r, 0.5) / quantile(ttfb, 0.5)).toFixed(2)} |`,
    );
    console.error(`  ${label}: ${rows.at(-1)}`);
  }
} finally {
  await mf.dispose();
  rmSync(persist, { recursive: true, force: true });
}

const table = [
  `Redirect vs stream, ${N} sequential requests per variant (interleaved), release worker in Miniflare, edge cache off, ` +
    `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC. Median / p90 in ms:`,
  "",
  "| object | time to 302 (redirect) | time to first byte (stream) | time to last byte (stream) | 302 / first byte |",
  "|---|---|---|---|---|",
  ...rows,
].join("\n");
console.log(table);

const doc = join(ROOT, "docs", "performance.md");
const text = readFileSync(doc, "utf8");
const [start, end] = ["<!-- redirect-bench:start -->", "<!-- redirect-bench:end -->"];
if (text.includes(start) && text.includes(end)) {
  writeFileSync(doc, text.split(start)[0] + start + "\n" + table + "\n" + end + text.split(end)[1]);
}

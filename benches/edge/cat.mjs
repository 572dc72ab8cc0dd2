// Side by side in workerd (Miniflare): requests refused right after the tag
// check (a forged token: decode + HMAC, no storage I/O), a CAT against a
// linkgate link of equivalent claims, interleaved rounds. The difference of
// the per-request times is the CAT decoder's extra cost in the worker, under
// the runtime's own per-request overhead (which dominates both).
//
//   source scripts/lib.sh && build_worker && cargo build --release --bin linkgate
//   node benches/edge/cat.mjs [requests per round] [rounds]
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { startWorker, sign, ROOT } from "../../tests/e2e/harness.mjs";

const n = Number(process.argv[2] || 500);
const rounds = Number(process.argv[3] || 7);
const keys = `bench:${randomBytes(32).toString("base64url")}`;
const catKey = randomBytes(32).toString("base64url");
const w = await startWorker({ keys, vars: { LINKGATE_CAT_KEYS: `cat1:${catKey}` } });
const now = Math.floor(Date.now() / 1000);
const spec = {
  key: catKey,
  kid: "cat1",
  claims: { 1: "https://tokens.example", 3: "linkgate", 4: now + 3600, 6: now, 7: { hex: "07".repeat(16) },
    311: [{ tag: 52, value: [24, { hex: "c00002" }] }], 312: { 3: { 1: "/vod/show/" }, 8: { 0: ".ts" } }, 313: ["GET", "HEAD"] },
  tamper: "tag",
};
const cat = execFileSync("python3", [join(ROOT, "tests", "e2e", "cat_mint.py"), JSON.stringify(spec)], { encoding: "utf8" }).trim();
const link = sign(keys, ["--path", "/vod/show/", "--prefix", "--ttl", "1h", "--ip", "192.0.2.0/24"]).token;
// Forge the link: flip a character well inside its tag.
const i = link.length - 10;
const forged = link.slice(0, i) + (link[i] === "A" ? "B" : "A") + link.slice(i + 1);
const url = "https://files.example.com/vod/show/seg00042.ts";
const variants = {
  cat: () => w.fetch(url, { headers: { "cta-common-access-token": cat, "cf-connecting-ip": "192.0.2.9" } }),
  link: () => w.fetch(`${url}?lg=${forged}`, { headers: { "cf-connecting-ip": "192.0.2.9" } }),
};
for (const [name, f] of Object.entries(variants)) {
  const r = await f();
  if (r.status !== 403) throw new Error(`${name}: ${r.status} ${await r.text()}`);
  await r.arrayBuffer();
}
const times = { cat: [], link: [] };
for (let round = 0; round < rounds; round++) {
  for (const [name, f] of Object.entries(variants)) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < n; k++) await (await f()).arrayBuffer();
    times[name].push(Number(process.hrtime.bigint() - t0) / 1000 / n);
  }
}
const min = (v) => Math.min(...v);
const med = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
console.log(`per request (µs), ${rounds} rounds of ${n}: CAT fastest ${min(times.cat).toFixed(0)} median ${med(times.cat).toFixed(0)}; link fastest ${min(times.link).toFixed(0)} median ${med(times.link).toFixed(0)}; CAT - link (medians) ${(med(times.cat) - med(times.link)).toFixed(1)} µs`);
await w.stop();

// Where linkgate's time goes inside workerd: samples the worker's isolate
// with V8's CPU profiler (over the inspector) while wrk loads one variant,
// then prints the functions with the most self time.
//
//   LINKGATE_KEEP_NAMES=1 scripts/build.sh      # keep wasm function names
//   node benches/edge/profile.mjs [valid|invalid] [seconds] [default|off]
//
// default: wrangler.toml's edge cache setting (on); off: LINKGATE_EDGE_CACHE=off.
// Besides the hottest functions it prints the isolate's busy time (every
// sample but idle) per request served: linkgate's own CPU per request,
// without the runtime's HTTP and storage simulators.
//
// Needs wrk and target/release/linkgate (scripts/bench.sh builds both).
import { Miniflare } from "miniflare";
import WebSocket from "ws";
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const which = process.argv[2] || "valid";
const secs = Number(process.argv[3] || 5);
const edgeCache = (process.argv[4] || "default") === "off" ? "off" : "on";
const keys = `bench:${randomBytes(32).toString("base64url")}`;
const inspectorPort = 9300 + Math.floor(Math.random() * 500);
const mf = new Miniflare({
  modules: true,
  compatibilityDate: "2025-11-01",
  scriptPath: join(ROOT, "build", "index.js"),
  modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
  r2Buckets: ["LINKGATE_FILES"],
  kvNamespaces: ["LINKGATE_DENYLIST"],
  d1Databases: ["LINKGATE_AUDIT"],
  queueProducers: { LINKGATE_EVENTS: { queueName: "linkgate-events" } },
  queueConsumers: { "linkgate-events": { maxBatchSize: 100, maxBatchTimeout: 1 } },
  durableObjects: { LINKGATE_USAGE: "UsageCounter", LINKGATE_REVOCATIONS: "RevocationRegistry" },
  cache: true,
  bindings: { LINKGATE_KEYS: keys, LINKGATE_EDGE_CACHE: edgeCache },
  host: "127.0.0.1",
  port: 0,
  inspectorPort,
  handleRuntimeStdio(out, err) {
    out.resume();
    err.resume();
  },
});
const url = String(await mf.ready).replace(/\/$/, "");
await (await mf.getR2Bucket("LINKGATE_FILES")).put("bench/small.bin", new Uint8Array(1024).fill(1));
const db = await mf.getD1Database("LINKGATE_AUDIT");
// Every migration, in order (the worker's audit insert names their columns).
for (const file of readdirSync(join(ROOT, "migrations")).filter((f) => f.endsWith(".sql")).sort()) {
  const sql = readFileSync(join(ROOT, "migrations", file), "utf8").split("\n").filter((l) => !l.trim().startsWith("--")).join("\n");
  for (const s of sql.split(";").map((x) => x.trim()).filter(Boolean)) await db.prepare(s).run();
}
const link = JSON.parse(execFileSync(join(ROOT, "target", "release", "linkgate"), ["sign", "--json", "--base", url, "--path", "/bench/small.bin", "--ttl", "1h"], { env: { ...process.env, LINKGATE_KEYS: keys }, encoding: "utf8" }));
const token = which === "invalid" ? link.token.slice(0, -1) + (link.token.at(-1) === "A" ? "B" : "A") : link.token;
const target = `${url}/bench/small.bin?lg=${token}`;

// The linkgate worker's isolate is the inspector target named after it.
const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
const t = targets.find((x) => /core:user:/.test(x.id) || /user/.test(x.title)) || targets[0];
const ws = new WebSocket(t.webSocketDebuggerUrl);
await new Promise((r) => ws.once("open", r));
let id = 0;
const pending = new Map();
ws.on("message", (m) => {
  const msg = JSON.parse(m);
  if (msg.id && pending.has(msg.id)) {
    pending.get(msg.id)(msg.result);
    pending.delete(msg.id);
  }
});
const call = (method, params = {}) => new Promise((r) => { const i = ++id; pending.set(i, r); ws.send(JSON.stringify({ id: i, method, params })); });

// Resolves with the number of requests wrk completed.
const load = (s) =>
  new Promise((r) => {
    const p = spawn("wrk", ["-t2", "-c8", `-d${s}s`, target], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("exit", () => r(Number((/(\d+) requests in/.exec(out) || [0, 0])[1])));
  });
await load(2); // warm up: JIT tiers, KV memo, R2 files
await call("Profiler.enable");
await call("Profiler.setSamplingInterval", { interval: 50 });
await call("Profiler.start");
const requests = await load(secs);
const { profile } = await call("Profiler.stop");
ws.close();
await mf.dispose();

const self = new Map();
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const dt = new Map();
profile.samples.forEach((s, i) => dt.set(s, (dt.get(s) || 0) + (profile.timeDeltas[i] || 0)));
let total = 0;
for (const [nodeId, us] of dt) {
  const n = byId.get(nodeId);
  const f = n.callFrame;
  const name = `${f.functionName || "(anonymous)"} ${f.url ? f.url.split("/").pop() + ":" + f.lineNumber : ""}`.trim();
  self.set(name, (self.get(name) || 0) + us);
  total += us;
}
const idle = [...self].filter(([n]) => n.startsWith("(idle)")).reduce((a, [, us]) => a + us, 0);
console.log(`target: ${t.title} (${t.id}); sampled ${(total / 1000).toFixed(0)} ms over ${secs} s of load`);
// Three shares per request: everything the isolate's thread did (busy);
// JS and wasm code (busy without V8's "(program)" — the runtime's own native
// work on that thread — and "(garbage collector)"); and linkgate's wasm alone.
const sum = (pred) => [...self].filter(([n]) => pred(n)).reduce((a, [, us]) => a + us, 0);
const program = sum((n) => n.startsWith("(program)") || n.startsWith("(garbage collector)"));
const wasm = sum((n) => /linkgate\.wasm/.test(n));
const per = (us) => `${(us / Math.max(requests, 1)).toFixed(0)} µs`;
console.log(`${which} link, edge cache ${edgeCache}: ${requests} requests; per request: isolate busy ${per(total - idle)}, ` +
  `JS + wasm ${per(total - idle - program)}, linkgate's wasm ${per(wasm)}`);
for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.PROFILE_TOP || 40))) {
  console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(1).padStart(8)} ms  ${name.slice(0, 150)}`);
}

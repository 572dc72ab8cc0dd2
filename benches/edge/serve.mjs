// Serve one variant for scripts/bench.sh on a loopback port and print a JSON
// line describing it: {"url", "pid" (the workerd process), "paths"}.
//   node benches/edge/serve.mjs linkgate|baseline|baseline:<steps>|peer
// All variants get the same R2 objects (1 KiB and 1 MiB) and the same
// bindings; <steps> are the baseline worker's extra platform calls (see
// benches/baseline/worker.mjs), used by the profile run.
import { Miniflare } from "miniflare";
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createHmac, randomBytes } from "node:crypto";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const [variant, steps = ""] = process.argv[2].split(":");
const keys = `bench:${randomBytes(32).toString("base64url")}`;
const common = {
  modules: true,
  compatibilityDate: "2025-11-01",
  r2Buckets: ["LINKGATE_FILES"],
  kvNamespaces: ["LINKGATE_DENYLIST"],
  d1Databases: ["LINKGATE_AUDIT"],
  queueProducers: { LINKGATE_EVENTS: { queueName: "linkgate-events" } },
  queueConsumers: { "linkgate-events": { maxBatchSize: 100, maxBatchTimeout: 1 } },
  host: "127.0.0.1",
  port: 0,
  // The worker's log lines are drained and dropped: a full pipe must never
  // stall workerd, and printing them would cost the bench's process, not
  // the worker's.
  handleRuntimeStdio(out, err) {
    out.resume();
    err.resume();
  },
};
if (variant === "linkgate" && steps === "noaudit") {
  // Profile only: linkgate without its audit queue (events are logged only).
  delete common.queueProducers;
  delete common.queueConsumers;
}
const peerSecret = randomBytes(32).toString("hex");
const opts =
  variant === "baseline"
    ? { ...common, scriptPath: join(ROOT, "benches", "baseline", "worker.mjs"), bindings: { STEPS: steps } }
    : variant === "peer"
    ? { ...common, scriptPath: join(ROOT, "benches", "peer", "worker.mjs"), bindings: { SECRET: peerSecret } }
    : {
        ...common,
        scriptPath: join(ROOT, "build", "index.js"),
        modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
        durableObjects: { LINKGATE_USAGE: "UsageCounter" },
        bindings: { LINKGATE_KEYS: keys, LINKGATE_EDGE_CACHE: "off" },
      };
const mf = new Miniflare(opts);
const url = String(await mf.ready).replace(/\/$/, "");
const r2 = await mf.getR2Bucket("LINKGATE_FILES");
await r2.put("bench/small.bin", new Uint8Array(1024).fill(1));
await r2.put("bench/medium.bin", new Uint8Array(1024 * 1024).fill(2));
{
  // Every migration, in order (the worker's audit insert names their columns).
  const db = await mf.getD1Database("LINKGATE_AUDIT");
  for (const file of readdirSync(join(ROOT, "migrations")).filter((f) => f.endsWith(".sql")).sort()) {
    const sql = readFileSync(join(ROOT, "migrations", file), "utf8").split("\n").filter((l) => !l.trim().startsWith("--")).join("\n");
    for (const s of sql.split(";").map((x) => x.trim()).filter(Boolean)) await db.prepare(s).run();
  }
}
let pid = null;
for (const d of readdirSync("/proc")) {
  if (!/^\d+$/.test(d)) continue;
  try {
    const status = readFileSync(`/proc/${d}/status`, "utf8");
    if (/^Name:\s+workerd/m.test(status) && Number(/PPid:\s+(\d+)/.exec(status)[1]) === process.pid) pid = Number(d);
  } catch {}
}
const paths = {};
for (const size of ["small", "medium"]) {
  if (variant === "baseline") {
    paths[size] = `/bench/${size}.bin`;
  } else if (variant === "peer") {
    const path = `/bench/${size}.bin`;
    const expiry = Math.floor(Date.now() / 1000) + 3600;
    const mac = createHmac("sha256", peerSecret).update(`${path}${expiry}`).digest("base64");
    paths[size] = `${path}?verify=${expiry}-${encodeURIComponent(mac)}`;
  } else {
    const out = execFileSync(join(ROOT, "target", "release", "linkgate"), ["sign", "--json", "--base", url, "--path", `/bench/${size}.bin`, "--ttl", "1h"], { env: { ...process.env, LINKGATE_KEYS: keys }, encoding: "utf8" });
    const link = JSON.parse(out);
    paths[size] = new URL(link.url).pathname + "?lg=" + link.token;
    const t = link.token;
    paths[`${size}_invalid`] = new URL(link.url).pathname + "?lg=" + t.slice(0, -6) + (t.at(-6) === "A" ? "B" : "A") + t.slice(-5);
  }
}
console.log(JSON.stringify({ variant, url, pid, paths }));
process.stdin.resume();
process.stdin.on("end", async () => {
  await mf.dispose();
  process.exit(0);
});

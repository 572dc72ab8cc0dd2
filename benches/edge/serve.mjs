// Serve one variant for scripts/bench.sh on a loopback port and print a JSON
// line describing it: {"url", "pids" (its workerd processes), "paths"}.
//
//   node benches/edge/serve.mjs <variant> [miniflare|wrangler]
//
// variant: linkgate (the default configuration: wrangler.toml's [vars], edge
// cache on, audit on), linkgate:off (the same with LINKGATE_EDGE_CACHE=off),
// linkgate:noaudit (cache off, no audit queue; profile only),
// baseline[:<steps>] (benches/baseline/worker.mjs; steps are its extra
// platform calls, used by the profile ladder), peer (benches/peer/worker.mjs),
// floor (benches/floor: a Rust worker answering 403 at once).
// runtime: Miniflare's API in this process (default), or `wrangler dev` (what
// scripts/dev.sh runs) with a config like the repository's wrangler.toml.
// All variants get the same R2 objects (1 KiB and 1 MiB) and the same
// bindings. Stdin closing stops the server.
import { Miniflare } from "miniflare";
import { BINDINGS, applyMigrations, wranglerVars } from "./common.mjs";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createHmac, randomBytes } from "node:crypto";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const [variant, steps = ""] = process.argv[2].split(":");
const runtime = process.argv[3] || "miniflare";
const keys = `bench:${randomBytes(32).toString("base64url")}`;
const peerSecret = randomBytes(32).toString("hex");
const SIZES = { small: 1024, medium: 1024 * 1024 };

function linkgateVars() {
  const vars = { ...wranglerVars(), LINKGATE_KEYS: keys };
  if (steps === "off" || steps === "noaudit") vars.LINKGATE_EDGE_CACHE = "off";
  return vars;
}

/** workerd processes started under `root` (this process, or wrangler). */
function workerdPids(root) {
  const parent = {};
  const names = {};
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const status = readFileSync(`/proc/${d}/status`, "utf8");
      parent[d] = Number(/PPid:\s+(\d+)/.exec(status)[1]);
      names[d] = /^Name:\s+(\S+)/m.exec(status)[1];
    } catch {}
  }
  const under = (pid) => {
    for (let p = Number(pid); p > 1; p = parent[p]) if (p === root) return true;
    return false;
  };
  return Object.keys(names).filter((d) => names[d] === "workerd" && under(d)).map(Number);
}

function paths(base) {
  const out = {};
  for (const size of Object.keys(SIZES)) {
    const path = `/bench/${size}.bin`;
    if (variant === "baseline" || variant === "floor") {
      out[size] = path;
    } else if (variant === "peer") {
      const expiry = Math.floor(Date.now() / 1000) + 3600;
      const mac = createHmac("sha256", peerSecret).update(`${path}${expiry}`).digest("base64");
      out[size] = `${path}?verify=${expiry}-${encodeURIComponent(mac)}`;
    } else {
      const cli = join(ROOT, "target", "release", "linkgate");
      const link = JSON.parse(execFileSync(cli, ["sign", "--json", "--base", base, "--path", path, "--ttl", "1h"], { env: { ...process.env, LINKGATE_KEYS: keys }, encoding: "utf8" }));
      const t = link.token;
      out[size] = `${path}?lg=${t}`;
      out[`${size}_invalid`] = `${path}?lg=${t.slice(0, -6)}${t.at(-6) === "A" ? "B" : "A"}${t.slice(-5)}`;
    }
  }
  return out;
}

async function miniflare() {
  const common = {
    ...BINDINGS,
    cache: true,
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
    delete common.queueProducers;
    delete common.queueConsumers;
  }
  const opts =
    variant === "baseline"
      ? { ...common, scriptPath: join(ROOT, "benches", "baseline", "worker.mjs"), bindings: { STEPS: steps } }
      : variant === "peer"
      ? { ...common, scriptPath: join(ROOT, "benches", "peer", "worker.mjs"), bindings: { SECRET: peerSecret } }
      : variant === "floor"
      ? { ...common, scriptPath: join(ROOT, "benches", "floor", "build", "index.js"), modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }] }
      : {
          ...common,
          scriptPath: join(ROOT, "build", "index.js"),
          modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
          durableObjects: { LINKGATE_USAGE: "UsageCounter", LINKGATE_REVOCATIONS: "RevocationRegistry" },
          bindings: linkgateVars(),
        };
  const mf = new Miniflare(opts);
  const url = String(await mf.ready).replace(/\/$/, "");
  const r2 = await mf.getR2Bucket("LINKGATE_FILES");
  for (const [size, n] of Object.entries(SIZES)) await r2.put(`bench/${size}.bin`, new Uint8Array(n).fill(size === "small" ? 1 : 2));
  const db = await mf.getD1Database("LINKGATE_AUDIT");
  await applyMigrations(db);
  return { url, pids: workerdPids(process.pid), stop: () => mf.dispose() };
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function wrangler() {
  const dir = mkdtempSync(join(tmpdir(), `linkgate-bench-${variant}-`));
  const state = join(dir, "state");
  let config = join(ROOT, "wrangler.toml");
  const vars = variant === "linkgate" ? linkgateVars() : variant === "peer" ? { SECRET: peerSecret } : { STEPS: steps };
  if (variant !== "linkgate") {
    const main =
      variant === "floor" ? join(ROOT, "benches", "floor", "build", "index.js") : join(ROOT, "benches", variant === "peer" ? "peer" : "baseline", "worker.mjs");
    config = join(dir, "wrangler.toml");
    writeFileSync(
      config,
      [
        `name = "bench-${variant}"`,
        `main = ${JSON.stringify(main)}`,
        `compatibility_date = "2025-11-01"`,
        `[[kv_namespaces]]\nbinding = "LINKGATE_DENYLIST"\nid = "linkgate-denylist-local"`,
        `[[r2_buckets]]\nbinding = "LINKGATE_FILES"\nbucket_name = "linkgate-files"`,
        `[[queues.producers]]\nbinding = "LINKGATE_EVENTS"\nqueue = "linkgate-events"`,
        `[[d1_databases]]\nbinding = "LINKGATE_AUDIT"\ndatabase_name = "linkgate-audit"\ndatabase_id = "00000000-0000-0000-0000-000000000000"`,
      ].join("\n") + "\n",
    );
  }
  const bin = join(ROOT, "node_modules", ".bin", "wrangler");
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
  const quiet = { cwd: ROOT, env, stdio: ["ignore", "ignore", "inherit"] };
  for (const [size, n] of Object.entries(SIZES)) {
    const file = join(dir, `${size}.bin`);
    writeFileSync(file, new Uint8Array(n).fill(size === "small" ? 1 : 2));
    execFileSync(bin, ["r2", "object", "put", `linkgate-files/bench/${size}.bin`, "--file", file, "--local", "--persist-to", state, "-c", config], quiet);
  }
  if (variant === "linkgate") {
    execFileSync(bin, ["d1", "migrations", "apply", "LINKGATE_AUDIT", "--local", "--persist-to", state, "-c", config], quiet);
  }
  const [port, inspector] = [await freePort(), await freePort()];
  const args = ["dev", "-c", config, "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspector), "--persist-to", state, "--log-level", "error"];
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const child = spawn(bin, args, { cwd: ROOT, env, stdio: ["ignore", "ignore", "ignore"], detached: true });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await fetch(url + "/");
      break;
    } catch {
      if (i > 600 || child.exitCode !== null) throw new Error(`wrangler dev (${variant}) did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    pids: workerdPids(child.pid),
    stop: async () => {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {}
      await new Promise((r) => setTimeout(r, 500));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const server = runtime === "wrangler" ? await wrangler() : await miniflare();
console.log(JSON.stringify({ variant: process.argv[2], runtime, url: server.url, pids: server.pids, paths: paths(server.url) }));
process.stdin.resume();
process.stdin.on("end", async () => {
  await server.stop();
  process.exit(0);
});

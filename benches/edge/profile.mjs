// CPU per request inside the worker's isolate, and linkgate's own share of
// it, from V8's sampling profiler (over the inspector) while wrk loads each
// variant through Miniflare.
//
//   LINKGATE_KEEP_NAMES=1 scripts/build.sh      # names for the "top" lists (optional)
//   node benches/edge/profile.mjs [rounds] [seconds] [interval µs]
//   node benches/edge/profile.mjs top VARIANT [seconds]   # hottest functions of one variant
//
// A second table gives each variant's workerd CPU per request from /proc, measured
// during the plain runs (profiler off): steadier than the sampled figures, and the
// measure to compare two builds by (PROFILE_VARIANTS=valid@DIR,valid).
//
// Variants (all 1 KiB, one Miniflare each, interleaved per round):
//   refused   linkgate, a link with one changed character (signature_invalid), default config
//   valid     linkgate, valid link, wrangler.toml's vars (edge cache on: a cache hit)
//   off       linkgate, valid link, LINKGATE_EDGE_CACHE=off (one R2 get per request)
//   floor     benches/floor: workers-rs' #[event(fetch)] answering 403 at once
//   jsfloor   benches/baseline/worker.mjs with STEPS=refuse: a JS module answering 403 at once
//
// Every sample's self time goes to one category, by the frame it was taken in:
//   wasm      a function of the worker's wasm module (the trampolines
//             "wasm-to-js"/"js-to-wasm" go to glue)
//   glue      a JS function of the worker's own module (build/index.js: worker-build's
//             shim, wasm-bindgen's generated code, linkgate's inline JS snippets; for
//             jsfloor, its worker.mjs), except the import shims below
//   calls     the runtime objects the worker's code asks for: wasm-bindgen's one-line
//             import shims (`__wbg_*`, whose self time is mostly the built-in they call:
//             Headers.set, new Response, new Uint8Array, queueMicrotask, Reflect.get of
//             request.cf …) and built-ins without a script URL called from the worker's code
//   country   linkgate's read of request.cf.country (its `linkgate_country` shim and all
//             under it: workerd builds the whole `cf` object on the first read); part of
//             the own share, printed in its own column (a build before that snippet
//             counts the read in calls)
//   io        the same for storage, cache and log: shims calling R2/KV/Cache/Queue/D1,
//             console.*, waitUntil (by name, see IO below) and built-ins under them
//             (wasm-bindgen's one-line "module terminated" check, which import shims call in
//             their `finally`, goes to its caller's category: V8 at times charges the
//             caller's native call, an R2 read, to it)
//   runtime   the rest of the busy isolate: V8's "(program)" (workerd's native work on the
//             isolate thread: HTTP, dispatching the event, resolving promises), "(garbage
//             collector)", the runtime's own JS
// "Own share" = wasm + glue + calls + country: everything the worker's code does on the isolate
// thread except the I/O and log calls the contract needs (their price is the runtime's,
// see the profile ladder of scripts/bench.sh). The floors pay calls too (a Response,
// the async export's promise), which is why each row is printed next to the floors,
// measured in the same run. µs per request = category time / requests wrk completed
// while profiling.
//
// Sampling inflates what it measures (each sample interrupts the isolate); the default
// interval (1000 µs, V8's default) distorts less than the 50 µs the first version used.
// The table also prints each variant's rate with the profiler off, measured in the
// same round, so the reader can see the distortion.
//
// Needs wrk, target/release/linkgate and benches/floor/build (scripts/bench.sh builds them).
import { Miniflare } from "miniflare";
import { BINDINGS, applyMigrations, attachInspector, wranglerVars } from "./common.mjs";
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const topMode = process.argv[2] === "top";
const rounds = topMode ? 1 : Number(process.argv[2] || 3);
const secs = Number((topMode ? process.argv[4] : process.argv[3]) || 4);
const interval = Number((topMode ? undefined : process.argv[4]) || process.env.PROFILE_INTERVAL || 1000);
const keys = `bench:${randomBytes(32).toString("base64url")}`;
const ALL = ["refused", "valid", "off", "floor", "jsfloor"];
const variants = topMode ? [process.argv[3] || "refused"] : (process.env.PROFILE_VARIANTS || ALL.join(",")).split(",");

let nextPort = 9300 + 20 * Math.floor(Math.random() * 25); // distinct per instance
// "refused@DIR" serves DIR/index.js instead of build/index.js: a build kept
// aside against the current one, in the same run. DIR must be inside the
// checkout (workerd will not load modules above its starting directory), e.g.
//   cp -r build target/build-before   # then change src/ and rebuild
//   PROFILE_VARIANTS=refused@target/build-before,refused,floor node benches/edge/profile.mjs
async function start(spec) {
  const [variant, dir] = spec.split("@");
  const inspectorPort = nextPort++;
  const common = {
    ...BINDINGS,
    cache: true,
    host: "127.0.0.1",
    port: 0,
    inspectorPort,
    handleRuntimeStdio(out, err) {
      out.resume();
      if (process.env.PROFILE_DEBUG) err.pipe(process.stderr); else err.resume();
    },
  };
  const wasmRules = [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }];
  const linkgate = variant === "refused" || variant === "valid" || variant === "off";
  const opts = linkgate
    ? {
        ...common,
        scriptPath: dir ? join(ROOT, dir, "index.js") : join(ROOT, "build", "index.js"),
        modulesRules: wasmRules,
        durableObjects: { LINKGATE_USAGE: "UsageCounter", LINKGATE_REVOCATIONS: "RevocationRegistry" },
        bindings: { ...wranglerVars(), LINKGATE_KEYS: keys, ...(variant === "off" ? { LINKGATE_EDGE_CACHE: "off" } : {}) },
      }
    : variant === "floor"
    ? { ...common, scriptPath: join(ROOT, "benches", "floor", "build", "index.js"), modulesRules: wasmRules }
    : { ...common, scriptPath: join(ROOT, "benches", "baseline", "worker.mjs"), bindings: { STEPS: "refuse" } };
  const mf = new Miniflare(opts);
  const url = String(await mf.ready).replace(/\/$/, "");
  await (await mf.getR2Bucket("LINKGATE_FILES")).put("bench/small.bin", new Uint8Array(1024).fill(1));
  let target = `${url}/bench/small.bin`;
  if (linkgate) {
    const db = await mf.getD1Database("LINKGATE_AUDIT");
    await applyMigrations(db);
    const cli = join(ROOT, "target", "release", "linkgate");
    const link = JSON.parse(execFileSync(cli, ["sign", "--json", "--base", url, "--path", "/bench/small.bin", "--ttl", "1h"], { env: { ...process.env, LINKGATE_KEYS: keys }, encoding: "utf8" }));
    const t = link.token;
    // One character changed inside the tag (not the last, whose spare bits
    // would make it non-canonical): a forged link, signature_invalid.
    const token = variant === "refused" ? `${t.slice(0, -6)}${t.at(-6) === "A" ? "B" : "A"}${t.slice(-5)}` : t;
    target = `${url}/bench/small.bin?lg=${token}`;
  }
  const probe = await fetch(target);
  const body = await probe.text();
  const want = variant === "valid" || variant === "off" ? 200 : 403;
  if (probe.status !== want) throw new Error(`${variant}: status ${probe.status}, expected ${want}: ${body.slice(0, 200)}`);
  const { ws, call } = await attachInspector(inspectorPort);
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval });
  return { variant: spec, mf, ws, call, target, pid: workerdPid(inspectorPort), shims: shimBodies(opts.scriptPath), check: terminationCheck(opts.scriptPath) };
}

// The workerd process of one variant: the one whose inspector listens on its port.
function workerdPid(inspectorPort) {
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmd.includes("workerd") && new RegExp(`--inspector-addr=\\S*:${inspectorPort}\\b`).test(cmd.replaceAll("\0", " "))) return pid;
    } catch {}
  }
  return undefined;
}

// utime + stime of a process, in µs (CPU time is not wall time: a run the OS
// interrupted costs no more, so it is steadier than the sampled figures).
function cpuMicros(pid) {
  if (!pid) return NaN;
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(")").pop().trim().split(/\s+/);
  return ((Number(f[11]) + Number(f[12])) * 1e6) / 100; // USER_HZ
}

// Resolves with the number of requests wrk completed.
const load = (target, s) =>
  new Promise((r) => {
    const p = spawn("wrk", ["-t2", "-c8", `-d${s}s`, target], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("exit", () => r(Number((/(\d+) requests in/.exec(out) || [0, 0])[1])));
  });

// The import shims wasm-bindgen generates that call storage, the cache or the
// log (their self time is the runtime's I/O work): by the JS name they bind.
// linkgate's own snippets that make such a call (src/deliver.rs: the edge
// cache's match; src/objects.rs: R2 head/get) count the same way.
const IO = /^__wbg_(log|error|warn|match|put|head|delete|list|prepare|bind|all|run|first|fetch|send|sendBatch|waitUntil|get_with_options|linkgate_cache_body|linkgate_r2_read)_[0-9a-f]{16}$/;
// env.X.get(key, options): an R2 or KV read. The key is a wasm string, decoded
// by a helper (`l(ptr, len)`, `w(ptr, len)`: the name is the build's), and
// newer wasm-bindgen wraps the call in a try/finally, so the call is matched
// anywhere in the body; a one-argument `get` (Headers, Map) never matches.
const KV_R2_GET = (body) => /\b\w+\.get\(\w+\(\w+,\w+\),\w+\)/.test(body);
// linkgate's read of request.cf.country (src/lib.rs): workerd builds the whole
// `cf` object on its first read. Part of the own share, and printed on its own.
const COUNTRY = /^__wbg_linkgate_country_[0-9a-f]{16}$/;

/** Self time (µs) by category, and by function name, of one profile. */
function attribute(profile, shimBodies, check) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const own = (f) => f.url.startsWith("wasm://") || /(^|\/)(index\.js|worker\.mjs)$/.test(f.url);
  const shim = (f) => own(f) && f.functionName.startsWith("__wbg_");
  const io = (f) => shim(f) && (IO.test(f.functionName) || KV_R2_GET(shimBodies.get(f.functionName) || ""));
  // Reading request.cf.country: the `linkgate_country` shim and everything
  // under it (its snippet, the `cf` getter that builds the object).
  const inCountry = (nodeId) => {
    for (let p = nodeId; p !== undefined; p = parent.get(p)) {
      const pf = byId.get(p).callFrame;
      if (COUNTRY.test(pf.functionName)) return true;
      if (pf.url.startsWith("wasm://")) return false;
    }
    return false;
  };
  const category = new Map();
  const categoryOf = (nodeId) => {
    if (category.has(nodeId)) return category.get(nodeId);
    const f = byId.get(nodeId).callFrame;
    let c = "runtime";
    if (f.functionName === "(idle)") c = "idle";
    else if (f.url.startsWith("wasm://")) c = "wasm";
    else if (inCountry(nodeId)) c = "country";
    else if (check && own(f) && f.functionName === check && parent.has(nodeId)) c = categoryOf(parent.get(nodeId));
    else if (f.functionName === "wasm-to-js" || f.functionName === "js-to-wasm") c = "glue";
    else if (io(f)) c = "io";
    else if (shim(f)) c = "calls";
    // An I/O snippet's JS function (its shim's callee): V8 charges the store
    // call it makes (R2's get, the cache's match) to its self time.
    else if (own(f)) c = parent.has(nodeId) && io(byId.get(parent.get(nodeId)).callFrame) ? "io" : "glue";
    else if (f.url === "" && !f.functionName.startsWith("(")) {
      // A built-in: the worker's if called from its code; I/O if an I/O
      // shim is on the way up to the wasm that called it (a snippet's JS
      // function sits between an I/O snippet's shim and the store call).
      for (let p = parent.get(nodeId); p !== undefined; p = parent.get(p)) {
        const pf = byId.get(p).callFrame;
        if (pf.url.startsWith("wasm://")) break;
        if (io(pf)) {
          c = "io";
          break;
        }
        if (own(pf)) c = "calls";
      }
    }
    category.set(nodeId, c);
    return c;
  };
  const cats = { wasm: 0, glue: 0, calls: 0, country: 0, io: 0, runtime: 0, idle: 0 };
  const fns = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? 0; // a sample's delta is the time until the next one
    const nodeId = profile.samples[i];
    cats[categoryOf(nodeId)] += us;
    const f = byId.get(nodeId).callFrame;
    const name = `${f.functionName || "(anonymous)"} ${f.url ? f.url.split("/").pop() + ":" + f.lineNumber : ""}`.trim();
    const key = `${categoryOf(nodeId).padEnd(7)} ${name}`;
    fns.set(key, (fns.get(key) || 0) + us);
  }
  return { cats, fns };
}

/**
 * The name of wasm-bindgen's "module terminated" check in a built worker (a
 * few loads, called by import shims in their `finally`). V8 sometimes charges
 * the native call of the shim that called it (an R2 read, ~300 µs) to it, so
 * its self time is counted in its caller's category.
 */
function terminationCheck(script) {
  try {
    return /function (\w+)\(\)\{if\(\w+\?\?=\w+\.__instance_terminated/.exec(readFileSync(script, "utf8"))?.[1];
  } catch {
    return undefined;
  }
}

/** The body of each wasm-bindgen import shim of a built worker, by name. */
function shimBodies(script) {
  const out = new Map();
  try {
    for (const m of readFileSync(script, "utf8").matchAll(/(__wbg_\w+_[0-9a-f]{16}):function\([^)]*\)\{(?:return )?([^}]*)\}/g)) out.set(m[1], m[2]);
  } catch {}
  return out;
}

const LABEL = {
  refused: "linkgate, forged link (refused), default config",
  valid: "linkgate, valid link, default config (edge cache hit)",
  off: "linkgate, valid link, edge cache off",
  floor: "Rust floor: #[event(fetch)] answering 403 at once",
  jsfloor: "JS floor: a module answering 403 at once",
};

const label = (v) => (v.includes("@") ? `${LABEL[v.split("@")[0]]} [${v.split("@")[1]}]` : LABEL[v]);
const servers = [];
for (const v of variants) servers.push(await start(v));
const results = Object.fromEntries(variants.map((v) => [v, []]));
for (const s of servers) await load(s.target, 2); // warm up: JIT tiers, memos, the edge cache
for (let round = 0; round < rounds; round++) {
  for (const s of servers) {
    const c0 = cpuMicros(s.pid);
    const plain = topMode ? 0 : await load(s.target, secs);
    const cpu = (cpuMicros(s.pid) - c0) / Math.max(plain, 1);
    await s.call("Profiler.start");
    const requests = await load(s.target, secs);
    const { profile } = await s.call("Profiler.stop");
    const { cats, fns } = attribute(profile, s.shims, s.check);
    results[s.variant].push({ requests, plain, cpu, cats, fns });
    process.stderr.write(`round ${round + 1}/${rounds} ${s.variant}: ${requests} requests profiled, ${plain} plain\n`);
  }
}
for (const s of servers) {
  s.ws.close();
  await s.mf.dispose();
}

const median = (xs) => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
};
const f0 = (x) => x.toFixed(0);
if (topMode) {
  const [{ requests, fns, cats }] = results[variants[0]];
  const total = Object.values(cats).reduce((a, b) => a + b, 0);
  console.log(`${label(variants[0])}: ${requests} requests in ${secs} s; µs per request: ` + Object.entries(cats).map(([k, v]) => `${k} ${f0(v / requests)}`).join(", "));
  for (const [name, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.PROFILE_TOP || 40))) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${f0(us / requests).padStart(5)} µs/req  ${name.slice(0, 150)}`);
  }
  process.exit(0);
}

// The figures come from each variant's least disturbed round: the one with the
// least busy time per request. The sampler measures wall time between samples,
// so a round during which the OS ran someone else's work on the isolate's core
// charges that time to whatever frame was on the stack; on a shared machine the
// fastest of N rounds is the honest estimate, and the own share's median and
// range over all rounds show the spread.
const when = new Date().toISOString().slice(0, 16).replace("T", " ");
console.log(
  `CPU per request in the isolate, ${when} UTC: 1 KiB, \`wrk -t2 -c8 -d${secs}s\`, sampling every ${interval} µs, ` +
    `${rounds} interleaved round(s); each row is the variant's least disturbed round (least busy time per request), ` +
    `with the own share's median and range over all rounds. Reproduce: \`node benches/edge/profile.mjs ${rounds} ${secs} ${interval}\`.\n`
);
console.log("| variant | req/s profiled (plain) | **own share** µs/req | median (min–max) | wasm | JS glue | runtime objects it calls | of the own share, reading `request.cf` | its I/O and log calls | rest of the busy isolate | own share over the Rust floor's | over the JS floor's |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
const per = (r, k) => r.cats[k] / Math.max(r.requests, 1);
const ownOf = (r) => per(r, "wasm") + per(r, "glue") + per(r, "calls") + per(r, "country");
const busyOf = (r) => ownOf(r) + per(r, "io") + per(r, "runtime");
const best = (v) => results[v].reduce((a, b) => (busyOf(b) < busyOf(a) ? b : a));
const floorOwn = results.floor ? ownOf(best("floor")) : undefined;
const jsFloorOwn = results.jsfloor ? ownOf(best("jsfloor")) : undefined;
const diff = (x, base) => (base === undefined ? "" : `${x - base >= 0 ? "+" : ""}${f0(x - base)}`);
for (const v of variants) {
  const xs = results[v].map(ownOf);
  const b = best(v);
  const over = v === "floor" ? "" : diff(ownOf(b), floorOwn);
  const overJs = v === "jsfloor" ? "" : diff(ownOf(b), jsFloorOwn);
  console.log(
    `| ${label(v)} | ${f0(b.requests / secs)} (${f0(median(results[v].map((r) => r.plain / secs)))}) | **${f0(ownOf(b))}** | ${f0(median(xs))} (${f0(Math.min(...xs))}–${f0(Math.max(...xs))}) | ` +
      `${f0(per(b, "wasm"))} | ${f0(per(b, "glue"))} | ${f0(per(b, "calls"))} | ${f0(per(b, "country"))} | ${f0(per(b, "io"))} | ${f0(per(b, "runtime"))} | ${over} | ${overJs} |`
  );
}

// The plain runs (profiler off): the whole workerd process's CPU per request,
// from /proc. It includes the runtime's HTTP and storage simulators, so it is
// for comparing variants (two builds, a variant and a floor) in one run.
console.log(
  "\nworkerd CPU per request with the profiler off (the same rounds' plain runs; utime + stime of the variant's " +
    "workerd from /proc / requests), median (min–max) over the rounds:\n"
);
console.log("| variant | workerd CPU µs/req | over the Rust floor's (medians) |");
console.log("|---|---|---|");
const cpuMedian = (v) => median(results[v].map((r) => r.cpu));
for (const v of variants) {
  const xs = results[v].map((r) => r.cpu);
  const over = v === "floor" || !results.floor ? "" : diff(cpuMedian(v), cpuMedian("floor"));
  console.log(`| ${label(v)} | ${f0(median(xs))} (${f0(Math.min(...xs))}–${f0(Math.max(...xs))}) | ${over} |`);
}

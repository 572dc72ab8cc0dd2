// Does an attached inspector slow a wasm worker? `wrangler dev` keeps V8's
// inspector attached to the worker (it relays console messages), and a
// linkgate refusal costs far more over the Rust floor there than through
// Miniflare. This serves linkgate (a forged link) and the Rust floor through
// Miniflare with an inspector port, and loads each with wrk in three states,
// interleaved: nobody attached; a client with Runtime.enable (console
// relay); a client with Runtime.enable and Debugger.enable (what DevTools
// does; V8 then runs wasm in its debugging tier).
//   node benches/edge/inspector.mjs [rounds] [secs]
// Needs wrk, target/release/linkgate and benches/floor/build.

import { Miniflare } from "miniflare";
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { BINDINGS, ROOT, attachInspector, wranglerVars } from "./common.mjs";

const rounds = Number(process.argv[2] || 3);
const secs = Number(process.argv[3] || 3);
const keys = `bench:${randomBytes(32).toString("base64url")}`;
const wasmRules = [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }];
let port = 9700 + 10 * Math.floor(Math.random() * 20);

async function start(kind) {
  const inspectorPort = port++;
  const common = { ...BINDINGS, host: "127.0.0.1", port: 0, inspectorPort, modulesRules: wasmRules,
    handleRuntimeStdio(out, err) { out.resume(); err.resume(); } };
  const opts = kind === "linkgate"
    ? { ...common, cache: true, scriptPath: join(ROOT, "build", "index.js"),
        durableObjects: { LINKGATE_USAGE: "UsageCounter", LINKGATE_REVOCATIONS: "RevocationRegistry" },
        bindings: { ...wranglerVars(), LINKGATE_KEYS: keys } }
    : { ...common, scriptPath: join(ROOT, "benches", "floor", "build", "index.js") };
  const mf = new Miniflare(opts);
  const url = String(await mf.ready).replace(/\/$/, "");
  let target = `${url}/bench/small.bin`;
  if (kind === "linkgate") {
    const cli = join(ROOT, "target", "release", "linkgate");
    const t = JSON.parse(execFileSync(cli, ["sign", "--json", "--base", url, "--path", "/bench/small.bin", "--ttl", "1h"],
      { env: { ...process.env, LINKGATE_KEYS: keys }, encoding: "utf8" })).token;
    target += `?lg=${t.slice(0, -6)}${t.at(-6) === "A" ? "B" : "A"}${t.slice(-5)}`;
  }
  const probe = await fetch(target);
  await probe.text();
  if (probe.status !== 403) throw new Error(`${kind}: status ${probe.status}, expected 403`);
  return { kind, mf, target, inspectorPort };
}

async function attach(w, methods) {
  const { ws, call } = await attachInspector(w.inspectorPort);
  for (const method of methods) await call(method);
  return ws;
}

function wrk(target) {
  return new Promise((resolve) => {
    const p = spawn("wrk", ["-t2", "-c8", `-d${secs}s`, target], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("close", () => resolve(Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN)));
  });
}

const STATES = [["detached", null], ["Runtime.enable", ["Runtime.enable"]], ["+ Debugger.enable", ["Runtime.enable", "Debugger.enable"]]];
const workers = [await start("linkgate"), await start("floor")];
const rates = new Map();
for (let r = 0; r < rounds; r++) {
  for (const w of workers) {
    for (const [state, methods] of STATES) {
      const ws = methods ? await attach(w, methods) : null;
      await wrk(w.target); // warm-up in this state (tier changes)
      const rps = await wrk(w.target);
      ws?.close();
      await new Promise((res) => setTimeout(res, 300));
      const k = `${w.kind}|${state}`;
      rates.set(k, [...(rates.get(k) ?? []), rps]);
      console.error(`round ${r + 1} ${k}: ${rps.toFixed(0)} req/s`);
    }
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`| state | linkgate refusal req/s | Rust floor req/s | refusal / floor |\n|---|---|---|---|`);
for (const [state] of STATES) {
  const a = med(rates.get(`linkgate|${state}`)), f = med(rates.get(`floor|${state}`));
  console.log(`| ${state} | ${a.toFixed(0)} | ${f.toFixed(0)} | ${(a / f).toFixed(2)} |`);
}
for (const w of workers) await w.mf.dispose();

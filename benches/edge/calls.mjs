// How many calls a request makes from the worker's wasm into JS, by import,
// and how many strings cross the boundary each way: a count, not a timing,
// so it is exact on a noisy machine and shows what a change removed.
//
//   node benches/edge/calls.mjs [valid|off|refused] [DIR]   # DIR: a build, default build/
//
// It serves a copy of the build (in target/calls-build) whose import object
// is wrapped to count every call, and whose string helpers (wasm-bindgen's
// decode and encode, found by their shape in the minified glue) count too;
// it then sends 300 requests one at a time and prints the counts of the last
// 100, per request. Needs target/release/linkgate (`cargo build --release`).
import { Miniflare } from "miniflare";
import { BINDINGS, applyMigrations, wranglerVars } from "./common.mjs";
import { execFileSync } from "node:child_process";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const variant = process.argv[2] || "valid";
const src = join(ROOT, process.argv[3] || "build");
const dir = join(ROOT, "target", "calls-build"); // workerd loads modules only below the checkout
const N = 100;

rmSync(dir, { recursive: true, force: true });
cpSync(src, dir, { recursive: true });
const original = readFileSync(join(src, "index.js"), "utf8");
const count = (name) => `globalThis.__calls[${JSON.stringify(name)}]=(globalThis.__calls[${JSON.stringify(name)}]||0)+1;`;
const patches = [
  // The instance's imports, each function wrapped (snippet modules are frozen: copied).
  [/new WebAssembly\.Instance\((\w+),(\w+)\(\)\)/g, "new WebAssembly.Instance($1,__wrapImports($2()))"],
  // wasm-bindgen's string from wasm memory (TextDecoder) and into it (TextEncoder).
  [/function \w+\(\w,\w\)\{return \w=\w>>>0,\w+\(\w+\(\)\.subarray/, (m) => m.replace("{", "{" + count("<strings decoded>"))],
  [/function \w+\(\w,\w,\w\)\{if\(\w===void 0\)\{let \w=\w+\.encode/, (m) => m.replace("{", "{" + count("<strings encoded>"))],
  // The exported fetch: every N requests, print the counts and start again.
  [/function \w+\(\w,\w,\w\)\{let \w;\w+\(\);try\{\w=i\.fetch\(/, (m) =>
    m.replace("{", `{if(++globalThis.__requests%${N}===0){__log("CALLS "+JSON.stringify(globalThis.__calls));globalThis.__calls={}}`)],
];
let js = original;
for (const [re, by] of patches) {
  const next = js.replace(re, by);
  if (next === js) throw new Error(`calls.mjs: ${re} not found in ${src}/index.js (the glue's shape changed)`);
  js = next;
}
const prelude = `globalThis.__calls={};globalThis.__requests=0;const __log=console.log.bind(console);
function __wrapImports(o){const r={};for(const[mk,m]of Object.entries(o)){const c={};r[mk]=c;for(const k of Object.keys(m)){const f=m[k];
if(typeof f!=="function"){c[k]=f;continue}c[k]=function(...a){globalThis.__calls[k]=(globalThis.__calls[k]||0)+1;return f.apply(this,a)}}}return r}\n`;
writeFileSync(join(dir, "index.js"), prelude + js);

const keys = `bench:${randomBytes(32).toString("base64url")}`;
let out = "";
const mf = new Miniflare({
  ...BINDINGS,
  cache: true,
  host: "127.0.0.1",
  port: 0,
  handleRuntimeStdio(o, e) {
    o.on("data", (d) => (out += d));
    e.resume();
  },
  scriptPath: join(dir, "index.js"),
  modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
  durableObjects: { LINKGATE_USAGE: "UsageCounter", LINKGATE_REVOCATIONS: "RevocationRegistry" },
  bindings: { ...wranglerVars(), LINKGATE_KEYS: keys, ...(variant === "off" ? { LINKGATE_EDGE_CACHE: "off" } : {}) },
});
const url = String(await mf.ready).replace(/\/$/, "");
await (await mf.getR2Bucket("LINKGATE_FILES")).put("bench/small.bin", new Uint8Array(1024).fill(1));
await applyMigrations(await mf.getD1Database("LINKGATE_AUDIT"));
const cli = join(ROOT, "target", "release", "linkgate");
const link = JSON.parse(execFileSync(cli, ["sign", "--json", "--base", url, "--path", "/bench/small.bin", "--ttl", "1h"], { env: { ...process.env, LINKGATE_KEYS: keys }, encoding: "utf8" }));
const t = link.token;
// As profile.mjs: one character changed inside the tag is a forged link.
const token = variant === "refused" ? `${t.slice(0, -6)}${t.at(-6) === "A" ? "B" : "A"}${t.slice(-5)}` : t;
const want = variant === "refused" ? 403 : 200;
for (let i = 0; i < 3 * N; i++) {
  const r = await fetch(`${url}/bench/small.bin?lg=${token}`);
  await r.arrayBuffer();
  if (r.status !== want) throw new Error(`${variant}: status ${r.status}, expected ${want}`);
}
await new Promise((r) => setTimeout(r, 300)); // the audit queue's consumer
await mf.dispose();
const lines = out.split("\n").filter((l) => l.startsWith("CALLS "));
const last = JSON.parse(lines.at(-1).slice(6));
const body = new Map([...original.matchAll(/(__wbg\w*_[0-9a-f]{16}|__wbindgen_\w+):function\([^)]*\)\{([^}]*)\}/g)].map((m) => [m[1], m[2]]));
const rows = Object.entries(last).sort((a, b) => b[1] - a[1]);
const isString = (k) => k.startsWith("<");
const calls = rows.filter(([k]) => !isString(k)).reduce((a, [, v]) => a + v, 0) / N;
console.log(`${variant}: ${calls.toFixed(1)} calls into JS per request (the last ${N} of ${3 * N}); ` +
  rows.filter(([k]) => isString(k)).map(([k, v]) => `${k.slice(1, -1)} ${(v / N).toFixed(1)}`).join(", "));
for (const [k, v] of rows) if (!isString(k)) console.log(`${(v / N).toFixed(2).padStart(6)}  ${k}  ${(body.get(k) || "").slice(0, 90)}`);

// Shared setup for the end-to-end tests: the real release worker
// (build/index.js + wasm) in workerd through Miniflare, with real local KV,
// R2 and Cache, and the native `linkgate` CLI to mint links.

import { Miniflare } from "miniflare";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI = process.env.LINKGATE_CLI ?? join(ROOT, "target", "release", "linkgate");
export const HOST = "files.example.test";
export const BASE = `https://${HOST}`;

export function newKeyEntry(kid) {
  return `${kid}:${randomBytes(32).toString("base64url")}`;
}

/** Mint a link with the native CLI; returns {url, token, jti, expires_at}. */
export function sign(keys, args) {
  const base = args.includes("--base") ? [] : ["--base", BASE];
  const out = execFileSync(CLI, ["sign", "--json", ...base, ...args], {
    env: { ...process.env, LINKGATE_KEYS: keys },
    encoding: "utf8",
  });
  return JSON.parse(out);
}

/** Path + query of a minted URL, re-rooted on another path if asked. */
export function linkFor(minted, path) {
  const u = new URL(minted.url);
  // A sealed link is path-less (`/_lg/<token>`, docs/link-format.md §17.7);
  // re-rooted on a path it takes the query form there.
  if (path === undefined && u.pathname.startsWith("/_lg/")) return `${BASE}${u.pathname}`;
  return `${BASE}${path ?? u.pathname}?lg=${minted.token}`;
}

// One headless Chromium for the browser suites (refusal pages, console, media
// player): the same flags everywhere, so a flag fixed for one is fixed for all.
// playwright-core is imported here only when a suite asks for a browser.
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export async function launchChromium(extraArgs = []) {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (scripts/test.sh installs it)`);
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync", ...extraArgs],
  });
}

export const now = () => Math.floor(Date.now() / 1000);

/** Poll `check` until it returns something truthy (audit rows arrive through the queue). */
export async function waitFor(check, what, ms = 15_000) {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Start the worker. `vars` override wrangler.toml defaults; `omit` drops
 * bindings (to simulate an unreachable store); `cf` sets request.cf for
 * requests that bring none (dispatchFetch can pass its own `cf`).
 */
export async function startWorker(options = {}) {
  try {
    return await bootWorker(options);
  } catch (e) {
    // Miniflare's synchronous binding proxy (getKVNamespace, getR2Bucket…)
    // can miss a reply from its helper thread ("false == true" at
    // SynchronousFetcher.fetch); the instance's proxy is then out of step for
    // good. Only that failure starts one fresh instance, and says so.
    if (!(e?.code === "ERR_ASSERTION" && String(e?.stack).includes("SynchronousFetcher"))) throw e;
    console.error(`startWorker: Miniflare's binding proxy missed a reply (${e.message}); starting a fresh instance`);
    return bootWorker(options);
  }
}

async function bootWorker({ keys, vars = {}, omit = [], logs = null, http = false, cf = undefined } = {}) {
  const persist = mkdtempSync(join(tmpdir(), "linkgate-e2e-"));
  const opts = {
    scriptPath: join(ROOT, "build", "index.js"),
    modules: true,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2025-11-01",
    kvNamespaces: omit.includes("LINKGATE_DENYLIST") ? [] : ["LINKGATE_DENYLIST"],
    r2Buckets: ["LINKGATE_FILES"],
    cache: true,
    d1Databases: ["LINKGATE_AUDIT"],
    durableObjects: {
      ...(omit.includes("LINKGATE_USAGE") ? {} : { LINKGATE_USAGE: "UsageCounter" }),
      ...(omit.includes("LINKGATE_REVOCATIONS") ? {} : { LINKGATE_REVOCATIONS: "RevocationRegistry" }),
    },
    durableObjectsPersist: join(persist, "do"),
    d1Persist: join(persist, "d1"),
    queueProducers: { LINKGATE_EVENTS: { queueName: "linkgate-events" } },
    queueConsumers: { "linkgate-events": { maxBatchSize: 100, maxBatchTimeout: 1, maxRetries: 3, deadLetterQueue: "linkgate-events-dlq" } },
    cachePersist: join(persist, "cache"),
    kvPersist: join(persist, "kv"),
    r2Persist: join(persist, "r2"),
    bindings: { LINKGATE_KEYS: keys, LINKGATE_AUDIT_AGGREGATE_SECS: "1", ...vars },
  };
  if (logs) {
    opts.handleRuntimeStdio = (stdout, stderr) => {
      stdout.on("data", (d) => logs.push(d.toString()));
      stderr.on("data", (d) => logs.push(d.toString()));
    };
  }
  if (cf) {
    // The request.cf of every request that does not bring its own (a real
    // HTTP client's, e.g. Chromium's): e.g. { country: "US" }.
    opts.cf = cf;
  }
  if (http) {
    // A real HTTP listener on loopback, for clients other than dispatchFetch.
    opts.host = "127.0.0.1";
    opts.port = 0;
  }
  const mf = new Miniflare(opts);
  try {
    return await bindings(mf, omit, persist);
  } catch (e) {
    await mf.dispose().catch(() => {});
    rmSync(persist, { recursive: true, force: true });
    throw e;
  }
}

/** The started instance's bindings, migrations applied, as tests use them. */
async function bindings(mf, omit, persist) {
  const ready = await mf.ready;
  const db = await mf.getD1Database("LINKGATE_AUDIT");
  // Every migration, in order, as `wrangler d1 migrations apply` would.
  for (const file of readdirSync(join(ROOT, "migrations")).filter((f) => f.endsWith(".sql")).sort()) {
    const schema = readFileSync(join(ROOT, "migrations", file), "utf8")
      .split("\n")
      .filter((l) => !l.trim().startsWith("--"))
      .join("\n");
    for (const stmt of schema.split(";").map((s) => s.trim()).filter(Boolean)) {
      await db.prepare(stmt).run();
    }
  }
  const kv = omit.includes("LINKGATE_DENYLIST") ? null : await mf.getKVNamespace("LINKGATE_DENYLIST");
  const bucket = await mf.getR2Bucket("LINKGATE_FILES");
  // Miniflare's proxy only accepts byte views that cover their whole buffer;
  // Node's pooled Buffers do not, so copy them into a fresh Uint8Array.
  const r2 = new Proxy(bucket, {
    get(target, prop) {
      if (prop === "put") {
        return (key, value, opts) => target.put(key, value instanceof Uint8Array ? new Uint8Array(value) : value, opts);
      }
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return {
    mf,
    url: String(ready).replace(/\/$/, ""),
    db,
    kv,
    r2,
    persist,
    fetch: (url, init = {}) => mf.dispatchFetch(url, { redirect: "manual", ...init }),
    async stop() {
      await mf.dispose();
      rmSync(persist, { recursive: true, force: true });
    },
  };
}

/** Read a problem response and check the contract's invariants on it. */
export async function problem(res, assert, status, code, token) {
  const text = await res.text();
  assert.equal(res.status, status, `status for ${code}: ${text}`);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  assert.equal(res.headers.get("cache-control"), "no-store");
  const body = JSON.parse(text);
  assert.equal(body.code, code);
  assert.equal(body.status, status);
  assert.ok(body.detail && body.detail.length > 0, "problem has a detail");
  if (token) assert.ok(!text.includes(token), "problem body never echoes the token");
  return body;
}

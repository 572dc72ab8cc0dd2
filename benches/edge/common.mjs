// What the edge benches share: wrangler.toml's [vars] (the configuration
// users deploy) and the bindings every bench worker gets under the names
// wrangler.toml gives them. Each bench adds its own runtime options.

import { readFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** wrangler.toml's [vars]. */
export function wranglerVars() {
  const vars = {};
  let inVars = false;
  for (const line of readFileSync(join(ROOT, "wrangler.toml"), "utf8").split("\n")) {
    const section = /^\s*\[+([^\]]+)\]+/.exec(line);
    if (section) inVars = section[1].trim() === "vars";
    const kv = inVars && /^\s*([A-Z0-9_]+)\s*=\s*"(.*)"\s*$/.exec(line);
    if (kv) vars[kv[1]] = kv[2];
  }
  return vars;
}

/**
 * Every statement of migrations/*.sql, in order, comments dropped: the
 * worker's audit insert names the columns of every migration, so a bench's
 * D1 must have them all.
 */
export async function applyMigrations(db) {
  for (const file of readdirSync(join(ROOT, "migrations")).filter((f) => f.endsWith(".sql")).sort()) {
    const sql = readFileSync(join(ROOT, "migrations", file), "utf8").split("\n").filter((l) => !l.trim().startsWith("--")).join("\n");
    for (const s of sql.split(";").map((x) => x.trim()).filter(Boolean)) await db.prepare(s).run();
  }
}

/** Miniflare options for linkgate's bindings (R2, KV, D1, the audit queue). */
export const BINDINGS = {
  modules: true,
  compatibilityDate: "2025-11-01",
  r2Buckets: ["LINKGATE_FILES"],
  kvNamespaces: ["LINKGATE_DENYLIST"],
  d1Databases: ["LINKGATE_AUDIT"],
  queueProducers: { LINKGATE_EVENTS: { queueName: "linkgate-events" } },
  queueConsumers: { "linkgate-events": { maxBatchSize: 100, maxBatchTimeout: 1 } },
};

/**
 * Connect to the worker's isolate over the inspector on `port` (the target
 * named after the user worker); `call(method, params)` resolves with the
 * method's result.
 */
export async function attachInspector(port) {
  const { default: WebSocket } = await import("ws");
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
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
  const call = (method, params = {}) =>
    new Promise((r) => {
      const i = ++id;
      pending.set(i, r);
      ws.send(JSON.stringify({ id: i, method, params }));
    });
  return { ws, call };
}

// What the edge benches share: wrangler.toml's [vars] (the configuration
// users deploy) and the bindings every bench worker gets under the names
// wrangler.toml gives them. Each bench adds its own runtime options.

import { readFileSync } from "node:fs";
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

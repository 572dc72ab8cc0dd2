// Segment variant (issue 16), for scripts/bench.sh: the rate at which a
// 512 KiB media segment is served to a player holding a media-session cookie,
// next to the no-auth baseline (benches/baseline/worker.mjs) serving the same
// object.
//
//   node benches/edge/segment.mjs [secs per run, default 6] [rounds, default 3]
//
// Both run in workerd through Miniflare on 127.0.0.1 with the same R2 object;
// linkgate has wrangler.toml's [vars] (edge cache on, audit on) plus a policy
// with `media: "cookie"`. The session is opened once with a prefix link to a
// manifest, then `wrk -t2 -c8` requests `/tv/launch/seg-000.ts` with
// `Cookie: lgm=…` (every request verified: tag, time, scope, denylist,
// policy). Runs are interleaved per round; the table holds the median rate of
// each and the ratio (target ≥ 0.95). Written into docs/performance.md
// between <!-- segment-bench:start --> and <!-- segment-bench:end -->.

import { Miniflare } from "miniflare";
import { BINDINGS, applyMigrations, wranglerVars } from "./common.mjs";
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SECS = Number(process.argv[2] || process.env.BENCH_SEGMENT_SECS || 6);
const ROUNDS = Number(process.argv[3] || process.env.BENCH_SEGMENT_ROUNDS || 3);
const CONNS = Number(process.env.BENCH_CONNS || 8);
const keys = `bench:${randomBytes(32).toString("base64url")}`;
const SEGMENT = new Uint8Array(512 * 1024).map((_, i) => (i * 31) % 251);

const persist = mkdtempSync(join(tmpdir(), "linkgate-bench-segment-"));
const common = {
  ...BINDINGS,
  host: "127.0.0.1",
  port: 0,
  handleRuntimeStdio(out, err) {
    out.resume();
    err.resume();
  },
};

async function start(name, opts) {
  const mf = new Miniflare({ ...common, ...opts, d1Persist: join(persist, name, "d1"), r2Persist: join(persist, name, "r2") });
  const url = String(await mf.ready).replace(/\/$/, "");
  const db = await mf.getD1Database("LINKGATE_AUDIT");
  await applyMigrations(db);
  const r2 = await mf.getR2Bucket("LINKGATE_FILES");
  await r2.put("tv/launch/seg-000.ts", SEGMENT, { httpMetadata: { contentType: "video/mp2t" } });
  await r2.put("tv/launch/index.m3u8", new TextEncoder().encode("#EXTM3U\n#EXTINF:2,\nseg-000.ts\n#EXT-X-ENDLIST\n"));
  return { mf, url };
}

const linkgateWith = (name, extra) =>
  start(name, {
    scriptPath: join(ROOT, "build", "index.js"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    durableObjects: { LINKGATE_USAGE: "UsageCounter", LINKGATE_REVOCATIONS: "RevocationRegistry" },
    cache: true,
    bindings: {
      ...wranglerVars(),
      LINKGATE_KEYS: keys,
      LINKGATE_POLICY: JSON.stringify({ classifications: { internal: { media: "cookie" } } }),
      ...extra,
    },
  });
// The deployed configuration (edge cache on), and every segment read from R2.
const linkgate = await linkgateWith("linkgate", {});
const linkgateOff = await linkgateWith("linkgate-off", { LINKGATE_EDGE_CACHE: "off" });
const baseline = await start("baseline", { scriptPath: join(ROOT, "benches", "baseline", "worker.mjs"), bindings: { STEPS: "" } });

const cli = join(ROOT, "target", "release", "linkgate");
const minted = JSON.parse(
  execFileSync(cli, ["sign", "--json", "--base", linkgate.url, "--path", "/tv/launch/", "--prefix", "--ttl", "2h"], {
    env: { ...process.env, LINKGATE_KEYS: keys },
    encoding: "utf8",
  }),
);
const opened = await fetch(`${linkgate.url}/tv/launch/index.m3u8?lg=${minted.token}`);
await opened.arrayBuffer();
const cookie = (opened.headers.get("set-cookie") ?? "").split(";")[0];
if (!cookie.startsWith("lgm=")) throw new Error(`no session cookie: ${opened.status}`);
// Both must serve the exact segment before anything is timed.
// The same keys sign for both linkgate workers: one session opens both.
const targets = [
  [`${linkgate.url}/tv/launch/seg-000.ts`, { cookie }],
  [`${linkgateOff.url}/tv/launch/seg-000.ts`, { cookie }],
  [`${baseline.url}/tv/launch/seg-000.ts`, {}],
];
for (const [url, headers] of targets) {
  const res = await fetch(url, { headers });
  const body = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200 || body.length !== SEGMENT.length || body.some((b, i) => b !== SEGMENT[i])) throw new Error(`${url}: ${res.status}`);
}

// Asynchronous: this process drains the workers' log pipes (audit lines); a
// blocked event loop would let a full pipe stall workerd.
async function wrk(url, header) {
  const args = ["-t2", `-c${CONNS}`, `-d${SECS}s`, ...(header ? ["-H", header] : []), url];
  const { stdout: out } = await promisify(execFile)("wrk", args, { encoding: "utf8", timeout: (SECS + 60) * 1000 });
  const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  if (process.env.BENCH_DEBUG) console.error(out);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  if (non2xx > 0) throw new Error(`${url}: ${non2xx} non-2xx responses`);
  return rate;
}

const runs = { segment: [], segmentOff: [], baseline: [] };
const once = async () => [
  await wrk(targets[0][0], `Cookie: ${cookie}`),
  await wrk(targets[1][0], `Cookie: ${cookie}`),
  await wrk(targets[2][0]),
];
await once(); // warm-up: isolate start, edge cache fill
for (let r = 0; r < ROUNDS; r++) {
  const [a, b, c] = await once();
  runs.segment.push(a);
  runs.segmentOff.push(b);
  runs.baseline.push(c);
}
for (const w of [linkgate, linkgateOff, baseline]) await w.mf.dispose();
rmSync(persist, { recursive: true, force: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seg = median(runs.segment);
const segOff = median(runs.segmentOff);
const base = median(runs.baseline);
const ratio = seg / base;
const table = [
  `Segment variant (issue 16): one 512 KiB segment, \`wrk -t2 -c${CONNS} -d${SECS}s\`, ${ROUNDS} interleaved round(s), medians, Miniflare, ${new Date().toISOString().slice(0, 10)}.`,
  "",
  "| variant | requests/s | runs |",
  "|---|---:|---|",
  `| baseline: no authorization (benches/baseline) | ${base.toFixed(0)} | ${runs.baseline.map((x) => x.toFixed(0)).join(", ")} |`,
  `| linkgate: media-session cookie (wrangler.toml vars, edge cache on, audit on) | ${seg.toFixed(0)} | ${runs.segment.map((x) => x.toFixed(0)).join(", ")} |`,
  `| **ratio** (target ≥ 0.95) | **${ratio.toFixed(3)}** | |`,
  `| linkgate: media-session cookie, edge cache off (every segment from R2, as the baseline) | ${segOff.toFixed(0)} | ${runs.segmentOff.map((x) => x.toFixed(0)).join(", ")} |`,
  `| ratio, edge cache off | ${(segOff / base).toFixed(3)} | |`,
].join("\n");
console.log(table);
const doc = join(ROOT, "docs", "performance.md");
const text = readFileSync(doc, "utf8");
const start_ = "<!-- segment-bench:start -->";
const end = "<!-- segment-bench:end -->";
const block = `${start_}\n${table}\n${end}`;
writeFileSync(
  doc,
  text.includes(start_) ? text.replace(new RegExp(`${start_}[\\s\\S]*?${end}`), block) : `${text.trimEnd()}\n\n## Media segments (issue 16)\n\n${block}\n`,
);

// Cross-signing with the native CLI (target/release/linkgate): 2,000 random
// links signed by the package verify with `linkgate inspect -` (one process
// for all of them), and links signed by `linkgate sign` (one process each:
// the CLI signs one link per call; LINKGATE_CROSS_CLI_SIGNS, default 2000)
// verify with the package. The claims each side reads must be the ones asked
// for. LINKGATE_CROSS_SEED repeats a run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { keygen, sign, inspect } from "../lib/node.mjs";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CLI = process.env.LINKGATE_CLI ?? join(ROOT, "target", "release", "linkgate");
const N = 2000;
const CLI_SIGNS = Number(process.env.LINKGATE_CROSS_CLI_SIGNS ?? 2000);
const SEED = Number(process.env.LINKGATE_CROSS_SEED ?? Date.now() % 1e9);
const run = promisify(execFile);

// xorshift32: reproducible from the printed seed.
function rng(seed) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
  const int = (n) => Math.floor(next() * n);
  const pick = (a) => a[int(a.length)];
  return { next, int, pick, maybe: (p) => next() < p };
}

const SEGMENTS = ["reports", "2026", "Q1 board pack.pdf", "naïve", "東京", "a+b", "x%y", "~me", "data.csv", "ü", "v1.2", "hls"];
const HOSTS = ["files.example.com", "cdn.example.org", "Files.Example.NET"];

/** Random link options, as package options and as CLI arguments. */
function randomLink(r) {
  const segs = Array.from({ length: 1 + r.int(4) }, () => r.pick(SEGMENTS));
  const o = { path: "/" + segs.join("/"), ttl: 60 + r.int(7 * 86400 - 60) };
  if (r.maybe(0.2)) o.prefix = true;
  if (r.maybe(0.3)) o.sub = `u-${r.int(1e6)}`;
  if (r.maybe(0.3)) o.tenant = `t_${r.int(100)}`;
  if (r.maybe(0.3)) o.host = r.pick(HOSTS);
  if (r.maybe(0.3)) {
    o.ip = r.maybe(0.5) ? [`10.${r.int(256)}.0.0/16`] : [`2001:db8:${(0x1000 + r.int(0xefff)).toString(16)}::/48`, "192.0.2.1/32"];
  }
  if (r.maybe(0.3)) o.uses = 1 + r.int(10);
  if (r.maybe(0.3)) o.mode = r.pick(["stream", "redirect"]);
  if (r.maybe(0.3)) o.filename = r.pick(["Bericht – Q3.pdf", "a b.csv", "東京.txt"]);
  if (r.maybe(0.3)) o.contentType = r.pick(["application/pdf", "text/csv; charset=utf-8"]);
  const args = ["--path", o.path, "--ttl", `${o.ttl}s`];
  if (o.prefix) args.push("--prefix");
  for (const [k, flag] of [["sub", "--sub"], ["tenant", "--tenant"], ["host", "--host"], ["mode", "--mode"],
    ["filename", "--filename"], ["contentType", "--content-type"]]) {
    if (o[k] !== undefined) args.push(flag, o[k]);
  }
  if (o.uses !== undefined) args.push("--uses", String(o.uses));
  for (const c of o.ip ?? []) args.push("--ip", c);
  return { o, args };
}

/** What the claims must say for these options (contract names). */
function expectClaims(o, c) {
  assert.equal(c.scope, o.prefix ? `${o.path}/` : o.path);
  assert.equal(c.exp - c.iat, o.ttl);
  for (const k of ["sub", "tenant", "uses", "mode", "filename"]) assert.equal(c[k], o[k], k);
  assert.equal(c.host, o.host?.toLowerCase());
  assert.equal(c.content_type ?? c.contentType, o.contentType);
  assert.deepEqual(c.ip, o.ip);
}

const keysEntry = keygen("cross");
const ring = `${keysEntry},${keygen("older")}`;
let dir;

test.before(() => {
  assert.ok(existsSync(CLI), `the CLI is built: ${CLI} (cargo build --release --bin linkgate)`);
  dir = mkdtempSync(join(tmpdir(), "linkgate-js-cross-"));
  writeFileSync(join(dir, "keys"), ring);
  console.log(`# cross-signing seed ${SEED}`);
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

test(`${N} links signed by the package verify with the CLI`, () => {
  const r = rng(SEED);
  const links = [];
  for (let i = 0; i < N; i++) {
    const { o } = randomLink(r);
    const s = sign(o, ring, { base: o.host ? undefined : "https://files.example.com" });
    links.push({ o, s });
  }
  const out = spawnSync(CLI, ["inspect", "-", "--keys", join(dir, "keys")], {
    input: links.map((l) => l.s.url).join("\n") + "\n",
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  const lines = out.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, N, out.stderr);
  lines.forEach((v, i) => {
    const { o, s } = links[i];
    assert.equal(v.verdict, "valid", `${s.url}: ${v.code} ${v.reason}`);
    assert.equal(v.claims.jti, s.jti);
    assert.equal(v.claims.kid, "cross");
    expectClaims(o, v.claims);
  });
  assert.equal(out.status, 0);
  // The CLI refuses what the package signed with a key it does not hold.
  const forged = sign({ path: "/a.pdf", ttl: 60 }, keygen("cross"));
  const bad = spawnSync(CLI, ["inspect", "-", "--keys", join(dir, "keys")], { input: forged.url, encoding: "utf8" });
  assert.equal(JSON.parse(bad.stdout).code, "signature_invalid");
});

test(`${CLI_SIGNS} links signed by the CLI verify with the package`, async () => {
  const r = rng(SEED ^ 0x5bd1e995);
  const jobs = Array.from({ length: CLI_SIGNS }, () => randomLink(r));
  const results = new Array(jobs.length);
  let next = 0;
  // A few processes at a time: the machine has 2 cores.
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      const base = jobs[i].o.host ? [] : ["--base", "https://files.example.com"];
      const { stdout } = await run(CLI, ["sign", "--json", "--keys", join(dir, "keys"), ...base, ...jobs[i].args]);
      results[i] = JSON.parse(stdout);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  jobs.forEach(({ o }, i) => {
    const s = results[i];
    const v = inspect(s.url, ring);
    assert.equal(v.verdict, "valid", `${s.url}: ${v.code} ${v.reason}`);
    assert.equal(v.claims.jti, s.jti);
    expectClaims(o, v.claims);
    assert.equal(inspect(s.url, keygen("cross")).code, "signature_invalid");
  });
});

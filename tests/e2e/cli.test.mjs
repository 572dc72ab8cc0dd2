// The CLI's online commands against the real worker over loopback HTTP:
// upload → mint → download → revoke → refused → revocations → lift → events,
// with exit statuses 0 / 1 / 2 and --json output.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker, newKeyEntry, CLI } from "./harness.mjs";

const KEYS = newKeyEntry("cli");
const ADMIN = "cli-admin-token-42-0123456789abcdefgh";
let w;
let dir;

function lg(args, { token = ADMIN, admin } = {}) {
  const env = { ...process.env, LINKGATE_ADMIN_URL: admin ?? w.url };
  delete env.LINKGATE_ADMIN_TOKEN;
  if (token) env.LINKGATE_ADMIN_TOKEN = token;
  const r = spawnSync(CLI, args, { env, encoding: "utf8" });
  return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

before(async () => {
  w = await startWorker({ keys: KEYS, http: true, vars: { LINKGATE_ADMIN_TOKEN: ADMIN } });
  dir = mkdtempSync(join(tmpdir(), "linkgate-cli-"));
});

after(async () => {
  await w?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("the README walk-through: upload, mint, revoke, lift, events", async () => {
  const file = join(dir, "q3.txt");
  const content = "Q3 board pack\n".repeat(50_000); // 700 kB, streamed
  writeFileSync(file, content);

  let r = lg(["upload", file, "--path", "/board/q3.txt", "--classification", "restricted"]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /uploaded \/board\/q3\.txt \(700000 bytes/);

  r = lg(["mint", "--path", "/board/q3.txt", "--ttl", "15m"]);
  assert.equal(r.code, 1, "restricted without --sub is refused");
  assert.match(r.err, /policy_denied \(403\).*restricted\.require_sub/);

  r = lg(["mint", "--path", "/board/q3.txt", "--ttl", "15m", "--sub", "r-1042"]);
  assert.equal(r.code, 1, "restricted takes sealed links only");
  assert.match(r.err, /policy_denied \(403\).*restricted\.require_sealed/);

  r = lg(["mint", "--path", "/board/q3.txt", "--ttl", "15m", "--sub", "r-1042", "--sealed"]);
  assert.equal(r.code, 0, r.err);
  const url = r.out;
  assert.ok(url.startsWith(`${w.url}/_lg/`) && !url.includes("board"), url); // sealed: path-less
  let res = await fetch(url);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), content);

  r = lg(["revoke", "--sub", "r-1042", "--reason", "laptop lost", "--json"]);
  assert.equal(r.code, 0, r.err);
  const entry = JSON.parse(r.out);
  assert.equal(entry.scope, "sub");
  assert.equal(entry.reason, "laptop lost");
  res = await fetch(url);
  assert.equal(res.status, 410);
  assert.equal((await res.json()).code, "revoked");

  r = lg(["revocations"]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /sub\s+r-1042/);
  r = lg(["revocations", "--scope", "sub", "--json"]);
  assert.equal(JSON.parse(r.out).entries.length, 1);

  r = lg(["lift", "--scope", "sub", "--value", "r-1042"]);
  assert.equal(r.code, 0, r.err);
  res = await fetch(url);
  assert.equal(res.status, 200);
  await res.arrayBuffer();

  // Events arrive through the queue; poll briefly.
  let lines = [];
  for (let i = 0; i < 50 && lines.length < 3; i++) {
    r = lg(["events", "--sub", "r-1042", "--json"]);
    assert.equal(r.code, 0, r.err);
    lines = r.out ? r.out.split("\n").map((l) => JSON.parse(l)) : [];
    if (lines.length < 3) await new Promise((ok) => setTimeout(ok, 100));
  }
  assert.ok(lines.length >= 3, `events: ${lines.length}`);
  assert.ok(lines.some((e) => e.outcome === "refused" && e.code === "revoked"));
  assert.ok(lines.some((e) => e.outcome === "allowed" && e.rule === "classification:restricted"));
  r = lg(["events", "--sub", "r-1042", "--outcome", "refused"]);
  assert.match(r.out, /refused\s+410\s+revoked/);
});

test("exit statuses: 2 before sending, 1 for refusals and unreachable servers", () => {
  for (const args of [
    ["revoke", "--sub", "x"],
    ["revoke", "--sub", "x", "--jti", "y", "--reason", "r"],
    ["revoke", "--jti", "nothex", "--reason", "r"],
    ["mint", "--path", "/a"],
    ["mint", "--path", "/a", "--ttl", "soon"],
    ["events", "--outcome", "maybe"],
    ["upload", "/nonexistent/file", "--path", "/a"],
    ["upload", join(dir, "q3.txt"), "--path", "/a/../b"],
    ["upload", join(dir, "q3.txt"), "--path", "/a", "--classification", "secret"],
  ]) {
    const r = lg(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
  }
  assert.equal(lg(["revocations"], { token: null }).code, 2, "no token configured");
  const bad = lg(["revocations"], { token: "wrong" });
  assert.equal(bad.code, 1);
  assert.match(bad.err, /unauthorized \(401\)/);
  const down = lg(["revocations"], { admin: "http://127.0.0.1:9" });
  assert.equal(down.code, 1);
  assert.match(down.err, /cannot reach the admin API/);
  // Claims are validated locally with the worker's own parser (exit 2);
  // the maximum lifetime is the server's to judge (exit 1, field named).
  assert.equal(lg(["mint", "--path", "/a", "--ttl", "1h", "--sub", "a b"]).code, 2);
  const invalid = lg(["mint", "--path", "/a", "--ttl", "8d"]);
  assert.equal(invalid.code, 1, invalid.err);
  assert.match(invalid.err, /invalid_request \(400\).*field: exp/);
});

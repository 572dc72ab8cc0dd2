// End-to-end: a private origin behind the worker (issue 13, item 4), the real
// release worker in workerd against real origin servers on loopback.
//
// tests/e2e/s3server.py serves the same files two ways:
// - S3 mode: every request must carry a valid SigV4 Authorization header
//   (verified there, standard library only, from AWS's documentation; a
//   tampered signature or a wrong secret key is refused with 403);
// - plain mode (--secret-header/--secret-value): every request must carry the
//   shared secret header (403 otherwise).
// Both log every request they receive (method, path and query, headers):
// the tests search those logs for the link's token, `lg=`, `lgs`, the
// client's cookie, query and headers, and find none.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { createServer } from "node:net";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { startWorker, sign, newKeyEntry, problem, HOST, BASE, ROOT } from "./harness.mjs";

const KEYS = newKeyEntry("og");
const KEY_ID = "AKIDLINKGATEORIGIN";
const SECRET = "origin/Secret+Key=0123456789abcdefABCDEF";
const REGION = "us-east-1";
const BUCKET = "files";
const SECRET_HEADER = "x-origin-secret";
const SECRET_VALUE = "plain-origin-shared-secret-0123456789";
const BIG = 24 * 1024 * 1024;

const bytes = (n, seed) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) % 251;
  return b;
};
const OBJECTS = {
  "big/object 24MiB.bin": bytes(BIG, 7),
  "docs/report Q3 ü.pdf": bytes(3000, 1),
};
// What the client sends besides the link: none of it may reach the origin.
const CLIENT = {
  cookie: "session=client-cookie-value-42; CF_Authorization=client-assertion-cookie-47",
  "x-client-header": "client-header-value-43",
  authorization: "Bearer client-authorization-44",
  // An identity assertion (docs/identity.md) is the client's too.
  "cf-access-jwt-assertion": "client-assertion-header-46",
};
const CLIENT_QUERY = "utm_source=client-query-value-45";

let dir;
let s3; // S3-mode server {proc, port, log}
let plain; // plain-mode server
let ws3; // worker → S3 origin
let wplain; // worker → plain origin
const tokens = [];

function startPython(args) {
  return new Promise((resolve, reject) => {
    const proc = spawn("python3", args, { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    proc.stderr.on("data", (d) => (err += d));
    proc.on("exit", (code) => reject(new Error(`${args[0]} exited ${code}: ${err}`)));
    createInterface({ input: proc.stdout }).once("line", (line) => resolve({ proc, port: JSON.parse(line).port }));
  });
}

async function startServer(name, extra = []) {
  const log = join(dir, `${name}.jsonl`);
  writeFileSync(log, "");
  const server = join(ROOT, "tests", "e2e", "s3server.py");
  const root = join(dir, "root");
  const started = await startPython([server, "--root", root, "--log", log, "--key-id", KEY_ID, "--secret", SECRET, "--region", REGION, ...extra]);
  return { ...started, log, url: `http://127.0.0.1:${started.port}` };
}

const s3Vars = (endpoint, extra = {}) => ({
  LINKGATE_EDGE_CACHE: "off",
  LINKGATE_ORIGIN: "s3",
  LINKGATE_S3_ACCESS_KEY_ID: KEY_ID,
  LINKGATE_S3_SECRET_ACCESS_KEY: SECRET,
  LINKGATE_S3_BUCKET: BUCKET,
  LINKGATE_S3_ENDPOINT: endpoint,
  LINKGATE_S3_REGION: REGION,
  ...extra,
});
const plainVars = (url, extra = {}) => ({
  LINKGATE_EDGE_CACHE: "off",
  LINKGATE_ORIGIN: `${url}/${BUCKET}`,
  LINKGATE_ORIGIN_SECRET_HEADER: SECRET_HEADER,
  LINKGATE_ORIGIN_SECRET: SECRET_VALUE,
  ...extra,
});

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "linkgate-origin-"));
  for (const [key, body] of Object.entries(OBJECTS)) {
    const file = join(dir, "root", BUCKET, key);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, body);
  }
  writeFileSync(
    join(dir, "root", BUCKET, "docs", "report Q3 ü.pdf.headers.json"),
    JSON.stringify({ "x-amz-meta-classification": "public", "x-linkgate-classification": "public" }),
  );
  s3 = await startServer("s3");
  plain = await startServer("plain", ["--secret-header", SECRET_HEADER, "--secret-value", SECRET_VALUE]);
  ws3 = await startWorker({ keys: KEYS, vars: s3Vars(s3.url) });
  wplain = await startWorker({ keys: KEYS, vars: plainVars(plain.url) });
});

after(async () => {
  await ws3?.stop();
  await wplain?.stop();
  s3?.proc.kill();
  plain?.proc.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const enc = (key) => "/" + key.split("/").map(encodeURIComponent).join("/");

function link(key, extra = []) {
  const minted = sign(KEYS, ["--host", HOST, "--path", `/${key}`, "--ttl", "1h", ...extra]);
  tokens.push(minted.token);
  return `${BASE}${enc(key)}?${CLIENT_QUERY}&lg=${minted.token}`;
}

const logOf = (server) =>
  readFileSync(server.log, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));

async function rows(w, sql, ...args) {
  return (await w.db.prepare(sql).bind(...args).all()).results;
}

async function reasonOf(w, status) {
  const until = Date.now() + 15_000;
  for (;;) {
    const r = await rows(w, "SELECT reason FROM events WHERE status = ?1 ORDER BY time DESC", status);
    if (r.length) return r.map((x) => x.reason);
    if (Date.now() > until) assert.fail("no audit event");
    await new Promise((res) => setTimeout(res, 200));
  }
}

for (const [mode, getWorker, getServer] of [
  ["S3-signed (SigV4 Authorization headers)", () => ws3, () => s3],
  ["plain HTTP with a shared secret header", () => wplain, () => plain],
]) {
  describe(`origin: ${mode}`, () => {
    test("a 24 MiB object streams through the worker: Range (206, exact bytes), whole, HEAD, 304", async () => {
      const w = getWorker();
      const key = "big/object 24MiB.bin";
      const url = link(key);
      const want = OBJECTS[key];

      const part = await w.fetch(url, { headers: { ...CLIENT, range: "bytes=1000000-9388607" } });
      assert.equal(part.status, 206, await part.clone().text().then((t) => t.slice(0, 300)));
      assert.equal(part.headers.get("content-range"), `bytes 1000000-9388607/${BIG}`);
      assert.equal(part.headers.get("content-length"), "8388608");
      const got = Buffer.from(await part.arrayBuffer());
      assert.equal(Buffer.compare(got, want.subarray(1000000, 9388608)), 0, "exact bytes of the range");

      const tail = await w.fetch(url, { headers: { range: "bytes=-10" } });
      assert.equal(tail.status, 206);
      assert.equal(Buffer.compare(Buffer.from(await tail.arrayBuffer()), want.subarray(BIG - 10)), 0);

      const whole = await w.fetch(url, { headers: CLIENT });
      assert.equal(whole.status, 200);
      assert.equal(whole.headers.get("content-length"), String(BIG));
      assert.equal(whole.headers.get("accept-ranges"), "bytes");
      assert.match(whole.headers.get("content-disposition"), /^attachment; filename="object 24MiB.bin"/);
      const all = Buffer.from(await whole.arrayBuffer());
      assert.equal(all.length, BIG);
      assert.equal(Buffer.compare(all, want), 0, "the whole 24 MiB, exact");
      const etag = whole.headers.get("etag");
      assert.match(etag, /^"[0-9a-f]{32}"$/, "the origin's ETag");
      assert.ok(whole.headers.get("last-modified"));

      const head = await w.fetch(url, { method: "HEAD", headers: CLIENT });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-length"), String(BIG));
      assert.equal(head.headers.get("etag"), etag);
      assert.equal((await head.arrayBuffer()).byteLength, 0);

      const cond = await w.fetch(url, { headers: { ...CLIENT, "if-none-match": etag } });
      assert.equal(cond.status, 304);
      assert.equal((await cond.arrayBuffer()).byteLength, 0);
      const since = await w.fetch(url, { headers: { "if-modified-since": whole.headers.get("last-modified") } });
      assert.equal(since.status, 304);
      // If-Range with another version: the whole object, not the range.
      const ifRange = await w.fetch(url, { method: "HEAD", headers: { range: "bytes=0-9", "if-range": '"other"' } });
      assert.equal(ifRange.status, 200);

      const bad = await w.fetch(url, { headers: { range: `bytes=${BIG}-` } });
      await problem(bad, assert, 416, "range_not_satisfiable");
    });

    test("policy reads the origin's classification; a missing object is not_found", async () => {
      const w = getWorker();
      const res = await w.fetch(link("docs/report Q3 ü.pdf"));
      assert.equal(res.status, 200);
      assert.equal(Buffer.compare(Buffer.from(await res.arrayBuffer()), OBJECTS["docs/report Q3 ü.pdf"]), 0);
      const until = Date.now() + 15_000;
      let ev = [];
      while (!ev.some((e) => e.rule === "classification:public") && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 200));
        ev = await rows(w, "SELECT rule FROM events WHERE path = ?1", "/docs/report Q3 ü.pdf");
      }
      assert.ok(ev.some((e) => e.rule === "classification:public"), JSON.stringify(ev));
      const missing = await w.fetch(link("docs/nothing here.pdf"));
      await problem(missing, assert, 404, "not_found");
    });

    test("the origin's request log holds no token, no lg=/lgs, nothing of the client's request", async () => {
      const entries = logOf(getServer());
      assert.ok(entries.length >= 8, `origin saw ${entries.length} requests`);
      const text = readFileSync(getServer().log, "utf8");
      for (const t of tokens) assert.ok(!text.includes(t), "a token reached the origin");
      for (const needle of ["lg=", "lgs", "client-cookie-value-42", "client-header-value-43", "client-authorization-44", "client-query-value-45", "utm_source", "client-assertion-header-46", "client-assertion-cookie-47"]) {
        assert.ok(!text.includes(needle), `${needle} reached the origin`);
      }
      for (const e of entries) {
        assert.ok(!e.target.includes("?"), `no query at all: ${e.target}`);
        const names = Object.keys(e.headers).map((h) => h.toLowerCase());
        assert.ok(!names.includes("cookie") && !names.includes("x-client-header") && !names.includes("cf-access-jwt-assertion"), names.join(","));
      }
      // And it was asked with the origin's own credentials, Range forwarded.
      assert.ok(entries.some((e) => e.method === "HEAD"));
      assert.ok(entries.some((e) => e.method === "GET" && (e.headers.Range ?? e.headers.range) === "bytes=1000000-9388607"));
      if (getServer() === s3) {
        assert.ok(entries.every((e) => /^AWS4-HMAC-SHA256 Credential=AKIDLINKGATEORIGIN\//.test(e.headers.Authorization ?? e.headers.authorization)));
      } else {
        assert.ok(entries.every((e) => (e.headers[SECRET_HEADER] ?? e.headers["X-Origin-Secret"]) === SECRET_VALUE));
      }
    });
  });
}

describe("origin and the edge cache", () => {
  test("a cached copy is keyed by the origin's ETag: a hit asks the origin only HEAD, a changed file is never served stale", async () => {
    const key = "cache/c.bin";
    const file = join(dir, "root", BUCKET, key);
    mkdirSync(dirname(file), { recursive: true });
    const v1 = bytes(5000, 11);
    writeFileSync(file, v1);
    const w = await startWorker({ keys: KEYS, vars: s3Vars(s3.url, { LINKGATE_EDGE_CACHE: "on", LINKGATE_DEBUG_HEADERS: "on" }) });
    try {
      const url = link(key);
      const first = await w.fetch(url);
      assert.equal(first.headers.get("x-linkgate-cache"), "miss");
      assert.equal(Buffer.compare(Buffer.from(await first.arrayBuffer()), v1), 0);
      let second;
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 100));
        second = await w.fetch(url);
        if (second.headers.get("x-linkgate-cache") === "hit") break;
        await second.arrayBuffer();
      }
      assert.equal(second.headers.get("x-linkgate-cache"), "hit");
      const before = logOf(s3).filter((e) => e.target.endsWith("/cache/c.bin")).length;
      const third = await w.fetch(url);
      assert.equal(third.headers.get("x-linkgate-cache"), "hit");
      assert.equal(Buffer.compare(Buffer.from(await third.arrayBuffer()), v1), 0);
      const asked = logOf(s3).filter((e) => e.target.endsWith("/cache/c.bin")).slice(before);
      assert.deepEqual(asked.map((e) => e.method), ["HEAD"], "a hit: only the metadata HEAD reaches the origin");

      // The file changes at the origin: new ETag, new cache key, new bytes.
      const v2 = bytes(5000, 12);
      writeFileSync(file, v2);
      const after = await w.fetch(url);
      assert.equal(after.headers.get("x-linkgate-cache"), "miss");
      assert.equal(Buffer.compare(Buffer.from(await after.arrayBuffer()), v2), 0, "never the old copy");
    } finally {
      await w.stop();
    }
  });
});

describe("origin failures fail closed", () => {
  test("a wrong S3 secret key (signature refused by the origin) and a wrong shared secret: 503, no origin body", async () => {
    const before3 = logOf(s3).length;
    const w1 = await startWorker({ keys: KEYS, vars: s3Vars(s3.url, { LINKGATE_S3_SECRET_ACCESS_KEY: "not/the+right=secret0123456789" }) });
    const w2 = await startWorker({ keys: KEYS, vars: plainVars(plain.url, { LINKGATE_ORIGIN_SECRET: "not-the-right-shared-secret-000" }) });
    try {
      for (const w of [w1, w2]) {
        const res = await w.fetch(link("docs/report Q3 ü.pdf"));
        const body = await problem(res, assert, 503, "store_unavailable");
        const text = JSON.stringify(body);
        assert.ok(!/SignatureDoesNotMatch|AccessDenied|<Error>|origin secret/.test(text), text);
        assert.deepEqual(await reasonOf(w, 503), ["origin_refused"]);
      }
      const refused = logOf(s3).slice(before3);
      assert.ok(refused.length >= 1, "the S3 origin saw (and refused) the badly signed request");
    } finally {
      await w1.stop();
      await w2.stop();
    }
  });

  test("origin down: 503 origin_unreachable; origin that hangs: 503 origin_timeout within the bound", async () => {
    // A port with nothing listening.
    const closed = await new Promise((resolve) => {
      const srv = createServer();
      srv.listen(0, "127.0.0.1", () => {
        const { port } = srv.address();
        srv.close(() => resolve(port));
      });
    });
    // A server that accepts and never answers.
    const sockets = [];
    const hang = createServer((s) => sockets.push(s));
    await new Promise((r) => hang.listen(0, "127.0.0.1", r));
    const hangPort = hang.address().port;
    const down = await startWorker({ keys: KEYS, vars: plainVars(`http://127.0.0.1:${closed}`) });
    const slow = await startWorker({ keys: KEYS, vars: s3Vars(`http://127.0.0.1:${hangPort}`, { LINKGATE_ORIGIN_TIMEOUT_MS: "700" }) });
    try {
      const res = await down.fetch(link("docs/report Q3 ü.pdf"));
      await problem(res, assert, 503, "store_unavailable");
      assert.deepEqual(await reasonOf(down, 503), ["origin_unreachable"]);

      const t0 = Date.now();
      const res2 = await slow.fetch(link("docs/report Q3 ü.pdf"));
      const took = Date.now() - t0;
      await problem(res2, assert, 503, "store_unavailable");
      assert.ok(took >= 600 && took < 5000, `answered after ${took} ms (timeout 700 ms)`);
      assert.deepEqual(await reasonOf(slow, 503), ["origin_timeout"]);
      assert.ok(sockets.length >= 1, "the hanging origin was really asked");
    } finally {
      await down.stop();
      await slow.stop();
      for (const s of sockets) s.destroy();
      hang.close();
    }
  });
});

// End-to-end: the decision-order defects of the security review (F1–F13),
// each against the real worker in workerd with real KV, R2 and Durable
// Objects. The same cases run natively on the pipeline in crates/linkgate-core/src/gate/tests.rs.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { startWorker, sign, linkFor, newKeyEntry, problem, BASE, HOST, now } from "./harness.mjs";

const OLD = newKeyEntry("old");
const NEW = newKeyEntry("new");
// The edge signs with `new`; `old` still verifies.
const KEYS = `${NEW},${OLD}`;
const ADMIN = "gate-admin-token-0123456789abcdef-xyz";
const BODY = new Uint8Array(5000).map((_, i) => (i * 7) % 251);
const ME = { "cf-connecting-ip": "198.51.100.1", "user-agent": "dl/1" };
let w;

before(async () => {
  w = await startWorker({
    keys: KEYS,
    vars: { LINKGATE_ADMIN_TOKEN: ADMIN, LINKGATE_DOWNLOAD_GRACE_SECS: "60", LINKGATE_RESUME_GRACE_SECS: "30" },
  });
  await w.r2.put("pack/a.pdf", BODY);
  await w.r2.put("pack/b.pdf", BODY.slice(0, 3000));
  await w.r2.put("secret/board.pdf", BODY, { customMetadata: { classification: "restricted" } });
});

after(async () => {
  await w?.stop();
});

const usesOf = async (m) => {
  const body = JSON.stringify({ link: m.url });
  const r = await w.fetch(`${BASE}/_linkgate/inspect`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json", "content-length": String(body.length) },
    body,
  });
  return (await r.json()).uses_consumed;
};

const post = (m, path, headers = {}) =>
  w.fetch(`${BASE}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "content-length": String(3 + m.token.length), ...ME, ...headers },
    body: `lg=${m.token}`,
  });

const revoke = (scope, value) => {
  const body = JSON.stringify({ scope, value, reason: "test" });
  return w.fetch(`${BASE}/_linkgate/revocations`, {
    method: "POST",
    // Bytes, not UTF-16 units: values may be non-ASCII paths.
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) },
    body,
  });
};

describe("F1, F10: a killed key", () => {
  test("refuses links its thief signs after the kill, and the download sessions of its links", async () => {
    const before = sign(OLD, ["--host", HOST, "--path", "/pack/a.pdf", "--ttl", "1h", "--uses", "2"]);
    // A session for a link of the old key, minted before the kill.
    const s = await post(before, "/pack/a.pdf", { accept: "text/html" });
    assert.equal(s.status, 303);
    const session = s.headers.get("location");
    const ok = await w.fetch(`${BASE}${session}`, { headers: ME });
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    assert.equal((await revoke("kid", "old")).status, 201);
    // The thief signs with iat after the kill.
    const t = now() + 5;
    const thief = sign(OLD, ["--host", HOST, "--path", "/pack/a.pdf", "--issued-at", String(t), "--expires-at", String(t + 600)]);
    await problem(await w.fetch(linkFor(thief)), assert, 410, "revoked", thief.token);
    await problem(await w.fetch(`${BASE}${session}`, { headers: ME }), assert, 410, "revoked");
    // Links of the other key are untouched.
    const fine = sign(NEW, ["--host", HOST, "--path", "/pack/a.pdf", "--ttl", "1h"]);
    const r = await w.fetch(linkFor(fine));
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  });
});

describe("F2, F8: policy before any use, session or page", () => {
  test("a 7-day link without sub to a restricted object: no page, no session, no use", async () => {
    const m = sign(NEW, ["--host", HOST, "--path", "/secret/board.pdf", "--ttl", "7d", "--uses", "1"]);
    const page = await w.fetch(linkFor(m), { headers: { ...ME, accept: "text/html" } });
    const text = await page.text();
    assert.equal(page.status, 403, text);
    assert.ok(!text.includes("board.pdf") && !text.includes("5.0 KB"), "nothing about the refused object");
    // A browser's POST gets the refusal page (same status), never the object's name.
    const refused = await post(m, "/secret/board.pdf", { accept: "text/html" });
    const page403 = await refused.text();
    assert.equal(refused.status, 403);
    assert.match(refused.headers.get("content-type"), /^text\/html/);
    assert.ok(page403.includes("policy_denied") && !page403.includes("board.pdf") && !page403.includes(m.token));
    await problem(await post(m, "/secret/board.pdf"), assert, 403, "policy_denied", m.token);
    assert.equal(await usesOf(m), 0, "no use consumed");
  });
});

describe("F3, F9: continuations", () => {
  test("a prefix link's use continues only the object it started, and only from after byte 0", async () => {
    const m = sign(NEW, ["--host", HOST, "--path", "/pack/", "--prefix", "--ttl", "1h", "--uses", "1"]);
    const first = await post(m, "/pack/a.pdf");
    assert.equal(first.status, 200);
    await first.arrayBuffer();
    const same = await w.fetch(linkFor(m, "/pack/a.pdf"), { headers: { ...ME, range: "bytes=4000-" } });
    assert.equal(same.status, 206);
    assert.deepEqual(new Uint8Array(await same.arrayBuffer()), BODY.slice(4000));
    await problem(await w.fetch(linkFor(m, "/pack/b.pdf"), { headers: { ...ME, range: "bytes=100-" } }), assert, 410, "used_up", m.token);
    for (const range of ["bytes=0-", "bytes=0-99,200-", "bytes=-100"]) {
      await problem(await w.fetch(linkFor(m, "/pack/a.pdf"), { headers: { ...ME, range } }), assert, 410, "used_up", m.token);
    }
    assert.equal(await usesOf(m), 1);
  });
});

describe("F6, F7: HEAD and the order around consuming", () => {
  test("HEAD of a used-up link is 410 like GET and consumes nothing", async () => {
    const m = sign(NEW, ["--host", HOST, "--path", "/pack/a.pdf", "--ttl", "1h", "--uses", "1"]);
    const h = await w.fetch(linkFor(m), { method: "HEAD", headers: ME });
    assert.equal(h.status, 200);
    assert.equal(h.headers.get("content-length"), "5000");
    const r = await post(m, "/pack/a.pdf", { "cf-connecting-ip": "203.0.113.50" });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const gone = await w.fetch(linkFor(m), { method: "HEAD", headers: ME });
    assert.equal(gone.status, 410);
    assert.equal(await usesOf(m), 1);
  });

  test("a POST that delivery would refuse (missing object, bad range) keeps its use", async () => {
    const m = sign(NEW, ["--host", HOST, "--path", "/pack/", "--prefix", "--ttl", "1h", "--uses", "1"]);
    await problem(await post(m, "/pack/missing.pdf"), assert, 404, "not_found", m.token);
    await problem(await post(m, "/pack/a.pdf", { range: "bytes=9000-" }), assert, 416, "range_not_satisfiable", m.token);
    assert.equal(await usesOf(m), 0);
    const r = await post(m, "/pack/a.pdf");
    assert.equal(r.status, 200, "the one use is still there");
    await r.arrayBuffer();
  });
});

describe("F5: denylist entries outlive every window that can honour the link", () => {
  test("a jti entry expires after exp + max(resume grace, download grace) + skew", async () => {
    const m = sign(NEW, ["--host", HOST, "--path", "/pack/a.pdf", "--ttl", "10m"]);
    const body = JSON.stringify({ scope: "jti", value: m.jti, reason: "test", link_expires_at: m.expires_at });
    const r = await w.fetch(`${BASE}/_linkgate/revocations`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json", "content-length": String(body.length) },
      body,
    });
    const entry = await r.json();
    assert.equal(r.status, 201, JSON.stringify(entry));
    // download grace 60 > resume grace 30; skew 30.
    assert.equal(entry.expires_at, m.expires_at + 60 + 30);
    const k = await revoke("kid", "never-used");
    assert.equal((await k.json()).expires_at, null, "a kid entry never lapses by itself");
  });
});

describe("F12, F13: what the edge tells", () => {
  test("no cache diagnostics by default; a short admin token refuses to start", async () => {
    const d = await startWorker({ keys: KEYS });
    try {
      await d.r2.put("pub/x.txt", BODY, { customMetadata: { classification: "public" } });
      const m = sign(NEW, ["--host", HOST, "--path", "/pub/x.txt", "--ttl", "1h"]);
      for (let i = 0; i < 3; i++) {
        const r = await d.fetch(linkFor(m));
        assert.equal(r.status, 200);
        assert.equal(r.headers.get("x-linkgate-cache"), null, "cache hits are not announced");
        await r.arrayBuffer();
        await new Promise((res) => setTimeout(res, 100));
      }
    } finally {
      await d.stop();
    }
    const weak = await startWorker({ keys: KEYS, vars: { LINKGATE_ADMIN_TOKEN: "adm" } });
    try {
      const m = sign(NEW, ["--host", HOST, "--path", "/pub/x.txt", "--ttl", "1h"]);
      const r = await weak.fetch(linkFor(m));
      const body = await r.json();
      assert.equal(r.status, 500);
      assert.equal(body.code, "misconfigured");
      const a = await weak.fetch(`${BASE}/_linkgate/revocations`, { headers: { authorization: "Bearer adm" } });
      assert.equal(a.status, 500, "the weak token opens nothing");
      await a.arrayBuffer();
    } finally {
      await weak.stop();
    }
  });
});

describe("F4: one spelling per object", () => {
  test("a path revocation cannot be dodged with the NFD spelling under a folder link", async () => {
    await w.r2.put("pack/caf\u00e9.pdf", BODY);
    const m = sign(NEW, ["--host", HOST, "--path", "/pack/", "--prefix", "--ttl", "1h"]);
    const nfc = `${BASE}/pack/caf%C3%A9.pdf?lg=${m.token}`;
    const nfd = `${BASE}/pack/cafe%CC%81.pdf?lg=${m.token}`;
    const ok = await w.fetch(nfc);
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    assert.equal((await revoke("path", "/pack/caf\u00e9.pdf")).status, 201);
    await problem(await w.fetch(nfc), assert, 410, "revoked", m.token);
    await problem(await w.fetch(nfd), assert, 400, "path_invalid", m.token);
  });
});

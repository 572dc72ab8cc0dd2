// End-to-end: admin actions never weaken protection by accident, and every
// one is audited completely (issue "An audit trail nobody can flood or thin
// out", A3–A5, A8–A10, A13, A16).

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { startWorker, sign, linkFor, newKeyEntry, problem, BASE, HOST, now } from "./harness.mjs";

const KEYS = newKeyEntry("adm");
const ADMIN = "invariants-admin-token-0123456789abcdef";
let w;

before(async () => {
  w = await startWorker({ keys: KEYS, vars: { LINKGATE_ADMIN_TOKEN: ADMIN, LINKGATE_DENYLIST_MEMO_SECS: "0" } });
});

after(async () => {
  await w?.stop();
});

const api = (path, { method = "GET", body, headers = {} } = {}) => {
  const text = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  const h = { authorization: `Bearer ${ADMIN}`, ...headers };
  if (text !== undefined) {
    h["content-type"] ??= "application/json";
    h["content-length"] ??= String(Buffer.byteLength(text));
  }
  return w.fetch(`${BASE}/_linkgate/${path}`, { method, headers: h, body: text });
};

const adminEvents = async (reason, subject) => {
  for (let i = 0; i < 50; i++) {
    const r = await w.db.prepare("SELECT * FROM events WHERE reason = ?1 AND subject = ?2 ORDER BY id").bind(reason, subject).all();
    if (r.results.length) return r.results;
    await new Promise((res) => setTimeout(res, 100));
  }
  return [];
};

describe("A3, A4: revocations", () => {
  test("a second revoke with a short life never shortens the first; both are recorded and audited with actor and value", async () => {
    const m = sign(KEYS, ["--host", HOST, "--path", "/r/a.pdf", "--ttl", "1h"]);
    await w.r2.put("r/a.pdf", "x");
    const first = await (await api("revocations", { method: "POST", body: { scope: "jti", value: m.jti, reason: "wrong person", link_expires_at: m.expires_at } })).json();
    const second = await api("revocations", { method: "POST", body: { scope: "jti", value: m.jti, reason: "again", link_expires_at: 1 } });
    const merged = await second.json();
    assert.equal(second.status, 201);
    assert.equal(merged.expires_at, first.expires_at, "the later expiry is kept");
    assert.equal(merged.reason, "wrong person", "the first reason is kept");
    assert.equal(merged.also.length, 1);
    assert.equal(merged.also[0].reason, "again");
    await problem(await w.fetch(linkFor(m)), assert, 410, "revoked", m.token);
    const evs = await adminEvents("revoke", `jti:${m.jti}`);
    assert.equal(evs.length, 2);
    for (const e of evs) {
      assert.match(e.actor, /^admin:[0-9a-f]{8}$/, "actor from the credential");
      assert.ok(!e.actor.includes(ADMIN.slice(0, 8)));
    }
    assert.equal(JSON.parse(evs[1].detail).reason, "again");
  });

  test("A8: path revocations are read like URLs; a folder without its slash is refused with a hint", async () => {
    await w.r2.put("board/q3 pack.txt", "x");
    const m = sign(KEYS, ["--host", HOST, "--path", "/board/", "--prefix", "--ttl", "1h"]);
    const r = await api("revocations", { method: "POST", body: { scope: "path", value: "/board/q3%20pack.txt", reason: "leak" } });
    assert.equal(r.status, 201);
    assert.equal((await r.json()).value, "/board/q3 pack.txt");
    await problem(await w.fetch(linkFor(m, "/board/q3%20pack.txt")), assert, 410, "revoked", m.token);
    const folder = await api("revocations", { method: "POST", body: { scope: "path", value: "/board", reason: "leak" } });
    const p = await problem(folder, assert, 400, "invalid_request");
    assert.equal(p.field, "value");
    assert.match(p.detail, /folder.*\/board\//);
  });
});

describe("A5: uploads keep their classification", () => {
  test("re-uploading without a classification keeps it; changing it is explicit and audited", async () => {
    const up = (cls) =>
      api("files/fin/q3.csv", { method: "PUT", body: "a,b\n", headers: { "content-type": "text/csv", ...(cls ? { "x-linkgate-classification": cls } : {}) } });
    assert.equal((await up("restricted")).status, 201);
    const again = await up(null);
    const body = await again.json();
    assert.equal(body.classification, "restricted");
    assert.equal((await w.r2.head("fin/q3.csv")).customMetadata.classification, "restricted");
    // A link that restricted refuses stays refused.
    const m = sign(KEYS, ["--host", HOST, "--path", "/fin/q3.csv", "--ttl", "7d"]);
    await problem(await w.fetch(linkFor(m)), assert, 403, "policy_denied", m.token);
    assert.equal((await up("internal")).status, 201);
    const evs = await adminEvents("upload", "file:/fin/q3.csv");
    assert.equal(evs.length, 3);
    assert.deepEqual(JSON.parse(evs[1].detail), { old_classification: "restricted", new_classification: "restricted", changed: false });
    assert.deepEqual(JSON.parse(evs[2].detail), { old_classification: "restricted", new_classification: "internal", changed: true });
  });

  test("A10: a body shorter than its Content-Length is 400, not 503, with no uncaught rejection", async () => {
    // fetch() refuses to send a short body, so speak HTTP over a socket to
    // the worker's real listener: declare 10 bytes, send 3, half-close.
    const logs = [];
    const h = await startWorker({ keys: KEYS, vars: { LINKGATE_ADMIN_TOKEN: ADMIN }, http: true, logs });
    try {
      const u = new URL(h.url);
      const raw = await new Promise((resolve, reject) => {
        const s = net.connect(Number(u.port), u.hostname, () => {
          s.write(
            `PUT /_linkgate/files/short.bin HTTP/1.1\r\nHost: ${HOST}\r\nAuthorization: Bearer ${ADMIN}\r\n` +
              "Content-Type: application/octet-stream\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc",
          );
          s.end();
        });
        let data = "";
        s.on("data", (d) => (data += d));
        s.on("end", () => resolve(data));
        s.on("error", reject);
      });
      assert.match(raw, /^HTTP\/1\.1 400 /, raw.slice(0, 200));
      const body = JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4));
      assert.deepEqual([body.code, body.field], ["invalid_request", "body"]);
      assert.equal(await h.r2.head("short.bin"), null, "nothing stored");
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(!logs.join("").match(/uncaught|unhandled/i), "no uncaught promise rejection in the log");
    } finally {
      await h.stop();
    }
  });
});

describe("A9, A13, A16", () => {
  test("inspect sees a revoked folder and accepts the folder URL that mint returns", async () => {
    const minted = await (await api("links", { method: "POST", body: { prefix: "/docs/2026/", ttl: "1h" } })).json();
    assert.match(minted.url, /\/docs\/2026\/\?lg=/);
    let r = await (await api("inspect", { method: "POST", body: { link: minted.url } })).json();
    assert.equal(r.verdict, "valid", JSON.stringify(r));
    await api("revocations", { method: "POST", body: { scope: "path", value: "/docs/", reason: "moved" } });
    r = await (await api("inspect", { method: "POST", body: { link: minted.url } })).json();
    assert.equal(r.verdict, "refused");
    assert.equal(r.code, "revoked");
    assert.equal(r.revocation.value, "/docs/");
  });

  test("client address and request id are capped in audit events", async () => {
    const m = sign(KEYS, ["--host", HOST, "--path", "/cap/x", "--ttl", "1h"]);
    await w.r2.put("cap/x", "x");
    const res = await w.fetch(linkFor(m), { headers: { "cf-connecting-ip": "1".repeat(5000), "cf-ray": "r".repeat(60) } });
    await res.arrayBuffer();
    for (let i = 0; i < 50; i++) {
      const e = (await w.db.prepare("SELECT client_ip, request_id FROM events WHERE jti = ?1").bind(m.jti).all()).results[0];
      if (e) {
        assert.ok(e.client_ip.length <= 64 && e.request_id.length <= 64, JSON.stringify(e));
        return;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.fail("no event");
  });

  test("/_linkgate/ is reserved in every spelling, for uploads and downloads; HEAD works where GET does", async () => {
    for (const p of ["%5Flinkgate/x", "_LinkGate/x"]) {
      const r = await api(`files/${p}`, { method: "PUT", body: "x", headers: { "content-type": "text/plain" } });
      assert.equal((await problem(r, assert, 400, "invalid_request")).field, "path", p);
    }
    await w.r2.put("_linkgate/x", "planted");
    // Even a link signed for that folder never serves it.
    const m = sign(KEYS, ["--host", HOST, "--path", "/_linkgate/", "--prefix", "--ttl", "1h"]);
    for (const p of ["/%5Flinkgate/x", "/_LINKGATE/x"]) {
      await problem(await w.fetch(`${BASE}${p}?lg=${m.token}`), assert, 400, "path_invalid", m.token);
    }
    const h = await api("events", { method: "HEAD" });
    assert.equal(h.status, 200);
    assert.equal(await h.text(), "");
  });
});

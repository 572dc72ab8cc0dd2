// End-to-end: strict revocation (issue 14, part 2). Objects whose rule says
// `revocation: strict` (restricted, by default) are checked against the
// RevocationRegistry Durable Object as well as KV: once the admin API has
// answered a revoke, every later download is refused, even where KV has not
// caught up. Locally KV is immediate, so "KV has not caught up" is made by
// deleting the KV entry behind the worker's back after the revoke.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { startWorker, sign, linkFor, newKeyEntry, problem, BASE, HOST } from "./harness.mjs";

const KEYS = newKeyEntry("strict");
const ADMIN = "strict-admin-token-0123456789abcdef";
let w;

before(async () => {
  w = await startWorker({ keys: KEYS, vars: { LINKGATE_ADMIN_TOKEN: ADMIN } });
  await w.r2.put("r/board.pdf", "restricted bytes", { customMetadata: { classification: "restricted" } });
  await w.r2.put("i/memo.pdf", "internal bytes", { customMetadata: { classification: "internal" } });
});

after(async () => {
  await w?.stop();
});

const api = (path, { method = "GET", body } = {}) => {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers = { authorization: `Bearer ${ADMIN}` };
  if (text !== undefined) {
    headers["content-type"] = "application/json";
    headers["content-length"] = String(Buffer.byteLength(text));
  }
  return w.fetch(`${BASE}/_linkgate/${path}`, { method, headers, body: text });
};

const kvKey = (scope, value) => (scope === "all" ? "all" : `${scope}:${value}`);

// A restricted link needs a sub, at most 1 h and sealing; the internal one is the same.
const mint = (path, extra = []) => sign(KEYS, ["--host", HOST, "--path", path, "--ttl", "30m", "--sub", "r-1042", "--sealed", ...extra]);

describe("strict revocation", () => {
  test("a revoke answers with the guarantees that apply", async () => {
    const m = mint("/r/board.pdf");
    const r = await api("revocations", { method: "POST", body: { scope: "jti", value: m.jti, reason: "test", link_expires_at: m.expires_at } });
    assert.equal(r.status, 201);
    const body = await r.json();
    assert.deepEqual(body.guarantees, { strict: "immediate", kv_within_secs: 92 });
    await api(`revocations/jti/${m.jti}`, { method: "DELETE" });
  });

  for (const [scope, value, extra] of [
    ["jti", null, []],
    ["sub", "r-1042", []],
    ["tenant", "acme", ["--tenant", "acme"]],
    ["path", "/r/board.pdf", []],
    ["path", "/r/", []],
    ["kid", "strict", []],
    ["all", "", []],
  ]) {
    test(`${scope} ${value ?? "(the link's jti)"}: a strict object is refused at once, even where KV has not caught up; a KV object is not`, async () => {
      const strict = mint("/r/board.pdf", extra);
      const plain = mint("/i/memo.pdf", extra);
      assert.equal((await w.fetch(linkFor(strict))).status, 200);
      const v = value ?? strict.jti;
      const r = await api("revocations", { method: "POST", body: { scope, value: v, reason: "test", link_expires_at: strict.expires_at } });
      assert.equal(r.status, 201, await r.text());
      // No sleep. KV without the entry: this location has not seen it yet.
      await w.kv.delete(kvKey(scope, v));
      await problem(await w.fetch(linkFor(strict)), assert, 410, "revoked", strict.token);
      if (scope !== "jti") {
        const served = await w.fetch(linkFor(plain));
        assert.equal(served.status, 200, "an internal object follows KV, which has no entry here");
        await served.arrayBuffer();
      }
      // Lifting clears the registry too.
      const lift = await api(`revocations/${scope}/${encodeURIComponent(v)}`, { method: "DELETE" });
      assert.equal(lift.status, 200, await lift.text());
      const again = await w.fetch(linkFor(strict));
      assert.equal(again.status, 200);
      await again.arrayBuffer();
    });
  }

  test("200 downloads in flight while a revoke lands: none that starts after its answer succeeds", async () => {
    const m = mint("/r/board.pdf");
    const results = [];
    let revokedAt = null;
    const one = async () => {
      const started = performance.now();
      const r = await w.fetch(linkFor(m));
      await r.arrayBuffer();
      results.push({ started, status: r.status });
    };
    const flight = [];
    for (let i = 0; i < 200; i++) {
      flight.push(one());
      if (i === 100) {
        flight.push(
          api("revocations", { method: "POST", body: { scope: "jti", value: m.jti, reason: "race", link_expires_at: m.expires_at } }).then(async (r) => {
            assert.equal(r.status, 201);
            revokedAt = performance.now();
            await w.kv.delete(`jti:${m.jti}`);
          }),
        );
      }
      if (i % 20 === 0) await new Promise((res) => setTimeout(res, 1));
    }
    await Promise.all(flight);
    // And some more, all after the revoke's answer.
    for (let i = 0; i < 20; i++) await one();
    assert.ok(revokedAt !== null);
    const after = results.filter((r) => r.started > revokedAt);
    assert.ok(after.length >= 20, `${after.length} requests started after the revoke`);
    assert.deepEqual(after.filter((r) => r.status === 200), [], "no download started after the revoke's answer succeeded");
    assert.ok(results.some((r) => r.status === 200), "downloads before the revoke were served");
  });
});

describe("strict revocation fails closed", () => {
  test("without the registry, strict objects answer 503 and KV objects are served; a revoke changes nothing", async () => {
    const broken = await startWorker({ keys: KEYS, omit: ["LINKGATE_REVOCATIONS"], vars: { LINKGATE_ADMIN_TOKEN: ADMIN } });
    try {
      await broken.r2.put("r/board.pdf", "restricted bytes", { customMetadata: { classification: "restricted" } });
      await broken.r2.put("i/memo.pdf", "internal bytes", { customMetadata: { classification: "internal" } });
      const strict = mint("/r/board.pdf");
      await problem(await broken.fetch(linkFor(strict)), assert, 503, "store_unavailable", strict.token);
      const plain = await broken.fetch(linkFor(mint("/i/memo.pdf")));
      assert.equal(plain.status, 200);
      await plain.arrayBuffer();
      const body = JSON.stringify({ scope: "sub", value: "r-9", reason: "x" });
      const r = await broken.fetch(`${BASE}/_linkgate/revocations`, {
        method: "POST",
        body,
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json", "content-length": String(body.length) },
      });
      assert.equal(r.status, 503);
      assert.equal(await broken.kv.get("sub:r-9"), null, "nothing written when the registry cannot be");
    } finally {
      await broken.stop();
    }
  });
});

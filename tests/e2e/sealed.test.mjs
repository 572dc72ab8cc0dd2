// End-to-end: sealed links (issue 14, docs/link-format.md §17) through the
// real worker in workerd. A sealed link to a restricted object downloads and
// is audited under its jti; the same claims signed plain are refused by the
// classification's require_sealed; the admin API mints sealed links; the URL
// carries none of the claims (the object path is the URL's own path, which
// sealing does not hide: docs/policy.md).

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { startWorker, sign, newKeyEntry, problem, BASE, HOST, waitFor } from "./harness.mjs";

const KEYS = newKeyEntry("seal");
const ADMIN = "admin-token-for-the-sealed-links-e2e-suite";
const BODY = new Uint8Array(2048).fill(7);
const SECRETS = ["recipient-7731", "acme-holdings", "Merger", "merger"];
let w;

before(async () => {
  w = await startWorker({ keys: KEYS, vars: { LINKGATE_EDGE_CACHE: "off", LINKGATE_ADMIN_TOKEN: ADMIN } });
  await w.r2.put("r/board.pdf", BODY, { customMetadata: { classification: "restricted" } });
  await w.r2.put("c/notes.txt", BODY, { customMetadata: { classification: "confidential" } });
});

after(async () => {
  await w?.stop();
});

const rows = async (sql, ...args) => (await w.db.prepare(sql).bind(...args).all()).results;

const claimArgs = (path) => [
  "--host", HOST, "--path", path, "--ttl", "30m",
  "--sub", "recipient-7731", "--tenant", "acme-holdings", "--filename", "Merger plan.pdf",
];

function assertNoClaims(url, token) {
  // The whole URL, path included (path-less: /_lg/<token>, link-format §17.7).
  assert.ok(new URL(url).pathname.startsWith("/_lg/"), url);
  for (const s of [...SECRETS, "board", "/r/"]) {
    assert.ok(!url.includes(s), `${s} in the URL ${url}`);
    assert.ok(!Buffer.from(token, "base64url").includes(Buffer.from(s)), `${s} in the token bytes`);
  }
}

describe("sealed links in workerd", () => {
  test("a sealed link to a restricted object downloads, uses its sealed claims, and is audited under its jti", async () => {
    const m = sign(KEYS, [...claimArgs("/r/board.pdf"), "--sealed"]);
    assert.equal(m.sealed, true);
    assertNoClaims(m.url, m.token);
    const res = await w.fetch(m.url, { headers: { "cf-connecting-ip": "198.51.100.7" } });
    const body = new Uint8Array(await res.arrayBuffer());
    assert.equal(res.status, 200, new TextDecoder().decode(body));
    assert.deepEqual(body, BODY);
    // The file name came from inside the ciphertext.
    assert.match(res.headers.get("content-disposition"), /Merger%20plan\.pdf/);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const ev = await waitFor(async () => (await rows("SELECT status, sub, tenant, rule FROM events WHERE jti = ?1", m.jti))[0], "the download's event");
    assert.deepEqual(ev, { status: 200, sub: "recipient-7731", tenant: "acme-holdings", rule: "classification:restricted" });
  });

  test("the same claims signed plain are refused policy_denied (restricted.require_sealed)", async () => {
    const m = sign(KEYS, claimArgs("/r/board.pdf"));
    assert.equal(m.sealed, false);
    const res = await w.fetch(m.url);
    await problem(res, assert, 403, "policy_denied", m.token);
    const ev = await waitFor(async () => (await rows("SELECT status, code, rule FROM events WHERE jti = ?1", m.jti))[0], "the refusal's event");
    assert.deepEqual(ev, { status: 403, code: "policy_denied", rule: "restricted.require_sealed" });
    // A confidential object takes plain and sealed links alike.
    for (const extra of [[], ["--sealed"]]) {
      const c = sign(KEYS, [...claimArgs("/c/notes.txt"), ...extra]);
      const r = await w.fetch(c.url);
      await r.arrayBuffer();
      assert.equal(r.status, 200, extra.join(" "));
    }
  });

  test("a tampered sealed link is signature_invalid; a v1-only reading never applies", async () => {
    const m = sign(KEYS, [...claimArgs("/r/board.pdf"), "--sealed"]);
    const raw = Buffer.from(m.token, "base64url");
    for (const at of [raw.length - 1, raw.length - 20, 2 + raw[1] + 3]) {
      const t = Buffer.from(raw);
      t[at] ^= 1;
      const token = t.toString("base64url");
      await problem(await w.fetch(`${BASE}/r/board.pdf?lg=${token}`), assert, 403, "signature_invalid", token);
    }
    const v1 = Buffer.from(raw);
    v1[0] = 1;
    await problem(await w.fetch(`${BASE}/r/board.pdf?lg=${v1.toString("base64url")}`), assert, 400, "token_malformed");
  });

  test("the admin API mints sealed links and refuses plain ones for restricted objects", async () => {
    const api = (body) => {
      const text = JSON.stringify(body);
      return w.fetch(`${BASE}/_linkgate/links`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) },
        body: text,
      });
    };
    const base = { path: "/r/board.pdf", ttl: "10m", sub: "recipient-7731", tenant: "acme-holdings" };
    const plain = await api(base);
    const denied = await plain.json();
    assert.equal(plain.status, 403, JSON.stringify(denied));
    assert.equal(denied.rule, "restricted.require_sealed");
    const ok = await api({ ...base, sealed: true });
    const minted = await ok.json();
    assert.equal(ok.status, 201, JSON.stringify(minted));
    assert.equal(minted.sealed, true);
    assertNoClaims(minted.url, minted.token);
    const res = await w.fetch(minted.url);
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), BODY);
    // The admin inspect opens it and says so.
    const text = JSON.stringify({ token: minted.token });
    const ins = await (
      await w.fetch(`${BASE}/_linkgate/inspect`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) },
        body: text,
      })
    ).json();
    assert.equal(ins.sealed, true);
    assert.equal(ins.claims.sub, "recipient-7731");
  });
});

// End-to-end: Common Access Tokens (CTA-5007) minted by an independent
// implementation (Python: cbor2 + hmac, tests/e2e/cat_mint.py) open objects
// in the real worker; every refusal class; revocation by cti; catreplay
// counted exactly under concurrency; audit events marked issued_by=cat.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { startWorker, newKeyEntry, problem, waitFor, now, BASE, HOST, ROOT } from "./harness.mjs";

const KEYS = newKeyEntry("lg1");
const CAT_KEY = randomBytes(32).toString("base64url");
const ADMIN = "cat-admin-token-0123456789abcdefghijkl";
const ISS = "https://tokens.example";
const BODY = new Uint8Array(4000).map((_, i) => i % 251);
const ME = { "cf-connecting-ip": "198.51.100.1", "user-agent": "player/1" };
let w;

before(async () => {
  w = await startWorker({
    keys: KEYS,
    vars: {
      LINKGATE_CAT_KEYS: `cat1:${CAT_KEY}`,
      LINKGATE_CAT_ISSUERS: ISS,
      LINKGATE_CAT_AUDIENCES: "linkgate",
      LINKGATE_ADMIN_TOKEN: ADMIN,
      LINKGATE_DOWNLOAD_GRACE_SECS: "5",
    },
  });
  await w.r2.put("vod/show/seg1.ts", BODY, { httpMetadata: { contentType: "video/mp2t" } });
  await w.r2.put("vod/other/seg1.ts", BODY, { httpMetadata: { contentType: "video/mp2t" } });
});

after(async () => {
  await w?.stop();
});

/** A CAT from the Python implementation. */
function cat(claims = {}, { kid = "cat1", key = CAT_KEY, protected: prot, tamper } = {}) {
  const cti = randomBytes(16).toString("hex");
  const all = { 1: ISS, 3: "linkgate", 4: now() + 600, 6: now() - 5, 7: { hex: cti }, ...claims };
  for (const [k, v] of Object.entries(all)) if (v === null) delete all[k];
  const spec = { key, kid, claims: all, ...(prot ? { protected: prot } : {}), ...(tamper ? { tamper } : {}) };
  const token = execFileSync("python3", [join(ROOT, "tests", "e2e", "cat_mint.py"), JSON.stringify(spec)], { encoding: "utf8" }).trim();
  return { token, jti: cti };
}

const get = (path, headers = {}, init = {}) => w.fetch(`${BASE}${path}`, { headers: { ...ME, ...headers }, ...init });
const withCat = (t, headers = {}) => ({ "cta-common-access-token": t, ...headers });

describe("a CAT opens an object", () => {
  test("from each carrier: the CTA header, the Common-Access-Token header, either cookie, ?CAT= and ?cat=", async () => {
    const c = cat({ 312: { 3: { 1: "/vod/show/" } } });
    const ways = [
      get("/vod/show/seg1.ts", withCat(c.token)),
      get("/vod/show/seg1.ts", { "common-access-token": c.token }),
      get("/vod/show/seg1.ts", { cookie: `theme=dark; CTA-Common-Access-Token=${c.token}` }),
      get("/vod/show/seg1.ts", { cookie: `Common-Access-Token=${c.token}` }),
      get(`/vod/show/seg1.ts?CAT=${c.token}`),
      get(`/vod/show/seg1.ts?cat=${c.token}`),
    ];
    for (const r of await Promise.all(ways)) {
      assert.equal(r.status, 200, await r.clone().text());
      assert.deepEqual(new Uint8Array(await r.arrayBuffer()), BODY);
    }
  });

  test("Range and HEAD work as for a link; the audit event says issued_by=cat with the cti as jti", async () => {
    const c = cat();
    const r = await get("/vod/show/seg1.ts", withCat(c.token, { range: "bytes=10-19" }));
    assert.equal(r.status, 206);
    assert.equal((await r.arrayBuffer()).byteLength, 10);
    const h = await get("/vod/show/seg1.ts", withCat(c.token), { method: "HEAD" });
    assert.equal(h.status, 200);
    const row = await waitFor(async () => (await w.db.prepare("SELECT issued_by, kid, tenant, outcome FROM events WHERE jti = ?1").bind(c.jti).all()).results[0], "the CAT's audit event");
    assert.equal(row.issued_by, "cat");
    assert.equal(row.kid, "cat1");
    assert.equal(row.tenant, ISS);
  });
});

describe("every refusal class", () => {
  const cases = () => [
    ["no token", get("/vod/show/seg1.ts"), 401, "token_missing"],
    ["not CBOR", get("/vod/show/seg1.ts", withCat("bm90LWNib3I")), 400, "token_malformed"],
    ["two carriers", (() => { const c = cat(); return get(`/vod/show/seg1.ts?CAT=${c.token}`, withCat(c.token)); })(), 400, "token_malformed"],
    ["tampered tag", get("/vod/show/seg1.ts", withCat(cat({}, { tamper: "tag" }).token)), 403, "signature_invalid"],
    ["another key", get("/vod/show/seg1.ts", withCat(cat({}, { key: randomBytes(32).toString("base64url") }).token)), 403, "signature_invalid"],
    ["unknown kid", get("/vod/show/seg1.ts", withCat(cat({}, { kid: "lg1" }).token)), 403, "key_unknown"],
    ["HS384", get("/vod/show/seg1.ts", withCat(cat({}, { protected: { 1: 6, 4: { hex: Buffer.from("cat1").toString("hex") } } }).token)), 400, "token_malformed"],
    ["expired", get("/vod/show/seg1.ts", withCat(cat({ 4: now() - 1, 6: now() - 100 }).token)), 410, "expired"],
    ["not yet valid", get("/vod/show/seg1.ts", withCat(cat({ 5: now() + 600 }).token)), 403, "not_yet_valid"],
    ["catu path", get("/vod/other/seg1.ts", withCat(cat({ 312: { 3: { 1: "/vod/show/" } } }).token)), 403, "scope_mismatch"],
    ["catu extension", get("/vod/show/seg1.ts", withCat(cat({ 312: { 8: { 0: ".m3u8" } } }).token)), 403, "scope_mismatch"],
    ["catu host", get("/vod/show/seg1.ts", withCat(cat({ 312: { 1: { 2: ".elsewhere.example" } } }).token)), 403, "host_mismatch"],
    ["catnip", get("/vod/show/seg1.ts", withCat(cat({ 311: [{ tag: 52, value: [24, { hex: "cb0071" }] }] }).token)), 403, "ip_mismatch"],
    ["catm", get("/vod/show/seg1.ts", withCat(cat({ 313: ["HEAD"] }).token)), 405, "method_not_allowed"],
    ["critical catr", get("/vod/show/seg1.ts", withCat(cat({ 323: { 0: 0 } }, { protected: { 1: 5, 2: [323], 4: { hex: Buffer.from("cat1").toString("hex") } } }).token)), 403, "policy_denied"],
    ["issuer", get("/vod/show/seg1.ts", withCat(cat({ 1: "https://evil.example" }).token)), 403, "policy_denied"],
    ["audience", get("/vod/show/seg1.ts", withCat(cat({ 3: "someone-else" }).token)), 403, "policy_denied"],
    ["no exp", get("/vod/show/seg1.ts", withCat(cat({ 4: null }).token)), 403, "policy_denied"],
    ["missing object", get("/vod/show/nope.ts", withCat(cat().token)), 404, "not_found"],
  ];
  test("each answers its status and code, and never echoes the token", async () => {
    for (const [what, pending, status, code] of cases()) {
      const r = await pending;
      await assert.doesNotReject(problem(r, assert, status, code), what);
    }
  });
  test("catnip inside the range lets the client through", async () => {
    const c = cat({ 311: [{ tag: 52, value: [24, { hex: "c63364" }] }] });
    assert.equal((await get("/vod/show/seg1.ts", withCat(c.token))).status, 200);
  });
});

describe("revocation and bounded use", () => {
  const api = (path, body) =>
    w.fetch(`${BASE}/_linkgate/${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json", "content-length": String(JSON.stringify(body).length) },
      body: JSON.stringify(body),
    });

  test("revoking the cti (as jti) kills the CAT; another CAT still opens", async () => {
    const c = cat();
    assert.equal((await get("/vod/show/seg1.ts", withCat(c.token))).status, 200);
    const r = await api("revocations", { scope: "jti", value: c.jti, reason: "leaked", link_expires_at: now() + 600 });
    assert.ok(r.status === 200 || r.status === 201, await r.text());
    await problem(await get("/vod/show/seg1.ts", withCat(c.token)), assert, 410, "revoked", c.token);
    assert.equal((await get("/vod/show/seg1.ts", withCat(cat().token))).status, 200);
  });

  test("catreplay=1: of 30 concurrent GETs from 30 clients exactly one downloads", async () => {
    const c = cat({ 308: 1 });
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        get("/vod/show/seg1.ts", withCat(c.token, { "cf-connecting-ip": `203.0.113.${i + 1}` })).then(async (r) => ({ status: r.status, body: await r.arrayBuffer() })),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    assert.equal(ok.length, 1, JSON.stringify(results.map((r) => r.status)));
    assert.equal(ok[0].body.byteLength, BODY.length);
    assert.equal(results.filter((r) => r.status === 410).length, 29);
  });

  test("catreplay=1: the downloading client may resume; a second GET is used up", async () => {
    const c = cat({ 308: 1 });
    const me = { "cf-connecting-ip": "198.51.100.77" };
    assert.equal((await get("/vod/show/seg1.ts", withCat(c.token, me))).status, 200);
    const resume = await get("/vod/show/seg1.ts", withCat(c.token, { ...me, range: "bytes=2000-" }));
    assert.equal(resume.status, 206);
    await resume.arrayBuffer();
    await problem(await get("/vod/show/seg1.ts", withCat(c.token, me)), assert, 410, "used_up", c.token);
  });
});

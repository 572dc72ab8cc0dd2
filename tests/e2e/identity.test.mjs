// End-to-end: links for one person (issue 21, docs/identity.md) through the
// real worker in workerd. A local identity provider in this test (RSA and
// EC P-256 key pairs from node's crypto, a JWKS served from a loopback HTTP
// server the worker fetches) mints Cloudflare Access-style assertions; the
// recipient downloads, and every other identity is refused with its code:
// another person, an expired or stale sign-in, a wrong audience or issuer,
// another key, `alg: none`, HS256 keyed with the public key, no assertion.
// Key rotation is picked up, random key ids cannot force a fetch per
// request, and a JWKS outage with nothing cached fails closed (503). The
// assertion is in no log line, no audit row and no response.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { generateKeyPairSync, createHmac, sign as cryptoSign, randomBytes } from "node:crypto";
import { startWorker, sign, newKeyEntry, problem, linkFor, waitFor, now, HOST } from "./harness.mjs";

const AUD = "aud-e2e-7a1c";
const TEAM = "acme-e2e.cloudflareaccess.com";
const ISS = `https://${TEAM}`;
const BODY = new Uint8Array(2048).fill(5);

// ---- the local identity provider
const b64u = (b) => Buffer.from(b).toString("base64url");
const rsa = (kid) => {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { kid, alg: "RS256", privateKey, publicKey, jwk: { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" } };
};
const ec = (kid) => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { kid, alg: "ES256", privateKey, publicKey, jwk: { ...publicKey.export({ format: "jwk" }), kid, alg: "ES256", use: "sig" } };
};
const K1 = rsa("idp-rsa-1");
const E1 = ec("idp-ec-1");
const STRANGER = rsa("idp-rsa-1"); // same kid, another key pair
const K2 = rsa("idp-rsa-2"); // published later (rotation)

/** An assertion signed by `key` (RS256 PKCS#1 v1.5, or ES256 raw r||s as JWS has it). */
function mint(key, claims = {}, header = {}) {
  const t = now();
  const body = { iss: ISS, aud: [AUD], sub: "r-1042", email: "alice@example.test", iat: t - 60, nbf: t - 60, exp: t + 600, type: "app", ...claims };
  const input = `${b64u(JSON.stringify({ alg: key.alg, kid: key.kid, typ: "JWT", ...header }))}.${b64u(JSON.stringify(body))}`;
  const sig =
    key.alg === "ES256"
      ? cryptoSign("sha256", Buffer.from(input), { key: key.privateKey, dsaEncoding: "ieee-p1363" })
      : cryptoSign("sha256", Buffer.from(input), key.privateKey);
  return `${input}.${b64u(sig)}`;
}

let published = [K1.jwk, E1.jwk];
let jwksDown = false;
let fetches = 0;
const idp = createServer((req, res) => {
  fetches += 1;
  if (jwksDown || req.url !== "/cdn-cgi/access/certs") {
    res.writeHead(503).end("down");
    return;
  }
  res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=300" });
  res.end(JSON.stringify({ keys: published, public_cert: { kid: K1.kid, cert: "-----BEGIN CERTIFICATE-----" } }));
});

const KEYS = newKeyEntry("id-e2e");
const logs = [];
let w;
let jwksUrl;
const identity = (extra = {}) =>
  JSON.stringify({ source: "access", team_domain: TEAM, audience: AUD, jwks_url: jwksUrl, jwks_refresh_secs: 1, algorithms: ["RS256", "ES256"], ...extra });
const POLICY = JSON.stringify({
  classifications: {
    internal: { identity: { max_auth_age: "1h" } },
    confidential: { identity: { bind: false, groups: ["board"] } },
  },
});
const minted = [];
const assertions = [];
let link;

before(async () => {
  await new Promise((r) => idp.listen(0, "127.0.0.1", r));
  jwksUrl = `http://127.0.0.1:${idp.address().port}/cdn-cgi/access/certs`;
  w = await startWorker({ keys: KEYS, logs, vars: { LINKGATE_EDGE_CACHE: "off", LINKGATE_IDENTITY: identity(), LINKGATE_POLICY: POLICY } });
  await w.r2.put("one/report.pdf", BODY);
  await w.r2.put("board/minutes.pdf", BODY, { customMetadata: { classification: "confidential" } });
  await w.r2.put("open/notice.txt", BODY, { customMetadata: { classification: "public" } });
  link = sign(KEYS, ["--path", "/one/report.pdf", "--ttl", "1h", "--sub", "r-1042"]);
  minted.push(link);
});

after(async () => {
  await w?.stop();
  await new Promise((r) => idp.close(r));
});

/** GET the link with an assertion in the Access header (or a cookie, or none). */
async function open(m, assertion, { cookie = false, html = false } = {}) {
  if (assertion) assertions.push(assertion);
  const headers = {};
  if (assertion && cookie) headers.cookie = `other=1; CF_Authorization=${assertion}`;
  else if (assertion) headers["cf-access-jwt-assertion"] = assertion;
  if (html) headers.accept = "text/html";
  return w.fetch(linkFor(m), { headers });
}

async function refused(res, status, code) {
  const body = await problem(res, assert, status, code, link.token);
  for (const a of assertions) assert.ok(!JSON.stringify(body).includes(a), "no assertion in a response");
  return body;
}

describe("links for one person", () => {
  test("the recipient downloads (RS256 header, RS256 cookie, ES256)", async () => {
    const before = fetches;
    for (const [a, cookie] of [[mint(K1), false], [mint(K1), true], [mint(E1), false]]) {
      const res = await open(link, a, { cookie });
      assert.equal(res.status, 200, await res.clone().text());
      assert.deepEqual(new Uint8Array(await res.arrayBuffer()), BODY);
    }
    assert.equal(fetches - before, 1, "one JWKS fetch for the isolate, then its copy");
  });

  test("every other identity is refused with its code", async () => {
    const t = now();
    const hs256 = (() => {
      // The classic confusion: HS256 keyed with the provider's public key.
      const pem = K1.publicKey.export({ format: "pem", type: "spki" });
      const input = `${b64u(JSON.stringify({ alg: "HS256", kid: K1.kid, typ: "JWT" }))}.${b64u(JSON.stringify({ iss: ISS, aud: [AUD], sub: "r-1042", iat: t, exp: t + 600 }))}`;
      return `${input}.${b64u(createHmac("sha256", pem).update(input).digest())}`;
    })();
    const none = `${b64u(JSON.stringify({ alg: "none", typ: "JWT" }))}.${b64u(JSON.stringify({ iss: ISS, aud: [AUD], sub: "r-1042", iat: t, exp: t + 600 }))}.`;
    const cases = [
      ["another person", mint(K1, { sub: "r-9999", email: "mallory@example.test" }), 403, "identity_mismatch"],
      ["expired", mint(K1, { iat: t - 900, nbf: t - 900, exp: t - 1 }), 401, "identity_required"],
      ["stale sign-in", mint(K1, { iat: t - 7200, nbf: t - 7200, exp: t + 600 }), 401, "reauth_required"],
      ["wrong audience", mint(K1, { aud: ["another-application"] }), 401, "identity_required"],
      ["wrong issuer", mint(K1, { iss: "https://evil.cloudflareaccess.com" }), 401, "identity_required"],
      ["signed by another key", mint(STRANGER), 401, "identity_required"],
      ["alg none", none, 401, "identity_required"],
      ["HS256 with the public key as secret", hs256, 401, "identity_required"],
      ["a JWK in the header", mint(K1, {}, { jwk: STRANGER.jwk }), 401, "identity_required"],
      ["missing", null, 401, "identity_required"],
    ];
    for (const [what, a, status, code] of cases) {
      const res = await open(link, a);
      const body = await refused(res, status, code);
      // Scripts are told where to sign in (no way back: the token is in no error body).
      assert.equal(body.login, `https://${TEAM}/cdn-cgi/access/login/${HOST}?kid=${AUD}&redirect_url=%2F`, what);
    }
  });

  test("a browser is offered the team's sign-in; the way back is filled in by the page", async () => {
    const res = await open(link, null, { html: true });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const html = await res.text();
    assert.match(html, /Sign in to open this file/);
    const login = `https://${TEAM}/cdn-cgi/access/login/${HOST}?kid=${AUD}&amp;redirect_url=`;
    assert.ok(html.includes(`href="${login}%2F"`) && html.includes(`data-login="${login}LG-RETURN"`), html);
    assert.ok(!html.includes(link.token), "the token is in no error body");
    const other = await open(link, mint(K1, { sub: "r-9999" }), { html: true });
    assert.equal(other.status, 403);
    assert.match(await other.text(), /This link was sent to someone else/);
  });

  test("groups without binding; rules without identity ignore assertions", async () => {
    const anyone = sign(KEYS, ["--path", "/board/minutes.pdf", "--ttl", "1h"]);
    minted.push(anyone);
    assert.equal((await open(anyone, mint(K1, { sub: "r-7", groups: ["all", "board"] }))).status, 200);
    await refused(await open(anyone, mint(K1, { sub: "r-7", groups: ["all"] })), 403, "identity_mismatch");
    const plain = sign(KEYS, ["--path", "/open/notice.txt", "--ttl", "1h"]);
    minted.push(plain);
    assert.equal((await open(plain, "not-a-token")).status, 200);
    // A link that names nobody cannot be held to a person.
    const nobody = sign(KEYS, ["--path", "/one/report.pdf", "--ttl", "1h"]);
    minted.push(nobody);
    const body = await refused(await open(nobody, mint(K1)), 403, "policy_denied");
    assert.equal(body.code, "policy_denied");
  });

  test("key rotation is picked up; random key ids do not cost a fetch each", async () => {
    published = [K1.jwk, E1.jwk, K2.jwk];
    await new Promise((r) => setTimeout(r, 1100)); // the refresh interval (jwks_refresh_secs: 1)
    const before = fetches;
    const res = await open(link, mint(K2));
    assert.equal(res.status, 200, await res.clone().text());
    await res.arrayBuffer();
    assert.equal(fetches - before, 1, "the unknown kid refreshed the set once");
    const flood = fetches;
    for (let i = 0; i < 25; i++) {
      const forged = mint(K1, {}, { kid: `random-${randomBytes(6).toString("hex")}` });
      await refused(await open(link, forged), 401, "identity_required");
    }
    assert.ok(fetches - flood <= 1, `25 random kids cost ${fetches - flood} JWKS fetches`);
  });

  test("audit rows name the verified identity and the rule; no assertion in D1 or the log", async () => {
    const rows = async (sql, ...a) => (await w.db.prepare(sql).bind(...a).all()).results;
    const got = await waitFor(async () => {
      const r = await rows("SELECT * FROM events WHERE jti = ?1", link.jti);
      return r.some((e) => e.identity === "r-9999") && r.some((e) => e.outcome === "allowed") && r;
    }, "identity audit rows");
    const allowed = got.find((e) => e.outcome === "allowed");
    assert.equal(allowed.identity, "r-1042");
    assert.equal(allowed.rule, "classification:internal");
    const other = got.find((e) => e.identity === "r-9999");
    assert.deepEqual([other.code, other.reason, other.rule], ["identity_mismatch", "identity_other_subject", "internal.identity.sub"]);
    const stale = got.find((e) => e.reason === "identity_stale");
    assert.deepEqual([stale.code, stale.rule, stale.identity], ["reauth_required", "internal.identity.max_auth_age", "r-1042"]);
    const missing = got.find((e) => e.reason === "identity_missing");
    assert.equal(missing.identity, null);
    const all = JSON.stringify(await rows("SELECT * FROM events"));
    const log = logs.join("");
    assert.ok(assertions.length > 20);
    for (const a of assertions) {
      const [, payload, sig] = a.split(".");
      for (const piece of [a, payload, sig].filter((p) => p && p.length > 20)) {
        assert.ok(!all.includes(piece), "an assertion reached D1");
        assert.ok(!log.includes(piece), "an assertion reached the log");
      }
    }
    for (const m of minted) assert.ok(!all.includes(m.token) && !log.includes(m.token));
  });
});

describe("the provider's keys cannot be had", () => {
  test("JWKS outage with nothing cached fails closed (503); back when it returns", async () => {
    // A fresh worker (an empty cache) while the provider's JWKS is down.
    jwksDown = true;
    const w2 = await startWorker({ keys: KEYS, vars: { LINKGATE_EDGE_CACHE: "off", LINKGATE_IDENTITY: identity(), LINKGATE_POLICY: POLICY } });
    try {
      await w2.r2.put("one/report.pdf", BODY);
      const res = await w2.fetch(linkFor(link), { headers: { "cf-access-jwt-assertion": mint(K1) } });
      await problem(res, assert, 503, "identity_unavailable", link.token);
      // Requests within the retry interval do not hammer the provider.
      const during = fetches;
      for (let i = 0; i < 5; i++) {
        await problem(await w2.fetch(linkFor(link), { headers: { "cf-access-jwt-assertion": mint(K1) } }), assert, 503, "identity_unavailable");
      }
      assert.equal(fetches - during, 0, "no fetch per request while the provider is down");
      jwksDown = false;
      await new Promise((r) => setTimeout(r, 5100)); // JWKS_RETRY_MS
      const back = await w2.fetch(linkFor(link), { headers: { "cf-access-jwt-assertion": mint(K1) } });
      assert.equal(back.status, 200);
      await back.arrayBuffer();
    } finally {
      jwksDown = false;
      await w2.stop();
    }
  });

  test("a rule that requires identity without LINKGATE_IDENTITY fails closed", async () => {
    const w3 = await startWorker({ keys: KEYS, vars: { LINKGATE_EDGE_CACHE: "off", LINKGATE_POLICY: POLICY } });
    try {
      await w3.r2.put("one/report.pdf", BODY);
      const res = await w3.fetch(linkFor(link), { headers: { "cf-access-jwt-assertion": mint(K1) } });
      await problem(res, assert, 503, "identity_unavailable", link.token);
    } finally {
      await w3.stop();
    }
  });
});

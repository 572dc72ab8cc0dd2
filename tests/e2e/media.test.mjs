// Media sessions (issue 16) against the real worker: a prefix link to a
// manifest sets the `lgm` cookie; segments under the prefix are served from
// it with a link's checks (401 without it, 410 once expired or revoked, 403
// under another prefix), cached at the edge by path and version only.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, sign, newKeyEntry, problem, BASE, HOST } from "./harness.mjs";

/** The token with one character in its middle changed (the tag no longer verifies). */
const tamper = (t) => {
  const i = t.length >> 1;
  return t.slice(0, i) + (t[i] === "A" ? "B" : "A") + t.slice(i + 1);
};

const KEYS = newKeyEntry("media");
const PLAYER = "https://player.example";
const SEGMENT = new Uint8Array(4096).map((_, i) => (i * 13) % 256);
let w;

before(async () => {
  w = await startWorker({
    keys: KEYS,
    vars: {
      LINKGATE_POLICY: JSON.stringify({ classifications: { internal: { media: "cookie" }, confidential: { media: "off" } } }),
      LINKGATE_MEDIA_ORIGINS: PLAYER,
      LINKGATE_DENYLIST_MEMO_SECS: "0",
      LINKGATE_DEBUG_HEADERS: "on",
    },
  });
  for (const show of ["show", "other"]) {
    await w.r2.put(`v/${show}/master.m3u8`, "#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:1,\nseg0.ts\n#EXT-X-ENDLIST\n", {
      httpMetadata: { contentType: "application/vnd.apple.mpegurl" },
    });
    await w.r2.put(`v/${show}/seg0.ts`, SEGMENT, { httpMetadata: { contentType: "video/mp2t" } });
  }
  await w.r2.put("v/secret/seg0.ts", SEGMENT, { customMetadata: { classification: "confidential" } });
});

after(async () => {
  await w?.stop();
});

const prefixLink = (prefix, ttl = "1h", more = []) =>
  sign(KEYS, ["--host", HOST, "--path", prefix, "--prefix", "--ttl", ttl, ...more]);

/** Open the presentation: GET the manifest with the link; the session cookie. */
async function open(prefix, ttl, manifest = `${prefix}master.m3u8`) {
  const m = prefixLink(prefix, ttl);
  const res = await w.fetch(`${BASE}${manifest}?lg=${m.token}`);
  assert.equal(res.status, 200, await res.clone().text());
  await res.arrayBuffer();
  const setCookie = res.headers.get("set-cookie");
  assert.ok(setCookie, "the manifest response opens a session");
  const session = setCookie.split(";")[0].replace(/^lgm=/, "");
  return { m, res, setCookie, session };
}

const segment = (path, session, headers = {}) =>
  w.fetch(`${BASE}${path}`, { headers: session ? { cookie: `lgm=${session}`, ...headers } : headers });

test("a prefix link to a manifest sets a scoped, HttpOnly, Secure session cookie that outlives nothing", async () => {
  const { m, res, setCookie, session } = await open("/v/show/", "1h");
  const attrs = setCookie.split("; ").slice(1);
  assert.deepEqual(attrs.slice(0, 1), ["Path=/v/show/"]);
  const maxAge = Number(attrs.find((a) => a.startsWith("Max-Age=")).slice(8));
  assert.ok(maxAge > 3500 && maxAge <= 3600, `Max-Age ${maxAge} ≤ seconds left`);
  for (const a of ["HttpOnly", "Secure", "SameSite=None"]) assert.ok(attrs.includes(a), `${a} in ${setCookie}`);
  assert.notEqual(session, m.token, "the session is its own token, not the link");
  assert.equal(res.headers.get("cache-control"), "no-store", "nobody caches a response that sets a session");
});

test("segments: served from the cookie, 401 without it, 403 under another prefix, never from a link-less URL", async () => {
  const { session } = await open("/v/show/", "1h");
  const ok = await segment("/v/show/seg0.ts", session);
  assert.equal(ok.status, 200);
  assert.deepEqual(new Uint8Array(await ok.arrayBuffer()), SEGMENT);
  assert.match(ok.headers.get("cache-control"), /^private, max-age=\d+$/);
  assert.equal(ok.headers.get("set-cookie"), null);
  await problem(await segment("/v/show/seg0.ts", null), assert, 401, "token_missing");
  await problem(await segment("/v/other/seg0.ts", session), assert, 403, "scope_mismatch", session);
  // The cookie is a media session only: as a link, or tampered, it is refused.
  await problem(await w.fetch(`${BASE}/v/show/seg0.ts?lg=${session}`), assert, 403, "signature_invalid", session);
  const forged = tamper(session);
  const bad = await segment("/v/show/seg0.ts", forged);
  assert.ok([400, 403].includes(bad.status), `forged: ${bad.status}`);
  await bad.arrayBuffer();
  // An object whose rule has no media sessions needs its own link.
  const { session: wide } = await open("/v/", "1h", "/v/show/master.m3u8");
  assert.equal((await segment("/v/other/seg0.ts", wide)).status, 200);
  await problem(await segment("/v/secret/seg0.ts", wide), assert, 403, "policy_denied");
});

test("an expired session is 410, a revoked one is 410, and the edge cache never serves past them", async () => {
  const short = await open("/v/show/", "2s");
  const live = await open("/v/show/", "1h");
  // Warm the edge cache with one session; another session shares the copy
  // (the key is path + version, never the cookie).
  const first = await segment("/v/show/seg0.ts", live.session);
  await first.arrayBuffer();
  const second = await segment("/v/show/seg0.ts", short.session);
  assert.equal(second.status, 200);
  assert.equal(second.headers.get("x-linkgate-cache"), "hit");
  await second.arrayBuffer();
  await new Promise((r) => setTimeout(r, 2500));
  await problem(await segment("/v/show/seg0.ts", short.session), assert, 410, "expired", short.session);
  await w.kv.put(
    `jti:${live.m.jti}`,
    JSON.stringify({ scope: "jti", value: live.m.jti, reason: "leaked", revoked_at: Math.floor(Date.now() / 1000) + 5 }),
  );
  await problem(await segment("/v/show/seg0.ts", live.session), assert, 410, "revoked", live.session);
});

// The worker builds a refusal's fixed header list once per isolate and reuses
// it (src/respond.rs): a refusal with per-request headers (CORS) in between
// must not leak into it, and every plain refusal carries exactly the same list.
test("plain refusals carry the same exact headers before and after a refusal with CORS", async () => {
  const headersOf = async (res) => {
    assert.equal(res.status, 401);
    await res.arrayBuffer();
    return [...res.headers].filter(([k]) => k !== "date").sort();
  };
  const before = await headersOf(await segment("/v/show/seg0.ts", null));
  const cors = await headersOf(await segment("/v/show/seg0.ts", null, { origin: PLAYER }));
  const after = await headersOf(await segment("/v/show/seg0.ts", null));
  assert.deepEqual(after, before);
  for (const [k, v] of [
    ["cache-control", "no-store"],
    ["content-type", "application/problem+json"],
    ["referrer-policy", "no-referrer"],
    ["x-content-type-options", "nosniff"],
    ["x-robots-tag", "noindex, nofollow"],
  ]) {
    assert.ok(before.some(([n, x]) => n === k && x === v), `${k}: ${v}`);
  }
  assert.ok(!before.some(([k]) => k.startsWith("access-control-")));
  assert.ok(cors.some(([k, v]) => k === "access-control-allow-origin" && v === PLAYER));
});

test("a bounded-use prefix link opens no session", async () => {
  const m = prefixLink("/v/show/", "1h", ["--uses", "3"]);
  const res = await w.fetch(`${BASE}/v/show/master.m3u8?lg=${m.token}`);
  assert.equal(res.headers.get("set-cookie"), null);
  await res.arrayBuffer();
});

test("a listed player origin gets credentialed CORS on answers and refusals; others get none", async () => {
  const m = prefixLink("/v/show/", "1h");
  const res = await w.fetch(`${BASE}/v/show/master.m3u8?lg=${m.token}`, { headers: { origin: PLAYER } });
  assert.equal(res.headers.get("access-control-allow-origin"), PLAYER);
  assert.equal(res.headers.get("access-control-allow-credentials"), "true");
  assert.match(res.headers.get("vary") ?? "", /Origin/);
  await res.arrayBuffer();
  const refused = await segment("/v/show/seg0.ts", null, { origin: PLAYER });
  assert.equal(refused.status, 401);
  assert.equal(refused.headers.get("access-control-allow-origin"), PLAYER);
  await refused.arrayBuffer();
  const other = await w.fetch(`${BASE}/v/show/master.m3u8?lg=${m.token}`, { headers: { origin: "https://evil.example" } });
  assert.equal(other.headers.get("access-control-allow-origin"), null);
  await other.arrayBuffer();
});

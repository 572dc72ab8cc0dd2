// End-to-end: bounded-use links with the UsageCounter Durable Object —
// exact counts under concurrency, scanner-safe GET/HEAD, download sessions.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { startWorker, sign, linkFor, newKeyEntry, problem, BASE, HOST } from "./harness.mjs";

const KEYS = newKeyEntry("use");
const ADMIN = "usage-admin-token-0123456789abcdefghij";
const BODY = new Uint8Array(5000).map((_, i) => i % 251);
let w;

before(async () => {
  w = await startWorker({
    keys: KEYS,
    vars: { LINKGATE_DOWNLOAD_GRACE_SECS: "3", LINKGATE_REFRESH_URL: "https://app.example/renew", LINKGATE_ADMIN_TOKEN: ADMIN },
  });
  await w.r2.put("pack/board.pdf", BODY, { httpMetadata: { contentType: "application/pdf" } });
});

after(async () => {
  await w?.stop();
});

const link = (uses, extra = []) => sign(KEYS, ["--host", HOST, "--path", "/pack/board.pdf", "--ttl", "1h", "--uses", String(uses), ...extra]);
const post = (m, headers = {}) =>
  w.fetch(`${BASE}/pack/board.pdf`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "content-length": String(3 + m.token.length), "cf-connecting-ip": "198.51.100.1", "user-agent": "dl/1", ...headers },
    body: `lg=${m.token}`,
  });

describe("exact counts", () => {
  test("50 concurrent POSTs on a one-time link: exactly one download", async () => {
    const m = link(1);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => post(m, { "cf-connecting-ip": `198.51.100.${i + 2}` }).then(async (r) => ({ status: r.status, body: await r.arrayBuffer() }))),
    );
    const ok = results.filter((r) => r.status === 200);
    const gone = results.filter((r) => r.status === 410);
    assert.equal(ok.length, 1, `statuses: ${results.map((r) => r.status).join(",")}`);
    assert.equal(gone.length, 49);
    assert.deepEqual(new Uint8Array(ok[0].body), BODY);
    for (const g of gone) assert.equal(JSON.parse(Buffer.from(g.body).toString()).code, "used_up");
  });

  test("uses=3 under concurrency: exactly three downloads", async () => {
    const m = link(3);
    const statuses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => post(m, { "cf-connecting-ip": `203.0.113.${i + 1}` }).then(async (r) => (await r.arrayBuffer(), r.status))),
    );
    assert.equal(statuses.filter((s) => s === 200).length, 3, statuses.join(","));
    assert.equal(statuses.filter((s) => s === 410).length, 27);
  });
});

describe("form bodies", () => {
  test("only small bodies with a declared length are read for the token", async () => {
    const m = link(1);
    const big = `lg=${m.token}&pad=${"x".repeat(20_000)}`;
    const r = await w.fetch(`${BASE}/pack/board.pdf`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "content-length": String(big.length) },
      body: big,
    });
    await problem(r, assert, 401, "token_missing", m.token);
    const ok = await post(m);
    assert.equal(ok.status, 200, "the use was not consumed by the refused request");
    await ok.arrayBuffer();
  });
});

describe("scanner safety", () => {
  test("HEAD and GET (landing page) never consume", async () => {
    const m = link(1);
    for (let i = 0; i < 3; i++) {
      const h = await w.fetch(linkFor(m), { method: "HEAD" });
      assert.equal(h.status, 200);
      assert.equal(h.headers.get("cache-control"), "no-store");
      const g = await w.fetch(linkFor(m), { headers: { accept: "text/html", "user-agent": "Mail scanner" } });
      assert.equal(g.status, 200);
      const html = await g.text();
      assert.match(g.headers.get("content-type"), /^text\/html/);
      assert.equal(g.headers.get("cache-control"), "no-store");
      assert.equal(g.headers.get("referrer-policy"), "no-referrer");
      assert.match(g.headers.get("content-security-policy"), /default-src 'none'/);
      assert.ok(html.includes("board.pdf"), "file name");
      assert.ok(html.includes("5.0 KB"), "size");
      assert.ok(html.includes("<time datetime="), "expiry");
      assert.ok(/Downloads left<\/dt><dd>1</.test(html), "uses left");
      assert.ok(html.includes('<form method="post" action="/pack/board.pdf">'), "form posts to the bare path");
      assert.equal(html.split(m.token).length - 1, 1, "token only once, in the form");
      assert.ok(!html.includes("%PDF") && !html.includes(String.fromCharCode(...BODY.slice(1, 20))), "no file bytes");
    }
    const r = await post(m);
    assert.equal(r.status, 200, "the one use is still there");
    assert.deepEqual(new Uint8Array(await r.arrayBuffer()), BODY);
    const page = await w.fetch(linkFor(m), { headers: { accept: "text/html" } });
    assert.equal(page.status, 410);
    const html = await page.text();
    assert.match(html, /used up/);
    assert.ok(html.includes('href="https://app.example/renew"'), "refresh link");
    await problem(await w.fetch(linkFor(m)), assert, 410, "used_up", m.token);
  });
});

describe("download sessions and grace", () => {
  test("Range continuation from the same client in the grace window does not consume; another client does not ride along", async () => {
    const m = link(1);
    const first = await post(m);
    assert.equal(first.status, 200);
    await first.arrayBuffer();
    // Same client resumes with Range on the link: served, no new use.
    const resume = await w.fetch(linkFor(m), { headers: { range: "bytes=4000-", "cf-connecting-ip": "198.51.100.1", "user-agent": "dl/1" } });
    assert.equal(resume.status, 206);
    assert.deepEqual(new Uint8Array(await resume.arrayBuffer()), BODY.slice(4000));
    // Another client with a Range gets no bytes.
    const other = await w.fetch(linkFor(m), { headers: { range: "bytes=0-", "cf-connecting-ip": "192.0.2.99", "user-agent": "dl/1" } });
    assert.equal(other.status, 410);
    await other.arrayBuffer();
    await problem(await post(m, { "cf-connecting-ip": "192.0.2.99" }), assert, 410, "used_up", m.token);
    // A second POST (a second click) is a second download: used up.
    await problem(await post(m), assert, 410, "used_up", m.token);
    // After the grace window the same client cannot continue either.
    await new Promise((r) => setTimeout(r, 3200));
    const late = await w.fetch(linkFor(m), { headers: { range: "bytes=4000-", "cf-connecting-ip": "198.51.100.1", "user-agent": "dl/1" } });
    assert.equal(late.status, 410);
    await late.arrayBuffer();
  });

  test("a browser POST gets 303 to a client-bound, resumable, short-lived session URL", async () => {
    const m = link(2);
    const r = await post(m, { accept: "text/html,application/xhtml+xml" });
    assert.equal(r.status, 303);
    assert.equal(r.headers.get("cache-control"), "no-store");
    const loc = r.headers.get("location");
    assert.match(loc, /^\/pack\/board\.pdf\?lgs=/);
    assert.ok(!loc.includes(m.token), "the session URL is not the link");
    const me = { "cf-connecting-ip": "198.51.100.1", "user-agent": "dl/1" };
    const s = await w.fetch(`${BASE}${loc}`, { headers: { range: "bytes=10-19", ...me } });
    assert.equal(s.status, 206);
    assert.equal(s.headers.get("cache-control"), "no-store");
    assert.deepEqual(new Uint8Array(await s.arrayBuffer()), BODY.slice(10, 20));
    const full = await w.fetch(`${BASE}${loc}`, { headers: me });
    assert.equal(full.status, 200);
    assert.deepEqual(new Uint8Array(await full.arrayBuffer()), BODY);
    // Bound to the client that consumed the use (address and user agent).
    await problem(await w.fetch(`${BASE}${loc}`, { headers: { ...me, "cf-connecting-ip": "192.0.2.5" } }), assert, 410, "expired");
    await problem(await w.fetch(`${BASE}${loc}`, { headers: { ...me, "user-agent": "other/2" } }), assert, 410, "expired");
    // A session token is not a link, and a link is not a session.
    const sessionToken = loc.split("lgs=")[1];
    await problem(await w.fetch(`${BASE}/pack/board.pdf?lg=${sessionToken}`, { headers: { "cf-connecting-ip": "198.51.100.1" } }), assert, 403, "signature_invalid");
    await problem(await w.fetch(`${BASE}/pack/board.pdf?lgs=${m.token}`, { headers: { "cf-connecting-ip": "198.51.100.1" } }), assert, 403, "signature_invalid");
    await problem(await w.fetch(`${BASE}/pack/board.pdf?lg=${m.token}&lgs=${sessionToken}`, { headers: { "cf-connecting-ip": "198.51.100.1" } }), assert, 400, "token_malformed");
    // Short-lived: gone after the grace window.
    await new Promise((r) => setTimeout(r, 3200));
    await problem(await w.fetch(`${BASE}${loc}`, { headers: me }), assert, 410, "expired");
  });

  test("inspect shows uses consumed and the consumption history", async () => {
    const m = link(2);
    const r = await post(m, { "cf-connecting-ip": "198.51.100.7", "user-agent": "inspect-agent" });
    await r.arrayBuffer();
    const res = await w.fetch(`${BASE}/_linkgate/inspect`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json", "content-length": String(JSON.stringify({ link: m.url }).length) },
      body: JSON.stringify({ link: m.url }),
    });
    const body = await res.json();
    assert.equal(body.uses_consumed, 1);
    assert.equal(body.consumptions.length, 1);
    assert.equal(body.consumptions[0].client_ip, "198.51.100.7");
    assert.equal(body.consumptions[0].user_agent, "inspect-agent");
  });
});

describe("resume after expiry", () => {
  test("on: a Range continuing a download started before exp is served for the grace; nothing else is", async () => {
    // Object memo off: the test replaces the object in R2 behind the
    // worker's back and asserts on the very next request.
    const r = await startWorker({ keys: KEYS, vars: { LINKGATE_RESUME_GRACE_SECS: "30", LINKGATE_OBJECT_MEMO_SECS: "0" } });
    try {
      await r.r2.put("pack/board.pdf", BODY);
      const t = Math.floor(Date.now() / 1000);
      const m = sign(KEYS, ["--host", HOST, "--path", "/pack/board.pdf", "--issued-at", String(t - 10), "--expires-at", String(t + 2)]);
      const me = { "cf-connecting-ip": "198.51.100.20", "user-agent": "resumer/1" };
      const start = await r.fetch(linkFor(m), { headers: { ...me, range: "bytes=0-999" } });
      assert.equal(start.status, 206);
      await start.arrayBuffer();
      await new Promise((res) => setTimeout(res, 3000)); // now past exp
      const resume = await r.fetch(linkFor(m), { headers: { ...me, range: "bytes=1000-" } });
      assert.equal(resume.status, 206, "same client, same token, Range, within the grace");
      assert.equal(resume.headers.get("cache-control"), "no-store");
      assert.deepEqual(new Uint8Array(await resume.arrayBuffer()), BODY.slice(1000));
      await problem(await r.fetch(linkFor(m), { headers: me }), assert, 410, "expired", m.token);
      await problem(await r.fetch(linkFor(m), { headers: { "cf-connecting-ip": "192.0.2.1", "user-agent": "resumer/1", range: "bytes=1000-" } }), assert, 410, "expired");
      // A new object version is not the download that started.
      await r.r2.put("pack/board.pdf", BODY.slice(0, 4000));
      await problem(await r.fetch(linkFor(m), { headers: { ...me, range: "bytes=1000-" } }), assert, 410, "expired");
    } finally {
      await r.stop();
    }
  });

  test("off (default): an expired link is never resumed", async () => {
    const t = Math.floor(Date.now() / 1000);
    const m = sign(KEYS, ["--host", HOST, "--path", "/pack/board.pdf", "--issued-at", String(t - 10), "--expires-at", String(t + 2)]);
    const me = { "cf-connecting-ip": "198.51.100.21", "user-agent": "resumer/1" };
    const start = await w.fetch(linkFor(m), { headers: { ...me, range: "bytes=0-999" } });
    assert.equal(start.status, 206);
    await start.arrayBuffer();
    await new Promise((res) => setTimeout(res, 3000));
    await problem(await w.fetch(linkFor(m), { headers: { ...me, range: "bytes=1000-" } }), assert, 410, "expired", m.token);
  });
});

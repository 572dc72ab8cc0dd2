// End-to-end: the release worker in workerd (Miniflare) with real local KV,
// R2 and Cache. Covers every status row the edge produces, success headers,
// Range/HEAD/conditional requests, revocation scopes, fail-closed KV, prefix,
// IP and host bindings, the cache invariants and the no-token-in-logs rule.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { startWorker, sign, linkFor, newKeyEntry, problem, now, BASE, HOST } from "./harness.mjs";

const KEYS = `${newKeyEntry("e2e")},${newKeyEntry("old")}`;
const BODY = Buffer.from("0123456789".repeat(100)); // 1000 bytes
const logs = [];
let w;

before(async () => {
  // These tests write denylist entries straight into KV, behind the worker's
  // back, and expect the very next request to see them: no denylist memo
  // here (its window is tested on its own below).
  w = await startWorker({ keys: KEYS, vars: { LINKGATE_REFRESH_URL: "https://app.example/renew?f={path}", LINKGATE_DENYLIST_MEMO_SECS: "0", LINKGATE_DEBUG_HEADERS: "on" }, logs });
  await w.r2.put("docs/report.pdf", BODY, { httpMetadata: { contentType: "application/pdf" } });
  await w.r2.put("docs/other.pdf", Buffer.from("other"));
  await w.r2.put("board/2026/q3/pack.pdf", Buffer.from("board pack"));
  await w.r2.put("boardroom/x.pdf", Buffer.from("not in board/"));
  await w.r2.put("empty.bin", Buffer.alloc(0));
  await w.r2.put("café/ü b.txt", Buffer.from("unicode"));
});

after(async () => {
  await w?.stop();
});

const minted = (args) => sign(KEYS, ["--host", HOST, ...args]);

describe("status table", () => {
  test("401 token_missing", async () => {
    await problem(await w.fetch(`${BASE}/docs/report.pdf`), assert, 401, "token_missing");
    await problem(await w.fetch(`${BASE}/docs/report.pdf?lg=`), assert, 401, "token_missing");
  });

  test("400 token_malformed", async () => {
    for (const t of ["!!!", "AAAA", "a".repeat(5000), "AQ", "Zh"]) {
      await problem(await w.fetch(`${BASE}/docs/report.pdf?lg=${t}`), assert, 400, "token_malformed", t);
    }
    const m = minted(["--path", "/docs/report.pdf", "--ttl", "1h"]);
    await problem(await w.fetch(`${linkFor(m)}&lg=${m.token}`), assert, 400, "token_malformed", m.token);
  });

  test("400 path_invalid", async () => {
    const m = minted(["--path", "/docs/report.pdf", "--ttl", "1h"]);
    for (const p of ["/docs%2Freport.pdf", "/docs/%00x", "/docs/a%5Cb", "/docs//report.pdf", "/docs/%FF", "/docs/%E0%A4", "/docs/%0Ax", "/a%ZZ", `/${"a".repeat(1100)}`]) {
      const res = await w.fetch(`${BASE}${p}?lg=${m.token}`);
      await problem(res, assert, 400, "path_invalid", m.token);
    }
  });

  test("403 signature_invalid and key_unknown", async () => {
    const m = minted(["--path", "/docs/report.pdf", "--ttl", "1h"]);
    const t = m.token;
    const flipped = t.slice(0, -5) + (t.at(-5) === "A" ? "B" : "A") + t.slice(-4);
    await problem(await w.fetch(`${BASE}/docs/report.pdf?lg=${flipped}`), assert, 403, "signature_invalid", flipped);
    const foreign = sign(newKeyEntry("stranger"), ["--path", "/docs/report.pdf", "--ttl", "1h"]);
    await problem(await w.fetch(`${BASE}/docs/report.pdf?lg=${foreign.token}`), assert, 403, "key_unknown", foreign.token);
    const forged = sign(newKeyEntry("e2e"), ["--path", "/docs/report.pdf", "--ttl", "1h"]);
    await problem(await w.fetch(`${BASE}/docs/report.pdf?lg=${forged.token}`), assert, 403, "signature_invalid");
  });

  test("403 scope_mismatch, host_mismatch, ip_mismatch", async () => {
    const m = minted(["--path", "/docs/report.pdf", "--ttl", "1h"]);
    await problem(await w.fetch(linkFor(m, "/docs/other.pdf")), assert, 403, "scope_mismatch", m.token);
    await problem(await w.fetch(linkFor(m).replace(HOST, "evil.example.test")), assert, 403, "host_mismatch", m.token);
    const ip = minted(["--path", "/docs/report.pdf", "--ttl", "1h", "--ip", "192.0.2.0/24", "--ip", "2001:db8::/32"]);
    const from = (addr) => w.fetch(linkFor(ip), addr ? { headers: { "cf-connecting-ip": addr } } : {});
    await problem(await from("198.51.100.7"), assert, 403, "ip_mismatch");
    await problem(await from(null), assert, 403, "ip_mismatch");
    assert.equal((await from("192.0.2.77")).status, 200);
    assert.equal((await from("2001:db8::9")).status, 200);
    assert.equal((await from("::ffff:192.0.2.1")).status, 200);
  });

  test("405 method_not_allowed", async () => {
    const m = minted(["--path", "/docs/report.pdf", "--ttl", "1h"]);
    for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      const res = await w.fetch(linkFor(m), { method, body: method === "POST" || method === "PUT" ? "x" : undefined });
      await problem(res, assert, 405, "method_not_allowed", m.token);
    }
  });

  test("403 not_yet_valid and policy_denied, 410 expired with refresh", async () => {
    const t = now();
    const early = minted(["--path", "/docs/report.pdf", "--issued-at", String(t), "--not-before", String(t + 600), "--ttl", "1h"]);
    await problem(await w.fetch(linkFor(early)), assert, 403, "not_yet_valid", early.token);
    const future = minted(["--path", "/docs/report.pdf", "--issued-at", String(t + 600), "--ttl", "1h"]);
    await problem(await w.fetch(linkFor(future)), assert, 403, "not_yet_valid", future.token);
    const old = minted(["--path", "/docs/report.pdf", "--issued-at", String(t - 7200), "--expires-at", String(t - 1)]);
    const body = await problem(await w.fetch(linkFor(old)), assert, 410, "expired", old.token);
    assert.equal(body.refresh, "https://app.example/renew?f=/docs/report.pdf");
  });

  test("404 not_found and 416 range_not_satisfiable", async () => {
    const m = minted(["--path", "/docs/", "--prefix", "--ttl", "1h"]);
    await problem(await w.fetch(linkFor(m, "/docs/missing.pdf")), assert, 404, "not_found", m.token);
    const r = minted(["--path", "/docs/report.pdf", "--ttl", "1h"]);
    for (const range of ["bytes=1000-", "bytes=5-2", "bytes=abc", "items=0-1", "bytes=-0", "bytes=99999999999999999999-"]) {
      const res = await w.fetch(linkFor(r), { headers: { range } });
      await problem(res, assert, 416, "range_not_satisfiable", r.token);
      assert.equal(res.headers.get("content-range"), "bytes */1000", range);
    }
  });

  test("policy_denied when a link outlives LINKGATE_MAX_TTL_SECS", async () => {
    const short = await startWorker({ keys: KEYS, vars: { LINKGATE_MAX_TTL_SECS: "600" } });
    try {
      await short.r2.put("docs/report.pdf", BODY);
      const m = minted(["--path", "/docs/report.pdf", "--ttl", "1h"]);
      await problem(await short.fetch(linkFor(m)), assert, 403, "policy_denied", m.token);
      const ok = minted(["--path", "/docs/report.pdf", "--ttl", "10m"]);
      assert.equal((await short.fetch(linkFor(ok))).status, 200);
    } finally {
      await short.stop();
    }
  });

  test("the denylist memo hides a KV write for at most its lifetime", async () => {
    const memo = await startWorker({ keys: KEYS, vars: { LINKGATE_DENYLIST_MEMO_SECS: "1" } });
    try {
      await memo.r2.put("docs/report.pdf", BODY);
      const m = minted(["--path", "/docs/report.pdf", "--ttl", "1h"]);
      const first = await memo.fetch(linkFor(m));
      await first.arrayBuffer();
      assert.equal(first.status, 200);
      const t0 = Date.now();
      await memo.kv.put(`jti:${m.jti}`, JSON.stringify({ scope: "jti", value: m.jti, revoked_at: now() }));
      // Within the second the memo may still answer; after it, KV must.
      let status;
      do {
        const r = await memo.fetch(linkFor(m));
        await r.arrayBuffer();
        status = r.status;
        if (status === 410) break;
        assert.ok(Date.now() - t0 < 1000, "served from the memo after its lifetime");
        await new Promise((r) => setTimeout(r, 100));
      } while (Date.now() - t0 < 1500);
      assert.equal(status, 410, "revoked once the memo expired");
    } finally {
      await memo.stop();
    }
  });

  test("the object memo: edge-cache hits skip R2 for at most its lifetime; admin uploads are seen at once", async () => {
    const ADMIN = randomBytes(32).toString("hex");
    const memo = await startWorker({
      keys: KEYS,
      vars: { LINKGATE_OBJECT_MEMO_SECS: "2", LINKGATE_DEBUG_HEADERS: "on", LINKGATE_ADMIN_TOKEN: ADMIN },
    });
    const get = async (m) => {
      const r = await memo.fetch(linkFor(m));
      return { status: r.status, cache: r.headers.get("x-linkgate-cache"), body: Buffer.from(await r.arrayBuffer()) };
    };
    try {
      await memo.r2.put("docs/memo.pdf", BODY);
      const m = minted(["--path", "/docs/memo.pdf", "--ttl", "1h"]);
      // The memo entry is at most as old as this request (its R2 read).
      const read = Date.now();
      assert.equal((await get(m)).cache, "miss");
      // The cache write is best-effort in waitUntil: wait for the first hit.
      let hit;
      for (let i = 0; i < 20 && hit?.cache !== "hit"; i++) {
        await new Promise((r) => setTimeout(r, 20));
        hit = await get(m);
      }
      assert.equal(hit.cache, "hit");
      // Delete the object behind the worker's back. A hit answered from the
      // memo asks R2 nothing, so it is still served within the lifetime ...
      await memo.r2.delete("docs/memo.pdf");
      const asked = Date.now();
      const stale = await get(m);
      if (asked - read < 1500) {
        assert.equal(stale.status, 200, "a hit within the memo's lifetime does not ask R2");
        assert.equal(stale.cache, "hit");
        assert.deepEqual(stale.body, BODY);
      }
      // ... and never after it.
      let last = stale;
      while (last.status === 200) {
        // 2 s lifetime, plus slack for workerd's coarse request clock.
        assert.ok(Date.now() - read < 2500, "described from the memo after its lifetime");
        await new Promise((r) => setTimeout(r, 100));
        last = await get(m);
      }
      assert.equal(last.status, 404, "a deleted object is refused once the memo expired");

      // An upload through the admin API is seen by its isolate at once.
      const first = Buffer.from("first version");
      const second = Buffer.from("second version, longer");
      const put = (body) =>
        memo.fetch(`${BASE}/_linkgate/files/docs/memo.pdf`, {
          method: "PUT",
          headers: { authorization: `Bearer ${ADMIN}`, "content-length": String(body.length) },
          body,
        });
      assert.equal((await put(first)).status, 201);
      assert.deepEqual((await get(m)).body, first);
      assert.equal((await put(second)).status, 201);
      const after = await get(m);
      assert.equal(after.status, 200);
      assert.deepEqual(after.body, second, "the memo must not describe the replaced version");
    } finally {
      await memo.stop();
    }
  });

  test("503 store_unavailable when the denylist cannot be read (fail closed)", async () => {
    const broken = await startWorker({ keys: KEYS, omit: ["LINKGATE_DENYLIST"] });
    try {
      await broken.r2.put("docs/report.pdf", BODY);
      const m = minted(["--path", "/docs/report.pdf", "--ttl", "1h"]);
      await problem(await broken.fetch(linkFor(m)), assert, 503, "store_unavailable", m.token);
    } finally {
      await broken.stop();
    }
  });

  test("503 store_unavailable for bounded-use links without a usage store", async () => {
    const broken = await startWorker({ keys: KEYS, omit: ["LINKGATE_USAGE"] });
    try {
      await broken.r2.put("docs/report.pdf", BODY);
      const m = minted(["--path", "/docs/report.pdf", "--ttl", "1h", "--uses", "1"]);
      await problem(await broken.fetch(linkFor(m), { method: "POST" }), assert, 503, "store_unavailable", m.token);
    } finally {
      await broken.stop();
    }
  });

  test("admin API is off (404) without LINKGATE_ADMIN_TOKEN", async () => {
    await problem(await w.fetch(`${BASE}/_linkgate/links`, { method: "POST", body: "{}" }), assert, 404, "not_found");
  });
});

describe("successful downloads", () => {
  test("GET streams the object with every contract header", async () => {
    const m = minted(["--path", "/docs/report.pdf", "--ttl", "1h", "--filename", "Q3 – rapport.pdf"]);
    const t = now();
    const res = await w.fetch(linkFor(m));
    const got = Buffer.from(await res.arrayBuffer());
    assert.equal(res.status, 200);
    assert.deepEqual(got, BODY);
    const h = res.headers;
    assert.equal(h.get("content-type"), "application/pdf");
    assert.equal(h.get("content-length"), "1000");
    assert.equal(h.get("accept-ranges"), "bytes");
    assert.match(h.get("etag"), /^"[^"]+"$/);
    assert.ok(Date.parse(h.get("last-modified")) > 0);
    assert.equal(h.get("content-disposition"), `attachment; filename="Q3 _ rapport.pdf"; filename*=UTF-8''Q3%20%E2%80%93%20rapport.pdf`);
    assert.equal(h.get("referrer-policy"), "no-referrer");
    assert.equal(h.get("x-robots-tag"), "noindex, nofollow");
    assert.equal(h.get("x-content-type-options"), "nosniff");
    const cc = h.get("cache-control");
    assert.match(cc, /^private, max-age=\d+$/);
    assert.ok(Number(cc.split("=")[1]) <= m.expires_at - t);
    assert.ok(Date.parse(h.get("expires")) / 1000 <= m.expires_at);
  });

  test("default filename is the object's name; signed content type wins", async () => {
    const m = minted(["--path", "/café/ü b.txt", "--ttl", "1h", "--content-type", "text/plain; charset=utf-8"]);
    const res = await w.fetch(m.url.replace("https://files.example.test", BASE));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "unicode");
    assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(res.headers.get("content-disposition"), `attachment; filename="_ b.txt"; filename*=UTF-8''%C3%BC%20b.txt`);
  });

  test("HEAD returns headers and no body, Range gives 206, conditionals give 304", async () => {
    const m = minted(["--path", "/docs/report.pdf", "--ttl", "1h"]);
    const head = await w.fetch(linkFor(m), { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), "1000");
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    const etag = head.headers.get("etag");
    const lastModified = head.headers.get("last-modified");

    const cases = [
      ["bytes=0-9", 0, 9],
      ["bytes=990-", 990, 999],
      ["bytes=-5", 995, 999],
      ["bytes=995-5000", 995, 999],
      ["bytes=0-0", 0, 0],
      ["BYTES = 10 - 19", 10, 19],
    ];
    for (const [range, start, end] of cases) {
      const res = await w.fetch(linkFor(m), { headers: { range } });
      assert.equal(res.status, 206, range);
      assert.equal(res.headers.get("content-range"), `bytes ${start}-${end}/1000`, range);
      assert.equal(res.headers.get("content-length"), String(end - start + 1), range);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), BODY.subarray(start, end + 1), range);
    }
    const hr = await w.fetch(linkFor(m), { method: "HEAD", headers: { range: "bytes=0-9" } });
    assert.equal(hr.status, 206);
    // Multi-range: documented choice is the whole object with 200.
    const multi = await w.fetch(linkFor(m), { headers: { range: "bytes=0-1,5-6" } });
    assert.equal(multi.status, 200);
    assert.equal((await multi.arrayBuffer()).byteLength, 1000);
    // If-Range with a stale validator: whole object.
    const ifr = await w.fetch(linkFor(m), { headers: { range: "bytes=0-9", "if-range": '"stale"' } });
    assert.equal(ifr.status, 200);
    await ifr.arrayBuffer();
    const ifr2 = await w.fetch(linkFor(m), { headers: { range: "bytes=0-9", "if-range": etag } });
    assert.equal(ifr2.status, 206);
    await ifr2.arrayBuffer();

    const inm = await w.fetch(linkFor(m), { headers: { "if-none-match": etag } });
    assert.equal(inm.status, 304);
    assert.equal(inm.headers.get("etag"), etag);
    assert.match(inm.headers.get("cache-control"), /^private, max-age=/);
    const weak = await w.fetch(linkFor(m), { headers: { "if-none-match": `W/${etag}` } });
    assert.equal(weak.status, 304);
    const ims = await w.fetch(linkFor(m), { headers: { "if-modified-since": lastModified } });
    assert.equal(ims.status, 304);
    const other = await w.fetch(linkFor(m), { headers: { "if-none-match": '"nope"' } });
    assert.equal(other.status, 200);
    await other.arrayBuffer();
    // Authorization still comes first: a conditional request with a bad link is refused.
    await problem(await w.fetch(linkFor(m, "/docs/other.pdf"), { headers: { "if-none-match": etag } }), assert, 403, "scope_mismatch");
  });

  test("empty objects: 200 with no bytes; any range is 416", async () => {
    const m = minted(["--path", "/empty.bin", "--ttl", "1h"]);
    const res = await w.fetch(linkFor(m));
    assert.equal(res.status, 200);
    assert.equal((await res.arrayBuffer()).byteLength, 0);
    await problem(await w.fetch(linkFor(m), { headers: { range: "bytes=0-" } }), assert, 416, "range_not_satisfiable");
  });

  test("prefix links cover whole segments only", async () => {
    const m = minted(["--path", "/board/", "--prefix", "--ttl", "1h"]);
    const ok = await w.fetch(linkFor(m, "/board/2026/q3/pack.pdf"));
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), "board pack");
    await problem(await w.fetch(linkFor(m, "/boardroom/x.pdf")), assert, 403, "scope_mismatch", m.token);
    await problem(await w.fetch(linkFor(m, "/docs/report.pdf")), assert, 403, "scope_mismatch", m.token);
  });

  test("a link signed by the second (rotating-out) key still works", async () => {
    const m = sign(KEYS, ["--host", HOST, "--kid", "old", "--path", "/docs/other.pdf", "--ttl", "1h"]);
    const res = await w.fetch(linkFor(m));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "other");
  });
});

describe("revocation", () => {
  const entry = (scope, value, revokedAt) =>
    JSON.stringify({ scope, value, reason: "test", actor: "e2e", revoked_at: revokedAt });

  test("every scope revokes; sub/tenant/all spare links issued after the cut-off, kid spares none", async () => {
    const t = now();
    // Third column: does a link issued after the entry still work? Yes for
    // the cut-off scopes and for jti (another link), no for path entries and
    // no for kid entries (a thief holding the key picks iat).
    const scopes = [
      ["jti", (m) => m.jti, true],
      ["sub", () => "rcpt-1", true],
      ["tenant", () => "acme", true],
      ["path", () => "/board/2026/", false],
      ["path", () => "/board/2026/q3/pack.pdf", false],
      ["kid", () => "e2e", false],
      ["all", () => "", true],
    ];
    for (const [scope, valueOf, freshWorks] of scopes) {
      const m = minted(["--path", "/board/", "--prefix", "--ttl", "1h", "--sub", "rcpt-1", "--tenant", "acme", "--issued-at", String(t - 100)]);
      const url = linkFor(m, "/board/2026/q3/pack.pdf");
      const value = valueOf(m);
      assert.equal((await w.fetch(url)).status, 200, `${scope} before revocation`);
      const key = scope === "all" ? "all" : `${scope}:${value}`;
      await w.kv.put(key, entry(scope, value, t - 50));
      const body = await problem(await w.fetch(url), assert, 410, "revoked", m.token);
      assert.ok(body.refresh.startsWith("https://app.example/renew"), "revoked offers refresh");
      // A link issued after the revocation time.
      const fresh = minted(["--path", "/board/", "--prefix", "--ttl", "1h", "--sub", "rcpt-1", "--tenant", "acme", "--issued-at", String(t - 10)]);
      const freshRes = await w.fetch(linkFor(fresh, "/board/2026/q3/pack.pdf"));
      if (freshWorks) {
        assert.equal(freshRes.status, 200, `${scope}: a link issued after the cut-off works`);
      } else {
        await problem(freshRes, assert, 410, "revoked");
      }
      await w.kv.delete(key);
      assert.equal((await w.fetch(url)).status, 200, `${scope} lifted`);
    }
  });

  test("a hand-written, unparsable entry still revokes", async () => {
    const m = minted(["--path", "/docs/other.pdf", "--ttl", "1h"]);
    await w.kv.put(`jti:${m.jti}`, "revoked by hand");
    await problem(await w.fetch(linkFor(m)), assert, 410, "revoked", m.token);
    await w.kv.delete(`jti:${m.jti}`);
  });
});

describe("cache invariants", () => {
  function filesUnder(dir) {
    const out = [];
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) out.push(...filesUnder(p));
      else out.push(p);
    }
    return out;
  }

  test("recipients share one cached copy keyed without the token", async () => {
    const a = minted(["--path", "/docs/report.pdf", "--ttl", "1h", "--sub", "alice-1"]);
    const b = minted(["--path", "/docs/", "--prefix", "--ttl", "2h", "--sub", "bob-2"]);
    const first = await w.fetch(linkFor(a));
    assert.deepEqual(Buffer.from(await first.arrayBuffer()), BODY);
    // The cache write is best-effort in waitUntil; give it a moment.
    let second;
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 100));
      second = await w.fetch(linkFor(b, "/docs/report.pdf"));
      if (second.headers.get("x-linkgate-cache") === "hit") break;
      await second.arrayBuffer();
    }
    assert.equal(second.headers.get("x-linkgate-cache"), "hit", "second recipient is a cache hit");
    assert.deepEqual(Buffer.from(await second.arrayBuffer()), BODY);
    // Each recipient's own expiry governs its headers, not the cached copy's.
    assert.ok(Number(second.headers.get("cache-control").split("=")[1]) <= b.expires_at - now() + 1);

    // Nothing persisted by the cache mentions either token (or any token prefix).
    for (const f of filesUnder(join(w.persist, "cache"))) {
      const data = readFileSync(f).toString("latin1");
      for (const t of [a.token, b.token]) {
        assert.ok(!data.includes(t.slice(0, 24)), `cache file ${f} holds token material`);
      }
      assert.ok(!data.includes("lg="), `cache file ${f} holds a link query`);
    }
  });

  test("a cached object is not served to an expired or revoked link", async () => {
    const t = now();
    const short = minted(["--path", "/docs/report.pdf", "--issued-at", String(t), "--expires-at", String(t + 2)]);
    const ok = await w.fetch(linkFor(short));
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    const cc = ok.headers.get("cache-control");
    assert.ok(Number(cc.split("=")[1]) <= 2, cc);
    await new Promise((r) => setTimeout(r, 2100));
    await problem(await w.fetch(linkFor(short)), assert, 410, "expired", short.token);

    const rev = minted(["--path", "/docs/report.pdf", "--ttl", "1h"]);
    const warm = await w.fetch(linkFor(rev));
    await warm.arrayBuffer();
    await w.kv.put(`jti:${rev.jti}`, JSON.stringify({ scope: "jti", value: rev.jti, revoked_at: now() }));
    await problem(await w.fetch(linkFor(rev)), assert, 410, "revoked", rev.token);
  });
});

describe("robustness", () => {
  test("no client input produces a 5xx", async () => {
    const m = minted(["--path", "/docs/report.pdf", "--ttl", "1h"]);
    const paths = ["/", "/%", "/%%", "/..", "/./x", "/a/../../etc/passwd", "/\u0000", "/%C0%AE%C0%AE/", "/a;b", "/a?lg=x", "/%2e%2e/x", "/docs/report.pdf/", "//docs/report.pdf"];
    const tokens = ["", "A", "=", "%00", m.token + "A", m.token.slice(1), "~~~~", "\u00e9", m.token.toLowerCase()];
    const headerSets = [
      {},
      { range: "bytes=" },
      { range: "bytes=--1" },
      { range: "bytes=0-1".repeat(300) },
      { "if-none-match": "\"" },
      { "if-modified-since": "yesterday" },
      { "if-range": "W/" },
      { "cf-connecting-ip": "not-an-ip" },
      { "cf-connecting-ip": "999.1.1.1" },
      { host: "" },
    ];
    let n = 0;
    for (const p of paths) {
      for (const t of tokens) {
        const res = await w.fetch(`${BASE}${p}?lg=${encodeURIComponent(t)}`);
        assert.ok(res.status < 500, `${p} ${t} → ${res.status}`);
        await res.arrayBuffer();
        n++;
      }
    }
    for (const headers of headerSets) {
      const res = await w.fetch(linkFor(m), { headers });
      assert.ok(res.status < 500, `${JSON.stringify(headers)} → ${res.status}`);
      await res.arrayBuffer();
      n++;
    }
    assert.ok(n > 100);
  });

  test("a stored content type with a line break is refused whole, never split into headers", async () => {
    // R2 keeps whatever metadata an uploader set. The worker hands a
    // download's headers to the runtime as one "name\nvalue\n…" string,
    // so a line break inside a value would otherwise become a header of
    // its own; such a value fails the response instead (503, as the
    // runtime's Headers would refuse it).
    for (const ct of ["text/plain\nx-injected\nyes", "text/plain\r\nx-injected: yes"]) {
      await w.r2.put("docs/split.txt", Buffer.from("split"), { httpMetadata: { contentType: ct } });
      const m = minted(["--path", "/docs/split.txt", "--ttl", "1h"]);
      // GET also fills the edge cache (its copy's headers are checked on
      // their own); HEAD goes straight to the response.
      for (const method of ["GET", "HEAD"]) {
        const res = await w.fetch(linkFor(m), { method });
        assert.equal(res.headers.get("x-injected"), null, method);
        assert.equal(res.status, 503, method);
        if (method === "GET") await problem(res, assert, 503, "store_unavailable", m.token);
      }
    }
    // The same bytes with a plain type download (another key: the object
    // memo may hold the first one's metadata for its lifetime).
    await w.r2.put("docs/plain.txt", Buffer.from("split"), { httpMetadata: { contentType: "text/plain" } });
    const ok = await w.fetch(linkFor(minted(["--path", "/docs/plain.txt", "--ttl", "1h"])));
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), "split");
  });

  test("logs carry audit events and never a token", async () => {
    const m = minted(["--path", "/docs/report.pdf", "--ttl", "1h", "--sub", "log-check"]);
    const res = await w.fetch(linkFor(m), { headers: { "user-agent": "e2e-agent" } });
    await res.arrayBuffer();
    await w.fetch(linkFor(m, "/docs/other.pdf")).then((r) => r.arrayBuffer());
    await new Promise((r) => setTimeout(r, 300));
    const text = logs.join("");
    const events = text
      .split("\n")
      .map((l) => l.slice(l.indexOf("{")))
      .filter((l) => l.startsWith("{"))
      .map((l) => {
        try {
          return JSON.parse(l);
        } catch {
          return null;
        }
      })
      .filter((e) => e && e.request_id && e.jti === m.jti);
    assert.ok(events.length >= 2, `audit events for the link: ${events.length}`);
    const allowed = events.find((e) => e.outcome === "allowed");
    assert.equal(allowed.status, 200);
    assert.equal(allowed.sub, "log-check");
    assert.equal(allowed.path, "/docs/report.pdf");
    assert.equal(allowed.user_agent, "e2e-agent");
    assert.equal(allowed.kid, "e2e");
    const refused = events.find((e) => e.outcome === "refused");
    assert.equal(refused.code, "scope_mismatch");
    // No token material anywhere in the captured log output.
    assert.ok(!text.includes(m.token.slice(0, 24)), "a token reached the log");
    assert.ok(!text.includes("lg="), "a link query reached the log");
  });
});

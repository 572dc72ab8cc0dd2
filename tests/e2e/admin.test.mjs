// End-to-end: the admin API, the audit pipeline (Queue → D1) and the
// classification policy, against the release worker in workerd with real
// local KV, R2, D1 and Queues.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { startWorker, sign, linkFor, newKeyEntry, problem, now, BASE, HOST } from "./harness.mjs";

const KEYS = newKeyEntry("adm");
const ADMIN = "test-admin-token-0123456789-abcdefghij";
let w;

const api = (path, { method = "GET", body, token = ADMIN, headers = {}, worker = w } = {}) => {
  const text = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  return worker.fetch(`${BASE}/_linkgate/${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(text !== undefined ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) } : {}),
      ...headers,
    },
    body: text,
  });
};

async function json(res, status) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return JSON.parse(text);
}

async function eventsFor(query, want = 1) {
  // The queue consumer writes in batches; poll briefly.
  for (let i = 0; i < 50; i++) {
    const body = await json(await api(`events?${query}`), 200);
    if (body.events.length >= want) return body;
    await new Promise((r) => setTimeout(r, 100));
  }
  return json(await api(`events?${query}`), 200);
}

before(async () => {
  w = await startWorker({ keys: KEYS, vars: { LINKGATE_ADMIN_TOKEN: ADMIN } });
  const put = (path, body, classification) =>
    api(`files/${path}`, { method: "PUT", body, headers: { "content-type": "application/pdf", ...(classification ? { "x-linkgate-classification": classification } : {}) } });
  for (const [path, c] of [["pub/a.pdf", "public"], ["int/a.pdf", "internal"], ["conf/a.pdf", "confidential"], ["restr/a.pdf", "restricted"], ["plain/a.pdf", null]]) {
    const res = await put(path, `content of ${path}`, c);
    const b = await json(res, 201);
    assert.equal(b.path, `/${path}`);
    assert.equal(b.classification, c);
  }
});

after(async () => {
  await w?.stop();
});

describe("auth", () => {
  test("missing or wrong bearer is 401 with WWW-Authenticate; admin off is 404", async () => {
    for (const token of [null, "wrong", ADMIN + "x", ADMIN.slice(0, -1)]) {
      const res = await api("revocations", { token });
      await problem(res, assert, 401, "unauthorized");
      assert.equal(res.headers.get("www-authenticate"), "Bearer");
    }
    // The token is case-sensitive ...
    const res = await w.fetch(`${BASE}/_linkgate/revocations`, { headers: { authorization: `Bearer ${ADMIN.toUpperCase()}` } });
    await problem(res, assert, 401, "unauthorized");
  });

  test("A15: the auth scheme is case-insensitive (RFC 9110)", async () => {
    for (const scheme of ["bearer", "BEARER", "Bearer"]) {
      const res = await w.fetch(`${BASE}/_linkgate/revocations`, { headers: { authorization: `${scheme} ${ADMIN}` } });
      assert.equal(res.status, 200, `${scheme}: ${await res.text()}`);
    }
    const res = await w.fetch(`${BASE}/_linkgate/revocations`, { headers: { authorization: `Basic ${ADMIN}` } });
    await problem(res, assert, 401, "unauthorized");
  });

  test("unknown routes 404, wrong methods 405 with Allow", async () => {
    await problem(await api("nope"), assert, 404, "not_found");
    const res = await api("links");
    await problem(res, assert, 405, "method_not_allowed");
    assert.equal(res.headers.get("allow"), "POST");
  });
});

describe("minting and inspecting", () => {
  test("mint → download → event visible with the deciding rule", async () => {
    const m = await json(await api("links", { method: "POST", body: { path: "/int/a.pdf", ttl: "15m", sub: "r-1" } }), 201);
    assert.match(m.jti, /^[0-9a-f]{32}$/);
    assert.equal(m.issued_by, "edge");
    assert.ok(m.expires_at - now() <= 900 && m.expires_at - now() > 890);
    assert.ok(m.url.startsWith(`${BASE}/int/a.pdf?lg=`));
    const res = await w.fetch(m.url);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "content of int/a.pdf");
    const ev = await eventsFor(`jti=${m.jti}&outcome=allowed`);
    assert.equal(ev.events.length, 1);
    const e = ev.events[0];
    assert.equal(e.rule, "classification:internal");
    assert.equal(e.sub, "r-1");
    assert.equal(e.path, "/int/a.pdf");
    assert.equal(e.issued_by, "edge");
    assert.equal(e.status, 200);
    // An offline-signed link's events say so.
    const off = sign(KEYS, ["--host", HOST, "--path", "/int/a.pdf", "--ttl", "1h"]);
    await (await w.fetch(linkFor(off))).arrayBuffer();
    const oe = await eventsFor(`jti=${off.jti}`);
    assert.equal(oe.events[0].issued_by, "offline");
  });

  test("jti values are unique and random", async () => {
    const seen = new Set();
    for (let i = 0; i < 20; i++) {
      const m = await json(await api("links", { method: "POST", body: { path: "/int/a.pdf", ttl: 60 } }), 201);
      seen.add(m.jti);
    }
    assert.equal(seen.size, 20);
  });

  test("bad mint requests are 400 naming the field; policy refusals are 403 with the rule", async () => {
    const cases = [
      [{ ttl: 60 }, "path"],
      [{ path: "/int/a.pdf" }, "ttl"],
      [{ path: "/int/a.pdf", ttl: "forever" }, "ttl"],
      [{ path: "/int/a.pdf", ttl: 60, sub: "a@b.c" }, "sub"],
      [{ path: "/int/../a.pdf", ttl: 60 }, "scope"],
      [{ path: "/int/a.pdf", ttl: 60, ip: ["10.0.0.1/8"] }, "ip"],
      [{ path: "/int/a.pdf", ttl: 60, colour: "red" }, "colour"],
      [{ path: "/int/a.pdf", ttl: 8 * 86400 }, "exp"],
    ];
    for (const [body, field] of cases) {
      const p = await problem(await api("links", { method: "POST", body }), assert, 400, "invalid_request");
      assert.equal(p.field, field, JSON.stringify(body));
    }
    const p = await problem(await api("links", { method: "POST", body: "{not json" }), assert, 400, "invalid_request");
    assert.equal(p.field, "body");
    const big = await problem(await api("links", { method: "POST", body: JSON.stringify({ path: "/a", ttl: 60, filename: "x".repeat(70000) }) }), assert, 400, "invalid_request");
    assert.equal(big.field, "body");
    const denied = await problem(await api("links", { method: "POST", body: { path: "/restr/a.pdf", ttl: 600 } }), assert, 403, "policy_denied");
    assert.equal(denied.rule, "restricted.require_sub");
    const plain = await problem(await api("links", { method: "POST", body: { path: "/restr/a.pdf", ttl: 600, sub: "r-9" } }), assert, 403, "policy_denied");
    assert.equal(plain.rule, "restricted.require_sealed");
    const ok = await json(await api("links", { method: "POST", body: { path: "/restr/a.pdf", ttl: 600, sub: "r-9", sealed: true } }), 201);
    assert.equal((await w.fetch(ok.url)).status, 200);
  });

  test("inspect reports claims, verdict, code and revocation state", async () => {
    const m = await json(await api("links", { method: "POST", body: { path: "/int/a.pdf", ttl: 600, tenant: "acme" } }), 201);
    let r = await json(await api("inspect", { method: "POST", body: { link: m.url } }), 200);
    assert.equal(r.verdict, "valid");
    assert.equal(r.claims.tenant, "acme");
    assert.equal(r.revocation, null);
    r = await json(await api("inspect", { method: "POST", body: { token: m.token, path: "/int/b.pdf" } }), 200);
    assert.equal(r.code, "scope_mismatch");
    await json(await api("revocations", { method: "POST", body: { scope: "tenant", value: "acme", reason: "audit" } }), 201);
    r = await json(await api("inspect", { method: "POST", body: { link: m.url } }), 200);
    assert.equal(r.verdict, "refused");
    assert.equal(r.code, "revoked");
    assert.equal(r.revocation.scope, "tenant");
    assert.equal(r.revocation.reason, "audit");
    await json(await api("revocations/tenant/acme", { method: "DELETE" }), 200);
    const bad = await json(await api("inspect", { method: "POST", body: { token: m.token.slice(0, -3) + "AAA" } }), 200);
    assert.equal(bad.code, "signature_invalid");
    assert.equal(bad.claims, null, "unauthenticated claims are never returned");
  });
});

describe("revocations", () => {
  test("revoke each scope through the API → 410; list; lift → 200", async () => {
    const mk = () => sign(KEYS, ["--host", HOST, "--path", "/int/", "--prefix", "--ttl", "1h", "--sub", "r-77", "--tenant", "t-77", "--issued-at", String(now() - 5)]);
    for (const [scope, valueOf] of [
      ["jti", (m) => m.jti],
      ["sub", () => "r-77"],
      ["tenant", () => "t-77"],
      ["path", () => "/int/"],
      ["path", () => "/int/a.pdf"],
      ["kid", () => "adm"],
      ["all", () => ""],
    ]) {
      const m = mk();
      const url = linkFor(m, "/int/a.pdf");
      assert.equal((await w.fetch(url)).status, 200, `${scope} before`);
      const value = valueOf(m);
      const entry = await json(await api("revocations", { method: "POST", body: { scope, value, reason: `test ${scope}`, actor: "e2e" } }), 201);
      assert.equal(entry.scope, scope);
      assert.equal(entry.actor, "e2e");
      assert.ok(Math.abs(entry.revoked_at - now()) <= 2);
      // Path and kid entries never lapse by themselves (a kid entry has no iat cut-off).
      if (scope === "path" || scope === "kid") assert.equal(entry.expires_at, null);
      else assert.ok(entry.expires_at > now());
      await problem(await w.fetch(url), assert, 410, "revoked", m.token);
      const list = await json(await api(`revocations?scope=${scope}`), 200);
      assert.ok(list.entries.some((e) => e.value === value && e.scope === scope), `${scope} listed`);
      const enc = encodeURIComponent(value);
      const lifted = await json(await api(`revocations/${scope}/${enc}`, { method: "DELETE" }), 200);
      assert.equal(lifted.lifted.value, value);
      assert.equal((await w.fetch(url)).status, 200, `${scope} lifted`);
    }
    await problem(await api("revocations/sub/nobody", { method: "DELETE" }), assert, 404, "not_found");
  });

  test("bad revocations are 400 naming the field; listing paginates", async () => {
    for (const [body, field] of [
      [{ scope: "jti", value: "xyz", reason: "r" }, "value"],
      [{ scope: "galaxy", value: "x", reason: "r" }, "scope"],
      [{ scope: "sub", value: "u" }, "reason"],
      [{ scope: "all", value: "x", reason: "r" }, "value"],
    ]) {
      const p = await problem(await api("revocations", { method: "POST", body }), assert, 400, "invalid_request");
      assert.equal(p.field, field);
    }
    // A14: free text shows what it says: no bidi overrides, separators,
    // zero-width or control characters in reason or actor.
    for (const hidden of ["\u202e", "\u2028", "\u200b", "\u2066", "\u0085", "\u001b", "\n"]) {
      for (const field of ["reason", "actor"]) {
        const body = { scope: "sub", value: "a14", reason: "lost", actor: "ops" };
        body[field] = `x${hidden}y`;
        const p = await problem(await api("revocations", { method: "POST", body }), assert, 400, "invalid_request");
        assert.equal(p.field, field, JSON.stringify(body));
      }
    }
    const m = await problem(await api("links", { method: "POST", body: { path: "/int/a.pdf", ttl: 60, filename: "invoice\u202efdp.exe" } }), assert, 400, "invalid_request");
    assert.equal(m.field, "filename");
    assert.equal((await api("revocations/sub/a14", { method: "DELETE" })).status, 404, "nothing was written");
    for (let i = 0; i < 5; i++) {
      await json(await api("revocations", { method: "POST", body: { scope: "sub", value: `page-${i}`, reason: "paging" } }), 201);
    }
    const seen = [];
    let cursor = null;
    for (let i = 0; i < 10; i++) {
      const page = await json(await api(`revocations?scope=sub&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`), 200);
      assert.ok(page.entries.length <= 2);
      seen.push(...page.entries.map((e) => e.value));
      cursor = page.cursor;
      if (!cursor) break;
    }
    for (let i = 0; i < 5; i++) assert.ok(seen.includes(`page-${i}`), `page-${i} listed`);
    await problem(await api("revocations?limit=0"), assert, 400, "invalid_request");
  });
});

describe("policy by classification", () => {
  const offline = (path, extra = []) => sign(KEYS, ["--host", HOST, "--path", path, ...extra]);

  test("each classification applies its rules on download, and the rule is audited", async () => {
    const cases = [
      ["/pub/a.pdf", ["--ttl", "2d"], 200, null, /^public, max-age=/],
      ["/int/a.pdf", ["--ttl", "2d"], 200, null, /^private, max-age=/],
      ["/plain/a.pdf", ["--ttl", "2d"], 200, null, /^private, max-age=/],
      ["/conf/a.pdf", ["--ttl", "4d"], 403, "confidential.max_ttl"],
      ["/conf/a.pdf", ["--ttl", "1d", "--mode", "redirect"], 403, "confidential.modes"],
      ["/conf/a.pdf", ["--ttl", "1d"], 200, null, /^private, max-age=([0-9]|[1-9][0-9]|[12][0-9][0-9]|300)$/],
      ["/restr/a.pdf", ["--ttl", "30m"], 403, "restricted.require_sub"],
      ["/restr/a.pdf", ["--ttl", "2h", "--sub", "r-1"], 403, "restricted.max_ttl"],
      ["/restr/a.pdf", ["--ttl", "30m", "--sub", "r-1"], 403, "restricted.require_sealed"],
      ["/restr/a.pdf", ["--ttl", "30m", "--sub", "r-1", "--sealed"], 200, null, /^no-store$/],
    ];
    for (const [path, extra, status, rule, cc] of cases) {
      const m = offline(path, extra);
      const res = await w.fetch(linkFor(m));
      if (status === 403) {
        await problem(res, assert, 403, "policy_denied", m.token);
        const ev = await eventsFor(`jti=${m.jti}`);
        assert.equal(ev.events[0].rule, rule, `${path} ${extra}`);
        assert.equal(ev.events[0].code, "policy_denied");
      } else {
        assert.equal(res.status, 200, `${path} ${extra}`);
        assert.match(res.headers.get("cache-control"), cc, `${path} ${extra}`);
        await res.arrayBuffer();
      }
    }
  });
});

describe("A6: links to the whole bucket", () => {
  test("refused unless the request says whole_bucket and the worker allows it", async () => {
    // The default worker: LINKGATE_ALLOW_WHOLE_BUCKET off.
    for (const [body, field] of [
      [{ prefix: "", ttl: 60 }, "prefix"],
      [{ prefix: "/", ttl: 60 }, "prefix"],
      [{ prefix: "/", ttl: 60, whole_bucket: false }, "prefix"],
      [{ prefix: "/", ttl: 60, whole_bucket: true }, "whole_bucket"],
      [{ prefix: "/int/", ttl: 60, whole_bucket: true }, "whole_bucket"],
      [{ path: "/", ttl: 60 }, "scope"],
    ]) {
      const p = await problem(await api("links", { method: "POST", body }), assert, 400, "invalid_request");
      assert.equal(p.field, field, JSON.stringify(body));
    }
    // prefix is a folder path, not a flag.
    const flag = await problem(await api("links", { method: "POST", body: { path: "", prefix: true, ttl: 60 } }), assert, 400, "invalid_request");
    assert.equal(flag.field, "prefix");
    // A worker that allows it still needs the flag on each request.
    const w2 = await startWorker({ keys: KEYS, vars: { LINKGATE_ADMIN_TOKEN: ADMIN, LINKGATE_ALLOW_WHOLE_BUCKET: "on" } });
    try {
      await w2.r2.put("any/where.pdf", "everywhere");
      const p = await problem(await api("links", { method: "POST", body: { prefix: "/", ttl: 60 }, worker: w2 }), assert, 400, "invalid_request");
      assert.equal(p.field, "prefix");
      for (const prefix of ["/", ""]) {
        const m = await json(await api("links", { method: "POST", body: { prefix, ttl: 60, whole_bucket: true }, worker: w2 }), 201);
        assert.ok(m.url.startsWith(`${BASE}/?lg=`), m.url);
        const res = await w2.fetch(`${BASE}/any/where.pdf?lg=${m.token}`);
        assert.equal(res.status, 200);
        assert.equal(await res.text(), "everywhere");
      }
    } finally {
      await w2.stop();
    }
  });
});

describe("A7: require_ip needs specific ranges", () => {
  test("0.0.0.0/0 plus ::/0 and other broad ranges are refused at minting and at download", async () => {
    const policy = JSON.stringify({ classifications: { internal: { require_ip: true, min_ip_prefix_v4: 24 } } });
    const w3 = await startWorker({ keys: KEYS, vars: { LINKGATE_ADMIN_TOKEN: ADMIN, LINKGATE_POLICY: policy } });
    try {
      await w3.r2.put("int/ip.pdf", "bound", { customMetadata: { classification: "internal" } });
      for (const ip of [["0.0.0.0/0", "::/0"], ["198.51.0.0/16"], ["::ffff:0.0.0.0/96"], ["198.51.100.0/24", "2001:db8::/31"]]) {
        const p = await problem(await api("links", { method: "POST", body: { path: "/int/ip.pdf", ttl: 60, ip }, worker: w3 }), assert, 403, "policy_denied");
        assert.equal(p.rule, "internal.require_ip", JSON.stringify(ip));
        const off = sign(KEYS, ["--host", HOST, "--path", "/int/ip.pdf", "--ttl", "1h", ...ip.flatMap((r) => ["--ip", r])]);
        await problem(await w3.fetch(linkFor(off), { headers: { "cf-connecting-ip": "198.51.100.7" } }), assert, 403, "policy_denied", off.token);
      }
      const ok = await json(await api("links", { method: "POST", body: { path: "/int/ip.pdf", ttl: 60, ip: ["198.51.100.0/24", "2001:db8::/32"] }, worker: w3 }), 201);
      const res = await w3.fetch(ok.url, { headers: { "cf-connecting-ip": "198.51.100.7" } });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "bound");
    } finally {
      await w3.stop();
    }
  });
});

describe("audit events", () => {
  test("filters by sub, tenant, path, outcome and time; newest first; paginated", async () => {
    const t0 = now();
    const m = sign(KEYS, ["--host", HOST, "--path", "/int/", "--prefix", "--ttl", "1h", "--sub", "ev-sub", "--tenant", "ev-ten"]);
    for (let i = 0; i < 4; i++) await (await w.fetch(linkFor(m, "/int/a.pdf"))).arrayBuffer();
    await (await w.fetch(linkFor(m, "/int/missing.pdf"))).arrayBuffer();
    const all = await eventsFor("sub=ev-sub", 5);
    assert.equal(all.events.length, 5);
    for (let i = 1; i < all.events.length; i++) assert.ok(all.events[i - 1].time >= all.events[i].time, "newest first");
    assert.equal((await eventsFor("tenant=ev-ten&outcome=refused")).events.length, 1);
    assert.equal((await eventsFor("sub=ev-sub&path=%2Fint%2Fmissing.pdf")).events[0].code, "not_found");
    assert.equal((await json(await api(`events?sub=ev-sub&since=${t0 + 3600}`), 200)).events.length, 0);
    const p1 = await json(await api("events?sub=ev-sub&limit=2"), 200);
    assert.equal(p1.events.length, 2);
    const p2 = await json(await api(`events?sub=ev-sub&limit=2&cursor=${encodeURIComponent(p1.cursor)}`), 200);
    const p3 = await json(await api(`events?sub=ev-sub&limit=2&cursor=${encodeURIComponent(p2.cursor)}`), 200);
    assert.equal(p3.events.length, 1);
    assert.equal(p3.cursor, null);
    const ids = [...p1.events, ...p2.events, ...p3.events].map((e) => e.request_id);
    assert.equal(new Set(ids).size, 5, "pages do not overlap");
    for (const e of [...p1.events, ...p2.events]) assert.ok(!JSON.stringify(e).includes(m.token.slice(0, 20)));
    await problem(await api("events?colour=red"), assert, 400, "invalid_request");
    await problem(await api("events?cursor=zzz"), assert, 400, "invalid_request");
    await problem(await api("events?since=yesterday"), assert, 400, "invalid_request");
  });
});

describe("audit under load", () => {
  test("a burst of 250 concurrent downloads lands exactly 250 events, each once", async () => {
    // Events of concurrent requests share sendBatch calls; none may be lost
    // or doubled on the way (more than one batch of 100 is in flight).
    const m = sign(KEYS, ["--host", HOST, "--path", "/int/", "--prefix", "--ttl", "1h", "--sub", "burst-sub"]);
    const n = 250;
    await Promise.all(Array.from({ length: n }, () => w.fetch(linkFor(m, "/int/a.pdf")).then((r) => r.arrayBuffer())));
    let rows = [];
    for (let i = 0; i < 100 && rows.length < n; i++) {
      rows = (await w.db.prepare("SELECT request_id FROM events WHERE sub = ?1").bind("burst-sub").all()).results;
      if (rows.length < n) await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1500)); // late duplicates would show up here
    rows = (await w.db.prepare("SELECT request_id FROM events WHERE sub = ?1").bind("burst-sub").all()).results;
    assert.equal(rows.length, n, "one event per request");
    assert.equal(new Set(rows.map((r) => r.request_id)).size, n, "no event twice");
  });
});

describe("uploads", () => {
  test("an upload larger than the worker's memory streams into R2", async () => {
    const SIZE = 160 * 1024 * 1024; // Workers have 128 MiB of memory
    const chunk = new Uint8Array(1024 * 1024).map((_, i) => i % 253);
    let sent = 0;
    const body = new ReadableStream({
      pull(ctrl) {
        if (sent >= SIZE) return ctrl.close();
        ctrl.enqueue(chunk);
        sent += chunk.length;
      },
    });
    const res = await w.fetch(`${BASE}/_linkgate/files/big/upload.bin`, {
      method: "PUT",
      headers: { authorization: `Bearer ${ADMIN}`, "content-length": String(SIZE), "x-linkgate-classification": "internal" },
      body,
      duplex: "half",
    });
    const b = await json(res, 201);
    assert.equal(b.size, SIZE);
    const head = await w.r2.head("big/upload.bin");
    assert.equal(head.size, SIZE);
    assert.equal(head.customMetadata.classification, "internal");
    await problem(await api("files/x.bin", { method: "PUT", body: "x", headers: { "x-linkgate-classification": "secret" } }), assert, 400, "invalid_request");
    await problem(await api("files/a%2Fb", { method: "PUT", body: "x" }), assert, 400, "invalid_request");
    await problem(await api("files/a/b", { method: "PUT", body: "x", headers: { "content-length": "" } }), assert, 400, "invalid_request");
  });
});

// End-to-end: scoped admin credentials (issue 17, item 1; docs/admin.md).
// Credentials minted by the real CLI (`linkgate admin-token create`), every
// admin route called with them against the release worker: capability,
// tenant and prefix enforced per route, killing one with a denylist entry,
// expiry, and every call audited naming the credential, with no credential
// or link token anywhere in D1 or the worker's log.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { startWorker, sign, linkFor, newKeyEntry, problem, waitFor, BASE, HOST, CLI } from "./harness.mjs";

const KEYS = newKeyEntry("cr");
const ROOT = "credentials-root-admin-token-0123456789";
const logs = [];
const secrets = [ROOT];
let w;

/** `linkgate admin-token create --json` under `root`. */
function credential(args, root = ROOT) {
  const out = execFileSync(CLI, ["admin-token", "create", "--json", ...args], {
    env: { ...process.env, LINKGATE_ADMIN_TOKEN: root },
    encoding: "utf8",
  });
  const c = JSON.parse(out);
  secrets.push(c.credential);
  return c;
}

const api = (bearer, path, { method = "GET", body, headers = {} } = {}) => {
  const text = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  const h = { authorization: `Bearer ${bearer}`, ...headers };
  if (text !== undefined) {
    h["content-type"] ??= "application/json";
    h["content-length"] ??= String(Buffer.byteLength(text));
  }
  return w.fetch(`${BASE}/_linkgate/${path}`, { method, headers: h, body: text });
};

async function json(res, status) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return JSON.parse(text);
}

const signed = (args) => {
  const m = sign(KEYS, ["--host", HOST, "--ttl", "1h", ...args]);
  secrets.push(m.token);
  return m;
};

let acme; // tenant acme, folder /acme/: mint, inspect, revoke, events
before(async () => {
  w = await startWorker({ keys: KEYS, logs, http: true, vars: { LINKGATE_ADMIN_TOKEN: ROOT, LINKGATE_DENYLIST_MEMO_SECS: "0" } });
  acme = credential(["--name", "acme-support", "--tenant", "acme", "--can", "mint,inspect,revoke,events", "--prefix", "/acme/", "--ttl", "1d"]);
  for (const k of ["acme/a.pdf", "acme/b.pdf", "globex/g.pdf", "other/o.pdf"]) await w.r2.put(k, `bytes of ${k}`);
});

after(async () => {
  await w?.stop();
});

describe("mint", () => {
  test("inside its tenant and prefix: minted, with its tenant when none is named", async () => {
    const m = await json(await api(acme.credential, "links", { method: "POST", body: { path: "/acme/a.pdf", ttl: "1h" } }), 201);
    secrets.push(m.token);
    const ins = await json(await api(ROOT, "inspect", { method: "POST", body: { link: m.url } }), 200);
    assert.equal(ins.claims.tenant, "acme");
    assert.equal((await w.fetch(m.url)).status, 200);
  });

  test("another tenant, another folder, the whole bucket: refused", async () => {
    const mint = (body) => api(acme.credential, "links", { method: "POST", body: { ttl: "1h", ...body } });
    await problem(await mint({ path: "/acme/a.pdf", tenant: "globex" }), assert, 403, "tenant_forbidden");
    await problem(await mint({ path: "/globex/g.pdf" }), assert, 403, "prefix_forbidden");
    await problem(await mint({ path: "/acmeX/a.pdf" }), assert, 403, "prefix_forbidden");
    await problem(await mint({ prefix: "/" , whole_bucket: true }), assert, 400, "invalid_request");
    await problem(await mint({ prefix: "/other/" }), assert, 403, "prefix_forbidden");
    // A credential for two tenants names one; a link without a tenant is nobody's.
    const two = credential(["--name", "two", "--tenant", "acme", "--tenant", "globex", "--can", "mint", "--ttl", "1h"]);
    await problem(await api(two.credential, "links", { method: "POST", body: { path: "/x.pdf", ttl: 60 } }), assert, 403, "tenant_forbidden");
    await json(await api(two.credential, "links", { method: "POST", body: { path: "/x.pdf", ttl: 60, tenant: "globex" } }), 201);
  });
});

describe("inspect", () => {
  test("its own tenant's links only; another's shows nothing", async () => {
    const own = signed(["--path", "/acme/b.pdf", "--tenant", "acme"]);
    const ins = await json(await api(acme.credential, "inspect", { method: "POST", body: { link: own.url } }), 200);
    assert.equal(ins.verdict, "valid");
    const other = signed(["--path", "/acme/b.pdf", "--tenant", "globex"]);
    const p = await problem(await api(acme.credential, "inspect", { method: "POST", body: { link: other.url } }), assert, 403, "tenant_forbidden");
    assert.ok(!JSON.stringify(p).includes("globex"), "nothing of the link is shown");
    const outside = signed(["--path", "/other/o.pdf", "--tenant", "acme"]);
    await problem(await api(acme.credential, "inspect", { method: "POST", body: { link: outside.url } }), assert, 403, "prefix_forbidden");
  });
});

describe("revoke, list, lift", () => {
  test("one link by its URL: revoked, with its tenant recorded; another tenant's link is refused", async () => {
    const own = signed(["--path", "/acme/a.pdf", "--tenant", "acme"]);
    assert.equal((await w.fetch(linkFor(own))).status, 200);
    // A bare jti names no tenant.
    await problem(await api(acme.credential, "revocations", { method: "POST", body: { scope: "jti", value: own.jti, reason: "r" } }), assert, 403, "tenant_forbidden");
    const e = await json(await api(acme.credential, "revocations", { method: "POST", body: { link: own.url, reason: "sent to the wrong person" } }), 201);
    assert.equal(e.scope, "jti");
    assert.equal(e.value, own.jti);
    assert.equal(e.tenant, "acme");
    assert.equal(e.actor, `cred:${acme.id}:acme-support`);
    await problem(await w.fetch(linkFor(own)), assert, 410, "revoked", own.token);
    // Its own admin call about its own link is in its events (filed under
    // the link's tenant and path).
    const mine = await waitFor(
      async () => (await json(await api(acme.credential, "events?limit=1000"), 200)).events.find((r) => r.reason === "revoke" && r.subject === `jti:${own.jti}`),
      "its revoke in its own events",
    );
    assert.equal(mine.tenant, "acme");
    assert.equal(mine.path, "/acme/a.pdf");
    assert.equal(mine.actor, `cred:${acme.id}:acme-support`);
    const theirs = signed(["--path", "/acme/a.pdf", "--tenant", "globex"]);
    await problem(await api(acme.credential, "revocations", { method: "POST", body: { link: theirs.url, reason: "r" } }), assert, 403, "tenant_forbidden");
    assert.equal((await w.fetch(linkFor(theirs))).status, 200, "the other tenant's link still works");
  });

  test("scopes beyond its tenant and folder are refused; a path inside its folder is not", async () => {
    const revoke = (scope, value) => api(acme.credential, "revocations", { method: "POST", body: { scope, value, reason: "r" } });
    await problem(await revoke("sub", "alice"), assert, 403, "tenant_forbidden");
    await problem(await revoke("kid", "cr"), assert, 403, "tenant_forbidden");
    await problem(await revoke("all", ""), assert, 403, "tenant_forbidden");
    await problem(await revoke("credential", "00".repeat(16)), assert, 403, "tenant_forbidden");
    await problem(await revoke("tenant", "acme"), assert, 403, "prefix_forbidden");
    await problem(await revoke("path", "/globex/"), assert, 403, "prefix_forbidden");
    await json(await revoke("path", "/acme/old/"), 201);
    // A tenant credential without a folder may revoke its tenant, not another.
    const t = credential(["--name", "acme-sec", "--tenant", "acme", "--can", "revoke", "--ttl", "1h"]);
    const rt = (value) => api(t.credential, "revocations", { method: "POST", body: { scope: "tenant", value, reason: "r" } });
    await problem(await rt("globex"), assert, 403, "tenant_forbidden");
    await problem(await api(t.credential, "revocations", { method: "POST", body: { scope: "path", value: "/acme/", reason: "r" } }), assert, 403, "tenant_forbidden");
    const before = signed(["--path", "/acme/b.pdf", "--tenant", "acme", "--issued-at", String(Math.floor(Date.now() / 1000) - 5)]);
    await json(await rt("acme"), 201);
    await problem(await w.fetch(linkFor(before)), assert, 410, "revoked", before.token);
    await json(await api(ROOT, "revocations/tenant/acme", { method: "DELETE" }), 200);
  });

  test("listing shows only the entries it could have made; lifting another's is refused", async () => {
    await json(await api(ROOT, "revocations", { method: "POST", body: { scope: "sub", value: "bob", reason: "root" } }), 201);
    await json(await api(ROOT, "revocations", { method: "POST", body: { scope: "tenant", value: "globex", reason: "root" } }), 201);
    const theirs = signed(["--path", "/acme/a.pdf", "--tenant", "globex"]);
    await json(await api(ROOT, "revocations", { method: "POST", body: { link: theirs.url, reason: "root" } }), 201);
    const all = await json(await api(ROOT, "revocations?limit=100"), 200);
    assert.ok(all.entries.length >= 5, JSON.stringify(all));
    const mine = await json(await api(acme.credential, "revocations?limit=100"), 200);
    assert.ok(mine.entries.length >= 2);
    for (const e of mine.entries) {
      const ok = (e.scope === "jti" && e.tenant === "acme") || (e.scope === "path" && e.value.startsWith("/acme/"));
      assert.ok(ok, `acme sees ${JSON.stringify(e)}`);
    }
    await problem(await api(acme.credential, "revocations/tenant/globex", { method: "DELETE" }), assert, 403, "prefix_forbidden");
    await problem(await api(acme.credential, "revocations/sub/bob", { method: "DELETE" }), assert, 403, "tenant_forbidden");
    await problem(await api(acme.credential, `revocations/jti/${theirs.jti}`, { method: "DELETE" }), assert, 403, "tenant_forbidden");
    const own = mine.entries.find((e) => e.scope === "jti");
    await json(await api(acme.credential, `revocations/jti/${own.value}`, { method: "DELETE" }), 200);
  });
});

describe("events", () => {
  test("forced to its tenant and folder; another tenant's filter is refused", async () => {
    const g = signed(["--path", "/globex/g.pdf", "--tenant", "initech"]);
    assert.equal((await w.fetch(linkFor(g))).status, 200);
    const a = signed(["--path", "/acme/b.pdf", "--tenant", "acme"]);
    assert.equal((await w.fetch(linkFor(a))).status, 200);
    await waitFor(async () => (await w.db.prepare("SELECT 1 FROM events WHERE jti IN (?1, ?2)").bind(g.jti, a.jti).all()).results.length === 2, "both downloads audited");
    const rows = (await json(await api(acme.credential, "events?limit=1000"), 200)).events;
    assert.ok(rows.some((r) => r.jti === a.jti), "its own download is listed");
    for (const r of rows) {
      assert.equal(r.tenant, "acme", JSON.stringify(r));
      assert.ok(r.path.startsWith("/acme/"), JSON.stringify(r));
    }
    const everything = (await json(await api(ROOT, "events?limit=1000"), 200)).events;
    assert.ok(everything.some((r) => r.jti === g.jti), "the root sees every tenant");
    await problem(await api(acme.credential, "events?tenant=initech"), assert, 403, "tenant_forbidden");
    assert.equal((await json(await api(acme.credential, `events?jti=${g.jti}`), 200)).events.length, 0);
  });
});

describe("capabilities and uploads", () => {
  test("a route whose capability is missing answers 403 capability_missing", async () => {
    const reader = credential(["--name", "auditor", "--all-tenants", "--can", "events", "--ttl", "1h"]);
    await problem(await api(reader.credential, "links", { method: "POST", body: { path: "/a.pdf", ttl: 60 } }), assert, 403, "capability_missing");
    await problem(await api(reader.credential, "inspect", { method: "POST", body: { token: "x" } }), assert, 403, "capability_missing");
    await problem(await api(reader.credential, "revocations"), assert, 403, "capability_missing");
    await problem(await api(reader.credential, "files/a.txt", { method: "PUT", body: "x" }), assert, 403, "capability_missing");
    await problem(await api(acme.credential, "files/acme/new.txt", { method: "PUT", body: "x" }), assert, 403, "capability_missing");
    await json(await api(reader.credential, "events?limit=1"), 200);
    // The console's routes: listing and policy need links:mint, the hourly counts events:read.
    await problem(await api(reader.credential, "files"), assert, 403, "capability_missing");
    await problem(await api(reader.credential, "policy"), assert, 403, "capability_missing");
    await json(await api(reader.credential, "events/hourly"), 200);
    const uploader = credential(["--name", "uploader", "--all-tenants", "--can", "files", "--ttl", "1h"]);
    await problem(await api(uploader.credential, "events/hourly"), assert, 403, "capability_missing");
    await problem(await api(uploader.credential, "files?prefix=/acme/"), assert, 403, "capability_missing");
    await json(await api(acme.credential, "policy"), 200);
    // Routing still answers before the capability.
    await problem(await api(reader.credential, "nope"), assert, 404, "not_found");
  });

  test("uploads stay inside the folder; a tenant credential without one may not upload", async () => {
    const files = credential(["--name", "acme-files", "--tenant", "acme", "--can", "files", "--prefix", "/acme/", "--ttl", "1h"]);
    await json(await api(files.credential, "files/acme/up.txt", { method: "PUT", body: "hello" }), 201);
    await problem(await api(files.credential, "files/globex/up.txt", { method: "PUT", body: "x" }), assert, 403, "prefix_forbidden");
    assert.equal(await w.r2.get("globex/up.txt"), null);
    const loose = credential(["--name", "acme-loose", "--tenant", "acme", "--can", "files", "--ttl", "1h"]);
    await problem(await api(loose.credential, "files/acme/up2.txt", { method: "PUT", body: "x" }), assert, 403, "tenant_forbidden");
  });
});

describe("killing, expiry, forgery", () => {
  test("a credential denylist entry kills it at once; lifting it restores it", async () => {
    const c = credential(["--name", "temp", "--all-tenants", "--can", "events", "--ttl", "1h"]);
    await json(await api(c.credential, "events?limit=1"), 200);
    // The CLI's revoke --credential, through the admin API.
    execFileSync(CLI, ["revoke", "--credential", c.id, "--reason", "laptop lost", "--admin", w.url], {
      env: { ...process.env, LINKGATE_ADMIN_TOKEN: ROOT },
    });
    const r = await api(c.credential, "events?limit=1");
    await problem(r, assert, 401, "credential_revoked");
    assert.equal(r.headers.get("www-authenticate"), "Bearer");
    const listed = await json(await api(ROOT, "revocations?scope=credential"), 200);
    assert.ok(listed.entries.some((e) => e.value === c.id && e.expires_at > Date.now() / 1000));
    await json(await api(ROOT, `revocations/credential/${c.id}`, { method: "DELETE" }), 200);
    await json(await api(c.credential, "events?limit=1"), 200);
  });

  test("expired, forged, tampered and malformed credentials answer 401", async () => {
    const short = credential(["--name", "short", "--all-tenants", "--can", "events", "--ttl", "1s"]);
    await new Promise((r) => setTimeout(r, 2100));
    await problem(await api(short.credential, "events"), assert, 401, "credential_expired");
    const forged = credential(["--name", "forged", "--all-tenants", "--can", "events", "--ttl", "1h"], "another-root-token");
    await problem(await api(forged.credential, "events"), assert, 401, "credential_invalid");
    const t = acme.credential;
    const flipped = t.slice(0, 20) + (t[20] === "A" ? "B" : "A") + t.slice(21);
    await problem(await api(flipped, "events"), assert, 401, "credential_invalid");
    await problem(await api("lgc.", "events"), assert, 401, "credential_invalid");
    await problem(await api("not-a-credential", "events"), assert, 401, "unauthorized");
  });
});

describe("audit", () => {
  test("every call is an event naming the credential, refusals included", async () => {
    const actor = `cred:${acme.id}:acme-support`;
    await problem(await api(acme.credential, "links", { method: "POST", body: { path: "/globex/g.pdf", ttl: 60 } }), assert, 403, "prefix_forbidden");
    const rows = await waitFor(async () => {
      const r = (await w.db.prepare("SELECT * FROM events WHERE actor = ?1 ORDER BY id").bind(actor).all()).results;
      return r.some((e) => e.code === "prefix_forbidden" && e.path === "/globex/g.pdf") ? r : null;
    }, "the refused mint's event");
    for (const reason of ["mint", "inspect", "revoke", "list_revocations", "lift", "events"]) {
      assert.ok(rows.some((e) => e.reason === reason), `an audited ${reason}`);
    }
    const refused = rows.find((e) => e.code === "prefix_forbidden");
    assert.equal(refused.status, 403);
    assert.equal(refused.outcome, "admin");
    assert.equal(refused.tenant, null, "a refused mint is filed under no tenant");
    const expired = await waitFor(
      async () => (await w.db.prepare("SELECT * FROM events WHERE code = 'credential_expired'").all()).results[0],
      "the expired credential's event",
    );
    assert.match(expired.actor, /^cred:[0-9a-f]{32}:short$/);
    const forged = (await w.db.prepare("SELECT * FROM events WHERE code = 'credential_invalid'").all()).results;
    assert.ok(forged.length >= 1 && forged.every((e) => e.actor === null), "a forged credential is never named");
    const root = (await w.db.prepare("SELECT actor FROM events WHERE reason = 'revoke' AND actor LIKE 'admin:%'").all()).results;
    assert.ok(root.length >= 1, "the root token is audited as admin:<hash>");
  });

  test("no credential or link token is ever stored in D1 or written to the log", async () => {
    const dump = [];
    for (const table of ["events", "links"]) {
      dump.push(JSON.stringify((await w.db.prepare(`SELECT * FROM ${table}`).all()).results));
    }
    const stored = dump.join("\n");
    const logged = logs.join("");
    assert.ok(stored.length > 1000, "the store holds the events this file made");
    assert.ok(secrets.length > 10);
    for (const s of secrets) {
      // The secret itself, and its first 24 characters (enough to be a token).
      for (const needle of [s, s.slice(0, 24)]) {
        assert.ok(!stored.includes(needle), `D1 holds ${needle.slice(0, 12)}…`);
        assert.ok(!logged.includes(needle), `the log holds ${needle.slice(0, 12)}…`);
      }
    }
  });
});

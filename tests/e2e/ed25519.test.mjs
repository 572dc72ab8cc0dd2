// End-to-end: Ed25519-signed links (issue 20, docs/link-format.md §18)
// through the real worker in workerd, verified with WebCrypto. The private
// keys live in files of this test only; the worker gets the public entries.
// A link round-trips CLI → worker; a tenant key cannot reach another
// tenant's files; a kid kill works; and no value of the worker's environment
// (every binding this suite passes) can mint a link the worker accepts for
// an Ed25519 kid, whether used as an HMAC key or as an Ed25519 seed.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker, sign, newKeyEntry, problem, linkFor, BASE, CLI, waitFor } from "./harness.mjs";

const dir = mkdtempSync(join(tmpdir(), "linkgate-ed25519-e2e-"));
const BODY = new Uint8Array(1500).fill(9);

/** `linkgate keygen --ed25519`: {kid, private_key, public_entry}. */
function keygen(kid, ...constraints) {
  const out = execFileSync(CLI, ["keygen", "--ed25519", "--json", "--kid", kid, ...constraints], { encoding: "utf8" });
  return JSON.parse(out);
}

/** A private key file as the signer keeps it (never given to the worker). */
function keyFile(name, privateKey) {
  const f = join(dir, name);
  writeFileSync(f, `LINKGATE_SIGNING_KEY=${privateKey}\n`, { mode: 0o600 });
  return f;
}

/** Sign with an Ed25519 private key file through the CLI. */
function signEd(file, args) {
  const env = { ...process.env };
  delete env.LINKGATE_KEYS;
  delete env.LINKGATE_SIGNING_KEY;
  const out = execFileSync(CLI, ["sign", "--json", "--base", BASE, "--ed25519-key", file, ...args], { env, encoding: "utf8" });
  return JSON.parse(out);
}

const acme = keygen("acme-2026", "--tenant", "acme", "--prefix", "/tenants/acme/");
const globex = keygen("globex-2026", "--tenant", "globex", "--prefix", "/tenants/globex/");
const issuer = keygen("issuer-2026");
const ACME_KEY = keyFile("acme.key", acme.private_key);
const GLOBEX_KEY = keyFile("globex.key", globex.private_key);
const ISSUER_KEY = keyFile("issuer.key", issuer.private_key);
const KEYS = newKeyEntry("edge-hmac");
const ADMIN = "admin-token-for-the-ed25519-links-e2e-suite";
// Everything the worker is given (besides wrangler.toml's defaults).
const ENV = {
  LINKGATE_KEYS: KEYS,
  LINKGATE_ADMIN_TOKEN: ADMIN,
  LINKGATE_EDGE_CACHE: "off",
  LINKGATE_PUBLIC_KEYS: [acme.public_entry, globex.public_entry, issuer.public_entry].join(","),
};
let w;

before(async () => {
  const { LINKGATE_KEYS, ...vars } = ENV;
  w = await startWorker({ keys: LINKGATE_KEYS, vars });
  for (const k of ["tenants/acme/invoices/7.pdf", "tenants/globex/payroll.pdf", "reports/q1.pdf", "tenants/acme/exports/jan.csv"]) {
    await w.r2.put(k, BODY);
  }
});

after(async () => {
  await w?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const rows = async (sql, ...args) => (await w.db.prepare(sql).bind(...args).all()).results;

describe("Ed25519 links in workerd (WebCrypto)", () => {
  test("a link signed by the CLI with a private key downloads, and is audited under its kid", async () => {
    const m = signEd(ACME_KEY, ["--path", "/tenants/acme/invoices/7.pdf", "--tenant", "acme", "--ttl", "10m"]);
    assert.equal(Buffer.from(m.token, "base64url")[0], 0x03, "first token byte 0x03");
    const res = await w.fetch(m.url);
    const body = new Uint8Array(await res.arrayBuffer());
    assert.equal(res.status, 200, new TextDecoder().decode(body));
    assert.deepEqual(body, BODY);
    const ev = await waitFor(async () => (await rows("SELECT status, kid, tenant FROM events WHERE jti = ?1", m.jti))[0], "the event");
    assert.deepEqual(ev, { status: 200, kid: "acme-2026", tenant: "acme" });
    // A folder link inside the key's prefix, and an unconstrained key anywhere.
    const f = signEd(ACME_KEY, ["--path", "/tenants/acme/exports/", "--prefix", "--tenant", "acme", "--ttl", "10m"]);
    assert.equal((await w.fetch(linkFor(f, "/tenants/acme/exports/jan.csv"))).status, 200);
    const i = signEd(ISSUER_KEY, ["--path", "/reports/q1.pdf", "--ttl", "10m"]);
    assert.equal((await w.fetch(i.url)).status, 200);
  });

  test("a tenant key cannot reach another tenant's files (key_unknown, reason key_constraint)", async () => {
    for (const args of [
      ["--path", "/tenants/globex/payroll.pdf", "--tenant", "acme"],
      ["--path", "/tenants/globex/payroll.pdf", "--tenant", "globex"],
      ["--path", "/tenants/globex/payroll.pdf"],
      ["--path", "/", "--prefix", "--whole-bucket", "--tenant", "acme"],
    ]) {
      const m = signEd(ACME_KEY, [...args, "--ttl", "10m"]);
      const res = await w.fetch(linkFor(m, "/tenants/globex/payroll.pdf"));
      await problem(res, assert, 403, "key_unknown", m.token);
    }
    // globex's own key does reach it.
    const g = signEd(GLOBEX_KEY, ["--path", "/tenants/globex/payroll.pdf", "--tenant", "globex", "--ttl", "10m"]);
    assert.equal((await w.fetch(g.url)).status, 200);
    const ev = await waitFor(
      async () => (await rows("SELECT reason, code FROM events WHERE reason = 'key_constraint' LIMIT 1"))[0],
      "an aggregated key_constraint event",
    );
    assert.deepEqual(ev, { reason: "key_constraint", code: "key_unknown" });
  });

  test("tampered signatures and unknown kids are refused with the v1 codes", async () => {
    const m = signEd(ISSUER_KEY, ["--path", "/reports/q1.pdf", "--ttl", "10m"]);
    const raw = Buffer.from(m.token, "base64url");
    const flip = (at) => {
      const t = Buffer.from(raw);
      t[at] ^= 1;
      return t.toString("base64url");
    };
    await problem(await w.fetch(`${BASE}/reports/q1.pdf?lg=${flip(raw.length - 40)}`), assert, 403, "signature_invalid");
    await problem(await w.fetch(`${BASE}/reports/q1.pdf?lg=${flip(raw.length - 1)}`), assert, 403, "signature_invalid");
    const stranger = keyFile("stranger.key", keygen("stranger").private_key);
    const s = signEd(stranger, ["--path", "/reports/q1.pdf", "--ttl", "10m"]);
    await problem(await w.fetch(s.url), assert, 403, "key_unknown", s.token);
    // Same verification order: expired and out of scope after the signature.
    const old = signEd(ISSUER_KEY, ["--path", "/reports/q1.pdf", "--issued-at", "1700000000", "--ttl", "1h"]);
    await problem(await w.fetch(old.url), assert, 410, "expired", old.token);
    await problem(await w.fetch(linkFor(m, "/tenants/acme/invoices/7.pdf")), assert, 403, "scope_mismatch", m.token);
  });

  test("no value of the worker's environment can mint an Ed25519 link: as HMAC key or as seed, every attempt is refused", async () => {
    const kids = ["acme-2026", "globex-2026", "issuer-2026"];
    // The environment holds no private key.
    for (const v of Object.values(ENV)) {
      for (const k of [acme, globex, issuer]) assert.ok(!v.includes(k.private_key.split(":")[1]), "a private key in the environment");
    }
    // Candidate key bytes: every entry of every value, the value itself, and their SHA-256.
    const candidates = [];
    for (const v of Object.values(ENV)) {
      const parts = [v, ...v.split(",").map((e) => e.split(":").slice(1).join(":").split("@")[0])].filter(Boolean);
      for (const p of parts) {
        for (const bytes of [Buffer.from(p, "base64url"), Buffer.from(p, "utf8")]) {
          if (bytes.length >= 32) candidates.push(bytes.subarray(0, 32));
          candidates.push(createHash("sha256").update(bytes).digest());
        }
      }
    }
    assert.ok(candidates.length >= 20, `${candidates.length} candidates`);
    let tried = 0;
    for (const [i, secret] of candidates.entries()) {
      for (const kid of kids) {
        const path = kid === "globex-2026" ? "/tenants/globex/payroll.pdf" : "/tenants/acme/invoices/7.pdf";
        const tenant = kid === "globex-2026" ? "globex" : "acme";
        // As an Ed25519 seed under the public key's kid.
        const f = keyFile(`forge-${i}-${kid}.key`, `${kid}:${secret.toString("base64url")}`);
        const e = signEd(f, ["--path", path, "--tenant", tenant, "--ttl", "10m"]);
        await problem(await w.fetch(e.url), assert, 403, "signature_invalid", e.token);
        // As an HMAC key under the public key's kid (a v1 token).
        const h = sign(`${kid}:${secret.toString("base64url")}`, ["--path", path, "--tenant", tenant, "--ttl", "10m"]);
        await problem(await w.fetch(h.url), assert, 403, "key_unknown", h.token);
        tried += 2;
      }
    }
    assert.ok(tried >= 120, `${tried} forgeries`);
  });

  test("the admin API's inspect checks an Ed25519 signature with WebCrypto too", async () => {
    const api = async (body) => {
      const text = JSON.stringify(body);
      const res = await w.fetch(`${BASE}/_linkgate/inspect`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) },
        body: text,
      });
      assert.equal(res.status, 200);
      return res.json();
    };
    const m = signEd(ACME_KEY, ["--path", "/tenants/acme/invoices/7.pdf", "--tenant", "acme", "--ttl", "10m"]);
    let r = await api({ link: m.url });
    assert.equal(r.verdict, "valid", JSON.stringify(r));
    assert.equal(r.claims.kid, "acme-2026");
    const raw = Buffer.from(m.token, "base64url");
    raw[raw.length - 40] ^= 1;
    r = await api({ token: raw.toString("base64url"), path: "/tenants/acme/invoices/7.pdf" });
    assert.deepEqual([r.code, r.reason], ["signature_invalid", "bad_tag"]);
    const out = signEd(ACME_KEY, ["--path", "/tenants/globex/payroll.pdf", "--tenant", "acme", "--ttl", "10m"]);
    r = await api({ link: out.url });
    assert.deepEqual([r.code, r.reason], ["key_unknown", "key_constraint"]);
  });

  test("a kid kill refuses every link of a public key at once", async () => {
    const m = signEd(GLOBEX_KEY, ["--path", "/tenants/globex/payroll.pdf", "--tenant", "globex", "--ttl", "10m"]);
    assert.equal((await w.fetch(m.url)).status, 200);
    const body = JSON.stringify({ scope: "kid", value: "globex-2026", reason: "tenant key leaked" });
    const res = await w.fetch(`${BASE}/_linkgate/revocations`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${ADMIN}`,
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
      },
      body,
    });
    assert.ok(res.status === 200 || res.status === 201, `${res.status} ${await res.text()}`);
    await waitFor(async () => (await w.fetch(m.url)).status === 410, "the kid kill to bite");
    await problem(await w.fetch(m.url), assert, 410, "revoked", m.token);
    // Other tenants' keys are untouched.
    const a = signEd(ACME_KEY, ["--path", "/tenants/acme/invoices/7.pdf", "--tenant", "acme", "--ttl", "10m"]);
    assert.equal((await w.fetch(a.url)).status, 200);
  });
});

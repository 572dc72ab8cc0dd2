// Ed25519 links from the package (docs/link-format.md §18): the core encodes
// the claims, WebCrypto signs. The vectors' test-only seeds reproduce the
// vectors' tokens exactly; a link signed here verifies with the native CLI
// against the public entry and is refused outside a key's constraints.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { signEd25519, inspect, LinkgateError } from "../lib/node.mjs";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CLI = process.env.LINKGATE_CLI ?? join(ROOT, "target", "release", "linkgate");
const VECTORS = JSON.parse(readFileSync(join(ROOT, "tests", "vectors", "ed25519.json"), "utf8"));
const b64url = (hex) => Buffer.from(hex, "hex").toString("base64url");

test("signEd25519 reproduces the Ed25519 vectors' tokens from their claims and seeds", async () => {
  const seeds = Object.fromEntries(VECTORS.signing_keys.map((k) => [k.kid, k.seed_hex]));
  for (const v of VECTORS.valid) {
    const c = v.claims;
    // The vectors carry a fixed jti; the package draws one: compare all but the jti bytes.
    const s = await signEd25519(
      {
        path: c.scope, prefix: c.scope.endsWith("/"), wholeBucket: c.scope === "/", exp: c.exp, iat: c.iat,
        nbf: c.nbf, host: c.host, sub: c.sub, tenant: c.tenant, ip: c.ip, uses: c.uses, mode: c.mode,
        filename: c.filename, contentType: c.content_type,
      },
      `${c.kid}:${b64url(seeds[c.kid])}`,
      { now: c.iat, base: c.host ? `https://${c.host}` : undefined },
    );
    const got = Buffer.from(s.token, "base64url");
    const want = Buffer.from(v.token, "base64url");
    assert.equal(got[0], 0x03, v.name);
    assert.equal(got.length, want.length, v.name);
    const payload = Buffer.from(v.payload_hex, "hex");
    const jtiAt = payload.indexOf(Buffer.from(c.jti, "hex"));
    const mine = Buffer.from(got.subarray(1, 1 + payload.length));
    Buffer.from(c.jti, "hex").copy(mine, jtiAt);
    assert.deepEqual(mine, payload, `${v.name}: payload`);
    assert.ok(s.url.endsWith(`?lg=${s.token}`), s.url);
    // Inspected without keys, the claims are the ones asked for.
    const r = inspect(s.url);
    assert.equal(r.verdict, "unverified");
    assert.equal(r.claims.kid, c.kid);
  }
});

test("a link from signEd25519 verifies with the native CLI; outside the key's constraints it is refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), "linkgate-js-ed25519-"));
  try {
    const pair = JSON.parse(
      execFileSync(CLI, ["keygen", "--ed25519", "--json", "--kid", "acme", "--tenant", "acme", "--prefix", "/t/acme/"], { encoding: "utf8" }),
    );
    const hmac = execFileSync(CLI, ["keygen", "--kid", "h"], { encoding: "utf8" }).trim();
    const vars = join(dir, ".dev.vars");
    writeFileSync(vars, `LINKGATE_KEYS=${hmac}\nLINKGATE_PUBLIC_KEYS=${pair.public_entry}\n`);
    const inspectCli = (url) => {
      try {
        return JSON.parse(execFileSync(CLI, ["inspect", "--json", "--keys", vars, url], { encoding: "utf8" }));
      } catch (e) {
        return JSON.parse(e.stdout);
      }
    };
    const ok = await signEd25519({ path: "/t/acme/r.pdf", tenant: "acme", ttl: "1h" }, pair.private_key);
    const v = inspectCli(ok.url);
    assert.equal(v.code, null, JSON.stringify(v));
    assert.equal(v.claims.jti, ok.jti);
    const bad = await signEd25519({ path: "/t/globex/r.pdf", tenant: "acme", ttl: "1h" }, `LINKGATE_SIGNING_KEY=${pair.private_key}`);
    const r = inspectCli(bad.url);
    assert.deepEqual([r.code, r.reason], ["key_unknown", "key_constraint"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("signEd25519 refuses a bad private key, sealing, and bad options", async () => {
  await assert.rejects(signEd25519({ path: "/a", ttl: 60 }, "nokid"), (e) => e instanceof LinkgateError && e.field === "privateKey");
  await assert.rejects(signEd25519({ path: "/a", ttl: 60 }, "k:AAAA"), (e) => e.field === "privateKey");
  const key = `k:${Buffer.alloc(32, 1).toString("base64url")}`;
  await assert.rejects(signEd25519({ path: "/a", ttl: 60, sealed: true }, key), (e) => e.field === "sealed");
  await assert.rejects(signEd25519({ path: "a", ttl: 60 }, key), (e) => e.field === "path");
  await assert.rejects(signEd25519({ path: "/a", ttl: 60 }, "bad kid!:" + Buffer.alloc(32, 1).toString("base64url")), (e) => e.field === "kid");
});

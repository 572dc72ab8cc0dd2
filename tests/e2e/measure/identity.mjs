// Links for one person in the worker, side by side (not a test: it prints
// figures for docs/performance.md and asserts nothing about speed):
//
//   1. downloads of one object through the same kind of link, interleaved:
//      under a rule without identity, and under a rule with `identity`
//      presenting an RS256 (Access-like) or an ES256 assertion; the
//      difference is the identity check: strict JWT reading, the per-isolate
//      JWKS lookup, crypto.subtle.verify and its await, the claim checks;
//   2. refusals: no assertion, and an assertion with a forged signature
//      (reaches WebCrypto);
//   3. the primitive alone in workerd: crypto.subtle.verify for RS256
//      (RSASSA-PKCS1-v1_5, 2048-bit) and ES256 (ECDSA P-256), key imported
//      once, as the worker does.
//
// Run: node tests/e2e/measure/identity.mjs   (after scripts/build.sh and
// `cargo build --release --bin linkgate`). N=… and K=… set the counts.

import { performance } from "node:perf_hooks";
import { createServer } from "node:http";
import { generateKeyPairSync, sign as cryptoSign } from "node:crypto";
import { Miniflare } from "miniflare";
import { startWorker, sign, linkFor, newKeyEntry, now } from "../harness.mjs";

const N = Number(process.env.N ?? 400);
const K = Number(process.env.K ?? 2000);
const b64u = (b) => Buffer.from(b).toString("base64url");
const pair = (type, kid, alg) => {
  const kp = generateKeyPairSync(type, type === "rsa" ? { modulusLength: 2048 } : { namedCurve: "P-256" });
  return { ...kp, kid, alg, jwk: { ...kp.publicKey.export({ format: "jwk" }), kid, alg, use: "sig" } };
};
const RS = pair("rsa", "m-rsa", "RS256");
const ES = pair("ec", "m-ec", "ES256");
const TEAM = "measure.cloudflareaccess.com";
const AUD = "aud-measure";
function mint(key, claims = {}) {
  const t = now();
  const input = `${b64u(JSON.stringify({ alg: key.alg, kid: key.kid, typ: "JWT" }))}.${b64u(JSON.stringify({ iss: `https://${TEAM}`, aud: [AUD], sub: "r-1", email: "a@example.test", iat: t - 60, exp: t + 3600, ...claims }))}`;
  const sig = key.alg === "ES256" ? cryptoSign("sha256", Buffer.from(input), { key: key.privateKey, dsaEncoding: "ieee-p1363" }) : cryptoSign("sha256", Buffer.from(input), key.privateKey);
  return `${input}.${b64u(sig)}`;
}
const idp = createServer((req, res) => {
  res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=600" });
  res.end(JSON.stringify({ keys: [RS.jwk, ES.jwk] }));
});
await new Promise((r) => idp.listen(0, "127.0.0.1", r));

const KEYS = newKeyEntry("m");
const w = await startWorker({
  keys: KEYS,
  vars: {
    LINKGATE_EDGE_CACHE: "off",
    LINKGATE_IDENTITY: JSON.stringify({ source: "access", team_domain: TEAM, audience: AUD, algorithms: ["RS256", "ES256"], jwks_url: `http://127.0.0.1:${idp.address().port}/certs` }),
    // Two classes that differ only in `identity` (confidential made like internal).
    LINKGATE_POLICY: JSON.stringify({
      classifications: {
        internal: { identity: { max_auth_age: "1h" } },
        confidential: { max_ttl: "7d", max_age: "1h", modes: ["stream", "redirect"] },
      },
    }),
  },
});
await w.r2.put("open/file.bin", new Uint8Array(1024).fill(7), { customMetadata: { classification: "confidential" } });
await w.r2.put("bound/file.bin", new Uint8Array(1024).fill(7), { customMetadata: { classification: "internal" } });
const args = (p) => ["--path", p, "--ttl", "30m", "--sub", "r-1"];
const open = sign(KEYS, args("/open/file.bin"));
const bound = sign(KEYS, args("/bound/file.bin"));
const rsTok = mint(RS);
const esTok = mint(ES);
const forged = rsTok.slice(0, -6) + (rsTok.endsWith("AAAAAA") ? "BBBBBB" : "AAAAAA");

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(url, assertion, want) {
  const t = performance.now();
  const r = await w.fetch(url, { headers: assertion ? { "cf-access-jwt-assertion": assertion } : {} });
  await r.arrayBuffer();
  if (r.status !== want) throw new Error(`${url}: ${r.status}`);
  return performance.now() - t;
}
const cases = [
  ["download, no identity rule", linkFor(open), rsTok, 200],
  ["download, identity RS256", linkFor(bound), rsTok, 200],
  ["download, identity ES256", linkFor(bound), esTok, 200],
  ["refusal, no assertion (401)", linkFor(bound), null, 401],
  ["refusal, forged RS256 signature (401)", linkFor(bound), forged, 401],
];
for (let i = 0; i < 40; i++) for (const [, u, a, want] of cases) await time(u, a, want);
const times = cases.map(() => []);
for (let i = 0; i < N; i++) for (let k = 0; k < cases.length; k++) times[k].push(await time(cases[k][1], cases[k][2], cases[k][3]));
console.log(`${N} requests each, interleaved (Miniflare, edge cache off, 1 KiB; the JWKS fetched once per isolate):`);
cases.forEach(([name], k) => console.log(`  ${name.padEnd(40)} median ${median(times[k]).toFixed(3)} ms`));
const d = (a, b) => ((median(times[a]) - median(times[b])) * 1000).toFixed(0);
console.log(`  identity RS256 - no identity:            ${d(1, 0)} µs`);
console.log(`  identity ES256 - no identity:            ${d(2, 0)} µs`);
await w.stop();
idp.close();

// 3. WebCrypto in workerd: (time of K awaited verifies - time of 0) / K,
// timed from outside (workerd's clocks do not advance while a request computes).
const rsInput = rsTok.slice(0, rsTok.lastIndexOf("."));
const esInput = esTok.slice(0, esTok.lastIndexOf("."));
const mf = new Miniflare({
  modules: true,
  compatibilityDate: "2025-11-01",
  script: `
    const te = new TextEncoder();
    const b = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    let rs, es;
    async function setup() {
      if (rs) return;
      rs = { key: await crypto.subtle.importKey("jwk", ${JSON.stringify(RS.jwk)}, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["verify"]),
             msg: te.encode(${JSON.stringify(rsInput)}), sig: b(${JSON.stringify(rsTok.slice(rsTok.lastIndexOf(".") + 1))}) };
      es = { key: await crypto.subtle.importKey("jwk", ${JSON.stringify(ES.jwk)}, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]),
             msg: te.encode(${JSON.stringify(esInput)}), sig: b(${JSON.stringify(esTok.slice(esTok.lastIndexOf(".") + 1))}) };
    }
    export default {
      async fetch(req) {
        await setup();
        const u = new URL(req.url);
        const k = Number(u.searchParams.get("k"));
        let ok = 0;
        if (u.pathname === "/rs256") for (let i = 0; i < k; i++) ok += (await crypto.subtle.verify({ name: "RSASSA-PKCS1-v1_5" }, rs.key, rs.sig, rs.msg)) ? 1 : 0;
        else for (let i = 0; i < k; i++) ok += (await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, es.key, es.sig, es.msg)) ? 1 : 0;
        return new Response(String(ok));
      },
    };`,
});
async function per(path) {
  const t = async (k) => {
    const s = performance.now();
    const r = await mf.dispatchFetch(`http://x/${path}?k=${k}`);
    const body = await r.text();
    if (Number(body) !== k) throw new Error(`${path}: ${body}`);
    return performance.now() - s;
  };
  for (let i = 0; i < 3; i++) await t(K);
  const full = [], empty = [];
  for (let i = 0; i < 15; i++) {
    full.push(await t(K));
    empty.push(await t(0));
  }
  return ((median(full) - median(empty)) / K) * 1000;
}
const rsUs = await per("rs256");
const esUs = await per("es256");
console.log(`WebCrypto in workerd, ${K} awaited calls per request, 15 rounds:`);
console.log(`  crypto.subtle.verify RS256 (RSA-2048)    ${rsUs.toFixed(1)} µs per call`);
console.log(`  crypto.subtle.verify ES256 (P-256)       ${esUs.toFixed(1)} µs per call`);
await mf.dispose();

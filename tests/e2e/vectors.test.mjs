// End to end: the request vectors (tests/vectors/requests.json) replayed
// through the real worker in workerd, so the worker agrees with the Rust
// core and the Python checker on every request a URL can carry.
//
// Time: the worker reads the real clock (no client can set it), so each
// authentic token is re-signed with its iat/nbf/exp moved by the distance
// between the vector's "now" and the real second, with the vector file's
// key; what a verifier decides depends only on differences of times, so
// the outcome is the vector's. A request whose second turns while in
// flight is sent again. Tokens that are not authentic are sent as they are:
// they are refused before time matters.
//
// Some vectors cannot reach a worker at all: a request without Host, a
// host or path that URL parsers rewrite (`%2E%2E`, `\`, `192.0.2.010`,
// `[2001:db8:0::1]`, non-ASCII), a method fetch normalizes (`get`), a
// request without a client address (the runtime supplies one), a header
// value with surrounding spaces. Those are reported as skipped and are
// checked natively (tests/vectors.rs) and by the Python checker.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createHmac } from "node:crypto";
import { startWorker, ROOT } from "./harness.mjs";

const FILE = JSON.parse(readFileSync(join(ROOT, "tests", "vectors", "requests.json"), "utf8"));
const DOMAIN = Buffer.from("linkgate-link-v1\0", "latin1");
const RING = new Map(
  FILE.keys.split(",").map((entry) => {
    const i = entry.indexOf(":");
    return [entry.slice(0, i), Buffer.from(entry.slice(i + 1), "base64url")];
  }),
);
const FETCH_NORMALIZED = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
const FORBIDDEN_METHODS = ["CONNECT", "TRACE", "TRACK"];
let w;

/** The payload, key and time-field offsets of an authentic token; null otherwise. */
function authentic(text) {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return null;
  const raw = Buffer.from(text, "base64url");
  if (raw.toString("base64url") !== text || raw.length < 33 || raw[0] !== 1) return null;
  const payload = raw.subarray(0, raw.length - 32);
  const tag = raw.subarray(raw.length - 32);
  const times = [];
  let kid = null;
  for (let pos = 1; pos < payload.length; ) {
    if (pos + 3 > payload.length) return null;
    const t = payload[pos];
    const n = payload.readUInt16BE(pos + 1);
    if (pos + 3 + n > payload.length) return null;
    if (t === 0x01) kid = payload.subarray(pos + 3, pos + 3 + n).toString("latin1");
    // iat, exp, nbf
    if ((t === 0x03 || t === 0x04 || t === 0x05) && n === 8) times.push(pos + 3);
    pos += 3 + n;
  }
  const key = RING.get(kid);
  if (!key) return null;
  const want = createHmac("sha256", key).update(DOMAIN).update(payload).digest();
  return want.equals(tag) ? { payload, key, times } : null;
}

/** `text` with its times moved by `delta` seconds and signed again, if it is authentic. */
function shifted(text, delta) {
  const p = authentic(text);
  if (!p) return text;
  const payload = Buffer.from(p.payload);
  for (const at of p.times) payload.writeBigUInt64BE(payload.readBigUInt64BE(at) + delta, at);
  const tag = createHmac("sha256", p.key).update(DOMAIN).update(payload).digest();
  return Buffer.concat([payload, tag]).toString("base64url");
}

/** The raw query with every authentic token value shifted, nothing else touched. */
function shiftQuery(query, delta) {
  return query
    .split("&")
    .map((piece) => {
      const i = piece.indexOf("=");
      return i < 0 ? piece : piece.slice(0, i + 1) + shifted(piece.slice(i + 1), delta);
    })
    .join("&");
}

const asciiLower = (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** Why a request cannot reach the worker as the vector has it; null if it can. */
function unreachable(r) {
  if (r.host === null) return "no Host: a URL always has one";
  if (!r.path.startsWith("/")) return "a URL path starts with /";
  let u;
  try {
    u = new URL(`https://${r.host}${r.path}${r.query ? `?${r.query}` : ""}`);
  } catch {
    return "not a URL";
  }
  if (u.host !== asciiLower(r.host)) return `URL parsers make the host ${u.host}`;
  if (u.pathname !== r.path) return `URL parsers make the path ${u.pathname}`;
  if (u.search !== (r.query ? `?${r.query}` : "")) return `URL parsers make the query ${u.search}`;
  const upper = r.method.toUpperCase();
  if (FETCH_NORMALIZED.includes(upper) && upper !== r.method) return "fetch normalizes the method";
  if (FORBIDDEN_METHODS.includes(upper)) return "fetch refuses the method";
  // Miniflare, like the platform, supplies CF-Connecting-IP when a request has none.
  if (r.client_ip === null) return "the runtime always supplies a client address";
  if (r.client_ip.trim() !== r.client_ip) return "header values lose surrounding spaces";
  return null;
}

before(async () => {
  w = await startWorker({
    keys: FILE.keys,
    vars: {
      LINKGATE_CLOCK_SKEW_SECS: String(FILE.time_rules.skew_secs),
      LINKGATE_MAX_TTL_SECS: String(FILE.time_rules.max_ttl_secs),
    },
  });
  // Every object an allowed request asks for exists.
  for (const v of FILE.requests) {
    if (v.expect.outcome === "allow") await w.r2.put(v.expect.path.slice(1), new Uint8Array([0x6c, 0x67]));
  }
});

after(async () => {
  await w?.stop();
});

/** Send one vector's request at the real time, shifted; once more if the second turned. */
async function replay(r) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const second = Math.floor(Date.now() / 1000);
    const query = shiftQuery(r.query, BigInt(second - r.now));
    const url = `https://${r.host}${r.path}${query ? `?${query}` : ""}`;
    const res = await w.fetch(url, { method: r.method, headers: { "cf-connecting-ip": r.client_ip } });
    const body = await res.text();
    if (Math.floor(Date.now() / 1000) === second) return { res, body };
  }
  throw new Error("the clock's second turned during every attempt");
}

test("the worker answers every reachable request vector as the vector says", async (t) => {
  const skipped = [];
  const replayedCodes = new Set();
  let replayed = 0;
  for (const v of FILE.requests) {
    const r = v.request;
    const why = unreachable(r);
    if (why) {
      skipped.push(`${v.name} (${why})`);
      continue;
    }
    const { res, body } = await replay(r);
    const want = v.expect;
    if (want.outcome === "allow") {
      assert.equal(res.status, 200, `${v.name}: ${body}`);
      assert.notEqual(res.headers.get("content-type"), "application/problem+json", v.name);
      replayedCodes.add("allow");
    } else {
      assert.equal(res.status, want.status, `${v.name}: ${body}`);
      assert.equal(res.headers.get("cache-control"), "no-store", v.name);
      if (r.method !== "HEAD") assert.equal(JSON.parse(body).code, want.code, `${v.name}: ${body}`);
      replayedCodes.add(want.code);
    }
    replayed++;
  }
  t.diagnostic(`${replayed} replayed, ${skipped.length} skipped: ${skipped.join("; ")}`);
  assert.ok(replayed >= 90, `only ${replayed} of ${FILE.requests.length} vectors reached the worker`);
  // Every outcome the link format decides reached the worker at least once.
  for (const code of [
    "allow", "token_missing", "token_malformed", "path_invalid", "key_unknown", "signature_invalid",
    "not_yet_valid", "expired", "policy_denied", "scope_mismatch", "host_mismatch", "ip_mismatch",
    "method_not_allowed",
  ]) {
    assert.ok(replayedCodes.has(code), `no replayed vector for ${code}`);
  }
});

test("the re-signing is faithful: an authentic token shifted by 0 is itself", () => {
  let authenticTokens = 0;
  for (const v of FILE.requests) {
    for (const piece of v.request.query.split("&")) {
      const value = piece.slice(piece.indexOf("=") + 1);
      if (authentic(value)) {
        authenticTokens++;
        assert.equal(shifted(value, 0n), value, v.name);
        assert.notEqual(shifted(value, 1n), value, v.name);
      }
    }
  }
  assert.ok(authenticTokens >= 80, `${authenticTokens}`);
});

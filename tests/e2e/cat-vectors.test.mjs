// End to end: the Common Access Token vectors (tests/vectors/cat.json)
// replayed through the real worker in workerd, so the worker agrees with the
// Rust core and the Python checker on every one of them.
//
// Time: the worker reads the real clock, so the vectors are re-made by the
// Python implementation for the current second (cat_vectors.py --emit-now:
// every time moved by the distance between the vector's "now" and the real
// second; outcomes depend only on differences of times). A vector whose
// second turns while in flight is sent again in a later second.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startWorker, newKeyEntry, ROOT } from "./harness.mjs";

const FILE = JSON.parse(readFileSync(join(ROOT, "tests", "vectors", "cat.json"), "utf8"));
const BODY = new Uint8Array(300).map((_, i) => i % 7);
let w;

before(async () => {
  w = await startWorker({
    keys: newKeyEntry("lg1"),
    vars: {
      LINKGATE_CAT_KEYS: FILE.keys,
      LINKGATE_CAT_ISSUERS: FILE.issuers.join(","),
      LINKGATE_CAT_AUDIENCES: FILE.audiences.join(","),
      LINKGATE_CLOCK_SKEW_SECS: String(FILE.skew_secs),
      LINKGATE_MAX_TTL_SECS: String(FILE.max_ttl_secs),
    },
  });
  await w.r2.put("videos/a/seg1.ts", BODY, { httpMetadata: { contentType: "video/mp2t" } });
});

after(async () => {
  await w?.stop();
});

const second = () => Math.floor(Date.now() / 1000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// The Python re-make takes a process start (a second or more on a loaded
// machine), so the vectors of a second are made once, ahead of it: a vector
// is sent only within the second it was made for.
const made = new Map();
const remade = (now) => {
  if (!made.has(now)) {
    for (const s of made.keys()) if (s < now - 5) made.delete(s);
    made.set(now, JSON.parse(execFileSync("python3", [join(ROOT, "tests", "vectors", "cat_vectors.py"), "--emit-now", String(now)], { encoding: "utf8" })));
  }
  return made.get(now);
};
async function vectorsOfThisSecond() {
  for (;;) {
    let at = second();
    if (!made.has(at)) {
      at += 2;
      remade(at);
      while (second() < at) await sleep(10);
    }
    if (second() === at) return { at, file: remade(at) };
  }
}

async function send(v) {
  const url = new URL(v.request.url);
  const res = await w.fetch(`${url.origin}${url.pathname}`, {
    method: v.request.method,
    headers: { "cta-common-access-token": v.token, "cf-connecting-ip": v.request.ip, "user-agent": "vectors/1" },
  });
  const text = await res.text();
  const code = res.status < 300 ? null : JSON.parse(text).code;
  return { status: res.status, code };
}

test("every CAT vector: the worker's answer is the vector's", async () => {
  let sent = 0;
  for (const kind of ["valid", "invalid"]) {
    for (const name of FILE[kind].map((v) => v.name)) {
      let got, v, want;
      for (let attempt = 0; attempt < 10; attempt++) {
        const { at, file } = await vectorsOfThisSecond();
        v = file[kind].find((x) => x.name === name);
        want = kind === "valid" ? null : v.code;
        got = await send(v);
        // Sent again only when the answer differs and the second turned.
        if (got.code === want || second() === at) break;
      }
      assert.equal(got.code, want, `${kind} ${name}: status ${got.status}`);
      if (kind === "valid") assert.equal(got.status, 200, name);
      sent++;
    }
  }
  assert.equal(sent, FILE.valid.length + FILE.invalid.length);
});

// Soak for bounded use (not a CI test: it takes minutes). TRIALS one-time
// links (default 1000), each hit by CONCURRENCY simultaneous consuming POSTs
// (default 20) from different clients, half of them browsers (303 to a
// download session), half not (the file in the response). Every trial must
// start exactly one download. Prints the distribution of successes per trial
// and exits 1 if any trial had other than one.
//
// Run: scripts/soak-usage.sh   (builds what is missing first)

import { startWorker, sign, newKeyEntry, BASE, HOST } from "../harness.mjs";

const TRIALS = Number(process.env.TRIALS ?? 1000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 20);
const KEYS = newKeyEntry("soak");
const w = await startWorker({ keys: KEYS, vars: { LINKGATE_EDGE_CACHE: "off" } });
const BODY = new Uint8Array(2048).map((_, i) => i % 251);
await w.r2.put("soak/file.bin", BODY);

const post = (token, i) => {
  const body = `lg=${token}`;
  const browser = i % 2 === 0;
  return w.fetch(`${BASE}/soak/file.bin`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "content-length": String(body.length),
      "cf-connecting-ip": `198.51.${100 + (i >> 8)}.${i & 255}`,
      "user-agent": `soak/${i}`,
      ...(browser ? { accept: "text/html" } : {}),
    },
    body,
  });
};

const histogram = new Map();
const started = Date.now();
let bad = 0;
for (let t = 0; t < TRIALS; t++) {
  const m = sign(KEYS, ["--host", HOST, "--path", "/soak/file.bin", "--ttl", "1h", "--uses", "1"]);
  const results = await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, i) => {
      const r = await post(m.token, i);
      const bytes = new Uint8Array(await r.arrayBuffer());
      // A success is a download (200 with the whole file) or a session (303).
      if (r.status === 200) return bytes.length === BODY.length ? 1 : Number.NaN;
      if (r.status === 303) return 1;
      return r.status === 410 ? 0 : Number.NaN;
    }),
  );
  const ok = results.reduce((a, b) => a + b, 0);
  histogram.set(ok, (histogram.get(ok) ?? 0) + 1);
  if (ok !== 1) {
    bad++;
    console.log(`trial ${t}: ${Number.isNaN(ok) ? "an unexpected status" : `${ok} downloads`}`);
  }
}
await w.stop();
const secs = ((Date.now() - started) / 1000).toFixed(1);
const dist = [...histogram.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k} download(s): ${v} trials`);
console.log(`${TRIALS} trials x ${CONCURRENCY} concurrent POSTs on uses=1 links, ${secs} s`);
console.log(dist.join("\n"));
console.log(bad === 0 ? "every trial started exactly one download" : `${bad} trials did not start exactly one download`);
process.exit(bad === 0 ? 0 : 1);

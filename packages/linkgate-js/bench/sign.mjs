// The JS package's per-link signing cost in node, for the same link as
// benches/sign.rs (scripts/bench-js.sh prints the ratio). Prints ns per
// link, the fastest of 7 rounds of ~150 ms: `sign` one link a call, and
// `signMany` in batches of 100 links.
import { sign, signMany } from "../lib/node.mjs";

const KEYS = "live:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
const link = { path: "/reports/2026/Q1 board pack.pdf", ttl: 3600, sub: "u-12345" };
const opts = { base: "https://files.example.com", now: 1_800_000_000 };
const batch = Array.from({ length: 100 }, () => ({ ...link }));

function fastest(perIter, links) {
  let best = Infinity;
  let sink = 0;
  for (let round = 0; round < 8; round++) {
    const start = process.hrtime.bigint();
    let iters = 0;
    while (process.hrtime.bigint() - start < 150_000_000n) {
      for (let i = 0; i < 20; i++) sink += perIter();
      iters += 20;
    }
    const ns = Number(process.hrtime.bigint() - start) / (iters * links);
    if (round > 0) best = Math.min(best, ns); // round 0 warms the JIT up
  }
  if (sink === 0) throw new Error("nothing signed");
  return best;
}

// The same in CPU time (process.cpuUsage: user + system), the fastest of
// 20 rounds of ~100 ms of CPU, `sign` and `signMany` interleaved; compared
// with benches/sign.rs's native_cli_cpu_ns_per_link.
function cpuRounds() {
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) * 1000;
  };
  const best = [Infinity, Infinity];
  let sink = 0;
  for (let round = 0; round < 20; round++) {
    for (const [k, f, links] of [[0, () => sign(link, KEYS, opts).url.length, 1], [1, () => signMany(batch, KEYS, opts).length, batch.length]]) {
      const start = cpu();
      let iters = 0;
      while (cpu() - start < 100e6) {
        for (let i = 0; i < 10; i++) sink += f();
        iters += 10;
      }
      best[k] = Math.min(best[k], (cpu() - start) / (iters * links));
    }
  }
  if (sink === 0) throw new Error("nothing signed");
  return best;
}

const one = fastest(() => sign(link, KEYS, opts).url.length, 1);
const many = fastest(() => signMany(batch, KEYS, opts).length, batch.length);
const [oneCpu, manyCpu] = cpuRounds();
console.log(`js_ns_per_link ${one.toFixed(0)}`);
console.log(`js_many_ns_per_link ${many.toFixed(0)}`);
console.log(`js_cpu_ns_per_link ${oneCpu.toFixed(0)}`);
console.log(`js_many_cpu_ns_per_link ${manyCpu.toFixed(0)}`);

// End-to-end: an audit trail nobody can flood or thin out (Queue → D1 in
// workerd). A hostile flood beside a real download never loses the real
// event; tokenless floods become a few counted rows; a bad message never
// holds back the good ones; old rows are pruned by the cron handler.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { startWorker, sign, newKeyEntry, BASE, HOST, now, waitFor } from "./harness.mjs";

const KEYS = newKeyEntry("aud");
const BODY = new Uint8Array(4096).fill(9);
let w;

before(async () => {
  w = await startWorker({ keys: KEYS, vars: { LINKGATE_EDGE_CACHE: "off", LINKGATE_AUDIT_RETENTION_DAYS: "30" } });
  await w.r2.put("real/file.bin", BODY);
});

after(async () => {
  await w?.stop();
});

const rows = async (sql, ...args) => (await w.db.prepare(sql).bind(...args).all()).results;

describe("A1: no event lost", () => {
  test("a flood of oversized hostile events beside a real download: every event reaches D1, the real one included", async () => {
    // Authentic refusals (the objects do not exist) with the largest fields a
    // client controls: 1 KB paths of '"' and 256-byte user agents of '"',
    // which JSON doubles. 120 of them are well over one sendBatch's 256 KB.
    const flood = sign(KEYS, ["--host", HOST, "--path", "/p/", "--prefix", "--ttl", "1h"]);
    const real = sign(KEYS, ["--host", HOST, "--path", "/real/file.bin", "--ttl", "1h"]);
    const hostile = Array.from({ length: 120 }, (_, i) =>
      w.fetch(`${BASE}/p/${String(i).padStart(3, "0")}${"%22".repeat(1000)}?lg=${flood.token}`, {
        headers: { "user-agent": '"'.repeat(256), "cf-connecting-ip": `203.0.113.${i}` },
      }),
    );
    const download = w.fetch(`${BASE}/real/file.bin?lg=${real.token}`, { headers: { "user-agent": "real/1" } });
    const results = await Promise.all([download, ...hostile]);
    for (const r of results) await r.arrayBuffer();
    assert.equal(results[0].status, 200);
    assert.ok(results.slice(1).every((r) => r.status === 404));
    const got = await waitFor(async () => {
      const [n] = await rows("SELECT COUNT(*) AS n FROM events WHERE jti = ?1", flood.jti);
      const mine = await rows("SELECT status, bytes FROM events WHERE jti = ?1", real.jti);
      return n.n === 120 && mine.length === 1 ? mine[0] : null;
    }, "all 121 events in D1");
    assert.deepEqual(got, { status: 200, bytes: 4096 });
    const [long] = await rows("SELECT length(path) AS p, length(user_agent) AS u FROM events WHERE jti = ?1 LIMIT 1", flood.jti);
    assert.ok(long.p > 1000 && long.u === 256, "stored as sent, once encoded");
  });
});

describe("A2: bounded audit storage", () => {
  test("tokenless and forged floods are aggregated per client network and path prefix", async () => {
    const [{ n: before }] = await rows("SELECT COUNT(*) AS n FROM events");
    const forged = sign(newKeyEntry("aud"), ["--host", HOST, "--path", "/x/", "--prefix", "--ttl", "1h"]);
    const reqs = [];
    for (let i = 0; i < 300; i++) {
      const ip = i % 2 ? `198.51.100.${i % 200}` : `2001:db8:7:${i % 50}::1`;
      const url = i % 3 ? `${BASE}/board/q${i}.pdf` : `${BASE}/x/f${i}?lg=${forged.token}`;
      reqs.push(w.fetch(url, { headers: { "cf-connecting-ip": ip } }).then((r) => r.arrayBuffer()));
    }
    await Promise.all(reqs);
    const agg = await waitFor(async () => {
      const r = await rows("SELECT code, client_ip, path, count FROM events WHERE count IS NOT NULL AND time >= ?1", now() - 60);
      return r.reduce((a, e) => a + e.count, 0) >= 300 ? r : null;
    }, "aggregated rows");
    const [{ n: after }] = await rows("SELECT COUNT(*) AS n FROM events");
    assert.ok(after - before <= 8, `300 refusals became ${after - before} rows`);
    assert.equal(agg.reduce((a, e) => a + e.count, 0), 300);
    assert.deepEqual(new Set(agg.map((e) => e.code)), new Set(["token_missing", "signature_invalid"]));
    assert.ok(agg.some((e) => e.client_ip === "198.51.100.0/24" && e.path === "/board/"));
    assert.ok(agg.some((e) => e.client_ip === "2001:db8:7::/48"));
  });
});

describe("consumer and retention", () => {
  test("a message that is not an event never holds back the events beside it", async () => {
    const q = await w.mf.getQueueProducer("LINKGATE_EVENTS");
    const good = (i) => JSON.stringify({ time: now(), request_id: `dlq-good-${i}`, method: "GET", outcome: "allowed", status: 200 });
    await q.sendBatch([
      { body: good(1), contentType: "text" },
      { body: "not json at all", contentType: "text" },
      { body: good(2), contentType: "text" },
    ]);
    await waitFor(async () => (await rows("SELECT request_id FROM events WHERE request_id LIKE 'dlq-good-%'")).length === 2, "the good events");
  });

  test("the daily cron deletes events older than LINKGATE_AUDIT_RETENTION_DAYS and keeps the rest", async () => {
    const old = now() - 31 * 86400;
    await w.db.prepare("INSERT INTO events (time, request_id, method) VALUES (?1, 'ret-old', 'GET'), (?2, 'ret-new', 'GET')").bind(old, now() - 29 * 86400).run();
    const worker = await w.mf.getWorker();
    await worker.scheduled({ cron: "17 3 * * *" });
    const left = (await rows("SELECT request_id FROM events WHERE request_id LIKE 'ret-%'")).map((r) => r.request_id);
    assert.deepEqual(left, ["ret-new"]);
  });
});

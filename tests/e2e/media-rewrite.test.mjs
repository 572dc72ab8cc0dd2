// Media `rewrite` mode (issue 16) against the real worker: HLS playlists
// opened by a prefix link (or by its session) stream through the rewriter;
// every URI under the prefix gets `lgm=<session>`, and the result is
// byte-identical to the original once those tokens are taken out — on
// ffmpeg-made playlists (master and media) and on a large one (~4 MB, split
// across many stream chunks). Segments are then served from `?lgm=` alone.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker, sign, newKeyEntry, problem, BASE, HOST } from "./harness.mjs";

/** The token with one character in its middle changed (the tag no longer verifies). */
const tamper = (t) => {
  const i = t.length >> 1;
  return t.slice(0, i) + (t[i] === "A" ? "B" : "A") + t.slice(i + 1);
};

const KEYS = newKeyEntry("rewrite");
let w;
let dir;
const originals = new Map();

/** A media playlist of `n` segments with a key, a map, CRLF endings and URIs outside the prefix. */
function largePlaylist(n) {
  const lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:2", '#EXT-X-MAP:URI="init.mp4"'];
  for (let i = 0; i < n; i++) {
    if (i % 1000 === 0) lines.push(`#EXT-X-KEY:METHOD=AES-128,URI="keys/k${i}.bin",IV=0x${i.toString(16).padStart(32, "0")}`);
    lines.push(`#EXTINF:2.002,segment ${i}`);
    lines.push(i % 97 === 0 ? `https://ads.example/break-${i}.ts` : i % 89 === 0 ? `../../elsewhere/s${i}.ts` : `part-${String(i).padStart(6, "0")}.m4s?v=3`);
  }
  lines.push("#EXT-X-ENDLIST");
  return lines.join("\r\n") + "\r\n";
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "linkgate-rewrite-"));
  mkdirSync(join(dir, "hls", "ts"), { recursive: true });
  const src = ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=duration=4:size=160x90:rate=25",
    "-c:v", "libx264", "-g", "25", "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod"];
  // fMP4 segments (an #EXT-X-MAP), and AES-128 TS segments (an #EXT-X-KEY):
  // ffmpeg encrypts TS only.
  execFileSync("ffmpeg", [...src, "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
    "-hls_segment_filename", join(dir, "hls", "seg%03d.m4s"), join(dir, "hls", "index.m3u8")]);
  execFileSync("ffmpeg", [...src, "-hls_key_info_file", writeKeyInfo(dir),
    "-hls_segment_filename", join(dir, "hls", "ts", "seg%03d.ts"), join(dir, "hls", "ts", "index.m3u8")]);
  mkdirSync(join(dir, "dash"));
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=duration=4:size=160x90:rate=25",
    "-c:v", "libx264", "-g", "25", "-f", "dash", "-seg_duration", "1", "-use_template", "1", "-use_timeline", "0",
    "-init_seg_name", "init.m4s", "-media_seg_name", "chunk-$Number%03d$.m4s", join(dir, "dash", "manifest.mpd")]);
  const master = '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=160x90,CODECS="avc1.64000c"\nindex.m3u8\n' +
    '#EXT-X-STREAM-INF:BANDWIDTH=310000,RESOLUTION=160x90\nts/index.m3u8\n';
  w = await startWorker({
    keys: KEYS,
    vars: {
      LINKGATE_POLICY: JSON.stringify({ classifications: { internal: { media: "rewrite" } } }),
      LINKGATE_DENYLIST_MEMO_SECS: "0",
    },
  });
  const put = async (key, bytes) => {
    originals.set(key, Buffer.from(bytes));
    await w.r2.put(key, new Uint8Array(bytes));
  };
  await put("tv/show/master.m3u8", Buffer.from(master));
  for (const sub of ["", "ts/"]) {
    for (const name of readdirSync(join(dir, "hls", sub)).filter((n) => n.includes("."))) {
      await put(`tv/show/${sub}${name}`, readFileSync(join(dir, "hls", sub, name)));
    }
  }
  for (const name of readdirSync(join(dir, "dash"))) await put(`tv/show/dash/${name}`, readFileSync(join(dir, "dash", name)));
  await put("tv/show/big/index.m3u8", Buffer.from(largePlaylist(60_000)));
});

after(async () => {
  await w?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** ffmpeg's AES-128 key info file: the key URI as a relative path, so the playlist gets an #EXT-X-KEY. */
function writeKeyInfo(d) {
  const key = join(d, "hls", "ts", "k.bin");
  execFileSync("sh", ["-c", `head -c 16 /dev/urandom > '${key}' && printf 'k.bin\\n${key}\\n' > '${join(d, "info")}'`]);
  return join(d, "info");
}

const strip = (text, token) => text.replaceAll(`?lgm=${token}`, "").replaceAll(`&lgm=${token}`, "");

test("the master playlist: rewritten as it streams, byte-identical but for the added tokens", async () => {
  const m = sign(KEYS, ["--host", HOST, "--path", "/tv/show/", "--prefix", "--ttl", "1h"]);
  const res = await w.fetch(`${BASE}/tv/show/master.m3u8?lg=${m.token}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-length"), null);
  assert.match(res.headers.get("etag"), /^W\//);
  const text = await res.text();
  const token = /index\.m3u8\?lgm=([A-Za-z0-9_-]+)/.exec(text)?.[1];
  assert.ok(token, text);
  assert.notEqual(token, m.token);
  assert.equal(strip(text, token), originals.get("tv/show/master.m3u8").toString());
});

test("the media playlist (ffmpeg, with #EXT-X-KEY and #EXT-X-MAP) and its segments from the session in the query", async () => {
  const m = sign(KEYS, ["--host", HOST, "--path", "/tv/show/", "--prefix", "--ttl", "1h"]);
  const master = await (await w.fetch(`${BASE}/tv/show/master.m3u8?lg=${m.token}`)).text();
  const token = /\?lgm=([A-Za-z0-9_-]+)/.exec(master)[1];
  for (const [dirPath, tag] of [["", /#EXT-X-MAP:URI="init\.mp4\?lgm=/], ["ts/", /#EXT-X-KEY:METHOD=AES-128,URI="k\.bin\?lgm=/]]) {
    const res = await w.fetch(`${BASE}/tv/show/${dirPath}index.m3u8?lgm=${token}`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, tag);
    assert.equal(strip(text, token), originals.get(`tv/show/${dirPath}index.m3u8`).toString(), "byte-identical but for the tokens");
    const uris = text.split("\n").filter((l) => l && !l.startsWith("#"));
    assert.ok(uris.length >= 4);
    for (const u of [...uris, ...[...text.matchAll(/URI="([^"]+)"/g)].map((x) => x[1])]) {
      const seg = await w.fetch(`${BASE}/tv/show/${dirPath}${u}`);
      assert.equal(seg.status, 200, u);
      const path = dirPath + u.split("?")[0];
      assert.deepEqual(Buffer.from(await seg.arrayBuffer()), originals.get(`tv/show/${path}`), `${path}: the object's bytes`);
    }
  }
  await problem(await w.fetch(`${BASE}/tv/show/seg000.m4s`), assert, 401, "token_missing");
  const forged = tamper(token);
  const bad = await w.fetch(`${BASE}/tv/show/seg000.m4s?lgm=${forged}`);
  assert.ok([400, 403].includes(bad.status), `forged: ${bad.status}`);
  await bad.arrayBuffer();
});

test("a large playlist (60,000 segments, ~4 MB): byte-identical but for the tokens, URIs outside the prefix untouched", async () => {
  const m = sign(KEYS, ["--host", HOST, "--path", "/tv/show/big/", "--prefix", "--ttl", "1h"]);
  const res = await w.fetch(`${BASE}/tv/show/big/index.m3u8?lg=${m.token}`);
  assert.equal(res.status, 200);
  const text = await res.text();
  const original = originals.get("tv/show/big/index.m3u8").toString();
  assert.ok(original.length > 3_000_000, `${original.length} bytes`);
  const token = /\?v=3&lgm=([A-Za-z0-9_-]+)/.exec(text)[1];
  assert.equal(strip(text, token), original);
  assert.match(text, /\r\nhttps:\/\/ads\.example\/break-97\.ts\r\n/);
  assert.match(text, /\r\n\.\.\/\.\.\/elsewhere\/s89\.ts\r\n/);
  const lines = original.split("\r\n");
  const under = lines.filter((l) => l && !l.startsWith("#") && !l.startsWith("https:") && !l.startsWith("../../")).length;
  const tags = lines.filter((l) => l.startsWith("#EXT-X-KEY") || l.startsWith("#EXT-X-MAP")).length;
  assert.ok(under > 58_000 && tags === 61, `${under} URIs, ${tags} tags`);
  assert.equal(text.split(`lgm=${token}`).length - 1, under + tags, "one token per URI under the prefix");
});

test("a revoked session stops the next request, playlists and segments alike", async () => {
  const m = sign(KEYS, ["--host", HOST, "--path", "/tv/show/", "--prefix", "--ttl", "1h"]);
  const master = await (await w.fetch(`${BASE}/tv/show/master.m3u8?lg=${m.token}`)).text();
  const token = /\?lgm=([A-Za-z0-9_-]+)/.exec(master)[1];
  await w.kv.put(`jti:${m.jti}`, JSON.stringify({ scope: "jti", value: m.jti, reason: "leak", revoked_at: Math.floor(Date.now() / 1000) + 5 }));
  await problem(await w.fetch(`${BASE}/tv/show/index.m3u8?lgm=${token}`), assert, 410, "revoked", token);
  await problem(await w.fetch(`${BASE}/tv/show/seg001.m4s?lgm=${token}`), assert, 410, "revoked", token);
});

test("a DASH MPD (ffmpeg): SegmentTemplate URLs carry the session, byte-identical but for the tokens, segments served from it", async () => {
  const m = sign(KEYS, ["--host", HOST, "--path", "/tv/show/", "--prefix", "--ttl", "1h"]);
  const res = await w.fetch(`${BASE}/tv/show/dash/manifest.mpd?lg=${m.token}`);
  assert.equal(res.status, 200);
  const text = await res.text();
  const token = /initialization="init\.m4s\?lgm=([A-Za-z0-9_-]+)"/.exec(text)?.[1];
  assert.ok(token, text);
  assert.match(text, new RegExp(`media="chunk-\\$Number%03d\\$\\.m4s\\?lgm=${token}"`));
  const original = originals.get("tv/show/dash/manifest.mpd").toString();
  assert.equal(text.replaceAll(`?lgm=${token}`, "").replaceAll(`&amp;lgm=${token}`, ""), original);
  for (const name of ["init.m4s", "chunk-001.m4s", "chunk-004.m4s"]) {
    const seg = await w.fetch(`${BASE}/tv/show/dash/${name}?lgm=${token}`);
    assert.equal(seg.status, 200, name);
    assert.deepEqual(Buffer.from(await seg.arrayBuffer()), originals.get(`tv/show/dash/${name}`));
  }
});

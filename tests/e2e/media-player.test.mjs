// Real players through linkgate (issue 16): ffmpeg makes a short HLS and a
// short DASH presentation from a test pattern; they are uploaded to local R2;
// headless Chromium plays them with hls.js and dash.js (npm) from a page on
// another origin, with credentials, through one prefix link each. The
// manifest request opens the media session (the `lgm` cookie); every segment
// must come from it. The same page with a tampered link never plays.
// Screenshots of the playing video go to test-output/.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker, sign, newKeyEntry, ROOT, launchChromium } from "./harness.mjs";

/** The token with one character in its middle changed (the tag no longer verifies). */
const tamper = (t) => {
  const i = t.length >> 1;
  return t.slice(0, i) + (t[i] === "A" ? "B" : "A") + t.slice(i + 1);
};

const KEYS = newKeyEntry("player");
const OUT = join(ROOT, "test-output");
const MIN_SEGMENTS = 4;
let w;
let browser;
let pageServer;
let pageOrigin;
let media;

const PLAYER_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>linkgate player test</title></head>
<body style="margin:0;background:#222">
<video id="v" muted playsinline width="640" height="360"></video>
<script src="/hls.min.js"></script>
<script src="/dash.all.min.js"></script>
<script>
  const v = document.getElementById("v");
  window.state = { playing: false, errors: [] };
  v.addEventListener("playing", () => { window.state.playing = true; });
  window.playHls = (url, credentials = true) => {
    // Cookies cross origins only with credentials (hls.js uses XHR).
    const hls = new Hls({ xhrSetup: (xhr) => { xhr.withCredentials = credentials; } });
    hls.on(Hls.Events.ERROR, (_, d) => window.state.errors.push(d.details + (d.fatal ? ":fatal" : "")));
    hls.loadSource(url);
    hls.attachMedia(v);
    v.play().catch((e) => window.state.errors.push("play:" + e.name));
  };
  window.playDash = (url, credentials = true) => {
    const p = dashjs.MediaPlayer().create();
    p.updateSettings({ debug: { logLevel: 0 } });
    // Every request type (manifest, init, media segments) with credentials.
    p.setXHRWithCredentialsForType(undefined, credentials);
    p.on("error", (e) => window.state.errors.push("dash:" + (e.error?.code ?? "?")));
    p.initialize(v, url, true);
  };
</script></body></html>`;

/** ffmpeg: 8 s of test pattern, 1 s segments, H.264 (baseline) for MSE. */
function makePresentations(dir) {
  const src = ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=duration=8:size=320x180:rate=25",
    "-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0"];
  mkdirSync(join(dir, "hls"));
  mkdirSync(join(dir, "dash"));
  execFileSync("ffmpeg", [...src, "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
    "-hls_segment_filename", join(dir, "hls", "seg%03d.ts"), join(dir, "hls", "index.m3u8")]);
  execFileSync("ffmpeg", [...src, "-f", "dash", "-seg_duration", "1", "-use_template", "1", "-use_timeline", "0",
    "-init_seg_name", "init.m4s", "-media_seg_name", "chunk-$Number%03d$.m4s", join(dir, "dash", "manifest.mpd")]);
}

const TYPES = { m3u8: "application/vnd.apple.mpegurl", ts: "video/mp2t", mpd: "application/dash+xml", m4s: "video/iso.segment" };

before(async () => {
  mkdirSync(OUT, { recursive: true });
  media = mkdtempSync(join(tmpdir(), "linkgate-media-"));
  makePresentations(media);
  // The player page lives on its own origin: the worker must answer it with
  // credentialed CORS (LINKGATE_MEDIA_ORIGINS).
  const files = {
    "/player.html": [PLAYER_PAGE, "text/html"],
    "/hls.min.js": [readFileSync(join(ROOT, "node_modules/hls.js/dist/hls.min.js")), "text/javascript"],
    "/dash.all.min.js": [readFileSync(join(ROOT, "node_modules/dashjs/dist/modern/umd/dash.all.min.js")), "text/javascript"],
  };
  pageServer = createServer((req, res) => {
    const f = files[req.url];
    res.writeHead(f ? 200 : 404, { "content-type": f ? f[1] : "text/plain" });
    res.end(f ? f[0] : "");
  });
  await new Promise((r) => pageServer.listen(0, "127.0.0.1", r));
  pageOrigin = `http://127.0.0.1:${pageServer.address().port}`;
  w = await startWorker({
    keys: KEYS,
    http: true,
    vars: {
      LINKGATE_POLICY: JSON.stringify({ classifications: { internal: { media: "cookie" }, public: { media: "rewrite" } } }),
      LINKGATE_MEDIA_ORIGINS: pageOrigin,
    },
  });
  // The HLS presentation twice: cookie mode (internal) and, as `public`,
  // rewriting mode for a player that sends no cookies.
  for (const [kind, dest, classification] of [["hls", "hls", "internal"], ["dash", "dash", "internal"], ["hls", "hls-rewrite", "public"], ["dash", "dash-rewrite", "public"]]) {
    for (const name of readdirSync(join(media, kind))) {
      const type = TYPES[name.split(".").pop()] ?? "application/octet-stream";
      await w.r2.put(`launch-2026/${dest}/${name}`, new Uint8Array(readFileSync(join(media, kind, name))), {
        httpMetadata: { contentType: type },
        customMetadata: { classification },
      });
    }
  }
  browser = await launchChromium(["--autoplay-policy=no-user-gesture-required"]);
});

after(async () => {
  await browser?.close();
  await w?.stop();
  await new Promise((r) => (pageServer ? pageServer.close(r) : r()));
  if (media) rmSync(media, { recursive: true, force: true });
});

/** Open the player page, play `url` with `kind`, and watch every segment. */
async function play(kind, url, { expectPlaying, segment, credentials = true }) {
  const context = await browser.newContext({ viewport: { width: 640, height: 360 } });
  const page = await context.newPage();
  const segments = [];
  const manifests = [];
  page.on("response", async (res) => {
    const u = new URL(res.url());
    if (!res.url().startsWith(w.url)) return;
    if (segment.test(u.pathname)) {
      const headers = await res.request().allHeaders();
      segments.push({ path: u.pathname, status: res.status(), cookie: /(^|;\s*)lgm=/.test(headers.cookie ?? ""), query: u.search });
    } else {
      manifests.push({ path: u.pathname, status: res.status() });
    }
  });
  await page.goto(`${pageOrigin}/player.html`);
  await page.evaluate(([k, u, c]) => (k === "hls" ? window.playHls(u, c) : window.playDash(u, c)), [kind, url, credentials]);
  if (expectPlaying) {
    await page.waitForFunction(() => window.state.playing && document.getElementById("v").currentTime > 2, null, { timeout: 30_000 });
  } else {
    await page.waitForTimeout(5000);
  }
  const state = await page.evaluate(() => ({ ...window.state, time: document.getElementById("v").currentTime }));
  return { context, page, segments, manifests, state };
}

for (const [kind, manifest, segment] of [
  ["hls", "index.m3u8", /\.ts$/],
  ["dash", "manifest.mpd", /\.m4s$/],
]) {
  test(`${kind}: the player reaches playing state through one prefix link, every segment from the session cookie`, async () => {
    const m = sign(KEYS, ["--base", w.url, "--path", `/launch-2026/${kind}/`, "--prefix", "--ttl", "1h"]);
    const url = `${w.url}/launch-2026/${kind}/${manifest}?lg=${m.token}`;
    const run = await play(kind, url, { expectPlaying: true, segment });
    try {
      assert.ok(run.state.playing, `playing: ${JSON.stringify(run.state)}`);
      assert.ok(run.segments.length >= MIN_SEGMENTS, `segments fetched: ${JSON.stringify(run.segments)}`);
      for (const s of run.segments) {
        assert.equal(s.status, 200, `segment ${s.path}`);
        assert.ok(s.cookie, `segment ${s.path} was authorized by the session cookie`);
        assert.equal(s.query, "", "no token in any segment URL");
      }
      await run.page.locator("video").screenshot({ path: join(OUT, `${kind}-playing.png`) });
    } finally {
      await run.context.close();
    }
  });

  test(`${kind}: the same page with a tampered link never plays and fetches no segment`, async () => {
    const m = sign(KEYS, ["--base", w.url, "--path", `/launch-2026/${kind}/`, "--prefix", "--ttl", "1h"]);
    const tampered = tamper(m.token);
    const url = `${w.url}/launch-2026/${kind}/${manifest}?lg=${tampered}`;
    const run = await play(kind, url, { expectPlaying: false, segment });
    try {
      assert.equal(run.state.playing, false);
      assert.equal(run.state.time, 0);
      assert.deepEqual(run.segments.filter((s) => s.status === 200), [], "no segment answered");
      assert.ok(run.manifests.some((r) => [400, 403].includes(r.status)), `manifest refused: ${JSON.stringify(run.manifests)}`);
    } finally {
      await run.context.close();
    }
  });
}

for (const [kind, manifest, segment] of [
  ["hls", "index.m3u8", /\.ts$/],
  ["dash", "manifest.mpd", /\.m4s$/],
]) test(`${kind}, rewriting mode: a player that sends no cookies plays from the rewritten manifest's tokens`, async () => {
  const m = sign(KEYS, ["--base", w.url, "--path", `/launch-2026/${kind}-rewrite/`, "--prefix", "--ttl", "1h"]);
  const url = `${w.url}/launch-2026/${kind}-rewrite/${manifest}?lg=${m.token}`;
  const run = await play(kind, url, { expectPlaying: true, segment, credentials: false });
  try {
    assert.ok(run.state.playing, `playing: ${JSON.stringify(run.state)}`);
    assert.ok(run.segments.length >= MIN_SEGMENTS, `segments fetched: ${JSON.stringify(run.segments)}`);
    for (const s of run.segments) {
      assert.equal(s.status, 200, `segment ${s.path}`);
      assert.equal(s.cookie, false, "no cookie sent");
      assert.match(s.query, /^\?lgm=[A-Za-z0-9_-]+$/, "the session from the rewritten playlist");
    }
    await run.page.locator("video").screenshot({ path: join(OUT, `${kind}-rewrite-playing.png`) });
  } finally {
    await run.context.close();
  }
});

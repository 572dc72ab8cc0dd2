// A one-time link in real headless Chromium: the landing page, a click on
// Download, the exact bytes, and the used-up page on a second click.
// Screenshots go to test-output/.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startWorker, sign, newKeyEntry, ROOT } from "./harness.mjs";

const KEYS = newKeyEntry("web");
const OUT = join(ROOT, "test-output");
const BODY = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
let w;
let browser;

before(async () => {
  mkdirSync(OUT, { recursive: true });
  w = await startWorker({ keys: KEYS, http: true, vars: { LINKGATE_REFRESH_URL: "https://app.example/renew" } });
  await w.r2.put("board/q3-pack.pdf", BODY, { httpMetadata: { contentType: "application/pdf" } });
  assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM} (scripts/test.sh installs it)`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  await w?.stop();
});

test("one-time link: landing page, Download, exact bytes, then the used-up page", async () => {
  const m = sign(KEYS, ["--base", w.url, "--path", "/board/q3-pack.pdf", "--ttl", "2h", "--uses", "1", "--filename", "Q3 board pack.pdf"]);
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const res = await page.goto(m.url);
  assert.equal(res.status(), 200);
  assert.equal(await page.title(), "Download Q3 board pack.pdf");
  const text = await page.locator("main").innerText();
  assert.match(text, /Q3 board pack\.pdf/);
  assert.match(text, /300\.0 KB/);
  assert.match(text, /Downloads left\s+1/);
  // The expiry was rewritten into local time by the page's one allowed script.
  const shown = await page.locator("time").innerText();
  assert.ok(!shown.endsWith("Z"), `expiry shown in local time: ${shown}`);
  const button = page.getByRole("button", { name: "Download" });
  assert.ok(await button.isVisible());
  await page.screenshot({ path: join(OUT, "landing-page.png"), fullPage: true });

  const [download] = await Promise.all([page.waitForEvent("download"), button.click()]);
  assert.equal(download.suggestedFilename(), "Q3 board pack.pdf");
  const saved = await download.path();
  assert.deepEqual(new Uint8Array(readFileSync(saved)), BODY, "the exact bytes");

  // Second click: the link is used up.
  const [second] = await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Download" }).click()]);
  assert.equal(second.status(), 410);
  const ended = await page.locator("main").innerText();
  assert.match(ended, /used up/);
  assert.ok(await page.getByRole("link", { name: "Request a new link" }).isVisible());
  await page.screenshot({ path: join(OUT, "used-up-page.png"), fullPage: true });
  await context.close();
});

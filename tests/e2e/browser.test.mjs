// A one-time link in real headless Chromium: the landing page, a click on
// Download, the exact bytes, and the used-up page on a second click; and the
// page a person sees for each kind of refusal. Screenshots go to
// test-output/.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startWorker, sign, newKeyEntry, waitFor, ROOT, launchChromium } from "./harness.mjs";

const KEYS = newKeyEntry("web");
const OUT = join(ROOT, "test-output");
const BODY = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);
let w;
let browser;

before(async () => {
  mkdirSync(OUT, { recursive: true });
  // No denylist memo: the revocation below is written straight into KV.
  w = await startWorker({
    keys: KEYS,
    http: true,
    vars: { LINKGATE_REFRESH_URL: "https://app.example/renew", LINKGATE_DENYLIST_MEMO_SECS: "0" },
  });
  await w.r2.put("board/q3-pack.pdf", BODY, { httpMetadata: { contentType: "application/pdf" } });
  browser = await launchChromium();
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

test("refusals a person sees: a page in plain words, same status, no token, the expiry in local time", async () => {
  const link = (args) => sign(KEYS, ["--base", w.url, "--path", "/board/q3-pack.pdf", ...args]);
  const expired = link(["--ttl", "1s"]);
  const revoked = link(["--ttl", "1h"]);
  await w.kv.put(`jti:${revoked.jti}`, JSON.stringify({ scope: "jti", value: revoked.jti, reason: "sent to the wrong person", revoked_at: Math.floor(Date.now() / 1000) + 5 }));
  const good = link(["--ttl", "1h"]);
  // One character of the tag changed (not the last: its spare bits must stay
  // zero, or the token is malformed rather than forged).
  const at = good.token.length - 5;
  const forged = good.token.slice(0, at) + (good.token[at] === "A" ? "B" : "A") + good.token.slice(at + 1);
  const tampered = { url: good.url.replace(good.token, forged), token: forged };
  const elsewhere = link(["--ttl", "1h", "--ip", "203.0.113.0/24"]);
  await new Promise((r) => setTimeout(r, 2100)); // let the 1 s link expire
  const context = await browser.newContext();
  const page = await context.newPage();
  for (const [name, m, status, heading] of [
    ["expired", expired, 410, "This link has expired"],
    ["revoked", revoked, 410, "This link has been withdrawn"],
    ["tampered", tampered, 403, "This link is not valid"],
    ["other-network", elsewhere, 403, "This link cannot be opened from this network"],
  ]) {
    const res = await page.goto(m.url);
    assert.equal(res.status(), status, name);
    const headers = res.headers();
    assert.match(headers["content-type"], /^text\/html/, name);
    assert.equal(headers["cache-control"], "no-store", name);
    assert.match(headers["content-security-policy"], /default-src 'none'/, name);
    assert.equal(await page.locator("h1").innerText(), heading, name);
    const html = await page.content();
    assert.ok(!html.includes(m.token), `${name}: the token is never on the page`);
    assert.match(await page.locator("main").innerText(), /Reference for support: \S+/, name);
    if (name === "expired") {
      const shown = await page.locator("time").innerText();
      assert.ok(!shown.endsWith("Z"), `expiry shown in local time: ${shown}`);
      assert.ok(await page.getByRole("link", { name: "Request a new link" }).isVisible());
    }
    await page.screenshot({ path: join(OUT, `refusal-${name}.png`), fullPage: true });
  }
  await context.close();
  // A script asking for JSON still gets the problem document.
  const r = await fetch(expired.url, { headers: { accept: "application/json" } });
  assert.equal(r.status, 410);
  assert.equal(r.headers.get("content-type"), "application/problem+json");
  assert.equal((await r.json()).code, "expired");
});

// Links for one person (docs/identity.md): a browser without a sign-in gets
// the page with a Sign in button; the page's one script puts the browser's own
// address (the link, token included) into the way back, which the response
// itself never carries.
test("a link for one person: the sign-in page leads back to the link", async () => {
  const keys = newKeyEntry("web-id");
  const wi = await startWorker({
    keys,
    http: true,
    vars: {
      LINKGATE_IDENTITY: JSON.stringify({ source: "access", team_domain: "acme", audience: "aud-browser", jwks_url: "http://127.0.0.1:9/certs" }),
      LINKGATE_POLICY: JSON.stringify({ classifications: { internal: { identity: { max_auth_age: "1h" } } } }),
    },
  });
  try {
    await wi.r2.put("board/for-alice.pdf", BODY);
    const m = sign(keys, ["--base", wi.url, "--path", "/board/for-alice.pdf", "--ttl", "2h", "--sub", "alice.smith"]);
    const raw = await fetch(m.url, { headers: { accept: "text/html" } });
    assert.equal(raw.status, 401);
    assert.ok(!(await raw.text()).includes(m.token), "the response never carries the token");
    const context = await browser.newContext();
    const page = await context.newPage();
    const res = await page.goto(m.url);
    assert.equal(res.status(), 401);
    assert.equal(await page.locator("h1").innerText(), "Sign in to open this file");
    const href = await page.getByRole("link", { name: "Sign in" }).getAttribute("href");
    const u = new URL(m.url);
    assert.equal(
      href,
      `https://acme.cloudflareaccess.com/cdn-cgi/access/login/${encodeURIComponent(u.host)}?kid=aud-browser&redirect_url=${encodeURIComponent(u.pathname + u.search)}`,
    );
    await page.screenshot({ path: join(OUT, "refusal-sign-in.png"), fullPage: true });
    await context.close();
  } finally {
    await wi.stop();
  }
});

test("untrusted context: opened from an unexpected country, the landing page warns before Download (issue 17, item 4)", async () => {
  // Confidential objects are expected to be opened from Switzerland; this
  // browser comes from the US (request.cf.country of every request).
  const policy = JSON.stringify({ classifications: { confidential: { expected_countries: ["CH"] } } });
  const w2 = await startWorker({ keys: KEYS, http: true, cf: { country: "US" }, vars: { LINKGATE_POLICY: policy } });
  try {
    await w2.r2.put("board/q3-pack.pdf", BODY, { httpMetadata: { contentType: "application/pdf" }, customMetadata: { classification: "confidential" } });
    const m = sign(KEYS, ["--base", w2.url, "--path", "/board/q3-pack.pdf", "--ttl", "2h", "--uses", "1", "--filename", "Q3 board pack.pdf"]);
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    assert.equal((await page.goto(m.url)).status(), 200);
    const warning = page.getByRole("alert");
    assert.ok(await warning.isVisible(), "the warning is shown");
    assert.match(await warning.innerText(), /from a country it is not expected to be used from/);
    // Before the button, in reading order.
    const order = await page.evaluate(() => {
      const w = document.getElementById("untrusted-context");
      const b = document.querySelector("button");
      return w.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING;
    });
    assert.ok(order, "the warning precedes the Download button");
    await page.screenshot({ path: join(OUT, "landing-page-untrusted.png"), fullPage: true });
    // A warning, not a refusal: the download still works.
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download" }).click()]);
    assert.deepEqual(new Uint8Array(readFileSync(await download.path())), BODY);
    await context.close();
    // Audited: the landing page's event says so.
    const ev = await waitFor(
      async () => (await w2.db.prepare("SELECT * FROM events WHERE jti = ?1 AND reason = 'landing_page'").bind(m.jti).all()).results[0],
      "the landing page's event",
    );
    assert.equal(ev.context, "untrusted_country");
    assert.equal(ev.country, "US");
    // From the expected country: no warning, nothing recorded.
    const m2 = sign(KEYS, ["--base", w2.url, "--path", "/board/q3-pack.pdf", "--ttl", "2h", "--uses", "1"]);
    const home = await w2.fetch(m2.url, { cf: { country: "CH" } });
    assert.equal(home.status, 200);
    assert.ok(!(await home.text()).includes("untrusted-context"));
    const quiet = await waitFor(
      async () => (await w2.db.prepare("SELECT * FROM events WHERE jti = ?1 AND reason = 'landing_page'").bind(m2.jti).all()).results[0],
      "the second landing page's event",
    );
    assert.equal(quiet.context, null);
    assert.equal(quiet.country, "CH");
  } finally {
    await w2.stop();
  }
});

// The admin console (/_linkgate/console) in real headless Chromium against
// the release worker, and the admin routes it needs (bucket listing, policy,
// hourly counts). The browser flow: sign in with the keyboard, upload, mint,
// open the link, see the download in lookup and events, revoke (410), lift
// (200 again); a wrong credential gets no data; a 403 is shown with its
// code. Every URL the page requests or navigates to, every console message
// and every D1 audit row are checked for the credential and the link token.
// Screenshots of each view go to test-output/console-*.png.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { startWorker, newKeyEntry, ROOT, BASE, CLI, waitFor, launchChromium } from "./harness.mjs";

const KEYS = newKeyEntry("con");
const ADMIN = "console-admin-token-8c1f0e7a5b2d4c69a0b3";
const OUT = join(ROOT, "test-output");
const BODY = new Uint8Array(120_000).map((_, i) => (i * 13) % 251);
let w;
let browser;

const api = (path, { method = "GET", token = ADMIN, body, headers = {} } = {}) =>
  w.fetch(`${BASE}/_linkgate/${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(typeof body === "string" ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) } : {}),
      ...headers,
    },
    body,
  });

/** A scoped credential from the real CLI, `linkgate admin-token create --json`. */
function credential(...args) {
  const out = execFileSync(CLI, ["admin-token", "create", "--json", "--ttl", "1d", ...args], {
    env: { ...process.env, LINKGATE_ADMIN_TOKEN: ADMIN },
    encoding: "utf8",
  });
  return JSON.parse(out).credential;
}

async function json(res, status) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return JSON.parse(text);
}

before(async () => {
  mkdirSync(OUT, { recursive: true });
  // No denylist memo: a revoke and a lift apply to the next request.
  w = await startWorker({ keys: KEYS, http: true, vars: { LINKGATE_ADMIN_TOKEN: ADMIN, LINKGATE_DENYLIST_MEMO_SECS: "0" } });
  for (const [key, classification] of [
    ["docs/a.txt", "public"],
    ["docs/b.txt", "restricted"],
    ["docs/c.txt", null],
    ["docs/sub/d.txt", "internal"],
    ["top.txt", "confidential"],
  ]) {
    await w.r2.put(key, `body of ${key}`, classification ? { customMetadata: { classification } } : {});
  }
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await w?.stop();
});

describe("the console's files", () => {
  test("page, script and stylesheet: no credential needed, strict CSP, no inline script, never cached", async () => {
    const res = await w.fetch(`${BASE}/_linkgate/console`);
    assert.equal(res.status, 200);
    const html = await res.text();
    const h = res.headers;
    assert.match(h.get("content-type"), /^text\/html/);
    const csp = h.get("content-security-policy");
    for (const part of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"]) {
      assert.ok(csp.split("; ").includes(part), `${part} in ${csp}`);
    }
    assert.doesNotMatch(csp, /unsafe|https?:|\*/);
    assert.equal(h.get("cache-control"), "no-store");
    assert.equal(h.get("x-content-type-options"), "nosniff");
    assert.equal(h.get("referrer-policy"), "no-referrer");
    // Every script has a src on this origin; no inline script, handler or style.
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    assert.equal(scripts.length, 1);
    for (const [, attrs, inner] of scripts) {
      assert.match(attrs, /src="\/_linkgate\/console\/app\.js"/);
      assert.equal(inner.trim(), "");
    }
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, "no inline event handlers");
    assert.doesNotMatch(html, /\sstyle\s*=|<style/i, "no inline styles");
    assert.doesNotMatch(html, /https?:\/\//, "no other origin");
    for (const [path, type] of [["app.js", /^text\/javascript/], ["app.css", /^text\/css/]]) {
      const r = await w.fetch(`${BASE}/_linkgate/console/${path}`);
      assert.equal(r.status, 200, path);
      assert.match(r.headers.get("content-type"), type, path);
      assert.equal(r.headers.get("cache-control"), "no-store", path);
      assert.doesNotMatch(await r.text(), /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, `${path}: no other origin`);
    }
    assert.equal((await w.fetch(`${BASE}/_linkgate/console/`)).status, 200);
    const head = await w.fetch(`${BASE}/_linkgate/console`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal((await head.text()).length, 0);
    const post = await w.fetch(`${BASE}/_linkgate/console`, { method: "POST", body: "x" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    // Anything else under console/ is the API's (authenticated) 401.
    assert.equal((await w.fetch(`${BASE}/_linkgate/console/other.js`)).status, 401);
  });

  test("off with the admin API: 404 when LINKGATE_ADMIN_TOKEN is unset", async () => {
    const off = await startWorker({ keys: KEYS });
    try {
      for (const p of ["console", "console/app.js", "console/app.css", "files", "policy", "events/hourly"]) {
        const r = await off.fetch(`${BASE}/_linkgate/${p}`);
        assert.equal(r.status, 404, p);
        assert.equal((await r.json()).code, "not_found", p);
      }
    } finally {
      await off.stop();
    }
  });
});

describe("routes the console needs", () => {
  test("GET /_linkgate/files lists a folder: files with classification and rule, subfolders, paging", async () => {
    const top = await json(await api("files"), 200);
    assert.equal(top.prefix, "/");
    assert.deepEqual(top.folders, ["/docs/"]);
    assert.deepEqual(top.files.map((f) => [f.path, f.classification, f.rule]), [["/top.txt", "confidential", "confidential"]]);
    const docs = await json(await api("files?prefix=%2Fdocs%2F"), 200);
    assert.deepEqual(docs.folders, ["/docs/sub/"]);
    assert.deepEqual(
      docs.files.map((f) => [f.path, f.size, f.classification, f.rule]),
      [
        ["/docs/a.txt", 18, "public", "public"],
        ["/docs/b.txt", 18, "restricted", "restricted"],
        ["/docs/c.txt", 18, null, "internal"],
      ],
    );
    assert.ok(docs.files.every((f) => Number.isInteger(f.uploaded) && f.uploaded > 1.7e9));
    assert.equal(docs.cursor, null);
    // Paged with the API's cursor.
    const seen = [];
    let cursor = null;
    for (let i = 0; i < 10; i++) {
      const page = await json(await api(`files?prefix=/docs/&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`), 200);
      seen.push(...page.files.map((f) => f.path), ...page.folders);
      cursor = page.cursor;
      if (!cursor) break;
    }
    assert.deepEqual(seen.sort(), ["/docs/a.txt", "/docs/b.txt", "/docs/c.txt", "/docs/sub/"]);
    for (const [q, field] of [["prefix=/docs", "prefix"], ["prefix=/a/../b/", "prefix"], ["limit=0", "limit"], ["colour=1", "colour"]]) {
      const b = await json(await api(`files?${q}`), 400);
      assert.equal(b.field, field, q);
    }
    assert.equal((await api("files", { token: "wrong" })).status, 401);
    assert.equal((await api("files", { method: "POST" })).status, 405);
  });

  test("GET /_linkgate/policy: every rule, lifetimes capped by the worker's maximum", async () => {
    const p = await json(await api("policy"), 200);
    assert.equal(p.default_classification, "internal");
    assert.equal(p.max_ttl_secs, 7 * 86400);
    const r = Object.fromEntries(p.rules.map((x) => [x.name, x]));
    assert.deepEqual(Object.keys(r).sort(), ["confidential", "internal", "public", "restricted"]);
    assert.equal(r.restricted.max_ttl_secs, 3600);
    assert.equal(r.restricted.require_sub, true);
    assert.equal(r.restricted.require_sealed, true);
    assert.deepEqual(r.confidential.modes, ["stream"]);
    assert.equal((await api("policy", { token: null })).status, 401);
    assert.equal((await json(await api("policy?x=1"), 400)).field, "x");
  });

  test("GET /_linkgate/events/hourly counts downloads and refusals in D1, per hour, for the filters", async () => {
    const minted = await json(
      await api("links", { method: "POST", body: JSON.stringify({ path: "/docs/a.txt", ttl: "1h", tenant: "hourly" }) }),
      201,
    );
    const url = new URL(minted.url);
    const link = `${BASE}${url.pathname}${url.search}`;
    for (let i = 0; i < 3; i++) assert.equal((await w.fetch(link)).status, 200);
    assert.equal((await w.fetch(link, { method: "HEAD" })).status, 200, "HEAD is not a download");
    assert.equal((await w.fetch(link.replace("/docs/a.txt", "/docs/b.txt"))).status, 403);
    // The mint, three GETs, a HEAD and a refusal: six events through the queue.
    await waitFor(async () => (await json(await api(`events?tenant=hourly`), 200)).events.length >= 6, "six events of tenant hourly");
    const h = await json(await api("events/hourly?tenant=hourly"), 200);
    assert.ok(h.until - h.since === 86400);
    const total = (k) => h.hours.reduce((n, x) => n + x[k], 0);
    assert.equal(total("downloads"), 3, "three GETs; the HEAD and the admin call are not downloads");
    assert.equal(total("refusals"), 1);
    const refusedOnly = await json(await api("events/hourly?tenant=hourly&outcome=refused"), 200);
    assert.equal(refusedOnly.hours.reduce((n, x) => n + x.downloads, 0), 0, "the outcome filter applies");
    assert.ok(h.hours.every((x) => x.hour % 3600 === 0));
    const none = await json(await api("events/hourly?tenant=nobody"), 200);
    assert.deepEqual(none.hours, []);
    assert.equal((await json(await api("events/hourly?since=10&until=5"), 400)).field, "since");
    assert.equal((await json(await api(`events/hourly?since=0&until=${32 * 86400}`), 400)).field, "since");
  });
});

/** Watch a page: every URL it requests or navigates to, every console message. */
function watch(page, seen) {
  page.on("request", (r) => seen.urls.push(r.url()));
  page.on("framenavigated", (f) => seen.urls.push(f.url()));
  page.on("console", (m) => seen.messages.push(m.text()));
  page.on("pageerror", (e) => seen.messages.push(String(e)));
}

const shot = (page, name) => page.screenshot({ path: join(OUT, `console-${name}.png`), fullPage: true });

async function message(page, pattern) {
  await page.waitForFunction((src) => new RegExp(src).test(document.getElementById("msg").textContent), pattern.source);
  return page.locator("#msg").innerText();
}

describe("in Chromium", () => {
  const seen = { urls: [], messages: [], secrets: [ADMIN], tokens: [] };
  let console_;

  test("the whole flow: sign in, upload, mint, download, lookup, events, revoke (410), lift (200), sign out", async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: w.url });
    const page = await context.newPage();
    watch(page, seen);
    console_ = `${w.url}/_linkgate/console`;
    const res = await page.goto(console_);
    assert.equal(res.status(), 200);
    assert.match(res.headers()["content-security-policy"], /default-src 'none'/);
    await shot(page, "signin");

    // A wrong credential: refused, no data, nothing kept.
    await page.fill("#cred", "not-the-credential");
    await page.press("#cred", "Enter");
    assert.match(await message(page, /refused/), /401 unauthorized/);
    assert.ok(await page.locator("#nav").isHidden(), "no views without a credential");
    assert.equal(await page.evaluate(() => sessionStorage.length + localStorage.length), 0);
    await shot(page, "refused");

    // Sign in with the keyboard alone: Tab to the field, type, Enter.
    await page.evaluate(() => document.activeElement.blur());
    let tabs = 0;
    for (let i = 0; i < 10 && (await page.evaluate(() => document.activeElement.id)) !== "cred"; i++, tabs++) await page.keyboard.press("Tab");
    assert.ok(tabs >= 1, "reached by pressing Tab");
    assert.equal(await page.evaluate(() => document.activeElement.id), "cred", "the credential field is reachable with Tab");
    await page.keyboard.type(ADMIN);
    await page.keyboard.press("Enter");
    await message(page, /Signed in/);
    assert.ok(await page.locator("#nav").isVisible());
    assert.equal(await page.evaluate(() => sessionStorage.getItem("linkgate.credential")), ADMIN);
    assert.equal(await page.evaluate(() => localStorage.length), 0, "never in localStorage");
    assert.equal(await page.inputValue("#cred"), "", "the field is cleared");

    // Upload a file with its classification.
    await page.getByRole("button", { name: "Upload" }).click();
    await page.setInputFiles("#u-file", { name: "q3-pack.pdf", mimeType: "application/pdf", buffer: Buffer.from(BODY) });
    await page.fill("#u-path", "/board/q3-pack.pdf");
    await page.selectOption("#u-class", "confidential");
    await page.getByRole("button", { name: "Upload", exact: true }).last().click();
    await message(page, /Uploaded/);
    assert.match(await page.locator("#u-out").innerText(), /\/board\/q3-pack\.pdf \(120\.0 KB\), classification confidential/);
    const stored = await w.r2.head("board/q3-pack.pdf");
    assert.equal(stored.size, BODY.length);
    assert.equal(stored.customMetadata.classification, "confidential");
    await shot(page, "upload");

    // Mint, with the keyboard: list the folder, pick the file, fill, Enter.
    await page.getByRole("button", { name: "Mint" }).click();
    await page.fill("#prefix", "/board/");
    await page.press("#prefix", "Enter");
    await message(page, /1 file\(s\), 0 folder\(s\) in \/board\//);
    await page.focus("#m-pick");
    await page.keyboard.press("ArrowDown");
    assert.equal(await page.inputValue("#m-path"), "/board/q3-pack.pdf");
    const limits = await page.locator("#m-limits").innerText();
    assert.match(limits, /Classification confidential: links live at most 3d; delivery stream/, "the rule's limits before submit");
    const tabTo = async (id) => {
      await page.keyboard.press("Tab");
      assert.equal(await page.evaluate(() => document.activeElement.id), id);
    };
    await tabTo("m-path");
    await tabTo("m-ttl");
    await page.keyboard.press("Control+A");
    await page.keyboard.type("2h");
    await tabTo("m-sub");
    await page.keyboard.type("u-1842");
    await tabTo("m-tenant");
    await page.keyboard.type("acme");
    await page.keyboard.press("Enter");
    await message(page, /Link minted/);
    const url = await page.inputValue("#m-url");
    assert.ok(url.startsWith(`${w.url}/board/q3-pack.pdf?lg=`), url);
    const token = new URL(url).searchParams.get("lg");
    seen.token = token;
    const jti = /jti ([0-9a-f]{32})/.exec(await page.locator("#m-info").innerText())[1];
    await page.getByRole("button", { name: "Copy link" }).click();
    await message(page, /copied/);
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url, "the copy button copies the link");
    await shot(page, "mint");

    // The policy refuses more than the rule allows: a 403 shown with its code and rule.
    await page.fill("#m-ttl", "5d");
    await page.press("#m-ttl", "Enter");
    assert.match(await message(page, /Refused/), /403 policy_denied \(rule confidential\.max_ttl\)/);
    assert.ok(await page.locator("#nav").isVisible(), "a 403 keeps the session");

    // Open the link: the download works.
    const got = await fetch(url);
    assert.equal(got.status, 200);
    assert.deepEqual(new Uint8Array(await got.arrayBuffer()), BODY);
    await waitFor(async () => (await w.db.prepare("SELECT COUNT(*) AS n FROM events WHERE jti = ?1 AND outcome = 'allowed'").bind(jti).first()).n >= 1, "the download's audit event");

    // Look it up by its URL (sent in a POST body) and by its jti.
    await page.getByRole("button", { name: "Look up" }).click();
    await page.fill("#l-q", url);
    await page.press("#l-q", "Enter");
    await message(page, /Looked up/);
    let out = await page.locator("#l-out").innerText();
    assert.match(out, /State\s+valid/);
    assert.match(out, /Recipient \(sub\)\s+u-1842/);
    assert.match(out, /Tenant\s+acme/);
    assert.match(out, /Downloads so far\s+1/);
    assert.match(out, /allowed/);
    await shot(page, "lookup");
    await page.fill("#l-q", jti);
    await page.press("#l-q", "Enter");
    await message(page, new RegExp(`Looked up ${jti}`));
    out = await page.locator("#l-out").innerText();
    assert.match(out, /Path\s+\/board\/q3-pack\.pdf/);
    assert.match(out, /Downloads so far\s+1/);
    assert.match(out, /Minted here\s+\S/);
    assert.match(out, /Latest decision\s+allowed, /);

    // Events for the tenant, with the hourly chart.
    await page.getByRole("button", { name: "Events" }).click();
    await page.fill("#e-tenant", "acme");
    await page.press("#e-tenant", "Enter");
    await message(page, /event\(s\)/);
    const rows = await page.locator("#e-list tbody tr").allInnerTexts();
    assert.ok(rows.some((r) => /allowed/.test(r) && /q3-pack\.pdf/.test(r)), rows.join("\n"));
    assert.equal(await page.locator("#chart svg rect.down").count(), 1, "one hour with downloads");
    assert.match(await page.locator("#chart svg").getAttribute("aria-label"), /1 downloads, 0 refusals/);
    await shot(page, "events");

    // Revoke by jti: the link answers 410; lift: 200 again.
    await page.getByRole("button", { name: "Revoke" }).click();
    await page.selectOption("#r-scope", "jti");
    await page.fill("#r-value", jti);
    await page.fill("#r-reason", "sent to the wrong person");
    await page.press("#r-reason", "Enter");
    await message(page, /Revoked jti/);
    assert.match(await page.locator("#r-list").innerText(), /sent to the wrong person/);
    const revoked = await fetch(url, { headers: { accept: "application/json" } });
    assert.equal(revoked.status, 410);
    assert.equal((await revoked.json()).code, "revoked");
    await shot(page, "revoke");
    await page.getByRole("button", { name: `Lift jti ${jti}` }).click();
    await message(page, /Lifted jti/);
    assert.equal((await fetch(url)).status, 200, "lifted: the link works again");

    // A refusal of a scoped credential (another tenant, a missing
    // capability) is a 403 problem: shown with its code, the session kept.
    await page.route("**/_linkgate/revocations?*", (r) =>
      r.fulfill({ status: 403, contentType: "application/problem+json", body: JSON.stringify({ status: 403, code: "forbidden", detail: "This credential may not read revocations." }) }),
    );
    await page.getByRole("button", { name: "Refresh" }).click();
    assert.match(await message(page, /Refused/), /403 forbidden\. This credential may not read revocations\./);
    assert.ok(await page.locator("#nav").isVisible());
    await page.unroute("**/_linkgate/revocations?*");

    // Sign out forgets the credential.
    await page.getByRole("button", { name: "Sign out" }).click();
    await message(page, /Signed out/);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    assert.ok(await page.locator("#v-signin").isVisible());
    await context.close();
  });

  test("a phone-sized viewport: readable without sideways scrolling", async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    watch(page, seen);
    await page.goto(console_);
    await page.fill("#cred", ADMIN);
    await page.press("#cred", "Enter");
    await message(page, /Signed in/);
    await page.fill("#prefix", "/board/");
    await page.press("#prefix", "Enter");
    await message(page, /1 file/);
    await page.selectOption("#m-pick", "/board/q3-pack.pdf");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no sideways scrolling (${overflow} px)`);
    await shot(page, "phone");
    await context.close();
  });

  test("a tenant credential (linkgate admin-token create) sees only its tenant and folder; views it may not use are hidden", async () => {
    const acme = credential("--name", "acme-console", "--tenant", "acme", "--can", "mint,inspect,revoke,events", "--prefix", "/acme/");
    const reader = credential("--name", "acme-reader", "--tenant", "acme", "--can", "events");
    seen.secrets.push(acme, reader);
    for (const key of ["acme/x.pdf", "acme/sub/y.pdf", "globex/z.pdf"]) await w.r2.put(key, `body of ${key}`);
    // Downloads and refusals of three kinds: acme's inside /acme/, globex's,
    // and acme's outside /acme/ (a root-minted link), which the folder hides.
    const mintAs = async (path, tenant) => {
      const m = await json(await api("links", { method: "POST", body: JSON.stringify({ path, ttl: "1h", tenant }) }), 201);
      const u = new URL(m.url);
      return `${BASE}${u.pathname}${u.search}`;
    };
    const x = await mintAs("/acme/x.pdf", "acme");
    const z = await mintAs("/globex/z.pdf", "globex");
    const outside = await mintAs("/globex/z.pdf", "acme");
    for (const l of [x, x, z, outside]) assert.equal((await w.fetch(l)).status, 200);
    assert.equal((await w.fetch(x.replace("/acme/x.pdf", "/acme/sub/y.pdf"))).status, 403);
    assert.equal((await w.fetch(z.replace("/globex/z.pdf", "/globex/other.pdf"))).status, 403);
    const count = async (where) => (await w.db.prepare(`SELECT COUNT(*) AS n FROM events WHERE outcome <> 'admin' AND ${where}`).first()).n;
    await waitFor(async () => (await count("tenant = 'acme' AND path LIKE '/acme/%'")) >= 3 && (await count("tenant = 'globex'")) >= 2 && (await count("tenant = 'acme' AND path = '/globex/z.pdf'")) >= 1, "the downloads' events");

    // The API itself: the listing stays in its folder, the counts in its tenant and folder.
    assert.equal((await json(await api("files", { token: acme }), 200)).prefix, "/acme/", "no prefix: its own folder");
    for (const q of ["files?prefix=/", "files?prefix=/globex/"]) assert.equal((await json(await api(q, { token: acme }), 403)).code, "prefix_forbidden", q);
    assert.equal((await json(await api("events/hourly?tenant=globex", { token: acme }), 403)).code, "tenant_forbidden");
    const h = await json(await api("events/hourly", { token: acme }), 200);
    assert.deepEqual([h.hours.reduce((n, r) => n + r.downloads, 0), h.hours.reduce((n, r) => n + r.refusals, 0)], [2, 1]);
    assert.equal((await json(await api("policy", { token: reader }), 403)).code, "capability_missing");
    assert.equal((await json(await api("files", { token: reader }), 403)).code, "capability_missing");

    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    watch(page, seen);
    await page.goto(console_);
    await page.fill("#cred", acme);
    await page.press("#cred", "Enter");
    await message(page, /Signed in/);
    assert.match(await page.locator("#who").innerText(), /Signed in as acme-console · tenant acme · folder \/acme\/ · may mint, look up, revoke, events · until /);
    assert.ok(await page.getByRole("button", { name: "Upload" }).isHidden(), "no files:write: no Upload view");
    assert.ok(await page.getByRole("button", { name: "Events" }).isVisible());

    // The path picker: its folder only, no way up, another folder refused.
    assert.equal(await page.inputValue("#prefix"), "/acme/");
    await page.press("#prefix", "Enter");
    await message(page, /1 file\(s\), 1 folder\(s\) in \/acme\//);
    assert.deepEqual(await page.locator("#m-pick option").evaluateAll((os) => os.map((o) => o.value)), ["/acme/x.pdf"]);
    assert.deepEqual(await page.locator("#folders button").allInnerTexts(), ["/acme/sub/"], "no ↑ out of its folder");
    await page.fill("#prefix", "/globex/");
    await page.press("#prefix", "Enter");
    assert.match(await message(page, /Refused/), /403 prefix_forbidden/);
    await page.fill("#prefix", "/acme/sub/");
    await page.press("#prefix", "Enter");
    await message(page, /in \/acme\/sub\//);
    assert.deepEqual(await page.locator("#folders button").allInnerTexts(), ["↑ /acme/"]);

    // Minting outside its folder or tenant is refused; inside, the link is acme's.
    await page.fill("#m-path", "/globex/z.pdf");
    await page.fill("#m-ttl", "1h");
    await page.press("#m-ttl", "Enter");
    assert.match(await message(page, /Refused/), /403 prefix_forbidden/);
    await page.fill("#m-path", "/acme/x.pdf");
    await page.fill("#m-tenant", "globex");
    await page.press("#m-ttl", "Enter");
    assert.match(await message(page, /Refused/), /403 tenant_forbidden/);
    await page.fill("#m-tenant", "");
    await page.press("#m-ttl", "Enter");
    await message(page, /Link minted/);
    const url = await page.inputValue("#m-url");
    seen.tokens.push(new URL(url).searchParams.get("lg"));

    // Events and the hourly chart: acme's, inside /acme/ only.
    await page.getByRole("button", { name: "Events" }).click();
    await page.press("#e-sub", "Enter");
    await message(page, /event\(s\)/);
    const rows = await page.locator("#e-list tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    assert.ok(rows.length >= 3, JSON.stringify(rows));
    for (const r of rows) {
      assert.equal(r[6], "acme", JSON.stringify(r));
      assert.ok(r[4].startsWith("/acme/"), JSON.stringify(r));
    }
    assert.ok(rows.some((r) => r[1] === "allowed") && rows.some((r) => r[1] === "refused"));
    assert.match(await page.locator("#chart svg").getAttribute("aria-label"), /: 2 downloads, 1 refusals\./);
    await shot(page, "tenant");
    await page.fill("#e-tenant", "globex");
    await page.press("#e-tenant", "Enter");
    assert.match(await message(page, /Refused/), /403 tenant_forbidden/);
    assert.ok(await page.locator("#nav").isVisible(), "a 403 keeps the session");

    // Revoke one of its links by URL (the worker checks the link's tenant).
    await page.getByRole("button", { name: "Revoke" }).click();
    await page.fill("#r-value", url);
    await page.fill("#r-reason", "wrong customer");
    await page.press("#r-reason", "Enter");
    await message(page, /Revoked jti/);
    const link = new URL(url);
    assert.equal((await w.fetch(`${BASE}${link.pathname}${link.search}`)).status, 410);
    await page.getByRole("button", { name: "Sign out" }).click();
    await message(page, /Signed out/);

    // An events-only credential: only the Events view, where it lands.
    await page.fill("#cred", reader);
    await page.press("#cred", "Enter");
    await message(page, /Signed in/);
    const offered = await page.locator("#nav [data-view]").evaluateAll((bs) => bs.filter((b) => !b.hidden).map((b) => b.dataset.view));
    assert.deepEqual(offered, ["events"]);
    assert.ok(await page.locator("#v-events").isVisible());
    // Its tenant at every path: what the root counts for tenant acme (the
    // revoked link's 410 included), more than the folder-limited one saw.
    await waitFor(async () => (await count("tenant = 'acme' AND path = '/acme/x.pdf' AND status = 410")) >= 1, "the 410's event");
    const all = await json(await api("events/hourly?tenant=acme"), 200);
    const [down, ref] = ["downloads", "refusals"].map((k) => all.hours.reduce((n, r) => n + r[k], 0));
    assert.ok(down > 2 && ref > 1, `${down} ${ref}`);
    await page.press("#e-sub", "Enter");
    await message(page, /event\(s\)/);
    assert.match(await page.locator("#chart svg").getAttribute("aria-label"), new RegExp(`: ${down} downloads, ${ref} refusals\\.`));
    await context.close();
  });

  test("neither the credential nor a link token in any URL, console message or audit row", async () => {
    assert.ok(seen.token && seen.urls.length > 10, "the flow above ran");
    assert.equal(seen.secrets.length, 3, "the tenant credentials ran too");
    const tokens = [seen.token, ...seen.tokens];
    for (const u of seen.urls) {
      for (const s of seen.secrets) assert.ok(!u.includes(s), `credential in ${u}`);
      for (const t of tokens) assert.ok(!u.includes(t), `token in ${u}`);
      assert.ok(!/[?&]lg=/.test(u), `a link in ${u}`);
    }
    for (const m of seen.messages) {
      assert.ok(![...seen.secrets, ...tokens].some((s) => m.includes(s)), `secret in console message: ${m}`);
      assert.doesNotMatch(m, /Content Security Policy/i, `the page runs under its CSP: ${m}`);
    }
    const rows = [];
    for (const t of ["events", "links"]) rows.push(...(await w.db.prepare(`SELECT * FROM ${t}`).all()).results);
    assert.ok(rows.length > 10);
    const dump = JSON.stringify(rows);
    for (const s of seen.secrets) assert.ok(!dump.includes(s), "credential in the audit store");
    for (const t of tokens) assert.ok(!dump.includes(t), "link token in the audit store");
    assert.ok(dump.includes("cred:") && dump.includes(":acme-console"), "the tenant credential's calls are audited under its name");
    assert.ok(!dump.includes("not-the-credential"), "the wrong credential in the audit store");
  });
});

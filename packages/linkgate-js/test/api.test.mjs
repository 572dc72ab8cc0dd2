// The JavaScript shape of the API: options, Dates, errors and their codes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { keygen, sign, signMany, inspect, LinkgateError, InvalidRequestError } from "../lib/node.mjs";

const KEYS = keygen("live");

function throwsCode(fn, code, field) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof LinkgateError && e instanceof Error, `${e}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.field, field, e.message);
    return true;
  });
}

test("keygen makes a LINKGATE_KEYS entry with 32 fresh random bytes", () => {
  const a = keygen("k1");
  const b = keygen("k1");
  assert.match(a, /^k1:[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, b);
  assert.match(keygen(), /^k\d+:/);
  throwsCode(() => keygen("bad kid"), "invalid_request", "kid");
});

test("sign returns url, token, jti and expiresAt; inspect reads them back", () => {
  const now = new Date("2026-05-01T00:00:00Z");
  const s = sign({ path: "/q3/report.pdf", ttl: "1h", sub: "u-1", contentType: "application/pdf" }, KEYS, {
    base: "https://files.example.com",
    now,
  });
  assert.equal(s.url, `https://files.example.com/q3/report.pdf?lg=${s.token}`);
  assert.match(s.jti, /^[0-9a-f]{32}$/);
  assert.ok(s.expiresAt instanceof Date);
  assert.equal(s.expiresAt.getTime(), now.getTime() + 3600_000);
  const r = inspect(s.url, KEYS, { now: new Date(now.getTime() + 1000) });
  assert.equal(r.verdict, "valid", r.code);
  assert.equal(r.valid, true);
  assert.equal(r.claims.jti, s.jti);
  assert.equal(r.claims.contentType, "application/pdf");
  assert.equal(r.claims.sub, "u-1");
  assert.deepEqual(r.claims.expiresAt, s.expiresAt);
  assert.equal(inspect(s.url, KEYS, { now: s.exp }).code, "expired");
  assert.equal(inspect(s.url, keygen("live"), { now: s.iat }).code, "signature_invalid");
  assert.equal(inspect(s.url, keygen("other"), { now: s.iat }).code, "key_unknown");
  assert.equal(inspect(new URL(s.url), KEYS, { now: s.iat, path: "/q3/other.pdf" }).code, "scope_mismatch");
});

test("every option reaches the claims; exp, nbf and iat take Dates", () => {
  const iat = 1_800_000_000;
  const s = sign(
    {
      path: "/r",
      prefix: true,
      exp: new Date((iat + 600) * 1000),
      nbf: iat + 5,
      iat,
      sub: "s",
      tenant: "t",
      ip: ["10.0.0.0/8", "2001:db8::/32"],
      uses: 2,
      host: "Files.Example.com",
      mode: "redirect",
      filename: "Bericht – Q3.pdf",
      contentType: "text/csv",
    },
    KEYS,
    { now: iat },
  );
  assert.ok(s.url.startsWith("https://files.example.com/r/?lg="), s.url);
  const c = inspect(s.token, null).claims;
  assert.deepEqual(
    { ...c, issuedAt: undefined, expiresAt: undefined, notBefore: undefined },
    {
      version: 1, kid: "live", jti: s.jti, iat, exp: iat + 600, nbf: iat + 5, scope: "/r/", host: "files.example.com",
      sub: "s", tenant: "t", ip: ["10.0.0.0/8", "2001:db8::/32"], uses: 2, mode: "redirect",
      filename: "Bericht – Q3.pdf", contentType: "text/csv",
      issuedAt: undefined, expiresAt: undefined, notBefore: undefined,
    },
  );
  assert.deepEqual(c.notBefore, new Date((iat + 5) * 1000));
});

test("the second key of the ring signs when asked by kid", () => {
  const ring = `${KEYS},${keygen("next")}`;
  const s = sign({ path: "/a", ttl: 60, kid: "next" }, ring);
  assert.equal(inspect(s.token, null).claims.kid, "next");
  assert.equal(inspect(s.url, ring).verdict, "valid");
});

test("invalid input throws InvalidRequestError with code invalid_request and the field", () => {
  const ok = { path: "/a.pdf", ttl: 60 };
  const bad = [
    [() => sign(ok, "nonsense"), "keys"],
    [() => sign(ok, ""), "keys"],
    [() => sign(ok, "k:c2hvcnQ"), "keys"],
    [() => sign(ok, undefined), "keys"],
    [() => sign({ path: "/a/../b.pdf", ttl: 60 }, KEYS), "path"],
    [() => sign({ path: "a.pdf", ttl: 60 }, KEYS), "path"],
    [() => sign({ path: "/a%2Fb\u0000", ttl: 60 }, KEYS), "path"],
    [() => sign({ path: "/a.pdf", ttl: 7 * 86400 + 1 }, KEYS), "ttl"],
    [() => sign({ path: "/a.pdf", ttl: "8d" }, KEYS), "ttl"],
    [() => sign({ path: "/a.pdf", ttl: 3600 }, KEYS, { maxTtlSecs: 60 }), "ttl"],
    [() => sign({ path: "/a.pdf", exp: new Date(0) }, KEYS), "exp"],
    [() => sign({ path: "/a.pdf", exp: new Date("nope") }, KEYS), "exp"],
    [() => sign({ path: "/a.pdf", ttl: 60, sealed: 1 }, KEYS), "sealed"],
    [() => sign({ path: "/a.pdf", ttl: 60, expires: 5 }, KEYS), "expires"],
    [() => sign({ path: "/a.pdf", ttl: 60, sub: "a@b.example" }, KEYS), "sub"],
    [() => sign({ path: "/a.pdf", ttl: 60, ip: "10.0.0.1/8" }, KEYS), "ip"],
    [() => sign({ path: "/a.pdf", ttl: 60, uses: 0 }, KEYS), "uses"],
    [() => sign({ path: "/a.pdf", ttl: 60, mode: "zip" }, KEYS), "mode"],
    [() => sign({ path: "/", prefix: true, ttl: 60 }, KEYS), "path"],
    [() => inspect("x", "nonsense"), "keys"],
    [() => inspect("x", KEYS, { ip: "nope" }), "ip"],
  ];
  for (const [fn, field] of bad) {
    throwsCode(fn, "invalid_request", field);
    assert.throws(fn, InvalidRequestError);
  }
  // The whole bucket is minted only when asked for.
  assert.ok(sign({ path: "/", prefix: true, wholeBucket: true, ttl: 60 }, KEYS).url.includes("/?lg="));
});

test("inspect without keys decodes; damaged tokens are refused, not thrown", () => {
  const s = sign({ path: "/a.pdf", ttl: 60 }, KEYS);
  assert.equal(inspect(s.token).verdict, "unverified");
  const damaged = inspect(s.token.slice(0, 20));
  assert.deepEqual([damaged.verdict, damaged.code, damaged.status], ["refused", "token_malformed", 400]);
  assert.equal(inspect("https://f.example/a.pdf", KEYS).code, "token_missing");
  assert.equal(inspect(`https://f.example/a/../b?lg=${s.token}`, KEYS).code, "path_invalid");
});

test("options cross into wasm intact: non-BMP text, types and lists, the key ring per keys string", () => {
  const now = 1_800_000_000;
  // Path, file name and sub next to each other in the packing: a wrong
  // UTF-16/UTF-8 split would shift every later value.
  const s = sign(
    { path: "/😀/Grüße – 🎉.pdf", filename: "Q3 😀 Bericht.pdf", sub: "u-1", tenant: "t-x", ttl: 60 },
    KEYS,
    { now, base: "https://files.example.com" },
  );
  const c = inspect(s.url, KEYS, { now }).claims;
  assert.deepEqual([c.scope, c.filename, c.sub, c.tenant], ["/😀/Grüße – 🎉.pdf", "Q3 😀 Bericht.pdf", "u-1", "t-x"]);
  // A lone surrogate arrives as U+FFFD (one UTF-16 unit either way): the
  // values after it are still read whole.
  const lone = sign({ path: "/a\ud800b.pdf", sub: "after", ttl: 60 }, KEYS, { now });
  assert.deepEqual([inspect(lone.token).claims.scope, inspect(lone.token).claims.sub], ["/a\ufffdb.pdf", "after"]);
  // Wrong types are refused by name, whatever their JavaScript kind.
  for (const [link, field] of [
    [{ path: "/a", ttl: 60, ip: [["10.0.0.0/8"]] }, "ip"],
    [{ path: "/a", ttl: 60, ip: [1] }, "ip"],
    [{ path: "/a", ttl: 60, sub: {} }, "sub"],
    [{ path: "/a", ttl: 60, prefix: "yes" }, "prefix"],
    [{ path: "/a", ttl: 60n }, "ttl"],
    [{ path: "/a", ttl: NaN }, "ttl"],
    [{ path: Symbol("p"), ttl: 60 }, "path"],
  ]) {
    throwsCode(() => sign(link, KEYS, { now }), "invalid_request", field);
  }
  // null is "not given" for a link option; facts given as undefined are unknown.
  assert.equal(sign({ path: "/a", ttl: 60, sub: null }, KEYS, { now }).exp, now + 60);
  assert.equal(inspect(s.url, KEYS, { now, typo: undefined }).verdict, "valid");
  throwsCode(() => inspect(s.url, KEYS, { now, typo: 1 }), "invalid_request", "typo");
  // A failed keys string leaves the kept ring usable; switching rings works.
  throwsCode(() => sign({ path: "/a", ttl: 60 }, "bad", { now }), "invalid_request", "keys");
  const other = keygen("other");
  assert.equal(inspect(sign({ path: "/a", ttl: 60 }, other, { now }).url, other, { now }).claims.kid, "other");
  assert.equal(inspect(sign({ path: "/a", ttl: 60 }, KEYS, { now }).url, KEYS, { now }).claims.kid, "live");
});

// Issue 14: sealed links from JS — the core's sealing, a fresh nonce per link
// from crypto.getRandomValues, the URL free of claims, and inspect that shows
// only sealed + kid without keys.
test("sign({sealed: true}) makes a sealed link that only the key opens", () => {
  const now = new Date("2026-05-01T00:00:00Z");
  const link = {
    path: "/board/merger-plan.pdf",
    ttl: "1h",
    sub: "recipient-7731",
    tenant: "acme-holdings",
    filename: "Merger plan.pdf",
    sealed: true,
  };
  const s = sign(link, KEYS, { base: "https://files.example.com", now });
  // Path-less (link-format §17.7): the URL names nothing, not even the object.
  assert.equal(s.url, `https://files.example.com/_lg/${s.token}`);
  for (const secret of ["recipient-7731", "acme-holdings", "Merger", "merger-plan", "board", s.jti]) {
    assert.ok(!s.token.includes(secret) && !s.url.includes(secret), secret);
  }
  const raw = Buffer.from(s.token, "base64url");
  assert.equal(raw[0], 0x02, "sealed version byte");
  assert.equal(raw.subarray(2, 2 + raw[1]).toString(), "live");
  assert.ok(!raw.includes(Buffer.from("recipient-7731")));
  // Same options, another token: a fresh jti and nonce.
  const again = sign(link, KEYS, { base: "https://files.example.com", now });
  assert.notEqual(again.token, s.token);
  assert.notDeepEqual(raw.subarray(6, 30), Buffer.from(again.token, "base64url").subarray(6, 30), "nonces differ");

  const blind = inspect(s.url);
  assert.equal(blind.verdict, "unverified");
  assert.equal(blind.sealed, true);
  assert.equal(blind.kid, "live");
  assert.equal(blind.claims, null);

  const r = inspect(s.url, KEYS, { now: new Date(now.getTime() + 1000) });
  assert.equal(r.verdict, "valid", r.code);
  assert.equal(r.sealed, true);
  assert.equal(r.claims.sub, "recipient-7731");
  assert.equal(r.claims.filename, "Merger plan.pdf");
  assert.equal(r.claims.jti, s.jti);

  const other = inspect(s.url, keygen("live"), { now: new Date(now.getTime() + 1000) });
  assert.equal(other.code, "signature_invalid");
  const flipped = Buffer.from(raw);
  flipped[flipped.length - 1] ^= 1;
  const t = inspect(flipped.toString("base64url"), KEYS, { now: new Date(now.getTime() + 1000) });
  assert.equal(t.code, "signature_invalid");
  assert.equal(t.claims, null);
  // Plain links say so too.
  assert.equal(inspect(sign({ path: "/a.pdf", ttl: 60 }, KEYS).url).sealed, false);
});

test("signMany signs each link as sign does, in order, and refuses the batch at the first bad link", () => {
  const opts = { base: "https://files.example.com", now: new Date("2026-05-01T00:00:00Z") };
  const links = [
    { path: "/q3/report.pdf", ttl: "1h", sub: "u-1" },
    { path: "/r/", prefix: true, exp: new Date("2026-05-02T00:00:00Z"), ip: ["10.0.0.0/8"], uses: 2 },
    { path: "/ä/😀 x.txt", ttl: 60, sealed: true, filename: "Bericht – Q3.pdf" },
  ];
  const many = signMany(links, KEYS, opts);
  assert.equal(many.length, links.length);
  assert.equal(new Set(many.map((l) => l.jti)).size, links.length);
  links.forEach((link, i) => {
    const one = sign(link, KEYS, opts);
    const m = many[i];
    // Same link but for its jti (and a sealed link's nonce).
    assert.deepEqual(Object.keys(m), Object.keys(one));
    assert.equal(m.exp, one.exp);
    assert.equal(m.iat, one.iat);
    assert.deepEqual(m.expiresAt, one.expiresAt);
    assert.match(m.jti, /^[0-9a-f]{32}$/);
    assert.ok(m.url.includes(m.token), m.url);
    assert.equal(m.url.replace(m.token, "T"), one.url.replace(one.token, "T"));
    const r = inspect(m.url, KEYS, { now: opts.now });
    assert.equal(r.verdict, "valid", JSON.stringify(r));
    const o = inspect(one.url, KEYS, { now: opts.now });
    assert.deepEqual({ ...r.claims, jti: null }, { ...o.claims, jti: null });
    assert.equal(r.claims.jti, m.jti);
  });
  assert.deepEqual(signMany([], KEYS, opts), []);
  const bad = [links[0], { path: "/a", ttl: 60, expires: 5 }, { ttl: 60 }];
  assert.throws(
    () => signMany(bad, KEYS, opts),
    (e) => e instanceof InvalidRequestError && e.field === "expires" && e.index === 1,
  );
  assert.throws(
    () => signMany([links[0], { ttl: 60 }], KEYS, opts),
    (e) => e instanceof InvalidRequestError && e.field === "path" && e.index === 1,
  );
  assert.throws(() => signMany([links[0], null], KEYS, opts), (e) => e instanceof InvalidRequestError && e.index === 1);
  throwsCode(() => signMany(links[0], KEYS, opts), "invalid_request", "links");
  throwsCode(() => signMany(links, "nope", opts), "invalid_request", "keys");
});

// The call buffer (src/lib.rs `Io`): lengths past what was reserved, or
// bytes that are not UTF-8, are refused as a malformed packing, never read
// out of bounds or panicked on; a batch larger than the buffer grows it.
test("the wasm call buffer refuses bad lengths and bytes, and grows for large batches", async () => {
  const w = await import("../dist/linkgate_js.mjs");
  const malformed = (len) => {
    const r = new TextDecoder().decode(new Uint8Array(w.io_memory().buffer, w.io_out(), len));
    assert.match(r, /"message":"options: malformed packing"/, r);
  };
  sign({ path: "/a", ttl: 60 }, KEYS); // reserves the buffer
  malformed(w.sign_many(1 << 30, 0, 0, undefined));
  malformed(w.sign_many(0, 1 << 30, 0, undefined));
  const [textAt] = w.io_reserve(4096, 512);
  new Uint8Array(w.io_memory().buffer).set([0xff, 0xfe], textAt);
  malformed(w.sign_many(2, 0, 0, undefined));
  // Then the wrapper's next call re-reserves (a 10,000-link batch outgrows
  // the buffer and the memory) and signs as before.
  const big = signMany(Array.from({ length: 10_000 }, (_, i) => ({ path: `/b/${i}.pdf`, ttl: 60 })), KEYS);
  assert.equal(big.length, 10_000);
  assert.equal(inspect(big[9_999].url, KEYS, { path: "/b/9999.pdf" }).verdict, "valid");
});

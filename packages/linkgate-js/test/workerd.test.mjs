// The package inside workerd: a test Worker (test/fixtures/minter.mjs) mints
// a link with it, and the real linkgate worker (build/index.js, through the
// e2e harness) serves that link with 200. Needs the release worker built
// (scripts/test.sh builds it first).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { startWorker, newKeyEntry, BASE, ROOT } from "../../../tests/e2e/harness.mjs";

const PKG = fileURLToPath(new URL("..", import.meta.url));
// workerd refuses module paths that climb out of its working directory with
// "..": run from the repository root, as the e2e suite does.
process.chdir(ROOT);

test("a Worker mints a link with the package; the linkgate worker serves it", { timeout: 120_000 }, async () => {
  assert.ok(existsSync(`${ROOT}/build/index.js`), "the release worker is built (scripts/test.sh builds it)");
  const keys = newKeyEntry("edge");
  // An Ed25519 pair: the private key for the minter, the public entry for the edge.
  const CLI = process.env.LINKGATE_CLI ?? join(ROOT, "target", "release", "linkgate");
  const pair = JSON.parse(execFileSync(CLI, ["keygen", "--ed25519", "--json", "--kid", "minter-ed"], { encoding: "utf8" }));
  let minter = null;
  let gate = null;
  try {
    minter = new Miniflare({
      scriptPath: `${PKG}/test/fixtures/minter.mjs`,
      modulesRoot: PKG,
      modules: true,
      modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
      compatibilityDate: "2025-11-01",
      bindings: { LINKGATE_KEYS: keys, BASE, SIGNING_KEY: pair.private_key },
    });
    gate = await startWorker({ keys, vars: { LINKGATE_PUBLIC_KEYS: pair.public_entry } });
    await gate.r2.put("docs/hello.txt", "hello from R2\n");
    const minted = await (await minter.dispatchFetch("http://minter/?path=/docs/hello.txt")).json();
    assert.equal(minted.verdict, "valid", JSON.stringify(minted));
    assert.ok(minted.url.startsWith(`${BASE}/docs/hello.txt?lg=`), minted.url);
    const res = await gate.fetch(minted.url);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(await res.text(), "hello from R2\n");
    // A link with one character of its tag changed is refused by the edge
    // (not the last character: its low bits must be zero, so changing it
    // can make the token malformed, 400, instead of forged, 403).
    const forged = minted.url.replace(/.(.{10})$/, (m, rest) => (m[0] === "A" ? "B" : "A") + rest);
    assert.equal((await gate.fetch(forged)).status, 403);
    // Signed with Ed25519 by workerd's WebCrypto, verified by the edge's.
    const ed = await (await minter.dispatchFetch("http://minter/?ed25519&path=/docs/hello.txt")).json();
    assert.ok(ed.url?.startsWith(`${BASE}/docs/hello.txt?lg=A`), JSON.stringify(ed));
    const edRes = await gate.fetch(ed.url);
    assert.equal(edRes.status, 200, await edRes.clone().text());
    assert.equal(await edRes.text(), "hello from R2\n");
    // Errors cross the runtime boundary with their code.
    const bad = await minter.dispatchFetch("http://minter/?path=/a/../b");
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), { error: "InvalidRequestError", code: "invalid_request", field: "path" });
  } finally {
    await minter?.dispose();
    await gate?.stop();
  }
});

// What a user's Worker does: import "linkgate-js" by name and let wrangler
// bundle it (its "workerd" export condition); the bundle runs in workerd.
// Catches a loader dropped by tree shaking (a "sideEffects": false did).
test("wrangler bundles the package by name for a Worker, and the bundle signs", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "linkgate-js-wrangler-"));
  let mf = null;
  try {
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(PKG, join(dir, "node_modules", "linkgate-js"), "dir");
    writeFileSync(
      join(dir, "worker.mjs"),
      'import { sign } from "linkgate-js";\n' +
        "export default { fetch: (r, env) => Response.json(sign({ path: \"/a.pdf\", ttl: 60 }, env.LINKGATE_KEYS, " +
        '{ base: "https://f.example" })) };\n',
    );
    writeFileSync(join(dir, "wrangler.toml"), 'name = "js-signer-check"\nmain = "worker.mjs"\ncompatibility_date = "2025-11-01"\n');
    execFileSync(join(ROOT, "node_modules", ".bin", "wrangler"), ["deploy", "--dry-run", "--outdir", "out"], {
      cwd: dir,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      stdio: "pipe",
    });
    const keys = newKeyEntry("bundled");
    mf = new Miniflare({
      scriptPath: join(dir, "out", "worker.js"),
      modulesRoot: dir,
      modules: true,
      modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
      compatibilityDate: "2025-11-01",
      bindings: { LINKGATE_KEYS: keys },
    });
    const res = await mf.dispatchFetch("http://worker/");
    const body = await res.text();
    assert.equal(res.status, 200, body);
    const { url, token } = JSON.parse(body);
    assert.equal(url, `https://f.example/a.pdf?lg=${token}`);
  } finally {
    await mf?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

// The package inside workerd: a test Worker (test/fixtures/minter.mjs) mints
// a link with it, and the real linkgate worker (build/index.js, through the
// e2e harness) serves that link with 200. Needs the release worker built
// (scripts/test.sh builds it first).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
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
  let minter = null;
  let gate = null;
  try {
    minter = new Miniflare({
      scriptPath: `${PKG}/test/fixtures/minter.mjs`,
      modulesRoot: PKG,
      modules: true,
      modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
      compatibilityDate: "2025-11-01",
      bindings: { LINKGATE_KEYS: keys, BASE },
    });
    gate = await startWorker({ keys });
    await gate.r2.put("docs/hello.txt", "hello from R2\n");
    const minted = await (await minter.dispatchFetch("http://minter/?path=/docs/hello.txt")).json();
    assert.equal(minted.verdict, "valid", JSON.stringify(minted));
    assert.ok(minted.url.startsWith(`${BASE}/docs/hello.txt?lg=`), minted.url);
    const res = await gate.fetch(minted.url);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(await res.text(), "hello from R2\n");
    // A link with one character changed is refused by the edge.
    const forged = minted.url.replace(/.$/, (c) => (c === "A" ? "B" : "A"));
    assert.equal((await gate.fetch(forged)).status, 403);
    // Errors cross the runtime boundary with their code.
    const bad = await minter.dispatchFetch("http://minter/?path=/a/../b");
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), { error: "InvalidRequestError", code: "invalid_request", field: "path" });
  } finally {
    await minter?.dispose();
    await gate?.stop();
  }
});

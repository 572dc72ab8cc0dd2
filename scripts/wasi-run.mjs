// Cargo runner for wasm32-wasip1: run a test binary (.wasm) under Node's
// built-in WASI, so the core's ordinary libtest tests run on a 32-bit target
// (usize is 4 bytes there, as in the worker).
//
//   node scripts/wasi-run.mjs target/wasm32-wasip1/release/deps/x.wasm [ARGS...]
//
// scripts/test.sh sets it as CARGO_TARGET_WASM32_WASIP1_RUNNER; cargo appends
// the test binary's arguments (filters, --nocapture, ...). The environment is
// passed through (PROPTEST_CASES, RUST_BACKTRACE, ...).
//
// Files: the repository and the current directory (cargo runs tests from
// their package, crates/linkgate-core) are preopened under their absolute
// paths, so paths built from env!("CARGO_MANIFEST_DIR") such as
// tests/vectors/v1.json resolve as natively; the package also as `/`, because a WASI
// program's working directory is `/`, so relative paths (proptest looks for
// file!() to find its proptest-regressions/) resolve against the package root
// as natively too. Node's WASI is no sandbox; this only mirrors a native run.
//
// The exit status is the wasm program's: libtest exits 101 when a test fails;
// a panic aborts the program (panic=abort on wasip1): a trap, reported here
// and turned into exit status 134, so it fails the run too.

import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { argv, cwd, env, exit } from 'node:process';

// node:wasi is experimental and says so once per run on stderr; that line is
// noise in test logs. Drop only that warning; print every other one.
const emit = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
  if (type === 'ExperimentalWarning' && String(warning).includes('WASI')) return;
  return emit.call(process, warning, ...rest);
};
const { WASI } = await import('node:wasi');

const [wasmPath, ...args] = argv.slice(2);
if (!wasmPath) {
  console.error('usage: node scripts/wasi-run.mjs PROGRAM.wasm [ARGS...]');
  exit(2);
}

const dir = cwd();
// The repository (tests read tests/vectors/v1.json and tests/nfc/ from it;
// cargo runs them from their member crate under crates/).
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wasi = new WASI({
  version: 'preview1',
  args: [wasmPath, ...args],
  env,
  preopens: { '/': dir, [dir]: dir, [root]: root },
  returnOnExit: true,
});

const module = await WebAssembly.compile(await readFile(wasmPath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
let code;
try {
  code = wasi.start(instance);
} catch (e) {
  // A trap: `unreachable` after a panic (panic=abort), stack overflow, ...
  console.error(`wasi-run: ${wasmPath} trapped: ${e?.message ?? e}`);
  code = 134;
}
exit(code);

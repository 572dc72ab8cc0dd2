// Cloudflare Workers (workerd, wrangler, Miniflare): Workers may not compile
// wasm from bytes at run time, so the module is imported (wrangler and
// Miniflare turn a .wasm import into a compiled WebAssembly.Module).
import wasm from "../dist/linkgate_js_bg.wasm";
import { initSync } from "../dist/linkgate_js.mjs";

initSync({ module: wasm });

export * from "./api.mjs";

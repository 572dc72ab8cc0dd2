// Node >= 20 and Deno: the wasm is read next to this file and compiled
// synchronously, so the package is ready as soon as it is imported.
import { readFileSync } from "node:fs";
import { initSync } from "../dist/linkgate_js.mjs";

initSync({ module: readFileSync(new URL("../dist/linkgate_js_bg.wasm", import.meta.url)) });

export * from "./api.mjs";

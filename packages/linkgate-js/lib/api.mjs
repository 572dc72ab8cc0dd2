// The JavaScript-shaped API over the wasm exports (dist/linkgate_js.mjs).
// Options cross into wasm packed (one string of every text value, one
// Float64Array of type tags and numbers: see `Packed` in src/lib.rs), not
// read member by member from wasm, which cost a boundary crossing and a
// string decode each. Links cross in batches (`signMany`; `sign` is a
// batch of one) through one call buffer in wasm memory. The wasm answers
// signed links as text located by numbers (signedAt), anything else as
// JSON; this file turns Dates into seconds, answers into plain objects
// (with Dates), and refusals into thrown LinkgateErrors.
// lib/node.mjs and lib/workerd.mjs instantiate the wasm before any call.

import {
  keygen as wasmKeygen,
  sign_many as wasmSignManyIo,
  io_reserve as wasmIoReserve,
  io_memory as wasmIoMemory,
  io_out as wasmIoOut,
  io_nums as wasmIoNums,
  inspect as wasmInspect,
  use_keys as wasmUseKeys,
  option_names as wasmOptionNames,
} from "../dist/linkgate_js.mjs";

/** Every refusal: `code` is stable (see README), `field` names the option. */
export class LinkgateError extends Error {
  constructor(code, message, field = null) {
    super(message);
    this.name = "LinkgateError";
    this.code = code;
    this.field = field;
  }
}

/** A caller mistake (bad keys, path, ttl, option): code `invalid_request`. */
export class InvalidRequestError extends LinkgateError {
  constructor(message, field = null) {
    super("invalid_request", message, field);
    this.name = "InvalidRequestError";
  }
}

function refusal({ code, message, field }) {
  return code === "invalid_request" ? new InvalidRequestError(message, field) : new LinkgateError(code, message, field);
}

function answer(text) {
  const r = JSON.parse(text);
  if (r.error) throw refusal(r.error);
  return r.ok;
}

// A batch crosses through one call buffer in wasm memory (`Io` in
// src/lib.rs): the packed text is written there with encodeInto, the slots
// through a Float64Array view, and the answer is decoded from there; no
// allocation, copy or free per call in wasm-bindgen's glue.
const encoder = new TextEncoder();
const decoder = new TextDecoder();
let io = null;
function views() {
  if (io.u8.byteLength === 0) {
    // Growing wasm memory replaced (detached) the buffer.
    io.u8 = new Uint8Array(io.memory.buffer);
    io.f64 = new Float64Array(io.memory.buffer);
  }
}
function wasmSignMany(text, slots, count, kid) {
  // encodeInto writes at most 3 bytes per UTF-16 unit.
  if (io === null || text.length * 3 > io.textCap || slots.length > io.slotsCap) {
    const textCap = Math.max(text.length * 3, 4096);
    const slotsCap = Math.max(slots.length, 512);
    const [textAt, slotsAt] = wasmIoReserve(textCap, slotsCap);
    if (textAt === 0) throw new Error("linkgate-js: no call buffer in wasm memory");
    const memory = io === null ? wasmIoMemory() : io.memory;
    io = { memory, u8: new Uint8Array(memory.buffer), f64: new Float64Array(memory.buffer), textAt, textCap, slotsAt, slotsCap };
  }
  views();
  const { written } = encoder.encodeInto(text, io.u8.subarray(io.textAt, io.textAt + io.textCap));
  io.f64.set(slots, io.slotsAt / 8);
  const length = wasmSignManyIo(written, slots.length, count, kid);
  const at = wasmIoOut();
  const numsAt = wasmIoNums();
  views();
  // The answer's numbers stay valid until the next call into the wasm.
  io.nums = numsAt / 8;
  return decoder.decode(io.u8.subarray(at, at + length));
}

// Signed link `i` of the answer `r` just received, from `pos` (its offset
// in `r`; the result's `end` is the next link's): six numbers a link (see
// `Signed::push_answer` in src/lib.rs): URL length, jti length, the token's
// start and length in the URL, iat, exp.
function signedAt(r, i, pos) {
  const f = io.f64;
  const k = io.nums + 6 * i;
  const urlEnd = pos + f[k];
  const end = urlEnd + f[k + 1];
  return { url: r.slice(pos, urlEnd), jti: r.slice(urlEnd, end), start: f[k + 2], length: f[k + 3], iat: f[k + 4], exp: f[k + 5], end };
}

// Type tags of a packed slot; `tag` in src/lib.rs holds the same numbers.
const NONE = 0, NULL = 1, STR = 2, NUM = 3, BOOL = 4, LIST = 5, OTHER = 6;

// Option names in packing order, from the wasm (one list, kept in Rust).
let names = null;
function optionNames() {
  if (names === null) {
    const [link, call, facts] = wasmOptionNames().split("|").map((l) => l.split(","));
    names = { link, call, facts, linkSet: new Set(link), factSet: new Set(facts), unrolled: link.join(",") === UNROLLED && call.join(",") === UNROLLED_CALL };
  }
  return names;
}

// A link's options in packing order, read one by one below: a property
// read by literal name is cached per object shape (monomorphic in a signing
// loop), where a loop over the names is a keyed read each, ~20 per link.
// Used only while the wasm's own list (optionNames) is this one.
const UNROLLED_CALL = "base,maxTtlSecs,now";
const UNROLLED = "path,prefix,wholeBucket,ttl,exp,nbf,iat,kid,sub,tenant,ip,host,uses,mode,filename,contentType,sealed";
function putLink(l, slots, texts) {
  put(l.path, "path", true, slots, texts);
  put(l.prefix, "prefix", true, slots, texts);
  put(l.wholeBucket, "wholeBucket", true, slots, texts);
  put(l.ttl, "ttl", true, slots, texts);
  put(l.exp, "exp", true, slots, texts);
  put(l.nbf, "nbf", true, slots, texts);
  put(l.iat, "iat", true, slots, texts);
  put(l.kid, "kid", true, slots, texts);
  put(l.sub, "sub", true, slots, texts);
  put(l.tenant, "tenant", true, slots, texts);
  put(l.ip, "ip", true, slots, texts);
  put(l.host, "host", true, slots, texts);
  put(l.uses, "uses", true, slots, texts);
  put(l.mode, "mode", true, slots, texts);
  put(l.filename, "filename", true, slots, texts);
  put(l.contentType, "contentType", true, slots, texts);
  put(l.sealed, "sealed", true, slots, texts);
}

// One value into the packing: a Date becomes Unix seconds (an invalid one
// is refused here, by name); arrays only at the top level.
function put(v, field, top, slots, texts) {
  switch (typeof v) {
    case "undefined":
      slots.push(NONE, 0);
      return;
    case "string":
      slots.push(STR, v.length);
      texts.push(v);
      return;
    case "number":
      slots.push(NUM, v);
      return;
    case "boolean":
      slots.push(BOOL, v ? 1 : 0);
      return;
  }
  if (v === null) {
    slots.push(NULL, 0);
  } else if (v instanceof Date) {
    const t = v.getTime();
    if (Number.isNaN(t)) throw new InvalidRequestError(`${field}: invalid Date`, field);
    slots.push(NUM, Math.floor(t / 1000));
  } else if (top && Array.isArray(v)) {
    slots.push(LIST, v.length);
    for (const item of v) put(item, field, false, slots, texts);
  } else {
    slots.push(OTHER, 0);
  }
}

// The first own member of `obj` not in `known` (the wasm refuses it by
// name); `lenient`: members set to undefined do not count (facts).
function unknownName(obj, known, lenient = false) {
  // for-in with hasOwn: the own enumerable names of Object.keys, in its
  // order, without an array per call.
  for (const k in obj) {
    if (Object.hasOwn(obj, k) && !known.has(k) && !(lenient && obj[k] === undefined)) return k;
  }
  return undefined;
}

// The key ring is parsed in wasm once per LINKGATE_KEYS text and kept there.
let ringText = null;
function useKeys(keys) {
  if (typeof keys !== "string") {
    throw new InvalidRequestError("keys: must be the LINKGATE_KEYS string (kid:base64url-key,...)", "keys");
  }
  if (keys !== ringText) {
    const err = wasmUseKeys(keys);
    if (err) answer(err);
    ringText = keys;
  }
}

const nowSecs = () => Math.floor(Date.now() / 1000);

const date = (s) => (typeof s === "number" ? new Date(s * 1000) : null);

function jsClaims(c) {
  if (!c) return null;
  const { content_type, ...rest } = c;
  const out = { ...rest };
  if (content_type !== undefined) out.contentType = content_type;
  out.issuedAt = date(c.iat);
  out.expiresAt = date(c.exp);
  if (c.nbf !== undefined) out.notBefore = date(c.nbf);
  return out;
}

/** A new LINKGATE_KEYS entry `kid:key` (32 random bytes). */
export function keygen(kid = `k${nowSecs()}`) {
  if (typeof kid !== "string") throw new InvalidRequestError("kid: must be a string", "kid");
  return answer(wasmKeygen(kid));
}

/** Sign one link. See index.d.ts for the options. */
export function sign(link, keys, options) {
  if (link === null || typeof link !== "object") throw new InvalidRequestError("link: must be an object", "link");
  return signLinks([link], keys, options, false)[0];
}

/**
 * Sign many links in one call into wasm (bulk jobs): the same links as
 * `sign` for each, in order. The first refused link throws, with its
 * `index`; nothing is returned then. See index.d.ts.
 */
export function signMany(links, keys, options) {
  if (!Array.isArray(links)) throw new InvalidRequestError("links: must be an array of link objects", "links");
  return signLinks(links, keys, options, true);
}

// `sign` is a batch of one: the call's options, then per link the name of
// a member outside the option list (the wasm refuses it by name) and the
// link's options; one string back, `ok` and per link its url and jti, with
// six numbers a link in the call buffer that locate them (signedAt).
function signLinks(links, keys, options, many) {
  useKeys(keys);
  const { texts, slots } = pack(links, options);
  const r = wasmSignMany(texts.join(""), slots, links.length, undefined);
  if (!r.startsWith("ok")) {
    const { error } = JSON.parse(r);
    const e = refusal(error);
    if (many) e.index = error.index ?? null;
    throw e;
  }
  const out = new Array(links.length);
  for (let i = 0, pos = 2; i < links.length; i++) {
    const s = signedAt(r, i, pos);
    pos = s.end;
    out[i] = { url: s.url, token: s.url.substr(s.start, s.length), jti: s.jti, expiresAt: new Date(s.exp * 1000), exp: s.exp, iat: s.iat };
  }
  return out;
}

// The packing of a batch: the call's options, then per link the name of a
// member outside the option list (the wasm refuses it by name) and the
// link's options.
function pack(links, { base, maxTtlSecs, now } = {}) {
  const n = optionNames();
  const slots = [];
  const texts = [];
  if (n.unrolled) {
    put(base, "base", true, slots, texts);
    put(maxTtlSecs, "maxTtlSecs", true, slots, texts);
    put(now === undefined ? nowSecs() : now, "now", true, slots, texts);
  } else {
    const call = { base, maxTtlSecs, now: now === undefined ? nowSecs() : now };
    for (const name of n.call) put(call[name], name, true, slots, texts);
  }
  for (let i = 0; i < links.length; i++) {
    const link = links[i];
    if (link === null || typeof link !== "object") {
      throw Object.assign(new InvalidRequestError(`links[${i}]: must be an object`, "link"), { index: i });
    }
    put(unknownName(link, n.linkSet), "link", false, slots, texts);
    if (n.unrolled) putLink(link, slots, texts);
    else for (const name of n.link) put(link[name], name, true, slots, texts);
  }
  return { texts, slots };
}

// Imported Ed25519 private keys, by their kid:seed text (a signing loop
// imports once).
const edKeys = new Map();
// PKCS #8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410), for importKey.
const PKCS8_ED25519 = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
const b64url = (bytes) => {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};
const unb64url = (text) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

async function edKey(privateKey) {
  const text = typeof privateKey === "string" ? privateKey.replace(/^LINKGATE_SIGNING_KEY=/, "").trim() : null;
  const at = text === null ? -1 : text.indexOf(":");
  let seed = null;
  if (at > 0 && /^[A-Za-z0-9_-]+$/.test(text.slice(at + 1).replace(/=+$/, ""))) seed = unb64url(text.slice(at + 1).replace(/=+$/, ""));
  if (seed === null || seed.length !== 32) {
    throw new InvalidRequestError("privateKey: must be an Ed25519 private key kid:base64url-seed (linkgate keygen --ed25519)", "privateKey");
  }
  let key = edKeys.get(text);
  if (key === undefined) {
    const pkcs8 = new Uint8Array([...PKCS8_ED25519, ...seed]);
    key = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
    edKeys.set(text, key);
  }
  return { kid: text.slice(0, at), key };
}

/**
 * Sign one link with an Ed25519 private key (docs/link-format.md §18): the
 * core encodes the claims, WebCrypto signs (no curve code in the wasm).
 * Async; same options and answer as `sign`.
 */
export async function signEd25519(link, privateKey, options) {
  if (link === null || typeof link !== "object") throw new InvalidRequestError("link: must be an object", "link");
  if (link.sealed) throw new InvalidRequestError("sealed: Ed25519 links are signed, not sealed (sealing needs an HMAC key)", "sealed");
  const { kid, key } = await edKey(privateKey);
  const { texts, slots } = pack([link], options);
  // A batch of one; the URL holds the message to sign where the token goes.
  const r = wasmSignMany(texts.join(""), slots, 1, kid);
  if (!r.startsWith("ok")) throw refusal(JSON.parse(r).error);
  const { url, start: at, length, jti, iat, exp } = signedAt(r, 0, 2);
  const message = url.substr(at, length);
  const msg = unb64url(message);
  // The message is the 25-byte label then the payload; the token is
  // 0x03 || payload || signature (§18.1).
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key, msg));
  const raw = new Uint8Array(msg.length - 25 + 1 + 64);
  raw[0] = 0x03;
  raw.set(msg.subarray(25), 1);
  raw.set(sig, msg.length - 25 + 1);
  const token = b64url(raw);
  const signed = url.slice(0, at) + token + url.slice(at + message.length);
  return { url: signed, token, jti, expiresAt: new Date(exp * 1000), exp, iat };
}

/** Decode a link or token; with keys, verify it against the given facts. */
export function inspect(urlOrToken, keys, facts = {}) {
  const input = urlOrToken instanceof URL ? urlOrToken.href : urlOrToken;
  if (typeof input !== "string") throw new InvalidRequestError("input: must be a link or token string", "input");
  const n = optionNames();
  const keyed = keys != null;
  if (keyed) useKeys(keys);
  // A fact set to null is known to be absent (no Host header); one left
  // undefined is unknown, as if not given.
  const f = facts ?? {};
  const slots = [];
  const texts = [];
  for (const name of n.facts) {
    const v = name === "now" && f.now === undefined ? nowSecs() : f[name];
    put(v, name, true, slots, texts);
  }
  const r = answer(wasmInspect(input, keyed, texts.join(""), slots, unknownName(f, n.factSet, true)));
  return { ...r, valid: r.verdict === "valid", claims: jsClaims(r.claims) };
}

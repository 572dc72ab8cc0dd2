// The JavaScript-shaped API over the wasm exports (dist/linkgate_js.mjs).
// The wasm side reads option objects and answers with a JSON string; this
// file turns Dates into seconds, answers into plain objects (with Dates),
// and refusals into thrown LinkgateErrors.
// lib/node.mjs and lib/workerd.mjs instantiate the wasm before any call.

import { keygen as wasmKeygen, sign as wasmSign, inspect as wasmInspect } from "../dist/linkgate_js.mjs";

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

function answer(text) {
  const r = JSON.parse(text);
  if (r.error) {
    const { code, message, field } = r.error;
    throw code === "invalid_request" ? new InvalidRequestError(message, field) : new LinkgateError(code, message, field);
  }
  return r.ok;
}

const nowSecs = () => Math.floor(Date.now() / 1000);

// Unix seconds from a Date or a number; anything else goes to the core as
// is, which refuses it by name.
function secs(v, field) {
  if (v instanceof Date) {
    const t = v.getTime();
    if (Number.isNaN(t)) throw new InvalidRequestError(`${field}: invalid Date`, field);
    return Math.floor(t / 1000);
  }
  return v;
}

function keysText(keys) {
  if (typeof keys !== "string") {
    throw new InvalidRequestError("keys: must be the LINKGATE_KEYS string (kid:base64url-key,...)", "keys");
  }
  return keys;
}

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
export function sign(link, keys, { base, maxTtlSecs, now } = {}) {
  if (link === null || typeof link !== "object") throw new InvalidRequestError("link: must be an object", "link");
  const l = { ...link };
  for (const f of ["exp", "nbf", "iat"]) if (l[f] !== undefined) l[f] = secs(l[f], f);
  const opts = { base, maxTtlSecs, now: now === undefined ? nowSecs() : secs(now, "now") };
  const r = answer(wasmSign(keysText(keys), l, opts));
  return { url: r.url, token: r.token, jti: r.jti, expiresAt: new Date(r.exp * 1000), exp: r.exp, iat: r.iat };
}

/** Decode a link or token; with keys, verify it against the given facts. */
export function inspect(urlOrToken, keys, facts = {}) {
  const input = urlOrToken instanceof URL ? urlOrToken.href : urlOrToken;
  if (typeof input !== "string") throw new InvalidRequestError("input: must be a link or token string", "input");
  // A fact set to null is known to be absent (no Host header); one left
  // undefined is unknown, as if not given.
  const f = Object.fromEntries(Object.entries(facts ?? {}).filter(([, v]) => v !== undefined));
  f.now = f.now === undefined ? nowSecs() : secs(f.now, "now");
  const r = answer(wasmInspect(input, keys == null ? undefined : keysText(keys), f));
  return { ...r, valid: r.verdict === "valid", claims: jsClaims(r.claims) };
}

// Types of linkgate-js. Timestamps are Unix seconds (numbers) or Dates.

/** Every refusal. `code` is stable; `field` names the offending option. */
export class LinkgateError extends Error {
  readonly code: string;
  readonly field: string | null;
  /** From `signMany` only: the position of the refused link (null: no one link). */
  readonly index?: number | null;
}

/** A caller mistake (keys, path, ttl, any option): code "invalid_request". */
export class InvalidRequestError extends LinkgateError {
  readonly code: "invalid_request";
}

export type Seconds = number;
export type Time = Seconds | Date;

export interface LinkOptions {
  /** Object path (decoded, absolute), or a folder with `prefix: true`. */
  path: string;
  prefix?: boolean;
  /** Required for the prefix "/" (every object in the bucket). */
  wholeBucket?: boolean;
  /** Lifetime: seconds, or "90s", "15m", "24h", "7d". Give ttl or exp. */
  ttl?: Seconds | string;
  /** Absolute expiry. */
  exp?: Time;
  nbf?: Time;
  /** Issue time (default: now). */
  iat?: Time;
  /** Key to sign with (default: the first in the ring). */
  kid?: string;
  sub?: string;
  tenant?: string;
  /** CIDRs (IPv4/IPv6) the link is bound to. */
  ip?: string | string[];
  host?: string;
  /** Maximum downloads (1 = one-time). */
  uses?: number;
  mode?: "stream" | "redirect";
  filename?: string;
  contentType?: string;
  /** Encrypt the claims: the URL shows only the path and the key id (docs/link-format.md §17). */
  sealed?: boolean;
}

export interface SignOptions {
  /** URL origin of the link; default https://<host>, else http://127.0.0.1:8787. */
  base?: string;
  /** The verifier's LINKGATE_MAX_TTL_SECS (default 7 days). */
  maxTtlSecs?: Seconds;
  /** Signing time (default: now). */
  now?: Time;
}

export interface SignedLink {
  url: string;
  token: string;
  /** Token id, 32 hex digits: the handle for revocation and audit. */
  jti: string;
  expiresAt: Date;
  exp: Seconds;
  iat: Seconds;
}

export interface Facts {
  /** Request path, percent-encoded as on the wire (default: the link's). */
  path?: string;
  method?: string;
  /** Host header; null means none. Default: the link's host. */
  host?: string | null;
  /** Client address; null means none. */
  ip?: string | null;
  now?: Time;
  skewSecs?: Seconds;
  maxTtlSecs?: Seconds;
}

export interface Claims {
  version: 1;
  kid: string;
  jti: string;
  iat: Seconds;
  exp: Seconds;
  nbf?: Seconds;
  scope: string;
  host?: string;
  sub?: string;
  tenant?: string;
  ip?: string[];
  uses?: number;
  mode?: "stream" | "redirect";
  filename?: string;
  contentType?: string;
  issuedAt: Date;
  expiresAt: Date;
  notBefore?: Date;
}

export interface Inspection {
  /** "unverified" when no keys were given. */
  verdict: "valid" | "refused" | "unverified";
  valid: boolean;
  /** The edge's refusal code (e.g. "expired", "signature_invalid"). */
  code: string | null;
  status: number | null;
  reason: string | null;
  /** What was checked, in order: signature, time, scope, host, ip, method. */
  checked: string[];
  /** Checks not made for want of a fact, and the fact each needs (with keys only). */
  skipped?: { check: string; needs: string }[];
  /** The token is sealed (claims encrypted, docs/link-format.md §17). */
  sealed: boolean;
  /** Without keys, a sealed token's key id (nothing else can be read). */
  kid?: string;
  /** Only authentic claims (the signature verified); with no keys, as decoded (null when sealed). */
  claims: Claims | null;
}

/** A new LINKGATE_KEYS entry "kid:key" (32 random bytes). */
export function keygen(kid?: string): string;
/** Sign one link with the first key of `keys` (a LINKGATE_KEYS string). */
export function sign(link: LinkOptions, keys: string, options?: SignOptions): SignedLink;
/**
 * Sign many links at once (bulk jobs): one call into the wasm for the whole
 * list, each link exactly as `sign` would make it (own jti), in order. The
 * first refused link throws, with its `index`; nothing is returned then.
 */
export function signMany(links: LinkOptions[], keys: string, options?: SignOptions): SignedLink[];
/**
 * Sign one link with an Ed25519 private key `kid:base64url-seed` (what
 * `linkgate keygen --ed25519` prints as LINKGATE_SIGNING_KEY). The edge
 * verifies it with the public entry in LINKGATE_PUBLIC_KEYS. WebCrypto signs
 * (Node >= 20, Workers, Deno); `kid` and `sealed` are not options here.
 */
export function signEd25519(link: LinkOptions, privateKey: string, options?: SignOptions): Promise<SignedLink>;
/** Decode a link or token; with keys, verify it as the edge would. */
export function inspect(urlOrToken: string | URL, keys?: string | null, facts?: Facts): Inspection;

//! Links for one person at the edge (`docs/identity.md`): the identity
//! provider's keys, fetched and kept per isolate, and RS256/ES256 checks
//! through WebCrypto. The core decides everything else: which key, when to
//! fetch ([`JwksCache`]), what an assertion means.
//!
//! Nothing here sees the assertion as text: the gate hands over the signed
//! bytes and the signature only, and no log line carries either.

use std::cell::RefCell;

use linkgate_core::gate::{ReadJwks, Step, VerifyJwt};
use linkgate_core::json::Object;
use linkgate_core::jwks::{jwks_ttl_secs, Jwks, JwksCache, JwksPlan, MAX_JWKS_BYTES};
use linkgate_core::jwt::Alg;

thread_local! {
    // One identity source per deployment, so one cache per isolate.
    static KEYS: RefCell<JwksCache> = RefCell::new(JwksCache::new());
}

fn now_ms() -> u64 {
    crate::now_ms()
}

// The JWKS fetch, bounded by a timeout; answered as "status\ncache-control\nbody"
// (status 0 and the error's name when it failed). Redirects are not followed:
// the configured URL is the only source of keys. A body announced larger
// than the core accepts is not read.
//
// The verify: the key imported from its public JWK once per isolate (keyed
// by algorithm and key, at most 64 kept), then crypto.subtle.verify; the
// byte views point into wasm memory that another request may grow while
// this one awaits, so they are copied first. Any exception is `false`
// (the gate then refuses: fail closed).
#[worker::wasm_bindgen::prelude::wasm_bindgen(inline_js = r#"
export async function linkgate_jwks_fetch(url, timeoutMs, maxBytes) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const r = await fetch(url, { signal: controller.signal, redirect: "manual", headers: { accept: "application/json" } });
    const cc = r.headers.get("cache-control") ?? "";
    if (r.status !== 200) return r.status + "\n" + cc + "\n";
    if (Number(r.headers.get("content-length") ?? "0") > maxBytes) return "413\n\n";
    return "200\n" + cc + "\n" + (await r.text());
  } catch (e) {
    return "0\n\n" + String((e && e.name) || "error");
  } finally {
    clearTimeout(timer);
  }
}
const KEYS = new Map();
const ALGS = {
  RS256: [{ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, { name: "RSASSA-PKCS1-v1_5" }],
  ES256: [{ name: "ECDSA", namedCurve: "P-256" }, { name: "ECDSA", hash: "SHA-256" }],
};
export async function linkgate_jwt_verify(alg, jwk, input, signature) {
  const msg = input.slice(), sig = signature.slice();
  try {
    const [importAlg, verifyAlg] = ALGS[alg];
    const id = alg + jwk;
    let key = KEYS.get(id);
    if (key === undefined) {
      key = await crypto.subtle.importKey("jwk", JSON.parse(jwk), importAlg, false, ["verify"]);
      if (KEYS.size >= 64) KEYS.clear();
      KEYS.set(id, key);
    }
    return await crypto.subtle.verify(verifyAlg, key, sig, msg);
  } catch (e) {
    return false;
  }
}
"#)]
extern "C" {
    fn linkgate_jwks_fetch(url: &str, timeout_ms: f64, max_bytes: f64) -> worker::js_sys::Promise;
    fn linkgate_jwt_verify(alg: &str, jwk: &str, input: &[u8], signature: &[u8]) -> worker::js_sys::Promise;
}

/// Answer the gate's key question from the isolate's copy of the JWKS,
/// fetching it when the cache policy says so.
pub async fn read_jwks<'c>(s: ReadJwks<'c>, request_id: &str) -> Step<'c> {
    let plan = KEYS.with(|k| k.borrow().plan(now_ms(), s.kid(), s.alg(), s.refresh_ms()));
    match plan {
        JwksPlan::Use(set) => s.answer(&set),
        JwksPlan::Unavailable => s.unavailable(),
        JwksPlan::Fetch => {
            KEYS.with(|k| k.borrow_mut().started(now_ms(), s.timeout_ms()));
            let fetched = fetch(s.url(), s.timeout_ms()).await;
            let now = now_ms();
            let set = match fetched {
                Ok((jwks, cache_control)) => {
                    Some(KEYS.with(|k| k.borrow_mut().fetched(now, jwks, jwks_ttl_secs(cache_control.as_deref()))))
                }
                Err(why) => {
                    let line = Object::new()
                        .str("event", "jwks_unavailable")
                        .str("request_id", request_id)
                        .str("url", s.url())
                        .str("error", &why)
                        .finish();
                    worker::console_error!("{line}");
                    KEYS.with(|k| k.borrow_mut().failed(now))
                }
            };
            match set {
                Some(set) => s.answer(&set),
                None => s.unavailable(),
            }
        }
    }
}

/// Fetch and read the JWKS: the set and the response's `Cache-Control`.
async fn fetch(url: &str, timeout_ms: u64) -> Result<(Jwks, Option<String>), String> {
    let promise = linkgate_jwks_fetch(url, timeout_ms as f64, MAX_JWKS_BYTES as f64);
    let text =
        crate::task::wait(&promise).await.ok().and_then(|v| v.as_string()).ok_or_else(|| "fetch failed".to_owned())?;
    let (status, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let (cache_control, body) = rest.split_once('\n').unwrap_or((rest, ""));
    if status != "200" {
        let detail: String = body.chars().take(40).collect();
        return Err(format!("status {status} {detail}").trim().to_owned());
    }
    let jwks = Jwks::parse(body).map_err(|e| e.as_str().to_owned())?;
    Ok((jwks, Some(cache_control.to_owned()).filter(|c| !c.is_empty())))
}

/// Answer the gate's signature question with WebCrypto.
pub async fn verify_jwt(s: VerifyJwt<'_>) -> Step<'_> {
    let alg = match s.alg() {
        Alg::Rs256 => "RS256",
        Alg::Es256 => "ES256",
    };
    let promise = linkgate_jwt_verify(alg, &s.key().to_public_jwk(), s.signing_input(), s.signature());
    let valid = crate::task::wait(&promise).await.ok().and_then(|v| v.as_bool()) == Some(true);
    s.answer(valid)
}

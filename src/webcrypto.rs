//! Ed25519 signature checks through WebCrypto (`crypto.subtle.verify`):
//! the core decides everything else (`docs/link-format.md` §18). WebCrypto
//! verifies in ~54 µs in workerd where pure-Rust crates in wasm take
//! 170–290 µs, and the worker then carries no curve code at all.

use linkgate_core::gate::{Step, VerifySignature};

// The byte views point into wasm memory, which another request of this
// isolate may grow (detaching them) while this one awaits: copy them first,
// synchronously. Imported keys are kept per isolate, keyed by their bytes
// (only keys of LINKGATE_PUBLIC_KEYS ever get here, so the map is bounded by
// the ring). Any exception (an unsupported algorithm, a key WebCrypto refuses)
// is `false`: the core then refuses `signature_invalid` (fail closed).
#[worker::wasm_bindgen::prelude::wasm_bindgen(inline_js = r#"
const KEYS = new Map();
export async function linkgate_ed25519_verify(publicKey, message, signature) {
  const pk = publicKey.slice(), msg = message.slice(), sig = signature.slice();
  try {
    const id = String.fromCharCode.apply(null, pk);
    let key = KEYS.get(id);
    if (key === undefined) {
      key = await crypto.subtle.importKey("raw", pk, { name: "Ed25519" }, false, ["verify"]);
      KEYS.set(id, key);
    }
    return await crypto.subtle.verify({ name: "Ed25519" }, key, sig, msg);
  } catch (e) {
    return false;
  }
}
"#)]
extern "C" {
    fn linkgate_ed25519_verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> worker::js_sys::Promise;
}

/// Answer the gate's signature question with WebCrypto.
pub async fn verify(s: VerifySignature<'_>) -> Step<'_> {
    let valid = verify_bytes(s.public_key(), s.message(), s.signature()).await;
    s.answer(valid)
}

/// Does `signature` verify `message` under the raw Ed25519 `public_key`?
/// Any failure of the call is `false` (the admin API's inspect asks too).
pub async fn verify_bytes(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let promise = linkgate_ed25519_verify(public_key, message, signature);
    crate::task::wait(&promise).await.ok().and_then(|v| v.as_bool()) == Some(true)
}

//! Scoped admin credentials (docs/admin.md): the strict decoder and the
//! verifier.
//!
//! Each input is tried three ways: as credential text (if UTF-8); as the
//! credential's bytes (base64url-encoded after `lgc.`), which reaches the
//! length and layout checks; and as a body the target signs itself under the
//! fuzz root token, which gets past the tag to every field check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use linkgate_core::b64;
use linkgate_core::credential::{self, Principal, Refusal, UntrustedCredential};
use linkgate_core::path::CanonicalPath;
use linkgate_fuzz::T0;

const ROOT: &str = "fuzz-root-admin-token";

fn check(text: &str) {
    let Some(u) = UntrustedCredential::decode(text) else { return };
    let body = u.claims().clone();
    // One text per credential: what decodes re-encodes to the same bytes.
    let raw = b64::decode(text.strip_prefix(credential::PREFIX).unwrap_or("").as_bytes()).expect("decoded once");
    assert_eq!(&raw[..raw.len() - 32], body.to_bytes().as_slice(), "non-canonical body accepted");
    assert!(text.len() <= credential::MAX_CHARS);
    for now in [T0, body.iat, body.exp, u64::MAX] {
        match u.clone().verify(ROOT, now, 30) {
            Ok(c) => {
                // Only a tag of this root verifies, and only inside the window.
                assert_eq!(body.sign(ROOT), text, "verified but not what the signer makes");
                assert!(now < body.exp && body.iat <= now.saturating_add(30));
                let p = Principal::Scoped(c);
                let path = CanonicalPath::parse("/acme/a.pdf").expect("path");
                let _ = (p.path_ok(&path), p.upload_ok(&path), p.tenant_ok(Some("acme")), p.default_tenant());
                if p.unrestricted() {
                    assert!(p.revocation_ok(linkgate_core::revocation::RevocationScope::All, "", None).is_ok());
                }
            }
            Err(Refusal::Expired) => assert!(now >= body.exp),
            Err(Refusal::Invalid) => {}
            Err(other) => panic!("verify answered {other:?}"),
        }
    }
    assert_eq!(u.verify("another-root", T0, 30).err(), Some(Refusal::Invalid), "another root's tag verified");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
    check(&format!("{}{}", credential::PREFIX, b64::encode(data)));
    check(&credential::sign_bytes(ROOT, data));
});

//! Token decoding: anything the decoder accepts is in canonical form — exactly
//! one byte string per claim set, and one text per byte string.
//!
//! Each input is tried twice: as token text (if UTF-8), and as the decoded
//! bytes of a token (base64url-encoded first), which lets the fuzzer work on
//! the binary field layout directly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use linkgate_core::b64;
use linkgate_core::keys::Key;
use linkgate_core::token::{UnverifiedToken, TAG_BYTES};

fn check(text: &str) {
    let Ok(tok) = UnverifiedToken::decode(text) else { return };
    let raw = b64::decode(text.as_bytes()).expect("accepted token is base64url");
    assert_eq!(b64::encode(&raw), text, "accepted base64 text is canonical");
    let payload = &raw[..raw.len() - TAG_BYTES];
    let claims = tok.claims_unverified();
    assert_eq!(claims.encode_payload(), payload, "decoded claims re-encode to the same payload");
    assert!(claims.check().is_ok());
    let _ = claims.to_json();

    // Signing the decoded claims (with any key of that kid) reproduces the
    // payload, and decoding that gives the same claims back.
    let key = Key::new(tok.kid().clone(), &[0x5a; 32]).expect("key");
    let signed = claims.sign(&key).expect("decoded claims can be signed");
    let again = UnverifiedToken::decode(&signed).expect("signed token decodes");
    assert_eq!(again.claims_unverified(), claims);
    assert_eq!(&b64::decode(signed.as_bytes()).unwrap()[..payload.len()], payload);
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
    check(&b64::encode(data));
});

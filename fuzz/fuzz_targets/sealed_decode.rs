//! Sealed tokens (docs/link-format.md §17): the header parser, the AEAD
//! opening and the inner-payload decoder behind it must never panic, and
//! whatever opens must re-seal to the very same bytes.
//!
//! Each input is tried three ways: as token text (if UTF-8); as token bytes
//! with the sealed version byte put first (base64url-encoded), which reaches
//! the header and length checks; and as an *inner payload* sealed here under
//! the fixed ring's key, which gets past the AEAD so the fuzzer works on the
//! decoder that only a key holder can reach (§17.4 step 5a).
#![no_main]

use libfuzzer_sys::fuzz_target;
use linkgate_core::b64;
use linkgate_core::sealed::{seal_payload, AnyToken, NONCE_BYTES, SEALED_VERSION};
use linkgate_core::token::Domain;
use linkgate_core::verify::{verify, Method, RequestFacts, TimeRules};
use linkgate_fuzz::{ring, T0};

const NONCE: [u8; NONCE_BYTES] = [0x6e; NONCE_BYTES];

fn check(text: &str) {
    let ring = ring();
    // The verifier's path (in place, stack buffer) on a fixed request.
    let facts = RequestFacts {
        raw_path: "/reports/q3.pdf",
        token: Some(text),
        method: Method::Get,
        host: Some("files.example.com"),
        client_ip: None,
        now: T0 + 1,
    };
    let verified = verify(&ring, &TimeRules::default(), &facts);
    // The inspect path (owned).
    let Ok(AnyToken::Sealed(tok)) = AnyToken::decode(text) else {
        return;
    };
    let raw = b64::decode(text.as_bytes()).expect("accepted token is base64url");
    assert_eq!(b64::encode(&raw), text, "accepted base64 text is canonical");
    assert_eq!(raw[0], SEALED_VERSION);
    assert_eq!(usize::from(raw[1]), tok.kid().as_str().len());
    let Some(key) = ring.get(tok.kid().as_str()) else {
        assert!(verified.is_err());
        return;
    };
    match tok.open(key, Domain::Link) {
        Ok(claims) => {
            // What opens is exactly what sealing those claims with the
            // token's own nonce gives: one token per claims, key and nonce.
            let at = 2 + raw[1] as usize;
            let nonce: [u8; NONCE_BYTES] = raw[at..at + NONCE_BYTES].try_into().unwrap();
            assert_eq!(claims.seal(key, &nonce).as_deref(), Ok(text));
            if let Ok(v) = &verified {
                assert!(v.sealed());
                assert_eq!(v.claims(), &claims);
            }
        }
        Err(_) => assert!(verified.is_err(), "verify accepted what inspect cannot open"),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
    let mut raw = data.to_vec();
    if let Some(first) = raw.first_mut() {
        *first = SEALED_VERSION;
    }
    check(&b64::encode(&raw));
    // As an inner payload behind a valid seal.
    let ring = ring();
    if let Some(sealed) = seal_payload(ring.signing_key(), Domain::Link, &NONCE, data) {
        let text = b64::encode(&sealed);
        check(&text);
        if let Ok(AnyToken::Sealed(t)) = AnyToken::decode(&text) {
            if let Ok(c) = t.open(ring.signing_key(), Domain::Link) {
                assert_eq!(c.encode_payload(), data, "an opened payload is canonical");
                assert_eq!(c.kid.as_str(), "new", "the inner kid is the header's");
            }
        }
    }
});

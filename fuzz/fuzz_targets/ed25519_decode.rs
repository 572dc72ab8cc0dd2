//! Ed25519 tokens (docs/link-format.md §18): the layout, the v1 payload
//! decoder behind it, the strict-encoding prechecks and the key constraints
//! must never panic; the verifier and the inspect path must agree; what
//! verifies must re-sign to the very same bytes; and the core's point check
//! must equal curve25519-dalek's (canonical encoding and not small order).
//!
//! Each input is tried four ways: as token text (if UTF-8); as token bytes
//! with the Ed25519 version byte put first (reaching the layout and
//! signature checks); as a *payload* signed here with the fixed tenant key
//! (getting past the signature, so the fuzzer works on the decoder and the
//! constraints, which only a key holder reaches); and its first 32 bytes as a
//! point encoding.
#![no_main]

use curve25519_dalek::edwards::CompressedEdwardsY;
use libfuzzer_sys::fuzz_target;
use linkgate_core::b64;
use linkgate_core::ed25519::native::PrivateKey;
use linkgate_core::ed25519::{acceptable_point, assemble, signed_message, PublicKeyRing, ED25519_VERSION};
use linkgate_core::keys::{KeyId, KeyRing};
use linkgate_core::sealed::AnyToken;
use linkgate_core::verify::{verify, Method, RequestFacts, TimeRules};
use linkgate_fuzz::{ring, T0};

fn tenant_key() -> PrivateKey {
    PrivateKey::from_seed(KeyId::parse("tenant").expect("kid"), &[0x33; 32])
}

fn rings() -> KeyRing {
    let public = format!("{}@tenant=acme;prefix=/reports/", tenant_key().public_entry());
    ring().with_public(PublicKeyRing::parse(&public).expect("public ring")).expect("rings")
}

fn check(ring: &KeyRing, text: &str) {
    let facts = RequestFacts {
        raw_path: "/reports/q3.pdf",
        token: Some(text),
        method: Method::Get,
        host: Some("files.example.com"),
        client_ip: None,
        now: T0 + 1,
    };
    let verified = verify(ring, &TimeRules::default(), &facts);
    let Ok(AnyToken::Ed25519(tok)) = AnyToken::decode(text) else {
        return;
    };
    let raw = b64::decode(text.as_bytes()).expect("accepted token is base64url");
    assert_eq!(raw[0], ED25519_VERSION);
    let Some(key) = ring.public().get(tok.kid().as_str()) else {
        assert!(verified.is_err());
        return;
    };
    match tok.verify(key) {
        Ok(claims) => {
            // Deterministic: those claims signed with the key give this token.
            if key.kid().as_str() == "tenant" {
                assert_eq!(tenant_key().sign(&claims).as_deref(), Ok(text));
            }
            if let Ok(v) = &verified {
                assert_eq!(v.claims(), &claims);
                assert!(key.constraints().permit(&claims));
            }
        }
        Err(_) => assert!(verified.is_err(), "verify accepted what inspect refuses"),
    }
}

fuzz_target!(|data: &[u8]| {
    let ring = rings();
    if let Ok(text) = std::str::from_utf8(data) {
        check(&ring, text);
    }
    let mut raw = vec![ED25519_VERSION];
    raw.extend_from_slice(data);
    check(&ring, &b64::encode(&raw));
    // Signed by the key holder: only the payload decoder and the constraints stand.
    let key = tenant_key();
    let sig = key.sign_bytes(&signed_message(data));
    check(&ring, &assemble(data, &sig));
    // The strict point rule equals dalek's view of the same bytes, for every
    // encoding that is a point at all (the core does no curve arithmetic, so
    // it cannot tell an off-curve y; no signature verifies under one).
    if let Some(p) = data.get(..32).and_then(|p| <[u8; 32]>::try_from(p).ok()) {
        if let Some(pt) = CompressedEdwardsY(p).decompress() {
            assert_eq!(acceptable_point(&p), pt.compress().0 == p && !pt.is_small_order(), "{p:02x?}");
        }
    }
});

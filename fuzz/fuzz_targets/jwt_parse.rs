//! Identity assertions and key sets (docs/identity.md): the strict JWS
//! reader, the JWKS reader and the whole identity decision must never
//! panic, and what they accept must be what they claim.
//!
//! Each input is tried as an assertion (the reader, then the decision with
//! signatures taken as valid, which reaches every claim check), and as a
//! JWKS document (every kept key usable for some algorithm, findable by its
//! own kid).
#![no_main]

use libfuzzer_sys::fuzz_target;
use linkgate_core::b64;
use linkgate_core::identity::{decide, IdentityConfig, IdentityRule};
use linkgate_core::jwks::{Jwks, PublicKey};
use linkgate_core::jwt::{Alg, Jwt, MAX_JWT_BYTES};
use linkgate_core::verify::TimeRules;

const T0: u64 = 1_800_000_000;

fn config() -> IdentityConfig {
    IdentityConfig::parse(Some(
        r#"{"source":"access","team_domain":"acme","audience":"aud","algorithms":["RS256","ES256"]}"#,
    ))
    .expect("valid config")
    .expect("configured")
}

fn keys() -> Jwks {
    let n = b64::encode(&[0xc1; 256]);
    let xy = b64::encode(&[3; 32]);
    Jwks::parse(&format!(
        r#"{{"keys":[{{"kty":"RSA","kid":"r","n":"{n}","e":"AQAB"}},{{"kty":"EC","kid":"e","crv":"P-256","x":"{xy}","y":"{xy}"}}]}}"#
    ))
    .expect("valid JWKS")
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let algs = [Alg::Rs256, Alg::Es256];
    if let Ok(jwt) = Jwt::parse(text, &algs) {
        assert!(text.len() <= MAX_JWT_BYTES);
        // The signed bytes are the first two parts, as received.
        let input = std::str::from_utf8(jwt.signing_input()).expect("ASCII");
        assert!(text.starts_with(input) && text.as_bytes().get(input.len()) == Some(&b'.'));
        let sig_text = &text[input.len() + 1..];
        assert_eq!(b64::encode(jwt.signature()), sig_text, "one text per signature");
        match jwt.alg() {
            Alg::Es256 => assert_eq!(jwt.signature().len(), 64),
            Alg::Rs256 => assert!((256..=512).contains(&jwt.signature().len())),
        }
        assert!(!format!("{jwt:?}").contains(input), "Debug never shows the token");
    }
    let cfg = config();
    let rule = IdentityRule::parse(&linkgate_core::json::parse(r#"{"max_auth_age":"1h","groups":["g"]}"#).unwrap())
        .unwrap()
        .unwrap();
    let time = TimeRules { skew_secs: 30, max_ttl_secs: 0 };
    let jwks = keys();
    for valid in [true, false] {
        let (verdict, identity) = decide(&cfg, &rule, &jwks, text, Some("r-1"), &time, T0, &mut |_, _, _, _| valid);
        if verdict.is_ok() {
            assert!(valid, "nothing opens without a verified signature");
            assert_eq!(identity.as_deref(), Some("r-1"));
        }
        if !valid {
            assert_eq!(identity, None, "an unverified assertion names nobody");
        }
    }
    // As a key set.
    if let Ok(set) = Jwks::parse(text) {
        for k in set.keys() {
            assert!(Alg::ALL.into_iter().any(|a| k.suits(a)));
            match &k.key {
                PublicKey::Rsa { n, e } => {
                    assert!((256..=512).contains(&n.len()) && n[0] != 0 && e[0] != 0 && e[e.len() - 1] % 2 == 1)
                }
                PublicKey::P256 { .. } => {}
            }
            if let Some(kid) = &k.kid {
                let alg = Alg::ALL.into_iter().find(|a| k.suits(*a)).unwrap();
                assert_eq!(set.find(Some(kid), alg), Some(k));
            }
        }
    }
});

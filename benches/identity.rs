// A benchmark sets itself up from known-good inputs: a failure there is a
// broken bench, not a request, so it may unwrap, index and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

//! `cargo bench --bench identity`: what the core does for a link for one
//! person besides the signature (which the edge asks WebCrypto for): the
//! strict reading of an Access-sized assertion, the JWKS key lookup and the
//! claim checks (`identity::decide` with the signature taken as valid), next
//! to a link verification for scale, and the natively verified RS256/ES256
//! signatures (`rsa`, `p256`, what the vectors test uses) for comparison with
//! WebCrypto's figures in docs/performance.md. Fastest of 15 interleaved
//! rounds, medians printed too. Inputs: tests/vectors/jwt.json.

use std::hint::black_box;
use std::time::Duration;

#[path = "common/timing.rs"]
mod timing;
use timing::time_per_iter;

use linkgate_core::b64;
use linkgate_core::identity::{decide, IdentityConfig, IdentityRule};
use linkgate_core::jwks::{Jwk, Jwks, PublicKey};
use linkgate_core::jwt::{Alg, Jwt};
use linkgate_core::token::{Claims, Jti};
use linkgate_core::verify::{verify, Method, RequestFacts, TimeRules};
use linkgate_core::{KeyId, KeyRing, Scope};
use sha2::{Digest, Sha256};

fn native(key: &Jwk, alg: Alg, input: &[u8], sig: &[u8]) -> bool {
    match (&key.key, alg) {
        (PublicKey::Rsa { n, e }, Alg::Rs256) => {
            let pk = rsa::RsaPublicKey::new(rsa::BigUint::from_bytes_be(n), rsa::BigUint::from_bytes_be(e)).unwrap();
            pk.verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(input), sig).is_ok()
        }
        (PublicKey::P256 { x, y }, Alg::Es256) => {
            use p256::ecdsa::signature::Verifier;
            let point = p256::EncodedPoint::from_affine_coordinates(&(*x).into(), &(*y).into(), false);
            let vk = p256::ecdsa::VerifyingKey::from_encoded_point(&point).unwrap();
            vk.verify(input, &p256::ecdsa::Signature::from_slice(sig).unwrap()).is_ok()
        }
        _ => false,
    }
}

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/jwt.json");
    let data: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(root).unwrap()).unwrap();
    let cfg = IdentityConfig::parse(Some(&data["config"].to_string())).unwrap().unwrap();
    let rule = IdentityRule::parse(&linkgate_core::json::parse(&data["rule"].to_string()).unwrap()).unwrap().unwrap();
    let jwks = Jwks::parse(&data["jwks"].to_string()).unwrap();
    let time = TimeRules { skew_secs: 30, max_ttl_secs: 0 };
    let vec = |name: &str| data["vectors"].as_array().unwrap().iter().find(|v| v["name"] == name).unwrap().clone();
    let rs = vec("rs256_access_ok");
    let es = vec("es256_ok");
    let (rs_tok, es_tok) = (rs["token"].as_str().unwrap().to_owned(), es["token"].as_str().unwrap().to_owned());
    let now = rs["now"].as_u64().unwrap();
    let algs = [Alg::Rs256, Alg::Es256];
    assert!(decide(&cfg, &rule, &jwks, &rs_tok, Some("r-1042"), &time, now, &mut native).0.is_ok());

    // A link verification for scale (the plain HMAC link every download pays).
    let secret = [0x5Au8; 32];
    let ring = KeyRing::parse(&format!("bench:{}", b64::encode(&secret))).unwrap();
    let mut c =
        Claims::new(KeyId::parse("bench").unwrap(), Jti([7; 16]), now, now + 3600, Scope::parse("/a/b.pdf").unwrap());
    c.sub = Some(linkgate_core::token::Label::parse(linkgate_core::token::Field::Sub, "r-1042").unwrap());
    let link = c.sign(ring.get("bench").unwrap()).unwrap();
    let facts = RequestFacts {
        raw_path: "/a/b.pdf",
        token: Some(&link),
        method: Method::Get,
        host: Some("files.example.com"),
        client_ip: None,
        now: now + 1,
    };

    let budget = Duration::from_millis(150);
    type Case<'a> = (&'static str, Box<dyn FnMut() + 'a>);
    let cases: Vec<Case> = vec![
        (
            "link verification (HMAC), for scale",
            Box::new(|| {
                black_box(verify(&ring, &time, black_box(&facts)).is_ok());
            }),
        ),
        (
            "assertion read (RS256, Access-sized)",
            Box::new(|| {
                black_box(Jwt::parse(black_box(&rs_tok), &algs).is_ok());
            }),
        ),
        (
            "identity decision, signature as valid",
            Box::new(|| {
                black_box(
                    decide(&cfg, &rule, &jwks, black_box(&rs_tok), Some("r-1042"), &time, now, &mut |_, _, _, _| true)
                        .0
                        .is_ok(),
                );
            }),
        ),
        (
            "RS256 verify natively (rsa crate)",
            Box::new(|| {
                black_box(
                    decide(&cfg, &rule, &jwks, black_box(&rs_tok), Some("r-1042"), &time, now, &mut native).0.is_ok(),
                );
            }),
        ),
        (
            "ES256 verify natively (p256 crate)",
            Box::new(|| {
                black_box(
                    decide(&cfg, &rule, &jwks, black_box(&es_tok), Some("r-1042"), &time, now, &mut native).0.is_ok(),
                );
            }),
        ),
    ];
    let mut cases = cases;
    let mut rounds: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for _ in 0..15 {
        for (i, (_, f)) in cases.iter_mut().enumerate() {
            rounds[i].push(time_per_iter(f, budget));
        }
    }
    println!("identity (native, fastest of 15 rounds / median; ns per call):");
    for (i, (name, _)) in cases.iter().enumerate() {
        let mut r = rounds[i].clone();
        r.sort_by(f64::total_cmp);
        println!("  {name:<42} {:>10.0}  {:>10.0}", r[0], r[r.len() / 2]);
    }
}

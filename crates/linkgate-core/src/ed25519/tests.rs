use super::native::{verify, PrivateKey};
use super::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn arr<const N: usize>(s: &str) -> [u8; N] {
    hex(s).try_into().unwrap()
}

/// RFC 8032 §7.1 TEST 1–3: (seed, public key, message, signature).
pub(crate) const RFC8032: [(&str, &str, &str, &str); 3] = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
];

#[test]
fn rfc8032_vectors_sign_and_verify() {
    for (seed, public, msg, sig) in RFC8032 {
        let key = PrivateKey::from_seed(KeyId::parse("t").unwrap(), &arr(seed));
        assert_eq!(key.public_bytes(), arr::<32>(public));
        assert_eq!(key.sign_bytes(&hex(msg)), arr::<64>(sig));
        assert!(verify(&arr(public), &hex(msg), &arr(sig)));
        // Any flipped bit of the message or signature fails.
        let mut bad = arr::<64>(sig);
        bad[10] ^= 1;
        assert!(!verify(&arr(public), &hex(msg), &bad));
        assert!(!verify(&arr(public), b"x", &arr(sig)));
    }
}

#[test]
fn small_order_list_is_exactly_daleks() {
    // Every listed y, with either sign bit, that decodes at all is weak for
    // dalek, and our check refuses it.
    for y in SMALL_ORDER_Y {
        for sign in [0u8, 0x80] {
            let mut p = y;
            p[31] |= sign;
            assert!(!acceptable_point(&p));
            if let Ok(k) = ed25519_dalek::VerifyingKey::from_bytes(&p) {
                assert!(k.is_weak(), "{p:02x?} should be small order");
            }
        }
    }
    // And dalek finds no other small-order point among the eight torsion
    // points: multiplying any listed point by 8 gives the identity, and the
    // 8 distinct points are covered (y values 0 and the order-8 ones have two
    // x each, 1 and p-1 one).
    let mut weak = 0;
    for y in SMALL_ORDER_Y {
        for sign in [0u8, 0x80] {
            let mut p = y;
            p[31] |= sign;
            if ed25519_dalek::VerifyingKey::from_bytes(&p).is_ok_and(|k| k.is_weak()) {
                weak += 1;
            }
        }
    }
    // dalek also accepts the "negative zero" encodings of y = 1 and y = p-1.
    assert!(weak >= 8, "{weak}");
    // An honest key is acceptable.
    let k = PrivateKey::from_seed(KeyId::parse("t").unwrap(), &[7; 32]);
    assert!(acceptable_point(&k.public_bytes()));
}

#[test]
fn non_canonical_encodings_are_refused_before_curve_math() {
    let (seed, public, msg, sig) = RFC8032[0];
    let _ = seed;
    let sig = arr::<64>(sig);
    // S + L: the same signature under a malleable verifier.
    let mut s = [0u8; 32];
    s.copy_from_slice(&sig[32..]);
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(s[i]) + u16::from(ORDER_L[i]) + carry;
        s[i] = v as u8;
        carry = v >> 8;
    }
    let mut malleated = sig;
    malleated[32..].copy_from_slice(&s);
    assert!(!canonical_scalar(&s));
    assert!(!signature_precheck(&malleated));
    assert!(!verify(&arr(public), &hex(msg), &malleated));
    // L itself and 2^256 - 1 are not canonical; L - 1 is.
    assert!(!canonical_scalar(&ORDER_L));
    assert!(!canonical_scalar(&[0xff; 32]));
    let mut l1 = ORDER_L;
    l1[0] -= 1;
    assert!(canonical_scalar(&l1));
    // y >= p is not canonical; p - 1 is small order; p - 2 would be fine if on the curve.
    assert!(!acceptable_point(&FIELD_P));
    assert!(!acceptable_point(&[0xff; 32]));
    // A small-order R is refused even with a canonical S.
    let mut r_small = sig;
    r_small[..32].copy_from_slice(&SMALL_ORDER_Y[1]);
    assert!(!signature_precheck(&r_small));
    // A small-order public key never verifies (and never parses into a ring).
    assert!(!verify(&SMALL_ORDER_Y[0], &hex(msg), &sig));
}

#[test]
fn ring_parses_constraints_and_refuses_bad_entries() {
    let k = PrivateKey::from_seed(KeyId::parse("acme").unwrap(), &[1; 32]);
    let pk = b64::encode(&k.public_bytes());
    let ring = PublicKeyRing::parse(&format!(
        " acme:{pk}@tenant=acme;prefix=/tenants/acme/ , other:{pk}=, third:{pk}@prefix=/caf%C3%A9/"
    ))
    .unwrap();
    let acme = ring.get("acme").unwrap();
    assert_eq!(acme.constraints().tenant.as_ref().unwrap().as_str(), "acme");
    assert_eq!(acme.constraints().prefix.as_ref().unwrap().as_str(), "/tenants/acme/");
    assert_eq!(ring.get("other").unwrap().constraints(), &Constraints::default());
    assert_eq!(ring.get("third").unwrap().constraints().prefix.as_ref().unwrap().as_str(), "/café/");
    // The entry text round-trips.
    assert_eq!(PublicKeyRing::parse(&acme.to_entry()).unwrap().keys(), std::slice::from_ref(acme));
    assert!(PublicKeyRing::parse("").unwrap().is_empty());
    assert!(PublicKeyRing::parse(" , ").unwrap().is_empty());

    let bad = |t: String| PublicKeyRing::parse(&t).unwrap_err();
    assert!(matches!(bad(format!("acme{pk}")), PublicKeyError::MissingSeparator { index: 1 }));
    assert!(matches!(bad(format!("a b:{pk}")), PublicKeyError::BadKeyId { .. }));
    assert!(matches!(bad("a:AAAA".into()), PublicKeyError::BadLength { bytes: 3, .. }));
    assert!(matches!(bad("a:!!".into()), PublicKeyError::BadKeyEncoding { .. }));
    assert!(matches!(bad(format!("a:{}", b64::encode(&[0; 32]))), PublicKeyError::WeakKey { .. }));
    assert!(matches!(bad(format!("a:{pk},a:{pk}")), PublicKeyError::DuplicateKeyId { .. }));
    for c in [
        "",
        "tenant",
        "tenant=",
        "color=red",
        "tenant=a;tenant=b",
        "prefix=/a",
        "prefix=/a/../b/",
        "tenant=a;prefix=/a/;x=y",
        "tenant=a b",
    ] {
        assert!(matches!(bad(format!("a:{pk}@{c}")), PublicKeyError::BadConstraint { .. }), "{c:?}");
    }
}

#[test]
fn constraints_permit_only_their_tenant_and_folder() {
    use crate::token::Jti;
    let c = Constraints {
        tenant: Some(Label::parse(Field::Tenant, "acme").unwrap()),
        prefix: Some(Prefix::parse("/tenants/acme/").unwrap()),
    };
    let claims = |scope: &str, tenant: Option<&str>| {
        let mut cl = Claims::new(KeyId::parse("k").unwrap(), Jti([1; 16]), 1, 2, Scope::parse(scope).unwrap());
        cl.tenant = tenant.map(|t| Label::parse(Field::Tenant, t).unwrap());
        cl
    };
    assert!(c.permit(&claims("/tenants/acme/a.pdf", Some("acme"))));
    assert!(c.permit(&claims("/tenants/acme/", Some("acme"))));
    assert!(c.permit(&claims("/tenants/acme/x/", Some("acme"))));
    assert!(!c.permit(&claims("/tenants/acme/a.pdf", None)));
    assert!(!c.permit(&claims("/tenants/acme/a.pdf", Some("globex"))));
    assert!(!c.permit(&claims("/tenants/globex/a.pdf", Some("acme"))));
    assert!(!c.permit(&claims("/tenants/acme-evil/a.pdf", Some("acme"))));
    assert!(!c.permit(&claims("/tenants/", Some("acme"))));
    assert!(!c.permit(&claims("/", Some("acme"))));
    assert!(Constraints::default().permit(&claims("/", None)));
}

#[test]
fn token_layout_limits() {
    assert_eq!(MAX_ED25519_PAYLOAD_BYTES, 2015);
    assert_eq!(split(&[ED25519_VERSION; 65]).unwrap_err(), DecodeError::Truncated);
    assert_eq!(split(&[1; 100]).unwrap_err(), DecodeError::UnsupportedVersion);
    let mut long = vec![ED25519_VERSION];
    long.resize(1 + MAX_ED25519_PAYLOAD_BYTES + 1 + SIGNATURE_BYTES, 1);
    assert_eq!(split(&long).unwrap_err(), DecodeError::BadLength);
    long.pop();
    assert!(split(&long).is_ok());
}

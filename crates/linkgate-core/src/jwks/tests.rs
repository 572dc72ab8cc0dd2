use super::*;

fn n(bytes: usize) -> String {
    let mut v = vec![0xc5u8; bytes];
    v[bytes - 1] = 0x01;
    b64::encode(&v)
}

fn rsa_key(kid: &str) -> String {
    format!(r#"{{"kty":"RSA","kid":"{kid}","alg":"RS256","use":"sig","n":"{}","e":"AQAB"}}"#, n(256))
}

fn ec_key(kid: &str) -> String {
    let c = b64::encode(&[9u8; 32]);
    format!(r#"{{"kty":"EC","kid":"{kid}","crv":"P-256","x":"{c}","y":"{c}"}}"#)
}

fn set(keys: &[String]) -> String {
    format!(r#"{{"keys":[{}],"public_cert":{{"kid":"x","cert":"PEM"}}}}"#, keys.join(","))
}

#[test]
fn usable_keys_are_kept_and_found_by_kid_and_alg() {
    let j = Jwks::parse(&set(&[rsa_key("r1"), ec_key("e1")])).unwrap();
    assert_eq!(j.keys().len(), 2);
    assert!(j.find(Some("r1"), Alg::Rs256).is_some());
    assert!(j.find(Some("r1"), Alg::Es256).is_none(), "an RSA key never verifies ES256");
    assert!(j.find(Some("e1"), Alg::Es256).is_some());
    assert!(j.find(Some("e1"), Alg::Rs256).is_none());
    assert!(j.find(Some("nope"), Alg::Rs256).is_none());
    // Without kid: only when exactly one key suits.
    assert!(j.find(None, Alg::Rs256).is_some());
    let two = Jwks::parse(&set(&[rsa_key("r1"), rsa_key("r2")])).unwrap();
    assert!(two.find(None, Alg::Rs256).is_none());
    let jwk = j.find(Some("r1"), Alg::Rs256).unwrap();
    assert_eq!(jwk.signature_len(), 256);
    assert!(jwk.to_public_jwk().starts_with(r#"{"kty":"RSA","n":""#));
    let ec = j.find(Some("e1"), Alg::Es256).unwrap();
    assert!(ec.to_public_jwk().contains(r#""crv":"P-256""#));
}

#[test]
fn unusable_keys_are_skipped_and_bad_documents_refused() {
    let c = b64::encode(&[9u8; 32]);
    let skipped = [
        format!(r#"{{"kty":"RSA","kid":"a","n":"{}","e":"AQAB"}}"#, n(128)), // 1024-bit
        format!(r#"{{"kty":"RSA","kid":"b","n":"{}","e":"AQAB"}}"#, n(520)), // over 4096 bits
        format!(r#"{{"kty":"RSA","kid":"c","n":"AA{}","e":"AQAB"}}"#, n(256)), // leading zero
        format!(r#"{{"kty":"RSA","kid":"d","n":"{}","e":"AQA"}}"#, n(256)),  // even exponent
        format!(r#"{{"kty":"RSA","kid":"e","n":"{}","e":"AQAB","use":"enc"}}"#, n(256)),
        format!(r#"{{"kty":"RSA","kid":"f","n":"{}","e":"AQAB","alg":"RS384"}}"#, n(256)),
        format!(r#"{{"kty":"RSA","kid":"g","n":"{}","e":"AQAB","alg":"ES256"}}"#, n(256)),
        format!(r#"{{"kty":"RSA","kid":"h","n":"{}","e":"AQAB","d":"AQAB"}}"#, n(256)),
        format!(r#"{{"kty":"RSA","kid":"i","n":"{}=","e":"AQAB"}}"#, n(256)),
        format!(r#"{{"kty":"EC","kid":"j","crv":"P-384","x":"{c}","y":"{c}"}}"#),
        format!(r#"{{"kty":"EC","kid":"k","crv":"P-256","x":"{c}AA","y":"{c}"}}"#),
        format!(r#"{{"kty":"oct","kid":"l","k":"{c}"}}"#),
        format!(r#"{{"kty":"OKP","kid":"m","crv":"Ed25519","x":"{c}"}}"#),
        format!(r#"{{"kty":"RSA","kid":"n","n":"{}","e":"AQAB","key_ops":["encrypt"]}}"#, n(256)),
        r#""not a key""#.to_owned(),
    ];
    let j = Jwks::parse(&set(&skipped)).unwrap();
    assert_eq!(j.keys().len(), 0, "{:?}", j.keys().iter().map(|k| &k.kid).collect::<Vec<_>>());
    // A kid listed twice is dropped, both times.
    let dup = Jwks::parse(&set(&[rsa_key("r1"), ec_key("r1"), rsa_key("r2")])).unwrap();
    assert!(dup.find(Some("r1"), Alg::Rs256).is_none() && dup.find(Some("r1"), Alg::Es256).is_none());
    assert!(dup.find(Some("r2"), Alg::Rs256).is_some());
    assert_eq!(Jwks::parse("nope"), Err(JwksError::NotJson));
    assert_eq!(Jwks::parse("[]"), Err(JwksError::NotJson));
    assert_eq!(Jwks::parse(r#"{"kids":[]}"#), Err(JwksError::NoKeys));
    let many: Vec<String> = (0..33).map(|i| rsa_key(&format!("k{i}"))).collect();
    assert_eq!(Jwks::parse(&set(&many)), Err(JwksError::TooManyKeys));
    assert_eq!(Jwks::parse(&" ".repeat(MAX_JWKS_BYTES + 1)), Err(JwksError::TooLong));
}

#[test]
fn ttl_comes_from_max_age_within_bounds() {
    assert_eq!(jwks_ttl_secs(None), DEFAULT_JWKS_TTL_SECS);
    assert_eq!(jwks_ttl_secs(Some("public, max-age=120")), 120);
    assert_eq!(jwks_ttl_secs(Some("max-age=86400")), MAX_JWKS_TTL_SECS);
    assert_eq!(jwks_ttl_secs(Some("max-age=5")), MIN_JWKS_TTL_SECS);
    assert_eq!(jwks_ttl_secs(Some("no-store")), MIN_JWKS_TTL_SECS);
    assert_eq!(jwks_ttl_secs(Some("max-age=junk")), MIN_JWKS_TTL_SECS);
}

fn one(kid: &str) -> Jwks {
    Jwks::parse(&set(&[rsa_key(kid)])).unwrap()
}

/// The cache: fetch when empty; use a fresh set; refetch a fresh set for an
/// unknown kid at most once per refresh interval; refetch a stale one;
/// after a failure wait before trying again, standing in with a stale set
/// for a bounded time only.
#[test]
fn the_cache_bounds_fetches() {
    let refresh = 30_000;
    let mut c = JwksCache::new();
    assert_eq!(c.plan(0, Some("k1"), Alg::Rs256, refresh), JwksPlan::Fetch);
    c.fetched(0, one("k1"), 300);
    assert!(matches!(c.plan(1_000, Some("k1"), Alg::Rs256, refresh), JwksPlan::Use(_)));
    // Random kids: one refetch per interval at most.
    assert!(matches!(c.plan(1_000, Some("zz"), Alg::Rs256, refresh), JwksPlan::Use(_)));
    assert_eq!(c.plan(30_000, Some("zz"), Alg::Rs256, refresh), JwksPlan::Fetch);
    c.fetched(30_000, one("k2"), 300);
    assert!(matches!(c.plan(30_001, Some("zz"), Alg::Rs256, refresh), JwksPlan::Use(_)));
    assert!(
        matches!(c.plan(30_001, Some("k2"), Alg::Rs256, refresh), JwksPlan::Use(s) if s.find(Some("k2"), Alg::Rs256).is_some())
    );
    // Stale: refetch.
    assert_eq!(c.plan(330_000, Some("k2"), Alg::Rs256, refresh), JwksPlan::Fetch);
    // The fetch fails: the stale set stands in, and no retry for a while.
    assert!(c.failed(330_000).is_some());
    assert!(matches!(c.plan(331_000, Some("k2"), Alg::Rs256, refresh), JwksPlan::Use(_)));
    assert_eq!(c.plan(330_000 + JWKS_RETRY_MS, Some("k2"), Alg::Rs256, refresh), JwksPlan::Fetch);
    // Past the stale-if-error bound: nothing.
    let end = 330_000 + JWKS_STALE_IF_ERROR_SECS * 1000;
    assert!(c.failed(end).is_none());
    assert_eq!(c.plan(end + 1, Some("k2"), Alg::Rs256, refresh), JwksPlan::Unavailable);
    // A refresh under way: others use the kept set instead of fetching too;
    // with nothing kept, they fetch as well (a new isolate's first requests).
    let mut c = JwksCache::new();
    c.fetched(0, one("k1"), 300);
    c.started(40_000, 3_000);
    assert!(matches!(c.plan(40_001, Some("zz"), Alg::Rs256, refresh), JwksPlan::Use(_)));
    assert_eq!(
        c.plan(43_000, Some("zz"), Alg::Rs256, refresh),
        JwksPlan::Fetch,
        "a fetch that never ended does not block"
    );
    let mut cold = JwksCache::new();
    cold.started(0, 3_000);
    assert_eq!(cold.plan(1, Some("k1"), Alg::Rs256, refresh), JwksPlan::Fetch);
    // Empty cache and the provider down: fail closed between attempts.
    let mut empty = JwksCache::new();
    assert!(empty.failed(0).is_none());
    assert_eq!(empty.plan(1, Some("k1"), Alg::Rs256, refresh), JwksPlan::Unavailable);
    assert_eq!(empty.plan(JWKS_RETRY_MS, Some("k1"), Alg::Rs256, refresh), JwksPlan::Fetch);
}

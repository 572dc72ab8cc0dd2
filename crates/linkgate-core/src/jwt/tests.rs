use super::*;

fn part(json: &str) -> String {
    b64::encode(json.as_bytes())
}

/// A token with these header and payload JSON texts and a signature of `n` bytes.
fn token(header: &str, payload: &str, n: usize) -> String {
    format!("{}.{}.{}", part(header), part(payload), b64::encode(&vec![7u8; n]))
}

const RS: &str = r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#;
const CLAIMS: &str = r#"{"iss":"https://idp","aud":"app","sub":"r-1042","exp":2000,"iat":1000}"#;
const BOTH: [Alg; 2] = [Alg::Rs256, Alg::Es256];

#[test]
fn a_well_formed_assertion_reads() {
    let t = token(RS, CLAIMS, 256);
    let j = Jwt::parse(&t, &BOTH).unwrap();
    assert_eq!((j.alg(), j.kid()), (Alg::Rs256, Some("k1")));
    assert_eq!(j.signing_input(), t.rsplit_once('.').unwrap().0.as_bytes());
    assert_eq!(j.signature().len(), 256);
    let r = j.registered();
    assert_eq!(
        (r.iss.as_deref(), r.aud.clone(), r.exp, r.iat),
        (Some("https://idp"), vec!["app".to_owned()], Some(2000), Some(1000))
    );
    assert_eq!(j.claim(&["sub".to_owned()]).and_then(Value::as_str), Some("r-1042"));
    assert_eq!(j.signed_in_at(), Some(1000));
    // Debug never shows the token or its claims.
    let dbg = format!("{j:?}");
    assert!(!dbg.contains("r-1042") && !dbg.contains(&t[..20]), "{dbg}");
    let es = token(r#"{"alg":"ES256"}"#, CLAIMS, 64);
    assert_eq!(Jwt::parse(&es, &BOTH).unwrap().kid(), None);
}

#[test]
fn every_trick_is_refused_by_name() {
    let long = token(RS, &format!(r#"{{"x":"{}"}}"#, "a".repeat(MAX_JWT_BYTES)), 256);
    let ok = token(RS, CLAIMS, 256);
    let (h, p, sig) = {
        let mut it = ok.split('.');
        (it.next().unwrap().to_owned(), it.next().unwrap().to_owned(), it.next().unwrap().to_owned())
    };
    let cases: Vec<(String, JwtError)> = vec![
        (long, JwtError::TooLong),
        (format!("{h}.{p}"), JwtError::Shape),
        (format!("{h}.{p}.{sig}.x.y"), JwtError::Shape),
        (format!("{h}=.{p}.{sig}"), JwtError::Encoding),
        (format!("{h}.{p}.{sig}="), JwtError::Encoding),
        (format!("{h}.{p}.+{}", &sig[1..]), JwtError::Encoding),
        (format!(" {h}.{p}.{sig}"), JwtError::Encoding),
        (token("[]", CLAIMS, 256), JwtError::Header),
        (token(r#"{"kid":"k"}"#, CLAIMS, 256), JwtError::Header),
        (token(r#"{"alg":"RS256","alg":"none"}"#, CLAIMS, 256), JwtError::Header),
        (token(r#"{"alg":"none"}"#, CLAIMS, 0), JwtError::AlgNone),
        (token(r#"{"alg":"nOnE"}"#, CLAIMS, 0), JwtError::AlgNone),
        (token(r#"{"alg":"HS256"}"#, CLAIMS, 32), JwtError::AlgHmac),
        (token(r#"{"alg":"hs512"}"#, CLAIMS, 64), JwtError::AlgHmac),
        (token(r#"{"alg":"PS256"}"#, CLAIMS, 256), JwtError::AlgUnknown),
        (token(r#"{"alg":"rs256"}"#, CLAIMS, 256), JwtError::AlgUnknown),
        (token(r#"{"alg":"EdDSA"}"#, CLAIMS, 64), JwtError::AlgUnknown),
        (token(r#"{"alg":"RS256","crit":["exp"]}"#, CLAIMS, 256), JwtError::Critical),
        (token(r#"{"alg":"RS256","b64":false}"#, CLAIMS, 256), JwtError::Critical),
        (token(r#"{"alg":"RS256","jku":"https://evil/jwks"}"#, CLAIMS, 256), JwtError::KeyInHeader),
        (token(r#"{"alg":"RS256","x5u":"https://evil/c"}"#, CLAIMS, 256), JwtError::KeyInHeader),
        (token(r#"{"alg":"RS256","jwk":{"kty":"RSA"}}"#, CLAIMS, 256), JwtError::KeyInHeader),
        (token(r#"{"alg":"RS256","x5c":["MII"]}"#, CLAIMS, 256), JwtError::KeyInHeader),
        (token(r#"{"alg":"RS256","enc":"A128GCM"}"#, CLAIMS, 256), JwtError::Header),
        (token(r#"{"alg":"RS256","typ":"at+jwt"}"#, CLAIMS, 256), JwtError::Type),
        (token(r#"{"alg":"RS256","typ":1}"#, CLAIMS, 256), JwtError::Type),
        (token(r#"{"alg":"RS256","kid":""}"#, CLAIMS, 256), JwtError::Kid),
        (token(r#"{"alg":"RS256","kid":7}"#, CLAIMS, 256), JwtError::Kid),
        (token(RS, "[1]", 256), JwtError::Payload),
        (token(RS, r#"{"a":1,"a":2}"#, 256), JwtError::Payload),
        (token(RS, CLAIMS, 255), JwtError::SignatureLength),
        (token(RS, CLAIMS, 513), JwtError::SignatureLength),
        (token(r#"{"alg":"ES256"}"#, CLAIMS, 72), JwtError::SignatureLength),
        (token(RS, r#"{"exp":1.5}"#, 256), JwtError::Claims),
        (token(RS, r#"{"exp":"2000"}"#, 256), JwtError::Claims),
        (token(RS, r#"{"iat":-1}"#, 256), JwtError::Claims),
        (token(RS, r#"{"auth_time":1e3}"#, 256), JwtError::Claims),
        (token(RS, r#"{"aud":[]}"#, 256), JwtError::Claims),
        (token(RS, r#"{"aud":["a",1]}"#, 256), JwtError::Claims),
        (token(RS, r#"{"iss":5}"#, 256), JwtError::Claims),
    ];
    for (t, want) in cases {
        assert_eq!(Jwt::parse(&t, &BOTH).map(|_| ()), Err(want), "{want}");
    }
    // On the allow-list or not.
    assert_eq!(
        Jwt::parse(&token(r#"{"alg":"ES256"}"#, CLAIMS, 64), &[Alg::Rs256]).map(|_| ()),
        Err(JwtError::AlgNotAllowed)
    );
}

#[test]
fn registered_claims_follow_linkgates_clock_rules() {
    let time = TimeRules { skew_secs: 30, max_ttl_secs: 0 };
    let aud = vec!["app".to_owned(), "other".to_owned()];
    let r = |json: &str| Jwt::parse(&token(RS, json, 256), &BOTH).unwrap().registered().clone();
    let ok = r(r#"{"iss":"https://idp","aud":["x","other"],"exp":2000,"nbf":1020,"iat":1030}"#);
    assert_eq!(check_registered(&ok, "https://idp", &aud, &time, 1000), Ok(()));
    assert_eq!(check_registered(&ok, "https://idp", &aud, &time, 1999), Ok(()));
    assert_eq!(check_registered(&ok, "https://idp", &aud, &time, 2000), Err(ClaimRefusal::Expired), "exp is exact");
    assert_eq!(check_registered(&ok, "https://idp", &aud, &time, 999), Err(ClaimRefusal::NotYetValid));
    assert_eq!(check_registered(&ok, "https://idp/", &aud, &time, 1000), Err(ClaimRefusal::Issuer));
    assert_eq!(check_registered(&ok, "https://idp", &["app".to_owned()], &time, 1000), Err(ClaimRefusal::Audience));
    let no_exp = r(r#"{"iss":"https://idp","aud":"app"}"#);
    assert_eq!(check_registered(&no_exp, "https://idp", &aud, &time, 1), Err(ClaimRefusal::Expired));
    let future_auth = r(r#"{"iss":"https://idp","aud":"app","exp":5000,"auth_time":1100}"#);
    assert_eq!(check_registered(&future_auth, "https://idp", &aud, &time, 1000), Err(ClaimRefusal::NotYetValid));
    let no_iss = r(r#"{"aud":"app","exp":5000}"#);
    assert_eq!(check_registered(&no_iss, "https://idp", &aud, &time, 1000), Err(ClaimRefusal::Issuer));
}

#[test]
fn error_names_are_unique_and_documented() {
    let doc = include_str!("../../../../docs/identity.md");
    let mut seen = std::collections::HashSet::new();
    for e in JwtError::ALL {
        assert!(seen.insert(e.as_str()), "{e}");
        assert!(doc.contains(&format!("`{e}`")), "docs/identity.md does not document `{e}`");
    }
}

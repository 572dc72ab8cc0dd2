use super::*;
use crate::b64;

fn access() -> IdentityConfig {
    IdentityConfig::parse(Some(r#"{"source":"access","team_domain":"acme","audience":"aud-tag-1"}"#)).unwrap().unwrap()
}

#[test]
fn access_defaults_follow_cloudflare() {
    let c = access();
    assert_eq!(c.source, Source::Access);
    assert_eq!(c.issuer, "https://acme.cloudflareaccess.com");
    assert_eq!(c.jwks_url, "https://acme.cloudflareaccess.com/cdn-cgi/access/certs");
    assert_eq!(
        (c.cookie.as_str(), c.claim.clone(), c.algorithms.clone()),
        ("CF_Authorization", vec!["sub".to_owned()], vec![Alg::Rs256])
    );
    let login = c.login_for("https", "files.example.com", "/a/b.pdf?lg=TOKEN", None).unwrap();
    assert_eq!(
        login,
        "https://acme.cloudflareaccess.com/cdn-cgi/access/login/files.example.com?kid=aud-tag-1&redirect_url=%2Fa%2Fb.pdf%3Flg%3DTOKEN"
    );
    let same = IdentityConfig::parse(Some(
        r#"{"source":"access","team_domain":"https://acme.cloudflareaccess.com/","audience":["aud-tag-1"]}"#,
    ))
    .unwrap()
    .unwrap();
    assert_eq!(same.issuer, c.issuer);
    assert_eq!(IdentityConfig::parse(None), Ok(None));
    assert_eq!(IdentityConfig::parse(Some("  ")), Ok(None));
}

#[test]
fn oidc_needs_issuer_jwks_and_cookie() {
    let c = IdentityConfig::parse(Some(
        r#"{"source":"oidc","issuer":"https://login.example","audience":"cid","jwks_url":"http://127.0.0.1:9/jwks","cookie":"id_token","claim":"custom.employee_id","login_url":"/oauth2/start?rd={return_path}&max_age={max_age}"}"#,
    ))
    .unwrap()
    .unwrap();
    assert_eq!(c.algorithms, vec![Alg::Rs256, Alg::Es256]);
    assert_eq!(c.claim, vec!["custom".to_owned(), "employee_id".to_owned()]);
    assert_eq!(c.login_for("https", "h", "/_lg/T", Some(3600)).unwrap(), "/oauth2/start?rd=%2F_lg%2FT&max_age=3600");
    for (bad, needle) in [
        (r#"{"source":"oidc","audience":"a","jwks_url":"https://x/j","cookie":"c"}"#, "issuer"),
        (r#"{"source":"oidc","issuer":"i","audience":"a","cookie":"c"}"#, "jwks_url"),
        (r#"{"source":"oidc","issuer":"i","audience":"a","jwks_url":"https://x/j"}"#, "cookie"),
        (
            r#"{"source":"oidc","issuer":"i","audience":"a","jwks_url":"http://evil.example/j","cookie":"c"}"#,
            "jwks_url",
        ),
        (
            r#"{"source":"oidc","issuer":"i","audience":"a","jwks_url":"http://127.0.0.1.evil/j","cookie":"c"}"#,
            "jwks_url",
        ),
        (r#"{"source":"access","team_domain":"acme"}"#, "audience"),
        (r#"{"source":"access","team_domain":"acme","audience":""}"#, "audience"),
        (r#"{"source":"access","team_domain":"a b","audience":"x"}"#, "team_domain"),
        (r#"{"source":"access","team_domain":"acme","audience":"x","issuer":"i"}"#, "issuer"),
        (r#"{"source":"access","team_domain":"acme","audience":"x","algorithms":["HS256"]}"#, "algorithms"),
        (r#"{"source":"access","team_domain":"acme","audience":"x","claim":"a..b"}"#, "claim"),
        (r#"{"source":"access","team_domain":"acme","audience":"x","login_url":"javascript:alert(1)"}"#, "login_url"),
        (r#"{"source":"access","team_domain":"acme","audience":"x","login_url":"//evil/"}"#, "login_url"),
        (r#"{"source":"access","team_domain":"acme","audience":"x","login_url":"https://l/{token}"}"#, "placeholder"),
        (r#"{"source":"access","team_domain":"acme","audience":"x","email_domain":"example"}"#, "email_domain"),
        (r#"{"source":"access","team_domain":"acme","audience":"x","jwks_refresh_secs":0}"#, "jwks_refresh_secs"),
        (r#"{"source":"access","team_domain":"acme","audience":"x","colour":1}"#, "colour"),
        (r#"{"source":"saml"}"#, "source"),
        ("[]", "object"),
    ] {
        let e = IdentityConfig::parse(Some(bad)).unwrap_err().to_string();
        assert!(e.contains(needle), "{bad}: {e}");
    }
}

#[test]
fn the_assertion_comes_from_the_header_then_one_cookie() {
    let c = access();
    assert_eq!(c.assertion(Some("h.h.h"), Some("CF_Authorization=c.c.c")), Ok(Some("h.h.h")));
    assert_eq!(c.assertion(None, Some("a=1; CF_Authorization=c.c.c; b=2")), Ok(Some("c.c.c")));
    assert_eq!(c.assertion(Some(" "), Some("CF_Authorization=c.c.c")), Ok(Some("c.c.c")));
    assert_eq!(c.assertion(None, Some("CF_Authorization=x; CF_Authorization=y")), Err(IdentityRefusal::Ambiguous));
    assert_eq!(c.assertion(None, Some("cf_authorization=x")), Ok(None));
    assert_eq!(c.assertion(None, None), Ok(None));
    // A generic OIDC source never reads Access's header.
    let mut o = c.clone();
    o.source = Source::Oidc;
    o.cookie = "id_token".into();
    assert_eq!(o.assertion(Some("h.h.h"), Some("id_token=i.i.i")), Ok(Some("i.i.i")));
    assert_eq!(o.assertion(Some("h.h.h"), None), Ok(None));
}

#[test]
fn rules_parse_strictly() {
    assert_eq!(IdentityRule::parse(&Value::Bool(true)), Ok(Some(IdentityRule::bound())));
    assert_eq!(IdentityRule::parse(&Value::Bool(false)), Ok(None));
    let v =
        json::parse(r#"{"max_auth_age":"1h","groups":["board"],"claims":{"department":["legal","finance"]}}"#).unwrap();
    let r = IdentityRule::parse(&v).unwrap().unwrap();
    assert!(r.bind);
    assert_eq!(r.max_auth_age_secs, Some(3600));
    assert_eq!(r.groups, vec!["board".to_owned()]);
    assert_eq!(r.claims, vec![(vec!["department".to_owned()], vec!["legal".to_owned(), "finance".to_owned()])]);
    for bad in
        [r#"{"max_auth_age":3600}"#, r#"{"groups":[]}"#, r#"{"groups":"g"}"#, r#"{"bind":"yes"}"#, r#"{"who":1}"#, "5"]
    {
        assert!(IdentityRule::parse(&json::parse(bad).unwrap()).is_err(), "{bad}");
    }
}

fn jwt(payload: &str) -> Jwt {
    let h = b64::encode(br#"{"alg":"RS256","kid":"k"}"#);
    let p = b64::encode(payload.as_bytes());
    Jwt::parse(&format!("{h}.{p}.{}", b64::encode(&[1u8; 256])), &[Alg::Rs256]).unwrap()
}

#[test]
fn judging_an_authentic_assertion() {
    let c = access();
    let time = TimeRules { skew_secs: 30, max_ttl_secs: 0 };
    let base = r#""iss":"https://acme.cloudflareaccess.com","aud":["aud-tag-1"],"exp":5000"#;
    let alice = jwt(&format!(r#"{{{base},"sub":"r-1042","iat":1000,"groups":["board","all"],"department":"legal"}}"#));
    let rule = IdentityRule::bound();
    assert_eq!(judge(&c, &rule, &alice, Some("r-1042"), &time, 1500), Ok(()));
    assert_eq!(judge(&c, &rule, &alice, Some("r-1043"), &time, 1500), Err(IdentityRefusal::OtherSubject));
    assert_eq!(judge(&c, &rule, &alice, Some("R-1042"), &time, 1500), Err(IdentityRefusal::OtherSubject), "exact");
    assert_eq!(judge(&c, &rule, &alice, None, &time, 1500), Err(IdentityRefusal::OtherSubject));
    assert_eq!(judge(&c, &rule, &alice, Some("r-1042"), &time, 5000), Err(IdentityRefusal::Expired));
    let fresh = IdentityRule { max_auth_age_secs: Some(3600), ..IdentityRule::bound() };
    assert_eq!(judge(&c, &fresh, &alice, Some("r-1042"), &time, 4600), Ok(()));
    assert_eq!(judge(&c, &fresh, &alice, Some("r-1042"), &time, 4601), Err(IdentityRefusal::Stale));
    // auth_time wins over iat.
    let signed_in = jwt(&format!(r#"{{{base},"sub":"r-1042","iat":4000,"auth_time":100}}"#));
    assert_eq!(judge(&c, &fresh, &signed_in, Some("r-1042"), &time, 4001), Err(IdentityRefusal::Stale));
    let no_time = jwt(&format!(r#"{{{base},"sub":"r-1042"}}"#));
    assert_eq!(judge(&c, &fresh, &no_time, Some("r-1042"), &time, 10), Err(IdentityRefusal::Stale));
    let groups = IdentityRule { groups: vec!["board".into()], ..IdentityRule::bound() };
    assert_eq!(judge(&c, &groups, &alice, Some("r-1042"), &time, 1500), Ok(()));
    let other_group = IdentityRule { groups: vec!["hr".into()], ..IdentityRule::bound() };
    assert_eq!(judge(&c, &other_group, &alice, Some("r-1042"), &time, 1500), Err(IdentityRefusal::NotInGroup));
    let dept =
        IdentityRule { claims: vec![(vec!["department".into()], vec!["legal".into()])], ..IdentityRule::bound() };
    assert_eq!(judge(&c, &dept, &alice, Some("r-1042"), &time, 1500), Ok(()));
    let dept2 = IdentityRule { claims: vec![(vec!["department".into()], vec!["hr".into()])], ..IdentityRule::bound() };
    assert_eq!(judge(&c, &dept2, &alice, Some("r-1042"), &time, 1500), Err(IdentityRefusal::Claim));
    // Unbound: any identity of the group.
    let anyone = IdentityRule { bind: false, groups: vec!["all".into()], ..IdentityRule::bound() };
    assert_eq!(judge(&c, &anyone, &alice, Some("someone-else"), &time, 1500), Ok(()));
    let nobody = jwt(&format!(r#"{{{base},"iat":1000}}"#));
    assert_eq!(judge(&c, &anyone, &nobody, None, &time, 1500), Err(IdentityRefusal::NoSubject));
    assert_eq!(judge(&c, &rule, &nobody, Some("r-1042"), &time, 1500), Err(IdentityRefusal::NoSubject));
}

#[test]
fn email_claims_match_the_mailbox_of_one_domain() {
    let mut c = access();
    c.claim = vec!["email".into()];
    c.email_domain = Some("example.com".into());
    let time = TimeRules { skew_secs: 30, max_ttl_secs: 0 };
    let base = r#""iss":"https://acme.cloudflareaccess.com","aud":"aud-tag-1","exp":5000"#;
    let rule = IdentityRule::bound();
    let mail = |addr: &str| jwt(&format!(r#"{{{base},"email":"{addr}"}}"#));
    assert_eq!(judge(&c, &rule, &mail("Alice.Smith@Example.COM"), Some("alice.smith"), &time, 1), Ok(()));
    assert_eq!(
        judge(&c, &rule, &mail("alice.smith@evil.com"), Some("alice.smith"), &time, 1),
        Err(IdentityRefusal::NoSubject)
    );
    assert_eq!(
        judge(&c, &rule, &mail("alice.smith@example.com.evil"), Some("alice.smith"), &time, 1),
        Err(IdentityRefusal::NoSubject)
    );
    assert_eq!(
        judge(&c, &rule, &mail("bob@example.com"), Some("alice.smith"), &time, 1),
        Err(IdentityRefusal::OtherSubject)
    );
    assert_eq!(audit_value(&c, &mail("bob@example.com")).as_deref(), Some("bob@example.com"));
}

#[test]
fn codes_and_rules_of_each_refusal() {
    use crate::{Code, Reason};
    let code = |r| Reason::Identity(r).code();
    assert_eq!(code(IdentityRefusal::Missing), Some(Code::IdentityRequired));
    assert_eq!(code(IdentityRefusal::BadSignature), Some(Code::IdentityRequired));
    assert_eq!(code(IdentityRefusal::Malformed(JwtError::AlgNone)), Some(Code::IdentityRequired));
    assert_eq!(code(IdentityRefusal::OtherSubject), Some(Code::IdentityMismatch));
    assert_eq!(code(IdentityRefusal::NotInGroup), Some(Code::IdentityMismatch));
    assert_eq!(code(IdentityRefusal::Stale), Some(Code::ReauthRequired));
    assert_eq!(code(IdentityRefusal::KeysUnavailable), Some(Code::IdentityUnavailable));
    assert_eq!(code(IdentityRefusal::Unconfigured), Some(Code::IdentityUnavailable));
    assert_eq!(IdentityRefusal::Stale.rule_suffix(), "identity.max_auth_age");
    assert_eq!(encode_component("/a b?lg=x&y"), "%2Fa%20b%3Flg%3Dx%26y");
}

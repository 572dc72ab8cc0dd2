use super::*;
use crate::keys::KeyId;
use crate::token::Jti;

const ROOT: &str = "root-admin-token";
const T0: u64 = 1_800_000_000;

fn body(tenants: Option<&[&str]>, caps: &[Capability], prefix: Option<&str>) -> Body {
    let t: Option<Vec<String>> = tenants.map(|t| t.iter().map(|s| (*s).to_owned()).collect());
    Body::new([7; 16], "support", t.as_deref(), caps, prefix, T0, T0 + 3600).unwrap()
}

fn principal(b: &Body) -> Principal {
    Principal::Scoped(UntrustedCredential::decode(&b.sign(ROOT)).unwrap().verify(ROOT, T0, 30).unwrap())
}

fn claims(tenant: Option<&str>, scope: &str) -> Claims {
    let mut c = Claims::new(KeyId::parse("k").unwrap(), Jti([1; 16]), T0, T0 + 60, Scope::parse(scope).unwrap());
    c.tenant = tenant.map(|t| Label::parse(Field::Tenant, t).unwrap());
    c
}

#[test]
fn round_trip_and_claims() {
    let b = body(Some(&["acme", "globex"]), &[Capability::LinksMint, Capability::Revoke], Some("/acme/"));
    let text = b.sign(ROOT);
    assert!(text.starts_with("lgc."));
    let u = UntrustedCredential::decode(&text).unwrap();
    assert_eq!(u.claims(), &b);
    let c = u.verify(ROOT, T0 + 1, 30).unwrap();
    assert_eq!(c.body().capabilities().collect::<Vec<_>>(), [Capability::LinksMint, Capability::Revoke]);
    assert_eq!(c.body().actor(), "cred:07070707070707070707070707070707:support");
    // Every tenant, no prefix.
    let all = body(None, &Capability::ALL, None);
    assert_eq!(UntrustedCredential::decode(&all.sign(ROOT)).unwrap().claims(), &all);
}

#[test]
fn time_rules() {
    let b = body(None, &[Capability::EventsRead], None);
    let u = || UntrustedCredential::decode(&b.sign(ROOT)).unwrap();
    assert!(u().verify(ROOT, T0, 0).is_ok());
    assert!(u().verify(ROOT, T0 + 3599, 0).is_ok());
    assert_eq!(u().verify(ROOT, T0 + 3600, 0).unwrap_err(), Refusal::Expired, "exp is exclusive");
    assert!(u().verify(ROOT, T0 - 30, 30).is_ok(), "iat within the skew");
    assert_eq!(u().verify(ROOT, T0 - 31, 30).unwrap_err(), Refusal::Invalid, "iat beyond the skew");
}

#[test]
fn another_root_token_or_any_flipped_bit_is_invalid() {
    let text = body(Some(&["acme"]), &[Capability::LinksMint], Some("/acme/")).sign(ROOT);
    assert_eq!(UntrustedCredential::decode(&text).unwrap().verify("other-root", T0, 0).unwrap_err(), Refusal::Invalid);
    assert_eq!(UntrustedCredential::decode(&text).unwrap().verify("", T0, 0).unwrap_err(), Refusal::Invalid);
    let raw = b64::decode(text.strip_prefix(PREFIX).unwrap().as_bytes()).unwrap();
    for i in 0..raw.len() {
        for bit in [0x01u8, 0x80] {
            let mut m = raw.clone();
            m[i] ^= bit;
            let t = format!("{PREFIX}{}", b64::encode(&m));
            // Either the decoder refuses it or the tag does.
            if let Some(u) = UntrustedCredential::decode(&t) {
                assert_eq!(u.verify(ROOT, T0, 0).unwrap_err(), Refusal::Invalid, "byte {i} bit {bit:#x}");
            }
        }
    }
}

#[test]
fn decoding_is_strict() {
    let text = body(Some(&["acme"]), &[Capability::LinksMint], Some("/acme/")).sign(ROOT);
    let raw = b64::decode(text.strip_prefix(PREFIX).unwrap().as_bytes()).unwrap();
    let enc = |b: &[u8]| format!("{PREFIX}{}", b64::encode(b));
    // A trailing byte, a missing byte, another version.
    let mut long = raw.clone();
    long.push(0);
    assert!(UntrustedCredential::decode(&enc(&long)).is_none());
    assert!(UntrustedCredential::decode(&enc(&raw[..raw.len() - 1])).is_none());
    let mut v2 = raw.clone();
    v2[0] = 2;
    assert!(UntrustedCredential::decode(&enc(&v2)).is_none());
    // Padding, whitespace, the standard alphabet, another prefix, oversize.
    for t in [
        format!("{text}="),
        format!("{text} "),
        text.replace('-', "+").replace('_', "/"),
        text.replacen("lgc.", "lgC.", 1),
    ] {
        assert!(UntrustedCredential::decode(&t).is_none(), "{t}");
    }
    assert!(UntrustedCredential::decode(&format!("lgc.{}", "A".repeat(MAX_CHARS))).is_none());
    assert!(UntrustedCredential::decode("lgc.").is_none());
    // A body with unknown capability bits, no capability, or "/" as prefix.
    let b = body(None, &[Capability::Revoke], None);
    let mut bytes = b.encode();
    let caps_at = 1 + 16 + 16;
    for caps in [0u8, 0x20, 0x84] {
        bytes[caps_at] = caps;
        let mut signed = bytes.clone();
        signed.extend_from_slice(&mac(ROOT, &bytes).unwrap().finalize().into_bytes());
        assert!(UntrustedCredential::decode(&enc(&signed)).is_none(), "caps {caps:#x}");
    }
}

#[test]
fn building_refuses_what_decoding_would() {
    let caps = [Capability::Revoke];
    assert_eq!(Body::new([0; 16], "", None, &caps, None, 1, 2).unwrap_err().field, "name");
    assert_eq!(Body::new([0; 16], "a b", None, &caps, None, 1, 2).unwrap_err().field, "name");
    assert_eq!(Body::new([0; 16], "n", Some(&[]), &caps, None, 1, 2).unwrap_err().field, "tenant");
    assert_eq!(Body::new([0; 16], "n", None, &[], None, 1, 2).unwrap_err().field, "can");
    assert_eq!(Body::new([0; 16], "n", None, &caps, Some("/a"), 1, 2).unwrap_err().field, "prefix");
    assert_eq!(Body::new([0; 16], "n", None, &caps, Some("/a/../b/"), 1, 2).unwrap_err().field, "prefix");
    assert_eq!(Body::new([0; 16], "n", None, &caps, None, 2, 2).unwrap_err().field, "ttl");
    assert_eq!(Body::new([0; 16], "n", None, &caps, None, 0, MAX_TTL_SECS + 1).unwrap_err().field, "ttl");
    assert!(Body::new([0; 16], "n", None, &caps, Some("/"), 0, 1).unwrap().prefix.is_none());
}

#[test]
fn capabilities_parse_by_wire_and_short_name() {
    for c in Capability::ALL {
        assert_eq!(Capability::parse(c.as_str()), Some(c));
    }
    assert_eq!(Capability::parse("mint"), Some(Capability::LinksMint));
    assert_eq!(Capability::parse("events"), Some(Capability::EventsRead));
    assert_eq!(Capability::parse("links"), None);
    assert_eq!(Capability::parse("admin"), None);
}

#[test]
fn authenticate_tells_root_credentials_and_strangers_apart() {
    let bearer = |t: &str| format!("Bearer {t}");
    assert_eq!(authenticate(Some(&bearer(ROOT)), ROOT, T0, 0), Ok(Principal::Root));
    assert_eq!(authenticate(Some("Bearer nope"), ROOT, T0, 0), Err(None));
    assert_eq!(authenticate(None, ROOT, T0, 0), Err(None));
    let text = body(None, &[Capability::Revoke], None).sign(ROOT);
    assert!(matches!(authenticate(Some(&bearer(&text)), ROOT, T0, 0), Ok(Principal::Scoped(_))));
    let expired = authenticate(Some(&bearer(&text)), ROOT, T0 + 3600, 0).unwrap_err().unwrap();
    assert_eq!(expired, (Refusal::Expired, Some("cred:07070707070707070707070707070707:support".into())));
    // A forged credential is never named in the audit trail.
    let forged = body(None, &[Capability::Revoke], None).sign("other");
    assert_eq!(authenticate(Some(&bearer(&forged)), ROOT, T0, 0), Err(Some((Refusal::Invalid, None))));
    assert_eq!(authenticate(Some("Bearer lgc.AAAA"), ROOT, T0, 0), Err(Some((Refusal::Invalid, None))));
    // With the admin API's root token empty nothing authenticates.
    assert!(authenticate(Some(&bearer(&text)), "", T0, 0).is_err());
}

#[test]
fn capabilities_are_enforced() {
    let p = principal(&body(None, &[Capability::LinksMint], None));
    assert!(p.require(Capability::LinksMint).is_ok());
    for c in [Capability::LinksInspect, Capability::Revoke, Capability::EventsRead, Capability::FilesWrite] {
        assert_eq!(p.require(c).unwrap_err(), Refusal::CapabilityMissing, "{c:?}");
        assert!(Principal::Root.require(c).is_ok());
    }
}

#[test]
fn links_across_tenant_and_prefix() {
    let p = principal(&body(Some(&["acme"]), &Capability::ALL, Some("/acme/")));
    assert_eq!(p.default_tenant(), Some("acme"));
    assert!(p.link_ok(&claims(Some("acme"), "/acme/a.pdf")).is_ok());
    assert!(p.link_ok(&claims(Some("acme"), "/acme/q3/")).is_ok());
    assert_eq!(p.link_ok(&claims(Some("globex"), "/acme/a.pdf")), Err(Refusal::TenantForbidden));
    assert_eq!(p.link_ok(&claims(None, "/acme/a.pdf")), Err(Refusal::TenantForbidden), "no tenant is no one's");
    assert_eq!(p.link_ok(&claims(Some("acme"), "/acmex/a.pdf")), Err(Refusal::PrefixForbidden));
    assert_eq!(p.link_ok(&claims(Some("acme"), "/")), Err(Refusal::PrefixForbidden));
    assert_eq!(p.link_ok(&claims(Some("acme"), "/a/")), Err(Refusal::PrefixForbidden));
    assert!(p.path_ok(&CanonicalPath::parse("/acme/x/y").unwrap()));
    assert!(!p.path_ok(&CanonicalPath::parse("/globex/y").unwrap()));
    // Two tenants: no default, either may be named.
    let two = principal(&body(Some(&["acme", "globex"]), &Capability::ALL, None));
    assert_eq!(two.default_tenant(), None);
    assert!(two.link_ok(&claims(Some("globex"), "/x")).is_ok());
    assert_eq!(two.link_ok(&claims(Some("initech"), "/x")), Err(Refusal::TenantForbidden));
    assert!(Principal::Root.link_ok(&claims(None, "/")).is_ok());
}

#[test]
fn revocation_scopes_per_credential() {
    use RevocationScope as S;
    let tenant_prefix = principal(&body(Some(&["acme"]), &[Capability::Revoke], Some("/acme/")));
    let tenant_only = principal(&body(Some(&["acme"]), &[Capability::Revoke], None));
    let prefix_only = principal(&body(None, &[Capability::Revoke], Some("/acme/")));
    let everything = principal(&body(None, &[Capability::Revoke], None));
    let jti = "01010101010101010101010101010101";
    for p in [&tenant_prefix, &tenant_only] {
        assert!(p.revocation_ok(S::Jti, jti, Some(Some("acme"))).is_ok());
        assert_eq!(p.revocation_ok(S::Jti, jti, Some(Some("globex"))), Err(Refusal::TenantForbidden));
        assert_eq!(p.revocation_ok(S::Jti, jti, Some(None)), Err(Refusal::TenantForbidden));
        assert_eq!(p.revocation_ok(S::Jti, jti, None), Err(Refusal::TenantForbidden), "tenant unknown");
        for s in [S::Sub, S::Kid, S::All, S::Credential] {
            assert_eq!(p.revocation_ok(s, "x", None), Err(Refusal::TenantForbidden), "{s:?}");
        }
    }
    assert!(tenant_only.revocation_ok(S::Tenant, "acme", None).is_ok());
    assert_eq!(tenant_only.revocation_ok(S::Tenant, "globex", None), Err(Refusal::TenantForbidden));
    assert_eq!(tenant_prefix.revocation_ok(S::Tenant, "acme", None), Err(Refusal::PrefixForbidden));
    assert!(tenant_prefix.revocation_ok(S::Path, "/acme/q3/", None).is_ok());
    assert!(tenant_prefix.revocation_ok(S::Path, "/acme/a.pdf", None).is_ok());
    assert_eq!(tenant_prefix.revocation_ok(S::Path, "/acme", None), Err(Refusal::PrefixForbidden));
    assert_eq!(tenant_prefix.revocation_ok(S::Path, "/", None), Err(Refusal::PrefixForbidden));
    assert_eq!(tenant_only.revocation_ok(S::Path, "/acme/", None), Err(Refusal::TenantForbidden));
    assert!(prefix_only.revocation_ok(S::Path, "/acme/x", None).is_ok());
    for s in RevocationScope::ALL {
        assert!(everything.revocation_ok(s, "x", None).is_ok());
        assert!(Principal::Root.revocation_ok(s, "x", None).is_ok());
    }
}

#[test]
fn uploads_stay_in_the_folder() {
    let path = |p: &str| CanonicalPath::parse(p).unwrap();
    let tenant_prefix = principal(&body(Some(&["acme"]), &[Capability::FilesWrite], Some("/acme/")));
    assert!(tenant_prefix.upload_ok(&path("/acme/a.pdf")).is_ok());
    assert_eq!(tenant_prefix.upload_ok(&path("/globex/a.pdf")), Err(Refusal::PrefixForbidden));
    assert_eq!(tenant_prefix.upload_ok(&path("/acme")), Err(Refusal::PrefixForbidden));
    let tenant_only = principal(&body(Some(&["acme"]), &[Capability::FilesWrite], None));
    assert_eq!(tenant_only.upload_ok(&path("/acme/a.pdf")), Err(Refusal::TenantForbidden));
    let prefix_only = principal(&body(None, &[Capability::FilesWrite], Some("/in/")));
    assert!(prefix_only.upload_ok(&path("/in/x")).is_ok());
    assert!(Principal::Root.upload_ok(&path("/anything")).is_ok());
}

/// Every refusal code is documented where clients look for it.
#[test]
fn refusal_codes_are_documented() {
    let edge = include_str!("../../../docs/edge.md");
    let api = include_str!("../../../docs/admin-api.yaml");
    let admin = include_str!("../../../docs/admin.md");
    let mut seen = std::collections::HashSet::new();
    for r in Refusal::ALL {
        assert!(seen.insert(r.code()), "{} twice", r.code());
        let row = format!("| `{}` | {} |", r.code(), r.status());
        assert!(edge.contains(&row), "docs/edge.md lacks the row {row}");
        assert!(api.contains(&format!("- {}", r.code())), "docs/admin-api.yaml Problem.code lacks {}", r.code());
        assert!(admin.contains(&format!("`{}`", r.code())), "docs/admin.md lacks {}", r.code());
    }
    for c in Capability::ALL {
        assert!(admin.contains(&format!("`{}`", c.as_str())), "docs/admin.md lacks {}", c.as_str());
    }
}

/// `tests/vectors/credentials.json`, written by the independent Python
/// implementation (`tests/vectors/check_vectors.py --write-credentials`):
/// the core signs each valid vector's claims to the same text, decodes it to
/// the same claims, and refuses each invalid one with its code.
#[test]
fn vectors_agree_with_the_python_implementation() {
    let doc: serde_json::Value = serde_json::from_str(include_str!("../../../tests/vectors/credentials.json")).unwrap();
    let root = doc["root"].as_str().unwrap();
    let skew = doc["skew"].as_u64().unwrap();
    let valid = doc["valid"].as_array().unwrap();
    for v in valid {
        let c = &v["claims"];
        let id: [u8; 16] = (0..16)
            .map(|i| u8::from_str_radix(&c["id"].as_str().unwrap()[2 * i..2 * i + 2], 16).unwrap())
            .collect::<Vec<_>>()
            .try_into()
            .unwrap();
        let tenants: Option<Vec<String>> =
            c["tenants"].as_array().map(|t| t.iter().map(|x| x.as_str().unwrap().to_owned()).collect());
        let caps: Vec<Capability> =
            c["can"].as_array().unwrap().iter().map(|x| Capability::parse(x.as_str().unwrap()).unwrap()).collect();
        let b = Body::new(
            id,
            c["name"].as_str().unwrap(),
            tenants.as_deref(),
            &caps,
            c["prefix"].as_str(),
            c["iat"].as_u64().unwrap(),
            c["exp"].as_u64().unwrap(),
        )
        .unwrap();
        let text = v["credential"].as_str().unwrap();
        assert_eq!(b.sign(root), text, "{}", v["name"]);
        let got = UntrustedCredential::decode(text).unwrap().verify(root, v["now"].as_u64().unwrap(), skew).unwrap();
        assert_eq!(got.body(), &b, "{}", v["name"]);
    }
    let invalid = doc["invalid"].as_array().unwrap();
    for v in invalid {
        let text = v["credential"].as_str().unwrap();
        let r = v["root"].as_str().unwrap_or(root);
        let got = UntrustedCredential::decode(text)
            .ok_or(Refusal::Invalid)
            .and_then(|u| u.verify(r, v["now"].as_u64().unwrap(), skew))
            .unwrap_err();
        assert_eq!(got.code(), v["code"].as_str().unwrap(), "{}", v["name"]);
    }
    assert!(valid.len() >= 3 && invalid.len() >= 8);
}

//! Verifying a link with the facts at hand: `linkgate inspect` and the admin
//! API's inspect. The steps and their order are those of [`crate::verify`]
//! (`docs/link-format.md` §9); a step whose fact was not given is skipped
//! and reported as skipped, never guessed.

use super::code::Code;
use super::ed25519::{Ed25519Token, PublicKey};
use super::ip::parse_addr;
use super::keys::KeyRing;
use super::path::{canonical_folder, CanonicalPath, Prefix, Scope};
use super::reason::Reason;
use super::sealed::AnyToken;
use super::token::{Claims, Domain};
use super::verify::{check_host, check_ip, check_method, check_time, Method, TimeRules};

/// What is known about the request. `None`: not given, so the check that
/// needs it is skipped.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The token text (`""`: none, answered with `token_missing`), or why
    /// the query gave none (two `lg`, or `lg` beside `lgs`), which is
    /// answered after the path, as at the edge.
    pub token: Result<&'a str, Reason>,
    /// The raw URL path. A folder URL (ending in `/`, what signing a prefix
    /// link prints) is checked as that folder: covered by a prefix at or
    /// above it.
    pub raw_path: Option<&'a str>,
    /// The `Host` (or a link's authority).
    pub host: Option<&'a str>,
    /// The client address text (§9: a text that is not an address counts
    /// as no address).
    pub client_ip: Option<&'a str>,
    /// The method, case-sensitive.
    pub method: Option<&'a str>,
    /// Unix seconds.
    pub now: u64,
}

impl Default for Facts<'_> {
    fn default() -> Self {
        Facts { token: Ok(""), raw_path: None, host: None, client_ip: None, method: None, now: 0 }
    }
}

/// A check that was not made for want of a fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skipped {
    /// The check: `scope`, `host`, `ip` or `method`.
    pub check: &'static str,
    /// The fact it needs: `path`, `host`, `client_ip` or `method`.
    pub needs: &'static str,
}

/// The outcome of an inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// Only authenticated claims (the tag verified, or the sealed token opened).
    pub claims: Option<Claims>,
    /// The token is sealed (`docs/link-format.md` §17); false when it could
    /// not be decoded.
    pub sealed: bool,
    /// None: valid for every check made.
    pub code: Option<Code>,
    /// Why it was refused (None when valid).
    pub reason: Option<Reason>,
    /// The checks made, in order (path canonicalization is part of `scope`).
    pub checked: Vec<&'static str>,
    /// The checks not made, in order, and the fact each one needed.
    pub skipped: Vec<Skipped>,
}

/// The path facts: an object, or the folder of a prefix link's URL.
enum Target {
    Object(CanonicalPath),
    Folder(Prefix),
}

fn covers(scope: &Scope, target: &Target) -> bool {
    match (scope, target) {
        (_, Target::Object(p)) => scope.covers(p),
        (Scope::Prefix(p), Target::Folder(f)) => f.as_str().starts_with(p.as_str()),
        (Scope::Object(_), Target::Folder(_)) => false,
    }
}

/// Steps 1-3 (path, token presence, decoding), which need no key: the
/// token for display when no key ring is at hand, or the refusal. A sealed
/// token shows only its key id.
pub fn decode(facts: &Facts<'_>) -> Result<AnyToken, Reason> {
    precheck(facts).map(|(_, token)| token)
}

fn precheck(facts: &Facts<'_>) -> Result<(Option<Target>, AnyToken), Reason> {
    // Step 1: the path, before the token is looked at.
    let target = match facts.raw_path {
        None => None,
        Some(raw) => Some(match canonical_folder(raw) {
            Ok(folder) => Target::Folder(folder),
            // Not a folder URL: an object path, with the request's reasons.
            Err(_) => Target::Object(CanonicalPath::from_request(raw).map_err(Reason::Path)?),
        }),
    };
    // Steps 2-3: the token.
    let text = facts.token?;
    if text.is_empty() {
        return Err(Reason::NoToken);
    }
    let token = AnyToken::decode(text).map_err(Reason::Token)?;
    Ok((target, token))
}

/// Inspect a token against the facts given (see the module documentation).
pub fn inspect(keys: &KeyRing, rules: &TimeRules, facts: &Facts<'_>) -> Inspection {
    inspect_by(keys, rules, facts, native_check)
}

/// An Ed25519 signature checked where the core can: natively with dalek;
/// in the Worker's wasm, which has no curve code, `bad_tag` (the Worker asks
/// WebCrypto through [`inspect_with`] instead).
fn native_check(t: Box<Ed25519Token>, key: &PublicKey) -> Result<Claims, Reason> {
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    return t.verify(key);
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    {
        let _ = (t, key);
        Err(Reason::BadTag)
    }
}

/// The Ed25519 signature an inspection of these facts needs checked, when
/// the caller verifies outside the core (the worker, through WebCrypto):
/// (public key, message, signature) of a token whose kid names a listed
/// public key and whose signature is well formed; None otherwise.
pub fn signature_question(keys: &KeyRing, facts: &Facts<'_>) -> Option<([u8; 32], Vec<u8>, [u8; 64])> {
    match decode(facts) {
        Ok(AnyToken::Ed25519(t)) => {
            let key = keys.public().get(t.kid().as_str())?;
            let (message, sig) = t.message_and_signature()?;
            Some((*key.bytes(), message, sig))
        }
        _ => None,
    }
}

/// [`inspect`] with the answer to [`signature_question`] (`Some(valid)`);
/// `None`: checked natively where the core can (not in the Worker's wasm,
/// where an unanswered Ed25519 signature is `bad_tag`).
pub fn inspect_with(keys: &KeyRing, rules: &TimeRules, facts: &Facts<'_>, signature: Option<bool>) -> Inspection {
    inspect_by(keys, rules, facts, |t, key| match signature {
        Some(valid) => t.accept(key, valid),
        None => native_check(t, key),
    })
}

/// The inspection, with `check` deciding an Ed25519 signature (generic, so
/// a build that never takes an outside answer, the JS package, carries none
/// of that code).
fn inspect_by(
    keys: &KeyRing,
    rules: &TimeRules,
    facts: &Facts<'_>,
    check: impl FnOnce(Box<Ed25519Token>, &PublicKey) -> Result<Claims, Reason>,
) -> Inspection {
    let mut out =
        Inspection { claims: None, sealed: false, code: None, reason: None, checked: Vec::new(), skipped: Vec::new() };
    let refuse = |mut out: Inspection, reason: Reason| {
        out.code = reason.code();
        out.reason = Some(reason);
        out
    };
    let (target, token) = match precheck(facts) {
        Ok(t) => t,
        Err(reason) => return refuse(out, reason),
    };
    out.sealed = token.is_sealed();
    // Steps 4-5: key and tag (or AEAD); 5a for a sealed token.
    let verified = match token {
        // §18.4: a public key of the same kid, then its constraints. In wasm
        // (no curve code there) it cannot be checked: `bad_tag`.
        AnyToken::Ed25519(t) => match keys.public().get(t.kid().as_str()) {
            None => Err(Reason::UnknownKid),
            Some(key) => {
                out.checked.push("signature");
                check(t, key)
            }
        },
        token => match keys.get(token.kid().as_str()) {
            None => Err(Reason::UnknownKid),
            Some(key) => {
                out.checked.push("signature");
                token.verify_in(key, Domain::Link)
            }
        },
    };
    let claims = match verified {
        Ok(c) => c,
        Err(reason) => return refuse(out, reason),
    };
    // Steps 6-13 on authentic claims.
    out.checked.push("time");
    let verdict =
        check_time(&claims, facts.now, rules).and_then(|()| bindings(&claims, target.as_ref(), facts, &mut out));
    out.claims = Some(claims);
    match verdict {
        Ok(()) => out,
        Err(reason) => refuse(out, reason),
    }
}

/// Scope, host, IP and method: each checked when its fact is known.
fn bindings(claims: &Claims, target: Option<&Target>, facts: &Facts<'_>, out: &mut Inspection) -> Result<(), Reason> {
    let skip = |out: &mut Inspection, check, needs| out.skipped.push(Skipped { check, needs });
    match target {
        Some(t) => {
            out.checked.push("scope");
            if !covers(&claims.scope, t) {
                return Err(Reason::OutsideScope);
            }
        }
        None => skip(out, "scope", "path"),
    }
    if claims.host.is_some() {
        match facts.host {
            Some(h) => {
                out.checked.push("host");
                check_host(claims, Some(h))?;
            }
            None => skip(out, "host", "host"),
        }
    }
    if !claims.ip.is_empty() {
        match facts.client_ip {
            Some(ip) => {
                out.checked.push("ip");
                check_ip(claims, parse_addr(ip))?;
            }
            None => skip(out, "ip", "client_ip"),
        }
    }
    match facts.method {
        Some(m) => {
            out.checked.push("method");
            check_method(claims, Method::parse(m))
        }
        None => {
            skip(out, "method", "method");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b64;
    use crate::mint::{Expiry, LinkRequest};
    use crate::token::Jti;

    fn ring() -> KeyRing {
        KeyRing::parse(&format!("k:{}", b64::encode(&[5; 32]))).unwrap()
    }

    fn token(req: LinkRequest) -> String {
        let ring = ring();
        req.build(ring.signing_key().kid().clone(), Jti([3; 16]), 1000, 3600).unwrap().sign(ring.signing_key()).unwrap()
    }

    fn run(f: Facts<'_>) -> Inspection {
        inspect(&ring(), &TimeRules::default(), &f)
    }

    #[test]
    fn every_check_runs_when_every_fact_is_given() {
        let t = token(LinkRequest {
            path: "/a/".into(),
            prefix: true,
            expiry: Some(Expiry::Ttl(60)),
            host: Some("files.example.com".into()),
            ip: vec!["192.0.2.0/24".into()],
            ..Default::default()
        });
        let all = Facts {
            token: Ok(&t),
            raw_path: Some("/a/b"),
            host: Some("files.example.com"),
            client_ip: Some("192.0.2.9"),
            method: Some("GET"),
            now: 1001,
        };
        let ok = run(all);
        assert_eq!(ok.code, None);
        assert_eq!(ok.checked, ["signature", "time", "scope", "host", "ip", "method"]);
        assert!(ok.skipped.is_empty());
        let code = |f: Facts<'_>| run(f).code;
        assert_eq!(code(Facts { raw_path: Some("/b"), ..all }), Some(Code::ScopeMismatch));
        assert_eq!(code(Facts { host: Some("other.example"), ..all }), Some(Code::HostMismatch));
        assert_eq!(code(Facts { client_ip: Some("198.51.100.1"), ..all }), Some(Code::IpMismatch));
        assert_eq!(code(Facts { client_ip: Some("192.0.2.09"), ..all }), Some(Code::IpMismatch), "not an address");
        assert_eq!(code(Facts { method: Some("POST"), ..all }), Some(Code::MethodNotAllowed));
        assert_eq!(code(Facts { now: 1060, ..all }), Some(Code::Expired));
        assert_eq!(code(Facts { raw_path: Some("/a/%2e%2e/b"), ..all }), Some(Code::PathInvalid));
        assert_eq!(code(Facts { token: Ok(""), ..all }), Some(Code::TokenMissing));
        assert_eq!(
            code(Facts { token: Ok(""), raw_path: Some("/a//b"), ..all }),
            Some(Code::PathInvalid),
            "path first"
        );
        assert_eq!(code(Facts { token: Ok("AAAA"), ..all }), Some(Code::TokenMalformed));
        let two = Facts { token: Err(Reason::DuplicateToken), ..all };
        assert_eq!(code(two), Some(Code::TokenMalformed));
        assert_eq!(code(Facts { raw_path: Some("/a%2Fb"), ..two }), Some(Code::PathInvalid), "path first");
        assert_eq!(decode(&two).unwrap_err(), Reason::DuplicateToken);
        assert!(decode(&all).is_ok());
        // The folder URL itself, and folders below it.
        for folder in ["/a/", "/a/b/", "/a/%C3%A9/"] {
            assert_eq!(code(Facts { raw_path: Some(folder), ..all }), None, "{folder}");
        }
        assert_eq!(code(Facts { raw_path: Some("/"), ..all }), Some(Code::ScopeMismatch));
        assert_eq!(code(Facts { raw_path: Some("/ab/"), ..all }), Some(Code::ScopeMismatch));
        assert_eq!(code(Facts { raw_path: Some("/a//"), ..all }), Some(Code::PathInvalid));
    }

    #[test]
    fn missing_facts_are_reported_as_skipped() {
        let t = token(LinkRequest {
            path: "/a".into(),
            expiry: Some(Expiry::Ttl(60)),
            host: Some("files.example.com".into()),
            ip: vec!["192.0.2.0/24".into()],
            ..Default::default()
        });
        let r = run(Facts { token: Ok(&t), now: 1001, ..Default::default() });
        assert_eq!(r.code, None);
        assert_eq!(r.checked, ["signature", "time"]);
        let skipped: Vec<_> = r.skipped.iter().map(|s| (s.check, s.needs)).collect();
        assert_eq!(skipped, [("scope", "path"), ("host", "host"), ("ip", "client_ip"), ("method", "method")]);
        // Claims without a host or ranges have nothing to skip there.
        let plain = token(LinkRequest { path: "/a".into(), expiry: Some(Expiry::Ttl(60)), ..Default::default() });
        let r = run(Facts { token: Ok(&plain), raw_path: Some("/a"), now: 1001, ..Default::default() });
        assert_eq!(r.skipped, [Skipped { check: "method", needs: "method" }]);
        // A folder URL of an object link is outside it.
        let r = run(Facts { token: Ok(&plain), raw_path: Some("/a/"), now: 1001, ..Default::default() });
        assert_eq!(r.code, Some(Code::ScopeMismatch));
        // Unauthentic claims are never reported.
        let other = KeyRing::parse(&format!("k:{}", b64::encode(&[6; 32]))).unwrap();
        let r = inspect(&other, &TimeRules::default(), &Facts { token: Ok(&plain), now: 1001, ..Default::default() });
        assert_eq!((r.code, r.claims), (Some(Code::SignatureInvalid), None));
    }
}

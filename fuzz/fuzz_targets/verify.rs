//! The whole verifier on arbitrary requests (layout: `linkgate_fuzz::decode_case`)
//! with a fixed two-key ring. It must never panic, and whatever it accepts must
//! satisfy every rule of docs/link-format.md §9, rechecked here independently.
#![no_main]

use libfuzzer_sys::fuzz_target;
use linkgate_core::path::CanonicalPath;
use linkgate_core::verify::{verify, Method, RequestFacts};
use linkgate_core::Code;
use linkgate_fuzz::{assert_canonical, decode_case, ring};

fuzz_target!(|data: &[u8]| {
    let case = decode_case(data);
    let ring = ring();
    let facts = RequestFacts {
        raw_path: &case.path,
        token: case.token.as_deref(),
        method: case.method,
        host: case.host.as_deref(),
        client_ip: case.client_ip,
        now: case.now,
    };
    let now = case.now;
    let rules = case.rules;
    match verify(&ring, &rules, &facts) {
        Ok(v) => {
            let c = v.claims();
            let path = CanonicalPath::from_request(&case.path).expect("accepted path canonicalizes");
            assert_eq!(v.path(), &path);
            assert_canonical(&path);
            assert!(c.scope.covers(&path), "{} outside {}", path, c.scope);
            assert!(now < c.exp, "now {now} >= exp {}", c.exp);
            let horizon = u128::from(now) + u128::from(rules.skew_secs);
            assert!(u128::from(c.iat) <= horizon);
            assert!(c.nbf.is_none_or(|n| u128::from(n) <= horizon));
            assert!(c.exp - c.iat <= rules.max_ttl_secs);
            if let Some(h) = &c.host {
                assert!(case.host.as_deref().is_some_and(|req| h.matches(req)));
            }
            if !c.ip.is_empty() {
                let ip = case.client_ip.expect("ip-bound link accepted without a client address");
                assert!(c.ip.iter().any(|n| n.contains(ip)));
            }
            match case.method {
                Method::Get | Method::Head => {}
                Method::Post => assert!(c.uses.is_some()),
                m => panic!("method {m:?} accepted"),
            }
            // One token per claim set and key (and nonce, when sealed): the
            // accepted text is exactly what the signer produces for these claims.
            let key = ring.get(c.kid.as_str()).expect("kid in ring");
            let token = case.token.as_deref().unwrap();
            if v.sealed() {
                let raw = linkgate_core::b64::decode(token.as_bytes()).unwrap();
                let at = 2 + usize::from(raw[1]);
                let nonce: [u8; 24] = raw[at..at + 24].try_into().unwrap();
                assert_eq!(c.seal(key, &nonce).as_deref(), Ok(token));
            } else {
                assert_eq!(c.sign(key).as_deref(), Ok(token));
            }
        }
        Err(r) => {
            if r.claims.is_some() {
                // Authentic claims are only attached to refusals after the tag.
                assert!(
                    matches!(
                        r.code,
                        Code::NotYetValid
                            | Code::Expired
                            | Code::PolicyDenied
                            | Code::ScopeMismatch
                            | Code::HostMismatch
                            | Code::IpMismatch
                            | Code::MethodNotAllowed
                    ),
                    "{r:?}"
                );
            }
            if r.code != Code::PathInvalid {
                assert!(r.path.is_some());
            }
        }
    }
});

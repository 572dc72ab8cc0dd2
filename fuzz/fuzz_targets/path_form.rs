//! Path-less links (docs/link-format.md §17.7): reading `/_lg/<token>[/…]`
//! and `/_lgs/<token>` back into the request they stand for must never
//! panic, must leave every other URL alone, and must keep the authority and
//! put the token in the query. Inputs are tried as the path and query of a
//! URL, bare and behind each of the two prefixes, with a sealed token of the
//! fuzz ring that opens (so the scope branch is reached) and as given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use linkgate_core::gate::expand_path_form;
use linkgate_core::path::Scope;
use linkgate_core::token::{Claims, Jti};
use linkgate_core::KeyId;
use linkgate_fuzz::{ring, T0};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let ring = ring();
    let key = ring.signing_key();
    let mut claims =
        Claims::new(KeyId::parse(key.kid().as_str()).unwrap(), Jti([7; 16]), T0, T0 + 60, Scope::parse("/f/").unwrap());
    claims.kid = key.kid().clone();
    let sealed = claims.seal(key, &[1; 24]).unwrap();
    for url in [
        format!("https://files.example.com/{text}"),
        format!("https://files.example.com/_lg/{text}"),
        format!("https://files.example.com/_lgs/{text}"),
        format!("https://files.example.com/_lg/{sealed}/{text}"),
    ] {
        for keys in [Some(&ring), None] {
            match expand_path_form(keys, &url) {
                None => assert!(!url.starts_with("https://files.example.com/_lg/")),
                Some(read) => {
                    assert!(read.starts_with("https://files.example.com/"), "{read}");
                    assert!(read.contains("?lg=") || read.contains("?lgs="), "{read}");
                }
            }
        }
    }
});

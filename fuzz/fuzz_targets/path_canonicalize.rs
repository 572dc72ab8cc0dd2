//! Request-path canonicalization: never panics; what it accepts is canonical,
//! re-validates, survives a URL round trip and matches an independent
//! reference implementation of docs/link-format.md §7.
#![no_main]

use libfuzzer_sys::fuzz_target;
use linkgate_core::path::{CanonicalPath, Scope};
use linkgate_fuzz::{assert_canonical, reference_canonicalize};

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else { return };
    let got = CanonicalPath::from_request(raw);
    let want = reference_canonicalize(raw);
    assert_eq!(got.as_ref().ok().map(|p| p.as_str()), want.as_deref(), "raw {raw:?}: {got:?}");
    if let Ok(p) = got {
        assert_canonical(&p);
        let url = p.to_url_path();
        assert!(url.bytes().all(|b| b.is_ascii_graphic()), "{url:?}");
        assert_eq!(CanonicalPath::from_request(&url).as_ref(), Ok(&p), "url {url:?}");
        assert_eq!(Scope::parse(p.as_str()), Ok(Scope::Object(p.clone())));
        assert!(Scope::parse(p.as_str()).unwrap().covers(&p));
    }
});

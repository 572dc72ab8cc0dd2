//! The admin console (`/_linkgate/console`): which static asset a path
//! names and the headers it is served with. The edge holds the bytes
//! (`src/console/`); the page is static and needs no credential, every data
//! call it makes goes to the admin API with `Authorization: Bearer`
//! (`docs/console.md`).

use super::verify::Method;

/// Where the console lives.
pub const PAGE_PATH: &str = "/_linkgate/console";

/// One of the console's three files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asset {
    Page,
    Script,
    Style,
}

/// The page's Content-Security-Policy: nothing but the worker's own script,
/// stylesheet and API; no inline script or style, no frames, no forms that
/// submit anywhere (the script handles every form), no `<base>`.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The asset a raw request path names, if it is one of the console's.
pub fn asset(raw_path: &str) -> Option<Asset> {
    match raw_path.strip_prefix(PAGE_PATH)? {
        "" | "/" => Some(Asset::Page),
        "/app.js" => Some(Asset::Script),
        "/app.css" => Some(Asset::Style),
        _ => None,
    }
}

/// Why a console request is not served (`None`: serve it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Only GET and HEAD (405 with `Allow: GET, HEAD`).
    MethodNotAllowed,
}

/// The console answers GET and HEAD only.
pub fn check_method(method: Method) -> Result<(), Refusal> {
    match method {
        Method::Get | Method::Head => Ok(()),
        _ => Err(Refusal::MethodNotAllowed),
    }
}

/// The response headers of an asset. Never stored by any cache: a deploy
/// replaces page and script together, and the page is small.
pub fn headers(asset: Asset) -> Vec<(&'static str, &'static str)> {
    let content_type = match asset {
        Asset::Page => "text/html; charset=utf-8",
        Asset::Script => "text/javascript; charset=utf-8",
        Asset::Style => "text/css; charset=utf-8",
    };
    vec![
        ("content-type", content_type),
        ("cache-control", "no-store"),
        ("content-security-policy", CSP),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        ("x-robots-tag", "noindex, nofollow"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_exactly_three_paths() {
        assert_eq!(asset("/_linkgate/console"), Some(Asset::Page));
        assert_eq!(asset("/_linkgate/console/"), Some(Asset::Page));
        assert_eq!(asset("/_linkgate/console/app.js"), Some(Asset::Script));
        assert_eq!(asset("/_linkgate/console/app.css"), Some(Asset::Style));
        for other in [
            "/_linkgate/consoles",
            "/_linkgate/console/app.js/",
            "/_linkgate/console/x",
            "/_linkgate/console/../links",
            "/_linkgate/Console",
            "/_linkgate/links",
            "/console",
        ] {
            assert_eq!(asset(other), None, "{other}");
        }
    }

    #[test]
    fn only_get_and_head() {
        assert!(check_method(Method::Get).is_ok() && check_method(Method::Head).is_ok());
        for m in [Method::Post, Method::Put, Method::Delete] {
            assert_eq!(check_method(m), Err(Refusal::MethodNotAllowed));
        }
    }

    /// The CSP the issue asks for: no third-party origin, no inline script,
    /// no framing, no base or form target.
    #[test]
    fn the_csp_is_strict() {
        for part in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ] {
            assert!(CSP.split("; ").any(|p| p == part), "{part}");
        }
        for loose in ["unsafe-inline", "unsafe-eval", "*", "http:", "https:", "data:"] {
            assert!(!CSP.contains(loose), "{loose}");
        }
        for a in [Asset::Page, Asset::Script, Asset::Style] {
            let h = headers(a);
            for (k, v) in [
                ("cache-control", "no-store"),
                ("x-content-type-options", "nosniff"),
                ("referrer-policy", "no-referrer"),
            ] {
                assert!(h.contains(&(k, v)), "{a:?} {k}");
            }
        }
    }
}

//! Cache rules: no cached authorization outlives the link.
//!
//! - The edge cache key is the canonical path plus the object version, never
//!   the token, so every recipient shares one copy.
//! - What the client (and any cache downstream) sees is `private` (or
//!   `public` if policy says so) with `max-age` ≤ seconds left and
//!   `Expires` ≤ `exp`; bounded-use links and redirects get `no-store`.

use super::http::http_date;
use super::path::{encode_path, CanonicalPath};

/// Host of the synthetic edge-cache URLs (never resolvable, never fetched).
pub const CACHE_HOST: &str = "https://linkgate-cache.invalid";

/// Edge cache key for an object version.
pub fn edge_cache_key(path: &CanonicalPath, version: &str) -> String {
    format!("{CACHE_HOST}{}?v={}", path.to_url_path(), encode_path(version).replace('/', "%2F"))
}

/// Downstream caching headers for one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCache {
    pub cache_control: String,
    pub expires: String,
}

/// Headers for a response authorized by a link expiring at `exp`.
/// `max_age_cap` is the policy's upper bound (e.g. 3600).
pub fn client_cache(now: u64, exp: u64, no_store: bool, public: bool, max_age_cap: u64) -> ClientCache {
    let left = exp.saturating_sub(now);
    if no_store || left == 0 {
        return ClientCache { cache_control: "no-store".to_owned(), expires: http_date(0) };
    }
    let max_age = left.min(max_age_cap);
    let visibility = if public { "public" } else { "private" };
    ClientCache {
        cache_control: {
            let mut v = String::with_capacity(32);
            v.push_str(visibility);
            v.push_str(", max-age=");
            crate::decimal::push(&mut v, max_age, 0);
            v
        },
        expires: http_date(now.saturating_add(max_age)),
    }
}

/// `Cache-Control` of the copy stored in the edge cache (the Cache API honours
/// `s-maxage`); the stored copy is only ever served after a fresh authorization.
pub fn edge_cache_control(edge_ttl_secs: u64) -> String {
    let mut v = String::from("public, s-maxage=");
    crate::decimal::push(&mut v, edge_ttl_secs, 0);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::parse_http_date;

    #[test]
    fn cache_key_has_no_query_but_the_version() {
        let p = CanonicalPath::parse("/a b/c.pdf").unwrap();
        assert_eq!(edge_cache_key(&p, "v1/x"), "https://linkgate-cache.invalid/a%20b/c.pdf?v=v1%2Fx");
    }

    #[test]
    fn never_past_exp() {
        for (now, exp, cap) in [(100, 160, 3600), (100, 101, 3600), (100, 100_000, 3600), (0, 1, 0)] {
            let c = client_cache(now, exp, false, false, cap);
            if cap == 0 {
                continue;
            }
            let max_age: u64 = c.cache_control.rsplit('=').next().unwrap().parse().unwrap();
            assert!(max_age <= exp - now, "{c:?}");
            assert!(c.cache_control.starts_with("private, "));
            assert!(parse_http_date(&c.expires).unwrap() <= exp);
        }
        assert_eq!(client_cache(100, 100, false, false, 60).cache_control, "no-store");
        assert_eq!(client_cache(100, 200, true, false, 60).cache_control, "no-store");
        assert!(client_cache(100, 200, false, true, 60).cache_control.starts_with("public, max-age=60"));
    }
}

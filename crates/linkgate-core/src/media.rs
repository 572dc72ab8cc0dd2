//! Media sessions: one prefix link carried across a whole presentation
//! (an HLS or DASH manifest and its hundreds of segments) by a player that
//! cannot add `?lg=` to the URLs it builds (`docs/edge.md`, "Media sessions").
//!
//! Opening a prefix link whose object's rule says `media: "cookie"` sets the
//! `lgm` cookie: the link's own claims, signed (or sealed) with the link's
//! key in the media domain (`linkgate-media-v1`), `Path=` the prefix,
//! `Max-Age` the seconds the link has left. A request under the prefix that
//! carries no token in its query is verified from that cookie with every
//! check a link gets (tag, time, scope, host, IP, denylist, policy).

/// Name of the media-session cookie.
pub const MEDIA_COOKIE: &str = "lgm";

/// The `lgm` value of a `Cookie` header: the first one, as browsers list the
/// cookie with the longest (most specific) `Path` first (RFC 6265 §5.4).
/// None when absent or empty.
pub fn cookie_token(header: Option<&str>) -> Option<&str> {
    header?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == MEDIA_COOKIE)
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value of a media session: `HttpOnly` (no script reads
/// it), `Secure`, `Path=` the prefix (already URL-encoded; a token is
/// base64url, so neither can break out of its attribute), `Max-Age` ≤ the
/// seconds the link has left. `SameSite=None` when player pages on other
/// sites are allowed (`LINKGATE_MEDIA_ORIGINS`), `Lax` otherwise (a player
/// on the same site sends it with every segment request either way).
pub fn set_cookie(token: &str, url_prefix: &str, max_age: u64, cross_site: bool) -> String {
    let same_site = if cross_site { "None" } else { "Lax" };
    format!("{MEDIA_COOKIE}={token}; Path={url_prefix}; Max-Age={max_age}; HttpOnly; Secure; SameSite={same_site}")
}

/// CORS headers for a player page on another origin: only for an `Origin`
/// listed in `LINKGATE_MEDIA_ORIGINS`, echoed exactly (credentialed CORS
/// never takes `*`), with `Vary: Origin` so no cache hands one origin's
/// answer to another. Empty for any other request.
pub fn cors_headers(allowed: &[String], origin: Option<&str>) -> Vec<(&'static str, String)> {
    let Some(origin) = origin.filter(|o| allowed.iter().any(|a| a.eq_ignore_ascii_case(o))) else {
        return Vec::new();
    };
    vec![
        ("access-control-allow-origin", origin.to_owned()),
        ("access-control-allow-credentials", "true".to_owned()),
        ("access-control-expose-headers", "Content-Length, Content-Range, ETag".to_owned()),
        ("vary", "Origin".to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_lgm_cookie_is_the_token() {
        assert_eq!(cookie_token(None), None);
        assert_eq!(cookie_token(Some("a=1; b=2")), None);
        assert_eq!(cookie_token(Some("lgm=")), None);
        assert_eq!(cookie_token(Some("a=1; lgm=AbC-_; lgm=other")), Some("AbC-_"));
        assert_eq!(cookie_token(Some("xlgm=no; lgm=yes")), Some("yes"));
        assert_eq!(cookie_token(Some("lgm")), None);
    }

    #[test]
    fn the_cookie_is_scoped_and_short_lived() {
        let c = set_cookie("TOK", "/media/launch-2026/", 3599, false);
        assert_eq!(c, "lgm=TOK; Path=/media/launch-2026/; Max-Age=3599; HttpOnly; Secure; SameSite=Lax");
        assert!(set_cookie("T", "/m/", 1, true).ends_with("SameSite=None"));
    }

    #[test]
    fn cors_only_for_listed_origins_and_never_a_wildcard() {
        let allowed = vec!["https://player.example".to_owned()];
        assert!(cors_headers(&allowed, None).is_empty());
        assert!(cors_headers(&allowed, Some("https://evil.example")).is_empty());
        assert!(cors_headers(&[], Some("https://player.example")).is_empty());
        let h = cors_headers(&allowed, Some("https://player.example"));
        assert!(h.contains(&("access-control-allow-origin", "https://player.example".to_owned())));
        assert!(h.contains(&("access-control-allow-credentials", "true".to_owned())));
        assert!(h.contains(&("vary", "Origin".to_owned())));
    }
}

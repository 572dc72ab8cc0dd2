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

/// The query parameter a rewritten manifest adds to each URI under the prefix.
pub const MEDIA_PARAM: &str = "lgm";

/// How to rewrite one playlist response (the edge builds a
/// [`HlsRewriter`] from it and pipes the body through).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRewrite {
    /// HLS playlist or DASH MPD.
    pub kind: ManifestKind,
    /// The media-session token to add.
    pub token: String,
    /// URL path of the playlist.
    pub playlist: String,
    /// URL path of the session's prefix.
    pub prefix: String,
}

/// Which manifest format a rewrite is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    Hls,
    Dash,
}

impl ManifestKind {
    /// The manifest format of an object path, if it names one.
    pub fn of_path(path: &str) -> Option<ManifestKind> {
        if is_hls_playlist(path) {
            Some(ManifestKind::Hls)
        } else if super::mpd::is_dash_mpd(path) {
            Some(ManifestKind::Dash)
        } else {
            None
        }
    }
}

impl ManifestRewrite {
    pub fn rewriter(&self) -> Rewriter {
        match self.kind {
            ManifestKind::Hls => Rewriter::Hls(HlsRewriter::new(&self.token, &self.playlist, &self.prefix)),
            ManifestKind::Dash => {
                Rewriter::Dash(Box::new(super::mpd::MpdRewriter::new(&self.token, &self.playlist, &self.prefix)))
            }
        }
    }
}

/// A streaming manifest rewriter of either format.
#[derive(Debug, Clone)]
pub enum Rewriter {
    Hls(HlsRewriter),
    Dash(Box<super::mpd::MpdRewriter>),
}

impl Rewriter {
    /// Feed one chunk; what can be written so far is appended to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        match self {
            Rewriter::Hls(r) => r.push(chunk, out),
            Rewriter::Dash(r) => r.push(chunk, out),
        }
    }

    /// The input ended.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        match self {
            Rewriter::Hls(r) => r.finish(out),
            Rewriter::Dash(r) => r.finish(out),
        }
    }
}

/// Longest manifest line the rewriter holds while waiting for its end. A
/// longer line (no real playlist has one) passes through unchanged, so
/// memory stays bounded whatever the input.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// Does this object path name an HLS playlist (the manifests rewriting mode
/// rewrites)?
pub fn is_hls_playlist(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    ext.eq_ignore_ascii_case("m3u8") || ext.eq_ignore_ascii_case("m3u")
}

/// An HLS playlist rewritten as it streams (sans-I/O: chunks in, chunks
/// out): every URI under the session's prefix — URI lines, and the `URI="…"`
/// attributes of tags (`#EXT-X-KEY`, `#EXT-X-MAP`, `#EXT-X-MEDIA`,
/// `#EXT-X-I-FRAME-STREAM-INF`, …) — gets `lgm=<token>` added to its query;
/// nothing else changes, byte for byte (line endings, whitespace, comments,
/// URIs outside the prefix or absolute ones). Only the current line is held
/// (at most [`MAX_LINE_BYTES`]).
#[derive(Debug, Clone)]
pub struct HlsRewriter {
    insert: String,
    /// URL path of the playlist's folder (ends in `/`): relative URIs resolve against it.
    base: String,
    /// URL path of the session's prefix (ends in `/`).
    prefix: String,
    line: Vec<u8>,
    /// The current line outgrew [`MAX_LINE_BYTES`]: pass it through as is.
    passing: bool,
}

impl HlsRewriter {
    /// `playlist` and `prefix` are URL paths as requested (percent-encoded).
    pub fn new(token: &str, playlist: &str, prefix: &str) -> HlsRewriter {
        let base = playlist.rsplit_once('/').map_or("/", |(dir, _)| dir);
        HlsRewriter {
            insert: format!("{MEDIA_PARAM}={token}"),
            base: format!("{base}/"),
            prefix: prefix.to_owned(),
            line: Vec::new(),
            passing: false,
        }
    }

    /// Feed one chunk; what can be written so far is appended to `out`.
    pub fn push(&mut self, mut chunk: &[u8], out: &mut Vec<u8>) {
        while !chunk.is_empty() {
            let end = chunk.iter().position(|&b| b == b'\n');
            let (part, rest) = match end {
                Some(i) => chunk.split_at(i.saturating_add(1)),
                None => (chunk, &[][..]),
            };
            chunk = rest;
            if self.passing {
                out.extend_from_slice(part);
            } else if self.line.len().saturating_add(part.len()) > MAX_LINE_BYTES {
                out.append(&mut self.line);
                out.extend_from_slice(part);
                self.passing = true;
            } else {
                self.line.extend_from_slice(part);
                if end.is_some() {
                    let line = core::mem::take(&mut self.line);
                    self.rewrite_line(&line, out);
                    self.line = line;
                    self.line.clear();
                }
            }
            if end.is_some() {
                self.passing = false;
            }
        }
    }

    /// Bytes held back (the current line): never more than [`MAX_LINE_BYTES`].
    pub fn held(&self) -> usize {
        self.line.len()
    }

    /// The input ended: write the last line (one without a line break).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.passing && !self.line.is_empty() {
            let line = core::mem::take(&mut self.line);
            self.rewrite_line(&line, out);
        }
        self.line.clear();
        self.passing = false;
    }

    fn rewrite_line(&self, line: &[u8], out: &mut Vec<u8>) {
        // A line that is not UTF-8 is not a playlist line: unchanged.
        let Ok(text) = core::str::from_utf8(line) else {
            out.extend_from_slice(line);
            return;
        };
        let body_len = text.trim_end_matches(['\r', '\n']).len();
        let (body, ending) = text.split_at(body_len);
        if body.starts_with("#EXT") {
            self.rewrite_tag(body, out);
        } else if body.starts_with('#') {
            // A comment.
            out.extend_from_slice(body.as_bytes());
        } else if !body.trim().is_empty() && body.trim() == body {
            self.rewrite_uri(body, out);
        } else {
            out.extend_from_slice(body.as_bytes());
        }
        out.extend_from_slice(ending.as_bytes());
    }

    /// Every `URI="…"` attribute of a tag line.
    fn rewrite_tag(&self, mut rest: &str, out: &mut Vec<u8>) {
        const ATTR: &str = "URI=\"";
        while let Some(at) = rest.find(ATTR) {
            // Only the attribute named exactly URI (`KEYURI=` is another).
            let whole = at == 0 || rest.get(..at).is_some_and(|h| h.ends_with([':', ',']));
            let start = at.saturating_add(ATTR.len());
            let Some(len) = rest.get(start..).and_then(|r| r.find('"')) else { break };
            let (head, tail) = rest.split_at(start);
            let (value, tail) = tail.split_at(len);
            out.extend_from_slice(head.as_bytes());
            if whole {
                self.rewrite_uri(value, out);
            } else {
                out.extend_from_slice(value.as_bytes());
            }
            rest = tail;
        }
        out.extend_from_slice(rest.as_bytes());
    }

    fn rewrite_uri(&self, uri: &str, out: &mut Vec<u8>) {
        let frag = uri.find('#').unwrap_or(uri.len());
        let (before, fragment) = uri.split_at(frag);
        if !self.under_prefix(before) {
            out.extend_from_slice(uri.as_bytes());
            return;
        }
        out.extend_from_slice(before.as_bytes());
        // Always a separator of its own (`a?` becomes `a?&lgm=…`, an empty
        // piece every query reader skips): the insertion is then exactly
        // `?lgm=…` or `&lgm=…`, and taking it out gives the input back.
        let sep = if before.contains('?') { "&" } else { "?" };
        out.extend_from_slice(sep.as_bytes());
        out.extend_from_slice(self.insert.as_bytes());
        out.extend_from_slice(fragment.as_bytes());
    }

    fn under_prefix(&self, reference: &str) -> bool {
        relative_target(reference, &self.base).is_some_and(|p| p.starts_with(&self.prefix))
    }
}

/// The path a relative reference (no scheme, no authority) names, resolved
/// against the folder `base` (ends in `/`); None for absolute references,
/// for one that climbs above the root, and for one whose query already
/// carries a token (`lg`, `lgs`, `lgm`).
pub(crate) fn relative_target(reference: &str, base: &str) -> Option<String> {
    let (path, query) = reference.split_once('?').unwrap_or((reference, ""));
    let first = path.find(['/', '?', '#']).unwrap_or(path.len());
    if path.is_empty() || path.starts_with("//") || path.get(..first).is_some_and(|p| p.contains(':')) {
        return None;
    }
    if query.split('&').any(|p| {
        let name = p.split('=').next().unwrap_or("");
        matches!(name, "lg" | "lgs" | "lgm" | "amp;lg" | "amp;lgs" | "amp;lgm")
    }) {
        return None;
    }
    let joined = if path.starts_with('/') { path.to_owned() } else { format!("{base}{path}") };
    resolve_dots(&joined)
}

/// RFC 3986 §5.2.4 on an absolute path; None when `..` climbs above the root.
fn resolve_dots(path: &str) -> Option<String> {
    let mut segments: Vec<&str> = Vec::new();
    let mut parts = path.split('/').skip(1).peekable();
    while let Some(seg) = parts.next() {
        let last = parts.peek().is_none();
        match seg {
            "." => {
                if last {
                    segments.push("");
                }
            }
            ".." => {
                segments.pop()?;
                if last {
                    segments.push("");
                }
            }
            s => segments.push(s),
        }
    }
    Some(format!("/{}", segments.join("/")))
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

    const TOKEN: &str = "T0K-_";

    fn rewrite_in_chunks(input: &[u8], playlist: &str, prefix: &str, chunk: usize) -> Vec<u8> {
        let mut r = HlsRewriter::new(TOKEN, playlist, prefix);
        let mut out = Vec::new();
        for c in input.chunks(chunk.max(1)) {
            r.push(c, &mut out);
        }
        r.finish(&mut out);
        out
    }

    /// The output with every added token taken out again.
    fn without_tokens(out: &[u8]) -> Vec<u8> {
        let text = String::from_utf8_lossy(out).into_owned();
        text.replace(&format!("?lgm={TOKEN}"), "").replace(&format!("&lgm={TOKEN}"), "").into_bytes()
    }

    const MASTER: &str = "#EXTM3U\r\n#EXT-X-VERSION:6\r\n#EXT-X-SESSION-KEY:METHOD=AES-128,URI=\"keys/k.bin\"\r\n\
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"en\",URI=\"audio/en.m3u8\"\r\n\
#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS=\"avc1.42c00d\",AUDIO=\"a\"\r\n720p/index.m3u8\r\n\
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI=\"720p/iframes.m3u8?x=1\"\r\n\
https://cdn.example/other/index.m3u8\r\n//cdn.example/x.m3u8\r\n/elsewhere/index.m3u8\r\n../../up.m3u8\r\n# a comment URI=\"nope\"\r\n";

    #[test]
    fn every_uri_under_the_prefix_and_nothing_else() {
        let out = rewrite_in_chunks(MASTER.as_bytes(), "/m/show/master.m3u8", "/m/show/", 1 << 20);
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.contains("URI=\"keys/k.bin?lgm=T0K-_\""), "{text}");
        assert!(text.contains("URI=\"audio/en.m3u8?lgm=T0K-_\""));
        assert!(text.contains("\r\n720p/index.m3u8?lgm=T0K-_\r\n"));
        assert!(text.contains("URI=\"720p/iframes.m3u8?x=1&lgm=T0K-_\""));
        assert!(text.contains("\r\nhttps://cdn.example/other/index.m3u8\r\n"));
        assert!(text.contains("\r\n//cdn.example/x.m3u8\r\n"));
        assert!(text.contains("\r\n/elsewhere/index.m3u8\r\n"));
        assert!(text.contains("\r\n../../up.m3u8\r\n"));
        assert!(text.contains("# a comment URI=\"nope\"\r\n"), "comments are not tags");
        assert_eq!(text.matches("lgm=").count(), 4);
        assert_eq!(without_tokens(&out), MASTER.as_bytes());
    }

    #[test]
    fn media_playlists_keys_and_maps() {
        let media = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-KEY:METHOD=AES-128,URI=\"/m/show/k.bin\",IV=0x1\n\
#EXT-X-MAP:URI=\"init.mp4\",BYTERANGE=\"720@0\"\n#EXTINF:4.0,\nseg-1.m4s\n#EXTINF:4.0,\n./sub/../seg-2.m4s#t=1\n\
#EXT-X-KEY:METHOD=SAMPLE-AES,KEYFORMAT=\"x\",URI=\"skd://key\"\nseg-3.m4s?lg=already\n#EXT-X-ENDLIST";
        let out = rewrite_in_chunks(media.as_bytes(), "/m/show/720p/index.m3u8", "/m/show/", 7);
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.contains("URI=\"/m/show/k.bin?lgm=T0K-_\""), "{text}");
        assert!(text.contains("URI=\"init.mp4?lgm=T0K-_\",BYTERANGE"));
        assert!(text.contains("\nseg-1.m4s?lgm=T0K-_\n"));
        assert!(text.contains("\n./sub/../seg-2.m4s?lgm=T0K-_#t=1\n"));
        assert!(text.contains("URI=\"skd://key\""));
        assert!(text.contains("\nseg-3.m4s?lg=already\n"));
        assert!(text.ends_with("#EXT-X-ENDLIST"));
        assert_eq!(without_tokens(&out), media.as_bytes());
    }

    #[test]
    fn any_chunking_gives_the_same_bytes() {
        let whole = rewrite_in_chunks(MASTER.as_bytes(), "/m/show/master.m3u8", "/m/", 1 << 20);
        for n in 1..40 {
            assert_eq!(rewrite_in_chunks(MASTER.as_bytes(), "/m/show/master.m3u8", "/m/", n), whole, "chunks of {n}");
        }
    }

    #[test]
    fn memory_is_bounded_and_overlong_lines_pass_unchanged() {
        let long = format!("{}\nseg.ts\n", "a".repeat(MAX_LINE_BYTES + 10));
        let mut r = HlsRewriter::new(TOKEN, "/m/i.m3u8", "/m/");
        let mut out = Vec::new();
        for c in long.as_bytes().chunks(1000) {
            r.push(c, &mut out);
            assert!(r.held() <= MAX_LINE_BYTES);
        }
        r.finish(&mut out);
        assert_eq!(String::from_utf8(out).unwrap(), format!("{}\nseg.ts?lgm=T0K-_\n", "a".repeat(MAX_LINE_BYTES + 10)));
        // Not UTF-8: unchanged.
        assert_eq!(rewrite_in_chunks(b"\xff\xfe.ts\nx.ts\n", "/m/i.m3u8", "/m/", 3), b"\xff\xfe.ts\nx.ts?lgm=T0K-_\n");
    }

    #[test]
    fn playlists_are_named_m3u8() {
        assert!(is_hls_playlist("/m/show/master.m3u8"));
        assert!(is_hls_playlist("/m/show/INDEX.M3U8"));
        assert!(!is_hls_playlist("/m/show/seg.ts"));
        assert!(!is_hls_playlist("/m/m3u8/seg"));
    }
}

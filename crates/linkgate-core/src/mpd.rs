//! DASH MPD rewriting (media `rewrite` mode, `docs/edge.md`): a streaming,
//! sans-I/O transform like the HLS one (`crate::media::HlsRewriter`) that
//! adds `lgm=<session>` to the segment URLs of an MPD — `SegmentTemplate`'s
//! `media`, `initialization` and `index`, `SegmentURL`'s `media` and `index`,
//! `Initialization`'s and `RepresentationIndex`'s `sourceURL`, and
//! `BaseURL` text — when they resolve under the session's prefix.
//!
//! Where a URL finally points depends on every `BaseURL` above it, and a
//! `BaseURL` below an element can override its base after the element was
//! written. So that a token never follows a URL to another host, only URLs
//! inside a `Representation` are rewritten (its own `BaseURL` comes first
//! in the schema, and nothing below it has one), against the base the
//! `BaseURL`s seen so far give; a `BaseURL` outside the prefix (absolute,
//! `//host`, or elsewhere on this host) stops rewriting in its scope.
//! Templates shared at `AdaptationSet` or `Period` level are left as they
//! are (such MPDs need cookie mode). Everything else is copied byte for
//! byte; one tag or one `BaseURL` text is held at most (16 KiB), and a
//! longer one, a structure that does not nest, or more than 64 levels stops
//! all rewriting for the rest of the document (fail safe: no token).

use super::media::{relative_target, MEDIA_PARAM};

/// Longest tag or `BaseURL` text held.
pub const MAX_PIECE_BYTES: usize = 16 * 1024;
/// Deepest nesting followed.
const MAX_DEPTH: usize = 64;

/// Does this object path name a DASH MPD?
pub fn is_dash_mpd(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    name.rsplit_once('.').is_some_and(|(_, e)| e.eq_ignore_ascii_case("mpd"))
}

#[derive(Debug, Clone)]
struct Level {
    name: String,
    /// URL folder relative references resolve against; None: elsewhere.
    base: Option<String>,
    /// Inside a `Representation`.
    representation: bool,
}

/// The streaming MPD rewriter (see the module documentation).
#[derive(Debug, Clone)]
pub struct MpdRewriter {
    token: String,
    prefix: String,
    root: String,
    stack: Vec<Level>,
    /// The current tag, or the current `BaseURL` text.
    piece: Vec<u8>,
    in_tag: bool,
    quote: Option<u8>,
    /// The current piece outgrew the limit: copied through as it comes.
    passing: bool,
    /// Rewriting stopped for the rest of the document.
    broken: bool,
}

impl MpdRewriter {
    /// `mpd` and `prefix` are URL paths as requested (percent-encoded).
    pub fn new(token: &str, mpd: &str, prefix: &str) -> MpdRewriter {
        let root = mpd.rsplit_once('/').map_or("/", |(dir, _)| dir);
        MpdRewriter {
            token: token.to_owned(),
            prefix: prefix.to_owned(),
            root: format!("{root}/"),
            stack: Vec::new(),
            piece: Vec::new(),
            in_tag: false,
            quote: None,
            passing: false,
            broken: false,
        }
    }

    /// Bytes held back: never more than [`MAX_PIECE_BYTES`].
    pub fn held(&self) -> usize {
        self.piece.len()
    }

    fn in_base_url(&self) -> bool {
        self.stack.last().is_some_and(|l| local(&l.name) == "BaseURL")
    }

    /// Feed one chunk; what can be written so far is appended to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        for &b in chunk {
            if self.in_tag {
                self.tag_byte(b, out);
            } else if b == b'<' {
                self.end_text(out);
                self.in_tag = true;
                self.quote = None;
                self.piece.push(b);
            } else if self.in_base_url() && !self.broken {
                self.hold(b, out);
            } else {
                out.push(b);
            }
        }
    }

    /// The input ended: write what is held, unchanged.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.piece);
    }

    /// Hold one byte of the current piece, or copy it through once the piece
    /// is too long (and stop rewriting).
    fn hold(&mut self, b: u8, out: &mut Vec<u8>) {
        if self.passing {
            out.push(b);
        } else if self.piece.len() >= MAX_PIECE_BYTES {
            self.broken = true;
            self.passing = true;
            out.append(&mut self.piece);
            out.push(b);
        } else {
            self.piece.push(b);
        }
    }

    fn tag_byte(&mut self, b: u8, out: &mut Vec<u8>) {
        self.hold(b, out);
        let markup = self.piece.get(1).is_some_and(|c| *c == b'!' || *c == b'?');
        match self.quote {
            Some(q) if b == q => self.quote = None,
            Some(_) => {}
            None if !markup && (b == b'"' || b == b'\'') => self.quote = Some(b),
            None if b == b'>' => {
                let ends = |s: &[u8]| self.passing || self.piece.ends_with(s);
                let done = if self.piece.starts_with(b"<!--") {
                    ends(b"-->")
                } else if self.piece.starts_with(b"<![CDATA[") {
                    ends(b"]]>")
                } else {
                    true
                };
                if done {
                    self.end_tag(out);
                }
            }
            None => {}
        }
    }

    fn end_text(&mut self, out: &mut Vec<u8>) {
        if self.passing {
            self.passing = false;
            return;
        }
        if self.piece.is_empty() {
            return;
        }
        let piece = core::mem::take(&mut self.piece);
        match core::str::from_utf8(&piece) {
            Ok(text) if !self.broken => self.base_url_text(text, out),
            _ => out.extend_from_slice(&piece),
        }
    }

    /// A `BaseURL`'s text: it sets its parent's base, and inside a
    /// `Representation` carries the token itself (a single-file
    /// `SegmentBase` is fetched at it).
    fn base_url_text(&mut self, text: &str, out: &mut Vec<u8>) {
        let depth = self.stack.len();
        let parent_base =
            depth.checked_sub(2).and_then(|i| self.stack.get(i)).map_or(Some(self.root.clone()), |l| l.base.clone());
        let representation = depth.checked_sub(2).and_then(|i| self.stack.get(i)).is_some_and(|l| l.representation);
        let url = text.trim();
        let target =
            parent_base.as_deref().and_then(|b| relative_target(url, b)).filter(|t| t.starts_with(&self.prefix));
        let new_base = target.as_ref().map(|t| t.rsplit_once('/').map_or("/".to_owned(), |(d, _)| format!("{d}/")));
        if let Some(parent) = depth.checked_sub(2).and_then(|i| self.stack.get_mut(i)) {
            // Several BaseURLs at one level are alternatives: any one
            // elsewhere makes the whole scope elsewhere.
            parent.base = if parent.base.is_some() { new_base } else { None };
        } else {
            self.root = new_base.clone().unwrap_or_default();
            if new_base.is_none() {
                self.broken = true;
            }
        }
        if representation && target.is_some() && !url.is_empty() {
            let at = text.find(url).unwrap_or(0);
            let (head, rest) = text.split_at(at);
            let (url_text, tail) = rest.split_at(url.len().min(rest.len()));
            out.extend_from_slice(head.as_bytes());
            self.insert(url_text, out);
            out.extend_from_slice(tail.as_bytes());
        } else {
            out.extend_from_slice(text.as_bytes());
        }
    }

    fn end_tag(&mut self, out: &mut Vec<u8>) {
        self.in_tag = false;
        if self.passing {
            self.passing = false;
            return;
        }
        let piece = core::mem::take(&mut self.piece);
        let Ok(tag) = core::str::from_utf8(&piece) else {
            self.broken = true;
            out.extend_from_slice(&piece);
            return;
        };
        if tag.starts_with("<!") || tag.starts_with("<?") {
            out.extend_from_slice(tag.as_bytes());
            return;
        }
        let closing = tag.starts_with("</");
        let name_start = if closing { 2 } else { 1 };
        let name: String = tag
            .get(name_start..)
            .unwrap_or("")
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '/' && *c != '>')
            .collect();
        if closing {
            out.extend_from_slice(tag.as_bytes());
            match self.stack.pop() {
                Some(l) if l.name == name => {}
                _ => self.broken = true,
            }
            return;
        }
        let parent = self.stack.last();
        let base = parent.map_or(Some(self.root.clone()), |l| l.base.clone());
        let representation = parent.is_some_and(|l| l.representation);
        let attrs: &[&str] = match local(&name) {
            "SegmentTemplate" => &["media", "initialization", "index"],
            "SegmentURL" => &["media", "index"],
            "Initialization" | "RepresentationIndex" => &["sourceURL"],
            _ => &[],
        };
        match base.as_deref() {
            Some(b) if representation && !self.broken && !attrs.is_empty() => self.rewrite_attrs(tag, b, attrs, out),
            _ => out.extend_from_slice(tag.as_bytes()),
        }
        if !tag.ends_with("/>") {
            if self.stack.len() >= MAX_DEPTH {
                self.broken = true;
            }
            let representation = representation || local(&name) == "Representation";
            self.stack.push(Level { name, base, representation });
        }
    }

    /// Copy a start tag, adding the token to the named attributes' URLs.
    fn rewrite_attrs(&self, tag: &str, base: &str, names: &[&str], out: &mut Vec<u8>) {
        let mut rest = tag;
        while let Some(eq) = rest.find('=') {
            let name = rest.get(..eq).unwrap_or("").trim_end();
            let name = name.rsplit(|c: char| c.is_whitespace()).next().unwrap_or("");
            let after = rest.get(eq.saturating_add(1)..).unwrap_or("");
            let gap = after.len().saturating_sub(after.trim_start().len());
            let open = eq.saturating_add(1).saturating_add(gap);
            let quote = rest.get(open..).and_then(|r| r.chars().next()).filter(|c| *c == '"' || *c == '\'');
            let Some(q) = quote else { break };
            let start = open.saturating_add(1);
            let Some(len) = rest.get(start..).and_then(|r| r.find(q)) else { break };
            let (head, tail) = rest.split_at(start);
            let (value, tail) = tail.split_at(len);
            out.extend_from_slice(head.as_bytes());
            let wanted = names.contains(&local(name));
            if wanted && relative_target(value, base).is_some_and(|t| t.starts_with(&self.prefix)) {
                self.insert(value, out);
            } else {
                out.extend_from_slice(value.as_bytes());
            }
            rest = tail;
        }
        out.extend_from_slice(rest.as_bytes());
    }

    /// The URL with `lgm=<token>` in its query (`&` written `&amp;`: XML).
    fn insert(&self, url: &str, out: &mut Vec<u8>) {
        let frag = url.find('#').unwrap_or(url.len());
        let (before, fragment) = url.split_at(frag);
        out.extend_from_slice(before.as_bytes());
        out.extend_from_slice(if before.contains('?') { b"&amp;" } else { b"?" });
        out.extend_from_slice(MEDIA_PARAM.as_bytes());
        out.push(b'=');
        out.extend_from_slice(self.token.as_bytes());
        out.extend_from_slice(fragment.as_bytes());
    }
}

/// An element name without its namespace prefix.
fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "T0K";

    fn run(input: &str, mpd: &str, prefix: &str, chunk: usize) -> String {
        let mut r = MpdRewriter::new(TOKEN, mpd, prefix);
        let mut out = Vec::new();
        for c in input.as_bytes().chunks(chunk.max(1)) {
            r.push(c, &mut out);
            assert!(r.held() <= MAX_PIECE_BYTES);
        }
        r.finish(&mut out);
        String::from_utf8(out).unwrap()
    }

    fn strip(s: &str) -> String {
        s.replace(&format!("?lgm={TOKEN}"), "").replace(&format!("&amp;lgm={TOKEN}"), "")
    }

    const FFMPEG: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT8.0S">
	<!-- a comment with <SegmentTemplate media="x.m4s"> inside -->
	<Period id="0" start="PT0.0S">
		<AdaptationSet id="0" contentType="video">
			<Representation id="0" mimeType="video/mp4" codecs="avc1.42c00c" bandwidth="283721">
				<SegmentTemplate timescale="1000000" duration="1000000" initialization="init.m4s" media="chunk-$Number%03d$.m4s" startNumber="1">
				</SegmentTemplate>
			</Representation>
		</AdaptationSet>
	</Period>
</MPD>
"#;

    #[test]
    fn templates_inside_a_representation_get_the_token() {
        let out = run(FFMPEG, "/m/show/manifest.mpd", "/m/show/", 1 << 20);
        assert!(out.contains(r#"initialization="init.m4s?lgm=T0K" media="chunk-$Number%03d$.m4s?lgm=T0K""#), "{out}");
        assert!(out.contains(r#"<SegmentTemplate media="x.m4s"> inside"#), "comments are copied");
        assert_eq!(strip(&out), FFMPEG);
        for n in 1..30 {
            assert_eq!(run(FFMPEG, "/m/show/manifest.mpd", "/m/show/", n), out, "chunks of {n}");
        }
    }

    #[test]
    fn base_urls_decide_where_urls_point() {
        let mpd = r#"<MPD><BaseURL>video/</BaseURL><Period><AdaptationSet>
<SegmentTemplate media="shared-$Number$.m4s"/>
<Representation id="a"><BaseURL>a/file.mp4</BaseURL><SegmentBase><Initialization sourceURL="init.mp4?x=1&amp;y=2"/></SegmentBase></Representation>
<Representation id="b"><BaseURL>https://cdn.example/b/</BaseURL><SegmentTemplate media="s-$Number$.m4s"/></Representation>
<Representation id="c"><BaseURL>/elsewhere/</BaseURL><SegmentList><SegmentURL media="x.m4s"/></SegmentList></Representation>
<Representation id="d"><SegmentList><SegmentURL media='seg 1.m4s#t=0' index="../../../out.idx"/></SegmentList></Representation>
</AdaptationSet></Period></MPD>"#;
        let out = run(mpd, "/m/show/manifest.mpd", "/m/show/", 5);
        assert!(out.contains(r#"<SegmentTemplate media="shared-$Number$.m4s"/>"#), "shared templates are left: {out}");
        assert!(out.contains("<BaseURL>a/file.mp4?lgm=T0K</BaseURL>"));
        assert!(out.contains(r#"sourceURL="init.mp4?x=1&amp;y=2&amp;lgm=T0K""#));
        assert!(out.contains(r#"<SegmentTemplate media="s-$Number$.m4s"/>"#), "another host: no token");
        assert!(out.contains(r#"<SegmentURL media="x.m4s"/>"#), "outside the prefix: no token");
        assert!(out.contains("media='seg 1.m4s?lgm=T0K#t=0'"));
        assert!(out.contains(r#"index="../../../out.idx""#));
        assert_eq!(strip(&out), mpd);
        assert_eq!(run(mpd, "/m/show/manifest.mpd", "/m/show/", 1), out);
    }

    #[test]
    fn broken_or_oversized_documents_stop_rewriting() {
        let bad = "<MPD><Period></AdaptationSet><Representation><SegmentTemplate media=\"a.m4s\"/></Representation></Period></MPD>";
        let out = run(bad, "/m/x.mpd", "/m/", 3);
        assert_eq!(out, bad, "does not nest: nothing rewritten");
        let long = format!("<MPD><!-- {} --><Period><Representation><SegmentTemplate media=\"a.m4s\"/></Representation></Period></MPD>", "x".repeat(MAX_PIECE_BYTES));
        let out = run(&long, "/m/x.mpd", "/m/", 1000);
        assert_eq!(out, long);
        let outside = "<MPD><BaseURL>https://cdn.example/</BaseURL><Period><Representation><SegmentTemplate media=\"a.m4s\"/></Representation></Period></MPD>";
        assert_eq!(run(outside, "/m/x.mpd", "/m/", 4), outside);
        assert!(is_dash_mpd("/m/show/Manifest.MPD"));
        assert!(!is_dash_mpd("/m/show/x.m3u8"));
    }
}

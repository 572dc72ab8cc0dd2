//! The manifest rewriters (docs/edge.md, "Media sessions", rewriting), HLS
//! and DASH MPD: any bytes, split into chunks at a fuzzer-chosen size, must
//! never panic, must give the same output however they are chunked, must
//! never hold more than one bounded piece, and must come back byte for byte
//! once the added tokens (`?lgm=T` or `&lgm=T`, `&amp;lgm=T` in an MPD,
//! nothing else) are taken out.
#![no_main]

use libfuzzer_sys::fuzz_target;
use linkgate_core::media::{HlsRewriter, MAX_LINE_BYTES};
use linkgate_core::mpd::{MpdRewriter, MAX_PIECE_BYTES};

const TOKEN: &str = "FuZzToK3n";

fn run(data: &[u8], cut: usize) -> Vec<u8> {
    let mut r = HlsRewriter::new(TOKEN, "/m/show/720p/index.m3u8", "/m/show/");
    let mut out = Vec::new();
    for chunk in data.chunks(cut.max(1)) {
        r.push(chunk, &mut out);
        assert!(r.held() <= MAX_LINE_BYTES, "more than one bounded line held");
    }
    r.finish(&mut out);
    out
}

fn run_mpd(data: &[u8], cut: usize) -> Vec<u8> {
    let mut r = MpdRewriter::new(TOKEN, "/m/show/manifest.mpd", "/m/show/");
    let mut out = Vec::new();
    for chunk in data.chunks(cut.max(1)) {
        r.push(chunk, &mut out);
        assert!(r.held() <= MAX_PIECE_BYTES, "more than one bounded piece held");
    }
    r.finish(&mut out);
    out
}

fn remove(haystack: &[u8], needle: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
        out.extend_from_slice(&rest[..at]);
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, data)) = data.split_first() else { return };
    let whole = run(data, data.len().max(1));
    assert_eq!(run(data, usize::from(cut)), whole, "chunking changed the output");
    assert_eq!(run(data, 1), whole, "byte-at-a-time changed the output");
    let needle = format!("lgm={TOKEN}");
    if data.windows(needle.len()).any(|w| w == needle.as_bytes()) {
        return; // the input holds the token itself: removal would be ambiguous
    }
    let back = remove(&remove(&whole, format!("?{needle}").as_bytes()), format!("&{needle}").as_bytes());
    assert_eq!(back, data, "not byte-identical once the tokens are out");
    let mpd = run_mpd(data, data.len().max(1));
    assert_eq!(run_mpd(data, usize::from(cut)), mpd, "MPD: chunking changed the output");
    assert_eq!(run_mpd(data, 1), mpd, "MPD: byte-at-a-time changed the output");
    let back = remove(&remove(&mpd, format!("?{needle}").as_bytes()), format!("&amp;{needle}").as_bytes());
    assert_eq!(back, data, "MPD: not byte-identical once the tokens are out");
});

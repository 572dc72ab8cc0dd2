// The canonical-path oracle shared by tests/properties.rs and the fuzz crate
// (fuzz/src/lib.rs), both of which include this file with `#[path]`: one
// reference, so the two cannot drift apart.

/// An independent, deliberately naive implementation of the canonical-path
/// rules (docs/link-format.md §7): `Some(decoded)` iff the path is accepted.
pub fn reference_canonicalize(raw: &str) -> Option<String> {
    let b = raw.as_bytes();
    if b.first() != Some(&b'/') {
        return None;
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let v = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            if v == b'/' || v == b'\\' || v == 0 {
                return None;
            }
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    if out.len() > linkgate_core::path::MAX_PATH_BYTES {
        return None;
    }
    let s = String::from_utf8(out).ok()?;
    if s.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    if s[1..].split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
        return None;
    }
    // Step 7, NFC: not re-implemented here; tests/properties.rs checks
    // `is_nfc` against an independent normalizer (its section 4b).
    if !linkgate_core::nfc::is_nfc(&s) {
        return None;
    }
    Some(s)
}

//! Free text that people read later (revocation reasons and actors, signed
//! file names): it must show what it says.
//!
//! Refused: control characters (C0, DEL, C1, so also tab and newline),
//! the line and paragraph separators U+2028/U+2029, every format character
//! (Unicode general category Cf: bidi embeddings, overrides and isolates
//! such as U+202E, the marks U+200E/U+200F/U+061C, zero-width space and
//! joiners, word joiner, BOM, soft hyphen, tag characters, ...) and the
//! noncharacters. Such characters are invisible or reorder what is shown,
//! so an audit trail or a download dialog would display something other
//! than what was stored (`invoice\u{202E}fdp.exe` reads as `invoiceexe.pdf`).

/// Unicode general category Cf (format), as of Unicode 16.
const FORMAT: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// Is `c` a control, separator, format character or noncharacter, i.e.
/// something that does not show as itself?
pub fn is_hidden(c: char) -> bool {
    let u = u32::from(c);
    c.is_control()
        || u == 0x2028
        || u == 0x2029
        || (0xFDD0..=0xFDEF).contains(&u)
        || u & 0xFFFE == 0xFFFE
        || FORMAT.iter().any(|&(lo, hi)| (lo..=hi).contains(&u))
}

/// The first hidden character, as `U+XXXX`, for an error message.
pub fn first_hidden(s: &str) -> Option<String> {
    s.chars().find(|&c| is_hidden(c)).map(|c| format!("U+{:04X}", u32::from(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters() {
        for c in [
            '\0',
            '\t',
            '\n',
            '\r',
            '\u{1b}',
            '\u{7f}',
            '\u{80}',
            '\u{85}',
            '\u{9f}',
            '\u{ad}',
            '\u{61c}',
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{200e}',
            '\u{200f}',
            '\u{2028}',
            '\u{2029}',
            '\u{202a}',
            '\u{202e}',
            '\u{2060}',
            '\u{2066}',
            '\u{2069}',
            '\u{206f}',
            '\u{feff}',
            '\u{fff9}',
            '\u{fffb}',
            '\u{fdd0}',
            '\u{fffe}',
            '\u{ffff}',
            '\u{1fffe}',
            '\u{10ffff}',
            '\u{e0001}',
            '\u{e0041}',
            '\u{e007f}',
            '\u{1d173}',
        ] {
            assert!(is_hidden(c), "U+{:04X}", u32::from(c));
        }
        for c in
            [' ', 'a', '~', '\u{a0}', '\u{e9}', '\u{2014}', '\u{2027}', '\u{202f}', '\u{3000}', '\u{fffd}', '\u{1f512}']
        {
            assert!(!is_hidden(c), "U+{:04X}", u32::from(c));
        }
        assert_eq!(first_hidden("ab\u{202e}c\u{200b}").as_deref(), Some("U+202E"));
        assert_eq!(first_hidden("a\u{e0041}").as_deref(), Some("U+E0041"));
        assert_eq!(first_hidden("Zoë — №42"), None);
    }
}

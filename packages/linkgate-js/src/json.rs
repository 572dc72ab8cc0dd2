//! Just enough JSON writing for the package's answers. serde_json's `Value`
//! and serializer were a quarter of the package's wasm (~15 KB of code); the
//! answers are small objects of texts, numbers and lists, written once.

/// A JSON text, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raw(String);

impl Raw {
    pub fn into_string(self) -> String {
        self.0
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub const NULL: &str = "null";

pub fn null() -> Raw {
    Raw(NULL.to_owned())
}

pub fn boolean(b: bool) -> Raw {
    Raw(if b { "true" } else { "false" }.to_owned())
}

pub fn num(n: u64) -> Raw {
    Raw(n.to_string())
}

pub fn string(s: &str) -> Raw {
    let mut out = String::with_capacity(s.len() + 2);
    push_string(&mut out, s);
    Raw(out)
}

pub fn opt_string(s: Option<&str>) -> Raw {
    s.map_or_else(null, string)
}

pub fn array(items: impl IntoIterator<Item = Raw>) -> Raw {
    let mut out = String::from("[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&item.0);
    }
    out.push(']');
    Raw(out)
}

pub fn object<'k>(members: impl IntoIterator<Item = (&'k str, Raw)>) -> Raw {
    let mut out = String::from("{");
    for (i, (k, v)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_string(&mut out, k);
        out.push(':');
        out.push_str(&v.0);
    }
    out.push('}');
    Raw(out)
}

/// `s` as a JSON string (RFC 8259 §7): quote, backslash and the control
/// characters escaped, as serde_json writes them; everything else as is.
fn push_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                let b = u8::try_from(u32::from(c)).unwrap_or(0);
                out.push_str("\\u00");
                for n in [b >> 4, b & 15] {
                    out.push(char::from(HEX.get(usize::from(n)).copied().unwrap_or(b'0')));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        let mut every: String = (0u32..0x250).filter_map(char::from_u32).collect();
        every.push_str("\u{2028}\u{fffd}😀\u{10ffff}");
        for s in [every.as_str(), "", "plain", "\"\\/", "a\u{0}b\u{1f}c\u{7f}"] {
            assert_eq!(string(s).0, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn documents_parse_back_to_what_was_written() {
        let doc = object([
            ("a", num(u64::MAX)),
            ("b", array([string("x"), null(), array([])])),
            ("c\"", object([])),
            ("d", opt_string(None)),
            ("e", opt_string(Some("é"))),
            ("f", boolean(true)),
            ("g", boolean(false)),
        ]);
        let v: Value = serde_json::from_str(doc.as_str()).unwrap();
        assert_eq!(
            v,
            json!({ "a": u64::MAX, "b": ["x", null, []], "c\"": {}, "d": null, "e": "é", "f": true, "g": false })
        );
    }
}

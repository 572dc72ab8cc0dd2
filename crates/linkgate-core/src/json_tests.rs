// Tests may unwrap and index: a failure there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use proptest::prelude::*;

/// serde_json's reading of `text`, written back in a normal form.
fn serde_form(text: &str) -> Option<serde_json::Value> {
    serde_json::from_str(text).ok()
}

#[test]
fn documents_read_as_serde_json_reads_them() {
    let docs = [
        r#"{"a":1,"b":[true,false,null],"c":{"d":"e\u00e9\ud83d\ude00\n\"\\\/"},"f":-0.5e+3,"g":[]}"#,
        " [ 1 , 2 ,3 ] ",
        "0",
        "-0",
        "18446744073709551615",
        r#""\b\f\n\r\t""#,
        "{}",
        r#"{"":""}"#,
        r#"{"k":{"k":{"k":[[[]]]}}}"#,
        "\"\u{2028}é😀\"",
        "1.5E-7",
    ];
    for d in docs {
        let ours = parse(d).unwrap_or_else(|e| panic!("{d}: {e}"));
        let back = serde_form(ours.to_raw().as_str()).expect("written back is JSON");
        assert_eq!(back, serde_form(d).unwrap(), "{d}");
    }
}

#[test]
fn malformed_documents_are_refused() {
    let bad = [
        "",
        " ",
        "{",
        "}",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "01",
        "-",
        "1.",
        ".5",
        "1e",
        "+1",
        "NaN",
        "Infinity",
        "tru",
        "nul",
        "\"abc",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\ud800\\u0041\"",
        "\"a\u{1}b\"",
        "\"tab\there\"",
        "1 2",
        "[1] x",
        "{\"a\":1}{",
        "/* c */ 1",
        "[1,,2]",
        "{,}",
    ];
    for d in bad {
        assert!(parse(d).is_err(), "{d:?} must be refused");
    }
}

#[test]
fn duplicate_keys_and_deep_nesting_are_refused() {
    assert_eq!(parse(r#"{"a":1,"a":2}"#).unwrap_err().what, "duplicate key");
    assert!(parse(r#"{"a":{"a":1},"b":{"a":2}}"#).is_ok(), "same key in different objects");
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert!(parse(&deep(MAX_DEPTH)).is_ok());
    assert_eq!(parse(&deep(MAX_DEPTH + 1)).unwrap_err().what, "nested too deeply");
    assert!(parse(&deep(100_000)).is_err(), "no stack overflow");
}

#[test]
fn numbers_read_as_u64_only_when_integral() {
    let n = |t: &str| parse(t).unwrap().as_u64();
    assert_eq!(n("0"), Some(0));
    assert_eq!(n("18446744073709551615"), Some(u64::MAX));
    assert_eq!(n("18446744073709551616"), None);
    assert_eq!(n("-1"), None);
    assert_eq!(n("1.0"), None);
    assert_eq!(n("1e3"), None);
    assert_eq!(parse("\"5\"").unwrap().as_u64(), None);
}

#[test]
fn accessors_and_unknown_keys() {
    let v = parse(r#"{"s":"x","b":true,"a":[1],"o":{},"z":null}"#).unwrap();
    assert_eq!(v.get("s").and_then(Value::as_str), Some("x"));
    assert_eq!(v.get("b").and_then(Value::as_bool), Some(true));
    assert_eq!(v.get("a").and_then(Value::as_arr).map(<[Value]>::len), Some(1));
    assert!(v.get("o").and_then(Value::as_obj).is_some_and(Obj::is_empty));
    assert!(v.get("z").is_some_and(Value::is_null));
    assert!(v.get("missing").is_none());
    let o = v.as_obj().unwrap();
    assert_eq!(o.unknown_key(&["s", "b", "a", "o", "z"]), None);
    assert_eq!(o.unknown_key(&["s", "b", "a", "o"]), Some("z"));
    assert_eq!(parse_bytes(b"\xff").unwrap_err().what, "not UTF-8");
}

#[test]
fn strings_are_written_as_serde_json_writes_them() {
    let mut every: String = (0u32..0x250).filter_map(char::from_u32).collect();
    every.push_str("\u{2028}\u{fffd}😀\u{10ffff}");
    for s in [every.as_str(), "", "plain", "\"\\/", "a\u{0}b\u{1f}c\u{7f}", "é\"é"] {
        assert_eq!(string(s).as_str(), serde_json::to_string(s).unwrap(), "{s:?}");
    }
}

#[test]
fn written_documents_parse_back() {
    let doc = Object::new()
        .num("a", u64::MAX)
        .raw("b", &array([string("x"), null(), array([])]))
        .raw("c\"", &object([]))
        .opt_str("d", None)
        .opt_str("e", Some("é"))
        .boolean("f", true)
        .opt_num("g", None)
        .opt_num("h", Some(7))
        .str("i", "\u{1}")
        .finish();
    assert_eq!(
        serde_form(doc.as_str()).unwrap(),
        serde_json::json!({ "a": u64::MAX, "b": ["x", null, []], "c\"": {}, "d": null, "e": "é", "f": true,
            "g": null, "h": 7, "i": "\u{1}" })
    );
    assert_eq!(parse(doc.as_str()).unwrap().to_raw(), doc);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// Whatever this reader accepts, serde_json reads the same way.
    #[test]
    fn accepted_means_serde_json_agrees(text in "[ \\[\\]{}\",:0-9.eE+\\-a-z\\\\u]{0,24}") {
        if let Ok(v) = parse(&text) {
            let theirs = serde_form(&text);
            // serde_json reads numbers as f64 and refuses out-of-range ones;
            // this reader keeps their text: compare where both read.
            if let Some(theirs) = theirs {
                prop_assert_eq!(serde_form(v.to_raw().as_str()).unwrap(), theirs);
            }
        }
    }

    /// And what serde_json reads, this reader reads too (nothing it has
    /// never seen: duplicate keys are serde_json's `Value` only leniency).
    #[test]
    fn serde_json_accepted_means_accepted(text in "[ \\[\\]{}\",:0-9.eE+\\-a-z\\\\u]{0,24}") {
        if serde_form(&text).is_some() {
            match parse(&text) {
                Ok(_) => {}
                Err(e) => prop_assert_eq!(e.what, "duplicate key", "{:?}", text),
            }
        }
    }

    /// Any string, escapes between multi-byte characters included, is
    /// written byte for byte as serde_json writes it.
    #[test]
    fn strings_written_as_serde_json(s in "(\\PC|[\\x00-\\x1f\"\\\\]){0,40}") {
        let written = string(&s);
        prop_assert_eq!(written.as_str(), serde_json::to_string(&s).unwrap());
    }

    /// Any string round-trips through the writer and the reader.
    #[test]
    fn strings_round_trip(s in "\\PC{0,40}|[\\x00-\\x20\"\\\\]{0,10}") {
        prop_assert_eq!(parse(string(&s).as_str()).unwrap(), Value::Str(s));
    }
}

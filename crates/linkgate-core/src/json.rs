//! JSON (RFC 8259) read and written by hand.
//!
//! serde_json with serde's derives was about a sixth of the worker's wasm
//! (its parser, its `Value`, and a deserializer per type); every byte is paid
//! at cold start. linkgate's JSON is small and flat (policy, admin bodies,
//! revocation entries, counter state, audit events), so one strict reader
//! into [`Value`] and one writer ([`Raw`], [`Object`]) serve every use, and
//! the types that travel as JSON convert themselves by hand.
//!
//! The reader is strict: no trailing commas, comments or leading zeros,
//! control characters in strings refused, lone surrogates refused, duplicate
//! keys refused (serde_json refused them for typed structs too), nesting at
//! most [`MAX_DEPTH`]. Numbers keep their text: linkgate only reads
//! integers, and reading them as text keeps float parsing out of the wasm.

use std::fmt;

/// Deepest nesting the reader accepts (linkgate's documents are 3 deep).
pub const MAX_DEPTH: usize = 32;

/// A parsed JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    /// A number, as written (its grammar checked).
    Num(Num),
    Str(String),
    Arr(Vec<Value>),
    Obj(Obj),
}

/// A JSON number's text, checked against RFC 8259's grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Num(String);

impl Num {
    /// The number if it is a non-negative integer written without fraction
    /// or exponent that fits in a `u64` (as serde_json reads a `u64`).
    pub fn as_u64(&self) -> Option<u64> {
        self.0.parse().ok()
    }

    /// The number as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An object's members in document order; keys are unique.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Obj(Vec<(String, Value)>);

impl Obj {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Take a member out.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(i).1)
    }

    /// The first key not in `known`, if any (for `deny_unknown_fields`).
    pub fn unknown_key(&self, known: &[&str]) -> Option<&str> {
        self.0.iter().map(|(k, _)| k.as_str()).find(|k| !known.contains(k))
    }
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Num(n) => n.as_u64(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_obj(&self) -> Option<&Obj> {
        match self {
            Value::Obj(o) => Some(o),
            _ => None,
        }
    }

    pub fn as_arr(&self) -> Option<&[Value]> {
        match self {
            Value::Arr(a) => Some(a),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A member of an object (`None` for other values).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_obj().and_then(|o| o.get(key))
    }

    /// What kind of value this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Num(_) => "a number",
            Value::Str(_) => "a string",
            Value::Arr(_) => "an array",
            Value::Obj(_) => "an object",
        }
    }

    /// The value written back as JSON.
    pub fn to_raw(&self) -> Raw {
        let mut out = String::new();
        self.write(&mut out);
        Raw(out)
    }

    fn write(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str(NULL),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Num(n) => out.push_str(&n.0),
            Value::Str(s) => push_string(out, s),
            Value::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Value::Obj(o) => {
                out.push('{');
                for (i, (k, v)) in o.0.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    push_string(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// Why a text is not (acceptable) JSON: what, and at which byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonError {
    pub what: &'static str,
    pub at: usize,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

impl std::error::Error for JsonError {}

/// Parse one JSON document (surrounding whitespace allowed, nothing else).
pub fn parse(text: &str) -> Result<Value, JsonError> {
    let mut r = Reader { b: text.as_bytes(), i: 0 };
    let v = r.value(0)?;
    r.ws();
    if r.i < r.b.len() {
        return Err(r.err("trailing characters"));
    }
    Ok(v)
}

/// Parse bytes that must be UTF-8 JSON.
pub fn parse_bytes(bytes: &[u8]) -> Result<Value, JsonError> {
    let text = std::str::from_utf8(bytes).map_err(|e| JsonError { what: "not UTF-8", at: e.valid_up_to() })?;
    parse(text)
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn err(&self, what: &'static str) -> JsonError {
        JsonError { what, at: self.i }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i = self.i.saturating_add(1);
        Some(c)
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i = self.i.saturating_add(1);
        }
    }

    fn word(&mut self, w: &[u8], v: Value) -> Result<Value, JsonError> {
        if self.b.get(self.i..).is_some_and(|rest| rest.starts_with(w)) {
            self.i = self.i.saturating_add(w.len());
            Ok(v)
        } else {
            Err(self.err("unexpected character"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.ws();
        match self.peek() {
            None => Err(self.err("unexpected end")),
            Some(b'n') => self.word(b"null", Value::Null),
            Some(b't') => self.word(b"true", Value::Bool(true)),
            Some(b'f') => self.word(b"false", Value::Bool(false)),
            Some(b'"') => Ok(Value::Str(self.string()?)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'[') => {
                let depth = self.deeper(depth)?;
                self.i = self.i.saturating_add(1);
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.i = self.i.saturating_add(1);
                    return Ok(Value::Arr(items));
                }
                loop {
                    items.push(self.value(depth)?);
                    self.ws();
                    match self.bump() {
                        Some(b',') => {}
                        Some(b']') => return Ok(Value::Arr(items)),
                        _ => return Err(self.err("expected , or ]")),
                    }
                }
            }
            Some(b'{') => {
                let depth = self.deeper(depth)?;
                self.i = self.i.saturating_add(1);
                let mut members: Vec<(String, Value)> = Vec::new();
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i = self.i.saturating_add(1);
                    return Ok(Value::Obj(Obj(members)));
                }
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.err("expected a key"));
                    }
                    let at = self.i;
                    let key = self.string()?;
                    if members.iter().any(|(k, _)| *k == key) {
                        return Err(JsonError { what: "duplicate key", at });
                    }
                    self.ws();
                    if self.bump() != Some(b':') {
                        return Err(self.err("expected :"));
                    }
                    let v = self.value(depth)?;
                    members.push((key, v));
                    self.ws();
                    match self.bump() {
                        Some(b',') => {}
                        Some(b'}') => return Ok(Value::Obj(Obj(members))),
                        _ => return Err(self.err("expected , or }")),
                    }
                }
            }
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    fn deeper(&self, depth: usize) -> Result<usize, JsonError> {
        if depth >= MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        Ok(depth.saturating_add(1))
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i = self.i.saturating_add(1);
        }
        self.i.saturating_sub(start)
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i = self.i.saturating_add(1);
        }
        match self.peek() {
            Some(b'0') => {
                self.i = self.i.saturating_add(1);
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return Err(self.err("leading zero"));
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.i = self.i.saturating_add(1);
            if self.digits() == 0 {
                return Err(self.err("invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i = self.i.saturating_add(1);
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i = self.i.saturating_add(1);
            }
            if self.digits() == 0 {
                return Err(self.err("invalid number"));
            }
        }
        let text = self.b.get(start..self.i).and_then(|t| std::str::from_utf8(t).ok()).unwrap_or("0");
        Ok(Value::Num(Num(text.to_owned())))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut n = 0u32;
        for _ in 0..4 {
            let d = match self.bump() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.err("invalid \\u escape")),
            };
            n = (n << 4) | u32::from(d);
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        // The caller saw the opening quote.
        self.i = self.i.saturating_add(1);
        let mut out = String::new();
        loop {
            // Copy the run of plain bytes at once (the input is UTF-8, and a
            // run ends only at ASCII, so it is whole characters).
            let start = self.i;
            while matches!(self.peek(), Some(c) if c != b'"' && c != b'\\' && c >= 0x20) {
                self.i = self.i.saturating_add(1);
            }
            if let Some(run) = self.b.get(start..self.i).and_then(|r| std::str::from_utf8(r).ok()) {
                out.push_str(run);
            }
            match self.bump() {
                Some(b'"') => return Ok(out),
                Some(b'\\') => {
                    let c = match self.bump() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.unicode_escape()?,
                        _ => return Err(self.err("invalid escape")),
                    };
                    out.push(c);
                }
                Some(_) => return Err(self.err("control character in string")),
                None => return Err(self.err("unterminated string")),
            }
        }
    }

    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let hi = self.hex4()?;
        let code = match hi {
            0xD800..=0xDBFF => {
                if self.bump() != Some(b'\\') || self.bump() != Some(b'u') {
                    return Err(self.err("lone surrogate"));
                }
                let lo = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&lo) {
                    return Err(self.err("lone surrogate"));
                }
                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.err("lone surrogate")),
            c => c,
        };
        char::from_u32(code).ok_or_else(|| self.err("invalid \\u escape"))
    }
}

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

impl fmt::Display for Raw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
    Raw(crate::decimal::string(n))
}

pub fn string(s: &str) -> Raw {
    let mut out = String::with_capacity(s.len().saturating_add(2));
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
    let mut o = Object::new();
    for (k, v) in members {
        o = o.raw(k, &v);
    }
    o.finish()
}

/// An object written member by member into one string.
#[derive(Debug)]
pub struct Object(String);

impl Default for Object {
    fn default() -> Self {
        Object::new()
    }
}

impl Object {
    pub fn new() -> Object {
        Object(String::from("{"))
    }

    /// An object whose text will take about `bytes` (one allocation).
    pub fn with_capacity(bytes: usize) -> Object {
        let mut s = String::with_capacity(bytes);
        s.push('{');
        Object(s)
    }

    fn key(&mut self, k: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        push_string(&mut self.0, k);
        self.0.push(':');
    }

    pub fn str(mut self, k: &str, v: &str) -> Object {
        self.key(k);
        push_string(&mut self.0, v);
        self
    }

    /// A text, or `null`.
    pub fn opt_str(mut self, k: &str, v: Option<&str>) -> Object {
        self.key(k);
        match v {
            Some(v) => push_string(&mut self.0, v),
            None => self.0.push_str(NULL),
        }
        self
    }

    pub fn num(mut self, k: &str, v: u64) -> Object {
        self.key(k);
        crate::decimal::push(&mut self.0, v, 0);
        self
    }

    /// A number, or `null`.
    pub fn opt_num(mut self, k: &str, v: Option<u64>) -> Object {
        self.key(k);
        match v {
            Some(v) => crate::decimal::push(&mut self.0, v, 0),
            None => self.0.push_str(NULL),
        }
        self
    }

    pub fn boolean(mut self, k: &str, v: bool) -> Object {
        self.key(k);
        self.0.push_str(if v { "true" } else { "false" });
        self
    }

    pub fn raw(mut self, k: &str, v: &Raw) -> Object {
        self.key(k);
        self.0.push_str(&v.0);
        self
    }

    pub fn finish(mut self) -> Raw {
        self.0.push('}');
        Raw(self.0)
    }
}

/// `s` as a JSON string (RFC 8259 §7): quote, backslash and the control
/// characters escaped, as serde_json writes them; everything else as is.
pub fn push_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len().saturating_add(2));
    out.push('"');
    // Every byte that needs escaping is ASCII, and no byte of a multi-byte
    // UTF-8 sequence is, so the text between two of them is copied whole
    // (an audit line is mostly such runs; char by char it was ~20 µs of a
    // download under the profiler).
    let mut from = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..0x20 => "",
            _ => continue,
        };
        out.push_str(s.get(from..i).unwrap_or_default());
        from = i.saturating_add(1);
        if escape.is_empty() {
            out.push_str("\\u00");
            for n in [b >> 4, b & 15] {
                out.push(char::from(HEX.get(usize::from(n)).copied().unwrap_or(b'0')));
            }
        } else {
            out.push_str(escape);
        }
    }
    out.push_str(s.get(from..).unwrap_or_default());
    out.push('"');
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;

//! Shared CLI helpers: failures with exit codes, key loading, time display,
//! and the escaping of untrusted text before it reaches a terminal.

use std::time::{SystemTime, UNIX_EPOCH};

use linkgate_core::ed25519::PublicKeyRing;
use linkgate_core::token::{ClaimError, Field};
use linkgate_core::verify::TimeRules;
use linkgate_core::KeyRing;

use crate::args::UsageError;
use crate::{EXIT_REFUSED, EXIT_USAGE};

/// A failed command: message for stderr and the exit status.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub exit: u8,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), exit: EXIT_USAGE }
    }

    pub fn refused(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), exit: EXIT_REFUSED }
    }
}

impl From<UsageError> for Failure {
    fn from(e: UsageError) -> Failure {
        Failure::usage(e.0)
    }
}

/// The option of `sign` and `mint` that sets a claim, for error messages.
pub fn claim_option(field: Field) -> &'static str {
    match field {
        Field::Kid => "--kid",
        Field::Jti => "the token id",
        Field::Iat => "--issued-at",
        Field::Exp => "--ttl/--expires-at",
        Field::Nbf => "--not-before",
        Field::Scope => "--path",
        Field::Host => "--host",
        Field::Sub => "--sub",
        Field::Tenant => "--tenant",
        Field::Ip => "--ip",
        Field::Uses => "--uses",
        Field::Mode => "--mode",
        Field::Filename => "--filename",
        Field::ContentType => "--content-type",
    }
}

/// A claim the signer refused, named by the option that set it; a lifetime
/// over the maximum says what the maximum is and where it came from.
pub fn claim_failure(e: ClaimError, max_ttl_secs: Option<u64>) -> Failure {
    match max_ttl_secs {
        Some(max) if e.field == Field::Exp && e.reason.contains("LINKGATE_MAX_TTL_SECS") => Failure::usage(format!(
            "{}: the lifetime exceeds the maximum of {max} s (LINKGATE_MAX_TTL_SECS, from the --keys file or the environment)",
            claim_option(e.field)
        )),
        _ => Failure::usage(format!("{}: {}", claim_option(e.field), e.reason)),
    }
}

/// Where `sign` and `inspect` read the worker's settings, like the worker:
/// the `--keys` file (a bare `LINKGATE_KEYS` value or a `.dev.vars` file)
/// when given, else the environment. A variable the file lacks is taken
/// from the environment.
pub struct Vars {
    /// The `--keys` file's path and text.
    file: Option<(String, String)>,
}

impl Vars {
    /// Read the `--keys` file, if one is given.
    pub fn load(file: Option<&str>) -> Result<Vars, Failure> {
        let file = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Failure::usage(format!("--keys: cannot read {path}: {e}")))?;
                Some((path.to_owned(), text))
            }
            None => None,
        };
        Ok(Vars { file })
    }

    /// A variable other than the key ring: the file's line, else the environment.
    pub fn get(&self, name: &str) -> Option<String> {
        self.file.as_ref().and_then(|(_, text)| dotenv_var(text, name)).or_else(|| std::env::var(name).ok())
    }

    /// The key ring, if a source is configured (inspect works without keys).
    pub fn maybe_keys(&self) -> Result<Option<KeyRing>, Failure> {
        let (text, source) = match &self.file {
            Some((path, text)) => (keys_from_file_text(text), format!("--keys {path}")),
            None => match std::env::var("LINKGATE_KEYS") {
                Ok(v) => (v, "LINKGATE_KEYS".to_owned()),
                Err(_) => return Ok(None),
            },
        };
        let ring = KeyRing::parse(&text).map_err(|e| Failure::usage(format!("{source}: {e}")))?;
        // Ed25519 public keys, as the worker reads them (optional).
        let public = PublicKeyRing::parse(&self.get("LINKGATE_PUBLIC_KEYS").unwrap_or_default())
            .and_then(|p| ring.with_public(p))
            .map_err(|e| Failure::usage(format!("LINKGATE_PUBLIC_KEYS: {e}")))?;
        Ok(Some(public))
    }

    /// The key ring, required.
    pub fn keys(&self) -> Result<KeyRing, Failure> {
        self.maybe_keys()?.ok_or_else(|| Failure::usage("no keys: pass --keys FILE or set LINKGATE_KEYS"))
    }

    /// `LINKGATE_MAX_TTL_SECS` and `LINKGATE_CLOCK_SKEW_SECS`, parsed as the worker parses them.
    pub fn time_rules(&self) -> Result<TimeRules, Failure> {
        linkgate_core::config::time_rules(&|name| self.get(name)).map_err(|e| Failure::usage(e.to_string()))
    }
}

/// Characters never written raw to a terminal: C0 controls (newline and tab
/// included), DEL and C1 controls (terminal escape sequences, line forging),
/// the Unicode bidi controls (U+061C, U+200E/U+200F, U+202A–U+202E,
/// U+2066–U+2069, which reorder what is shown), the line and paragraph
/// separators (U+2028/U+2029) and invisible format characters that hide or
/// disguise text (U+200B, U+2060–U+2064, U+206A–U+206F, U+FEFF,
/// U+FFF9–U+FFFB). Every one is in the Basic Multilingual Plane.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// Untrusted text (anything the server sent, or a claim decoded from a
/// token) as it may be shown on a terminal: each [`is_hidden`] character is
/// written as an escape (`\x1b`, `\x7f`, `\u{9b}`, `\u{202e}`); everything
/// else, non-ASCII letters included, is kept as is. Every human-readable
/// output of server text goes through here.
pub fn shown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !is_hidden(c) {
            out.push(c);
        } else if c.is_ascii() {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        }
    }
    out
}

/// A JSON value as one line for stdout. serde_json already escapes C0
/// controls inside strings; DEL, C1, bidi and the other [`is_hidden`]
/// characters are written raw, so they are escaped here as `\uXXXX`. Outside
/// strings serde_json writes only printable ASCII, and a `\uXXXX` escape
/// decodes to the same character, so the output is the same data.
pub fn json_line(v: &serde_json::Value) -> String {
    let raw = v.to_string();
    if !raw.contains(is_hidden) {
        return raw;
    }
    let mut out = String::with_capacity(raw.len() + 16);
    for c in raw.chars() {
        if is_hidden(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Current Unix time.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Extract `LINKGATE_KEYS` from a file: either the bare value, or a
/// `.dev.vars`/dotenv file with a `LINKGATE_KEYS=` line (quotes optional).
pub fn keys_from_file_text(text: &str) -> String {
    var_from_file_text(text, "LINKGATE_KEYS")
}

/// The value of `name=...` in a dotenv-style file (quotes optional), or the
/// whole trimmed text when no such line exists (a file holding just the value).
pub fn var_from_file_text(text: &str, name: &str) -> String {
    dotenv_var(text, name).unwrap_or_else(|| text.trim_ascii().to_owned())
}

/// The value of a `name=...` line (optionally `export name=...`, value
/// optionally in single or double quotes) in a dotenv / `.dev.vars` file.
pub fn dotenv_var(text: &str, name: &str) -> Option<String> {
    for line in text.lines() {
        // ASCII whitespace only, as LINKGATE_KEYS itself is trimmed (link
        // format §6): a no-break space or BOM must not vanish in a file.
        let line = line.trim_ascii();
        let line = line.strip_prefix("export ").map_or(line, str::trim_ascii_start);
        if let Some(v) = line.strip_prefix(name).and_then(|v| v.trim_ascii_start().strip_prefix('=')) {
            let v = v.trim_ascii();
            let v = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(v);
            let v = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')).unwrap_or(v);
            return Some(v.to_owned());
        }
    }
    None
}

/// Parse a Unix-seconds option.
pub fn parse_unix(name: &str, v: &str) -> Result<u64, Failure> {
    v.parse::<u64>().map_err(|_| Failure::usage(format!("--{name} must be Unix seconds, got {v:?}")))
}

/// RFC 3339 UTC rendering of Unix seconds.
pub fn rfc3339(secs: u64) -> String {
    linkgate_core::usage::rfc3339(secs)
}

/// "in 2h 5m" / "3m ago".
pub fn relative(target: u64, now: u64) -> String {
    let (d, future) = if target >= now { (target - now, true) } else { (now - target, false) };
    let text = if d >= 86_400 {
        format!("{}d {}h", d / 86_400, d % 86_400 / 3600)
    } else if d >= 3600 {
        format!("{}h {}m", d / 3600, d % 3600 / 60)
    } else if d >= 60 {
        format!("{}m {}s", d / 60, d % 60)
    } else {
        format!("{d}s")
    };
    if future {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_vars_and_bare_values() {
        assert_eq!(keys_from_file_text("k:abc\n"), "k:abc");
        assert_eq!(keys_from_file_text("X=1\nLINKGATE_KEYS=\"k:abc,j:def\"\n"), "k:abc,j:def");
        assert_eq!(keys_from_file_text("LINKGATE_KEYS = 'k:abc'"), "k:abc");
        assert_eq!(
            dotenv_var("# LINKGATE_ADMIN_TOKEN=old\nexport LINKGATE_ADMIN_TOKEN=\"t0k\"\n", "LINKGATE_ADMIN_TOKEN")
                .as_deref(),
            Some("t0k")
        );
        assert_eq!(dotenv_var("LINKGATE_ADMIN_TOKEN_OLD=x\n", "LINKGATE_ADMIN_TOKEN"), None);
        // Only ASCII whitespace is trimmed: a no-break space stays, and the key ring refuses it.
        assert_eq!(keys_from_file_text("\u{a0}k:abc\n"), "\u{a0}k:abc");
        assert_eq!(keys_from_file_text("LINKGATE_KEYS=\u{a0}k:abc"), "\u{a0}k:abc");
    }

    #[test]
    fn shown_escapes_controls_and_bidi_but_keeps_letters() {
        assert_eq!(shown("plain /path-1.pdf"), "plain /path-1.pdf");
        assert_eq!(shown("Zürich 東京 Ελλάδα ﷺ 👍"), "Zürich 東京 Ελλάδα ﷺ 👍");
        assert_eq!(shown("\u{1b}[31mred\u{1b}[0m"), "\\x1b[31mred\\x1b[0m");
        assert_eq!(shown("a\nb\rc\td\0e\u{7f}"), "a\\x0ab\\x0dc\\x09d\\x00e\\x7f");
        assert_eq!(shown("\u{9b}2J\u{85}"), "\\u{9b}2J\\u{85}");
        assert_eq!(shown("invoice\u{202e}fdp.exe"), "invoice\\u{202e}fdp.exe");
        for c in [
            '\u{061C}', '\u{200B}', '\u{200E}', '\u{200F}', '\u{2028}', '\u{2029}', '\u{202A}', '\u{202B}', '\u{202C}',
            '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{FEFF}',
        ] {
            assert_eq!(shown(&c.to_string()), format!("\\u{{{:x}}}", u32::from(c)));
        }
        // Joiners are part of ordinary text (emoji sequences, Persian, Indic).
        assert_eq!(shown("👩\u{200D}💻 می\u{200C}خواهم"), "👩\u{200D}💻 می\u{200C}خواهم");
    }

    #[test]
    fn json_lines_escape_hidden_characters_and_keep_the_data() {
        let v = serde_json::json!({
            "ua": "x\u{1b}[2J\u{7f}\u{9b}\u{202e}\u{2028}y", "city": "Zürich", "k\u{2066}": ["\\\u{202e}"]
        });
        let line = json_line(&v);
        assert!(!line.contains(is_hidden), "{line:?}");
        assert!(line.contains("Zürich"), "{line}");
        assert!(line.contains("\\u202e") && line.contains("\\u007f") && line.contains("\\u001b"), "{line}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&line).ok(), Some(v));
        let plain = serde_json::json!({ "a": "b" });
        assert_eq!(json_line(&plain), plain.to_string());
    }
}

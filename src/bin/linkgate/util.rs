//! Shared CLI helpers: failures with exit codes, key loading, time display.

use std::time::{SystemTime, UNIX_EPOCH};

use linkgate::core::KeyRing;

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
        Failure::usage(format!("{}; see `linkgate help`", e.0))
    }
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
    dotenv_var(text, name).unwrap_or_else(|| text.trim().to_owned())
}

/// The value of a `name=...` line (optionally `export name=...`, value
/// optionally in single or double quotes) in a dotenv / `.dev.vars` file.
pub fn dotenv_var(text: &str, name: &str) -> Option<String> {
    for line in text.lines() {
        let line = line.trim();
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        if let Some(v) = line.strip_prefix(name).and_then(|v| v.trim_start().strip_prefix('=')) {
            let v = v.trim();
            let v = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(v);
            let v = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')).unwrap_or(v);
            return Some(v.to_owned());
        }
    }
    None
}

/// Load the key ring from `--keys FILE` or `LINKGATE_KEYS`.
pub fn load_keys(file: Option<&str>) -> Result<KeyRing, Failure> {
    let text = match file {
        Some(path) => {
            let raw = std::fs::read_to_string(path)
                .map_err(|e| Failure::usage(format!("cannot read keys file {path}: {e}")))?;
            keys_from_file_text(&raw)
        }
        None => std::env::var("LINKGATE_KEYS")
            .map_err(|_| Failure::usage("no keys: pass --keys FILE or set LINKGATE_KEYS"))?,
    };
    KeyRing::parse(&text).map_err(|e| Failure::usage(e.to_string()))
}

/// Keys only if a source is configured (inspect works without keys).
pub fn maybe_keys(file: Option<&str>) -> Result<Option<KeyRing>, Failure> {
    if file.is_none() && std::env::var_os("LINKGATE_KEYS").is_none() {
        return Ok(None);
    }
    load_keys(file).map(Some)
}

/// Parse a Unix-seconds option.
pub fn parse_unix(name: &str, v: &str) -> Result<u64, Failure> {
    v.parse::<u64>().map_err(|_| Failure::usage(format!("--{name} must be Unix seconds, got {v:?}")))
}

/// RFC 3339 UTC rendering of Unix seconds.
pub fn rfc3339(secs: u64) -> String {
    linkgate::core::usage::rfc3339(secs)
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
    }
}

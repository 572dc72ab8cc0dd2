//! A small, strict argument parser: each command declares its options, and
//! anything undeclared, repeated (unless allowed) or missing a value is a
//! usage error (exit 2). Hand-rolled to keep the build light.

use std::collections::HashMap;

/// How an option is used.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--flag`
    Flag,
    /// `--name VALUE` or `--name=VALUE`, at most once.
    Value,
    /// `--name VALUE`, any number of times.
    Many,
}

/// Parsed arguments of one command.
#[derive(Debug, Default)]
pub struct Args {
    values: HashMap<&'static str, Vec<String>>,
    pub positional: Vec<String>,
}

/// A usage error's message.
#[derive(Debug)]
pub struct UsageError(pub String);

impl Args {
    /// Parse `argv` (without the command name) against `spec`.
    pub fn parse(argv: &[String], spec: &[(&'static str, Kind)]) -> Result<Args, UsageError> {
        let mut out = Args::default();
        let mut it = argv.iter();
        let mut only_positional = false;
        while let Some(arg) = it.next() {
            if only_positional || !arg.starts_with("--") || arg == "-" {
                out.positional.push(arg.clone());
                continue;
            }
            if arg == "--" {
                only_positional = true;
                continue;
            }
            let body = &arg[2..];
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (body, None),
            };
            let Some(&(key, kind)) = spec.iter().find(|(n, _)| *n == name) else {
                return Err(UsageError(format!("unknown option --{name}")));
            };
            let entry = out.values.entry(key).or_default();
            match kind {
                Kind::Flag => {
                    if inline.is_some() {
                        return Err(UsageError(format!("--{name} takes no value")));
                    }
                    entry.push(String::new());
                }
                Kind::Value | Kind::Many => {
                    let v = match inline {
                        Some(v) => v,
                        None => it.next().cloned().ok_or_else(|| UsageError(format!("--{name} needs a value")))?,
                    };
                    entry.push(v);
                }
            }
            if kind != Kind::Many && entry.len() > 1 {
                return Err(UsageError(format!("--{name} given more than once")));
            }
        }
        Ok(out)
    }

    /// Was the flag given?
    pub fn flag(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// The value of a single-valued option.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(|v| v.first()).map(String::as_str)
    }

    /// Every value of a repeatable option.
    pub fn values(&self, name: &str) -> &[String] {
        self.values.get(name).map(Vec::as_slice).unwrap_or(&[])
    }
}

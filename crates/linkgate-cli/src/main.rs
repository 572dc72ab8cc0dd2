//! `linkgate`: mint, inspect and manage linkgate download links.
//!
//! Exit status: 0 success (or "valid"), 1 refused / remote error,
//! 2 usage or configuration error. Run `linkgate help` for the commands.
//!
//! Host-only: its dependencies (OS randomness, ureq) are not built for wasm32.
//! Cargo still builds every bin with a target's integration tests, and the
//! core's tests run on wasm32-wasip1 (scripts/test.sh), so on wasm32 this is
//! a stub that says so.

// On wasm32 the stub leaves the help text and exit codes unused.
#![cfg_attr(target_arch = "wasm32", allow(dead_code))]

#[cfg(target_arch = "wasm32")]
fn main() -> std::process::ExitCode {
    eprintln!("linkgate: the CLI is host-only (not built for wasm32)");
    std::process::ExitCode::from(EXIT_USAGE)
}

#[cfg(not(target_arch = "wasm32"))]
mod args;
#[cfg(not(target_arch = "wasm32"))]
mod offline;
#[cfg(not(target_arch = "wasm32"))]
mod online;
#[cfg(not(target_arch = "wasm32"))]
mod util;

#[cfg(not(target_arch = "wasm32"))]
use std::process::ExitCode;

/// Exit statuses scripts can branch on.
pub const EXIT_OK: u8 = 0;
pub const EXIT_REFUSED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

const HELP: &str = "\
linkgate — expiring, revocable download links

USAGE:
    linkgate <command> [options]

OFFLINE COMMANDS:
    keygen   [--kid ID] [--json]
             Print a new LINKGATE_KEYS entry (kid:key, 32 random bytes).
    sign     --path P [--prefix] (--ttl DURATION | --expires-at UNIX)
             [--not-before UNIX] [--issued-at UNIX] [--kid ID] [--sub S]
             [--tenant T] [--ip CIDR]... [--host H] [--uses N]
             [--mode stream|redirect] [--filename F] [--content-type CT]
             [--base URL] [--keys FILE] [--whole-bucket] [--json]
             Sign a link offline. DURATION: 90s, 15m, 24h, 7d.
             --prefix --path / (the whole bucket) needs --whole-bucket.
    inspect  (LINK_OR_TOKEN | -) [--keys FILE] [--path P] [--client-ip IP]
             [--now UNIX] [--json]
             Decode a link; with keys, verify it and print the verdict.
             `-` reads one link or token per line from stdin and prints
             one JSON line each (exit 0 only if all are valid).

ONLINE COMMANDS (admin API; --admin URL or LINKGATE_ADMIN_URL, default
http://127.0.0.1:8787; token from --admin-token-file FILE, which may be a
.dev.vars file, or LINKGATE_ADMIN_TOKEN; every one takes --json):
    mint        --path P [--prefix] (--ttl DURATION | --expires-at UNIX)
                [--not-before UNIX] [--sub S] [--tenant T] [--ip CIDR]...
                [--host H] [--uses N] [--mode stream|redirect] [--filename F]
                [--content-type CT] [--whole-bucket]
                Mint a link at the edge (checked against the object's policy);
                prints the URL. The whole bucket (--prefix --path /) needs
                --whole-bucket and LINKGATE_ALLOW_WHOLE_BUCKET=on at the worker.
    revoke      (--jti J | --sub S | --tenant T | --path P | --kid K | --all)
                --reason R [--actor A]
                Add a denylist entry (about 90 s to reach every location).
    revocations [--scope S] [--limit N] [--cursor C] [--all-pages]
                List denylist entries.
    lift        --scope S --value V   (no --value for scope all)
                Remove a denylist entry.
    events      [--jti J] [--sub S] [--tenant T] [--path P]
                [--outcome allowed|not_modified|refused|admin]
                [--since UNIX|DURATION] [--until UNIX|DURATION] [--limit N]
                [--cursor C] [--all-pages]
                Audit events, newest first; DURATION means that long ago
                (--since 1h). --json prints one event per line.
    upload      FILE --path P [--classification public|internal|confidential|
                restricted] [--content-type CT]
                Stream a regular file (not a pipe, device or /proc file) into
                the bucket; progress on a terminal.

KEYS:
    --keys FILE reads a LINKGATE_KEYS value, or a .dev.vars file holding
    LINKGATE_KEYS=...; without it the LINKGATE_KEYS variable is used.

EXIT STATUS:
    0 success / valid, 1 refused (a problem from the server, printed as
    `code (status): detail`; with --json also on stdout) or the server or
    network failed, 2 usage or configuration error (nothing was sent).
";

#[cfg(not(target_arch = "wasm32"))]
fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = argv.split_first() else {
        eprint!("{HELP}");
        return ExitCode::from(EXIT_USAGE);
    };
    let result = match cmd.as_str() {
        "keygen" => offline::keygen(rest),
        "sign" => offline::sign(rest),
        "inspect" => offline::inspect(rest),
        "mint" => online::mint(rest),
        "revoke" => online::revoke(rest),
        "revocations" => online::revocations(rest),
        "lift" => online::lift(rest),
        "events" => online::events(rest),
        "upload" => online::upload(rest),
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(EXIT_OK)
        }
        "--version" | "version" => {
            println!("linkgate {}", env!("CARGO_PKG_VERSION"));
            Ok(EXIT_OK)
        }
        other => Err(util::Failure::usage(format!("unknown command {other:?}; see `linkgate help`"))),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("linkgate: {}", f.message);
            ExitCode::from(f.exit)
        }
    }
}

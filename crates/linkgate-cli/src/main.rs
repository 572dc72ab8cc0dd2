//! `linkgate`: mint, inspect and manage linkgate download links.
//!
//! Exit status: 0 success (or "valid"), 1 refused / remote error,
//! 2 usage or configuration error. Run `linkgate help` for the commands and
//! `linkgate <command> --help` for a command's flags (both generated from
//! the tables in `args.rs`).
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

// std's `print!`/`println!` panic when stdout is a closed pipe
// (`linkgate inspect - < links | head -1`). These shadow them for every
// module below: a reader that has gone ends the process quietly, with the
// status a shell gives a process killed by SIGPIPE (128 + 13).
#[cfg(not(target_arch = "wasm32"))]
macro_rules! print {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if write!(std::io::stdout().lock(), $($t)*).is_err() {
            std::process::exit(141)
        }
    }};
}
#[cfg(not(target_arch = "wasm32"))]
macro_rules! println {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout().lock(), $($t)*).is_err() {
            std::process::exit(141)
        }
    }};
}

#[cfg(not(target_arch = "wasm32"))]
mod args;
#[cfg(not(target_arch = "wasm32"))]
mod cat;
#[cfg(not(target_arch = "wasm32"))]
mod credential;
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

#[cfg(not(target_arch = "wasm32"))]
fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = argv.split_first() else {
        eprint!("{}", args::overview());
        return ExitCode::from(EXIT_USAGE);
    };
    let result = match (cmd.as_str(), args::command(cmd)) {
        (_, Some(c)) if args::wants_help(rest) => {
            print!("{}", c.help());
            Ok(EXIT_OK)
        }
        ("keygen", _) => offline::keygen(rest),
        ("sign", _) => offline::sign(rest),
        ("inspect", _) => offline::inspect(rest),
        ("mint", _) => online::mint(rest),
        ("revoke", _) => online::revoke(rest),
        ("revocations", _) => online::revocations(rest),
        ("lift", _) => online::lift(rest),
        ("events", _) => online::events(rest),
        ("upload", _) => online::upload(rest),
        ("cat", _) => cat::run(rest),
        ("admin-token", _) => credential::run(rest),
        ("help" | "--help" | "-h", _) => match rest.first() {
            None => {
                print!("{}", args::overview());
                Ok(EXIT_OK)
            }
            // Two-word commands (`help cat sign`) first.
            Some(name) => match args::command(&rest.join(" ")).or_else(|| args::command(name)) {
                Some(c) => {
                    print!("{}", c.help());
                    Ok(EXIT_OK)
                }
                None => Err(util::Failure::usage(format!("unknown command {name:?}; see `linkgate help`"))),
            },
        },
        ("--version" | "version", _) => {
            println!("linkgate {}", env!("CARGO_PKG_VERSION"));
            Ok(EXIT_OK)
        }
        (other, _) => Err(util::Failure::usage(format!("unknown command {other:?}; see `linkgate help`"))),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("linkgate: {}", f.message);
            ExitCode::from(f.exit)
        }
    }
}

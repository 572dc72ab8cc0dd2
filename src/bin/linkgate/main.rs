//! `linkgate`: mint, inspect and manage linkgate download links.
//!
//! Exit status: 0 success (or "valid"), 1 refused / remote error,
//! 2 usage or configuration error. Run `linkgate help` for the commands.

mod args;
mod offline;
mod online;
mod util;

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
             [--base URL] [--keys FILE] [--json]
             Sign a link offline. DURATION: 90s, 15m, 24h, 7d.
    inspect  LINK_OR_TOKEN [--keys FILE] [--path P] [--client-ip IP]
             [--now UNIX] [--json]
             Decode a link; with keys, verify it and print the verdict.

ONLINE COMMANDS (admin API; --admin URL or LINKGATE_ADMIN_URL, default
http://127.0.0.1:8787; token from LINKGATE_ADMIN_TOKEN or
--admin-token-file FILE, which may be a .dev.vars file):
    mint        --path P [--prefix] (--ttl DURATION | --expires-at UNIX)
                [--sub S] [--tenant T] [--ip CIDR]... [--host H] [--uses N]
                [--mode M] [--filename F] [--content-type CT] [--json]
                Mint a link at the edge (checked against the object's policy).
    revoke      (--jti J | --sub S | --tenant T | --path P | --kid K | --all)
                --reason R [--actor A] [--json]
    revocations [--scope S] [--limit N] [--all-pages] [--json]
    lift        --scope S --value V [--json]
    events      [--jti J] [--sub S] [--tenant T] [--path P] [--outcome O]
                [--since UNIX|1h] [--until UNIX] [--limit N] [--json]
    upload      FILE --path P [--classification C] [--content-type CT] [--json]

KEYS:
    --keys FILE reads a LINKGATE_KEYS value, or a .dev.vars file holding
    LINKGATE_KEYS=...; without it the LINKGATE_KEYS variable is used.

EXIT STATUS:
    0 success / valid, 1 refused (or the server could not be reached),
    2 usage or configuration error (nothing was sent).
";

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

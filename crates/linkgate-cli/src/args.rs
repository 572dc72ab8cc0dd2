//! The commands and their flags, each defined once in a table, and the
//! strict parser and the help text generated from it: anything undeclared,
//! repeated (unless allowed) or missing a value is a usage error (exit 2),
//! and `linkgate <command> --help` prints exactly what the parser accepts.
//! Hand-rolled to keep the build light.

use std::collections::HashMap;

/// How an option is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--flag`
    Flag,
    /// `--name VALUE` or `--name=VALUE`, at most once.
    Value,
    /// `--name VALUE`, any number of times.
    Many,
}

/// One option of a command: its name, use and help line.
#[derive(Debug)]
pub struct Opt {
    pub name: &'static str,
    pub kind: Kind,
    /// The value's placeholder in help (`DURATION`); empty for flags.
    pub value: &'static str,
    pub help: &'static str,
}

/// A command: what `linkgate help` lists and `linkgate <name> --help` prints.
#[derive(Debug)]
pub struct Command {
    pub name: &'static str,
    /// One line for `linkgate help`.
    pub summary: &'static str,
    /// The synopsis after `linkgate <name>`.
    pub usage: &'static str,
    /// Talks to the admin API.
    pub online: bool,
    pub opts: &'static [&'static Opt],
    /// Printed after the options.
    pub notes: &'static str,
}

const fn flag(name: &'static str, help: &'static str) -> Opt {
    Opt { name, kind: Kind::Flag, value: "", help }
}

const fn value(name: &'static str, value: &'static str, help: &'static str) -> Opt {
    Opt { name, kind: Kind::Value, value, help }
}

const fn many(name: &'static str, value: &'static str, help: &'static str) -> Opt {
    Opt { name, kind: Kind::Many, value, help }
}

// ------------------------------------------------------------ shared options

const JSON: Opt = flag("json", "Print JSON (one object per line) instead of text.");
const KEYS: Opt = value(
    "keys",
    "FILE",
    "Read LINKGATE_KEYS (and LINKGATE_MAX_TTL_SECS, LINKGATE_CLOCK_SKEW_SECS) from FILE: the bare value or a .dev.vars file. Default: the environment.",
);
const ADMIN: Opt =
    value("admin", "URL", "The worker's base URL. Default: LINKGATE_ADMIN_URL, else http://127.0.0.1:8787.");
const ADMIN_TOKEN_FILE: Opt = value(
    "admin-token-file",
    "FILE",
    "Read the admin token from FILE (the token, or a .dev.vars file). Default: LINKGATE_ADMIN_TOKEN.",
);

// Claims of a new link: the same for `sign` and `mint`.
const LINK_PATH: Opt =
    value("path", "P", "The object path, decoded (/board/q3 pack.pdf); with --prefix, the folder (/exports/2026/).");
const PREFIX: Opt = flag("prefix", "A folder link: every object below --path.");
const WHOLE_BUCKET: Opt = flag("whole-bucket", "Required for --prefix --path / (a link to every object).");
const TTL: Opt = value("ttl", "DURATION", "Lifetime: 90s, 15m, 24h, 7d.");
const EXPIRES_AT: Opt = value("expires-at", "UNIX", "Expiry time, Unix seconds (instead of --ttl).");
const NOT_BEFORE: Opt = value("not-before", "UNIX", "Not valid before this time (nbf), Unix seconds.");
const ISSUED_AT: Opt =
    value("issued-at", "UNIX", "Issue time (iat), Unix seconds; --ttl counts from it. Default: now.");
const SUB: Opt = value("sub", "ID", "Recipient id (opaque; an email address is refused).");
const TENANT: Opt = value("tenant", "ID", "Tenant id.");
const IP: Opt =
    many("ip", "CIDR", "Allow only clients in this range (10.0.0.0/8, 2001:db8::/32, 192.0.2.7); repeatable.");
const HOST: Opt = value(
    "host",
    "H",
    "Bind the link to this host: a DNS name, IPv4 address or [IPv6], optionally :port (lowercased).",
);
const USES: Opt = value("uses", "N", "At most N downloads (1 = one-time).");
const MODE: Opt = value("mode", "stream|redirect", "Delivery mode.");
const FILENAME: Opt = value("filename", "F", "The download's file name.");
const CONTENT_TYPE: Opt = value("content-type", "CT", "Content-Type of the download.");
const SEALED: Opt = flag(
    "sealed",
    "Seal the link: its claims are encrypted and the URL shows only the key id (required for restricted objects).",
);

// ------------------------------------------------------------------ commands

pub static KEYGEN: Command = Command {
    name: "keygen",
    summary: "Print a new LINKGATE_KEYS entry (kid:key, 32 random bytes), or with --ed25519 an Ed25519 key pair.",
    usage: "[--kid ID] [--ed25519 [--tenant ID] [--prefix /folder/]] [--json]",
    online: false,
    opts: &[
        &value("kid", "ID", "The key id: 1-32 of A-Z a-z 0-9 _ -. Default: k<unix time>."),
        &flag(
            "ed25519",
            "An Ed25519 key pair: the private key for the signer (LINKGATE_SIGNING_KEY=kid:seed) and the public entry for the edge (LINKGATE_PUBLIC_KEYS=kid:public-key[@constraints]).",
        ),
        &value("tenant", "ID", "With --ed25519: the key may sign only links with this tenant claim."),
        &value("prefix", "/F/", "With --ed25519: the key may sign only links inside this folder (ends in /)."),
        &JSON,
    ],
    notes: "The Ed25519 private key goes to the signing application only: never into wrangler.toml,\n\
            .dev.vars or the worker. The public entry is not secret.",
};

pub static SIGN: Command = Command {
    name: "sign",
    summary: "Sign a link offline and print its URL.",
    usage: "--path P [--prefix] (--ttl DURATION | --expires-at UNIX) [options]",
    online: false,
    opts: &[
        &LINK_PATH,
        &PREFIX,
        &WHOLE_BUCKET,
        &TTL,
        &EXPIRES_AT,
        &NOT_BEFORE,
        &ISSUED_AT,
        &value("kid", "ID", "Sign with this key of the ring. Default: the first."),
        &SUB,
        &TENANT,
        &IP,
        &HOST,
        &USES,
        &MODE,
        &FILENAME,
        &CONTENT_TYPE,
        &SEALED,
        &value(
            "ed25519-key",
            "FILE",
            "Sign with this Ed25519 private key (kid:seed, or a file with a LINKGATE_SIGNING_KEY= line) instead of LINKGATE_KEYS.",
        ),
        &value(
            "base",
            "URL",
            "scheme://host[:port] of the URL, no path (it must name --host if given). Default: https://<--host>, else http://127.0.0.1:8787.",
        ),
        &KEYS,
        &JSON,
    ],
    notes: "The lifetime may not exceed LINKGATE_MAX_TTL_SECS (default 7 days), read like the worker\n\
            reads it: from the --keys file, else the environment.",
};

pub static INSPECT: Command = Command {
    name: "inspect",
    summary: "Decode a link; with keys, verify it and print the verdict.",
    usage: "(LINK_OR_TOKEN | -) [options]",
    online: false,
    opts: &[
        &KEYS,
        &value("path", "P", "Check the scope against this decoded object path (a link's own path is used otherwise)."),
        &value("host", "H", "The request's Host (a link's own host is used otherwise)."),
        &value("client-ip", "IP", "The client address, to check an ip binding."),
        &value("method", "M", "The request method (GET, HEAD, POST, ...), to check it."),
        &value("now", "UNIX", "Verify at this time. Default: now."),
        &value(
            "object-size",
            "SIZE",
            "Show the delivery mode (stream or redirect) the link gets for an object of this size (bytes, or 64MiB, 500MB), by LINKGATE_POLICY.",
        ),
        &value(
            "classification",
            "C",
            "With --object-size: the object's classification. Default: the policy's default_classification.",
        ),
        &JSON,
    ],
    notes: "`-` reads one link or token per stdin line and prints one JSON line each (exit 0 only\n\
            if every one is valid). Every step of the edge's verification runs when its fact is known; the checks that\n\
            were skipped for want of a fact are listed. Time rules come from LINKGATE_MAX_TTL_SECS\n\
            and LINKGATE_CLOCK_SKEW_SECS (the --keys file, else the environment); --object-size reads\n\
            LINKGATE_POLICY and whether presigning is configured (LINKGATE_S3_*) from there too.",
};

pub static MINT: Command = Command {
    name: "mint",
    summary: "Mint a link at the edge (checked against the object's policy); print its URL.",
    usage: "--path P [--prefix] (--ttl DURATION | --expires-at UNIX) [options]",
    online: true,
    opts: &[
        &LINK_PATH,
        &PREFIX,
        &WHOLE_BUCKET,
        &TTL,
        &EXPIRES_AT,
        &NOT_BEFORE,
        &SUB,
        &TENANT,
        &IP,
        &HOST,
        &USES,
        &MODE,
        &FILENAME,
        &CONTENT_TYPE,
        &SEALED,
        &ADMIN,
        &ADMIN_TOKEN_FILE,
        &JSON,
    ],
    notes: "The whole bucket (--prefix --path /) also needs LINKGATE_ALLOW_WHOLE_BUCKET=on at the worker.",
};

pub static REVOKE: Command = Command {
    name: "revoke",
    summary: "Add a denylist entry (about 90 s to reach every location).",
    usage: "(--jti J | --link URL | --sub S | --tenant T | --path P | --kid K | --all | --credential ID) --reason R [options]",
    online: true,
    opts: &[
        &value("jti", "J", "Revoke one link (32 hex digits)."),
        &value(
            "link",
            "URL",
            "Revoke one link by its URL or token: the worker verifies it and records its tenant (how a tenant's credential revokes a link).",
        ),
        &value("sub", "S", "Revoke every link of this recipient issued so far."),
        &value("tenant", "T", "Revoke every link of this tenant issued so far."),
        &value("path", "P", "Revoke links to this object, or to every object of a folder (ending in /)."),
        &value("kid", "K", "Revoke every link signed with this key, whenever issued."),
        &flag("all", "Revoke every link issued so far."),
        &value("credential", "ID", "Kill a scoped admin credential by its id (32 hex digits; docs/admin.md)."),
        &value("reason", "R", "Why (recorded with the entry; required)."),
        &value("actor", "A", "Who (recorded with the entry)."),
        &ADMIN,
        &ADMIN_TOKEN_FILE,
        &JSON,
    ],
    notes: "",
};

pub static REVOCATIONS: Command = Command {
    name: "revocations",
    summary: "List denylist entries.",
    usage: "[--scope S] [--limit N] [--cursor C] [--all-pages] [options]",
    online: true,
    opts: &[
        &value("scope", "S", "Only entries of this scope: jti, sub, tenant, path, kid, all."),
        &value("limit", "N", "At most N entries per page (1-1000)."),
        &value("cursor", "C", "Continue after a previous page."),
        &flag("all-pages", "Fetch every page."),
        &ADMIN,
        &ADMIN_TOKEN_FILE,
        &JSON,
    ],
    notes: "",
};

pub static LIFT: Command = Command {
    name: "lift",
    summary: "Remove a denylist entry.",
    usage: "--scope S [--value V] [options]",
    online: true,
    opts: &[
        &value("scope", "S", "The entry's scope: jti, sub, tenant, path, kid, all, credential."),
        &value("value", "V", "The entry's value (none for scope all)."),
        &ADMIN,
        &ADMIN_TOKEN_FILE,
        &JSON,
    ],
    notes: "",
};

pub static EVENTS: Command = Command {
    name: "events",
    summary: "Audit events, newest first.",
    usage: "[filters] [options]",
    online: true,
    opts: &[
        &value("jti", "J", "Only events of this link."),
        &value("sub", "S", "Only events of this recipient."),
        &value("tenant", "T", "Only events of this tenant."),
        &value("path", "P", "Only events of this object path."),
        &value("outcome", "O", "Only this outcome: allowed, not_modified, refused, admin."),
        &value("identity", "ID", "Only events of this verified identity (links for one person)."),
        &value("since", "UNIX|DURATION", "Not before this time; a DURATION means that long ago (1h)."),
        &value("until", "UNIX|DURATION", "Not after this time."),
        &value("limit", "N", "At most N events per page (1-1000)."),
        &value("cursor", "C", "Continue after a previous page."),
        &flag("all-pages", "Fetch every page."),
        &ADMIN,
        &ADMIN_TOKEN_FILE,
        &JSON,
    ],
    notes: "With --json, one event per line.",
};

pub static UPLOAD: Command = Command {
    name: "upload",
    summary: "Stream a regular file into the bucket.",
    usage: "FILE --path P [options]",
    online: true,
    opts: &[
        &value("path", "P", "The object path to store it at (/reports/q1.pdf)."),
        &value("classification", "C", "public, internal, confidential or restricted."),
        &value("content-type", "CT", "Its Content-Type. Default: guessed from the file name."),
        &ADMIN,
        &ADMIN_TOKEN_FILE,
        &JSON,
    ],
    notes: "Named pipes, devices, directories and /proc-style files are refused; progress is shown on a terminal.",
};

/// Every command, in the order `linkgate help` lists them.
const CAT_KEYS: Opt = value(
    "keys",
    "FILE",
    "Read LINKGATE_CAT_KEYS (kid:base64url,...) from FILE: a .dev.vars file or the bare value. Default: the environment.",
);

pub static CAT_SIGN: Command = Command {
    name: "cat sign",
    summary: "Mint a Common Access Token (CTA-5007, HS256) for testing a deployment.",
    usage: "(--ttl DURATION | --expires-at UNIX) [options]",
    online: false,
    opts: &[
        &TTL,
        &EXPIRES_AT,
        &NOT_BEFORE,
        &ISSUED_AT,
        &value("kid", "ID", "Sign with this key of LINKGATE_CAT_KEYS. Default: the first."),
        &value("iss", "TEXT", "Issuer (iss)."),
        &value("aud", "TEXT", "Audience (aud)."),
        &value("sub", "TEXT", "Subject (sub)."),
        &value("cti", "HEX", "Token id (cti) in hex. Default: 16 random bytes."),
        &value("replay", "0|1|2", "catreplay: 0 permitted, 1 prohibited (one use), 2 reuse detection."),
        &many("ip", "CIDR", "catnip: allow only clients in this range; repeatable."),
        &many(
            "uri",
            "C:M:V",
            "catu matcher: component (scheme host port path parent filename stem ext) : match (exact prefix suffix contains sha256) : value, e.g. path:prefix:/vod/; repeatable.",
        ),
        &many("method", "M", "catm: allowed method; repeatable."),
        &many("crit", "N", "List claim key N as critical (protected crit); repeatable."),
        &flag("no-cwt-tag", "Leave out the CWT tag 61 (a bare COSE_Mac0, tag 17)."),
        &CAT_KEYS,
        &JSON,
    ],
    notes: "Send the token as the CTA-Common-Access-Token header (or as configured by LINKGATE_CAT_SOURCES).",
};

pub static CAT_INSPECT: Command = Command {
    name: "cat inspect",
    summary: "Decode a Common Access Token; with keys, verify it (and with --url, check it as the edge would).",
    usage: "TOKEN [options]",
    online: false,
    opts: &[
        &CAT_KEYS,
        &value("url", "URL", "Check the token for a request to this URL (scheme, host, path: catu)."),
        &value("method", "M", "The request method. Default: GET."),
        &value("client-ip", "IP", "The client address (catnip)."),
        &value("now", "UNIX", "Verify at this time. Default: now."),
        &JSON,
    ],
    notes: "Issuer and audience rules are read from LINKGATE_CAT_ISSUERS and LINKGATE_CAT_AUDIENCES\n\
            (the --keys file, else the environment). Exit 0: valid (or decoded, without keys); 1: refused.",
};

// Scoped admin credentials (docs/admin.md): minted offline with the root
// token (--admin-token-file or LINKGATE_ADMIN_TOKEN, as for the online commands).

pub static ADMIN_TOKEN_CREATE: Command = Command {
    name: "admin-token create",
    summary: "Mint a scoped admin credential (offline, with the root LINKGATE_ADMIN_TOKEN) and print it.",
    usage: "--name NAME (--tenant ID... | --all-tenants) --can CAPS --ttl DURATION [--prefix /F/] [--json]",
    online: false,
    opts: &[
        &value("name", "NAME", "Who or what holds it (1-64 of A-Z a-z 0-9 . _ -): shown in every audit event."),
        &many("tenant", "ID", "A tenant it may act for; repeatable (at most 16)."),
        &flag("all-tenants", "It may act for every tenant (instead of --tenant)."),
        &value(
            "can",
            "CAPS",
            "Comma-separated capabilities: mint, inspect, revoke, events, files (or links:mint, links:inspect, revoke, events:read, files:write).",
        ),
        &value("prefix", "/F/", "Limit it to this folder (ends in /): links, uploads and path revocations inside it."),
        &value("ttl", "DURATION", "Lifetime: 1h, 30d, 90d (at most 400d)."),
        &ADMIN_TOKEN_FILE,
        &JSON,
    ],
    notes: "The credential is a bearer secret: give it to its holder only (it goes in LINKGATE_ADMIN_TOKEN\n\
            for the online commands, or in the admin console). Its id kills it:\n\
            `linkgate revoke --credential ID --reason ...`. Rotating the root token kills them all.",
};

pub static ADMIN_TOKEN_INSPECT: Command = Command {
    name: "admin-token inspect",
    summary: "Decode a scoped admin credential; with the root token, verify it.",
    usage: "CREDENTIAL [options]",
    online: false,
    opts: &[&ADMIN_TOKEN_FILE, &value("now", "UNIX", "Verify at this time. Default: now."), &JSON],
    notes: "Verifies when the root token is available (--admin-token-file or LINKGATE_ADMIN_TOKEN); otherwise\n\
            prints the unverified claims. Exit 0: valid (or decoded); 1: refused. Revocation is checked by\n\
            the worker, not here.",
};

pub static COMMANDS: [&Command; 13] = [
    &KEYGEN,
    &SIGN,
    &INSPECT,
    &MINT,
    &REVOKE,
    &REVOCATIONS,
    &LIFT,
    &EVENTS,
    &UPLOAD,
    &CAT_SIGN,
    &CAT_INSPECT,
    &ADMIN_TOKEN_CREATE,
    &ADMIN_TOKEN_INSPECT,
];

/// The command named `name`.
pub fn command(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().copied().find(|c| c.name == name)
}

/// Does `argv` ask for help (`--help` or `-h` before any `--`)?
pub fn wants_help(argv: &[String]) -> bool {
    argv.iter().take_while(|a| *a != "--").any(|a| a == "--help" || a == "-h")
}

/// Lay `text` out after a `width`-column margin, wrapping at 100 columns.
fn wrapped(out: &mut String, text: &str, width: usize) {
    let mut col = width;
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 && col + 1 + word.chars().count() > 100 {
            out.push('\n');
            out.push_str(&" ".repeat(width));
            col = width;
        } else if i > 0 {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += word.chars().count();
    }
    out.push('\n');
}

impl Opt {
    /// `--name VALUE` as help shows it.
    fn synopsis(&self) -> String {
        match self.kind {
            Kind::Flag => format!("--{}", self.name),
            Kind::Value => format!("--{} {}", self.name, self.value),
            Kind::Many => format!("--{} {}...", self.name, self.value),
        }
    }
}

impl Command {
    /// `linkgate <name> --help`, generated from the table.
    pub fn help(&self) -> String {
        let mut out = format!(
            "linkgate {}: {}\n\nUSAGE:\n    linkgate {} {}\n\nOPTIONS:\n",
            self.name, self.summary, self.name, self.usage
        );
        let width = self.opts.iter().map(|o| o.synopsis().len()).max().unwrap_or(0).max("-h, --help".len()) + 6;
        for o in self.opts {
            let syn = o.synopsis();
            out.push_str(&format!("    {syn:<w$}", w = width - 4));
            wrapped(&mut out, o.help, width);
        }
        out.push_str(&format!("    {:<w$}", "-h, --help", w = width - 4));
        wrapped(&mut out, "Print this help.", width);
        if self.online {
            out.push_str("\nThe admin token comes from --admin-token-file or LINKGATE_ADMIN_TOKEN.\n");
        }
        if !self.notes.is_empty() {
            out.push('\n');
            out.push_str(self.notes);
            out.push('\n');
        }
        out.push_str(EXIT_STATUS);
        out
    }
}

const EXIT_STATUS: &str = "\nEXIT STATUS:\n    0 success / valid, 1 refused (the code is printed; with --json also on stdout) or the\n    server or network failed, 2 usage or configuration error (nothing was sent).\n";

/// `linkgate help`: every command, from the table.
pub fn overview() -> String {
    let mut out = String::from(
        "linkgate: expiring, revocable download links\n\nUSAGE:\n    linkgate <command> [options]\n    linkgate <command> --help      the command's options\n",
    );
    for (online, heading) in [(false, "OFFLINE COMMANDS"), (true, "ONLINE COMMANDS (the worker's admin API)")] {
        out.push_str(&format!("\n{heading}:\n"));
        // Names as wide as the longest (`admin-token inspect`), plus a space.
        let w = COMMANDS.iter().map(|c| c.name.len()).max().unwrap_or(0).max(12) + 1;
        for c in COMMANDS.iter().filter(|c| c.online == online) {
            out.push_str(&format!("    {:<w$}", c.name));
            wrapped(&mut out, c.summary, w + 4);
        }
    }
    out.push_str(
        "\nENVIRONMENT:\n    LINKGATE_KEYS             the key ring (sign, inspect), unless --keys FILE\n    \
         LINKGATE_PUBLIC_KEYS      Ed25519 public keys (inspect), from the --keys file or the environment\n    \
         LINKGATE_SIGNING_KEY      an Ed25519 private key (sign), unless --ed25519-key FILE\n    \
         LINKGATE_MAX_TTL_SECS     longest link lifetime (default 604800), as the worker reads it\n    \
         LINKGATE_CLOCK_SKEW_SECS  allowed clock skew for iat/nbf (default 30)\n    \
         LINKGATE_ADMIN_URL        the admin API (online commands), unless --admin URL\n    \
         LINKGATE_ADMIN_TOKEN      its bearer token, unless --admin-token-file FILE\n",
    );
    out.push_str(EXIT_STATUS);
    out
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
    /// Parse `argv` (without the command name) against `cmd`'s options.
    pub fn parse(argv: &[String], cmd: &Command) -> Result<Args, UsageError> {
        let mut out = Args::default();
        let mut it = argv.iter();
        let mut only_positional = false;
        let see = format!("see `linkgate {} --help`", cmd.name);
        while let Some(arg) = it.next() {
            if only_positional || arg == "-" {
                out.positional.push(arg.clone());
                continue;
            }
            if arg == "--" {
                only_positional = true;
                continue;
            }
            let Some(body) = arg.strip_prefix("--") else {
                out.positional.push(arg.clone());
                continue;
            };
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (body, None),
            };
            let Some(opt) = cmd.opts.iter().find(|o| o.name == name) else {
                return Err(UsageError(format!("unknown option --{name} for `linkgate {}`; {see}", cmd.name)));
            };
            let entry = out.values.entry(opt.name).or_default();
            match opt.kind {
                Kind::Flag => {
                    if inline.is_some() {
                        return Err(UsageError(format!("--{name} takes no value; {see}")));
                    }
                    entry.push(String::new());
                }
                Kind::Value | Kind::Many => {
                    let v = match inline {
                        Some(v) => v,
                        None => it
                            .next()
                            .cloned()
                            .ok_or_else(|| UsageError(format!("--{name} needs a value ({}); {see}", opt.value)))?,
                    };
                    entry.push(v);
                }
            }
            if opt.kind != Kind::Many && entry.len() > 1 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_consistent_and_help_lists_every_option() {
        let mut names = std::collections::HashSet::new();
        for c in COMMANDS {
            assert!(names.insert(c.name), "command {} listed twice", c.name);
            assert!(std::ptr::eq(command(c.name).unwrap(), c));
            let help = c.help();
            let mut opts = std::collections::HashSet::new();
            for o in c.opts {
                assert!(opts.insert(o.name), "{}: --{} defined twice", c.name, o.name);
                assert!(!o.help.is_empty(), "{}: --{} has no help", c.name, o.name);
                assert_eq!(o.kind == Kind::Flag, o.value.is_empty(), "{}: --{}", c.name, o.name);
                assert!(help.contains(&format!("--{} ", o.name)) || help.contains(&format!("--{}\n", o.name)));
            }
            assert!(overview().contains(c.name));
        }
    }

    #[test]
    fn parses_against_the_table() {
        let argv = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let a = Args::parse(&argv(&["--path=/a", "--ip", "1.2.3.4", "--ip", "::1", "--json", "x"]), &SIGN).unwrap();
        assert_eq!(a.value("path"), Some("/a"));
        assert_eq!(a.values("ip"), ["1.2.3.4", "::1"]);
        assert!(a.flag("json"));
        assert_eq!(a.positional, ["x"]);
        let e = Args::parse(&argv(&["--max-ttl", "1d"]), &SIGN).unwrap_err().0;
        assert!(e.contains("unknown option --max-ttl") && e.contains("linkgate sign --help"), "{e}");
        assert!(Args::parse(&argv(&["--json=1"]), &SIGN).is_err());
        assert!(Args::parse(&argv(&["--path", "/a", "--path", "/b"]), &SIGN).is_err());
        assert!(Args::parse(&argv(&["--path"]), &SIGN).unwrap_err().0.contains("needs a value"));
        assert!(wants_help(&argv(&["--path", "/a", "-h"])));
        assert!(!wants_help(&argv(&["--", "--help"])));
    }
}

//! The `linkgate` binary end to end: keygen → sign → inspect, exit statuses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // test code: a panic is a failed test

use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_linkgate"));
    for var in [
        "LINKGATE_KEYS",
        "LINKGATE_MAX_TTL_SECS",
        "LINKGATE_CLOCK_SKEW_SECS",
        "LINKGATE_ADMIN_URL",
        "LINKGATE_ADMIN_TOKEN",
        "LINKGATE_POLICY",
        "LINKGATE_S3_ACCESS_KEY_ID",
        "LINKGATE_S3_SECRET_ACCESS_KEY",
        "LINKGATE_S3_BUCKET",
        "LINKGATE_S3_ENDPOINT",
        "LINKGATE_S3_REGION",
        "LINKGATE_R2_ACCOUNT_ID",
        "LINKGATE_PUBLIC_KEYS",
        "LINKGATE_SIGNING_KEY",
        "LINKGATE_CAT_KEYS",
        "LINKGATE_CAT_ISSUERS",
        "LINKGATE_CAT_AUDIENCES",
    ] {
        c.env_remove(var);
    }
    c
}

fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = bin();
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run linkgate")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).trim().to_owned()
}

fn json_of(o: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

fn run(args: &[&str], keys: Option<&str>) -> Output {
    let mut c = bin();
    c.args(args);
    if let Some(k) = keys {
        c.env("LINKGATE_KEYS", k);
    }
    c.output().expect("run linkgate")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

fn keygen(kid: &str) -> String {
    let o = run(&["keygen", "--kid", kid], None);
    assert_eq!(o.status.code(), Some(0));
    stdout(&o)
}

#[test]
fn keygen_prints_a_usable_entry_with_fresh_randomness() {
    let a = keygen("alpha");
    let b = keygen("alpha");
    assert!(a.starts_with("alpha:"), "{a}");
    assert_ne!(a, b, "two keys must differ");
    assert_eq!(a.len(), "alpha:".len() + 43, "32 bytes in base64url is 43 chars");
    assert!(linkgate_core::KeyRing::parse(&a).is_ok());
    assert_eq!(run(&["keygen", "--kid", "bad kid"], None).status.code(), Some(2));
}

/// `inspect -`: one JSON verdict per stdin line, in order; exit 1 if any is refused.
#[test]
fn inspect_reads_many_links_from_stdin() {
    use std::io::Write;
    let keys = keygen("k1");
    let url = |path: &str| {
        let o = run(&["sign", "--path", path, "--ttl", "15m", "--json"], Some(&keys));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        v["url"].as_str().unwrap().to_owned()
    };
    let (a, b) = (url("/a.pdf"), url("/b.pdf"));
    let batch = |input: String| {
        let mut c = bin();
        c.args(["inspect", "-"]).env("LINKGATE_KEYS", &keys);
        c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let o = child.wait_with_output().unwrap();
        let lines: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        (o.status.code(), lines)
    };
    let (code, lines) = batch(format!("{a}\n\n{b}\n"));
    assert_eq!(code, Some(0));
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["claims"]["scope"], "/b.pdf");
    assert!(lines.iter().all(|l| l["verdict"] == "valid"));
    let forged = format!("{}x", &b[..b.len() - 1]);
    let (code, lines) = batch(format!("{a}\n{forged}\n"));
    assert_eq!(code, Some(1));
    assert_eq!((lines[0]["verdict"].as_str(), lines[1]["verdict"].as_str()), (Some("valid"), Some("refused")));
}

#[test]
fn sign_then_inspect_is_valid_and_one_changed_character_is_refused() {
    let keys = keygen("k1");
    let o = run(&["sign", "--path", "/board/pack.pdf", "--ttl", "15m", "--sub", "r-7", "--json"], Some(&keys));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let url = v["url"].as_str().unwrap().to_owned();
    let token = v["token"].as_str().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:8787/board/pack.pdf?lg="), "{url}");
    assert!(url.ends_with(&token));
    assert_eq!(v["jti"].as_str().unwrap().len(), 32);
    let exp = v["expires_at"].as_u64().unwrap();

    let o = run(&["inspect", &url, "--json"], Some(&keys));
    assert_eq!(o.status.code(), Some(0));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["verdict"], "valid");
    assert_eq!(r["claims"]["sub"], "r-7");
    assert_eq!(r["claims"]["exp"].as_u64(), Some(exp));

    // Change one character in the middle of the tag, then in the payload.
    for at in [token.len() - 10, 12] {
        let mut bytes = token.clone().into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bytes).unwrap();
        let o = run(&["inspect", &bad, "--json"], Some(&keys));
        assert_eq!(o.status.code(), Some(1), "position {at}");
        let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(r["verdict"], "refused");
        let code = r["code"].as_str().unwrap();
        assert!(["signature_invalid", "token_malformed", "key_unknown"].contains(&code), "{code}");
    }
    let mut bytes = token.into_bytes();
    let last = bytes.len() - 20;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    let o = run(&["inspect", &String::from_utf8(bytes).unwrap()], Some(&keys));
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("refused: signature_invalid (403)"), "{}", stdout(&o));
}

#[test]
fn inspect_reports_expiry_scope_and_ip_with_codes() {
    let keys = keygen("k1");
    let o = run(
        &[
            "sign",
            "--path",
            "/a/",
            "--prefix",
            "--expires-at",
            "2000000000",
            "--issued-at",
            "1999990000",
            "--ip",
            "192.0.2.0/24",
            "--json",
        ],
        Some(&keys),
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let token = v["token"].as_str().unwrap();
    let check = |extra: &[&str], want: Option<&str>| {
        let mut args = vec!["inspect", token, "--json"];
        args.extend_from_slice(extra);
        let o = run(&args, Some(&keys));
        let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        match want {
            None => {
                assert_eq!(o.status.code(), Some(0), "{extra:?} {r}");
                assert_eq!(r["verdict"], "valid");
            }
            Some(code) => {
                assert_eq!(o.status.code(), Some(1), "{extra:?} {r}");
                assert_eq!(r["code"], code, "{extra:?}");
            }
        }
    };
    check(&["--now", "1999990001", "--path", "/a/b"], None);
    check(&["--now", "2000000000", "--path", "/a/b"], Some("expired"));
    check(&["--now", "1999990001", "--path", "/ab"], Some("scope_mismatch"));
    check(&["--now", "1999990001", "--path", "/a/b", "--client-ip", "192.0.2.9"], None);
    check(&["--now", "1999990001", "--path", "/a/b", "--client-ip", "198.51.100.1"], Some("ip_mismatch"));
    check(&["--now", "1999980000", "--path", "/a/b"], Some("not_yet_valid"));
    // A9: the folder URL that sign prints inspects as valid (no path_invalid).
    let url = v["url"].as_str().unwrap();
    assert!(url.contains("/a/?lg="), "{url}");
    let o = run(&["inspect", url, "--json", "--now", "1999990001"], Some(&keys));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!((o.status.code(), r["verdict"].as_str()), (Some(0), Some("valid")), "{r}");
    // Another key ring does not know the kid.
    let other = keygen("k2");
    let o = run(&["inspect", token, "--json", "--now", "1999990001"], Some(&other));
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("key_unknown"));
}

#[test]
fn inspect_without_keys_decodes_but_does_not_vouch() {
    let keys = keygen("k1");
    let o = run(&["sign", "--path", "/x", "--ttl", "1h"], Some(&keys));
    let url = stdout(&o);
    let o = run(&["inspect", &url], None);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("unverified"), "{}", stdout(&o));
}

#[test]
fn usage_errors_exit_2() {
    let keys = keygen("k1");
    let cases: &[&[&str]] = &[
        &[],
        &["frobnicate"],
        &["sign", "--ttl", "1h"],
        &["sign", "--path", "/a"],
        &["sign", "--path", "/a", "--ttl", "1y"],
        &["sign", "--path", "/a", "--ttl", "1h", "--expires-at", "5"],
        &["sign", "--path", "/a", "--ttl", "1h", "--uses", "0"],
        &["sign", "--path", "/a", "--ttl", "1h", "--sub", "alice@example.com"],
        &["sign", "--path", "/a/../b", "--ttl", "1h"],
        &["sign", "--path", "/a", "--ttl", "8d"],
        &["sign", "--path", "/a", "--ttl", "1h", "--kid", "nope"],
        &["sign", "--path", "/a", "--ttl", "1h", "--bogus"],
        // A6: a whole-bucket link needs --whole-bucket.
        &["sign", "--prefix", "--path", "", "--ttl", "1h"],
        &["sign", "--prefix", "--path", "/", "--ttl", "1h"],
        &["sign", "--prefix", "--path", "/a/", "--ttl", "1h", "--whole-bucket"],
        &["sign", "--path", "/a.pdf", "--ttl", "1h", "--whole-bucket"],
        &["inspect"],
        &["inspect", "a", "b"],
        // An undocumented flag is no flag (it used to be accepted by sign).
        &["sign", "--path", "/a", "--ttl", "1h", "--max-ttl", "1d"],
        &["help", "frobnicate"],
    ];
    for args in cases {
        let o = run(args, Some(&keys));
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&o.stdout));
        assert!(!o.stderr.is_empty(), "{args:?} must explain itself");
    }
    // No keys at all.
    assert_eq!(run(&["sign", "--path", "/a", "--ttl", "1h"], None).status.code(), Some(2));
}

/// A6: offline signing of a whole-bucket link needs --whole-bucket (the key
/// holder can sign anything, but never by accident), and the refusal says so.
#[test]
fn whole_bucket_links_need_the_flag() {
    let keys = keygen("k1");
    let o = run(&["sign", "--prefix", "--path", "", "--ttl", "1h"], Some(&keys));
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("--path") && e.contains("whole bucket") && e.contains("--whole-bucket"), "{e}");
    for path in ["", "/"] {
        let o = run(&["sign", "--prefix", "--path", path, "--ttl", "1h", "--whole-bucket", "--json"], Some(&keys));
        assert_eq!(o.status.code(), Some(0), "{path:?}: {}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert!(v["url"].as_str().unwrap().starts_with("http://127.0.0.1:8787/?lg="), "{v}");
        let o = run(&["inspect", v["token"].as_str().unwrap(), "--path", "/any/file.pdf", "--json"], Some(&keys));
        let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!((r["claims"]["scope"].as_str(), r["verdict"].as_str()), (Some("/"), Some("valid")), "{r}");
    }
}

#[test]
fn keys_file_accepts_dev_vars() {
    let dir = std::env::temp_dir().join(format!("linkgate-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let keys = keygen("filekey");
    let file = dir.join(".dev.vars");
    std::fs::write(&file, format!("LINKGATE_ADMIN_TOKEN=\"x\"\nLINKGATE_KEYS=\"{keys}\"\n")).unwrap();
    let f = file.to_str().unwrap();
    let o = run(&["sign", "--path", "/x", "--ttl", "1h", "--keys", f], None);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["inspect", &stdout(&o), "--keys", f], None);
    assert_eq!(o.status.code(), Some(0));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn inspect_shows_the_claims_of_an_untrusted_link_escaped() {
    // A file name may hold a right-to-left override ("invoice<RLO>fdp.exe"
    // displays as "invoiceexe.pdf"); a link someone sent is untrusted text.
    // `sign` refuses such a name (A14), but a link made elsewhere (another
    // signer, an older version) can carry one: build it with the library.
    let keys = keygen("k1");
    let name = "invoice\u{202e}fdp.exe";
    let ring = linkgate_core::KeyRing::parse(&keys).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let mut c = linkgate_core::Claims::new(
        linkgate_core::KeyId::parse("k1").unwrap(),
        linkgate_core::Jti([3; 16]),
        now - 10,
        now + 3600,
        linkgate_core::Scope::parse("/x.pdf").unwrap(),
    );
    c.filename = Some(linkgate_core::token::FileName::parse(name).unwrap());
    let token = &c.sign(ring.signing_key()).unwrap();
    for keys in [None, Some(keys.as_str())] {
        let o = run(&["inspect", token], keys);
        assert_eq!(o.status.code(), Some(0));
        let text = stdout(&o);
        assert!(!text.contains('\u{202e}'), "{text:?}");
        assert!(text.contains(r"filename  invoice\u{202e}fdp.exe"), "{text}");
        // --json: escaped as \u202e, the same data.
        let o = run(&["inspect", token, "--json"], keys);
        let text = stdout(&o);
        assert!(!text.contains('\u{202e}') && text.contains(r"\u202e"), "{text:?}");
        let r: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(r["claims"]["filename"], name);
    }
}

/// The commands `linkgate help` lists.
fn commands() -> Vec<String> {
    let o = run(&["help"], None);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    let section = text.split("OFFLINE COMMANDS").nth(1).unwrap().split("ENVIRONMENT").next().unwrap();
    let cmds: Vec<String> = section
        .lines()
        .filter(|l| l.starts_with("    ") && !l.starts_with("     ") && !l.contains("linkgate"))
        // The name column is 13 wide: a command may be two words (`cat sign`).
        .filter_map(|l| l.get(4..17).map(str::trim))
        .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == ' '))
        .map(str::to_owned)
        .collect();
    assert!(cmds.len() >= 9, "{cmds:?}");
    cmds
}

/// Every `--flag` in a text (digits too: `--ed25519`).
fn flags_in(text: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("--") {
        let start = i + at + 2;
        let end = start
            + b[start..].iter().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || **c == b'-').count();
        let name = text[start..end].trim_end_matches('-');
        if !name.is_empty() && !name.starts_with('-') {
            out.insert(name.to_owned());
        }
        i = end.max(start);
    }
    out
}

/// `cmd` as argv words (`cat sign` is two), then `more`.
fn argv<'a>(cmd: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    cmd.split(' ').chain(more.iter().copied()).collect()
}

fn help_of(cmd: &str) -> String {
    let o = run(&argv(cmd, &["--help"]), None);
    assert_eq!(o.status.code(), Some(0), "{cmd} --help: {}", stderr(&o));
    let h = stdout(&o);
    assert_eq!(stdout(&run(&argv("help", &argv(cmd, &[])), None)), h, "`linkgate help {cmd}` is `{cmd} --help`");
    assert_eq!(stdout(&run(&argv(cmd, &["-h"]), None)), h);
    h
}

/// Issue 12: `linkgate <command> --help` exists for every command, and every
/// flag the parser accepts is in it. Black box: every flag named anywhere
/// in the help texts (and a few that used to exist) is tried on every
/// command; whatever is not refused as unknown must be documented there.
#[test]
fn every_flag_the_parser_accepts_is_in_its_help() {
    let cmds = commands();
    let helps: Vec<(String, String)> = cmds.iter().map(|c| (c.clone(), help_of(c))).collect();
    let mut candidates = flags_in(&stdout(&run(&["help"], None)));
    for (_, h) in &helps {
        candidates.extend(flags_in(h));
    }
    candidates.extend(["max-ttl", "skew", "scope", "value", "verbose", "version", "token", "url"].map(String::from));
    assert!(candidates.len() > 40, "{candidates:?}");
    let mut accepted = 0;
    for (cmd, help) in &helps {
        let documented = flags_in(help);
        for flag in &candidates {
            let f = format!("--{flag}");
            let o = run(&argv(cmd, &[&f]), None);
            let unknown = stderr(&o).contains("unknown option");
            if !unknown {
                accepted += 1;
                assert!(documented.contains(flag), "`linkgate {cmd}` accepts --{flag}, which its help does not list");
            } else {
                assert!(!documented.contains(flag), "`linkgate {cmd} --help` lists --{flag}, which it refuses");
                assert_eq!(o.status.code(), Some(2));
                assert!(stderr(&o).contains(&format!("linkgate {cmd} --help")), "{}", stderr(&o));
            }
        }
    }
    assert!(accepted > 60, "{accepted}");
    // Help goes to stdout with exit 0, wherever --help stands.
    let o = run(&["sign", "--path", "/a", "--help"], None);
    assert_eq!((o.status.code(), stdout(&o).contains("--expires-at UNIX")), (Some(0), true));
}

/// Issue 12: error messages name real flags (of that command) and real
/// variables, never a claim name dressed up as one (`--exp`, `--scope`) or
/// a misspelt variable.
#[test]
fn error_messages_name_real_flags_and_variables() {
    let keys = keygen("k1");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut real_vars = std::collections::BTreeSet::new();
    for f in ["wrangler.toml", "README.md", "docs/edge.md"] {
        let text = std::fs::read_to_string(root.join(f)).unwrap();
        for (i, _) in text.match_indices("LINKGATE_") {
            let name: String = text[i..].chars().take_while(|c| c.is_ascii_uppercase() || *c == '_').collect();
            real_vars.insert(name.trim_end_matches('_').to_owned());
        }
    }
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        (vec!["sign", "--path", "/a", "--ttl", "8d"], vec![]),
        (vec!["sign", "--path", "/a", "--ttl", "2h"], vec![("LINKGATE_MAX_TTL_SECS", "3600")]),
        (vec!["sign", "--path", "/a", "--ttl", "1h"], vec![("LINKGATE_MAX_TTL_SECS", "7d")]),
        (vec!["sign", "--path", "/a", "--ttl", "1h"], vec![("LINKGATE_CLOCK_SKEW_SECS", "-1")]),
        (vec!["sign", "--path", "/a", "--expires-at", "5"], vec![]),
        (vec!["sign", "--path", "/a/../b", "--ttl", "1h"], vec![]),
        (vec!["sign", "--path", "/a/", "--ttl", "1h"], vec![]),
        (vec!["sign", "--path", "/a", "--ttl", "1h", "--not-before", "99999999999"], vec![]),
        (vec!["sign", "--path", "/a", "--ttl", "1h", "--host", "::1"], vec![]),
        (vec!["sign", "--path", "/a", "--ttl", "1h", "--ip", "10.0.0.0/08"], vec![]),
        (vec!["sign", "--path", "/a", "--ttl", "1h", "--sub", "a@b.c"], vec![]),
        (vec!["sign", "--path", "/a", "--ttl", "1h", "--content-type", "x"], vec![]),
        (vec!["sign", "--path", "/a", "--ttl", "1h", "--filename", ".."], vec![]),
        (vec!["sign", "--path", "/a", "--ttl", "1h", "--mode", "zip"], vec![]),
        (vec!["sign", "--path", "/a", "--ttl", "1h", "--uses", "0"], vec![]),
        (vec!["sign", "--path", "/a", "--ttl", "1h", "--kid", "nope"], vec![]),
        (vec!["sign", "--path", "/a", "--ttl", "1h", "--base", "https://h/sub"], vec![]),
        (vec!["inspect", "x", "--now", "soon"], vec![]),
        (vec!["mint", "--path", "/a", "--ttl", "0s"], vec![]),
        (vec!["mint", "--path", "/a/../b", "--ttl", "1h"], vec![]),
        (vec!["mint", "--path", "/a", "--ttl", "1h", "--host", "a:b.:c"], vec![]),
        (vec!["mint", "--path", "/a", "--ttl", "1h", "--not-before", "99999999999"], vec![]),
        (vec!["mint", "--path", "/a", "--ttl", "1h", "--content-type", "x"], vec![]),
    ];
    for (args, env) in cases {
        let mut env = env.clone();
        env.push(("LINKGATE_KEYS", &keys));
        let o = run_env(&args, &env);
        let cmd = args[0];
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stdout(&o));
        let err = stderr(&o);
        let documented = flags_in(&help_of(cmd));
        for flag in flags_in(&err) {
            assert!(documented.contains(&flag), "{args:?}: `{err}` names --{flag}, not an option of {cmd}");
        }
        for (i, _) in err.match_indices("LINKGATE") {
            let name: String = err[i..].chars().take_while(|c| c.is_ascii_uppercase() || *c == '_').collect();
            assert!(real_vars.contains(&name), "{args:?}: `{err}` names {name}, which is no variable");
        }
        assert!(!err.contains("--exp:") && !err.contains("--scope"), "{err}");
    }
}

/// Issue 12: the time rules come from the environment or the --keys file,
/// as the worker reads them (the file wins over the environment).
#[test]
fn sign_and_inspect_read_the_workers_time_rules() {
    let keys = keygen("k1");
    let sign = |env: &[(&str, &str)], ttl: &str| {
        let mut env = env.to_vec();
        env.push(("LINKGATE_KEYS", &keys));
        run_env(&["sign", "--path", "/a", "--ttl", ttl, "--json"], &env)
    };
    assert_eq!(sign(&[], "7d").status.code(), Some(0));
    assert_eq!(sign(&[("LINKGATE_MAX_TTL_SECS", "3600")], "1h").status.code(), Some(0));
    let o = sign(&[("LINKGATE_MAX_TTL_SECS", "3600")], "61m");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("3600 s") && stderr(&o).contains("LINKGATE_MAX_TTL_SECS"), "{}", stderr(&o));

    let dir = std::env::temp_dir().join(format!("linkgate-cli-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(".dev.vars");
    std::fs::write(
        &file,
        format!("LINKGATE_KEYS=\"{keys}\"\nLINKGATE_MAX_TTL_SECS=\"600\"\nLINKGATE_CLOCK_SKEW_SECS=\"0\"\n"),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let o = run_env(&["sign", "--keys", f, "--path", "/a", "--ttl", "11m"], &[("LINKGATE_MAX_TTL_SECS", "86400")]);
    assert_eq!(o.status.code(), Some(2), "the file's 600 s wins: {}", stdout(&o));
    let o =
        run_env(&["sign", "--keys", f, "--path", "/a", "--issued-at", "1000", "--expires-at", "1600", "--json"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let token = json_of(&o)["token"].as_str().unwrap().to_owned();
    // inspect: skew 0 from the file (iat 1000 is in the future at 999), 30 from the default.
    let inspect = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["inspect", token.as_str(), "--json"];
        all.extend_from_slice(args);
        json_of(&run_env(&all, env))["code"].clone()
    };
    assert_eq!(inspect(&["--keys", f, "--now", "999"], &[]), "not_yet_valid");
    assert_eq!(inspect(&["--now", "999"], &[("LINKGATE_KEYS", &keys)]), serde_json::Value::Null);
    assert_eq!(
        inspect(&["--now", "999"], &[("LINKGATE_KEYS", &keys), ("LINKGATE_CLOCK_SKEW_SECS", "0")]),
        "not_yet_valid"
    );
    // A maximum lifetime below 600 s refuses the link, as the worker would.
    assert_eq!(
        inspect(&["--now", "1001"], &[("LINKGATE_KEYS", &keys), ("LINKGATE_MAX_TTL_SECS", "599")]),
        "policy_denied"
    );
    let o = run_env(&["inspect", &token, "--now", "1001"], &[("LINKGATE_KEYS", &keys), ("LINKGATE_MAX_TTL_SECS", "x")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("LINKGATE_MAX_TTL_SECS must be a whole number"), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).ok();
}

/// Issue 12: inspect takes --host, --method and --now, checks every step it
/// has the facts for and says which it skipped; it answers the query forms
/// like the edge (an empty lg is token_missing) and takes the URLs sign prints.
#[test]
fn inspect_checks_every_step_it_has_facts_for() {
    let keys = keygen("k1");
    let o = run(
        &[
            "sign",
            "--path",
            "/f/",
            "--prefix",
            "--issued-at",
            "1000",
            "--expires-at",
            "5000",
            "--host",
            "files.example.com",
            "--ip",
            "192.0.2.0/24",
            "--json",
        ],
        Some(&keys),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_of(&o);
    let url = v["url"].as_str().unwrap().to_owned();
    let token = v["token"].as_str().unwrap().to_owned();
    assert!(url.starts_with("https://files.example.com/f/?lg="), "{url}");
    let inspect = |args: &[&str]| {
        let mut all = vec!["inspect", "--json", "--now", "2000"];
        all.extend_from_slice(args);
        let o = run(&all, Some(&keys));
        let r = json_of(&o);
        assert_eq!(o.status.code(), Some(if r["verdict"] == "valid" { 0 } else { 1 }), "{r}");
        r
    };
    let skipped = |r: &serde_json::Value| -> Vec<String> {
        r["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| format!("{}:{}", s["check"].as_str().unwrap(), s["needs"].as_str().unwrap()))
            .collect()
    };
    // The folder URL sign printed: path and host come from it.
    let r = inspect(&[&url]);
    assert_eq!(r["verdict"], "valid", "{r}");
    assert_eq!(r["checked"], serde_json::json!(["signature", "time", "scope", "host"]));
    assert_eq!(skipped(&r), ["ip:--client-ip", "method:--method"]);
    let r = inspect(&[&url, "--client-ip", "192.0.2.7", "--method", "HEAD"]);
    assert_eq!((r["verdict"].as_str(), skipped(&r).len()), (Some("valid"), 0), "{r}");
    // A bare token: nothing to check the bindings against but what is given.
    let r = inspect(&[&token]);
    assert_eq!(skipped(&r), ["scope:--path", "host:--host", "ip:--client-ip", "method:--method"]);
    let all = [
        &token as &str,
        "--path",
        "/f/x.pdf",
        "--host",
        "files.example.com:8443",
        "--client-ip",
        "192.0.2.7",
        "--method",
        "GET",
    ];
    assert_eq!(inspect(&all)["verdict"], "valid");
    let with = |i: usize, v: &'static str| {
        let mut a = all.to_vec();
        a[i] = v;
        inspect(&a)["code"].clone()
    };
    assert_eq!(with(2, "/g/x.pdf"), "scope_mismatch");
    assert_eq!(with(2, "/f/../x"), "path_invalid");
    assert_eq!(with(2, "/f/a%2Fb"), serde_json::Value::Null, "--path is decoded text: %2F is three characters");
    assert_eq!(with(4, "other.example.com"), "host_mismatch");
    assert_eq!(with(4, "files.example.com:80."), "host_mismatch");
    assert_eq!(with(6, "198.51.100.1"), "ip_mismatch");
    assert_eq!(with(6, "192.0.2.07"), "ip_mismatch", "not an address: none");
    assert_eq!(with(8, "POST"), "method_not_allowed");
    assert_eq!(with(8, "get"), "method_not_allowed");
    let mut late = all.to_vec();
    late.extend(["--now", "5000"]);
    let o = run(&[&["inspect", "--json"][..], &late].concat(), Some(&keys));
    assert_eq!((o.status.code(), json_of(&o)["code"].as_str()), (Some(1), Some("expired")), "--now at exp");
    // Query forms, as at the edge.
    for (query, code) in [
        ("lg=", "token_missing"),
        ("lg", "token_missing"),
        ("x=1", "token_missing"),
        ("%6Cg=TOKEN", "token_missing"),
        ("lgs=TOKEN", "token_missing"),
        ("lg=&lg=", "token_malformed"),
        ("lg=TOKEN&lg=TOKEN", "token_malformed"),
        ("lg=TOKEN&lgs=x", "token_malformed"),
        ("lg=TOKEN%3D", "token_malformed"),
    ] {
        let q = query.replace("TOKEN", &token);
        let r = inspect(&[&format!("https://files.example.com/f/x?{q}")]);
        assert_eq!(r["code"], code, "{query}: {r}");
    }
    // The path is canonicalized first, as at the edge.
    let r = inspect(&[&format!("https://files.example.com/f/a%2Fb?lg={token}&lg={token}")]);
    assert_eq!(r["code"], "path_invalid");
    // No / before the query: the token is found (the URL asks for /).
    let r = inspect(&[&format!("https://files.example.com?lg={token}")]);
    assert_eq!((r["code"].as_str(), r["claims"]["scope"].as_str()), (Some("scope_mismatch"), Some("/f/")), "{r}");
    // Human output lists the skipped checks.
    let o = run(&["inspect", &url, "--now", "2000"], Some(&keys));
    assert!(stdout(&o).contains("skipped   ip (no --client-ip), method (no --method)"), "{}", stdout(&o));
}

/// Issue 12: sign refuses hosts outside the grammar and a --base that would
/// put the link outside its scope (or on another host).
#[test]
fn sign_refuses_broken_hosts_and_bases() {
    let keys = keygen("k1");
    for host in ["::1", "a[b", "[", ":80", "a:", "-a", "a:b.:c", "files.example.com.", "[0::1]", "a:080"] {
        let o = run(&["sign", "--path", "/a", "--ttl", "1h", "--host", host], Some(&keys));
        assert_eq!(o.status.code(), Some(2), "--host {host}: {}", stdout(&o));
        assert!(stderr(&o).starts_with("linkgate: --host: "), "{}", stderr(&o));
    }
    let url = |args: &[&str]| {
        let mut all = vec!["sign", "--path", "/a b", "--ttl", "1h"];
        all.extend_from_slice(args);
        let o = run(&all, Some(&keys));
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        stdout(&o)
    };
    assert!(url(&["--host", "[::1]:8443"]).starts_with("https://[::1]:8443/a%20b?lg="));
    assert!(url(&["--host", "Files.Example.COM"]).starts_with("https://files.example.com/a%20b?lg="));
    assert!(url(&["--base", "http://127.0.0.1:8787/"]).starts_with("http://127.0.0.1:8787/a%20b?lg="));
    assert!(url(&["--host", "files.example.com", "--base", "https://files.example.com:8443"])
        .starts_with("https://files.example.com:8443/a%20b?lg="));
    for (base, host) in [
        ("https://files.example.com/sub", None),
        ("https://files.example.com/sub/", None),
        ("https://files.example.com?x=1", None),
        ("ftp://files.example.com", None),
        ("https://::1", None),
        ("https://cdn.example.com", Some("files.example.com")),
    ] {
        let mut args = vec!["sign", "--path", "/a", "--ttl", "1h", "--base", base];
        if let Some(h) = host {
            args.extend(["--host", h]);
        }
        let o = run(&args, Some(&keys));
        assert_eq!(o.status.code(), Some(2), "--base {base}: {}", stdout(&o));
        assert!(stderr(&o).contains("--base"), "{}", stderr(&o));
    }
}

fn vectors(name: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Issue 12: `linkgate inspect` answers every request vector as the vector
/// says, given the same facts (the URL carries path, query and Host). Two
/// kinds are left out on purpose: a path without its leading '/' cannot be
/// written in a URL, and a path ending in '/' is a folder URL, which
/// inspect checks as the folder a prefix link names (its own URL) rather
/// than refusing it as a request would.
#[test]
fn inspect_agrees_with_every_request_vector() {
    let file = vectors("requests.json");
    let keys = file["keys"].as_str().unwrap();
    let skew = file["time_rules"]["skew_secs"].to_string();
    let max = file["time_rules"]["max_ttl_secs"].to_string();
    let env = [("LINKGATE_KEYS", keys), ("LINKGATE_CLOCK_SKEW_SECS", &skew), ("LINKGATE_MAX_TTL_SECS", &max)];
    let mut checked = 0;
    for v in file["requests"].as_array().unwrap() {
        let (name, r, want) = (v["name"].as_str().unwrap(), &v["request"], &v["expect"]);
        let path = r["path"].as_str().unwrap();
        if !path.starts_with('/') || path.ends_with('/') {
            continue;
        }
        let query = r["query"].as_str().unwrap();
        let url = format!(
            "https://{}{path}{}",
            r["host"].as_str().unwrap_or(""),
            if query.is_empty() { String::new() } else { format!("?{query}") }
        );
        let now = r["now"].to_string();
        // An empty --client-ip is a text that is no address: the request has none.
        let ip = r["client_ip"].as_str().unwrap_or("");
        let args =
            ["inspect", "--json", &url, "--now", &now, "--method", r["method"].as_str().unwrap(), "--client-ip", ip];
        let o = run_env(&args, &env);
        let got = json_of(&o);
        if want["outcome"] == "allow" {
            assert_eq!((o.status.code(), got["verdict"].as_str()), (Some(0), Some("valid")), "{name}: {got}");
            assert_eq!(got["claims"]["jti"], want["jti"], "{name}");
            assert_eq!(got["skipped"], serde_json::json!([]), "{name}");
        } else {
            assert_eq!(o.status.code(), Some(1), "{name}: {got}");
            assert_eq!((&got["code"], &got["status"]), (&want["code"], &want["status"]), "{name}: {got}");
            if want["code"] == "path_invalid" {
                assert_eq!(got["reason"], want["reason"], "{name}");
            }
        }
        checked += 1;
    }
    assert!(checked >= 110, "{checked}");
}

/// Issue 12: `linkgate sign` reads LINKGATE_KEYS, --host and --ip as the
/// text-form vectors say.
#[test]
fn sign_agrees_with_every_form_vector() {
    let file = vectors("forms.json");
    let keys = keygen("k1");
    let sign = |extra: &[&str], keys: &str| {
        let mut args = vec!["sign", "--path", "/a", "--ttl", "1h", "--json"];
        args.extend_from_slice(extra);
        let o = run_env(&args, &[("LINKGATE_KEYS", keys)]);
        let claims = (o.status.code() == Some(0)).then(|| {
            let token = json_of(&o)["token"].as_str().unwrap().to_owned();
            json_of(&run_env(&["inspect", "--json", &token], &[("LINKGATE_KEYS", keys)]))["claims"].clone()
        });
        assert!(o.status.code() == Some(0) || o.status.code() == Some(2), "{extra:?}");
        claims
    };
    for v in file["key_rings"].as_array().unwrap() {
        let got = sign(&[], v["value"].as_str().unwrap());
        let want = v["kids"].as_array().map(|k| k[0].clone());
        assert_eq!(got.map(|c| c["kid"].clone()), want, "key ring {}", v["name"]);
    }
    for v in file["hosts"].as_array().unwrap() {
        let got = sign(&["--host", v["input"].as_str().unwrap()], &keys);
        assert_eq!(
            got.map(|c| c["host"].clone()),
            v["claim"].as_str().map(|c| serde_json::json!(c)),
            "host {}",
            v["name"]
        );
    }
    for v in file["cidrs"].as_array().unwrap() {
        let got = sign(&["--ip", v["input"].as_str().unwrap()], &keys);
        assert_eq!(
            got.map(|c| c["ip"][0].clone()),
            v["claim"].as_str().map(|c| serde_json::json!(c)),
            "cidr {}",
            v["name"]
        );
    }
}

/// A reader that has gone (`| head -1`) ends the CLI quietly: no panic, and
/// SIGPIPE's conventional status (std's println! would panic instead).
#[test]
fn a_closed_stdout_is_not_a_panic() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = bin().arg("help").stdout(writer).stderr(std::process::Stdio::piped()).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(o.status.code(), Some(141), "{err}");
}

/// `inspect --object-size` shows the mode the policy gives the link for an
/// object of that size (hybrid rules), as the worker would decide it.
#[test]
fn inspect_shows_the_delivery_mode_for_an_object_size() {
    let keys = keygen("k1");
    let url = stdout(&run(&["sign", "--path", "/pub/big.iso", "--ttl", "1h"], Some(&keys)));
    let policy = r#"{"classifications":{"public":{"redirect_above":"64MiB"}}}"#;
    let s3 = [
        ("LINKGATE_KEYS", keys.as_str()),
        ("LINKGATE_POLICY", policy),
        ("LINKGATE_S3_ACCESS_KEY_ID", "AKID"),
        ("LINKGATE_S3_SECRET_ACCESS_KEY", "secret"),
        ("LINKGATE_S3_BUCKET", "files"),
        ("LINKGATE_S3_ENDPOINT", "http://127.0.0.1:9000"),
    ];
    let delivery = |size: &str, class: &str, env: &[(&str, &str)]| {
        let o = run_env(&["inspect", &url, "--json", "--object-size", size, "--classification", class], env);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        json_of(&o)["delivery"].clone()
    };
    let d = delivery("100MiB", "public", &s3);
    assert_eq!((d["mode"].as_str(), d["object_size"].as_u64()), (Some("redirect"), Some(100 << 20)));
    assert_eq!(delivery("64MiB", "public", &s3)["mode"], "stream", "at the threshold: stream");
    assert_eq!(delivery("1TiB", "restricted", &s3)["mode"], "stream");
    assert_eq!(delivery("1TiB", "internal", &s3)["mode"], "stream", "no redirect_above: the first mode");
    // Without presigning settings the big object streams.
    let d = delivery("100MiB", "public", &s3[..2]);
    assert_eq!((d["mode"].as_str(), d["presigning"].as_bool()), (Some("stream"), Some(false)));
    // A redirect link on a stream-only class is refused there.
    let r = stdout(&run(&["sign", "--path", "/pub/big.iso", "--ttl", "1h", "--mode", "redirect"], Some(&keys)));
    let o = run_env(&["inspect", &r, "--object-size", "1", "--classification", "confidential"], &s3);
    assert!(stdout(&o).contains("delivery  refused: confidential.modes"), "{}", stdout(&o));
    // Text output, and usage errors.
    let o = run_env(&["inspect", &url, "--object-size", "100MiB", "--classification", "public"], &s3);
    assert!(stdout(&o).contains("delivery  redirect (public rule, 104857600-byte object"), "{}", stdout(&o));
    assert_eq!(run_env(&["inspect", &url, "--object-size", "lots"], &s3).status.code(), Some(2));
    assert_eq!(run_env(&["inspect", &url, "--classification", "public"], &s3).status.code(), Some(2));
    let o = run_env(&["inspect", &url, "--json"], &s3);
    assert!(json_of(&o).get("delivery").is_none(), "no --object-size, no delivery");
}

/// Issue 14: `sign --sealed` makes a link whose URL shows none of its
/// claims; `inspect` without keys says only that it is sealed and by which
/// key; with keys it shows the claims; a changed character is refused.
#[test]
fn sealed_links_sign_and_inspect() {
    let keys = keygen("k1");
    let args = [
        "sign",
        "--path",
        "/board/merger-plan.pdf",
        "--ttl",
        "15m",
        "--sub",
        "recipient-7731",
        "--tenant",
        "acme-holdings",
        "--filename",
        "Merger plan.pdf",
        "--sealed",
        "--json",
    ];
    let o = run(&args, Some(&keys));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(v["sealed"], true);
    let (url, token) = (v["url"].as_str().unwrap(), v["token"].as_str().unwrap());
    // Path-less (docs/link-format.md §17.7): not even the object's path.
    assert!(url.contains("/_lg/"), "{url}");
    for secret in ["recipient-7731", "acme-holdings", "Merger", "merger-plan", "board"] {
        assert!(!url.contains(secret), "{secret} in {url}");
    }
    // Two links from the same flags differ (fresh jti and nonce).
    assert_ne!(json_of(&run(&args, Some(&keys)))["token"], v["token"]);

    let o = run(&["inspect", "--json", token], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let j = json_of(&o);
    assert_eq!(
        (j["verdict"].as_str(), j["sealed"].as_bool(), j["kid"].as_str()),
        (Some("unverified"), Some(true), Some("k1"))
    );
    assert!(j["claims"].is_null());
    let human = stdout(&run(&["inspect", url], None));
    assert!(human.contains("sealed") && human.contains("k1"), "{human}");
    for secret in ["recipient-7731", "acme-holdings", "Merger", "merger-plan"] {
        // Without keys inspect prints nothing beyond the sealed line and the kid.
        assert!(!human.contains(secret), "{secret}: {human}");
    }

    let o = run(&["inspect", "--json", url], Some(&keys));
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let j = json_of(&o);
    assert_eq!((j["verdict"].as_str(), j["sealed"].as_bool()), (Some("valid"), Some(true)));
    assert_eq!(j["claims"]["sub"], "recipient-7731");
    assert_eq!(j["claims"]["filename"], "Merger plan.pdf");

    // One character changed (not the first: that is the version) → refused.
    let mut t: Vec<char> = token.chars().collect();
    let i = t.len() / 2;
    t[i] = if t[i] == 'A' { 'B' } else { 'A' };
    let forged: String = t.into_iter().collect();
    let o = run(&["inspect", "--json", &forged], Some(&keys));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_of(&o)["code"], "signature_invalid");
    // Another ring with the same kid: signature_invalid; no such kid: key_unknown.
    let o = run(&["inspect", "--json", token], Some(&keygen("k1")));
    assert_eq!(json_of(&o)["code"], "signature_invalid");
    let o = run(&["inspect", "--json", token], Some(&keygen("k2")));
    assert_eq!(json_of(&o)["code"], "key_unknown");
}

/// Issue 20: an Ed25519 key pair from keygen; sign with the private key,
/// inspect with the public entry; a tenant-constrained key's link for
/// another tenant's folder is refused `key_unknown` (`key_constraint`).
#[test]
fn ed25519_keygen_sign_inspect_and_tenant_constraint() {
    let dir = std::env::temp_dir().join(format!("linkgate-cli-ed25519-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let o = run(&["keygen", "--ed25519", "--kid", "acme", "--tenant", "acme", "--prefix", "/t/acme/", "--json"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let k = json_of(&o);
    let private = k["private_key"].as_str().unwrap();
    let public = k["public_entry"].as_str().unwrap();
    assert!(private.starts_with("acme:") && public.starts_with("acme:"), "{k}");
    assert!(public.ends_with("@tenant=acme;prefix=/t/acme/"), "{public}");
    let key_file = dir.join("acme.key");
    std::fs::write(&key_file, format!("LINKGATE_SIGNING_KEY={private}\n")).unwrap();
    let vars = dir.join(".dev.vars");
    std::fs::write(&vars, format!("LINKGATE_KEYS={}\nLINKGATE_PUBLIC_KEYS={public}\n", keygen("h1"))).unwrap();
    let (kf, vf) = (key_file.to_str().unwrap(), vars.to_str().unwrap());

    let sign = |path: &str| {
        let o = run(&["sign", "--ed25519-key", kf, "--path", path, "--tenant", "acme", "--ttl", "1h"], None);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        stdout(&o)
    };
    let ok = sign("/t/acme/r.pdf");
    let o = run(&["inspect", "--keys", vf, "--json", &ok], None);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(json_of(&o)["claims"]["kid"], "acme");
    let other = sign("/t/globex/r.pdf");
    let o = run(&["inspect", "--keys", vf, "--json", &other], None);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        (json_of(&o)["code"].as_str(), json_of(&o)["reason"].as_str()),
        (Some("key_unknown"), Some("key_constraint"))
    );
    // The HMAC ring alone does not know the kid.
    let o = run(&["inspect", "--json", &ok], Some(&keygen("h1")));
    assert_eq!(json_of(&o)["code"], "key_unknown");
    // From the environment too, and never sealed.
    let o = run_env(
        &["sign", "--path", "/t/acme/a", "--tenant", "acme", "--ttl", "1h"],
        &[("LINKGATE_SIGNING_KEY", private)],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&["sign", "--ed25519-key", kf, "--path", "/t/acme/a", "--ttl", "1h", "--sealed"], None);
    assert_eq!(o.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

// ------------------------------------------------------ Common Access Tokens

#[test]
fn cat_sign_then_inspect_verifies_and_refuses_like_the_edge() {
    let keys = "cat1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    let env = [("LINKGATE_CAT_KEYS", keys), ("LINKGATE_CAT_ISSUERS", "https://tokens.example")];
    let signed = run_env(
        &[
            "cat",
            "sign",
            "--ttl",
            "1h",
            "--iss",
            "https://tokens.example",
            "--uri",
            "path:prefix:/vod/",
            "--replay",
            "1",
            "--cti",
            "00112233445566778899aabbccddeeff",
            "--json",
        ],
        &env,
    );
    assert_eq!(signed.status.code(), Some(0), "{}", stderr(&signed));
    let s = json_of(&signed);
    let token = s["token"].as_str().unwrap().to_owned();
    assert_eq!(s["jti"], "00112233445566778899aabbccddeeff", "a 16-byte cti is the jti");

    let ok = run_env(&["cat", "inspect", &token, "--url", "https://h.example/vod/a.ts", "--json"], &env);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let v = json_of(&ok);
    assert_eq!((v["verdict"].as_str(), v["uses"].as_u64()), (Some("valid"), Some(1)));

    let out = run_env(&["cat", "inspect", &token, "--url", "https://h.example/audio/a.ts", "--json"], &env);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["code"], "scope_mismatch");

    // Another issuer rule: authentic, refused.
    let other = [("LINKGATE_CAT_KEYS", keys), ("LINKGATE_CAT_ISSUERS", "https://else.example")];
    let out = run_env(&["cat", "inspect", &token, "--json"], &other);
    assert_eq!((out.status.code(), json_of(&out)["reason"].as_str()), (Some(1), Some("cat_issuer")));

    // A tampered token is refused; without keys the claims are shown, unverified.
    // (A character well inside the tag: the last one may hold padding bits.)
    let i = token.len() - 10;
    let flipped = if &token[i..=i] == "A" { "B" } else { "A" };
    let bad = format!("{}{flipped}{}", &token[..i], &token[i + 1..]);
    let out = run_env(&["cat", "inspect", &bad, "--json"], &env);
    assert_eq!(json_of(&out)["code"], "signature_invalid");
    let out = run_env(&["cat", "inspect", &token, "--json"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_of(&out)["claims"]["catreplay"], 1);

    // Usage errors exit 2.
    assert_eq!(run_env(&["cat", "sign", "--ttl", "1h"], &[]).status.code(), Some(2), "no keys");
    assert_eq!(run_env(&["cat", "sign", "--ttl", "1h", "--uri", "query:exact:x"], &env).status.code(), Some(2));
    assert_eq!(run_env(&["cat", "frobnicate"], &env).status.code(), Some(2));
    assert_eq!(run_env(&["cat", "sign", "--help"], &[]).status.code(), Some(0));
}

/// `linkgate admin-token create` / `inspect` (docs/admin.md): the credential
/// the root token mints verifies under it, not under another; usage errors
/// exit 2 and nothing secret goes to stderr.
#[test]
fn admin_tokens_are_minted_by_the_root_and_inspected() {
    let root = [("LINKGATE_ADMIN_TOKEN", "cli-root-token")];
    let args = [
        "admin-token",
        "create",
        "--name",
        "support",
        "--tenant",
        "acme",
        "--can",
        "mint,inspect,revoke",
        "--prefix",
        "/acme/",
        "--ttl",
        "90d",
        "--json",
    ];
    let o = run_env(&args, &root);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let j = json_of(&o);
    let cred = j["credential"].as_str().unwrap().to_owned();
    assert!(cred.starts_with("lgc."));
    assert_eq!(j["can"], serde_json::json!(["links:mint", "links:inspect", "revoke"]));
    assert_eq!(j["tenants"], serde_json::json!(["acme"]));
    assert_eq!(j["exp"].as_u64().unwrap() - j["iat"].as_u64().unwrap(), 90 * 86_400);
    // Human output: the credential on stdout, its id (never itself) on stderr.
    let o = run_env(&args[..args.len() - 1], &root);
    assert!(stdout(&o).starts_with("lgc.") && !stderr(&o).contains(&stdout(&o)));
    assert!(stderr(&o).contains("--credential"), "{}", stderr(&o));

    let o = run_env(&["admin-token", "inspect", &cred, "--json"], &root);
    assert_eq!((o.status.code(), json_of(&o)["verdict"].as_str()), (Some(0), Some("valid")));
    let o = run_env(&["admin-token", "inspect", &cred, "--json"], &[("LINKGATE_ADMIN_TOKEN", "other")]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_of(&o)["code"], "credential_invalid");
    let o = run_env(&["admin-token", "inspect", &cred], &[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("unverified"), "{}", stdout(&o));
    let later = (j["exp"].as_u64().unwrap()).to_string();
    let o = run_env(&["admin-token", "inspect", &cred, "--now", &later, "--json"], &root);
    assert_eq!((o.status.code(), json_of(&o)["code"].as_str()), (Some(1), Some("credential_expired")));

    for bad in [
        &["admin-token", "create", "--name", "x", "--can", "mint", "--ttl", "1d"][..],
        &["admin-token", "create", "--name", "x", "--all-tenants", "--tenant", "a", "--can", "mint", "--ttl", "1d"],
        &["admin-token", "create", "--name", "x", "--all-tenants", "--can", "admin", "--ttl", "1d"],
        &["admin-token", "create", "--name", "x", "--all-tenants", "--can", "mint", "--ttl", "500d"],
        &["admin-token", "create", "--name", "x", "--all-tenants", "--can", "mint", "--ttl", "1d", "--prefix", "/a"],
        &["admin-token", "create", "--name", "a b", "--all-tenants", "--can", "mint", "--ttl", "1d"],
        &["admin-token", "nope"],
    ] {
        assert_eq!(run_env(bad, &root).status.code(), Some(2), "{bad:?}");
    }
    // A credential cannot mint credentials.
    let o = run_env(
        &["admin-token", "create", "--name", "x", "--all-tenants", "--can", "mint", "--ttl", "1d"],
        &[("LINKGATE_ADMIN_TOKEN", &cred)],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(!stderr(&o).contains(&cred));
}

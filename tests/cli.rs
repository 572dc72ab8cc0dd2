//! The `linkgate` binary end to end: keygen → sign → inspect, exit statuses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // test code: a panic is a failed test

use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_linkgate"));
    c.env_remove("LINKGATE_KEYS");
    c
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

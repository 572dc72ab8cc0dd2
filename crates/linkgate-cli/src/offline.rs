//! Commands that need no server: keygen, sign, inspect.

use std::net::IpAddr;

use linkgate_core::duration::parse_duration;
use linkgate_core::keys::{format_entry, KeyId};
use linkgate_core::mint::{sign_link, Expiry, LinkRequest, SignedLink};
use linkgate_core::path::CanonicalPath;
use linkgate_core::token::{Claims, Field, Jti, UnverifiedToken};
use linkgate_core::verify::{check_binding, check_time, token_from_query, Method, RequestFacts, TimeRules};
use linkgate_core::{Code, KeyRing};
use serde_json::json;

use crate::args::{Args, Kind};
use crate::util::{self, Failure};
use crate::{EXIT_OK, EXIT_REFUSED};

fn random<const N: usize>() -> Result<[u8; N], Failure> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| Failure::usage(format!("no OS randomness: {e}")))?;
    Ok(buf)
}

/// `linkgate keygen [--kid ID] [--json]`
pub fn keygen(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(argv, &[("kid", Kind::Value), ("json", Kind::Flag)])?;
    if let Some(p) = a.positional.first() {
        return Err(Failure::usage(format!("unexpected argument {p:?}")));
    }
    let kid_text = match a.value("kid") {
        Some(k) => k.to_owned(),
        None => format!("k{}", util::now()),
    };
    let kid = KeyId::parse(&kid_text).ok_or_else(|| Failure::usage("--kid must be 1-32 of A-Z a-z 0-9 _ -"))?;
    let secret: [u8; 32] = random()?;
    let entry = format_entry(&kid, &secret);
    if a.flag("json") {
        println!("{}", json!({ "kid": kid.as_str(), "entry": entry }));
    } else {
        println!("{entry}");
    }
    Ok(EXIT_OK)
}

const SIGN_SPEC: &[(&str, Kind)] = &[
    ("path", Kind::Value),
    ("prefix", Kind::Flag),
    ("whole-bucket", Kind::Flag),
    ("ttl", Kind::Value),
    ("expires-at", Kind::Value),
    ("not-before", Kind::Value),
    ("issued-at", Kind::Value),
    ("kid", Kind::Value),
    ("sub", Kind::Value),
    ("tenant", Kind::Value),
    ("ip", Kind::Many),
    ("host", Kind::Value),
    ("uses", Kind::Value),
    ("mode", Kind::Value),
    ("filename", Kind::Value),
    ("content-type", Kind::Value),
    ("base", Kind::Value),
    ("keys", Kind::Value),
    ("max-ttl", Kind::Value),
    ("json", Kind::Flag),
];

/// `linkgate sign ...`
pub fn sign(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(argv, SIGN_SPEC)?;
    if let Some(p) = a.positional.first() {
        return Err(Failure::usage(format!("unexpected argument {p:?}")));
    }
    let path = a.value("path").ok_or_else(|| Failure::usage("--path is required"))?;
    let expiry = match (a.value("ttl"), a.value("expires-at")) {
        (Some(t), None) => Expiry::Ttl(
            parse_duration(t).ok_or_else(|| Failure::usage(format!("--ttl {t:?}: use e.g. 90s, 15m, 24h, 7d")))?,
        ),
        (None, Some(e)) => Expiry::At(util::parse_unix("expires-at", e)?),
        (Some(_), Some(_)) => return Err(Failure::usage("give --ttl or --expires-at, not both")),
        (None, None) => return Err(Failure::usage("--ttl or --expires-at is required")),
    };
    let max_ttl = match a.value("max-ttl") {
        Some(t) => parse_duration(t).ok_or_else(|| Failure::usage(format!("--max-ttl {t:?}: use e.g. 7d")))?,
        None => TimeRules::default().max_ttl_secs,
    };
    let uses = a
        .value("uses")
        .map(|u| u.parse::<u64>().map_err(|_| Failure::usage(format!("--uses must be a whole number, got {u:?}"))))
        .transpose()?;
    let req = LinkRequest {
        path: path.to_owned(),
        prefix: a.flag("prefix"),
        whole_bucket: a.flag("whole-bucket"),
        expiry: Some(expiry),
        not_before: a.value("not-before").map(|v| util::parse_unix("not-before", v)).transpose()?,
        issued_at: a.value("issued-at").map(|v| util::parse_unix("issued-at", v)).transpose()?,
        host: a.value("host").map(str::to_owned),
        sub: a.value("sub").map(str::to_owned),
        tenant: a.value("tenant").map(str::to_owned),
        ip: a.values("ip").to_vec(),
        uses,
        mode: a.value("mode").map(str::to_owned),
        filename: a.value("filename").map(str::to_owned),
        content_type: a.value("content-type").map(str::to_owned),
    };
    let ring = util::load_keys(a.value("keys"))?;
    let key = match a.value("kid") {
        Some(k) => ring.get(k).ok_or_else(|| Failure::usage(format!("no key with id {k:?} in the key ring")))?,
        None => ring.signing_key(),
    };
    let jti = Jti(random()?);
    let signed = sign_link(&req, key, jti, util::now(), max_ttl, a.value("base")).map_err(|e| {
        let option = match e.field {
            Field::Scope => "path".to_owned(),
            f => f.as_str().replace('_', "-"),
        };
        Failure::usage(format!("--{option}: {}", e.reason))
    })?;
    let SignedLink { url, token, claims } = signed;
    if a.flag("json") {
        println!("{}", json!({ "url": url, "token": token, "jti": claims.jti.to_hex(), "expires_at": claims.exp }));
    } else {
        println!("{url}");
    }
    Ok(EXIT_OK)
}

/// Split a link or bare token into (token, raw path, host).
fn split_link(input: &str) -> Result<(String, Option<String>, Option<String>), Failure> {
    let input = input.trim();
    let Some(rest) = input.strip_prefix("https://").or_else(|| input.strip_prefix("http://")) else {
        return Ok((input.to_owned(), None, None));
    };
    let (authority, path_query) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let path_query = path_query.split('#').next().unwrap_or("");
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let token = token_from_query(query)
        .map_err(|_| Failure::refused("the link has more than one lg parameter (token_malformed)"))?
        .ok_or_else(|| Failure::refused("the link has no lg parameter (token_missing)"))?;
    Ok((token.to_owned(), Some(path.to_owned()), Some(authority.to_owned())))
}

struct Verdict {
    code: Option<Code>,
    reason: &'static str,
    checked: Vec<&'static str>,
}

fn judge(
    ring: &KeyRing,
    token: UnverifiedToken,
    path: Option<&CanonicalPath>,
    host: Option<&str>,
    ip: Option<IpAddr>,
    now: u64,
) -> (Verdict, Claims) {
    let shown = token.claims_unverified().clone();
    let Some(key) = ring.get(token.kid().as_str()) else {
        return (Verdict { code: Some(Code::KeyUnknown), reason: "unknown_kid", checked: vec![] }, shown);
    };
    let claims = match token.verify_tag(key) {
        Ok(c) => c,
        Err(_) => return (Verdict { code: Some(Code::SignatureInvalid), reason: "bad_tag", checked: vec![] }, shown),
    };
    let mut checked = vec!["signature", "time"];
    if let Err(reason) = check_time(&claims, now, &TimeRules::default()) {
        return (Verdict { code: reason.code(), reason: reason.as_str(), checked }, claims);
    }
    // Bindings the caller could not tell us about are reported as unchecked
    // rather than guessed: the facts below satisfy them trivially.
    let scope_path = match path {
        Some(p) => {
            checked.push("scope");
            p.clone()
        }
        None => match &claims.scope {
            linkgate_core::Scope::Object(p) => p.clone(),
            linkgate_core::Scope::Prefix(_) => {
                return (Verdict { code: None, reason: "", checked }, claims);
            }
        },
    };
    let host_fact = match (host, &claims.host) {
        (Some(h), Some(_)) => {
            checked.push("host");
            Some(h.to_owned())
        }
        (_, Some(c)) => Some(c.as_str().to_owned()),
        (_, None) => None,
    };
    let ip_fact = match (ip, claims.ip.first()) {
        (Some(i), Some(_)) => {
            checked.push("ip");
            Some(i)
        }
        (_, Some(linkgate_core::ip::Cidr::V4 { addr, .. })) => Some(IpAddr::V4(*addr)),
        (_, Some(linkgate_core::ip::Cidr::V6 { addr, .. })) => Some(IpAddr::V6(*addr)),
        (_, None) => None,
    };
    let raw = scope_path.to_url_path();
    let facts = RequestFacts {
        raw_path: &raw,
        token: None,
        method: Method::Get,
        host: host_fact.as_deref(),
        client_ip: ip_fact,
        now,
    };
    match check_binding(&claims, &scope_path, &facts) {
        Ok(()) => (Verdict { code: None, reason: "", checked }, claims),
        Err(reason) => (Verdict { code: reason.code(), reason: reason.as_str(), checked }, claims),
    }
}

/// `linkgate inspect (LINK_OR_TOKEN | -) [--keys FILE] [--path P] [--client-ip IP] [--now UNIX] [--json]`
pub fn inspect(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(
        argv,
        &[
            ("keys", Kind::Value),
            ("path", Kind::Value),
            ("client-ip", Kind::Value),
            ("now", Kind::Value),
            ("json", Kind::Flag),
        ],
    )?;
    let input = match a.positional.as_slice() {
        [one] => one.clone(),
        [] => return Err(Failure::usage("inspect needs a link or token")),
        _ => return Err(Failure::usage("inspect takes one link or token")),
    };
    let now = a.value("now").map(|v| util::parse_unix("now", v)).transpose()?.unwrap_or_else(util::now);
    let client_ip = a
        .value("client-ip")
        .map(|v| v.parse::<IpAddr>().map_err(|_| Failure::usage(format!("--client-ip {v:?} is not an IP address"))))
        .transpose()?;
    let ring = util::maybe_keys(a.value("keys"))?;
    if input != "-" {
        return inspect_one(&input, &a, ring.as_ref(), client_ip, now, a.flag("json"));
    }
    // `-`: one link or token per line on stdin, one JSON line each (bulk
    // checks, e.g. the JS package's cross-signing test, without a process
    // per link). Exit 0 only if every one is valid (or unverified).
    let mut worst = EXIT_OK;
    for line in std::io::stdin().lines() {
        let line = line.map_err(|e| Failure::usage(format!("cannot read stdin: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        worst = worst.max(inspect_one(&line, &a, ring.as_ref(), client_ip, now, true)?);
    }
    Ok(worst)
}

/// Inspect one link or token and print its verdict.
fn inspect_one(
    input: &str,
    a: &Args,
    ring: Option<&KeyRing>,
    client_ip: Option<IpAddr>,
    now: u64,
    json_out: bool,
) -> Result<u8, Failure> {
    let (token_text, url_path, url_host) = match split_link(input) {
        Ok(parts) => parts,
        Err(f) => {
            let code = if f.message.contains("token_missing") { Code::TokenMissing } else { Code::TokenMalformed };
            return Ok(report_refusal(json_out, code, "link", None, &f.message));
        }
    };
    let path_text = a.value("path").map(str::to_owned).or(url_path);
    let path = match &path_text {
        Some(p) if a.value("path").is_some() => match CanonicalPath::parse(p) {
            Ok(c) => Some(c),
            Err(e) => {
                return Ok(report_refusal(json_out, Code::PathInvalid, e.as_str(), None, "the path is not canonical"))
            }
        },
        // A folder link's own URL (as mint returns it) names no object: the
        // folder is the scope itself.
        Some(p) if p.ends_with('/') => None,
        Some(p) => match CanonicalPath::from_request(p) {
            Ok(c) => Some(c),
            Err(e) => {
                return Ok(report_refusal(
                    json_out,
                    Code::PathInvalid,
                    e.as_str(),
                    None,
                    "the link's path is not canonical",
                ))
            }
        },
        None => None,
    };
    let token = match UnverifiedToken::decode(&token_text) {
        Ok(t) => t,
        Err(e) => {
            return Ok(report_refusal(
                json_out,
                Code::TokenMalformed,
                e.name(),
                None,
                &format!("cannot decode the token: {e}"),
            ))
        }
    };
    let Some(ring) = ring else {
        print_claims(json_out, token.claims_unverified(), now, None, "unverified (no keys given)");
        return Ok(EXIT_OK);
    };
    let (v, claims) = judge(ring, token, path.as_ref(), url_host.as_deref(), client_ip, now);
    let status = match v.code {
        None => format!("valid (checked: {})", v.checked.join(", ")),
        Some(c) => format!("refused: {} ({}) — {}", c.as_str(), c.status(), c.detail()),
    };
    print_claims(json_out, &claims, now, Some(&v), &status);
    Ok(if v.code.is_none() { EXIT_OK } else { EXIT_REFUSED })
}

fn report_refusal(json_out: bool, code: Code, reason: &str, claims: Option<&Claims>, message: &str) -> u8 {
    if json_out {
        println!(
            "{}",
            util::json_line(&json!({ "verdict": "refused", "code": code.as_str(), "status": code.status(),
                                      "reason": reason, "claims": claims.map(Claims::to_json) }))
        );
    } else {
        println!("verdict   refused: {} ({}) — {}", code.as_str(), code.status(), message);
    }
    EXIT_REFUSED
}

fn print_claims(json_out: bool, c: &Claims, now: u64, v: Option<&Verdict>, status: &str) {
    if json_out {
        let (verdict, code, status_code, reason, checked) = match v {
            None => ("unverified", None, None, None, vec![]),
            Some(Verdict { code: None, checked, .. }) => ("valid", None, None, None, checked.clone()),
            Some(Verdict { code: Some(c), reason, checked }) => {
                ("refused", Some(c.as_str()), Some(c.status()), Some(*reason), checked.clone())
            }
        };
        println!(
            "{}",
            util::json_line(&json!({ "verdict": verdict, "code": code, "status": status_code, "reason": reason,
                                      "checked": checked, "claims": c.to_json() }))
        );
        return;
    }
    let mut rows: Vec<(&str, String)> = vec![
        ("kid", c.kid.to_string()),
        ("jti", c.jti.to_hex()),
        ("issued", format!("{} ({})", util::rfc3339(c.iat), util::relative(c.iat, now))),
        ("expires", format!("{} ({})", util::rfc3339(c.exp), util::relative(c.exp, now))),
    ];
    if let Some(n) = c.nbf {
        rows.push(("not before", format!("{} ({})", util::rfc3339(n), util::relative(n, now))));
    }
    let kind = if c.scope.is_prefix() { "prefix" } else { "object" };
    rows.push(("scope", format!("{} ({kind})", c.scope)));
    let opt = |v: Option<&str>| v.map(str::to_owned);
    for (name, value) in [
        ("host", opt(c.host.as_ref().map(|h| h.as_str()))),
        ("sub", opt(c.sub.as_ref().map(|h| h.as_str()))),
        ("tenant", opt(c.tenant.as_ref().map(|h| h.as_str()))),
        ("uses", c.uses.map(|u| u.to_string())),
        ("mode", c.mode.map(|m| m.as_str().to_owned())),
        ("filename", opt(c.filename.as_ref().map(|h| h.as_str()))),
        ("type", opt(c.content_type.as_ref().map(|h| h.as_str()))),
    ] {
        if let Some(v) = value {
            rows.push((name, v));
        }
    }
    if !c.ip.is_empty() {
        rows.push(("ip", c.ip.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")));
    }
    // Claims come from an untrusted link (and are unverified without keys):
    // a file name may hold bidi controls, so everything is shown escaped.
    for (k, v) in rows {
        println!("{k:<10}{}", util::shown(&v));
    }
    println!("{:<10}{status}", "verdict");
}

//! Commands that need no server: keygen, sign, inspect.

use linkgate_core::duration::parse_duration;
use linkgate_core::ed25519::native::PrivateKey;
use linkgate_core::ed25519::PublicKeyRing;
use linkgate_core::gate::{expand_path_form, split_url};
use linkgate_core::inspect::{self, Facts, Inspection};
use linkgate_core::keys::{format_entry, KeyId};
use linkgate_core::mint::{link_base, url_for, Expiry, LinkRequest};
use linkgate_core::path::encode_path;
use linkgate_core::policy::{effective_mode, parse_size, Policy, Rule};
use linkgate_core::sealed::AnyToken;
use linkgate_core::token::{Claims, Jti, Mode};
use linkgate_core::verify::{query_token, QueryToken, TimeRules};
use linkgate_core::{Code, KeyRing, Reason};
use serde_json::json;

use crate::args::{self, Args};
use crate::util::{self, Failure};
use crate::{EXIT_OK, EXIT_REFUSED};

fn random<const N: usize>() -> Result<[u8; N], Failure> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| Failure::usage(format!("no OS randomness: {e}")))?;
    Ok(buf)
}

fn no_positional(a: &Args) -> Result<(), Failure> {
    match a.positional.first() {
        Some(p) => Err(Failure::usage(format!("unexpected argument {p:?}"))),
        None => Ok(()),
    }
}

/// `linkgate keygen`
pub fn keygen(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(argv, &args::KEYGEN)?;
    no_positional(&a)?;
    let kid_text = match a.value("kid") {
        Some(k) => k.to_owned(),
        None => format!("k{}", util::now()),
    };
    let kid = KeyId::parse(&kid_text).ok_or_else(|| Failure::usage("--kid must be 1-32 of A-Z a-z 0-9 _ -"))?;
    let secret: [u8; 32] = random()?;
    if a.flag("ed25519") {
        return keygen_ed25519(&a, kid, &secret);
    }
    if a.value("tenant").is_some() || a.value("prefix").is_some() {
        return Err(Failure::usage("--tenant and --prefix constrain an Ed25519 key: add --ed25519"));
    }
    let entry = format_entry(&kid, &secret);
    if a.flag("json") {
        println!("{}", json!({ "kid": kid.as_str(), "entry": entry }));
    } else {
        println!("{entry}");
    }
    Ok(EXIT_OK)
}

/// `linkgate keygen --ed25519`: the private key (for the signer) and the
/// public entry (for the edge), checked by parsing it as the worker will.
fn keygen_ed25519(a: &Args, kid: KeyId, seed: &[u8; 32]) -> Result<u8, Failure> {
    let key = PrivateKey::from_seed(kid, seed);
    let mut public = key.public_entry();
    let mut constraints = Vec::new();
    if let Some(t) = a.value("tenant") {
        constraints.push(format!("tenant={t}"));
    }
    if let Some(p) = a.value("prefix") {
        constraints.push(format!("prefix={}", encode_path(p)));
    }
    if !constraints.is_empty() {
        public = format!("{public}@{}", constraints.join(";"));
    }
    PublicKeyRing::parse(&public).map_err(|e| Failure::usage(e.to_string()))?;
    if a.flag("json") {
        println!("{}", json!({ "kid": key.kid().as_str(), "private_key": key.to_entry(), "public_entry": public }));
    } else {
        println!("LINKGATE_SIGNING_KEY={}", key.to_entry());
        println!("LINKGATE_PUBLIC_KEYS={public}");
    }
    Ok(EXIT_OK)
}

/// The Ed25519 private key of `sign --ed25519-key FILE`, else of the
/// environment's `LINKGATE_SIGNING_KEY`, if either is given.
fn ed25519_key(a: &Args) -> Result<Option<PrivateKey>, Failure> {
    let (text, source) = match a.value("ed25519-key") {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::usage(format!("--ed25519-key: cannot read {path}: {e}")))?;
            (util::var_from_file_text(&text, "LINKGATE_SIGNING_KEY"), format!("--ed25519-key {path}"))
        }
        None => match std::env::var("LINKGATE_SIGNING_KEY") {
            Ok(v) => (v, "LINKGATE_SIGNING_KEY".to_owned()),
            Err(_) => return Ok(None),
        },
    };
    PrivateKey::parse(&text)
        .map(Some)
        .ok_or_else(|| Failure::usage(format!("{source}: not an Ed25519 private key (kid:base64url-32-byte-seed)")))
}

/// `linkgate sign`
pub fn sign(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(argv, &args::SIGN)?;
    no_positional(&a)?;
    let path = a.value("path").ok_or_else(|| Failure::usage("--path is required"))?;
    let expiry = match (a.value("ttl"), a.value("expires-at")) {
        (Some(t), None) => Expiry::Ttl(
            parse_duration(t).ok_or_else(|| Failure::usage(format!("--ttl {t:?}: use e.g. 90s, 15m, 24h, 7d")))?,
        ),
        (None, Some(e)) => Expiry::At(util::parse_unix("expires-at", e)?),
        (Some(_), Some(_)) => return Err(Failure::usage("give --ttl or --expires-at, not both")),
        (None, None) => return Err(Failure::usage("--ttl or --expires-at is required")),
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
        sealed: a.flag("sealed"),
    };
    let vars = util::Vars::load(a.value("keys"))?;
    // The worker's maximum lifetime: a link it would refuse is refused here.
    let rules = vars.time_rules()?;
    if let Some(private) = ed25519_key(&a)? {
        if req.sealed {
            return Err(Failure::usage(
                "--sealed needs an HMAC key of LINKGATE_KEYS; Ed25519 links are signed, not sealed",
            ));
        }
        let claims = req
            .build(private.kid().clone(), Jti(random()?), util::now(), rules.max_ttl_secs)
            .map_err(|e| util::claim_failure(e, Some(rules.max_ttl_secs)))?;
        let token = private.sign(&claims).map_err(|e| util::claim_failure(e, None))?;
        return print_link(&a, &claims, &token, false);
    }
    let ring = vars.keys()?;
    let key = match a.value("kid") {
        Some(k) => ring.get(k).ok_or_else(|| Failure::usage(format!("--kid: no key with id {k:?} in the key ring")))?,
        None => ring.signing_key(),
    };
    let jti = Jti(random()?);
    let claims = req
        .build(key.kid().clone(), jti, util::now(), rules.max_ttl_secs)
        .map_err(|e| util::claim_failure(e, Some(rules.max_ttl_secs)))?;
    let token = if req.sealed {
        // A fresh random nonce per link (docs/link-format.md §17.2).
        claims.seal(key, &random()?)
    } else {
        claims.sign(key)
    }
    .map_err(|e| util::claim_failure(e, None))?;
    print_link(&a, &claims, &token, req.sealed)
}

/// Print a signed link's URL (or JSON).
fn print_link(a: &Args, claims: &Claims, token: &str, sealed: bool) -> Result<u8, Failure> {
    let base = match (a.value("base"), &claims.host) {
        (Some(b), h) => link_base(b, h.as_ref()).map_err(|e| Failure::usage(format!("--base {b:?}: {e}")))?,
        (None, Some(h)) => format!("https://{}", h.as_str()),
        (None, None) => "http://127.0.0.1:8787".to_owned(),
    };
    let url = url_for(&base, &claims.scope, token, sealed);
    if a.flag("json") {
        println!(
            "{}",
            json!({ "url": url, "token": token, "jti": claims.jti.to_hex(), "expires_at": claims.exp, "sealed": sealed })
        );
    } else {
        println!("{url}");
    }
    Ok(EXIT_OK)
}

/// What a link (or bare token) given to `inspect` says about the request.
struct Link {
    /// The token, or why the query has none usable (answered after the path).
    token: Result<String, Reason>,
    /// A note on a query without `lg`.
    note: Option<&'static str>,
    raw_path: Option<String>,
    host: Option<String>,
}

/// Split a link (`http(s)://…`) into its request facts, as the edge would
/// (`docs/link-format.md` §1); anything else is a bare token.
fn split_link(input: &str) -> Link {
    let input = input.trim_ascii();
    let is_url =
        ["https://", "http://"].iter().any(|s| input.get(..s.len()).is_some_and(|p| p.eq_ignore_ascii_case(s)));
    if !is_url {
        return Link { token: Ok(input.to_owned()), note: None, raw_path: None, host: None };
    }
    let (authority, path, query) = split_url(input);
    let (token, note) = match query_token(query) {
        Ok(QueryToken::Link(t)) => (Ok(t.to_owned()), None),
        Ok(QueryToken::Absent) => (Ok(String::new()), Some("the link has no lg parameter")),
        Ok(QueryToken::Session(_)) => (Ok(String::new()), Some("a download-session URL (lgs=) is not a link")),
        Ok(QueryToken::Media(_)) => (Ok(String::new()), Some("a media-session URL (lgm=) is not a link")),
        Err(r) => (Err(r), None),
    };
    Link { token, note, raw_path: Some(path.to_owned()), host: Some(authority.to_owned()) }
}

/// The option that gives the fact a skipped check needs.
fn option_for(needs: &str) -> &'static str {
    match needs {
        "path" => "--path",
        "host" => "--host",
        "client_ip" => "--client-ip",
        _ => "--method",
    }
}

/// `linkgate inspect (LINK_OR_TOKEN | -)`
pub fn inspect(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(argv, &args::INSPECT)?;
    let input = match a.positional.as_slice() {
        [one] => one.clone(),
        [] => return Err(Failure::usage("inspect needs a link or token (or - for one per stdin line)")),
        _ => return Err(Failure::usage("inspect takes one link or token (or - for one per stdin line)")),
    };
    let now = a.value("now").map(|v| util::parse_unix("now", v)).transpose()?.unwrap_or_else(util::now);
    let vars = util::Vars::load(a.value("keys"))?;
    let ring = vars.maybe_keys()?;
    let rules = vars.time_rules()?;
    let delivery = delivery_facts(&a, &vars)?;
    let delivery = delivery.as_ref();
    if input != "-" {
        return Ok(inspect_one(&input, &a, ring.as_ref(), &rules, now, a.flag("json"), delivery));
    }
    // `-`: one link or token per stdin line, one JSON line each (bulk checks,
    // e.g. the JS package's cross-signing test, without a process per link).
    // Exit 0 only if every one is valid (or unverified).
    let mut worst = EXIT_OK;
    for line in std::io::stdin().lines() {
        let line = line.map_err(|e| Failure::usage(format!("cannot read stdin: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        worst = worst.max(inspect_one(line.trim(), &a, ring.as_ref(), &rules, now, true, delivery));
    }
    Ok(worst)
}

/// What `--object-size` (and `--classification`) ask about: the rule, the
/// size, and whether presigning is configured, read as the worker reads them.
struct DeliveryFacts {
    rule: Rule,
    size: u64,
    redirect_available: bool,
}

fn delivery_facts(a: &Args, vars: &util::Vars) -> Result<Option<DeliveryFacts>, Failure> {
    let Some(text) = a.value("object-size") else {
        if a.value("classification").is_some() {
            return Err(Failure::usage("--classification needs --object-size"));
        }
        return Ok(None);
    };
    let size = parse_size(text).ok_or_else(|| {
        Failure::usage(format!("--object-size: {text:?} is not a size (bytes, or e.g. 64MiB, 500MB)"))
    })?;
    let policy =
        Policy::parse(&vars.get("LINKGATE_POLICY").unwrap_or_default()).map_err(|e| Failure::usage(e.to_string()))?;
    let redirect =
        linkgate_core::config::redirect_config(&|name| vars.get(name)).map_err(|e| Failure::usage(e.to_string()))?;
    Ok(Some(DeliveryFacts {
        rule: policy.rule_for(a.value("classification")),
        size,
        redirect_available: redirect.is_some(),
    }))
}

/// The delivery a link's claims get: a text line and a JSON object.
fn delivery_of(d: &DeliveryFacts, c: &Claims) -> (String, serde_json::Value) {
    let (mode, refused) = match effective_mode(&d.rule, c.mode, Some(d.size), d.redirect_available) {
        None => (None, Some(format!("{}.modes", d.rule.name))),
        Some(Mode::Redirect) if !d.redirect_available => (None, Some("redirect_unavailable".to_owned())),
        Some(m) => (Some(m.as_str()), None),
    };
    let why = match (c.mode, d.rule.redirect_above) {
        (Some(m), _) => format!("the link asks for {}", m.as_str()),
        (None, Some(t)) => format!("redirect_above {t} bytes"),
        (None, None) => "the rule's first mode".to_owned(),
    };
    let presigning = if d.redirect_available { "presigning on" } else { "presigning off" };
    let text = match (&mode, &refused) {
        (Some(m), _) => format!("{m} ({} rule, {}-byte object, {why}; {presigning})", d.rule.name, d.size),
        (None, r) => format!(
            "refused: {} ({} rule, {}-byte object; {presigning})",
            r.as_deref().unwrap_or(""),
            d.rule.name,
            d.size
        ),
    };
    let value = json!({ "classification": d.rule.name, "object_size": d.size, "mode": mode,
                        "refused": refused, "presigning": d.redirect_available });
    (text, value)
}

/// Inspect one link or token, print its verdict, return the exit status.
fn inspect_one(
    input: &str,
    a: &Args,
    ring: Option<&KeyRing>,
    rules: &TimeRules,
    now: u64,
    json_out: bool,
    delivery: Option<&DeliveryFacts>,
) -> u8 {
    // A path-less link (sealed, `/_lg/<token>`) is read as the request it
    // stands for, as the edge reads it (docs/link-format.md §17.7).
    let expanded = expand_path_form(ring, input.trim_ascii());
    let link = split_link(expanded.as_deref().unwrap_or(input));
    // --path is decoded text, as for sign: encode it like a request path.
    let raw_path = a.value("path").map(encode_path).or(link.raw_path);
    let host = a.value("host").map(str::to_owned).or(link.host);
    let facts = Facts {
        token: link.token.as_deref().map_err(|r| *r),
        raw_path: raw_path.as_deref(),
        host: host.as_deref(),
        client_ip: a.value("client-ip"),
        method: a.value("method"),
        now,
    };
    let Some(ring) = ring else {
        return match inspect::decode(&facts) {
            Ok(AnyToken::Plain(token)) => {
                let c = token.claims_unverified();
                let d = delivery.map(|d| delivery_of(d, c));
                print_claims(json_out, c, now, None, "unverified (no keys given)", d);
                EXIT_OK
            }
            Ok(AnyToken::Ed25519(token)) => {
                let c = token.claims_unverified();
                let d = delivery.map(|d| delivery_of(d, c));
                print_claims(json_out, c, now, None, "unverified Ed25519 link (no keys given)", d);
                EXIT_OK
            }
            Ok(AnyToken::Sealed(token)) => {
                print_sealed(json_out, token.kid());
                EXIT_OK
            }
            Err(reason) => report_refusal(json_out, reason, link.note),
        };
    };
    let ins = inspect::inspect(ring, rules, &facts);
    let Some(claims) = &ins.claims else {
        return report_refusal(json_out, ins.reason.unwrap_or(Reason::BadTag), link.note);
    };
    let status = match ins.code {
        None => format!("valid (checked: {})", ins.checked.join(", ")),
        Some(c) => format!("refused: {} ({}) — {}", c.as_str(), c.status(), c.detail()),
    };
    print_claims(json_out, claims, now, Some(&ins), &status, delivery.map(|d| delivery_of(d, claims)));
    if ins.code.is_none() {
        EXIT_OK
    } else {
        EXIT_REFUSED
    }
}

/// A sealed token without keys: nothing but its key id can be read.
fn print_sealed(json_out: bool, kid: &KeyId) {
    if json_out {
        println!(
            "{}",
            util::json_line(&json!({ "verdict": "unverified", "sealed": true, "kid": kid.as_str(), "code": null,
                                      "status": null, "reason": null, "checked": [], "skipped": [], "claims": null }))
        );
    } else {
        println!("{:<10}{}", "sealed", "yes: the claims are encrypted (give --keys to read them)");
        println!("{:<10}{}", "kid", util::shown(kid.as_str()));
        println!("{:<10}unverified (no keys given)", "verdict");
    }
}

/// A refusal before any claim could be trusted (path, token, key, tag).
fn report_refusal(json_out: bool, reason: Reason, note: Option<&str>) -> u8 {
    let code = reason.code().unwrap_or(Code::TokenMalformed);
    if json_out {
        println!(
            "{}",
            util::json_line(&json!({ "verdict": "refused", "code": code.as_str(), "status": code.status(),
                                      "reason": reason.as_str(), "checked": [], "skipped": [], "claims": null }))
        );
    } else {
        let why = note.map_or_else(|| format!("reason: {}", reason.as_str()), str::to_owned);
        println!("verdict   refused: {} ({}) — {} ({why})", code.as_str(), code.status(), code.detail());
    }
    EXIT_REFUSED
}

fn print_claims(
    json_out: bool,
    c: &Claims,
    now: u64,
    v: Option<&Inspection>,
    status: &str,
    delivery: Option<(String, serde_json::Value)>,
) {
    let skipped: Vec<(&str, &str)> =
        v.map(|i| i.skipped.iter().map(|s| (s.check, option_for(s.needs))).collect()).unwrap_or_default();
    if json_out {
        let (verdict, checked) = match v {
            None => ("unverified", vec![]),
            Some(i) => (if i.code.is_none() { "valid" } else { "refused" }, i.checked.clone()),
        };
        let code = v.and_then(|i| i.code);
        let skipped: Vec<_> = skipped.iter().map(|(check, needs)| json!({ "check": check, "needs": needs })).collect();
        let mut out = json!({ "verdict": verdict, "code": code.map(Code::as_str),
                              "status": code.map(Code::status), "reason": v.and_then(|i| i.reason).map(Reason::as_str),
                              "checked": checked, "skipped": skipped, "sealed": v.is_some_and(|i| i.sealed),
                              "claims": c.to_json() });
        if let (Some((_, d)), Some(map)) = (delivery, out.as_object_mut()) {
            map.insert("delivery".to_owned(), d);
        }
        println!("{}", util::json_line(&out));
        return;
    }
    let mut rows: Vec<(&str, String)> = Vec::new();
    if v.is_some_and(|i| i.sealed) {
        rows.push(("sealed", "yes".to_owned()));
    }
    rows.extend([
        ("kid", c.kid.to_string()),
        ("jti", c.jti.to_hex()),
        ("issued", format!("{} ({})", util::rfc3339(c.iat), util::relative(c.iat, now))),
        ("expires", format!("{} ({})", util::rfc3339(c.exp), util::relative(c.exp, now))),
    ]);
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
    if let Some((text, _)) = delivery {
        println!("{:<10}{text}", "delivery");
    }
    if !skipped.is_empty() {
        let list: Vec<String> = skipped.iter().map(|(check, needs)| format!("{check} (no {needs})")).collect();
        println!("{:<10}{}", "skipped", list.join(", "));
    }
}

//! `linkgate cat sign` and `linkgate cat inspect`: Common Access Tokens
//! (CTA-5007) for testing a deployment (`docs/cat.md`).

use linkgate_core::cat::{self, CatConfig, CatRequest, MintCat};
use linkgate_core::duration::parse_duration;
use linkgate_core::ip::{parse_addr, Cidr};
use linkgate_core::path::CanonicalPath;
use linkgate_core::{KeyRing, Reason};
use serde_json::json;

use crate::args::{self, Args};
use crate::util::{self, Failure};
use crate::{EXIT_OK, EXIT_REFUSED};

/// `linkgate cat <sign|inspect> ...`
pub fn run(argv: &[String]) -> Result<u8, Failure> {
    match argv.split_first() {
        Some((sub, rest)) if sub == "sign" || sub == "inspect" => {
            let cmd = if sub == "sign" { &args::CAT_SIGN } else { &args::CAT_INSPECT };
            if args::wants_help(rest) {
                print!("{}", cmd.help());
                return Ok(EXIT_OK);
            }
            if sub == "sign" {
                sign(rest)
            } else {
                inspect(rest)
            }
        }
        Some((h, _)) if h == "--help" || h == "-h" => {
            print!("{}\n{}", args::CAT_SIGN.help(), args::CAT_INSPECT.help());
            Ok(EXIT_OK)
        }
        _ => Err(Failure::usage("use `linkgate cat sign` or `linkgate cat inspect` (see their --help)")),
    }
}

fn cat_keys(file: Option<&str>) -> Result<(KeyRing, util::Vars), Failure> {
    let vars = util::Vars::load(file)?;
    let text = vars.get("LINKGATE_CAT_KEYS").ok_or_else(|| {
        Failure::usage("no CAT keys: pass --keys FILE (with LINKGATE_CAT_KEYS=...) or set LINKGATE_CAT_KEYS")
    })?;
    // A bare file holds the value itself.
    let ring = KeyRing::parse(text.trim()).map_err(|e| Failure::usage(format!("LINKGATE_CAT_KEYS: {e}")))?;
    Ok((ring, vars))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.is_empty() {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| s.get(i..i + 2).and_then(|p| u8::from_str_radix(p, 16).ok())).collect()
}

fn uri_matcher(spec: &str) -> Result<(u8, i8, String), Failure> {
    let bad = || Failure::usage(format!("--uri {spec:?}: use COMPONENT:MATCH:VALUE, e.g. path:prefix:/vod/"));
    let mut parts = spec.splitn(3, ':');
    let (c, m, v) = (parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?);
    let comp = match c {
        "scheme" => 0,
        "host" => 1,
        "port" => 2,
        "path" => 3,
        "parent" => 5,
        "filename" => 6,
        "stem" => 7,
        "ext" => 8,
        _ => return Err(bad()),
    };
    let kind = match m {
        "exact" => 0,
        "prefix" => 1,
        "suffix" => 2,
        "contains" => 3,
        "sha256" => -1,
        _ => return Err(bad()),
    };
    Ok((comp, kind, v.to_owned()))
}

/// `linkgate cat sign`
pub fn sign(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(argv, &args::CAT_SIGN)?;
    if let Some(p) = a.positional.first() {
        return Err(Failure::usage(format!("unexpected argument {p:?}")));
    }
    let (ring, _) = cat_keys(a.value("keys"))?;
    let key = match a.value("kid") {
        Some(k) => ring.get(k).ok_or_else(|| Failure::usage(format!("--kid: no key {k:?} in LINKGATE_CAT_KEYS")))?,
        None => ring.signing_key(),
    };
    let secret = key_secret(a.value("keys"), key.kid().as_str())?;
    let iat = a.value("issued-at").map(|v| util::parse_unix("issued-at", v)).transpose()?.unwrap_or_else(util::now);
    let exp = match (a.value("ttl"), a.value("expires-at")) {
        (Some(t), None) => iat.saturating_add(
            parse_duration(t).ok_or_else(|| Failure::usage(format!("--ttl {t:?}: use e.g. 90s, 15m, 24h, 7d")))?,
        ),
        (None, Some(e)) => util::parse_unix("expires-at", e)?,
        (Some(_), Some(_)) => return Err(Failure::usage("give --ttl or --expires-at, not both")),
        (None, None) => return Err(Failure::usage("--ttl or --expires-at is required")),
    };
    let cti = match a.value("cti") {
        Some(h) => unhex(h).ok_or_else(|| Failure::usage("--cti must be hex"))?,
        None => {
            let mut b = [0u8; 16];
            getrandom::fill(&mut b).map_err(|e| Failure::usage(format!("no OS randomness: {e}")))?;
            b.to_vec()
        }
    };
    let catnip = a
        .values("ip")
        .iter()
        .map(|c| Cidr::parse(c).map_err(|e| Failure::usage(format!("--ip {c:?}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let catu = a.values("uri").iter().map(|u| uri_matcher(u)).collect::<Result<Vec<_>, _>>()?;
    let parse_n =
        |name: &str, v: &str| v.parse::<i64>().map_err(|_| Failure::usage(format!("--{name} {v:?}: a number")));
    let m = MintCat {
        kid: key.kid().as_str().to_owned(),
        iss: a.value("iss").map(str::to_owned),
        sub: a.value("sub").map(str::to_owned),
        aud: a.value("aud").map(str::to_owned),
        exp: Some(exp),
        nbf: a.value("not-before").map(|v| util::parse_unix("not-before", v)).transpose()?,
        iat: Some(iat),
        cti: Some(cti.clone()),
        catreplay: a.value("replay").map(|v| parse_n("replay", v).map(|n| n.unsigned_abs())).transpose()?,
        catv: None,
        catnip,
        catu,
        catm: a.values("method").to_vec(),
        crit: a.values("crit").iter().map(|c| parse_n("crit", c)).collect::<Result<Vec<_>, _>>()?,
        cwt_tag: !a.flag("no-cwt-tag"),
    };
    let token = cat::mint(&secret, &m)
        .ok_or_else(|| Failure::usage("--uri: one matcher of each kind per component (or the key cannot sign)"))?;
    let jti = cat::jti_of(Some(&cti), &[]).to_hex();
    if a.flag("json") {
        println!("{}", json!({ "token": token, "kid": m.kid, "cti": hex(&cti), "jti": jti, "expires_at": exp }));
    } else {
        println!("{token}");
    }
    Ok(EXIT_OK)
}

/// The raw secret of `kid` (the ring keeps only keyed HMAC states).
fn key_secret(file: Option<&str>, kid: &str) -> Result<Vec<u8>, Failure> {
    let vars = util::Vars::load(file)?;
    let text = vars.get("LINKGATE_CAT_KEYS").unwrap_or_default();
    text.trim()
        .split(',')
        .filter_map(|e| e.trim().split_once(':'))
        .find(|(k, _)| *k == kid)
        .and_then(|(_, v)| linkgate_core::b64::decode(v.trim().as_bytes()).ok())
        .ok_or_else(|| Failure::usage(format!("no key {kid:?} in LINKGATE_CAT_KEYS")))
}

fn claims_json(c: &cat::CatClaims) -> serde_json::Value {
    json!({
        "iss": c.iss, "sub": c.sub, "aud": c.aud, "exp": c.exp, "nbf": c.nbf, "iat": c.iat,
        "cti": c.cti.as_deref().map(hex),
        "catreplay": c.catreplay, "catv": c.catv,
        "catnip": c.catnip.as_ref().map(|n| n.iter().map(|c| c.to_string()).collect::<Vec<_>>()),
        "catu": c.catu.as_ref().map(|u| u.iter().map(|(comp, m)| format!("{comp:?} {m:?}")).collect::<Vec<_>>()),
        "catm": c.catm, "ignored_claims": c.ignored, "unevaluable": c.unevaluable,
    })
}

/// `linkgate cat inspect`
pub fn inspect(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(argv, &args::CAT_INSPECT)?;
    let token = match a.positional.as_slice() {
        [t] => t.trim().to_owned(),
        _ => return Err(Failure::usage("give exactly one token")),
    };
    let json_out = a.flag("json");
    let have_keys = a.value("keys").is_some() || std::env::var("LINKGATE_CAT_KEYS").is_ok();
    if !have_keys {
        return Ok(match cat::read_unverified(&token) {
            Ok((kid, alg, c)) => {
                let out = json!({ "verdict": "unverified (no keys given)", "kid": kid, "alg": alg, "claims": claims_json(&c) });
                print_out(json_out, &out);
                EXIT_OK
            }
            Err(e) => refused(json_out, Reason::Cat(e)),
        });
    }
    let (keys, vars) = cat_keys(a.value("keys"))?;
    let list = |name: &str| -> Vec<String> {
        vars.get(name)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let cfg = CatConfig {
        keys,
        issuers: list("LINKGATE_CAT_ISSUERS"),
        audiences: list("LINKGATE_CAT_AUDIENCES"),
        sources: cat::default_sources(),
    };
    let auth = match cat::authenticate(&cfg.keys, &token) {
        Ok(x) => x,
        Err(r) => return Ok(refused(json_out, r)),
    };
    let Some(url) = a.value("url") else {
        let checks = cat::authentic_checks(&cfg, &auth.claims, &auth.crit);
        let out = json!({
            "verdict": match checks { Ok(()) => "tag valid (no --url: time, catu, catnip, catm not checked)", Err(_) => "refused" },
            "code": checks.err().and_then(|r| r.code()).map(|c| c.as_str()),
            "reason": checks.err().map(|r| r.as_str()),
            "kid": auth.kid.as_str(),
            "jti": cat::jti_of(auth.claims.cti.as_deref(), &auth.tag).to_hex(),
            "claims": claims_json(&auth.claims),
        });
        print_out(json_out, &out);
        return Ok(if checks.is_ok() { EXIT_OK } else { EXIT_REFUSED });
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(|| Failure::usage("--url must be scheme://host/path"))?;
    let (authority, path_query) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let raw_path = path_query.split(['?', '#']).next().filter(|p| !p.is_empty()).unwrap_or("/");
    let path = match CanonicalPath::from_request(raw_path) {
        Ok(p) => p,
        Err(e) => return Ok(refused(json_out, Reason::Path(e))),
    };
    let now = a.value("now").map(|v| util::parse_unix("now", v)).transpose()?.unwrap_or_else(util::now);
    let rules = util::Vars::load(a.value("keys"))?.time_rules()?;
    let client_ip = match a.value("client-ip") {
        Some(ip) => Some(parse_addr(ip).ok_or_else(|| Failure::usage(format!("--client-ip {ip:?}: not an address")))?),
        None => None,
    };
    let req = CatRequest {
        token: &token,
        path: &path,
        scheme,
        authority,
        method: a.value("method").unwrap_or("GET"),
        client_ip,
        now,
    };
    match cat::verify(&cfg, &rules, &req) {
        Ok(link) => {
            let c = link.claims();
            let out = json!({
                "verdict": "valid", "kid": c.kid.as_str(), "jti": c.jti.to_hex(), "expires_at": c.exp,
                "uses": c.uses.map(|u| u.get()), "path": link.path().as_str(), "claims": claims_json(&auth.claims),
            });
            print_out(json_out, &out);
            Ok(EXIT_OK)
        }
        Err(r) => Ok(refused(json_out, r.reason)),
    }
}

fn print_out(json_out: bool, v: &serde_json::Value) {
    if json_out {
        println!("{v}");
    } else if let Some(obj) = v.as_object() {
        for (k, x) in obj {
            if !x.is_null() {
                println!("{k:<10} {x}");
            }
        }
    }
}

fn refused(json_out: bool, r: Reason) -> u8 {
    let code = r.code().map_or("invalid", |c| c.as_str());
    if json_out {
        println!("{}", json!({ "verdict": "refused", "code": code, "reason": r.as_str() }));
    } else {
        println!("refused: {code} ({})", r.as_str());
    }
    EXIT_REFUSED
}

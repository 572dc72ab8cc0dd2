//! `linkgate admin-token create` and `linkgate admin-token inspect`: scoped
//! admin credentials (`docs/admin.md`), minted offline with the root token.

use linkgate_core::credential::{Body, Capability, Refusal, UntrustedCredential};
use linkgate_core::duration::parse_duration;
use serde_json::{json, Value};

use crate::args::{self, Args};
use crate::online::load_token;
use crate::util::{self, Failure};
use crate::{EXIT_OK, EXIT_REFUSED};

/// `linkgate admin-token <create|inspect> ...`
pub fn run(argv: &[String]) -> Result<u8, Failure> {
    match argv.split_first() {
        Some((sub, rest)) if sub == "create" || sub == "inspect" => {
            let cmd = if sub == "create" { &args::ADMIN_TOKEN_CREATE } else { &args::ADMIN_TOKEN_INSPECT };
            if args::wants_help(rest) {
                print!("{}", cmd.help());
                return Ok(EXIT_OK);
            }
            if sub == "create" {
                create(rest)
            } else {
                inspect(rest)
            }
        }
        Some((h, _)) if h == "--help" || h == "-h" => {
            print!("{}\n{}", args::ADMIN_TOKEN_CREATE.help(), args::ADMIN_TOKEN_INSPECT.help());
            Ok(EXIT_OK)
        }
        _ => Err(Failure::usage(
            "use `linkgate admin-token create` or `linkgate admin-token inspect` (see their --help)",
        )),
    }
}

fn claims_json(b: &Body) -> Value {
    json!({
        "id": b.id_hex(),
        "name": b.name,
        "tenants": b.tenants.as_ref().map_or(json!("*"), |t| json!(t.iter().map(|l| l.as_str()).collect::<Vec<_>>())),
        "can": b.capabilities().map(Capability::as_str).collect::<Vec<_>>(),
        "prefix": b.prefix.as_ref().map(|p| p.as_str()),
        "iat": b.iat,
        "exp": b.exp,
    })
}

fn show(b: &Body, now: u64) {
    println!("id:       {}", b.id_hex());
    println!("name:     {}", b.name);
    match &b.tenants {
        None => println!("tenants:  every tenant"),
        Some(t) => println!("tenants:  {}", t.iter().map(|l| util::shown(l.as_str())).collect::<Vec<_>>().join(", ")),
    }
    println!("can:      {}", b.capabilities().map(Capability::as_str).collect::<Vec<_>>().join(", "));
    println!("prefix:   {}", b.prefix.as_ref().map_or("(every path)".to_owned(), |p| util::shown(p.as_str())));
    println!("issued:   {}", util::rfc3339(b.iat));
    println!("expires:  {} ({})", util::rfc3339(b.exp), util::relative(b.exp, now));
}

/// `linkgate admin-token create`
fn create(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(argv, &args::ADMIN_TOKEN_CREATE)?;
    if let Some(p) = a.positional.first() {
        return Err(Failure::usage(format!("unexpected argument {p:?}")));
    }
    let name = a.value("name").ok_or_else(|| Failure::usage("--name is required (who holds the credential)"))?;
    let tenants = match (a.values("tenant"), a.flag("all-tenants")) {
        ([], true) => None,
        ([], false) => return Err(Failure::usage("give --tenant ID (repeatable) or --all-tenants")),
        (_, true) => return Err(Failure::usage("give --tenant or --all-tenants, not both")),
        (t, false) => Some(t.to_vec()),
    };
    let caps_text = a.value("can").ok_or_else(|| Failure::usage("--can is required, e.g. --can mint,inspect"))?;
    let mut caps = Vec::new();
    for c in caps_text.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        caps.push(Capability::parse(c).ok_or_else(|| {
            Failure::usage(format!("--can: unknown capability {c:?} (mint, inspect, revoke, events, files)"))
        })?);
    }
    let ttl = a.value("ttl").ok_or_else(|| Failure::usage("--ttl is required, e.g. --ttl 90d"))?;
    let ttl = parse_duration(ttl).ok_or_else(|| Failure::usage("--ttl: use a duration such as 24h, 30d, 90d"))?;
    let root = load_token(a.value("admin-token-file"))?;
    if root.starts_with(linkgate_core::credential::PREFIX) {
        return Err(Failure::usage("a scoped credential cannot mint credentials: use the root LINKGATE_ADMIN_TOKEN"));
    }
    let now = util::now();
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| Failure::usage(format!("no OS randomness: {e}")))?;
    let body = Body::new(id, name, tenants.as_deref(), &caps, a.value("prefix"), now, now.saturating_add(ttl))
        .map_err(|e| Failure::usage(format!("--{}: {}", e.field, e.detail)))?;
    let text = body.sign(&root);
    if a.flag("json") {
        let mut v = claims_json(&body);
        if let Value::Object(m) = &mut v {
            m.insert("credential".into(), json!(text));
        }
        println!("{}", util::json_line(&v));
    } else {
        println!("{text}");
        eprintln!(
            "linkgate: credential {} ({}) until {}; kill it with `linkgate revoke --credential {} --reason ...`",
            body.id_hex(),
            body.name,
            util::rfc3339(body.exp),
            body.id_hex()
        );
    }
    Ok(EXIT_OK)
}

/// `linkgate admin-token inspect`
fn inspect(argv: &[String]) -> Result<u8, Failure> {
    let a = Args::parse(argv, &args::ADMIN_TOKEN_INSPECT)?;
    let [text] = a.positional.as_slice() else {
        return Err(Failure::usage("give exactly one credential (lgc.…)"));
    };
    let now = match a.value("now") {
        Some(v) => util::parse_unix("now", v)?,
        None => util::now(),
    };
    let Some(u) = UntrustedCredential::decode(text.trim()) else {
        if a.flag("json") {
            println!("{}", json!({ "verdict": "refused", "code": Refusal::Invalid.code() }));
        }
        return Err(Failure::refused(format!("{}: not an admin credential", Refusal::Invalid.code())));
    };
    let body = u.claims().clone();
    // Verify only when a root token is at hand; decoding alone proves nothing.
    let root = match a.value("admin-token-file") {
        Some(f) => Some(load_token(Some(f))?),
        None => std::env::var("LINKGATE_ADMIN_TOKEN").ok().filter(|t| !t.trim().is_empty()),
    };
    let verdict = root.map(|r| u.verify(r.trim(), now, linkgate_core::verify::DEFAULT_SKEW_SECS).map(|_| ()));
    if a.flag("json") {
        let mut v = claims_json(&body);
        if let Value::Object(m) = &mut v {
            let (word, code) = match &verdict {
                None => ("unverified", None),
                Some(Ok(())) => ("valid", None),
                Some(Err(r)) => ("refused", Some(r.code())),
            };
            m.insert("verdict".into(), json!(word));
            m.insert("code".into(), json!(code));
        }
        println!("{}", util::json_line(&v));
    } else {
        show(&body, now);
        match &verdict {
            None => println!("verdict:  unverified (no LINKGATE_ADMIN_TOKEN: the claims above are not checked)"),
            Some(Ok(())) => println!("verdict:  valid"),
            Some(Err(r)) => println!("verdict:  refused ({})", r.code()),
        }
    }
    match verdict {
        Some(Err(_)) => Ok(EXIT_REFUSED),
        _ => Ok(EXIT_OK),
    }
}

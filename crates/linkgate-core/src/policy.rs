//! Classification policy: what a link may do with an object, by the object's
//! R2 custom metadata `classification` (`public`, `internal`, `confidential`,
//! `restricted`).
//!
//! Configured with `LINKGATE_POLICY` (JSON, see `docs/policy.md`); every
//! classification missing from it keeps the safe default below. An object
//! without a classification is `default_classification` (`internal`); an
//! unknown classification value is treated as `restricted` (fail safe).

use super::duration::parse_duration;
use super::identity::IdentityRule;
use super::ip::Cidr;
use super::json::{self, Value};
use super::token::{Claims, Mode};

/// How downstream caches may keep a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheMode {
    Public,
    Private,
    NoStore,
}

/// Which denylist a download of the classification is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationMode {
    /// Workers KV: a revoke reaches every location within about 92 s
    /// (`docs/revocation.md`).
    Kv,
    /// KV and the strongly consistent registry (a Durable Object): a revoke
    /// applies to every download that starts after the admin API answered it.
    /// One registry round trip per download; fails closed when unreachable.
    Strict,
}

/// Whether a prefix link opens a media session for a player
/// (`media`, `docs/edge.md` "Media sessions").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaMode {
    /// No media sessions: every request needs its own link (the default).
    Off,
    /// A GET of an unbounded prefix link sets the `lgm` cookie, scoped to
    /// the prefix; requests under the prefix may present it instead of a link.
    Cookie,
    /// As `Cookie` for requests that carry the cookie, and HLS playlists
    /// (`.m3u8`) and DASH MPDs (`.mpd`) opened by such a link or session are rewritten as they
    /// stream so that every URI under the prefix carries `lgm=<session>`,
    /// for players and CDNs that drop cookies.
    Rewrite,
}

/// The rules for one classification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub max_ttl_secs: u64,
    pub modes: Vec<Mode>,
    pub require_sub: bool,
    pub require_ip: bool,
    /// With `require_ip`: the shortest IPv4 prefix length a link's range may
    /// have (`min_ip_prefix_v4`); IPv4-mapped IPv6 ranges count as IPv4.
    pub min_ip_prefix_v4: u8,
    /// With `require_ip`: the shortest IPv6 prefix length (`min_ip_prefix_v6`).
    pub min_ip_prefix_v6: u8,
    pub cache: CacheMode,
    pub max_age_secs: u64,
    /// ISO 3166 alpha-2 codes; None = any country.
    pub countries: Option<Vec<String>>,
    /// `revocation`: `strict` for `restricted`, `kv` for the others.
    pub revocation: RevocationMode,
    /// Only sealed links (`docs/link-format.md` §17) may reach such an
    /// object: a plain link is refused, `<name>.require_sealed`.
    pub require_sealed: bool,
    /// Hybrid delivery (`redirect_above`): a link that names no mode is
    /// redirected when the object is larger than this many bytes and
    /// streamed otherwise. None: such a link gets the first of `modes`.
    pub redirect_above: Option<u64>,
    /// Media sessions for multi-file presentations (`media`).
    pub media: MediaMode,
    /// Links for one person (`identity`, `docs/identity.md`): a verified
    /// sign-in, of the link's recipient when bound. None: no identity check.
    pub identity: Option<IdentityRule>,
    /// Where links to such objects are expected to be opened from
    /// (`expected_countries`, ISO 3166 alpha-2): outside them, a bounded-use
    /// link's landing page warns before its Download button. None: anywhere.
    pub expected_countries: Option<Vec<String>>,
    /// The networks they are expected to be opened from (`expected_networks`).
    pub expected_networks: Vec<super::ip::Cidr>,
    /// `untrusted_context`: `warn` (default) or `off`.
    pub untrusted_context: ContextCheck,
}

/// Whether the landing page warns about an unexpected context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextCheck {
    Off,
    Warn,
}

/// Why a request's context is not the one a rule expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untrusted {
    /// The client's network is in none of `expected_networks`.
    Network,
    /// The client's country is not one of `expected_countries` (or unknown).
    Country,
}

impl Untrusted {
    /// The audit event's `context`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Untrusted::Network => "untrusted_network",
            Untrusted::Country => "untrusted_country",
        }
    }

    /// What the landing page says, before its Download button.
    pub const fn warning(self) -> &'static str {
        match self {
            Untrusted::Network => {
                "This link is being opened from a network it is not expected to be used from. \
                 If you did not expect to receive it, or someone else sent it on to you, do not download the file: \
                 ask the person who sent it."
            }
            Untrusted::Country => {
                "This link is being opened from a country it is not expected to be used from. \
                 If you did not expect to receive it, or someone else sent it on to you, do not download the file: \
                 ask the person who sent it."
            }
        }
    }
}

/// The request's context against the rule's expectations (`docs/policy.md`,
/// "Untrusted context"): the network first, then the country; an unknown
/// address or country is outside any expectation.
pub fn untrusted_context(rule: &Rule, country: Option<&str>, ip: Option<core::net::IpAddr>) -> Option<Untrusted> {
    if rule.untrusted_context == ContextCheck::Off {
        return None;
    }
    if !rule.expected_networks.is_empty() && !ip.is_some_and(|a| rule.expected_networks.iter().any(|c| c.contains(a))) {
        return Some(Untrusted::Network);
    }
    match (&rule.expected_countries, country) {
        (Some(list), Some(c)) if list.iter().any(|x| x == c) => None,
        (Some(_), _) => Some(Untrusted::Country),
        (None, _) => None,
    }
}

/// Default `min_ip_prefix_v4`: a /16 (65 536 addresses) is an organisation's
/// network at most; anything broader binds to a region or the whole Internet.
pub const DEFAULT_MIN_IP_PREFIX_V4: u8 = 16;
/// Default `min_ip_prefix_v6`: a /32 is one provider's or large
/// organisation's allocation; anything broader is not a binding.
pub const DEFAULT_MIN_IP_PREFIX_V6: u8 = 32;

/// The four classifications, in order of sensitivity.
pub const CLASSIFICATIONS: [&str; 4] = ["public", "internal", "confidential", "restricted"];

fn default_rule(name: &str) -> Rule {
    let (ttl, modes, sub, cache, max_age) = match name {
        "public" => (7 * 86_400, vec![Mode::Stream, Mode::Redirect], false, CacheMode::Public, 3600),
        "internal" => (7 * 86_400, vec![Mode::Stream, Mode::Redirect], false, CacheMode::Private, 3600),
        "confidential" => (3 * 86_400, vec![Mode::Stream], false, CacheMode::Private, 300),
        // restricted and anything unknown
        _ => (3600, vec![Mode::Stream], true, CacheMode::NoStore, 0),
    };
    let revocation = if matches!(name, "public" | "internal" | "confidential") {
        RevocationMode::Kv
    } else {
        RevocationMode::Strict
    };
    Rule {
        name: name.to_owned(),
        max_ttl_secs: ttl,
        modes,
        require_sub: sub,
        require_ip: false,
        min_ip_prefix_v4: DEFAULT_MIN_IP_PREFIX_V4,
        min_ip_prefix_v6: DEFAULT_MIN_IP_PREFIX_V6,
        cache,
        max_age_secs: max_age,
        countries: None,
        revocation,
        redirect_above: None,
        media: MediaMode::Off,
        identity: None,
        expected_countries: None,
        expected_networks: Vec::new(),
        untrusted_context: ContextCheck::Warn,
        // A restricted object's link should not tell whoever sees the URL
        // what it is, for whom, or until when (issue 14).
        require_sealed: name != "public" && name != "internal" && name != "confidential",
    }
}

/// The whole policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub rules: Vec<Rule>,
    pub default_classification: String,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            rules: CLASSIFICATIONS.iter().map(|c| default_rule(c)).collect(),
            default_classification: "internal".to_owned(),
        }
    }
}

/// The members a classification's rule may have (`docs/policy.md`).
const RULE_FIELDS: [&str; 17] = [
    "max_ttl",
    "modes",
    "require_sub",
    "require_ip",
    "min_ip_prefix_v4",
    "min_ip_prefix_v6",
    "cache",
    "max_age",
    "countries",
    "revocation",
    "require_sealed",
    "redirect_above",
    "media",
    "identity",
    "expected_countries",
    "expected_networks",
    "untrusted_context",
];

/// A member that is absent or null is not set (as before, with serde).
fn member<'v>(o: &'v json::Obj, key: &str) -> Option<&'v Value> {
    o.get(key).filter(|v| !v.is_null())
}

fn wrong_type(class: &str, field: &str, v: &Value, want: &str) -> PolicyError {
    PolicyError(format!("{class}.{field}: {} is {}, expected {want}", v.to_raw(), v.kind()))
}

fn text_member<'v>(class: &str, o: &'v json::Obj, key: &str) -> Result<Option<&'v str>, PolicyError> {
    member(o, key).map(|v| v.as_str().ok_or_else(|| wrong_type(class, key, v, "a string"))).transpose()
}

fn bool_member(class: &str, o: &json::Obj, key: &str) -> Result<Option<bool>, PolicyError> {
    member(o, key).map(|v| v.as_bool().ok_or_else(|| wrong_type(class, key, v, "true or false"))).transpose()
}

fn texts_member<'v>(class: &str, o: &'v json::Obj, key: &str) -> Result<Option<Vec<&'v str>>, PolicyError> {
    let Some(v) = member(o, key) else { return Ok(None) };
    let bad = || wrong_type(class, key, v, "a list of strings");
    v.as_arr().ok_or_else(bad)?.iter().map(|x| x.as_str().ok_or_else(bad)).collect::<Result<_, _>>().map(Some)
}

/// Why `LINKGATE_POLICY` was refused: a message naming the bad field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(pub String);

impl core::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "LINKGATE_POLICY: {}", self.0)
    }
}

fn prefix_length(class: &str, field: &str, v: &Value, max: u8) -> Result<u8, PolicyError> {
    v.as_u64()
        .filter(|&n| n <= u64::from(max))
        .and_then(|n| u8::try_from(n).ok())
        .ok_or_else(|| PolicyError(format!("{class}.{field}: {} is not a prefix length 0-{max}", v.to_raw())))
}

/// A size in bytes: a whole number, optionally followed by a unit `B`, `KB`,
/// `MB`, `GB`, `TB` (powers of 1000) or `KiB`, `MiB`, `GiB`, `TiB` (powers of
/// 1024), e.g. `64MiB`, `500 MB`, `1048576`. Case-sensitive units (`mb`
/// would be millibits); None for anything else or an overflow.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = (text.get(..digits)?, text.get(digits..)?.trim_start());
    let n: u64 = number.parse().ok()?;
    let scale: u64 = match unit {
        "" | "B" => 1,
        "KB" => 1000,
        "MB" => 1000_u64.pow(2),
        "GB" => 1000_u64.pow(3),
        "TB" => 1000_u64.pow(4),
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(scale)
}

fn size_field(class: &str, field: &str, v: &Value) -> Result<u64, PolicyError> {
    let bad =
        || PolicyError(format!("{class}.{field}: {} is not a size (bytes, or e.g. \"64MiB\", \"500MB\")", v.to_raw()));
    match v {
        Value::Num(n) => n.as_u64().ok_or_else(bad),
        Value::Str(t) => parse_size(t).ok_or_else(bad),
        _ => Err(bad()),
    }
}

impl Policy {
    /// Parse `LINKGATE_POLICY`; an empty text is the default policy.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        if text.trim().is_empty() {
            return Ok(Policy::default());
        }
        let doc = json::parse(text).map_err(|e| PolicyError(format!("not JSON: {e} (expected an object)")))?;
        let top = doc.as_obj().ok_or_else(|| PolicyError(format!("expected an object, found {}", doc.kind())))?;
        if let Some(k) = top.unknown_key(&["classifications", "default_classification"]) {
            return Err(PolicyError(format!(
                "unknown field {k:?}, expected classifications or default_classification"
            )));
        }
        let classes = match member(top, "classifications") {
            None => Default::default(),
            Some(v) => v.as_obj().cloned().ok_or_else(|| wrong_type("policy", "classifications", v, "an object"))?,
        };
        let mut policy = Policy::default();
        for (name, r) in classes.iter() {
            let Some(rule) = policy.rules.iter_mut().find(|x| x.name == name) else {
                return Err(PolicyError(format!("unknown classification {name:?} (use one of {CLASSIFICATIONS:?})")));
            };
            let r = r.as_obj().ok_or_else(|| wrong_type(name, "rule", r, "an object"))?;
            if let Some(k) = r.unknown_key(&RULE_FIELDS) {
                return Err(PolicyError(format!("{name}: unknown field {k:?}, expected one of {RULE_FIELDS:?}")));
            }
            if let Some(t) = text_member(name, r, "max_ttl")? {
                rule.max_ttl_secs =
                    parse_duration(t).ok_or_else(|| PolicyError(format!("{name}.max_ttl {t:?}: use e.g. 1h, 7d")))?;
            }
            if let Some(t) = text_member(name, r, "max_age")? {
                rule.max_age_secs = if t == "0" {
                    0
                } else {
                    parse_duration(t).ok_or_else(|| PolicyError(format!("{name}.max_age {t:?}: use e.g. 0, 5m, 1h")))?
                };
            }
            if let Some(m) = texts_member(name, r, "modes")? {
                let mut modes = Vec::new();
                for x in m {
                    modes.push(
                        Mode::parse(x)
                            .ok_or_else(|| PolicyError(format!("{name}.modes: {x:?} is not stream or redirect")))?,
                    );
                }
                if modes.is_empty() {
                    return Err(PolicyError(format!("{name}.modes must not be empty")));
                }
                rule.modes = modes;
            }
            if let Some(b) = bool_member(name, r, "require_sub")? {
                rule.require_sub = b;
            }
            if let Some(b) = bool_member(name, r, "require_ip")? {
                rule.require_ip = b;
            }
            if let Some(b) = bool_member(name, r, "require_sealed")? {
                rule.require_sealed = b;
            }
            if let Some(v) = member(r, "min_ip_prefix_v4") {
                rule.min_ip_prefix_v4 = prefix_length(name, "min_ip_prefix_v4", v, 32)?;
            }
            if let Some(v) = member(r, "min_ip_prefix_v6") {
                rule.min_ip_prefix_v6 = prefix_length(name, "min_ip_prefix_v6", v, 128)?;
            }
            if let Some(c) = text_member(name, r, "cache")? {
                rule.cache = match c {
                    "public" => CacheMode::Public,
                    "private" => CacheMode::Private,
                    "no-store" => CacheMode::NoStore,
                    _ => return Err(PolicyError(format!("{name}.cache: {c:?} is not public, private or no-store"))),
                };
            }
            if let Some(m) = text_member(name, r, "revocation")? {
                rule.revocation = match m {
                    "kv" => RevocationMode::Kv,
                    "strict" => RevocationMode::Strict,
                    _ => return Err(PolicyError(format!("{name}.revocation: {m:?} is not kv or strict"))),
                };
            }
            if let Some(m) = text_member(name, r, "media")? {
                rule.media = match m {
                    "off" => MediaMode::Off,
                    "cookie" => MediaMode::Cookie,
                    "rewrite" => MediaMode::Rewrite,
                    _ => return Err(PolicyError(format!("{name}.media: {m:?} is not off, cookie or rewrite"))),
                };
            }
            if let Some(c) = texts_member(name, r, "countries")? {
                if c.iter().any(|x| x.len() != 2 || !x.bytes().all(|b| b.is_ascii_uppercase())) {
                    return Err(PolicyError(format!("{name}.countries: use ISO 3166 alpha-2 codes such as \"DE\"")));
                }
                rule.countries = Some(c.into_iter().map(str::to_owned).collect());
            }
            if let Some(v) = member(r, "identity") {
                rule.identity = IdentityRule::parse(v).map_err(|e| PolicyError(format!("{name}.identity: {e}")))?;
            }
            if let Some(c) = texts_member(name, r, "expected_countries")? {
                if c.iter().any(|x| x.len() != 2 || !x.bytes().all(|b| b.is_ascii_uppercase())) {
                    return Err(PolicyError(format!(
                        "{name}.expected_countries: use ISO 3166 alpha-2 codes such as \"DE\""
                    )));
                }
                rule.expected_countries = Some(c.into_iter().map(str::to_owned).collect());
            }
            if let Some(n) = texts_member(name, r, "expected_networks")? {
                rule.expected_networks = n
                    .into_iter()
                    .map(|t| {
                        super::ip::Cidr::parse(t).map_err(|_| {
                            PolicyError(format!("{name}.expected_networks: {t:?} is not a CIDR such as \"10.0.0.0/8\""))
                        })
                    })
                    .collect::<Result<_, _>>()?;
            }
            if let Some(m) = text_member(name, r, "untrusted_context")? {
                rule.untrusted_context = match m {
                    "off" => ContextCheck::Off,
                    "warn" => ContextCheck::Warn,
                    _ => return Err(PolicyError(format!("{name}.untrusted_context: {m:?} is not off or warn"))),
                };
            }
            if let Some(v) = member(r, "redirect_above") {
                rule.redirect_above = Some(size_field(name, "redirect_above", v)?);
            }
            if rule.redirect_above.is_some()
                && !(rule.modes.contains(&Mode::Stream) && rule.modes.contains(&Mode::Redirect))
            {
                return Err(PolicyError(format!(
                    "{name}.redirect_above needs modes with both stream and redirect (the size chooses between them)"
                )));
            }
        }
        if let Some(d) = text_member("policy", top, "default_classification")? {
            if !CLASSIFICATIONS.contains(&d) {
                return Err(PolicyError(format!("default_classification {d:?} is not one of {CLASSIFICATIONS:?}")));
            }
            policy.default_classification = d.to_owned();
        }
        Ok(policy)
    }

    /// The rule for an object's `classification` metadata.
    pub fn rule_for(&self, classification: Option<&str>) -> Rule {
        let name = classification.unwrap_or(&self.default_classification);
        self.rules
            .iter()
            .find(|r| r.name == name)
            .cloned()
            .unwrap_or_else(|| Rule { name: format!("unknown:{name}"), ..default_rule("restricted") })
    }
}

/// A permitted download and how to serve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// `classification:<name>`, for the audit trail.
    pub rule: String,
    pub mode: Mode,
    pub cache: CacheMode,
    pub max_age_secs: u64,
}

/// A refusal: the deciding rule, e.g. `restricted.max_ttl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub rule: String,
}

/// Is the range broader than the rule's minimum for its family? An
/// IPv4-mapped IPv6 range is already an IPv4 one ([`Cidr::new`]).
fn too_broad(rule: &Rule, range: &Cidr) -> bool {
    match *range {
        Cidr::V4 { prefix, .. } => prefix < rule.min_ip_prefix_v4,
        Cidr::V6 { prefix, .. } => prefix < rule.min_ip_prefix_v6,
    }
}

/// The mode a link gets under `rule`, before presigning is taken into
/// account: the link's own `mode` when it names one the rule allows (None
/// when it names another), else by size when the rule has `redirect_above`
/// (larger objects redirect; an unknown size streams), else the rule's
/// first mode.
pub fn choose_mode(rule: &Rule, asked: Option<Mode>, size: Option<u64>) -> Option<Mode> {
    match (asked, rule.redirect_above) {
        (Some(m), _) => rule.modes.contains(&m).then_some(m),
        (None, Some(above)) if size.is_some_and(|n| n > above) => Some(Mode::Redirect),
        (None, Some(_)) => Some(Mode::Stream),
        (None, None) => Some(rule.modes.first().copied().unwrap_or(Mode::Stream)),
    }
}

/// The mode a link gets under `rule` for an object of `size`, presigning
/// taken into account: without it (`redirect_available` false) a redirect
/// becomes a stream where the rule allows stream. None: the link names a mode
/// the rule refuses (`<class>.modes`). `Some(Redirect)` with
/// `redirect_available` false means refused as `redirect_unavailable`.
pub fn effective_mode(rule: &Rule, asked: Option<Mode>, size: Option<u64>, redirect_available: bool) -> Option<Mode> {
    match choose_mode(rule, asked, size)? {
        Mode::Redirect if !redirect_available && rule.modes.contains(&Mode::Stream) => Some(Mode::Stream),
        m => Some(m),
    }
}

/// Apply the rule to authentic claims; `sealed`: the link was sealed.
/// `redirect_available` is false when no presigning credentials are
/// configured: a link that asks for redirect is then streamed (policy
/// overrides, recorded in the decision). `size` is the object's size in bytes
/// (None when unknown, e.g. at minting time).
pub fn evaluate(
    rule: &Rule,
    claims: &Claims,
    sealed: bool,
    country: Option<&str>,
    redirect_available: bool,
    size: Option<u64>,
) -> Result<Decision, Denied> {
    let deny = |what: &str| Err(Denied { rule: format!("{}.{what}", rule.name) });
    if claims.exp.saturating_sub(claims.iat) > rule.max_ttl_secs {
        return deny("max_ttl");
    }
    if rule.require_sub && claims.sub.is_none() {
        return deny("require_sub");
    }
    // A link for one person names that person: an unbound link cannot be
    // held to anyone's identity (checked at minting too).
    if rule.identity.as_ref().is_some_and(|i| i.bind) && claims.sub.is_none() {
        return deny("identity.bind");
    }
    if rule.require_ip && (claims.ip.is_empty() || claims.ip.iter().any(|c| too_broad(rule, c))) {
        return deny("require_ip");
    }
    if let Some(list) = &rule.countries {
        if !country.is_some_and(|c| list.iter().any(|x| x == c)) {
            return deny("countries");
        }
    }
    let Some(mode) = effective_mode(rule, claims.mode, size, redirect_available) else { return deny("modes") };
    // Last of the link's own checks, so that a plain link that also breaks
    // another rule is told about that one first (fixing it is still needed).
    if rule.require_sealed && !sealed {
        return deny("require_sealed");
    }
    Ok(Decision {
        rule: format!("classification:{}", rule.name),
        mode,
        cache: rule.cache,
        max_age_secs: rule.max_age_secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 17, item 4: expected countries and networks, off or warn.
    #[test]
    fn untrusted_context_rules() {
        let p = Policy::parse(
            r#"{"classifications":{"internal":{"expected_countries":["CH"],"expected_networks":["10.0.0.0/8"]},"public":{"expected_countries":["CH"],"untrusted_context":"off"}}}"#,
        )
        .unwrap();
        let r = p.rule_for(Some("internal"));
        let ip = |s: &str| crate::ip::parse_addr(s);
        assert_eq!(untrusted_context(&r, Some("CH"), ip("10.1.2.3")), None);
        assert_eq!(untrusted_context(&r, Some("CH"), ip("11.1.2.3")), Some(Untrusted::Network));
        assert_eq!(untrusted_context(&r, Some("CH"), None), Some(Untrusted::Network));
        assert_eq!(untrusted_context(&r, Some("DE"), ip("10.1.2.3")), Some(Untrusted::Country));
        assert_eq!(untrusted_context(&r, None, ip("10.1.2.3")), Some(Untrusted::Country));
        assert_eq!(untrusted_context(&p.rule_for(Some("public")), Some("DE"), None), None, "off");
        assert_eq!(untrusted_context(&p.rule_for(Some("confidential")), Some("DE"), None), None, "nothing expected");
        for (bad, field) in [
            (r#"{"classifications":{"public":{"expected_countries":["ch"]}}}"#, "public.expected_countries"),
            (r#"{"classifications":{"public":{"expected_networks":["10.0.0.0/33"]}}}"#, "public.expected_networks"),
            (r#"{"classifications":{"public":{"expected_networks":"10.0.0.0/8"}}}"#, "public.expected_networks"),
            (r#"{"classifications":{"public":{"untrusted_context":"block"}}}"#, "public.untrusted_context"),
        ] {
            let e = Policy::parse(bad).unwrap_err().0;
            assert!(e.contains(field), "{bad}: {e}");
        }
    }
    use crate::keys::KeyId;
    use crate::path::Scope;
    use crate::token::{Field, Jti, Label};

    fn claims(ttl: u64) -> Claims {
        Claims::new(KeyId::parse("k").unwrap(), Jti([1; 16]), 1000, 1000 + ttl, Scope::parse("/a").unwrap())
    }

    /// Issue 14: restricted objects (and unknown classifications, which get
    /// the restricted rules) take sealed links only by default; any rule can
    /// ask for them, and restricted can be told not to.
    #[test]
    fn require_sealed() {
        let p = Policy::default();
        let mut c = claims(600);
        c.sub = Some(Label::parse(Field::Sub, "u").unwrap());
        for class in ["restricted", "top-secret"] {
            let r = p.rule_for(Some(class));
            assert!(r.require_sealed, "{class}");
            assert!(evaluate(&r, &c, true, None, true, None).is_ok(), "{class}");
            assert!(
                evaluate(&r, &c, false, None, true, None).unwrap_err().rule.ends_with(".require_sealed"),
                "{class}"
            );
        }
        for class in ["public", "internal", "confidential"] {
            let r = p.rule_for(Some(class));
            assert!(!r.require_sealed, "{class}");
            assert!(evaluate(&r, &claims(600), false, None, true, None).is_ok(), "{class}");
        }
        // Another check that fails is named first.
        let r = p.rule_for(Some("restricted"));
        assert_eq!(evaluate(&r, &claims(600), false, None, true, None).unwrap_err().rule, "restricted.require_sub");
        let p = Policy::parse(
            r#"{"classifications":{"confidential":{"require_sealed":true},"restricted":{"require_sealed":false}}}"#,
        )
        .unwrap();
        let conf = p.rule_for(Some("confidential"));
        assert_eq!(evaluate(&conf, &c, false, None, true, None).unwrap_err().rule, "confidential.require_sealed");
        assert!(evaluate(&conf, &c, true, None, true, None).is_ok());
        assert!(evaluate(&p.rule_for(Some("restricted")), &c, false, None, true, None).is_ok());
        assert!(Policy::parse(r#"{"classifications":{"public":{"require_sealed":"yes"}}}"#).is_err());
    }

    #[test]
    fn safe_defaults() {
        let p = Policy::default();
        let r = p.rule_for(Some("restricted"));
        assert_eq!(evaluate(&r, &claims(600), true, None, true, None).unwrap_err().rule, "restricted.require_sub");
        let mut c = claims(600);
        c.sub = Some(Label::parse(Field::Sub, "u").unwrap());
        let d = evaluate(&r, &c, true, None, true, None).unwrap();
        assert_eq!((d.mode, d.cache, d.rule.as_str()), (Mode::Stream, CacheMode::NoStore, "classification:restricted"));
        c.exp = c.iat + 3601;
        assert_eq!(evaluate(&r, &c, true, None, true, None).unwrap_err().rule, "restricted.max_ttl");
        c.exp = c.iat + 60;
        c.mode = Some(Mode::Redirect);
        assert_eq!(evaluate(&r, &c, true, None, true, None).unwrap_err().rule, "restricted.modes");
        // No metadata: internal; unknown value: restricted rules.
        assert_eq!(p.rule_for(None).name, "internal");
        assert_eq!(p.rule_for(Some("top-secret")).name, "unknown:top-secret");
        assert_eq!(p.rule_for(Some("top-secret")).cache, CacheMode::NoStore);
        let pubr = p.rule_for(Some("public"));
        assert_eq!(evaluate(&pubr, &claims(86_400), true, None, true, None).unwrap().cache, CacheMode::Public);
    }

    #[test]
    fn redirect_falls_back_to_stream_without_credentials() {
        let r = Policy::default().rule_for(Some("internal"));
        let mut c = claims(60);
        c.mode = Some(Mode::Redirect);
        assert_eq!(evaluate(&r, &c, true, None, true, None).unwrap().mode, Mode::Redirect);
        assert_eq!(evaluate(&r, &c, true, None, false, None).unwrap().mode, Mode::Stream);
    }

    #[test]
    fn configured_rules() {
        let p = Policy::parse(
            r#"{"classifications":{"confidential":{"max_ttl":"2h","require_ip":true,"countries":["DE","FR"],"cache":"no-store","max_age":"0"}},"default_classification":"confidential"}"#,
        )
        .unwrap();
        let r = p.rule_for(None);
        assert_eq!(r.name, "confidential");
        assert_eq!(
            evaluate(&r, &claims(60), true, Some("DE"), true, None).unwrap_err().rule,
            "confidential.require_ip"
        );
        let mut c = claims(60);
        c.ip = vec![Cidr::parse("10.1.0.0/16").unwrap()];
        assert!(evaluate(&r, &c, true, Some("DE"), true, None).is_ok());
        assert_eq!(evaluate(&r, &c, true, Some("US"), true, None).unwrap_err().rule, "confidential.countries");
        assert_eq!(evaluate(&r, &c, true, None, true, None).unwrap_err().rule, "confidential.countries");
        c.exp = c.iat + 7201;
        assert_eq!(evaluate(&r, &c, true, Some("DE"), true, None).unwrap_err().rule, "confidential.max_ttl");
    }

    fn with_ip(ranges: &[&str]) -> Claims {
        let mut c = claims(60);
        c.ip = ranges.iter().map(|r| Cidr::parse(r).unwrap()).collect();
        c
    }

    /// A7: `0.0.0.0/0` plus `::/0` is an IP binding in name only. When a rule
    /// requires one, every range must be at least as specific as the rule's
    /// minimum prefix lengths (defaults /16 and /32).
    #[test]
    fn require_ip_needs_specific_ranges() {
        let p = Policy::parse(r#"{"classifications":{"confidential":{"require_ip":true}}}"#).unwrap();
        let r = p.rule_for(Some("confidential"));
        for ranges in [
            &["0.0.0.0/0", "::/0"][..],
            &["0.0.0.0/0"],
            &["::/0"],
            &["10.0.0.0/8"],
            &["10.0.0.0/15"],
            &["2001:db8::/31"],
            &["10.1.0.0/16", "::/0"],
            &["2001:db8::/32", "0.0.0.0/1"],
            // IPv4-mapped IPv6 ranges are IPv4 ranges: ::ffff:0:0/96 is 0.0.0.0/0.
            &["::ffff:0.0.0.0/96"],
            &["::ffff:10.0.0.0/104"],
        ] {
            assert_eq!(
                evaluate(&r, &with_ip(ranges), true, None, true, None).unwrap_err().rule,
                "confidential.require_ip",
                "{ranges:?}"
            );
        }
        for ranges in [
            &["10.1.0.0/16"][..],
            &["192.0.2.7"],
            &["2001:db8::/32"],
            &["2001:db8::1"],
            &["10.1.0.0/16", "2001:db8:1::/48"],
            &["::ffff:10.1.0.0/112"],
        ] {
            assert!(evaluate(&r, &with_ip(ranges), true, None, true, None).is_ok(), "{ranges:?}");
        }
        // Without require_ip a broad range is merely a weak binding.
        let internal = p.rule_for(Some("internal"));
        assert!(evaluate(&internal, &with_ip(&["0.0.0.0/0", "::/0"]), true, None, true, None).is_ok());
    }

    #[test]
    fn minimum_ip_prefixes_are_configurable() {
        let p = Policy::parse(
            r#"{"classifications":{"restricted":{"require_ip":true,"require_sub":false,"min_ip_prefix_v4":24,"min_ip_prefix_v6":48}}}"#,
        )
        .unwrap();
        let r = p.rule_for(Some("restricted"));
        assert_eq!((r.min_ip_prefix_v4, r.min_ip_prefix_v6), (24, 48));
        assert_eq!(
            evaluate(&r, &with_ip(&["10.1.0.0/16"]), true, None, true, None).unwrap_err().rule,
            "restricted.require_ip"
        );
        assert_eq!(
            evaluate(&r, &with_ip(&["2001:db8::/32"]), true, None, true, None).unwrap_err().rule,
            "restricted.require_ip"
        );
        assert!(evaluate(&r, &with_ip(&["10.1.2.0/24", "2001:db8:1::/48"]), true, None, true, None).is_ok());
        // Defaults for the others; 0 turns the minimum off.
        let d = Policy::default().rule_for(Some("internal"));
        assert_eq!((d.min_ip_prefix_v4, d.min_ip_prefix_v6), (16, 32));
        let p = Policy::parse(
            r#"{"classifications":{"public":{"require_ip":true,"min_ip_prefix_v4":0,"min_ip_prefix_v6":0}}}"#,
        )
        .unwrap();
        assert!(evaluate(&p.rule_for(Some("public")), &with_ip(&["0.0.0.0/0", "::/0"]), true, None, true, None).is_ok());
        for (text, needle) in [
            (r#"{"classifications":{"public":{"min_ip_prefix_v4":33}}}"#, "public.min_ip_prefix_v4"),
            (r#"{"classifications":{"public":{"min_ip_prefix_v6":129}}}"#, "public.min_ip_prefix_v6"),
            (r#"{"classifications":{"public":{"min_ip_prefix_v4":-1}}}"#, "min_ip_prefix_v4"),
            (r#"{"classifications":{"public":{"min_ip_prefix_v6":"48"}}}"#, "min_ip_prefix_v6"),
        ] {
            let e = Policy::parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn bad_policies_name_the_field() {
        for (text, needle) in [
            (r#"{"classifications":{"secret":{}}}"#, "secret"),
            (r#"{"classifications":{"public":{"max_ttl":"forever"}}}"#, "public.max_ttl"),
            (r#"{"classifications":{"public":{"modes":["zip"]}}}"#, "public.modes"),
            (r#"{"classifications":{"public":{"modes":[]}}}"#, "public.modes"),
            (r#"{"classifications":{"public":{"countries":["de"]}}}"#, "public.countries"),
            (r#"{"classifications":{"public":{"colour":"red"}}}"#, "colour"),
            (r#"{"default_classification":"nope"}"#, "default_classification"),
            ("not json", "expected"),
            (r#"{"classifications":{"public":{"require_ip":"yes"}}}"#, "public.require_ip"),
            (r#"{"classifications":{"public":{"cache":"forever"}}}"#, "public.cache"),
            (r#"{"classifications":{"public":{"revocation":"eventually"}}}"#, "public.revocation"),
            (r#"{"classifications":{"public":{"countries":"DE"}}}"#, "public.countries"),
            (r#"{"classifications":{"public":{"modes":[1]}}}"#, "public.modes"),
            (r#"{"classifications":{"public":{"max_ttl":3600}}}"#, "public.max_ttl"),
            (r#"{"classifications":{"public":[]}}"#, "public.rule"),
            (r#"{"classifications":[]}"#, "classifications"),
            (r#"{"classification":{}}"#, "classification"),
            (r#"{"classifications":{"public":{},"public":{}}}"#, "duplicate key"),
            ("[]", "expected an object"),
        ] {
            let e = Policy::parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
        assert_eq!(Policy::parse("  ").unwrap(), Policy::default());
    }

    #[test]
    fn sizes() {
        for (text, want) in [
            ("0", Some(0)),
            ("1048576", Some(1 << 20)),
            ("64MiB", Some(64 << 20)),
            ("64 MiB", Some(64 << 20)),
            ("500MB", Some(500_000_000)),
            ("2GiB", Some(2 << 30)),
            ("1TB", Some(1_000_000_000_000)),
            ("7B", Some(7)),
            ("1KiB", Some(1024)),
            ("1KB", Some(1000)),
            ("", None),
            ("MiB", None),
            ("64mb", None),
            ("-1", None),
            ("1.5GiB", None),
            ("99999999999TiB", None),
        ] {
            assert_eq!(parse_size(text), want, "{text:?}");
        }
    }

    /// Hybrid by size: `redirect_above` chooses for links that name no mode.
    #[test]
    fn hybrid_by_size() {
        let p = Policy::parse(
            r#"{"classifications":{"public":{"redirect_above":"64MiB"},"internal":{"redirect_above":1000}}}"#,
        )
        .unwrap();
        let public = p.rule_for(Some("public"));
        assert_eq!(public.redirect_above, Some(64 << 20));
        let c = claims(600);
        let mode = |r: &Rule, c: &Claims, size: Option<u64>, available: bool| {
            evaluate(r, c, true, None, available, size).map(|d| d.mode)
        };
        assert_eq!(mode(&public, &c, Some((64 << 20) + 1), true), Ok(Mode::Redirect));
        assert_eq!(mode(&public, &c, Some(64 << 20), true), Ok(Mode::Stream), "at the threshold: stream");
        assert_eq!(mode(&public, &c, Some(10), true), Ok(Mode::Stream));
        assert_eq!(mode(&public, &c, None, true), Ok(Mode::Stream), "unknown size: stream");
        assert_eq!(mode(&public, &c, Some(1 << 40), false), Ok(Mode::Stream), "no presigning: stream");
        // A link that names an allowed mode gets it, whatever the size.
        let mut s = claims(600);
        s.mode = Some(Mode::Stream);
        assert_eq!(mode(&public, &s, Some(1 << 40), true), Ok(Mode::Stream));
        s.mode = Some(Mode::Redirect);
        assert_eq!(mode(&public, &s, Some(1), true), Ok(Mode::Redirect));
        assert_eq!(mode(&p.rule_for(Some("internal")), &c, Some(1001), true), Ok(Mode::Redirect));
        // Restricted stays stream only; without redirect_above the first mode.
        let restricted = p.rule_for(Some("restricted"));
        assert_eq!(choose_mode(&restricted, None, Some(1 << 40)), Some(Mode::Stream));
        assert_eq!(choose_mode(&restricted, Some(Mode::Redirect), Some(1 << 40)), None);
        // redirect_above needs both modes, and a size.
        for bad in [
            r#"{"classifications":{"restricted":{"redirect_above":"1MiB"}}}"#,
            r#"{"classifications":{"public":{"redirect_above":"1MiB","modes":["redirect"]}}}"#,
            r#"{"classifications":{"public":{"redirect_above":"lots"}}}"#,
            r#"{"classifications":{"public":{"redirect_above":-5}}}"#,
            r#"{"classifications":{"public":{"redirect_above":true}}}"#,
        ] {
            let e = Policy::parse(bad).unwrap_err();
            assert!(e.0.contains("redirect_above"), "{bad}: {e}");
        }
        assert!(Policy::parse(
            r#"{"classifications":{"confidential":{"modes":["stream","redirect"],"redirect_above":"1GiB"}}}"#
        )
        .is_ok());
    }

    #[test]
    fn media_is_off_unless_a_rule_says_cookie() {
        let p = Policy::default();
        assert!(p.rules.iter().all(|r| r.media == MediaMode::Off));
        let p =
            Policy::parse(r#"{"classifications":{"public":{"media":"cookie"},"internal":{"media":"off"}}}"#).unwrap();
        assert_eq!(p.rule_for(Some("public")).media, MediaMode::Cookie);
        assert_eq!(p.rule_for(Some("internal")).media, MediaMode::Off);
        for bad in
            [r#"{"classifications":{"public":{"media":"yes"}}}"#, r#"{"classifications":{"public":{"media":true}}}"#]
        {
            let e = Policy::parse(bad).unwrap_err();
            assert!(e.0.contains("public.media"), "{bad}: {e}");
        }
    }
}

//! Classification policy: what a link may do with an object, by the object's
//! R2 custom metadata `classification` (`public`, `internal`, `confidential`,
//! `restricted`).
//!
//! Configured with `LINKGATE_POLICY` (JSON, see `docs/policy.md`); every
//! classification missing from it keeps the safe default below. An object
//! without a classification is `default_classification` (`internal`); an
//! unknown classification value is treated as `restricted` (fail safe).

use serde::Deserialize;

use super::duration::parse_duration;
use super::token::{Claims, Mode};

/// How downstream caches may keep a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheMode {
    Public,
    Private,
    NoStore,
}

/// The rules for one classification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub max_ttl_secs: u64,
    pub modes: Vec<Mode>,
    pub require_sub: bool,
    pub require_ip: bool,
    pub cache: CacheMode,
    pub max_age_secs: u64,
    /// ISO 3166 alpha-2 codes; None = any country.
    pub countries: Option<Vec<String>>,
}

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
    Rule {
        name: name.to_owned(),
        max_ttl_secs: ttl,
        modes,
        require_sub: sub,
        require_ip: false,
        cache,
        max_age_secs: max_age,
        countries: None,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleJson {
    max_ttl: Option<String>,
    modes: Option<Vec<String>>,
    require_sub: Option<bool>,
    require_ip: Option<bool>,
    cache: Option<CacheMode>,
    max_age: Option<String>,
    countries: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyJson {
    #[serde(default)]
    classifications: std::collections::BTreeMap<String, RuleJson>,
    default_classification: Option<String>,
}

/// Why `LINKGATE_POLICY` was refused: a message naming the bad field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(pub String);

impl core::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "LINKGATE_POLICY: {}", self.0)
    }
}

impl Policy {
    /// Parse `LINKGATE_POLICY`; an empty text is the default policy.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        if text.trim().is_empty() {
            return Ok(Policy::default());
        }
        let json: PolicyJson = serde_json::from_str(text).map_err(|e| PolicyError(e.to_string()))?;
        let mut policy = Policy::default();
        for (name, r) in json.classifications {
            let Some(rule) = policy.rules.iter_mut().find(|x| x.name == name) else {
                return Err(PolicyError(format!("unknown classification {name:?} (use one of {CLASSIFICATIONS:?})")));
            };
            if let Some(t) = r.max_ttl {
                rule.max_ttl_secs =
                    parse_duration(&t).ok_or_else(|| PolicyError(format!("{name}.max_ttl {t:?}: use e.g. 1h, 7d")))?;
            }
            if let Some(t) = r.max_age {
                rule.max_age_secs = if t == "0" {
                    0
                } else {
                    parse_duration(&t)
                        .ok_or_else(|| PolicyError(format!("{name}.max_age {t:?}: use e.g. 0, 5m, 1h")))?
                };
            }
            if let Some(m) = r.modes {
                let mut modes = Vec::new();
                for x in m {
                    modes.push(
                        Mode::parse(&x)
                            .ok_or_else(|| PolicyError(format!("{name}.modes: {x:?} is not stream or redirect")))?,
                    );
                }
                if modes.is_empty() {
                    return Err(PolicyError(format!("{name}.modes must not be empty")));
                }
                rule.modes = modes;
            }
            if let Some(b) = r.require_sub {
                rule.require_sub = b;
            }
            if let Some(b) = r.require_ip {
                rule.require_ip = b;
            }
            if let Some(c) = r.cache {
                rule.cache = c;
            }
            if let Some(c) = r.countries {
                if c.iter().any(|x| x.len() != 2 || !x.bytes().all(|b| b.is_ascii_uppercase())) {
                    return Err(PolicyError(format!("{name}.countries: use ISO 3166 alpha-2 codes such as \"DE\"")));
                }
                rule.countries = Some(c);
            }
        }
        if let Some(d) = json.default_classification {
            if !CLASSIFICATIONS.contains(&d.as_str()) {
                return Err(PolicyError(format!("default_classification {d:?} is not one of {CLASSIFICATIONS:?}")));
            }
            policy.default_classification = d;
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

/// Apply the rule to authentic claims. `redirect_available` is false when no
/// presigning credentials are configured: a link that asks for redirect is
/// then streamed (policy overrides, recorded in the decision).
pub fn evaluate(
    rule: &Rule,
    claims: &Claims,
    country: Option<&str>,
    redirect_available: bool,
) -> Result<Decision, Denied> {
    let deny = |what: &str| Err(Denied { rule: format!("{}.{what}", rule.name) });
    if claims.exp.saturating_sub(claims.iat) > rule.max_ttl_secs {
        return deny("max_ttl");
    }
    if rule.require_sub && claims.sub.is_none() {
        return deny("require_sub");
    }
    if rule.require_ip && claims.ip.is_empty() {
        return deny("require_ip");
    }
    if let Some(list) = &rule.countries {
        if !country.is_some_and(|c| list.iter().any(|x| x == c)) {
            return deny("countries");
        }
    }
    let mode = match claims.mode {
        Some(m) if !rule.modes.contains(&m) => return deny("modes"),
        Some(m) => m,
        None => rule.modes.first().copied().unwrap_or(Mode::Stream),
    };
    let mode = if mode == Mode::Redirect && !redirect_available && rule.modes.contains(&Mode::Stream) {
        Mode::Stream
    } else {
        mode
    };
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
    use crate::core::ip::Cidr;
    use crate::core::keys::KeyId;
    use crate::core::path::Scope;
    use crate::core::token::{Field, Jti, Label};

    fn claims(ttl: u64) -> Claims {
        Claims::new(KeyId::parse("k").unwrap(), Jti([1; 16]), 1000, 1000 + ttl, Scope::parse("/a").unwrap())
    }

    #[test]
    fn safe_defaults() {
        let p = Policy::default();
        let r = p.rule_for(Some("restricted"));
        assert_eq!(evaluate(&r, &claims(600), None, true).unwrap_err().rule, "restricted.require_sub");
        let mut c = claims(600);
        c.sub = Some(Label::parse(Field::Sub, "u").unwrap());
        let d = evaluate(&r, &c, None, true).unwrap();
        assert_eq!((d.mode, d.cache, d.rule.as_str()), (Mode::Stream, CacheMode::NoStore, "classification:restricted"));
        c.exp = c.iat + 3601;
        assert_eq!(evaluate(&r, &c, None, true).unwrap_err().rule, "restricted.max_ttl");
        c.exp = c.iat + 60;
        c.mode = Some(Mode::Redirect);
        assert_eq!(evaluate(&r, &c, None, true).unwrap_err().rule, "restricted.modes");
        // No metadata: internal; unknown value: restricted rules.
        assert_eq!(p.rule_for(None).name, "internal");
        assert_eq!(p.rule_for(Some("top-secret")).name, "unknown:top-secret");
        assert_eq!(p.rule_for(Some("top-secret")).cache, CacheMode::NoStore);
        let pubr = p.rule_for(Some("public"));
        assert_eq!(evaluate(&pubr, &claims(86_400), None, true).unwrap().cache, CacheMode::Public);
    }

    #[test]
    fn redirect_falls_back_to_stream_without_credentials() {
        let r = Policy::default().rule_for(Some("internal"));
        let mut c = claims(60);
        c.mode = Some(Mode::Redirect);
        assert_eq!(evaluate(&r, &c, None, true).unwrap().mode, Mode::Redirect);
        assert_eq!(evaluate(&r, &c, None, false).unwrap().mode, Mode::Stream);
    }

    #[test]
    fn configured_rules() {
        let p = Policy::parse(
            r#"{"classifications":{"confidential":{"max_ttl":"2h","require_ip":true,"countries":["DE","FR"],"cache":"no-store","max_age":"0"}},"default_classification":"confidential"}"#,
        )
        .unwrap();
        let r = p.rule_for(None);
        assert_eq!(r.name, "confidential");
        assert_eq!(evaluate(&r, &claims(60), Some("DE"), true).unwrap_err().rule, "confidential.require_ip");
        let mut c = claims(60);
        c.ip = vec![Cidr::parse("10.0.0.0/8").unwrap()];
        assert!(evaluate(&r, &c, Some("DE"), true).is_ok());
        assert_eq!(evaluate(&r, &c, Some("US"), true).unwrap_err().rule, "confidential.countries");
        assert_eq!(evaluate(&r, &c, None, true).unwrap_err().rule, "confidential.countries");
        c.exp = c.iat + 7201;
        assert_eq!(evaluate(&r, &c, Some("DE"), true).unwrap_err().rule, "confidential.max_ttl");
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
        ] {
            let e = Policy::parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
        assert_eq!(Policy::parse("  ").unwrap(), Policy::default());
    }
}

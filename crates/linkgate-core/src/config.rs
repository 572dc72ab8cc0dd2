//! Edge configuration from Worker vars and secrets, parsed once per isolate.
//!
//! Parsing takes a lookup function instead of the Worker `Env` so it is
//! tested natively. Every setting has a documented default (README,
//! `wrangler.toml`); a present but invalid value is an error, never silently
//! replaced by the default.

use core::fmt;

use super::cat::{default_sources, parse_sources, CatConfig};
use super::ed25519::{PublicKeyError, PublicKeyRing};
use super::identity::{IdentityConfig, IdentityConfigError};
use super::keys::{KeyRing, KeyRingError};
use super::origin::{Origin, OriginConfigError};
use super::policy::{Policy, PolicyError};
use super::presign::{PresignConfigError, S3Credentials, S3Location, R2_REGION};
use super::verify::{TimeRules, DEFAULT_MAX_TTL_SECS, DEFAULT_SKEW_SECS};

/// Default KV `cacheTtl` for denylist reads (KV's minimum is 30 s).
pub const DEFAULT_KV_CACHE_TTL_SECS: u64 = 30;
/// Default lifetime of a copy in the edge cache.
pub const DEFAULT_EDGE_CACHE_TTL_SECS: u64 = 3600;
/// Default cap on `max-age` sent downstream.
pub const DEFAULT_MAX_AGE_CAP_SECS: u64 = 3600;
/// Largest object put into the edge cache by default (Cache API objects are
/// capped by the platform; huge files would only churn it).
pub const DEFAULT_EDGE_CACHE_MAX_BYTES: u64 = 100 * 1024 * 1024;

/// Parsed settings.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    pub keys: KeyRing,
    pub time: TimeRules,
    pub refresh_url: Option<String>,
    pub resume_grace_secs: u64,
    /// How long a started bounded-use download may continue from the same
    /// client without another use (`LINKGATE_DOWNLOAD_GRACE_SECS`).
    pub download_grace_secs: u64,
    pub kv_cache_ttl_secs: u64,
    /// Per-isolate memo of denylist reads, in ms (`LINKGATE_DENYLIST_MEMO_SECS`, 0 = off).
    pub denylist_memo_ms: u64,
    /// Per-isolate memo of object metadata, in ms (`LINKGATE_OBJECT_MEMO_SECS`,
    /// 0 = off): how long an isolate may describe a replaced object.
    pub object_memo_ms: u64,
    pub edge_cache: bool,
    pub edge_cache_ttl_secs: u64,
    pub edge_cache_max_bytes: u64,
    pub max_age_cap_secs: u64,
    /// Classification rules (`LINKGATE_POLICY`).
    pub policy: Policy,
    /// Admin API bearer token (`LINKGATE_ADMIN_TOKEN`); None = admin API off.
    pub admin_token: Option<String>,
    /// Base URL of minted links (`LINKGATE_PUBLIC_URL`); None = the request's origin.
    pub public_url: Option<String>,
    /// Diagnostic response headers such as `X-Linkgate-Cache`
    /// (`LINKGATE_DEBUG_HEADERS`, default off): they tell a recipient whether
    /// someone else fetched the file, so they are for operators only.
    pub debug_headers: bool,
    /// Days an audit event is kept in D1 (`LINKGATE_AUDIT_RETENTION_DAYS`,
    /// 0 = forever); a daily cron trigger deletes older rows.
    pub audit_retention_days: u64,
    /// Window over which unauthenticated refusals are counted before they
    /// are written as aggregated events (`LINKGATE_AUDIT_AGGREGATE_SECS`), ms.
    pub audit_aggregate_ms: u64,
    /// Whether the admin API may mint a link to the whole bucket (prefix
    /// `/`) when the request also says `whole_bucket: true`
    /// (`LINKGATE_ALLOW_WHOLE_BUCKET`, default off).
    pub allow_whole_bucket: bool,
    /// Presigned redirects (`LINKGATE_S3_*`, `LINKGATE_R2_ACCOUNT_ID`); None
    /// when no credentials are configured: `redirect` then falls back to
    /// `stream` or is refused (`redirect_unavailable`), docs/policy.md.
    pub redirect: Option<RedirectConfig>,
    /// A private origin that replaces R2 for downloads (`LINKGATE_ORIGIN`:
    /// `s3` or `https://…`; unset or `r2` = None, R2 as before).
    pub origin: Option<Origin>,
    /// Common Access Tokens (`LINKGATE_CAT_KEYS` and friends, `docs/cat.md`);
    /// None (the default) = CATs are not looked for.
    pub cat: Option<CatConfig>,
    /// Origins of player pages on other origins that may read media with
    /// credentials (`LINKGATE_MEDIA_ORIGINS`, comma-separated
    /// `scheme://host[:port]`): their requests get
    /// `Access-Control-Allow-Origin: <that origin>` and
    /// `Access-Control-Allow-Credentials: true`; empty = no CORS headers.
    pub media_origins: Vec<String>,
    /// The identity source for links for one person (`LINKGATE_IDENTITY`,
    /// `docs/identity.md`); None = off (a rule requiring identity then
    /// fails closed).
    pub identity: Option<IdentityConfig>,
}

/// Default `LINKGATE_REDIRECT_TTL_SECS`: how long a presigned URL lives.
pub const DEFAULT_REDIRECT_TTL_SECS: u64 = 30;
/// Largest `LINKGATE_REDIRECT_TTL_SECS`: a presigned URL cannot be revoked,
/// so it must stay seconds-long.
pub const MAX_REDIRECT_TTL_SECS: u64 = 300;

/// Where and how redirects are presigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectConfig {
    pub location: S3Location,
    /// `Debug` redacts the secret.
    pub credentials: S3Credentials,
    /// Longest life of a presigned URL (the link's own end caps it further).
    pub ttl_secs: u64,
}

/// The variables that turn presigned redirects on: none set = off. (The
/// region and the TTL have defaults, so `wrangler.toml` lists them without
/// turning anything on.)
pub const REDIRECT_VARS: [&str; 5] = [
    "LINKGATE_S3_ACCESS_KEY_ID",
    "LINKGATE_S3_SECRET_ACCESS_KEY",
    "LINKGATE_S3_BUCKET",
    "LINKGATE_R2_ACCOUNT_ID",
    "LINKGATE_S3_ENDPOINT",
];

/// Default `LINKGATE_AUDIT_RETENTION_DAYS`.
pub const DEFAULT_AUDIT_RETENTION_DAYS: u64 = 90;
/// Longest aggregation window: `waitUntil` work must finish within 30 s of
/// the response.
pub const MAX_AUDIT_AGGREGATE_SECS: u64 = 20;

/// Shortest accepted `LINKGATE_ADMIN_TOKEN`, in bytes: the bearer token is the
/// only thing between the internet and minting or revoking.
pub const MIN_ADMIN_TOKEN_BYTES: usize = 32;

impl EdgeConfig {
    /// The windows after `exp` that can still honour a link, for how long
    /// denylist entries must live.
    pub fn windows(&self) -> super::revocation::Windows {
        super::revocation::Windows {
            max_ttl_secs: self.time.max_ttl_secs,
            skew_secs: self.time.skew_secs,
            resume_grace_secs: self.resume_grace_secs,
            download_grace_secs: self.download_grace_secs,
        }
    }
}

/// A setting that is present but wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    MissingKeys,
    Keys(KeyRingError),
    /// `LINKGATE_PUBLIC_KEYS` (Ed25519 verification keys) is invalid.
    PublicKeys(PublicKeyError),
    BadNumber {
        name: &'static str,
    },
    BadFlag {
        name: &'static str,
    },
    Policy(PolicyError),
    /// `LINKGATE_ADMIN_TOKEN` is set but shorter than [`MIN_ADMIN_TOKEN_BYTES`].
    AdminTokenTooShort,
    /// `LINKGATE_PUBLIC_URL` is not `scheme://host[:port]` (the CLI's `--base` rule).
    PublicUrl(&'static str),
    /// A presigning setting is invalid.
    Redirect(PresignConfigError),
    /// Some presigning settings are set but not this one: a half-configured
    /// redirect is a mistake, not "redirects off".
    RedirectIncomplete {
        missing: &'static str,
    },
    /// Both `LINKGATE_R2_ACCOUNT_ID` and `LINKGATE_S3_ENDPOINT`: which one is meant?
    RedirectTwoEndpoints,
    /// `LINKGATE_REDIRECT_TTL_SECS` is 0 or over [`MAX_REDIRECT_TTL_SECS`].
    RedirectTtl,
    /// `LINKGATE_ORIGIN` or one of its settings is invalid.
    Origin(OriginConfigError),
    /// `LINKGATE_CAT_KEYS` is invalid.
    CatKeys(KeyRingError),
    /// `LINKGATE_CAT_SOURCES` names an unknown source.
    CatSources,
    /// An entry of `LINKGATE_MEDIA_ORIGINS` is not `scheme://host[:port]`.
    MediaOrigin,
    /// `LINKGATE_IDENTITY` is invalid.
    Identity(IdentityConfigError),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::MissingKeys => f.write_str("LINKGATE_KEYS is not set"),
            ConfigError::Keys(e) => write!(f, "{e}"),
            ConfigError::PublicKeys(e) => write!(f, "{e}"),
            ConfigError::BadNumber { name } => write!(f, "{name} must be a whole number of seconds"),
            ConfigError::BadFlag { name } => write!(f, "{name} must be on or off"),
            ConfigError::Policy(e) => write!(f, "{e}"),
            ConfigError::PublicUrl(why) => write!(f, "LINKGATE_PUBLIC_URL {why}"),
            ConfigError::Redirect(e) => write!(f, "{e}"),
            ConfigError::RedirectIncomplete { missing } => {
                write!(
                    f,
                    "{missing} is not set, but other LINKGATE_S3_* settings are (presigned redirects need all of them)"
                )
            }
            ConfigError::RedirectTwoEndpoints => {
                f.write_str("set LINKGATE_R2_ACCOUNT_ID or LINKGATE_S3_ENDPOINT, not both")
            }
            ConfigError::RedirectTtl => {
                write!(f, "LINKGATE_REDIRECT_TTL_SECS must be 1 to {MAX_REDIRECT_TTL_SECS} seconds")
            }
            ConfigError::Origin(e) => write!(f, "{e}"),
            ConfigError::CatKeys(e) => write!(f, "LINKGATE_CAT_KEYS: {e}"),
            ConfigError::CatSources => f.write_str(
                "LINKGATE_CAT_SOURCES must list header:CTA-Common-Access-Token, header:Common-Access-Token, cookie:<name> or query:<name> (not lg/lgs), comma-separated",
            ),
            ConfigError::Identity(e) => write!(f, "{e}"),
            ConfigError::MediaOrigin => f.write_str(
                "LINKGATE_MEDIA_ORIGINS must list origins such as https://player.example (no path, no wildcard)",
            ),
            ConfigError::AdminTokenTooShort => write!(
                f,
                "LINKGATE_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_BYTES} bytes (e.g. openssl rand -base64 32)"
            ),
        }
    }
}

fn number(get: &dyn Fn(&str) -> Option<String>, name: &'static str, default: u64) -> Result<u64, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(v) if v.trim().is_empty() => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError::BadNumber { name }),
    }
}

fn flag(get: &dyn Fn(&str) -> Option<String>, name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match get(name).as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some("on" | "true" | "1") => Ok(true),
        Some("off" | "false" | "0") => Ok(false),
        Some(_) => Err(ConfigError::BadFlag { name }),
    }
}

/// `LINKGATE_CLOCK_SKEW_SECS` and `LINKGATE_MAX_TTL_SECS` from a variable
/// lookup (the worker's vars; the CLI's environment or `--keys` file), so
/// that every signer and verifier reads them the same way.
pub fn time_rules(get: &dyn Fn(&str) -> Option<String>) -> Result<TimeRules, ConfigError> {
    Ok(TimeRules {
        skew_secs: number(get, "LINKGATE_CLOCK_SKEW_SECS", DEFAULT_SKEW_SECS)?,
        max_ttl_secs: number(get, "LINKGATE_MAX_TTL_SECS", DEFAULT_MAX_TTL_SECS)?,
    })
}

/// Workers KV's documented propagation to every location, in seconds.
pub const KV_PROPAGATION_SECS: u64 = 60;
/// Presigned-redirect settings: None when none of [`REDIRECT_VARS`] is set.
/// Credentials, a bucket and one of `LINKGATE_R2_ACCOUNT_ID` (R2, region
/// `auto`) or `LINKGATE_S3_ENDPOINT` (any S3-compatible endpoint, path style,
/// `LINKGATE_S3_REGION`, default `auto`) are needed together.
pub fn redirect_config(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<RedirectConfig>, ConfigError> {
    let val = |name: &str| get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if REDIRECT_VARS.iter().all(|n| val(n).is_none()) {
        return Ok(None);
    }
    let need = |name: &'static str| val(name).ok_or(ConfigError::RedirectIncomplete { missing: name });
    let key_id = need("LINKGATE_S3_ACCESS_KEY_ID")?;
    let secret = need("LINKGATE_S3_SECRET_ACCESS_KEY")?;
    let bucket = need("LINKGATE_S3_BUCKET")?;
    let credentials = S3Credentials::new(&key_id, &secret).map_err(ConfigError::Redirect)?;
    let location = match (val("LINKGATE_R2_ACCOUNT_ID"), val("LINKGATE_S3_ENDPOINT")) {
        (Some(_), Some(_)) => return Err(ConfigError::RedirectTwoEndpoints),
        (None, None) => return Err(ConfigError::RedirectIncomplete { missing: "LINKGATE_R2_ACCOUNT_ID" }),
        (Some(account), None) => {
            if val("LINKGATE_S3_REGION").is_some_and(|r| r != R2_REGION) {
                return Err(ConfigError::Redirect(PresignConfigError::Region));
            }
            S3Location::r2(&account, &bucket)
        }
        (None, Some(endpoint)) => S3Location::path_style(
            &endpoint,
            &val("LINKGATE_S3_REGION").unwrap_or_else(|| R2_REGION.to_owned()),
            &bucket,
        ),
    }
    .map_err(ConfigError::Redirect)?;
    let ttl_secs = number(get, "LINKGATE_REDIRECT_TTL_SECS", DEFAULT_REDIRECT_TTL_SECS)?;
    if !(1..=MAX_REDIRECT_TTL_SECS).contains(&ttl_secs) {
        return Err(ConfigError::RedirectTtl);
    }
    Ok(Some(RedirectConfig { location, credentials, ttl_secs }))
}

/// `LINKGATE_MEDIA_ORIGINS`: each entry an exact origin as browsers send it
/// in `Origin` (`http` or `https`, a host, an optional port; no path, no
/// `*`: credentialed CORS never allows a wildcard).
pub fn media_origins(text: Option<&str>) -> Result<Vec<String>, ConfigError> {
    let mut out = Vec::new();
    for entry in text.unwrap_or("").split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let rest = entry.strip_prefix("https://").or_else(|| entry.strip_prefix("http://"));
        let ok = rest.is_some_and(|r| {
            !r.is_empty()
                && r.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
        });
        if !ok {
            return Err(ConfigError::MediaOrigin);
        }
        out.push(entry.to_ascii_lowercase());
    }
    Ok(out)
}

impl EdgeConfig {
    /// Seconds from a KV denylist write until every location refuses: KV's
    /// propagation, then a cached read, then an isolate's memo of it
    /// (`docs/revocation.md`, "Delay"; 92 with the defaults).
    pub fn kv_revocation_bound_secs(&self) -> u64 {
        KV_PROPAGATION_SECS.saturating_add(self.kv_cache_ttl_secs).saturating_add(self.denylist_memo_ms.div_ceil(1000))
    }

    /// Parse from a variable lookup (Worker vars and secrets).
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<EdgeConfig, ConfigError> {
        let keys_text = get("LINKGATE_KEYS").ok_or(ConfigError::MissingKeys)?;
        let keys = KeyRing::parse(&keys_text).map_err(ConfigError::Keys)?;
        // Optional: public keys verify Ed25519 links (`docs/link-format.md` §18).
        let public =
            PublicKeyRing::parse(&get("LINKGATE_PUBLIC_KEYS").unwrap_or_default()).map_err(ConfigError::PublicKeys)?;
        let keys = keys.with_public(public).map_err(ConfigError::PublicKeys)?;
        let redirect = redirect_config(get)?;
        Ok(EdgeConfig {
            keys,
            time: time_rules(get)?,
            refresh_url: get("LINKGATE_REFRESH_URL").filter(|s| !s.trim().is_empty()),
            resume_grace_secs: number(get, "LINKGATE_RESUME_GRACE_SECS", 0)?,
            download_grace_secs: number(
                get,
                "LINKGATE_DOWNLOAD_GRACE_SECS",
                super::usage::DEFAULT_DOWNLOAD_GRACE_SECS,
            )?,
            kv_cache_ttl_secs: number(get, "LINKGATE_KV_CACHE_TTL_SECS", DEFAULT_KV_CACHE_TTL_SECS)?.max(30),
            denylist_memo_ms: number(get, "LINKGATE_DENYLIST_MEMO_SECS", super::memo::DEFAULT_TTL_MS / 1000)?
                .saturating_mul(1000)
                .min(super::memo::MAX_TTL_MS),
            object_memo_ms: number(get, "LINKGATE_OBJECT_MEMO_SECS", super::memo::DEFAULT_OBJECT_TTL_MS / 1000)?
                .saturating_mul(1000)
                .min(super::memo::MAX_TTL_MS),
            edge_cache: flag(get, "LINKGATE_EDGE_CACHE", true)?,
            edge_cache_ttl_secs: number(get, "LINKGATE_EDGE_CACHE_TTL_SECS", DEFAULT_EDGE_CACHE_TTL_SECS)?,
            edge_cache_max_bytes: number(get, "LINKGATE_EDGE_CACHE_MAX_BYTES", DEFAULT_EDGE_CACHE_MAX_BYTES)?,
            max_age_cap_secs: number(get, "LINKGATE_MAX_AGE_SECS", DEFAULT_MAX_AGE_CAP_SECS)?,
            policy: Policy::parse(&get("LINKGATE_POLICY").unwrap_or_default()).map_err(ConfigError::Policy)?,
            admin_token: match get("LINKGATE_ADMIN_TOKEN").filter(|s| !s.trim().is_empty()) {
                Some(t) if t.len() < MIN_ADMIN_TOKEN_BYTES => return Err(ConfigError::AdminTokenTooShort),
                t => t,
            },
            // A base path would put every minted link outside its own scope
            // (a link's URL path is its scope): refused, as `sign --base` is.
            public_url: match get("LINKGATE_PUBLIC_URL").filter(|s| !s.trim().is_empty()) {
                Some(u) => Some(super::mint::link_base(u.trim(), None).map_err(ConfigError::PublicUrl)?),
                None => None,
            },
            debug_headers: flag(get, "LINKGATE_DEBUG_HEADERS", false)?,
            audit_retention_days: number(get, "LINKGATE_AUDIT_RETENTION_DAYS", DEFAULT_AUDIT_RETENTION_DAYS)?,
            audit_aggregate_ms: number(get, "LINKGATE_AUDIT_AGGREGATE_SECS", 5)?
                .clamp(1, MAX_AUDIT_AGGREGATE_SECS)
                .saturating_mul(1000),
            allow_whole_bucket: flag(get, "LINKGATE_ALLOW_WHOLE_BUCKET", false)?,
            redirect: redirect.clone(),
            origin: Origin::parse(
                get("LINKGATE_ORIGIN").as_deref(),
                redirect.as_ref().map(|r| (&r.location, &r.credentials)),
                get,
            )
            .map_err(ConfigError::Origin)?,
            cat: cat_config(get)?,
            media_origins: media_origins(get("LINKGATE_MEDIA_ORIGINS").as_deref())?,
            identity: IdentityConfig::parse(get("LINKGATE_IDENTITY").as_deref()).map_err(ConfigError::Identity)?,
        })
    }
}

/// Common Access Tokens: on only when `LINKGATE_CAT_KEYS` is set.
fn cat_config(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<CatConfig>, ConfigError> {
    let Some(keys) = get("LINKGATE_CAT_KEYS").filter(|s| !s.trim().is_empty()) else { return Ok(None) };
    let list = |name: &str| -> Vec<String> {
        get(name).unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
    };
    let sources = match get("LINKGATE_CAT_SOURCES").filter(|s| !s.trim().is_empty()) {
        Some(t) => parse_sources(&t).ok_or(ConfigError::CatSources)?,
        None => default_sources(),
    };
    Ok(Some(CatConfig {
        keys: KeyRing::parse(&keys).map_err(ConfigError::CatKeys)?,
        issuers: list("LINKGATE_CAT_ISSUERS"),
        audiences: list("LINKGATE_CAT_AUDIENCES"),
        sources,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b64;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn cat_is_off_unless_its_keys_are_set() {
        let key = format!("k:{}", b64::encode(&[1; 32]));
        let cat_key = format!("c:{}", b64::encode(&[2; 32]));
        let with = |extra: &[(&str, &str)]| {
            let mut pairs = vec![("LINKGATE_KEYS", key.as_str())];
            pairs.extend_from_slice(extra);
            EdgeConfig::from_lookup(&lookup(&pairs))
        };
        assert!(with(&[]).unwrap().cat.is_none());
        assert!(with(&[("LINKGATE_CAT_ISSUERS", "x")]).unwrap().cat.is_none());
        let c = with(&[("LINKGATE_CAT_KEYS", &cat_key), ("LINKGATE_CAT_AUDIENCES", "a, b")]).unwrap().cat.unwrap();
        assert_eq!(c.audiences, ["a", "b"]);
        assert!(c.issuers.is_empty());
        assert_eq!(c.sources, crate::cat::default_sources());
        assert!(c.keys.get("c").is_some() && c.keys.get("k").is_none(), "CAT keys are their own ring");
        assert!(matches!(with(&[("LINKGATE_CAT_KEYS", "c:short")]), Err(ConfigError::CatKeys(_))));
        assert!(matches!(
            with(&[("LINKGATE_CAT_KEYS", &cat_key), ("LINKGATE_CAT_SOURCES", "query:lg")]),
            Err(ConfigError::CatSources)
        ));
    }

    #[test]
    fn defaults_and_overrides() {
        let key = format!("k:{}", b64::encode(&[1; 32]));
        let c = EdgeConfig::from_lookup(&lookup(&[("LINKGATE_KEYS", &key)])).unwrap();
        assert_eq!(c.time, TimeRules::default());
        assert_eq!(c.resume_grace_secs, 0);
        assert!(c.edge_cache);
        assert_eq!(c.denylist_memo_ms, 2000);
        assert_eq!(c.object_memo_ms, 2000);
        assert!(c.refresh_url.is_none());
        assert!(c.admin_token.is_none());
        assert!(!c.debug_headers, "diagnostic headers are off unless asked for");
        assert!(!c.allow_whole_bucket, "A6: whole-bucket links are off unless asked for");
        assert_eq!(c.policy, Policy::default());
        assert_eq!(c.kv_revocation_bound_secs(), 92, "the bound docs/revocation.md states");
        let c = EdgeConfig::from_lookup(&lookup(&[
            ("LINKGATE_KEYS", &key),
            ("LINKGATE_CLOCK_SKEW_SECS", "5"),
            ("LINKGATE_MAX_TTL_SECS", "600"),
            ("LINKGATE_EDGE_CACHE", "off"),
            ("LINKGATE_KV_CACHE_TTL_SECS", "1"),
            ("LINKGATE_DENYLIST_MEMO_SECS", "0"),
            ("LINKGATE_OBJECT_MEMO_SECS", "0"),
            ("LINKGATE_REFRESH_URL", "https://r.example/{path}"),
            ("LINKGATE_ALLOW_WHOLE_BUCKET", "on"),
        ]))
        .unwrap();
        assert!(c.allow_whole_bucket);
        assert_eq!(c.time, TimeRules { skew_secs: 5, max_ttl_secs: 600 });
        assert!(!c.edge_cache);
        assert_eq!(c.kv_cache_ttl_secs, 30, "KV refuses cacheTtl below 30 s");
        assert_eq!(c.denylist_memo_ms, 0);
        assert_eq!(c.object_memo_ms, 0);
        assert_eq!(c.refresh_url.as_deref(), Some("https://r.example/{path}"));
    }

    #[test]
    fn invalid_values_are_errors() {
        let key = format!("k:{}", b64::encode(&[1; 32]));
        assert_eq!(EdgeConfig::from_lookup(&lookup(&[])).unwrap_err(), ConfigError::MissingKeys);
        assert!(matches!(EdgeConfig::from_lookup(&lookup(&[("LINKGATE_KEYS", "k:short")])), Err(ConfigError::Keys(_))));
        assert_eq!(
            EdgeConfig::from_lookup(&lookup(&[("LINKGATE_KEYS", &key), ("LINKGATE_MAX_TTL_SECS", "7d")])).unwrap_err(),
            ConfigError::BadNumber { name: "LINKGATE_MAX_TTL_SECS" }
        );
        assert_eq!(
            EdgeConfig::from_lookup(&lookup(&[("LINKGATE_KEYS", &key), ("LINKGATE_EDGE_CACHE", "maybe")])).unwrap_err(),
            ConfigError::BadFlag { name: "LINKGATE_EDGE_CACHE" }
        );
        assert_eq!(
            EdgeConfig::from_lookup(&lookup(&[("LINKGATE_KEYS", &key), ("LINKGATE_ALLOW_WHOLE_BUCKET", "yes")]))
                .unwrap_err(),
            ConfigError::BadFlag { name: "LINKGATE_ALLOW_WHOLE_BUCKET" }
        );
        // The memo adds to the revocation bound, so it is capped.
        let c = EdgeConfig::from_lookup(&lookup(&[("LINKGATE_KEYS", &key), ("LINKGATE_DENYLIST_MEMO_SECS", "3600")]))
            .unwrap();
        assert_eq!(c.denylist_memo_ms, crate::memo::MAX_TTL_MS);
        // So is the object memo: it bounds how long a replaced object is described.
        let c = EdgeConfig::from_lookup(&lookup(&[("LINKGATE_KEYS", &key), ("LINKGATE_OBJECT_MEMO_SECS", "3600")]))
            .unwrap();
        assert_eq!(c.object_memo_ms, crate::memo::MAX_TTL_MS);
        // The public URL is scheme://host[:port], nothing more.
        let public = |v: &str| EdgeConfig::from_lookup(&lookup(&[("LINKGATE_KEYS", &key), ("LINKGATE_PUBLIC_URL", v)]));
        assert_eq!(
            public("https://Files.Example.com/").unwrap().public_url.as_deref(),
            Some("https://files.example.com")
        );
        assert_eq!(public("  ").unwrap().public_url, None);
        for bad in ["https://files.example.com/sub", "files.example.com", "ftp://files.example.com", "https://a?x"] {
            assert!(matches!(public(bad), Err(ConfigError::PublicUrl(_))), "{bad}");
        }
        assert!(matches!(
            EdgeConfig::from_lookup(&lookup(&[("LINKGATE_KEYS", &key), ("LINKGATE_POLICY", "{")])),
            Err(ConfigError::Policy(_))
        ));
    }

    #[test]
    fn redirect_settings() {
        let key = format!("k:{}", b64::encode(&[1; 32]));
        let with = |pairs: &[(&str, &str)]| {
            let mut all = vec![("LINKGATE_KEYS", key.as_str())];
            all.extend_from_slice(pairs);
            EdgeConfig::from_lookup(&lookup(&all))
        };
        assert_eq!(with(&[]).unwrap().redirect, None, "no S3 settings: redirects off");
        let defaults =
            [("LINKGATE_S3_REGION", "auto"), ("LINKGATE_REDIRECT_TTL_SECS", "30"), ("LINKGATE_S3_BUCKET", "")];
        assert_eq!(with(&defaults).unwrap().redirect, None, "wrangler.toml's defaults turn nothing on");
        let account = "0123456789abcdef0123456789abcdef";
        let full = [
            ("LINKGATE_S3_ACCESS_KEY_ID", "AKID"),
            ("LINKGATE_S3_SECRET_ACCESS_KEY", "sekrit"),
            ("LINKGATE_S3_BUCKET", "files"),
            ("LINKGATE_R2_ACCOUNT_ID", account),
        ];
        let r = with(&full).unwrap().redirect.unwrap();
        assert_eq!(r.location, S3Location::r2(account, "files").unwrap());
        assert_eq!(r.ttl_secs, DEFAULT_REDIRECT_TTL_SECS);
        assert!(!format!("{r:?}").contains("sekrit"), "the secret never prints");
        for i in 0..full.len() {
            let mut some = full.to_vec();
            let (missing, _) = some.remove(i);
            assert_eq!(with(&some).unwrap_err(), ConfigError::RedirectIncomplete { missing }, "{missing}");
        }
        let mut s3 = full[..3].to_vec();
        s3.push(("LINKGATE_S3_ENDPOINT", "http://127.0.0.1:9000"));
        s3.push(("LINKGATE_S3_REGION", "us-east-1"));
        s3.push(("LINKGATE_REDIRECT_TTL_SECS", "300"));
        let r = with(&s3).unwrap().redirect.unwrap();
        assert_eq!(r.location, S3Location::path_style("http://127.0.0.1:9000", "us-east-1", "files").unwrap());
        assert_eq!(r.ttl_secs, 300);
        let mut both = full.to_vec();
        both.push(("LINKGATE_S3_ENDPOINT", "http://127.0.0.1:9000"));
        assert_eq!(with(&both).unwrap_err(), ConfigError::RedirectTwoEndpoints);
        for bad in ["0", "301"] {
            let mut t = full.to_vec();
            t.push(("LINKGATE_REDIRECT_TTL_SECS", bad));
            assert_eq!(with(&t).unwrap_err(), ConfigError::RedirectTtl, "{bad}");
        }
        let mut t = full.to_vec();
        t.push(("LINKGATE_REDIRECT_TTL_SECS", "30s"));
        assert_eq!(with(&t).unwrap_err(), ConfigError::BadNumber { name: "LINKGATE_REDIRECT_TTL_SECS" });
        let mut t = full.to_vec();
        t.push(("LINKGATE_S3_REGION", "us-east-1"));
        assert_eq!(with(&t).unwrap_err(), ConfigError::Redirect(PresignConfigError::Region), "R2 is region auto");
        let mut t = full.to_vec();
        t[3] = ("LINKGATE_R2_ACCOUNT_ID", "acct");
        assert_eq!(with(&t).unwrap_err(), ConfigError::Redirect(PresignConfigError::Account));
        let mut t = full.to_vec();
        t[2] = ("LINKGATE_S3_BUCKET", "Files");
        assert_eq!(with(&t).unwrap_err(), ConfigError::Redirect(PresignConfigError::Bucket));
    }

    /// F13: a short admin token is a misconfiguration, not a weak default.
    #[test]
    fn admin_token_must_be_long() {
        let key = format!("k:{}", b64::encode(&[1; 32]));
        let with = |t: &str| EdgeConfig::from_lookup(&lookup(&[("LINKGATE_KEYS", &key), ("LINKGATE_ADMIN_TOKEN", t)]));
        assert_eq!(with("adm").unwrap_err(), ConfigError::AdminTokenTooShort);
        assert_eq!(with(&"x".repeat(31)).unwrap_err(), ConfigError::AdminTokenTooShort);
        assert_eq!(with(&"x".repeat(32)).unwrap().admin_token.as_deref(), Some("x".repeat(32).as_str()));
        assert!(with("").unwrap().admin_token.is_none(), "empty = admin API off");
        assert!(with("adm").unwrap_err().to_string().contains("at least 32 bytes"));
    }

    /// `LINKGATE_ORIGIN`: off by default and for `r2`; `s3` needs (and reuses)
    /// the presigning settings; a plain origin needs its secret header; a
    /// wrong value is a configuration error that never prints the secret.
    #[test]
    fn origin_settings() {
        use crate::origin::{OriginConfigError, OriginKind};
        let key = format!("k:{}", b64::encode(&[1; 32]));
        let with = |extra: &[(&str, &str)]| {
            let mut all = vec![("LINKGATE_KEYS", key.as_str())];
            all.extend_from_slice(extra);
            EdgeConfig::from_lookup(&lookup(&all))
        };
        assert!(with(&[]).unwrap().origin.is_none());
        assert!(with(&[("LINKGATE_ORIGIN", "r2")]).unwrap().origin.is_none());
        assert_eq!(with(&[("LINKGATE_ORIGIN", "s3")]).unwrap_err(), ConfigError::Origin(OriginConfigError::S3Settings));
        let s3 = [
            ("LINKGATE_S3_ACCESS_KEY_ID", "AKID"),
            ("LINKGATE_S3_SECRET_ACCESS_KEY", "s3-secret"),
            ("LINKGATE_S3_BUCKET", "files"),
            ("LINKGATE_S3_ENDPOINT", "https://s3.example.com"),
            ("LINKGATE_S3_REGION", "eu-west-1"),
            ("LINKGATE_ORIGIN", "s3"),
        ];
        let c = with(&s3).unwrap();
        let o = c.origin.unwrap();
        assert!(matches!(&o.kind, OriginKind::S3 { location, .. } if location.region() == "eu-west-1"));
        assert!(c.redirect.is_some(), "the same bucket serves redirects");
        let plain = [
            ("LINKGATE_ORIGIN", "https://internal.example/files"),
            ("LINKGATE_ORIGIN_SECRET_HEADER", "x-origin-secret"),
            ("LINKGATE_ORIGIN_SECRET", "a-secret-of-enough-bytes"),
            ("LINKGATE_ORIGIN_TIMEOUT_MS", "2500"),
        ];
        let o = with(&plain).unwrap().origin.unwrap();
        assert_eq!(o.timeout_ms, 2500);
        assert!(!format!("{o:?}").contains("a-secret-of-enough-bytes"));
        let e = with(&plain[..2]).unwrap_err();
        assert_eq!(e, ConfigError::Origin(OriginConfigError::Secret));
        assert!(e.to_string().contains("LINKGATE_ORIGIN_SECRET"));
        let e = with(&[("LINKGATE_ORIGIN", "http://files.internal")]).unwrap_err();
        assert_eq!(e, ConfigError::Origin(OriginConfigError::Url), "no secret in clear over a network");
    }

    #[test]
    fn media_origins_are_exact_origins() {
        assert_eq!(media_origins(None).unwrap(), Vec::<String>::new());
        assert_eq!(
            media_origins(Some(" https://Player.example , http://127.0.0.1:8080")).unwrap(),
            ["https://player.example", "http://127.0.0.1:8080"]
        );
        for bad in ["*", "player.example", "https://player.example/", "https://a.example/x", "ftp://a", "https://"] {
            assert_eq!(media_origins(Some(bad)), Err(ConfigError::MediaOrigin), "{bad}");
        }
    }
}

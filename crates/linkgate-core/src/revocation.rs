//! The revocation model: denylist entries, their KV key layout, and matching.
//!
//! KV layout (binding `LINKGATE_DENYLIST`), one key per entry:
//!
//! | scope    | key                       | matches                                   |
//! |----------|---------------------------|-------------------------------------------|
//! | `jti`    | `jti:<32 hex>`            | that link                                 |
//! | `sub`    | `sub:<sub>`               | links for that recipient with iat ≤ at    |
//! | `tenant` | `tenant:<tenant>`         | links of that tenant with iat ≤ at        |
//! | `path`   | `path:<path or folder/>`  | every download at or below it             |
//! | `kid`    | `kid:<kid>`               | every link signed by that key, any iat    |
//! | `all`    | `all`                     | every link with iat ≤ at                  |
//! | `credential` | `credential:<32 hex>` | that scoped admin credential (no link)   |
//!
//! A path longer than fits in a KV key (512 bytes) is stored as
//! `path#<sha256 hex of the path>`. The value is a JSON [`Entry`]; a value
//! that does not parse still revokes (fail closed) with no `iat` cut-off.

use sha2::{Digest, Sha256};

use super::json::{self, Object, Raw, Value};

use super::path::CanonicalPath;
use super::token::Claims;

/// Longest KV key Workers KV accepts.
pub const MAX_KV_KEY_BYTES: usize = 512;

/// What an entry revokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevocationScope {
    Jti,
    Sub,
    Tenant,
    Path,
    Kid,
    All,
    /// A scoped admin credential, by its id (`docs/admin.md`): checked on
    /// admin calls, never on downloads.
    Credential,
}

impl RevocationScope {
    /// Every scope.
    pub const ALL: [RevocationScope; 7] = [
        RevocationScope::Jti,
        RevocationScope::Sub,
        RevocationScope::Tenant,
        RevocationScope::Path,
        RevocationScope::Kid,
        RevocationScope::All,
        RevocationScope::Credential,
    ];

    /// Wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            RevocationScope::Jti => "jti",
            RevocationScope::Sub => "sub",
            RevocationScope::Tenant => "tenant",
            RevocationScope::Path => "path",
            RevocationScope::Kid => "kid",
            RevocationScope::All => "all",
            RevocationScope::Credential => "credential",
        }
    }

    /// From the wire name.
    pub fn parse(s: &str) -> Option<RevocationScope> {
        RevocationScope::ALL.iter().copied().find(|x| x.as_str() == s)
    }

    /// Scopes that only revoke links issued at or before the entry's time,
    /// so that fresh links can be issued after an incident.
    ///
    /// Not `kid`: whoever holds a stolen key chooses `iat`, so a cut-off
    /// would spare exactly the thief's links. A killed key stays killed
    /// until it is removed from `LINKGATE_KEYS` and the entry lifted.
    pub const fn has_iat_cutoff(self) -> bool {
        matches!(self, RevocationScope::Sub | RevocationScope::Tenant | RevocationScope::All)
    }
}

/// One denylist entry as stored in KV (and in the strict registry), as JSON:
/// `{"scope", "value", "reason", "actor", "revoked_at", "expires_at"
/// [, "also"]}`. Reading is lenient as stored data must be: `value`,
/// `reason`, `actor` default to empty, `expires_at` to null, `also` to
/// none, unknown members are ignored; `scope` and `revoked_at` are required.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub scope: RevocationScope,
    /// The revoked value (empty for `all`).
    pub value: String,
    pub reason: String,
    pub actor: String,
    /// Unix seconds; the `iat` cut-off for cut-off scopes.
    pub revoked_at: u64,
    /// When KV drops the entry by itself (None: kept until lifted).
    pub expires_at: Option<u64>,
    /// The tenant of the revoked link, for a `jti` entry revoked by its link
    /// (`docs/admin.md`): lets a tenant's admin credential list and lift it.
    /// Not written when absent.
    pub tenant: Option<String>,
    /// Later revocations of the same scope and value, merged into this entry
    /// (see [`merge`]); the first reason and actor stay above. Not written
    /// when empty.
    pub also: Vec<Also>,
}

/// A later revocation of an entry that already existed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Also {
    pub reason: String,
    pub actor: String,
    pub revoked_at: u64,
}

/// A text member that may be absent (empty then).
fn text_or_empty(v: &Value, key: &str) -> Option<String> {
    match v.get(key) {
        None => Some(String::new()),
        Some(t) => t.as_str().map(str::to_owned),
    }
}

/// A number member that may be absent or null.
pub(crate) fn opt_u64(v: &Value, key: &str) -> Option<Option<u64>> {
    match v.get(key) {
        None | Some(Value::Null) => Some(None),
        Some(n) => n.as_u64().map(Some),
    }
}

impl Entry {
    /// The entry as stored.
    pub fn to_json(&self) -> Raw {
        self.members().finish()
    }

    /// The stored members, open for a caller to add its own.
    pub fn members(&self) -> Object {
        let mut o = Object::new()
            .str("scope", self.scope.as_str())
            .str("value", &self.value)
            .str("reason", &self.reason)
            .str("actor", &self.actor)
            .num("revoked_at", self.revoked_at)
            .opt_num("expires_at", self.expires_at);
        if let Some(t) = &self.tenant {
            o = o.str("tenant", t);
        }
        if !self.also.is_empty() {
            o = o.raw("also", &json::array(self.also.iter().map(Also::to_json)));
        }
        o
    }

    /// A stored entry, or `None` if it is not one.
    pub fn from_json(text: &str) -> Option<Entry> {
        Entry::from_value(&json::parse(text).ok()?)
    }

    pub fn from_value(v: &Value) -> Option<Entry> {
        let also = match v.get("also") {
            None => Vec::new(),
            Some(a) => a.as_arr()?.iter().map(Also::from_value).collect::<Option<_>>()?,
        };
        Some(Entry {
            scope: RevocationScope::parse(v.get("scope")?.as_str()?)?,
            value: text_or_empty(v, "value")?,
            reason: text_or_empty(v, "reason")?,
            actor: text_or_empty(v, "actor")?,
            revoked_at: v.get("revoked_at")?.as_u64()?,
            expires_at: opt_u64(v, "expires_at")?,
            tenant: match v.get("tenant") {
                None | Some(Value::Null) => None,
                Some(t) => Some(t.as_str()?.to_owned()),
            },
            also,
        })
    }
}

impl Also {
    fn to_json(&self) -> Raw {
        Object::new().str("reason", &self.reason).str("actor", &self.actor).num("revoked_at", self.revoked_at).finish()
    }

    fn from_value(v: &Value) -> Option<Also> {
        Some(Also {
            reason: v.get("reason")?.as_str()?.to_owned(),
            actor: v.get("actor")?.as_str()?.to_owned(),
            revoked_at: v.get("revoked_at")?.as_u64()?,
        })
    }
}

/// Most later revocations recorded on one entry.
pub const MAX_ALSO: usize = 16;

/// Revoking what is already revoked never weakens the entry: the later
/// expiry wins (no expiry beats any), the later `revoked_at` wins (a cut-off
/// scope then covers links issued in between), the first reason and actor
/// stay, and the new revocation is recorded in `also`.
pub fn merge(existing: Option<Entry>, new: Entry) -> Entry {
    let Some(mut e) = existing.filter(|e| e.scope == new.scope && e.value == new.value) else { return new };
    e.expires_at = match (e.expires_at, new.expires_at) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    };
    e.revoked_at = e.revoked_at.max(new.revoked_at);
    e.tenant = e.tenant.or(new.tenant);
    e.also.push(Also { reason: new.reason, actor: new.actor, revoked_at: new.revoked_at });
    if e.also.len() > MAX_ALSO {
        let extra = e.also.len().saturating_sub(MAX_ALSO);
        e.also.drain(..extra);
    }
    e
}

/// The KV key of an entry.
pub fn kv_key(scope: RevocationScope, value: &str) -> String {
    match scope {
        RevocationScope::All => "all".to_owned(),
        RevocationScope::Path => {
            let plain = format!("path:{value}");
            if plain.len() <= MAX_KV_KEY_BYTES {
                plain
            } else {
                let digest = Sha256::digest(value.as_bytes());
                let mut hex = String::with_capacity(64);
                for b in digest {
                    hex.push_str(&format!("{b:02x}"));
                }
                format!("path#{hex}")
            }
        }
        s => format!("{}:{value}", s.as_str()),
    }
}

/// The keys one download must look up: its jti, sub, tenant and kid, the
/// global entry, and the object path with every folder above it.
pub fn lookup_keys(claims: &Claims, path: &CanonicalPath) -> Vec<String> {
    let mut keys = Vec::with_capacity(8);
    keys.push(kv_key(RevocationScope::Jti, &claims.jti.to_hex()));
    if let Some(s) = &claims.sub {
        keys.push(kv_key(RevocationScope::Sub, s.as_str()));
    }
    if let Some(t) = &claims.tenant {
        keys.push(kv_key(RevocationScope::Tenant, t.as_str()));
    }
    keys.push(kv_key(RevocationScope::Kid, claims.kid.as_str()));
    keys.push(kv_key(RevocationScope::All, ""));
    let p = path.as_str();
    keys.push(kv_key(RevocationScope::Path, p));
    for (i, b) in p.bytes().enumerate().rev() {
        if b == b'/' {
            if let Some(folder) = p.get(..=i) {
                keys.push(kv_key(RevocationScope::Path, folder));
            }
        }
    }
    keys
}

/// Which scope a lookup key belongs to.
fn scope_of_key(key: &str) -> Option<RevocationScope> {
    if key == "all" {
        return Some(RevocationScope::All);
    }
    if key.starts_with("path#") {
        return Some(RevocationScope::Path);
    }
    RevocationScope::parse(key.split(':').next()?)
}

/// The entry that revokes this link, if any. `found` holds the looked-up
/// keys that exist, with their raw KV values.
pub fn find_revocation<'a>(claims: &Claims, found: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<Entry> {
    for (key, raw) in found {
        let Some(scope) = scope_of_key(key) else { continue };
        let entry = match Entry::from_json(raw) {
            Some(e) => e,
            // A hand-written or damaged value still revokes, with no cut-off.
            None => Entry {
                scope,
                value: key.split_once(':').map(|(_, v)| v.to_owned()).unwrap_or_default(),
                reason: "unparsable denylist value".to_owned(),
                actor: String::new(),
                revoked_at: u64::MAX,
                expires_at: None,
                tenant: None,
                also: Vec::new(),
            },
        };
        if !scope.has_iat_cutoff() || claims.iat <= entry.revoked_at {
            return Some(entry);
        }
    }
    None
}

/// How long after `exp` something can still honour a link: the longer of
/// the resume grace and the download grace, plus the clock skew.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    pub max_ttl_secs: u64,
    pub skew_secs: u64,
    pub resume_grace_secs: u64,
    pub download_grace_secs: u64,
}

impl Windows {
    /// Seconds after a link's `exp` during which it can still be honoured.
    pub fn after_exp(&self) -> u64 {
        self.resume_grace_secs.max(self.download_grace_secs).saturating_add(self.skew_secs)
    }
}

/// When an entry can expire by itself: once every link it can match has
/// expired **and** every window that could still honour such a link (resume
/// grace, download grace, skew) has closed. `link_exp` is the revoked link's
/// `exp` when known (jti scope). Path entries match links issued later and
/// `kid` entries match links of any `iat`, so neither ever expires.
pub fn entry_expiry(scope: RevocationScope, revoked_at: u64, link_exp: Option<u64>, w: &Windows) -> Option<u64> {
    // A link matched by a cut-off entry has iat <= revoked_at (+ skew, for an
    // iat set slightly ahead) and so exp <= that + max_ttl.
    let last_exp = revoked_at.saturating_add(w.skew_secs).saturating_add(w.max_ttl_secs);
    let until = |exp: u64| Some(exp.saturating_add(w.after_exp()));
    match scope {
        RevocationScope::Path | RevocationScope::Kid => None,
        RevocationScope::Jti => until(link_exp.map_or(last_exp, |e| e.min(last_exp))),
        RevocationScope::Sub | RevocationScope::Tenant | RevocationScope::All => until(last_exp),
        // No credential lives longer than its maximum lifetime after being
        // revoked (its iat is at most `skew` ahead of the revocation).
        RevocationScope::Credential => {
            Some(revoked_at.saturating_add(w.skew_secs).saturating_add(super::credential::MAX_TTL_SECS))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyId;
    use crate::path::Scope;
    use crate::token::{Field, Jti, Label};

    fn claims() -> Claims {
        let mut c = Claims::new(KeyId::parse("k1").unwrap(), Jti([0xab; 16]), 1000, 5000, Scope::parse("/a/").unwrap());
        c.sub = Some(Label::parse(Field::Sub, "u1").unwrap());
        c.tenant = Some(Label::parse(Field::Tenant, "t1").unwrap());
        c
    }

    fn entry(scope: RevocationScope, at: u64) -> String {
        Entry {
            scope,
            value: "v".into(),
            reason: "r".into(),
            actor: "a".into(),
            revoked_at: at,
            expires_at: None,
            tenant: None,
            also: Vec::new(),
        }
        .to_json()
        .into_string()
    }

    /// Entries stored before the hand-written JSON (by serde) read the same,
    /// and an entry round-trips.
    #[test]
    fn stored_entries_read_and_round_trip() {
        let old = r#"{"scope":"sub","value":"u1","reason":"left","actor":"ops","revoked_at":7,"expires_at":null,"also":[{"reason":"again","actor":"sec","revoked_at":9}]}"#;
        let e = Entry::from_json(old).unwrap();
        assert_eq!(e.scope, RevocationScope::Sub);
        assert_eq!((e.revoked_at, e.expires_at, e.also.len()), (7, None, 1));
        assert_eq!(e.to_json().as_str(), old);
        let minimal = Entry::from_json(r#"{"scope":"all","revoked_at":3,"extra":1}"#).unwrap();
        assert_eq!((minimal.value.as_str(), minimal.reason.as_str(), minimal.expires_at), ("", "", None));
        assert!(!minimal.to_json().as_str().contains("also"), "no empty also");
        assert_eq!(Entry::from_json(&minimal.to_json().into_string()), Some(minimal));
        for bad in [
            r#"{"revoked_at":3}"#,
            r#"{"scope":"everything","revoked_at":3}"#,
            r#"{"scope":"jti","revoked_at":"3"}"#,
            r#"{"scope":"jti","revoked_at":3,"value":null}"#,
            r#"{"scope":"jti","revoked_at":3,"also":[{"reason":"x"}]}"#,
            "[]",
            "",
        ] {
            assert_eq!(Entry::from_json(bad), None, "{bad}");
        }
    }

    /// A3: a second revoke with a shorter life never shortens the entry.
    #[test]
    fn a_second_revoke_never_weakens_the_first() {
        let first = Entry {
            scope: RevocationScope::Jti,
            value: "ab".into(),
            reason: "sent to the wrong person".into(),
            actor: "alice".into(),
            revoked_at: 100,
            expires_at: Some(10_000),
            tenant: None,
            also: Vec::new(),
        };
        let second = Entry {
            reason: "again".into(),
            actor: "bob".into(),
            revoked_at: 200,
            expires_at: Some(1),
            ..first.clone()
        };
        let m = merge(Some(first.clone()), second.clone());
        assert_eq!(m.expires_at, Some(10_000), "the later expiry wins");
        assert_eq!((m.reason.as_str(), m.actor.as_str()), ("sent to the wrong person", "alice"));
        assert_eq!(m.revoked_at, 200);
        assert_eq!(m.also, [Also { reason: "again".into(), actor: "bob".into(), revoked_at: 200 }]);
        let forever = Entry { expires_at: None, ..second.clone() };
        assert_eq!(merge(Some(first.clone()), forever.clone()).expires_at, None, "no expiry beats any");
        assert_eq!(merge(Some(forever), second.clone()).expires_at, None);
        assert_eq!(merge(None, second.clone()), second, "nothing to merge");
        let mut e = first;
        for i in 0..40 {
            e = merge(Some(e), Entry { revoked_at: i, ..second.clone() });
        }
        assert_eq!(e.also.len(), MAX_ALSO);
    }

    #[test]
    fn lookup_keys_cover_every_scope_and_every_folder() {
        let keys = lookup_keys(&claims(), &CanonicalPath::parse("/a/b/c.pdf").unwrap());
        assert_eq!(
            keys,
            [
                "jti:abababababababababababababababab",
                "sub:u1",
                "tenant:t1",
                "kid:k1",
                "all",
                "path:/a/b/c.pdf",
                "path:/a/b/",
                "path:/a/",
                "path:/",
            ]
        );
    }

    #[test]
    fn long_paths_hash_into_a_valid_kv_key() {
        let long = format!("/{}", "x".repeat(1000));
        let k = kv_key(RevocationScope::Path, &long);
        assert!(k.starts_with("path#") && k.len() == 5 + 64);
        assert_eq!(kv_key(RevocationScope::Path, "/a/"), "path:/a/");
    }

    #[test]
    fn cutoff_scopes_spare_links_issued_later() {
        let c = claims();
        for scope in [RevocationScope::Sub, RevocationScope::Tenant, RevocationScope::All] {
            let key = kv_key(scope, "v");
            let at_iat = entry(scope, 1000);
            let before = entry(scope, 999);
            assert!(find_revocation(&c, [(key.as_str(), at_iat.as_str())]).is_some(), "{scope:?} iat == revoked_at");
            assert!(find_revocation(&c, [(key.as_str(), before.as_str())]).is_none(), "{scope:?} issued after");
        }
        for scope in [RevocationScope::Jti, RevocationScope::Path, RevocationScope::Kid] {
            let key = kv_key(scope, "v");
            let before = entry(scope, 1);
            assert!(find_revocation(&c, [(key.as_str(), before.as_str())]).is_some(), "{scope:?} has no cut-off");
        }
    }

    /// F1: a thief holding a killed key signs with `iat` after the kill; the
    /// entry must still refuse it, at any distance in time.
    #[test]
    fn a_killed_key_refuses_links_issued_after_the_kill() {
        let killed = entry(RevocationScope::Kid, 1000);
        for iat in [0, 999, 1000, 1001, 1_000_000, u64::MAX - 1] {
            let mut c = claims();
            c.iat = iat;
            let e = find_revocation(&c, [("kid:k1", killed.as_str())]);
            assert_eq!(e.map(|e| e.scope), Some(RevocationScope::Kid), "iat {iat}");
        }
        let w = Windows { max_ttl_secs: 50, skew_secs: 5, resume_grace_secs: 0, download_grace_secs: 0 };
        assert_eq!(entry_expiry(RevocationScope::Kid, 1000, None, &w), None, "a kid entry never lapses by itself");
    }

    #[test]
    fn unparsable_values_fail_closed() {
        let c = claims();
        assert!(find_revocation(&c, [("sub:u1", "revoked by hand")]).is_some());
        assert!(find_revocation(&c, [("all", "")]).is_some());
        assert!(find_revocation(&c, [("bogus:x", "{}")]).is_none(), "not a lookup key");
        assert!(find_revocation(&c, []).is_none());
    }

    #[test]
    fn expiry_outlives_every_matching_link_and_every_window() {
        let w = Windows { max_ttl_secs: 50, skew_secs: 5, resume_grace_secs: 0, download_grace_secs: 0 };
        assert_eq!(entry_expiry(RevocationScope::Path, 100, None, &w), None);
        assert_eq!(entry_expiry(RevocationScope::Sub, 100, None, &w), Some(160));
        assert_eq!(entry_expiry(RevocationScope::Jti, 100, Some(120), &w), Some(125));
        assert_eq!(entry_expiry(RevocationScope::Jti, 100, None, &w), Some(160));
        assert_eq!(entry_expiry(RevocationScope::All, u64::MAX, None, &w), Some(u64::MAX));
        // F5: the entry outlives the resume grace and the download grace.
        let w = Windows { resume_grace_secs: 300, download_grace_secs: 120, ..w };
        assert_eq!(entry_expiry(RevocationScope::Jti, 100, Some(120), &w), Some(120 + 300 + 5));
        let w = Windows { resume_grace_secs: 0, download_grace_secs: 120, ..w };
        assert_eq!(entry_expiry(RevocationScope::Jti, 100, Some(120), &w), Some(120 + 120 + 5));
        assert_eq!(entry_expiry(RevocationScope::Tenant, 100, None, &w), Some(100 + 5 + 50 + 120 + 5));
    }
}

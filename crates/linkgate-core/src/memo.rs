//! A short per-isolate memo of denylist reads.
//!
//! Multi-connection downloaders and busy links send many requests for the
//! same link within a second; without a memo each costs one KV read. The
//! memo answers a request only when **every** key it needs was read from KV
//! less than `ttl_ms` ago, so it can add at most `ttl_ms` to the revocation
//! bound (documented in docs/revocation.md). Revocations written through the
//! admin API clear it at once in the isolate that handled them.
//!
//! Bounded: past `MAX_KEYS` entries it drops the expired ones, and if that
//! is not enough it starts over. Time is passed in (milliseconds).

use std::collections::HashMap;

use super::gate::ObjectMeta;

/// Most keys held at once (a few hundred KiB at worst).
pub const MAX_KEYS: usize = 4096;

/// Default memo lifetime (`LINKGATE_DENYLIST_MEMO_SECS` = 2).
pub const DEFAULT_TTL_MS: u64 = 2000;
/// Longest memo lifetime accepted: it adds to the revocation bound.
pub const MAX_TTL_MS: u64 = 10_000;

#[derive(Debug, Default)]
pub struct DenylistMemo {
    /// key → (value if present in KV, read at ms).
    entries: HashMap<String, (Option<String>, u64)>,
    /// Bumped by every [`DenylistMemo::clear`]: a read that started before a
    /// revocation was written must not be remembered after it.
    generation: u64,
}

impl DenylistMemo {
    pub fn new() -> DenylistMemo {
        DenylistMemo::default()
    }

    /// The present entries among `keys`, if every key was read less than
    /// `ttl_ms` before `now_ms`; otherwise None (read KV).
    pub fn lookup(&self, keys: &[String], now_ms: u64, ttl_ms: u64) -> Option<Vec<(String, String)>> {
        if ttl_ms == 0 {
            return None;
        }
        let mut found = Vec::new();
        for k in keys {
            let (value, at) = self.entries.get(k)?;
            // A clock that went backwards also counts as stale.
            if now_ms < *at || now_ms - *at >= ttl_ms {
                return None;
            }
            if let Some(v) = value {
                found.push((k.clone(), v.clone()));
            }
        }
        Some(found)
    }

    /// Take before starting a KV read; pass to [`DenylistMemo::store`].
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Remember a KV read of `keys`, started at `now_ms` in `generation`,
    /// that found `found`. Dropped if the memo was cleared since the read
    /// started (the read may predate the revocation that cleared it).
    pub fn store(&mut self, keys: &[String], found: &[(String, String)], now_ms: u64, ttl_ms: u64, generation: u64) {
        if ttl_ms == 0 || generation != self.generation {
            return;
        }
        if self.entries.len().saturating_add(keys.len()) > MAX_KEYS {
            self.entries.retain(|_, (_, at)| now_ms >= *at && now_ms - *at < ttl_ms);
            if self.entries.len().saturating_add(keys.len()) > MAX_KEYS {
                self.entries.clear();
            }
        }
        for k in keys {
            let value = found.iter().find(|(fk, _)| fk == k).map(|(_, v)| v.clone());
            self.entries.insert(k.clone(), (value, now_ms));
        }
    }

    /// Forget everything (a revocation was written or lifted here).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.generation = self.generation.wrapping_add(1);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A short per-isolate memo of object metadata (R2 `head` answers).
///
/// With the edge cache on, every full download needs the object's version for
/// the cache key; without a memo each request pays an R2 `head` even when the
/// body then comes from the cache. The memo answers a `head` for at most
/// `ttl_ms` after R2 gave it, so an isolate may describe (and serve from the
/// edge cache) a replaced or deleted object for at most that long. A body read
/// from R2 is always checked against the version the headers describe
/// (`DeliveryFailure::Changed`), and such a mismatch forgets the entry. Uploads
/// and deletions through the admin API forget the object in their isolate.
/// Objects that do not exist are not remembered.
#[derive(Debug, Default)]
pub struct ObjectMemo {
    /// R2 key → (metadata, read at ms).
    entries: HashMap<String, (ObjectMeta, u64)>,
    /// Bumped by [`ObjectMemo::forget`]: a read in flight during a write is not kept.
    generation: u64,
}

/// Most objects remembered at once.
pub const MAX_OBJECTS: usize = 1024;
/// Default object memo lifetime (`LINKGATE_OBJECT_MEMO_SECS` = 2).
pub const DEFAULT_OBJECT_TTL_MS: u64 = 2000;

impl ObjectMemo {
    pub fn new() -> ObjectMemo {
        ObjectMemo::default()
    }

    /// The metadata of `key` if R2 gave it less than `ttl_ms` before `now_ms`.
    pub fn lookup(&self, key: &str, now_ms: u64, ttl_ms: u64) -> Option<ObjectMeta> {
        let (meta, at) = self.entries.get(key)?;
        // A clock that went backwards also counts as stale.
        (ttl_ms > 0 && now_ms >= *at && now_ms - *at < ttl_ms).then(|| meta.clone())
    }

    /// Take before starting an R2 read; pass to [`ObjectMemo::store`].
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Remember what an R2 read started at `now_ms` in `generation` found.
    pub fn store(&mut self, key: &str, meta: &ObjectMeta, now_ms: u64, ttl_ms: u64, generation: u64) {
        if ttl_ms == 0 || generation != self.generation {
            return;
        }
        if self.entries.len() >= MAX_OBJECTS && !self.entries.contains_key(key) {
            self.entries.retain(|_, (_, at)| now_ms >= *at && now_ms - *at < ttl_ms);
            if self.entries.len() >= MAX_OBJECTS {
                self.entries.clear();
            }
        }
        self.entries.insert(key.to_owned(), (meta.clone(), now_ms));
    }

    /// `key` was written, deleted or found changed: read R2 next time.
    pub fn forget(&mut self, key: &str) {
        self.entries.remove(key);
        self.generation = self.generation.wrapping_add(1);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn answers_only_when_every_key_is_fresh() {
        let mut m = DenylistMemo::new();
        let ks = keys(&["jti:aa", "sub:x", "all"]);
        assert_eq!(m.lookup(&ks, 1000, 2000), None, "empty memo reads KV");
        m.store(&ks, &[("sub:x".to_owned(), "v".to_owned())], 1000, 2000, m.generation());
        assert_eq!(m.lookup(&ks, 1000, 2000), Some(vec![("sub:x".to_owned(), "v".to_owned())]));
        assert_eq!(m.lookup(&ks, 2999, 2000), Some(vec![("sub:x".to_owned(), "v".to_owned())]));
        assert_eq!(m.lookup(&ks, 3000, 2000), None, "exactly ttl old is stale");
        assert_eq!(m.lookup(&ks, 999, 2000), None, "a clock that went back is stale");
        // A request needing one more key reads KV.
        assert_eq!(m.lookup(&keys(&["jti:aa", "path:/a"]), 1500, 2000), None);
        // Absent keys are remembered as absent.
        assert_eq!(m.lookup(&keys(&["jti:aa"]), 1500, 2000), Some(vec![]));
    }

    #[test]
    fn zero_ttl_is_off_and_clear_forgets() {
        let mut m = DenylistMemo::new();
        let ks = keys(&["all"]);
        m.store(&ks, &[], 0, 0, m.generation());
        assert!(m.is_empty());
        m.store(&ks, &[], 10, 100, m.generation());
        assert_eq!(m.lookup(&ks, 10, 0), None);
        m.clear();
        assert_eq!(m.lookup(&ks, 10, 100), None);
    }

    #[test]
    fn a_read_that_started_before_a_clear_is_not_remembered() {
        let mut m = DenylistMemo::new();
        let ks = keys(&["jti:aa"]);
        let generation = m.generation();
        // A revocation is written (and the memo cleared) while the read is in flight.
        m.clear();
        m.store(&ks, &[], 1000, 2000, generation);
        assert_eq!(m.lookup(&ks, 1000, 2000), None, "the stale read must not answer");
        m.store(&ks, &[], 1000, 2000, m.generation());
        assert_eq!(m.lookup(&ks, 1000, 2000), Some(vec![]));
    }

    #[test]
    fn stays_bounded() {
        let mut m = DenylistMemo::new();
        for i in 0..(MAX_KEYS * 3) {
            let now = u64::try_from(i).unwrap_or(u64::MAX);
            m.store(&[format!("jti:{i}")], &[], now, 1_000_000, m.generation());
            assert!(m.len() <= MAX_KEYS);
        }
        // Expired entries go first: a fresh key survives a sweep.
        let mut m = DenylistMemo::new();
        for i in 0..MAX_KEYS {
            m.store(&[format!("old:{i}")], &[], 0, 100, m.generation());
        }
        m.store(&keys(&["new"]), &[], 500, 100, m.generation());
        assert_eq!(m.len(), 1);
        assert_eq!(m.lookup(&keys(&["new"]), 550, 100), Some(vec![]));
    }

    fn meta(version: &str) -> ObjectMeta {
        ObjectMeta { size: 1, etag: format!("e-{version}"), version: version.to_owned(), ..ObjectMeta::default() }
    }

    #[test]
    fn object_memo_answers_within_its_lifetime_only() {
        let mut m = ObjectMemo::new();
        assert_eq!(m.lookup("a", 0, 2000), None);
        m.store("a", &meta("v1"), 1000, 2000, m.generation());
        assert_eq!(m.lookup("a", 1000, 2000), Some(meta("v1")));
        assert_eq!(m.lookup("a", 2999, 2000), Some(meta("v1")));
        assert_eq!(m.lookup("a", 3000, 2000), None, "exactly ttl old is stale");
        assert_eq!(m.lookup("a", 999, 2000), None, "a clock that went back is stale");
        assert_eq!(m.lookup("b", 1000, 2000), None);
        assert_eq!(m.lookup("a", 1000, 0), None, "ttl 0 is off");
        m.store("z", &meta("v1"), 1000, 0, m.generation());
        assert_eq!(m.lookup("z", 1000, 2000), None, "ttl 0 stores nothing");
    }

    #[test]
    fn object_memo_forgets_writes_and_reads_in_flight_across_them() {
        let mut m = ObjectMemo::new();
        m.store("a", &meta("v1"), 1000, 2000, m.generation());
        let in_flight = m.generation();
        m.forget("a");
        assert_eq!(m.lookup("a", 1001, 2000), None, "an upload here is seen at once");
        m.store("a", &meta("v1"), 1000, 2000, in_flight);
        assert_eq!(m.lookup("a", 1001, 2000), None, "a read that started before the write is not kept");
        m.store("a", &meta("v2"), 1002, 2000, m.generation());
        assert_eq!(m.lookup("a", 1003, 2000), Some(meta("v2")));
    }

    #[test]
    fn object_memo_stays_bounded() {
        let mut m = ObjectMemo::new();
        for i in 0..(MAX_OBJECTS * 3) {
            let now = u64::try_from(i).unwrap_or(u64::MAX);
            m.store(&format!("k{i}"), &meta("v"), now, 1_000_000, m.generation());
            assert!(m.len() <= MAX_OBJECTS);
        }
        let mut m = ObjectMemo::new();
        for i in 0..MAX_OBJECTS {
            m.store(&format!("old{i}"), &meta("v"), 0, 100, m.generation());
        }
        m.store("new", &meta("v"), 500, 100, m.generation());
        assert_eq!(m.len(), 1, "expired entries are swept first");
        assert_eq!(m.lookup("new", 550, 100), Some(meta("v")));
    }
}

//! The admin API's query strings (`GET /_linkgate/events`, `/events/hourly`,
//! `/files`): any text must be read or refused with a 400 naming a field,
//! never a panic; a value reaches SQL only as a bound parameter (the
//! statement's quoted literals are the fixed ones, whatever the input); the
//! hourly span is bounded; a folder listed is a canonical folder. The same
//! text as a scoped credential (tenant `acme`, folder `/acme/`) reads it:
//! never past its tenant and folder (docs/admin.md).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use linkgate_core::admin::{
    events_query, events_query_for, files_query, files_query_for, hourly_query, hourly_query_for, MAX_HOURLY_SPAN_SECS,
    MAX_PAGE,
};
use linkgate_core::credential::{Body, Capability, Principal, UntrustedCredential};
use linkgate_core::path::Prefix;

fn scoped() -> &'static Principal {
    static P: OnceLock<Principal> = OnceLock::new();
    P.get_or_init(|| {
        let tenants = ["acme".to_owned()];
        let caps = [Capability::EventsRead, Capability::LinksMint];
        let body = Body::new([7; 16], "fuzz", Some(&tenants), &caps, Some("/acme/"), 10, 100).expect("a valid body");
        let text = body.sign("fuzz-root");
        let c = UntrustedCredential::decode(&text).expect("decodes").verify("fuzz-root", 10, 0).expect("verifies");
        Principal::Scoped(c)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let quotes = |sql: &str| sql.matches('\'').count();
    if let Ok((sql, args, limit)) = events_query(text) {
        assert!((1..=MAX_PAGE).contains(&limit));
        assert_eq!(quotes(&sql), 2, "only 'offline' is quoted: {sql}");
        assert!(sql.matches('?').count() >= args.len());
    }
    for now in [0, 1_800_000_000, u64::MAX] {
        if let Ok((sql, _, since, until)) = hourly_query(text, now) {
            assert!(since <= until && until - since <= MAX_HOURLY_SPAN_SECS);
            assert_eq!(quotes(&sql), 6, "only 'allowed', 'HEAD' and 'refused' are quoted: {sql}");
            assert!(sql.contains("time >= ?") && sql.contains("time <= ?"), "always a bounded span: {sql}");
        }
    }
    if let Ok(q) = files_query(text) {
        assert!((1..=MAX_PAGE).contains(&q.limit));
        assert_eq!(q.key_prefix, q.prefix.trim_start_matches('/'));
        if q.prefix != "/" {
            assert_eq!(Prefix::parse(&q.prefix).map(|p| p.as_str().to_owned()).as_deref(), Ok(q.prefix.as_str()));
        }
    }
    let who = scoped();
    let forced = |sql: &str| sql.contains("tenant IN (?") && sql.contains("substr(path, 1, ?");
    if let Ok((sql, _, _)) = events_query_for(text, who) {
        assert!(forced(&sql), "events not forced to the credential: {sql}");
    }
    if let Ok((sql, _, _, _)) = hourly_query_for(text, 1_800_000_000, who) {
        assert!(forced(&sql), "hourly counts not forced to the credential: {sql}");
    }
    if let Ok(q) = files_query_for(text, who) {
        assert!(q.prefix.starts_with("/acme/"), "a listing outside the credential's folder: {}", q.prefix);
        assert!(q.key_prefix.starts_with("acme/"));
    }
});

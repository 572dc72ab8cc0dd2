//! The core's JSON reader (policy, admin bodies, stored entries, counter
//! state): any bytes must parse or be refused without a panic or unbounded
//! recursion; what parses must write back to text that parses to the same
//! value, and the typed readers on top must never panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use linkgate_core::admin::{parse_inspect, parse_mint, parse_revoke};
use linkgate_core::json;
use linkgate_core::policy::Policy;
use linkgate_core::revocation::Entry;
use linkgate_core::usage::{read_consume_call, ConsumeOutcome, UsageState};

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = json::parse_bytes(data) {
        let again = json::parse(v.to_raw().as_str()).expect("written JSON parses");
        assert_eq!(again, v, "round trip");
    }
    let _ = parse_mint(data, true);
    let _ = parse_revoke(data);
    let _ = parse_inspect(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Policy::parse(text);
        if let Some(e) = Entry::from_json(text) {
            assert_eq!(Entry::from_json(e.to_json().as_str()), Some(e));
        }
        let _ = UsageState::from_json(text);
        let _ = ConsumeOutcome::from_json(text);
        let _ = read_consume_call(text);
    }
});

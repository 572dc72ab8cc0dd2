//! How far the `verify` corpus gets: counts its inputs by verdict (refusal
//! code and reason, or `ok`), to check the fuzzer reaches accepted links.
//!
//!     cargo +nightly run --manifest-path fuzz/Cargo.toml --example verify_corpus_stats -- fuzz/corpus/verify

use std::collections::BTreeMap;

use linkgate_core::verify::{verify, RequestFacts};
use linkgate_fuzz::{decode_case, ring};

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "fuzz/corpus/verify".into());
    let ring = ring();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let data = std::fs::read(entry.expect("entry").path()).expect("read");
        let c = decode_case(&data);
        let facts = RequestFacts {
            raw_path: &c.path,
            token: c.token.as_deref(),
            method: c.method,
            host: c.host.as_deref(),
            client_ip: c.client_ip,
            now: c.now,
        };
        let verdict = match verify(&ring, &c.rules, &facts) {
            Ok(_) => "ok".to_owned(),
            Err(r) => format!("{}:{}", r.code.as_str(), r.reason),
        };
        *counts.entry(verdict).or_default() += 1;
    }
    for (verdict, n) in counts {
        println!("{n:6} {verdict}");
    }
}

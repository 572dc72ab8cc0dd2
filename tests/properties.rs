//! Property tests of the link core: signing and verification, tamper
//! resistance, scope, canonical paths, NFC, the time window and CIDR matching.
//!
//! Every oracle here is written independently of `crates/linkgate-core` (segment lists,
//! bit strings, wide integers, a UAX #15 normalizer over data from Python's
//! `unicodedata`), from docs/link-format.md.
//!
//! Case counts: 256 per property by default; `PROPTEST_CASES=N` overrides it
//! (proptest reads the variable itself). The exhaustive tamper properties try
//! every bit / character of a few tokens per case, so they run N/32 cases;
//! the NFC properties are cheap and run 16 N.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // test code: a panic is a failed test

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::OnceLock;

use linkgate_core::b64;
use linkgate_core::ip::Cidr;
use linkgate_core::keys::KeyRing;
use linkgate_core::nfc::{is_nfc, UNICODE_VERSION};
use linkgate_core::path::{encode_path, CanonicalPath, Prefix, Scope, MAX_PATH_BYTES};
use linkgate_core::token::{
    Claims, ContentType, Field, FileName, HostName, Jti, Label, Mode, UnverifiedToken, TAG_BYTES,
};
use linkgate_core::verify::{verify, Method, RequestFacts, TimeRules, VerifiedLink};
use linkgate_core::{Code, Refusal};
use proptest::prelude::*;
use proptest::sample::select;

// ---------------------------------------------------------------- config

/// Default config: 256 cases, or `PROPTEST_CASES`.
fn cfg() -> ProptestConfig {
    ProptestConfig::default()
}

/// For properties that do thousands of verifications per case.
fn heavy_cfg() -> ProptestConfig {
    let d = ProptestConfig::default();
    ProptestConfig { cases: (d.cases / 32).max(4), ..d }
}

// ---------------------------------------------------------------- fixtures

const KIDS: [&str; 2] = ["k-new", "k_old"];

fn ring() -> KeyRing {
    KeyRing::parse(&format!("{}:{},{}:{}", KIDS[0], b64::encode(&[0x11; 32]), KIDS[1], b64::encode(&[0x22; 48])))
        .unwrap()
}

// ---------------------------------------------------------------- path strategies

/// A character allowed in a path segment: no control character, `/` or `\`.
/// Weighted towards ASCII, URL-special characters, and multi-byte UTF-8 near
/// the C1-control boundary (U+0080..U+009F are controls, U+00A0.. are not).
fn seg_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => prop::char::range('a', 'z'),
        3 => select(vec![
            '.', '-', '_', '~', '%', ' ', '?', '#', '&', '=', '+', ';', ',', '\'', '"', '<', '>', ':', '@', '!',
            '*', '(', ')', '[', ']', '{', '}', '|', '^', '`', '$', 'A', 'Z', '0', '9',
        ]),
        2 => select(vec![
            'é', 'ü', 'ß', 'ÿ', '€', '中', '😀', '\u{a0}', '\u{ad}', '\u{bf}', '\u{100}', '\u{400}', '\u{2000}',
            '\u{200b}', '\u{301}', '\u{feff}', '\u{fffd}', '\u{10ffff}',
        ]),
        1 => any::<char>().prop_filter("segment char", |c| !c.is_control() && *c != '/' && *c != '\\'),
    ]
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(seg_char(), 1..10).prop_map(String::from_iter),
        // A tiny alphabet, so that paths and prefixes often share segments.
        2 => "[ab.]{1,3}",
    ]
    .prop_filter("not a dot segment", |s| s != "." && s != "..")
    // Paths are NFC (§7 step 7); that rule has its own properties (section
    // 4b), checked against an independent normalizer. A segment is NFC after
    // a '/' exactly when the path is NFC there.
    .prop_filter("NFC", |s| is_nfc(&format!("/{s}")))
}

fn path_from(segs: &[String]) -> String {
    format!("/{}", segs.join("/"))
}

fn prefix_from(segs: &[String]) -> String {
    if segs.is_empty() {
        "/".to_owned()
    } else {
        format!("/{}/", segs.join("/"))
    }
}

fn segments() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(segment(), 1..6)
}

/// A valid decoded object path (short enough to sign with everything else).
fn canonical_path() -> impl Strategy<Value = String> {
    segments().prop_map(|s| path_from(&s))
}

/// Valid decoded paths including ones at the 1024-byte limit.
fn any_valid_path() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => canonical_path(),
        1 => (1000usize..=1023, select(vec!["", "é", "€", "😀"])).prop_map(|(n, tail)| {
            let mut p = format!("/{}", "a".repeat(n));
            p.push_str(tail);
            while p.len() > MAX_PATH_BYTES {
                p.remove(1);
            }
            p
        }),
        1 => prop::collection::vec(segment(), 40..80).prop_map(|s| path_from(&s))
            .prop_filter("within the limit", |p| p.len() <= MAX_PATH_BYTES),
    ]
}

/// Segments of a prefix: `/` (none) or a folder.
fn prefix_segments() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(segment(), 0..4)
}

// ---------------------------------------------------------------- claim strategies

/// A host claim, and whether it is a well-formed name (so that port / dot
/// variants of the request host are meaningful).
fn host() -> impl Strategy<Value = (HostName, bool)> {
    prop_oneof![
        4 => ("[a-z0-9-]{1,10}(\\.[a-z0-9-]{1,10}){0,3}(:[0-9]{1,5})?", Just(true)),
        1 => ("\\[[0-9a-f:]{2,12}\\](:[0-9]{1,5})?", Just(true)),
        1 => ("[a-z0-9.:\\[\\]-]{1,20}", Just(false)),
    ]
    .prop_filter_map("host parses", |(s, good)| HostName::parse(&s).ok().map(|h| (h, good)))
}

fn sub() -> impl Strategy<Value = Label> {
    "[!-?A-~]{1,40}".prop_map(|s| Label::parse(Field::Sub, &s).unwrap())
}

fn tenant() -> impl Strategy<Value = Label> {
    "[!-~]{1,40}".prop_map(|s| Label::parse(Field::Tenant, &s).unwrap())
}

fn filename() -> impl Strategy<Value = FileName> {
    prop::collection::vec(seg_char(), 1..30)
        .prop_map(String::from_iter)
        .prop_filter_map("file name parses", |s| FileName::parse(&s).ok())
}

fn content_type() -> impl Strategy<Value = ContentType> {
    "[a-z]{1,11}/[a-z0-9.+-]{1,20}(; ?charset=[a-z0-9-]{1,10})?".prop_map(|s| ContentType::parse(&s).unwrap())
}

fn mask32(p: u8) -> u32 {
    if p == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(p))
    }
}

fn mask128(p: u8) -> u128 {
    if p == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(p))
    }
}

/// IPv6 addresses with the IPv4-mapped range well represented.
fn v6_bits() -> impl Strategy<Value = u128> {
    prop_oneof![
        3 => any::<u128>(),
        2 => any::<u32>().prop_map(|v| (0xffffu128 << 32) | u128::from(v)),
        1 => any::<u32>().prop_map(u128::from), // IPv4-compatible: not mapped
        1 => (any::<u64>(), 0u32..128).prop_map(|(v, s)| u128::from(v) << s),
    ]
}

/// Any network, built with its host bits cleared.
fn cidr() -> impl Strategy<Value = Cidr> {
    prop_oneof![
        (any::<u32>(), 0u8..=32).prop_map(|(a, p)| Cidr::new(IpAddr::V4(Ipv4Addr::from(a & mask32(p))), p).unwrap()),
        (v6_bits(), 0u8..=128).prop_map(|(a, p)| Cidr::new(IpAddr::V6(Ipv6Addr::from(a & mask128(p))), p).unwrap()),
    ]
}

#[derive(Debug, Clone)]
enum ScopeKind {
    Object(Vec<String>),
    Prefix(Vec<String>),
}

fn scope_kind() -> impl Strategy<Value = ScopeKind> {
    prop_oneof![segments().prop_map(ScopeKind::Object), prefix_segments().prop_map(ScopeKind::Prefix)]
}

impl ScopeKind {
    fn scope(&self) -> Scope {
        match self {
            ScopeKind::Object(s) => Scope::parse(&path_from(s)).unwrap(),
            ScopeKind::Prefix(s) => Scope::parse(&prefix_from(s)).unwrap(),
        }
    }
}

/// Arbitrary valid claims (kid from the ring, consistent times, any optional
/// claim), the scope's segments, and whether the host claim is well-formed.
fn claims() -> impl Strategy<Value = (Claims, ScopeKind, bool)> {
    let core = (
        0usize..2,
        any::<[u8; 16]>(),
        any::<u64>(),
        prop_oneof![1u64..=100, 1u64..=7 * 86400],
        prop::option::of(any::<u64>()),
        scope_kind(),
    );
    let optional = (
        prop::option::of(host()),
        prop::option::of(sub()),
        prop::option::of(tenant()),
        prop_oneof![3 => Just(vec![]), 2 => prop::collection::vec(cidr(), 1..4), 1 => prop::collection::vec(cidr(), 16)],
        prop::option::of(any::<u32>().prop_filter_map("nonzero", NonZeroU32::new)),
        prop::option::of(select(vec![Mode::Stream, Mode::Redirect])),
        prop::option::of(filename()),
        prop::option::of(content_type()),
    );
    (core, optional).prop_map(
        |((k, jti, iat, ttl, nbf, sk), (host, sub, tenant, ip, uses, mode, filename, content_type))| {
            let iat = iat.min(u64::MAX - ttl);
            let exp = iat + ttl;
            let c = Claims {
                kid: linkgate_core::KeyId::parse(KIDS[k]).unwrap(),
                jti: Jti(jti),
                iat,
                exp,
                nbf: nbf.map(|n| n % exp),
                scope: sk.scope(),
                host: host.as_ref().map(|h| h.0.clone()),
                sub,
                tenant,
                ip,
                uses,
                mode,
                filename,
                content_type,
            };
            (c, sk, host.is_none_or(|h| h.1))
        },
    )
}

/// Random choices used to build a request that satisfies given claims.
#[derive(Debug, Clone)]
struct Knobs {
    now: u64,
    skew: u64,
    tail: Vec<String>,
    host_variant: u8,
    port: u16,
    cidr_pick: usize,
    host_bits: u128,
    mapped: bool,
    method: u8,
    ip_when_unbound: Option<IpAddr>,
    ttl_slack: u64,
}

fn knobs() -> impl Strategy<Value = Knobs> {
    (
        any::<u64>(),
        prop_oneof![Just(0u64), 0u64..=3600, Just(u64::MAX)],
        prop::collection::vec(segment(), 1..3),
        any::<u8>(),
        any::<u16>(),
        any::<usize>(),
        any::<u128>(),
        any::<bool>(),
        any::<u8>(),
        prop::option::of(prop_oneof![
            any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        ]),
        prop_oneof![Just(0u64), 0u64..1000, any::<u64>()],
    )
        .prop_map(
            |(
                now,
                skew,
                tail,
                host_variant,
                port,
                cidr_pick,
                host_bits,
                mapped,
                method,
                ip_when_unbound,
                ttl_slack,
            )| Knobs {
                now,
                skew,
                tail,
                host_variant,
                port,
                cidr_pick,
                host_bits,
                mapped,
                method,
                ip_when_unbound,
                ttl_slack,
            },
        )
}

/// A request (owned parts) that every claim of `c` allows.
#[derive(Debug, Clone)]
struct Request {
    decoded_path: String,
    raw_path: String,
    host: Option<String>,
    client_ip: Option<IpAddr>,
    method: Method,
    now: u64,
    rules: TimeRules,
}

impl Request {
    fn facts<'a>(&'a self, token: &'a str) -> RequestFacts<'a> {
        RequestFacts {
            raw_path: &self.raw_path,
            token: Some(token),
            method: self.method,
            host: self.host.as_deref(),
            client_ip: self.client_ip,
            now: self.now,
        }
    }

    fn run(&self, ring: &KeyRing, token: &str) -> Result<VerifiedLink, Refusal> {
        verify(ring, &self.rules, &self.facts(token))
    }
}

fn satisfying_request(c: &Claims, sk: &ScopeKind, wellformed: bool, k: &Knobs) -> Request {
    let decoded_path = match sk {
        ScopeKind::Object(s) => path_from(s),
        ScopeKind::Prefix(s) => path_from(&[s.clone(), k.tail.clone()].concat()),
    };
    // now in [max(iat, nbf) - skew, exp - 1]
    let lower = c.iat.max(c.nbf.unwrap_or(0)).saturating_sub(k.skew);
    let upper = c.exp - 1;
    let now = lower + k.now % (upper - lower).saturating_add(1);
    let host = match &c.host {
        None => None,
        Some(h) => {
            let h = h.as_str();
            let has_port = if h.starts_with('[') { h.contains("]:") } else { h.contains(':') };
            Some(match k.host_variant % 4 {
                1 => h.to_ascii_uppercase(),
                2 if !has_port && wellformed => format!("{h}:{}", k.port),
                // A fully qualified name: the dot ends the name, before any port.
                3 if wellformed && !h.starts_with('[') => match h.split_once(':') {
                    Some((name, port)) => format!("{name}.:{port}"),
                    None => format!("{h}."),
                },
                _ => h.to_owned(),
            })
        }
    };
    let client_ip = if c.ip.is_empty() {
        k.ip_when_unbound
    } else {
        match c.ip[k.cidr_pick % c.ip.len()] {
            Cidr::V4 { addr, prefix } => {
                let a = Ipv4Addr::from(u32::from(addr) | (k.host_bits as u32 & !mask32(prefix)));
                Some(if k.mapped { IpAddr::V6(a.to_ipv6_mapped()) } else { IpAddr::V4(a) })
            }
            Cidr::V6 { addr, prefix } => {
                let mut a = u128::from(addr) | (k.host_bits & !mask128(prefix));
                // An IPv4-mapped client is matched as IPv4, so an IPv6 network
                // never contains one (§9). Such a network has prefix < 96, so
                // bit 32 is a host bit: clearing it leaves the mapped range.
                if a >> 32 == 0xffff {
                    a &= !(1u128 << 32);
                }
                Some(IpAddr::V6(Ipv6Addr::from(a)))
            }
        }
    };
    let method = match (k.method % 3, c.uses.is_some()) {
        (0, _) => Method::Get,
        (1, _) => Method::Head,
        (_, true) => Method::Post,
        (_, false) => Method::Get,
    };
    Request {
        raw_path: encode_path(&decoded_path),
        decoded_path,
        host,
        client_ip,
        method,
        now,
        rules: TimeRules { skew_secs: k.skew, max_ttl_secs: (c.exp - c.iat).saturating_add(k.ttl_slack) },
    }
}

/// Claims, whether their host is well-formed, and the request knobs.
#[derive(Debug, Clone)]
struct Case {
    c: Claims,
    sk: ScopeKind,
    host_ok: bool,
    k: Knobs,
}

impl Case {
    fn request(&self) -> Request {
        satisfying_request(&self.c, &self.sk, self.host_ok, &self.k)
    }
}

fn case() -> impl Strategy<Value = Case> {
    (claims(), knobs()).prop_map(|((c, sk, host_ok), k)| Case { c, sk, host_ok, k })
}

fn sign(c: &Claims) -> String {
    let ring = ring();
    c.sign(ring.get(c.kid.as_str()).unwrap()).unwrap()
}

// ---------------------------------------------------------------- 1. round trip

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn sign_then_verify_round_trips(case in case()) {
        let c = &case.c;
        let ring = ring();
        let token = sign(c);

        // decode(sign(c)) == c, and the payload is exactly encode_payload(c).
        let decoded = UnverifiedToken::decode(&token).unwrap();
        prop_assert_eq!(decoded.claims_unverified(), c);
        let raw = b64::decode(token.as_bytes()).unwrap();
        prop_assert_eq!(&raw[..raw.len() - TAG_BYTES], &c.encode_payload()[..]);
        prop_assert_eq!(b64::encode(&raw), token.clone());

        let req = case.request();
        let v = req.run(&ring, &token);
        prop_assert!(v.is_ok(), "refused: {:?}\nrequest: {:?}", v, req);
        let v = v.unwrap();
        prop_assert_eq!(v.claims(), c);
        prop_assert_eq!(v.path().as_str(), req.decoded_path.as_str());
        prop_assert!(v.seconds_left(req.now) >= 1);
    }
}

// ---------------------------------------------------------------- 2. tampering

fn assert_tamper_refused(ring: &KeyRing, req: &Request, token: &str, what: &str) -> Result<(), TestCaseError> {
    match req.run(ring, token) {
        Ok(v) => Err(TestCaseError::fail(format!("{what}: tampered token accepted: {token} -> {:?}", v.claims()))),
        Err(r) => {
            prop_assert!(
                matches!(r.code, Code::TokenMalformed | Code::SignatureInvalid | Code::KeyUnknown),
                "{}: tampered token refused with {} ({})",
                what,
                r.code.as_str(),
                r.reason
            );
            prop_assert!(r.claims.is_none(), "{}: unauthenticated claims leaked into the refusal", what);
            Ok(())
        }
    }
}

const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

proptest! {
    #![proptest_config(heavy_cfg())]

    /// Every single-bit flip of the decoded token bytes, canonically
    /// re-encoded, is refused; for three tokens per case.
    #[test]
    fn every_bit_flip_is_refused(cases in prop::collection::vec(case(), 3)) {
        let ring = ring();
        for case in cases {
            let token = sign(&case.c);
            let req = case.request();
            prop_assert!(req.run(&ring, &token).is_ok());
            let raw = b64::decode(token.as_bytes()).unwrap();
            for bit in 0..raw.len() * 8 {
                let mut t = raw.clone();
                t[bit / 8] ^= 1 << (bit % 8);
                assert_tamper_refused(&ring, &req, &b64::encode(&t), &format!("bit {bit}"))?;
            }
        }
    }

    /// Every single-character substitution in the token text (every other
    /// base64url character, plus characters outside the alphabet) is refused.
    #[test]
    fn every_character_substitution_is_refused(case in case()) {
        let ring = ring();
        let token = sign(&case.c);
        let req = case.request();
        prop_assert!(req.run(&ring, &token).is_ok());
        let extra = ['=', '+', '/', '.', ' ', '%', '~', 'é', '\0'];
        for (i, orig) in token.char_indices() {
            for sub in B64URL.chars().chain(extra) {
                if sub == orig {
                    continue;
                }
                let mut t = String::with_capacity(token.len() + 2);
                t.push_str(&token[..i]);
                t.push(sub);
                t.push_str(&token[i + orig.len_utf8()..]);
                assert_tamper_refused(&ring, &req, &t, &format!("char {i} {orig:?}->{sub:?}"))?;
            }
        }
    }
}

// ---------------------------------------------------------------- 3. moved tokens

/// Segment-wise coverage oracle: the path lies strictly below the prefix.
fn oracle_covers(prefix: &str, path: &str) -> bool {
    let pseg: Vec<&str> =
        prefix.trim_start_matches('/').trim_end_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let seg: Vec<&str> = path[1..].split('/').collect();
    seg.len() > pseg.len() && seg[..pseg.len()] == pseg[..]
}

/// Paths near `base` (a decoded object path or prefix) that string tricks
/// might confuse with it: children, parents, siblings sharing a string prefix.
fn near_paths(base: &str, extra: &str, seg: &str) -> Vec<String> {
    let trimmed = base.trim_end_matches('/');
    let mut v = vec![
        format!("{trimmed}{extra}"),
        format!("{trimmed}{extra}/{seg}"),
        format!("{trimmed}/{seg}"),
        format!("{trimmed}/{seg}/{extra}"),
        trimmed.to_owned(),
        trimmed.to_uppercase(),
        format!("/{seg}{trimmed}"),
    ];
    if let Some((parent, _)) = trimmed.rsplit_once('/') {
        v.push(format!("{parent}/{seg}"));
        if !parent.is_empty() {
            v.push(parent.to_owned());
        }
    }
    if let Some((cut, _)) = trimmed.char_indices().last() {
        v.push(trimmed[..cut].to_owned());
        v.push(format!("{}/{seg}", &trimmed[..cut]));
    }
    v
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn object_token_on_any_other_path_is_scope_mismatch(
        case in case(),
        scope in segments(),
        other in canonical_path(),
        extra in segment(),
        seg in segment(),
    ) {
        let mut case = case;
        case.sk = ScopeKind::Object(scope.clone());
        case.c.scope = case.sk.scope();
        let ring = ring();
        let token = sign(&case.c);
        let mut req = case.request();
        prop_assert!(req.run(&ring, &token).is_ok());
        let own = path_from(&scope);
        let mut candidates = near_paths(&own, &extra, &seg);
        candidates.push(other);
        for p in candidates {
            if p == own || CanonicalPath::parse(&p).is_err() {
                continue;
            }
            req.raw_path = encode_path(&p);
            let r = req.run(&ring, &token);
            prop_assert_eq!(r.as_ref().map_err(|e| e.code), Err(Code::ScopeMismatch), "path {:?} scope {:?}", p, own);
        }
    }

    #[test]
    fn prefix_token_outside_its_folder_is_scope_mismatch(
        case in case(),
        prefix in prefix_segments(),
        other in canonical_path(),
        extra in segment(),
        seg in segment(),
    ) {
        let mut case = case;
        let pfx = prefix_from(&prefix);
        case.sk = ScopeKind::Prefix(prefix.clone());
        case.c.scope = case.sk.scope();
        let ring = ring();
        let token = sign(&case.c);
        let mut req = case.request();
        prop_assert!(req.run(&ring, &token).is_ok());
        let mut candidates = near_paths(&pfx, &extra, &seg);
        candidates.push(other);
        let mut refused = 0;
        for p in candidates {
            if CanonicalPath::parse(&p).is_err() {
                continue;
            }
            req.raw_path = encode_path(&p);
            let code = req.run(&ring, &token).map(|_| ()).map_err(|e| e.code);
            if oracle_covers(&pfx, &p) {
                prop_assert_eq!(code, Ok(()), "path {:?} under {:?}", p, pfx);
            } else {
                refused += 1;
                prop_assert_eq!(code, Err(Code::ScopeMismatch), "path {:?} outside {:?}", p, pfx);
            }
        }
        // The root prefix covers everything; any other has outside paths here.
        prop_assert!(prefix.is_empty() || refused > 0);
    }

    /// Prefix::covers(p) iff p's segments start with the prefix's segments
    /// and go on below them: the folder `/a/` covers `/a/b`, not the object
    /// `/a` (§8), nor `/ab` or `/ab/c`.
    #[test]
    fn prefix_covers_iff_segments_extend_the_prefix(
        prefix in prefix_segments(),
        shape in 0u8..6,
        more in prop::collection::vec(segment(), 1..3),
        random in segments(),
        extra in segment(),
        cut in any::<prop::sample::Index>(),
    ) {
        let path_segs: Vec<String> = match shape {
            0 => [prefix.clone(), more].concat(),                 // below: covered
            1 => prefix.clone(),                                  // the folder itself
            2 if !prefix.is_empty() => {                          // sibling sharing a string prefix
                let mut s = prefix.clone();
                s.last_mut().unwrap().push_str(&extra);
                [s, more].concat()
            }
            3 if !prefix.is_empty() => {                          // truncated last segment
                let mut s = prefix.clone();
                let last = s.last_mut().unwrap();
                let cuts: Vec<usize> = last.char_indices().map(|(i, _)| i).collect();
                last.truncate(cuts[cut.index(cuts.len())]);
                s.retain(|x| !x.is_empty());
                [s, more].concat()
            }
            4 => [prefix[..cut.index(prefix.len() + 1)].to_vec(), more].concat(),
            _ => random,
        };
        // Truncating a segment can leave `.` or nothing: not a valid path.
        let path = CanonicalPath::parse(&path_from(&path_segs));
        prop_assume!(path.is_ok());
        let path = path.unwrap();
        let pfx = Prefix::parse(&prefix_from(&prefix)).unwrap();
        let want = path_segs.len() > prefix.len() && path_segs[..prefix.len()] == prefix[..];
        prop_assert_eq!(pfx.covers(&path), want, "{} under {}", path, pfx.as_str());
        prop_assert_eq!(Scope::Prefix(pfx).covers(&path), want);
    }
}

proptest! {
    #![proptest_config(cfg())]

    /// Breaking exactly one request binding (host, client address, method)
    /// of an otherwise valid request is refused with that binding's code.
    #[test]
    fn broken_binding_is_refused_with_its_code(
        case in case(),
        which in 0u8..3,
        alt in "[a-z]{1,8}",
        other_port in any::<u16>(),
        pick in any::<u8>(),
        stranger in prop_oneof![
            any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            v6_bits().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        ],
    ) {
        let ring = ring();
        let c = &case.c;
        let token = sign(c);
        let mut req = case.request();
        prop_assert!(req.run(&ring, &token).is_ok());
        let want = match which {
            0 => {
                let Some(h) = &c.host else { return Ok(()) };
                let h = h.as_str();
                let has_port = if h.starts_with('[') { h.contains("]:") } else { h.contains(':') };
                req.host = match (pick % 3, h.rsplit_once(':')) {
                    (0, _) => None,
                    // Same name, other port (or none), for a claim with a port.
                    (1, Some((name, port))) if has_port && case.host_ok && port != other_port.to_string() => {
                        if pick % 2 == 0 { Some(format!("{name}:{other_port}")) } else { Some(name.to_owned()) }
                    }
                    _ => Some(format!("{alt}-{h}")),
                };
                Code::HostMismatch
            }
            1 => {
                if c.ip.is_empty() {
                    return Ok(());
                }
                let inside = c.ip.iter().any(|n| match *n {
                    Cidr::V4 { addr, prefix } => oracle_contains(IpAddr::V4(addr), usize::from(prefix), stranger),
                    Cidr::V6 { addr, prefix } => oracle_contains(IpAddr::V6(addr), usize::from(prefix), stranger),
                });
                req.client_ip = if pick % 2 == 0 || inside { None } else { Some(stranger) };
                Code::IpMismatch
            }
            _ => {
                req.method = match (pick % 4, c.uses.is_some()) {
                    (0, false) => Method::Post,
                    (0 | 1, _) => Method::Put,
                    (2, _) => Method::Delete,
                    _ => Method::Other,
                };
                Code::MethodNotAllowed
            }
        };
        let r = req.run(&ring, &token);
        prop_assert_eq!(r.as_ref().map_err(|e| e.code), Err(want), "request {:?}", req);
        prop_assert!(r.unwrap_err().claims.is_some(), "authentic claims are kept for the audit");
    }
}

// ---------------------------------------------------------------- 4. canonical paths

#[path = "common/reference_path.rs"]
mod reference_path;
use reference_path::reference_canonicalize;

/// Pieces that matter to canonicalization: every rule of §7 has one.
const TRICKY: &[&str] = &[
    "/",
    "//",
    "/.",
    "/..",
    "/./",
    "/../",
    ".",
    "..",
    "%",
    "%2",
    "%2e",
    "%2E",
    "/%2e",
    "/%2E%2e",
    "/.%2e/",
    "%2f",
    "%2F",
    "%5c",
    "%5C",
    "\\",
    "%00",
    "\0",
    "%0A",
    "%0d",
    "\t",
    "\n",
    "%1F",
    "%7F",
    "%7f",
    "\u{7f}",
    "%C2%80",
    "%C2%85",
    "%C2%9F",
    "%C2%A0",
    "%c3%a9",
    "é",
    "%C3",
    "%FF",
    "%ED%A0%80",
    "%C0%AF",
    "%E0%80%AF",
    "%F4%90%80%80",
    "%25",
    "%252F",
    "%zz",
    "%%",
    "%%41",
    "%4",
    "a",
    "?",
    "#",
    " ",
    "\u{85}",
    "\u{9f}",
    "\u{a0}",
    "%E2%82%AC",
    "%F0%9F%98%80",
    "%CC%81",
    "\u{323}",
    "%E2%84%AB",
];

/// Raw (percent-encoded) request paths: noise, concatenated tricky pieces,
/// valid paths with one tricky piece spliced in, and paths around 1024
/// decoded bytes.
fn tricky_raw_path() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => select(TRICKY).prop_map(str::to_owned),
        2 => "[a-z]{1,4}",
        1 => any::<char>().prop_map(String::from),
    ];
    prop_oneof![
        4 => prop::collection::vec(piece, 0..16).prop_map(|v| v.concat()),
        4 => (canonical_path(), select(TRICKY), any::<prop::sample::Index>()).prop_map(|(p, t, at)| {
            // At a segment boundary half of the time, else anywhere (the
            // encoded path is ASCII, so every index is a char boundary).
            let mut raw = encode_path(&p);
            let mut bounds: Vec<usize> = raw.match_indices('/').map(|(i, _)| i).collect();
            bounds.push(raw.len());
            let i = at.index(2 * (raw.len() + 1));
            let pos = if i <= raw.len() { i } else { bounds[i % bounds.len()] };
            raw.insert_str(pos, t);
            raw
        }),
        1 => any::<String>(),
        1 => (1000usize..1030, 0usize..3, select(vec![("a", 1), ("%61", 1), ("é", 2), ("%C3%A9", 2)]))
            .prop_map(|(n, dirs, (unit, width))| format!("{}/{}", "/b".repeat(dirs), unit.repeat((n - 2 * dirs) / width))),
    ]
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn encoded_valid_paths_decode_to_themselves(p in any_valid_path(), choices in prop::collection::vec(any::<u8>(), 1..64)) {
        let cp = CanonicalPath::parse(&p).unwrap();
        prop_assert_eq!(CanonicalPath::from_request(&encode_path(&p)), Ok(cp.clone()));
        prop_assert_eq!(CanonicalPath::from_request(&cp.to_url_path()), Ok(cp.clone()));
        if !p.contains('%') {
            prop_assert_eq!(CanonicalPath::from_request(&p), Ok(cp.clone()));
        }
        // Any mix of escaped and literal bytes (hex in either case) decodes to
        // the same path; `%` and non-ASCII must be escaped, `/` must not be.
        let mut raw = String::new();
        for (i, ch) in p.chars().enumerate() {
            let pick = choices[i % choices.len()];
            let must = ch == '%';
            if ch == '/' || (!must && pick % 3 == 0) {
                raw.push(ch);
            } else {
                let mut buf = [0u8; 4];
                for b in ch.encode_utf8(&mut buf).bytes() {
                    if pick % 2 == 0 { raw.push_str(&format!("%{b:02x}")) } else { raw.push_str(&format!("%{b:02X}")) }
                }
            }
        }
        if raw.len() <= MAX_PATH_BYTES * 3 {
            prop_assert_eq!(CanonicalPath::from_request(&raw), Ok(cp.clone()), "raw {}", raw);
        }
    }

    /// `from_request` never panics, agrees with the reference, and what it
    /// returns is canonical. Several raw paths per case (they are cheap).
    #[test]
    fn from_request_output_is_canonical(raws in prop::collection::vec(tricky_raw_path(), 16)) {
        for raw in raws {
            let got = CanonicalPath::from_request(&raw);
            let want = reference_canonicalize(&raw);
            prop_assert_eq!(got.as_ref().ok().map(|p| p.as_str()), want.as_deref(), "raw {:?} -> {:?}", raw, got);
            if let Ok(p) = got {
                let s = p.as_str();
                prop_assert_eq!(CanonicalPath::parse(s), Ok(p.clone()));
                prop_assert!(s.starts_with('/'));
                prop_assert!(!s.contains("//"));
                prop_assert!(!s.contains("/./") && !s.ends_with("/."));
                prop_assert!(!s.contains("/../") && !s.ends_with("/.."));
                prop_assert!(!s.ends_with('/'));
                prop_assert!(!s.chars().any(char::is_control));
                prop_assert!(!s.contains('\\'));
                prop_assert!(s.len() <= MAX_PATH_BYTES);
                prop_assert_eq!(CanonicalPath::from_request(&p.to_url_path()), Ok(p.clone()));
            }
        }
    }
}

// ---------------------------------------------------------------- 4b. NFC

/// `tests/nfc/cases.json`, written by `scripts/gen-nfc-tables.py` from
/// Python's `unicodedata`: per-character data for an alphabet and everything
/// it composes into, and `unicodedata.is_normalized("NFC", s)` for strings
/// over it.
struct NfcData {
    version: String,
    ccc: HashMap<char, u8>,
    nfd: HashMap<char, Vec<char>>,
    compose: HashMap<(char, char), char>,
    /// Second characters of a composition: NFC_QC=Maybe.
    maybe: HashSet<char>,
    cases: Vec<(String, bool)>,
}

fn nfc_data() -> &'static NfcData {
    static DATA: OnceLock<NfcData> = OnceLock::new();
    DATA.get_or_init(|| {
        // The repository root, two levels above crates/linkgate-core, without
        // `..` (under WASI only the repository is visible).
        let mut path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        path.pop();
        path.pop();
        let path = path.join("tests/nfc/cases.json");
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let one = |s: &serde_json::Value| -> char {
            let mut it = s.as_str().unwrap().chars();
            let c = it.next().unwrap();
            assert!(it.next().is_none());
            c
        };
        let (mut ccc, mut nfd) = (HashMap::new(), HashMap::new());
        for (c, d) in v["chars"].as_object().unwrap() {
            let c = one(&serde_json::Value::from(c.as_str()));
            ccc.insert(c, u8::try_from(d[0].as_u64().unwrap()).unwrap());
            nfd.insert(c, d[1].as_str().unwrap().chars().collect());
        }
        let mut compose = HashMap::new();
        for t in v["compositions"].as_array().unwrap() {
            compose.insert((one(&t[0]), one(&t[1])), one(&t[2]));
        }
        let maybe = compose.keys().map(|&(_, b)| b).collect();
        let cases = v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c[0].as_str().unwrap().to_owned(), c[1].as_bool().unwrap()))
            .collect();
        NfcData { version: v["unicode_version"].as_str().unwrap().to_owned(), ccc, nfd, compose, maybe, cases }
    })
}

/// NFC by the book (UAX #15: full canonical decomposition, canonical
/// ordering, canonical composition), for text over the data's characters.
fn reference_nfc(s: &str) -> String {
    let d = nfc_data();
    let class = |c: char| d.ccc[&c];
    let mut v: Vec<char> = s.chars().flat_map(|c| d.nfd[&c].iter().copied()).collect();
    // Canonical ordering: a stable sort of each run of non-starters by class.
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && class(v[j]) != 0 && class(v[j - 1]) > class(v[j]) {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
    // Canonical composition: each character composes with the last starter
    // unless a character between them is a starter or has a class >= its own
    // (the characters after the starter are in canonical order, so the last
    // one has the highest class).
    let mut out: Vec<char> = Vec::new();
    let mut starter: Option<usize> = None;
    for c in v {
        if let Some(si) = starter {
            let blocked = si + 1 < out.len() && out.last().is_some_and(|&b| class(b) == 0 || class(b) >= class(c));
            if let (false, Some(&x)) = (blocked, d.compose.get(&(out[si], c))) {
                out[si] = x;
                continue;
            }
        }
        if class(c) == 0 {
            starter = Some(out.len());
        }
        out.push(c);
    }
    out.into_iter().collect()
}

/// The NFC strings `is_nfc` documents it refuses: a Maybe character right
/// after a non-starter, or a Maybe mark right after a character whose
/// decomposition ends in a mark of a higher class.
fn conservatively_refused(s: &str) -> bool {
    let d = nfc_data();
    let chars: Vec<char> = s.chars().collect();
    chars.windows(2).any(|w| {
        let (a, b) = (w[0], w[1]);
        let tail = d.nfd[&a].last().map_or(0, |&t| d.ccc[&t]);
        d.maybe.contains(&b) && (d.ccc[&a] != 0 || (d.ccc[&b] != 0 && tail > d.ccc[&b]))
    })
}

#[test]
fn nfc_oracle_and_tables_share_a_unicode_version() {
    assert_eq!(nfc_data().version, UNICODE_VERSION, "regenerate with scripts/gen-nfc-tables.py");
}

#[test]
fn nfc_reference_agrees_with_unicodedata() {
    let d = nfc_data();
    assert!(d.cases.len() > 1000 && d.cases.iter().filter(|c| !c.1).count() > 100);
    for (s, normalized) in &d.cases {
        assert_eq!(reference_nfc(s) == *s, *normalized, "{s:?} -> {:?}", reference_nfc(s));
    }
}

#[test]
fn is_nfc_agrees_with_unicodedata_except_the_documented_refusals() {
    let mut conservative = 0;
    for (s, normalized) in &nfc_data().cases {
        match (is_nfc(s), *normalized) {
            (true, false) => panic!("accepted {s:?}, which is not NFC"),
            (false, true) => {
                assert!(conservatively_refused(s), "refused {s:?}, which is NFC");
                conservative += 1;
            }
            _ => {}
        }
    }
    assert!(conservative > 0, "the conservative case is exercised");
}

/// Strings over a small alphabet where normalization happens: ASCII letters
/// and `/`, marks that compose (U+0301, U+0323) and precomposed letters,
/// Tamil two-part vowels, Hangul jamo and syllables, a singleton (U+212B).
fn nfc_text() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        2 => prop_oneof![prop::char::range('a', 'z'), prop::char::range('A', 'Z')],
        1 => select(vec!['/', 'e', 'A', 's']),
        6 => select(vec![
            '\u{e9}', '\u{301}', '\u{323}', '\u{bbe}', '\u{bc6}', '\u{b95}', '\u{1100}', '\u{1161}', '\u{11a8}',
            '\u{ac00}', '\u{ac01}', '\u{212b}', '\u{c5}', '\u{1eb9}', '\u{1e69}',
        ]),
    ];
    prop::collection::vec(ch, 0..12).prop_map(String::from_iter)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cfg().cases.saturating_mul(16), ..cfg() })]

    /// Whatever `is_nfc` accepts is NFC; whatever it refuses is not NFC or
    /// one of the documented conservative refusals.
    #[test]
    fn is_nfc_is_sound_against_the_reference(s in nfc_text()) {
        let nfc = reference_nfc(&s);
        if is_nfc(&s) {
            prop_assert_eq!(&nfc, &s, "accepted, but NFC is different");
        } else {
            prop_assert!(nfc != s || conservatively_refused(&s), "refused {:?}, which is NFC", s);
        }
    }

    /// The NFC spelling of any string is accepted, unless documented.
    #[test]
    fn the_nfc_spelling_is_accepted(s in nfc_text()) {
        let nfc = reference_nfc(&s);
        prop_assert!(is_nfc(&nfc) || conservatively_refused(&nfc), "refused the NFC {:?}", nfc);
        // As a path: the NFC spelling is the canonical one; another spelling
        // of the same text is refused (not normalized into it).
        if !nfc.is_empty() && !nfc.contains('/') && is_nfc(&nfc) {
            let p = format!("/{nfc}");
            prop_assert_eq!(CanonicalPath::parse(&p).map(|c| c.as_str().to_owned()), Ok(p.clone()));
            prop_assert_eq!(CanonicalPath::from_request(&encode_path(&p)).map(|c| c.as_str().to_owned()), Ok(p));
            if s != nfc && !s.contains('/') {
                let other = format!("/{s}");
                prop_assert!(CanonicalPath::parse(&other).is_err(), "{:?} accepted next to {:?}", other, nfc);
                prop_assert!(CanonicalPath::from_request(&encode_path(&other)).is_err());
            }
        }
    }
}

// ---------------------------------------------------------------- 5. time

fn minimal_claims(iat: u64, exp: u64, nbf: Option<u64>) -> Claims {
    Claims {
        kid: linkgate_core::KeyId::parse(KIDS[0]).unwrap(),
        jti: Jti([7; 16]),
        iat,
        exp,
        nbf,
        scope: Scope::parse("/f").unwrap(),
        host: None,
        sub: None,
        tenant: None,
        ip: vec![],
        uses: None,
        mode: None,
        filename: None,
        content_type: None,
    }
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn accepted_iff_inside_the_time_window(
        iat in prop_oneof![any::<u64>(), 0u64..1000, (u64::MAX - 1000)..=u64::MAX],
        ttl in prop_oneof![1u64..=100, 1u64..=10 * 86400, any::<u64>()],
        nbf_pick in prop::option::of(any::<u64>()),
        skew in prop_oneof![Just(0u64), 0u64..=120, any::<u64>(), Just(u64::MAX)],
        ttl_rule in (0u8..4, any::<u64>()),
        anchor in 0u8..6,
        delta in -3i64..=3,
        free_now in any::<u64>(),
    ) {
        let ttl = ttl.max(1);
        let iat = iat.min(u64::MAX - ttl);
        let exp = iat + ttl;
        let nbf = nbf_pick.map(|n| n % exp);
        let max_ttl = match ttl_rule.0 {
            0 => ttl,
            1 => ttl - 1,
            2 => ttl.saturating_add(1),
            _ => ttl_rule.1,
        };
        let base = match anchor {
            0 => iat,
            1 => exp,
            2 => nbf.unwrap_or(iat),
            3 => iat.saturating_sub(skew),
            4 => nbf.unwrap_or(iat).saturating_sub(skew),
            _ => free_now,
        };
        let now = base.saturating_add_signed(delta);

        let c = minimal_claims(iat, exp, nbf);
        let ring = ring();
        let token = sign(&c);
        let rules = TimeRules { skew_secs: skew, max_ttl_secs: max_ttl };
        let facts = RequestFacts { raw_path: "/f", token: Some(&token), method: Method::Get, host: None, client_ip: None, now };
        let got = verify(&ring, &rules, &facts).map(|_| ()).map_err(|r| r.code);

        // Oracle on 128-bit integers: no saturation, no overflow.
        let horizon = u128::from(now) + u128::from(skew);
        let started = u128::from(iat) <= horizon && nbf.is_none_or(|n| u128::from(n) <= horizon);
        let live = now < exp;
        let short = u128::from(exp) - u128::from(iat) <= u128::from(max_ttl);
        let want = if !started {
            Err(Code::NotYetValid)
        } else if !live {
            Err(Code::Expired)
        } else if !short {
            Err(Code::PolicyDenied)
        } else {
            Ok(())
        };
        prop_assert_eq!(got, want, "iat {} exp {} nbf {:?} now {} skew {} max_ttl {}", iat, exp, nbf, now, skew, max_ttl);
    }
}

// ---------------------------------------------------------------- 6. CIDR

fn bits(bytes: &[u8]) -> Vec<bool> {
    bytes.iter().flat_map(|b| (0..8).rev().map(move |i| b >> i & 1 == 1)).collect()
}

/// (family, address bits) as the matcher must see an address: IPv4-mapped
/// IPv6 (80 zero bits, 16 one bits) becomes IPv4.
fn oracle_addr(ip: IpAddr) -> (u8, Vec<bool>) {
    match ip {
        IpAddr::V4(a) => (4, bits(&a.octets())),
        IpAddr::V6(a) => {
            let o = a.octets();
            if o[..10].iter().all(|&b| b == 0) && o[10] == 0xff && o[11] == 0xff {
                (4, bits(&o[12..]))
            } else {
                (6, bits(&o))
            }
        }
    }
}

fn oracle_contains(net_addr: IpAddr, prefix: usize, client: IpAddr) -> bool {
    // A network inside ::ffff:0:0/96 written in IPv6 form is the IPv4 network
    // of prefix - 96 (only possible for prefixes of 96 and more).
    let (nf, nb, prefix) = match (oracle_addr(net_addr), net_addr) {
        ((4, b), IpAddr::V6(_)) if prefix >= 96 => (4, b, prefix - 96),
        (_, IpAddr::V6(a)) => (6, bits(&a.octets()), prefix),
        ((f, b), IpAddr::V4(_)) => (f, b, prefix),
    };
    let (cf, cb) = oracle_addr(client);
    nf == cf && nb[..prefix] == cb[..prefix]
}

/// Addresses that share a random-length leading part with `net` (the low
/// `width` bits of the value), so both sides of every prefix length get hit.
fn client_near(net: u128, width: u32) -> impl Strategy<Value = u128> {
    let all = if width == 128 { u128::MAX } else { (1u128 << width) - 1 };
    (0..=width, any::<u128>()).prop_map(move |(kept, r)| {
        let keep = if kept == 0 { 0 } else { (u128::MAX << (width - kept)) & all };
        (net & keep) | (r & all & !keep)
    })
}

fn network_and_client() -> impl Strategy<Value = (IpAddr, u8, IpAddr)> {
    let v4 = (any::<u32>(), 0u8..=32).prop_flat_map(|(a, p)| {
        let net = a & mask32(p);
        (Just(IpAddr::V4(Ipv4Addr::from(net))), Just(p), client_near(u128::from(net), 32), any::<u8>()).prop_map(
            |(n, p, c, how)| {
                let c4 = Ipv4Addr::from(c as u32);
                let client = match how % 4 {
                    0 | 1 => IpAddr::V4(c4),
                    2 => IpAddr::V6(c4.to_ipv6_mapped()),
                    _ => IpAddr::V6(c4.to_ipv6_compatible()),
                };
                (n, p, client)
            },
        )
    });
    let v6 = (v6_bits(), 0u8..=128).prop_flat_map(|(a, p)| {
        let net = a & mask128(p);
        (Just(IpAddr::V6(Ipv6Addr::from(net))), Just(p), client_near(net, 128), any::<u32>(), any::<u8>()).prop_map(
            |(n, p, c, v4, how)| {
                let client = match how % 5 {
                    0 => IpAddr::V4(Ipv4Addr::from(v4)),
                    1 => IpAddr::V4(Ipv4Addr::from(c as u32)),
                    _ => IpAddr::V6(Ipv6Addr::from(c)),
                };
                (n, p, client)
            },
        )
    });
    prop_oneof![v4, v6]
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn cidr_contains_agrees_with_bit_string_oracle((net, prefix, client) in network_and_client()) {
        let c = Cidr::new(net, prefix).unwrap();
        prop_assert_eq!(c.contains(client), oracle_contains(net, usize::from(prefix), client), "{} {}", c, client);
        // The wire form and the text form name the same network.
        let mut w = Vec::new();
        c.encode_into(&mut w);
        prop_assert_eq!(Cidr::decode_from(&w), Some((c, &[][..])));
        prop_assert_eq!(Cidr::parse(&c.to_string()), Ok(c));
    }

    /// An IPv4 client and its IPv4-mapped IPv6 form are always treated alike.
    #[test]
    fn ipv4_mapped_clients_match_ipv4_networks(net in cidr(), a in any::<u32>()) {
        let v4 = Ipv4Addr::from(a);
        prop_assert_eq!(net.contains(IpAddr::V4(v4)), net.contains(IpAddr::V6(v4.to_ipv6_mapped())));
        if let Cidr::V4 { addr, prefix } = net {
            let inside = Ipv4Addr::from(u32::from(addr) | (a & !mask32(prefix)));
            prop_assert!(net.contains(IpAddr::V6(inside.to_ipv6_mapped())));
        }
    }
}

// ------------------------------------------------- client address text (§9)

/// RFC 3986 §3.2.2 `dec-octet`.
fn rfc3986_dec_octet(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = b.iter().all(u8::is_ascii_digit);
    match b {
        [_] => digits,
        [a, _] => digits && *a != b'0',
        [a, b2, c] => digits && (*a == b'1' || (*a == b'2' && (*b2 < b'5' || (*b2 == b'5' && *c <= b'5')))),
        _ => false,
    }
}

fn rfc3986_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4 && parts.iter().all(|p| rfc3986_dec_octet(p))
}

/// The groups a run of `h16` (and, when `tail`, a final `ls32` IPv4) stands for.
fn rfc3986_groups(s: &str, tail: bool) -> Option<usize> {
    let pieces: Vec<&str> = s.split(':').collect();
    let mut n = 0;
    for (i, p) in pieces.iter().enumerate() {
        if tail && i + 1 == pieces.len() && p.contains('.') {
            if !rfc3986_ipv4(p) {
                return None;
            }
            n += 2;
        } else if (1..=4).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_hexdigit()) {
            n += 1;
        } else {
            return None;
        }
    }
    Some(n)
}

/// RFC 3986 §3.2.2 `IPv6address`: eight groups, or fewer around one `::`
/// that stands for at least one.
fn rfc3986_ipv6(s: &str) -> bool {
    match s.split("::").collect::<Vec<_>>().as_slice() {
        [all] => rfc3986_groups(all, true) == Some(8),
        [head, tail] => {
            let h = if head.is_empty() { Some(0) } else { rfc3986_groups(head, false) };
            let t = if tail.is_empty() { Some(0) } else { rfc3986_groups(tail, true) };
            matches!((h, t), (Some(h), Some(t)) if h + t <= 7)
        }
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// `ip::parse_addr` accepts exactly RFC 3986's IPv4address / IPv6address:
    /// the client address grammar of docs/link-format.md §9.
    #[test]
    fn client_addresses_follow_rfc3986(parts in prop::collection::vec(select(vec![
        "0", "1", "00", "01", "09", "255", "256", "249", "ffff", "FFFF", "fFfF", "12345", "0000", "a", "g",
        ":", "::", ".", "1.2.3.4", "01.2.3.4", "%eth0", " ", "+", "[", "]", "1.2.3", "::ffff:",
    ]), 1..10)) {
        let s: String = parts.concat();
        let spec = rfc3986_ipv4(&s) || rfc3986_ipv6(&s);
        prop_assert_eq!(linkgate_core::ip::parse_addr(&s).is_some(), spec, "{:?}", s);
    }
}

// ---------------------------------------------------------------- sealed links (issue 14)

proptest! {
    #![proptest_config(cfg())]

    /// Any claims, any nonce: the sealed token verifies to exactly the claims
    /// its plain twin does, for the same request; no text claim of 4 bytes or
    /// more appears in the token bytes; and one changed byte after the
    /// header (nonce, ciphertext, tag) is signature_invalid.
    #[test]
    fn seal_then_verify_round_trips(case in case(), nonce in any::<[u8; 24]>(), at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let c = &case.c;
        let ring = ring();
        let key = ring.get(c.kid.as_str()).unwrap();
        let token = c.seal(key, &nonce).unwrap();
        let req = case.request();
        let sealed = req.run(&ring, &token);
        prop_assert!(sealed.is_ok(), "refused: {:?}\nrequest: {:?}", sealed, req);
        let sealed = sealed.unwrap();
        prop_assert!(sealed.sealed());
        prop_assert_eq!(sealed.claims(), c);
        let plain = req.run(&ring, &sign(c)).unwrap();
        prop_assert_eq!(sealed.path(), plain.path());

        let raw = b64::decode(token.as_bytes()).unwrap();
        let texts = [
            Some(c.scope.as_str()),
            c.host.as_ref().map(|h| h.as_str()),
            c.sub.as_ref().map(|x| x.as_str()),
            c.tenant.as_ref().map(|x| x.as_str()),
            c.filename.as_ref().map(|x| x.as_str()),
        ];
        // After the cleartext header (version, kid, nonce: nothing else).
        let header = 2 + c.kid.as_str().len();
        let body = &raw[header + 24..];
        for t in texts.into_iter().flatten().filter(|t| t.len() >= 4) {
            prop_assert!(!body.windows(t.len()).any(|w| w == t.as_bytes()), "{:?} in the sealed bytes", t);
        }

        let i = header + at.index(raw.len() - header);
        let mut t = raw.clone();
        t[i] ^= flip;
        let r = req.run(&ring, &b64::encode(&t));
        prop_assert_eq!(r.map(|_| ()).map_err(|e| e.code), Err(Code::SignatureInvalid), "byte {}", i);
    }
}

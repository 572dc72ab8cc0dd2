//! Shared test vectors for link format v1: tokens (`tests/vectors/v1.json`),
//! requests (`tests/vectors/requests.json`) and text forms
//! (`tests/vectors/forms.json`).
//!
//! The `*_match_committed_file` tests regenerate each set deterministically
//! (fixed keys, jtis and times; no randomness) and compare it with the
//! committed file; `LINKGATE_REGEN_VECTORS=1 cargo test --test vectors`
//! rewrites the files instead. The `committed_*` tests read the files on
//! their own: token vectors through `linkgate_core::verify::verify`, request
//! vectors through the plain verifier and through the gate (the worker's
//! code, from the raw URL, method, client address and time), text forms
//! through the key ring parser and the signer.
//!
//! The expected result of every vector is written down here by hand from
//! `docs/link-format.md`; nothing is derived from running the verifier. Tokens
//! that the signer refuses to produce are assembled byte by byte and, where the
//! point is that decoding must fail before the tag matters, carry a *correct*
//! HMAC tag (computed here with `hmac`/`sha2`, not with the core), so the
//! vector proves that the decoder, not the MAC, refuses them.
//!
//! `tests/vectors/check_vectors.py` is an independent Python implementation
//! of the specification that checks the same files, and
//! `tests/e2e/vectors.test.mjs` replays the request vectors through the
//! real worker in workerd.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // test code: a panic is a failed test

use std::collections::HashSet;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;

use hmac::{Hmac, Mac};
use linkgate_core::b64;
use linkgate_core::ip::Cidr;
use linkgate_core::keys::{KeyId, KeyRing};
use linkgate_core::path::Scope;
use linkgate_core::token::{ContentType, Field, FileName, HostName, Jti, Label, Mode};
use linkgate_core::verify::{verify, Method, RequestFacts, TimeRules};
use linkgate_core::{Claims, Code};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

// ---------------------------------------------------------------------------
// Fixed inputs
// ---------------------------------------------------------------------------

/// 2026-01-01T00:00:00Z.
const T0: u64 = 1_767_225_600;
/// Default request time: one minute after the usual `iat`.
const NOW: u64 = T0 + 60;
const SKEW: u64 = 30;
const MAX_TTL: u64 = 604_800;
const DOMAIN: &[u8] = b"linkgate-link-v1\0";

const LIVE: &str = "live-2026";
const PREV: &str = "prev_2025";
const RETIRED: &str = "retired-2024";

const HOST: &str = "files.example.com";
const CLIENT: &str = "198.51.100.7";

/// The signing key: bytes 0x00..=0x1f (32 bytes).
fn live_key() -> Vec<u8> {
    (0u8..32).collect()
}

/// The second, verify-only key: 40 bytes (its text has a 2-character tail).
fn prev_key() -> Vec<u8> {
    (0u8..40).map(|i| 0xA0 ^ i.wrapping_mul(7)).collect()
}

/// A key that is in no ring: "forged" links carry the live kid with it.
fn forged_key() -> Vec<u8> {
    vec![0x5A; 32]
}

/// The key of a kid that is not in the ring.
fn retired_key() -> Vec<u8> {
    vec![0x33; 32]
}

fn keys_text() -> String {
    format!("{LIVE}:{},{PREV}:{}", b64::encode(&live_key()), b64::encode(&prev_key()))
}

/// Token id number `n`: a fixed pattern with `n` in the first byte.
fn jti(n: u8) -> [u8; 16] {
    let mut j = [0u8; 16];
    for (i, b) in j.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(0x11) ^ 0x5C;
    }
    j[0] = n;
    j
}

// ---------------------------------------------------------------------------
// File layout
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct VectorFile {
    format: String,
    keys: String,
    time_rules: Rules,
    valid: Vec<ValidVector>,
    invalid: Vec<InvalidVector>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Rules {
    skew_secs: u64,
    max_ttl_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Request {
    path: String,
    method: String,
    host: Option<String>,
    client_ip: Option<String>,
    now: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ValidVector {
    name: String,
    description: String,
    token: String,
    payload_hex: String,
    request: Request,
    claims: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct InvalidVector {
    name: String,
    description: String,
    token: Option<String>,
    request: Request,
    code: String,
}

fn req(path: &str) -> Request {
    Request {
        path: path.to_owned(),
        method: "GET".to_owned(),
        host: Some(HOST.to_owned()),
        client_ip: Some(CLIENT.to_owned()),
        now: NOW,
    }
}

/// The request builders shared by token vectors ([`Request`]) and request
/// vectors ([`RawRequest`]).
macro_rules! request_builders {
    ($t:ty) => {
        impl $t {
            fn method(mut self, m: &str) -> Self {
                self.method = m.to_owned();
                self
            }
            fn host(mut self, h: Option<&str>) -> Self {
                self.host = h.map(str::to_owned);
                self
            }
            fn ip(mut self, ip: Option<&str>) -> Self {
                self.client_ip = ip.map(str::to_owned);
                self
            }
            fn at(mut self, now: u64) -> Self {
                self.now = now;
                self
            }
        }
    };
}
request_builders!(Request);

// ---------------------------------------------------------------------------
// Claims and signing through the real code
// ---------------------------------------------------------------------------

fn claims(n: u8, scope: &str) -> Claims {
    Claims::new(KeyId::parse(LIVE).unwrap(), Jti(jti(n)), T0, T0 + 3600, Scope::parse(scope).unwrap())
}

fn cidrs(list: &[&str]) -> Vec<Cidr> {
    list.iter().map(|s| Cidr::parse(s).unwrap()).collect()
}

fn ring() -> KeyRing {
    KeyRing::parse(&keys_text()).unwrap()
}

/// Sign with the ring's key `kid` (through `Claims::sign`).
fn sign_with(c: &Claims, kid: &str) -> String {
    let ring = ring();
    let key = ring.get(kid).unwrap();
    let mut c = c.clone();
    c.kid = key.kid().clone();
    c.sign(key).unwrap()
}

fn sign(c: &Claims) -> String {
    sign_with(c, LIVE)
}

/// A valid host claim of exactly `n` bytes: 63-byte labels before
/// `example.com`, and a port once the name would pass 253 bytes.
fn host_of_len(n: usize) -> String {
    let (name_len, port) = if n > 253 { (n - ":65535".len(), ":65535") } else { (n, "") };
    let mut name = String::from(if (name_len - "example.com".len()) % 64 == 1 { "example.co" } else { "example.com" });
    while name.len() < name_len {
        let label = (name_len - name.len() - 1).min(63);
        name = format!("{}.{name}", "h".repeat(label));
    }
    let host = format!("{name}{port}");
    assert_eq!(host.len(), n);
    host
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn token_bytes(token: &str) -> Vec<u8> {
    b64::decode(token.as_bytes()).unwrap()
}

// ---------------------------------------------------------------------------
// Hand-built payloads and tags (independent of the core's encoder and MAC)
// ---------------------------------------------------------------------------

/// HMAC-SHA256(key, "linkgate-link-v1" || 0x00 || payload).
fn hmac_tag(key: &[u8], domain: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
    mac.update(domain);
    mac.update(payload);
    mac.finalize().into_bytes().to_vec()
}

/// base64url(payload || correct tag under `key`).
fn raw_token(payload: &[u8], key: &[u8]) -> String {
    let mut raw = payload.to_vec();
    raw.extend_from_slice(&hmac_tag(key, DOMAIN, payload));
    b64::encode(&raw)
}

type Fields = Vec<(u8, Vec<u8>)>;

fn be64(v: u64) -> Vec<u8> {
    v.to_be_bytes().to_vec()
}

/// The fields of `claims(n, scope)` with only the required claims.
fn min_fields(n: u8, scope: &str) -> Fields {
    vec![
        (0x01, LIVE.as_bytes().to_vec()),
        (0x02, jti(n).to_vec()),
        (0x03, be64(T0)),
        (0x04, be64(T0 + 3600)),
        (0x06, scope.as_bytes().to_vec()),
    ]
}

fn encode_fields(version: u8, fields: &Fields) -> Vec<u8> {
    let mut out = vec![version];
    for (tag, value) in fields {
        out.push(*tag);
        out.extend_from_slice(&(value.len() as u16).to_be_bytes());
        out.extend_from_slice(value);
    }
    out
}

/// A hand-built v1 payload with a correct tag under the live key.
fn hand(fields: &Fields) -> String {
    raw_token(&encode_fields(1, fields), &live_key())
}

fn without(mut f: Fields, tag: u8) -> Fields {
    f.retain(|(t, _)| *t != tag);
    f
}

fn with(mut f: Fields, tag: u8, value: Vec<u8>) -> Fields {
    f.retain(|(t, _)| *t != tag);
    let at = f.iter().position(|(t, _)| *t > tag).unwrap_or(f.len());
    f.insert(at, (tag, value));
    f
}

fn cidr_wire(family: u8, addr: &[u8], prefix: u8) -> Vec<u8> {
    let mut v = vec![family];
    v.extend_from_slice(addr);
    v.push(prefix);
    v
}

fn b64_value(c: u8) -> u8 {
    match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => panic!("not base64url"),
    }
}

fn b64_char(v: u8) -> char {
    char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[usize::from(v)])
}

// ---------------------------------------------------------------------------
// The vector set
// ---------------------------------------------------------------------------

struct Gen {
    valid: Vec<ValidVector>,
    invalid: Vec<InvalidVector>,
}

impl Gen {
    fn ok(&mut self, name: &str, description: &str, c: &Claims, token: String, request: Request) {
        let raw = token_bytes(&token);
        let payload = &raw[..raw.len() - 32];
        // The token is the signature of exactly these claims.
        assert_eq!(payload, c.encode_payload().as_slice(), "{name}: payload");
        self.valid.push(ValidVector {
            name: name.to_owned(),
            description: description.to_owned(),
            token,
            payload_hex: hex(payload),
            request,
            claims: c.to_json(),
        });
    }

    fn bad(&mut self, name: &str, description: &str, token: Option<String>, request: Request, code: Code) {
        self.invalid.push(InvalidVector {
            name: name.to_owned(),
            description: description.to_owned(),
            token,
            request,
            code: code.as_str().to_owned(),
        });
    }
}

fn generate() -> VectorFile {
    let mut g = Gen { valid: vec![], invalid: vec![] };
    let live = live_key();

    // ----------------------------------------------------------------- valid

    let c = claims(0x01, "/reports/2026/q1.pdf");
    g.ok(
        "minimal_object",
        "Only the required claims (kid, jti, iat, exp, scope); no Host header and no client address are needed.",
        &c,
        sign(&c),
        req("/reports/2026/q1.pdf").host(None).ip(None),
    );

    let mut c = claims(0x02, "/board/2026/");
    c.exp = T0 + 86_400;
    c.nbf = Some(T0);
    c.host = Some(HostName::parse(HOST).unwrap());
    c.sub = Some(Label::parse(Field::Sub, "user-8841").unwrap());
    c.tenant = Some(Label::parse(Field::Tenant, "acme-corp").unwrap());
    c.ip = cidrs(&["198.51.100.0/24", "2001:db8:42::/48"]);
    c.uses = NonZeroU32::new(3);
    c.mode = Some(Mode::Stream);
    c.filename = Some(FileName::parse("Jahresbericht – Geschäftsführung 報告書.pdf").unwrap());
    c.content_type = Some(ContentType::parse("application/pdf").unwrap());
    g.ok(
        "all_claims",
        "Every claim present: nbf, host, sub, tenant, an IPv4 and an IPv6 range, uses=3, mode=stream, a non-ASCII UTF-8 filename and a content type; prefix scope. This is the worked example of docs/link-format.md.",
        &c,
        sign(&c),
        req("/board/2026/pack.pdf"),
    );

    let c = claims(0x03, "/exports/acme/");
    g.ok(
        "prefix_deep_path",
        "A prefix scope covers objects any number of segments below it.",
        &c,
        sign(&c),
        req("/exports/acme/2026/01/ledger.csv"),
    );

    let c = claims(0x04, "/");
    g.ok(
        "prefix_root_covers_everything",
        "The scope \"/\" is the prefix of every object.",
        &c,
        sign(&c),
        req("/any/deeply/nested/object.bin"),
    );

    let c = claims(0x05, "/reports/Q1 résumé.pdf");
    g.ok(
        "percent_encoded_path",
        "The request path is percent-decoded exactly once (%20 is a space, %C3%A9 is é) and then equals the signed scope.",
        &c,
        sign(&c),
        req("/reports/Q1%20r%C3%A9sum%C3%A9.pdf"),
    );

    let c = claims(0x06, "/data/~user/abc-1.txt");
    g.ok(
        "percent_encoded_unreserved_lowercase_hex",
        "Escapes of unreserved characters and lowercase hex digits decode like any other escape.",
        &c,
        sign(&c),
        req("/data/%7euser/%61bc%2d1.txt"),
    );

    let c = claims(0x07, "/menus/café/menü.pdf");
    g.ok(
        "literal_utf8_path",
        "A request path may carry UTF-8 unescaped; it is taken as is.",
        &c,
        sign(&c),
        req("/menus/café/menü.pdf"),
    );

    let c = claims(0x08, "/odd/50%2F50.txt");
    g.ok(
        "escaped_percent_is_literal",
        "Decoding happens once: %252F becomes the three characters %2F, part of the object name, never a slash.",
        &c,
        sign(&c),
        req("/odd/50%252F50.txt"),
    );

    let c = claims(0x09, "/reports/2026/q2.pdf");
    g.ok(
        "second_key",
        "Signed with the second key of the ring (prev_2025, 40 bytes), which verifies but does not sign new links.",
        &{
            let mut c = c.clone();
            c.kid = KeyId::parse(PREV).unwrap();
            c
        },
        sign_with(&c, PREV),
        req("/reports/2026/q2.pdf"),
    );

    let c = claims(0x0A, "/reports/2026/q1.pdf");
    g.ok(
        "exp_minus_one",
        "One second before exp the link is still valid (valid iff now < exp).",
        &c,
        sign(&c),
        req("/reports/2026/q1.pdf").at(T0 + 3599),
    );

    let mut c = claims(0x0B, "/reports/2026/q1.pdf");
    c.nbf = Some(NOW + SKEW);
    g.ok(
        "nbf_within_skew",
        "nbf is 30 s (exactly the allowed skew) after now.",
        &c,
        sign(&c),
        req("/reports/2026/q1.pdf"),
    );

    let mut c = claims(0x0C, "/reports/2026/q1.pdf");
    c.iat = NOW + SKEW;
    c.exp = c.iat + 3600;
    g.ok(
        "iat_within_skew",
        "iat is 30 s (exactly the allowed skew) after now: the issuer's clock runs ahead.",
        &c,
        sign(&c),
        req("/reports/2026/q1.pdf"),
    );

    let mut c = claims(0x0D, "/reports/2026/q1.pdf");
    c.exp = T0 + MAX_TTL;
    g.ok(
        "lifetime_at_maximum",
        "exp - iat equals the maximum lifetime (604800 s) exactly.",
        &c,
        sign(&c),
        req("/reports/2026/q1.pdf"),
    );

    let mut c = claims(0x0E, "/reports/2026/q1.pdf");
    c.ip = cidrs(&["2001:db8:42::/48"]);
    g.ok(
        "ip_v6_client",
        "An IPv6 client inside the signed IPv6 range.",
        &c,
        sign(&c),
        req("/reports/2026/q1.pdf").ip(Some("2001:db8:42:7::1")),
    );

    let mut c = claims(0x0F, "/reports/2026/q1.pdf");
    c.ip = cidrs(&["203.0.113.0/24"]);
    g.ok(
        "ip_mapped_client",
        "An IPv4-mapped IPv6 client address (::ffff:203.0.113.9) is matched as the IPv4 address it carries.",
        &c,
        sign(&c),
        req("/reports/2026/q1.pdf").ip(Some("::ffff:203.0.113.9")),
    );

    let mut c = claims(0x10, "/reports/2026/q1.pdf");
    c.ip = cidrs(&["192.0.2.7/32", "2001:db8::1/128"]);
    g.ok(
        "ip_single_hosts",
        "Single-address ranges (/32 and /128); the client is the IPv6 one.",
        &c,
        sign(&c),
        req("/reports/2026/q1.pdf").ip(Some("2001:db8::1")),
    );

    let mut c = claims(0x1A, "/reports/2026/q1.pdf");
    c.ip = cidrs(&["::1.2.3.0/120", "1:0:0:1:0:0:1:0/128"]);
    assert_eq!(c.to_json()["ip"], serde_json::json!(["::102:300/120", "1::1:0:0:1:0/128"]));
    g.ok(
        "ip_v6_canonical_text",
        "IPv6 ranges are shown in RFC 5952 text, never dotted (signed from ::1.2.3.0/120), and the first of two equally long zero runs is the one compressed. The client ::1.2.3.7 is inside the first.",
        &c,
        sign(&c),
        req("/reports/2026/q1.pdf").ip(Some("::1.2.3.7")),
    );

    let mut c = claims(0x1B, "/reports/2026/q1.pdf");
    c.host = Some(HostName::parse("[2001:db8::1]:8443").unwrap());
    g.ok(
        "host_ipv6_literal_with_port",
        "A bracketed IPv6 host claim with a port matches exactly that Host.",
        &c,
        sign(&c),
        req("/reports/2026/q1.pdf").host(Some("[2001:db8::1]:8443")),
    );

    let mut c = claims(0x11, "/reports/2026/q1.pdf");
    c.uses = NonZeroU32::new(1);
    g.ok(
        "uses_post",
        "POST is allowed on a bounded-use (uses) link: it is the landing page's download button.",
        &c,
        sign(&c),
        req("/reports/2026/q1.pdf").method("POST"),
    );

    let c = claims(0x12, "/reports/2026/q1.pdf");
    g.ok("head_request", "HEAD is allowed like GET.", &c, sign(&c), req("/reports/2026/q1.pdf").method("HEAD"));

    let mut c = claims(0x13, "/exports/acme/ledger.csv");
    c.mode = Some(Mode::Redirect);
    c.content_type = Some(ContentType::parse("text/csv; charset=utf-8").unwrap());
    c.uses = NonZeroU32::new(4_000_000_000);
    g.ok(
        "mode_redirect",
        "mode=redirect, a content type with a parameter and a large uses value.",
        &c,
        sign(&c),
        req("/exports/acme/ledger.csv"),
    );

    let mut c = claims(0x14, "/reports/2026/q1.pdf");
    c.host = Some(HostName::parse(HOST).unwrap());
    g.ok(
        "host_case_and_port_ignored",
        "A host claim without a port matches the Host header case-insensitively, with any port.",
        &c,
        sign(&c),
        req("/reports/2026/q1.pdf").host(Some("Files.Example.COM:8443")),
    );

    let mut c = claims(0x15, "/reports/2026/q1.pdf");
    c.host = Some(HostName::parse("files.example.com:8443").unwrap());
    g.ok(
        "host_with_port",
        "A host claim with a port matches exactly that host and port.",
        &c,
        sign(&c),
        req("/reports/2026/q1.pdf").host(Some("files.example.com:8443")),
    );

    let mut c = claims(0x16, "/reports/2026/q1.pdf");
    c.host = Some(HostName::parse(HOST).unwrap());
    g.ok(
        "host_trailing_dot",
        "A fully qualified Host header (trailing dot) matches the host claim.",
        &c,
        sign(&c),
        req("/reports/2026/q1.pdf").host(Some("files.example.com.")),
    );

    let big = |host_len: usize| -> Claims {
        let mut c = claims(0x17, &format!("/{}", "s".repeat(1023)));
        c.nbf = Some(T0);
        let host = host_of_len(host_len);
        c.host = Some(HostName::parse(&host).unwrap());
        c.sub = Some(Label::parse(Field::Sub, &"u".repeat(128)).unwrap());
        c.tenant = Some(Label::parse(Field::Tenant, &"t".repeat(128)).unwrap());
        let mut ip = vec![];
        for i in 0..8 {
            ip.push(format!("10.{i}.0.0/16"));
            ip.push(format!("2001:db8:{i}::/48"));
        }
        c.ip = ip.iter().map(|s| Cidr::parse(s).unwrap()).collect();
        c.uses = NonZeroU32::new(1);
        c.mode = Some(Mode::Stream);
        c.filename = Some(FileName::parse(&format!("{}.bin", "f".repeat(251))).unwrap());
        c.content_type = Some(ContentType::parse(&format!("application/x-big; p={}", "v".repeat(103))).unwrap());
        c
    };
    let fixed = big(20).encode_payload().len() - 20;
    let max_host = 2048 - fixed;
    let c = big(max_host);
    assert_eq!(c.encode_payload().len(), 2048);
    let max_token = sign(&c);
    assert_eq!(max_token.len(), 2774);
    let max_host_name = c.host.as_ref().unwrap().as_str().to_owned();
    g.ok(
        "max_size_token",
        "The largest accepted token: a 2048-byte payload (2774 characters), with 16 IP ranges, 128-byte sub and tenant, a 1024-byte scope and a 255-byte filename.",
        &c,
        max_token,
        req(&format!("/{}", "s".repeat(1023))).host(Some(&max_host_name)).ip(Some("10.7.200.1")),
    );

    // --------------------------------------------------------------- invalid
    let obj = "/reports/2026/q1.pdf";
    let std_claims = claims(0x40, obj);
    let std_token = sign(&std_claims);
    // The hand encoder used for malformed tokens agrees with the core encoder.
    assert_eq!(encode_fields(1, &min_fields(0x40, obj)), std_claims.encode_payload());

    // token_missing
    g.bad("token_absent", "No lg parameter at all.", None, req(obj), Code::TokenMissing);
    g.bad(
        "token_empty",
        "lg= with an empty value counts as no token.",
        Some(String::new()),
        req(obj),
        Code::TokenMissing,
    );

    // token_malformed: base64url
    // A base token whose length is 2 mod 4, so that its last character has 4 unused bits.
    let odd = (1..4)
        .map(|n| {
            let mut c = claims(0x41, obj);
            c.sub = Some(Label::parse(Field::Sub, &"u".repeat(n)).unwrap());
            sign(&c)
        })
        .find(|t| t.len() % 4 == 2)
        .unwrap();
    let mut t = odd.clone();
    t.replace_range(10..11, "+");
    g.bad(
        "b64_standard_alphabet",
        "A '+' (standard base64, not base64url) in the token.",
        Some(t),
        req(obj),
        Code::TokenMalformed,
    );
    let mut t = odd.clone();
    t.replace_range(10..11, "/");
    g.bad("b64_slash", "A '/' (standard base64, not base64url) in the token.", Some(t), req(obj), Code::TokenMalformed);
    g.bad(
        "b64_padding",
        "A correctly signed token with '==' padding appended: padding is refused.",
        Some(format!("{odd}==")),
        req(obj),
        Code::TokenMalformed,
    );
    let mut t = odd.clone();
    let last = t.pop().unwrap();
    let v = b64_value(last as u8);
    assert_eq!(v & 0x0F, 0);
    t.push(b64_char(v | 0x01));
    g.bad(
        "b64_noncanonical_trailing_bits",
        "The last character has a non-zero unused bit: it decodes to the same bytes (and the tag would match) but is not the canonical encoding.",
        Some(t),
        req(obj),
        Code::TokenMalformed,
    );
    g.bad(
        "b64_impossible_length",
        "A token whose length is 1 mod 4 cannot be base64.",
        Some(odd[..odd.len() - 1].to_owned()),
        req(obj),
        Code::TokenMalformed,
    );
    g.bad(
        "b64_percent_encoded",
        "The token value is taken verbatim from the query: a percent-escape inside it is not decoded.",
        Some(format!("{}%2D{}", &std_token[..8], &std_token[9..])),
        req(obj),
        Code::TokenMalformed,
    );

    // token_malformed: length and version
    g.bad(
        "truncated_tag_only",
        "32 bytes: a tag and no payload (not even a version byte).",
        Some(b64::encode(&hmac_tag(&live, DOMAIN, b""))),
        req(obj),
        Code::TokenMalformed,
    );
    g.bad(
        "truncated_short",
        "Fewer bytes than a tag.",
        Some(b64::encode(&[1u8, 1, 0, 9, b'l', b'i', b'v', b'e'])),
        req(obj),
        Code::TokenMalformed,
    );
    g.bad(
        "token_cut_short",
        "A valid token with its last 8 characters (6 bytes) cut off: the payload/tag split moves and the token no longer decodes.",
        Some(std_token[..std_token.len() - 8].to_owned()),
        req(obj),
        Code::TokenMalformed,
    );
    g.bad(
        "version_only",
        "Payload of just the version byte: no claims at all.",
        Some(raw_token(&[1], &live)),
        req(obj),
        Code::TokenMalformed,
    );
    g.bad(
        "version_2",
        "Version byte 0x02 with otherwise valid v1 fields and a correct tag.",
        Some(raw_token(&encode_fields(2, &min_fields(0x42, obj)), &live)),
        req(obj),
        Code::TokenMalformed,
    );
    g.bad(
        "version_0",
        "Version byte 0x00.",
        Some(raw_token(&encode_fields(0, &min_fields(0x42, obj)), &live)),
        req(obj),
        Code::TokenMalformed,
    );
    let long = big(max_host + 1);
    let long_payload = long.encode_payload();
    assert_eq!(long_payload.len(), 2049);
    let long_token = raw_token(&long_payload, &live);
    assert_eq!(long_token.len(), 2775);
    let long_host = long.host.as_ref().unwrap().as_str().to_owned();
    g.bad(
        "token_too_long",
        "A 2049-byte payload (2775 characters) with valid claims and a correct tag: one byte over the limit.",
        Some(long_token),
        req(&format!("/{}", "s".repeat(1023))).host(Some(&long_host)).ip(Some("10.7.200.1")),
        Code::TokenMalformed,
    );

    // token_malformed: field structure
    let f = min_fields(0x43, obj);
    let mut fo = f.clone();
    fo.push((0x0F, b"x".to_vec()));
    g.bad(
        "unknown_tag_0x0f",
        "A field with tag 0x0F (not defined in v1) after the scope.",
        Some(hand(&fo)),
        req(obj),
        Code::TokenMalformed,
    );
    let mut fo = f.clone();
    fo.insert(0, (0x00, vec![]));
    g.bad("unknown_tag_0x00", "A field with tag 0x00 before the kid.", Some(hand(&fo)), req(obj), Code::TokenMalformed);
    let mut fo = f.clone();
    fo.push((0xFF, vec![0]));
    g.bad("unknown_tag_0xff", "A field with tag 0xFF at the end.", Some(hand(&fo)), req(obj), Code::TokenMalformed);
    let mut fo = f.clone();
    fo.swap(2, 3);
    g.bad("fields_out_of_order", "exp (0x04) before iat (0x03).", Some(hand(&fo)), req(obj), Code::TokenMalformed);
    let mut fo = f.clone();
    fo.insert(2, (0x02, jti(0x43).to_vec()));
    g.bad(
        "duplicate_field",
        "The jti field twice, with the same value.",
        Some(hand(&fo)),
        req(obj),
        Code::TokenMalformed,
    );
    let mut p = encode_fields(1, &f);
    // The scope is the last field: make its length one byte longer than what follows.
    let scope_len_at = p.len() - obj.len() - 2;
    p[scope_len_at + 1] += 1;
    g.bad(
        "field_overrun",
        "The last field's length is one more than the bytes left in the payload.",
        Some(raw_token(&p, &live)),
        req(obj),
        Code::TokenMalformed,
    );
    let mut p = encode_fields(1, &f);
    p.push(0x07);
    g.bad(
        "trailing_byte_after_fields",
        "One stray byte after the last field: a tag without its length.",
        Some(raw_token(&p, &live)),
        req(obj),
        Code::TokenMalformed,
    );
    let mut p = encode_fields(1, &f);
    p.extend_from_slice(&[0x07, 0x00]);
    g.bad(
        "truncated_field_header",
        "Two stray bytes after the last field: a tag and half a length.",
        Some(raw_token(&p, &live)),
        req(obj),
        Code::TokenMalformed,
    );

    // token_malformed: required claims
    for (tag, name) in [(0x01, "kid"), (0x02, "jti"), (0x03, "iat"), (0x04, "exp"), (0x06, "scope")] {
        g.bad(
            &format!("missing_{name}"),
            &format!("The required claim {name} is absent."),
            Some(hand(&without(min_fields(0x44, obj), tag))),
            req(obj),
            Code::TokenMalformed,
        );
    }

    // token_malformed: claim values
    let m = || min_fields(0x45, obj);
    let value_cases: Vec<(&str, &str, Fields)> = vec![
        ("kid_empty", "kid of zero bytes.", with(m(), 0x01, vec![])),
        ("kid_bad_character", "kid 'live.2026': '.' is not in [A-Za-z0-9_-].", with(m(), 0x01, b"live.2026".to_vec())),
        ("kid_too_long", "kid of 33 characters.", with(m(), 0x01, vec![b'k'; 33])),
        ("jti_15_bytes", "jti one byte short.", with(m(), 0x02, jti(0x45)[..15].to_vec())),
        ("jti_17_bytes", "jti one byte long.", with(m(), 0x02, [&jti(0x45)[..], &[0]].concat())),
        ("iat_4_bytes", "iat as a 4-byte integer.", with(m(), 0x03, (T0 as u32).to_be_bytes().to_vec())),
        (
            "exp_9_bytes",
            "exp with a leading zero byte (9 bytes).",
            with(m(), 0x04, [&[0u8][..], &be64(T0 + 3600)].concat()),
        ),
        ("exp_equal_iat", "exp == iat.", with(m(), 0x04, be64(T0))),
        ("exp_before_iat", "exp < iat.", with(m(), 0x04, be64(T0 - 1))),
        ("nbf_equal_exp", "nbf == exp.", with(m(), 0x05, be64(T0 + 3600))),
        ("nbf_7_bytes", "nbf as a 7-byte integer.", with(m(), 0x05, be64(T0)[1..].to_vec())),
        ("scope_empty", "Empty scope.", with(m(), 0x06, vec![])),
        ("scope_relative", "Scope without the leading '/'.", with(m(), 0x06, b"reports/2026/q1.pdf".to_vec())),
        ("scope_dot_dot", "Scope with a '..' segment.", with(m(), 0x06, b"/reports/../hr/salaries.xlsx".to_vec())),
        ("scope_empty_segment", "Scope with '//'.", with(m(), 0x06, b"/reports//q1.pdf".to_vec())),
        ("scope_backslash", "Scope with a backslash.", with(m(), 0x06, b"/reports\\q1.pdf".to_vec())),
        ("scope_invalid_utf8", "Scope bytes that are not UTF-8.", with(m(), 0x06, b"/reports/\xff.pdf".to_vec())),
        ("scope_too_long", "Scope of 1025 bytes.", with(m(), 0x06, format!("/{}", "s".repeat(1024)).into_bytes())),
        (
            "scope_not_nfc",
            "Scope with a decomposed é (e + U+0301): not NFC.",
            with(m(), 0x06, "/reports/e\u{301}.pdf".as_bytes().to_vec()),
        ),
        (
            "host_uppercase",
            "host with an uppercase letter (one claim, one encoding).",
            with(m(), 0x07, b"Files.example.com".to_vec()),
        ),
        ("host_empty", "host of zero bytes.", with(m(), 0x07, vec![])),
        (
            "host_trailing_dot_claim",
            "host claim ending in a dot (it could never match a request).",
            with(m(), 0x07, b"files.example.com.".to_vec()),
        ),
        ("host_bad_character", "host with a '/'.", with(m(), 0x07, b"files.example.com/x".to_vec())),
        (
            "host_trailing_dot_before_port",
            "host 'files.example.com.:443': the name ends in a dot.",
            with(m(), 0x07, b"files.example.com.:443".to_vec()),
        ),
        ("host_colon_in_port", "host 'a:b.:c': two colons outside brackets.", with(m(), 0x07, b"a:b.:c".to_vec())),
        ("host_ipv6_unbracketed", "host '::1': an IPv6 address must be bracketed.", with(m(), 0x07, b"::1".to_vec())),
        ("host_lone_bracket", "host '['.", with(m(), 0x07, b"[".to_vec())),
        ("host_bracket_inside_name", "host 'a[b'.", with(m(), 0x07, b"a[b".to_vec())),
        ("host_junk_after_bracket", "host '[a]:.:80'.", with(m(), 0x07, b"[a]:.:80".to_vec())),
        ("host_port_only", "host ':80': no name.", with(m(), 0x07, b":80".to_vec())),
        ("host_empty_port", "host 'a:': a ':' without a port.", with(m(), 0x07, b"a:".to_vec())),
        ("host_port_zero", "host 'a:0': ports are 1-65535.", with(m(), 0x07, b"a:0".to_vec())),
        ("host_port_too_large", "host 'a:65536'.", with(m(), 0x07, b"a:65536".to_vec())),
        ("host_port_leading_zero", "host 'a:080': one spelling per port.", with(m(), 0x07, b"a:080".to_vec())),
        ("host_label_leading_hyphen", "host '-a.example.com'.", with(m(), 0x07, b"-a.example.com".to_vec())),
        ("host_label_trailing_hyphen", "host 'a-.example.com'.", with(m(), 0x07, b"a-.example.com".to_vec())),
        ("host_empty_label", "host 'a..example.com'.", with(m(), 0x07, b"a..example.com".to_vec())),
        (
            "host_label_64_bytes",
            "host with a 64-byte label (DNS labels are 1-63 bytes).",
            with(m(), 0x07, format!("{}.example.com", "a".repeat(64)).into_bytes()),
        ),
        (
            "host_name_254_bytes",
            "A 254-byte name (at most 253).",
            with(m(), 0x07, format!("{0}.{0}.{0}.{1}", "a".repeat(63), "b".repeat(62)).into_bytes()),
        ),
        (
            "host_last_label_numeric",
            "host '1.2.3': the last label starts with a digit, and it is not an IPv4 address.",
            with(m(), 0x07, b"1.2.3".to_vec()),
        ),
        (
            "host_ipv4_leading_zero",
            "host '192.0.2.010': IPv4 without leading zeros.",
            with(m(), 0x07, b"192.0.2.010".to_vec()),
        ),
        ("host_ipv4_octet_256", "host '256.0.2.1'.", with(m(), 0x07, b"256.0.2.1".to_vec())),
        (
            "host_ipv6_not_canonical",
            "host '[2001:db8:0:0::1]': IPv6 in brackets must be in the canonical text of §10.",
            with(m(), 0x07, b"[2001:db8:0:0::1]".to_vec()),
        ),
        (
            "host_ipv6_dotted",
            "host '[::ffff:192.0.2.1]': the canonical text is never dotted ([::ffff:c000:201]).",
            with(m(), 0x07, b"[::ffff:192.0.2.1]".to_vec()),
        ),
        (
            "sub_email_address",
            "sub containing '@': recipients are opaque ids, never email addresses.",
            with(m(), 0x08, b"alice@example.com".to_vec()),
        ),
        ("sub_space", "sub with a space.", with(m(), 0x08, b"user 1".to_vec())),
        ("tenant_too_long", "tenant of 129 bytes.", with(m(), 0x09, vec![b't'; 129])),
        ("tenant_non_ascii", "tenant with a non-ASCII character.", with(m(), 0x09, "acmé".as_bytes().to_vec())),
        ("ip_empty", "ip field present with no entries.", with(m(), 0x0A, vec![])),
        (
            "ip_host_bits_set",
            "ip entry 10.0.0.1/8: bits set below the prefix length.",
            with(m(), 0x0A, cidr_wire(4, &[10, 0, 0, 1], 8)),
        ),
        (
            "ip_v6_host_bits_set",
            "ip entry 2001:db8::1/32.",
            with(m(), 0x0A, cidr_wire(6, &"2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap().octets(), 32)),
        ),
        ("ip_v4_prefix_33", "IPv4 prefix length 33.", with(m(), 0x0A, cidr_wire(4, &[10, 0, 0, 0], 33))),
        ("ip_v6_prefix_129", "IPv6 prefix length 129.", with(m(), 0x0A, cidr_wire(6, &[0; 16], 129))),
        ("ip_family_5", "ip entry with family byte 5.", with(m(), 0x0A, cidr_wire(5, &[10, 0, 0, 0], 8))),
        (
            "ip_entry_truncated",
            "ip entry cut short (family 4, three address bytes).",
            with(m(), 0x0A, vec![4, 10, 0, 0]),
        ),
        (
            "ip_mapped_network_as_family_6",
            "::ffff:203.0.113.0/120 sent as family 6: IPv4-mapped networks must travel as family 4 (203.0.113.0/24).",
            with(m(), 0x0A, cidr_wire(6, &"::ffff:203.0.113.0".parse::<std::net::Ipv6Addr>().unwrap().octets(), 120)),
        ),
        (
            "ip_17_ranges",
            "17 ranges: at most 16 are allowed.",
            with(m(), 0x0A, (0..17u8).flat_map(|i| cidr_wire(4, &[10, i, 0, 0], 16)).collect()),
        ),
        ("uses_zero", "uses = 0.", with(m(), 0x0B, vec![0, 0, 0, 0])),
        ("uses_8_bytes", "uses as an 8-byte integer.", with(m(), 0x0B, be64(1))),
        ("mode_3", "mode byte 3 (only 1 = stream and 2 = redirect exist).", with(m(), 0x0C, vec![3])),
        ("mode_0", "mode byte 0.", with(m(), 0x0C, vec![0])),
        ("mode_2_bytes", "mode as two bytes.", with(m(), 0x0C, vec![0, 1])),
        ("filename_slash", "filename containing '/'.", with(m(), 0x0D, b"../q1.pdf".to_vec())),
        ("filename_dot_dot", "filename '..'.", with(m(), 0x0D, b"..".to_vec())),
        ("filename_control", "filename containing a newline.", with(m(), 0x0D, b"q1\n.pdf".to_vec())),
        (
            "filename_c1_control",
            "filename containing U+0085 (a C1 control character).",
            with(m(), 0x0D, "q1\u{85}.pdf".as_bytes().to_vec()),
        ),
        ("filename_invalid_utf8", "filename bytes that are not UTF-8.", with(m(), 0x0D, b"q1\xc3.pdf".to_vec())),
        ("filename_too_long", "filename of 256 bytes.", with(m(), 0x0D, vec![b'f'; 256])),
        ("content_type_no_subtype", "content_type 'pdf' without a '/'.", with(m(), 0x0E, b"pdf".to_vec())),
        (
            "content_type_header_injection",
            "content_type with CR LF.",
            with(m(), 0x0E, b"text/plain\r\nX-Evil: 1".to_vec()),
        ),
        ("content_type_space_in_type", "content_type 'text /plain'.", with(m(), 0x0E, b"text /plain".to_vec())),
    ];
    for (name, description, fields) in value_cases {
        g.bad(name, description, Some(hand(&fields)), req(obj), Code::TokenMalformed);
    }

    // path_invalid (checked first, before the token)
    let folder = claims(0x46, "/reports/");
    let folder_token = sign(&folder);
    let path_cases: &[(&str, &str, String)] = &[
        ("path_encoded_slash", "%2F would hide a segment boundary.", "/reports%2F2026/q1.pdf".into()),
        ("path_encoded_slash_lowercase", "%2f, lowercase.", "/reports/2026%2fq1.pdf".into()),
        ("path_encoded_backslash", "%5C.", "/reports/2026%5Cq1.pdf".into()),
        ("path_backslash", "A literal backslash.", "/reports/2026\\q1.pdf".into()),
        ("path_nul", "%00.", "/reports/q1.pdf%00.txt".into()),
        ("path_control_character", "%0A (a control character).", "/reports/q1%0A.pdf".into()),
        ("path_del", "%7F (DEL, a control character).", "/reports/q1%7F.pdf".into()),
        ("path_c1_control", "%C2%85 (U+0085, a C1 control character).", "/reports/q1%C2%85.pdf".into()),
        ("path_dot_dot", "A '..' segment.", "/reports/../hr/salaries.xlsx".into()),
        ("path_encoded_dot_dot", "A '..' segment written %2E%2E.", "/reports/%2E%2E/hr/salaries.xlsx".into()),
        ("path_dot", "A '.' segment.", "/reports/./q1.pdf".into()),
        ("path_empty_segment", "'//'.", "/reports//q1.pdf".into()),
        ("path_trailing_slash", "A request for a folder ('/reports/') is not an object path.", "/reports/".into()),
        ("path_root", "'/' alone is not an object path.", "/".into()),
        ("path_invalid_utf8", "%FF does not decode to UTF-8.", "/reports/%FF.pdf".into()),
        ("path_overlong_utf8", "%C0%AF, an overlong encoding of '/', is invalid UTF-8.", "/reports/%C0%AFetc".into()),
        ("path_bad_escape", "'%' not followed by two hex digits.", "/reports/q1%G1.pdf".into()),
        ("path_truncated_escape", "'%' at the end of the path.", "/reports/q1.pdf%".into()),
        ("path_not_absolute", "A path that does not start with '/'.", "reports/q1.pdf".into()),
        ("path_too_long", "1025 bytes after decoding.", format!("/reports/{}", "a".repeat(1016))),
        (
            "path_too_long_encoded",
            "1025 bytes after decoding, written as %61 escapes.",
            format!("/reports/{}", "%61".repeat(1016)),
        ),
        (
            "path_not_nfc_decomposed",
            "The NFD spelling of /reports/é.pdf (e + U+0301, percent-encoded) under a prefix link: not NFC. The store would serve the NFC object, dodging a path revocation of its spelling.",
            "/reports/e%CC%81.pdf".into(),
        ),
        (
            "path_not_nfc_literal",
            "The same NFD spelling sent as literal UTF-8.",
            "/reports/e\u{301}.pdf".into(),
        ),
        ("path_not_nfc_singleton", "U+212B ANGSTROM SIGN, whose NFC is U+00C5.", "/reports/%E2%84%AB.pdf".into()),
        (
            "path_not_nfc_hangul_jamo",
            "Conjoining jamo U+1100 U+1161, whose NFC is the syllable U+AC00.",
            "/reports/%E1%84%80%E1%85%A1.pdf".into(),
        ),
        (
            "path_not_nfc_tamil_decomposed",
            "Tamil U+0B95 U+0BC6 U+0BBE, whose NFC is U+0B95 U+0BCA.",
            "/reports/%E0%AE%95%E0%AF%86%E0%AE%BE.pdf".into(),
        ),
        (
            "path_not_nfc_marks_out_of_order",
            "a + U+0301 (class 230) + U+0323 (class 220): combining marks out of canonical order.",
            "/reports/a%CC%81%CC%A3.pdf".into(),
        ),
    ];
    for (name, description, path) in path_cases {
        g.bad(name, description, Some(folder_token.clone()), req(path), Code::PathInvalid);
    }
    g.bad(
        "path_invalid_before_missing_token",
        "The path is canonicalized before the token is looked at: a bad path without a token is path_invalid.",
        None,
        req("/reports/../hr/salaries.xlsx"),
        Code::PathInvalid,
    );
    g.bad(
        "path_invalid_before_malformed_token",
        "A bad path with a malformed token is path_invalid.",
        Some("!!".into()),
        req("/reports%2Fq1.pdf"),
        Code::PathInvalid,
    );
    let c = claims(0x4C, "/reports/résumé.pdf");
    g.bad(
        "unicode_not_normalized",
        "No Unicode normalization: a decomposed é (e + U+0301) in the request of a link signed for the precomposed é is not NFC, so path_invalid (checked first), never normalized into the signed path.",
        Some(sign(&c)),
        req("/reports/re%CC%81sume%CC%81.pdf"),
        Code::PathInvalid,
    );
    let c = claims(0x18, "/board/");
    g.ok(
        "path_nfc_under_prefix",
        "The NFC spelling of é (U+00E9, percent-encoded) under a prefix link is accepted: paths are NFC (the NFD spelling is path_not_nfc_decomposed).",
        &c,
        sign(&c),
        req("/board/%C3%A9.pdf"),
    );
    let c = claims(0x19, "/notes/\u{b95}\u{bbe}.pdf");
    g.ok(
        "path_nfc_tamil",
        "Tamil கா (KA U+0B95 + vowel sign AA U+0BBE) is NFC although U+0BBE composes with other vowel signs (U+0BC6 U+0BBE is U+0BCA): accepted.",
        &c,
        sign(&c),
        req("/notes/%E0%AE%95%E0%AE%BE.pdf"),
    );
    let max_path = format!("/reports/{}", "a".repeat(1015));
    let mut c = claims(0x47, &max_path);
    c.exp = T0 + 3600;
    g.ok(
        "path_at_maximum_length",
        "A 1024-byte path (the maximum), requested as %61 escapes (3070 raw characters).",
        &c,
        sign(&c),
        req(&format!("/reports/{}", "%61".repeat(1015))),
    );

    // signature_invalid
    let mut raw = token_bytes(&std_token);
    let n = raw.len();
    raw[n - 1] ^= 0x01;
    g.bad(
        "tag_bit_flipped",
        "The last bit of the tag flipped.",
        Some(b64::encode(&raw)),
        req(obj),
        Code::SignatureInvalid,
    );
    let mut raw = token_bytes(&std_token);
    let n = raw.len();
    raw[n - 32] ^= 0x80;
    g.bad(
        "tag_first_bit_flipped",
        "The first bit of the tag flipped.",
        Some(b64::encode(&raw)),
        req(obj),
        Code::SignatureInvalid,
    );
    g.bad(
        "signed_with_wrong_key",
        "The same claims (kid live-2026) signed with a key that is not live-2026's.",
        Some(raw_token(&std_claims.encode_payload(), &forged_key())),
        req(obj),
        Code::SignatureInvalid,
    );
    g.bad(
        "signed_with_other_ring_key",
        "The tag is made with prev_2025's key but the kid names live-2026.",
        Some(raw_token(&std_claims.encode_payload(), &prev_key())),
        req(obj),
        Code::SignatureInvalid,
    );
    let mut raw = token_bytes(&std_token);
    // exp is the field after kid, jti and iat: 1 + (3+9) + (3+16) + (3+8) + 3 header bytes.
    let exp_at = 1 + 12 + 19 + 11 + 3;
    assert_eq!(&raw[exp_at..exp_at + 8], &(T0 + 3600).to_be_bytes());
    raw[exp_at..exp_at + 8].copy_from_slice(&(T0 + 86_400).to_be_bytes());
    g.bad(
        "exp_changed_after_signing",
        "exp moved one day later after signing; the tag is the original one.",
        Some(b64::encode(&raw)),
        req(obj),
        Code::SignatureInvalid,
    );
    let mut raw = token_bytes(&std_token);
    let at = raw.windows(obj.len()).position(|w| w == obj.as_bytes()).unwrap();
    raw[at + obj.len() - 5] = b'2';
    g.bad(
        "scope_changed_after_signing",
        "The scope /reports/2026/q1.pdf changed to /reports/2026/q2.pdf after signing; the request asks for q2.",
        Some(b64::encode(&raw)),
        req("/reports/2026/q2.pdf"),
        Code::SignatureInvalid,
    );
    let p = std_claims.encode_payload();
    let mut raw = p.clone();
    raw.extend_from_slice(&hmac_tag(&live, b"", &p));
    g.bad(
        "tag_without_domain_label",
        "HMAC-SHA256(key, payload) without the \"linkgate-link-v1\\0\" prefix.",
        Some(b64::encode(&raw)),
        req(obj),
        Code::SignatureInvalid,
    );
    let mut raw = p.clone();
    raw.extend_from_slice(&hmac_tag(&live, b"linkgate-link-v1", &p));
    g.bad(
        "tag_without_nul_separator",
        "HMAC over \"linkgate-link-v1\" || payload, without the 0x00 separator.",
        Some(b64::encode(&raw)),
        req(obj),
        Code::SignatureInvalid,
    );
    let mut raw = token_bytes(&std_token);
    let n = raw.len();
    raw[n - 1] ^= 0x01;
    g.bad(
        "signature_checked_before_time",
        "A wrong tag on an expired link is signature_invalid: nothing is believed before the tag verifies.",
        Some(b64::encode(&raw)),
        req(obj).at(T0 + 7200),
        Code::SignatureInvalid,
    );

    // key_unknown
    let mut c = claims(0x48, obj);
    c.kid = KeyId::parse(RETIRED).unwrap();
    g.bad(
        "kid_not_in_ring",
        "Signed correctly with the key of kid retired-2024, which the ring does not list.",
        Some(raw_token(&c.encode_payload(), &retired_key())),
        req(obj),
        Code::KeyUnknown,
    );
    let mut raw = c.encode_payload();
    raw.extend_from_slice(&[0u8; 32]);
    g.bad(
        "kid_unknown_before_tag",
        "An unknown kid with an all-zero tag is key_unknown (the key is looked up before the tag is checked).",
        Some(b64::encode(&raw)),
        req(obj),
        Code::KeyUnknown,
    );
    let mut fo = without(min_fields(0x48, obj), 0x01);
    fo.insert(0, (0x01, RETIRED.as_bytes().to_vec()));
    fo.push((0x0F, vec![]));
    g.bad(
        "malformed_before_kid",
        "A token that is both malformed (unknown tag 0x0F) and names an unknown kid is token_malformed.",
        Some(raw_token(&encode_fields(1, &fo), &retired_key())),
        req(obj),
        Code::TokenMalformed,
    );
    let mut c = claims(0x49, obj);
    c.kid = KeyId::parse("LIVE-2026").unwrap();
    g.bad(
        "kid_case_sensitive",
        "kid LIVE-2026 is not live-2026: key ids are compared byte for byte.",
        Some(raw_token(&c.encode_payload(), &live)),
        req(obj),
        Code::KeyUnknown,
    );

    // scope_mismatch
    let a = claims(0x4A, "/a/");
    let at = sign(&a);
    g.bad(
        "prefix_not_whole_segment",
        "Prefix /a/ never covers /ab.",
        Some(at.clone()),
        req("/ab"),
        Code::ScopeMismatch,
    );
    g.bad(
        "prefix_folder_itself",
        "Prefix /a/ does not cover the object /a.",
        Some(at.clone()),
        req("/a"),
        Code::ScopeMismatch,
    );
    g.bad("prefix_sibling_folder", "Prefix /a/ does not cover /ab/c.", Some(at), req("/ab/c"), Code::ScopeMismatch);
    g.bad(
        "object_sibling",
        "An object scope covers only itself, not its sibling.",
        Some(std_token.clone()),
        req("/reports/2026/q2.pdf"),
        Code::ScopeMismatch,
    );
    g.bad(
        "object_child",
        "An object scope is not a folder.",
        Some(std_token.clone()),
        req("/reports/2026/q1.pdf/x"),
        Code::ScopeMismatch,
    );
    g.bad(
        "object_name_extension",
        "/reports/2026/q1.pdf does not cover /reports/2026/q1.pdfx.",
        Some(std_token.clone()),
        req("/reports/2026/q1.pdfx"),
        Code::ScopeMismatch,
    );
    g.bad(
        "scope_case_sensitive",
        "Paths are case-sensitive.",
        Some(std_token.clone()),
        req("/Reports/2026/q1.pdf"),
        Code::ScopeMismatch,
    );
    let c = claims(0x4B, "/a/b");
    g.bad(
        "double_encoded_slash",
        "%252F decodes once to the literal %2F, not to a slash: /a%252Fb is the object '/a%2Fb', not /a/b.",
        Some(sign(&c)),
        req("/a%252Fb"),
        Code::ScopeMismatch,
    );

    // host_mismatch
    let mut c = claims(0x4D, obj);
    c.host = Some(HostName::parse(HOST).unwrap());
    let ht = sign(&c);
    g.bad(
        "host_other",
        "Another host.",
        Some(ht.clone()),
        req(obj).host(Some("downloads.example.com")),
        Code::HostMismatch,
    );
    g.bad(
        "host_absent",
        "No Host header while the link is bound to a host.",
        Some(ht.clone()),
        req(obj).host(None),
        Code::HostMismatch,
    );
    g.bad(
        "host_suffix_trick",
        "The signed host as a prefix of another name.",
        Some(ht.clone()),
        req(obj).host(Some("files.example.com.evil.net")),
        Code::HostMismatch,
    );
    let mut c6 = claims(0x5B, obj);
    c6.host = Some(HostName::parse("[2001:db8::1]").unwrap());
    g.bad(
        "host_ipv6_literal_with_trailing_junk",
        "A bracketed IPv6 host followed by anything but :port is not that host.",
        Some(sign(&c6)),
        req(obj).host(Some("[2001:db8::1]junk")),
        Code::HostMismatch,
    );
    let mut c = claims(0x57, obj);
    c.host = Some(HostName::parse("kb.example.com").unwrap());
    g.bad(
        "host_ascii_case_folding_only",
        "Host comparison folds ASCII letters only: U+212A KELVIN SIGN is not 'k' (Unicode lowercasing would say it is).",
        Some(sign(&c)),
        req(obj).host(Some("\u{212A}b.example.com")),
        Code::HostMismatch,
    );
    g.bad("host_parent_domain", "The parent domain.", Some(ht), req(obj).host(Some("example.com")), Code::HostMismatch);
    let mut c = claims(0x4E, obj);
    c.host = Some(HostName::parse("files.example.com:8443").unwrap());
    let hp = sign(&c);
    g.bad(
        "host_port_other_port",
        "A host claim with a port refuses other ports.",
        Some(hp.clone()),
        req(obj).host(Some("files.example.com:443")),
        Code::HostMismatch,
    );
    g.bad(
        "host_port_no_port",
        "A host claim with a port refuses a Host header without one.",
        Some(hp),
        req(obj).host(Some("files.example.com")),
        Code::HostMismatch,
    );

    // ip_mismatch
    let mut c = claims(0x4F, obj);
    c.ip = cidrs(&["203.0.113.0/24"]);
    let it = sign(&c);
    g.bad(
        "ip_outside",
        "An IPv4 client outside the signed range.",
        Some(it.clone()),
        req(obj).ip(Some("203.0.114.1")),
        Code::IpMismatch,
    );
    g.bad(
        "ip_absent",
        "No client address while the link is bound to ranges.",
        Some(it.clone()),
        req(obj).ip(None),
        Code::IpMismatch,
    );
    g.bad(
        "ip_v6_client_v4_ranges",
        "An IPv6 client against IPv4-only ranges.",
        Some(it.clone()),
        req(obj).ip(Some("2001:db8::1")),
        Code::IpMismatch,
    );
    g.bad(
        "ip_v4_compatible_is_not_mapped",
        "::203.0.113.9 (IPv4-compatible, deprecated) is an IPv6 address, not a mapped IPv4 one.",
        Some(it),
        req(obj).ip(Some("::203.0.113.9")),
        Code::IpMismatch,
    );
    let mut c = claims(0x50, obj);
    c.ip = cidrs(&["2001:db8:42::/48"]);
    g.bad(
        "ip_v6_outside",
        "An IPv6 client just outside the signed /48.",
        Some(sign(&c)),
        req(obj).ip(Some("2001:db8:43::1")),
        Code::IpMismatch,
    );

    // method_not_allowed
    g.bad("method_put", "PUT.", Some(std_token.clone()), req(obj).method("PUT"), Code::MethodNotAllowed);
    g.bad(
        "method_post_without_uses",
        "POST on a link without uses.",
        Some(std_token.clone()),
        req(obj).method("POST"),
        Code::MethodNotAllowed,
    );
    g.bad(
        "method_lowercase_get",
        "Methods are case-sensitive: 'get' is not GET.",
        Some(std_token.clone()),
        req(obj).method("get"),
        Code::MethodNotAllowed,
    );
    let mut c = claims(0x51, obj);
    c.uses = NonZeroU32::new(1);
    g.bad(
        "method_delete_with_uses",
        "uses allows POST, nothing else.",
        Some(sign(&c)),
        req(obj).method("DELETE"),
        Code::MethodNotAllowed,
    );

    // not_yet_valid
    let mut c = claims(0x52, obj);
    c.nbf = Some(NOW + SKEW + 1);
    g.bad("nbf_beyond_skew", "nbf is 31 s after now (skew is 30 s).", Some(sign(&c)), req(obj), Code::NotYetValid);
    let mut c = claims(0x53, obj);
    c.iat = NOW + SKEW + 1;
    c.exp = c.iat + 3600;
    g.bad("iat_beyond_skew", "iat is 31 s after now (skew is 30 s).", Some(sign(&c)), req(obj), Code::NotYetValid);

    // policy_denied
    let mut c = claims(0x54, obj);
    c.exp = T0 + MAX_TTL + 1;
    g.bad(
        "lifetime_over_maximum",
        "exp - iat is 604801 s, one second over the maximum lifetime.",
        Some(sign(&c)),
        req(obj),
        Code::PolicyDenied,
    );

    // expired
    g.bad(
        "expired_at_exp",
        "now == exp: exp is exact.",
        Some(std_token.clone()),
        req(obj).at(T0 + 3600),
        Code::Expired,
    );
    g.bad("expired_after_exp", "now == exp + 1.", Some(std_token.clone()), req(obj).at(T0 + 3601), Code::Expired);
    g.bad(
        "expired_before_scope",
        "An expired link asked for another object is expired: time is checked before scope.",
        Some(std_token.clone()),
        req("/reports/2026/q2.pdf").at(T0 + 3600),
        Code::Expired,
    );
    let mut c = claims(0x55, obj);
    c.exp = T0 + MAX_TTL + 1;
    g.bad(
        "expired_before_lifetime",
        "A link both over the maximum lifetime and expired is expired.",
        Some(sign(&c)),
        req(obj).at(T0 + MAX_TTL + 1),
        Code::Expired,
    );

    // Order of the request bindings: scope, host, IP, method.
    let mut c = claims(0x56, obj);
    c.host = Some(HostName::parse(HOST).unwrap());
    c.ip = cidrs(&["203.0.113.0/24"]);
    let bt = sign(&c);
    g.bad(
        "scope_before_host",
        "Wrong object and wrong host: scope_mismatch.",
        Some(bt.clone()),
        req("/reports/2026/q2.pdf").host(Some("evil.example.net")),
        Code::ScopeMismatch,
    );
    g.bad(
        "host_before_ip",
        "Wrong host and wrong client address: host_mismatch.",
        Some(bt.clone()),
        req(obj).host(Some("evil.example.net")).ip(Some("192.0.2.1")),
        Code::HostMismatch,
    );
    g.bad(
        "ip_before_method",
        "Wrong client address and PUT: ip_mismatch.",
        Some(bt),
        req(obj).ip(Some("192.0.2.1")).method("PUT"),
        Code::IpMismatch,
    );

    VectorFile {
        format: "linkgate link v1".to_owned(),
        keys: keys_text(),
        time_rules: Rules { skew_secs: SKEW, max_ttl_secs: MAX_TTL },
        valid: g.valid,
        invalid: g.invalid,
    }
}

fn vectors_dir() -> PathBuf {
    // The repository root, two levels above crates/linkgate-core, without
    // `..` (under WASI only the repository is visible).
    let mut root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    root.pop();
    root.pop();
    root.join("tests/vectors")
}

fn vectors_path() -> PathBuf {
    vectors_dir().join("v1.json")
}

/// Compare a generated file with the committed one, or rewrite it when
/// `LINKGATE_REGEN_VECTORS=1`.
fn match_committed(value: &Value, name: &str) {
    let path = vectors_dir().join(name);
    if std::env::var("LINKGATE_REGEN_VECTORS").as_deref() == Ok("1") {
        let mut text = serde_json::to_string_pretty(value).unwrap();
        text.push('\n');
        std::fs::write(&path, text).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with LINKGATE_REGEN_VECTORS=1 to create it)", path.display()));
    let committed: Value = serde_json::from_str(&text).unwrap();
    assert!(
        committed == *value,
        "tests/vectors/{name} differs from the generated vectors; if the change is intended, \
         run `LINKGATE_REGEN_VECTORS=1 cargo test --test vectors` and review the diff"
    );
}

#[test]
fn request_vectors_match_committed_file() {
    match_committed(&serde_json::to_value(generate_requests()).unwrap(), "requests.json");
}

#[test]
fn form_vectors_match_committed_file() {
    match_committed(&serde_json::to_value(generate_forms()).unwrap(), "forms.json");
}

#[test]
fn vectors_match_committed_file() {
    let generated = generate();
    let value = serde_json::to_value(&generated).unwrap();
    let path = vectors_path();
    if std::env::var("LINKGATE_REGEN_VECTORS").as_deref() == Ok("1") {
        let mut text = serde_json::to_string_pretty(&value).unwrap();
        text.push('\n');
        std::fs::write(&path, text).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with LINKGATE_REGEN_VECTORS=1 to create it)", path.display()));
    let committed: Value = serde_json::from_str(&text).unwrap();
    assert!(
        committed == value,
        "tests/vectors/v1.json differs from the generated vectors; if the change is intended, \
         run `LINKGATE_REGEN_VECTORS=1 cargo test --test vectors` and review the diff"
    );
}

// ---------------------------------------------------------------------------
// Independent check of the committed file
// ---------------------------------------------------------------------------

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_else(|| panic!("missing string {k}"))
}

fn opt_s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    match v.get(k) {
        Some(Value::Null) => None,
        Some(Value::String(x)) => Some(x),
        other => panic!("{k}: expected string or null, got {other:?}"),
    }
}

#[test]
fn committed_vectors_verify() {
    let text = std::fs::read_to_string(vectors_path()).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(s(&file, "format"), "linkgate link v1");
    let ring = KeyRing::parse(s(&file, "keys")).unwrap();
    assert!(ring.kids().count() >= 2);
    let tr = &file["time_rules"];
    let rules =
        TimeRules { skew_secs: tr["skew_secs"].as_u64().unwrap(), max_ttl_secs: tr["max_ttl_secs"].as_u64().unwrap() };
    let valid = file["valid"].as_array().unwrap();
    let invalid = file["invalid"].as_array().unwrap();
    assert!(valid.len() >= 12, "{} valid vectors", valid.len());
    assert!(invalid.len() >= 30, "{} invalid vectors", invalid.len());
    let mut names = HashSet::new();
    for v in valid.iter().chain(invalid) {
        assert!(names.insert(s(v, "name").to_owned()), "duplicate vector name {}", s(v, "name"));
        assert!(!s(v, "description").is_empty());
    }

    let run = |v: &Value| {
        let r = &v["request"];
        // §9: a text that is not an address is no address.
        let client_ip: Option<IpAddr> = opt_s(r, "client_ip").and_then(linkgate_core::ip::parse_addr);
        let facts = RequestFacts {
            raw_path: s(r, "path"),
            token: opt_s(v, "token"),
            method: Method::parse(s(r, "method")),
            host: opt_s(r, "host"),
            client_ip,
            now: r["now"].as_u64().unwrap(),
        };
        verify(&ring, &rules, &facts)
    };

    for v in valid {
        let name = s(v, "name");
        let link = run(v).unwrap_or_else(|e| panic!("valid vector {name} refused: {} ({})", e.code, e.reason));
        assert_eq!(link.claims().to_json(), v["claims"], "{name}: claims");
        let raw = b64::decode(s(v, "token").as_bytes()).unwrap();
        assert_eq!(hex(&raw[..raw.len() - 32]), s(v, "payload_hex"), "{name}: payload_hex");
    }
    for v in invalid {
        let name = s(v, "name");
        let want = s(v, "code");
        assert!(Code::from_wire(want).is_some(), "{name}: unknown code {want}");
        match run(v) {
            Ok(_) => panic!("invalid vector {name} verified"),
            Err(e) => assert_eq!(e.code.as_str(), want, "{name} (reason {})", e.reason),
        }
    }
}

// ---------------------------------------------------------------------------
// Request-level vectors (tests/vectors/requests.json): the raw pieces of an
// HTTP request, as a verifier receives them, and the outcome. Every outcome
// is written down by hand from docs/link-format.md §1, §7 and §9.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RequestFile {
    format: String,
    keys: String,
    time_rules: Rules,
    requests: Vec<RequestVector>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RawRequest {
    method: String,
    /// The raw path, as received (percent-encoded, no query).
    path: String,
    /// The raw query, without `?` (empty: none).
    query: String,
    host: Option<String>,
    client_ip: Option<String>,
    now: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
enum Expect {
    /// Verified: the canonical path and the link's jti.
    Allow { path: String, jti: String },
    /// Refused with this status and code; for `path_invalid`, the §7 reason.
    Refuse {
        status: u16,
        code: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RequestVector {
    name: String,
    description: String,
    request: RawRequest,
    expect: Expect,
}

fn rq(path: &str, query: &str) -> RawRequest {
    RawRequest {
        method: "GET".to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        host: Some(HOST.to_owned()),
        client_ip: Some(CLIENT.to_owned()),
        now: NOW,
    }
}

request_builders!(RawRequest);

#[derive(Default)]
struct RGen {
    out: Vec<RequestVector>,
}

impl RGen {
    fn push(&mut self, name: &str, description: &str, request: RawRequest, expect: Expect) {
        self.out.push(RequestVector { name: name.to_owned(), description: description.to_owned(), request, expect });
    }

    fn allow(&mut self, name: &str, description: &str, request: RawRequest, path: &str, c: &Claims) {
        self.push(name, description, request, Expect::Allow { path: path.to_owned(), jti: c.jti.to_hex() });
    }

    fn refuse(&mut self, name: &str, description: &str, request: RawRequest, code: Code) {
        assert_ne!(code, Code::PathInvalid, "{name}: use refuse_path");
        let expect = Expect::Refuse { status: code.status(), code: code.as_str().to_owned(), reason: None };
        self.push(name, description, request, expect);
    }

    fn refuse_path(&mut self, name: &str, description: &str, request: RawRequest, reason: &str) {
        let expect = Expect::Refuse {
            status: 400,
            code: Code::PathInvalid.as_str().to_owned(),
            reason: Some(reason.to_owned()),
        };
        self.push(name, description, request, expect);
    }
}

fn generate_requests() -> RequestFile {
    let mut g = RGen::default();
    let obj = "/reports/2026/q1.pdf";
    let c = claims(0x80, obj);
    let t = sign(&c);
    let q = |s: &str| s.replace('T', &t);

    // ---- §1: the query
    g.allow("query_lg", "The token in lg, the only parameter.", rq(obj, &q("lg=T")), obj, &c);
    g.allow(
        "query_other_parameters",
        "Other parameters take no part; a piece without '=' is a name with an empty value.",
        rq(obj, &q("x=1&lg=T&y")),
        obj,
        &c,
    );
    g.allow(
        "query_empty_pieces",
        "Empty pieces (&&, a trailing &) are names that are not lg.",
        rq(obj, &q("&&lg=T&")),
        obj,
        &c,
    );
    g.allow("query_lg_last", "lg after other parameters.", rq(obj, &q("a=%41&b=+&lg=T")), obj, &c);
    g.refuse("query_absent", "No query at all.", rq(obj, ""), Code::TokenMissing);
    g.refuse("query_no_lg", "Parameters, none of them lg.", rq(obj, "x=1&y=2"), Code::TokenMissing);
    g.refuse("query_lg_empty", "lg= with an empty value counts as no token.", rq(obj, "lg="), Code::TokenMissing);
    g.refuse(
        "query_lg_without_equals",
        "lg without '=' is lg with an empty value: no token.",
        rq(obj, "lg"),
        Code::TokenMissing,
    );
    g.refuse(
        "query_lg_without_equals_among_others",
        "a=1&lg&b=2: lg with an empty value.",
        rq(obj, "a=1&lg&b=2"),
        Code::TokenMissing,
    );
    g.refuse(
        "query_name_percent_encoded",
        "%6Cg is not lg: names are compared without percent-decoding.",
        rq(obj, &q("%6Cg=T")),
        Code::TokenMissing,
    );
    g.refuse(
        "query_name_uppercase",
        "LG is not lg: names are compared byte for byte.",
        rq(obj, &q("LG=T")),
        Code::TokenMissing,
    );
    g.refuse("query_name_longer", "lgx and xlg are not lg.", rq(obj, &q("lgx=T&xlg=T")), Code::TokenMissing);
    g.refuse(
        "query_name_with_equals_encoded",
        "lg%3DT is one name with no '=': not lg.",
        rq(obj, &q("lg%3DT")),
        Code::TokenMissing,
    );
    g.refuse(
        "query_lg_twice_same",
        "The same token twice: two lg pieces.",
        rq(obj, &q("lg=T&lg=T")),
        Code::TokenMalformed,
    );
    let other = sign(&claims(0x81, obj));
    g.refuse(
        "query_lg_twice_different",
        "Two different valid tokens: which one is meant is ambiguous.",
        rq(obj, &format!("lg={t}&lg={other}")),
        Code::TokenMalformed,
    );
    g.refuse("query_lg_twice_empty", "lg=&lg=: two lg pieces, both empty.", rq(obj, "lg=&lg="), Code::TokenMalformed);
    g.refuse("query_lg_twice_bare", "lg&lg: two lg pieces without '='.", rq(obj, "lg&lg"), Code::TokenMalformed);
    g.refuse(
        "query_lg_empty_and_token",
        "An empty lg beside a valid one is still two pieces.",
        rq(obj, &q("lg=&lg=T")),
        Code::TokenMalformed,
    );
    g.refuse(
        "query_lg_beside_lgs",
        "lg beside lgs (the edge's download-session parameter): ambiguous.",
        rq(obj, &q("lg=T&lgs=T")),
        Code::TokenMalformed,
    );
    g.refuse(
        "query_empty_lg_beside_lgs",
        "An empty lg beside an lgs is still both.",
        rq(obj, "lgs=x&lg="),
        Code::TokenMalformed,
    );
    let escaped = format!("%{:02X}{}", t.as_bytes()[0], &t[1..]);
    g.refuse(
        "query_value_percent_encoded",
        "The value is taken verbatim, never percent-decoded: its first character written as %41 makes it malformed.",
        rq(obj, &format!("lg={escaped}")),
        Code::TokenMalformed,
    );
    g.refuse(
        "query_value_escape_appended",
        "lg=T%3D: '%' is not in the token alphabet.",
        rq(obj, &q("lg=T%3D")),
        Code::TokenMalformed,
    );
    g.refuse(
        "query_value_plus",
        "lg=T+: '+' is not a space here, and not in the alphabet.",
        rq(obj, &q("lg=T+")),
        Code::TokenMalformed,
    );
    g.refuse(
        "query_value_semicolon",
        "lg=T;x=1: ';' does not separate parameters, so it is part of the value.",
        rq(obj, &q("lg=T;x=1")),
        Code::TokenMalformed,
    );
    g.refuse(
        "query_value_split_at_first_equals",
        "lg==T: the piece splits at its first '=', so the value is '=T'.",
        rq(obj, &q("lg==T")),
        Code::TokenMalformed,
    );
    g.refuse("query_value_garbage", "lg=!!.", rq(obj, "lg=!!"), Code::TokenMalformed);
    g.refuse_path(
        "query_path_first_with_two_lg",
        "The path is canonicalized first: a bad path with two lg pieces is path_invalid.",
        rq("/reports%2F2026/q1.pdf", &q("lg=T&lg=T")),
        "encoded_slash",
    );
    g.refuse_path(
        "query_path_first_without_token",
        "A bad path without a token is path_invalid.",
        rq("/reports//q1.pdf", ""),
        "empty_segment",
    );
    g.refuse_path(
        "query_path_first_with_empty_lg",
        "A bad path with an empty lg is path_invalid.",
        rq("/reports/%FF.pdf", "lg="),
        "invalid_utf8",
    );
    g.refuse_path(
        "query_path_first_with_lg_and_lgs",
        "A bad path with lg and lgs is path_invalid.",
        rq("/reports/q1%00.pdf", &q("lg=T&lgs=T")),
        "nul",
    );

    // ---- §7: path reasons (the code alone is in v1.json)
    g.refuse_path(
        "path_reason_not_absolute",
        "A raw path must start with '/'.",
        rq("reports/q1.pdf", &q("lg=T")),
        "not_absolute",
    );
    g.refuse_path(
        "path_reason_root",
        "'/' alone (what https://host?lg=... asks for) is not an object path.",
        rq("/", &q("lg=T")),
        "empty_segment",
    );
    g.refuse_path(
        "path_reason_folder",
        "A folder URL is not an object path: a prefix link's recipient asks for an object under it.",
        rq("/reports/2026/", &q("lg=T")),
        "empty_segment",
    );
    g.refuse_path("path_reason_bad_escape", "%G1.", rq("/reports/q1%G1.pdf", &q("lg=T")), "bad_percent_escape");
    g.refuse_path("path_reason_backslash_escape", "%5C.", rq("/reports%5Cq1.pdf", &q("lg=T")), "backslash");
    g.refuse_path("path_reason_control", "%0A.", rq("/reports/q1%0A.pdf", &q("lg=T")), "control_character");
    g.refuse_path(
        "path_reason_dot_segment",
        "%2E%2E decodes to a '..' segment.",
        rq("/reports/%2E%2E/q1.pdf", &q("lg=T")),
        "dot_segment",
    );
    g.refuse_path("path_reason_not_nfc", "NFD é.", rq("/reports/e%CC%81.pdf", &q("lg=T")), "not_nfc");
    g.refuse_path(
        "path_reason_first_bad_byte_wins",
        "A control character before a literal backslash: the first offending character decides.",
        rq("/reports/%01a\\b", &q("lg=T")),
        "control_character",
    );
    g.refuse_path(
        "path_reason_decoding_first",
        "%2F is refused while decoding (step 2), before the control character in front of it is looked at (step 5).",
        rq("/reports/%01%2F", &q("lg=T")),
        "encoded_slash",
    );
    g.refuse_path(
        "path_reason_byte_before_segment",
        "An empty segment before a control character: bad characters are found before bad segments.",
        rq("/reports//a%01", &q("lg=T")),
        "control_character",
    );
    g.refuse_path(
        "path_reason_first_bad_segment_wins",
        "A '..' segment before an empty one: the first offending segment decides.",
        rq("/reports/../a//b", &q("lg=T")),
        "dot_segment",
    );
    g.refuse_path(
        "path_reason_escape_before_length",
        "A bad escape in a path whose decoded length would be too long: decoding fails first (the raw path is 3072 bytes, not over).",
        rq(&format!("/%ZZ{}", "a".repeat(3068)), &q("lg=T")),
        "bad_percent_escape",
    );
    g.refuse_path(
        "path_reason_raw_over_3072",
        "A raw path over 3072 bytes is too_long before decoding, even with a bad escape in it (a MUST).",
        rq(&format!("/%ZZ{}", "a".repeat(3069)), &q("lg=T")),
        "too_long",
    );
    g.refuse_path(
        "path_reason_raw_over_3072_not_absolute",
        "not_absolute is checked before the raw length.",
        rq(&"a".repeat(3073), &q("lg=T")),
        "not_absolute",
    );
    g.refuse_path(
        "path_reason_decoded_too_long",
        "2048 raw bytes that decode to 1025.",
        rq(&format!("/{}{}", "%61".repeat(512), "a".repeat(512)), &q("lg=T")),
        "too_long",
    );

    // ---- §9 steps 3-10
    let retired = {
        let mut c = claims(0x82, obj);
        c.kid = KeyId::parse(RETIRED).unwrap();
        raw_token(&c.encode_payload(), &retired_key())
    };
    g.refuse("step_key_unknown", "A kid the ring does not list.", rq(obj, &format!("lg={retired}")), Code::KeyUnknown);
    let mut raw = token_bytes(&t);
    let n = raw.len();
    raw[n - 1] ^= 1;
    g.refuse(
        "step_signature_invalid",
        "The tag's last bit flipped.",
        rq(obj, &format!("lg={}", b64::encode(&raw))),
        Code::SignatureInvalid,
    );
    let mut c2 = claims(0x83, obj);
    c2.iat = NOW + SKEW + 1;
    c2.exp = c2.iat + 3600;
    g.refuse("step_iat_beyond_skew", "iat 31 s after now.", rq(obj, &format!("lg={}", sign(&c2))), Code::NotYetValid);
    let mut c2 = claims(0x84, obj);
    c2.nbf = Some(NOW + SKEW);
    g.allow("step_nbf_within_skew", "nbf exactly now + skew.", rq(obj, &format!("lg={}", sign(&c2))), obj, &c2);
    let mut c3 = claims(0x85, obj);
    c3.nbf = Some(NOW + SKEW + 1);
    g.refuse("step_nbf_beyond_skew", "nbf 31 s after now.", rq(obj, &format!("lg={}", sign(&c3))), Code::NotYetValid);
    g.allow("step_exp_minus_one", "One second before exp.", rq(obj, &q("lg=T")).at(T0 + 3599), obj, &c);
    g.refuse("step_expired_at_exp", "now == exp.", rq(obj, &q("lg=T")).at(T0 + 3600), Code::Expired);
    let mut c4 = claims(0x86, obj);
    c4.exp = T0 + MAX_TTL;
    g.allow("step_lifetime_at_maximum", "exp - iat == max_ttl.", rq(obj, &format!("lg={}", sign(&c4))), obj, &c4);
    let mut c5 = claims(0x87, obj);
    c5.exp = T0 + MAX_TTL + 1;
    g.refuse(
        "step_lifetime_over_maximum",
        "exp - iat == max_ttl + 1.",
        rq(obj, &format!("lg={}", sign(&c5))),
        Code::PolicyDenied,
    );
    g.refuse("step_scope_other_object", "Another object.", rq("/reports/2026/q2.pdf", &q("lg=T")), Code::ScopeMismatch);
    let folder = claims(0x88, "/board/2026/");
    let ft = sign(&folder);
    g.allow(
        "step_prefix_covers",
        "A prefix link, an object below its folder, percent-encoded.",
        rq("/board/2026/Q3%20pack.pdf", &format!("lg={ft}")),
        "/board/2026/Q3 pack.pdf",
        &folder,
    );
    g.refuse(
        "step_prefix_whole_segments",
        "/board/2026/ does not cover /board/2026x.pdf.",
        rq("/board/2026x.pdf", &format!("lg={ft}")),
        Code::ScopeMismatch,
    );

    // ---- §9 step 11: host
    let mut hc = claims(0x90, obj);
    hc.host = Some(HostName::parse(HOST).unwrap());
    let ht = format!("lg={}", sign(&hc));
    let host_cases: &[(&str, &str, Option<&str>, bool)] = &[
        ("host_exact", "The signed host.", Some(HOST), true),
        ("host_ascii_case", "ASCII letters compare case-insensitively.", Some("FILES.Example.COM"), true),
        ("host_any_port", "A claim without a port matches any port.", Some("files.example.com:8443"), true),
        ("host_trailing_dot", "One trailing dot ends a fully qualified name.", Some("files.example.com."), true),
        (
            "host_trailing_dot_then_port",
            "The dot ends the name, before the port.",
            Some("files.example.com.:8443"),
            true,
        ),
        ("host_port_then_dot", "A dot after the port is not a port: no match.", Some("files.example.com:8443."), false),
        ("host_two_trailing_dots", "Only one trailing dot is removed.", Some("files.example.com.."), false),
        (
            "host_port_not_digits",
            "A port must be digits: no match, never stripped.",
            Some("files.example.com:abc"),
            false,
        ),
        ("host_port_empty", "':' with nothing after it: no match.", Some("files.example.com:"), false),
        ("host_two_colons", "Two colons outside brackets: no match.", Some("files.example.com:1:2"), false),
        ("host_absent", "No Host at all.", None, false),
        ("host_other", "Another host.", Some("downloads.example.com"), false),
        ("host_suffix", "The signed host as a prefix of another name.", Some("files.example.com.evil.net"), false),
        ("host_parent", "The parent domain.", Some("example.com"), false),
        (
            "host_unicode_case",
            "U+212A KELVIN SIGN is not 'k': only ASCII letters fold.",
            Some("\u{212A}b.example.com"),
            false,
        ),
    ];
    for (name, d, host, ok) in host_cases {
        let r = rq(obj, &ht).host(*host);
        if *ok {
            g.allow(name, d, r, obj, &hc);
        } else {
            g.refuse(name, d, r, Code::HostMismatch);
        }
    }
    let mut kc = claims(0x91, obj);
    kc.host = Some(HostName::parse("kb.example.com").unwrap());
    let kt = format!("lg={}", sign(&kc));
    g.refuse(
        "host_unicode_case_kelvin",
        "Claim kb.example.com, Host with U+212A KELVIN SIGN for the k.",
        rq(obj, &kt).host(Some("\u{212A}b.example.com")),
        Code::HostMismatch,
    );
    let mut pc = claims(0x92, obj);
    pc.host = Some(HostName::parse("files.example.com:8443").unwrap());
    let pt = format!("lg={}", sign(&pc));
    let port_cases: &[(&str, &str, Option<&str>, bool)] = &[
        ("host_port_claim_exact", "A claim with a port: that host and port.", Some("files.example.com:8443"), true),
        ("host_port_claim_dotted", "The same, fully qualified.", Some("files.example.com.:8443"), true),
        ("host_port_claim_other_port", "Another port.", Some("files.example.com:443"), false),
        ("host_port_claim_no_port", "No port.", Some("files.example.com"), false),
        (
            "host_port_claim_leading_zero",
            "Ports compare as text: 08443 is not 8443.",
            Some("files.example.com:08443"),
            false,
        ),
    ];
    for (name, d, host, ok) in port_cases {
        let r = rq(obj, &pt).host(*host);
        if *ok {
            g.allow(name, d, r, obj, &pc);
        } else {
            g.refuse(name, d, r, Code::HostMismatch);
        }
    }
    let mut v6 = claims(0x93, obj);
    v6.host = Some(HostName::parse("[2001:db8::1]").unwrap());
    let v6t = format!("lg={}", sign(&v6));
    let v6_cases: &[(&str, &str, Option<&str>, bool)] = &[
        ("host_ipv6", "A bracketed IPv6 claim.", Some("[2001:db8::1]"), true),
        ("host_ipv6_port", "With a port.", Some("[2001:db8::1]:8443"), true),
        ("host_ipv6_junk", "Anything but :port after ']' is no match.", Some("[2001:db8::1]junk"), false),
        ("host_ipv6_empty_port", "':' with no digits after ']'.", Some("[2001:db8::1]:"), false),
        (
            "host_ipv6_other_text",
            "Another text of the same address: hosts compare as text.",
            Some("[2001:db8:0::1]"),
            false,
        ),
        ("host_ipv6_unbracketed", "Without brackets.", Some("2001:db8::1"), false),
    ];
    for (name, d, host, ok) in v6_cases {
        let r = rq(obj, &v6t).host(*host);
        if *ok {
            g.allow(name, d, r, obj, &v6);
        } else {
            g.refuse(name, d, r, Code::HostMismatch);
        }
    }
    let mut v4 = claims(0x94, obj);
    v4.host = Some(HostName::parse("192.0.2.10").unwrap());
    let v4t = format!("lg={}", sign(&v4));
    g.allow(
        "host_ipv4_port",
        "An IPv4 claim, a Host with a port.",
        rq(obj, &v4t).host(Some("192.0.2.10:8080")),
        obj,
        &v4,
    );
    g.refuse(
        "host_ipv4_other_text",
        "192.0.2.010 is not the text 192.0.2.10.",
        rq(obj, &v4t).host(Some("192.0.2.010")),
        Code::HostMismatch,
    );

    // ---- §9 step 12: client address
    let mut ic = claims(0xA0, obj);
    ic.ip = cidrs(&["198.51.100.0/24", "2001:db8:42::/48"]);
    let it = format!("lg={}", sign(&ic));
    let ip_cases: &[(&str, &str, Option<&str>, bool)] = &[
        ("ip_v4_inside", "An IPv4 client inside.", Some("198.51.100.9"), true),
        ("ip_v4_outside", "An IPv4 client outside.", Some("198.51.101.9"), false),
        ("ip_mapped", "An IPv4-mapped client is matched as IPv4.", Some("::ffff:198.51.100.9"), true),
        ("ip_mapped_uppercase", "Hex digits in either case.", Some("::FFFF:198.51.100.9"), true),
        ("ip_mapped_hex_tail", "The mapped address in hex groups.", Some("::ffff:c633:6409"), true),
        ("ip_compatible", "::198.51.100.9 (IPv4-compatible) stays IPv6.", Some("::198.51.100.9"), false),
        ("ip_v6_inside", "An IPv6 client inside, uppercase hex.", Some("2001:DB8:42::1"), true),
        (
            "ip_v6_full_form",
            "All eight groups, with leading zeros.",
            Some("2001:0db8:0042:0000:0000:0000:0000:0001"),
            true,
        ),
        ("ip_v6_outside", "An IPv6 client outside.", Some("2001:db8:43::1"), false),
        ("ip_absent", "No client address.", None, false),
        (
            "ip_leading_zeros",
            "198.051.100.9 is not an address (no leading zeros): no address.",
            Some("198.051.100.9"),
            false,
        ),
        ("ip_zone_id", "A zone id is not part of an address: no address.", Some("2001:db8:42::1%eth0"), false),
        ("ip_bracketed", "Brackets are not part of an address: no address.", Some("[2001:db8:42::1]"), false),
        ("ip_with_port", "An address with a port is no address.", Some("198.51.100.9:1234"), false),
        ("ip_garbage", "Text that is no address.", Some("unknown"), false),
        ("ip_surrounding_space", "Surrounding whitespace is not trimmed: no address.", Some(" 198.51.100.9"), false),
        ("ip_three_parts", "198.51.100 is not an IPv4 address.", Some("198.51.100"), false),
    ];
    for (name, d, ip, ok) in ip_cases {
        let r = rq(obj, &it).ip(*ip);
        if *ok {
            g.allow(name, d, r, obj, &ic);
        } else {
            g.refuse(name, d, r, Code::IpMismatch);
        }
    }
    g.allow(
        "ip_garbage_without_binding",
        "A client text that is no address does not matter to a link without ip.",
        rq(obj, &q("lg=T")).ip(Some("unknown")),
        obj,
        &c,
    );

    // ---- §9 step 13: method
    let mut uc = claims(0xB0, obj);
    uc.uses = NonZeroU32::new(10);
    let ut = format!("lg={}", sign(&uc));
    g.allow("method_head", "HEAD.", rq(obj, &q("lg=T")).method("HEAD"), obj, &c);
    g.allow("method_post_with_uses", "POST on a bounded-use link.", rq(obj, &ut).method("POST"), obj, &uc);
    g.allow("method_get_with_uses", "GET on a bounded-use link.", rq(obj, &ut), obj, &uc);
    g.refuse(
        "method_post_without_uses",
        "POST without uses.",
        rq(obj, &q("lg=T")).method("POST"),
        Code::MethodNotAllowed,
    );
    g.refuse("method_put", "PUT.", rq(obj, &q("lg=T")).method("PUT"), Code::MethodNotAllowed);
    g.refuse("method_patch", "PATCH.", rq(obj, &q("lg=T")).method("PATCH"), Code::MethodNotAllowed);
    g.refuse(
        "method_delete_with_uses",
        "DELETE on a bounded-use link.",
        rq(obj, &ut).method("DELETE"),
        Code::MethodNotAllowed,
    );
    g.refuse(
        "method_lowercase",
        "Methods are case-sensitive.",
        rq(obj, &q("lg=T")).method("get"),
        Code::MethodNotAllowed,
    );

    // ---- order of the bindings
    let mut all = claims(0xC0, obj);
    all.host = Some(HostName::parse(HOST).unwrap());
    all.ip = cidrs(&["203.0.113.0/24"]);
    let at = format!("lg={}", sign(&all));
    g.refuse(
        "order_time_before_scope",
        "Expired and another object: expired.",
        rq("/reports/2026/q2.pdf", &at).at(T0 + 3600),
        Code::Expired,
    );
    g.refuse(
        "order_scope_before_host",
        "Another object and another host: scope_mismatch.",
        rq("/x.pdf", &at).host(Some("evil.example")),
        Code::ScopeMismatch,
    );
    g.refuse(
        "order_host_before_ip",
        "Another host and another network: host_mismatch.",
        rq(obj, &at).host(Some("evil.example")).ip(Some("192.0.2.1")),
        Code::HostMismatch,
    );
    g.refuse(
        "order_ip_before_method",
        "Another network and PUT: ip_mismatch.",
        rq(obj, &at).ip(Some("192.0.2.1")).method("PUT"),
        Code::IpMismatch,
    );
    g.allow(
        "order_all_bindings_hold",
        "Host, address and method all hold.",
        rq(obj, &at).ip(Some("203.0.113.5")).method("HEAD"),
        obj,
        &all,
    );

    RequestFile {
        format: "linkgate link v1 requests".to_owned(),
        keys: keys_text(),
        time_rules: Rules { skew_secs: SKEW, max_ttl_secs: MAX_TTL },
        requests: g.out,
    }
}

// ---------------------------------------------------------------------------
// Text forms (tests/vectors/forms.json): LINKGATE_KEYS values, and what a
// signer makes of host and CIDR input.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FormsFile {
    format: String,
    key_rings: Vec<KeyRingVector>,
    hosts: Vec<InputVector>,
    cidrs: Vec<InputVector>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct KeyRingVector {
    name: String,
    description: String,
    value: String,
    /// The key ids in ring order; null: the value is refused.
    kids: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct InputVector {
    name: String,
    description: String,
    input: String,
    /// The claim as §10 shows it; null: the signer refuses the input.
    claim: Option<String>,
}

fn input(name: &str, description: &str, input: &str, claim: Option<&str>) -> InputVector {
    InputVector {
        name: name.to_owned(),
        description: description.to_owned(),
        input: input.to_owned(),
        claim: claim.map(str::to_owned),
    }
}

fn generate_forms() -> FormsFile {
    let k32 = b64::encode(&live_key());
    let k40 = b64::encode(&prev_key());
    let ring = |name: &str, description: &str, value: String, kids: Option<&[&str]>| KeyRingVector {
        name: name.to_owned(),
        description: description.to_owned(),
        value,
        kids: kids.map(|k| k.iter().map(|s| (*s).to_owned()).collect()),
    };
    let mut noncanonical = k32.clone().into_bytes();
    // 32 bytes are 43 characters; the last one carries 2 unused bits.
    let last = noncanonical.len() - 1;
    noncanonical[last] = b64_char(b64_value(noncanonical[last]) | 1) as u8;
    let key_rings = vec![
        ring("two_keys", "Two keys; the first signs.", format!("a:{k32},b-2:{k40}"), Some(&["a", "b-2"])),
        ring(
            "ascii_whitespace",
            "Tab, line feed, form feed, carriage return and space around entries, kids and keys are ignored.",
            format!("\t a \r:\x0c{k32}\n ,\r\n b-2 : {k40} \t"),
            Some(&["a", "b-2"]),
        ),
        ring("empty_entries", "Empty entries are skipped.", format!(",a:{k32},, ,"), Some(&["a"])),
        ring("padding", "'=' padding after a key is removed.", format!("a:{k32}="), Some(&["a"])),
        ring("key_64_bytes", "A 64-byte key (the longest).", format!("a:{}", b64::encode(&[7u8; 64])), Some(&["a"])),
        ring("kid_32_chars", "A 32-character kid.", format!("{}:{k32}", "k".repeat(32)), Some(&[&"k".repeat(32)])),
        ring("nbsp", "U+00A0 NO-BREAK SPACE is not trimmed.", format!("\u{a0}a:{k32}"), None),
        ring("bom", "U+FEFF (which JavaScript's trim() removes) is not trimmed.", format!("\u{feff}a:{k32}"), None),
        ring(
            "vertical_tab",
            "U+000B is not ASCII whitespace here (WHATWG's set: tab, LF, FF, CR, space).",
            format!("a:{k32}\x0b"),
            None,
        ),
        ring("em_space", "U+2003 after the key.", format!("a:{k32}\u{2003}"), None),
        ring("next_line", "U+0085 before the kid.", format!("\u{85}a:{k32}"), None),
        ring("space_inside_kid", "A space inside a kid.", format!("a b:{k32}"), None),
        ring("no_colon", "An entry without ':'.", format!("a{k32}"), None),
        ring("kid_33_chars", "A 33-character kid.", format!("{}:{k32}", "k".repeat(33)), None),
        ring("kid_bad_character", "'.' in a kid.", format!("a.b:{k32}"), None),
        ring("duplicate_kid", "A kid listed twice.", format!("a:{k32},a:{k40}"), None),
        ring("key_31_bytes", "A 31-byte key.", format!("a:{}", b64::encode(&[7u8; 31])), None),
        ring("key_65_bytes", "A 65-byte key.", format!("a:{}", b64::encode(&[7u8; 65])), None),
        ring(
            "key_standard_alphabet",
            "'+' and '/' are not base64url.",
            format!("a:{}", k32.replace('-', "+").replace('_', "/") + "+/"),
            None,
        ),
        ring(
            "key_noncanonical_bits",
            "Unused trailing bits set.",
            format!("a:{}", String::from_utf8(noncanonical).unwrap()),
            None,
        ),
        ring("empty", "No entries at all.", String::new(), None),
        ring("only_separators", "Only commas and spaces.", " , ,".to_owned(), None),
        ring(
            "one_bad_entry_refuses_all",
            "A good entry and a bad one: the whole value is refused.",
            format!("a:{k32},b:short"),
            None,
        ),
    ];

    let label63 = "a".repeat(63);
    let name253 = format!("{0}.{0}.{0}.{1}", "a".repeat(63), "b".repeat(61));
    let name254 = format!("{name253}b");
    let label64 = format!("{}.com", "a".repeat(64));
    let hosts = vec![
        input("dns_name", "A DNS name.", "files.example.com", Some("files.example.com")),
        input("lowercased", "Signers lowercase ASCII letters.", "Files.Example.COM", Some("files.example.com")),
        input("with_port", "A port.", "files.example.com:8443", Some("files.example.com:8443")),
        input("port_max", "Port 65535.", "a.example:65535", Some("a.example:65535")),
        input("single_label", "One label.", "localhost", Some("localhost")),
        input(
            "digit_first_labels",
            "Labels may start with a digit, except the last.",
            "1x.2.example",
            Some("1x.2.example"),
        ),
        input("hyphens_inside", "Hyphens inside labels.", "a-b.c--d.example", Some("a-b.c--d.example")),
        input("punycode", "An A-label.", "xn--bcher-kva.example", Some("xn--bcher-kva.example")),
        input("label_63", "A 63-byte label.", &format!("{label63}.com"), Some(&format!("{label63}.com"))),
        input("name_253", "A 253-byte name.", &name253, Some(&name253)),
        input("ipv4", "An IPv4 address.", "192.0.2.1", Some("192.0.2.1")),
        input("ipv4_port", "An IPv4 address with a port.", "192.0.2.1:8080", Some("192.0.2.1:8080")),
        input("ipv4_zero", "0.0.0.0.", "0.0.0.0", Some("0.0.0.0")),
        input("ipv6", "A bracketed IPv6 address.", "[2001:db8::1]", Some("[2001:db8::1]")),
        input("ipv6_uppercase", "Lowercased, it is canonical.", "[2001:DB8::1]", Some("[2001:db8::1]")),
        input("ipv6_port", "With a port.", "[::1]:8443", Some("[::1]:8443")),
        input(
            "ipv6_mapped_canonical",
            "A mapped address in its canonical (never dotted) text.",
            "[::ffff:c000:201]",
            Some("[::ffff:c000:201]"),
        ),
        input("trailing_dot", "A trailing dot could never match.", "files.example.com.", None),
        input("trailing_dot_port", "Nor before a port.", "files.example.com.:443", None),
        input("two_colons", "a:b.:c.", "a:b.:c", None),
        input("junk_after_bracket", "[a]:.:80.", "[a]:.:80", None),
        input("bracket_in_name", "a[b.", "a[b", None),
        input("lone_bracket", "[.", "[", None),
        input("port_only", ":80.", ":80", None),
        input("empty_port", "a:.", "a:", None),
        input("port_zero", "Port 0.", "a.example:0", None),
        input("port_leading_zero", "Port 080.", "a.example:080", None),
        input("port_too_large", "Port 65536.", "a.example:65536", None),
        input("unbracketed_ipv6", "::1 without brackets.", "::1", None),
        input("leading_hyphen", "-a.", "-a", None),
        input("trailing_hyphen", "a-.example.", "a-.example", None),
        input("empty_label", "a..example.", "a..example", None),
        input("leading_dot", ".example.", ".example", None),
        input("label_64", "A 64-byte label.", &label64, None),
        input("name_254", "A 254-byte name.", &name254, None),
        input("numeric_last_label", "1.2.3: not a DNS name, not an IPv4 address.", "1.2.3", None),
        input("numeric_last_label_2", "a.1.", "a.1", None),
        input("hex_last_label", "0x7f.0.0.1.", "0x7f.0.0.1", None),
        input("ipv4_leading_zero", "192.0.2.010.", "192.0.2.010", None),
        input("ipv4_octet_256", "256.1.1.1.", "256.1.1.1", None),
        input("ipv4_five_parts", "1.2.3.4.5.", "1.2.3.4.5", None),
        input("ipv6_not_canonical", "[2001:db8:0:0:0:0:0:1].", "[2001:db8:0:0:0:0:0:1]", None),
        input("ipv6_leading_zeros", "[2001:0db8::1].", "[2001:0db8::1]", None),
        input("ipv6_dotted", "[::ffff:192.0.2.1]: never dotted.", "[::ffff:192.0.2.1]", None),
        input("ipv6_zone", "A zone id.", "[fe80::1%25eth0]", None),
        input("underscore", "'_' is not in a host.", "files_x.example.com", None),
        input("path", "A path is not a host.", "files.example.com/x", None),
        input("userinfo", "Userinfo is not a host.", "user@files.example.com", None),
        input("non_ascii", "Non-ASCII (lowercasing is ASCII only; use the A-label).", "bücher.example", None),
        input("kelvin", "U+212A is not lowercased to 'k'.", "\u{212A}b.example.com", None),
        input("empty", "Empty.", "", None),
    ];

    let cidrs = vec![
        input("v4_network", "An IPv4 network.", "10.0.0.0/8", Some("10.0.0.0/8")),
        input("v4_bare", "A bare address is /32.", "192.0.2.7", Some("192.0.2.7/32")),
        input("v4_everything", "0.0.0.0/0.", "0.0.0.0/0", Some("0.0.0.0/0")),
        input("v6_network", "An IPv6 network.", "2001:db8::/32", Some("2001:db8::/32")),
        input("v6_uppercase", "Shown in lowercase.", "2001:DB8::/32", Some("2001:db8::/32")),
        input("v6_full_form", "Shown compressed.", "2001:0db8:0000:0000:0000:0000:0000:0000/32", Some("2001:db8::/32")),
        input("v6_bare", "A bare address is /128.", "::1", Some("::1/128")),
        input("v6_everything", "::/0.", "::/0", Some("::/0")),
        input(
            "v6_one_zero_group",
            "A single zero group is not compressed.",
            "2001:db8:0:1:1:1:1:0/128",
            Some("2001:db8:0:1:1:1:1:0/128"),
        ),
        input("v6_longest_run", "The longest zero run is compressed.", "1:0:0:1:0:0:0:1", Some("1:0:0:1::1/128")),
        input(
            "v6_first_of_equal_runs",
            "Of two equally long runs, the first.",
            "1:0:0:1:0:0:1:1",
            Some("1::1:0:0:1:1/128"),
        ),
        input(
            "v6_compatible_never_dotted",
            "::1.2.3.0/120 is shown in hex groups, never dotted.",
            "::1.2.3.0/120",
            Some("::102:300/120"),
        ),
        input(
            "mapped_becomes_v4",
            "A mapped network travels (and is shown) as IPv4.",
            "::ffff:10.0.0.0/104",
            Some("10.0.0.0/8"),
        ),
        input("mapped_host", "A mapped address, bare.", "::ffff:192.0.2.7", Some("192.0.2.7/32")),
        input("prefix_leading_zero", "10.0.0.0/08: one spelling per length.", "10.0.0.0/08", None),
        input("prefix_zero_padded", "/008.", "10.0.0.0/008", None),
        input("prefix_v6_leading_zero", "::/00.", "::/00", None),
        input("prefix_empty", "10.0.0.0/.", "10.0.0.0/", None),
        input("prefix_plus", "10.0.0.0/+8.", "10.0.0.0/+8", None),
        input("prefix_v4_33", "/33.", "10.0.0.0/33", None),
        input("prefix_v6_129", "/129.", "::/129", None),
        input("host_bits_v4", "Bits set below the prefix length.", "10.0.0.1/8", None),
        input("host_bits_v6", "Bits set below the prefix length.", "2001:db8::1/32", None),
        input("host_bits_mapped", "Also for a mapped network.", "::ffff:10.0.0.1/104", None),
        input("v4_leading_zero", "010.0.0.0/8: no leading zeros.", "010.0.0.0/8", None),
        input("v4_three_parts", "10.0.0/8.", "10.0.0/8", None),
        input("zone", "A zone id.", "fe80::%eth0/64", None),
        input("bracketed", "Brackets are not part of a CIDR.", "[2001:db8::]/32", None),
        input("space_before", "No whitespace.", " 10.0.0.0/8", None),
        input("space_after", "No whitespace.", "10.0.0.0/8 ", None),
        input("two_slashes", "10.0.0.0/8/8.", "10.0.0.0/8/8", None),
        input("name", "A name is not an address.", "example.com", None),
        input("empty", "Empty.", "", None),
    ];
    FormsFile { format: "linkgate link v1 text forms".to_owned(), key_rings, hosts, cidrs }
}

// ---------------------------------------------------------------------------
// The committed request vectors, replayed through the gate (the same code the
// worker runs) from the raw request pieces, and the text forms through the
// signer and the key ring parser.
// ---------------------------------------------------------------------------

/// Drive the gate until it refuses or asks for the object: what the link
/// format decides (the denylist answers "nothing revoked").
fn gate_outcome(cfg: &linkgate_core::config::EdgeConfig, r: &RawRequest) -> Expect {
    use linkgate_core::gate::{start, Facts, Reply, Step};
    let query = if r.query.is_empty() { String::new() } else { format!("?{}", r.query) };
    let facts = Facts {
        method: r.method.clone(),
        url: format!("https://{}{}{query}", r.host.as_deref().unwrap_or(""), r.path),
        client_ip: r.client_ip.clone(),
        now: r.now,
        request_id: "vector".to_owned(),
        ..Default::default()
    };
    let mut jti = None;
    let mut step = start(cfg, facts);
    loop {
        step = match step {
            // The platform's country: the link format does not depend on it.
            Step::ReadCountry(s) => s.answer(None),
            Step::ReadDenylist(s) => {
                jti = s.keys().iter().find_map(|k| k.strip_prefix("jti:").map(str::to_owned));
                s.answer(&[])
            }
            Step::ReadObject(s) => {
                return Expect::Allow { path: format!("/{}", s.key()), jti: jti.expect("a jti key was looked up") };
            }
            Step::Done(done) => {
                let status = match done.reply {
                    Reply::Problem { status, .. } | Reply::Page { status, .. } => status,
                    other => panic!("{other:?}"),
                };
                let code = done.event.code.expect("a refusal has a code").to_owned();
                let reason = (code == "path_invalid").then(|| done.event.reason.unwrap_or("").to_owned());
                return Expect::Refuse { status, code, reason };
            }
            _ => panic!("the gate asked for something else before deciding"),
        };
    }
}

/// The same request through the plain verifier: `query_token`, then
/// `verify` with the client text parsed by `parse_addr`.
fn verifier_outcome(ring: &KeyRing, rules: &TimeRules, r: &RawRequest) -> Expect {
    use linkgate_core::verify::{query_token, QueryToken};
    let refuse = |code: Code, reason: &str| Expect::Refuse {
        status: code.status(),
        code: code.as_str().to_owned(),
        reason: (code == Code::PathInvalid).then(|| reason.to_owned()),
    };
    let token = match query_token(&r.query) {
        Ok(QueryToken::Link(t)) => Some(t),
        Ok(QueryToken::Absent | QueryToken::Session(_) | QueryToken::Media(_)) => None,
        // Two tokens are refused after the path, as the edge does.
        Err(reason) => {
            return match linkgate_core::CanonicalPath::from_request(&r.path) {
                Err(e) => refuse(Code::PathInvalid, e.as_str()),
                Ok(_) => refuse(reason.code().unwrap(), reason.as_str()),
            }
        }
    };
    let facts = RequestFacts {
        raw_path: &r.path,
        token,
        method: Method::parse(&r.method),
        host: r.host.as_deref(),
        client_ip: r.client_ip.as_deref().and_then(linkgate_core::ip::parse_addr),
        now: r.now,
    };
    match verify(ring, rules, &facts) {
        Ok(link) => Expect::Allow { path: link.path().as_str().to_owned(), jti: link.claims().jti.to_hex() },
        Err(e) => refuse(e.code, e.reason.as_str()),
    }
}

#[test]
fn committed_request_vectors_pass_through_the_gate() {
    let text = std::fs::read_to_string(vectors_dir().join("requests.json")).unwrap();
    let file: RequestFile = serde_json::from_str(&text).unwrap();
    assert_eq!(file.format, "linkgate link v1 requests");
    let lookup = |name: &str| match name {
        "LINKGATE_KEYS" => Some(file.keys.clone()),
        "LINKGATE_CLOCK_SKEW_SECS" => Some(file.time_rules.skew_secs.to_string()),
        "LINKGATE_MAX_TTL_SECS" => Some(file.time_rules.max_ttl_secs.to_string()),
        _ => None,
    };
    let cfg = linkgate_core::config::EdgeConfig::from_lookup(&lookup).unwrap();
    assert!(file.requests.len() >= 100, "{} request vectors", file.requests.len());
    let mut names = HashSet::new();
    let mut codes = HashSet::new();
    for v in &file.requests {
        assert!(names.insert(v.name.clone()), "duplicate {}", v.name);
        assert!(!v.description.is_empty());
        if let Expect::Refuse { code, status, .. } = &v.expect {
            let c = Code::from_wire(code).unwrap_or_else(|| panic!("{}: unknown code {code}", v.name));
            assert_eq!(c.status(), *status, "{}", v.name);
            codes.insert(code.clone());
        }
        assert_eq!(verifier_outcome(&cfg.keys, &cfg.time, &v.request), v.expect, "verify: {}", v.name);
        // A URL (what the worker is given) cannot carry a path without its leading '/'.
        if v.request.path.starts_with('/') {
            assert_eq!(gate_outcome(&cfg, &v.request), v.expect, "gate: {}", v.name);
        }
    }
    // Every refusal the link format decides (§11) has a request vector.
    for c in Code::ALL {
        let decided_here = !matches!(
            c,
            Code::Revoked
                | Code::UsedUp
                | Code::NotFound
                | Code::RangeNotSatisfiable
                | Code::StoreUnavailable
                // Identity (docs/identity.md): decided after policy, vectors in jwt.json.
                | Code::IdentityRequired
                | Code::IdentityMismatch
                | Code::ReauthRequired
                | Code::IdentityUnavailable
        );
        assert_eq!(codes.contains(c.as_str()), decided_here, "{}", c.as_str());
    }
}

#[test]
fn committed_forms_pass_through_the_signer() {
    use linkgate_core::mint::{Expiry, LinkRequest};
    let text = std::fs::read_to_string(vectors_dir().join("forms.json")).unwrap();
    let file: FormsFile = serde_json::from_str(&text).unwrap();
    assert_eq!(file.format, "linkgate link v1 text forms");
    for v in &file.key_rings {
        let got = KeyRing::parse(&v.value).ok().map(|r| r.kids().map(|k| k.as_str().to_owned()).collect::<Vec<_>>());
        assert_eq!(got, v.kids, "{}", v.name);
    }
    let build = |host: Option<&str>, ip: Option<&str>| {
        let r = LinkRequest {
            path: "/a".to_owned(),
            expiry: Some(Expiry::Ttl(60)),
            host: host.map(str::to_owned),
            ip: ip.map(|i| vec![i.to_owned()]).unwrap_or_default(),
            ..Default::default()
        };
        r.build(KeyId::parse(LIVE).unwrap(), Jti(jti(1)), T0, MAX_TTL).ok()
    };
    for v in &file.hosts {
        let got = build(Some(&v.input), None).map(|c| c.host.unwrap().as_str().to_owned());
        assert_eq!(got, v.claim, "host {}", v.name);
    }
    for v in &file.cidrs {
        let got = build(None, Some(&v.input)).map(|c| c.ip[0].to_string());
        assert_eq!(got, v.claim, "cidr {}", v.name);
    }
    assert!(file.key_rings.len() >= 20 && file.hosts.len() >= 40 && file.cidrs.len() >= 30);
}

/// One SigV4 presigning case of tests/vectors/presign.json (made by
/// botocore's presigner, tests/vectors/presign_vectors.py).
#[derive(Deserialize)]
struct PresignCase {
    name: String,
    endpoint: String,
    region: String,
    bucket: String,
    access_key_id: String,
    secret_access_key: String,
    method: String,
    key: String,
    now: u64,
    expires: u64,
    filename: Option<String>,
    disposition: Option<String>,
    content_type: Option<String>,
    url: String,
}

#[derive(Deserialize)]
struct PresignFile {
    cases: Vec<PresignCase>,
}

/// Every botocore-made URL is reproduced byte for byte, and the
/// Content-Disposition of each file name is the core's own.
#[test]
fn presigned_urls_match_botocore() {
    use linkgate_core::http::content_disposition;
    use linkgate_core::presign::{presign, PresignMethod, PresignRequest, S3Credentials, S3Location};
    let text = std::fs::read_to_string(vectors_dir().join("presign.json")).unwrap();
    let file: PresignFile = serde_json::from_str(&text).unwrap();
    assert!(file.cases.len() >= 200, "{} cases", file.cases.len());
    let mut methods = HashSet::new();
    for c in &file.cases {
        let loc = S3Location::path_style(&c.endpoint, &c.region, &c.bucket).unwrap();
        let creds = S3Credentials::new(&c.access_key_id, &c.secret_access_key).unwrap();
        if let Some(f) = &c.filename {
            assert_eq!(Some(content_disposition(f)), c.disposition, "{}: disposition", c.name);
        }
        let method = match c.method.as_str() {
            "GET" => PresignMethod::Get,
            "HEAD" => PresignMethod::Head,
            m => panic!("{}: method {m}", c.name),
        };
        methods.insert(c.method.clone());
        let req = PresignRequest {
            method,
            key: &c.key,
            now: c.now,
            expires_secs: c.expires,
            content_disposition: c.disposition.as_deref(),
            content_type: c.content_type.as_deref(),
        };
        assert_eq!(presign(&loc, &creds, &req).unwrap(), c.url, "{}", c.name);
    }
    assert_eq!(methods.len(), 2, "GET and HEAD both covered");
}

// ---------------------------------------------------------------------------
// Sealed-link vectors (tests/vectors/sealed.json, docs/link-format.md §17).
// Valid tokens are sealed by the core with fixed nonces (random in use) and
// then opened here with a seal key derived by hand (hmac/sha2) and the AEAD
// crate called directly, not through the core. Tampered tokens are edited
// byte by byte; each expected code is written down from §17.4.
// ---------------------------------------------------------------------------

const SEAL_LINK: &[u8] = b"linkgate-seal-link-v2\0";
const SEAL_SESSION: &[u8] = b"linkgate-seal-session-v2\0";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct HChaChaVector {
    key_hex: String,
    nonce_hex: String,
    subkey_hex: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SealedValid {
    name: String,
    description: String,
    token: String,
    nonce_hex: String,
    payload_hex: String,
    request: Request,
    claims: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SealedFile {
    format: String,
    keys: String,
    time_rules: Rules,
    hchacha20: Vec<HChaChaVector>,
    valid: Vec<SealedValid>,
    invalid: Vec<InvalidVector>,
}

/// Vector nonce number `n`: 24 fixed bytes (never do this in use).
fn vector_nonce(n: u8) -> [u8; 24] {
    let mut out = [0u8; 24];
    for (i, b) in out.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(0x0B) ^ 0xA5;
    }
    out[0] = n;
    out
}

/// The seal key by hand: HMAC-SHA256(key, label).
fn seal_key(key: &[u8], label: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// Seal `payload` by hand under `kid`/`key` (header, AEAD), so that vectors
/// can carry payloads and headers no signer makes.
fn seal_by_hand(kid: &[u8], key: &[u8], label: &[u8], nonce: &[u8; 24], payload: &[u8]) -> Vec<u8> {
    use chacha20poly1305::aead::AeadInPlace;
    use chacha20poly1305::{KeyInit, XChaCha20Poly1305};
    let mut raw = vec![0x02, kid.len() as u8];
    raw.extend_from_slice(kid);
    raw.extend_from_slice(nonce);
    let header = raw.clone();
    let mut body = payload.to_vec();
    let cipher = XChaCha20Poly1305::new(&seal_key(key, label).into());
    let tag = cipher.encrypt_in_place_detached(nonce.into(), &header, &mut body).unwrap();
    raw.extend_from_slice(&body);
    raw.extend_from_slice(&tag);
    raw
}

/// Open by hand; the inner payload, or None.
fn open_by_hand(raw: &[u8], key: &[u8], label: &[u8]) -> Option<Vec<u8>> {
    use chacha20poly1305::aead::AeadInPlace;
    use chacha20poly1305::{KeyInit, XChaCha20Poly1305};
    let kid_len = *raw.get(1)? as usize;
    let header_len = 2 + kid_len + 24;
    let (header, rest) = raw.split_at(header_len);
    let (body, tag) = rest.split_at(rest.len() - 16);
    let nonce: [u8; 24] = header[header_len - 24..].try_into().ok()?;
    let tag: [u8; 16] = tag.try_into().ok()?;
    let mut body = body.to_vec();
    let cipher = XChaCha20Poly1305::new(&seal_key(key, label).into());
    cipher.decrypt_in_place_detached(&nonce.into(), header, &mut body, &tag.into()).ok()?;
    Some(body)
}

fn generate_sealed() -> SealedFile {
    let ring = ring();
    let live = live_key();
    let mut valid = Vec::new();
    let mut invalid = Vec::new();
    let mut ok = |name: &str, description: &str, c: &Claims, kid: &str, nonce: u8, request: Request| {
        let key = ring.get(kid).unwrap();
        let mut c = c.clone();
        c.kid = key.kid().clone();
        let token = c.seal(key, &vector_nonce(nonce)).unwrap();
        // The core's bytes are what §17.1 says, and open by hand.
        let raw = token_bytes(&token);
        let secret = if kid == LIVE { live_key() } else { prev_key() };
        let mut header = vec![0x02, kid.len() as u8];
        header.extend_from_slice(kid.as_bytes());
        header.extend_from_slice(&vector_nonce(nonce));
        assert_eq!(&raw[..header.len()], header.as_slice(), "{name}: header");
        let inner = open_by_hand(&raw, &secret, SEAL_LINK).unwrap_or_else(|| panic!("{name}: does not open by hand"));
        assert_eq!(inner, c.encode_payload(), "{name}: inner payload");
        assert_eq!(raw, seal_by_hand(kid.as_bytes(), &secret, SEAL_LINK, &vector_nonce(nonce), &inner), "{name}");
        valid.push(SealedValid {
            name: name.to_owned(),
            description: description.to_owned(),
            token,
            nonce_hex: hex(&vector_nonce(nonce)),
            payload_hex: hex(&inner),
            request,
            claims: c.to_json(),
        });
    };

    let c = claims(0x41, "/reports/2026/q1.pdf");
    ok(
        "sealed_minimal_object",
        "A sealed link with only the required claims: the token shows the kid and the nonce, nothing else.",
        &c,
        LIVE,
        1,
        req("/reports/2026/q1.pdf").host(None).ip(None),
    );
    let mut all = claims(0x42, "/board/2026/");
    all.exp = T0 + 86_400;
    all.nbf = Some(T0);
    all.host = Some(HostName::parse(HOST).unwrap());
    all.sub = Some(Label::parse(Field::Sub, "user-8841").unwrap());
    all.tenant = Some(Label::parse(Field::Tenant, "acme-corp").unwrap());
    all.ip = cidrs(&["198.51.100.0/24", "2001:db8:42::/48"]);
    all.uses = NonZeroU32::new(3);
    all.mode = Some(Mode::Stream);
    all.filename = Some(FileName::parse("Jahresbericht – Geschäftsführung 報告書.pdf").unwrap());
    all.content_type = Some(ContentType::parse("application/pdf").unwrap());
    ok(
        "sealed_all_claims",
        "Every claim, sealed: the same claims as v1.json's all_claims (another jti); the URL shows none of them.",
        &all,
        LIVE,
        2,
        req("/board/2026/pack.pdf"),
    );
    ok(
        "sealed_second_key",
        "Sealed with the ring's second key (prev_2025, 40 bytes): its own seal key.",
        &claims(0x43, "/reports/2026/q2.pdf"),
        PREV,
        3,
        req("/reports/2026/q2.pdf"),
    );
    ok(
        "sealed_same_claims_other_nonce",
        "The claims of sealed_minimal_object under another nonce: another token, the same claims.",
        &claims(0x41, "/reports/2026/q1.pdf"),
        LIVE,
        4,
        req("/reports/2026/q1.pdf").host(None).ip(None),
    );

    let base = token_bytes(&valid[0].token);
    let minimal = claims(0x41, "/reports/2026/q1.pdf");
    let req0 = || req("/reports/2026/q1.pdf");
    let mut bad = |name: &str, description: &str, raw: Vec<u8>, request: Request, code: Code| {
        invalid.push(InvalidVector {
            name: name.to_owned(),
            description: description.to_owned(),
            token: Some(b64::encode(&raw)),
            request,
            code: code.as_str().to_owned(),
        });
    };
    let edit = |at: usize, f: &dyn Fn(u8) -> u8| {
        let mut t = base.clone();
        t[at] = f(t[at]);
        t
    };
    let header_len = 2 + LIVE.len() + 24;
    bad(
        "sealed_tampered_ciphertext",
        "One bit of the ciphertext flipped: the AEAD does not open.",
        edit(header_len + 5, &|b| b ^ 1),
        req0(),
        Code::SignatureInvalid,
    );
    bad(
        "sealed_tampered_tag",
        "The last byte of the Poly1305 tag changed.",
        edit(base.len() - 1, &|b| b ^ 0x80),
        req0(),
        Code::SignatureInvalid,
    );
    bad(
        "sealed_tampered_nonce",
        "One nonce byte changed (the nonce is associated data and the XChaCha20 nonce).",
        edit(2 + LIVE.len(), &|b| b ^ 1),
        req0(),
        Code::SignatureInvalid,
    );
    bad(
        "sealed_version_1",
        "The version byte changed to 0x01: the bytes are read as a v1 token, which they are not.",
        edit(0, &|_| 1),
        req0(),
        Code::TokenMalformed,
    );
    bad("sealed_version_3", "An unknown version byte.", edit(0, &|_| 3), req0(), Code::TokenMalformed);
    bad("sealed_kid_len_zero", "kid_len 0: no key id.", edit(1, &|_| 0), req0(), Code::TokenMalformed);
    bad("sealed_kid_len_33", "kid_len 33: longer than any key id.", edit(1, &|_| 33), req0(), Code::TokenMalformed);
    bad(
        "sealed_kid_len_into_nonce",
        "kid_len 10 takes the first nonce byte (0x01, not a key-id character) into the kid.",
        edit(1, &|_| 10),
        req0(),
        Code::TokenMalformed,
    );
    bad(
        "sealed_kid_bad_character",
        "A kid byte that is not a key-id character (`live!2026`).",
        edit(2 + 4, &|_| b'!'),
        req0(),
        Code::TokenMalformed,
    );
    bad(
        "sealed_kid_unlisted",
        "The header names a kid the ring does not list (`live-2027`).",
        edit(2 + 8, &|_| b'7'),
        req0(),
        Code::KeyUnknown,
    );
    {
        // Sealed with prev_2025 (same kid length), header relabelled live-2026.
        let mut t = token_bytes(&valid[2].token);
        t[2..2 + LIVE.len()].copy_from_slice(LIVE.as_bytes());
        bad("sealed_kid_swapped", "Sealed with prev_2025's seal key, header relabelled live-2026 (a listed kid): live-2026's seal key does not open it.", t, req("/reports/2026/q2.pdf"), Code::SignatureInvalid);
    }
    bad(
        "sealed_forged_key",
        "Header live-2026, sealed with a key that is not in the ring.",
        seal_by_hand(LIVE.as_bytes(), &forged_key(), SEAL_LINK, &vector_nonce(5), &minimal.encode_payload()),
        req0(),
        Code::SignatureInvalid,
    );
    bad(
        "sealed_retired_kid",
        "Sealed correctly by a key whose kid is not in the ring.",
        seal_by_hand(RETIRED.as_bytes(), &retired_key(), SEAL_LINK, &vector_nonce(6), &{
            let mut c = minimal.clone();
            c.kid = KeyId::parse(RETIRED).unwrap();
            c.encode_payload()
        }),
        req0(),
        Code::KeyUnknown,
    );
    bad(
        "sealed_session_as_link",
        "A sealed download-session token (seal key of linkgate-seal-session-v2) presented as a link.",
        seal_by_hand(LIVE.as_bytes(), &live, SEAL_SESSION, &vector_nonce(7), &minimal.encode_payload()),
        req0(),
        Code::SignatureInvalid,
    );
    bad(
        "sealed_link_label_v1_key",
        "Sealed under the raw link key instead of the derived seal key.",
        {
            use chacha20poly1305::aead::AeadInPlace;
            use chacha20poly1305::{KeyInit, XChaCha20Poly1305};
            let mut raw = base[..header_len].to_vec();
            let mut body = minimal.encode_payload();
            let k: [u8; 32] = live.clone().try_into().unwrap();
            let tag = XChaCha20Poly1305::new(&k.into())
                .encrypt_in_place_detached(&vector_nonce(1).into(), &raw.clone(), &mut body)
                .unwrap();
            raw.extend_from_slice(&body);
            raw.extend_from_slice(&tag);
            raw
        },
        req0(),
        Code::SignatureInvalid,
    );
    {
        // A v1 HMAC tag (first 16 bytes) over the sealed header and body.
        let mut t = base[..base.len() - 16].to_vec();
        let tag = hmac_tag(&live, DOMAIN, &t);
        t.extend_from_slice(&tag[..16]);
        bad(
            "sealed_v1_tag",
            "The Poly1305 tag replaced by a truncated v1 HMAC tag over the same bytes.",
            t,
            req0(),
            Code::SignatureInvalid,
        );
    }
    bad(
        "sealed_truncated_tag",
        "The last byte of the token removed.",
        base[..base.len() - 1].to_vec(),
        req0(),
        Code::SignatureInvalid,
    );
    bad(
        "sealed_no_ciphertext",
        "A header and a tag, no ciphertext byte.",
        {
            let mut t = base[..header_len].to_vec();
            t.extend_from_slice(&base[base.len() - 16..]);
            t
        },
        req0(),
        Code::TokenMalformed,
    );
    bad("sealed_header_only", "Only the header.", base[..header_len].to_vec(), req0(), Code::TokenMalformed);
    {
        let mut t = base.clone();
        t.push(0);
        bad(
            "sealed_trailing_byte",
            "One byte appended: the tag is now read one byte later.",
            t,
            req0(),
            Code::SignatureInvalid,
        );
    }
    bad(
        "sealed_ciphertext_too_long",
        "A ciphertext of 2007 bytes (over MAX_SEALED_PAYLOAD_BYTES) is refused before the key is looked up.",
        {
            let mut t = base[..header_len].to_vec();
            t.extend(std::iter::repeat_n(0u8, 2007 + 16));
            t
        },
        req0(),
        Code::TokenMalformed,
    );
    {
        let mut other = minimal.clone();
        other.kid = KeyId::parse(PREV).unwrap();
        bad(
            "sealed_inner_kid_differs",
            "Authentic (sealed with live-2026's key), but the inner payload names prev_2025: §17.4 step 5a.",
            seal_by_hand(LIVE.as_bytes(), &live, SEAL_LINK, &vector_nonce(8), &other.encode_payload()),
            req0(),
            Code::TokenMalformed,
        );
        let mut trailing = minimal.encode_payload();
        trailing.push(0x0F);
        bad(
            "sealed_inner_trailing_byte",
            "Authentic, but the inner payload has a truncated field after the last one.",
            seal_by_hand(LIVE.as_bytes(), &live, SEAL_LINK, &vector_nonce(9), &trailing),
            req0(),
            Code::TokenMalformed,
        );
        let mut v2 = minimal.encode_payload();
        v2[0] = 0x02;
        bad(
            "sealed_inner_version_2",
            "Authentic, but the inner payload's version byte is 0x02 (a sealed token is never nested).",
            seal_by_hand(LIVE.as_bytes(), &live, SEAL_LINK, &vector_nonce(10), &v2),
            req0(),
            Code::TokenMalformed,
        );
    }
    bad(
        "sealed_expired",
        "An authentic sealed link at exp: the v1 time rules, after opening.",
        base.clone(),
        req0().at(T0 + 3600),
        Code::Expired,
    );
    bad(
        "sealed_scope_mismatch",
        "An authentic sealed link for another object.",
        base.clone(),
        req("/reports/2026/q2.pdf"),
        Code::ScopeMismatch,
    );
    bad(
        "sealed_host_mismatch",
        "sealed_all_claims from another host.",
        token_bytes(&valid[1].token),
        req("/board/2026/pack.pdf").host(Some("evil.example")),
        Code::HostMismatch,
    );

    SealedFile {
        format: "linkgate sealed link v2".to_owned(),
        keys: keys_text(),
        time_rules: Rules { skew_secs: SKEW, max_ttl_secs: MAX_TTL },
        // draft-irtf-cfrg-xchacha-03 §2.2.1.
        hchacha20: vec![HChaChaVector {
            key_hex: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f".to_owned(),
            nonce_hex: "000000090000004a0000000031415927".to_owned(),
            subkey_hex: "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc".to_owned(),
        }],
        valid,
        invalid,
    }
}

#[test]
fn sealed_vectors_match_committed_file() {
    match_committed(&serde_json::to_value(generate_sealed()).unwrap(), "sealed.json");
}

#[test]
fn committed_sealed_vectors_verify() {
    let text = std::fs::read_to_string(vectors_dir().join("sealed.json")).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(s(&file, "format"), "linkgate sealed link v2");
    let ring = KeyRing::parse(s(&file, "keys")).unwrap();
    let rules = TimeRules::default();
    let valid = file["valid"].as_array().unwrap();
    let invalid = file["invalid"].as_array().unwrap();
    assert!(valid.len() >= 4 && invalid.len() >= 20, "{} valid, {} invalid", valid.len(), invalid.len());
    let run = |v: &Value| {
        let r = &v["request"];
        let facts = RequestFacts {
            raw_path: s(r, "path"),
            token: opt_s(v, "token"),
            method: Method::parse(s(r, "method")),
            host: opt_s(r, "host"),
            client_ip: opt_s(r, "client_ip").and_then(linkgate_core::ip::parse_addr),
            now: r["now"].as_u64().unwrap(),
        };
        verify(&ring, &rules, &facts)
    };
    for v in valid {
        let name = s(v, "name");
        let link = run(v).unwrap_or_else(|e| panic!("valid vector {name} refused: {} ({})", e.code, e.reason));
        assert!(link.sealed(), "{name}");
        assert_eq!(link.claims().to_json(), v["claims"], "{name}: claims");
        // A signer given the claims and the nonce makes exactly the token.
        let key = ring.get(link.claims().kid.as_str()).unwrap();
        let nonce: [u8; 24] = hex_bytes(s(v, "nonce_hex")).try_into().unwrap();
        assert_eq!(link.claims().seal(key, &nonce).unwrap(), s(v, "token"), "{name}: re-sealed");
        assert_eq!(hex(&link.claims().encode_payload()), s(v, "payload_hex"), "{name}: payload_hex");
        // The token text shows none of the claims' text.
        let token = s(v, "token");
        for claim in ["scope", "sub", "tenant", "filename", "host"] {
            if let Some(text) = v["claims"].get(claim).and_then(Value::as_str) {
                for part in text.split(['/', ' ', '.']).filter(|p| p.len() >= 4) {
                    assert!(!token.contains(part), "{name}: {claim} {part:?} in the token");
                }
            }
        }
    }
    for v in invalid {
        let name = s(v, "name");
        match run(v) {
            Ok(_) => panic!("invalid vector {name} verified"),
            Err(e) => assert_eq!(e.code.as_str(), s(v, "code"), "{name} (reason {})", e.reason),
        }
    }
}

fn hex_bytes(h: &str) -> Vec<u8> {
    (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect()
}

/// One SigV4 header-signing case of tests/vectors/sign_headers.json (made by
/// botocore's S3SigV4Auth, tests/vectors/sign_headers_vectors.py).
#[derive(Deserialize)]
struct SignHeadersCase {
    name: String,
    endpoint: String,
    region: String,
    bucket: String,
    access_key_id: String,
    secret_access_key: String,
    method: String,
    key: String,
    now: u64,
    range: Option<String>,
    expected: SignHeadersExpected,
}

#[derive(Deserialize)]
struct SignHeadersExpected {
    url: String,
    authorization: String,
    x_amz_content_sha256: String,
    x_amz_date: String,
}

#[derive(Deserialize)]
struct SignHeadersFile {
    cases: Vec<SignHeadersCase>,
}

/// Every botocore-signed request (URL, Authorization, payload hash, date) is
/// reproduced byte for byte by the private origin's header signer.
#[test]
fn signed_headers_match_botocore() {
    use linkgate_core::presign::{sign_headers, HeaderSignRequest, PresignMethod, S3Credentials, S3Location};
    let text = std::fs::read_to_string(vectors_dir().join("sign_headers.json")).unwrap();
    let file: SignHeadersFile = serde_json::from_str(&text).unwrap();
    assert!(file.cases.len() >= 50, "{} cases", file.cases.len());
    let (mut ranges, mut heads) = (0, 0);
    for c in &file.cases {
        let loc = S3Location::path_style(&c.endpoint, &c.region, &c.bucket).unwrap();
        let creds = S3Credentials::new(&c.access_key_id, &c.secret_access_key).unwrap();
        let method = match c.method.as_str() {
            "GET" => PresignMethod::Get,
            "HEAD" => PresignMethod::Head,
            m => panic!("{}: method {m}", c.name),
        };
        heads += usize::from(method == PresignMethod::Head);
        ranges += usize::from(c.range.is_some());
        let req = HeaderSignRequest { method, key: &c.key, now: c.now, range: c.range.as_deref() };
        let signed = sign_headers(&loc, &creds, &req).unwrap();
        assert_eq!(signed.url, c.expected.url, "{}: url", c.name);
        let get = |name: &str| signed.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
        assert_eq!(get("authorization"), Some(c.expected.authorization.as_str()), "{}", c.name);
        assert_eq!(get("x-amz-content-sha256"), Some(c.expected.x_amz_content_sha256.as_str()), "{}", c.name);
        assert_eq!(get("x-amz-date"), Some(c.expected.x_amz_date.as_str()), "{}", c.name);
        assert_eq!(get("range"), c.range.as_deref(), "{}", c.name);
    }
    assert!(heads > 0 && ranges > 0, "HEAD and Range both covered");
}

// ---------------------------------------------------------------------------
// Ed25519-signed links (tests/vectors/ed25519.json, docs/link-format.md §18).
// Valid tokens are signed here with ed25519-dalek called directly (not
// through the core) and compared with the core's signer. Every expected
// code is written down from §18.4; the primitive vectors are RFC 8032 §7.1
// TEST 1–3 and signatures the strict rules of §18.3 refuse.
// ---------------------------------------------------------------------------

const ED_DOMAIN: &[u8] = b"linkgate-link-ed25519-v1\0";
const ED_ISSUER: &str = "issuer-2026";
const ED_ACME: &str = "tenant-acme";
const ED_GLOBEX: &str = "tenant-globex";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct EdSigningKey {
    kid: String,
    seed_hex: String,
    public_hex: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct EdPrimitive {
    name: String,
    description: String,
    public_hex: String,
    message_hex: String,
    signature_hex: String,
    valid: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct EdInvalid {
    name: String,
    description: String,
    token: String,
    request: Request,
    code: String,
    reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct EdFile {
    format: String,
    keys: String,
    public_keys: String,
    time_rules: Rules,
    /// Test-only private keys (seeds) of the vectors; never use them.
    signing_keys: Vec<EdSigningKey>,
    primitive: Vec<EdPrimitive>,
    valid: Vec<ValidVector>,
    invalid: Vec<EdInvalid>,
}

fn ed_seed(kid: &str) -> [u8; 32] {
    match kid {
        // RFC 8032 §7.1 TEST 1's secret key.
        ED_ISSUER => hex_bytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").try_into().unwrap(),
        ED_ACME => [0x11; 32],
        ED_GLOBEX => [0x22; 32],
        _ => [0x5A; 32], // in no ring
    }
}

fn ed_public(kid: &str) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(&ed_seed(kid)).verifying_key().to_bytes()
}

fn ed_public_keys_text() -> String {
    format!(
        "{ED_ISSUER}:{},{ED_ACME}:{}@tenant=acme;prefix=/tenants/acme/,{ED_GLOBEX}:{}@tenant=globex;prefix=/tenants/globex/",
        b64::encode(&ed_public(ED_ISSUER)),
        b64::encode(&ed_public(ED_ACME)),
        b64::encode(&ed_public(ED_GLOBEX)),
    )
}

/// Sign `payload` by hand: 0x03 || payload || Ed25519(seed, label || payload).
fn ed_sign_by_hand(seed: &[u8; 32], payload: &[u8]) -> Vec<u8> {
    use ed25519_dalek::Signer;
    let mut message = ED_DOMAIN.to_vec();
    message.extend_from_slice(payload);
    let sig = ed25519_dalek::SigningKey::from_bytes(seed).sign(&message).to_bytes();
    let mut raw = vec![0x03];
    raw.extend_from_slice(payload);
    raw.extend_from_slice(&sig);
    raw
}

/// Add `L` to the scalar `S` (little-endian): the same signature for a
/// malleable verifier.
fn s_plus_l(sig: &mut [u8]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (i, l) in L.iter().enumerate() {
        let v = u16::from(sig[32 + i]) + u16::from(*l) + carry;
        sig[32 + i] = v as u8;
        carry = v >> 8;
    }
}

fn ed_claims(n: u8, kid: &str, scope: &str, tenant: Option<&str>) -> Claims {
    let mut c = claims(n, scope);
    c.kid = KeyId::parse(kid).unwrap();
    c.tenant = tenant.map(|t| Label::parse(Field::Tenant, t).unwrap());
    c
}

fn generate_ed25519() -> EdFile {
    use linkgate_core::ed25519::native::PrivateKey;
    let mut valid = Vec::new();
    let mut ok = |name: &str, description: &str, c: &Claims, request: Request| {
        let payload = c.encode_payload();
        let raw = ed_sign_by_hand(&ed_seed(c.kid.as_str()), &payload);
        let token = b64::encode(&raw);
        // The core's signer makes exactly these bytes (RFC 8032 is deterministic).
        let key = PrivateKey::from_seed(c.kid.clone(), &ed_seed(c.kid.as_str()));
        assert_eq!(key.sign(c).unwrap(), token, "{name}: the core's signer");
        valid.push(ValidVector {
            name: name.to_owned(),
            description: description.to_owned(),
            token,
            payload_hex: hex(&payload),
            request,
            claims: c.to_json(),
        });
    };
    let minimal = ed_claims(0x61, ED_ISSUER, "/reports/2026/q1.pdf", None);
    ok(
        "ed_minimal_object",
        "Only the required claims, signed with issuer-2026 (an unconstrained public key; its seed is RFC 8032 TEST 1's).",
        &minimal,
        req("/reports/2026/q1.pdf"),
    );
    let mut all = ed_claims(0x62, ED_ISSUER, "/board/2026/pack.pdf", Some("acme-holdings"));
    all.nbf = Some(T0 + 10);
    all.host = Some(HostName::parse(HOST).unwrap());
    all.sub = Some(Label::parse(Field::Sub, "recipient-7731").unwrap());
    all.ip = cidrs(&["198.51.100.0/24", "2001:db8::/32"]);
    all.uses = NonZeroU32::new(3);
    all.mode = Some(Mode::Stream);
    all.filename = Some(FileName::parse("Board pack Q1 2026.pdf").unwrap());
    all.content_type = Some(ContentType::parse("application/pdf").unwrap());
    ok(
        "ed_all_claims",
        "Every claim, as v1.json's all_claims, signed with Ed25519.",
        &all,
        req("/board/2026/pack.pdf"),
    );
    let acme = ed_claims(0x63, ED_ACME, "/tenants/acme/invoices/7.pdf", Some("acme"));
    ok(
        "ed_tenant_key_own_object",
        "tenant-acme (constrained to tenant acme under /tenants/acme/) signs one of acme's objects.",
        &acme,
        req("/tenants/acme/invoices/7.pdf"),
    );
    let acme_folder = ed_claims(0x64, ED_ACME, "/tenants/acme/exports/", Some("acme"));
    ok(
        "ed_tenant_key_own_folder",
        "tenant-acme signs a folder link inside its prefix.",
        &acme_folder,
        req("/tenants/acme/exports/2026/jan.csv"),
    );
    let whole = ed_claims(0x65, ED_ACME, "/tenants/acme/", Some("acme"));
    ok("ed_tenant_key_whole_prefix", "tenant-acme signs its whole prefix.", &whole, req("/tenants/acme/a.pdf"));

    let mut invalid = Vec::new();
    let mut bad = |name: &str, description: &str, raw: Vec<u8>, request: Request, code: Code, reason: &str| {
        invalid.push(EdInvalid {
            name: name.to_owned(),
            description: description.to_owned(),
            token: b64::encode(&raw),
            request,
            code: code.as_str().to_owned(),
            reason: reason.to_owned(),
        });
    };
    let signed = |c: &Claims, seed_of: &str| ed_sign_by_hand(&ed_seed(seed_of), &c.encode_payload());
    let base = token_bytes(&valid[0].token);
    let req0 = || req("/reports/2026/q1.pdf");
    let n = base.len();

    // Constraints: a tenant key outside its tenant or folder (§18.4 step 5a).
    bad(
        "ed_tenant_key_other_tenants_path",
        "tenant-acme signs globex's object (tenant claim acme): the signature verifies, the prefix constraint refuses it.",
        signed(&ed_claims(0x66, ED_ACME, "/tenants/globex/payroll.pdf", Some("acme")), ED_ACME),
        req("/tenants/globex/payroll.pdf"),
        Code::KeyUnknown,
        "key_constraint",
    );
    bad(
        "ed_tenant_key_other_tenants_claims",
        "tenant-acme signs globex's object with tenant claim globex.",
        signed(&ed_claims(0x67, ED_ACME, "/tenants/globex/payroll.pdf", Some("globex")), ED_ACME),
        req("/tenants/globex/payroll.pdf"),
        Code::KeyUnknown,
        "key_constraint",
    );
    bad(
        "ed_tenant_key_other_tenant_claim_own_path",
        "tenant-acme signs inside its folder but for tenant globex.",
        signed(&ed_claims(0x68, ED_ACME, "/tenants/acme/x.pdf", Some("globex")), ED_ACME),
        req("/tenants/acme/x.pdf"),
        Code::KeyUnknown,
        "key_constraint",
    );
    bad(
        "ed_tenant_key_no_tenant_claim",
        "tenant-acme signs inside its folder without a tenant claim.",
        signed(&ed_claims(0x69, ED_ACME, "/tenants/acme/x.pdf", None), ED_ACME),
        req("/tenants/acme/x.pdf"),
        Code::KeyUnknown,
        "key_constraint",
    );
    bad(
        "ed_tenant_key_whole_bucket",
        "tenant-acme signs a folder link to every object (/).",
        signed(&ed_claims(0x6A, ED_ACME, "/", Some("acme")), ED_ACME),
        req("/tenants/acme/x.pdf"),
        Code::KeyUnknown,
        "key_constraint",
    );
    bad(
        "ed_tenant_key_sibling_prefix",
        "tenant-acme signs /tenants/acme-evil/ (a prefix match on text, not on whole segments).",
        signed(&ed_claims(0x6B, ED_ACME, "/tenants/acme-evil/x.pdf", Some("acme")), ED_ACME),
        req("/tenants/acme-evil/x.pdf"),
        Code::KeyUnknown,
        "key_constraint",
    );
    bad(
        "ed_globex_kid_acme_signature",
        "Names tenant-globex but is signed with tenant-acme's private key.",
        signed(&ed_claims(0x6C, ED_GLOBEX, "/tenants/globex/x.pdf", Some("globex")), ED_ACME),
        req("/tenants/globex/x.pdf"),
        Code::SignatureInvalid,
        "bad_tag",
    );
    // Keys: unknown kids, HMAC kids, HMAC secrets.
    bad(
        "ed_unknown_kid",
        "Signed by a key pair whose kid is in neither ring: refused before any signature check.",
        signed(&ed_claims(0x6D, "stranger", "/reports/2026/q1.pdf", None), "stranger"),
        req0(),
        Code::KeyUnknown,
        "unknown_kid",
    );
    {
        // An Ed25519 token naming an HMAC key, "signed" with that key's
        // secret as a seed: HMAC keys never verify Ed25519 tokens.
        let c = ed_claims(0x6E, LIVE, "/reports/2026/q1.pdf", None);
        let seed: [u8; 32] = live_key().try_into().unwrap();
        bad(
            "ed_hmac_kid_hmac_secret_as_seed",
            "An Ed25519 token naming live-2026 (an HMAC key) signed with live-2026's secret as the seed.",
            ed_sign_by_hand(&seed, &c.encode_payload()),
            req0(),
            Code::KeyUnknown,
            "unknown_kid",
        );
        // A v1 token naming a public key, tagged with the HMAC secret.
        let c = ed_claims(0x6F, ED_ISSUER, "/reports/2026/q1.pdf", None);
        let mut raw = c.encode_payload();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&live_key()).unwrap();
        mac.update(DOMAIN);
        mac.update(&raw);
        raw.extend_from_slice(&mac.finalize().into_bytes());
        bad(
            "ed_public_kid_hmac_tag",
            "A v1 (HMAC) token naming issuer-2026, a public key: the HMAC ring does not list it.",
            raw,
            req0(),
            Code::KeyUnknown,
            "unknown_kid",
        );
    }
    // Tampering.
    let edit = |at: usize, f: &dyn Fn(u8) -> u8| {
        let mut t = base.clone();
        t[at] = f(t[at]);
        t
    };
    bad(
        "ed_tampered_payload",
        "One bit of the jti flipped.",
        edit(1 + 1 + 3 + ED_ISSUER.len() + 3, &|b| b ^ 1),
        req0(),
        Code::SignatureInvalid,
        "bad_tag",
    );
    bad("ed_tampered_r", "One bit of R flipped.", edit(n - 64, &|b| b ^ 1), req0(), Code::SignatureInvalid, "bad_tag");
    bad(
        "ed_tampered_s",
        "One bit of S flipped (S stays canonical).",
        edit(n - 32, &|b| b ^ 1),
        req0(),
        Code::SignatureInvalid,
        "bad_tag",
    );
    {
        let mut t = base.clone();
        s_plus_l(&mut t[n - 64..]);
        bad(
            "ed_s_plus_l",
            "S replaced by S + L: a valid signature for a malleable verifier; §18.3 requires S < L.",
            t,
            req0(),
            Code::SignatureInvalid,
            "bad_tag",
        );
        let mut t = base.clone();
        t[n - 1] |= 0xE0;
        bad("ed_s_high_bits", "The top 3 bits of S set (S ≥ 2^253 > L).", t, req0(), Code::SignatureInvalid, "bad_tag");
        let mut t = base.clone();
        t[n - 64..n - 32].copy_from_slice(&{
            let mut r = [0u8; 32];
            r[0] = 1;
            r
        });
        t[n - 32..].fill(0);
        bad(
            "ed_small_order_r_zero_s",
            "R = the identity point, S = 0: refused for a small-order R (it would verify under an identity public key).",
            t,
            req0(),
            Code::SignatureInvalid,
            "bad_tag",
        );
        let mut t = base.clone();
        t[n - 64..n - 32].copy_from_slice(&[0xff; 32]);
        t[n - 33] = 0x7f;
        bad("ed_non_canonical_r", "R's y is 2^255 - 1 (≥ p).", t, req0(), Code::SignatureInvalid, "bad_tag");
    }
    bad(
        "ed_version_1",
        "The version byte changed to 0x01: read as a v1 token (its payload's own 0x01 becomes a kid field header whose length runs past the end).",
        edit(0, &|_| 0x01),
        req0(),
        Code::TokenMalformed,
        "field_overrun",
    );
    bad(
        "ed_version_4",
        "An unknown version byte.",
        edit(0, &|_| 0x04),
        req0(),
        Code::TokenMalformed,
        "unsupported_version",
    );
    bad(
        "ed_truncated_signature",
        "The last signature byte dropped: the payload then ends one byte early.",
        base[..n - 1].to_vec(),
        req0(),
        Code::TokenMalformed,
        "field_overrun",
    );
    bad(
        "ed_signature_only",
        "0x03 and 64 bytes: no payload.",
        {
            let mut t = vec![0x03];
            t.extend_from_slice(&base[n - 64..]);
            t
        },
        req0(),
        Code::TokenMalformed,
        "truncated",
    );
    bad(
        "ed_trailing_byte",
        "One byte appended: the signature is read one byte later, and the payload ends with a lone field tag.",
        {
            let mut t = base.clone();
            t.push(0);
            t
        },
        req0(),
        Code::TokenMalformed,
        "field_overrun",
    );
    // The v1 rules after the signature.
    bad(
        "ed_expired",
        "An authentic Ed25519 link at exp.",
        base.clone(),
        req0().at(T0 + 3600),
        Code::Expired,
        "after_exp",
    );
    bad(
        "ed_scope_mismatch",
        "An authentic Ed25519 link for another object.",
        base.clone(),
        req("/reports/2026/q2.pdf"),
        Code::ScopeMismatch,
        "outside_scope",
    );

    let rfc = |name: &str, seed: &str, public: &str, msg: &str, sig: &str| EdPrimitive {
        name: name.to_owned(),
        description: "RFC 8032 §7.1".to_owned(),
        public_hex: public.to_owned(),
        message_hex: msg.to_owned(),
        signature_hex: sig.to_owned(),
        valid: {
            let _ = seed;
            true
        },
    };
    let mut primitive = vec![
        rfc("rfc8032_test1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "", "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        rfc("rfc8032_test2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72", "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        rfc("rfc8032_test3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7", "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82", "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ];
    let t1 = primitive[0].clone();
    let refused = |name: &str, description: &str, public: String, msg: String, sig: String| EdPrimitive {
        name: name.to_owned(),
        description: description.to_owned(),
        public_hex: public,
        message_hex: msg,
        signature_hex: sig,
        valid: false,
    };
    let mut sig = hex_bytes(&t1.signature_hex);
    s_plus_l(&mut sig);
    primitive.push(refused(
        "s_plus_l",
        "TEST 1 with S + L (non-canonical S).",
        t1.public_hex.clone(),
        t1.message_hex.clone(),
        hex(&sig),
    ));
    let identity = {
        let mut p = [0u8; 32];
        p[0] = 1;
        hex(&p)
    };
    primitive.push(refused(
        "small_order_key_and_r",
        "A = R = the identity, S = 0: satisfies the cofactorless equation for every message; refused (small order).",
        identity.clone(),
        "6c696e6b67617465".to_owned(),
        format!("{identity}{}", "00".repeat(32)),
    ));
    let mut sig = hex_bytes(&t1.signature_hex);
    sig[..32].copy_from_slice(&hex_bytes(&identity));
    primitive.push(refused(
        "small_order_r",
        "TEST 1's key and message, R = the identity.",
        t1.public_hex.clone(),
        t1.message_hex.clone(),
        hex(&sig),
    ));
    let mut big_y = [0xffu8; 32];
    big_y[31] = 0x7f;
    primitive.push(refused(
        "non_canonical_key",
        "A's y = 2^255 - 1 (≥ p).",
        hex(&big_y),
        t1.message_hex.clone(),
        t1.signature_hex.clone(),
    ));
    primitive.push(refused(
        "wrong_message",
        "TEST 2's signature on TEST 3's message.",
        primitive[1].public_hex.clone(),
        "af82".to_owned(),
        primitive[1].signature_hex.clone(),
    ));

    EdFile {
        format: "linkgate ed25519 link v1".to_owned(),
        keys: keys_text(),
        public_keys: ed_public_keys_text(),
        time_rules: Rules { skew_secs: SKEW, max_ttl_secs: MAX_TTL },
        signing_keys: [ED_ISSUER, ED_ACME, ED_GLOBEX]
            .iter()
            .map(|k| EdSigningKey { kid: (*k).to_owned(), seed_hex: hex(&ed_seed(k)), public_hex: hex(&ed_public(k)) })
            .collect(),
        primitive,
        valid,
        invalid,
    }
}

#[test]
fn ed25519_vectors_match_committed_file() {
    match_committed(&serde_json::to_value(generate_ed25519()).unwrap(), "ed25519.json");
}

#[test]
fn committed_ed25519_vectors_verify() {
    use linkgate_core::ed25519::native;
    let text = std::fs::read_to_string(vectors_dir().join("ed25519.json")).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(s(&file, "format"), "linkgate ed25519 link v1");
    let public = linkgate_core::ed25519::PublicKeyRing::parse(s(&file, "public_keys")).unwrap();
    let ring = KeyRing::parse(s(&file, "keys")).unwrap().with_public(public).unwrap();
    let rules = TimeRules::default();
    for p in file["primitive"].as_array().unwrap() {
        let public: [u8; 32] = hex_bytes(s(p, "public_hex")).try_into().unwrap();
        let sig: [u8; 64] = hex_bytes(s(p, "signature_hex")).try_into().unwrap();
        let got = native::verify(&public, &hex_bytes(s(p, "message_hex")), &sig);
        assert_eq!(got, p["valid"].as_bool().unwrap(), "primitive {}", s(p, "name"));
    }
    let run = |v: &Value| {
        let r = &v["request"];
        let facts = RequestFacts {
            raw_path: s(r, "path"),
            token: opt_s(v, "token"),
            method: Method::parse(s(r, "method")),
            host: opt_s(r, "host"),
            client_ip: opt_s(r, "client_ip").and_then(linkgate_core::ip::parse_addr),
            now: r["now"].as_u64().unwrap(),
        };
        verify(&ring, &rules, &facts)
    };
    let (valid, invalid) = (file["valid"].as_array().unwrap(), file["invalid"].as_array().unwrap());
    assert!(valid.len() >= 5 && invalid.len() >= 20, "{} valid, {} invalid", valid.len(), invalid.len());
    for v in valid {
        let name = s(v, "name");
        let link = run(v).unwrap_or_else(|e| panic!("valid vector {name} refused: {} ({})", e.code, e.reason));
        assert_eq!(link.claims().to_json(), v["claims"], "{name}: claims");
        assert_eq!(hex(&link.claims().encode_payload()), s(v, "payload_hex"), "{name}");
    }
    for v in invalid {
        let name = s(v, "name");
        match run(v) {
            Ok(_) => panic!("invalid vector {name} verified"),
            Err(e) => {
                assert_eq!((e.code.as_str(), e.reason.as_str()), (s(v, "code"), s(v, "reason")), "{name}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Identity assertions (tests/vectors/jwt.json, docs/identity.md): made by
// tests/vectors/jwt_vectors.py with `cryptography` (and judged there by a
// second reader); here each goes through the core's decision with RS256 and
// ES256 verified natively by the `rsa` and `p256` crates.

mod identity_assertions {
    use super::vectors_dir;
    use linkgate_core::identity::{decide, IdentityConfig, IdentityRule};
    use linkgate_core::json;
    use linkgate_core::jwks::{Jwk, Jwks, PublicKey};
    use linkgate_core::jwt::Alg;
    use linkgate_core::verify::TimeRules;
    use linkgate_core::Reason;
    use sha2::{Digest, Sha256};

    /// RS256 (PKCS #1 v1.5) and ES256 (raw r || s) by RustCrypto.
    fn native_verify(key: &Jwk, alg: Alg, input: &[u8], sig: &[u8]) -> bool {
        match (&key.key, alg) {
            (PublicKey::Rsa { n, e }, Alg::Rs256) => {
                let Ok(pk) = rsa::RsaPublicKey::new(rsa::BigUint::from_bytes_be(n), rsa::BigUint::from_bytes_be(e))
                else {
                    return false;
                };
                pk.verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(input), sig).is_ok()
            }
            (PublicKey::P256 { x, y }, Alg::Es256) => {
                use p256::ecdsa::signature::Verifier;
                let point = p256::EncodedPoint::from_affine_coordinates(&(*x).into(), &(*y).into(), false);
                let (Ok(vk), Ok(s)) =
                    (p256::ecdsa::VerifyingKey::from_encoded_point(&point), p256::ecdsa::Signature::from_slice(sig))
                else {
                    return false;
                };
                vk.verify(input, &s).is_ok()
            }
            _ => false,
        }
    }

    #[test]
    fn every_assertion_reaches_its_outcome() {
        let text = std::fs::read_to_string(vectors_dir().join("jwt.json")).unwrap();
        let data: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(data["format"], "linkgate identity assertion v1");
        let cfg = IdentityConfig::parse(Some(&data["config"].to_string())).unwrap().unwrap();
        let rule = IdentityRule::parse(&json::parse(&data["rule"].to_string()).unwrap()).unwrap().unwrap();
        let jwks = Jwks::parse(&data["jwks"].to_string()).unwrap();
        assert_eq!(jwks.keys().len(), 2);
        let time = TimeRules { skew_secs: data["skew_secs"].as_u64().unwrap(), max_ttl_secs: 0 };
        let vectors = data["vectors"].as_array().unwrap();
        let (mut ok, mut refused) = (0, 0);
        for v in vectors {
            let name = v["name"].as_str().unwrap();
            let (verdict, identity) = decide(
                &cfg,
                &rule,
                &jwks,
                v["token"].as_str().unwrap(),
                v["link_sub"].as_str(),
                &time,
                v["now"].as_u64().unwrap(),
                &mut native_verify,
            );
            let got = match verdict {
                Ok(()) => {
                    ok += 1;
                    serde_json::json!("ok")
                }
                Err(r) => {
                    refused += 1;
                    serde_json::json!({"code": Reason::Identity(r).code().unwrap().as_str(), "reason": r.as_str()})
                }
            };
            assert_eq!(got, v["expect"], "{name}");
            assert_eq!(identity.as_deref(), v["identity"].as_str(), "{name}: the recorded identity");
        }
        assert!(ok >= 5 && refused >= 25, "{ok} valid, {refused} refused");
    }

    /// The natively verified signatures are the ones that verify: every
    /// valid vector fails once a signature byte is changed.
    #[test]
    fn a_changed_signature_byte_fails() {
        let text = std::fs::read_to_string(vectors_dir().join("jwt.json")).unwrap();
        let data: serde_json::Value = serde_json::from_str(&text).unwrap();
        let cfg = IdentityConfig::parse(Some(&data["config"].to_string())).unwrap().unwrap();
        let rule = IdentityRule::parse(&json::parse(&data["rule"].to_string()).unwrap()).unwrap().unwrap();
        let jwks = Jwks::parse(&data["jwks"].to_string()).unwrap();
        let time = TimeRules { skew_secs: 30, max_ttl_secs: 0 };
        for v in data["vectors"].as_array().unwrap().iter().filter(|v| v["expect"] == "ok") {
            let token = v["token"].as_str().unwrap();
            let (head, sig) = token.rsplit_once('.').unwrap();
            let mut raw = linkgate_core::b64::decode(sig.as_bytes()).unwrap();
            raw[10] ^= 1;
            let forged = format!("{head}.{}", linkgate_core::b64::encode(&raw));
            let (verdict, identity) = decide(
                &cfg,
                &rule,
                &jwks,
                &forged,
                Some("r-1042"),
                &time,
                v["now"].as_u64().unwrap(),
                &mut native_verify,
            );
            assert_eq!(verdict.map_err(|r| r.as_str()), Err("identity_bad_signature"), "{}", v["name"]);
            assert_eq!(identity, None);
        }
    }
}

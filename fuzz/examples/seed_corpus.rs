//! Writes seed corpora for the fuzz targets into `<dir>/<target>/` (default
//! `fuzz/corpus`): valid tokens made by the real signer with the fixed ring, and
//! requests that verify, so the fuzzer starts past the MAC.
//!
//!     cargo +nightly run --manifest-path fuzz/Cargo.toml --example seed_corpus -- fuzz/corpus

use std::fs;
use std::num::NonZeroU32;
use std::path::Path;

use linkgate_core::b64;
use linkgate_core::ip::Cidr;
use linkgate_core::keys::KeyId;
use linkgate_core::path::{encode_path, Scope};
use linkgate_core::token::{Claims, ContentType, Field, FileName, HostName, Jti, Label, Mode};
use linkgate_core::verify::{verify, Method, RequestFacts, TimeRules};
use linkgate_fuzz::{encode_case, ring, VerifyCase, T0};

/// (claims, signing kid, request path, host, client address, method, now)
type Seed = (Claims, &'static str, &'static str, Option<&'static str>, Option<&'static str>, Method, u64);

fn claims(scope: &str) -> Claims {
    Claims::new(KeyId::parse("new").unwrap(), Jti([0x42; 16]), T0, T0 + 3600, Scope::parse(scope).unwrap())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join(name), bytes).unwrap();
}

fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| "fuzz/corpus".into());
    let root = Path::new(&root);
    let ring = ring();

    let mut full = claims("/board/2026/");
    full.nbf = Some(T0 + 60);
    full.host = Some(HostName::parse("files.example.com").unwrap());
    full.sub = Some(Label::parse(Field::Sub, "user-8841").unwrap());
    full.tenant = Some(Label::parse(Field::Tenant, "acme-corp").unwrap());
    full.ip = vec![Cidr::parse("192.0.2.0/24").unwrap(), Cidr::parse("2001:db8::/32").unwrap()];
    full.uses = NonZeroU32::new(3);
    full.mode = Some(Mode::Redirect);
    full.filename = Some(FileName::parse("Board pack – Q3.pdf").unwrap());
    full.content_type = Some(ContentType::parse("application/pdf").unwrap());

    let mut unicode = claims("/données/café é/");
    unicode.exp = T0 + 7 * 86400;

    let seeds: Vec<Seed> = vec![
        (claims("/reports/q3.pdf"), "new", "/reports/q3.pdf", None, None, Method::Get, T0 + 1),
        (claims("/reports/q3.pdf"), "old", "/reports/q3.pdf", Some("x.example"), None, Method::Head, T0 + 10),
        (claims("/"), "new", "/a/b/c.txt", None, None, Method::Get, T0),
        (
            full.clone(),
            "new",
            "/board/2026/minutes.pdf",
            Some("files.example.com:8443"),
            Some("192.0.2.7"),
            Method::Post,
            T0 + 100,
        ),
        (full, "old", "/board/2026/x", Some("FILES.example.com"), Some("2001:db8::1"), Method::Get, T0 + 100),
        (unicode, "new", "/données/café é/r%C3%A9sum%C3%A9.pdf", None, None, Method::Get, T0 + 5),
    ];
    for (i, (c, kid, path, host, ip, method, now)) in seeds.into_iter().enumerate() {
        let token = c.sign(ring.get(kid).unwrap()).unwrap();
        let raw = b64::decode(token.as_bytes()).unwrap();
        write(&root.join("token_decode"), &format!("seed-text-{i}"), token.as_bytes());
        write(&root.join("token_decode"), &format!("seed-raw-{i}"), &raw);
        // Sealed: the token text, its bytes, and the inner payload (which
        // the target seals itself to get past the AEAD).
        let sealed = c.seal(ring.get(kid).unwrap(), &[0x6e; 24]).unwrap();
        write(&root.join("sealed_decode"), &format!("seed-text-{i}"), sealed.as_bytes());
        write(&root.join("sealed_decode"), &format!("seed-raw-{i}"), &b64::decode(sealed.as_bytes()).unwrap());
        // Path-less links: the target puts each input behind the prefixes.
        write(&root.join("path_form"), &format!("seed-sealed-{i}"), sealed.as_bytes());
        write(&root.join("path_form"), &format!("seed-name-{i}"), format!("{sealed}/{path}?x=1").as_bytes());
        // Ed25519: the token text, its bytes after the version byte, and the
        // payload (which the target signs itself with its tenant key).
        let ed = linkgate_core::ed25519::native::PrivateKey::from_seed(KeyId::parse("tenant").unwrap(), &[0x33; 32]);
        let ed_token = ed.sign(&c).unwrap();
        let ed_raw = b64::decode(ed_token.as_bytes()).unwrap();
        write(&root.join("ed25519_decode"), &format!("seed-text-{i}"), ed_token.as_bytes());
        write(&root.join("ed25519_decode"), &format!("seed-raw-{i}"), &ed_raw[1..]);
        write(&root.join("ed25519_decode"), &format!("seed-payload-{i}"), &ed_raw[1..ed_raw.len() - 64]);
        let mut inner = c.clone();
        inner.kid = KeyId::parse("new").unwrap();
        write(&root.join("sealed_decode"), &format!("seed-inner-{i}"), &inner.encode_payload());
        let path = if path.contains('%') { path.to_owned() } else { encode_path(path) };
        let case = VerifyCase {
            method,
            token: Some(token),
            host: host.map(str::to_owned),
            client_ip: ip.map(|s| s.parse().unwrap()),
            now,
            rules: TimeRules::default(),
            path: path.clone(),
        };
        let facts = RequestFacts {
            raw_path: &case.path,
            token: case.token.as_deref(),
            method: case.method,
            host: case.host.as_deref(),
            client_ip: case.client_ip,
            now: case.now,
        };
        if let Err(r) = verify(&ring, &case.rules, &facts) {
            panic!("seed {i} does not verify: {r:?}");
        }
        let bytes = encode_case(&case);
        assert_eq!(linkgate_fuzz::decode_case(&bytes), case, "seed layout round trip");
        write(&root.join("verify"), &format!("seed-{i}"), &bytes);
        write(&root.join("path_canonicalize"), &format!("seed-{i}"), path.as_bytes());
    }
    for (i, p) in ["/a%2Fb", "/%2e%2e/x", "/a/./b", "/a%C2%85", "/%252e", "//a", "/a\\b", "/%ZZ"].iter().enumerate() {
        write(&root.join("path_canonicalize"), &format!("seed-bad-{i}"), p.as_bytes());
    }
    // Identity assertions and key sets: every assertion and the JWKS of the
    // JWT vectors (tests/vectors/jwt.json), read with the core's JSON reader.
    let vectors = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/jwt.json")).unwrap();
    let doc = linkgate_core::json::parse(&vectors).unwrap();
    for (i, v) in doc.get("vectors").and_then(|v| v.as_arr()).unwrap().iter().enumerate() {
        let token = v.get("token").and_then(|t| t.as_str()).unwrap();
        write(&root.join("jwt_parse"), &format!("seed-{i}"), token.as_bytes());
    }
    let jwks = doc.get("jwks").unwrap().to_raw();
    write(&root.join("jwt_parse"), "seed-jwks", jwks.as_str().as_bytes());
    // The JSON reader: the documents linkgate reads (policy, admin bodies,
    // stored entries, counter calls) and a few edges of the grammar.
    let json_seeds = [
        r#"{"classifications":{"restricted":{"max_ttl":"1h","modes":["stream"],"require_ip":true,"min_ip_prefix_v4":24,"countries":["DE"],"redirect_above":"64MiB","cache":"no-store","revocation":"strict"}},"default_classification":"internal"}"#,
        r#"{"path":"/a b.pdf","ttl":"15m","sub":"u1","ip":["10.0.0.0/8"],"uses":2,"sealed":true}"#,
        r#"{"scope":"sub","value":"u1","reason":"left","actor":"ops","revoked_at":7,"expires_at":null,"also":[{"reason":"r","actor":"a","revoked_at":9}]}"#,
        r#"{"request":{"max":1,"client":"c","client_ip":null,"user_agent":"ua","now":1,"grace_secs":120,"peek":false,"path":"/p","etag":"e"},"forget_at":5}"#,
        r#"{"used":1,"history":[{"time":1,"client":"c","client_ip":null,"user_agent":null,"path":"/p","etag":"e"}],"starts":[]}"#,
        r#"{"outcome":"consumed","remaining":2}"#,
        r#"["\ud83d\ude00\u00e9\n\"\\",-0.5e+3,18446744073709551616,[[[]]],{}]"#,
    ];
    for (i, doc) in json_seeds.iter().enumerate() {
        write(&root.join("json_parse"), &format!("seed-{i}"), doc.as_bytes());
    }
    // Admin query strings: the events listing, the hourly counts, the bucket listing.
    let query_seeds = [
        "jti=0123456789abcdef0123456789abcdef&limit=50",
        "tenant=acme&sub=u-1&path=%2Fboard%2Fq3.pdf&outcome=refused&since=1700000000&until=1700086400",
        "cursor=1700000000:42&limit=1000",
        "prefix=%2Fboard%2F2026%2F&cursor=abc&limit=5",
        "prefix=/caf%C3%A9/&since=0&until=2678400",
        "a=1&a=2&prefix=/a/../b/&limit=0",
    ];
    for (i, q) in query_seeds.iter().enumerate() {
        write(&root.join("admin_query"), &format!("seed-{i}"), q.as_bytes());
    }
    // Common Access Tokens under the fuzz CAT key: minted tokens (text), the
    // same as raw bytes, and their claims payloads (the target MACs those).
    let cat_seeds = [
        linkgate_core::cat::MintCat {
            kid: "cat1".into(),
            exp: Some(T0 + 600),
            iat: Some(T0),
            cwt_tag: true,
            ..Default::default()
        },
        linkgate_core::cat::MintCat {
            kid: "cat1".into(),
            iss: Some("https://tokens.example".into()),
            sub: Some("viewer-1".into()),
            aud: Some("linkgate".into()),
            exp: Some(T0 + 600),
            nbf: Some(T0 - 5),
            iat: Some(T0),
            cti: Some(vec![7; 16]),
            catreplay: Some(1),
            catv: Some(1),
            catnip: vec![Cidr::parse("198.51.100.0/24").unwrap(), Cidr::parse("2001:db8::/32").unwrap()],
            catu: vec![
                (3, 1, "/vod/".into()),
                (8, 0, ".ts".into()),
                (1, 2, ".example.com".into()),
                (3, -1, "/vod/show/seg1.ts".into()),
            ],
            catm: vec!["GET".into(), "HEAD".into()],
            crit: vec![312, 313],
            cwt_tag: false,
        },
    ];
    for (i, m) in cat_seeds.iter().enumerate() {
        let token = linkgate_core::cat::mint(&linkgate_fuzz::CAT_SECRET, m).unwrap();
        let raw = b64::decode(token.as_bytes()).unwrap();
        write(&root.join("cat_decode"), &format!("token-{i}"), token.as_bytes());
        write(&root.join("cat_decode"), &format!("raw-{i}"), &raw);
        let (_, _, claims) = linkgate_core::cat::read_unverified(&token).unwrap();
        assert!(claims.exp.is_some());
        // The payload is the third item: find it by re-reading the envelope.
        let mac0 = linkgate_core::cat::parse_mac0(&raw).unwrap();
        write(&root.join("cat_decode"), &format!("payload-{i}"), mac0.payload);
    }
    // The HLS rewriter: the first byte is the chunk size, the rest a
    // playlist (master with tags carrying URI attributes, a media playlist
    // with a key, a map, CRLF endings, URIs inside and outside the prefix).
    let playlists = [
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS=\"avc1.42c00d\",AUDIO=\"a\"\n720p/index.m3u8\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",URI=\"../audio/en.m3u8\"\nhttps://cdn.example/x.m3u8\n",
        "#EXTM3U\r\n#EXT-X-KEY:METHOD=AES-128,URI=\"/m/show/k.bin\",IV=0x1\r\n#EXT-X-MAP:URI=\"init.mp4\"\r\n#EXTINF:4.0,\r\nseg-1.m4s?a=1#t\r\n#EXTINF:4,\r\n../../../x.ts\r\n#EXT-X-ENDLIST",
    ];
    let mpds = [
        "<?xml version=\"1.0\"?>\n<MPD><!-- c --><BaseURL>v/</BaseURL><Period><AdaptationSet><Representation id=\"0\"><SegmentTemplate initialization=\"init.m4s\" media=\"chunk-$Number%03d$.m4s\"/></Representation><Representation><BaseURL>https://cdn.example/</BaseURL><SegmentList><SegmentURL media='a.m4s?x=1&amp;y=2'/></SegmentList></Representation></AdaptationSet></Period></MPD>",
    ];
    for (i, p) in playlists.iter().chain(mpds.iter()).enumerate() {
        for cut in [1u8, 7, 255] {
            let mut seed = vec![cut];
            seed.extend_from_slice(p.as_bytes());
            write(&root.join("hls_rewrite"), &format!("seed-{i}-{cut}"), &seed);
        }
    }
    // Admin credentials: texts signed under the fuzz target's root token,
    // their bytes and their bodies (docs/admin.md).
    use linkgate_core::credential::{Body, Capability};
    let creds = [
        Body::new([1; 16], "support", Some(&["acme".to_owned()]), &Capability::ALL, Some("/acme/"), T0, T0 + 3600),
        Body::new([2; 16], "auditor.eu-1", None, &[Capability::EventsRead], None, T0 - 10, T0 + 90 * 86_400),
        Body::new(
            [3; 16],
            "finance_export",
            Some(&["acme".to_owned(), "globex".to_owned()]),
            &[Capability::LinksMint, Capability::Revoke],
            Some("/données/2026/"),
            T0,
            T0 + 1,
        ),
    ];
    for (i, b) in creds.into_iter().enumerate() {
        let b = b.unwrap();
        let text = b.sign("fuzz-root-admin-token");
        write(&root.join("admin_credential"), &format!("text-{i}"), text.as_bytes());
        write(&root.join("admin_credential"), &format!("raw-{i}"), &b64::decode(text[4..].as_bytes()).unwrap());
        write(&root.join("admin_credential"), &format!("body-{i}"), &b.to_bytes());
    }
    eprintln!("seed corpora written under {}", root.display());
}

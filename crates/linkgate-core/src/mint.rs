//! Turning a request for a link (CLI flags, admin API JSON) into claims.
//!
//! One place validates every user-supplied value, so the CLI and the admin
//! API refuse the same inputs with the same field names.

use core::num::NonZeroU32;

use super::ip::Cidr;
use super::keys::{Key, KeyId};
use super::path::{PathError, Scope};
use super::sealed::NONCE_BYTES;
use super::token::{ClaimError, Claims, ContentType, Field, FileName, HostName, Jti, Label, Mode};

/// When the link expires: a lifetime from `iat`, or an absolute time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Seconds after `iat`.
    Ttl(u64),
    /// Unix seconds.
    At(u64),
}

/// What a caller asks for; every text field is checked by [`LinkRequest::build`].
#[derive(Debug, Clone, Default)]
pub struct LinkRequest {
    /// Decoded object path, or folder when `prefix` (a trailing `/` is added
    /// if missing).
    pub path: String,
    pub prefix: bool,
    /// The caller means the whole bucket: required for the prefix `/` (or an
    /// empty prefix), refused with any other scope, so such a link is never
    /// minted by accident (`whole_bucket` in the admin API, `--whole-bucket`
    /// on the CLI). The admin API also needs `LINKGATE_ALLOW_WHOLE_BUCKET`.
    pub whole_bucket: bool,
    pub expiry: Option<Expiry>,
    pub not_before: Option<u64>,
    /// Defaults to now.
    pub issued_at: Option<u64>,
    pub host: Option<String>,
    pub sub: Option<String>,
    pub tenant: Option<String>,
    pub ip: Vec<String>,
    pub uses: Option<u64>,
    pub mode: Option<String>,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    /// Seal the link (`docs/link-format.md` §17): its claims are encrypted,
    /// the URL shows only the key id.
    pub sealed: bool,
}

fn bad(field: Field, reason: &'static str) -> ClaimError {
    ClaimError { field, reason }
}

impl LinkRequest {
    /// Validate and build claims for key `kid` with token id `jti`.
    /// `max_ttl_secs` is the verifier's maximum lifetime: a link that the edge
    /// would refuse is refused here, at minting time.
    pub fn build(&self, kid: KeyId, jti: Jti, now: u64, max_ttl_secs: u64) -> Result<Claims, ClaimError> {
        let scope_text =
            if self.prefix && !self.path.ends_with('/') { format!("{}/", self.path) } else { self.path.clone() };
        if !self.prefix && scope_text.ends_with('/') {
            return Err(bad(Field::Scope, "ends with / (a folder): use a prefix link for folders"));
        }
        let scope = Scope::parse(&scope_text).map_err(|e| match e {
            PathError::NotNfc => bad(Field::Scope, "must be in Unicode NFC (é as U+00E9, not e + U+0301)"),
            _ => bad(Field::Scope, "must be an absolute path without empty, . or .. segments, control characters or backslashes, at most 1024 bytes"),
        })?;
        let whole = scope.as_str() == "/";
        if whole && !self.whole_bucket {
            return Err(bad(
                Field::Scope,
                "/ (or an empty folder) is a link to the whole bucket: refused unless asked for explicitly (--whole-bucket, admin API whole_bucket: true)",
            ));
        }
        if self.whole_bucket && !whole {
            return Err(bad(Field::Scope, "--whole-bucket (whole_bucket) is only for the prefix / (the whole bucket)"));
        }
        let iat = self.issued_at.unwrap_or(now);
        let exp = match self.expiry {
            Some(Expiry::Ttl(t)) => iat.checked_add(t).ok_or(bad(Field::Exp, "lifetime too large"))?,
            Some(Expiry::At(t)) => t,
            None => return Err(bad(Field::Exp, "a lifetime (ttl) or an expiry time is required")),
        };
        if exp <= iat {
            return Err(bad(Field::Exp, "must be after the issue time"));
        }
        if exp - iat > max_ttl_secs {
            return Err(bad(Field::Exp, "lifetime exceeds the configured maximum (LINKGATE_MAX_TTL_SECS)"));
        }
        let host = match &self.host {
            Some(h) => Some(HostName::parse(&h.to_ascii_lowercase())?),
            None => None,
        };
        let sub = self.sub.as_deref().map(|s| Label::parse(Field::Sub, s)).transpose()?;
        let tenant = self.tenant.as_deref().map(|s| Label::parse(Field::Tenant, s)).transpose()?;
        let mut ip = Vec::with_capacity(self.ip.len());
        for text in &self.ip {
            // The text form of §4.3, exactly: no whitespace, no leading zeros.
            let c = Cidr::parse(text).map_err(|e| match e {
                super::ip::CidrError::HostBitsSet => bad(Field::Ip, "a range has bits set below its prefix length"),
                super::ip::CidrError::BadPrefixLength => {
                    bad(Field::Ip, "a prefix length is 0-32 (IPv4) or 0-128 (IPv6), without leading zeros")
                }
                super::ip::CidrError::BadAddress => bad(
                    Field::Ip,
                    "each entry must be an IPv4 address (no leading zeros) or IPv6 address, optionally with /length",
                ),
            })?;
            if !ip.contains(&c) {
                ip.push(c);
            }
        }
        let uses = match self.uses {
            None => None,
            Some(n) => {
                let n = u32::try_from(n).map_err(|_| bad(Field::Uses, "must be at most 4294967295"))?;
                Some(NonZeroU32::new(n).ok_or(bad(Field::Uses, "must be at least 1"))?)
            }
        };
        let mode = match &self.mode {
            None => None,
            Some(m) => Some(Mode::parse(m).ok_or(bad(Field::Mode, "must be stream or redirect"))?),
        };
        // Checked here, at minting, rather than in FileName (which also
        // decodes): links already signed keep verifying.
        if self.filename.as_deref().is_some_and(|f| f.chars().any(super::text::is_hidden)) {
            return Err(bad(Field::Filename, "must not contain control or invisible formatting characters"));
        }
        let filename = self.filename.as_deref().map(FileName::parse).transpose()?;
        let content_type = self.content_type.as_deref().map(ContentType::parse).transpose()?;
        let claims = Claims {
            kid,
            jti,
            iat,
            exp,
            nbf: self.not_before,
            scope,
            host,
            sub,
            tenant,
            ip,
            uses,
            mode,
            filename,
            content_type,
        };
        claims.check()?;
        Ok(claims)
    }
}

/// Check the base URL of a link (`linkgate sign --base`) and return it as
/// `scheme://authority`. The base is a scheme (`https` or `http`) and a host
/// as the `host` claim's grammar has it, nothing more: the URL path of a
/// link is its scope, so a base path (`https://h/sub`) would make a link
/// outside its own scope. When the link is bound to a host the base must
/// name it.
pub fn link_base(text: &str, host: Option<&HostName>) -> Result<String, &'static str> {
    let (scheme, rest) = text.split_once("://").ok_or("must start with https:// or http://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err("must start with https:// or http://");
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '?', '#']) {
        return Err("must be scheme://host[:port] without a path, query or fragment: a link's URL path is its scope");
    }
    let authority = authority.to_ascii_lowercase();
    if HostName::parse(&authority).is_err() {
        return Err("must name a host: a DNS name, an IPv4 address or a bracketed IPv6 address, optionally with :port");
    }
    if host.is_some_and(|h| !h.matches(&authority)) {
        return Err("names another host than --host: the link would be refused there (host_mismatch)");
    }
    Ok(format!("{scheme}://{authority}"))
}

/// A signed link, as the CLI's `sign --json` and the JS package return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedLink {
    pub url: String,
    pub token: String,
    pub claims: Claims,
}

/// The base URL of a link when the caller names none: the signed host over
/// https, else the local `wrangler dev` address.
pub fn default_base(host: Option<&HostName>) -> String {
    match host {
        Some(h) => format!("https://{}", h.as_str()),
        None => "http://127.0.0.1:8787".to_owned(),
    }
}

/// Build, sign and format one link with `key`: the single minting path of
/// the CLI and the JS package, so both produce the same bytes for the same
/// inputs.
///
/// `nonce` is 24 fresh random bytes, used only when `req.sealed`: the core
/// draws no randomness, so its callers do (CLI and JS package: `getrandom`).
pub fn sign_link(
    req: &LinkRequest,
    key: &Key,
    jti: Jti,
    nonce: &[u8; NONCE_BYTES],
    now: u64,
    max_ttl_secs: u64,
    base: Option<&str>,
) -> Result<SignedLink, ClaimError> {
    let claims = req.build(key.kid().clone(), jti, now, max_ttl_secs)?;
    let token = if req.sealed { claims.seal(key, nonce)? } else { claims.sign(key)? };
    let url = match base {
        Some(b) => url_for(b, &claims.scope, &token, req.sealed),
        None => url_for(&default_base(claims.host.as_ref()), &claims.scope, &token, req.sealed),
    };
    Ok(SignedLink { url, token, claims })
}

/// The URL of a link whose token is `token`: path-less for a sealed token
/// (`base/_lg/<token>`, with a trailing `/` for a folder link, under which
/// clients put an object name; `docs/link-format.md` §17.7), so that no part
/// of the URL tells what it opens; `base/<scope>?lg=<token>` otherwise.
pub fn url_for(base: &str, scope: &Scope, token: &str, sealed: bool) -> String {
    if !sealed {
        return link_url(base, scope, token);
    }
    let base = base.trim_end_matches('/');
    let folder = if matches!(scope, Scope::Prefix(_)) { "/" } else { "" };
    format!("{base}/{}/{token}{folder}", super::gate::PATH_FORM_LINK)
}

/// The link URL for signed claims: `base` + encoded scope + `?lg=token`.
/// For a prefix link this is the folder URL; clients put an object name
/// after the folder and keep the query.
pub fn link_url(base: &str, scope: &Scope, token: &str) -> String {
    let base = base.trim_end_matches('/');
    let path = super::path::encode_path(scope.as_str());
    let mut url = String::with_capacity(base.len() + path.len() + 4 + token.len());
    for part in [base, &path, "?lg=", token] {
        url.push_str(part);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(path: &str) -> LinkRequest {
        LinkRequest { path: path.into(), expiry: Some(Expiry::Ttl(3600)), ..Default::default() }
    }

    fn kid() -> KeyId {
        KeyId::parse("k").unwrap()
    }

    #[test]
    fn builds_claims() {
        let mut r = req("/a/b.pdf");
        r.ip = vec!["10.0.0.0/8".into(), "10.0.0.0/8".into()];
        r.host = Some("Files.Example.com".into());
        r.uses = Some(1);
        let c = r.build(kid(), Jti([1; 16]), 1000, 86_400).unwrap();
        assert_eq!((c.iat, c.exp), (1000, 4600));
        assert_eq!(c.ip.len(), 1, "duplicates collapse");
        assert_eq!(c.host.unwrap().as_str(), "files.example.com");
        let mut r = req("/a");
        r.prefix = true;
        assert_eq!(r.build(kid(), Jti([1; 16]), 1000, 86_400).unwrap().scope.as_str(), "/a/");
    }

    #[test]
    fn refusals_name_the_field() {
        let cases: Vec<(LinkRequest, Field)> = vec![
            (req("a"), Field::Scope),
            (req("/a/"), Field::Scope),
            (req("/a/../b"), Field::Scope),
            (req("/e\u{301}.pdf"), Field::Scope),
            (LinkRequest { expiry: None, ..req("/a") }, Field::Exp),
            (LinkRequest { expiry: Some(Expiry::At(500)), ..req("/a") }, Field::Exp),
            (LinkRequest { expiry: Some(Expiry::Ttl(86_401)), ..req("/a") }, Field::Exp),
            (LinkRequest { sub: Some("alice@example.com".into()), ..req("/a") }, Field::Sub),
            (LinkRequest { ip: vec!["10.0.0.1/8".into()], ..req("/a") }, Field::Ip),
            (LinkRequest { ip: vec!["nope".into()], ..req("/a") }, Field::Ip),
            (LinkRequest { uses: Some(0), ..req("/a") }, Field::Uses),
            (LinkRequest { uses: Some(1 << 40), ..req("/a") }, Field::Uses),
            (LinkRequest { mode: Some("zip".into()), ..req("/a") }, Field::Mode),
            (LinkRequest { filename: Some("../x".into()), ..req("/a") }, Field::Filename),
            (LinkRequest { content_type: Some("x".into()), ..req("/a") }, Field::ContentType),
            (LinkRequest { not_before: Some(99_999), ..req("/a") }, Field::Nbf),
        ];
        for (r, field) in cases {
            assert_eq!(r.build(kid(), Jti([1; 16]), 1000, 86_400).unwrap_err().field, field, "{r:?}");
        }
    }

    /// A14: a signed filename is shown to the recipient; a bidi override
    /// turns `invoice\u{202E}fdp.exe` into "invoiceexe.pdf" on screen.
    #[test]
    fn filenames_refuse_invisible_characters() {
        for name in ["invoice\u{202e}fdp.exe", "a\u{2028}b", "a\u{200b}.pdf", "a\u{2066}b", "\u{feff}a", "a\u{85}b"] {
            let r = LinkRequest { filename: Some(name.into()), ..req("/a") };
            assert_eq!(r.build(kid(), Jti([1; 16]), 1000, 86_400).unwrap_err().field, Field::Filename, "{name:?}");
        }
        let r = LinkRequest { filename: Some("Quartalsbericht Q3 – vorläufig.pdf".into()), ..req("/a") };
        assert!(r.build(kid(), Jti([1; 16]), 1000, 86_400).is_ok());
    }

    /// A6: an empty or `/` prefix is every object in the bucket; it is never
    /// minted by accident.
    #[test]
    fn a_whole_bucket_prefix_needs_the_explicit_flag() {
        for path in ["", "/"] {
            let r = LinkRequest { prefix: true, ..req(path) };
            let e = r.build(kid(), Jti([1; 16]), 1000, 86_400).unwrap_err();
            assert_eq!(e.field, Field::Scope, "{path:?}");
            assert!(e.reason.contains("whole bucket"), "{path:?}: {}", e.reason);
            // With the flag: a link to every object.
            let r = LinkRequest { prefix: true, whole_bucket: true, ..req(path) };
            assert_eq!(r.build(kid(), Jti([1; 16]), 1000, 86_400).unwrap().scope.as_str(), "/");
        }
        // The flag is for the whole bucket only.
        for (path, prefix) in [("/a", true), ("/a/", true), ("/a.pdf", false), ("/", false)] {
            let r = LinkRequest { prefix, whole_bucket: true, ..req(path) };
            assert_eq!(r.build(kid(), Jti([1; 16]), 1000, 86_400).unwrap_err().field, Field::Scope, "{path}");
        }
    }

    #[test]
    fn a_scope_not_in_nfc_says_so() {
        let e = req("/board/e\u{301}.pdf").build(kid(), Jti([1; 16]), 1000, 86_400).unwrap_err();
        assert_eq!(e.field, Field::Scope);
        assert!(e.reason.contains("NFC"), "{}", e.reason);
        let mut r = req("/board/\u{e9}");
        r.prefix = true;
        assert_eq!(r.build(kid(), Jti([1; 16]), 1000, 86_400).unwrap().scope.as_str(), "/board/\u{e9}/");
    }

    #[test]
    fn bases() {
        let h = HostName::parse("files.example.com").unwrap();
        assert_eq!(link_base("https://files.example.com", None).unwrap(), "https://files.example.com");
        assert_eq!(link_base("HTTPS://Files.Example.com:8443/", Some(&h)).unwrap(), "https://files.example.com:8443");
        assert_eq!(link_base("http://127.0.0.1:8787", None).unwrap(), "http://127.0.0.1:8787");
        assert_eq!(link_base("https://[::1]:8443", None).unwrap(), "https://[::1]:8443");
        for bad in [
            "files.example.com",
            "ftp://files.example.com",
            "https://files.example.com/sub",
            "https://files.example.com/sub/",
            "https://files.example.com//",
            "https://files.example.com?x=1",
            "https://files.example.com#f",
            "https://user@files.example.com",
            "https://::1",
            "https://",
        ] {
            assert!(link_base(bad, None).is_err(), "{bad}");
        }
        assert!(link_base("https://cdn.example.com", Some(&h)).is_err(), "another host than the claim");
    }

    #[test]
    fn sign_link_signs_what_build_returns_and_picks_a_base() {
        let key = Key::new(kid(), &[7; 32]).unwrap();
        let mut r = req("/a b.pdf");
        let l = sign_link(&r, &key, Jti([2; 16]), &[0; 24], 1000, 86_400, Some("https://x.example/")).unwrap();
        assert_eq!(l.token, l.claims.sign(&key).unwrap());
        assert_eq!(l.url, format!("https://x.example/a%20b.pdf?lg={}", l.token));
        assert_eq!((l.claims.iat, l.claims.exp), (1000, 4600));
        r.host = Some("Files.Example.com".into());
        let l = sign_link(&r, &key, Jti([2; 16]), &[0; 24], 1000, 86_400, None).unwrap();
        assert!(l.url.starts_with("https://files.example.com/a%20b.pdf?lg="), "{}", l.url);
        r.host = None;
        let l = sign_link(&r, &key, Jti([2; 16]), &[0; 24], 1000, 86_400, None).unwrap();
        assert!(l.url.starts_with("http://127.0.0.1:8787/a%20b.pdf?lg="), "{}", l.url);
        let over = LinkRequest { expiry: Some(Expiry::Ttl(86_401)), ..req("/a") };
        assert_eq!(sign_link(&over, &key, Jti([2; 16]), &[0; 24], 1000, 86_400, None).unwrap_err().field, Field::Exp);
    }

    #[test]
    fn urls() {
        let s = Scope::parse("/a b/c.pdf").unwrap();
        assert_eq!(link_url("https://x.example/", &s, "TOK"), "https://x.example/a%20b/c.pdf?lg=TOK");
    }
}

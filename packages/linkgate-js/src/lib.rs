//! The JS signer (issue 15): linkgate's core behind a small boundary.
//!
//! Options cross the boundary packed ([`Packed`]: one string holding every
//! text value and one `Float64Array` of type tags and numbers, built by the
//! JavaScript wrapper `lib/api.mjs`), so a call costs two writes into wasm
//! memory instead of a `Reflect.get` and a string decode per option. Links
//! are signed in batches (`sign_many`; `sign` is a batch of one) through one
//! call buffer the wasm keeps (`Io`: the wrapper writes into it and reads
//! the answer from it), and come back as one string of URLs and jtis with
//! numbers that locate them ([`Signed::push_answer`]); everything else (and every
//! refusal) as one JSON string (`{"ok": ...}` or `{"error": {code, field,
//! message}}`) that the wrapper turns into values (with Dates) or a thrown
//! `LinkgateError`. The key ring is parsed once per `LINKGATE_KEYS` text
//! (`use_keys`). This keeps the glue tiny, keeps a JSON parser out of the
//! wasm, and leaves the API testable natively; only the exports and the
//! randomness are wasm-only.

#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::net::IpAddr;

use linkgate_core::duration::parse_duration;
use linkgate_core::ed25519::{signed_message, MAX_ED25519_PAYLOAD_BYTES};
use linkgate_core::gate::split_url;
use linkgate_core::inspect::{self as core_inspect, Facts as InspectFacts};
use linkgate_core::keys::{format_entry, KeyId, KeyRingError};
use linkgate_core::mint::{default_base, link_base, url_for, Expiry, LinkRequest};
use linkgate_core::sealed::AnyToken;
use linkgate_core::token::{ClaimError, ClaimJson, Field, HostName, Jti};
use linkgate_core::verify::{query_token, QueryToken, TimeRules};
#[cfg(test)]
use linkgate_core::UnverifiedToken;
use linkgate_core::{Claims, Code, KeyRing, Reason, Scope};

use linkgate_core::json;

use json::Raw;

/// The `code` of every refusal of caller input: the admin API's code for the
/// same mistakes (`linkgate mint` prints it), with `field` naming the option.
pub const INVALID_REQUEST: &str = "invalid_request";
/// The JS runtime gave no randomness (no `crypto.getRandomValues`).
pub const RANDOMNESS_UNAVAILABLE: &str = "randomness_unavailable";

/// A refusal of a call, thrown in JS as a `LinkgateError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub field: Option<String>,
    pub message: String,
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError { code: INVALID_REQUEST, field: Some(field.to_owned()), message: format!("{field}: {}", message.into()) }
}

/// The answer as the JS wrapper reads it.
pub fn respond(r: Result<Raw, ApiError>) -> String {
    match r {
        Ok(v) => json::object([("ok", v)]).into_string(),
        Err(e) => refusal(e, None),
    }
}

/// `{"error": {code, field, message}}`, and the refused link's `index` in
/// a batch (`sign` is a batch of one).
fn refusal(e: ApiError, index: Option<usize>) -> String {
    let mut members = vec![
        ("code", json::string(e.code)),
        ("field", json::opt_string(e.field.as_deref())),
        ("message", json::string(&e.message)),
    ];
    if let Some(i) = index {
        members.push(("index", json::num(i as u64)));
    }
    json::object([("error", json::object(members))]).into_string()
}

/// The key ring of a `LINKGATE_KEYS` text, or the refusal naming `keys`.
pub fn parse_keys(text: &str) -> Result<KeyRing, ApiError> {
    KeyRing::parse(text).map_err(|e: KeyRingError| invalid("keys", e.to_string()))
}

/// One option's value as the API reads it, whatever the caller's runtime
/// representation: a JS object on wasm (through `Reflect`, so no JSON parser
/// is linked into the wasm), a JSON value in the native tests. Text is
/// borrowed from the source: reading an option copies nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    /// `undefined` or `null`.
    Absent,
    Str(&'a str),
    Num(f64),
    Bool(bool),
    List(Vec<Val<'a>>),
    /// Anything else (an object, a function, a bigint...).
    Other,
}

/// A caller's options object.
pub trait Source {
    /// Its own enumerable member names.
    fn names(&self) -> Vec<String>;
    fn get(&self, name: &str) -> Val<'_>;
    /// A member whose name is not in `known`.
    fn unknown(&self, known: &[&str]) -> Option<String> {
        self.names().into_iter().find(|k| !known.contains(&k.as_str()))
    }
}

/// Type tags of [`Packed`] slots; `lib/api.mjs` writes the same numbers.
pub mod tag {
    /// Not given (`undefined`, or no such member).
    pub const NONE: f64 = 0.0;
    /// `null`: given, and known to be absent.
    pub const NULL: f64 = 1.0;
    /// A string: the slot's value is its length in UTF-16 code units.
    pub const STR: f64 = 2.0;
    pub const NUM: f64 = 3.0;
    /// A boolean: the value is 0 or 1.
    pub const BOOL: f64 = 4.0;
    /// An array (top level only): the value is its length, its items follow.
    pub const LIST: f64 = 5.0;
    /// Anything else (an object, a function, a bigint...).
    pub const OTHER: f64 = 6.0;
}

/// Options packed by the JavaScript wrapper, one slot per name of a fixed
/// list, in order: `slots` holds a (tag, value) pair per slot (a list's
/// items follow its own pair), `text` every string value, concatenated.
/// String lengths count UTF-16 code units, JavaScript's own length, so the
/// wrapper never measures UTF-8; a lone surrogate arrives as U+FFFD, which
/// is one unit too. Malformed packing (only possible by calling the wasm
/// export directly) is refused as `invalid_request`, never a panic.
#[derive(Debug, Clone, PartialEq)]
pub struct Packed<'t> {
    names: &'static [&'static str],
    /// Strings are slices of the packed text: decoding copies nothing.
    vals: Vec<(bool, Val<'t>)>,
    /// A member the caller gave whose name is not in `names`.
    unknown: Option<String>,
}

fn malformed() -> ApiError {
    ApiError { code: INVALID_REQUEST, field: None, message: "options: malformed packing".into() }
}

/// Reads packed options front to back: one [`Packed`] per call of
/// [`Reader::take`] (`signMany` packs the call's options, then each link's).
struct Reader<'t, 's> {
    rest: &'t str,
    pairs: core::slice::ChunksExact<'s, f64>,
    /// ASCII text (the usual case, checked a word at a time) has one
    /// UTF-16 unit per byte: no walk over its characters.
    ascii: bool,
}

impl<'t, 's> Reader<'t, 's> {
    fn new(text: &'t str, slots: &'s [f64]) -> Result<Self, ApiError> {
        if !slots.len().is_multiple_of(2) {
            return Err(malformed());
        }
        Ok(Reader { rest: text, pairs: slots.chunks_exact(2), ascii: text.is_ascii() })
    }

    fn pair(&mut self) -> Result<(f64, f64), ApiError> {
        match self.pairs.next() {
            Some(&[t, v]) => Ok((t, v)),
            _ => Err(malformed()),
        }
    }

    /// One value that is not a list.
    fn one(&mut self, t: f64, v: f64) -> Option<Val<'t>> {
        Some(match t {
            t if t == tag::NONE || t == tag::NULL => Val::Absent,
            t if t == tag::STR => {
                let end = if self.ascii {
                    usize::try_from(whole(v)?).ok()?
                } else {
                    let units = whole(v)?;
                    let mut counted = 0u64;
                    let mut end = 0usize;
                    for c in self.rest.chars() {
                        if counted >= units {
                            break;
                        }
                        counted = counted.checked_add(c.len_utf16() as u64)?;
                        end = end.checked_add(c.len_utf8())?;
                    }
                    if counted != units {
                        return None;
                    }
                    end
                };
                let (head, tail) = self.rest.split_at_checked(end)?;
                self.rest = tail;
                Val::Str(head)
            }
            t if t == tag::NUM => Val::Num(v),
            t if t == tag::BOOL => Val::Bool(v != 0.0),
            t if t == tag::OTHER => Val::Other,
            _ => return None,
        })
    }

    /// The next slot for each of `names`.
    /// `vals`: storage to reuse (a batch reads one link after another).
    fn take(
        &mut self,
        names: &'static [&'static str],
        unknown: Option<String>,
        mut vals: Vec<(bool, Val<'t>)>,
    ) -> Result<Packed<'t>, ApiError> {
        vals.clear();
        vals.reserve(names.len());
        for _ in names {
            let (t, v) = self.pair()?;
            let given = t != tag::NONE;
            let val = if t == tag::LIST {
                let n = whole(v).filter(|&n| n <= 4096).ok_or_else(malformed)?;
                let mut items = Vec::new();
                for _ in 0..n {
                    let (t, v) = self.pair()?;
                    items.push(if t == tag::LIST { Val::Other } else { self.one(t, v).ok_or_else(malformed)? });
                }
                Val::List(items)
            } else {
                self.one(t, v).ok_or_else(malformed)?
            };
            vals.push((given, val));
        }
        Ok(Packed { names, vals, unknown })
    }

    /// Nothing may be left over.
    fn finish(mut self) -> Result<(), ApiError> {
        if self.pairs.next().is_some() || !self.rest.is_empty() {
            return Err(malformed());
        }
        Ok(())
    }
}

impl<'t> Packed<'t> {
    pub fn decode(
        names: &'static [&'static str],
        text: &'t str,
        slots: &[f64],
        unknown: Option<String>,
    ) -> Result<Packed<'t>, ApiError> {
        let mut r = Reader::new(text, slots)?;
        let packed = r.take(names, unknown, Vec::new())?;
        r.finish()?;
        Ok(packed)
    }
}

impl Source for Packed<'_> {
    fn names(&self) -> Vec<String> {
        let given = self.names.iter().zip(&self.vals).filter(|(_, (g, _))| *g).map(|(n, _)| (*n).to_owned());
        self.unknown.iter().cloned().chain(given).collect()
    }

    fn get(&self, name: &str) -> Val<'_> {
        // The names asked for are the same literals as the packing's (one
        // constant after LTO): the address first, then length and first
        // byte before the comparison (at opt-level z a string comparison
        // is a call, and `sign` asks ~20 names of ~20).
        let here = |n: &&str| core::ptr::eq(n.as_ptr(), name.as_ptr()) && n.len() == name.len();
        let same = |n: &&str| n.len() == name.len() && n.as_bytes().first() == name.as_bytes().first() && *n == name;
        let at = self.names.iter().position(here).or_else(|| self.names.iter().position(same));
        at.and_then(|i| self.vals.get(i)).map_or(Val::Absent, |(_, v)| v.clone())
    }

    fn unknown(&self, known: &[&str]) -> Option<String> {
        // The wrapper found any member outside the packing; packed names
        // outside `known` count too (a packing larger than the call's list).
        // `sign` splits its packing into exactly the lists it checks: then
        // no name is compared.
        if core::ptr::eq(self.names, known) {
            return self.unknown.clone();
        }
        let given = self.names.iter().zip(&self.vals).filter(|(_, (g, _))| *g);
        self.unknown.clone().or_else(|| given.map(|(n, _)| *n).find(|n| !known.contains(n)).map(str::to_owned))
    }
}

/// Whole, non-negative seconds (or counts) from a JS number; JS numbers are
/// exact integers up to 2^53 - 1.
fn whole(f: f64) -> Option<u64> {
    (f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f <= 9_007_199_254_740_991.0).then_some(f as u64)
}

/// Options, refusing names the caller did not mean to send (a typo such as
/// `expires` must not mint a link without it).
struct Obj<'a> {
    src: &'a dyn Source,
}

impl<'a> Obj<'a> {
    fn new(src: &'a dyn Source, known: &[&str]) -> Result<Obj<'a>, ApiError> {
        if let Some(k) = src.unknown(known) {
            return Err(invalid(&k, "unknown option"));
        }
        Ok(Obj { src })
    }

    fn get(&self, name: &str) -> Val<'a> {
        self.src.get(name)
    }

    fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            Val::Absent => Ok(None),
            Val::Str(s) => Ok(Some(s.to_owned())),
            _ => Err(invalid(name, "must be a string")),
        }
    }

    fn seconds(&self, name: &str) -> Result<Option<u64>, ApiError> {
        match self.get(name) {
            Val::Absent => Ok(None),
            Val::Num(n) => whole(n).map(Some).ok_or_else(|| invalid(name, "must be a whole, non-negative number")),
            _ => Err(invalid(name, "must be a whole, non-negative number")),
        }
    }

    fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            Val::Absent => Ok(false),
            Val::Bool(b) => Ok(b),
            _ => Err(invalid(name, "must be true or false")),
        }
    }
}

/// A `LINKGATE_KEYS` entry for `kid` and a secret of 32 random bytes.
pub fn keygen(kid: &str, secret: &[u8; 32]) -> Result<Raw, ApiError> {
    let kid = KeyId::parse(kid).ok_or_else(|| invalid("kid", "must be 1-32 of A-Z a-z 0-9 _ -"))?;
    Ok(json::string(&format_entry(&kid, secret)))
}

/// The options of `sign`: a link's ([`LINK_OPTIONS`]), then the call's
/// ([`SIGN_OPTIONS`]: `base`, `maxTtlSecs`, `now`), each list in the order
/// [`Packed`] slots follow ([`sign_many_packed`] packs the call's first).
pub const SIGN_PACKING: &[&str] = &[
    "path",
    "prefix",
    "wholeBucket",
    "ttl",
    "exp",
    "nbf",
    "iat",
    "kid",
    "sub",
    "tenant",
    "ip",
    "host",
    "uses",
    "mode",
    "filename",
    "contentType",
    "sealed",
    "base",
    "maxTtlSecs",
    "now",
];

/// The options of a link.
pub const LINK_OPTIONS: &[&str] = SIGN_PACKING.split_at(SIGN_PACKING.len() - 3).0;
/// The call options of `sign`.
pub const SIGN_OPTIONS: &[&str] = SIGN_PACKING.split_at(SIGN_PACKING.len() - 3).1;

/// The facts `inspect` takes, in packing order.
pub const FACT_OPTIONS: &[&str] = &["path", "method", "host", "ip", "now", "skewSecs", "maxTtlSecs"];

/// A signed link as the JS API returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub url: String,
    pub token: String,
    /// Where the token ends in `url` (bytes).
    pub token_end: usize,
    pub jti: String,
    pub iat: u64,
    pub exp: u64,
}

impl Signed {
    pub fn to_json(&self) -> Raw {
        json::object([
            ("url", json::string(&self.url)),
            ("token", json::string(&self.token)),
            ("jti", json::string(&self.jti)),
            ("iat", json::num(self.iat)),
            ("exp", json::num(self.exp)),
        ])
    }

    /// `ok` and [`Signed::push_answer`]: the answer of a batch of one.
    pub fn to_answer(&self) -> (String, Vec<f64>) {
        let (mut text, mut nums) = (String::from("ok"), Vec::new());
        self.push_answer(&mut text, &mut nums);
        (text, nums)
    }

    /// How a signed link crosses back: its URL and its jti appended to
    /// `text`, and [`ANSWER_NUMBERS`] numbers to `nums`: the URL's and the
    /// jti's length and where the token is in the URL (start, length), all
    /// in UTF-16 units, then iat and exp. The wrapper slices the text by
    /// them, reading the numbers through a `Float64Array` view: no JSON, no
    /// line splitting and no number parsing in JavaScript on the hot path,
    /// and the token (a third of the answer) not copied out twice.
    pub fn push_answer(&self, text: &mut String, nums: &mut Vec<f64>) {
        let url = self.url.as_str();
        // Everything mint writes is ASCII (percent- and base64url-encoded,
        // a checked ASCII host): one unit per byte; counted otherwise.
        let units = |s: &str| (if s.is_ascii() { s.len() } else { s.encode_utf16().count() }) as f64;
        let start = url.get(..self.token_end.saturating_sub(self.token.len())).map_or(0.0, units);
        // iat and exp as JavaScript numbers: exact below 2^53, rounded to
        // the nearest above, as Number() of their decimal text would be.
        nums.extend([units(url), units(&self.jti), start, units(&self.token), self.iat as f64, self.exp as f64]);
        text.push_str(url);
        text.push_str(&self.jti);
    }
}

/// Numbers a signed link answers with ([`Signed::push_answer`]).
pub const ANSWER_NUMBERS: usize = 6;

/// The JS option a claim error is about.
fn option_of(field: Field, ttl_given: bool) -> &'static str {
    match field {
        Field::Scope => "path",
        Field::Exp if ttl_given => "ttl",
        Field::ContentType => "contentType",
        f => f.as_str(),
    }
}

/// Sign one link: `link` holds the link's options, `opts` `base`,
/// `maxTtlSecs` and `now` (the wrapper has turned Dates into seconds).
/// `nonce`: 24 fresh random bytes, used when `sealed` is set.
pub fn sign(
    ring: &KeyRing,
    link: &dyn Source,
    opts: &dyn Source,
    jti: [u8; 16],
    nonce: [u8; 24],
) -> Result<Signed, ApiError> {
    sign_with(Signer::Ring(ring), link, opts, jti, nonce)
}

/// Who signs: an HMAC key of the ring, or an Ed25519 private key held by the
/// JS runtime (docs/link-format.md §18). The wasm holds no curve code: for
/// Ed25519 the core encodes the payload and the wrapper signs it with
/// WebCrypto (`crypto.subtle.sign("Ed25519", …)`).
#[derive(Clone, Copy)]
pub enum Signer<'a> {
    Ring(&'a KeyRing),
    /// The private key's id.
    Ed25519(&'a str),
}

/// [`sign`] for either signer. For [`Signer::Ed25519`] the answer's `token`
/// is the base64url **message** to sign (`"linkgate-link-ed25519-v1\0" ||
/// payload`) and its `url` ends with `?lg=`: the wrapper appends the token
/// `0x03 || payload || signature`.
pub fn sign_with(
    signer: Signer<'_>,
    link: &dyn Source,
    opts: &dyn Source,
    jti: [u8; 16],
    nonce: [u8; 24],
) -> Result<Signed, ApiError> {
    let top = Obj::new(opts, SIGN_OPTIONS)?;
    let link = Obj::new(link, LINK_OPTIONS)?;
    let now = top.seconds("now")?.ok_or_else(|| invalid("now", "is required"))?;
    let max_ttl = top.seconds("maxTtlSecs")?.unwrap_or(TimeRules::default().max_ttl_secs);
    let base = top.string("base")?;

    let path = link.string("path")?.ok_or_else(|| invalid("path", "is required"))?;
    let ttl = match link.get("ttl") {
        Val::Absent => None,
        Val::Str(s) => Some(parse_duration(s).ok_or_else(|| invalid("ttl", "use seconds or e.g. 90s, 15m, 24h, 7d"))?),
        Val::Num(n) => {
            Some(whole(n).filter(|&s| s > 0).ok_or_else(|| invalid("ttl", "must be a positive number of seconds"))?)
        }
        _ => return Err(invalid("ttl", "must be seconds or a duration text")),
    };
    let expiry = match (ttl, link.seconds("exp")?) {
        (Some(t), None) => Expiry::Ttl(t),
        (None, Some(e)) => Expiry::At(e),
        (Some(_), Some(_)) => return Err(invalid("ttl", "give ttl or exp, not both")),
        (None, None) => return Err(invalid("ttl", "a lifetime (ttl) or an expiry time is required")),
    };
    let ip = match link.get("ip") {
        Val::Absent => Vec::new(),
        Val::Str(s) => vec![s.to_owned()],
        Val::List(items) => items
            .into_iter()
            .map(|i| match i {
                Val::Str(s) => Ok(s.to_owned()),
                _ => Err(invalid("ip", "must be a string or an array of strings")),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(invalid("ip", "must be a string or an array of strings")),
    };
    let req = LinkRequest {
        path,
        prefix: link.flag("prefix")?,
        whole_bucket: link.flag("wholeBucket")?,
        expiry: Some(expiry),
        not_before: link.seconds("nbf")?,
        issued_at: link.seconds("iat")?,
        host: link.string("host")?,
        sub: link.string("sub")?,
        tenant: link.string("tenant")?,
        ip,
        uses: link.seconds("uses")?,
        mode: link.string("mode")?,
        filename: link.string("filename")?,
        content_type: link.string("contentType")?,
        sealed: link.flag("sealed")?,
    };
    let kid = link.string("kid")?;
    // Build, sign, then the URL on the checked base: the CLI's steps, so
    // both mint the same bytes (and the URL is formatted once).
    let opt = |e: ClaimError| invalid(option_of(e.field, ttl.is_some()), e.reason);
    let (claims, token) = match signer {
        Signer::Ring(ring) => {
            let key = match &kid {
                Some(k) => {
                    ring.get(k).ok_or_else(|| invalid("kid", format!("no key with id \"{k}\" in the key ring")))?
                }
                None => ring.signing_key(),
            };
            let claims = req.build(key.kid().clone(), Jti(jti), now, max_ttl).map_err(opt)?;
            let token = if req.sealed { claims.seal(key, &nonce) } else { claims.sign(key) }.map_err(opt)?;
            (claims, token)
        }
        Signer::Ed25519(kid) => {
            // Short texts: the package's wasm is near its 60 KB budget.
            if req.sealed {
                return Err(invalid("sealed", "not with Ed25519"));
            }
            let kid = KeyId::parse(kid).ok_or_else(|| invalid("kid", "must be 1-32 of A-Z a-z 0-9 _ -"))?;
            let claims = req.build(kid, Jti(jti), now, max_ttl).map_err(opt)?;
            let payload = claims.encode_payload();
            if payload.len() > MAX_ED25519_PAYLOAD_BYTES {
                return Err(invalid("path", "claims too large for one token"));
            }
            (claims, linkgate_core::b64::encode(&signed_message(&payload)))
        }
    };
    // A base is scheme://host[:port] only, and names the bound host (the
    // CLI's --base rule, docs/link-format.md): a URL path would be outside
    // the link's scope.
    let base = match &base {
        Some(b) => checked_base(b, claims.host.as_ref()).map_err(|e| invalid("base", e))?,
        None => default_base(claims.host.as_ref()),
    };
    // For Ed25519 the message to sign stands where the token goes: the
    // wrapper replaces it with the token once WebCrypto has signed.
    let url = url_for(&base, &claims.scope, &token, req.sealed);
    // The token ends the URL, but for a sealed folder link's final `/`.
    let folder = req.sealed && matches!(claims.scope, Scope::Prefix(_));
    let token_end = url.len().saturating_sub(usize::from(folder));
    Ok(Signed { url, token, token_end, jti: claims.jti.to_hex(), iat: claims.iat, exp: claims.exp })
}

thread_local! {
    /// The last base that passed [`link_base`], with the host it was checked
    /// against, and the checked form: a signing loop passes the same base
    /// every time, and its host grammar was ~7 % of a link.
    static LAST_BASE: RefCell<Option<(String, Option<String>, String)>> = const { RefCell::new(None) };
}

/// [`link_base`], remembering the last base that passed.
fn checked_base(text: &str, host: Option<&HostName>) -> Result<String, &'static str> {
    let host_text = host.map(HostName::as_str);
    LAST_BASE.with(|c| {
        if let Ok(Some((t, h, checked))) = c.try_borrow().as_deref() {
            if t == text && h.as_deref() == host_text {
                return Ok(checked.clone());
            }
        }
        let checked = link_base(text, host)?;
        if let Ok(mut slot) = c.try_borrow_mut() {
            *slot = Some((text.to_owned(), host_text.map(str::to_owned), checked.clone()));
        }
        Ok(checked)
    })
}

/// A `signMany` refusal: which link (None: the packing, the keys or the
/// randomness, not a link), and why.
pub type ManyError = (Option<usize>, ApiError);

/// Sign `count` links packed by the wrapper's `signMany`: the call's
/// options once ([`SIGN_OPTIONS`]), then per link one slot for the name of
/// a member the wrapper found outside [`LINK_OPTIONS`] (a string, or not
/// given) and the link's options. One crossing into wasm and one answer
/// for the batch: `ok` and [`Signed::push_answer`] per link. Each link is
/// checked and signed exactly as [`sign`] does it, with its own `draw`n jti
/// (and nonce, `draw(true)`, for a sealed link); the first refused link
/// refuses the batch.
pub fn sign_many_packed(
    signer: Signer<'_>,
    text: &str,
    slots: &[f64],
    count: usize,
    draw: impl FnMut(bool) -> Result<([u8; 16], [u8; 24]), ApiError>,
) -> Result<(String, Vec<f64>), ManyError> {
    let (mut out, mut nums) = (String::new(), Vec::new());
    sign_many_into(signer, text, slots, count, draw, &mut out, &mut nums)?;
    Ok((out, nums))
}

/// [`sign_many_packed`] into `out` (cleared first): the wasm export keeps
/// one answer buffer across calls, so a call allocates no answer.
pub fn sign_many_into(
    signer: Signer<'_>,
    text: &str,
    slots: &[f64],
    count: usize,
    mut draw: impl FnMut(bool) -> Result<([u8; 16], [u8; 24]), ApiError>,
    out: &mut String,
    nums: &mut Vec<f64>,
) -> Result<(), ManyError> {
    let packing = |e| (None, e);
    let mut r = Reader::new(text, slots).map_err(packing)?;
    let top = r.take(SIGN_OPTIONS, None, Vec::new()).map_err(packing)?;
    let mut reuse = Vec::new();
    out.clear();
    nums.clear();
    out.push_str("ok");
    for i in 0..count {
        let (t, v) = r.pair().map_err(packing)?;
        let unknown = match r.one(t, v) {
            Some(Val::Absent) => None,
            Some(Val::Str(name)) => Some(name.to_owned()),
            _ => return Err((None, malformed())),
        };
        let link = r.take(LINK_OPTIONS, unknown, reuse).map_err(packing)?;
        // A nonce only for a link `sign` will seal (`sealed: true`, the
        // only value its flag takes as set): half the random bytes.
        let sealed = link.get("sealed") == Val::Bool(true);
        let (jti, nonce) = draw(sealed).map_err(|e| (Some(i), e))?;
        let signed = sign_with(signer, &link, &top, jti, nonce).map_err(|e| (Some(i), e))?;
        signed.push_answer(out, nums);
        reuse = link.vals;
    }
    r.finish().map_err(packing)
}

/// A batch's refusal as the wrapper reads it: [`respond`]'s error, with the
/// link's `index` when one link is at fault.
pub fn respond_many((index, e): ManyError) -> String {
    refusal(e, index)
}

/// What a link or bare token says: (token or None, raw path, host).
/// Err: the link has more than one `lg`.
type Split = (Option<String>, Option<String>, Option<String>);

fn split_link(input: &str) -> Result<Split, ()> {
    let input = input.trim();
    let Some(rest) = input.strip_prefix("https://").or_else(|| input.strip_prefix("http://")) else {
        return Ok(((!input.is_empty()).then(|| input.to_owned()), None, None));
    };
    // The edge's own URL splitting and query rules (docs/link-format.md §1).
    let (authority, path, query) = split_url(rest);
    let token = match query_token(query).map_err(|_| ())? {
        QueryToken::Link(t) if !t.is_empty() => Some(t.to_owned()),
        _ => None,
    };
    Ok((token, Some(path.to_owned()), Some(authority.to_owned())))
}

fn claims_json(c: &Claims) -> Raw {
    json::object(c.json_fields().into_iter().map(|(k, v)| {
        let v = match v {
            ClaimJson::Num(n) => json::num(n),
            ClaimJson::Text(t) => json::string(&t),
            ClaimJson::List(l) => json::array(l.iter().map(|i| json::string(i))),
        };
        (k, v)
    }))
}

/// An inspect answer: verdict, the refusal (code, status, reason) if any,
/// the checks made and skipped, the claims if decoded, whether the token is
/// sealed, and a sealed token's kid when its claims cannot be read.
fn verdict(
    verdict: &str,
    refusal: Option<(Code, &str)>,
    checked: &[&str],
    skipped: Option<Raw>,
    claims: Option<&Claims>,
    sealed: bool,
    sealed_kid: Option<&str>,
) -> Raw {
    let mut members = vec![
        ("verdict", json::string(verdict)),
        ("code", json::opt_string(refusal.map(|(c, _)| c.as_str()))),
        ("status", refusal.map_or_else(json::null, |(c, _)| json::num(u64::from(c.status())))),
        ("reason", json::opt_string(refusal.map(|(_, r)| r))),
        ("checked", json::array(checked.iter().map(|c| json::string(c)))),
        ("claims", claims.map_or_else(json::null, claims_json)),
    ];
    if let Some(s) = skipped {
        members.push(("skipped", s));
    }
    members.push(("sealed", json::boolean(sealed)));
    if let Some(kid) = sealed_kid {
        members.push(("kid", json::string(kid)));
    }
    json::object(members)
}

/// Inspect a link or token with the core's `inspect` (the same steps as
/// `linkgate inspect` and the edge, docs/link-format.md §9). Without keys:
/// decode only (`unverified`). With keys: every check whose fact is known
/// (`path`, `method`, `host`, `ip`, from `facts` or the link's URL); the
/// others are listed in `skipped`. A fact given as null is known to be
/// absent (no Host header, no address), one not given at all is unknown.
pub fn inspect(input: &str, ring: Option<&KeyRing>, facts: &dyn Source) -> Result<Raw, ApiError> {
    let f = Obj::new(facts, FACT_OPTIONS)?;
    let now = f.seconds("now")?.ok_or_else(|| invalid("now", "is required"))?;
    let defaults = TimeRules::default();
    let rules = TimeRules {
        skew_secs: f.seconds("skewSecs")?.unwrap_or(defaults.skew_secs),
        max_ttl_secs: f.seconds("maxTtlSecs")?.unwrap_or(defaults.max_ttl_secs),
    };
    let given = f.src.names();
    let has = |name: &str| given.iter().any(|n| n == name);
    // Known absent is the empty text, which is no host and no address.
    let known = |name: &str| -> Result<Option<String>, ApiError> {
        Ok(if has(name) { Some(f.string(name)?.unwrap_or_default()) } else { None })
    };
    let ip = known("ip")?;
    if let Some(t) = ip.as_deref().filter(|t| !t.is_empty()) {
        t.parse::<IpAddr>().map_err(|_| invalid("ip", "is not an IP address"))?;
    }
    let method = f.string("method")?;
    // A path-less link (sealed, `/_lg/<token>`) is read as the request it
    // stands for, as the edge reads it (docs/link-format.md §17.7).
    let expanded = linkgate_core::gate::expand_path_form(ring, input.trim());
    let (token, url_path, url_host) = match split_link(expanded.as_deref().unwrap_or(input)) {
        Ok((token, path, host)) => (Ok(token.unwrap_or_default()), path, host),
        Err(()) => (Err(Reason::DuplicateToken), None, None),
    };
    let path = f.string("path")?.or(url_path);
    let host = known("host")?.or(url_host);
    let facts = InspectFacts {
        token: token.as_ref().map(String::as_str).map_err(|r| *r),
        raw_path: path.as_deref(),
        host: host.as_deref(),
        client_ip: ip.as_deref(),
        method: method.as_deref(),
        now,
    };
    let Some(ring) = ring else {
        return Ok(match core_inspect::decode(&facts) {
            Ok(AnyToken::Plain(t)) => verdict("unverified", None, &[], None, Some(t.claims_unverified()), false, None),
            Ok(AnyToken::Ed25519(t)) => {
                verdict("unverified", None, &[], None, Some(t.claims_unverified()), false, None)
            }
            // Nothing but the key id can be read without the key.
            Ok(AnyToken::Sealed(t)) => verdict("unverified", None, &[], None, None, true, Some(t.kid().as_str())),
            Err(reason) => verdict(
                "refused",
                Some((reason.code().unwrap_or(Code::TokenMalformed), reason.as_str())),
                &[],
                None,
                None,
                false,
                None,
            ),
        });
    };
    let ins = core_inspect::inspect(ring, &rules, &facts);
    let skipped = json::array(
        ins.skipped.iter().map(|s| json::object([("check", json::string(s.check)), ("needs", json::string(s.needs))])),
    );
    Ok(match (ins.code, &ins.claims) {
        (None, Some(c)) => verdict("valid", None, &ins.checked, Some(skipped), Some(c), ins.sealed, None),
        (code, claims) => verdict(
            "refused",
            Some((code.unwrap_or(Code::SignatureInvalid), ins.reason.map_or("", Reason::as_str))),
            &ins.checked,
            Some(skipped),
            claims.as_ref(),
            ins.sealed,
            None,
        ),
    })
}

/// The exports, wasm32 only: options packed by `lib/api.mjs` ([`Packed`]),
/// the key ring held between calls, randomness from the JS runtime's
/// `crypto.getRandomValues` (getrandom's `wasm_js` backend).
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod bindings {
    use wasm_bindgen::prelude::wasm_bindgen;

    use linkgate_core::KeyRing;

    use super::{respond, ApiError, Packed, RefCell, FACT_OPTIONS, LINK_OPTIONS, RANDOMNESS_UNAVAILABLE, SIGN_OPTIONS};

    thread_local! {
        /// The ring of the last `use_keys` text: the wrapper calls
        /// `use_keys` only when the caller's LINKGATE_KEYS text changes, so
        /// a signing loop neither copies nor parses it again.
        static RING: RefCell<Option<KeyRing>> = const { RefCell::new(None) };
        /// Random bytes from crypto.getRandomValues, 4 KiB at a time: a call
        /// costs node ~3 µs whatever the size, and a link draws 40 bytes
        /// (jti and nonce), so a call per ~100 links, not per link.
        static POOL: RefCell<Pool> = const { RefCell::new(Pool { bytes: [0; POOL_BYTES], left: 0 }) };
    }

    /// Every option's name and the packing order, for the wrapper:
    /// `link|sign|facts`, each comma-separated (one list, in Rust).
    #[wasm_bindgen]
    pub fn option_names() -> String {
        let mut out = String::new();
        for (i, list) in [LINK_OPTIONS, SIGN_OPTIONS, FACT_OPTIONS].into_iter().enumerate() {
            for (j, name) in list.iter().enumerate() {
                out.push_str(if j > 0 {
                    ","
                } else if i > 0 {
                    "|"
                } else {
                    ""
                });
                out.push_str(name);
            }
        }
        out
    }

    /// Parse and keep a key ring: `""`, or `{"error": ...}` (the ring kept
    /// before stays).
    #[wasm_bindgen]
    pub fn use_keys(text: &str) -> String {
        match super::parse_keys(text) {
            Ok(ring) => {
                RING.with(|c| c.replace(Some(ring)));
                String::new()
            }
            Err(e) => respond(Err(e)),
        }
    }

    fn with_ring<T>(f: impl FnOnce(&KeyRing) -> Result<T, ApiError>) -> Result<T, ApiError> {
        RING.with(|c| match c.try_borrow().as_deref() {
            Ok(Some(ring)) => f(ring),
            _ => Err(super::invalid("keys", "no key ring: call use_keys")),
        })
    }

    const POOL_BYTES: usize = 4096;

    /// The last `left` bytes have not been handed out yet (all zero at
    /// first, so the pool takes no space in the wasm file).
    struct Pool {
        bytes: [u8; POOL_BYTES],
        left: usize,
    }

    /// `N` bytes of the JS runtime's CSPRNG. Drawing from a pool is as
    /// random as a call per link: each byte is handed out once and then
    /// zeroed in the pool, and the pool is refilled in full from
    /// crypto.getRandomValues when it runs short (the bytes are only
    /// buffered in this isolate's own memory, which holds the keys too).
    fn random<const N: usize>() -> Result<[u8; N], ApiError> {
        POOL.with(|c| {
            let mut pool = c.try_borrow_mut().map_err(|_| unavailable("busy"))?;
            let Pool { bytes, left } = &mut *pool;
            if *left < N {
                getrandom::fill(bytes).map_err(|e| unavailable(&e.to_string()))?;
                *left = bytes.len();
            }
            let at = bytes.len().saturating_sub(*left);
            let drawn = bytes.get_mut(at..at.saturating_add(N)).ok_or_else(|| unavailable("short read"))?;
            let out = <[u8; N]>::try_from(&*drawn).map_err(|_| unavailable("short read"))?;
            drawn.fill(0);
            *left = left.saturating_sub(N);
            Ok(out)
        })
    }

    fn unavailable(why: &str) -> ApiError {
        ApiError {
            code: RANDOMNESS_UNAVAILABLE,
            field: None,
            message: format!("no randomness from the JS runtime: {why}"),
        }
    }

    /// `{"ok": "kid:key"}` or `{"error": ...}`.
    #[wasm_bindgen]
    pub fn keygen(kid: &str) -> String {
        respond(random().and_then(|s| super::keygen(kid, &s)))
    }

    /// The call buffer of `sign_many`: lib/api.mjs writes a batch's packed
    /// text (`TextEncoder.encodeInto`) and slots (a `Float64Array` view)
    /// straight into wasm memory, and reads the answer from `out` there. No
    /// allocation, copy or free per call by wasm-bindgen's glue (about a
    /// microsecond a call, an eighth of `sign`); docs/performance.md.
    struct Io {
        text: Vec<u8>,
        slots: Vec<f64>,
        out: String,
        /// The answer's numbers ([`super::Signed::push_answer`]).
        nums: Vec<f64>,
    }

    thread_local! {
        static IO: RefCell<Io> = const {
            RefCell::new(Io { text: Vec::new(), slots: Vec::new(), out: String::new(), nums: Vec::new() })
        };
    }

    /// Room for `text_bytes` bytes of text and `slots` slots: where they go,
    /// `[text, slots]` (byte addresses in wasm memory). The wrapper calls it
    /// only when a batch outgrows the room it has, and re-reads the memory's
    /// buffer after it (growing memory replaces it).
    #[wasm_bindgen]
    pub fn io_reserve(text_bytes: u32, slots: u32) -> Vec<u32> {
        let grow = |n: u32| usize::try_from(n).unwrap_or(0);
        IO.with(|c| match c.try_borrow_mut() {
            Ok(mut io) => {
                io.text.resize(grow(text_bytes), 0);
                io.slots.resize(grow(slots), 0.0);
                // wasm32: addresses are 32-bit.
                vec![io.text.as_ptr() as usize as u32, io.slots.as_ptr() as usize as u32]
            }
            Err(_) => vec![0, 0],
        })
    }

    /// The wasm memory, for the wrapper's views of the call buffer.
    #[wasm_bindgen]
    pub fn io_memory() -> wasm_bindgen::JsValue {
        wasm_bindgen::memory()
    }

    /// `count` links packed by `sign` (a batch of one) or `signMany` (see
    /// [`super::sign_many_packed`]), read from the call buffer
    /// (`text_bytes` bytes of UTF-8 text, `slots` slots, written there by the
    /// wrapper after [`io_reserve`]). The answer goes to the buffer's `out`:
    /// `ok` and per link its URL and jti, with their numbers in `nums`
    /// ([`super::Signed::push_answer`]), or `{"error": {..., index}}`; the
    /// return value is its length in bytes, [`io_out`] and [`io_nums`] the
    /// addresses. With `ed25519_kid`, for an Ed25519 private key of that id
    /// instead of the ring (`signEd25519`): the URL then holds the base64url
    /// message to sign where the token goes, and the wrapper puts the token
    /// there once WebCrypto has signed. One export for both keeps the wasm
    /// small. The buffer keeps the last batch (as freed memory would): it
    /// lives in the isolate's own wasm memory, which holds the keys anyway.
    #[wasm_bindgen]
    pub fn sign_many(text_bytes: u32, slots: u32, count: u32, ed25519_kid: Option<String>) -> u32 {
        let draw = |sealed| random().and_then(|jti| Ok((jti, if sealed { random()? } else { [0; 24] })));
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        IO.with(|c| {
            let Ok(mut io) = c.try_borrow_mut() else { return 0 };
            let Io { text, slots: all, out, nums } = &mut *io;
            let text = text.get(..usize::try_from(text_bytes).unwrap_or(usize::MAX)).map(core::str::from_utf8);
            let slots = all.get(..usize::try_from(slots).unwrap_or(usize::MAX));
            let signed = match (text, slots) {
                (Some(Ok(text)), Some(slots)) => match &ed25519_kid {
                    Some(kid) => {
                        super::sign_many_into(super::Signer::Ed25519(kid), text, slots, count, draw, out, nums)
                    }
                    None => with_ring(|ring| {
                        Ok(super::sign_many_into(super::Signer::Ring(ring), text, slots, count, draw, out, nums))
                    })
                    .unwrap_or_else(|e| Err((None, e))),
                },
                _ => Err((None, super::malformed())),
            };
            if let Err(e) = signed {
                *out = super::respond_many(e);
            }
            u32::try_from(out.len()).unwrap_or(0)
        })
    }

    /// Where [`sign_many`]'s answer is (a byte address in wasm memory).
    #[wasm_bindgen]
    pub fn io_out() -> u32 {
        IO.with(|c| c.try_borrow().map_or(0, |io| io.out.as_ptr() as usize as u32))
    }

    /// Where [`sign_many`]'s answer numbers are (a byte address, 8-aligned):
    /// [`super::ANSWER_NUMBERS`] a link.
    #[wasm_bindgen]
    pub fn io_nums() -> u32 {
        IO.with(|c| c.try_borrow().map_or(0, |io| io.nums.as_ptr() as usize as u32))
    }

    /// `{"ok": {verdict, code, status, reason, checked, skipped, claims}}`
    /// or `{"error": ...}`; `keyed`: verify with the ring of `use_keys`.
    #[wasm_bindgen]
    pub fn inspect(input: &str, keyed: bool, text: &str, slots: &[f64], unknown: Option<String>) -> String {
        respond(Packed::decode(FACT_OPTIONS, text, slots, unknown).and_then(|facts| {
            if keyed {
                with_ring(|ring| super::inspect(input, Some(ring), &facts))
            } else {
                super::inspect(input, None, &facts)
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// A written answer, read back.
    fn parsed(r: Raw) -> Value {
        serde_json::from_str(r.as_str()).unwrap()
    }

    const KEYS: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

    /// Options as JSON, standing in for the JS object of the wasm build.
    struct J(Value);

    fn val(v: &Value) -> Val<'_> {
        match v {
            Value::Null => Val::Absent,
            Value::String(s) => Val::Str(s),
            Value::Number(n) => Val::Num(n.as_f64().unwrap()),
            Value::Bool(b) => Val::Bool(*b),
            Value::Array(a) => Val::List(a.iter().map(val).collect()),
            Value::Object(_) => Val::Other,
        }
    }

    impl Source for J {
        fn names(&self) -> Vec<String> {
            self.0.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
        }
        fn get(&self, name: &str) -> Val<'_> {
            self.0.get(name).map(val).unwrap_or(Val::Absent)
        }
    }

    fn facts(text: &str) -> J {
        J(serde_json::from_str(text).unwrap())
    }

    fn sign_ok(opts: Value) -> Value {
        let ring = parse_keys(KEYS).unwrap();
        parsed(
            sign(&ring, &J(opts), &J(json!({ "base": "https://f.example", "now": 1000 })), [3; 16], [4; 24])
                .unwrap()
                .to_json(),
        )
    }

    fn sign_err(opts: Value, keys: &str) -> ApiError {
        parse_keys(keys)
            .and_then(|ring| sign(&ring, &J(opts), &J(json!({ "now": 1000 })), [3; 16], [4; 24]))
            .unwrap_err()
    }

    /// `inspect` with the ring of a keys text.
    fn ins(input: &str, keys: Option<&str>, facts: &dyn Source) -> Result<Value, ApiError> {
        let ring = keys.map(|k| parse_keys(k).unwrap());
        inspect(input, ring.as_ref(), facts).map(parsed)
    }

    #[test]
    fn signs_and_inspects_its_own_links() {
        let s = sign_ok(
            json!({ "path": "/a b.pdf", "ttl": "1h", "sub": "u1", "ip": "10.0.0.0/8", "contentType": "text/csv" }),
        );
        assert_eq!(s["exp"], 4600);
        assert_eq!(s["jti"], "03".repeat(16));
        let url = s["url"].as_str().unwrap();
        assert!(url.starts_with("https://f.example/a%20b.pdf?lg="), "{url}");
        let v = ins(url, Some(KEYS), &facts(r#"{"now": 1001, "host": "f.example"}"#)).unwrap();
        assert_eq!(v["verdict"], "valid", "{v}");
        assert_eq!(v["claims"]["sub"], "u1");
        // The link binds no host: nothing to check there. Its ip binding and
        // the method need facts not given: skipped, and said so.
        assert_eq!(v["checked"], json!(["signature", "time", "scope"]));
        assert_eq!(
            v["skipped"],
            json!([{ "check": "ip", "needs": "client_ip" }, { "check": "method", "needs": "method" }])
        );
        let v = ins(url, Some(KEYS), &facts(r#"{"now": 4600}"#)).unwrap();
        assert_eq!(v["code"], "expired", "{v}");
        let v = ins(url, Some(KEYS), &facts(r#"{"now": 1001, "ip": "192.0.2.1"}"#)).unwrap();
        assert_eq!(v["code"], "ip_mismatch", "{v}");
        let v = ins(s["token"].as_str().unwrap(), None, &facts(r#"{"now": 1}"#)).unwrap();
        assert_eq!(v["verdict"], "unverified");
    }

    #[test]
    fn folder_links_check_signature_and_time_without_a_path() {
        let s = sign_ok(json!({ "path": "/f", "prefix": true, "exp": 2000 }));
        let url = s["url"].as_str().unwrap();
        let v = ins(url, Some(KEYS), &facts(r#"{"now": 1500}"#)).unwrap();
        assert_eq!((v["verdict"].as_str(), v["claims"]["scope"].as_str()), (Some("valid"), Some("/f/")), "{v}");
        let other = "k1:ISEhISEhISEhISEhISEhISEhISEhISEhISEhISEhISE";
        assert_eq!(ins(url, Some(other), &facts(r#"{"now": 1500}"#)).unwrap()["code"], "signature_invalid");
        let v = ins(url, Some(KEYS), &facts(r#"{"now": 1500, "path": "/g/x"}"#)).unwrap();
        assert_eq!(v["code"], "scope_mismatch", "{v}");
    }

    #[test]
    fn refusals_name_the_option() {
        let cases = [
            (json!({ "path": "/a/../b", "ttl": 60 }), "path"),
            (json!({ "path": "/a", "ttl": 700_000 }), "ttl"),
            (json!({ "path": "/a", "exp": 999 }), "exp"),
            (json!({ "path": "/a" }), "ttl"),
            (json!({ "path": "/a", "ttl": 60, "exp": 99 }), "ttl"),
            (json!({ "path": "/a", "ttl": -1 }), "ttl"),
            (json!({ "path": "/a", "ttl": 1.5 }), "ttl"),
            (json!({ "path": "/a", "exp": 1e300 }), "exp"),
            (json!({ "path": "/a", "ttl": 60, "uses": true }), "uses"),
            (json!({ "path": "/a", "ttl": 60, "contentType": "x" }), "contentType"),
            (json!({ "path": "/a", "ttl": 60, "expires": 5 }), "expires"),
            (json!({ "path": "/a", "ttl": 60, "sealed": 1 }), "sealed"),
            (json!({ "path": "/a", "ttl": 60, "kid": "nope" }), "kid"),
            (json!({ "path": "/a", "ttl": 60, "ip": [1] }), "ip"),
            (json!({ "ttl": 60 }), "path"),
        ];
        for (opts, field) in cases {
            let e = sign_err(opts.clone(), KEYS);
            assert_eq!((e.code, e.field.as_deref()), (INVALID_REQUEST, Some(field)), "{opts}: {e:?}");
        }
        for keys in ["", "k1", "k1:short", "bad kid:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"] {
            let e = sign_err(json!({ "path": "/a", "ttl": 60 }), keys);
            assert_eq!(e.field.as_deref(), Some("keys"), "{keys}");
        }
        assert_eq!(keygen("bad kid", &[0; 32]).unwrap_err().field.as_deref(), Some("kid"));
        assert_eq!(parsed(keygen("k", &[0; 32]).unwrap()), json!("k:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    }

    #[test]
    fn inspect_reports_missing_and_damaged_tokens() {
        let v = ins("https://f.example/a.pdf", Some(KEYS), &facts(r#"{"now": 1}"#)).unwrap();
        assert_eq!(v["code"], "token_missing");
        let v = ins("https://f.example/a/../b?lg=x", Some(KEYS), &facts(r#"{"now": 1}"#)).unwrap();
        assert_eq!(v["code"], "path_invalid");
        let v = ins("https://f.example/a?lg=x&lg=y", Some(KEYS), &facts(r#"{"now": 1}"#)).unwrap();
        assert_eq!(v["code"], "token_malformed");
        let v = ins("AAAA", None, &facts(r#"{"now": 1}"#)).unwrap();
        assert_eq!(v["code"], "token_malformed");
        assert_eq!(ins("x", None, &facts(r#"{"now": 1, "ip": "nope"}"#)).unwrap_err().field.as_deref(), Some("ip"));
        assert_eq!(ins("x", None, &facts(r#"{"now": 1, "pth": "/a"}"#)).unwrap_err().field.as_deref(), Some("pth"));
    }

    /// The answer's numbers locate the URL, the jti and the token in the URL
    /// (plain and sealed, file and folder links): the wrapper cuts them out
    /// there.
    #[test]
    fn answer_numbers_locate_url_jti_and_token() {
        let ring = parse_keys(KEYS).unwrap();
        let top = J(json!({ "base": "https://f.example", "now": 1000 }));
        for link in [
            json!({ "path": "/a b.pdf", "ttl": 60 }),
            json!({ "path": "/r/", "prefix": true, "ttl": 60 }),
            json!({ "path": "/a", "ttl": 60, "sealed": true }),
            json!({ "path": "/r", "prefix": true, "ttl": 60, "sealed": true }),
        ] {
            let s = sign(&ring, &J(link.clone()), &top, [3; 16], [4; 24]).unwrap();
            let (text, n) = s.to_answer();
            assert_eq!(n.len(), ANSWER_NUMBERS);
            let [url_len, jti_len, at, len] = [n[0], n[1], n[2], n[3]].map(|x| x as usize);
            assert_eq!(text, format!("ok{}{}", s.url, s.jti), "{link}");
            assert_eq!(
                (&text[2..2 + url_len], &text[2 + url_len..2 + url_len + jti_len]),
                (s.url.as_str(), s.jti.as_str())
            );
            assert_eq!(&s.url[at..at + len], s.token, "{link}");
            assert_eq!((n[4], n[5]), (s.iat as f64, s.exp as f64), "{link}");
        }
    }

    #[test]
    fn numbers_must_be_whole_and_exact() {
        assert_eq!(whole(3.0), Some(3));
        assert_eq!(whole(9_007_199_254_740_991.0), Some(9_007_199_254_740_991));
        for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, 9_007_199_254_740_992.0] {
            assert_eq!(whole(bad), None, "{bad}");
        }
    }

    #[test]
    fn answers_are_json_envelopes() {
        let ok: Value = serde_json::from_str(&respond(Ok(json::num(1)))).unwrap();
        assert_eq!(ok, json!({ "ok": 1 }));
        let err: Value = serde_json::from_str(&respond(Err(invalid("path", "bad")))).unwrap();
        assert_eq!(err, json!({ "error": { "code": "invalid_request", "field": "path", "message": "path: bad" } }));
    }

    /// What `lib/api.mjs` does, in Rust: one slot per name, strings
    /// measured in UTF-16 units, arrays only at the top level.
    fn pack(v: &Value, names: &[&str]) -> (String, Vec<f64>, Option<String>) {
        fn put(v: Option<&Value>, top: bool, text: &mut String, slots: &mut Vec<f64>) {
            match v {
                None => slots.extend([tag::NONE, 0.0]),
                Some(Value::Null) => slots.extend([tag::NULL, 0.0]),
                Some(Value::String(s)) => {
                    slots.extend([tag::STR, s.encode_utf16().count() as f64]);
                    text.push_str(s);
                }
                Some(Value::Number(n)) => slots.extend([tag::NUM, n.as_f64().unwrap()]),
                Some(Value::Bool(b)) => slots.extend([tag::BOOL, f64::from(u8::from(*b))]),
                Some(Value::Array(a)) if top => {
                    slots.extend([tag::LIST, a.len() as f64]);
                    a.iter().for_each(|i| put(Some(i), false, text, slots));
                }
                Some(_) => slots.extend([tag::OTHER, 0.0]),
            }
        }
        let (mut text, mut slots) = (String::new(), Vec::new());
        names.iter().for_each(|n| put(v.get(n), true, &mut text, &mut slots));
        let unknown = v.as_object().and_then(|o| o.keys().find(|k| !names.contains(&k.as_str())).cloned());
        (text, slots, unknown)
    }

    /// Every sign case through both sources: the packed one (the wasm
    /// path) answers exactly as the object one (what the rules are written
    /// against), refusals included.
    #[test]
    fn packed_options_answer_as_the_object_does() {
        let ring = parse_keys(KEYS).unwrap();
        let top = json!({ "base": "https://f.example", "now": 1000 });
        let cases = [
            json!({ "path": "/a b.pdf", "ttl": "1h", "sub": "u1", "ip": "10.0.0.0/8", "contentType": "text/csv" }),
            json!({ "path": "/r", "prefix": true, "exp": 4000, "nbf": 1005, "iat": 1000, "tenant": "t",
                    "ip": ["10.0.0.0/8", "2001:db8::/32"], "uses": 2, "host": "F.example", "mode": "redirect",
                    "filename": "Bericht – Q3 😀.pdf", "kid": "k1", "wholeBucket": false, "sealed": false }),
            json!({ "path": "/ä/😀/\u{fffd}.txt", "ttl": 60, "sub": null }),
            json!({ "path": "/a/../b", "ttl": 60 }),
            json!({ "path": "/a", "ttl": 700_000 }),
            json!({ "path": "/a", "ttl": 60, "exp": 99 }),
            json!({ "path": "/a", "ttl": 1.5 }),
            json!({ "path": "/a", "ttl": 60, "uses": true }),
            json!({ "path": "/a", "ttl": 60, "expires": 5 }),
            json!({ "path": "/a", "ttl": 60, "ip": [1] }),
            json!({ "path": "/a", "ttl": 60, "ip": [["10.0.0.0/8"]] }),
            json!({ "path": "/a", "ttl": 60, "ip": {} }),
            json!({ "path": "/a", "ttl": 60, "sub": "" }),
            json!({ "ttl": 60 }),
            json!({ "path": 7, "ttl": 60 }),
        ];
        for link in cases {
            let object = sign(&ring, &J(link.clone()), &J(top.clone()), [3; 16], [4; 24]);
            let (text, slots) = pack_many(&top, std::slice::from_ref(&link));
            let packed = sign_many_packed(Signer::Ring(&ring), &text, &slots, 1, |_| Ok(([3; 16], [4; 24])));
            let object = object.map(|s| s.to_answer()).map_err(|e| (Some(0), e));
            assert_eq!(packed, object, "{link}");
        }
        let facts = json!({ "now": 1001, "host": null, "path": "/a b.pdf" });
        let url = sign_ok(json!({ "path": "/a b.pdf", "ttl": 60 }))["url"].as_str().unwrap().to_owned();
        let (text, slots, unknown) = pack(&facts, FACT_OPTIONS);
        let packed = Packed::decode(FACT_OPTIONS, &text, &slots, unknown).unwrap();
        assert_eq!(inspect(&url, Some(&ring), &packed), inspect(&url, Some(&ring), &J(facts)));
    }

    /// What `signMany` in `lib/api.mjs` packs: the call's options, then
    /// per link its unknown member's name (or nothing) and its options.
    fn pack_many(top: &Value, links: &[Value]) -> (String, Vec<f64>) {
        let (mut text, mut slots, _) = pack(top, SIGN_OPTIONS);
        for link in links {
            let (t, s, unknown) = pack(link, LINK_OPTIONS);
            match unknown {
                Some(u) => {
                    slots.extend([tag::STR, u.encode_utf16().count() as f64]);
                    text.push_str(&u);
                }
                None => slots.extend([tag::NONE, 0.0]),
            }
            text.push_str(&t);
            slots.extend(s);
        }
        (text, slots)
    }

    /// A batch answers, link by link, exactly what `sign` answers for each
    /// (same jti and nonce drawn); the first refused link refuses the
    /// batch, by index; a malformed batch is refused without an index.
    #[test]
    fn sign_many_answers_as_sign_does_for_each_link() {
        let ring = parse_keys(KEYS).unwrap();
        let top = json!({ "base": "https://f.example", "now": 1000 });
        let links = [
            json!({ "path": "/a b.pdf", "ttl": "1h", "sub": "u1" }),
            json!({ "path": "/r", "prefix": true, "ttl": 60, "sealed": true, "ip": ["10.0.0.0/8"] }),
            json!({ "path": "/ä/😀.txt", "exp": 4000, "filename": "Bericht – Q3.pdf" }),
        ];
        let draws = |i: u8| ([i; 16], [i.wrapping_add(100); 24]);
        let (text, slots) = pack_many(&top, &links);
        let (mut n, mut sealed) = (0u8, Vec::new());
        let many = sign_many_packed(Signer::Ring(&ring), &text, &slots, links.len(), |s| {
            n += 1;
            sealed.push(s);
            Ok(draws(n))
        })
        .unwrap();
        assert_eq!(sealed, [false, true, false], "a nonce for the sealed link only");
        let (mut expected, mut nums) = (String::from("ok"), Vec::new());
        for (i, link) in links.iter().enumerate() {
            let (j, nonce) = draws(i as u8 + 1);
            let one = sign(&ring, &J(link.clone()), &J(top.clone()), j, nonce).unwrap();
            one.push_answer(&mut expected, &mut nums);
        }
        assert_eq!(many, (expected, nums));
        assert_eq!(many.1.len(), ANSWER_NUMBERS * links.len());

        let bad = [links[0].clone(), json!({ "path": "/a", "ttl": 60, "expires": 5 }), json!({ "ttl": 60 })];
        let (text, slots) = pack_many(&top, &bad);
        let (index, e) = sign_many_packed(Signer::Ring(&ring), &text, &slots, bad.len(), |_| Ok(draws(1))).unwrap_err();
        assert_eq!((index, e.field.as_deref()), (Some(1), Some("expires")));
        let (text, slots) = pack_many(&top, &links);
        for count in [links.len() - 1, links.len() + 1] {
            let (index, e) = sign_many_packed(Signer::Ring(&ring), &text, &slots, count, |_| Ok(draws(1))).unwrap_err();
            assert_eq!((index, e.field), (None, None), "{count}");
        }
        let answer: Value = serde_json::from_str(&respond_many((Some(1), invalid("path", "bad")))).unwrap();
        assert_eq!(answer["error"]["index"], 1);
        assert_eq!(
            sign_many_packed(Signer::Ring(&ring), &pack_many(&top, &[]).0, &pack_many(&top, &[]).1, 0, |_| Ok(draws(
                1
            )))
            .unwrap(),
            ("ok".to_owned(), Vec::new())
        );
    }

    #[test]
    fn malformed_packing_is_refused_not_panicked_on() {
        let names: &'static [&'static str] = &["a", "b"];
        let ok = Packed::decode(names, "xy😀", &[tag::STR, 2.0, tag::STR, 2.0], None).unwrap();
        assert_eq!((ok.get("a"), ok.get("b")), (Val::Str("xy"), Val::Str("😀")));
        assert_eq!(ok.names(), ["a", "b"]);
        let bad: &[(&str, &[f64])] = &[
            ("", &[tag::NONE, 0.0]),                                 // too few slots
            ("", &[tag::NONE, 0.0, tag::NONE, 0.0, tag::NONE, 0.0]), // too many
            ("", &[tag::NONE, 0.0, tag::NONE]),                      // odd
            ("x", &[tag::NONE, 0.0, tag::NONE, 0.0]),                // text left over
            ("x", &[tag::STR, 2.0, tag::NONE, 0.0]),                 // text too short
            ("😀", &[tag::STR, 1.0, tag::NONE, 0.0]),                // half a surrogate pair
            ("x", &[tag::STR, -1.0, tag::NONE, 0.0]),
            ("x", &[tag::STR, f64::NAN, tag::NONE, 0.0]),
            ("", &[9.0, 0.0, tag::NONE, 0.0]),                       // unknown tag
            ("", &[tag::LIST, 1e9, tag::NONE, 0.0]),                 // list too long
            ("", &[tag::LIST, 3.0, tag::NONE, 0.0, tag::NONE, 0.0]), // list runs off
        ];
        for (text, slots) in bad {
            let e = Packed::decode(names, text, slots, None).unwrap_err();
            assert_eq!((e.code, e.field.as_deref()), (INVALID_REQUEST, None), "{text:?} {slots:?}");
        }
    }

    /// The package writes claims itself (no serde_json in its wasm): the
    /// same members and values as the core's `Claims::to_json` (in the
    /// format's order, where serde_json's map sorts them).
    #[test]
    fn claims_are_written_as_the_core_writes_them() {
        let ring = parse_keys(KEYS).unwrap();
        let full = json!({ "path": "/r", "prefix": true, "exp": 4000, "nbf": 1005, "iat": 1000, "tenant": "t",
            "sub": "s\"q", "ip": ["10.0.0.0/8", "2001:db8::/32"], "uses": 2, "host": "f.example", "mode": "redirect",
            "filename": "Bericht – \"Q3\" 😀.pdf", "contentType": "text/csv" });
        for link in [full, json!({ "path": "/a", "ttl": 60 })] {
            let s = sign(&ring, &J(link.clone()), &J(json!({ "now": 1000 })), [3; 16], [4; 24]).unwrap();
            let claims = UnverifiedToken::decode(&s.token).unwrap().claims_unverified().clone();
            assert_eq!(parsed(claims_json(&claims)), claims.to_json(), "{link}");
        }
    }
}

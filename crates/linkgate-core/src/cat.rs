//! Common Access Tokens (CTA-5007): a CWT (RFC 8392) in a COSE_Mac0
//! (RFC 9052) with HMAC-SHA256, verified without I/O and mapped onto the
//! facts linkgate already decides on (`docs/cat.md`, README "Common Access
//! Tokens").
//!
//! The CBOR reader is hand-written for the subset COSE_Mac0 and CWT need,
//! and strict: definite lengths only, shortest-form heads (so equal keys are
//! equal bytes), no duplicate map keys, bounded nesting, item counts and
//! token size. Nothing the claims say is read before the tag verifies.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU32;

use hmac::Mac;
use sha2::{Digest, Sha256};

use super::b64;
use super::ip::Cidr;
use super::keys::{KeyId, KeyRing};
use super::path::{CanonicalPath, Scope};
use super::reason::Reason;
use super::token::{Claims, Field, Jti, Label};
use super::verify::{check_ip, check_time, Method, Refusal, TimeRules, VerifiedLink};

/// Longest token text accepted (base64url characters).
pub const MAX_CAT_CHARS: usize = 4096;
/// Deepest nesting of CBOR items anywhere in a token.
const MAX_DEPTH: u8 = 8;
/// Most items in one array or map.
const MAX_ITEMS: u64 = 64;

/// COSE header labels (RFC 9052 §3.1).
const H_ALG: i64 = 1;
const H_CRIT: i64 = 2;
const H_KID: i64 = 4;
/// COSE algorithm HMAC 256/256 (HS256).
pub const ALG_HS256: i64 = 5;
/// CBOR tags: CWT (RFC 8392 §6) and COSE_Mac0 (RFC 9052 §2).
const TAG_CWT: u64 = 61;
const TAG_MAC0: u64 = 17;
/// RFC 9164 IP address/prefix tags.
const TAG_IPV4: u64 = 52;
const TAG_IPV6: u64 = 54;

/// CWT and CAT claim keys.
pub mod key {
    pub const ISS: i64 = 1;
    pub const SUB: i64 = 2;
    pub const AUD: i64 = 3;
    pub const EXP: i64 = 4;
    pub const NBF: i64 = 5;
    pub const IAT: i64 = 6;
    pub const CTI: i64 = 7;
    pub const CATREPLAY: i64 = 308;
    pub const CATPOR: i64 = 309;
    pub const CATV: i64 = 310;
    pub const CATNIP: i64 = 311;
    pub const CATU: i64 = 312;
    pub const CATM: i64 = 313;
    pub const CATR: i64 = 323;
}

/// Claims (and header labels) linkgate implements: a `crit` list naming
/// only these is honoured; anything else listed there refuses the token.
const UNDERSTOOD: [i64; 12] = [
    key::ISS,
    key::SUB,
    key::AUD,
    key::EXP,
    key::NBF,
    key::IAT,
    key::CTI,
    key::CATREPLAY,
    key::CATV,
    key::CATNIP,
    key::CATU,
    key::CATM,
];

/// Why a CAT could not be decoded (400 `token_malformed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatError {
    /// Empty or longer than [`MAX_CAT_CHARS`].
    BadLength,
    /// Not base64url without padding.
    BadEncoding,
    /// Not well-formed CBOR (truncated, reserved values, trailing bytes, bad UTF-8).
    Cbor,
    /// An indefinite-length item.
    Indefinite,
    /// A head not in its shortest form.
    NonShortest,
    /// A map key given twice.
    DuplicateKey,
    /// Nesting deeper than allowed, or an array or map with too many items.
    TooLarge,
    /// Not a COSE_Mac0 (tag 17, four items) optionally inside a CWT tag 61.
    NotMac0,
    /// A header parameter in the wrong place or of the wrong type.
    Header,
    /// An algorithm other than HS256.
    Alg,
    /// No key id, or one that cannot name a key.
    Kid,
    /// The MAC tag is not 32 bytes.
    TagLength,
    /// The payload is not a claims map, or a claim has the wrong type.
    Claim,
}

impl CatError {
    /// The stable wire name (audit `reason`).
    pub const fn name(self) -> &'static str {
        match self {
            CatError::BadLength => "cat_bad_length",
            CatError::BadEncoding => "cat_bad_encoding",
            CatError::Cbor => "cat_cbor",
            CatError::Indefinite => "cat_indefinite_length",
            CatError::NonShortest => "cat_non_shortest",
            CatError::DuplicateKey => "cat_duplicate_key",
            CatError::TooLarge => "cat_too_large",
            CatError::NotMac0 => "cat_not_mac0",
            CatError::Header => "cat_header",
            CatError::Alg => "cat_alg",
            CatError::Kid => "cat_kid",
            CatError::TagLength => "cat_tag_length",
            CatError::Claim => "cat_claim",
        }
    }

    /// Every error, for documentation checks.
    pub const ALL: [CatError; 13] = [
        CatError::BadLength,
        CatError::BadEncoding,
        CatError::Cbor,
        CatError::Indefinite,
        CatError::NonShortest,
        CatError::DuplicateKey,
        CatError::TooLarge,
        CatError::NotMac0,
        CatError::Header,
        CatError::Alg,
        CatError::Kid,
        CatError::TagLength,
        CatError::Claim,
    ];
}

type R<T> = Result<T, CatError>;

/// A map key as read: integers and texts are what COSE and CWT use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MapKey<'a> {
    Int(i64),
    Text(&'a str),
    Other,
}

/// A strict reader over one CBOR buffer.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos == self.buf.len()
    }

    fn take(&mut self, n: u64) -> R<&'a [u8]> {
        let n = usize::try_from(n).map_err(|_| CatError::Cbor)?;
        let end = self.pos.checked_add(n).ok_or(CatError::Cbor)?;
        let out = self.buf.get(self.pos..end).ok_or(CatError::Cbor)?;
        self.pos = end;
        Ok(out)
    }

    fn byte(&mut self) -> R<u8> {
        self.take(1)?.first().copied().ok_or(CatError::Cbor)
    }

    fn peek_major(&self) -> Option<u8> {
        self.buf.get(self.pos).map(|b| b >> 5)
    }

    /// One head: (major type, argument). Floats (major 7, 25–27) keep
    /// their bits as the argument.
    fn head(&mut self) -> R<(u8, u64)> {
        let b = self.byte()?;
        let (major, info) = (b >> 5, b & 0x1f);
        let be = |bytes: &[u8]| bytes.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
        let (arg, min) = match info {
            0..=23 => (u64::from(info), 0),
            24 => (u64::from(self.byte()?), 24),
            25 => (be(self.take(2)?), 0x100),
            26 => (be(self.take(4)?), 0x1_0000),
            27 => (be(self.take(8)?), 0x1_0000_0000),
            31 => return Err(CatError::Indefinite),
            _ => return Err(CatError::Cbor),
        };
        if major == 7 {
            // Simple values 24..31 in two bytes are not well-formed (RFC 8949 §3.3).
            if info == 24 && arg < 32 {
                return Err(CatError::Cbor);
            }
        } else if arg < min {
            return Err(CatError::NonShortest);
        }
        Ok((major, arg))
    }

    fn expect(&mut self, major: u8) -> R<u64> {
        match self.head()? {
            (m, a) if m == major => Ok(a),
            _ => Err(CatError::Claim),
        }
    }

    fn uint(&mut self) -> R<u64> {
        self.expect(0)
    }

    fn int(&mut self) -> R<i64> {
        match self.head()? {
            (0, a) => i64::try_from(a).map_err(|_| CatError::Claim),
            (1, a) => i64::try_from(a).ok().and_then(|a| (-1i64).checked_sub(a)).ok_or(CatError::Claim),
            _ => Err(CatError::Claim),
        }
    }

    fn bytes(&mut self) -> R<&'a [u8]> {
        let n = self.expect(2)?;
        self.take(n)
    }

    fn text(&mut self) -> R<&'a str> {
        let n = self.expect(3)?;
        core::str::from_utf8(self.take(n)?).map_err(|_| CatError::Cbor)
    }

    fn count(n: u64) -> R<u64> {
        if n > MAX_ITEMS {
            Err(CatError::TooLarge)
        } else {
            Ok(n)
        }
    }

    fn array(&mut self) -> R<u64> {
        Self::count(self.expect(4)?)
    }

    fn map(&mut self) -> R<u64> {
        Self::count(self.expect(5)?)
    }

    /// Check and pass over one item of any type.
    fn skip(&mut self, depth: u8) -> R<()> {
        if depth > MAX_DEPTH {
            return Err(CatError::TooLarge);
        }
        let info = self.buf.get(self.pos).map_or(0, |b| b & 0x1f);
        let (major, arg) = self.head()?;
        match major {
            0 | 1 => Ok(()),
            2 => self.take(arg).map(|_| ()),
            3 => core::str::from_utf8(self.take(arg)?).map(|_| ()).map_err(|_| CatError::Cbor),
            4 => {
                for _ in 0..Self::count(arg)? {
                    self.skip(depth.saturating_add(1))?;
                }
                Ok(())
            }
            5 => self.entries(Self::count(arg)?, depth, &mut |r, _| r.skip(depth.saturating_add(1))),
            6 => self.skip(depth.saturating_add(1)),
            // false, true, null, undefined, and floats; no other simple value.
            _ if matches!(arg, 20..=23) || matches!(info, 25..=27) => Ok(()),
            _ => Err(CatError::Cbor),
        }
    }

    /// Read `n` map entries: each key (refusing one seen before), then
    /// `value` reads exactly its value. (`dyn`: one copy in the worker
    /// instead of one per caller.)
    fn entries(&mut self, n: u64, depth: u8, value: &mut dyn FnMut(&mut Self, MapKey<'a>) -> R<()>) -> R<()> {
        let mut seen: Vec<&'a [u8]> = Vec::new();
        for _ in 0..n {
            let start = self.pos;
            let key = match self.peek_major() {
                Some(0 | 1) => MapKey::Int(self.int().map_err(|_| CatError::Cbor)?),
                Some(3) => MapKey::Text(self.text()?),
                _ => {
                    self.skip(depth.saturating_add(1))?;
                    MapKey::Other
                }
            };
            // Heads are shortest-form, so equal keys are equal bytes.
            let raw = self.buf.get(start..self.pos).ok_or(CatError::Cbor)?;
            if seen.contains(&raw) {
                return Err(CatError::DuplicateKey);
            }
            seen.push(raw);
            value(self, key)?;
        }
        Ok(())
    }
}

/// A label in the protected header's `crit` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CritLabel {
    Int(i64),
    Text(String),
}

/// The COSE_Mac0 envelope, read but not yet trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mac0<'a> {
    /// The protected header as sent (the MAC covers these exact bytes).
    pub protected: &'a [u8],
    pub payload: &'a [u8],
    pub tag: &'a [u8],
    pub alg: i64,
    pub kid: Option<&'a [u8]>,
    pub crit: Vec<CritLabel>,
}

/// Read a COSE_Mac0 (optionally inside CWT tag 61): structure and headers
/// only; the payload stays bytes until the tag verifies.
pub fn parse_mac0(raw: &[u8]) -> R<Mac0<'_>> {
    let mut r = Reader::new(raw);
    let mut tag = r.head()?;
    if tag == (6, TAG_CWT) {
        tag = r.head()?;
    }
    if tag != (6, TAG_MAC0) || r.head()? != (4, 4) {
        return Err(CatError::NotMac0);
    }
    let protected = r.bytes().map_err(not_mac0)?;
    let n = r.map().map_err(not_mac0)?;
    let mut kid_unprotected = None;
    r.entries(n, 1, &mut |r, key| match key {
        MapKey::Int(H_KID) => {
            kid_unprotected = Some(r.bytes().map_err(header)?);
            Ok(())
        }
        // alg and crit are integrity-relevant: only in the protected header.
        MapKey::Int(H_ALG | H_CRIT) => Err(CatError::Header),
        _ => r.skip(2),
    })?;
    // A nil payload (detached content) is not a CWT.
    let payload = r.bytes().map_err(not_mac0)?;
    let tag = r.bytes().map_err(not_mac0)?;
    if !r.done() {
        return Err(CatError::Cbor);
    }
    let mut p = Reader::new(protected);
    let (mut alg, mut kid, mut crit) = (None, None, Vec::new());
    if !protected.is_empty() {
        let n = p.map().map_err(header)?;
        p.entries(n, 1, &mut |p, key| match key {
            MapKey::Int(H_ALG) => {
                alg = Some(p.int().map_err(header)?);
                Ok(())
            }
            MapKey::Int(H_KID) => {
                kid = Some(p.bytes().map_err(header)?);
                Ok(())
            }
            MapKey::Int(H_CRIT) => {
                let k = p.array().map_err(header)?;
                // RFC 9052 §3.1: crit, when present, is never empty.
                if k == 0 {
                    return Err(CatError::Header);
                }
                for _ in 0..k {
                    let label = match p.peek_major() {
                        Some(3) => CritLabel::Text(p.text()?.to_owned()),
                        _ => CritLabel::Int(p.int().map_err(header)?),
                    };
                    crit.push(label);
                }
                Ok(())
            }
            _ => p.skip(2),
        })?;
        if !p.done() {
            return Err(CatError::Cbor);
        }
    }
    let alg = alg.ok_or(CatError::Alg)?;
    let kid = match (kid, kid_unprotected) {
        (Some(_), Some(_)) => return Err(CatError::Header),
        (a, b) => a.or(b),
    };
    Ok(Mac0 { protected, payload, tag, alg, kid, crit })
}

/// A wrong type where COSE_Mac0 wants one is a wrong structure; a
/// malformed item stays what it is.
fn not_mac0(e: CatError) -> CatError {
    if e == CatError::Claim {
        CatError::NotMac0
    } else {
        e
    }
}

fn header(e: CatError) -> CatError {
    if e == CatError::Claim {
        CatError::Header
    } else {
        e
    }
}

/// A CBOR head for a byte string of `len` bytes, shortest form.
fn bstr_head(len: usize) -> ([u8; 9], usize) {
    let len = len as u64;
    let mut out = [0u8; 9];
    let used = if len < 24 {
        out[0] = 0x40 | len as u8;
        1
    } else if len <= 0xff {
        out[0] = 0x58;
        out[1] = len as u8;
        2
    } else if len <= 0xffff {
        out[0] = 0x59;
        out[1..3].copy_from_slice(&(len as u16).to_be_bytes());
        3
    } else if len <= 0xffff_ffff {
        out[0] = 0x5a;
        out[1..5].copy_from_slice(&(len as u32).to_be_bytes());
        5
    } else {
        out[0] = 0x5b;
        out[1..9].copy_from_slice(&len.to_be_bytes());
        9
    };
    (out, used)
}

/// Feed the `MAC_structure` of RFC 9052 §6.3 to `mac`:
/// `["MAC0", protected, external_aad = h'', payload]`.
fn feed_mac_structure(mac: &mut impl Mac, protected: &[u8], payload: &[u8]) {
    mac.update(&[0x84, 0x64, b'M', b'A', b'C', b'0']);
    for part in [protected, &[][..], payload] {
        let (head, used) = bstr_head(part.len());
        mac.update(head.get(..used).unwrap_or(&[]));
        mac.update(part);
    }
}

/// The HS256 tag of a COSE_Mac0 with these bytes (signers, tests).
pub fn mac_tag(secret: &[u8], protected: &[u8], payload: &[u8]) -> Option<[u8; 32]> {
    let mut mac = <hmac::Hmac<Sha256> as Mac>::new_from_slice(secret).ok()?;
    feed_mac_structure(&mut mac, protected, payload);
    Some(mac.finalize().into_bytes().into())
}

/// One `catu` matcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    /// SHA-256 of the component.
    Sha256(Vec<u8>),
}

impl Match {
    fn lowercased(self) -> Match {
        match self {
            Match::Exact(v) => Match::Exact(v.to_ascii_lowercase()),
            Match::Prefix(v) => Match::Prefix(v.to_ascii_lowercase()),
            Match::Suffix(v) => Match::Suffix(v.to_ascii_lowercase()),
            Match::Contains(v) => Match::Contains(v.to_ascii_lowercase()),
            Match::Sha256(h) => Match::Sha256(h),
        }
    }

    fn holds(&self, s: &str) -> bool {
        match self {
            Match::Exact(v) => s == v,
            Match::Prefix(v) => s.starts_with(v.as_str()),
            Match::Suffix(v) => s.ends_with(v.as_str()),
            Match::Contains(v) => s.contains(v.as_str()),
            Match::Sha256(h) => Sha256::digest(s.as_bytes()).as_slice() == h.as_slice(),
        }
    }
}

/// URI components of `catu` linkgate evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Scheme,
    Host,
    Port,
    Path,
    ParentPath,
    Filename,
    Stem,
    Extension,
}

impl Component {
    fn from_key(k: i64) -> Option<Component> {
        Some(match k {
            0 => Component::Scheme,
            1 => Component::Host,
            2 => Component::Port,
            3 => Component::Path,
            // 4 (query) is not evaluated: the query carries the token itself.
            5 => Component::ParentPath,
            6 => Component::Filename,
            7 => Component::Stem,
            8 => Component::Extension,
            _ => return None,
        })
    }
}

/// The claims of an authentic CAT, as far as linkgate reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatClaims {
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub aud: Vec<String>,
    pub exp: Option<u64>,
    pub nbf: Option<u64>,
    pub iat: Option<u64>,
    pub cti: Option<Vec<u8>>,
    pub catreplay: Option<u64>,
    pub catv: Option<u64>,
    /// `catnip`: networks (None: absent).
    pub catnip: Option<Vec<Cidr>>,
    /// `catu`: every (component, matcher) must hold (None: absent).
    pub catu: Option<Vec<(Component, Match)>>,
    /// `catm`: allowed methods (None: absent).
    pub catm: Option<Vec<String>>,
    /// A restriction linkgate cannot evaluate (a `catu` regex, query or
    /// unknown component or match type; a `catnip` by ASN): refused, never
    /// ignored, since ignoring it would widen access.
    pub unevaluable: Option<&'static str>,
    /// Claim keys present that linkgate does not implement (ignored unless critical).
    pub ignored: Vec<i64>,
}

/// A text or an array of texts (`aud`, `catm`).
fn texts(r: &mut Reader<'_>) -> R<Vec<String>> {
    if r.peek_major() != Some(4) {
        return Ok(vec![r.text()?.to_owned()]);
    }
    let n = r.array()?;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(r.text()?.to_owned());
    }
    Ok(out)
}

fn time(r: &mut Reader<'_>) -> R<u64> {
    // NumericDate: linkgate takes whole, non-negative seconds only.
    r.uint()
}

/// Decode the claims payload of an authentic CAT.
pub fn decode_claims(payload: &[u8]) -> R<CatClaims> {
    let mut r = Reader::new(payload);
    let n = r.map()?;
    let mut c = CatClaims::default();
    r.entries(n, 1, &mut |r, k| {
        let MapKey::Int(k) = k else { return r.skip(2) };
        match k {
            key::ISS => c.iss = Some(r.text()?.to_owned()),
            key::SUB => c.sub = Some(r.text()?.to_owned()),
            key::AUD => c.aud = texts(r)?,
            key::EXP => c.exp = Some(time(r)?),
            key::NBF => c.nbf = Some(time(r)?),
            key::IAT => c.iat = Some(time(r)?),
            key::CTI => c.cti = Some(r.bytes()?.to_vec()),
            key::CATREPLAY => c.catreplay = Some(r.uint()?),
            key::CATV => c.catv = Some(r.uint()?),
            key::CATNIP => c.catnip = Some(catnip(r, &mut c.unevaluable)?),
            key::CATU => c.catu = Some(catu(r, &mut c.unevaluable)?),
            key::CATM => c.catm = Some(texts(r)?),
            other => {
                c.ignored.push(other);
                r.skip(2)?
            }
        }
        Ok(())
    })?;
    if !r.done() {
        return Err(CatError::Cbor);
    }
    Ok(c)
}

fn catu(r: &mut Reader<'_>, unevaluable: &mut Option<&'static str>) -> R<Vec<(Component, Match)>> {
    let n = r.map()?;
    let mut out = Vec::new();
    r.entries(n, 2, &mut |r, comp| {
        let comp = match comp {
            MapKey::Int(k) => Component::from_key(k),
            _ => None,
        };
        let m = r.map()?;
        r.entries(m, 3, &mut |r, kind| {
            let text = |r: &mut Reader<'_>| r.text().map(str::to_owned);
            let matcher = match kind {
                MapKey::Int(0) => Some(Match::Exact(text(r)?)),
                MapKey::Int(1) => Some(Match::Prefix(text(r)?)),
                MapKey::Int(2) => Some(Match::Suffix(text(r)?)),
                MapKey::Int(3) => Some(Match::Contains(text(r)?)),
                MapKey::Int(-1) => Some(Match::Sha256(r.bytes()?.to_vec())),
                // Regex (4), SHA-512/256 (-2) and anything else.
                _ => {
                    r.skip(4)?;
                    None
                }
            };
            match (comp, matcher) {
                // Schemes and host names are case-insensitive: both sides
                // are compared lowercased (a SHA-256 matcher hashes the
                // lowercased text).
                (Some(c @ (Component::Scheme | Component::Host)), Some(m)) => out.push((c, m.lowercased())),
                (Some(c), Some(m)) => out.push((c, m)),
                _ => *unevaluable = Some("catu"),
            }
            Ok(())
        })
    })?;
    Ok(out)
}

fn catnip(r: &mut Reader<'_>, unevaluable: &mut Option<&'static str>) -> R<Vec<Cidr>> {
    let mut out = Vec::new();
    let n = if r.peek_major() == Some(4) { r.array()? } else { 1 };
    for _ in 0..n {
        match r.head()? {
            (6, t @ (TAG_IPV4 | TAG_IPV6)) => out.push(network(r, t == TAG_IPV6)?),
            // An ASN (integer) needs a lookup linkgate does not have.
            (0, _) => *unevaluable = Some("catnip"),
            _ => return Err(CatError::Claim),
        }
    }
    Ok(out)
}

/// RFC 9164: an address (bytes) or `[prefix length, prefix bytes]`.
fn network(r: &mut Reader<'_>, v6: bool) -> R<Cidr> {
    let width: u8 = if v6 { 16 } else { 4 };
    let (bytes, prefix) = if r.peek_major() == Some(4) {
        if r.array()? != 2 {
            return Err(CatError::Claim);
        }
        let len = u8::try_from(r.uint()?).map_err(|_| CatError::Claim)?;
        (r.bytes()?, Some(len))
    } else {
        (r.bytes()?, None)
    };
    let mut full = [0u8; 16];
    let slot = full.get_mut(..bytes.len()).filter(|_| bytes.len() <= usize::from(width)).ok_or(CatError::Claim)?;
    slot.copy_from_slice(bytes);
    let addr = if v6 {
        IpAddr::V6(Ipv6Addr::from(full))
    } else {
        let [a, b, c, d, ..] = full;
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    };
    let bits = width.saturating_mul(8);
    // A bare address is a single host.
    Cidr::new(addr, prefix.unwrap_or(bits)).map_err(|_| CatError::Claim)
}

/// Who verifies CATs and what they accept (`LINKGATE_CAT_*`).
#[derive(Debug, Clone)]
pub struct CatConfig {
    /// `LINKGATE_CAT_KEYS`: separate from the link keys.
    pub keys: KeyRing,
    /// `LINKGATE_CAT_ISSUERS`: when non-empty, `iss` must be one of them.
    pub issuers: Vec<String>,
    /// `LINKGATE_CAT_AUDIENCES`: when non-empty, `aud` must name one of them.
    pub audiences: Vec<String>,
    /// `LINKGATE_CAT_SOURCES`: where a request may carry the token.
    pub sources: Vec<Source>,
}

/// Where a CAT may come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `CTA-Common-Access-Token` header.
    HeaderCta,
    /// `Common-Access-Token` header.
    HeaderCommon,
    /// A cookie of this name.
    Cookie(String),
    /// A query parameter of this name.
    Query(String),
}

/// The default sources, in the order.
pub fn default_sources() -> Vec<Source> {
    vec![
        Source::HeaderCta,
        Source::Cookie("CTA-Common-Access-Token".to_owned()),
        Source::HeaderCommon,
        Source::Cookie("Common-Access-Token".to_owned()),
        Source::Query("CAT".to_owned()),
        Source::Query("cat".to_owned()),
    ]
}

/// Parse `LINKGATE_CAT_SOURCES`: `header:cta-common-access-token`,
/// `header:common-access-token`, `cookie:<name>`, `query:<name>`, comma-separated.
pub fn parse_sources(text: &str) -> Option<Vec<Source>> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (kind, name) = item.split_once(':')?;
        let ok_name = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        out.push(match kind {
            "header" if name.eq_ignore_ascii_case("cta-common-access-token") => Source::HeaderCta,
            "header" if name.eq_ignore_ascii_case("common-access-token") => Source::HeaderCommon,
            "cookie" if ok_name => Source::Cookie(name.to_owned()),
            // lg and lgs are linkgate's own.
            "query" if ok_name && name != "lg" && name != "lgs" => Source::Query(name.to_owned()),
            _ => return None,
        });
    }
    (!out.is_empty()).then_some(out)
}

/// What the request offers, for [`find_token`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Carriers<'a> {
    pub header_cta: Option<&'a str>,
    pub header_common: Option<&'a str>,
    pub cookie: Option<&'a str>,
    pub query: &'a str,
}

/// The one CAT a request carries in the configured sources: None when
/// there is none, `DuplicateToken` when there are several (as for `lg`:
/// never resolved by picking one).
pub fn find_token<'a>(sources: &[Source], c: &Carriers<'a>) -> Result<Option<&'a str>, Reason> {
    let mut found: Option<&'a str> = None;
    let mut many = false;
    let mut add = |v: &'a str| {
        many |= found.is_some();
        found = Some(v);
    };
    for s in sources {
        match s {
            Source::HeaderCta => c.header_cta.into_iter().for_each(&mut add),
            Source::HeaderCommon => c.header_common.into_iter().for_each(&mut add),
            Source::Cookie(name) => {
                for piece in c.cookie.unwrap_or("").split(';') {
                    if let Some((n, v)) = piece.trim().split_once('=') {
                        if n == name {
                            add(v.trim_matches('"'));
                        }
                    }
                }
            }
            Source::Query(name) => {
                for piece in c.query.split('&') {
                    let (n, v) = piece.split_once('=').unwrap_or((piece, ""));
                    if n == name {
                        add(v);
                    }
                }
            }
        }
    }
    if many {
        Err(Reason::DuplicateToken)
    } else {
        Ok(found)
    }
}

/// The request, as the CAT verifier sees it.
#[derive(Debug, Clone, Copy)]
pub struct CatRequest<'a> {
    pub token: &'a str,
    /// The canonical path (already checked).
    pub path: &'a CanonicalPath,
    pub scheme: &'a str,
    /// The authority (`host[:port]`).
    pub authority: &'a str,
    pub method: &'a str,
    pub client_ip: Option<IpAddr>,
    pub now: u64,
}

/// Decode the token text and read its envelope (no key needed).
pub fn decode(text: &str, buf: &mut Vec<u8>) -> R<()> {
    if text.is_empty() || text.len() > MAX_CAT_CHARS {
        return Err(CatError::BadLength);
    }
    *buf = b64::decode(text.as_bytes()).map_err(|_| CatError::BadEncoding)?;
    Ok(())
}

/// The jti of a CAT: its `cti` when 16 bytes, else the first 16 bytes of
/// SHA-256 over a domain label and the `cti` (or, without one, the MAC tag,
/// which is unique per token).
pub fn jti_of(cti: Option<&[u8]>, tag: &[u8]) -> Jti {
    if let Some(j) = cti.and_then(|c| <[u8; 16]>::try_from(c).ok()) {
        return Jti(j);
    }
    let mut h = Sha256::new();
    match cti {
        Some(c) => {
            h.update(b"linkgate-cat-cti\0");
            h.update(c);
        }
        None => {
            h.update(b"linkgate-cat-tag\0");
            h.update(tag);
        }
    }
    let d = h.finalize();
    let mut j = [0u8; 16];
    j.copy_from_slice(d.get(..16).unwrap_or(&[0u8; 16]));
    Jti(j)
}

/// A CAT whose tag verified: its key, claims, tag and `crit` list.
#[derive(Debug, Clone)]
pub struct Authentic {
    pub kid: KeyId,
    pub claims: CatClaims,
    pub tag: Vec<u8>,
    pub crit: Vec<CritLabel>,
}

/// Decode a CAT and check its tag: envelope, algorithm, key id, key, tag,
/// then (only then) the claims. Refusals are unauthenticated ones.
pub fn authenticate(keys: &KeyRing, text: &str) -> Result<Authentic, Reason> {
    // An empty carrier is no token, as `lg=` is.
    if text.is_empty() {
        return Err(Reason::NoToken);
    }
    let mut raw = Vec::new();
    decode(text, &mut raw).map_err(Reason::Cat)?;
    let mac0 = parse_mac0(&raw).map_err(Reason::Cat)?;
    if mac0.alg != ALG_HS256 {
        return Err(Reason::Cat(CatError::Alg));
    }
    let kid =
        mac0.kid.and_then(|k| core::str::from_utf8(k).ok()).and_then(KeyId::parse).ok_or(Reason::Cat(CatError::Kid))?;
    let key = keys.get(kid.as_str()).ok_or(Reason::UnknownKid)?;
    if mac0.tag.len() != 32 {
        return Err(Reason::Cat(CatError::TagLength));
    }
    let mut mac = key.mac();
    feed_mac_structure(&mut mac, mac0.protected, mac0.payload);
    // verify_slice compares in constant time.
    if mac.verify_slice(mac0.tag).is_err() {
        return Err(Reason::BadTag);
    }
    let claims = decode_claims(mac0.payload).map_err(Reason::Cat)?;
    Ok(Authentic { kid: key.kid().clone(), claims, tag: mac0.tag.to_vec(), crit: mac0.crit })
}

/// Read a CAT without a key (`linkgate cat inspect` without keys): its key
/// id, algorithm and claims, none of them to be believed.
pub fn read_unverified(text: &str) -> Result<(Option<String>, i64, CatClaims), CatError> {
    let mut raw = Vec::new();
    decode(text, &mut raw)?;
    let mac0 = parse_mac0(&raw)?;
    let kid = mac0.kid.map(|k| String::from_utf8_lossy(k).into_owned());
    Ok((kid, mac0.alg, decode_claims(mac0.payload)?))
}

/// Verify a CAT for one request. The order is linkgate's: envelope, key,
/// tag; then (authentic) issuer, audience, critical claims, time, URI,
/// network, method. A refusal after the tag carries the mapped claims for
/// the audit event.
pub fn verify(cfg: &CatConfig, rules: &TimeRules, req: &CatRequest<'_>) -> Result<VerifiedLink, Refusal> {
    let a = authenticate(&cfg.keys, req.token).map_err(|reason| Refusal {
        code: reason.code().unwrap_or(crate::Code::TokenMalformed),
        reason,
        path: Some(req.path.clone()),
        claims: None,
        sealed: false,
    })?;
    let cat = &a.claims;
    let claims = to_claims(cat, a.kid.clone(), &a.tag, req.path.clone(), rules)?;
    let refuse = |reason: Reason| Refusal {
        code: reason.code().unwrap_or(crate::Code::PolicyDenied),
        reason,
        path: Some(req.path.clone()),
        claims: Some(Box::new(claims.clone())),
        sealed: false,
    };
    authentic_checks(cfg, cat, &a.crit).map_err(refuse)?;
    check_time(&claims, req.now, rules).map_err(refuse)?;
    if let Some(rules) = &cat.catu {
        check_uri(rules, req).map_err(refuse)?;
    }
    check_ip(&claims, req.client_ip).map_err(refuse)?;
    check_methods(cat.catm.as_deref(), req.method).map_err(refuse)?;
    Ok(VerifiedLink::from_cat(claims, req.path.clone()))
}

/// Issuer, audience, version, replay, critical and unevaluable claims.
pub fn authentic_checks(cfg: &CatConfig, cat: &CatClaims, crit: &[CritLabel]) -> Result<(), Reason> {
    if !cfg.issuers.is_empty() && !cat.iss.as_ref().is_some_and(|i| cfg.issuers.contains(i)) {
        return Err(Reason::CatIssuer);
    }
    if !cfg.audiences.is_empty() && !cat.aud.iter().any(|a| cfg.audiences.contains(a)) {
        return Err(Reason::CatAudience);
    }
    let understood = |l: &CritLabel| matches!(l, CritLabel::Int(k) if UNDERSTOOD.contains(k));
    if !crit.iter().all(understood) {
        return Err(Reason::CatCritical);
    }
    if cat.unevaluable.is_some() || cat.catv.is_some_and(|v| v != 1) || cat.catreplay.is_some_and(|v| v > 2) {
        return Err(Reason::CatUnsupported);
    }
    if cat.exp.is_none() {
        return Err(Reason::CatNoExpiry);
    }
    Ok(())
}

/// Map an authentic CAT onto linkgate's claims (see `docs/cat.md`).
fn to_claims(
    cat: &CatClaims,
    kid: KeyId,
    tag: &[u8],
    path: CanonicalPath,
    rules: &TimeRules,
) -> Result<Claims, Refusal> {
    let malformed = |_| Refusal {
        code: crate::Code::TokenMalformed,
        reason: Reason::Cat(CatError::Claim),
        path: Some(path.clone()),
        claims: None,
        sealed: false,
    };
    // No exp: mapped as already expired here, refused as cat_no_expiry by
    // authentic_checks before time is looked at.
    let exp = cat.exp.unwrap_or(0);
    // No iat: the earliest the maximum lifetime allows, so the lifetime
    // bound holds and every sub/tenant/all revocation covers the token.
    let iat = cat.iat.unwrap_or_else(|| exp.saturating_sub(rules.max_ttl_secs));
    let mut c = Claims::new(kid, jti_of(cat.cti.as_deref(), tag), iat, exp, Scope::Object(path.clone()));
    c.nbf = cat.nbf;
    c.sub = cat.sub.as_deref().map(|s| Label::parse(Field::Sub, s)).transpose().map_err(malformed)?;
    // The issuer is the tenant: revoking a tenant revokes its issuer's tokens.
    c.tenant = cat.iss.as_deref().map(|s| Label::parse(Field::Tenant, s)).transpose().map_err(malformed)?;
    c.ip = cat.catnip.clone().unwrap_or_default();
    // catreplay 1 (prohibited): one use. 0 and 2 (reuse detection: every
    // use is audited under the jti) are unbounded.
    c.uses = (cat.catreplay == Some(1)).then_some(NonZeroU32::MIN);
    Ok(c)
}

fn check_uri(rules: &[(Component, Match)], req: &CatRequest<'_>) -> Result<(), Reason> {
    let (host, port) = split_authority(req.authority);
    let default_port = if req.scheme.eq_ignore_ascii_case("http") { "80" } else { "443" };
    let path = req.path.as_str();
    let (parent, filename) = path.rsplit_once('/').unwrap_or(("", path));
    let (stem, extension) = match filename.rfind('.') {
        Some(i) => (filename.get(..i).unwrap_or(""), filename.get(i..).unwrap_or("")),
        None => (filename, ""),
    };
    let scheme = req.scheme.to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    for (component, m) in rules {
        let (value, reason) = match component {
            Component::Scheme => (scheme.as_str(), Reason::CatUri),
            Component::Host => (host.as_str(), Reason::OtherHost),
            Component::Port => (port.unwrap_or(default_port), Reason::OtherHost),
            Component::Path => (path, Reason::CatUri),
            Component::ParentPath => (parent, Reason::CatUri),
            Component::Filename => (filename, Reason::CatUri),
            Component::Stem => (stem, Reason::CatUri),
            Component::Extension => (extension, Reason::CatUri),
        };
        if !m.holds(value) {
            return Err(reason);
        }
    }
    Ok(())
}

fn split_authority(authority: &str) -> (&str, Option<&str>) {
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(rest) = authority.strip_prefix('[') {
        // [v6]:port
        return match rest.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => (authority, None),
        };
    }
    match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    }
}

/// linkgate serves GET and HEAD; `catm` can only narrow that.
fn check_methods(catm: Option<&[String]>, method: &str) -> Result<(), Reason> {
    let served = matches!(Method::parse(method), Method::Get | Method::Head);
    let listed = catm.is_none_or(|ms| ms.iter().any(|m| m.eq_ignore_ascii_case(method)));
    if served && listed {
        Ok(())
    } else {
        Err(Reason::Method)
    }
}

/// What to put into a CAT (the CLI's `cat sign`, tests). linkgate never
/// mints CATs at the edge: a distributor's token service does.
#[derive(Debug, Clone, Default)]
pub struct MintCat {
    pub kid: String,
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub aud: Option<String>,
    pub exp: Option<u64>,
    pub nbf: Option<u64>,
    pub iat: Option<u64>,
    pub cti: Option<Vec<u8>>,
    pub catreplay: Option<u64>,
    pub catv: Option<u64>,
    pub catnip: Vec<Cidr>,
    /// (component key, match key, value): 3/1 = path prefix, 8/0 = extension.
    pub catu: Vec<(u8, i8, String)>,
    pub catm: Vec<String>,
    /// Labels for the protected header's `crit`.
    pub crit: Vec<i64>,
    /// Wrap in CWT tag 61.
    pub cwt_tag: bool,
}

fn put_head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let m = major << 5;
    match arg {
        0..=23 => out.push(m | arg as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, arg as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(arg as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend_from_slice(&(arg as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&arg.to_be_bytes());
        }
    }
}

fn put_int(out: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        put_head(out, 0, v.unsigned_abs());
    } else {
        put_head(out, 1, v.unsigned_abs().saturating_sub(1));
    }
}

fn put_text(out: &mut Vec<u8>, s: &str) {
    put_head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_head(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

/// Mint a CAT with HS256 (base64url, no padding). None if the secret is
/// empty or a `catu` component has two matchers of one kind (a duplicate
/// map key, which verifiers refuse).
pub fn mint(secret: &[u8], m: &MintCat) -> Option<String> {
    for (i, (c, k, _)) in m.catu.iter().enumerate() {
        if m.catu.iter().skip(i.saturating_add(1)).any(|(c2, k2, _)| c2 == c && k2 == k) {
            return None;
        }
    }
    let mut claims: Vec<(i64, Vec<u8>)> = Vec::new();
    let mut one = |k: i64, f: &dyn Fn(&mut Vec<u8>)| {
        let mut v = Vec::new();
        f(&mut v);
        claims.push((k, v));
    };
    if let Some(x) = &m.iss {
        one(key::ISS, &|o| put_text(o, x));
    }
    if let Some(x) = &m.sub {
        one(key::SUB, &|o| put_text(o, x));
    }
    if let Some(x) = &m.aud {
        one(key::AUD, &|o| put_text(o, x));
    }
    for (k, v) in [(key::EXP, m.exp), (key::NBF, m.nbf), (key::IAT, m.iat)] {
        if let Some(t) = v {
            one(k, &|o| put_head(o, 0, t));
        }
    }
    if let Some(x) = &m.cti {
        one(key::CTI, &|o| put_bytes(o, x));
    }
    if let Some(x) = m.catreplay {
        one(key::CATREPLAY, &|o| put_head(o, 0, x));
    }
    if let Some(x) = m.catv {
        one(key::CATV, &|o| put_head(o, 0, x));
    }
    if !m.catnip.is_empty() {
        one(key::CATNIP, &|o| {
            put_head(o, 4, m.catnip.len() as u64);
            for c in &m.catnip {
                let (tag, prefix, bytes): (u64, u8, Vec<u8>) = match c {
                    Cidr::V4 { addr, prefix } => (TAG_IPV4, *prefix, addr.octets().to_vec()),
                    Cidr::V6 { addr, prefix } => (TAG_IPV6, *prefix, addr.octets().to_vec()),
                };
                // RFC 9164: the prefix bytes, trailing zero bytes dropped.
                let keep = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i.saturating_add(1));
                put_head(o, 6, tag);
                put_head(o, 4, 2);
                put_head(o, 0, u64::from(prefix));
                put_bytes(o, bytes.get(..keep).unwrap_or(&[]));
            }
        });
    }
    if !m.catu.is_empty() {
        one(key::CATU, &|o| {
            // Each component once, in order of first mention.
            let mut comps: Vec<u8> = Vec::new();
            for (c, _, _) in &m.catu {
                if !comps.contains(c) {
                    comps.push(*c);
                }
            }
            put_head(o, 5, comps.len() as u64);
            for comp in comps {
                put_head(o, 0, u64::from(comp));
                let of: Vec<_> = m.catu.iter().filter(|(c, _, _)| *c == comp).collect();
                put_head(o, 5, of.len() as u64);
                for (_, kind, value) in of {
                    put_int(o, i64::from(*kind));
                    if *kind == -1 {
                        put_bytes(o, &Sha256::digest(value.as_bytes()));
                    } else {
                        put_text(o, value);
                    }
                }
            }
        });
    }
    if !m.catm.is_empty() {
        one(key::CATM, &|o| {
            put_head(o, 4, m.catm.len() as u64);
            for x in &m.catm {
                put_text(o, x);
            }
        });
    }
    let mut payload = Vec::new();
    put_head(&mut payload, 5, claims.len() as u64);
    for (k, v) in &claims {
        put_int(&mut payload, *k);
        payload.extend_from_slice(v);
    }
    let mut protected = Vec::new();
    put_head(&mut protected, 5, if m.crit.is_empty() { 2 } else { 3 });
    put_int(&mut protected, H_ALG);
    put_int(&mut protected, ALG_HS256);
    if !m.crit.is_empty() {
        put_int(&mut protected, H_CRIT);
        put_head(&mut protected, 4, m.crit.len() as u64);
        for l in &m.crit {
            put_int(&mut protected, *l);
        }
    }
    put_int(&mut protected, H_KID);
    put_bytes(&mut protected, m.kid.as_bytes());
    let tag = mac_tag(secret, &protected, &payload)?;
    let mut out = Vec::new();
    if m.cwt_tag {
        put_head(&mut out, 6, TAG_CWT);
    }
    put_head(&mut out, 6, TAG_MAC0);
    put_head(&mut out, 4, 4);
    put_bytes(&mut out, &protected);
    put_head(&mut out, 5, 0);
    put_bytes(&mut out, &payload);
    put_bytes(&mut out, &tag);
    Some(b64::encode(&out))
}

#[cfg(test)]
#[path = "cat_tests.rs"]
mod tests;

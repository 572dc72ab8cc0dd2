//! Scoped admin credentials (`docs/admin.md`): what a holder of less than
//! the root `LINKGATE_ADMIN_TOKEN` may do through the admin API.
//!
//! A credential is `lgc.` + base64url(body ‖ tag), verified at the edge
//! without a lookup: the tag is HMAC-SHA256 over the body under a key derived
//! from the root token with its own label ([`derive_key`]), so a credential
//! can never be taken for a link, a session token or a CAT, and rotating the
//! root token retires every credential it minted. The body (all integers
//! big-endian):
//!
//! ```text
//! version   u8        1
//! id        [u8; 16]  random: the denylist key (`credential:<hex>`) and the audit actor
//! iat, exp  u64, u64  Unix seconds
//! caps      u8        bit set of Capability (bits 5-7 zero, not empty)
//! name      u8 len ‖ 1-64 of A-Z a-z 0-9 . _ -
//! tenants   u8 count (0 = every tenant, else 1-16) ‖ each: u8 len ‖ tenant label
//! prefix    u16 len (0 = none) ‖ a canonical folder ending in /
//! tag       [u8; 32]
//! ```
//!
//! Decoding is strict (one text per credential: strict base64url, bounded
//! lengths, no byte after the tag). [`UntrustedCredential`] is what decoding
//! gives; only [`UntrustedCredential::verify`] makes a [`Credential`], after
//! the constant-time tag check and the time rules (the caller passes `now`).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::b64;
use super::path::{CanonicalPath, Prefix, Scope};
use super::revocation::RevocationScope;
use super::token::{Claims, Field, Label};

/// Text before the base64url body.
pub const PREFIX: &str = "lgc.";
/// Format version in the first body byte.
pub const VERSION: u8 = 1;
/// Longest credential text accepted (a full one is about 3,000 characters).
pub const MAX_CHARS: usize = 4096;
/// Longest name.
pub const MAX_NAME: usize = 64;
/// Most tenants one credential may name.
pub const MAX_TENANTS: usize = 16;
/// Longest lifetime (`exp - iat`): credentials are for people and jobs, and
/// their denylist entries must be able to expire (see `entry_expiry`).
pub const MAX_TTL_SECS: u64 = 400 * 86_400;
const TAG_BYTES: usize = 32;
const LABEL: &[u8] = b"linkgate admin credential v1";

/// One thing an admin call may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    LinksMint,
    LinksInspect,
    Revoke,
    EventsRead,
    FilesWrite,
}

impl Capability {
    pub const ALL: [Capability; 5] = [
        Capability::LinksMint,
        Capability::LinksInspect,
        Capability::Revoke,
        Capability::EventsRead,
        Capability::FilesWrite,
    ];

    /// Wire name (the OpenAPI document's `x-linkgate-capability`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Capability::LinksMint => "links:mint",
            Capability::LinksInspect => "links:inspect",
            Capability::Revoke => "revoke",
            Capability::EventsRead => "events:read",
            Capability::FilesWrite => "files:write",
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Capability::LinksMint => 1,
            Capability::LinksInspect => 2,
            Capability::Revoke => 4,
            Capability::EventsRead => 8,
            Capability::FilesWrite => 16,
        }
    }

    /// The wire name, or the short one the CLI accepts (`mint`, `inspect`,
    /// `revoke`, `events`, `files`).
    pub fn parse(s: &str) -> Option<Capability> {
        Some(match s {
            "links:mint" | "mint" => Capability::LinksMint,
            "links:inspect" | "inspect" => Capability::LinksInspect,
            "revoke" => Capability::Revoke,
            "events:read" | "events" => Capability::EventsRead,
            "files:write" | "files" | "upload" => Capability::FilesWrite,
            _ => return None,
        })
    }
}

/// Why an admin call with a credential was refused. Stable codes, listed in
/// `docs/edge.md` and `docs/admin-api.yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a credential, a wrong tag (another root token), or not yet valid.
    Invalid,
    /// At or after its `exp`.
    Expired,
    /// A `credential` denylist entry names it.
    Revoked,
    /// The route needs a capability the credential lacks.
    CapabilityMissing,
    /// The call reaches a tenant (or every tenant) the credential may not act for.
    TenantForbidden,
    /// The call reaches a path outside the credential's prefix.
    PrefixForbidden,
}

impl Refusal {
    pub const ALL: [Refusal; 6] = [
        Refusal::Invalid,
        Refusal::Expired,
        Refusal::Revoked,
        Refusal::CapabilityMissing,
        Refusal::TenantForbidden,
        Refusal::PrefixForbidden,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            Refusal::Invalid => "credential_invalid",
            Refusal::Expired => "credential_expired",
            Refusal::Revoked => "credential_revoked",
            Refusal::CapabilityMissing => "capability_missing",
            Refusal::TenantForbidden => "tenant_forbidden",
            Refusal::PrefixForbidden => "prefix_forbidden",
        }
    }

    /// 401 when the credential itself is no good, 403 when it is good but
    /// does not reach this far.
    pub const fn status(self) -> u16 {
        match self {
            Refusal::Invalid | Refusal::Expired | Refusal::Revoked => 401,
            _ => 403,
        }
    }

    pub const fn detail(self) -> &'static str {
        match self {
            Refusal::Invalid => "The admin credential is not valid for this worker.",
            Refusal::Expired => "The admin credential has expired.",
            Refusal::Revoked => "The admin credential has been revoked.",
            Refusal::CapabilityMissing => "The admin credential does not allow this call.",
            Refusal::TenantForbidden => "The admin credential may not act for this tenant.",
            Refusal::PrefixForbidden => "The admin credential may not reach this path.",
        }
    }
}

/// What a credential says, as minted or as decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub id: [u8; 16],
    pub name: String,
    /// `None`: every tenant.
    pub tenants: Option<Vec<Label>>,
    caps: u8,
    pub prefix: Option<Prefix>,
    pub iat: u64,
    pub exp: u64,
}

/// Why a credential could not be built (CLI) or decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    pub field: &'static str,
    pub detail: String,
}

fn bad(field: &'static str, detail: impl Into<String>) -> BuildError {
    BuildError { field, detail: detail.into() }
}

fn check_name(name: &str) -> Result<(), BuildError> {
    let ok = (1..=MAX_NAME).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(bad("name", "1-64 of A-Z a-z 0-9 . _ -"))
    }
}

impl Body {
    /// Check every field as the decoder will.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: [u8; 16],
        name: &str,
        tenants: Option<&[String]>,
        caps: &[Capability],
        prefix: Option<&str>,
        iat: u64,
        exp: u64,
    ) -> Result<Body, BuildError> {
        check_name(name)?;
        let tenants = match tenants {
            None => None,
            Some([]) => return Err(bad("tenant", "name at least one tenant, or every tenant")),
            Some(t) if t.len() > MAX_TENANTS => return Err(bad("tenant", "at most 16 tenants")),
            Some(t) => Some(
                t.iter()
                    .map(|s| Label::parse(Field::Tenant, s).map_err(|e| bad("tenant", e.to_string())))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let caps = caps.iter().fold(0u8, |a, c| a | c.bit());
        if caps == 0 {
            return Err(bad("can", "at least one capability"));
        }
        let prefix = match prefix {
            None => None,
            Some(p) => {
                let p =
                    Prefix::parse(p).map_err(|e| bad("prefix", format!("a folder ending in / ({})", e.as_str())))?;
                // "/" is every path: the same as no prefix, said once.
                (p.as_str() != "/").then_some(p)
            }
        };
        if exp <= iat || exp - iat > MAX_TTL_SECS {
            return Err(bad("ttl", "a lifetime of 1 second to 400 days"));
        }
        Ok(Body { id, name: name.to_owned(), tenants, caps, prefix, iat, exp })
    }

    pub fn capabilities(&self) -> impl Iterator<Item = Capability> + '_ {
        Capability::ALL.into_iter().filter(|c| self.caps & c.bit() != 0)
    }

    pub fn id_hex(&self) -> String {
        self.id.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The audit actor: `cred:<id hex>:<name>` (never the credential).
    pub fn actor(&self) -> String {
        format!("cred:{}:{}", self.id_hex(), self.name)
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.push(VERSION);
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&self.iat.to_be_bytes());
        out.extend_from_slice(&self.exp.to_be_bytes());
        out.push(self.caps);
        // Lengths are bounded by `new` (name ≤ 64, labels ≤ 128, ≤ 16 tenants,
        // a prefix ≤ 1024 bytes), so the casts cannot truncate.
        out.push(self.name.len() as u8);
        out.extend_from_slice(self.name.as_bytes());
        match &self.tenants {
            None => out.push(0),
            Some(t) => {
                out.push(t.len() as u8);
                for l in t {
                    out.push(l.as_str().len() as u8);
                    out.extend_from_slice(l.as_str().as_bytes());
                }
            }
        }
        let p = self.prefix.as_ref().map_or("", |p| p.as_str());
        out.extend_from_slice(&(p.len() as u16).to_be_bytes());
        out.extend_from_slice(p.as_bytes());
        out
    }

    /// The credential text, signed under `root` (the root admin token).
    pub fn sign(&self, root: &str) -> String {
        sign_bytes(root, &self.encode())
    }

    /// The signed bytes (everything before the tag).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode()
    }

    fn decode(b: &[u8]) -> Option<Body> {
        let mut r = Reader(b);
        if r.u8()? != VERSION {
            return None;
        }
        let id: [u8; 16] = r.take(16)?.try_into().ok()?;
        let iat = u64::from_be_bytes(r.take(8)?.try_into().ok()?);
        let exp = u64::from_be_bytes(r.take(8)?.try_into().ok()?);
        let caps = r.u8()?;
        let name_len = usize::from(r.u8()?);
        let name = core::str::from_utf8(r.take(name_len)?).ok()?.to_owned();
        let count = usize::from(r.u8()?);
        let tenants = if count == 0 {
            None
        } else {
            let mut t = Vec::with_capacity(count.min(MAX_TENANTS));
            for _ in 0..count {
                let len = usize::from(r.u8()?);
                t.push(core::str::from_utf8(r.take(len)?).ok()?.to_owned());
            }
            Some(t)
        };
        let plen = usize::from(u16::from_be_bytes(r.take(2)?.try_into().ok()?));
        let prefix = if plen == 0 { None } else { Some(core::str::from_utf8(r.take(plen)?).ok()?.to_owned()) };
        if !r.0.is_empty() {
            return None;
        }
        let caps_list: Vec<Capability> = Capability::ALL.into_iter().filter(|c| caps & c.bit() != 0).collect();
        if caps & !0x1f != 0 {
            return None;
        }
        let body = Body::new(id, &name, tenants.as_deref(), &caps_list, prefix.as_deref(), iat, exp).ok()?;
        // One encoding per credential: "/" as a prefix is refused, not folded.
        (body.prefix.is_some() || plen == 0).then_some(body)
    }
}

/// `lgc.` + base64url(body ‖ tag) for any body bytes: how [`Body::sign`]
/// finishes, public so the fuzz target can get arbitrary bodies past the tag.
pub fn sign_bytes(root: &str, body: &[u8]) -> String {
    let mut bytes = body.to_vec();
    if let Some(m) = mac(root, body) {
        bytes.extend_from_slice(&m.finalize().into_bytes());
    }
    format!("{PREFIX}{}", b64::encode(&bytes))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, b) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
}

/// The credential MAC over `body`, keyed with K = HMAC-SHA256(root, label):
/// the root token is never used directly as a MAC key for anything else.
/// (HMAC takes keys of any length; `None` is never seen in practice and
/// makes no valid tag.)
fn mac(root: &str, body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut k = <Hmac<Sha256> as Mac>::new_from_slice(root.as_bytes()).ok()?;
    k.update(LABEL);
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&k.finalize().into_bytes()).ok()?;
    m.update(body);
    Some(m)
}

/// A credential decoded but not verified: its claims are not to be believed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UntrustedCredential {
    body: Body,
    signed: Vec<u8>,
    tag: [u8; TAG_BYTES],
}

impl UntrustedCredential {
    /// Strict decoding of `lgc.` + base64url; `None` for anything else.
    pub fn decode(text: &str) -> Option<UntrustedCredential> {
        let b64 = text.strip_prefix(PREFIX)?;
        if text.len() > MAX_CHARS {
            return None;
        }
        let bytes = b64::decode(b64.as_bytes()).ok()?;
        let split = bytes.len().checked_sub(TAG_BYTES)?;
        let (signed, tag) = (bytes.get(..split)?, bytes.get(split..)?);
        let body = Body::decode(signed)?;
        Some(UntrustedCredential { body, signed: signed.to_vec(), tag: tag.try_into().ok()? })
    }

    /// What it claims (for `linkgate admin-token inspect`): untrusted.
    pub fn claims(&self) -> &Body {
        &self.body
    }

    /// Check the tag under `root` in constant time, then the time rules:
    /// `iat` at most `skew` ahead of `now`, `now` before `exp`.
    pub fn verify(self, root: &str, now: u64, skew: u64) -> Result<Credential, Refusal> {
        // `verify_slice` compares in constant time.
        if root.is_empty() || mac(root, &self.signed).is_none_or(|m| m.verify_slice(&self.tag).is_err()) {
            return Err(Refusal::Invalid);
        }
        if self.body.iat > now.saturating_add(skew) {
            return Err(Refusal::Invalid);
        }
        if now >= self.body.exp {
            return Err(Refusal::Expired);
        }
        Ok(Credential(self.body))
    }
}

/// A verified credential: only [`UntrustedCredential::verify`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential(Body);

impl Credential {
    pub fn body(&self) -> &Body {
        &self.0
    }
}

/// Who is calling the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The root `LINKGATE_ADMIN_TOKEN`: every capability, every tenant and path.
    Root,
    Scoped(Credential),
}

impl Principal {
    fn scoped(&self) -> Option<&Body> {
        match self {
            Principal::Root => None,
            Principal::Scoped(c) => Some(&c.0),
        }
    }

    pub fn require(&self, cap: Capability) -> Result<(), Refusal> {
        match self.scoped() {
            Some(b) if b.caps & cap.bit() == 0 => Err(Refusal::CapabilityMissing),
            _ => Ok(()),
        }
    }

    /// The tenants it is limited to (`None`: every tenant).
    pub fn tenants(&self) -> Option<&[Label]> {
        self.scoped().and_then(|b| b.tenants.as_deref())
    }

    /// The folder it is limited to (`None`: every path).
    pub fn prefix(&self) -> Option<&Prefix> {
        self.scoped().and_then(|b| b.prefix.as_ref())
    }

    /// Every tenant and every path (root, or a credential that says so).
    pub fn unrestricted(&self) -> bool {
        self.tenants().is_none() && self.prefix().is_none()
    }

    /// A credential for exactly one tenant: a link minted without a tenant
    /// gets it.
    pub fn default_tenant(&self) -> Option<&str> {
        match self.tenants() {
            Some([one]) => Some(one.as_str()),
            _ => None,
        }
    }

    /// May it act for a link (or event, entry) of this tenant? A tenant-
    /// limited credential never acts for something of no tenant.
    pub fn tenant_ok(&self, tenant: Option<&str>) -> bool {
        match self.tenants() {
            None => true,
            Some(ts) => tenant.is_some_and(|t| ts.iter().any(|l| l.as_str() == t)),
        }
    }

    pub fn path_ok(&self, path: &CanonicalPath) -> bool {
        self.prefix().is_none_or(|p| p.covers(path))
    }

    /// May it write this object? Objects have no tenant, so a credential
    /// limited to tenants writes only inside the folder it was given.
    pub fn upload_ok(&self, path: &CanonicalPath) -> Result<(), Refusal> {
        match (self.tenants(), self.prefix()) {
            (Some(_), None) => Err(Refusal::TenantForbidden),
            (_, Some(p)) if !p.covers(path) => Err(Refusal::PrefixForbidden),
            _ => Ok(()),
        }
    }

    /// A link scope: an object under the prefix, or a folder at or below it.
    pub fn scope_ok(&self, scope: &Scope) -> bool {
        match (self.prefix(), scope) {
            (None, _) => true,
            (Some(p), Scope::Object(o)) => p.covers(o),
            (Some(p), Scope::Prefix(f)) => f.as_str().starts_with(p.as_str()),
        }
    }

    /// A link's claims: its tenant, then its scope.
    pub fn link_ok(&self, c: &Claims) -> Result<(), Refusal> {
        if !self.tenant_ok(c.tenant.as_ref().map(Label::as_str)) {
            return Err(Refusal::TenantForbidden);
        }
        if !self.scope_ok(&c.scope) {
            return Err(Refusal::PrefixForbidden);
        }
        Ok(())
    }

    /// May it create, see or lift the denylist entry (`scope`, `value`)?
    /// `link_tenant` is the tenant of the revoked link for `jti` entries
    /// when known (`Some(None)`: a link of no tenant). See docs/admin.md.
    pub fn revocation_ok(
        &self,
        scope: RevocationScope,
        value: &str,
        link_tenant: Option<Option<&str>>,
    ) -> Result<(), Refusal> {
        if self.unrestricted() {
            return Ok(());
        }
        match scope {
            RevocationScope::Jti => match link_tenant {
                Some(t) if self.tenant_ok(t) => Ok(()),
                _ => Err(Refusal::TenantForbidden),
            },
            // A tenant entry revokes that tenant's links at every path.
            RevocationScope::Tenant if self.prefix().is_some() => Err(Refusal::PrefixForbidden),
            RevocationScope::Tenant if self.tenant_ok(Some(value)) => Ok(()),
            RevocationScope::Tenant => Err(Refusal::TenantForbidden),
            // A path entry revokes every link to it, of every tenant: only
            // inside a folder the credential was given.
            RevocationScope::Path => match self.prefix() {
                Some(p) if value.starts_with(p.as_str()) => Ok(()),
                Some(_) => Err(Refusal::PrefixForbidden),
                None => Err(Refusal::TenantForbidden),
            },
            // Recipients, keys, everything and other credentials are not any
            // one tenant's.
            RevocationScope::Sub | RevocationScope::Kid | RevocationScope::All | RevocationScope::Credential => {
                Err(Refusal::TenantForbidden)
            }
        }
    }

    /// The audit actor: `admin:<8 hex of the token's SHA-256>` for the root
    /// token (tells rotations apart), `cred:<id>:<name>` for a credential.
    pub fn actor(&self, root: &str) -> String {
        match self.scoped() {
            None => super::admin::credential_actor(root),
            Some(b) => b.actor(),
        }
    }
}

/// Who a bearer value is, or why it is refused: `Err(None)` is "no usable
/// bearer at all" (401 `unauthorized`), `Err(Some(..))` a credential that was
/// recognised and refused, with its actor when its tag verified.
pub fn authenticate(
    authorization: Option<&str>,
    root: &str,
    now: u64,
    skew: u64,
) -> Result<Principal, Option<(Refusal, Option<String>)>> {
    if super::admin::bearer_matches(authorization, root) {
        return Ok(Principal::Root);
    }
    let given = authorization
        .and_then(|h| h.split_once(' '))
        .and_then(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()))
        .ok_or(None)?;
    if !given.starts_with(PREFIX) {
        return Err(None);
    }
    let untrusted = UntrustedCredential::decode(given).ok_or(Some((Refusal::Invalid, None)))?;
    let actor = untrusted.body.actor();
    match untrusted.verify(root, now, skew) {
        Ok(c) => Ok(Principal::Scoped(c)),
        Err(Refusal::Invalid) => Err(Some((Refusal::Invalid, None))),
        Err(r) => Err(Some((r, Some(actor)))),
    }
}

#[cfg(test)]
#[path = "credential_tests.rs"]
mod tests;

//! Why the gate decided what it did: one typed reason per decision.
//!
//! A [`Code`] is the contract's coarse answer (and the HTTP status); a
//! [`Reason`] is the finer cause behind it, written to the audit event's
//! `reason` and shown by `inspect`. Every reason maps to at most one code in
//! [`Reason::code`], the one place that does so; reasons of requests that
//! were let through map to none. The wire names are stable and documented in
//! `docs/edge.md` ("Reasons").

use core::fmt;

use super::code::Code;
use super::path::PathError;
use super::revocation::RevocationScope;
use super::token::DecodeError;

/// The cause of a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    // ---- the request carries no usable token
    /// No `lg` (or `lgs`) parameter, nor a token in a small form body.
    NoToken,
    /// `lg` or `lgs` given more than once.
    DuplicateToken,
    /// Both `lg` and `lgs`.
    TwoTokens,
    /// The path failed canonicalization.
    Path(PathError),
    /// The token failed decoding.
    Token(DecodeError),
    /// The path is under `/_linkgate/` (in any spelling), reserved for the
    /// admin API: never an object.
    ReservedPath,
    /// The token names a key the ring does not hold.
    UnknownKid,
    /// The tag does not verify.
    BadTag,
    /// An Ed25519 link whose signature verified, signed by a public key
    /// constrained to another tenant or folder (`docs/link-format.md` §18.4).
    KeyConstraint,
    /// A Common Access Token failed decoding (`docs/cat.md`).
    Cat(super::cat::CatError),

    // ---- authentic Common Access Tokens linkgate will not honour
    /// `iss` is not one of `LINKGATE_CAT_ISSUERS`.
    CatIssuer,
    /// `aud` names none of `LINKGATE_CAT_AUDIENCES`.
    CatAudience,
    /// `crit` lists a claim or header linkgate does not implement.
    CatCritical,
    /// A restriction linkgate cannot evaluate (catu regex/query, catnip ASN),
    /// a `catv` other than 1, or an unknown `catreplay`.
    CatUnsupported,
    /// No `exp`: linkgate serves nothing without an end.
    CatNoExpiry,
    /// A `catu` component (scheme, path, parent path, filename, stem,
    /// extension) does not match.
    CatUri,

    // ---- authentic, but not valid for this request
    /// `iat` is further in the future than the allowed skew.
    IssuedInFuture,
    /// `nbf` is further in the future than the allowed skew.
    BeforeNbf,
    /// At or after `exp`.
    AfterExp,
    /// `exp - iat` exceeds `LINKGATE_MAX_TTL_SECS`.
    LifetimeOverMaximum,
    /// The path is outside the signed scope.
    OutsideScope,
    /// The request host differs from the signed host.
    OtherHost,
    /// The client address is outside every signed range.
    OutsideIpRanges,
    /// A method the link (or session) does not allow.
    Method,
    /// A denylist entry of this scope matches.
    Revoked(RevocationScope),
    /// Every use is consumed (and this client has no download to continue).
    UsedUp,
    /// A download-session URL used by a client with no open download (another
    /// client, or the grace window is over).
    SessionNotOpen,
    /// After `exp`, a continuation whose start (by this client, before `exp`)
    /// is not on record.
    NotStartedBeforeExp,
    /// A resume after `exp` for another object version than the one started.
    ResumeOtherVersion,
    /// The object does not exist.
    NoObject,
    /// The classification policy refuses (the rule is in the event's `rule`).
    Policy,
    /// The policy allows only presigned redirects, which this deployment does
    /// not configure.
    RedirectUnavailable,
    /// The Range header cannot be satisfied.
    Range,
    /// The object's rule requires an identity and the request's did not do
    /// (`docs/identity.md`; the refusal names which check).
    Identity(super::identity::IdentityRefusal),

    // ---- a store failed: fail closed
    /// The denylist (KV) could not be read.
    DenylistUnavailable,
    /// The strict revocation registry (Durable Object) is not bound, or could
    /// not be reached, for an object whose rule says `revocation: strict`.
    RegistryUnavailable,
    /// The usage counter (Durable Object) is not bound.
    UsageStoreMissing,
    /// The usage counter could not be reached or answered nonsense.
    UsageUnavailable,
    /// R2 could not be read.
    ObjectUnavailable,
    /// The object was replaced or deleted between its metadata and its body.
    ObjectChanged,
    /// The private origin sent no response headers within
    /// `LINKGATE_ORIGIN_TIMEOUT_MS`.
    OriginTimeout,
    /// The private origin could not be reached (connection, DNS, TLS).
    OriginUnreachable,
    /// The private origin refused the worker's signature or secret (401/403).
    OriginRefused,
    /// The private origin answered something unusable (5xx, a redirect,
    /// missing metadata, a body other than the one asked for).
    OriginError,

    // ---- let through
    /// A download (or HEAD, or 304) was served.
    Served,
    /// The scanner-safe landing page of a bounded-use link.
    LandingPage,
    /// A consuming POST from a browser was sent to its download session.
    DownloadSession,
    /// A Range continuation after `exp` of a download started before it.
    ResumeAfterExp,
    /// Sent to a seconds-long presigned storage URL (`302`, redirect mode).
    Redirected,
}

impl Reason {
    /// The contract code this reason answers with; None when the request
    /// was let through.
    pub const fn code(self) -> Option<Code> {
        Some(match self {
            Reason::NoToken => Code::TokenMissing,
            Reason::DuplicateToken | Reason::TwoTokens | Reason::Token(_) | Reason::Cat(_) => Code::TokenMalformed,
            Reason::CatIssuer
            | Reason::CatAudience
            | Reason::CatCritical
            | Reason::CatUnsupported
            | Reason::CatNoExpiry => Code::PolicyDenied,
            Reason::CatUri => Code::ScopeMismatch,
            Reason::Path(_) | Reason::ReservedPath => Code::PathInvalid,
            Reason::UnknownKid | Reason::KeyConstraint => Code::KeyUnknown,
            Reason::BadTag => Code::SignatureInvalid,
            Reason::IssuedInFuture | Reason::BeforeNbf => Code::NotYetValid,
            Reason::AfterExp | Reason::NotStartedBeforeExp | Reason::ResumeOtherVersion | Reason::SessionNotOpen => {
                Code::Expired
            }
            Reason::LifetimeOverMaximum | Reason::Policy | Reason::RedirectUnavailable => Code::PolicyDenied,
            Reason::OutsideScope => Code::ScopeMismatch,
            Reason::OtherHost => Code::HostMismatch,
            Reason::OutsideIpRanges => Code::IpMismatch,
            Reason::Method => Code::MethodNotAllowed,
            Reason::Revoked(_) => Code::Revoked,
            Reason::UsedUp => Code::UsedUp,
            Reason::NoObject => Code::NotFound,
            Reason::Range => Code::RangeNotSatisfiable,
            Reason::Identity(r) => {
                use super::identity::IdentityRefusal as I;
                match r {
                    I::Unconfigured | I::KeysUnavailable => Code::IdentityUnavailable,
                    I::NoSubject | I::OtherSubject | I::NotInGroup | I::Claim => Code::IdentityMismatch,
                    I::Stale => Code::ReauthRequired,
                    I::Missing
                    | I::Ambiguous
                    | I::Malformed(_)
                    | I::UnknownKey
                    | I::BadSignature
                    | I::Issuer
                    | I::Audience
                    | I::Expired
                    | I::NotYetValid => Code::IdentityRequired,
                }
            }
            Reason::DenylistUnavailable
            | Reason::RegistryUnavailable
            | Reason::UsageStoreMissing
            | Reason::UsageUnavailable
            | Reason::ObjectUnavailable
            | Reason::ObjectChanged
            | Reason::OriginTimeout
            | Reason::OriginUnreachable
            | Reason::OriginRefused
            | Reason::OriginError => Code::StoreUnavailable,
            Reason::Served
            | Reason::LandingPage
            | Reason::DownloadSession
            | Reason::ResumeAfterExp
            | Reason::Redirected => return None,
        })
    }

    /// The stable wire name (audit `reason`, `inspect`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::NoToken => "no_token",
            Reason::DuplicateToken => "duplicate_token",
            Reason::TwoTokens => "two_tokens",
            Reason::Path(e) => e.as_str(),
            Reason::Token(e) => e.name(),
            Reason::ReservedPath => "reserved_path",
            Reason::UnknownKid => "unknown_kid",
            Reason::BadTag => "bad_tag",
            Reason::KeyConstraint => "key_constraint",
            Reason::Cat(e) => e.name(),
            Reason::CatIssuer => "cat_issuer",
            Reason::CatAudience => "cat_audience",
            Reason::CatCritical => "cat_critical",
            Reason::CatUnsupported => "cat_unsupported",
            Reason::CatNoExpiry => "cat_no_expiry",
            Reason::CatUri => "cat_uri",
            Reason::IssuedInFuture => "issued_in_future",
            Reason::BeforeNbf => "before_nbf",
            Reason::AfterExp => "after_exp",
            Reason::LifetimeOverMaximum => "lifetime_over_maximum",
            Reason::OutsideScope => "outside_scope",
            Reason::OtherHost => "other_host",
            Reason::OutsideIpRanges => "outside_ip_ranges",
            Reason::Method => "method",
            Reason::Revoked(s) => match s {
                RevocationScope::Jti => "revoked_jti",
                RevocationScope::Sub => "revoked_sub",
                RevocationScope::Tenant => "revoked_tenant",
                RevocationScope::Path => "revoked_path",
                RevocationScope::Kid => "revoked_kid",
                RevocationScope::All => "revoked_all",
                RevocationScope::Credential => "revoked_credential",
            },
            Reason::UsedUp => "used_up",
            Reason::SessionNotOpen => "session_not_open",
            Reason::NotStartedBeforeExp => "not_started_before_exp",
            Reason::ResumeOtherVersion => "resume_other_version",
            Reason::NoObject => "no_object",
            Reason::Policy => "policy",
            Reason::RedirectUnavailable => "redirect_unavailable",
            Reason::Range => "range",
            Reason::Identity(r) => r.as_str(),
            Reason::DenylistUnavailable => "denylist_unavailable",
            Reason::RegistryUnavailable => "registry_unavailable",
            Reason::UsageStoreMissing => "usage_store_missing",
            Reason::UsageUnavailable => "usage_unavailable",
            Reason::ObjectUnavailable => "object_unavailable",
            Reason::ObjectChanged => "object_changed",
            Reason::OriginTimeout => "origin_timeout",
            Reason::OriginUnreachable => "origin_unreachable",
            Reason::OriginRefused => "origin_refused",
            Reason::OriginError => "origin_error",
            Reason::Served => "served",
            Reason::LandingPage => "landing_page",
            Reason::DownloadSession => "download_session",
            Reason::ResumeAfterExp => "resume_after_exp",
            Reason::Redirected => "redirected",
        }
    }

    /// Refusals of requests that never authenticated: aggregatable, and no
    /// claim of theirs is believed.
    pub const fn is_unauthenticated(self) -> bool {
        matches!(
            self,
            Reason::NoToken
                | Reason::DuplicateToken
                | Reason::TwoTokens
                | Reason::Path(_)
                | Reason::ReservedPath
                | Reason::Token(_)
                | Reason::UnknownKid
                | Reason::BadTag
                | Reason::KeyConstraint
                | Reason::Cat(_)
        )
    }
}

impl Reason {
    /// The reason of an origin failure.
    pub const fn of_origin(f: super::origin::OriginFailure) -> Reason {
        use super::origin::OriginFailure;
        match f {
            OriginFailure::Timeout => Reason::OriginTimeout,
            OriginFailure::Unreachable => Reason::OriginUnreachable,
            OriginFailure::Refused => Reason::OriginRefused,
            OriginFailure::Error => Reason::OriginError,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityRefusal as I;

    /// One representative of every variant (tuple variants once each).
    pub(crate) const SAMPLES: [Reason; 67] = [
        Reason::ReservedPath,
        Reason::NoToken,
        Reason::DuplicateToken,
        Reason::TwoTokens,
        Reason::Path(PathError::DotSegment),
        Reason::Token(DecodeError::BadEncoding),
        Reason::UnknownKid,
        Reason::BadTag,
        Reason::KeyConstraint,
        Reason::IssuedInFuture,
        Reason::BeforeNbf,
        Reason::AfterExp,
        Reason::LifetimeOverMaximum,
        Reason::OutsideScope,
        Reason::OtherHost,
        Reason::OutsideIpRanges,
        Reason::Method,
        Reason::Revoked(RevocationScope::Kid),
        Reason::UsedUp,
        Reason::SessionNotOpen,
        Reason::NotStartedBeforeExp,
        Reason::ResumeOtherVersion,
        Reason::NoObject,
        Reason::Policy,
        Reason::RedirectUnavailable,
        Reason::Range,
        Reason::DenylistUnavailable,
        Reason::RegistryUnavailable,
        Reason::UsageStoreMissing,
        Reason::UsageUnavailable,
        Reason::ObjectUnavailable,
        Reason::ObjectChanged,
        Reason::OriginTimeout,
        Reason::OriginUnreachable,
        Reason::OriginRefused,
        Reason::OriginError,
        Reason::Served,
        Reason::LandingPage,
        Reason::DownloadSession,
        Reason::ResumeAfterExp,
        Reason::Redirected,
        Reason::Revoked(RevocationScope::Jti),
        Reason::Path(PathError::EncodedSlash),
        Reason::Token(DecodeError::Truncated),
        Reason::Cat(crate::cat::CatError::Cbor),
        Reason::CatIssuer,
        Reason::CatAudience,
        Reason::CatCritical,
        Reason::CatUnsupported,
        Reason::CatNoExpiry,
        Reason::CatUri,
        Reason::Identity(I::Unconfigured),
        Reason::Identity(I::Missing),
        Reason::Identity(I::Ambiguous),
        Reason::Identity(I::Malformed(crate::jwt::JwtError::AlgNone)),
        Reason::Identity(I::KeysUnavailable),
        Reason::Identity(I::UnknownKey),
        Reason::Identity(I::BadSignature),
        Reason::Identity(I::Issuer),
        Reason::Identity(I::Audience),
        Reason::Identity(I::Expired),
        Reason::Identity(I::NotYetValid),
        Reason::Identity(I::NoSubject),
        Reason::Identity(I::OtherSubject),
        Reason::Identity(I::NotInGroup),
        Reason::Identity(I::Claim),
        Reason::Identity(I::Stale),
    ];

    #[test]
    fn names_are_unique_and_documented() {
        let doc = include_str!("../../../docs/edge.md");
        let mut seen = std::collections::HashSet::new();
        for r in SAMPLES {
            assert!(seen.insert(r.as_str()), "duplicate reason name {r}");
            // Path and token reasons are documented with the link format, the
            // assertion reader's (`jwt_*`) in docs/identity.md.
            if !matches!(r, Reason::Path(_) | Reason::Token(_) | Reason::Cat(_) | Reason::Identity(I::Malformed(_))) {
                assert!(doc.contains(&format!("`{r}`")), "docs/edge.md does not document reason `{r}`");
            }
        }
        for s in RevocationScope::ALL {
            assert!(doc.contains(&format!("`{}`", Reason::Revoked(s))), "revoked_{}", s.as_str());
        }
    }

    #[test]
    fn unauthenticated_reasons_are_exactly_the_contracts_aggregatable_codes() {
        for r in SAMPLES {
            let aggregatable = matches!(
                r.code(),
                Some(Code::TokenMissing | Code::TokenMalformed | Code::PathInvalid)
                    | Some(Code::SignatureInvalid | Code::KeyUnknown)
            );
            assert_eq!(r.is_unauthenticated(), aggregatable, "{r}");
        }
    }

    #[test]
    fn let_through_reasons_have_no_code() {
        for r in
            [Reason::Served, Reason::LandingPage, Reason::DownloadSession, Reason::ResumeAfterExp, Reason::Redirected]
        {
            assert_eq!(r.code(), None);
        }
        assert_eq!(Reason::Revoked(RevocationScope::Kid).code(), Some(Code::Revoked));
        assert_eq!(Reason::SessionNotOpen.code(), Some(Code::Expired));
    }
}

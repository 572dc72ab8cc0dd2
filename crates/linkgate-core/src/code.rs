//! Stable refusal codes: the `code` member of every problem response, the
//! `code` of an audit event, and the verdict of `linkgate inspect`.
//!
//! The string form and the HTTP status of each code are part of the public
//! contract (`docs/link-format.md`, `../shared/PRODUCT.md`); never rename one.

use core::fmt;

/// Why a request was refused. Each variant maps to exactly one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// No `lg` parameter (401).
    TokenMissing,
    /// The token cannot be decoded or its claims are structurally invalid (400).
    TokenMalformed,
    /// The request path fails canonicalization (400).
    PathInvalid,
    /// The tag does not verify under the named key (403).
    SignatureInvalid,
    /// The token names a key id that is not in the key ring (403).
    KeyUnknown,
    /// The canonical path is outside the signed scope (403).
    ScopeMismatch,
    /// The request host differs from the signed host (403).
    HostMismatch,
    /// The client address is outside every signed CIDR (403).
    IpMismatch,
    /// Method other than GET/HEAD (or POST for bounded-use links) (405).
    MethodNotAllowed,
    /// Before `nbf` / `iat`, even with the allowed clock skew (403).
    NotYetValid,
    /// Configuration or classification policy refuses the link (403).
    PolicyDenied,
    /// At or after `exp` (410).
    Expired,
    /// A denylist entry matches (410).
    Revoked,
    /// Every allowed use has been consumed (410).
    UsedUp,
    /// The object does not exist (404).
    NotFound,
    /// The Range header cannot be satisfied (416).
    RangeNotSatisfiable,
    /// The denylist or the usage store could not be reached: fail closed (503).
    StoreUnavailable,
    /// The object's rule requires a signed-in identity and the request
    /// carries no valid one (401; `docs/identity.md`).
    IdentityRequired,
    /// A valid identity that is not the link's recipient, or lacks a group
    /// or claim the rule requires (403).
    IdentityMismatch,
    /// The recipient, but signed in longer ago than the rule allows (401).
    ReauthRequired,
    /// The identity cannot be checked: the provider's keys cannot be had,
    /// or no identity source is configured: fail closed (503).
    IdentityUnavailable,
}

impl Code {
    /// Every code, for exhaustive tests and documentation.
    pub const ALL: [Code; 21] = [
        Code::TokenMissing,
        Code::TokenMalformed,
        Code::PathInvalid,
        Code::SignatureInvalid,
        Code::KeyUnknown,
        Code::ScopeMismatch,
        Code::HostMismatch,
        Code::IpMismatch,
        Code::MethodNotAllowed,
        Code::NotYetValid,
        Code::PolicyDenied,
        Code::Expired,
        Code::Revoked,
        Code::UsedUp,
        Code::NotFound,
        Code::RangeNotSatisfiable,
        Code::StoreUnavailable,
        Code::IdentityRequired,
        Code::IdentityMismatch,
        Code::ReauthRequired,
        Code::IdentityUnavailable,
    ];

    /// The stable wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::TokenMissing => "token_missing",
            Code::TokenMalformed => "token_malformed",
            Code::PathInvalid => "path_invalid",
            Code::SignatureInvalid => "signature_invalid",
            Code::KeyUnknown => "key_unknown",
            Code::ScopeMismatch => "scope_mismatch",
            Code::HostMismatch => "host_mismatch",
            Code::IpMismatch => "ip_mismatch",
            Code::MethodNotAllowed => "method_not_allowed",
            Code::NotYetValid => "not_yet_valid",
            Code::PolicyDenied => "policy_denied",
            Code::Expired => "expired",
            Code::Revoked => "revoked",
            Code::UsedUp => "used_up",
            Code::NotFound => "not_found",
            Code::RangeNotSatisfiable => "range_not_satisfiable",
            Code::StoreUnavailable => "store_unavailable",
            Code::IdentityRequired => "identity_required",
            Code::IdentityMismatch => "identity_mismatch",
            Code::ReauthRequired => "reauth_required",
            Code::IdentityUnavailable => "identity_unavailable",
        }
    }

    /// The HTTP status the edge answers with.
    pub const fn status(self) -> u16 {
        match self {
            Code::TokenMissing | Code::IdentityRequired | Code::ReauthRequired => 401,
            Code::TokenMalformed | Code::PathInvalid => 400,
            Code::SignatureInvalid
            | Code::KeyUnknown
            | Code::ScopeMismatch
            | Code::HostMismatch
            | Code::IpMismatch
            | Code::NotYetValid
            | Code::PolicyDenied
            | Code::IdentityMismatch => 403,
            Code::MethodNotAllowed => 405,
            Code::Expired | Code::Revoked | Code::UsedUp => 410,
            Code::NotFound => 404,
            Code::RangeNotSatisfiable => 416,
            Code::StoreUnavailable | Code::IdentityUnavailable => 503,
        }
    }

    /// A short, human explanation. Never contains request data.
    pub const fn detail(self) -> &'static str {
        match self {
            Code::TokenMissing => "This address needs a download link; the link's token is missing.",
            Code::TokenMalformed => "The link's token is damaged or incomplete.",
            Code::PathInvalid => "The requested path is not a valid file path.",
            Code::SignatureInvalid => "The link's signature does not match; it may have been altered.",
            Code::KeyUnknown => "The link was signed with a key this service does not know.",
            Code::ScopeMismatch => "The link is not valid for this file.",
            Code::HostMismatch => "The link is not valid on this host.",
            Code::IpMismatch => "The link is not valid from this network address.",
            Code::MethodNotAllowed => "This method is not allowed for download links.",
            Code::NotYetValid => "The link is not valid yet.",
            Code::PolicyDenied => "The link asks for more than this file's policy allows.",
            Code::Expired => "The link has expired.",
            Code::Revoked => "The link has been revoked.",
            Code::UsedUp => "The link has been used the maximum number of times.",
            Code::NotFound => "The file does not exist.",
            Code::RangeNotSatisfiable => "The requested byte range cannot be served.",
            Code::StoreUnavailable => "The link cannot be checked right now; try again shortly.",
            Code::IdentityRequired => "This file opens only for the person the link was sent to; sign in first.",
            Code::IdentityMismatch => {
                "This link was sent to someone else, or your account lacks the access this file needs."
            }
            Code::ReauthRequired => "This file needs a recent sign-in; sign in again.",
            Code::IdentityUnavailable => "Your sign-in cannot be checked right now; try again shortly.",
        }
    }

    /// Parse a wire name back (for the CLI, vectors and the admin API).
    pub fn from_wire(s: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "duplicate wire name {c}");
            assert_eq!(Code::from_wire(c.as_str()), Some(c));
        }
        assert_eq!(Code::from_wire("nope"), None);
    }

    #[test]
    fn statuses_follow_the_contract_table() {
        let table = [
            ("token_missing", 401),
            ("token_malformed", 400),
            ("path_invalid", 400),
            ("signature_invalid", 403),
            ("key_unknown", 403),
            ("scope_mismatch", 403),
            ("host_mismatch", 403),
            ("ip_mismatch", 403),
            ("method_not_allowed", 405),
            ("not_yet_valid", 403),
            ("policy_denied", 403),
            ("expired", 410),
            ("revoked", 410),
            ("used_up", 410),
            ("not_found", 404),
            ("range_not_satisfiable", 416),
            ("store_unavailable", 503),
            ("identity_required", 401),
            ("identity_mismatch", 403),
            ("reauth_required", 401),
            ("identity_unavailable", 503),
        ];
        assert_eq!(table.len(), Code::ALL.len());
        for (name, status) in table {
            let code = Code::from_wire(name).unwrap();
            assert_eq!(code.status(), status, "{name}");
        }
    }
}

//! Audit events: one structured JSON object per decision.
//!
//! The type has no field that could hold a token or a key, so no code path
//! can log one by mistake.

use serde::Serialize;

use super::code::Code;
use super::token::Claims;

/// What happened to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Bytes (or headers, for HEAD) were served.
    Allowed,
    /// 304: the client's copy is current.
    NotModified,
    /// Refused with a problem response.
    Refused,
    /// An admin API call (the action is in `reason`).
    Admin,
}

/// One decision.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct AuditEvent {
    /// Unix seconds.
    pub time: u64,
    pub request_id: String,
    pub method: String,
    pub jti: Option<String>,
    pub kid: Option<String>,
    pub sub: Option<String>,
    pub tenant: Option<String>,
    /// Canonical path (decoded); absent when the path was refused.
    pub path: Option<String>,
    pub outcome: Option<Outcome>,
    pub status: u16,
    pub code: Option<&'static str>,
    /// Finer reason behind `code` (which rule of the path, time, ...).
    pub reason: Option<&'static str>,
    /// The policy rule that decided (classification rule name).
    pub rule: Option<String>,
    pub mode: Option<&'static str>,
    pub bytes: Option<u64>,
    pub cache: Option<&'static str>,
    pub client_ip: Option<String>,
    pub country: Option<String>,
    pub user_agent: Option<String>,
    /// `edge` (admin API) or `offline` (CLI/JS signer), when known.
    pub issued_by: Option<String>,
}

/// Longest user agent kept.
pub const MAX_USER_AGENT: usize = 256;

impl AuditEvent {
    /// Copy the link's identifying claims into the event.
    pub fn with_claims(&mut self, c: &Claims) {
        self.jti = Some(c.jti.to_hex());
        self.kid = Some(c.kid.as_str().to_owned());
        self.sub = c.sub.as_ref().map(|s| s.as_str().to_owned());
        self.tenant = c.tenant.as_ref().map(|s| s.as_str().to_owned());
    }

    /// Record a refusal.
    pub fn refuse(&mut self, code: Code, reason: &'static str) {
        self.outcome = Some(Outcome::Refused);
        self.status = code.status();
        self.code = Some(code.as_str());
        self.reason = Some(reason);
    }

    /// Keep at most [`MAX_USER_AGENT`] bytes of a user agent, on a char boundary.
    pub fn set_user_agent(&mut self, ua: &str) {
        let mut end = ua.len().min(MAX_USER_AGENT);
        while !ua.is_char_boundary(end) {
            end -= 1;
        }
        self.user_agent = ua.get(..end).map(str::to_owned);
    }

    /// The log line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_fields_and_truncation() {
        let mut e = AuditEvent { time: 5, request_id: "r".into(), ..Default::default() };
        e.refuse(Code::Expired, "after_exp");
        e.set_user_agent(&"é".repeat(200));
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["outcome"], "refused");
        assert_eq!(v["status"], 410);
        assert_eq!(v["code"], "expired");
        assert!(v["user_agent"].as_str().unwrap().len() <= MAX_USER_AGENT);
    }
}

//! RFC 9457 problem responses. They carry the stable `code`, a short human
//! `detail`, and never any part of the request (so never the token).

use super::code::Code;
use super::json::Object;

/// The `type` URI of a code's problem.
pub fn type_uri(code: Code) -> String {
    format!("urn:linkgate:problem:{}", code.as_str())
}

/// The short title of a code's problem: its HTTP reason phrase.
pub const fn title(code: Code) -> &'static str {
    match code.status() {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        410 => "Gone",
        416 => "Range Not Satisfiable",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// Whether a `refresh` link is offered: the link was fine but has run out.
pub const fn offers_refresh(code: Code) -> bool {
    matches!(code, Code::Expired | Code::Revoked | Code::UsedUp)
}

/// Fill `{path}` (percent-encoded canonical path) and `{jti}` in the
/// configured refresh URL template.
pub fn refresh_url(template: &str, encoded_path: Option<&str>, jti_hex: Option<&str>) -> String {
    template.replace("{path}", encoded_path.unwrap_or("")).replace("{jti}", jti_hex.unwrap_or(""))
}

/// The JSON body. `refresh` is included only for codes that offer it.
pub fn body(code: Code, refresh: Option<&str>, request_id: Option<&str>) -> String {
    fields(code, refresh, request_id).finish().into_string()
}

/// The body's members, for a caller that adds its own before closing it.
pub fn fields(code: Code, refresh: Option<&str>, request_id: Option<&str>) -> Object {
    let mut o = Object::new()
        .str("type", &type_uri(code))
        .str("title", title(code))
        .num("status", u64::from(code.status()))
        .str("code", code.as_str())
        .str("detail", code.detail());
    if let (true, Some(r)) = (offers_refresh(code), refresh) {
        o = o.str("refresh", r);
    }
    if let Some(id) = request_id {
        o = o.str("request_id", id);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_problem_body() {
        for code in Code::ALL {
            let v: serde_json::Value =
                serde_json::from_str(&body(code, Some("https://r.example/"), Some("req-1"))).unwrap();
            assert_eq!(v["code"], code.as_str());
            assert_eq!(v["status"], code.status());
            assert_eq!(v["type"], format!("urn:linkgate:problem:{code}"));
            assert_ne!(title(code), "Error", "{code}");
            assert_eq!(v.get("refresh").is_some(), offers_refresh(code), "{code}");
            assert_eq!(v["request_id"], "req-1");
        }
    }

    #[test]
    fn refresh_template() {
        assert_eq!(
            refresh_url("https://app.example/renew?f={path}&j={jti}", Some("%2Fa%20b"), Some("ab")),
            "https://app.example/renew?f=%2Fa%20b&j=ab"
        );
    }
}

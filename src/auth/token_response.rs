//! The tolerant token-response reader (RFC 6749 section 5, as real providers send it): any
//! answer that carries an access token is accepted, whatever else is odd about it; only an
//! answer with none is refused, and then the error names the provider's error code (or what
//! was missing) with the status and content type, never the body.
//!
//! Field deviations it reads (see tests/field/ for the sources): numbers as strings
//! (Azure AD v1), `token_type` absent or in any case (LinkedIn, Shopify, Slack's `bot`),
//! `scope` space- or comma-separated or a JSON array (GitHub, Slack, Twitch), `expires_in`
//! absent, `0`, non-numeric or absurd (Salesforce, Mailchimp, WSO2, TikTok Shop) meaning
//! "expiry unknown", `expires` (legacy Facebook) and an absolute `expires_at` (Square,
//! Strava), form-encoded bodies whatever the content type (GitHub), errors sent with
//! HTTP 200 (GitHub, Slack's `ok: false`), JSON sent as text/plain (Kanidm), and the token
//! under another object (`token_path`: Slack's `/authed_user`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::{ErrorKind, OAuthError};
use crate::core::secret::Secret;

/// What a token response carried.
#[derive(Debug, Clone)]
pub(crate) struct Tokens {
    pub(crate) access_token: Secret<String>,
    pub(crate) refresh_token: Option<Secret<String>>,
    /// Unix seconds; `None` when the answer gave no sane lifetime.
    pub(crate) expires_at: Option<u64>,
    /// Granted scopes: from the answer, else the requested ones.
    pub(crate) scopes: Vec<String>,
    /// Other string and number fields (never those named token or secret).
    pub(crate) extra: BTreeMap<String, String>,
}

/// An `expires_in` above this (ten years, in seconds) is not a lifetime: WSO2 sends
/// `Long.MAX_VALUE / 1000` for "never", TikTok Shop a Unix timestamp.
pub(crate) const MAX_LIFETIME_SECS: u64 = 10 * 365 * 24 * 3600;

/// One token-endpoint answer, as received.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Answer<'a> {
    pub(crate) status: u16,
    /// The `Content-Type` header, verbatim ("" when absent).
    pub(crate) content_type: &'a str,
    pub(crate) body: &'a [u8],
}

/// How to read an answer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reading<'a> {
    /// What conn was doing, for the error ("refreshing the access token").
    pub(crate) what: &'a str,
    /// JSON pointer to the object holding the token fields (Slack's `/authed_user`).
    pub(crate) token_path: Option<&'a str>,
    /// Scopes asked for: granted ones when the answer does not list any.
    pub(crate) requested: &'a [String],
    /// Unix seconds, for `expires_at`.
    pub(crate) now: u64,
}

/// Reads a token response. `Err` only when it carries no access token; the error's kind says
/// what to do: `InvalidGrant` (sign in again), `InvalidClient` (the client credentials were
/// rejected), `Unreachable` (HTML, 5xx, 429: try later), `Denied`, `Server` (another OAuth
/// error, named), `BadResponse` (a 2xx without a token).
pub(crate) fn read(a: Answer<'_>, r: Reading<'_>) -> Result<Tokens, OAuthError> {
    let Some(doc) = parse(a.body) else {
        return Err(unparsable(a, r.what));
    };
    let root = r
        .token_path
        .and_then(|p| doc.pointer(p))
        .filter(|v| v.is_object())
        .unwrap_or(&doc);
    match text(root.get("access_token")) {
        Some(token) => Ok(tokens(&doc, root, token, r)),
        None => Err(refused(a, &doc, r)),
    }
}

/// The body as a JSON object: JSON whatever the content type says, else a form-encoded body
/// (GitHub's default, sometimes labelled JSON). `None` for anything else.
fn parse(body: &[u8]) -> Option<Value> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return v.is_object().then_some(v);
    }
    let text = std::str::from_utf8(body).ok()?.trim();
    let form_like = !text.is_empty()
        && !text.starts_with(['<', '{', '['])
        && text.contains('=')
        && !text.contains(char::is_whitespace);
    if !form_like {
        return None;
    }
    let map: Map<String, Value> = url::form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    Some(Value::Object(map))
}

/// "HTTP 500, text/html" for messages.
fn described(a: Answer<'_>) -> String {
    let ct = a.content_type.split(';').next().unwrap_or("").trim();
    if ct.is_empty() {
        format!("HTTP {}, no content type", a.status)
    } else {
        format!("HTTP {}, {ct}", a.status)
    }
}

fn unparsable(a: Answer<'_>, what: &str) -> OAuthError {
    let first = a.body.iter().find(|b| !b.is_ascii_whitespace());
    let html = first == Some(&b'<') || a.content_type.to_ascii_lowercase().starts_with("text/html");
    let shape = match first {
        None => "an empty body",
        _ if html => "an HTML page",
        Some(b'{' | b'[') => "malformed JSON",
        _ => "a body that is neither JSON nor form-encoded",
    };
    // An HTML page (a proxy's block page, a maintenance page) or a server error is the
    // provider being unreachable, not a verdict on the grant.
    let kind = if html || a.status >= 500 || a.status == 429 {
        ErrorKind::Unreachable
    } else {
        ErrorKind::BadResponse
    };
    OAuthError::new(
        kind,
        format!(
            "{what}: the authorization server answered {shape} ({}), not an OAuth token response",
            described(a)
        ),
    )
}

/// The error of an answer without an access token.
fn refused(a: Answer<'_>, doc: &Value, r: Reading<'_>) -> OAuthError {
    let code = text(doc.get("error"))
        .or_else(|| text(doc.pointer("/error/code")))
        .or_else(|| text(doc.pointer("/error/type")));
    let Some(code) = code else {
        let kind = match a.status {
            401 => ErrorKind::InvalidClient,
            429 | 500.. => ErrorKind::Unreachable,
            _ => ErrorKind::BadResponse,
        };
        let missing = match r.token_path {
            Some(p) => format!("no access_token (looked under {p} and at the top level)"),
            None => "no access_token".to_string(),
        };
        return OAuthError::new(
            kind,
            format!(
                "{}: the authorization server's answer ({}) has {missing}",
                r.what,
                described(a)
            ),
        );
    };
    let desc = text(doc.get("error_description"))
        .or_else(|| text(doc.pointer("/error/message")))
        .map(|d| format!(": {}", short(&d)))
        .unwrap_or_default();
    let kind = match code.as_str() {
        _ if a.status >= 500 || a.status == 429 => ErrorKind::Unreachable,
        "invalid_grant" => ErrorKind::InvalidGrant,
        // GitHub's own name for a wrong client id or secret, sent with HTTP 200.
        "invalid_client" | "unauthorized_client" | "incorrect_client_credentials" => {
            ErrorKind::InvalidClient
        }
        // RFC 6749 5.2: a 401 from the token endpoint is failed client authentication
        // (UAA says "unauthorized").
        _ if a.status == 401 => ErrorKind::InvalidClient,
        "access_denied" | "expired_token" => ErrorKind::Denied,
        _ => ErrorKind::Server,
    };
    OAuthError::new(
        kind,
        format!(
            "{}: the authorization server answered {}{desc} ({})",
            r.what,
            short(&code),
            described(a)
        ),
    )
}

/// Provider text quoted in a message: one line, control characters written as visible escapes
/// (so the reader sees what the server sent, and nothing can drive the terminal), at most 200
/// characters.
fn short(s: &str) -> String {
    let line = crate::core::text::one_line(s);
    let mut t: String = line.chars().take(200).collect();
    if line.chars().count() > 200 {
        t.push('…');
    }
    t
}

fn tokens(doc: &Value, root: &Value, access: String, r: Reading<'_>) -> Tokens {
    let lifetime = lifetime(root, r.now);
    Tokens {
        access_token: Secret::new(access),
        refresh_token: text(root.get("refresh_token")).map(Secret::new),
        expires_at: lifetime.map(|l| crate::core::time::unix_after(r.now, l)),
        scopes: scopes(root.get("scope")).unwrap_or_else(|| r.requested.to_vec()),
        extra: extra(doc, root),
    }
}

/// A non-empty string, or a number as text.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A non-negative whole number, given as a JSON number or a string ("3599").
fn number(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| *f >= 0.0 && f.is_finite())
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
}

/// Seconds the access token lives, where the answer says so sanely: `expires_in` (or legacy
/// Facebook's `expires`), else an absolute `expires_at` (Unix seconds or RFC 3339). `0`,
/// absurd and unreadable values are "unknown".
fn lifetime(root: &Value, now: u64) -> Option<u64> {
    let sane = |s: u64| (1..=MAX_LIFETIME_SECS).contains(&s).then_some(s);
    if let Some(s) = number(root.get("expires_in")).or_else(|| number(root.get("expires"))) {
        return sane(s);
    }
    let at = root.get("expires_at")?;
    let at = number(Some(at)).or_else(|| {
        let t = humantime::parse_rfc3339_weak(at.as_str()?.trim()).ok()?;
        Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs())
    })?;
    sane(at.checked_sub(now)?)
}

/// Granted scopes: a space- or comma-separated string, or an array; `None` when the answer
/// lists none (absent or `null`), `Some([])` for an empty string.
fn scopes(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::String(s) => Some(
            s.split([' ', ','])
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        Value::Array(a) => Some(
            a.iter()
                .filter_map(|x| x.as_str())
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        _ => None,
    }
}

/// Other string and number fields of the answer (Salesforce's `instance_url`), for inputs
/// captured from the sign-in. Fields whose name says token or secret are left out, from the
/// top level and from the token object alike.
fn extra(doc: &Value, root: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for obj in [doc, root] {
        let Some(map) = obj.as_object() else { continue };
        for (k, v) in map {
            if k.contains("token") || k.contains("secret") {
                continue;
            }
            if let Some(t) = text(Some(v)) {
                out.insert(k.clone(), t);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn ok(status: u16, ct: &str, body: &str) -> Tokens {
        read_with(status, ct, body, None).unwrap()
    }

    fn read_with(
        status: u16,
        ct: &str,
        body: &str,
        token_path: Option<&str>,
    ) -> Result<Tokens, OAuthError> {
        read(
            Answer {
                status,
                content_type: ct,
                body: body.as_bytes(),
            },
            Reading {
                what: "test",
                token_path,
                requested: &["asked".to_string()],
                now: NOW,
            },
        )
    }

    #[test]
    fn numbers_as_strings_and_no_token_type() {
        let t = ok(
            200,
            "application/json",
            r#"{"access_token":"a","expires_in":"3599"}"#,
        );
        assert_eq!(t.access_token.expose(), "a");
        assert_eq!(t.expires_at, Some(NOW + 3599));
        assert_eq!(t.scopes, ["asked"]);
    }

    #[test]
    fn unknown_expiry_is_never_already_expired() {
        for e in [
            r#""expires_in":0"#,
            r#""expires_in":9223372036854775"#,
            r#""expires_in":"soon""#,
            r#""expires_in":-5"#,
            r#""expires_in":null"#,
            r#""expires_in":1767225600"#,
        ] {
            let t = ok(
                200,
                "application/json",
                &format!(r#"{{"access_token":"a",{e}}}"#),
            );
            assert_eq!(t.expires_at, None, "{e}");
        }
    }

    #[test]
    fn absolute_expiry_and_legacy_expires() {
        let t = ok(
            200,
            "application/json",
            r#"{"access_token":"a","expires_at":"2028-01-15T08:00:00Z"}"#,
        );
        assert!(t.expires_at.is_some_and(|e| e > NOW));
        let t = ok(200, "text/plain", "access_token=a&expires=5108");
        assert_eq!(t.expires_at, Some(NOW + 5108));
        // Strava: expires_in wins over expires_at.
        let t = ok(
            200,
            "application/json",
            &format!(
                r#"{{"access_token":"a","expires_in":100,"expires_at":{}}}"#,
                NOW + 9000
            ),
        );
        assert_eq!(t.expires_at, Some(NOW + 100));
    }

    #[test]
    fn scopes_in_every_shape() {
        let s = |body: &str| ok(200, "application/json", body).scopes;
        assert_eq!(
            s(r#"{"access_token":"a","scope":"repo,read:org"}"#),
            ["repo", "read:org"]
        );
        assert_eq!(s(r#"{"access_token":"a","scope":"a b"}"#), ["a", "b"]);
        assert_eq!(s(r#"{"access_token":"a","scope":["x","y"]}"#), ["x", "y"]);
        assert!(s(r#"{"access_token":"a","scope":""}"#).is_empty());
        assert_eq!(s(r#"{"access_token":"a","scope":null}"#), ["asked"]);
    }

    #[test]
    fn form_bodies_whatever_the_label() {
        let t = ok(
            200,
            "application/json",
            "access_token=a&scope=repo%2Cgist&token_type=bearer",
        );
        assert_eq!(t.scopes, ["repo", "gist"]);
    }

    #[test]
    fn token_path_picks_the_nested_token() {
        let t = read_with(
            200,
            "application/json",
            r#"{"ok":true,"access_token":"bot","authed_user":{"access_token":"user","scope":"chat:write"}}"#,
            Some("/authed_user"),
        )
        .unwrap();
        assert_eq!(t.access_token.expose(), "user");
        assert_eq!(t.scopes, ["chat:write"]);
    }

    #[test]
    fn refusals_are_classified_and_never_quote_the_body() {
        let kind =
            |status, ct: &str, body: &str| read_with(status, ct, body, None).unwrap_err().kind;
        assert_eq!(
            kind(400, "application/json", r#"{"error":"invalid_grant"}"#),
            ErrorKind::InvalidGrant
        );
        assert_eq!(
            kind(
                200,
                "application/json",
                r#"{"error":"incorrect_client_credentials"}"#
            ),
            ErrorKind::InvalidClient
        );
        assert_eq!(
            kind(401, "application/json", r#"{"error":"unauthorized"}"#),
            ErrorKind::InvalidClient
        );
        assert_eq!(
            kind(500, "application/json", r#"{"error":"Server Error"}"#),
            ErrorKind::Unreachable
        );
        assert_eq!(
            kind(403, "text/html", "<html>blocked</html>"),
            ErrorKind::Unreachable
        );
        assert_eq!(
            kind(
                200,
                "application/json",
                r#"{"ok":false,"error":"invalid_code"}"#
            ),
            ErrorKind::Server
        );
        assert_eq!(
            kind(400, "text/plain", r#"{"error":"invalid_request"}"#),
            ErrorKind::Server
        );
        let e = read_with(
            200,
            "application/json; charset=utf-8",
            r#"{"token_type":"bearer","refresh_token":"rt-SECRET"}"#,
            None,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadResponse);
        assert!(e.message.contains("no access_token"), "{}", e.message);
        assert!(
            e.message.contains("HTTP 200, application/json"),
            "{}",
            e.message
        );
        assert!(!e.message.contains("rt-SECRET"));
        let e = read_with(500, "text/html", "<html>x</html>", None).unwrap_err();
        assert!(
            e.message.contains("an HTML page (HTTP 500, text/html)"),
            "{}",
            e.message
        );
    }
}

//! Turning an HTTP answer (or the lack of one) into a status, a message and a hint.

use super::{CheckStatus, Identity, Outcome, Target};
use crate::core::http::Http;
use crate::core::vocab::AuthMethod;

/// Fix advice shared by every "the credentials don't work" case, in the usual order: the
/// authorizing user's permissions, the credentials themselves, then re-authorization.
pub(crate) fn reauth_hint(name: &str, method: AuthMethod) -> String {
    let what = match method {
        AuthMethod::Basic => {
            "the password or API token was changed or revoked, or the user was deactivated"
        }
        _ => "the key or token was revoked, rotated or expired",
    };
    format!(
        "likely cause: {what}. In order: check that the user who authorized it is still active and allowed to use the API, verify the credentials with the provider, then replace them with 'conn reauth {name}'"
    )
}

pub(crate) fn response(
    target: Target<'_>,
    status: u16,
    body: &[u8],
    retry_after: Option<&str>,
) -> Outcome {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let server_says = json.as_ref().and_then(error_text);
    let with_detail = |base: String| match &server_says {
        Some(d) => format!("{base}: {d}"),
        None => base,
    };
    let out = |st: CheckStatus, message: String, hint: Option<String>| Outcome {
        status: st,
        http_status: Some(status),
        identity: None,
        latency_ms: None,
        message,
        hint,
        expires_at: None,
    };
    let name = target.name;
    match status {
        200..=299
            if !target.provider.check.expect_status.is_empty()
                && !target.provider.check.expect_status.contains(&status) =>
        {
            out(
                CheckStatus::Error,
                format!(
                    "HTTP {status}: the check expects {:?}",
                    target.provider.check.expect_status
                ),
                Some("the provider's API may have changed; see 'conn providers show'".into()),
            )
        }
        200..=299 if looks_like_html(body) || (json.is_none() && wants_json(target)) => out(
            CheckStatus::Error,
            format!(
                "HTTP {status}, but the answer is {}, not what the provider's check expects",
                if looks_like_html(body) {
                    "an HTML page"
                } else {
                    "not JSON"
                }
            ),
            Some(format!(
                "the base URL probably points at a web page, not the API (see 'conn show {name}'); give the API's base URL with 'conn new' (for example https://api.example.com/v1)"
            )),
        ),
        200..=299 => {
            let spec = &target.provider.check;
            if let Some(cond) = &spec.success {
                let got = json.as_ref().and_then(|j| j.pointer(&cond.pointer));
                if got != Some(&cond.equals) {
                    let code = spec
                        .error
                        .as_deref()
                        .and_then(|p| json.as_ref()?.pointer(p)?.as_str().map(str::to_string))
                        .unwrap_or_else(|| "an unspecified error".into());
                    let said = format!("HTTP {status}, but the API answered {code}");
                    return if spec.invalid_credentials.contains(&code) {
                        out(CheckStatus::InvalidCredentials, said, Some(reauth_hint(name, target.method)))
                    } else if spec.insufficient_permissions.contains(&code) {
                        out(
                            CheckStatus::InsufficientPermissions,
                            said,
                            Some("the credentials lack a permission or scope the check needs; grant it and re-authorize ('conn reauth NAME')".replace("NAME", name)),
                        )
                    } else {
                        out(CheckStatus::Error, said, None)
                    };
                }
            }
            let identity = json.as_ref().map(|j| identity(target, j));
            let has_id = identity.as_ref().is_some_and(|i| i.id.is_some());
            if spec.identity_required && !has_id {
                return out(
                    CheckStatus::InvalidCredentials,
                    format!("HTTP {status}, but the API did not answer as a signed-in user"),
                    Some(reauth_hint(name, target.method)),
                );
            }
            let who = identity
                .as_ref()
                .and_then(Identity::describe)
                .map(|w| format!(" as {w}"))
                .unwrap_or_default();
            let mut o = out(CheckStatus::Ok, format!("connected{who}"), None);
            o.identity = identity.filter(|i| i.id.is_some() || i.label.is_some());
            o
        }
        300..=399 => out(
            CheckStatus::Error,
            format!("HTTP {status}: the check request was redirected to another host or scheme; conn does not send credentials there"),
            Some(format!(
                "the base URL is probably outdated (http instead of https, an old host); see 'conn show {name}'"
            )),
        ),
        401 => out(
            CheckStatus::InvalidCredentials,
            with_detail(format!("HTTP {status}: the credentials were rejected")),
            Some(reauth_hint(name, target.method)),
        ),
        403 => out(
            CheckStatus::InsufficientPermissions,
            with_detail(format!("HTTP {status}: the credentials work but lack permission for the check request")),
            Some(
                "verify the role and permissions of the user who made the credentials (or the key's scopes)".into(),
            ),
        ),
        429 => out(
            CheckStatus::Unreachable,
            format!(
                "HTTP 429: rate limited{}",
                retry_after.map(|r| format!(" (retry after {r}s)")).unwrap_or_default()
            ),
            Some("the API is throttling requests; check again later".into()),
        ),
        404 => out(
            CheckStatus::Error,
            with_detail("HTTP 404 for the check request".to_string()),
            Some(format!(
                "the base URL or instance inputs look wrong; see 'conn show {name}'"
            )),
        ),
        500..=599 => out(
            CheckStatus::Unreachable,
            with_detail(format!("HTTP {status}: the API had a server error")),
            Some("the provider is having trouble; check its status page and try again later".into()),
        ),
        407 => {
            let d = crate::core::http::proxy_auth_required();
            out(CheckStatus::Unreachable, format!("HTTP 407: {}", d.cause), Some(d.fix))
        }
        _ => out(
            CheckStatus::Error,
            with_detail(format!("unexpected HTTP {status} for the check request")),
            None,
        ),
    }
}

pub(crate) fn transport(client: &Http, target: Target<'_>, e: &reqwest::Error) -> Outcome {
    let chain = crate::core::error::chain_text(e);
    // A cause a setting here explains (CA certificates, proxy credentials) gets its own words.
    if let Some(d) = client.diagnose(e) {
        return Outcome::local(
            super::CheckStatus::Unreachable,
            format!("{}: {chain}", d.cause),
            Some(d.fix),
        );
    }
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    Outcome::local(
        super::CheckStatus::Unreachable,
        format!("{kind}: {chain}"),
        Some(format!(
            "check the network, proxy and the host in the base URL ('conn show {}'); conn will say more with -v",
            target.name
        )),
    )
}

/// An HTML page (a login page, a web site's catch-all route), judged by its start.
fn looks_like_html(body: &[u8]) -> bool {
    let start: String = String::from_utf8_lossy(&body[..body.len().min(512)])
        .trim_start()
        .chars()
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    start.starts_with("<!doctype html") || start.starts_with("<html") || start.starts_with("<head")
}

/// Whether the check reads the answer as JSON: an identity pointer, a success condition or
/// an error pointer is configured.
fn wants_json(target: Target<'_>) -> bool {
    let spec = &target.provider.check;
    let configured = |p: &Option<String>| {
        p.as_deref()
            .and_then(|p| crate::catalog::template::expand(p, target.values).ok())
            .is_some_and(|p| !p.is_empty())
    };
    spec.success.is_some()
        || spec
            .identity
            .as_ref()
            .is_some_and(|i| configured(&i.id) || configured(&i.label) || configured(&i.instance))
}

/// Where a generic provider's check answer names the account when no identity pointer was
/// given: the first of these found (GitHub-like `login`, userinfo's `email`,
/// `preferred_username` and `sub`, then `username` and `name`).
const IDENTITY_FALLBACK: &[&str] = &[
    "/login",
    "/email",
    "/preferred_username",
    "/username",
    "/name",
    "/sub",
];

fn identity(target: Target<'_>, json: &serde_json::Value) -> Identity {
    let Some(spec) = &target.provider.check.identity else {
        return Identity::default();
    };
    let pick = |ptr: &Option<String>| {
        let ptr = crate::catalog::template::expand(ptr.as_deref()?, target.values).ok()?;
        if ptr.is_empty() {
            return None;
        }
        match json.pointer(&ptr)? {
            // An identity is one line: a login with a line break or an escape sequence is
            // kept in its escaped, visible form wherever it goes.
            serde_json::Value::String(s) if !s.is_empty() => {
                Some(crate::core::text::one_line(s).into_owned())
            }
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let host = || {
        let base =
            crate::catalog::template::expand(&target.provider.api.base_url, target.values).ok()?;
        reqwest::Url::parse(&base)
            .ok()?
            .host_str()
            .map(str::to_string)
    };
    let generic = target.provider.categories.iter().any(|c| c == "generic");
    let label = pick(&spec.label).or_else(|| {
        let unset = spec
            .label
            .as_deref()
            .and_then(|p| crate::catalog::template::expand(p, target.values).ok())
            .is_none_or(|p| p.is_empty());
        if !(generic && unset) {
            return None;
        }
        IDENTITY_FALLBACK
            .iter()
            .find_map(|p| match json.pointer(p)? {
                serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
                _ => None,
            })
    });
    Identity {
        id: pick(&spec.id),
        label,
        instance: pick(&spec.instance).or_else(host),
    }
}

/// A short error text from a JSON error body, if it has one of the usual fields.
fn error_text(json: &serde_json::Value) -> Option<String> {
    let candidates = [
        json.get("error_description"),
        json.get("message"),
        json.pointer("/error/message"),
        json.get("error").filter(|e| e.is_string()),
        json.pointer("/errors/0/message"),
        json.get("description"),
    ];
    let text = candidates.into_iter().flatten().find_map(|v| v.as_str())?;
    let mut t: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
    if text.chars().count() > 200 {
        t.push('…');
    }
    Some(t)
}

//! The health check: send a provider's cheap "who am I" request with a connection's credentials,
//! then say whether it works, as whom, and if not, why and what to do.

pub(crate) mod classify;
pub(crate) mod limit;
pub(crate) mod schedule;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::auth::Authenticator;
use crate::catalog::{Provider, template};
use crate::core::http::Http;
use crate::core::vocab::AuthMethod;

pub(crate) use crate::core::vocab::{CheckStatus, Identity, Severity};
pub(crate) use limit::{HostLimiter, Limits};

/// Attempts per check when the API answers 429 or 5xx.
const MAX_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Outcome {
    pub status: CheckStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// What happened, in a sentence.
    pub message: String,
    /// What to do about it; `None` when all is well.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// When the credential stops working, where known (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

impl Outcome {
    /// An outcome reached without sending a request (secret missing, misconfigured, ...).
    pub(crate) fn local(
        status: CheckStatus,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Self {
        Outcome {
            status,
            http_status: None,
            identity: None,
            latency_ms: None,
            message: message.into(),
            hint,
            expires_at: None,
        }
    }
}

/// What the check needs to know about the connection besides its credentials.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    pub name: &'a str,
    pub provider: &'a Provider,
    pub method: AuthMethod,
    /// What `${...}` templates stand for: see `ops::resolve::values`.
    pub values: &'a BTreeMap<String, String>,
}

/// Sends the check request and classifies the answer. Never fails: every problem is an outcome.
pub(crate) fn run(
    client: &Http,
    target: Target<'_>,
    auth: &dyn Authenticator,
    limits: Limits<'_>,
) -> Outcome {
    let p = target.provider;
    let expand = |t: &str| template::expand(t, target.values);
    let (base, path) = match (expand(&p.api.base_url), expand(&p.check.path)) {
        (Ok(b), Ok(c)) => (b, c),
        (Err(n), _) | (_, Err(n)) => {
            return Outcome::local(
                CheckStatus::Error,
                format!("the connection has no value for the provider's input '{n}'"),
                Some(format!(
                    "the provider definition changed since '{}' was made; recreate it with 'conn new'",
                    target.name
                )),
            );
        }
    };
    // An absolute check URL (an API whose host has no who-am-I endpoint) is used as it is.
    let joined = if path.starts_with("https://") {
        path
    } else {
        format!("{}{}", base.trim_end_matches('/'), path)
    };
    let url = client.route(&joined);
    let url = match reqwest::Url::parse(&url) {
        Ok(u) => u,
        Err(e) => {
            return Outcome::local(
                CheckStatus::Error,
                format!("the check URL {url:?} is not valid: {e}"),
                Some("check the connection's base URL input ('conn show NAME')".into()),
            );
        }
    };
    let method =
        reqwest::Method::from_bytes(p.check.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    // The query string is left out: an API key may travel there.
    log::debug!(
        "{method} {}{}",
        url.origin().ascii_serialization(),
        url.path()
    );
    let host = host_key(&url);
    let build = || {
        let mut req = client.request(method.clone(), url.as_str());
        // JSON unless the provider asks for its own media type (PagerDuty's versioned one).
        if !p
            .api
            .headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("accept"))
        {
            req = req.header(reqwest::header::ACCEPT, "application/json");
        }
        for (k, v) in &p.api.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some(b) = &p.check.body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b.clone());
        }
        auth.apply(req)
    };
    let past_deadline = || {
        Outcome::local(
            CheckStatus::Unreachable,
            "not checked: the run's deadline passed first",
            Some(
                "raise --deadline, --concurrency or --per-host, or check fewer connections per run"
                    .into(),
            ),
        )
    };
    let mut started;
    let mut attempt = 0;
    let result = loop {
        attempt += 1;
        let permit = match limits.hosts {
            Some(h) => match h.acquire_until(&host, limits.deadline) {
                Some(p) => Some(p),
                None => return past_deadline(),
            },
            None => None,
        };
        if limits.deadline.is_some_and(|d| Instant::now() >= d) {
            return past_deadline();
        }
        // Latency is the request's own time, not the wait for a slot.
        started = Instant::now();
        let mut req = build();
        if let Some(d) = limits.deadline {
            let left = d.saturating_duration_since(started);
            req = req.timeout(limits.timeout.map_or(left, |t| t.min(left)));
        }
        let result = req.send().and_then(|resp| {
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let expiry = p
                .check
                .expiry_header
                .as_deref()
                .and_then(|h| resp.headers().get(h))
                .and_then(|v| v.to_str().ok())
                .and_then(parse_expiry);
            let date = resp
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            resp.bytes()
                .map(|b| (status, b, (retry_after, expiry, date)))
        });
        drop(permit);
        let Ok((status, _, (retry_after, _, _))) = &result else {
            break result;
        };
        if !(*status == 429 || *status >= 500) || attempt >= MAX_ATTEMPTS {
            break result;
        }
        // Honour Retry-After (seconds), else back off 0.5 s, 1 s, ...; never past the deadline.
        let wait = retry_after
            .as_deref()
            .and_then(|r| r.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or_else(|| Duration::from_millis(500 << (attempt - 1)));
        let fits = limits
            .deadline
            .is_none_or(|d| Instant::now().checked_add(wait).is_some_and(|t| t < d));
        if !fits || wait > Duration::from_secs(60) {
            break result;
        }
        log::debug!("HTTP {status} from {host}; retrying in {wait:?}");
        std::thread::sleep(wait);
    };
    let elapsed = started.elapsed().as_millis() as u64;
    if let Ok((status, _, _)) = &result {
        log::debug!("HTTP {status} in {elapsed}ms");
    }
    let latency_ms = Some(elapsed);
    let scrubber = crate::auth::scrubber(auth);
    let mut outcome = match result {
        Ok((status, body, (retry_after, expiry, date))) => {
            // Scrub before anything reads the body, so no cut-off or re-encoding can hide a
            // credential the server echoed back.
            let body = String::from_utf8_lossy(&scrubber.scrub_body(&body)).into_owned();
            let mut o = classify::response(target, status, body.as_bytes(), retry_after.as_deref());
            o.expires_at = expiry;
            if target.method == AuthMethod::OAuth1
                && crate::auth::oauth1::is_clock_problem(status, &body)
            {
                // Not a credentials problem: re-authorizing would not help.
                o.status = CheckStatus::Error;
                o.message = crate::auth::oauth1::clock_message(date.as_deref());
                o.hint = Some("OAuth 1.0a signatures carry the time; the provider accepts only a few minutes of difference".into());
            }
            o
        }
        // `without_url`: an API key may travel in the query string.
        Err(e) => classify::transport(client, target, &e.without_url()),
    };
    outcome.latency_ms = latency_ms;
    outcome.message = scrubber.scrub_str(&outcome.message);
    outcome
}

/// `host:port`: what the per-host limit counts and the run's queues are keyed by.
fn host_key(url: &reqwest::Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// The `host:port` the check of `target` is sent to, for scheduling; `None` when the URL can't
/// be built (the check then fails without a request).
pub(crate) fn host_of(client: &Http, target: Target<'_>) -> Option<String> {
    let p = target.provider;
    let base = template::expand(&p.api.base_url, target.values).ok()?;
    let path = template::expand(&p.check.path, target.values).ok()?;
    let url = client.route(&format!("{}{}", base.trim_end_matches('/'), path));
    reqwest::Url::parse(&url).ok().map(|u| host_key(&u))
}

/// Builds the authenticator from the connection's secrets and runs the check.
pub(crate) fn check_credentials(
    client: &Http,
    target: Target<'_>,
    username: Option<&str>,
    secrets: &crate::core::secret::SecretBundle,
    limits: Limits<'_>,
) -> Outcome {
    let Some(spec) = target.provider.auth(target.method) else {
        return Outcome::local(
            CheckStatus::Error,
            format!(
                "provider '{}' no longer offers auth method '{}'",
                target.provider.id, target.method
            ),
            Some(format!(
                "recreate the connection with 'conn new' (see 'conn providers show {}')",
                target.provider.id
            )),
        );
    };
    match crate::auth::method_of(spec).authenticator(target.values, username, secrets) {
        Ok(auth) => run(client, target, auth.as_ref(), limits),
        Err(e) => Outcome::local(
            CheckStatus::Error,
            format!("{e:#}"),
            Some(format!("see 'conn show {}'", target.name)),
        ),
    }
}

/// An expiry date from a header: RFC 3339, or GitHub's `2026-12-01 00:00:00 UTC`.
fn parse_expiry(v: &str) -> Option<String> {
    let t = v.trim().trim_end_matches(" UTC");
    let when = humantime::parse_rfc3339_weak(t).ok()?;
    Some(humantime::format_rfc3339_seconds(when).to_string())
}

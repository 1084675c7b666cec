//! One authenticated request to a connection's API base URL, for `conn request` (like
//! `gh api`). The credentials go through the connection's authenticator after method,
//! URL, query and body are final, so methods that sign requests sign exactly what is sent. An
//! OAuth 2.0 request answered 401 is sent once more after a forced refresh. Bodies over
//! `WHOLE_LIMIT` are streamed, scrubbed through a bounded window, so memory stays flat.

use std::io::Read;
use std::time::Duration;

use anyhow::{Context, Result};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

use super::{Ctx, credentials, find, resolve};
use crate::auth::{Authenticator, scrub};
use crate::core::error::usage;
use crate::core::scrub_window::{ScrubFn, ScrubWindow};
use crate::core::vocab::AuthMethod;

#[derive(Debug, Default)]
pub(crate) struct RequestOptions {
    pub(crate) name: String,
    /// Default: GET, or POST when there is a body.
    pub(crate) method: Option<String>,
    pub(crate) path: String,
    /// `-H 'Name: value'`, in order.
    pub(crate) headers: Vec<String>,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) timeout: Duration,
}

/// The answer, credentials already scrubbed from headers and body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) version: String,
    pub(crate) status: u16,
    pub(crate) reason: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Body,
    /// What conn has to say about the answer, for stderr: an OAuth 1.0a provider refused the
    /// request's timestamp, and this computer's clock against the server's `Date` shows why.
    pub(crate) notice: Option<String>,
}

/// A response body: whole when small, else a stream read as it is written out.
pub(crate) enum Body {
    /// At most `WHOLE_LIMIT` bytes, scrubbed.
    Whole(Vec<u8>),
    /// Larger: scrubbed through a bounded window while it is read, so memory stays flat
    /// whatever the size. (A mutex so it can be read through a shared reference.)
    Stream(std::sync::Mutex<Box<dyn Read + Send>>),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Whole(b) => write!(f, "Whole({} bytes)", b.len()),
            Body::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// Bodies up to this size (bytes) are read whole (so they can be pretty-printed); larger ones
/// are streamed.
pub(crate) const WHOLE_LIMIT: usize = 1024 * 1024;

/// How many bytes the longest encoded form of a secret byte can take on the wire (a
/// percent-encoding repeated, a JSON `\\uXXXX` escape): the window keeps this many bytes per
/// byte of the longest secret, so no echoed secret is split.
const FORM_BYTES_PER_SECRET_BYTE: usize = 16;

pub(crate) fn run(ctx: &mut Ctx<'_>, opts: &RequestOptions) -> Result<Answer> {
    let method = match &opts.method {
        Some(m) => reqwest::Method::from_bytes(m.to_ascii_uppercase().as_bytes())
            .map_err(|_| usage(format!("{m:?} is not an HTTP method")))?,
        None if opts.body.is_some() => reqwest::Method::POST,
        None => reqwest::Method::GET,
    };
    let meta = ctx.view(&[opts.name.as_str()])?;
    let conn = find(&meta, &opts.name)?;
    let catalog = ctx.catalog_for(&[&conn.provider]);
    // Everything the user said is checked before a token is refreshed or a secret read.
    let provider = catalog.get(&conn.provider)?;
    let base = resolve::base_url(&opts.name, provider, conn)?;
    let url = target_url(&base, &opts.path, &opts.query)?;
    let headers = request_headers(&provider.api.headers, &opts.headers, &opts.body)?;
    let mut ready = credentials::ready(ctx, &catalog, &opts.name, conn)?;
    let client = ctx.http(opts.timeout)?;
    let mut retried = false;
    loop {
        let mut req = client
            .request(method.clone(), url.as_str())
            .headers(headers.clone());
        if let Some(b) = &opts.body {
            req = req.body(b.clone());
        }
        let req = ready
            .auth
            .apply(req)
            .build()
            .context("could not build the request")?;
        log_request(&req, ready.auth.as_ref());
        let resp = client.execute(req).map_err(|e| {
            // `without_url`: an API key may travel in the query string.
            let e = e.without_url();
            let why = client
                .diagnose(&e)
                .map(|d| format!("\n{}\nhint: {}", d.cause, d.fix))
                .unwrap_or_default();
            anyhow::anyhow!(
                "{} {}: {}{why}",
                method,
                shown_url(&url, ready.auth.as_ref()),
                crate::core::error::chain_text(&e)
            )
        })?;
        let status = resp.status();
        log::debug!("< HTTP {}", status.as_u16());
        if status == reqwest::StatusCode::UNAUTHORIZED && ready.refreshable() && !retried {
            log::debug!(
                "{}: 401, refreshing the token and trying once more",
                opts.name
            );
            retried = true;
            ready.refresh_rejected(ctx)?;
            continue;
        }
        let scrubber = crate::auth::scrubber(ready.auth.as_ref());
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                let v = scrubber.scrub_str(&String::from_utf8_lossy(v.as_bytes()));
                log::debug!("< {k}: {v}");
                (k.to_string(), v)
            })
            .collect();
        let version = format!("{:?}", resp.version());
        let date = resp
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut resp = resp;
        let mut head = Vec::new();
        (&mut resp)
            .take(WHOLE_LIMIT as u64 + 1)
            .read_to_end(&mut head)
            .context("could not read the response")?;
        let (body, notice) = if head.len() <= WHOLE_LIMIT {
            let body = scrubber.scrub_body(&head);
            let notice = clock_notice(&ready, status.as_u16(), &body, date.as_deref());
            (Body::Whole(body), notice)
        } else {
            let (keep, scrub) = window_scrubber(ready.auth.as_ref());
            let stream: Box<dyn Read + Send> = Box::new(ScrubWindow::new(
                std::io::Cursor::new(head).chain(resp),
                keep,
                scrub,
            ));
            (Body::Stream(std::sync::Mutex::new(stream)), None)
        };
        return Ok(Answer {
            version,
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_string(),
            headers,
            body,
            notice,
        });
    }
}

/// The one scrub function a streamed body goes through (`core::scrub`, as for whole bodies),
/// and how many bytes its window keeps.
fn window_scrubber(auth: &dyn Authenticator) -> (usize, ScrubFn) {
    let longest = auth
        .secret_values()
        .iter()
        .map(|v| v.expose().len())
        .max()
        .unwrap_or(0);
    let keep = (longest * FORM_BYTES_PER_SECRET_BYTE).max(64);
    let scrubber = crate::auth::scrubber(auth);
    (
        keep,
        Box::new(move |b: &[u8]| scrubber.scrub(b).into_owned()),
    )
}

/// An OAuth 1.0a request refused for its timestamp or nonce: the clocks compared, as `check` and
/// `new` do (the provider's answer itself still goes to stdout).
fn clock_notice(
    ready: &credentials::Ready,
    status: u16,
    body: &[u8],
    date: Option<&str>,
) -> Option<String> {
    use crate::auth::oauth1;
    let body = String::from_utf8_lossy(body);
    if ready.conn.auth != AuthMethod::OAuth1 || !oauth1::is_clock_problem(status, &body) {
        return None;
    }
    log::debug!(
        "HTTP {status}: the provider refused the OAuth 1.0a timestamp/nonce; oauth_timestamp was this computer's time ({} s since 1970), the server's Date header is {}",
        oauth1::timestamp(),
        date.unwrap_or("absent")
    );
    Some(oauth1::clock_message(date))
}

/// The base URL and `path`; a full URL is accepted only under the base URL (a `next` link
/// from a paginated answer), so credentials never go to another site.
fn target_url(base: &str, path: &str, query: &[(String, String)]) -> Result<reqwest::Url> {
    let base = base.trim_end_matches('/');
    let full = if path.starts_with("http://") || path.starts_with("https://") {
        let under = path == base
            || path
                .strip_prefix(base)
                .is_some_and(|rest| rest.starts_with(['/', '?']));
        if !under {
            return Err(usage(format!(
                "{path} is not under the connection's base URL {base}; conn sends credentials only there (give a path such as /me)"
            )));
        }
        path.to_string()
    } else if path.starts_with('/') {
        format!("{base}{path}")
    } else {
        format!("{base}/{path}")
    };
    let mut url =
        reqwest::Url::parse(&full).with_context(|| format!("{full:?} is not a valid URL"))?;
    // Parsing resolved `..` and `%2e%2e` segments; what is left must still be under the base
    // URL's path (and origin), and no segment may hide a dot-segment or a slash from us that
    // the server would decode and resolve.
    let base_url =
        reqwest::Url::parse(base).with_context(|| format!("{base:?} is not a valid URL"))?;
    if !within(&base_url, &url) {
        return Err(usage(format!(
            "{path} leads to {} {}, outside the connection's base URL {base}; conn sends credentials only there",
            url.origin().ascii_serialization(),
            url.path()
        )));
    }
    if !query.is_empty() {
        let mut q = url.query_pairs_mut();
        for (k, v) in query {
            q.append_pair(k, v);
        }
    }
    Ok(url)
}

/// Whether `url` is at or under `base`: same origin, and its path equal to the base path or
/// below it segment-wise (`/v2` covers `/v2/x`, not `/v2x`), with no segment that decodes to
/// `.`, `..` or holds an encoded `/` or `\`.
fn within(base: &reqwest::Url, url: &reqwest::Url) -> bool {
    if base.origin() != url.origin() {
        return false;
    }
    let hidden = url.path().split('/').any(|seg| {
        let d = percent_decode(seg);
        d == "." || d == ".." || d.contains('/') || d.contains('\\')
    });
    if hidden {
        return false;
    }
    let bp = base.path().trim_end_matches('/');
    let p = url.path();
    p == bp || p.strip_prefix(bp).is_some_and(|rest| rest.starts_with('/'))
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Accept JSON unless told otherwise; the provider's headers; then the user's `-H`, which win.
fn request_headers(
    provider: &std::collections::BTreeMap<String, String>,
    given: &[String],
    body: &Option<Vec<u8>>,
) -> Result<HeaderMap> {
    let mut map = HeaderMap::new();
    map.insert(ACCEPT, HeaderValue::from_static("application/json"));
    let mut set = |k: &str, v: &str| -> Result<()> {
        let name = HeaderName::from_bytes(k.trim().as_bytes())
            .map_err(|_| usage(format!("{k:?} is not a valid header name")))?;
        let value = HeaderValue::from_str(v.trim())
            .map_err(|_| usage(format!("the value of header {k} is not valid")))?;
        map.insert(name, value);
        Ok(())
    };
    for (k, v) in provider {
        set(k, v)?;
    }
    for h in given {
        let Some((k, v)) = h.split_once(':') else {
            return Err(usage(format!("-H {h:?}: expected 'Name: value'")));
        };
        if k.trim().eq_ignore_ascii_case(AUTHORIZATION.as_str()) {
            return Err(usage(
                "-H Authorization: conn adds the connection's credentials itself",
            ));
        }
        set(k, v)?;
    }
    if let Some(b) = body
        && !map.contains_key(CONTENT_TYPE)
        && serde_json::from_slice::<serde_json::Value>(b).is_ok()
    {
        map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    Ok(map)
}

/// The URL as it may be shown: credentials in the query string replaced.
fn shown_url(url: &reqwest::Url, auth: &dyn Authenticator) -> String {
    scrub(url.as_str(), auth)
}

fn log_request(req: &reqwest::blocking::Request, auth: &dyn Authenticator) {
    if !log::log_enabled!(log::Level::Debug) {
        return;
    }
    log::debug!("> {} {}", req.method(), shown_url(req.url(), auth));
    for (k, v) in req.headers() {
        let v = if v.is_sensitive() {
            "(redacted)".to_string()
        } else {
            scrub(&String::from_utf8_lossy(v.as_bytes()), auth)
        };
        log::debug!("> {k}: {v}");
    }
    if let Some(len) = req.body().and_then(|b| b.as_bytes()).map(<[u8]>::len) {
        log::debug!("> ({len} bytes of body)");
    }
}

/// `conn request`'s exit code for an HTTP status: 0 for 2xx, 3 for a redirect conn did not
/// follow (another origin), 4 for 4xx, 5 for 5xx.
pub(crate) fn exit_code(status: u16) -> u8 {
    match status {
        300..=399 => 3,
        400..=499 => 4,
        500..=599 => 5,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_stay_under_the_base() {
        let q = vec![("a".to_string(), "b c".to_string())];
        assert_eq!(
            target_url("https://x.test/api/", "/me", &q)
                .unwrap()
                .as_str(),
            "https://x.test/api/me?a=b+c"
        );
        assert_eq!(
            target_url("https://x.test/api", "users?page=2", &[])
                .unwrap()
                .as_str(),
            "https://x.test/api/users?page=2"
        );
        assert!(target_url("https://x.test/api", "https://x.test/api/u?p=2", &[]).is_ok());
        assert!(target_url("https://x.test/api", "https://x.test/apix", &[]).is_err());
        assert!(target_url("https://x.test/api", "https://evil.test/api", &[]).is_err());
    }

    #[test]
    fn exit_codes_follow_the_status_class() {
        assert_eq!(exit_code(200), 0);
        assert_eq!(exit_code(204), 0);
        assert_eq!(exit_code(302), 3);
        assert_eq!(exit_code(404), 4);
        assert_eq!(exit_code(503), 5);
    }
}

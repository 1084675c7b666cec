//! The one HTTP client factory. Every request conn sends goes through an `Http`, which is also
//! the only place the test seam is applied: `CONN_TEST_ORIGIN=http://127.0.0.1:PORT` sends
//! every request for an `https` URL to a local fake instead, as
//! `http://127.0.0.1:PORT/<original host>/<original path>`, so a provider's real definition can
//! be exercised without the internet. Only a loopback IP literal with a port is accepted (no
//! user info, no host name); anything else is refused with an error, so credentials can never
//! be redirected off the machine this way.

use std::time::Duration;

use anyhow::{Context, Result};
use reqwest::blocking::{Client, Request, RequestBuilder, Response};

use super::env::Env;
use super::error::usage;

/// Which redirects a client follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Redirects {
    /// For API requests: only within the origin of the first URL.
    SameOrigin,
    /// For token endpoints: a redirect there is an error, never something to follow.
    Never,
}

/// An HTTP client with conn's user agent, timeouts and redirect policy, and the test origin
/// (when set) applied to every URL.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: Client,
    /// `http://IP:PORT`, when `CONN_TEST_ORIGIN` is set.
    origin: Option<String>,
}

impl Http {
    /// A client whose requests time out after `timeout` (connecting: at most 10 s).
    /// Errors: `CONN_TEST_ORIGIN` set to anything but `http://<loopback IP>:<port>`.
    pub(crate) fn new(env: &Env, timeout: Duration, redirects: Redirects) -> Result<Self> {
        let origin = env.get("CONN_TEST_ORIGIN").map(test_origin).transpose()?;
        let policy = match redirects {
            Redirects::SameOrigin => same_origin_redirects(),
            Redirects::Never => reqwest::redirect::Policy::none(),
        };
        let client = Client::builder()
            .user_agent(concat!("conn/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(policy)
            .build()
            .context("could not set up the HTTP client")?;
        Ok(Http { client, origin })
    }

    /// `url` as it is sent: rewritten to the test origin when one is set. Only `https` URLs
    /// are rewritten (the tests' own loopback servers are left alone), so applying it twice
    /// changes nothing. Also for URLs handed to a browser.
    pub(crate) fn route(&self, url: &str) -> String {
        let Some(origin) = &self.origin else {
            return url.to_string();
        };
        match url::Url::parse(url) {
            Ok(u) if u.scheme() == "https" => {
                let host = u.host_str().unwrap_or_default();
                let mut out = format!("{origin}/{host}{}", u.path());
                if let Some(q) = u.query() {
                    out.push('?');
                    out.push_str(q);
                }
                out
            }
            _ => url.to_string(),
        }
    }

    /// A request to `url` (routed).
    pub(crate) fn request(&self, method: reqwest::Method, url: &str) -> RequestBuilder {
        self.client.request(method, self.route(url))
    }

    pub(crate) fn get(&self, url: &str) -> RequestBuilder {
        self.request(reqwest::Method::GET, url)
    }

    pub(crate) fn post(&self, url: &str) -> RequestBuilder {
        self.request(reqwest::Method::POST, url)
    }

    /// Sends a request built from `request` (so already routed).
    pub(crate) fn execute(&self, req: Request) -> reqwest::Result<Response> {
        self.client.execute(req)
    }
}

/// How many leading path segments of `url` the test seam added: 1 for a routed URL
/// (`http://<loopback IP>:PORT/<original host>/...`, whose first segment is a host name), else
/// 0. For code that edits a request's path after routing (an API key in the path), so it edits
/// the original path. Real APIs are never on a loopback IP, so nothing else is affected.
pub(crate) fn routed_segments(url: &url::Url) -> usize {
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    let first = url.path_segments().and_then(|mut s| s.next()).unwrap_or("");
    let host_like = first.contains('.') && url::Host::parse(first).is_ok();
    usize::from(url.scheme() == "http" && loopback && host_like)
}

/// The origin `CONN_TEST_ORIGIN` names: `http://` and a loopback IP literal with a port,
/// exactly, with nothing else (no user info, path, query).
fn test_origin(value: &str) -> Result<String> {
    let refuse = || {
        usage(format!(
            "CONN_TEST_ORIGIN={value:?} is refused: it must be http://<loopback IP address>:<port> and nothing else (it is a test seam; leave it unset)"
        ))
    };
    let u = url::Url::parse(value).map_err(|_| refuse())?;
    let loopback = match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    let origin = u.origin().ascii_serialization();
    // Comparing with the text as given refuses user info, paths and any other spelling of
    // the address (`0x7f.1`) that the URL parser would quietly normalize.
    if u.scheme() != "http"
        || !loopback
        || u.port().is_none()
        || value.trim_end_matches('/') != origin
    {
        return Err(refuse());
    }
    Ok(origin)
}

/// Follows redirects only within the same origin (scheme, host, port). reqwest drops the
/// Authorization header on a cross-origin redirect but not a custom key header such as
/// `X-Api-Key`, and never a key in the query string; so conn stops and reports the redirect.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(|u| u.origin());
        if attempt.previous().len() > 5 {
            attempt.error("too many redirects")
        } else if first.is_some_and(|o| o != attempt.url().origin()) {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_loopback_ip_with_a_port_is_a_test_origin() {
        assert_eq!(
            test_origin("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            test_origin("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(test_origin("http://[::1]:8080").is_ok());
        for bad in [
            "http://127.0.0.1:1@127.0.0.2:8080",
            "http://user@127.0.0.1:8080",
            "http://localhost:8080",
            "http://10.0.0.1:8080",
            "https://127.0.0.1:8080",
            "http://127.0.0.1",
            "http://127.0.0.1:8080/x",
            "http://0x7f.1:8080",
            "127.0.0.1:8080",
        ] {
            assert!(test_origin(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn https_urls_are_routed_and_loopback_urls_left_alone() {
        let http = Http {
            client: Client::new(),
            origin: Some("http://127.0.0.1:9".into()),
        };
        assert_eq!(
            http.route("https://api.example.com/v1/me?a=b"),
            "http://127.0.0.1:9/api.example.com/v1/me?a=b"
        );
        let local = "http://127.0.0.1:5/x";
        assert_eq!(http.route(local), local);
        assert_eq!(
            http.route(&http.route("https://h.test/p")),
            "http://127.0.0.1:9/h.test/p"
        );
    }
}

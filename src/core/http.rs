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
    /// The settings a failure may be explained by.
    settings: NetSettings,
}

/// The environment settings that decide whom conn trusts and how it reaches the network,
/// named in explanations when a request fails because of them.
#[derive(Debug, Clone, Default)]
struct NetSettings {
    /// `SSL_CERT_FILE`: a PEM bundle that replaces the system's certificate authorities.
    cert_file: Option<String>,
    /// `SSL_CERT_DIR`: a directory of PEM certificates, likewise.
    cert_dir: Option<String>,
}

/// Why a request failed, when the cause is a local setting a person can fix: the cause in
/// words and the way out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Diagnosis {
    pub(crate) cause: String,
    pub(crate) fix: String,
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
        let settings = NetSettings {
            cert_file: env.get("SSL_CERT_FILE").map(str::to_string),
            cert_dir: env.get("SSL_CERT_DIR").map(str::to_string),
        };
        // The system's CAs are loaded here: a bad SSL_CERT_FILE shows up now.
        let client = Client::builder()
            .user_agent(concat!("conn/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(policy)
            .build()
            .map_err(
                |e| match diagnose(&super::error::chain_text(&e), &settings) {
                    Some(d) => anyhow::anyhow!("{}\nhint: {}", d.cause, d.fix),
                    None => anyhow::Error::new(e),
                },
            )
            .context("could not set up the HTTP client")?;
        Ok(Http {
            client,
            origin,
            settings,
        })
    }

    /// The cause of a failed request in words, and the setting to change, for failures a
    /// person can fix here: an unknown certificate issuer, `SSL_CERT_FILE`/`SSL_CERT_DIR` that
    /// load nothing, a proxy that wants credentials. `None` for anything else.
    pub(crate) fn diagnose(&self, e: &reqwest::Error) -> Option<Diagnosis> {
        diagnose(&super::error::chain_text(e), &self.settings)
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

/// What a proxy's 407 means and how to answer it; for a 407 response as well as a refused
/// CONNECT tunnel.
pub(crate) fn proxy_auth_required() -> Diagnosis {
    Diagnosis {
        cause: "the proxy requires authentication (HTTP 407 Proxy Authentication Required)".into(),
        fix: "give the proxy's user name and password in the proxy setting: HTTPS_PROXY=http://USER:PASSWORD@PROXY:PORT (HTTP_PROXY for http:// URLs; percent-encode special characters), or ask for a proxy exception (NO_PROXY)".into(),
    }
}

fn diagnose(chain: &str, s: &NetSettings) -> Option<Diagnosis> {
    let lower = chain.to_ascii_lowercase();
    if lower.contains("proxy authorization required")
        || lower.contains("proxy authentication required")
    {
        return Some(proxy_auth_required());
    }
    let tls = lower.contains("certificate") || lower.contains("unknownissuer");
    if !tls {
        return None;
    }
    // A CA setting that loads nothing explains every certificate failure.
    if let Some(bad) = bad_cert_setting(s) {
        return Some(bad);
    }
    if lower.contains("no ca certificates were loaded") {
        return Some(Diagnosis {
            cause: "no certificate authorities were found on this computer".into(),
            fix: "install the system's CA bundle (the ca-certificates package), or point SSL_CERT_FILE at a PEM bundle / SSL_CERT_DIR at a directory of PEM certificates".into(),
        });
    }
    if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        let set = match (&s.cert_file, &s.cert_dir) {
            (Some(f), _) => format!(" SSL_CERT_FILE={f} is set and does not include it."),
            (None, Some(d)) => format!(" SSL_CERT_DIR={d} is set and does not include it."),
            _ => String::new(),
        };
        return Some(Diagnosis {
            cause: format!(
                "the server's certificate is issued by a certificate authority this computer does not trust (a private CA, a self-signed certificate, or a proxy that inspects TLS).{set}"
            ),
            fix: "if your organisation trusts that CA, give conn its certificate: SSL_CERT_FILE=/path/to/bundle.pem (a PEM bundle; it replaces the system's CAs, so include them) or SSL_CERT_DIR=/path/to/dir of PEM certificates".into(),
        });
    }
    if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        return Some(Diagnosis {
            cause: "the server's certificate is for another host name".into(),
            fix: "check the host in the base URL ('conn show NAME'); a proxy or captive portal may be answering instead".into(),
        });
    }
    if lower.contains("expired") {
        return Some(Diagnosis {
            cause: "the server's certificate has expired (or this computer's clock is wrong)"
                .into(),
            fix:
                "check the clock ('conn doctor'); otherwise the provider must renew its certificate"
                    .into(),
        });
    }
    None
}

/// `SSL_CERT_FILE` / `SSL_CERT_DIR` set to something that yields no certificate.
fn bad_cert_setting(s: &NetSettings) -> Option<Diagnosis> {
    let has_pem = |p: &std::path::Path| {
        std::fs::read(p).is_ok_and(|b| b.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----"))
    };
    if let Some(f) = &s.cert_file {
        let p = std::path::Path::new(f);
        let problem = if !p.exists() {
            Some("a file that does not exist")
        } else if !p.is_file() {
            Some("something that is not a file")
        } else if !has_pem(p) {
            Some("a file with no PEM certificate in it")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Some(Diagnosis {
                cause: format!(
                    "SSL_CERT_FILE={f} names {problem}, and it replaces the system's certificate authorities, so no server can be trusted"
                ),
                fix: "correct SSL_CERT_FILE to the path of a PEM bundle, or unset it to use the system's".into(),
            });
        }
    }
    if let Some(d) = &s.cert_dir {
        let p = std::path::Path::new(d);
        let any = std::fs::read_dir(p).is_ok_and(|rd| {
            rd.filter_map(|e| e.ok())
                .any(|e| e.path().is_file() && has_pem(&e.path()))
        });
        if !any && s.cert_file.is_none() {
            return Some(Diagnosis {
                cause: format!(
                    "SSL_CERT_DIR={d} names {} with no PEM certificates, and it replaces the system's certificate authorities",
                    if p.is_dir() { "a directory" } else { "no directory" }
                ),
                fix: "correct SSL_CERT_DIR to a directory of PEM certificates, or unset it to use the system's".into(),
            });
        }
    }
    None
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
            settings: NetSettings::default(),
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

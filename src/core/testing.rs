//! The one test hook in the product: `CONN_TEST_ORIGIN=http://127.0.0.1:PORT` sends every
//! request to a provider's URLs to a local fake instead, as
//! `http://127.0.0.1:PORT/<original host>/<original path>`, so a provider's real definition
//! can be exercised without the internet. Only loopback origins are accepted: credentials can
//! never be redirected off the machine this way.

use std::sync::OnceLock;

static ORIGIN: OnceLock<Option<String>> = OnceLock::new();

/// Sets the override from the environment snapshot, once, at start-up.
pub fn init(value: Option<&str>) {
    let origin = value
        .map(|v| v.trim_end_matches('/').to_string())
        .filter(|v| v.starts_with("http://127.0.0.1:"));
    let _ = ORIGIN.set(origin);
}

/// `url` rewritten to the test origin, when one is set; else unchanged. Loopback URLs (the
/// tests' own servers) are never rewritten.
pub fn redirect(url: &str) -> String {
    let Some(Some(origin)) = ORIGIN.get() else {
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

/// How many leading path segments of `url` the test origin added (the original host: 1), so
/// code that edits a request path (an API key in the path) edits the original one.
pub fn added_segments(url: &url::Url) -> usize {
    match ORIGIN.get() {
        Some(Some(origin)) if url.as_str().starts_with(&format!("{origin}/")) => 1,
        _ => 0,
    }
}

//! The loopback redirect target for browser sign-in (RFC 8252): a tiny HTTP server on
//! 127.0.0.1 that lives only for one flow, accepts only the expected path and state, and gives up
//! at a deadline. A URL pasted into the terminal (`--no-browser`) is accepted the same way.

use std::collections::BTreeMap;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};

use super::oauth2::{ErrorKind, OAuthError};

/// What the authorization server sent back on a successful redirect.
#[derive(Debug)]
pub struct Redirect {
    /// All query parameters (`code`, `state`, and extras such as QuickBooks' `realmId`).
    pub params: BTreeMap<String, String>,
}

pub struct Callback {
    server: tiny_http::Server,
    port: u16,
    path: String,
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callback")
            .field("port", &self.port)
            .field("path", &self.path)
            .finish()
    }
}

const PAGE_OK: &str = "<!doctype html><meta charset=utf-8><title>conn</title><body style=\"font-family:sans-serif\"><h2>Signed in</h2><p>You can close this tab and return to the terminal.</p>";

fn page_error(msg: &str) -> String {
    let esc = msg
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "<!doctype html><meta charset=utf-8><title>conn</title><body style=\"font-family:sans-serif\"><h2>Sign-in did not complete</h2><p>{esc}</p><p>Return to the terminal for details.</p>"
    )
}

impl Callback {
    /// Binds 127.0.0.1 only: `port` 0 picks a free port.
    pub fn bind(port: u16, path: &str) -> Result<Self> {
        let server = tiny_http::Server::http(("127.0.0.1", port))
            .map_err(|e| anyhow!("could not listen on 127.0.0.1:{port} for the sign-in redirect: {e}"))
            .with_context(|| {
                if port != 0 {
                    format!("is another program using port {port}? pick another with --port (and register that redirect URI)")
                } else {
                    "no free loopback port".to_string()
                }
            })?;
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .context("callback server has no IP address")?;
        Ok(Callback {
            server,
            port,
            path: path.to_string(),
        })
    }

    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.port, self.path)
    }

    /// Waits for the redirect carrying `state`. Requests for other paths get 404 and one with a
    /// wrong or missing state gets an error page; both keep waiting. An OAuth error in the
    /// redirect (RFC 6749 4.1.2.1) ends the flow with that error.
    pub fn wait(
        self,
        state: &str,
        timeout: Duration,
        pasted: Option<&Receiver<String>>,
    ) -> Result<Redirect> {
        let deadline = Instant::now() + timeout;
        loop {
            if Instant::now() >= deadline {
                return Err(OAuthError::new(
                    ErrorKind::Timeout,
                    format!(
                        "no sign-in came back within {}s; nothing was saved (run again, or raise --timeout)",
                        timeout.as_secs()
                    ),
                )
                .into());
            }
            if let Some(rx) = pasted
                && let Ok(line) = rx.try_recv()
            {
                match parse_pasted(&line, &self.path) {
                    Some(params) => match judge(&params, state) {
                        Verdict::Done(r) => return r,
                        Verdict::WrongState => {
                            crate::debug!("pasted URL has the wrong state; still waiting");
                        }
                    },
                    None => crate::debug!("pasted text is not the redirect URL; still waiting"),
                }
            }
            let Ok(Some(req)) = self.server.recv_timeout(Duration::from_millis(100)) else {
                continue;
            };
            let url = req.url().to_string();
            let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
            if path != self.path {
                let _ = req
                    .respond(tiny_http::Response::from_string("not found").with_status_code(404));
                continue;
            }
            let params = parse_query(query);
            match judge(&params, state) {
                Verdict::WrongState => {
                    let _ = req.respond(html(
                        400,
                        page_error("This sign-in response does not belong to the running conn command (state mismatch). Start again from the terminal."),
                    ));
                }
                Verdict::Done(Ok(r)) => {
                    let _ = req.respond(html(200, PAGE_OK.to_string()));
                    return Ok(r);
                }
                Verdict::Done(Err(e)) => {
                    let _ = req.respond(html(400, page_error(&format!("{e:#}"))));
                    return Err(e);
                }
            }
        }
    }
}

enum Verdict {
    Done(Result<Redirect>),
    WrongState,
}

fn judge(params: &BTreeMap<String, String>, state: &str) -> Verdict {
    // An error redirect may come without state from some servers; only a matching or absent
    // state may end the flow with an error, and only a matching one may carry a code.
    let state_ok = params.get("state").map(String::as_str) == Some(state);
    if let Some(err) = params.get("error") {
        if !state_ok && params.contains_key("state") {
            return Verdict::WrongState;
        }
        let desc = params
            .get("error_description")
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        let kind = if err == "access_denied" {
            ErrorKind::Denied
        } else {
            ErrorKind::Server
        };
        return Verdict::Done(Err(OAuthError::new(
            kind,
            format!("the authorization server answered {err}{desc}; nothing was saved"),
        )
        .into()));
    }
    if !state_ok {
        return Verdict::WrongState;
    }
    if !params.contains_key("code") {
        return Verdict::Done(Err(OAuthError::new(
            ErrorKind::BadResponse,
            "the redirect carried neither a code nor an error",
        )
        .into()));
    }
    Verdict::Done(Ok(Redirect {
        params: params.clone(),
    }))
}

fn html(status: u16, body: String) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    tiny_http::Response::from_string(body)
        .with_status_code(status)
        .with_header(
            "Content-Type: text/html; charset=utf-8"
                .parse::<tiny_http::Header>()
                .expect("static header"),
        )
}

fn parse_query(query: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The query of a pasted redirect URL, if it is one for our path.
fn parse_pasted(line: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let url = url::Url::parse(line.trim()).ok()?;
    if url.path() != path {
        return None;
    }
    Some(parse_query(url.query().unwrap_or("")))
}

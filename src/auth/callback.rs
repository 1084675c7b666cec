//! The loopback redirect target for browser sign-in (RFC 8252): a tiny HTTP server on
//! 127.0.0.1 that lives only for one flow, accepts only the expected path and state, and gives up
//! at a deadline. A URL pasted into the terminal (`--no-browser`) is accepted the same way.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::core::text::one_line;

use anyhow::{Context, Result, anyhow};

use super::error::{ErrorKind, OAuthError};
use crate::catalog::provider::RedirectHost;
use crate::core::ui::Pasted;

/// The redirect a flow waits for: which parameter ties it to this flow, and what it carries.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Expect<'a> {
    /// OAuth 2.0: `state` must match; the redirect carries `code`.
    OAuth2 { state: &'a str },
    /// OAuth 1.0a: `oauth_token` must be the temporary token; the redirect carries
    /// `oauth_verifier`.
    OAuth1 { token: &'a str },
}

impl Expect<'_> {
    fn key(&self) -> (&'static str, &str) {
        match self {
            Expect::OAuth2 { state } => ("state", state),
            Expect::OAuth1 { token } => ("oauth_token", token),
        }
    }

    fn carries(&self) -> &'static str {
        match self {
            Expect::OAuth2 { .. } => "code",
            Expect::OAuth1 { .. } => "oauth_verifier",
        }
    }
}

/// What the authorization server sent back on a successful redirect.
#[derive(Debug)]
pub(crate) struct Redirect {
    /// All query parameters (`code`, `state`, and extras such as QuickBooks' `realmId`).
    pub params: BTreeMap<String, String>,
}

pub(crate) struct Callback {
    server: tiny_http::Server,
    port: u16,
    path: String,
    /// The host name the redirect URI uses; the server listens on 127.0.0.1 whatever it is.
    host: RedirectHost,
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

/// The browser's page for a redirect conn did not take: `msg`, then `next`, what is true now
/// (conn ended, or is still waiting).
fn page_error(msg: &str, next: &str) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    format!(
        "<!doctype html><meta charset=utf-8><title>conn</title><body style=\"font-family:sans-serif\"><h2>Sign-in did not complete</h2><p>{}</p><p>{}</p>",
        esc(msg),
        esc(next)
    )
}

/// Said after a redirect of another sign-in, while this one goes on.
const STILL_WAITING: &str = "conn is still waiting for this sign-in: try again from the sign-in link conn showed in the terminal (the same link works again), within the time it waits.";

/// Said after a pasted line conn did not take.
const PASTE_AGAIN: &str = "Still waiting: sign in at the URL above and paste the address the browser is sent to, or press Ctrl-C.";

impl Callback {
    /// Binds 127.0.0.1 only: `port` 0 picks a free port.
    pub(crate) fn bind(port: u16, path: &str) -> Result<Self> {
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
            host: RedirectHost::default(),
        })
    }

    /// The redirect URI names `host` (a provider that registers `localhost`); the server
    /// still listens on 127.0.0.1 only, where browsers send `localhost` too.
    pub(crate) fn with_host(mut self, host: RedirectHost) -> Self {
        self.host = host;
        self
    }

    /// The redirect URI the sign-in sends: `http://HOST:PORT/PATH`, the same one
    /// `conn providers show` tells to register (with the port when the provider fixes one).
    pub(crate) fn redirect_uri(&self) -> String {
        crate::catalog::provider::redirect_uri(self.host, Some(self.port), &self.path)
    }

    /// Waits for the redirect that belongs to this flow (`expect`). Requests for other paths
    /// get 404 and one with a wrong or missing state (or OAuth 1.0a token) gets an error page
    /// saying conn still waits; both keep waiting. An error in the redirect (RFC 6749
    /// 4.1.2.1, or OAuth 1.0a's `denied`) ends the flow with that error. A line `pasted` is
    /// answered: "Got it" for this flow's redirect; otherwise why it was not taken (not a URL,
    /// another path, another sign-in's state, an error or no code in it), and conn keeps
    /// waiting, since the person can sign in again and paste the new address.
    pub(crate) fn wait(
        self,
        expect: Expect<'_>,
        timeout: Duration,
        mut pasted: Option<&mut Pasted>,
    ) -> Result<Redirect> {
        let deadline = crate::core::time::deadline_after(timeout);
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
            if let Some(p) = pasted.as_deref_mut()
                && let Ok(line) = p.lines.try_recv()
                && !line.trim().is_empty()
            {
                let answer = match parse_pasted(&line, &self.path) {
                    Err(why) => format!(
                        "{why} (it starts with {}). {PASTE_AGAIN}",
                        self.redirect_uri()
                    ),
                    Ok(params) => match judge(&params, expect) {
                        Verdict::Done(Ok(r)) => {
                            (p.reply)("Got it, finishing sign-in…");
                            return Ok(r);
                        }
                        Verdict::Done(Err(e)) => {
                            let why = format!("{e:#}");
                            let why = why.strip_suffix("; nothing was saved").unwrap_or(&why);
                            format!("conn did not take that URL: {why}. {PASTE_AGAIN}")
                        }
                        Verdict::WrongState => format!(
                            "conn did not take that URL: it belongs to another sign-in (its {} is not this one's). {PASTE_AGAIN}",
                            expect.key().0
                        ),
                    },
                };
                (p.reply)(&answer);
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
            match judge(&params, expect) {
                Verdict::WrongState => {
                    let _ = req.respond(html(
                        400,
                        page_error(
                            &format!(
                                "This address belongs to another sign-in than the one conn is waiting for (its {} does not match).",
                                expect.key().0
                            ),
                            STILL_WAITING,
                        ),
                    ));
                }
                Verdict::Done(Ok(r)) => {
                    let _ = req.respond(html(200, PAGE_OK.to_string()));
                    return Ok(r);
                }
                Verdict::Done(Err(e)) => {
                    let _ = req.respond(html(
                        400,
                        page_error(
                            &format!("{e:#}"),
                            "conn has stopped waiting; return to the terminal for details.",
                        ),
                    ));
                    return Err(e);
                }
            }
        }
    }
}

pub(crate) enum Verdict {
    Done(Result<Redirect>),
    WrongState,
}

pub(crate) fn judge(params: &BTreeMap<String, String>, expect: Expect<'_>) -> Verdict {
    // RFC 6749 4.1.2.1 puts `state` in error redirects too, so an OAuth 2.0 error without
    // the right state is as forged as any other request (a web page in the user's browser can
    // reach the port): answered 400, and the flow keeps waiting. OAuth 1.0a has no such rule;
    // an error there may come without the token.
    let (key, value) = expect.key();
    let key_ok = params.get(key).map(String::as_str) == Some(value);
    let denied = match expect {
        Expect::OAuth1 { token } => oauth1_denial(params, token),
        Expect::OAuth2 { .. } => None,
    };
    let error = params
        .get("error")
        .map(|e| {
            let oauth1 = matches!(expect, Expect::OAuth1 { .. });
            (key_ok || (oauth1 && !params.contains_key(key)), e.clone())
        })
        .or(denied);
    if let Some((ours, err)) = error {
        if !ours {
            return Verdict::WrongState;
        }
        let desc = params
            .get("error_description")
            .map(|d| format!(": {}", one_line(d)))
            .unwrap_or_default();
        let err = one_line(&err);
        if err.starts_with("access_denied") {
            return Verdict::Done(Err(OAuthError::new(
                ErrorKind::Denied,
                format!("the sign-in was denied at the provider: it answered {err}{desc}; nothing was saved"),
            )
            .into()));
        }
        return Verdict::Done(Err(OAuthError::new(
            ErrorKind::Server,
            format!("the authorization server answered {err}{desc}; nothing was saved"),
        )
        .into()));
    }
    if !key_ok {
        return Verdict::WrongState;
    }
    if !params.contains_key(expect.carries()) {
        return Verdict::Done(Err(OAuthError::new(
            ErrorKind::BadResponse,
            format!(
                "the redirect carried neither {} nor an error",
                expect.carries()
            ),
        )
        .into()));
    }
    Verdict::Done(Ok(Redirect {
        params: params.clone(),
    }))
}

/// OAuth 1.0a has no standard error redirect (RFC 5849 2.2 leaves a refusal to the provider).
/// The forms providers use, each a denial (nothing saved, the flow ends at once):
/// - `denied=<temporary token>`: X/Twitter's authorize page after Cancel (an example redirect
///   is quoted in <https://github.com/parse-community/Parse-SDK-iOS-OSX/issues/1566>);
/// - `oauth_problem=user_refused`: the OAuth Problem Reporting extension
///   (<https://oauth.pbworks.com/w/page/12238543/ProblemReporting>: "the User refused to
///   permit the Consumer to access the Protected Resources"; also in Yahoo's OAuth error
///   guide, <https://developer.yahoo.com/oauth/guide/oauth-errors.html>). LinkedIn's and
///   XING's OAuth 1.0a pages sent the person back with it and no token (passport-linkedin
///   and passport-xing document `callback?oauth_problem=user_refused`);
/// - `oauth_problem=permission_denied`: the same extension and Yahoo's guide (the consumer
///   may not have access); Adobe Commerce lists it among its OAuth errors
///   (<https://adobedocs.github.io/commerce-webapi/commerce/webapi/get-started/authentication/oauth-errors.html>).
///
/// Any other `oauth_problem` on the callback also ends the flow, as the provider's error. A
/// redirect that names another temporary token (in `denied` or `oauth_token`) belongs to
/// another flow and is refused like any forged one; the `oauth_problem` forms come without a
/// token from these providers, so a redirect without one is taken as theirs.
/// Returns whether the redirect is this flow's, and the error code to report.
fn oauth1_denial(params: &BTreeMap<String, String>, token: &str) -> Option<(bool, String)> {
    if let Some(d) = params.get("denied") {
        return Some((d == token, "access_denied".to_string()));
    }
    let problem = params.get("oauth_problem")?;
    let ours = params.get("oauth_token").is_none_or(|t| t == token);
    // Outside text reaches the terminal only as a short lower-case word, the extension's form.
    let code = match problem.as_str() {
        "user_refused" | "permission_denied" => "access_denied (oauth_problem={problem})",
        p if !p.is_empty()
            && p.len() <= 40
            && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
        {
            "oauth_problem={problem}"
        }
        _ => "an unreadable oauth_problem",
    };
    Some((ours, code.replace("{problem}", problem)))
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

pub(crate) fn parse_query(query: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The query of a pasted redirect URL for our path; `Err` says what else it is.
fn parse_pasted(line: &str, path: &str) -> Result<BTreeMap<String, String>, &'static str> {
    let url = url::Url::parse(line.trim())
        .map_err(|_| "That is not a URL: paste the whole address from the browser's address bar")?;
    if url.path() != path {
        return Err("That URL is not the sign-in redirect");
    }
    Ok(parse_query(url.query().unwrap_or("")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> BTreeMap<String, String> {
        parse_query(s)
    }

    #[test]
    fn oauth1_denials_are_recognised_and_tied_to_the_flow() {
        let t = "tmp123";
        let d = |s: &str| oauth1_denial(&q(s), t);
        assert_eq!(d("denied=tmp123"), Some((true, "access_denied".into())));
        assert_eq!(d("denied=other").map(|x| x.0), Some(false));
        assert_eq!(
            d("oauth_problem=user_refused"),
            Some((true, "access_denied (oauth_problem=user_refused)".into()))
        );
        assert_eq!(
            d("oauth_token=tmp123&oauth_problem=permission_denied"),
            Some((
                true,
                "access_denied (oauth_problem=permission_denied)".into()
            ))
        );
        assert_eq!(
            d("oauth_token=x&oauth_problem=user_refused").map(|x| x.0),
            Some(false)
        );
        assert_eq!(
            d("oauth_problem=token_expired"),
            Some((true, "oauth_problem=token_expired".into()))
        );
        // Terminal control characters or long text are not repeated.
        assert_eq!(
            d("oauth_problem=%1b%5D0%3Bpwned%07"),
            Some((true, "an unreadable oauth_problem".into()))
        );
        assert_eq!(d("oauth_token=tmp123&oauth_verifier=v"), None);
    }
}

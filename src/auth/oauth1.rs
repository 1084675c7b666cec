//! OAuth 1.0a (RFC 5849): request signing (HMAC-SHA1, HMAC-SHA256, RSA-SHA1, PLAINTEXT) and
//! the three-legged flow: temporary credentials, authorization in the browser with a loopback
//! callback (or a verifier typed in for `oob`), then token credentials.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow};
use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::blocking::{Request, RequestBuilder};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use url::Url;

use super::callback::{Callback, Expect};
use super::error::{ErrorKind, OAuthError};
use super::{Authenticator, ClientKind, ClientNeeds, Method, SignIn, SignedIn};
use crate::catalog::provider::SignatureMethod;
use crate::catalog::{ClientAuth, OAuth1Spec, template};
use crate::core::error::usage;
use crate::core::http::Http;
use crate::core::scrub::Scrubber;
use crate::core::secret::{Secret, SecretBundle};
use crate::core::ui::Pasted;
use crate::core::vocab::Grant;

/// Bundle keys of an OAuth 1.0a connection.
pub(crate) const TOKEN: &str = "oauth_token";
pub(crate) const TOKEN_SECRET: &str = "oauth_token_secret";
/// Added to a connection's bundle at use time from its OAuth client; never stored with it.
pub(crate) const CONSUMER_KEY: &str = "consumer_key";
pub(crate) const CONSUMER_SECRET: &str = "consumer_secret";

/// The registered app: its key, and its secret (or, for RSA-SHA1, its PEM private key).
#[derive(Debug, Clone)]
pub(crate) struct Consumer {
    pub key: String,
    pub secret: Secret<String>,
    pub method: SignatureMethod,
    pub realm: Option<String>,
}

impl Consumer {
    /// Fails early, with advice, when an RSA-SHA1 consumer's key can't be used.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.method == SignatureMethod::RsaSha1 {
            rsa_key(&self.secret)?;
        }
        Ok(())
    }
}

/// RFC 5849 3.6: unreserved characters stay; every other byte of the UTF-8 form becomes %XX.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// 3.4.1.2: scheme and host in lower case, a default port left out, no query or fragment.
pub(crate) fn base_string_uri(url: &Url) -> String {
    // `Url` already lower-cases both and drops a port that is the scheme's default.
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!(
        "{}://{}{port}{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.path()
    )
}

/// 3.4.1.3.2: every name and value encoded, sorted by name then value, joined with `&`.
pub(crate) fn normalize(params: &[(String, String)]) -> String {
    let mut enc: Vec<(String, String)> =
        params.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    enc.sort();
    enc.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// 3.4.1: the signature base string. `params` are the protocol parameters (without
/// `oauth_signature` and `realm`) and the form body's; the query is taken from `url`.
pub(crate) fn base_string(method: &str, url: &Url, params: &[(String, String)]) -> String {
    let mut all: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    all.extend(params.iter().cloned());
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(&base_string_uri(url)),
        encode(&normalize(&all))
    )
}

/// The token credentials (or temporary credentials) a request is signed with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenRef<'a> {
    pub token: &'a str,
    pub secret: &'a str,
}

/// One request to sign: everything that goes into the base string.
#[derive(Debug)]
pub(crate) struct ToSign<'a> {
    pub method: &'a str,
    pub url: &'a Url,
    /// Parameters of an `application/x-www-form-urlencoded` body.
    pub form: &'a [(String, String)],
    /// Extra protocol parameters (`oauth_callback`, `oauth_verifier`).
    pub extra: &'a [(&'a str, &'a str)],
    pub nonce: &'a str,
    pub timestamp: u64,
}

/// The `Authorization: OAuth ...` header value for a request (3.5.1).
pub(crate) fn authorization(
    consumer: &Consumer,
    token: Option<TokenRef<'_>>,
    req: &ToSign<'_>,
) -> Result<Secret<String>> {
    let mut oauth: Vec<(String, String)> = vec![
        ("oauth_consumer_key".into(), consumer.key.clone()),
        ("oauth_nonce".into(), req.nonce.to_string()),
        (
            "oauth_signature_method".into(),
            consumer.method.as_str().into(),
        ),
        ("oauth_timestamp".into(), req.timestamp.to_string()),
        ("oauth_version".into(), "1.0".into()),
    ];
    if let Some(t) = token {
        oauth.push(("oauth_token".into(), t.token.to_string()));
    }
    for (k, v) in req.extra {
        oauth.push(((*k).to_string(), (*v).to_string()));
    }
    let mut params = oauth.clone();
    params.extend(req.form.iter().cloned());
    let base = base_string(req.method, req.url, &params);
    let token_secret = token.map_or("", |t| t.secret);
    let signature = sign(consumer, token_secret, &base)?;
    oauth.push(("oauth_signature".into(), signature));
    let mut parts = Vec::new();
    if let Some(realm) = &consumer.realm {
        parts.push(format!("realm=\"{}\"", encode(realm)));
    }
    parts.extend(
        oauth
            .iter()
            .map(|(k, v)| format!("{}=\"{}\"", encode(k), encode(v))),
    );
    Ok(Secret::new(format!("OAuth {}", parts.join(", "))))
}

/// 3.4.2-3.4.4: the signature of a base string.
pub(crate) fn sign(consumer: &Consumer, token_secret: &str, base: &str) -> Result<String> {
    let key = format!(
        "{}&{}",
        encode(consumer.secret.expose()),
        encode(token_secret)
    );
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    Ok(match consumer.method {
        SignatureMethod::HmacSha1 => {
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes())
                .expect("HMAC takes any key length");
            mac.update(base.as_bytes());
            b64(&mac.finalize().into_bytes())
        }
        SignatureMethod::HmacSha256 => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes())
                .expect("HMAC takes any key length");
            mac.update(base.as_bytes());
            b64(&mac.finalize().into_bytes())
        }
        SignatureMethod::RsaSha1 => {
            use rsa::signature::{SignatureEncoding, Signer};
            let signer = rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(rsa_key(&consumer.secret)?);
            let sig = signer
                .try_sign(base.as_bytes())
                .map_err(|e| anyhow!("RSA-SHA1 signing failed: {e}"))?;
            b64(&sig.to_bytes())
        }
        SignatureMethod::Plaintext => key,
    })
}

fn rsa_key(pem: &Secret<String>) -> Result<rsa::RsaPrivateKey> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    let text = pem.expose().trim();
    rsa::RsaPrivateKey::from_pkcs8_pem(text)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(text))
        .map_err(|_| {
            anyhow!(
                "the RSA-SHA1 private key is not a PEM RSA private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)"
            )
        })
}

/// A fresh nonce for each request.
pub(crate) fn nonce() -> String {
    // 96 bits as 24 hex digits: oauthlib-based providers refuse nonces outside 20-30
    // letters and digits.
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).expect("the OS random source failed");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn timestamp() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Signs every request of an OAuth 1.0a connection.
#[derive(Debug)]
pub(crate) struct Signer {
    consumer: Consumer,
    token: Secret<String>,
    token_secret: Secret<String>,
}

impl Signer {
    pub(crate) fn new(
        consumer: Consumer,
        token: Secret<String>,
        token_secret: Secret<String>,
    ) -> Self {
        Signer {
            consumer,
            token,
            token_secret,
        }
    }

    fn sign_request(&self, req: &mut Request) -> Result<()> {
        let is_form = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let form: Vec<(String, String)> = match (is_form, req.body().and_then(|b| b.as_bytes())) {
            (true, Some(bytes)) => url::form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            _ => Vec::new(),
        };
        let nonce = nonce();
        let header = authorization(
            &self.consumer,
            Some(TokenRef {
                token: self.token.expose(),
                secret: self.token_secret.expose(),
            }),
            &ToSign {
                method: req.method().as_str(),
                url: req.url(),
                form: &form,
                extra: &[],
                nonce: &nonce,
                timestamp: timestamp(),
            },
        )?;
        let mut value = HeaderValue::from_str(header.expose())
            .context("the OAuth header is not a valid header value")?;
        value.set_sensitive(true);
        req.headers_mut().insert(AUTHORIZATION, value);
        Ok(())
    }
}

impl Authenticator for Signer {
    fn apply(&self, req: RequestBuilder) -> RequestBuilder {
        // Signing covers the method, URL and form body, so it needs the finished request.
        let Some(fallback) = req.try_clone() else {
            log::debug!("a streamed body can't be signed with OAuth 1.0a");
            return req;
        };
        let (client, built) = req.build_split();
        match built {
            Ok(mut r) => match self.sign_request(&mut r) {
                Ok(()) => RequestBuilder::from_parts(client, r),
                Err(e) => {
                    log::debug!("could not sign the request: {e:#}");
                    fallback
                }
            },
            // The copy fails the same way when it is sent.
            Err(_) => fallback,
        }
    }

    /// No `AUTHORIZATION`: each request needs its own signature. The parts a script's OAuth
    /// 1.0a library signs with are exported instead.
    fn env_vars(&self) -> Vec<(&'static str, Secret<String>)> {
        use super::env_var::*;
        let consumer_secret = match self.consumer.method {
            SignatureMethod::RsaSha1 => PRIVATE_KEY,
            _ => CONSUMER_SECRET,
        };
        vec![
            (TOKEN, self.token.clone()),
            (TOKEN_SECRET, self.token_secret.clone()),
            (CONSUMER_KEY, Secret::new(self.consumer.key.clone())),
            (consumer_secret, self.consumer.secret.clone()),
        ]
    }

    fn secret_values(&self) -> Vec<Secret<String>> {
        secrets_of(
            &self.consumer,
            Some(TokenRef {
                token: self.token.expose(),
                secret: self.token_secret.expose(),
            }),
        )
    }
}

/// The secrets a request signed with `consumer` and `token` carries or is signed with, for
/// scrubbing (`core::scrub` adds every encoding): the token and its secret, the consumer
/// secret (not an RSA key: it never leaves this computer), and the signing key
/// `enc(consumer secret)&enc(token secret)`, which PLAINTEXT sends as the signature.
pub(crate) fn secrets_of(consumer: &Consumer, token: Option<TokenRef<'_>>) -> Vec<Secret<String>> {
    let mut out = Vec::new();
    if let Some(t) = token {
        out.push(Secret::new(t.token.to_string()));
        out.push(Secret::new(t.secret.to_string()));
    }
    if consumer.method != SignatureMethod::RsaSha1 {
        out.push(consumer.secret.clone());
        out.push(Secret::new(format!(
            "{}&{}",
            encode(consumer.secret.expose()),
            encode(token.map_or("", |t| t.secret))
        )));
    }
    out
}

/// Token credentials from the last step of the flow.
#[derive(Debug)]
pub(crate) struct TokenCredentials {
    pub token: Secret<String>,
    pub secret: Secret<String>,
    /// Other fields of the answer (user_id, screen_name, ...): not secret.
    pub extra: BTreeMap<String, String>,
}

impl TokenCredentials {
    pub(crate) fn write_to(&self, bundle: &mut SecretBundle) {
        bundle.insert(TOKEN, self.token.clone());
        bundle.insert(TOKEN_SECRET, self.secret.clone());
    }
}

/// The consumer and token a stored connection signs with, from its bundle (the consumer
/// fields are added by the caller from the connection's OAuth client).
pub(crate) fn signer_from(
    spec: &OAuth1Spec,
    bundle: &SecretBundle,
    missing: impl Fn(&str) -> anyhow::Error,
) -> Result<Signer> {
    let get = |k: &str| bundle.get(k).cloned().ok_or_else(|| missing(k));
    let consumer = Consumer {
        key: get(CONSUMER_KEY)?.expose().clone(),
        secret: get(CONSUMER_SECRET)?,
        method: spec.signature_method,
        realm: spec.realm.clone(),
    };
    Ok(Signer::new(consumer, get(TOKEN)?, get(TOKEN_SECRET)?))
}

/// The parameters of one three-legged sign-in.
#[derive(Debug)]
pub(crate) struct Flow<'a> {
    pub spec: &'a OAuth1Spec,
    /// Fill `${...}` in the spec's URLs.
    pub inputs: &'a BTreeMap<String, String>,
    /// Loopback port: 0 for any.
    pub port: u16,
    pub timeout: Duration,
    /// Lines typed into the terminal: a pasted redirect URL, or the `oob` verifier.
    pub pasted: Option<Pasted>,
    /// `oauth_callback=oob`: no callback server; the verifier is typed in.
    pub oob: bool,
}

/// Runs the flow. `open` is given the authorization URL to show and open.
pub(crate) fn three_legged(
    http: &Http,
    consumer: &Consumer,
    mut flow: Flow<'_>,
    open: &mut dyn FnMut(&str) -> Result<()>,
) -> Result<(TokenCredentials, BTreeMap<String, String>)> {
    let url = |field: &str, v: &str| -> Result<Url> {
        let filled = template::url(v, flow.inputs).map_err(|e| anyhow!("{field}: {e:#}"))?;
        let filled = http.route(&filled);
        Url::parse(&filled).with_context(|| format!("{field} {filled:?} is not a valid URL"))
    };
    let request_token_url = url("request_token_url", &flow.spec.request_token_url)?;
    let authorize_url = url("authorize_url", &flow.spec.authorize_url)?;
    let access_token_url = url("access_token_url", &flow.spec.access_token_url)?;
    let callback = if flow.oob {
        None
    } else {
        Some(
            Callback::bind(flow.port, &flow.spec.redirect_path)?.with_host(flow.spec.redirect_host),
        )
    };
    let callback_uri = callback
        .as_ref()
        .map_or_else(|| "oob".to_string(), Callback::redirect_uri);

    let temp = token_request(
        http,
        consumer,
        None,
        &request_token_url,
        &[("oauth_callback", &callback_uri)],
        "getting temporary credentials (request token)",
    )?;
    if temp
        .extra
        .get("oauth_callback_confirmed")
        .map(String::as_str)
        != Some("true")
    {
        return Err(OAuthError::new(
            ErrorKind::BadResponse,
            "the provider did not confirm the callback (no oauth_callback_confirmed=true): it speaks OAuth 1.0 without the 1.0a session-fixation fix, which conn does not accept",
        )
        .into());
    }

    let mut auth = authorize_url;
    auth.query_pairs_mut()
        .append_pair("oauth_token", temp.token.expose());
    for (k, v) in &flow.spec.authorize_params {
        auth.query_pairs_mut().append_pair(k, v);
    }
    open(auth.as_str())?;

    let (verifier, params) = match callback {
        Some(cb) => {
            let r = cb.wait(
                Expect::OAuth1 {
                    token: temp.token.expose(),
                },
                flow.timeout,
                flow.pasted.as_mut(),
            )?;
            let v = r.params.get("oauth_verifier").cloned().unwrap_or_default();
            (v, r.params)
        }
        None => (
            typed_verifier(flow.pasted.as_mut(), flow.timeout)?,
            BTreeMap::new(),
        ),
    };
    let creds = token_request(
        http,
        consumer,
        Some(TokenRef {
            token: temp.token.expose(),
            secret: temp.secret.expose(),
        }),
        &access_token_url,
        &[("oauth_verifier", &verifier)],
        "exchanging the verifier for token credentials (access token)",
    )?;
    Ok((creds, params))
}

fn typed_verifier(pasted: Option<&mut Pasted>, timeout: Duration) -> Result<String> {
    let pasted =
        pasted.context("the out-of-band sign-in needs a terminal to type the verifier into")?;
    let rx = &pasted.lines;
    let deadline = crate::core::time::deadline_after(timeout);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(OAuthError::new(
                ErrorKind::Timeout,
                format!(
                    "no verifier was typed in within {}s; nothing was saved (run again, or raise --timeout)",
                    timeout.as_secs()
                ),
            )
            .into());
        }
        match rx.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(line) if !line.trim().is_empty() => {
                (pasted.reply)("Got it, finishing sign-in…");
                return Ok(line.trim().to_string());
            }
            Ok(_) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(OAuthError::new(
                    ErrorKind::Denied,
                    "the terminal closed before a verifier was typed in; nothing was saved",
                )
                .into());
            }
        }
    }
}

/// One signed POST to a credentials endpoint (2.1, 2.3); the answer is form-encoded.
fn token_request(
    http: &Http,
    consumer: &Consumer,
    token: Option<TokenRef<'_>>,
    url: &Url,
    extra: &[(&str, &str)],
    step: &str,
) -> Result<TokenCredentials> {
    let nonce = nonce();
    let header = authorization(
        consumer,
        token,
        &ToSign {
            method: "POST",
            url,
            form: &[],
            extra,
            nonce: &nonce,
            timestamp: timestamp(),
        },
    )?;
    let resp = http
        .post(url.as_str())
        .header(AUTHORIZATION, header.expose().as_str())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("")
        .send()
        .map_err(|e| {
            OAuthError::new(
                ErrorKind::Unreachable,
                format!(
                    "{step}: {}",
                    crate::core::error::chain_text(&e.without_url())
                ),
            )
        })?;
    let status = resp.status().as_u16();
    let date = resp
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = resp.text().unwrap_or_default();
    // An error page may echo what was sent, in any encoding.
    let sent = secrets_of(consumer, token);
    let body = Scrubber::new(sent.iter().map(|s| s.expose().as_str())).scrub_str(&body);
    if !(200..300).contains(&status) {
        return Err(rejection(step, status, &body, date.as_deref()).into());
    }
    let mut fields: BTreeMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let (Some(t), Some(s)) = (fields.remove(TOKEN), fields.remove(TOKEN_SECRET)) else {
        return Err(OAuthError::new(
            ErrorKind::BadResponse,
            format!(
                "{step}: the provider's answer has no oauth_token and oauth_token_secret (HTTP {status}, {})",
                excerpt(&body)
            ),
        )
        .into());
    };
    Ok(TokenCredentials {
        token: Secret::new(t),
        secret: Secret::new(s),
        extra: fields,
    })
}

fn rejection(step: &str, status: u16, body: &str, date: Option<&str>) -> OAuthError {
    if is_clock_problem(status, body) {
        return OAuthError::new(
            ErrorKind::Server,
            format!("{step}: {}", clock_message(date)),
        );
    }
    let kind = if status >= 500 {
        ErrorKind::Unreachable
    } else {
        ErrorKind::Server
    };
    let advice = match status {
        401 if step.starts_with("getting") => {
            "; check the consumer key and secret (or private key) and the signature method"
        }
        401 => "; the verifier or temporary token was refused; start the sign-in again",
        _ => "",
    };
    OAuthError::new(
        kind,
        format!("{step}: HTTP {status}: {}{advice}", excerpt(body)),
    )
}

fn excerpt(body: &str) -> String {
    let t = body.trim();
    if t.is_empty() {
        return "(empty answer)".into();
    }
    let cut: String = t.chars().take(200).collect();
    if cut.len() < t.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// Whether a rejected request was refused for its timestamp or nonce (RFC 5849 3.3; the
/// `oauth_problem` values of the OAuth Problem Reporting extension; library messages).
pub(crate) fn is_clock_problem(status: u16, body: &str) -> bool {
    let b = body.to_ascii_lowercase();
    matches!(status, 400 | 401) && (b.contains("timestamp") || b.contains("nonce"))
}

/// Explains a timestamp rejection with this computer's clock against the server's `Date`.
pub(crate) fn clock_message(server_date: Option<&str>) -> String {
    let now = SystemTime::now();
    let local = httpdate::fmt_http_date(now);
    let server = server_date.and_then(|d| httpdate::parse_http_date(d).ok().map(|t| (d, t)));
    match server {
        Some((text, at)) => {
            let (dir, by) = match now.duration_since(at) {
                Ok(d) => ("ahead of", d),
                Err(e) => ("behind", e.duration()),
            };
            // The Date header has whole seconds; beyond two minutes, whole minutes read better.
            let mut by = by.as_secs_f64().round() as u64;
            if by > 120 {
                by = (by + 30) / 60 * 60;
            }
            format!(
                "the provider refused the request's timestamp/nonce. This computer's clock says {local}, the server's Date says {text}: this clock is {} {dir} the server. Set the clock right (for example enable NTP: 'timedatectl set-ntp true') and try again",
                humantime::format_duration(Duration::from_secs(by))
            )
        }
        None => format!(
            "the provider refused the request's timestamp/nonce. This computer's clock says {local} (the server sent no Date header to compare); check that the clock is right (NTP) and try again"
        ),
    }
}

impl Method for OAuth1Spec {
    fn token_field(&self) -> &'static str {
        // The token alone can't sign a request; scripts that need to should use conn exec or
        // conn request.
        TOKEN
    }

    fn authenticator(
        &self,
        _values: &BTreeMap<String, String>,
        _username: Option<&str>,
        secrets: &SecretBundle,
    ) -> Result<Box<dyn Authenticator>> {
        Ok(Box::new(signer_from(self, secrets, super::missing)?))
    }

    fn client_needs(&self) -> Option<ClientNeeds<'_>> {
        Some(ClientNeeds {
            registration_url: self.app_registration_url.as_deref(),
            redirect: (self.redirect_host, self.redirect_port, &self.redirect_path),
            auth: ClientAuth::default(),
            kind: if self.signature_method == SignatureMethod::RsaSha1 {
                ClientKind::OAuth1Rsa
            } else {
                ClientKind::OAuth1
            },
        })
    }

    fn signs_with_client(&self) -> bool {
        true
    }

    fn sign_in(&self, s: SignIn<'_>) -> Result<Option<SignedIn>> {
        if s.grant.is_some_and(|g| g != Grant::OAuth1) {
            return Err(usage("--grant and --device are for OAuth 2.0"));
        }
        let secret = s.client.secret.clone().ok_or_else(|| {
            usage(if self.signature_method == SignatureMethod::RsaSha1 {
                "this OAuth 1.0a provider signs with RSA-SHA1: give the consumer's private key with --private-key FILE"
            } else {
                "an OAuth 1.0a consumer needs its consumer secret: --client-secret-stdin or --client-secret-env VAR"
            })
        })?;
        let consumer = Consumer {
            key: s.client.id.clone(),
            secret,
            method: self.signature_method,
            realm: self.realm.clone(),
        };
        consumer.validate()?;
        let oob = s.no_browser && self.oob;
        let ui = s.ui;
        let pasted = if s.no_browser {
            ui.pasted_lines()
        } else {
            None
        };
        let open = !s.no_browser;
        // Turning while the browser works; not while a code or URL is typed.
        let mut waiting = None;
        let spin = pasted.is_none() && !oob;
        let signed_in = three_legged(
            s.http,
            &consumer,
            Flow {
                spec: self,
                inputs: s.values,
                port: s.port.or(self.redirect_port).unwrap_or(0),
                timeout: s.timeout,
                pasted,
                oob,
            },
            &mut |url| {
                ui.open_url(url, open);
                ui.notice(if oob {
                    "This provider shows a verification code after you approve: type it here and press Enter (Ctrl-C to cancel)."
                } else {
                    "Waiting for the sign-in to finish in the browser… (Ctrl-C to cancel)"
                });
                if spin {
                    waiting = Some(ui.progress("Waiting for the browser", None));
                }
                Ok(())
            },
        );
        drop(waiting);
        let (creds, callback) = signed_in?;
        let mut bundle = SecretBundle::new();
        creds.write_to(&mut bundle);
        Ok(Some(SignedIn {
            bundle,
            grant: Grant::OAuth1,
            scopes: Vec::new(),
            expires_at: None,
            callback,
            token_fields: creds.extra.clone(),
            offline_access: false,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consumer(secret: &str, method: SignatureMethod) -> Consumer {
        Consumer {
            key: "dpf43f3p2l4k3l03".into(),
            secret: Secret::new(secret.into()),
            method,
            realm: None,
        }
    }

    fn p(k: &str, v: &str) -> (String, String) {
        (k.into(), v.into())
    }

    #[test]
    fn rfc5849_3_4_1_1_base_string() {
        // Section 3.4.1.1: query with an encoded '=' and '%3D', an empty value, a space, a
        // repeated key (a3), and a form body.
        let url = Url::parse("http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b").unwrap();
        let params = vec![
            p("oauth_consumer_key", "9djdj82h48djs9d2"),
            p("oauth_token", "kkk9d7dh3k39sjv7"),
            p("oauth_signature_method", "HMAC-SHA1"),
            p("oauth_timestamp", "137131201"),
            p("oauth_nonce", "7d8f3e4a"),
            p("c2", ""),
            p("a3", "2 q"),
        ];
        assert_eq!(
            base_string("POST", &url, &params),
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
        );
    }

    fn hmac_example(
        method: &str,
        url: &str,
        params: &[(String, String)],
        token_secret: &str,
    ) -> String {
        let url = Url::parse(url).unwrap();
        let base = base_string(method, &url, params);
        sign(
            &consumer("kd94hf93k423kf44", SignatureMethod::HmacSha1),
            token_secret,
            &base,
        )
        .unwrap()
    }

    #[test]
    fn rfc5849_1_2_signatures() {
        // The three requests of the section 1.2 example, signatures as published.
        let initiate = vec![
            p("oauth_consumer_key", "dpf43f3p2l4k3l03"),
            p("oauth_signature_method", "HMAC-SHA1"),
            p("oauth_timestamp", "137131200"),
            p("oauth_nonce", "wIjqoS"),
            p("oauth_callback", "http://printer.example.com/ready"),
        ];
        assert_eq!(
            hmac_example("POST", "https://photos.example.net/initiate", &initiate, ""),
            "74KNZJeDHnMBp0EMJ9ZHt/XKycU="
        );
        let token = vec![
            p("oauth_consumer_key", "dpf43f3p2l4k3l03"),
            p("oauth_token", "hh5s93j4hdidpola"),
            p("oauth_signature_method", "HMAC-SHA1"),
            p("oauth_timestamp", "137131201"),
            p("oauth_nonce", "walatlh"),
            p("oauth_verifier", "hfdp7dh39dks9884"),
        ];
        assert_eq!(
            hmac_example(
                "POST",
                "https://photos.example.net/token",
                &token,
                "hdhd0244k9j7ao03"
            ),
            "gKgrFCywp7rO0OXSjdot/IHF7IU="
        );
        let photos = vec![
            p("oauth_consumer_key", "dpf43f3p2l4k3l03"),
            p("oauth_token", "nnch734d00sl2jdk"),
            p("oauth_signature_method", "HMAC-SHA1"),
            p("oauth_timestamp", "137131202"),
            p("oauth_nonce", "chapoH"),
        ];
        assert_eq!(
            hmac_example(
                "GET",
                "http://photos.example.net/photos?file=vacation.jpg&size=original",
                &photos,
                "pfkkdhi9sl3r4s00"
            ),
            "MdpQcU8iPSUjWoN/UDMsK2sui9I="
        );
    }

    #[test]
    fn plaintext_is_the_encoded_key_pair() {
        let c = consumer("kd94hf93k423kf44", SignatureMethod::Plaintext);
        assert_eq!(sign(&c, "", "ignored").unwrap(), "kd94hf93k423kf44&");
        let c = consumer("a&b c", SignatureMethod::Plaintext);
        assert_eq!(sign(&c, "x=y", "ignored").unwrap(), "a%26b%20c&x%3Dy");
    }

    #[test]
    fn encoding_follows_3_6() {
        assert_eq!(encode("Ladies + Gentlemen"), "Ladies%20%2B%20Gentlemen");
        assert_eq!(encode("An encoded string!"), "An%20encoded%20string%21");
        assert_eq!(encode("Dogs, Cats & Mice"), "Dogs%2C%20Cats%20%26%20Mice");
        assert_eq!(encode("☃"), "%E2%98%83");
        assert_eq!(encode("-._~"), "-._~");
    }

    #[test]
    fn base_uri_drops_default_port_and_lowercases() {
        let u = Url::parse("HTTP://EXAMPLE.COM:80/r%20v/X?id=123").unwrap();
        assert_eq!(base_string_uri(&u), "http://example.com/r%20v/X");
        let u = Url::parse("https://www.example.net:8080/?q=1").unwrap();
        assert_eq!(base_string_uri(&u), "https://www.example.net:8080/");
    }

    #[test]
    fn header_has_every_protocol_parameter_once() {
        let c = Consumer {
            realm: Some("Photos".into()),
            ..consumer("kd94hf93k423kf44", SignatureMethod::HmacSha256)
        };
        let url = Url::parse("https://photos.example.net/photos?size=original").unwrap();
        let h = authorization(
            &c,
            Some(TokenRef {
                token: "nnch734d00sl2jdk",
                secret: "pfkkdhi9sl3r4s00",
            }),
            &ToSign {
                method: "GET",
                url: &url,
                form: &[],
                extra: &[],
                nonce: "n",
                timestamp: 1,
            },
        )
        .unwrap();
        let h = h.expose();
        assert!(h.starts_with("OAuth realm=\"Photos\", "), "{h}");
        for k in [
            "oauth_consumer_key=\"dpf43f3p2l4k3l03\"",
            "oauth_signature_method=\"HMAC-SHA256\"",
            "oauth_token=\"nnch734d00sl2jdk\"",
            "oauth_signature=\"",
        ] {
            assert_eq!(h.matches(k).count(), 1, "{k} in {h}");
        }
        assert!(!h.contains("pfkkdhi9sl3r4s00") && !h.contains("kd94hf93k423kf44"));
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(nonce(), nonce());
        assert_eq!(nonce().len(), 24);
    }

    #[test]
    fn clock_problems_are_recognised() {
        assert!(is_clock_problem(401, "oauth_problem=timestamp_refused"));
        assert!(is_clock_problem(
            400,
            "error=invalid_request&error_description=Timestamp given is invalid"
        ));
        assert!(is_clock_problem(401, "oauth_problem=nonce_used"));
        assert!(!is_clock_problem(401, "oauth_problem=signature_invalid"));
        assert!(!is_clock_problem(500, "timestamp"));
        let m = clock_message(Some("Sun, 06 Nov 1994 08:49:37 GMT"));
        assert!(
            m.contains("Sun, 06 Nov 1994 08:49:37 GMT") && m.contains("ahead of"),
            "{m}"
        );
    }
}

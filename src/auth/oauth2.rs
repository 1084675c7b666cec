//! OAuth 2.0 through the oauth2 crate: authorization code with PKCE and a loopback callback,
//! device authorization (RFC 8628), client credentials, refresh, revocation (RFC 7009), and
//! authorization server metadata discovery (RFC 8414 / OpenID Connect). Token requests use
//! the caller's HTTP client, which must not follow redirects.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use oauth2::StandardRevocableToken;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    DeviceAuthorizationUrl, PkceCodeChallenge, RedirectUrl, RefreshToken, TokenUrl,
};
use reqwest::blocking::RequestBuilder;

use super::callback::{Callback, Expect};
use super::error::{ErrorKind, OAuthError};
use super::token_response;
use super::{Authenticator, ClientKind, ClientNeeds, Method, SignIn, SignedIn};
use crate::catalog::provider::PickSpec;
use crate::catalog::{ClientAuth, OAuth2Spec, template};
use crate::core::error::usage;
use crate::core::http::Http;
use crate::core::scrub::Scrubber;
use crate::core::secret::{Secret, SecretBundle};
use crate::core::ui::Pasted;
use crate::core::vocab::Grant;

/// Bundle keys of an OAuth 2.0 connection.
pub(crate) const ACCESS_TOKEN: &str = "access_token";
pub(crate) const REFRESH_TOKEN: &str = "refresh_token";
pub(crate) const EXPIRES_AT: &str = "expires_at";

/// The endpoints of one authorization server, templates filled and discovery done.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Endpoints {
    pub authorize: Option<String>,
    pub token: String,
    pub device: Option<String>,
    pub revocation: Option<String>,
    /// Where refreshes go when not to `token` (the spec's `refresh_url`: Figma).
    pub refresh: Option<String>,
}

/// The OAuth client (the app the user registered with the provider).
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub id: String,
    pub secret: Option<Secret<String>>,
    pub auth: ClientAuth,
}

impl Client {
    /// A scrubber for what a token request sends: the client secret (also in the Basic
    /// credentials, RFC 6749 2.3.1: id and secret form-encoded, then base64) and `token`.
    fn scrubber(&self, token: Option<&Secret<String>>) -> Scrubber {
        let mut values: Vec<String> = token.map(|t| t.expose().clone()).into_iter().collect();
        if let Some(s) = &self.secret {
            let enc =
                |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
            values.push(s.expose().clone());
            values.extend(crate::core::scrub::base64_forms(&format!(
                "{}:{}",
                enc(&self.id),
                enc(s.expose())
            )));
            values.extend(crate::core::scrub::base64_forms(&format!(
                "{}:{}",
                self.id,
                s.expose()
            )));
        }
        let scrubber = Scrubber::new(values.iter().map(String::as_str));
        values.iter_mut().for_each(zeroize::Zeroize::zeroize);
        scrubber
    }
}

/// Tokens as read from a token response (`token_response::Tokens`) and stored in a
/// connection's secret bundle.
pub(crate) use super::token_response::Tokens;

impl Tokens {
    pub(crate) fn write_to(&self, bundle: &mut SecretBundle) {
        bundle.insert(ACCESS_TOKEN, self.access_token.clone());
        if let Some(r) = &self.refresh_token {
            bundle.insert(REFRESH_TOKEN, r.clone());
        }
        match self.expires_at {
            Some(t) => bundle.insert(EXPIRES_AT, Secret::new(t.to_string())),
            None => bundle.remove(EXPIRES_AT),
        }
    }

    /// Seconds until expiry; `None` when the server gave no lifetime.
    pub(crate) fn expires_in(&self) -> Option<i64> {
        // Both are at most MAX_UNIX (< 2^38), so the difference fits an i64.
        self.expires_at.map(|t| {
            t.min(crate::core::time::MAX_UNIX) as i64
                - now().min(crate::core::time::MAX_UNIX) as i64
        })
    }
}

/// The access token, refresh token and expiry stored in `bundle`.
pub(crate) fn stored(bundle: &SecretBundle) -> Option<Tokens> {
    Some(Tokens {
        access_token: bundle.get(ACCESS_TOKEN)?.clone(),
        refresh_token: bundle.get(REFRESH_TOKEN).cloned(),
        expires_at: bundle.get(EXPIRES_AT).and_then(|s| s.expose().parse().ok()),
        scopes: Vec::new(),
        extra: BTreeMap::new(),
    })
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Sends `Authorization: Bearer <access token>`.
#[derive(Debug)]
pub(crate) struct Bearer {
    token: Secret<String>,
}

impl Bearer {
    pub(crate) fn new(token: Secret<String>) -> Self {
        Bearer { token }
    }
}

impl Authenticator for Bearer {
    fn apply(&self, req: RequestBuilder) -> RequestBuilder {
        req.bearer_auth(self.token.expose())
    }

    fn secret_values(&self) -> Vec<Secret<String>> {
        vec![self.token.clone()]
    }

    fn env_vars(&self) -> Vec<(&'static str, Secret<String>)> {
        use super::env_var::*;
        let value = format!("Bearer {}", self.token.expose());
        vec![
            (TOKEN, self.token.clone()),
            (AUTH_HEADER, Secret::new(format!("Authorization: {value}"))),
            (AUTHORIZATION, Secret::new(value)),
        ]
    }
}

/// An error from our HTTP client, as the oauth2 crate sees it.
#[derive(Debug)]
struct HttpError(String);

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HttpError {}

/// The last answer of the token endpoint, as received, for `token_response::read`.
#[derive(Debug, Default)]
struct Captured {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

/// Adapts reqwest to the oauth2 crate, keeping each answer in `last`. The crate builds and
/// sends the request; the answer is read by `token_response::read`, not by the crate (see
/// docs/ARCHITECTURE.md). A 5xx ends a device-flow poll (transient, not a verdict on the
/// grant), and a 200 whose body is an OAuth error (GitHub) is handed to the crate as the 400
/// it means, so its device-flow loop sees `authorization_pending` and `slow_down`.
fn http_fn<'a>(
    client: &'a Http,
    last: &'a RefCell<Option<Captured>>,
) -> impl Fn(oauth2::HttpRequest) -> Result<oauth2::HttpResponse, HttpError> + 'a {
    move |req: oauth2::HttpRequest| {
        let (parts, body) = req.into_parts();
        let url = parts.uri.to_string();
        *last.borrow_mut() = None;
        let resp = client
            .request(parts.method, &url)
            .headers(parts.headers)
            .body(body)
            .send()
            .map_err(|e| HttpError(explained(client, &e.without_url())))?;
        let mut status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp
            .bytes()
            .map_err(|e| HttpError(transport_text(&e.without_url())))?;
        *last.borrow_mut() = Some(Captured {
            status: status.as_u16(),
            content_type: headers
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string(),
            body: bytes.to_vec(),
        });
        if status.is_server_error() {
            return Err(HttpError(format!(
                "the authorization server answered HTTP {} at {}",
                status.as_u16(),
                strip_query(&url)
            )));
        }
        if status == reqwest::StatusCode::OK && is_error_body(&bytes) {
            status = reqwest::StatusCode::BAD_REQUEST;
        }
        let mut out = http::Response::builder().status(status);
        for (k, v) in &headers {
            out = out.header(k, v);
        }
        out.body(bytes.to_vec())
            .map_err(|e| HttpError(e.to_string()))
    }
}

fn strip_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

fn transport_text(e: &reqwest::Error) -> String {
    crate::core::error::chain_text(e)
}

/// The failure, with its cause and way out when a local setting explains it (CAs, proxy).
fn explained(client: &Http, e: &reqwest::Error) -> String {
    match client.diagnose(e) {
        Some(d) => format!("{}: {} ({})", d.cause, transport_text(e), d.fix),
        None => transport_text(e),
    }
}

pub(crate) fn is_error_body(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .is_some_and(|v| v.get("error").is_some() && v.get("access_token").is_none())
}

/// The tokens of a token request the crate sent: the captured answer read by the tolerant
/// reader, whatever the crate made of it. Only a request that got no answer at all is the
/// crate's error (the network).
fn finish<T, RE: std::error::Error + 'static, TE: oauth2::ErrorResponse + 'static>(
    result: Result<T, oauth2::RequestTokenError<RE, TE>>,
    last: &RefCell<Option<Captured>>,
    what: &str,
    token_path: Option<&str>,
    requested: &[String],
    sent: &Scrubber,
) -> Result<Tokens, OAuthError> {
    let captured = last.borrow_mut().take();
    let Some(c) = captured else {
        return Err(match result {
            Err(oauth2::RequestTokenError::Request(re)) => {
                OAuthError::new(ErrorKind::Unreachable, format!("{what}: {re}"))
            }
            Err(e) => OAuthError::new(ErrorKind::BadResponse, format!("{what}: {e}")),
            Ok(_) => OAuthError::new(ErrorKind::BadResponse, format!("{what}: no answer")),
        });
    };
    token_response::read(
        token_response::Answer {
            status: c.status,
            content_type: &c.content_type,
            body: &c.body,
        },
        token_response::Reading {
            what,
            token_path,
            requested,
            now: now(),
        },
    )
    // The server's own words may echo the client secret or refresh token it was sent.
    .map_err(|e| OAuthError::new(e.kind, sent.scrub_str(&e.message)))
}

/// Turns the oauth2 crate's error for a device authorization request into one the caller can
/// act on. Bodies are never quoted.
fn device_start_error<RE: std::error::Error + 'static, T: oauth2::ErrorResponse + 'static>(
    what: &str,
    e: oauth2::RequestTokenError<RE, T>,
    sent: &Scrubber,
) -> OAuthError {
    use oauth2::RequestTokenError as E;
    match e {
        E::ServerResponse(r) => {
            let v = serde_json::to_value(&r).unwrap_or_default();
            let code = v
                .get("error")
                .and_then(|x| x.as_str())
                .unwrap_or("error")
                .to_string();
            // The server's words go into one line of conn's message.
            let desc = v
                .get("error_description")
                .and_then(|x| x.as_str())
                .map(|d| format!(": {}", crate::core::text::one_line(d)))
                .unwrap_or_default();
            let kind = match code.as_str() {
                "invalid_grant" => ErrorKind::InvalidGrant,
                "access_denied" | "expired_token" => ErrorKind::Denied,
                _ => ErrorKind::Server,
            };
            // The server's own words may echo the client secret or refresh token it was sent.
            OAuthError::new(
                kind,
                sent.scrub_str(&format!(
                    "{what}: the authorization server answered {}{desc}",
                    crate::core::text::one_line(&code)
                )),
            )
        }
        E::Request(re) => OAuthError::new(ErrorKind::Unreachable, format!("{what}: {re}")),
        E::Parse(..) => OAuthError::new(
            ErrorKind::BadResponse,
            format!("{what}: the answer is not a device authorization response"),
        ),
        E::Other(s) => OAuthError::new(ErrorKind::BadResponse, format!("{what}: {s}")),
    }
}

type OClient = oauth2::Client<
    BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;

fn url_err(field: &str) -> impl FnOnce(oauth2::url::ParseError) -> anyhow::Error + '_ {
    move |e| anyhow!("the provider's {field} is not a valid URL: {e}")
}

fn auth_type(c: &Client) -> AuthType {
    match c.auth {
        ClientAuth::Basic => AuthType::BasicAuth,
        ClientAuth::Post => AuthType::RequestBody,
    }
}

/// Fills templates and, when the spec names an issuer, discovers the URLs it leaves out.
pub(crate) fn endpoints(
    http: &Http,
    spec: &OAuth2Spec,
    inputs: &BTreeMap<String, String>,
) -> Result<Endpoints, OAuthError> {
    let fill = |t: &Option<String>| -> Result<Option<String>, OAuthError> {
        t.as_deref()
            .map(|t| {
                template::expand(t, inputs).map_err(|n| {
                    OAuthError::new(
                        ErrorKind::Misconfigured,
                        format!("the connection has no value for input '{n}'"),
                    )
                })
            })
            .transpose()
            .map(|o| o.filter(|s| !s.is_empty()))
    };
    let redirect = |u: Option<String>| u.map(|u| http.route(&u));
    let mut ep = Endpoints {
        authorize: redirect(fill(&spec.authorize_url)?),
        token: redirect(fill(&spec.token_url)?).unwrap_or_default(),
        device: redirect(fill(&spec.device_url)?),
        revocation: redirect(fill(&spec.revocation_url)?),
        refresh: redirect(fill(&spec.refresh_url)?),
    };
    if let Some(issuer) = fill(&spec.issuer)? {
        let meta = discover(http, &issuer)?;
        let take = |k: &str| meta.get(k).and_then(|v| v.as_str()).map(str::to_string);
        if ep.authorize.is_none() {
            ep.authorize = take("authorization_endpoint");
        }
        if ep.token.is_empty() {
            ep.token = take("token_endpoint").unwrap_or_default();
        }
        if ep.device.is_none() {
            ep.device = take("device_authorization_endpoint");
        }
        if ep.revocation.is_none() {
            ep.revocation = take("revocation_endpoint");
        }
    }
    if ep.token.is_empty() {
        return Err(OAuthError::new(
            ErrorKind::Misconfigured,
            "the provider has no token endpoint (token_url, or issuer metadata with token_endpoint)",
        ));
    }
    Ok(ep)
}

/// RFC 8414 metadata, falling back to OpenID Connect discovery. Metadata whose `issuer` is not
/// the one asked for is refused (RFC 8414 section 3.3), since it could send tokens elsewhere.
pub(crate) fn discover(http: &Http, issuer: &str) -> Result<serde_json::Value, OAuthError> {
    let base = issuer.trim_end_matches('/');
    let parsed = url::Url::parse(base).map_err(|e| {
        OAuthError::new(
            ErrorKind::Misconfigured,
            format!("issuer {issuer:?} is not a URL: {e}"),
        )
    })?;
    let origin = parsed.origin().ascii_serialization();
    let path = parsed.path().trim_end_matches('/');
    let candidates = [
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{base}/.well-known/openid-configuration"),
    ];
    let mut last = String::new();
    for url in candidates {
        log::debug!("discovery: GET {url}");
        let resp = match http.get(&url).header("Accept", "application/json").send() {
            Ok(r) => r,
            Err(e) => {
                return Err(OAuthError::new(
                    ErrorKind::Unreachable,
                    format!(
                        "could not fetch the issuer's metadata: {}",
                        transport_text(&e.without_url())
                    ),
                ));
            }
        };
        if !resp.status().is_success() {
            last = format!("HTTP {} from {url}", resp.status().as_u16());
            continue;
        }
        let meta: serde_json::Value = resp.json().map_err(|e| {
            OAuthError::new(
                ErrorKind::BadResponse,
                format!("the metadata at {url} is not JSON: {}", transport_text(&e)),
            )
        })?;
        let got = meta.get("issuer").and_then(|v| v.as_str()).unwrap_or("");
        if got.trim_end_matches('/') != base {
            return Err(OAuthError::new(
                ErrorKind::BadResponse,
                format!(
                    "refusing the metadata at {url}: its issuer is {got:?}, not {issuer:?} (RFC 8414 requires them to match)"
                ),
            ));
        }
        return Ok(meta);
    }
    Err(OAuthError::new(
        ErrorKind::BadResponse,
        format!("no authorization server metadata for issuer {issuer} ({last})"),
    ))
}

/// The parameters of one browser sign-in.
#[derive(Debug)]
pub(crate) struct CodeFlow<'a> {
    pub spec: &'a OAuth2Spec,
    pub scopes: &'a [String],
    /// Loopback port: 0 for any, else the fixed one the provider has registered.
    pub port: u16,
    pub timeout: Duration,
    /// Lines typed into the terminal, for a redirect URL pasted back by hand.
    pub pasted: Option<Pasted>,
}

/// Authorization code grant with PKCE (S256) and a random 128-bit state. `open` is given the
/// authorization URL to show and open; then the loopback callback waits for the redirect.
pub(crate) fn authorization_code(
    http: &Http,
    ep: &Endpoints,
    client: &Client,
    mut flow: CodeFlow<'_>,
    open: &mut dyn FnMut(&str) -> Result<()>,
) -> Result<(Tokens, BTreeMap<String, String>)> {
    let authorize = ep
        .authorize
        .as_deref()
        .context("the provider has no authorization endpoint")?;
    let callback =
        Callback::bind(flow.port, &flow.spec.redirect_path)?.with_host(flow.spec.redirect_host);
    let mut c = OClient::new(ClientId::new(client.id.clone()))
        .set_auth_uri(AuthUrl::new(authorize.to_string()).map_err(url_err("authorize_url"))?)
        .set_token_uri(TokenUrl::new(ep.token.clone()).map_err(url_err("token_url"))?)
        .set_redirect_uri(
            RedirectUrl::new(callback.redirect_uri()).map_err(url_err("redirect URI"))?,
        )
        .set_auth_type(auth_type(client));
    if let Some(s) = &client.secret {
        c = c.set_client_secret(ClientSecret::new(s.expose().clone()));
    }
    let mut req = c.authorize_url(CsrfToken::new_random);
    let verifier = if flow.spec.pkce {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        req = req.set_pkce_challenge(challenge);
        Some(verifier)
    } else {
        None
    };
    if !flow.scopes.is_empty() {
        req = req.add_extra_param("scope", flow.scopes.join(&flow.spec.scope_separator));
    }
    for (k, v) in &flow.spec.authorize_params {
        req = req.add_extra_param(k.as_str(), v.as_str());
    }
    // OpenID Connect Core 11: offline access is granted only with prompt=consent.
    if asks_offline(flow.scopes) && !flow.spec.authorize_params.contains_key("prompt") {
        req = req.add_extra_param("prompt", "consent");
    }
    let (url, state) = req.url();
    open(url.as_str())?;
    let redirect = callback.wait(
        Expect::OAuth2 {
            state: state.secret(),
        },
        flow.timeout,
        flow.pasted.as_mut(),
    )?;
    let code = redirect.params.get("code").cloned().unwrap_or_default();
    let mut exchange = c.exchange_code(AuthorizationCode::new(code));
    if let Some(v) = verifier {
        exchange = exchange.set_pkce_verifier(v);
    }
    for (k, v) in &flow.spec.token_params {
        exchange = exchange.add_extra_param(k.as_str(), v.as_str());
    }
    let last = RefCell::new(None);
    let result = exchange.request(&http_fn(http, &last));
    let tokens = finish(
        result,
        &last,
        "exchanging the authorization code",
        flow.spec.token_path.as_deref(),
        flow.scopes,
        &client.scrubber(None),
    )?;
    Ok((tokens, redirect.params))
}

/// Whether `scopes` ask for offline access (OpenID Connect's `offline_access`).
pub(crate) fn asks_offline(scopes: &[String]) -> bool {
    scopes.iter().any(|s| s == OFFLINE_ACCESS)
}

/// The OpenID Connect scope that asks for a refresh token.
pub(crate) const OFFLINE_ACCESS: &str = "offline_access";

/// What the person must do to approve a device sign-in.
#[derive(Debug, Clone)]
pub(crate) struct DevicePrompt {
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_in: Duration,
}

/// Device authorization grant (RFC 8628): shows the code, then polls at the server's interval,
/// slowing down on `slow_down` and backing off on transport errors, until approved, denied or
/// expired (or `timeout`).
pub(crate) fn device(
    http: &Http,
    ep: &Endpoints,
    client: &Client,
    spec: &OAuth2Spec,
    scopes: &[String],
    timeout: Duration,
    show: &mut dyn FnMut(&DevicePrompt) -> Result<()>,
) -> Result<Tokens> {
    let device_url = ep
        .device
        .as_deref()
        .context("the provider has no device authorization endpoint")?;
    let mut c = OClient::new(ClientId::new(client.id.clone()))
        .set_token_uri(TokenUrl::new(ep.token.clone()).map_err(url_err("token_url"))?)
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(device_url.to_string()).map_err(url_err("device_url"))?,
        )
        .set_auth_type(auth_type(client));
    if let Some(s) = &client.secret {
        c = c.set_client_secret(ClientSecret::new(s.expose().clone()));
    }
    let last = RefCell::new(None);
    let f = http_fn(http, &last);
    let mut req = c.exchange_device_code();
    if !scopes.is_empty() {
        req = req.add_extra_param("scope", scopes.join(&spec.scope_separator));
    }
    let details: oauth2::StandardDeviceAuthorizationResponse = req.request(&f).map_err(|e| {
        device_start_error("starting the device sign-in", e, &client.scrubber(None))
    })?;
    show(&DevicePrompt {
        user_code: details.user_code().secret().clone(),
        verification_uri: details.verification_uri().to_string(),
        verification_uri_complete: details
            .verification_uri_complete()
            .map(|u| u.secret().clone()),
        expires_in: details.expires_in(),
    })?;
    let result = c.exchange_device_access_token(&details).request(
        &f,
        std::thread::sleep,
        Some(timeout.min(details.expires_in())),
    );
    Ok(finish(
        result,
        &last,
        "waiting for the device sign-in",
        spec.token_path.as_deref(),
        scopes,
        &client.scrubber(None),
    )?)
}

/// Client credentials grant: the app acts as itself.
pub(crate) fn client_credentials(
    http: &Http,
    ep: &Endpoints,
    client: &Client,
    spec: &OAuth2Spec,
    scopes: &[String],
) -> Result<Tokens, OAuthError> {
    let token_url = TokenUrl::new(ep.token.clone()).map_err(|e| {
        OAuthError::new(
            ErrorKind::Misconfigured,
            format!("the provider's token_url is not a valid URL: {e}"),
        )
    })?;
    let mut c = OClient::new(ClientId::new(client.id.clone()))
        .set_token_uri(token_url)
        .set_auth_type(auth_type(client));
    if let Some(s) = &client.secret {
        c = c.set_client_secret(ClientSecret::new(s.expose().clone()));
    }
    let mut req = c.exchange_client_credentials();
    if !scopes.is_empty() {
        req = req.add_extra_param("scope", scopes.join(&spec.scope_separator));
    }
    for (k, v) in &spec.token_params {
        req = req.add_extra_param(k.as_str(), v.as_str());
    }
    let last = RefCell::new(None);
    let result = req.request(&http_fn(http, &last));
    finish(
        result,
        &last,
        "requesting a client credentials token",
        spec.token_path.as_deref(),
        scopes,
        &client.scrubber(None),
    )
}

/// Exchanges a refresh token, sending the spec's `refresh_params` too. When the server sends
/// no new refresh token, the old one stays.
pub(crate) fn refresh(
    http: &Http,
    ep: &Endpoints,
    client: &Client,
    spec: &OAuth2Spec,
    refresh_token: &Secret<String>,
    scopes: &[String],
) -> std::result::Result<Tokens, OAuthError> {
    let bad = |m: String| OAuthError::new(ErrorKind::BadResponse, m);
    let mut c = OClient::new(ClientId::new(client.id.clone()))
        .set_token_uri(
            TokenUrl::new(ep.refresh.clone().unwrap_or_else(|| ep.token.clone()))
                .map_err(|e| bad(format!("token_url: {e}")))?,
        )
        .set_auth_type(auth_type(client));
    if let Some(s) = &client.secret {
        c = c.set_client_secret(ClientSecret::new(s.expose().clone()));
    }
    let rt = RefreshToken::new(refresh_token.expose().clone());
    let mut req = c.exchange_refresh_token(&rt);
    for (k, v) in &spec.refresh_params {
        req = req.add_extra_param(k.as_str(), v.as_str());
    }
    let last = RefCell::new(None);
    let result = req.request(&http_fn(http, &last));
    // A 2xx the reader refuses may still carry a rotated refresh token, and the old one may
    // already be spent: hand it to the caller to save.
    let rotated = last
        .borrow()
        .as_ref()
        .filter(|c| (200..300).contains(&c.status))
        .and_then(|c| rotated_in(&c.body));
    let mut t = finish(
        result,
        &last,
        "refreshing the access token",
        spec.token_path.as_deref(),
        scopes,
        &client.scrubber(Some(refresh_token)),
    )
    .map_err(|mut e| {
        e.rotated = rotated;
        e
    })?;
    if t.refresh_token.is_none() {
        t.refresh_token = Some(refresh_token.clone());
    }
    Ok(t)
}

/// The `refresh_token` string of a JSON object body, however unreadable its other fields.
pub(crate) fn rotated_in(body: &[u8]) -> Option<Secret<String>> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    match v.get("refresh_token")? {
        serde_json::Value::String(s) if !s.is_empty() => Some(Secret::new(s.clone())),
        _ => None,
    }
}

/// Revokes a token (RFC 7009) at the provider. Done by hand rather than through the oauth2
/// crate, which refuses a non-https revocation endpoint even on loopback.
pub(crate) fn revoke(http: &Http, ep: &Endpoints, client: &Client, tokens: &Tokens) -> Result<()> {
    let url = ep
        .revocation
        .as_deref()
        .context("the provider has no revocation endpoint")?;
    let parsed = url::Url::parse(url).with_context(|| format!("revocation URL {url:?}"))?;
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if parsed.scheme() != "https" && !loopback {
        bail!("refusing to send a token to a non-https revocation endpoint ({url})");
    }
    // Revoking the refresh token ends the whole grant at servers that support it.
    let (token, hint) = match &tokens.refresh_token {
        Some(r) => (r, "refresh_token"),
        None => (&tokens.access_token, "access_token"),
    };
    let mut form = vec![
        ("token", token.expose().as_str()),
        ("token_type_hint", hint),
    ];
    let mut req = http.post(url).header("Accept", "application/json");
    match (&client.secret, client.auth) {
        (Some(s), ClientAuth::Basic) => {
            // RFC 6749 2.3.1: form-encode id and secret before Basic encoding.
            let enc =
                |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
            req = req.basic_auth(enc(&client.id), Some(enc(s.expose())));
        }
        (Some(s), ClientAuth::Post) => {
            form.push(("client_id", client.id.as_str()));
            form.push(("client_secret", s.expose().as_str()));
        }
        (None, _) => form.push(("client_id", client.id.as_str())),
    }
    let resp = req.form(&form).send().map_err(|e| {
        OAuthError::new(
            ErrorKind::Unreachable,
            format!("revoking the token: {}", transport_text(&e.without_url())),
        )
    })?;
    let status = resp.status();
    if !status.is_success() {
        let body: serde_json::Value = resp.json().unwrap_or_default();
        let code = body
            .get("error")
            .and_then(|v| v.as_str())
            .unwrap_or("error");
        // The server's word may echo the token or client secret it was sent.
        let code = client.scrubber(Some(token)).scrub_str(code);
        bail!(
            "the revocation endpoint answered HTTP {}: {code}",
            status.as_u16()
        );
    }
    Ok(())
}

/// The grant to run: the one asked for, else browser sign-in when offered, else the first.
fn pick_grant(spec: &OAuth2Spec, wanted: Option<Grant>) -> Result<Grant> {
    match wanted {
        Some(g) if spec.grants.contains(&g) => Ok(g),
        Some(g) => Err(usage(format!(
            "this provider does not offer the {g} grant; it offers: {}",
            spec.grants
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        None if spec.grants.contains(&Grant::AuthorizationCode) => Ok(Grant::AuthorizationCode),
        None => Ok(spec.grants[0]),
    }
}

impl Method for OAuth2Spec {
    fn token_field(&self) -> &'static str {
        ACCESS_TOKEN
    }

    fn authenticator(
        &self,
        _values: &BTreeMap<String, String>,
        _username: Option<&str>,
        secrets: &SecretBundle,
    ) -> Result<Box<dyn Authenticator>> {
        let token = secrets
            .get(ACCESS_TOKEN)
            .ok_or_else(|| super::missing(ACCESS_TOKEN))?;
        Ok(Box::new(Bearer::new(token.clone())))
    }

    fn client_needs(&self) -> Option<ClientNeeds<'_>> {
        Some(ClientNeeds {
            registration_url: self.app_registration_url.as_deref(),
            redirect: (self.redirect_host, self.redirect_port, &self.redirect_path),
            auth: self.client_auth,
            kind: ClientKind::OAuth2,
        })
    }

    fn sign_in(&self, s: SignIn<'_>) -> Result<Option<SignedIn>> {
        let grant = pick_grant(self, s.grant)?;
        let scopes = s.scopes.unwrap_or_else(|| self.scopes.clone());
        let ep = endpoints(s.http, self, s.values)?;
        let ui = s.ui;
        let (tokens, callback) = match grant {
            Grant::AuthorizationCode => {
                let pasted = if s.no_browser {
                    ui.pasted_lines()
                } else {
                    None
                };
                let open = !s.no_browser;
                // Turning while the browser works; not while a pasted URL is typed.
                let mut waiting = None;
                let spin = pasted.is_none();
                let signed_in = authorization_code(
                    s.http,
                    &ep,
                    s.client,
                    CodeFlow {
                        spec: self,
                        scopes: &scopes,
                        port: s.port.or(self.redirect_port).unwrap_or(0),
                        timeout: s.timeout,
                        pasted,
                    },
                    &mut |url| {
                        ui.open_url(url, open);
                        ui.notice(
                            "Waiting for the sign-in to finish in the browser… (Ctrl-C to cancel)",
                        );
                        if spin {
                            waiting = Some(ui.progress("Waiting for the browser", None));
                        }
                        Ok(())
                    },
                );
                drop(waiting);
                signed_in?
            }
            Grant::DeviceCode => {
                let open = s.open_device_url && !s.no_browser;
                let mut waiting = None;
                let t = device(s.http, &ep, s.client, self, &scopes, s.timeout, &mut |p| {
                    ui.notice(&format!(
                        "To sign in, visit {} and enter the code {} (valid for {} minutes).",
                        p.verification_uri,
                        p.user_code,
                        p.expires_in.as_secs() / 60
                    ));
                    if open {
                        let url = p
                            .verification_uri_complete
                            .clone()
                            .unwrap_or_else(|| p.verification_uri.clone());
                        ui.open_url(&url, true);
                    }
                    ui.notice("Waiting for approval… (Ctrl-C to cancel)");
                    waiting = Some(ui.progress("Polling for the approval", None));
                    Ok(())
                });
                drop(waiting);
                (t?, BTreeMap::new())
            }
            Grant::ClientCredentials => (
                client_credentials(s.http, &ep, s.client, self, &scopes)?,
                BTreeMap::new(),
            ),
            Grant::OAuth1 => unreachable!("pick_grant offers only the spec's OAuth 2.0 grants"),
        };
        let offline_missing = asks_offline(&scopes)
            && grant != Grant::ClientCredentials
            && tokens.refresh_token.is_none();
        if offline_missing {
            ui.notice(
                "warning: offline access (offline_access) was asked, but the provider returned no refresh token: the connection stops working when the access token expires. Allow offline access (refresh tokens) for the OAuth app at the provider, then 'conn reauth'",
            );
        }
        let mut bundle = SecretBundle::new();
        tokens.write_to(&mut bundle);
        Ok(Some(SignedIn {
            bundle,
            grant,
            scopes: tokens.scopes.clone(),
            expires_at: tokens.expires_at,
            callback,
            token_fields: tokens.extra.clone(),
            offline_access: asks_offline(&scopes),
        }))
    }

    fn refresh_due(&self, bundle: &SecretBundle, margin_secs: i64) -> bool {
        stored(bundle)
            .and_then(|t| t.expires_in())
            .is_some_and(|left| left < margin_secs)
    }

    fn refreshable(&self) -> bool {
        true
    }

    fn refresh(
        &self,
        http: &Http,
        values: &BTreeMap<String, String>,
        client: &Client,
        bundle: &SecretBundle,
        grant: Grant,
        scopes: &[String],
    ) -> Result<Option<Tokens>, OAuthError> {
        let ep = endpoints(http, self, values)?;
        let old = stored(bundle).ok_or_else(|| {
            OAuthError::new(ErrorKind::Misconfigured, "the stored tokens are incomplete")
        })?;
        let tokens = match (&old.refresh_token, grant) {
            (Some(rt), _) => refresh(http, &ep, client, self, rt, scopes)?,
            // Client credentials have no refresh token: ask for a new token the same way.
            (None, Grant::ClientCredentials) => {
                client_credentials(http, &ep, client, self, scopes)?
            }
            (None, _) => {
                return Err(OAuthError::new(
                    ErrorKind::InvalidGrant,
                    "the access token expired or was refused, and the provider gave no refresh token to get another",
                ));
            }
        };
        Ok(Some(tokens))
    }

    fn revoke(
        &self,
        http: &Http,
        values: &BTreeMap<String, String>,
        client: &dyn Fn() -> Result<Client>,
        bundle: &SecretBundle,
    ) -> Result<bool> {
        let ep = endpoints(http, self, values)?;
        if ep.revocation.is_none() {
            return Ok(false);
        }
        let client = client()?;
        let tokens = stored(bundle).context("no tokens stored")?;
        revoke(http, &ep, &client, &tokens)?;
        Ok(true)
    }

    fn required_scopes(&self) -> &[String] {
        &self.required_scopes
    }

    fn pick(&self) -> Option<&PickSpec> {
        self.pick.as_ref()
    }
}

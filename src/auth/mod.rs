//! Authentication methods, one module each. Each method implements `Method`, its whole
//! lifecycle (sign in, refresh, revoke, the secrets it needs, which field is "the token", and
//! an `Authenticator` that signs requests); `method_of` picks one with the only `match` on the
//! method. Nothing here stores anything: callers hand in values and secrets and get back
//! tokens or something that signs requests.

pub(crate) mod api_key;
pub(crate) mod basic;
pub(crate) mod callback;
pub(crate) mod error;
pub(crate) mod oauth1;
pub(crate) mod oauth2;
pub(crate) mod token_response;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use anyhow::Result;
use reqwest::blocking::RequestBuilder;

use crate::catalog::provider::{PickSpec, RedirectHost};
use crate::catalog::{AuthSpec, ClientAuth};
use crate::core::http::Http;
use crate::core::scrub::Scrubber;
use crate::core::secret::{Secret, SecretBundle};
use crate::core::ui::Ui;
use crate::core::vocab::Grant;
/// Adds a connection's credentials to an outgoing request.
pub(crate) trait Authenticator: Debug {
    fn apply(&self, req: RequestBuilder) -> RequestBuilder;
    /// Every secret this authenticator sends, raw, plus the values it sends that are not a
    /// per-character encoding of one (the base64 of Basic's `user:password`, a PLAINTEXT
    /// OAuth 1.0a signature), so callers can scrub them, in every encoding
    /// (`core::scrub`), from any text that came back from a server.
    fn secret_values(&self) -> Vec<Secret<String>>;
    /// The credentials as environment variables for `conn exec`, by name suffix
    /// (`AUTHORIZATION`, `TOKEN`, `API_KEY`, ...); the caller adds the prefix. The default is
    /// none: a method whose credentials can't be handed out as fixed values must say what it
    /// can export. OAuth 1.0a signs each request (method, URL and parameters), so it has no
    /// fixed `AUTHORIZATION` value.
    fn env_vars(&self) -> Vec<(&'static str, Secret<String>)> {
        Vec::new()
    }
}

/// Suffixes of the credential variables `conn exec` sets (besides `BASE_URL` and the inputs).
pub(crate) mod env_var {
    /// The whole `Authorization` header value.
    pub(crate) const AUTHORIZATION: &str = "AUTHORIZATION";
    /// The whole credential header as `Name: value`, ready for `curl -H @file`.
    pub(crate) const AUTH_HEADER: &str = "AUTH_HEADER";
    pub(crate) const TOKEN: &str = "TOKEN";
    pub(crate) const API_KEY: &str = "API_KEY";
    pub(crate) const USERNAME: &str = "USERNAME";
    pub(crate) const PASSWORD: &str = "PASSWORD";
    /// OAuth 1.0a: what a script needs to sign requests itself.
    pub(crate) const TOKEN_SECRET: &str = "TOKEN_SECRET";
    pub(crate) const CONSUMER_KEY: &str = "CONSUMER_KEY";
    pub(crate) const CONSUMER_SECRET: &str = "CONSUMER_SECRET";
    /// OAuth 1.0a with RSA-SHA1: the consumer's PEM private key.
    pub(crate) const PRIVATE_KEY: &str = "PRIVATE_KEY";
}

/// One secret a method needs, as the wizard asks for it.
#[derive(Debug, Clone)]
pub(crate) struct SecretField {
    /// Key in the secret bundle.
    pub(crate) key: &'static str,
    pub(crate) label: String,
}

/// What registering an OAuth client (the user's app at the provider) takes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientNeeds<'a> {
    pub(crate) registration_url: Option<&'a str>,
    /// Host, fixed port and path of the redirect URI to register.
    pub(crate) redirect: (RedirectHost, Option<u16>, &'a str),
    pub(crate) auth: ClientAuth,
    pub(crate) kind: ClientKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientKind {
    OAuth2,
    /// A consumer key and secret.
    OAuth1,
    /// A consumer key and an RSA private key (RSA-SHA1).
    OAuth1Rsa,
}

/// One sign-in: where, with which client, and how to reach the person.
pub(crate) struct SignIn<'a> {
    pub(crate) http: &'a Http,
    /// What `${...}` in the method's URLs stand for.
    pub(crate) values: &'a BTreeMap<String, String>,
    pub(crate) client: &'a oauth2::Client,
    /// The grant asked for (`--grant`, `--device`, or the connection's previous one).
    pub(crate) grant: Option<Grant>,
    /// Scopes asked for; `None`: the method's own.
    pub(crate) scopes: Option<Vec<String>>,
    /// Fixed loopback port for the redirect (`--port`).
    pub(crate) port: Option<u16>,
    /// How long the person has to finish.
    pub(crate) timeout: Duration,
    /// Show the URL instead of opening a browser; a pasted redirect URL (or typed code) is read.
    pub(crate) no_browser: bool,
    /// Device flow: open the verification URL in a browser too (`BROWSER` is set).
    pub(crate) open_device_url: bool,
    pub(crate) ui: &'a mut dyn Ui,
}

impl Debug for SignIn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("grant", &self.grant)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// What a sign-in produced.
#[derive(Debug)]
pub(crate) struct SignedIn {
    /// The secrets to store for the connection.
    pub(crate) bundle: SecretBundle,
    pub(crate) grant: Grant,
    /// Granted scopes (the requested ones when the server does not say).
    pub(crate) scopes: Vec<String>,
    /// When the access token expires, Unix seconds.
    pub(crate) expires_at: Option<u64>,
    /// Query parameters of the redirect (QuickBooks' `realmId`).
    pub(crate) callback: BTreeMap<String, String>,
    /// Non-secret fields of the token response (Salesforce's `instance_url`).
    pub(crate) token_fields: BTreeMap<String, String>,
    /// Offline access (`offline_access`) was asked for.
    pub(crate) offline_access: bool,
}

/// One auth method, its whole lifecycle. Defaults are those of a method whose secret a
/// person types in and that has nothing to refresh or revoke.
pub(crate) trait Method {
    /// The secrets a person gives (none for OAuth: its tokens come from the sign-in).
    fn secret_fields(&self) -> Vec<SecretField> {
        Vec::new()
    }

    /// Inputs that only this method's own fields use (`${header}` in an API key's header
    /// name), so the wizard asks for them only when this method is chosen.
    fn own_inputs(&self) -> Vec<String> {
        Vec::new()
    }

    /// How the secret travels when that is set by inputs (`values`), for a person to
    /// check after a refusal: `X-Api-Key: Bearer <key>`. `None` when it is fixed or not
    /// shown.
    fn sent_as(&self, _values: &BTreeMap<String, String>) -> Option<String> {
        None
    }

    /// The label of the (non-secret) user name, when the method needs one.
    fn username_label(&self) -> Option<String> {
        None
    }

    /// The bundle field `conn token` prints.
    fn token_field(&self) -> &'static str;

    /// Signs requests with stored secrets. `values` fill `${...}` templates in the spec.
    /// Errors: a secret or the user name is missing, a template value is missing.
    fn authenticator(
        &self,
        values: &BTreeMap<String, String>,
        username: Option<&str>,
        secrets: &SecretBundle,
    ) -> Result<Box<dyn Authenticator>>;

    /// The OAuth client registration the method signs in with, if any.
    fn client_needs(&self) -> Option<ClientNeeds<'_>> {
        None
    }

    /// Whether stored secrets are used together with the client's (OAuth 1.0a signs with the
    /// consumer key and secret, kept with the client registration).
    fn signs_with_client(&self) -> bool {
        false
    }

    /// Runs the sign-in; `Ok(None)` for methods whose secrets are typed in.
    fn sign_in(&self, _s: SignIn<'_>) -> Result<Option<SignedIn>> {
        Ok(None)
    }

    /// Whether the stored access token should be refreshed before use (it expires within
    /// `margin_secs`).
    fn refresh_due(&self, _bundle: &SecretBundle, _margin_secs: i64) -> bool {
        false
    }

    /// Whether a rejected request (401) is worth one retry after a forced refresh.
    fn refreshable(&self) -> bool {
        false
    }

    /// New tokens for `bundle` (by refresh token, or by asking again for client credentials);
    /// `Ok(None)` when the method has nothing to refresh. The error's kind says whether the
    /// grant is gone (`InvalidGrant`) or the provider could not be reached (`Unreachable`).
    fn refresh(
        &self,
        _http: &Http,
        _values: &BTreeMap<String, String>,
        _client: &oauth2::Client,
        _bundle: &SecretBundle,
        _grant: Grant,
        _scopes: &[String],
    ) -> Result<Option<oauth2::Tokens>, error::OAuthError> {
        Ok(None)
    }

    /// Revokes the grant at the provider (RFC 7009); `Ok(false)` when there is nothing to
    /// revoke there. `client` is loaded only when it is needed.
    fn revoke(
        &self,
        _http: &Http,
        _values: &BTreeMap<String, String>,
        _client: &dyn Fn() -> Result<oauth2::Client>,
        _bundle: &SecretBundle,
    ) -> Result<bool> {
        Ok(false)
    }

    /// Scopes the provider's check needs (OAuth 2.0).
    fn required_scopes(&self) -> &[String] {
        &[]
    }

    /// How to list the sites one sign-in covers, for an input chosen after it (Atlassian).
    fn pick(&self) -> Option<&PickSpec> {
        None
    }
}

/// The method of a provider's auth table: the one `match` that chooses.
pub(crate) fn method_of(spec: &AuthSpec) -> &dyn Method {
    match spec {
        AuthSpec::ApiKey(s) => s,
        AuthSpec::Basic(s) => s,
        AuthSpec::OAuth2(s) => s.as_ref(),
        AuthSpec::OAuth1(s) => s.as_ref(),
    }
}

/// The error for a field the stored secrets lack.
pub(crate) fn missing(field: &str) -> anyhow::Error {
    anyhow::anyhow!("the stored secrets have no '{field}' (the secret store entry is incomplete)")
}

/// A scrubber for every form of the authenticator's credentials (see `core::scrub`); build it
/// once for a response and use it for each of its parts.
pub(crate) fn scrubber(auth: &dyn Authenticator) -> Scrubber {
    let values = auth.secret_values();
    Scrubber::new(values.iter().map(|s| s.expose().as_str()))
}

/// `text` with every form of the authenticator's credentials replaced by `(redacted)`.
pub(crate) fn scrub(text: &str, auth: &dyn Authenticator) -> String {
    scrubber(auth).scrub_str(text)
}

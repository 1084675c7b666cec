//! The provider definition: what an app needs to be connected and checked. Parsed from TOML
//! with unknown keys refused, then validated as a whole; errors name file, line and field.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

use super::template;
use crate::core::error::line_col;
pub(crate) use crate::core::vocab::Grant;
use crate::core::vocab::{AuthMethod, Environment};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Provider {
    pub id: String,
    /// A built-in provider this one starts from; its fields are merged under this file's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    pub display_name: String,
    /// Where the values in this definition come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Input>,
    /// Values per environment (`production`, `sandbox`) usable as `${name}` in URLs: the
    /// hosts that differ between an app's production and sandbox.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environments: BTreeMap<String, BTreeMap<String, String>>,
    pub auth: Vec<AuthSpec>,
    pub api: Api,
    pub check: CheckSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
    /// `false`: the entry as a whole was not confirmed against a source.
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub verified: bool,
    /// Values not confirmed against a source, by field path (`auth.oauth2.device_url`,
    /// `check.path`, `environments.production.api_host`, `inputs.dc.pattern`): why not.
    /// `conn providers show` lists them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unverified: BTreeMap<String, String>,
}

/// An instance parameter (subdomain, base URL, ...), asked by the wizard or given with `--set`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Input {
    pub name: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// A regular expression the whole value must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The value taken when none is given. `${name}` of an earlier input makes it worked out
    /// from that answer (GitHub's API URL from its host): the wizard then does not ask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Defaults that depend on earlier answers, tried in order before `default`:
    /// `{ when = { header = "Authorization" }, value = "Bearer " }`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub defaults: Vec<WhenDefault>,
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<String>>,
    /// May be left empty.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    /// Taken from the sign-in instead of asked: `token:FIELD` (token response),
    /// `callback:PARAM` (redirect query) or `pick` (the OAuth method's site picker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<String>,
}

/// A default that applies when earlier inputs have the given values.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WhenDefault {
    /// Earlier inputs and the value each must have, compared ignoring ASCII case (header
    /// and host names are case-insensitive).
    pub when: BTreeMap<String, String>,
    /// The default then; `${name}` templates as in `default`.
    pub value: String,
}

/// Where a captured input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Capture<'a> {
    Token(&'a str),
    Callback(&'a str),
    Pick,
}

impl Input {
    pub(crate) fn capture(&self) -> Option<Capture<'_>> {
        let c = self.capture.as_deref()?;
        match c.split_once(':') {
            Some(("token", f)) if !f.is_empty() => Some(Capture::Token(f)),
            Some(("callback", p)) if !p.is_empty() => Some(Capture::Callback(p)),
            None if c == "pick" => Some(Capture::Pick),
            _ => None,
        }
    }
}

impl Input {
    /// The default given the answers so far (`known`: environment values and earlier
    /// inputs): the first of `defaults` whose `when` all match, else `default`, with `${name}`
    /// filled in. `None` when there is none, or it names a value not known yet.
    pub(crate) fn default_given(&self, known: &BTreeMap<String, String>) -> Option<String> {
        let chosen = self
            .defaults
            .iter()
            .find(|d| {
                d.when.iter().all(|(k, v)| {
                    known
                        .get(k)
                        .is_some_and(|have| have.trim().eq_ignore_ascii_case(v))
                })
            })
            .map(|d| d.value.as_str())
            .or(self.default.as_deref())?;
        template::expand(chosen, known).ok()
    }

    /// Whether the default is worked out from other answers (`${name}` in it), so the wizard
    /// takes it without asking; `--set` still overrides it.
    pub(crate) fn worked_out(&self) -> bool {
        self.default.as_deref().is_some_and(|d| d.contains("${"))
    }

    /// The names this input's defaults depend on: `when` keys and `${name}` templates.
    pub(crate) fn depends_on(&self) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = self
            .default
            .iter()
            .flat_map(|d| template::names(d))
            .collect();
        for d in &self.defaults {
            out.extend(d.when.keys().cloned());
            out.extend(template::names(&d.value));
        }
        out
    }

    /// Checks a value against the input's rules; `Err` says what is expected.
    pub(crate) fn validate(&self, value: &str) -> Result<(), String> {
        crate::core::text::check_single_line(&self.label, value)?;
        if value.is_empty() {
            return if self.optional {
                Ok(())
            } else {
                Err(format!("{} must not be empty", self.label))
            };
        }
        if let Some(choices) = &self.choices
            && !choices.iter().any(|c| c == value)
        {
            return Err(format!(
                "{} must be one of: {}",
                self.label,
                choices.join(", ")
            ));
        }
        if let Some(p) = &self.pattern {
            let re = regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| e.to_string())?;
            if !re.is_match(value) {
                return Err(match &self.help {
                    Some(h) => format!("{value:?} is not a valid {}. {h}", self.label),
                    None => format!("{value:?} is not a valid {} (expected {p})", self.label),
                });
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum AuthSpec {
    ApiKey(ApiKeySpec),
    Basic(BasicSpec),
    #[serde(rename = "oauth2")]
    OAuth2(Box<OAuth2Spec>),
    #[serde(rename = "oauth1")]
    OAuth1(Box<OAuth1Spec>),
}

impl AuthSpec {
    pub(crate) fn method(&self) -> AuthMethod {
        match self {
            AuthSpec::ApiKey(_) => AuthMethod::ApiKey,
            AuthSpec::Basic(_) => AuthMethod::Basic,
            AuthSpec::OAuth2(_) => AuthMethod::OAuth2,
            AuthSpec::OAuth1(_) => AuthMethod::OAuth1,
        }
    }

    /// What a person sees when choosing a method.
    pub(crate) fn label(&self) -> String {
        match self {
            AuthSpec::ApiKey(s) => s.label.clone().unwrap_or_else(|| "API key".into()),
            AuthSpec::Basic(s) => s
                .label
                .clone()
                .unwrap_or_else(|| "User name and password (HTTP Basic)".into()),
            AuthSpec::OAuth2(s) => s
                .label
                .clone()
                .unwrap_or_else(|| "Sign in with the browser (OAuth 2.0)".into()),
            AuthSpec::OAuth1(s) => s
                .label
                .clone()
                .unwrap_or_else(|| "Sign in with the browser (OAuth 1.0a)".into()),
        }
    }

    pub(crate) fn help(&self) -> Option<&str> {
        match self {
            AuthSpec::ApiKey(s) => s.help.as_deref(),
            AuthSpec::Basic(s) => s.help.as_deref(),
            AuthSpec::OAuth2(s) => s.help.as_deref(),
            AuthSpec::OAuth1(s) => s.help.as_deref(),
        }
    }
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ClientAuth {
    /// HTTP Basic with client id and secret (RFC 6749 2.3.1, preferred).
    #[default]
    Basic,
    /// client_id and client_secret in the form body.
    Post,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OAuth2Spec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Issuer for metadata discovery (RFC 8414, OpenID Connect); fills the URLs not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_url: Option<String>,
    #[serde(default = "default_grants")]
    pub grants: Vec<Grant>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Scopes the check needs; a connection granted fewer is `insufficient_permissions`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_scopes: Vec<String>,
    #[serde(default = "default_scope_separator")]
    pub scope_separator: String,
    #[serde(default = "default_true")]
    pub pkce: bool,
    #[serde(default)]
    pub client_auth: ClientAuth,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authorize_params: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub token_params: BTreeMap<String, String>,
    /// Where refreshes go when not to `token_url` (Figma's `/v1/oauth/refresh`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_url: Option<String>,
    /// Sent on a refresh (`grant_type=refresh_token`) besides the standard parameters, as
    /// `token_params` are on the code exchange (Zendesk's `expires_in`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub refresh_params: BTreeMap<String, String>,
    /// JSON pointer to the object holding the token fields in the token response, when it is
    /// not the top level (Slack's user token under `/authed_user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_path: Option<String>,
    /// The host of the loopback redirect URI: `127.0.0.1` (RFC 8252 section 7.3, the
    /// default) or `localhost`, for providers whose loopback exception names `localhost`.
    #[serde(default, skip_serializing_if = "RedirectHost::is_default")]
    pub redirect_host: RedirectHost,
    /// A fixed loopback port, for providers that match the registered redirect URI exactly
    /// (port included). Without it the provider must accept any loopback port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_port: Option<u16>,
    #[serde(default = "default_redirect_path")]
    pub redirect_path: String,
    /// Where to register the OAuth app, shown by `conn providers show`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_registration_url: Option<String>,
    /// The environments this method works in (empty: all); `conn new` refuses it in others
    /// with `environments_note`, the reason (Square's production OAuth needs an HTTPS
    /// redirect a loopback sign-in cannot receive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<Environment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments_note: Option<String>,
    /// After sign-in, the person picks one of the sites the grant covers (Atlassian's
    /// accessible resources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pick: Option<PickSpec>,
}

/// A list fetched with the new token; the chosen item's `id` becomes input `input`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PickSpec {
    pub url: String,
    /// JSON pointer to the array ("" for the whole answer).
    #[serde(default)]
    pub items: String,
    pub id: String,
    pub label: String,
    pub input: String,
}

/// RFC 5849 section 3.4 signature methods.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
pub(crate) enum SignatureMethod {
    #[default]
    #[serde(rename = "HMAC-SHA1")]
    HmacSha1,
    #[serde(rename = "HMAC-SHA256")]
    HmacSha256,
    /// The consumer signs with an RSA private key; the provider holds the public key.
    #[serde(rename = "RSA-SHA1")]
    RsaSha1,
    /// The secrets themselves, for use over TLS only.
    #[serde(rename = "PLAINTEXT")]
    Plaintext,
}

impl SignatureMethod {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SignatureMethod::HmacSha1 => "HMAC-SHA1",
            SignatureMethod::HmacSha256 => "HMAC-SHA256",
            SignatureMethod::RsaSha1 => "RSA-SHA1",
            SignatureMethod::Plaintext => "PLAINTEXT",
        }
    }
}

/// OAuth 1.0a three-legged authorization (RFC 5849 section 2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OAuth1Spec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Temporary credentials (request token) endpoint.
    pub request_token_url: String,
    /// Where the person authorizes the temporary credentials.
    pub authorize_url: String,
    /// Token credentials (access token) endpoint.
    pub access_token_url: String,
    #[serde(default)]
    pub signature_method: SignatureMethod,
    /// Extra query parameters for the authorization page (Trello's name, scope, expiration).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authorize_params: BTreeMap<String, String>,
    /// The provider accepts `oauth_callback=oob` and shows a verifier to type in.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub oob: bool,
    /// The `realm` of the Authorization header, where the provider wants one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    #[serde(default, skip_serializing_if = "RedirectHost::is_default")]
    pub redirect_host: RedirectHost,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_port: Option<u16>,
    #[serde(default = "default_redirect_path")]
    pub redirect_path: String,
    /// Where to register the consumer (OAuth app), shown by `conn providers show`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_registration_url: Option<String>,
}

/// The host name of a loopback redirect URI. The callback server always listens on
/// 127.0.0.1; `localhost` only changes the URI the provider sees (browsers resolve it there).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
pub(crate) enum RedirectHost {
    #[default]
    #[serde(rename = "127.0.0.1")]
    Ipv4Loopback,
    #[serde(rename = "localhost")]
    Localhost,
}

impl RedirectHost {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RedirectHost::Ipv4Loopback => "127.0.0.1",
            RedirectHost::Localhost => "localhost",
        }
    }

    fn is_default(&self) -> bool {
        *self == RedirectHost::default()
    }
}

/// The one redirect URI to register for a loopback sign-in: `http://HOST[:PORT]PATH`. Without
/// a fixed port the provider accepts any (RFC 8252 section 7.3) and the URI has none.
pub(crate) fn redirect_uri(host: RedirectHost, port: Option<u16>, path: &str) -> String {
    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
    format!("http://{}{port}{path}", host.as_str())
}

impl OAuth2Spec {
    /// The redirect URI to register at the provider (`conn providers show`).
    pub(crate) fn redirect_uri(&self) -> String {
        redirect_uri(self.redirect_host, self.redirect_port, &self.redirect_path)
    }
}

impl OAuth1Spec {
    /// The callback URL to register at the provider (`conn providers show`).
    pub(crate) fn redirect_uri(&self) -> String {
        redirect_uri(self.redirect_host, self.redirect_port, &self.redirect_path)
    }
}

fn is_true(b: &bool) -> bool {
    *b
}

fn default_grants() -> Vec<Grant> {
    vec![Grant::AuthorizationCode]
}

fn default_scope_separator() -> String {
    " ".into()
}

fn default_true() -> bool {
    true
}

fn default_redirect_path() -> String {
    "/callback".into()
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Placement {
    #[default]
    Header,
    Query,
    /// HTTP Basic: the key as the user name (Freshdesk), or as the password of a fixed user
    /// name (Mailgun's `api`).
    Basic,
    /// The first segment of the request path, after the base URL's host: `prefix` + key
    /// (Telegram's `https://api.telegram.org/bot<token>/getMe`).
    Path,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApiKeySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(default)]
    pub placement: Placement,
    /// Header name or query parameter name (not used with `placement = "basic"` or `"path"`).
    #[serde(default)]
    pub name: String,
    /// `placement = "basic"`: a fixed user name; the key is the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_user: Option<String>,
    /// `placement = "basic"` without `basic_user`: the key is the user name and this the
    /// password (default empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_password: Option<String>,
    /// Text before the key, e.g. `Bearer `.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BasicSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_label: Option<String>,
    /// Appended to the user name when sending (Zendesk's `/token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_suffix: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Api {
    pub base_url: String,
    /// Headers sent with every request (e.g. an API version).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckSpec {
    #[serde(default = "default_method")]
    pub method: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentitySpec>,
    /// A 2xx answer without an identity id means "not signed in" (APIs that answer anonymous
    /// callers with 200).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub identity_required: bool,
    /// For APIs that answer 200 to failures (Slack's `ok: false`): what success looks like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<Condition>,
    /// JSON pointer to the API's error code in a failed answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Error codes that mean the credentials are bad.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invalid_credentials: Vec<String>,
    /// Error codes that mean the credentials lack a permission or scope.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub insufficient_permissions: Vec<String>,
    /// The 2xx statuses that mean success (default: any 2xx).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect_status: Vec<u16>,
    /// A JSON body for the check request (GraphQL APIs: `{"query": "{ me { id } }"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// A response header that carries the credential's expiry (e.g. GitHub's
    /// `github-authentication-token-expiration`), for the `expiring` status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_header: Option<String>,
}

/// `pointer` in the JSON answer must equal `equals`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Condition {
    pub pointer: String,
    pub equals: serde_json::Value,
}

fn default_method() -> String {
    "GET".into()
}

/// JSON pointers (RFC 6901) into the check response.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IdentitySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The instance (org, site, workspace) the connection reaches; without it, the API host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Lifecycle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotating_refresh: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_active_grants: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys_expire: Option<bool>,
    /// A refresh token unused for this many days expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_expiry_days: Option<u32>,
    /// Access tokens have no expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_never_expire: Option<bool>,
    /// Seconds an access token lives when the token response does not say (`expires_in`
    /// absent): Salesforce's default session is 7200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_lifetime: Option<u64>,
    /// Days after sign-in when the grant ends however often it is refreshed (Intuit's
    /// five-year limit: 1825); a new sign-in is then needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_grant_days: Option<u32>,
    /// Days an API key or token lives at most from its creation (Atlassian API tokens: 365).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_max_days: Option<u32>,
    /// The provider's documentation of a dedicated integration (API-only) user, a URL: when
    /// set, a check whose credentials stopped working suggests one, since a person's account
    /// breaks when they leave. Set only where the provider documents such a user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_user: Option<String>,
}

/// The categories the wizard groups providers by.
pub(crate) const CATEGORIES: &[&str] = &[
    "crm",
    "support",
    "dev-tools",
    "chat",
    "email",
    "storage",
    "payments",
    "accounting",
    "marketing",
    "productivity",
    "project-management",
    "ai",
    "monitoring",
    "communications",
    "ecommerce",
    "identity",
    "design",
    "forms",
    "generic",
];

impl Provider {
    /// Whether the API's base URL is wholly one input the user must give, with no default
    /// (`base_url = "${base_url}"`, as in the generic `http` and `oauth2` providers): then each
    /// connection may be a different app, so the provider id alone does not say which app a
    /// connection is. (GitHub's `${api_url}` has a default: it is one app, maybe on another
    /// host.)
    pub(crate) fn base_url_is_input(&self) -> bool {
        let url = self.api.base_url.trim();
        url.strip_prefix("${")
            .and_then(|r| r.strip_suffix('}'))
            .is_some_and(|name| {
                self.inputs
                    .iter()
                    .any(|i| i.name == name && i.capture.is_none() && i.default.is_none())
            })
    }

    /// `Err(reason)` when `spec` is not offered in environment `env`.
    pub(crate) fn method_in_env(&self, spec: &AuthSpec, env: Environment) -> Result<(), String> {
        let AuthSpec::OAuth2(o) = spec else {
            return Ok(());
        };
        if o.environments.is_empty() || o.environments.contains(&env) {
            return Ok(());
        }
        let others: Vec<&str> = self
            .auth
            .iter()
            .filter(|a| a.method() != spec.method())
            .map(|a| a.method().as_str())
            .collect();
        Err(format!(
            "{}: --auth {} works only with --env {}{}{}",
            self.display_name,
            spec.method(),
            o.environments
                .iter()
                .map(|e| e.as_str())
                .collect::<Vec<_>>()
                .join("|"),
            o.environments_note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default(),
            if others.is_empty() {
                String::new()
            } else {
                format!(" (in {env}, use --auth {})", others.join("|"))
            }
        ))
    }

    /// What to keep of `raw`, typed or passed for `input`, or why it is refused: text of only
    /// blanks is the empty answer (a lone space never becomes a header prefix " "); an
    /// answer the input's rules refuse is tried trimmed, then, for an input that is part of a
    /// host in the provider's URLs, as a pasted URL or host name, keeping the part the URL
    /// template puts there (`https://acme.zendesk.com/` for `https://${subdomain}.zendesk.com`
    /// is `acme`). `Err` is the rules' message about `raw`.
    pub(crate) fn take_input(&self, input: &Input, raw: &str) -> Result<String, String> {
        if raw.trim().is_empty() {
            return input.validate("").map(|()| String::new());
        }
        let refused = match input.validate(raw) {
            Ok(()) => return Ok(raw.to_string()),
            Err(e) => e,
        };
        let trimmed = raw.trim();
        if input.validate(trimmed).is_ok() {
            return Ok(trimmed.to_string());
        }
        self.input_in_pasted_url(&input.name, trimmed)
            .into_iter()
            .find(|v| input.validate(v).is_ok())
            .ok_or(refused)
    }

    /// The values input `name` would have for the host of `pasted` (a URL or a bare host name)
    /// under each URL template of this provider whose host holds `${name}`.
    fn input_in_pasted_url(&self, name: &str, pasted: &str) -> Vec<String> {
        let mut templates = Vec::new();
        if let Ok(v) = serde_json::to_value(self) {
            url_strings(&v, &mut templates);
        }
        let host = pasted.split_once("://").map_or(pasted, |(_, rest)| rest);
        let host = host
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default()
            .rsplit('@')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let mut out = Vec::new();
        for t in templates {
            let Some((_, rest)) = t.split_once("://") else {
                continue;
            };
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            if !template::names(authority).iter().any(|n| n == name) {
                continue;
            }
            let re = host_pattern(authority, name);
            if let Some(v) = regex::Regex::new(&re)
                .ok()
                .and_then(|re| re.captures(&host))
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_string())
                && !out.contains(&v)
            {
                out.push(v);
            }
        }
        out
    }

    pub(crate) fn auth(&self, method: AuthMethod) -> Option<&AuthSpec> {
        self.auth.iter().find(|a| a.method() == method)
    }

    pub(crate) fn methods(&self) -> Vec<&'static str> {
        self.auth.iter().map(|a| a.method().as_str()).collect()
    }

    /// What `${...}` templates see for a connection: its environment's values, then its
    /// inputs.
    pub(crate) fn values(
        &self,
        env: Environment,
        inputs: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let mut v = self
            .environments
            .get(env.as_str())
            .or_else(|| self.environments.get(Environment::Production.as_str()))
            .cloned()
            .unwrap_or_default();
        // An optional input left empty keeps the environment's value (Salesforce's My Domain
        // replaces the login host only when given).
        for (k, x) in inputs {
            if !(x.is_empty() && v.contains_key(k)) {
                v.insert(k.clone(), x.clone());
            }
        }
        v
    }
}

/// Every string in `v` that looks like a URL template (`scheme://...`).
fn url_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) if s.contains("://") => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| url_strings(x, out)),
        serde_json::Value::Object(m) => m.values().for_each(|x| url_strings(x, out)),
        _ => {}
    }
}

/// A regular expression for the host template `authority`: `${name}` (its first place) is
/// the captured group, any other `${...}` matches one or more characters.
fn host_pattern(authority: &str, name: &str) -> String {
    let mut re = String::from("^");
    let mut rest = authority;
    let mut captured = false;
    while let Some(start) = rest.find("${") {
        re.push_str(&regex::escape(&rest[..start].to_ascii_lowercase()));
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            rest = &rest[start..];
            break;
        };
        if &after[..end] == name && !captured {
            re.push_str("(.+?)");
            captured = true;
        } else {
            re.push_str(".+?");
        }
        rest = &after[end + 1..];
    }
    re.push_str(&regex::escape(&rest.to_ascii_lowercase()));
    re.push('$');
    re
}

pub(crate) fn parse_file(path: &Path) -> Result<Provider> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: could not read", path.display()))?;
    parse(&text, path)
}

/// Parses and validates one provider definition. `origin` names the file in errors. A file
/// with `extends` is merged over that built-in provider first.
pub(crate) fn parse(text: &str, origin: &Path) -> Result<Provider> {
    parse_with(text, origin, &super::builtin_raw)
}

/// `parse` with the parents of `extends` looked up by `parent`.
pub(crate) fn parse_with(
    text: &str,
    origin: &Path,
    parent: &dyn Fn(&str) -> Option<toml::Table>,
) -> Result<Provider> {
    let at = |e: &toml::de::Error| {
        let (line, col) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        anyhow!("{}:{line}:{col}: {}", origin.display(), e.message().trim())
    };
    let raw: toml::Table = toml::from_str(text).map_err(|e| at(&e))?;
    if let Some((field, msg)) = line_break_in(&raw, "") {
        let line = text
            .find(field.rsplit('.').next().unwrap_or(&field))
            .map_or(1, |o| line_col(text, o).0);
        bail!("{}:{line}: {field}: {msg}", origin.display());
    }
    let provider: Provider = match raw.get("extends") {
        None => toml::from_str(text).map_err(|e| at(&e))?,
        Some(toml::Value::String(base)) => {
            let Some(mut merged) = parent(base) else {
                let line = text.find("extends").map_or(1, |o| line_col(text, o).0);
                bail!(
                    "{}:{line}: extends: {base:?} is not a built-in provider (see 'conn providers list')",
                    origin.display()
                );
            };
            merge(&mut merged, raw);
            toml::Value::Table(merged)
                .try_into()
                .map_err(|e: toml::de::Error| {
                    // The merged table has no positions: point at the field the message names.
                    let msg = e.message().trim().to_string();
                    let line = msg
                        .split('`')
                        .nth(1)
                        .and_then(|field| text.find(field))
                        .map_or(1, |o| line_col(text, o).0);
                    anyhow!("{}:{line}: {msg}", origin.display())
                })?
        }
        Some(_) => bail!("{}: extends: must be a provider id", origin.display()),
    };
    validate(&provider).map_err(|(field, msg, needle)| {
        let line = needle
            .and_then(|n| text.find(&n))
            .or_else(|| locate(text, &field))
            .map_or(1, |off| line_col(text, off).0);
        anyhow!("{}:{line}: {field}: {msg}", origin.display())
    })?;
    Ok(provider)
}

/// The first string of a provider file (outside its prose fields) holding CR, LF or NUL, as
/// (field path, message): every other string may end up in a URL, a header or a file name.
fn line_break_in(table: &toml::Table, at: &str) -> Option<(String, String)> {
    const PROSE: &[&str] = &["help", "description", "notes"];
    fn walk(v: &toml::Value, path: &str) -> Option<(String, String)> {
        match v {
            toml::Value::String(s) => {
                let key = path.rsplit('.').next().unwrap_or(path);
                let key = key.split('[').next().unwrap_or(key);
                if PROSE.contains(&key) {
                    return None;
                }
                crate::core::text::check_single_line(path, s)
                    .err()
                    .map(|m| (path.to_string(), m))
            }
            toml::Value::Array(a) => a
                .iter()
                .enumerate()
                .find_map(|(i, x)| walk(x, &format!("{path}[{i}]"))),
            toml::Value::Table(t) => line_break_in(t, path),
            _ => None,
        }
    }
    table.iter().find_map(|(k, v)| {
        let path = if at.is_empty() {
            k.clone()
        } else {
            format!("{at}.{k}")
        };
        walk(v, &path)
    })
}

/// Where a field without a telling value is: `auth[2]` is the third `[[auth]]` table,
/// `environments.x` its table header, else the field's first key.
fn locate(text: &str, field: &str) -> Option<usize> {
    let head = field.split('.').next().unwrap_or(field);
    if let Some((table, rest)) = head.split_once('[') {
        let i: usize = rest.trim_end_matches(']').parse().ok()?;
        let marker = format!("[[{table}]]");
        return text.match_indices(&marker).nth(i).map(|(o, _)| o);
    }
    text.find(&format!("[{head}"))
        .or_else(|| text.find(&format!("{head} =")))
        .or_else(|| text.find(head))
}

/// Merges `child` over `base`: tables key by key, `[[auth]]` entries by method, anything
/// else replaced.
pub(crate) fn merge(base: &mut toml::Table, child: toml::Table) {
    for (k, v) in child {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(c)) => merge(b, c),
            (Some(toml::Value::Array(b)), toml::Value::Array(c)) if k == "auth" => {
                for entry in c {
                    let method = entry.get("method").cloned();
                    let same = b
                        .iter_mut()
                        .find(|e| method.is_some() && e.get("method") == method.as_ref());
                    match (same, entry) {
                        (Some(toml::Value::Table(bt)), toml::Value::Table(ct)) => merge(bt, ct),
                        (_, entry) => b.push(entry),
                    }
                }
            }
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

type Invalid = (String, String, Option<String>);

fn invalid(field: impl Into<String>, msg: impl Into<String>, needle: Option<&str>) -> Invalid {
    (field.into(), msg.into(), needle.map(str::to_string))
}

fn validate(p: &Provider) -> std::result::Result<(), Invalid> {
    let ident = regex::Regex::new("^[a-z0-9][a-z0-9-]*$").expect("static regex");
    if !ident.is_match(&p.id) {
        return Err(invalid(
            "id",
            "use lowercase letters, digits and '-'",
            Some(&p.id),
        ));
    }
    let mut names = BTreeSet::new();
    let re = regex::Regex::new("^[a-z][a-z0-9_]*$").expect("static regex");
    for (i, input) in p.inputs.iter().enumerate() {
        let field = format!("inputs[{i}]");
        if !re.is_match(&input.name) {
            return Err(invalid(
                format!("{field}.name"),
                "use lowercase letters, digits and '_'",
                Some(&input.name),
            ));
        }
        if !names.insert(input.name.clone()) {
            return Err(invalid(
                format!("{field}.name"),
                format!("input {:?} is defined twice", input.name),
                Some(&input.name),
            ));
        }
        if let Some(pat) = &input.pattern
            && let Err(e) = regex::Regex::new(pat)
        {
            return Err(invalid(
                format!("{field}.pattern"),
                format!("not a valid regular expression: {e}"),
                Some(pat),
            ));
        }
        // A worked-out default is checked once filled in; a plain one here.
        if let Some(d) = &input.default
            && !d.contains("${")
            && let Err(e) = input.validate(d)
        {
            return Err(invalid(format!("{field}.default"), e, Some(d)));
        }
        for (j, d) in input.defaults.iter().enumerate() {
            if !d.value.contains("${")
                && let Err(e) = input.validate(&d.value)
            {
                return Err(invalid(
                    format!("{field}.defaults[{j}].value"),
                    e,
                    Some(&d.value),
                ));
            }
        }
        // Defaults depend only on answers given before (or on environment values).
        for dep in input.depends_on() {
            let env_key = p.environments.values().any(|e| e.contains_key(&dep));
            if (!env_key && !names.contains(&dep)) || dep == input.name {
                return Err(invalid(
                    format!("{field}.default"),
                    format!(
                        "{dep:?} is not an earlier input or an environment value; a default may depend only on those"
                    ),
                    Some(&dep),
                ));
            }
        }
    }
    for c in &p.categories {
        // Any name works for a user's own grouping; the wizard lists the usual ones first.
        if !ident.is_match(c) {
            return Err(invalid(
                "categories",
                format!(
                    "{c:?}: use lowercase letters, digits and '-' (usual ones: {})",
                    CATEGORIES.join(", ")
                ),
                Some(c),
            ));
        }
    }
    for (i, input) in p.inputs.iter().enumerate() {
        if input.capture.is_some() && input.capture().is_none() {
            return Err(invalid(
                format!("inputs[{i}].capture"),
                "must be token:FIELD, callback:PARAM or pick",
                input.capture.as_deref(),
            ));
        }
        if input.capture() == Some(Capture::Pick) {
            let picked = p.auth.iter().any(|a| {
                matches!(a, AuthSpec::OAuth2(o) if o.pick.as_ref().is_some_and(|k| k.input == input.name))
            });
            if !picked {
                return Err(invalid(
                    format!("inputs[{i}].capture"),
                    format!("no oauth2 method has a pick with input = {:?}", input.name),
                    input.capture.as_deref(),
                ));
            }
        }
    }
    if !p.environments.is_empty() {
        let Some(prod) = p.environments.get(Environment::Production.as_str()) else {
            return Err(invalid(
                "environments",
                "define [environments.production] (the default) when there are environments",
                None,
            ));
        };
        for (env, values) in &p.environments {
            if env.parse::<Environment>().is_err() {
                return Err(invalid(
                    format!("environments.{env}"),
                    format!(
                        "unknown environment; use {}",
                        Environment::ALL
                            .iter()
                            .map(|e| e.as_str())
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ),
                    Some(&format!("[environments.{env}]")),
                ));
            }
            let (a, b): (BTreeSet<&String>, BTreeSet<&String>) =
                (values.keys().collect(), prod.keys().collect());
            if a != b {
                return Err(invalid(
                    format!("environments.{env}"),
                    "every environment must define the same keys as production",
                    Some(&format!("[environments.{env}]")),
                ));
            }
        }
        for key in prod.keys() {
            if !re.is_match(key) {
                return Err(invalid(
                    format!("environments.production.{key}"),
                    "use lowercase letters, digits and '_'",
                    Some(key),
                ));
            }
            let overridable = p.inputs.iter().any(|i| &i.name == key && i.optional);
            if !names.insert(key.clone()) && !overridable {
                return Err(invalid(
                    format!("environments.production.{key}"),
                    format!("{key:?} is also an input; use another name"),
                    Some(key),
                ));
            }
        }
    }
    if p.auth.is_empty() {
        return Err(invalid(
            "auth",
            "at least one [[auth]] method is required",
            None,
        ));
    }
    let mut methods = BTreeSet::new();
    for (i, a) in p.auth.iter().enumerate() {
        if !methods.insert(a.method()) {
            return Err(invalid(
                format!("auth[{i}].method"),
                format!("method {:?} is listed twice", a.method().as_str()),
                None,
            ));
        }
        if let AuthSpec::OAuth2(o) = a {
            validate_oauth2(i, o, &names)?;
        }
        if let AuthSpec::OAuth1(o) = a {
            validate_oauth1(i, o, &names)?;
        }
        if let AuthSpec::ApiKey(k) = a {
            check_templates(&format!("auth[{i}].name"), &k.name, &names)?;
            check_templates(&format!("auth[{i}].prefix"), &k.prefix, &names)?;
            if !matches!(k.placement, Placement::Basic | Placement::Path)
                && k.name.trim().is_empty()
            {
                return Err(invalid(
                    format!("auth[{i}].name"),
                    "must not be empty",
                    None,
                ));
            }
        }
    }
    check_url("api.base_url", &p.api.base_url, &names)?;
    if let Some(u) = p
        .lifecycle
        .as_ref()
        .and_then(|l| l.integration_user.as_deref())
    {
        check_url("lifecycle.integration_user", u, &names)?;
    }
    validate_unverified(p)?;
    check_templates("check.path", &p.check.path, &names)?;
    if p.check.path.starts_with("https://") {
        // Absolute: the who-am-I endpoint is on another host of the same vendor.
        check_url("check.path", &p.check.path, &names)?;
    } else if !(p.check.path.starts_with('/') || p.check.path.starts_with("${")) {
        return Err(invalid(
            "check.path",
            "must start with '/' (or be an https URL)",
            Some(&p.check.path),
        ));
    }
    if let Some(s) = p
        .check
        .expect_status
        .iter()
        .find(|s| !(200..300).contains(*s))
    {
        return Err(invalid(
            "check.expect_status",
            format!("{s}: only 2xx statuses can mean success"),
            Some("expect_status"),
        ));
    }
    if let Some(b) = &p.check.body
        && serde_json::from_str::<serde_json::Value>(b).is_err()
    {
        return Err(invalid("check.body", "must be JSON", Some("body")));
    }
    if !matches!(p.check.method.as_str(), "GET" | "POST" | "HEAD") {
        return Err(invalid(
            "check.method",
            "must be GET, POST or HEAD",
            Some(&p.check.method),
        ));
    }
    if let Some(id) = &p.check.identity {
        for (field, ptr) in [
            ("check.identity.id", &id.id),
            ("check.identity.label", &id.label),
            ("check.identity.instance", &id.instance),
        ] {
            if let Some(ptr) = ptr {
                check_templates(field, ptr, &names)?;
                if !(ptr.is_empty() || ptr.starts_with('/') || ptr.starts_with("${")) {
                    return Err(invalid(
                        field,
                        "must be a JSON pointer such as /user/id",
                        Some(ptr),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn validate_oauth2(
    i: usize,
    o: &OAuth2Spec,
    names: &BTreeSet<String>,
) -> std::result::Result<(), Invalid> {
    let urls = [
        ("issuer", &o.issuer),
        ("authorize_url", &o.authorize_url),
        ("token_url", &o.token_url),
        ("device_url", &o.device_url),
        ("revocation_url", &o.revocation_url),
        ("refresh_url", &o.refresh_url),
    ];
    for (field, url) in urls {
        if let Some(u) = url {
            check_url(&format!("auth[{i}].{field}"), u, names)?;
        }
    }
    if o.issuer.is_none() && o.token_url.is_none() {
        return Err(invalid(
            format!("auth[{i}]"),
            "oauth2 needs token_url, or issuer for discovery",
            None,
        ));
    }
    let has = |g: Grant| o.grants.contains(&g);
    if o.grants.is_empty() {
        return Err(invalid(
            format!("auth[{i}].grants"),
            "list at least one grant",
            None,
        ));
    }
    if has(Grant::OAuth1) {
        return Err(invalid(
            format!("auth[{i}].grants"),
            "oauth1 is a method (method = \"oauth1\"), not an OAuth 2.0 grant",
            None,
        ));
    }
    if has(Grant::AuthorizationCode) && o.issuer.is_none() && o.authorize_url.is_none() {
        return Err(invalid(
            format!("auth[{i}].authorize_url"),
            "the authorization_code grant needs authorize_url (or issuer)",
            None,
        ));
    }
    if has(Grant::DeviceCode) && o.issuer.is_none() && o.device_url.is_none() {
        return Err(invalid(
            format!("auth[{i}].device_url"),
            "the device_code grant needs device_url (or issuer)",
            None,
        ));
    }
    if !o.redirect_path.starts_with('/') {
        return Err(invalid(
            format!("auth[{i}].redirect_path"),
            "must start with '/'",
            Some(&o.redirect_path),
        ));
    }
    if o.redirect_port == Some(0) {
        return Err(invalid(
            format!("auth[{i}].redirect_port"),
            "must be a port number from 1 to 65535 (leave it out for any port)",
            Some("redirect_port"),
        ));
    }
    if let Some(ptr) = &o.token_path
        && !ptr.starts_with('/')
    {
        return Err(invalid(
            format!("auth[{i}].token_path"),
            "must be a JSON pointer such as /authed_user",
            Some(ptr),
        ));
    }
    for (k, v) in o.token_params.iter().chain(&o.refresh_params) {
        if k.is_empty()
            || ["grant_type", "code", "refresh_token", "code_verifier"].contains(&k.as_str())
        {
            return Err(invalid(
                format!("auth[{i}]"),
                format!("{k:?}: conn sends this parameter itself; name only extra ones"),
                Some(k),
            ));
        }
        if v.contains("${") {
            return Err(invalid(
                format!("auth[{i}]"),
                format!(
                    "{k:?}: token and refresh parameters are sent as written; ${{...}} is not filled in"
                ),
                Some(k),
            ));
        }
    }
    if let Some(pick) = &o.pick {
        check_url(&format!("auth[{i}].pick.url"), &pick.url, names)?;
        if !names.contains(&pick.input) {
            return Err(invalid(
                format!("auth[{i}].pick.input"),
                format!(
                    "{:?} names no input (declare it with capture = \"pick\")",
                    pick.input
                ),
                Some(&pick.input),
            ));
        }
        for (field, ptr) in [
            ("items", &pick.items),
            ("id", &pick.id),
            ("label", &pick.label),
        ] {
            if !(ptr.is_empty() || ptr.starts_with('/')) {
                return Err(invalid(
                    format!("auth[{i}].pick.{field}"),
                    "must be a JSON pointer such as /id (or \"\" for the whole answer)",
                    Some(ptr),
                ));
            }
        }
    }
    Ok(())
}

fn validate_oauth1(
    i: usize,
    o: &OAuth1Spec,
    names: &BTreeSet<String>,
) -> std::result::Result<(), Invalid> {
    for (field, url) in [
        ("request_token_url", &o.request_token_url),
        ("authorize_url", &o.authorize_url),
        ("access_token_url", &o.access_token_url),
    ] {
        check_url(&format!("auth[{i}].{field}"), url, names)?;
    }
    if !o.redirect_path.starts_with('/') {
        return Err(invalid(
            format!("auth[{i}].redirect_path"),
            "must start with '/'",
            Some(&o.redirect_path),
        ));
    }
    Ok(())
}

/// Each `unverified` key names a value the definition has: `auth.METHOD.FIELD`,
/// `inputs.NAME.FIELD`, else a path of keys (`check.path`, `environments.sandbox.api_host`).
fn validate_unverified(p: &Provider) -> std::result::Result<(), Invalid> {
    if p.unverified.is_empty() {
        return Ok(());
    }
    let doc = serde_json::to_value(p).unwrap_or_default();
    for (path, why) in &p.unverified {
        if why.trim().is_empty() {
            return Err(invalid(
                format!("unverified.{path}"),
                "say why the value could not be confirmed",
                Some(path),
            ));
        }
        if lookup(&doc, path).is_none() {
            return Err(invalid(
                format!("unverified.{path}"),
                "names no value of this provider (auth.METHOD.FIELD, inputs.NAME.FIELD, check.path, ...)",
                Some(path),
            ));
        }
    }
    Ok(())
}

/// The value at a dotted field path of a provider's JSON form (see `Provider::unverified`).
pub(crate) fn lookup<'a>(doc: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    let mut parts = path.split('.');
    let head = parts.next()?;
    let mut at = match head {
        "auth" | "inputs" => {
            let (key, want) = if head == "auth" {
                ("method", parts.next()?)
            } else {
                ("name", parts.next()?)
            };
            doc.get(head)?
                .as_array()?
                .iter()
                .find(|e| e.get(key).and_then(|v| v.as_str()) == Some(want))?
        }
        _ => doc.get(head)?,
    };
    for part in parts {
        at = at.get(part)?;
    }
    Some(at)
}

/// A URL field: its templates name inputs, and with placeholders filled it is http(s).
fn check_url(
    field: &str,
    value: &str,
    names: &BTreeSet<String>,
) -> std::result::Result<(), Invalid> {
    check_templates(field, value, names)?;
    if value.starts_with("${") {
        return Ok(());
    }
    let probe: BTreeMap<String, String> =
        names.iter().map(|n| (n.clone(), "x".to_string())).collect();
    let url = template::expand(value, &probe).unwrap_or_default();
    match reqwest::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        _ => Err(invalid(field, "must be an http(s) URL", Some(value))),
    }
}

fn check_templates(
    field: &str,
    value: &str,
    names: &BTreeSet<String>,
) -> std::result::Result<(), Invalid> {
    for n in template::names(value) {
        if !names.contains(&n) {
            return Err(invalid(
                field,
                format!("${{{n}}} names no input (define it under [[inputs]])"),
                Some(&format!("${{{n}}}")),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"
id = "acme"
display_name = "Acme"
[[inputs]]
name = "subdomain"
label = "Subdomain"
pattern = "[a-z]+"
[[auth]]
method = "api_key"
name = "X-Key"
[api]
base_url = "https://${subdomain}.acme.test"
[check]
path = "/me"
"#;

    #[test]
    fn valid_definition_parses() {
        let p = parse(OK, Path::new("acme.toml")).unwrap();
        assert_eq!(p.methods(), vec!["api_key"]);
        assert!(p.inputs[0].validate("abc").is_ok());
        assert!(p.inputs[0].validate("ab1").is_err());
    }

    #[test]
    fn pasted_addresses_give_the_host_part_and_blanks_are_empty() {
        let p = parse(OK, Path::new("acme.toml")).unwrap();
        let i = &p.inputs[0];
        for (raw, kept) in [
            ("abc", "abc"),
            (" abc ", "abc"),
            ("https://abc.acme.test", "abc"),
            ("abc.acme.test/", "abc"),
            ("HTTPS://ABC.acme.test/x?y#z", "abc"),
        ] {
            assert_eq!(p.take_input(i, raw).as_deref(), Ok(kept), "{raw}");
        }
        for refused in ["https://abc.other.test", "a.b.acme.test", "1", "   "] {
            assert!(p.take_input(i, refused).is_err(), "{refused}");
        }
        assert_eq!(host_pattern("${a}.x.${b}", "b"), r"^.+?\.x\.(.+?)$");
    }

    #[test]
    fn defaults_follow_earlier_answers_and_must_name_them() {
        let text = OK.replace(
            "[[auth]]",
            "[[inputs]]\nname = \"api\"\nlabel = \"API\"\ndefault = \"https://${subdomain}.acme.test/v2\"\ndefaults = [{ when = { subdomain = \"EU\" }, value = \"https://eu.acme.test\" }]\n[[auth]]",
        );
        let p = parse(&text, Path::new("acme.toml")).unwrap();
        let api = &p.inputs[1];
        assert!(api.worked_out() && !p.inputs[0].worked_out());
        let known = |v: &str| BTreeMap::from([("subdomain".to_string(), v.to_string())]);
        assert_eq!(
            api.default_given(&known("x")).as_deref(),
            Some("https://x.acme.test/v2")
        );
        assert_eq!(
            api.default_given(&known("eu")).as_deref(),
            Some("https://eu.acme.test")
        );
        assert_eq!(api.default_given(&BTreeMap::new()), None);
        let later = text.replace("when = { subdomain", "when = { nothing");
        let e = parse(&later, Path::new("acme.toml")).unwrap_err();
        assert!(
            format!("{e:#}").contains("\"nothing\" is not an earlier input"),
            "{e:#}"
        );
    }

    #[test]
    fn unknown_key_reports_line() {
        let bad = OK.replace("[check]\n", "[check]\nbogus = 1\n");
        let e = parse(&bad, Path::new("acme.toml")).unwrap_err().to_string();
        assert!(e.starts_with("acme.toml:14:"), "{e}");
        assert!(e.contains("bogus"), "{e}");
    }

    #[test]
    fn undefined_template_is_refused_with_field() {
        let bad = OK.replace("${subdomain}.acme", "${tenant}.acme");
        let e = parse(&bad, Path::new("acme.toml")).unwrap_err().to_string();
        assert!(e.contains("api.base_url"), "{e}");
        assert!(e.contains("${tenant}"), "{e}");
        assert!(e.starts_with("acme.toml:12:"), "{e}");
    }
}

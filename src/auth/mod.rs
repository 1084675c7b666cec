//! Authentication methods, one module each behind one trait. Nothing here stores anything:
//! callers hand in the connection's inputs and secrets and get back something that signs
//! requests.

pub mod api_key;
pub mod basic;
pub mod callback;
pub mod oauth1;
pub mod oauth2;

use std::collections::BTreeMap;
use std::fmt::Debug;

use anyhow::{Result, bail};
use reqwest::blocking::RequestBuilder;

use crate::catalog::AuthSpec;
use crate::core::scrub::Scrubber;
use crate::core::secret::{Secret, SecretBundle};

/// Adds a connection's credentials to an outgoing request.
pub trait Authenticator: Debug {
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
pub mod env_var {
    /// The whole `Authorization` header value.
    pub const AUTHORIZATION: &str = "AUTHORIZATION";
    /// The whole credential header as `Name: value`, ready for `curl -H @file`.
    pub const AUTH_HEADER: &str = "AUTH_HEADER";
    pub const TOKEN: &str = "TOKEN";
    pub const API_KEY: &str = "API_KEY";
    pub const USERNAME: &str = "USERNAME";
    pub const PASSWORD: &str = "PASSWORD";
    /// OAuth 1.0a: what a script needs to sign requests itself.
    pub const TOKEN_SECRET: &str = "TOKEN_SECRET";
    pub const CONSUMER_KEY: &str = "CONSUMER_KEY";
    pub const CONSUMER_SECRET: &str = "CONSUMER_SECRET";
    /// OAuth 1.0a with RSA-SHA1: the consumer's PEM private key.
    pub const PRIVATE_KEY: &str = "PRIVATE_KEY";
}

/// One secret a method needs, as the wizard asks for it.
#[derive(Debug, Clone)]
pub struct SecretField {
    /// Key in the secret bundle.
    pub key: &'static str,
    pub label: String,
}

/// The secrets a method needs.
pub fn secret_fields(spec: &AuthSpec) -> Vec<SecretField> {
    match spec {
        AuthSpec::ApiKey(s) => vec![SecretField {
            key: api_key::FIELD,
            label: s.label.clone().unwrap_or_else(|| "API key".into()),
        }],
        AuthSpec::Basic(s) => vec![SecretField {
            key: basic::FIELD,
            label: s
                .password_label
                .clone()
                .unwrap_or_else(|| "Password".into()),
        }],
        // Tokens come from the sign-in, not from the user.
        AuthSpec::OAuth2(_) | AuthSpec::OAuth1(_) => vec![],
    }
}

/// Whether the method needs a (non-secret) user name.
pub fn needs_username(spec: &AuthSpec) -> bool {
    matches!(spec, AuthSpec::Basic(_))
}

/// Builds the authenticator for a connection. `inputs` fill `${...}` templates in the spec.
pub fn authenticator(
    spec: &AuthSpec,
    inputs: &BTreeMap<String, String>,
    username: Option<&str>,
    secrets: &SecretBundle,
) -> Result<Box<dyn Authenticator>> {
    let missing = |field: &str| {
        anyhow::anyhow!(
            "the stored secrets have no '{field}' (the secret store entry is incomplete)"
        )
    };
    match spec {
        AuthSpec::ApiKey(s) => {
            let key = secrets
                .get(api_key::FIELD)
                .ok_or_else(|| missing(api_key::FIELD))?;
            Ok(Box::new(api_key::ApiKey::new(s, inputs, key.clone())?))
        }
        AuthSpec::Basic(s) => {
            let Some(user) = username else {
                bail!("this Basic auth connection has no user name recorded")
            };
            let pw = secrets
                .get(basic::FIELD)
                .ok_or_else(|| missing(basic::FIELD))?;
            Ok(Box::new(basic::Basic::new(s, user, pw.clone())))
        }
        AuthSpec::OAuth2(_) => {
            let token = secrets
                .get(oauth2::ACCESS_TOKEN)
                .ok_or_else(|| missing(oauth2::ACCESS_TOKEN))?;
            Ok(Box::new(oauth2::Bearer::new(token.clone())))
        }
        AuthSpec::OAuth1(s) => Ok(Box::new(oauth1::signer_from(s, secrets, missing)?)),
    }
}

/// A scrubber for every form of the authenticator's credentials (see `core::scrub`); build it
/// once for a response and use it for each of its parts.
pub fn scrubber(auth: &dyn Authenticator) -> Scrubber {
    let values = auth.secret_values();
    Scrubber::new(values.iter().map(|s| s.expose().as_str()))
}

/// `text` with every form of the authenticator's credentials replaced by `(redacted)`.
pub fn scrub(text: &str, auth: &dyn Authenticator) -> String {
    scrubber(auth).scrub_str(text)
}

/// `bytes` with every form of the authenticator's credentials replaced by `(redacted)`; for
/// response bodies, which need not be text.
pub fn scrub_bytes(bytes: &[u8], auth: &dyn Authenticator) -> Vec<u8> {
    scrubber(auth).scrub(bytes).into_owned()
}

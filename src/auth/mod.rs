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
use crate::core::secret::{Secret, SecretBundle};

/// Adds a connection's credentials to an outgoing request.
pub trait Authenticator: Debug {
    fn apply(&self, req: RequestBuilder) -> RequestBuilder;
    /// Every form in which this authenticator sends a secret (raw, and as encoded on the
    /// wire), so callers can scrub them from any text that came back from a server.
    fn secret_values(&self) -> Vec<Secret<String>>;
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

//! HTTP Basic auth (RFC 7617): a user name, optionally suffixed (Zendesk's `/token`), and a
//! password or API token.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use reqwest::blocking::RequestBuilder;

use super::{Authenticator, Method, SecretField};
use crate::catalog::BasicSpec;
use crate::core::secret::{Secret, SecretBundle};

/// Key of the password in the secret bundle.
pub(crate) const FIELD: &str = "password";

#[derive(Debug)]
pub(crate) struct Basic {
    username: String,
    password: Secret<String>,
}

impl Basic {
    pub(crate) fn new(spec: &BasicSpec, username: &str, password: Secret<String>) -> Self {
        let suffix = spec.username_suffix.as_deref().unwrap_or("");
        let username = if suffix.is_empty() || username.ends_with(suffix) {
            username.to_string()
        } else {
            format!("{username}{suffix}")
        };
        Basic { username, password }
    }
}

impl Authenticator for Basic {
    fn apply(&self, req: RequestBuilder) -> RequestBuilder {
        // reqwest marks the Authorization header it builds here as sensitive.
        req.basic_auth(&self.username, Some(self.password.expose()))
    }

    fn secret_values(&self) -> Vec<Secret<String>> {
        // The password, and the base64 of `user:password` in each alphabet; `core::scrub`
        // matches each in every other encoding.
        let pair = zeroize::Zeroizing::new(format!("{}:{}", self.username, self.password.expose()));
        let mut out = vec![self.password.clone()];
        out.extend(
            crate::core::scrub::base64_forms(&pair)
                .into_iter()
                .map(Secret::new),
        );
        out
    }

    fn env_vars(&self) -> Vec<(&'static str, Secret<String>)> {
        use super::env_var::*;
        use base64::Engine;
        let pair = zeroize::Zeroizing::new(format!("{}:{}", self.username, self.password.expose()));
        let value = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
        );
        vec![
            // As sent: with the provider's suffix (Zendesk's `/token`) already appended.
            (USERNAME, Secret::new(self.username.clone())),
            (PASSWORD, self.password.clone()),
            (AUTH_HEADER, Secret::new(format!("Authorization: {value}"))),
            (AUTHORIZATION, Secret::new(value)),
        ]
    }
}

impl Method for BasicSpec {
    fn secret_fields(&self) -> Vec<SecretField> {
        vec![SecretField {
            key: FIELD,
            label: self
                .password_label
                .clone()
                .unwrap_or_else(|| "Password".into()),
        }]
    }

    fn username_label(&self) -> Option<String> {
        Some(
            self.username_label
                .clone()
                .unwrap_or_else(|| "User name".into()),
        )
    }

    fn token_field(&self) -> &'static str {
        FIELD
    }

    fn authenticator(
        &self,
        _values: &BTreeMap<String, String>,
        username: Option<&str>,
        secrets: &SecretBundle,
    ) -> Result<Box<dyn Authenticator>> {
        let Some(user) = username else {
            bail!("this Basic auth connection has no user name recorded")
        };
        let pw = secrets.get(FIELD).ok_or_else(|| super::missing(FIELD))?;
        Ok(Box::new(Basic::new(self, user, pw.clone())))
    }
}

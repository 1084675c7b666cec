//! A connection made ready for use by `exec` and `request`: its provider, fresh secrets (OAuth
//! tokens refreshed first when due) and the authenticator built from them.

use anyhow::{Result, anyhow, bail};

use super::Base;
use super::oauth::{self, Stale};
use crate::auth::{self, Authenticator};
use crate::catalog::{AuthSpec, Catalog, Provider, template};
use crate::core::secret::SecretBundle;
use crate::store::metadata::Connection;

#[derive(Debug)]
pub struct Ready {
    pub name: String,
    pub conn: Connection,
    pub provider: Provider,
    pub secrets: SecretBundle,
    pub auth: Box<dyn Authenticator>,
    /// The provider's API base URL with the connection's inputs filled in.
    pub base_url: String,
}

impl Ready {
    /// Whether a 401 is worth one retry with a refreshed token.
    pub fn refreshable(&self) -> bool {
        matches!(
            self.provider.auth(&self.conn.auth),
            Some(AuthSpec::OAuth2(_))
        ) && self.conn.oauth.is_some()
    }

    /// After a 401: refresh the access token now (unless another process already replaced
    /// the rejected one) and rebuild the authenticator.
    pub fn refresh_rejected(&mut self, base: &Base) -> Result<()> {
        let secrets =
            oauth::refresh_rejected(base, &self.name, &self.conn, &self.provider, &self.secrets)
                .map_err(|s| oauth::stale_error(&self.name, s))?;
        self.auth = build_auth(&self.provider, &self.conn, &secrets)?;
        self.secrets = secrets;
        Ok(())
    }
}

/// Loads what `conn` needs to use connection `name`.
pub fn ready(base: &Base, catalog: &Catalog, name: &str, conn: &Connection) -> Result<Ready> {
    let provider = catalog.get(&conn.provider)?.clone();
    let secrets = oauth::fresh_secrets(base, name, conn, &provider).map_err(|s| match s {
        Stale::Other(e) => e.context(format!("could not read the secrets of {name}")),
        s => oauth::stale_error(name, s),
    })?;
    let auth = build_auth(&provider, conn, &secrets)?;
    let base_url = base_url(name, &provider, conn)?;
    Ok(Ready {
        name: name.to_string(),
        conn: conn.clone(),
        provider,
        secrets,
        auth,
        base_url,
    })
}

/// The provider's API base URL with the connection's inputs filled in.
pub fn base_url(name: &str, provider: &Provider, conn: &Connection) -> Result<String> {
    template::expand(&provider.api.base_url, &conn.inputs).map_err(|n| {
        anyhow!(
            "{name} has no value for the provider's input '{n}'; the provider definition changed since it was made, recreate it with 'conn new'"
        )
    })
}

fn build_auth(
    provider: &Provider,
    conn: &Connection,
    secrets: &SecretBundle,
) -> Result<Box<dyn Authenticator>> {
    let Some(spec) = provider.auth(&conn.auth) else {
        bail!(
            "provider {} no longer offers auth method {}",
            provider.id,
            conn.auth
        );
    };
    auth::authenticator(spec, &conn.inputs, conn.username.as_deref(), secrets)
}

/// Sandbox runs must not touch production data: a connection not tagged `sandbox` counts as
/// production (older connections may have no tag at all).
pub fn is_sandbox(conn: &Connection) -> bool {
    conn.env == "sandbox"
}

//! A connection's values, computed in one place: what `${...}` templates see (the provider's
//! environment values, then the connection's inputs, captured ones included), the API base URL,
//! and the authenticator; and a connection made ready for use by `exec` and `request` (fresh
//! secrets, OAuth tokens refreshed first when due).

use std::collections::BTreeMap;

use anyhow::{Result, anyhow, bail};

use super::Base;
use super::credentials::{self, Stale};
use crate::auth::{self, Authenticator, Method};
use crate::catalog::{AuthSpec, Catalog, Provider, template};
use crate::core::secret::SecretBundle;
use crate::core::vocab::Environment;
use crate::store::metadata::Connection;

/// What `${...}` templates of `provider` see for `conn`: its environment's values (Square's
/// `api_host`), then its inputs. Every URL, header and check of a connection is filled from
/// this.
pub(crate) fn values(provider: &Provider, conn: &Connection) -> BTreeMap<String, String> {
    values_for(provider, conn.env, &conn.inputs)
}

/// `values` for a connection still being made (or re-made) from `env` and `inputs`.
pub(crate) fn values_for(
    provider: &Provider,
    env: Environment,
    inputs: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    provider.values(env, inputs)
}

/// The provider's auth table for the connection's method.
pub(crate) fn spec<'p>(provider: &'p Provider, conn: &Connection) -> Result<&'p AuthSpec> {
    match provider.auth(conn.auth) {
        Some(s) => Ok(s),
        None => bail!(
            "provider {} no longer offers auth method {}",
            provider.id,
            conn.auth
        ),
    }
}

/// The method of the connection's auth table.
pub(crate) fn method<'p>(provider: &'p Provider, conn: &Connection) -> Result<&'p dyn Method> {
    Ok(auth::method_of(spec(provider, conn)?))
}

/// The provider's API base URL for connection `name`, templates filled.
pub(crate) fn base_url(name: &str, provider: &Provider, conn: &Connection) -> Result<String> {
    template::expand(&provider.api.base_url, &values(provider, conn)).map_err(|n| {
        anyhow!(
            "{name} has no value for the provider's input '{n}'; the provider definition changed since it was made, recreate it with 'conn new'"
        )
    })
}

/// The authenticator for `conn` with `secrets`.
pub(crate) fn authenticator(
    provider: &Provider,
    conn: &Connection,
    secrets: &SecretBundle,
) -> Result<Box<dyn Authenticator>> {
    method(provider, conn)?.authenticator(
        &values(provider, conn),
        conn.username.as_deref(),
        secrets,
    )
}

/// Sandbox runs must not touch production data.
pub(crate) fn is_sandbox(conn: &Connection) -> bool {
    conn.env == Environment::Sandbox
}

/// A connection ready for use: its provider, fresh secrets and authenticator.
#[derive(Debug)]
pub(crate) struct Ready {
    pub(crate) name: String,
    pub(crate) conn: Connection,
    pub(crate) provider: Provider,
    pub(crate) secrets: SecretBundle,
    pub(crate) auth: Box<dyn Authenticator>,
    /// The provider's API base URL with the connection's values filled in.
    pub(crate) base_url: String,
}

impl Ready {
    /// Whether a 401 is worth one retry with a refreshed token.
    pub(crate) fn refreshable(&self) -> bool {
        method(&self.provider, &self.conn).is_ok_and(|m| m.refreshable())
            && self.conn.oauth.is_some()
    }

    /// After a 401: refresh the access token now (unless another process already replaced
    /// the rejected one) and rebuild the authenticator.
    pub(crate) fn refresh_rejected(&mut self, base: &Base) -> Result<()> {
        let secrets = credentials::refresh_rejected(
            base,
            &self.name,
            &self.conn,
            &self.provider,
            &self.secrets,
        )
        .map_err(|s| credentials::stale_error(&self.name, s))?;
        self.auth = authenticator(&self.provider, &self.conn, &secrets)?;
        self.secrets = secrets;
        Ok(())
    }
}

/// Loads what `conn` needs to use connection `name`.
pub(crate) fn ready(
    base: &Base,
    catalog: &Catalog,
    name: &str,
    conn: &Connection,
) -> Result<Ready> {
    let provider = catalog.get(&conn.provider)?.clone();
    let secrets = credentials::fresh_secrets(base, name, conn, &provider).map_err(|s| match s {
        Stale::Other(e) => e.context(format!("could not read the secrets of {name}")),
        s => credentials::stale_error(name, s),
    })?;
    let auth = authenticator(&provider, conn, &secrets)?;
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

//! A connection's values, computed in one place: what `${...}` templates see (the provider's
//! environment values, then the connection's inputs, captured ones included), its auth table
//! and method, the API base URL, and the authenticator.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow, bail};

use crate::auth::{self, Authenticator, Method};
use crate::catalog::{AuthSpec, Provider, template};
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

/// `values`, refusing any that holds CR, LF or NUL (a hand-edited connections.toml): each
/// may end up in a URL, a header or a file name.
pub(crate) fn checked_values(
    provider: &Provider,
    conn: &Connection,
) -> Result<BTreeMap<String, String>> {
    let values = values(provider, conn);
    for (k, v) in &values {
        crate::core::text::check_single_line(&format!("the connection's value '{k}'"), v)
            .map_err(anyhow::Error::msg)?;
    }
    Ok(values)
}

/// The provider's API base URL for connection `name`, templates filled.
pub(crate) fn base_url(name: &str, provider: &Provider, conn: &Connection) -> Result<String> {
    template::expand(&provider.api.base_url, &checked_values(provider, conn)?).map_err(|n| {
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
    let values = checked_values(provider, conn)?;
    method(provider, conn)?.authenticator(&values, conn.username.as_deref(), secrets)
}

/// Sandbox runs must not touch production data.
pub(crate) fn is_sandbox(conn: &Connection) -> bool {
    conn.env == Environment::Sandbox
}

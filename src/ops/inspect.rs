//! Reading what is saved: every connection with its last check (`list`, from metadata alone, no
//! secret access) and one connection with its secrets masked (`show`).

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use super::{Base, Ctx, find};
use crate::catalog::closest;
use crate::core::error::usage;
use crate::core::vocab::{AuthMethod, Environment, Identity};
use crate::store::metadata::{Connection, LastCheck};

/// One connection in `conn list`.
#[derive(Debug, Serialize)]
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) provider: String,
    pub(crate) auth: AuthMethod,
    pub(crate) env: Environment,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) identity: Option<Identity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_check: Option<LastCheck>,
    /// The team store of a team connection (`acme`); none for a local one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) team: Option<String>,
}

/// Every connection, local and of every team store, optionally only those of one provider or
/// environment tag; and a warning for each team store that could not be read. A provider no
/// connection uses and the catalog doesn't know is a usage error with the close ids, so a typo
/// is not mistaken for "no connections".
pub(crate) fn list(
    ctx: &mut Ctx<'_>,
    provider: Option<&str>,
    env: Option<Environment>,
) -> Result<(Vec<Row>, Vec<String>)> {
    let (listed, failed) = ctx.list_all()?;
    let warnings = failed
        .into_iter()
        .map(|(team, e)| format!("team store {team} not listed: {e:#}"))
        .collect();
    if let Some(p) = provider
        && !listed.values().any(|c| c.provider == p)
    {
        let catalog = ctx.catalog();
        if let Err(e) = catalog.get(p) {
            let used = listed.values().map(|c| c.provider.as_str());
            let close = closest(
                p,
                used.chain(catalog.entries().map(|e| e.provider.id.as_str())),
            );
            return Err(usage(if close.is_empty() {
                format!("--provider {p}: {e:#}")
            } else {
                let mut close = close;
                close.dedup();
                format!(
                    "--provider {p}: unknown provider {p:?}; did you mean {}? (see 'conn providers list')",
                    close.join(" or ")
                )
            }));
        }
    }
    let rows = listed
        .into_iter()
        .filter(|(_, c)| provider.is_none_or(|p| c.provider == p))
        .filter(|(_, c)| env.is_none_or(|e| c.env == e))
        .map(|(name, c)| Row {
            name,
            provider: c.provider,
            auth: c.auth,
            env: c.env,
            identity: c.identity,
            last_check: c.last_check,
            team: c.team,
        })
        .collect();
    Ok((rows, warnings))
}

/// One connection as `conn show` reports it.
#[derive(Debug, Serialize)]
pub(crate) struct Shown {
    pub(crate) name: String,
    #[serde(flatten)]
    pub(crate) connection: Connection,
    pub(crate) secret_store: String,
    /// Field name to a masked hint; never the value.
    pub(crate) secrets: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) secrets_error: Option<String>,
}

/// Connection `name`, its secrets masked.
pub(crate) fn show(ctx: &Base, name: &str) -> Result<Shown> {
    let meta = ctx.view(&[name])?;
    let conn = find(&meta, name)?.clone();
    let store = ctx.secrets_of(&conn)?;
    let (secrets, secrets_error) = match store.get(&conn.id) {
        Ok(Some(bundle)) => (
            bundle
                .fields()
                // The expiry is kept with the tokens but is no secret; `oauth` shows it.
                .filter(|(k, _)| k.as_str() != crate::auth::oauth2::EXPIRES_AT)
                .map(|(k, v)| (k.clone(), v.masked()))
                .collect(),
            None,
        ),
        Ok(None) => (
            BTreeMap::new(),
            Some("no secrets found in the store".to_string()),
        ),
        Err(e) => (BTreeMap::new(), Some(format!("{e:#}"))),
    };
    Ok(Shown {
        name: name.into(),
        secret_store: store.location(),
        connection: conn,
        secrets,
        secrets_error,
    })
}

//! `conn show NAME`: one connection's settings, with its secrets masked.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use super::Ctx;
use crate::store::metadata::Connection;

#[derive(Debug, Serialize)]
pub struct Shown {
    pub name: String,
    #[serde(flatten)]
    pub connection: Connection,
    pub secret_store: String,
    /// Field name to a masked hint; never the value.
    pub secrets: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets_error: Option<String>,
}

pub fn run(ctx: &mut Ctx<'_>, name: &str) -> Result<Shown> {
    let meta = ctx.view(&[name])?;
    let conn = super::find(&meta, name)?.clone();
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

//! `conn list`: every connection with its last check, from metadata alone (no secret access).

use anyhow::Result;
use serde::Serialize;

use super::Ctx;
use crate::store::metadata::{Identity, LastCheck};

#[derive(Debug, Serialize)]
pub struct Row {
    pub name: String,
    pub provider: String,
    pub auth: String,
    pub env: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_check: Option<LastCheck>,
    /// The team store of a team connection (`acme`); none for a local one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

pub fn run(ctx: &mut Ctx<'_>, provider: Option<&str>, env: Option<&str>) -> Result<Vec<Row>> {
    let (meta, failed) = ctx.view_all()?;
    for (team, e) in failed {
        ctx.ui
            .notice(&format!("warning: team store {team} not listed: {e:#}"));
    }
    Ok(meta
        .connections
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
            team: crate::store::vault::team::team_of_store(&c.store).map(str::to_string),
        })
        .collect())
}

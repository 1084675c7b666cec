//! Team stores (`conn store add|list|rm`): a team's connections on OpenBao / HashiCorp Vault,
//! saved by name in connections.toml (address, namespace, KV v2 mount, prefix; no token).

use anyhow::{Result, bail};
use serde::Serialize;

use super::Base;
use crate::core::error::usage;
use crate::store::metadata::validate_name;
use crate::store::vault::{Team, TeamSettings, config};

/// A team store as `conn store list` shows it.
#[derive(Debug, Serialize)]
pub(crate) struct StoreRow {
    pub(crate) team: String,
    #[serde(flatten)]
    pub(crate) settings: TeamSettings,
}

/// What `conn store add` saved, after checking the server.
#[derive(Debug, Serialize)]
pub(crate) struct Added {
    pub(crate) team: String,
    pub(crate) address: String,
    /// `secret/ is KV v2`.
    pub(crate) mount: String,
    /// Where the team's entries live in the mount: `conn/acme`.
    pub(crate) root: String,
    pub(crate) replaced: bool,
}

/// Saves team store `team` once the server answers and the mount is KV version 2 (version 1
/// is refused: it ignores check-and-set).
pub(crate) fn add(ctx: &Base, team: &str, settings: TeamSettings) -> Result<Added> {
    validate_name(team).map_err(|e| usage(e.replace("connection name", "team name")))?;
    config::check_address(&settings.address).map_err(|e| usage(format!("{e:#}")))?;
    let t = Team::open(team, &settings, &ctx.env, &ctx.paths)?;
    let mount = t.check_mount()?;
    let replaced = ctx
        .metadata()
        .update(|m| Ok(m.teams.insert(team.to_string(), settings.clone()).is_some()))?;
    Ok(Added {
        team: team.to_string(),
        address: t.client.address.clone(),
        mount,
        root: t.root.clone(),
        replaced,
    })
}

/// The saved team stores.
pub(crate) fn list(ctx: &Base) -> Result<Vec<StoreRow>> {
    Ok(ctx
        .metadata()
        .load()?
        .teams
        .into_iter()
        .map(|(team, settings)| StoreRow { team, settings })
        .collect())
}

/// Forgets a team store's settings; its connections stay on the server.
pub(crate) fn remove(ctx: &Base, team: &str) -> Result<()> {
    let removed = ctx
        .metadata()
        .update(|m| Ok(m.teams.remove(team).is_some()))?;
    if !removed {
        bail!("no team store named {team:?} (see 'conn store list')");
    }
    Ok(())
}

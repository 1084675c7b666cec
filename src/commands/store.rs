//! `conn store add|list`: team stores on Vault/OpenBao, saved in connections.toml.

use anyhow::{Result, bail};
use serde::Serialize;

use super::Ctx;
use crate::core::error::usage;
use crate::store::metadata::validate_name;
use crate::store::vault::{Team, TeamSettings, config};

#[derive(Debug, Serialize)]
pub struct StoreRow {
    pub team: String,
    #[serde(flatten)]
    pub settings: TeamSettings,
}

/// Saves team store `team` after checking that the server answers and the mount is KV v2
/// (a KV v1 mount is refused: it ignores check-and-set).
pub fn add(ctx: &mut Ctx<'_>, team: &str, settings: TeamSettings) -> Result<String> {
    validate_name(team).map_err(|e| usage(e.replace("connection name", "team name")))?;
    config::check_address(&settings.address).map_err(|e| usage(format!("{e:#}")))?;
    let t = Team::open(team, &settings, &ctx.env, &ctx.paths)?;
    let mount = t.check_mount()?;
    let existed = ctx.metadata().update(|m| {
        let old = m.teams.insert(team.to_string(), settings.clone());
        Ok(old.is_some())
    })?;
    Ok(format!(
        "{} team store '{team}': {} ({mount}, entries under {}/{}/); connections named {team}/NAME live there.",
        if existed { "Updated" } else { "Added" },
        t.client.address,
        settings.mount,
        t.root
    ))
}

pub fn list(ctx: &mut Ctx<'_>) -> Result<Vec<StoreRow>> {
    let meta = ctx.metadata().load()?;
    Ok(meta
        .teams
        .into_iter()
        .map(|(team, settings)| StoreRow { team, settings })
        .collect())
}

/// Removes a team store's settings (the connections stay in Vault).
pub fn remove(ctx: &mut Ctx<'_>, team: &str) -> Result<()> {
    let removed = ctx
        .metadata()
        .update(|m| Ok(m.teams.remove(team).is_some()))?;
    if !removed {
        bail!("no team store named {team:?} (see 'conn store list')");
    }
    Ok(())
}

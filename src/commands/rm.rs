//! `conn rm NAME`: forget a connection and delete its secrets.

use anyhow::Result;
use serde::Serialize;

use super::Ctx;
use crate::core::error::usage;
use crate::core::ui::Question;

#[derive(Debug, Serialize)]
pub struct Removed {
    pub name: String,
    /// False when the user said no.
    pub removed: bool,
    /// Whether the OAuth grant was revoked at the provider.
    pub revoked: bool,
    pub warnings: Vec<String>,
}

pub fn run(ctx: &mut Ctx<'_>, name: &str, yes: bool, keep_remote: bool) -> Result<Removed> {
    let meta = ctx.view(&[name])?;
    let conn = super::find(&meta, name)?.clone();
    if !yes {
        if !ctx.ui.interactive() {
            return Err(usage(format!(
                "removing {name:?} needs confirmation; pass --yes when there is no terminal"
            )));
        }
        let prompt = format!(
            "Remove connection {name:?} ({}) and its secrets?",
            conn.provider
        );
        if !ctx.ui.confirm(&Question::new(&prompt, "--yes"), false)? {
            return Ok(Removed {
                name: name.into(),
                removed: false,
                revoked: false,
                warnings: vec![],
            });
        }
    }
    if let Some((team, short)) = crate::store::vault::team::split_name(name) {
        return remove_from_team(ctx, team, short, name, &conn, keep_remote);
    }
    // Metadata first: a connection listed without its secret would look broken, while a
    // leftover secret is only a warning.
    let store = ctx.secrets_of(&conn)?;
    let mut warnings = Vec::new();
    let mut revoked = false;
    // Revoke first, while the tokens are still at hand; a failure is only a warning.
    if !keep_remote {
        let catalog = ctx.catalog();
        if let (Ok(provider), Ok(Some(bundle))) = (catalog.get(&conn.provider), store.get(&conn.id))
        {
            match super::oauth::revoke(ctx, &conn, provider, &bundle) {
                Ok(Some(())) => revoked = true,
                Ok(None) => {}
                Err(e) => warnings.push(format!(
                    "could not revoke the grant at the provider ({e:#}); revoke it there by hand if it matters"
                )),
            }
        }
    }
    let deleted = crate::core::interrupt::critical(|| -> Result<Result<bool>> {
        ctx.metadata().update(|meta| {
            let current = super::find(meta, name)?;
            if current.id != conn.id {
                anyhow::bail!("{name:?} was replaced by another process meanwhile; not removed");
            }
            meta.connections.remove(name);
            Ok(())
        })?;
        Ok(store.delete(&conn.id))
    })?;
    if let Err(e) = deleted {
        warnings.push(format!(
            "the connection is removed, but its secrets could not be deleted from the {} ({e:#}); delete the item for id {} by hand",
            store.location(),
            conn.id
        ));
    }
    Ok(Removed {
        name: name.into(),
        removed: true,
        revoked,
        warnings,
    })
}

/// A team connection: the record and all versions of its secrets are deleted first (which
/// needs the team's admin policy, and fails cleanly otherwise), then the grant is revoked with
/// the tokens read before.
fn remove_from_team(
    ctx: &mut Ctx<'_>,
    team: &str,
    short: &str,
    name: &str,
    conn: &crate::store::metadata::Connection,
    keep_remote: bool,
) -> Result<Removed> {
    let t = ctx.team(team)?;
    let bundle = t.clone().secrets().get(&conn.id).ok().flatten();
    t.remove(short, &conn.id)?;
    let mut warnings = Vec::new();
    let mut revoked = false;
    if !keep_remote {
        let catalog = ctx.catalog();
        if let (Ok(provider), Some(bundle)) = (catalog.get(&conn.provider), bundle) {
            match super::oauth::revoke(ctx, conn, provider, &bundle) {
                Ok(Some(())) => revoked = true,
                Ok(None) => {}
                Err(e) => warnings.push(format!(
                    "could not revoke the grant at the provider ({e:#}); revoke it there by hand if it matters"
                )),
            }
        }
    }
    Ok(Removed {
        name: name.into(),
        removed: true,
        revoked,
        warnings,
    })
}

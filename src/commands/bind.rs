//! `conn bind ROLE NAME [--env sandbox]`: which of this user's connections plays a role of the
//! project's recipe, per environment; and resolving every role for a run (bindings, then
//! `CONN_BIND_<ROLE>`, then `--bind ROLE=NAME`).

use anyhow::{Result, bail};
use serde::Serialize;

use super::Ctx;
use super::access::is_sandbox;
use crate::core::error::usage;
use crate::recipe::{self, Recipe};
use crate::store::bindings::BindingsStore;
use crate::store::metadata::Metadata;

pub const PRODUCTION: &str = "production";
pub const SANDBOX: &str = "sandbox";

/// What `conn bind` did.
#[derive(Debug, Serialize)]
pub struct Bound {
    pub recipe: String,
    pub role: String,
    pub env: String,
    pub connection: String,
    /// The connection the role had before, if another.
    pub replaced: Option<String>,
}

pub fn bind(ctx: &mut Ctx<'_>, role: &str, name: &str, env: &str) -> Result<Bound> {
    let catalog = ctx.catalog();
    let recipe = recipe::discover(&catalog)?;
    let meta = ctx.view(&[name])?;
    check_role(&recipe, role)?;
    check_fit(&recipe, &meta, role, name, env)?;
    let key = recipe.path.display().to_string();
    let replaced = BindingsStore::new(&ctx.paths).update(|b| {
        let roles = b
            .projects
            .entry(key.clone())
            .or_default()
            .entry(env.to_string())
            .or_default();
        Ok(roles
            .insert(role.to_string(), name.to_string())
            .filter(|old| old != name))
    })?;
    Ok(Bound {
        recipe: key,
        role: role.into(),
        env: env.into(),
        connection: name.into(),
        replaced,
    })
}

/// One role of the recipe and its bindings, for `conn bind` with no arguments.
#[derive(Debug, Serialize)]
pub struct RoleRow {
    pub role: String,
    pub provider: String,
    pub secondary: bool,
    pub production: Option<String>,
    pub sandbox: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Listing {
    pub recipe: String,
    pub roles: Vec<RoleRow>,
}

pub fn list(ctx: &mut Ctx<'_>) -> Result<Listing> {
    let catalog = ctx.catalog();
    let recipe = recipe::discover(&catalog)?;
    let b = BindingsStore::new(&ctx.paths).load()?;
    let key = recipe.path.display().to_string();
    let get = |env: &str, role: &str| b.of(&key, env).and_then(|m| m.get(role)).cloned();
    Ok(Listing {
        roles: recipe
            .roles
            .iter()
            .map(|(name, r)| RoleRow {
                role: name.clone(),
                provider: r.provider.clone(),
                secondary: r.secondary,
                production: get(PRODUCTION, name),
                sandbox: get(SANDBOX, name),
            })
            .collect(),
        recipe: key,
    })
}

/// A role played by a connection in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cast {
    pub role: String,
    pub connection: String,
}

/// Every role of the recipe resolved to a connection for a run in `env`: the binding, unless
/// `CONN_BIND_<ROLE>` or `--bind ROLE=NAME` (`overrides`, strongest) say otherwise. Each
/// connection is checked for the role's provider, and a sandbox run refuses production
/// connections. All problems are reported at once.
pub fn resolve(
    ctx: &mut Ctx<'_>,
    env: &str,
    overrides: &[(String, String)],
) -> Result<(Recipe, Vec<Cast>)> {
    let catalog = ctx.catalog();
    let recipe = recipe::discover(&catalog)?;
    for (role, _) in overrides {
        check_role(&recipe, role)?;
    }
    let b = BindingsStore::new(&ctx.paths).load()?;
    let bound = b.of(&recipe.path.display().to_string(), env);
    let chosen: Vec<(String, Option<String>)> = recipe
        .roles
        .keys()
        .map(|role| {
            let var = format!("CONN_BIND_{}", recipe::env_prefix(role));
            let name = overrides
                .iter()
                .rev()
                .find(|(r, _)| r == role)
                .map(|(_, n)| n.clone())
                .or_else(|| ctx.env.get(&var).map(str::to_string))
                .or_else(|| bound.and_then(|m| m.get(role)).cloned());
            (role.clone(), name)
        })
        .collect();
    // Team connections (team/name) are read from their team stores.
    let names: Vec<&str> = chosen.iter().filter_map(|(_, n)| n.as_deref()).collect();
    let meta = ctx.view(&names)?;
    let mut cast = Vec::new();
    let mut problems = Vec::new();
    for (role, name) in chosen {
        let role = &role;
        let Some(name) = name else {
            problems.push(unbound(&recipe, &meta, role, env));
            continue;
        };
        match check_fit(&recipe, &meta, role, &name, env) {
            Ok(()) => cast.push(Cast {
                role: role.clone(),
                connection: name,
            }),
            Err(e) => problems.push(format!("{e:#}")),
        }
    }
    if !problems.is_empty() {
        bail!(
            "{} ({}):\n  {}",
            recipe.path.display(),
            env,
            problems.join("\n  ")
        );
    }
    Ok((recipe, cast))
}

fn check_role(recipe: &Recipe, role: &str) -> Result<()> {
    if recipe.roles.contains_key(role) {
        return Ok(());
    }
    let close = recipe::close_roles(recipe, role);
    let known: Vec<&str> = recipe.roles.keys().map(String::as_str).collect();
    Err(usage(if close.is_empty() {
        format!(
            "{} has no role {role:?}; its roles: {}",
            recipe.path.display(),
            known.join(", ")
        )
    } else {
        format!(
            "{} has no role {role:?}; did you mean {}?",
            recipe.path.display(),
            close.join(" or ")
        )
    }))
}

/// The connection exists, is of the role's provider, and may be used in `env`.
fn check_fit(recipe: &Recipe, meta: &Metadata, role: &str, name: &str, env: &str) -> Result<()> {
    let want = &recipe.roles[role].provider;
    let conn = super::find(meta, name).map_err(|e| anyhow::anyhow!("role {role}: {e:#}"))?;
    if &conn.provider != want {
        bail!(
            "role {role} needs a {want} connection, and {name} is a {} connection",
            conn.provider
        );
    }
    if env == SANDBOX && !is_sandbox(conn) {
        bail!(
            "role {role}: {name} is a production connection, and this is a sandbox run; bind a sandbox connection with 'conn bind {role} NAME --env sandbox' (make one with 'conn new --env sandbox')"
        );
    }
    Ok(())
}

fn unbound(recipe: &Recipe, meta: &Metadata, role: &str, env: &str) -> String {
    let want = &recipe.roles[role].provider;
    let flag = if env == SANDBOX { " --env sandbox" } else { "" };
    let candidates: Vec<&str> = meta
        .connections
        .iter()
        .filter(|(_, c)| &c.provider == want && (env != SANDBOX || is_sandbox(c)))
        .map(|(n, _)| n.as_str())
        .collect();
    let which = match candidates.as_slice() {
        [] => format!(
            " (there is no {want} connection yet: make one with 'conn new --provider {want}{flag}')"
        ),
        [one] => format!(" ({want} connection: {one})"),
        many => format!(" ({want} connections: {})", many.join(", ")),
    };
    let name = match candidates.as_slice() {
        [one] => one.to_string(),
        _ => "NAME".to_string(),
    };
    format!("role {role} is not bound for {env}: run 'conn bind {role} {name}{flag}'{which}")
}

//! A project's recipe at work: which of this user's connections plays each role, per
//! environment (`conn bind`), and resolving every role for a run (bindings, then
//! `CONN_BIND_<ROLE>`, then `--bind ROLE=NAME`).

use anyhow::{Result, bail};
use serde::Serialize;

use super::resolve::is_sandbox;
use super::{Ctx, find};
use crate::core::error::usage;
use crate::core::vocab::Environment;
use crate::recipe::{self, Recipe};
use crate::store::bindings::BindingsStore;
use crate::store::metadata::Metadata;

/// What `conn bind` did.
#[derive(Debug, Serialize)]
pub(crate) struct Bound {
    pub(crate) recipe: String,
    pub(crate) role: String,
    pub(crate) env: Environment,
    pub(crate) connection: String,
    /// The connection the role had before, if another.
    pub(crate) replaced: Option<String>,
}

pub(crate) fn bind(ctx: &mut Ctx<'_>, role: &str, name: &str, env: Environment) -> Result<Bound> {
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
            .entry(env.as_str().to_string())
            .or_default();
        Ok(roles
            .insert(role.to_string(), name.to_string())
            .filter(|old| old != name))
    })?;
    Ok(Bound {
        recipe: key,
        role: role.into(),
        env,
        connection: name.into(),
        replaced,
    })
}

/// One role of the recipe and its bindings, for `conn bind` with no arguments.
#[derive(Debug, Serialize)]
pub(crate) struct RoleRow {
    pub(crate) role: String,
    pub(crate) provider: String,
    pub(crate) secondary: bool,
    pub(crate) production: Option<String>,
    pub(crate) sandbox: Option<String>,
    /// Bound connections above that no longer exist (removed or renamed elsewhere).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) missing: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Listing {
    pub(crate) recipe: String,
    pub(crate) roles: Vec<RoleRow>,
}

pub(crate) fn list(ctx: &mut Ctx<'_>) -> Result<Listing> {
    let catalog = ctx.catalog();
    let recipe = recipe::discover(&catalog)?;
    let b = BindingsStore::new(&ctx.paths).load()?;
    let meta = ctx.metadata().load()?;
    let key = recipe.path.display().to_string();
    let get = |env: &str, role: &str| b.of(&key, env).and_then(|m| m.get(role)).cloned();
    Ok(Listing {
        roles: recipe
            .roles
            .iter()
            .map(|(name, r)| {
                let production = get(Environment::Production.as_str(), name);
                let sandbox = get(Environment::Sandbox.as_str(), name);
                let mut missing: Vec<String> = [&production, &sandbox]
                    .into_iter()
                    .flatten()
                    .filter(|n| !meta.connections.contains_key(*n))
                    .cloned()
                    .collect();
                missing.dedup();
                RoleRow {
                    role: name.clone(),
                    provider: r.provider.clone(),
                    secondary: r.secondary,
                    production,
                    sandbox,
                    missing,
                }
            })
            .collect(),
        recipe: key,
    })
}

/// A role played by a connection in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cast {
    pub(crate) role: String,
    pub(crate) connection: String,
}

/// Every role of the recipe resolved to a connection for a run in `env`: the binding, unless
/// `CONN_BIND_<ROLE>` or `--bind ROLE=NAME` (`overrides`, strongest) say otherwise. Each
/// connection is checked for the role's provider, and a sandbox run refuses production
/// connections. All problems are reported at once.
pub(crate) fn resolve(
    ctx: &mut Ctx<'_>,
    env: Environment,
    overrides: &[(String, String)],
) -> Result<(Recipe, Vec<Cast>)> {
    let catalog = ctx.catalog();
    let recipe = recipe::discover(&catalog)?;
    for (role, _) in overrides {
        check_role(&recipe, role)?;
    }
    let b = BindingsStore::new(&ctx.paths).load()?;
    let bound = b.of(&recipe.path.display().to_string(), env.as_str());
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
    // Every local connection: an unbound role's error lists the candidates.
    let names: Vec<&str> = chosen.iter().filter_map(|(_, n)| n.as_deref()).collect();
    let meta = ctx.view_whole(&names)?;
    let mut cast = Vec::new();
    let mut problems = Vec::new();
    for (role, name) in chosen {
        let role = &role;
        let Some(name) = name else {
            problems.push(unbound(&recipe, &meta, role, env));
            continue;
        };
        if !meta.connections.contains_key(&name) && bound.and_then(|m| m.get(role)) == Some(&name) {
            let flag = if env == Environment::Sandbox {
                " --env sandbox"
            } else {
                ""
            };
            problems.push(format!(
                "role {role} is bound to {name}, which no longer exists (removed or renamed): bind another with 'conn bind {role} NAME{flag}'"
            ));
            continue;
        }
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
fn check_fit(
    recipe: &Recipe,
    meta: &Metadata,
    role: &str,
    name: &str,
    env: Environment,
) -> Result<()> {
    let want = &recipe.roles[role].provider;
    let conn = find(meta, name).map_err(|e| anyhow::anyhow!("role {role}: {e:#}"))?;
    if &conn.provider != want {
        bail!(
            "role {role} needs a {want} connection, and {name} is a {} connection",
            conn.provider
        );
    }
    if env == Environment::Sandbox && !is_sandbox(conn) {
        bail!(
            "role {role}: {name} is a production connection, and this is a sandbox run; bind a sandbox connection with 'conn bind {role} NAME --env sandbox' (make one with 'conn new --env sandbox')"
        );
    }
    Ok(())
}

fn unbound(recipe: &Recipe, meta: &Metadata, role: &str, env: Environment) -> String {
    let want = &recipe.roles[role].provider;
    let flag = if env == Environment::Sandbox {
        " --env sandbox"
    } else {
        ""
    };
    let candidates: Vec<&str> = meta
        .connections
        .iter()
        .filter(|(_, c)| &c.provider == want && (env != Environment::Sandbox || is_sandbox(c)))
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

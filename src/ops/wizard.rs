//! The questions `conn new` asks, each with the flag that answers it: the app, the auth
//! method, the environment, the instance inputs, and a name. With no terminal a missing answer
//! is a usage error naming that flag.

use std::collections::BTreeMap;

use anyhow::Result;

use super::Ctx;
use crate::auth;
use crate::catalog::{AuthSpec, Catalog, Input, Provider};
use crate::core::error::usage;
use crate::core::ui::Question;
use crate::core::vocab::{AuthMethod, Environment};
use crate::store::metadata::{Connection, validate_name};

pub(crate) fn pick_provider<'c>(
    ctx: &mut Ctx<'_>,
    catalog: &'c Catalog,
    given: Option<&str>,
) -> Result<&'c Provider> {
    if let Some(id) = given {
        return catalog.get(id).map_err(|e| usage(format!("{e:#}")));
    }
    let mut providers: Vec<&Provider> = catalog.entries().map(|e| &e.provider).collect();
    providers.sort_by_key(|p| p.display_name.to_lowercase());
    // Categories are part of each line, so typing "crm" or "support" filters by them.
    let items: Vec<String> = providers
        .iter()
        .map(|p| match p.categories.is_empty() {
            true => format!("{} ({})", p.display_name, p.id),
            false => format!(
                "{} ({})  · {}",
                p.display_name,
                p.id,
                p.categories.join(", ")
            ),
        })
        .collect();
    let i = ctx.ui.select(
        &Question::new(
            "App (type to filter) by name or category, e.g. crm",
            "--provider ID",
        ),
        &items,
        0,
    )?;
    Ok(providers[i])
}

pub(crate) fn pick_auth<'p>(
    ctx: &mut Ctx<'_>,
    provider: &'p Provider,
    given: Option<AuthMethod>,
) -> Result<&'p AuthSpec> {
    if let Some(m) = given {
        return provider.auth(m).ok_or_else(|| {
            usage(format!(
                "{} does not support auth method {:?}; it supports: {}",
                provider.display_name,
                m.as_str(),
                provider.methods().join(", ")
            ))
        });
    }
    if provider.auth.len() == 1 {
        return Ok(&provider.auth[0]);
    }
    let items: Vec<String> = provider
        .auth
        .iter()
        .map(|a| format!("{} [{}]", a.label(), a.method()))
        .collect();
    let flag = format!("--auth {}", provider.methods().join("|"));
    let i = ctx
        .ui
        .select(&Question::new("How do you sign in?", &flag), &items, 0)?;
    Ok(&provider.auth[i])
}

/// The environment: `--env`, else production without a terminal (or with `--yes`), else asked.
pub(crate) fn pick_env(
    ctx: &mut Ctx<'_>,
    given: Option<Environment>,
    yes: bool,
) -> Result<Environment> {
    if let Some(e) = given {
        return Ok(e);
    }
    if yes || !ctx.ui.interactive() {
        return Ok(Environment::Production);
    }
    let items: Vec<String> = Environment::ALL.iter().map(|e| e.to_string()).collect();
    let i = ctx.ui.select(
        &Question::new("Environment", "--env production|sandbox"),
        &items,
        0,
    )?;
    Ok(Environment::ALL[i])
}

/// The inputs that matter for `spec`: all of them except those only another method uses.
fn relevant_inputs<'p>(provider: &'p Provider, spec: &AuthSpec) -> Vec<&'p Input> {
    let mut other_only: Vec<String> = provider
        .auth
        .iter()
        .filter(|a| a.method() != spec.method())
        .flat_map(|a| auth::method_of(a).own_inputs())
        .collect();
    let mine = auth::method_of(spec).own_inputs();
    other_only.retain(|n| !mine.contains(n));
    provider
        .inputs
        .iter()
        .filter(|i| !other_only.contains(&i.name))
        .collect()
}

pub(crate) fn collect_inputs(
    ctx: &mut Ctx<'_>,
    provider: &Provider,
    spec: &AuthSpec,
    sets: &[(String, String)],
    yes: bool,
) -> Result<BTreeMap<String, String>> {
    for (k, _) in sets {
        if !provider.inputs.iter().any(|i| &i.name == k) {
            let known: Vec<&str> = provider.inputs.iter().map(|i| i.name.as_str()).collect();
            return Err(usage(if known.is_empty() {
                format!("--set {k}=...: {} takes no inputs", provider.display_name)
            } else {
                format!(
                    "--set {k}=...: {} has no input {k:?}; its inputs are: {}",
                    provider.display_name,
                    known.join(", ")
                )
            }));
        }
    }
    let mut values = BTreeMap::new();
    for input in relevant_inputs(provider, spec) {
        match input.capture() {
            None => {}
            // A site picked after sign-in may be named up front; it is checked then.
            Some(crate::catalog::Capture::Pick) => continue,
            Some(_) => {
                if sets.iter().any(|(k, _)| k == &input.name) {
                    return Err(usage(format!(
                        "--set {}: {} is taken from the sign-in ({}), not given",
                        input.name,
                        input.label,
                        input.capture.as_deref().unwrap_or_default()
                    )));
                }
                continue;
            }
        }
        let given = sets
            .iter()
            .rev()
            .find(|(k, _)| k == &input.name)
            .map(|(_, v)| v.clone());
        let value = match given {
            Some(v) => {
                input
                    .validate(&v)
                    .map_err(|e| usage(format!("--set {}: {e}", input.name)))?;
                v
            }
            None if (yes || !ctx.ui.interactive())
                && (input.default.is_some() || input.optional) =>
            {
                input.default.clone().unwrap_or_default()
            }
            None => {
                let flag = format!("--set {}=VALUE", input.name);
                ctx.ui.input(
                    &Question::new(&input.label, &flag)
                        .default(input.default.as_deref())
                        .help(input.help.as_deref()),
                    &|v: &str| input.validate(v),
                )?
            }
        };
        values.insert(input.name.clone(), value);
    }
    Ok(values)
}

pub(crate) fn ask_name(
    ctx: &mut Ctx<'_>,
    provider: &Provider,
    inputs: &BTreeMap<String, String>,
    existing: &BTreeMap<String, Connection>,
) -> Result<String> {
    let first = provider.inputs.iter().find(|i| i.capture.is_none());
    let base = match first.and_then(|i| inputs.get(&i.name)) {
        Some(v) if validate_name(&format!("{}-{v}", provider.id)).is_ok() && v.len() <= 24 => {
            format!("{}-{v}", provider.id)
        }
        _ => provider.id.clone(),
    };
    let mut suggestion = base.clone();
    let mut n = 2;
    while existing.contains_key(&suggestion) {
        suggestion = format!("{base}-{n}");
        n += 1;
    }
    ctx.ui.input(
        &Question::new("Connection name", "NAME (the first argument)").default(Some(&suggestion)),
        &|v: &str| {
            validate_name(v)?;
            if existing.contains_key(v) {
                return Err(format!("a connection named {v:?} already exists"));
            }
            Ok(())
        },
    )
}

//! The environment that hands a command its connections' credentials for `conn exec`
//! (refreshed first), by prefix: `<PREFIX>_AUTHORIZATION`, `_TOKEN` or `_USERNAME`
//! / `_PASSWORD` / `_API_KEY`, `_BASE_URL` and the instance inputs. With no names, the
//! project's recipe says which connections, by role. Running the command is `cli`'s job.

use std::collections::BTreeMap;
use std::ffi::OsString;

use anyhow::Result;

use super::resolve::is_sandbox;
use super::{Base, Ctx, credentials, find, recipe};
use crate::core::error::usage;
use crate::core::secret::Secret;
use crate::core::vocab::Environment;
use crate::recipe::env_prefix;

#[derive(Debug)]
pub(crate) struct ExecOptions {
    /// `NAME` or `NAME=PREFIX`; none means "use the recipe".
    pub(crate) targets: Vec<String>,
    /// `--bind ROLE=NAME`, recipe runs only.
    pub(crate) binds: Vec<String>,
    /// Sandbox runs use sandbox bindings and refuse production connections.
    pub(crate) env: Environment,
}

/// Variables for the command, values never shown; `names` says what was exported, for `-v`.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    pub(crate) vars: Vec<(String, Secret<String>)>,
    /// `PREFIX ← connection` for each connection, for `-v`.
    pub(crate) sources: Vec<(String, String)>,
}

pub(crate) fn prepare(ctx: &mut Ctx<'_>, opts: &ExecOptions) -> Result<Prepared> {
    let pairs = if opts.targets.is_empty() {
        let overrides = opts
            .binds
            .iter()
            .map(|b| match b.split_once('=') {
                Some((r, n)) if !r.is_empty() && !n.is_empty() => {
                    Ok((r.to_string(), n.to_string()))
                }
                _ => Err(usage(format!("--bind {b}: expected ROLE=NAME"))),
            })
            .collect::<Result<Vec<_>>>()?;
        let (_, cast) = recipe::resolve(ctx, opts.env, &overrides)?;
        cast.into_iter()
            .map(|c| (env_prefix(&c.role), c.connection))
            .collect()
    } else {
        if !opts.binds.is_empty() {
            return Err(usage(
                "--bind swaps a role of the project's recipe; with connection names given, name the one you want instead",
            ));
        }
        opts.targets
            .iter()
            .map(|t| parse_target(t))
            .collect::<Result<Vec<_>>>()?
    };
    let mut seen = BTreeMap::new();
    for (prefix, name) in &pairs {
        if let Some(other) = seen.insert(prefix.clone(), name.clone()) {
            return Err(usage(format!(
                "{other} and {name} would both export {prefix}_*; give one another prefix: {name}=OTHER_PREFIX"
            )));
        }
    }
    let names: Vec<&str> = pairs.iter().map(|(_, n)| n.as_str()).collect();
    // One local connection (the usual case) is read without parsing the others.
    let meta = ctx.view(&names)?;
    let ids: Vec<&str> = pairs
        .iter()
        .filter_map(|(_, n)| meta.connections.get(n).map(|c| c.provider.as_str()))
        .collect();
    let catalog = ctx.catalog_for(&ids);
    let mut out = Prepared::default();
    for (prefix, name) in pairs {
        let conn = find(&meta, &name)?;
        if opts.env == Environment::Sandbox && !is_sandbox(conn) {
            anyhow::bail!(
                "{name} is a production connection, and this is a sandbox run (--env sandbox)"
            );
        }
        let mut ready = credentials::ready(ctx, &catalog, &name, conn)?;
        ready.verify(ctx)?;
        let mut vars: BTreeMap<String, Secret<String>> = BTreeMap::new();
        // Inputs first, so a variable of conn's own is never shadowed by an input's name.
        for (k, v) in &ready.conn.inputs {
            vars.insert(
                format!("{prefix}_{}", env_prefix(k)),
                Secret::new(v.clone()),
            );
        }
        vars.insert(
            format!("{prefix}_BASE_URL"),
            Secret::new(ready.base_url.clone()),
        );
        for (suffix, value) in ready.auth.env_vars() {
            // A script puts these in headers (`curl -H "$X_AUTH_HEADER"`): a line break would
            // inject another header.
            let var = format!("{prefix}_{suffix}");
            crate::core::text::check_single_line(&format!("{var} (from {name})"), value.expose())
                .map_err(anyhow::Error::msg)?;
            vars.insert(var, value);
        }
        out.vars.extend(vars);
        out.sources.push((prefix, name));
    }
    Ok(out)
}

/// `NAME` or `NAME=PREFIX` to (prefix, name).
/// `conn exec NAME... COMMAND [ARGS]` written without `--` (the aws-vault habit): the
/// connections are the leading words that name one (`NAME` or `NAME=PREFIX`), and the command
/// starts at the first word that does not. With no connection before it (a recipe run) or no
/// word after them, which words are the command is a guess, so that is a usage error that
/// says to add `--`.
pub(crate) fn split_command(ctx: &Base, words: &[String]) -> Result<(Vec<String>, Vec<OsString>)> {
    let meta = ctx.metadata().load()?;
    let names = words
        .iter()
        .take_while(|w| {
            let name = w.split_once('=').map_or(w.as_str(), |(n, _)| n);
            meta.connections.contains_key(name)
        })
        .count();
    if names == words.len() {
        return Err(usage(format!(
            "no command given: conn exec {} -- COMMAND [ARGS...]",
            if words.is_empty() {
                "[NAME...]".to_string()
            } else {
                words.join(" ")
            }
        )));
    }
    if names == 0 {
        let first = &words[0];
        let close = crate::catalog::closest(first, meta.connections.keys().map(String::as_str));
        let mean = if close.is_empty() {
            String::new()
        } else {
            format!(" (did you mean {}?)", close.join(" or "))
        };
        return Err(usage(format!(
            "{first:?} is not a connection{mean}. Put -- before the command: 'conn exec NAME -- {all}' to use connection NAME, or 'conn exec -- {all}' for this project's recipe",
            all = words.join(" ")
        )));
    }
    Ok((
        words[..names].to_vec(),
        words[names..].iter().map(OsString::from).collect(),
    ))
}

fn parse_target(t: &str) -> Result<(String, String)> {
    let (name, prefix) = match t.split_once('=') {
        Some((n, p)) => (n.to_string(), p.to_string()),
        None => (t.to_string(), env_prefix(t)),
    };
    let valid = prefix
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if name.is_empty() || !valid {
        return Err(usage(format!(
            "{t}: the variable prefix {prefix:?} must be letters, digits and '_', not starting with a digit; give one with {name}=PREFIX"
        )));
    }
    Ok((prefix, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_default_to_upper_snake_prefixes() {
        assert_eq!(
            parse_target("zendesk-acme").unwrap(),
            ("ZENDESK_ACME".into(), "zendesk-acme".into())
        );
        assert_eq!(
            parse_target("gh=GITHUB").unwrap(),
            ("GITHUB".into(), "gh".into())
        );
        assert!(parse_target("1pw").is_err());
        assert!(parse_target("gh=A-B").is_err());
    }
}

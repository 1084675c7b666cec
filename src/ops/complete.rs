//! The values a shell completes while the user types (`COMPLETE=bash conn`, clap_complete's
//! dynamic engine): connection names, provider ids and the roles of this project's recipe,
//! each with a one-line description. Read-only and quiet: whatever fails (no config dir, a
//! file that does not parse, no recipe here) gives no candidates, since a completion has
//! nowhere to show an error.

use super::Base;
use crate::catalog::Catalog;
use crate::core::env::Env;
use crate::core::paths::Paths;
use crate::recipe;

/// One completion: the value and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub(crate) value: String,
    pub(crate) help: String,
}

/// The candidates `of` gives in the environment `env`: none when conn's directories cannot be
/// found.
pub(crate) fn with(env: Env, of: fn(&Base) -> Vec<Candidate>) -> Vec<Candidate> {
    let Ok(paths) = Paths::resolve(&env) else {
        return Vec::new();
    };
    of(&Base {
        env,
        paths,
        teams: Default::default(),
    })
}

/// Every local connection, described by provider and the identity its last check saw. Team
/// connections are left out: listing them means asking the team's server, too slow for a
/// keystroke.
pub(crate) fn connections(base: &Base) -> Vec<Candidate> {
    let Ok(meta) = base.metadata().load() else {
        return Vec::new();
    };
    meta.connections
        .into_iter()
        .map(|(name, c)| {
            let who = c.identity.and_then(|i| i.label.or(i.id));
            Candidate {
                value: name,
                help: match who {
                    Some(who) => format!("{} ({}), {who}", c.provider, c.env.as_str()),
                    None => format!("{} ({})", c.provider, c.env.as_str()),
                },
            }
        })
        .collect()
}

/// Every provider id: the built-ins and the user's provider files.
pub(crate) fn providers(base: &Base) -> Vec<Candidate> {
    let (catalog, _warnings) = Catalog::load(&base.paths.providers_dir());
    catalog
        .entries()
        .map(|e| Candidate {
            value: e.provider.id.clone(),
            help: e.provider.display_name.clone(),
        })
        .collect()
}

/// The roles of the recipe (`conn.toml`) found from the current directory, with the provider
/// each needs.
pub(crate) fn roles(base: &Base) -> Vec<Candidate> {
    let (catalog, _warnings) = Catalog::load(&base.paths.providers_dir());
    let Ok(recipe) = recipe::discover(&catalog) else {
        return Vec::new();
    };
    recipe
        .roles
        .into_iter()
        .map(|(role, r)| Candidate {
            value: role,
            help: if r.secondary {
                format!("{} (secondary)", r.provider)
            } else {
                r.provider
            },
        })
        .collect()
}

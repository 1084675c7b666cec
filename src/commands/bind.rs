//! `conn bind [ROLE NAME] [--env sandbox]`: which connection plays a role of this project's
//! recipe; with no arguments, the roles and their bindings.

use anyhow::Result;

use super::{Done, Out, Report, environment};
use crate::core::vocab::Environment;
use crate::ops::Ctx;
use crate::ops::recipe::{self, Bound, Listing};

pub(crate) const AFTER_HELP: &str = "\
The recipe is the nearest conn.toml in this directory or a parent; bindings are stored for this
project and user in conn's data dir, not in the project. With no arguments, shows the roles
and their bindings.

Example conn.toml:
  [roles.crm]
  provider = \"salesforce\"
  [roles.crm_archive]
  provider = \"salesforce\"
  secondary = true";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A role of the recipe (no arguments: show the roles and their bindings)
    #[arg(requires = "name", add = super::recipe_roles(), value_hint = clap::ValueHint::Other)]
    role: Option<String>,
    /// The connection that plays it
    #[arg(add = super::connection_names(), value_hint = clap::ValueHint::Other)]
    name: Option<String>,
    /// The environment this binding is for
    #[arg(long, value_name = "ENV", default_value = "production", value_parser = environment())]
    env: Environment,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(ctx: &mut Ctx<'_>, a: Args) -> Result<Done> {
    match (a.role, a.name) {
        (Some(role), Some(name)) => Done::report(Bind {
            bound: recipe::bind(ctx, &role, &name, a.env)?,
            json: a.json,
        }),
        _ => Done::report(Roles {
            listing: recipe::list(ctx)?,
            json: a.json,
        }),
    }
}

struct Bind {
    bound: Bound,
    json: bool,
}

impl Report for Bind {
    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        let b = &self.bound;
        if self.json {
            return super::json(o, b);
        }
        let was = b
            .replaced
            .as_deref()
            .map(|x| format!(" (was {x})"))
            .unwrap_or_default();
        writeln!(
            o.out,
            "Role {} is played by {} in {}{was}, for {}.",
            b.role, b.connection, b.env, b.recipe
        )?;
        Ok(0)
    }
}

struct Roles {
    listing: Listing,
    json: bool,
}

impl Report for Roles {
    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        let l = &self.listing;
        if self.json {
            return super::json(o, l);
        }
        writeln!(o.out, "Recipe: {}", l.recipe)?;
        let rows: Vec<Vec<String>> = l
            .roles
            .iter()
            .map(|r| {
                let dash = |x: &Option<String>| match x {
                    None => "-".to_string(),
                    Some(n) if r.missing.contains(n) => format!("{n} (missing)"),
                    Some(n) => n.clone(),
                };
                vec![
                    r.role.clone(),
                    if r.secondary {
                        format!("{} (secondary)", r.provider)
                    } else {
                        r.provider.clone()
                    },
                    dash(&r.production),
                    dash(&r.sandbox),
                ]
            })
            .collect();
        let headers = ["ROLE", "PROVIDER", "PRODUCTION", "SANDBOX"];
        o.table(&headers, &rows, &|_, _| anstyle::Style::new())?;
        for r in l.roles.iter().filter(|r| !r.missing.is_empty()) {
            writeln!(
                o.err,
                "warning: role {} is bound to {}, which no longer exists; bind another with 'conn bind {} NAME'",
                r.role,
                r.missing.join(" and "),
                r.role
            )?;
        }
        Ok(0)
    }
}

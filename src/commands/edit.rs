//! `conn edit NAME --set KEY=VALUE...`: change a connection's settings in place (its id,
//! secrets and recipe bindings stay), checked before they are saved.

use std::time::Duration;

use anyhow::Result;

use super::{Done, Out, Report, pairs};
use crate::check::CheckStatus;
use crate::ops::Ctx;
use crate::ops::edit::{self, EditOptions, Edited};

pub(crate) const AFTER_HELP: &str = "\
The settings are the provider's instance inputs ('conn providers show ID' lists them; 'conn
show NAME' shows their values). With no --set on a terminal, each is asked with its current
value as the default. The connection is checked with the new settings; when that check fails
nothing is saved unless you confirm (--yes without a terminal). New credentials: 'conn reauth'.

Examples:
  conn edit billing --set prefix= --set header=X-Api-Key
  conn edit billing --set base_url=https://api.example.com/v3 --no-check";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[arg(add = super::connection_names(), value_hint = clap::ValueHint::Other)]
    name: String,
    /// A setting to change, e.g. base_url=https://api.example.com/v2 (repeatable; an empty
    /// VALUE clears an optional one)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Save without checking the connection first
    #[arg(long)]
    no_check: bool,
    /// Save even when the check fails
    #[arg(long, short = 'y')]
    yes: bool,
    /// Seconds to wait for the check request
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout: u64,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(ctx: &mut Ctx<'_>, a: Args) -> Result<Done> {
    let edited = edit::edit(
        ctx,
        EditOptions {
            sets: pairs("--set", &a.sets, true)?,
            name: a.name,
            no_check: a.no_check,
            yes: a.yes,
            timeout: Duration::from_secs(a.timeout.clamp(1, 300)),
        },
    )?;
    Done::report(Edit {
        edited,
        json: a.json,
    })
}

struct Edit {
    edited: Edited,
    json: bool,
}

impl Report for Edit {
    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        let e = &self.edited;
        if self.json {
            return super::json(o, e);
        }
        if e.changes.is_empty() {
            writeln!(o.err, "Nothing changed in '{}'.", e.name)?;
            return Ok(0);
        }
        let checked = match &e.check {
            None => " (not checked)".to_string(),
            Some(x) if x.status == CheckStatus::Ok => {
                match x.identity.as_ref().and_then(|i| i.display()) {
                    Some(w) => format!(", connected as {w}"),
                    None => String::new(),
                }
            }
            Some(x) => format!(" (check: {})", x.status),
        };
        writeln!(o.out, "Updated '{}'{checked}.", e.name)?;
        for c in &e.changes {
            writeln!(
                o.out,
                "  {}: {:?} -> {:?}",
                c.key,
                c.old.as_deref().unwrap_or(""),
                c.new
            )?;
        }
        Ok(0)
    }
}

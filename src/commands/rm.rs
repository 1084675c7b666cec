//! `conn rm NAME`: remove a connection and its secrets, revoking its grant where the provider
//! allows.

use anyhow::Result;

use super::{Done, Out, Report};
use crate::ops::Ctx;
use crate::ops::lifecycle::{self, Removed};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[arg(add = super::connection_names(), value_hint = clap::ValueHint::Other)]
    name: String,
    /// Don't ask for confirmation (required when there is no terminal)
    #[arg(long, short = 'y')]
    yes: bool,
    /// Don't revoke the OAuth grant at the provider (API keys and passwords are never
    /// revoked by conn)
    #[arg(long)]
    keep_remote: bool,
}

pub(crate) fn run(ctx: &mut Ctx<'_>, a: Args) -> Result<Done> {
    let removed = lifecycle::remove(ctx, &a.name, a.yes, a.keep_remote)?;
    Done::report(Rm(removed))
}

struct Rm(Removed);

impl Report for Rm {
    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        let r = &self.0;
        for w in &r.warnings {
            writeln!(o.err, "warning: {w}")?;
        }
        if r.removed {
            let revoked = if r.revoked {
                " and revoked its grant at the provider"
            } else {
                ""
            };
            writeln!(o.out, "Removed connection '{}'{revoked}.", r.name)?;
            for b in &r.unbound {
                writeln!(
                    o.out,
                    "  unbound {} (bind another: conn bind {} NAME{})",
                    lifecycle::describe(b),
                    b.role,
                    if b.env == "production" {
                        ""
                    } else {
                        " --env sandbox"
                    }
                )?;
            }
        } else {
            writeln!(o.err, "Kept connection '{}'.", r.name)?;
        }
        Ok(0)
    }
}

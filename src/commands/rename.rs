//! `conn rename OLD NEW`: a new name, same settings and secrets.

use anyhow::Result;

use super::{Done, Out, Report};
use crate::ops::{Ctx, lifecycle};
use crate::store::bindings::Binding;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[arg(add = super::connection_names(), value_hint = clap::ValueHint::Other)]
    old: String,
    new: String,
}

pub(crate) fn run(ctx: &mut Ctx<'_>, a: Args) -> Result<Done> {
    let moved = lifecycle::rename(ctx, &a.old, &a.new)?;
    Done::report(Renamed { args: a, moved })
}

struct Renamed {
    args: Args,
    /// The recipe bindings that now name the new name.
    moved: Vec<Binding>,
}

impl Report for Renamed {
    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        let a = &self.args;
        writeln!(o.out, "Renamed '{}' to '{}'.", a.old, a.new)?;
        for b in &self.moved {
            writeln!(
                o.out,
                "  {} is now played by '{}'",
                lifecycle::describe(b),
                a.new
            )?;
        }
        Ok(0)
    }
}

//! `conn rename OLD NEW`: a new name, same settings and secrets.

use anyhow::Result;

use super::{Done, Out, Report};
use crate::ops::{Ctx, lifecycle};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    old: String,
    new: String,
}

pub(crate) fn run(ctx: &mut Ctx<'_>, a: Args) -> Result<Done> {
    lifecycle::rename(ctx, &a.old, &a.new)?;
    Done::report(Renamed(a))
}

struct Renamed(Args);

impl Report for Renamed {
    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        writeln!(o.out, "Renamed '{}' to '{}'.", self.0.old, self.0.new)?;
        Ok(0)
    }
}

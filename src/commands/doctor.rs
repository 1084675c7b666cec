//! `conn doctor`: conn's files, secret stores and clock, each with a verdict; exit 1 when any
//! fails.

use anyhow::Result;

use super::{Done, Out, Report};
use crate::ops::{Ctx, doctor};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(ctx: &mut Ctx<'_>, a: Args) -> Result<Done> {
    let report = doctor::run(ctx)?;
    Done::report(Doctor {
        report,
        json: a.json,
    })
}

struct Doctor {
    report: doctor::Report,
    json: bool,
}

impl Report for Doctor {
    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        let r = &self.report;
        if self.json {
            super::json(o, r)?;
        } else {
            for i in &r.items {
                let verdict = if i.ok { "ok  " } else { "FAIL" };
                writeln!(o.out, "{verdict} {:<22}{}", i.check, i.detail)?;
            }
        }
        Ok(if r.ok { 0 } else { 1 })
    }
}

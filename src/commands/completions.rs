//! `conn completions SHELL`: a completion script generated from the clap definition.

use anyhow::Result;

use super::{Done, Out, Report};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// `cli` hands in the whole command definition, which only it knows.
pub(crate) fn run(a: Args, mut cli: clap::Command) -> Result<Done> {
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cli, "conn", &mut script);
    Done::report(Script(script))
}

struct Script(Vec<u8>);

impl Report for Script {
    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        o.out.write_all(&self.0)?;
        Ok(0)
    }
}

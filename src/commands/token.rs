//! `conn token NAME`: a valid access token (refreshed first when due) or key, for scripts. The
//! one command that prints a secret.

use anyhow::Result;

use super::{Done, Out, Report};
use crate::core::secret::Secret;
use crate::ops::{Ctx, credentials, find};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[arg(add = super::connection_names(), value_hint = clap::ValueHint::Other)]
    name: String,
}

pub(crate) fn run(ctx: &mut Ctx<'_>, a: Args) -> Result<Done> {
    let meta = ctx.view(&[a.name.as_str()])?;
    let conn = find(&meta, &a.name)?.clone();
    let catalog = ctx.catalog_for(&[&conn.provider]);
    let provider = catalog.get(&conn.provider)?;
    let token = credentials::token(ctx, &a.name, &conn, provider)?;
    Done::report(Token(token))
}

struct Token(Secret<String>);

impl Report for Token {
    fn raw(&self) -> bool {
        true
    }

    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        o.out.write_all(self.0.expose().as_bytes())?;
        o.out.write_all(b"\n")?;
        Ok(0)
    }
}

//! `conn reauth NAME`: sign in again (or give a new key) for an existing connection, in place.

use anyhow::Result;

use super::{CredentialArgs, Done, Out, Report};
use crate::ops::Ctx;
use crate::ops::lifecycle::{self, ReauthOptions, Reauthed};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[arg(add = super::connection_names(), value_hint = clap::ValueHint::Other)]
    name: String,
    #[command(flatten)]
    creds: CredentialArgs,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(ctx: &mut Ctx<'_>, a: Args) -> Result<Done> {
    let c = a.creds.resolve(&ctx.env)?;
    let done = lifecycle::replace(
        ctx,
        &a.name,
        ReauthOptions {
            username: c.username,
            secret: c.secret,
            oauth: c.oauth,
            request_timeout: c.request_timeout,
        },
    )?;
    Done::report(Reauth { done, json: a.json })
}

struct Reauth {
    done: Reauthed,
    json: bool,
}

impl Report for Reauth {
    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        let r = &self.done;
        if self.json {
            return super::json(o, r);
        }
        let who = r
            .identity
            .as_ref()
            .and_then(|i| i.display())
            .map(|w| format!(", connected as {w}"))
            .unwrap_or_default();
        writeln!(o.out, "Re-authorized '{}'{who}.", r.name)?;
        Ok(0)
    }
}

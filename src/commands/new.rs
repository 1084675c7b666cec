//! `conn new`: the wizard. Every question has a flag; with no terminal a missing answer is a
//! usage error naming that flag.

use anyhow::Result;

use super::{CredentialArgs, Done, Out, Report, environment, pairs};
use crate::check::CheckStatus;
use crate::core::vocab::{AuthMethod, Environment};
use crate::ops::Ctx;
use crate::ops::lifecycle::{self, Created, NewOptions};

pub(crate) const AFTER_HELP: &str = "\
Secrets are never taken from the command line: give them at the hidden prompt, on stdin
(--secret-stdin) or in an environment variable you name (--secret-env VAR).

Examples:
  conn new                                   # the wizard
  conn new gh --provider github --secret-env GITHUB_TOKEN
  printf %s \"$TOKEN\" | conn new zd --provider zendesk --set subdomain=acme \\
      --username me@acme.com --secret-stdin
  conn new api --provider http --auth api_key --set base_url=https://api.example.com \\
      --set check_path=/me --set header=X-Api-Key --set prefix= --secret-env API_KEY";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Name for the connection (letters, digits, '-', '_', '.')
    name: Option<String>,
    /// Provider id (see 'conn providers list')
    #[arg(long, value_name = "ID", add = super::provider_ids(), value_hint = clap::ValueHint::Other)]
    provider: Option<String>,
    /// Auth method, when the provider offers several
    #[arg(long, value_name = "METHOD", value_parser = super::auth_method())]
    auth: Option<AuthMethod>,
    /// Environment: sandbox uses the provider's sandbox hosts where it has them; also a tag
    /// for `conn list --env`
    #[arg(long, value_name = "ENV", value_parser = environment())]
    env: Option<Environment>,
    /// An instance input, e.g. subdomain=acme (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    #[command(flatten)]
    creds: CredentialArgs,
    /// Save without checking the connection first
    #[arg(long)]
    no_check: bool,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(ctx: &mut Ctx<'_>, a: Args) -> Result<Done> {
    let sets = pairs("--set", &a.sets, true)?;
    let yes = a.creds.yes;
    let c = a.creds.resolve(&ctx.env)?;
    let created = lifecycle::create(
        ctx,
        NewOptions {
            name: a.name,
            provider: a.provider,
            auth: a.auth,
            env: a.env,
            sets,
            username: c.username,
            secret: c.secret,
            no_check: a.no_check,
            yes,
            timeout: c.request_timeout,
            oauth: c.oauth,
        },
    )?;
    Done::report(New {
        created,
        json: a.json,
    })
}

struct New {
    created: Created,
    json: bool,
}

impl Report for New {
    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        let c = &self.created;
        if self.json {
            return super::json(o, c);
        }
        let who = c
            .identity
            .as_ref()
            .and_then(|i| i.display())
            .map(|w| format!(", connected as {w}"))
            .unwrap_or_default();
        let checked = match &c.check {
            None => " (not checked)".to_string(),
            Some(x) if x.status == CheckStatus::Ok => String::new(),
            Some(x) => format!(" (check: {})", x.status),
        };
        writeln!(
            o.out,
            "Saved connection '{}' ({}, {}){who}{checked}.",
            c.name, c.provider, c.auth
        )?;
        writeln!(o.out, "Secrets: {}", c.secret_store)?;
        writeln!(o.out, "Next: conn check {}", c.name)?;
        Ok(0)
    }
}

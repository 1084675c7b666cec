//! `conn exec NAME[=PREFIX]... -- COMMAND`: run a command with connections' credentials in its
//! environment (never on its argv); `cli` then becomes that command.

use anyhow::Result;

use super::{Done, environment};
use crate::core::error::cancelled;
use crate::core::vocab::Environment;
use crate::ops::Ctx;
use crate::ops::exec::{self, ExecOptions};

pub(crate) const AFTER_HELP: &str = "\
For each connection, with PREFIX its name in UPPER_SNAKE case (or the role's, for a recipe):
  PREFIX_AUTHORIZATION  the whole Authorization header value (not for OAuth 1.0a, which signs
                        each request: use 'conn request' for those)
  PREFIX_AUTH_HEADER    the credential header as 'Name: value' (for curl -H @file)
  PREFIX_TOKEN          OAuth access token       PREFIX_API_KEY   API key
  PREFIX_USERNAME, PREFIX_PASSWORD               Basic auth (user name as sent)
  PREFIX_BASE_URL       the API base URL; and each instance input, e.g. PREFIX_SUBDOMAIN
OAuth tokens are refreshed first. Then conn becomes the command (same process id), so signals
sent to it reach the command and its exit status is conn's (127: not found, 126: not
executable).

With no names, the project's recipe (conn.toml here or in a parent directory) says which
connections, by role: see 'conn bind'. CONN_BIND_<ROLE>=NAME or --bind ROLE=NAME swap one
for a run; --env sandbox uses the sandbox bindings and refuses production connections.

Examples:
  conn exec gh -- sh -c 'printf %s \"$GH_AUTH_HEADER\" | curl -sH @- \"$GH_BASE_URL/user\"'
  conn exec zendesk-acme=ZD billing -- ./sync.sh
  conn exec --env sandbox -- ./sync.sh";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Connections to export, as NAME or NAME=PREFIX (none: the project's recipe)
    #[arg(value_name = "NAME[=PREFIX]", add = super::connection_names(), value_hint = clap::ValueHint::Other)]
    targets: Vec<String>,
    /// Recipe run: this connection plays ROLE, for this run only (repeatable)
    #[arg(long = "bind", value_name = "ROLE=NAME")]
    binds: Vec<String>,
    /// Environment of the run: sandbox uses sandbox bindings and refuses production connections
    #[arg(long, value_name = "ENV", default_value = "production", value_parser = environment())]
    env: Environment,
    /// The command and its arguments, after -- (without --, the command starts at the first
    /// word that is not a connection name)
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<std::ffi::OsString>,
}

pub(crate) fn run(ctx: &mut Ctx<'_>, a: Args) -> Result<Done> {
    let (targets, command) = if a.command.is_empty() {
        exec::split_command(ctx, &a.targets)?
    } else {
        (a.targets, a.command)
    };
    let prepared = exec::prepare(
        ctx,
        &ExecOptions {
            targets,
            binds: a.binds,
            env: a.env,
        },
    )?;
    for (prefix, name) in &prepared.sources {
        log::debug!("{prefix}_* from {name}");
    }
    log::debug!(
        "exporting {}",
        prepared
            .vars
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    );
    if crate::core::interrupt::was_interrupted() {
        return Err(cancelled());
    }
    Ok(Done::Exec {
        command,
        vars: prepared.vars,
    })
}

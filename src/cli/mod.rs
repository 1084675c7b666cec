//! The command line: the clap definition, the terminal (prompts, output, logging), and the one
//! `match` that hands each subcommand to its file in `commands`. The only module that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod child;
mod logger;
mod plain;
mod progress;
mod prompter;
mod term;

use std::io::IsTerminal;

use anyhow::Result;
use clap::{ArgAction, CommandFactory, Parser, Subcommand};

use crate::commands::{self, Done, Out};
use crate::core::env::Env;
use crate::core::error::Exit;
use crate::core::ui::Ui;
use crate::ops::Ctx;

const AFTER_HELP: &str = "\
Environment:
  CONN_HOME            one directory for all of conn's files (config, secrets, state)
  CONN_SECRET_STORE    keychain | file: where new secrets go
  CONN_AGE_IDENTITY_FILE, CONN_AGE_IDENTITY
                       the age identity of the encrypted file store (a path, or the key itself)
  CONN_KEYCHAIN_TIMEOUT
                       seconds to wait for the OS keychain (default 10)
  NO_COLOR             no colour in prompts and tables (CLICOLOR_FORCE=1 forces it)
  COLUMNS              the width tables and hints are fitted to (else the terminal's)
  COMPLETE             bash | zsh | fish | elvish | powershell: print that shell's dynamic
                       completion script (source <(COMPLETE=bash conn))

Exit codes: 0 success, 1 failure, 2 usage error, 130 cancelled.
'conn check' instead uses 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.";

/// Named, authenticated connections to web APIs: made once, checked from cron, used by scripts.
#[derive(Debug, Parser)]
#[command(name = "conn", version, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// Print diagnostics on stderr (never secrets)
    #[arg(short, long, action = ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a connection (a wizard on a terminal; every question also has a flag)
    #[command(after_help = commands::new::AFTER_HELP)]
    New(Box<commands::new::Args>),
    /// List connections with their last check
    List(commands::list::Args),
    /// Show one connection; secrets are always masked
    Show(commands::show::Args),
    /// Check that connections work and who they are connected as
    #[command(after_help = commands::check::AFTER_HELP)]
    Check(commands::check::Args),
    /// Change a connection's settings (base URL, check path, ...), keeping its secrets
    #[command(after_help = commands::edit::AFTER_HELP)]
    Edit(commands::edit::Args),
    /// Sign in again for an existing connection, keeping its name and settings
    Reauth(Box<commands::reauth::Args>),
    /// Print a valid access token (refreshed if due) or key, for scripts
    Token(commands::token::Args),
    /// Run a command with connections' credentials in its environment (never on its argv)
    #[command(after_help = commands::exec::AFTER_HELP)]
    Exec(commands::exec::Args),
    /// Send one authenticated request to a connection's API (like 'gh api')
    #[command(after_help = commands::request::AFTER_HELP)]
    Request(commands::request::Args),
    /// Choose the connection that plays a role of this project's recipe (conn.toml)
    #[command(after_help = commands::bind::AFTER_HELP)]
    Bind(commands::bind::Args),
    /// Rename a connection (its secrets stay where they are)
    Rename(commands::rename::Args),
    /// Remove a connection and its secrets
    Rm(commands::rm::Args),
    /// The apps conn knows and how to set them up
    #[command(subcommand)]
    Providers(commands::providers::Command),
    /// Team stores: a team's connections on OpenBao / HashiCorp Vault (named TEAM/NAME)
    #[command(subcommand, after_help = commands::store::AFTER_HELP)]
    Store(commands::store::Command),
    /// Print a shell completion script
    Completions(commands::completions::Args),
    /// Check conn's files, secret stores and clock
    Doctor(commands::doctor::Args),
}

/// Parses the process arguments; clap exits with 2 on a usage error, and so does a flag that
/// would carry a secret (`--secret`, see `commands::SECRET_FLAGS`), with the ways conn takes
/// one instead.
///
/// Run with `COMPLETE=SHELL` in the environment, this is clap_complete's dynamic completion
/// instead (as cargo does): `COMPLETE=bash conn` prints the shell's registration script, and
/// the shell then calls conn back for each completion, which ends here after printing the
/// candidates (connection names, provider ids and recipe roles included).
pub fn parse() -> Cli {
    clap_complete::CompleteEnv::with_factory(Cli::command).complete();
    Cli::try_parse().unwrap_or_else(|e| {
        if let Some(refusal) = refused_secret_flag(&e) {
            eprintln!("conn: error: {refusal:#}");
            std::process::exit(Exit::of(&refusal).code().into());
        }
        e.exit()
    })
}

/// The refusal when clap rejected an unknown flag that is one of the secret-carrying ones.
fn refused_secret_flag(e: &clap::Error) -> Option<anyhow::Error> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    match e.get(ContextKind::InvalidArg)? {
        ContextValue::String(flag) => commands::secret_on_argv(flag),
        _ => None,
    }
}

/// Runs a parsed command line and returns the exit code; an error is reported on stderr and
/// mapped to its code here, the one place that does.
pub fn run(cli: Cli) -> u8 {
    logger::init(cli.verbose);
    match dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            let text = format!("{err:#}");
            eprintln!("conn: error: {}", crate::core::text::multi_line(&text));
            Exit::of(&err).code()
        }
    }
}

/// The width of the output in columns: `COLUMNS` when set (as `ls` and clap read it), else
/// the terminal's when stdout is one; unknown in a pipe.
fn columns(env: &Env) -> Option<usize> {
    env.get("COLUMNS")
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
        .or_else(|| {
            std::io::stdout()
                .is_terminal()
                .then(|| console::Term::stdout().size_checked())
                .flatten()
                .map(|(_, cols)| usize::from(cols))
        })
}

/// Whether `err` comes from writing to a pipe whose reader has closed it.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| {
                e.downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            })
            == Some(std::io::ErrorKind::BrokenPipe)
    })
}

fn dispatch(cli: Cli) -> Result<u8> {
    let env = Env::from_process();
    let browser = env.get("BROWSER").map(str::to_string);
    // A terminal that can't move the cursor (an Emacs shell says TERM=dumb) gets plain line
    // prompts; dialoguer's redrawing would show up there as escape codes.
    let dumb = match env.get("TERM") {
        Some("dumb") | Some("unknown") => true,
        // Windows consoles set no TERM and do understand escape codes.
        None => cfg!(unix),
        Some(_) => false,
    };
    // Prompts need a person: stdin a terminal, and a terminal to draw on (/dev/tty, whatever
    // stderr is redirected to).
    let mut terminal = prompter::TerminalUi::open(env.get("NO_COLOR").is_none(), browser.clone());
    let mut plain;
    let mut script = prompter::ScriptUi {
        browser: browser.clone(),
        ..Default::default()
    };
    prompter::handle_interrupts(terminal.is_some() && !dumb);
    let asks: &mut dyn Ui = match terminal.as_mut() {
        Some(_) if dumb => {
            plain = plain::PlainUi { browser };
            &mut plain
        }
        Some(t) => t,
        None => &mut script,
    };
    // Progress lines need a terminal that redraws a line, whether or not questions can be
    // asked (`conn check` from a terminal with stdin redirected still shows its progress).
    let ui = &mut progress::WithProgress {
        inner: asks,
        shown: std::io::stderr().is_terminal() && !dumb,
    };
    let width = columns(&env);
    // These two need no config dirs, so they work where there is no home directory.
    let done = match cli.command {
        Command::Completions(a) => commands::completions::run(a, Cli::command())?,
        Command::Providers(commands::providers::Command::Validate { file }) => {
            commands::providers::validate(file)?
        }
        command => {
            let mut ctx = Ctx::new(env, ui)?;
            let ctx = &mut ctx;
            match command {
                Command::New(a) => commands::new::run(ctx, *a)?,
                Command::List(a) => commands::list::run(ctx, a)?,
                Command::Show(a) => commands::show::run(ctx, a)?,
                Command::Check(a) => commands::check::run(ctx, a)?,
                Command::Edit(a) => commands::edit::run(ctx, a)?,
                Command::Reauth(a) => commands::reauth::run(ctx, *a)?,
                Command::Token(a) => commands::token::run(ctx, a)?,
                Command::Exec(a) => commands::exec::run(ctx, a)?,
                Command::Request(a) => commands::request::run(ctx, a)?,
                Command::Bind(a) => commands::bind::run(ctx, a)?,
                Command::Rename(a) => commands::rename::run(ctx, a)?,
                Command::Rm(a) => commands::rm::run(ctx, a)?,
                Command::Providers(c) => commands::providers::run(ctx, c)?,
                Command::Doctor(a) => commands::doctor::run(ctx, a)?,
                Command::Store(c) => commands::store::run(ctx, c)?,
                Command::Completions(_) => unreachable!("handled above"),
            }
        }
    };
    match done {
        Done::Report(r) => {
            let terminal = std::io::stdout().is_terminal();
            let mut err = term::Escaping::new(std::io::stderr().lock());
            // Everything shown is escaped; only data meant for a pipe (a token, a response
            // body) passes byte for byte, and only when stdout is not a terminal.
            // Colour as anstream decides: NO_COLOR, CLICOLOR_FORCE, CLICOLOR, a terminal.
            let colour =
                anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never;
            // Into a pipe or file, without colour codes written beside it, the text is
            // buffered (a table of 10,000 rows in a few writes, not one per line); to a
            // terminal, or with colour, each line goes out as it ends (a BufWriter of
            // capacity 0 passes every write through to stdout's own line buffer).
            let buffer = if terminal || colour { 0 } else { 64 * 1024 };
            let (mut raw, mut escaped);
            let out: &mut dyn std::io::Write = if r.raw() && !terminal {
                raw = std::io::stdout().lock();
                &mut raw
            } else {
                escaped = term::Escaping::new(std::io::BufWriter::with_capacity(
                    buffer,
                    std::io::stdout().lock(),
                ));
                &mut escaped
            };
            let mut paint_to = colour.then(|| std::io::stdout().lock());
            let rendered = r.render(&mut Out {
                out,
                err: &mut err,
                terminal,
                paint: paint_to.as_mut().map(|p| p as &mut dyn std::io::Write),
                width,
            });
            // What the buffer still holds goes out now, so a failed write (a full disk) is an
            // error, not lost in a drop.
            let rendered = rendered.and_then(|code| {
                out.flush()?;
                Ok(code)
            });
            // The process ends now: a report of 10,000 connections is not freed piece by
            // piece first.
            std::mem::forget(r);
            match rendered {
                // The reader went away (`conn providers list --json | head -1`): it has what
                // it wanted, so end quietly with success, as ripgrep does. Only the writing
                // of the result counts: a broken connection to an API is still an error.
                Err(e) if is_broken_pipe(&e) => Ok(0),
                other => other,
            }
        }
        Done::Exec { command, vars } => child::run(&command, &vars),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn longs(cmd: &clap::Command, out: &mut Vec<String>) {
        out.extend(
            cmd.get_arguments()
                .filter_map(|a| a.get_long().map(|l| format!("--{l}"))),
        );
        for sub in cmd.get_subcommands() {
            longs(sub, out);
        }
    }

    /// A refused flag that some command defined would be parsed instead of refused.
    #[test]
    fn no_command_defines_a_secret_flag() {
        let mut all = Vec::new();
        longs(&Cli::command(), &mut all);
        assert!(all.iter().any(|l| l == "--secret-stdin"), "{all:?}");
        for flag in commands::SECRET_FLAGS {
            assert!(!all.iter().any(|l| l == flag), "{flag} is defined");
        }
    }
}

//! The command line: parse, resolve raw arguments into options, call the command, print.

pub mod args;
pub mod child;
pub mod output;
pub mod prompter;

use std::io::{IsTerminal, Read};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser};

pub use args::Cli;
use args::{
    Command, CredentialArgs, ExecArgs, NewArgs, ProvidersCommand, RequestArgs, StoreCommand,
};

use crate::catalog::Grant;
use crate::commands::{self, Ctx, new::NewOptions, oauth::OAuthOptions};
use crate::core::env::Env;
use crate::core::error::usage;
use crate::core::secret::Secret;
use crate::core::ui::Ui;

/// Parses the process arguments; clap exits with 2 on a usage error.
pub fn parse() -> Cli {
    Cli::parse()
}

/// The clap definition, for completions.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Runs a parsed command line and returns the exit code.
pub fn run(cli: Cli) -> Result<u8> {
    crate::core::log::set_verbosity(cli.verbose);
    let env = Env::from_process();
    crate::core::testing::init(env.get("CONN_TEST_ORIGIN"));
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let mut terminal;
    let browser = env.get("BROWSER").map(str::to_string);
    let mut script = prompter::ScriptUi {
        browser: browser.clone(),
    };
    prompter::handle_interrupts(interactive);
    let ui: &mut dyn Ui = if interactive {
        terminal = prompter::TerminalUi::new(env.get("NO_COLOR").is_none(), browser);
        &mut terminal
    } else {
        &mut script
    };
    match cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut command(), "conn", &mut std::io::stdout());
            Ok(0)
        }
        Command::Providers(ProvidersCommand::Validate { file }) => {
            let p = commands::providers::validate(&file)?;
            println!(
                "{}: ok ({}, auth: {})",
                file.display(),
                p.id,
                p.methods().join(", ")
            );
            Ok(0)
        }
        Command::Exec(a) => {
            let mut ctx = Ctx::new(env, ui)?;
            exec(&mut ctx, a)
        }
        command => {
            let mut ctx = Ctx::new(env, ui)?;
            dispatch(&mut ctx, command)
        }
    }
}

fn exec(ctx: &mut Ctx<'_>, a: ExecArgs) -> Result<u8> {
    let opts = commands::exec::ExecOptions {
        targets: a.targets,
        binds: a.binds,
        env: a.env,
    };
    let prepared = commands::exec::prepare(ctx, &opts)?;
    for (prefix, name) in &prepared.sources {
        crate::debug!("{prefix}_* from {name}");
    }
    crate::debug!(
        "exporting {}",
        prepared
            .vars
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    );
    if crate::core::interrupt::was_interrupted() {
        return Err(anyhow::Error::new(crate::core::error::Cancelled));
    }
    child::run(&a.command, &prepared.vars)
}

fn request(ctx: &mut Ctx<'_>, a: RequestArgs) -> Result<u8> {
    let (method, path) = match a.rest.as_slice() {
        [path] => (None, path.clone()),
        [method, path] => (Some(method.clone()), path.clone()),
        _ => return Err(usage("expected [METHOD] PATH")),
    };
    let mut query = Vec::new();
    for q in &a.query {
        let (k, v) = q
            .split_once('=')
            .ok_or_else(|| usage(format!("--query {q}: expected KEY=VALUE")))?;
        query.push((k.to_string(), v.to_string()));
    }
    let body = match a.data.as_deref() {
        None => None,
        Some("@-") => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("could not read the body from stdin")?;
            Some(buf)
        }
        Some(d) if d.starts_with('@') => {
            let file = &d[1..];
            Some(
                std::fs::read(file)
                    .with_context(|| format!("-d @{file}: could not read {file}"))?,
            )
        }
        Some(d) => Some(d.as_bytes().to_vec()),
    };
    let answer = commands::request::run(
        ctx,
        &commands::request::RequestOptions {
            name: a.name,
            method,
            path,
            headers: a.headers,
            query,
            body,
            timeout: Duration::from_secs(a.timeout.max(1)),
        },
    )?;
    output::answer(&answer, a.include, std::io::stdout().is_terminal())?;
    Ok(commands::request::exit_code(answer.status))
}

fn dispatch(ctx: &mut Ctx<'_>, command: Command) -> Result<u8> {
    match command {
        Command::New(a) => {
            let as_json = a.json;
            let opts = new_options(&ctx.env, *a)?;
            let created = commands::new::run(ctx, opts)?;
            output::created(&created, as_json)?;
        }
        Command::List(a) => output::list(
            &commands::list::run(ctx, a.provider.as_deref(), a.env.as_deref())?,
            a.json,
        )?,
        Command::Show { name, json } => output::show(&commands::show::run(ctx, &name)?, json)?,
        Command::Check(a) => {
            // A check that can't run at all is UNKNOWN (3) to a monitoring system, not 1.
            let opts = commands::check::CheckOptions {
                names: a.names.clone(),
                recipe_env: a
                    .recipe
                    .then(|| a.env.clone().unwrap_or_else(|| "production".into())),
                timeout: Duration::from_secs(a.timeout.max(1)),
                concurrency: a.concurrency.max(1),
                per_host: a.per_host.max(1),
                deadline: Duration::from_secs(a.deadline.max(1)),
                warn_expiring: a.warn_expiring,
            };
            let format = match (a.json, a.format.as_deref()) {
                (true, _) | (_, Some("json")) => output::Format::Json,
                (_, Some("prometheus")) => output::Format::Prometheus,
                _ => output::Format::Human,
            };
            return match commands::check::run(ctx, &opts) {
                Ok(run) => {
                    output::check_run(&run, format, a.quiet)?;
                    Ok(run.exit_code)
                }
                Err(e) => {
                    eprintln!("conn: error: {e:#}");
                    Ok(3)
                }
            };
        }
        Command::Reauth(a) => {
            let as_json = a.json;
            let c = credentials(&ctx.env, a.creds)?;
            let done = commands::reauth::run(
                ctx,
                &a.name,
                commands::reauth::ReauthOptions {
                    username: c.username,
                    secret: c.secret,
                    oauth: c.oauth,
                    request_timeout: c.request_timeout,
                },
            )?;
            output::reauthed(&done, as_json)?;
        }
        Command::Token { name } => {
            let token = commands::token::run(ctx, &name)?;
            let mut out = std::io::stdout().lock();
            std::io::Write::write_all(&mut out, token.expose().as_bytes())?;
            std::io::Write::write_all(&mut out, b"\n")?;
        }
        Command::Request(a) => return request(ctx, a),
        Command::Bind(a) => match (a.role, a.name) {
            (Some(role), Some(name)) => {
                output::bound(&commands::bind::bind(ctx, &role, &name, &a.env)?, a.json)?
            }
            _ => output::bindings(&commands::bind::list(ctx)?, a.json)?,
        },
        Command::Rename { old, new } => {
            commands::rename::run(ctx, &old, &new)?;
            println!("Renamed '{old}' to '{new}'.");
        }
        Command::Rm {
            name,
            yes,
            keep_remote,
        } => output::removed(&commands::rm::run(ctx, &name, yes, keep_remote)?),
        Command::Providers(ProvidersCommand::List { json }) => {
            output::providers(&commands::providers::list(ctx)?, json)?
        }
        Command::Providers(ProvidersCommand::Show { id, json }) => {
            output::provider(&commands::providers::show(ctx, &id)?, json)?
        }
        Command::Store(StoreCommand::Add {
            team,
            vault_addr,
            namespace,
            mount,
            prefix,
            role_id,
        }) => {
            let settings = crate::store::vault::TeamSettings {
                address: vault_addr,
                namespace,
                mount: mount.trim_matches('/').to_string(),
                prefix: prefix.trim_matches('/').to_string(),
                role_id,
            };
            println!("{}", commands::store::add(ctx, &team, settings)?);
        }
        Command::Store(StoreCommand::List { json }) => {
            output::stores(&commands::store::list(ctx)?, json)?
        }
        Command::Store(StoreCommand::Rm { team }) => {
            commands::store::remove(ctx, &team)?;
            println!("Forgot team store '{team}'; its connections stay on the server.");
        }
        Command::Doctor { json } => {
            let r = commands::doctor::run(ctx)?;
            output::doctor(&r, json)?;
            return Ok(if r.ok { 0 } else { 1 });
        }
        Command::Completions { .. }
        | Command::Exec(_)
        | Command::Providers(ProvidersCommand::Validate { .. }) => {
            unreachable!("handled before the context is built")
        }
    }
    Ok(0)
}

/// Resolved sign-in settings shared by `new` and `reauth`.
struct Creds {
    username: Option<String>,
    secret: Option<Secret<String>>,
    oauth: OAuthOptions,
    request_timeout: Duration,
}

/// Raw sign-in flags to resolved settings: read secrets from where the user said, refuse
/// secrets on argv.
fn credentials(env: &Env, a: CredentialArgs) -> Result<Creds> {
    if let Some(flag) = a.secret_on_argv() {
        return Err(usage(format!(
            "{flag} is not accepted: a secret on the command line ends up in shell history and the process list. Use --secret-stdin or --secret-env VAR (--client-secret-stdin / --client-secret-env for an OAuth client secret), or answer the hidden prompt"
        )));
    }
    let secret = read_secret(env, a.secret_stdin, a.secret_env.as_deref(), "--secret")?;
    let client_secret = match &a.private_key {
        Some(path) => Some(commands::oauth::read_private_key(path)?),
        None => read_secret(
            env,
            a.client_secret_stdin,
            a.client_secret_env.as_deref(),
            "--client-secret",
        )?,
    };
    let grant = if a.device {
        Some(Grant::DeviceCode)
    } else {
        a.grant.as_deref().and_then(commands::oauth::parse_grant)
    };
    Ok(Creds {
        username: a.username,
        secret,
        request_timeout: Duration::from_secs(a.timeout.unwrap_or(30).clamp(1, 30)),
        oauth: OAuthOptions {
            client_id: a.client_id,
            client_secret,
            scopes: a.scopes.map(|v| {
                v.into_iter()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            }),
            grant,
            no_browser: a.no_browser,
            port: a.port,
            timeout: Duration::from_secs(a.timeout.unwrap_or(300).max(1)),
            yes: a.yes,
        },
    })
}

/// A secret from stdin (`<flag>-stdin`) or a named environment variable (`<flag>-env`).
fn read_secret(
    env: &Env,
    stdin: bool,
    var: Option<&str>,
    flag: &str,
) -> Result<Option<Secret<String>>> {
    if stdin {
        if std::io::stdin().is_terminal() {
            return Err(usage(format!(
                "{flag}-stdin reads a secret piped into conn, and stdin is a terminal (typing there would show the secret); leave it out to be asked with a hidden prompt"
            )));
        }
        let mut buf = String::new();
        std::io::stdin()
            .read_to_string(&mut buf)
            .context("could not read the secret from stdin")?;
        let trimmed = buf.trim_end_matches(['\n', '\r']).to_string();
        zeroize::Zeroize::zeroize(&mut buf);
        return Ok(Some(Secret::new(trimmed)));
    }
    match var {
        None => Ok(None),
        Some(var) => {
            let v = env.get(var).ok_or_else(|| {
                usage(format!(
                    "{flag}-env {var}: the environment variable {var} is not set or empty"
                ))
            })?;
            Ok(Some(Secret::new(v.to_string())))
        }
    }
}

/// Raw `conn new` arguments to resolved options.
fn new_options(env: &Env, a: NewArgs) -> Result<NewOptions> {
    let mut sets = Vec::new();
    for s in &a.sets {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| usage(format!("--set {s}: expected KEY=VALUE")))?;
        sets.push((k.trim().to_string(), v.to_string()));
    }
    let yes = a.creds.yes;
    let c = credentials(env, a.creds)?;
    Ok(NewOptions {
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
    })
}

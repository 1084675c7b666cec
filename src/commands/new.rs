//! `conn new`: the wizard. Every question has a flag; with no terminal a missing answer is a
//! usage error naming that flag. Nothing is saved until the end, and only if the check passes
//! (or the user chooses to save anyway, or passed `--no-check`).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::Ctx;
use super::oauth::{self, OAuthOptions};
use crate::auth;
use crate::catalog::{AuthSpec, Provider, template};
use crate::check::{self, FoundIdentity, Outcome, Status, Target};
use crate::core::error::usage;
use crate::core::secret::{Secret, SecretBundle};
use crate::core::time::now_rfc3339;
use crate::core::ui::Question;
use crate::store::metadata::{Connection, Identity, validate_name};
use crate::store::secrets::{self, StoreKind, keychain::Keychain};
use crate::store::vault;

pub const ENVIRONMENTS: &[&str] = &["production", "sandbox"];

/// Everything `conn new` can be told up front; what is missing is asked.
#[derive(Debug, Default)]
pub struct NewOptions {
    pub name: Option<String>,
    pub provider: Option<String>,
    pub auth: Option<String>,
    pub env: Option<String>,
    pub sets: Vec<(String, String)>,
    pub username: Option<String>,
    /// The API key / password, already read from stdin or the named env var.
    pub secret: Option<Secret<String>>,
    pub no_check: bool,
    /// Take defaults without asking.
    pub yes: bool,
    /// For each HTTP request (the check).
    pub timeout: Duration,
    pub oauth: OAuthOptions,
}

#[derive(Debug, Serialize)]
pub struct Created {
    pub name: String,
    pub provider: String,
    pub auth: String,
    pub env: String,
    pub secret_store: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<FoundIdentity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<Outcome>,
}

pub fn run(ctx: &mut Ctx<'_>, mut opts: NewOptions) -> Result<Created> {
    let mut meta = ctx.metadata().load()?;
    // A team connection (`team/name`): the token must be allowed to create it, checked
    // before any sign-in starts.
    let team = match opts.name.as_deref().and_then(vault::team::split_name) {
        Some((team, short)) => {
            validate_name(short).map_err(usage)?;
            let t = ctx.team(team)?;
            t.check_mount()?;
            if t.record(short)?.is_some() {
                bail!(
                    "a connection named {team}/{short} already exists in the team store; pick another name, or see 'conn show {team}/{short}'"
                );
            }
            t.require_create(short)?;
            // The team's OAuth clients are offered like saved local ones.
            meta.clients = t.client_records()?;
            Some((t, short.to_string()))
        }
        None => {
            if let Some(name) = &opts.name {
                validate_name(name).map_err(usage)?;
                if meta.connections.contains_key(name) {
                    bail!(
                        "a connection named {name:?} already exists; pick another name, or see 'conn show {name}'"
                    );
                }
            }
            None
        }
    };
    // Find out where secrets will go before asking for any, so a broken store fails first.
    let selection = match &team {
        Some((t, _)) => secrets::Selection {
            kind: StoreKind::Vault,
            reason: format!("the connection belongs to team {}", t.name),
            automatic: false,
        },
        None => secrets::choose(&ctx.env, meta.settings.secret_store.as_deref())?,
    };
    crate::debug!("secret store: {} ({})", selection.kind, selection.reason);
    if selection.kind == StoreKind::Keychain && !selection.automatic {
        Keychain::new(&ctx.env).probe().context(
            "the OS keychain is not usable; set CONN_SECRET_STORE=file to use the encrypted file store",
        )?;
    }

    let catalog = ctx.catalog();
    let provider = pick_provider(ctx, &catalog, opts.provider.as_deref())?;
    let spec = pick_auth(ctx, provider, opts.auth.as_deref())?;
    let env = pick_env(ctx, opts.env.as_deref(), opts.yes)?;
    if !provider.environments.is_empty() && !provider.environments.contains_key(&env) {
        return Err(usage(format!(
            "{} has no {env} environment; it has: {}",
            provider.display_name,
            provider
                .environments
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let inputs = collect_inputs(ctx, provider, spec, &opts.sets, opts.yes)?;
    let name = match opts.name.clone() {
        Some(n) => n,
        None => ask_name(ctx, provider, &inputs, &meta.connections)?,
    };

    if opts.secret.is_none()
        && ctx.ui.interactive()
        && let Some(help) = spec.help()
    {
        ctx.ui.notice(help);
    }
    let username = if auth::needs_username(spec) {
        Some(match opts.username.clone() {
            Some(u) if !u.trim().is_empty() => u,
            Some(_) => return Err(usage("--username must not be empty")),
            None => {
                let label = match spec {
                    AuthSpec::Basic(b) => b
                        .username_label
                        .clone()
                        .unwrap_or_else(|| "User name".into()),
                    _ => "User name".into(),
                };
                ctx.ui
                    .input(&Question::new(&label, "--username USER"), &|v: &str| {
                        if v.trim().is_empty() {
                            Err("must not be empty".into())
                        } else {
                            Ok(())
                        }
                    })?
            }
        })
    } else {
        if opts.username.is_some() {
            return Err(usage(format!(
                "--username does not apply to auth method {}",
                spec.method()
            )));
        }
        None
    };
    let authorized = oauth::authorize(
        ctx,
        &meta,
        provider,
        spec,
        &provider.values(&env, &inputs),
        &mut opts.oauth,
        selection.kind,
        None,
    )?;
    let mut inputs = inputs;
    if let Some(a) = &authorized {
        oauth::capture_inputs(ctx, provider, spec, a, &opts.sets, &env, &mut inputs)?;
    }
    let values = provider.values(&env, &inputs);
    let (mut bundle, oauth_state, mut new_client) = match &authorized {
        Some(a) => (
            a.bundle.clone(),
            Some(a.state.clone()),
            a.new_client.clone(),
        ),
        None => (SecretBundle::new(), None, None),
    };
    let store_name = match &team {
        Some((t, _)) => vault::team::store_name(&t.name),
        None => selection.kind.as_str().to_string(),
    };
    if let Some((reg, _)) = new_client.as_mut() {
        reg.store = store_name.clone();
    }
    let mut given = opts.secret;
    for field in auth::secret_fields(spec) {
        let value = match given.take() {
            Some(v) => v,
            None => ctx.ui.secret(&Question::new(
                &field.label,
                "--secret-stdin or --secret-env VAR",
            ))?,
        };
        if value.expose().trim().is_empty() {
            return Err(usage(format!("the {} is empty", field.label)));
        }
        bundle.insert(field.key, value);
    }

    let mut identity = None;
    let mut outcome = None;
    if !opts.no_check {
        ctx.ui.notice(&format!(
            "Checking the connection to {}…",
            provider.display_name
        ));
        let client = ctx.http(opts.timeout)?;
        let o = check::check_credentials(
            &client,
            Target {
                name: &name,
                provider,
                method: spec.method(),
                inputs: &values,
            },
            username.as_deref(),
            &authorized
                .as_ref()
                .map_or_else(|| bundle.clone(), |a| a.usable()),
            check::Limits::default(),
        );
        let o = oauth::scope_check(o, spec, oauth_state.as_ref(), &name);
        if o.status == Status::Ok {
            identity = o.identity.clone();
        } else {
            let mut msg = format!("the check failed ({}): {}", o.status.as_str(), o.message);
            // Credentials just typed in are more likely mistyped than revoked.
            let hint = match o.status {
                Status::InvalidCredentials => Some(
                    "check that the whole credential was pasted, that it belongs to this account and instance, and that it is still active".to_string(),
                ),
                _ => o.hint.clone(),
            };
            if let Some(h) = hint {
                msg.push_str(&format!("\n  hint: {h}"));
            }
            if !ctx.ui.interactive() {
                bail!(
                    "{msg}\nNothing was saved. Fix the values, or pass --no-check to save without checking."
                );
            }
            ctx.ui.notice(&msg);
            let save = ctx.ui.confirm(
                &Question::new("Save the connection anyway?", "--no-check"),
                false,
            )?;
            if !save {
                bail!("nothing was saved");
            }
        }
        outcome = Some(o);
    }

    let store = match &team {
        Some((t, _)) => t.clone().secrets(),
        None => secrets::open(selection.kind, &ctx.paths, &ctx.env),
    };
    let id = new_id()?;
    let now = now_rfc3339();
    let conn = Connection {
        id: id.clone(),
        provider: provider.id.clone(),
        auth: spec.method().to_string(),
        env: env.clone(),
        store: store_name,
        inputs,
        username,
        identity: identity.as_ref().map(|i| Identity {
            id: i.id.clone(),
            label: i.label.clone(),
            instance: i.instance.clone(),
        }),
        oauth: oauth_state,
        created_at: now.clone(),
        updated_at: now.clone(),
        last_check: outcome.as_ref().map(|o| crate::store::metadata::LastCheck {
            status: o.status.as_str().to_string(),
            at: now.clone(),
            message: (o.status != Status::Ok).then(|| o.message.clone()),
        }),
        last_success: outcome
            .as_ref()
            .filter(|o| o.status == Status::Ok)
            .map(|_| now.clone()),
        authorized_at: Some(now.clone()),
    };
    warn_shared_account(ctx, &meta, &name, &conn, provider);
    if let Some((t, short)) = &team {
        // Client, secrets, then the record (create-only): a listed team connection always
        // has its secrets, and a lost race for the name takes them back out.
        crate::core::interrupt::critical(|| -> Result<()> {
            if let Some((reg, secret)) = &new_client {
                oauth::save_client_secret(ctx, reg, secret)?;
                t.put_client_record(&format!("{}/{}", reg.provider, reg.client_id), reg)?;
            }
            store.put(&id, &bundle)?;
            if let Err(e) = t.create_record(short, &conn) {
                let _ = store.delete(&id);
                return Err(e);
            }
            Ok(())
        })?;
        return Ok(Created {
            name,
            provider: provider.id.clone(),
            auth: spec.method().to_string(),
            env,
            secret_store: store.location(),
            identity,
            check: outcome,
        });
    }
    // Secret first, then metadata, as one step that Ctrl-C can't split: a listed connection
    // always has its secret, and a failed metadata write takes the secret back out.
    crate::core::interrupt::critical(|| -> Result<()> {
        if let Some((reg, secret)) = &new_client {
            oauth::save_client_secret(ctx, reg, secret)?;
        }
        store.put(&id, &bundle)?;
        let saved = ctx.metadata().update(|m| {
            if let Some((reg, _)) = &new_client {
                let key = format!("{}/{}", reg.provider, reg.client_id);
                m.clients.insert(key, reg.clone());
            }
            if m.connections.contains_key(&name) {
                bail!(
                    "a connection named {name:?} was created by another process meanwhile; nothing was saved"
                );
            }
            if selection.automatic && m.settings.secret_store.is_none() {
                m.settings.secret_store = Some(selection.kind.as_str().to_string());
            }
            m.connections.insert(name.clone(), conn);
            Ok(())
        });
        if let Err(e) = saved {
            if let Err(cleanup) = store.delete(&id) {
                return Err(e.context(format!(
                    "and its secret could not be removed again from the {} ({cleanup:#}); delete the item for id {id} by hand",
                    store.location()
                )));
            }
            return Err(e);
        }
        Ok(())
    })?;
    if selection.automatic {
        ctx.ui.notice(&format!(
            "note: secrets go to the {} store ({}) because {}. conn saved this choice and will keep using it; CONN_SECRET_STORE=keychain|file overrides it for new connections.",
            selection.kind, store.location(), selection.reason
        ));
    }
    Ok(Created {
        name,
        provider: provider.id.clone(),
        auth: spec.method().to_string(),
        env,
        secret_store: store.location(),
        identity,
        check: outcome,
    })
}

fn pick_provider<'c>(
    ctx: &mut Ctx<'_>,
    catalog: &'c crate::catalog::Catalog,
    given: Option<&str>,
) -> Result<&'c Provider> {
    if let Some(id) = given {
        return catalog.get(id).map_err(|e| usage(format!("{e:#}")));
    }
    let mut providers: Vec<&Provider> = catalog.entries().map(|e| &e.provider).collect();
    providers.sort_by_key(|p| p.display_name.to_lowercase());
    // Categories are part of each line, so typing "crm" or "support" filters by them.
    let items: Vec<String> = providers
        .iter()
        .map(|p| match p.categories.is_empty() {
            true => format!("{} ({})", p.display_name, p.id),
            false => format!(
                "{} ({})  · {}",
                p.display_name,
                p.id,
                p.categories.join(", ")
            ),
        })
        .collect();
    let i = ctx.ui.select(
        &Question::new(
            "App (type to filter) by name or category, e.g. crm",
            "--provider ID",
        ),
        &items,
        0,
    )?;
    Ok(providers[i])
}

fn pick_auth<'p>(
    ctx: &mut Ctx<'_>,
    provider: &'p Provider,
    given: Option<&str>,
) -> Result<&'p AuthSpec> {
    if let Some(m) = given {
        return provider.auth(m).ok_or_else(|| {
            usage(format!(
                "{} does not support auth method {m:?}; it supports: {}",
                provider.display_name,
                provider.methods().join(", ")
            ))
        });
    }
    if provider.auth.len() == 1 {
        return Ok(&provider.auth[0]);
    }
    let items: Vec<String> = provider
        .auth
        .iter()
        .map(|a| format!("{} [{}]", a.label(), a.method()))
        .collect();
    let flag = format!("--auth {}", provider.methods().join("|"));
    let i = ctx
        .ui
        .select(&Question::new("How do you sign in?", &flag), &items, 0)?;
    Ok(&provider.auth[i])
}

fn pick_env(ctx: &mut Ctx<'_>, given: Option<&str>, yes: bool) -> Result<String> {
    if let Some(e) = given {
        if !ENVIRONMENTS.contains(&e) {
            return Err(usage(format!(
                "--env must be one of: {}",
                ENVIRONMENTS.join(", ")
            )));
        }
        return Ok(e.to_string());
    }
    if yes || !ctx.ui.interactive() {
        return Ok(ENVIRONMENTS[0].to_string());
    }
    let items: Vec<String> = ENVIRONMENTS.iter().map(|s| s.to_string()).collect();
    let i = ctx.ui.select(
        &Question::new("Environment", "--env production|sandbox"),
        &items,
        0,
    )?;
    Ok(ENVIRONMENTS[i].to_string())
}

/// The inputs that matter for `spec`: all of them except those only another method uses.
fn relevant_inputs<'p>(provider: &'p Provider, spec: &AuthSpec) -> Vec<&'p crate::catalog::Input> {
    let mut other_only: Vec<String> = Vec::new();
    for a in &provider.auth {
        if let AuthSpec::ApiKey(k) = a
            && a.method() != spec.method()
        {
            other_only.extend(template::names(&k.name));
            other_only.extend(template::names(&k.prefix));
        }
    }
    if let AuthSpec::ApiKey(k) = spec {
        let mine: Vec<String> = [template::names(&k.name), template::names(&k.prefix)].concat();
        other_only.retain(|n| !mine.contains(n));
    }
    provider
        .inputs
        .iter()
        .filter(|i| !other_only.contains(&i.name))
        .collect()
}

fn collect_inputs(
    ctx: &mut Ctx<'_>,
    provider: &Provider,
    spec: &AuthSpec,
    sets: &[(String, String)],
    yes: bool,
) -> Result<BTreeMap<String, String>> {
    for (k, _) in sets {
        if !provider.inputs.iter().any(|i| &i.name == k) {
            let known: Vec<&str> = provider.inputs.iter().map(|i| i.name.as_str()).collect();
            return Err(usage(if known.is_empty() {
                format!("--set {k}=...: {} takes no inputs", provider.display_name)
            } else {
                format!(
                    "--set {k}=...: {} has no input {k:?}; its inputs are: {}",
                    provider.display_name,
                    known.join(", ")
                )
            }));
        }
    }
    let mut values = BTreeMap::new();
    for input in relevant_inputs(provider, spec) {
        match input.capture() {
            None => {}
            // A site picked after sign-in may be named up front; it is checked then.
            Some(crate::catalog::Capture::Pick) => continue,
            Some(_) => {
                if sets.iter().any(|(k, _)| k == &input.name) {
                    return Err(usage(format!(
                        "--set {}: {} is taken from the sign-in ({}), not given",
                        input.name,
                        input.label,
                        input.capture.as_deref().unwrap_or_default()
                    )));
                }
                continue;
            }
        }
        let given = sets
            .iter()
            .rev()
            .find(|(k, _)| k == &input.name)
            .map(|(_, v)| v.clone());
        let value = match given {
            Some(v) => {
                input
                    .validate(&v)
                    .map_err(|e| usage(format!("--set {}: {e}", input.name)))?;
                v
            }
            None if (yes || !ctx.ui.interactive())
                && (input.default.is_some() || input.optional) =>
            {
                input.default.clone().unwrap_or_default()
            }
            None => {
                let flag = format!("--set {}=VALUE", input.name);
                ctx.ui.input(
                    &Question::new(&input.label, &flag)
                        .default(input.default.as_deref())
                        .help(input.help.as_deref()),
                    &|v: &str| input.validate(v),
                )?
            }
        };
        values.insert(input.name.clone(), value);
    }
    Ok(values)
}

fn ask_name(
    ctx: &mut Ctx<'_>,
    provider: &Provider,
    inputs: &BTreeMap<String, String>,
    existing: &BTreeMap<String, Connection>,
) -> Result<String> {
    let first = provider.inputs.iter().find(|i| i.capture.is_none());
    let base = match first.and_then(|i| inputs.get(&i.name)) {
        Some(v) if validate_name(&format!("{}-{v}", provider.id)).is_ok() && v.len() <= 24 => {
            format!("{}-{v}", provider.id)
        }
        _ => provider.id.clone(),
    };
    let mut suggestion = base.clone();
    let mut n = 2;
    while existing.contains_key(&suggestion) {
        suggestion = format!("{base}-{n}");
        n += 1;
    }
    ctx.ui.input(
        &Question::new("Connection name", "NAME (the first argument)").default(Some(&suggestion)),
        &|v: &str| {
            validate_name(v)?;
            if existing.contains_key(v) {
                return Err(format!("a connection named {v:?} already exists"));
            }
            Ok(())
        },
    )
}

/// A random id for the connection's secrets, stable across renames.
pub fn new_id() -> Result<String> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no randomness available: {e}"))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Many apps keep one active grant per user (or a few): a new connection for an account that
/// another connection already uses may silently invalidate that one.
pub fn warn_shared_account(
    ctx: &mut Ctx<'_>,
    meta: &crate::store::metadata::Metadata,
    name: &str,
    conn: &Connection,
    provider: &Provider,
) {
    let others = crate::store::metadata::same_account(meta, name, conn);
    if others.is_empty() {
        return;
    }
    let who = conn
        .identity
        .as_ref()
        .and_then(|i| i.label.as_deref().or(i.id.as_deref()))
        .unwrap_or("the same account");
    let names: Vec<String> = others.iter().map(|(n, _)| format!("'{n}'")).collect();
    let limit = match provider
        .lifecycle
        .as_ref()
        .and_then(|l| l.max_active_grants)
    {
        Some(n) if n > 0 => format!(
            "{} keeps at most {n} active authorization(s) per user",
            provider.display_name
        ),
        _ => format!(
            "{} may keep only one active authorization per user, as many apps do",
            provider.display_name
        ),
    };
    ctx.ui.notice(&format!(
        "warning: {} already connect(s) as {who}. {limit}, so this sign-in can invalidate {}. Consider reusing it ('conn token {}') instead of a second connection.",
        names.join(", "),
        names.join(", "),
        others[0].0
    ));
}

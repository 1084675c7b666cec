//! Making, re-making and removing connections: `create` (the wizard of `conn new`), `replace`
//! (`conn reauth`: new credentials in place), `remove`, `rename`. The save order is written
//! once, in `save`: the secret first, then the metadata, as one step Ctrl-C can't split.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::clients::{OAuthOptions, client_key, save_client_secret};
use super::sign_in::{self, Authorized, Subject};
use super::wizard::{ask_name, ask_scopes, collect_inputs, pick_auth, pick_env, pick_provider};
use super::{Base, Ctx, credentials, find, find_mut, new_id, resolve};
use crate::auth::{self, Method};
use crate::catalog::{AuthSpec, Provider};
use crate::check::{self, CheckStatus, Identity, Outcome, Target};
use crate::core::error::usage;
use crate::core::secret::{Secret, SecretBundle, cleaned};
use crate::core::time::now_rfc3339;
use crate::core::ui::Question;
use crate::core::vocab::{AuthMethod, Environment, StoreKind};
use crate::store::bindings::{Binding, BindingsStore};
use crate::store::metadata::{
    Connection, Edit, LastCheck, Metadata, OAuthClient, same_account, validate_name,
};
use crate::store::secrets::{self, SecretStore, keychain::Keychain};
use crate::store::vault;

/// Everything `conn new` can be told up front; what is missing is asked.
#[derive(Debug, Default)]
pub(crate) struct NewOptions {
    pub(crate) name: Option<String>,
    pub(crate) provider: Option<String>,
    pub(crate) auth: Option<AuthMethod>,
    pub(crate) env: Option<Environment>,
    pub(crate) sets: Vec<(String, String)>,
    pub(crate) username: Option<String>,
    /// The API key / password, already read from stdin or the named env var.
    pub(crate) secret: Option<Secret<String>>,
    pub(crate) no_check: bool,
    /// Take defaults without asking.
    pub(crate) yes: bool,
    /// For each HTTP request (the check).
    pub(crate) timeout: Duration,
    pub(crate) oauth: OAuthOptions,
}

/// What `conn new` made.
#[derive(Debug, Serialize)]
pub(crate) struct Created {
    pub(crate) name: String,
    pub(crate) provider: String,
    pub(crate) auth: AuthMethod,
    pub(crate) env: Environment,
    pub(crate) secret_store: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) identity: Option<Identity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) check: Option<Outcome>,
}

/// The wizard: asks what `opts` leaves open, signs in or takes the secret, checks, saves.
/// Nothing is saved until the end, and only if the check passes (or the person chooses to save
/// anyway, or passed `--no-check`).
pub(crate) fn create(ctx: &mut Ctx<'_>, mut opts: NewOptions) -> Result<Created> {
    // With a name given, the other connections are not needed until the same-account check
    // (and only when the check reported an identity): their tables are not read.
    let mut meta = match &opts.name {
        Some(name) => ctx.metadata().load_around(name)?,
        None => ctx.metadata().load()?,
    };
    // A team connection (`team/name`): the token must be allowed to create it, which is
    // asked before any sign-in starts.
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
        None => secrets::choose(&ctx.env, meta.settings.secret_store)?,
    };
    log::debug!("secret store: {} ({})", selection.kind, selection.reason);
    if selection.kind == StoreKind::Keychain && !selection.automatic {
        Keychain::new(&ctx.env)
            .probe()
            .map(drop)
            .context("the OS keychain is not usable")?;
    }

    let catalog = ctx.catalog();
    let provider = pick_provider(ctx, &catalog, opts.provider.as_deref())?;
    // The provider decides the questions; from here a script learns every missing flag at
    // once (`missing_answers` below) rather than one per run.
    ctx.ui.defer_missing();
    let spec = pick_auth(ctx, provider, opts.auth)?;
    let method = auth::method_of(spec);
    let env = pick_env(ctx, provider, opts.env, opts.yes)?;
    if !provider.environments.is_empty() && !provider.environments.contains_key(env.as_str()) {
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
    provider.method_in_env(spec, env).map_err(usage)?;
    let collected = collect_inputs(ctx, provider, spec, env, &opts.sets, opts.yes)?;
    let inputs = collected.values;
    // A generic OAuth 2.0 provider names no scopes: offer the server's.
    if let (AuthSpec::OAuth2(o), Some(supported)) = (spec, &collected.scopes_supported)
        && o.scopes.is_empty()
        && opts.oauth.scopes.is_none()
    {
        opts.oauth.scopes = ask_scopes(ctx, supported, opts.yes)?;
    }
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
    let username = match method.username_label() {
        Some(label) => Some(match opts.username.clone() {
            Some(u) if !u.trim().is_empty() => u,
            Some(_) => return Err(usage("--username must not be empty")),
            None => ctx
                .ui
                .input(&Question::new(&label, "--username USER"), &|v: &str| {
                    if v.trim().is_empty() {
                        Err("must not be empty".into())
                    } else {
                        Ok(())
                    }
                })?,
        }),
        None => {
            if opts.username.is_some() {
                return Err(usage(format!(
                    "--username does not apply to auth method {}",
                    spec.method()
                )));
            }
            None
        }
    };
    // A key or password is asked with the other answers (before any sign-in), so a script
    // missing it hears so together with the rest.
    let typed = match method.client_needs() {
        None => Some(ask_secrets(ctx, method, opts.secret.take(), "")?),
        Some(_) => None,
    };
    ctx.ui.missing_answers()?;
    let authorized = sign_in::authorize(
        ctx,
        Subject {
            meta: &meta,
            provider,
            spec,
            values: &resolve::values_for(provider, env, &inputs),
            store: selection.kind,
            previous: None,
        },
        &mut opts.oauth,
    )?;
    let mut inputs = inputs;
    if let Some(a) = &authorized {
        sign_in::capture_inputs(ctx, provider, spec, a, &opts.sets, env, &mut inputs)?;
    }
    let (bundle, oauth_state, mut new_client) = match &authorized {
        Some(a) => (
            a.bundle.clone(),
            Some(a.state.clone()),
            a.new_client.clone(),
        ),
        None => (
            match typed {
                Some(b) => b,
                None => ask_secrets(ctx, method, opts.secret.take(), "")?,
            },
            None,
            None,
        ),
    };

    let mut identity = None;
    let mut outcome = None;
    let (mut bundle, mut username) = (bundle, username);
    // Checked until it works, the person saves it anyway, or gives up; `--no-check` skips.
    loop {
        if opts.no_check {
            break;
        }
        ctx.ui.notice(&format!(
            "Checking the connection to {}…",
            provider.display_name
        ));
        let usable = authorized
            .as_ref()
            .map_or_else(|| bundle.clone(), Authorized::usable);
        let o = check_new(
            ctx,
            provider,
            spec,
            &name,
            env,
            &inputs,
            username.as_deref(),
            &usable,
            opts.timeout,
        )?;
        let o = sign_in::scope_check(o, spec, oauth_state.as_ref(), &name);
        if o.status == CheckStatus::Ok {
            identity = o.identity.clone();
            outcome = Some(o);
            break;
        }
        let mut msg = format!("the check failed ({}): {}", o.status, o.message);
        // Credentials just typed in are more likely mistyped than revoked; when inputs say how
        // the key is sent (the http provider's header and prefix), those are suspects too.
        let hint = match o.status {
            CheckStatus::InvalidCredentials => Some(
                match method.sent_as(&resolve::values_for(provider, env, &inputs)) {
                    Some(shape) => format!(
                        "conn sent the key as `{shape}`: check how it is sent (the header or parameter name, the text before the key) as well as the key (the whole key, of this account and instance, still active)"
                    ),
                    None => "check that the whole credential was pasted, that it belongs to this account and instance, and that it is still active".to_string(),
                },
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
        // Typed answers can be corrected one at a time and checked again; a sign-in is not
        // redone here.
        let mut answers = Answers {
            provider,
            spec,
            method,
            env,
            inputs: &mut inputs,
            username: &mut username,
            bundle: &mut bundle,
        };
        if !answers.what_now(ctx, o.status, authorized.is_some())? {
            outcome = Some(o);
            break;
        }
    }

    if let (Some((t, _)), Some((reg, _))) = (&team, new_client.as_mut()) {
        reg.team = Some(t.name.clone());
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
        auth: spec.method(),
        env,
        store: selection.kind,
        inputs,
        username,
        identity: identity.clone(),
        oauth: oauth_state,
        created_at: now.clone(),
        updated_at: now.clone(),
        last_check: outcome.as_ref().map(|o| LastCheck {
            status: o.status,
            at: now.clone(),
            message: (o.status != CheckStatus::Ok).then(|| o.message.clone()),
        }),
        last_success: outcome
            .as_ref()
            .filter(|o| o.status == CheckStatus::Ok)
            .map(|_| now.clone()),
        authorized_at: Some(now.clone()),
        team: team.as_ref().map(|(t, _)| t.name.clone()),
    };
    if conn.identity.is_some() {
        let all = ctx.metadata().load()?;
        warn_shared_account(ctx, &all, &name, &conn, provider);
    }
    if let Some((t, short)) = &team {
        save_in_team(ctx, t, short, store.as_ref(), &conn, &bundle, &new_client)?;
        return Ok(Created {
            name,
            provider: provider.id.clone(),
            auth: spec.method(),
            env,
            secret_store: store.location(),
            identity,
            check: outcome,
        });
    }
    // A connection added alone (no settings or client registration to save with it) can be
    // appended to the file as text.
    let alone =
        new_client.is_none() && !(selection.automatic && meta.settings.secret_store.is_none());
    let added = conn.clone();
    save(
        ctx,
        store.as_ref(),
        &id,
        &bundle,
        &new_client,
        Undo::DeleteSecret,
        alone.then_some(Edit::Insert {
            name: &name,
            conn: &added,
        }),
        |m| {
            if m.connections.contains_key(&name) {
                bail!(
                    "a connection named {name:?} was created by another process meanwhile; nothing was saved"
                );
            }
            if selection.automatic && m.settings.secret_store.is_none() {
                m.settings.secret_store = Some(selection.kind);
            }
            m.connections.insert(name.clone(), conn);
            Ok(())
        },
    )?;
    if selection.automatic {
        ctx.ui.notice(&format!(
            "note: secrets go to the {} store ({}) because {}. conn saved this choice and will keep using it; CONN_SECRET_STORE=keychain|file overrides it for new connections.",
            selection.kind, store.location(), selection.reason
        ));
    }
    Ok(Created {
        name,
        provider: provider.id.clone(),
        auth: spec.method(),
        env,
        secret_store: store.location(),
        identity,
        check: outcome,
    })
}

/// The typed answers of a wizard run, which the person may correct after a failed check.
struct Answers<'a, 'p> {
    provider: &'p Provider,
    spec: &'p AuthSpec,
    method: &'p dyn Method,
    env: Environment,
    inputs: &'a mut std::collections::BTreeMap<String, String>,
    username: &'a mut Option<String>,
    bundle: &'a mut SecretBundle,
}

/// One choice after a failed check.
enum Choice<'p> {
    Input(&'p crate::catalog::Input),
    Username(String),
    Secret(auth::SecretField),
    Save,
    GiveUp,
}

impl<'p> Answers<'_, 'p> {
    /// After a failed check with `status`: the person changes one typed answer (the cursor
    /// starts on the likeliest culprit) and `Ok(true)` means check again; or saves anyway,
    /// `Ok(false)`; or gives up, an error that nothing was saved. Only saving or giving up is
    /// offered after a sign-in (`signed_in`).
    fn what_now(
        &mut self,
        ctx: &mut Ctx<'_>,
        status: CheckStatus,
        signed_in: bool,
    ) -> Result<bool> {
        let mut choices: Vec<(String, Choice<'p>)> = Vec::new();
        if !signed_in {
            for i in super::wizard::relevant_inputs(self.provider, self.spec) {
                if i.capture.is_none() {
                    let v = self.inputs.get(&i.name).cloned().unwrap_or_default();
                    choices.push((format!("Change {}: {v:?}", i.label), Choice::Input(i)));
                }
            }
            if let (Some(label), Some(u)) = (self.method.username_label(), self.username.as_ref()) {
                choices.push((format!("Change {label}: {u:?}"), Choice::Username(label)));
            }
            for f in self.method.secret_fields() {
                choices.push((format!("Change {} (hidden)", f.label), Choice::Secret(f)));
            }
        }
        let first_fix = choices.len();
        choices.push(("Save it anyway, as it is".into(), Choice::Save));
        choices.push(("Give up; nothing is saved".into(), Choice::GiveUp));
        let suspect = self
            .suspect(status, &choices[..first_fix])
            .unwrap_or(choices.len() - 1);
        let items: Vec<String> = choices.iter().map(|(l, _)| l.clone()).collect();
        let i = ctx.ui.select(
            &Question::new("The check failed. What now?", "--no-check"),
            &items,
            suspect,
        )?;
        match &choices[i].1 {
            Choice::Save => return Ok(false),
            Choice::GiveUp => bail!("nothing was saved"),
            Choice::Input(input) => {
                let before = self.inputs.clone();
                let current = self.inputs.get(&input.name).cloned();
                let v = super::wizard::ask_input(ctx, self.provider, input, current.as_deref())?;
                self.inputs.insert(input.name.clone(), v);
                for name in super::wizard::rederive(self.provider, self.env, &before, self.inputs) {
                    let label = self
                        .provider
                        .inputs
                        .iter()
                        .find(|i| i.name == name)
                        .map_or(name.as_str(), |i| i.label.as_str());
                    let v = self.inputs.get(&name).cloned().unwrap_or_default();
                    ctx.ui
                        .notice(&format!("{label}: now {v:?}, following that answer"));
                }
            }
            Choice::Username(label) => {
                let v = ctx.ui.input(
                    &Question::new(label, "--username USER").default(self.username.as_deref()),
                    &|v: &str| {
                        if v.trim().is_empty() {
                            Err("must not be empty".into())
                        } else {
                            Ok(())
                        }
                    },
                )?;
                *self.username = Some(v);
            }
            Choice::Secret(field) => {
                let v = ctx.ui.secret(&Question::new(
                    &field.label,
                    "--secret-stdin or --secret-env VAR",
                ))?;
                let v = cleaned(&field.label, v.expose()).map_err(|e| usage(format!("{e:#}")))?;
                if v.expose().trim().is_empty() {
                    return Err(usage(format!("the {} is empty", field.label)));
                }
                self.bundle.insert(field.key, v);
            }
        }
        Ok(true)
    }

    /// The index in `fixes` of the answer most likely wrong for a check that ended in
    /// `status`: the secret when it was refused; the inputs of the API's address when it was
    /// unreachable; those of the check's path, then of the address, for anything else.
    fn suspect(&self, status: CheckStatus, fixes: &[(String, Choice<'_>)]) -> Option<usize> {
        let secret = fixes
            .iter()
            .position(|(_, c)| matches!(c, Choice::Secret(_)));
        let named_in = |template: &str| {
            let names = crate::catalog::template::names(template);
            fixes
                .iter()
                .position(|(_, c)| matches!(c, Choice::Input(i) if names.contains(&i.name)))
        };
        let address = named_in(&self.provider.api.base_url);
        match status {
            CheckStatus::InvalidCredentials
            | CheckStatus::InsufficientPermissions
            | CheckStatus::NeedsReauth
            | CheckStatus::SecretMissing => secret,
            CheckStatus::Unreachable => address.or(secret),
            _ => named_in(&self.provider.check.path).or(address).or(secret),
        }
    }
}

/// Asks for (or takes `given` as) each secret the method needs.
fn ask_secrets(
    ctx: &mut Ctx<'_>,
    method: &dyn Method,
    mut given: Option<Secret<String>>,
    label_prefix: &str,
) -> Result<SecretBundle> {
    let mut bundle = SecretBundle::new();
    for field in method.secret_fields() {
        let value = match given.take() {
            Some(v) => v,
            None => ctx.ui.secret(&Question::new(
                &format!("{label_prefix}{}", field.label),
                "--secret-stdin or --secret-env VAR",
            ))?,
        };
        // Every source alike (prompt, stdin, variable): a trailing CR/LF goes, other control
        // characters are refused.
        let value = cleaned(&field.label, value.expose()).map_err(|e| usage(format!("{e:#}")))?;
        bundle.insert(field.key, value);
    }
    ctx.ui.missing_answers()?;
    for field in method.secret_fields() {
        if bundle
            .get(field.key)
            .is_none_or(|v| v.expose().trim().is_empty())
        {
            return Err(usage(format!("the {} is empty", field.label)));
        }
    }
    Ok(bundle)
}

/// The check request with credentials not saved yet.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_new(
    ctx: &Ctx<'_>,
    provider: &Provider,
    spec: &AuthSpec,
    name: &str,
    env: Environment,
    inputs: &std::collections::BTreeMap<String, String>,
    username: Option<&str>,
    bundle: &SecretBundle,
    timeout: Duration,
) -> Result<Outcome> {
    let client = ctx.http(timeout)?;
    Ok(check::check_credentials(
        &client,
        Target {
            name,
            provider,
            method: spec.method(),
            values: &resolve::values_for(provider, env, inputs),
        },
        username,
        bundle,
        check::Limits::default(),
    ))
}

/// What to do with a just-written secret when the metadata write after it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Undo {
    /// A new connection: take the secret back out.
    DeleteSecret,
    /// A connection re-authorized in place: its new secret stays (the old one is gone).
    Keep,
}

/// Saves a connection: a new client registration's secret, the connection's secrets, then the
/// metadata (`change`, with the new registration added), as one step that Ctrl-C can't split.
/// A listed connection always has its secret. `edit`, when given, says what `change` does, so
/// the metadata store can make it as a text edit (see `MetadataStore::edit`).
#[allow(clippy::too_many_arguments)]
fn save(
    ctx: &Base,
    store: &dyn SecretStore,
    id: &str,
    bundle: &SecretBundle,
    new_client: &Option<(OAuthClient, Option<Secret<String>>)>,
    undo: Undo,
    edit: Option<Edit<'_>>,
    change: impl FnOnce(&mut Metadata) -> Result<()>,
) -> Result<()> {
    crate::core::interrupt::critical(|| -> Result<()> {
        if let Some((reg, secret)) = new_client {
            save_client_secret(ctx, reg, secret)?;
        }
        // One write replaces the whole bundle: old and new secrets never mix.
        store.put(id, bundle)?;
        let with_client = |m: &mut Metadata| {
            if let Some((reg, _)) = new_client {
                m.clients
                    .insert(client_key(&reg.provider, &reg.client_id), reg.clone());
            }
            change(m)
        };
        let saved = match edit {
            Some(e) if new_client.is_none() => ctx.metadata().edit(e, with_client),
            _ => ctx.metadata().update(with_client),
        };
        match (saved, undo) {
            (Ok(()), _) => Ok(()),
            (Err(e), Undo::Keep) => Err(e),
            (Err(e), Undo::DeleteSecret) => match store.delete(id) {
                Ok(_) => Err(e),
                Err(cleanup) => Err(e.context(format!(
                    "and its secret could not be removed again from the {} ({cleanup:#}); delete the item for id {id} by hand",
                    store.location()
                ))),
            },
        }
    })
}

/// Saves a team connection: a new client's secret and record, the secrets, then the record
/// (create-only), as one step Ctrl-C can't split. A listed team connection always has its
/// secrets, and losing the race for the name takes them back out.
fn save_in_team(
    ctx: &Base,
    t: &vault::Team,
    short: &str,
    store: &dyn SecretStore,
    conn: &Connection,
    bundle: &SecretBundle,
    new_client: &Option<(OAuthClient, Option<Secret<String>>)>,
) -> Result<()> {
    crate::core::interrupt::critical(|| -> Result<()> {
        if let Some((reg, secret)) = new_client {
            save_client_secret(ctx, reg, secret)?;
            t.put_client_record(&client_key(&reg.provider, &reg.client_id), reg)?;
        }
        store.put(&conn.id, bundle)?;
        if let Err(e) = t.create_record(short, conn) {
            let _ = store.delete(&conn.id);
            return Err(e);
        }
        Ok(())
    })
}

/// What `conn reauth` did.
#[derive(Debug, Serialize)]
pub(crate) struct Reauthed {
    pub(crate) name: String,
    pub(crate) provider: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) identity: Option<Identity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) previous_identity: Option<Identity>,
    pub(crate) check: Outcome,
}

/// What `conn reauth` can be told up front.
#[derive(Debug, Default)]
pub(crate) struct ReauthOptions {
    pub(crate) username: Option<String>,
    pub(crate) secret: Option<Secret<String>>,
    pub(crate) oauth: OAuthOptions,
    pub(crate) request_timeout: Duration,
}

/// New credentials for connection `name`, in place. The old secret stays until the new one
/// has been obtained and checked; a different account than before is replaced only when the
/// person says so (or `--yes`).
pub(crate) fn replace(ctx: &mut Ctx<'_>, name: &str, mut opts: ReauthOptions) -> Result<Reauthed> {
    let mut meta = ctx.metadata().load()?;
    // A team connection: its record comes from the team store, and the token must be allowed
    // to write its secrets, which is asked before any sign-in starts.
    let team = match vault::team::split_name(name) {
        Some((team, short)) => {
            let t = ctx.team(team)?;
            t.check_mount()?;
            let Some(conn) = t.record(short)? else {
                bail!("no connection named {short:?} in team {team} (see 'conn list')");
            };
            let may_edit_record = t.require_reauth(short, &conn.id)?;
            // The team's OAuth clients, where the sign-in finds the connection's client.
            meta.clients.extend(t.client_records()?);
            Some(TeamReauth {
                team: t,
                short: short.to_string(),
                may_edit_record,
                conn,
            })
        }
        None => None,
    };
    let conn = match &team {
        Some(tr) => tr.conn.clone(),
        None => find(&meta, name)?.clone(),
    };
    let catalog = ctx.catalog();
    let provider = catalog.get(&conn.provider)?;
    let spec = resolve::spec(provider, &conn)?;
    let method = auth::method_of(spec);

    let mut username = conn.username.clone();
    let authorized = sign_in::authorize(
        ctx,
        Subject {
            meta: &meta,
            provider,
            spec,
            values: &resolve::values(provider, &conn),
            store: conn.store,
            previous: conn.oauth.as_ref(),
        },
        &mut opts.oauth,
    )?;
    // Captured inputs (an instance URL, a company id) are taken again from the new sign-in;
    // a picked site stays unless the sign-in no longer covers it.
    let mut inputs = conn.inputs.clone();
    if let Some(a) = &authorized {
        let keep: Vec<(String, String)> =
            inputs.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        sign_in::capture_inputs(ctx, provider, spec, a, &keep, conn.env, &mut inputs)?;
    }
    let (bundle, usable, oauth_state, new_client) = match authorized {
        Some(a) => {
            let usable = a.usable();
            (a.bundle, usable, Some(a.state), a.new_client)
        }
        None => {
            if method.username_label().is_some()
                && let Some(u) = opts.username.take()
            {
                username = Some(u);
            }
            let b = ask_secrets(ctx, method, opts.secret.take(), "New ")?;
            (b.clone(), b, conn.oauth.clone(), None)
        }
    };

    ctx.ui
        .notice(&format!("Checking the new credentials of {name}…"));
    let outcome = check_new(
        ctx,
        provider,
        spec,
        name,
        conn.env,
        &inputs,
        username.as_deref(),
        &usable,
        opts.request_timeout,
    )?;
    let outcome = sign_in::scope_check(outcome, spec, oauth_state.as_ref(), name);
    if outcome.status != CheckStatus::Ok {
        bail!(
            "the new credentials don't work ({}): {}\nThe connection still has its old credentials.",
            outcome.status,
            outcome.message
        );
    }
    let found = outcome.identity.clone();
    // Another account is not for a user's token to decide: refused before asking.
    if let (Some(tr), Some(new)) = (&team, &found) {
        tr.may_change(differs(&conn.identity, new))?;
    }
    if let (Some(old), Some(new)) = (&conn.identity, &found)
        && old.differs(new)
    {
        let q = format!(
            "{name} was connected as {}, and these credentials are for {}. Replace the account?",
            old.display().unwrap_or("?"),
            new.display().unwrap_or("?")
        );
        let ok = if opts.oauth.yes {
            true
        } else if !ctx.ui.interactive() {
            return Err(usage(format!(
                "{q} Refusing without a terminal; pass --yes to replace it"
            )));
        } else {
            ctx.ui.confirm(&Question::new(&q, "--yes"), false)?
        };
        if !ok {
            bail!("kept the old credentials of {name}");
        }
    }

    let mut probe = conn.clone();
    if let Some(f) = &found {
        probe.identity = Some(f.clone());
    }
    warn_shared_account(ctx, &meta, name, &probe, provider);

    let store = ctx.secrets_of(&conn)?;
    let now = now_rfc3339();
    if let Some(tr) = &team {
        let mut changed = conn.clone();
        changed.username = username.clone();
        changed.inputs = inputs.clone();
        changed.oauth = oauth_state.clone();
        if let Some(f) = &found {
            changed.identity = Some(f.clone());
        }
        save_reauth_in_team(
            ctx,
            tr,
            store.as_ref(),
            &changed,
            &bundle,
            &new_client,
            &now,
        )?;
        return Ok(Reauthed {
            name: name.to_string(),
            provider: provider.id.clone(),
            identity: found,
            previous_identity: conn.identity.clone(),
            check: outcome,
        });
    }
    save(
        ctx,
        store.as_ref(),
        &conn.id,
        &bundle,
        &new_client,
        Undo::Keep,
        None,
        |m| {
            let c = find_mut(m, name, &conn.id)?;
            c.username = username.clone();
            c.inputs = inputs.clone();
            c.oauth = oauth_state.clone();
            if let Some(f) = &found {
                c.identity = Some(f.clone());
            }
            c.updated_at = now.clone();
            c.last_check = Some(LastCheck {
                status: CheckStatus::Ok,
                at: now.clone(),
                message: None,
            });
            c.last_success = Some(now.clone());
            c.authorized_at = Some(now.clone());
            Ok(())
        },
    )?;
    Ok(Reauthed {
        name: name.to_string(),
        provider: provider.id.clone(),
        identity: found,
        previous_identity: conn.identity.clone(),
        check: outcome,
    })
}

/// A team connection being re-authorized: its team store, short name, record as read, and
/// whether this token may update the record (admin) or only the secrets (user).
struct TeamReauth {
    team: std::sync::Arc<vault::Team>,
    short: String,
    may_edit_record: bool,
    conn: Connection,
}

impl TeamReauth {
    /// A token that may only replace the tokens (the user policy) may not change what the
    /// record says.
    fn may_change(&self, record_changes: bool) -> Result<()> {
        if record_changes && !self.may_edit_record {
            bail!(
                "the new sign-in changes what the record of {team}/{short} says (account, inputs, user name or OAuth client), and changing the record needs the conn-{team}-admin policy; this token may only replace the tokens. The connection still has its old credentials.",
                team = self.team.name,
                short = self.short
            );
        }
        Ok(())
    }
}

fn differs(old: &Option<Identity>, new: &Identity) -> bool {
    old.as_ref().is_some_and(|o| o.differs(new))
}

/// Saves a team connection's new credentials in place, as one step Ctrl-C can't split: a new
/// OAuth client (admin), then the secret bundle with check-and-set (which drops any
/// `conn:needs_reauth` mark and any refresh claim: a host still refreshing loses its final
/// write and takes the new tokens), then the record with check-and-set when the token may edit
/// it, and the check result in `status/`. A token that may only update the secrets (the user
/// policy) keeps the record as it is, so it may not change what the record says (the account,
/// inputs, user name or client).
fn save_reauth_in_team(
    ctx: &Base,
    tr: &TeamReauth,
    store: &dyn SecretStore,
    changed: &Connection,
    bundle: &SecretBundle,
    new_client: &Option<(OAuthClient, Option<Secret<String>>)>,
    now: &str,
) -> Result<()> {
    let (t, short, old) = (&tr.team, tr.short.as_str(), &tr.conn);
    tr.may_change(
        new_client.is_some()
            || changed.username != old.username
            || changed.inputs != old.inputs
            || changed
                .identity
                .as_ref()
                .is_some_and(|n| differs(&old.identity, n)),
    )?;
    crate::core::interrupt::critical(|| -> Result<()> {
        if let Some((reg, secret)) = new_client {
            let mut reg = reg.clone();
            reg.team = Some(t.name.clone());
            save_client_secret(ctx, &reg, secret)?;
            t.put_client_record(&client_key(&reg.provider, &reg.client_id), &reg)?;
        }
        store.put(&old.id, bundle)?;
        if tr.may_edit_record {
            t.update_entry("meta", short, false, "edit connections", &|m| {
                let mut c: Connection =
                    serde_json::from_value(serde_json::Value::Object(m.clone()))?;
                if c.id != old.id {
                    bail!(
                        "{}/{short} was replaced by another connection meanwhile; its new tokens went to the old one's secrets, which nothing uses now",
                        t.name
                    );
                }
                c.username = changed.username.clone();
                c.inputs = changed.inputs.clone();
                c.oauth = changed.oauth.clone();
                c.identity = changed.identity.clone().or(c.identity);
                c.updated_at = now.to_string();
                c.authorized_at = Some(now.to_string());
                c.last_check = Some(LastCheck {
                    status: CheckStatus::Ok,
                    at: now.to_string(),
                    message: None,
                });
                c.last_success = Some(now.to_string());
                if let serde_json::Value::Object(o) = serde_json::to_value(&c)? {
                    *m = o;
                }
                Ok(())
            })?;
        }
        // The check just passed: every role may record that in status/.
        let saved = t.update_entry("status", short, true, "record checks", &|m| {
            for (k, v) in [("status", "ok"), ("at", now), ("last_success", now)] {
                m.insert(k.into(), serde_json::Value::String(v.to_string()));
            }
            m.remove("message");
            Ok(())
        });
        if let Err(e) = saved {
            log::debug!(
                "{}/{short}: the check result was not recorded: {e:#}",
                t.name
            );
        }
        Ok(())
    })
}

/// What `conn rm` did.
#[derive(Debug, Serialize)]
pub(crate) struct Removed {
    pub(crate) name: String,
    /// False when the person said no.
    pub(crate) removed: bool,
    /// Whether the OAuth grant was revoked at the provider.
    pub(crate) revoked: bool,
    /// The recipe bindings it played, now unbound.
    pub(crate) unbound: Vec<Binding>,
    pub(crate) warnings: Vec<String>,
}

/// Forgets connection `name` and deletes its secrets, revoking its grant at the provider first
/// unless `keep_remote`. Asks first unless `yes`.
pub(crate) fn remove(
    ctx: &mut Ctx<'_>,
    name: &str,
    yes: bool,
    keep_remote: bool,
) -> Result<Removed> {
    let meta = ctx.view(&[name])?;
    let conn = find(&meta, name)?.clone();
    let bound = bindings_of(ctx, name)?;
    let breaks = match bound.as_slice() {
        [] => String::new(),
        b => format!(
            " It plays {}, which will be unbound.",
            b.iter().map(describe).collect::<Vec<_>>().join("; ")
        ),
    };
    if !yes {
        if !ctx.ui.interactive() {
            return Err(usage(format!(
                "removing {name:?} needs confirmation; pass --yes when there is no terminal.{breaks}"
            )));
        }
        let prompt = format!(
            "Remove connection {name:?} ({}) and its secrets?{breaks}",
            conn.provider
        );
        if !ctx.ui.confirm(&Question::new(&prompt, "--yes"), false)? {
            return Ok(Removed {
                name: name.into(),
                removed: false,
                revoked: false,
                unbound: vec![],
                warnings: vec![],
            });
        }
    }
    if let Some((team, short)) = vault::team::split_name(name) {
        let mut removed = remove_from_team(ctx, team, short, name, &conn, keep_remote)?;
        removed.unbound = unbind(ctx, name, &bound, &mut removed.warnings);
        return Ok(removed);
    }
    let store = ctx.secrets_of(&conn)?;
    let mut warnings = Vec::new();
    let mut revoked = false;
    // Revoke first, while the tokens are still at hand; a failure is only a warning.
    if !keep_remote {
        let catalog = ctx.catalog();
        if let (Ok(provider), Ok(Some(bundle))) = (catalog.get(&conn.provider), store.get(&conn.id))
        {
            match credentials::revoke(ctx, &conn, provider, &bundle) {
                Ok(r) => revoked = r,
                Err(e) => warnings.push(format!(
                    "could not revoke the grant at the provider ({e:#}); revoke it there by hand if it matters"
                )),
            }
        }
    }
    // Metadata first: a connection listed without its secret would look broken, while a
    // leftover secret is only a warning.
    let deleted = crate::core::interrupt::critical(|| -> Result<Result<bool>> {
        let edit = Edit::Remove { name, id: &conn.id };
        ctx.metadata().edit(edit, |meta| {
            let current = find(meta, name)?;
            if current.id != conn.id {
                bail!("{name:?} was replaced by another process meanwhile; not removed");
            }
            meta.connections.remove(name);
            Ok(())
        })?;
        Ok(store.delete(&conn.id))
    })?;
    if let Err(e) = deleted {
        warnings.push(format!(
            "the connection is removed, but its secrets could not be deleted from the {} ({e:#}); delete the item for id {} by hand",
            store.location(),
            conn.id
        ));
    }
    let unbound = unbind(ctx, name, &bound, &mut warnings);
    Ok(Removed {
        name: name.into(),
        removed: true,
        revoked,
        unbound,
        warnings,
    })
}

/// The bindings of a removed connection would name one that is gone; an unbound role says
/// what to run. A failure is a warning: the connection is already removed.
fn unbind(ctx: &Base, name: &str, bound: &[Binding], warnings: &mut Vec<String>) -> Vec<Binding> {
    if bound.is_empty() {
        return Vec::new();
    }
    BindingsStore::new(&ctx.paths)
        .update(|b| Ok(b.unbind_connection(name)))
        .unwrap_or_else(|e| {
            warnings.push(format!(
                "could not unbind its recipe roles ({e:#}); 'conn bind' shows them as missing"
            ));
            Vec::new()
        })
}

/// A team connection: the record and every version of its secrets are deleted first (which
/// needs the team's admin policy, and fails cleanly otherwise), then the grant is revoked with
/// the tokens read before.
fn remove_from_team(
    ctx: &mut Ctx<'_>,
    team: &str,
    short: &str,
    name: &str,
    conn: &Connection,
    keep_remote: bool,
) -> Result<Removed> {
    let t = ctx.team(team)?;
    let bundle = t.clone().secrets().get(&conn.id).ok().flatten();
    t.remove(short, &conn.id)?;
    let mut warnings = Vec::new();
    let mut revoked = false;
    if !keep_remote {
        let catalog = ctx.catalog();
        if let (Ok(provider), Some(bundle)) = (catalog.get(&conn.provider), bundle) {
            match credentials::revoke(ctx, conn, provider, &bundle) {
                Ok(r) => revoked = r,
                Err(e) => warnings.push(format!(
                    "could not revoke the grant at the provider ({e:#}); revoke it there by hand if it matters"
                )),
            }
        }
    }
    Ok(Removed {
        name: name.into(),
        removed: true,
        revoked,
        unbound: Vec::new(),
        warnings,
    })
}

/// A new name, same settings; secrets are keyed by id and stay put, and the recipe bindings
/// of the old name (in every project) follow to the new one. Returns those bindings.
/// A team connection (`acme/gh`) is renamed within its team: `NEW` may be given as `new` or
/// `acme/new`.
pub(crate) fn rename(ctx: &Base, old: &str, new: &str) -> Result<Vec<Binding>> {
    if let Some((team, short_old)) = vault::team::split_name(old) {
        let short_new = match vault::team::split_name(new) {
            Some((t, s)) if t == team => s,
            Some(_) => {
                return Err(usage(format!(
                    "conn rename keeps a connection in its team; {new:?} names another team (a team {team} admin can 'conn rm' it and 'conn new' it there)"
                )));
            }
            None => new,
        };
        validate_name(short_new).map_err(usage)?;
        let new_full = format!("{team}/{short_new}");
        return crate::core::interrupt::critical(|| {
            let t = ctx.team(team)?;
            t.check_mount()?;
            t.rename(short_old, short_new)?;
            move_bindings(ctx, old, &new_full)
        });
    }
    not_in_team(new, "rename")?;
    validate_name(new).map_err(usage)?;
    crate::core::interrupt::critical(|| {
        let now = now_rfc3339();
        let edit = Edit::Rename {
            old,
            new,
            updated_at: &now,
        };
        ctx.metadata().edit(edit, |meta| {
            find(meta, old)?;
            if meta.connections.contains_key(new) {
                bail!("a connection named {new:?} already exists");
            }
            let mut conn = meta.connections.remove(old).expect("found above");
            conn.updated_at = now.clone();
            meta.connections.insert(new.to_string(), conn);
            Ok(())
        })?;
        move_bindings(ctx, old, new)
    })
}

/// The recipe bindings of `old` (in every project) now name `new`.
fn move_bindings(ctx: &Base, old: &str, new: &str) -> Result<Vec<Binding>> {
    let bindings = BindingsStore::new(&ctx.paths);
    if bindings.load()?.of_connection(old).is_empty() {
        return Ok(Vec::new());
    }
    bindings
        .update(|b| Ok(b.rename_connection(old, new)))
        .with_context(|| {
            format!(
                "renamed {old:?} to {new:?}, but its recipe bindings still name {old:?}; bind the roles again with 'conn bind ROLE {new}'"
            )
        })
}

/// The recipe bindings `name` plays, for `rm` to tell (and ask) before removing it.
pub(crate) fn bindings_of(ctx: &Base, name: &str) -> Result<Vec<Binding>> {
    Ok(BindingsStore::new(&ctx.paths).load()?.of_connection(name))
}

/// "role crm of /p/conn.toml (production)".
pub(crate) fn describe(b: &Binding) -> String {
    format!("role {} of {} ({})", b.role, b.project, b.env)
}

/// A local connection does not move into a team: say so instead of "invalid name".
fn not_in_team(name: &str, what: &str) -> Result<()> {
    if let Some((team, _)) = vault::team::split_name(name) {
        return Err(usage(format!(
            "conn {what} does not move a local connection into team {team}; create it there with 'conn new {name}' (a team {team} admin) and remove the local one"
        )));
    }
    Ok(())
}

/// Many apps keep one active grant per user (or a few): a new connection for an account that
/// another connection already uses may silently invalidate that one.
fn warn_shared_account(
    ctx: &mut Ctx<'_>,
    meta: &Metadata,
    name: &str,
    conn: &Connection,
    provider: &Provider,
) {
    let others = same_account(meta, name, conn);
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

//! `conn reauth NAME`: new credentials for an existing connection, in place. The old secret
//! stays until the new one has been obtained and checked; a different account than before is
//! replaced only when the person says so.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::Ctx;
use super::oauth::{self, OAuthOptions};
use crate::auth;
use crate::check::{self, FoundIdentity, Outcome, Status, Target};
use crate::core::error::usage;
use crate::core::secret::{Secret, SecretBundle};
use crate::core::time::now_rfc3339;
use crate::core::ui::Question;
use crate::store::metadata::{Identity, LastCheck};
use crate::store::secrets::StoreKind;

#[derive(Debug, Default)]
pub struct ReauthOptions {
    pub username: Option<String>,
    pub secret: Option<Secret<String>>,
    pub oauth: OAuthOptions,
    pub request_timeout: Duration,
}

#[derive(Debug, Serialize)]
pub struct Reauthed {
    pub name: String,
    pub provider: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<FoundIdentity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_identity: Option<Identity>,
    pub check: Outcome,
}

pub fn run(ctx: &mut Ctx<'_>, name: &str, mut opts: ReauthOptions) -> Result<Reauthed> {
    let meta = ctx.metadata().load()?;
    let conn = super::find(&meta, name)?.clone();
    let catalog = ctx.catalog();
    let provider = catalog.get(&conn.provider)?;
    let spec = provider.auth(&conn.auth).with_context(|| {
        format!(
            "provider {} no longer offers auth method {}",
            provider.id, conn.auth
        )
    })?;
    let store_kind = StoreKind::parse(&conn.store).context("unknown secret store")?;

    let mut username = conn.username.clone();
    let authorized = oauth::authorize(
        ctx,
        &meta,
        provider,
        spec,
        &provider.values(&conn.env, &conn.inputs),
        &mut opts.oauth,
        store_kind,
        conn.oauth.as_ref(),
    )?;
    // Captured inputs (an instance URL, a company id) are taken again from the new sign-in;
    // a picked site stays unless the sign-in no longer covers it.
    let mut inputs = conn.inputs.clone();
    if let Some(a) = &authorized {
        let keep: Vec<(String, String)> =
            inputs.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        oauth::capture_inputs(ctx, provider, spec, a, &keep, &conn.env, &mut inputs)?;
    }
    let values = provider.values(&conn.env, &inputs);
    let mut bundle = SecretBundle::new();
    let mut oauth_state = conn.oauth.clone();
    let mut new_client = None;
    let mut usable = None;
    if let Some(a) = authorized {
        bundle = a.bundle.clone();
        usable = Some(a.usable());
        oauth_state = Some(a.state);
        new_client = a.new_client;
    } else {
        if auth::needs_username(spec)
            && let Some(u) = opts.username.take()
        {
            username = Some(u);
        }
        for field in auth::secret_fields(spec) {
            let value = match opts.secret.take() {
                Some(v) => v,
                None => ctx.ui.secret(&Question::new(
                    &format!("New {}", field.label),
                    "--secret-stdin or --secret-env VAR",
                ))?,
            };
            if value.expose().trim().is_empty() {
                return Err(usage(format!("the {} is empty", field.label)));
            }
            bundle.insert(field.key, value);
        }
    }

    ctx.ui
        .notice(&format!("Checking the new credentials of {name}…"));
    let client = ctx.http(opts.request_timeout)?;
    let outcome = check::check_credentials(
        &client,
        Target {
            name,
            provider,
            method: &conn.auth,
            inputs: &values,
        },
        username.as_deref(),
        usable.as_ref().unwrap_or(&bundle),
        check::Limits::default(),
    );
    let outcome = oauth::scope_check(outcome, spec, oauth_state.as_ref(), name);
    if outcome.status != Status::Ok {
        bail!(
            "the new credentials don't work ({}): {}\nThe connection still has its old credentials.",
            outcome.status.as_str(),
            outcome.message
        );
    }
    let found = outcome.identity.clone();
    if let (Some(old), Some(new)) = (&conn.identity, &found)
        && differs(old, new)
    {
        let q = format!(
            "{name} was connected as {}, and these credentials are for {}. Replace the account?",
            old.label.as_deref().or(old.id.as_deref()).unwrap_or("?"),
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
        probe.identity = Some(Identity {
            id: f.id.clone(),
            label: f.label.clone(),
            instance: f.instance.clone(),
        });
    }
    super::new::warn_shared_account(ctx, &meta, name, &probe, provider);

    let store = ctx.secrets_of(&conn)?;
    let now = now_rfc3339();
    crate::core::interrupt::critical(|| -> Result<()> {
        if let Some((reg, secret)) = &new_client {
            oauth::save_client_secret(ctx, reg, secret)?;
        }
        // One write replaces the whole bundle: old and new secrets never mix.
        store.put(&conn.id, &bundle)?;
        ctx.metadata().update(|m| {
            if let Some((reg, _)) = &new_client {
                let key = format!("{}/{}", reg.provider, reg.client_id);
                m.clients.insert(key, reg.clone());
            }
            let c = super::find_mut(m, name, &conn.id)?;
            c.username = username.clone();
            c.inputs = inputs.clone();
            c.oauth = oauth_state.clone();
            if let Some(f) = &found {
                c.identity = Some(Identity {
                    id: f.id.clone(),
                    label: f.label.clone(),
                    instance: f.instance.clone(),
                });
            }
            c.updated_at = now.clone();
            c.last_check = Some(LastCheck {
                status: "ok".into(),
                at: now.clone(),
                message: None,
            });
            c.last_success = Some(now.clone());
            c.authorized_at = Some(now.clone());
            Ok(())
        })
    })?;
    Ok(Reauthed {
        name: name.to_string(),
        provider: provider.id.clone(),
        identity: found,
        previous_identity: conn.identity.clone(),
        check: outcome,
    })
}

/// Whether two identities name different accounts (ids win over labels).
fn differs(old: &Identity, new: &FoundIdentity) -> bool {
    match (&old.id, &new.id) {
        (Some(a), Some(b)) => a != b,
        _ => match (&old.label, &new.label) {
            (Some(a), Some(b)) => a != b,
            _ => false,
        },
    }
}

//! The OAuth client registry: the user's registered apps (client id, and a client secret in the
//! secret store), chosen or registered once per provider and offered to the next connection.

use std::time::Duration;

use anyhow::{Context, Result};

use super::{Base, Ctx};
use crate::auth::oauth2 as flow;
use crate::auth::{ClientKind, ClientNeeds};
use crate::catalog::provider::SignatureMethod;
use crate::catalog::{ClientAuth, Provider};
use crate::core::secret::{Secret, SecretBundle, cleaned};
use crate::core::time::now_rfc3339;
use crate::core::ui::Question;
use crate::core::vocab::Grant;
use crate::store::metadata::{Metadata, OAuthClient};
use crate::store::secrets::StoreKind;

/// The bundle field of a client secret in the secret store.
const CLIENT_SECRET: &str = "client_secret";

/// What `new`/`reauth` were told about OAuth on the command line.
#[derive(Debug, Default)]
pub(crate) struct OAuthOptions {
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<Secret<String>>,
    pub(crate) scopes: Option<Vec<String>>,
    pub(crate) grant: Option<Grant>,
    pub(crate) no_browser: bool,
    pub(crate) port: Option<u16>,
    /// How long to wait for the person to finish signing in.
    pub(crate) timeout: Duration,
    pub(crate) yes: bool,
}

/// The client to use, and the registration to save if it is new.
#[derive(Debug)]
pub(crate) struct ChosenClient {
    pub(crate) key: String,
    pub(crate) client: flow::Client,
    pub(crate) new_registration: Option<(OAuthClient, Option<Secret<String>>)>,
}

fn id_label(needs: &ClientNeeds<'_>) -> &'static str {
    match needs.kind {
        ClientKind::OAuth2 => "client id",
        _ => "consumer key",
    }
}

/// The registry key of a client: `provider/client_id`.
pub(crate) fn client_key(provider: &str, client_id: &str) -> String {
    format!("{provider}/{client_id}")
}

/// Picks a saved client registration for the provider, or registers a new one from flags or
/// prompts. The client secret of a new registration is not saved here.
pub(crate) fn choose_client(
    ctx: &mut Ctx<'_>,
    meta: &Metadata,
    provider: &Provider,
    needs: ClientNeeds<'_>,
    opts: &mut OAuthOptions,
    store_kind: StoreKind,
) -> Result<ChosenClient> {
    let saved: Vec<&OAuthClient> = meta
        .clients
        .values()
        .filter(|c| c.provider == provider.id)
        .collect();
    let client_id = match opts.client_id.clone() {
        Some(id) => id,
        None if saved.len() == 1 && (opts.yes || !ctx.ui.interactive()) => {
            saved[0].client_id.clone()
        }
        None if !saved.is_empty() && ctx.ui.interactive() => {
            let mut items: Vec<String> = saved
                .iter()
                .map(|c| format!("OAuth app {}", c.client_id))
                .collect();
            items.push(format!("Register another OAuth app ({})", id_label(&needs)));
            let i = ctx
                .ui
                .select(&Question::new("OAuth client", "--client-id ID"), &items, 0)?;
            match saved.get(i) {
                Some(c) => c.client_id.clone(),
                None => ask_client_id(ctx, needs)?,
            }
        }
        None => ask_client_id(ctx, needs)?,
    };
    let key = client_key(&provider.id, &client_id);
    if let Some(reg) = meta.clients.get(&key) {
        // A secret given for a saved client replaces the stored one once the sign-in works
        // (client secrets get rotated too).
        if let Some(secret) = opts.client_secret.take() {
            let mut updated = reg.clone();
            if updated.secret_id.is_none() {
                updated.secret_id = Some(format!("client-{}", super::new_id()?));
            }
            let client = flow::Client {
                id: client_id,
                secret: Some(secret.clone()),
                auth: needs.auth,
            };
            return Ok(ChosenClient {
                key,
                client,
                new_registration: Some((updated, Some(secret))),
            });
        }
        let client = load_client(ctx, reg, needs.auth)?;
        return Ok(ChosenClient {
            key,
            client,
            new_registration: None,
        });
    }
    let secret = match opts.client_secret.take() {
        Some(s) => Some(s),
        None => ask_client_secret(ctx, needs)?,
    };
    let secret_id = match &secret {
        Some(_) => Some(format!("client-{}", super::new_id()?)),
        None => None,
    };
    let reg = OAuthClient {
        provider: provider.id.clone(),
        client_id: client_id.clone(),
        secret_id,
        store: store_kind,
        created_at: now_rfc3339(),
        team: None,
    };
    let client = flow::Client {
        id: client_id,
        secret: secret.clone(),
        auth: needs.auth,
    };
    Ok(ChosenClient {
        key,
        client,
        new_registration: Some((reg, secret)),
    })
}

fn ask_client_id(ctx: &mut Ctx<'_>, needs: ClientNeeds<'_>) -> Result<String> {
    let help = needs.registration_url.map(|u| {
        let (host, port, path) = needs.redirect;
        format!(
            "Register an OAuth app at {u}; its redirect URI is {}{}.",
            crate::catalog::provider::redirect_uri(host, port, path),
            if port.is_none() {
                " (the provider accepts any port)"
            } else {
                ""
            }
        )
    });
    let label = match needs.kind {
        ClientKind::OAuth2 => "OAuth client id",
        ClientKind::OAuth1 | ClientKind::OAuth1Rsa => "Consumer key",
    };
    ctx.ui.input(
        &Question::new(label, "--client-id ID").help(help.as_deref()),
        &|v: &str| {
            if v.trim().is_empty() {
                Err("must not be empty".into())
            } else {
                Ok(())
            }
        },
    )
}

/// The secret of a new client registration, when not given by flag: optional for OAuth 2.0
/// (public clients have none), required for OAuth 1.0a.
fn ask_client_secret(ctx: &mut Ctx<'_>, needs: ClientNeeds<'_>) -> Result<Option<Secret<String>>> {
    match needs.kind {
        ClientKind::OAuth2 => {
            if !ctx.ui.interactive() {
                return Ok(None);
            }
            let has = ctx.ui.confirm(
                &Question::new(
                    "Does this OAuth app have a client secret?",
                    "--client-secret-stdin",
                ),
                true,
            )?;
            if !has {
                return Ok(None);
            }
            let typed = ctx.ui.secret(&Question::new(
                "Client secret",
                "--client-secret-stdin or --client-secret-env VAR",
            ))?;
            Ok(Some(cleaned("client secret", typed.expose())?))
        }
        ClientKind::OAuth1 => {
            let typed = ctx.ui.secret(&Question::new(
                "Consumer secret",
                "--client-secret-stdin or --client-secret-env VAR",
            ))?;
            Ok(Some(cleaned("consumer secret", typed.expose())?))
        }
        ClientKind::OAuth1Rsa => {
            let path = ctx.ui.input(
                &Question::new("Path to the consumer's RSA private key (PEM)", "--private-key FILE")
                    .help(Some("The provider holds the matching public key; the key's contents are kept in the secret store.")),
                &|v: &str| {
                    read_private_key(std::path::Path::new(v.trim()))
                        .map(|_| ())
                        .map_err(|e| format!("{e:#}"))
                },
            )?;
            ctx.ui.missing_answers()?;
            Ok(Some(read_private_key(std::path::Path::new(path.trim()))?))
        }
    }
}

/// Reads an RSA-SHA1 consumer's PEM private key from a file the user named.
pub(crate) fn read_private_key(path: &std::path::Path) -> Result<Secret<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read the private key file {}", path.display()))?;
    let key = Secret::new(text);
    crate::auth::oauth1::Consumer {
        key: String::new(),
        secret: key.clone(),
        method: SignatureMethod::RsaSha1,
        realm: None,
    }
    .validate()
    .with_context(|| path.display().to_string())?;
    Ok(key)
}

/// The client of a saved registration, with its secret from the store.
pub(crate) fn load_client(ctx: &Base, reg: &OAuthClient, auth: ClientAuth) -> Result<flow::Client> {
    let secret = match &reg.secret_id {
        None => None,
        Some(id) => {
            let store = ctx.client_store(reg)?;
            let bundle = store.get(id)?.with_context(|| {
                format!(
                    "the secret of OAuth client {} is missing from the {}",
                    reg.client_id,
                    store.location()
                )
            })?;
            Some(
                bundle
                    .get(CLIENT_SECRET)
                    .cloned()
                    .context("the OAuth client's secret entry is incomplete")?,
            )
        }
    };
    Ok(flow::Client {
        id: reg.client_id.clone(),
        secret,
        auth,
    })
}

/// Saves a new client registration's secret; the metadata entry is saved with the connection.
pub(crate) fn save_client_secret(
    ctx: &Base,
    reg: &OAuthClient,
    secret: &Option<Secret<String>>,
) -> Result<()> {
    if let (Some(id), Some(s)) = (&reg.secret_id, secret) {
        let mut b = SecretBundle::new();
        b.insert(CLIENT_SECRET, s.clone());
        ctx.client_store(reg)?.put(id, &b)?;
    }
    Ok(())
}

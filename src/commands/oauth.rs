//! OAuth 2.0 steps shared by `new`, `reauth`, `check`, `token` and `rm`: choosing and loading
//! the OAuth client, running a sign-in, and keeping tokens fresh (refresh under a
//! per-connection lock, the rotated refresh token saved before the new access token is used).

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

use super::Ctx;
use crate::auth::oauth2::{self as flow, Endpoints, ErrorKind, OAuthError, Tokens};
use crate::catalog::{AuthSpec, Grant, OAuth2Spec, Provider};
use crate::core::error::usage;
use crate::core::secret::{Secret, SecretBundle};
use crate::core::time::{now_rfc3339, unix_rfc3339};
use crate::core::ui::Question;
use crate::store::fsio;
use crate::store::metadata::{Connection, Metadata, OAuthClient, OAuthState};
use crate::store::secrets::{self, StoreKind};

/// Refresh when the access token has less than this left.
pub const REFRESH_MARGIN_SECS: i64 = 60;
const CLIENT_SECRET: &str = "client_secret";

/// What `new`/`reauth` were told about OAuth on the command line.
#[derive(Debug, Default)]
pub struct OAuthOptions {
    pub client_id: Option<String>,
    pub client_secret: Option<Secret<String>>,
    pub scopes: Option<Vec<String>>,
    pub grant: Option<Grant>,
    pub no_browser: bool,
    pub port: Option<u16>,
    /// How long to wait for the person to finish signing in.
    pub timeout: Duration,
    pub yes: bool,
}

/// The client to use, and the registration to save if it is new.
#[derive(Debug)]
pub struct ChosenClient {
    pub key: String,
    pub client: flow::Client,
    pub new_registration: Option<(OAuthClient, Option<Secret<String>>)>,
}

pub fn spec_of(provider: &Provider) -> Option<&OAuth2Spec> {
    provider.auth.iter().find_map(|a| match a {
        AuthSpec::OAuth2(o) => Some(o.as_ref()),
        _ => None,
    })
}

fn client_key(provider: &str, client_id: &str) -> String {
    format!("{provider}/{client_id}")
}

/// Picks a saved client registration for the provider, or registers a new one from flags or
/// prompts. The client secret of a new registration is not saved here.
pub fn choose_client(
    ctx: &mut Ctx<'_>,
    meta: &Metadata,
    provider: &Provider,
    spec: &OAuth2Spec,
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
            items.push("Register another OAuth app (client id)".into());
            let i = ctx
                .ui
                .select(&Question::new("OAuth client", "--client-id ID"), &items, 0)?;
            match saved.get(i) {
                Some(c) => c.client_id.clone(),
                None => ask_client_id(ctx, spec)?,
            }
        }
        None => ask_client_id(ctx, spec)?,
    };
    let key = client_key(&provider.id, &client_id);
    if let Some(reg) = meta.clients.get(&key) {
        // A secret given for a saved client replaces the stored one once the sign-in works
        // (client secrets get rotated too).
        if let Some(secret) = opts.client_secret.take() {
            let mut updated = reg.clone();
            if updated.secret_id.is_none() {
                updated.secret_id = Some(format!("client-{}", super::new::new_id()?));
            }
            let client = flow::Client {
                id: client_id,
                secret: Some(secret.clone()),
                auth: spec.client_auth,
            };
            return Ok(ChosenClient {
                key,
                client,
                new_registration: Some((updated, Some(secret))),
            });
        }
        let client = load_client(ctx, reg, spec)?;
        return Ok(ChosenClient {
            key,
            client,
            new_registration: None,
        });
    }
    let secret = match opts.client_secret.take() {
        Some(s) => Some(s),
        None if ctx.ui.interactive() => {
            let has = ctx.ui.confirm(
                &Question::new(
                    "Does this OAuth app have a client secret?",
                    "--client-secret-stdin",
                ),
                true,
            )?;
            if has {
                Some(ctx.ui.secret(&Question::new(
                    "Client secret",
                    "--client-secret-stdin or --client-secret-env VAR",
                ))?)
            } else {
                None
            }
        }
        None => None,
    };
    let secret_id = match &secret {
        Some(_) => Some(format!("client-{}", super::new::new_id()?)),
        None => None,
    };
    let reg = OAuthClient {
        provider: provider.id.clone(),
        client_id: client_id.clone(),
        secret_id,
        store: store_kind.as_str().to_string(),
        created_at: now_rfc3339(),
    };
    let client = flow::Client {
        id: client_id,
        secret: secret.clone(),
        auth: spec.client_auth,
    };
    Ok(ChosenClient {
        key,
        client,
        new_registration: Some((reg, secret)),
    })
}

fn ask_client_id(ctx: &mut Ctx<'_>, spec: &OAuth2Spec) -> Result<String> {
    let help = spec
        .app_registration_url
        .as_deref()
        .map(|u| format!("Register an OAuth app at {u}; its redirect URI is http://127.0.0.1{} (any port unless the provider fixes one).", spec.redirect_path));
    ctx.ui.input(
        &Question::new("OAuth client id", "--client-id ID").help(help.as_deref()),
        &|v: &str| {
            if v.trim().is_empty() {
                Err("must not be empty".into())
            } else {
                Ok(())
            }
        },
    )
}

/// The client of a saved registration, with its secret from the store.
pub fn load_client(
    ctx: &super::Base,
    reg: &OAuthClient,
    spec: &OAuth2Spec,
) -> Result<flow::Client> {
    let secret = match &reg.secret_id {
        None => None,
        Some(id) => {
            let kind = StoreKind::parse(&reg.store)
                .context("unknown secret store for the OAuth client")?;
            let store = secrets::open(kind, &ctx.paths, &ctx.env);
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
        auth: spec.client_auth,
    })
}

/// Saves a new client registration's secret; the metadata entry is saved with the connection.
pub fn save_client_secret(
    ctx: &Ctx<'_>,
    reg: &OAuthClient,
    secret: &Option<Secret<String>>,
) -> Result<()> {
    if let (Some(id), Some(s)) = (&reg.secret_id, secret) {
        let kind = StoreKind::parse(&reg.store).context("unknown secret store")?;
        let mut b = SecretBundle::new();
        b.insert(CLIENT_SECRET, s.clone());
        secrets::open(kind, &ctx.paths, &ctx.env).put(id, &b)?;
    }
    Ok(())
}

/// The grant to run: `--grant`/`--device`, else browser sign-in when offered, else the first.
pub fn pick_grant(spec: &OAuth2Spec, wanted: Option<Grant>) -> Result<Grant> {
    match wanted {
        Some(g) if spec.grants.contains(&g) => Ok(g),
        Some(g) => Err(usage(format!(
            "this provider does not offer the {} grant; it offers: {}",
            grant_name(g),
            spec.grants
                .iter()
                .map(|g| grant_name(*g))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        None if spec.grants.contains(&Grant::AuthorizationCode) => Ok(Grant::AuthorizationCode),
        None => Ok(spec.grants[0]),
    }
}

pub fn grant_name(g: Grant) -> &'static str {
    match g {
        Grant::AuthorizationCode => "authorization_code",
        Grant::DeviceCode => "device_code",
        Grant::ClientCredentials => "client_credentials",
    }
}

pub fn parse_grant(s: &str) -> Option<Grant> {
    match s {
        "authorization_code" => Some(Grant::AuthorizationCode),
        "device_code" => Some(Grant::DeviceCode),
        "client_credentials" => Some(Grant::ClientCredentials),
        _ => None,
    }
}

/// Runs the sign-in and returns the tokens.
pub fn sign_in(
    ctx: &mut Ctx<'_>,
    spec: &OAuth2Spec,
    ep: &Endpoints,
    client: &flow::Client,
    grant: Grant,
    scopes: &[String],
    opts: &OAuthOptions,
) -> Result<Tokens> {
    let http = ctx.http_no_redirects(Duration::from_secs(30))?;
    match grant {
        Grant::AuthorizationCode => {
            let pasted = if opts.no_browser {
                ctx.ui.pasted_lines()
            } else {
                None
            };
            let open = !opts.no_browser;
            let ui = &mut *ctx.ui;
            let (tokens, _params) = flow::authorization_code(
                &http,
                ep,
                client,
                flow::CodeFlow {
                    spec,
                    scopes,
                    port: opts.port.or(spec.redirect_port).unwrap_or(0),
                    timeout: opts.timeout,
                    pasted,
                },
                &mut |url| {
                    ui.open_url(url, open);
                    ui.notice(
                        "Waiting for the sign-in to finish in the browser… (Ctrl-C to cancel)",
                    );
                    Ok(())
                },
            )?;
            Ok(tokens)
        }
        Grant::DeviceCode => {
            let open = ctx.env.get("BROWSER").is_some() && !opts.no_browser;
            let ui = &mut *ctx.ui;
            flow::device(&http, ep, client, spec, scopes, opts.timeout, &mut |p| {
                ui.notice(&format!(
                    "To sign in, visit {} and enter the code {} (valid for {} minutes).",
                    p.verification_uri,
                    p.user_code,
                    p.expires_in.as_secs() / 60
                ));
                if open {
                    let url = p
                        .verification_uri_complete
                        .clone()
                        .unwrap_or_else(|| p.verification_uri.clone());
                    ui.open_url(&url, true);
                }
                ui.notice("Waiting for approval… (Ctrl-C to cancel)");
                Ok(())
            })
        }
        Grant::ClientCredentials => flow::client_credentials(&http, ep, client, spec, scopes),
    }
}

/// The metadata side of fresh tokens.
pub fn state_for(client_key: &str, grant: Grant, tokens: &Tokens) -> OAuthState {
    OAuthState {
        client: client_key.to_string(),
        grant: grant_name(grant).to_string(),
        scopes: tokens.scopes.clone(),
        expires_at: tokens.expires_at.map(unix_rfc3339),
        refreshed_at: None,
    }
}

/// Why a connection's credentials could not be made fresh.
#[derive(Debug)]
pub enum Stale {
    /// The secret store has nothing for the connection.
    Missing(String),
    /// The grant is gone (invalid_grant): the person must sign in again.
    NeedsReauth(String),
    /// The provider could not be reached; the stored tokens are unchanged.
    Unreachable(String),
    Other(anyhow::Error),
}

/// The connection's secrets, with an OAuth access token refreshed first when it is due.
/// Refresh is serialized across processes by a per-connection lock; after taking it the stored
/// tokens are read again, so a refresh another process just did is not repeated (and a rotated
/// refresh token is never spent twice).
pub fn fresh_secrets(
    ctx: &super::Base,
    name: &str,
    conn: &Connection,
    provider: &Provider,
) -> std::result::Result<SecretBundle, Stale> {
    refresh_when(ctx, name, conn, provider, &is_due)
}

/// After the API rejected `rejected` (401), the connection's secrets with a new access token:
/// refreshed now whatever its expiry says, unless another process already replaced that token
/// (then its new one is used, and the rotated refresh token is not spent twice).
pub fn refresh_rejected(
    ctx: &super::Base,
    name: &str,
    conn: &Connection,
    provider: &Provider,
    rejected: &SecretBundle,
) -> std::result::Result<SecretBundle, Stale> {
    let rejected = rejected.get(flow::ACCESS_TOKEN).cloned();
    let still_rejected = |b: &SecretBundle| b.get(flow::ACCESS_TOKEN) == rejected.as_ref();
    refresh_when(ctx, name, conn, provider, &still_rejected)
}

/// The error a command reports when the credentials could not be made fresh.
pub fn stale_error(name: &str, stale: Stale) -> anyhow::Error {
    match stale {
        Stale::NeedsReauth(why) => {
            anyhow!("{name} needs to be signed in again ({why}); run 'conn reauth {name}'")
        }
        Stale::Unreachable(why) => anyhow!(
            "could not refresh the token of {name}: {why}; the stored token is unchanged, try again later"
        ),
        Stale::Missing(why) => {
            anyhow!("{why}; run 'conn reauth {name}' to enter new credentials")
        }
        Stale::Other(e) => e,
    }
}

/// The connection's secrets, refreshed first (under the connection's lock) when `due` says so.
fn refresh_when(
    ctx: &super::Base,
    name: &str,
    conn: &Connection,
    provider: &Provider,
    due: &dyn Fn(&SecretBundle) -> bool,
) -> std::result::Result<SecretBundle, Stale> {
    let store = ctx.secrets_of(conn).map_err(Stale::Other)?;
    let read = || -> std::result::Result<SecretBundle, Stale> {
        store.get(&conn.id).map_err(Stale::Other)?.ok_or_else(|| {
            Stale::Missing(format!(
                "the secrets are gone from the {}",
                store.location()
            ))
        })
    };
    let bundle = read()?;
    let (Some(AuthSpec::OAuth2(spec)), Some(state)) = (provider.auth(&conn.auth), &conn.oauth)
    else {
        return Ok(bundle);
    };
    if !due(&bundle) {
        return Ok(bundle);
    }
    let lock = ctx
        .paths
        .data_dir
        .join("locks")
        .join(format!("{}.lock", conn.id));
    let _guard = fsio::lock_exclusive(&lock).map_err(Stale::Other)?;
    let bundle = read()?;
    if !due(&bundle) {
        crate::debug!("{name}: another process refreshed the token meanwhile");
        return Ok(bundle);
    }
    let meta = ctx.metadata().load().map_err(Stale::Other)?;
    let reg = meta.clients.get(&state.client).ok_or_else(|| {
        Stale::Other(anyhow!(
            "the OAuth client {} of this connection is not saved",
            state.client
        ))
    })?;
    let client = load_client(ctx, reg, spec).map_err(Stale::Other)?;
    let http = ctx
        .http_no_redirects(Duration::from_secs(30))
        .map_err(Stale::Other)?;
    let ep = flow::endpoints(&http, spec, &conn.inputs).map_err(classify_err)?;
    let old = flow::stored(&bundle)
        .ok_or_else(|| Stale::Missing("the stored tokens are incomplete".into()))?;
    let grant = parse_grant(&state.grant).unwrap_or(Grant::AuthorizationCode);
    crate::debug!("{name}: refreshing the access token");
    let result = match (&old.refresh_token, grant) {
        (Some(rt), _) => {
            flow::refresh(&http, &ep, &client, rt, &state.scopes).map_err(anyhow::Error::new)
        }
        // Client credentials have no refresh token: ask for a new token the same way.
        (None, Grant::ClientCredentials) => {
            flow::client_credentials(&http, &ep, &client, spec, &state.scopes)
        }
        (None, _) => {
            return Err(Stale::NeedsReauth(
                "the access token expired and the provider gave no refresh token".into(),
            ));
        }
    };
    let tokens = result.map_err(classify_err)?;
    let mut next = bundle.clone();
    tokens.write_to(&mut next);
    // The rotated refresh token is saved before the new access token is used anywhere.
    crate::core::interrupt::critical(|| store.put(&conn.id, &next)).map_err(Stale::Other)?;
    let _ = ctx.metadata().update(|m| {
        if let Some(c) = m.connections.get_mut(name)
            && c.id == conn.id
            && let Some(o) = c.oauth.as_mut()
        {
            o.expires_at = tokens.expires_at.map(unix_rfc3339);
            o.refreshed_at = Some(now_rfc3339());
            if !tokens.scopes.is_empty() {
                o.scopes = tokens.scopes.clone();
            }
        }
        Ok(())
    });
    Ok(next)
}

fn is_due(bundle: &SecretBundle) -> bool {
    flow::stored(bundle)
        .and_then(|t| t.expires_in())
        .is_some_and(|left| left < REFRESH_MARGIN_SECS)
}

fn classify_err(e: anyhow::Error) -> Stale {
    match e.downcast_ref::<OAuthError>().map(|o| o.kind) {
        Some(ErrorKind::InvalidGrant) => Stale::NeedsReauth(format!("{e:#}")),
        Some(ErrorKind::Unreachable) => Stale::Unreachable(format!("{e:#}")),
        _ => Stale::Other(e),
    }
}

/// Revokes the connection's grant at the provider, where it has a revocation endpoint.
/// `Ok(None)` when there is nothing to revoke.
pub fn revoke(
    ctx: &super::Base,
    conn: &Connection,
    provider: &Provider,
    bundle: &SecretBundle,
) -> Result<Option<()>> {
    let (Some(AuthSpec::OAuth2(spec)), Some(state)) = (provider.auth(&conn.auth), &conn.oauth)
    else {
        return Ok(None);
    };
    let http = ctx.http_no_redirects(Duration::from_secs(30))?;
    let ep = flow::endpoints(&http, spec, &conn.inputs)?;
    if ep.revocation.is_none() {
        return Ok(None);
    }
    let meta = ctx.metadata().load()?;
    let reg = meta
        .clients
        .get(&state.client)
        .context("the connection's OAuth client is not saved")?;
    let client = load_client(ctx, reg, spec)?;
    let tokens = flow::stored(bundle).context("no tokens stored")?;
    flow::revoke(&http, &ep, &client, &tokens)?;
    Ok(Some(()))
}

/// An OK check becomes `insufficient_permissions` when the provider's required scopes were not
/// all granted.
pub fn scope_check(
    o: crate::check::Outcome,
    spec: &AuthSpec,
    state: Option<&OAuthState>,
    name: &str,
) -> crate::check::Outcome {
    let (AuthSpec::OAuth2(s), Some(state)) = (spec, state) else {
        return o;
    };
    let missing = missing_scopes(s, &state.scopes);
    if o.status != crate::check::Status::Ok || missing.is_empty() {
        return o;
    }
    crate::check::Outcome {
        status: crate::check::Status::InsufficientPermissions,
        message: format!(
            "signed in, but without the scope(s) the provider needs: {}",
            missing.join(", ")
        ),
        hint: Some(format!(
            "sign in again granting them: conn reauth {name} --scopes {}",
            s.required_scopes.join(",")
        )),
        ..o
    }
}

/// Scopes the provider's check needs that the connection was not granted.
pub fn missing_scopes(spec: &OAuth2Spec, granted: &[String]) -> Vec<String> {
    spec.required_scopes
        .iter()
        .filter(|s| !granted.contains(s))
        .cloned()
        .collect()
}

pub fn bail_if_no_oauth(provider: &Provider) -> Result<&OAuth2Spec> {
    match spec_of(provider) {
        Some(s) => Ok(s),
        None => bail!("{} has no OAuth 2.0 method", provider.display_name),
    }
}

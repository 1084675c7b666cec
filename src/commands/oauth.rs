//! OAuth 2.0 steps shared by `new`, `reauth`, `check`, `token` and `rm`: choosing and loading
//! the OAuth client, running a sign-in, and keeping tokens fresh (refresh under a
//! per-connection lock, the rotated refresh token saved before the new access token is used).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

use super::Ctx;
use crate::auth::oauth1;
use crate::auth::oauth2::{self as flow, Endpoints, ErrorKind, OAuthError, Tokens};
use crate::catalog::provider::SignatureMethod;
use crate::catalog::{AuthSpec, ClientAuth, Grant, OAuth2Spec, Provider};
use crate::core::error::usage;
use crate::core::secret::{Secret, SecretBundle};
use crate::core::time::{now_rfc3339, unix_rfc3339};
use crate::core::ui::Question;
use crate::store::fsio;
use crate::store::metadata::{Connection, Metadata, OAuthClient, OAuthState};
use crate::store::secrets::StoreKind;
use crate::store::vault::team::{self as team_store, ClaimError, Refresh};

/// Refresh when the access token has less than this left.
pub const REFRESH_MARGIN_SECS: i64 = 60;
/// While another host holds the refresh claim, an access token with at least this left is
/// used instead of waiting for the new one.
const CLAIM_USABLE_SECS: i64 = 10;
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

/// What choosing an OAuth client needs to know about the method.
#[derive(Debug, Clone, Copy)]
pub struct ClientNeeds<'a> {
    pub registration_url: Option<&'a str>,
    pub redirect_path: &'a str,
    pub auth: ClientAuth,
    pub kind: ClientKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    OAuth2,
    /// A consumer key and secret.
    OAuth1,
    /// A consumer key and an RSA private key (RSA-SHA1).
    OAuth1Rsa,
}

impl<'a> ClientNeeds<'a> {
    pub fn of(spec: &'a AuthSpec) -> Option<Self> {
        match spec {
            AuthSpec::OAuth2(o) => Some(ClientNeeds {
                registration_url: o.app_registration_url.as_deref(),
                redirect_path: &o.redirect_path,
                auth: o.client_auth,
                kind: ClientKind::OAuth2,
            }),
            AuthSpec::OAuth1(o) => Some(ClientNeeds {
                registration_url: o.app_registration_url.as_deref(),
                redirect_path: &o.redirect_path,
                auth: ClientAuth::default(),
                kind: if o.signature_method == SignatureMethod::RsaSha1 {
                    ClientKind::OAuth1Rsa
                } else {
                    ClientKind::OAuth1
                },
            }),
            _ => None,
        }
    }

    fn id_label(&self) -> &'static str {
        match self.kind {
            ClientKind::OAuth2 => "client id",
            _ => "consumer key",
        }
    }
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
            items.push(format!("Register another OAuth app ({})", needs.id_label()));
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
                updated.secret_id = Some(format!("client-{}", super::new::new_id()?));
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
        format!(
            "Register an OAuth app at {u}; its redirect URI is http://127.0.0.1{} (any port unless the provider fixes one).",
            needs.redirect_path
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
            Ok(Some(ctx.ui.secret(&Question::new(
                "Client secret",
                "--client-secret-stdin or --client-secret-env VAR",
            ))?))
        }
        ClientKind::OAuth1 => Ok(Some(ctx.ui.secret(&Question::new(
            "Consumer secret",
            "--client-secret-stdin or --client-secret-env VAR",
        ))?)),
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
            Ok(Some(read_private_key(std::path::Path::new(path.trim()))?))
        }
    }
}

/// Reads an RSA-SHA1 consumer's PEM private key from a file the user named.
pub fn read_private_key(path: &std::path::Path) -> Result<Secret<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read the private key file {}", path.display()))?;
    let key = Secret::new(text);
    crate::auth::oauth1::Consumer {
        key: String::new(),
        secret: key.clone(),
        method: crate::catalog::provider::SignatureMethod::RsaSha1,
        realm: None,
    }
    .validate()
    .with_context(|| path.display().to_string())?;
    Ok(key)
}

/// The client of a saved registration, with its secret from the store.
pub fn load_client(ctx: &super::Base, reg: &OAuthClient, auth: ClientAuth) -> Result<flow::Client> {
    let secret = match &reg.secret_id {
        None => None,
        Some(id) => {
            let store = ctx.store_named(&reg.store)?;
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
pub fn save_client_secret(
    ctx: &Ctx<'_>,
    reg: &OAuthClient,
    secret: &Option<Secret<String>>,
) -> Result<()> {
    if let (Some(id), Some(s)) = (&reg.secret_id, secret) {
        let mut b = SecretBundle::new();
        b.insert(CLIENT_SECRET, s.clone());
        ctx.store_named(&reg.store)?.put(id, &b)?;
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
) -> Result<(Tokens, BTreeMap<String, String>)> {
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
            flow::authorization_code(
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
            )
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
            .map(|t| (t, BTreeMap::new()))
        }
        Grant::ClientCredentials => {
            flow::client_credentials(&http, ep, client, spec, scopes).map(|t| (t, BTreeMap::new()))
        }
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
    // A stored token that is due anyway is refreshed too: another process's new token may
    // already be close to expiry.
    let still_rejected =
        |b: &SecretBundle| b.get(flow::ACCESS_TOKEN) == rejected.as_ref() || is_due(b);
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
    let store = ctx.secrets_of(conn).map_err(vault_stale)?;
    let read = || -> std::result::Result<SecretBundle, Stale> {
        store.get(&conn.id).map_err(vault_stale)?.ok_or_else(|| {
            Stale::Missing(format!(
                "the secrets are gone from the {}",
                store.location()
            ))
        })
    };
    let bundle = read()?;
    if let (Some(AuthSpec::OAuth1(_)), Some(state)) = (provider.auth(&conn.auth), &conn.oauth) {
        return with_consumer(ctx, conn, state, bundle).map_err(Stale::Other);
    }
    let (Some(AuthSpec::OAuth2(spec)), Some(state)) = (provider.auth(&conn.auth), &conn.oauth)
    else {
        return Ok(bundle);
    };
    if !due(&bundle) {
        return Ok(bundle);
    }
    if let Some(team) = team_store::team_of_store(&conn.store) {
        return refresh_in_team(ctx, team, name, conn, provider, spec, state, due);
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
    let tokens = provider_refresh(ctx, name, conn, provider, spec, state, &bundle)?;
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

/// One refresh at the provider with the stored refresh token (or a new client-credentials
/// token). The caller holds whatever guarantees it is the only one spending that token.
fn provider_refresh(
    ctx: &super::Base,
    name: &str,
    conn: &Connection,
    provider: &Provider,
    spec: &OAuth2Spec,
    state: &OAuthState,
    bundle: &SecretBundle,
) -> std::result::Result<Tokens, Stale> {
    let reg = ctx
        .client_of(conn, &state.client)
        .map_err(Stale::Other)?
        .ok_or_else(|| {
            Stale::Other(anyhow!(
                "the OAuth client {} of this connection is not saved",
                state.client
            ))
        })?;
    let client = load_client(ctx, &reg, spec.client_auth).map_err(Stale::Other)?;
    let http = ctx
        .http_no_redirects(Duration::from_secs(30))
        .map_err(Stale::Other)?;
    let ep = flow::endpoints(&http, spec, &provider.values(&conn.env, &conn.inputs))
        .map_err(classify_err)?;
    let old = flow::stored(bundle)
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
    result.map_err(classify_err)
}

/// A team connection's refresh: the local lock keeps one host's processes in a queue, and
/// the team store's claim-before-refresh protocol makes one caller across all hosts spend
/// the refresh token.
#[allow(clippy::too_many_arguments)]
fn refresh_in_team(
    ctx: &super::Base,
    team: &str,
    name: &str,
    conn: &Connection,
    provider: &Provider,
    spec: &OAuth2Spec,
    state: &OAuthState,
    due: &dyn Fn(&SecretBundle) -> bool,
) -> std::result::Result<SecretBundle, Stale> {
    let t = ctx.team(team).map_err(Stale::Other)?;
    let lock = ctx
        .paths
        .data_dir
        .join("locks")
        .join(format!("team-{team}-{}.lock", conn.id));
    let _guard = fsio::lock_exclusive(&lock).map_err(Stale::Other)?;
    let left = |b: &SecretBundle| flow::stored(b).and_then(|t| t.expires_in());
    // While another host refreshes, a token with a little time left is used rather than
    // waited on; one about to expire is not worth a 401 mid-request.
    let usable = |b: &SecretBundle| left(b).is_none_or(|l| l >= CLAIM_USABLE_SECS);
    let valid = |b: &SecretBundle| left(b).is_none_or(|l| l > 0);
    let mut refresh =
        |b: &SecretBundle| match provider_refresh(ctx, name, conn, provider, spec, state, b) {
            Ok(tokens) => {
                let mut next = SecretBundle::new();
                tokens.write_to(&mut next);
                Refresh::Tokens(next)
            }
            Err(Stale::NeedsReauth(why)) => Refresh::NeedsReauth(why),
            Err(Stale::Unreachable(why)) => Refresh::Unreachable(why),
            Err(Stale::Missing(why)) => Refresh::Failed(anyhow!(why)),
            Err(Stale::Other(e)) => Refresh::Failed(e),
        };
    t.refresh_claimed(name, &conn.id, due, &usable, &valid, &mut refresh)
        .map_err(|e| match e {
            ClaimError::Vault(e) => vault_stale(e),
            ClaimError::Missing(why) => Stale::Missing(why),
            ClaimError::NeedsReauth(why) => Stale::NeedsReauth(why),
            ClaimError::Unreachable(why) => Stale::Unreachable(why),
            ClaimError::ReadOnly(why) => Stale::Other(anyhow!(why)),
            ClaimError::Failed(e) => Stale::Other(e),
        })
}

/// A team store that is down or sealed says nothing about the credential: `Unreachable`.
pub fn vault_stale(e: anyhow::Error) -> Stale {
    match crate::store::vault::error::find(&e) {
        Some(v) if v.is_temporary() => Stale::Unreachable(format!("{e:#}")),
        _ => Stale::Other(e),
    }
}

/// An OAuth 1.0a connection's bundle with its consumer's key and secret added, as signing
/// needs them (they are stored once, with the client registration).
fn with_consumer(
    ctx: &super::Base,
    conn: &Connection,
    state: &OAuthState,
    mut bundle: SecretBundle,
) -> Result<SecretBundle> {
    let reg = ctx.client_of(conn, &state.client)?.with_context(|| {
        format!(
            "the OAuth consumer {} of this connection is not saved",
            state.client
        )
    })?;
    let client = load_client(ctx, &reg, ClientAuth::default())?;
    bundle.insert(oauth1::CONSUMER_KEY, Secret::new(client.id));
    if let Some(s) = client.secret {
        bundle.insert(oauth1::CONSUMER_SECRET, s);
    }
    Ok(bundle)
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
    let ep = flow::endpoints(&http, spec, &provider.values(&conn.env, &conn.inputs))?;
    if ep.revocation.is_none() {
        return Ok(None);
    }
    let reg = ctx
        .client_of(conn, &state.client)?
        .context("the connection's OAuth client is not saved")?;
    let client = load_client(ctx, &reg, spec.client_auth)?;
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

/// The result of an OAuth sign-in for `new` and `reauth`.
#[derive(Debug)]
pub struct Authorized {
    /// What to store for the connection.
    pub bundle: SecretBundle,
    pub state: OAuthState,
    /// A client registration to save with the connection.
    pub new_client: Option<(OAuthClient, Option<Secret<String>>)>,
    /// Query parameters of the callback (QuickBooks' realmId).
    pub callback: BTreeMap<String, String>,
    /// Non-secret fields of the token response (Salesforce's instance_url).
    pub token_fields: BTreeMap<String, String>,
    /// OAuth 1.0a: the consumer, needed to sign but stored with the client, not here.
    consumer: Option<(String, Secret<String>)>,
}

impl Authorized {
    /// The secrets requests are made with (for OAuth 1.0a, with the consumer's added).
    pub fn usable(&self) -> SecretBundle {
        let mut b = self.bundle.clone();
        if let Some((key, secret)) = &self.consumer {
            b.insert(oauth1::CONSUMER_KEY, Secret::new(key.clone()));
            b.insert(oauth1::CONSUMER_SECRET, secret.clone());
        }
        b
    }
}

/// Runs the OAuth sign-in of `spec` (OAuth 2.0 or 1.0a; `Ok(None)` for other methods).
/// `previous` is the connection's state on reauth: its client, grant and scopes are reused
/// unless flags say otherwise.
#[allow(clippy::too_many_arguments)]
pub fn authorize(
    ctx: &mut Ctx<'_>,
    meta: &Metadata,
    provider: &Provider,
    spec: &AuthSpec,
    inputs: &BTreeMap<String, String>,
    opts: &mut OAuthOptions,
    store_kind: StoreKind,
    previous: Option<&OAuthState>,
) -> Result<Option<Authorized>> {
    let Some(needs) = ClientNeeds::of(spec) else {
        if opts.client_id.is_some() || opts.client_secret.is_some() {
            return Err(usage(format!(
                "--client-id, --client-secret-* and --private-key are for OAuth; auth method {} doesn't use them",
                spec.method()
            )));
        }
        return Ok(None);
    };
    if opts.client_id.is_none()
        && let Some(saved) = previous.and_then(|s| meta.clients.get(&s.client))
    {
        opts.client_id = Some(saved.client_id.clone());
    }
    let chosen = choose_client(ctx, meta, provider, needs, opts, store_kind)?;
    match spec {
        AuthSpec::OAuth2(o) => {
            let saved_grant = previous.and_then(|s| parse_grant(&s.grant));
            let grant = pick_grant(o, opts.grant.or(saved_grant))?;
            let scopes = opts.scopes.clone().unwrap_or_else(|| {
                previous
                    .map(|s| s.scopes.clone())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| o.scopes.clone())
            });
            let http = ctx.http_no_redirects(Duration::from_secs(30))?;
            let ep = flow::endpoints(&http, o, inputs)?;
            let (tokens, callback) = sign_in(ctx, o, &ep, &chosen.client, grant, &scopes, opts)?;
            let mut bundle = SecretBundle::new();
            tokens.write_to(&mut bundle);
            Ok(Some(Authorized {
                bundle,
                state: state_for(&chosen.key, grant, &tokens),
                new_client: chosen.new_registration,
                callback,
                token_fields: tokens.extra.clone(),
                consumer: None,
            }))
        }
        AuthSpec::OAuth1(o) => {
            if opts.grant.is_some() {
                return Err(usage("--grant and --device are for OAuth 2.0"));
            }
            let secret = chosen.client.secret.clone().ok_or_else(|| {
                usage(match needs.kind {
                    ClientKind::OAuth1Rsa => "this OAuth 1.0a provider signs with RSA-SHA1: give the consumer's private key with --private-key FILE",
                    _ => "an OAuth 1.0a consumer needs its consumer secret: --client-secret-stdin or --client-secret-env VAR",
                })
            })?;
            let consumer = oauth1::Consumer {
                key: chosen.client.id.clone(),
                secret: secret.clone(),
                method: o.signature_method,
                realm: o.realm.clone(),
            };
            consumer.validate()?;
            let oob = opts.no_browser && o.oob;
            let pasted = if opts.no_browser {
                ctx.ui.pasted_lines()
            } else {
                None
            };
            let open = !opts.no_browser;
            let http = ctx.http_no_redirects(Duration::from_secs(30))?;
            let ui = &mut *ctx.ui;
            let (creds, callback) = oauth1::three_legged(
                &http,
                &consumer,
                oauth1::Flow {
                    spec: o,
                    inputs,
                    port: opts.port.or(o.redirect_port).unwrap_or(0),
                    timeout: opts.timeout,
                    pasted,
                    oob,
                },
                &mut |url| {
                    ui.open_url(url, open);
                    ui.notice(if oob {
                        "This provider shows a verification code after you approve: type it here and press Enter (Ctrl-C to cancel)."
                    } else {
                        "Waiting for the sign-in to finish in the browser… (Ctrl-C to cancel)"
                    });
                    Ok(())
                },
            )?;
            let mut bundle = SecretBundle::new();
            creds.write_to(&mut bundle);
            Ok(Some(Authorized {
                bundle,
                state: OAuthState {
                    client: chosen.key.clone(),
                    grant: OAUTH1_GRANT.into(),
                    scopes: Vec::new(),
                    expires_at: None,
                    refreshed_at: None,
                },
                new_client: chosen.new_registration,
                callback,
                token_fields: creds.extra.clone(),
                consumer: Some((consumer.key, secret)),
            }))
        }
        _ => Ok(None),
    }
}

/// `OAuthState.grant` of an OAuth 1.0a connection.
pub const OAUTH1_GRANT: &str = "oauth1";

/// Fills the inputs a provider captures from the sign-in (`capture = "token:F"`,
/// `"callback:P"`, `"pick"`) into `inputs`. A pick input given with `--set` is checked against
/// the list; otherwise the person chooses, and without a terminal a list of more than one is
/// a usage error naming the choices.
pub fn capture_inputs(
    ctx: &mut Ctx<'_>,
    provider: &Provider,
    spec: &AuthSpec,
    a: &Authorized,
    sets: &[(String, String)],
    env: &str,
    inputs: &mut BTreeMap<String, String>,
) -> Result<()> {
    use crate::catalog::Capture;
    for input in &provider.inputs {
        let value = match input.capture() {
            None => continue,
            Some(Capture::Token(f)) => a.token_fields.get(f).cloned(),
            Some(Capture::Callback(p)) => a.callback.get(p).cloned(),
            Some(Capture::Pick) => {
                let AuthSpec::OAuth2(o) = spec else { continue };
                let Some(pick) = o.pick.as_ref().filter(|k| k.input == input.name) else {
                    continue;
                };
                let given = sets
                    .iter()
                    .rev()
                    .find(|(k, _)| k == &input.name)
                    .map(|(_, v)| v.as_str());
                let values = provider.values(env, inputs);
                Some(pick_site(
                    ctx,
                    pick,
                    &a.usable(),
                    &values,
                    &input.label,
                    given,
                )?)
            }
        };
        match value {
            Some(v) => {
                inputs.insert(input.name.clone(), v);
            }
            None if input.optional => {}
            None => bail!(
                "the sign-in did not return {} ({}), which {} needs; nothing was saved",
                input.capture.as_deref().unwrap_or_default(),
                input.label,
                provider.display_name
            ),
        }
    }
    Ok(())
}

fn pick_site(
    ctx: &mut Ctx<'_>,
    pick: &crate::catalog::provider::PickSpec,
    bundle: &SecretBundle,
    values: &BTreeMap<String, String>,
    label: &str,
    given: Option<&str>,
) -> Result<String> {
    let url = crate::catalog::template::url(&pick.url, values)?;
    let token = bundle
        .get(flow::ACCESS_TOKEN)
        .context("no access token to list the sites with")?;
    let http = ctx.http(Duration::from_secs(30))?;
    let resp = http
        .get(&url)
        .bearer_auth(token.expose())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .map_err(|e| anyhow!("listing the sites this sign-in covers: {}", e.without_url()))?;
    let status = resp.status();
    if !status.is_success() {
        bail!("listing the sites this sign-in covers: HTTP {status}; nothing was saved");
    }
    let json: serde_json::Value = resp
        .json()
        .context("listing the sites this sign-in covers: the answer is not JSON")?;
    let text = |v: Option<&serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let sites: Vec<(String, String)> = json
        .pointer(&pick.items)
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|item| {
                    let id = text(item.pointer(&pick.id))?;
                    let label = text(item.pointer(&pick.label)).unwrap_or_else(|| id.clone());
                    Some((id, label))
                })
                .collect()
        })
        .unwrap_or_default();
    if sites.is_empty() {
        bail!(
            "this sign-in covers no site; grant the app access to one (on the consent page) and try again"
        );
    }
    let flag = format!("--set {}=ID", pick.input);
    if let Some(g) = given {
        return match sites.iter().find(|(id, l)| id == g || l == g) {
            Some((id, _)) => Ok(id.clone()),
            None => Err(usage(format!(
                "{flag}: {g:?} is not one of the sites this sign-in covers: {}",
                list(&sites)
            ))),
        };
    }
    if sites.len() == 1 {
        ctx.ui.notice(&format!(
            "{label}: {} (the only one this sign-in covers)",
            sites[0].1
        ));
        return Ok(sites[0].0.clone());
    }
    if !ctx.ui.interactive() {
        return Err(usage(format!(
            "this sign-in covers several sites; choose one with {flag}: {}",
            list(&sites)
        )));
    }
    let items: Vec<String> = sites.iter().map(|(id, l)| format!("{l} ({id})")).collect();
    let i = ctx.ui.select(&Question::new(label, &flag), &items, 0)?;
    Ok(sites[i].0.clone())
}

fn list(sites: &[(String, String)]) -> String {
    sites
        .iter()
        .map(|(id, l)| format!("{id} ({l})"))
        .collect::<Vec<_>>()
        .join(", ")
}

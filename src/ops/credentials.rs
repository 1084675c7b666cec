//! Fresh credentials for a stored connection: its secrets, with an OAuth access token refreshed
//! first when due (under a per-connection lock, the rotated refresh token saved before anything
//! else); a connection made ready for use by `exec` and `request`; the token of `conn token`;
//! and revoking a grant at the provider.

use std::time::Duration;

use anyhow::{Context, Result, anyhow};

use super::Base;
use super::clients::load_client;
use super::resolve;
use crate::auth::error::{ErrorKind, OAuthError};
use crate::auth::{Authenticator, Method, oauth1, oauth2 as flow};
use crate::catalog::{Catalog, ClientAuth, Provider};
use crate::core::http::Http;
use crate::core::secret::{Secret, SecretBundle};
use crate::core::time::{now_rfc3339, unix_rfc3339};
use crate::store::fsio;
use crate::store::metadata::{Connection, Metadata, OAuthClient, OAuthState};
use crate::store::state::ConnState;
use crate::store::vault::team::{ClaimError, Refresh};

/// Refresh when the access token has less than this left, in seconds.
pub(crate) const REFRESH_MARGIN_SECS: i64 = 60;

/// Why a connection's credentials could not be made fresh.
#[derive(Debug)]
pub(crate) enum Stale {
    /// The secret store has nothing for the connection.
    Missing(String),
    /// The grant is gone (invalid_grant): the person must sign in again.
    NeedsReauth(String),
    /// The provider could not be reached, or answered 5xx, 429 or an HTML page; the stored
    /// tokens are unchanged.
    Unreachable(String),
    /// The provider rejected the OAuth client's credentials (`invalid_client`): a new client
    /// secret is needed (`conn reauth NAME --client-secret-stdin`).
    InvalidClient(String),
    /// The provider refused the refresh with another OAuth error, or answered something that
    /// is not a token response; the stored tokens are unchanged.
    Refused(String),
    /// The secret store (or the metadata) failed.
    Other(anyhow::Error),
}

/// The connection's secrets, with an OAuth access token refreshed first when it is due.
/// Refresh is serialized across processes by a per-connection lock; after taking it the stored
/// tokens are read again, so a refresh another process just did is not repeated (and a rotated
/// refresh token is never spent twice).
pub(crate) fn fresh_secrets(
    ctx: &Base,
    name: &str,
    conn: &Connection,
    provider: &Provider,
) -> std::result::Result<SecretBundle, Stale> {
    refresh_when(ctx, name, conn, provider, &is_due, true, None).map(|(b, _)| b)
}

fn is_due(m: &dyn Method, b: &SecretBundle) -> bool {
    m.refresh_due(b, REFRESH_MARGIN_SECS)
}

/// What a run over many connections (`conn check`) shares between their refreshes, so a
/// refresh costs its token request and its own secret write and nothing that grows with the
/// store: the metadata already loaded, one HTTP client for token endpoints (no redirects),
/// built by the first refresh that needs it while the others wait for it, and the local
/// OAuth clients read so far (a thousand connections of one app decrypted its secret a
/// thousand times).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Run<'a> {
    pub(crate) meta: &'a Metadata,
    pub(crate) http: &'a RunHttp,
    pub(crate) clients: &'a RunClients,
    /// The run's requests in flight: a refresh's token request takes a slot of the total.
    pub(crate) requests: Option<&'a crate::check::limit::HostLimiter>,
    /// No token request starts past this instant.
    pub(crate) deadline: Option<std::time::Instant>,
    /// The recovery files, listed once for the run's refreshes.
    pub(crate) recovery: &'a super::rotation::Listing,
}

impl<'a> Run<'a> {
    /// A slot for one token request among the run's requests in flight (none to take when the
    /// run counts none); an error once the run's deadline has passed.
    fn token_slot(&self) -> std::result::Result<Option<crate::check::limit::Permit<'a>>, Stale> {
        let Some(requests) = self.requests else {
            return Ok(None);
        };
        requests
            .acquire_any_until(self.deadline)
            .filter(|_| self.deadline.is_none_or(|d| std::time::Instant::now() < d))
            .map(Some)
            .ok_or_else(|| {
                Stale::Unreachable(
                    "the run's deadline passed before the token could be refreshed".into(),
                )
            })
    }
}

/// The token-endpoint client of a run, or why it could not be built. Built once: each build
/// reads and parses the system's certificate authorities (a few ms of CPU), and when 64
/// workers all built their own at the first round of a refresh storm, that was most of the
/// round.
pub(crate) type RunHttp = std::sync::OnceLock<std::result::Result<Http, String>>;

/// How long a token request may take.
pub(crate) const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

/// OAuth clients by registration, provider and method, for one run.
pub(crate) type RunClients = std::sync::Mutex<std::collections::BTreeMap<String, flow::Client>>;

/// What a refresh inside a [`Run`] learned, for the run to save in its one metadata update.
#[derive(Debug, Clone)]
pub(crate) struct Refreshed {
    /// RFC 3339.
    pub(crate) expires_at: Option<String>,
    /// RFC 3339.
    pub(crate) refreshed_at: String,
    /// Empty when the token response named none.
    pub(crate) scopes: Vec<String>,
}

impl Refreshed {
    /// Records the refresh in what conn learned about the connection (the state file; the
    /// scopes asked at sign-in stay in connections.toml, the granted ones are state).
    pub(crate) fn apply(&self, learned: &mut ConnState) {
        learned.expires_at = self.expires_at.clone();
        learned.refreshed_at = Some(self.refreshed_at.clone());
        if !self.scopes.is_empty() {
            learned.granted_scopes = Some(self.scopes.clone());
        }
    }
}

/// `fresh_secrets` inside a run: refreshed tokens are saved in the secret store as always (the
/// rotated refresh token first), but recording the refresh in the metadata is left to the run.
pub(crate) fn fresh_secrets_in_run(
    ctx: &Base,
    name: &str,
    conn: &Connection,
    provider: &Provider,
    run: Run<'_>,
) -> std::result::Result<(SecretBundle, Option<Refreshed>), Stale> {
    refresh_when(ctx, name, conn, provider, &is_due, true, Some(run))
}

/// After the API rejected `rejected` (401), the connection's secrets with a new access token:
/// refreshed now whatever its expiry says, unless another process already replaced that token
/// (then its new one is used, and the rotated refresh token is not spent twice).
pub(crate) fn refresh_rejected(
    ctx: &Base,
    name: &str,
    conn: &Connection,
    provider: &Provider,
    rejected: &SecretBundle,
) -> std::result::Result<SecretBundle, Stale> {
    let rejected = rejected.get(flow::ACCESS_TOKEN).cloned();
    let still_rejected = |b: &SecretBundle| b.get(flow::ACCESS_TOKEN) == rejected.as_ref();
    // A stored token that is due anyway is refreshed too: another process's (or host's) new
    // token may itself be close to expiry.
    let due = |m: &dyn Method, b: &SecretBundle| still_rejected(b) || is_due(m, b);
    refresh_when(ctx, name, conn, provider, &due, false, None).map(|(b, _)| b)
}

/// The error a command reports when the credentials could not be made fresh.
pub(crate) fn stale_error(name: &str, stale: Stale) -> anyhow::Error {
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
        Stale::InvalidClient(why) => anyhow!(
            "could not refresh the token of {name}: the provider rejected the OAuth client's credentials ({why}); {}",
            new_client_secret_hint(name)
        ),
        Stale::Refused(why) => {
            anyhow!("could not refresh the token of {name}: {why}; the stored tokens are unchanged")
        }
        Stale::Other(e) => e,
    }
}

/// How to give `conn reauth` the OAuth client's new secret.
pub(crate) fn new_client_secret_hint(name: &str) -> String {
    format!(
        "the client secret was probably rotated or the OAuth app deleted: give the new client secret with 'conn reauth {name} --client-secret-stdin' (or --client-secret-env VAR)"
    )
}

/// The expiry to record for new tokens (Unix seconds): the answer's, else now plus the
/// provider's `lifecycle.access_token_lifetime` (Salesforce's sessions end by org policy and
/// its token response has no `expires_in`); `None` for providers whose tokens never expire.
pub(crate) fn expiry_of(provider: &Provider, expires_at: Option<u64>) -> Option<u64> {
    let lifecycle = provider.lifecycle.as_ref();
    if lifecycle.and_then(|l| l.tokens_never_expire) == Some(true) {
        return None;
    }
    expires_at.or_else(|| {
        lifecycle
            .and_then(|l| l.access_token_lifetime)
            .map(|secs| flow::now() + secs)
    })
}

/// The connection's secrets, refreshed first (under the connection's lock) when `due` says so.
/// With `fallback`, a refresh that fails for a transient reason (unreachable, 5xx) leaves the
/// stored access token in use while it is still valid.
/// Outside a run the refresh is recorded in the metadata here; inside one it is returned.
fn refresh_when(
    ctx: &Base,
    name: &str,
    conn: &Connection,
    provider: &Provider,
    due: &dyn Fn(&dyn Method, &SecretBundle) -> bool,
    fallback: bool,
    run: Option<Run<'_>>,
) -> std::result::Result<(SecretBundle, Option<Refreshed>), Stale> {
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
    let (Ok(method), Some(state)) = (resolve::method(provider, conn), &conn.oauth) else {
        return Ok((bundle, None));
    };
    let loaded = std::cell::OnceCell::new();
    let meta = || metadata_of(ctx, run, &loaded);
    if method.signs_with_client() {
        return with_consumer(ctx, conn, meta().map_err(Stale::Other)?, state, bundle)
            .map(|b| (b, None))
            .map_err(Stale::Other);
    }
    if !due(method, &bundle) {
        return Ok((bundle, None));
    }
    if let Some(team) = &conn.team {
        return match refresh_in_team(ctx, team, name, conn, provider, method, state, due) {
            Err(Stale::Unreachable(why)) if fallback && still_valid(&bundle) => {
                log::debug!("{name}: {why}; the access token is still valid, using it");
                Ok((bundle, None))
            }
            other => other.map(|b| (b, None)),
        };
    }
    let lock = ctx
        .paths
        .data_dir
        .join("locks")
        .join(format!("{}.lock", conn.id));
    let _guard = fsio::lock_exclusive(&lock).map_err(Stale::Other)?;
    // Tokens a failed save kept in a recovery file are the newest: they go into the store
    // before anything else, and their refresh token is the one to spend.
    let bundle =
        match super::rotation::recover(ctx, store.as_ref(), &conn.id, run.map(|r| r.recovery)) {
            Ok(Some(b)) => b,
            Ok(None) => read()?,
            Err(e) => return Err(Stale::Other(e)),
        };
    if !due(method, &bundle) {
        log::debug!("{name}: another process refreshed the token meanwhile");
        return Ok((bundle, None));
    }
    let client = match run {
        // A team's client is read from its store each time (another host may replace it).
        Some(r) if conn.team.is_none() => {
            let key = format!("{}\n{}\n{}", state.client, conn.provider, conn.auth);
            let known = r
                .clients
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
                .cloned();
            match known {
                Some(c) => c,
                None => {
                    let c = saved_client(ctx, conn, r.meta, method, state).map_err(Stale::Other)?;
                    r.clients
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(key, c.clone());
                    c
                }
            }
        }
        _ => saved_client(ctx, conn, meta().map_err(Stale::Other)?, method, state)
            .map_err(Stale::Other)?,
    };
    let own;
    let http = match run {
        Some(r) => r
            .http
            .get_or_init(|| {
                ctx.http_no_redirects(TOKEN_TIMEOUT)
                    .map_err(|e| format!("{e:#}"))
            })
            .as_ref()
            .map_err(|e| Stale::Other(anyhow::anyhow!("{e}")))?,
        None => {
            own = ctx
                .http_no_redirects(Duration::from_secs(30))
                .map_err(Stale::Other)?;
            &own
        }
    };
    // The store must be able to take the new tokens before the refresh token is spent.
    super::rotation::reserve(store.as_ref(), &conn.id, &bundle).map_err(Stale::Other)?;
    let permit = match run {
        Some(r) => r.token_slot()?,
        None => None,
    };
    log::debug!("{name}: refreshing the access token");
    let refreshed = method.refresh(
        http,
        &resolve::values(provider, conn),
        &client,
        &bundle,
        state.grant,
        &state.scopes,
    );
    drop(permit);
    let mut tokens = match refreshed {
        Ok(Some(t)) => t,
        Ok(None) => return Ok((bundle, None)),
        Err(e) => {
            if let Some(rt) = e.rotated.clone() {
                // A 200 that could not be read but carried a refresh token: the server may
                // have rotated to it already. Save it (due at once) so it is the next one spent.
                let mut next = bundle.clone();
                next.insert(flow::REFRESH_TOKEN, rt);
                next.insert(flow::EXPIRES_AT, Secret::new("0".to_string()));
                if let Err(why) = crate::core::interrupt::critical(|| store.put(&conn.id, &next)) {
                    return Err(Stale::Other(super::rotation::keep(
                        ctx, name, &conn.id, &next, why,
                    )));
                }
                return Err(Stale::Other(anyhow::Error::new(e).context(
                    "the refresh token in the answer was saved, so the next use refreshes with it",
                )));
            }
            let stale = classify_err(e);
            if let Stale::Unreachable(why) = &stale
                && fallback
                && still_valid(&bundle)
            {
                log::debug!("{name}: {why}; the access token is still valid, using it");
                return Ok((bundle, None));
            }
            return Err(stale);
        }
    };
    tokens.expires_at = expiry_of(provider, tokens.expires_at);
    let mut next = bundle.clone();
    tokens.write_to(&mut next);
    // The rotated refresh token is saved before the new access token is used anywhere; if the
    // save fails it is kept in a recovery file, never dropped.
    crate::core::interrupt::critical(|| store.put(&conn.id, &next))
        .map_err(|why| Stale::Other(super::rotation::keep(ctx, name, &conn.id, &next, why)))?;
    let refreshed = Refreshed {
        expires_at: tokens.expires_at.map(unix_rfc3339),
        refreshed_at: now_rfc3339(),
        scopes: tokens.scopes.clone(),
    };
    if run.is_some() {
        return Ok((next, Some(refreshed)));
    }
    // What the refresh learned goes to the state file; connections.toml is not touched.
    let _ = ctx.metadata().state().update_one(&conn.id, |learned| {
        if learned.is_empty() {
            *learned = conn.learned();
        }
        refreshed.apply(learned);
    });
    Ok((next, None))
}

/// The run's metadata, else the file's, loaded once into `loaded` when first needed.
fn metadata_of<'a>(
    ctx: &Base,
    run: Option<Run<'a>>,
    loaded: &'a std::cell::OnceCell<Metadata>,
) -> Result<&'a Metadata> {
    if let Some(r) = run {
        return Ok(r.meta);
    }
    if loaded.get().is_none() {
        let _ = loaded.set(ctx.metadata().load()?);
    }
    Ok(loaded.get().expect("just set"))
}

/// The OAuth client a connection signed in with, secret included.
fn saved_client(
    ctx: &Base,
    conn: &Connection,
    meta: &Metadata,
    method: &dyn Method,
    state: &OAuthState,
) -> Result<flow::Client> {
    let reg = registration(ctx, conn, meta, &state.client)?.with_context(|| {
        format!(
            "the OAuth client {} of this connection is not saved",
            state.client
        )
    })?;
    let auth = method.client_needs().map(|n| n.auth).unwrap_or_default();
    load_client(ctx, &reg, auth)
}

/// The client registration `key`: in the team store for a team connection, else in `meta`.
fn registration(
    ctx: &Base,
    conn: &Connection,
    meta: &Metadata,
    key: &str,
) -> Result<Option<OAuthClient>> {
    match &conn.team {
        Some(_) => ctx.client_of(conn, key),
        None => Ok(meta.clients.get(key).cloned()),
    }
}

/// An OAuth 1.0a connection's bundle with its consumer's key and secret added, as signing
/// needs them (they are stored once, with the client registration).
fn with_consumer(
    ctx: &Base,
    conn: &Connection,
    meta: &Metadata,
    state: &OAuthState,
    mut bundle: SecretBundle,
) -> Result<SecretBundle> {
    let reg = registration(ctx, conn, meta, &state.client)?.with_context(|| {
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

/// While another host holds the refresh claim, an access token with at least this many seconds
/// left is used instead of waiting for the new one.
const CLAIM_USABLE_SECS: i64 = 10;

/// A team connection's refresh: the local lock queues this host's processes, and the team
/// store's claim-before-refresh protocol makes one caller across all hosts spend the refresh
/// token.
#[allow(clippy::too_many_arguments)]
fn refresh_in_team(
    ctx: &Base,
    team: &str,
    name: &str,
    conn: &Connection,
    provider: &Provider,
    method: &dyn Method,
    state: &OAuthState,
    due: &dyn Fn(&dyn Method, &SecretBundle) -> bool,
) -> std::result::Result<SecretBundle, Stale> {
    let t = ctx.team(team).map_err(vault_stale)?;
    let lock = ctx
        .paths
        .data_dir
        .join("locks")
        .join(format!("team-{team}-{}.lock", conn.id));
    let _guard = fsio::lock_exclusive(&lock).map_err(Stale::Other)?;
    // A token about to expire is not worth a 401 mid-request: wait for the new one.
    let usable = |b: &SecretBundle| !method.refresh_due(b, CLAIM_USABLE_SECS);
    let valid = |b: &SecretBundle| !method.refresh_due(b, 1);
    let due = |b: &SecretBundle| due(method, b);
    let mut refresh = |b: &SecretBundle| {
        let meta = Metadata::default();
        let client = match saved_client(ctx, conn, &meta, method, state) {
            Ok(c) => c,
            Err(e) => return Refresh::Failed(e),
        };
        let http = match ctx.http_no_redirects(TOKEN_TIMEOUT) {
            Ok(h) => h,
            Err(e) => return Refresh::Failed(e),
        };
        log::debug!("{name}: refreshing the access token (team {team}, claim held)");
        match method.refresh(
            &http,
            &resolve::values(provider, conn),
            &client,
            b,
            state.grant,
            &state.scopes,
        ) {
            Ok(Some(mut tokens)) => {
                tokens.expires_at = expiry_of(provider, tokens.expires_at);
                let mut next = SecretBundle::new();
                tokens.write_to(&mut next);
                Refresh::Tokens(next)
            }
            Ok(None) => Refresh::Tokens(SecretBundle::new()),
            Err(e) => match classify_err(e) {
                Stale::NeedsReauth(why) => Refresh::NeedsReauth(why),
                Stale::Unreachable(why) => Refresh::Unreachable(why),
                Stale::Missing(why) | Stale::InvalidClient(why) | Stale::Refused(why) => {
                    Refresh::Failed(anyhow!(why))
                }
                Stale::Other(e) => Refresh::Failed(e),
            },
        }
    };
    t.refresh_claimed(name, &conn.id, &due, &usable, &valid, &mut refresh)
        .map_err(|e| match e {
            ClaimError::Vault(e) => vault_stale(e),
            ClaimError::Missing(why) => Stale::Missing(why),
            ClaimError::NeedsReauth(why) => Stale::NeedsReauth(why),
            ClaimError::Unreachable(why) => Stale::Unreachable(why),
            ClaimError::ReadOnly(why) => Stale::Other(anyhow!(why)),
            ClaimError::Failed(e) => Stale::Other(e),
        })
}

/// A team store that is down or sealed says nothing about the credential: `Unreachable`, so
/// `conn check` reports UNKNOWN; any other failure stays as it is.
pub(crate) fn vault_stale(e: anyhow::Error) -> Stale {
    match crate::store::vault::error::find(&e) {
        Some(v) if v.is_temporary() => Stale::Unreachable(format!("{e:#}")),
        _ => Stale::Other(e),
    }
}

/// Whether the stored access token has not expired yet (by its recorded expiry).
fn still_valid(bundle: &SecretBundle) -> bool {
    flow::stored(bundle)
        .and_then(|t| t.expires_in())
        .is_some_and(|left| left > 0)
}

/// A refresh's failure by its kind: the provider's answer (or its absence), or a connection
/// that lacks what the refresh needs (`Misconfigured`, reported as it is).
fn classify_err(e: OAuthError) -> Stale {
    match e.kind {
        ErrorKind::InvalidGrant => Stale::NeedsReauth(e.message),
        ErrorKind::Unreachable => Stale::Unreachable(e.message),
        ErrorKind::InvalidClient => Stale::InvalidClient(e.message),
        ErrorKind::Misconfigured => Stale::Other(e.into()),
        _ => Stale::Refused(e.message),
    }
}

/// Revokes the connection's grant at the provider, where it has a revocation endpoint.
/// `Ok(false)` when there is nothing to revoke.
pub(crate) fn revoke(
    ctx: &Base,
    conn: &Connection,
    provider: &Provider,
    bundle: &SecretBundle,
) -> Result<bool> {
    let (Ok(method), Some(state)) = (resolve::method(provider, conn), &conn.oauth) else {
        return Ok(false);
    };
    let http = ctx.http_no_redirects(TOKEN_TIMEOUT)?;
    let meta = ctx.metadata().load()?;
    let client = || -> Result<flow::Client> {
        saved_client(ctx, conn, &meta, method, state)
            .map_err(|_| anyhow!("the connection's OAuth client is not saved"))
    };
    method.revoke(&http, &resolve::values(provider, conn), &client, bundle)
}

/// A valid access token (refreshed first when due, and refreshed once when the provider
/// refuses it) or key of connection `name`: the bundle field its method calls the token.
pub(crate) fn token(
    ctx: &Base,
    name: &str,
    conn: &Connection,
    provider: &Provider,
) -> Result<Secret<String>> {
    let method = resolve::method(provider, conn)?;
    let bundle = fresh_secrets(ctx, name, conn, provider)
        .and_then(|b| verified(ctx, name, conn, provider, b))
        .map_err(|stale| stale_error(name, stale))?;
    let field = method.token_field();
    match bundle.get(field) {
        Some(s) => Ok(s.clone()),
        None => {
            anyhow::bail!("the stored secrets of {name} have no {field}; run 'conn reauth {name}'")
        }
    }
}

/// `secrets`, verified with the provider before `token` and `exec` hand them out, since they
/// make no request of their own that could see a 401: for an OAuth 2.0 connection the
/// provider's check request is sent, and an access token it refuses (revoked, or a session
/// that ended before any expiry conn knew of) is refreshed once, under the lock, as `check`
/// and `request` do. Any other answer, or none, leaves the secrets as they are.
fn verified(
    ctx: &Base,
    name: &str,
    conn: &Connection,
    provider: &Provider,
    secrets: SecretBundle,
) -> std::result::Result<SecretBundle, Stale> {
    if !refreshable(provider, conn) {
        return Ok(secrets);
    }
    let http = ctx.http(PROBE_TIMEOUT).map_err(Stale::Other)?;
    let o = crate::check::check_credentials(
        &http,
        crate::check::Target {
            name,
            provider,
            method: conn.auth,
            values: &resolve::values(provider, conn),
        },
        conn.username.as_deref(),
        &secrets,
        crate::check::Limits {
            hosts: None,
            deadline: Some(std::time::Instant::now() + PROBE_TIMEOUT),
            timeout: Some(PROBE_TIMEOUT),
        },
    );
    if o.http_status != Some(401) {
        return Ok(secrets);
    }
    log::debug!("{name}: the provider refused the access token (401); refreshing it");
    refresh_rejected(ctx, name, conn, provider, &secrets)
}

/// How long `verified` waits for the provider's answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// A connection ready for use: its provider, fresh secrets and authenticator.
#[derive(Debug)]
pub(crate) struct Ready {
    pub(crate) name: String,
    pub(crate) conn: Connection,
    pub(crate) provider: Provider,
    pub(crate) secrets: SecretBundle,
    pub(crate) auth: Box<dyn Authenticator>,
    /// The provider's API base URL with the connection's values filled in.
    pub(crate) base_url: String,
}

/// Whether a 401 for `conn` is worth one retry with a refreshed token (OAuth 2.0).
pub(crate) fn refreshable(provider: &Provider, conn: &Connection) -> bool {
    resolve::method(provider, conn).is_ok_and(|m| m.refreshable()) && conn.oauth.is_some()
}

impl Ready {
    /// Whether a 401 is worth one retry with a refreshed token.
    pub(crate) fn refreshable(&self) -> bool {
        refreshable(&self.provider, &self.conn)
    }

    /// Before the credentials are handed out (`exec`): verified with the provider, refreshed
    /// once if it refuses them (see `verified`).
    pub(crate) fn verify(&mut self, base: &Base) -> Result<()> {
        let secrets = verified(
            base,
            &self.name,
            &self.conn,
            &self.provider,
            self.secrets.clone(),
        )
        .map_err(|s| stale_error(&self.name, s))?;
        self.auth = resolve::authenticator(&self.provider, &self.conn, &secrets)?;
        self.secrets = secrets;
        Ok(())
    }

    /// After a 401: refresh the access token now (unless another process already replaced
    /// the rejected one) and rebuild the authenticator.
    pub(crate) fn refresh_rejected(&mut self, base: &Base) -> Result<()> {
        let secrets = refresh_rejected(base, &self.name, &self.conn, &self.provider, &self.secrets)
            .map_err(|s| stale_error(&self.name, s))?;
        self.auth = resolve::authenticator(&self.provider, &self.conn, &secrets)?;
        self.secrets = secrets;
        Ok(())
    }
}

/// Loads what `conn` needs to use connection `name`.
pub(crate) fn ready(
    base: &Base,
    catalog: &Catalog,
    name: &str,
    conn: &Connection,
) -> Result<Ready> {
    let provider = catalog.get(&conn.provider)?.clone();
    let secrets = fresh_secrets(base, name, conn, &provider).map_err(|s| match s {
        Stale::Other(e) => e.context(format!("could not read the secrets of {name}")),
        s => stale_error(name, s),
    })?;
    let auth = resolve::authenticator(&provider, conn, &secrets)?;
    let base_url = resolve::base_url(name, &provider, conn)?;
    Ok(Ready {
        name: name.to_string(),
        conn: conn.clone(),
        provider,
        secrets,
        auth,
        base_url,
    })
}

//! Checking connections: health checks run concurrently (a global limit, a queue per host with
//! a per-host limit, a deadline for the run), results explained (expiring, invalidated by a newer sign-in, an
//! integration user where the provider offers one) and saved in one metadata update.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use super::credentials::{self, Stale};
use super::{Base, Ctx, find, recipe, resolve, sign_in};
use crate::catalog::Catalog;
use crate::catalog::Provider;
use crate::check::schedule::Spread;
use crate::check::{self, CheckStatus, HostLimiter, Limits, Outcome, Severity, Target};
use crate::core::http::Http;
use crate::core::time::now_rfc3339;
use crate::core::vocab::{Environment, Grant};
use crate::store::metadata::{Connection, LastCheck, Metadata};
use crate::store::state::ConnState;

#[derive(Debug, Clone)]
pub(crate) struct CheckOptions {
    pub(crate) names: Vec<String>,
    /// Check the connections of the project's recipe, as resolved for this environment.
    pub(crate) recipe_env: Option<Environment>,
    /// Per request.
    pub(crate) timeout: Duration,
    /// Checks in flight at once.
    pub(crate) concurrency: usize,
    /// Requests in flight to one host at once.
    pub(crate) per_host: usize,
    /// For the whole run.
    pub(crate) deadline: Duration,
    /// A credential that stops working within this is `expiring`.
    pub(crate) warn_expiring: Duration,
}

#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) name: String,
    pub(crate) provider: String,
    #[serde(flatten)]
    pub(crate) outcome: Outcome,
    pub(crate) checked_at: String,
    /// Unix seconds of the last successful check, this one included.
    #[serde(skip)]
    pub(crate) last_success: Option<u64>,
    /// The access token was refreshed for this check; saved with the results.
    #[serde(skip)]
    pub(crate) refreshed: Option<credentials::Refreshed>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CheckRun {
    pub(crate) reports: Vec<Report>,
    /// The worst severity found (OK when there was nothing to check).
    #[serde(skip)]
    pub(crate) worst: Severity,
    #[serde(skip)]
    pub(crate) save_error: Option<String>,
}

pub(crate) fn run(ctx: &mut Ctx<'_>, opts: &CheckOptions) -> Result<CheckRun> {
    // The API client is built while the connections are read: the build reads and parses the
    // system's certificate authorities (~20 ms on the development VM).
    let api_build = {
        let base: Base = ctx.base.clone();
        let timeout = opts.timeout;
        std::thread::spawn(move || base.http(timeout))
    };
    let mut names = opts.names.clone();
    if let Some(env) = &opts.recipe_env {
        let (_, cast) = recipe::resolve(ctx, *env, &[])?;
        for c in cast {
            if !names.contains(&c.connection) {
                names.push(c.connection);
            }
        }
    }
    let all = opts.recipe_env.is_none() && names.is_empty();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    // Named connections are read without the others: checking 500 of 10,000 costs what
    // checking them in a store of 500 does.
    let (meta, failed_teams) = if all {
        ctx.view_all()?
    } else {
        (ctx.view(&refs)?, Vec::new())
    };
    let selected: Vec<String> = if all {
        meta.connections.keys().cloned().collect()
    } else {
        for n in &names {
            find(&meta, n)?;
        }
        names.clone()
    };
    let ids: std::collections::BTreeSet<&str> = selected
        .iter()
        .map(|n| meta.connections[n].provider.as_str())
        .collect();
    let catalog = ctx.catalog_for(&ids.into_iter().collect::<Vec<_>>());
    // The token-endpoint client is built next to the API client when some connection may need
    // a refresh: each build reads and parses the system's certificate authorities (~20 ms on
    // the development VM), and every worker of a refresh storm waited for the second build.
    let may_refresh = selected.iter().any(|n| {
        let conn = &meta.connections[n];
        catalog
            .get(&conn.provider)
            .is_ok_and(|p| credentials::refreshable(p, conn))
    });
    let token_build = may_refresh.then(|| {
        let base: Base = ctx.base.clone();
        std::thread::spawn(move || {
            base.http_no_redirects(credentials::TOKEN_TIMEOUT)
                .map_err(|e| format!("{e:#}"))
        })
    });
    let client = api_build
        .join()
        .map_err(|_| anyhow::anyhow!("setting up the HTTP client failed"))??;
    // --concurrency and --per-host count requests in flight (token refreshes in the total): a
    // few more connections than that are worked on at once, so decrypting and saving one
    // (a synced write after a refresh) overlaps the others' requests instead of holding a slot.
    let hosts = HostLimiter::new(opts.per_host, opts.concurrency);
    let limits = Limits {
        hosts: Some(&hosts),
        deadline: Some(crate::core::time::deadline_after(opts.deadline)),
        timeout: Some(opts.timeout),
    };
    let token_http = credentials::RunHttp::new();
    if let Some(Ok(built)) = token_build.map(std::thread::JoinHandle::join) {
        let _ = token_http.set(built);
    }
    let clients = credentials::RunClients::default();
    let recovery = super::rotation::Listing::default();
    let run = credentials::Run {
        meta: &meta,
        http: &token_http,
        clients: &clients,
        requests: Some(&hosts),
        deadline: limits.deadline,
        recovery: &recovery,
    };
    // A queue per host: a host that never answers holds only its own --per-host slots.
    let hosts: Vec<String> = selected
        .iter()
        .map(|name| {
            let conn = &meta.connections[name];
            let Ok(provider) = catalog.get(&conn.provider) else {
                return String::new();
            };
            check::host_of(
                &client,
                Target {
                    name,
                    provider,
                    method: conn.auth,
                    values: &resolve::values(provider, conn),
                },
            )
            .unwrap_or_default()
        })
        .collect();
    let spread = Spread {
        workers: opts.concurrency + opts.concurrency / 2,
        per_host: opts.per_host + opts.per_host.div_ceil(2),
        deadline: limits.deadline,
    };
    let progress = ctx.ui.progress(
        &match selected.len() {
            1 => "Checking 1 connection…".to_string(),
            n => format!("Checking {n} connections…"),
        },
        Some(selected.len() as u64),
    );
    let base: &Base = ctx;
    let outcomes = check::schedule::by_host(&hosts, spread, |i| {
        let name = &selected[i];
        let mut refreshed = None;
        let outcome = check_one(
            base,
            &catalog,
            &client,
            run,
            name,
            &meta.connections[name],
            limits,
            opts.warn_expiring,
            &mut refreshed,
        );
        progress.inc();
        (outcome, refreshed)
    });
    // Cleared before anything else is said.
    drop(progress);
    // Whether a newer connection invalidated a failing one is judged against every connection
    // of the store: loaded only when some named connection failed in that way.
    let invalidated = |o: &Outcome| {
        matches!(
            o.status,
            CheckStatus::InvalidCredentials | CheckStatus::NeedsReauth
        )
    };
    let whole = if !all && outcomes.iter().any(|(o, _)| invalidated(o)) {
        Some(ctx.view_whole(&refs)?)
    } else {
        None
    };
    let others = whole.as_ref().unwrap_or(&meta);
    let now = now_rfc3339();
    // What this run found, for judging whether a newer connection works.
    let found: BTreeMap<&str, CheckStatus> = selected
        .iter()
        .zip(&outcomes)
        .map(|(n, (o, _))| (n.as_str(), o.status))
        .collect();
    let mut reports: Vec<Report> = selected
        .iter()
        .zip(outcomes)
        .map(|(name, (mut outcome, refreshed))| {
            let conn = &meta.connections[name];
            explain_invalidation(others, name, conn, &found, &mut outcome);
            suggest_integration_user(catalog.get(&conn.provider).ok(), &mut outcome);
            let last_success = if outcome.status == CheckStatus::Ok {
                Some(crate::auth::oauth2::now())
            } else {
                conn.last_success
                    .as_deref()
                    .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_secs())
            };
            Report {
                name: name.clone(),
                provider: conn.provider.clone(),
                outcome,
                checked_at: now.clone(),
                last_success,
                refreshed,
            }
        })
        .collect();
    // Only the ids are needed from here on; the save loads the file afresh, and two copies of a
    // big store's metadata at once would double the run's peak memory.
    let ids: Vec<String> = reports
        .iter()
        .map(|r| meta.connections[&r.name].id.clone())
        .collect();
    drop(whole);
    drop(meta);
    // A team store that can't be read says nothing about its connections: UNKNOWN.
    for (team, e) in failed_teams {
        let temporary = crate::store::vault::error::find(&e).is_some_and(|v| v.is_temporary());
        reports.push(Report {
            name: format!("{team}/*"),
            provider: "-".into(),
            outcome: Outcome::local(
                if temporary {
                    CheckStatus::Unreachable
                } else {
                    CheckStatus::Error
                },
                format!("team store {team}: {e:#}"),
                Some("run 'conn doctor' to see the state of the team store".into()),
            ),
            checked_at: now.clone(),
            last_success: None,
            refreshed: None,
        });
    }
    // The results matter more than recording them: a failed save is a warning.
    let save_error = save_results(ctx, all, &ids, &reports)
        .err()
        .map(|e| format!("could not save the results: {e:#}"));
    let worst = reports
        .iter()
        .map(|r| r.outcome.status.severity())
        .max()
        .unwrap_or(Severity::Ok);
    Ok(CheckRun {
        reports,
        worst,
        save_error,
    })
}

/// One connection: fresh credentials (refreshing under its lock when due), then the request.
/// What a refresh learned goes to `refreshed`, for the run's one metadata update.
#[allow(clippy::too_many_arguments)]
fn check_one(
    base: &Base,
    catalog: &Catalog,
    client: &Http,
    run: credentials::Run<'_>,
    name: &str,
    conn: &Connection,
    limits: Limits<'_>,
    warn_expiring: Duration,
    refreshed: &mut Option<credentials::Refreshed>,
) -> Outcome {
    log::debug!("checking {name} ({})", conn.provider);
    let provider = match catalog.get(&conn.provider) {
        Ok(p) => p,
        Err(e) => {
            return Outcome::local(
                CheckStatus::Error,
                format!("{e:#}"),
                Some("restore the provider file in the config dir's providers/ folder".into()),
            );
        }
    };
    let mut secrets = match credentials::fresh_secrets_in_run(base, name, conn, provider, run) {
        Ok((s, r)) => {
            *refreshed = r;
            s
        }
        Err(stale) => return stale_outcome(name, stale),
    };
    let target = Target {
        name,
        provider,
        method: conn.auth,
        values: &resolve::values(provider, conn),
    };
    let username = conn.username.as_deref();
    let mut o = check::check_credentials(client, target, username, &secrets, limits);
    // The one refresh rule: an OAuth access token the API refuses (401) is refreshed once,
    // under the lock, and the check sent again, as `request`, `token` and `exec` do.
    if o.http_status == Some(401) && credentials::refreshable(provider, conn) {
        log::debug!("{name}: 401, refreshing the token and checking once more");
        secrets = match credentials::refresh_rejected(base, name, conn, provider, &secrets) {
            Ok(s) => s,
            Err(stale) => return stale_outcome(name, stale),
        };
        o = check::check_credentials(client, target, username, &secrets, limits);
    }
    let o = match provider.auth(conn.auth) {
        Some(spec) => sign_in::scope_check(o, spec, conn.oauth.as_ref(), name),
        None => o,
    };
    let o = no_offline_access(o, conn, &secrets, name);
    expiring(o, conn, &secrets, name, warn_expiring)
}

/// An OK check is `expiring` when offline access was asked at sign-in but no refresh token
/// came back (an OpenID Connect server grants it only with consent): the connection dies with
/// its access token.
fn no_offline_access(
    mut o: Outcome,
    conn: &Connection,
    secrets: &crate::core::secret::SecretBundle,
    name: &str,
) -> Outcome {
    let asked = conn
        .oauth
        .as_ref()
        .is_some_and(|s| s.offline_access && s.grant != Grant::ClientCredentials);
    if o.status != CheckStatus::Ok
        || !asked
        || secrets.get(crate::auth::oauth2::REFRESH_TOKEN).is_some()
    {
        return o;
    }
    o.status = CheckStatus::Expiring;
    o.message = format!(
        "{}, but offline access was asked and the provider gave no refresh token: the connection stops working when the access token expires",
        o.message
    );
    o.hint = Some(format!(
        "allow offline access (refresh tokens) for the OAuth app at the provider, then sign in again with 'conn reauth {name}'"
    ));
    o
}

/// The outcome of a check whose credentials could not be made fresh: each cause with its own
/// status and hint. Only a failing secret store reads "could not read the secrets".
fn stale_outcome(name: &str, stale: Stale) -> Outcome {
    match stale {
        Stale::Other(e) => Outcome::local(
            CheckStatus::Error,
            format!("could not read the secrets: {e:#}"),
            Some("run 'conn doctor' to see the state of the secret store".into()),
        ),
        Stale::Missing(why) => Outcome::local(
            CheckStatus::SecretMissing,
            why,
            Some(format!(
                "someone deleted them from the secret store; enter them again with 'conn reauth {name}'"
            )),
        ),
        Stale::NeedsReauth(why) => Outcome::local(
            CheckStatus::NeedsReauth,
            why,
            Some(format!(
                "the provider no longer accepts this grant (revoked, expired, or replaced by a newer sign-in): run 'conn reauth {name}'"
            )),
        ),
        Stale::Unreachable(why) => Outcome::local(
            CheckStatus::Unreachable,
            why,
            Some(
                "the token could not be refreshed now (the provider or something in front of it answered instead); the stored one is unchanged, try again later"
                    .into(),
            ),
        ),
        Stale::InvalidClient(why) => Outcome::local(
            CheckStatus::InvalidCredentials,
            format!("the provider rejected the OAuth client's credentials: {why}"),
            Some(credentials::new_client_secret_hint(name)),
        ),
        Stale::Refused(why) => Outcome::local(
            CheckStatus::Error,
            why,
            Some(format!(
                "the provider refused the token refresh; the stored tokens are unchanged. If it persists, sign in again with 'conn reauth {name}'"
            )),
        ),
    }
}

/// An OK check becomes `expiring` when the credential stops working soon: a key whose expiry
/// the API reports, or an OAuth access token that can't be refreshed.
fn expiring(
    mut o: Outcome,
    conn: &Connection,
    secrets: &crate::core::secret::SecretBundle,
    name: &str,
    warn: Duration,
) -> Outcome {
    if o.status != CheckStatus::Ok {
        return o;
    }
    let unrefreshable = conn
        .oauth
        .as_ref()
        .is_some_and(|s| s.grant != Grant::ClientCredentials)
        && secrets.get(crate::auth::oauth2::REFRESH_TOKEN).is_none();
    let token_expiry = unrefreshable
        .then(|| crate::auth::oauth2::stored(secrets)?.expires_at)
        .flatten()
        .map(crate::core::time::unix_rfc3339);
    let Some(at) = o.expires_at.clone().or(token_expiry) else {
        return o;
    };
    let Ok(when) = humantime::parse_rfc3339_weak(&at) else {
        return o;
    };
    o.expires_at = Some(at.clone());
    let left = when
        .duration_since(std::time::SystemTime::now())
        .unwrap_or(Duration::ZERO);
    if left < warn {
        o.status = CheckStatus::Expiring;
        o.message = format!("{}, but the credential expires at {at}", o.message);
        o.hint = Some(format!(
            "replace it before then with 'conn reauth {name}' (a new key or sign-in)"
        ));
    }
    o
}

/// When credentials stopped working and another connection signed in as the same account
/// after this one last worked, that sign-in most likely replaced this grant, but only if that
/// newer connection works: checked OK in this run, or (not checked now) its last check was
/// OK. When both fail, something else (a revoked app, a server that lost its grants) is the
/// likelier cause, and blaming the newer one would send the person to delete a connection.
fn explain_invalidation(
    meta: &Metadata,
    name: &str,
    conn: &Connection,
    found: &BTreeMap<&str, CheckStatus>,
    outcome: &mut Outcome,
) {
    if !matches!(
        outcome.status,
        CheckStatus::InvalidCredentials | CheckStatus::NeedsReauth
    ) {
        return;
    }
    let time = |t: &str| humantime::parse_rfc3339_weak(t).ok();
    let worked = conn
        .last_success
        .as_deref()
        .or(conn.authorized_at.as_deref())
        .unwrap_or(&conn.created_at);
    let Some(worked) = time(worked) else { return };
    let newer = crate::store::metadata::same_account(meta, name, conn)
        .into_iter()
        .filter(|(n, c)| {
            let status = found
                .get(n.as_str())
                .copied()
                .or_else(|| c.last_check.as_ref().map(|l| l.status));
            matches!(status, Some(CheckStatus::Ok | CheckStatus::Expiring))
        })
        .filter_map(|(n, c)| {
            let at = c.authorized_at.as_deref().unwrap_or(&c.created_at);
            time(at)
                .filter(|t| *t > worked)
                .map(|t| (t, n, at.to_string()))
        })
        .max_by_key(|(t, _, _)| *t);
    if let Some((_, other, at)) = newer {
        outcome.message = format!(
            "{}; probably invalidated by the newer connection {other}, authorized at {at}",
            outcome.message
        );
        outcome.hint = Some(format!(
            "the app likely keeps one active authorization per user, and signing in for '{other}' replaced this one. Use '{other}' instead ('conn rm {name}'), or re-authorize this one as another user ('conn reauth {name}')"
        ));
    }
}

/// Credentials tied to a person break when that person leaves or changes role. conn can't know
/// whose account a connection signed in as, so this is said only for a provider whose catalog
/// entry documents a dedicated integration user (`lifecycle.integration_user`), with its link.
fn suggest_integration_user(provider: Option<&Provider>, outcome: &mut Outcome) {
    let Some((name, url)) = provider.and_then(|p| {
        let url = p.lifecycle.as_ref()?.integration_user.as_deref()?;
        Some((p.display_name.as_str(), url))
    }) else {
        return;
    };
    let affected = matches!(
        outcome.status,
        CheckStatus::InvalidCredentials
            | CheckStatus::NeedsReauth
            | CheckStatus::InsufficientPermissions
    );
    if affected && let Some(h) = outcome.hint.as_mut() {
        h.push_str(&format!(
            ". Credentials of a person's account break when that person leaves or changes role; {name} offers a dedicated integration user for this ({url})"
        ));
    }
}

/// One state update at the end (connections.toml is not touched), applied to connections that
/// still exist as they were (same id), merged with whatever other processes learned meanwhile.
/// `ids[i]` is the id `reports[i]`'s connection had when the run began.
/// With `all` every local connection was checked; otherwise only the reports' ones are read.
fn save_results(ctx: &Base, all: bool, ids: &[String], reports: &[Report]) -> Result<()> {
    if reports.is_empty() {
        return Ok(());
    }
    let team_result = save_team_results(ctx, reports);
    let store = ctx.metadata();
    // Results an older conn kept in connections.toml start a connection's record when the
    // state file has none (as the overlay on load would move them). With every connection
    // checked, the settings alone are read: the update below reads the state file anyway.
    let current = if all {
        store.load_settings()?
    } else {
        let local: Vec<&str> = reports
            .iter()
            .map(|r| r.name.as_str())
            .filter(|n| crate::store::vault::team::split_name(n).is_none())
            .collect();
        store.load_some(&local)?
    };
    // Only what the update needs (id, and what is known already), so the whole metadata is
    // not held while the state file is rewritten: at 10,000 connections the two at once were
    // the run's peak memory.
    let current: BTreeMap<String, (String, ConnState)> = current
        .connections
        .into_iter()
        .map(|(name, c)| {
            let learned = c.learned();
            (name, (c.id, learned))
        })
        .collect();
    // Each local connection's reports (a name given twice was checked twice), in order.
    let mut by_id: BTreeMap<&str, Vec<&Report>> = BTreeMap::new();
    for (r, id) in reports.iter().zip(ids) {
        if current.get(&r.name).is_some_and(|(i, _)| i == id) {
            by_id.entry(id.as_str()).or_default().push(r);
        }
    }
    let touched: Vec<&str> = by_id.keys().copied().collect();
    store.state().update_some(&touched, |id, learned| {
        for r in &by_id[id] {
            record_report(r, current.get(&r.name).map(|(_, known)| known), learned);
        }
    })?;
    team_result
}

/// What one check taught about a connection, into its record (`known`: what connections.toml
/// still held, for a connection without a record yet).
fn record_report(r: &Report, known: Option<&ConnState>, learned: &mut ConnState) {
    if learned.is_empty()
        && let Some(known) = known
    {
        *learned = known.clone();
    }
    learned.last_check = Some(LastCheck {
        status: r.outcome.status,
        at: r.checked_at.clone(),
        message: (r.outcome.status != CheckStatus::Ok).then(|| r.outcome.message.clone()),
    });
    if r.outcome.status == CheckStatus::Ok {
        learned.last_success = Some(r.checked_at.clone());
    }
    if let Some(refreshed) = &r.refreshed {
        refreshed.apply(learned);
    }
    if let Some(found) = &r.outcome.identity {
        learned.identity = Some(found.clone());
    }
}

/// Team connections' results go to `status/<name>` in their team store (every role may write
/// there), each a read-modify-write with check-and-set.
fn save_team_results(ctx: &Base, reports: &[Report]) -> Result<()> {
    let mut teams = std::collections::BTreeMap::new();
    let mut errors = Vec::new();
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    for r in reports {
        let Some((team, short)) = crate::store::vault::team::split_name(&r.name) else {
            continue;
        };
        if short == "*" {
            continue;
        }
        if !teams.contains_key(team) {
            teams.insert(team.to_string(), ctx.team(team));
        }
        let t = match &teams[team] {
            Ok(t) => t,
            Err(e) => {
                errors.push(format!("{team}: {e:#}"));
                continue;
            }
        };
        let o = &r.outcome;
        let saved = t.update_entry("status", short, true, "record checks", &|m| {
            let mut put = |k: &str, v: Option<String>| match v {
                Some(v) => {
                    m.insert(k.into(), serde_json::Value::String(v));
                }
                None => {
                    m.remove(k);
                }
            };
            put("status", Some(o.status.as_str().to_string()));
            put("at", Some(r.checked_at.clone()));
            put(
                "message",
                (o.status != CheckStatus::Ok).then(|| o.message.clone()),
            );
            put("host", Some(host.clone()));
            if o.status == CheckStatus::Ok {
                put("last_success", Some(r.checked_at.clone()));
            }
            Ok(())
        });
        if let Err(e) = saved {
            errors.push(format!("{}: {e:#}", r.name));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("in the team store: {}", errors.join("; "))
    }
}

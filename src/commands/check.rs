//! `conn check [NAME...]`: run each connection's health check, save the results, and report
//! with monitoring-plugin exit codes.

use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use super::Ctx;
use super::oauth::Stale;
use crate::check::{self, Outcome, Severity, Status, Target};
use crate::core::time::now_rfc3339;
use crate::store::metadata::{Identity, LastCheck};

#[derive(Debug, Serialize)]
pub struct Report {
    pub name: String,
    pub provider: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub checked_at: String,
}

#[derive(Debug, Serialize)]
pub struct CheckRun {
    pub reports: Vec<Report>,
    /// 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    #[serde(skip)]
    pub exit_code: u8,
    #[serde(skip)]
    pub save_error: Option<String>,
}

pub fn run(ctx: &mut Ctx<'_>, names: &[String], timeout: Duration) -> Result<CheckRun> {
    let meta = ctx.metadata().load()?;
    let selected: Vec<String> = if names.is_empty() {
        meta.connections.keys().cloned().collect()
    } else {
        for n in names {
            super::find(&meta, n)?;
        }
        names.to_vec()
    };
    let catalog = ctx.catalog();
    let client = ctx.http(timeout)?;
    let mut reports = Vec::with_capacity(selected.len());
    for name in &selected {
        let conn = &meta.connections[name];
        crate::debug!("checking {name} ({})", conn.provider);
        let outcome = match catalog.get(&conn.provider) {
            Err(e) => Outcome::local(
                Status::Error,
                format!("{e:#}"),
                Some("restore the provider file in the config dir's providers/ folder".into()),
            ),
            Ok(provider) => match ctx.secrets_of(conn) {
                Err(e) => Outcome::local(
                    Status::Error,
                    format!("{e:#}"),
                    Some(format!(
                        "fix the 'store' line of [connections.{name}] in connections.toml ('keychain' or 'file')"
                    )),
                ),
                Ok(_) => match super::oauth::fresh_secrets(ctx, name, conn, provider) {
                    Err(Stale::Other(e)) => Outcome::local(
                        Status::Error,
                        format!("could not read the secrets: {e:#}"),
                        Some("run 'conn doctor' to see the state of the secret store".into()),
                    ),
                    Err(Stale::Missing(why)) => Outcome::local(
                        Status::SecretMissing,
                        why,
                        Some(format!(
                            "someone deleted them from the secret store; enter them again with 'conn reauth {name}'"
                        )),
                    ),
                    Err(Stale::NeedsReauth(why)) => Outcome::local(
                        Status::NeedsReauth,
                        why,
                        Some(format!(
                            "the provider no longer accepts this grant (revoked, expired, or replaced by a newer sign-in): run 'conn reauth {name}'"
                        )),
                    ),
                    Err(Stale::Unreachable(why)) => Outcome::local(
                        Status::Unreachable,
                        why,
                        Some("the token could not be refreshed now; the stored one is unchanged, try again later".into()),
                    ),
                    Ok(secrets) => {
                        let o = check::check_credentials(
                            &client,
                            Target {
                                name,
                                provider,
                                method: &conn.auth,
                                inputs: &conn.inputs,
                            },
                            conn.username.as_deref(),
                            &secrets,
                        );
                        match provider.auth(&conn.auth) {
                            Some(spec) => super::oauth::scope_check(o, spec, conn.oauth.as_ref(), name),
                            None => o,
                        }
                    }
                },
            },
        };
        reports.push(Report {
            name: name.clone(),
            provider: conn.provider.clone(),
            outcome,
            checked_at: now_rfc3339(),
        });
    }
    // The results matter more than recording them: a failed save is a warning.
    let save_error = save_results(ctx, &meta, &reports)
        .err()
        .map(|e| format!("could not save the results in connections.toml: {e:#}"));
    let worst = reports
        .iter()
        .map(|r| r.outcome.status.severity())
        .max()
        .unwrap_or(Severity::Ok);
    Ok(CheckRun {
        reports,
        exit_code: worst.exit_code(),
        save_error,
    })
}

/// One metadata update at the end, applied to connections that still exist as they were
/// (same id), merged with whatever other processes changed meanwhile.
fn save_results(
    ctx: &Ctx<'_>,
    before: &crate::store::metadata::Metadata,
    reports: &[Report],
) -> Result<()> {
    if reports.is_empty() {
        return Ok(());
    }
    ctx.metadata().update(|meta| {
        for r in reports {
            let Some(old_id) = before.connections.get(&r.name).map(|c| c.id.clone()) else {
                continue;
            };
            let Some(conn) = meta.connections.get_mut(&r.name) else {
                continue;
            };
            if conn.id != old_id {
                continue;
            }
            conn.last_check = Some(LastCheck {
                status: r.outcome.status.as_str().to_string(),
                at: r.checked_at.clone(),
                message: (r.outcome.status != Status::Ok).then(|| r.outcome.message.clone()),
            });
            if let Some(found) = &r.outcome.identity {
                conn.identity = Some(Identity {
                    id: found.id.clone(),
                    label: found.label.clone(),
                });
            }
        }
        Ok(())
    })
}

//! `conn edit`: change a connection's settings (its instance inputs: a base URL, a check
//! path, a header prefix) in place. The id, the secrets and the recipe bindings stay; the
//! connection is checked with the new settings, and nothing is saved when that check fails
//! unless the person says so.

use std::time::Duration;

use anyhow::{Result, bail};
use serde::Serialize;

use super::credentials::{self, Stale};
use super::lifecycle::check_new;
use super::wizard::{ask_input, rederive, relevant_inputs};
use super::{Ctx, find, find_mut, sign_in};
use crate::catalog::closest;
use crate::check::{CheckStatus, Outcome};
use crate::core::error::usage;
use crate::core::time::now_rfc3339;
use crate::core::ui::Question;
use crate::store::metadata::LastCheck;

/// What `conn edit` is told.
#[derive(Debug, Default)]
pub(crate) struct EditOptions {
    pub(crate) name: String,
    /// `--set KEY=VALUE`, in order; none means "ask" (on a terminal).
    pub(crate) sets: Vec<(String, String)>,
    pub(crate) no_check: bool,
    /// Save even when the check fails.
    pub(crate) yes: bool,
    /// For the check request.
    pub(crate) timeout: Duration,
}

/// One setting that changed.
#[derive(Debug, Serialize)]
pub(crate) struct Change {
    pub(crate) key: String,
    pub(crate) old: Option<String>,
    pub(crate) new: String,
}

/// What `conn edit` did.
#[derive(Debug, Serialize)]
pub(crate) struct Edited {
    pub(crate) name: String,
    pub(crate) changes: Vec<Change>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) check: Option<Outcome>,
}

/// Changes connection `opts.name`'s inputs, checks, saves. Keys that are not inputs of its
/// provider (or are taken from the sign-in) are refused with the valid ones.
pub(crate) fn edit(ctx: &mut Ctx<'_>, opts: EditOptions) -> Result<Edited> {
    let meta = ctx.metadata().load()?;
    let conn = find(&meta, &opts.name)?.clone();
    let name = opts.name.as_str();
    let catalog = ctx.catalog();
    let provider = catalog.get(&conn.provider)?;
    let spec = super::resolve::spec(provider, &conn)?;
    let editable: Vec<_> = relevant_inputs(provider, spec)
        .into_iter()
        .filter(|i| i.capture.is_none())
        .collect();
    let keys: Vec<&str> = editable.iter().map(|i| i.name.as_str()).collect();
    let mut inputs = conn.inputs.clone();
    if opts.sets.is_empty() {
        if !ctx.ui.interactive() {
            return Err(usage(if keys.is_empty() {
                format!(
                    "{name} ({}) has no settings to change",
                    provider.display_name
                )
            } else {
                format!(
                    "nothing to change: pass --set KEY=VALUE; the settings of {name} are: {}",
                    keys.join(", ")
                )
            }));
        }
        for input in &editable {
            // A default that followed an earlier answer follows its change (the prefix a
            // new header).
            rederive(provider, conn.env, &conn.inputs, &mut inputs);
            let current = inputs.get(&input.name).cloned().unwrap_or_default();
            let v = ask_input(ctx, provider, input, Some(&current))?;
            inputs.insert(input.name.clone(), v);
        }
    } else {
        for (k, v) in &opts.sets {
            let Some(input) = editable.iter().find(|i| &i.name == k) else {
                let close = closest(k, keys.iter().copied());
                let mean = if close.is_empty() {
                    String::new()
                } else {
                    format!("did you mean {}? ", close.join(" or "))
                };
                return Err(usage(if keys.is_empty() {
                    format!(
                        "--set {k}=...: {name} ({}) has no settings to change",
                        provider.display_name
                    )
                } else {
                    format!(
                        "--set {k}=...: {name} has no setting {k:?}; {mean}its settings are: {}",
                        keys.join(", ")
                    )
                }));
            };
            let v = provider
                .take_input(input, v)
                .map_err(|e| usage(format!("--set {k}: {e}")))?;
            inputs.insert(k.clone(), v);
        }
        // What was not set but followed a changed answer follows it (`--set header=X-Api-Key`
        // drops the `Bearer ` that came with Authorization).
        let mut derived = inputs.clone();
        rederive(provider, conn.env, &conn.inputs, &mut derived);
        for (k, v) in derived {
            if !opts.sets.iter().any(|(s, _)| s == &k) {
                inputs.insert(k, v);
            }
        }
    }
    let changes: Vec<Change> = inputs
        .iter()
        .filter(|(k, v)| conn.inputs.get(*k) != Some(*v))
        .map(|(k, v)| Change {
            key: k.clone(),
            old: conn.inputs.get(k).cloned(),
            new: v.clone(),
        })
        .collect();
    if changes.is_empty() {
        return Ok(Edited {
            name: name.into(),
            changes,
            check: None,
        });
    }

    let mut outcome = None;
    if !opts.no_check {
        ctx.ui
            .notice(&format!("Checking {name} with the new settings…"));
        let secrets = match credentials::fresh_secrets(ctx, name, &conn, provider) {
            Ok(s) => s,
            Err(
                Stale::Missing(why)
                | Stale::NeedsReauth(why)
                | Stale::Unreachable(why)
                | Stale::InvalidClient(why)
                | Stale::Refused(why),
            ) => {
                bail!(
                    "could not check {name}: {why}\nNothing was saved; pass --no-check to save without checking"
                )
            }
            Err(Stale::Other(e)) => return Err(e),
        };
        let o = check_new(
            ctx,
            provider,
            spec,
            name,
            conn.env,
            &inputs,
            conn.username.as_deref(),
            &secrets,
            opts.timeout,
        )?;
        let o = sign_in::scope_check(o, spec, conn.oauth.as_ref(), name);
        if o.status != CheckStatus::Ok && !opts.yes {
            let mut msg = format!("the check failed ({}): {}", o.status, o.message);
            if let Some(h) = &o.hint {
                msg.push_str(&format!("\n  hint: {h}"));
            }
            if !ctx.ui.interactive() {
                bail!(
                    "{msg}\nNothing was saved. Fix the values, or pass --yes to save them anyway (--no-check to skip the check)."
                );
            }
            ctx.ui.notice(&msg);
            let save = ctx.ui.confirm(
                &Question::new("Save the new settings anyway?", "--yes"),
                false,
            )?;
            if !save {
                bail!("nothing was saved; {name} keeps its old settings");
            }
        }
        outcome = Some(o);
    }

    let now = now_rfc3339();
    ctx.metadata().update(|m| {
        let c = find_mut(m, name, &conn.id)?;
        if c.inputs != conn.inputs {
            bail!("{name:?} was changed by another process meanwhile; nothing was saved");
        }
        c.inputs = inputs.clone();
        c.updated_at = now.clone();
        if let Some(o) = &outcome {
            c.last_check = Some(LastCheck {
                status: o.status,
                at: now.clone(),
                message: (o.status != CheckStatus::Ok).then(|| o.message.clone()),
            });
            if o.status == CheckStatus::Ok {
                c.last_success = Some(now.clone());
                if let Some(i) = &o.identity {
                    c.identity = Some(i.clone());
                }
            }
        }
        Ok(())
    })?;
    Ok(Edited {
        name: name.into(),
        changes,
        check: outcome,
    })
}

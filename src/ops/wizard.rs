//! The questions `conn new` asks, each with the flag that answers it: the app, the auth
//! method, the environment, the instance inputs, and a name. With no terminal a missing answer
//! is a usage error naming that flag.

use std::collections::BTreeMap;

use anyhow::Result;

use super::Ctx;
use crate::auth;
use crate::catalog::{AuthSpec, Catalog, Input, Provider};
use crate::core::error::usage;
use crate::core::ui::Question;
use crate::core::vocab::{AuthMethod, Environment};
use crate::store::metadata::{Connection, validate_name};

pub(crate) fn pick_provider<'c>(
    ctx: &mut Ctx<'_>,
    catalog: &'c Catalog,
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

pub(crate) fn pick_auth<'p>(
    ctx: &mut Ctx<'_>,
    provider: &'p Provider,
    given: Option<AuthMethod>,
) -> Result<&'p AuthSpec> {
    if let Some(m) = given {
        return provider.auth(m).ok_or_else(|| {
            usage(format!(
                "{} does not support auth method {:?}; it supports: {}",
                provider.display_name,
                m.as_str(),
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

/// The environment: `--env`; else the only one the provider has (most have no sandbox, and
/// are not asked); else production without a terminal (or with `--yes`); else asked.
pub(crate) fn pick_env(
    ctx: &mut Ctx<'_>,
    provider: &Provider,
    given: Option<Environment>,
    yes: bool,
) -> Result<Environment> {
    if let Some(e) = given {
        return Ok(e);
    }
    let offered: Vec<Environment> = Environment::ALL
        .iter()
        .copied()
        .filter(|e| match provider.environments.is_empty() {
            true => *e == Environment::Production,
            false => provider.environments.contains_key(e.as_str()),
        })
        .collect();
    if let [only] = offered.as_slice() {
        return Ok(*only);
    }
    if yes || !ctx.ui.interactive() {
        return Ok(Environment::Production);
    }
    let items: Vec<String> = offered.iter().map(|e| e.to_string()).collect();
    let flag = format!(
        "--env {}",
        offered
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join("|")
    );
    let i = ctx
        .ui
        .select(&Question::new("Environment", &flag), &items, 0)?;
    Ok(offered[i])
}

/// The inputs that matter for `spec`: all of them except those only another method uses.
pub(crate) fn relevant_inputs<'p>(provider: &'p Provider, spec: &AuthSpec) -> Vec<&'p Input> {
    let mut other_only: Vec<String> = provider
        .auth
        .iter()
        .filter(|a| a.method() != spec.method())
        .flat_map(|a| auth::method_of(a).own_inputs())
        .collect();
    let mine = auth::method_of(spec).own_inputs();
    other_only.retain(|n| !mine.contains(n));
    provider
        .inputs
        .iter()
        .filter(|i| !other_only.contains(&i.name))
        .collect()
}

/// The inputs of a connection, and what discovery found when an input was the issuer.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub(crate) values: BTreeMap<String, String>,
    /// The authorization server's `scopes_supported`, when discovery ran.
    pub(crate) scopes_supported: Option<Vec<String>>,
}

/// The OAuth 2.0 endpoint fields a generic provider takes from inputs, with the metadata key
/// (RFC 8414) that discovery fills each from.
const DISCOVERED: &[(&str, &str)] = &[
    ("authorize_url", "authorization_endpoint"),
    ("token_url", "token_endpoint"),
    ("device_url", "device_authorization_endpoint"),
    ("revocation_url", "revocation_endpoint"),
];

/// The input a template is exactly (`${name}` → `name`).
fn whole_input(template: Option<&str>) -> Option<&str> {
    template?.strip_prefix("${")?.strip_suffix('}')
}

/// What discovery settles about input `name` of `provider`: `Some(None)` when it need not be
/// asked (an endpoint the metadata has), `Some(Some(default))` for a default taken from it
/// (the check at the discovered `userinfo_endpoint`: its origin as the base URL and its path
/// as the check path), `None` when discovery says nothing about it.
fn from_discovery(
    provider: &Provider,
    spec: &AuthSpec,
    meta: &serde_json::Value,
    name: &str,
) -> Option<Option<String>> {
    let AuthSpec::OAuth2(o) = spec else {
        return None;
    };
    let field = |f: &str| match f {
        "authorize_url" => o.authorize_url.as_deref(),
        "token_url" => o.token_url.as_deref(),
        "device_url" => o.device_url.as_deref(),
        _ => o.revocation_url.as_deref(),
    };
    for (f, key) in DISCOVERED {
        if whole_input(field(f)) == Some(name) && meta.get(*key).is_some_and(|v| v.is_string()) {
            return Some(None);
        }
    }
    let userinfo = url::Url::parse(meta.get("userinfo_endpoint")?.as_str()?).ok()?;
    if whole_input(Some(&provider.api.base_url)) == Some(name) {
        return Some(Some(userinfo.origin().ascii_serialization()));
    }
    if whole_input(Some(&provider.check.path)) == Some(name) {
        return Some(Some(userinfo.path().to_string()));
    }
    None
}

pub(crate) fn collect_inputs(
    ctx: &mut Ctx<'_>,
    provider: &Provider,
    spec: &AuthSpec,
    env: Environment,
    sets: &[(String, String)],
    yes: bool,
) -> Result<Collected> {
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
    let mut meta: Option<serde_json::Value> = None;
    let issuer_input = match spec {
        AuthSpec::OAuth2(o) => whole_input(o.issuer.as_deref()),
        _ => None,
    };
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
        let settled = meta
            .as_ref()
            .and_then(|m| from_discovery(provider, spec, m, &input.name));
        if given.is_none()
            && let Some(None) = settled
        {
            log::debug!("{}: found by discovery, not asked", input.name);
            values.insert(input.name.clone(), String::new());
            continue;
        }
        // Discovery's default, else one that may follow earlier answers: the header prefix
        // the header, GitHub's API URL its host.
        let default = settled
            .flatten()
            .or_else(|| input.default_given(&provider.values(env, &values)));
        let value = match given {
            Some(v) => provider
                .take_input(input, &v)
                .map_err(|e| usage(format!("--set {}: {e}", input.name)))?,
            None if input.worked_out()
                && default
                    .as_deref()
                    .is_some_and(|d| input.validate(d).is_ok()) =>
            {
                let d = default.unwrap_or_default();
                if ctx.ui.interactive() {
                    ctx.ui.notice(&format!(
                        "{}: {d} (from the {})",
                        input.label,
                        depends_on_labels(provider, input)
                    ));
                }
                d
            }
            None if (yes || !ctx.ui.interactive()) && (default.is_some() || input.optional) => {
                default.unwrap_or_default()
            }
            None => ask_input(ctx, provider, input, default.as_deref())?,
        };
        if Some(input.name.as_str()) == issuer_input && !value.is_empty() {
            let http = ctx.http(std::time::Duration::from_secs(30))?;
            meta = Some(crate::auth::oauth2::discover(&http, &value)?);
        }
        values.insert(input.name.clone(), value);
    }
    let scopes_supported = meta.as_ref().map(|m| {
        m.get("scopes_supported")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    });
    Ok(Collected {
        values,
        scopes_supported,
    })
}

/// Scopes that sign a person in for an API, asked by default when the server supports them:
/// identity (OpenID Connect) and a refresh token.
const USUAL_SCOPES: &[&str] = &["openid", "email", "profile", "offline_access"];

/// The scopes to ask for when the provider names none and discovery listed the server's
/// (`scopes_supported`): offered with the usual ones as the default; without a terminal (or
/// with `--yes`) the default is taken. `None` when there is nothing to offer.
pub(crate) fn ask_scopes(
    ctx: &mut Ctx<'_>,
    supported: &[String],
    yes: bool,
) -> Result<Option<Vec<String>>> {
    if supported.is_empty() {
        return Ok(None);
    }
    let default: Vec<&str> = USUAL_SCOPES
        .iter()
        .copied()
        .filter(|s| supported.iter().any(|x| x == s))
        .collect();
    let default = default.join(" ");
    let answer = if yes || !ctx.ui.interactive() {
        default
    } else {
        let help = format!("The server supports: {}", supported.join(" "));
        ctx.ui.input(
            &Question::new("Scopes (separated by spaces or commas)", "--scopes S,S")
                .default(Some(&default))
                .help(Some(&help)),
            &|_: &str| Ok(()),
        )?
    };
    let scopes: Vec<String> = answer
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    Ok((!scopes.is_empty()).then_some(scopes))
}

/// The labels of the inputs `input`'s default follows, for saying where a value came from.
fn depends_on_labels(provider: &Provider, input: &Input) -> String {
    let deps = input.depends_on();
    provider
        .inputs
        .iter()
        .filter(|i| deps.contains(&i.name))
        .map(|i| i.label.as_str())
        .collect::<Vec<_>>()
        .join(" and ")
}

/// Asks for `input` on the terminal, offering `default`. The answer kept is what
/// `Provider::take_input` makes of it: a pasted URL gives the subdomain, blanks are empty. An
/// optional input's non-empty default is editable text, so it can be erased to nothing.
pub(crate) fn ask_input(
    ctx: &mut Ctx<'_>,
    provider: &Provider,
    input: &Input,
    default: Option<&str>,
) -> Result<String> {
    let flag = format!("--set {}=VALUE", input.name);
    let prefill = input.optional && default.is_some_and(|d| !d.is_empty());
    let raw = ctx.ui.input(
        &Question::new(&input.label, &flag)
            .default(default)
            .help(input.help.as_deref())
            .prefill(prefill),
        &|v: &str| provider.take_input(input, v).map(|_| ()),
    )?;
    // Without a terminal the answer is a default or the placeholder of a missing one
    // (`Ui::defer_missing`), reported with the others before anything uses it.
    if !ctx.ui.interactive() {
        return Ok(raw);
    }
    let kept = provider.take_input(input, &raw).map_err(usage)?;
    if !kept.is_empty() && kept != raw.trim() {
        ctx.ui
            .notice(&format!("{}: {kept} (from {:?})", input.label, raw.trim()));
    }
    Ok(kept)
}

/// After answers changed from `before` to `after`: an input that still has the default the
/// old answers gave it, and whose default follows a changed answer, takes the default of the
/// new answers (header X-Api-Key drops the `Bearer ` that came with Authorization; a new
/// GitHub host brings its API URL). Returns the inputs so changed.
pub(crate) fn rederive(
    provider: &Provider,
    env: Environment,
    before: &BTreeMap<String, String>,
    after: &mut BTreeMap<String, String>,
) -> Vec<String> {
    let mut done = Vec::new();
    for input in &provider.inputs {
        let changed = |k: &String| before.get(k) != after.get(k);
        if !input.depends_on().iter().any(changed) {
            continue;
        }
        let (Some(old), Some(now)) = (before.get(&input.name), after.get(&input.name)) else {
            continue;
        };
        if old != now || input.default_given(&provider.values(env, before)).as_ref() != Some(old) {
            continue;
        }
        if let Some(new) = input.default_given(&provider.values(env, after))
            && &new != now
            && input.validate(&new).is_ok()
        {
            after.insert(input.name.clone(), new);
            done.push(input.name.clone());
        }
    }
    done
}

pub(crate) fn ask_name(
    ctx: &mut Ctx<'_>,
    provider: &Provider,
    inputs: &BTreeMap<String, String>,
    existing: &BTreeMap<String, Connection>,
) -> Result<String> {
    // The first input names the instance (acme of zendesk-acme), unless it is its default
    // (github.com).
    let first = provider.inputs.iter().find(|i| i.capture.is_none());
    let base = match first.and_then(|i| {
        inputs
            .get(&i.name)
            .filter(|v| i.default.as_ref() != Some(*v))
    }) {
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

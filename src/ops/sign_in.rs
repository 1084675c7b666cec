//! Signing in for `new` and `reauth`: choosing the OAuth client, running the method's sign-in,
//! capturing inputs from it (an instance URL, a company id, a site picked from a list), and
//! the scope rule for a check.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

use super::Ctx;
use super::clients::{OAuthOptions, choose_client};
use crate::auth::{self, SignIn, oauth1, oauth2 as flow};
use crate::catalog::{AuthSpec, Provider};
use crate::check::{CheckStatus, Outcome};
use crate::core::error::usage;
use crate::core::secret::{Secret, SecretBundle};
use crate::core::time::unix_rfc3339;
use crate::core::ui::Question;
use crate::core::vocab::{Environment, StoreKind};
use crate::store::metadata::{Metadata, OAuthClient, OAuthState};

/// The result of an OAuth sign-in for `new` and `reauth`.
#[derive(Debug)]
pub(crate) struct Authorized {
    /// What to store for the connection.
    pub(crate) bundle: SecretBundle,
    pub(crate) state: OAuthState,
    /// A client registration to save with the connection.
    pub(crate) new_client: Option<(OAuthClient, Option<Secret<String>>)>,
    /// Query parameters of the callback (QuickBooks' realmId).
    pub(crate) callback: BTreeMap<String, String>,
    /// Non-secret fields of the token response (Salesforce's instance_url).
    pub(crate) token_fields: BTreeMap<String, String>,
    /// OAuth 1.0a: the consumer, needed to sign but stored with the client, not here.
    consumer: Option<(String, Secret<String>)>,
}

impl Authorized {
    /// The secrets requests are made with (for OAuth 1.0a, with the consumer's added).
    pub(crate) fn usable(&self) -> SecretBundle {
        let mut b = self.bundle.clone();
        if let Some((key, secret)) = &self.consumer {
            b.insert(oauth1::CONSUMER_KEY, Secret::new(key.clone()));
            b.insert(oauth1::CONSUMER_SECRET, secret.clone());
        }
        b
    }
}

/// What a sign-in needs to know about the connection being made or re-authorized.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    pub(crate) meta: &'a Metadata,
    pub(crate) provider: &'a Provider,
    pub(crate) spec: &'a AuthSpec,
    /// The connection's template values (`resolve::values`).
    pub(crate) values: &'a BTreeMap<String, String>,
    /// Where a new client secret goes.
    pub(crate) store: StoreKind,
    /// The connection's OAuth state on reauth: its client, grant and scopes are reused unless
    /// flags say otherwise.
    pub(crate) previous: Option<&'a OAuthState>,
}

/// Runs the sign-in of the method (`Ok(None)` for methods whose secrets are typed in).
pub(crate) fn authorize(
    ctx: &mut Ctx<'_>,
    s: Subject<'_>,
    opts: &mut OAuthOptions,
) -> Result<Option<Authorized>> {
    let method = auth::method_of(s.spec);
    let Some(needs) = method.client_needs() else {
        if opts.client_id.is_some() || opts.client_secret.is_some() {
            return Err(usage(format!(
                "--client-id, --client-secret-* and --private-key are for OAuth; auth method {} doesn't use them",
                s.spec.method()
            )));
        }
        return Ok(None);
    };
    if opts.client_id.is_none()
        && let Some(saved) = s.previous.and_then(|p| s.meta.clients.get(&p.client))
    {
        opts.client_id = Some(saved.client_id.clone());
    }
    let chosen = choose_client(ctx, s.meta, s.provider, needs, opts, s.store)?;
    ctx.ui.missing_answers()?;
    let scopes = opts.scopes.clone().or_else(|| {
        s.previous
            .map(|p| p.scopes.clone())
            .filter(|p| !p.is_empty())
    });
    let http = ctx.http_no_redirects(Duration::from_secs(30))?;
    let open_device_url = ctx.env.get("BROWSER").is_some();
    let signed = method
        .sign_in(SignIn {
            http: &http,
            values: s.values,
            client: &chosen.client,
            grant: opts.grant.or(s.previous.map(|p| p.grant)),
            scopes,
            port: opts.port,
            timeout: opts.timeout,
            no_browser: opts.no_browser,
            open_device_url,
            ui: &mut *ctx.ui,
        })
        .map_err(rejected_client)?;
    let Some(mut signed) = signed else {
        return Ok(None);
    };
    if let AuthSpec::OAuth2(_) = s.spec {
        signed.expires_at = super::credentials::expiry_of(s.provider, signed.expires_at);
        match signed.expires_at {
            Some(t) => signed
                .bundle
                .insert(flow::EXPIRES_AT, Secret::new(t.to_string())),
            None => signed.bundle.remove(flow::EXPIRES_AT),
        }
    }
    let consumer = match (method.signs_with_client(), &chosen.client.secret) {
        (true, Some(secret)) => Some((chosen.client.id.clone(), secret.clone())),
        _ => None,
    };
    Ok(Some(Authorized {
        bundle: signed.bundle,
        state: OAuthState {
            client: chosen.key,
            grant: signed.grant,
            scopes: signed.scopes,
            expires_at: signed.expires_at.map(unix_rfc3339),
            refreshed_at: None,
            offline_access: signed.offline_access,
            granted_scopes: None,
        },
        new_client: chosen.new_registration,
        callback: signed.callback,
        token_fields: signed.token_fields,
        consumer,
    }))
}

/// A sign-in whose client credentials the provider rejected says so, and how to give the
/// right ones; other errors pass unchanged.
fn rejected_client(e: anyhow::Error) -> anyhow::Error {
    let rejected = e
        .downcast_ref::<crate::auth::error::OAuthError>()
        .is_some_and(|o| o.kind == crate::auth::error::ErrorKind::InvalidClient);
    if !rejected {
        return e;
    }
    anyhow!(
        "{e:#}\nthe provider rejected the OAuth client's credentials (client id or secret): check them at the provider and give the right secret with --client-secret-stdin or --client-secret-env VAR (for an existing connection: 'conn reauth NAME --client-secret-stdin'); nothing was saved"
    )
}

/// Fills the inputs a provider captures from the sign-in (`capture = "token:F"`,
/// `"callback:P"`, `"pick"`) into `inputs`. A pick input given with `--set` is checked against
/// the list; otherwise the person chooses, and without a terminal a list of more than one is
/// a usage error naming the choices.
pub(crate) fn capture_inputs(
    ctx: &mut Ctx<'_>,
    provider: &Provider,
    spec: &AuthSpec,
    a: &Authorized,
    sets: &[(String, String)],
    env: Environment,
    inputs: &mut BTreeMap<String, String>,
) -> Result<()> {
    use crate::catalog::Capture;
    for input in &provider.inputs {
        let value = match input.capture() {
            None => continue,
            Some(Capture::Token(f)) => a.token_fields.get(f).cloned(),
            Some(Capture::Callback(p)) => a.callback.get(p).cloned(),
            Some(Capture::Pick) => {
                let Some(pick) = auth::method_of(spec)
                    .pick()
                    .filter(|k| k.input == input.name)
                else {
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

/// An OK check becomes `insufficient_permissions` when the provider's required scopes were not
/// all granted.
pub(crate) fn scope_check(
    o: Outcome,
    spec: &AuthSpec,
    state: Option<&OAuthState>,
    name: &str,
) -> Outcome {
    let Some(state) = state else { return o };
    let required = auth::method_of(spec).required_scopes();
    let missing: Vec<&str> = required
        .iter()
        .filter(|s| !state.held_scopes().contains(s))
        .map(String::as_str)
        .collect();
    if o.status != CheckStatus::Ok || missing.is_empty() {
        return o;
    }
    Outcome {
        status: CheckStatus::InsufficientPermissions,
        message: format!(
            "signed in, but without the scope(s) the provider needs: {}",
            missing.join(", ")
        ),
        hint: Some(format!(
            "sign in again granting them: conn reauth {name} --scopes {}",
            required.join(",")
        )),
        ..o
    }
}

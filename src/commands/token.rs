//! `conn token NAME`: a valid access token (refreshed first when due) or key, for scripts.

use anyhow::{Result, bail};

use super::Ctx;
use super::oauth;
use crate::auth;
use crate::catalog::AuthSpec;
use crate::core::secret::Secret;

pub fn run(ctx: &mut Ctx<'_>, name: &str) -> Result<Secret<String>> {
    let meta = ctx.view(&[name])?;
    let conn = super::find(&meta, name)?.clone();
    let catalog = ctx.catalog();
    let provider = catalog.get(&conn.provider)?;
    let Some(spec) = provider.auth(&conn.auth) else {
        bail!(
            "provider {} no longer offers auth method {}",
            provider.id,
            conn.auth
        );
    };
    let bundle = oauth::fresh_secrets(ctx, name, &conn, provider)
        .map_err(|stale| oauth::stale_error(name, stale))?;
    let field = match spec {
        AuthSpec::ApiKey(_) => auth::api_key::FIELD,
        AuthSpec::Basic(_) => auth::basic::FIELD,
        AuthSpec::OAuth2(_) => auth::oauth2::ACCESS_TOKEN,
        // The token alone can't sign a request; scripts that need to should use conn exec
        // or conn request.
        AuthSpec::OAuth1(_) => auth::oauth1::TOKEN,
    };
    match bundle.get(field) {
        Some(s) => Ok(s.clone()),
        None => bail!("the stored secrets of {name} have no {field}; run 'conn reauth {name}'"),
    }
}

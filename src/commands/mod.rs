//! One file per subcommand. Each turns resolved options into calls on the library modules and
//! returns a value for `cli` to print; questions go through the `Ui` it is given.

pub mod access;
pub mod bind;
pub mod check;
pub mod doctor;
pub mod exec;
pub mod list;
pub mod new;
pub mod oauth;
pub mod providers;
pub mod reauth;
pub mod rename;
pub mod request;
pub mod rm;
pub mod show;
pub mod store;
pub mod token;

use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::catalog::Catalog;
use crate::core::env::Env;
use crate::core::paths::Paths;
use crate::core::ui::Ui;
use crate::store::metadata::{Connection, Metadata, MetadataStore, OAuthClient};
use crate::store::secrets::{self, SecretStore, StoreKind};
use crate::store::vault::{self, Team};
use std::sync::Arc;

/// What work needs besides a person: the environment and resolved paths. `Sync`, so checks
/// can run on worker threads.
#[derive(Debug, Clone)]
pub struct Base {
    pub env: Env,
    pub paths: Paths,
}

/// What every command gets: the base, and a way to talk to the user.
pub struct Ctx<'a> {
    pub base: Base,
    pub ui: &'a mut dyn Ui,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for Ctx<'_> {
    type Target = Base;

    fn deref(&self) -> &Base {
        &self.base
    }
}

impl<'a> Ctx<'a> {
    pub fn new(env: Env, ui: &'a mut dyn Ui) -> Result<Self> {
        let paths = Paths::resolve(&env)?;
        crate::debug!(
            "config dir {}, data dir {} ({})",
            paths.config_dir.display(),
            paths.data_dir.display(),
            paths.source
        );
        Ok(Ctx {
            base: Base { env, paths },
            ui,
        })
    }

    /// The catalog; user provider files that fail validation are reported and skipped.
    pub fn catalog(&mut self) -> Catalog {
        let (catalog, warnings) = Catalog::load(&self.base.paths.providers_dir());
        for w in warnings {
            self.ui.notice(&format!("warning: {w}"));
        }
        catalog
    }
}

impl Base {
    pub fn metadata(&self) -> MetadataStore {
        MetadataStore::new(&self.paths)
    }

    /// For API requests: redirects are followed only within one origin.
    pub fn http(&self, timeout: Duration) -> Result<reqwest::blocking::Client> {
        http_client(timeout, same_origin_redirects())
    }

    /// For token endpoints: a redirect there is an error, never something to follow.
    pub fn http_no_redirects(&self, timeout: Duration) -> Result<reqwest::blocking::Client> {
        http_client(timeout, reqwest::redirect::Policy::none())
    }

    /// The secret store that holds this connection's secrets.
    pub fn secrets_of(&self, conn: &Connection) -> Result<Box<dyn SecretStore>> {
        self.store_named(&conn.store)
    }

    /// The secret store named by a `store` value: `keychain`, `file` or `team:NAME`.
    pub fn store_named(&self, store: &str) -> Result<Box<dyn SecretStore>> {
        if let Some(team) = vault::team::team_of_store(store) {
            return Ok(self.team(team)?.secrets());
        }
        let kind = StoreKind::parse(store)
            .with_context(|| format!("unknown secret store {store:?} in connections.toml"))?;
        Ok(secrets::open(kind, &self.paths, &self.env))
    }
}

impl Base {
    /// The team store `team`, connected (no request made yet).
    pub fn team(&self, team: &str) -> Result<Arc<Team>> {
        let meta = self.metadata().load()?;
        let settings = meta.teams.get(team).with_context(|| {
            format!(
                "no team store named {team:?}; add it with 'conn store add {team} --vault-addr URL' (see 'conn store list')"
            )
        })?;
        Ok(Arc::new(Team::open(
            team,
            settings,
            &self.env,
            &self.paths,
        )?))
    }

    /// connections.toml with the team connections among `names` (`team/name`) added under
    /// their full names, so commands treat them like local ones.
    pub fn view(&self, names: &[&str]) -> Result<Metadata> {
        let mut meta = self.metadata().load()?;
        for name in names {
            let Some((team, short)) = vault::team::split_name(name) else {
                continue;
            };
            let t = self.team(team)?;
            t.check_mount()?;
            match t.record(short)? {
                Some(c) => {
                    meta.connections.insert(name.to_string(), c);
                }
                None => bail!("no connection named {short:?} in team {team} (see 'conn list')"),
            }
        }
        Ok(meta)
    }

    /// connections.toml with every team's connections added; a team store that can't be read
    /// is reported in the returned list and skipped.
    pub fn view_all(&self) -> Result<(Metadata, Vec<(String, anyhow::Error)>)> {
        let mut meta = self.metadata().load()?;
        let mut failed = Vec::new();
        let teams: Vec<String> = meta.teams.keys().cloned().collect();
        for team in teams {
            let load = || -> Result<Vec<(String, Connection)>> {
                let t = self.team(&team)?;
                t.check_mount()?;
                let mut out = Vec::new();
                for n in t.list_names()? {
                    if let Some(c) = t.record(&n)? {
                        out.push((format!("{team}/{n}"), c));
                    }
                }
                Ok(out)
            };
            match load() {
                Ok(list) => meta.connections.extend(list),
                Err(e) => failed.push((team, e)),
            }
        }
        Ok((meta, failed))
    }

    /// The OAuth client registration `key` of `conn`: from its team store for a team
    /// connection, else from connections.toml.
    pub fn client_of(&self, conn: &Connection, key: &str) -> Result<Option<OAuthClient>> {
        if let Some(team) = vault::team::team_of_store(&conn.store) {
            return self.team(team)?.client_record(key);
        }
        Ok(self.metadata().load()?.clients.get(key).cloned())
    }
}

fn http_client(
    timeout: Duration,
    redirects: reqwest::redirect::Policy,
) -> Result<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .user_agent(concat!("conn/", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(redirects)
        .build()
        .context("could not set up the HTTP client")
}

/// Follows redirects only within the same origin (scheme, host, port). reqwest drops the
/// Authorization header on a cross-origin redirect but not a custom key header such as
/// `X-Api-Key`, and never a key in the query string; so conn stops and reports the redirect.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(|u| u.origin());
        if attempt.previous().len() > 5 {
            attempt.error("too many redirects")
        } else if first.is_some_and(|o| o != attempt.url().origin()) {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

/// The connection `name` for changing, if it is still the one with `id`.
pub fn find_mut<'m>(meta: &'m mut Metadata, name: &str, id: &str) -> Result<&'m mut Connection> {
    match meta.connections.get_mut(name) {
        Some(c) if c.id == id => Ok(c),
        _ => bail!("{name:?} was removed or replaced by another process meanwhile"),
    }
}

/// Finds a connection by name, suggesting close names when there is none.
pub fn find<'m>(meta: &'m Metadata, name: &str) -> Result<&'m Connection> {
    if let Some(c) = meta.connections.get(name) {
        return Ok(c);
    }
    let close = crate::catalog::closest(name, meta.connections.keys().map(String::as_str));
    if close.is_empty() {
        bail!("no connection named {name:?} (see 'conn list')")
    }
    bail!(
        "no connection named {name:?}; did you mean {}?",
        close.join(" or ")
    )
}

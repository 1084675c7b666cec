//! The library the commands call: every behaviour of conn lives in one module here, in terms of
//! connections, providers and secret stores. Nothing here prints; it asks only through the
//! `Ui` it is given and returns values for the command to report.
//!
//! - `resolve`: a connection's template values, base URL and authenticator (one place)
//! - `credentials`: fresh secrets under the lock, refresh with the rotation rule, revoke,
//!   the token of `conn token`
//! - `clients`: the OAuth client registry (client id + secret, reused across connections)
//! - `sign_in`: running a method's sign-in and capturing inputs from it
//! - `wizard`: the questions `conn new` asks (provider, method, environment, inputs, name)
//! - `lifecycle`: create, replace (reauth), remove and rename connections, with the
//!   secret-then-metadata save order written once
//! - `complete`: the names, ids and roles a shell completes
//! - `check`, `exec`, `request`, `recipe`, `doctor`, `inspect` (list, show), `providers`:
//!   one behaviour each

pub(crate) mod check;
pub(crate) mod clients;
pub(crate) mod complete;
pub(crate) mod credentials;
pub(crate) mod doctor;
pub(crate) mod edit;
pub(crate) mod exec;
pub(crate) mod inspect;
pub(crate) mod lifecycle;
pub(crate) mod providers;
pub(crate) mod recipe;
pub(crate) mod request;
pub(crate) mod resolve;
pub(crate) mod rotation;

#[cfg(test)]
mod proptests;
pub(crate) mod sign_in;
pub(crate) mod teams;
pub(crate) mod wizard;

use std::time::Duration;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};

use crate::catalog::Catalog;
use crate::core::env::Env;
use crate::core::http::{Http, Redirects};
use crate::core::paths::Paths;
use crate::core::ui::Ui;
use crate::store::metadata::{Connection, Listed, Metadata, MetadataStore, OAuthClient};
use crate::store::secrets::{self, SecretStore};
use crate::store::vault::{self, Team};

/// What work needs besides a person: the environment and resolved paths. `Sync`, so checks
/// can run on worker threads.
#[derive(Debug, Clone)]
pub(crate) struct Base {
    pub(crate) env: Env,
    pub(crate) paths: Paths,
    /// Team stores opened so far by this process, by name: one HTTP client and one token
    /// (one AppRole cache read) per team, however many connections a command touches.
    teams: Arc<Mutex<BTreeMap<String, Arc<Team>>>>,
}

/// What every command gets: the base, and a way to talk to the user.
pub(crate) struct Ctx<'a> {
    pub(crate) base: Base,
    pub(crate) ui: &'a mut dyn Ui,
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
    pub(crate) fn new(env: Env, ui: &'a mut dyn Ui) -> Result<Self> {
        let paths = Paths::resolve(&env)?;
        log::debug!(
            "config dir {}, data dir {} ({})",
            paths.config_dir.display(),
            paths.data_dir.display(),
            paths.source
        );
        let mut ctx = Ctx {
            base: Base {
                env,
                paths,
                teams: Arc::default(),
            },
            ui,
        };
        ctx.warn_exposed();
        Ok(ctx)
    }

    /// One warning per command for each of conn's private files that others may read.
    fn warn_exposed(&mut self) {
        let p = &self.base.paths;
        let mut files = vec![
            p.connections_file(),
            crate::store::metadata_journal::path_for(&p.connections_file()),
            p.data_dir.join("bindings.toml"),
            p.secrets_file(),
            p.identity_file(&self.base.env),
        ];
        // The files in secrets/ are out of other users' reach while the directory is private:
        // they are looked at (one stat each, 10,000 in a big store, on every command) only
        // when it is not.
        let secrets = p.secrets_dir();
        if crate::store::fsio::exposed_mode(&secrets).is_some()
            && let Ok(entries) = std::fs::read_dir(&secrets)
        {
            files.push(secrets.clone());
            files.extend(entries.flatten().map(|e| e.path()));
        }
        for f in files {
            if let Some(mode) = crate::store::fsio::exposed_mode(&f) {
                self.ui.notice(&format!(
                    "warning: {} is readable by other users (mode {mode:o}); run: chmod 600 {}",
                    f.display(),
                    f.display()
                ));
            }
        }
    }

    /// The catalog; user provider files that fail validation are reported and skipped.
    pub(crate) fn catalog(&mut self) -> Catalog {
        let (catalog, warnings) = Catalog::load(&self.base.paths.providers_dir());
        for w in warnings {
            self.ui.notice(&format!("warning: {w}"));
        }
        catalog
    }

    /// The catalog as far as the providers `ids` go (the others may be missing), for commands
    /// about given connections: parsing every built-in was most of `conn token`'s own time.
    pub(crate) fn catalog_for(&mut self, ids: &[&str]) -> Catalog {
        let (catalog, warnings) = Catalog::load_only(&self.base.paths.providers_dir(), ids);
        for w in warnings {
            self.ui.notice(&format!("warning: {w}"));
        }
        catalog
    }
}

impl Base {
    pub(crate) fn metadata(&self) -> MetadataStore {
        MetadataStore::new(&self.paths)
    }

    /// For API requests: redirects are followed only within one origin.
    pub(crate) fn http(&self, timeout: Duration) -> Result<Http> {
        Http::new(&self.env, timeout, Redirects::SameOrigin)
    }

    /// For token endpoints: a redirect there is an error, never something to follow.
    pub(crate) fn http_no_redirects(&self, timeout: Duration) -> Result<Http> {
        Http::new(&self.env, timeout, Redirects::Never)
    }

    /// The secret store that holds this connection's secrets: its team store for a team
    /// connection.
    pub(crate) fn secrets_of(&self, conn: &Connection) -> Result<Box<dyn SecretStore>> {
        match &conn.team {
            Some(team) => Ok(self.team(team)?.secrets()),
            None => Ok(secrets::open(conn.store, &self.paths, &self.env)),
        }
    }

    /// The secret store holding an OAuth client registration's secret.
    pub(crate) fn client_store(&self, reg: &OAuthClient) -> Result<Box<dyn SecretStore>> {
        match &reg.team {
            Some(team) => Ok(self.team(team)?.secrets()),
            None => Ok(secrets::open(reg.store, &self.paths, &self.env)),
        }
    }

    /// The team store `team`, connected (no request made yet, except an AppRole login).
    pub(crate) fn team(&self, team: &str) -> Result<Arc<Team>> {
        let mut open = self.teams.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = open.get(team) {
            return Ok(t.clone());
        }
        let meta = self.metadata().load()?;
        let settings = meta.teams.get(team).with_context(|| {
            format!(
                "no team store named {team:?}; add it with 'conn store add {team} --vault-addr URL' (see 'conn store list')"
            )
        })?;
        let t = Arc::new(Team::open(team, settings, &self.env, &self.paths)?);
        open.insert(team.to_string(), t.clone());
        Ok(t)
    }

    /// connections.toml with the team connections among `names` (`team/name`) added under
    /// their full names, so commands treat them like local ones.
    pub(crate) fn view(&self, names: &[&str]) -> Result<Metadata> {
        // Local connections (the usual case) are read without parsing the others.
        let local = !names.is_empty() && names.iter().all(|n| vault::team::split_name(n).is_none());
        let meta = match names {
            [one] if local => self.metadata().load_one(one)?,
            _ if local => self.metadata().load_some(names)?,
            _ => self.metadata().load()?,
        };
        self.add_team_connections(meta, names)
    }

    /// `view` with every local connection loaded, for what compares connections (check's
    /// "invalidated by a newer connection").
    pub(crate) fn view_whole(&self, names: &[&str]) -> Result<Metadata> {
        let meta = self.metadata().load()?;
        self.add_team_connections(meta, names)
    }

    fn add_team_connections(&self, mut meta: Metadata, names: &[&str]) -> Result<Metadata> {
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
    /// is returned with its error and skipped.
    pub(crate) fn view_all(&self) -> Result<(Metadata, Unread)> {
        let mut meta = self.metadata().load()?;
        let (team_conns, failed) = self.team_connections(&meta);
        meta.connections.extend(team_conns);
        Ok((meta, failed))
    }

    /// `view_all` as `conn list` needs it: every connection's name, provider, method, tag,
    /// identity and last check (local ones read without their inputs, see
    /// `MetadataStore::listing`).
    pub(crate) fn list_all(&self) -> Result<(BTreeMap<String, Listed>, Unread)> {
        let (meta, mut listed) = self.metadata().listing()?;
        let (team_conns, failed) = self.team_connections(&meta);
        listed.extend(team_conns.into_iter().map(|(n, c)| (n, Listed::from(c))));
        Ok((listed, failed))
    }

    /// The connections of every team store `meta` names, as `team/name`; a team store that
    /// can't be read is returned with its error.
    fn team_connections(&self, meta: &Metadata) -> (Vec<(String, Connection)>, Unread) {
        let mut all = Vec::new();
        let mut failed = Vec::new();
        for team in meta.teams.keys() {
            let load = || -> Result<Vec<(String, Connection)>> {
                let t = self.team(team)?;
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
                Ok(list) => all.extend(list),
                Err(e) => failed.push((team.clone(), e)),
            }
        }
        (all, failed)
    }

    /// The OAuth client registration `key` of `conn`: from its team store for a team
    /// connection, else from connections.toml.
    pub(crate) fn client_of(&self, conn: &Connection, key: &str) -> Result<Option<OAuthClient>> {
        match &conn.team {
            Some(team) => self.team(team)?.client_record(key),
            None => Ok(self.metadata().load()?.clients.get(key).cloned()),
        }
    }
}

/// Team stores that could not be read, each with why.
pub(crate) type Unread = Vec<(String, anyhow::Error)>;

/// The connection `name` for changing, if it is still the one with `id`.
pub(crate) fn find_mut<'m>(
    meta: &'m mut Metadata,
    name: &str,
    id: &str,
) -> Result<&'m mut Connection> {
    match meta.connections.get_mut(name) {
        Some(c) if c.id == id => Ok(c),
        _ => bail!("{name:?} was removed or replaced by another process meanwhile"),
    }
}

/// Finds a connection by name, suggesting close names when there is none.
pub(crate) fn find<'m>(meta: &'m Metadata, name: &str) -> Result<&'m Connection> {
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

/// A random id for a connection's secrets (or a client secret), stable across renames.
pub(crate) fn new_id() -> Result<String> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no randomness available: {e}"))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

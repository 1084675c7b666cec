//! `connections.toml`: every connection's settings, never a secret and never what conn learns
//! while running (that is `state.json`, see `state`). `load` overlays the state onto the
//! settings, so callers see one `Connection`; `update` writes the settings back with
//! `toml_edit` (the user's comments, order and formatting stay) and the learned fields to the
//! state file. Every change is a read-modify-write under an exclusive lock, re-reading the file
//! after the lock is taken so concurrent processes never lose each other's changes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::fsio;
use super::metadata_cache::{self, Cache, CacheEdit, Source};
use super::metadata_journal::{self, Entry, Fit, Journal, Pending};
use super::metadata_text::{self, TextEdit};
pub(crate) use super::state::LastCheck;
use super::state::{ConnState, StateStore};
use crate::core::paths::Paths;
pub(crate) use crate::core::vocab::Identity;
use crate::core::vocab::{AuthMethod, Environment, Grant, StoreKind};

/// The format version this build reads and writes.
pub(crate) const CURRENT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Metadata {
    #[serde(default = "current_version")]
    pub version: u32,
    #[serde(default, skip_serializing_if = "Settings::is_empty")]
    pub settings: Settings,
    #[serde(default)]
    pub connections: BTreeMap<String, Connection>,
    /// OAuth client registrations, by `provider/client_id`, reused across connections.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub clients: BTreeMap<String, OAuthClient>,
    /// Team stores on OpenBao / Vault, by team name (`conn store add`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub teams: BTreeMap<String, crate::store::vault::TeamSettings>,
}

/// A registered OAuth app (client id, and a client secret kept in the secret store).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct OAuthClient {
    pub provider: String,
    pub client_id: String,
    /// Key of the client secret in the secret store; none for a public client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_id: Option<String>,
    /// The store holding the client secret.
    pub store: StoreKind,
    pub created_at: String,
    /// The team store this registration was read from; never written.
    #[serde(skip)]
    pub team: Option<String>,
}

/// The OAuth side of a connection (tokens are in the secret store).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct OAuthState {
    /// Key into `clients`.
    pub client: String,
    /// `authorization_code`, `device_code`, `client_credentials`, or `oauth1`.
    pub grant: Grant,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// State: when the access token expires (RFC 3339), for display; the secret bundle is
    /// authoritative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// State: when the access token was last refreshed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refreshed_at: Option<String>,
    /// Offline access (OpenID Connect `offline_access`) was asked at sign-in: a connection
    /// without a refresh token is then worth a warning.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub offline_access: bool,
    /// State: the scopes the provider reported on the last refresh (else `scopes` holds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted_scopes: Option<Vec<String>>,
}

impl OAuthState {
    /// The scopes the grant holds: as last reported by a refresh, else as signed in.
    pub(crate) fn held_scopes(&self) -> &[String] {
        self.granted_scopes.as_deref().unwrap_or(&self.scopes)
    }
}

fn current_version() -> u32 {
    CURRENT_VERSION
}

impl Default for Metadata {
    fn default() -> Self {
        Metadata {
            version: CURRENT_VERSION,
            settings: Settings::default(),
            connections: BTreeMap::new(),
            clients: BTreeMap::new(),
            teams: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    /// `keychain` or `file`: the secret store chosen once and then kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_store: Option<StoreKind>,
}

impl Settings {
    fn is_empty(&self) -> bool {
        self.secret_store.is_none()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Connection {
    /// Stable key of the connection's secrets; survives renames.
    pub id: String,
    pub provider: String,
    pub auth: AuthMethod,
    pub env: Environment,
    /// The secret store holding this connection's secrets: `keychain`, `file`, or `vault` for
    /// a team connection.
    pub store: StoreKind,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, String>,
    /// Basic auth user name (not a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// State: who the credentials authenticate as (last sign-in or check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuthState>,
    pub created_at: String,
    pub updated_at: String,
    /// State: the outcome of the last check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_check: Option<LastCheck>,
    /// State: when a check last succeeded (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<String>,
    /// State: when the credentials were last granted (`new`, `reauth`), RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorized_at: Option<String>,
    /// The team store of a team connection (`acme` for `acme/gh`); set when read from it,
    /// never written.
    #[serde(skip)]
    pub team: Option<String>,
}

/// What `conn list` shows of a connection, read without its inputs and OAuth details (about
/// a third of the time and memory of a `Connection` at 10,000 connections).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Listed {
    pub id: String,
    pub provider: String,
    pub auth: AuthMethod,
    pub env: Environment,
    /// State (see `Connection`).
    #[serde(default)]
    pub identity: Option<Identity>,
    /// State (see `Connection`).
    #[serde(default)]
    pub last_check: Option<LastCheck>,
    /// The team store of a team connection; never read from a file.
    #[serde(skip)]
    pub team: Option<String>,
}

impl From<Connection> for Listed {
    fn from(c: Connection) -> Self {
        Listed {
            id: c.id,
            provider: c.provider,
            auth: c.auth,
            env: c.env,
            identity: c.identity,
            last_check: c.last_check,
            team: c.team,
        }
    }
}

impl Entry for Connection {
    fn id(&self) -> &str {
        &self.id
    }
    fn renamed(&mut self, updated_at: &str) {
        self.updated_at = updated_at.to_string();
    }
}

impl Entry for Listed {
    fn id(&self) -> &str {
        &self.id
    }
    fn renamed(&mut self, _: &str) {}
}

// The fields marked "State" are kept in the state file, not in connections.toml (which older
// versions wrote them to, and from which `load` migrates them). They stay on `Connection` so
// that readers, and `show --json`, see one record.
impl Connection {
    /// The learned part of this connection, as the state file keeps it.
    pub(crate) fn learned(&self) -> ConnState {
        let oauth = self.oauth.as_ref();
        ConnState {
            identity: self.identity.clone(),
            authorized_at: self.authorized_at.clone(),
            last_check: self.last_check.clone(),
            last_success: self.last_success.clone(),
            expires_at: oauth.and_then(|o| o.expires_at.clone()),
            refreshed_at: oauth.and_then(|o| o.refreshed_at.clone()),
            granted_scopes: oauth.and_then(|o| o.granted_scopes.clone()),
        }
    }

    /// Replaces the learned part with `s`.
    pub(crate) fn set_learned(&mut self, s: ConnState) {
        self.identity = s.identity;
        self.authorized_at = s.authorized_at;
        self.last_check = s.last_check;
        self.last_success = s.last_success;
        if let Some(o) = self.oauth.as_mut() {
            o.expires_at = s.expires_at;
            o.refreshed_at = s.refreshed_at;
            o.granted_scopes = s.granted_scopes;
        }
    }

    /// Only the settings, as connections.toml keeps them.
    fn settings_only(&self) -> Connection {
        let mut c = self.clone();
        c.set_learned(ConnState::default());
        c
    }
}

impl Connection {
    /// Whether `other` authenticates as the same account of the same app instance.
    pub(crate) fn same_account(&self, other: &Connection) -> bool {
        let key = |c: &Connection| {
            c.identity.as_ref().and_then(|i| {
                i.id.clone()
                    .map(|id| format!("id:{id}"))
                    .or(i.label.clone().map(|l| format!("label:{l}")))
            })
        };
        self.provider == other.provider
            && self.inputs == other.inputs
            && key(self).is_some()
            && key(self) == key(other)
    }
}

/// Other connections that authenticate as the same account as `conn` (not `name` itself).
pub(crate) fn same_account<'m>(
    meta: &'m Metadata,
    name: &str,
    conn: &Connection,
) -> Vec<(&'m String, &'m Connection)> {
    meta.connections
        .iter()
        .filter(|(n, c)| n.as_str() != name && c.same_account(conn))
        .collect()
}

#[derive(Debug, Clone)]
pub(crate) struct MetadataStore {
    file: PathBuf,
    lock: PathBuf,
    state: StateStore,
}

impl MetadataStore {
    pub(crate) fn new(paths: &Paths) -> Self {
        MetadataStore {
            file: paths.connections_file(),
            lock: paths.connections_lock(),
            state: StateStore::new(paths),
        }
    }

    pub(crate) fn path(&self) -> &std::path::Path {
        &self.file
    }

    /// The state file next to these settings.
    pub(crate) fn state(&self) -> &StateStore {
        &self.state
    }

    /// Reads the settings and overlays what conn learned; a missing file is an empty store. A
    /// file that doesn't parse is an error naming path, line and column.
    pub(crate) fn load(&self) -> Result<Metadata> {
        let meta = self.load_settings()?;
        self.overlay(meta)
    }

    /// Every local connection as `conn list` shows it, with the settings, OAuth clients and
    /// team stores (the returned `Metadata` has no connections): from the JSON cache's lines
    /// when the cache can be believed (on the file's stamp, or its hash), else from `load`.
    pub(crate) fn listing(&self) -> Result<(Metadata, BTreeMap<String, Listed>)> {
        // The journal before the cache (see `metadata_journal`).
        let journal = self.journal()?;
        let cached = match self.cache().read_settled::<Top, Listed>(&self.file) {
            Some(found) => Some(found),
            // Right after a change: believed on the file's hash, if it was made from it.
            None => Source::read(&self.file)?
                .filter(|src| src.bytes.len() >= CACHE_THRESHOLD)
                .and_then(|src| Some((self.cache().read::<Top, Listed>(&src)?, src.hash()))),
        };
        if let Some((p, hash)) = cached {
            let mut listed = p.connections;
            if let Some(j) = &journal {
                self.warn_clashes(&j.apply(j.fit(Some(hash)), &mut listed));
            }
            // As `overlay_with` does: the state file's record replaces what the file says.
            let mut by_id: Vec<&mut Listed> = listed.values_mut().collect();
            by_id.sort_unstable_by(|a, b| a.id.cmp(&b.id));
            self.state.load_shown(|id, s| {
                if let Ok(i) = by_id.binary_search_by(|l| l.id.as_str().cmp(id)) {
                    by_id[i].identity = s.identity;
                    by_id[i].last_check = s.last_check;
                }
            })?;
            let meta = from_parts(metadata_cache::Parts {
                version: p.version,
                top: p.top,
                connections: BTreeMap::new(),
            });
            return Ok((migrate(meta), listed));
        }
        let mut meta = self.load()?;
        let listed = std::mem::take(&mut meta.connections)
            .into_iter()
            .map(|(n, c)| (n, Listed::from(c)))
            .collect();
        Ok((meta, listed))
    }

    /// connections.toml alone (with any learned fields an older version wrote there), with
    /// the journal's pending edits made to it.
    pub(crate) fn load_settings(&self) -> Result<Metadata> {
        // The journal before the file (see `metadata_journal`).
        let journal = self.journal()?;
        let (mut meta, hash) = self.load_file()?;
        if let Some(j) = &journal {
            self.warn_clashes(&j.apply(j.fit(hash), &mut meta.connections));
        }
        Ok(meta)
    }

    /// connections.toml alone, without the journal, and its content hash (`None`: no file).
    fn load_file(&self) -> Result<(Metadata, Option<u64>)> {
        if let Some((p, hash)) = self.cache().read_settled::<Top, Connection>(&self.file) {
            return Ok((migrate(from_parts(p)), Some(hash)));
        }
        let Some(src) = Source::read(&self.file)? else {
            return Ok((Metadata::default(), None));
        };
        let hash = Some(src.hash());
        let big = src.bytes.len() >= CACHE_THRESHOLD;
        if big && let Some(p) = self.cache().read::<Top, Connection>(&src) {
            return Ok((migrate(from_parts(p)), hash));
        }
        let text = std::str::from_utf8(&src.bytes)
            .with_context(|| format!("{} is not valid UTF-8", self.file.display()))?;
        let meta = self.parse(text)?;
        if big && meta.version <= CURRENT_VERSION {
            self.write_cache(&src, &meta);
        }
        if meta.version > CURRENT_VERSION {
            bail!(
                "{} has format version {}, newer than this conn understands ({}); upgrade conn",
                self.file.display(),
                meta.version,
                CURRENT_VERSION
            );
        }
        Ok((migrate(meta), hash))
    }

    /// Like `load`, but only connection `name` (with the settings and OAuth clients) needs to be
    /// there: its tables are cut out of the file and parsed alone when the file has conn's own
    /// layout, so the cost does not grow with the number of connections. Otherwise, or when
    /// there is no such connection (the caller's error then suggests close names), `load`.
    pub(crate) fn load_one(&self, name: &str) -> Result<Metadata> {
        self.load_part(&[name], false)
    }

    /// Like `load_one`, but when the file has conn's layout and no connection `name`, the
    /// settings and OAuth clients alone (no connections): what `conn new NAME` needs.
    pub(crate) fn load_around(&self, name: &str) -> Result<Metadata> {
        self.load_part(&[name], true)
    }

    /// `load_one` for several connections (`conn check A B ...`): when the file has conn's
    /// layout and holds every one of `names`, only their tables are parsed and only their
    /// records of the state file decoded; otherwise `load`.
    pub(crate) fn load_some(&self, names: &[&str]) -> Result<Metadata> {
        self.load_part(names, false)
    }

    fn load_part(&self, names: &[&str], even_absent: bool) -> Result<Metadata> {
        // The journal before the file or its cache (see `metadata_journal`).
        let journal = self.journal()?;
        let wanted: Vec<String> = match &journal {
            Some(j) => j.sources(names),
            None => names.iter().map(|n| n.to_string()).collect(),
        };
        let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
        // One connection: the JSON cache first, its line found by bisecting it.
        if let [_] = names
            && let Some((p, hash)) = self.cache().find::<Top, Connection>(&self.file, &wanted)
            && p.version <= CURRENT_VERSION
            && let Some(meta) = self.part_with(from_parts(p), Some(hash), journal.as_ref(), names)
            && (!meta.connections.is_empty() || even_absent)
        {
            let ids: Vec<&str> = meta.connections.values().map(|c| c.id.as_str()).collect();
            let state = self.state.load_only(&ids)?;
            return self.overlay_with(migrate(meta), &state);
        }
        let Some(bytes) = fsio::read_optional(&self.file)? else {
            return self.load();
        };
        let distinct = names
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let part = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| super::metadata_slice::cut_some(text, &wanted));
        // Only a journal is checked against the file's hash.
        let hash = journal
            .is_some()
            .then(|| metadata_cache::content_hash(&bytes));
        match part.map(|(p, _)| toml::from_str::<Metadata>(&p)) {
            Some(Ok(meta)) if meta.version <= CURRENT_VERSION => {
                match self.part_with(meta, hash, journal.as_ref(), names) {
                    Some(meta) if meta.connections.len() == distinct || even_absent => {
                        // Only these connections' records of the state file are read.
                        let ids: Vec<&str> =
                            meta.connections.values().map(|c| c.id.as_str()).collect();
                        let state = self.state.load_only(&ids)?;
                        self.overlay_with(migrate(meta), &state)
                    }
                    _ => self.load(),
                }
            }
            // Errors are reported by the whole file's parse, with its line numbers.
            _ => self.load(),
        }
    }

    /// `meta` (some connections of the connections.toml whose content hash is `hash`, at
    /// least `journal.sources(names)` of them) with the journal's edits made and only `names`
    /// kept; `None` when the journal was made on top of another version of the file (then only
    /// the whole file gives the right answer).
    fn part_with(
        &self,
        mut meta: Metadata,
        hash: Option<u64>,
        journal: Option<&Journal<Connection>>,
        names: &[&str],
    ) -> Option<Metadata> {
        if let Some(j) = journal {
            match j.fit(hash) {
                Fit::Replay => return None,
                fit => {
                    j.apply(fit, &mut meta.connections);
                }
            }
        }
        meta.connections.retain(|n, _| names.contains(&n.as_str()));
        Some(meta)
    }

    /// Where the journal of pending edits is, and how many it holds (0 when there is none).
    pub(crate) fn pending(&self) -> Result<(PathBuf, usize)> {
        let n = self.journal()?.map_or(0, |j| j.edits.len());
        Ok((metadata_journal::path_for(&self.file), n))
    }

    /// The journal of pending edits, if there is one.
    fn journal(&self) -> Result<Option<Journal<Connection>>> {
        Journal::read(&metadata_journal::path_for(&self.file))
    }

    fn warn_clashes(&self, clashes: &[(String, Option<String>)]) {
        for (name, got) in clashes {
            let journal = metadata_journal::path_for(&self.file);
            match got {
                Some(other) => log::warn!(
                    "{}: connections.toml now has another connection named {name:?}, so the one conn added under that name is {other:?}",
                    journal.display()
                ),
                None => log::warn!(
                    "{}: connection {name:?} added by conn was not made: connections.toml now has another connection of that name, and one of the name conn would give it instead",
                    journal.display()
                ),
            }
        }
    }

    fn parse(&self, text: &str) -> Result<Metadata> {
        toml::from_str(text).map_err(|e| {
            let (line, col) = e
                .span()
                .map_or((1, 1), |s| crate::core::error::line_col(text, s.start));
            anyhow::anyhow!(
                "{}:{line}:{col}: {}\nconn has not changed the file; fix it by hand (or move it away to start afresh).",
                self.file.display(),
                e.message()
            )
        })
    }

    /// Puts the state file's record of each connection onto it. A connection the state file
    /// does not know yet keeps what connections.toml says (files written before the state file
    /// existed), and that is copied into the state file, so no last result is lost.
    fn overlay(&self, meta: Metadata) -> Result<Metadata> {
        let state = self.state.load()?;
        self.overlay_with(meta, &state)
    }

    /// `overlay` with `state` read already (holding at least `meta`'s connections).
    fn overlay_with(&self, mut meta: Metadata, state: &super::state::State) -> Result<Metadata> {
        let mut legacy = Vec::new();
        for c in meta.connections.values_mut() {
            match state.connections.get(&c.id) {
                Some(s) => c.set_learned(s.clone()),
                None => {
                    let l = c.learned();
                    if !l.is_empty() {
                        legacy.push((c.id.clone(), l));
                    }
                }
            }
        }
        if !legacy.is_empty() {
            // Best effort: until it works, the values are read from connections.toml as before.
            let moved = self.state.update(|s| {
                for (id, l) in legacy {
                    s.connections.entry(id).or_insert(l);
                }
                Ok(())
            });
            if let Err(e) = moved {
                log::warn!("could not move check results into the state file: {e:#}");
            }
        }
        Ok(meta)
    }

    /// Applies `change` to the latest contents under the lock and writes the result atomically:
    /// learned fields to the state file, settings to connections.toml, changing only what
    /// differs there. If `change` fails, nothing is written.
    pub(crate) fn update<T>(&self, change: impl FnOnce(&mut Metadata) -> Result<T>) -> Result<T> {
        crate::core::interrupt::critical(|| self.update_now(change))
    }

    fn update_now<T>(&self, change: impl FnOnce(&mut Metadata) -> Result<T>) -> Result<T> {
        let _guard = fsio::lock_exclusive(&self.lock)?;
        self.update_locked(change)
    }

    /// `update(change)` where `change` does exactly what `edit` says (and fails where it
    /// cannot). When the file has conn's layout and the JSON cache was made from its current
    /// bytes (which proves the file parses), the change is made as a text edit of the file and
    /// of the cache, at a cost that does not grow with the number of connections beyond
    /// copying bytes; otherwise, or when the text does not show for certain that the edit
    /// applies (a name taken, another id), `change` runs on the whole file as `update` does.
    /// Same lock, same atomic write, same state-file records either way.
    pub(crate) fn edit(
        &self,
        edit: Edit<'_>,
        change: impl FnOnce(&mut Metadata) -> Result<()>,
    ) -> Result<()> {
        crate::core::interrupt::critical(|| {
            let _guard = fsio::lock_exclusive(&self.lock)?;
            let journal = self.journal()?;
            match self.edit_pending(&edit, journal.as_ref())? {
                Journaled::Done => return Ok(()),
                // `change` says why, from the whole store, and nothing is written.
                Journaled::Refused => return self.update_locked(change),
                Journaled::Unsure => {}
            }
            // Any other change is made to the file itself, the pending edits first.
            if let Some(j) = journal
                && !self.fold_text(&j)?
            {
                return self.update_locked(change);
            }
            if self.edit_text(&edit)? {
                return Ok(());
            }
            self.update_locked(change)
        })
    }

    /// `edit` as an entry in the journal (see `metadata_journal`), when connections.toml is
    /// big enough to have a cache that can be believed, the journal (if any) was made on top
    /// of its current version, and the edit applies for certain; folded into the file when
    /// the journal is full. Called under the lock.
    fn edit_pending(
        &self,
        edit: &Edit<'_>,
        journal: Option<&Journal<Connection>>,
    ) -> Result<Journaled> {
        let names: Vec<&str> = match *edit {
            Edit::Insert { name, .. } | Edit::Remove { name, .. } => vec![name],
            Edit::Rename { old, new, .. } => vec![old, new],
        };
        let wanted = journal.map_or_else(
            || names.iter().map(|n| n.to_string()).collect(),
            |j| j.sources(&names),
        );
        let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
        let Some((p, hash)) = self.cache().find::<Top, Connection>(&self.file, &wanted) else {
            return Ok(Journaled::Unsure);
        };
        if p.version > CURRENT_VERSION {
            return Ok(Journaled::Unsure);
        }
        // One left over from a fold is replaced.
        let journal = journal.filter(|j| j.fit(Some(hash)) != Fit::Folded);
        let Some(now) = self.part_with(from_parts(p), Some(hash), journal, &names) else {
            return Ok(Journaled::Unsure);
        };
        let have = |name: &str| now.connections.get(name);
        let (entry, learned) = match *edit {
            Edit::Insert { name, conn } => {
                if have(name).is_some() {
                    return Ok(Journaled::Refused);
                }
                let learned =
                    Some((conn.id.clone(), conn.learned())).filter(|(_, l)| !l.is_empty());
                let entry = Pending::Insert {
                    name: name.to_string(),
                    connection: conn.settings_only(),
                };
                (entry, learned)
            }
            Edit::Remove { name, id } => {
                if have(name).is_none_or(|c| c.id != id) {
                    return Ok(Journaled::Refused);
                }
                let entry = Pending::Remove {
                    name: name.to_string(),
                    id: id.to_string(),
                };
                (entry, None)
            }
            Edit::Rename {
                old,
                new,
                updated_at,
            } => {
                let Some(c) = have(old).filter(|_| have(new).is_none()) else {
                    return Ok(Journaled::Refused);
                };
                let entry = Pending::Rename {
                    old: old.to_string(),
                    new: new.to_string(),
                    id: c.id.clone(),
                    updated_at: updated_at.to_string(),
                };
                (entry, None)
            }
        };
        // As in `update_locked`: what was learned first, then the settings.
        if let Some((id, l)) = learned {
            self.state.update_one(&id, |r| *r = l)?;
        }
        let mut journal = journal
            .cloned()
            .unwrap_or_else(|| Journal::new(metadata_journal::hex(hash)));
        journal.edits.push(entry);
        journal.write(&metadata_journal::path_for(&self.file))?;
        log::debug!(
            "{}: {edit:?} kept in the journal ({} pending)",
            self.file.display(),
            journal.edits.len()
        );
        if journal.edits.len() >= metadata_journal::FOLD_AT {
            // The edit is saved already: a fold that fails only leaves it pending.
            let folded = match self.fold_text(&journal) {
                Ok(true) => Ok(()),
                Ok(false) => self.update_locked(|_| Ok(())),
                Err(e) => Err(e),
            };
            if let Err(e) = folded {
                log::warn!(
                    "could not write the pending changes into {} ({e:#}); they stay in {} and are read from there",
                    self.file.display(),
                    metadata_journal::path_for(&self.file).display()
                );
            }
        }
        Ok(Journaled::Done)
    }

    /// Makes `journal`'s edits to connections.toml and its cache as text (one write of each),
    /// then deletes the journal; `false` (nothing written) when that cannot be done for
    /// certain, and the whole-file path must fold it. Called under the lock.
    fn fold_text(&self, journal: &Journal<Connection>) -> Result<bool> {
        let Some(src) = Source::read(&self.file)? else {
            return Ok(false);
        };
        match journal.fit(Some(src.hash())) {
            Fit::OnTop => {}
            Fit::Folded => {
                self.journal_done(journal, None)?;
                return Ok(true);
            }
            Fit::Replay => return Ok(false),
        }
        let Some(cache) = self.cache().text_for(&src) else {
            return Ok(false);
        };
        let Ok(text) = String::from_utf8(src.bytes) else {
            return Ok(false);
        };
        // The added connections' tables are appended to the file at the end; a connection
        // added and then removed or renamed is edited there, the file's own connections with
        // one scan and one copy of it.
        let mut inserted = String::new();
        let mut added = std::collections::BTreeSet::new();
        let mut on_file = Vec::new();
        for e in &journal.edits {
            let edited = match e {
                Pending::Insert { name, connection } => {
                    let tables = tables_of(name, connection)?;
                    added.insert(name.as_str());
                    Some(metadata_text::append(&inserted, &tables))
                }
                Pending::Remove { name, id } if added.remove(name.as_str()) => {
                    metadata_text::remove(&inserted, name, id)
                }
                Pending::Rename {
                    old,
                    new,
                    updated_at,
                    ..
                } if added.remove(old.as_str()) => {
                    added.insert(new.as_str());
                    metadata_text::rename(&inserted, old, new, updated_at)
                }
                Pending::Remove { name, id } => {
                    on_file.push(TextEdit::Remove { name, id });
                    continue;
                }
                Pending::Rename {
                    old,
                    new,
                    updated_at,
                    ..
                } => {
                    on_file.push(TextEdit::Rename {
                        old,
                        new,
                        updated_at,
                    });
                    continue;
                }
            };
            match edited {
                Some(t) => inserted = t,
                None => return Ok(false),
            }
        }
        let Some(mut text) = metadata_text::edit_many(&text, &on_file) else {
            return Ok(false);
        };
        if !inserted.is_empty() {
            text = metadata_text::append(&text, &inserted);
        }
        self.mark_folded(journal, text.as_bytes())?;
        let before = SystemTime::now();
        fsio::write_atomic(&self.file, text.as_bytes())?;
        let new_src = Source::written(text.into_bytes(), &self.file, before);
        type Change<'c> = Box<dyn Fn(&mut Connection) + 'c>;
        let stamps: Vec<Change<'_>> = journal
            .edits
            .iter()
            .map(|e| -> Change<'_> {
                match e {
                    Pending::Rename { updated_at, .. } => {
                        Box::new(move |c: &mut Connection| c.updated_at = updated_at.clone())
                    }
                    _ => Box::new(|_: &mut Connection| {}),
                }
            })
            .collect();
        let cache_edits: Vec<CacheEdit<'_, Connection>> = journal
            .edits
            .iter()
            .zip(&stamps)
            .map(|(e, stamp)| match e {
                Pending::Insert { name, connection } => CacheEdit::Insert {
                    name,
                    conn: connection,
                },
                Pending::Remove { name, .. } => CacheEdit::Remove { name },
                Pending::Rename { old, new, .. } => CacheEdit::Rename {
                    old,
                    new,
                    change: stamp.as_ref(),
                },
            })
            .collect();
        let cache = metadata_cache::edit_many(&cache, &new_src, &cache_edits);
        self.cache().put_or_forget(cache, &new_src);
        self.journal_done(journal, None)?;
        log::debug!(
            "{}: {} pending edits made to it",
            self.file.display(),
            journal.edits.len()
        );
        Ok(true)
    }

    /// Records in the journal that connections.toml is about to become `text` (see
    /// `metadata_journal`'s Folding).
    fn mark_folded(&self, journal: &Journal<Connection>, text: &[u8]) -> Result<()> {
        let mut marked = journal.clone();
        marked.folded = Some(metadata_journal::hex(metadata_cache::content_hash(text)));
        marked.write(&metadata_journal::path_for(&self.file))
    }

    /// After `journal`'s edits were made to connections.toml: deletes it, and forgets what
    /// was learned about the connections it removed (best effort, as in `update_locked`),
    /// except those still in `live` (the connections written, when the edits were replayed
    /// on a hand edit that kept a removed connection under another name).
    fn journal_done(&self, journal: &Journal<Connection>, live: Option<&Metadata>) -> Result<()> {
        metadata_journal::delete(&metadata_journal::path_for(&self.file))?;
        let gone: Vec<&str> = journal
            .removed_ids()
            .filter(|id| live.is_none_or(|m| !m.connections.values().any(|c| c.id == *id)))
            .collect();
        if !gone.is_empty() {
            let _ = self.state.update(|s| {
                for id in gone {
                    s.connections.remove(id);
                }
                Ok(())
            });
        }
        Ok(())
    }

    /// `edit` as text; `false` when it must be made on the whole file instead.
    fn edit_text(&self, edit: &Edit<'_>) -> Result<bool> {
        let Some(src) = Source::read(&self.file)? else {
            return Ok(false);
        };
        if src.bytes.len() < CACHE_THRESHOLD {
            // Small files have no cache (the proof that they parse) and re-render fast.
            return Ok(false);
        }
        let Some(cache) = self.cache().text_for(&src) else {
            return Ok(false);
        };
        let Ok(text) = std::str::from_utf8(&src.bytes) else {
            return Ok(false);
        };
        let (new_text, learned, gone) = match *edit {
            Edit::Insert { name, conn } => {
                if metadata_text::has(text, name) != Some(false) {
                    return Ok(false);
                }
                let settings = conn.settings_only();
                let tables = tables_of(name, &settings)?;
                let learned =
                    Some((conn.id.clone(), conn.learned())).filter(|(_, l)| !l.is_empty());
                (metadata_text::append(text, &tables), learned, None)
            }
            Edit::Remove { name, id } => match metadata_text::remove(text, name, id) {
                Some(t) => (t, None, Some(id)),
                None => return Ok(false),
            },
            Edit::Rename {
                old,
                new,
                updated_at,
            } => match metadata_text::rename(text, old, new, updated_at) {
                Some(t) => (t, None, None),
                None => return Ok(false),
            },
        };
        // As in `update_locked`: what was learned first, then the settings, then forgetting.
        if let Some((id, l)) = learned {
            self.state.update_one(&id, |r| *r = l)?;
        }
        let before = SystemTime::now();
        fsio::write_atomic(&self.file, new_text.as_bytes())?;
        log::debug!("{}: edited as text ({edit:?})", self.file.display());
        let new_src = Source::written(new_text.into_bytes(), &self.file, before);
        let new_cache = match *edit {
            Edit::Insert { name, conn } => {
                metadata_cache::insert(&cache, &new_src, name, &conn.settings_only())
            }
            Edit::Remove { name, .. } => metadata_cache::remove(&cache, &new_src, name),
            Edit::Rename {
                old,
                new,
                updated_at,
            } => metadata_cache::rename(&cache, &new_src, old, new, |c: &mut Connection| {
                c.updated_at = updated_at.to_string();
            }),
        };
        self.cache().put_or_forget(new_cache, &new_src);
        if let Some(id) = gone {
            let _ = self.state.update_one(id, |r| *r = ConnState::default());
        }
        Ok(true)
    }

    fn update_locked<T>(&self, change: impl FnOnce(&mut Metadata) -> Result<T>) -> Result<T> {
        // Pending edits are made to the file with this change (`load` applies them).
        let journal = self.journal()?;
        let mut meta = self.load()?;
        let before: BTreeMap<String, ConnState> = meta
            .connections
            .values()
            .map(|c| (c.id.clone(), c.learned()))
            .collect();
        let out = change(&mut meta)?;
        meta.version = CURRENT_VERSION;

        // What the change learned (a sign-in's identity and check) goes to the state file.
        let learned: Vec<(String, ConnState)> = meta
            .connections
            .values()
            .map(|c| (c.id.clone(), c.learned()))
            .filter(|(id, l)| before.get(id) != Some(l))
            .collect();
        match learned.as_slice() {
            [] => {}
            // One connection's news (a sign-in) does not decode every record.
            [(id, l)] => self.state.update_one(id, |r| *r = l.clone())?,
            _ => self.state.update(|s| {
                for (id, l) in learned {
                    s.connections.insert(id, l);
                }
                Ok(())
            })?,
        }

        let mut settings = meta.clone();
        for c in settings.connections.values_mut() {
            *c = c.settings_only();
        }
        let written_after = SystemTime::now();
        let old = fsio::read_optional(&self.file)?.and_then(|b| String::from_utf8(b).ok());
        let text = self.render(old.as_deref(), &settings)?;
        if old.as_deref() != Some(text.as_str()) {
            if let Some(j) = &journal {
                self.mark_folded(j, text.as_bytes())?;
            }
            fsio::write_atomic(&self.file, text.as_bytes())?;
        }
        if text.len() >= CACHE_THRESHOLD {
            let src = Source::written(text.into_bytes(), &self.file, written_after);
            self.write_cache(&src, &settings);
        }
        if let Some(j) = &journal {
            self.journal_done(j, Some(&meta))?;
            log::debug!(
                "{}: {} pending edits made to it with this change",
                self.file.display(),
                j.edits.len()
            );
        }

        // Forget what was learned about connections that are gone (best effort: a leftover
        // record is never read, ids are not reused).
        let gone: Vec<&String> = before
            .keys()
            .filter(|id| !meta.connections.values().any(|c| &c.id == *id))
            .collect();
        if let [id] = gone.as_slice() {
            let _ = self.state.update_one(id, |r| *r = ConnState::default());
        } else if !gone.is_empty() {
            let _ = self.state.update(|s| {
                for id in gone {
                    s.connections.remove(id);
                }
                Ok(())
            });
        }
        Ok(out)
    }

    /// The text of connections.toml holding `settings`: the current file with only what
    /// differs changed (comments, order and formatting kept), or a fresh file.
    fn render(&self, old: Option<&str>, settings: &Metadata) -> Result<String> {
        let fresh = toml::to_string_pretty(settings).context("could not serialize connections")?;
        let Some(old) = old.filter(|t| !t.trim().is_empty()) else {
            return Ok(fresh);
        };
        let (Ok(mut doc), Ok(want)) = (
            old.parse::<toml_edit::DocumentMut>(),
            fresh.parse::<toml_edit::DocumentMut>(),
        ) else {
            return Ok(fresh);
        };
        super::tomldoc::apply(&mut doc, &want, "connections", "id");
        let edited = doc.to_string();
        // The edit must say exactly what was meant; if not, correct data beats kept comments.
        let same = self
            .parse(&edited)
            .ok()
            .and_then(|m| serde_json::to_value(m).ok())
            == serde_json::to_value(settings).ok();
        if same {
            Ok(edited)
        } else {
            log::warn!(
                "could not keep the formatting of {}; rewrote it",
                self.file.display()
            );
            Ok(fresh)
        }
    }

    /// The JSON copy of a big connections.toml (see `metadata_cache`).
    fn cache(&self) -> Cache {
        Cache::new(self.file.with_file_name(".connections.cache.json"))
    }

    #[cfg(test)]
    fn read_cache(&self, src: &Source) -> Option<Metadata> {
        Some(from_parts(self.cache().read::<Top, Connection>(src)?))
    }

    fn write_cache(&self, src: &Source, meta: &Metadata) {
        self.cache().write(
            src,
            &metadata_cache::Parts {
                version: meta.version,
                top: TopRef {
                    settings: &meta.settings,
                    clients: &meta.clients,
                    teams: &meta.teams,
                },
                connections: meta
                    .connections
                    .iter()
                    .map(|(n, c)| (n.clone(), c))
                    .collect(),
            },
        );
    }
}

/// What became of an `Edit` offered to the journal.
enum Journaled {
    /// Kept in the journal (or folded with it into the file).
    Done,
    /// It does not apply (a name taken, no such connection, another id).
    Refused,
    /// The journal cannot be used for it: no cache to believe, or a journal made on another
    /// version of the file.
    Unsure,
}

/// One change to one connection that `MetadataStore::edit` can make as text.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Edit<'a> {
    /// Adds connection `name` (its settings to connections.toml, what it learned to the state
    /// file).
    Insert { name: &'a str, conn: &'a Connection },
    /// Removes connection `name`, whose id is `id`.
    Remove { name: &'a str, id: &'a str },
    /// Renames connection `old` to `new`, setting its `updated_at` (RFC 3339).
    Rename {
        old: &'a str,
        new: &'a str,
        updated_at: &'a str,
    },
}

/// What the JSON cache keeps besides the connections (read).
#[derive(Deserialize)]
struct Top {
    #[serde(default)]
    settings: Settings,
    #[serde(default)]
    clients: BTreeMap<String, OAuthClient>,
    #[serde(default)]
    teams: BTreeMap<String, crate::store::vault::TeamSettings>,
}

/// What the JSON cache keeps besides the connections (written).
#[derive(Serialize)]
struct TopRef<'a> {
    settings: &'a Settings,
    clients: &'a BTreeMap<String, OAuthClient>,
    teams: &'a BTreeMap<String, crate::store::vault::TeamSettings>,
}

/// A document of one connection's tables, for `Edit::Insert`.
#[derive(Serialize)]
struct OneConnection<'a> {
    connections: BTreeMap<&'a str, &'a Connection>,
}

/// Connection `name`'s tables as `toml` writes them, to append to connections.toml.
fn tables_of(name: &str, conn: &Connection) -> Result<String> {
    toml::to_string_pretty(&OneConnection {
        connections: BTreeMap::from([(name, conn)]),
    })
    .context("could not serialize the connection")
}

/// Below this size TOML parses fast enough that a cache isn't worth a second file.
const CACHE_THRESHOLD: usize = 256 * 1024;

/// Metadata from what the JSON cache holds.
fn from_parts(p: metadata_cache::Parts<Top, Connection>) -> Metadata {
    Metadata {
        version: p.version,
        settings: p.top.settings,
        connections: p.connections,
        clients: p.top.clients,
        teams: p.top.teams,
    }
}

/// Brings older formats up to `CURRENT_VERSION`. Version 1 is the first; nothing to do yet.
fn migrate(meta: Metadata) -> Metadata {
    meta
}

/// Connection names are used in commands, env var prefixes and file names: keep them simple.
pub(crate) fn validate_name(name: &str) -> Result<(), String> {
    let ok_start = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if name.is_empty() || name.len() > 64 || !ok_start || !ok_chars {
        return Err(format!(
            "invalid connection name {name:?}: use 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    fn store() -> (tempfile::TempDir, MetadataStore) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::all_in(dir.path());
        let s = MetadataStore::new(&paths);
        (dir, s)
    }

    #[test]
    fn broken_file_is_reported_with_position_and_kept() {
        let (_d, s) = store();
        std::fs::write(s.path(), "version = 1\n[connections.a\n").unwrap();
        let err = s.update(|_| Ok(())).unwrap_err().to_string();
        assert!(err.contains("connections.toml:2:"), "{err}");
        assert_eq!(
            std::fs::read_to_string(s.path()).unwrap(),
            "version = 1\n[connections.a\n"
        );
    }

    #[test]
    fn a_bad_word_is_reported_with_its_line() {
        let (_d, s) = store();
        std::fs::write(
            s.path(),
            "version = 1\n[connections.a]\nid = \"1\"\nprovider = \"http\"\nauth = \"api_key\"\nenv = \"staging\"\nstore = \"file\"\ncreated_at = \"x\"\nupdated_at = \"x\"\n",
        )
        .unwrap();
        let err = format!("{:#}", s.load().unwrap_err());
        assert!(err.contains("connections.toml:6:"), "{err}");
        assert!(err.contains("staging") && err.contains("sandbox"), "{err}");
    }

    #[test]
    fn newer_version_is_refused() {
        let (_d, s) = store();
        std::fs::write(s.path(), "version = 99\n").unwrap();
        assert!(s.load().unwrap_err().to_string().contains("newer"));
    }

    #[test]
    fn the_cache_of_a_big_file_never_hides_a_hand_edit() {
        let (_d, s) = store();
        let mut text = String::from("version = 1\n");
        for i in 0..1500 {
            text.push_str(&format!(
                "[connections.c{i}]\nid = \"{i}\"\nprovider = \"http\"\nauth = \"api_key\"\nenv = \"production\"\nstore = \"file\"\ncreated_at = \"2026-01-01T00:00:00Z\"\nupdated_at = \"2026-01-01T00:00:00Z\"\n[connections.c{i}.inputs]\nbase_url = \"http://127.0.0.1:1/a/long/enough/path/to/make/the/file/big\"\n"
            ));
        }
        assert!(text.len() >= CACHE_THRESHOLD);
        std::fs::write(s.path(), &text).unwrap();
        assert_eq!(s.load().unwrap().connections.len(), 1500);
        assert!(s.file.with_file_name(".connections.cache.json").exists());
        // Served from the cache while the file is unchanged...
        assert_eq!(s.load().unwrap().connections.len(), 1500);
        // ...and never after a hand edit.
        text = text
            .replace("[connections.c7]", "[connections.renamed]")
            .replace("[connections.c7.inputs]", "[connections.renamed.inputs]");
        std::fs::write(s.path(), &text).unwrap();
        let m = s.load().unwrap();
        assert!(m.connections.contains_key("renamed"));
        assert!(!m.connections.contains_key("c7"));
    }

    #[test]
    fn load_one_reads_the_same_connection_as_load() {
        let (_d, s) = store();
        let text = "version = 1\n\n[connections.a]\nid = \"1\"\nprovider = \"http\"\nauth = \"api_key\"\nenv = \"production\"\nstore = \"file\"\ncreated_at = \"2026-01-01T00:00:00Z\"\nupdated_at = \"2026-01-01T00:00:00Z\"\n\n[connections.a.inputs]\nbase_url = \"http://a\"\n";
        let b = text
            .replace("version = 1\n", "")
            .replace("connections.a", "connections.b");
        let both = format!("{text}{b}");
        std::fs::write(s.path(), &both).unwrap();
        let one = s.load_one("b").unwrap();
        assert_eq!(one.connections.len(), 1);
        assert_eq!(one.connections["b"], s.load().unwrap().connections["b"]);
        // Not there: the whole file, for the caller's suggestions.
        assert_eq!(s.load_one("c").unwrap().connections.len(), 2);
        // A layout conn does not write: the whole file too.
        std::fs::write(
            s.path(),
            format!("{both}\n[connections]\nc = {{ id = \"3\" }}\n"),
        )
        .unwrap();
        assert!(
            s.load_one("b").is_err(),
            "the whole file is parsed and its error reported"
        );
    }

    /// A big file (a long comment up top) in conn's layout, varied as people edit it.
    fn layout(conns: &[(usize, u8)], settings: bool, client_at: usize) -> String {
        let mut t = format!("# {}\nversion = 1\n", "x".repeat(CACHE_THRESHOLD));
        if settings {
            t.push_str("\n# mine\n[settings]\nsecret_store = \"file\"\n");
        }
        for (i, &(n, style)) in conns.iter().enumerate() {
            if i == client_at {
                t.push_str("\n[clients.\"oauth2/x\"]\nprovider = \"oauth2\"\nclient_id = \"x\"\nstore = \"file\"\ncreated_at = \"t\"\n");
            }
            let name = NAMES[n];
            let key = if name.contains('.') {
                format!("\"{name}\"")
            } else {
                name.to_string()
            };
            if style & 1 != 0 {
                t.push_str(&format!("\n# about {name}\n"));
            }
            t.push_str(&format!("[connections.{key}]"));
            if style & 2 != 0 {
                t.push_str(&format!(" # on {name}"));
            }
            t.push_str(&format!("\nid = \"id{n}\"\nprovider = \"http\"\nauth=\"api_key\"\nenv = \"production\"\nstore = \"file\"\ncreated_at = \"2026-01-01T00:00:00Z\"\nupdated_at = \"2026-01-01T00:00:00Z\"\n"));
            match style >> 2 {
                0 => {}
                1 => t.push_str("inputs = { base_url = \"http://x\" }\n"),
                _ => t.push_str(&format!(
                    "\n[connections.{key}.inputs] # inputs of {name}\nbase_url = \"http://{n}\"\n"
                )),
            }
        }
        t.push_str("\n# the end\n");
        t
    }

    const NAMES: [&str; 6] = ["a", "b", "gh-work", "x_1", "d.e", "f.g.h"];

    fn conn_named(n: usize) -> Connection {
        Connection {
            id: format!("new{n}"),
            provider: "http".into(),
            auth: AuthMethod::ApiKey,
            env: Environment::Production,
            store: StoreKind::File,
            inputs: BTreeMap::from([("base_url".into(), "http://new".into())]),
            username: None,
            identity: None,
            oauth: None,
            created_at: "2026-02-02T00:00:00Z".into(),
            updated_at: "2026-02-02T00:00:00Z".into(),
            last_check: None,
            last_success: None,
            authorized_at: Some("2026-02-02T00:00:00Z".into()),
            team: None,
        }
    }

    /// What `edit` means, on the whole file (as the callers write it).
    fn full(edit: Edit<'_>, m: &mut Metadata) -> Result<()> {
        match edit {
            Edit::Insert { name, conn } => {
                if m.connections.contains_key(name) {
                    bail!("taken");
                }
                m.connections.insert(name.into(), conn.clone());
            }
            Edit::Remove { name, id } => {
                if m.connections.get(name).map(|c| c.id.as_str()) != Some(id) {
                    bail!("not there");
                }
                m.connections.remove(name);
            }
            Edit::Rename {
                old,
                new,
                updated_at,
            } => {
                if m.connections.contains_key(new) {
                    bail!("taken");
                }
                let mut c = m.connections.remove(old).context("not there")?;
                c.updated_at = updated_at.into();
                m.connections.insert(new.into(), c);
            }
        }
        Ok(())
    }

    fn as_json(m: &Metadata) -> serde_json::Value {
        serde_json::to_value(m).unwrap()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// The text edit of `new`, `rm` and `rename` leaves the same data as the whole-file
        /// path, keeps every comment not about a removed connection, keeps the JSON cache
        /// true to the file, and declines whatever it cannot do.
        #[test]
        fn text_edits_mean_what_the_whole_file_path_means(
            order in proptest::sample::subsequence((0..NAMES.len()).collect::<Vec<_>>(), 1..=NAMES.len())
                .prop_shuffle(),
            styles in proptest::collection::vec(0u8..12, NAMES.len()),
            settings in proptest::bool::ANY,
            client_at in 0usize..8,
            op in 0u8..3,
            target in 0..NAMES.len(),
            other in 0..NAMES.len(),
            wrong_id in proptest::bool::ANY,
        ) {
            use proptest::prelude::{prop_assert, prop_assert_eq};
            let conns: Vec<(usize, u8)> = order.iter().map(|&n| (n, styles[n])).collect();
            let text = layout(&conns, settings, client_at);
            let (_da, fast) = store();
            let (_db, slow) = store();
            std::fs::write(fast.path(), &text).unwrap();
            std::fs::write(slow.path(), &text).unwrap();
            fast.load().unwrap(); // makes the cache
            let added = conn_named(target);
            let id = if wrong_id { "zz".to_string() } else { format!("id{target}") };
            let edit = match op {
                0 => Edit::Insert { name: NAMES[target], conn: &added },
                1 => Edit::Remove { name: NAMES[target], id: &id },
                _ => Edit::Rename { old: NAMES[target], new: NAMES[other], updated_at: "2026-03-03T00:00:00Z" },
            };
            let want = slow.update(|m| full(edit, m));
            let done = {
                let _guard = fsio::lock_exclusive(&fast.lock).unwrap();
                fast.edit_text(&edit).unwrap()
            };
            let after = std::fs::read_to_string(fast.path()).unwrap();
            // Every file here has conn's layout: the text edit applies exactly when the edit does.
            prop_assert_eq!(done, want.is_ok());
            if !done {
                prop_assert_eq!(&after, &text);
                return Ok(());
            }
            let parsed: Metadata = toml::from_str(&after).unwrap();
            prop_assert_eq!(as_json(&parsed), as_json(&slow.load_settings().unwrap()));
            let cached = fast.read_cache(&Source::read(fast.path()).unwrap().unwrap());
            prop_assert!(cached.is_some(), "the cache follows the edit");
            prop_assert_eq!(as_json(&cached.unwrap()), as_json(&parsed));
            // Learned fields went to the state file either way.
            prop_assert_eq!(
                serde_json::to_value(&fast.state.load().unwrap().connections).unwrap(),
                serde_json::to_value(&slow.state.load().unwrap().connections).unwrap()
            );
            let removed = matches!(edit, Edit::Remove { .. }).then_some(NAMES[target]);
            for line in text.lines().filter(|l| l.contains('#')) {
                let comment = format!("{}\n", &line[line.find('#').unwrap()..]);
                let about = line.rsplit(' ').next().unwrap();
                if Some(about) != removed {
                    prop_assert!(after.contains(&comment), "kept: {}", comment);
                } else {
                    prop_assert!(!after.contains(&comment), "gone with it: {}", comment);
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]

        /// Any sequence of `new`, `rm` and `rename` through the journal (folded every
        /// `FOLD_AT` edits) reads, one connection or all, as the whole-file path's; a fold
        /// interrupted before the journal was deleted changes nothing; and the folded file is
        /// the whole-file path's, with its cache true to it.
        #[test]
        fn the_journal_reads_as_the_whole_file_path_at_every_step(
            ops in proptest::collection::vec((0u8..3, 0..NAMES.len(), 0..NAMES.len(), proptest::bool::weighted(0.1)), 1..(2 * metadata_journal::FOLD_AT + 6)),
        ) {
            use proptest::prelude::{prop_assert, prop_assert_eq};
            let conns: Vec<(usize, u8)> = (0..4).map(|n| (n, (n * 3) as u8)).collect();
            let text = layout(&conns, true, 2);
            let (_da, fast) = store();
            let (_db, slow) = store();
            std::fs::write(fast.path(), &text).unwrap();
            // Without the padding that makes `fast` big enough for a cache (and a journal).
            std::fs::write(slow.path(), text.split_once('\n').unwrap().1).unwrap();
            fast.load().unwrap(); // makes the cache
            let journal = metadata_journal::path_for(fast.path());
            let mut pending = 0;
            for (step, &(op, target, other, wrong_id)) in ops.iter().enumerate() {
                let mut added = conn_named(target);
                added.id = format!("new{step}");
                let current = slow.load_settings().unwrap();
                let id = match current.connections.get(NAMES[target]) {
                    Some(c) if !wrong_id => c.id.clone(),
                    _ => "zz".to_string(),
                };
                let edit = match op {
                    0 => Edit::Insert { name: NAMES[target], conn: &added },
                    1 => Edit::Remove { name: NAMES[target], id: &id },
                    _ => Edit::Rename { old: NAMES[target], new: NAMES[other], updated_at: "2026-03-03T00:00:00Z" },
                };
                let want = slow.update(|m| full(edit, m));
                let got = fast.edit(edit, |m| full(edit, m));
                prop_assert_eq!(got.is_ok(), want.is_ok(), "{:?}", edit);
                // Every change goes to the journal, a refused one writes nothing, and the
                // journal is folded when full.
                if got.is_ok() {
                    pending = (pending + 1) % metadata_journal::FOLD_AT;
                }
                prop_assert_eq!(fast.pending().unwrap().1, pending);
                let all = slow.load_settings().unwrap();
                prop_assert_eq!(as_json(&fast.load_settings().unwrap()), as_json(&all));
                for name in NAMES {
                    let one = |s: &MetadataStore| s.load_one(name).unwrap().connections.get(name).map(|c| serde_json::to_value(c).unwrap());
                    prop_assert_eq!(one(&fast), one(&slow), "{}", name);
                }
                let (_, listed) = fast.listing().unwrap();
                prop_assert_eq!(
                    listed.iter().map(|(n, l)| (n.clone(), l.id.clone())).collect::<Vec<_>>(),
                    all.connections.iter().map(|(n, c)| (n.clone(), c.id.clone())).collect::<Vec<_>>()
                );
            }
            // A fold interrupted after writing the file leaves its journal behind.
            let left = std::fs::read(&journal).ok();
            fast.update(|_| Ok(())).unwrap();
            prop_assert!(!journal.exists(), "folded");
            let parsed: Metadata = toml::from_str(&std::fs::read_to_string(fast.path()).unwrap()).unwrap();
            let all = slow.load_settings().unwrap();
            prop_assert_eq!(as_json(&parsed), as_json(&all));
            let cached = fast.read_cache(&Source::read(fast.path()).unwrap().unwrap()).unwrap();
            prop_assert_eq!(as_json(&cached), as_json(&parsed));
            if let Some(bytes) = left {
                // As the fold left it: marked with the hash of the file it was writing.
                let mut j: Journal<Connection> = serde_json::from_slice(&bytes).unwrap();
                let now = Source::read(fast.path()).unwrap().unwrap();
                j.folded = Some(metadata_journal::hex(now.hash()));
                j.write(&journal).unwrap();
                prop_assert_eq!(as_json(&fast.load_settings().unwrap()), as_json(&all));
                let (_, listed) = fast.listing().unwrap();
                prop_assert_eq!(listed.len(), all.connections.len());
                for name in NAMES {
                    let one = |s: &MetadataStore| s.load_one(name).unwrap().connections.get(name).map(|c| serde_json::to_value(c).unwrap());
                    prop_assert_eq!(one(&fast), one(&slow), "{}", name);
                }
                // The next change replaces it (with an id no step used: `new{step}` are).
                let mut added = conn_named(0);
                added.id = "after-fold".into();
                let free = NAMES.iter().find(|n| !all.connections.contains_key(**n)).copied();
                if let Some(name) = free {
                    let edit = Edit::Insert { name, conn: &added };
                    fast.edit(edit, |m| full(edit, m)).unwrap();
                    slow.update(|m| full(edit, m)).unwrap();
                    prop_assert_eq!(fast.pending().unwrap().1, 1);
                    prop_assert_eq!(as_json(&fast.load_settings().unwrap()), as_json(&slow.load_settings().unwrap()));
                }
            }
            prop_assert_eq!(
                serde_json::to_value(&fast.state.load().unwrap().connections).unwrap(),
                serde_json::to_value(&slow.state.load().unwrap().connections).unwrap()
            );
        }
    }

    #[test]
    fn names_are_checked() {
        assert!(validate_name("gh-work_1.x").is_ok());
        assert!(validate_name("-x").is_err());
        assert!(validate_name("a b").is_err());
        assert!(validate_name("").is_err());
    }
}

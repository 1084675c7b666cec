//! A team's connections in one KV v2 mount: records under `<prefix>/<team>/meta/<name>`,
//! secret bundles under `…/secrets/<id>`, OAuth client records under `…/clients/<key>`.
//! Every write uses check-and-set, and an OAuth refresh runs the claim-before-refresh
//! protocol so a rotated refresh token is never spent twice, whatever the number of hosts.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use serde_json::Value;

use super::client::{Client, Versioned};
use super::config::{self, Resolved, TeamSettings};
use super::error::{Kind, VaultError};
use crate::core::env::Env;
use crate::core::paths::Paths;
use crate::core::secret::{Secret, SecretBundle};
use crate::store::metadata::{Connection, OAuthClient};
use crate::store::secrets::{SecretStore, StoreKind};

/// Reserved field of a secret bundle: who is refreshing it (`host:pid:nonce`).
pub(crate) const CLAIM: &str = "conn:refresh_claim";
/// Reserved field: the refresh token was refused; every host stops spending it.
pub(crate) const NEEDS_REAUTH: &str = "conn:needs_reauth";
/// A claim older than this (server clock) was left by a crashed host and may be taken over.
/// Longer than conn's 30 s token-request timeout plus the writes.
pub(crate) const CLAIM_TTL: Duration = Duration::from_secs(90);
/// Attempts at a read-modify-write before "changed by someone else".
const CAS_ATTEMPTS: usize = 5;

/// Splits `acme/gh` into the team and the connection name.
pub(crate) fn split_name(name: &str) -> Option<(&str, &str)> {
    name.split_once('/')
}

/// One team store, connected.
#[derive(Debug)]
pub(crate) struct Team {
    pub(crate) name: String,
    pub(crate) client: Client,
    pub(crate) resolved: Resolved,
    /// The KV v2 mount, without slashes.
    pub(crate) mount: String,
    /// `<prefix>/<team>`.
    pub(crate) root: String,
    claim_ttl: Duration,
    may_update_secrets: OnceLock<bool>,
}

impl Team {
    /// Resolves the settings and the token (no request is made yet except an AppRole login).
    pub(crate) fn open(
        name: &str,
        settings: &TeamSettings,
        env: &Env,
        paths: &Paths,
    ) -> Result<Team> {
        let resolved = config::resolve(env, settings)?;
        let client = config::connect(env, paths, settings, &resolved)?;
        let claim_ttl = env
            .get("CONN_VAULT_CLAIM_TTL")
            .and_then(|v| v.parse().ok())
            .map_or(CLAIM_TTL, Duration::from_secs);
        Ok(Team {
            name: name.to_string(),
            client,
            mount: settings.mount.trim_matches('/').to_string(),
            root: format!("{}/{name}", settings.prefix.trim_matches('/')),
            resolved,
            claim_ttl,
            may_update_secrets: OnceLock::new(),
        })
    }

    /// Checks that the mount is KV version 2 (`sys/internal/ui/mounts`); version 1 is refused
    /// because it silently ignores check-and-set.
    pub(crate) fn check_mount(&self) -> std::result::Result<String, VaultError> {
        let m = self
            .client
            .mount_of(&format!("{}/{}", self.mount, self.root))?;
        if m.kind != "kv" {
            return Err(VaultError::new(
                Kind::Mount,
                format!(
                    "{}/ is a {} secrets engine, not KV; conn needs a KV version 2 mount",
                    self.mount, m.kind
                ),
            ));
        }
        if m.path.trim_end_matches('/') != self.mount {
            return Err(VaultError::new(
                Kind::Mount,
                format!(
                    "{}/{} is served by the mount {}, not {}/; set --mount {} ('conn store add')",
                    self.mount,
                    self.root,
                    m.path,
                    self.mount,
                    m.path.trim_end_matches('/')
                ),
            ));
        }
        if m.version != "2" {
            return Err(VaultError::new(
                Kind::Mount,
                format!(
                    "conn needs a KV version 2 mount; {}/ is version {} (check-and-set is impossible there, so concurrent writes could be lost)",
                    self.mount,
                    if m.version.is_empty() {
                        "1"
                    } else {
                        &m.version
                    }
                ),
            ));
        }
        Ok(format!("{}/ is KV v2", self.mount))
    }

    /// `<mount>/data/<root>/<kind>/<key>`.
    pub(crate) fn data_path(&self, kind: &str, key: &str) -> String {
        format!("{}/data/{}/{kind}/{key}", self.mount, self.root)
    }

    /// `<mount>/metadata/<root>/<kind>/<key>`.
    pub(crate) fn metadata_path(&self, kind: &str, key: &str) -> String {
        format!("{}/metadata/{}/{kind}/{key}", self.mount, self.root)
    }

    /// Names of the team's connections (without the team prefix).
    pub(crate) fn list_names(&self) -> std::result::Result<Vec<String>, VaultError> {
        let keys = self
            .client
            .list(&format!("{}/metadata/{}/meta", self.mount, self.root))?;
        Ok(keys.into_iter().filter(|k| !k.ends_with('/')).collect())
    }

    /// The record of `name` (without the team prefix), its `store` set to this team.
    pub(crate) fn record(&self, name: &str) -> Result<Option<Connection>> {
        let Some(v) = self.client.read(&self.data_path("meta", name))? else {
            return Ok(None);
        };
        let mut c: Connection = serde_json::from_value(Value::Object(v.data)).map_err(|e| {
            anyhow!(
                "the record of {}/{name} in the team store is not a connection conn understands ({e}); an admin can fix or remove it",
                self.name
            )
        })?;
        c.store = StoreKind::Vault;
        c.team = Some(self.name.clone());
        // Check results live in status/, which every role may write.
        if let Some(st) = self.status(name) {
            let text = |k: &str| st.get(k).and_then(|v| v.as_str()).map(str::to_string);
            if let (Some(Ok(status)), Some(at)) = (text("status").map(|s| s.parse()), text("at")) {
                c.last_check = Some(crate::store::metadata::LastCheck {
                    status,
                    at,
                    message: text("message"),
                });
            }
            if let Some(s) = text("last_success") {
                c.last_success = Some(s);
            }
        }
        Ok(Some(c))
    }

    /// Creates the record (check-and-set 0: two admins creating one name get one winner).
    pub(crate) fn create_record(&self, name: &str, conn: &Connection) -> Result<()> {
        let value = serde_json::to_value(conn)?;
        match self.client.write(&self.data_path("meta", name), &value, 0) {
            Ok(_) => Ok(()),
            Err(e) if e.kind == Kind::CasMismatch => Err(anyhow!(
                "a connection named {}/{name} already exists in the team store; nothing was saved",
                self.name
            )),
            Err(e) => Err(self.explain(e, "create connections").into()),
        }
    }

    /// Read-modify-write of one entry with check-and-set: re-read and retry on a lost race,
    /// at most 5 times, then "changed by someone else; nothing was saved". `create` allows
    /// a missing entry to be created (as an empty object first given to `change`).
    pub(crate) fn update_entry(
        &self,
        kind: &str,
        key: &str,
        create: bool,
        action: &str,
        change: &dyn Fn(&mut serde_json::Map<String, Value>) -> Result<()>,
    ) -> Result<()> {
        let path = self.data_path(kind, key);
        for _ in 0..CAS_ATTEMPTS {
            let (version, mut data) = match self.client.read(&path)? {
                Some(v) => (v.version, v.data),
                None if create => (self.client.current_version(&path)?, Default::default()),
                None => return Err(anyhow!("{path} was removed meanwhile; nothing was saved")),
            };
            change(&mut data)?;
            match self.client.write(&path, &Value::Object(data), version) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind == Kind::CasMismatch => jitter(),
                Err(e) => return Err(self.explain(e, action).into()),
            }
        }
        Err(changed_by_someone_else(&format!("{}/{key}", self.name)))
    }

    /// The last check of `name` as recorded in `status/<name>` (none when missing or not
    /// readable).
    pub(crate) fn status(&self, name: &str) -> Option<serde_json::Map<String, Value>> {
        self.client
            .read(&self.data_path("status", name))
            .ok()
            .flatten()
            .map(|v| v.data)
    }

    /// Removes the record and purges the secrets (all versions), so no policy can resurrect
    /// them with a write.
    pub(crate) fn remove(&self, name: &str, id: &str) -> Result<()> {
        self.client
            .delete_all(&self.metadata_path("meta", name))
            .map_err(|e| self.explain(e, "delete connections"))?;
        self.client
            .delete_all(&self.metadata_path("secrets", id))
            .map_err(|e| self.explain(e, "delete connections"))?;
        Ok(())
    }

    /// The OAuth client record `key` (`provider/client_id`).
    pub(crate) fn client_record(&self, key: &str) -> Result<Option<OAuthClient>> {
        let Some(v) = self
            .client
            .read(&self.data_path("clients", &client_key(key)))?
        else {
            return Ok(None);
        };
        let mut reg: OAuthClient = serde_json::from_value(Value::Object(v.data))?;
        reg.team = Some(self.name.clone());
        Ok(Some(reg))
    }

    /// All the team's OAuth client records, by `provider/client_id`.
    pub(crate) fn client_records(&self) -> Result<std::collections::BTreeMap<String, OAuthClient>> {
        let keys = self
            .client
            .list(&format!("{}/metadata/{}/clients", self.mount, self.root))?;
        let mut out = std::collections::BTreeMap::new();
        for k in keys.iter().filter(|k| !k.ends_with('/')) {
            if let Some(v) = self.client.read(&self.data_path("clients", k))? {
                let mut reg: OAuthClient = serde_json::from_value(Value::Object(v.data))?;
                reg.team = Some(self.name.clone());
                out.insert(format!("{}/{}", reg.provider, reg.client_id), reg);
            }
        }
        Ok(out)
    }

    /// Saves a client record; an existing one is replaced (an admin rotating the secret).
    pub(crate) fn put_client_record(&self, key: &str, reg: &OAuthClient) -> Result<()> {
        let path = self.data_path("clients", &client_key(key));
        let v = self.client.current_version(&path)?;
        self.client
            .write(&path, &serde_json::to_value(reg)?, v)
            .map_err(|e| self.explain(e, "create connections"))?;
        Ok(())
    }

    /// The capabilities this token has on each path.
    pub(crate) fn capabilities(
        &self,
        paths: &[String],
    ) -> std::result::Result<std::collections::BTreeMap<String, Vec<String>>, VaultError> {
        self.client.capabilities(paths)
    }

    /// Before a sign-in: may this token create the connection `name`? Says which policy is
    /// missing otherwise, so nobody signs in at a provider only to be refused at save time.
    pub(crate) fn require_create(&self, name: &str) -> Result<()> {
        let paths = vec![
            self.data_path("meta", name),
            self.data_path("secrets", "new"),
        ];
        let caps = self.client.capabilities(&paths)?;
        let missing: Vec<&String> = paths
            .iter()
            .filter(|p| !caps[*p].iter().any(|c| c == "create" || c == "root"))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let policies = self.policies();
        Err(anyhow!(
            "permission denied: this Vault token (from {}, policies {policies}) may not create connections in team {team}: no 'create' capability on {}. Creating connections needs the conn-{team}-admin policy (\"Create Connections\"; see docs/vault-policies/); ask a Vault operator. Nothing was signed in or saved.",
            self.client.token_source,
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" and "),
            team = self.name,
        ))
    }

    /// Before a re-authorization: may this token write a new secret bundle for `id` (the
    /// `update` capability on `secrets/<id>`, which the admin and user policies grant)? Says
    /// which policy is missing otherwise, before any sign-in starts. Returns whether it may
    /// also update the record (`meta/<name>`, admin only).
    pub(crate) fn require_reauth(&self, name: &str, id: &str) -> Result<bool> {
        let secrets = self.data_path("secrets", id);
        let meta = self.data_path("meta", name);
        let caps = self.client.capabilities(&[secrets.clone(), meta.clone()])?;
        let has = |p: &String| caps[p].iter().any(|c| c == "update" || c == "root");
        if has(&secrets) {
            return Ok(has(&meta));
        }
        Err(anyhow!(
            "permission denied: this Vault token (from {}, policies {}) may not re-authorize {team}/{name}: no 'update' capability on {secrets}. Re-authorizing needs the conn-{team}-admin or conn-{team}-user policy (see docs/vault-policies/); ask a Vault operator. Nothing was signed in or saved.",
            self.client.token_source,
            self.policies(),
            team = self.name,
        ))
    }

    /// Renames a record in place of a move: the record is created under `new` with
    /// check-and-set 0 (one winner; an existing name is refused), then the old one is deleted
    /// unless it changed meanwhile (then the new one is taken back out). The secrets are keyed
    /// by id and stay; the last check result follows. Needs `create` on `meta/<new>` and
    /// `delete` on the old record's metadata (the admin policy), asked first.
    pub(crate) fn rename(&self, old: &str, new: &str) -> Result<()> {
        let (created, deleted) = (self.data_path("meta", new), self.metadata_path("meta", old));
        let caps = self
            .client
            .capabilities(&[created.clone(), deleted.clone()])?;
        let has = |p: &String, c: &str| caps[p].iter().any(|x| x == c || x == "root");
        let mut missing = Vec::new();
        if !has(&created, "create") {
            missing.push(format!("'create' on {created}"));
        }
        if !has(&deleted, "delete") {
            missing.push(format!("'delete' on {deleted}"));
        }
        if !missing.is_empty() {
            bail!(
                "permission denied: this Vault token (from {}, policies {}) may not rename connections in team {team}: no {}. Renaming needs the conn-{team}-admin policy (see docs/vault-policies/); nothing was changed.",
                self.client.token_source,
                self.policies(),
                missing.join(" and "),
                team = self.name,
            );
        }
        let old_path = self.data_path("meta", old);
        let Some(v) = self.client.read(&old_path)? else {
            bail!(
                "no connection named {old:?} in team {} (see 'conn list')",
                self.name
            );
        };
        let mut data = v.data.clone();
        data.insert(
            "updated_at".into(),
            Value::String(crate::core::time::now_rfc3339()),
        );
        match self.client.write(&created, &Value::Object(data), 0) {
            Ok(_) => {}
            Err(e) if e.kind == Kind::CasMismatch => bail!(
                "a connection named {}/{new} already exists in the team store; nothing was changed",
                self.name
            ),
            Err(e) => return Err(self.explain(e, "edit connections").into()),
        }
        // The old record must be the one copied: an edit meanwhile would be lost.
        if self.client.current_version(&old_path)? != v.version {
            let _ = self.client.delete_all(&self.metadata_path("meta", new));
            return Err(changed_by_someone_else(&format!("{}/{old}", self.name)));
        }
        self.client
            .delete_all(&deleted)
            .map_err(|e| self.explain(e, "delete connections"))?;
        // The last check result follows (best effort: it is rewritten by the next check).
        if let Some(st) = self.status(old) {
            let to = self.data_path("status", new);
            if let Ok(cur) = self.client.current_version(&to) {
                let _ = self.client.write(&to, &Value::Object(st), cur);
            }
            let _ = self.client.delete_all(&self.metadata_path("status", old));
        }
        Ok(())
    }

    /// The token's policies, for messages ("?" when lookup-self fails).
    pub(crate) fn policies(&self) -> String {
        self.client
            .lookup_self()
            .ok()
            .and_then(|d| {
                d["policies"].as_array().map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
            })
            .unwrap_or_else(|| "?".into())
    }

    /// Adds the missing policy to a denial: which role of the team would allow `action`.
    pub(crate) fn explain(&self, e: VaultError, action: &str) -> VaultError {
        if e.kind != Kind::Denied {
            return e;
        }
        let role = match action {
            "create connections" | "edit connections" | "delete connections" => "admin",
            "refresh tokens" => "user",
            _ => "checker",
        };
        VaultError::new(
            Kind::Denied,
            format!(
                "{}; to {action} in team {} the token needs the conn-{}-{role} policy (see docs/vault-policies/)",
                e.message, self.name, self.name
            ),
        )
    }

    /// The secret bundle of `id` for the `SecretStore` interface.
    pub(crate) fn secrets(self: std::sync::Arc<Self>) -> Box<dyn SecretStore> {
        Box::new(TeamSecrets(self))
    }

    fn read_secrets(&self, id: &str) -> Result<Option<Versioned>> {
        self.client
            .read(&self.data_path("secrets", id))
            .map_err(|e| self.explain(e, "use connections").into())
    }

    /// Whether this token may write token refreshes (`update` on the secrets), asked once per
    /// process from `sys/capabilities-self`.
    fn may_update(&self, id: &str) -> Result<bool> {
        if let Some(b) = self.may_update_secrets.get() {
            return Ok(*b);
        }
        let p = self.data_path("secrets", id);
        let caps = self.client.capabilities(std::slice::from_ref(&p))?;
        let ok = caps[&p].iter().any(|c| c == "update" || c == "root");
        let _ = self.may_update_secrets.set(ok);
        Ok(ok)
    }

    /// The connection's secrets, refreshed when `due` by the claim-before-refresh protocol:
    /// the claim is written into the same KV entry with check-and-set before the provider is
    /// called, so exactly one caller per version spends the refresh token. While another host
    /// holds a fresh claim a token that is still `usable` (not about to expire) is used, else
    /// the caller waits for the new one; a claim older
    /// than the claim TTL on the server's clock is taken over. A token without `update` on the
    /// secrets never refreshes.
    pub(crate) fn refresh_claimed(
        &self,
        conn_name: &str,
        id: &str,
        due: &dyn Fn(&SecretBundle) -> bool,
        usable: &dyn Fn(&SecretBundle) -> bool,
        valid: &dyn Fn(&SecretBundle) -> bool,
        refresh: &mut dyn FnMut(&SecretBundle) -> Refresh,
    ) -> std::result::Result<SecretBundle, ClaimError> {
        let path = self.data_path("secrets", id);
        let deadline = Instant::now() + self.claim_ttl + Duration::from_secs(30);
        loop {
            if Instant::now() > deadline {
                return Err(ClaimError::Vault(anyhow!(
                    "{conn_name}: gave up waiting for another host's refresh (claim held longer than {}s)",
                    self.claim_ttl.as_secs()
                )));
            }
            let v = self
                .read_secrets(id)
                .map_err(ClaimError::Vault)?
                .ok_or_else(|| {
                    ClaimError::Missing(format!(
                        "the secrets are gone from the team store ({path})"
                    ))
                })?;
            let bundle = bundle_of(&v.data);
            if !due(&bundle) {
                return Ok(bundle);
            }
            if let Some(why) = v.data.get(NEEDS_REAUTH).and_then(|x| x.as_str()) {
                return Err(ClaimError::NeedsReauth(why.to_string()));
            }
            let claimed = v.data.get(CLAIM).is_some();
            if claimed && v.age().is_none_or(|a| a < self.claim_ttl) {
                if usable(&bundle) {
                    return Ok(bundle);
                }
                log::debug!("{conn_name}: another host is refreshing; waiting");
                std::thread::sleep(Duration::from_millis(150) + jitter_ms(100));
                continue;
            }
            if claimed {
                log::debug!("{conn_name}: taking over a stale refresh claim");
            }
            if !self.may_update(id).map_err(ClaimError::Vault)? {
                if valid(&bundle) {
                    return Ok(bundle);
                }
                return Err(ClaimError::ReadOnly(format!(
                    "{conn_name}: the access token expired and this Vault token may not refresh it (read-only on {path}; policies {}); a connection user's 'conn token {conn_name}' will refresh it",
                    self.policies()
                )));
            }
            let mut claim_data = v.data.clone();
            claim_data.insert(CLAIM.into(), Value::String(claim_id()));
            match self
                .client
                .write(&path, &Value::Object(claim_data), v.version)
            {
                Ok(_) => {}
                Err(e) if e.kind == Kind::CasMismatch => continue,
                Err(e) => {
                    return Err(ClaimError::Vault(self.explain(e, "refresh tokens").into()));
                }
            }
            let claimed_version = v.version + 1;
            // Exactly one caller per version gets here.
            let result = refresh(&bundle);
            let mut next = v.data.clone();
            next.remove(CLAIM);
            let (out, failure) = match result {
                Refresh::Tokens(new) => {
                    for (k, val) in new.fields() {
                        next.insert(k.clone(), Value::String(val.expose().clone()));
                    }
                    // Fields the new bundle dropped (e.g. no rotated refresh token) stay.
                    (Some(new), None)
                }
                Refresh::NeedsReauth(why) => {
                    next.insert(NEEDS_REAUTH.into(), Value::String(why.clone()));
                    (None, Some(ClaimError::NeedsReauth(why)))
                }
                Refresh::Unreachable(why) => (None, Some(ClaimError::Unreachable(why))),
                Refresh::Failed(e) => (None, Some(ClaimError::Failed(e))),
            };
            match self
                .client
                .write(&path, &Value::Object(next.clone()), claimed_version)
            {
                Ok(_) => {}
                Err(e) if e.kind == Kind::CasMismatch => {
                    // Taken over, or an admin re-authorized meanwhile: the store's tokens win.
                    log::debug!("{conn_name}: the claim was taken over; using the stored tokens");
                    continue;
                }
                Err(e) => {
                    return Err(ClaimError::Vault(anyhow!(
                        "{e}; the new tokens of {conn_name} could not be saved in the team store, so it may need 'conn reauth {conn_name}'"
                    )));
                }
            }
            return match (out, failure) {
                (_, Some(f)) => Err(f),
                (Some(_), None) => Ok(bundle_of(&next)),
                (None, None) => unreachable!("a refresh gives tokens or a failure"),
            };
        }
    }
}

/// What a provider refresh gave, for [`Team::refresh_claimed`].
#[derive(Debug)]
pub(crate) enum Refresh {
    Tokens(SecretBundle),
    /// The provider refused the refresh token (`invalid_grant`).
    NeedsReauth(String),
    /// The provider could not be reached; the stored tokens stay.
    Unreachable(String),
    Failed(anyhow::Error),
}

/// Why [`Team::refresh_claimed`] gave no fresh secrets.
#[derive(Debug)]
pub(crate) enum ClaimError {
    /// The team store failed (down, sealed, denied…); see [`VaultError`] in the chain.
    Vault(anyhow::Error),
    Missing(String),
    NeedsReauth(String),
    Unreachable(String),
    /// The token may not refresh and the access token has expired.
    ReadOnly(String),
    Failed(anyhow::Error),
}

/// The `SecretStore` view of a team's secrets (`secrets/<id>`), with CAS on every write.
#[derive(Debug)]
struct TeamSecrets(std::sync::Arc<Team>);

impl SecretStore for TeamSecrets {
    fn location(&self) -> String {
        format!(
            "team store {} ({}/{}/{}/secrets)",
            self.0.name, self.0.client.address, self.0.mount, self.0.root
        )
    }

    fn get(&self, id: &str) -> Result<Option<SecretBundle>> {
        Ok(self.0.read_secrets(id)?.map(|v| bundle_of(&v.data)))
    }

    /// Replaces the bundle (clearing any claim or reauth mark) with check-and-set.
    fn put(&self, id: &str, bundle: &SecretBundle) -> Result<()> {
        let t = &self.0;
        let path = t.data_path("secrets", id);
        for _ in 0..CAS_ATTEMPTS {
            let version = t.client.current_version(&path)?;
            match t.client.write(&path, &bundle.to_json_value(), version) {
                Ok(_) => {
                    if version == 0 {
                        // Room for ten refreshes of history; every writer must use CAS.
                        let _ = t.client.write_metadata(
                            &t.metadata_path("secrets", id),
                            &serde_json::json!({"max_versions": 20, "cas_required": true}),
                        );
                    }
                    return Ok(());
                }
                Err(e) if e.kind == Kind::CasMismatch => jitter(),
                Err(e) => {
                    let action = if version == 0 {
                        "create connections"
                    } else {
                        "edit connections"
                    };
                    return Err(t.explain(e, action).into());
                }
            }
        }
        Err(changed_by_someone_else(&path))
    }

    fn delete(&self, id: &str) -> Result<bool> {
        let t = &self.0;
        t.client
            .delete_all(&t.metadata_path("secrets", id))
            .map_err(|e| t.explain(e, "delete connections"))?;
        Ok(true)
    }
}

/// The bundle without conn's reserved fields.
pub(crate) fn bundle_of(data: &serde_json::Map<String, Value>) -> SecretBundle {
    let mut b = SecretBundle::new();
    for (k, v) in data {
        if k.starts_with("conn:") {
            continue;
        }
        if let Some(s) = v.as_str() {
            b.insert(k, Secret::new(s.to_string()));
        }
    }
    b
}

fn client_key(key: &str) -> String {
    key.replace('/', ".")
}

fn changed_by_someone_else(what: &str) -> anyhow::Error {
    anyhow!(
        "{what} was changed by someone else meanwhile; nothing was saved; run the command again"
    )
}

fn claim_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    let mut n = [0u8; 6];
    let _ = getrandom::fill(&mut n);
    let nonce: String = n.iter().map(|b| format!("{b:02x}")).collect();
    format!("{host}:{}:{nonce}", std::process::id())
}

fn jitter_ms(max: u64) -> Duration {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    Duration::from_millis(u64::from(u16::from_le_bytes(b)) % max.max(1))
}

fn jitter() {
    std::thread::sleep(Duration::from_millis(20) + jitter_ms(80));
}

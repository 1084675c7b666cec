//! Where secrets live: one trait, two backends (OS keychain, age-encrypted file), and the rule
//! that picks one. A connection's secrets are one bundle, written and read as a unit.

pub(crate) mod file;
pub(crate) mod keychain;
pub(crate) mod keychain_health;

use anyhow::Result;

use crate::core::env::Env;
use crate::core::error::usage;
use crate::core::paths::Paths;
pub(crate) use crate::core::secret::SecretBundle;
pub(crate) use crate::core::vocab::StoreKind;

pub(crate) trait SecretStore {
    /// A place a person can look, e.g. the keychain service name or the file path.
    fn location(&self) -> String;
    fn get(&self, id: &str) -> Result<Option<SecretBundle>>;
    /// Replaces the whole bundle for `id` in one write.
    fn put(&self, id: &str, bundle: &SecretBundle) -> Result<()>;
    /// Returns whether anything was removed.
    fn delete(&self, id: &str) -> Result<bool>;
    /// Proves, changing nothing, that `id`'s bundle could be replaced now by one whose
    /// plaintext is `len` bytes (before a refresh token is spent, see `ops::rotation`);
    /// `None` when the store has no cheaper proof than writing such a bundle and then the
    /// old one back, which the caller then does.
    fn prove_room(&self, _id: &str, _len: usize) -> Option<Result<()>> {
        None
    }
}

/// The store new secrets go to, and why it was chosen.
#[derive(Debug, Clone)]
pub(crate) struct Selection {
    pub kind: StoreKind,
    pub reason: String,
    /// True when nothing named a store and conn chose one itself; the caller saves the choice
    /// and tells the user, once.
    pub automatic: bool,
}

/// `CONN_SECRET_STORE`, else the saved setting, else the keychain when it answers, else the
/// encrypted file. Never plaintext.
pub(crate) fn choose(env: &Env, saved: Option<StoreKind>) -> Result<Selection> {
    if let Some(v) = env.get("CONN_SECRET_STORE") {
        let kind = v
            .parse::<StoreKind>()
            .ok()
            .filter(|k| *k != StoreKind::Vault);
        let kind = kind.ok_or_else(|| {
            usage(format!(
                "CONN_SECRET_STORE={v} is not a secret store; use 'keychain' or 'file'"
            ))
        })?;
        return Ok(Selection {
            kind,
            reason: format!("CONN_SECRET_STORE={v}"),
            automatic: false,
        });
    }
    if let Some(kind) = saved {
        return Ok(Selection {
            kind,
            reason: "saved setting (settings.secret_store in connections.toml)".to_string(),
            automatic: false,
        });
    }
    // A real write probe: a locked keychain answers lookups, then fails (or prompts) on writes.
    match keychain::Keychain::new(env).probe() {
        Ok(_) => Ok(Selection {
            kind: StoreKind::Keychain,
            reason: "the OS keychain is reachable".to_string(),
            automatic: true,
        }),
        Err(e) => Ok(Selection {
            kind: StoreKind::File,
            reason: format!("the OS keychain is not usable: {e:#}"),
            automatic: true,
        }),
    }
}

/// Opens the backend of the given kind.
pub(crate) fn open(kind: StoreKind, paths: &Paths, env: &Env) -> Box<dyn SecretStore> {
    match kind {
        StoreKind::Keychain => Box::new(keychain::Keychain::new(env)),
        StoreKind::File => Box::new(file::FileStore::new(paths, env)),
        StoreKind::Vault => Box::new(NoTeam),
    }
}

/// `vault` without a team: only reachable from a hand-edited connections.toml, since team
/// connections are read from their team store (`ops::Base::secrets_of`).
#[derive(Debug)]
struct NoTeam;

impl NoTeam {
    fn fail<T>(&self) -> Result<T> {
        anyhow::bail!(
            "store = \"vault\" belongs to team connections (TEAM/NAME), which live in a team store, not connections.toml"
        )
    }
}

impl SecretStore for NoTeam {
    fn location(&self) -> String {
        "a team store".into()
    }

    fn get(&self, _id: &str) -> Result<Option<SecretBundle>> {
        self.fail()
    }

    fn put(&self, _id: &str, _bundle: &SecretBundle) -> Result<()> {
        self.fail()
    }

    fn delete(&self, _id: &str) -> Result<bool> {
        self.fail()
    }
}

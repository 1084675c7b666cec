//! Where secrets live: one trait, two backends (OS keychain, age-encrypted file), and the rule
//! that picks one. A connection's secrets are one bundle, written and read as a unit.

pub mod file;
pub mod keychain;

use std::fmt;

use anyhow::{Context, Result};

use crate::core::env::Env;
use crate::core::error::usage;
use crate::core::paths::Paths;
pub use crate::core::secret::SecretBundle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Keychain,
    File,
    /// A team store on Vault/OpenBao; opened per team, never chosen by `choose`.
    Vault,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Keychain => "keychain",
            StoreKind::File => "file",
            StoreKind::Vault => "vault",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "keychain" => Some(StoreKind::Keychain),
            "file" => Some(StoreKind::File),
            _ => None,
        }
    }
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub trait SecretStore {
    fn kind(&self) -> StoreKind;
    /// A place a person can look, e.g. the keychain service name or the file path.
    fn location(&self) -> String;
    fn get(&self, id: &str) -> Result<Option<SecretBundle>>;
    /// Replaces the whole bundle for `id` in one write.
    fn put(&self, id: &str, bundle: &SecretBundle) -> Result<()>;
    /// Returns whether anything was removed.
    fn delete(&self, id: &str) -> Result<bool>;
}

/// The store new secrets go to, and why it was chosen.
#[derive(Debug, Clone)]
pub struct Selection {
    pub kind: StoreKind,
    pub reason: String,
    /// True when nothing named a store and conn chose one itself; the caller saves the choice
    /// and tells the user, once.
    pub automatic: bool,
}

/// `CONN_SECRET_STORE`, else the saved setting, else the keychain when it answers, else the
/// encrypted file. Never plaintext.
pub fn choose(env: &Env, saved: Option<&str>) -> Result<Selection> {
    if let Some(v) = env.get("CONN_SECRET_STORE") {
        let kind = StoreKind::parse(v).ok_or_else(|| {
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
    if let Some(v) = saved {
        let kind = StoreKind::parse(v).with_context(|| {
            format!("settings.secret_store = {v:?} in connections.toml is not 'keychain' or 'file'")
        })?;
        return Ok(Selection {
            kind,
            reason: "saved setting (settings.secret_store in connections.toml)".to_string(),
            automatic: false,
        });
    }
    match keychain::Keychain::new(env).probe() {
        Ok(()) => Ok(Selection {
            kind: StoreKind::Keychain,
            reason: "the OS keychain is reachable".to_string(),
            automatic: true,
        }),
        Err(e) => Ok(Selection {
            kind: StoreKind::File,
            reason: format!("the OS keychain is not reachable: {e:#}"),
            automatic: true,
        }),
    }
}

/// Opens the backend of the given kind.
pub fn open(kind: StoreKind, paths: &Paths, env: &Env) -> Box<dyn SecretStore> {
    match kind {
        StoreKind::Keychain => Box::new(keychain::Keychain::new(env)),
        StoreKind::File => Box::new(file::FileStore::new(paths, env)),
        StoreKind::Vault => unreachable!("team stores are opened with store::vault::Team"),
    }
}

//! Where conn keeps its files: the platform's config and data dirs, or one `CONN_HOME`.

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::env::Env;

#[derive(Debug, Clone)]
pub(crate) struct Paths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    /// What conn learns while running (check results, refresh times): never configuration.
    pub state_dir: PathBuf,
    /// Why these dirs: "CONN_HOME" or "platform default".
    pub source: &'static str,
}

impl Paths {
    /// Every directory in `dir`, as `CONN_HOME` does: for unit tests of the stores.
    #[cfg(test)]
    pub(crate) fn all_in(dir: &std::path::Path) -> Paths {
        Paths {
            config_dir: dir.to_path_buf(),
            data_dir: dir.to_path_buf(),
            state_dir: dir.to_path_buf(),
            source: "test",
        }
    }

    /// `CONN_HOME` puts everything in one directory (tests, portable installs); otherwise the
    /// platform's config dir holds metadata and providers, its data dir the encrypted secrets,
    /// its state dir what conn learns while running.
    pub(crate) fn resolve(env: &Env) -> Result<Self> {
        if let Some(home) = env.get("CONN_HOME") {
            let home = PathBuf::from(home);
            return Ok(Paths {
                config_dir: home.clone(),
                data_dir: home.clone(),
                state_dir: home,
                source: "CONN_HOME",
            });
        }
        let dirs = directories::ProjectDirs::from("", "", "conn").context(
            "could not find your home directory to place conn's files; set CONN_HOME to a directory",
        )?;
        Ok(Paths {
            config_dir: dirs.config_dir().to_path_buf(),
            data_dir: dirs.data_dir().to_path_buf(),
            // XDG_STATE_HOME on Linux; other platforms have no state dir, so the data dir.
            state_dir: dirs
                .state_dir()
                .unwrap_or_else(|| dirs.data_dir())
                .to_path_buf(),
            source: "platform default",
        })
    }

    pub(crate) fn connections_file(&self) -> PathBuf {
        self.config_dir.join("connections.toml")
    }

    pub(crate) fn connections_lock(&self) -> PathBuf {
        self.config_dir.join(".connections.lock")
    }

    /// Check results, refresh times, identities seen: `state.json`, keyed by connection id.
    pub(crate) fn state_file(&self) -> PathBuf {
        self.state_dir.join("state.json")
    }

    pub(crate) fn state_lock(&self) -> PathBuf {
        self.state_dir.join(".state.lock")
    }

    pub(crate) fn providers_dir(&self) -> PathBuf {
        self.config_dir.join("providers")
    }

    /// The file store: one age file per secret bundle, `<id>.age`.
    pub(crate) fn secrets_dir(&self) -> PathBuf {
        self.data_dir.join("secrets")
    }

    /// The file store's earlier layout, every bundle in one file; migrated into `secrets_dir`.
    pub(crate) fn secrets_file(&self) -> PathBuf {
        self.data_dir.join("secrets.age")
    }

    /// Held while the single `secrets_file` is migrated.
    pub(crate) fn secrets_lock(&self) -> PathBuf {
        self.data_dir.join(".secrets.lock")
    }

    /// The age identity for the file store; `CONN_AGE_IDENTITY_FILE` overrides.
    pub(crate) fn identity_file(&self, env: &Env) -> PathBuf {
        match env.get("CONN_AGE_IDENTITY_FILE") {
            Some(p) => PathBuf::from(p),
            None => self.config_dir.join("identity.txt"),
        }
    }
}

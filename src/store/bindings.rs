//! `bindings.toml` in conn's data dir: for each project (keyed by its recipe file's canonical
//! path) and environment, which of this user's connections plays each role. Kept out of the
//! project so the recipe can be committed; changed under a lock and written atomically.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::fsio;
use crate::core::paths::Paths;

const CURRENT_VERSION: u32 = 1;

/// Role → connection name.
pub(crate) type RoleMap = BTreeMap<String, String>;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Bindings {
    #[serde(default = "current_version")]
    pub version: u32,
    /// Recipe path → environment (`production`, `sandbox`) → role → connection.
    #[serde(default)]
    pub projects: BTreeMap<String, BTreeMap<String, RoleMap>>,
}

fn current_version() -> u32 {
    CURRENT_VERSION
}

impl Default for Bindings {
    fn default() -> Self {
        Bindings {
            version: CURRENT_VERSION,
            projects: BTreeMap::new(),
        }
    }
}

/// One binding: a role of a project's recipe, in one environment, played by a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Binding {
    /// The recipe file's canonical path.
    pub project: String,
    pub env: String,
    pub role: String,
}

impl Bindings {
    /// The bindings of one project in one environment.
    pub(crate) fn of(&self, project: &str, env: &str) -> Option<&RoleMap> {
        self.projects.get(project)?.get(env)
    }

    /// Every binding played by connection `name`, in every project.
    pub(crate) fn of_connection(&self, name: &str) -> Vec<Binding> {
        let mut out = Vec::new();
        for (project, envs) in &self.projects {
            for (env, roles) in envs {
                for (role, conn) in roles {
                    if conn == name {
                        out.push(Binding {
                            project: project.clone(),
                            env: env.clone(),
                            role: role.clone(),
                        });
                    }
                }
            }
        }
        out
    }

    /// Points every binding of connection `old` at `new`; returns the bindings changed.
    pub(crate) fn rename_connection(&mut self, old: &str, new: &str) -> Vec<Binding> {
        let changed = self.of_connection(old);
        for roles in self.projects.values_mut().flat_map(|e| e.values_mut()) {
            for conn in roles.values_mut() {
                if conn == old {
                    *conn = new.to_string();
                }
            }
        }
        changed
    }

    /// Drops every binding of connection `name`; returns them.
    pub(crate) fn unbind_connection(&mut self, name: &str) -> Vec<Binding> {
        let dropped = self.of_connection(name);
        for roles in self.projects.values_mut().flat_map(|e| e.values_mut()) {
            roles.retain(|_, conn| conn != name);
        }
        dropped
    }
}

#[derive(Debug, Clone)]
pub(crate) struct BindingsStore {
    file: PathBuf,
    lock: PathBuf,
}

impl BindingsStore {
    pub(crate) fn new(paths: &Paths) -> Self {
        BindingsStore {
            file: paths.data_dir.join("bindings.toml"),
            lock: paths.data_dir.join(".bindings.lock"),
        }
    }

    /// A missing file is no bindings; one that doesn't parse is an error with its position.
    pub(crate) fn load(&self) -> Result<Bindings> {
        let Some(bytes) = fsio::read_optional(&self.file)? else {
            return Ok(Bindings::default());
        };
        let text = String::from_utf8(bytes)
            .with_context(|| format!("{} is not valid UTF-8", self.file.display()))?;
        let b: Bindings = toml::from_str(&text).map_err(|e| {
            let (line, col) = e
                .span()
                .map_or((1, 1), |s| crate::core::error::line_col(&text, s.start));
            anyhow::anyhow!(
                "{}:{line}:{col}: {}\nconn has not changed the file; fix it by hand (or move it away and bind the roles again).",
                self.file.display(),
                e.message()
            )
        })?;
        if b.version > CURRENT_VERSION {
            bail!(
                "{} has format version {}, newer than this conn understands; upgrade conn",
                self.file.display(),
                b.version
            );
        }
        Ok(b)
    }

    /// Applies `change` to the latest contents under the lock, then writes atomically (0600).
    pub(crate) fn update<T>(&self, change: impl FnOnce(&mut Bindings) -> Result<T>) -> Result<T> {
        crate::core::interrupt::critical(|| {
            let _guard = fsio::lock_exclusive(&self.lock)?;
            let mut b = self.load()?;
            let out = change(&mut b)?;
            b.version = CURRENT_VERSION;
            let text = toml::to_string_pretty(&b).context("could not serialize the bindings")?;
            fsio::write_atomic(&self.file, text.as_bytes())?;
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_round_trip_privately() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths {
            config_dir: dir.path().to_path_buf(),
            data_dir: dir.path().join("data"),
            state_dir: dir.path().join("state"),
            source: "test",
        };
        let s = BindingsStore::new(&paths);
        s.update(|b| {
            b.projects
                .entry("/p/conn.toml".into())
                .or_default()
                .entry("sandbox".into())
                .or_default()
                .insert("crm".into(), "sf-sb".into());
            Ok(())
        })
        .unwrap();
        let b = s.load().unwrap();
        assert_eq!(b.of("/p/conn.toml", "sandbox").unwrap()["crm"], "sf-sb");
        assert!(b.of("/p/conn.toml", "production").is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&s.file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}

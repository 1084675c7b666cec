//! The encrypted file store: all bundles in one age-encrypted JSON file (`secrets.age`),
//! encrypted to an X25519 identity kept in a 0600 file or given in `CONN_AGE_IDENTITY`.
//! Recover by hand with `age -d -i identity.txt secrets.age`.

use std::path::PathBuf;
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use anyhow::{Context, Result, anyhow, bail};
use zeroize::Zeroizing;

use super::{SecretBundle, SecretStore};
use crate::core::env::Env;
use crate::core::paths::Paths;
use crate::store::fsio;

#[derive(Debug, Clone)]
pub(crate) struct FileStore {
    file: PathBuf,
    lock: PathBuf,
    identity_file: PathBuf,
    /// The identity's text when it comes from `CONN_AGE_IDENTITY`.
    identity_env: Option<Zeroizing<String>>,
}

impl FileStore {
    pub(crate) fn new(paths: &Paths, env: &Env) -> Self {
        FileStore {
            file: paths.secrets_file(),
            lock: paths.secrets_lock(),
            identity_file: paths.identity_file(env),
            identity_env: env
                .get("CONN_AGE_IDENTITY")
                .map(|s| Zeroizing::new(s.to_string())),
        }
    }

    /// Where the identity comes from, for `conn doctor`.
    pub(crate) fn identity_source(&self) -> String {
        if self.identity_env.is_some() {
            "CONN_AGE_IDENTITY".to_string()
        } else {
            self.identity_file.display().to_string()
        }
    }

    /// Loads the identity; creates a new one (0600) only when there is no secrets file yet,
    /// so a wrong path never silently orphans existing secrets.
    fn identity(&self, create: bool) -> Result<age::x25519::Identity> {
        if let Some(text) = &self.identity_env {
            return parse_identity(text)
                .context("CONN_AGE_IDENTITY does not hold an age identity (AGE-SECRET-KEY-1...)");
        }
        match fsio::read_optional(&self.identity_file)? {
            Some(bytes) => {
                let text =
                    Zeroizing::new(String::from_utf8(bytes).context("identity file is not UTF-8")?);
                parse_identity(&text).with_context(|| {
                    format!(
                        "{} does not hold an age identity (AGE-SECRET-KEY-1...)",
                        self.identity_file.display()
                    )
                })
            }
            None if create && !self.file.exists() => {
                let id = age::x25519::Identity::generate();
                let text = Zeroizing::new(format!(
                    "# conn secret store key; created {}\n# public key: {}\n{}\n",
                    crate::core::time::now_rfc3339(),
                    id.to_public(),
                    id.to_string().expose_secret()
                ));
                fsio::write_atomic(&self.identity_file, text.as_bytes())?;
                Ok(id)
            }
            None if self.file.exists() => bail!(
                "the identity file {} is missing, so {} cannot be decrypted; restore it, or point CONN_AGE_IDENTITY_FILE / CONN_AGE_IDENTITY at it",
                self.identity_file.display(),
                self.file.display()
            ),
            None => bail!("no identity yet at {}", self.identity_file.display()),
        }
    }

    fn read_all(
        &self,
        identity: &age::x25519::Identity,
    ) -> Result<serde_json::Map<String, serde_json::Value>> {
        let Some(cipher) = fsio::read_optional(&self.file)? else {
            return Ok(serde_json::Map::new());
        };
        let plain = Zeroizing::new(age::decrypt(identity, &cipher).map_err(|e| {
            anyhow!(
                "could not decrypt {} with the identity from {}: {e}",
                self.file.display(),
                self.identity_source()
            )
        })?);
        let doc: serde_json::Value =
            serde_json::from_slice(&plain).context("the decrypted secrets file is not JSON")?;
        match doc.get("connections") {
            Some(serde_json::Value::Object(m)) => Ok(m.clone()),
            _ => bail!("the decrypted secrets file has no 'connections' object"),
        }
    }

    fn write_all(
        &self,
        identity: &age::x25519::Identity,
        all: serde_json::Map<String, serde_json::Value>,
    ) -> Result<()> {
        let doc = serde_json::json!({ "version": 1, "connections": all });
        let plain = Zeroizing::new(serde_json::to_vec(&doc)?);
        let cipher = age::encrypt(&identity.to_public(), &plain)
            .map_err(|e| anyhow!("could not encrypt the secrets file: {e}"))?;
        fsio::write_atomic(&self.file, &cipher)
    }

    fn modify(
        &self,
        f: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>) -> bool,
    ) -> Result<bool> {
        let _guard = fsio::lock_exclusive(&self.lock)?;
        let identity = self.identity(true)?;
        let mut all = self.read_all(&identity)?;
        let changed = f(&mut all);
        if changed {
            self.write_all(&identity, all)?;
        }
        Ok(changed)
    }
}

fn parse_identity(text: &str) -> Result<age::x25519::Identity> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .context("empty identity")?;
    age::x25519::Identity::from_str(line).map_err(|e| anyhow!("{e}"))
}

impl SecretStore for FileStore {
    fn location(&self) -> String {
        self.file.display().to_string()
    }

    fn get(&self, id: &str) -> Result<Option<SecretBundle>> {
        if !self.file.exists() {
            return Ok(None);
        }
        let identity = self.identity(false)?;
        let all = self.read_all(&identity)?;
        all.get(id).map(SecretBundle::from_json_value).transpose()
    }

    fn put(&self, id: &str, bundle: &SecretBundle) -> Result<()> {
        self.modify(|all| {
            all.insert(id.to_string(), bundle.to_json_value());
            true
        })?;
        Ok(())
    }

    fn delete(&self, id: &str) -> Result<bool> {
        if !self.file.exists() {
            return Ok(false);
        }
        self.modify(|all| all.remove(id).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::secret::Secret;

    #[test]
    fn round_trip_and_no_plaintext_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths {
            config_dir: dir.path().join("cfg"),
            data_dir: dir.path().join("data"),
            source: "test",
        };
        let store = FileStore::new(&paths, &Env::default());
        let mut b = SecretBundle::new();
        b.insert("api_key", Secret::new("sk_live_TOPSECRET_123".into()));
        store.put("c1", &b).unwrap();
        assert_eq!(store.get("c1").unwrap().unwrap(), b);
        assert!(store.get("c2").unwrap().is_none());
        let raw = std::fs::read(paths.secrets_file()).unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("TOPSECRET"));
        assert!(raw.starts_with(b"age-encryption.org/v1"));
        assert!(store.delete("c1").unwrap());
        assert!(store.get("c1").unwrap().is_none());
    }
}

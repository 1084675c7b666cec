//! The encrypted file store: one age file per secret bundle, `secrets/<id>.age`, each holding
//! `{"version":1,"id":ID,"secrets":{FIELD:VALUE}}`, encrypted to an X25519 identity kept in a
//! 0600 file or given in `CONN_AGE_IDENTITY`. Reading or changing one connection touches only
//! its own file, under its own lock (`secrets/.locks/<id>.lock`), so cost does not grow with the
//! number of connections. Recover by hand with `age -d -i identity.txt secrets/<id>.age`.
//!
//! The earlier layout kept every bundle in one `secrets.age`; the first use of the store by a
//! newer conn migrates it (see [`FileStore::migrate`]), keeping the old file until every bundle
//! was read back from the new files.

use std::path::PathBuf;
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use anyhow::{Context, Result, anyhow, bail};
use zeroize::Zeroizing;

use super::{SecretBundle, SecretStore};
use crate::core::env::Env;
use crate::core::paths::Paths;
use crate::store::fsio;

/// The format of one bundle file.
const FORMAT_VERSION: u64 = 1;

/// More than age adds to a small plaintext: its header with one X25519 stanza (about 200
/// bytes), the payload nonce, and a 16-byte tag per 64 KiB chunk.
const AGE_OVERHEAD: usize = 1024;

#[derive(Debug, Clone)]
pub(crate) struct FileStore {
    dir: PathBuf,
    /// The single file of the earlier layout, and the lock its migration runs under.
    legacy: PathBuf,
    legacy_lock: PathBuf,
    identity_file: PathBuf,
    /// The identity's text when it comes from `CONN_AGE_IDENTITY`.
    identity_env: Option<Zeroizing<String>>,
}

/// What `conn doctor` says about the store's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Nothing stored yet.
    Empty,
    /// One file per bundle; `files` of them.
    PerConnection { files: usize },
    /// The single `secrets.age` of earlier versions, migrated on the next use.
    Single,
}

impl FileStore {
    pub(crate) fn new(paths: &Paths, env: &Env) -> Self {
        FileStore {
            dir: paths.secrets_dir(),
            legacy: paths.secrets_file(),
            legacy_lock: paths.secrets_lock(),
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

    /// The directory of bundle files.
    pub(crate) fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// Which layout is on disk (counts the bundle files: for `conn doctor`, not hot paths).
    pub(crate) fn layout(&self) -> Result<Layout> {
        if self.legacy.exists() {
            return Ok(Layout::Single);
        }
        let files = self.bundle_files()?.len();
        Ok(if files == 0 {
            Layout::Empty
        } else {
            Layout::PerConnection { files }
        })
    }

    fn bundle_files(&self) -> Result<Vec<PathBuf>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(e).with_context(|| format!("could not list {}", self.dir.display()));
            }
        };
        let mut files = Vec::new();
        for e in entries {
            let p = e?.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".age") && !name.starts_with('.') {
                files.push(p);
            }
        }
        Ok(files)
    }

    fn path_of(&self, id: &str) -> Result<PathBuf> {
        Ok(self.dir.join(format!("{}.age", checked_id(id)?)))
    }

    fn lock_of(&self, id: &str) -> Result<PathBuf> {
        Ok(self
            .dir
            .join(".locks")
            .join(format!("{}.lock", checked_id(id)?)))
    }

    /// Loads the identity; creates a new one (0600) only when nothing is stored yet, so a
    /// wrong path never silently orphans existing secrets. Creation runs under the store's
    /// lock and looks again once it holds it: processes starting on an empty store at once
    /// must all encrypt to the one identity that ends up in the file.
    fn identity(&self, create: bool) -> Result<age::x25519::Identity> {
        if let Some(text) = &self.identity_env {
            return parse_identity(text)
                .context("CONN_AGE_IDENTITY does not hold an age identity (AGE-SECRET-KEY-1...)");
        }
        if let Some(known) = known_identity(&self.identity_file) {
            return Ok(known);
        }
        // Taken before the read: a file replaced while it is read is never remembered as the
        // new one.
        let stamp = stamp_of(&self.identity_file);
        let identity = if create && !self.identity_file.exists() {
            let _guard = fsio::lock_exclusive(&self.legacy_lock)?;
            self.identity_now(true)?
        } else {
            self.identity_now(false)?
        };
        if let Some(stamp) = stamp {
            remember_identity(&self.identity_file, stamp, &identity);
        }
        Ok(identity)
    }

    fn identity_now(&self, create: bool) -> Result<age::x25519::Identity> {
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
            None if self.legacy.exists() || !self.bundle_files()?.is_empty() => bail!(
                "the identity file {} is missing, so the secrets in {} cannot be decrypted; restore it, or point CONN_AGE_IDENTITY_FILE / CONN_AGE_IDENTITY at it",
                self.identity_file.display(),
                self.dir.display()
            ),
            None if create => {
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
            None => bail!("no identity yet at {}", self.identity_file.display()),
        }
    }

    fn read_entry(
        &self,
        identity: &age::x25519::Identity,
        id: &str,
    ) -> Result<Option<SecretBundle>> {
        let path = self.path_of(id)?;
        // Read without the bundle's lock: a writer may swap the file while it is read.
        let decrypted = fsio::read_settled(&path, |cipher| {
            age::decrypt(identity, cipher)
                .map(Zeroizing::new)
                .map_err(|e| {
                    anyhow!(
                        "could not decrypt {} with the identity from {}: {e}",
                        path.display(),
                        self.identity_source()
                    )
                })
        })?;
        let Some(plain) = decrypted else {
            return Ok(None);
        };
        let doc: serde_json::Value = serde_json::from_slice(&plain)
            .with_context(|| format!("the decrypted {} is not JSON", path.display()))?;
        if doc.get("id").and_then(|v| v.as_str()) != Some(id) {
            bail!(
                "{} holds the secrets of another id (copied or renamed by hand?); move it back or away",
                path.display()
            );
        }
        match doc.get("secrets") {
            Some(v) => SecretBundle::from_json_value(v).map(Some),
            None => bail!("the decrypted {} has no 'secrets' object", path.display()),
        }
    }

    /// Encrypts and replaces `id`'s file. The caller holds `id`'s lock and syncs the directory
    /// unless this says it did.
    fn write_entry(
        &self,
        identity: &age::x25519::Identity,
        id: &str,
        bundle: &SecretBundle,
    ) -> Result<fsio::Synced> {
        let doc = serde_json::json!({
            "version": FORMAT_VERSION,
            "id": id,
            "secrets": bundle.to_json_value(),
        });
        let plain = Zeroizing::new(serde_json::to_vec(&doc)?);
        let cipher = age::encrypt(&identity.to_public(), &plain)
            .map_err(|e| anyhow!("could not encrypt the secrets of {id}: {e}"))?;
        fsio::replace_swapping(&self.path_of(id)?, &cipher)
    }

    /// Moves the bundles of the single `secrets.age` into one file each, when that file exists.
    ///
    /// Safe to interrupt at any point: each bundle file is written atomically (and under the
    /// bundle's lock), and `secrets.age` is removed only after every bundle was read back from
    /// its new file and found equal. A run after an interruption starts again from
    /// `secrets.age`, rewriting bundles with the same contents. Other conn processes wait on the
    /// migration lock, so nothing writes the new layout while `secrets.age` still exists.
    pub(crate) fn migrate(&self) -> Result<()> {
        if !self.legacy.exists() {
            return Ok(());
        }
        crate::core::interrupt::critical(|| self.migrate_now())
    }

    fn migrate_now(&self) -> Result<()> {
        let _guard = fsio::lock_exclusive(&self.legacy_lock)?;
        let Some(cipher) = fsio::read_optional(&self.legacy)? else {
            // Another process finished it while this one waited.
            return Ok(());
        };
        let identity = self.identity(false)?;
        let plain = Zeroizing::new(age::decrypt(&identity, &cipher).map_err(|e| {
            anyhow!(
                "could not decrypt {} with the identity from {}: {e}",
                self.legacy.display(),
                self.identity_source()
            )
        })?);
        let doc: serde_json::Value =
            serde_json::from_slice(&plain).context("the decrypted secrets.age is not JSON")?;
        let Some(serde_json::Value::Object(all)) = doc.get("connections") else {
            bail!("the decrypted secrets.age has no 'connections' object");
        };
        log::debug!(
            "moving {} secret bundle(s) from {} into {}",
            all.len(),
            self.legacy.display(),
            self.dir.display()
        );
        let mut bundles = Vec::with_capacity(all.len());
        for (id, v) in all {
            let bundle = SecretBundle::from_json_value(v)
                .with_context(|| format!("bundle {id} in secrets.age"))?;
            bundles.push((id.as_str(), bundle));
        }
        for (id, bundle) in &bundles {
            let _lock = fsio::lock_exclusive(&self.lock_of(id)?)?;
            // Synced below, once for all of them.
            let _ = self.write_entry(&identity, id, bundle)?;
        }
        fsio::sync_dir(&self.dir);
        for (id, bundle) in &bundles {
            let back = self.read_entry(&identity, id)?;
            if back.as_ref() != Some(bundle) {
                bail!(
                    "moving secrets.age into {}: the bundle {id} did not read back the same; secrets.age is kept",
                    self.dir.display()
                );
            }
        }
        std::fs::remove_file(&self.legacy)
            .with_context(|| format!("could not remove {}", self.legacy.display()))?;
        if let Some(d) = self.legacy.parent() {
            fsio::sync_dir(d);
        }
        Ok(())
    }
}

/// The identities this process read, by file and the file's stamp: a `conn check` run reads
/// and writes a thousand bundles, and each read of `identity.txt` (open, read, parse) was
/// repeated three times per refresh. One `stat` now tells whether the file is still the one
/// read (same inode, size and modification time); a file replaced or removed meanwhile is read
/// again (or its absence reported) as before.
static IDENTITIES: std::sync::Mutex<Vec<(PathBuf, Stamp, age::x25519::Identity)>> =
    std::sync::Mutex::new(Vec::new());

type Stamp = (u64, u64, Option<std::time::SystemTime>);

fn stamp_of(file: &std::path::Path) -> Option<Stamp> {
    let meta = std::fs::metadata(file).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let ino = 0;
    Some((ino, meta.len(), meta.modified().ok()))
}

fn known_identity(file: &std::path::Path) -> Option<age::x25519::Identity> {
    let stamp = stamp_of(file)?;
    let known = IDENTITIES.lock().unwrap_or_else(|e| e.into_inner());
    known
        .iter()
        .find(|(f, s, _)| f == file && *s == stamp)
        .map(|(_, _, i)| i.clone())
}

fn remember_identity(file: &std::path::Path, stamp: Stamp, identity: &age::x25519::Identity) {
    let mut known = IDENTITIES.lock().unwrap_or_else(|e| e.into_inner());
    known.retain(|(f, _, _)| f != file);
    known.push((file.to_path_buf(), stamp, identity.clone()));
}

/// Bundle ids become file names: conn makes them from hex digits and `client-`; anything else
/// (a path separator, a leading dot) is refused rather than escaped.
fn checked_id(id: &str) -> Result<&str> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        bail!("{id:?} cannot name a secret bundle file");
    }
    Ok(id)
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
        self.dir.display().to_string()
    }

    fn get(&self, id: &str) -> Result<Option<SecretBundle>> {
        self.migrate()?;
        // No file, no identity needed: an absent bundle is cheap to report.
        if !self.path_of(id)?.exists() {
            return Ok(None);
        }
        let identity = self.identity(false)?;
        self.read_entry(&identity, id)
    }

    fn put(&self, id: &str, bundle: &SecretBundle) -> Result<()> {
        self.migrate()?;
        crate::core::interrupt::critical(|| {
            let identity = self.identity(true)?;
            let _lock = fsio::lock_exclusive(&self.lock_of(id)?)?;
            if self.write_entry(&identity, id, bundle)? == fsio::Synced::File {
                fsio::sync_dir(&self.dir);
            }
            Ok(())
        })
    }

    /// What `put` of such a bundle needs, without replacing anything: the identity, the
    /// bundle's lock, a writable file, and room on its file system for the encrypted bundle
    /// next to the current one (see `fsio::prove_room`).
    fn prove_room(&self, id: &str, len: usize) -> Option<Result<()>> {
        Some((|| {
            self.migrate()?;
            self.identity(true)?;
            let lock = fsio::lock_exclusive(&self.lock_of(id)?)?;
            fsio::prove_room(&self.path_of(id)?, len + AGE_OVERHEAD, &lock)
        })())
    }

    fn delete(&self, id: &str) -> Result<bool> {
        self.migrate()?;
        let path = self.path_of(id)?;
        let spare = fsio::spare_of(&path)?;
        if !path.exists() && !spare.exists() {
            return Ok(false);
        }
        crate::core::interrupt::critical(|| {
            let _lock = fsio::lock_exclusive(&self.lock_of(id)?)?;
            // The spare `put` swaps with (empty, or the bundle's previous contents) goes too,
            // even when the bundle was already removed by hand.
            let _ = std::fs::remove_file(&spare);
            match std::fs::remove_file(&path) {
                Ok(()) => {
                    fsio::sync_dir(&self.dir);
                    Ok(true)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(e).with_context(|| format!("could not remove {}", path.display())),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::secret::Secret;

    fn paths(dir: &std::path::Path) -> Paths {
        Paths {
            config_dir: dir.join("cfg"),
            data_dir: dir.join("data"),
            state_dir: dir.join("state"),
            source: "test",
        }
    }

    #[test]
    fn round_trip_one_file_each_and_no_plaintext_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths(dir.path());
        let store = FileStore::new(&paths, &Env::default());
        assert_eq!(store.layout().unwrap(), Layout::Empty);
        let mut b = SecretBundle::new();
        b.insert("api_key", Secret::new("sk_live_TOPSECRET_123".into()));
        store.put("c1", &b).unwrap();
        store.put("c2", &b).unwrap();
        assert_eq!(store.get("c1").unwrap().unwrap(), b);
        assert!(store.get("c3").unwrap().is_none());
        assert_eq!(store.layout().unwrap(), Layout::PerConnection { files: 2 });
        let raw = std::fs::read(paths.secrets_dir().join("c1.age")).unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("TOPSECRET"));
        assert!(raw.starts_with(b"age-encryption.org/v1"));
        // Replaced in place: the new contents, and a spare that holds nothing.
        let mut b2 = b.clone();
        b2.insert("api_key", Secret::new("sk_live_NEWER_456".into()));
        store.put("c1", &b2).unwrap();
        assert_eq!(store.get("c1").unwrap().unwrap(), b2);
        let spare = paths.secrets_dir().join(".c1.age.spare");
        #[cfg(target_os = "linux")]
        assert_eq!(std::fs::read(&spare).unwrap(), b"");
        assert_eq!(store.layout().unwrap(), Layout::PerConnection { files: 2 });
        assert!(store.delete("c1").unwrap());
        assert!(!spare.exists(), "the spare goes with its bundle");
        assert!(!store.delete("c1").unwrap());
        assert!(store.get("c1").unwrap().is_none());
        assert_eq!(store.get("c2").unwrap().unwrap(), b);
    }

    #[test]
    fn ids_that_are_not_file_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(&paths(dir.path()), &Env::default());
        for bad in ["../x", ".hidden", "a/b", ""] {
            assert!(store.put(bad, &SecretBundle::new()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_single_file_is_migrated_and_removed_only_after() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths(dir.path());
        let store = FileStore::new(&paths, &Env::default());
        // An identity, and a secrets.age as earlier versions wrote it.
        store.put("seed", &SecretBundle::new()).unwrap();
        store.delete("seed").unwrap();
        let identity = store.identity(false).unwrap();
        let doc = serde_json::json!({"version": 1, "connections": {
            "a1": {"api_key": "key-a"}, "client-b2": {"client_secret": "cs-b"}
        }});
        let cipher =
            age::encrypt(&identity.to_public(), &serde_json::to_vec(&doc).unwrap()).unwrap();
        std::fs::write(paths.secrets_file(), cipher).unwrap();
        assert_eq!(store.layout().unwrap(), Layout::Single);
        let got = store.get("client-b2").unwrap().unwrap();
        assert_eq!(got.get("client_secret").unwrap().expose(), "cs-b");
        assert!(!paths.secrets_file().exists());
        assert_eq!(
            store
                .get("a1")
                .unwrap()
                .unwrap()
                .get("api_key")
                .unwrap()
                .expose(),
            "key-a"
        );
        assert_eq!(store.layout().unwrap(), Layout::PerConnection { files: 2 });
    }
}

//! A rotated refresh token is never lost. Before a refresh token is spent, the secret store must
//! prove it can take the result (`reserve`); when the save after a refresh still fails (disk
//! full, keychain locked meanwhile), the new tokens go to a 0600 recovery file and the error
//! says exactly where and what to do (`keep`); the next refresh of the connection moves them
//! into the store first (`recover`), under the connection's lock.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, anyhow};

use super::Base;
use crate::core::secret::{Secret, SecretBundle};
use crate::store::fsio;
use crate::store::secrets::SecretStore;

/// The field a reservation write pads the bundle with; never read.
const RESERVE_FIELD: &str = "conn_reserve";
/// How much larger than the current bundle a refreshed one may be (tokens, expiry, padding
/// of the store's format), in bytes.
const RESERVE_BYTES: usize = 8192;

/// Proves that `store` can take `bundle` grown by `RESERVE_BYTES` before the refresh token in
/// it is spent: writes it padded, then as it was (which frees the room again). An error means
/// nothing was sent to the provider.
/// A store that can prove it without writing (the file store) does so: a refresh storm of
/// `conn check` paid two encrypted writes per refresh here.
pub(crate) fn reserve(store: &dyn SecretStore, id: &str, bundle: &SecretBundle) -> Result<()> {
    let len = zeroize::Zeroizing::new(serde_json::to_vec(&bundle.to_json_value())?).len()
        + RESERVE_BYTES
        + 256;
    crate::core::interrupt::critical(|| match store.prove_room(id, len) {
        Some(proved) => proved,
        None => {
            let mut padded = bundle.clone();
            padded.insert(RESERVE_FIELD, Secret::new("x".repeat(RESERVE_BYTES)));
            store.put(id, &padded)?;
            store.put(id, bundle)
        }
    })
    .with_context(|| {
        format!(
            "the refresh token was not spent: conn checks that {} can take the new tokens before it refreshes, and it could not write there",
            store.location()
        )
    })
}

/// How every recovery file's name starts; then the connection's id and `-`.
const PREFIX: &str = "conn-recovery-";

fn prefix(id: &str) -> String {
    format!("{PREFIX}{id}-")
}

/// The recovery files of all connections, listed once and shared by the refreshes of a run
/// (`credentials::Run`): each refresh listed the recovery directories, and with a busy TMPDIR
/// (hundreds of names) that was about 4% of the CPU of a storm of 1,000 refreshes. Listed
/// again when a directory's mtime is not the one seen at the listing, or was too recent at the
/// listing to tell (a file made within the same tick of the file system's clock, which may be
/// as coarse as 2 s, would leave it unchanged).
#[derive(Debug, Default)]
pub(crate) struct Listing(Mutex<Option<Listed>>);

#[derive(Debug)]
struct Listed {
    /// Each directory's mtime before it was listed (`None`: it did not exist).
    mtimes: Vec<Option<SystemTime>>,
    /// Whether every mtime was older than `SETTLED` when the listing was taken.
    settled: bool,
    files: Vec<PathBuf>,
}

/// How old a directory's mtime must be, when it is listed, for the listing to be reused.
const SETTLED: Duration = Duration::from_secs(5);

impl Listing {
    fn files(&self, dirs: &[PathBuf]) -> Vec<PathBuf> {
        let mtimes: Vec<Option<SystemTime>> = dirs
            .iter()
            .map(|d| std::fs::metadata(d).and_then(|m| m.modified()).ok())
            .collect();
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = held.as_ref().filter(|l| l.settled && l.mtimes == mtimes) {
            return l.files.clone();
        }
        let listed_at = SystemTime::now();
        let settled = mtimes
            .iter()
            .flatten()
            .all(|t| listed_at.duration_since(*t).is_ok_and(|age| age > SETTLED));
        let files = list(dirs);
        *held = Some(Listed {
            mtimes,
            settled,
            files: files.clone(),
        });
        files
    }
}

/// The recovery files (any connection's) in `dirs`.
fn list(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(PREFIX) {
                out.push(e.path());
            }
        }
    }
    out
}

/// Where recovery files go, in order: conn's data directory, then `TMPDIR` (or `/tmp`),
/// which is often another file system when the data directory's is full.
fn dirs(ctx: &Base) -> Vec<PathBuf> {
    vec![
        ctx.paths.data_dir.join("recovery"),
        PathBuf::from(ctx.env.get("TMPDIR").unwrap_or("/tmp")),
    ]
}

/// Keeps `next` (the tokens a refresh just returned) in a new 0600 recovery file after the
/// store refused them with `why`, and returns the error that tells the person where it is and
/// how to recover. Never silent: even when no file can be written, the error says so.
pub(crate) fn keep(
    ctx: &Base,
    name: &str,
    id: &str,
    next: &SecretBundle,
    why: anyhow::Error,
) -> anyhow::Error {
    let doc = serde_json::json!({
        "connection": name,
        "id": id,
        "saved_at": crate::core::time::now_rfc3339(),
        "secrets": next.to_json_value(),
    });
    let bytes = zeroize::Zeroizing::new(serde_json::to_vec_pretty(&doc).unwrap_or_default());
    let mut tried = Vec::new();
    for dir in dirs(ctx) {
        match fsio::write_new_private(&dir, &prefix(id), &bytes) {
            Ok(path) => {
                return anyhow!(
                    "the new tokens of {name} could not be saved ({why:#}). The provider has already replaced the old refresh token, so conn kept the new ones in {} (mode 0600, readable only by you). Free space (or fix the secret store), then run 'conn token {name}': conn moves them into the store and deletes that file. Do not delete it before.",
                    path.display()
                );
            }
            Err(e) => tried.push(format!("{}: {e:#}", dir.display())),
        }
    }
    anyhow!(
        "the new tokens of {name} could not be saved ({why:#}), nor kept in a recovery file ({}); the provider has probably replaced the old refresh token, so {name} may need 'conn reauth {name}' once there is space",
        tried.join("; ")
    )
}

/// Moves the newest recovery file of connection `id` into `store` and deletes all of its
/// recovery files; returns the recovered bundle. Files not owned by this user, or readable by
/// others, are ignored (a file planted in a shared `/tmp` must not become the connection's
/// tokens). An error (the store still can't take them) leaves the files in place.
pub(crate) fn recover(
    ctx: &Base,
    store: &dyn SecretStore,
    id: &str,
    listing: Option<&Listing>,
) -> Result<Option<SecretBundle>> {
    let dirs = dirs(ctx);
    let files = match listing {
        Some(l) => l.files(&dirs),
        None => list(&dirs),
    };
    let ours = prefix(id);
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    for path in files {
        if !path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(&ours))
        {
            continue;
        }
        // Gone meanwhile (another process recovered it): nothing to do.
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_file() && fsio::private_and_mine(&meta, &ctx.paths.data_dir) {
            found.push((meta.modified().unwrap_or(std::time::UNIX_EPOCH), path));
        }
    }
    found.sort();
    let Some((_, newest)) = found.last() else {
        return Ok(None);
    };
    let text = zeroize::Zeroizing::new(
        std::fs::read(newest).with_context(|| format!("could not read {}", newest.display()))?,
    );
    let doc: serde_json::Value = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a conn recovery file", newest.display()))?;
    let bundle = SecretBundle::from_json_value(&doc["secrets"])
        .with_context(|| format!("{} is not a conn recovery file", newest.display()))?;
    crate::core::interrupt::critical(|| store.put(id, &bundle)).with_context(|| {
        format!(
            "the tokens kept in {} still could not be saved; free space (or fix the secret store) and run the command again",
            newest.display()
        )
    })?;
    for (_, p) in &found {
        let _ = std::fs::remove_file(p);
    }
    log::debug!("recovered the tokens kept in {}", newest.display());
    Ok(Some(bundle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(dir: &std::path::Path, secs: u64) {
        let t = SystemTime::now() - Duration::from_secs(secs);
        std::fs::File::open(dir).unwrap().set_modified(t).unwrap();
    }

    /// Makes `dir/name` and sets the directory's mtime back, as a file made within one tick of
    /// the file system's clock would leave it.
    fn plant_keeping_mtime(dir: &std::path::Path, name: &str) {
        let mtime = std::fs::metadata(dir).unwrap().modified().unwrap();
        std::fs::write(dir.join(name), "{}").unwrap();
        std::fs::File::open(dir)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
    }

    #[test]
    fn a_listing_is_reused_only_while_its_directories_are_settled_and_unchanged() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("missing"));
        std::fs::create_dir(&a).unwrap();
        let dirs = vec![a.clone(), b.clone()];
        let l = Listing::default();
        std::fs::write(a.join("conn-recovery-x-1.json"), "{}").unwrap();
        std::fs::write(a.join("unrelated"), "").unwrap();
        // Just written: too recent to trust, so each call lists again.
        assert_eq!(l.files(&dirs), [a.join("conn-recovery-x-1.json")]);
        std::fs::write(a.join("conn-recovery-y-1.json"), "{}").unwrap();
        assert_eq!(
            l.files(&dirs).len(),
            2,
            "a recent directory is listed again"
        );
        // Settled: the listing is reused, so a name that appears while the mtime stays the
        // same (planted here, as within one tick of the clock) is not seen...
        age(&a, 60);
        assert_eq!(l.files(&dirs).len(), 2);
        plant_keeping_mtime(&a, "conn-recovery-z-1.json");
        assert_eq!(l.files(&dirs).len(), 2, "the listing was reused");
        // A listing taken while the mtime was recent is not reused, even with the mtime
        // unchanged: the planted name is seen.
        age(&a, 3);
        assert_eq!(l.files(&dirs).len(), 3);
        plant_keeping_mtime(&a, "conn-recovery-w-1.json");
        assert_eq!(
            l.files(&dirs).len(),
            4,
            "a listing of a recent directory is not reused"
        );
        std::fs::remove_file(a.join("conn-recovery-w-1.json")).unwrap();
        // ...while any change to a directory's mtime, or a directory appearing, is.
        age(&a, 30);
        assert_eq!(l.files(&dirs).len(), 3);
        std::fs::create_dir(&b).unwrap();
        std::fs::write(b.join("conn-recovery-x-2.json"), "{}").unwrap();
        age(&b, 60);
        assert_eq!(l.files(&dirs).len(), 4);
    }
}

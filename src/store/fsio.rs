//! Private files done right: 0700 dirs, 0600 files, atomic replace, advisory locks.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};

/// Creates `dir` (and missing parents) readable only by the user.
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder
        .create(dir)
        .with_context(|| format!("could not create directory {}", dir.display()))
}

/// Replaces `path` with `bytes` so that readers see the old file or the new one, never a mix:
/// a 0600 temp file in the same directory, fsync, rename, fsync the directory.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_synced(path, bytes)?;
    if let Some(dir) = path.parent() {
        sync_dir(dir);
    }
    Ok(())
}

/// `write_atomic` without the directory fsync, for writing many files in one directory and
/// syncing it once afterwards (`sync_dir`): each file is the old one or the new one, and the
/// renames are durable after the directory's sync.
pub(crate) fn replace_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("file has no parent directory")?;
    ensure_private_dir(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".conn-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("could not create a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("could not replace {}", path.display()))?;
    Ok(())
}

/// Makes renames and removals in `dir` durable (best effort; not available on every platform).
pub(crate) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// An exclusive advisory lock, held until dropped. Released by the OS if the process dies.
#[derive(Debug)]
pub(crate) struct LockGuard {
    _file: File,
}

pub(crate) fn lock_exclusive(lock_path: &Path) -> Result<LockGuard> {
    if let Some(dir) = lock_path.parent() {
        ensure_private_dir(dir)?;
    }
    let mut opts = OpenOptions::new();
    opts.create(true).truncate(false).write(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let file = opts
        .open(lock_path)
        .with_context(|| format!("could not open lock file {}", lock_path.display()))?;
    file.lock()
        .with_context(|| format!("could not lock {}", lock_path.display()))?;
    Ok(LockGuard { _file: file })
}

/// Reads a file, `None` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("could not read {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn atomic_write_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/x.toml");
        write_atomic(&p, b"a = 1").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"a = 1");
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = fs::metadata(p.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dmode, 0o700);
    }
}

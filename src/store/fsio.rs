//! Private files done right: 0700 dirs, 0600 files, atomic replace, advisory locks.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

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
/// a 0600 temp file in the same directory, fsync, rename, fsync the directory. A symlink is
/// written through (its target is replaced, as dotfile managers expect); a file its owner
/// made read-only is refused, not replaced.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let target = replace_private(path, bytes, None)?;
    if let Some(dir) = target.parent() {
        sync_dir(dir);
    }
    Ok(())
}

/// `write_atomic` without the directory fsync, for writing many files in one directory and
/// syncing it once afterwards (`sync_dir`): each file is the old one or the new one, and the
/// renames are durable after the directory's sync. Writes through a symlink and refuses a
/// read-only file, as `write_atomic` does.
pub(crate) fn replace_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_private(path, bytes, None).map(|_| ())
}

/// `write_atomic` with the file's mtime set to `mtime` before it takes `path`'s place, for a
/// file whose mtime says something (the metadata cache's: when it was last found true).
pub(crate) fn write_atomic_dated(
    path: &Path,
    bytes: &[u8],
    mtime: std::time::SystemTime,
) -> Result<()> {
    let target = replace_private(path, bytes, Some(mtime))?;
    if let Some(dir) = target.parent() {
        sync_dir(dir);
    }
    Ok(())
}

/// The private replace behind `write_atomic`, `replace_synced` and `write_atomic_dated`:
/// through symlinks, a read-only file refused, the directory made 0700; returns the file
/// written.
fn replace_private(
    path: &Path,
    bytes: &[u8],
    mtime: Option<std::time::SystemTime>,
) -> Result<PathBuf> {
    let target = through_links(path)?;
    refuse_read_only(&target)?;
    let dir = target.parent().context("file has no parent directory")?;
    ensure_private_dir(dir)?;
    replace(dir, &target, bytes, None, mtime)?;
    Ok(target)
}

/// Proves that `replace_synced(path, bytes)` with `len` bytes could be done now, changing
/// nothing: `path` (through symlinks) is not read-only, and its file system takes `len` more
/// bytes, written and synced (so a full disk shows here), then freed. The bytes go into
/// `lock`, the lock file held for `path`, when it is on the same file system: a file created
/// and removed for each proof made every later file creation in the directory slower on
/// ext4 without a journal (it skips recently deleted inodes one by one), and a refresh storm
/// of `conn check` makes a thousand.
pub(crate) fn prove_room(path: &Path, len: usize, lock: &LockGuard) -> Result<()> {
    #[cfg(unix)]
    use std::os::unix::fs::MetadataExt;
    let target = through_links(path)?;
    refuse_read_only(&target)?;
    let dir = target.parent().context("file has no parent directory")?;
    ensure_private_dir(dir)?;
    let zeros = vec![0; len];
    #[cfg(not(unix))]
    let _ = lock;
    #[cfg(unix)]
    if fs::metadata(dir)?.dev() == lock.file.metadata()?.dev() {
        use std::os::unix::fs::FileExt;
        let f = &lock.file;
        let proved = f
            .write_all_at(&zeros, 0)
            .and_then(|()| f.sync_data())
            .with_context(|| format!("no room for {len} bytes in {}", dir.display()));
        f.set_len(0)?;
        return proved;
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".conn-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("could not create a temporary file in {}", dir.display()))?;
    tmp.write_all(&zeros)?;
    tmp.as_file().sync_all()?;
    tmp.close()
        .with_context(|| format!("could not remove a temporary file in {}", dir.display()))
}

/// `write_atomic` for a file meant for other readers, such as a metrics file that a collector
/// running as another user reads: the file gets `mode` (e.g. 0o644), and the directory must
/// exist already (it is someone else's, so conn neither creates it nor changes its mode).
pub(crate) fn write_atomic_shared(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if d.as_os_str().is_empty() => Path::new("."),
        Some(d) => d,
        None => anyhow::bail!("{} has no parent directory", path.display()),
    };
    if !dir.is_dir() {
        anyhow::bail!("directory {} does not exist", dir.display());
    }
    replace(dir, path, bytes, Some(mode), None)
}

/// Temp file in `dir` (0600, or `mode`; mtime `mtime` when given), fsync, rename over `path`.
fn replace(
    dir: &Path,
    path: &Path,
    bytes: &[u8],
    mode: Option<u32>,
    mtime: Option<std::time::SystemTime>,
) -> Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".conn-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("could not create a temporary file in {}", dir.display()))?;
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.write_all(bytes)?;
    if let Some(t) = mtime {
        tmp.as_file().set_modified(t)?;
    }
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

/// The file a chain of symlinks at `path` ends at (`path` itself when it is none).
fn through_links(path: &Path) -> Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = fs::read_link(&p)
                    .with_context(|| format!("could not read the link {}", p.display()))?;
                p = match p.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            _ => return Ok(p),
        }
    }
    bail!("{}: too many levels of symbolic links", path.display())
}

/// Refuses to replace a file whose owner may not write it (`chmod 400`): the person meant it
/// to stay as it is. Checked by mode, so it holds for root too.
fn refuse_read_only(path: &Path) -> Result<()> {
    let Ok(meta) = fs::metadata(path) else {
        return Ok(());
    };
    #[cfg(unix)]
    let read_only = {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o200 == 0
    };
    #[cfg(not(unix))]
    let read_only = meta.permissions().readonly();
    if read_only {
        bail!(
            "{} is read-only, so conn has not changed it; make it writable (chmod u+w {}) to let conn save",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

/// The mode of `path` when users other than its owner may read or write it (unix), for the
/// warning every command gives; `None` when it is private or does not exist.
pub(crate) fn exposed_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Writes `bytes` to a new file in `dir` (created 0700 when missing) named `prefix` + random +
/// `.json`, created exclusively with mode 0600 and fsynced; returns its path. For recovery
/// files, which must never replace anything.
pub(crate) fn write_new_private(dir: &Path, prefix: &str, bytes: &[u8]) -> Result<PathBuf> {
    ensure_private_dir(dir)?;
    let mut f = tempfile::Builder::new()
        .prefix(prefix)
        .suffix(".json")
        .tempfile_in(dir)
        .with_context(|| format!("could not create a file in {}", dir.display()))?;
    let written = f
        .write_all(bytes)
        .and_then(|()| f.as_file().sync_all())
        .with_context(|| format!("could not write {}", f.path().display()));
    written?;
    let (_, path) = f
        .keep()
        .with_context(|| format!("could not keep a file in {}", dir.display()))?;
    Ok(path)
}

/// Whether a file (by its metadata) has the owner of `reference` and no group or other
/// access: a file conn itself wrote privately.
pub(crate) fn private_and_mine(meta: &fs::Metadata, reference: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let owner = fs::metadata(reference).map(|m| m.uid()).ok();
        owner == Some(meta.uid()) && meta.permissions().mode() & 0o077 == 0
    }
    #[cfg(not(unix))]
    {
        let _ = (meta, reference);
        true
    }
}

/// An exclusive advisory lock, held until dropped. Released by the OS if the process dies.
#[derive(Debug)]
pub(crate) struct LockGuard {
    file: File,
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
    Ok(LockGuard { file })
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

    #[test]
    fn proving_room_changes_nothing_and_refuses_a_read_only_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s").join("b.age");
        write_atomic(&file, b"before").unwrap();
        let lock_path = dir.path().join("s").join(".locks").join("b.lock");
        let lock = lock_exclusive(&lock_path).unwrap();
        prove_room(&file, 9000, &lock).unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"before");
        assert_eq!(
            fs::metadata(&lock_path).unwrap().len(),
            0,
            "the room is freed"
        );
        let names: Vec<_> = fs::read_dir(file.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no file left behind: {names:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&file, fs::Permissions::from_mode(0o400)).unwrap();
            assert!(prove_room(&file, 10, &lock).is_err());
        }
    }

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

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

/// `write_atomic` (the directory synced only when it says so, see `Synced`) that, once a file
/// has been replaced twice, neither creates nor deletes a file: `bytes` go into a spare file next to `path` (`.NAME.spare`, 0600, made when missing),
/// which is synced and then swapped with `path` in one `renameat2(RENAME_EXCHANGE)`; once the
/// directory is synced, the spare, now holding the old contents, is emptied (or unlinked, when
/// another name links to it: a hard-linked backup keeps its copy). A reader that opened the old
/// file just before may find it emptied under it: it reads again when the file it read is no
/// longer the one at `path` (`read_settled`). A symlink is written through and a read-only file
/// refused, as by `write_atomic`. The caller holds `path`'s lock (its writers share the
/// spare). Where there is no exchange (not Linux, a file system without it) or no `path` yet,
/// the spare is renamed over `path` instead.
///
/// Why: every new file on ext4 without a journal skips, one by one, each inode freed in the
/// last minute (five, while its inode table is not yet written out), under the directory's
/// lock; a refresh storm of `conn check` replaced a thousand bundles at once, so each new file
/// scanned past the ones before it and the workers queued on `secrets/` (see ARCHITECTURE).
pub(crate) fn replace_swapping(path: &Path, bytes: &[u8]) -> Result<Synced> {
    let target = through_links(path)?;
    refuse_read_only(&target)?;
    let dir = target.parent().context("file has no parent directory")?;
    ensure_private_dir(dir)?;
    let spare = spare_of(&target)?;
    let mut f = open_spare(&spare)
        .and_then(|f| f.set_len(0).map(|()| f))
        .with_context(|| format!("could not write {}", spare.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("could not write {}", spare.display()))?;
    drop(f);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        use rustix::io::Errno;
        match renameat_with(CWD, &spare, CWD, &target, RenameFlags::EXCHANGE) {
            Ok(()) => {
                // The exchange is made durable before the old contents are emptied: on a file
                // system that orders nothing (ext4 without a journal) the emptied inode could
                // otherwise reach the disk while the directory still named it as the bundle.
                sync_dir(dir);
                // Emptied, not removed: the next replace reuses it. Not synced: a spare that
                // still holds the old (encrypted) contents after a crash is overwritten next time.
                if let Ok(old) = open_spare(&spare) {
                    let _ = old.set_len(0);
                }
                return Ok(Synced::Directory);
            }
            // No file to exchange with yet, or a file system without the exchange.
            Err(Errno::NOENT | Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {}
            Err(e) => {
                return Err(std::io::Error::from(e))
                    .with_context(|| format!("could not replace {}", target.display()));
            }
        }
    }
    fs::rename(&spare, &target)
        .with_context(|| format!("could not replace {}", target.display()))?;
    Ok(Synced::File)
}

/// What `replace_swapping` made durable: the new file always; its directory entry too when the
/// bundle was swapped (else the caller syncs the directory, once for many files if it writes
/// many).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(crate) enum Synced {
    File,
    Directory,
}

/// Where `replace_swapping` keeps the spare of `path` (through symlinks, as it writes):
/// `.NAME.spare` next to the file.
pub(crate) fn spare_of(path: &Path) -> Result<PathBuf> {
    let target = through_links(path)?;
    let name = target.file_name().context("file has no name")?;
    Ok(target.with_file_name(format!(".{}.spare", name.to_string_lossy())))
}

/// The spare of `replace_swapping`, opened for writing (its contents left as they are):
/// created 0600, made 0600 again if someone loosened it, never through a symlink, and made anew
/// when another name links to it (the caller empties it, which must not reach a hard-linked
/// copy).
fn open_spare(spare: &Path) -> std::io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        opts.mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
        let mut f = opts.open(spare)?;
        let mut meta = f.metadata()?;
        if meta.nlink() > 1 {
            fs::remove_file(spare)?;
            f = opts.open(spare)?;
            meta = f.metadata()?;
        }
        if meta.permissions().mode() & 0o777 != 0o600 {
            f.set_permissions(fs::Permissions::from_mode(0o600))?;
        }
        Ok(f)
    }
    #[cfg(not(unix))]
    opts.open(spare)
}

/// `read_optional` for a file that `replace_swapping` replaces: when `accept` refuses what was
/// read and the file at `path` is no longer the one read (a writer swapped it meanwhile and
/// emptied or reused the old one), reads again, a few times. Returns the last refusal.
pub(crate) fn read_settled<T>(
    path: &Path,
    mut accept: impl FnMut(&[u8]) -> Result<T>,
) -> Result<Option<T>> {
    let mut tries = 0;
    loop {
        tries += 1;
        let mut f = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
        };
        let mut bytes = zeroize::Zeroizing::new(Vec::new());
        std::io::Read::read_to_end(&mut f, &mut bytes)
            .with_context(|| format!("could not read {}", path.display()))?;
        match accept(&bytes) {
            Ok(v) => return Ok(Some(v)),
            Err(_) if tries < 4 && !same_file(&f, path) => {
                log::debug!(
                    "{} was replaced while it was read; reading it again",
                    path.display()
                );
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether `path` still names the file `f` has open.
fn same_file(f: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (f.metadata(), fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (f, path);
        true
    }
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

/// The private replace behind `write_atomic` and `write_atomic_dated`:
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

/// Proves that `replace_swapping(path, bytes)` with `len` bytes could be done now, changing
/// nothing: `path` (through symlinks) is not read-only, and its file system takes `len` more
/// bytes (allocated, so a full disk or quota shows here), then freed. The bytes go into
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
    #[cfg(not(unix))]
    let _ = lock;
    #[cfg(unix)]
    if fs::metadata(dir)?.dev() == lock.file.metadata()?.dev() {
        let f = &lock.file;
        let proved = allocate(f, len)
            .with_context(|| format!("no room for {len} bytes in {}", dir.display()));
        f.set_len(0)?;
        return proved;
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".conn-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("could not create a temporary file in {}", dir.display()))?;
    tmp.write_all(&vec![0; len])?;
    tmp.as_file().sync_all()?;
    tmp.close()
        .with_context(|| format!("could not remove a temporary file in {}", dir.display()))
}

/// Makes `f` (empty) own `len` bytes on its file system: `fallocate(2)`, which reserves the
/// blocks without writing them (ENOSPC and quotas show at once), or, where the file system has
/// no fallocate (EOPNOTSUPP), `len` zeros written and synced. Each refresh of a storm of
/// `conn check` proves room; the written and synced way cost a disk flush before every token
/// request.
#[cfg(unix)]
fn allocate(f: &File, len: usize) -> std::io::Result<()> {
    use rustix::fs::{FallocateFlags, fallocate};
    match fallocate(f, FallocateFlags::empty(), 0, len as u64) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::OPNOTSUPP || e == rustix::io::Errno::NOSYS => {
            use std::os::unix::fs::FileExt;
            f.write_all_at(&vec![0; len], 0)?;
            f.sync_data()
        }
        Err(e) => Err(e.into()),
    }
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

    #[cfg(target_os = "linux")]
    #[test]
    fn swapping_replaces_reuse_two_files_and_keep_no_old_contents() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("b.age");
        let spare = spare_of(&file).unwrap();
        assert_eq!(spare, dir.path().join(".b.age.spare"));
        // The first write has nothing to exchange with: the spare becomes the file.
        assert_eq!(replace_swapping(&file, b"one").unwrap(), Synced::File);
        assert_eq!(fs::read(&file).unwrap(), b"one");
        assert!(!spare.exists());
        assert_eq!(replace_swapping(&file, b"two").unwrap(), Synced::Directory);
        let inodes = |paths: &[&Path]| -> std::collections::BTreeSet<u64> {
            paths
                .iter()
                .map(|p| fs::metadata(p).unwrap().ino())
                .collect()
        };
        let pair = inodes(&[&file, &spare]);
        for (i, text) in ["three", "four", "five"].iter().enumerate() {
            // A spare someone loosened is private again before it holds anything.
            if i == 1 {
                fs::set_permissions(&spare, fs::Permissions::from_mode(0o644)).unwrap();
            }
            assert_eq!(
                replace_swapping(&file, text.as_bytes()).unwrap(),
                Synced::Directory
            );
            assert_eq!(fs::read(&file).unwrap(), text.as_bytes());
            assert_eq!(
                fs::read(&spare).unwrap(),
                b"",
                "the old contents are not kept"
            );
            assert_eq!(inodes(&[&file, &spare]), pair, "no file made or removed");
            for p in [&file, &spare] {
                assert_eq!(fs::metadata(p).unwrap().permissions().mode() & 0o777, 0o600);
            }
        }
        // A read-only file is refused, as by every replace.
        fs::set_permissions(&file, fs::Permissions::from_mode(0o400)).unwrap();
        assert!(replace_swapping(&file, b"six").is_err());
        assert_eq!(fs::read(&file).unwrap(), b"five");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_hard_linked_copy_of_a_swapped_file_keeps_its_contents() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("b.age");
        let _ = replace_swapping(&file, b"one").unwrap();
        let _ = replace_swapping(&file, b"two").unwrap();
        let backup = dir.path().join("backup.age");
        fs::hard_link(&file, &backup).unwrap();
        assert_eq!(
            replace_swapping(&file, b"three").unwrap(),
            Synced::Directory
        );
        assert_eq!(fs::read(&file).unwrap(), b"three");
        assert_eq!(
            fs::read(&backup).unwrap(),
            b"two",
            "the backup is not emptied"
        );
        assert_eq!(fs::read(spare_of(&file).unwrap()).unwrap(), b"");
        assert_eq!(replace_swapping(&file, b"four").unwrap(), Synced::Directory);
        assert_eq!(fs::read(&backup).unwrap(), b"two", "nor reused");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_read_that_meets_a_swap_reads_again() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("b.age");
        let _ = replace_swapping(&file, b"old").unwrap();
        let _ = replace_swapping(&file, b"old").unwrap();
        let mut seen = Vec::new();
        let got = read_settled(&file, |bytes| {
            seen.push(bytes.to_vec());
            if seen.len() == 1 {
                // A writer swaps the file in while it is read; what was read is refused (as
                // age refuses a file emptied under it).
                let _ = replace_swapping(&file, b"new").unwrap();
                bail!("refused");
            }
            Ok(bytes.to_vec())
        })
        .unwrap();
        assert_eq!(got.as_deref(), Some(&b"new"[..]));
        assert_eq!(seen.len(), 2);
        // A refusal of the file that is still in place is an error, not a loop.
        let mut calls = 0;
        let err = read_settled(&file, |_| -> Result<()> {
            calls += 1;
            bail!("refused")
        });
        assert!(err.is_err());
        assert_eq!(calls, 1);
        assert!(
            read_settled(&dir.path().join("none"), |_| Ok(()))
                .unwrap()
                .is_none()
        );
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

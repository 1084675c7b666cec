//! `.connections.cache.json`: a JSON copy of a big `connections.toml`, which parses an order
//! of magnitude faster than the TOML (about a second at 10,000 connections), and whose sorted
//! lines let one connection be found with a binary search of the file (about 14 short reads at
//! 10,000) instead of reading all of it.
//!
//! Format: JSON lines. The first is `{"source_hash":"<16 hex>","source":{stamp},"version":N,…}`
//! with everything but the connections (settings, clients, team stores), then one
//! `["NAME",{connection}]` per connection, sorted by name (byte order), so one connection is
//! added, removed or renamed by editing one line and found by bisecting the file.
//!
//! # When the cache is believed
//! It names the version of connections.toml it was made from twice: the xxh3 hash of its bytes,
//! and its `Stamp` (device, inode, size, mtime and ctime to the nanosecond). It is only ever
//! written from a file that parsed, so a matching cache also proves the file parses, which lets
//! `conn new`/`rm`/`rename` edit the TOML as text (`metadata_text`).
//! - The hash is always enough, whoever changed the file and however (a hand edit of the same
//!   size and mtime included); checking it means reading the whole file (a fraction of a
//!   millisecond per MB).
//! - The stamp alone is believed only when the file had already been unchanged for `SETTLE` at
//!   the moment the cache's content was last checked against the file's bytes; the cache file's
//!   mtime records that moment. A program can set a file's mtime but not its ctime, and any
//!   write after that moment gives the file a ctime later than the stamp's, so even an edit
//!   that restores size and mtime shows. `SETTLE` covers the coarseness of timestamps (a few ms
//!   on ext4 and tmpfs, 1 s on HFS+, 2 s on FAT) and a little clock skew on network file
//!   systems. Within `SETTLE` of a change the hash decides; the first command after it that
//!   checks the hash moves the cache's mtime forward (settles it), and later ones read no byte
//!   of connections.toml.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

use super::bisect::{self, FileLines, Lines};
use super::fsio;

/// How long connections.toml must have been unchanged before its stamp alone is believed.
pub(crate) const SETTLE: Duration = Duration::from_secs(2);

/// What identifies one version of a file without reading it (unix; elsewhere there is none and
/// the hash always decides): device, inode, size in bytes, and mtime and ctime as (seconds,
/// nanoseconds) since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    pub(crate) fn of(m: &std::fs::Metadata) -> Option<Stamp> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Some(Stamp {
                dev: m.dev(),
                ino: m.ino(),
                len: m.size(),
                mtime: (m.mtime(), m.mtime_nsec()),
                ctime: (m.ctime(), m.ctime_nsec()),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = m;
            None
        }
    }

    fn of_path(path: &Path) -> Option<Stamp> {
        Stamp::of(&std::fs::metadata(path).ok()?)
    }

    /// Whether the file's last change (its ctime) was more than `SETTLE` before `at`.
    fn settled_before(&self, at: SystemTime) -> bool {
        let (Ok(s), Ok(ns)) = (u64::try_from(self.ctime.0), u32::try_from(self.ctime.1)) else {
            return false;
        };
        let changed = UNIX_EPOCH + Duration::new(s, ns);
        changed + SETTLE < at
    }
}

/// One version of connections.toml: its bytes, its stamp (`None` when it changed while being
/// read, or on platforms without one), and a time no later than the moment it was read.
#[derive(Debug)]
pub(crate) struct Source {
    pub bytes: Vec<u8>,
    pub stamp: Option<Stamp>,
    pub read_at: SystemTime,
}

impl Source {
    /// Reads `path`; `None` when it does not exist.
    pub(crate) fn read(path: &Path) -> anyhow::Result<Option<Source>> {
        use anyhow::Context;
        let read_at = SystemTime::now();
        let mut f = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
        };
        let before = f.metadata().ok().and_then(|m| Stamp::of(&m));
        let mut bytes = Vec::with_capacity(before.map_or(0, |s| s.len as usize));
        f.read_to_end(&mut bytes)
            .with_context(|| format!("could not read {}", path.display()))?;
        let after = f.metadata().ok().and_then(|m| Stamp::of(&m));
        let stamp = before.filter(|b| Some(*b) == after && b.len == bytes.len() as u64);
        Ok(Some(Source {
            bytes,
            stamp,
            read_at,
        }))
    }

    /// The version conn itself just wrote to `path`: `bytes`, stamped now, with `before` a time
    /// taken before the write began (so the stamp is not believed until the file has settled
    /// and a later command checked its hash).
    pub(crate) fn written(bytes: Vec<u8>, path: &Path, before: SystemTime) -> Source {
        Source {
            stamp: Stamp::of_path(path).filter(|s| s.len == bytes.len() as u64),
            bytes,
            read_at: before,
        }
    }

    pub(crate) fn hash(&self) -> u64 {
        content_hash(&self.bytes)
    }
}

/// The hash of a file's contents that the cache names (xxh3, 64 bits).
pub(crate) fn content_hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// What the cache holds: the format version, everything else but the connections (`top`, a
/// struct of named fields), and the connections by name (generic so that this module does not
/// depend on `metadata`).
#[derive(Debug, Clone)]
pub(crate) struct Parts<T, K> {
    pub version: u32,
    pub top: T,
    pub connections: BTreeMap<String, K>,
}

#[derive(Serialize, Deserialize)]
struct Header<T> {
    source_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<Stamp>,
    version: u32,
    #[serde(flatten)]
    top: T,
}

/// The cache file next to `connections.toml`.
#[derive(Debug, Clone)]
pub(crate) struct Cache {
    path: PathBuf,
}

/// The cache file opened, with its first line read.
struct Opened<T> {
    file: File,
    /// When its content was last checked against connections.toml (its mtime).
    checked_at: SystemTime,
    head: Header<T>,
    /// Where the connection lines start, and the file's length.
    body: u64,
    len: u64,
}

impl<T: DeserializeOwned> Opened<T> {
    /// The connection lines.
    fn rest(&mut self) -> Option<String> {
        self.file.seek(SeekFrom::Start(self.body)).ok()?;
        let mut rest = String::with_capacity(self.len.saturating_sub(self.body) as usize);
        self.file.read_to_string(&mut rest).ok()?;
        Some(rest)
    }

    /// Whether the cache may be believed for the file whose stamp is now `now` without reading
    /// it (see the module doc).
    fn settled_for(&self, now: Option<Stamp>) -> bool {
        match (self.head.source, now) {
            (Some(made_from), Some(now)) => made_from == now && now.settled_before(self.checked_at),
            _ => false,
        }
    }

    /// Records that the cache was found true to `src` (by its hash): when the file had settled
    /// by then, the cache's mtime moves to `src.read_at`, so later commands believe the stamp.
    /// A cache made from the same bytes under another stamp (the file was copied, or restored
    /// from a backup) is rewritten with `src`'s stamp, once.
    fn settle(&mut self, src: &Source, cache: &Cache) {
        let Some(s) = src.stamp.filter(|s| s.settled_before(src.read_at)) else {
            return;
        };
        if self.head.source == Some(s) {
            if self.checked_at < src.read_at {
                let _ = self.file.set_modified(src.read_at);
            }
            return;
        }
        let mut text = String::new();
        if self.file.seek(SeekFrom::Start(0)).is_err()
            || self.file.read_to_string(&mut text).is_err()
        {
            return;
        }
        if let (Some(mut out), Some((_, rest))) = (rehead(&text, src), text.split_once('\n')) {
            out.push_str(rest);
            cache.put(&out, src.read_at);
        }
    }
}

impl Cache {
    pub(crate) fn new(path: PathBuf) -> Self {
        Cache { path }
    }

    fn open<T: DeserializeOwned>(&self) -> Option<Opened<T>> {
        let mut file = File::open(&self.path).ok()?;
        let meta = file.metadata().ok()?;
        let (first, body) = FileLines(&mut file).line_at(0)?;
        let head: Header<T> = serde_json::from_str(&first).ok()?;
        Some(Opened {
            checked_at: meta.modified().ok()?,
            len: meta.len(),
            file,
            head,
            body,
        })
    }

    /// Everything, when the cache's stamp shows it was made from the current version of
    /// `source` (no byte of `source` is read).
    /// Also returns the content hash of `source` it was made from.
    pub(crate) fn read_settled<T, K>(&self, source: &Path) -> Option<(Parts<T, K>, u64)>
    where
        T: DeserializeOwned,
        K: DeserializeOwned,
    {
        let now = Stamp::of_path(source)?;
        let mut opened = self.open::<T>()?;
        if !opened.settled_for(Some(now)) {
            return None;
        }
        log::debug!("{}: believed by the file's stamp", self.path.display());
        let hash = u64::from_str_radix(&opened.head.source_hash, 16).ok()?;
        let rest = opened.rest()?;
        Some((parts(opened.head, &rest)?, hash))
    }

    /// Everything, when the cache was made from `src`'s bytes.
    pub(crate) fn read<T, K>(&self, src: &Source) -> Option<Parts<T, K>>
    where
        T: DeserializeOwned,
        K: DeserializeOwned,
    {
        let mut opened = self.open::<T>()?;
        if opened.head.source_hash != hex(src.hash()) {
            return None;
        }
        opened.settle(src, self);
        let rest = opened.rest()?;
        parts(opened.head, &rest)
    }

    /// The version, `top` and those of connections `names` that exist, in the current version
    /// of `source`, each read with a binary search of the cache's lines, with the hash of
    /// `source` they were read from (`Parts::connections` holds the ones found); `None` when
    /// the cache cannot be believed for it without reading the whole of `source` (see the
    /// module doc: within `SETTLE` of a change the bytes are read and hashed here, once).
    pub(crate) fn find<T, K>(&self, source: &Path, names: &[&str]) -> Option<(Parts<T, K>, u64)>
    where
        T: DeserializeOwned,
        K: DeserializeOwned,
    {
        let now = Stamp::of_path(source)?;
        let mut opened = self.open::<T>()?;
        if !opened.settled_for(Some(now)) {
            // Too soon after a change, or made under another stamp: the hash decides.
            let src = Source::read(source).ok()??;
            if opened.head.source_hash != hex(src.hash()) {
                return None;
            }
            opened.settle(&src, self);
            log::debug!("{}: believed by its hash", self.path.display());
        } else {
            log::debug!("{}: believed by the file's stamp", self.path.display());
        }
        let hash = u64::from_str_radix(&opened.head.source_hash, 16).ok()?;
        let (body, len) = (opened.body, opened.len);
        let mut lines = FileLines(&mut opened.file);
        let mut connections = BTreeMap::new();
        for name in names {
            if let Ok(found) = bisect::search(&mut lines, body, len, name, name_of)? {
                let (n, conn) = serde_json::from_str::<(String, K)>(&found.line).ok()?;
                connections.insert(n, conn);
            }
        }
        let parts = Parts {
            version: opened.head.version,
            top: opened.head.top,
            connections,
        };
        Some((parts, hash))
    }

    /// The cache's text, when it was made from `src`'s bytes.
    pub(crate) fn text_for(&self, src: &Source) -> Option<String> {
        let mut opened = self.open::<IgnoredAny>()?;
        if opened.head.source_hash != hex(src.hash()) {
            return None;
        }
        opened.settle(src, self);
        opened.file.seek(SeekFrom::Start(0)).ok()?;
        let mut text = String::new();
        opened.file.read_to_string(&mut text).ok()?;
        Some(text)
    }

    /// Writes the copy of `parts`, made from `src` (best effort: without the cache conn is only
    /// slower).
    pub(crate) fn write<T: Serialize, K: Serialize>(&self, src: &Source, parts: &Parts<T, &K>) {
        // Serialized straight from the caller's values, line by line (a BTreeMap: sorted by
        // name): no second copy of a big store.
        let Some(mut out) = header(src, parts.version, &parts.top) else {
            return;
        };
        for (name, conn) in &parts.connections {
            match line(name, conn) {
                Some(l) => out.push_str(&l),
                None => return,
            }
        }
        self.put(&out, src.read_at);
    }

    /// Installs `text` (an edit of the cache, made for `src`), or forgets the cache when there
    /// is none.
    pub(crate) fn put_or_forget(&self, text: Option<String>, src: &Source) {
        match text {
            Some(t) => self.put(&t, src.read_at),
            None => {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }

    /// Replaces the cache with `text`, dated `checked_at` (see the module doc).
    fn put(&self, text: &str, checked_at: SystemTime) {
        let _ = fsio::write_atomic_dated(&self.path, text.as_bytes(), checked_at);
    }
}

/// A cache's connection lines parsed, under `head`.
fn parts<T, K: DeserializeOwned>(head: Header<T>, body: &str) -> Option<Parts<T, K>> {
    let mut connections = BTreeMap::new();
    for line in body.lines() {
        let (name, conn): (String, K) = serde_json::from_str(line).ok()?;
        connections.insert(name, conn);
    }
    Some(Parts {
        version: head.version,
        top: head.top,
        connections,
    })
}

/// The connection name a cache line is about.
fn name_of(line: &str) -> Option<String> {
    serde_json::from_str::<(String, IgnoredAny)>(line)
        .ok()
        .map(|(n, _)| n)
}

/// `cache` (a cache's text) for `src`, with connection `name` added in its place.
pub(crate) fn insert<K: Serialize>(
    cache: &str,
    src: &Source,
    name: &str,
    conn: &K,
) -> Option<String> {
    let (first, _) = cache.split_once('\n')?;
    let body = first.len() as u64 + 1;
    let at =
        bisect::search(&mut { cache }, body, cache.len() as u64, name, name_of)?.err()? as usize;
    let mut out = rehead(cache, src)?;
    out.push_str(&cache[body as usize..at]);
    out.push_str(&line(name, conn)?);
    out.push_str(&cache[at..]);
    Some(out)
}

/// `cache` for `src`, without connection `name`.
pub(crate) fn remove(cache: &str, src: &Source, name: &str) -> Option<String> {
    let (before, _, after) = split_at_line(cache, name)?;
    let mut out = rehead(cache, src)?;
    out.push_str(before);
    out.push_str(after);
    Some(out)
}

/// `cache` for `src`, with connection `old` named `new` (in its sorted place) and changed by
/// `change`.
pub(crate) fn rename<K: Serialize + DeserializeOwned>(
    cache: &str,
    src: &Source,
    old: &str,
    new: &str,
    change: impl FnOnce(&mut K),
) -> Option<String> {
    let (before, this, after) = split_at_line(cache, old)?;
    let (_, mut conn): (String, K) = serde_json::from_str(this).ok()?;
    change(&mut conn);
    let first = cache.split_once('\n')?.0;
    let without = format!("{first}\n{before}{after}");
    insert(&without, src, new, &conn)
}

/// One change for `edit_many`, meaning what `insert`, `remove` and `rename` do.
pub(crate) enum CacheEdit<'a, K> {
    Insert {
        name: &'a str,
        conn: &'a K,
    },
    Remove {
        name: &'a str,
    },
    Rename {
        old: &'a str,
        new: &'a str,
        change: &'a dyn Fn(&mut K),
    },
}

/// `cache` for `src` with `edits` made in turn, as calls of `insert`, `remove` and `rename`
/// one after another would make them, with one copy of the cache (a fold of the journal: 32
/// edits of a 3.2 MB cache). `None` when an edit does not apply (no line to remove or rename).
pub(crate) fn edit_many<K: Serialize + DeserializeOwned + Clone>(
    cache: &str,
    src: &Source,
    edits: &[CacheEdit<'_, K>],
) -> Option<String> {
    let (first, _) = cache.split_once('\n')?;
    let base = first.len() as u64 + 1;
    let len = cache.len() as u64;
    let find = |name: &str| bisect::search(&mut { cache }, base, len, name, name_of);
    // What each name touched ends up as: a line, or none.
    let mut net: BTreeMap<&str, Option<K>> = BTreeMap::new();
    for e in edits {
        match *e {
            CacheEdit::Insert { name, conn } => {
                net.insert(name, Some(conn.clone()));
            }
            CacheEdit::Remove { name } => {
                let there = match net.get(name) {
                    Some(v) => v.is_some(),
                    None => find(name)?.is_ok(),
                };
                if !there {
                    return None;
                }
                net.insert(name, None);
            }
            CacheEdit::Rename { old, new, change } => {
                let mut conn = match net.get(old) {
                    Some(v) => v.clone()?,
                    None => {
                        serde_json::from_str::<(String, K)>(&find(old)?.ok()?.line)
                            .ok()?
                            .1
                    }
                };
                change(&mut conn);
                net.insert(old, None);
                net.insert(new, Some(conn));
            }
        }
    }
    // Names in byte order are lines in file order: one pass.
    let mut out = rehead(cache, src)?;
    let mut at = base as usize;
    for (name, conn) in &net {
        let (start, end) = match find(name)? {
            Ok(found) => {
                let start = found.start as usize;
                let end = cache[start..]
                    .find('\n')
                    .map_or(cache.len(), |e| start + e + 1);
                (start, end)
            }
            Err(pos) => (pos as usize, pos as usize),
        };
        out.push_str(&cache[at..start]);
        if let Some(c) = conn {
            out.push_str(&line(name, c)?);
        }
        at = end;
    }
    out.push_str(&cache[at..]);
    Some(out)
}

/// The connection lines before `name`'s, its line, and the lines after it.
fn split_at_line<'c>(cache: &'c str, name: &str) -> Option<(&'c str, &'c str, &'c str)> {
    let (first, body) = cache.split_once('\n')?;
    let base = first.len() as u64 + 1;
    let found = bisect::search(&mut { cache }, base, cache.len() as u64, name, name_of)?.ok()?;
    let start = (found.start - base) as usize;
    let end = body[start..]
        .find('\n')
        .map_or(body.len(), |e| start + e + 1);
    Some((&body[..start], &body[start..end], &body[end..]))
}

/// The cache's first line, made for `src`.
fn rehead(cache: &str, src: &Source) -> Option<String> {
    let first = cache.lines().next()?;
    let head: Header<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(first).ok()?;
    header(src, head.version, &head.top)
}

fn header<T: Serialize>(src: &Source, version: u32, top: &T) -> Option<String> {
    let head = Header {
        source_hash: hex(src.hash()),
        source: src.stamp,
        version,
        top,
    };
    let mut s = serde_json::to_string(&head).ok()?;
    s.push('\n');
    Some(s)
}

fn line<K: Serialize>(name: &str, conn: &K) -> Option<String> {
    let mut s = serde_json::to_string(&(name, conn)).ok()?;
    s.push('\n');
    Some(s)
}

fn hex(hash: u64) -> String {
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct C {
        id: u32,
        at: String,
    }

    fn c(id: u32) -> C {
        C {
            id,
            at: "t0".into(),
        }
    }

    #[test]
    fn many_edits_at_once_mean_the_same_as_one_after_another() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connections.toml");
        std::fs::write(&path, "x").unwrap();
        let src = Source::written(b"x".to_vec(), &path, SystemTime::now());
        let mut cache = header(&src, 1, &serde_json::json!({})).unwrap();
        for (n, id) in [("b", 2), ("d", 4), ("f", 6)] {
            cache.push_str(&line(n, &c(id)).unwrap());
        }
        let stamp = |k: &mut C| k.at = "t1".into();
        let (a, e, g) = (c(1), c(5), c(7));
        type E<'a> = CacheEdit<'a, C>;
        let plans: Vec<Vec<E<'_>>> = vec![
            vec![
                E::Insert {
                    name: "a",
                    conn: &a,
                },
                E::Remove { name: "d" },
            ],
            vec![
                E::Rename {
                    old: "b",
                    new: "z",
                    change: &stamp,
                },
                E::Insert {
                    name: "b",
                    conn: &e,
                },
                E::Rename {
                    old: "z",
                    new: "c",
                    change: &stamp,
                },
                E::Remove { name: "f" },
                E::Insert {
                    name: "g",
                    conn: &g,
                },
                E::Rename {
                    old: "g",
                    new: "a",
                    change: &stamp,
                },
            ],
            vec![
                E::Insert {
                    name: "e",
                    conn: &e,
                },
                E::Remove { name: "e" },
            ],
            vec![E::Remove { name: "nope" }],
            vec![E::Rename {
                old: "nope",
                new: "x",
                change: &stamp,
            }],
        ];
        for plan in &plans {
            let mut one_by_one = Some(cache.clone());
            for e in plan {
                one_by_one = one_by_one.and_then(|t| match *e {
                    E::Insert { name, conn } => insert(&t, &src, name, conn),
                    E::Remove { name } => remove(&t, &src, name),
                    E::Rename { old, new, change } => rename(&t, &src, old, new, change),
                });
            }
            assert_eq!(edit_many(&cache, &src, plan), one_by_one);
        }
        assert_eq!(
            edit_many::<C>(&cache, &src, &[]).as_deref(),
            Some(cache.as_str())
        );
    }
}

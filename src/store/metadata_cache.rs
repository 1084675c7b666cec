//! `.connections.cache.json`: a JSON copy of a big `connections.toml`, which parses an order
//! of magnitude faster (the TOML parse of 10,000 connections takes about a second). It names
//! the hash of the exact bytes it was made from and is used only when that is the file's
//! current hash, whoever changed the file (a hand edit of the same size and mtime included).
//! It is only ever written from a file that parsed, so a matching cache also proves the file
//! parses, which lets `conn new`/`rm`/`rename` edit the TOML as text (`metadata_text`).
//!
//! Format: JSON lines. The first is `{"source_hash":"<16 hex>","version":N,…}` with everything
//! but the connections (settings, clients, team stores), then one `["NAME",{connection}]` per connection, so one connection is
//! added, removed or renamed by editing one line.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::fsio;

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
    version: u32,
    #[serde(flatten)]
    top: T,
}

#[derive(Deserialize)]
struct HashOnly {
    source_hash: String,
}

/// The cache file next to `connections.toml`.
#[derive(Debug, Clone)]
pub(crate) struct Cache {
    path: PathBuf,
}

impl Cache {
    pub(crate) fn new(path: PathBuf) -> Self {
        Cache { path }
    }

    /// The cached contents, when they were made from contents with hash `hash`.
    pub(crate) fn read<T, K>(&self, hash: u64) -> Option<Parts<T, K>>
    where
        T: DeserializeOwned,
        K: DeserializeOwned,
    {
        let text = self.text_for(hash)?;
        let mut lines = text.lines();
        let head: Header<T> = serde_json::from_str(lines.next()?).ok()?;
        let mut connections = BTreeMap::new();
        for line in lines {
            let (name, conn): (String, K) = serde_json::from_str(line).ok()?;
            connections.insert(name, conn);
        }
        Some(Parts {
            version: head.version,
            top: head.top,
            connections,
        })
    }

    /// The cache's text, when it was made from contents with hash `hash`.
    pub(crate) fn text_for(&self, hash: u64) -> Option<String> {
        let text = String::from_utf8(std::fs::read(&self.path).ok()?).ok()?;
        let first = text.lines().next()?;
        let head: HashOnly = serde_json::from_str(first).ok()?;
        (head.source_hash == hex(hash)).then_some(text)
    }

    /// Writes the copy of `meta`, made from contents with hash `hash` (best effort: without
    /// the cache conn is only slower).
    pub(crate) fn write<T: Serialize, K: Serialize>(&self, hash: u64, parts: &Parts<T, &K>) {
        // Serialized straight from the caller's values, line by line: no second copy of a
        // big store.
        let mut out = match header(hash, parts.version, &parts.top) {
            Some(h) => h,
            None => return,
        };
        for (name, conn) in &parts.connections {
            match line(name, conn) {
                Some(l) => out.push_str(&l),
                None => return,
            }
        }
        self.put(&out);
    }

    /// Installs `text` (an edit of the cache), or forgets the cache when there is none.
    pub(crate) fn put_or_forget(&self, text: Option<String>) {
        match text {
            Some(t) => self.put(&t),
            None => {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }

    fn put(&self, text: &str) {
        let _ = fsio::write_atomic(&self.path, text.as_bytes());
    }
}

/// `cache` (a cache's text) for contents with hash `hash`, with connection `name` added.
pub(crate) fn insert<K: Serialize>(cache: &str, hash: u64, name: &str, conn: &K) -> Option<String> {
    let (_, rest) = cache.split_once('\n')?;
    let mut out = rehead(cache, hash)?;
    out.push_str(rest);
    out.push_str(&line(name, conn)?);
    Some(out)
}

/// `cache` for contents with hash `hash`, without connection `name`.
pub(crate) fn remove(cache: &str, hash: u64, name: &str) -> Option<String> {
    let (before, _, after) = split_at_line(cache, name)?;
    let mut out = rehead(cache, hash)?;
    out.push_str(before);
    out.push_str(after);
    Some(out)
}

/// `cache` for contents with hash `hash`, with connection `old` named `new` and changed by
/// `change`.
pub(crate) fn rename<K: Serialize + DeserializeOwned>(
    cache: &str,
    hash: u64,
    old: &str,
    new: &str,
    change: impl FnOnce(&mut K),
) -> Option<String> {
    let (before, this, after) = split_at_line(cache, old)?;
    let (_, mut conn): (String, K) = serde_json::from_str(this).ok()?;
    change(&mut conn);
    let mut out = rehead(cache, hash)?;
    out.push_str(before);
    out.push_str(&line(new, &conn)?);
    out.push_str(after);
    Some(out)
}

/// The connection lines before `name`'s, its line, and the lines after it.
fn split_at_line<'c>(cache: &'c str, name: &str) -> Option<(&'c str, &'c str, &'c str)> {
    let (_, body) = cache.split_once('\n')?;
    let prefix = format!("[{},", serde_json::to_string(name).ok()?);
    let start = if body.starts_with(&prefix) {
        0
    } else {
        body.find(&format!("\n{prefix}"))? + 1
    };
    let end = body[start..]
        .find('\n')
        .map_or(body.len(), |e| start + e + 1);
    Some((&body[..start], &body[start..end], &body[end..]))
}

/// The cache's first line with the hash replaced.
fn rehead(cache: &str, hash: u64) -> Option<String> {
    let first = cache.lines().next()?;
    let head: Header<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(first).ok()?;
    header(hash, head.version, &head.top)
}

fn header<T: Serialize>(hash: u64, version: u32, top: &T) -> Option<String> {
    let head = Header {
        source_hash: hex(hash),
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

//! `connections.journal.json`: connections added, removed or renamed in a big
//! `connections.toml` (one with a JSON cache, see `metadata_cache`) and not yet made to it, so
//! that `conn new`, `rm` and `rename` write a few hundred bytes instead of the whole file and
//! its cache (6.6 MB, with an fsync each, at 10,000 connections).
//!
//! Format: `{"version":1,"base":"<16 hex>","edits":[…]}`, where `base` is the xxh3 hash (as in
//! the cache's `source_hash`) of the connections.toml the edits were made on top of, and each
//! edit is `{"insert":{"name":…,"connection":{settings}}}`, `{"remove":{"name":…,"id":…}}` or
//! `{"rename":{"old":…,"new":…,"id":…,"updated_at":…}}`, oldest first. Written whole and
//! atomically under the connections lock, like every file of conn's.
//!
//! # Folding
//! When it holds `FOLD_AT` edits, or any other change is made to connections.toml, the edits
//! are made to the file and its cache and the journal is deleted: first the journal is
//! rewritten with `folded`, the content hash of the file about to be written, then the file
//! and its cache are written, then the journal is deleted. Readers read the journal before
//! the file or its cache and decide by the file's content hash (`Journal::fit`): the `base`
//! hash, apply the edits; the `folded` hash, the journal is left over from an interrupted fold
//! and ignored; any other, the file was edited by hand meanwhile and the edits are replayed on
//! top of it by `apply`'s rules, which skip what no longer applies (an insert whose id is
//! there already, a removal or rename of a name that no longer has that id). An insert whose
//! name the hand edit took keeps both: the file's connection keeps the name, the pending one
//! gets `clash_name` (`NAME.` and 8 characters of its id), and `apply` reports it. A reader that raced a fold sees the old file with the journal or
//! the new file with (or without) the marked journal: the same connections either way.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::fsio;

/// How many edits the journal holds before they are made to connections.toml: the cost of one
/// fold (about 60 ms at 10,000 connections) spread over this many changes, against reading a
/// journal this long on every command (a fraction of a millisecond).
pub(crate) const FOLD_AT: usize = 32;

/// The format version this build reads and writes.
const VERSION: u32 = 1;

/// One change to one connection, as the journal keeps it; `K` is the connection's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Pending<K> {
    /// Connection `name` added, with these settings (its id among them).
    Insert { name: String, connection: K },
    /// Connection `name`, whose id was `id`, removed.
    Remove { name: String, id: String },
    /// Connection `old` (id `id`) renamed to `new`, its `updated_at` set (RFC 3339).
    Rename {
        old: String,
        new: String,
        id: String,
        updated_at: String,
    },
}

/// A connection as one of the maps `apply` changes holds it.
pub(crate) trait Entry {
    fn id(&self) -> &str;
    /// Called on a renamed connection with the rename's time (RFC 3339).
    fn renamed(&mut self, updated_at: &str);
}

/// The pending edits, read from or to be written to the journal file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Journal<K> {
    pub version: u32,
    /// The content hash (16 hex digits) of the connections.toml the edits apply to.
    pub base: String,
    /// The content hash of connections.toml with the edits made, written here just before a
    /// fold writes that file: a journal left behind by a fold that stopped after it is known
    /// for what it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folded: Option<String>,
    pub edits: Vec<Pending<K>>,
}

/// How a journal relates to the version of connections.toml it is read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fit {
    /// Its edits were made on top of that version: apply them.
    OnTop,
    /// That version already holds its edits (a fold stopped before deleting it): ignore it.
    Folded,
    /// The file was changed since by something else (a hand edit): the edits are replayed on
    /// top of it by `apply`'s rules.
    Replay,
}

/// The 16 hex digits the journal names a content hash with.
pub(crate) fn hex(hash: u64) -> String {
    format!("{hash:016x}")
}

impl<K: Serialize + DeserializeOwned + Clone> Journal<K> {
    /// An empty journal for the connections.toml whose hash is `base`.
    pub(crate) fn new(base: String) -> Self {
        Journal {
            version: VERSION,
            base,
            folded: None,
            edits: Vec::new(),
        }
    }

    /// How this journal relates to the connections.toml whose content hash is `hash` (`None`:
    /// there is no such file).
    pub(crate) fn fit(&self, hash: Option<u64>) -> Fit {
        let hash = hash.map(hex);
        if hash.as_ref() == Some(&self.base) {
            Fit::OnTop
        } else if hash.is_some() && hash == self.folded {
            Fit::Folded
        } else {
            Fit::Replay
        }
    }

    /// The journal at `path`; `None` when there is none. One that does not parse, or was
    /// written by a newer conn, is an error that names the file and what to do (it is never
    /// overwritten: it may hold the only record of a connection).
    pub(crate) fn read(path: &Path) -> Result<Option<Self>> {
        let Some(bytes) = fsio::read_optional(path)? else {
            return Ok(None);
        };
        let journal: Journal<K> = serde_json::from_slice(&bytes).map_err(|e| {
            anyhow::anyhow!(
                "{}:{}:{}: {e}\nconn has not changed the file. It holds connections added, removed or renamed since connections.toml was last written; fix it by hand, or delete it to forget those changes.",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        if journal.version > VERSION {
            bail!(
                "{} has format version {}, newer than this conn understands ({VERSION}); upgrade conn",
                path.display(),
                journal.version
            );
        }
        Ok(Some(journal))
    }

    /// Replaces the journal at `path` with this one, atomically.
    pub(crate) fn write(&self, path: &Path) -> Result<()> {
        fsio::write_atomic(path, &serde_json::to_vec(self)?)
    }

    /// The names whose connections decide what `names` are once the edits are applied:
    /// `names` and, through renames, the names they had before.
    pub(crate) fn sources(&self, names: &[&str]) -> Vec<String> {
        let mut wanted: BTreeSet<String> = names.iter().map(|n| n.to_string()).collect();
        for e in self.edits.iter().rev() {
            if let Pending::Rename { old, new, .. } = e
                && wanted.contains(new)
            {
                wanted.insert(old.clone());
            }
        }
        wanted.into_iter().collect()
    }

    /// Applies the edits to `map` (name → connection) as `fit` says. An insert whose name a
    /// hand edit gave another connection is made under `clash_name` instead, so nothing is
    /// lost; returns those as (name, the name it got; `None` if that was taken too and the
    /// insert was not made). `map` may hold only some connections (those `sources` names)
    /// when the journal's `base` is the file the map was read from.
    pub(crate) fn apply<C>(
        &self,
        fit: Fit,
        map: &mut BTreeMap<String, C>,
    ) -> Vec<(String, Option<String>)>
    where
        C: Entry + From<K>,
        K: Entry,
    {
        let mut clashes = Vec::new();
        if fit == Fit::Folded {
            return clashes;
        }
        for e in &self.edits {
            match e {
                Pending::Insert { name, connection } => {
                    let id = connection.id();
                    // On top of its base every id is new (each insert was checked against
                    // it); only a replay needs the look through all of `map`.
                    if fit == Fit::Replay && map.values().any(|c| c.id() == id) {
                        continue;
                    }
                    let mut at = name.clone();
                    if map.contains_key(name) {
                        let other = clash_name(name, id);
                        let free = !map.contains_key(&other);
                        clashes.push((name.clone(), free.then(|| other.clone())));
                        if !free {
                            continue;
                        }
                        at = other;
                    }
                    map.insert(at, C::from(connection.clone()));
                }
                Pending::Remove { name, id } => {
                    if map.get(name).is_some_and(|c| c.id() == id) {
                        map.remove(name);
                    }
                }
                Pending::Rename {
                    old,
                    new,
                    id,
                    updated_at,
                } => {
                    if map.get(old).is_none_or(|c| c.id() != id) || map.contains_key(new) {
                        continue;
                    }
                    let mut c = map.remove(old).expect("checked above");
                    c.renamed(updated_at);
                    map.insert(new.clone(), c);
                }
            }
        }
        clashes
    }

    /// The ids of the connections the edits removed.
    pub(crate) fn removed_ids(&self) -> impl Iterator<Item = &str> {
        self.edits.iter().filter_map(|e| match e {
            Pending::Remove { id, .. } => Some(id.as_str()),
            _ => None,
        })
    }
}

/// The name a pending connection `name` (id `id`) gets when a hand edit gave `name` to another
/// connection: `NAME.` and the id's first 8 characters, within the 64 a name may have.
pub(crate) fn clash_name(name: &str, id: &str) -> String {
    let tag: String = id.chars().take(8).collect();
    let keep: String = name.chars().take(64 - 1 - tag.len()).collect();
    format!("{keep}.{tag}")
}

/// Deletes the journal at `path` (after its edits were made to connections.toml) and makes
/// the deletion durable; a journal that is already gone is fine.
pub(crate) fn delete(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(
                anyhow::Error::new(e).context(format!("could not delete {}", path.display()))
            );
        }
    }
    if let Some(dir) = path.parent() {
        fsio::sync_dir(dir);
    }
    Ok(())
}

/// The journal next to `connections` (connections.toml).
pub(crate) fn path_for(connections: &Path) -> PathBuf {
    connections.with_file_name("connections.journal.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct C {
        id: String,
        at: String,
    }
    impl Entry for C {
        fn id(&self) -> &str {
            &self.id
        }
        fn renamed(&mut self, updated_at: &str) {
            self.at = updated_at.into();
        }
    }

    fn c(id: &str) -> C {
        C {
            id: id.into(),
            at: "t0".into(),
        }
    }

    fn journal(edits: Vec<Pending<C>>) -> Journal<C> {
        Journal {
            edits,
            ..Journal::new("00".into())
        }
    }

    fn map(of: &[(&str, &str)]) -> BTreeMap<String, C> {
        of.iter().map(|(n, id)| (n.to_string(), c(id))).collect()
    }

    fn ins(name: &str, id: &str) -> Pending<C> {
        Pending::Insert {
            name: name.into(),
            connection: c(id),
        }
    }
    fn rm(name: &str, id: &str) -> Pending<C> {
        Pending::Remove {
            name: name.into(),
            id: id.into(),
        }
    }
    fn mv(old: &str, new: &str, id: &str) -> Pending<C> {
        Pending::Rename {
            old: old.into(),
            new: new.into(),
            id: id.into(),
            updated_at: "t1".into(),
        }
    }

    #[test]
    fn edits_apply_in_order_and_a_folded_journal_changes_nothing() {
        let j = journal(vec![
            ins("b", "2"),
            mv("a", "c", "1"),
            rm("z", "26"),
            ins("a", "3"),
            mv("b", "d", "2"),
        ]);
        let mut m = map(&[("a", "1"), ("z", "26")]);
        assert!(j.apply(Fit::Replay, &mut m).is_empty());
        let want = map(&[("a", "3"), ("c", "1"), ("d", "2")]);
        assert_eq!(
            m.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>()
        );
        assert_eq!(m["c"].at, "t1");
        assert_eq!(m["a"].at, "t0");
        // A fold wrote the file, then was interrupted before the journal was deleted.
        let folded = m.clone();
        assert!(j.apply(Fit::Folded, &mut m).is_empty());
        assert_eq!(m, folded);
    }

    #[test]
    fn the_file_s_hash_says_how_the_journal_applies() {
        let mut j = journal(vec![ins("b", "2")]);
        j.base = hex(7);
        assert_eq!(j.fit(Some(7)), Fit::OnTop);
        assert_eq!(j.fit(Some(8)), Fit::Replay);
        assert_eq!(j.fit(None), Fit::Replay);
        j.folded = Some(hex(8));
        assert_eq!(j.fit(Some(8)), Fit::Folded);
        let mut m = map(&[("a", "1")]);
        j.apply(Fit::Folded, &mut m);
        assert_eq!(m, map(&[("a", "1")]));
    }

    #[test]
    fn a_hand_edit_keeps_its_connections_and_clashes_are_reported() {
        let j = journal(vec![
            ins("b", "2abcdefgh"),
            rm("a", "1"),
            mv("x", "y", "9"),
            ins("c", "3abcdefgh"),
        ]);
        // By hand: `a` now has another id, `b` was taken, `x` is gone, `c` and the name the
        // pending `c` would get instead are both taken.
        let mut m = map(&[("a", "5"), ("b", "7"), ("c", "8"), ("c.3abcdefg", "9")]);
        assert_eq!(
            j.apply(Fit::Replay, &mut m),
            vec![
                ("b".to_string(), Some("b.2abcdefg".to_string())),
                ("c".to_string(), None)
            ]
        );
        assert_eq!(
            m,
            map(&[
                ("a", "5"),
                ("b", "7"),
                ("b.2abcdefg", "2abcdefgh"),
                ("c", "8"),
                ("c.3abcdefg", "9")
            ])
        );
        assert_eq!(clash_name(&"n".repeat(64), "0123456789").len(), 64);
    }

    #[test]
    fn sources_follow_renames_back() {
        let j = journal(vec![
            mv("a", "b", "1"),
            mv("b", "c", "1"),
            mv("q", "r", "2"),
        ]);
        assert_eq!(j.sources(&["c"]), vec!["a", "b", "c"]);
        assert_eq!(j.sources(&["q"]), vec!["q"]);
        // Applied to just those names of the base, the answer is the same as on all of it.
        let all = map(&[("a", "1"), ("q", "2"), ("k", "3")]);
        let mut part: BTreeMap<String, C> = all
            .iter()
            .filter(|(n, _)| j.sources(&["c"]).contains(n))
            .map(|(n, c)| (n.clone(), c.clone()))
            .collect();
        let mut whole = all.clone();
        j.apply(Fit::Replay, &mut part);
        j.apply(Fit::Replay, &mut whole);
        assert_eq!(part.get("c"), whole.get("c"));
    }

    #[test]
    fn a_broken_or_newer_journal_is_an_error_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = path_for(&dir.path().join("connections.toml"));
        assert!(Journal::<C>::read(&p).unwrap().is_none());
        std::fs::write(&p, "{\"version\":1,").unwrap();
        let e = format!("{:#}", Journal::<C>::read(&p).unwrap_err());
        assert!(
            e.contains("connections.journal.json:1:") && e.contains("delete it"),
            "{e}"
        );
        std::fs::write(&p, r#"{"version":2,"base":"00","edits":[]}"#).unwrap();
        let e = format!("{:#}", Journal::<C>::read(&p).unwrap_err());
        assert!(e.contains("upgrade conn"), "{e}");
        let j = journal(vec![ins("b", "2"), rm("a", "1")]);
        j.write(&p).unwrap();
        assert_eq!(Journal::<C>::read(&p).unwrap().unwrap().edits, j.edits);
        delete(&p).unwrap();
        delete(&p).unwrap();
        assert!(!p.exists());
    }
}

//! `state.json` in the state dir: what conn learns while running (check results, last success,
//! the identity a check reported, token expiry and refresh times), keyed by connection id so a
//! rename does not touch it. `connections.toml` is the user's configuration; `check`, `token`
//! and `exec` write only here. Every change is a read-modify-write under an exclusive lock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::fsio;
use crate::core::paths::Paths;
use crate::core::vocab::{CheckStatus, Identity};

/// The format version this build reads and writes.
const CURRENT_VERSION: u32 = 1;

/// Everything conn has learned, by connection id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct State {
    pub version: u32,
    #[serde(default)]
    pub connections: BTreeMap<String, ConnState>,
}

impl Default for State {
    fn default() -> Self {
        State {
            version: CURRENT_VERSION,
            connections: BTreeMap::new(),
        }
    }
}

/// What conn learned about one connection. Every field is optional: absent = not known.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct ConnState {
    /// Who the credentials authenticate as, as the last sign-in or check reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// When the credentials were last granted (`new`, `reauth`), RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorized_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_check: Option<LastCheck>,
    /// When a check last succeeded, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<String>,
    /// When the OAuth access token expires, RFC 3339 (for display; the secret is authoritative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// When the access token was last refreshed, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refreshed_at: Option<String>,
    /// The scopes the provider reported on the last refresh, when it reported any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted_scopes: Option<Vec<String>>,
}

impl ConnState {
    pub(crate) fn is_empty(&self) -> bool {
        *self == ConnState::default()
    }
}

/// The state file's top level for `load_shown`: `version`, and each record of
/// `connections` handed to `put` with its id as it is read (no map of them is built).
struct ShownVisitor<'p, F> {
    put: &'p mut F,
}

impl<'de, F: FnMut(&str, Shown)> serde::de::Visitor<'de> for ShownVisitor<'_, F> {
    type Value = u32;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the state file's object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<u32, A::Error> {
        let mut version = CURRENT_VERSION;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "version" => version = map.next_value()?,
                "connections" => map.next_value_seed(RecordsSeed { put: self.put })?,
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(version)
    }
}

struct RecordsSeed<'p, F> {
    put: &'p mut F,
}

impl<'de, F: FnMut(&str, Shown)> serde::de::DeserializeSeed<'de> for RecordsSeed<'_, F> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(&str, Shown)> serde::de::Visitor<'de> for RecordsSeed<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("records by connection id")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(id) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let shown: Shown = map.next_value()?;
            (self.put)(&id, shown);
        }
        Ok(())
    }
}

/// The part of a connection's record that `conn list` shows.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Shown {
    #[serde(default)]
    pub identity: Option<Identity>,
    #[serde(default)]
    pub last_check: Option<LastCheck>,
}

/// The outcome of the last check of a connection.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct LastCheck {
    pub status: CheckStatus,
    /// RFC 3339.
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct StateStore {
    file: PathBuf,
    lock: PathBuf,
}

impl StateStore {
    pub(crate) fn new(paths: &Paths) -> Self {
        StateStore {
            file: paths.state_file(),
            lock: paths.state_lock(),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.file
    }

    /// Reads the file; a missing file is an empty state. A file that doesn't parse is an error
    /// naming it (and is never overwritten).
    pub(crate) fn load(&self) -> Result<State> {
        let Some(bytes) = fsio::read_optional(&self.file)? else {
            return Ok(State::default());
        };
        let state: State = serde_json::from_slice(&bytes).map_err(|e| self.unreadable(&e))?;
        self.check_version(state)
    }

    /// Each connection's identity and last check, as `conn list` shows them, handed to `put`
    /// with the connection's id as the file is read (no map of 10,000 records is built); the
    /// other fields of the records are skipped unparsed. Errors as `load`.
    pub(crate) fn load_shown(&self, mut put: impl FnMut(&str, Shown)) -> Result<()> {
        let Some(bytes) = fsio::read_optional(&self.file)? else {
            return Ok(());
        };
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let version =
            serde::de::Deserializer::deserialize_map(&mut de, ShownVisitor { put: &mut put })
                .map_err(|e| self.unreadable(&e))?;
        de.end().map_err(|e| self.unreadable(&e))?;
        self.check_version(State {
            version,
            connections: BTreeMap::new(),
        })?;
        Ok(())
    }

    /// Like `load`, but only the records of connections `ids` are decoded (the others are
    /// skipped unparsed), so a command about one connection does not build all of them.
    pub(crate) fn load_only(&self, ids: &[&str]) -> Result<State> {
        // A few records: each found by bisecting the file, when it has conn's layout.
        if ids.len() <= 4 {
            let mut state = State::default();
            let mut all = true;
            for id in ids {
                match self.find_record(id) {
                    Some(Some(r)) => {
                        state.connections.insert(id.to_string(), r);
                    }
                    Some(None) => {}
                    None => {
                        all = false;
                        break;
                    }
                }
            }
            if all {
                log::debug!("{}: read by bisection", self.file.display());
                return Ok(state);
            }
        }
        let Some(bytes) = fsio::read_optional(&self.file)? else {
            return Ok(State::default());
        };
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let wanted: std::collections::HashSet<&str> = ids.iter().copied().collect();
        let state = serde::de::DeserializeSeed::deserialize(sparse::Only(&wanted), &mut de)
            .and_then(|s| de.end().map(|()| s))
            .map_err(|e| self.unreadable(&e))?;
        self.check_version(state)
    }

    /// The record of connection `id` (`Some(None)`: there is none), read with a binary search
    /// of the file as conn writes it (serde_json's pretty form: `{`, `  "version": N,`,
    /// `  "connections": {`, then each record opening on a line `    "ID": {` in id order and
    /// closing on `    }` or `    },`), so its cost hardly grows with the number of records.
    /// `None` when the file is missing or not laid out so, or is newer than this conn: then
    /// the whole file is read, and its errors reported.
    fn find_record(&self, id: &str) -> Option<Option<ConnState>> {
        use super::bisect::{self, FileLines, Lines};
        let mut file = std::fs::File::open(&self.file).ok()?;
        let len = file.metadata().ok()?.len();
        let mut lines = FileLines(&mut file);
        let (open, at) = lines.line_at(0)?;
        let (version, at) = lines.line_at(at)?;
        let (connections, body) = lines.line_at(at)?;
        let version: u32 = version
            .strip_prefix("  \"version\": ")?
            .strip_suffix(',')?
            .parse()
            .ok()?;
        if open != "{" || connections != "  \"connections\": {" || version > CURRENT_VERSION {
            return None;
        }
        let key_of = |line: &str| {
            let key = line.strip_prefix("    \"")?.strip_suffix("\": {")?;
            (!key.contains(['"', '\\'])).then(|| key.to_string())
        };
        let found = match bisect::search(&mut lines, body, len, id, key_of)? {
            Ok(found) => found,
            Err(_) => return Some(None),
        };
        let mut record = String::from("{\n");
        let mut at = found.next;
        loop {
            let (line, next) = lines.line_at(at)?;
            if line == "    }" || line == "    }," {
                record.push('}');
                break;
            }
            if next <= at {
                return None;
            }
            record.push_str(&line);
            record.push('\n');
            at = next;
        }
        serde_json::from_str(&record).ok().map(Some)
    }

    /// Applies `change` to the record of connection `id` alone: `update_some` with one id.
    pub(crate) fn update_one(&self, id: &str, change: impl FnOnce(&mut ConnState)) -> Result<()> {
        let mut change = Some(change);
        self.update_some(&[id], |_, record| {
            if let Some(change) = change.take() {
                change(record);
            }
        })
    }

    /// Applies `change` to the records of connections `ids` alone (an empty record where there
    /// is none; each id once), under the lock, and writes the file atomically when one of them
    /// changed (a record left empty is dropped). The other records are copied as they are
    /// written (checked as JSON, not decoded), so checking 500 connections of a store of 10,000
    /// does not decode and re-encode 10,000 records. Errors: the file does not parse (it is
    /// then left as it is) or is newer than this conn.
    pub(crate) fn update_some(
        &self,
        ids: &[&str],
        mut change: impl FnMut(&str, &mut ConnState),
    ) -> Result<()> {
        use serde_json::value::RawValue;
        #[derive(Deserialize)]
        struct Raw<'a> {
            version: u32,
            #[serde(borrow, default)]
            connections: BTreeMap<String, &'a RawValue>,
        }
        #[derive(Serialize)]
        #[serde(untagged)]
        enum Record<'a> {
            Kept(&'a RawValue),
            Changed(&'a ConnState),
        }
        #[derive(Serialize)]
        struct Out<'a> {
            version: u32,
            connections: BTreeMap<&'a str, Record<'a>>,
        }
        crate::core::interrupt::critical(|| {
            let _guard = fsio::lock_exclusive(&self.lock)?;
            let bytes = fsio::read_optional(&self.file)?.unwrap_or_default();
            let raw = if bytes.is_empty() {
                Raw {
                    version: CURRENT_VERSION,
                    connections: BTreeMap::new(),
                }
            } else {
                serde_json::from_slice::<Raw<'_>>(&bytes).map_err(|e| self.unreadable(&e))?
            };
            if raw.version > CURRENT_VERSION {
                self.check_version(State {
                    version: raw.version,
                    connections: BTreeMap::new(),
                })?;
            }
            let mut changed: BTreeMap<&str, ConnState> = BTreeMap::new();
            for id in ids
                .iter()
                .copied()
                .collect::<std::collections::BTreeSet<&str>>()
            {
                let before: ConnState = match raw.connections.get(id) {
                    Some(r) => serde_json::from_str(r.get()).map_err(|e| self.unreadable(&e))?,
                    None => ConnState::default(),
                };
                let mut record = before.clone();
                change(id, &mut record);
                if record != before {
                    changed.insert(id, record);
                }
            }
            if changed.is_empty() {
                return Ok(());
            }
            let mut connections: BTreeMap<&str, Record<'_>> = raw
                .connections
                .iter()
                .filter(|(k, _)| !changed.contains_key(k.as_str()))
                .map(|(k, v)| (k.as_str(), Record::Kept(v)))
                .collect();
            for (id, record) in &changed {
                if !record.is_empty() {
                    connections.insert(id, Record::Changed(record));
                }
            }
            let out = Out {
                version: CURRENT_VERSION,
                connections,
            };
            fsio::write_atomic(&self.file, &serde_json::to_vec_pretty(&out)?)
        })
    }

    fn unreadable(&self, e: &serde_json::Error) -> anyhow::Error {
        anyhow::anyhow!(
            "{}:{}:{}: {e}\nconn has not changed the file; it holds only what conn learned (check results, refresh times), so you may delete it",
            self.file.display(),
            e.line(),
            e.column()
        )
    }

    fn check_version(&self, state: State) -> Result<State> {
        if state.version > CURRENT_VERSION {
            bail!(
                "{} has format version {}, newer than this conn understands ({CURRENT_VERSION}); upgrade conn",
                self.file.display(),
                state.version
            );
        }
        Ok(state)
    }

    /// Applies `change` to the latest contents under the lock and writes the result atomically
    /// (only when something changed). If `change` fails, nothing is written.
    pub(crate) fn update<T>(&self, change: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
        crate::core::interrupt::critical(|| {
            let _guard = fsio::lock_exclusive(&self.lock)?;
            let before = self.load()?;
            let mut state = before.clone();
            let out = change(&mut state)?;
            state.connections.retain(|_, s| !s.is_empty());
            state.version = CURRENT_VERSION;
            if state.connections != before.connections {
                let text = serde_json::to_vec_pretty(&state)?;
                fsio::write_atomic(&self.file, &text)?;
            }
            Ok(out)
        })
    }
}

/// Reading `State` keeping only some connections' records.
mod sparse {
    use std::collections::HashSet;
    use std::fmt;

    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

    use super::{ConnState, State};

    /// Seed for a `State` holding only the records of these ids.
    pub(super) struct Only<'i>(pub &'i HashSet<&'i str>);

    impl<'de> DeserializeSeed<'de> for Only<'_> {
        type Value = State;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<State, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Only<'_> {
        type Value = State;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("conn's state object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<State, A::Error> {
            let mut state = State::default();
            let mut version = None;
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                match key.as_ref() {
                    "version" => version = Some(map.next_value()?),
                    "connections" => map.next_value_seed(Records(self.0, &mut state))?,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            state.version = version.ok_or_else(|| serde::de::Error::missing_field("version"))?;
            Ok(state)
        }
    }

    /// The `connections` object: wanted records decoded into the state, others skipped.
    struct Records<'i, 's>(&'i HashSet<&'i str>, &'s mut State);

    impl<'de> DeserializeSeed<'de> for Records<'_, '_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Records<'_, '_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("records by connection id")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(id) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if self.0.contains(id.as_ref()) {
                    let record: ConnState = map.next_value()?;
                    self.1.connections.insert(id.into_owned(), record);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_state_file_is_reported_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::all_in(dir.path());
        let s = StateStore::new(&paths);
        std::fs::write(s.path(), "{ nope").unwrap();
        let err = s.update(|_| Ok(())).unwrap_err().to_string();
        assert!(err.contains("state.json:1:"), "{err}");
        assert_eq!(std::fs::read_to_string(s.path()).unwrap(), "{ nope");
    }

    #[test]
    fn update_one_changes_one_record_as_update_does() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::all_in(dir.path());
        let s = StateStore::new(&paths);
        let rec = |t: &str| ConnState {
            last_success: Some(t.into()),
            identity: Some(Identity {
                id: Some("u".into()),
                label: None,
                instance: None,
            }),
            ..ConnState::default()
        };
        s.update_one("b", |r| *r = rec("1")).unwrap();
        s.update(|st| {
            st.connections.insert("a".into(), rec("2"));
            st.connections.insert("c".into(), rec("3"));
            Ok(())
        })
        .unwrap();
        s.update_one("b", |r| r.last_success = Some("4".into()))
            .unwrap();
        s.update_one("c", |r| *r = ConnState::default()).unwrap();
        let text = std::fs::read(s.path()).unwrap();
        // The same bytes as the whole-file path writes.
        let want = State {
            version: CURRENT_VERSION,
            connections: BTreeMap::from([("a".into(), rec("2")), ("b".into(), rec("4"))]),
        };
        assert_eq!(
            String::from_utf8(text).unwrap(),
            String::from_utf8(serde_json::to_vec_pretty(&want).unwrap()).unwrap()
        );
        std::fs::write(s.path(), "{ nope").unwrap();
        assert!(s.update_one("a", |r| *r = rec("5")).is_err());
        assert_eq!(std::fs::read_to_string(s.path()).unwrap(), "{ nope");
    }

    #[test]
    fn update_some_changes_the_records_named_as_update_does() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::all_in(dir.path());
        let s = StateStore::new(&paths);
        let rec = |t: &str| ConnState {
            last_success: Some(t.into()),
            ..ConnState::default()
        };
        s.update(|st| {
            for id in ["a", "b", "c", "d"] {
                st.connections.insert(id.into(), rec("0"));
            }
            Ok(())
        })
        .unwrap();
        let mut seen = Vec::new();
        // "b" twice is changed once; "c" emptied is dropped; "e" starts empty; "d" unchanged.
        s.update_some(&["e", "b", "c", "b", "d"], |id, r| {
            seen.push(id.to_string());
            match id {
                "b" => r.last_success = Some(format!("{}+1", r.last_success.as_deref().unwrap())),
                "c" => *r = ConnState::default(),
                "e" => {
                    assert!(r.is_empty());
                    *r = rec("new");
                }
                _ => {}
            }
        })
        .unwrap();
        assert_eq!(seen, ["b", "c", "d", "e"]);
        let want = State {
            version: CURRENT_VERSION,
            connections: BTreeMap::from([
                ("a".into(), rec("0")),
                ("b".into(), rec("0+1")),
                ("d".into(), rec("0")),
                ("e".into(), rec("new")),
            ]),
        };
        assert_eq!(
            String::from_utf8(std::fs::read(s.path()).unwrap()).unwrap(),
            String::from_utf8(serde_json::to_vec_pretty(&want).unwrap()).unwrap(),
            "the same bytes as the whole-file path writes"
        );
        // Nothing changed, nothing written.
        let before = std::fs::metadata(s.path()).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        s.update_some(&["a", "zz"], |_, _| {}).unwrap();
        assert_eq!(
            std::fs::metadata(s.path()).unwrap().modified().unwrap(),
            before
        );
    }

    #[test]
    fn load_only_reads_the_records_asked_for_as_load_does() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::all_in(dir.path());
        let s = StateStore::new(&paths);
        s.update(|st| {
            for i in 0..5 {
                st.connections.insert(
                    format!("id{i}"),
                    ConnState {
                        last_success: Some(format!("t{i}")),
                        ..ConnState::default()
                    },
                );
            }
            Ok(())
        })
        .unwrap();
        let all = s.load().unwrap();
        let some = s.load_only(&["id3", "nope"]).unwrap();
        assert_eq!(some.connections.len(), 1);
        assert_eq!(some.connections["id3"], all.connections["id3"]);
        assert_eq!(some.version, all.version);
        std::fs::write(s.path(), "{\"version\": 1, \"connections\": {\"a\": 3}}").unwrap();
        assert!(
            s.load_only(&["b"]).is_ok(),
            "records not asked for are not decoded"
        );
        assert!(s.load_only(&["a"]).is_err());
        std::fs::write(s.path(), "{\"version\": 1, \"connections\": {} } x").unwrap();
        assert!(
            s.load_only(&["a"])
                .unwrap_err()
                .to_string()
                .contains("state.json:1:")
        );
        std::fs::write(s.path(), "{\"version\": 9}").unwrap();
        assert!(
            s.load_only(&["a"])
                .unwrap_err()
                .to_string()
                .contains("newer")
        );
    }
}

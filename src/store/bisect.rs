//! Binary search of a file of entries sorted by key, each opening on a line of its own, so one
//! entry of a big file is read with a few short reads instead of the whole file: the lines of
//! the metadata cache (`metadata_cache`), the records of the state file (`state`).

use std::cmp::Ordering;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

/// Lines by byte position.
pub(crate) trait Lines {
    /// The line that starts at byte `at` (without its newline) and where the next one starts;
    /// at the end, an empty line and `at`.
    fn line_at(&mut self, at: u64) -> Option<(String, u64)>;
}

/// The lines of a file, read where asked.
pub(crate) struct FileLines<'f>(pub &'f mut File);

impl Lines for FileLines<'_> {
    fn line_at(&mut self, at: u64) -> Option<(String, u64)> {
        self.0.seek(SeekFrom::Start(at)).ok()?;
        let mut line = Vec::new();
        let mut buf = [0u8; 2048];
        loop {
            let n = self.0.read(&mut buf).ok()?;
            if n == 0 {
                break;
            }
            if let Some(i) = buf[..n].iter().position(|&b| b == b'\n') {
                line.extend_from_slice(&buf[..i]);
                let next = at + line.len() as u64 + 1;
                return Some((String::from_utf8(line).ok()?, next));
            }
            line.extend_from_slice(&buf[..n]);
        }
        let next = at + line.len() as u64;
        Some((String::from_utf8(line).ok()?, next))
    }
}

impl Lines for &str {
    fn line_at(&mut self, at: u64) -> Option<(String, u64)> {
        let rest = self.get(usize::try_from(at).ok()?..)?;
        Some(match rest.find('\n') {
            Some(i) => (rest[..i].to_string(), at + i as u64 + 1),
            None => (rest.to_string(), self.len() as u64),
        })
    }
}

/// An entry found: where its first line starts, that line, and where the next line starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub start: u64,
    pub line: String,
    pub next: u64,
}

/// The entry with key `key` among those opening between byte `lo` (a line's start) and `hi`,
/// where `key_of` gives the key of a line that opens an entry (`None` for any other line) and
/// the keys ascend in byte order. `Ok(found)`, or `Err(at)`: where an entry with that key would
/// open. `None` when a line could not be read.
pub(crate) fn search(
    lines: &mut impl Lines,
    mut lo: u64,
    mut hi: u64,
    key: &str,
    key_of: impl Fn(&str) -> Option<String>,
) -> Option<Result<Found, u64>> {
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        // The first entry opening at or after `mid`.
        let from = if mid == lo {
            lo
        } else {
            lines.line_at(mid - 1)?.1
        };
        let probe = if from < hi {
            first_entry(lines, from, hi, &key_of)?
        } else {
            None
        };
        let Some((k, found)) = probe else {
            // None opens in the upper half: the lower half, one entry after another.
            let mut at = lo;
            while let Some((k, found)) = first_entry(lines, at, hi, &key_of)? {
                match key.cmp(&k) {
                    Ordering::Equal => return Some(Ok(found)),
                    Ordering::Less => return Some(Err(found.start)),
                    Ordering::Greater => at = found.next,
                }
            }
            return Some(Err(hi));
        };
        match key.cmp(&k) {
            Ordering::Equal => return Some(Ok(found)),
            Ordering::Less => hi = found.start,
            Ordering::Greater => lo = found.next,
        }
    }
    Some(Err(lo))
}

/// The first entry opening at or after `from` (a line's start) and before `hi`, with its key.
fn first_entry(
    lines: &mut impl Lines,
    from: u64,
    hi: u64,
    key_of: &impl Fn(&str) -> Option<String>,
) -> Option<Option<(String, Found)>> {
    let mut at = from;
    while at < hi {
        let (line, next) = lines.line_at(at)?;
        if let Some(k) = key_of(&line) {
            return Some(Some((
                k,
                Found {
                    start: at,
                    line,
                    next,
                },
            )));
        }
        if next <= at {
            break;
        }
        at = next;
    }
    Some(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key_of(line: &str) -> Option<String> {
        line.strip_prefix("k:").map(str::to_string)
    }

    proptest! {
        /// In a text of sorted entries with other lines among them, every key is found where
        /// it is, and every absent key is placed where it would keep the order.
        #[test]
        fn finds_what_a_scan_finds(
            keys in proptest::collection::btree_set("[a-e]{1,3}", 0..40),
            filler in proptest::collection::vec(0usize..3, 40),
            probe in "[a-e]{1,3}",
        ) {
            let mut text = String::from("head\n");
            let mut starts = Vec::new();
            for (i, k) in keys.iter().enumerate() {
                starts.push((k.clone(), text.len() as u64));
                text.push_str(&format!("k:{k}\n"));
                for _ in 0..filler[i % filler.len()] {
                    text.push_str("  some other line\n");
                }
            }
            let lo = 5;
            let got = search(&mut text.as_str(), lo, text.len() as u64, &probe, key_of).unwrap();
            match starts.iter().find(|(k, _)| *k == probe) {
                Some((_, at)) => prop_assert_eq!(got.map(|f| f.start), Ok(*at)),
                None => {
                    let want = starts.iter().find(|(k, _)| *k > probe).map_or(text.len() as u64, |(_, at)| *at);
                    // Absent: the place before the next greater key (any line after the
                    // smaller key's entry line and up to that key's line will do).
                    let at = got.unwrap_err();
                    prop_assert!(at <= want, "{} > {}", at, want);
                    let before = starts.iter().rev().find(|(k, _)| *k < probe).map_or(lo, |(_, s)| *s + 1);
                    prop_assert!(at >= before, "{} < {}", at, before);
                }
            }
        }
    }

    #[test]
    fn a_file_is_searched_like_its_text() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let text: String = (0..500).map(|i| format!("k:{i:05}\nvalue {i}\n")).collect();
        std::fs::write(&p, &text).unwrap();
        let mut f = File::open(&p).unwrap();
        let len = text.len() as u64;
        let found = search(&mut FileLines(&mut f), 0, len, "00321", key_of)
            .unwrap()
            .unwrap();
        assert_eq!(found.line, "k:00321");
        assert_eq!(
            FileLines(&mut f).line_at(found.next).unwrap().0,
            "value 321"
        );
        assert!(
            search(&mut FileLines(&mut f), 0, len, "0032", key_of)
                .unwrap()
                .is_err()
        );
    }
}

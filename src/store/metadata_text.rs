//! One connection added to, removed from or renamed in `connections.toml` as text, so `conn
//! new`, `rm` and `rename` cost the same in a file of 100 connections as in one of 10,000
//! (parsing and re-rendering the whole file takes about a second at 10,000). Only files in the
//! layout conn writes are edited (see `metadata_slice::blocks`); every function returns `None`
//! when it cannot be sure of the result, and the caller then takes the whole-file path. The
//! caller also makes sure the file parsed before (see `MetadataStore::edit`): these functions
//! trust that the text is valid TOML.

use std::ops::Range;

use super::metadata_slice::{Block, Owner, blocks};

/// Whether connection `name` has a table; `None` when the file is not in conn's layout.
pub(crate) fn has(text: &str, name: &str) -> Option<bool> {
    Some(blocks(text)?.iter().any(|b| owns(b, name)))
}

/// `text` with `tables` (a new connection's tables, as `toml` serializes them) after
/// everything else, one blank line between.
pub(crate) fn append(text: &str, tables: &str) -> String {
    let mut out = String::with_capacity(text.len() + tables.len() + 2);
    out.push_str(text);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
    out.push_str(tables);
    out
}

/// `text` without the tables of connection `name` (with the comments right above each), when
/// its `id` is `id`.
pub(crate) fn remove(text: &str, name: &str, id: &str) -> Option<String> {
    let blocks = blocks(text)?;
    let main = main_block(&blocks, name)?;
    if string_value(&text[main.range.clone()], "id")?.1 != id {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for b in blocks.iter().filter(|b| owns(b, name)) {
        out.push_str(&text[at..b.range.start]);
        at = b.range.end;
    }
    out.push_str(&text[at..]);
    Some(out)
}

/// `text` with connection `old`'s tables renamed to `new` where they stand (comments kept) and
/// its `updated_at` set to `updated_at`; `None` also when `new` is taken.
pub(crate) fn rename(text: &str, old: &str, new: &str, updated_at: &str) -> Option<String> {
    let blocks = blocks(text)?;
    if blocks.iter().any(|b| owns(b, new)) || !plain(updated_at) {
        return None;
    }
    let main = main_block(&blocks, old)?;
    let (value, _) = string_value(&text[main.range.clone()], "updated_at")?;
    let value = main.range.start + value.start..main.range.start + value.end;
    let key = key_text(new)?;
    // Replacements in file order, none overlapping: each header's name, then the value.
    let mut edits: Vec<(Range<usize>, &str)> = blocks
        .iter()
        .filter(|b| owns(b, old))
        .map(|b| (b.key.clone(), key.as_str()))
        .collect();
    edits.push((value, updated_at));
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for (r, with) in edits {
        out.push_str(&text[at..r.start]);
        out.push_str(with);
        at = r.end;
    }
    out.push_str(&text[at..]);
    Some(out)
}

/// One removal or rename for `edit_many`, with the meaning of `remove` and `rename`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TextEdit<'a> {
    Remove {
        name: &'a str,
        id: &'a str,
    },
    Rename {
        old: &'a str,
        new: &'a str,
        updated_at: &'a str,
    },
}

/// `edits` made in turn, as many calls of `remove` and `rename` would make them, with one
/// scan and one copy of `text` (a fold of the journal: 32 edits of a 3.4 MB file). `None`
/// under the same conditions as those functions (an edit that does not apply where the ones
/// before it left things, a layout conn does not write).
pub(crate) fn edit_many(text: &str, edits: &[TextEdit<'_>]) -> Option<String> {
    use std::collections::BTreeMap;
    let blocks = blocks(text)?;
    // Per connection of the file (by its name there): its name now, and what happened to it.
    let mut now: BTreeMap<&str, &str> = BTreeMap::new();
    for b in &blocks {
        if let Owner::Connection { name, .. } = b.owner {
            now.insert(name, name);
        }
    }
    let mut removed: BTreeMap<&str, &str> = BTreeMap::new();
    let mut renamed: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for e in edits {
        match *e {
            TextEdit::Remove { name, id } => {
                let was = now.remove(name)?;
                removed.insert(was, id);
                renamed.remove(was);
            }
            TextEdit::Rename {
                old,
                new,
                updated_at,
            } => {
                if now.contains_key(new) || !plain(updated_at) {
                    return None;
                }
                let was = now.remove(old)?;
                now.insert(new, was);
                renamed.insert(was, (new, updated_at));
            }
        }
    }
    // Replacements and cuts in file order, none overlapping.
    let mut changes: Vec<(Range<usize>, String)> = Vec::new();
    for (&was, &id) in &removed {
        let main = main_block(&blocks, was)?;
        if string_value(&text[main.range.clone()], "id")?.1 != id {
            return None;
        }
    }
    for (&was, &(new, updated_at)) in &renamed {
        let main = main_block(&blocks, was)?;
        let (value, _) = string_value(&text[main.range.clone()], "updated_at")?;
        let value = main.range.start + value.start..main.range.start + value.end;
        changes.push((value, updated_at.to_string()));
        let key = key_text(new)?;
        for b in blocks.iter().filter(|b| owns(b, was)) {
            changes.push((b.key.clone(), key.clone()));
        }
    }
    for b in &blocks {
        if let Owner::Connection { name, .. } = b.owner
            && removed.contains_key(name)
        {
            changes.push((b.range.clone(), String::new()));
        }
    }
    changes.sort_by_key(|(r, _)| r.start);
    let mut out = String::with_capacity(text.len() + 64 * changes.len());
    let mut at = 0;
    for (r, with) in &changes {
        out.push_str(&text[at..r.start]);
        out.push_str(with);
        at = r.end;
    }
    out.push_str(&text[at..]);
    Some(out)
}

fn owns(b: &Block<'_>, name: &str) -> bool {
    matches!(b.owner, Owner::Connection { name: n, .. } if n == name)
}

/// The one `[connections.NAME]` table of `name`.
fn main_block<'b, 'a>(blocks: &'b [Block<'a>], name: &str) -> Option<&'b Block<'a>> {
    let mut mains = blocks
        .iter()
        .filter(|b| matches!(b.owner, Owner::Connection { name: n, main: true } if n == name));
    let one = mains.next()?;
    mains.next().is_none().then_some(one)
}

/// A connection name as a TOML key: bare when it can be, else a basic string.
fn key_text(name: &str) -> Option<String> {
    if name.is_empty() || !plain(name) {
        return None;
    }
    let bare = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    Some(if bare {
        name.to_string()
    } else {
        format!("\"{name}\"")
    })
}

/// Text that goes inside a TOML basic string unchanged.
fn plain(s: &str) -> bool {
    !s.chars().any(|c| c == '"' || c == '\\' || c.is_control())
}

/// In a table's text (header and keys), the one line `key = "value"` (a basic string without
/// escapes): the value's range inside the quotes, and the value. `None` when there is no such
/// line, or more than one.
fn string_value<'t>(table: &'t str, key: &str) -> Option<(Range<usize>, &'t str)> {
    let mut found = None;
    let mut at = 0;
    for line in table.split_inclusive('\n') {
        let start = at;
        at += line.len();
        let Some(rest) = line.strip_prefix(key) else {
            continue;
        };
        let Some(rest) = rest.trim_start_matches([' ', '\t']).strip_prefix('=') else {
            continue;
        };
        let value = rest.trim_start_matches([' ', '\t']).strip_prefix('"')?;
        let end = value.find('"')?;
        if value[..end].contains('\\') || found.is_some() {
            return None;
        }
        let from = start + (line.len() - value.len());
        found = Some((from..from + end, &value[..end]));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# my connections\nversion = 1\n\n[settings]\nsecret_store = \"file\"\n\n# the work one\n[connections.a] # keep\nid = \"1\"\nupdated_at = \"x\" # when\n\n[connections.a.inputs]\nbase_url = \"http://a\"\n\n# about b\n[connections.\"b.c\"]\nid = \"2\"\nupdated_at = \"y\"\n\n# the end\n";

    #[test]
    fn remove_cuts_the_tables_and_the_comments_above_them() {
        let out = remove(FILE, "a", "1").unwrap();
        assert_eq!(
            out,
            "# my connections\nversion = 1\n\n[settings]\nsecret_store = \"file\"\n\n# about b\n[connections.\"b.c\"]\nid = \"2\"\nupdated_at = \"y\"\n\n# the end\n"
        );
        assert!(remove(FILE, "a", "2").is_none(), "another id: not this one");
        let out = remove(FILE, "b.c", "2").unwrap();
        assert!(
            out.ends_with("base_url = \"http://a\"\n\n# the end\n"),
            "{out}"
        );
        assert!(remove(FILE, "zz", "1").is_none());
    }

    #[test]
    fn rename_keeps_place_and_comments() {
        let out = rename(FILE, "a", "x.y", "2026").unwrap();
        assert_eq!(
            out,
            FILE.replace("[connections.a]", "[connections.\"x.y\"]")
                .replace("[connections.a.inputs]", "[connections.\"x.y\".inputs]")
                .replace("updated_at = \"x\"", "updated_at = \"2026\"")
        );
        assert!(rename(FILE, "a", "b.c", "2026").is_none(), "taken");
        assert!(rename(FILE, "nope", "z", "2026").is_none());
    }

    #[test]
    fn many_edits_at_once_mean_the_same_as_one_after_another() {
        use TextEdit::*;
        let plans: [&[TextEdit<'_>]; 5] = [
            &[Remove { name: "a", id: "1" }],
            &[
                Rename {
                    old: "a",
                    new: "z",
                    updated_at: "t1",
                },
                Rename {
                    old: "b.c",
                    new: "a",
                    updated_at: "t2",
                },
                Rename {
                    old: "z",
                    new: "q.r",
                    updated_at: "t3",
                },
            ],
            &[
                Rename {
                    old: "a",
                    new: "z",
                    updated_at: "t1",
                },
                Remove { name: "z", id: "1" },
                Rename {
                    old: "b.c",
                    new: "a",
                    updated_at: "t2",
                },
            ],
            &[Remove { name: "a", id: "2" }],
            &[Rename {
                old: "a",
                new: "b.c",
                updated_at: "t",
            }],
        ];
        for edits in plans {
            let mut one_by_one = Some(FILE.to_string());
            for e in edits {
                one_by_one = one_by_one.and_then(|t| match *e {
                    Remove { name, id } => remove(&t, name, id),
                    Rename {
                        old,
                        new,
                        updated_at,
                    } => rename(&t, old, new, updated_at),
                });
            }
            assert_eq!(edit_many(FILE, edits), one_by_one, "{edits:?}");
        }
        assert!(edit_many(FILE, &[]).is_some_and(|t| t == FILE));
    }

    #[test]
    fn append_puts_a_blank_line_between() {
        assert_eq!(append("a = 1", "[t]\n"), "a = 1\n\n[t]\n");
        assert_eq!(append("a = 1\n\n", "[t]\n"), "a = 1\n\n[t]\n");
        assert_eq!(append("", "[t]\n"), "[t]\n");
        assert_eq!(has(FILE, "b.c"), Some(true));
        assert_eq!(has(FILE, "b"), Some(false));
        assert_eq!(has("[connections]\na = {}\n", "a"), None);
    }
}

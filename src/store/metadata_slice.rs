//! One connection's part of `connections.toml`, cut out without parsing the rest, so commands
//! about one connection (`token`, `show`, `exec`, `request`) cost the same in a file of 100
//! connections as in one of 10,000. Only files laid out as conn writes them are cut (table
//! headers `[settings]`, `[connections.NAME…]`, `[clients."KEY"…]`, no multi-line strings,
//! nothing but `version` before the first header); for anything else the caller parses the
//! whole file, so a hand-written file is never misread.

/// The text of a TOML document holding the top-level keys, `[settings]`, every team store
/// (`[teams.NAME]`), every OAuth client, and the tables of connection `name`, with whether there were any (without them, the rest
/// is still a valid document: what `conn new NAME` needs); `None` when the file is not in the
/// simple layout.
#[cfg(test)]
pub(crate) fn cut(text: &str, name: &str) -> Option<(String, bool)> {
    cut_some(text, &[name]).map(|(s, found)| (s, found == 1))
}

/// `cut` for several connections (`conn check A B ...`): the tables of each of `names`, with
/// how many of them (distinct) were found.
pub(crate) fn cut_some(text: &str, names: &[&str]) -> Option<(String, usize)> {
    let blocks = blocks(text)?;
    let wanted: std::collections::HashSet<&str> = names.iter().copied().collect();
    let mut found = std::collections::HashSet::new();
    let mut out = String::with_capacity(1024);
    out.push_str(&text[..blocks.first().map_or(text.len(), |b| b.range.start)]);
    for b in &blocks {
        let keep = match b.owner {
            Owner::Settings | Owner::Client => true,
            Owner::Connection { name: n, .. } if wanted.contains(n) => {
                found.insert(n);
                true
            }
            Owner::Connection { .. } => false,
        };
        if keep {
            out.push_str(&text[b.range.clone()]);
        }
    }
    Some((out, found.len()))
}

/// Whose table a header opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner<'a> {
    Settings,
    Client,
    /// A table of connection `name`: its own (`main`) or one under it (`inputs`, `oauth`).
    Connection {
        name: &'a str,
        main: bool,
    },
}

/// One table of a file in conn's layout: its header line, the comments and blank lines right
/// above it (which belong to it, as `toml_edit` sees them), and its keys, up to the next
/// table's comments.
#[derive(Debug, Clone)]
pub(crate) struct Block<'a> {
    pub owner: Owner<'a>,
    /// Byte range in the file, comments above the header included.
    pub range: std::ops::Range<usize>,
    /// Byte range of the connection's name as written in the header (`a` or `"a.b"`).
    pub key: std::ops::Range<usize>,
}

/// The file's tables in order, when it has conn's layout (see the module doc); what precedes
/// the first block is the top-level keys, what follows the last its trailing comments.
pub(crate) fn blocks(text: &str) -> Option<Vec<Block<'_>>> {
    let bytes = text.as_bytes();
    if memchr::memmem::find(bytes, b"\"\"\"").is_some()
        || memchr::memmem::find(bytes, b"'''").is_some()
    {
        return None;
    }
    let mut out: Vec<Block<'_>> = Vec::new();
    // Where the run of comment and blank lines before the current line started.
    let mut trivia_from: Option<usize> = None;
    let mut at = 0;
    while at < text.len() {
        let start = at;
        at = memchr::memchr(b'\n', &bytes[start..]).map_or(text.len(), |i| start + i + 1);
        let line = &text[start..at];
        // Most lines are `key = value`: no need to look further (the last branch below).
        if bytes[start].is_ascii_alphanumeric() {
            trivia_from = None;
            match out.last_mut() {
                Some(b) => b.range.end = at,
                None if !line.starts_with("version") => return None,
                None => {}
            }
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            if !line.starts_with('[') {
                return None;
            }
            let (owner, key) = header(trimmed)?;
            let from = trivia_from.take().unwrap_or(start);
            if let Some(prev) = out.last_mut() {
                prev.range.end = from;
            }
            out.push(Block {
                owner,
                range: from..at,
                key: start + key.start..start + key.end,
            });
        } else if trimmed.is_empty() || trimmed.starts_with('#') {
            trivia_from.get_or_insert(start);
        } else {
            trivia_from = None;
            match out.last_mut() {
                Some(b) => b.range.end = at,
                // Only `version = N` is expected up there; a dotted key or an inline table
                // could define connections in a way a cut would miss.
                None if !trimmed.starts_with("version") => return None,
                None => {}
            }
        }
    }
    Some(out)
}

/// Whose table a header line opens, and where the connection's name is in the line; `None`
/// for any header conn does not write itself.
fn header(line: &str) -> Option<(Owner<'_>, std::ops::Range<usize>)> {
    let inner = line
        .trim_end()
        .strip_prefix('[')?
        .split_once(']')
        .filter(|(_, rest)| rest.trim().is_empty() || rest.trim_start().starts_with('#'))?
        .0;
    if inner.starts_with('[') {
        return None;
    }
    if inner == "settings" || inner.starts_with("teams.") {
        return Some((Owner::Settings, 0..0));
    }
    if let Some(rest) = inner.strip_prefix("clients.") {
        return rest.starts_with('"').then_some((Owner::Client, 0..0));
    }
    const PREFIX: &str = "[connections.";
    let rest = inner.strip_prefix("connections.")?;
    let (name, after) = key(rest)?;
    let key_len = rest.len() - after.len();
    Some((
        Owner::Connection {
            name,
            main: after.is_empty(),
        },
        PREFIX.len()..PREFIX.len() + key_len,
    ))
}

/// The first key of a dotted key: bare (`a-b_1`) or a basic string without escapes
/// (`"a.b"`), and what follows it.
fn key(s: &str) -> Option<(&str, &str)> {
    if let Some(q) = s.strip_prefix('"') {
        let end = q.find('"')?;
        let name = &q[..end];
        if name.contains('\\') {
            return None;
        }
        let after = &q[end + 1..];
        return (after.is_empty() || after.starts_with('.')).then_some((name, after));
    }
    let end = s.find('.').unwrap_or(s.len());
    let name = &s[..end];
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    bare.then_some((name, &s[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"version = 1

[settings]
secret_store = "file"

[connections.a]
id = "1"
provider = "http"

[connections.a.inputs]
base_url = "http://a"

[connections."b.c"]
id = "2"
note = "[connections.a] in a string"

[connections.ab]
id = "3"

[clients."oauth2/x"]
provider = "oauth2"
"#;

    #[test]
    fn cuts_one_connection_with_settings_and_clients() {
        let slice = |text, name| cut(text, name).and_then(|(s, found)| found.then_some(s));
        let a = slice(FILE, "a").unwrap();
        let doc: toml::Table = toml::from_str(&a).unwrap();
        let conns = doc["connections"].as_table().unwrap();
        assert_eq!(conns.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(conns["a"]["inputs"]["base_url"].as_str(), Some("http://a"));
        assert_eq!(doc["settings"]["secret_store"].as_str(), Some("file"));
        assert!(doc["clients"].get("oauth2/x").is_some());
        assert_eq!(doc["version"].as_integer(), Some(1));

        let bc: toml::Table = toml::from_str(&slice(FILE, "b.c").unwrap()).unwrap();
        assert_eq!(bc["connections"]["b.c"]["id"].as_str(), Some("2"));
        assert!(slice(FILE, "nope").is_none());
    }

    #[test]
    fn anything_unusual_means_the_whole_file() {
        for odd in [
            "connections.a.id = \"1\"\n[connections.a]\n",
            "[connections]\na = { id = \"1\" }\n",
            "[connections.a]\nx = \"\"\"\n[connections.b]\n\"\"\"\n",
            "  [connections.a]\nid = \"1\"\n",
            "[[connections.a.list]]\n",
            "[connections.\"a\\u0062\"]\n",
        ] {
            assert!(cut(odd, "a").is_none(), "{odd}");
        }
    }
}

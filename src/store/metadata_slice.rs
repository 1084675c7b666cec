//! One connection's part of `connections.toml`, cut out without parsing the rest, so commands
//! about one connection (`token`, `show`, `exec`, `request`) cost the same in a file of 100
//! connections as in one of 10,000. Only files laid out as conn writes them are cut (table
//! headers `[settings]`, `[connections.NAME…]`, `[clients."KEY"…]`, no multi-line strings,
//! nothing but `version` before the first header); for anything else the caller parses the
//! whole file, so a hand-written file is never misread.

/// The text of a TOML document holding the top-level keys, `[settings]`, every team store
/// (`[teams.NAME]`), every OAuth client,
/// and the tables of connection `name`; `None` when the file is not in the simple layout or has
/// no table of that name.
pub(crate) fn slice(text: &str, name: &str) -> Option<String> {
    if text.contains("\"\"\"") || text.contains("'''") {
        return None;
    }
    let mut out = String::with_capacity(1024);
    // Whether the lines being read go to `out`; before the first header, top-level keys do.
    let mut keep = true;
    let mut in_preamble = true;
    let mut found = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            in_preamble = false;
            if !line.starts_with('[') {
                return None;
            }
            keep = match header(trimmed)? {
                Owner::Settings | Owner::Client => true,
                Owner::Connection(n) => {
                    let mine = n == name;
                    found |= mine;
                    mine
                }
            };
        } else if in_preamble && !(trimmed.is_empty() || trimmed.starts_with('#')) {
            // Only `version = N` is expected up there; a dotted key or an inline table could
            // define connections in a way this cut would miss.
            if !trimmed.starts_with("version") {
                return None;
            }
        }
        if keep {
            out.push_str(line);
        }
    }
    found.then_some(out)
}

enum Owner<'a> {
    Settings,
    Client,
    Connection(&'a str),
}

/// Whose table a header line opens; `None` for any header conn does not write itself.
fn header(line: &str) -> Option<Owner<'_>> {
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
        return Some(Owner::Settings);
    }
    if let Some(rest) = inner.strip_prefix("clients.") {
        return rest.starts_with('"').then_some(Owner::Client);
    }
    let rest = inner.strip_prefix("connections.")?;
    let (name, _) = key(rest)?;
    Some(Owner::Connection(name))
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
            assert!(slice(odd, "a").is_none(), "{odd}");
        }
    }
}

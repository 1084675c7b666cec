//! Changing a TOML file that people also edit by hand: `apply` makes the parsed document say
//! what a freshly serialized one says while touching only what differs, so comments, the order
//! of tables and keys, inline tables and quoting survive.

use toml_edit::{DocumentMut, Item, Key, Table, TableLike, Value};

/// Makes `doc` hold the same data as `want`: changed values are replaced in place (keeping the
/// comments around them), keys `want` lacks are removed, new keys appended to their table. A
/// table of `renamed` (e.g. `connections`) whose entry reappears under a new key with the same
/// `id_key` value is renamed where it stands.
pub(crate) fn apply(doc: &mut DocumentMut, want: &DocumentMut, renamed: &str, id_key: &str) {
    if let (Some(Item::Table(have)), Some(Item::Table(new))) =
        (doc.get_mut(renamed), want.get(renamed))
    {
        follow_renames(have, new, id_key);
    }
    merge_table(doc.as_table_mut(), want.as_table());
}

/// Renames entries of `have` whose `id_key` value now sits under another key in `want`.
fn follow_renames(have: &mut Table, want: &Table, id_key: &str) {
    let id_of = |item: &Item| {
        item.as_table_like()
            .and_then(|t| t.get(id_key))
            .and_then(Item::as_str)
            .map(str::to_string)
    };
    let gone: Vec<(String, String)> = have
        .iter()
        .filter(|(k, _)| !want.contains_key(k))
        .filter_map(|(k, v)| id_of(v).map(|id| (k.to_string(), id)))
        .collect();
    for (old, id) in gone {
        let new = want
            .iter()
            .find(|(k, v)| !have.contains_key(k) && id_of(v).as_deref() == Some(id.as_str()))
            .map(|(k, _)| k.to_string());
        if let Some(new) = new {
            rename_key(have, &old, &new);
        }
    }
}

/// Renames `old` to `new` keeping its place in the table (and its comments, which belong to
/// the item).
fn rename_key(t: &mut Table, old: &str, new: &str) {
    let keys: Vec<String> = t.iter().map(|(k, _)| k.to_string()).collect();
    let Some(at) = keys.iter().position(|k| k == old) else {
        return;
    };
    let tail: Vec<(Key, Item)> = keys[at..]
        .iter()
        .filter_map(|k| t.remove_entry(k))
        .collect();
    for (key, item) in tail {
        if key.get() == old {
            let mut renamed = Key::new(new);
            *renamed.leaf_decor_mut() = key.leaf_decor().clone();
            t.insert_formatted(&renamed, item);
        } else {
            t.insert_formatted(&key, item);
        }
    }
}

fn merge_table(have: &mut dyn TableLike, want: &dyn TableLike) {
    let gone: Vec<String> = have
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| !want.contains_key(k))
        .collect();
    for k in gone {
        have.remove(&k);
    }
    for (k, w) in want.iter() {
        match have.get_mut(k) {
            Some(h) => merge_item(h, w),
            None => {
                have.insert(k, fresh(w.clone()));
            }
        }
    }
}

fn merge_item(have: &mut Item, want: &Item) {
    // Tables merge key by key, whether standard, dotted or inline on either side.
    if let (Some(h), Some(w)) = (have.as_table_like_mut(), want.as_table_like()) {
        merge_table(h, w);
        return;
    }
    match (have.as_value_mut(), want.as_value()) {
        (Some(h), Some(w)) if same_value(h, w) => {}
        (Some(h), Some(w)) => {
            let decor = h.decor().clone();
            *h = w.clone();
            *h.decor_mut() = decor;
        }
        _ => *have = want.clone(),
    }
}

/// A new item placed after what is already there: its tables drop the positions they had in
/// the serialized document and follow their neighbours instead.
fn fresh(mut item: Item) -> Item {
    fn clear(t: &mut Table) {
        t.set_position(None);
        for (_, v) in t.iter_mut() {
            if let Item::Table(sub) = v {
                clear(sub);
            }
        }
    }
    if let Item::Table(t) = &mut item {
        clear(t);
    }
    item
}

/// Equal as data, whatever the formatting (quotes, spacing, comments inside arrays).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.value() == y.value(),
        (Value::Integer(x), Value::Integer(y)) => x.value() == y.value(),
        (Value::Float(x), Value::Float(y)) => x.value().to_bits() == y.value().to_bits(),
        (Value::Boolean(x), Value::Boolean(y)) => x.value() == y.value(),
        (Value::Datetime(x), Value::Datetime(y)) => x.value() == y.value(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| same_value(a, b))
        }
        (Value::InlineTable(x), Value::InlineTable(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(have: &str, want: &str) -> String {
        let mut doc: DocumentMut = have.parse().unwrap();
        let want: DocumentMut = want.parse().unwrap();
        apply(&mut doc, &want, "connections", "id");
        doc.to_string()
    }

    #[test]
    fn comments_order_and_inline_tables_survive_a_change() {
        let have = "# mine\nversion = 1\n\n[connections.b] # second first\nid = \"2\"\ninputs = { url = 'x' }\n\n# about a\n[connections.a]\nid = \"1\"\nenv = \"production\"\n";
        let want = "version = 1\n[connections.a]\nid = \"1\"\nenv = \"sandbox\"\n[connections.b]\nid = \"2\"\n[connections.b.inputs]\nurl = \"x\"\n";
        assert_eq!(
            run(have, want),
            "# mine\nversion = 1\n\n[connections.b] # second first\nid = \"2\"\ninputs = { url = 'x' }\n\n# about a\n[connections.a]\nid = \"1\"\nenv = \"sandbox\"\n"
        );
    }

    #[test]
    fn a_rename_keeps_the_place_and_the_comment() {
        let have = "[connections.b]\nid = \"2\"\n\n# note on a\n[connections.a]\nid = \"1\"\n\n[connections.c]\nid = \"3\"\n";
        let want = "[connections.b]\nid = \"2\"\n[connections.c]\nid = \"3\"\n[connections.z]\nid = \"1\"\n";
        assert_eq!(
            run(have, want),
            "[connections.b]\nid = \"2\"\n\n# note on a\n[connections.z]\nid = \"1\"\n\n[connections.c]\nid = \"3\"\n"
        );
    }

    #[test]
    fn removed_keys_go_and_new_tables_come_last() {
        let have = "[connections.b]\nid = \"2\"\nold = 1\n\n[clients.x]\nid = \"9\"\n";
        let want =
            "[connections.b]\nid = \"2\"\n[connections.a]\nid = \"1\"\n[clients.x]\nid = \"9\"\n";
        let out = run(have, want);
        assert!(!out.contains("old"), "{out}");
        let a = out.find("[connections.a]").unwrap();
        assert!(out.find("[connections.b]").unwrap() < a, "{out}");
        assert!(out.find("[clients.x]").unwrap() > a, "{out}");
    }
}

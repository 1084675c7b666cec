//! In a big `connections.toml` (one with the JSON cache), `conn new`, `rm` and `rename` write
//! one edit to `connections.journal.json` instead of the whole file, every reader applies the
//! journal, and the edits are made to the file (comments kept) when 32 are pending or any other
//! change is made. A hand edit meanwhile, a fold interrupted before the journal was deleted and
//! a broken journal are each read right; a small store never gets a journal.

use std::collections::BTreeSet;

use crate::support::*;

/// How many connections the big stores of these tests hold (about 300 KB, over the 256 KiB
/// from which connections.toml gets its cache and a journal).
const N: usize = 1000;

/// A comment written by hand into the big store, that every fold must keep.
const COMMENT: &str = "# hand-written: the billing connections start here, keep me\n";

/// `connections.toml` of `N` `http` connections (`c0000` …) with `COMMENT` before `c0500`,
/// written as a script would, then read once so that it gets its cache.
fn big_store(env: &TestEnv) -> String {
    let text = http_store_toml(N, 4, INPUTS).replacen(
        "\n[connections.c0500]\n",
        &format!("\n{COMMENT}[connections.c0500]\n"),
        1,
    );
    assert!(text.len() >= 256 * 1024, "{} bytes is not big", text.len());
    std::fs::create_dir_all(env.home()).unwrap();
    write_private(&env.connections_toml(), &text);
    assert_eq!(names(env).len(), N);
    assert!(cache_path(env).exists(), "list made the cache");
    text
}

const INPUTS: &str =
    "base_url = \"http://127.0.0.1:1/a/path/long/enough/for/a/big/file\"\ncheck_path = \"/user\"\n";

/// The tables of connection `name` with id `id(i)`, as `http_store_toml` writes them.
fn tables(name: &str, i: usize) -> String {
    format!(
        "\n[connections.{name}]\nid = \"{}\"\nprovider = \"http\"\nauth = \"api_key\"\nenv = \"production\"\nstore = \"file\"\ncreated_at = \"2026-01-01T00:00:00Z\"\nupdated_at = \"2026-01-01T00:00:00Z\"\n[connections.{name}.inputs]\n{INPUTS}",
        id(i)
    )
}

/// Writes `path` as conn would want it: mode 600 (no warning about it in every output).
fn write_private(path: &std::path::Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn cache_path(env: &TestEnv) -> std::path::PathBuf {
    env.home().join(".connections.cache.json")
}

fn journal_path(env: &TestEnv) -> std::path::PathBuf {
    env.home().join("connections.journal.json")
}

/// The journal as JSON; `None` when there is none.
fn journal(env: &TestEnv) -> Option<serde_json::Value> {
    let bytes = std::fs::read(journal_path(env)).ok()?;
    Some(serde_json::from_slice(&bytes).unwrap())
}

/// How many edits the journal holds (0 when there is none).
fn pending(env: &TestEnv) -> usize {
    journal(env).map_or(0, |j| j["edits"].as_array().unwrap().len())
}

/// The content hash conn names connections.toml's versions with: xxh3_64, 16 hex digits.
fn hash_of(bytes: &[u8]) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(bytes))
}

/// `conn -v new NAME` of the `http` provider with API key `sk-NAME`.
fn add(env: &TestEnv, name: &str) -> Out {
    new_http_key(env, name, &format!("sk-{name}"))
}

fn list(env: &TestEnv) -> serde_json::Value {
    let out = env.run(&["list", "--json"]);
    out.ok();
    out.json()
}

fn names(env: &TestEnv) -> Vec<String> {
    names_in(&list(env))
}

fn name_set(env: &TestEnv) -> BTreeSet<String> {
    let names = names(env);
    let set: BTreeSet<String> = names.iter().cloned().collect();
    assert_eq!(set.len(), names.len(), "a connection listed twice");
    set
}

/// The names of the connections in connections.toml itself (parsed without conn).
fn file_names(env: &TestEnv) -> BTreeSet<String> {
    env.connections().keys().cloned().collect()
}

fn id(i: usize) -> String {
    format!("{i:024x}")
}

#[test]
fn new_rename_and_rm_in_a_big_store_wait_in_the_journal_until_32_are_folded_into_the_file() {
    let env = TestEnv::new();
    big_store(&env);
    // Something learned about c0005, which is removed below: a check's result.
    env.run(&["check", "c0005"]);
    let state = || std::fs::read_to_string(env.home().join("state.json")).unwrap_or_default();
    assert!(
        state().contains(&id(5)),
        "check recorded c0005: {}",
        state()
    );
    let file = std::fs::read(env.connections_toml()).unwrap();
    let cache = std::fs::read(cache_path(&env)).unwrap();

    let out = add(&env, "fresh");
    out.ok();
    assert!(
        out.stderr.contains("kept in the journal (1 pending)"),
        "{}",
        out.stderr
    );
    env.run(&["rename", "c0001", "first"]).ok();
    let out = env.run(&["-v", "rm", "c0005", "--yes"]);
    out.ok();
    assert!(
        out.stderr.contains("kept in the journal (3 pending)"),
        "{}",
        out.stderr
    );

    // connections.toml and its cache are as they were; the journal holds the three edits.
    assert!(std::fs::read(env.connections_toml()).unwrap() == file);
    assert!(std::fs::read(cache_path(&env)).unwrap() == cache);
    let j = journal(&env).unwrap();
    assert_eq!(j["base"], hash_of(&file));
    assert!(j.get("folded").is_none(), "{j}");
    let edits = j["edits"].as_array().unwrap();
    assert_eq!(edits.len(), 3);
    assert_eq!(edits[0]["insert"]["name"], "fresh");
    assert_eq!(edits[1]["rename"]["old"], "c0001");
    assert_eq!(edits[1]["rename"]["new"], "first");
    assert_eq!(edits[1]["rename"]["id"], id(1));
    assert_eq!(edits[2]["remove"]["name"], "c0005");
    assert_eq!(edits[2]["remove"]["id"], id(5));
    assert!(
        !std::fs::read_to_string(journal_path(&env))
            .unwrap()
            .contains("sk-fresh"),
        "no secret in the journal"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(journal_path(&env))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // A change that does not apply to the pending state is refused and writes nothing.
    let j_bytes = std::fs::read(journal_path(&env)).unwrap();
    env.run(&["rm", "c0005", "--yes"]).code(1);
    env.run(&["rename", "c0001", "other"]).code(1);
    env.run(&["rename", "c0002", "fresh"]).code(1);
    add(&env, "first").code(1);
    assert!(std::fs::read(journal_path(&env)).unwrap() == j_bytes);
    assert!(std::fs::read(env.connections_toml()).unwrap() == file);

    // Every reader sees the three changes.
    let listed = name_set(&env);
    assert_eq!(listed.len(), N);
    assert!(listed.contains("fresh") && listed.contains("first"));
    assert!(!listed.contains("c0001") && !listed.contains("c0005"));
    let out = env.run(&["show", "fresh", "--json"]);
    out.ok();
    assert_eq!(out.json()["provider"], "http");
    let out = env.run(&["show", "first", "--json"]);
    out.ok();
    assert_eq!(out.json()["inputs"]["check_path"], "/user");
    env.run(&["show", "c0001"]).code(1);
    env.run(&["show", "c0005"]).code(1);
    let out = env.run(&["token", "fresh"]);
    out.ok();
    assert_eq!(out.stdout.trim(), "sk-fresh");
    let out = env.run(&[
        "exec",
        "fresh=F",
        "--",
        "printenv",
        "F_API_KEY",
        "F_BASE_URL",
    ]);
    out.ok();
    assert_eq!(out.stdout, "sk-fresh\nhttp://127.0.0.1:1\n");
    env.run(&["token", "c0005"]).code(1);

    // doctor says how many edits are pending and where, and looks at the journal's mode.
    let out = env.run(&["doctor"]);
    let journal_file = journal_path(&env).display().to_string();
    assert!(
        out.stdout.lines().any(|l| l.contains("connections.toml")
            && l.contains("3 of its latest")
            && l.contains(&journal_file)),
        "{out:?}"
    );
    assert!(
        out.stdout.contains(&format!("{journal_file} is 600")),
        "{out:?}"
    );
    // A journal others may read is warned about, and the next change writes it private again.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(journal_path(&env), std::fs::Permissions::from_mode(0o644))
            .unwrap();
    }
    let out = env.run(&["list"]);
    out.ok();
    assert!(
        out.stderr
            .contains(&format!("{journal_file} is readable by other users")),
        "{out:?}"
    );

    // 28 more changes: 31 pending, still not in the file.
    let mut want: BTreeSet<String> = listed.clone();
    for i in 0..10 {
        let name = format!("more{i}");
        add(&env, &name).ok();
        want.insert(name);
    }
    assert!(!env.run(&["list"]).stderr.contains("readable"));
    for i in 10..18 {
        let (old, new) = (format!("c{i:04}"), format!("renamed{i}"));
        env.run(&["rename", &old, &new]).ok();
        want.remove(&old);
        want.insert(new);
    }
    // A connection added and renamed while both wait in the journal keeps its secret.
    env.run(&["rename", "more0", "more0.b"]).ok();
    want.remove("more0");
    want.insert("more0.b".into());
    let out = env.run(&["token", "more0.b"]);
    out.ok();
    assert_eq!(out.stdout.trim(), "sk-more0");
    for i in 20..29 {
        let name = format!("c{i:04}");
        env.run(&["rm", &name, "--yes"]).ok();
        want.remove(&name);
    }
    assert_eq!(pending(&env), 31);
    assert!(std::fs::read(env.connections_toml()).unwrap() == file);
    let before_fold = list(&env);
    assert_eq!(name_set(&env), want);

    // The 32nd folds: the file (and its cache) get every edit, the journal is deleted.
    let out = env.run(&["-v", "rm", "c0029", "--yes"]);
    out.ok();
    assert!(
        out.stderr.contains("32 pending edits made to it"),
        "{}",
        out.stderr
    );
    want.remove("c0029");
    assert!(!journal_path(&env).exists(), "the journal is folded");
    assert_eq!(file_names(&env), want);
    let text = env.read_connections();
    assert!(
        text.contains(&format!("{COMMENT}[connections.c0500]\n")),
        "comment kept"
    );
    assert_eq!(
        env.connections()["first"]["id"].as_str(),
        Some(id(1).as_str())
    );
    assert_eq!(
        env.connections()["fresh"]["inputs"]["base_url"].as_str(),
        Some("http://127.0.0.1:1")
    );
    // list says what it said before, less c0029, from the cache and from the file alike.
    let mut expected = before_fold.as_array().unwrap().clone();
    expected.retain(|r| r["name"] != "c0029");
    assert_eq!(list(&env).as_array().unwrap(), &expected);
    std::fs::remove_file(cache_path(&env)).unwrap();
    assert_eq!(list(&env).as_array().unwrap(), &expected);
    // What was learned about the removed c0005 is forgotten with the fold.
    assert!(!state().contains(&id(5)), "{}", state());
    env.run(&["token", "more3"]).ok();
}

#[test]
fn concurrent_news_racing_a_fold_lose_nothing() {
    let env = TestEnv::new();
    big_store(&env);
    for i in 0..20 {
        env.run(&["rm", &format!("c{i:04}"), "--yes"]).ok();
    }
    assert_eq!(pending(&env), 20);

    // 20 `conn new` at once, the 12th to take the lock folding, and readers meanwhile, some
    // of them racing the fold: each sees every connection once.
    let kept: BTreeSet<String> = (20..N).map(|i| format!("c{i:04}")).collect();
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..20)
            .map(|i| {
                let env = &env;
                s.spawn(move || {
                    let args = http_key_args(&format!("n{i:02}"));
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    env.run_env(&args, &[("K", &format!("sk-n{i:02}"))])
                })
            })
            .collect();
        let readers: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    (0..4)
                        .map(|_| {
                            let set = name_set(&env);
                            assert!(set.is_superset(&kept), "a connection missing");
                            assert!(set.iter().all(|n| kept.contains(n) || n.starts_with('n')));
                            set.len()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap().ok();
        }
        for r in readers {
            for n in r.join().unwrap() {
                assert!((N - 20..=N).contains(&n), "{n} listed");
            }
        }
    });
    assert_eq!(pending(&env), 8, "folded once at 32, 8 since");
    let mut want: BTreeSet<String> = (20..N).map(|i| format!("c{i:04}")).collect();
    want.extend((0..20).map(|i| format!("n{i:02}")));
    assert_eq!(name_set(&env), want);
    let in_file = file_names(&env);
    let folded_news = in_file.iter().filter(|n| n.starts_with('n')).count();
    assert_eq!(
        folded_news, 12,
        "the fold made the first 12 news to the file"
    );
    assert!(!in_file.contains("c0000"));

    // Any other change to the file folds the journal first.
    let out = env.run(&[
        "-v",
        "edit",
        "c0500",
        "--yes",
        "--no-check",
        "--set",
        "check_path=/v2",
    ]);
    out.ok();
    assert!(
        out.stderr.contains("8 pending edits made to it"),
        "{}",
        out.stderr
    );
    assert!(!journal_path(&env).exists());
    assert_eq!(file_names(&env), want);
    assert_eq!(
        env.connections()["c0500"]["inputs"]["check_path"].as_str(),
        Some("/v2")
    );
    assert!(env.read_connections().contains(COMMENT));
    assert_eq!(name_set(&env), want);
    for i in [0, 7, 19] {
        let out = env.run(&["token", &format!("n{i:02}")]);
        out.ok();
        assert_eq!(out.stdout.trim(), format!("sk-n{i:02}"));
    }
}

#[test]
fn a_hand_edit_while_edits_are_pending_is_read_with_them_and_folded_with_them() {
    let env = TestEnv::new();
    let text = big_store(&env);
    add(&env, "added").ok();
    env.run(&["rm", "c0003", "--yes"]).ok();
    add(&env, "clash").ok();
    assert_eq!(pending(&env), 3);
    let clash_id = journal(&env).unwrap()["edits"][2]["insert"]["connection"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Where conn's `clash` goes once a hand edit takes its name.
    let moved = format!("clash.{}", &clash_id[..8]);

    // By hand: c0004 deleted, `byhand` appended, and `clash` taken by another connection.
    let c0004 = tables("c0004", 4);
    let mut edited = text.replacen(&c0004, "", 1);
    assert_eq!(edited.len(), text.len() - c0004.len(), "c0004 deleted");
    for (name, i) in [("byhand", 0xb1000), ("clash", 0xb2000)] {
        edited.push_str("\n# added by hand");
        edited.push_str(&tables(name, i));
    }
    write_private(&env.connections_toml(), &edited);

    let mut want: BTreeSet<String> = (0..N).map(|i| format!("c{i:04}")).collect();
    want.remove("c0003");
    want.remove("c0004");
    want.extend(["added", "byhand", "clash", &moved].map(String::from));
    let out = env.run(&["-v", "list", "--json"]);
    out.ok();
    let listed: BTreeSet<String> = names_in(&out.json()).into_iter().collect();
    assert_eq!(listed, want);
    // The file's `clash` keeps its name; the one conn added is kept under another, and -v
    // says so.
    assert!(
        out.stderr.contains("another connection named \"clash\"")
            && out.stderr.contains(&format!("is {moved:?}")),
        "{out:?}"
    );
    let out = env.run(&["show", "clash", "--json"]);
    out.ok();
    assert_eq!(out.json()["inputs"]["check_path"], "/user");
    let out = env.run(&["token", &moved]);
    out.ok();
    assert_eq!(out.stdout.trim(), "sk-clash", "its secret is still its own");
    env.run(&["token", "added"]).ok();
    env.run(&["show", "byhand"]).ok();
    env.run(&["show", "c0004"]).code(1);
    // Again, now from the cache that reading the edited file made.
    assert_eq!(name_set(&env), want);

    // The next change makes the pending edits and itself to the file, keeping the hand edit.
    let out = env.run(&["-v", "rm", "c0010", "--yes"]);
    out.ok();
    want.remove("c0010");
    assert!(!journal_path(&env).exists(), "{}", out.stderr);
    assert_eq!(file_names(&env), want);
    assert_eq!(
        env.connections()["clash"]["id"].as_str(),
        Some(id(0xb2000).as_str())
    );
    assert_eq!(
        env.connections()[&moved]["id"].as_str(),
        Some(clash_id.as_str())
    );
    let after = env.read_connections();
    assert!(after.contains(COMMENT) && after.contains("# added by hand\n"));
    assert_eq!(name_set(&env), want);
}

#[test]
fn a_journal_left_by_an_interrupted_fold_is_ignored_and_replaced() {
    let env = TestEnv::new();
    big_store(&env);
    // Among the pending edits, `tmp` added, renamed to `moved`, removed, and its last name
    // reused: replayed on the folded file (where `moved` is c0003), `tmp` would come back.
    add(&env, "tmp").ok();
    env.run(&["rename", "tmp", "moved"]).ok();
    env.run(&["rm", "moved", "--yes"]).ok();
    env.run(&["rename", "c0003", "moved"]).ok();
    add(&env, "kept").ok();
    env.run(&["rm", "c0002", "--yes"]).ok();
    add(&env, "c0002").ok();
    let left = std::fs::read(journal_path(&env)).unwrap();
    assert_eq!(pending(&env), 7);
    let pending_list = list(&env);

    // A fold that stopped after marking the journal, before writing the file: the journal
    // still applies.
    let mut marked: serde_json::Value = serde_json::from_slice(&left).unwrap();
    marked["folded"] = hash_of(b"a connections.toml never written").into();
    std::fs::write(journal_path(&env), serde_json::to_vec(&marked).unwrap()).unwrap();
    assert_eq!(list(&env), pending_list);
    env.run(&["show", "moved"]).ok();
    std::fs::write(journal_path(&env), &left).unwrap();

    // Fold (through another change to the file).
    fold_journal(&env, "c0600", "/v2");
    let folded = list(&env);
    let folded_file = std::fs::read(env.connections_toml()).unwrap();

    // As if that fold had stopped after writing the file: the journal, marked, is still there.
    let mut marked: serde_json::Value = serde_json::from_slice(&left).unwrap();
    marked["folded"] = hash_of(&folded_file).into();
    std::fs::write(journal_path(&env), serde_json::to_vec(&marked).unwrap()).unwrap();

    assert_eq!(list(&env), folded, "nothing resurrected, nothing doubled");
    assert_eq!(
        folded, pending_list,
        "the fold changed nothing but c0600's setting"
    );
    let got = name_set(&env);
    assert!(!got.contains("tmp") && got.contains("kept") && got.contains("moved"));
    env.run(&["show", "tmp"]).code(1);
    env.run(&["show", "c0003"]).code(1);
    let out = env.run(&["show", "moved", "--json"]);
    out.ok();
    assert_eq!(out.json()["inputs"]["check_path"], "/user");
    let out = env.run(&["show", "c0002", "--json"]);
    out.ok();
    assert_eq!(out.json()["inputs"]["base_url"], "http://127.0.0.1:1");

    // The next change replaces it with a journal of that change alone, on the folded file.
    add(&env, "next").ok();
    let j = journal(&env).unwrap();
    assert_eq!(j["edits"].as_array().unwrap().len(), 1, "{j}");
    assert_eq!(j["edits"][0]["insert"]["name"], "next");
    assert_eq!(j["base"], hash_of(&folded_file));
    assert!(j.get("folded").is_none(), "{j}");
    assert!(std::fs::read(env.connections_toml()).unwrap() == folded_file);
    let mut want: BTreeSet<String> = names_in(&folded).into_iter().collect();
    want.insert("next".into());
    assert_eq!(name_set(&env), want);
}

#[test]
fn a_broken_journal_stops_every_command_and_is_never_overwritten() {
    let env = TestEnv::new();
    big_store(&env);
    add(&env, "pending").ok();
    let whole = std::fs::read(journal_path(&env)).unwrap();
    let broken = &whole[..whole.len() / 2];
    std::fs::write(journal_path(&env), broken).unwrap();
    let journal_file = journal_path(&env).display().to_string();

    let out = env.run(&["list"]);
    out.code(1);
    assert!(
        out.stderr.contains(&format!("{journal_file}:1:")) && out.stderr.contains("delete it"),
        "{out:?}"
    );
    let mut new_other = vec!["-v".to_string()];
    new_other.extend(http_key_args("other"));
    let new_other: Vec<&str> = new_other.iter().map(String::as_str).collect();
    for args in [
        &new_other[..],
        &["rm", "c0001", "--yes"],
        &["rename", "c0002", "two"],
        &[
            "edit",
            "c0003",
            "--yes",
            "--no-check",
            "--set",
            "check_path=/v2",
        ],
    ] {
        let out = env.run_env(args, &[("K", "sk-other")]);
        out.code(1);
        assert!(out.stderr.contains(&journal_file), "{args:?}: {out:?}");
        assert!(
            std::fs::read(journal_path(&env)).unwrap() == broken,
            "{args:?}"
        );
    }
    env.run(&["show", "c0001"]).code(1);
    // A check that cannot run at all is UNKNOWN; doctor says what is wrong.
    env.run(&["check", "c0001"]).code(3);
    let out = env.run(&["doctor"]);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("FAIL connections.toml") && l.contains(&journal_file))
            && out.stdout.contains("delete it"),
        "{out:?}"
    );
    assert!(std::fs::read(journal_path(&env)).unwrap() == broken);
    assert_eq!(file_names(&env).len(), N);

    // Deleted, as the error says: the pending change is forgotten, the rest reads as before.
    std::fs::remove_file(journal_path(&env)).unwrap();
    let got = name_set(&env);
    assert_eq!(got.len(), N);
    assert!(!got.contains("pending") && got.contains("c0001"));
}

#[test]
fn a_small_store_never_gets_a_journal() {
    let env = TestEnv::new();
    let text = http_store_toml(20, 4, INPUTS);
    std::fs::create_dir_all(env.home()).unwrap();
    write_private(&env.connections_toml(), &text);
    assert_eq!(names(&env).len(), 20);

    let out = add(&env, "fresh");
    out.ok();
    assert!(!out.stderr.contains("journal"), "{}", out.stderr);
    env.run(&["rename", "c0001", "first"]).ok();
    env.run(&["rm", "c0002", "--yes"]).ok();
    assert!(!journal_path(&env).exists());
    assert!(!cache_path(&env).exists());
    let mut want: BTreeSet<String> = (0..20).map(|i| format!("c{i:04}")).collect();
    want.remove("c0001");
    want.remove("c0002");
    want.extend(["fresh", "first"].map(String::from));
    assert_eq!(file_names(&env), want);
    assert_eq!(name_set(&env), want);
    env.run(&["token", "fresh"]).ok();
}

#[test]
fn a_removal_undone_by_a_hand_rename_keeps_what_conn_learned_about_the_connection() {
    let env = TestEnv::new();
    let text = big_store(&env);
    env.run(&["check", "c0007"]);
    env.run(&["check", "c0008"]);
    let state = || std::fs::read_to_string(env.home().join("state.json")).unwrap_or_default();
    assert!(
        state().contains(&id(7)) && state().contains(&id(8)),
        "{}",
        state()
    );
    env.run(&["rm", "c0007", "--yes"]).ok();
    env.run(&["rm", "c0008", "--yes"]).ok();
    assert_eq!(pending(&env), 2);

    // By hand, in the file that still shows it: c0007 renamed, so it stays.
    let edited = text.replace("[connections.c0007", "[connections.kept7");
    assert_ne!(edited, text);
    write_private(&env.connections_toml(), &edited);
    let got = name_set(&env);
    assert!(got.contains("kept7") && !got.contains("c0007") && !got.contains("c0008"));

    fold_journal(&env, "c0600", "/v2");
    let in_file = file_names(&env);
    assert!(in_file.contains("kept7") && !in_file.contains("c0008"));
    // The fold forgets what was learned about c0008 only: kept7 (c0007's id) is still there.
    assert!(!state().contains(&id(8)), "{}", state());
    assert!(state().contains(&id(7)), "{}", state());
    assert_ne!(env.learned("kept7"), serde_json::Value::Null);
}

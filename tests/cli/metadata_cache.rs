//! The JSON copy of a big `connections.toml` (`.connections.cache.json`) never hides a change:
//! it is used only when made from exactly the file's current bytes, whoever changed them and
//! however (another conn process, a hand edit that keeps the size and the modification time).

use crate::support::*;

/// A `connections.toml` big enough to get the cache, written as a person or a script would.
fn big_store(env: &TestEnv) -> String {
    let text = http_store_toml(
        1500,
        4,
        "base_url = \"http://127.0.0.1:1/a/path/long/enough/for/a/big/file\"\ncheck_path = \"/user\"\n",
    );
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.connections_toml(), &text).unwrap();
    text
}

fn inputs_of(env: &TestEnv, name: &str) -> serde_json::Value {
    let out = env.run(&["show", name, "--json"]);
    out.ok();
    out.json()["inputs"].clone()
}

#[test]
fn the_cache_follows_another_process_and_same_size_same_mtime_hand_edits() {
    let env = TestEnv::new();
    let text = big_store(&env);
    let names = |env: &TestEnv| -> Vec<String> {
        let out = env.run(&["list", "--json"]);
        out.ok();
        names_in(&out.json())
    };
    assert_eq!(names(&env).len(), 1500);
    let cache = env.home().join(".connections.cache.json");
    assert!(cache.exists(), "a big file gets the cache");

    // Another process changes the file (a rename alone would wait in the journal; the edit
    // writes it into the file with its own change): the next one sees the change.
    env.run(&["rename", "c0007", "renamed"]).ok();
    fold(&env);
    assert!(env.read_connections().contains("[connections.renamed]"));
    let now = names(&env);
    assert!(now.contains(&"renamed".to_string()));
    assert!(!now.contains(&"c0007".to_string()));

    // A hand edit keeping the size and the modification time is seen too.
    let file = env.connections_toml();
    let before = std::fs::read_to_string(&file).unwrap();
    let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
    let edited = before.replacen("check_path = \"/user\"", "check_path = \"/usex\"", 1);
    assert_eq!(edited.len(), before.len());
    std::fs::write(&file, &edited).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(
        std::fs::metadata(&file).unwrap().len() as usize,
        before.len()
    );
    assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), mtime);
    assert_eq!(inputs_of(&env, "c0000")["check_path"], "/usex");

    // And a hand edit back to bytes seen before is read as written, not as cached since.
    std::fs::write(&file, &text).unwrap();
    let back = names(&env);
    assert!(back.contains(&"c0007".to_string()));
    assert_eq!(inputs_of(&env, "c0000")["check_path"], "/user");
}

/// Writes the journal's pending edits into connections.toml, as any change to the file does
/// (here a setting of the last connection, which every test keeps).
fn fold(env: &TestEnv) {
    fold_journal(env, "c1499", "/folded");
}

fn add(env: &TestEnv, name: &str) -> Out {
    new_http_key(env, name, "sk-cache-test")
}

fn names(env: &TestEnv) -> Vec<String> {
    let out = env.run(&["list", "--json"]);
    out.ok();
    names_in(&out.json())
}

#[test]
fn new_rm_and_rename_edit_a_big_commented_file_as_text_and_keep_its_comments() {
    let env = TestEnv::new();
    let text = big_store(&env).replacen(
        "\n[connections.c0001]",
        "\n# the first one, by hand\n[connections.c0001] # keep me\n",
        1,
    );
    let text = format!("# my connections, do not reorder\n{text}# the end\n");
    std::fs::write(env.connections_toml(), &text).unwrap();
    assert_eq!(names(&env).len(), 1500, "list makes the cache");

    let out = add(&env, "added.one");
    out.ok();
    assert!(
        out.stderr.contains("kept in the journal (1 pending)"),
        "{}",
        out.stderr
    );
    let out = env.run(&["-v", "rename", "c0001", "first"]);
    out.ok();
    assert!(
        out.stderr.contains("kept in the journal (2 pending)"),
        "{}",
        out.stderr
    );
    let out = env.run(&["-v", "rm", "c0002", "--yes"]);
    out.ok();
    assert!(
        out.stderr.contains("kept in the journal (3 pending)"),
        "{}",
        out.stderr
    );
    assert_eq!(env.read_connections(), text, "not yet in the file");
    // The 32nd change writes them all into the file, as text.
    for i in 0..28 {
        add(&env, &format!("x{i:02}")).ok();
    }
    assert_eq!(env.read_connections(), text, "31 edits still wait");
    let out = add(&env, "x99");
    out.ok();
    assert!(
        out.stderr.contains("32 pending edits made to it"),
        "{}",
        out.stderr
    );
    assert!(env.read_connections().contains("\n[connections.x99]\n"));
    for i in (0..28).map(|i| format!("x{i:02}")).chain(["x99".into()]) {
        env.run(&["rm", &i, "--yes"]).ok();
    }
    fold(&env);

    let after = env.read_connections();
    for comment in [
        "# my connections, do not reorder\n",
        "# the first one, by hand\n[connections.first] # keep me\n",
        "# the end\n",
    ] {
        assert!(after.contains(comment), "{comment:?} kept");
    }
    assert!(!after.contains("c0002"));
    // The file parses to what the commands said (read without the cache too)...
    let conns = env.connections();
    assert_eq!(conns.len(), 1500);
    assert_eq!(conns["added.one"]["provider"].as_str(), Some("http"));
    assert_eq!(
        conns["first"]["id"].as_str(),
        Some(format!("{:024x}", 1).as_str())
    );
    assert!(conns["first"]["updated_at"].as_str() != Some("2026-01-01T00:00:00Z"));
    // ...and the cache, which list reads, says the same.
    let listed = names(&env);
    assert_eq!(listed.len(), 1500);
    for n in ["added.one", "first"] {
        assert!(listed.contains(&n.to_string()), "{n} listed");
    }
    assert!(!listed.contains(&"c0002".to_string()));
    assert!(!listed.contains(&"c0001".to_string()));
    env.run(&["token", "added.one"]).ok();
}

#[test]
fn a_big_file_in_a_layout_conn_does_not_write_is_changed_through_the_whole_file() {
    let env = TestEnv::new();
    // The connections as one `[connections]` table of inline tables: parsed, never cut.
    let mut text = String::from("version = 1\n# inline, by a script\n[connections]\n");
    for i in 0..1500 {
        text.push_str(&format!(
            "c{i:04} = {{ id = \"{i:024x}\", provider = \"http\", auth = \"api_key\", env = \"production\", store = \"file\", created_at = \"2026-01-01T00:00:00Z\", updated_at = \"2026-01-01T00:00:00Z\", inputs = {{ base_url = \"http://127.0.0.1:1/a/path/long/enough/for/a/big/file\", check_path = \"/user\" }} }}\n"
        ));
    }
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.connections_toml(), &text).unwrap();
    assert_eq!(names(&env).len(), 1500);

    let out = add(&env, "added");
    out.ok();
    assert!(!out.stderr.contains("edited as text"), "{}", out.stderr);
    env.run(&["rename", "c0001", "first"]).ok();
    env.run(&["rm", "c0002", "--yes"]).ok();
    env.conn("rm c0002 --yes").code(1);
    // Written into the file (which cannot be edited as text) the whole-file way.
    fold(&env);

    assert!(env.read_connections().contains("# inline, by a script\n"));
    let conns = env.connections();
    assert_eq!(conns.len(), 1500);
    assert!(conns.contains_key("added") && conns.contains_key("first"));
    assert!(!conns.contains_key("c0001") && !conns.contains_key("c0002"));
    let listed = names(&env);
    assert_eq!(listed.len(), 1500);
    assert!(listed.contains(&"added".to_string()));
}

#[test]
fn concurrent_news_and_rms_on_a_big_file_lose_nothing() {
    let env = TestEnv::new();
    big_store(&env);
    assert_eq!(names(&env).len(), 1500);
    let spawn = |args: Vec<String>| {
        let mut c = env.cmd();
        c.args(&args)
            .env("K", "sk-concurrent")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        c.spawn().unwrap()
    };
    let mut children = Vec::new();
    for i in 0..12 {
        children.push(spawn(http_key_args(&format!("n{i}"))));
        children.push(spawn(
            ["rm", &format!("c{i:04}"), "--yes"]
                .map(String::from)
                .to_vec(),
        ));
    }
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let listed = names(&env);
    fold(&env);
    let conns = env.connections();
    assert_eq!(conns.len(), 1500);
    assert_eq!(listed.len(), 1500);
    for i in 0..12 {
        assert!(conns.contains_key(&format!("n{i}")));
        assert!(!conns.contains_key(&format!("c{i:04}")));
        assert!(listed.contains(&format!("n{i}")));
        assert!(!listed.contains(&format!("c{i:04}")));
    }
    env.run(&["token", "n7"]).ok();
}

/// When the cache was last found true: its mtime.
fn checked_at(env: &TestEnv) -> std::time::SystemTime {
    std::fs::metadata(env.home().join(".connections.cache.json"))
        .unwrap()
        .modified()
        .unwrap()
}

/// Once connections.toml has been left alone for a while, commands believe the cache on the
/// file's stamp (inode, size, mtime, ctime) without reading it; every way of changing the file
/// still shows, including a hand edit in place that keeps the size and the mtime (only the
/// ctime, which no program can set, tells), and a copy of the same bytes under a new inode.
#[cfg(unix)]
#[test]
fn a_settled_cache_is_believed_on_the_stamp_and_still_sees_every_change() {
    use std::io::{Seek, Write};
    let env = TestEnv::new();
    big_store(&env);
    let settle = || std::thread::sleep(std::time::Duration::from_millis(2300));
    assert_eq!(names(&env).len(), 1500, "list makes the cache");
    // Too soon after the file changed: the bytes are hashed.
    let out = env.run(&["-v", "show", "c0000"]);
    out.ok();
    assert!(
        out.stderr.contains("believed by its hash"),
        "{}",
        out.stderr
    );
    settle();
    let before = checked_at(&env);
    let out = env.run(&["-v", "show", "c0000"]);
    out.ok();
    assert!(
        out.stderr.contains("believed by its hash"),
        "{}",
        out.stderr
    );
    assert!(
        checked_at(&env) > before,
        "the check moved the cache's date"
    );
    // Settled: the stamp alone, for one connection and for all.
    let out = env.run(&["-v", "show", "c0000", "--json"]);
    out.ok();
    assert!(
        out.stderr.contains("believed by the file's stamp"),
        "{}",
        out.stderr
    );
    assert_eq!(out.json()["inputs"]["check_path"], "/user");
    let out = env.run(&["-v", "list", "--json"]);
    out.ok();
    assert!(
        out.stderr.contains("believed by the file's stamp"),
        "{}",
        out.stderr
    );

    // A hand edit in place (same inode), same size, mtime put back.
    let file = env.connections_toml();
    let meta = std::fs::metadata(&file).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let edited = text.replacen("check_path = \"/user\"", "check_path = \"/usex\"", 1);
    assert_eq!(edited.len(), text.len());
    let mut f = std::fs::File::options().write(true).open(&file).unwrap();
    f.rewind().unwrap();
    f.write_all(edited.as_bytes()).unwrap();
    f.set_modified(meta.modified().unwrap()).unwrap();
    drop(f);
    let now = std::fs::metadata(&file).unwrap();
    {
        use std::os::unix::fs::MetadataExt;
        assert_eq!((now.ino(), now.len()), (meta.ino(), meta.len()));
        assert_eq!(now.modified().unwrap(), meta.modified().unwrap());
    }
    assert_eq!(inputs_of(&env, "c0000")["check_path"], "/usex");
    let out = env.run(&["list", "--json"]);
    out.ok();

    // Settled again, then another conn process changes it.
    settle();
    env.run(&["show", "c0001"]).ok();
    let out = env.run(&["-v", "show", "c0000", "--json"]);
    assert!(
        out.stderr.contains("believed by the file's stamp"),
        "{}",
        out.stderr
    );
    assert_eq!(out.json()["inputs"]["check_path"], "/usex");
    env.run(&["rename", "c0007", "renamed"]).ok();
    let listed = names(&env);
    assert!(listed.contains(&"renamed".to_string()) && !listed.contains(&"c0007".to_string()));
    env.run(&["show", "renamed"]).ok();
    env.conn("show c0007").code(1);

    // The same bytes copied back under a new inode: still read right, and re-stamped.
    settle();
    let copy = env.home().join("copy.toml");
    std::fs::copy(&file, &copy).unwrap();
    std::fs::rename(&copy, &file).unwrap();
    env.run(&["show", "renamed"]).ok();
    settle();
    env.run(&["show", "renamed"]).ok();
    let out = env.run(&["-v", "show", "renamed"]);
    out.ok();
    assert!(
        out.stderr.contains("believed by the file's stamp"),
        "{}",
        out.stderr
    );
}

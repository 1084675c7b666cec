//! The JSON copy of a big `connections.toml` (`.connections.cache.json`) never hides a change:
//! it is used only when made from exactly the file's current bytes, whoever changed them and
//! however (another conn process, a hand edit that keeps the size and the modification time).

use crate::support::*;

/// A `connections.toml` big enough to get the cache, written as a person or a script would.
fn big_store(env: &TestEnv) -> String {
    let mut text = String::from("version = 1\n");
    for i in 0..1500 {
        text.push_str(&format!(
            "\n[connections.c{i:04}]\nid = \"{i:024x}\"\nprovider = \"http\"\nauth = \"api_key\"\nenv = \"production\"\nstore = \"file\"\ncreated_at = \"2026-01-01T00:00:00Z\"\nupdated_at = \"2026-01-01T00:00:00Z\"\n[connections.c{i:04}.inputs]\nbase_url = \"http://127.0.0.1:1/a/path/long/enough/for/a/big/file\"\ncheck_path = \"/user\"\n"
        ));
    }
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
        out.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&env).len(), 1500);
    let cache = env.home().join(".connections.cache.json");
    assert!(cache.exists(), "a big file gets the cache");

    // Another process changes the file: the next one sees the change.
    env.run(&["rename", "c0007", "renamed"]).ok();
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

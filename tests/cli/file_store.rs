//! The file store's layout (one age file per connection) and the migration from the single
//! `secrets.age` of earlier versions, through the binary and the standard `age` tool.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::*;

fn new_stripe(env: &TestEnv, name: &str, key: &str) {
    env.run_env(
        &[
            "new",
            name,
            "--provider",
            "stripe",
            "--secret-env",
            "K",
            "--no-check",
        ],
        &[("K", key)],
    )
    .ok();
}

/// Rewrites the store as earlier versions kept it: every bundle in one `secrets.age`,
/// encrypted with the age tool to the store's identity.
fn back_to_single_file(env: &TestEnv) -> serde_json::Map<String, serde_json::Value> {
    let all = env.all_secrets();
    let identity = std::fs::read_to_string(env.home().join("identity.txt")).unwrap();
    let recipient = identity
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    let plain = json!({"version": 1, "connections": all}).to_string();
    let mut age = std::process::Command::new("age")
        .args(["-e", "-r", &recipient, "-o"])
        .arg(env.home().join("secrets.age"))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("age is installed by tests/run");
    age.stdin
        .take()
        .unwrap()
        .write_all(plain.as_bytes())
        .unwrap();
    assert!(age.wait().unwrap().success());
    std::fs::remove_dir_all(env.secrets_dir()).unwrap();
    all
}

fn store_detail(env: &TestEnv) -> String {
    let doctor = env.run(&["doctor", "--json"]);
    doctor.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["check"] == "file store")
        .unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn migration_killed_half_way_loses_nothing_and_finishes_on_the_next_run() {
    let env = TestEnv::new();
    for i in 0..10 {
        new_stripe(&env, &format!("c{i}"), &format!("sk_test_migrate_{i:02}"));
    }
    let all = back_to_single_file(&env);
    assert_eq!(all.len(), 10);
    assert!(store_detail(&env).contains("single file"));

    // Bundles move in id order, each under its own lock: holding the sixth one's lock stops
    // the migration half way, deterministically, with five bundles moved.
    let mut ids: Vec<&String> = all.keys().collect();
    ids.sort();
    let locks = env.secrets_dir().join(".locks");
    std::fs::create_dir_all(&locks).unwrap();
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(locks.join(format!("{}.lock", ids[5])))
        .unwrap();
    held.lock().unwrap();
    let mut child = env
        .cmd()
        .args(["token", "c0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let moved = |env: &TestEnv| {
        ids.iter()
            .filter(|id| env.secrets_dir().join(format!("{id}.age")).exists())
            .count()
    };
    let start = Instant::now();
    while moved(&env) < 5 && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(child.try_wait().unwrap().is_none(), "the migration waits");
    child.kill().unwrap();
    child.wait().unwrap();
    drop(held);

    // Killed half way: the old file is intact, five bundles are in the new layout.
    assert_eq!(moved(&env), 5);
    assert!(env.home().join("secrets.age").exists());
    for id in &ids[..5] {
        let doc = env.age_decrypt_file(&env.secrets_dir().join(format!("{id}.age")));
        assert_eq!(doc["secrets"], all[id.as_str()]);
    }

    // The next command finishes the job; every secret reads back, through conn and age -d.
    for i in 0..10 {
        let out = env.run(&["token", &format!("c{i}")]);
        out.ok();
        assert_eq!(out.stdout.trim(), format!("sk_test_migrate_{i:02}"));
    }
    assert!(!env.home().join("secrets.age").exists());
    assert_eq!(env.all_secrets(), all);
    assert!(
        store_detail(&env).contains("one file per connection: 10"),
        "{}",
        store_detail(&env)
    );
}

#[test]
fn a_change_touches_only_its_own_file() {
    let env = TestEnv::new();
    new_stripe(&env, "a", "sk_test_aaaa_1");
    new_stripe(&env, "b", "sk_test_bbbb_1");
    let file_b = env.secrets_dir().join(format!("{}.age", env.id_of("b")));
    let before = std::fs::read(&file_b).unwrap();
    env.run(&["rm", "a", "--yes"]).ok();
    new_stripe(&env, "c", "sk_test_cccc_1");
    assert_eq!(std::fs::read(&file_b).unwrap(), before);
    assert_eq!(env.all_secrets().len(), 2);
}

#[test]
fn twenty_processes_changing_different_connections_lose_nothing() {
    let api = FakeApi::start(|_| (200, json!({"id": 7, "email": "x@acme.test"}).to_string()));
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    for i in 0..20 {
        add_acme(&env, &format!("c{i:02}"), &format!("old-key-{i:02}"));
    }
    // Half re-authorized with new keys, half removed, all at once.
    let children: Vec<_> = (0..20)
        .map(|i| {
            let name = format!("c{i:02}");
            let mut c = env.cmd();
            if i % 2 == 0 {
                c.args(["reauth", &name, "--secret-env", "K"])
                    .env("K", format!("new-key-{i:02}"));
            } else {
                c.args(["rm", &name, "--yes"]);
            }
            c.stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let conns = env.connections();
    assert_eq!(conns.len(), 10);
    let all = env.all_secrets();
    assert_eq!(all.len(), 10, "removed connections left no file behind");
    for i in (0..20).step_by(2) {
        let name = format!("c{i:02}");
        assert_eq!(all[&env.id_of(&name)]["api_key"], format!("new-key-{i:02}"));
        let out = env.run(&["token", &name]);
        out.ok();
        assert_eq!(out.stdout.trim(), format!("new-key-{i:02}"));
    }
}

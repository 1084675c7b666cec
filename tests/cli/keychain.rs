//! The keychain backend against the real Secret Service (gnome-keyring started by tests/run),
//! and the automatic choice between keychain and encrypted file.

use std::process::Command;

use serde_json::json;

use crate::support::*;

fn secret_tool(args: &[&str]) -> (bool, String) {
    let out = Command::new("secret-tool")
        .args(args)
        .output()
        .expect("secret-tool (libsecret-tools) is installed by tests/run");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

#[test]
fn keychain_holds_the_secret_and_rm_deletes_it() {
    let api = FakeApi::expecting_auth(
        "Bearer kc-key-31337",
        json!({"id": 3, "email": "kc@acme.test"}),
    );
    let env = TestEnv::keychain();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    let out = new_acme(&env, "kc", "kc-key-31337");
    out.ok();
    assert!(out.stdout.contains("OS keychain"), "{out:?}");
    let id = env.id_of("kc");
    assert_eq!(env.connections()["kc"]["store"].as_str(), Some("keychain"));

    // What another Secret Service client sees.
    let (found, value) = secret_tool(&["lookup", "service", "conn", "username", &id]);
    assert!(found);
    let v: serde_json::Value = serde_json::from_str(&value).unwrap();
    assert_eq!(v["api_key"], "kc-key-31337");
    assert!(!env.secrets_dir().exists());

    env.conn("check kc").ok();
    assert_eq!(
        api.requests().last().unwrap().header("Authorization"),
        Some("Bearer kc-key-31337")
    );

    env.conn("rm kc --yes").ok();
    let (found, _) = secret_tool(&["lookup", "service", "conn", "username", &id]);
    assert!(!found, "the keychain item survived rm");
}

#[test]
fn secret_removed_from_keychain_is_secret_missing() {
    let api = FakeApi::expecting_auth("Bearer kc-2", json!({"id": 1}));
    let env = TestEnv::keychain();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    new_acme(&env, "kc2", "kc-2").ok();
    let id = env.id_of("kc2");
    assert!(secret_tool(&["clear", "service", "conn", "username", &id]).0);
    let out = env.conn("check kc2 --json").run();
    out.code(2);
    assert_eq!(out.json()[0]["status"], "secret_missing");
}

#[test]
fn automatic_choice_prefers_the_keychain_and_says_so_once() {
    let env = TestEnv::build(None, true);
    let args = [
        "new",
        "a",
        "--provider",
        "stripe",
        "--secret-env",
        "K",
        "--no-check",
    ];
    let first = env.run_env(&args, &[("K", "sk_auto_1")]);
    first.ok();
    assert!(
        first.stderr.contains(
            "keychain store (OS keychain, service \"conn\") because the OS keychain is reachable."
        ),
        "{first:?}"
    );
    assert!(
        env.read_connections()
            .contains("secret_store = \"keychain\"")
    );
    let second = env
        .conn("new b --provider stripe --secret-env K --no-check")
        .env("K", "sk_auto_2")
        .run();
    second.ok();
    assert!(!second.stderr.contains("note:"), "told twice: {second:?}");
    let doctor = env.conn("doctor").run();
    assert!(
        doctor.stdout.contains("keychain — saved setting"),
        "{doctor:?}"
    );
}

#[test]
fn no_keychain_falls_back_to_the_encrypted_file_and_says_why() {
    let env = TestEnv::build(None, false);
    let out = env
        .conn("new a --provider stripe --secret-env K --no-check")
        .env("K", "sk_auto_f")
        .run();
    out.ok();
    assert!(out.stderr.contains("file store"), "{out:?}");
    assert!(out.stderr.contains("not reachable"), "{out:?}");
    assert!(env.read_connections().contains("secret_store = \"file\""));
    let file = env.secrets_dir().join(format!("{}.age", env.id_of("a")));
    let raw = std::fs::read(file).unwrap();
    assert!(raw.starts_with(b"age-encryption.org/v1"));
    assert!(!String::from_utf8_lossy(&raw).contains("sk_auto_f"));
}

#[test]
fn a_hung_keychain_times_out_with_advice() {
    // A D-Bus "daemon" that accepts connections and never says a word.
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("bus");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    let env = TestEnv::build(Some("keychain"), false);
    let bus = format!("unix:path={}", sock.display());
    let start = std::time::Instant::now();
    let out = env
        .conn("new a --provider stripe --secret-env K --no-check")
        .env("K", "sk_hang")
        .env("DBUS_SESSION_BUS_ADDRESS", &bus)
        .env("CONN_KEYCHAIN_TIMEOUT", "1")
        .run();
    out.code(1);
    assert!(out.stderr.contains("did not answer within 1s"), "{out:?}");
    assert!(out.stderr.contains("CONN_SECRET_STORE=file"), "{out:?}");
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
    assert!(env.connections().is_empty());
}

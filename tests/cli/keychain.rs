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
    assert!(
        out.stderr.contains("not usable")
            && out.stderr.contains("could not reach the Secret Service"),
        "{out:?}"
    );
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

/// A D-Bus session of its own with a gnome-keyring of its own, for tests that lock the
/// keychain (the shared one of tests/run serves the other tests at the same time).
struct PrivateKeyring {
    address: String,
    bus: std::process::Child,
    daemon: std::process::Child,
    _dir: tempfile::TempDir,
}

impl PrivateKeyring {
    fn start() -> Self {
        use std::io::Write;
        use std::process::Stdio;
        let dir = tempfile::tempdir().unwrap();
        let (data, run) = (dir.path().join("data"), dir.path().join("run"));
        std::fs::create_dir_all(&data).unwrap();
        std::fs::create_dir_all(&run).unwrap();
        std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon is installed by tests/run");
        let address = first_line(&mut bus, std::time::Duration::from_secs(10))
            .expect("the private D-Bus session did not start");
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets", "--foreground"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("XDG_DATA_HOME", &data)
            .env("XDG_RUNTIME_DIR", &run)
            .env_remove("DISPLAY")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring is installed by tests/run");
        daemon
            .stdin
            .take()
            .unwrap()
            .write_all(b"conn-test")
            .unwrap();
        let k = PrivateKeyring {
            address,
            bus,
            daemon,
            _dir: dir,
        };
        for _ in 0..100 {
            if k.secret_tool(&["store", "--label=probe", "conn-test", "probe"], "x") {
                return k;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the private gnome-keyring did not answer");
    }

    fn secret_tool(&self, args: &[&str], stdin: &str) -> bool {
        use std::io::Write;
        let mut c = Command::new("secret-tool")
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        c.wait().unwrap().success()
    }

    /// Locks the login collection, as a screen lock or a fresh SSH login leaves it.
    fn lock(&self) {
        let ok = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/collection/login",
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .expect("dbus-send is installed by tests/run");
        assert!(ok.status.success(), "{ok:?}");
    }

    /// A sealed environment whose keychain is this one; `store` as TestEnv::build.
    fn env(&self, store: Option<&'static str>) -> TestEnv {
        let mut env = TestEnv::build(store, false);
        env.extra_env
            .push(("DBUS_SESSION_BUS_ADDRESS".into(), self.address.clone()));
        env
    }
}

impl Drop for PrivateKeyring {
    fn drop(&mut self) {
        for c in [&mut self.daemon, &mut self.bus] {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn a_locked_keychain_is_named_with_the_way_out_and_new_connections_go_to_the_file_store() {
    let api = FakeApi::expecting_auth("Bearer lk-1", json!({"id": 1, "email": "a@acme.test"}));
    let kr = PrivateKeyring::start();
    let env = kr.env(None);
    env.write_provider("acme.toml", &acme_provider(&api.url));
    // Unlocked, the automatic choice takes the keychain (after a real write).
    add_acme(&env, "a", "lk-1");
    assert_eq!(env.connections()["a"]["store"].as_str(), Some("keychain"));
    let doc = env.run(&["doctor"]);
    assert!(
        doc.stdout
            .contains("usable: a test item was written, read back and deleted"),
        "{doc:?}"
    );

    kr.lock();
    // A hang would end in the keychain timeout's message instead of this one.
    let out = env.run(&["token", "a"]);
    out.code(1);
    assert!(
        out.stderr.contains("keychain is locked")
            && out.stderr.contains("unlock it in your desktop session")
            && out.stderr.contains("CONN_SECRET_STORE=file"),
        "{out:?}"
    );
    // doctor, where the hint sends people, sees it.
    let doc = env.run(&["doctor"]);
    doc.code(1);
    let line = doc
        .stdout
        .lines()
        .find(|l| l.contains("OS keychain"))
        .unwrap_or_default()
        .to_string();
    assert!(
        line.starts_with("FAIL") && line.contains("'Login' is locked"),
        "{doc:?}"
    );

    // A fresh setup on the same locked keychain: the automatic choice does not walk into it,
    // and says so once.
    let fresh = kr.env(None);
    fresh.write_provider("acme.toml", &acme_provider(&api.url));
    let out = fresh.run_env(
        &[
            "new",
            "b",
            "--provider",
            "acme",
            "--auth",
            "api_key",
            "--secret-env",
            "K",
        ],
        &[("K", "lk-1")],
    );
    out.ok();
    assert!(
        out.stderr.contains("secrets go to the file store") && out.stderr.contains("is locked"),
        "{out:?}"
    );
    assert_eq!(fresh.connections()["b"]["store"].as_str(), Some("file"));
    let again = fresh.run_env(
        &[
            "new",
            "c",
            "--provider",
            "acme",
            "--auth",
            "api_key",
            "--secret-env",
            "K",
        ],
        &[("K", "lk-1")],
    );
    again.ok();
    assert!(!again.stderr.contains("secrets go to"), "{again:?}");
    fresh.run(&["token", "b"]).ok();
}

#[test]
fn duplicate_keychain_items_get_words_not_a_debug_dump_and_reauth_replaces_them() {
    let api = FakeApi::start(|s| match s.header("Authorization") {
        Some("Bearer dup-key-1") | Some("Bearer dup-key-2") => {
            (200, json!({"id": 8, "email": "dup@acme.test"}).to_string())
        }
        _ => (401, "{}".to_string()),
    });
    let env = TestEnv::keychain();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    new_acme(&env, "dup", "dup-key-1").ok();
    let id = env.id_of("dup");
    // A restore or another tool adds a second item that matches the same lookup.
    let mut c = Command::new("secret-tool")
        .args([
            "store",
            "--label=restored",
            "service",
            "conn",
            "username",
            &id,
            "restored-by",
            "backup",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    c.stdin
        .take()
        .unwrap()
        .write_all(br#"{"api_key":"old-copy"}"#)
        .unwrap();
    assert!(c.wait().unwrap().success());

    let out = env.run(&["token", "dup"]);
    out.code(1);
    assert!(
        out.stderr
            .contains("the keychain holds 2 items for this connection")
            && out
                .stderr
                .contains(&format!("secret-tool clear service conn username {id}"))
            && out.stderr.contains("conn reauth"),
        "{out:?}"
    );
    for dump in ["Wrapper", "OwnedObjectPath", "Entry {"] {
        assert!(!out.stderr.contains(dump), "{out:?}");
    }
    let doc = env.run(&["doctor"]);
    assert!(
        doc.stdout
            .lines()
            .any(|l| l.starts_with("FAIL") && l.contains(&format!("2 items for id {id}"))),
        "{doc:?}"
    );

    // reauth writes one item in place of both.
    env.run_env(
        &["reauth", "dup", "--secret-env", "K", "--yes"],
        &[("K", "dup-key-2")],
    )
    .ok();
    let search = Command::new("secret-tool")
        .args(["search", "--all", "service", "conn", "username", &id])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&search.stdout).to_string()
        + &String::from_utf8_lossy(&search.stderr);
    assert_eq!(listed.matches("attribute.username").count(), 1, "{listed}");
    assert_eq!(env.run(&["token", "dup"]).ok().stdout, "dup-key-2\n");
}

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
    /// A daemon unlocked with a password on stdin, as a desktop login does: it makes the
    /// 'Login' collection and the `default` alias points at it.
    fn start() -> Self {
        let k = Self::spawn(true);
        // Not a Secret Service call before the daemon owns the name: D-Bus would activate a
        // second, locked daemon from the system's service file, and the store would fail.
        // Generous waits: a loaded CI machine starts the daemon slowly.
        let mut owned = false;
        for _ in 0..300 {
            if k.owns_secret_service() {
                owned = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(
            owned,
            "the private gnome-keyring did not take the Secret Service name"
        );
        for _ in 0..300 {
            if k.secret_tool(&["store", "--label=probe", "conn-test", "probe"], "x") {
                return k;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the private gnome-keyring did not answer");
    }

    /// A daemon started without `--unlock`, as a session that never logged in graphically (a
    /// server, a container) has: gnome-keyring then makes no 'Login' collection, and the
    /// `default` alias points nowhere ("/"), so the Secret Service has no default collection.
    /// (Had it made one, `org.freedesktop.Secret.Service.SetAlias("default", "/")` through
    /// dbus-send would remove the alias; this daemon needs no such step, and the test checks
    /// the alias is unset before relying on it.)
    fn start_without_login() -> Self {
        let k = Self::spawn(false);
        for _ in 0..300 {
            if k.owns_secret_service() {
                return k;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the private gnome-keyring did not take the Secret Service name");
    }

    fn spawn(unlock: bool) -> Self {
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
        let mut daemon = Command::new("gnome-keyring-daemon");
        if unlock {
            daemon.arg("--unlock");
        }
        let mut daemon = daemon
            .args(["--components=secrets", "--foreground"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("XDG_DATA_HOME", &data)
            .env("XDG_RUNTIME_DIR", &run)
            .env_remove("DISPLAY")
            .stdin(if unlock {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring is installed by tests/run");
        if unlock {
            daemon
                .stdin
                .take()
                .unwrap()
                .write_all(b"conn-test")
                .unwrap();
        }
        PrivateKeyring {
            address,
            bus,
            daemon,
            _dir: dir,
        }
    }

    /// Whether the daemon owns org.freedesktop.secrets yet. Asked of the bus itself: a call
    /// to the Secret Service before then would make D-Bus activate a second daemon.
    fn owns_secret_service(&self) -> bool {
        self.dbus_send(&[
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            "string:org.freedesktop.secrets",
        ])
        .is_some_and(|out| out.contains("boolean true"))
    }

    /// The object the Secret Service's `default` alias names ("/" for none).
    fn default_alias(&self) -> String {
        let out = self
            .dbus_send(&[
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.ReadAlias",
                "string:default",
            ])
            .expect("the Secret Service answers ReadAlias");
        out.lines()
            .find_map(|l| l.trim().strip_prefix("object path "))
            .unwrap_or_else(|| panic!("no object path in {out:?}"))
            .trim_matches('"')
            .to_string()
    }

    /// A `dbus-send --print-reply` on this bus: the reply, or `None` when the call failed.
    fn dbus_send(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("dbus-send")
            .args(["--session", "--print-reply"])
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .expect("dbus-send is installed by tests/run");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).to_string())
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
        let ok = self.dbus_send(&[
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            "array:objpath:/org/freedesktop/secrets/collection/login",
        ]);
        assert!(ok.is_some(), "could not lock the login collection");
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
fn no_default_keyring_is_named_with_the_way_out_and_new_connections_go_to_the_file_store() {
    let api = FakeApi::expecting_auth("Bearer nd-1", json!({"id": 1, "email": "n@acme.test"}));
    let kr = PrivateKeyring::start_without_login();
    // The Secret Service answers, but its `default` alias names no collection.
    assert_eq!(kr.default_alias(), "/");

    // doctor, on a fresh setup whose automatic choice is still open: the keychain line names
    // the missing default keyring and both ways out; the store it would choose is the file.
    let env = kr.env(None);
    env.write_provider("acme.toml", &acme_provider(&api.url));
    let doc = env.run(&["doctor"]);
    let line = |doc: &Out, what: &str| {
        doc.stdout
            .lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what:?} line: {doc:?}"))
            .to_string()
    };
    let kc = line(&doc, "OS keychain");
    assert!(
        kc.contains("no default keyring")
            && kc.contains("CONN_SECRET_STORE=file")
            && kc.contains("set as default"),
        "{doc:?}"
    );
    for dump in ["NoResult", "OwnedObjectPath", "/org/freedesktop"] {
        assert!(!doc.stdout.contains(dump), "{doc:?}");
    }
    let store = line(&doc, "secret store");
    assert!(
        store.contains("file") && store.contains("no default keyring"),
        "{doc:?}"
    );

    // Someone who asked for the keychain gets a failing doctor (exit 1) with the same words.
    let want_keychain = kr.env(Some("keychain"));
    let doc = want_keychain.run(&["doctor"]);
    doc.code(1);
    let kc = line(&doc, "OS keychain");
    assert!(
        kc.starts_with("FAIL") && kc.contains("no default keyring"),
        "{doc:?}"
    );

    // The automatic choice does not try to write into a keyring that isn't there (which
    // would ask the desktop to create one): it takes the file store and says why, once.
    let new_b = env.run_env(
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
        &[("K", "nd-1")],
    );
    new_b.ok();
    assert!(
        new_b.stderr.contains("secrets go to the file store")
            && new_b.stderr.contains("no default keyring"),
        "{new_b:?}"
    );
    assert_eq!(env.connections()["b"]["store"].as_str(), Some("file"));
    let new_c = env.run_env(
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
        &[("K", "nd-1")],
    );
    new_c.ok();
    assert!(!new_c.stderr.contains("secrets go to"), "{new_c:?}");
    assert_eq!(env.connections()["c"]["store"].as_str(), Some("file"));
    // The secret is read back from the file store.
    let tok = env.run(&["token", "b"]);
    tok.ok();
    assert_eq!(tok.stdout.trim(), "nd-1", "{tok:?}");
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

//! `conn check`: every status, its hint, the saved result and the monitoring exit codes.

use serde_json::json;

use crate::support::*;

/// An acme provider whose fake answers by the key: the key names the behaviour.
fn env_with_behaviours() -> (TestEnv, FakeApi) {
    let api = FakeApi::start(|s| {
        let key = s
            .header("Authorization")
            .unwrap_or("")
            .trim_start_matches("Bearer ");
        match key.trim_start_matches("key-") {
            "good" => (200, r#"{"id": 1, "email": "ok@acme.test"}"#.into()),
            "revoked" => (
                401,
                r#"{"error": "invalid_token", "error_description": "token revoked"}"#.into(),
            ),
            "weak" => (403, r#"{"message": "missing scope users:read"}"#.into()),
            "anon" => (200, r#"{"id": null, "email": null}"#.into()),
            "broken" => (503, "<html>down</html>".into()),
            "limited" => (429, "{}".into()),
            _ => (401, "{}".into()),
        }
    })
    // Not every behaviour needs a request (a missing secret is found before one).
    .may_go_unused();
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    (env, api)
}

fn status_of(env: &TestEnv, name: &str) -> (i32, serde_json::Value) {
    let out = env.run(&["check", name, "--json"]);
    let v = out.json();
    (out.code, v[0].clone())
}

#[test]
fn each_failure_is_classified_with_a_hint_and_exit_code() {
    let (env, _api) = env_with_behaviours();
    let cases = [
        ("good", "ok", 0),
        ("revoked", "invalid_credentials", 2),
        ("weak", "insufficient_permissions", 2),
        ("anon", "invalid_credentials", 2),
        ("broken", "unreachable", 3),
        ("limited", "unreachable", 3),
    ];
    for (key, _, _) in cases {
        add_acme(&env, key, &format!("key-{key}"));
    }
    for (name, status, code) in cases {
        let (c, r) = status_of(&env, name);
        assert_eq!(r["status"], status, "{name}: {r}");
        assert_eq!(c, code, "{name}: {r}");
        if status == "ok" {
            assert_eq!(r["identity"]["label"], "ok@acme.test");
            assert!(r.get("hint").is_none());
        } else {
            assert!(!r["hint"].as_str().unwrap().is_empty(), "{name}: {r}");
        }
    }
    let (_, r) = status_of(&env, "revoked");
    assert!(
        r["message"].as_str().unwrap().contains("token revoked"),
        "{r}"
    );
    assert!(
        r["hint"].as_str().unwrap().contains("conn reauth revoked"),
        "{r}"
    );
    let (_, r) = status_of(&env, "weak");
    assert!(
        r["message"].as_str().unwrap().contains("missing scope"),
        "{r}"
    );
    assert!(r["hint"].as_str().unwrap().contains("permissions"), "{r}");

    // All at once: the worst wins (CRITICAL over UNKNOWN), every connection is reported.
    let all = env.conn("check --json").run();
    all.code(2);
    assert_eq!(all.json().as_array().unwrap().len(), cases.len());
    // Results are saved in the state file, not in connections.toml.
    assert!(!env.read_connections().contains("last_check"));
    let conns: std::collections::BTreeMap<&str, serde_json::Value> = ["weak", "good"]
        .iter()
        .map(|n| (*n, env.learned(n)))
        .collect();
    assert_eq!(
        conns["weak"]["last_check"]["status"].as_str(),
        Some("insufficient_permissions"),
        "{}",
        all.stdout
    );
    assert_eq!(
        conns["weak"]["last_check"]["status"].as_str(),
        Some("insufficient_permissions")
    );
    assert_eq!(conns["good"]["last_check"]["status"].as_str(), Some("ok"));
    assert!(
        conns["good"]["last_check"]["at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
}

#[test]
fn unreachable_host_is_unknown_not_critical() {
    let env = TestEnv::new();
    // A port nothing listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    env.write_provider(
        "acme.toml",
        &acme_provider(&format!("http://127.0.0.1:{port}")),
    );
    add_acme(&env, "down", "good");
    let out = env.conn("check down").run();
    out.code(3);
    assert!(out.stdout.contains("unreachable"), "{out:?}");
    assert!(out.stdout.contains("could not connect"), "{out:?}");
}

#[test]
fn missing_secret_is_reported_as_such() {
    let (env, _api) = env_with_behaviours();
    add_acme(&env, "gone", "good");
    // Someone deletes the encrypted secrets behind conn's back.
    std::fs::remove_dir_all(env.secrets_dir()).unwrap();
    let (code, r) = status_of(&env, "gone");
    assert_eq!(r["status"], "secret_missing");
    assert_eq!(code, 2);
    assert!(
        r["hint"].as_str().unwrap().contains("gone")
            || r["hint"].as_str().unwrap().contains("again")
    );
}

#[test]
fn quiet_prints_nothing_when_all_ok_and_only_problems_otherwise() {
    let (env, _api) = env_with_behaviours();
    add_acme(&env, "fine", "good");
    let out = env.conn("check --quiet").run();
    out.ok();
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, "");
    add_acme(&env, "bad", "revoked");
    let out = env.conn("check --quiet").run();
    out.code(2);
    assert!(out.stdout.contains("bad"), "{out:?}");
    assert!(!out.stdout.contains("fine"), "{out:?}");
}

#[test]
fn human_output_has_identity_and_hint() {
    let (env, _api) = env_with_behaviours();
    add_acme(&env, "fine", "good");
    add_acme(&env, "bad", "revoked");
    let out = env.conn("check").run();
    out.code(2);
    assert!(out.stdout.contains("ok@acme.test"), "{out:?}");
    // The hint is indented under its connection's row.
    let bad_row = out.stdout.find("\nbad ").expect("a row for bad");
    assert!(
        out.stdout[bad_row + 1..]
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("  likely cause")),
        "{out:?}"
    );
}

#[test]
fn check_of_unknown_name_is_unknown_state() {
    let env = TestEnv::new();
    let out = env.conn("check nothing").run();
    out.code(3);
    assert!(out.stderr.contains("no connection named"), "{out:?}");
}

#[test]
fn failed_check_in_new_saves_nothing_without_a_terminal() {
    let (env, _api) = env_with_behaviours();
    let out = env
        .conn("new x --provider acme --auth api_key --secret-env K")
        .env("K", "revoked")
        .run();
    out.code(1);
    assert!(out.stderr.contains("invalid_credentials"), "{out:?}");
    assert!(out.stderr.contains("Nothing was saved"), "{out:?}");
    assert!(env.connections().is_empty());
    assert!(
        !env.secrets_dir().exists() || !super::connections::age_decrypt(&env).contains("revoked")
    );
}

#[test]
fn timeout_is_unreachable() {
    let api = FakeApi::start(|_| {
        std::thread::sleep(std::time::Duration::from_secs(3));
        (200, json!({"id": 1}).to_string())
    });
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    add_acme(&env, "slow", "good");
    let out = env.conn("check slow --timeout 1 --json").run();
    out.code(3);
    let r = out.json()[0].clone();
    assert_eq!(r["status"], "unreachable");
    assert!(r["message"].as_str().unwrap().contains("timed out"), "{r}");
}

#[test]
fn credentials_never_follow_a_redirect_to_another_origin() {
    // Must never be called: that is what this test is about.
    let elsewhere = FakeApi::start(|_| (200, r#"{"id": 666, "email": "thief@evil.test"}"#.into()))
        .may_go_unused();
    let target = format!("{}/me", elsewhere.url);
    let api = FakeApi::start(move |_| (302, target.clone()));
    let env = TestEnv::new();
    // A custom key header: the kind reqwest would otherwise carry across origins.
    env.write_provider(
        "hdr.toml",
        &format!(
            r#"id = "hdr"
display_name = "Header API"
[[auth]]
method = "api_key"
name = "X-Api-Key"
[api]
base_url = "{}"
[check]
path = "/me"
identity = {{ id = "/id" }}
"#,
            api.url
        ),
    );
    env.conn("new h --provider hdr --secret-env K --no-check")
        .env("K", "hdr-key-1")
        .ok();
    let out = env.conn("check h --json").run();
    out.code(3);
    let r = out.json()[0].clone();
    assert_eq!(r["status"], "error");
    assert!(r["message"].as_str().unwrap().contains("redirected"), "{r}");
    assert_eq!(api.requests()[0].header("X-Api-Key"), Some("hdr-key-1"));
    assert!(
        elsewhere.requests().is_empty(),
        "the key was sent to another origin"
    );
}

#[test]
fn same_origin_redirects_are_followed_with_credentials() {
    let api = FakeApi::start(|s| match (s.url.as_str(), s.header("Authorization")) {
        ("/me", _) => (301, "/v2/me".into()),
        ("/v2/me", Some("Bearer key-good")) => {
            (200, r#"{"id": 2, "email": "moved@acme.test"}"#.into())
        }
        _ => (401, "{}".into()),
    });
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    add_acme(&env, "moved", "key-good");
    let out = env.conn("check moved").run();
    out.ok();
    assert!(out.stdout.contains("moved@acme.test"), "{out:?}");
}

#[test]
fn a_second_connection_for_the_same_account_is_warned_and_blamed_later() {
    // Keys the fake still accepts; "first" stops working once "second" exists, as with apps
    // that keep one active authorization per user.
    let accepted = std::sync::Arc::new(std::sync::Mutex::new(vec!["Bearer key-first".to_string()]));
    let acc = accepted.clone();
    let api = FakeApi::start(move |s| {
        let auth = s.header("Authorization").unwrap_or("").to_string();
        if acc.lock().unwrap().contains(&auth) {
            (200, r#"{"id": 77, "email": "same@acme.test"}"#.into())
        } else {
            (401, "{}".into())
        }
    });
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    env.conn("new first --provider acme --auth api_key --secret-env K")
        .env("K", "key-first")
        .ok();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    *accepted.lock().unwrap() = vec!["Bearer key-second".to_string()];
    let second = env
        .conn("new second --provider acme --auth api_key --secret-env K")
        .env("K", "key-second")
        .run();
    second.ok();
    assert!(
        second
            .stderr
            .contains("'first' already connect(s) as same@acme.test"),
        "{second:?}"
    );
    assert!(
        second.stderr.contains("can invalidate 'first'"),
        "{second:?}"
    );

    let out = env.conn("check first --json").run();
    out.code(2);
    let r = out.json()[0].clone();
    assert_eq!(r["status"], "invalid_credentials");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("probably invalidated by the newer connection second, authorized at"),
        "{r}"
    );
    assert!(
        r["hint"]
            .as_str()
            .unwrap()
            .contains("re-authorize this one as another user"),
        "{r}"
    );
    // A connection for another account is not blamed.
    env.conn("check second").ok();
}

#[test]
fn failures_list_the_troubleshooting_steps_in_order() {
    let ok = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let o = ok.clone();
    let api = FakeApi::start(move |_| {
        if o.load(std::sync::atomic::Ordering::SeqCst) {
            (200, r#"{"id": 3, "email": "jane@acme.test"}"#.into())
        } else {
            (401, "{}".into())
        }
    });
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    env.conn("new jane --provider acme --auth api_key --secret-env K")
        .env("K", "k")
        .ok();
    ok.store(false, std::sync::atomic::Ordering::SeqCst);
    let out = env.conn("check jane --json").run();
    out.code(2);
    let hint = out.json()[0]["hint"].as_str().unwrap().to_string();
    let (user, creds, reauth) = (
        hint.find("user who authorized").unwrap(),
        hint.find("verify the credentials").unwrap(),
        hint.find("conn reauth jane").unwrap(),
    );
    assert!(
        user < creds && creds < reauth,
        "troubleshooting order: {hint}"
    );
    // acme documents no integration user: conn can't know whose account this is.
    assert!(!hint.contains("integration user"), "{hint}");
    assert!(!hint.contains("personal"), "{hint}");
}

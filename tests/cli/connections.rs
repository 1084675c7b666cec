//! Creating, listing, showing, renaming and removing API key and Basic connections.

use serde_json::json;

use crate::support::*;

#[test]
fn api_key_connection_is_checked_saved_and_listed() {
    let api = FakeApi::expecting_auth(
        "Bearer k-123456789",
        json!({"id": 7, "email": "bot@acme.test"}),
    );
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));

    let created = env
        .conn("new prod --provider acme --auth api_key --secret-env K --json")
        .env("K", "k-123456789")
        .ok()
        .json();
    assert_eq!(created["name"], "prod");
    assert_eq!(created["identity"]["label"], "bot@acme.test");
    assert_eq!(created["check"]["status"], "ok");
    // The fake saw exactly the header the provider definition describes.
    let reqs = api.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].url, "/me");
    assert_eq!(reqs[0].header("Authorization"), Some("Bearer k-123456789"));
    assert!(reqs[0].header("User-Agent").unwrap().starts_with("conn/"));

    let rows = env.conn("list --json").ok().json();
    assert_eq!(rows[0]["name"], "prod");
    assert_eq!(rows[0]["provider"], "acme");
    assert_eq!(rows[0]["last_check"]["status"], "ok");
    assert_eq!(rows[0]["identity"]["id"], "7");

    let human = env.conn("list").run();
    assert!(human.stdout.contains("bot@acme.test"), "{}", human.stdout);
    assert!(human.stdout.contains("ok ("), "{}", human.stdout);

    let s = env.conn("show prod --json").ok().json();
    assert_eq!(s["auth"], "api_key");
    assert_eq!(s["store"], "file");
    assert!(s["secrets"]["api_key"].as_str().unwrap().contains("chars"));
}

#[test]
fn basic_connection_sends_suffixed_user_and_token() {
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("me@acme.test/token:tok-abcdef")
    );
    let api = FakeApi::expecting_auth(&expected, json!({"id": 9, "email": "me@acme.test"}));
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    let out = env
        .conn("new zd --provider acme --auth basic --username me@acme.test --secret-stdin")
        .stdin("tok-abcdef\n")
        .ok();
    assert!(out.stdout.contains("connected as me@acme.test"), "{out:?}");
    assert_eq!(
        api.requests()[0].header("Authorization"),
        Some(expected.as_str())
    );
    let conns = env.connections();
    assert_eq!(conns["zd"]["username"].as_str(), Some("me@acme.test"));
    // And check uses the same credentials later.
    env.conn("check zd").ok();
    assert_eq!(
        api.requests()[1].header("Authorization"),
        Some(expected.as_str())
    );
}

#[test]
fn api_key_in_query_parameter() {
    let api = FakeApi::start(|s| {
        if s.url == "/v1/whoami?key=q-secret-99" {
            (200, r#"{"user":{"name":"q"}}"#.into())
        } else {
            (401, "{}".into())
        }
    });
    let env = TestEnv::new();
    env.write_provider(
        "q.toml",
        &format!(
            r#"id = "q"
display_name = "Query API"
[[auth]]
method = "api_key"
placement = "query"
name = "key"
[api]
base_url = "{}/v1"
[check]
path = "/whoami"
identity = {{ label = "/user/name" }}
"#,
            api.url
        ),
    );
    let out = env
        .conn("new q1 --provider q --secret-env K")
        .env("K", "q-secret-99")
        .ok();
    assert!(out.stdout.contains("connected as q"), "{out:?}");
    assert_eq!(api.requests()[0].url, "/v1/whoami?key=q-secret-99");
}

#[test]
fn generic_http_provider_with_custom_header() {
    let api = FakeApi::start(|s| match s.header("X-Api-Key") {
        Some("xk-1") if s.url == "/api/me" => (200, r#"{"login":"gen"}"#.into()),
        _ => (403, r#"{"message":"nope"}"#.into()),
    });
    let env = TestEnv::new();
    let out = env
        .conn("new gen --provider http --auth api_key --set check_path=/me")
        .arg("--set")
        .arg(format!("base_url={}/api", api.url))
        .arg("--set=header=X-Api-Key")
        .arg("--set=prefix=")
        .arg("--set=identity_field=/login")
        .arg("--secret-env=K")
        .env("K", "xk-1")
        .ok();
    assert!(out.stdout.contains("connected as gen"), "{out:?}");
    assert_eq!(api.requests()[0].header("Authorization"), None);
}

#[test]
fn rename_keeps_secrets_and_rm_deletes_them() {
    let api = FakeApi::expecting_auth("Bearer rr-0001", json!({"id": 1, "email": "a@b"}));
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    new_acme(&env, "old", "rr-0001").ok();
    let id = env.id_of("old");

    env.conn("rename old new").ok();
    assert!(!env.connections().contains_key("old"));
    assert_eq!(env.id_of("new"), id);
    env.conn("check new").ok();
    assert_eq!(
        api.requests().last().unwrap().header("Authorization"),
        Some("Bearer rr-0001")
    );

    // rename onto an existing name is refused
    new_acme(&env, "other", "rr-0001").ok();
    let clash = env.conn("rename new other").code(1);
    assert!(clash.stderr.contains("already exists"), "{clash:?}");

    // rm with no terminal and no --yes refuses and says how
    let no = env.conn("rm new").code(2);
    assert!(no.stderr.contains("--yes"), "{no:?}");
    assert!(env.connections().contains_key("new"));

    env.conn("rm new --yes").ok();
    assert!(!env.connections().contains_key("new"));
    // The secret is gone from the encrypted file, as the standard age tool sees it.
    let plain = age_decrypt(&env);
    assert!(!plain.contains(&id), "{plain}");
    assert!(plain.contains(&env.id_of("other")));

    env.conn("rm nope --yes").code(1);
}

/// Every bundle of the file store, decrypted with the `age` command-line tool, as one JSON
/// text: what a user recovering secrets would see.
pub fn age_decrypt(env: &TestEnv) -> String {
    serde_json::Value::Object(env.all_secrets()).to_string()
}

#[test]
fn secrets_can_be_recovered_with_the_age_tool() {
    let env = TestEnv::new();
    env.conn("new s --provider stripe --secret-env K --no-check")
        .env("K", "sk_test_recover_me_123")
        .ok();
    let id = env.id_of("s");
    let file = env.secrets_dir().join(format!("{id}.age"));
    let doc = env.age_decrypt_file(&file);
    assert_eq!(doc["id"], id.as_str());
    assert_eq!(doc["secrets"]["api_key"], "sk_test_recover_me_123");
    let raw = std::fs::read(&file).unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("recover_me"));
}

#[test]
fn files_and_dirs_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    env.conn("new s --provider stripe --secret-env K --no-check")
        .env("K", "sk_x_1234")
        .ok();
    let mode = |p: std::path::PathBuf| std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(env.home()), 0o700);
    for f in ["connections.toml", "identity.txt"] {
        assert_eq!(mode(env.home().join(f)), 0o600, "{f}");
    }
    assert_eq!(mode(env.secrets_dir()), 0o700);
    let file = env.secrets_dir().join(format!("{}.age", env.id_of("s")));
    assert_eq!(mode(file), 0o600);
    let items = env.conn("doctor --json").ok().json()["items"].clone();
    let store = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["check"] == "secret store")
        .unwrap();
    assert!(
        store["detail"].as_str().unwrap().starts_with("file"),
        "{store}"
    );
}

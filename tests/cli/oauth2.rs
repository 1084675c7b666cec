//! OAuth 2.0 end to end against a real authorization server (oidc-provider from npm, started
//! on 127.0.0.1), with tests/oidc/browser.py as the person at the browser.

use crate::support::*;

fn env_for(idp: &Oidc) -> TestEnv {
    let mut env = TestEnv::new();
    env.write_provider("idp.toml", &idp.provider());
    env.extra_env.push(("BROWSER".into(), browser_cmd()));
    env
}

fn new_code(env: &TestEnv, name: &str, extra: &[(&str, &str)]) -> Out {
    let mut vars = vec![("CS", "conn-cli-secret")];
    vars.extend_from_slice(extra);
    env.run_env(
        &[
            "new",
            name,
            "--provider",
            "idp",
            "--client-id",
            "conn-cli",
            "--client-secret-env",
            "CS",
            "--json",
        ],
        &vars,
    )
}

#[test]
fn browser_sign_in_with_pkce_creates_a_working_connection() {
    let idp = Oidc::start(3600);
    let env = env_for(&idp);
    let out = new_code(&env, "work", &[]);
    out.ok();
    let created = out.json();
    assert_eq!(created["identity"]["label"], "alice@example.test");
    assert_eq!(created["check"]["status"], "ok");
    // The authorization URL was shown before the browser opened it.
    assert!(
        out.stderr.contains(&format!("{}/auth?", idp.issuer)),
        "{out:?}"
    );
    assert!(out.stderr.contains("code_challenge_method=S256"), "{out:?}");

    let conns = env.connections();
    let oauth = &conns["work"]["oauth"];
    assert_eq!(oauth["grant"].as_str(), Some("authorization_code"));
    assert_eq!(oauth["client"].as_str(), Some("idp/conn-cli"));
    assert!(
        oauth["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str() == Some("api:read"))
    );
    // The token's expiry is state, not configuration.
    assert!(oauth.get("expires_at").is_none());
    assert!(
        env.learned("work")["expires_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let secrets = env.secrets_of("work");
    let at = secrets["access_token"].as_str().unwrap().to_string();
    let rt = secrets["refresh_token"].as_str().unwrap().to_string();
    assert!(idp.active(&at) && idp.active(&rt));
    // No token or client secret in the metadata.
    let toml = env.read_connections();
    for s in [at.as_str(), rt.as_str(), "conn-cli-secret"] {
        assert!(!toml.contains(s), "{s} in connections.toml");
    }

    // conn token prints exactly the token, and the API accepts it.
    let tok = env.conn("token work").run();
    tok.ok();
    assert_eq!(tok.stdout, format!("{at}\n"));
    env.conn("check work").ok();
    let show = env.conn("show work").run();
    assert!(show.stdout.contains("api:read"), "{show:?}");
    assert!(!show.stdout.contains(&at));

    // Tokens and the client secret appear nowhere but in `conn token`'s stdout.
    let mut all = out.all();
    for args in [
        &["-v", "check", "work"][..],
        &["check", "work", "--json"],
        &["show", "work", "--json"],
        &["-v", "list", "--json"],
        &["-v", "doctor"],
    ] {
        all.push_str(&env.run(args).all());
    }
    all.push_str(&tok.stderr);
    for s in [at.as_str(), rt.as_str(), "conn-cli-secret"] {
        assert!(!all.contains(s), "{s} leaked:\n{all}");
    }

    // The client registration is reused: no client flags needed the second time.
    let again = env.conn("new work2 --provider idp --json").run();
    again.ok();
    assert_eq!(
        env.connections()["work2"]["oauth"]["client"].as_str(),
        Some("idp/conn-cli")
    );
}

#[test]
fn refresh_rotates_and_never_spends_a_refresh_token_twice() {
    // Tokens live 2 s, so every use needs a refresh; the server revokes the whole grant if a
    // rotated refresh token is ever presented again.
    let idp = Oidc::start(2);
    let env = env_for(&idp);
    new_code(&env, "rot", &[]).ok();
    let first_rt = env.secrets_of("rot")["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let t1 = env.conn("token rot").run();
    t1.ok();
    let second_rt = env.secrets_of("rot")["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(first_rt, second_rt, "the rotated refresh token was saved");
    assert!(!idp.active(&first_rt));

    // Two processes at once, several times: each refresh is serialized and re-reads the token.
    for _ in 0..3 {
        let spawn = || {
            let mut c = env.cmd();
            c.args(["token", "rot"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            c.spawn().unwrap()
        };
        let (a, b) = (spawn(), spawn());
        for child in [a, b] {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let token = String::from_utf8(out.stdout).unwrap();
            assert!(!token.trim().is_empty());
        }
    }
    // Had any refresh token been reused, the grant would be revoked and this would fail.
    let last = env.conn("check rot --json").run();
    last.ok();
    let rt_now = env.secrets_of("rot")["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(idp.active(&rt_now));
    assert!(env.learned("rot")["refreshed_at"].as_str().is_some());
}

#[test]
fn a_revoked_grant_means_needs_reauth_and_reauth_fixes_it() {
    let idp = Oidc::start(2);
    let env = env_for(&idp);
    new_code(&env, "rv", &[]).ok();
    let rt = env.secrets_of("rv")["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    idp.revoke(&rt);
    let out = env.conn("check rv --json").run();
    out.code(2);
    let r = out.json()[0].clone();
    assert_eq!(r["status"], "needs_reauth", "{r}");
    assert!(r["hint"].as_str().unwrap().contains("conn reauth rv"));
    let tok = env.conn("token rv").run();
    tok.code(1);
    assert!(tok.stderr.contains("conn reauth rv"), "{tok:?}");
    assert_eq!(tok.stdout, "");

    // Same account again: no question asked.
    env.conn("reauth rv").ok();
    env.conn("check rv").ok();

    // Another account: refused without a terminal unless --yes, old credentials kept.
    let before = env.secrets_of("rv");
    let other = env.conn("reauth rv").env("CONN_TEST_USER", "bob").run();
    other.code(2);
    assert!(other.stderr.contains("--yes"), "{other:?}");
    assert_eq!(env.secrets_of("rv"), before);
    let yes = env
        .conn("reauth rv --yes --json")
        .env("CONN_TEST_USER", "bob")
        .run();
    yes.ok();
    assert_eq!(yes.json()["identity"]["label"], "bob@example.test");
    assert_eq!(
        env.learned("rv")["identity"]["label"].as_str(),
        Some("bob@example.test")
    );
}

#[test]
fn device_flow_with_a_public_client() {
    let idp = Oidc::start(3600);
    let env = env_for(&idp);
    let out = env
        .conn("new dev --provider idp --device --client-id conn-public --json")
        .env("CONN_TEST_BROWSER", "device")
        .run();
    out.ok();
    assert!(out.stderr.contains("enter the code"), "{out:?}");
    assert_eq!(out.json()["identity"]["label"], "alice@example.test");
    let c = env.connections();
    assert_eq!(c["dev"]["oauth"]["grant"].as_str(), Some("device_code"));
    assert!(c.get("dev").is_some());
    let doc = env.read_connections();
    assert!(
        !doc.contains("secret_id"),
        "a public client has no secret: {doc}"
    );
}

#[test]
fn device_flow_denied_saves_nothing() {
    let idp = Oidc::start(3600);
    let env = env_for(&idp);
    let out = env
        .conn("new dev --provider idp --device --client-id conn-public")
        .env("CONN_TEST_BROWSER", "device-deny")
        .run();
    out.code(1);
    assert!(out.stderr.contains("access_denied"), "{out:?}");
    assert!(env.connections().is_empty());
}

#[test]
fn client_credentials_connection() {
    let idp = Oidc::start(3600);
    let env = env_for(&idp);
    let out = env.conn("new m2m --provider idp --grant client_credentials --client-id conn-cli --client-secret-env CS --scopes api:read --no-check").env("CS", "conn-cli-secret").run();
    out.ok();
    let tok = env.conn("token m2m").run();
    tok.ok();
    assert!(idp.active(tok.stdout.trim()));
    assert!(env.secrets_of("m2m").get("refresh_token").is_none());
}

#[test]
fn rm_revokes_the_grant_unless_keep_remote() {
    let idp = Oidc::start(3600);
    let env = env_for(&idp);
    new_code(&env, "a", &[]).ok();
    new_code(&env, "b", &[]).ok();
    let rt_a = env.secrets_of("a")["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let rt_b = env.secrets_of("b")["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let out = env.conn("rm a --yes").run();
    out.ok();
    assert!(out.stdout.contains("revoked"), "{out:?}");
    assert!(!idp.active(&rt_a));
    env.conn("rm b --yes --keep-remote").ok();
    assert!(idp.active(&rt_b));
}

#[test]
fn denied_or_abandoned_sign_in_saves_nothing() {
    let idp = Oidc::start(3600);
    let env = env_for(&idp);
    let out = new_code(&env, "x", &[("CONN_TEST_BROWSER", "deny")]);
    out.code(1);
    assert!(out.stderr.contains("access_denied"), "{out:?}");
    assert!(env.connections().is_empty());

    let start = std::time::Instant::now();
    let out = env
        .conn("new y --provider idp --client-id conn-cli --client-secret-env CS --timeout 3")
        .env("CS", "conn-cli-secret")
        .env("CONN_TEST_BROWSER", "ignore")
        .run();
    out.code(1);
    assert!(
        out.stderr.contains("no sign-in came back within 3s"),
        "{out:?}"
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
    assert!(env.connections().is_empty());
    assert!(env.read_connections().is_empty() || !env.read_connections().contains("[clients"));
}

#[test]
fn discovery_refuses_metadata_for_another_issuer() {
    let idp = Oidc::start(3600);
    // A fake whose metadata claims to be the real server: tokens must not go there.
    let issuer = idp.issuer.clone();
    let fake = FakeApi::start(move |s| {
        if s.url.starts_with("/.well-known/") {
            (
                200,
                serde_json::json!({"issuer": issuer, "token_endpoint": format!("{issuer}/token")})
                    .to_string(),
            )
        } else {
            (404, "{}".into())
        }
    });
    let mut env = TestEnv::new();
    env.write_provider("idp.toml", &idp.provider().replace(&idp.issuer, &fake.url));
    env.extra_env.push(("BROWSER".into(), browser_cmd()));
    let out = new_code(&env, "z", &[]);
    out.code(1);
    assert!(out.stderr.contains("refusing the metadata"), "{out:?}");
}

#[test]
fn the_generic_oauth2_provider_discovers_endpoints_from_an_issuer() {
    let idp = Oidc::start(3600);
    let mut env = TestEnv::new();
    env.extra_env.push(("BROWSER".into(), browser_cmd()));
    let issuer = format!("issuer={}", idp.issuer);
    let base = format!("base_url={}", idp.issuer);
    let out = env.run_env(
        &[
            "new",
            "gen",
            "--provider",
            "oauth2",
            "--set",
            &issuer,
            "--set",
            &base,
            "--set",
            "check_path=/me",
            "--set",
            "identity_field=/email",
            "--client-id",
            "conn-cli",
            "--client-secret-env",
            "CS",
            "--scopes",
            "openid,email",
            "--json",
        ],
        &[("CS", "conn-cli-secret")],
    );
    out.ok();
    assert_eq!(out.json()["identity"]["label"], "alice@example.test");
    // Revocation was discovered too.
    let rt = env.secrets_of("gen")["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    env.conn("rm gen --yes").ok();
    assert!(!idp.active(&rt));
}

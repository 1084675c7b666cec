//! Issue 12 against the real authorization server (oidc-provider): one refresh rule for
//! `check`, `token`, `exec` and `request` when the server revokes an access token, their
//! agreement on a dead grant, and OpenID Connect offline access.

use crate::support::*;

fn env_for(provider: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.write_provider("idp.toml", provider);
    env.extra_env.push(("BROWSER".into(), browser_cmd()));
    env
}

fn sign_in(env: &TestEnv, name: &str, scopes: Option<&str>) -> Out {
    let mut args = vec![
        "new",
        name,
        "--provider",
        "idp",
        "--client-id",
        "conn-cli",
        "--client-secret-env",
        "CS",
    ];
    if let Some(s) = scopes {
        args.extend(["--scopes", s]);
    }
    env.run_env(&args, &[("CS", "conn-cli-secret")])
}

fn tokens(env: &TestEnv) -> (String, String) {
    let s = env.secrets_of("rv");
    (
        s["access_token"].as_str().unwrap().to_string(),
        s["refresh_token"].as_str().unwrap().to_string(),
    )
}

/// The exec'd command calls the API with the exported header; exit 1 on a 401.
const CALL_API: &str = "import os,urllib.request as u; u.urlopen(u.Request(os.environ['RV_BASE_URL']+'/me', headers={'Authorization': os.environ['RV_AUTHORIZATION']}))";

fn run(env: &TestEnv, cmd: &str) -> Out {
    match cmd {
        "check" => env.run(&["-v", "check", "rv", "--json"]),
        "token" => env.run(&["-v", "token", "rv"]),
        "exec" => env.run(&["-v", "exec", "rv", "--", "python3", "-c", CALL_API]),
        "request" => env.run(&["-v", "request", "rv", "/me"]),
        _ => unreachable!(),
    }
}

#[test]
fn a_token_revoked_at_the_server_is_refreshed_once_by_every_command_and_all_agree() {
    let idp = Oidc::start(3600);
    let env = env_for(&idp.provider());
    sign_in(&env, "rv", None).ok();
    for cmd in ["check", "token", "exec", "request"] {
        let (at, rt) = tokens(&env);
        idp.destroy_access_token(&at);
        assert!(!idp.active(&at) && idp.active(&rt));
        let out = run(&env, cmd);
        out.ok();
        let ctx = format!("{cmd}: {out:?}");
        // Refreshed once, under the rotation rule (a reused refresh token would have revoked
        // the whole grant at this server).
        assert_eq!(
            out.stderr.matches("refreshing the access token").count(),
            1,
            "{ctx}"
        );
        let (at2, rt2) = tokens(&env);
        assert_ne!(at2, at, "{ctx}");
        assert_ne!(rt2, rt, "{ctx}");
        assert!(idp.active(&at2) && idp.active(&rt2), "{ctx}");
        match cmd {
            "check" => assert_eq!(out.json()[0]["status"], "ok", "{ctx}"),
            "token" => assert_eq!(out.stdout.trim(), at2, "{ctx}"),
            "request" => assert!(out.stdout.contains("alice@example.test"), "{ctx}"),
            _ => {}
        }
        if cmd != "token" {
            assert!(
                !out.all().contains(&at2) && !out.all().contains(&rt2),
                "{ctx}"
            );
        }
    }
    // A dead grant: every command says the connection must be signed in again.
    let (at, rt) = tokens(&env);
    idp.revoke(&rt);
    idp.revoke(&at);
    for cmd in ["check", "token", "exec", "request"] {
        let out = run(&env, cmd);
        let ctx = format!("{cmd}: {out:?}");
        assert!(!out.stdout.contains(&at), "{ctx}");
        if cmd == "check" {
            out.code(2);
            assert_eq!(out.json()[0]["status"], "needs_reauth", "{ctx}");
            assert!(
                out.json()[0]["hint"]
                    .as_str()
                    .unwrap()
                    .contains("conn reauth rv")
            );
        } else {
            assert_ne!(out.code, 0, "{ctx}");
            assert!(out.stderr.contains("conn reauth rv"), "{ctx}");
        }
    }
}

#[test]
fn offline_access_sends_prompt_consent_and_yields_a_refresh_token() {
    // Strict OpenID Connect: a refresh token only for a granted offline_access.
    let idp = Oidc::start_with(3600, &[("OFFLINE", "strict")]);
    let env = env_for(&idp.provider());
    let out = sign_in(&env, "rv", Some("openid,email,offline_access"));
    out.ok();
    assert!(out.stderr.contains("prompt=consent"), "{out:?}");
    assert!(!out.stderr.contains("no refresh token"), "{out:?}");
    let (_, rt) = tokens(&env);
    assert!(idp.active(&rt));
    env.run(&["check", "rv"]).ok();

    // Without offline_access the server gives none, and nothing warns: none was asked.
    let out = sign_in(&env, "plain", Some("openid,email"));
    out.ok();
    assert!(env.secrets_of("plain")["refresh_token"].is_null());
    assert!(!out.stderr.contains("offline access"), "{out:?}");
}

#[test]
fn offline_access_asked_but_not_granted_warns_at_sign_in_and_in_check() {
    // The provider fixes prompt=login, so conn does not add prompt=consent, and the server
    // drops offline_access.
    let idp = Oidc::start_with(3600, &[("OFFLINE", "strict")]);
    let provider = idp.provider().replace(
        "scopes = [",
        "authorize_params = { prompt = \"login\" }\nscopes = [",
    );
    let env = env_for(&provider);
    let out = sign_in(&env, "rv", Some("openid,email,offline_access"));
    out.ok();
    assert!(!out.stderr.contains("prompt=consent"), "{out:?}");
    assert!(
        out.stderr.contains(
            "offline access (offline_access) was asked, but the provider returned no refresh token"
        ),
        "{out:?}"
    );
    assert!(env.secrets_of("rv")["refresh_token"].is_null());
    let check = env.run(&["check", "rv", "--json"]);
    check.code(1);
    let r = check.json()[0].clone();
    assert_eq!(r["status"], "expiring", "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("gave no refresh token"),
        "{r}"
    );
    assert!(
        r["hint"].as_str().unwrap().contains("conn reauth rv"),
        "{r}"
    );
}

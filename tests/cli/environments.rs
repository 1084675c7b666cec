//! Providers whose API host comes from `[environments]` (Square, PayPal, QuickBooks): `exec` and
//! `request` reach the host of the connection's environment, as `check` does. Every request goes
//! to one local fake through CONN_TEST_ORIGIN, which keeps the original host as the first path
//! segment.

use crate::support::*;

const KEY: &str = "sq-key-0123456789abcdef";
const TOKEN: &str = "at-env-0123456789abcdef";
const REALM: &str = "9130354335462236";

/// A fake for all three apps: token requests get a token, the OAuth authorization redirects
/// back with QuickBooks' realmId, everything else answers `{"host": ..., "path": ...}`.
fn fake() -> FakeApi {
    FakeApi::start_with_headers(|seen| {
        let json = vec![("Content-Type".to_string(), "application/json".to_string())];
        let (path, query) = seen.url.split_once('?').unwrap_or((&seen.url, ""));
        let q: std::collections::BTreeMap<String, String> =
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
        if q.get("response_type").map(String::as_str) == Some("code") {
            let mut back = url::Url::parse(&q["redirect_uri"]).unwrap();
            back.query_pairs_mut()
                .append_pair("code", "good")
                .append_pair("state", &q["state"])
                .append_pair("realmId", REALM);
            return (302, vec![], back.to_string());
        }
        if seen.method == "POST" && seen.form("grant_type").is_some() {
            let t = serde_json::json!({
                "access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600,
            });
            return (200, json, t.to_string());
        }
        let (host, rest) = path.trim_start_matches('/').split_once('/').unwrap();
        let body = serde_json::json!({ "host": host, "path": format!("/{rest}") });
        (200, json, body.to_string())
    })
}

fn env_with(fake: &FakeApi) -> TestEnv {
    let mut env = TestEnv::new();
    env.extra_env
        .push(("CONN_TEST_ORIGIN".into(), fake.url.clone()));
    env.extra_env.push((
        "BROWSER".into(),
        format!(
            "python3 {}/tests/support/fake_browser.py",
            env!("CARGO_MANIFEST_DIR")
        ),
    ));
    env.extra_env
        .push(("FAKE_BROWSER_MODE".into(), "follow".into()));
    env
}

/// `conn exec NAME -- sh -c 'printf %s "$C_BASE_URL"'` prints the base URL it exported.
fn exported_base_url(env: &TestEnv, name: &str) -> String {
    let out = env.run(&[
        "exec",
        &format!("{name}=C"),
        "--",
        "sh",
        "-c",
        "printf %s \"$C_BASE_URL\"",
    ]);
    out.ok();
    out.stdout
}

/// `conn request NAME PATH`: the host and path the fake saw, and the credentials sent.
fn requested(env: &TestEnv, fake: &FakeApi, name: &str, path: &str) -> (String, String, String) {
    let out = env.run(&["request", name, path]);
    out.ok();
    let v = out.json();
    let seen = fake.requests().into_iter().last().unwrap();
    (
        v["host"].as_str().unwrap().to_string(),
        v["path"].as_str().unwrap().to_string(),
        seen.header("Authorization").unwrap_or_default().to_string(),
    )
}

#[test]
fn square_exec_and_request_reach_the_environments_host() {
    for (environment, host) in [
        ("production", "connect.squareup.com"),
        ("sandbox", "connect.squareupsandbox.com"),
    ] {
        let fake = fake();
        let env = env_with(&fake);
        env.run_env(
            &[
                "new",
                "sq",
                "--provider",
                "square",
                "--env",
                environment,
                "--auth",
                "api_key",
                "--secret-env",
                "K",
                "--no-check",
            ],
            &[("K", KEY)],
        )
        .ok();
        assert_eq!(exported_base_url(&env, "sq"), format!("https://{host}"));
        let (h, p, auth) = requested(&env, &fake, "sq", "/v2/merchants/me");
        assert_eq!((h.as_str(), p.as_str()), (host, "/v2/merchants/me"));
        assert_eq!(auth, format!("Bearer {KEY}"));
    }
}

#[test]
fn paypal_exec_and_request_reach_the_environments_host() {
    for (environment, host) in [
        ("production", "api-m.paypal.com"),
        ("sandbox", "api-m.sandbox.paypal.com"),
    ] {
        let fake = fake();
        let env = env_with(&fake);
        env.run_env(
            &[
                "new",
                "pp",
                "--provider",
                "paypal",
                "--env",
                environment,
                "--client-id",
                "app",
                "--client-secret-env",
                "CS",
                "--grant",
                "client_credentials",
                "--no-check",
            ],
            &[("CS", "paypal-client-secret")],
        )
        .ok();
        let token = fake.requests().into_iter().next().unwrap();
        assert!(
            token.url.starts_with(&format!("/{host}/v1/oauth2/token")),
            "token request went to {}",
            token.url
        );
        assert_eq!(exported_base_url(&env, "pp"), format!("https://{host}"));
        let (h, p, auth) = requested(&env, &fake, "pp", "/v1/notifications/webhooks");
        assert_eq!(
            (h.as_str(), p.as_str()),
            (host, "/v1/notifications/webhooks")
        );
        assert_eq!(auth, format!("Bearer {TOKEN}"));
    }
}

#[test]
fn quickbooks_exec_and_request_reach_the_environments_host() {
    for (environment, host) in [
        ("production", "quickbooks.api.intuit.com"),
        ("sandbox", "sandbox-quickbooks.api.intuit.com"),
    ] {
        let fake = fake();
        let env = env_with(&fake);
        env.run_env(
            &[
                "new",
                "qb",
                "--provider",
                "quickbooks",
                "--env",
                environment,
                "--client-id",
                "app",
                "--client-secret-env",
                "CS",
                "--no-check",
                "--timeout",
                "20",
            ],
            &[("CS", "intuit-client-secret")],
        )
        .ok();
        assert_eq!(
            exported_base_url(&env, "qb"),
            format!("https://{host}/v3/company/{REALM}")
        );
        let (h, p, auth) = requested(&env, &fake, "qb", &format!("/companyinfo/{REALM}"));
        assert_eq!(h, host);
        assert_eq!(p, format!("/v3/company/{REALM}/companyinfo/{REALM}"));
        assert_eq!(auth, format!("Bearer {TOKEN}"));
    }
}

#[test]
fn a_test_origin_other_than_a_loopback_ip_with_a_port_is_refused() {
    let fake = fake().may_go_unused();
    let port = fake.url.rsplit(':').next().unwrap().to_string();
    let env = TestEnv::new();
    env.run_env(
        &[
            "new",
            "sq",
            "--provider",
            "square",
            "--auth",
            "api_key",
            "--secret-env",
            "K",
            "--no-check",
        ],
        &[("K", KEY)],
    )
    .ok();
    for origin in [
        format!("http://127.0.0.1:1@127.0.0.2:{port}"),
        format!("http://localhost:{port}"),
        format!("http://user@127.0.0.1:{port}"),
        format!("http://127.0.0.1:{port}/prefix"),
        "http://10.1.2.3:80".to_string(),
    ] {
        for args in [
            &["request", "sq", "/v2/merchants/me"][..],
            &["check", "sq"][..],
        ] {
            let out = env.run_env(args, &[("CONN_TEST_ORIGIN", origin.as_str())]);
            assert_ne!(out.code, 0, "{origin} accepted by {args:?}: {out:#?}");
            assert!(
                out.stderr.contains("CONN_TEST_ORIGIN") && out.stderr.contains("refused"),
                "{origin}: {}",
                out.stderr
            );
        }
    }
    assert!(
        fake.requests().is_empty(),
        "a refused origin still received {:?}",
        fake.requests()
    );
}

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

/// One provider's connection, made with `new` (plus `--env ENV`) in each environment.
struct Case<'a> {
    new: &'a str,
    vars: &'a [(&'a str, &'a str)],
    /// (environment, its API host)
    hosts: [(&'a str, &'a str); 2],
    /// What follows the host in the base URL.
    base_path: String,
    /// What `conn request` is given, and the path the fake sees under the host.
    path: String,
    seen_path: String,
    /// The Authorization header the API gets.
    auth: String,
}

/// In each environment `conn exec` exports the base URL on that environment's host, and
/// `conn request` reaches that host with the connection's credentials. `made` checks what the
/// fake saw while the connection was made.
fn reaches_each_environments_host(c: Case<'_>, made: &dyn Fn(&FakeApi, &str)) {
    for (environment, host) in c.hosts {
        let fake = fake();
        let env = env_with(&fake);
        let mut cmd = env.conn(c.new).arg("--env").arg(environment);
        for (k, v) in c.vars {
            cmd = cmd.env(k, *v);
        }
        cmd.ok();
        made(&fake, host);
        let out = env
            .conn("exec c -- sh -c")
            .arg("printf %s \"$C_BASE_URL\"")
            .ok();
        let base = format!("https://{host}{}", c.base_path);
        assert_eq!(out.stdout, base, "{environment}");
        let answer = env.conn("request c").arg(&c.path).ok().json();
        assert_eq!(answer["host"], host, "{environment}");
        assert_eq!(answer["path"], c.seen_path.as_str(), "{environment}");
        let seen = fake.requests().into_iter().last().unwrap();
        assert_eq!(
            seen.header("Authorization"),
            Some(c.auth.as_str()),
            "{environment}"
        );
    }
}

#[test]
fn square_exec_and_request_reach_the_environments_host() {
    let case = Case {
        new: "new c --provider square --auth api_key --secret-env K --no-check",
        vars: &[("K", KEY)],
        hosts: [
            ("production", "connect.squareup.com"),
            ("sandbox", "connect.squareupsandbox.com"),
        ],
        base_path: String::new(),
        path: "/v2/merchants/me".into(),
        seen_path: "/v2/merchants/me".into(),
        auth: format!("Bearer {KEY}"),
    };
    reaches_each_environments_host(case, &|_, _| {});
}

#[test]
fn paypal_exec_and_request_reach_the_environments_host() {
    let case = Case {
        new: "new c --provider paypal --client-id app --client-secret-env CS --grant client_credentials --no-check",
        vars: &[("CS", "paypal-client-secret")],
        hosts: [
            ("production", "api-m.paypal.com"),
            ("sandbox", "api-m.sandbox.paypal.com"),
        ],
        base_path: String::new(),
        path: "/v1/notifications/webhooks".into(),
        seen_path: "/v1/notifications/webhooks".into(),
        auth: format!("Bearer {TOKEN}"),
    };
    // The client credentials token comes from the environment's host too.
    reaches_each_environments_host(case, &|fake, host| {
        let token = fake.requests().into_iter().next().unwrap();
        assert!(
            token.url.starts_with(&format!("/{host}/v1/oauth2/token")),
            "token request went to {}",
            token.url
        );
    });
}

#[test]
fn quickbooks_exec_and_request_reach_the_environments_host() {
    let case = Case {
        new: "new c --provider quickbooks --client-id app --client-secret-env CS --no-check --timeout 20",
        vars: &[("CS", "intuit-client-secret")],
        hosts: [
            ("production", "quickbooks.api.intuit.com"),
            ("sandbox", "sandbox-quickbooks.api.intuit.com"),
        ],
        base_path: format!("/v3/company/{REALM}"),
        path: format!("/companyinfo/{REALM}"),
        seen_path: format!("/v3/company/{REALM}/companyinfo/{REALM}"),
        auth: format!("Bearer {TOKEN}"),
    };
    reaches_each_environments_host(case, &|_, _| {});
}

#[test]
fn a_test_origin_other_than_a_loopback_ip_with_a_port_is_refused() {
    let fake = fake().may_go_unused();
    let port = fake.url.rsplit(':').next().unwrap().to_string();
    let env = TestEnv::new();
    env.conn("new sq --provider square --auth api_key --secret-env K --no-check")
        .env("K", KEY)
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

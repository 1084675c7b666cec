//! Provider data for field quirks (issue 12 step 4), through the binary against a fake:
//! `pkce = false`, `token_params` on the code exchange and `refresh_params` on refresh,
//! `lifecycle.access_token_lifetime` for answers without `expires_in`, and
//! `tokens_never_expire`.

use crate::oauth2_fakes::{NEW, env_for, fake_as};
use crate::support::*;

/// Signs in (the code exchange answers `first`), then answers refreshes with at-2.
fn api_with(first: &'static str) -> FakeApi {
    fake_as(move |s| match s.form("grant_type").as_deref() {
        Some("authorization_code") => (200, first.to_string()),
        Some("refresh_token") => (
            200,
            r#"{"access_token":"at-2","token_type":"bearer","expires_in":3600}"#.into(),
        ),
        _ => (400, r#"{"error":"unsupported_grant_type"}"#.into()),
    })
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn pkce_false_sends_no_challenge_and_no_verifier() {
    let api = api_with(r#"{"access_token":"at-1","refresh_token":"rt-1"}"#);
    let env = env_for(&api, "pkce = false");
    let out = env.run_env(NEW, &[("CS", "s")]);
    out.ok();
    assert!(!out.stderr.contains("code_challenge"), "{out:?}");
    let exchange = api
        .requests()
        .into_iter()
        .find(|r| r.url == "/token")
        .unwrap();
    assert_eq!(exchange.form("code_verifier"), None);
}

#[test]
fn token_params_go_with_the_code_exchange_and_refresh_params_with_refresh() {
    let api = api_with(r#"{"access_token":"at-1","refresh_token":"rt-1","expires_in":30}"#);
    let env = env_for(
        &api,
        "token_params = { expires_in = \"1800\" }\nrefresh_params = { expires_in = \"1200\", audience = \"api\" }",
    );
    env.run_env(NEW, &[("CS", "s")]).ok();
    // 30 s left: due for refresh.
    let tok = env.run(&["token", "x"]);
    tok.ok();
    assert_eq!(tok.stdout.trim(), "at-2");
    let token_reqs: Vec<Seen> = api
        .requests()
        .into_iter()
        .filter(|r| r.url == "/token")
        .collect();
    assert_eq!(
        token_reqs[0].form("grant_type").as_deref(),
        Some("authorization_code")
    );
    assert_eq!(token_reqs[0].form("expires_in").as_deref(), Some("1800"));
    assert_eq!(token_reqs[0].form("audience"), None);
    assert_eq!(
        token_reqs[1].form("grant_type").as_deref(),
        Some("refresh_token")
    );
    assert_eq!(token_reqs[1].form("expires_in").as_deref(), Some("1200"));
    assert_eq!(token_reqs[1].form("audience").as_deref(), Some("api"));
}

#[test]
fn access_token_lifetime_fills_an_unknown_expiry() {
    // Salesforce-like: no expires_in; the provider says sessions last 2 hours.
    let api =
        api_with(r#"{"access_token":"at-1","refresh_token":"rt-1","instance_url":"https://x"}"#);
    let env = env_for(&api, "");
    let path = env.home().join("providers/fake.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        format!("{text}\n[lifecycle]\naccess_token_lifetime = 7200\n"),
    )
    .unwrap();
    env.run_env(NEW, &[("CS", "s")]).ok();
    let at: u64 = env.secrets_of("x")["expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(at.abs_diff(now() + 7200) <= 60, "{at}");
    assert!(
        env.learned("x")["expires_at"].as_str().is_some(),
        "shown by conn show"
    );
    // Within the lifetime the token is used as it is.
    assert_eq!(env.run(&["token", "x"]).stdout.trim(), "at-1");
}

#[test]
fn tokens_that_never_expire_are_never_refreshed_or_called_expired() {
    // Mailchimp: expires_in 0, no refresh token, and the provider says tokens never expire.
    let api = api_with(r#"{"access_token":"at-1","expires_in":0,"scope":null}"#);
    let env = env_for(&api, "");
    let path = env.home().join("providers/fake.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        format!("{text}\n[lifecycle]\ntokens_never_expire = true\naccess_token_lifetime = 60\n"),
    )
    .unwrap();
    env.run_env(NEW, &[("CS", "s")]).ok();
    assert!(env.secrets_of("x")["expires_at"].is_null());
    let tok = env.run(&["token", "x"]);
    tok.ok();
    assert_eq!(tok.stdout.trim(), "at-1");
    let check = env.run(&["check", "x", "--json"]);
    check.ok();
    assert_eq!(check.json()[0]["status"], "ok");
    assert!(
        api.requests()
            .iter()
            .all(|r| r.form("grant_type").as_deref() != Some("refresh_token"))
    );
}

#[test]
fn comma_separated_granted_scopes_satisfy_required_scopes() {
    // GitHub and Slack list granted scopes with commas.
    let api = api_with(r#"{"access_token":"at-1","token_type":"bearer","scope":"repo,read:org"}"#);
    let env = env_for(&api, r#"required_scopes = ["repo"]"#);
    env.run_env(NEW, &[("CS", "s")]).ok();
    let scopes = env.connections()["x"]["oauth"]["scopes"].clone();
    assert_eq!(
        scopes,
        toml::Value::Array(vec!["repo".into(), "read:org".into()])
    );
    let check = env.run(&["check", "x", "--json"]);
    check.ok();
    assert_eq!(check.json()[0]["status"], "ok");
}

#[test]
fn refresh_url_takes_the_refreshes() {
    // Figma refreshes at its own endpoint; the code exchange stays at token_url.
    let api = fake_as(
        |s| match (s.url.as_str(), s.form("grant_type").as_deref()) {
            ("/token", Some("authorization_code")) => (
                200,
                r#"{"access_token":"at-1","refresh_token":"rt-1","expires_in":30}"#.into(),
            ),
            _ => (400, r#"{"error":"invalid_request"}"#.into()),
        },
    );
    let refreshes = FakeApi::start(|s| match s.form("grant_type").as_deref() {
        Some("refresh_token") => (200, r#"{"access_token":"at-2","expires_in":3600}"#.into()),
        _ => (400, r#"{"error":"invalid_request"}"#.into()),
    });
    let env = env_for(
        &api,
        &format!("refresh_url = \"{}/refresh\"", refreshes.url),
    );
    env.run_env(NEW, &[("CS", "s")]).ok();
    let tok = env.run(&["token", "x"]);
    tok.ok();
    assert_eq!(tok.stdout.trim(), "at-2");
    assert_eq!(refreshes.requests()[0].url, "/refresh");
}

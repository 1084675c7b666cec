//! The human tables of `list`, `show` and `check`, exactly as printed (times, latencies and the
//! test's own paths normalized).

use crate::support::*;

const GOOD: &str = "k-good-0123456789abcdef";
const BAD: &str = "k-bad-0123456789abcdef";

/// Replaces what changes from run to run: timestamps, ages, latencies, ids and the test's dir.
fn normalized(env: &TestEnv, text: &str) -> String {
    let home = env.home().display().to_string();
    let text = text.replace(&home, "$CONN_HOME");
    let rules = [
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "TIME"),
        (r"\(\d+[smhd] ago\)", "(AGE ago)"),
        (r"\b\d{3}ms\b", "NNNms"),
        (r"\b[0-9a-f]{24}\b", "ID"),
    ];
    rules.iter().fold(text, |t, (re, with)| {
        regex::Regex::new(re)
            .unwrap()
            .replace_all(&t, *with)
            .into_owned()
    })
}

fn two_connections() -> (FakeApi, TestEnv) {
    // Answers take 100 ms, so every latency has three digits and the columns line up the
    // same way on every run.
    let api = FakeApi::start(|seen| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if seen.header("Authorization") == Some(format!("Bearer {GOOD}").as_str()) {
            (200, r#"{"id": 42, "email": "ann@acme.test"}"#.to_string())
        } else {
            (401, r#"{"message":"Bad credentials"}"#.to_string())
        }
    });
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    env.conn("new prod --provider acme --auth api_key --secret-env K")
        .env("K", GOOD)
        .ok();
    add_acme(&env, "stale-key", BAD);
    (api, env)
}

#[test]
fn list_is_a_table_of_every_connection_and_its_last_check() {
    let (_api, env) = two_connections();
    let out = env.conn("list").ok();
    assert_eq!(
        normalized(&env, &out.stdout),
        "\
NAME       PROVIDER  AUTH     ENV         CONNECTED AS                LAST CHECK
prod       acme      api_key  production  ann@acme.test on 127.0.0.1  ok (AGE ago)
stale-key  acme      api_key  production  -                           never checked
"
    );
    assert_eq!(out.stderr, "");
}

#[test]
fn check_is_a_table_with_hints_under_their_rows() {
    let (_api, env) = two_connections();
    let out = env.conn("check").code(2);
    assert_eq!(
        normalized(&env, &out.stdout),
        "\
NAME       PROVIDER  STATUS               IDENTITY       LATENCY  DETAIL
prod       acme      ok                   ann@acme.test  NNNms
stale-key  acme      invalid_credentials  -              NNNms    HTTP 401: the credentials were rejected: Bad credentials
  likely cause: the key or token was revoked, rotated or expired. In order:
  check that the user who authorized it is still active and allowed to use the
  API, verify the credentials with the provider, then replace them with 'conn
  reauth stale-key'
"
    );
}

#[test]
fn show_lists_settings_and_masked_secrets_aligned() {
    let (_api, env) = two_connections();
    let out = env.conn("show prod").ok();
    assert_eq!(
        normalized(&env, &out.stdout),
        "\
name            prod
provider        acme
auth            api_key
env             production
connected as    ann@acme.test (id 42)
instance        127.0.0.1
secret store    $CONN_HOME/secrets
secret api_key  ••••••••cdef (23 chars)
created         TIME
updated         TIME
last check      ok at TIME
"
    );
}

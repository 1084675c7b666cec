//! The interactive wizard, driven through a pseudo-terminal as a person would.

use rexpect::session::{PtySession, spawn_command};
use serde_json::json;

use crate::support::*;

pub fn wizard(env: &TestEnv, args: &[&str]) -> PtySession {
    let mut c = env.cmd();
    c.args(args).env("TERM", "xterm");
    // The pty is the terminal: don't let the sealed env's closed stdin replace it.
    c.stdin(std::process::Stdio::inherit())
        .stdout(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit());
    spawn_command(c, Some(30_000)).expect("spawn conn in a pty")
}

/// Types `keys` once the prompt that was just seen is reading: dialoguer switches the terminal
/// to raw mode after drawing, and keys sent before that are line-buffered by the tty.
pub fn type_keys(p: &mut PtySession, keys: &str) {
    std::thread::sleep(std::time::Duration::from_millis(300));
    p.send(keys).unwrap();
    p.flush().unwrap();
}

#[test]
fn wizard_creates_a_checked_connection() {
    let api = FakeApi::expecting_auth(
        "Bearer wiz-key-555",
        json!({"id": 11, "email": "wiz@acme.test"}),
    );
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    let mut p = wizard(&env, &["new"]);
    p.exp_string("App (type to filter)").unwrap();
    type_keys(&mut p, "acme");
    p.exp_string("Acme API (acme)").unwrap();
    type_keys(&mut p, "\r");
    p.exp_string("How do you sign in?").unwrap();
    type_keys(&mut p, "\r"); // first method: API key
    p.exp_string("Environment").unwrap();
    type_keys(&mut p, "\r"); // production
    p.exp_string("Connection name").unwrap();
    type_keys(&mut p, "\r"); // take the suggested name
    p.exp_string("Acme API key (hidden)").unwrap();
    type_keys(&mut p, "wiz-key-555\r");
    p.exp_string("Saved connection 'acme'").unwrap();
    p.exp_string("connected as wiz@acme.test").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(
        env.connections()["acme"]["env"].as_str(),
        Some("production")
    );
    assert_eq!(
        api.requests()[0].header("Authorization"),
        Some("Bearer wiz-key-555")
    );
}

#[test]
fn wizard_revalidates_inputs_and_takes_basic_credentials() {
    let env = TestEnv::new();
    let mut p = wizard(&env, &["new", "--no-check"]);
    p.exp_string("App (type to filter)").unwrap();
    type_keys(&mut p, "zendesk");
    p.exp_string("Zendesk (zendesk)").unwrap();
    type_keys(&mut p, "\r");
    p.exp_string("How do you sign in?").unwrap();
    type_keys(&mut p, "\r"); // the first: email address and API token
    p.exp_string("Environment").unwrap();
    type_keys(&mut p, "\x1b[B"); // arrow down: sandbox
    type_keys(&mut p, "\r");
    p.exp_string("Zendesk subdomain").unwrap();
    type_keys(&mut p, "Not Valid\r");
    p.exp_string("is not a valid Zendesk subdomain").unwrap();
    type_keys(&mut p, "acme\r");
    p.exp_string("Connection name").unwrap();
    p.exp_string("zendesk-acme").unwrap();
    type_keys(&mut p, "\r");
    p.exp_string("Agent email address").unwrap();
    type_keys(&mut p, "agent@acme.test\r");
    p.exp_string("API token (hidden)").unwrap();
    type_keys(&mut p, "zd-token-1\r");
    p.exp_string("Saved connection 'zendesk-acme'").unwrap();
    p.exp_eof().unwrap();
    let c = env.connections();
    assert_eq!(c["zendesk-acme"]["env"].as_str(), Some("sandbox"));
    assert_eq!(
        c["zendesk-acme"]["inputs"]["subdomain"].as_str(),
        Some("acme")
    );
    assert_eq!(
        c["zendesk-acme"]["username"].as_str(),
        Some("agent@acme.test")
    );
}

#[test]
fn failed_check_asks_before_saving_and_no_means_nothing_saved() {
    let api = FakeApi::expecting_auth("Bearer right", json!({"id": 1}));
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    let mut p = wizard(
        &env,
        &[
            "new",
            "w",
            "--provider",
            "acme",
            "--auth",
            "api_key",
            "--env",
            "production",
        ],
    );
    p.exp_string("Acme API key (hidden)").unwrap();
    type_keys(&mut p, "wrong\r");
    p.exp_string("invalid_credentials").unwrap();
    p.exp_string("Save the connection anyway?").unwrap();
    type_keys(&mut p, "n");
    p.exp_string("Correct an answer and check again?").unwrap();
    type_keys(&mut p, "n");
    p.exp_string("nothing was saved").unwrap();
    p.exp_eof().unwrap();
    assert!(env.connections().is_empty());
}

#[test]
fn failed_check_offers_to_correct_the_failing_answer() {
    let api = FakeApi::expecting_auth("Bearer right", json!({"id": 1, "email": "r@acme.test"}));
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    let mut p = wizard(
        &env,
        &[
            "new",
            "w",
            "--provider",
            "acme",
            "--auth",
            "api_key",
            "--env",
            "production",
        ],
    );
    p.exp_string("Acme API key (hidden)").unwrap();
    type_keys(&mut p, "wrong\r");
    p.exp_string("Save the connection anyway?").unwrap();
    type_keys(&mut p, "n");
    p.exp_string("Correct an answer and check again?").unwrap();
    type_keys(&mut p, "y");
    p.exp_string("Which answer?").unwrap();
    type_keys(&mut p, "\r"); // the key, the only answer typed here
    p.exp_string("Acme API key (hidden)").unwrap();
    type_keys(&mut p, "right\r");
    p.exp_string("Saved connection 'w'").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(
        api.requests().last().unwrap().header("Authorization"),
        Some("Bearer right")
    );
}

#[test]
fn ctrl_c_in_the_wizard_saves_nothing() {
    let env = TestEnv::new();
    let mut p = wizard(
        &env,
        &["new", "c", "--provider", "stripe", "--env", "production"],
    );
    p.exp_string("(hidden)").unwrap();
    type_keys(&mut p, "sk_partial");
    p.send_control('c').unwrap();
    p.exp_eof().unwrap();
    let status = p.process_mut().wait().unwrap();
    assert!(
        !matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
        "{status:?}"
    );
    assert!(env.connections().is_empty());
    assert!(env.all_secrets().is_empty());
}

#[test]
fn secret_stdin_on_a_terminal_is_refused_rather_than_echoed() {
    let env = TestEnv::new();
    let mut p = wizard(
        &env,
        &[
            "new",
            "s",
            "--provider",
            "stripe",
            "--env",
            "production",
            "--secret-stdin",
        ],
    );
    p.exp_string("stdin is a terminal").unwrap();
    p.exp_eof().unwrap();
    let status = p.process_mut().wait().unwrap();
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 2)),
        "{status:?}"
    );
}

#[test]
fn wizard_registers_an_oauth_client_and_signs_in() {
    // A fake authorization server; the scripted browser goes straight to the callback.
    let api = FakeApi::start(|s| {
        match s.url.as_str() {
        "/token" => (
            200,
            r#"{"access_token":"at-w","refresh_token":"rt-w","token_type":"bearer","expires_in":3600}"#.into(),
        ),
        "/me" => (200, r#"{"id":"7","name":"wizard-user"}"#.into()),
        _ => (404, "{}".into()),
    }
    });
    let env = TestEnv::new();
    env.write_provider(
        "fake.toml",
        &format!(
            "id = \"fake\"\ndisplay_name = \"Fake OAuth\"\n[[auth]]\nmethod = \"oauth2\"\nauthorize_url = \"{0}/authorize\"\ntoken_url = \"{0}/token\"\n[api]\nbase_url = \"{0}\"\n[check]\npath = \"/me\"\nidentity = {{ id = \"/id\", label = \"/name\" }}\n",
            api.url
        ),
    );
    let mut c = env.cmd();
    c.args(["new", "--provider", "fake", "--env", "production"])
        .env("TERM", "xterm")
        .env(
            "BROWSER",
            format!(
                "python3 {}/tests/support/fake_browser.py",
                env!("CARGO_MANIFEST_DIR")
            ),
        )
        .stdin(std::process::Stdio::inherit())
        .stdout(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit());
    let mut p = spawn_command(c, Some(30_000)).unwrap();
    p.exp_string("Connection name").unwrap();
    type_keys(&mut p, "\r");
    p.exp_string("OAuth client id").unwrap();
    type_keys(&mut p, "my-client\r");
    p.exp_string("client secret?").unwrap();
    type_keys(&mut p, "y");
    p.exp_string("Client secret (hidden)").unwrap();
    type_keys(&mut p, "my-client-secret\r");
    p.exp_string("/authorize?").unwrap();
    p.exp_string("connected as wizard-user").unwrap();
    p.exp_eof().unwrap();
    let doc = env.read_connections();
    assert!(doc.contains("[clients.\"fake/my-client\"]"), "{doc}");
    assert!(!doc.contains("my-client-secret"));
    let token_req = api
        .requests()
        .into_iter()
        .find(|r| r.url == "/token")
        .unwrap();
    assert!(
        token_req
            .header("Authorization")
            .unwrap()
            .starts_with("Basic ")
    );
}

/// `TERM=dumb` (an Emacs shell): plain line prompts, and not one escape sequence.
#[test]
fn a_dumb_terminal_gets_plain_line_prompts_without_escape_codes() {
    let api = FakeApi::expecting_auth(
        "Bearer dumb-key-77",
        json!({"id": 12, "email": "dumb@acme.test"}),
    );
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    let mut c = env.cmd();
    c.args(["new"]).env("TERM", "dumb");
    c.stdin(std::process::Stdio::inherit())
        .stdout(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit());
    let mut p = spawn_command(c, Some(30_000)).expect("spawn conn in a pty");
    let mut seen = String::new();
    let mut step = |p: &mut PtySession, until: &str, answer: &str| {
        seen.push_str(&p.exp_string(until).unwrap());
        seen.push_str(until);
        p.send_line(answer).unwrap();
    };
    // Part of a name narrows the list to one.
    step(&mut p, "App (number, or part of a name)", "acme");
    step(
        &mut p,
        "How do you sign in? (number, or part of a name)",
        "1",
    );
    step(&mut p, "Environment (number, or part of a name)", "");
    step(&mut p, "Connection name [acme]: ", "");
    step(&mut p, "Acme API key (hidden): ", "dumb-key-77");
    seen.push_str(&p.exp_eof().unwrap());
    assert!(seen.contains("Saved connection 'acme'"), "{seen}");
    assert!(seen.contains("connected as dumb@acme.test"), "{seen}");
    assert!(
        !seen.contains('\u{1b}'),
        "escape codes on a dumb terminal: {seen:?}"
    );
    // The hidden answer was not echoed.
    assert!(!seen.contains("dumb-key-77"), "{seen:?}");
    assert_eq!(
        api.requests()[0].header("Authorization"),
        Some("Bearer dumb-key-77")
    );
}

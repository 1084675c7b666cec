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
    // Acme has no sandbox: no environment question.
    let asked = p.exp_string("Connection name").unwrap();
    assert!(!asked.contains("Environment"), "{asked}");
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
    // Zendesk has one environment: not asked.
    let asked = p.exp_string("Zendesk subdomain").unwrap();
    assert!(!asked.contains("Environment"), "{asked}");
    type_keys(&mut p, "Not Valid\r");
    p.exp_string("is not a valid Zendesk subdomain").unwrap();
    // The address of the Zendesk, pasted, is taken for its subdomain.
    type_keys(&mut p, "https://ACME.zendesk.com/agent/\r");
    p.exp_string("Zendesk subdomain: acme").unwrap();
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
    assert_eq!(c["zendesk-acme"]["env"].as_str(), Some("production"));
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
    p.exp_string("The check failed. What now?").unwrap();
    type_keys(&mut p, "give up");
    p.exp_string("Give up; nothing is saved").unwrap();
    type_keys(&mut p, "\r");
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
    p.exp_string("The check failed. What now?").unwrap();
    type_keys(&mut p, "\r"); // the cursor is on the key: a refused key is the likeliest
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

/// The `http` provider's answers up to the key, typed as a person would: `header` at its
/// question (empty: take the default), then `prefix_keys` at the prefix question.
fn http_up_to_key(p: &mut PtySession, api: &FakeApi, header: &str, prefix_keys: &str) {
    p.exp_string("API base URL").unwrap();
    type_keys(p, &format!("{}\r", api.url));
    p.exp_string("Path of a cheap authenticated request")
        .unwrap();
    type_keys(p, "/me\r");
    p.exp_string("Header that carries the API key").unwrap();
    type_keys(p, &format!("{header}\r"));
    p.exp_string("Text before the key").unwrap();
    type_keys(p, prefix_keys);
    p.exp_string("JSON pointer").unwrap();
    type_keys(p, "\r");
    p.exp_string("API key (hidden)").unwrap();
}

/// An API that takes its key in `header`, exactly `value`.
fn key_in(header: &'static str, value: &'static str) -> FakeApi {
    FakeApi::start(move |s| match s.header(header) {
        Some(v) if v == value => (200, json!({"login": "svc"}).to_string()),
        _ => (401, r#"{"message":"Bad credentials"}"#.into()),
    })
}

#[test]
fn http_prefix_follows_the_header_and_can_be_emptied() {
    // A custom header: the prefix question starts empty, and Enter keeps it so.
    let api = key_in("X-Api-Key", "k-1");
    let env = TestEnv::new();
    let mut p = wizard(
        &env,
        &["new", "x", "--provider", "http", "--auth", "api_key"],
    );
    http_up_to_key(&mut p, &api, "X-Api-Key", "\r");
    type_keys(&mut p, "k-1\r");
    p.exp_string("Saved connection 'x'").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(
        env.connections()["x"]["inputs"]["prefix"].as_str(),
        Some("")
    );
    assert_eq!(api.requests()[0].header("X-Api-Key"), Some("k-1"));
    assert_eq!(api.requests()[0].header("Authorization"), None);

    // Authorization: "Bearer " is offered as editable text; erased, and a lone space typed
    // instead, the prefix is empty, not " ".
    let api = key_in("Authorization", "k-2");
    let mut p = wizard(
        &env,
        &["new", "y", "--provider", "http", "--auth", "api_key"],
    );
    http_up_to_key(&mut p, &api, "", &format!("{} \r", "\x7f".repeat(7)));
    type_keys(&mut p, "k-2\r");
    p.exp_string("Saved connection 'y'").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(
        env.connections()["y"]["inputs"]["prefix"].as_str(),
        Some("")
    );
    assert_eq!(api.requests()[0].header("Authorization"), Some("k-2"));
}

#[test]
fn failed_http_check_corrects_one_answer_and_keeps_the_rest() {
    let api = key_in("X-Api-Key", "k-3");
    let env = TestEnv::new();
    let mut p = wizard(
        &env,
        &["new", "svc", "--provider", "http", "--auth", "api_key"],
    );
    // The default header (Authorization) with its default prefix: the API refuses it.
    http_up_to_key(&mut p, &api, "", "\r");
    type_keys(&mut p, "k-3\r");
    p.exp_string("invalid_credentials").unwrap();
    // The hint shows how the key went, not only "the key is wrong".
    p.exp_string("`Authorization: Bearer <key>`").unwrap();
    p.exp_string("The check failed. What now?").unwrap();
    type_keys(&mut p, "Change Header");
    p.exp_string("Change Header that carries").unwrap();
    type_keys(&mut p, "\r");
    p.exp_string("Header that carries the API key").unwrap();
    // The current answer is the default; replace it.
    type_keys(&mut p, "X-Api-Key\r");
    // The prefix came with Authorization; it follows the header.
    p.exp_string("now \"\", following that answer").unwrap();
    p.exp_string("Saved connection 'svc'").unwrap();
    p.exp_eof().unwrap();
    let c = &env.connections()["svc"];
    assert_eq!(c["inputs"]["header"].as_str(), Some("X-Api-Key"));
    assert_eq!(c["inputs"]["prefix"].as_str(), Some(""));
    // The other answers were kept, not asked again.
    assert_eq!(c["inputs"]["base_url"].as_str(), Some(api.url.as_str()));
    assert_eq!(c["inputs"]["check_path"].as_str(), Some("/me"));
    let last = api.requests().last().unwrap().clone();
    assert_eq!(last.header("X-Api-Key"), Some("k-3"));
    assert_eq!(api.requests().len(), 2, "one failed check, one good one");
}

#[test]
fn github_api_url_is_worked_out_from_the_host() {
    let env = TestEnv::new();
    let mut p = wizard(
        &env,
        &[
            "new",
            "--provider",
            "github",
            "--auth",
            "api_key",
            "--no-check",
        ],
    );
    let mut seen = p.exp_string("GitHub host").unwrap();
    // A pasted address is taken for the host.
    type_keys(&mut p, "https://github.acme.com/\r");
    seen += &p
        .exp_string("GitHub API URL: https://github.acme.com/api/v3 (from the GitHub host)")
        .unwrap();
    seen += &p.exp_string("Connection name").unwrap();
    type_keys(&mut p, "\r");
    seen += &p.exp_string("Personal access token (hidden)").unwrap();
    type_keys(&mut p, "ghp_x\r");
    seen += &p.exp_string("Saved connection").unwrap();
    p.exp_eof().unwrap();
    assert!(!seen.contains("Environment"), "{seen}");
    assert!(
        !seen.contains("GitHub API URL"),
        "asked for the API URL: {seen}"
    );
    let c = env.connections();
    let (_, g) = c.iter().next().unwrap();
    assert_eq!(g["inputs"]["host"].as_str(), Some("github.acme.com"));
    assert_eq!(
        g["inputs"]["api_url"].as_str(),
        Some("https://github.acme.com/api/v3")
    );
}

#[test]
fn a_provider_with_a_sandbox_still_asks_for_the_environment() {
    let env = TestEnv::new();
    env.write_provider(
        "sb.toml",
        "id = \"sb\"\ndisplay_name = \"Sandboxed\"\n[environments.production]\napi_host = \"api.sb.test\"\n[environments.sandbox]\napi_host = \"sandbox.sb.test\"\n[[auth]]\nmethod = \"api_key\"\nname = \"Authorization\"\nprefix = \"Bearer \"\n[api]\nbase_url = \"https://${api_host}\"\n[check]\npath = \"/me\"\n",
    );
    let mut p = wizard(&env, &["new", "s", "--provider", "sb", "--no-check"]);
    p.exp_string("Environment").unwrap();
    type_keys(&mut p, "\x1b[B"); // arrow down: sandbox
    type_keys(&mut p, "\r");
    p.exp_string("API key (hidden)").unwrap();
    type_keys(&mut p, "k\r");
    p.exp_string("Saved connection 's'").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(env.connections()["s"]["env"].as_str(), Some("sandbox"));
}

#[test]
fn scripted_http_prefix_follows_the_header_and_edit_keeps_it_in_step() {
    let api = key_in("X-Api-Key", "k-4");
    let env = TestEnv::new();
    let new = |name: &str, extra: &[&str]| {
        let mut c = env
            .conn("new --provider http --auth api_key --set check_path=/me --secret-env K")
            .arg(name)
            .arg("--set")
            .arg(format!("base_url={}", api.url))
            .env("K", "k-4");
        for a in extra {
            c = c.arg(*a);
        }
        c.run()
    };
    // No prefix given with a custom header: none, and the check passes.
    new("a", &["--set", "header=X-Api-Key"]).ok();
    assert_eq!(
        env.connections()["a"]["inputs"]["prefix"].as_str(),
        Some("")
    );
    // A lone space is the empty prefix.
    new("b", &["--set", "header=X-Api-Key", "--set", "prefix= "]).ok();
    assert_eq!(
        env.connections()["b"]["inputs"]["prefix"].as_str(),
        Some("")
    );
    // Authorization keeps its usual "Bearer ".
    new("c", &["--no-check"]).ok();
    assert_eq!(
        env.connections()["c"]["inputs"]["prefix"].as_str(),
        Some("Bearer ")
    );
    // A scripted failure still saves nothing and asks nothing.
    let out = new("d", &[]);
    out.code(1);
    assert!(out.stderr.contains("Nothing was saved"), "{out:?}");
    assert!(
        out.stderr.contains("`Authorization: Bearer <key>`"),
        "{out:?}"
    );
    assert!(!env.connections().contains_key("d"));
    // Changing c's header takes the prefix that came with it along.
    let out = env.conn("edit c --set header=X-Api-Key --json").ok().json();
    let changed: Vec<&str> = out["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["header", "prefix"], "{out}");
    assert_eq!(out["check"]["status"], "ok", "{out}");
    assert_eq!(
        env.connections()["c"]["inputs"]["prefix"].as_str(),
        Some("")
    );
}

#[test]
fn scripted_inputs_are_worked_out_and_pasted_urls_taken() {
    let env = TestEnv::new();
    let new = |args: &str| {
        env.conn(&format!(
            "new --auth api_key --no-check --secret-env K {args}"
        ))
        .env("K", "ghp_x")
        .run()
    };
    new("g1 --provider github").ok();
    new("g2 --provider github --set host=github.acme.com").ok();
    new("g3 --provider github --set host=https://GitHub.Acme.com/orgs/x").ok();
    new("g4 --provider github --set host=github.acme.com --set api_url=https://api.acme.test/gh")
        .ok();
    let c = env.connections();
    let api_url = |n: &str| c[n]["inputs"]["api_url"].as_str().unwrap().to_string();
    assert_eq!(api_url("g1"), "https://api.github.com");
    assert_eq!(api_url("g2"), "https://github.acme.com/api/v3");
    assert_eq!(c["g3"]["inputs"]["host"].as_str(), Some("github.acme.com"));
    assert_eq!(api_url("g3"), "https://github.acme.com/api/v3");
    assert_eq!(api_url("g4"), "https://api.acme.test/gh");
    // A new host brings its API URL along; a URL set by hand stays.
    env.conn("edit g2 --no-check --set host=ghe.example.org")
        .ok();
    env.conn("edit g4 --no-check --set host=ghe.example.org")
        .ok();
    let c = env.connections();
    assert_eq!(
        c["g2"]["inputs"]["api_url"].as_str(),
        Some("https://ghe.example.org/api/v3")
    );
    assert_eq!(
        c["g4"]["inputs"]["api_url"].as_str(),
        Some("https://api.acme.test/gh")
    );

    // A Zendesk address for the subdomain, with or without scheme.
    for (name, given) in [
        ("z1", "https://acme.zendesk.com"),
        ("z2", "acme.zendesk.com/"),
    ] {
        env.conn(
            "new --provider zendesk --auth basic --username a@acme.test --no-check --secret-env K",
        )
        .arg(name)
        .arg("--set")
        .arg(format!("subdomain={given}"))
        .env("K", "t")
        .ok();
        assert_eq!(
            env.connections()[name]["inputs"]["subdomain"].as_str(),
            Some("acme"),
            "{given}"
        );
    }
    // Another site's address is still refused.
    let out = env
        .conn("new z3 --provider zendesk --auth basic --username a@acme.test --no-check --secret-env K --set subdomain=https://acme.example.com")
        .env("K", "t")
        .code(2);
    assert!(
        out.stderr.contains("not a valid Zendesk subdomain"),
        "{out:?}"
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
    // Acme has no sandbox: no environment question.
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

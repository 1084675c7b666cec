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

/// The wizard in a pty of `cols` columns and 24 rows, seen through a terminal emulator.
struct SizedScreen {
    p: PtySession,
    term: vt100::Parser,
    cols: u16,
    /// How the theme marks the item the cursor is on.
    active: &'static str,
}

impl SizedScreen {
    /// `conn ARGS` started by a shell that first sets its terminal (the pty) to `cols` × 24:
    /// conn's first look at the size already sees it, with no window-size race.
    /// `color`: dialoguer's colourful theme (as without NO_COLOR), else its plain one.
    fn start(env: &TestEnv, args: &[&str], cols: u16, color: bool) -> Self {
        let conn = env.cmd();
        let mut c = std::process::Command::new("sh");
        c.env_clear();
        for (k, v) in conn.get_envs() {
            let dropped = color && k == std::ffi::OsStr::new("NO_COLOR");
            if let (Some(v), false) = (v, dropped) {
                c.env(k, v);
            }
        }
        c.env("TERM", "xterm")
            .arg("-c")
            .arg(format!("stty cols {cols} rows 24 && exec \"$0\" \"$@\""))
            .arg(conn.get_program())
            .args(args);
        c.stdin(std::process::Stdio::inherit())
            .stdout(std::process::Stdio::inherit())
            .stderr(std::process::Stdio::inherit());
        SizedScreen {
            p: spawn_command(c, Some(30_000)).expect("spawn conn in a pty"),
            term: vt100::Parser::new(
                std::num::NonZeroU16::new(24).unwrap(),
                std::num::NonZeroU16::new(cols).expect("columns"),
                0,
            ),
            cols,
            active: if color { "❯ " } else { "> " },
        }
    }

    /// Waits for `needle` in the output and feeds everything up to it to the emulator.
    fn expect(&mut self, needle: &str) {
        let before = self
            .p
            .exp_string(needle)
            .unwrap_or_else(|e| panic!("waiting for {needle:?}: {e}\nscreen:\n{}", self.show()));
        self.feed(before.chars().chain(needle.chars()));
    }

    /// Feeds what conn drew until it has been quiet for 300 ms (a redraw is written at once),
    /// waiting up to 20 s for it to start.
    fn settle(&mut self) {
        let start = std::time::Instant::now();
        let mut got = false;
        loop {
            std::thread::sleep(std::time::Duration::from_millis(300));
            let mut now = Vec::new();
            while let Some(c) = self.p.try_read() {
                now.push(c);
            }
            if now.is_empty() && (got || start.elapsed().as_secs() > 20) {
                return;
            }
            got |= !now.is_empty();
            self.feed(now.into_iter());
        }
    }

    /// rexpect hands each byte over as the char of the same number.
    fn feed(&mut self, chars: impl Iterator<Item = char>) {
        let bytes: Vec<u8> = chars.map(|c| c as u32 as u8).collect();
        self.term.process(&bytes);
    }

    fn keys(&mut self, keys: &str) {
        type_keys(&mut self.p, keys);
    }

    /// The screen's rows, trailing blanks cut.
    fn rows(&self) -> Vec<String> {
        self.term
            .screen()
            .rows(0, self.cols)
            .map(|r| r.trim_end().to_string())
            .collect()
    }

    fn show(&self) -> String {
        self.rows()
            .iter()
            .enumerate()
            .map(|(i, r)| format!("{i:2}|{r}\n"))
            .collect()
    }

    /// The screen of a choice list and nothing else: `above` rows already answered (each
    /// containing its text), then the prompt (containing `prompt`), then the list's items (one
    /// marked as the cursor's), one row each, then blank rows. A row that ran past the right edge (the emulator wraps as a
    /// real terminal does) or a row left over from an earlier draw fails.
    #[track_caller]
    fn assert_list(&self, above: &[&str], prompt: &str) -> Vec<String> {
        let s = self.term.screen();
        for r in 0..24 {
            assert!(
                !s.row_wrapped(r),
                "row {r} is wider than {} columns:\n{}",
                self.cols,
                self.show()
            );
        }
        let rows = self.rows();
        for (i, want) in above.iter().enumerate() {
            assert!(rows[i].contains(want), "row {i}:\n{}", self.show());
        }
        let n = above.len();
        assert!(rows[n].contains(prompt), "row {n}:\n{}", self.show());
        let items: Vec<String> = rows[n + 1..]
            .iter()
            .take_while(|r| !r.is_empty())
            .cloned()
            .collect();
        for r in &items {
            assert!(
                r.starts_with(self.active) || r.starts_with("  "),
                "a row that is not an item:\n{}",
                self.show()
            );
        }
        assert!(
            rows[n + 1 + items.len()..].iter().all(|r| r.is_empty()),
            "rows left below the list:\n{}",
            self.show()
        );
        assert!(
            items.is_empty() || items.iter().filter(|r| r.starts_with(self.active)).count() == 1,
            "{}",
            self.show()
        );
        items
    }
}

/// The wizard's first question, `App`, at 40 columns: provider lines (name, id and
/// categories) and the prompt itself are wider than that. Typing filters; arrows move;
/// deleting the filter brings the long lines back (the cursor stays on the second item); arrow
/// up past the first item scrolls to the last page; a filter longer than the prompt's room.
/// After each key the screen holds the prompt and one row per item, nothing else. Ends with
/// Zendesk chosen and the next question, how to sign in, asked below its one-row answer.
fn walk_the_provider_list(s: &mut SizedScreen) {
    const APP: &str = "App (typ";
    s.expect("App (type to filter)");
    s.settle();
    // The first page: as many items as the 24 rows hold.
    assert_eq!(s.assert_list(&[], APP).len(), 22, "{}", s.show());
    let active = s.active;
    let on = |name: &str| Some(format!("{active}{name}"));
    let clear = "\x7f".repeat(21);
    let steps: [(&str, Option<String>); 10] = [
        ("z", on("Zendesk (zendesk)")),
        ("e", on("Zendesk (zendesk)")),
        ("\x1b[B", None),
        ("\x7f", on("Zendesk (zendesk)")),
        ("\x1b[B", on("Zoho CRM")),
        ("\x7f", None),
        ("\x1b[A", on("Airtable")),
        ("\x1b[A", on("Zoom (zoom)")),
        ("support, crm and more", None),
        (&clear, on("Airtable")),
    ];
    for (keys, chosen) in steps {
        s.keys(keys);
        s.settle();
        let items = s.assert_list(&[], APP);
        // The search line keeps what was typed in view; the prompt gives way.
        if keys.starts_with("support") {
            assert!(
                s.rows()[0].contains(" support, crm and more"),
                "{}",
                s.show()
            );
        }
        if let Some(c) = chosen {
            assert!(
                items.iter().any(|r| r.starts_with(&c)),
                "after {keys:?}:\n{}",
                s.show()
            );
        }
    }
    s.keys("zendesk");
    s.settle();
    s.assert_list(&[], APP);
    s.keys("\r");
    s.expect("How do you sign in?");
    s.settle();
    // The answer is reported on one row, the prompt cut so the answer shows whole.
    let items = s.assert_list(&[APP], "How do you sign in?");
    assert!(s.rows()[0].contains("Zendesk (zendesk)"), "{}", s.show());
    assert!(items.len() >= 2, "{}", s.show());
    s.keys("\x1b[B");
    s.settle();
    s.assert_list(&[APP], "How do you sign in?");
    s.keys("\x1b[A");
    s.settle();
    s.assert_list(&[APP], "How do you sign in?");
}

/// dialoguer clears as many rows as it drew lines, so a line that wrapped in a narrow terminal
/// would leave its first row on screen at every redraw (typing to filter, arrows, the answer
/// reported). Cut to the width, every redraw leaves exactly the list; the connection made
/// through it is the one chosen.
#[test]
fn choice_lists_in_a_narrow_terminal_leave_no_stale_rows() {
    let env = TestEnv::new();
    let mut s = SizedScreen::start(&env, &["new", "--no-check"], 40, false);
    walk_the_provider_list(&mut s);
    s.keys("\r"); // email address and API token
    // Zendesk has no sandbox: no environment list (issue 16 item 6); the lists above were
    // the method's and the app's.
    s.expect("Zendesk subdomain");
    s.keys("acme\r");
    s.expect("Connection name");
    s.keys("\r");
    s.expect("Agent email address");
    s.keys("agent@acme.test\r");
    s.expect("API token (hidden)");
    s.keys("zd-token-1\r");
    s.expect("Saved connection 'zendesk-acme'");
    s.p.exp_eof().unwrap();
    let c = env.connections();
    assert_eq!(c["zendesk-acme"]["provider"].as_str(), Some("zendesk"));
    assert_eq!(c["zendesk-acme"]["env"].as_str(), Some("production"));
}

/// The same in colour: the colourful theme's prefixes and styles are measured as the columns
/// they take, not as the bytes they are.
#[test]
fn choice_lists_in_colour_in_a_narrow_terminal_leave_no_stale_rows() {
    let env = TestEnv::new();
    let mut s = SizedScreen::start(&env, &["new", "--no-check"], 40, true);
    assert!(s.active.starts_with('❯'));
    walk_the_provider_list(&mut s);
    s.p.send_control('c').unwrap();
    s.p.exp_eof().unwrap();
    assert!(env.connections().is_empty());
}

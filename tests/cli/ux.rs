//! What a newcomer trips over (issue 16): cron-safe Prometheus output, bindings that follow
//! rename and rm, diagnoses that blame only a working connection, strict filters, `conn edit`,
//! every missing flag at once, `exec` without `--`, a closed pipe, prompts on the terminal
//! with stderr redirected, and the recipe and `-q` rules.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::support::*;

/// A fake API that accepts only the keys in the returned list, as `same@acme.test`.
fn accepting(keys: &[&str]) -> (FakeApi, Arc<Mutex<Vec<String>>>) {
    let accepted = Arc::new(Mutex::new(
        keys.iter()
            .map(|k| format!("Bearer {k}"))
            .collect::<Vec<_>>(),
    ));
    let a = accepted.clone();
    let api = FakeApi::start(move |s| {
        let auth = s.header("Authorization").unwrap_or_default().to_string();
        if a.lock().unwrap().contains(&auth) {
            (200, json!({"id": 7, "email": "same@acme.test"}).to_string())
        } else {
            (401, "{}".into())
        }
    });
    (api, accepted)
}

#[test]
fn prometheus_output_file_is_replaced_atomically_and_exits_0_when_written() {
    let (api, _) = accepting(&["good"]);
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    add_acme(&env, "good", "good");
    add_acme(&env, "bad", "bad");
    let dir = env.dir.path().join("textfile");
    std::fs::create_dir(&dir).unwrap();
    let file = dir.join("conn.prom");
    std::fs::write(&file, "old\n").unwrap();
    // A connection fails, and still the metrics are written and the exit is 0: the cron line
    // `conn check --format prometheus --output f` keeps the dashboard current.
    let out = env
        .conn("check --format prometheus --output")
        .arg(path_str(&file))
        .ok();
    assert_eq!(out.stdout, "", "metrics go to the file only");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("conn_check_ok{name=\"bad\",provider=\"acme\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("conn_check_ok{name=\"good\",provider=\"acme\"} 1"),
        "{text}"
    );
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(left.len(), 1, "no temp file left behind: {left:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode, 0o644,
            "readable by a collector running as another user"
        );
    }
    // Printed metrics also exit 0; the human format keeps the monitoring codes.
    env.conn("check --format prometheus").ok();
    env.conn("check").code(2);
    // Could not write them: UNKNOWN, and the old file stays.
    let out = env
        .conn("check --format prometheus --output")
        .arg(path_str(&env.dir.path().join("nope/conn.prom")))
        .code(3);
    assert!(
        out.stderr.contains("could not write the metrics"),
        "{out:?}"
    );
    let out = env.conn("check --output").arg(path_str(&file)).code(2);
    assert!(out.stderr.contains("--format prometheus"), "{out:?}");
}

fn project(env: &TestEnv, recipe: &str) -> PathBuf {
    let dir = env.dir.path().join("project");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("conn.toml"), recipe).unwrap();
    dir
}

const ONE_ROLE: &str = "[roles.crm]\nprovider = \"acme\"\n";

#[test]
fn rename_carries_bindings_and_rm_says_what_it_unbinds() {
    let (api, _) = accepting(&[]);
    let api = api.may_go_unused();
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    add_acme(&env, "crm-a", "key-a");
    let dir = project(&env, ONE_ROLE);
    env.conn("bind crm crm-a").dir(&dir).ok();

    let out = env.conn("rename crm-a crm-b").ok();
    assert!(out.stdout.contains("role crm of"), "{out:?}");
    let roles = env.conn("bind --json").dir(&dir).ok().json();
    assert_eq!(roles["roles"][0]["production"], "crm-b");
    let out = env.conn("exec -- env").dir(&dir).ok();
    assert!(out.stdout.contains("CRM_API_KEY=key-a"), "{out:?}");

    // No terminal and no --yes: a usage error that names --yes and the binding it breaks.
    let out = env.conn("rm crm-b").code(2);
    assert!(out.stderr.contains("--yes"), "{out:?}");
    assert!(out.stderr.contains("role crm of"), "{out:?}");
    assert!(env.connections().contains_key("crm-b"));
    let out = env.conn("rm crm-b --yes").ok();
    assert!(out.stdout.contains("unbound role crm of"), "{out:?}");
    let roles = env.conn("bind --json").dir(&dir).ok().json();
    assert_eq!(roles["roles"][0]["production"], serde_json::Value::Null);
}

#[test]
fn bind_marks_a_binding_whose_connection_is_gone() {
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider("http://127.0.0.1:9"));
    add_acme(&env, "crm-a", "key-a");
    let dir = project(&env, ONE_ROLE);
    env.conn("bind crm crm-a").dir(&dir).ok();
    // Removed behind conn's back (an older conn, a hand edit): the binding dangles.
    let toml = env
        .read_connections()
        .replace("[connections.crm-a]", "[connections.crm-x]");
    std::fs::write(env.connections_toml(), toml).unwrap();
    let out = env.conn("bind").dir(&dir).ok();
    assert!(out.stdout.contains("crm-a (missing)"), "{out:?}");
    assert!(out.stderr.contains("no longer exists"), "{out:?}");
    let roles = env.conn("bind --json").dir(&dir).ok().json();
    assert_eq!(roles["roles"][0]["missing"], json!(["crm-a"]));
    let out = env.conn("exec -- env").dir(&dir).code(1);
    assert!(
        out.stderr
            .contains("bound to crm-a, which no longer exists"),
        "{out:?}"
    );
}

#[test]
fn a_newer_connection_is_blamed_only_when_it_works() {
    let (api, accepted) = accepting(&["key-first", "key-second"]);
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    new_acme(&env, "first", "key-first").ok();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    new_acme(&env, "second", "key-second").ok();
    // The server lost every grant: both fail in the same run, so neither is blamed.
    accepted.lock().unwrap().clear();
    let out = env.conn("check first second --json").code(2);
    for r in out.json().as_array().unwrap() {
        assert_eq!(r["status"], "invalid_credentials");
        assert!(
            !r["message"].as_str().unwrap().contains("invalidated"),
            "{r}"
        );
        assert!(!r["hint"].as_str().unwrap_or("").contains("conn rm"), "{r}");
    }
    // Checked alone, `second`'s last check (just now) failed: still not blamed.
    let out = env.conn("check first --json").code(2);
    assert!(
        !out.json()[0]["message"]
            .as_str()
            .unwrap()
            .contains("invalidated"),
        "{out:?}"
    );
    // When the newer one works in the same run, it is.
    accepted.lock().unwrap().push("Bearer key-second".into());
    let out = env.conn("check first second --json").code(2);
    assert!(
        out.json()[0]["message"]
            .as_str()
            .unwrap()
            .contains("probably invalidated by the newer connection second"),
        "{out:?}"
    );
}

#[test]
fn unknown_filter_values_are_usage_errors_with_suggestions() {
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider("http://127.0.0.1:9"));
    add_acme(&env, "a", "k");
    let out = env.conn("list --env prod").code(2);
    assert!(out.stderr.contains("production"), "{out:?}");
    let out = env.conn("list --provider htp").code(2);
    assert!(out.stderr.contains("did you mean http"), "{out:?}");
    let out = env.conn("list --provider acm --json").code(2);
    assert!(out.stderr.contains("acme"), "{out:?}");
    // Known values that match nothing are still an empty list.
    assert_eq!(
        env.conn("list --provider github --json").ok().json(),
        json!([])
    );
    assert_eq!(env.conn("list --env sandbox --json").ok().json(), json!([]));
    assert_eq!(
        env.conn("list --provider acme --json").ok().json()[0]["name"],
        "a"
    );
}

/// An `http` API that wants its key in `X-Api-Key` with no prefix.
fn x_api_key() -> FakeApi {
    FakeApi::start(|s| match s.header("X-Api-Key") {
        Some("k-123") => (200, json!({"login": "svc"}).to_string()),
        _ => (401, "{}".into()),
    })
}

fn new_http(env: &TestEnv, api: &FakeApi, name: &str) {
    env.conn("new --provider http --auth api_key --no-check --set header=X-Api-Key --set check_path=/me --set identity_field=/login --secret-env K")
        .arg(name)
        .arg("--set")
        .arg(format!("base_url={}", api.url))
        // The wrong prefix for this API, which `edit` then fixes.
        .arg("--set")
        .arg("prefix=Bearer ")
        .env("K", "k-123")
        .ok();
}

#[test]
fn edit_changes_settings_in_place_after_a_check() {
    let api = x_api_key();
    let env = TestEnv::new();
    new_http(&env, &api, "svc");
    let id = env.id_of("svc");
    let dir = project(&env, "[roles.api]\nprovider = \"http\"\n");
    env.conn("bind api svc").dir(&dir).ok();

    let out = env.conn("edit svc --set prefx=").code(2);
    assert!(out.stderr.contains("did you mean prefix"), "{out:?}");
    assert!(out.stderr.contains("base_url"), "{out:?}");
    // No --set and no terminal: says what can be set.
    let out = env.conn("edit svc").code(2);
    assert!(out.stderr.contains("--set KEY=VALUE"), "{out:?}");

    // A change whose check fails is not saved.
    let out = env
        .conn("edit svc --set check_path=/nope --set prefix=Token ")
        .code(1);
    assert!(out.stderr.contains("Nothing was saved"), "{out:?}");
    assert_eq!(
        env.connections()["svc"]["inputs"]["prefix"].as_str(),
        Some("Bearer ")
    );

    // The fix: an empty prefix. Checked, saved, same id, secrets and binding.
    let out = env.conn("edit svc --set prefix= --json").ok();
    let j = out.json();
    assert_eq!(j["changes"][0]["key"], "prefix");
    assert_eq!(j["check"]["status"], "ok");
    let c = &env.connections()["svc"];
    assert_eq!(c["inputs"]["prefix"].as_str(), Some(""));
    assert_eq!(c["id"].as_str(), Some(id.as_str()));
    assert_eq!(
        api.requests().last().unwrap().header("X-Api-Key"),
        Some("k-123")
    );
    env.conn("check svc").ok();
    let out = env.conn("exec -- env").dir(&dir).ok();
    assert!(out.stdout.contains("API_API_KEY=k-123"), "{out:?}");

    // --yes saves a failing change; --no-check skips the check.
    env.conn("edit svc --yes --set check_path=/nope").ok();
    assert_eq!(
        env.connections()["svc"]["inputs"]["check_path"].as_str(),
        Some("/nope")
    );
    let before = api.requests().len();
    env.conn("edit svc --no-check --set check_path=/me").ok();
    assert_eq!(api.requests().len(), before, "--no-check sends nothing");
}

#[test]
fn scripted_new_reports_every_missing_flag_at_once() {
    let env = TestEnv::new();
    let out = env.conn("new x --provider http").code(2);
    for flag in ["--auth", "--set base_url=VALUE", "--secret-stdin"] {
        assert!(out.stderr.contains(flag), "{flag}: {out:?}");
    }
    assert!(env.read_connections().is_empty() || !env.connections().contains_key("x"));
    // Basic auth: the user name and the password, together.
    let out = env
        .conn("new --provider http --auth basic")
        .arg("--set")
        .arg("base_url=http://127.0.0.1:9")
        .code(2);
    assert!(out.stderr.contains("2 answers are needed"), "{out:?}");
    for flag in ["--username", "--secret-stdin"] {
        assert!(out.stderr.contains(flag), "{flag}: {out:?}");
    }
}

#[test]
fn exec_without_double_dash_when_unambiguous() {
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider("http://127.0.0.1:9"));
    add_acme(&env, "gh", "key-gh");
    let out = env.conn("exec gh env").ok();
    assert!(out.stdout.contains("GH_API_KEY=key-gh"), "{out:?}");
    let out = env.conn("exec gh=X printenv X_API_KEY").ok();
    assert_eq!(out.stdout.trim(), "key-gh");
    // The first word names no connection: which words are the command is a guess.
    let out = env.conn("exec hg env").code(2);
    assert!(out.stderr.contains("--"), "{out:?}");
    assert!(out.stderr.contains("did you mean gh"), "{out:?}");
    let out = env.conn("exec gh").code(2);
    assert!(out.stderr.contains("conn exec gh -- COMMAND"), "{out:?}");
}

#[cfg(unix)]
#[test]
fn a_closed_stdout_pipe_ends_quietly_with_success() {
    let env = TestEnv::new();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut c = env.cmd();
    c.args(["providers", "list", "--json"]).stdout(writer);
    c.stderr(std::process::Stdio::piped());
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn prompts_use_the_terminal_when_stderr_is_redirected() {
    let api = FakeApi::expecting_auth("Bearer tty-key", json!({"id": 1, "email": "t@acme.test"}));
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    let log = env.dir.path().join("stderr.log");
    let mut c = env.cmd();
    c.args([
        "new",
        "tty",
        "--provider",
        "acme",
        "--auth",
        "api_key",
        "--env",
        "production",
    ])
    .env("TERM", "xterm");
    c.stdin(std::process::Stdio::inherit())
        .stdout(std::process::Stdio::inherit())
        .stderr(std::fs::File::create(&log).unwrap());
    let mut p = rexpect::session::spawn_command(c, Some(30_000)).unwrap();
    p.exp_string("Acme API key (hidden)").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    p.send("tty-key\r").unwrap();
    p.flush().unwrap();
    p.exp_string("Saved connection 'tty'").unwrap();
    p.exp_eof().unwrap();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(!logged.contains("no terminal"), "{logged}");
    assert!(
        !logged.contains("(hidden)"),
        "prompts are not on stderr: {logged}"
    );
    assert!(env.connections().contains_key("tty"));
}

#[test]
fn two_http_roles_need_no_secondary_and_q_means_quiet() {
    let api = FakeApi::start(|_| (200, json!({"id": 1, "email": "q@acme.test"}).to_string()));
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    let dir = project(
        &env,
        "[roles.billing]\nprovider = \"http\"\n[roles.crm]\nprovider = \"http\"\n",
    );
    let out = env.conn("bind --json").dir(&dir).ok();
    assert_eq!(out.json()["roles"].as_array().unwrap().len(), 2);
    // Two roles of a named app still need it.
    std::fs::write(
        dir.join("conn.toml"),
        "[roles.a]\nprovider = \"acme\"\n[roles.b]\nprovider = \"acme\"\n",
    )
    .unwrap();
    let out = env.conn("bind").dir(&dir).code(1);
    assert!(out.stderr.contains("secondary"), "{out:?}");

    add_acme(&env, "a", "k");
    // -q is --quiet; `request` documents only --query, and its old -q still works.
    assert_eq!(env.conn("check -q").ok().stdout, "");
    let help = env.conn("request --help").ok().stdout;
    assert!(!help.contains("-q,"), "{help}");
    env.conn("request a /things -q page=2").ok();
    assert_eq!(api.requests().last().unwrap().url, "/things?page=2");
}

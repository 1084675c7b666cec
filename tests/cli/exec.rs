//! `conn exec`: what the command's environment holds for each auth method, exit codes and
//! signals passed through, and no secret on any process's argv.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::process::Stdio;
use std::time::Duration;

use crate::oauth2_fakes::{NEW, env_for, fake_as};
use crate::support::*;

const KEY: &str = "key-EXEC-SECRET-1234";
const PASSWORD: &str = "pw-EXEC-SECRET-5678";

/// The `PREFIX_*` variables the command saw, from its `env` output.
fn vars(out: &Out, prefix: &str) -> BTreeMap<String, String> {
    out.stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.starts_with(&format!("{prefix}_")))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn acme_env() -> (FakeApi, TestEnv) {
    // Only a base URL: exec sends nothing to the API itself.
    let api = FakeApi::start(|_| (200, "{}".into())).may_go_unused();
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    add_acme(&env, "acme-key", KEY);
    (api, env)
}

#[test]
fn api_key_and_basic_connections_export_their_credentials() {
    let (api, env) = acme_env();
    env.run_stdin(
        &[
            "new",
            "desk",
            "--provider",
            "acme",
            "--auth",
            "basic",
            "--username",
            "me@acme.test",
            "--secret-stdin",
            "--no-check",
        ],
        PASSWORD,
    )
    .ok();
    let out = env.conn("exec acme-key desk=HD -- env").run();
    out.ok();
    let k = vars(&out, "ACME_KEY");
    assert_eq!(k["ACME_KEY_API_KEY"], KEY);
    assert_eq!(k["ACME_KEY_AUTHORIZATION"], format!("Bearer {KEY}"));
    assert_eq!(
        k["ACME_KEY_AUTH_HEADER"],
        format!("Authorization: Bearer {KEY}")
    );
    assert_eq!(k["ACME_KEY_BASE_URL"], api.url);
    assert!(!k.contains_key("ACME_KEY_TOKEN"), "{k:?}");
    let b = vars(&out, "HD");
    use base64::Engine;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("me@acme.test/token:{PASSWORD}"));
    assert_eq!(b["HD_USERNAME"], "me@acme.test/token");
    assert_eq!(b["HD_PASSWORD"], PASSWORD);
    assert_eq!(b["HD_AUTHORIZATION"], format!("Basic {basic}"));
    assert_eq!(b["HD_BASE_URL"], api.url);
    assert!(
        vars(&out, "DESK").is_empty(),
        "the prefix given replaces the name"
    );
    // conn itself says nothing on stdout and keeps the values out of stderr.
    assert!(!out.stderr.contains(KEY) && !out.stderr.contains(PASSWORD));
}

#[test]
fn custom_header_keys_and_instance_inputs_are_exported() {
    let env = TestEnv::new();
    env.conn("new billing --provider http --auth api_key --set base_url=https://api.example.test/v2 --set check_path=/me --set header=X-Api-Key --set prefix= --secret-env K --no-check").env("K", KEY).ok();
    let out = env.conn("-v exec billing -- env").run();
    out.ok();
    let v = vars(&out, "BILLING");
    assert_eq!(v["BILLING_API_KEY"], KEY);
    assert_eq!(v["BILLING_AUTH_HEADER"], format!("X-Api-Key: {KEY}"));
    assert!(
        !v.contains_key("BILLING_AUTHORIZATION"),
        "the key does not go in Authorization: {v:?}"
    );
    assert_eq!(v["BILLING_BASE_URL"], "https://api.example.test/v2");
    assert_eq!(v["BILLING_HEADER"], "X-Api-Key", "an instance input");
    assert_eq!(v["BILLING_CHECK_PATH"], "/me");
    // -v names what was exported, never the values.
    assert!(out.stderr.contains("BILLING_API_KEY"), "{out:?}");
    assert!(!out.stderr.contains(KEY), "{out:?}");
}

#[test]
fn oauth2_tokens_are_refreshed_before_the_command_runs() {
    let api = fake_as(|s| {
        match s.form("grant_type").as_deref() {
        Some("authorization_code") => (
            200,
            r#"{"access_token":"at-1","refresh_token":"rt-1","token_type":"bearer","expires_in":1}"#
                .into(),
        ),
        Some("refresh_token") if s.form("refresh_token").as_deref() == Some("rt-1") => (
            200,
            r#"{"access_token":"at-2","refresh_token":"rt-2","token_type":"bearer","expires_in":3600}"#
                .into(),
        ),
        _ => (400, r#"{"error":"invalid_grant"}"#.into()),
    }
    });
    let env = env_for(&api, "");
    env.run_env(NEW, &[("CS", "s")]).ok();
    let out = env.conn("exec x -- env").run();
    out.ok();
    let v = vars(&out, "X");
    assert_eq!(v["X_TOKEN"], "at-2");
    assert_eq!(v["X_AUTHORIZATION"], "Bearer at-2");
    assert_eq!(v["X_BASE_URL"], api.url);
    assert_eq!(env.secrets_of("x")["refresh_token"], "rt-2");
}

#[test]
fn the_exit_code_is_the_commands() {
    let (_api, env) = acme_env();
    env.run(&["exec", "acme-key", "--", "sh", "-c", "exit 42"])
        .code(42);
    env.conn("exec acme-key -- true").ok();
    let missing = env.conn("exec acme-key -- no-such-command-xyz").run();
    missing.code(127);
    assert!(missing.stderr.contains("command not found"), "{missing:?}");
    // conn's own failures are not confused with the command's: usage 2, failure 1.
    env.conn("exec acme-key").code(2);
    env.conn("exec nope -- true").code(1);
    env.conn("exec acme-key acme-key=OTHER -- true").ok();
    env.conn("exec acme-key acme-key -- true").code(2);
}

/// Starts `conn exec acme-key -- sh -c SCRIPT` and waits for its "ready" line.
fn start(
    env: &TestEnv,
    script: &str,
) -> (
    std::process::Child,
    std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
) {
    let mut c = env.cmd();
    c.args(["exec", "acme-key", "--", "sh", "-c", script])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = c.spawn().unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    (child, lines)
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

fn wait_timeout(child: &mut std::process::Child) -> std::process::ExitStatus {
    for _ in 0..300 {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!("conn exec did not end");
}

#[test]
fn signals_sent_to_conn_exec_reach_the_command() {
    let (_api, env) = acme_env();
    for sig in ["TERM", "INT", "HUP"] {
        let (mut child, mut lines) = start(
            &env,
            &format!(
                "trap 'echo got-{sig}; exit 7' {sig}; echo ready; while :; do sleep 0.05; done"
            ),
        );
        signal(child.id(), sig);
        let status = wait_timeout(&mut child);
        assert_eq!(status.code(), Some(7), "{sig}: {status:?}");
        assert_eq!(lines.next().unwrap().unwrap(), format!("got-{sig}"));
    }
}

#[test]
fn a_command_killed_by_a_signal_ends_conn_the_same_way() {
    use std::os::unix::process::ExitStatusExt;
    let (_api, env) = acme_env();
    let (mut child, _lines) = start(&env, "echo ready; kill -TERM $$; sleep 5");
    let status = wait_timeout(&mut child);
    assert_eq!(status.signal(), Some(15), "{status:?}");
    let (mut child, _lines) = start(&env, "echo ready; kill -KILL $$");
    assert_eq!(wait_timeout(&mut child).signal(), Some(9));
}

#[test]
fn the_command_starts_with_default_signal_handling() {
    // Rust ignores SIGPIPE in conn itself; a command must not inherit that (`yes | head`
    // would then spin on EPIPE), nor a blocked signal mask.
    let (_api, env) = acme_env();
    let out = env.conn("exec acme-key -- cat /proc/self/status").run();
    out.ok();
    let field = |name: &str| {
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {out:?}"));
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    assert_eq!(field("SigBlk:"), 0);
    assert_eq!(
        field("SigIgn:") & (1 << (13 - 1)),
        0,
        "SIGPIPE is not ignored"
    );
}

#[test]
fn no_secret_is_on_any_command_line_while_the_command_runs() {
    let (_api, env) = acme_env();
    let marker = "exec-argv-marker-31337";
    let (mut child, _lines) = start(&env, &format!("echo ready; sleep 3 # {marker}"));
    let mut checked = 0;
    let mut holder = None;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        assert!(
            !text.contains(KEY),
            "the key is on the argv of {pid}: {text}"
        );
        assert!(!text.contains("EXEC-SECRET"), "{pid}: {text}");
        checked += 1;
        if text.contains(marker) && text.starts_with("sh ") {
            holder = Some(pid);
        }
    }
    assert!(checked > 3, "read the process list");
    // The check was meaningful: the command does hold the key, in its environment.
    let pid = holder.expect("the command was found in the process list");
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    assert!(
        String::from_utf8_lossy(&environ).contains(&format!("ACME_KEY_API_KEY={KEY}")),
        "the command's environment has the key"
    );
    signal(child.id(), "TERM");
    wait_timeout(&mut child);
}

#[test]
fn ctrl_c_at_a_terminal_reaches_the_command_once() {
    // The terminal signals the whole foreground process group, the command included, so conn
    // must not pass that one on again. The command counts every delivery (a wakeup fd gets
    // a byte per signal, where a handler alone would merge two).
    let (_api, env) = acme_env();
    let script = r#"
import os, signal, time
r, w = os.pipe()
os.set_blocking(w, False)
os.set_blocking(r, False)
signal.set_wakeup_fd(w)
signal.signal(signal.SIGINT, lambda *a: None)
print("ready", flush=True)
time.sleep(1.5)
try:
    n = len(os.read(r, 100))
except BlockingIOError:
    n = 0
print(f"count={n}", flush=True)
"#;
    let mut c = env.cmd();
    c.args(["exec", "acme-key", "--", "python3", "-c", script])
        .env("TERM", "xterm")
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    let mut p = rexpect::session::spawn_command(c, Some(30_000)).unwrap();
    p.exp_string("ready").unwrap();
    p.send_control('c').unwrap();
    let (_, count) = p.exp_regex("count=[0-9]+").unwrap();
    assert_eq!(count, "count=1");
    p.exp_eof().unwrap();
    let status = p.process_mut().wait().unwrap();
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
        "{status:?}"
    );
}

//! Bad input gets a clear error and loses nothing.

use crate::support::*;

#[test]
fn missing_values_without_a_terminal_name_the_flag_and_never_wait() {
    let env = TestEnv::new();
    let cases: &[(&[&str], &str)] = &[
        (&["new"], "--provider"),
        (
            &["new", "a", "--provider", "zendesk", "--auth", "basic"],
            "--set subdomain=VALUE",
        ),
        (
            &[
                "new",
                "a",
                "--provider",
                "zendesk",
                "--auth",
                "basic",
                "--set",
                "subdomain=acme",
            ],
            "--username",
        ),
        (
            &[
                "new",
                "a",
                "--provider",
                "zendesk",
                "--auth",
                "basic",
                "--set",
                "subdomain=acme",
                "--username",
                "u@x",
            ],
            "--secret-stdin",
        ),
        (
            &[
                "new",
                "a",
                "--provider",
                "http",
                "--set",
                "base_url=http://x",
            ],
            "--auth",
        ),
    ];
    for (args, flag) in cases {
        let out = env.run(args);
        out.code(2);
        assert!(out.stderr.contains(flag), "{args:?}: {out:?}");
    }
    assert!(!env.connections_toml().exists());
}

#[test]
fn invalid_values_are_usage_errors() {
    let env = TestEnv::new();
    let out = env.run(&[
        "new",
        "a",
        "--provider",
        "zendesk",
        "--auth",
        "basic",
        "--set",
        "subdomain=Not Valid",
    ]);
    out.code(2);
    assert!(out.stderr.contains("subdomain"), "{out:?}");
    let out = env
        .conn("new a --provider zendesk --auth basic --set tenant=x")
        .run();
    out.code(2);
    assert!(out.stderr.contains("its inputs are: subdomain"), "{out:?}");
    let out = env.run(&["new", "bad name", "--provider", "stripe"]);
    out.code(2);
    assert!(out.stderr.contains("invalid connection name"), "{out:?}");
    let out = env.conn("new a --provider stripe --auth basic").run();
    out.code(2);
    assert!(out.stderr.contains("supports: api_key"), "{out:?}");
    let out = env
        .conn("new a --provider stripe --secret-env UNSET_VAR")
        .run();
    out.code(2);
    assert!(out.stderr.contains("UNSET_VAR"), "{out:?}");
}

#[test]
fn unknown_provider_lists_closest_ids() {
    let env = TestEnv::new();
    let out = env.conn("new a --provider zendsk").run();
    out.code(2);
    assert!(out.stderr.contains("did you mean zendesk"), "{out:?}");
    let out = env.conn("providers show strpe").run();
    out.code(1);
    assert!(out.stderr.contains("stripe"), "{out:?}");
}

#[test]
fn secrets_on_argv_are_refused_with_the_alternatives() {
    let env = TestEnv::new();
    for flag in [
        "--secret",
        "--password",
        "--api-key",
        "--token",
        "--client-secret",
    ] {
        let out = env.run(&["new", "a", "--provider", "stripe", flag, "sk_live_leak"]);
        out.code(2);
        assert!(out.stderr.contains("--secret-stdin"), "{flag}: {out:?}");
        assert!(out.stderr.contains("--secret-env"), "{flag}: {out:?}");
        assert!(!out.all().contains("sk_live_leak"), "{flag}: {out:?}");
    }
    // --secret=VALUE form too
    let out = env
        .conn("new a --provider stripe --secret=sk_live_leak")
        .run();
    out.code(2);
    assert!(!env.connections_toml().exists());
}

#[test]
fn duplicate_names_are_refused() {
    let env = TestEnv::new();
    let args = [
        "new",
        "dup",
        "--provider",
        "stripe",
        "--secret-env",
        "K",
        "--no-check",
    ];
    env.run_env(&args, &[("K", "sk_1")]).ok();
    let out = env.run_env(&args, &[("K", "sk_2")]);
    out.code(1);
    assert!(out.stderr.contains("already exists"), "{out:?}");
}

#[test]
fn broken_connections_file_is_reported_and_never_rewritten() {
    let env = TestEnv::new();
    env.conn("new a --provider stripe --secret-env K --no-check")
        .env("K", "sk_1")
        .ok();
    let mut text = env.read_connections();
    text.push_str("\n[connections.b\nprovider = \"x\"\n");
    std::fs::write(env.connections_toml(), &text).unwrap();
    let before = std::fs::read(env.connections_toml()).unwrap();
    let line = text.lines().count() - 1;
    let runs: &[&[&str]] = &[
        &["list"],
        &["show", "a"],
        &["check"],
        &["rename", "a", "c"],
        &["rm", "a", "--yes"],
        &[
            "new",
            "z",
            "--provider",
            "stripe",
            "--secret-env",
            "K",
            "--no-check",
        ],
    ];
    for args in runs {
        let out = env.run_env(args, &[("K", "sk_2")]);
        assert_ne!(out.code, 0, "{args:?}: {out:?}");
        let path = env.connections_toml();
        let want = format!("{}:{line}:", path.display());
        assert!(
            out.stderr.contains(&want),
            "{args:?}: want {want} in {out:?}"
        );
        assert_eq!(
            std::fs::read(env.connections_toml()).unwrap(),
            before,
            "{args:?} changed the file"
        );
    }
    // The check, being a monitoring command, says UNKNOWN.
    env.conn("check").code(3);
}

#[test]
fn twenty_concurrent_news_all_land() {
    let env = TestEnv::new();
    let children: Vec<_> = (0..20)
        .map(|i| {
            let mut c = env.cmd();
            c.args([
                "new",
                &format!("c{i}"),
                "--provider",
                "stripe",
                "--secret-env",
                "K",
                "--no-check",
            ])
            .env("K", format!("sk_test_{i:02}_concurrent"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let conns = env.connections();
    assert_eq!(conns.len(), 20);
    let all = env.all_secrets();
    assert_eq!(all.len(), 20);
    for i in 0..20 {
        let id = conns[&format!("c{i}")]["id"].as_str().unwrap().to_string();
        assert_eq!(all[&id]["api_key"], format!("sk_test_{i:02}_concurrent"));
    }
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let env = TestEnv::new();
    env.conn("frobnicate").code(2);
    let help = env.conn("check --help").run();
    help.ok();
    assert!(help.stdout.contains("3 UNKNOWN"), "{help:?}");
    env.conn("new --env staging").code(2);
}

/// Output into a pipe or file is buffered; what the buffer held at the end is still written
/// before conn exits, and a write that fails (a full disk) is an error, not a silent success.
#[cfg(target_os = "linux")]
#[test]
fn a_table_that_cannot_be_written_is_an_error_and_a_buffered_one_arrives_whole() {
    let env = TestEnv::new();
    let toml = http_store_toml(300, 3, "base_url = \"http://127.0.0.1:1\"\n");
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.connections_toml(), &toml).unwrap();
    let out = env.run(&["list"]);
    out.ok();
    assert_eq!(out.stdout.lines().count(), 301, "header and every row");
    assert!(out.stdout.lines().last().unwrap().starts_with("c299 "));

    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let got = env.cmd().arg("list").stdout(full).output().unwrap();
    assert_eq!(got.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&got.stderr);
    assert!(stderr.contains("No space left on device"), "{stderr}");
}

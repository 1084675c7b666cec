//! The committed completion scripts match what the binary generates.

use crate::support::*;

#[test]
fn committed_completions_match_the_cli() {
    let env = TestEnv::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    for (shell, file) in [
        ("bash", "conn.bash"),
        ("zsh", "_conn"),
        ("fish", "conn.fish"),
        ("powershell", "_conn.ps1"),
        ("elvish", "conn.elv"),
    ] {
        let out = env.run(&["completions", shell]);
        out.ok();
        assert!(out.stdout.contains("conn"), "{shell}");
        let path = dir.join(file);
        if std::env::var_os("CONN_UPDATE_COMPLETIONS").is_some() {
            std::fs::write(&path, &out.stdout).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == out.stdout,
            "completions/{file} is out of date with the CLI; regenerate with: CONN_UPDATE_COMPLETIONS=1 cargo test completions"
        );
    }
}

/// What the shell would offer for the last of `words` (`conn` first), asked the way the
/// registration script of `COMPLETE=bash conn` asks: conn called back with the words after
/// `--` and the index of the word being completed.
fn complete(env: &TestEnv, dir: Option<&std::path::Path>, words: &[&str]) -> Vec<String> {
    let mut c = env
        .conn("--")
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string());
    for w in words {
        c = c.arg(*w);
    }
    if let Some(d) = dir {
        c = c.dir(d);
    }
    let out = c.ok();
    out.stdout.lines().map(str::to_string).collect()
}

#[test]
fn dynamic_completion_offers_connection_names_provider_ids_and_recipe_roles() {
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider("http://127.0.0.1:9"));
    add_acme(&env, "acme-prod", "k1");
    add_acme(&env, "acme-dev", "k2");

    // Connection names wherever a command takes one.
    for words in [
        &["conn", "show", ""][..],
        &["conn", "check", ""],
        &["conn", "token", ""],
        &["conn", "rm", ""],
        &["conn", "rename", ""],
        &["conn", "exec", ""],
        &["conn", "request", ""],
        &["conn", "edit", ""],
        &["conn", "reauth", ""],
    ] {
        let got = complete(&env, None, words);
        for name in ["acme-prod", "acme-dev"] {
            assert!(got.iter().any(|g| g == name), "{words:?}: {got:?}");
        }
    }
    let got = complete(&env, None, &["conn", "show", "acme-d"]);
    assert_eq!(got, ["acme-dev"], "only the names with that prefix");

    // Provider ids, built-in and the user's, for --provider and `providers show`; no file names.
    for words in [
        &["conn", "new", "x", "--provider", ""][..],
        &["conn", "list", "--provider", ""],
        &["conn", "providers", "show", ""],
    ] {
        let got = complete(&env, None, words);
        for id in ["acme", "github", "stripe", "zendesk"] {
            assert!(got.iter().any(|g| g == id), "{words:?}: {id} in {got:?}");
        }
        assert!(!got.iter().any(|g| g == "conn"), "no file names: {got:?}");
    }
    let got = complete(&env, None, &["conn", "new", "x", "--provider", "zen"]);
    assert_eq!(got, ["zendesk"]);

    // Recipe roles from the project's conn.toml, then the connection that plays it.
    let project = env.dir.path().join("project");
    std::fs::create_dir_all(project.join("sub")).unwrap();
    std::fs::write(
        project.join("conn.toml"),
        "[roles.billing]\nprovider = \"stripe\"\n\n[roles.helpdesk]\nprovider = \"zendesk\"\n",
    )
    .unwrap();
    let got = complete(&env, Some(&project.join("sub")), &["conn", "bind", ""]);
    assert!(got.iter().any(|g| g == "billing"), "{got:?}");
    assert!(got.iter().any(|g| g == "helpdesk"), "{got:?}");
    let got = complete(&env, Some(&project), &["conn", "bind", "billing", "acme-"]);
    assert_eq!(got.len(), 2, "{got:?}");

    // Fish shows what each candidate is.
    let out = env.conn("-- conn show acme-p").env("COMPLETE", "fish").ok();
    assert_eq!(out.stdout.trim(), "acme-prod\tacme (production)", "{out:?}");
}

#[test]
fn dynamic_completion_without_connections_or_recipe_offers_nothing_and_succeeds() {
    let env = TestEnv::new();
    let got = complete(&env, Some(env.dir.path()), &["conn", "show", "a"]);
    assert!(got.is_empty(), "{got:?}");
    let got = complete(&env, Some(env.dir.path()), &["conn", "bind", "b"]);
    assert!(got.is_empty(), "{got:?}");
    // The registration script the README tells people to source.
    let out = env.conn("").env("COMPLETE", "bash").ok();
    assert!(out.stdout.contains("complete "), "{out:?}");
    assert!(out.stdout.contains("_CLAP_COMPLETE_INDEX"), "{out:?}");
}

/// The flags conn refuses because they would put a secret on argv.
const REFUSED: &[&str] = &[
    "--secret",
    "--password",
    "--passwd",
    "--pass",
    "--api-key",
    "--apikey",
    "--api-token",
    "--token",
    "--access-token",
    "--refresh-token",
    "--bearer-token",
    "--client-secret",
    "--consumer-secret",
    "--token-secret",
];

fn offers_refused(text: &str) -> Option<&'static str> {
    REFUSED.iter().copied().find(|f| {
        text.match_indices(f).any(|(i, _)| {
            // `--secret` in `--secret-stdin` is another flag.
            !text[i + f.len()..].starts_with(|c: char| c == '-' || c.is_ascii_alphanumeric())
        })
    })
}

#[test]
fn refused_secret_flags_are_in_no_help_or_completion_but_still_refused() {
    let env = TestEnv::new();
    for cmd in ["new", "reauth", "edit"] {
        let out = env.conn(cmd).arg("--help").ok();
        assert_eq!(offers_refused(&out.stdout), None, "conn {cmd} --help");
        assert!(
            out.stdout.contains("--secret-stdin") || cmd == "edit",
            "{out:?}"
        );
    }
    // Dynamic completion of every prefix that used to lead to them.
    for cmd in ["new", "reauth"] {
        for prefix in [
            "--", "--s", "--se", "--p", "--pa", "--t", "--a", "--c", "--r", "--b",
        ] {
            let got = complete(&env, None, &["conn", cmd, prefix]).join(" ");
            assert_eq!(
                offers_refused(&got),
                None,
                "conn {cmd} {prefix}<TAB>: {got}"
            );
        }
        let got = complete(&env, None, &["conn", cmd, "--se"]);
        assert!(got.iter().any(|g| g == "--secret-stdin"), "{got:?}");
    }
    // The static scripts.
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = env.conn("completions").arg(shell).ok();
        assert_eq!(offers_refused(&out.stdout), None, "{shell}");
    }
    // Passing one still gives the refusal and its alternatives, never the value.
    for flag in REFUSED {
        for args in [
            vec!["new", "a", "--provider", "stripe", flag, "sk_live_leak"],
            vec!["reauth", "a", &format!("{flag}=sk_live_leak")],
            vec!["new", "a", "--provider", "stripe", flag],
        ] {
            let out = env.run(&args);
            out.code(2);
            assert!(
                out.stderr.contains(&format!(
                    "{flag} is not accepted: a secret on the command line"
                )),
                "{args:?}: {out:?}"
            );
            assert!(out.stderr.contains("--secret-env"), "{args:?}: {out:?}");
            assert!(!out.all().contains("sk_live_leak"), "{args:?}: {out:?}");
        }
    }
    assert!(!env.connections_toml().exists());
}

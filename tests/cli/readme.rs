//! The README's `console` blocks are executable documentation: trycmd runs every `$ conn ...`
//! line of them in order, in one sealed CONN_HOME, and compares what conn prints (stdout and
//! stderr together) and its exit code (`? N`) with the text below it. The built-in GitHub
//! and Zendesk point at local fakes here (user provider files with the built-ins' ids, made
//! from the built-in files themselves with only the API address changed, and the instance
//! a check reports read from the answer, so it names the real API host rather than
//! 127.0.0.1), so the examples show real conn output and cannot drift. `[CONN_HOME]` in the
//! README stands for conn's directory. After changing what conn prints, update the
//! README with: TRYCMD=overwrite cargo test --test cli readme_console
//! (then review the diff: wildcards `[..]` and `...` stand for what varies between runs).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::*;

/// GitHub's `GET /user` for the README's token.
fn github() -> FakeApi {
    FakeApi::start(|s| {
        if s.header("Authorization") != Some("Bearer ghp_EXAMPLE") {
            return (401, r#"{"message":"Bad credentials"}"#.into());
        }
        match s.url.as_str() {
            "/user" => (
                200,
                r#"{"login":"octocat","id":583231,"host":"api.github.com"}"#.into(),
            ),
            _ => (404, r#"{"message":"Not Found"}"#.into()),
        }
    })
}

/// Zendesk's `GET /api/v2/users/me.json`: the README's agent the first time, then the token
/// is revoked (401), as the README's story goes.
fn zendesk() -> FakeApi {
    let calls = Arc::new(AtomicUsize::new(0));
    FakeApi::start(move |s| {
        use base64::Engine;
        let want =
            base64::engine::general_purpose::STANDARD.encode("agent@acme.com/token:zd-EXAMPLE");
        let first = calls.fetch_add(1, Ordering::SeqCst) == 0;
        if !first || s.header("Authorization") != Some(format!("Basic {want}").as_str()) {
            return (401, r#"{"error":"Couldn't authenticate you"}"#.into());
        }
        (
            200,
            r#"{"user":{"id":361,"email":"agent@acme.com"},"host":"acme.zendesk.com"}"#.into(),
        )
    })
}

/// A built-in provider file with its API address replaced (`from` → `to`), and the instance
/// its check reports taken from the fake's `/host` instead of the (loopback) API address.
fn pointed_at(builtin: &str, from: &str, to: &str) -> String {
    assert!(builtin.contains(from), "{from}");
    let identity = builtin
        .lines()
        .find(|l| l.starts_with("identity = {"))
        .expect("the check names an identity");
    builtin.replace(from, to).replace(
        identity,
        &identity.replace(" }", ", instance = \"/host\" }"),
    )
}

#[test]
fn readme_console_examples_run_as_shown() {
    let (github, zendesk) = (github(), zendesk());
    let env = TestEnv::new();
    env.write_provider(
        "github.toml",
        &pointed_at(
            include_str!("../../src/catalog/builtin/github.toml"),
            // github.com's API URL, worked out from the default host.
            "value = \"https://api.github.com\"",
            &format!("value = \"{}\"", github.url),
        ),
    );
    env.write_provider(
        "zendesk.toml",
        &pointed_at(
            include_str!("../../src/catalog/builtin/zendesk.toml"),
            "base_url = \"https://${subdomain}.zendesk.com\"",
            &format!("base_url = \"{}/${{subdomain}}\"", zendesk.url),
        ),
    );
    let d = env.dir.path();
    let cases = trycmd::TestCases::new();
    cases
        .insert_var("[CONN_HOME]", env.home().display().to_string())
        .unwrap();
    cases.register_bin("conn", std::path::PathBuf::from(BIN));
    // The sealed environment of `TestEnv::cmd`; trycmd adds to the inherited one, so conn's
    // own variables that the test process has are blanked (conn treats empty as unset).
    for (k, _) in std::env::vars_os() {
        if let Some(k) = k.to_str().filter(|k| k.starts_with("CONN_")) {
            cases.env(k, "");
        }
    }
    for k in ["BROWSER", "DBUS_SESSION_BUS_ADDRESS"] {
        cases.env(k, "");
    }
    cases
        .env("HOME", d.join("home").display().to_string())
        .env(
            "XDG_CONFIG_HOME",
            d.join("xdg-config").display().to_string(),
        )
        .env("XDG_DATA_HOME", d.join("xdg-data").display().to_string())
        .env("XDG_CACHE_HOME", d.join("xdg-cache").display().to_string())
        .env("CONN_HOME", env.home().display().to_string())
        .env("CONN_SECRET_STORE", "file")
        .env("NO_COLOR", "1")
        .env("LANG", "C.UTF-8")
        // The secrets the README's commands name (`--secret-env GITHUB_TOKEN`).
        .env("GITHUB_TOKEN", "ghp_EXAMPLE")
        .env("ZENDESK_TOKEN", "zd-EXAMPLE")
        .timeout(std::time::Duration::from_secs(60))
        .case(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .run();
    assert!(!github.requests().is_empty() && !zendesk.requests().is_empty());
}

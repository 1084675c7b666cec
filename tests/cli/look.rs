//! How `check` and `list` look: coloured statuses where colour is wanted, hints wrapped under
//! their rows, tables cut to the terminal's width, a progress line on a terminal only, and the
//! integration-user advice only where the provider documents one.

use std::time::Duration;

use crate::support::*;

const GOOD: &str = "k-good-0123456789abcdef";
const BAD: &str = "k-bad-0123456789abcdef";

/// `prod` works (as an identity with an escape sequence in it), `stale-key` is refused; each
/// answer takes `delay`.
fn two_connections(delay: Duration, extra_provider: &str) -> (FakeApi, TestEnv) {
    let api = FakeApi::start(move |seen| {
        std::thread::sleep(delay);
        if seen.header("Authorization") == Some(format!("Bearer {GOOD}").as_str()) {
            (
                200,
                r#"{"id": 42, "email": "ann\u001b[35m@acme.test"}"#.to_string(),
            )
        } else {
            (
                401,
                r#"{"message":"Bad credentials, and a long explanation of why they were refused"}"#
                    .to_string(),
            )
        }
    });
    let env = TestEnv::new();
    env.write_provider(
        "acme.toml",
        &format!("{}{extra_provider}", acme_provider(&api.url)),
    );
    env.conn("new prod --provider acme --auth api_key --secret-env K")
        .env("K", GOOD)
        .ok();
    add_acme(&env, "stale-key", BAD);
    (api, env)
}

/// `conn ARGS` with the given variables, NO_COLOR unset unless given.
fn run(env: &TestEnv, args: &[&str], vars: &[(&str, &str)]) -> Out {
    let mut c = env.cmd();
    c.env_remove("NO_COLOR").args(args);
    for (k, v) in vars {
        c.env(k, v);
    }
    run_command(c, None)
}

const GREEN: &str = "\u{1b}[32m";
const RED: &str = "\u{1b}[31m";
const RESET: &str = "\u{1b}[0m";

#[test]
fn statuses_are_coloured_when_forced_and_outside_text_stays_escaped() {
    let (_api, env) = two_connections(Duration::ZERO, "");
    let out = run(&env, &["check"], &[("CLICOLOR_FORCE", "1")]);
    out.code(2);
    assert!(out.stdout.contains(&format!("{GREEN}ok{RESET}")), "{out:?}");
    assert!(
        out.stdout
            .contains(&format!("{RED}invalid_credentials{RESET}")),
        "{out:?}"
    );
    // The identity's own escape sequence is shown, not obeyed: conn's codes are the only ones.
    assert!(!out.stdout.contains("\u{1b}[35m"), "{out:?}");
    assert!(out.stdout.contains(r"ann\x1b[35m@acme.test"), "{out:?}");
    assert_eq!(out.stdout.matches('\u{1b}').count(), 4, "{out:?}");

    let list = run(&env, &["list"], &[("CLICOLOR_FORCE", "1")]);
    list.ok();
    assert!(list.stdout.contains(&format!("{GREEN}ok (")), "{list:?}");
    assert!(
        list.stdout.contains(&format!("{RED}invalid_credentials (")),
        "{list:?}"
    );
}

#[test]
fn no_colour_with_no_color_or_in_a_pipe() {
    let (_api, env) = two_connections(Duration::ZERO, "");
    for vars in [
        vec![("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")],
        vec![("TERM", "xterm-256color")],
    ] {
        let out = run(&env, &["check"], &vars);
        out.code(2);
        assert!(out.stdout.contains("invalid_credentials"), "{out:?}");
        assert!(!out.all().contains('\u{1b}'), "{vars:?}: {out:?}");
        let list = run(&env, &["list"], &vars);
        assert!(!list.all().contains('\u{1b}'), "{vars:?}: {list:?}");
    }
}

#[test]
fn a_hint_is_wrapped_to_the_width_under_its_row_and_the_table_cut_to_it() {
    let (_api, env) = two_connections(Duration::ZERO, "");
    let out = run(&env, &["check"], &[("COLUMNS", "60")]);
    out.code(2);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let row = lines
        .iter()
        .position(|l| l.starts_with("stale-key "))
        .expect("a row for stale-key");
    // The widest column (DETAIL) was cut, with an ellipsis; names and statuses never are.
    assert!(lines[row].ends_with('…'), "{}", out.stdout);
    assert!(lines[row].contains("invalid_credentials"), "{}", out.stdout);
    let hint: Vec<&str> = lines[row + 1..]
        .iter()
        .take_while(|l| l.starts_with("  "))
        .copied()
        .collect();
    assert!(
        hint.len() >= 3,
        "a wrapped hint under its row: {}",
        out.stdout
    );
    for l in &hint {
        assert!(
            l.chars().count() <= 60,
            "longer than 60: {l:?}\n{}",
            out.stdout
        );
    }
    assert!(hint[0].starts_with("  likely cause:"), "{}", out.stdout);
    let joined = hint.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
    assert!(
        joined.ends_with("replace them with 'conn reauth stale-key'"),
        "{joined}"
    );
    // --json keeps every character.
    let json = run(&env, &["check", "--json"], &[("COLUMNS", "60")]);
    let detail = json.json()[1]["message"].as_str().unwrap().to_string();
    assert!(
        detail.ends_with("a long explanation of why they were refused"),
        "{detail}"
    );
    // Without a known width (a pipe, no COLUMNS) the table is whole.
    let whole = run(&env, &["check"], &[]);
    assert!(
        whole.stdout.contains("why they were refused\n"),
        "{}",
        whole.stdout
    );
}

#[test]
fn a_table_is_cut_to_60_columns_and_json_keeps_everything() {
    let (_api, env) = two_connections(Duration::ZERO, "");
    run(&env, &["check"], &[]).code(2);
    let out = run(&env, &["list"], &[("COLUMNS", "60")]);
    out.ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    for l in &lines {
        assert!(
            l.chars().count() <= 60,
            "longer than 60: {l:?}\n{}",
            out.stdout
        );
    }
    assert!(lines[0].starts_with("NAME "), "{}", out.stdout);
    assert!(lines[1].starts_with("prod "), "{}", out.stdout);
    assert!(lines[1].contains('…'), "{}", out.stdout);
    assert!(lines[2].starts_with("stale-key "), "{}", out.stdout);
    let json = run(&env, &["list", "--json"], &[("COLUMNS", "60")]).json();
    assert_eq!(json[0]["identity"]["label"], r"ann\x1b[35m@acme.test");
    assert_eq!(json[1]["last_check"]["status"], "invalid_credentials");
    // With room, nothing is cut.
    let wide = run(&env, &["list"], &[("COLUMNS", "200")]);
    assert!(!wide.stdout.contains('…'), "{}", wide.stdout);
    assert!(
        wide.stdout.contains(r"ann\x1b[35m@acme.test on 127.0.0.1"),
        "{}",
        wide.stdout
    );
}

#[test]
fn the_integration_user_is_suggested_only_where_the_provider_documents_one() {
    let flagged =
        "\n[lifecycle]\nintegration_user = \"https://developer.acme.test/integration-users\"\n";
    let (_api, env) = two_connections(Duration::ZERO, flagged);
    let out = run(&env, &["check", "stale-key", "--json"], &[]);
    out.code(2);
    let hint = out.json()[0]["hint"].as_str().unwrap().to_string();
    assert!(
        hint.contains("Acme API offers a dedicated integration user for this (https://developer.acme.test/integration-users)"),
        "{hint}"
    );
    assert!(hint.contains("a person's account"), "{hint}");

    let (_api, env) = two_connections(Duration::ZERO, "");
    let out = run(&env, &["check", "stale-key"], &[]);
    out.code(2);
    assert!(out.stdout.contains("likely cause"), "{out:?}");
    assert!(!out.stdout.contains("integration user"), "{out:?}");
    assert!(!out.stdout.contains("person"), "{out:?}");
}

#[test]
fn a_slow_check_shows_progress_on_a_terminal_and_never_in_a_pipe() {
    let (_api, env) = two_connections(Duration::from_millis(1500), "");
    let mut p = crate::wizard::wizard(&env, &["check"]);
    // (rexpect reads bytes one by one: the `…` arrives as three characters.)
    p.exp_regex("Checking 2 connections.{1,3} [0-2]/2 done")
        .expect("a progress line with a count on the terminal");
    // The results come after the line was cleared.
    let out = p.exp_eof().expect("conn ends");
    assert!(out.contains("NAME"), "{out:?}");
    assert!(out.contains("invalid_credentials"), "{out:?}");

    let piped = run(&env, &["check"], &[("TERM", "xterm")]);
    piped.code(2);
    assert!(!piped.stderr.contains("Checking"), "{piped:?}");
    assert_eq!(piped.stderr, "", "{piped:?}");
}

#[test]
fn device_polling_shows_a_spinner_on_a_terminal_only() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    // The first poll is told to wait (`authorization_pending`), so the wait lasts a second.
    let polls = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = polls.clone();
    let api =
        crate::oauth2_fakes::fake_as(move |_| match seen.fetch_add(1, Ordering::SeqCst) % 2 {
            0 => (400, r#"{"error":"authorization_pending"}"#.into()),
            _ => (
                200,
                r#"{"access_token":"at-d","token_type":"bearer","expires_in":3600}"#.into(),
            ),
        });
    let env = crate::oauth2_fakes::env_for(&api, "");
    let args = [
        "new",
        "d",
        "--provider",
        "fake",
        "--device",
        "--client-id",
        "cid",
        "--no-browser",
        "--yes",
    ];
    let mut p = crate::wizard::wizard(&env, &args);
    p.exp_string("client secret?").expect("the wizard asks");
    crate::wizard::type_keys(&mut p, "n");
    p.exp_string("WDJB-MJHT").expect("the code is shown");
    p.exp_string("Polling for the approval")
        .expect("a spinner while polling");
    p.exp_eof().expect("conn ends");
    assert!(env.read_connections().contains("[connections.d]"));

    let mut args = args;
    args[1] = "e";
    let piped = env.run_env(&args, &[("TERM", "xterm")]);
    piped.ok();
    assert!(piped.stderr.contains("WDJB-MJHT"), "{piped:?}");
    assert!(!piped.stderr.contains("Polling"), "{piped:?}");
}

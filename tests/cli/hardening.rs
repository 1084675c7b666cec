//! Issue 14: hostile text, huge values, lost rotations and injected values, through the binary.

use crate::oauth2_fakes::{NEW, env_for, fake_as};
use crate::support::*;

/// Text no terminal may receive from conn: ESC, BEL, CR, C1 CSI, a bidi override.
fn assert_no_raw_controls(out: &Out) {
    for (what, s) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        for bad in ['\u{1b}', '\u{7}', '\r', '\u{9b}', '\u{202e}'] {
            assert!(!s.contains(bad), "{what} holds {bad:?}: {out:#?}");
        }
    }
}

#[test]
fn a_70000_character_login_lists_and_checks_without_a_crash() {
    let login = "L".repeat(70_000);
    let api = FakeApi::expecting_auth("Bearer k1", serde_json::json!({"id": 7, "email": login}));
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    new_acme(&env, "big", "k1").ok();
    let check = env.run(&["check"]);
    check.ok();
    assert!(check.stdout.contains("…"), "the cell is cut: {check:?}");
    let list = env.run(&["list"]);
    list.ok();
    assert_eq!(list.stdout.lines().count(), 2, "{list:?}");
    // --json keeps the whole value.
    let json = env.run(&["list", "--json"]);
    json.ok();
    assert!(json.stdout.contains(&login));
    env.run(&["show", "big"]).ok();
}

#[test]
fn an_identity_with_escape_sequences_and_newlines_is_shown_escaped() {
    let evil = "eve\u{1b}]0;pwned\u{7}\u{1b}[2J\r\nconn: error: forged\u{202e}";
    let api = FakeApi::expecting_auth("Bearer k1", serde_json::json!({"id": 1, "email": evil}));
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    let new = new_acme(&env, "x", "k1");
    new.ok();
    assert_no_raw_controls(&new);
    for args in [
        &["list"][..],
        &["check"],
        &["show", "x"],
        &["check", "--json"],
    ] {
        let out = env.run(args);
        out.ok();
        assert_no_raw_controls(&out);
        assert!(
            !out.all()
                .lines()
                .any(|l| l.starts_with("conn: error: forged")),
            "{args:?} forged a line: {out:?}"
        );
    }
    let out = env.run(&["check"]);
    assert!(out.stdout.contains("eve\\x1b]0;pwned\\x07"), "{out:?}");
}

#[test]
fn a_server_error_description_cannot_drive_the_terminal() {
    let api = fake_as(|_| {
        (
            400,
            r#"{"error":"invalid_request\u001b[31m","error_description":"bad\u001b]0;owned\u0007\u001b[2J\nconn: saved connection 'x'\u202e"}"#.into(),
        )
    });
    let env = env_for(&api, "");
    let out = env.run_env(NEW, &[("CS", "s")]);
    out.code(1);
    assert_no_raw_controls(&out);
    assert!(
        !out.stderr.lines().any(|l| l.starts_with("conn: saved")),
        "a second line was forged: {out:?}"
    );
    assert!(out.stderr.contains("bad\\x1b]0;owned\\x07"), "{out:?}");
    assert!(env.connections().is_empty());
}

#[test]
fn device_codes_and_urls_from_the_server_are_shown_escaped() {
    let api = FakeApi::start(|s| {
        match s.url.as_str() {
        "/device" => (
            200,
            r#"{"device_code":"dc","user_code":"AB\u001b[2JCD\nconn: done","verification_uri":"https://x.example/\u001b]0;t\u0007","expires_in":2,"interval":1}"#.into(),
        ),
        _ => (400, r#"{"error":"expired_token"}"#.into()),
    }
    });
    let env = env_for(&api, "");
    let out = env.run(&[
        "new",
        "d",
        "--provider",
        "fake",
        "--device",
        "--client-id",
        "cid",
        "--no-browser",
    ]);
    assert_ne!(out.code, 0);
    assert_ne!(out.code, 101);
    assert_no_raw_controls(&out);
    assert!(out.stderr.contains("AB\\x1b[2JCD"), "{out:?}");
}

#[test]
fn expires_in_beyond_any_clock_neither_panics_nor_wraps() {
    for huge in ["9223372036854775808", "18446744073709551615"] {
        let body = format!(
            r#"{{"access_token":"at-1","refresh_token":"rt-1","token_type":"bearer","expires_in":{huge}}}"#
        );
        let api = fake_as(move |_| (200, body.clone()));
        let env = env_for(&api, "");
        env.run_env(NEW, &[("CS", "s")]).ok();
        for args in [
            &["token", "x"][..],
            &["check", "x"],
            &["show", "x"],
            &["list"],
        ] {
            let out = env.run(args);
            out.ok();
        }
        let tok = env.run(&["token", "x"]);
        assert_eq!(tok.stdout, "at-1\n");
        let token_calls = api.requests().iter().filter(|r| r.url == "/token").count();
        assert_eq!(
            token_calls, 1,
            "{huge}: a far expiry is not 'already expired'"
        );
    }
}

#[test]
fn huge_timeouts_and_retry_after_do_not_panic() {
    let api = FakeApi::start_with_headers(|_| {
        (
            503,
            vec![("Retry-After".into(), "18446744073709551615".into())],
            "{}".into(),
        )
    });
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    add_acme(&env, "a", "k");
    let out = env.run(&[
        "check",
        "a",
        "--timeout",
        "18446744073709551615",
        "--deadline",
        "18446744073709551615",
    ]);
    out.code(3);
    let out = env.run(&["request", "a", "/me", "--timeout", "18446744073709551615"]);
    assert_ne!(out.code, 101, "{out:?}");
}

#[test]
fn an_error_redirect_without_the_right_state_is_refused_and_the_sign_in_goes_on() {
    let api = fake_as(|s| {
        match s.form("code").as_deref() {
        Some("good") => (
            200,
            r#"{"access_token":"at-1","refresh_token":"rt-1","token_type":"bearer","expires_in":3600}"#.into(),
        ),
        _ => (400, r#"{"error":"invalid_grant"}"#.into()),
    }
    });
    let env = env_for(&api, "");
    let log = env.dir.path().join("browser.log");
    let out = env.run_env(
        NEW,
        &[
            ("CS", "s"),
            ("FAKE_BROWSER_MODE", "forged-error"),
            ("FAKE_BROWSER_LOG", path_str(&log)),
        ],
    );
    out.ok();
    let lines = std::fs::read_to_string(&log).unwrap();
    let statuses: Vec<&str> = lines
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(statuses, ["400", "400", "200"], "{lines}");
    assert!(!out.stderr.contains("access_denied"), "{out:?}");
    assert!(env.connections().get("x").is_some());
}

#[test]
fn line_breaks_and_nul_are_refused_in_set_values_naming_the_field() {
    let env = TestEnv::new();
    for (set, field) in [
        ("prefix=Bearer\r\nX-Injected: 1\r\n", "--set prefix"),
        ("header=X-Api-Key\nX-Injected: 1", "--set header"),
        ("base_url=https://api.example.com/\r\nx", "--set base_url"),
        ("check_path=/me\rX", "--set check_path"),
    ] {
        let out = env.run_env(
            &[
                "new",
                "h",
                "--provider",
                "http",
                "--auth",
                "api_key",
                "--set",
                "base_url=https://api.example.com",
                "--set",
                set,
                "--secret-env",
                "K",
                "--no-check",
            ],
            &[("K", "k1")],
        );
        out.code(2);
        assert!(out.stderr.contains(field), "{set:?}: {out:?}");
        assert!(
            out.stderr.contains("CR") || out.stderr.contains("LF") || out.stderr.contains("NUL"),
            "{out:?}"
        );
    }
    assert!(!env.connections_toml().exists());
}

#[test]
fn a_provider_file_with_a_line_break_in_a_header_or_url_is_refused() {
    let env = TestEnv::new();
    let p = acme_provider("https://api.example.com").replace(
        r#"prefix = "Bearer ""#,
        r#"prefix = "Bearer\r\nX-Injected: 1\r\n""#,
    );
    let file = env.write_provider("acme.toml", &p);
    let out = env.run(&["providers", "validate", path_str(&file)]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("auth[0].prefix"), "{out:?}");
    let p = acme_provider("https://api.example.com/\\u0000x");
    let file = env.write_provider("acme.toml", &p);
    let out = env.run(&["providers", "validate", path_str(&file)]);
    assert!(
        out.stderr.contains("api.base_url") && out.stderr.contains("NUL"),
        "{out:?}"
    );
}

#[test]
fn a_hand_edited_value_with_a_line_break_never_reaches_a_header_or_a_script() {
    let api = FakeApi::expecting_auth("Bearer k1", serde_json::json!({"id": 1, "email": "a@b"}));
    let env = TestEnv::new();
    env.run_env(
        &[
            "new",
            "h",
            "--provider",
            "http",
            "--auth",
            "api_key",
            "--set",
            &format!("base_url={}", api.url),
            "--set",
            "check_path=/me",
            "--set",
            "header=Authorization",
            "--set",
            "prefix=Bearer ",
            "--secret-env",
            "K",
        ],
        &[("K", "k1")],
    )
    .ok();
    let text = env.read_connections();
    assert!(text.contains("prefix = \"Bearer \""), "{text}");
    std::fs::write(
        env.connections_toml(),
        text.replace(
            "prefix = \"Bearer \"",
            "prefix = \"Bearer\\r\\nX-Injected: 1\\r\\n\"",
        ),
    )
    .unwrap();
    let before = api.requests().len();
    let check = env.run(&["check", "h"]);
    assert_ne!(check.code, 0, "{check:?}");
    assert!(check.all().contains("prefix"), "{check:?}");
    let exec = env.run(&["exec", "h", "--", "env"]);
    assert_ne!(exec.code, 0, "{exec:?}");
    assert!(!exec.stdout.contains("X-Injected"), "{exec:?}");
    let req = env.run(&["request", "h", "/me"]);
    assert_ne!(req.code, 0, "{req:?}");
    assert!(
        api.requests()[before..]
            .iter()
            .all(|r| r.header("X-Injected").is_none()),
        "a header was injected"
    );
}

#[test]
fn request_paths_that_leave_the_base_path_are_refused() {
    let api = FakeApi::start(|_| (200, r#"{"ok":true}"#.into()));
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&format!("{}/api/v2", api.url)));
    add_acme(&env, "k1", "k1");
    let base = format!("{}/api/v2", api.url);
    for path in [
        format!("{base}/../outside"),
        format!("{base}/%2e%2e/outside"),
        format!("{base}/%2E%2e/%2e%2e/outside"),
        "/../x".to_string(),
        "../../x".to_string(),
        "/a/../../x".to_string(),
        "/%2e%2e/x".to_string(),
        "/..%2fx".to_string(),
        "/x/..%2F..%2Fy".to_string(),
        "/.%2e/x".to_string(),
        "/..\\x".to_string(),
        format!("{}/api/v2x", api.url),
    ] {
        let out = env.run(&["request", "k1", &path]);
        out.code(2);
        assert!(out.stderr.contains("base URL"), "{path}: {out:?}");
    }
    assert!(api.requests().is_empty(), "nothing was sent");
    // Inside the base path, with dots that stay inside, it works.
    for path in ["/me", "me", "/a/../me", "/a/./b"] {
        env.run(&["request", "k1", path]).ok();
    }
    let urls: Vec<String> = api.requests().iter().map(|r| r.url.clone()).collect();
    assert_eq!(
        urls,
        ["/api/v2/me", "/api/v2/me", "/api/v2/me", "/api/v2/a/b"]
    );
}

#[cfg(unix)]
fn mode_of(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn chmod(p: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[test]
fn a_symlinked_connections_toml_is_written_through_the_link() {
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider("http://127.0.0.1:9"));
    add_acme(&env, "one", "k1");
    // A dotfile manager keeps the real file elsewhere and links to it.
    let dotfiles = env.dir.path().join("dotfiles");
    std::fs::create_dir(&dotfiles).unwrap();
    let real = dotfiles.join("connections.toml");
    std::fs::rename(env.connections_toml(), &real).unwrap();
    std::os::unix::fs::symlink("../../dotfiles/connections.toml", env.connections_toml()).ok();
    // The relative link must resolve from the config dir: make it absolute if that layout
    // differs.
    if !env.connections_toml().exists() {
        std::fs::remove_file(env.connections_toml()).unwrap();
        std::os::unix::fs::symlink(&real, env.connections_toml()).unwrap();
    }
    add_acme(&env, "two", "k2");
    env.run(&["rename", "one", "uno"]).ok();
    let link = std::fs::symlink_metadata(env.connections_toml()).unwrap();
    assert!(
        link.file_type().is_symlink(),
        "the link was replaced by a file"
    );
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(
        text.contains("[connections.two]") && text.contains("[connections.uno]"),
        "{text}"
    );
    assert_eq!(mode_of(&real), 0o600);
    env.run(&["list"]).ok();
}

#[cfg(unix)]
#[test]
fn a_read_only_file_is_refused_with_a_message_and_left_alone() {
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider("http://127.0.0.1:9"));
    add_acme(&env, "one", "k1");
    let file = env.connections_toml();
    let before = std::fs::read_to_string(&file).unwrap();
    chmod(&file, 0o400);
    let out = env.run(&["rename", "one", "uno"]);
    out.code(1);
    assert!(out.stderr.contains("read-only"), "{out:?}");
    assert!(out.stderr.contains("connections.toml"), "{out:?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    assert_eq!(mode_of(&file), 0o400, "still read-only");
    // The same for bindings.toml, conn's other config file.
    chmod(&file, 0o600);
    let project = env.dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("conn.toml"),
        "[roles.crm]\nprovider = \"acme\"\n[roles.old]\nprovider = \"acme\"\nsecondary = true\n",
    )
    .unwrap();
    env.run_in(&project, &["bind", "crm", "one"], &[]).ok();
    let bindings = env.home().join("bindings.toml");
    let bbefore = std::fs::read(&bindings).unwrap();
    chmod(&bindings, 0o400);
    let out = env.run_in(&project, &["bind", "old", "one"], &[]);
    out.code(1);
    assert!(out.stderr.contains("read-only"), "{out:?}");
    assert_eq!(std::fs::read(&bindings).unwrap(), bbefore);
}

#[cfg(unix)]
#[test]
fn every_command_warns_once_about_a_file_others_can_read() {
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider("http://127.0.0.1:9"));
    add_acme(&env, "one", "k1");
    chmod(&env.connections_toml(), 0o644);
    let identity = env.home().join("identity.txt");
    chmod(&identity, 0o604);
    for args in [
        &["list"][..],
        &["show", "one"],
        &["token", "one"],
        &["providers", "list"],
    ] {
        let out = env.run(args);
        out.ok();
        assert_eq!(
            out.stderr
                .matches("connections.toml is readable by other users")
                .count(),
            1,
            "{args:?}: {out:?}"
        );
        assert_eq!(
            out.stderr.matches("identity.txt is readable").count(),
            1,
            "{out:?}"
        );
        assert!(out.stderr.contains("chmod 600"), "{out:?}");
    }
    chmod(&env.connections_toml(), 0o600);
    chmod(&identity, 0o600);
    let out = env.run(&["list"]);
    assert!(!out.stderr.contains("readable by other users"), "{out:?}");
}

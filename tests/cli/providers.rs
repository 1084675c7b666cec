//! The catalog as users see it: list, show, validate, user overrides.

use crate::support::*;

#[test]
fn list_shows_builtins_and_marks_user_overrides() {
    let env = TestEnv::new();
    let out = env.run(&["providers", "list", "--json"]);
    out.ok();
    let ids: Vec<String> = out
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    for id in ["github", "zendesk", "stripe", "http"] {
        assert!(ids.contains(&id.to_string()), "{ids:?}");
    }
    env.write_provider(
        "github.toml",
        &acme_provider("http://127.0.0.1:1").replace("\"acme\"", "\"github\""),
    );
    env.write_provider("acme.toml", &acme_provider("http://127.0.0.1:1"));
    let out = env.run(&["providers", "list"]);
    out.ok();
    let gh = out
        .stdout
        .lines()
        .find(|l| l.starts_with("github"))
        .unwrap();
    assert!(gh.contains("user (overrides built-in)"), "{gh}");
    let acme = out.stdout.lines().find(|l| l.starts_with("acme")).unwrap();
    assert!(acme.ends_with("user"), "{acme}");
}

#[test]
fn show_tells_how_to_set_up_the_app() {
    let env = TestEnv::new();
    let out = env.run(&["providers", "show", "zendesk"]);
    out.ok();
    assert!(out.stdout.contains("subdomain"), "{out:?}");
    assert!(out.stdout.contains("API token"), "{out:?}");
    assert!(out.stdout.contains("developer.zendesk.com"), "{out:?}");
    let gh = env.run(&["providers", "show", "github"]);
    assert!(
        gh.stdout
            .contains("redirect URI to register: http://127.0.0.1/callback"),
        "{gh:?}"
    );
    assert!(
        gh.stdout
            .contains("grants: authorization_code, device_code"),
        "{gh:?}"
    );
    let j = env.run(&["providers", "show", "github", "--json"]).json();
    assert_eq!(j["check"]["path"], "/user");
    assert_eq!(j["auth"][0]["method"], "api_key");
}

#[test]
fn validate_reports_file_line_and_field_and_bad_user_files_are_skipped() {
    let env = TestEnv::new();
    let good = env.write_provider("acme.toml", &acme_provider("https://acme.test"));
    env.run(&["providers", "validate", path_str(&good)]).ok();

    let bad = env.write_provider(
        "bad.toml",
        &acme_provider("https://${tenant}.acme.test").replace("\"acme\"", "\"bad\""),
    );
    let out = env.run(&["providers", "validate", path_str(&bad)]);
    out.code(1);
    assert!(out.stderr.contains("bad.toml:18: api.base_url"), "{out:?}");
    assert!(out.stderr.contains("${tenant}"), "{out:?}");

    let typo = env.write_provider(
        "typo.toml",
        &acme_provider("https://acme.test")
            .replace("identity_required", "identity_requird")
            .replace("\"acme\"", "\"typo\""),
    );
    let out = env.run(&["providers", "validate", path_str(&typo)]);
    out.code(1);
    assert!(out.stderr.contains("typo.toml:23:"), "{out:?}");
    assert!(out.stderr.contains("identity_requird"), "{out:?}");

    // Other commands keep working, with a warning naming the bad file.
    let out = env.run(&["providers", "list"]);
    out.ok();
    assert!(out.stderr.contains("bad.toml"), "{out:?}");
    assert!(out.stdout.contains("acme"));
    assert!(!out.stdout.lines().any(|l| l.starts_with("bad ")));
}

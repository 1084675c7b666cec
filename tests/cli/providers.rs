//! The catalog as users see it: list, show, validate, user overrides.

use crate::support::*;

#[test]
fn list_shows_builtins_and_marks_user_overrides() {
    let env = TestEnv::new();
    let out = env.conn("providers list --json").run();
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
    let out = env.conn("providers list").run();
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
    let out = env.conn("providers show zendesk").run();
    out.ok();
    assert!(out.stdout.contains("subdomain"), "{out:?}");
    assert!(out.stdout.contains("API token"), "{out:?}");
    assert!(out.stdout.contains("developer.zendesk.com"), "{out:?}");
    let gh = env.conn("providers show github").run();
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
    let j = env.conn("providers show github --json").run().json();
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
    assert!(out.stderr.contains("bad.toml:19: api.base_url"), "{out:?}");
    assert!(out.stderr.contains("${tenant}"), "{out:?}");

    let typo = env.write_provider(
        "typo.toml",
        &acme_provider("https://acme.test")
            .replace("identity_required", "identity_requird")
            .replace("\"acme\"", "\"typo\""),
    );
    let out = env.run(&["providers", "validate", path_str(&typo)]);
    out.code(1);
    assert!(out.stderr.contains("typo.toml:24:"), "{out:?}");
    assert!(out.stderr.contains("identity_requird"), "{out:?}");

    // Other commands keep working, with a warning naming the bad file.
    let out = env.conn("providers list").run();
    out.ok();
    assert!(out.stderr.contains("bad.toml"), "{out:?}");
    assert!(out.stdout.contains("acme"));
    assert!(!out.stdout.lines().any(|l| l.starts_with("bad ")));
}

/// A minimal valid provider with `extra` lines appended at the top level and `auth` as its
/// one method.
fn minimal(top: &str, auth: &str) -> String {
    format!(
        "id = \"p\"\ndisplay_name = \"P\"\n{top}\n[[auth]]\n{auth}\n\n[api]\nbase_url = \"https://api.p.test\"\n\n[check]\npath = \"/me\"\n"
    )
}

const KEY: &str = "method = \"api_key\"\nname = \"Authorization\"";

#[test]
fn each_validation_error_names_its_line_and_field() {
    let env = TestEnv::new();
    let cases: Vec<(String, &str)> = vec![
        (
            minimal(
                "",
                "method = \"oauth2\"\nauthorize_url = \"https://p.test/a\"",
            ),
            "p.toml:4: auth[0]: oauth2 needs token_url",
        ),
        (
            minimal("", "method = \"oauth2\"\ntoken_url = \"ftp://p.test/t\""),
            "p.toml:6: auth[0].token_url: must be an http(s) URL",
        ),
        (
            minimal(
                "",
                "method = \"oauth1\"\nrequest_token_url = \"https://p.test/r\"\nauthorize_url = \"https://p.test/a\"",
            ),
            "missing field `access_token_url`",
        ),
        (
            minimal(
                "",
                "method = \"oauth1\"\nrequest_token_url = \"https://p.test/r\"\nauthorize_url = \"https://p.test/a\"\naccess_token_url = \"https://p.test/t\"\nsignature_method = \"MD5\"",
            ),
            "p.toml:4:1: unknown variant `MD5`",
        ),
        (
            minimal("categories = [\"Big Apps\"]", KEY),
            "p.toml:3: categories",
        ),
        (
            minimal(
                "[[inputs]]\nname = \"site\"\nlabel = \"Site\"\ncapture = \"header:x\"\n",
                KEY,
            ),
            "p.toml:6: inputs[0].capture: must be token:FIELD",
        ),
        (
            minimal(
                "[[inputs]]\nname = \"site\"\nlabel = \"Site\"\ncapture = \"pick\"\n",
                KEY,
            ),
            "inputs[0].capture: no oauth2 method has a pick",
        ),
        (
            minimal(
                "[[inputs]]\nname = \"site\"\nlabel = \"Site\"\n",
                "method = \"oauth2\"\ntoken_url = \"https://p.test/t\"\nauthorize_url = \"https://p.test/a\"\npick = { url = \"https://p.test/sites\", id = \"/id\", label = \"/name\", input = \"cloud\" }",
            ),
            "auth[0].pick.input: \"cloud\" names no input",
        ),
        (
            minimal("[environments.sandbox]\nhost = \"s.p.test\"\n", KEY),
            "environments: define [environments.production]",
        ),
        (
            minimal(
                "[environments.production]\nhost = \"p.test\"\n[environments.sandbox]\nother = \"s.p.test\"\n",
                KEY,
            ),
            "p.toml:5: environments.sandbox: every environment must define the same keys",
        ),
        (
            minimal(
                "[environments.production]\nhost = \"p.test\"\n[environments.staging]\nhost = \"s.p.test\"\n",
                KEY,
            ),
            "p.toml:5: environments.staging: unknown environment",
        ),
        (
            minimal(
                "[[inputs]]\nname = \"host\"\nlabel = \"H\"\n[environments.production]\nhost = \"p.test\"\n",
                KEY,
            ),
            "environments.production.host: \"host\" is also an input",
        ),
        (
            minimal("extends = \"nosuch\"", KEY),
            "p.toml:3: extends: \"nosuch\" is not a built-in provider",
        ),
        (
            minimal(
                "",
                "method = \"api_key\"\nname = \"Authorization\"\nprefix = \"${nope} \"",
            ),
            "auth[0].prefix: ${nope} names no input",
        ),
        (
            minimal(
                "[[inputs]]\nname = \"n\"\nlabel = \"N\"\npattern = \"([\"\n",
                KEY,
            ),
            "p.toml:6: inputs[0].pattern: not a valid regular expression",
        ),
        (
            format!("{}expect_status = [404]\n", minimal("", KEY)),
            "check.expect_status: 404: only 2xx",
        ),
        (
            minimal(
                "[unverified]\n\"auth.oauth2.token_url\" = \"not in the docs\"\n",
                KEY,
            ),
            "p.toml:4: unverified.auth.oauth2.token_url: names no value of this provider",
        ),
        (
            minimal("[unverified]\n\"check.path\" = \"\"\n", KEY),
            "unverified.check.path: say why",
        ),
        (
            minimal(
                "",
                "method = \"oauth2\"\nauthorize_url = \"https://p.test/a\"\ntoken_url = \"https://p.test/t\"\ntoken_path = \"authed_user\"",
            ),
            "p.toml:8: auth[0].token_path: must be a JSON pointer",
        ),
        (
            minimal(
                "",
                "method = \"oauth2\"\nauthorize_url = \"https://p.test/a\"\ntoken_url = \"https://p.test/t\"\nrefresh_params = { grant_type = \"x\" }",
            ),
            "conn sends this parameter itself",
        ),
        (
            minimal(
                "",
                "method = \"oauth2\"\nauthorize_url = \"https://p.test/a\"\ntoken_url = \"https://p.test/t\"\nredirect_host = \"example.com\"",
            ),
            "unknown variant `example.com`",
        ),
        (
            minimal(
                "",
                "method = \"oauth2\"\nauthorize_url = \"https://p.test/a\"\ntoken_url = \"https://p.test/t\"\nredirect_port = 0",
            ),
            "auth[0].redirect_port: must be a port number",
        ),
        (minimal("", KEY), "p.toml:1: docs: required"),
    ];
    let mut failed = Vec::new();
    for (i, (text, want)) in cases.iter().enumerate() {
        let f = env.write_provider("p.toml", text);
        let out = env.run(&["providers", "validate", path_str(&f)]);
        if out.code != 1 || !out.stderr.contains(want) {
            failed.push(format!("case {i}: want {want:?} in {}", out.stderr.trim()));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn extends_builds_on_a_builtin_and_environments_pick_hosts() {
    let env = TestEnv::new();
    // A company's own Zendesk definition: the built-in with another check path.
    let f = env.write_provider(
        "zd.toml",
        "id = \"zendesk-eu\"\nextends = \"zendesk\"\ndisplay_name = \"Zendesk (EU)\"\n\n[check]\npath = \"/api/v2/users/me.json?eu=1\"\n",
    );
    env.run(&["providers", "validate", path_str(&f)]).ok();
    let shown = env.conn("providers show zendesk-eu --json").run();
    shown.ok();
    let p = shown.json();
    assert_eq!(p["check"]["path"], "/api/v2/users/me.json?eu=1");
    // Inherited: the input and both auth methods.
    assert_eq!(p["inputs"][0]["name"], "subdomain");
    assert_eq!(p["auth"].as_array().unwrap().len(), 2);
    assert_eq!(p["extends"], "zendesk");

    // --env sandbox takes the provider's sandbox hosts and tags the connection; list filters.
    let api = FakeApi::start(|_| (200, r#"{"id": "1", "email": "s@p.test"}"#.into()));
    let port = api.url.rsplit(':').next().unwrap().to_string();
    env.write_provider(
        "sb.toml",
        &format!("id = \"sb\"\ndisplay_name = \"SB\"\n\n[environments.production]\nhost = \"127.0.0.1:1\"\n[environments.sandbox]\nhost = \"127.0.0.1:{port}\"\n\n[[auth]]\n{KEY}\n\n[api]\nbase_url = \"http://${{host}}\"\n\n[check]\npath = \"/me\"\nidentity = {{ id = \"/id\", label = \"/email\" }}\n"),
    );
    let out = env
        .conn("new s1 --provider sb --env sandbox --secret-env K --json")
        .env("K", "k-123456")
        .run();
    out.ok();
    assert_eq!(out.json()["identity"]["label"], "s@p.test");
    assert_eq!(out.json()["identity"]["instance"], "127.0.0.1");
    env.conn("new p1 --provider sb --secret-env K --no-check")
        .env("K", "k-123456")
        .ok();
    let list = env.conn("list --env sandbox --json").run();
    let names: Vec<String> = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["s1"]);
    let out = env.conn("list").run();
    assert!(out.stdout.contains("s@p.test on 127.0.0.1"), "{out:?}");
}

#[test]
fn a_2xx_the_check_does_not_expect_is_an_error() {
    let env = TestEnv::new();
    let api = FakeApi::start(|_| (202, r#"{"id": "1"}"#.into()));
    env.write_provider(
        "p.toml",
        &format!(
            "{}expect_status = [200]\n",
            minimal("", KEY).replace("https://api.p.test", &api.url)
        ),
    );
    let out = env
        .conn("new x --provider p --secret-env K --json")
        .env("K", "k-123456")
        .run();
    out.code(1);
    assert!(
        out.stderr.contains("HTTP 202: the check expects [200]"),
        "{out:?}"
    );
}

#[test]
fn list_shows_methods_environments_and_what_is_unconfirmed() {
    let env = TestEnv::new();
    env.write_provider(
        "unsure.toml",
        "id = \"unsure\"\ndisplay_name = \"Unsure\"\ndocs = \"https://unsure.test/docs\"\n\n[[auth]]\nmethod = \"api_key\"\nname = \"X-Key\"\n\n[api]\nbase_url = \"https://api.unsure.test\"\n\n[check]\npath = \"/v9/me\"\n\n[unverified]\n\"check.path\" = \"the docs show no who-am-I endpoint\"\n",
    );
    let out = env.run(&["providers", "list"]);
    out.ok();
    let header = out.stdout.lines().next().unwrap();
    assert!(
        header.contains("AUTH") && header.contains("ENVIRONMENTS"),
        "{out:?}"
    );
    let row = |id: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("{id} not listed: {out:?}"))
            .to_string()
    };
    let square = row("square");
    assert!(square.contains("api_key,oauth2"), "{square}");
    assert!(square.contains("production,sandbox"), "{square}");
    assert!(row("github").contains(" production "), "{out:?}");
    assert!(row("unsure").contains("unconfirmed"), "{out:?}");

    let list = env.run(&["providers", "list", "--json"]).json();
    let get = |id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap()
            .clone()
    };
    let sq = get("square");
    assert_eq!(
        sq["environments"],
        serde_json::json!(["production", "sandbox"])
    );
    assert_eq!(sq["methods"], serde_json::json!(["api_key", "oauth2"]));
    assert_eq!(get("unsure")["verified"], false);
    assert_eq!(
        get("unsure")["unverified"],
        serde_json::json!(["check.path"])
    );
    assert_eq!(get("stripe")["verified"], true);

    let shown = env.run(&["providers", "show", "unsure"]);
    shown.ok();
    assert!(shown.stdout.contains("unconfirmed"), "{shown:?}");
    assert!(
        shown.stdout.contains("check.path = \"/v9/me\""),
        "{shown:?}"
    );
    assert!(
        shown.stdout.contains("the docs show no who-am-I endpoint"),
        "{shown:?}"
    );
    // (Every built-in names its source: catalog::tests::every_builtin_file_is_compiled_in.)
}

#[test]
fn a_method_offered_only_in_the_sandbox_is_refused_in_production_with_the_reason() {
    // Square takes an http://localhost redirect only for sandbox applications.
    let env = TestEnv::new();
    let out = env.run_env(
        &[
            "new",
            "sq",
            "--provider",
            "square",
            "--auth",
            "oauth2",
            "--env",
            "production",
            "--client-id",
            "c",
            "--client-secret-env",
            "CS",
        ],
        &[("CS", "s")],
    );
    out.code(2);
    assert!(out.stderr.contains("only with --env sandbox"), "{out:?}");
    assert!(out.stderr.contains("HTTPS redirect"), "{out:?}");
    assert!(out.stderr.contains("--auth api_key"), "{out:?}");
    assert!(env.connections().is_empty());
    let shown = env.run(&["providers", "show", "square"]);
    assert!(
        shown.stdout.contains("only with --env sandbox"),
        "{shown:?}"
    );
    assert!(
        shown
            .stdout
            .contains("redirect URI to register: http://localhost:8765/callback"),
        "{shown:?}"
    );
}

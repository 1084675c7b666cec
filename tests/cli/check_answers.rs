//! Every check refuses a 2xx that is not what it expects (the "connection tested
//! successfully" trap of a base URL that points at a web site), and the generic `http`
//! provider names the account without an identity pointer.

use crate::support::*;

/// A web site that answers every path with 200 and an HTML page, whatever the credentials.
fn web_site() -> FakeApi {
    FakeApi::start_with_headers(|_| {
        (
            200,
            vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
            "<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body>Hi</body></html>"
                .into(),
        )
    })
}

fn new_http(env: &TestEnv, base: &str, extra: &[&str]) -> Out {
    let set = format!("base_url={base}");
    let mut args = vec![
        "new",
        "web",
        "--provider",
        "http",
        "--auth",
        "api_key",
        "--set",
        &set,
        "--set",
        "check_path=/me",
        "--secret-env",
        "K",
    ];
    args.extend_from_slice(extra);
    env.run_env(&args, &[("K", "wrong-key-123")])
}

#[test]
fn a_200_html_page_is_not_ok_and_says_the_base_url_is_a_web_page() {
    let site = web_site();
    let env = TestEnv::new();
    // The wizard's check fails, so nothing is saved without a terminal to ask.
    let out = new_http(&env, &site.url, &["--json"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(env.connections().is_empty(), "{out:?}");
    assert!(!out.all().contains("wrong-key-123"));
    // Saved anyway, check says error (UNKNOWN) with the hint.
    new_http(&env, &site.url, &["--no-check"]).ok();
    let check = env.run(&["check", "web", "--json"]);
    check.code(3);
    let r = check.json()[0].clone();
    assert_eq!(r["status"], "error", "{r}");
    assert!(
        r["message"].as_str().unwrap().contains("an HTML page"),
        "{r}"
    );
    assert!(
        r["hint"]
            .as_str()
            .unwrap()
            .contains("the base URL probably points at a web page, not the API"),
        "{r}"
    );
}

#[test]
fn no_json_where_an_identity_pointer_is_configured_is_not_ok() {
    let api = FakeApi::start_with_headers(|_| {
        (
            200,
            vec![("Content-Type".into(), "text/plain".into())],
            "OK".into(),
        )
    });
    let env = TestEnv::new();
    new_http(
        &env,
        &api.url,
        &["--set", "identity_field=/email", "--no-check"],
    )
    .ok();
    let check = env.run(&["check", "web", "--json"]);
    check.code(3);
    let r = check.json()[0].clone();
    assert_eq!(r["status"], "error", "{r}");
    assert!(r["message"].as_str().unwrap().contains("not JSON"), "{r}");
    assert!(r["hint"].as_str().unwrap().contains("web page"), "{r}");
    // Without an identity pointer a plain 200 is fine.
    let env = TestEnv::new();
    new_http(&env, &api.url, &[]).ok();
}

#[test]
fn the_generic_http_provider_names_the_account_without_an_identity_field() {
    for (body, want) in [
        (
            r#"{"login":"octocat","email":"o@x.test","name":"Octo"}"#,
            "octocat",
        ),
        (r#"{"name":"Octo","email":"o@x.test"}"#, "o@x.test"),
        (r#"{"id":7,"username":"octo7","name":"Octo"}"#, "octo7"),
        (r#"{"id":7,"name":"Octo"}"#, "Octo"),
    ] {
        let api = FakeApi::start(move |_| (200, body.to_string()));
        let env = TestEnv::new();
        let out = new_http(&env, &api.url, &["--json"]);
        out.ok();
        assert_eq!(out.json()["identity"]["label"], want, "{body}: {out:?}");
    }
}

//! Every secret source alike (issue 19, item 3): a trailing CR/LF is dropped, other control
//! characters are refused naming the field, and a credential is never silently left out of a
//! request.

use serde_json::json;

use crate::support::*;

fn acme_env() -> (FakeApi, TestEnv) {
    let api = FakeApi::expecting_auth(
        "Bearer k-secret-1234",
        json!({"id": 5, "email": "bot@acme.test"}),
    )
    .may_go_unused();
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    (api, env)
}

const NEW_ENV: &[&str] = &[
    "new",
    "x",
    "--provider",
    "acme",
    "--auth",
    "api_key",
    "--secret-env",
    "K",
];

#[test]
fn a_crlf_env_file_value_is_trimmed_and_the_key_is_sent() {
    let (api, env) = acme_env();
    env.run_env(NEW_ENV, &[("K", "k-secret-1234\r")]).ok();
    env.run(&["check", "x"]).ok();
    let reqs = api.requests();
    assert!(reqs.len() >= 2);
    for r in reqs {
        assert_eq!(r.header("Authorization"), Some("Bearer k-secret-1234"));
    }
    assert_eq!(
        env.run(&["token", "x"]).ok().stdout.as_str(),
        "k-secret-1234\n"
    );
}

#[test]
fn control_characters_are_refused_from_every_source_naming_the_field() {
    let (api, env) = acme_env();
    let out = env.run_env(NEW_ENV, &[("K", "k-sec\x07ret")]);
    out.code(2);
    assert!(
        out.stderr.contains("value of K (--secret-env)")
            && out
                .stderr
                .contains("control character U+0007 at character 6"),
        "{out:?}"
    );
    assert!(!out.stderr.contains("k-sec"), "{out:?}");

    let out = env.run_stdin(
        &[
            "new",
            "x",
            "--provider",
            "acme",
            "--auth",
            "api_key",
            "--secret-stdin",
        ],
        "k-secret\r\n1234\n",
    );
    out.code(2);
    assert!(
        out.stderr.contains("secret read by --secret-stdin")
            && out.stderr.contains("carriage return"),
        "{out:?}"
    );

    // A client secret from a variable, refused before any sign-in starts.
    let out = env.run_env(
        &[
            "new",
            "gh",
            "--provider",
            "github",
            "--auth",
            "oauth2",
            "--client-id",
            "abc",
            "--client-secret-env",
            "CS",
            "--no-browser",
        ],
        &[("CS", "cs\tsecret")],
    );
    out.code(2);
    assert!(
        out.stderr.contains("value of CS (--client-secret-env)") && out.stderr.contains("a tab"),
        "{out:?}"
    );
    assert!(api.requests().is_empty());
    assert!(env.connections().is_empty());
}

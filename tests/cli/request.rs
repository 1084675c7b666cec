//! `conn request`: method, path, query, headers and each body source as the API received them,
//! output on a pipe and a terminal, exit codes, scrubbing, and the OAuth 401 refresh-retry.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::oauth2_fakes::{NEW, env_for};
use crate::support::*;

const KEY: &str = "key-REQUEST-SECRET-9876";

/// An API that answers by path, and a connection `k` to it.
fn api_env() -> (FakeApi, TestEnv) {
    let api = FakeApi::start_with_headers(|s| {
        let path = s.url.split('?').next().unwrap().to_string();
        let (status, body) = match path.as_str() {
            "/items" => (200, r#"{"items":[1,2]}"#.to_string()),
            "/echo" => (201, s.body.clone()),
            "/missing" => (404, r#"{"error":"not found"}"#.to_string()),
            "/boom" => (500, "oops".to_string()),
            "/denied" => (401, r#"{"error":"bad key"}"#.to_string()),
            // Some APIs echo what they were sent; that must not reach the output.
            "/leak" => (
                200,
                format!(
                    r#"{{"you_sent":"{}"}}"#,
                    s.header("Authorization").unwrap_or("")
                ),
            ),
            _ => (404, "{}".to_string()),
        };
        let echo = s.header("Authorization").unwrap_or("").to_string();
        (status, vec![("X-Echo-Auth".to_string(), echo)], body)
    });
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    add_acme(&env, "k", KEY);
    (api, env)
}

#[test]
fn method_path_query_and_headers_are_sent_and_the_body_comes_back_raw() {
    let (api, env) = api_env();
    let out = env.run(&[
        "request",
        "k",
        "/items",
        "--query",
        "a=1",
        "--query",
        "b=x y&z",
        "-H",
        "X-Trace: 7",
    ]);
    out.ok();
    // Piped: the bytes as they came, not re-formatted.
    assert_eq!(out.stdout, r#"{"items":[1,2]}"#);
    let r = &api.requests()[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.url, "/items?a=1&b=x+y%26z");
    assert_eq!(r.header("X-Trace"), Some("7"));
    assert_eq!(r.header("Accept"), Some("application/json"));
    assert_eq!(
        r.header("Authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    // An explicit method, lower case is fine.
    env.conn("request k delete /items").ok();
    assert_eq!(api.requests()[1].method, "DELETE");
}

#[test]
fn each_body_source_is_sent_as_given() {
    let (api, env) = api_env();
    // Literal JSON: POST by default, and JSON's content type.
    let out = env.run(&["request", "k", "/echo", "-d", r#"{"n":1}"#]);
    out.ok();
    assert_eq!(out.stdout, r#"{"n":1}"#);
    let r = &api.requests()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.body, r#"{"n":1}"#);
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    // @file, not JSON: no content type is made up; -H gives one.
    let file = env.dir.path().join("form.txt");
    std::fs::write(&file, "a=1&b=2").unwrap();
    let arg = format!("@{}", file.display());
    env.run(&[
        "request",
        "k",
        "PUT",
        "/echo",
        "--data",
        &arg,
        "-H",
        "Content-Type: application/x-www-form-urlencoded",
    ])
    .ok();
    let r = &api.requests()[1];
    assert_eq!((r.method.as_str(), r.body.as_str()), ("PUT", "a=1&b=2"));
    assert_eq!(
        r.header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    // @- reads standard input.
    let out = env
        .conn("request k PATCH /echo -d @-")
        .stdin("from stdin\n")
        .run();
    out.ok();
    let r = &api.requests()[2];
    assert_eq!(
        (r.method.as_str(), r.body.as_str()),
        ("PATCH", "from stdin\n")
    );
    assert_eq!(out.stdout, "from stdin\n");
    // A file that isn't there is conn's failure, before anything is sent.
    env.conn("request k /echo -d @/no/such/file").code(1);
    assert_eq!(api.requests().len(), 3);
}

#[test]
fn include_prints_status_and_headers_to_stderr() {
    let (_api, env) = api_env();
    let out = env.conn("request k -i /echo -d []").run();
    out.ok();
    assert!(out.stderr.starts_with("HTTP/1.1 201"), "{out:?}");
    assert!(
        out.stderr.contains("content-type: application/json"),
        "{out:?}"
    );
    assert_eq!(out.stdout, "[]");
}

#[test]
fn http_errors_set_the_exit_code_and_still_print_the_body() {
    let (_api, env) = api_env();
    let out = env.conn("request k /missing").run();
    out.code(4);
    assert_eq!(out.stdout, r#"{"error":"not found"}"#);
    env.conn("request k /boom").code(5);
    // An API key that is rejected is not retried: there is nothing to refresh.
    let (api, env) = api_env();
    env.conn("request k /denied").code(4);
    assert_eq!(api.requests().len(), 1);
}

#[test]
fn credentials_go_only_to_the_connections_api() {
    let (api, env) = api_env();
    let out = env.conn("request k https://elsewhere.example/items").run();
    out.code(2);
    assert!(
        out.stderr.contains("not under the connection's base URL"),
        "{out:?}"
    );
    env.run(&["request", "k", &format!("{}/items", api.url)])
        .ok();
    let out = env.run(&[
        "request",
        "k",
        "/items",
        "-H",
        "Authorization: Bearer other",
    ]);
    out.code(2);
    env.conn("request nope /items").code(1);
    assert_eq!(api.requests().len(), 1);
}

#[test]
fn secrets_are_scrubbed_from_the_output_and_the_verbose_log() {
    let (_api, env) = api_env();
    let out = env.conn("-v request k -i /leak --query x=1").run();
    out.ok();
    assert!(out.stdout.contains("Bearer (redacted)"), "{out:?}");
    assert!(
        out.stderr.contains("x-echo-auth: Bearer (redacted)"),
        "{out:?}"
    );
    assert!(out.stderr.contains("authorization: (redacted)"), "{out:?}");
    assert!(out.stderr.contains("/leak?x=1"), "{out:?}");
    assert!(!out.all().contains(KEY), "{out:?}");
    assert!(!out.all().contains("REQUEST-SECRET"), "{out:?}");
}

#[test]
fn a_key_in_the_query_string_is_scrubbed_from_the_log() {
    const QKEY: &str = "q+KEY/req=special&chars";
    let api = FakeApi::start(|_| (200, "{}".into()));
    let env = TestEnv::new();
    env.write_provider(
        "q.toml",
        &format!(
            "id = \"q\"\ndisplay_name = \"Q\"\n[[auth]]\nmethod = \"api_key\"\nplacement = \"query\"\nname = \"key\"\n[api]\nbase_url = \"{}\"\n[check]\npath = \"/me\"\n",
            api.url
        ),
    );
    env.conn("new q --provider q --secret-env K --no-check")
        .env("K", QKEY)
        .ok();
    let out = env.conn("-v request q /things").run();
    out.ok();
    let encoded: String = url::form_urlencoded::byte_serialize(QKEY.as_bytes()).collect();
    assert!(api.requests()[0].url.contains(&encoded), "the key was sent");
    assert!(out.stderr.contains("/things?key=(redacted)"), "{out:?}");
    assert!(
        !out.all().contains(&encoded) && !out.all().contains(QKEY),
        "{out:?}"
    );
}

/// A fake OAuth server + API: sign-in gives at-1/rt-1, refresh token rt-N gives at-(N+1) and
/// rt-(N+1) (rotation); `/data` accepts any access token but at-1, `/never` none.
fn oauth_api(refreshes: Arc<AtomicUsize>) -> FakeApi {
    FakeApi::start(move |s| {
        match s.url.split('?').next().unwrap() {
        "/token" => match s.form("grant_type").as_deref() {
            Some("authorization_code") => (
                200,
                r#"{"access_token":"at-1","refresh_token":"rt-1","token_type":"bearer","expires_in":3600}"#
                    .into(),
            ),
            Some("refresh_token") => {
                refreshes.fetch_add(1, Ordering::SeqCst);
                let n: u32 = s
                    .form("refresh_token")
                    .and_then(|t| t.strip_prefix("rt-").and_then(|n| n.parse().ok()))
                    .unwrap_or(0);
                (
                    200,
                    format!(
                        r#"{{"access_token":"at-{0}","refresh_token":"rt-{0}","token_type":"bearer","expires_in":3600}}"#,
                        n + 1
                    ),
                )
            }
            _ => (400, r#"{"error":"invalid_grant"}"#.into()),
        },
        "/me" => (200, r#"{"id":"u1","name":"fake-user"}"#.into()),
        "/data" if s.header("Authorization").is_some_and(|a| a != "Bearer at-1") => {
            (200, r#"{"ok":true}"#.into())
        }
        _ => (401, r#"{"error":"invalid_token"}"#.into()),
    }
    })
}

#[test]
fn an_oauth_401_is_retried_once_after_a_refresh() {
    let refreshes = Arc::new(AtomicUsize::new(0));
    let api = oauth_api(refreshes.clone());
    let env = env_for(&api, "");
    env.run_env(NEW, &[("CS", "s")]).ok();
    // at-1 has an hour left, so only the API's 401 says it is no good.
    let out = env.conn("-v request x /data").run();
    out.ok();
    assert_eq!(out.stdout, r#"{"ok":true}"#);
    let data: Vec<String> = api
        .requests()
        .iter()
        .filter(|r| r.url == "/data")
        .map(|r| r.header("Authorization").unwrap().to_string())
        .collect();
    assert_eq!(data, ["Bearer at-1", "Bearer at-2"]);
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
    // The rotated refresh token was saved with the new access token.
    let secrets = env.secrets_of("x");
    assert_eq!(secrets["refresh_token"], "rt-2");
    assert_eq!(secrets["access_token"], "at-2");
    assert!(
        !out.stderr.contains("at-2") && !out.stderr.contains("rt-2"),
        "{out:?}"
    );
    // The next request uses the new token straight away.
    env.conn("request x /data").ok();
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
    // A 401 that a fresh token doesn't cure is reported after one retry, not looped on.
    let before = api.requests().len();
    let out = env.conn("request x /never").run();
    out.code(4);
    assert_eq!(refreshes.load(Ordering::SeqCst), 2);
    let never = api.requests()[before..]
        .iter()
        .filter(|r| r.url == "/never")
        .count();
    assert_eq!(never, 2);
    assert_eq!(env.secrets_of("x")["refresh_token"], "rt-3");
}

#[test]
fn json_is_pretty_printed_on_a_terminal() {
    let (_api, env) = api_env();
    let mut c = env.cmd();
    c.args(["request", "k", "/items"])
        .env("TERM", "xterm")
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    let mut p = rexpect::session::spawn_command(c, Some(30_000)).unwrap();
    p.exp_string("{\r\n  \"items\": [\r\n    1,").unwrap();
    p.exp_eof().unwrap();
}

/// A body far over what conn reads whole arrives byte for byte, streamed, with the key the
/// API echoed replaced wherever it falls, across read and window boundaries too.
#[test]
fn a_large_body_is_streamed_intact_and_still_scrubbed() {
    // 6 MiB of varied printable text with the key at offsets that straddle the 64 KiB reads
    // and the 1 MiB limit of whole bodies.
    let mut body: Vec<u8> = (0..6 * 1024 * 1024u32)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789 \n"[(i * 7 % 38) as usize])
        .collect();
    let at = [
        10,
        65_536 - 5,
        1024 * 1024 - 3,
        1024 * 1024 + 65_536 * 3 - 11,
        6 * 1024 * 1024 - KEY.len(),
    ];
    for &i in &at {
        body[i..i + KEY.len()].copy_from_slice(KEY.as_bytes());
    }
    let body = String::from_utf8(body).unwrap();
    let served = body.clone();
    let api = FakeApi::start(move |_| (200, served.clone()));
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    add_acme(&env, "k", KEY);

    let out = env.run(&["request", "k", "/big"]);
    out.ok();
    assert!(!out.stdout.contains(KEY), "the key reached stdout");
    assert_eq!(out.stdout.matches("(redacted)").count(), at.len());
    assert_eq!(out.stdout, body.replace(KEY, "(redacted)"));
}

//! OAuth 1.0a end to end against a provider built on oauthlib's RFC 5849 endpoints
//! (tests/oauth1/server.py), with tests/oauth1/browser.py as the person at the browser. The
//! server's own signature, timestamp and nonce checks judge every request conn signs.

use std::io::{BufRead, Write};
use std::process::Stdio;

use crate::support::*;

fn env_for(server: &OAuth1Server, method: &str, mode: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.write_provider("t1.toml", &server.provider(method, false));
    env.extra_env.push(("BROWSER".into(), oauth1_browser_cmd()));
    env.extra_env
        .push(("CONN_TEST_BROWSER".into(), mode.into()));
    env
}

fn new_hmac(env: &TestEnv, name: &str, extra: &[&str]) -> Out {
    let mut args = vec![
        "new",
        name,
        "--provider",
        "t1",
        "--client-id",
        OAuth1Server::CONSUMER,
        "--client-secret-env",
        "CS",
        "--json",
    ];
    args.extend_from_slice(extra);
    if !extra.contains(&"--timeout") {
        args.extend_from_slice(&["--timeout", "20"]);
    }
    env.run_env(&args, &[("CS", OAuth1Server::CONSUMER_SECRET)])
}

#[test]
fn three_legged_sign_in_then_signed_check_and_token() {
    let server = OAuth1Server::start();
    let env = env_for(&server, "HMAC-SHA1", "approve");
    let out = new_hmac(&env, "trello", &[]);
    out.ok();
    let created = out.json();
    assert_eq!(created["check"]["status"], "ok", "{out:?}");
    assert_eq!(created["identity"]["label"], "alice");
    assert_eq!(created["identity"]["id"], "5abbe4b7ddc1b351ef961414");
    // The authorization URL carried the temporary token and the provider's extra parameters.
    assert!(
        out.stderr.contains("/1/OAuthAuthorizeToken?oauth_token=")
            && out.stderr.contains("&name=conn")
            && out.stderr.contains("&expiration=never"),
        "{out:?}"
    );

    let state = server.state();
    let callbacks = state["callbacks"].as_array().unwrap();
    assert_eq!(callbacks.len(), 1);
    assert!(
        callbacks[0]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"),
        "{state}"
    );
    assert_eq!(state["resource_ok"].as_array().unwrap().len(), 1);
    assert_eq!(state["resource_ok"][0]["signature_method"], "HMAC-SHA1");

    // Stored: the token credentials with the connection, the consumer secret once with the
    // client; nothing secret in connections.toml.
    let secrets = env.secrets_of("trello");
    assert!(secrets["oauth_token"].as_str().unwrap().len() >= 20);
    assert!(secrets["oauth_token_secret"].as_str().is_some());
    assert!(secrets.get("consumer_secret").is_none(), "{secrets}");
    let toml = env.read_connections();
    assert!(!toml.contains(OAuth1Server::CONSUMER_SECRET));
    assert!(!toml.contains(secrets["oauth_token_secret"].as_str().unwrap()));
    assert_eq!(
        env.connections()["trello"]["oauth"]["grant"].as_str(),
        Some("oauth1")
    );

    // Every later request is signed again, with a fresh nonce the server accepts.
    for _ in 0..2 {
        let out = env.conn("check trello --json").run();
        out.ok();
        assert_eq!(out.json()[0]["status"], "ok", "{out:?}");
    }
    assert_eq!(server.state()["resource_ok"].as_array().unwrap().len(), 3);
    let token = env.conn("token trello").run();
    token.ok();
    assert_eq!(
        token.stdout.trim(),
        secrets["oauth_token"].as_str().unwrap()
    );

    // A token the provider revoked is a credentials problem, not a clock or network one.
    server.control(serde_json::json!({"revoke": true}));
    let out = env.conn("check trello --json").run();
    out.code(2);
    assert_eq!(out.json()[0]["status"], "invalid_credentials");
}

#[test]
fn every_signature_method_is_accepted_by_the_server() {
    let server = OAuth1Server::start();
    for method in ["HMAC-SHA256", "PLAINTEXT", "RSA-SHA1"] {
        let env = env_for(&server, method, "approve");
        let out = if method == "RSA-SHA1" {
            env.run(&[
                "new",
                "t",
                "--provider",
                "t1",
                "--client-id",
                OAuth1Server::RSA_CONSUMER,
                "--private-key",
                path_str(&server.rsa_key),
                "--timeout",
                "20",
                "--json",
            ])
        } else {
            new_hmac(&env, "t", &[])
        };
        out.ok();
        assert_eq!(out.json()["check"]["status"], "ok", "{method}: {out:?}");
        env.conn("check t").ok();
        if method == "RSA-SHA1" {
            // The key's contents went to the secret store, not the path into the metadata.
            let toml = env.read_connections();
            assert!(!toml.contains("PRIVATE KEY"));
        }
    }
    let state = server.state();
    let used: Vec<&str> = state["resource_ok"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["signature_method"].as_str().unwrap())
        .collect();
    assert_eq!(
        used,
        [
            "HMAC-SHA256",
            "HMAC-SHA256",
            "PLAINTEXT",
            "PLAINTEXT",
            "RSA-SHA1",
            "RSA-SHA1"
        ]
    );
}

#[test]
fn a_private_key_that_is_not_pem_is_refused_before_signing_in() {
    let server = OAuth1Server::start();
    let env = env_for(&server, "RSA-SHA1", "approve");
    let bad = env.home().join("not-a-key.pem");
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(&bad, "hello").unwrap();
    let out = env.run(&[
        "new",
        "t",
        "--provider",
        "t1",
        "--client-id",
        OAuth1Server::RSA_CONSUMER,
        "--private-key",
        path_str(&bad),
    ]);
    out.code(1);
    assert!(out.stderr.contains("not a PEM RSA private key"), "{out:?}");
    assert!(server.state()["callbacks"].as_array().unwrap().is_empty());
}

#[test]
fn a_callback_with_a_forged_token_is_rejected_and_the_flow_goes_on() {
    let server = OAuth1Server::start();
    let mut env = env_for(&server, "HMAC-SHA1", "wrong-token");
    let log = env.home().join("browser.log");
    std::fs::create_dir_all(env.home()).unwrap();
    env.extra_env
        .push(("CONN_TEST_BROWSER_LOG".into(), path_str(&log).to_string()));
    let out = new_hmac(&env, "t", &[]);
    out.ok();
    let log = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert!(
        lines[0].starts_with("400 ") && lines[0].contains("forgedtoken"),
        "{log}"
    );
    assert!(
        lines[1].starts_with("404 ") && lines[1].contains("/favicon.ico"),
        "{log}"
    );
    assert!(lines[2].starts_with("200 "), "{log}");
    // The forged verifier never reached the provider.
    let presented = server.state()["verifiers_presented"].clone();
    assert_eq!(presented.as_array().unwrap().len(), 1, "{presented}");
    assert_ne!(presented[0], "forgedverifier0000000");
}

#[test]
fn a_denied_authorization_saves_nothing() {
    let server = OAuth1Server::start();
    let env = env_for(&server, "HMAC-SHA1", "deny");
    let out = new_hmac(&env, "t", &[]);
    out.code(1);
    assert!(out.stderr.contains("access_denied"), "{out:?}");
    assert!(!env.connections().contains_key("t"));
    assert_eq!(server.state()["access_tokens"], 0);
}

#[test]
fn a_sign_in_never_finished_times_out() {
    let server = OAuth1Server::start();
    let env = env_for(&server, "HMAC-SHA1", "ignore");
    let out = new_hmac(&env, "t", &["--timeout", "2"]);
    out.code(1);
    assert!(out.stderr.contains("within 2s"), "{out:?}");
    assert!(!env.connections().contains_key("t"));
}

#[test]
fn a_skewed_clock_is_shown_against_the_server_date() {
    let server = OAuth1Server::start();
    let env = env_for(&server, "HMAC-SHA1", "approve");
    // The provider's clock runs an hour ahead: oauthlib refuses the timestamp.
    server.control(serde_json::json!({"skew": 3600}));
    let out = new_hmac(&env, "t", &[]);
    out.code(1);
    assert!(out.stderr.contains("This computer's clock says"), "{out:?}");
    assert!(out.stderr.contains("1h behind the server"), "{out:?}");
    assert!(out.stderr.contains("timedatectl"), "{out:?}");
    assert!(!env.connections().contains_key("t"));

    server.control(serde_json::json!({"skew": 0}));
    new_hmac(&env, "t", &[]).ok();
    server.control(serde_json::json!({"skew": -7200}));
    let out = env.conn("check t --json").run();
    // A clock problem is not the credentials' fault: UNKNOWN, not CRITICAL.
    out.code(3);
    let r = &out.json()[0];
    assert_eq!(r["status"], "error", "{out:?}");
    let msg = r["message"].as_str().unwrap();
    assert!(msg.contains("2h ahead of the server"), "{msg}");
}

#[test]
fn oob_sign_in_takes_the_typed_verifier() {
    let server = OAuth1Server::start();
    let env = TestEnv::new();
    env.write_provider("t1.toml", &server.provider("HMAC-SHA1", true));
    let mut c = env.cmd();
    c.args([
        "new",
        "t",
        "--provider",
        "t1",
        "--client-id",
        OAuth1Server::CONSUMER,
        "--client-secret-env",
        "CS",
        "--no-browser",
        "--timeout",
        "20",
        "--json",
    ])
    .env("CS", OAuth1Server::CONSUMER_SECRET)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    // Read stderr on a thread for the whole run: conn must be able to keep writing to it.
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in stderr.lines().map_while(Result::ok) {
            if let Some(u) = line.trim().strip_prefix("http") {
                let _ = tx.send(format!("http{u}"));
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let url = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("conn showed no URL");
    // Out of band: no callback server, the provider shows the code.
    assert_eq!(server.state()["callbacks"][0], "oob");
    let verifier = std::process::Command::new("python3")
        .arg(format!(
            "{}/tests/oauth1/browser.py",
            env!("CARGO_MANIFEST_DIR")
        ))
        .arg(&url)
        .env("CONN_TEST_BROWSER", "oob")
        .output()
        .unwrap();
    let code = String::from_utf8(verifier.stdout.clone()).unwrap();
    assert!(code.trim().len() >= 20, "{code:?} {:?}", verifier.stderr);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", code.trim()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let err = reader.join().unwrap();
    assert!(out.status.success(), "{out:?} {err}");
    assert!(err.contains("verification code"), "{err}");
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["identity"]["label"], "alice");
}

#[test]
fn request_signs_query_form_body_and_non_ascii_and_exec_exports_the_parts() {
    let server = OAuth1Server::start();
    let env = env_for(&server, "HMAC-SHA1", "approve");
    new_hmac(&env, "trello", &[]).ok();

    let out = env.conn("request trello /members/me").run();
    out.ok();
    assert!(out.stdout.contains("\"alice\""), "{out:?}");

    // The signature covers the query, a form body with a repeated key and non-ASCII values;
    // oauthlib recomputes it from what it received.
    let out = env.run(&[
        "request",
        "trello",
        "POST",
        "/members/me",
        "--query",
        "filter=open cards",
        "-H",
        "Content-Type: application/x-www-form-urlencoded",
        "-d",
        "name=J%C3%BCrgen+%26+Zo%C3%AB&tag=a&tag=b",
    ]);
    out.ok();
    let state = server.state();
    let last = state["resource_ok"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["method"], "POST", "{state}");
    assert_eq!(last["body"], "name=J%C3%BCrgen+%26+Zo%C3%AB&tag=a&tag=b");
    assert!(
        last["query"].as_str().unwrap().contains("filter=open"),
        "{last}"
    );
    assert!(
        state["resource_rejected"].as_array().unwrap().is_empty(),
        "{state}"
    );

    // exec: no precomputed Authorization (each request needs its own signature); the parts a
    // script's OAuth 1.0a library signs with instead.
    let out = env.run(&[
        "exec",
        "trello",
        "--",
        "sh",
        "-c",
        "test -z \"$TRELLO_AUTHORIZATION\" && echo \"$TRELLO_CONSUMER_KEY $TRELLO_BASE_URL ${#TRELLO_TOKEN} ${#TRELLO_TOKEN_SECRET} ${#TRELLO_CONSUMER_SECRET}\"",
    ]);
    out.ok();
    let secrets = env.secrets_of("trello");
    assert_eq!(
        out.stdout.trim(),
        format!(
            "{} {}/1 {} {} {}",
            OAuth1Server::CONSUMER,
            server.base,
            secrets["oauth_token"].as_str().unwrap().len(),
            secrets["oauth_token_secret"].as_str().unwrap().len(),
            OAuth1Server::CONSUMER_SECRET.len()
        )
    );
}

#[test]
fn request_shows_a_skewed_clock_against_the_server_date() {
    let server = OAuth1Server::start();
    let env = env_for(&server, "HMAC-SHA1", "approve");
    new_hmac(&env, "t", &[]).ok();
    // The provider's clock runs an hour ahead: oauthlib refuses the timestamp.
    server.control(serde_json::json!({"skew": 3600}));
    let out = env.run(&["request", "t", "/members/me"]);
    // 401 keeps request's exit code for a 4xx, and the provider's answer still goes to stdout.
    out.code(4);
    assert!(out.stdout.contains("oauth_problem=Timestamp"), "{out:?}");
    assert!(out.stderr.contains("This computer's clock says"), "{out:?}");
    assert!(out.stderr.contains("the server's Date says"), "{out:?}");
    assert!(out.stderr.contains("1h behind the server"), "{out:?}");
    assert!(!out.stderr.contains("debug:"), "{out:?}");
    // -v adds what was sent and what came back.
    let out = env.run(&["-v", "request", "t", "/members/me"]);
    out.code(4);
    assert!(out.stderr.contains("1h behind the server"), "{out:?}");
    assert!(
        out.stderr
            .contains("oauth_timestamp was this computer's time"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("the server's Date header is"),
        "{out:?}"
    );
    // Other refusals say nothing about clocks.
    server.control(serde_json::json!({"skew": 0, "revoke": true}));
    let out = env.run(&["request", "t", "/members/me"]);
    out.code(4);
    assert!(!out.stderr.contains("clock"), "{out:?}");
}

/// The page the scripted browser was shown at the callback. conn may exit before the browser
/// has written it down, so it is waited for.
fn browser_page(path: &std::path::Path) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        match std::fs::read_to_string(path) {
            Ok(p) if !p.is_empty() => return p,
            _ if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            r => panic!("the browser wrote no page to {}: {r:?}", path.display()),
        }
    }
}

#[test]
fn each_documented_denial_form_ends_the_sign_in_at_once() {
    let server = OAuth1Server::start();
    for form in ["user_refused", "permission_denied", "denied"] {
        server.control(serde_json::json!({"deny_with": form}));
        let mut env = env_for(&server, "HMAC-SHA1", "deny");
        std::fs::create_dir_all(env.home()).unwrap();
        let page = env.home().join("page.html");
        env.extra_env
            .push(("CONN_TEST_BROWSER_PAGE".into(), path_str(&page).to_string()));
        let started = std::time::Instant::now();
        let out = new_hmac(&env, "t", &["--timeout", "30"]);
        out.code(1);
        // At once, not at the timeout.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "{form}: {out:?}"
        );
        assert!(
            out.stderr
                .contains("the sign-in was denied at the provider"),
            "{form}: {out:?}"
        );
        assert!(out.stderr.contains("nothing was saved"), "{form}: {out:?}");
        if form != "denied" {
            assert!(
                out.stderr.contains(&format!("oauth_problem={form}")),
                "{form}: {out:?}"
            );
        }
        assert!(!env.connections().contains_key("t"), "{form}");
        let page = browser_page(&page);
        assert!(page.contains("the sign-in was denied"), "{form}: {page}");
        assert!(!page.contains("mismatch"), "{form}: {page}");
    }
    assert_eq!(server.state()["access_tokens"], 0);

    // A refusal that names another sign-in's token is not this one's: refused like a forged
    // redirect, and the sign-in goes on waiting.
    server.control(serde_json::json!({"deny_with": "other-token"}));
    let mut env = env_for(&server, "HMAC-SHA1", "deny");
    std::fs::create_dir_all(env.home()).unwrap();
    let page = env.home().join("page.html");
    env.extra_env
        .push(("CONN_TEST_BROWSER_PAGE".into(), path_str(&page).to_string()));
    // Long enough for the scripted browser to reach the callback on a loaded machine; the
    // callback server is gone once conn gives up.
    let out = new_hmac(&env, "t", &["--timeout", "10"]);
    out.code(1);
    assert!(out.stderr.contains("within 10s"), "{out:?}");
    let page = browser_page(&page);
    assert!(page.contains("its oauth_token does not match"), "{page}");
    assert!(page.contains("still waiting"), "{page}");
}

//! A secret never appears in stdout, stderr, --json, -v logs or connections.toml.

use crate::support::*;

const KEY: &str = "sk_live_NEVER_PRINT_ME_4242";
const PASSWORD: &str = "pw-NEVER-PRINT-ME-7777";

#[test]
fn a_whole_session_never_prints_a_secret() {
    // A server that echoes the credentials it got back in its error message, as some do.
    let api = FakeApi::start(|s| {
        let auth = s.header("Authorization").unwrap_or("").to_string();
        if s.url.starts_with("/me") && auth == format!("Bearer {KEY}") {
            (200, r#"{"id": 5, "email": "me@acme.test"}"#.into())
        } else {
            // Echo the header, and for Basic auth the decoded "user:password" too.
            use base64::Engine;
            let decoded = auth
                .strip_prefix("Basic ")
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .map(|d| String::from_utf8_lossy(&d).to_string())
                .unwrap_or_default();
            (
                401,
                serde_json::json!({"message": format!("bad credentials: {auth} ({decoded})")})
                    .to_string(),
            )
        }
    });
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    let mut outputs = Vec::new();
    let mut run = |args: &[&str], stdin: Option<&str>, envs: &[(&str, &str)]| {
        let out = env.run_full(args, stdin, envs);
        outputs.push(format!("$ conn {}\n{}", args.join(" "), out.all()));
        out
    };
    run(
        &[
            "-v",
            "new",
            "k",
            "--provider",
            "acme",
            "--auth",
            "api_key",
            "--secret-env",
            "S",
            "--json",
        ],
        None,
        &[("S", KEY)],
    )
    .ok();
    run(
        &[
            "-v",
            "new",
            "b",
            "--provider",
            "acme",
            "--auth",
            "basic",
            "--username",
            "me@acme.test",
            "--secret-stdin",
            "--no-check",
        ],
        Some(PASSWORD),
        &[],
    )
    .ok();
    // A failing check in `new` prints the server's message: it must come back scrubbed.
    let failed = run(
        &[
            "-v",
            "new",
            "f",
            "--provider",
            "acme",
            "--auth",
            "basic",
            "--username",
            "x",
            "--secret-env",
            "S",
        ],
        None,
        &[("S", PASSWORD)],
    );
    failed.code(1);
    for args in [
        &["-v", "list"][..],
        &["list", "--json"],
        &["-v", "show", "k"],
        &["show", "k", "--json"],
        &["show", "b", "--json"],
        &["-v", "check"],
        &["check", "--json"],
        &["-v", "doctor"],
        &["doctor", "--json"],
        &["providers", "show", "acme", "--json"],
    ] {
        run(args, None, &[]);
    }
    let all = outputs.join("\n");
    assert!(all.contains("me@acme.test"), "the session did run: {all}");
    assert!(
        all.contains("(redacted)"),
        "the echoed secret was replaced: {all}"
    );
    for secret in [KEY, PASSWORD, "NEVER_PRINT", "NEVER-PRINT"] {
        assert!(!all.contains(secret), "{secret} leaked into output:\n{all}");
    }
    let toml = env.read_connections();
    for secret in [KEY, PASSWORD] {
        assert!(!toml.contains(secret), "{secret} in connections.toml");
    }
    // And the basic auth header (base64 of the password) is never printed either.
    use base64::Engine;
    let b64 =
        base64::engine::general_purpose::STANDARD.encode(format!("me@acme.test/token:{PASSWORD}"));
    assert!(!all.contains(&b64));
}

#[test]
fn a_query_string_key_echoed_back_encoded_is_redacted() {
    // A key with characters that change when percent-encoded.
    const QKEY: &str = "q+KEY/with=special&chars";
    let api = FakeApi::start(|s| {
        (
            403,
            serde_json::json!({"message": format!("forbidden for {}", s.url)}).to_string(),
        )
    });
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
    let out = env.conn("-v check q").run();
    out.code(2);
    let encoded: String = url::form_urlencoded::byte_serialize(QKEY.as_bytes()).collect();
    assert!(
        api.requests()[0].url.contains(&encoded),
        "the key did travel encoded"
    );
    assert!(
        out.stdout.contains("forbidden for /me?key=(redacted)"),
        "{out:?}"
    );
    assert!(
        !out.all().contains(&encoded) && !out.all().contains(QKEY),
        "{out:?}"
    );
    assert!(!env.read_connections().contains(&encoded));
}

#[test]
fn a_key_in_the_url_path_is_sent_there_and_redacted_everywhere() {
    // Telegram's placement: https://api.telegram.org/bot<token>/getMe. The fake echoes the path
    // it was asked for; conn must send the key there and never show it.
    const PKEY: &str = "7012345678:AAH-path key";
    let api = FakeApi::start(|s| {
        if s.url.starts_with("/bot7012345678:AAH-path%20key/getMe") {
            (
                401,
                serde_json::json!({"ok": false, "error_code": 401, "description": format!("Unauthorized: {}", s.url)}).to_string(),
            )
        } else {
            (404, r#"{"ok": false}"#.into())
        }
    });
    let env = TestEnv::new();
    env.write_provider(
        "tg.toml",
        &format!(
            "id = \"tg\"\ndisplay_name = \"TG\"\n[[auth]]\nmethod = \"api_key\"\nplacement = \"path\"\nprefix = \"bot\"\n[api]\nbase_url = \"{}\"\n[check]\npath = \"/getMe\"\nsuccess = {{ pointer = \"/ok\", equals = true }}\nerror = \"/description\"\n",
            api.url
        ),
    );
    env.run_env(
        &[
            "new",
            "tg",
            "--provider",
            "tg",
            "--secret-env",
            "K",
            "--no-check",
        ],
        &[("K", PKEY)],
    )
    .ok();
    let out = env.run(&["-v", "check", "tg"]);
    out.code(2);
    assert_eq!(api.requests()[0].url, "/bot7012345678:AAH-path%20key/getMe");
    assert!(
        out.stdout.contains("Unauthorized: /bot(redacted)/getMe"),
        "{out:?}"
    );
    let req = env.run(&["-v", "request", "tg", "/getMe"]);
    req.code(4);
    assert!(req.stdout.contains("(redacted)"), "{req:?}");
    for o in [&out, &req] {
        assert!(!o.all().contains("AAH-path"), "{o:?}");
    }
    assert!(!env.read_connections().contains("AAH-path"));
}

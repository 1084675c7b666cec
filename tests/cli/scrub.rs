//! Secrets echoed back re-encoded never reach the output. For every auth method (API key in a
//! header, the query or HTTP Basic; Basic; OAuth 2.0; OAuth 1.0a with each signature method),
//! with secrets full of reserved and non-ASCII characters, an API that echoes the request
//! (Authorization header, query, body) back in every encoding (tests/support/echo.py; for
//! OAuth 1.0a the oauthlib server's /1/echo) is called through `request` (text, JSON, `-i`,
//! `-v`), `check` (text, `--json`, `-v`) and `new`; no form of any known secret may appear in
//! stdout or stderr.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::*;

// Each has every character the issue names: `+&/%=~:`, quotes, a backslash, space and
// non-ASCII (2-, 3- and 4-byte UTF-8).
const API_KEY: &str = "ak+&/%=~:\"\\ é€😀-KEY-1";
const PASSWORD: &str = "pw +&/%=~:\"\\ é€😀 end";
const USER: &str = "me@acme.test";
const CLIENT_SECRET: &str = "cl+&/%=~:\"\\ é€😀 secret";
const ACCESS_TOKEN: &str = "at+&/%=~: é€😀 token/1";
// tests/oauth1/server.py's consumer whose secret needs encoding, and what it appends to the
// token secrets it issues to that consumer and the RSA one.
const RESERVED_CONSUMER: &str = "connreservedconsumer001";
const RESERVED_SECRET: &str = "cs4+Plain&Secret/Value%7E é€😀:=~";
const TOKEN_SECRET_SUFFIX: &str = "+&/%=~: é€";

/// tests/support/echo.py on 127.0.0.1.
struct Echo {
    base: String,
    child: std::process::Child,
}

impl Echo {
    fn start() -> Self {
        let mut child = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/echo.py"))
            .env("ECHO_ACCESS_TOKEN", ACCESS_TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 is installed by tests/run");
        let line = first_line(&mut child, Duration::from_secs(20)).expect("echo.py started");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        Echo {
            base: v["base"].as_str().unwrap().to_string(),
            child,
        }
    }

    fn provider(&self, auth: &str) -> String {
        format!(
            r#"id = "echo"
display_name = "Echo"
{auth}
[api]
base_url = "{}"
[check]
path = "/me"
"#,
            self.base
        )
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// RFC 3986 percent-encoding (what OAuth 1.0a uses): unreserved characters stay.
fn enc(s: &str, keep: &str, lower: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.as_bytes().contains(&b) {
            out.push(b as char);
        } else if lower {
            out.push_str(&format!("%{b:02x}"));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn form_enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn json_escaped(s: &str, ascii: bool, upper: bool) -> String {
    let mut out = String::new();
    for c in serde_json::to_string(s).unwrap().trim_matches('"').chars() {
        if ascii && !c.is_ascii() {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&if upper {
                    format!("\\u{u:04X}")
                } else {
                    format!("\\u{u:04x}")
                });
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Every form of `secret` an echo could show, computed here independently of conn.
fn forms(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_string()];
    for keep in ["", "/"] {
        for lower in [false, true] {
            let once = enc(secret, keep, lower);
            out.push(enc(&once, keep, lower));
            out.push(once);
        }
    }
    out.push(form_enc(secret));
    out.push(form_enc(&form_enc(secret)));
    for ascii in [false, true] {
        for upper in [false, true] {
            let j = json_escaped(secret, ascii, upper);
            out.push(j.replace('/', "\\/"));
            out.push(j);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The base64 forms of a Basic `user:password`, each also percent-encoded and JSON-escaped.
fn basic_forms(pair: &str) -> Vec<String> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    let mut out = Vec::new();
    for padded in [STANDARD.encode(pair), URL_SAFE.encode(pair)] {
        for b in [padded.clone(), padded.trim_end_matches('=').to_string()] {
            out.extend(forms(&b));
        }
    }
    out
}

/// Fails, naming the form, if any of `known` appears in `output`.
#[track_caller]
fn assert_no_leak(what: &str, output: &str, known: &[String]) {
    for k in known {
        assert!(
            !output.contains(k.as_str()),
            "{what}: the form {k:?} of a secret leaked:\n{output}"
        );
    }
}

/// Runs each of `runs` and checks that no secret leaked into its stdout or stderr; returns
/// everything printed, for the caller to check that the echo did happen.
fn run_all(env: &TestEnv, runs: &[&[&str]], known: &[String]) -> String {
    let mut all = String::new();
    for args in runs {
        let out = env.run(args);
        let text = format!("$ conn {}\n{}{}\n", args.join(" "), out.stdout, out.stderr);
        assert_no_leak(&args.join(" "), &text, known);
        all.push_str(&text);
    }
    all
}

/// The echo reached the output (so the test could have failed): its labels are there, with
/// `(redacted)` where the secret was.
#[track_caller]
fn assert_echoed(all: &str, label: &str) {
    for form in [
        "pct2-lower",
        "form2",
        "json-upper",
        "json-slash",
        "json-utf8",
    ] {
        let needle = format!("{label} {form}: ");
        assert!(all.contains(&needle), "no {needle:?} echoed:\n{all}");
    }
    assert!(all.matches("(redacted)").count() > 20, "{all}");
}

fn request_runs(name: &str) -> Vec<Vec<String>> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        s(&["request", name, "/echo"]),
        s(&["-v", "request", name, "/echo", "-i"]),
        s(&["-v", "request", name, "/echo.json", "-i"]),
        s(&[
            "request", name, "POST", "/echo", "--query", "q=1", "-d", "a=b",
        ]),
        s(&["check", name]),
        s(&["-v", "check", name, "--json"]),
    ]
}

fn run_strings(env: &TestEnv, runs: &[Vec<String>], known: &[String]) -> String {
    let runs: Vec<Vec<&str>> = runs
        .iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect();
    let refs: Vec<&[&str]> = runs.iter().map(Vec::as_slice).collect();
    run_all(env, &refs, known)
}

#[test]
fn api_keys_echoed_in_any_encoding_are_scrubbed_in_each_placement() {
    let echo = Echo::start();
    let mut known = forms(API_KEY);
    known.extend(basic_forms(&format!("api:{API_KEY}")));
    let cases = [
        (
            "header",
            "[[auth]]\nmethod = \"api_key\"\nname = \"X-Api-Key\"\nprefix = \"\"\n",
            "header-x-api-key",
        ),
        (
            "query",
            "[[auth]]\nmethod = \"api_key\"\nplacement = \"query\"\nname = \"key\"\n",
            "query-key",
        ),
        (
            "basic",
            "[[auth]]\nmethod = \"api_key\"\nplacement = \"basic\"\nname = \"Authorization\"\nbasic_user = \"api\"\n",
            "basic-pair",
        ),
    ];
    for (placement, auth, label) in cases {
        let env = TestEnv::new();
        env.write_provider("echo.toml", &echo.provider(auth));
        // `new` checks, the API refuses and echoes: the failure is printed scrubbed.
        let out = env.run_env(
            &[
                "-v",
                "new",
                "k",
                "--provider",
                "echo",
                "--secret-env",
                "K",
                "--json",
            ],
            &[("K", API_KEY)],
        );
        assert_no_leak("new", &out.all(), &known);
        env.run_env(
            &[
                "new",
                "k",
                "--provider",
                "echo",
                "--secret-env",
                "K",
                "--no-check",
            ],
            &[("K", API_KEY)],
        )
        .ok();
        let all = run_strings(&env, &request_runs("k"), &known);
        assert_echoed(&all, label);
        if placement == "basic" {
            assert!(
                all.contains("basic-pair b64-url-unpadded-pct: (redacted)"),
                "{all}"
            );
        }
    }
}

#[test]
fn a_basic_password_echoed_in_any_encoding_is_scrubbed() {
    let echo = Echo::start();
    let env = TestEnv::new();
    env.write_provider(
        "echo.toml",
        &echo.provider("[[auth]]\nmethod = \"basic\"\n"),
    );
    let mut known = forms(PASSWORD);
    known.extend(basic_forms(&format!("{USER}:{PASSWORD}")));
    let new = |extra: &[&str]| {
        let mut args = vec![
            "-v",
            "new",
            "b",
            "--provider",
            "echo",
            "--username",
            USER,
            "--secret-env",
            "P",
        ];
        args.extend_from_slice(extra);
        env.run_env(&args, &[("P", PASSWORD)])
    };
    assert_no_leak("new", &new(&["--json"]).all(), &known);
    new(&["--no-check"]).ok();
    let all = run_strings(&env, &request_runs("b"), &known);
    assert_echoed(&all, "basic-pair");
    assert!(
        all.contains("basic-pair b64-std-padded-json-slash: (redacted)"),
        "{all}"
    );
}

#[test]
fn oauth2_tokens_and_client_secrets_echoed_in_any_encoding_are_scrubbed() {
    let echo = Echo::start();
    let env = TestEnv::new();
    let auth = |token_path: &str| {
        format!(
            "[[auth]]\nmethod = \"oauth2\"\nauthorize_url = \"{0}/authorize\"\ntoken_url = \"{0}{token_path}\"\ngrants = [\"client_credentials\"]\n",
            echo.base
        )
    };
    let mut known = forms(ACCESS_TOKEN);
    known.extend(forms(CLIENT_SECRET));
    // RFC 6749 2.3.1: the client id and secret are form-encoded before Basic.
    known.extend(basic_forms(&format!("cid:{}", form_enc(CLIENT_SECRET))));
    known.extend(basic_forms(&format!("cid:{CLIENT_SECRET}")));
    let new = |name: &str| {
        env.run_env(
            &[
                "-v",
                "new",
                name,
                "--provider",
                "echo",
                "--grant",
                "client_credentials",
                "--client-id",
                "cid",
                "--client-secret-env",
                "CS",
                "--no-check",
            ],
            &[("CS", CLIENT_SECRET)],
        )
    };
    // A token endpoint that refuses and echoes what it was sent in its error_description.
    env.write_provider("echo.toml", &echo.provider(&auth("/token-echo")));
    let out = new("refused");
    out.code(1);
    assert_no_leak("new (token endpoint error)", &out.all(), &known);
    assert!(out.stderr.contains("invalid_client"), "{out:?}");
    assert!(out.stderr.contains("(redacted)"), "{out:?}");

    env.write_provider("echo.toml", &echo.provider(&auth("/token")));
    new("o").ok();
    let all = run_strings(&env, &request_runs("o"), &known);
    assert_echoed(&all, "authorization");

    // reauth against the refusing, echoing token endpoint: its error is scrubbed too.
    env.write_provider("echo.toml", &echo.provider(&auth("/token-echo")));
    let out = env.run(&["-v", "reauth", "o", "--yes"]);
    out.code(1);
    assert_no_leak("reauth (token endpoint error)", &out.all(), &known);
    assert!(out.stderr.contains("invalid_client"), "{out:?}");
    assert!(out.stderr.contains("(redacted)"), "{out:?}");
}

/// An OAuth 1.0a connection through tests/oauth1/server.py with secrets that need encoding.
fn oauth1_env(server: &OAuth1Server, method: &str) -> (TestEnv, Vec<String>) {
    let mut env = TestEnv::new();
    env.write_provider("t1.toml", &server.provider(method, false));
    env.extra_env.push(("BROWSER".into(), oauth1_browser_cmd()));
    env.extra_env
        .push(("CONN_TEST_BROWSER".into(), "approve".into()));
    let out = if method == "RSA-SHA1" {
        env.run(&[
            "-v",
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
        env.run_env(
            &[
                "-v",
                "new",
                "t",
                "--provider",
                "t1",
                "--client-id",
                RESERVED_CONSUMER,
                "--client-secret-env",
                "CS",
                "--timeout",
                "20",
                "--json",
            ],
            &[("CS", RESERVED_SECRET)],
        )
    };
    out.ok();
    let secrets = env.secrets_of("t");
    let token = secrets["oauth_token"].as_str().unwrap().to_string();
    let token_secret = secrets["oauth_token_secret"].as_str().unwrap().to_string();
    assert!(
        token_secret.ends_with(TOKEN_SECRET_SUFFIX),
        "{token_secret}"
    );
    let mut known = forms(&token);
    known.extend(forms(&token_secret));
    if method != "RSA-SHA1" {
        known.extend(forms(RESERVED_SECRET));
        // The PLAINTEXT signature (RFC 5849 3.4.4), sent percent-encoded once more.
        known.extend(forms(&format!(
            "{}&{}",
            enc(RESERVED_SECRET, "", false),
            enc(&token_secret, "", false)
        )));
    }
    assert_no_leak("new", &out.all(), &known);
    (env, known)
}

#[test]
fn oauth1_secrets_echoed_in_any_encoding_are_scrubbed_for_each_signature_method() {
    let server = OAuth1Server::start();
    for method in ["HMAC-SHA1", "HMAC-SHA256", "PLAINTEXT", "RSA-SHA1"] {
        let (env, known) = oauth1_env(&server, method);
        let all = run_strings(&env, &request_runs("t"), &known);
        // oauthlib accepted every signature made with these secrets.
        assert!(all.contains("valid: True"), "{method}: {all}");
        assert!(!all.contains("valid: False"), "{method}: {all}");
        assert!(all.contains("\"valid\": true"), "{method}: {all}");
        assert_echoed(&all, "oauth-oauth_token");
        // The API also echoed the secrets it knows.
        assert_echoed(&all, "server-token-secret");
        if method == "PLAINTEXT" {
            assert_echoed(&all, "oauth-oauth_signature");
            assert!(
                all.contains("authorization pct2-lower: ") && all.contains("(redacted)"),
                "{all}"
            );
        }
    }
}

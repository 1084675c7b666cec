//! OAuth 2.0 cases a real server won't easily produce, against small local fakes.

use std::io::{BufRead, Read, Write};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::*;

type TokenFn = dyn Fn(&Seen) -> (u16, String) + Send + Sync;

/// A fake authorization server + API: `/token` answers with `token`, `/me` with an identity
/// for any bearer token, `/device` with a device code whose URL uses the `verification_url`
/// spelling.
pub fn fake_as(token: impl Fn(&Seen) -> (u16, String) + Send + Sync + 'static) -> FakeApi {
    let token: Arc<TokenFn> = Arc::new(token);
    FakeApi::start(move |s| {
        match s.url.split('?').next().unwrap() {
        "/token" => token(s),
        "/me" if s.header("Authorization").is_some_and(|a| a.starts_with("Bearer ")) => {
            (200, r#"{"id": "u1", "name": "fake-user"}"#.into())
        }
        "/device" => (
            200,
            r#"{"device_code":"dc-1","user_code":"WDJB-MJHT","verification_url":"https://fake.example/device","expires_in":60,"interval":1}"#.into(),
        ),
        _ => (404, "{}".into()),
    }
    })
}

pub fn provider(url: &str, extra: &str) -> String {
    format!(
        r#"id = "fake"
display_name = "Fake OAuth"
[[auth]]
method = "oauth2"
authorize_url = "{url}/authorize"
token_url = "{url}/token"
device_url = "{url}/device"
grants = ["authorization_code", "device_code"]
scopes = ["read"]
{extra}
[api]
base_url = "{url}"
[check]
path = "/me"
identity = {{ id = "/id", label = "/name" }}
"#
    )
}

pub fn env_for(api: &FakeApi, extra: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.write_provider("fake.toml", &provider(&api.url, extra));
    let browser = format!(
        "python3 {}/tests/support/fake_browser.py",
        env!("CARGO_MANIFEST_DIR")
    );
    env.extra_env.push(("BROWSER".into(), browser));
    env
}

pub const NEW: &[&str] = &[
    "new",
    "x",
    "--provider",
    "fake",
    "--client-id",
    "cid",
    "--client-secret-env",
    "CS",
];

fn good_token(s: &Seen) -> (u16, String) {
    match s.form("grant_type").as_deref() {
        Some("authorization_code") if s.form("code").as_deref() == Some("good") => (
            200,
            r#"{"access_token":"at-1","refresh_token":"rt-1","token_type":"bearer","expires_in":3600,"scope":"read"}"#.into(),
        ),
        _ => (400, r#"{"error":"invalid_grant"}"#.into()),
    }
}

#[test]
fn token_endpoint_failures_are_explained_and_save_nothing() {
    let cases: &[(u16, &str, &str)] = &[
        (500, "internal error", "HTTP 500"),
        (
            200,
            "<html><body>Login</body></html>",
            "an HTML page (HTTP 200, application/json)",
        ),
        (200, "{not json", "malformed JSON"),
        (
            200,
            r#"{"error":"bad_verification_code","error_description":"The code passed is incorrect"}"#,
            "bad_verification_code: The code passed is incorrect",
        ),
        (
            200,
            r#"{"token_type":"bearer"}"#,
            "answer (HTTP 200, application/json) has no access_token",
        ),
    ];
    for (status, body, expect) in cases {
        let (status, body) = (*status, body.to_string());
        let api = fake_as(move |_| (status, body.clone()));
        let env = env_for(&api, "");
        let out = env.run_env(NEW, &[("CS", "client-secret-1")]);
        out.code(1);
        assert!(out.stderr.contains(expect), "{expect}: {out:?}");
        assert!(env.connections().is_empty());
        assert!(!out.all().contains("client-secret-1"));
    }
}

#[test]
fn code_exchange_sends_pkce_verifier_and_client_auth() {
    let api = fake_as(good_token);
    let env = env_for(&api, "");
    env.run_env(NEW, &[("CS", "s3cret")]).ok();
    let token_req = api
        .requests()
        .into_iter()
        .find(|r| r.url == "/token")
        .unwrap();
    let verifier = token_req.form("code_verifier").unwrap();
    assert!(verifier.len() >= 43, "{verifier}");
    assert!(
        token_req
            .form("redirect_uri")
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode("cid:s3cret");
    assert_eq!(
        token_req.header("Authorization"),
        Some(format!("Basic {basic}").as_str())
    );
}

#[test]
fn a_wrong_state_or_stray_request_does_not_end_the_flow() {
    let api = fake_as(good_token);
    let env = env_for(&api, "");
    let log = env.dir.path().join("browser.log");
    let out = env.run_env(
        NEW,
        &[
            ("CS", "s"),
            ("FAKE_BROWSER_MODE", "wrong-state"),
            ("FAKE_BROWSER_LOG", path_str(&log)),
        ],
    );
    out.ok();
    let lines = std::fs::read_to_string(&log).unwrap();
    let statuses: Vec<&str> = lines
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(statuses, ["400", "404", "200"], "{lines}");
    // The code from the request with the wrong state was never exchanged.
    assert!(
        api.requests()
            .iter()
            .all(|r| r.form("code").as_deref() != Some("evil"))
    );
}

#[test]
fn a_refresh_without_a_new_refresh_token_keeps_the_old_one() {
    let api = fake_as(|s| {
        match s.form("grant_type").as_deref() {
        Some("authorization_code") => (
            200,
            r#"{"access_token":"at-1","refresh_token":"rt-keep","token_type":"bearer","expires_in":1}"#.into(),
        ),
        Some("refresh_token") if s.form("refresh_token").as_deref() == Some("rt-keep") => (
            200,
            r#"{"access_token":"at-2","token_type":"bearer","expires_in":3600}"#.into(),
        ),
        _ => (400, r#"{"error":"invalid_grant"}"#.into()),
    }
    });
    let env = env_for(&api, "");
    env.run_env(NEW, &[("CS", "s")]).ok();
    let tok = env.conn("token x").run();
    tok.ok();
    assert_eq!(tok.stdout, "at-2\n");
    let secrets = env.secrets_of("x");
    assert_eq!(secrets["refresh_token"], "rt-keep");
    assert_eq!(secrets["access_token"], "at-2");
}

#[test]
fn a_check_that_refreshes_saves_the_new_tokens_and_records_the_refresh() {
    let api = fake_as(|s| {
        match s.form("grant_type").as_deref() {
        Some("authorization_code") => (
            200,
            r#"{"access_token":"at-1","refresh_token":"rt-1","token_type":"bearer","expires_in":1}"#.into(),
        ),
        Some("refresh_token") if s.form("refresh_token").as_deref() == Some("rt-1") => (
            200,
            r#"{"access_token":"at-2","refresh_token":"rt-2","token_type":"bearer","expires_in":3600,"scope":"read write"}"#.into(),
        ),
        _ => (400, r#"{"error":"invalid_grant"}"#.into()),
    }
    });
    let env = env_for(&api, "");
    env.run_env(NEW, &[("CS", "s")]).ok();
    assert!(env.learned("x")["refreshed_at"].is_null());
    let out = env.run(&["check", "x", "--json"]);
    out.ok();
    let secrets = env.secrets_of("x");
    assert_eq!(secrets["refresh_token"], "rt-2");
    assert_eq!(secrets["access_token"], "at-2");
    // The refresh is recorded as state; connections.toml keeps only the settings.
    let learned = env.learned("x");
    assert!(learned["refreshed_at"].as_str().is_some(), "{learned}");
    assert_eq!(
        learned["granted_scopes"].as_array().unwrap().len(),
        2,
        "{learned}"
    );
    assert!(
        env.connections()["x"]["oauth"]
            .get("refreshed_at")
            .is_none()
    );
    assert_eq!(
        api.requests()
            .iter()
            .filter(|r| r.form("grant_type").as_deref() == Some("refresh_token"))
            .count(),
        1
    );
}

#[test]
fn refresh_trouble_at_the_server_is_unreachable_not_needs_reauth() {
    let api = fake_as(|s| {
        match s.form("grant_type").as_deref() {
        Some("authorization_code") => (
            200,
            r#"{"access_token":"at-1","refresh_token":"rt-1","token_type":"bearer","expires_in":1}"#.into(),
        ),
        _ => (503, "<html>maintenance</html>".into()),
    }
    });
    let env = env_for(&api, "");
    env.run_env(NEW, &[("CS", "s")]).ok();
    let before = env.secrets_of("x");
    // Expired: a still-valid access token would stay in use (tests/cli/field.rs).
    std::thread::sleep(Duration::from_millis(1100));
    let out = env.conn("check x --json").run();
    out.code(3);
    let r = out.json()[0].clone();
    assert_eq!(r["status"], "unreachable", "{r}");
    assert!(r["message"].as_str().unwrap().contains("HTTP 503"), "{r}");
    assert_eq!(env.secrets_of("x"), before, "tokens unchanged");
}

#[test]
fn device_flow_slows_down_when_told() {
    let polls = Arc::new(AtomicUsize::new(0));
    let p2 = polls.clone();
    let api = fake_as(move |s| {
        if s.form("grant_type").as_deref() != Some("urn:ietf:params:oauth:grant-type:device_code") {
            return (400, r#"{"error":"unsupported_grant_type"}"#.into());
        }
        match p2.fetch_add(1, Ordering::SeqCst) {
            0 => (400, r#"{"error":"slow_down"}"#.into()),
            _ => (
                200,
                r#"{"access_token":"at-d","token_type":"bearer","expires_in":3600}"#.into(),
            ),
        }
    });
    let env = env_for(&api, "");
    let out = env.run_env(
        &[
            "new",
            "d",
            "--provider",
            "fake",
            "--device",
            "--client-id",
            "cid",
            "--no-browser",
        ],
        &[],
    );
    out.ok();
    assert!(
        out.stderr.contains("https://fake.example/device"),
        "{out:?}"
    );
    assert!(out.stderr.contains("WDJB-MJHT"), "{out:?}");
    let times: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.url == "/token")
        .map(|r| r.at)
        .collect();
    assert_eq!(times.len(), 2);
    let gap = times[1] - times[0];
    assert!(
        gap >= Duration::from_millis(5900),
        "slow_down must add 5 s to the 1 s interval: {gap:?}"
    );
}

#[test]
fn no_browser_accepts_the_redirect_url_pasted_back() {
    let api = fake_as(good_token);
    let env = env_for(&api, "");
    let marker = env.dir.path().join("browser-was-run");
    let mut c = env.cmd();
    c.args(NEW)
        .arg("--no-browser")
        .env("CS", "s")
        .env("BROWSER", format!("touch {}", marker.display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut auth_url = None;
    for line in stderr.by_ref().lines() {
        let line = line.unwrap();
        if line.trim().starts_with(&format!("{}/authorize?", api.url)) {
            auth_url = Some(line.trim().to_string());
            break;
        }
    }
    let auth_url = url::Url::parse(&auth_url.expect("the URL was printed")).unwrap();
    let q: std::collections::HashMap<_, _> = auth_url.query_pairs().into_owned().collect();
    // The person signs in elsewhere; the browser there fails to reach 127.0.0.1 and they
    // copy the address bar back.
    writeln!(stdin, "not a url").unwrap();
    writeln!(
        stdin,
        "{}?code=good&state={}",
        q["redirect_uri"], q["state"]
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "{rest}");
    assert!(env.connections().contains_key("x"));
    assert!(!marker.exists(), "--no-browser must not start a browser");
}

#[test]
fn fixed_port_is_used_for_the_redirect_uri() {
    let api = fake_as(good_token);
    let env = env_for(&api, "");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut args = NEW.to_vec();
    let p = port.to_string();
    args.extend(["--port", p.as_str()]);
    env.run_env(&args, &[("CS", "s")]).ok();
    let token_req = api
        .requests()
        .into_iter()
        .find(|r| r.url == "/token")
        .unwrap();
    assert_eq!(
        token_req.form("redirect_uri").unwrap(),
        format!("http://127.0.0.1:{port}/callback")
    );
}

#[test]
fn missing_required_scopes_are_insufficient_permissions() {
    let api = fake_as(good_token);
    let env = env_for(&api, r#"required_scopes = ["admin"]"#);
    let out = env.run_env(NEW, &[("CS", "s")]);
    out.code(1);
    assert!(out.stderr.contains("insufficient_permissions"), "{out:?}");
    assert!(out.stderr.contains("admin"), "{out:?}");
    env.run_env(&[NEW, &["--no-check"]].concat(), &[("CS", "s")])
        .ok();
    let check = env.conn("check x --json").run();
    check.code(2);
    assert_eq!(check.json()[0]["status"], "insufficient_permissions");
    assert!(
        check.json()[0]["hint"]
            .as_str()
            .unwrap()
            .contains("--scopes admin")
    );
}

#[test]
fn a_failed_revocation_is_a_warning_and_the_connection_is_still_removed() {
    let api = fake_as(good_token);
    let env = env_for(&api, &format!("revocation_url = \"{}/revoke\"", api.url));
    env.run_env(NEW, &[("CS", "s")]).ok();
    let out = env.conn("rm x --yes").run();
    out.ok();
    assert!(out.stderr.contains("could not revoke"), "{out:?}");
    assert!(out.stderr.contains("HTTP 404"), "{out:?}");
    assert!(env.connections().is_empty());
    // The revocation request carried the refresh token and the client's credentials.
    let r = api
        .requests()
        .into_iter()
        .find(|r| r.url == "/revoke")
        .unwrap();
    assert_eq!(r.form("token").as_deref(), Some("rt-1"));
    assert_eq!(r.form("token_type_hint").as_deref(), Some("refresh_token"));
    assert!(r.header("Authorization").unwrap().starts_with("Basic "));
}

#[test]
fn the_sign_in_sends_the_one_redirect_uri_that_providers_show_says_to_register() {
    // A provider that registers `localhost` with a fixed port: `providers show` names one URI,
    // and the authorization and token requests carry exactly that one.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let api = fake_as(good_token);
    let env = env_for(
        &api,
        &format!("redirect_host = \"localhost\"\nredirect_port = {port}\n"),
    );
    let want = format!("http://localhost:{port}/callback");
    let shown = env.run(&["providers", "show", "fake"]);
    shown.ok();
    let lines: Vec<&str> = shown
        .stdout
        .lines()
        .filter(|l| l.contains("redirect URI to register"))
        .collect();
    assert_eq!(lines.len(), 1, "{shown:?}");
    assert!(lines[0].trim_end().ends_with(&want), "{shown:?}");
    env.run_env(NEW, &[("CS", "s3cret")]).ok();
    let token_req = api
        .requests()
        .into_iter()
        .find(|r| r.url == "/token")
        .unwrap();
    assert_eq!(
        token_req.form("redirect_uri").as_deref(),
        Some(want.as_str())
    );
}

/// One raw GET to the loopback callback, as a browser would send it: (status, body).
fn get(url: &str) -> (u16, String) {
    let u = url::Url::parse(url).unwrap();
    let mut s = std::net::TcpStream::connect((u.host_str().unwrap(), u.port().unwrap())).unwrap();
    let target = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    };
    write!(s, "GET {target} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap();
    (status, answer)
}

#[test]
fn no_browser_paste_is_answered_and_a_wrong_one_keeps_waiting() {
    let api = fake_as(good_token);
    let env = env_for(&api, "");
    let mut c = env.cmd();
    c.args(NEW)
        .args(["--no-browser", "--timeout", "60"])
        .env("CS", "s")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Every stderr line, as it comes, so each answer can be waited for.
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for l in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let mut seen = String::new();
    let mut until = |want: &str| -> String {
        loop {
            let l = lines
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("no {want:?} in: {seen}"));
            seen.push_str(&l);
            seen.push('\n');
            if l.contains(want) {
                return l;
            }
        }
    };
    let auth_url = until(&format!("{}/authorize?", api.url));
    let auth_url = url::Url::parse(auth_url.trim()).unwrap();
    let q: std::collections::HashMap<_, _> = auth_url.query_pairs().into_owned().collect();
    let (back, state) = (q["redirect_uri"].clone(), q["state"].clone());

    writeln!(stdin, "not a url").unwrap();
    until("That is not a URL");
    writeln!(stdin, "{back}?code=good&state=someone-elses").unwrap();
    let l = until("conn did not take that URL");
    assert!(l.contains("another sign-in"), "{l}");
    assert!(l.contains("Still waiting"), "{l}");
    writeln!(stdin, "{back}?state={state}").unwrap();
    let l = until("conn did not take that URL");
    assert!(l.contains("neither code nor an error"), "{l}");
    writeln!(stdin, "{back}?error=access_denied&state={state}").unwrap();
    let l = until("conn did not take that URL");
    assert!(l.contains("denied"), "{l}");
    assert!(!l.contains("nothing was saved"), "{l}");

    // The browser that reaches the callback with another sign-in's answer is told the truth:
    // conn is still waiting.
    let (status, page) = get(&format!("{back}?code=good&state=someone-elses"));
    assert_eq!(status, 400);
    assert!(page.contains("still waiting"), "{page}");
    assert!(!page.contains("Start again"), "{page}");

    writeln!(stdin, "{back}?code=good&state={state}").unwrap();
    until("Got it, finishing sign-in");
    let status = child.wait().unwrap();
    assert!(status.success(), "{seen}");
    assert!(env.connections().contains_key("x"));
}

//! The field corpus (tests/field/*.toml, each a real provider's token or error answer with
//! its source) through the binary: every case through sign-in and through refresh against a
//! fake token endpoint, asserting what conn stores and prints, as tests/field/README.md says.
//! No token value from a body may appear in any output or in connections.toml.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::support::*;

#[derive(Debug, Clone)]
struct Case {
    file: String,
    flow: String,
    status: u16,
    content_type: String,
    body: String,
    headers: Vec<(String, String)>,
    outcome: String,
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
    scopes: Option<Vec<String>>,
    token_path: Option<String>,
}

fn cases() -> Vec<Case> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/field");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let doc: toml::Table = toml::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            let resp = doc["response"].as_table().unwrap();
            let expect = doc["expect"].as_table().unwrap();
            let s =
                |t: &toml::Table, k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_string);
            assert!(
                s(&doc, "source").is_some_and(|u| u.starts_with("https://")),
                "{p:?} cites no source"
            );
            Case {
                file: p.file_name().unwrap().to_string_lossy().into_owned(),
                flow: s(&doc, "flow").unwrap(),
                status: resp["status"].as_integer().unwrap() as u16,
                content_type: s(resp, "content_type").unwrap(),
                body: s(resp, "body").unwrap(),
                headers: resp
                    .get("headers")
                    .and_then(|h| h.as_table())
                    .map(|h| {
                        h.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                            .collect()
                    })
                    .unwrap_or_default(),
                outcome: s(expect, "outcome").unwrap(),
                access_token: s(expect, "access_token"),
                refresh_token: s(expect, "refresh_token"),
                expires_in: expect
                    .get("expires_in")
                    .and_then(|v| v.as_integer())
                    .map(|n| n as u64),
                scopes: expect
                    .get("scopes")
                    .and_then(|v| v.as_array())
                    .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect()),
                token_path: s(expect, "token_path"),
            }
        })
        .collect()
}

/// The seed tokens of a refresh run, and how long the seeded access token lives.
const SEED_AT: &str = "at-SEED";
const SEED_RT: &str = "rt-SEED";

/// A fake authorization server + API for one case: the code exchange answers with the case
/// (sign-in runs) or with the seed tokens (refresh runs); a refresh answers with the case.
/// `/me` accepts the seed token and the case's token only.
struct Fake {
    api: FakeApi,
    /// Sign-in runs: the code exchange answers with the case.
    seed_ttl: Arc<AtomicU64>,
    refreshes: Arc<Mutex<Vec<String>>>,
}

fn fake(case: &Case, sign_in_with_case: bool) -> Fake {
    let c = case.clone();
    let seed_ttl = Arc::new(AtomicU64::new(30));
    let refreshes = Arc::new(Mutex::new(Vec::new()));
    let (ttl, refs) = (seed_ttl.clone(), refreshes.clone());
    let api = FakeApi::start_with_headers(move |s| {
        let path = s.url.split('?').next().unwrap();
        let case_answer = || {
            let mut h = vec![("Content-Type".to_string(), c.content_type.clone())];
            h.extend(c.headers.clone());
            (c.status, h, c.body.clone())
        };
        match path {
            "/token" => match s.form("grant_type").as_deref() {
                Some("authorization_code") if sign_in_with_case => case_answer(),
                Some("authorization_code") => (
                    200,
                    Vec::new(),
                    format!(
                        r#"{{"access_token":"{SEED_AT}","refresh_token":"{SEED_RT}","token_type":"Bearer","expires_in":{}}}"#,
                        ttl.load(Ordering::SeqCst)
                    ),
                ),
                Some("refresh_token") => {
                    refs.lock()
                        .unwrap()
                        .push(s.form("refresh_token").unwrap_or_default());
                    case_answer()
                }
                _ => (
                    400,
                    Vec::new(),
                    r#"{"error":"unsupported_grant_type"}"#.into(),
                ),
            },
            "/me" => {
                let auth = s.header("Authorization").unwrap_or("");
                let good = [Some(SEED_AT.to_string()), c.access_token.clone()]
                    .into_iter()
                    .flatten()
                    .any(|t| auth == format!("Bearer {t}"));
                if good {
                    (200, Vec::new(), r#"{"id":"u1","name":"field-user"}"#.into())
                } else {
                    (401, Vec::new(), r#"{"message":"bad token"}"#.into())
                }
            }
            _ => (404, Vec::new(), "{}".into()),
        }
    });
    Fake {
        api,
        seed_ttl,
        refreshes,
    }
}

fn env_for(case: &Case, f: &Fake) -> TestEnv {
    let extra = case
        .token_path
        .as_ref()
        .map(|p| format!("token_path = \"{p}\""))
        .unwrap_or_default();
    let mut env = TestEnv::new();
    env.write_provider(
        "fake.toml",
        &crate::oauth2_fakes::provider(&f.api.url, &extra),
    );
    env.extra_env.push((
        "BROWSER".into(),
        format!(
            "python3 {}/tests/support/fake_browser.py",
            env!("CARGO_MANIFEST_DIR")
        ),
    ));
    env
}

/// No token value of any case or seed in `out`, except `allowed` (what `conn token` prints).
#[track_caller]
fn no_tokens(case: &Case, what: &str, text: &str, allowed: Option<&str>) {
    let text = match allowed {
        Some(a) => text.replace(a, ""),
        None => text.to_string(),
    };
    for marker in ["-FIELD-", "-SEED"] {
        assert!(
            !text.contains(marker),
            "{}: {what} shows a token ({marker}): {text}",
            case.file
        );
    }
}

fn main_type(ct: &str) -> &str {
    ct.split(';').next().unwrap().trim()
}

fn sign_in(case: &Case) {
    let f = fake(case, true);
    let env = env_for(case, &f);
    let out = env.run_env(crate::oauth2_fakes::NEW, &[("CS", "client-secret-1")]);
    let ctx = format!("{} sign-in: {out:?}", case.file);
    no_tokens(case, "sign-in", &out.all(), None);
    assert!(!out.all().contains("client-secret-1"), "{ctx}");
    no_tokens(case, "connections.toml", &env.read_connections(), None);
    if case.outcome != "ok" {
        assert_ne!(out.code, 0, "{ctx}");
        assert!(env.connections().is_empty(), "nothing is stored: {ctx}");
        assert!(!out.stderr.contains("no token fields"), "{ctx}");
        match case.outcome.as_str() {
            "error" => {
                let code = error_code(case);
                assert!(out.stderr.contains(&code), "names {code}: {ctx}");
            }
            "invalid_client" => {
                assert!(
                    out.stderr
                        .contains("rejected the OAuth client's credentials"),
                    "{ctx}"
                );
                assert!(out.stderr.contains("--client-secret-stdin"), "{ctx}");
            }
            "unreachable" => {
                let shown = format!("HTTP {}, {}", case.status, main_type(&case.content_type));
                assert!(out.stderr.contains(&shown), "names {shown}: {ctx}");
            }
            o => panic!("{}: outcome {o} at sign-in", case.file),
        }
        return;
    }
    out.ok();
    let secrets = env.secrets_of("x");
    assert_eq!(
        secrets["access_token"].as_str(),
        case.access_token.as_deref(),
        "{ctx}"
    );
    assert_eq!(
        secrets["refresh_token"].as_str(),
        case.refresh_token.as_deref(),
        "{ctx}"
    );
    let oauth = env.connections()["x"]["oauth"].clone();
    if let Some(want) = &case.scopes {
        let mut got: Vec<String> = oauth
            .get("scopes")
            .and_then(|s| s.as_array())
            .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        let mut want = want.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{ctx}");
    }
    let expires_at = secrets["expires_at"]
        .as_str()
        .map(|t| t.parse::<u64>().unwrap());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    match case.expires_in {
        Some(e) => {
            let at = expires_at.unwrap_or_else(|| panic!("expiry recorded: {ctx}"));
            assert!(at.abs_diff(now + e) <= 60, "{at} vs now+{e}: {ctx}");
        }
        // Unknown, or from expires_at: never in the past.
        None => assert!(expires_at.is_none_or(|at| at > now + 60), "{ctx}"),
    }
    // Right after sign-in the token is handed out as it is: no refresh, never "expired".
    let tok = env.run(&["token", "x"]);
    tok.ok();
    let at = case.access_token.as_deref().unwrap();
    assert_eq!(tok.stdout.trim(), at, "{ctx}");
    no_tokens(case, "token's stderr", &tok.stderr, None);
    assert!(f.refreshes.lock().unwrap().is_empty(), "no refresh: {ctx}");
    // The check request carried the token as a Bearer token (the fake accepts only that).
    let me = f
        .api
        .requests()
        .into_iter()
        .rfind(|r| r.url == "/me")
        .unwrap();
    assert_eq!(
        me.header("Authorization"),
        Some(format!("Bearer {at}").as_str())
    );
}

const COMMANDS: &[&str] = &["check", "token", "exec", "request"];

fn run_command(env: &TestEnv, cmd: &str, want: Option<&str>) -> Out {
    match cmd {
        "check" => env.run(&["check", "x", "--json"]),
        "token" => env.run(&["token", "x"]),
        "exec" => env.run_env(
            &["exec", "x", "--", "sh", "-c", r#"[ "$X_TOKEN" = "$WANT" ]"#],
            &[("WANT", want.unwrap_or("-"))],
        ),
        "request" => env.run(&["request", "x", "/me"]),
        _ => unreachable!(),
    }
}

/// A connection signed in with the seed tokens; `valid`: the seed access token still has
/// 30 s to live (due for refresh, still usable), else it has expired.
fn seeded(case: &Case, valid: bool) -> (Fake, TestEnv) {
    let f = fake(case, false);
    f.seed_ttl
        .store(if valid { 30 } else { 1 }, Ordering::SeqCst);
    let env = env_for(case, &f);
    env.run_env(crate::oauth2_fakes::NEW, &[("CS", "client-secret-1")])
        .ok();
    if !valid {
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    (f, env)
}

fn refresh(case: &Case) {
    for cmd in COMMANDS {
        let (f, env) = seeded(case, false);
        let out = run_command(&env, cmd, case.access_token.as_deref());
        let ctx = format!("{} refresh by {cmd}: {out:?}", case.file);
        let printed = (*cmd == "token").then_some(out.stdout.trim());
        no_tokens(case, cmd, &out.all(), printed.filter(|_| out.code == 0));
        no_tokens(case, "connections.toml", &env.read_connections(), None);
        let refreshes = f.refreshes.lock().unwrap().clone();
        assert!(!refreshes.is_empty(), "a refresh was sent: {ctx}");
        assert!(refreshes.iter().all(|r| r == SEED_RT), "{ctx}");
        let secrets = env.secrets_of("x");
        match case.outcome.as_str() {
            "ok" => {
                out.ok();
                if *cmd == "token" {
                    assert_eq!(out.stdout.trim(), case.access_token.as_deref().unwrap());
                }
                assert_eq!(
                    secrets["access_token"].as_str(),
                    case.access_token.as_deref()
                );
                let rt = case.refresh_token.as_deref().unwrap_or(SEED_RT);
                assert_eq!(secrets["refresh_token"].as_str(), Some(rt), "{ctx}");
                assert_eq!(refreshes.len(), 1, "one refresh: {ctx}");
            }
            other => {
                assert_ne!(out.code, 0, "{ctx}");
                assert!(!out.all().contains("could not read the secrets"), "{ctx}");
                assert_eq!(secrets["refresh_token"], SEED_RT, "kept: {ctx}");
                failure_agrees(case, cmd, other, &out, &ctx);
            }
        }
    }
    if case.outcome == "ok" {
        return;
    }
    // Again with the seed access token still valid.
    for cmd in COMMANDS {
        let (_f, env) = seeded(case, true);
        let out = run_command(&env, cmd, Some(SEED_AT));
        let ctx = format!(
            "{} refresh (token still valid) by {cmd}: {out:?}",
            case.file
        );
        let printed = (*cmd == "token").then_some(out.stdout.trim());
        no_tokens(case, cmd, &out.all(), printed.filter(|_| out.code == 0));
        assert_eq!(env.secrets_of("x")["refresh_token"], SEED_RT, "kept: {ctx}");
        if case.outcome == "unreachable" {
            // Transient: the still-valid token stays in use.
            out.ok();
            if *cmd == "token" {
                assert_eq!(out.stdout.trim(), SEED_AT, "{ctx}");
            }
        } else {
            assert_ne!(out.code, 0, "{ctx}");
            failure_agrees(case, cmd, &case.outcome, &out, &ctx);
        }
    }
}

/// What every command says about a failed refresh, by outcome.
#[track_caller]
fn failure_agrees(case: &Case, cmd: &str, outcome: &str, out: &Out, ctx: &str) {
    let text = if cmd == "check" {
        let r = out.json()[0].clone();
        let want = match outcome {
            "needs_reauth" => "needs_reauth",
            "invalid_client" => "invalid_credentials",
            "unreachable" => "unreachable",
            _ => "error",
        };
        assert_eq!(r["status"], want, "{ctx}");
        let code = match want {
            "unreachable" | "error" => 3,
            _ => 2,
        };
        out.code(code);
        format!("{} {}", r["message"], r["hint"])
    } else {
        out.stderr.clone()
    };
    match outcome {
        "needs_reauth" => assert!(text.contains("conn reauth x"), "{ctx}"),
        "invalid_client" => {
            assert!(
                text.contains("rejected the OAuth client's credentials"),
                "{ctx}"
            );
            assert!(
                text.contains("conn reauth x --client-secret-stdin"),
                "{ctx}"
            );
        }
        "unreachable" => {
            let shown = format!("HTTP {}, {}", case.status, main_type(&case.content_type));
            assert!(text.contains(&shown), "names {shown}: {ctx}");
        }
        _ => {
            let code = error_code(case);
            assert!(text.contains(&code), "names {code}: {ctx}");
        }
    }
}

/// The provider's error code in the case's body, JSON or form-encoded.
fn error_code(case: &Case) -> String {
    match serde_json::from_str::<serde_json::Value>(&case.body) {
        Ok(v) => v["error"].as_str().unwrap().to_string(),
        Err(_) => url::form_urlencoded::parse(case.body.trim().as_bytes())
            .find(|(k, _)| k == "error")
            .map(|(_, v)| v.into_owned())
            .unwrap(),
    }
}

/// Runs `f` over the cases, three at a time (each waits on conn processes, not the CPU).
fn each(pick: impl Fn(&Case) -> bool, f: fn(&Case)) {
    let cases: Vec<Case> = cases().into_iter().filter(|c| pick(c)).collect();
    assert!(!cases.is_empty());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(c) = cases.get(i) else { break };
                    if let Err(e) = std::panic::catch_unwind(|| f(c)) {
                        let msg = e
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        failures.lock().unwrap().push(format!("{}: {msg}", c.file));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Sign-in: flow code or both, and refresh cases that carry a token (one reader reads both).
#[test]
fn every_field_case_through_sign_in() {
    each(|c| c.flow != "refresh" || c.outcome == "ok", sign_in);
}

/// Refresh: flow refresh or both, and code cases that carry a token; errors about the
/// authorization code are sign-in only.
#[test]
fn every_field_case_through_refresh_by_every_command() {
    each(|c| c.flow != "code" || c.outcome == "ok", refresh);
}

#[test]
fn the_corpus_has_at_least_25_cited_cases() {
    assert!(cases().len() >= 25);
}

//! `conn check` as a monitoring job: concurrency, per-host politeness, retries, the deadline,
//! Prometheus output, and concurrent processes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::*;

/// A fake that takes `delay` per request and records the most requests it saw at once.
fn slow_api(delay: Duration) -> (FakeApi, Arc<AtomicUsize>) {
    let now = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let (n, m) = (now.clone(), max.clone());
    let api = FakeApi::start(move |_| {
        let cur = n.fetch_add(1, Ordering::SeqCst) + 1;
        m.fetch_max(cur, Ordering::SeqCst);
        std::thread::sleep(delay);
        n.fetch_sub(1, Ordering::SeqCst);
        (200, json!({"id": 1, "email": "x@acme.test"}).to_string())
    });
    (api, max)
}

#[test]
fn checks_run_concurrently_but_never_flood_one_host() {
    let (api, max) = slow_api(Duration::from_millis(300));
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    for i in 0..12 {
        add_acme(&env, &format!("c{i:02}"), "k");
    }
    let out = env.conn("check --per-host 3 --concurrency 12 --json").run();
    out.ok();
    assert_eq!(out.json().as_array().unwrap().len(), 12);
    // Exactly 3 in flight at the peak: concurrent (more than one), never more than the limit.
    // Wall time is the benchmark's business (bench/), not a test's: it flakes on a loaded host.
    assert_eq!(max.load(Ordering::SeqCst), 3, "the per-host limit");
    // Results come back in name order.
    let names: Vec<String> = out
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[test]
fn rate_limits_are_retried_after_retry_after() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let api = FakeApi::start(move |_| {
        if h.fetch_add(1, Ordering::SeqCst) == 0 {
            (429, "{}".into())
        } else {
            (200, json!({"id": 2, "email": "r@acme.test"}).to_string())
        }
    });
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    add_acme(&env, "r", "k");
    env.conn("check r").ok();
    let reqs = api.requests();
    assert_eq!(reqs.len(), 2);
    let gap = reqs[1].at.max(reqs[0].at) - reqs[1].at.min(reqs[0].at);
    assert!(
        gap >= Duration::from_millis(950),
        "Retry-After: 1 was honoured: {gap:?}"
    );
}

#[test]
fn the_deadline_bounds_the_run() {
    let (api, _) = slow_api(Duration::from_millis(1500));
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    for i in 0..6 {
        add_acme(&env, &format!("d{i}"), "k");
    }
    let start = Instant::now();
    let out = env.conn("check --per-host 1 --deadline 2 --json").run();
    let took = start.elapsed();
    out.code(3);
    let rows = out.json();
    let late: Vec<_> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "unreachable")
        .collect();
    assert!(!late.is_empty(), "{rows}");
    assert!(
        late.iter()
            .any(|r| r["message"].as_str().unwrap().contains("deadline")),
        "{rows}"
    );
    assert!(took < Duration::from_secs(6), "{took:?}");
}

#[test]
fn prometheus_output_parses_with_the_reference_parser() {
    let api = FakeApi::start(|s| match s.header("Authorization") {
        Some("Bearer good") => (200, json!({"id": 1, "email": "p@acme.test"}).to_string()),
        _ => (401, "{}".into()),
    });
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    add_acme(&env, "good", "good");
    add_acme(&env, "bad", "bad");
    let out = env.conn("check --format prometheus").run();
    // Metrics written: 0, whatever they say (the statuses are in them).
    out.code(0);
    let parsed = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, json\n\
             from prometheus_client.parser import text_string_to_metric_families as p\n\
             out = {}\n\
             for fam in p(sys.stdin.read()):\n\
             \x20   for s in fam.samples:\n\
             \x20       out.setdefault(s.name, []).append([s.labels, s.value])\n\
             print(json.dumps(out))\n",
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(out.stdout.as_bytes())?;
            c.wait_with_output()
        })
        .expect("python3 with prometheus-client (installed by tests/run)");
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    let m: serde_json::Value = serde_json::from_slice(&parsed.stdout).unwrap();
    let ok = m["conn_check_ok"].as_array().unwrap();
    let find = |name: &str| {
        ok.iter().find(|s| s[0]["name"] == name).unwrap()[1]
            .as_f64()
            .unwrap()
    };
    assert_eq!(find("good"), 1.0);
    assert_eq!(find("bad"), 0.0);
    let statuses = m["conn_check_status"].as_array().unwrap();
    let bad = statuses
        .iter()
        .find(|s| s[0]["name"] == "bad" && s[1].as_f64() == Some(1.0))
        .unwrap();
    assert_eq!(bad[0]["status"], "invalid_credentials");
    assert!(m["conn_check_duration_seconds"].as_array().unwrap().len() == 2);
    let last = m["conn_check_last_success_timestamp_seconds"]
        .as_array()
        .unwrap();
    assert_eq!(last.len(), 1, "only the good one ever succeeded");
}

#[test]
fn concurrent_check_new_and_rm_lose_nothing() {
    let (api, _) = slow_api(Duration::from_millis(50));
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    for i in 0..10 {
        add_acme(&env, &format!("old{i}"), "k");
    }
    let mut children = Vec::new();
    for i in 0..10 {
        let mut c = env.cmd();
        c.args([
            "new",
            &format!("new{i}"),
            "--provider",
            "acme",
            "--auth",
            "api_key",
            "--secret-env",
            "K",
            "--no-check",
        ])
        .env("K", "k");
        children.push(c);
        let mut r = env.cmd();
        r.args(["rm", &format!("old{i}"), "--yes"]);
        children.push(r);
        if i % 3 == 0 {
            let mut k = env.cmd();
            k.args(["check", "--quiet"]);
            children.push(k);
        }
    }
    let running: Vec<_> = children
        .into_iter()
        .map(|mut c| {
            c.stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in running {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.code().unwrap() <= 2,
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let conns = env.connections();
    for i in 0..10 {
        assert!(conns.contains_key(&format!("new{i}")), "new{i} lost");
        assert!(!conns.contains_key(&format!("old{i}")), "old{i} came back");
    }
    assert_eq!(conns.len(), 10);
    env.conn("check").ok();
}

#[test]
fn slack_style_ok_false_answers_are_classified() {
    let api = FakeApi::start(|s| {
        assert_eq!(s.method, "POST");
        let key = s
            .header("Authorization")
            .unwrap_or("")
            .trim_start_matches("Bearer ")
            .to_string();
        let body = match key.as_str() {
            "xoxb-good" => json!({"ok": true, "user_id": "U1", "user": "bot"}),
            "xoxb-revoked" => json!({"ok": false, "error": "token_revoked"}),
            "xoxb-narrow" => json!({"ok": false, "error": "missing_scope"}),
            _ => json!({"ok": false, "error": "ratelimited_weird"}),
        };
        (200, body.to_string())
    });
    let env = TestEnv::new();
    // The built-in Slack definition, pointed at the fake.
    let builtin = include_str!("../../src/catalog/builtin/slack.toml");
    env.write_provider(
        "slack.toml",
        &builtin.replace("https://slack.com/api", &api.url),
    );
    for (name, key) in [
        ("good", "xoxb-good"),
        ("revoked", "xoxb-revoked"),
        ("narrow", "xoxb-narrow"),
        ("odd", "xoxb-odd"),
    ] {
        env.run_env(
            &[
                "new",
                name,
                "--provider",
                "slack",
                "--auth",
                "api_key",
                "--secret-env",
                "K",
                "--no-check",
            ],
            &[("K", key)],
        )
        .ok();
    }
    let out = env.conn("check --json").run();
    out.code(2);
    let by: std::collections::HashMap<String, serde_json::Value> = out
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_string(), r.clone()))
        .collect();
    assert_eq!(by["good"]["status"], "ok");
    assert_eq!(by["good"]["identity"]["label"], "bot");
    assert_eq!(by["revoked"]["status"], "invalid_credentials");
    assert!(
        by["revoked"]["message"]
            .as_str()
            .unwrap()
            .contains("token_revoked")
    );
    assert_eq!(by["narrow"]["status"], "insufficient_permissions");
    assert_eq!(by["odd"]["status"], "error");
}

#[test]
fn a_key_that_expires_soon_is_a_warning() {
    let soon = humantime::format_rfc3339_seconds(
        std::time::SystemTime::now() + Duration::from_secs(3 * 86_400),
    )
    .to_string()
    .replace('T', " ")
    .replace('Z', " UTC");
    let api = FakeApi::start_with_headers(move |_| {
        (
            200,
            vec![(
                "github-authentication-token-expiration".to_string(),
                soon.clone(),
            )],
            json!({"id": 5, "login": "octo"}).to_string(),
        )
    });
    let env = TestEnv::new();
    let builtin = include_str!("../../src/catalog/builtin/github.toml");
    env.write_provider(
        "github.toml",
        &builtin.replace("https://api.github.com", &api.url),
    );
    env.conn("new gh --provider github --auth api_key --secret-env K --no-check")
        .env("K", "ghp_x")
        .ok();
    let out = env.conn("check gh --json").run();
    out.code(1);
    let r = out.json()[0].clone();
    assert_eq!(r["status"], "expiring", "{r}");
    assert!(r["expires_at"].as_str().unwrap().ends_with('Z'));
    assert!(r["hint"].as_str().unwrap().contains("conn reauth gh"));
    // Outside the warning window it is simply OK.
    env.conn("check gh --warn-expiring 1d").ok();
}

#[test]
fn a_hung_host_delays_only_its_own_connections() {
    // A host that accepts connections and never answers.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_url = format!("http://{}", hung.local_addr().unwrap());
    let held = Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for s in hung.incoming().flatten() {
            keep.lock().unwrap().push(s);
        }
    });
    let (api, _) = slow_api(Duration::from_millis(50));
    let env = TestEnv::new();
    env.write_provider("acme.toml", &acme_provider(&api.url));
    env.write_provider(
        "hung.toml",
        &acme_provider(&hung_url).replace("id = \"acme\"", "id = \"hung\""),
    );
    // The hung host's connections come first in name order, where workers used to start.
    for i in 0..8 {
        env.run_env(
            &[
                "new",
                &format!("a{i}"),
                "--provider",
                "hung",
                "--auth",
                "api_key",
                "--secret-env",
                "K",
                "--no-check",
            ],
            &[("K", "k")],
        )
        .ok();
    }
    for i in 0..30 {
        add_acme(&env, &format!("h{i:02}"), "k");
    }
    let out = env.run(&[
        "check",
        "--concurrency",
        "4",
        "--per-host",
        "2",
        "--deadline",
        "4",
        "--json",
    ]);
    out.code(3);
    let rows = out.json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 38);
    for r in rows {
        let name = r["name"].as_str().unwrap();
        if name.starts_with('h') {
            assert_eq!(r["status"], "ok", "a healthy host's connection: {r}");
        } else {
            assert_eq!(r["status"], "unreachable", "{r}");
        }
    }
    assert!(
        !held.lock().unwrap().is_empty(),
        "the hung host was reached"
    );
}

/// `--concurrency` counts requests in flight, a refresh's token request included: a run works
/// on a few more connections than that at once (so decrypting and saving overlap the others'
/// requests), and the fake must still never see more than the limit at once.
#[test]
fn concurrency_counts_token_refreshes_as_requests() {
    let now = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let refreshes = Arc::new(AtomicUsize::new(0));
    let slow = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (n, m, r, sl) = (now.clone(), max.clone(), refreshes.clone(), slow.clone());
    let api = FakeApi::start(move |s| {
        let timed = sl.load(Ordering::SeqCst);
        if timed {
            let cur = n.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(cur, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(150));
            n.fetch_sub(1, Ordering::SeqCst);
        }
        match (s.url.split('?').next().unwrap(), s.form("grant_type").as_deref()) {
            // Every token expires at once, so each check starts with a refresh.
            ("/token", Some("authorization_code")) => (
                200,
                r#"{"access_token":"at-0","refresh_token":"rt-0","token_type":"bearer","expires_in":1}"#.into(),
            ),
            ("/token", Some("refresh_token")) => {
                let k = r.fetch_add(1, Ordering::SeqCst) + 1;
                (
                    200,
                    format!(r#"{{"access_token":"at-{k}","refresh_token":"rt-{k}","token_type":"bearer","expires_in":3600}}"#),
                )
            }
            ("/me", _) => (200, r#"{"id": "u1", "name": "fake-user"}"#.into()),
            _ => (404, "{}".into()),
        }
    });
    let env = crate::oauth2_fakes::env_for(&api, "");
    for i in 0..8 {
        let name = format!("x{i}");
        let mut args = crate::oauth2_fakes::NEW.to_vec();
        args[1] = &name;
        env.run_env(&args, &[("CS", "s")]).ok();
    }
    slow.store(true, Ordering::SeqCst);
    let out = env.conn("check --concurrency 3 --per-host 50 --json").run();
    out.ok();
    let rows = out.json();
    assert_eq!(rows.as_array().unwrap().len(), 8, "{out:?}");
    assert_eq!(
        refreshes.load(Ordering::SeqCst),
        8,
        "each check refreshed first"
    );
    // 16 requests of 150 ms: concurrent, and never more than 3 at once, token requests counted.
    assert_eq!(max.load(Ordering::SeqCst), 3, "{out:?}");
}

//! Contract tests for the built-in catalog. For every built-in provider, each case of
//! tests/contracts/<id>.toml runs `conn new` non-interactively with every https URL sent to a
//! local fake (CONN_TEST_ORIGIN, which keeps the original host as the first path segment). The
//! fake plays the provider: it answers sign-in steps, then the check with the fixture's identity
//! document. The test then asserts the request shapes the definition implies (hosts, paths,
//! credential placement, OAuth parameters) and the identity conn extracted.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::Value;

use crate::support::*;

const KEY: &str = "ck_contract_key_0123456789";
const USER: &str = "jane@example.com";
const ACCESS: &str = "at-contract-0123456789";
const CLIENT_SECRET: &str = "cs-contract-0123456789";
const OAUTH1_TOKEN: &str = "acctoken0123456789";
const REFRESH: &str = "rt-contract-0123456789";
const ACCESS_REFRESHED: &str = "at-contract-refreshed-0123456789";
const REFRESH_ROTATED: &str = "rt-contract-rotated-0123456789";

/// Providers with no fixed hosts to pin down; tested elsewhere.
const NO_CONTRACT: &[(&str, &str)] = &[(
    "oauth2",
    "generic: found by issuer discovery, tested end to end against oidc-provider (tests/cli/oauth2.rs)",
)];

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// `${name}` filled from `values`.
fn fill(t: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = t.to_string();
    for (k, v) in values {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    out
}

/// (host, path) of a URL.
fn host_path(url: &str) -> (String, String) {
    let u = url::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    (u.host_str().unwrap_or("").to_string(), u.path().to_string())
}

/// (original host, path, query) of a request that reached the fake through CONN_TEST_ORIGIN.
fn split(seen: &Seen) -> (String, String, String) {
    let (path, query) = seen.url.split_once('?').unwrap_or((&seen.url, ""));
    let rest = path.trim_start_matches('/');
    let (host, p) = rest.split_once('/').unwrap_or((rest, ""));
    (host.to_string(), format!("/{p}"), query.to_string())
}

fn query_of(q: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[derive(Default)]
struct Flow {
    callback: Option<String>,
}

/// Runs one case; `Err` says what did not hold.
fn run_case(provider: &Value, case: &toml::Table) -> Result<(), String> {
    let id = provider["id"].as_str().unwrap();
    let method = case["auth"].as_str().unwrap();
    let spec = provider["auth"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["method"] == method)
        .ok_or(format!("no auth method {method}"))?
        .clone();
    let env_name = case.get("env").and_then(|v| v.as_str());
    let sets: BTreeMap<String, String> = case
        .get("set")
        .and_then(|v| v.as_table())
        .map(|t| {
            t.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let mut values: BTreeMap<String, String> = provider["environments"]
        [env_name.unwrap_or("production")]
    .as_object()
    .map(|m| {
        m.iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect()
    })
    .unwrap_or_default();
    // Defaults of inputs not set.
    for input in provider["inputs"].as_array().cloned().unwrap_or_default() {
        if let (Some(n), Some(d)) = (input["name"].as_str(), input["default"].as_str()) {
            values.insert(n.into(), d.into());
        }
    }
    values.extend(sets.clone());
    let table_str = |k: &str| -> BTreeMap<String, String> {
        case.get(k)
            .and_then(|v| v.as_table())
            .map(|t| {
                t.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().map_or(v.to_string(), str::to_string)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let token_extra = table_str("token_response");
    let token_json: serde_json::Map<String, Value> = case
        .get("token_response")
        .map(|v| serde_json::to_value(v).unwrap())
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    // Token fields the provider leaves out (Shopify sends no token_type).
    let token_omit: Vec<String> = case
        .get("token_omit")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    // The refresh the next command makes. A case that leaves `expires_in` to the fake gets a
    // sign-in token with 30 s left, so `conn token` right after is due to refresh (or, for a
    // provider whose tokens never expire, must not).
    // `due = true`: the case's own answer has a token due (one under `token_path`, Slack's).
    let due_soon = case.get("due").and_then(|v| v.as_bool()) == Some(true)
        || (case
            .get("token_response")
            .and_then(|t| t.get("expires_in"))
            .is_none()
            && !token_omit.iter().any(|k| k == "expires_in"));
    let never_expire = provider["lifecycle"]["tokens_never_expire"] == true;
    // The provider's refresh answer: the case's (the vendor's real shape), else a standard one
    // with a new refresh token when the provider rotates them.
    let refresh_json: Value = match case.get("refresh_response") {
        Some(v) => serde_json::to_value(v).unwrap(),
        None => {
            let mut t = serde_json::json!({
                "access_token": ACCESS_REFRESHED, "token_type": "Bearer", "expires_in": 3600,
            });
            if provider["lifecycle"]["rotating_refresh"] == true {
                t["refresh_token"] = REFRESH_ROTATED.into();
            }
            t
        }
    };
    let callback_extra = table_str("callback");
    // Captured inputs, as conn will have them.
    for input in provider["inputs"].as_array().cloned().unwrap_or_default() {
        let name = input["name"].as_str().unwrap();
        match input["capture"].as_str() {
            Some(c) if c.starts_with("token:") => {
                if let Some(v) = token_extra.get(&c[6..]) {
                    values.insert(name.into(), v.clone());
                }
            }
            Some(c) if c.starts_with("callback:") => {
                if let Some(v) = callback_extra.get(&c[9..]) {
                    values.insert(name.into(), v.clone());
                }
            }
            _ => {}
        }
    }
    let pick = spec.get("pick").cloned().filter(|p| !p.is_null());
    let pick_body = case
        .get("pick_body")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let mut pick_set = None;
    if let (Some(p), Some(body)) = (&pick, &pick_body) {
        let list: Value = serde_json::from_str(body).map_err(|e| format!("pick_body: {e}"))?;
        let items = list
            .pointer(p["items"].as_str().unwrap())
            .and_then(|v| v.as_array())
            .ok_or("pick_body has no list")?;
        let i: usize = case
            .get("pick_choice")
            .and_then(|v| v.as_str())
            .unwrap_or("0")
            .parse()
            .unwrap();
        let chosen = text(items[i].pointer(p["id"].as_str().unwrap())).ok_or("pick id")?;
        values.insert(p["input"].as_str().unwrap().into(), chosen.clone());
        pick_set = Some((p["input"].as_str().unwrap().to_string(), chosen));
    }

    let status: u16 = case
        .get("status")
        .and_then(|v| v.as_integer())
        .unwrap_or(200) as u16;
    let body = case["body"].as_str().unwrap_or("{}").to_string();
    let pick_at = pick
        .as_ref()
        .map(|p| host_path(&fill(p["url"].as_str().unwrap(), &values)));
    let flow = Arc::new(Mutex::new(Flow::default()));
    let (fake_token_extra, fake_callback_extra) = (token_json.clone(), callback_extra.clone());
    let fake_refresh = refresh_json.to_string();
    let fake_token_omit = token_omit.clone();
    let fake_pick = (pick_at.clone(), pick_body.clone());
    let fake = FakeApi::start_with_headers(move |seen| {
        let (host, path, query) = split(seen);
        let q = query_of(&query);
        let auth = seen.header("Authorization").unwrap_or("").to_string();
        let json = vec![("Content-Type".into(), "application/json".into())];
        let form = vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )];
        // OAuth 2.0 authorization: the person approves; back to the callback.
        if q.get("response_type").map(String::as_str) == Some("code") {
            let mut back = url::Url::parse(&q["redirect_uri"]).unwrap();
            back.query_pairs_mut()
                .append_pair("code", "good")
                .append_pair("state", &q["state"]);
            for (k, v) in &fake_callback_extra {
                back.query_pairs_mut().append_pair(k, v);
            }
            return (302, vec![], back.to_string());
        }
        if seen.method == "POST" && seen.form("grant_type").as_deref() == Some("refresh_token") {
            return (200, json, fake_refresh.clone());
        }
        if seen.method == "POST" && seen.form("grant_type").is_some() {
            let mut t = serde_json::json!({
                "access_token": ACCESS, "token_type": "Bearer", "expires_in": 3600,
                "refresh_token": REFRESH,
            });
            if due_soon && seen.form("grant_type").as_deref() == Some("authorization_code") {
                t["expires_in"] = 30.into();
            }
            for (k, v) in &fake_token_extra {
                t[k] = v.clone();
            }
            for k in &fake_token_omit {
                t.as_object_mut().unwrap().remove(k);
            }
            return (200, json, t.to_string());
        }
        // OAuth 1.0a: temporary credentials, authorization, token credentials.
        if auth.starts_with("OAuth ") && auth.contains("oauth_callback=") {
            let cb = auth
                .split(", ")
                .find_map(|p| p.strip_prefix("oauth_callback=\""))
                .map(|v| {
                    url::form_urlencoded::parse(format!("x={}", v.trim_end_matches('"')).as_bytes())
                        .next()
                        .unwrap()
                        .1
                        .into_owned()
                })
                .unwrap_or_default();
            flow.lock().unwrap().callback = Some(cb);
            return (
                200,
                form,
                "oauth_token=reqtoken0123456789&oauth_token_secret=reqsecret&oauth_callback_confirmed=true"
                    .into(),
            );
        }
        if q.get("oauth_token").map(String::as_str) == Some("reqtoken0123456789") {
            let cb = flow.lock().unwrap().callback.clone().unwrap_or_default();
            return (
                302,
                vec![],
                format!("{cb}?oauth_token=reqtoken0123456789&oauth_verifier=verifier0123456789"),
            );
        }
        if auth.starts_with("OAuth ") && auth.contains("oauth_verifier=") {
            return (
                200,
                form,
                format!("oauth_token={OAUTH1_TOKEN}&oauth_token_secret=accsecret0123456789"),
            );
        }
        if let (Some((ph, pp)), Some(pb)) = (&fake_pick.0, &fake_pick.1)
            && (&host, &path) == (ph, pp)
        {
            return (200, json, pb.clone());
        }
        (status, json, body.clone())
    });

    let mut env = TestEnv::new();
    env.extra_env
        .push(("CONN_TEST_ORIGIN".into(), fake.url.clone()));
    let script = format!(
        "python3 {}/tests/support/fake_browser.py",
        env!("CARGO_MANIFEST_DIR")
    );
    env.extra_env.push(("BROWSER".into(), script));
    env.extra_env
        .push(("FAKE_BROWSER_MODE".into(), "follow".into()));
    let mut args: Vec<String> = vec![
        "new".into(),
        "c".into(),
        "--provider".into(),
        id.into(),
        "--auth".into(),
        method.into(),
        "--json".into(),
        "--timeout".into(),
        "20".into(),
    ];
    if let Some(e) = env_name {
        args.extend(["--env".into(), e.into()]);
    }
    for (k, v) in &sets {
        args.extend(["--set".into(), format!("{k}={v}")]);
    }
    if let Some((k, v)) = &pick_set {
        args.extend(["--set".into(), format!("{k}={v}")]);
    }
    match method {
        "api_key" => args.extend(["--secret-env".into(), "K".into()]),
        "basic" => args.extend([
            "--username".into(),
            USER.into(),
            "--secret-env".into(),
            "K".into(),
        ]),
        _ => {
            args.extend([
                "--client-id".into(),
                "contract-client".into(),
                "--client-secret-env".into(),
                "CS".into(),
                // Any free port: the cases run in parallel, and a fixed redirect port would
                // collide. The redirect URI's host and path are still checked.
                "--port".into(),
                "0".into(),
            ]);
            let grants = spec["grants"].as_array().cloned().unwrap_or_default();
            if method == "oauth2" && !grants.iter().any(|g| g == "authorization_code") {
                args.extend(["--grant".into(), grants[0].as_str().unwrap().into()]);
            }
        }
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = env.run_env(&argv, &[("K", KEY), ("CS", CLIENT_SECRET)]);
    if out.code != 0 {
        return Err(format!("conn new failed: {}", out.stderr));
    }
    let created = out.json();
    let seen = fake.requests();

    // The check request: host, path, method, credentials, fixed headers.
    let want = (
        case["host"].as_str().unwrap().to_string(),
        case["path"].as_str().unwrap().to_string(),
    );
    // An API key in the path (Telegram's /bot<token>/getMe) is the first segment.
    let key_segment = (method == "api_key" && spec["placement"] == "path")
        .then(|| format!("/{}{KEY}", spec["prefix"].as_str().unwrap_or("")));
    let check = seen
        .iter()
        .rev()
        .find(|s| {
            let (h, p, _) = split(s);
            let p = match &key_segment {
                Some(k) => p.strip_prefix(k.as_str()).unwrap_or("").to_string(),
                None => p,
            };
            (h, p) == want
        })
        .ok_or(format!(
            "no request to {want:?}; saw {:?}",
            seen.iter().map(|s| s.url.clone()).collect::<Vec<_>>()
        ))?;
    let check_method = provider["check"]["method"].as_str().unwrap_or("GET");
    if check.method != check_method {
        return Err(format!("check method {} != {check_method}", check.method));
    }
    if let Some(b) = provider["check"]["body"].as_str()
        && (check.body != b || check.header("Content-Type") != Some("application/json"))
    {
        return Err(format!(
            "check body {:?}, expected {b:?} as JSON",
            check.body
        ));
    }
    let (_, _, query) = split(check);
    let q = query_of(&query);
    let auth_header = check.header("Authorization").map(str::to_string);
    match method {
        "api_key" => {
            let prefix = fill(spec["prefix"].as_str().unwrap_or(""), &values);
            let name = fill(spec["name"].as_str().unwrap_or(""), &values);
            let got = match spec["placement"].as_str().unwrap_or("header") {
                "header" => check.header(&name).map(str::to_string),
                "query" => q.get(&name).cloned(),
                // Found above as the first path segment.
                "path" => Some(format!("{prefix}{KEY}")),
                _ => auth_header.clone(),
            };
            let expected = match spec["placement"].as_str().unwrap_or("header") {
                "basic" => match spec["basic_user"].as_str() {
                    Some(u) => format!("Basic {}", b64(&format!("{u}:{KEY}"))),
                    None => format!(
                        "Basic {}",
                        b64(&format!(
                            "{KEY}:{}",
                            spec["basic_password"].as_str().unwrap_or("")
                        ))
                    ),
                },
                _ => format!("{prefix}{KEY}"),
            };
            if got.as_deref() != Some(expected.as_str()) {
                return Err(format!("API key sent as {got:?}, expected {expected:?}"));
            }
        }
        "basic" => {
            let suffix = spec["username_suffix"].as_str().unwrap_or("");
            let expected = format!("Basic {}", b64(&format!("{USER}{suffix}:{KEY}")));
            if auth_header.as_deref() != Some(expected.as_str()) {
                return Err(format!(
                    "Basic sent as {auth_header:?}, expected {expected}"
                ));
            }
        }
        "oauth2" => {
            if auth_header.as_deref() != Some(&format!("Bearer {ACCESS}")) {
                return Err(format!("bearer sent as {auth_header:?}"));
            }
            check_oauth2(&spec, &seen, &values)?;
            if seen
                .iter()
                .any(|s| s.form("grant_type").is_some_and(|g| g == "refresh_token"))
            {
                return Err("a refresh during sign-in".into());
            }
        }
        "oauth1" => {
            let a = auth_header.unwrap_or_default();
            let sm = spec["signature_method"].as_str().unwrap_or("HMAC-SHA1");
            if !(a.starts_with("OAuth ")
                && a.contains(&format!("oauth_token=\"{OAUTH1_TOKEN}\""))
                && a.contains(&format!("oauth_signature_method=\"{sm}\""))
                && a.contains("oauth_consumer_key=\"contract-client\""))
            {
                return Err(format!("OAuth 1.0a request not signed as expected: {a}"));
            }
            if !a.contains("oauth_signature=") {
                return Err("no oauth_signature".into());
            }
        }
        _ => unreachable!(),
    }
    for (k, v) in provider["api"]["headers"]
        .as_object()
        .cloned()
        .unwrap_or_default()
    {
        if check.header(&k) != v.as_str() {
            return Err(format!(
                "header {k} is {:?}, expected {v}",
                check.header(&k)
            ));
        }
    }

    // What conn extracted and kept.
    if created["check"]["status"] != "ok" {
        return Err(format!("check status {}", created["check"]));
    }
    for (field, key) in [("id", "identity_id"), ("label", "identity_label")] {
        if let Some(want) = case.get(key).and_then(|v| v.as_str())
            && created["identity"][field].as_str() != Some(want)
        {
            return Err(format!(
                "identity {field} {:?}, expected {want:?}",
                created["identity"][field]
            ));
        }
    }
    let shown = env.conn("show c --json").run();
    let conn = &shown.json();
    if let Some(e) = env_name
        && conn["env"] != e
    {
        return Err(format!("env {} != {e}", conn["env"]));
    }
    for input in provider["inputs"].as_array().cloned().unwrap_or_default() {
        let name = input["name"].as_str().unwrap();
        if input["capture"].is_string()
            && let Some(v) = values.get(name)
            && conn["inputs"][name].as_str() != Some(v)
        {
            return Err(format!("captured input {name} is {}", conn["inputs"][name]));
        }
    }
    let code_grant = seen
        .iter()
        .any(|s| s.form("grant_type").as_deref() == Some("authorization_code"));
    if method == "oauth2" && code_grant && (due_soon || never_expire) {
        // Where the token sits (`token_path`), else the top level with the fake's default.
        let nested = spec["token_path"].as_str().and_then(|p| {
            text(Value::Object(token_json.clone()).pointer(&format!("{p}/refresh_token")))
        });
        let refresh_token = nested.or_else(|| {
            (!token_omit.iter().any(|k| k == "refresh_token")).then(|| {
                text(token_json.get("refresh_token")).unwrap_or_else(|| REFRESH.to_string())
            })
        });
        let step = Refresh {
            spec: &spec,
            values: &values,
            refresh_token: refresh_token.as_deref(),
            never_expire,
            answer: &refresh_json,
        };
        refresh_step(&env, &fake, &step)?;
    }
    Ok(())
}

/// Refresh steps that ran: a refresh checked, and a never-expiring token kept.
static REFRESHED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static KEPT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// What the refresh step of an OAuth 2.0 case knows.
struct Refresh<'a> {
    spec: &'a Value,
    values: &'a BTreeMap<String, String>,
    /// The refresh token the sign-in gave, if any.
    refresh_token: Option<&'a str>,
    never_expire: bool,
    /// What the fake answers the refresh with.
    answer: &'a Value,
}

/// After a sign-in whose token is due: `conn token` refreshes at the provider's refresh
/// endpoint with its `refresh_params` and client authentication, prints the new token and keeps
/// the refresh token the answer carried (or the old one when it carried none). For a provider
/// whose tokens never expire, nothing is refreshed and the token is handed out as it is.
fn refresh_step(env: &TestEnv, fake: &FakeApi, r: &Refresh<'_>) -> Result<(), String> {
    let refreshes = |fake: &FakeApi| -> Vec<Seen> {
        fake.requests()
            .into_iter()
            .filter(|s| s.form("grant_type").as_deref() == Some("refresh_token"))
            .collect()
    };
    let tok = env.run(&["token", "c"]);
    if r.never_expire {
        if tok.code != 0 || tok.stdout.trim() != ACCESS {
            return Err(format!(
                "a token that never expires was not handed out: {tok:?}"
            ));
        }
        let check = env.run(&["check", "c", "--json"]);
        if check.code != 0 || check.json()[0]["status"] != "ok" {
            return Err(format!("check of a never-expiring token: {check:?}"));
        }
        if !refreshes(fake).is_empty() {
            return Err("a token that never expires was refreshed".into());
        }
        KEPT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        return Ok(());
    }
    let Some(old) = r.refresh_token else {
        return Ok(());
    };
    let want_access = text(r.answer.get("access_token")).unwrap_or_default();
    if tok.code != 0 || tok.stdout.trim() != want_access {
        return Err(format!("conn token after the refresh: {tok:?}"));
    }
    let seen = refreshes(fake);
    let [refresh] = seen.as_slice() else {
        return Err(format!("{} refresh requests, expected 1", seen.len()));
    };
    let (h, p, _) = split(refresh);
    let url = r.spec["refresh_url"]
        .as_str()
        .or(r.spec["token_url"].as_str())
        .unwrap_or("");
    let want = host_path(&fill(url, r.values));
    if (h, p) != want {
        return Err(format!(
            "refresh went to {}, expected {want:?}",
            refresh.url
        ));
    }
    if refresh.form("refresh_token").as_deref() != Some(old) {
        return Err(format!("refresh spent {:?}", refresh.form("refresh_token")));
    }
    client_auth_ok(r.spec, refresh)?;
    for (k, v) in r.spec["refresh_params"]
        .as_object()
        .cloned()
        .unwrap_or_default()
    {
        if refresh.form(&k).as_deref() != v.as_str() {
            return Err(format!("refresh request lacks {k}={v}"));
        }
    }
    let kept = text(r.answer.get("refresh_token")).unwrap_or_else(|| old.to_string());
    let stored = env.secrets_of("c");
    if stored["refresh_token"].as_str() != Some(kept.as_str()) {
        return Err(format!(
            "after the refresh the stored refresh token is not the {} one",
            if kept == old { "old" } else { "rotated" }
        ));
    }
    REFRESHED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Ok(())
}

/// The client credentials of a token request, where the spec's `client_auth` puts them.
fn client_auth_ok(spec: &Value, token: &Seen) -> Result<(), String> {
    let form_has = |k: &str, v: &str| token.form(k).as_deref() == Some(v);
    match spec["client_auth"].as_str().unwrap_or("basic") {
        "post" => {
            if !(form_has("client_id", "contract-client")
                && form_has("client_secret", CLIENT_SECRET))
            {
                return Err(format!(
                    "client credentials not in the form of {}",
                    token.url
                ));
            }
        }
        _ => {
            let want = format!("Basic {}", b64(&format!("contract-client:{CLIENT_SECRET}")));
            if token.header("Authorization") != Some(want.as_str()) {
                return Err(format!(
                    "client credentials not in HTTP Basic to {}",
                    token.url
                ));
            }
        }
    }
    Ok(())
}

/// The authorization and token requests of an OAuth 2.0 sign-in.
fn check_oauth2(
    spec: &Value,
    seen: &[Seen],
    values: &BTreeMap<String, String>,
) -> Result<(), String> {
    let token = seen
        .iter()
        .find(|s| s.method == "POST" && s.form("grant_type").is_some_and(|g| g != "refresh_token"))
        .ok_or("no token request")?;
    let (th, tp, _) = split(token);
    let want = host_path(&fill(spec["token_url"].as_str().unwrap_or(""), values));
    if (th, tp) != want {
        return Err(format!("token request went to {}", token.url));
    }
    let grant = token.form("grant_type").unwrap();
    let form_has = |k: &str, v: &str| token.form(k).as_deref() == Some(v);
    client_auth_ok(spec, token)?;
    for (k, v) in spec["token_params"]
        .as_object()
        .cloned()
        .unwrap_or_default()
    {
        if !form_has(&k, v.as_str().unwrap()) {
            return Err(format!("token request lacks {k}={v}"));
        }
    }
    if grant != "authorization_code" {
        return Ok(());
    }
    if !form_has("code", "good") {
        return Err("the code was not exchanged".into());
    }
    let pkce = spec["pkce"].as_bool().unwrap_or(true);
    if token.form("code_verifier").is_some() != pkce {
        return Err(format!("code_verifier present != pkce {pkce}"));
    }
    let authz = seen
        .iter()
        .find(|s| s.url.contains("response_type=code"))
        .ok_or("no authorization request")?;
    let (ah, ap, aq) = split(authz);
    let want = host_path(&fill(spec["authorize_url"].as_str().unwrap_or(""), values));
    if (ah, ap) != want {
        return Err(format!("authorization went to {}", authz.url));
    }
    let q = query_of(&aq);
    let sep = spec["scope_separator"].as_str().unwrap_or(" ");
    let scopes: Vec<&str> = spec["scopes"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str()).collect())
        .unwrap_or_default();
    if !scopes.is_empty() && q.get("scope") != Some(&scopes.join(sep)) {
        return Err(format!(
            "scope {:?}, expected {:?}",
            q.get("scope"),
            scopes.join(sep)
        ));
    }
    if q.get("client_id").map(String::as_str) != Some("contract-client") {
        return Err("authorization without client_id".into());
    }
    // The redirect URI names the provider's redirect host and path (the port is free here).
    let redirect = url::Url::parse(q.get("redirect_uri").ok_or("no redirect_uri")?)
        .map_err(|e| format!("redirect_uri: {e}"))?;
    let want_host = spec["redirect_host"].as_str().unwrap_or("127.0.0.1");
    let want_path = spec["redirect_path"].as_str().unwrap_or("/callback");
    if (redirect.host_str(), redirect.path()) != (Some(want_host), want_path) {
        return Err(format!(
            "redirect_uri {redirect}, expected host {want_host} path {want_path}"
        ));
    }
    if pkce != (q.get("code_challenge_method").map(String::as_str) == Some("S256")) {
        return Err("code_challenge_method".into());
    }
    if q.get("state").is_none_or(|s| s.len() < 16) {
        return Err("no random state".into());
    }
    for (k, v) in spec["authorize_params"]
        .as_object()
        .cloned()
        .unwrap_or_default()
    {
        if q.get(&k).map(String::as_str) != v.as_str() {
            return Err(format!("authorization lacks {k}={v}"));
        }
    }
    Ok(())
}

#[test]
fn every_builtin_provider_passes_its_contract() {
    let env = TestEnv::new();
    let list = env.conn("providers list --json").run();
    list.ok();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/contracts");
    let mut failures = Vec::new();
    let mut jobs: Vec<(Value, toml::Table)> = Vec::new();
    for p in list.json().as_array().unwrap() {
        let id = p["id"].as_str().unwrap();
        if NO_CONTRACT.iter().any(|(x, _)| *x == id) {
            continue;
        }
        let shown = env.run(&["providers", "show", id, "--json"]);
        shown.ok();
        let provider = shown.json();
        let file = dir.join(format!("{id}.toml"));
        let Ok(text) = std::fs::read_to_string(&file) else {
            failures.push(format!("{id}: no contract file {}", file.display()));
            continue;
        };
        let fixture: toml::Table = toml::from_str(&text).unwrap();
        let list = fixture["case"].as_array().unwrap();
        let methods: Vec<&str> = provider["auth"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["method"].as_str().unwrap())
            .collect();
        for m in &methods {
            if !list.iter().any(|c| c["auth"].as_str() == Some(m)) {
                failures.push(format!("{id}: no contract case for auth method {m}"));
            }
        }
        for case in list {
            // A case the code can't pass yet says why; it is reported, not run.
            if let Some(why) = case.get("pending").and_then(|v| v.as_str()) {
                // Shown in the test's output so a pending case is never forgotten.
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("pending contract case {id} [{}]: {why}", case["auth"]);
                }
                continue;
            }
            jobs.push((provider.clone(), case.as_table().unwrap().clone()));
        }
    }
    // The cases wait on processes and sockets, not the CPU: run several at once.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = Mutex::new(failures);
    std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some((provider, case)) = jobs.get(i) else {
                        break;
                    };
                    if let Err(e) = run_case(provider, case) {
                        failures.lock().unwrap().push(format!(
                            "{} [{}]: {e}",
                            provider["id"].as_str().unwrap(),
                            case["auth"]
                        ));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    let cases = jobs.len();
    assert!(cases >= 110, "only {cases} contract cases ran");
    let (refreshed, kept) = (
        REFRESHED.load(std::sync::atomic::Ordering::SeqCst),
        KEPT.load(std::sync::atomic::Ordering::SeqCst),
    );
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "{cases} contract cases; {refreshed} refreshes checked, {kept} never-expiring tokens kept"
        );
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(refreshed >= 30, "only {refreshed} refreshes were checked");
    assert!(kept >= 1, "no never-expiring token was checked");
}

#[test]
fn a_site_is_chosen_never_silently_the_first() {
    // Two Atlassian sites: without a terminal, conn names them and the flag instead of taking
    // one; a named site that the grant doesn't cover is refused; nothing is saved either way.
    let sites = r#"[{"id": "c1", "url": "https://one.atlassian.net", "name": "one"},
                    {"id": "c2", "url": "https://two.atlassian.net", "name": "two"}]"#;
    let fake = FakeApi::start_with_headers(move |seen| {
        let (_, path, query) = split(seen);
        let q = query_of(&query);
        if q.get("response_type").map(String::as_str) == Some("code") {
            let mut back = url::Url::parse(&q["redirect_uri"]).unwrap();
            back.query_pairs_mut()
                .append_pair("code", "good")
                .append_pair("state", &q["state"]);
            return (302, vec![], back.to_string());
        }
        if seen.form("grant_type").is_some() {
            let t = serde_json::json!({"access_token": ACCESS, "token_type": "Bearer", "expires_in": 3600});
            return (200, vec![], t.to_string());
        }
        if path.ends_with("/accessible-resources") {
            return (200, vec![], sites.to_string());
        }
        (
            200,
            vec![],
            r#"{"accountId": "a1", "displayName": "Mia"}"#.into(),
        )
    });
    let mut env = TestEnv::new();
    env.extra_env
        .push(("CONN_TEST_ORIGIN".into(), fake.url.clone()));
    env.extra_env.push((
        "BROWSER".into(),
        format!(
            "python3 {}/tests/support/fake_browser.py",
            env!("CARGO_MANIFEST_DIR")
        ),
    ));
    env.extra_env
        .push(("FAKE_BROWSER_MODE".into(), "follow".into()));
    let new = |extra: &[&str]| {
        let mut args = vec![
            "new",
            "j",
            "--provider",
            "jira",
            "--client-id",
            "c",
            "--client-secret-env",
            "CS",
        ];
        args.extend_from_slice(extra);
        env.run_env(&args, &[("CS", CLIENT_SECRET)])
    };
    let out = new(&[]);
    out.code(2);
    assert!(out.stderr.contains("--set cloud_id=ID"), "{out:?}");
    assert!(
        out.stderr.contains("c1 (https://one.atlassian.net)"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("c2 (https://two.atlassian.net)"),
        "{out:?}"
    );
    let out = new(&["--set", "cloud_id=c9"]);
    out.code(2);
    assert!(
        out.stderr.contains("\"c9\" is not one of the sites"),
        "{out:?}"
    );
    assert!(!env.connections_toml().exists() || !env.connections().contains_key("j"));
    // The site's URL works as well as its id.
    let out = new(&["--set", "cloud_id=https://two.atlassian.net", "--json"]);
    out.ok();
    assert_eq!(
        env.connections()["j"]["inputs"]["cloud_id"].as_str(),
        Some("c2")
    );
    let check = fake.requests().into_iter().last().unwrap();
    assert_eq!(split(&check).1, "/ex/jira/c2/rest/api/3/myself");
}

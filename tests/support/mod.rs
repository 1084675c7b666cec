//! The sealed test environment: each test gets its own CONN_HOME, HOME and XDG dirs, no
//! inherited CONN_* variables, and local HTTP servers that record what they received.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod bao;

pub const BIN: &str = env!("CARGO_BIN_EXE_conn");

/// How long any one `conn` run may take before the test calls it hung.
const HANG_LIMIT: Duration = Duration::from_secs(60);

pub struct TestEnv {
    pub dir: tempfile::TempDir,
    /// `Some(kind)` sets CONN_SECRET_STORE; `None` leaves the choice to conn.
    pub store: Option<&'static str>,
    /// Pass the D-Bus session (and so the real Secret Service) through.
    pub dbus: bool,
    pub extra_env: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success, got {self:#?}");
        self
    }

    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "expected exit {code}, got {self:#?}");
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }
}

impl TestEnv {
    /// File secret store, no D-Bus: the common case for tests that aren't about the keychain.
    pub fn new() -> Self {
        Self::build(Some("file"), false)
    }

    /// The real Secret Service of the test session (see tests/run).
    pub fn keychain() -> Self {
        Self::build(Some("keychain"), true)
    }

    pub fn build(store: Option<&'static str>, dbus: bool) -> Self {
        if dbus {
            assert!(
                std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
                "keychain tests need a D-Bus session with gnome-keyring: run them through tests/run"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        for d in ["home", "xdg-config", "xdg-data", "xdg-cache"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        TestEnv {
            dir,
            store,
            dbus,
            extra_env: Vec::new(),
        }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("conn")
    }

    pub fn connections_toml(&self) -> PathBuf {
        self.home().join("connections.toml")
    }

    pub fn read_connections(&self) -> String {
        std::fs::read_to_string(self.connections_toml()).unwrap_or_default()
    }

    pub fn connections(&self) -> toml::Table {
        let text = self.read_connections();
        let doc: toml::Table = toml::from_str(&text).unwrap();
        doc.get("connections")
            .and_then(|c| c.as_table())
            .cloned()
            .unwrap_or_default()
    }

    /// The id under which a connection's secrets are stored.
    pub fn id_of(&self, name: &str) -> String {
        self.connections()[name]["id"].as_str().unwrap().to_string()
    }

    pub fn write_provider(&self, file: &str, text: &str) -> PathBuf {
        let dir = self.home().join("providers");
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(file);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// A `conn` command in the sealed environment, stdin closed.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear();
        let d = self.dir.path();
        c.env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", d.join("home"))
            .env("XDG_CONFIG_HOME", d.join("xdg-config"))
            .env("XDG_DATA_HOME", d.join("xdg-data"))
            .env("XDG_CACHE_HOME", d.join("xdg-cache"))
            .env("CONN_HOME", self.home())
            .env("NO_COLOR", "1")
            .env("LANG", "C.UTF-8");
        if let Some(s) = self.store {
            c.env("CONN_SECRET_STORE", s);
        }
        if self.dbus {
            for v in ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"] {
                if let Some(val) = std::env::var_os(v) {
                    c.env(v, val);
                }
            }
        }
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
        c.stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Out {
        self.run_full(args, None, &[])
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        self.run_full(args, None, env)
    }

    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Out {
        self.run_full(args, Some(stdin), &[])
    }

    /// Runs conn in `dir` (a project directory, for recipes).
    pub fn run_in(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
        let mut c = self.cmd();
        c.current_dir(dir).args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        run_command(c, None)
    }

    pub fn run_full(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Out {
        let mut c = self.cmd();
        c.args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        run_command(c, stdin)
    }
}

/// Runs a command to completion, failing the test if it hangs.
pub fn run_command(mut c: Command, stdin: Option<&str>) -> Out {
    if stdin.is_some() {
        c.stdin(Stdio::piped());
    }
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn conn");
    if let Some(input) = stdin {
        let mut si = child.stdin.take().unwrap();
        si.write_all(input.as_bytes()).unwrap();
    }
    let out_pipe = child.stdout.take().unwrap();
    let err_pipe = child.stderr.take().unwrap();
    let read = |mut p: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            p.read_to_string(&mut s).unwrap();
            s
        })
    };
    let so = read(Box::new(out_pipe));
    let se = read(Box::new(err_pipe));
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > HANG_LIMIT {
            let _ = child.kill();
            panic!("conn hung for more than {HANG_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Out {
        code: status.code().unwrap_or(-1),
        stdout: so.join().unwrap(),
        stderr: se.join().unwrap(),
    }
}

/// One request as the fake server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub at: Instant,
}

impl Seen {
    /// A form field of the request body.
    pub fn form(&self, key: &str) -> Option<String> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Handler = dyn Fn(&Seen) -> (u16, Vec<(String, String)>, String) + Send + Sync;

/// A local HTTP API on 127.0.0.1 that answers with `handler` and records every request.
/// For a 3xx status the returned body is sent as the `Location` header. A plain HTTP/1.1
/// server of its own (a thread per connection, one request per connection), so tests can
/// observe concurrency and nothing in between can stall a request.
pub struct FakeApi {
    pub url: String,
    stop: Arc<std::sync::atomic::AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeApi {
    pub fn start(handler: impl Fn(&Seen) -> (u16, String) + Send + Sync + 'static) -> Self {
        Self::start_with_headers(move |s| {
            let (status, body) = handler(s);
            (status, Vec::new(), body)
        })
    }

    /// Like `start`, with extra response headers.
    pub fn start_with_headers(
        handler: impl Fn(&Seen) -> (u16, Vec<(String, String)>, String) + Send + Sync + 'static,
    ) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (seen2, stop2) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (handler, seen) = (handler.clone(), seen2.clone());
                std::thread::spawn(move || serve_one(conn, &*handler, &seen));
            }
        });
        FakeApi { url, stop, seen }
    }
    /// 200 with `identity` for `Authorization: <expected>`, 401 otherwise.
    pub fn expecting_auth(expected: &str, identity: serde_json::Value) -> Self {
        let expected = expected.to_string();
        let body = identity.to_string();
        Self::start(move |s| {
            if s.header("Authorization") == Some(expected.as_str()) {
                (200, body.clone())
            } else {
                (401, r#"{"message":"Bad credentials"}"#.to_string())
            }
        })
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

fn serve_one(conn: std::net::TcpStream, handler: &Handler, seen: &Mutex<Vec<Seen>>) {
    use std::io::{BufRead, BufReader, Read};
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let url = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            break;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    let s = Seen {
        method,
        url,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    };
    let (status, extra, body) = handler(&s);
    seen.lock().unwrap().push(s);
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if (300..400).contains(&status) {
        head.push_str(&format!("Location: {body}\r\n"));
    }
    if status == 429 {
        head.push_str("Retry-After: 1\r\n");
    }
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut conn = conn;
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(body.as_bytes());
    let _ = conn.flush();
}

/// A user provider definition pointing at a local fake, with both methods.
pub fn acme_provider(base_url: &str) -> String {
    format!(
        r#"id = "acme"
display_name = "Acme API"
categories = ["test"]

[[auth]]
method = "api_key"
label = "Acme API key"
name = "Authorization"
prefix = "Bearer "

[[auth]]
method = "basic"
username_label = "Email"
password_label = "API token"
username_suffix = "/token"

[api]
base_url = "{base_url}"

[check]
path = "/me"
identity = {{ id = "/id", label = "/email" }}
identity_required = true
"#
    )
}

/// Creates an `acme` api_key connection named `name` with `key`, without checking it.
pub fn add_acme(env: &TestEnv, name: &str, key: &str) {
    env.run_env(
        &[
            "new",
            name,
            "--provider",
            "acme",
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

/// Creates an `acme` api_key connection named `name` with `key`, checked against `api`.
pub fn new_acme(env: &TestEnv, name: &str, key: &str) -> Out {
    env.run_env(
        &[
            "new",
            name,
            "--provider",
            "acme",
            "--auth",
            "api_key",
            "--secret-env",
            "ACME_KEY",
        ],
        &[("ACME_KEY", key)],
    )
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The real authorization server (oidc-provider, from npm) from tests/oidc, on 127.0.0.1.
pub struct Oidc {
    pub issuer: String,
    child: std::process::Child,
}

impl Oidc {
    /// Starts a server whose access tokens live `at_ttl` seconds. Waits for its issuer line,
    /// retrying once, as a rare slow start was seen.
    pub fn start(at_ttl: u32) -> Self {
        for _ in 0..2 {
            if let Some(s) = Self::try_start(at_ttl) {
                return s;
            }
        }
        panic!(
            "the oidc-provider test server did not start; run tests/run (it installs node and npm ci's tests/oidc)"
        );
    }

    fn try_start(at_ttl: u32) -> Option<Self> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
        let mut child = Command::new("node")
            .arg(dir.join("server.mjs"))
            .env("PORT", "0")
            .env("AT_TTL", at_ttl.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node is installed by tests/run");
        match first_line(&mut child, Duration::from_secs(15)) {
            Some(line) => {
                let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
                Some(Oidc {
                    issuer: v["issuer"].as_str().unwrap().to_string(),
                    child,
                })
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                None
            }
        }
    }

    /// A user provider definition for this server, found by discovery.
    pub fn provider(&self) -> String {
        format!(
            r#"id = "idp"
display_name = "Test IdP"

[[auth]]
method = "oauth2"
issuer = "{0}"
grants = ["authorization_code", "device_code", "client_credentials"]
scopes = ["openid", "email", "api:read"]

[api]
base_url = "{0}"

[check]
path = "/me"
identity = {{ id = "/sub", label = "/email" }}
"#,
            self.issuer
        )
    }

    /// RFC 7662 introspection as the confidential test client: is `token` active?
    pub fn active(&self, token: &str) -> bool {
        let resp: serde_json::Value = reqwest::blocking::Client::new()
            .post(format!("{}/token/introspection", self.issuer))
            .basic_auth("conn-cli", Some("conn-cli-secret"))
            .form(&[("token", token)])
            .send()
            .unwrap()
            .json()
            .unwrap();
        resp["active"].as_bool().unwrap_or(false)
    }

    /// Revokes `token` at the server, as a user removing the app's access would.
    pub fn revoke(&self, token: &str) {
        let status = reqwest::blocking::Client::new()
            .post(format!("{}/token/revocation", self.issuer))
            .basic_auth("conn-cli", Some("conn-cli-secret"))
            .form(&[("token", token)])
            .send()
            .unwrap()
            .status();
        assert!(status.is_success(), "revocation answered {status}");
    }
}

impl Drop for Oidc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first line a test server prints on stdout (where it listens), if it comes in time.
fn first_line(child: &mut std::process::Child, wait: Duration) -> Option<String> {
    use std::io::BufRead;
    let stdout = child.stdout.take()?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    rx.recv_timeout(wait)
        .ok()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
}

/// `BROWSER` for the scripted person of tests/oidc/browser.py.
pub fn browser_cmd() -> String {
    format!(
        "python3 {}/tests/oidc/browser.py",
        env!("CARGO_MANIFEST_DIR")
    )
}

impl TestEnv {
    /// The connection's secret bundle, decrypted with the age tool (file store only).
    pub fn secrets_of(&self, name: &str) -> serde_json::Value {
        let out = Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(self.home().join("identity.txt"))
            .arg(self.home().join("secrets.age"))
            .output()
            .expect("age is installed by tests/run");
        assert!(out.status.success());
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["connections"][self.id_of(name)].clone()
    }
}

/// The OAuth 1.0a provider of tests/oauth1/server.py (oauthlib's RFC 5849 endpoints), started
/// on 127.0.0.1 for one test.
pub struct OAuth1Server {
    pub base: String,
    /// The RSA-SHA1 consumer's private key, as the user would have it in a file.
    pub rsa_key: PathBuf,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl OAuth1Server {
    pub const CONSUMER: &'static str = "conntestconsumerkey0001";
    pub const CONSUMER_SECRET: &'static str = "conn-test-consumer-secret";
    pub const RSA_CONSUMER: &'static str = "connrsaconsumerkey00001";

    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("consumer.pem");
        let mut child = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oauth1/server.py"))
            .env("RSA_KEY_OUT", &key)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 is installed by tests/run");
        let line = first_line(&mut child, Duration::from_secs(20)).unwrap_or_default();
        if line.is_empty() {
            let _ = child.kill();
            panic!(
                "the OAuth 1.0a test server did not start; run tests/run (it installs oauthlib, pyjwt and cryptography from PyPI)"
            );
        }
        let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        OAuth1Server {
            base: v["base"].as_str().unwrap().to_string(),
            rsa_key: key,
            child,
            _dir: dir,
        }
    }

    /// A user provider definition (Trello-like) for this server.
    pub fn provider(&self, signature_method: &str, oob: bool) -> String {
        format!(
            r#"id = "t1"
display_name = "OAuth1 Test"

[[auth]]
method = "oauth1"
request_token_url = "{0}/1/OAuthGetRequestToken"
authorize_url = "{0}/1/OAuthAuthorizeToken"
access_token_url = "{0}/1/OAuthGetAccessToken"
signature_method = "{signature_method}"
authorize_params = {{ name = "conn", expiration = "never" }}
oob = {oob}

[api]
base_url = "{0}/1"

[check]
path = "/members/me"
identity = {{ id = "/id", label = "/username" }}
"#,
            self.base
        )
    }

    /// What the server saw: see tests/oauth1/server.py.
    pub fn state(&self) -> serde_json::Value {
        reqwest::blocking::get(format!("{}/_state", self.base))
            .unwrap()
            .json()
            .unwrap()
    }

    /// `{"skew": SECONDS}` shifts the server's clock; `{"revoke": true}` drops all tokens.
    pub fn control(&self, body: serde_json::Value) {
        let status = reqwest::blocking::Client::new()
            .post(format!("{}/_control", self.base))
            .json(&body)
            .send()
            .unwrap()
            .status();
        assert!(status.is_success());
    }
}

impl Drop for OAuth1Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `BROWSER` for the scripted person of tests/oauth1/browser.py.
pub fn oauth1_browser_cmd() -> String {
    format!(
        "python3 {}/tests/oauth1/browser.py",
        env!("CARGO_MANIFEST_DIR")
    )
}

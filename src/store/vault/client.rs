//! A blocking HTTP client for the parts of the Vault/OpenBao API conn uses: KV v2 data with
//! check-and-set, LIST, metadata delete, mount discovery (`sys/internal/ui/mounts`),
//! `sys/health`, `sys/capabilities-self` and `auth/token/lookup-self`. Every failure comes back
//! as a classified [`VaultError`].

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use reqwest::Method;
use reqwest::blocking::{RequestBuilder, Response};
use serde_json::{Value, json};

use super::error::{Kind, VaultError, errors_text};
use crate::core::secret::Secret;

type VResult<T> = std::result::Result<T, VaultError>;

/// The body Vault gives for a lost check-and-set race (HTTP 400).
const CAS_MISMATCH: &str = "check-and-set parameter did not match the current version";
/// A KV mount still upgrading to v2 (HTTP 400), seen just after a dev server starts.
const UPGRADING: &str = "Upgrading from non-versioned to versioned data";
/// How long an "Upgrading…" answer is retried before giving up.
const UPGRADE_WAIT: Duration = Duration::from_secs(10);

/// One KV v2 entry as read: its version and data, and the server's clock at the read.
#[derive(Debug, Clone)]
pub(crate) struct Versioned {
    /// The current version (`metadata.version`); 0 never occurs for an existing entry.
    pub(crate) version: u64,
    /// The `data` object.
    pub(crate) data: serde_json::Map<String, Value>,
    /// `metadata.created_time` of this version (RFC 3339, server clock).
    pub(crate) created_time: Option<SystemTime>,
    /// The response's `Date` header (server clock, 1 s resolution).
    pub(crate) server_now: Option<SystemTime>,
}

impl Versioned {
    /// Age of this version on the server's own clock, so host clock skew does not matter.
    pub(crate) fn age(&self) -> Option<Duration> {
        let (now, created) = (self.server_now?, self.created_time?);
        // The Date header is truncated to whole seconds; round the creation time the same way.
        Some(
            now.duration_since(created)
                .unwrap_or(Duration::ZERO)
                .saturating_sub(Duration::from_secs(1)),
        )
    }
}

/// What `sys/health` says.
#[derive(Debug, Clone)]
pub(crate) struct Health {
    pub(crate) initialized: bool,
    pub(crate) sealed: bool,
    pub(crate) standby: bool,
    pub(crate) version: String,
    /// `server_time_utc`, Unix seconds.
    pub(crate) server_time: Option<u64>,
}

/// A KV mount found by `sys/internal/ui/mounts`.
#[derive(Debug, Clone)]
pub(crate) struct Mount {
    /// With a trailing slash, e.g. `secret/`.
    pub(crate) path: String,
    pub(crate) kind: String,
    /// `"2"` for KV v2; `"1"` or empty for v1.
    pub(crate) version: String,
}

/// A Vault/OpenBao server, a namespace in it, and the token conn sends (if any).
pub(crate) struct Client {
    http: reqwest::blocking::Client,
    /// Without a trailing slash, e.g. `https://bao.example.com:8200`.
    pub(crate) address: String,
    pub(crate) namespace: Option<String>,
    token: Option<Secret<String>>,
    /// Where the token came from, for messages ("BAO_TOKEN", "~/.vault-token", ...).
    pub(crate) token_source: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("address", &self.address)
            .field("namespace", &self.namespace)
            .field("token", &self.token)
            .field("token_source", &self.token_source)
            .finish()
    }
}

impl Client {
    /// A client for `address` (redirects off: a standby's 307 is reported, not followed with
    /// the token). `ca` is a PEM bundle to trust besides the system's roots.
    pub(crate) fn new(
        address: &str,
        namespace: Option<String>,
        ca: Option<&[u8]>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let mut b = reqwest::blocking::Client::builder()
            .user_agent(concat!("conn/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = ca {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| anyhow::anyhow!("the CA file is not a PEM bundle: {e}"))?;
            b = b.tls_certs_merge(certs);
        }
        Ok(Client {
            http: b.build()?,
            address: address.trim_end_matches('/').to_string(),
            namespace,
            token: None,
            token_source: "no token".into(),
        })
    }

    /// Whether conn sends a token (none: a `bao agent` in front of the server adds its own).
    pub(crate) fn has_token(&self) -> bool {
        self.token.is_some()
    }

    pub(crate) fn set_token(&mut self, token: Option<Secret<String>>, source: impl Into<String>) {
        self.token = token;
        self.token_source = source.into();
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut r = self
            .http
            .request(method, format!("{}/v1/{}", self.address, path))
            .header("X-Vault-Request", "true");
        if let Some(ns) = &self.namespace {
            r = r.header("X-Vault-Namespace", ns);
        }
        if let Some(t) = &self.token {
            r = r.header("X-Vault-Token", t.expose());
        }
        r
    }

    /// Sends, retrying while a KV mount is upgrading and briefly on 429; classifies transport
    /// failures. Returns status, `Date` header and body for every HTTP answer.
    fn send(
        &self,
        build: &dyn Fn() -> RequestBuilder,
    ) -> VResult<(u16, Option<SystemTime>, String)> {
        let start = Instant::now();
        let mut rate_limited = 0;
        loop {
            let resp: Response = build().send().map_err(|e| self.transport(&e))?;
            let status = resp.status().as_u16();
            let date = resp
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|d| d.to_str().ok())
                .and_then(|d| httpdate::parse_http_date(d).ok());
            let body = resp.text().unwrap_or_default();
            if status == 400 && body.contains(UPGRADING) {
                if start.elapsed() < UPGRADE_WAIT {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
                return Err(VaultError::new(
                    Kind::Upgrading,
                    format!(
                        "the KV mount at {} is being upgraded; try again in a moment",
                        self.address
                    ),
                ));
            }
            if status == 429 && rate_limited < 3 {
                rate_limited += 1;
                std::thread::sleep(Duration::from_millis(250 << rate_limited));
                continue;
            }
            return Ok((status, date, body));
        }
    }

    fn transport(&self, e: &reqwest::Error) -> VaultError {
        let text = crate::core::error::chain_text(e);
        let lower = text.to_lowercase();
        if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
            let reason = if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
                "certificate signed by an unknown authority"
            } else if lower.contains("corrupt message") || lower.contains("invalidcontenttype") {
                "the server does not speak TLS; use http:// for it (loopback only)"
            } else {
                "TLS handshake failed"
            };
            return VaultError::new(
                Kind::Tls,
                format!(
                    "could not talk to Vault/OpenBao at {}: {reason}; the TLS certificate is not trusted. Set BAO_CACERT (or VAULT_CACERT) to the server's CA file",
                    self.address
                ),
            );
        }
        let why = if e.is_timeout() {
            "timed out"
        } else if lower.contains("refused") {
            "connection refused"
        } else {
            "no connection"
        };
        VaultError::new(
            Kind::Unreachable,
            format!(
                "could not reach Vault/OpenBao at {} ({why}); conn did not change anything. Check the team store's address ('conn store list') or CONN_VAULT_ADDR / BAO_ADDR",
                self.address
            ),
        )
    }

    /// Turns a non-success answer into an error. A 403 is told apart by `lookup-self`: a token
    /// that is itself refused is invalid or expired; otherwise the policies deny `what`.
    fn fail(&self, status: u16, body: &str, path: &str, what: &str) -> VaultError {
        let errors = errors_text(body);
        match status {
            503 => VaultError::new(
                Kind::Sealed,
                format!(
                    "Vault/OpenBao at {} is sealed ({}); secrets can't be read until an operator unseals it",
                    self.address,
                    if errors.is_empty() { "503" } else { &errors }
                ),
            ),
            403 => match self.lookup_self_raw() {
                Ok(info) => {
                    let policies = info
                        .get("policies")
                        .and_then(|p| p.as_array())
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default();
                    VaultError::new(
                        Kind::Denied,
                        format!(
                            "permission denied: the Vault token's policies ({policies}) do not allow {what} on {path}"
                        ),
                    )
                }
                Err(e) if e.kind == Kind::BadToken => e,
                Err(e) => e,
            },
            400 if body.contains(CAS_MISMATCH) => {
                VaultError::new(Kind::CasMismatch, format!("{path}: {CAS_MISMATCH}"))
            }
            400 if body.contains("Client sent an HTTP request to an HTTPS server") => {
                VaultError::new(
                    Kind::Tls,
                    format!(
                        "{} serves HTTPS; use an https:// address (and BAO_CACERT for its CA)",
                        self.address
                    ),
                )
            }
            404 if body.contains("no handler for route") => VaultError::new(
                Kind::Mount,
                format!(
                    "no secrets engine is mounted for {path}{} ({errors})",
                    self.ns_text()
                ),
            ),
            307 | 308 => VaultError::new(
                Kind::Other,
                format!(
                    "{} redirected to another node (HTTP {status}, a standby); point conn at the active node or the load balancer",
                    self.address
                ),
            ),
            _ => VaultError::new(
                Kind::Other,
                format!(
                    "Vault/OpenBao answered HTTP {status} to {what} on {path}{}",
                    if errors.is_empty() {
                        String::new()
                    } else {
                        format!(": {errors}")
                    }
                ),
            ),
        }
    }

    fn ns_text(&self) -> String {
        self.namespace
            .as_ref()
            .map(|n| format!(" in namespace {n}"))
            .unwrap_or_default()
    }

    fn bad_token(&self) -> VaultError {
        let msg = if self.token.is_none() {
            "no Vault token was found (looked at CONN_VAULT_TOKEN, BAO_TOKEN, VAULT_TOKEN, an AppRole in CONN_VAULT_ROLE_ID/CONN_VAULT_SECRET_ID, the token helper and ~/.vault-token); log in with 'bao login' or point conn at a 'bao agent'".to_string()
        } else {
            format!(
                "the Vault token (from {}) is invalid or expired; log in again ('bao login ...') or, on a cron host, check the AppRole secret_id",
                self.token_source
            )
        };
        VaultError::new(Kind::BadToken, msg)
    }

    fn lookup_self_raw(&self) -> VResult<Value> {
        let (status, _, body) =
            self.send(&|| self.request(Method::GET, "auth/token/lookup-self"))?;
        match status {
            200 => Ok(parse(&body).get("data").cloned().unwrap_or(Value::Null)),
            403 | 400 | 401 => Err(self.bad_token()),
            503 => Err(self.fail(503, &body, "auth/token/lookup-self", "read")),
            _ => Err(VaultError::new(
                Kind::Other,
                format!("auth/token/lookup-self answered HTTP {status}"),
            )),
        }
    }

    /// `auth/token/lookup-self`: the token's `data` (policies, ttl, expire_time, display_name…).
    pub(crate) fn lookup_self(&self) -> VResult<Value> {
        self.lookup_self_raw()
    }

    /// `sys/health`, answering 200 even when sealed or uninitialized so the body is read.
    pub(crate) fn health(&self) -> VResult<Health> {
        let (status, _, body) = self.send(&|| {
            self.request(
                Method::GET,
                "sys/health?sealedcode=200&uninitcode=200&standbycode=200&perfstandbyok=true",
            )
        })?;
        if status != 200 {
            return Err(self.fail(status, &body, "sys/health", "read"));
        }
        let v = parse(&body);
        Ok(Health {
            initialized: v["initialized"].as_bool().unwrap_or(false),
            sealed: v["sealed"].as_bool().unwrap_or(false),
            standby: v["standby"].as_bool().unwrap_or(false),
            version: v["version"].as_str().unwrap_or("?").to_string(),
            server_time: v["server_time_utc"].as_u64(),
        })
    }

    /// The mount serving `path` (e.g. `secret/conn/acme`), as the bao CLI discovers it. Works
    /// for limited tokens, where `sys/mounts` is forbidden.
    pub(crate) fn mount_of(&self, path: &str) -> VResult<Mount> {
        let p = format!("sys/internal/ui/mounts/{path}");
        let (status, _, body) = self.send(&|| self.request(Method::GET, &p))?;
        match status {
            200 => {
                let v = parse(&body);
                let d = &v["data"];
                Ok(Mount {
                    path: d["path"].as_str().unwrap_or_default().to_string(),
                    kind: d["type"].as_str().unwrap_or_default().to_string(),
                    version: d["options"]["version"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                })
            }
            403 if body.contains("preflight capability check") => Err(VaultError::new(
                Kind::Mount,
                format!(
                    "no access to, or no KV mount at, {path}{} (the token's policies grant nothing there)",
                    self.ns_text()
                ),
            )),
            403 => Err(self
                .lookup_self_raw()
                .err()
                .unwrap_or_else(|| VaultError::new(Kind::Mount, format!("no access to {path}")))),
            _ => Err(self.fail(status, &body, &p, "read")),
        }
    }

    /// Reads the latest version of a KV v2 entry at `data_path` (`<mount>/data/<key>`).
    /// `None` when there is none, or the latest is deleted or destroyed.
    pub(crate) fn read(&self, data_path: &str) -> VResult<Option<Versioned>> {
        let (status, date, body) = self.send(&|| self.request(Method::GET, data_path))?;
        match status {
            200 => {
                let v = parse(&body);
                let d = &v["data"];
                Ok(Some(Versioned {
                    version: d["metadata"]["version"].as_u64().unwrap_or(0),
                    data: d["data"].as_object().cloned().unwrap_or_default(),
                    created_time: d["metadata"]["created_time"]
                        .as_str()
                        .and_then(|t| humantime::parse_rfc3339_weak(t).ok()),
                    server_now: date,
                }))
            }
            404 if !body.contains("no handler for route") => Ok(None),
            _ => Err(self.fail(status, &body, data_path, "read")),
        }
    }

    /// The current version of `data_path` including a soft-deleted latest one (0: none), for
    /// the `cas` of the next write.
    pub(crate) fn current_version(&self, data_path: &str) -> VResult<u64> {
        let (status, _, body) = self.send(&|| self.request(Method::GET, data_path))?;
        match status {
            200 => Ok(parse(&body)["data"]["metadata"]["version"]
                .as_u64()
                .unwrap_or(0)),
            404 if !body.contains("no handler for route") => {
                Ok(parse(&body)["data"]["metadata"]["version"]
                    .as_u64()
                    .unwrap_or(0))
            }
            _ => Err(self.fail(status, &body, data_path, "read")),
        }
    }

    /// Writes a new version with check-and-set: `cas` 0 creates only; N updates version N only.
    /// A lost race is `Kind::CasMismatch`. Returns the new version.
    pub(crate) fn write(&self, data_path: &str, data: &Value, cas: u64) -> VResult<u64> {
        let body = json!({ "options": { "cas": cas }, "data": data });
        let (status, _, text) = self.send(&|| self.request(Method::POST, data_path).json(&body))?;
        match status {
            200 | 204 => Ok(parse(&text)["data"]["version"].as_u64().unwrap_or(cas + 1)),
            _ => Err(self.fail(
                status,
                &text,
                data_path,
                if cas == 0 { "'create'" } else { "'update'" },
            )),
        }
    }

    /// Key names under `metadata_path` (folders end in `/`); an empty or missing folder is empty.
    pub(crate) fn list(&self, metadata_path: &str) -> VResult<Vec<String>> {
        let list = Method::from_bytes(b"LIST").expect("LIST is a valid method");
        let (status, _, body) = self.send(&|| self.request(list.clone(), metadata_path))?;
        match status {
            200 => Ok(parse(&body)["data"]["keys"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|k| k.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()),
            404 if !body.contains("no handler for route") => Ok(Vec::new()),
            _ => Err(self.fail(status, &body, metadata_path, "'list'")),
        }
    }

    /// Deletes every version and the metadata of a key (`DELETE <mount>/metadata/<key>`).
    pub(crate) fn delete_all(&self, metadata_path: &str) -> VResult<()> {
        let (status, _, body) = self.send(&|| self.request(Method::DELETE, metadata_path))?;
        match status {
            200 | 204 | 404 => Ok(()),
            _ => Err(self.fail(status, &body, metadata_path, "'delete'")),
        }
    }

    /// Sets per-key KV metadata (`max_versions`, `cas_required`, `custom_metadata`).
    pub(crate) fn write_metadata(&self, metadata_path: &str, body: &Value) -> VResult<()> {
        let (status, _, text) =
            self.send(&|| self.request(Method::POST, metadata_path).json(body))?;
        match status {
            200 | 204 => Ok(()),
            _ => Err(self.fail(status, &text, metadata_path, "'update' (metadata)")),
        }
    }

    /// `sys/capabilities-self`: the token's capabilities on each path (`["deny"]` when none).
    pub(crate) fn capabilities(&self, paths: &[String]) -> VResult<BTreeMap<String, Vec<String>>> {
        let body = json!({ "paths": paths });
        let (status, _, text) = self.send(&|| {
            self.request(Method::POST, "sys/capabilities-self")
                .json(&body)
        })?;
        if status != 200 {
            return Err(self.fail(status, &text, "sys/capabilities-self", "update"));
        }
        let v = parse(&text);
        let src = v.get("data").filter(|d| d.is_object()).unwrap_or(&v);
        Ok(paths
            .iter()
            .map(|p| {
                let caps = src[p.as_str()]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|c| c.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_else(|| vec!["deny".to_string()]);
                (p.clone(), caps)
            })
            .collect())
    }

    /// AppRole login (`auth/approle/login`, or `auth/<mount>/login`): the client token and its
    /// lease in seconds.
    pub(crate) fn approle_login(
        &self,
        mount: &str,
        role_id: &str,
        secret_id: &Secret<String>,
    ) -> VResult<(Secret<String>, u64)> {
        let p = format!("auth/{mount}/login");
        let body = json!({ "role_id": role_id, "secret_id": secret_id.expose() });
        let (status, _, text) = self.send(&|| {
            self.http
                .post(format!("{}/v1/{p}", self.address))
                .header("X-Vault-Request", "true")
                .headers(self.ns_headers())
                .json(&body)
        })?;
        match status {
            200 => {
                let v = parse(&text);
                let token = v["auth"]["client_token"].as_str().ok_or_else(|| {
                    VaultError::new(Kind::Other, "the AppRole login returned no token")
                })?;
                Ok((
                    Secret::new(token.to_string()),
                    v["auth"]["lease_duration"].as_u64().unwrap_or(0),
                ))
            }
            400 => Err(VaultError::new(
                Kind::BadToken,
                format!(
                    "the AppRole login at {} was refused ({}); check CONN_VAULT_ROLE_ID and the secret_id (CONN_VAULT_SECRET_ID or CONN_VAULT_SECRET_ID_FILE)",
                    self.address,
                    errors_text(&text)
                ),
            )),
            _ => Err(self.fail(status, &text, &p, "login")),
        }
    }

    fn ns_headers(&self) -> reqwest::header::HeaderMap {
        let mut h = reqwest::header::HeaderMap::new();
        if let Some(ns) = &self.namespace
            && let Ok(v) = reqwest::header::HeaderValue::from_str(ns)
        {
            h.insert("X-Vault-Namespace", v);
        }
        h
    }
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or(Value::Null)
}

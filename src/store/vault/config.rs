//! Where a team store is and which token conn sends to it: the saved `[teams.NAME]` settings,
//! overridden by `CONN_VAULT_*`, with the bao/vault CLI's `BAO_*` / `VAULT_*` conventions
//! below them. An ambient token (`BAO_TOKEN`, `VAULT_TOKEN`, the token helper,
//! `~/.vault-token`) is only ever sent to the server those variables point at.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::client::Client;
use crate::core::env::Env;
use crate::core::paths::Paths;
use crate::core::secret::Secret;

/// A team store as saved in connections.toml under `[teams.NAME]` (no secrets).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct TeamSettings {
    /// e.g. `https://bao.example.com:8200`.
    pub(crate) address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) namespace: Option<String>,
    /// The KV v2 mount, e.g. `secret`.
    #[serde(default = "default_mount")]
    pub(crate) mount: String,
    /// The team's entries live under `<prefix>/<team>/`.
    #[serde(default = "default_prefix")]
    pub(crate) prefix: String,
    /// AppRole role_id for cron hosts (not a secret); the secret_id comes from the environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) role_id: Option<String>,
}

pub(crate) fn default_mount() -> String {
    "secret".into()
}

pub(crate) fn default_prefix() -> String {
    "conn".into()
}

/// Where each resolved value came from, for `conn doctor` and error messages.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) address: String,
    pub(crate) address_source: String,
    pub(crate) namespace: Option<String>,
    pub(crate) namespace_source: Option<String>,
    pub(crate) ca_file: Option<(PathBuf, String)>,
}

/// Per-request timeout for Vault calls; conn fails fast when the store is down.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// `CONN_VAULT_ADDR` > settings > `BAO_ADDR` > `VAULT_ADDR`, and the same order for the
/// namespace; the CA from `CONN_VAULT_CACERT` > `BAO_CACERT` > `VAULT_CACERT`.
pub(crate) fn resolve(env: &Env, s: &TeamSettings) -> Result<Resolved> {
    let pick = |conn: &str, saved: Option<&str>, bao: &str, vault: &str| {
        env.get(conn)
            .map(|v| (v.to_string(), conn.to_string()))
            .or(saved
                .filter(|v| !v.is_empty())
                .map(|v| (v.to_string(), "the team store's settings".to_string())))
            .or(env.get(bao).map(|v| (v.to_string(), bao.to_string())))
            .or(env.get(vault).map(|v| (v.to_string(), vault.to_string())))
    };
    let (address, address_source) = pick(
        "CONN_VAULT_ADDR",
        Some(&s.address),
        "BAO_ADDR",
        "VAULT_ADDR",
    )
    .context("the team store has no address; set it with 'conn store add NAME --vault-addr URL'")?;
    check_address(&address)?;
    let ns = pick(
        "CONN_VAULT_NAMESPACE",
        s.namespace.as_deref(),
        "BAO_NAMESPACE",
        "VAULT_NAMESPACE",
    );
    let ca_file = ["CONN_VAULT_CACERT", "BAO_CACERT", "VAULT_CACERT"]
        .iter()
        .find_map(|v| env.get(v).map(|p| (PathBuf::from(p), v.to_string())));
    for v in ["BAO_SKIP_VERIFY", "VAULT_SKIP_VERIFY"] {
        if env.get(v).is_some_and(|x| x != "0" && x != "false") {
            bail!(
                "{v} is set, but conn never turns off TLS verification for a team store; give the server's CA with BAO_CACERT instead"
            );
        }
    }
    Ok(Resolved {
        address: address.trim_end_matches('/').to_string(),
        address_source,
        namespace: ns.as_ref().map(|(n, _)| n.trim_matches('/').to_string()),
        namespace_source: ns.map(|(_, s)| s),
        ca_file,
    })
}

/// An `http://` address is refused unless it is loopback: tokens would cross the network in
/// clear text.
pub(crate) fn check_address(address: &str) -> Result<()> {
    let url = url::Url::parse(address)
        .with_context(|| format!("{address:?} is not a URL (e.g. https://bao.example.com:8200)"))?;
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(d)) => d == "localhost",
                None => false,
            };
            if loopback {
                Ok(())
            } else {
                bail!(
                    "{address}: conn sends Vault tokens only over https (http:// is allowed for loopback, e.g. a local 'bao agent')"
                )
            }
        }
        other => bail!("{address}: unsupported scheme {other}; use https://"),
    }
}

/// A client for the resolved server with the best token available, or none (a `bao agent`
/// proxy adds its own). Order: `CONN_VAULT_TOKEN`, `BAO_TOKEN`, `VAULT_TOKEN`, AppRole
/// (`CONN_VAULT_ROLE_ID` or the saved role_id, with `CONN_VAULT_SECRET_ID` or
/// `CONN_VAULT_SECRET_ID_FILE`; the token is cached per host), the token helper of `~/.bao`
/// then `~/.vault`, `~/.vault-token`.
pub(crate) fn connect(env: &Env, paths: &Paths, s: &TeamSettings, r: &Resolved) -> Result<Client> {
    let ca = match &r.ca_file {
        Some((p, var)) => Some(
            std::fs::read(p)
                .with_context(|| format!("could not read the CA file {} ({var})", p.display()))?,
        ),
        None => None,
    };
    let mut client = Client::new(&r.address, r.namespace.clone(), ca.as_deref(), TIMEOUT)?;
    if let Some(t) = env.get("CONN_VAULT_TOKEN") {
        client.set_token(Some(Secret::new(t.to_string())), "CONN_VAULT_TOKEN");
        return Ok(client);
    }
    let ambient_ok = ambient_allowed(env, &r.address);
    if ambient_ok {
        for v in ["BAO_TOKEN", "VAULT_TOKEN"] {
            if let Some(t) = env.get(v) {
                client.set_token(Some(Secret::new(t.to_string())), v);
                return Ok(client);
            }
        }
    }
    let role_id = env
        .get("CONN_VAULT_ROLE_ID")
        .map(str::to_string)
        .or(s.role_id.clone());
    if let Some(role_id) = role_id {
        let secret_id = match (
            env.get("CONN_VAULT_SECRET_ID"),
            env.get("CONN_VAULT_SECRET_ID_FILE"),
        ) {
            (Some(v), _) => Some(Secret::new(v.to_string())),
            (None, Some(f)) => Some(Secret::new(
                std::fs::read_to_string(f)
                    .with_context(|| format!("could not read CONN_VAULT_SECRET_ID_FILE={f}"))?
                    .trim()
                    .to_string(),
            )),
            (None, None) => None,
        };
        if let Some(secret_id) = secret_id {
            let mount = env.get("CONN_VAULT_APPROLE_MOUNT").unwrap_or("approle");
            let (token, source) =
                super::approle::token(paths, &client, mount, &role_id, &secret_id)?;
            client.set_token(Some(token), source);
            return Ok(client);
        }
    }
    if ambient_ok {
        let home = env.get("HOME").map(PathBuf::from);
        if let Some(home) = &home {
            for cfg in [".bao", ".vault"] {
                if let Some(helper) = token_helper(&home.join(cfg)) {
                    let t = run_helper(&helper, &r.address)?;
                    if let Some(t) = t {
                        client.set_token(
                            Some(t),
                            format!("the token helper {} (~/{cfg})", helper.display()),
                        );
                        return Ok(client);
                    }
                }
            }
            let file = home.join(".vault-token");
            if let Ok(t) = std::fs::read_to_string(&file)
                && !t.trim().is_empty()
            {
                client.set_token(Some(Secret::new(t.trim().to_string())), "~/.vault-token");
                return Ok(client);
            }
        }
    }
    Ok(client)
}

/// Ambient credentials belong to the server `BAO_ADDR` (else `VAULT_ADDR`) names, or to any
/// when neither is set.
pub(crate) fn ambient_allowed(env: &Env, address: &str) -> bool {
    match env.get("BAO_ADDR").or(env.get("VAULT_ADDR")) {
        None => true,
        Some(a) => same_server(a, address),
    }
}

fn same_server(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(x), Ok(y)) => x.origin() == y.origin(),
        _ => a.trim_end_matches('/') == b.trim_end_matches('/'),
    }
}

/// `token_helper = "/path"` from a bao/vault CLI config file.
fn token_helper(config: &std::path::Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(config).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == "token_helper").then(|| PathBuf::from(v.trim().trim_matches('"')))
    })
}

/// Runs `helper get` (the Vault token helper protocol): the token on stdout, exit 0.
fn run_helper(helper: &std::path::Path, address: &str) -> Result<Option<Secret<String>>> {
    let out = std::process::Command::new(helper)
        .arg("get")
        .env("BAO_ADDR", address)
        .env("VAULT_ADDR", address)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .with_context(|| format!("could not run the token helper {}", helper.display()))?;
    if !out.status.success() {
        bail!(
            "the token helper {} failed ({}); fix it or log in again with 'bao login'",
            helper.display(),
            out.status
        );
    }
    let t = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok((!t.is_empty()).then(|| Secret::new(t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(address: &str, namespace: Option<&str>) -> TeamSettings {
        TeamSettings {
            address: address.into(),
            namespace: namespace.map(str::to_string),
            mount: default_mount(),
            prefix: default_prefix(),
            role_id: None,
        }
    }

    #[test]
    fn conn_variables_beat_settings_which_beat_bao_which_beat_vault() {
        let all = [
            ("CONN_VAULT_ADDR", "https://conn.example:8200"),
            ("BAO_ADDR", "https://bao.example:8200"),
            ("VAULT_ADDR", "https://vault.example:8200"),
            ("CONN_VAULT_NAMESPACE", "conn-ns"),
            ("BAO_NAMESPACE", "bao-ns"),
            ("VAULT_NAMESPACE", "vault-ns"),
        ];
        let s = settings("https://saved.example:8200", Some("saved-ns"));
        let r = resolve(&Env::from_pairs(&all), &s).unwrap();
        assert_eq!(r.address, "https://conn.example:8200");
        assert_eq!(r.namespace.as_deref(), Some("conn-ns"));
        let r = resolve(&Env::from_pairs(&all[1..3]), &s).unwrap();
        assert_eq!(r.address, "https://saved.example:8200");
        assert_eq!(r.address_source, "the team store's settings");
        let bao_and_vault = [all[1], all[2], all[4], all[5]];
        let r = resolve(&Env::from_pairs(&bao_and_vault), &settings("", None)).unwrap();
        assert_eq!(r.address, "https://bao.example:8200");
        assert_eq!(r.namespace.as_deref(), Some("bao-ns"));
        let r = resolve(&Env::from_pairs(&all[2..3]), &settings("", None)).unwrap();
        assert_eq!(r.address_source, "VAULT_ADDR");
        assert!(resolve(&Env::default(), &settings("", None)).is_err());
    }

    #[test]
    fn tls_verification_is_never_turned_off() {
        let env = Env::from_pairs(&[("BAO_SKIP_VERIFY", "true")]);
        let err = resolve(&env, &settings("https://b.example:8200", None)).unwrap_err();
        assert!(err.to_string().contains("never turns off TLS verification"));
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(check_address("https://bao.example.com:8200").is_ok());
        assert!(check_address("http://127.0.0.1:8200").is_ok());
        assert!(check_address("http://[::1]:8200").is_ok());
        assert!(check_address("http://localhost:8241").is_ok());
        assert!(check_address("http://bao.example.com:8200").is_err());
        assert!(check_address("ftp://bao.example.com").is_err());
    }

    #[test]
    fn ambient_tokens_belong_to_the_server_bao_addr_names() {
        let addr = "http://127.0.0.1:8200";
        assert!(ambient_allowed(&Env::default(), addr));
        assert!(ambient_allowed(
            &Env::from_pairs(&[("BAO_ADDR", "http://127.0.0.1:8200/")]),
            addr
        ));
        assert!(!ambient_allowed(
            &Env::from_pairs(&[("BAO_ADDR", "http://127.0.0.1:9999")]),
            addr
        ));
        // BAO_ADDR wins over VAULT_ADDR, as in the bao CLI.
        assert!(!ambient_allowed(
            &Env::from_pairs(&[("BAO_ADDR", "http://10.0.0.1:8200"), ("VAULT_ADDR", addr)]),
            addr
        ));
    }
}

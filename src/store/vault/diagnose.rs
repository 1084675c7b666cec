//! What `conn doctor` reports about a team store: the server (health, version, seal, clock
//! skew), TLS, where the token came from and who it is, the mount's KV version, and what
//! this token may do in the team.

use std::time::{SystemTime, UNIX_EPOCH};

use super::error::VaultError;
use super::team::Team;

/// One line of the report: what was checked, whether it is fine, and the detail.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub(crate) check: String,
    pub(crate) ok: bool,
    pub(crate) detail: String,
}

/// Diagnoses `team`, stopping at the first failure that makes later checks meaningless.
pub(crate) fn diagnose(team: &Team) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut add = |what: &str, ok: bool, detail: String| {
        out.push(Finding {
            check: format!("team {} {what}", team.name),
            ok,
            detail,
        })
    };
    let r = &team.resolved;
    let ns = r
        .namespace
        .as_ref()
        .map(|n| {
            format!(
                "; namespace {n} ({})",
                r.namespace_source.as_deref().unwrap_or("?")
            )
        })
        .unwrap_or_default();
    add(
        "address",
        true,
        format!("{} ({}){ns}", r.address, r.address_source),
    );
    if r.address.starts_with("https://") {
        add(
            "TLS",
            true,
            match &r.ca_file {
                Some((p, var)) => format!("CA from {var}={}", p.display()),
                None => "the system's trusted roots".into(),
            },
        );
    }
    match team.client.health() {
        Ok(h) => {
            let skew = h.server_time.map(|server| {
                let local = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                local as i64 - server as i64
            });
            let ok = h.initialized && !h.sealed;
            add(
                "server",
                ok,
                format!(
                    "OpenBao/Vault {}, {}, {}, {}{}",
                    h.version,
                    if h.initialized {
                        "initialized"
                    } else {
                        "NOT initialized"
                    },
                    if h.sealed {
                        "SEALED: secrets can't be read until an operator unseals it"
                    } else {
                        "unsealed"
                    },
                    if h.standby { "standby" } else { "active" },
                    skew.map(|s| format!("; clock skew {s:+} s (sys/health server_time_utc)"))
                        .unwrap_or_default()
                ),
            );
            if !ok {
                return out;
            }
        }
        Err(e) => {
            add("server", false, e.to_string());
            return out;
        }
    }
    match team.client.lookup_self() {
        Ok(d) => {
            let policies = list(&d["policies"]);
            let ttl = d["ttl"].as_u64().unwrap_or(0);
            let expiry = if ttl == 0 {
                "does not expire".to_string()
            } else {
                format!(
                    "expires in {}{}",
                    humantime::format_duration(std::time::Duration::from_secs(ttl)),
                    if ttl < 24 * 3600 {
                        " (within a day)"
                    } else {
                        ""
                    }
                )
            };
            // No token sent, yet the server knows one: a `bao agent` (api_proxy with
            // use_auto_auth_token) added its auto-auth token.
            let source = if team.client.has_token() {
                team.client.token_source.clone()
            } else {
                format!(
                    "the bao agent at {} (conn sends no token; the agent adds its auto-auth token)",
                    team.client.address
                )
            };
            add(
                "token",
                true,
                format!(
                    "from {source}; {}; policies {policies}; {} token{}, {expiry}",
                    d["display_name"].as_str().unwrap_or("?"),
                    d["type"].as_str().unwrap_or("service"),
                    if d["renewable"].as_bool() == Some(true) {
                        ", renewable"
                    } else {
                        ""
                    },
                ),
            );
        }
        Err(e) => {
            add("token", false, e.to_string());
            return out;
        }
    }
    match team.check_mount() {
        Ok(m) => add("mount", true, format!("{m} (sys/internal/ui/mounts)")),
        Err(e) => {
            add("mount", false, e.to_string());
            return out;
        }
    }
    let paths = [
        team.data_path("meta", "x"),
        team.data_path("secrets", "x"),
        format!("{}/metadata/{}/meta", team.mount, team.root),
    ];
    match team.capabilities(&paths) {
        Ok(caps) => {
            let has = |p: &String, c: &str| caps[p].iter().any(|x| x == c || x == "root");
            let yes = |b: bool| if b { "yes" } else { "no" };
            let use_ = has(&paths[1], "read");
            let detail = format!(
                "may list: {}; create connections: {}; use: {}; refresh tokens: {}; delete: {} (sys/capabilities-self under {}/{}/)",
                yes(has(&paths[2], "list")),
                yes(has(&paths[0], "create")),
                yes(use_),
                yes(has(&paths[1], "update")),
                yes(has(&paths[0], "delete")),
                team.mount,
                team.root
            );
            add("access", true, detail);
            if !use_ {
                add(
                    "access",
                    true,
                    "this token may only monitor: no secret values readable".into(),
                );
            }
        }
        Err(e) => add("access", false, e.to_string()),
    }
    match team.list_names() {
        Ok(n) => add("connections", true, format!("{} connection(s)", n.len())),
        Err(e) => add("connections", false, explain(e)),
    }
    out
}

fn explain(e: VaultError) -> String {
    e.to_string()
}

fn list(v: &serde_json::Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

//! AppRole tokens for cron hosts, cached per host in a 0600 file and reused until two thirds
//! of their lease have passed, so a cron job does not log in (and create a lease) every run.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::client::Client;
use crate::core::paths::Paths;
use crate::core::secret::Secret;
use crate::store::fsio;

#[derive(Serialize, Deserialize)]
struct Cached {
    token: String,
    /// Unix seconds.
    obtained_at: u64,
    /// Lease in seconds; 0 means the token does not expire.
    ttl: u64,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The cache file for this server, namespace, AppRole mount and role.
pub(crate) fn cache_file(
    paths: &Paths,
    client: &Client,
    mount: &str,
    role_id: &str,
) -> Result<std::path::PathBuf> {
    let mut h = Sha256::new();
    for part in [
        client.address.as_str(),
        client.namespace.as_deref().unwrap_or(""),
        mount,
        role_id,
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let hex: String = h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = paths.data_dir.join("vault-tokens");
    fsio::ensure_private_dir(&dir)?;
    Ok(dir.join(format!("approle-{hex}.json")))
}

/// A token for the AppRole: the cached one while less than 2/3 of its lease has passed,
/// else a new login (saved before use). Returns the token and a description of its source.
pub(crate) fn token(
    paths: &Paths,
    client: &Client,
    mount: &str,
    role_id: &str,
    secret_id: &Secret<String>,
) -> Result<(Secret<String>, String)> {
    let file = cache_file(paths, client, mount, role_id)?;
    // One login at a time per host: parallel cron jobs share the first one's token.
    let _guard = fsio::lock_exclusive(&file.with_extension("lock"))?;
    if let Ok(bytes) = std::fs::read(&file)
        && let Ok(c) = serde_json::from_slice::<Cached>(&bytes)
        && (c.ttl == 0 || now() < c.obtained_at + c.ttl * 2 / 3)
    {
        return Ok((
            Secret::new(c.token),
            format!("AppRole (cached in {})", file.display()),
        ));
    }
    let (token, ttl) = client.approle_login(mount, role_id, secret_id)?;
    let c = Cached {
        token: token.expose().clone(),
        obtained_at: now(),
        ttl,
    };
    fsio::write_atomic(&file, &serde_json::to_vec(&c)?)?;
    Ok((
        token,
        format!("AppRole login (cached in {})", file.display()),
    ))
}

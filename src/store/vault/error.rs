//! What can go wrong talking to Vault/OpenBao, classified from the exact responses the
//! server gives (see docs/team-store.md), each with the sentence a person needs.

use std::fmt;

/// The class of a Vault failure; commands map it to exit codes and check statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// No TCP connection, or a timeout: the server is down or the address is wrong.
    Unreachable,
    /// The TLS handshake failed, usually an untrusted CA.
    Tls,
    /// 503 "Vault is sealed".
    Sealed,
    /// 403 and `auth/token/lookup-self` 403 too: the token is missing, invalid or expired.
    BadToken,
    /// 403 with a valid token: the token's policies do not allow this.
    Denied,
    /// 400 "check-and-set parameter did not match the current version".
    CasMismatch,
    /// 400 "Upgrading from non-versioned to versioned data": a KV mount finishing its upgrade.
    Upgrading,
    /// No KV v2 mount at the path, or a KV version 1 mount (refused: it ignores CAS).
    Mount,
    /// Anything else (5xx, unexpected bodies, 429 after retries).
    Other,
}

/// A classified Vault failure; `Display` is the message for a person.
#[derive(Debug, Clone)]
pub(crate) struct VaultError {
    pub(crate) kind: Kind,
    pub(crate) message: String,
}

impl VaultError {
    pub(crate) fn new(kind: Kind, message: impl Into<String>) -> Self {
        VaultError {
            kind,
            message: message.into(),
        }
    }

    /// Unreachable and sealed are temporary: the credential itself may be fine, so `check`
    /// reports UNKNOWN rather than a broken connection.
    pub(crate) fn is_temporary(&self) -> bool {
        matches!(
            self.kind,
            Kind::Unreachable | Kind::Sealed | Kind::Upgrading
        )
    }
}

impl fmt::Display for VaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for VaultError {}

/// The `errors` array of a Vault error body, joined; the raw text when it is not JSON.
pub(crate) fn errors_text(body: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) => match v.get("errors").and_then(|e| e.as_array()) {
            Some(a) => a
                .iter()
                .filter_map(|x| x.as_str())
                .map(|s| s.trim().replace("\n\t* ", " ").replace('\n', " "))
                .collect::<Vec<_>>()
                .join("; "),
            None => String::new(),
        },
        Err(_) => body.trim().chars().take(200).collect(),
    }
}

/// The vault error in an anyhow chain, if any.
pub(crate) fn find(e: &anyhow::Error) -> Option<&VaultError> {
    e.chain().find_map(|c| c.downcast_ref::<VaultError>())
}

//! The OS keychain (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows)
//! through the keyring crate. Every call runs on a worker thread with a deadline, so a locked or
//! hung keychain becomes an error that says what to do instead of a hang.

use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Result, anyhow};

use super::{SecretBundle, SecretStore};
use crate::core::env::Env;

/// The keychain service name under which every conn item is stored; the item's user is the
/// connection id.
pub(crate) const SERVICE: &str = "conn";
const PROBE_USER: &str = "conn-probe";

#[derive(Debug, Clone)]
pub(crate) struct Keychain {
    timeout: Duration,
}

impl Keychain {
    /// `CONN_KEYCHAIN_TIMEOUT` (seconds, default 10) bounds each keychain call.
    pub(crate) fn new(env: &Env) -> Self {
        let secs = env
            .get("CONN_KEYCHAIN_TIMEOUT")
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| *s > 0.0)
            .unwrap_or(10.0);
        Keychain {
            timeout: Duration::from_secs_f64(secs),
        }
    }

    /// Succeeds when the keychain answers a lookup (finding nothing counts as an answer).
    pub(crate) fn probe(&self) -> Result<()> {
        self.call(|| {
            let entry = keyring::Entry::new(SERVICE, PROBE_USER)?;
            match entry.get_password() {
                Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(e),
            }
        })
    }

    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> keyring::Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("keychain".into())
            .spawn(move || {
                let _ = tx.send(f());
            })?;
        match rx.recv_timeout(self.timeout) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(anyhow!(describe(&e))),
            Err(_) => Err(anyhow!(
                "the OS keychain did not answer within {:.0}s (is it locked, or waiting for an unlock prompt no one can see?); unlock it, or set CONN_SECRET_STORE=file to use the encrypted file store",
                self.timeout.as_secs_f64()
            )),
        }
    }
}

fn describe(e: &keyring::Error) -> String {
    match e {
        keyring::Error::NoStorageAccess(inner) => {
            format!("the OS keychain refused access ({inner}); unlock it and try again")
        }
        keyring::Error::PlatformFailure(inner) => format!("the OS keychain failed: {inner}"),
        keyring::Error::NoDefaultStore => {
            "no keychain service was found (on Linux, a Secret Service such as gnome-keyring on the D-Bus session bus)".to_string()
        }
        other => format!("keychain error: {other}"),
    }
}

impl SecretStore for Keychain {
    fn location(&self) -> String {
        format!("OS keychain, service \"{SERVICE}\"")
    }

    fn get(&self, id: &str) -> Result<Option<SecretBundle>> {
        let id = id.to_string();
        let text = self.call(move || {
            let entry = keyring::Entry::new(SERVICE, &id)?;
            match entry.get_password() {
                Ok(p) => Ok(Some(p)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        match text {
            None => Ok(None),
            Some(t) => {
                let value: serde_json::Value = serde_json::from_str(&t).map_err(|_| {
                    anyhow!("the keychain item for this connection is not conn's format")
                })?;
                Ok(Some(SecretBundle::from_json_value(&value)?))
            }
        }
    }

    fn put(&self, id: &str, bundle: &SecretBundle) -> Result<()> {
        let id = id.to_string();
        let text = zeroize::Zeroizing::new(bundle.to_json_value().to_string());
        self.call(move || keyring::Entry::new(SERVICE, &id)?.set_password(&text))
    }

    fn delete(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.call(
            move || match keyring::Entry::new(SERVICE, &id)?.delete_credential() {
                Ok(()) => Ok(true),
                Err(keyring::Error::NoEntry) => Ok(false),
                Err(e) => Err(e),
            },
        )
    }
}

//! The OS keychain (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows)
//! through the keyring crate. Every call runs on a worker thread with a deadline, so a locked or
//! hung keychain becomes an error that says what to do instead of a hang.

use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Result, anyhow};

use super::keychain_health::{self, Finding};
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

    /// A real round trip: the Secret Service's state first (a locked or missing default
    /// collection is an error saying the way out, before anything could trigger an unlock
    /// prompt no one sees), then an item written, read back and deleted. Returns what is wrong
    /// but does not stop the keychain from working (duplicate items).
    pub(crate) fn probe(&self) -> Result<Vec<Finding>> {
        let findings = self.within(|| keychain_health::examine(SERVICE))?;
        if let Some(blocking) = findings
            .iter()
            .find(|f| !matches!(f, Finding::Duplicates(_)))
        {
            return Err(anyhow!(blocking.explain()));
        }
        let value = format!("probe-{}", std::process::id());
        let expect = value.clone();
        self.call(None, move || {
            let entry = keyring::Entry::new(SERVICE, PROBE_USER)?;
            entry.set_password(&value)?;
            let back = entry.get_password();
            let _ = entry.delete_credential();
            match back {
                Ok(v) if v == expect => Ok(()),
                Ok(_) => Err(keyring::Error::Invalid(
                    "probe".into(),
                    "the keychain returned another value than was written".into(),
                )),
                Err(e) => Err(e),
            }
        })?;
        Ok(findings)
    }

    /// Runs `f` on a worker thread for at most the keychain timeout.
    fn within<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("keychain".into())
            .spawn(move || {
                let _ = tx.send(f());
            })?;
        match rx.recv_timeout(self.timeout) {
            Ok(r) => r,
            Err(_) => Err(anyhow!(
                "the OS keychain did not answer within {:.0}s (is it locked, or waiting for an unlock prompt no one can see?); unlock it in your desktop session, or set CONN_SECRET_STORE=file to use the encrypted file store",
                self.timeout.as_secs_f64()
            )),
        }
    }

    /// A keyring call for connection `id` (when there is one), its error in words.
    fn call<T: Send + 'static>(
        &self,
        id: Option<&str>,
        f: impl FnOnce() -> keyring::Result<T> + Send + 'static,
    ) -> Result<T> {
        let id = id.map(str::to_string);
        self.within(move || f().map_err(|e| anyhow!(describe(&e, id.as_deref()))))
    }
}

/// A keyring error as the cause in words and the way out; never the crate's debug output
/// (which lists D-Bus object paths).
fn describe(e: &keyring::Error, id: Option<&str>) -> String {
    let id = id.unwrap_or("ID");
    match e {
        keyring::Error::Ambiguous(items) => format!(
            "the keychain holds {} items for this connection (service {SERVICE}, username {id}), from a restore, a sync or another tool, and conn can't tell which is current. Replace them with one by signing in again ('conn reauth NAME'), or delete them: secret-tool clear service {SERVICE} username {id}",
            items.len()
        ),
        keyring::Error::NoStorageAccess(inner) => format!(
            "the OS keychain is locked and could not be unlocked here ({inner}): unlock it in your desktop session (log in graphically, or unlock the Login keyring in Passwords and Keys / seahorse), or use the encrypted file store with CONN_SECRET_STORE=file"
        ),
        keyring::Error::PlatformFailure(inner) => format!(
            "the OS keychain failed ({inner}); 'conn doctor' examines it, and CONN_SECRET_STORE=file uses the encrypted file store instead"
        ),
        keyring::Error::NoDefaultStore => {
            "no keychain service was found (on Linux, a Secret Service such as gnome-keyring on the D-Bus session bus); use the encrypted file store with CONN_SECRET_STORE=file".to_string()
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
        let text = self.call(Some(&id.clone()), move || {
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
        self.call(Some(&id.clone()), move || {
            let entry = keyring::Entry::new(SERVICE, &id)?;
            match entry.set_password(&text) {
                // Copies of the item (a restore, a sync): the whole bundle is being replaced,
                // so they all go and one item holds it.
                Err(keyring::Error::Ambiguous(copies)) => {
                    for c in copies {
                        c.delete_credential()?;
                    }
                    entry.set_password(&text)
                }
                other => other,
            }
        })
    }

    fn delete(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.call(Some(&id.clone()), move || {
            match keyring::Entry::new(SERVICE, &id)?.delete_credential() {
                Ok(()) => Ok(true),
                Err(keyring::Error::NoEntry) => Ok(false),
                Err(e) => Err(e),
            }
        })
    }
}

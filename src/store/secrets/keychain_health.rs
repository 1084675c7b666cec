//! What the keyring crate does not tell: the state of the Secret Service behind the OS keychain
//! (Linux). Whether there is a default collection, whether it is locked (then any write would
//! ask for an unlock prompt that no one may see), and which connections have more than one
//! item (a restore, a sync or another tool made copies, and conn can't tell which is current).
//! Other platforms have none of these states; `examine` reports nothing there.

/// One thing wrong with the keychain, in the user's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Finding {
    /// There is no default collection (keyring) to store items in.
    NoDefaultCollection,
    /// The default collection is locked; `label` is what the desktop calls it ("Login").
    Locked { label: String },
    /// Connection ids (the item's user) with more than one item, and how many.
    Duplicates(Vec<(String, usize)>),
}

impl Finding {
    /// What is wrong, and the way out.
    pub(crate) fn explain(&self) -> String {
        match self {
            Finding::NoDefaultCollection => "the Secret Service has no default keyring to store secrets in. Create one (e.g. in Passwords and Keys / seahorse: a new Password Keyring, set as default), or use the encrypted file store: CONN_SECRET_STORE=file".to_string(),
            Finding::Locked { label } => format!(
                "the keychain's default collection '{label}' is locked, and unlocking it needs a prompt on your desktop. Unlock it there (log in graphically, or open Passwords and Keys / seahorse and unlock '{label}'), or use the encrypted file store: CONN_SECRET_STORE=file"
            ),
            Finding::Duplicates(ids) => {
                let each: Vec<String> = ids
                    .iter()
                    .map(|(id, n)| format!("{n} items for id {id}"))
                    .collect();
                format!(
                    "duplicate keychain items ({}): conn can't tell which is current. 'conn reauth NAME' replaces them with one, or delete them with 'secret-tool clear service conn username ID' ('conn show NAME --json' shows a connection's id)",
                    each.join(", ")
                )
            }
        }
    }
}

/// Examines the Secret Service for `service`'s items. Errors: the Secret Service can't be
/// reached (no D-Bus session, no daemon).
#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
pub(crate) fn examine(service: &str) -> anyhow::Result<Vec<Finding>> {
    use std::collections::{BTreeMap, HashMap};

    use secret_service::blocking::SecretService;
    use secret_service::{EncryptionType, Error};

    let ss = SecretService::connect(EncryptionType::Dh)
        .map_err(|e| anyhow::anyhow!("could not reach the Secret Service: {e}"))?;
    let mut found = Vec::new();
    match ss.get_default_collection() {
        Ok(c) => {
            if c.is_locked()? {
                let label = c.get_label().unwrap_or_else(|_| "default".into());
                found.push(Finding::Locked { label });
            }
        }
        Err(Error::NoResult) => found.push(Finding::NoDefaultCollection),
        Err(e) => {
            return Err(anyhow::anyhow!(
                "could not read the default collection: {e}"
            ));
        }
    }
    // Searching needs no unlocking: attributes are public, secrets are not.
    let items = ss.search_items(HashMap::from([("service", service)]))?;
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for item in items.unlocked.iter().chain(items.locked.iter()) {
        if let Some(user) = item.get_attributes()?.get("username") {
            *count.entry(user.clone()).or_default() += 1;
        }
    }
    let dups: Vec<(String, usize)> = count.into_iter().filter(|(_, n)| *n > 1).collect();
    if !dups.is_empty() {
        found.push(Finding::Duplicates(dups));
    }
    Ok(found)
}

#[cfg(not(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
)))]
pub(crate) fn examine(_service: &str) -> anyhow::Result<Vec<Finding>> {
    Ok(Vec::new())
}

//! conn's vocabulary as types: the words that appear in `connections.toml`, provider files, flags
//! and JSON output. Each is parsed once, where it is read (a bad value in `connections.toml` is
//! reported with its line), and written back with the same spelling.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Defines a unit enum with one spelling per variant, used by serde, `FromStr` and `Display`.
macro_rules! words {
    ($(#[$m:meta])* $name:ident, $what:literal { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub(crate) enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $v),+
        }

        impl $name {
            /// Every value, in order.
            pub(crate) const ALL: &'static [$name] = &[$($name::$v),+];

            /// The spelling used in files, flags and output.
            pub(crate) fn as_str(self) -> &'static str {
                match self {
                    $($name::$v => $s),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| {
                        let all: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                        format!("{s:?} is not {}; use one of: {}", $what, all.join(", "))
                    })
            }
        }
    };
}

words!(
    /// Which of an app's environments a connection reaches: `production` or `sandbox`
    /// (a provider's `[environments]` table gives each its hosts).
    Environment, "an environment" {
        Production = "production",
        Sandbox = "sandbox",
    }
);

words!(
    /// How a connection authenticates.
    AuthMethod, "an auth method" {
        ApiKey = "api_key",
        Basic = "basic",
        OAuth2 = "oauth2",
        OAuth1 = "oauth1",
    }
);

words!(
    /// How an OAuth connection got its tokens: an OAuth 2.0 grant (RFC 6749, RFC 8628), or the
    /// OAuth 1.0a three-legged flow (RFC 5849).
    Grant, "a grant" {
        AuthorizationCode = "authorization_code",
        DeviceCode = "device_code",
        ClientCredentials = "client_credentials",
        /// Not an OAuth 2.0 grant: the OAuth 1.0a flow, recorded for OAuth 1.0a connections.
        OAuth1 = "oauth1",
    }
);

words!(
    /// Where secrets live: the OS keychain or the age-encrypted file; `vault` for a team
    /// connection, whose secrets are in its team store on OpenBao / Vault.
    StoreKind, "a secret store" {
        Keychain = "keychain",
        File = "file",
        Vault = "vault",
    }
);

words!(
    /// What a health check found.
    CheckStatus, "a check status" {
        Ok = "ok",
        Expiring = "expiring",
        InvalidCredentials = "invalid_credentials",
        NeedsReauth = "needs_reauth",
        InsufficientPermissions = "insufficient_permissions",
        Unreachable = "unreachable",
        SecretMissing = "secret_missing",
        Error = "error",
    }
);

/// Monitoring-plugin severities, in the order conn reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Severity {
    Ok,
    Warning,
    Unknown,
    Critical,
}

impl Severity {
    /// The monitoring-plugin exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Severity::Ok => 0,
            Severity::Warning => 1,
            Severity::Critical => 2,
            Severity::Unknown => 3,
        }
    }
}

impl CheckStatus {
    pub(crate) fn severity(self) -> Severity {
        match self {
            CheckStatus::Ok => Severity::Ok,
            CheckStatus::Expiring => Severity::Warning,
            CheckStatus::InvalidCredentials
            | CheckStatus::NeedsReauth
            | CheckStatus::InsufficientPermissions
            | CheckStatus::SecretMissing => Severity::Critical,
            CheckStatus::Unreachable | CheckStatus::Error => Severity::Unknown,
        }
    }
}

/// Who a connection authenticates as, as the provider's check request reported it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Identity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The org, site or host the connection reaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

impl Identity {
    /// The best short name for a person: label, else id.
    pub(crate) fn display(&self) -> Option<&str> {
        self.label.as_deref().or(self.id.as_deref())
    }

    /// "LABEL on INSTANCE", as far as known.
    pub(crate) fn describe(&self) -> Option<String> {
        let who = self.display()?;
        Some(match &self.instance {
            Some(i) => format!("{who} on {i}"),
            None => who.to_string(),
        })
    }

    /// Whether two identities name different accounts (ids win over labels).
    pub(crate) fn differs(&self, new: &Identity) -> bool {
        match (&self.id, &new.id) {
            (Some(a), Some(b)) => a != b,
            _ => match (&self.label, &new.label) {
                (Some(a), Some(b)) => a != b,
                _ => false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_bad_ones_name_the_choices() {
        for e in Environment::ALL {
            assert_eq!(e.as_str().parse::<Environment>().unwrap(), *e);
        }
        assert_eq!("oauth2".parse::<AuthMethod>().unwrap(), AuthMethod::OAuth2);
        let err = "staging".parse::<Environment>().unwrap_err();
        assert!(err.contains("production, sandbox"), "{err}");
        assert_eq!(
            serde_json::to_string(&CheckStatus::NeedsReauth).unwrap(),
            "\"needs_reauth\""
        );
    }
}

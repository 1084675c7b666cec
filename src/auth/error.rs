//! The error of an OAuth step (either version), kept apart so the loopback callback and both
//! flows can return it without importing each other.

use std::fmt;

use crate::core::secret::Secret;

/// Why an OAuth step failed, as far as the caller needs to act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// The grant (refresh token, code) is no longer valid: re-authorize.
    InvalidGrant,
    /// The OAuth client's credentials were rejected (`invalid_client`, a 401 from the token
    /// endpoint): a new client secret is needed, not a new sign-in.
    InvalidClient,
    /// The user said no, or the device code expired.
    Denied,
    /// Network trouble or a 5xx: try again later; never a reason to re-authorize.
    Unreachable,
    /// The server answered with an OAuth error other than the above.
    Server,
    /// The server's answer was not valid OAuth (HTML, malformed JSON, ...).
    BadResponse,
    /// No answer from the person in time.
    Timeout,
    /// The provider's definition or the connection lacks what the step needs (a template
    /// value, a valid endpoint URL, stored tokens).
    Misconfigured,
}

#[derive(Debug)]
pub(crate) struct OAuthError {
    pub kind: ErrorKind,
    pub message: String,
    /// A refresh token found in a successful (200) answer that could not be read as a whole:
    /// the server may have rotated the grant to it, so the caller must save it.
    pub rotated: Option<Secret<String>>,
}

impl OAuthError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        OAuthError {
            kind,
            message: message.into(),
            rotated: None,
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OAuthError {}

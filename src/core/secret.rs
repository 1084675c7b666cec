//! `Secret<T>`: a value that must never be printed or logged.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Context, Result};

use zeroize::Zeroize;

/// Holds a secret. `Debug` prints `(redacted)`; there is no `Display` and no `Serialize`,
/// so a secret reaches output only through an explicit `expose()`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    pub(crate) fn new(value: T) -> Self {
        Secret(value)
    }

    pub(crate) fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

impl From<String> for Secret<String> {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl Secret<String> {
    /// A hint safe to show a person: the length and, for long secrets, the last four characters.
    pub(crate) fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        if chars.len() >= 16 {
            let tail: String = chars[chars.len() - 4..].iter().collect();
            format!("••••••••{tail} ({} chars)", chars.len())
        } else {
            format!("•••••••• ({} chars)", chars.len())
        }
    }
}

/// A secret as typed, pasted or read from a file or variable, made ready to store: a trailing
/// CR/LF (a CRLF `.env` file, `echo`) is dropped; any other control character is an error
/// naming `field` (the value is never shown), since no HTTP header can carry it.
pub(crate) fn cleaned(field: &str, raw: &str) -> Result<Secret<String>> {
    let value = raw.trim_end_matches(['\r', '\n']);
    if let Some((at, c)) = value.char_indices().find(|(_, c)| c.is_control()) {
        let what = match c {
            '\r' => "a carriage return (CR)".to_string(),
            '\n' => "a line break (LF)".to_string(),
            '\t' => "a tab".to_string(),
            c => format!("the control character U+{:04X}", c as u32),
        };
        let pos = value[..at].chars().count() + 1;
        anyhow::bail!(
            "the {field} contains {what} at character {pos} of {}; a credential can't carry it. Check for a stray character from copying or from the file it came from, and enter it again",
            value.chars().count()
        );
    }
    Ok(Secret::new(value.to_string()))
}

/// All secrets of one connection, by field name (`api_key`, `password`, ...).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SecretBundle(BTreeMap<String, Secret<String>>);

impl SecretBundle {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn insert(&mut self, field: &str, value: Secret<String>) {
        self.0.insert(field.to_string(), value);
    }

    pub(crate) fn remove(&mut self, field: &str) {
        self.0.remove(field);
    }

    pub(crate) fn get(&self, field: &str) -> Option<&Secret<String>> {
        self.0.get(field)
    }

    pub(crate) fn fields(&self) -> impl Iterator<Item = (&String, &Secret<String>)> {
        self.0.iter()
    }

    /// The bundle as a JSON object; for the secret stores only, never for output.
    pub(crate) fn to_json_value(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.expose().clone())))
                .collect(),
        )
    }

    pub(crate) fn from_json_value(value: &serde_json::Value) -> Result<Self> {
        let obj = value
            .as_object()
            .context("secret bundle is not an object")?;
        let mut out = SecretBundle::new();
        for (k, v) in obj {
            let s = v.as_str().context("secret value is not a string")?;
            out.insert(k, Secret::new(s.to_string()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_lose_a_trailing_crlf_and_refuse_other_control_characters() {
        assert_eq!(cleaned("API key", "k-1\r\n").unwrap().expose(), "k-1");
        assert_eq!(cleaned("API key", "k-1\r").unwrap().expose(), "k-1");
        assert_eq!(cleaned("API key", " k 1 ").unwrap().expose(), " k 1 ");
        let e = cleaned("API key", "k\u{7}x").unwrap_err().to_string();
        assert!(
            e.contains("the API key contains the control character U+0007 at character 2"),
            "{e}"
        );
        assert!(!e.contains("kx"), "{e}");
        let e = cleaned("password", "a\rb\n").unwrap_err().to_string();
        assert!(e.contains("carriage return"), "{e}");
    }

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("hunter2-very-secret".to_string());
        assert_eq!(format!("{s:?}"), "(redacted)");
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
    }

    #[test]
    fn masked_hides_all_but_tail_of_long_secrets() {
        let long = Secret::new("ghp_abcdefghijklmnopqrstuvwxyz0123".to_string());
        let m = long.masked();
        assert!(m.ends_with("0123 (34 chars)"), "{m}");
        assert!(!m.contains("abcdef"));
        let short = Secret::new("abc12345".to_string());
        assert!(!short.masked().contains("2345"));
    }
}

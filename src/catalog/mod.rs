//! The provider catalog: built-in definitions compiled in, user files in `<config>/providers/`
//! overriding by id. Imports only `core`.

pub mod provider;
pub mod template;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

pub use provider::{
    ApiKeySpec, AuthSpec, BasicSpec, ClientAuth, Grant, Input, OAuth1Spec, OAuth2Spec, Placement,
    Provider,
};

const BUILTIN: &[(&str, &str)] = &[
    ("github.toml", include_str!("builtin/github.toml")),
    ("google.toml", include_str!("builtin/google.toml")),
    ("http.toml", include_str!("builtin/http.toml")),
    ("oauth2.toml", include_str!("builtin/oauth2.toml")),
    ("slack.toml", include_str!("builtin/slack.toml")),
    ("stripe.toml", include_str!("builtin/stripe.toml")),
    ("zendesk.toml", include_str!("builtin/zendesk.toml")),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    BuiltIn,
    /// A user file; `overrides` when a built-in with the same id exists.
    User {
        path: PathBuf,
        overrides: bool,
    },
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub provider: Provider,
    pub origin: Origin,
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    entries: BTreeMap<String, Entry>,
}

impl Catalog {
    /// Built-ins only. They are tested to parse, so a failure here is a bug.
    pub fn builtin() -> Self {
        let mut entries = BTreeMap::new();
        for (file, text) in BUILTIN {
            let provider = provider::parse(text, Path::new(file))
                .unwrap_or_else(|e| panic!("built-in provider {file} is invalid: {e:#}"));
            entries.insert(
                provider.id.clone(),
                Entry {
                    provider,
                    origin: Origin::BuiltIn,
                },
            );
        }
        Catalog { entries }
    }

    /// Built-ins plus the user's `providers/*.toml`. A user file that fails validation is
    /// skipped and its error returned as a warning, so one bad file doesn't stop every command.
    pub fn load(providers_dir: &Path) -> (Self, Vec<String>) {
        let mut catalog = Self::builtin();
        let mut warnings = Vec::new();
        let Ok(dir) = std::fs::read_dir(providers_dir) else {
            return (catalog, warnings);
        };
        let mut files: Vec<PathBuf> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for path in files {
            match provider::parse_file(&path) {
                Ok(provider) => {
                    let overrides = catalog
                        .entries
                        .get(&provider.id)
                        .is_some_and(|e| e.origin == Origin::BuiltIn);
                    catalog.entries.insert(
                        provider.id.clone(),
                        Entry {
                            provider,
                            origin: Origin::User { path, overrides },
                        },
                    );
                }
                Err(e) => warnings.push(format!("skipping provider file {e:#}")),
            }
        }
        (catalog, warnings)
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    pub fn entry(&self, id: &str) -> Result<&Entry> {
        match self.entries.get(id) {
            Some(e) => Ok(e),
            None => {
                let close = closest(id, self.entries.keys().map(String::as_str));
                let all: Vec<&str> = self.entries.keys().map(String::as_str).collect();
                if close.is_empty() {
                    bail!(
                        "unknown provider {id:?}; known providers: {} (see 'conn providers list')",
                        all.join(", ")
                    )
                }
                bail!(
                    "unknown provider {id:?}; did you mean {}? (see 'conn providers list')",
                    close.join(" or ")
                )
            }
        }
    }

    pub fn get(&self, id: &str) -> Result<&Provider> {
        self.entry(id).map(|e| &e.provider)
    }
}

/// Candidates within a small edit distance of `wanted`, closest first.
pub fn closest<'a>(wanted: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut scored: Vec<(usize, &str)> = candidates
        .map(|c| (strsim::damerau_levenshtein(wanted, c), c))
        .filter(|(d, c)| *d <= 2.max(wanted.len() / 3) || c.starts_with(wanted))
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(3)
        .map(|(_, c)| c.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_cover_the_first_catalog() {
        let c = Catalog::builtin();
        for id in ["github", "zendesk", "stripe", "http"] {
            assert!(c.get(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn unknown_id_suggests_close_ones() {
        let c = Catalog::builtin();
        let e = c.get("githb").unwrap_err().to_string();
        assert!(e.contains("did you mean github"), "{e}");
    }
}

//! The provider catalog: built-in definitions compiled in, user files in `<config>/providers/`
//! overriding by id. Imports only `core`.

pub(crate) mod provider;
pub(crate) mod template;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

pub(crate) use provider::{
    ApiKeySpec, AuthSpec, BasicSpec, Capture, ClientAuth, Input, OAuth1Spec, OAuth2Spec, Placement,
    Provider,
};

const BUILTIN: &[(&str, &str)] = &[
    ("airtable.toml", include_str!("builtin/airtable.toml")),
    ("anthropic.toml", include_str!("builtin/anthropic.toml")),
    ("asana.toml", include_str!("builtin/asana.toml")),
    ("auth0.toml", include_str!("builtin/auth0.toml")),
    ("bamboohr.toml", include_str!("builtin/bamboohr.toml")),
    ("bitbucket.toml", include_str!("builtin/bitbucket.toml")),
    ("box.toml", include_str!("builtin/box.toml")),
    ("calendly.toml", include_str!("builtin/calendly.toml")),
    ("chargebee.toml", include_str!("builtin/chargebee.toml")),
    ("clickup.toml", include_str!("builtin/clickup.toml")),
    ("cloudflare.toml", include_str!("builtin/cloudflare.toml")),
    (
        "confluence-api-token.toml",
        include_str!("builtin/confluence-api-token.toml"),
    ),
    ("confluence.toml", include_str!("builtin/confluence.toml")),
    ("contentful.toml", include_str!("builtin/contentful.toml")),
    ("copper.toml", include_str!("builtin/copper.toml")),
    ("datadog.toml", include_str!("builtin/datadog.toml")),
    (
        "digitalocean.toml",
        include_str!("builtin/digitalocean.toml"),
    ),
    ("discord.toml", include_str!("builtin/discord.toml")),
    ("docusign.toml", include_str!("builtin/docusign.toml")),
    ("dropbox.toml", include_str!("builtin/dropbox.toml")),
    ("figma.toml", include_str!("builtin/figma.toml")),
    ("freshdesk.toml", include_str!("builtin/freshdesk.toml")),
    (
        "freshservice.toml",
        include_str!("builtin/freshservice.toml"),
    ),
    ("front.toml", include_str!("builtin/front.toml")),
    ("github.toml", include_str!("builtin/github.toml")),
    ("gitlab.toml", include_str!("builtin/gitlab.toml")),
    ("gong.toml", include_str!("builtin/gong.toml")),
    (
        "google-calendar.toml",
        include_str!("builtin/google-calendar.toml"),
    ),
    (
        "google-drive.toml",
        include_str!("builtin/google-drive.toml"),
    ),
    (
        "google-sheets.toml",
        include_str!("builtin/google-sheets.toml"),
    ),
    ("google.toml", include_str!("builtin/google.toml")),
    ("harvest.toml", include_str!("builtin/harvest.toml")),
    ("helpscout.toml", include_str!("builtin/helpscout.toml")),
    ("http.toml", include_str!("builtin/http.toml")),
    ("hubspot.toml", include_str!("builtin/hubspot.toml")),
    ("intercom.toml", include_str!("builtin/intercom.toml")),
    (
        "jira-api-token.toml",
        include_str!("builtin/jira-api-token.toml"),
    ),
    (
        "jira-scoped-token.toml",
        include_str!("builtin/jira-scoped-token.toml"),
    ),
    ("jira.toml", include_str!("builtin/jira.toml")),
    ("jotform.toml", include_str!("builtin/jotform.toml")),
    ("keap.toml", include_str!("builtin/keap.toml")),
    ("klaviyo.toml", include_str!("builtin/klaviyo.toml")),
    ("linear.toml", include_str!("builtin/linear.toml")),
    ("linkedin.toml", include_str!("builtin/linkedin.toml")),
    ("mailchimp.toml", include_str!("builtin/mailchimp.toml")),
    ("mailgun.toml", include_str!("builtin/mailgun.toml")),
    ("meta-graph.toml", include_str!("builtin/meta-graph.toml")),
    (
        "microsoft-graph.toml",
        include_str!("builtin/microsoft-graph.toml"),
    ),
    (
        "microsoft-onedrive.toml",
        include_str!("builtin/microsoft-onedrive.toml"),
    ),
    (
        "microsoft-outlook.toml",
        include_str!("builtin/microsoft-outlook.toml"),
    ),
    (
        "microsoft-teams.toml",
        include_str!("builtin/microsoft-teams.toml"),
    ),
    ("miro.toml", include_str!("builtin/miro.toml")),
    ("monday.toml", include_str!("builtin/monday.toml")),
    ("notion.toml", include_str!("builtin/notion.toml")),
    ("oauth2.toml", include_str!("builtin/oauth2.toml")),
    ("okta.toml", include_str!("builtin/okta.toml")),
    ("openai.toml", include_str!("builtin/openai.toml")),
    ("pagerduty.toml", include_str!("builtin/pagerduty.toml")),
    ("paypal.toml", include_str!("builtin/paypal.toml")),
    ("pipedrive.toml", include_str!("builtin/pipedrive.toml")),
    ("postmark.toml", include_str!("builtin/postmark.toml")),
    ("quickbooks.toml", include_str!("builtin/quickbooks.toml")),
    ("salesforce.toml", include_str!("builtin/salesforce.toml")),
    ("segment.toml", include_str!("builtin/segment.toml")),
    ("sendgrid.toml", include_str!("builtin/sendgrid.toml")),
    ("sentry.toml", include_str!("builtin/sentry.toml")),
    ("servicenow.toml", include_str!("builtin/servicenow.toml")),
    ("shopify.toml", include_str!("builtin/shopify.toml")),
    ("slack.toml", include_str!("builtin/slack.toml")),
    ("square.toml", include_str!("builtin/square.toml")),
    ("stripe.toml", include_str!("builtin/stripe.toml")),
    ("supabase.toml", include_str!("builtin/supabase.toml")),
    (
        "surveymonkey.toml",
        include_str!("builtin/surveymonkey.toml"),
    ),
    (
        "telegram-bot.toml",
        include_str!("builtin/telegram-bot.toml"),
    ),
    ("todoist.toml", include_str!("builtin/todoist.toml")),
    ("trello.toml", include_str!("builtin/trello.toml")),
    ("twilio.toml", include_str!("builtin/twilio.toml")),
    ("typeform.toml", include_str!("builtin/typeform.toml")),
    ("vercel.toml", include_str!("builtin/vercel.toml")),
    ("webflow.toml", include_str!("builtin/webflow.toml")),
    (
        "whatsapp-business.toml",
        include_str!("builtin/whatsapp-business.toml"),
    ),
    ("woocommerce.toml", include_str!("builtin/woocommerce.toml")),
    (
        "wordpress-com.toml",
        include_str!("builtin/wordpress-com.toml"),
    ),
    ("wordpress.toml", include_str!("builtin/wordpress.toml")),
    ("x.toml", include_str!("builtin/x.toml")),
    ("xero.toml", include_str!("builtin/xero.toml")),
    ("zendesk.toml", include_str!("builtin/zendesk.toml")),
    ("zoho-crm.toml", include_str!("builtin/zoho-crm.toml")),
    ("zoom.toml", include_str!("builtin/zoom.toml")),
];

/// The raw table of the built-in provider `id`, with its own `extends` merged in: the base
/// a provider file with `extends = "id"` is laid over.
pub(crate) fn builtin_raw(id: &str) -> Option<toml::Table> {
    fn find(id: &str, depth: usize) -> Option<toml::Table> {
        if depth > 8 {
            return None;
        }
        let table = BUILTIN.iter().find_map(|(_, text)| {
            let t: toml::Table = toml::from_str(text).ok()?;
            (t.get("id")?.as_str()? == id).then_some(t)
        })?;
        match table.get("extends").and_then(|v| v.as_str()) {
            Some(parent) if parent != id => {
                let mut base = find(parent, depth + 1)?;
                provider::merge(&mut base, table);
                Some(base)
            }
            _ => Some(table),
        }
    }
    find(id, 0)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    BuiltIn,
    /// A user file; `overrides` when a built-in with the same id exists.
    User {
        path: PathBuf,
        overrides: bool,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub provider: Provider,
    pub origin: Origin,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Catalog {
    entries: BTreeMap<String, Entry>,
}

impl Catalog {
    /// Built-ins only. They are tested to parse, so a failure here is a bug.
    pub(crate) fn builtin() -> Self {
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

    /// The built-ins with these ids (each in `<id>.toml`), parsed alone: a command about one
    /// connection needs one provider, and parsing and validating all of them (TOML, and the
    /// regexes of every input pattern) was most of `conn token`'s own time. An id with no
    /// built-in file is left out (it may be a user's provider).
    fn builtin_only(ids: &[&str]) -> Self {
        let mut entries = BTreeMap::new();
        for id in ids {
            let file = format!("{id}.toml");
            let Some((file, text)) = BUILTIN.iter().find(|(f, _)| *f == file) else {
                continue;
            };
            let provider = provider::parse(text, Path::new(file))
                .unwrap_or_else(|e| panic!("built-in provider {file} is invalid: {e:#}"));
            if provider.id != *id {
                return Self::builtin();
            }
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

    /// `load` for commands that need only the providers `ids`: the same answer for those ids
    /// (user files still override), without the cost of the others.
    /// When one of them is found nowhere, this is `load`, so the error can suggest names.
    pub(crate) fn load_only(providers_dir: &Path, ids: &[&str]) -> (Self, Vec<String>) {
        let (catalog, warnings) = Self::load_over(Self::builtin_only(ids), providers_dir);
        if ids.iter().all(|id| catalog.entries.contains_key(*id)) {
            return (catalog, warnings);
        }
        Self::load(providers_dir)
    }

    /// Built-ins plus the user's `providers/*.toml`. A user file that fails validation is
    /// skipped and its error returned as a warning, so one bad file doesn't stop every command.
    pub(crate) fn load(providers_dir: &Path) -> (Self, Vec<String>) {
        Self::load_over(Self::builtin(), providers_dir)
    }

    fn load_over(base: Self, providers_dir: &Path) -> (Self, Vec<String>) {
        let mut catalog = base;
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

    pub(crate) fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    pub(crate) fn entry(&self, id: &str) -> Result<&Entry> {
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

    pub(crate) fn get(&self, id: &str) -> Result<&Provider> {
        self.entry(id).map(|e| &e.provider)
    }
}

/// Candidates within a small edit distance of `wanted`, closest first.
pub(crate) fn closest<'a>(wanted: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<String> {
    // Edit distance costs length × length: a 70,000-character name from a mutated file took
    // seconds per candidate. Nothing that long is a typo of an id.
    if wanted.len() > 64 {
        return Vec::new();
    }
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
    fn load_only_gives_the_same_providers_as_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            "id = \"mine\"\nextends = \"stripe\"\ndisplay_name = \"Mine\"\n",
        )
        .unwrap();
        let (all, _) = Catalog::load(dir.path());
        for ids in [
            vec!["github"],
            vec!["mine", "stripe"],
            vec!["http", "oauth2"],
        ] {
            let (some, _) = Catalog::load_only(dir.path(), &ids);
            for id in &ids {
                let (a, b) = (all.get(id).unwrap(), some.get(id).unwrap());
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "{id}");
            }
        }
        assert_eq!(
            Catalog::load_only(dir.path(), &["github"]).0.entries.len(),
            2
        );
        // An unknown id: everything, so the error can suggest close names.
        let (fallback, _) = Catalog::load_only(dir.path(), &["githb"]);
        assert!(
            fallback
                .get("githb")
                .unwrap_err()
                .to_string()
                .contains("github")
        );
    }

    #[test]
    fn builtins_parse_and_cover_the_first_catalog() {
        let c = Catalog::builtin();
        for id in ["github", "zendesk", "stripe", "http"] {
            assert!(c.get(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn every_builtin_file_is_compiled_in() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/catalog/builtin");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| f.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let listed: Vec<String> = BUILTIN.iter().map(|(f, _)| f.to_string()).collect();
        assert_eq!(
            on_disk, listed,
            "add new files to BUILTIN in src/catalog/mod.rs"
        );
        let c = Catalog::builtin();
        // Issue 13: at least 80 vendor entries (the generic http and oauth2 aside).
        let vendors = c
            .entries()
            .filter(|e| !e.provider.categories.iter().any(|c| c == "generic"))
            .count();
        assert!(vendors >= 80, "{vendors} vendor entries");
        for e in c.entries() {
            assert!(!e.provider.categories.is_empty(), "{}", e.provider.id);
            // The page the values come from: required of every built-in.
            assert!(
                e.provider
                    .docs
                    .as_deref()
                    .is_some_and(|d| d.starts_with("https://")),
                "{}: docs",
                e.provider.id
            );
            for cat in &e.provider.categories {
                assert!(
                    provider::CATEGORIES.contains(&cat.as_str()),
                    "{}: {cat}",
                    e.provider.id
                );
            }
        }
    }

    #[test]
    fn unknown_id_suggests_close_ones() {
        let c = Catalog::builtin();
        let e = c.get("githb").unwrap_err().to_string();
        assert!(e.contains("did you mean github"), "{e}");
    }
}

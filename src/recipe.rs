//! Recipe files: a project's `conn.toml` naming the connections its scripts need, by role, with
//! no secrets and no personal connection names. Imports only `catalog` and `core`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use serde::Deserialize;

use crate::catalog::{Catalog, closest};
use crate::core::error::line_col;

/// The file name looked for in the current directory and its parents.
pub(crate) const FILE_NAME: &str = "conn.toml";

#[derive(Debug, Clone)]
pub(crate) struct Recipe {
    /// The file's canonical path: the key of this project's bindings.
    pub path: PathBuf,
    pub roles: BTreeMap<String, Role>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Role {
    pub provider: String,
    /// A further connection to a provider another role already uses (a second org, an archive).
    pub secondary: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecipe {
    #[serde(default)]
    roles: BTreeMap<String, toml::Spanned<RawRole>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    provider: toml::Spanned<String>,
    #[serde(default)]
    secondary: bool,
}

/// The nearest `conn.toml` in `start` or one of its parents.
pub(crate) fn find(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file())
}

/// Finds and loads the recipe for the current directory.
pub(crate) fn discover(catalog: &Catalog) -> Result<Recipe> {
    let cwd = std::env::current_dir().context("could not read the current directory")?;
    let path = find(&cwd).ok_or_else(|| {
        anyhow!(
            "no {FILE_NAME} in {} or a parent directory; a recipe names the connections a project needs by role, e.g.\n  [roles.crm]\n  provider = \"salesforce\"",
            cwd.display()
        )
    })?;
    load(&path, catalog)
}

/// Reads and validates a recipe; errors name the file and line.
pub(crate) fn load(path: &Path, catalog: &Catalog) -> Result<Recipe> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read {}", path.display()))?;
    let canonical = path
        .canonicalize()
        .with_context(|| format!("could not resolve {}", path.display()))?;
    let roles =
        parse(&text, catalog).map_err(|(line, msg)| anyhow!("{}:{line}: {msg}", path.display()))?;
    Ok(Recipe {
        path: canonical,
        roles,
    })
}

/// Parses and validates recipe text: `Err((line, message))`.
pub(crate) fn parse(
    text: &str,
    catalog: &Catalog,
) -> std::result::Result<BTreeMap<String, Role>, (usize, String)> {
    let raw: RawRecipe = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_col(text, s.start).0);
        (line, e.message().trim().to_string())
    })?;
    let line_of = |offset: usize| line_col(text, offset).0;
    if raw.roles.is_empty() {
        return Err((
            1,
            "no roles; add one per connection the project needs, e.g. [roles.crm] with provider = \"salesforce\"".into(),
        ));
    }
    let mut roles = BTreeMap::new();
    for (name, role) in &raw.roles {
        let line = line_of(role.span().start);
        validate_role_name(name).map_err(|m| (line, m))?;
        let provider = role.get_ref().provider.get_ref();
        let pline = line_of(role.get_ref().provider.span().start);
        if let Err(e) = catalog.get(provider) {
            return Err((pline, format!("roles.{name}.provider: {e:#}")));
        }
        roles.insert(
            name.clone(),
            (
                Role {
                    provider: provider.clone(),
                    secondary: role.get_ref().secondary,
                },
                pline,
            ),
        );
    }
    // One primary role per provider; the others must say they are secondary. A generic
    // provider whose base URL is an input (`http`, `oauth2`) is exempt: two roles of it are
    // usually two different APIs, not two instances of one app.
    let generic = |p: &str| catalog.get(p).is_ok_and(|p| p.base_url_is_input());
    let mut primary: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, (role, line)) in &roles {
        if role.secondary || generic(&role.provider) {
            continue;
        }
        if let Some(first) = primary.insert(&role.provider, name) {
            return Err((
                *line,
                format!(
                    "roles {first} and {name} both use provider {:?}; mark the extra one `secondary = true` (a second connection to another instance of the same app)",
                    role.provider
                ),
            ));
        }
    }
    for (name, (role, line)) in &roles {
        if role.secondary
            && !generic(&role.provider)
            && !primary.contains_key(role.provider.as_str())
        {
            return Err((
                *line,
                format!(
                    "role {name} is secondary, but no role uses provider {:?} as its primary connection; drop `secondary = true`",
                    role.provider
                ),
            ));
        }
    }
    Ok(roles.into_iter().map(|(n, (r, _))| (n, r)).collect())
}

/// Role names become environment variable prefixes (`crm_archive` → `CRM_ARCHIVE_TOKEN`).
fn validate_role_name(name: &str) -> std::result::Result<(), String> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "role name {name:?}: use lowercase letters, digits and '_', starting with a letter (it becomes the prefix {} of the variables)",
            env_prefix(name)
        ))
    }
}

/// A name in UPPER_SNAKE case, as an environment variable prefix: `zendesk-acme` → `ZENDESK_ACME`.
pub(crate) fn env_prefix(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Roles close to `wanted`, for "did you mean".
pub(crate) fn close_roles(recipe: &Recipe, wanted: &str) -> Vec<String> {
    closest(wanted, recipe.roles.keys().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> (usize, String) {
        parse(text, &Catalog::builtin()).unwrap_err()
    }

    #[test]
    fn the_issue_example_parses() {
        let r = parse(
            "[roles.crm]\nprovider = \"github\"\n[roles.crm_archive]\nprovider = \"github\"\nsecondary = true\n[roles.helpdesk]\nprovider = \"zendesk\"\n",
            &Catalog::builtin(),
        )
        .unwrap();
        assert_eq!(r.len(), 3);
        assert!(r["crm_archive"].secondary);
    }

    #[test]
    fn errors_name_the_line() {
        let (line, msg) =
            parse_err("[roles.a]\nprovider = \"github\"\n\n[roles.b]\nprovider = \"githb\"\n");
        assert_eq!(line, 5, "{msg}");
        assert!(msg.contains("did you mean github"), "{msg}");
        let (line, msg) =
            parse_err("[roles.a]\nprovider = \"github\"\n[roles.b]\nprovider = \"github\"\n");
        assert_eq!(line, 4, "{msg}");
        assert!(msg.contains("secondary"), "{msg}");
        let (line, msg) = parse_err("[roles.a]\nprovider = \"github\"\nsecundary = true\n");
        assert_eq!(line, 3, "{msg}");
        let (_, msg) = parse_err("[roles.Bad-Name]\nprovider = \"github\"\n");
        assert!(msg.contains("lowercase"), "{msg}");
    }

    #[test]
    fn generic_providers_take_several_primary_roles() {
        let r = parse(
            "[roles.billing]\nprovider = \"http\"\n[roles.crm]\nprovider = \"http\"\n",
            &Catalog::builtin(),
        )
        .unwrap();
        assert!(!r["crm"].secondary);
        assert!(Catalog::builtin().get("http").unwrap().base_url_is_input());
        let generic = |id: &str| Catalog::builtin().get(id).unwrap().base_url_is_input();
        assert!(generic("oauth2"));
        assert!(!generic("zendesk"));
        // One app that may live on another host (GitHub Enterprise) is still one app.
        assert!(!generic("github"));
    }

    #[test]
    fn prefixes_are_upper_snake() {
        assert_eq!(env_prefix("zendesk-acme.eu"), "ZENDESK_ACME_EU");
        assert_eq!(env_prefix("crm_archive"), "CRM_ARCHIVE");
    }
}

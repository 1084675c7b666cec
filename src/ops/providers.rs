//! What the catalog offers (`conn providers list|show|validate`).

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::Ctx;
use crate::catalog::{Origin, Provider, provider};

#[derive(Debug, Serialize)]
pub(crate) struct Listed {
    pub(crate) id: String,
    pub(crate) display_name: String,
    pub(crate) methods: Vec<&'static str>,
    /// The environments it has hosts for (`production`, `sandbox`); empty: one, production.
    pub(crate) environments: Vec<String>,
    pub(crate) categories: Vec<String>,
    /// `false` when the entry, or any value in it, is not confirmed against a source.
    pub(crate) verified: bool,
    /// The field paths of the unconfirmed values (`"*"`: the whole entry).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) unverified: Vec<String>,
    /// `built-in`, `user` or `user (overrides built-in)`.
    pub(crate) source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) path: Option<String>,
}

pub(crate) fn list(ctx: &mut Ctx<'_>) -> Result<Vec<Listed>> {
    let catalog = ctx.catalog();
    Ok(catalog
        .entries()
        .map(|e| {
            let (source, path) = match &e.origin {
                Origin::BuiltIn => ("built-in".to_string(), None),
                Origin::User { path, overrides } => (
                    if *overrides {
                        "user (overrides built-in)".to_string()
                    } else {
                        "user".to_string()
                    },
                    Some(path.display().to_string()),
                ),
            };
            let p = &e.provider;
            let mut unverified: Vec<String> = p.unverified.keys().cloned().collect();
            if !p.verified {
                unverified.insert(0, "*".into());
            }
            Listed {
                id: p.id.clone(),
                display_name: p.display_name.clone(),
                methods: p.methods(),
                environments: p.environments.keys().cloned().collect(),
                categories: p.categories.clone(),
                verified: unverified.is_empty(),
                unverified,
                source,
                path,
            }
        })
        .collect())
}

pub(crate) fn show(ctx: &mut Ctx<'_>, id: &str) -> Result<Provider> {
    let catalog = ctx.catalog();
    Ok(catalog.get(id)?.clone())
}

/// Loading rules plus what a definition to share needs: `docs`, the page its values come
/// from (a private file without one still loads).
pub(crate) fn validate(file: &Path) -> Result<Provider> {
    let p = provider::parse_file(file)?;
    if p.docs.as_deref().is_none_or(|d| d.trim().is_empty()) {
        anyhow::bail!(
            "{}:1: docs: required: the vendor page these values were taken from",
            file.display()
        );
    }
    Ok(p)
}

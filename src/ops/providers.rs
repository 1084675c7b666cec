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
    pub(crate) categories: Vec<String>,
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
            Listed {
                id: e.provider.id.clone(),
                display_name: e.provider.display_name.clone(),
                methods: e.provider.methods(),
                categories: e.provider.categories.clone(),
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

pub(crate) fn validate(file: &Path) -> Result<Provider> {
    provider::parse_file(file)
}

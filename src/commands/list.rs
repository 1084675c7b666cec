//! `conn list`: every connection with its last check.

use anyhow::Result;

use super::{Done, Out, Report, environment};
use crate::core::vocab::Environment;
use crate::ops::Ctx;
use crate::ops::inspect::{self, Row};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Only connections to this provider (a provider id: a typo is an error, not an empty list)
    #[arg(long, value_name = "ID", add = super::provider_ids(), value_hint = clap::ValueHint::Other)]
    provider: Option<String>,
    /// Only connections with this environment tag
    #[arg(long, value_name = "ENV", value_parser = environment())]
    env: Option<Environment>,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(ctx: &mut Ctx<'_>, a: Args) -> Result<Done> {
    let (rows, warnings) = inspect::list(ctx, a.provider.as_deref(), a.env)?;
    Done::report(List {
        rows,
        warnings,
        json: a.json,
    })
}

/// The column of the table that holds the last check.
const LAST_CHECK_COLUMN: usize = 5;

struct List {
    rows: Vec<Row>,
    /// Team stores that could not be read.
    warnings: Vec<String>,
    json: bool,
}

impl Report for List {
    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        for w in &self.warnings {
            writeln!(o.err, "warning: {w}")?;
        }
        if self.json {
            return super::json(o, &self.rows);
        }
        if self.rows.is_empty() {
            writeln!(o.err, "No connections to list. Create one with 'conn new'.")?;
            return Ok(0);
        }
        // A STORE column once team connections are listed beside local ones.
        let teams = self.rows.iter().any(|r| r.team.is_some());
        // A check of all stamps thousands of rows within a few seconds: each time is read
        // and worded once.
        let mut ages: std::collections::HashMap<&str, String> = Default::default();
        let body: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                let last = match &r.last_check {
                    Some(lc) => {
                        let age = ages.entry(lc.at.as_str()).or_insert_with(|| {
                            crate::core::time::age(&lc.at)
                                .map(|a| format!(" ({a} ago)"))
                                .unwrap_or_default()
                        });
                        format!("{}{age}", lc.status)
                    }
                    None => "never checked".into(),
                };
                let mut row = vec![
                    r.name.clone(),
                    r.provider.clone(),
                    r.auth.to_string(),
                    r.env.to_string(),
                    r.identity
                        .as_ref()
                        .and_then(|i| i.describe())
                        .unwrap_or_else(|| "-".into()),
                    last,
                ];
                if teams {
                    row.push(
                        r.team
                            .as_ref()
                            .map_or("local".into(), |t| format!("team {t}")),
                    );
                }
                row
            })
            .collect();
        let mut headers = vec![
            "NAME",
            "PROVIDER",
            "AUTH",
            "ENV",
            "CONNECTED AS",
            "LAST CHECK",
        ];
        if teams {
            headers.push("STORE");
        }
        // The last check's status in its colour.
        let status = |row: usize, col: usize| match (col, &self.rows[row].last_check) {
            (LAST_CHECK_COLUMN, Some(lc)) => super::status_style(lc.status),
            _ => anstyle::Style::new(),
        };
        o.table(&headers, &body, &status)?;
        // The process ends after this: freeing 10,000 rows of strings one by one would only
        // cost time (about a tenth of `conn list` of 10,000).
        std::mem::forget(body);
        Ok(0)
    }
}

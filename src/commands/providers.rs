//! `conn providers list|show ID|validate FILE`: the apps conn knows and how to set them up.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use super::{Done, Out, Report};
use crate::catalog::provider::{Grant, SignatureMethod, lookup};
use crate::catalog::{AuthSpec, Provider};
use crate::ops::Ctx;
use crate::ops::providers::{self, Listed};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// List the providers (built-in and your own)
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// What a provider needs and how to set up the app side
    Show {
        #[arg(add = super::provider_ids(), value_hint = clap::ValueHint::Other)]
        id: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Validate a provider definition file
    Validate { file: PathBuf },
}

/// `list` and `show`; `validate` needs no context (see `validate`).
pub(crate) fn run(ctx: &mut Ctx<'_>, c: Command) -> Result<Done> {
    match c {
        Command::List { json } => Done::report(List {
            list: providers::list(ctx)?,
            json,
        }),
        Command::Show { id, json } => Done::report(Show {
            provider: providers::show(ctx, &id)?,
            json,
        }),
        Command::Validate { file } => validate(file),
    }
}

/// `validate FILE`: checks a provider file on its own.
pub(crate) fn validate(file: PathBuf) -> Result<Done> {
    let provider = providers::validate(&file)?;
    Done::report(Valid { file, provider })
}

struct List {
    list: Vec<Listed>,
    json: bool,
}

impl Report for List {
    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        if self.json {
            return super::json(o, &self.list);
        }
        let body: Vec<Vec<String>> = self
            .list
            .iter()
            .map(|p| {
                let envs = if p.environments.is_empty() {
                    "production".to_string()
                } else {
                    p.environments.join(",")
                };
                let source = if p.verified {
                    p.source.clone()
                } else {
                    format!("{} (unconfirmed values)", p.source)
                };
                vec![
                    p.id.clone(),
                    p.display_name.clone(),
                    p.methods.join(","),
                    envs,
                    p.categories.join(","),
                    source,
                ]
            })
            .collect();
        let headers = ["ID", "NAME", "AUTH", "ENVIRONMENTS", "CATEGORIES", "SOURCE"];
        o.table(&headers, &body, &|_, _| anstyle::Style::new())?;
        Ok(0)
    }
}

struct Valid {
    file: PathBuf,
    provider: Provider,
}

impl Report for Valid {
    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        writeln!(
            o.out,
            "{}: ok ({}, auth: {})",
            self.file.display(),
            self.provider.id,
            self.provider.methods().join(", ")
        )?;
        Ok(0)
    }
}

struct Show {
    provider: Provider,
    json: bool,
}

impl Report for Show {
    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        let p = &self.provider;
        if self.json {
            return super::json(o, p);
        }
        let w = &mut o.out;
        writeln!(w, "{} ({})", p.display_name, p.id)?;
        if let Some(d) = &p.docs {
            writeln!(w, "docs: {d}")?;
        }
        writeln!(w, "API: {}", p.api.base_url)?;
        writeln!(w, "check: {} {}", p.check.method, p.check.path)?;
        if !p.inputs.is_empty() {
            writeln!(w, "\ninputs (--set NAME=VALUE):")?;
            for i in &p.inputs {
                let mut d: String = i
                    .defaults
                    .iter()
                    .map(|w| {
                        let when: Vec<String> =
                            w.when.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        format!(" [default {:?} when {}]", w.value, when.join(", "))
                    })
                    .collect();
                if let Some(x) = &i.default {
                    d.push_str(&match d.is_empty() {
                        true => format!(" [default {x:?}]"),
                        false => format!(" [else {x:?}]"),
                    });
                }
                let from = i
                    .capture
                    .as_deref()
                    .map(|c| format!(" [from the sign-in: {c}]"))
                    .unwrap_or_default();
                writeln!(w, "  {:<16}{}{d}{from}", i.name, i.label)?;
                if let Some(h) = &i.help {
                    writeln!(w, "  {:<16}{h}", "")?;
                }
            }
        }
        writeln!(w, "\nauth methods (--auth METHOD):")?;
        for a in &p.auth {
            writeln!(w, "  {:<16}{}", a.method().as_str(), a.label())?;
            if let Some(h) = a.help() {
                writeln!(w, "  {:<16}{h}", "")?;
            }
            if let AuthSpec::OAuth2(x) = a {
                if x.grants.contains(&Grant::AuthorizationCode) {
                    writeln!(
                        w,
                        "  {:<16}redirect URI to register: {}{}",
                        "",
                        x.redirect_uri(),
                        any_port(x.redirect_port)
                    )?;
                }
                if !x.scopes.is_empty() {
                    writeln!(w, "  {:<16}scopes: {}", "", x.scopes.join(" "))?;
                }
                if !x.environments.is_empty() {
                    let envs: Vec<&str> = x.environments.iter().map(|e| e.as_str()).collect();
                    writeln!(
                        w,
                        "  {:<16}only with --env {}{}",
                        "",
                        envs.join("|"),
                        x.environments_note
                            .as_deref()
                            .map(|n| format!(": {n}"))
                            .unwrap_or_default()
                    )?;
                }
                let grants: Vec<&str> = x.grants.iter().map(|g| g.as_str()).collect();
                writeln!(w, "  {:<16}grants: {}", "", grants.join(", "))?;
                if let Some(u) = &x.app_registration_url {
                    writeln!(w, "  {:<16}register the app at: {u}", "")?;
                }
            }
            if let AuthSpec::OAuth1(x) = a {
                writeln!(
                    w,
                    "  {:<16}callback URL to register: {}{}{}",
                    "",
                    x.redirect_uri(),
                    any_port(x.redirect_port),
                    if x.oob {
                        " (or none: --no-browser uses a typed-in code)"
                    } else {
                        ""
                    }
                )?;
                writeln!(
                    w,
                    "  {:<16}signature: {} (consumer key with --client-id, {})",
                    "",
                    x.signature_method.as_str(),
                    if x.signature_method == SignatureMethod::RsaSha1 {
                        "private key with --private-key FILE"
                    } else {
                        "secret with --client-secret-stdin/-env"
                    }
                )?;
                if let Some(u) = &x.app_registration_url {
                    writeln!(w, "  {:<16}register the app at: {u}", "")?;
                }
            }
        }
        if !p.environments.is_empty() {
            writeln!(w, "\nenvironments (--env ENV):")?;
            for (name, values) in &p.environments {
                let v: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
                writeln!(w, "  {name:<16}{}", v.join(", "))?;
            }
        }
        if !p.verified || !p.unverified.is_empty() {
            writeln!(
                w,
                "\nunconfirmed (not checked against a source; verify before relying on them):"
            )?;
            if !p.verified {
                writeln!(w, "  {:<16}the whole entry", "*")?;
            }
            let doc = serde_json::to_value(p).unwrap_or_default();
            for (field, why) in &p.unverified {
                let value = lookup(&doc, field)
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                writeln!(w, "  {field} = {value}")?;
                writeln!(w, "  {:<16}{why}", "")?;
            }
        }
        Ok(0)
    }
}

/// After a redirect URI without a port: the sign-in adds a free one, which the provider
/// ignores for loopback URIs (RFC 8252 section 7.3).
fn any_port(port: Option<u16>) -> &'static str {
    if port.is_none() {
        " (any port: the sign-in adds a free one)"
    } else {
        ""
    }
}

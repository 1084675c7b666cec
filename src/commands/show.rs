//! `conn show NAME`: one connection's settings, with its secrets masked.

use anyhow::Result;

use super::{Done, Out, Report};
use crate::ops::Ctx;
use crate::ops::inspect::{self, Shown};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[arg(add = super::connection_names(), value_hint = clap::ValueHint::Other)]
    name: String,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(ctx: &mut Ctx<'_>, a: Args) -> Result<Done> {
    let shown = inspect::show(ctx, &a.name)?;
    Done::report(Show {
        shown,
        json: a.json,
    })
}

struct Show {
    shown: Shown,
    json: bool,
}

impl Report for Show {
    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        let s = &self.shown;
        if self.json {
            return super::json(o, s);
        }
        let c = &s.connection;
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut kv = |k: &str, v: &str| pairs.push((k.to_string(), v.to_string()));
        kv("name", &s.name);
        kv("provider", &c.provider);
        kv("auth", c.auth.as_str());
        kv("env", c.env.as_str());
        for (k, v) in &c.inputs {
            kv(&format!("input {k}"), &format!("{v:?}"));
        }
        if let Some(u) = &c.username {
            kv("username", u);
        }
        if let Some(i) = &c.identity {
            let who = match (&i.label, &i.id) {
                (Some(l), Some(id)) => format!("{l} (id {id})"),
                (Some(l), None) => l.clone(),
                (None, Some(id)) => format!("id {id}"),
                (None, None) => "-".into(),
            };
            kv("connected as", &who);
            if let Some(inst) = &i.instance {
                kv("instance", inst);
            }
        }
        if let Some(a) = &c.oauth {
            kv("oauth client", &a.client);
            kv("oauth grant", a.grant.as_str());
            // Granted, as the provider last reported them; else as asked at sign-in.
            let held = a.held_scopes();
            let scopes = if held.is_empty() {
                "-".to_string()
            } else {
                held.join(" ")
            };
            kv("scopes", &scopes);
            if let Some(e) = &a.expires_at {
                kv("token expires", e);
            }
            if let Some(r) = &a.refreshed_at {
                kv("refreshed", r);
            }
        }
        kv("secret store", &s.secret_store);
        for (k, v) in &s.secrets {
            kv(&format!("secret {k}"), v);
        }
        if let Some(e) = &s.secrets_error {
            kv("secrets", &format!("unavailable: {e}"));
        }
        kv("created", &c.created_at);
        kv("updated", &c.updated_at);
        match &c.last_check {
            Some(lc) => {
                let msg = lc
                    .message
                    .as_deref()
                    .map(|m| format!(" — {m}"))
                    .unwrap_or_default();
                kv("last check", &format!("{} at {}{msg}", lc.status, lc.at));
            }
            None => kv("last check", "never"),
        }
        let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 2;
        for (k, v) in pairs {
            writeln!(o.out, "{k:<width$}{v}")?;
        }
        Ok(0)
    }
}

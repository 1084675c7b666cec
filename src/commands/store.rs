//! `conn store add|list|rm`: team stores on OpenBao / HashiCorp Vault, whose connections are
//! named TEAM/NAME.

use anyhow::Result;

use super::{Done, Out, Report};
use crate::ops::Ctx;
use crate::ops::teams::{self, Added, StoreRow};
use crate::store::vault::TeamSettings;

pub(crate) const AFTER_HELP: &str = "\
The token: CONN_VAULT_TOKEN, else BAO_TOKEN / VAULT_TOKEN, else an AppRole
(CONN_VAULT_ROLE_ID or --role-id, with CONN_VAULT_SECRET_ID or CONN_VAULT_SECRET_ID_FILE;
the token is cached per host), else the token helper of ~/.bao (then ~/.vault), else
~/.vault-token; none for a local 'bao agent'. Ambient tokens (BAO_*, VAULT_*, helper, file)
are only sent to the server BAO_ADDR / VAULT_ADDR names. CONN_VAULT_ADDR and
CONN_VAULT_NAMESPACE override the saved settings; BAO_CACERT (or VAULT_CACERT) names the
server's CA.";

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Add (or change) a team store; the server and its KV v2 mount are checked first
    Add {
        /// The team's name; its connections are named TEAM/NAME
        team: String,
        /// The server, e.g. https://bao.example.com:8200 (http:// only for loopback)
        #[arg(long, value_name = "URL")]
        vault_addr: String,
        /// OpenBao / Vault Enterprise namespace
        #[arg(long, value_name = "NS")]
        namespace: Option<String>,
        /// The KV version 2 mount
        #[arg(long, default_value = "secret")]
        mount: String,
        /// Entries live under PREFIX/TEAM/ in the mount
        #[arg(long, default_value = "conn")]
        prefix: String,
        /// AppRole role_id for cron hosts (not a secret; the secret_id comes from
        /// CONN_VAULT_SECRET_ID or CONN_VAULT_SECRET_ID_FILE)
        #[arg(long, value_name = "ID")]
        role_id: Option<String>,
    },
    /// List the team stores
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Forget a team store (its connections stay on the server)
    Rm { team: String },
}

pub(crate) fn run(ctx: &mut Ctx<'_>, c: Command) -> Result<Done> {
    match c {
        Command::Add {
            team,
            vault_addr,
            namespace,
            mount,
            prefix,
            role_id,
        } => {
            let settings = TeamSettings {
                address: vault_addr,
                namespace,
                mount: mount.trim_matches('/').to_string(),
                prefix: prefix.trim_matches('/').to_string(),
                role_id,
            };
            Done::report(teams::add(ctx, &team, settings)?)
        }
        Command::List { json } => Done::report(List {
            rows: teams::list(ctx)?,
            json,
        }),
        Command::Rm { team } => {
            teams::remove(ctx, &team)?;
            Done::report(Forgot(team))
        }
    }
}

impl Report for Added {
    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        writeln!(
            o.out,
            "{} team store '{}': {} ({}, entries under {}/); connections named {}/NAME live there.",
            if self.replaced { "Updated" } else { "Added" },
            self.team,
            self.address,
            self.mount,
            self.root,
            self.team
        )?;
        Ok(0)
    }
}

struct List {
    rows: Vec<StoreRow>,
    json: bool,
}

impl Report for List {
    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        if self.json {
            return super::json(o, &self.rows);
        }
        if self.rows.is_empty() {
            writeln!(
                o.err,
                "No team stores. Add one with 'conn store add TEAM --vault-addr URL'."
            )?;
            return Ok(0);
        }
        let body: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.team.clone(),
                    r.settings.address.clone(),
                    r.settings.namespace.clone().unwrap_or_else(|| "-".into()),
                    r.settings.mount.clone(),
                    format!("{}/{}/", r.settings.prefix, r.team),
                    r.settings
                        .role_id
                        .as_ref()
                        .map_or("token", |_| "approle")
                        .to_string(),
                ]
            })
            .collect();
        o.table(
            &["TEAM", "ADDRESS", "NAMESPACE", "MOUNT", "PATH", "AUTH"],
            &body,
            &|_, _| anstyle::Style::new(),
        )?;
        Ok(0)
    }
}

struct Forgot(String);

impl Report for Forgot {
    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        writeln!(
            o.out,
            "Forgot team store '{}'; its connections stay on the server.",
            self.0
        )?;
        Ok(0)
    }
}

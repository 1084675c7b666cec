//! `conn check [NAME...]`: health checks, reported as a table, JSON or Prometheus metrics, with
//! monitoring-plugin exit codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN). A check that can't
//! run at all is UNKNOWN (3) to a monitoring system, not 1.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

use super::{Done, Out, Report, environment};
use crate::check::CheckStatus;
use crate::core::error::{Error, Exit, usage};
use crate::core::vocab::Environment;
use crate::ops::Ctx;
use crate::ops::check::{self, CheckOptions, CheckRun};
use crate::store::fsio;

pub(crate) const AFTER_HELP: &str = "\
Exit codes follow the monitoring-plugin convention: 0 all OK, 1 WARNING, 2 CRITICAL (a
connection needs new credentials or lacks permission), 3 UNKNOWN (unreachable, error).
Cron example (mails only problems):
  */15 * * * *  conn check --quiet
For node_exporter's textfile collector (replaced atomically, exit 0 whenever it was written):
  */5 * * * *  conn check --format prometheus --output /var/lib/node_exporter/conn.prom";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Connections to check (all when none are named)
    #[arg(add = super::connection_names(), value_hint = clap::ValueHint::Other)]
    names: Vec<String>,
    /// Check the connections of this project's recipe (conn.toml), as bound
    #[arg(long, conflicts_with = "names")]
    recipe: bool,
    /// With --recipe: the environment whose bindings to check
    #[arg(long, value_name = "ENV", requires = "recipe", value_parser = environment())]
    env: Option<Environment>,
    /// Print JSON
    #[arg(long)]
    json: bool,
    /// Print nothing when every connection is OK (for cron)
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Seconds to wait for each check request
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout: u64,
    /// Requests in flight at once, token refreshes included (a few more connections are
    /// prepared meanwhile: decrypted, their refreshed tokens saved)
    #[arg(long, value_name = "N", default_value_t = 32)]
    concurrency: usize,
    /// Requests in flight to one API host at once
    #[arg(long, value_name = "N", default_value_t = 8)]
    per_host: usize,
    /// Seconds for the whole run; checks not started by then are reported unreachable
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    deadline: u64,
    /// Warn (exit 1) when a credential expires within this, e.g. 14d, 36h
    #[arg(long, value_name = "DURATION", default_value = "14d", value_parser = humantime::parse_duration)]
    warn_expiring: Duration,
    /// Output format (--json is short for --format json)
    #[arg(long, value_name = "FORMAT", value_parser = ["human", "json", "prometheus"], conflicts_with = "json")]
    format: Option<String>,
    /// With --format prometheus: replace FILE atomically (temp file, fsync, rename; mode 0644
    /// so a collector running as another user can read it) instead of printing
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

/// How `conn check` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Human,
    Json,
    Prometheus,
}

pub(crate) fn run(ctx: &mut Ctx<'_>, a: Args) -> Result<Done> {
    let opts = CheckOptions {
        names: a.names,
        recipe_env: a.recipe.then(|| a.env.unwrap_or(Environment::Production)),
        timeout: Duration::from_secs(a.timeout.max(1)),
        concurrency: a.concurrency.max(1),
        per_host: a.per_host.max(1),
        deadline: Duration::from_secs(a.deadline.max(1)),
        warn_expiring: a.warn_expiring,
    };
    let format = match (a.json, a.format.as_deref()) {
        (true, _) | (_, Some("json")) => Format::Json,
        (_, Some("prometheus")) => Format::Prometheus,
        _ => Format::Human,
    };
    if a.output.is_some() && format != Format::Prometheus {
        return Err(usage(
            "--output FILE writes metrics: use it with --format prometheus",
        ));
    }
    let run = check::run(ctx, &opts).map_err(|e| Error::with_exit(e, Exit::Unknown))?;
    Done::report(Check {
        run,
        format,
        quiet: a.quiet,
        output: a.output,
    })
}

struct Check {
    run: CheckRun,
    format: Format,
    quiet: bool,
    output: Option<PathBuf>,
}

/// The column of the human table that holds the status.
const STATUS_COLUMN: usize = 2;

/// Mode of a metrics file: readable by the collector, which often runs as another user. It
/// holds names, providers and statuses, never a secret.
const METRICS_MODE: u32 = 0o644;

impl Report for Check {
    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        let run = &self.run;
        let code = run.worst.exit_code();
        if let Some(e) = &run.save_error {
            writeln!(o.err, "warning: {e}")?;
        }
        // Metrics are written whole every time: a textfile collector wants the full set. The
        // statuses are in the metrics, so writing them is success (0): a cron line such as
        // `conn check --format prometheus --output f` must not stop updating the file exactly
        // when a connection breaks. Only not being able to write them is an error (UNKNOWN).
        if self.format == Format::Prometheus {
            let metrics = prometheus(run);
            match &self.output {
                Some(path) => fsio::write_atomic_shared(path, metrics.as_bytes(), METRICS_MODE)
                    .with_context(|| format!("could not write the metrics to {}", path.display()))
                    .map_err(|e| Error::with_exit(e, Exit::Unknown))?,
                None => write!(o.out, "{metrics}")?,
            }
            return Ok(0);
        }
        if self.quiet && code == 0 {
            return Ok(code);
        }
        if self.format == Format::Json {
            super::json(o, &run.reports)?;
            return Ok(code);
        }
        if run.reports.is_empty() {
            writeln!(
                o.err,
                "No connections to check. Create one with 'conn new'."
            )?;
            return Ok(code);
        }
        let shown: Vec<_> = run
            .reports
            .iter()
            .filter(|r| !self.quiet || r.outcome.status != CheckStatus::Ok)
            .collect();
        let body: Vec<Vec<String>> = shown
            .iter()
            .map(|r| {
                let x = &r.outcome;
                vec![
                    r.name.clone(),
                    r.provider.clone(),
                    x.status.to_string(),
                    x.identity
                        .as_ref()
                        .and_then(|i| i.display())
                        .unwrap_or("-")
                        .to_string(),
                    x.latency_ms
                        .map(|l| format!("{l}ms"))
                        .unwrap_or_else(|| "-".into()),
                    if x.status == CheckStatus::Ok {
                        String::new()
                    } else {
                        x.message.clone()
                    },
                ]
            })
            .collect();
        let headers = [
            "NAME", "PROVIDER", "STATUS", "IDENTITY", "LATENCY", "DETAIL",
        ];
        // Each hint under its connection's row, wrapped to the terminal.
        let hints: Vec<Option<String>> = shown.iter().map(|r| r.outcome.hint.clone()).collect();
        let status = |row: usize, col: usize| match col {
            STATUS_COLUMN => super::status_style(shown[row].outcome.status),
            _ => anstyle::Style::new(),
        };
        o.table_with_notes(&headers, &body, &status, &hints)?;
        Ok(code)
    }
}

/// The node_exporter textfile format (Prometheus exposition format 0.0.4).
fn prometheus(run: &CheckRun) -> String {
    let esc = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    let mut out = String::new();
    out.push_str("# HELP conn_check_status 1 for the status the connection's last check found, 0 for the others.\n");
    out.push_str("# TYPE conn_check_status gauge\n");
    for r in &run.reports {
        for s in CheckStatus::ALL {
            out.push_str(&format!(
                "conn_check_status{{name=\"{}\",provider=\"{}\",status=\"{}\"}} {}\n",
                esc(&r.name),
                esc(&r.provider),
                s,
                u8::from(r.outcome.status == *s)
            ));
        }
    }
    out.push_str("# HELP conn_check_ok 1 when the connection works.\n# TYPE conn_check_ok gauge\n");
    for r in &run.reports {
        out.push_str(&format!(
            "conn_check_ok{{name=\"{}\",provider=\"{}\"}} {}\n",
            esc(&r.name),
            esc(&r.provider),
            u8::from(r.outcome.status == CheckStatus::Ok)
        ));
    }
    out.push_str("# HELP conn_check_duration_seconds How long the check request took.\n# TYPE conn_check_duration_seconds gauge\n");
    for r in &run.reports {
        if let Some(ms) = r.outcome.latency_ms {
            out.push_str(&format!(
                "conn_check_duration_seconds{{name=\"{}\",provider=\"{}\"}} {:.3}\n",
                esc(&r.name),
                esc(&r.provider),
                ms as f64 / 1000.0
            ));
        }
    }
    out.push_str("# HELP conn_check_last_success_timestamp_seconds When a check of the connection last succeeded.\n# TYPE conn_check_last_success_timestamp_seconds gauge\n");
    for r in &run.reports {
        if let Some(t) = r.last_success {
            out.push_str(&format!(
                "conn_check_last_success_timestamp_seconds{{name=\"{}\",provider=\"{}\"}} {t}\n",
                esc(&r.name),
                esc(&r.provider)
            ));
        }
    }
    out
}

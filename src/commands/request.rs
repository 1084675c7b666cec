//! `conn request NAME [METHOD] PATH`: one authenticated request to the connection's API, the
//! answer on stdout and an exit code for its status class.

use std::io::Read;
use std::time::Duration;

use anyhow::{Context, Result};

use super::{Done, Out, Report, pairs};
use crate::core::error::usage;
use crate::ops::Ctx;
use crate::ops::request::{self, Answer, Body, RequestOptions};

pub(crate) const AFTER_HELP: &str = "\
PATH is relative to the connection's API base URL (a full URL must be under it). The body of
-d is sent as given (Content-Type application/json when it is JSON, unless -H says otherwise).
The answer goes to stdout: JSON pretty-printed on a terminal, the raw bytes otherwise.

Exit codes: 0 2xx, 3 a redirect to another origin (not followed), 4 4xx, 5 5xx, 1 no answer
(network error, credentials could not be refreshed), 2 usage error.

Examples:
  conn request gh /user
  conn request zd POST /api/v2/tickets.json -d @ticket.json
  conn request gh /search/issues --query q=repo:cli/cli --query per_page=5 -i";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[arg(add = super::connection_names(), value_hint = clap::ValueHint::Other)]
    name: String,
    /// METHOD PATH, or just PATH (GET; POST when there is a body)
    #[arg(value_name = "[METHOD] PATH", num_args = 1..=2, required = true)]
    rest: Vec<String>,
    /// A request header, 'Name: value' (repeatable)
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// The body: text, @FILE, or @- for standard input
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    data: Option<String>,
    /// A query parameter, KEY=VALUE (repeatable; URL-encoded by conn)
    // `-q` means --quiet across conn; `-q KEY=VALUE` still works here, unlisted, for scripts
    // written before that rule.
    #[arg(long = "query", short_alias = 'q', value_name = "KEY=VALUE")]
    query: Vec<String>,
    /// Print the status line and the response headers to stderr
    #[arg(short = 'i', long = "include")]
    include: bool,
    /// Seconds to wait for the answer
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout: u64,
}

pub(crate) fn run(ctx: &mut Ctx<'_>, a: Args) -> Result<Done> {
    let (method, path) = match a.rest.as_slice() {
        [path] => (None, path.clone()),
        [method, path] => (Some(method.clone()), path.clone()),
        _ => return Err(usage("expected [METHOD] PATH")),
    };
    let query = pairs("--query", &a.query, false)?;
    let body = match a.data.as_deref() {
        None => None,
        Some("@-") => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("could not read the body from stdin")?;
            Some(buf)
        }
        Some(d) if d.starts_with('@') => {
            let file = &d[1..];
            Some(
                std::fs::read(file)
                    .with_context(|| format!("-d @{file}: could not read {file}"))?,
            )
        }
        Some(d) => Some(d.as_bytes().to_vec()),
    };
    let answer = request::run(
        ctx,
        &RequestOptions {
            name: a.name,
            method,
            path,
            headers: a.headers,
            query,
            body,
            timeout: Duration::from_secs(a.timeout.max(1)),
        },
    )?;
    Done::report(Request {
        answer,
        include: a.include,
    })
}

struct Request {
    answer: Answer,
    include: bool,
}

impl Report for Request {
    /// With `-i` the status line and headers on stderr; the body on stdout, pretty-printed
    /// when it is JSON and stdout is a terminal, else byte for byte.
    fn raw(&self) -> bool {
        true
    }

    fn render(&self, o: &mut Out<'_>) -> Result<u8> {
        let a = &self.answer;
        if self.include {
            writeln!(o.err, "{} {} {}", a.version, a.status, a.reason)?;
            for (k, v) in &a.headers {
                writeln!(o.err, "{k}: {v}")?;
            }
            writeln!(o.err)?;
        }
        match &a.body {
            Body::Whole(body) => {
                if o.terminal
                    && let Ok(v) = serde_json::from_slice::<serde_json::Value>(body)
                {
                    serde_json::to_writer_pretty(&mut *o.out, &v)?;
                    writeln!(o.out)?;
                } else {
                    o.out.write_all(body)?;
                }
            }
            // Too big to hold: copied through as it arrives, scrubbed on the way.
            Body::Stream(stream) => {
                let mut stream = stream.lock().map_err(|_| anyhow::anyhow!("body lost"))?;
                std::io::copy(&mut *stream, &mut *o.out).context("could not read the response")?;
            }
        }
        o.out.flush()?;
        if let Some(n) = &a.notice {
            writeln!(o.err, "conn: {n}")?;
        }
        Ok(request::exit_code(a.status))
    }
}

//! One thin file per subcommand, all of the same shape: its clap `Args`, their resolution into
//! settings (defaults visible there), one `ops` call, and a report that renders itself as text,
//! JSON or Prometheus. No command file imports another; what several share lives here, as
//! cargo's `command_prelude` does: the credential flags (and the flags refused because they
//! would put a secret on argv), the value parsers of conn's words, the dynamic completion of
//! names, `--set KEY=VALUE`, and the table and JSON writers.

pub(crate) mod bind;
pub(crate) mod check;
pub(crate) mod completions;
pub(crate) mod doctor;
pub(crate) mod edit;
pub(crate) mod exec;
pub(crate) mod list;
pub(crate) mod new;
pub(crate) mod providers;
pub(crate) mod reauth;
pub(crate) mod rename;
pub(crate) mod request;
pub(crate) mod rm;
pub(crate) mod show;
pub(crate) mod store;
pub(crate) mod token;

use std::borrow::Cow;
use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use anstyle::Style;
use anyhow::{Context, Result};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use serde::Serialize;

use crate::core::env::Env;
use crate::core::error::usage;
use crate::core::secret::{Secret, cleaned};
use crate::core::vocab::{AuthMethod, Environment, Grant};
use crate::ops::Base;
use crate::ops::clients::{OAuthOptions, read_private_key};
use crate::ops::complete::{self, Candidate};

/// Where a report is written: `out` for the result (stdout), `err` for notes (stderr).
pub(crate) struct Out<'a> {
    pub(crate) out: &'a mut dyn Write,
    pub(crate) err: &'a mut dyn Write,
    /// Whether `out` is a terminal (JSON answers are pretty-printed there).
    pub(crate) terminal: bool,
    /// When colour is on: the same stream as `out`, unescaped, for conn's own colour codes
    /// (and nothing else: outside text always goes through `out`, which escapes it).
    pub(crate) paint: Option<&'a mut dyn Write>,
    /// The terminal's width in columns (`COLUMNS`, else the terminal's own), when known:
    /// tables are cut to it.
    pub(crate) width: Option<usize>,
}

/// The width hints are wrapped at when the terminal's is unknown (a pipe, a mail from cron).
const HINT_WIDTH: usize = 80;

impl Out<'_> {
    /// Writes `text` to `out` in `style` (plain when colour is off).
    pub(crate) fn styled(&mut self, text: &str, style: Style) -> std::io::Result<()> {
        match self.paint.as_mut().filter(|_| style != Style::new()) {
            Some(paint) => {
                // Both are locks of the one stdout buffer, so the order holds.
                write!(paint, "{}", style.render())?;
                self.out.write_all(text.as_bytes())?;
                write!(paint, "{}", style.render_reset())
            }
            None => self.out.write_all(text.as_bytes()),
        }
    }

    /// `table`, cut to the terminal's width, each cell in the style `style(row, column)` gives.
    pub(crate) fn table(
        &mut self,
        headers: &[&str],
        rows: &[Vec<String>],
        style: &dyn Fn(usize, usize) -> Style,
    ) -> std::io::Result<()> {
        self.table_with_notes(headers, rows, style, &[])
    }

    /// `table`, with `notes[i]` (when some) written under row `i`, wrapped to the terminal's
    /// width (80 columns when unknown) and indented.
    pub(crate) fn table_with_notes(
        &mut self,
        headers: &[&str],
        rows: &[Vec<String>],
        style: &dyn Fn(usize, usize) -> Style,
        notes: &[Option<String>],
    ) -> std::io::Result<()> {
        let laid = Layout::new(headers, rows, self.width);
        for (i, cells) in std::iter::once(&laid.headers).chain(&laid.rows).enumerate() {
            let row = i.checked_sub(1);
            let cell_style = |c: usize| row.map_or(Style::new(), |r| style(r, c));
            for (text, c) in laid.line(cells) {
                match c {
                    Some(c) => self.styled(&text, cell_style(c))?,
                    None => self.out.write_all(text.as_bytes())?,
                }
            }
            writeln!(self.out)?;
            if let Some(note) = row.and_then(|r| notes.get(r)).and_then(Option::as_ref) {
                let width = self.width.unwrap_or(HINT_WIDTH);
                let opts = textwrap::Options::new(width.max(20))
                    .initial_indent("  ")
                    .subsequent_indent("  ");
                for l in textwrap::wrap(&crate::core::text::one_line(note), opts) {
                    writeln!(self.out, "{l}")?;
                }
            }
        }
        Ok(())
    }
}

/// How a check status is coloured: green when it works, yellow for a warning, red when it
/// fails or could not be checked.
pub(crate) fn status_style(s: crate::check::CheckStatus) -> Style {
    use crate::check::Severity;
    use anstyle::AnsiColor;
    let colour = match s.severity() {
        Severity::Ok => AnsiColor::Green,
        Severity::Warning => AnsiColor::Yellow,
        Severity::Critical | Severity::Unknown => AnsiColor::Red,
    };
    Style::new().fg_color(Some(colour.into()))
}

/// A command's result, rendered by itself.
pub(crate) trait Report {
    /// Writes the result and returns the process exit code.
    fn render(&self, o: &mut Out<'_>) -> Result<u8>;

    /// Whether the result is data for a pipe (a token, a response body) that must pass byte
    /// for byte when stdout is not a terminal. Everything else is escaped for a terminal.
    fn raw(&self) -> bool {
        false
    }
}

/// What a command hands back to `cli`.
pub(crate) enum Done {
    /// Render this and exit with the code it returns.
    Report(Box<dyn Report>),
    /// `conn exec`: run `command` in conn's place with `vars` added to its environment.
    Exec {
        command: Vec<OsString>,
        vars: Vec<(String, Secret<String>)>,
    },
}

impl Done {
    pub(crate) fn report(r: impl Report + 'static) -> Result<Done> {
        Ok(Done::Report(Box::new(r)))
    }
}

/// `value` as pretty JSON and a newline.
pub(crate) fn json(o: &mut Out<'_>, value: &impl Serialize) -> Result<u8> {
    serde_json::to_writer_pretty(&mut *o.out, value)?;
    writeln!(o.out)?;
    Ok(0)
}

/// The longest a text table cell is shown, in characters; longer ones end in `…` (`--json`
/// has the whole value).
const CELL_MAX: usize = 200;
/// The narrowest a column is cut to when fitting a table to the terminal.
const CELL_MIN: usize = 8;
/// Columns never cut to fit: a name is what the next command needs, a status what was asked.
const KEEP_WHOLE: &[&str] = &["NAME", "STATUS"];

/// `text` cut to `max` characters, the last one `…` when anything was cut.
fn cut(text: Cow<'_, str>, max: usize) -> Cow<'_, str> {
    // Fewer bytes than `max` means fewer characters too: no count needed.
    if text.len() > max && text.chars().count() > max {
        Cow::Owned(
            text.chars()
                .take(max.saturating_sub(1))
                .chain(['…'])
                .collect(),
        )
    } else {
        text
    }
}

/// A table's cells, escaped and cut, and its column widths.
struct Layout<'a> {
    headers: Vec<Cow<'a, str>>,
    rows: Vec<Vec<Cow<'a, str>>>,
    widths: Vec<usize>,
}

impl<'a> Layout<'a> {
    /// Cells are outside text (identities, server messages): each is shown on one line with
    /// its control characters escaped, and cut at `CELL_MAX` characters, so any length renders.
    /// With a `width`, the widest column is narrowed (its cells cut with `…`) until the table
    /// fits or every column is down to `CELL_MIN` (headers too); `KEEP_WHOLE` columns are not
    /// cut, so a very narrow terminal can still wrap a line.
    fn new(headers: &[&'a str], rows: &'a [Vec<String>], width: Option<usize>) -> Layout<'a> {
        let cell = |c: &'a str| cut(crate::core::text::one_line(c), CELL_MAX);
        let mut headers: Vec<Cow<'a, str>> = headers.iter().map(|h| cell(h)).collect();
        let mut rows: Vec<Vec<Cow<'a, str>>> = rows
            .iter()
            .map(|r| r.iter().map(|c| cell(c)).collect())
            .collect();
        let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
        for r in &rows {
            for (i, c) in r.iter().enumerate() {
                if i >= widths.len() {
                    widths.push(0);
                }
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        if let Some(width) = width {
            let floor: Vec<usize> = (0..widths.len())
                .map(|i| match headers.get(i) {
                    Some(h) if KEEP_WHOLE.contains(&h.as_ref()) => widths[i],
                    _ => CELL_MIN.min(widths[i]),
                })
                .collect();
            let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * w.len().saturating_sub(1);
            while total(&widths) > width {
                let Some(i) = (0..widths.len())
                    .filter(|&i| widths[i] > floor[i])
                    .max_by_key(|&i| (widths[i], i))
                else {
                    break;
                };
                let excess = total(&widths) - width;
                let second = (0..widths.len())
                    .filter(|&j| j != i)
                    .map(|j| widths[j])
                    .max()
                    .unwrap_or(0);
                // Down to the next widest column at most per step, so the cut is shared
                // when two columns are both too wide.
                let to = widths[i]
                    .saturating_sub(excess)
                    .max(second.min(widths[i] - 1))
                    .max(floor[i]);
                widths[i] = to;
            }
            for r in std::iter::once(&mut headers).chain(&mut rows) {
                for (i, c) in r.iter_mut().enumerate() {
                    *c = cut(std::mem::take(c), widths[i]);
                }
            }
        }
        Layout {
            headers,
            rows,
            widths,
        }
    }

    /// One line's pieces: each cell's text with its column, and the padding between them
    /// (no column). The last column is not padded, nor are empty cells at the end.
    fn line<'c>(&self, cells: &'c [Cow<'a, str>]) -> Vec<(Cow<'c, str>, Option<usize>)> {
        const SPACES: &str = "                                                                ";
        let n = cells
            .iter()
            .rposition(|c| !c.trim_end().is_empty())
            .map_or(0, |i| i + 1);
        let mut out = Vec::with_capacity(2 * n);
        for (i, c) in cells[..n].iter().enumerate() {
            if i + 1 < n {
                out.push((Cow::Borrowed(c.as_ref()), Some(i)));
                // Padding by hand: `format!("{c:<w$}")` panics when w exceeds u16::MAX.
                let pad = self.widths[i].saturating_sub(c.chars().count()) + 2;
                out.push((
                    SPACES
                        .get(..pad)
                        .map_or_else(|| Cow::Owned(" ".repeat(pad)), Cow::Borrowed),
                    None,
                ));
            } else {
                out.push((Cow::Borrowed(c.trim_end()), Some(i)));
            }
        }
        out
    }
}

/// Left-aligned columns separated by two spaces; the last column is not padded. Cells are
/// outside text, escaped and cut as `Layout` says; nothing is cut to a width.
#[cfg(test)]
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let laid = Layout::new(headers, rows, None);
    let mut out = String::new();
    for cells in std::iter::once(&laid.headers).chain(&laid.rows) {
        for (text, _) in laid.line(cells) {
            out.push_str(&text);
        }
        out.push('\n');
    }
    out
}

/// Parses one of conn's words (`production`, `api_key`, ...) and lists the choices in help
/// and completions.
fn words<T>(all: &'static [T]) -> impl TypedValueParser<Value = T>
where
    T: Copy + Send + Sync + 'static + std::str::FromStr + WordStr,
    <T as std::str::FromStr>::Err: std::fmt::Debug,
{
    PossibleValuesParser::new(all.iter().map(|w| w.word())).map(|s| {
        s.parse::<T>()
            .expect("clap allowed only the possible values")
    })
}

/// A word's spelling, for `words`.
trait WordStr {
    fn word(&self) -> &'static str;
}

macro_rules! word_str {
    ($($t:ty),*) => {$(
        impl WordStr for $t {
            fn word(&self) -> &'static str {
                self.as_str()
            }
        }
    )*};
}
word_str!(Environment, AuthMethod, Grant);

/// `--env production|sandbox`.
pub(crate) fn environment() -> impl TypedValueParser<Value = Environment> {
    words(Environment::ALL)
}

/// `--auth api_key|basic|oauth2|oauth1`.
pub(crate) fn auth_method() -> impl TypedValueParser<Value = AuthMethod> {
    words(AuthMethod::ALL)
}

/// `--grant`: the OAuth 2.0 grants.
pub(crate) fn grant() -> impl TypedValueParser<Value = Grant> {
    const OAUTH2: &[Grant] = &[
        Grant::AuthorizationCode,
        Grant::DeviceCode,
        Grant::ClientCredentials,
    ];
    words(OAUTH2)
}

// Dynamic completion of argument values: the `add = …()` of the arguments that name a
// connection, a provider or a recipe role. clap_complete's engine calls these while the shell
// completes (`COMPLETE=bash conn`, see `cli::parse`); the values come from `ops::complete`,
// read from the same files and environment as a normal run.

/// Completes connection names.
pub(crate) fn connection_names() -> ArgValueCandidates {
    ArgValueCandidates::new(|| candidates(complete::connections))
}

/// Completes provider ids.
pub(crate) fn provider_ids() -> ArgValueCandidates {
    ArgValueCandidates::new(|| candidates(complete::providers))
}

/// Completes the roles of the recipe found from the current directory.
pub(crate) fn recipe_roles() -> ArgValueCandidates {
    ArgValueCandidates::new(|| candidates(complete::roles))
}

fn candidates(of: fn(&Base) -> Vec<Candidate>) -> Vec<CompletionCandidate> {
    complete::with(Env::from_process(), of)
        .into_iter()
        .map(|c| CompletionCandidate::new(c.value).help(Some(c.help.into())))
        .collect()
}

/// `KEY=VALUE` pairs of `flag` (`--set`, `--query`), in order; the key trimmed when `trim`.
pub(crate) fn pairs(flag: &str, given: &[String], trim: bool) -> Result<Vec<(String, String)>> {
    given
        .iter()
        .map(|s| {
            let (k, v) = s
                .split_once('=')
                .ok_or_else(|| usage(format!("{flag} {s}: expected KEY=VALUE")))?;
            let k = if trim { k.trim() } else { k };
            // `--set` values end up in URLs, headers and file names; `--query` values are
            // percent-encoded by conn, so any text is fine there.
            if flag == "--set" {
                crate::core::text::check_single_line(&format!("--set {k}"), v).map_err(usage)?;
                crate::core::text::check_single_line("a --set key", k).map_err(usage)?;
            }
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

/// Flags that would put a secret on the command line, where it ends up in shell history and
/// the process list. No command defines them, so they are in no help, completion or man page;
/// `cli` turns clap's "unexpected argument" for one of them into `secret_on_argv`'s refusal,
/// which names the ways conn does take a secret.
pub(crate) const SECRET_FLAGS: &[&str] = &[
    "--secret",
    "--password",
    "--passwd",
    "--pass",
    "--api-key",
    "--apikey",
    "--api-token",
    "--token",
    "--access-token",
    "--refresh-token",
    "--bearer-token",
    "--client-secret",
    "--consumer-secret",
    "--token-secret",
];

/// The refusal of `flag` (as given, `--secret` or `--secret=VALUE`) when it is one of
/// `SECRET_FLAGS`: a usage error (exit 2) that names the alternatives and never the value.
pub(crate) fn secret_on_argv(flag: &str) -> Option<anyhow::Error> {
    let name = flag.split_once('=').map_or(flag, |(name, _)| name);
    let flag = SECRET_FLAGS.iter().find(|f| **f == name)?;
    Some(usage(format!(
        "{flag} is not accepted: a secret on the command line ends up in shell history and the process list. Use --secret-stdin or --secret-env VAR (--client-secret-stdin / --client-secret-env for an OAuth client secret), or answer the hidden prompt"
    )))
}

/// How to sign in: shared by `new` and `reauth`.
#[derive(Debug, clap::Args)]
pub(crate) struct CredentialArgs {
    /// User name for Basic auth (e.g. the account's email)
    #[arg(long, value_name = "USER")]
    username: Option<String>,
    /// Read the API key / password from standard input
    #[arg(long, conflicts_with = "secret_env")]
    secret_stdin: bool,
    /// Read the API key / password from this environment variable
    #[arg(long, value_name = "VAR")]
    secret_env: Option<String>,
    /// OAuth client id (OAuth 1.0a: consumer key) of your registered app, saved and offered
    /// for reuse
    #[arg(long, value_name = "ID")]
    client_id: Option<String>,
    /// Read the OAuth client secret (OAuth 1.0a: consumer secret) from standard input
    #[arg(long, conflicts_with_all = ["client_secret_env", "secret_stdin"])]
    client_secret_stdin: bool,
    /// Read the OAuth client secret from this environment variable
    #[arg(long, value_name = "VAR")]
    client_secret_env: Option<String>,
    /// OAuth 1.0a with RSA-SHA1: the consumer's PEM private key file (its contents go to the
    /// secret store)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["client_secret_stdin", "client_secret_env"])]
    private_key: Option<PathBuf>,
    /// OAuth scopes to request, comma-separated (default: the provider's)
    #[arg(long, value_name = "S,S", value_delimiter = ',')]
    scopes: Option<Vec<String>>,
    /// OAuth: sign in with a code on another device (no browser here)
    #[arg(long, conflicts_with = "grant")]
    device: bool,
    /// OAuth grant to use
    #[arg(long, value_name = "GRANT", value_parser = grant())]
    grant: Option<Grant>,
    /// OAuth: print the sign-in URL instead of opening a browser; paste the redirected URL back
    #[arg(long)]
    no_browser: bool,
    /// OAuth: fixed loopback port for the redirect (when the app's redirect URI has one)
    #[arg(long, value_name = "N")]
    port: Option<u16>,
    /// Seconds to wait: for the sign-in (default 300) and for each request (at most 30)
    #[arg(long, value_name = "SECS")]
    timeout: Option<u64>,
    /// Take defaults without asking; confirm replacing a connection's account
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
}

/// The sign-in settings `CredentialArgs` resolve to.
#[derive(Debug)]
pub(crate) struct Creds {
    pub(crate) username: Option<String>,
    /// The API key / password, read from where the user said.
    pub(crate) secret: Option<Secret<String>>,
    pub(crate) oauth: OAuthOptions,
    /// For each HTTP request (the check): `--timeout`, at most 30 s, default 30 s.
    pub(crate) request_timeout: Duration,
}

/// Default and ceiling of `--timeout` for one request, in seconds.
const REQUEST_TIMEOUT_SECS: u64 = 30;
/// Default `--timeout` for a sign-in, in seconds.
const SIGN_IN_TIMEOUT_SECS: u64 = 300;

impl CredentialArgs {
    /// Raw sign-in flags to settings: reads secrets from stdin or the named variable (flags
    /// that would carry a secret on argv do not exist; see `SECRET_FLAGS`).
    pub(crate) fn resolve(self, env: &Env) -> Result<Creds> {
        let secret = read_secret(
            env,
            self.secret_stdin,
            self.secret_env.as_deref(),
            "--secret",
        )?;
        let client_secret = match &self.private_key {
            Some(path) => Some(read_private_key(path)?),
            None => read_secret(
                env,
                self.client_secret_stdin,
                self.client_secret_env.as_deref(),
                "--client-secret",
            )?,
        };
        let grant = if self.device {
            Some(Grant::DeviceCode)
        } else {
            self.grant
        };
        Ok(Creds {
            username: self.username,
            secret,
            request_timeout: Duration::from_secs(
                self.timeout
                    .unwrap_or(REQUEST_TIMEOUT_SECS)
                    .clamp(1, REQUEST_TIMEOUT_SECS),
            ),
            oauth: OAuthOptions {
                client_id: self.client_id,
                client_secret,
                scopes: self.scopes.map(|v| {
                    v.into_iter()
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                }),
                grant,
                no_browser: self.no_browser,
                port: self.port,
                timeout: Duration::from_secs(self.timeout.unwrap_or(SIGN_IN_TIMEOUT_SECS).max(1)),
                yes: self.yes,
            },
        })
    }
}

/// A secret from stdin (`<flag>-stdin`) or a named environment variable (`<flag>-env`).
fn read_secret(
    env: &Env,
    stdin: bool,
    var: Option<&str>,
    flag: &str,
) -> Result<Option<Secret<String>>> {
    if stdin {
        if std::io::stdin().is_terminal() {
            return Err(usage(format!(
                "{flag}-stdin reads a secret piped into conn, and stdin is a terminal (typing there would show the secret); leave it out to be asked with a hidden prompt"
            )));
        }
        let mut buf = String::new();
        std::io::stdin()
            .read_to_string(&mut buf)
            .context("could not read the secret from stdin")?;
        let secret = cleaned(&format!("secret read by {flag}-stdin"), &buf);
        zeroize::Zeroize::zeroize(&mut buf);
        return secret.map(Some).map_err(|e| usage(format!("{e:#}")));
    }
    match var {
        None => Ok(None),
        Some(var) => {
            let v = env.get(var).ok_or_else(|| {
                usage(format!(
                    "{flag}-env {var}: the environment variable {var} is not set or empty"
                ))
            })?;
            cleaned(&format!("value of {var} ({flag}-env)"), v)
                .map(Some)
                .map_err(|e| usage(format!("{e:#}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_cell_longer_than_u16_renders() {
        let long = "x".repeat(70_000);
        let t = table(
            &["NAME", "IDENTITY", "X"],
            &[vec!["a".into(), long, "z".into()]],
        );
        assert_eq!(t.lines().count(), 2);
        assert!(t.lines().nth(1).unwrap().ends_with("…  z"));
    }

    #[test]
    fn a_table_is_fitted_by_cutting_its_widest_column() {
        let rows = vec![vec!["a".into(), "x".repeat(100), "short".into()]];
        let laid = Layout::new(&["NAME", "DETAIL", "OTHER"], &rows, Some(40));
        let line: String = laid
            .line(&laid.rows[0])
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        assert_eq!(line.chars().count(), 40, "{line}");
        assert!(line.starts_with("a     "), "{line}");
        assert!(line.ends_with("x…  short"), "{line}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn any_cells_render_one_line_per_row(
            rows in proptest::collection::vec(proptest::collection::vec(any::<String>(), 0..5), 0..6),
        ) {
            let t = table(&["A", "B", "C"], &rows);
            prop_assert_eq!(t.lines().count(), rows.len() + 1);
            prop_assert!(!t.chars().any(crate::core::text::is_hostile));
        }
    }
}

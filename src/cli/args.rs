//! The command-line interface as clap sees it: raw arguments, before any resolving.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

const AFTER_HELP: &str = "\
Environment:
  CONN_HOME            one directory for all of conn's files (config, secrets)
  CONN_SECRET_STORE    keychain | file: where new secrets go
  CONN_AGE_IDENTITY_FILE, CONN_AGE_IDENTITY
                       the age identity of the encrypted file store (a path, or the key itself)
  CONN_KEYCHAIN_TIMEOUT
                       seconds to wait for the OS keychain (default 10)
  NO_COLOR             plain prompts

Exit codes: 0 success, 1 failure, 2 usage error, 130 cancelled.
'conn check' instead uses 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.";

/// Named, authenticated connections to web APIs: made once, checked from cron, used by scripts.
#[derive(Debug, Parser)]
#[command(name = "conn", version, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// Print diagnostics on stderr (never secrets)
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a connection (a wizard on a terminal; every question also has a flag)
    #[command(after_help = NEW_AFTER_HELP)]
    New(Box<NewArgs>),
    /// List connections with their last check
    List(ListArgs),
    /// Show one connection; secrets are always masked
    Show {
        name: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Check that connections work and who they are connected as
    #[command(after_help = CHECK_AFTER_HELP)]
    Check(CheckArgs),
    /// Sign in again for an existing connection, keeping its name and settings
    Reauth(Box<ReauthArgs>),
    /// Print a valid access token (refreshed if due) or key, for scripts
    Token { name: String },
    /// Run a command with connections' credentials in its environment (never on its argv)
    #[command(after_help = EXEC_AFTER_HELP)]
    Exec(ExecArgs),
    /// Send one authenticated request to a connection's API (like 'gh api')
    #[command(after_help = REQUEST_AFTER_HELP)]
    Request(RequestArgs),
    /// Choose the connection that plays a role of this project's recipe (conn.toml)
    #[command(after_help = BIND_AFTER_HELP)]
    Bind(BindArgs),
    /// Rename a connection (its secrets stay where they are)
    Rename { old: String, new: String },
    /// Remove a connection and its secrets
    Rm {
        name: String,
        /// Don't ask for confirmation (required when there is no terminal)
        #[arg(long, short = 'y')]
        yes: bool,
        /// Don't revoke the OAuth grant at the provider (API keys and passwords are never
        /// revoked by conn)
        #[arg(long)]
        keep_remote: bool,
    },
    /// The apps conn knows and how to set them up
    #[command(subcommand)]
    Providers(ProvidersCommand),
    /// Team stores: a team's connections on OpenBao / HashiCorp Vault (named TEAM/NAME)
    #[command(subcommand, after_help = STORE_AFTER_HELP)]
    Store(StoreCommand),
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Check conn's files, secret stores and clock
    Doctor {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

const STORE_AFTER_HELP: &str = "\
The token: CONN_VAULT_TOKEN, else BAO_TOKEN / VAULT_TOKEN, else an AppRole
(CONN_VAULT_ROLE_ID or --role-id, with CONN_VAULT_SECRET_ID or CONN_VAULT_SECRET_ID_FILE;
the token is cached per host), else the token helper of ~/.bao, else ~/.vault-token; none
for a local 'bao agent'. Ambient tokens (BAO_*, VAULT_*, helper, file) are only sent to the
server BAO_ADDR / VAULT_ADDR names. CONN_VAULT_ADDR and CONN_VAULT_NAMESPACE override the
saved settings; BAO_CACERT (or VAULT_CACERT) names the server's CA.";

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Add (or change) a team store; the server and its KV v2 mount are checked first
    Add {
        /// The team's name; its connections are named TEAM/NAME
        team: String,
        /// The server, e.g. https://bao.example.com:8200 (http:// only for loopback)
        #[arg(long)]
        vault_addr: String,
        /// Vault Enterprise / OpenBao namespace
        #[arg(long)]
        namespace: Option<String>,
        /// The KV version 2 mount
        #[arg(long, default_value = "secret")]
        mount: String,
        /// Entries live under PREFIX/TEAM/ in the mount
        #[arg(long, default_value = "conn")]
        prefix: String,
        /// AppRole role_id for cron hosts (not a secret)
        #[arg(long)]
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

const NEW_AFTER_HELP: &str = "\
Secrets are never taken from the command line: give them at the hidden prompt, on stdin
(--secret-stdin) or in an environment variable you name (--secret-env VAR).

Examples:
  conn new                                   # the wizard
  conn new gh --provider github --secret-env GITHUB_TOKEN
  printf %s \"$TOKEN\" | conn new zd --provider zendesk --set subdomain=acme \\
      --username me@acme.com --secret-stdin
  conn new api --provider http --auth api_key --set base_url=https://api.example.com \\
      --set check_path=/me --set header=X-Api-Key --set prefix= --secret-env API_KEY";

const CHECK_AFTER_HELP: &str = "\
Exit codes follow the monitoring-plugin convention: 0 all OK, 1 WARNING, 2 CRITICAL (a
connection needs new credentials or lacks permission), 3 UNKNOWN (unreachable, error).
Cron example (mails only problems):
  */15 * * * *  conn check --quiet
For node_exporter's textfile collector:
  conn check --format prometheus > /var/lib/node_exporter/conn.prom.tmp && mv ...";

const EXEC_AFTER_HELP: &str = "\
For each connection, with PREFIX its name in UPPER_SNAKE case (or the role's, for a recipe):
  PREFIX_AUTHORIZATION  the whole Authorization header value (not for OAuth 1.0a, which signs
                        each request: use 'conn request' for those)
  PREFIX_AUTH_HEADER    the credential header as 'Name: value' (for curl -H @file)
  PREFIX_TOKEN          OAuth access token       PREFIX_API_KEY   API key
  PREFIX_USERNAME, PREFIX_PASSWORD               Basic auth (user name as sent)
  PREFIX_BASE_URL       the API base URL; and each instance input, e.g. PREFIX_SUBDOMAIN
OAuth tokens are refreshed first. Then conn becomes the command (same process id), so signals
sent to it reach the command and its exit status is conn's (127: not found, 126: not
executable).

With no names, the project's recipe (conn.toml here or in a parent directory) says which
connections, by role: see 'conn bind'. CONN_BIND_<ROLE>=NAME or --bind ROLE=NAME swap one
for a run; --env sandbox uses the sandbox bindings and refuses production connections.

Examples:
  conn exec gh -- sh -c 'printf %s \"$GH_AUTH_HEADER\" | curl -sH @- \"$GH_BASE_URL/user\"'
  conn exec zendesk-acme=ZD billing -- ./sync.sh
  conn exec --env sandbox -- ./sync.sh";

const REQUEST_AFTER_HELP: &str = "\
PATH is relative to the connection's API base URL (a full URL must be under it). The body of
-d is sent as given (Content-Type application/json when it is JSON, unless -H says otherwise).
The answer goes to stdout: JSON pretty-printed on a terminal, the raw bytes otherwise.

Exit codes: 0 2xx, 3 a redirect to another origin (not followed), 4 4xx, 5 5xx, 1 no answer
(network error, credentials could not be refreshed), 2 usage error.

Examples:
  conn request gh /user
  conn request zd POST /api/v2/tickets.json -d @ticket.json
  conn request gh /search/issues --query q=repo:cli/cli --query per_page=5 -i";

const BIND_AFTER_HELP: &str = "\
The recipe is the nearest conn.toml in this directory or a parent; bindings are stored for this
project and user in conn's data dir, not in the project. With no arguments, shows the roles
and their bindings.

Example conn.toml:
  [roles.crm]
  provider = \"salesforce\"
  [roles.crm_archive]
  provider = \"salesforce\"
  secondary = true";

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Connections to export, as NAME or NAME=PREFIX (none: the project's recipe)
    #[arg(value_name = "NAME[=PREFIX]")]
    pub targets: Vec<String>,
    /// Recipe run: this connection plays ROLE, for this run only (repeatable)
    #[arg(long = "bind", value_name = "ROLE=NAME")]
    pub binds: Vec<String>,
    /// Environment of the run: sandbox uses sandbox bindings and refuses production connections
    #[arg(long, value_name = "ENV", default_value = "production", value_parser = ["production", "sandbox"])]
    pub env: String,
    /// The command and its arguments, after --
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct RequestArgs {
    pub name: String,
    /// METHOD PATH, or just PATH (GET; POST when there is a body)
    #[arg(value_name = "[METHOD] PATH", num_args = 1..=2, required = true)]
    pub rest: Vec<String>,
    /// A request header, 'Name: value' (repeatable)
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The body: text, @FILE, or @- for standard input
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Option<String>,
    /// A query parameter, KEY=VALUE (repeatable; URL-encoded by conn)
    #[arg(long = "query", short = 'q', value_name = "KEY=VALUE")]
    pub query: Vec<String>,
    /// Print the status line and the response headers to stderr
    #[arg(short = 'i', long = "include")]
    pub include: bool,
    /// Seconds to wait for the answer
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct BindArgs {
    /// A role of the recipe (no arguments: show the roles and their bindings)
    #[arg(requires = "name")]
    pub role: Option<String>,
    /// The connection that plays it
    pub name: Option<String>,
    /// The environment this binding is for
    #[arg(long, value_name = "ENV", default_value = "production", value_parser = ["production", "sandbox"])]
    pub env: String,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Name for the connection (letters, digits, '-', '_', '.')
    pub name: Option<String>,
    /// Provider id (see 'conn providers list')
    #[arg(long, value_name = "ID")]
    pub provider: Option<String>,
    /// Auth method, when the provider offers several
    #[arg(long, value_name = "METHOD", value_parser = ["api_key", "basic", "oauth2", "oauth1"])]
    pub auth: Option<String>,
    /// Environment: sandbox uses the provider's sandbox hosts where it has them; also a tag
    /// for `conn list --env`
    #[arg(long, value_name = "ENV", value_parser = ["production", "sandbox"])]
    pub env: Option<String>,
    /// An instance input, e.g. subdomain=acme (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    #[command(flatten)]
    pub creds: CredentialArgs,
    /// Save without checking the connection first
    #[arg(long)]
    pub no_check: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// How to sign in: shared by `new` and `reauth`.
#[derive(Debug, Args)]
pub struct CredentialArgs {
    /// User name for Basic auth (e.g. the account's email)
    #[arg(long, value_name = "USER")]
    pub username: Option<String>,
    /// Read the API key / password from standard input
    #[arg(long, conflicts_with = "secret_env")]
    pub secret_stdin: bool,
    /// Read the API key / password from this environment variable
    #[arg(long, value_name = "VAR")]
    pub secret_env: Option<String>,
    /// OAuth client id (OAuth 1.0a: consumer key) of your registered app, saved and offered
    /// for reuse
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// Read the OAuth client secret (OAuth 1.0a: consumer secret) from standard input
    #[arg(long, conflicts_with_all = ["client_secret_env", "secret_stdin"])]
    pub client_secret_stdin: bool,
    /// Read the OAuth client secret from this environment variable
    #[arg(long, value_name = "VAR")]
    pub client_secret_env: Option<String>,
    /// OAuth 1.0a with RSA-SHA1: the consumer's PEM private key file (its contents go to the
    /// secret store)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["client_secret_stdin", "client_secret_env"])]
    pub private_key: Option<PathBuf>,
    /// OAuth scopes to request, comma-separated (default: the provider's)
    #[arg(long, value_name = "S,S", value_delimiter = ',')]
    pub scopes: Option<Vec<String>>,
    /// OAuth: sign in with a code on another device (no browser here)
    #[arg(long, conflicts_with = "grant")]
    pub device: bool,
    /// OAuth grant to use
    #[arg(long, value_name = "GRANT", value_parser = ["authorization_code", "device_code", "client_credentials"])]
    pub grant: Option<String>,
    /// OAuth: print the sign-in URL instead of opening a browser; paste the redirected URL back
    #[arg(long)]
    pub no_browser: bool,
    /// OAuth: fixed loopback port for the redirect (when the app's redirect URI has one)
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// Seconds to wait: for the sign-in (default 300) and for each request (at most 30)
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Take defaults without asking; confirm replacing a connection's account
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Not accepted: a secret on the command line leaks into shell history and the process list
    #[arg(long, hide = true, num_args = 0..=1, value_name = "VALUE")]
    pub secret: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, value_name = "VALUE")]
    pub password: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, value_name = "VALUE")]
    pub api_key: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, value_name = "VALUE")]
    pub token: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, value_name = "VALUE")]
    pub client_secret: Option<Option<String>>,
}

impl CredentialArgs {
    /// The name of a secret-carrying flag that was used, if any.
    pub fn secret_on_argv(&self) -> Option<&'static str> {
        [
            ("--secret", self.secret.is_some()),
            ("--password", self.password.is_some()),
            ("--api-key", self.api_key.is_some()),
            ("--token", self.token.is_some()),
            ("--client-secret", self.client_secret.is_some()),
        ]
        .into_iter()
        .find_map(|(f, used)| used.then_some(f))
    }
}

#[derive(Debug, Args)]
pub struct ReauthArgs {
    pub name: String,
    #[command(flatten)]
    pub creds: CredentialArgs,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only connections to this provider
    #[arg(long, value_name = "ID")]
    pub provider: Option<String>,
    /// Only connections with this environment tag
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Connections to check (all when none are named)
    pub names: Vec<String>,
    /// Check the connections of this project's recipe (conn.toml), as bound
    #[arg(long, conflicts_with = "names")]
    pub recipe: bool,
    /// With --recipe: the environment whose bindings to check
    #[arg(long, value_name = "ENV", requires = "recipe", value_parser = ["production", "sandbox"])]
    pub env: Option<String>,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
    /// Print nothing when every connection is OK (for cron)
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Seconds to wait for each check request
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
    /// Checks in flight at once
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub concurrency: usize,
    /// Requests in flight to one API host at once
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub per_host: usize,
    /// Seconds for the whole run; checks not started by then are reported unreachable
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub deadline: u64,
    /// Warn (exit 1) when a credential expires within this, e.g. 14d, 36h
    #[arg(long, value_name = "DURATION", default_value = "14d", value_parser = humantime::parse_duration)]
    pub warn_expiring: std::time::Duration,
    /// Output format (--json is short for --format json)
    #[arg(long, value_name = "FORMAT", value_parser = ["human", "json", "prometheus"], conflicts_with = "json")]
    pub format: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ProvidersCommand {
    /// List the providers (built-in and your own)
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// What a provider needs and how to set up the app side
    Show {
        id: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Validate a provider definition file
    Validate { file: PathBuf },
}

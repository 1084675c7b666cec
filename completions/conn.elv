
use builtin;
use str;

set edit:completion:arg-completer[conn] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'conn'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'conn'= {
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand new 'Create a connection (a wizard on a terminal; every question also has a flag)'
            cand list 'List connections with their last check'
            cand show 'Show one connection; secrets are always masked'
            cand check 'Check that connections work and who they are connected as'
            cand edit 'Change a connection''s settings (base URL, check path, ...), keeping its secrets'
            cand reauth 'Sign in again for an existing connection, keeping its name and settings'
            cand token 'Print a valid access token (refreshed if due) or key, for scripts'
            cand exec 'Run a command with connections'' credentials in its environment (never on its argv)'
            cand request 'Send one authenticated request to a connection''s API (like ''gh api'')'
            cand bind 'Choose the connection that plays a role of this project''s recipe (conn.toml)'
            cand rename 'Rename a connection (its secrets stay where they are)'
            cand rm 'Remove a connection and its secrets'
            cand providers 'The apps conn knows and how to set them up'
            cand store 'Team stores: a team''s connections on OpenBao / HashiCorp Vault (named TEAM/NAME)'
            cand completions 'Print a shell completion script'
            cand doctor 'Check conn''s files, secret stores and clock'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'conn;new'= {
            cand --provider 'Provider id (see ''conn providers list'')'
            cand --auth 'Auth method, when the provider offers several'
            cand --env 'Environment: sandbox uses the provider''s sandbox hosts where it has them; also a tag for `conn list --env`'
            cand --set 'An instance input, e.g. subdomain=acme (repeatable)'
            cand --username 'User name for Basic auth (e.g. the account''s email)'
            cand --secret-env 'Read the API key / password from this environment variable'
            cand --client-id 'OAuth client id (OAuth 1.0a: consumer key) of your registered app, saved and offered for reuse'
            cand --client-secret-env 'Read the OAuth client secret from this environment variable'
            cand --private-key 'OAuth 1.0a with RSA-SHA1: the consumer''s PEM private key file (its contents go to the secret store)'
            cand --scopes 'OAuth scopes to request, comma-separated (default: the provider''s)'
            cand --grant 'OAuth grant to use'
            cand --port 'OAuth: fixed loopback port for the redirect (when the app''s redirect URI has one)'
            cand --timeout 'Seconds to wait: for the sign-in (default 300) and for each request (at most 30)'
            cand --secret-stdin 'Read the API key / password from standard input'
            cand --client-secret-stdin 'Read the OAuth client secret (OAuth 1.0a: consumer secret) from standard input'
            cand --device 'OAuth: sign in with a code on another device (no browser here)'
            cand --no-browser 'OAuth: print the sign-in URL instead of opening a browser; paste the redirected URL back'
            cand -y 'Take defaults without asking; confirm replacing a connection''s account'
            cand --yes 'Take defaults without asking; confirm replacing a connection''s account'
            cand --no-check 'Save without checking the connection first'
            cand --json 'Print the result as JSON'
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'conn;list'= {
            cand --provider 'Only connections to this provider (a provider id: a typo is an error, not an empty list)'
            cand --env 'Only connections with this environment tag'
            cand --json 'Print JSON'
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'conn;show'= {
            cand --json 'Print JSON'
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'conn;check'= {
            cand --env 'With --recipe: the environment whose bindings to check'
            cand --timeout 'Seconds to wait for each check request'
            cand --concurrency 'Requests in flight at once, token refreshes included (a few more connections are prepared meanwhile: decrypted, their refreshed tokens saved)'
            cand --per-host 'Requests in flight to one API host at once'
            cand --deadline 'Seconds for the whole run; checks not started by then are reported unreachable'
            cand --warn-expiring 'Warn (exit 1) when a credential expires within this, e.g. 14d, 36h'
            cand --format 'Output format (--json is short for --format json)'
            cand -o 'With --format prometheus: replace FILE atomically (temp file, fsync, rename; mode 0644 so a collector running as another user can read it) instead of printing'
            cand --output 'With --format prometheus: replace FILE atomically (temp file, fsync, rename; mode 0644 so a collector running as another user can read it) instead of printing'
            cand --recipe 'Check the connections of this project''s recipe (conn.toml), as bound'
            cand --json 'Print JSON'
            cand -q 'Print nothing when every connection is OK (for cron)'
            cand --quiet 'Print nothing when every connection is OK (for cron)'
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'conn;edit'= {
            cand --set 'A setting to change, e.g. base_url=https://api.example.com/v2 (repeatable; an empty VALUE clears an optional one)'
            cand --timeout 'Seconds to wait for the check request'
            cand --no-check 'Save without checking the connection first'
            cand -y 'Save even when the check fails'
            cand --yes 'Save even when the check fails'
            cand --json 'Print the result as JSON'
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'conn;reauth'= {
            cand --username 'User name for Basic auth (e.g. the account''s email)'
            cand --secret-env 'Read the API key / password from this environment variable'
            cand --client-id 'OAuth client id (OAuth 1.0a: consumer key) of your registered app, saved and offered for reuse'
            cand --client-secret-env 'Read the OAuth client secret from this environment variable'
            cand --private-key 'OAuth 1.0a with RSA-SHA1: the consumer''s PEM private key file (its contents go to the secret store)'
            cand --scopes 'OAuth scopes to request, comma-separated (default: the provider''s)'
            cand --grant 'OAuth grant to use'
            cand --port 'OAuth: fixed loopback port for the redirect (when the app''s redirect URI has one)'
            cand --timeout 'Seconds to wait: for the sign-in (default 300) and for each request (at most 30)'
            cand --secret-stdin 'Read the API key / password from standard input'
            cand --client-secret-stdin 'Read the OAuth client secret (OAuth 1.0a: consumer secret) from standard input'
            cand --device 'OAuth: sign in with a code on another device (no browser here)'
            cand --no-browser 'OAuth: print the sign-in URL instead of opening a browser; paste the redirected URL back'
            cand -y 'Take defaults without asking; confirm replacing a connection''s account'
            cand --yes 'Take defaults without asking; confirm replacing a connection''s account'
            cand --json 'Print the result as JSON'
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'conn;token'= {
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'conn;exec'= {
            cand --bind 'Recipe run: this connection plays ROLE, for this run only (repeatable)'
            cand --env 'Environment of the run: sandbox uses sandbox bindings and refuses production connections'
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'conn;request'= {
            cand -H 'A request header, ''Name: value'' (repeatable)'
            cand --header 'A request header, ''Name: value'' (repeatable)'
            cand -d 'The body: text, @FILE, or @- for standard input'
            cand --data 'The body: text, @FILE, or @- for standard input'
            cand --query 'A query parameter, KEY=VALUE (repeatable; URL-encoded by conn)'
            cand --timeout 'Seconds to wait for the answer'
            cand -i 'Print the status line and the response headers to stderr'
            cand --include 'Print the status line and the response headers to stderr'
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'conn;bind'= {
            cand --env 'The environment this binding is for'
            cand --json 'Print JSON'
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'conn;rename'= {
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'conn;rm'= {
            cand -y 'Don''t ask for confirmation (required when there is no terminal)'
            cand --yes 'Don''t ask for confirmation (required when there is no terminal)'
            cand --keep-remote 'Don''t revoke the OAuth grant at the provider (API keys and passwords are never revoked by conn)'
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'conn;providers'= {
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'List the providers (built-in and your own)'
            cand show 'What a provider needs and how to set up the app side'
            cand validate 'Validate a provider definition file'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'conn;providers;list'= {
            cand --json 'Print JSON'
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'conn;providers;show'= {
            cand --json 'Print JSON'
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'conn;providers;validate'= {
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'conn;providers;help'= {
            cand list 'List the providers (built-in and your own)'
            cand show 'What a provider needs and how to set up the app side'
            cand validate 'Validate a provider definition file'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'conn;providers;help;list'= {
        }
        &'conn;providers;help;show'= {
        }
        &'conn;providers;help;validate'= {
        }
        &'conn;providers;help;help'= {
        }
        &'conn;store'= {
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand add 'Add (or change) a team store; the server and its KV v2 mount are checked first'
            cand list 'List the team stores'
            cand rm 'Forget a team store (its connections stay on the server)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'conn;store;add'= {
            cand --vault-addr 'The server, e.g. https://bao.example.com:8200 (http:// only for loopback)'
            cand --namespace 'OpenBao / Vault Enterprise namespace'
            cand --mount 'The KV version 2 mount'
            cand --prefix 'Entries live under PREFIX/TEAM/ in the mount'
            cand --role-id 'AppRole role_id for cron hosts (not a secret; the secret_id comes from CONN_VAULT_SECRET_ID or CONN_VAULT_SECRET_ID_FILE)'
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'conn;store;list'= {
            cand --json 'Print JSON'
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'conn;store;rm'= {
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'conn;store;help'= {
            cand add 'Add (or change) a team store; the server and its KV v2 mount are checked first'
            cand list 'List the team stores'
            cand rm 'Forget a team store (its connections stay on the server)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'conn;store;help;add'= {
        }
        &'conn;store;help;list'= {
        }
        &'conn;store;help;rm'= {
        }
        &'conn;store;help;help'= {
        }
        &'conn;completions'= {
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'conn;doctor'= {
            cand --json 'Print JSON'
            cand -v 'Print diagnostics on stderr (never secrets)'
            cand --verbose 'Print diagnostics on stderr (never secrets)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'conn;help'= {
            cand new 'Create a connection (a wizard on a terminal; every question also has a flag)'
            cand list 'List connections with their last check'
            cand show 'Show one connection; secrets are always masked'
            cand check 'Check that connections work and who they are connected as'
            cand edit 'Change a connection''s settings (base URL, check path, ...), keeping its secrets'
            cand reauth 'Sign in again for an existing connection, keeping its name and settings'
            cand token 'Print a valid access token (refreshed if due) or key, for scripts'
            cand exec 'Run a command with connections'' credentials in its environment (never on its argv)'
            cand request 'Send one authenticated request to a connection''s API (like ''gh api'')'
            cand bind 'Choose the connection that plays a role of this project''s recipe (conn.toml)'
            cand rename 'Rename a connection (its secrets stay where they are)'
            cand rm 'Remove a connection and its secrets'
            cand providers 'The apps conn knows and how to set them up'
            cand store 'Team stores: a team''s connections on OpenBao / HashiCorp Vault (named TEAM/NAME)'
            cand completions 'Print a shell completion script'
            cand doctor 'Check conn''s files, secret stores and clock'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'conn;help;new'= {
        }
        &'conn;help;list'= {
        }
        &'conn;help;show'= {
        }
        &'conn;help;check'= {
        }
        &'conn;help;edit'= {
        }
        &'conn;help;reauth'= {
        }
        &'conn;help;token'= {
        }
        &'conn;help;exec'= {
        }
        &'conn;help;request'= {
        }
        &'conn;help;bind'= {
        }
        &'conn;help;rename'= {
        }
        &'conn;help;rm'= {
        }
        &'conn;help;providers'= {
            cand list 'List the providers (built-in and your own)'
            cand show 'What a provider needs and how to set up the app side'
            cand validate 'Validate a provider definition file'
        }
        &'conn;help;providers;list'= {
        }
        &'conn;help;providers;show'= {
        }
        &'conn;help;providers;validate'= {
        }
        &'conn;help;store'= {
            cand add 'Add (or change) a team store; the server and its KV v2 mount are checked first'
            cand list 'List the team stores'
            cand rm 'Forget a team store (its connections stay on the server)'
        }
        &'conn;help;store;add'= {
        }
        &'conn;help;store;list'= {
        }
        &'conn;help;store;rm'= {
        }
        &'conn;help;completions'= {
        }
        &'conn;help;doctor'= {
        }
        &'conn;help;help'= {
        }
    ]
    $completions[$command]
}

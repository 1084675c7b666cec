
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'conn' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'conn'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'conn' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Create a connection (a wizard on a terminal; every question also has a flag)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List connections with their last check')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one connection; secrets are always masked')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check that connections work and who they are connected as')
            [CompletionResult]::new('edit', 'edit', [CompletionResultType]::ParameterValue, 'Change a connection''s settings (base URL, check path, ...), keeping its secrets')
            [CompletionResult]::new('reauth', 'reauth', [CompletionResultType]::ParameterValue, 'Sign in again for an existing connection, keeping its name and settings')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Print a valid access token (refreshed if due) or key, for scripts')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command with connections'' credentials in its environment (never on its argv)')
            [CompletionResult]::new('request', 'request', [CompletionResultType]::ParameterValue, 'Send one authenticated request to a connection''s API (like ''gh api'')')
            [CompletionResult]::new('bind', 'bind', [CompletionResultType]::ParameterValue, 'Choose the connection that plays a role of this project''s recipe (conn.toml)')
            [CompletionResult]::new('rename', 'rename', [CompletionResultType]::ParameterValue, 'Rename a connection (its secrets stay where they are)')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove a connection and its secrets')
            [CompletionResult]::new('providers', 'providers', [CompletionResultType]::ParameterValue, 'The apps conn knows and how to set them up')
            [CompletionResult]::new('store', 'store', [CompletionResultType]::ParameterValue, 'Team stores: a team''s connections on OpenBao / HashiCorp Vault (named TEAM/NAME)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check conn''s files, secret stores and clock')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'conn;new' {
            [CompletionResult]::new('--provider', '--provider', [CompletionResultType]::ParameterName, 'Provider id (see ''conn providers list'')')
            [CompletionResult]::new('--auth', '--auth', [CompletionResultType]::ParameterName, 'Auth method, when the provider offers several')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Environment: sandbox uses the provider''s sandbox hosts where it has them; also a tag for `conn list --env`')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'An instance input, e.g. subdomain=acme (repeatable)')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'User name for Basic auth (e.g. the account''s email)')
            [CompletionResult]::new('--secret-env', '--secret-env', [CompletionResultType]::ParameterName, 'Read the API key / password from this environment variable')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'OAuth client id (OAuth 1.0a: consumer key) of your registered app, saved and offered for reuse')
            [CompletionResult]::new('--client-secret-env', '--client-secret-env', [CompletionResultType]::ParameterName, 'Read the OAuth client secret from this environment variable')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'OAuth 1.0a with RSA-SHA1: the consumer''s PEM private key file (its contents go to the secret store)')
            [CompletionResult]::new('--scopes', '--scopes', [CompletionResultType]::ParameterName, 'OAuth scopes to request, comma-separated (default: the provider''s)')
            [CompletionResult]::new('--grant', '--grant', [CompletionResultType]::ParameterName, 'OAuth grant to use')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'OAuth: fixed loopback port for the redirect (when the app''s redirect URI has one)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait: for the sign-in (default 300) and for each request (at most 30)')
            [CompletionResult]::new('--secret-stdin', '--secret-stdin', [CompletionResultType]::ParameterName, 'Read the API key / password from standard input')
            [CompletionResult]::new('--client-secret-stdin', '--client-secret-stdin', [CompletionResultType]::ParameterName, 'Read the OAuth client secret (OAuth 1.0a: consumer secret) from standard input')
            [CompletionResult]::new('--device', '--device', [CompletionResultType]::ParameterName, 'OAuth: sign in with a code on another device (no browser here)')
            [CompletionResult]::new('--no-browser', '--no-browser', [CompletionResultType]::ParameterName, 'OAuth: print the sign-in URL instead of opening a browser; paste the redirected URL back')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Take defaults without asking; confirm replacing a connection''s account')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Take defaults without asking; confirm replacing a connection''s account')
            [CompletionResult]::new('--no-check', '--no-check', [CompletionResultType]::ParameterName, 'Save without checking the connection first')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the result as JSON')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'conn;list' {
            [CompletionResult]::new('--provider', '--provider', [CompletionResultType]::ParameterName, 'Only connections to this provider (a provider id: a typo is an error, not an empty list)')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Only connections with this environment tag')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'conn;show' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'conn;check' {
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'With --recipe: the environment whose bindings to check')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for each check request')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Requests in flight at once, token refreshes included (a few more connections are prepared meanwhile: decrypted, their refreshed tokens saved)')
            [CompletionResult]::new('--per-host', '--per-host', [CompletionResultType]::ParameterName, 'Requests in flight to one API host at once')
            [CompletionResult]::new('--deadline', '--deadline', [CompletionResultType]::ParameterName, 'Seconds for the whole run; checks not started by then are reported unreachable')
            [CompletionResult]::new('--warn-expiring', '--warn-expiring', [CompletionResultType]::ParameterName, 'Warn (exit 1) when a credential expires within this, e.g. 14d, 36h')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (--json is short for --format json)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'With --format prometheus: replace FILE atomically (temp file, fsync, rename; mode 0644 so a collector running as another user can read it) instead of printing')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'With --format prometheus: replace FILE atomically (temp file, fsync, rename; mode 0644 so a collector running as another user can read it) instead of printing')
            [CompletionResult]::new('--recipe', '--recipe', [CompletionResultType]::ParameterName, 'Check the connections of this project''s recipe (conn.toml), as bound')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing when every connection is OK (for cron)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing when every connection is OK (for cron)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'conn;edit' {
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'A setting to change, e.g. base_url=https://api.example.com/v2 (repeatable; an empty VALUE clears an optional one)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for the check request')
            [CompletionResult]::new('--no-check', '--no-check', [CompletionResultType]::ParameterName, 'Save without checking the connection first')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Save even when the check fails')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Save even when the check fails')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the result as JSON')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'conn;reauth' {
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'User name for Basic auth (e.g. the account''s email)')
            [CompletionResult]::new('--secret-env', '--secret-env', [CompletionResultType]::ParameterName, 'Read the API key / password from this environment variable')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'OAuth client id (OAuth 1.0a: consumer key) of your registered app, saved and offered for reuse')
            [CompletionResult]::new('--client-secret-env', '--client-secret-env', [CompletionResultType]::ParameterName, 'Read the OAuth client secret from this environment variable')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'OAuth 1.0a with RSA-SHA1: the consumer''s PEM private key file (its contents go to the secret store)')
            [CompletionResult]::new('--scopes', '--scopes', [CompletionResultType]::ParameterName, 'OAuth scopes to request, comma-separated (default: the provider''s)')
            [CompletionResult]::new('--grant', '--grant', [CompletionResultType]::ParameterName, 'OAuth grant to use')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'OAuth: fixed loopback port for the redirect (when the app''s redirect URI has one)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait: for the sign-in (default 300) and for each request (at most 30)')
            [CompletionResult]::new('--secret-stdin', '--secret-stdin', [CompletionResultType]::ParameterName, 'Read the API key / password from standard input')
            [CompletionResult]::new('--client-secret-stdin', '--client-secret-stdin', [CompletionResultType]::ParameterName, 'Read the OAuth client secret (OAuth 1.0a: consumer secret) from standard input')
            [CompletionResult]::new('--device', '--device', [CompletionResultType]::ParameterName, 'OAuth: sign in with a code on another device (no browser here)')
            [CompletionResult]::new('--no-browser', '--no-browser', [CompletionResultType]::ParameterName, 'OAuth: print the sign-in URL instead of opening a browser; paste the redirected URL back')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Take defaults without asking; confirm replacing a connection''s account')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Take defaults without asking; confirm replacing a connection''s account')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the result as JSON')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'conn;token' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'conn;exec' {
            [CompletionResult]::new('--bind', '--bind', [CompletionResultType]::ParameterName, 'Recipe run: this connection plays ROLE, for this run only (repeatable)')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Environment of the run: sandbox uses sandbox bindings and refuses production connections')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'conn;request' {
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'A request header, ''Name: value'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'A request header, ''Name: value'' (repeatable)')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The body: text, @FILE, or @- for standard input')
            [CompletionResult]::new('--data', '--data', [CompletionResultType]::ParameterName, 'The body: text, @FILE, or @- for standard input')
            [CompletionResult]::new('--query', '--query', [CompletionResultType]::ParameterName, 'A query parameter, KEY=VALUE (repeatable; URL-encoded by conn)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for the answer')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Print the status line and the response headers to stderr')
            [CompletionResult]::new('--include', '--include', [CompletionResultType]::ParameterName, 'Print the status line and the response headers to stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'conn;bind' {
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment this binding is for')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'conn;rename' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'conn;rm' {
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Don''t ask for confirmation (required when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Don''t ask for confirmation (required when there is no terminal)')
            [CompletionResult]::new('--keep-remote', '--keep-remote', [CompletionResultType]::ParameterName, 'Don''t revoke the OAuth grant at the provider (API keys and passwords are never revoked by conn)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'conn;providers' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the providers (built-in and your own)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'What a provider needs and how to set up the app side')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Validate a provider definition file')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'conn;providers;list' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'conn;providers;show' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'conn;providers;validate' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'conn;providers;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the providers (built-in and your own)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'What a provider needs and how to set up the app side')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Validate a provider definition file')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'conn;providers;help;list' {
            break
        }
        'conn;providers;help;show' {
            break
        }
        'conn;providers;help;validate' {
            break
        }
        'conn;providers;help;help' {
            break
        }
        'conn;store' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add (or change) a team store; the server and its KV v2 mount are checked first')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the team stores')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Forget a team store (its connections stay on the server)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'conn;store;add' {
            [CompletionResult]::new('--vault-addr', '--vault-addr', [CompletionResultType]::ParameterName, 'The server, e.g. https://bao.example.com:8200 (http:// only for loopback)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'OpenBao / Vault Enterprise namespace')
            [CompletionResult]::new('--mount', '--mount', [CompletionResultType]::ParameterName, 'The KV version 2 mount')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Entries live under PREFIX/TEAM/ in the mount')
            [CompletionResult]::new('--role-id', '--role-id', [CompletionResultType]::ParameterName, 'AppRole role_id for cron hosts (not a secret; the secret_id comes from CONN_VAULT_SECRET_ID or CONN_VAULT_SECRET_ID_FILE)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'conn;store;list' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'conn;store;rm' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'conn;store;help' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add (or change) a team store; the server and its KV v2 mount are checked first')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the team stores')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Forget a team store (its connections stay on the server)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'conn;store;help;add' {
            break
        }
        'conn;store;help;list' {
            break
        }
        'conn;store;help;rm' {
            break
        }
        'conn;store;help;help' {
            break
        }
        'conn;completions' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'conn;doctor' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print diagnostics on stderr (never secrets)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'conn;help' {
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Create a connection (a wizard on a terminal; every question also has a flag)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List connections with their last check')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one connection; secrets are always masked')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check that connections work and who they are connected as')
            [CompletionResult]::new('edit', 'edit', [CompletionResultType]::ParameterValue, 'Change a connection''s settings (base URL, check path, ...), keeping its secrets')
            [CompletionResult]::new('reauth', 'reauth', [CompletionResultType]::ParameterValue, 'Sign in again for an existing connection, keeping its name and settings')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Print a valid access token (refreshed if due) or key, for scripts')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command with connections'' credentials in its environment (never on its argv)')
            [CompletionResult]::new('request', 'request', [CompletionResultType]::ParameterValue, 'Send one authenticated request to a connection''s API (like ''gh api'')')
            [CompletionResult]::new('bind', 'bind', [CompletionResultType]::ParameterValue, 'Choose the connection that plays a role of this project''s recipe (conn.toml)')
            [CompletionResult]::new('rename', 'rename', [CompletionResultType]::ParameterValue, 'Rename a connection (its secrets stay where they are)')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove a connection and its secrets')
            [CompletionResult]::new('providers', 'providers', [CompletionResultType]::ParameterValue, 'The apps conn knows and how to set them up')
            [CompletionResult]::new('store', 'store', [CompletionResultType]::ParameterValue, 'Team stores: a team''s connections on OpenBao / HashiCorp Vault (named TEAM/NAME)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check conn''s files, secret stores and clock')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'conn;help;new' {
            break
        }
        'conn;help;list' {
            break
        }
        'conn;help;show' {
            break
        }
        'conn;help;check' {
            break
        }
        'conn;help;edit' {
            break
        }
        'conn;help;reauth' {
            break
        }
        'conn;help;token' {
            break
        }
        'conn;help;exec' {
            break
        }
        'conn;help;request' {
            break
        }
        'conn;help;bind' {
            break
        }
        'conn;help;rename' {
            break
        }
        'conn;help;rm' {
            break
        }
        'conn;help;providers' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the providers (built-in and your own)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'What a provider needs and how to set up the app side')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Validate a provider definition file')
            break
        }
        'conn;help;providers;list' {
            break
        }
        'conn;help;providers;show' {
            break
        }
        'conn;help;providers;validate' {
            break
        }
        'conn;help;store' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add (or change) a team store; the server and its KV v2 mount are checked first')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the team stores')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Forget a team store (its connections stay on the server)')
            break
        }
        'conn;help;store;add' {
            break
        }
        'conn;help;store;list' {
            break
        }
        'conn;help;store;rm' {
            break
        }
        'conn;help;completions' {
            break
        }
        'conn;help;doctor' {
            break
        }
        'conn;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}

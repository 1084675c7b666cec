# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_conn_global_optspecs
    string join \n v/verbose h/help V/version
end

function __fish_conn_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_conn_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_conn_using_subcommand
    set -l cmd (__fish_conn_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c conn -n "__fish_conn_needs_command" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_needs_command" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_needs_command" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_needs_command" -f -a "new" -d 'Create a connection (a wizard on a terminal; every question also has a flag)'
complete -c conn -n "__fish_conn_needs_command" -f -a "list" -d 'List connections with their last check'
complete -c conn -n "__fish_conn_needs_command" -f -a "show" -d 'Show one connection; secrets are always masked'
complete -c conn -n "__fish_conn_needs_command" -f -a "check" -d 'Check that connections work and who they are connected as'
complete -c conn -n "__fish_conn_needs_command" -f -a "edit" -d 'Change a connection\'s settings (base URL, check path, ...), keeping its secrets'
complete -c conn -n "__fish_conn_needs_command" -f -a "reauth" -d 'Sign in again for an existing connection, keeping its name and settings'
complete -c conn -n "__fish_conn_needs_command" -f -a "token" -d 'Print a valid access token (refreshed if due) or key, for scripts'
complete -c conn -n "__fish_conn_needs_command" -f -a "exec" -d 'Run a command with connections\' credentials in its environment (never on its argv)'
complete -c conn -n "__fish_conn_needs_command" -f -a "request" -d 'Send one authenticated request to a connection\'s API (like \'gh api\')'
complete -c conn -n "__fish_conn_needs_command" -f -a "bind" -d 'Choose the connection that plays a role of this project\'s recipe (conn.toml)'
complete -c conn -n "__fish_conn_needs_command" -f -a "rename" -d 'Rename a connection (its secrets stay where they are)'
complete -c conn -n "__fish_conn_needs_command" -f -a "rm" -d 'Remove a connection and its secrets'
complete -c conn -n "__fish_conn_needs_command" -f -a "providers" -d 'The apps conn knows and how to set them up'
complete -c conn -n "__fish_conn_needs_command" -f -a "store" -d 'Team stores: a team\'s connections on OpenBao / HashiCorp Vault (named TEAM/NAME)'
complete -c conn -n "__fish_conn_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c conn -n "__fish_conn_needs_command" -f -a "doctor" -d 'Check conn\'s files, secret stores and clock'
complete -c conn -n "__fish_conn_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c conn -n "__fish_conn_using_subcommand new" -l provider -d 'Provider id (see \'conn providers list\')' -r -f
complete -c conn -n "__fish_conn_using_subcommand new" -l auth -d 'Auth method, when the provider offers several' -r -f -a "api_key\t''
basic\t''
oauth2\t''
oauth1\t''"
complete -c conn -n "__fish_conn_using_subcommand new" -l env -d 'Environment: sandbox uses the provider\'s sandbox hosts where it has them; also a tag for `conn list --env`' -r -f -a "production\t''
sandbox\t''"
complete -c conn -n "__fish_conn_using_subcommand new" -l set -d 'An instance input, e.g. subdomain=acme (repeatable)' -r
complete -c conn -n "__fish_conn_using_subcommand new" -l username -d 'User name for Basic auth (e.g. the account\'s email)' -r
complete -c conn -n "__fish_conn_using_subcommand new" -l secret-env -d 'Read the API key / password from this environment variable' -r
complete -c conn -n "__fish_conn_using_subcommand new" -l client-id -d 'OAuth client id (OAuth 1.0a: consumer key) of your registered app, saved and offered for reuse' -r
complete -c conn -n "__fish_conn_using_subcommand new" -l client-secret-env -d 'Read the OAuth client secret from this environment variable' -r
complete -c conn -n "__fish_conn_using_subcommand new" -l private-key -d 'OAuth 1.0a with RSA-SHA1: the consumer\'s PEM private key file (its contents go to the secret store)' -r -F
complete -c conn -n "__fish_conn_using_subcommand new" -l scopes -d 'OAuth scopes to request, comma-separated (default: the provider\'s)' -r
complete -c conn -n "__fish_conn_using_subcommand new" -l grant -d 'OAuth grant to use' -r -f -a "authorization_code\t''
device_code\t''
client_credentials\t''"
complete -c conn -n "__fish_conn_using_subcommand new" -l port -d 'OAuth: fixed loopback port for the redirect (when the app\'s redirect URI has one)' -r
complete -c conn -n "__fish_conn_using_subcommand new" -l timeout -d 'Seconds to wait: for the sign-in (default 300) and for each request (at most 30)' -r
complete -c conn -n "__fish_conn_using_subcommand new" -l secret-stdin -d 'Read the API key / password from standard input'
complete -c conn -n "__fish_conn_using_subcommand new" -l client-secret-stdin -d 'Read the OAuth client secret (OAuth 1.0a: consumer secret) from standard input'
complete -c conn -n "__fish_conn_using_subcommand new" -l device -d 'OAuth: sign in with a code on another device (no browser here)'
complete -c conn -n "__fish_conn_using_subcommand new" -l no-browser -d 'OAuth: print the sign-in URL instead of opening a browser; paste the redirected URL back'
complete -c conn -n "__fish_conn_using_subcommand new" -s y -l yes -d 'Take defaults without asking; confirm replacing a connection\'s account'
complete -c conn -n "__fish_conn_using_subcommand new" -l no-check -d 'Save without checking the connection first'
complete -c conn -n "__fish_conn_using_subcommand new" -l json -d 'Print the result as JSON'
complete -c conn -n "__fish_conn_using_subcommand new" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand new" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand new" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand list" -l provider -d 'Only connections to this provider (a provider id: a typo is an error, not an empty list)' -r -f
complete -c conn -n "__fish_conn_using_subcommand list" -l env -d 'Only connections with this environment tag' -r -f -a "production\t''
sandbox\t''"
complete -c conn -n "__fish_conn_using_subcommand list" -l json -d 'Print JSON'
complete -c conn -n "__fish_conn_using_subcommand list" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand list" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand list" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand show" -l json -d 'Print JSON'
complete -c conn -n "__fish_conn_using_subcommand show" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand show" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand show" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand check" -l env -d 'With --recipe: the environment whose bindings to check' -r -f -a "production\t''
sandbox\t''"
complete -c conn -n "__fish_conn_using_subcommand check" -l timeout -d 'Seconds to wait for each check request' -r
complete -c conn -n "__fish_conn_using_subcommand check" -l concurrency -d 'Requests in flight at once, token refreshes included (a few more connections are prepared meanwhile: decrypted, their refreshed tokens saved)' -r
complete -c conn -n "__fish_conn_using_subcommand check" -l per-host -d 'Requests in flight to one API host at once' -r
complete -c conn -n "__fish_conn_using_subcommand check" -l deadline -d 'Seconds for the whole run; checks not started by then are reported unreachable' -r
complete -c conn -n "__fish_conn_using_subcommand check" -l warn-expiring -d 'Warn (exit 1) when a credential expires within this, e.g. 14d, 36h' -r
complete -c conn -n "__fish_conn_using_subcommand check" -l format -d 'Output format (--json is short for --format json)' -r -f -a "human\t''
json\t''
prometheus\t''"
complete -c conn -n "__fish_conn_using_subcommand check" -s o -l output -d 'With --format prometheus: replace FILE atomically (temp file, fsync, rename; mode 0644 so a collector running as another user can read it) instead of printing' -r -F
complete -c conn -n "__fish_conn_using_subcommand check" -l recipe -d 'Check the connections of this project\'s recipe (conn.toml), as bound'
complete -c conn -n "__fish_conn_using_subcommand check" -l json -d 'Print JSON'
complete -c conn -n "__fish_conn_using_subcommand check" -s q -l quiet -d 'Print nothing when every connection is OK (for cron)'
complete -c conn -n "__fish_conn_using_subcommand check" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand check" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand check" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand edit" -l set -d 'A setting to change, e.g. base_url=https://api.example.com/v2 (repeatable; an empty VALUE clears an optional one)' -r
complete -c conn -n "__fish_conn_using_subcommand edit" -l timeout -d 'Seconds to wait for the check request' -r
complete -c conn -n "__fish_conn_using_subcommand edit" -l no-check -d 'Save without checking the connection first'
complete -c conn -n "__fish_conn_using_subcommand edit" -s y -l yes -d 'Save even when the check fails'
complete -c conn -n "__fish_conn_using_subcommand edit" -l json -d 'Print the result as JSON'
complete -c conn -n "__fish_conn_using_subcommand edit" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand edit" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand edit" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand reauth" -l username -d 'User name for Basic auth (e.g. the account\'s email)' -r
complete -c conn -n "__fish_conn_using_subcommand reauth" -l secret-env -d 'Read the API key / password from this environment variable' -r
complete -c conn -n "__fish_conn_using_subcommand reauth" -l client-id -d 'OAuth client id (OAuth 1.0a: consumer key) of your registered app, saved and offered for reuse' -r
complete -c conn -n "__fish_conn_using_subcommand reauth" -l client-secret-env -d 'Read the OAuth client secret from this environment variable' -r
complete -c conn -n "__fish_conn_using_subcommand reauth" -l private-key -d 'OAuth 1.0a with RSA-SHA1: the consumer\'s PEM private key file (its contents go to the secret store)' -r -F
complete -c conn -n "__fish_conn_using_subcommand reauth" -l scopes -d 'OAuth scopes to request, comma-separated (default: the provider\'s)' -r
complete -c conn -n "__fish_conn_using_subcommand reauth" -l grant -d 'OAuth grant to use' -r -f -a "authorization_code\t''
device_code\t''
client_credentials\t''"
complete -c conn -n "__fish_conn_using_subcommand reauth" -l port -d 'OAuth: fixed loopback port for the redirect (when the app\'s redirect URI has one)' -r
complete -c conn -n "__fish_conn_using_subcommand reauth" -l timeout -d 'Seconds to wait: for the sign-in (default 300) and for each request (at most 30)' -r
complete -c conn -n "__fish_conn_using_subcommand reauth" -l secret-stdin -d 'Read the API key / password from standard input'
complete -c conn -n "__fish_conn_using_subcommand reauth" -l client-secret-stdin -d 'Read the OAuth client secret (OAuth 1.0a: consumer secret) from standard input'
complete -c conn -n "__fish_conn_using_subcommand reauth" -l device -d 'OAuth: sign in with a code on another device (no browser here)'
complete -c conn -n "__fish_conn_using_subcommand reauth" -l no-browser -d 'OAuth: print the sign-in URL instead of opening a browser; paste the redirected URL back'
complete -c conn -n "__fish_conn_using_subcommand reauth" -s y -l yes -d 'Take defaults without asking; confirm replacing a connection\'s account'
complete -c conn -n "__fish_conn_using_subcommand reauth" -l json -d 'Print the result as JSON'
complete -c conn -n "__fish_conn_using_subcommand reauth" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand reauth" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand reauth" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand token" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand token" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand token" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand exec" -l bind -d 'Recipe run: this connection plays ROLE, for this run only (repeatable)' -r
complete -c conn -n "__fish_conn_using_subcommand exec" -l env -d 'Environment of the run: sandbox uses sandbox bindings and refuses production connections' -r -f -a "production\t''
sandbox\t''"
complete -c conn -n "__fish_conn_using_subcommand exec" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand exec" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand exec" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand request" -s H -l header -d 'A request header, \'Name: value\' (repeatable)' -r
complete -c conn -n "__fish_conn_using_subcommand request" -s d -l data -d 'The body: text, @FILE, or @- for standard input' -r
complete -c conn -n "__fish_conn_using_subcommand request" -l query -d 'A query parameter, KEY=VALUE (repeatable; URL-encoded by conn)' -r
complete -c conn -n "__fish_conn_using_subcommand request" -l timeout -d 'Seconds to wait for the answer' -r
complete -c conn -n "__fish_conn_using_subcommand request" -s i -l include -d 'Print the status line and the response headers to stderr'
complete -c conn -n "__fish_conn_using_subcommand request" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand request" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand request" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand bind" -l env -d 'The environment this binding is for' -r -f -a "production\t''
sandbox\t''"
complete -c conn -n "__fish_conn_using_subcommand bind" -l json -d 'Print JSON'
complete -c conn -n "__fish_conn_using_subcommand bind" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand bind" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand bind" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand rename" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand rename" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand rename" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand rm" -s y -l yes -d 'Don\'t ask for confirmation (required when there is no terminal)'
complete -c conn -n "__fish_conn_using_subcommand rm" -l keep-remote -d 'Don\'t revoke the OAuth grant at the provider (API keys and passwords are never revoked by conn)'
complete -c conn -n "__fish_conn_using_subcommand rm" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand rm" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand rm" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand providers; and not __fish_seen_subcommand_from list show validate help" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand providers; and not __fish_seen_subcommand_from list show validate help" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand providers; and not __fish_seen_subcommand_from list show validate help" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand providers; and not __fish_seen_subcommand_from list show validate help" -f -a "list" -d 'List the providers (built-in and your own)'
complete -c conn -n "__fish_conn_using_subcommand providers; and not __fish_seen_subcommand_from list show validate help" -f -a "show" -d 'What a provider needs and how to set up the app side'
complete -c conn -n "__fish_conn_using_subcommand providers; and not __fish_seen_subcommand_from list show validate help" -f -a "validate" -d 'Validate a provider definition file'
complete -c conn -n "__fish_conn_using_subcommand providers; and not __fish_seen_subcommand_from list show validate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c conn -n "__fish_conn_using_subcommand providers; and __fish_seen_subcommand_from list" -l json -d 'Print JSON'
complete -c conn -n "__fish_conn_using_subcommand providers; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand providers; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand providers; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand providers; and __fish_seen_subcommand_from show" -l json -d 'Print JSON'
complete -c conn -n "__fish_conn_using_subcommand providers; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand providers; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand providers; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand providers; and __fish_seen_subcommand_from validate" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand providers; and __fish_seen_subcommand_from validate" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand providers; and __fish_seen_subcommand_from validate" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand providers; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the providers (built-in and your own)'
complete -c conn -n "__fish_conn_using_subcommand providers; and __fish_seen_subcommand_from help" -f -a "show" -d 'What a provider needs and how to set up the app side'
complete -c conn -n "__fish_conn_using_subcommand providers; and __fish_seen_subcommand_from help" -f -a "validate" -d 'Validate a provider definition file'
complete -c conn -n "__fish_conn_using_subcommand providers; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c conn -n "__fish_conn_using_subcommand store; and not __fish_seen_subcommand_from add list rm help" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand store; and not __fish_seen_subcommand_from add list rm help" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand store; and not __fish_seen_subcommand_from add list rm help" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand store; and not __fish_seen_subcommand_from add list rm help" -f -a "add" -d 'Add (or change) a team store; the server and its KV v2 mount are checked first'
complete -c conn -n "__fish_conn_using_subcommand store; and not __fish_seen_subcommand_from add list rm help" -f -a "list" -d 'List the team stores'
complete -c conn -n "__fish_conn_using_subcommand store; and not __fish_seen_subcommand_from add list rm help" -f -a "rm" -d 'Forget a team store (its connections stay on the server)'
complete -c conn -n "__fish_conn_using_subcommand store; and not __fish_seen_subcommand_from add list rm help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c conn -n "__fish_conn_using_subcommand store; and __fish_seen_subcommand_from add" -l vault-addr -d 'The server, e.g. https://bao.example.com:8200 (http:// only for loopback)' -r
complete -c conn -n "__fish_conn_using_subcommand store; and __fish_seen_subcommand_from add" -l namespace -d 'OpenBao / Vault Enterprise namespace' -r
complete -c conn -n "__fish_conn_using_subcommand store; and __fish_seen_subcommand_from add" -l mount -d 'The KV version 2 mount' -r
complete -c conn -n "__fish_conn_using_subcommand store; and __fish_seen_subcommand_from add" -l prefix -d 'Entries live under PREFIX/TEAM/ in the mount' -r
complete -c conn -n "__fish_conn_using_subcommand store; and __fish_seen_subcommand_from add" -l role-id -d 'AppRole role_id for cron hosts (not a secret; the secret_id comes from CONN_VAULT_SECRET_ID or CONN_VAULT_SECRET_ID_FILE)' -r
complete -c conn -n "__fish_conn_using_subcommand store; and __fish_seen_subcommand_from add" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand store; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand store; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand store; and __fish_seen_subcommand_from list" -l json -d 'Print JSON'
complete -c conn -n "__fish_conn_using_subcommand store; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand store; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand store; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand store; and __fish_seen_subcommand_from rm" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand store; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand store; and __fish_seen_subcommand_from rm" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add (or change) a team store; the server and its KV v2 mount are checked first'
complete -c conn -n "__fish_conn_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the team stores'
complete -c conn -n "__fish_conn_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Forget a team store (its connections stay on the server)'
complete -c conn -n "__fish_conn_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c conn -n "__fish_conn_using_subcommand completions" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand completions" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand completions" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand doctor" -l json -d 'Print JSON'
complete -c conn -n "__fish_conn_using_subcommand doctor" -s v -l verbose -d 'Print diagnostics on stderr (never secrets)'
complete -c conn -n "__fish_conn_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c conn -n "__fish_conn_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c conn -n "__fish_conn_using_subcommand help; and not __fish_seen_subcommand_from new list show check edit reauth token exec request bind rename rm providers store completions doctor help" -f -a "new" -d 'Create a connection (a wizard on a terminal; every question also has a flag)'
complete -c conn -n "__fish_conn_using_subcommand help; and not __fish_seen_subcommand_from new list show check edit reauth token exec request bind rename rm providers store completions doctor help" -f -a "list" -d 'List connections with their last check'
complete -c conn -n "__fish_conn_using_subcommand help; and not __fish_seen_subcommand_from new list show check edit reauth token exec request bind rename rm providers store completions doctor help" -f -a "show" -d 'Show one connection; secrets are always masked'
complete -c conn -n "__fish_conn_using_subcommand help; and not __fish_seen_subcommand_from new list show check edit reauth token exec request bind rename rm providers store completions doctor help" -f -a "check" -d 'Check that connections work and who they are connected as'
complete -c conn -n "__fish_conn_using_subcommand help; and not __fish_seen_subcommand_from new list show check edit reauth token exec request bind rename rm providers store completions doctor help" -f -a "edit" -d 'Change a connection\'s settings (base URL, check path, ...), keeping its secrets'
complete -c conn -n "__fish_conn_using_subcommand help; and not __fish_seen_subcommand_from new list show check edit reauth token exec request bind rename rm providers store completions doctor help" -f -a "reauth" -d 'Sign in again for an existing connection, keeping its name and settings'
complete -c conn -n "__fish_conn_using_subcommand help; and not __fish_seen_subcommand_from new list show check edit reauth token exec request bind rename rm providers store completions doctor help" -f -a "token" -d 'Print a valid access token (refreshed if due) or key, for scripts'
complete -c conn -n "__fish_conn_using_subcommand help; and not __fish_seen_subcommand_from new list show check edit reauth token exec request bind rename rm providers store completions doctor help" -f -a "exec" -d 'Run a command with connections\' credentials in its environment (never on its argv)'
complete -c conn -n "__fish_conn_using_subcommand help; and not __fish_seen_subcommand_from new list show check edit reauth token exec request bind rename rm providers store completions doctor help" -f -a "request" -d 'Send one authenticated request to a connection\'s API (like \'gh api\')'
complete -c conn -n "__fish_conn_using_subcommand help; and not __fish_seen_subcommand_from new list show check edit reauth token exec request bind rename rm providers store completions doctor help" -f -a "bind" -d 'Choose the connection that plays a role of this project\'s recipe (conn.toml)'
complete -c conn -n "__fish_conn_using_subcommand help; and not __fish_seen_subcommand_from new list show check edit reauth token exec request bind rename rm providers store completions doctor help" -f -a "rename" -d 'Rename a connection (its secrets stay where they are)'
complete -c conn -n "__fish_conn_using_subcommand help; and not __fish_seen_subcommand_from new list show check edit reauth token exec request bind rename rm providers store completions doctor help" -f -a "rm" -d 'Remove a connection and its secrets'
complete -c conn -n "__fish_conn_using_subcommand help; and not __fish_seen_subcommand_from new list show check edit reauth token exec request bind rename rm providers store completions doctor help" -f -a "providers" -d 'The apps conn knows and how to set them up'
complete -c conn -n "__fish_conn_using_subcommand help; and not __fish_seen_subcommand_from new list show check edit reauth token exec request bind rename rm providers store completions doctor help" -f -a "store" -d 'Team stores: a team\'s connections on OpenBao / HashiCorp Vault (named TEAM/NAME)'
complete -c conn -n "__fish_conn_using_subcommand help; and not __fish_seen_subcommand_from new list show check edit reauth token exec request bind rename rm providers store completions doctor help" -f -a "completions" -d 'Print a shell completion script'
complete -c conn -n "__fish_conn_using_subcommand help; and not __fish_seen_subcommand_from new list show check edit reauth token exec request bind rename rm providers store completions doctor help" -f -a "doctor" -d 'Check conn\'s files, secret stores and clock'
complete -c conn -n "__fish_conn_using_subcommand help; and not __fish_seen_subcommand_from new list show check edit reauth token exec request bind rename rm providers store completions doctor help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c conn -n "__fish_conn_using_subcommand help; and __fish_seen_subcommand_from providers" -f -a "list" -d 'List the providers (built-in and your own)'
complete -c conn -n "__fish_conn_using_subcommand help; and __fish_seen_subcommand_from providers" -f -a "show" -d 'What a provider needs and how to set up the app side'
complete -c conn -n "__fish_conn_using_subcommand help; and __fish_seen_subcommand_from providers" -f -a "validate" -d 'Validate a provider definition file'
complete -c conn -n "__fish_conn_using_subcommand help; and __fish_seen_subcommand_from store" -f -a "add" -d 'Add (or change) a team store; the server and its KV v2 mount are checked first'
complete -c conn -n "__fish_conn_using_subcommand help; and __fish_seen_subcommand_from store" -f -a "list" -d 'List the team stores'
complete -c conn -n "__fish_conn_using_subcommand help; and __fish_seen_subcommand_from store" -f -a "rm" -d 'Forget a team store (its connections stay on the server)'

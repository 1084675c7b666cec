# conn-acme-user: use team acme's connections (conn token, exec, request, check) and refresh
# their OAuth tokens. "update" without "create" on secrets/: a user can rotate the tokens of
# an existing connection (refresh, or conn reauth: new tokens in place, the record unchanged)
# but cannot add one.
path "secret/data/conn/acme/meta/*"    { capabilities = ["read"] }
path "secret/data/conn/acme/clients/*" { capabilities = ["read"] }
path "secret/data/conn/acme/secrets/*" { capabilities = ["read", "update"] }
path "secret/data/conn/acme/status/*"  { capabilities = ["create", "read", "update"] }
path "secret/metadata/conn/acme/*"     { capabilities = ["read", "list"] }

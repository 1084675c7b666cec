# conn-acme-checker: health checks that call the apps' APIs (conn check). May read
# credentials, never write them: a checker never spends a refresh token.
path "secret/data/conn/acme/meta/*"    { capabilities = ["read"] }
path "secret/data/conn/acme/clients/*" { capabilities = ["read"] }
path "secret/data/conn/acme/secrets/*" { capabilities = ["read"] }
path "secret/data/conn/acme/status/*"  { capabilities = ["create", "read", "update"] }
path "secret/metadata/conn/acme/*"     { capabilities = ["read", "list"] }

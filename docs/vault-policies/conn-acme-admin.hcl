# conn-acme-admin: "Create Connections" for team acme: create, change, rename and remove the
# team's connections, and everything the other roles may do.
# Paths assume the KV v2 mount "secret" and conn's prefix "conn" (conn store add acme
# --mount secret --prefix conn); replace "acme" with the team's name.
# The sub-paths are listed one by one: Vault uses the most specific matching path across all
# of a token's policies, so a bare "secret/data/conn/acme/*" would lose to the user policy's
# "secret/data/conn/acme/meta/*" (read only) for a token holding both.
path "secret/data/conn/acme/meta/*"    { capabilities = ["create", "read", "update", "patch", "delete"] }
path "secret/data/conn/acme/secrets/*" { capabilities = ["create", "read", "update", "patch", "delete"] }
path "secret/data/conn/acme/clients/*" { capabilities = ["create", "read", "update", "patch", "delete"] }
path "secret/data/conn/acme/status/*"  { capabilities = ["create", "read", "update", "patch", "delete"] }
path "secret/metadata/conn/acme/*"     { capabilities = ["create", "read", "update", "patch", "delete", "list"] }
path "secret/subkeys/conn/acme/*"      { capabilities = ["read"] }
path "secret/delete/conn/acme/*"       { capabilities = ["update"] }
path "secret/undelete/conn/acme/*"     { capabilities = ["update"] }
# destroy (permanent) is left to Vault operators.

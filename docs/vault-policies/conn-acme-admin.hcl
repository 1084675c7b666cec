# conn-acme-admin: "Create Connections" for team acme: create, change, rename and remove the
# team's connections, and everything the other roles may do.
# Paths assume the KV v2 mount "secret" and conn's prefix "conn" (conn store add acme
# --mount secret --prefix conn); replace "acme" with the team's name.
path "secret/data/conn/acme/*"     { capabilities = ["create", "read", "update", "patch", "delete"] }
path "secret/metadata/conn/acme/*" { capabilities = ["create", "read", "update", "patch", "delete", "list"] }
path "secret/subkeys/conn/acme/*"  { capabilities = ["read"] }
path "secret/delete/conn/acme/*"   { capabilities = ["update"] }
path "secret/undelete/conn/acme/*" { capabilities = ["update"] }
# destroy (permanent) is left to Vault operators.

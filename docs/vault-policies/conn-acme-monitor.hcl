# conn-acme-monitor: list team acme's connections and read their records, versions and check
# results; never a secret value (403 on secrets/, while metadata/ and subkeys/ answer).
path "secret/data/conn/acme/meta/*"   { capabilities = ["read"] }
path "secret/data/conn/acme/status/*" { capabilities = ["create", "read", "update"] }
path "secret/metadata/conn/acme/*"    { capabilities = ["read", "list"] }
path "secret/subkeys/conn/acme/*"     { capabilities = ["read"] }

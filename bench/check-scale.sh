#!/usr/bin/env bash
# Benchmark for `conn check` at scale and for `conn list` / `conn token` on big stores.
# Prints figures; asserts nothing (targets are in the README). Loopback only.
#
#   bench/check-scale.sh [N_CONNECTIONS=1000] [HOSTS=10] [DELAY_MS=200]
#
# Needs: python3, GNU time (/usr/bin/time), and for the token figure gnome-keyring,
# dbus-run-session and secret-tool (tests/run installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
HOSTS=${2:-10}
DELAY_MS=${3:-200}
CONCURRENCY=${CONCURRENCY:-32}
PER_HOST=${PER_HOST:-8}
LIST_N=${LIST_N:-10000}

missing=()
[ -x /usr/bin/time ] || missing+=(time)
command -v bc >/dev/null || missing+=(bc)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
cargo build --release --locked -q
CONN=$PWD/target/release/conn
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# HOSTS fake APIs, each answering after DELAY_MS, many requests at once.
ports=()
for i in $(seq 1 "$HOSTS"); do
  python3 - "$DELAY_MS" >"$work/port.$i" <<'PY' &
import http.server, json, socketserver, sys, time
delay = int(sys.argv[1]) / 1000
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        time.sleep(delay)
        body = json.dumps({"id": 1, "login": "bench"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 512
s = S(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
  pids+=($!)
done
sleep 1
for i in $(seq 1 "$HOSTS"); do ports+=("$(cat "$work/port.$i")"); done

export CONN_HOME=$work/home CONN_SECRET_STORE=file
mkdir -m 700 -p "$CONN_HOME"
echo "creating $N connections on $HOSTS hosts (delay ${DELAY_MS} ms)..."
start=$(date +%s.%N)
for i in $(seq 1 "$N"); do
  port=${ports[$(( (i - 1) % HOSTS ))]}
  KEY="bench-key-$i" "$CONN" new "c$i" --provider http --auth api_key \
    --set "base_url=http://127.0.0.1:$port" --set check_path=/user --set identity_field=/login \
    --secret-env KEY --no-check >/dev/null 2>&1
done
echo "  created in $(echo "$(date +%s.%N) - $start" | bc) s"

effective=$(( CONCURRENCY < HOSTS * PER_HOST ? CONCURRENCY : HOSTS * PER_HOST ))
floor=$(echo "scale=3; ((($N + $effective - 1) / $effective) * $DELAY_MS) / 1000" | bc)
/usr/bin/time -f "%e %M" -o "$work/time" "$CONN" check --quiet --concurrency "$CONCURRENCY" \
  --per-host "$PER_HOST" >/dev/null || true
read -r wall rss <"$work/time"
ok=$("$CONN" list --json | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if (r.get("last_check") or {}).get("status") == "ok"))')
echo "conn check: $N connections, concurrency $CONCURRENCY, per-host $PER_HOST (effective $effective)"
echo "  wall ${wall} s, floor ${floor} s, ratio $(echo "scale=2; $wall / $floor" | bc) (target <= 1.25)"
echo "  peak RSS $(( rss / 1024 )) MB (target < 64 MB); $ok of $N ok"

# conn list on a store of LIST_N connections (metadata only, so written directly).
LIST_HOME=$work/list
mkdir -m 700 -p "$LIST_HOME"
python3 - "$LIST_N" >"$LIST_HOME/connections.toml" <<'PY'
import sys
n = int(sys.argv[1])
print("version = 1\n")
for i in range(n):
    print(f'[connections.c{i}]\nid = "{i:024x}"\nprovider = "http"\nauth = "api_key"\nenv = "production"\nstore = "file"\n'
          f'created_at = "2026-01-01T00:00:00Z"\nupdated_at = "2026-01-01T00:00:00Z"\n'
          f'[connections.c{i}.inputs]\nbase_url = "http://127.0.0.1:1"\ncheck_path = "/user"\n'
          f'[connections.c{i}.last_check]\nstatus = "ok"\nat = "2026-01-01T00:00:00Z"\n')
PY
best=999
for _ in 1 2 3 4 5; do
  s=$(date +%s%N); CONN_HOME=$LIST_HOME "$CONN" list >/dev/null; e=$(date +%s%N)
  ms=$(( (e - s) / 1000000 )); [ "$ms" -lt "$best" ] && best=$ms
done
echo "conn list: $LIST_N connections in ${best} ms (best of 5; target < 100 ms)"

# conn token vs one secret-tool lookup of the same keychain item.
if command -v dbus-run-session >/dev/null && command -v secret-tool >/dev/null && command -v gnome-keyring-daemon >/dev/null; then
  dbus-run-session -- bash -s "$CONN" "$work" <<'SH'
set -euo pipefail
CONN=$1; work=$2
mkdir -p "$work/kr/data" "$work/kr/run"; chmod 700 "$work/kr/run"
printf 'bench' | XDG_DATA_HOME=$work/kr/data XDG_RUNTIME_DIR=$work/kr/run \
  gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null 2>&1
sleep 0.5
export CONN_HOME=$work/kc CONN_SECRET_STORE=keychain
mkdir -m 700 -p "$CONN_HOME"
KEY=bench-token "$CONN" new kc --provider stripe --secret-env KEY --no-check >/dev/null 2>&1
id=$(grep '^id' "$CONN_HOME/connections.toml" | head -1 | cut -d'"' -f2)
avg() { local n=20 s e; s=$(date +%s%N); for _ in $(seq $n); do "$@" >/dev/null; done; e=$(date +%s%N); echo $(( (e - s) / n / 1000000 )); }
t_conn=$(avg "$CONN" token kc)
t_tool=$(avg secret-tool lookup service conn username "$id")
echo "conn token: ${t_conn} ms vs secret-tool lookup ${t_tool} ms (mean of 20; target <= 2x)"
SH
else
  echo "conn token: skipped (needs gnome-keyring, dbus-run-session, secret-tool)"
fi

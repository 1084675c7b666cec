#!/usr/bin/env bash
# Benchmark for `conn request` on a large download: peak RSS and time for a body of SIZE_MB,
# served by a local HTTP server, written to /dev/null. The body is streamed (scrubbed through a
# bounded window), so the peak should not grow with the size. Prints figures; asserts nothing.
#
#   bench/request-stream.sh [SIZE_MB=200]
#
# Needs: python3 and GNU time (/usr/bin/time). CONN=path uses that binary instead of a
# release build.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-200}

if [ ! -x /usr/bin/time ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get install -y -qq time >/dev/null
fi
if [ -z "${CONN:-}" ]; then
  cargo build --release --locked -q
  CONN=$PWD/target/release/conn
fi
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# A server that sends SIZE_MB of printable bytes, chunk by chunk (never held whole).
python3 - "$SIZE_MB" >"$work/port" <<'PY' &
import http.server, sys
size = int(sys.argv[1]) * 1024 * 1024
chunk = (b"0123456789abcdefghijklmnopqrstuvwxyz\n" * 1800)[:65536]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        left = size
        while left > 0:
            n = min(left, len(chunk))
            self.wfile.write(chunk[:n])
            left -= n
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
pids+=($!)
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")

export CONN_HOME=$work/home CONN_SECRET_STORE=file
mkdir -p "$CONN_HOME/providers"
cat >"$CONN_HOME/providers/big.toml" <<TOML
id = "big"
display_name = "Big"
[[auth]]
method = "api_key"
name = "Authorization"
prefix = "Bearer "
[api]
base_url = "http://127.0.0.1:$port"
[check]
path = "/me"
TOML
K=bench-key-0123456789 "$CONN" new big --provider big --auth api_key --secret-env K --no-check >/dev/null

/usr/bin/time -f '%M %e' -o "$work/time" "$CONN" request big /download >/dev/null
read -r rss_kb secs <"$work/time"
echo "conn request, ${SIZE_MB} MB body to /dev/null: peak RSS $((rss_kb / 1024)) MB, ${secs} s"

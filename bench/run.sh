#!/usr/bin/env bash
# conn's benchmark: one table of figures for stores of 100 / 1,000 / 10,000 connections (file
# store, release build, fake APIs on loopback). Asserts nothing; the targets are in the table and
# the README's performance section is copied from its output. Takes a few minutes.
#
#   bench/run.sh                 all sizes
#   SIZES="100 1000" REPS=5 bench/run.sh
#
# Needs python3, age + age-keygen, GNU time, bc, curl; for the keychain row gnome-keyring,
# dbus-run-session and secret-tool (tests/run installs them all but time and bc).
set -uo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"100 1000 10000"}
HOSTS=10
DELAY_MS=50
REPS=${REPS:-15}
# `conn new` and `conn rm` are timed over this many each: twice the 32 edits a big store's
# journal (connections.journal.json) holds before it is written into connections.toml, so each
# mean includes two of those folds, and the slowest single run is shown too.
CHANGES=${CHANGES:-64}
# Seconds to let the file system finish writing a store that was just set up (thousands of
# files) before anything is timed: on the development VM's disk, timings taken in the half
# minute after creating or deleting many files run 2-4× slower and vary widely.
QUIET=${QUIET:-30}

missing=()
[ -x /usr/bin/time ] || missing+=(time)
command -v bc >/dev/null || missing+=(bc)
command -v curl >/dev/null || missing+=(curl)
command -v age-keygen >/dev/null || missing+=(age)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# BUILD=0 measures the release binary already built.
[ "${BUILD:-1}" = 0 ] || cargo build --release --locked -q || exit 1
CONN=$PWD/target/release/conn
work=$(mktemp -d)
# Servers are started inside $(...), so their pids go to a file the cleanup reads.
cleanup() { kill $(cat "$work/pids" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export CONN_SECRET_STORE=file NO_COLOR=1

serve() { # MODE [ARGS...] -> prints the port
  local f; f=$(mktemp -p "$work")
  python3 bench/fake_api.py "$@" >"$f" &
  echo $! >>"$work/pids"
  for _ in $(seq 100); do [ -s "$f" ] && break; sleep 0.05; done
  cat "$f"
}
ports=()
for i in $(seq 1 $HOSTS); do ports+=("$(serve ok $DELAY_MS "$work/answers.$i")"); done
port_list=$(IFS=,; echo "${ports[*]}")

ms() { echo "scale=1; $1 / 1000000" | bc; }
# mean wall time of REPS runs of a command, in ms
mean() { local s e; s=$(date +%s%N); for _ in $(seq "$REPS"); do "$@" >/dev/null 2>&1 || true; done; e=$(date +%s%N); ms $(( (e - s) / REPS )); }
# "mean (slowest X)" in ms of CHANGES runs of a command that is given the run's number
spread() { local s e t=0 max=0 d; for k in $(seq "$CHANGES"); do
  s=$(date +%s%N); "$@" "$k" >/dev/null 2>&1 || true; e=$(date +%s%N); d=$((e - s))
  t=$((t + d)); [ "$d" -gt "$max" ] && max=$d; done
  echo "$(ms $((t / CHANGES))) (slowest $(ms "$max"))"; }
# wall seconds and peak RSS (MB) of one run
timed() { /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>&1 || true; read -r w r < <(tail -1 "$work/time"); echo "$w $(( r / 1024 ))"; }
# ceil(N / EFFECTIVE) rounds of DELAY_MS, in seconds (the ceiling in shell arithmetic: bc's
# scale=2 division left a fraction, so 1,000 at 64 counted 16.61 rounds, not 16)
floor_of() { echo "scale=2; $(( ($1 + $2 - 1) / $2 )) * $3 / 1000" | bc; } # N EFFECTIVE DELAY_MS
ratio() { echo "scale=2; $1 / $2" | bc; }

declare -A R
for n in $SIZES; do
  home=$work/s$n
  python3 bench/make_store.py "$home" "$n" "$port_list"
  export CONN_HOME=$home
  s=$(date +%s%N); "$CONN" token c0 >/dev/null; e=$(date +%s%N)
  R[migrate,$n]="$(ms $((e - s))) ms"
  pick=c$(( n / 2 ))
  # The steady state: a store left alone for a moment. `list` makes the JSON cache; 2 s later
  # (metadata_cache::SETTLE) one command checks its hash and from then on the file's stamp is
  # enough. Right after a change the first commands hash connections.toml (< 1 ms per MB).
  settle() { "$CONN" list >/dev/null; sleep 2.2; "$CONN" show "$pick" >/dev/null; }
  sync; sleep "$QUIET"
  settle
  R[token,$n]=$(mean "$CONN" token "$pick")
  R[exec,$n]=$(mean "$CONN" exec "$pick" -- true)
  R[show,$n]=$(mean "$CONN" show "$pick")
  R[list,$n]=$(mean "$CONN" list)
  # The same without the JSON copy of connections.toml (a directory in its place: no cache).
  rm -f "$home/.connections.cache.json"; mkdir "$home/.connections.cache.json"
  R[listnc,$n]=$(mean "$CONN" list)
  rmdir "$home/.connections.cache.json"
  "$CONN" list >/dev/null # the cache again, as any store has it
  newone() { KEY=k "$CONN" new "bench$1" --provider http --auth api_key \
    --set "base_url=http://127.0.0.1:${ports[0]}" --secret-env KEY --no-check; }
  R[new,$n]=$(spread newone)
  rmone() { "$CONN" rm "bench$1" --yes; }
  R[rm,$n]=$(spread rmone)
  # Readers with a full journal (31 edits pending), then those edits undone. The fold that
  # the last `rm` above made is settled first, as for the other rows.
  for k in $(seq 31); do newone "p$k" >/dev/null 2>&1; done
  settle
  R[tokenj,$n]=$(mean "$CONN" token "$pick")
  R[listj,$n]=$(mean "$CONN" list)
  for k in $(seq 31); do rmone "p$k" >/dev/null 2>&1; done
  read -r w r < <(timed "$CONN" check --quiet --concurrency 64 --per-host 64)
  f=$(floor_of "$n" 64 $DELAY_MS)
  R[check,$n]="$w s / $f s = $(ratio "$w" "$f")×, ${r} MB"
  # Now with a state file holding N check results.
  settle
  R[tokens,$n]=$(mean "$CONN" token "$pick")
  R[lists,$n]=$(mean "$CONN" list)
  echo "N=$n: token ${R[token,$n]} (after check ${R[tokens,$n]}) list after check ${R[lists,$n]} exec ${R[exec,$n]} show ${R[show,$n]} list ${R[list,$n]} (no cache ${R[listnc,$n]}) new ${R[new,$n]} rm ${R[rm,$n]} check ${R[check,$n]} first ${R[migrate,$n]}" >&2
  if [ "$n" -ge 500 ]; then
    names=(); for j in $(seq 0 499); do names+=("c$j"); done
    read -r w r < <(timed "$CONN" check --quiet --concurrency 64 --per-host 64 "${names[@]}")
    R[check500,$n]="$w s, ${r} MB"
  else
    R[check500,$n]="–"
  fi
  # The fakes alone, with curl as the client (same N, same parallelism): a check row near its
  # floor is conn's own cost only if this one is nearer.
  if command -v curl >/dev/null; then
    for j in $(seq 0 $((n - 1))); do
      printf 'url = "http://127.0.0.1:%s/user"\noutput = "/dev/null"\n' "${ports[$((j % HOSTS))]}"
    done >"$work/urls"
    read -r w r < <(timed curl -s --parallel --parallel-max 64 -K "$work/urls")
    R[fake,$n]="$w s / $f s = $(ratio "$w" "$f")×"
  else
    R[fake,$n]="– (needs curl)"
  fi
done

# The reference for the 500-named row: the same 500 names in a store of exactly 500.
ref_home=$work/s500
python3 bench/make_store.py "$ref_home" 500 "$port_list"
CONN_HOME=$ref_home "$CONN" token c0 >/dev/null
names=(); for j in $(seq 0 499); do names+=("c$j"); done
read -r w r < <(CONN_HOME=$ref_home timed "$CONN" check --quiet --concurrency 64 --per-host 64 "${names[@]}")
ref_row="$w s, ${r} MB"
echo "500 of 500: $ref_row" >&2

# One hung host among 10 healthy ones: when do the healthy ones finish?
hung_port=$(serve hung)
hung_home=$work/hung
python3 bench/make_store.py "$hung_home" 1000 "$port_list,$hung_port"
CONN_HOME=$hung_home "$CONN" list >/dev/null
CONN_HOME=$hung_home "$CONN" token c0 >/dev/null
for f in "$work"/answers.*; do : >"$f"; done
sync; sleep "$QUIET"
start=$(date +%s.%N)
read -r hw hr < <(CONN_HOME=$hung_home timed "$CONN" check --quiet --concurrency 64 --per-host 8 --deadline 10 --timeout 10)
healthy=$(cat "$work"/answers.* | wc -l)
last=$(sort -n "$work"/answers.* | tail -1)
took=$(printf "%.2f" "$(echo "$last - $start" | bc)")
hfloor=$(floor_of "$healthy" 56 $DELAY_MS)
echo "hung: $healthy $took $hfloor $hw" >&2
hung_row="$healthy healthy done in $took s / floor $hfloor s = $(ratio "$took" "$hfloor")× (run $hw s, deadline 10 s)"

# The OAuth refresh storm: 1,000 connections whose access tokens all expired; each check is a
# refresh (rotating the refresh token) and then the request.
token_port=$(serve oauth $DELAY_MS "$work/token.log")
storm_home=$work/storm
python3 bench/make_store.py "$storm_home" 1000 "$port_list" oauth "$token_port"
CONN_HOME=$storm_home "$CONN" doctor >/dev/null 2>&1 || true
CONN_HOME=$storm_home "$CONN" show c0 >/dev/null
: >"$work/token.log"
sync; sleep "$QUIET"
read -r sw sr < <(CONN_HOME=$storm_home timed "$CONN" check --quiet --concurrency 64 --per-host 64)
sfloor=$(floor_of 1000 64 $((2 * DELAY_MS)))
reused=$(grep -c reused "$work/token.log" || true)
sok=$(CONN_HOME=$storm_home "$CONN" list --json | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if (r.get("last_check") or {}).get("status") == "ok"))')
storm_row="$sw s / floor $sfloor s = $(ratio "$sw" "$sfloor")×, ${sr} MB; $sok of 1000 ok; refresh tokens spent twice: $reused"

# conn token against one secret-tool lookup of the same keychain item.
kc_row="skipped (needs gnome-keyring, dbus-run-session, secret-tool)"
if command -v dbus-run-session >/dev/null && command -v secret-tool >/dev/null && command -v gnome-keyring-daemon >/dev/null; then
  kc_row=$(REPS=$REPS dbus-run-session -- bash -s "$CONN" "$work" <<'SH'
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
avg() { local s e; s=$(date +%s%N); for _ in $(seq "$REPS"); do "$@" >/dev/null; done; e=$(date +%s%N); echo "scale=1; ($e - $s) / $REPS / 1000000" | bc; }
a=$(avg "$CONN" token kc); b=$(avg secret-tool lookup service conn username "$id")
echo "$a ms vs $b ms = $(echo "scale=2; $a / $b" | bc)×"
SH
)
fi

row() { # LABEL KEY TARGET
  local line="| $1 |"
  for n in $SIZES; do line+=" ${R[$2,$n]} |"; done
  echo "$line $3 |"
}
head="| measurement (mean of $REPS unless said) |"; sep="|---|"
for n in $SIZES; do head+=" N = $n |"; sep+="---|"; done
echo
echo "$head target |"
echo "$sep---|"
row '`conn token` (file store, unexpired), ms' token '≤ 1.2× between 100 and 10,000'
row '`conn exec NAME -- true`, ms' exec '≤ 1.2×'
row "one \`conn new\` (api_key, --no-check), ms, mean of $CHANGES" new '≤ 1.2×'
row "one \`conn rm\`, ms, mean of $CHANGES" rm '≤ 1.2×'
row '`conn token` with 31 edits pending in the journal (stores ≥ 256 KiB), ms' tokenj '–'
row '`conn list` with 31 edits pending, ms' listj '< 50 ms at 10,000'
row '`conn show NAME`, ms' show '–'
row '`conn list`, ms' list '< 50 ms at 10,000'
row '`conn token` after a check of all (state.json of N results), ms' tokens '≤ 1.2×'
row '`conn list` after a check of all, ms' lists '< 50 ms at 10,000'
row '`conn list` without the JSON cache (TOML parse), ms' listnc 'why the cache stays'
row "\`conn check\` of all, ${HOSTS} hosts, ${DELAY_MS} ms each, concurrency 64: wall / floor, peak RSS" check '≤ 1.10×, < 64 MB'
row '`conn check` of 500 named connections: wall, peak RSS' check500 'same in every store (within 1.2×)'
echo "| the same 500 names in a store of 500 (the reference for the row above) | $ref_row | | | within 1.2× of N = 10,000 |"
row 'the same requests from `curl --parallel-max 64` (the fakes'"'"' own cost): wall / floor' fake 'well under the check row'
row 'first command after upgrade (moves `secrets.age` to one file each)' migrate '–'
echo "| one hung host + 10 healthy, 1,000 connections, concurrency 64, per-host 8 | $hung_row | | | healthy ≤ 1.2× their floor |"
echo "| OAuth refresh storm: 1,000 due connections, a refresh + a check each, concurrency 64 | $storm_row | | | ≤ 1.25× floor, none spent twice |"
echo "| \`conn token\` (keychain) vs one \`secret-tool lookup\` | $kc_row | | | ≤ 1.25× |"

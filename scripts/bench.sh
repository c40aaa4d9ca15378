#!/usr/bin/env bash
# Usage: scripts/bench.sh [--postgres | --cluster | --sync-normal] [--quick]
#
# Runs Gatehouse's load suite on this machine and writes every result as JSON:
#   - builds bin/gatehouse and bin/gatehouse-bench;
#   - starts `gatehouse serve --dev` on a loopback port, pinned to CPU
#     $SERVER_CPU (0) with taskset, on a fresh temporary data directory (SQLite);
#     --postgres: on PostgreSQL instead ($GATEHOUSE_DATABASE_URL, else a
#     throw-away one from scripts/with-postgres.sh, pinned to the same CPU);
#     --cluster: three nodes on PostgreSQL sharing one GATEHOUSE_SECRET_KEY,
#     the load spread over all three;
#     --sync-normal: SQLite with the opt-in database.sqlite_synchronous=normal
#     (not durable against a power cut; measured apart from the default);
#     every node allows unlimited failed sign-ins per address, since all the
#     tool's sign-ins come from 127.0.0.1;
#   - runs every scenario with `gatehouse-bench` pinned to CPU $TOOL_CPU (1),
#     $RUNS (3) runs of $DURATION (8s) after $WARMUP (1s) each:
#     client-credentials c=32, introspect c=32, refresh c=8, authcode c=8,
#     bearer c=32, integration-token c=32 and c=128 (capacity), signin c=200 (with --timeout 60s, printing the server's
#     RSS meanwhile), flood (introspect, then client-credentials, each c=32,
#     unloaded and then while signin c=200 runs),
#     sweep (client-credentials at c=1, 8, 32, 128 and 256, one run each)
#     and ceiling c=32 (in the tool's process, then as a separate process on
#     the server's CPU, GET and ceiling-post: an introspection-shaped POST;
#     ceiling-flow c=8: authcode's three exchanges answered bare, and
#     ceiling-refresh c=8: refresh's rotations answered bare, and
#     ceiling-client-credentials c=32: its requests answered bare; then
#     floor-flow: the same against `ceiling-server --floor-dir`, which stores
#     what the flow must keep through a node's write path; required-flow:
#     with `--floor-storage required`, which also stores what the spec
#     requires of every flow; storage-flow: with `--floor-storage
#     gatehouse`, which stores what a node stores; after each flow,
#     floor-refresh, required-refresh and storage-refresh: ceiling-refresh
#     rotating through the same storage, and floor-client-credentials,
#     required-... and storage-...: ceiling-client-credentials issuing
#     through it);
#     every run reports the nodes' CPU time per operation (--server-pid),
#     and the summary each median's ratio to the ceiling;
#   - records the server's idle RSS and peak RSS (VmRSS, VmHWM), and its
#     password-hashing worker's (a child process while sign-ins run), and the
#     time from start to the first metadata answer ($STARTUP_RUNS (5) fresh
#     starts).
# Results go to $RESULTS (default test-artifacts/bench/<date>-<mode>):
# one JSON file per scenario, startup.json, rss.txt and summary.txt.
# --quick: RUNS=1 DURATION=2s, for a smoke test. SCENARIOS="a b" runs a subset.
# Exits non-zero if any scenario had more than 1% failed operations.
set -euo pipefail

usage() { sed -n '2,/^set -e/s/^# \{0,1\}//p' "$0" >&2; exit 2; }

mode=sqlite
for arg in "$@"; do
  case "$arg" in
    --postgres) mode=postgres ;;
    --cluster) mode=cluster ;;
    --sync-normal) mode=sqlite-normal ;;
    --quick) RUNS=${RUNS:-1} DURATION=${DURATION:-2s} ;;
    -h|--help) usage ;;
    *) echo "bench.sh: unknown argument $arg" >&2; usage ;;
  esac
done
RUNS=${RUNS:-3}
DURATION=${DURATION:-8s}
WARMUP=${WARMUP:-1s}
STARTUP_RUNS=${STARTUP_RUNS:-5}
SERVER_CPU=${SERVER_CPU:-0}
TOOL_CPU=${TOOL_CPU:-1}
SETTLE=${SETTLE:-5} # seconds between provisioning many rows and measuring
SCENARIOS=${SCENARIOS:-"client-credentials introspect refresh authcode bearer integration-token integration-token-c128 signin flood sweep ceiling"}

cd "$(dirname "$0")/.."
root=$PWD
log() { echo "bench.sh: $*" >&2; }

pin_server=() pin_tool=()
if command -v taskset >/dev/null; then
  pin_server=(taskset -c "$SERVER_CPU")
  pin_tool=(taskset -c "$TOOL_CPU")
else
  log "taskset not found: nothing is pinned, figures will be noisier"
fi

# PostgreSQL: the given database, else a throw-away one (this script runs
# again inside scripts/with-postgres.sh, PostgreSQL on the server's CPU).
dburl=
if [ "$mode" = postgres ] || [ "$mode" = cluster ]; then
  dburl=${GATEHOUSE_DATABASE_URL:-${GATEHOUSE_TEST_DATABASE_URL:-}}
  if [ -z "$dburl" ]; then
    log "no GATEHOUSE_DATABASE_URL: starting a throw-away PostgreSQL"
    exec "${pin_server[@]}" scripts/with-postgres.sh "$0" "$@"
  fi
fi

stamp=$(date +%Y%m%d-%H%M%S)
RESULTS=${RESULTS:-test-artifacts/bench/$stamp-$mode}
mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
summary=$RESULTS/summary.txt
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }

log "building bin/gatehouse and bin/gatehouse-bench"
go build -o bin/gatehouse ./cmd/gatehouse
go build -o bin/gatehouse-bench ./cmd/gatehouse-bench
bin=$root/bin/gatehouse
tool=$root/bin/gatehouse-bench

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench.XXXXXX")
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Every node and every bench command share the key, the database and the data directory.
GATEHOUSE_SECRET_KEY=$("$bin" keygen)
GATEHOUSE_ADMIN_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
export GATEHOUSE_SECRET_KEY GATEHOUSE_ADMIN_PASSWORD
unset GATEHOUSE_DATABASE_URL
# Every sign-in of the tool comes from 127.0.0.1: the per-address limit on
# failed sign-ins (reserved before each hash) would refuse most of them.
export GATEHOUSE_SIGN_IN_MAX_FAILURES_PER_ADDRESS=1000000
if [ "$mode" = sqlite-normal ]; then
  export GATEHOUSE_DATABASE_SQLITE_SYNCHRONOUS=normal
fi
store=(--data-dir "$tmp/data")
[ -n "$dburl" ] && store+=(--database-url "$dburl")

# A loopback port no socket uses (per /proc/net/tcp*), below the ephemeral
# range, so that no outgoing connection (of the load, of anything else) holds it.
in_use() {
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk 'NR > 1 { print $2 }' | grep -q "$(printf ':%04X$' "$1")"
}
taken=" "
free_port() {
  local p i
  for i in $(seq 1 100); do
    p=$((20000 + RANDOM % 12000))
    if ! in_use "$p" && [[ "$taken" != *" $p "* ]]; then
      taken+="$p "
      echo "$p"
      return
    fi
  done
  log "no free port found"; exit 1
}

# wait_ready URL PID: until /healthz answers (at most 60 s).
wait_ready() {
  local i
  for i in $(seq 1 600); do
    if curl -sf -o /dev/null "$1/healthz" 2>/dev/null; then return 0; fi
    kill -0 "$2" 2>/dev/null || { log "the node for $1 exited"; return 1; }
    sleep 0.1
  done
  log "$1 did not become ready"; return 1
}

rss_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# pss_kib PID: its proportional set size: each page it shares with other
# processes (a node and its worker map the same executable) counted in part.
pss_kib() { awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# worker_of PID: the node's password-hashing worker process, if running.
worker_of() { pgrep -P "$1" -f "hash-worker" 2>/dev/null | head -1 || true; }
# note_worker: remember (in files: samplers run in subshells) the highest
# VmHWM seen of any node's worker, which exits when idle, taking it along,
# and the highest VmRSS and Pss of a node and its worker together at one
# sample.
note_worker() {
  local i w k n peak sum together pss
  peak=$(cat "$tmp/worker.peak" 2>/dev/null || echo 0)
  together=$(cat "$tmp/together.peak" 2>/dev/null || echo 0)
  pss=$(cat "$tmp/together-pss.peak" 2>/dev/null || echo 0)
  for i in "${!node_pids[@]}"; do
    w=$(worker_of "${node_pids[$i]}")
    [ -n "$w" ] || continue
    k=$(rss_kib "$w" VmHWM)
    [ "${k:-0}" -gt "$peak" ] && peak=$k
    n=$(rss_kib "${node_pids[$i]}" VmRSS) k=$(rss_kib "$w" VmRSS) # empty for a zombie
    sum=$(( ${n:-0} + ${k:-0} ))
    [ "$sum" -gt "$together" ] && together=$sum
    n=$(pss_kib "${node_pids[$i]}") k=$(pss_kib "$w")
    sum=$(( ${n:-0} + ${k:-0} ))
    [ "$sum" -gt "$pss" ] && pss=$sum
  done
  echo "$peak" >"$tmp/worker.peak"
  echo "$together" >"$tmp/together.peak"
  echo "$pss" >"$tmp/together-pss.peak"
}
# sample_rss WHILE_FILE LABEL: print the nodes' memory every second until
# WHILE_FILE exists (in the background; the caller waits for it).
sample_rss() {
  local i
  for i in $(seq 1 600); do
    sleep 1
    [ -e "$1" ] && break
    echo "  $2 t=${i}s: $(rss_line)"
  done
}
# median FILE FIELD: a field of the median in a gatehouse-bench JSON report
# (req_per_s, p99, server_cpu_us_per_op, server_flushes_per_op), if measured.
median() { awk -v f="\"$2\"" '/"median"/ { m = 1 } m && $1 ~ f { gsub(/[^0-9.]/, "", $2); print $2; exit }' "$1" 2>/dev/null; }

nodes=1
[ "$mode" = cluster ] && nodes=3
urls=() node_pids=()
for i in $(seq 1 "$nodes"); do
  port=$(free_port)
  "${pin_server[@]}" "$bin" serve --dev --listen "127.0.0.1:$port" "${store[@]}" >"$RESULTS/node$i.log" 2>&1 &
  pid=$!
  pids+=("$pid") node_pids+=("$pid") urls+=("http://127.0.0.1:$port")
  # The first node applies the migrations alone.
  [ "$i" = 1 ] && wait_ready "http://127.0.0.1:$port" "$pid"
done
for i in "${!urls[@]}"; do wait_ready "${urls[$i]}" "${node_pids[$i]}"; done
url_flags=()
for u in "${urls[@]}"; do url_flags+=(--url "$u"); done

say "Gatehouse load suite: mode $mode, $nodes node(s) on CPU $SERVER_CPU, tool on CPU $TOOL_CPU, $RUNS runs x $DURATION (+$WARMUP warm-up)"
commit=unknown
if head=$(git rev-parse --short HEAD 2>/dev/null); then
  commit=$head
  git diff --quiet HEAD 2>/dev/null || commit+=" (with uncommitted changes)"
fi
say "commit $commit, $(go env GOVERSION), $(grep -c ^processor /proc/cpuinfo) CPUs: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), load average $(cut -d' ' -f1-3 /proc/loadavg)"
say "nodes: ${urls[*]}"
sleep 1
{
  for i in "${!node_pids[@]}"; do
    echo "node$((i + 1)) idle: VmRSS $(mib "$(rss_kib "${node_pids[$i]}" VmRSS)") MiB"
  done
} | tee "$RESULTS/rss.txt" | tee -a "$summary"

rss_line() {
  local out="" i w
  for i in "${!node_pids[@]}"; do
    out+="node$((i + 1)) VmRSS $(mib "$(rss_kib "${node_pids[$i]}" VmRSS)") MiB, VmHWM $(mib "$(rss_kib "${node_pids[$i]}" VmHWM)") MiB"
    w=$(worker_of "${node_pids[$i]}")
    [ -n "$w" ] && out+=", hash worker VmRSS $(mib "$(rss_kib "$w" VmRSS)") MiB"
    out+="; "
  done
  note_worker
  echo "$out"
}
server_pids=$(IFS=,; echo "${node_pids[*]}")

concurrency_of() {
  case "$1" in
    refresh|authcode) echo 8 ;;
    integration-token-c128) echo 128 ;;
    signin) echo 200 ;;
    *) echo 32 ;;
  esac
}
# ratios: each scenario's median next to the same run's ceiling.
ratios=()

failed=()
# bench NAME OUTFILE ARGS...: one `gatehouse-bench`, its table into the summary.
bench() {
  local name=$1 out=$2
  shift 2
  say ""
  say "== $name"
  local status=0
  # --dev: the tool provisions like a node in development mode (the bench
  # integration's provider is served over http on loopback).
  "${pin_tool[@]}" "$tool" --dev --runs "$RUNS" --duration "$DURATION" --warmup "$WARMUP" --out "$out" "$@" \
    2>"$RESULTS/$name.log" | tee -a "$summary" || status=$?
  ratios+=("$name $(median "$out" req_per_s)")
  if [ "$status" -ne 0 ]; then
    failed+=("$name")
    tail -n 3 "$RESULTS/$name.log" | tee -a "$summary" >&2
  fi
}

for scenario in $SCENARIOS; do
  c=$(concurrency_of "$scenario")
  case "$scenario" in
    ceiling)
      # The tool alone: the bare handler inside the tool's own process and CPU.
      bench ceiling "$RESULTS/ceiling.json" --scenario ceiling -c "$c"
      # The same handler in a process of its own on the server's CPU.
      cport=$(free_port)
      "${pin_server[@]}" "$tool" ceiling-server --listen "127.0.0.1:$cport" >"$RESULTS/ceiling-server.log" 2>&1 &
      cpid=$!
      pids+=("$cpid")
      for i in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$cport/" && break; sleep 0.05; done
      bench ceiling-server "$RESULTS/ceiling-server.json" --scenario ceiling -c "$c" --url "http://127.0.0.1:$cport" --server-pid "$cpid"
      # And POSTed an introspection-shaped request: net/http's own part of one.
      bench ceiling-post "$RESULTS/ceiling-post.json" --scenario ceiling-post -c "$c" --url "http://127.0.0.1:$cport" --server-pid "$cpid"
      # And the browser flow's three exchanges at authcode's concurrency.
      bench ceiling-flow "$RESULTS/ceiling-flow.json" --scenario ceiling-flow -c "$(concurrency_of authcode)" --url "http://127.0.0.1:$cport" --server-pid "$cpid"
      # And the refresh scenario's rotations, and the client-credentials
      # scenario's requests, each at its concurrency.
      bench ceiling-refresh "$RESULTS/ceiling-refresh.json" --scenario ceiling-refresh -c "$(concurrency_of refresh)" --url "http://127.0.0.1:$cport" --server-pid "$cpid"
      bench ceiling-client-credentials "$RESULTS/ceiling-client-credentials.json" --scenario ceiling-client-credentials -c "$(concurrency_of client-credentials)" --url "http://127.0.0.1:$cport" --server-pid "$cpid"
      kill "$cpid" 2>/dev/null || true
      wait "$cpid" 2>/dev/null || true
      # And the same flow storing what it must keep, through a node's write
      # path on a fresh SQLite file: the browser flow's floor, flushes
      # included (floor-flow); then also what the spec requires of every
      # flow (required-flow); then what a node stores, through its own store
      # (storage-flow).
      for storage in minimal required gatehouse; do
        case $storage in
          minimal) name=floor-flow ;;
          required) name=required-flow ;;
          gatehouse) name=storage-flow ;;
        esac
        fport=$(free_port)
        mkdir -p "$tmp/$name"
        "${pin_server[@]}" "$tool" ceiling-server --listen "127.0.0.1:$fport" --floor-dir "$tmp/$name" --floor-storage "$storage" >"$RESULTS/$name-server.log" 2>&1 &
        fpid=$!
        pids+=("$fpid")
        for i in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$fport/" && break; sleep 0.05; done
        bench "$name" "$RESULTS/$name.json" --scenario ceiling-flow -c "$(concurrency_of authcode)" --url "http://127.0.0.1:$fport" --server-pid "$fpid" --flushes
        # The same storage rotating refresh tokens (floor-refresh,
        # required-refresh, storage-refresh), then issuing client_credentials
        # tokens (floor-client-credentials, ...).
        for sc in refresh client-credentials; do
          bench "${name%-flow}-$sc" "$RESULTS/${name%-flow}-$sc.json" --scenario "ceiling-$sc" -c "$(concurrency_of "$sc")" --url "http://127.0.0.1:$fport" --server-pid "$fpid" --flushes
        done
        kill "$fpid" 2>/dev/null || true
        wait "$fpid" 2>/dev/null || true
      done
      ;;
    signin)
      # Print the server's memory while sign-ins (argon2id, 7 MiB each) run.
      sample_rss "$tmp/signin.done" signin | tee -a "$RESULTS/rss.txt" >&2 &
      sampler=$!
      bench signin "$RESULTS/signin.json" "${store[@]}" "${url_flags[@]}" --server-pid "$server_pids" --scenario signin -c "$c" --timeout 60s
      touch "$tmp/signin.done"
      wait "$sampler" 2>/dev/null || true
      ;;
    flood)
      # The token endpoints while 200 clients sign in — a read
      # (introspection) and a durable write (client_credentials), each
      # judged against its own p99 unloaded (the summary's last lines).
      # Scenarios that sign their workers in first (bearer, refresh)
      # would queue their sign-ins behind the flood's. The sign-ins start
      # before the flooded runs and outlast both; their own figures are not the point (they
      # wait behind the tokens by design), so they are not judged. Each
      # measured scenario gets 10 s more for its set-up.
      flooded=(introspect client-credentials)
      # Each first runs unloaded right before the flood: the same database
      # and the same minutes of the host, where the suite's own runs of
      # these scenarios are minutes away on a database with fewer rows.
      for sc in "${flooded[@]}"; do
        bench "flood-base-$sc" "$RESULTS/flood-base-$sc.json" "${store[@]}" "${url_flags[@]}" --server-pid "$server_pids" --scenario "$sc" -c 32
      done
      fdur=$(awk -v n="${#flooded[@]}" -v r="$RUNS" -v d="${DURATION%s}" -v w="${WARMUP%s}" 'BEGIN { print int(n * (r * (d + w) + 10) + 15) "s" }')
      rm -f "$tmp/flood.done"
      sample_rss "$tmp/flood.done" flood | tee -a "$RESULTS/rss.txt" >&2 &
      sampler=$!
      "${pin_tool[@]}" "$tool" "${store[@]}" "${url_flags[@]}" --scenario signin -c 200 --timeout 60s \
        --duration "$fdur" --warmup 0s --out "$RESULTS/flood-signin.json" >"$RESULTS/flood-signin.txt" 2>"$RESULTS/flood-signin.log" &
      flooder=$!
      # The tool checks the 200 users' passwords first (argon2, on the tool's
      # CPU): introspection starts only once the sign-ins are under way.
      for i in $(seq 1 1200); do
        grep -q "setting up" "$RESULTS/flood-signin.log" 2>/dev/null && break
        sleep 0.1
      done
      sleep 3
      for sc in "${flooded[@]}"; do
        name=flood # introspection's keeps the name every earlier run has
        [ "$sc" = introspect ] || name=flood-$sc
        bench "$name" "$RESULTS/$name.json" "${store[@]}" "${url_flags[@]}" --server-pid "$server_pids" --scenario "$sc" -c 32
      done
      wait "$flooder" 2>/dev/null || true
      touch "$tmp/flood.done"
      wait "$sampler" 2>/dev/null || true
      say "(sign-ins meanwhile: $(awk '/median/ { print $2 " /s" }' "$RESULTS/flood-signin.txt"))"
      ;;
    sweep)
      # The write path at every concurrency: batches of 1 to 256 commits.
      for sc in 1 8 32 128 256; do
        RUNS=1 bench "sweep-c$sc" "$RESULTS/sweep-c$sc.json" "${store[@]}" "${url_flags[@]}" --server-pid "$server_pids" --scenario client-credentials -c "$sc"
      done
      ;;
    integration-token)
      # Provision first, unmeasured: creating the 10,000 other integrations
      # grows the WAL by ~40 MB, which the node then checkpoints.
      "${pin_tool[@]}" "$tool" --dev "${store[@]}" "${url_flags[@]}" --scenario integration-token -c 1 --runs 1 \
        --warmup 0s --duration 1s --requests 1 >"$RESULTS/integration-token-provision.log" 2>&1
      sleep "$SETTLE"
      bench "$scenario" "$RESULTS/$scenario.json" "${store[@]}" "${url_flags[@]}" --server-pid "$server_pids" --scenario "$scenario" -c "$c"
      ;;
    integration-token-c128)
      bench "$scenario" "$RESULTS/$scenario.json" "${store[@]}" "${url_flags[@]}" --server-pid "$server_pids" --scenario integration-token -c "$c"
      ;;
    *)
      # --flushes scrapes the node's /metrics twice a run: cheap here, before
      # the token API's 10,000 integrations make every scrape heavy.
      bench "$scenario" "$RESULTS/$scenario.json" "${store[@]}" "${url_flags[@]}" --server-pid "$server_pids" --flushes --scenario "$scenario" -c "$c"
      ;;
  esac
  echo "after $scenario: $(rss_line)" >>"$RESULTS/rss.txt"
done

say ""
say "== memory"
note_worker
{
  for i in "${!node_pids[@]}"; do
    echo "node$((i + 1)) peak: VmHWM $(mib "$(rss_kib "${node_pids[$i]}" VmHWM)") MiB (now VmRSS $(mib "$(rss_kib "${node_pids[$i]}" VmRSS)") MiB)"
  done
  echo "hash worker peak (highest seen, any node): VmHWM $(mib "$(cat "$tmp/worker.peak" 2>/dev/null || echo 0)") MiB"
  echo "a node and its hash worker together (highest sums sampled, once a second): VmRSS $(mib "$(cat "$tmp/together.peak" 2>/dev/null || echo 0)") MiB, Pss $(mib "$(cat "$tmp/together-pss.peak" 2>/dev/null || echo 0)") MiB (the executable's pages both map counted once)"
} | tee -a "$summary" "$RESULTS/rss.txt"

ceiling=
# A subset of SCENARIOS without the ceiling has no ratios to give.
[ -f "$RESULTS/ceiling-server.json" ] && ceiling=$(median "$RESULTS/ceiling-server.json" req_per_s)
if [ -n "$ceiling" ]; then
  say ""
  say "== medians against the same run's ceiling ($ceiling/s: the bare handler on the server's CPU)"
  for r in "${ratios[@]}"; do
    set -- $r
    [ -n "${2:-}" ] && say "$(awk -v n="$1" -v x="$2" -v c="$ceiling" 'BEGIN { printf "%-22s %10.1f/s  %5.3f of the ceiling", n, x, x / c }')"
  done
fi

# Gatehouse's own work per introspection and per browser flow: its CPU per
# operation over the bare handlers' for the same exchanges
# (docs/performance.md, "The floors").
own_work() { # WHAT SCENARIO FLOOR-SCENARIO UNIT [FLOOR-DESCRIPTION [REST-DESCRIPTION]]
  local own floor rest="Gatehouse's own work"
  [ -n "${6:-}" ] && rest=$6
  # A subset run (SCENARIOS) may have neither.
  [ -f "$RESULTS/$2.json" ] && [ -f "$RESULTS/$3.json" ] || return 0
  own=$(median "$RESULTS/$2.json" server_cpu_us_per_op)
  floor=$(median "$RESULTS/$3.json" server_cpu_us_per_op)
  [ -n "$own" ] && [ -n "$floor" ] || return 0
  say "$(awk -v w="$1" -v u="$4" -v s="$3" -v d="${5:-net/http alone}" -v r="$rest" -v o="$own" -v f="$floor" 'BEGIN { printf "%s: %.1f µs CPU per %s, of which %s (%s) %.1f: %s %.1f µs", w, o, u, d, s, f, r, o - f }')"
}
say ""
own_work introspection introspect ceiling-post request
own_work "browser flow" authcode ceiling-flow flow
own_work "refresh rotation" refresh ceiling-refresh rotation
own_work client_credentials client-credentials ceiling-client-credentials token
# The floor stores on SQLite with synchronous=FULL: only a node that does
# the same is measured against it (a PostgreSQL node's CPU leaves out the
# database's; a sync-normal node does not flush).
if [ "$mode" = sqlite ]; then
  own_work "browser flow" authcode floor-flow flow "the flow's floor with its durable writes"
  own_work "browser flow" authcode storage-flow flow "the same bare exchanges storing what a node stores" "Gatehouse's pages and handlers"
  own_work "bare exchanges storing what the spec requires" required-flow floor-flow flow "the flow's floor" "the spec's rows above the floor"
  own_work "bare exchanges storing what a node stores" storage-flow required-flow flow "what the spec requires" "Gatehouse's storage above that"
  own_work "refresh rotation" refresh floor-refresh rotation "the rotation's floor with its four durable row changes"
  own_work "refresh rotation" refresh storage-refresh rotation "a bare handler rotating through a node's store" "Gatehouse's handler"
  own_work "a bare handler rotating through a node's store" storage-refresh floor-refresh rotation "the rotation's floor" "Gatehouse's storage above it"
  own_work client_credentials client-credentials floor-client-credentials token "a token's floor: one durable row"
  own_work client_credentials client-credentials storage-client-credentials token "a bare handler issuing through a node's store" "Gatehouse's handler"
  own_work "a bare handler issuing through a node's store" storage-client-credentials floor-client-credentials token "a token's floor" "Gatehouse's storage above it"
fi
# SQLite's flushes per write operation: on a small VM each costs the core
# about half a millisecond (docs/performance.md, "The browser flow").
for sc in client-credentials refresh authcode {floor,required,storage}-{flow,refresh,client-credentials}; do
  [ -f "$RESULTS/$sc.json" ] || continue
  f=$(median "$RESULTS/$sc.json" server_flushes_per_op)
  [ -n "$f" ] && say "$(awk -v s="$sc" -v f="$f" 'BEGIN { printf "%-22s %.3f flushes per operation", s, f }')"
done

# Each token path's p99 during the sign-in flood against its own unloaded
# (the target: within 2x): just before the flood, and in the suite's own
# run of the scenario.
for pair in "flood flood-base-introspect introspect" "flood-client-credentials flood-base-client-credentials client-credentials"; do
  set -- $pair
  [ -f "$RESULTS/$1.json" ] || continue
  f=$(median "$RESULTS/$1.json" p99)
  for base in "$2 just before it" "$3 at the suite's start"; do
    set -- $base
    [ -f "$RESULTS/$1.json" ] || continue
    say "$(awk -v n="${1#flood-base-}" -v f="$f" -v u="$(median "$RESULTS/$1.json" p99)" -v when="${base#* }" \
      'BEGIN { printf "%-22s p99 %.2f ms during the sign-in flood against %.2f ms unloaded %s: %.2fx", n, f, u, when, f / u }')"
  done
done

# Stop the nodes before timing start-ups, so that they do not compete.
for p in "${node_pids[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "${node_pids[@]}"; do wait "$p" 2>/dev/null || true; done

say ""
say "== startup (fresh data directory each time$([ -n "$dburl" ] && echo ', existing PostgreSQL database'))"
sport=$(free_port)
serve_cmd="${pin_server[*]} $bin serve --dev --listen 127.0.0.1:$sport --data-dir \"\$(mktemp -d $tmp/startup.XXXXXX)\""
[ -n "$dburl" ] && serve_cmd+=" --database-url '$dburl'"
status=0
"${pin_tool[@]}" "$tool" startup --exec "$serve_cmd" --url "http://127.0.0.1:$sport" --runs "$STARTUP_RUNS" \
  --out "$RESULTS/startup.json" 2>"$RESULTS/startup.log" | tee -a "$summary" || status=$?
[ "$status" -eq 0 ] || { failed+=(startup); tail -n 5 "$RESULTS/startup.log" >&2; }

say ""
say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on these CPUs skews every figure: compare the ceiling and the tool CPU column between runs)"
say "results: $RESULTS"
if [ "${#failed[@]}" -gt 0 ]; then
  say "FAILED: ${failed[*]}"
  exit 1
fi

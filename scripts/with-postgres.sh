#!/usr/bin/env bash
# Usage: scripts/with-postgres.sh CMD [ARGS...]
#
# Runs CMD with a throw-away PostgreSQL cluster:
#   - installs PostgreSQL from Debian's packages if initdb cannot be found;
#   - creates a cluster with initdb in a temporary directory (as the `postgres`
#     system user when run as root, because initdb refuses to run as root);
#   - starts it on a free port on 127.0.0.1 only, its unix socket in the
#     temporary directory;
#   - creates the database gatehouse_test and exports
#     GATEHOUSE_TEST_DATABASE_URL=postgres://USER@127.0.0.1:PORT/gatehouse_test?sslmode=disable
#   - runs CMD, then always stops the cluster and removes the directory, and
#     exits with CMD's exit status.
#
# Example: scripts/with-postgres.sh go test -race ./...
set -euo pipefail

if [ $# -eq 0 ]; then
  sed -n '2,15s/^# \{0,1\}//p' "$0" >&2
  exit 2
fi

log() { echo "with-postgres: $*" >&2; }

# find_bin prints the directory holding initdb and pg_ctl: from PATH first,
# else Debian's versioned directories (the newest version), else nothing.
find_bin() {
  local p
  if p=$(command -v initdb 2>/dev/null) && [ -x "$(dirname "$p")/pg_ctl" ]; then
    dirname "$(readlink -f "$p")"
    return
  fi
  # Debian keeps the server binaries off PATH.
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

pgbin=$(find_bin)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
  log "initdb not found; installing PostgreSQL from Debian's packages"
  "$(dirname "$0")/apt-install.sh" with-postgres postgresql
  pgbin=$(find_bin)
  [ -n "$pgbin" ] && [ -x "$pgbin/initdb" ] || { log "PostgreSQL installed but initdb not found"; exit 1; }
fi
export PATH="$pgbin:$PATH"

# initdb and postgres refuse to run as root: as root, run them as the
# `postgres` system user (created if missing); otherwise as ourselves.
as_db=()
if [ "$(id -u)" -eq 0 ]; then
  dbuser=postgres
  if ! id -u "$dbuser" >/dev/null 2>&1; then
    log "creating the system user $dbuser"
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$dbuser"
  fi
  if command -v runuser >/dev/null; then
    as_db=(runuser -u "$dbuser" --)
  else
    as_db=(setpriv --reuid="$dbuser" --regid="$dbuser" --init-groups --)
  fi
else
  dbuser=$(id -un)
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-pg.XXXXXX")
data="$tmp/data"
started=

cleanup() {
  # Also after a failed or timed-out start, which may leave a server behind.
  if [ -n "$started" ] || [ -f "$data/postmaster.pid" ]; then
    # fast: ends sessions and waits for every server process to exit.
    "${as_db[@]}" "$pgbin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || log "could not stop the cluster"
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if [ "$(id -u)" -eq 0 ]; then
  chown "$dbuser:" "$tmp"
  "${as_db[@]}" test -w "$tmp" || { log "$dbuser cannot write $tmp; set TMPDIR to a directory it can reach"; exit 1; }
fi

"${as_db[@]}" "$pgbin/initdb" -D "$data" -U "$dbuser" --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$tmp/initdb.log" 2>&1 \
  || { cat "$tmp/initdb.log" >&2; log "initdb failed"; exit 1; }

# A port nothing listens on (per /proc/net/tcp*); retried if another process
# takes it before the server binds.
in_use() {
  # Column 2 is the local address as HEXIP:HEXPORT; state 0A is LISTEN.
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$4 == "0A" { print $2 }' | grep -q "$(printf ':%04X$' "$1")"
}

for attempt in 1 2 3 4 5 6 7 8 9 10; do
  port=$((20000 + RANDOM % 40000))
  in_use "$port" && continue
  # Test settings, chosen for speed: fsync, synchronous_commit and
  # full_page_writes are off, which is unsafe on a crash and acceptable only
  # because this cluster is thrown away. Never use them for real data.
  if "${as_db[@]}" "$pgbin/pg_ctl" -D "$data" -l "$tmp/postgres.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$tmp -c max_connections=300" \
      -o "-c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null; then
    started=1
    break
  fi
  if ! grep -q "could not bind\|Address already in use" "$tmp/postgres.log" 2>/dev/null; then
    cat "$tmp/postgres.log" >&2
    log "PostgreSQL did not start"
    exit 1
  fi
  log "port $port taken; trying another (attempt $attempt)"
  : >"$tmp/postgres.log"
done
[ -n "$started" ] || { cat "$tmp/postgres.log" >&2; log "PostgreSQL did not start"; exit 1; }

"$pgbin/createdb" -h 127.0.0.1 -p "$port" -U "$dbuser" gatehouse_test

export GATEHOUSE_TEST_DATABASE_URL="postgres://$dbuser@127.0.0.1:$port/gatehouse_test?sslmode=disable"
log "PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port: GATEHOUSE_TEST_DATABASE_URL=$GATEHOUSE_TEST_DATABASE_URL"

status=0
if [ -t 0 ]; then
  # Interactive: CMD runs in the foreground (it may read the terminal) and
  # Ctrl-C reaches it directly; the EXIT trap cleans up once it ends.
  "$@" || status=$?
else
  # CI and other non-interactive callers: CMD runs in its own process group,
  # so a TERM or INT sent to this script alone (as `timeout` or a CI runner
  # does) is passed on to all of CMD at once instead of after CMD finishes.
  set -m
  "$@" &
  child=$!
  set +m
  trap 'kill -INT -- "-$child" 2>/dev/null || true' INT
  trap 'kill -TERM -- "-$child" 2>/dev/null || true' TERM
  trap 'kill -HUP -- "-$child" 2>/dev/null || true' HUP
  while :; do
    # wait returns early (status > 128) when a trapped signal arrives; wait
    # again until CMD itself has ended and been reaped.
    wait "$child" && status=0 || status=$?
    kill -0 "$child" 2>/dev/null || break
  done
fi
exit "$status"

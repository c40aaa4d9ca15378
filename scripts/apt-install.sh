#!/usr/bin/env bash
# Usage: scripts/apt-install.sh NAME PACKAGE...
#
# Installs Debian packages quietly for the test scripts (install-chromium.sh,
# install-dovecot.sh): `apt-get update` once, then `apt-get install -y`, with
# sudo when not root. NAME prefixes its messages. On failure it prints
# apt-get's output and exits non-zero. Nothing is downloaded from anywhere but
# Debian's packages.
set -euo pipefail
name=$1
shift
log() { echo "$name: $*" >&2; }

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { log "not root and no sudo: install $* first"; exit 1; }
  sudo=(sudo)
fi

log "installing $* from Debian's packages"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! { "${sudo[@]}" apt-get update -qq &&
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >"$out" 2>&1; then
  cat "$out" >&2
  log "apt-get failed"
  exit 1
fi

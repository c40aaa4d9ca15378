#!/usr/bin/env bash
# Usage: scripts/install-dovecot.sh
#
# Makes sure Debian's Dovecot is installed for the mail tests (the IMAP
# sign-in in internal/e2e through internal/testdovecot): if `dovecot` is not
# found (on PATH or in /usr/sbin), runs `apt-get update` once and `apt-get
# install -y dovecot-imapd dovecot-pop3d` (with sudo when not root). The tests
# start their own Dovecot with a throw-away configuration; the system service
# the package sets up is not used. Idempotent and quiet: does nothing when
# Dovecot is already there. Nothing is downloaded from anywhere but Debian's
# packages.
set -euo pipefail

log() { echo "install-dovecot: $*" >&2; }

found() { command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]; }
found && exit 0

pkgs=(dovecot-imapd dovecot-pop3d)
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { log "not root and no sudo: install ${pkgs[*]} first"; exit 1; }
  sudo=(sudo)
fi

log "installing ${pkgs[*]} from Debian's packages"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! { "${sudo[@]}" apt-get update -qq &&
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}"; } >"$out" 2>&1; then
  cat "$out" >&2
  log "apt-get failed"
  exit 1
fi
found || { log "dovecot installed but not found"; exit 1; }
log "dovecot $(PATH="$PATH:/usr/sbin" dovecot --version 2>/dev/null || echo installed)"

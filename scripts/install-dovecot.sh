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
"$(dirname "$0")/apt-install.sh" install-dovecot "${pkgs[@]}"
found || { log "dovecot installed but not found"; exit 1; }
log "dovecot $(PATH="$PATH:/usr/sbin" dovecot --version 2>/dev/null || echo installed)"

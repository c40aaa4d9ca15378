#!/usr/bin/env bash
# Usage: scripts/install-chromium.sh
#
# Makes sure Debian's Chromium is installed for the headless browser tests
# (internal/browsertest): if `chromium` is not on PATH, runs `apt-get update`
# once and `apt-get install -y chromium` (with sudo when not root). It also
# installs a Japanese font (fonts-ipafont-gothic) when fontconfig knows none,
# so that screenshots of the Japanese pages show text rather than boxes.
# Idempotent and quiet: does nothing when both are already there. Nothing is
# downloaded from anywhere but Debian's packages.
set -euo pipefail

log() { echo "install-chromium: $*" >&2; }

pkgs=()
command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
if ! command -v fc-list >/dev/null 2>&1 || [ -z "$(fc-list :lang=ja family 2>/dev/null)" ]; then
  pkgs+=(fonts-ipafont-gothic)
fi
[ ${#pkgs[@]} -eq 0 ] && exit 0

"$(dirname "$0")/apt-install.sh" install-chromium "${pkgs[@]}"
command -v chromium >/dev/null || { log "chromium installed but not on PATH"; exit 1; }
log "$(chromium --version 2>/dev/null || echo 'chromium installed')"

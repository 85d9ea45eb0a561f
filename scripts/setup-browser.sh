#!/usr/bin/env bash
# Installs Debian's Chromium for the console's browser tests (test/e2e/console.test.ts), if it is
# not there yet. Idempotent; needs root (or sudo). Playwright never downloads a browser here:
# the tests drive /usr/bin/chromium through playwright-core.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "setup-browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core
/usr/bin/chromium --version

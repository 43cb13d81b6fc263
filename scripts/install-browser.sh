#!/usr/bin/env bash
# Installs Debian's Chromium for the browser test (Playwright drives
# /usr/bin/chromium; it cannot download its own browser here). Does nothing
# when it is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
SUDO=$([ "$(id -u)" -eq 0 ] && echo "" || echo "sudo")
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium > /dev/null

#!/usr/bin/env bash
# Install Debian's chromium for the report's browser test (tests/test_report_browser.py).
# Idempotent: does nothing when /usr/bin/chromium is there. Installs only as root (CI runs as
# root); otherwise it says so and exits 0, and the browser test is skipped, saying why.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "tests/browser/install.sh: not root, chromium not installed; the report's browser test will be" \
         "skipped (as root: bash tests/browser/install.sh, or apt-get update && apt-get install -y chromium)"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends: the browser and its libraries, no desktop extras.
apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"

#!/usr/bin/env bash
# Debian's chromium, headless, as the report's browser test runs it (tests/test_report_browser.py):
#   tests/browser/chromium.sh WIDTH ARGS... URL
# e.g. the README's screenshot of a finished study's report:
#   tests/browser/chromium.sh 1400 --screenshot=docs/figures/report.png "file://$PWD/results/report.html"
# --dump-dom prints the page as rendered: the report draws its front page with JavaScript, given
# five seconds of (virtual) time. A throwaway profile; no network, sync, updates or GPU. Chromium
# talks on stderr (D-Bus and the like); the page's output is stdout or the --screenshot file.
set -euo pipefail
width=$1
shift
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --window-size="$width,1000" \
    --virtual-time-budget=5000 "$@"

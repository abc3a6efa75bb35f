#!/usr/bin/env bash
# A finished study's report as a person first sees it, as a PNG (docs/figures/report.png):
#   tests/browser/screenshot.sh results/report.html docs/figures/report.png [WIDTH, default 1400]
# The report styles itself with Tailwind's script, which runs in real time while headless
# chromium's virtual time runs ahead: a timer appended to a copy of the report keeps the page
# going until its menu is styled (`text-sm`), then one second more.
set -euo pipefail
report=$(realpath "$1")
png=$2
width=${3:-1400}
copy=$(mktemp --suffix=.html)
trap 'rm -f "$copy"' EXIT
cat "$report" - >"$copy" <<'JS'
<script>
var runvarStyled = setInterval(function () {
  var menu = document.querySelector("nav.text-sm");
  if (menu && getComputedStyle(menu).fontSize === "14px") {
    clearInterval(runvarStyled);
    setTimeout(function () {}, 1000);
  }
}, 100);
</script>
JS
bash "$(dirname "$0")/chromium.sh" "$width" --virtual-time-budget=600000 --screenshot="$png" "file://$copy" 2>/dev/null

#!/usr/bin/env bash
# Sets up what is missing (see bootstrap.sh) and runs the main job on the bundled default:
# a synthetic demo study -> analysis with the bundled model -> draft report PDF -> the app.
# Output folder: first argument, or ./lss-demo. LSS_DEMO_NO_APP=1 skips the app.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$("$root/installer/bootstrap.sh" | tail -n 1)"
out="$(realpath -m "${1:-lss-demo}")"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
lss="$venv/bin/lss"

"$lss" demo-study "$out" --preview --overwrite
"$lss" study info "$out/study"
"$lss" analyze "$out/study" --out "$out/analysis" --pdf
echo "report (draft, not signed): $out/analysis/report.pdf"

if [[ "${LSS_DEMO_NO_APP:-0}" == 1 ]]; then
  exit 0
elif [[ -n "${DISPLAY:-}" ]]; then
  exec "$venv/bin/lss-desktop" "$out/study"
else
  # No display: show what the app would, as a screenshot of the analysed study.
  xvfb-run -a -s "-screen 0 1600x1000x24" \
    "$venv/bin/lss-desktop" "$out/study" --analyze --screenshot "$out/app-screenshot.png"
  echo "no display: app screenshot in $out/app-screenshot.png"
fi

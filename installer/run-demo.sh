#!/usr/bin/env bash
# Sets up what is missing (see bootstrap.sh) and runs the main job on the bundled default:
# generate the demo study and print its summary.
# Output folder: first argument, or ./lss-demo.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$("$root/installer/bootstrap.sh" | tail -n 1)"
out="$(realpath -m "${1:-lss-demo}")"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
"$venv/bin/lss" demo-study "$out" --preview --overwrite
"$venv/bin/lss" study info "$out/study"

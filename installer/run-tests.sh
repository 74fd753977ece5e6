#!/usr/bin/env bash
# Sets up what is missing (see bootstrap.sh) and runs the whole test suite under a virtual
# display. Extra arguments go to pytest, e.g. `installer/run-tests.sh tests/test_study_loading.py`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$("$root/installer/bootstrap.sh" | tail -n 1)"
cd "$root"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
export PATH="$venv/bin:$PATH"
# Xvfb for the Qt/VTK tests (QT_QPA_PLATFORM=offscreen does not work for VTK widgets).
exec xvfb-run -a -s "-screen 0 1280x1024x24" "$venv/bin/python" -m pytest -p no:xvfb "$@"

#!/usr/bin/env bash
# Sets up everything LSS Desktop needs on a fresh Debian/x86_64 machine, idempotently:
#   1. Debian packages (virtual display, Qt's xcb libraries, poppler, DICOM tools, Orthanc);
#   2. a Python 3.11 virtual environment OUTSIDE the source tree, keyed on a hash of the
#      dependency lists, built once and reused while they are unchanged;
#   3. this source tree installed into it (editable, no dependencies: a few seconds).
# Prints the venv's path on the last line of stdout. Everything else goes to stderr.
# Environment: LSS_VENV (use this venv path), LSS_RUNTIME=cpu|gpu (ONNX Runtime flavour),
#              LSS_SKIP_APT=1 (do not touch Debian packages).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
log() { echo "[bootstrap] $*" >&2; }

apt_packages=(
  xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-render-util0
  libxcb-xinerama0 libxkbcommon-x11-0 libegl1 libgl1 libgl1-mesa-dri libosmesa6
  poppler-utils fonts-dejavu-core dcmtk dicom3tools orthanc default-jre-headless
)
if [[ "${LSS_SKIP_APT:-0}" != 1 ]]; then
  missing=()
  for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    sudo_cmd=(); [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq >&2
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    # The Debian orthanc package may start a system service; tests run their own instance.
    if command -v service >/dev/null && [[ " ${missing[*]} " == *" orthanc "* ]]; then
      "${sudo_cmd[@]}" service orthanc stop >/dev/null 2>&1 || true
    fi
  fi
fi

runtime="${LSS_RUNTIME:-cpu}"
case "$runtime" in cpu|gpu) ;; *) log "LSS_RUNTIME must be cpu or gpu, not '$runtime'"; exit 2;; esac

python_bin="${LSS_PYTHON:-}"
if [[ -z "$python_bin" ]]; then
  for candidate in python3.11 "$HOME/.pyenv/versions/3.11.7/bin/python3" python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python_bin="$(command -v "$candidate")"; break; fi
  done
fi
"$python_bin" -c 'import sys; assert sys.version_info >= (3, 11), sys.version' \
  || { log "Python >= 3.11 is required ($python_bin)"; exit 2; }

dep_files=("$here"/requirements/{reading,runtime-"$runtime",training,dev}.txt)
[[ -f "$here/requirements/lock.txt" ]] && dep_files+=("$here/requirements/lock.txt")
deps_hash="$({ cat "${dep_files[@]}"; "$python_bin" -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-16)"
venv="${LSS_VENV:-$HOME/.cache/lss-desktop/venv-$runtime-$deps_hash}"

if [[ ! -f "$venv/.complete" ]]; then
  # A venv without the marker is a build that was interrupted: start it again.
  log "building the virtual environment in $venv (first time only: a few minutes, ~7 GB)"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$python_bin" -m venv "$venv"
  pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check)
  constraints=()
  [[ -f "$here/requirements/lock.txt" ]] && constraints=(-c "$here/requirements/lock.txt")
  "${pip[@]}" --upgrade "pip>=24" setuptools wheel >&2
  # torch first: the pinned CUDA build is the one that works with torchvision here.
  "${pip[@]}" "${constraints[@]}" torch==2.14.1 torchvision==0.29.1 >&2
  "${pip[@]}" "${constraints[@]}" \
    -r "$here/requirements/reading.txt" -r "$here/requirements/runtime-$runtime.txt" \
    -r "$here/requirements/training.txt" -r "$here/requirements/dev.txt" >&2
  touch "$venv/.complete"
fi

# Install this source tree (editable, without dependencies) so `lss` and `lss-desktop` exist,
# unless the environment already holds this very tree with this very pyproject.toml (entry points).
install_stamp="$root $(sha256sum "$root/pyproject.toml" | cut -c1-16)"
installed_root="$(cd / && "$venv/bin/python" -c 'import engine, pathlib; print(pathlib.Path(engine.__file__).resolve().parents[1])' 2>/dev/null || true)"
if [[ "$installed_root" != "$root" || ! -x "$venv/bin/lss" || "$(cat "$venv/.lss-install-stamp" 2>/dev/null)" != "$install_stamp" ]]; then
  pip_log="$(mktemp)"
  if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e "$root" >"$pip_log" 2>&1; then
    cat "$pip_log" >&2; rm -f "$pip_log"; log "installing $root into $venv failed"; exit 1
  fi
  rm -f "$pip_log"
  echo "$install_stamp" >"$venv/.lss-install-stamp"
fi
echo "$venv"

#!/usr/bin/env bash
# Installs the Python peers that bench/peers.py runs floe against (NumPy,
# numexpr, dask.array, h5py, hdf5plugin, psutil) into a virtual environment at
# .venv, and only what is missing.  Idempotent: with everything present it
# touches nothing and needs no network.  PyPI only (through pip); Debian's
# python3-venv through apt-get when no Python here can make a venv.
# Prints the venv's python on stdout's last line when run with --print-python.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${FLOE_BENCH_VENV:-$root/.venv}"
# pip package name and the module that proves it is installed.
packages=("numpy:numpy" "numexpr:numexpr" "dask[array]:dask.array" "h5py:h5py"
  "hdf5plugin:hdf5plugin" "psutil:psutil")

log() { echo "install-bench-deps: $*" >&2; }

can_venv() { "$1" -c 'import venv, ensurepip' >/dev/null 2>&1; }

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
  py=""
  # The python3 first on PATH (a pyenv build here) or Debian's own.
  for cand in "$(command -v python3 || true)" /usr/bin/python3; do
    if [ -n "$cand" ] && [ -x "$cand" ] && can_venv "$cand"; then
      py="$cand"
      break
    fi
  done
  if [ -z "$py" ]; then
    log "no python3 with venv+ensurepip; installing Debian's python3-venv"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
      sudo="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    py=/usr/bin/python3
    can_venv "$py" || { log "python3-venv installed but $py still cannot make a venv"; exit 1; }
  fi
  log "creating $venv with $py ($("$py" --version 2>&1))"
  rm -rf "$venv"
  "$py" -m venv "$venv"
fi

vpy="$venv/bin/python"
missing=()
for entry in "${packages[@]}"; do
  pkg="${entry%%:*}"
  mod="${entry#*:}"
  if ! "$vpy" -c "import $mod" >/dev/null 2>&1; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  "$vpy" -m pip install --quiet --disable-pip-version-check "${missing[@]}" >&2
fi

if [ "${1:-}" = "--print-python" ]; then
  echo "$vpy"
fi

#!/usr/bin/env bash
# Installs what floe needs to build and test, and only what is missing.
# Idempotent: with everything present it touches nothing and needs no network.
# Debian's packages only; runs apt-get update first when something must be installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libopenblas-dev libhdf5-dev hdf5-tools libzstd-dev zlib1g-dev libsleef-dev libcriterion-dev
  python3-numpy python3-h5py
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

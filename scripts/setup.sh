#!/usr/bin/env bash
# Installs what distclip needs from Debian's packages, and the packages
# given as arguments (scripts/fuzz.sh adds clang's). Idempotent: packages
# already installed are not touched, and with nothing missing it does not
# even refresh the package lists.
set -euo pipefail

packages=(
  cmake ninja-build g++ git
  libeigen3-dev libboost-dev libtbb-dev
  libgtest-dev libbenchmark-dev
  libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libfmt-dev
  libssl-dev  # SHA-256 of final iterates (libcrypto)
  libopenmpi-dev openmpi-bin  # the MPI backend (DISTCLIP_WITH_MPI)
  libmuparser-dev  # linked sweep parameters: I = ceil(1 / (2 N eps))
  gnuplot-nox  # distclip plot
  libopenblas-pthread-dev  # the LSTM objective's matrix products (objectives/src/blas.hpp)
  "$@"
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"

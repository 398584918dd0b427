#!/usr/bin/env bash
# README command 2: installs what is missing, builds everything in Release
# and runs the whole test suite. Extra arguments go to ctest (e.g. -R Runner).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${DISTCLIP_BUILD_DIR:-$root/build}

"$root/scripts/build.sh"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"

#!/usr/bin/env bash
# Configures and builds distclip in Release into build/ (or $DISTCLIP_BUILD_DIR).
# Extra arguments go to `cmake --build`, e.g. `--target distclip_program`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${DISTCLIP_BUILD_DIR:-$root/build}

"$root/scripts/setup.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DDISTCLIP_BUILD_TESTS=ON -DDISTCLIP_BUILD_BENCH=ON -DDISTCLIP_BUILD_APPS=ON >/dev/null
cmake --build "$build" -j"$(nproc)" "$@"

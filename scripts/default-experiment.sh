#!/usr/bin/env bash
# README command 1: installs what is missing, builds the distclip program in
# Release and runs the default experiment, the effect of skipping
# communication (configs/skip-communication.toml), into
# runs/skip-communication (replaced on each call).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${DISTCLIP_BUILD_DIR:-$root/build}

"$root/scripts/build.sh" --target distclip_program
cd "$root"
"$build/apps/distclip" sweep configs/skip-communication.toml \
  --out runs/skip-communication --overwrite "$@"

#!/usr/bin/env bash
# README command 1: installs what is missing, builds the distclip program in
# Release, and runs the default experiment, the paper's "effect of skipping
# communication" on a synthetic objective (configs/paper-synthetic.toml),
# into runs/paper-synthetic (rerun from scratch on each call): the sweep,
# its analysis, and its figures. Ends with the table and the figure paths.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${DISTCLIP_BUILD_DIR:-$root/build}

"$root/scripts/build.sh" --target distclip_program
cd "$root"
"$build/apps/distclip" sweep configs/paper-synthetic.toml --out runs/paper-synthetic --force "$@"
echo
echo "figures:"
"$build/apps/distclip" plot runs/paper-synthetic

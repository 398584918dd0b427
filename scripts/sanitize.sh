#!/usr/bin/env bash
# Builds the tests and the program under a sanitizer and runs the whole test
# suite: `asan` (AddressSanitizer + UndefinedBehaviorSanitizer, build-asan/)
# or `tsan` (ThreadSanitizer, build-tsan/). The flags and the sanitizers'
# options are the presets of CMakePresets.json; docs/reliability.md says what
# tests/sanitizers/*.supp hide and why. Extra arguments go to ctest.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kind=${1:-}
case $kind in
  asan | tsan) shift ;;
  *)
    echo "usage: scripts/sanitize.sh asan|tsan [ctest arguments...]" >&2
    exit 2
    ;;
esac

exclude=()
if [[ $kind == tsan ]]; then
  # 27 s in Release, past its 300 s limit under ThreadSanitizer on 2 cores:
  # 48 program runs, 33 of them under mpiexec, each 5-15 times slower. The same
  # code runs under ThreadSanitizer in the other MpiProgram tests, and this
  # one under AddressSanitizer.
  exclude=(-E '^MpiProgram\.EveryAlgorithmIsBitwiseTheThreadedRunOnAnyRankCount$')
fi

"$root/scripts/setup.sh"
cd "$root"
if [[ $kind == tsan ]]; then
  "$root/scripts/tsan-tbb.sh" "$root/build-tsan/onetbb"
fi
cmake --preset "$kind" >/dev/null
cmake --build --preset "$kind" -j"$(nproc)"
ctest --preset "$kind" -j"$(nproc)" "${exclude[@]}" "$@"

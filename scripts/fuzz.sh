#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang into build-fuzz/ (or
# $DISTCLIP_FUZZ_BUILD_DIR) and runs each on a copy of its seed corpus for
# its share of SECONDS (default 60, all targets together). Exits non-zero on
# any finding: a crash, a sanitizer report, a broken ConfigError contract,
# a timeout (> 5 s an input) or more than 2 GiB of memory; the input is saved
# under build-fuzz/findings/<target>/. The committed corpus never changes;
# new inputs go to build-fuzz/corpus/<target>/.
#
#   scripts/fuzz.sh [SECONDS]
#
# Set DISTCLIP_FUZZ_JOBS=2 to run two targets at a time,
# DISTCLIP_FUZZ_KEEP_CORPUS=1 to go on from the corpus of an earlier run, and
# DISTCLIP_FUZZ_FLAGS for more libFuzzer flags (a long run: "-fork=1
# -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1" goes on past findings).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${DISTCLIP_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${1:-60}
targets=(run_toml sweep_toml cli)

# clang, libFuzzer and the sanitizers' run-time libraries, beside the rest.
"$root/scripts/setup.sh" clang-14 libclang-rt-14-dev

# -O1 with assertions on (no NDEBUG): what libFuzzer's documentation uses.
cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DDISTCLIP_BUILD_FUZZ=ON -DDISTCLIP_BUILD_APPS=ON \
  -DDISTCLIP_BUILD_TESTS=OFF -DDISTCLIP_BUILD_BENCH=OFF -DDISTCLIP_WITH_MPI=OFF >/dev/null
jobs=${DISTCLIP_FUZZ_BUILD_JOBS:-2}
cmake --build "$build" -j"$jobs" --target "${targets[@]/#/fuzz_}"

# Each target gets an equal share of the time, at least 1 s.
share=$((seconds / ${#targets[@]}))
((share >= 1)) || share=1
# Leaks are not findings here: the process ends after each run, and
# oneTBB's and CLI11's static state looks like leaks to LeakSanitizer.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# A sweep on MPI is refused; the fuzzer must not look launched by mpirun.
unset OMPI_COMM_WORLD_SIZE PMI_SIZE PMIX_RANK 2>/dev/null || true

run_target() {
  local target=$1
  local corpus="$build/corpus/$target"
  local findings="$build/findings/$target"
  local started="$build/fuzz-$target.started"
  if [[ ${DISTCLIP_FUZZ_KEEP_CORPUS:-0} != 1 ]]; then rm -rf "$corpus"; fi
  mkdir -p "$corpus" "$findings"
  cp -n "$root/fuzz/corpus/$target/"* "$corpus/"
  touch "$started"
  # The fuzzer's working folder is a scratch one: nothing a target does
  # writes files, but crash inputs land in -artifact_prefix regardless.
  local status=0
  (cd "$findings" &&
    "$build/fuzz/fuzz_$target" "$corpus" \
      -dict="$root/fuzz/distclip.dict" \
      -max_len=4096 -timeout=5 -rss_limit_mb=2048 -malloc_limit_mb=2048 -detect_leaks=0 \
      -max_total_time="$share" -print_final_stats=1 \
      -artifact_prefix="$findings/" ${DISTCLIP_FUZZ_FLAGS:-} >"$build/fuzz-$target.log" 2>&1) ||
    status=1
  # Fork mode with -ignore_crashes exits 0 after findings: an input saved
  # by this run is a finding whatever the exit status.
  if [[ -n $(find "$findings" -type f -newer "$started" -print -quit) ]]; then status=1; fi
  return "$status"
}

status=0
pids=()
names=()
parallel=${DISTCLIP_FUZZ_JOBS:-1}
for target in "${targets[@]}"; do
  run_target "$target" &
  pids+=($!)
  names+=("$target")
  if ((${#pids[@]} >= parallel)); then
    for k in "${!pids[@]}"; do
      if ! wait "${pids[$k]}"; then status=1; echo "fuzz: fuzz_${names[$k]}: FINDING (see $build/fuzz-${names[$k]}.log)"; fi
    done
    pids=()
    names=()
  fi
done
for k in "${!pids[@]}"; do
  if ! wait "${pids[$k]}"; then status=1; echo "fuzz: fuzz_${names[$k]}: FINDING (see $build/fuzz-${names[$k]}.log)"; fi
done

for target in "${targets[@]}"; do
  log="$build/fuzz-$target.log"
  stats=$(grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" |
    sed 's/^stat:://' | tr -s ' \n' ' ' || true)
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  echo "fuzz: fuzz_$target: ${last:-no progress line} | ${stats}"
  echo "fuzz: fuzz_$target: corpus $(find "$build/corpus/$target" -type f | wc -l) inputs," \
    "$(find "$build/findings/$target" -type f -newer "$build/fuzz-$target.started" | wc -l) findings"
done
exit "$status"

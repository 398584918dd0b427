#!/usr/bin/env bash
# The same CELGC run on the two backends, timed against each other:
#   (a) threads: 1 process, 2 threads
#   (b) mpi:     mpirun -np 2, 1 thread per rank (ordered reduction)
# N = 8, d = 1e5, I = 8, Gaussian noise, evaluated only at the end. The runs
# alternate a, b, a, b, ... so that a noisy machine slows both alike; one
# untimed pair runs first. Prints the median and range of time.wall_s,
# time.compute_s and time.communication_measured_s of each backend, the
# ratio of medians b / a (target: wall within 1.2x), and whether every
# run's final_iterate_sha256 is the same: the ordered reduction promises the
# same bits as threads. Exits 1 if they differ.
#
# Usage: bench/compare_backends.sh [BUILD_DIR [REPETITIONS]]
#   BUILD_DIR    the build folder holding apps/distclip; default: build
#   REPETITIONS  timed runs of each backend; default: 7
# Environment: STEPS (default 400), DIM (default 100000), MPIRUN (default
# mpirun).
set -euo pipefail

build_dir=${1:-build}
repetitions=${2:-7}
steps=${STEPS:-400}
dim=${DIM:-100000}
mpirun=${MPIRUN:-mpirun}

program="$build_dir/apps/distclip"
if [[ ! -x $program ]]; then
  echo "compare_backends: $program not found; build the target distclip_program first" >&2
  exit 2
fi
if ! [[ $repetitions =~ ^[1-9][0-9]*$ ]]; then
  echo "compare_backends: REPETITIONS = $repetitions, must be an integer >= 1" >&2
  exit 2
fi
command -v python3 > /dev/null || { echo "compare_backends: needs python3" >&2; exit 2; }
command -v "$mpirun" > /dev/null || { echo "compare_backends: $mpirun not found" >&2; exit 2; }

mpirun_flags=(-np 2 --oversubscribe)
if [[ $(id -u) == 0 ]]; then mpirun_flags+=(--allow-run-as-root); fi

run_args=(run --objective double-well --dim "$dim" --noise gaussian --sigma 1
  --workers 8 --sync-interval 8 --steps "$steps" --eval-every "$steps")
threads_cmd=("$program" "${run_args[@]}" --backend threads --threads 2)
mpi_cmd=("$mpirun" "${mpirun_flags[@]}" "$program" "${run_args[@]}" --backend mpi --threads 1)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "(a) ${threads_cmd[*]} --out DIR"
echo "(b) ${mpi_cmd[*]} --out DIR"
echo "$repetitions timed runs each, alternating, after one untimed pair"

# run LABEL INDEX: one run of backend LABEL into $work/LABEL-INDEX.
run() {
  local out="$work/$1-$2"
  if [[ $1 == a ]]; then
    "${threads_cmd[@]}" --out "$out" > "$out.log" 2>&1
  else
    "${mpi_cmd[@]}" --out "$out" > "$out.log" 2>&1
  fi || { echo "compare_backends: run $1-$2 failed:" >&2; cat "$out.log" >&2; exit 2; }
}

run a warmup
run b warmup
for ((i = 1; i <= repetitions; ++i)); do
  run a "$i"
  run b "$i"
done

python3 - "$work" "$repetitions" <<'EOF'
import json
import statistics
import sys
from pathlib import Path

work, repetitions = Path(sys.argv[1]), int(sys.argv[2])
fields = ["wall_s", "compute_s", "communication_measured_s"]
names = {"a": "threads 1x2", "b": "mpi 2x1"}
summaries = {
    label: [json.loads((work / f"{label}-{i}" / "summary.json").read_text())
            for i in range(1, repetitions + 1)]
    for label in "ab"
}

print()
for label in "ab":
    execution = summaries[label][0]["execution"]
    print(f"({label}) {names[label]}: backend {execution['backend']}, communicator "
          f"{execution['communicator']}, {execution['ranks']} rank(s) x "
          f"{execution['threads_per_rank']} thread(s)")
print()
print(f"{'time (s)':<26}{'backend':<14}{'median':>10}{'min':>10}{'max':>10}")
medians = {}
for field in fields:
    for label in "ab":
        values = [s["time"][field] for s in summaries[label]]
        medians[label, field] = statistics.median(values)
        print(f"{field:<26}{names[label]:<14}{medians[label, field]:>10.4f}"
              f"{min(values):>10.4f}{max(values):>10.4f}")
print()
for field in fields:
    a, b = medians["a", field], medians["b", field]
    ratio = f"{b / a:.3f}" if a > 0 else "n/a"
    print(f"ratio of medians b/a, {field:<26} {ratio}")
wall_ratio = medians["b", "wall_s"] / medians["a", "wall_s"]
print(f"wall-time target b/a <= 1.2: {'met' if wall_ratio <= 1.2 else 'NOT met'}"
      f" ({wall_ratio:.3f})")

print()
hashes = {label: {s["final_iterate_sha256"] for s in summaries[label]} for label in "ab"}
for label in "ab":
    print(f"final_iterate_sha256 ({label}): {', '.join(sorted(hashes[label]))}")
if len(hashes["a"] | hashes["b"]) == 1:
    print("final iterates: bitwise identical across backends and repetitions")
else:
    print("final iterates: DIFFER (the ordered reduction must give the same bits as threads)")
    sys.exit(1)
EOF

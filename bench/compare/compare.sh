#!/usr/bin/env bash
# distclip's CELGC step against the same step in PyTorch and NumPy on this
# machine, in ns per coordinate-update (N d per step), one thread, side by
# side: for each d it runs ours (BUILD_DIR/bench/bm_step, BM_CelgcStep at
# that d on 1 thread) and then each reference (bench/compare/celgc_step.py,
# torch and numpy, f64 and f32), so that all see the same machine state.
# Prints each side's median and range over the repetitions, and the ratio
# of medians reference / ours (how many times faster distclip is).
#
# Usage: bench/compare/compare.sh [BUILD_DIR [REPETITIONS]]
#   BUILD_DIR    the build folder holding bench/bm_step; default: build
#   REPETITIONS  repetitions of about one second per side and case; default: 5
# Environment: PYTHON (default /usr/bin/python3, Debian's python3-torch and
# python3-numpy), DIMS (default "100 10000 100000 1000000"), IMPLS (default
# "torch numpy").
# Exits 2 when bm_step is missing, a library cannot be imported or a run
# fails. Timings are only as good as the machine is quiet.
set -euo pipefail

build_dir=${1:-build}
repetitions=${2:-5}
python=${PYTHON:-/usr/bin/python3}
dims=${DIMS:-100 10000 100000 1000000}
impls=${IMPLS:-torch numpy}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

program="$build_dir/bench/bm_step"
if [[ ! -x $program ]]; then
  echo "compare: $program not found; build the target bm_step first" \
    "(cmake --build $build_dir --target bm_step)" >&2
  exit 2
fi
if ! [[ $repetitions =~ ^[1-9][0-9]*$ ]]; then
  echo "compare: REPETITIONS = $repetitions, must be an integer >= 1" >&2
  exit 2
fi
for impl in $impls; do
  if ! "$python" -c "import $impl" > /dev/null 2>&1; then
    echo "compare: $python cannot import $impl (Debian: apt-get install -y python3-$impl)" >&2
    exit 2
  fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for d in $dims; do
  echo "d = $d: ours, then $impls (f64, f32), $repetitions repetitions each"
  "$program" --benchmark_filter="^BM_CelgcStep/d:$d/threads:1/" \
    --benchmark_repetitions="$repetitions" --benchmark_min_time=1 \
    --benchmark_format=json > "$work/ours-$d.json" 2> "$work/ours-$d.log" \
    || { echo "compare: $program at d = $d failed:" >&2; cat "$work/ours-$d.log" >&2; exit 2; }
  for impl in $impls; do
    for dtype in f64 f32; do
      "$python" "$here/celgc_step.py" --impl "$impl" --dtype "$dtype" --dims "$d" \
        --repetitions "$repetitions" > "$work/$impl-$dtype-$d.json" 2> "$work/$impl-$dtype-$d.log" \
        || { echo "compare: $impl $dtype at d = $d failed:" >&2
             cat "$work/$impl-$dtype-$d.log" >&2; exit 2; }
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$python" - "$work" "$dims" "$impls" <<'EOF'
import json
import statistics
import sys
from pathlib import Path

work, dims, impls = Path(sys.argv[1]), sys.argv[2].split(), sys.argv[3].split()

def ours(d):
    runs = json.loads((work / f"ours-{d}.json").read_text())["benchmarks"]
    return [1e9 / r["items_per_second"] for r in runs if r.get("run_type") == "iteration"]

def theirs(impl, dtype, d):
    return json.loads((work / f"{impl}-{dtype}-{d}.json").read_text())["ns_per_coordinate_update"]

def cell(values):
    return f"{statistics.median(values):.2f} [{min(values):.2f}, {max(values):.2f}]"

print()
print("ns per coordinate-update, median [min, max]; ratio = reference median / ours")
header = ["d", "distclip f64"]
for impl in impls:
    header += [f"{impl} f64", "ratio", f"{impl} f32", "ratio"]
print(" | ".join(header))
for d in dims:
    mine = ours(d)
    row = [d, cell(mine)]
    for impl in impls:
        for dtype in ("f64", "f32"):
            other = theirs(impl, dtype, d)
            row += [cell(other), f"{statistics.median(other) / statistics.median(mine):.2f}"]
    print(" | ".join(str(x) for x in row))
EOF

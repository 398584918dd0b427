#!/usr/bin/env python3
"""The measurements docs/theory.md quotes beside the stationarity test:
how many multiples of Theorem 1's t_scale the ergodic average needs to reach
4 eps with the theorem's parameters (four certified families, d = 2, ball
noise sigma = 0.5, N in {1, 8}, eps in {0.1, 0.05}); the ergodic average
after T = t_scale steps (t-constant 1) on the double well at eps = 0.1,
N = 4; and cosh-well's tightness ratio at eps in {0.2, 0.1, 0.05} (d = 1,
N = 4). About 2 minutes on one core.

Usage: scripts/theory-measurements.py [DISTCLIP]   (default build/apps/distclip)
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

PROGRAM = sys.argv[1] if len(sys.argv) > 1 else "build/apps/distclip"
COMMON = ["--noise", "ball", "--sigma", "0.5", "--theory-params", "1", "--threads", "1",
          "--trace-every", "100", "--overwrite"]


def run(folder, *args):
    subprocess.run([PROGRAM, "run", *COMMON, *args, "--out", str(folder)], check=True,
                   capture_output=True)
    return json.loads((folder / "summary.json").read_text())


def first_step_at_most(folder, level):
    """The first traced step whose ergodic average is <= level (to 100 steps)."""
    with open(folder / "trace.jsonl") as trace:
        for line in trace:
            record = json.loads(line)
            ergodic = record["ergodic_grad_norm"]
            if ergodic is not None and ergodic <= level:
                return record["step"]
    raise RuntimeError(f"{folder}: the ergodic average never reached {level}")


with tempfile.TemporaryDirectory() as scratch:
    out = Path(scratch) / "run"
    for eps in (0.1, 0.05):
        ratios = []
        for family in ("double-well", "quartic", "cosh-well", "rippled-quadratic"):
            for workers in (1, 8):
                summary = run(out, "--objective", family, "--dim", "2", "--target", str(eps),
                              "--workers", str(workers), "--steps", "100000000")
                ratios.append(first_step_at_most(out, 4 * eps) / summary["theory"]["t_scale"])
        print(f"eps = {eps}: reaching 4 eps takes {min(ratios):.2f} to {max(ratios):.2f} t_scale")
    summary = run(out, "--objective", "double-well", "--dim", "2", "--target", "0.1",
                  "--workers", "4")
    print(f"t-constant 1, double-well d = 2, N = 4, eps = 0.1: ergodic "
          f"{summary['final']['ergodic_grad_norm']:.3f} after T = {summary['counts']['steps']}")
    for eps in (0.2, 0.1, 0.05):
        summary = run(out, "--objective", "cosh-well", "--dim", "1", "--target", str(eps),
                      "--workers", "4", "--steps", "100000000")
        print(f"cosh-well d = 1, N = 4, eps = {eps}: tightness ratio "
              f"{summary['theory']['tightness_ratio']:.3f}")

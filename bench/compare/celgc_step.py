#!/usr/bin/env python3
"""The CELGC step of bench/bm_step.cpp (BM_CelgcStep), in PyTorch or NumPy.

Same problem: N = 8 workers, I = 8, f(x) = (1/d) sum_j (x_j^4/4 - x_j^2/2)
(the double well scaled by 1/d), Gaussian noise N(0, (sigma^2/d) I) with
sigma = 1, eta = 0.05, gamma = 0.5, local clipping, from x0 = 2; one timed
unit is a round of I steps with its model average, no evaluation. Written
the way a careful user would: the N workers as the rows of one (N, d)
array, every operation in place on preallocated buffers, noise drawn into a
buffer, one thread.

Prints one JSON object per dimension: implementation, dtype, d, and the
ns per coordinate-update (N d per step) of every repetition.

Usage: celgc_step.py --impl torch|numpy --dtype f64|f32 [--dims 100,10000]
                     [--repetitions 5] [--seconds 1.0]
"""

import argparse
import json
import os
import sys
import time

# One thread, set before the libraries start their pools.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

WORKERS = 8
INTERVAL = 8
STEP_SIZE = 0.05
CLIP_THRESHOLD = 0.5
SIGMA = 1.0


def torch_round(d, dtype_name):
    import torch

    torch.set_num_threads(1)
    dtype = torch.float64 if dtype_name == "f64" else torch.float32
    generator = torch.Generator().manual_seed(1)
    x = torch.full((WORKERS, d), 2.0, dtype=dtype)
    g = torch.empty_like(x)
    noise = torch.empty_like(x)
    cube = torch.empty_like(x)
    norms = torch.empty(WORKERS, 1, dtype=dtype)
    coefficient = torch.empty(WORKERS, 1, dtype=dtype)
    mean = torch.empty(1, d, dtype=dtype)
    noise_std = SIGMA / d ** 0.5

    def one_round():
        for _ in range(INTERVAL):
            # g = (x^3 - x) / d + noise
            torch.mul(x, x, out=cube)
            cube.mul_(x)
            torch.sub(cube, x, out=g)
            g.div_(d)
            noise.normal_(0.0, noise_std, generator=generator)
            g.add_(noise)
            # x -= min(eta, gamma / ||g_i||) g_i, row by row
            torch.linalg.vector_norm(g, dim=1, keepdim=True, out=norms)
            torch.div(CLIP_THRESHOLD, norms, out=coefficient)
            coefficient.clamp_(max=STEP_SIZE)
            g.mul_(coefficient)
            x.sub_(g)
        torch.mean(x, dim=0, keepdim=True, out=mean)
        x.copy_(mean.expand_as(x))

    return one_round


def numpy_round(d, dtype_name):
    import numpy as np

    dtype = np.float64 if dtype_name == "f64" else np.float32
    rng = np.random.default_rng(1)
    x = np.full((WORKERS, d), 2.0, dtype=dtype)
    g = np.empty_like(x)
    noise = np.empty_like(x)
    cube = np.empty_like(x)
    coefficient = np.empty((WORKERS, 1), dtype=dtype)
    noise_std = dtype(SIGMA / d ** 0.5)

    def one_round():
        for _ in range(INTERVAL):
            np.multiply(x, x, out=cube)
            np.multiply(cube, x, out=cube)
            np.subtract(cube, x, out=g)
            np.divide(g, dtype(d), out=g)
            rng.standard_normal(out=noise, dtype=dtype)
            np.multiply(noise, noise_std, out=noise)
            np.add(g, noise, out=g)
            norms = np.linalg.norm(g, axis=1, keepdims=True)
            np.divide(dtype(CLIP_THRESHOLD), norms, out=coefficient)
            np.minimum(coefficient, dtype(STEP_SIZE), out=coefficient)
            np.multiply(g, coefficient, out=g)
            np.subtract(x, g, out=x)
        x[:] = x.mean(axis=0, keepdims=True)

    return one_round


def measure(one_round, d, repetitions, seconds):
    """ns per coordinate-update of each repetition, after a warm-up round."""
    one_round()
    start = time.perf_counter()
    one_round()
    per_round = max(time.perf_counter() - start, 1e-6)
    rounds = max(1, int(seconds / per_round))
    results = []
    for _ in range(repetitions):
        start = time.perf_counter()
        for _ in range(rounds):
            one_round()
        elapsed = time.perf_counter() - start
        results.append(elapsed * 1e9 / (rounds * INTERVAL * WORKERS * d))
    return results


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=["torch", "numpy"], required=True)
    parser.add_argument("--dtype", choices=["f64", "f32"], default="f64")
    parser.add_argument("--dims", default="100,10000,100000,1000000")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0,
                        help="approximate length of one repetition")
    args = parser.parse_args(argv)
    if args.repetitions < 1:
        parser.error(f"--repetitions = {args.repetitions}, must be >= 1")
    make = torch_round if args.impl == "torch" else numpy_round
    for d in (int(text) for text in args.dims.split(",")):
        if d < 1:
            parser.error(f"--dims: d = {d}, must be >= 1")
        ns = measure(make(d, args.dtype), d, args.repetitions, args.seconds)
        print(json.dumps({"impl": args.impl, "dtype": args.dtype, "d": d,
                          "ns_per_coordinate_update": ns}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

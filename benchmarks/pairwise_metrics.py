"""Pairwise metrics: chunked (runvar.stats.pairwise) vs a per-pair scipy loop, measured in the
same run; and the peak memory of the chunked code on a stack too large for memory.

Small case (default): R = 100 runs of 10,000 x 10 logits (4,950 pairs). The loop computes, per
pair, Spearman with scipy.stats.spearmanr, the disagreement, and the two-model ensemble's
accuracy and cross-entropy (scipy log_softmax); it is timed on a random sample of pairs and
scaled to all pairs (it takes minutes in full; --full-loop times every pair). Prints both times
(wall clock, and CPU time of this process, steadier on a shared machine), the ratios and the
largest relative difference between the two on the sampled pairs.

Large case (--large): a synthetic R = 100 x 50,000 x 1,000 float32 stack (20 GB) written to
one .npy file under a temporary directory (--tmp; the ranks spill there too, another 20 GB),
then the metrics computed in a child process whose wall and CPU time and peak resident memory
(ru_maxrss) are printed. Memory does not depend on R (chunks hold a fixed number of logits);
--runs 10 measures the same peak in a few minutes, R = 100 took about 15 minutes of CPU here
(README, Benchmarks), plus writing the 20 GB stack.

    .venv/bin/python benchmarks/pairwise_metrics.py [--runs 100] [--pairs 200] [--repeats 3] [--full-loop]
    .venv/bin/python benchmarks/pairwise_metrics.py --large [--tmp DIR]
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy.special import log_softmax
from scipy.stats import spearmanr

from runvar.stats.pairwise import pairwise_matrices


def pair_loop(logits: np.ndarray, labels: np.ndarray, pairs: list[tuple[int, int]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"spearman": [], "disagreement": [], "ensemble_accuracy": [],
                                   "ensemble_cross_entropy": []}
    rows = np.arange(len(labels))
    for i, j in pairs:
        ensemble = (logits[i].astype(np.float64) + logits[j]) / 2
        out["spearman"].append(spearmanr(logits[i].ravel(), logits[j].ravel()).statistic)
        out["disagreement"].append(np.mean(logits[i].argmax(1) != logits[j].argmax(1)))
        out["ensemble_accuracy"].append(np.mean(ensemble.argmax(1) == labels))
        out["ensemble_cross_entropy"].append(-np.mean(log_softmax(ensemble, axis=1)[rows, labels]))
    return out


def synthetic(runs: int, examples: int, classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, examples)
    base = rng.standard_normal((examples, classes), dtype=np.float32)
    return base, labels


def small(args: argparse.Namespace) -> None:
    base, labels = synthetic(args.runs, args.examples, args.classes)
    rng = np.random.default_rng(1)
    logits = (base[None] + 0.5 * rng.standard_normal((args.runs, *base.shape), dtype=np.float32))

    start, cpu = time.perf_counter(), time.process_time()
    result = pairwise_matrices(logits, labels)
    chunked, chunked_cpu = time.perf_counter() - start, time.process_time() - cpu
    warm = []  # the same call again in this process: without first-use costs (allocation, op set-up)
    for _ in range(args.repeats):
        start = time.perf_counter()
        pairwise_matrices(logits, labels)
        warm.append(time.perf_counter() - start)

    all_pairs = list(itertools.combinations(range(args.runs), 2))
    if args.full_loop:
        sample = all_pairs
    else:
        chosen = rng.choice(len(all_pairs), size=min(args.pairs, len(all_pairs)), replace=False)
        sample = [all_pairs[k] for k in sorted(chosen)]
    start, cpu = time.perf_counter(), time.process_time()
    reference = pair_loop(logits, labels, sample)
    scale = len(all_pairs) / len(sample)
    loop, loop_cpu = (time.perf_counter() - start) * scale, (time.process_time() - cpu) * scale

    i, j = np.array(sample).T
    worst = max(float(np.max(np.abs(getattr(result, name)[i, j] - np.array(ref)) / np.abs(ref)))
                for name, ref in reference.items())
    print(f"R={args.runs} runs x {args.examples} x {args.classes} logits, {len(all_pairs)} pairs, "
          f"torch threads {torch.get_num_threads()}")
    scaled = "" if args.full_loop else f" (timed on {len(sample)} pairs, scaled to all)"
    print(f"chunked (runvar.stats.pairwise): {chunked:8.2f} s wall, {chunked_cpu:8.2f} s CPU (first call)")
    if warm:
        print(f"chunked, called again:           {np.median(warm):8.2f} s wall (median of {len(warm)})")
    print(f"per-pair scipy loop:             {loop:8.2f} s wall, {loop_cpu:8.2f} s CPU{scaled}")
    print(f"ratio loop / chunked:            {loop / chunked:8.1f}x wall, {loop_cpu / chunked_cpu:6.1f}x CPU")
    print(f"largest relative difference: {worst:8.1e}")


LARGE_CHILD = """
import sys, resource, time
import numpy as np, torch
torch.set_num_threads(1)
from runvar.stats.pairwise import NpyStack, pairwise_matrices
start, cpu = time.perf_counter(), time.process_time()
result = pairwise_matrices(NpyStack(sys.argv[1]), np.load(sys.argv[2]), workdir=sys.argv[3])
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(f"mean Spearman {np.nanmean(result.spearman):.6f}, mean disagreement {np.nanmean(result.disagreement):.6f}")
print(f"chunked metrics: {seconds:.0f} s wall, {cpu:.0f} s CPU, peak RSS {peak:.2f} GiB")
"""


def large(args: argparse.Namespace) -> None:
    runs, examples, classes = args.runs, args.examples, args.classes
    need = 2 * runs * examples * classes * 4
    tmp = Path(tempfile.mkdtemp(prefix="runvar-bench-", dir=args.tmp))
    try:
        free = shutil.disk_usage(tmp).free
        if free < need + 5 * 2**30:
            sys.exit(f"{tmp}: {free / 2**30:.0f} GiB free, the large case needs {need / 2**30:.0f} GiB + 5 GiB")
        base, labels = synthetic(runs, examples, classes)
        rng = np.random.default_rng(1)
        path = tmp / "logits.npy"
        start = time.perf_counter()
        with open(path, "wb") as fh:  # plain writes: no memory map in this process either
            np.lib.format.write_array_header_1_0(
                fh, {"descr": "<f4", "fortran_order": False, "shape": (runs, examples, classes)})
            for _ in range(runs):
                fh.write((base + 0.5 * rng.standard_normal(base.shape, dtype=np.float32)).tobytes())
        np.save(tmp / "labels.npy", labels)
        print(f"R={runs} runs x {examples} x {classes} float32 logits: {path.stat().st_size / 2**30:.1f} GiB "
              f"written in {time.perf_counter() - start:.0f} s")
        del base
        subprocess.run([sys.executable, "-c", LARGE_CHILD, str(path), str(tmp / "labels.npy"), str(tmp)],
                       check=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="the 100 x 50,000 x 1,000 memory case")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--examples", type=int)
    parser.add_argument("--classes", type=int)
    parser.add_argument("--pairs", type=int, default=200, help="pairs timed in the loop, then scaled")
    parser.add_argument("--full-loop", action="store_true")
    parser.add_argument("--repeats", type=int, default=3, help="further timed calls of the chunked code (small case)")
    parser.add_argument("--tmp", help="directory for the large case's files (default: system temp)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.large:
        args.examples, args.classes = args.examples or 50_000, args.classes or 1_000
        large(args)
    else:
        args.examples, args.classes = args.examples or 10_000, args.classes or 10
        small(args)


if __name__ == "__main__":
    main()

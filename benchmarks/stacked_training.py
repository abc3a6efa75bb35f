"""Runs trained one at a time vs as stacks (``train.stack``) on one CPU thread.

Trains runs 1..``--runs`` of the default config's ``--setup`` (default ``cnn1d``: MNIST-1D
default split, batch 128, crops, dropout, SGD, ``conv: gemm``; any setup that stacks, e.g.
``mlp512``, ``hidden_conv``, ``sel.lenet.k8``) for ``--epochs`` epochs through
:func:`runvar.train.train_runs`, once per stack size, ``--repeats`` times interleaved so a
shared machine's load falls on every size; prints each size's seconds per run-epoch (median of
the repeats), its speed-up over one at a time, and whether its runs are bitwise the runs
trained one at a time (they must be: the stack size is a speed setting only).
``--processes 2`` runs the same measurement in two processes at once, as ``make study`` keeps
both cores of a 2-core machine busy (they then share the caches and the memory bandwidth).

    .venv/bin/python benchmarks/stacked_training.py [--setup cnn1d] [--runs 10] [--epochs 10] [--stacks 1 2 5 10] [--processes 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recipe_sweep import default_setups  # noqa: E402
from runvar.data import load_dataset, prepare_dataset  # noqa: E402
from runvar.seeds import run_seeds  # noqa: E402
from runvar.train import train_runs  # noqa: E402


def measure(args: argparse.Namespace, path: str) -> tuple[dict[int, list[float]], dict[int, bool]]:
    """Seconds per run-epoch of each stack size (one per repeat), and whether each size's
    runs were bitwise the runs trained one at a time."""
    torch.set_num_threads(1)
    setup = dict(default_setups()[args.setup], epochs=args.epochs, evaluate_every=args.epochs)
    seeds = [run_seeds("all", r) for r in range(1, args.runs + 1)]
    data = load_dataset(path)
    seconds: dict[int, list[float]] = {stack: [] for stack in args.stacks}
    logits: dict[int, list[np.ndarray]] = {}
    for _ in range(args.repeats):
        for stack in args.stacks:
            start = time.perf_counter()
            results = list(train_runs(setup, data, seeds, log=lambda line: None, stack=stack))
            seconds[stack].append((time.perf_counter() - start) / (args.runs * args.epochs))
            logits[stack] = [r.logits for r in results]
    return seconds, {stack: all(np.array_equal(a, b) for a, b in zip(logits[1], logits[stack]))
                     for stack in args.stacks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setup", default="cnn1d")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--stacks", type=int, nargs="+", default=[1, 2, 5, 10])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    args.stacks = sorted(set(args.stacks) | {1})
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "mnist1d.npz")
        prepare_dataset("mnist1d", path, num_samples=5000, train_split=0.8, seed=42)
        with Pool(args.processes) as pool:
            measured = pool.starmap(measure, [(args, path)] * args.processes)
    seconds = {stack: [t for times, _ in measured for t in times[stack]] for stack in args.stacks}
    alone = statistics.median(seconds[1])
    print(f"{args.setup}, {args.runs} runs x {args.epochs} epochs, {args.repeats} repeats, "
          f"{args.processes} process(es) at once, 1 thread each; seconds per run-epoch, whole runs timed")
    for stack in args.stacks:
        each = statistics.median(seconds[stack])
        same = all(equal[stack] for _, equal in measured)
        print(f"stack {stack:>2}: {each * 1e3:6.1f} ms  speed-up {alone / each:4.2f}x  "
              f"bitwise the runs trained alone: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()

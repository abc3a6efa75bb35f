"""Before/after of the fused score update (:func:`runvar.models.selection_kernels.backward_and_step`),
in one process: torch's step (the straight-through gradient as a tensor, then
``torch.optim.SGD(fused=True)``) against the fused loop, the other selection kernels on in both.

A shared machine's load drifts across processes; alternating the two versions within one
process cancels the drift (as ``model_code_ab.py``). Per setup, one training step of a stack of
``--stack`` runs on one thread (:func:`step_roofline.family_step`), alternating ``--rounds``
times (3 steps each); prints the medians and the median of the paired fused/torch ratios. With
``--epochs E``, also whole jobs: :func:`runvar.train.train_runs` of ``--stack`` runs for E
epochs (the stack check, evaluation and all), alternating ``--jobs`` times, in seconds per
run-epoch. Both versions give the same bits (``tests/test_selection_sgd.py``).

    .venv/bin/python benchmarks/selection_step_ab.py [--setups sel.lenet.k8 sel.lenet.k16] [--rounds 40] [--epochs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from step_roofline import benchmark_data, family_step  # noqa: E402
from recipe_sweep import default_setups  # noqa: E402
from runvar.models import selection_kernels  # noqa: E402
from runvar.runs import setup_run_seeds  # noqa: E402
from runvar.train import train_runs  # noqa: E402

FUSABLE = selection_kernels._fusable
#: the versions compared: torch's step (nothing fusable) and the fused update
VERSIONS: dict[str, Callable] = {"torch's step": lambda optimizer: set(), "fused": FUSABLE}


def paired(run: Callable[[], None], rounds: int, warmup: int = 2) -> dict[str, list[float]]:
    """Seconds of ``run`` under each version, the versions alternating ``rounds`` times."""
    times: dict[str, list[float]] = {name: [] for name in VERSIONS}
    for rep in range(rounds + warmup):
        for name, fusable in VERSIONS.items():
            selection_kernels._fusable = fusable
            start = time.perf_counter()
            run()
            if rep >= warmup:
                times[name].append(time.perf_counter() - start)
    selection_kernels._fusable = FUSABLE
    return times


def report(label: str, times: dict[str, list[float]], scale: float, unit: str) -> None:
    before, after = times["torch's step"], times["fused"]
    ratio = statistics.median(a / b for a, b in zip(after, before))
    print(f"{label:<28} {statistics.median(before) * scale:12.3f} {statistics.median(after) * scale:10.3f} "
          f"{ratio:10.3f}   {unit}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setups", nargs="+", default=["sel.lenet.k2", "sel.lenet.k4", "sel.lenet.k8", "sel.lenet.k16"])
    parser.add_argument("--stack", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=0, help="also time whole jobs of this many epochs")
    parser.add_argument("--jobs", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = benchmark_data()
    if selection_kernels.sgd_recipe() is None:
        raise SystemExit("the fused update does not apply in this process (kernels off, no compiler, or no recipe)")
    setups = default_setups()
    print(f"one thread, stacks of {args.stack}, versions alternating in one process; recipe {selection_kernels.sgd_recipe()}")
    print(f"{'setup':<28} {'torch step':>12} {'fused':>10} {'fused/torch':>10}   (medians; the ratio paired)")
    for name in args.setups:
        _, step = family_step(setups[name], data, args.stack)
        report(f"{name} step", paired(lambda: [step() for _ in range(3)], args.rounds), 1e3 / 3, "ms per step")
    for name in args.setups if args.epochs else []:
        setup = {**setups[name], "epochs": args.epochs}
        seeds = [setup_run_seeds(setup, "all", r) for r in range(1, args.stack + 1)]
        job = lambda: list(train_runs(setup, data, seeds, log=lambda _: None, stack=args.stack))  # noqa: E731
        report(f"{name} job, {args.epochs} epochs", paired(job, args.jobs, warmup=1), 1 / args.stack / args.epochs,
               "s per run-epoch")


if __name__ == "__main__":
    main()

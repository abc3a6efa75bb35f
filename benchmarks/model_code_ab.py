"""Before/after of a change to the models' forward code, in one process, step by step.

Across processes a shared machine's load swings a step's time by half (``step_roofline.py
--baseline`` shows it); within one process, alternating the two versions every few steps
cancels the drift. This loads the functions named by ``--functions`` from another tree's
files (``--baseline``, a ``src`` folder: ``git archive <commit> src | tar -x -C DIR``), and
times each family's training step (:func:`step_roofline.family_step`, one thread) with the
baseline's functions and with this tree's, alternating ``--rounds`` times (3 steps each); it
prints the medians and the median of the paired after/before ratios. Only the functions named
are swapped: a change elsewhere (the optimizer, the loop) needs ``step_roofline.py --baseline``.

    .venv/bin/python benchmarks/model_code_ab.py --baseline DIR/src [--setups cnn1d:5 hidden_conv:5 ...] [--rounds 60]
"""

from __future__ import annotations

import argparse
import ast
import importlib
import statistics
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from step_roofline import benchmark_data, family_step  # noqa: E402
from recipe_sweep import default_setups  # noqa: E402

#: ``module:qualified name`` of the forward code issue 31's fusions changed
FUNCTIONS = ["runvar.models.stacked:_dropout", "runvar.models.stacked:StackedCNN1d.forward",
             "runvar.models.stacked:StackedMLP.forward", "runvar.models.small:GemmConv1d.forward",
             "runvar.models.layers:SeededDropout.forward"]


def _source(baseline: Path, module: str, qualname: str) -> str:
    """The source of ``qualname`` in the baseline's file of ``module``."""
    path = baseline.joinpath(*module.split(".")).with_suffix(".py")
    text = path.read_text()
    nodes: list[ast.stmt] = ast.parse(text).body
    node: ast.stmt | None = None
    for part in qualname.split("."):
        node = next((n for n in nodes if getattr(n, "name", None) == part), None)
        if node is None:
            raise SystemExit(f"{qualname} is not in {path}")
        nodes = getattr(node, "body", [])
    return textwrap.dedent(ast.get_source_segment(text, node))


def versions(baseline: Path, names: list[str]) -> tuple[Callable[[], None], Callable[[], None]]:
    """Two switches: one installs the baseline's functions ``names``, one this tree's. The
    baseline's module-level functions are loaded first, so its methods call them."""
    slots, old = [], {}
    namespaces: dict[str, dict] = {}
    for spec in sorted(names, key=lambda s: "." in s.split(":")[1]):  # module-level functions first
        module_name, qualname = spec.split(":")
        module = importlib.import_module(module_name)
        owner = module
        for part in qualname.split(".")[:-1]:
            owner = getattr(owner, part)
        attribute = qualname.rsplit(".", 1)[-1]
        namespace = namespaces.setdefault(module_name, dict(vars(module)))
        exec(_source(baseline, module_name, qualname), namespace)  # noqa: S102
        old[spec] = namespace[attribute]
        slots.append((spec, owner, attribute, getattr(owner, attribute)))

    def install(pick: str) -> Callable[[], None]:
        def switch() -> None:
            for spec, owner, attribute, current in slots:
                setattr(owner, attribute, old[spec] if pick == "baseline" else current)
        return switch

    return install("baseline"), install("this tree")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, type=Path, help="the other tree's src folder")
    parser.add_argument("--setups", nargs="+", default=["cnn1d:5", "hidden_conv:5", "cnn1d:1", "mlp512:5",
                                                         "sel.lenet.learned:5", "sel.lenet.k8:5"])
    parser.add_argument("--functions", nargs="+", default=FUNCTIONS)
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = benchmark_data()
    baseline, this_tree = versions(args.baseline, args.functions)
    setups = default_setups()
    print(f"one training step on 1 thread, ms per step, {args.rounds} rounds of 3 steps each version, alternating "
          f"in one process; swapped: {', '.join(args.functions)}")
    print(f"{'setup:stack':<22} {'baseline median':>15} {'this tree median':>16} {'after/before (paired median)':>29}")
    for spec in args.setups:
        name, stack = spec.split(":")
        _, step = family_step(setups[name], data, int(stack))
        times: dict[Callable[[], None], list[float]] = {baseline: [], this_tree: []}
        for rep in range(args.rounds + 2):
            for switch in (baseline, this_tree):
                switch()
                start = time.perf_counter()
                for _ in range(3):
                    step()
                if rep >= 2:  # two warm-up rounds
                    times[switch].append((time.perf_counter() - start) / 3)
        this_tree()
        paired = statistics.median(a / b for a, b in zip(times[this_tree], times[baseline]))
        print(f"{spec:<22} {statistics.median(times[baseline]) * 1e3:15.2f} "
              f"{statistics.median(times[this_tree]) * 1e3:16.2f} {paired:29.3f}")


if __name__ == "__main__":
    main()

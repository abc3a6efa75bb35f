"""How close a training step of each model family comes to its own matrix products.

For each setup of the default config named (default: every family the quick study trains),
one training step at its batch size, on one CPU thread, through the project's own step
(:func:`runvar.train._step`, threads and kernels set by :func:`runvar.train._configure`): a
stack of ``--stack`` runs where the setup stacks, else one run. The step's floating-point operations are counted by ``torch.utils.flop_counter`` (the
matrix products and convolutions, forward and backward); every matrix product the step calls
(and convolution) is recorded with its shapes and strides and then timed alone, the same products on fresh
tensors, in the same run. Printed per family: ms per step, the step's GFLOP/s, the products'
own GFLOP/s (the roofline this step could reach if nothing else took time) and the share of it
the step reaches; and the CPU time per step (user + system: steadier than wall time on a shared
machine), the system time and the minor page faults per step (memory the step maps afresh).

    .venv/bin/python benchmarks/step_roofline.py [--setups cnn1d mlp512 ...] [--stack 5] [--steps 50]

``--products`` lists each family's products instead, slowest first, with their shapes and their
own GFLOP/s: which product holds the roofline down.

``--baseline OTHER/src`` measures another tree (e.g. ``git archive <commit> src | tar -x -C OTHER``)
and this one in the same run, alternating fresh processes ``--rounds`` times, and prints both
with this tree's time over the baseline's: a before/after of a change on one shared machine.

``--write DOC`` puts the table, headed by the date, the machine, torch, the threads and the
command, into DOC between its step-roofline markers (``make bench-doc`` does it for
docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from doc_sections import Section, load_average, provenance  # noqa: E402
from recipe_sweep import default_setups  # noqa: E402
from runvar.data import Dataset, load_dataset, prepare_dataset  # noqa: E402
from runvar.models import build_from_block, set_stochastic_generator  # noqa: E402
from runvar.models.stacked import stack_models  # noqa: E402
from runvar.seeds import run_seeds  # noqa: E402
from runvar.train import _configure, _step, can_stack, make_optimizer  # noqa: E402

aten = torch.ops.aten
PRODUCTS = {aten.mm.default, aten.bmm.default, aten.addmm.default, aten.baddbmm.default,
            aten.convolution.default, aten.convolution_backward.default}
FAMILIES = ["cnn1d", "linear", "mlp512", "hidden_conv", "sel.lenet.k8", "sel.lenet.learned"]
SECTION = Section("step roofline", "bench-doc")


class Products(TorchDispatchMode):
    """Records every matrix product called: the op and its tensor arguments' shapes and strides."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        if func in PRODUCTS:
            self.calls.append((func, [(a.shape, a.stride()) if isinstance(a, torch.Tensor) else a for a in args]))
        return func(*args, **(kwargs or {}))


def replay_seconds(calls: list[tuple], repeats: int) -> float:
    """Seconds the recorded products take alone, on fresh tensors of the same layout (median)."""
    prepared = [(func, [torch.randn(1).new_empty_strided(*a).normal_() if isinstance(a, tuple) and
                        isinstance(a[0], torch.Size) else a for a in args]) for func, args in calls]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for func, args in prepared:
            func(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def family_step(setup: dict, data, stack: int):  # noqa: ANN001, ANN201
    """A closure doing one training step of ``setup`` (``stack`` runs where it stacks)."""
    runs = stack if can_stack(setup) else 1
    seeds = [run_seeds("all", r) for r in range(1, runs + 1)]
    _configure(setup, seeds)  # threads and kernels as a training job sets them
    models = [build_from_block(setup["model"], data.input_shape, data.num_classes, s.init) for s in seeds]
    stacked = runs > 1
    net = stack_models(setup["model"], models) if stacked else models[0]
    optimizer = make_optimizer(net.runs if stacked else net, setup["optimizer"])
    generators = [s.generators(torch.device("cpu"))["stochastic"] for s in seeds]
    if not stacked:
        set_stochastic_generator(net, generators[0])
    n = int(setup["batch_size"])
    xs, ys = [data.x_train[:n]] * runs, [data.y_train[:n]] * runs
    net.train()
    return runs, lambda: _step(net, optimizer, 0.01, xs, ys, stacked, generators)


def measure(setup: dict, data, stack: int, steps: int) -> dict[str, float]:  # noqa: ANN001
    """One family's step: runs, ms per step (median wall), CPU ms per step (user + system,
    steadier than wall time on a shared machine), its GFLOP/s, its products' GFLOP/s alone."""
    runs, step = family_step(setup, data, stack)
    for _ in range(3):  # warm-up
        step()
    counter, products = FlopCounterMode(display=False), Products()
    with counter, products:
        step()
    flops = counter.get_total_flops()
    times = []
    before = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / steps
    seconds = statistics.median(times)
    alone = replay_seconds(products.calls, steps)
    return {"runs": runs, "ms": seconds * 1e3, "cpu_ms": cpu * 1e3, "gflops": flops / seconds / 1e9,
            "products_gflops": flops / alone / 1e9, "share": alone / seconds,
            "system_ms": (after.ru_stime - before.ru_stime) / steps * 1e3,
            "faults": (after.ru_minflt - before.ru_minflt) / steps}


def benchmark_data() -> Dataset:
    """The benchmarks' MNIST-1D: 5000 examples, 4000 to train on, 1000 to test."""
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "mnist1d.npz")
        prepare_dataset("mnist1d", path, num_samples=5000, train_split=0.8, seed=42)
        return load_dataset(path)


def _rows(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Every family's :func:`measure` in this process (against the ``runvar`` it imports)."""
    setups = default_setups()
    data = benchmark_data()
    return {name: measure(setups[name], data, args.stack, args.steps) for name in args.setups}


def _rows_of(source: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """:func:`_rows` in a fresh process importing ``runvar`` from ``source`` (a ``src`` folder)."""
    command = [sys.executable, __file__, "--json", "--stack", str(args.stack), "--steps", str(args.steps),
               "--setups", *args.setups]
    done = subprocess.run(command, env={**os.environ, "RUNVAR_SRC": source}, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setups", nargs="+", default=FAMILIES)
    parser.add_argument("--stack", type=int, default=5)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--baseline", help="another tree's src/ folder (e.g. from git archive): each family "
                        "measured against it and this tree's, alternating, in fresh processes")
    parser.add_argument("--rounds", type=int, default=3, help="with --baseline: alternations (median of them)")
    parser.add_argument("--write", type=Path, help="a Markdown file with the step-roofline markers to fill")
    parser.add_argument("--products", action="store_true", help="list each family's products: shapes, "
                        "time alone and GFLOP/s, slowest first (where the step's products lose their time)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write and args.baseline:
        parser.error("--write writes this tree's table: leave out --baseline")
    if args.write:
        SECTION.check(args.write)  # before anything is measured
    load = load_average()
    torch.set_num_threads(1)
    if args.json:
        print(json.dumps(_rows(args)))
        return
    print(f"one training step on 1 thread, {args.steps} steps timed (median); products: the step's own, timed alone; "
          f"CPU ms: user + system time per step; page faults: minor faults per step")
    if args.baseline:
        _compare(args)
        return
    if args.products:
        _print_products(args)
        return
    rows = _rows(args)
    _print_rows(rows)
    if args.write:
        SECTION.write(args.write, roofline_markdown(rows, args.steps, provenance(torch.get_num_threads(), load)))
        print(f"wrote the step roofline into {args.write}")


def product_table(calls: list[tuple], repeats: int) -> list[tuple[str, float, float, str]]:
    """Each recorded product (op, MFLOP, ms alone, GFLOP/s, operand shapes and strides), slowest
    first: the products a step's roofline is made of, one at a time."""
    table = []
    for func, args in calls:
        counter = FlopCounterMode(display=False)
        operands = [torch.randn(1).new_empty_strided(*a).normal_() if isinstance(a, tuple) and
                    isinstance(a[0], torch.Size) else a for a in args]
        with counter:
            func(*operands)
        seconds = replay_seconds([(func, args)], repeats)
        shapes = " ".join(f"{tuple(a[0])}/{tuple(a[1])}" for a in args if isinstance(a, tuple) and isinstance(a[0], torch.Size))
        table.append((str(func).removeprefix("aten."), counter.get_total_flops() / 1e6, seconds * 1e3,
                      counter.get_total_flops() / seconds / 1e9, shapes))
    return sorted(table, key=lambda row: -row[2])


def _print_products(args: argparse.Namespace) -> None:
    """``--products``: one step of each family recorded, then each of its products timed alone."""
    setups = default_setups()
    data = benchmark_data()
    for name in args.setups:
        _, step = family_step(setups[name], data, args.stack)
        for _ in range(3):
            step()
        recorded = Products()
        with recorded:
            step()
        table = product_table(recorded.calls, args.steps)
        total = sum(row[2] for row in table)
        print(f"\n{name}: {len(table)} products, {total:.3f} ms alone (shapes/strides of the operands)")
        for op, mflop, ms, gflops, shapes in table:
            print(f"  {op:<26} {mflop:8.1f} MFLOP {ms:8.3f} ms {gflops:7.1f} GFLOP/s {ms / total:5.0%}  {shapes}")


def _print_rows(rows: dict[str, dict[str, float]]) -> None:
    """Every family's row, as a text table."""
    print(f"{'setup':<20} {'runs':>4} {'batch':>5} {'ms/step':>8} {'CPU ms':>7} {'system ms':>9} {'page faults':>11} "
          f"{'GFLOP/s':>8} {'products GFLOP/s':>17} {'share':>6}")
    setups = default_setups()
    for name, row in rows.items():
        print(f"{name:<20} {row['runs']:>4} {setups[name]['batch_size']:>5} {row['ms']:8.2f} {row['cpu_ms']:7.2f} "
              f"{row['system_ms']:9.2f} {row['faults']:11.0f} {row['gflops']:8.1f} {row['products_gflops']:17.1f} "
              f"{row['share']:6.0%}")


def roofline_markdown(rows: dict[str, dict[str, float]], steps: int, heading: str) -> str:
    """The Markdown of ``rows``: ``heading``, then one table row per family."""
    setups = default_setups()
    lines = [heading, "", f"One training step on 1 thread, {steps} steps timed (median wall; CPU: user + system "
             "time per step); products alone: the step's own matrix products and convolutions timed on fresh "
             "tensors; share: the step's GFLOP/s over theirs.", "",
             "| setup | runs | batch | ms/step | CPU ms/step | GFLOP/s | products alone GFLOP/s | share |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, row in rows.items():
        lines.append(f"| {name} | {row['runs']} | {setups[name]['batch_size']} | {row['ms']:.2f} | {row['cpu_ms']:.2f} "
                     f"| {row['gflops']:.1f} | {row['products_gflops']:.1f} | {row['share']:.0%} |")
    return "\n".join(lines) + "\n"


def _compare(args: argparse.Namespace) -> None:
    """``--baseline``: both trees' rows, ``--rounds`` alternations, medians side by side."""
    here = str(Path(__file__).resolve().parents[1] / "src")
    rounds: dict[str, list[dict]] = {"baseline": [], "this tree": []}
    for _ in range(args.rounds):
        for label, source in (("baseline", args.baseline), ("this tree", here)):
            rounds[label].append(_rows_of(source, args))
    print(f"median of {args.rounds} alternating rounds; baseline {args.baseline}")
    print(f"{'setup':<20} {'tree':<10} {'ms/step':>8} {'CPU ms':>7} {'system ms':>9} {'page faults':>11} {'share':>6}"
          f"   after/before: ms  CPU ms")
    for name in args.setups:
        keys = ("ms", "cpu_ms", "system_ms", "faults", "share")
        medians = {label: {key: statistics.median(r[name][key] for r in rows) for key in keys}
                   for label, rows in rounds.items()}
        for label, row in medians.items():
            ratio = ""
            if label == "this tree":
                base = medians["baseline"]
                ratio = f"   {row['ms'] / base['ms']:16.2f} {row['cpu_ms'] / base['cpu_ms']:7.2f}"
            print(f"{name:<20} {label:<10} {row['ms']:8.2f} {row['cpu_ms']:7.2f} {row['system_ms']:9.2f} "
                  f"{row['faults']:11.0f} {row['share']:6.0%}{ratio}")


if __name__ == "__main__":
    main()

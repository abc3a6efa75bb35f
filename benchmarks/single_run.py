"""One cnn1d run alone through runvar vs a plain PyTorch loop of the same model, in one run.

Times, on one CPU thread, interleaved ``--repeats`` times so a shared machine's load falls on
each: (a) :func:`runvar.train.train_run` of the default config's ``cnn1d`` (MNIST-1D, 4,000
training examples, batch 128, dropout, SGD with Nesterov momentum and weight decay, warm-up +
cosine, ``conv: gemm``) with its random crops, (b) the same without crops, (c) a plain PyTorch
loop of the same model: ``nn.Conv1d`` layers, ``nn.Dropout``, ``torch.optim.SGD`` (same
hyper-parameters, constant LR), ``torch.randperm`` batches, no crops, no history, no test
evaluation but the last. Prints each one's milliseconds per epoch and its ratio over the plain
loop (issue 31's goal: 1.2x or less): wall time (median and best of the repeats) and CPU time
(median: on a machine shared with other jobs the wall time swings by half, the CPU time less).

    .venv/bin/python benchmarks/single_run.py [--epochs 5] [--repeats 3]

``--write DOC`` puts the table, headed by the date, the machine, torch, the threads and the
command, into DOC between its single-run markers (``make bench-doc`` does it for
docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from doc_sections import Section, load_average, provenance  # noqa: E402
from recipe_sweep import default_setups  # noqa: E402
from runvar.data import Dataset, load_dataset, prepare_dataset  # noqa: E402
from runvar.seeds import run_seeds  # noqa: E402
from runvar.train import train_run  # noqa: E402

SECTION = Section("single run", "bench-doc")
PLAIN = "plain PyTorch loop (nn.Conv1d, no crops)"
#: The columns: a label and how each picks its figure from the repeats (wall or CPU time).
COLUMNS = (("wall median", "wall", statistics.median), ("wall best", "wall", min), ("CPU median", "cpu", statistics.median))


def plain_model(setup: dict, data: Dataset) -> nn.Module:
    """The setup's cnn1d written as a newcomer would: ``nn.Conv1d``, ``nn.ReLU``, ``nn.Dropout``."""
    block = setup["model"]
    channels, layers, in_channels, length = block["channels"], block["layers"], *data.input_shape
    body: list[nn.Module] = []
    for i in range(layers):
        kernel = 5 if i == 0 else 3
        body += [nn.Conv1d(in_channels, channels, kernel, stride=2, padding=kernel // 2), nn.ReLU()]
        in_channels, length = channels, (length + 2 * (kernel // 2) - kernel) // 2 + 1
    body += [nn.Flatten(), nn.Dropout(block.get("dropout", 0.0)), nn.Linear(channels * length, data.num_classes)]
    return nn.Sequential(*body)


def plain_loop(setup: dict, data: Dataset, epochs: int) -> float:
    """Train the plain loop for ``epochs``; its final test accuracy."""
    torch.manual_seed(0)
    model = plain_model(setup, data)
    options = setup["optimizer"]
    optimizer = torch.optim.SGD(model.parameters(), lr=options["lr"], momentum=options["momentum"],
                                weight_decay=options["weight_decay"], nesterov=options["nesterov"])
    x, y, batch = data.x_train, data.y_train, int(setup["batch_size"])
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(y))
        for first in range(0, len(y), batch):
            idx = order[first : first + batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        return float((model(data.x_test).argmax(1) == data.y_test).float().mean())


def contenders(epochs: int) -> dict[str, Callable[[], object]]:
    """The three ways to train one cnn1d run for ``epochs``, by name: runvar with and without its
    crops, and the plain loop (:data:`PLAIN`)."""
    setup = dict(default_setups()["cnn1d"], epochs=epochs, evaluate_every=epochs)
    no_crops = dict(setup, augment={**setup.get("augment", {}), "crop_padding": 0})
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "mnist1d.npz")
        prepare_dataset("mnist1d", path, num_samples=5000, train_split=0.8, seed=42)
        data = load_dataset(path)
    seeds = run_seeds("all", 1)
    return {
        "runvar train_run, cnn1d recipe (crops)": lambda: train_run(setup, data, seeds, log=lambda _: None),
        "runvar train_run, no crops": lambda: train_run(no_crops, data, seeds, log=lambda _: None),
        PLAIN: lambda: plain_loop(setup, data, epochs),
    }


def time_interleaved(runs: dict[str, Callable[[], object]], epochs: int, repeats: int) -> dict[str, dict[str, list[float]]]:
    """Each run's seconds per epoch, wall and CPU (``{"wall": [...], "cpu": [...]}``), over
    ``repeats`` interleaved rounds after one warm-up round."""
    for run in runs.values():  # warm-up (the first optimizer built imports torch._dynamo: ~2 s once)
        run()
    times: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            times[name]["wall"].append((time.perf_counter() - start) / epochs)
            times[name]["cpu"].append((time.process_time() - start_cpu) / epochs)
    return times


def cells(times: dict[str, dict[str, list[float]]], name: str) -> list[tuple[float, float]]:
    """``name``'s (ms per epoch, ratio over the plain loop) in each of :data:`COLUMNS`."""
    return [(pick(times[name][kind]) * 1e3, pick(times[name][kind]) / pick(times[PLAIN][kind]))
            for _, kind, pick in COLUMNS]


def plural(count: int, word: str) -> str:
    """``"1 epoch"``, ``"5 epochs"``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def ratio_markdown(times: dict[str, dict[str, list[float]]], epochs: int, repeats: int, heading: str) -> str:
    """The Markdown of ``times``: ``heading``, what was timed, then each contender's row."""
    lines = [heading, "", f"One cnn1d run alone, {plural(epochs, 'epoch')} of 4,000 examples at batch 128, 1 thread, "
             f"{plural(repeats, 'interleaved repeat')}: ms per epoch and the ratio over the plain loop (issue 31's goal: "
             "1.2x or less), wall time (median, best) and CPU time (median; steadier on a shared machine).", "",
             "| | " + " | ".join(label for label, _, _ in COLUMNS) + " |", "|---|" + "---:|" * len(COLUMNS)]
    for name in times:
        lines.append(f"| {name} | " + " | ".join(f"{ms:.1f} ms ({ratio:.2f}x)" for ms, ratio in cells(times, name)) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", type=Path, help="a Markdown file with the single-run markers to fill")
    args = parser.parse_args()
    if args.write:
        SECTION.check(args.write)  # before anything is measured
    load = load_average()
    torch.set_num_threads(1)
    times = time_interleaved(contenders(args.epochs), args.epochs, args.repeats)
    print(f"one cnn1d run alone, {plural(args.epochs, 'epoch')} of 4,000 examples at batch 128, 1 thread, "
          f"{plural(args.repeats, 'interleaved repeat')}; ms per epoch and the ratio over the plain loop: wall time (median, best) and CPU "
          f"time (median; steadier on a shared machine)")
    print(f"{'':<42} " + " ".join(f"{label:>17}" for label, _, _ in COLUMNS))
    for name in times:
        print(f"{name:<42} " + " ".join(f"{f'{ms:8.1f} {ratio:6.2f}x':>17}" for ms, ratio in cells(times, name)))
    if args.write:
        SECTION.write(args.write, ratio_markdown(times, args.epochs, args.repeats, provenance(torch.get_num_threads(), load)))
        print(f"wrote the single-run ratio into {args.write}")


if __name__ == "__main__":
    main()

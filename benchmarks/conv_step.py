"""cnn1d training epochs with ``conv: native`` (nn.Conv1d, oneDNN) vs ``conv: gemm`` (GemmConv1d).

Trains the default config's ``cnn1d`` setup (MNIST-1D default split, batch 128, crops, dropout,
SGD) through :func:`runvar.train.train_run` on one torch thread, both modes in turn from the
same seeds, ``--repeats`` times interleaved so a shared machine's load falls on both; prints
each mode's seconds per epoch (median of the repeats), the ratio native / gemm, and how far the
two modes' final test accuracies are apart (they compute the same function; only rounding
differs, so after many epochs the runs drift apart like two cuDNN runs do).

    .venv/bin/python benchmarks/conv_step.py [--epochs 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recipe_sweep import default_setups  # noqa: E402
from runvar.data import load_dataset, prepare_dataset  # noqa: E402
from runvar.seeds import run_seeds  # noqa: E402
from runvar.train import train_run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    base = default_setups()["cnn1d"]
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "mnist1d.npz")
        prepare_dataset("mnist1d", path, num_samples=5000, train_split=0.8, seed=42)
        data = load_dataset(path)
        seconds: dict[str, list[float]] = {"native": [], "gemm": []}
        accuracy: dict[str, float] = {}
        for _ in range(args.repeats):
            for mode in seconds:
                setup = dict(base, epochs=args.epochs, evaluate_every=args.epochs,
                             model=dict(base["model"], conv=mode))
                result = train_run(setup, data, run_seeds("all", 1), log=lambda line: None)
                seconds[mode].append(statistics.median(row["seconds"] for row in result.history))
                accuracy[mode] = result.history[-1]["test_accuracy"]
    native, gemm = (statistics.median(seconds[m]) for m in ("native", "gemm"))
    print(f"cnn1d, batch {base['batch_size']}, {args.epochs} epochs x {args.repeats} repeats, 1 thread")
    print(f"native (nn.Conv1d): {native * 1e3:.1f} ms/epoch")
    print(f"gemm (GemmConv1d):  {gemm * 1e3:.1f} ms/epoch")
    print(f"ratio native / gemm: {native / gemm:.2f}x")
    print(f"final test accuracy: native {accuracy['native']:.4f}, gemm {accuracy['gemm']:.4f}")


if __name__ == "__main__":
    main()

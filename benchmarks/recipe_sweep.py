"""The recipe sweep behind config/config.yaml's training lengths (not a speed benchmark).

For each candidate recipe (a setup of the default config, with overrides) and each number of
epochs E, trains runs 1-3 of the `init` variant on the default MNIST-1D split and prints the
mean final test accuracy and CE; a recipe is on its plateau when doubling E changes the mean
accuracy by less than 0.3 points (docs/protocol.md, Convergence). Recipes are chosen by this, never by
the verdicts they give. Two processes, one torch thread each:

    .venv/bin/python benchmarks/recipe_sweep.py cnn1d:120,240 linear:100,200,400@batch_size=4000,lr=0.5

Each argument is SETUP:E1,E2,...[@key=value,...] (keys: batch_size, lr, weight_decay,
momentum, crop_padding).
"""

from __future__ import annotations

import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from runvar.config import deep_merge, load_schema, validate_config  # noqa: E402
from runvar.config.files import read_config_file  # noqa: E402
from runvar.data import load_dataset, prepare_dataset  # noqa: E402
from runvar.seeds import run_seeds  # noqa: E402
from runvar.studies import plan_studies  # noqa: E402
from runvar.train import train_run  # noqa: E402


def default_setups() -> dict[str, dict]:
    """The setups of config/full.yaml (the quick study's and the full study's), resolved."""
    config = read_config_file(REPO / "config/full.yaml")
    config = validate_config(config, load_schema(REPO / "config/schema.yaml"))
    setups = dict(config["setups"])
    for plan in plan_studies(config).values():
        setups.update(plan.setups)
    return setups


def parse(arg: str) -> tuple[str, list[int], dict]:
    head, _, options = arg.partition("@")
    name, _, epochs = head.partition(":")
    override: dict = {}
    for item in filter(None, options.split(",")):
        key, _, value = item.partition("=")
        if key in ("lr", "weight_decay", "momentum"):
            override.setdefault("optimizer", {})[key] = float(value)
        elif key == "batch_size":
            override["batch_size"] = int(value)
        elif key == "crop_padding":
            override["augment"] = {"crop_padding": int(value)}
        else:
            raise SystemExit(f"unknown override {key!r}; allowed: batch_size, lr, weight_decay, momentum, crop_padding")
    return name, [int(e) for e in epochs.split(",")], override


def train(job: tuple[str, dict, str, int, int]) -> tuple[str, int, int, float, float, float]:
    label, setup, data_path, epochs, run = job
    torch.set_num_threads(1)
    setup = dict(setup, epochs=epochs, evaluate_every=max(1, epochs // 16))
    started = time.perf_counter()
    result = train_run(setup, load_dataset(data_path), run_seeds("init", run), log=lambda line: None)
    final = result.history[-1]
    return label, epochs, run, 100 * final["test_accuracy"], final["test_cross_entropy"], time.perf_counter() - started


def main(args: list[str]) -> None:
    if not args:
        raise SystemExit(__doc__)
    setups = default_setups()
    with tempfile.TemporaryDirectory() as tmp:
        data = str(Path(tmp) / "mnist1d.npz")
        prepare_dataset("mnist1d", data, num_samples=5000, train_split=0.8, seed=42)
        jobs = []
        for arg in args:
            name, epochs, override = parse(arg)
            label = name + (f" @{arg.partition('@')[2]}" if override else "")
            jobs += [(label, deep_merge(setups[name], override), data, e, run) for e in epochs for run in (1, 2, 3)]
        with Pool(2) as pool:
            results = pool.map(train, jobs)
    print(f"{'recipe':40s} {'E':>5s} {'acc (%)':>8s} {'CE':>7s} {'s/run':>6s}")
    for label in dict.fromkeys(r[0] for r in results):
        for epochs in dict.fromkeys(r[1] for r in results if r[0] == label):
            rows = [r for r in results if r[0] == label and r[1] == epochs]
            print(f"{label:40s} {epochs:5d} {np.mean([r[3] for r in rows]):8.2f} "
                  f"{np.mean([r[4] for r in rows]):7.4f} {np.mean([r[5] for r in rows]):6.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])

"""The recipe sweep behind the configs' training lengths (not a speed benchmark).

For each candidate recipe (a setup of the config, with overrides) and each number of epochs E,
trains runs 1..R of one variant (default: the plateau check's, runs 1-10 of `all`, with the
study's seeds, shifted by the config's ``seeds.offset``: ``--config config/replicate.yaml``
trains the second draw's runs) on the config's MNIST-1D data and prints the mean final test
accuracy and CE, on the config's check set where it has one (``plateau.check_sets``: the runs'
final models on that many fresh examples, as the workflow's checks decide).
Between E and 2E it prints the plateau check as the workflow decides it (docs/protocol.md,
Convergence): the change of the mean, its SE paired by run, and the decision at the config's
threshold, with the runs that would decide. Recipes are chosen by this, never by the verdicts
they give.

    .venv/bin/python benchmarks/recipe_sweep.py sel.lenet.k8:400,800 linear:100,200@batch_size=4000,lr=0.5

Each argument is SETUP:E1,E2,...[@key=value,...] (keys: batch_size, lr, weight_decay,
momentum, crop_padding). Options: --config (default config/config.yaml), --runs, --variant,
--processes (worker processes, one torch thread each), --stack (runs trained as one stacked model).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.environ.get("RUNVAR_SRC") or str(REPO / "src"))  # RUNVAR_SRC: step_roofline --baseline

from runvar.config import deep_merge, load_schema, validate_config  # noqa: E402
from runvar.config.files import read_config_file  # noqa: E402
from runvar.check_set import evaluate  # noqa: E402
from runvar.data import load_dataset, prepare_check_set, prepare_dataset  # noqa: E402
from runvar.models import build_from_block  # noqa: E402
from runvar.plateau import decide_change  # noqa: E402
from runvar.runs import setup_run_seeds  # noqa: E402
from runvar.studies import plan_studies  # noqa: E402
from runvar.train import train_runs  # noqa: E402

OPTIMIZER_KEYS = ("lr", "weight_decay", "momentum")


def resolved_config(path: Path) -> dict:
    """The config at ``path``, validated, with every study's derived setups among its setups."""
    config = validate_config(read_config_file(path), load_schema(REPO / "config/schema.yaml"))
    for plan in plan_studies(config).values():
        config["setups"].update(plan.setups)
    return config


def default_setups() -> dict[str, dict]:
    """The setups of config/full.yaml (the quick study's and the full study's), resolved."""
    return resolved_config(REPO / "config/full.yaml")["setups"]


def parse(arg: str) -> tuple[str, list[int], dict]:
    """``SETUP:E1,E2[@key=value,...]`` as (setup, epochs, override)."""
    head, _, options = arg.partition("@")
    name, _, epochs = head.partition(":")
    override: dict = {}
    for item in filter(None, options.split(",")):
        key, _, value = item.partition("=")
        if key in OPTIMIZER_KEYS:
            override.setdefault("optimizer", {})[key] = float(value)
        elif key == "batch_size":
            override["batch_size"] = int(value)
        elif key == "crop_padding":
            override["augment"] = {"crop_padding": int(value)}
        else:
            raise SystemExit(f"unknown override {key!r}; allowed: batch_size, crop_padding, {', '.join(OPTIMIZER_KEYS)}")
    if not epochs:
        raise SystemExit(f"{arg!r}: give the epochs to try, e.g. {name}:100,200")
    return name, [int(e) for e in epochs.split(",")], override


def train(job: tuple[str, dict, str, str | None, int, str, list[int], int]) -> list[tuple]:
    """One worker's share: runs ``runs`` of (setup at ``epochs``), stacked where they can be; each
    run's final accuracy and CE on the check set where there is one, else its last test evaluation,
    its seconds, and its last test accuracy."""
    label, setup, data_path, check_path, epochs, variant, runs, stack = job
    torch.set_num_threads(1)
    setup = dict(setup, epochs=epochs)
    data = load_dataset(data_path)
    started = time.perf_counter()
    seeds = [setup_run_seeds(setup, variant, r) for r in runs]
    results = list(train_runs(setup, data, seeds, log=lambda line: None, stack=stack))
    seconds = (time.perf_counter() - started) / len(runs)
    finals = [(100 * r.history[-1]["test_accuracy"], r.history[-1]["test_cross_entropy"]) for r in results]
    tested = [acc for acc, _ in finals]
    if check_path:
        check = load_dataset(check_path)
        finals = [evaluate(trained(setup, data, r.state_dict), check) for r in results]
    return [(label, epochs, run, acc, ce, seconds, on_test) for run, (acc, ce), on_test in zip(runs, finals, tested)]


def trained(setup: dict, data, state_dict: dict) -> torch.nn.Module:  # noqa: ANN001
    """A run's final model, rebuilt from its weights."""
    model = build_from_block(setup["model"], data.input_shape, data.num_classes, 1)
    model.load_state_dict(state_dict)
    return model.eval()


def report(results: list[tuple], max_change: float, on_check_set: bool = False) -> None:
    """Each recipe's mean at each E; the plateau check between E and 2E (on the check set, with
    the same runs' test-set change beside, when ``on_check_set``)."""
    print(f"{'recipe':40s} {'E':>5s} {'acc (%)':>8s} {'CE':>7s} {'s/run':>6s}  check E -> 2E")
    for label in dict.fromkeys(r[0] for r in results):
        finals, tested = {}, {}
        for epochs in sorted({r[1] for r in results if r[0] == label}):
            rows = sorted((r for r in results if r[0] == label and r[1] == epochs), key=lambda r: r[2])
            finals[epochs] = np.array([r[3] for r in rows])
            tested[epochs] = np.array([r[6] for r in rows])
            check = ""
            if epochs % 2 == 0 and epochs // 2 in finals:
                c = decide_change(finals[epochs // 2], finals[epochs], max_change)
                check = (f"  {c['change']:+.2f} (SE {c['change_se']:.2f}): {c['decision']}"
                         f"; about {c['runs_to_decide']} runs would decide")
                if on_check_set:
                    t = decide_change(tested[epochs // 2], tested[epochs], max_change)
                    check += f" [test set: {t['change']:+.2f} (SE {t['change_se']:.2f})]"
            print(f"{label:40s} {epochs:5d} {finals[epochs].mean():8.2f} {np.mean([r[4] for r in rows]):7.4f} "
                  f"{np.mean([r[5] for r in rows]):6.1f}{check}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipes", nargs="+", help="SETUP:E1,E2,...[@key=value,...]")
    parser.add_argument("--config", type=Path, default=REPO / "config/config.yaml")
    parser.add_argument("--runs", type=int, help="runs 1..R (default: the config's plateau.runs)")
    parser.add_argument("--variant", help="default: the config's plateau.variant")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--stack", type=int, default=5)
    args = parser.parse_args(argv)
    config = resolved_config(args.config)
    plateau = config.get("plateau", {})
    runs = list(range(1, (args.runs or int(plateau.get("runs", 10))) + 1))
    variant = args.variant or plateau.get("variant", "all")
    chunks = [runs[i:i + args.stack] for i in range(0, len(runs), args.stack)]
    with tempfile.TemporaryDirectory() as tmp:
        data = str(Path(tmp) / "mnist1d.npz")
        prepare_dataset("mnist1d", data, **config["datasets"]["mnist1d"])
        check_set = (plateau.get("check_sets") or {}).get("mnist1d")
        check = str(Path(tmp) / "check.npz") if check_set else None
        if check_set:
            prepare_check_set("mnist1d", check, check_set["examples"], check_set["seed"])
        jobs = []
        for arg in args.recipes:
            name, epochs, override = parse(arg)
            if name not in config["setups"]:
                raise SystemExit(f"no setup {name!r} in {args.config}; setups: {', '.join(sorted(config['setups']))}")
            label = name + (f" @{arg.partition('@')[2]}" if override else "")
            setup = deep_merge(config["setups"][name], override)
            jobs += [(label, setup, data, check, e, variant, chunk, args.stack) for e in epochs for chunk in chunks]
        with Pool(args.processes) as pool:
            results = [row for rows in pool.map(train, jobs, chunksize=1) for row in rows]
    where = f"on {check_set['examples']:,} check-set examples" if check_set else "on the test set"
    print(f"runs {runs[0]}-{runs[-1]} of `{variant}`, {args.config.name}'s data and seeds; finals {where}")
    report(results, float(plateau.get("max_change", 0.3)), bool(check_set))


if __name__ == "__main__":
    main(sys.argv[1:])

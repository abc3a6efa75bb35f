"""Cost of one process per run vs several runs in one process (train.seeds_per_job).

Trains the same R runs of a setup from config/config.yaml twice, in the same invocation:
(a) each run in a fresh Python process (interpreter start, torch import, data load per run, as
with seeds_per_job: 1), and (b) all runs one after another in a single process (as with
seeds_per_job: R). Checks that both give bitwise identical predictions and prints the times,
the per-run overhead and the ratio.

    .venv/bin/python benchmarks/job_granularity.py [--setup cnn1d] [--runs 4] [--variant all]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]

ONE_RUN = """
import sys, yaml
from runvar.config import load_schema, validate_config
from runvar.data import load_dataset
from runvar.runs import train_and_save
cfg = validate_config(yaml.safe_load(open(sys.argv[1])), load_schema(sys.argv[2]))
data = load_dataset(sys.argv[3])
for run in map(int, sys.argv[7:]):
    train_and_save(sys.argv[4], cfg["setups"][sys.argv[4]], sys.argv[5], run, data,
                   f"{sys.argv[6]}/seed{run}", log=lambda _: None)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "config" / "config.yaml"))
    parser.add_argument("--setup", default="cnn1d")
    parser.add_argument("--variant", default="all")
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()

    from runvar.config import load_schema, validate_config
    from runvar.data import prepare_dataset

    schema = REPO / "config" / "schema.yaml"
    config = validate_config(yaml.safe_load(open(args.config)), load_schema(schema))
    setup = config["setups"][args.setup]
    runs = [str(r) for r in range(1, args.runs + 1)]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.npz"
        prepare_dataset(setup["dataset"], data, **setup["dataset_options"])
        common = [sys.executable, "-c", ONE_RUN, args.config, str(schema), str(data), args.setup, args.variant]

        start = time.perf_counter()
        for run in runs:
            subprocess.run(common + [f"{tmp}/separate", run], check=True, cwd=REPO)
        separate = time.perf_counter() - start

        start = time.perf_counter()
        subprocess.run(common + [f"{tmp}/together", *runs], check=True, cwd=REPO)
        together = time.perf_counter() - start

        for run in runs:
            a = (Path(tmp) / f"separate/seed{run}/predictions.npz").read_bytes()
            b = (Path(tmp) / f"together/seed{run}/predictions.npz").read_bytes()
            assert a == b, f"run {run}: predictions differ between the two granularities"

    print(f"{args.runs} runs of {args.setup}/{args.variant}; predictions bitwise identical both ways")
    print(f"one process per run (seeds_per_job: 1):       {separate:7.2f} s")
    print(f"one process for all (seeds_per_job: {args.runs}):     {together:7.2f} s")
    print(f"overhead per extra process:                   {(separate - together) / (args.runs - 1):7.2f} s")
    print(f"ratio separate / together:                    {separate / together:7.2f}x")


if __name__ == "__main__":
    main()

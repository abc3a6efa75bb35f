"""Randomness that escapes the per-source generators shows: a model whose dropout draws from
torch's global generator, trained one run per process (train.seeds_per_job: 1, as one SLURM job
per run), fails the `none` row, because every training job seeds the global generators from the
operating system's entropy before anything else. The control: the same harness, with the
dropout drawing from the run's own stochastic generator (SeededDropout), passes."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from runvar.data import prepare_dataset
from runvar.models import SeededDropout
from runvar.runs import DeterminismError, variant_metrics

REPO = Path(__file__).resolve().parents[1]


class LeakyDropout(nn.Module):
    """Dropout that draws its masks from torch's global generator: a leak."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        return x * (torch.rand(x.shape) >= self.p) / (1.0 - self.p)


class LeakyNet(nn.Module):
    """A small MLP with dropout; ``leaky``: its masks come from torch's global generator, else
    from the run's stochastic generator (SeededDropout, the control)."""

    def __init__(self, input_shape, num_classes, hidden=16, dropout=0.5, leaky=True):
        super().__init__()
        drop = LeakyDropout(dropout) if leaky else SeededDropout(dropout)
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(input_shape), hidden), nn.ReLU(),
                                  drop, nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.body(x)


#: torch's documented start state of the global generator (``default_rng_seed_val``): every
#: process of a stock build starts from it (some builds seed it from entropy; set it so the test
#: means the same everywhere).
TORCH_DEFAULT_SEED = 67280421310721

TRAIN_ONE_RUN = f"""
import json, sys
import torch
torch.manual_seed({TORCH_DEFAULT_SEED})
from runvar.data import load_dataset
from runvar.runs import train_and_save_runs
setup, data, run, out = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
train_and_save_runs("leaky", setup, "none", [run], load_dataset(data), [out], log=lambda line: None)
"""


def _none_runs_one_process_each(tmp_path, tiny_setup, leaky: bool) -> list[Path]:
    """Runs 1 and 2 of `none`, each trained in a process of its own (as one SLURM job per run)."""
    data = tmp_path / "mnist1d.npz"
    prepare_dataset("mnist1d", data, num_samples=300, train_split=0.8, seed=7)
    setup = {**tiny_setup, "epochs": 1, "augment": {},
             "model": {"import": f"{__name__}:LeakyNet", "kwargs": {"hidden": 16, "dropout": 0.5, "leaky": leaky}}}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    run_dirs = [tmp_path / "runs/leaky/none" / f"seed{run}" for run in (1, 2)]
    for run, run_dir in zip((1, 2), run_dirs):  # one process per run: each starts from torch's default state
        done = subprocess.run([sys.executable, "-c", TRAIN_ONE_RUN, json.dumps(setup), str(data), str(run),
                               str(run_dir)], cwd=REPO, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
    seeds = {json.loads((d / "run.json").read_text())["global_generators_seed"] for d in run_dirs}
    assert len(seeds) == 2  # each job seeded the global generators from the OS's entropy
    return run_dirs


def _none_row(run_dirs: list[Path]) -> dict:
    return variant_metrics("none", [d / "predictions.npz" for d in run_dirs], [d / "run.json" for d in run_dirs],
                           resamples=50)


@pytest.mark.slow
def test_a_global_generator_leak_fails_none_with_one_run_per_job(tmp_path, tiny_setup):
    run_dirs = _none_runs_one_process_each(tmp_path, tiny_setup, leaky=True)
    with pytest.raises(DeterminismError, match="variant 'none' gave different predictions"):
        _none_row(run_dirs)


@pytest.mark.slow
def test_the_same_harness_with_seeded_dropout_passes_none(tmp_path, tiny_setup):
    """The control: what fails above is the leak, not the harness."""
    row = _none_row(_none_runs_one_process_each(tmp_path, tiny_setup, leaky=False))
    assert row["bitwise_identical"] and row["accuracy_sd"] == 0.0

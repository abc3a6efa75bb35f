import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from runvar.data import load_dataset, prepare_dataset

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "Snakefile"

TINY_SETUP = {
    "dataset": "mnist1d",
    "model": {"name": "cnn1d", "channels": 8, "layers": 2, "dropout": 0.2},
    "epochs": 2,
    "batch_size": 64,
    "optimizer": {"lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4, "nesterov": True},
    "schedule": {"warmup_epochs": 1},
    "augment": {"crop_padding": 2},
    "execution": {"device": "cpu", "threads": 1},
    "bitflip": {"parameter": "first"},
}


def tiny_study_base() -> dict:
    """``datasets`` and ``setup_defaults`` of tests/configs/tiny.yaml: the toy scale (600
    MNIST-1D examples, 2 epochs) that the tiny studies of the workflow tests share."""
    config = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    return {key: config[key] for key in ("datasets", "setup_defaults")}


@pytest.fixture(scope="session", autouse=True)
def runvar_cache(tmp_path_factory):
    """runvar's cache of dataset checksums (runvar.data.npz_files) in a temporary directory,
    for the tests and the snakemake processes they start, not in the user's home."""
    import os

    path = tmp_path_factory.mktemp("runvar-cache")
    before = os.environ.get("RUNVAR_CACHE_DIR")
    os.environ["RUNVAR_CACHE_DIR"] = str(path)
    yield path
    if before is None:
        del os.environ["RUNVAR_CACHE_DIR"]
    else:
        os.environ["RUNVAR_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """A small MNIST-1D (480 train / 120 test), prepared through the real data path."""
    path = tmp_path_factory.mktemp("data") / "mnist1d.npz"
    prepare_dataset("mnist1d", path, num_samples=600, train_split=0.8, seed=7)
    return load_dataset(path)


@pytest.fixture
def tiny_setup():
    import copy

    return copy.deepcopy(TINY_SETUP)


@pytest.fixture
def random_logits():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 5, size=200)
    base = rng.normal(size=(200, 5))
    logits = (base[None] + 0.7 * rng.normal(size=(6, 200, 5))).astype(np.float32)
    return logits, labels


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


class Snakemake:
    """The one way the tests start snakemake (the ``run_snakemake`` fixture): ``python -m
    snakemake`` with ``--directory`` a temporary directory (never the repository, whose
    results/ a study may have filled), run from that directory.

    ``snakefile`` defaults to the repository's Snakefile (None: the one in ``workdir``);
    ``configfile`` is a path relative to ``workdir`` (None: no ``--configfile``), written from
    ``config`` when one is given."""

    def command(self, workdir, *args: str, snakefile=SNAKEFILE, configfile="config.yaml") -> list[str]:
        workdir, resolved = Path(workdir).absolute(), Path(workdir).resolve()
        if resolved == REPO or REPO in resolved.parents:
            raise ValueError(f"run_snakemake runs in a temporary directory, not in the repository ({workdir})")
        cmd = [sys.executable, "-m", "snakemake", "--directory", str(workdir)]
        if snakefile is not None:
            cmd += ["--snakefile", str(snakefile)]
        if configfile is not None:
            cmd += ["--configfile", str(workdir / configfile)]
        return cmd + [str(a) for a in args]

    def _prepare(self, workdir, config, configfile) -> Path:
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        if config is not None:
            (workdir / (configfile or "config.yaml")).write_text(yaml.safe_dump(config))
        return workdir

    def __call__(self, workdir, *args: str, config: dict | None = None, check: bool = True,
                 env: dict | None = None, timeout: float | None = None, snakefile=SNAKEFILE,
                 configfile="config.yaml") -> subprocess.CompletedProcess:
        """Run to the end; with ``check``, a non-zero exit fails the test with snakemake's output."""
        cmd = self.command(workdir, *args, snakefile=snakefile, configfile=configfile)  # refuses the repository
        workdir = self._prepare(workdir, config, configfile)
        out = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env, timeout=timeout)
        if check and out.returncode != 0:
            raise AssertionError(f"snakemake failed (rc={out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}")
        return out

    def start(self, workdir, *args: str, log: Path, env: dict | None = None, config: dict | None = None,
              snakefile=SNAKEFILE, configfile="config.yaml") -> subprocess.Popen:
        """Start in the background (its own session, so it can be stopped as a group),
        stdout and stderr into ``log``."""
        cmd = self.command(workdir, *args, snakefile=snakefile, configfile=configfile)  # refuses the repository
        workdir = self._prepare(workdir, config, configfile)
        with open(log, "w") as out:
            return subprocess.Popen(cmd, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True)


@pytest.fixture(scope="session")
def run_snakemake() -> Snakemake:
    """``run_snakemake(workdir, *args, config=..., check=True)``; ``.start(...)`` for a
    background run, ``.command(...)`` for the command line. See ``Snakemake``."""
    return Snakemake()

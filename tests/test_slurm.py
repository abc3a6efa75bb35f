"""The tiny study through a real SLURM gives the same predictions as a local run.

Starts a single-host SLURM (munged, slurmctld, slurmd; tests/slurm/cluster.py) on this
machine, asks `snakemake --profile profiles/slurm --profile profiles/slurm-ci` for the
predictions of every run of tests/configs/tiny.yaml (data preparation and the training jobs:
the jobs whose bits matter; each SLURM job costs two Snakemake start-ups, so the whole study
would take this 2-core machine past the test's time budget), and checks that
  - every job was submitted with sbatch and finished COMPLETED in slurmctld's own record
    (jobcomp log) under this run's job name, with its SLURM log;
  - results/runs/**/predictions.npz are bitwise identical to the same config run locally
    with `--cores`.
SLURM comes from tests/slurm/install.sh (`make test` calls it; it needs root). Where SLURM
cannot be installed or started, the test is skipped with the reason and the command that runs
it; under RUNVAR_REQUIRE_SLURM=1 (set by .ci/run) it fails instead, so CI cannot pass without
the cluster test.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from runvar.seeds import trained_variant

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "slurm"))

from cluster import SlurmCluster  # noqa: E402

TINY = REPO / "tests" / "configs" / "tiny.yaml"
TIMEOUT = 600
REQUIRE = "RUNVAR_REQUIRE_SLURM"  # "1": SLURM missing fails the test (CI) instead of skipping it
HOW_TO_RUN = "as root: `bash tests/slurm/install.sh && .venv/bin/pytest -m slurm`"

pytestmark = pytest.mark.slurm


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    reason = c.start_or_reason()
    if reason:
        unavailable(reason)
    try:
        yield c
    finally:
        c.stop()


def unavailable(reason: str) -> None:
    """Skip, saying why and how to run the test; fail where SLURM is required (CI)."""
    if os.geteuid() != 0:
        reason += " (not root: tests/slurm/install.sh cannot install it)"
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{reason} ({REQUIRE}=1: the SLURM test must run here)", pytrace=False)
    pytest.skip(f"{reason}; to run this test, {HOW_TO_RUN}")


def _prediction_targets() -> list[str]:
    """results/runs/{setup}/{variant}/seed{seed}/predictions.npz of every run the studies ask for."""
    studies = yaml.safe_load(TINY.read_text())["studies"]
    return sorted(
        {
            f"results/runs/{setup}/{trained_variant(variant, seed, 'cpu')}/seed{seed}/predictions.npz"
            for study in studies.values()
            if {"setups", "variants", "runs"} <= set(study or {})
            for setup in study["setups"]
            for variant in study["variants"]
            for seed in range(1, study["runs"] + 1)
        }
    )


def _wait(proc: subprocess.Popen, log: Path, what: str, deadline: float) -> str:
    try:
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        pytest.fail(f"{what} did not finish in {TIMEOUT} s; log: {log}", pytrace=False)
    text = log.read_text()
    assert proc.returncode == 0, f"{what} failed (rc={proc.returncode}):\n{text[-4000:]}"
    return text


def _predictions(workdir: Path) -> dict[str, dict[str, np.ndarray]]:
    runs = workdir / "results" / "runs"
    found = {}
    for path in sorted(runs.glob("**/predictions.npz")):
        with np.load(path) as npz:
            found[str(path.relative_to(runs))] = {k: npz[k] for k in npz.files}
    return found


def test_tiny_study_through_slurm_matches_local(cluster, tmp_path, run_snakemake):
    assert TINY.exists(), f"missing {TINY}"
    local_dir, slurm_dir = tmp_path / "local", tmp_path / "slurm"
    local_dir.mkdir()
    slurm_dir.mkdir()
    deadline = time.monotonic() + TIMEOUT

    # Both at once: the SLURM run spends most of its time waiting on sbatch/squeue polls.
    targets = _prediction_targets()
    local = run_snakemake.start(local_dir, "--nocolor", "--cores", "2", *targets, configfile=TINY,
                                env=dict(os.environ), log=tmp_path / "local.log")
    slurm = run_snakemake.start(
        slurm_dir, "--nocolor",
        "--profile", REPO / "profiles" / "slurm", "--profile", REPO / "profiles" / "slurm-ci",
        *targets, configfile=TINY, env=cluster.env(), log=tmp_path / "slurm.log",
    )  # fmt: skip
    slurm_log = _wait(slurm, tmp_path / "slurm.log", "snakemake --profile (SLURM)", deadline)
    local_log = _wait(local, tmp_path / "local.log", "snakemake --cores (local)", deadline)

    # -- the jobs went through SLURM -------------------------------------------------------
    run_id = re.search(r"SLURM run ID: (\S+)", slurm_log).group(1)
    submitted = dict(
        re.findall(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.", slurm_log)
    )
    steps = int(re.findall(r"(\d+) of \1 steps \(100%\) done", slurm_log)[-1])
    local_steps = int(re.findall(r"(\d+) of \1 steps \(100%\) done", local_log)[-1])
    assert steps == local_steps, (steps, local_steps)
    # every job of the DAG is a SLURM job
    assert len(submitted) == steps, (len(submitted), steps, slurm_log[-3000:])

    recorded = {
        job["JobId"]: job for job in cluster.completed_jobs() if job.get("Name") == run_id
    }
    assert set(recorded) == set(submitted), (sorted(recorded), sorted(submitted))
    for job_id, job in recorded.items():
        assert job["JobState"] == "COMPLETED", job
        assert job["WorkDir"] == str(slurm_dir), job
        log = Path(submitted[job_id])
        assert log.is_file(), f"no SLURM log {log} for job {job_id}"
        text = log.read_text()
        assert "Finished jobid" in text or "steps (100%) done" in text, text[-2000:]
    train_jobs = [p for p in submitted.values() if "/rule_train" in p]
    assert train_jobs, "no training job among the SLURM jobs"

    # -- same predictions, bit for bit ---------------------------------------------------------
    local_pred, slurm_pred = _predictions(local_dir), _predictions(slurm_dir)
    assert local_pred, "the tiny config trained no runs"
    expected = sorted(t.removeprefix("results/runs/") for t in _prediction_targets())
    assert sorted(local_pred) == expected
    assert sorted(slurm_pred) == expected
    for name, arrays in local_pred.items():
        other = slurm_pred[name]
        assert sorted(other) == sorted(arrays), name
        for key, value in arrays.items():
            assert value.dtype == other[key].dtype and value.shape == other[key].shape, (name, key)
            assert value.tobytes() == other[key].tobytes(), f"{name}:{key} differs between SLURM and local"

"""Checkpoint/resume after a kill, snapshot ensembles (cyclic schedule), onset of a source."""

import signal
import subprocess
import sys

import numpy as np
import pytest

from runvar.data import load_dataset, prepare_dataset
from runvar.runs import train_and_save
from runvar.seeds import run_seeds
from runvar.train import train_run
from tests.conftest import REPO

QUIET = {"log": lambda _: None}

KILLABLE = """
import os, signal, sys
from runvar.data import load_dataset
from runvar.runs import train_and_save
from tests.conftest import TINY_SETUP

def log(line):
    # SIGKILL ourselves mid-run, after epoch 7's line and before its checkpoint: the newest
    # checkpoint on disk is then epoch 6's, whatever the machine's speed
    if line.startswith("epoch 7/"):
        os.kill(os.getpid(), signal.SIGKILL)

setup = dict(TINY_SETUP, epochs=40, checkpoint_every=1)
train_and_save("tiny", setup, "all", 2, load_dataset(sys.argv[1]), sys.argv[2], log=log)
"""


@pytest.mark.slow  # a training process, killed and resumed: ~4 s
def test_killed_run_resumes_bitwise_identical(tiny_setup, tmp_path):
    data_path = tmp_path / "d.npz"
    prepare_dataset("mnist1d", data_path, num_samples=600, train_split=0.8, seed=7)
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-c", KILLABLE, str(data_path), str(out)], cwd=REPO,
                          capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert (out / "checkpoint.pt").exists() and not (out / "predictions.npz").exists()

    setup = dict(tiny_setup, epochs=40, checkpoint_every=1)
    data = load_dataset(data_path)
    record = train_and_save("tiny", setup, "all", 2, data, out, **QUIET)
    assert record["resumed_from_epoch"] == 6
    assert not (out / "checkpoint.pt").exists()
    fresh = train_run(setup, data, run_seeds("all", 2), **QUIET)
    assert np.load(out / "predictions.npz")["logits"].tobytes() == fresh.logits.tobytes()


def test_checkpoint_of_other_seeds_is_ignored(tiny_setup, tiny_data, tmp_path):
    setup = dict(tiny_setup, epochs=3, checkpoint_every=1)
    ckpt = tmp_path / "checkpoint.pt"
    from runvar.train import save_checkpoint

    save_checkpoint(ckpt, {"key": "someone-else", "epoch": 2})
    result = train_run(setup, tiny_data, run_seeds("all", 3), checkpoint=ckpt, **QUIET)
    assert result.record["resumed_from_epoch"] == 0


def test_snapshot_ensemble_keeps_each_cycle_end(tiny_setup, tiny_data):
    setup = dict(tiny_setup, epochs=4, schedule={"warmup_epochs": 1, "cycles": 2})
    result = train_run(setup, tiny_data, run_seeds("all", 2), **QUIET)
    assert result.snapshot_logits.shape == (2, 120, 10)
    assert result.snapshot_logits[-1].tobytes() == result.logits.tobytes()
    assert result.snapshot_logits[0].tobytes() != result.logits.tobytes()
    lrs = [h["lr"] for h in result.history]
    assert lrs[1] < 0.05 * lrs[0] and lrs[3] < 0.05 * lrs[2]  # cosine to ~0 in each cycle
    assert lrs[2] == pytest.approx(lrs[0])  # the warm-up restarts
    with pytest.raises(ValueError, match="multiple of schedule.cycles"):
        train_run(dict(setup, epochs=5), tiny_data, run_seeds("all", 2), **QUIET)


def test_one_cycle_snapshot_ensemble_is_the_plain_run(tiny_setup, tiny_data):
    plain = train_run(tiny_setup, tiny_data, run_seeds("all", 2), **QUIET)
    one = train_run(dict(tiny_setup, schedule={"warmup_epochs": 1, "cycles": 1}), tiny_data,
                    run_seeds("all", 2), **QUIET)
    assert one.logits.tobytes() == plain.logits.tobytes()


def test_onset_keeps_runs_identical_until_the_onset_epoch(tiny_setup, tiny_data):
    setup = dict(tiny_setup, epochs=4)
    a = train_run(setup, tiny_data, run_seeds("shuffle", 2, onset_epoch=2), **QUIET)
    b = train_run(setup, tiny_data, run_seeds("shuffle", 3, onset_epoch=2), **QUIET)
    assert a.history[:2] == [dict(h, seconds=a.history[i]["seconds"]) for i, h in enumerate(b.history[:2])]
    assert a.history[3]["train_loss"] != b.history[3]["train_loss"]
    flip = train_run(setup, tiny_data, run_seeds("bitflip", 2, onset_epoch=3), **QUIET)
    plain = train_run(setup, tiny_data, run_seeds("none", 1), **QUIET)
    assert [h["train_loss"] for h in flip.history[:3]] == [h["train_loss"] for h in plain.history[:3]]
    assert flip.logits.tobytes() != plain.logits.tobytes()
    with pytest.raises(ValueError, match="cannot vary 'init'"):
        run_seeds("all", 2, onset_epoch=1)

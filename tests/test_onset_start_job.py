"""The onset_start job (runvar.runs.save_onset_start): the `none` run 1 trained again keeps its
state at the end of epoch E, the very state of the `none` run 1 the workflow trained (its
predictions are checked bitwise), and an onset run started there is bitwise the run trained
from epoch 0."""

import pytest

from runvar.config import derive_setup
from runvar.io import save_predictions
from runvar.runs import DeterminismError, load_onset_start, save_onset_start, train_and_save
from runvar.seeds import run_seeds
from runvar.train import train_run

QUIET = {"log": lambda line: None}


def test_the_state_at_epoch_e_starts_onset_runs_bitwise(tiny_setup, tiny_data, tmp_path):
    base = dict(tiny_setup, epochs=3)
    none1 = tmp_path / "results/runs/cnn/none/seed1"
    train_and_save("cnn", base, "none", 1, tiny_data, none1, **QUIET)
    state = none1 / "onset_start2.pt"
    save_onset_start("cnn", base, 2, tiny_data, state, none1 / "predictions.npz", **QUIET)
    setups = {"cnn": base}
    onset = setups[derive_setup(setups, "cnn", onset_epoch=2)]
    seeds = run_seeds("shuffle", 2, onset_epoch=2)
    whole = train_run(onset, tiny_data, seeds, **QUIET)
    started = train_run(onset, tiny_data, seeds, start=load_onset_start(state, 2), **QUIET)
    assert whole.logits.tobytes() == started.logits.tobytes()
    assert started.record["onset_started_at"] == 2


def test_a_state_from_another_run_than_the_none_run_1_is_refused(tiny_setup, tiny_data, tmp_path):
    base = dict(tiny_setup, epochs=2)
    other = train_run(base, tiny_data, run_seeds("init", 2), **QUIET)  # not the none run 1
    reference = tmp_path / "predictions.npz"
    save_predictions(reference, other.logits, other.labels)
    with pytest.raises(DeterminismError, match="gave other predictions than .*predictions.npz"):
        save_onset_start("cnn", base, 1, tiny_data, tmp_path / "onset_start1.pt", reference, **QUIET)
    assert not (tmp_path / "onset_start1.pt").exists()

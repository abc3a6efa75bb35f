"""Onset runs (SD Fig 2) share their first E epochs with the `none` run 1: they start from its
training state at the end of epoch E, with the bits of training those epochs themselves."""

import pytest

from runvar.config import derive_setup
from runvar.runs import OnsetStates, load_onset_start, train_and_save_runs
from runvar.seeds import run_seeds
from runvar.train import train_run, train_runs

QUIET = {"log": lambda line: None}


@pytest.fixture
def setups(tiny_setup):
    base = dict(tiny_setup, epochs=4, evaluate_every=1)
    onset = derive_setup({"cnn": base}, "cnn", onset_epoch=2)
    return base, {**base, "onset_epoch": 2}, onset


def _same(a, b):
    assert a.logits.tobytes() == b.logits.tobytes()
    assert [r["test_accuracy"] for r in a.history] == [r["test_accuracy"] for r in b.history]
    assert all(a.state_dict[k].equal(b.state_dict[k]) for k in a.state_dict)


@pytest.mark.parametrize("variant", ["shuffle", "bitflip", "stochastic"])
@pytest.mark.parametrize("stack", [1, 2])
def test_an_onset_run_from_the_none_state_is_bitwise_the_run_trained_from_epoch_0(setups, tiny_data, variant, stack):
    base, onset, name = setups
    assert name == "cnn.onset2"
    none = train_run(base, tiny_data, run_seeds("none", 1), save_states_at=[2], **QUIET)
    start = none.states[2]
    assert start["epoch"] == 2 and len(start["history"]) == 2
    seeds = [run_seeds(variant, r, onset_epoch=2) for r in (2, 3)]
    whole = [train_run(onset, tiny_data, s, **QUIET) for s in seeds]
    started = list(train_runs(onset, tiny_data, seeds, stack=stack, start=start, **QUIET))
    for a, b in zip(whole, started):
        _same(a, b)
        assert b.record["onset_started_at"] == 2 and a.record["onset_started_at"] is None
    assert whole[0].logits.tobytes() != whole[1].logits.tobytes()  # the source did switch on


def test_the_none_run_keeps_its_states_in_a_file_and_its_bits(setups, tiny_data, tmp_path):
    base, onset, _ = setups
    path = tmp_path / "onset_states.pt"
    train_and_save_runs("cnn", base, "none", [1], tiny_data, [tmp_path / "seed1"], stack=5,
                        states=OnsetStates(path, (1, 2)), **QUIET)
    plain = train_run(base, tiny_data, run_seeds("none", 1), **QUIET)
    assert (tmp_path / "seed1" / "predictions.npz").exists()
    start = load_onset_start(path, 2)
    resumed = train_run(onset, tiny_data, run_seeds("none", 1, onset_epoch=2), start=start, **QUIET)
    _same(plain, resumed)  # nothing switches on: the none run itself
    with pytest.raises(ValueError, match=r"holds the states at the ends of epochs \[1, 2\], not of epoch 3"):
        load_onset_start(path, 3)


def test_a_state_starts_only_its_own_setup_and_epoch(setups, tiny_data):
    base, onset, _ = setups
    start = train_run(base, tiny_data, run_seeds("none", 1), save_states_at=[1], **QUIET).states[1]
    with pytest.raises(ValueError, match=r"a state at the end of epoch 1 starts onset runs of onset epoch 1, not \[2\]"):
        train_run(onset, tiny_data, run_seeds("shuffle", 2, onset_epoch=2), start=start, **QUIET)
    other = {**onset, "batch_size": 32}
    with pytest.raises(ValueError, match="the start state belongs to another setup"):
        train_run(other, tiny_data, run_seeds("shuffle", 2, onset_epoch=2), start=start, **QUIET)
    with pytest.raises(ValueError, match="onset runs of the `none` run 1 only"):
        train_run(base, tiny_data, run_seeds("shuffle", 2), save_states_at=[1], **QUIET)

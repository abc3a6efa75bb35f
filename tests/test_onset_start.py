"""Onset runs (SD Fig 2) share their first E epochs with the `none` run 1: they start from its
training state at the end of epoch E, with the bits of training those epochs themselves. On
the path the study trains: ``conv: gemm`` cnn1d runs in stacks that really stack."""

import copy

import numpy as np
import pytest
import torch

from runvar.config import derive_setup
from runvar.runs import OnsetStates, load_onset_start, train_and_save_runs
from runvar.seeds import run_seeds
from runvar.train import train_run, train_runs

from .bitwise import assert_same_run, same_bits, state_bits

QUIET = {"log": lambda line: None}
#: the study's cnn1d (conv: gemm, dropout, three layers), narrower
GEMM = {"name": "cnn1d", "channels": 8, "layers": 3, "dropout": 0.2, "conv": "gemm"}


@pytest.fixture
def setups(tiny_setup):
    base = dict(tiny_setup, model=GEMM, epochs=4, evaluate_every=1)
    onset = derive_setup({"cnn": base}, "cnn", onset_epoch=2)
    return base, {**base, "onset_epoch": 2}, onset


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
    assert [(r.record["stacked"], r.record["stacked_with"]) for r in started] == [(stack > 1, stack)] * 2
    for a, b in zip(whole, started):
        assert_same_run(a, b)
        assert b.record["onset_started_at"] == 2 and a.record["onset_started_at"] is None
    assert not same_bits(whole[0].logits, whole[1].logits)  # the source did switch on
    if variant == "bitflip":
        assert all(r.record["bitflip"] is not None for r in started)
    # control: the runs do start from the state; one float32 step in one weight of it shows
    perturbed = copy.deepcopy(start)
    weight = next(iter(perturbed["model"].values()))
    weight.view(-1)[0] = torch.nextafter(weight.view(-1)[0], torch.tensor(float("inf")))
    moved = list(train_runs(onset, tiny_data, seeds, stack=stack, start=perturbed, **QUIET))
    assert all(not same_bits(a.logits, b.logits) for a, b in zip(moved, started))


def test_the_none_run_keeps_its_states_in_a_file_and_its_bits(setups, tiny_data, tmp_path):
    base, onset, _ = setups
    path = tmp_path / "onset_states.pt"
    [record] = train_and_save_runs("cnn", base, "none", [1], tiny_data, [tmp_path / "seed1"], stack=5,
                                   states=OnsetStates(path, (1, 2)), **QUIET)
    assert record["stacked"]  # the stacked path (a stack of its one run)
    plain = train_run(base, tiny_data, run_seeds("none", 1), save_states_at=[1, 2], **QUIET)
    saved = np.load(tmp_path / "seed1" / "predictions.npz")
    assert same_bits(saved["logits"], plain.logits)  # the saved run is the run, bit for bit
    assert state_bits(torch.load(tmp_path / "seed1" / "model.pt")["state_dict"]) == state_bits(plain.state_dict)
    for epoch in (1, 2):  # the states in the file are the run's at the ends of those epochs
        kept, fresh = load_onset_start(path, epoch), plain.states[epoch]
        assert state_bits(kept["model"]) == state_bits(fresh["model"])
        assert {k: state_bits(v) for k, v in kept["optimizer"].items()} == \
               {k: state_bits(v) for k, v in fresh["optimizer"].items()}
        assert state_bits(kept["generators"]) == state_bits(fresh["generators"])
    start = load_onset_start(path, 2)
    resumed = train_run(onset, tiny_data, run_seeds("none", 1, onset_epoch=2), start=start, **QUIET)
    assert_same_run(plain, resumed)  # nothing switches on: the none run itself
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

"""A job checks that a stack gives the bits of its runs alone before it trains one, and trains
them one at a time (and says so) where it does not.

The mismatch is planted: ``torch.bmm``, which only the stacked model calls (a run alone
multiplies with ``mm``), is patched to move its results by one float32 step, as another CPU's
kernel rounding its sums otherwise would."""

import json

import numpy as np
import pytest
import torch

from runvar.runs import train_and_save_runs
from runvar.seeds import run_seeds
from runvar.train import _train_group, batch_sizes, stack_mismatch, train_run, train_runs

from .bitwise import assert_same_run, same_bits, state_bits

GEMM = {"name": "cnn1d", "channels": 8, "layers": 3, "dropout": 0.2, "conv": "gemm"}


def _one_step_up(out: torch.Tensor) -> torch.Tensor:
    """``out`` with every element one float32 step up."""
    return torch.nextafter(out, torch.full_like(out, float("inf")))


@pytest.fixture
def bmm_off_by_one_ulp(monkeypatch):
    bmm = torch.bmm
    monkeypatch.setattr(torch, "bmm", lambda *args, **kwargs: _one_step_up(bmm(*args, **kwargs)))


@pytest.fixture
def setup(tiny_setup):
    return {**tiny_setup, "model": GEMM}


def test_batch_sizes_of_an_epoch(setup, tiny_data):
    assert len(tiny_data.y_train) == 480
    assert batch_sizes(setup, tiny_data) == [64, 32]  # 480 = 7 x 64 + 32
    assert batch_sizes({**setup, "batch_size": 60}, tiny_data) == [60]
    assert batch_sizes({**setup, "batch_size": 1000}, tiny_data) == [480]


def test_the_check_passes_on_this_machine_and_finds_the_planted_difference(setup, tiny_data, monkeypatch):
    seeds = [run_seeds("all", r) for r in (1, 2, 3)]
    assert stack_mismatch(setup, tiny_data, seeds) is None
    with monkeypatch.context() as patch:
        bmm = torch.bmm
        patch.setattr(torch, "bmm", lambda *args, **kwargs: _one_step_up(bmm(*args, **kwargs)))
        reason = stack_mismatch(setup, tiny_data, seeds)
    assert reason is not None and "a stack of 3 differs from run 1" in reason and "batch size 64" in reason


def test_the_smaller_last_batch_is_checked(setup, tiny_data, monkeypatch):
    """A difference only at the last batch's shape (32 examples; ``bmm`` picks its kernel by
    shape) is found: the final layer's product is patched for batches of 32 only."""
    baddbmm = torch.baddbmm

    def tail_only(bias, a, b, **kwargs):
        out = baddbmm(bias, a, b, **kwargs)
        return _one_step_up(out) if a.shape[1] == 32 else out

    monkeypatch.setattr(torch, "baddbmm", tail_only)
    seeds = [run_seeds("all", r) for r in (1, 2)]
    reason = stack_mismatch(setup, tiny_data, seeds)
    assert reason is not None and "batch size 32" in reason and "(output)" in reason
    assert stack_mismatch({**setup, "batch_size": 60}, tiny_data, seeds) is None  # no batch of 32


def _train_and_save_three(setup, data, tmp_path, variant, log):
    """Runs 1-3 of ``variant`` through the job's entry point in stacks of 2: their run
    directories, the records it returns and the run.json files it wrote."""
    outs = [tmp_path / f"seed{r}" for r in (1, 2, 3)]
    for out in outs:
        out.mkdir()
    records = train_and_save_runs("cnn1d", setup, variant, [1, 2, 3], data, outs, log=log, stack=2)
    return outs, records, [json.loads((out / "run.json").read_text()) for out in outs]


def test_a_stack_that_passes_trains_as_a_stack_and_says_so(setup, tiny_data, tmp_path):
    lines = []
    outs, records, saved = _train_and_save_three(setup, tiny_data, tmp_path, "all", lines.append)
    for record in (records, saved):
        assert [(r["stacked"], r["stack_fallback"], r["stacked_with"]) for r in record] == \
               [(True, None, 2), (True, None, 2), (True, None, 1)]
    checks = [line for line in lines if line.startswith("stack check")]
    assert checks == [
        "stack check: a stack of 2 gives the bits of its runs alone (one step at batch sizes 64, 32; "
        + checks[0].rsplit("; ", 1)[1],
        "stack check: a stack of 1 gives the bits of its runs alone (one step at batch sizes 64, 32; "
        + checks[1].rsplit("; ", 1)[1],
    ]
    # the check leaves the runs as they were: bitwise the runs trained alone
    alone = [train_run(setup, tiny_data, run_seeds("all", r), log=lambda _: None) for r in (1, 2, 3)]
    stacked = list(train_runs(setup, tiny_data, [run_seeds("all", r) for r in (1, 2, 3)], log=lambda _: None, stack=2))
    for a, b in zip(alone, stacked):
        assert not a.record["stacked"] and a.record["stack_fallback"] is None
        assert b.record["stacked"] and b.record["stack_fallback"] is None
        assert_same_run(a, b)


def test_a_stack_that_differs_falls_back_to_runs_alone_and_says_so(setup, tiny_data, tmp_path, bmm_off_by_one_ulp):
    seeds = [run_seeds("bitflip", r) for r in (1, 2, 3)]
    quiet = lambda _: None  # noqa: E731
    # the planted difference would change the runs: a stack trained anyway gives other bits
    alone = [train_run(setup, tiny_data, s, log=quiet) for s in seeds]
    forced = _train_group(setup, tiny_data, seeds[:2], quiet, None, stacked=True)
    assert not same_bits(forced[0].logits, alone[0].logits)

    lines = []
    outs, records, saved = _train_and_save_three(setup, tiny_data, tmp_path, "bitflip", lines.append)
    for record in (*records, *saved):
        assert record["stacked"] is False and record["stacked_with"] == 1
        assert record["stack_fallback"].startswith("a stack of ")
        assert "bmm rounding as mm" in record["stack_fallback"]
    assert [r["stack_fallback"].split(" differs")[0] for r in saved] == ["a stack of 2"] * 2 + ["a stack of 1"]
    failed = [line for line in lines if line.startswith("stack check FAILED")]
    assert len(failed) == 2 and "one at a time" in failed[0]  # the stack of 2, then the stack of 1
    # the runs are bitwise the runs trained alone (bit flips included)
    for out, a, record in zip(outs, alone, saved):
        predictions = np.load(out / "predictions.npz")
        assert same_bits(predictions["logits"], a.logits)
        assert state_bits(torch.load(out / "model.pt")["state_dict"]) == state_bits(a.state_dict)
        assert record["bitflip"] == a.record["bitflip"] is not None

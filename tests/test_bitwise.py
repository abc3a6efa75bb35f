"""The bitwise helpers the stacking and onset tests rest on tell apart what value equality hides."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from .bitwise import assert_same_run, same_bits


def test_signed_zeros_and_dtypes_differ_in_bits_nan_is_itself():
    zero, negative_zero = torch.tensor([1.0, 0.0]), torch.tensor([1.0, -0.0])
    assert torch.equal(zero, negative_zero) and np.array_equal(zero.numpy(), negative_zero.numpy())
    assert not same_bits(zero, negative_zero) and not same_bits(zero.numpy(), negative_zero.numpy())
    nan = torch.tensor([float("nan")])
    assert not torch.equal(nan, nan) and same_bits(nan, nan.clone())
    assert not same_bits(zero, zero.double()) and not same_bits(zero, zero.view(2, 1))
    assert same_bits(None, None) and not same_bits(None, zero)


def _run(weight: float, loss: float = 0.5, flip: dict | None = None) -> SimpleNamespace:
    return SimpleNamespace(logits=np.ones((2, 3), np.float32), snapshot_logits=None,
                           state_dict={"w": torch.tensor([weight])}, record={"bitflip": flip},
                           history=[{"epoch": 1, "train_loss": loss, "test_accuracy": float("nan"), "seconds": 1.0}])


def test_a_run_differing_in_one_place_is_not_the_same_run():
    assert_same_run(_run(0.0), _run(0.0))
    for other in (_run(-0.0), _run(0.0, loss=-0.0 + 0.5000000000000001), _run(0.0, flip={"index": 1})):
        with pytest.raises(AssertionError):
            assert_same_run(_run(0.0), other)
    assert_same_run(_run(0.0), SimpleNamespace(**{**vars(_run(0.0)), "history": [
        {"epoch": 1, "train_loss": 0.5, "test_accuracy": float("nan"), "seconds": 9.0}]}))  # timings aside

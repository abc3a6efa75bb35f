"""Bitwise comparisons for the tests that prove runs identical: bytes, not values
(``np.array_equal`` and ``torch.equal`` call 0.0 and -0.0 equal, and NaN unequal to itself)."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import torch


def bits(x: torch.Tensor | np.ndarray | None) -> tuple[str, tuple[int, ...], bytes] | None:
    """``x``'s dtype, shape and bytes (None stays None)."""
    if x is None:
        return None
    array = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    return str(array.dtype), array.shape, np.ascontiguousarray(array).tobytes()


def same_bits(a: torch.Tensor | np.ndarray | None, b: torch.Tensor | np.ndarray | None) -> bool:
    """Whether ``a`` and ``b`` have the same dtype, shape and bytes."""
    return bits(a) == bits(b)


def state_bits(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    """A state dict's tensors as :func:`bits`."""
    return {name: bits(tensor) for name, tensor in state.items()}


def history_bits(history: list[dict[str, float]]) -> list[list[tuple[str, Any]]]:
    """A history without its timings, each float as its 8 bytes."""
    return [[(k, struct.pack("<d", v) if isinstance(v, float) else v) for k, v in row.items() if k != "seconds"]
            for row in history]


def assert_same_run(a: Any, b: Any) -> None:
    """Two :class:`~runvar.train.RunResult` are bitwise one run: test logits, snapshot logits,
    every weight, the history (but its timings) and the bit-flip record."""
    assert same_bits(a.logits, b.logits), "test logits differ"
    assert same_bits(a.snapshot_logits, b.snapshot_logits), "snapshot logits differ"
    assert state_bits(a.state_dict) == state_bits(b.state_dict), "weights differ"
    assert history_bits(a.history) == history_bits(b.history), "histories differ"
    assert a.record["bitflip"] == b.record["bitflip"]


def train_alone_and_stacked(setup: dict, data: Any, seeds: list) -> tuple[Any, list]:
    """The run of ``seeds[0]`` trained alone, and the runs of ``seeds`` trained as one stack."""
    from runvar.train import train_run, train_runs

    alone = train_run(setup, data, seeds[0], log=lambda _: None)
    return alone, list(train_runs(setup, data, seeds, log=lambda _: None, stack=len(seeds)))


def assert_same_runs_both_ways(fast: tuple[Any, list], slow: tuple[Any, list], variant: str) -> None:
    """Runs of :func:`train_alone_and_stacked` through a fast path (``fast``) and through torch's
    operations (``slow``) are bitwise the same, alone and stacked, and the stacked runs are the
    run alone; the stacked runs ran stacked, with a flipped bit exactly when ``variant`` flips one."""
    (fast_alone, fast_stacked), (slow_alone, slow_stacked) = fast, slow
    assert [r.record["stacked"] for r in fast_stacked] == [True] * len(fast_stacked)
    assert [r.record["bitflip"] is not None for r in fast_stacked] == [variant == "bitflip"] * len(fast_stacked)
    assert_same_run(fast_alone, slow_alone)
    for fast_run, slow_run in zip(fast_stacked, slow_stacked, strict=True):
        assert_same_run(fast_run, slow_run)
    assert_same_run(fast_alone, fast_stacked[0])

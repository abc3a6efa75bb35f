"""Named random streams of the synthetic study, all derived from one seed.

Every draw comes from its own generator, keyed by what it is for (the data model, the
evaluation set, a pair's training examples, a model's initialisation or shuffling), so that
changing one setting changes no stream that another setting shares: pair k sees the same
examples in every setting, the evaluation set is the same everywhere, and "same init" and
"different init" share the first model's initial weights (common random numbers).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import torch


class Stream(IntEnum):
    """What a random stream is used for (the first element of its key)."""

    DATA_MODEL = 0
    EVAL = 1
    TRAIN = 2
    WARM_TRAIN = 3
    INIT = 4
    SHUFFLE = 5
    WARM_SHUFFLE = 6


def numpy_rng(seed: int, stream: Stream, *key: int) -> np.random.Generator:
    """A numpy Generator for ``stream`` with extra ``key`` integers (pair, member, ...)."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(stream), *map(int, key))))


def torch_generator(seed: int, stream: Stream, *key: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch Generator on ``device`` seeded from the same derivation as :func:`numpy_rng`."""
    sequence = np.random.SeedSequence(int(seed), spawn_key=(int(stream), *map(int, key)))
    gen = torch.Generator(device=device)
    gen.manual_seed(int(sequence.generate_state(1, np.uint64)[0] >> np.uint64(1)))
    return gen


def window_permutation(n: int, window: int, rng: np.random.Generator) -> np.ndarray:
    """Indices 0..n-1 shuffled within consecutive windows of ``window`` positions.

    Position ``i`` of the result holds an index from the same window as ``i``; with
    ``window`` equal to the mini-batch size every example stays inside its own mini-batch.
    """
    if window < 1 or n % window:
        raise ValueError(f"window {window} must be >= 1 and divide the {n} examples")
    return rng.permuted(np.arange(n).reshape(n // window, window), axis=1).reshape(n)

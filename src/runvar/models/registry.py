"""The model registry: names -> constructors, and seeded construction."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

#: A constructor takes the input shape (channels, *spatial) and the class count, plus its own
#: keyword arguments from the setup's ``model`` block.
ModelFactory = Callable[..., nn.Module]

MODELS: dict[str, ModelFactory] = {}


class UnknownModelError(ValueError):
    """A model name that is not registered."""


def register(name: str) -> Callable[[ModelFactory], ModelFactory]:
    """Decorator: make a constructor available to setups under ``name``."""

    def add(factory: ModelFactory) -> ModelFactory:
        if name in MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        MODELS[name] = factory
        return factory

    return add


def build_model(
    name: str,
    input_shape: tuple[int, ...],
    num_classes: int,
    init_seed: int,
    **options: object,
) -> nn.Module:
    """Build model ``name`` with every parameter drawn from ``init_seed`` alone.

    As in the reference code, the global generator is seeded around the constructor and its
    state restored afterwards, so construction neither reads nor disturbs the state that any
    other code sees: two builds with the same seed are bitwise identical, whatever ran before.
    """
    if name not in MODELS:
        raise UnknownModelError(f"unknown model {name!r}; valid models: {', '.join(sorted(MODELS))}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(init_seed))
        try:
            return MODELS[name](input_shape=tuple(input_shape), num_classes=num_classes, **options)
        except TypeError as err:
            raise ValueError(f"model {name!r}: bad options {sorted(options)}: {err}") from None

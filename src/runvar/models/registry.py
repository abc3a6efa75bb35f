"""The model registry: names -> constructors, and seeded construction."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

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
    return _seeded_build(MODELS[name], repr(name), input_shape, num_classes, init_seed, options)


def _seeded_build(factory: ModelFactory, what: str, input_shape: tuple[int, ...], num_classes: int,
                  init_seed: int, options: Mapping[str, Any]) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(init_seed))
        try:
            model = factory(input_shape=tuple(input_shape), num_classes=num_classes, **options)
        except TypeError as err:
            raise ValueError(f"model {what}: bad options {sorted(options)}: {err}") from None
    if not isinstance(model, nn.Module):
        raise TypeError(f"model {what} returned {type(model).__name__}, not a torch.nn.Module")
    return model


def import_factory(spec: str) -> ModelFactory:
    """The factory named by ``"package.module:factory"``; the package must be importable
    (installed, or on PYTHONPATH)."""
    module_name, sep, attribute = str(spec).partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"model import {spec!r}: expected 'package.module:factory'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"model import {spec!r}: cannot import {module_name!r} ({err}); install the "
                         "package (pip install -e) or add its directory to PYTHONPATH") from None
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ValueError(f"model import {spec!r}: {module_name} has no callable {attribute!r}")
    return factory


def build_from_block(block: Mapping[str, Any], input_shape: tuple[int, ...], num_classes: int,
                     init_seed: int) -> nn.Module:
    """Build the model of a setup's ``model`` block: ``{name: registered, **options}`` or
    ``{import: "package.module:factory", kwargs: {...}}``. An imported factory is called as
    ``factory(input_shape=..., num_classes=..., **kwargs)`` with the global generator seeded from
    ``init_seed``, like a registered one."""
    options = dict(block)
    if "import" in options:
        spec = options["import"]
        return _seeded_build(import_factory(spec), repr(spec), input_shape, num_classes, init_seed,
                             options.get("kwargs") or {})
    return build_model(options.pop("name"), input_shape, num_classes, init_seed, **options)

"""Models checked without data: every setup's model is built on the meta device (no memory,
no random draws) for its dataset's shape, so a misspelt or mistyped model option stops the
workflow before any job runs."""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Mapping
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from ..models import MODELS, build_model

#: Input shape (channels, *spatial) and class count of each registered dataset's prepared
#: arrays; no dataset option changes them, so models can be checked without preparing data.
DATASET_SHAPES: dict[str, tuple[tuple[int, ...], int]] = {
    "mnist1d": ((1, 40), 10),
    "cifar10": ((3, 32, 32), 10),
    "cifar100": ((3, 32, 32), 100),
    "mnist": ((1, 28, 28), 10),
}

#: The factory arguments that come from the dataset, not from the setup's ``model`` block.
_DATA_ARGUMENTS = ("input_shape", "num_classes")


def dataset_shape(dataset: str | None) -> tuple[tuple[int, ...], int] | None:
    """``(input_shape, num_classes)`` of a registered dataset without preparing it; None when
    the dataset is not one whose shape is known.

    >>> dataset_shape("cifar100"), dataset_shape("nosuch")
    (((3, 32, 32), 100), None)
    """
    return DATASET_SHAPES.get(dataset) if isinstance(dataset, str) else None

def model_options(model: str) -> list[str] | None:
    """The options a registered model accepts in a ``model`` block (its factory's keyword
    parameters other than the input shape and class count); None if it takes any."""
    params = inspect.signature(MODELS[model]).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return sorted(p.name for p in params if p.kind in named and p.name not in _DATA_ARGUMENTS)

def model_problems(name: str, setup: Mapping) -> list[str]:
    """Problems of the resolved setup ``name``'s model block: unknown options, or options its
    factory rejects when the model is built (on the meta device: no memory, no data) for the
    setup's dataset. A model or dataset that is not registered is reported elsewhere."""
    options = dict(setup.get("model") or {})
    model = options.pop("name", None)
    if not isinstance(model, str) or model not in MODELS:
        return []
    where = f"setups.{name}.model"
    accepted = model_options(model)
    if accepted is not None:
        unknown = [option for option in options if option not in accepted]
        if unknown:
            return [
                f"{where}: unknown option {option!r} for model {model!r}; "
                f"accepted options: {', '.join(accepted) or '(none)'}"
                for option in unknown
            ]
    shape = dataset_shape(setup.get("dataset"))
    if shape is None:
        return []
    error = _model_error(model, shape, options)
    if error is None:
        return []
    built_for = f"for dataset {setup.get('dataset')} (input {shape[0]}, {shape[1]} classes)"
    blamed = {}
    if len(options) > 1 and _model_error(model, shape, {}) is None:
        # the model builds with its defaults: blame the options it rejects on their own
        alone = {option: _model_error(model, shape, {option: v}) for option, v in options.items()}
        blamed = {option: why for option, why in alone.items() if why is not None}
    if blamed:
        return [
            f"{where}: model {model!r} rejects option {option}={options[option]!r} {built_for}: {why}"
            for option, why in blamed.items()
        ]
    return [f"{where}: model {model!r} with options {options} cannot be built {built_for}: {error}"]

def _model_error(
    model: str, shape: tuple[tuple[int, ...], int], options: Mapping[str, Any]
) -> str | None:
    """Why ``model`` cannot be built with ``options`` for data of ``shape`` (None if it can)."""
    try:
        key = json.dumps(options, sort_keys=True)
    except (TypeError, ValueError):  # not JSON: build it without the cache
        return _build_error(model, *shape, options)
    return _cached_build_error(model, *shape, key)

class _SkipMetaInit(TorchFunctionMode):
    """Skip random initialisation of meta tensors: they hold no values anyway, and the meta
    kernels of ``normal_`` & co. import torch._dynamo and sympy (about 3 s) on first use."""

    RANDOM = frozenset(
        {"normal_", "uniform_", "bernoulli_", "random_", "exponential_", "log_normal_",
         "cauchy_", "geometric_"}
    )

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        if (
            getattr(func, "__name__", None) in self.RANDOM
            and args
            and isinstance(args[0], torch.Tensor)
            and args[0].is_meta
        ):
            return args[0]
        return func(*args, **(kwargs or {}))

def meta_model(
    model: str, input_shape: tuple[int, ...], num_classes: int, options: Mapping[str, Any]
) -> torch.nn.Module:
    """``model`` with ``options`` built on meta tensors: its layers, no memory, no random draws."""
    with torch.device("meta"), _SkipMetaInit():
        return build_model(model, input_shape, num_classes, 0, **options)

def _build_error(
    model: str, input_shape: tuple[int, ...], num_classes: int, options: Mapping[str, Any]
) -> str | None:
    """Why ``model`` cannot be built with ``options`` (None if it can), built on meta tensors."""
    try:
        meta_model(model, input_shape, num_classes, options)
    except (TypeError, ValueError, RuntimeError) as err:
        return str(err)
    return None

@functools.lru_cache(maxsize=256)
def _cached_build_error(
    model: str, input_shape: tuple[int, ...], num_classes: int, options_json: str
) -> str | None:
    return _build_error(model, input_shape, num_classes, json.loads(options_json))

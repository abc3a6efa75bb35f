"""Prepared datasets: generation/reading by name, the ``.npz`` format, and loading."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..io import CorruptFileError, load_npz, save_npz
from .arrays import ARRAYS, checksum
from .npz_files import NPZ_OPTION, prepare_npz

#: name -> function(options) returning the four arrays (x float32 with a channel axis, y int64)
#: and optionally ``pad_value``: per-channel value of padding for random crops (default 0).
Preparer = Callable[..., dict[str, np.ndarray]]
DATASETS: dict[str, Preparer] = {}
#: name -> function(examples, seed) returning the four arrays of a *check set*: ``examples`` more
#: test examples from the dataset's own generator (another seed) and an empty training split, for
#: the plateau checks (:func:`prepare_check_set`). Only generated datasets have one.
CHECK_SETS: dict[str, Callable[[int, int], dict[str, np.ndarray]]] = {}


class UnknownDatasetError(ValueError):
    """A dataset name with no preparer."""


def register_dataset(name: str) -> Callable[[Preparer], Preparer]:
    def add(prepare: Preparer) -> Preparer:
        DATASETS[name] = prepare
        return prepare

    return add


def register_check_set(name: str) -> Callable[[Callable], Callable]:
    def add(generate: Callable) -> Callable:
        CHECK_SETS[name] = generate
        return generate

    return add


@dataclass
class Dataset:
    """A whole dataset as tensors: x is (N, channels, *spatial) float32, y is (N,) int64."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    checksum: str
    pad_value: torch.Tensor | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return max(int(y.max()) for y in (self.y_train, self.y_test) if y.numel()) + 1  # a check set has no training split

    def to(self, device: str | torch.device) -> "Dataset":
        return Dataset(
            self.name,
            *(getattr(self, a).to(device) for a in ARRAYS),
            checksum=self.checksum,
            pad_value=None if self.pad_value is None else self.pad_value.to(device),
        )


def prepare_dataset(name: str, out_path: str | os.PathLike[str], **options: Any) -> str:
    """Generate or read dataset ``name`` and write it atomically to ``out_path``.

    Returns the checksum, which is also stored in the file and verified on every load. Options
    with ``npz`` (a user's file, :mod:`runvar.data.npz_files`) read that file, whatever the name.
    """
    preparer = prepare_npz if NPZ_OPTION in options else DATASETS.get(name)
    if preparer is None:
        raise UnknownDatasetError(
            f"unknown dataset {name!r}; valid datasets: {', '.join(sorted(DATASETS))}"
        )
    return _save(name, preparer(**options), options, out_path)


def prepare_check_set(name: str, out_path: str | os.PathLike[str], examples: int, seed: int) -> str:
    """Generate ``examples`` fresh test examples of dataset ``name`` from its generator with
    ``seed`` (:data:`CHECK_SETS`) and write them like a prepared dataset (empty training split).

    A plateau check compares two means of runs that disagree on few test examples; on a larger
    set drawn from the same distribution their accuracies carry less sampling noise
    (docs/protocol.md, Check sets). Returns the checksum."""
    if name not in CHECK_SETS:
        raise UnknownDatasetError(f"dataset {name!r} has no check-set generator; datasets with one: "
                                  f"{', '.join(sorted(CHECK_SETS)) or 'none'}")
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 1:
        raise ValueError(f"a check set of {name} needs examples >= 1, got {examples!r}")
    return _save(name, CHECK_SETS[name](examples, int(seed)), {"check_set": True, "examples": examples,
                                                                "seed": int(seed)}, out_path)


def _save(name: str, arrays: dict[str, np.ndarray], options: dict[str, Any], out_path: str | os.PathLike[str]) -> str:
    _check_arrays(name, arrays)
    digest = checksum(arrays)
    meta = json.dumps({"name": name, "options": options, "checksum": digest}, sort_keys=True)
    save_npz(out_path, **arrays, meta=np.array(meta))
    return digest


def _check_arrays(name: str, arrays: dict[str, np.ndarray]) -> None:
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.float32 or y.dtype != np.int64 or x.ndim < 2 or len(x) != len(y):
            raise ValueError(
                f"dataset {name!r} {split}: expected float32 x (N, C, ...) and int64 y (N,), "
                f"got {x.dtype} {x.shape} and {y.dtype} {y.shape}"
            )


def load_dataset(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> Dataset:
    """Load a prepared dataset, verifying its checksum."""
    arrays = load_npz(path, {"x_train": None, "y_train": 1, "x_test": None, "y_test": 1, "meta": 0})
    meta = json.loads(str(arrays["meta"]))
    digest = checksum(arrays)
    if digest != meta["checksum"]:
        raise CorruptFileError(
            f"{path}: checksum mismatch (stored {meta['checksum'][:12]}, computed {digest[:12]}); "
            "delete it and rerun the workflow to prepare it again"
        )
    tensors = [torch.from_numpy(arrays[a]) for a in ARRAYS]
    pad = arrays.get("pad_value")
    if pad is not None and pad.shape != (arrays["x_train"].shape[1],):
        raise CorruptFileError(f"{path}: pad_value has shape {pad.shape}, expected one value per channel")
    pad_value = None if pad is None else torch.from_numpy(pad)
    return Dataset(meta["name"], *tensors, checksum=digest, pad_value=pad_value).to(device)

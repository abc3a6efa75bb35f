"""A plateau check's runs evaluated on a check set: more test examples from the data set's own
generator (:func:`runvar.data.prepare_check_set`), so that the check's change carries less of the
test set's sampling noise (docs/protocol.md, Check sets)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .data import Dataset
from .runs import execution_device, load_trained_models
from .train import predict


def check_set_finals(setup: Mapping[str, Any], model_files: Sequence[str | os.PathLike[str]],
                     check: Dataset) -> dict[str, np.ndarray]:
    """Each run's final model (its ``model.pt``, a run of ``setup``) on the check set ``check``:
    ``accuracy`` in percent and mean ``cross_entropy``, one value per file, in their order (the
    :data:`runvar.plateau.TEST_ACCURACY` metric and the value it reports beside)."""
    device = execution_device(setup)
    values = [evaluate(load_trained_models(setup, check.input_shape, check.num_classes, path, device)[0], check)
              for path in model_files]
    return {"accuracy": np.array([v[0] for v in values]), "cross_entropy": np.array([v[1] for v in values])}


def evaluate(model: torch.nn.Module, check: Dataset) -> tuple[float, float]:
    """``model``'s accuracy (percent) and mean cross-entropy on the check set ``check``."""
    device = next(model.parameters()).device
    x, y = check.x_test.to(device), check.y_test.to(device)
    logits = predict(model, x)
    return 100.0 * float((logits.argmax(1) == y).double().mean()), float(F.cross_entropy(logits.double(), y))


def paired_check_set(path: str | os.PathLike[str], setups: Sequence[Mapping[str, Any]],
                     model_files: Sequence[Sequence[str | os.PathLike[str]]]) -> dict[str, Any]:
    """The ``check_set`` argument of :func:`runvar.plateau.plateau_check`: the check set at
    ``path`` (its size and checksum) and the finals of the runs at E and at 2E on it, ``setups``
    and ``model_files`` holding the two setups and their runs' ``model.pt``, in that order."""
    from .data import load_dataset

    check = load_dataset(path)
    at_e, at_2e = (check_set_finals(setup, files, check) for setup, files in zip(setups, model_files))
    return {"examples": int(len(check.y_test)), "checksum": check.checksum,
            "finals": {key: (at_e[key], at_2e[key]) for key in at_e}}


__all__ = ["check_set_finals", "evaluate", "paired_check_set"]

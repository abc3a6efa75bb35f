"""Test-time augmentation (TTA) of saved runs: logits averaged over fixed views (RE Table 7).

View sets are named as in the reproduction report: ``flip`` (the mirrored image), ``crop{K}``
(K crops of the padded input on a regular offset grid: for padding 4, ``crop25`` = offsets
{0,2,4,6,8}^2 and ``crop81`` = all 9x9 one-pixel offsets), and ``flip-crop{K}`` (every crop of
the image and of its mirror). Crops pad with the dataset's ``pad_value`` (per channel, the
normalised value of a black pixel), as the reference does. For 1-D signals the grids are the
1-D analogues, ``crop5`` = offsets {0,2,4,6,8} and ``crop9`` = all 9 offsets, and ``flip`` does
not exist (a mirrored signal is not the same class). ``identity`` is the single unchanged view.

A *strategy* says how the views are averaged, as in the reference's ``tta_strategy``:
``tta`` averages the original input and every augmented view (1 + 25 logits for crop25),
``tta_noorig`` the augmented views only. A TTA *method* is ``{strategy}-{view set}``
(``tta-crop25``, ``tta_noorig-flip-crop81``); its logits are saved as ``{method}.npz``.

Models are rebuilt from ``model.pt`` (final weights and every snapshot): no retraining.

>>> [v.offsets for v in view_set("crop5", spatial_dims=1, padding=4)]
[(0,), (2,), (4,), (6,), (8,)]
>>> len(view_set("flip-crop81", spatial_dims=2, padding=4)), len(method_views("tta-flip-crop81", 2, 4))
(162, 163)
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data.augment import pad
from ..io import load_prediction_stack
from ..runs import execution_device, load_trained_models
from ..train import predict
from .ensembles import bootstrap_variability, snapshot_ensemble_stack


@dataclass(frozen=True)
class View:
    """One test-time view: mirror or not, and the crop offset per spatial axis in the padded input."""

    flip: bool
    offsets: tuple[int, ...]


def view_set(name: str, spatial_dims: int, padding: int) -> list[View]:
    """The views of view set ``name`` for inputs with ``spatial_dims`` axes padded by ``padding``."""
    match = re.fullmatch(r"(identity|flip|(flip-)?crop(\d+))", name)
    if not match:
        raise ValueError(
            f"unknown TTA view set {name!r}; valid: identity, flip, crop<K>, flip-crop<K> "
            "(K crops on a regular grid, e.g. crop25/crop81 for images, crop5/crop9 for signals)"
        )
    flip = name.startswith("flip")
    if flip and spatial_dims != 2:
        raise ValueError(f"TTA view set {name!r}: flip needs 2-D images; these inputs have {spatial_dims} spatial axis")
    if name == "flip":  # the reference's flip: the mirror alone
        return [View(True, (padding,) * spatial_dims)]
    offsets = [(padding,) * spatial_dims]
    if match.group(3):
        offsets = _crop_grid(name, int(match.group(3)), spatial_dims, padding)
    return [View(f, o) for f in ((False, True) if flip else (False,)) for o in offsets]


#: TTA strategies (the reference's ``tta_strategy``): with the original input, or without.
STRATEGIES: tuple[str, ...] = ("tta", "tta_noorig")


def tta_methods(strategies: Sequence[str], views: Sequence[str]) -> list[str]:
    """Method names ``{strategy}-{view set}``, strategy by strategy.

    >>> tta_methods(["tta", "tta_noorig"], ["crop5"])
    ['tta-crop5', 'tta_noorig-crop5']
    """
    for strategy in strategies:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown TTA strategy {strategy!r}; valid: {', '.join(STRATEGIES)}")
    return [f"{strategy}-{view}" for strategy in strategies for view in views]


def method_views(method: str, spatial_dims: int, padding: int) -> list[View]:
    """The views whose logits method ``{strategy}-{view set}`` averages: under ``tta`` the
    original input first, then the view set's views; under ``tta_noorig`` the views only."""
    strategy, _, name = method.partition("-")
    if strategy not in STRATEGIES or not name:
        raise ValueError(f"TTA method {method!r} is not <strategy>-<view set> with strategy in {STRATEGIES}")
    views = view_set(name, spatial_dims, padding)
    original = View(False, (padding,) * spatial_dims)
    return [original, *views] if strategy == "tta" else views


def _crop_grid(name: str, count: int, spatial_dims: int, padding: int) -> list[tuple[int, ...]]:
    per_axis = round(count ** (1.0 / spatial_dims))
    if per_axis**spatial_dims != count or per_axis < 2 or (2 * padding) % (per_axis - 1):
        raise ValueError(
            f"TTA view set {name!r}: {count} crops is not a regular grid of offsets in "
            f"[0, {2 * padding}] over {spatial_dims} axis/axes (padding {padding})"
        )
    step = 2 * padding // (per_axis - 1)
    axis = range(0, 2 * padding + 1, step)
    return list(itertools.product(axis, repeat=spatial_dims))


def apply_view(x: torch.Tensor, view: View, padding: int, fill: torch.Tensor | None = None) -> torch.Tensor:
    """``x`` (N, C, *spatial) padded by ``padding`` (with ``fill[c]`` per channel, else 0),
    cropped at the view's offsets, mirrored if the view says so; contiguous, so the model sees
    the same memory layout as for ``x``."""
    spatial = x.shape[2:]
    out = pad(x, padding, fill) if padding else x
    for axis, (offset, size) in enumerate(zip(view.offsets, spatial)):
        out = out.narrow(2 + axis, offset, size)
    if view.flip:
        out = out.flip(-1)
    return out.contiguous()


def tta_logits(
    model: nn.Module, x: torch.Tensor, views: Sequence[View], padding: int, fill: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean logits of ``model`` over ``views`` of ``x`` (batched as :func:`runvar.train.predict`)."""
    total = None
    for view in views:
        logits = predict(model, apply_view(x, view, padding, fill))
        total = logits if total is None else total + logits
    return total / len(views)


def run_tta(
    setup: Mapping[str, Any], x_test: torch.Tensor, num_classes: int,
    model_path: str | os.PathLike[str], methods: Sequence[str], padding: int,
    fill: torch.Tensor | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """TTA logits of one saved run per method (``{strategy}-{view set}``): (final model (N, C),
    snapshots (S, N, C) or None). Crops pad with ``fill`` (the dataset's ``pad_value``)."""
    device = execution_device(setup)
    x = x_test.to(device)
    fill = None if fill is None else fill.to(device)
    final, snapshots = load_trained_models(setup, tuple(x.shape[1:]), num_classes, model_path, device)
    spatial = x.dim() - 2
    out = {}
    for name in methods:
        views = method_views(name, spatial, padding)
        logits = tta_logits(final, x, views, padding, fill).cpu().numpy()
        snaps = [tta_logits(m, x, views, padding, fill).cpu().numpy() for m in snapshots]
        out[name] = (logits, np.stack(snaps) if snaps else None)
    return out


def tta_rows(
    pool_paths: Sequence[str | os.PathLike[str]],
    pool_tta: Mapping[str, Sequence[str | os.PathLike[str]]],
    snapshot_paths: Sequence[str | os.PathLike[str]] | None,
    snapshot_tta: Mapping[str, Sequence[str | os.PathLike[str]]] | None,
    bootstrap: Mapping[str, int],
) -> list[tuple[str, dict[str, Any]]]:
    """RE Table 7's rows: single model, snapshot ensemble, each TTA method on single models,
    then on snapshot ensembles (those two only when snapshot runs are given); labelled
    ``Single/{view set} {strategy}``, e.g. ``Single/crop25 tta_noorig``."""
    logits, labels = load_prediction_stack(list(pool_paths))
    rows = [("Single model", bootstrap_variability(logits, labels, bootstrap))]
    if snapshot_paths:
        rows.append(("Snapshot ensemble", bootstrap_variability(*snapshot_ensemble_stack(snapshot_paths), bootstrap)))
    for name, paths in pool_tta.items():
        rows.append((f"Single/{_label(name)}", bootstrap_variability(*load_prediction_stack(list(paths)), bootstrap)))
    for name, paths in (snapshot_tta or {}).items():
        rows.append((f"Snapshot/{_label(name)}", bootstrap_variability(*snapshot_ensemble_stack(paths), bootstrap)))
    return rows


def _label(method: str) -> str:
    strategy, _, name = method.partition("-")
    return f"{name} {strategy}"

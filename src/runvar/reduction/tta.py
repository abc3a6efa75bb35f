"""Test-time augmentation (TTA) of saved runs: logits averaged over fixed views (RE Table 7).

View sets are named as in the reproduction report: ``flip`` (the image and its mirror),
``crop{K}`` (K crops of the zero-padded input on a regular offset grid: for padding 4,
``crop25`` = offsets {0,2,4,6,8}^2 and ``crop81`` = all 9x9 one-pixel offsets), and
``flip-crop{K}`` (every crop, mirrored and not). For 1-D signals the grids are the 1-D
analogues, ``crop5`` = offsets {0,2,4,6,8} and ``crop9`` = all 9 offsets, and ``flip`` does not
exist (a mirrored signal is not the same class). ``identity`` is the single unchanged view.

Models are rebuilt from ``model.pt`` (final weights and every snapshot): no retraining.

>>> [v.offsets for v in view_set("crop5", spatial_dims=1, padding=4)]
[(0,), (2,), (4,), (6,), (8,)]
>>> len(view_set("flip-crop81", spatial_dims=2, padding=4))
162
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
import torch.nn.functional as F
from torch import nn

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
    offsets = [(padding,) * spatial_dims]
    if match.group(3):
        offsets = _crop_grid(name, int(match.group(3)), spatial_dims, padding)
    return [View(f, o) for f in ((False, True) if flip else (False,)) for o in offsets]


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


def apply_view(x: torch.Tensor, view: View, padding: int) -> torch.Tensor:
    """``x`` (N, C, *spatial) zero-padded by ``padding``, cropped at the view's offsets, mirrored
    if the view says so; contiguous, so the model sees the same memory layout as for ``x``."""
    spatial = x.shape[2:]
    out = F.pad(x, [padding] * (2 * len(spatial))) if padding else x
    for axis, (offset, size) in enumerate(zip(view.offsets, spatial)):
        out = out.narrow(2 + axis, offset, size)
    if view.flip:
        out = out.flip(-1)
    return out.contiguous()


def tta_logits(model: nn.Module, x: torch.Tensor, views: Sequence[View], padding: int) -> torch.Tensor:
    """Mean logits of ``model`` over ``views`` of ``x`` (batched as :func:`runvar.train.predict`)."""
    total = None
    for view in views:
        logits = predict(model, apply_view(x, view, padding))
        total = logits if total is None else total + logits
    return total / len(views)


def run_tta(
    setup: Mapping[str, Any], x_test: torch.Tensor, num_classes: int,
    model_path: str | os.PathLike[str], view_sets: Sequence[str], padding: int,
) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """TTA logits of one saved run per view set: (final model (N, C), snapshots (S, N, C) or None)."""
    device = execution_device(setup)
    x = x_test.to(device)
    final, snapshots = load_trained_models(setup, tuple(x.shape[1:]), num_classes, model_path, device)
    spatial = x.dim() - 2
    out = {}
    for name in view_sets:
        views = view_set(name, spatial, padding)
        logits = tta_logits(final, x, views, padding).cpu().numpy()
        snaps = [tta_logits(m, x, views, padding).cpu().numpy() for m in snapshots]
        out[name] = (logits, np.stack(snaps) if snaps else None)
    return out


def tta_rows(
    pool_paths: Sequence[str | os.PathLike[str]],
    pool_tta: Mapping[str, Sequence[str | os.PathLike[str]]],
    snapshot_paths: Sequence[str | os.PathLike[str]] | None,
    snapshot_tta: Mapping[str, Sequence[str | os.PathLike[str]]] | None,
    bootstrap: Mapping[str, int],
) -> list[tuple[str, dict[str, Any]]]:
    """RE Table 7's rows: single model, snapshot ensemble, each view set's TTA on single models,
    then on snapshot ensembles (those two only when snapshot runs are given)."""
    logits, labels = load_prediction_stack(list(pool_paths))
    rows = [("Single model", bootstrap_variability(logits, labels, bootstrap))]
    if snapshot_paths:
        rows.append(("Snapshot ensemble", bootstrap_variability(*snapshot_ensemble_stack(snapshot_paths), bootstrap)))
    for name, paths in pool_tta.items():
        rows.append((f"Single/{name}-TTA", bootstrap_variability(*load_prediction_stack(list(paths)), bootstrap)))
    for name, paths in (snapshot_tta or {}).items():
        rows.append((f"Snapshot/{name}-TTA", bootstrap_variability(*snapshot_ensemble_stack(paths), bootstrap)))
    return rows

"""Row tables (onset, ablations): one variability row per planned row of runs."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..io import load_prediction_stack
from .ensembles import bootstrap_variability, reduction_frame, snapshot_ensemble_stack


def row_table_frame(
    rows: Sequence[Mapping[str, Any]],
    prediction_paths: Sequence[Sequence[str | os.PathLike[str]]],
    bootstrap: Mapping[str, int],
) -> pd.DataFrame:
    """The variability of each planned row (over its runs' prediction files), with the row's
    own columns (source, onset epoch, lr, epochs, ...) after the label."""
    metrics = [
        (spec["label"], bootstrap_variability(
            *(snapshot_ensemble_stack if spec.get("snapshot") else load_prediction_stack)(list(paths)), bootstrap))
        for spec, paths in zip(rows, prediction_paths)
    ]
    frame = reduction_frame(metrics, None)
    extra = [k for k in rows[0] if k not in ("label", "runs")]
    for position, key in enumerate(extra, start=1):
        frame.insert(position, key, [spec[key] for spec in rows])
    return frame

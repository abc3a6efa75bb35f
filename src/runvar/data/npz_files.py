"""A user's own dataset from an ``.npz`` file with arrays ``x_train, y_train, x_test, y_test``.

x: float32 of shape (N, channels, *spatial) (float64 is converted); y: integer labels in
[0, classes) with every class below the largest test label also possible in training. The
file's checksum is recorded when the config is read and checked again when it is prepared, so
a file changed in between is refused instead of silently mixing data across runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..io import load_npz
from .prepared import ARRAYS, checksum as array_checksum

#: The dataset option that names the file.
NPZ_OPTION = "npz"


def read_npz_dataset(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The four arrays of ``path`` as float32 x and int64 y, or ValueError naming the problem."""
    path = Path(path)
    arrays = load_npz(path, {name: None for name in ARRAYS})
    out = {}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype not in (np.float32, np.float64) or x.ndim < 2:
            raise ValueError(f"{path}: x_{split} must be float32 of shape (N, channels, ...), got {x.dtype} {x.shape}")
        if not np.issubdtype(y.dtype, np.integer) or y.shape != (len(x),):
            raise ValueError(f"{path}: y_{split} must be integer labels of shape ({len(x)},), got {y.dtype} {y.shape}")
        if not np.isfinite(x).all():
            raise ValueError(f"{path}: x_{split} contains NaN or infinite values")
        if len(y) and y.min() < 0:
            raise ValueError(f"{path}: y_{split} has negative labels (min {y.min()}); labels are 0..classes-1")
        out[f"x_{split}"], out[f"y_{split}"] = x.astype(np.float32), y.astype(np.int64)
    if out["x_train"].shape[1:] != out["x_test"].shape[1:]:
        raise ValueError(f"{path}: x_train examples {out['x_train'].shape[1:]} differ from x_test {out['x_test'].shape[1:]}")
    if len(out["y_train"]) == 0 or len(out["y_test"]) == 0:
        raise ValueError(f"{path}: the train and test sets must not be empty")
    if out["y_test"].max() > out["y_train"].max():
        raise ValueError(f"{path}: y_test has label {out['y_test'].max()}, never seen in y_train "
                         f"(labels 0..{out['y_train'].max()})")
    return out


def npz_checksum(path: str | os.PathLike[str]) -> str:
    """The checksum (:func:`runvar.data.prepared.checksum`) of a valid dataset file."""
    return array_checksum(read_npz_dataset(path))


def prepare_npz(npz: str, checksum: str | None = None) -> dict[str, np.ndarray]:
    """The arrays of the file ``npz``; with ``checksum``, the file must still have it."""
    arrays = read_npz_dataset(npz)
    if checksum is not None and array_checksum(arrays) != checksum:
        raise ValueError(f"{npz} changed since the config was read (checksum {checksum[:12]}); rerun snakemake")
    return arrays

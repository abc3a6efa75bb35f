"""A user's own dataset from an ``.npz`` file with arrays ``x_train, y_train, x_test, y_test``.

x: float32 of shape (N, channels, *spatial) (float64 is converted); y: integer labels in
[0, classes) with every class below the largest test label also possible in training. The
file's checksum is recorded when the config is read and checked again when it is prepared, so
a file changed in between is refused instead of silently mixing data across runs.

The config is read by every snakemake invocation (and every cluster job), so a file's checksum
is computed once and then kept by its absolute path, size and modification time in a small
JSON file under ``$RUNVAR_CACHE_DIR`` (default ``$XDG_CACHE_HOME/runvar`` or
``~/.cache/runvar``); a file written again gets a new modification time and is read again. The
data-preparing job still checks the arrays against the recorded checksum.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..io import load_npz, write_atomic
from .arrays import ARRAYS, checksum as array_checksum

#: The dataset option that names the file.
NPZ_OPTION = "npz"
#: The file of cached checksums, under the cache directory.
CHECKSUM_CACHE = "npz_checksums.json"


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


def cache_dir() -> Path:
    """The directory of runvar's cached checksums (see the module docstring)."""
    if os.environ.get("RUNVAR_CACHE_DIR"):
        return Path(os.environ["RUNVAR_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "runvar"


def npz_checksum(path: str | os.PathLike[str]) -> str:
    """The checksum (:func:`runvar.data.arrays.checksum`) of a valid dataset file, read and
    validated once per version of the file (its absolute path, size and modification time)."""
    try:
        stat, where = os.stat(path), str(Path(path).resolve())
    except OSError:  # read_npz_dataset names the problem
        return array_checksum(read_npz_dataset(path))
    version = [stat.st_size, stat.st_mtime_ns]
    cache_file = cache_dir() / CHECKSUM_CACHE
    try:
        cache = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    entry = cache.get(where) if isinstance(cache, dict) else None
    if isinstance(entry, dict) and entry.get("version") == version:
        return entry["checksum"]
    digest = array_checksum(read_npz_dataset(path))
    cache = cache if isinstance(cache, dict) else {}
    cache[where] = {"version": version, "checksum": digest}
    try:  # a cache that cannot be written only costs the next reading again
        write_atomic(cache_file, lambda tmp: tmp.write_text(json.dumps(cache, indent=1, sort_keys=True)))
    except OSError:
        pass
    return digest


def prepare_npz(npz: str, checksum: str | None = None) -> dict[str, np.ndarray]:
    """The arrays of the file ``npz``; with ``checksum``, the file must still have it."""
    arrays = read_npz_dataset(npz)
    if checksum is not None and array_checksum(arrays) != checksum:
        raise ValueError(f"{npz} changed since the config was read (checksum {checksum[:12]}); rerun snakemake")
    return arrays

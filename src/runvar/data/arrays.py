"""The four arrays of a prepared dataset and their checksum: what a prepared file
(:mod:`runvar.data.prepared`) and a user's ``.npz`` file (:mod:`runvar.data.npz_files`) share."""

from __future__ import annotations

import hashlib

import numpy as np

#: The arrays of a dataset, in the order they are checksummed.
ARRAYS: tuple[str, ...] = ("x_train", "y_train", "x_test", "y_test")


def checksum(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the four arrays' dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for name in ARRAYS:
        arr = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{arr.dtype}:{arr.shape};".encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()

"""MNIST-1D (Greydanus 2020), generated offline by the ``mnist1d`` package."""

from __future__ import annotations

import numpy as np

from .prepared import register_dataset


@register_dataset("mnist1d")
def prepare_mnist1d(num_samples: int = 5000, train_split: float = 0.8, seed: int = 42) -> dict:
    """Generate MNIST-1D procedurally (no download): x is (N, 1, 40) float32.

    ``make_dataset`` reseeds the global ``random``/``numpy`` state, so it runs only here, once,
    in the data rule; its output is cached as the prepared file.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.train_split, args.seed = int(num_samples), float(train_split), int(seed)
    data = make_dataset(args)
    return {
        "x_train": np.asarray(data["x"], dtype=np.float32)[:, None, :],
        "y_train": np.asarray(data["y"], dtype=np.int64),
        "x_test": np.asarray(data["x_test"], dtype=np.float32)[:, None, :],
        "y_test": np.asarray(data["y_test"], dtype=np.int64),
    }

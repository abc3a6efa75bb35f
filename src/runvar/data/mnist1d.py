"""MNIST-1D (Greydanus 2020), generated offline by the ``mnist1d`` package."""

from __future__ import annotations

import numpy as np

from .prepared import register_check_set, register_dataset


@register_dataset("mnist1d")
def prepare_mnist1d(num_samples: int = 5000, train_split: float = 0.8, seed: int = 42,
                    train_examples: int | None = None) -> dict:
    """Generate MNIST-1D procedurally (no download): x is (N, 1, 40) float32.

    ``train_examples`` fixes the training set's size over ``train_split``: the rest of the
    ``num_samples`` are the test set (14,000 with 4,000: the default 4,000 training examples and
    10,000 test examples, so a test accuracy's sampling noise is SD's CIFAR-10's, docs/protocol.md).

    ``make_dataset`` reseeds the global ``random``/``numpy`` state, so it runs only here, once,
    in the data rule; its output is cached as the prepared file.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    if train_examples is not None:
        if not 0 < int(train_examples) < int(num_samples):
            raise ValueError(f"mnist1d: train_examples = {train_examples} must lie between 0 and "
                             f"num_samples = {num_samples} (the rest is the test set)")
        train_split = int(train_examples) / int(num_samples)
    args = get_dataset_args()
    args.num_samples, args.train_split, args.seed = int(num_samples), float(train_split), int(seed)
    data = make_dataset(args)
    if train_examples is not None and len(data["y"]) != int(train_examples):  # the split rounds down
        raise ValueError(f"mnist1d: {num_samples} samples split at {train_split} give {len(data['y'])} "
                         f"training examples, not {train_examples}")
    return {
        "x_train": np.asarray(data["x"], dtype=np.float32)[:, None, :],
        "y_train": np.asarray(data["y"], dtype=np.int64),
        "x_test": np.asarray(data["x_test"], dtype=np.float32)[:, None, :],
        "y_test": np.asarray(data["y_test"], dtype=np.int64),
    }


@register_check_set("mnist1d")
def mnist1d_check_set(examples: int, seed: int) -> dict:
    """``examples`` MNIST-1D examples from the generator with another ``seed`` (a seed other than
    the study's data set's, whose first examples of each class it would repeat), all in the test
    split. ``make_dataset`` normalises a set over its own examples (one mean and one SD), so these
    are normalised over the check set's, not the study's 14,000: with 100,000 examples the two
    scalars agree to about 1% of an SD."""
    return prepare_mnist1d(num_samples=examples, train_split=0.0, seed=seed)

import numpy as np
import pytest
import torch

from runvar.data import load_dataset, prepare_dataset

REPO = __import__("pathlib").Path(__file__).resolve().parents[1]

TINY_SETUP = {
    "dataset": "mnist1d",
    "model": {"name": "cnn1d", "channels": 8, "layers": 2, "dropout": 0.2},
    "epochs": 2,
    "batch_size": 64,
    "optimizer": {"lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4, "nesterov": True},
    "schedule": {"warmup_epochs": 1},
    "augment": {"crop_padding": 2},
    "execution": {"device": "cpu", "threads": 1},
    "bitflip": {"parameter": "first"},
}


@pytest.fixture(scope="session", autouse=True)
def runvar_cache(tmp_path_factory):
    """runvar's cache of dataset checksums (runvar.data.npz_files) in a temporary directory,
    for the tests and the snakemake processes they start, not in the user's home."""
    import os

    path = tmp_path_factory.mktemp("runvar-cache")
    before = os.environ.get("RUNVAR_CACHE_DIR")
    os.environ["RUNVAR_CACHE_DIR"] = str(path)
    yield path
    if before is None:
        del os.environ["RUNVAR_CACHE_DIR"]
    else:
        os.environ["RUNVAR_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """A small MNIST-1D (480 train / 120 test), prepared through the real data path."""
    path = tmp_path_factory.mktemp("data") / "mnist1d.npz"
    prepare_dataset("mnist1d", path, num_samples=600, train_split=0.8, seed=7)
    return load_dataset(path)


@pytest.fixture
def tiny_setup():
    import copy

    return copy.deepcopy(TINY_SETUP)


@pytest.fixture
def random_logits():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 5, size=200)
    base = rng.normal(size=(200, 5))
    logits = (base[None] + 0.7 * rng.normal(size=(6, 200, 5))).astype(np.float32)
    return logits, labels


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)

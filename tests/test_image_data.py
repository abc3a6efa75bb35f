"""CIFAR-10/100 and MNIST preparers, on small fixtures written in the datasets' real formats."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
import tarfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets
from PIL import Image
from torchvision import transforms

from runvar.data import load_dataset, prepare_dataset
from runvar.data.torchvision_sets import (
    CIFAR10,
    CIFAR100,
    MNIST,
    DatasetCorruptError,
    DatasetNotFoundError,
    prepare_cifar10,
    prepare_cifar100,
    prepare_mnist,
)

PER_BATCH = 3


def _pickle(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(obj, protocol=2))


def write_cifar10(root: Path, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """cifar-10-batches-py with 5 train batches and a test batch of PER_BATCH images each.

    Returns train/test images as (N, 32, 32, 3) uint8 and labels, in file order.
    """
    folder = root / "cifar-10-batches-py"
    images, labels = [], []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        hwc = rng.integers(0, 256, (PER_BATCH, 32, 32, 3), dtype=np.uint8)
        y = rng.integers(0, 10, PER_BATCH).tolist()
        # The real batches store each image as 3072 bytes: all of R, then G, then B (row-major).
        flat = hwc.transpose(0, 3, 1, 2).reshape(PER_BATCH, 3072)
        batch = {"batch_label": name, "labels": y, "data": flat, "filenames": ["x.png"] * PER_BATCH}
        _pickle(folder / name, batch)
        images.append(hwc)
        labels.append(y)
    _pickle(folder / "batches.meta", {"label_names": [f"c{i}" for i in range(10)], "num_vis": 3072})
    return np.concatenate(images[:5]), np.concatenate(labels[:5]), images[5], np.asarray(labels[5])


def write_cifar100(root: Path, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """cifar-100-python train/test/meta; returns the train images (N, 32, 32, 3) and fine labels."""
    folder = root / "cifar-100-python"
    out = None
    for name, n in (("train", 4), ("test", 2)):
        hwc = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        fine = rng.integers(0, 100, n).tolist()
        coarse = [label // 5 for label in fine]
        data = hwc.transpose(0, 3, 1, 2).reshape(n, 3072)
        batch = {"filenames": ["x.png"] * n, "fine_labels": fine, "coarse_labels": coarse, "data": data}
        _pickle(folder / name, batch)
        if name == "train":
            out = (hwc, np.asarray(fine))
    _pickle(folder / "meta", {"fine_label_names": [f"f{i}" for i in range(100)], "coarse_label_names": []})
    return out


def _idx(magic: int, array: np.ndarray) -> bytes:
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape) + array.tobytes()


def write_mnist(root: Path, rng: np.random.Generator, gzipped: set[str]) -> dict[str, np.ndarray]:
    """MNIST/raw idx files (those in ``gzipped`` as .gz only); returns the arrays written."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    arrays = {}
    for split, n in (("train", 5), ("t10k", 3)):
        arrays[f"{split}-images"] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        arrays[f"{split}-labels"] = rng.integers(0, 10, n, dtype=np.uint8)
        for kind, magic in (("images", 0x803), ("labels", 0x801)):
            name = f"{split}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
            payload = _idx(magic, arrays[f"{split}-{kind}"])
            if name in gzipped:
                (raw / f"{name}.gz").write_bytes(gzip.compress(payload))
            else:
                (raw / name).write_bytes(payload)
    return arrays


def reference_transform(hwc: np.ndarray, mean: tuple, std: tuple) -> np.ndarray:
    """The reference's test pipeline on PIL images: ToTensor + Normalize, stacked."""
    pipeline = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
    return torch.stack([pipeline(Image.fromarray(img)) for img in hwc]).numpy()


def test_cifar10_matches_the_reference_pipeline(tmp_path: Path) -> None:
    train, y_train, test, y_test = write_cifar10(tmp_path, np.random.default_rng(0))
    arrays = prepare_cifar10(root=str(tmp_path), verify_md5=False)
    assert arrays["x_train"].shape == (5 * PER_BATCH, 3, 32, 32)
    assert arrays["x_train"].dtype == np.float32 and arrays["y_train"].dtype == np.int64
    np.testing.assert_array_equal(arrays["y_train"], y_train)
    np.testing.assert_array_equal(arrays["y_test"], y_test)
    expected = reference_transform(train, CIFAR10.mean, CIFAR10.std)
    np.testing.assert_allclose(arrays["x_train"], expected, rtol=0, atol=1e-6)
    expected = reference_transform(test, CIFAR10.mean, CIFAR10.std)
    np.testing.assert_allclose(arrays["x_test"], expected, rtol=0, atol=1e-6)
    # One pixel by hand: image 4 (second of batch 2), green channel, row 7, column 30.
    by_hand = (train[4, 7, 30, 1] / 255 - 0.4822) / 0.1994
    assert arrays["x_train"][4, 1, 7, 30] == pytest.approx(by_hand, abs=1e-6)


def test_cifar10_checksums_reject_a_copy_that_is_not_the_real_one(tmp_path: Path) -> None:
    write_cifar10(tmp_path, np.random.default_rng(1))
    with pytest.raises(DatasetCorruptError, match="verify_md5: false") as info:
        prepare_cifar10(root=str(tmp_path))
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize("dataset", ["cifar10", "mnist"])
def test_unreadable_files_are_a_corrupt_error(tmp_path: Path, dataset: str) -> None:
    rng = np.random.default_rng(7)
    if dataset == "cifar10":
        write_cifar10(tmp_path, rng)
        bad = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    else:
        write_mnist(tmp_path, rng, gzipped=set())
        bad = tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    bad.write_bytes(bad.read_bytes()[:2])
    with pytest.raises(DatasetCorruptError, match="the files are there but") as info:
        options = {"verify_md5": False} if dataset == "cifar10" else {}
        prepare_dataset(dataset, tmp_path / "out.npz", root=str(tmp_path), **options)
    assert "fresh copy" in str(info.value) and not (tmp_path / "out.npz").exists()


def test_cifar100_reads_fine_labels(tmp_path: Path) -> None:
    train, fine = write_cifar100(tmp_path, np.random.default_rng(2))
    arrays = prepare_cifar100(root=str(tmp_path), verify_md5=False)
    assert arrays["x_train"].shape == (4, 3, 32, 32) and arrays["x_test"].shape == (2, 3, 32, 32)
    np.testing.assert_array_equal(arrays["y_train"], fine)
    expected = reference_transform(train, CIFAR100.mean, CIFAR100.std)
    np.testing.assert_allclose(arrays["x_train"], expected, rtol=0, atol=1e-6)


def test_mnist_reads_plain_and_gzipped_idx_files(tmp_path: Path) -> None:
    gz = {"train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}
    written = write_mnist(tmp_path, np.random.default_rng(3), gzipped=gz)
    arrays = prepare_mnist(root=str(tmp_path))
    assert arrays["x_train"].shape == (5, 1, 28, 28) and arrays["x_test"].shape == (3, 1, 28, 28)
    np.testing.assert_array_equal(arrays["y_train"], written["train-labels"].astype(np.int64))
    np.testing.assert_array_equal(arrays["y_test"], written["t10k-labels"].astype(np.int64))
    expected = (written["train-images"].astype(np.float32) / 255 - 0.1307) / 0.3081
    np.testing.assert_allclose(arrays["x_train"][:, 0], expected, atol=1e-6)
    expected = reference_transform(written["t10k-images"], MNIST.mean, MNIST.std)
    np.testing.assert_allclose(arrays["x_test"], expected, rtol=0, atol=1e-6)
    assert (tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()  # decompressed


def test_missing_data_says_what_where_and_how(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as info:
        prepare_cifar10(root=str(tmp_path / "nowhere"))
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert str(tmp_path / "nowhere") in message
    assert "cifar-10-batches-py/data_batch_1" in message and "batches.meta" in message
    assert "datasets: {cifar10: {root: DIR}}" in message and "download: true" in message


def test_partly_missing_mnist_lists_only_the_missing_files(tmp_path: Path) -> None:
    write_mnist(tmp_path, np.random.default_rng(4), gzipped=set())
    (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"missing MNIST/raw/t10k-labels-idx1-ubyte \(download"):
        prepare_mnist(root=str(tmp_path))


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A directory served over HTTP on localhost: (directory, base URL)."""
    served = tmp_path / "served"
    served.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


def test_download_fetches_and_extracts_an_absent_copy(tmp_path: Path, http_dir, monkeypatch) -> None:
    served, base_url = http_dir
    _, y_train, _, _ = write_cifar10(tmp_path / "made", np.random.default_rng(5))
    archive = served / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "made" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "url", f"{base_url}/{archive.name}")
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "tgz_md5", md5)
    root = tmp_path / "data"
    arrays = prepare_cifar10(root=str(root), download=True, verify_md5=False)
    np.testing.assert_array_equal(arrays["y_train"], y_train)
    assert (root / "cifar-10-batches-py" / "test_batch").is_file()


def test_failed_download_is_a_not_found_error(tmp_path: Path, http_dir, monkeypatch) -> None:
    monkeypatch.setattr(torchvision.datasets.CIFAR100, "url", f"{http_dir[1]}/absent.tar.gz")  # 404
    with pytest.raises(DatasetNotFoundError, match="download failed") as info:
        prepare_cifar100(root=str(tmp_path / "data"), download=True)
    assert "cifar-100-python/train" in str(info.value)


def test_prepared_file_round_trips_through_the_registry(tmp_path: Path) -> None:
    write_mnist(tmp_path, np.random.default_rng(6), gzipped=set())
    digest = prepare_dataset("mnist", tmp_path / "mnist.npz", root=str(tmp_path))
    data = load_dataset(tmp_path / "mnist.npz")
    assert data.checksum == digest and data.input_shape == (1, 28, 28)
    assert data.x_train.dtype == torch.float32 and len(data.y_test) == 3


def test_random_crop_pads_like_the_reference_before_normalising(tmp_path: Path) -> None:
    """Our crop of the normalised tensor equals cropping the black-padded raw image, then
    ToTensor + Normalize (the reference's RandomCrop(32, padding=4) order)."""
    from runvar.data import random_crop

    train, *_ = write_cifar10(tmp_path, np.random.default_rng(3))
    arrays = prepare_cifar10(root=str(tmp_path), verify_md5=False)
    np.testing.assert_allclose(arrays["pad_value"], -np.array(CIFAR10.mean) / np.array(CIFAR10.std), rtol=1e-6)
    x = torch.from_numpy(arrays["x_train"][:4])
    ours = random_crop(x, 4, torch.Generator().manual_seed(2), torch.from_numpy(arrays["pad_value"]))
    offsets = torch.randint(0, 9, (2, 4), generator=torch.Generator().manual_seed(2))
    padded = np.pad(train[:4], ((0, 0), (4, 4), (4, 4), (0, 0)))  # black pixels, raw uint8
    crops = np.stack([padded[i, offsets[0, i] : offsets[0, i] + 32, offsets[1, i] : offsets[1, i] + 32]
                      for i in range(4)])
    np.testing.assert_allclose(ours.numpy(), reference_transform(crops, CIFAR10.mean, CIFAR10.std),
                               rtol=0, atol=1e-5)
    assert (offsets != 4).any()  # the crops really moved into the padding

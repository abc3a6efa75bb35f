"""CIFAR-10, CIFAR-100 and MNIST (paper scale), read from torchvision's on-disk format.

Each preparer takes ``root`` (the directory holding torchvision's copy, the config's
``datasets: {<name>: {root: ...}}``) and ``download`` (let torchvision fetch a missing copy
into ``root``). It reads the copy with the ``torchvision.datasets`` class, never downloading
when the files are there, and returns x as float32 (N, C, H, W) normalised per channel, as
``ToTensor()`` + ``Normalize(mean, std)`` would, and y as int64.

Normalisation constants:
- CIFAR-10 ``(0.4914, 0.4822, 0.4465)`` / ``(0.2023, 0.1994, 0.2010)`` and MNIST
  ``(0.1307,)`` / ``(0.3081,)``: SD's reference code (``data.py``), where the CIFAR-10 SDs are
  the widely copied per-channel values, not the exact training-set pixel SDs (~0.247, 0.243,
  0.261); we keep the reference's numbers since they shape its training.
- CIFAR-100 ``(0.5071, 0.4865, 0.4409)`` / ``(0.2673, 0.2564, 0.2762)``: the reference has no
  CIFAR-100, and RE does not state its constants; these are the CIFAR-100 training set's
  per-channel pixel mean and SD.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..io import CorruptFileError
from .prepared import register_dataset


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are not on disk (and could not be downloaded)."""


class DatasetCorruptError(CorruptFileError):
    """A dataset's files are on disk but fail torchvision's checksums or cannot be read."""


@dataclass(frozen=True)
class ImageSource:
    """Where a torchvision dataset lives on disk and how to normalise it."""

    name: str
    torchvision_class: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    homepage: str

    def torchvision_type(self) -> type:
        import torchvision.datasets  # slow to import; only the data rule needs it

        return getattr(torchvision.datasets, self.torchvision_class)

    def required_files(self) -> list[str]:
        """The files torchvision reads, relative to ``root`` (from its own class attributes)."""
        cls = self.torchvision_type()
        if hasattr(cls, "train_list"):  # CIFAR: pickled batches + metadata
            names = [f for f, _ in cls.train_list + cls.test_list] + [cls.meta["filename"]]
            return [os.path.join(cls.base_folder, f) for f in names]
        raw = os.path.join(cls.__name__, "raw")  # MNIST: idx files, stored as *.gz downloads
        return [os.path.join(raw, os.path.splitext(os.path.basename(f))[0]) for f, _ in cls.resources]


CIFAR10 = ImageSource(
    "cifar10", "CIFAR10", (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010),
    "https://www.cs.toronto.edu/~kriz/cifar.html (cifar-10-python.tar.gz)",
)  # fmt: skip
CIFAR100 = ImageSource(
    "cifar100", "CIFAR100", (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762),
    "https://www.cs.toronto.edu/~kriz/cifar.html (cifar-100-python.tar.gz)",
)  # fmt: skip
MNIST = ImageSource(
    "mnist", "MNIST", (0.1307,), (0.3081,),
    "torchvision's MNIST mirrors (train/t10k images and labels, idx format, .gz or not)",
)  # fmt: skip


def _missing(source: ImageSource, root: Path) -> list[str]:
    """Required files absent under ``root``; a gzipped MNIST file is decompressed in place."""
    from torchvision.datasets.utils import extract_archive

    missing = []
    for rel in source.required_files():
        path = root / rel
        if path.is_file():
            continue
        if path.with_name(path.name + ".gz").is_file():
            extract_archive(str(path) + ".gz")  # what torchvision does after its own download
            continue
        missing.append(rel)
    return missing


def _not_found(source: ImageSource, root: Path, missing: list[str], why: str) -> DatasetNotFoundError:
    return DatasetNotFoundError(
        f"dataset {source.name!r} not found under {root}: missing {', '.join(missing)}{why}. "
        f"Put torchvision's copy there (from {source.homepage}), or point the config's "
        f"datasets: {{{source.name}: {{root: DIR}}}} at a directory that holds it, or set "
        f"datasets: {{{source.name}: {{download: true}}}} to let torchvision download it into root."
    )


def _open(source: ImageSource, root: Path, download: bool, verify_md5: bool) -> tuple[Any, Any]:
    """The torchvision train and test datasets, downloading first only when allowed and needed."""
    cls = source.torchvision_type()
    if not verify_md5 and hasattr(cls, "train_list"):
        # torchvision's check_integrity only tests existence when the md5 is None.
        cls = type(cls.__name__, (cls,), {
            "train_list": [[f, None] for f, _ in cls.train_list],
            "test_list": [[f, None] for f, _ in cls.test_list],
            "meta": {**cls.meta, "md5": None},
        })  # fmt: skip
    missing = _missing(source, root)
    if missing and not download:
        raise _not_found(source, root, missing, " (download is off)")
    if missing:
        try:
            cls(str(root), train=True, download=True)
        except (OSError, RuntimeError) as err:  # URLError is an OSError; bad md5, RuntimeError
            raise _not_found(source, root, missing, f" and the download failed ({err})") from None
        missing = _missing(source, root)
        if missing:
            raise _not_found(source, root, missing, " even after the download")
    try:
        return cls(str(root), train=True, download=False), cls(str(root), train=False, download=False)
    except Exception as err:  # the files are the user's: any failure to read them means bad files
        checks = "fail torchvision's md5 checksums or " if verify_md5 and hasattr(cls, "train_list") else ""
        hint = " (or set verify_md5: false for a copy you trust)" if checks else ""
        raise DatasetCorruptError(
            f"dataset {source.name!r} under {root}: the files are there but {checks}cannot be read "
            f"({type(err).__name__}: {err}). Replace them with a fresh copy{hint}."
        ) from None


def _arrays(source: ImageSource, dataset: Any) -> tuple[np.ndarray, np.ndarray]:
    """(x, y): uint8 images -> float32 (N, C, H, W) in [0, 1], normalised per channel."""
    images = np.asarray(dataset.data)  # CIFAR: (N, H, W, C) numpy; MNIST: (N, H, W) tensor
    images = images[:, None] if images.ndim == 3 else images.transpose(0, 3, 1, 2)
    x = np.ascontiguousarray(images, dtype=np.float32)
    x /= np.float32(255)
    shape = (1, -1, 1, 1)
    x -= np.asarray(source.mean, dtype=np.float32).reshape(shape)
    x /= np.asarray(source.std, dtype=np.float32).reshape(shape)
    return x, np.asarray(dataset.targets, dtype=np.int64)


def prepare_images(
    source: ImageSource,
    root: str | os.PathLike[str] = "datasets",
    download: bool = False,
    verify_md5: bool = True,
) -> dict[str, np.ndarray]:
    """Read ``source`` from ``root`` and return the four arrays of a prepared dataset."""
    train, test = _open(source, Path(root).expanduser().absolute(), bool(download), bool(verify_md5))
    x_train, y_train = _arrays(source, train)
    x_test, y_test = _arrays(source, test)
    # the reference crops from an image padded with black pixels before normalising them
    black = (0.0 - np.asarray(source.mean, np.float32)) / np.asarray(source.std, np.float32)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test,
            "pad_value": black.astype(np.float32)}


@register_dataset("cifar10")
def prepare_cifar10(
    root: str = "datasets", download: bool = False, verify_md5: bool = True
) -> dict[str, np.ndarray]:
    """CIFAR-10 from ``root``/cifar-10-batches-py: 50,000 + 10,000 images, 3x32x32, 10 classes.

    ``verify_md5`` checks torchvision's checksums of the pickled batches (off only for a copy
    you trust that was re-pickled, or for test fixtures).
    """
    return prepare_images(CIFAR10, root, download, verify_md5)


@register_dataset("cifar100")
def prepare_cifar100(
    root: str = "datasets", download: bool = False, verify_md5: bool = True
) -> dict[str, np.ndarray]:
    """CIFAR-100 (fine labels) from ``root``/cifar-100-python: 50,000 + 10,000, 100 classes."""
    return prepare_images(CIFAR100, root, download, verify_md5)


@register_dataset("mnist")
def prepare_mnist(root: str = "datasets", download: bool = False) -> dict[str, np.ndarray]:
    """MNIST from ``root``/MNIST/raw (idx files, gzipped or not): 60,000 + 10,000, 1x28x28.

    torchvision keeps no checksums of the decompressed idx files, so there is nothing to verify
    beyond their format; the prepared file's own checksum covers the content from then on.
    """
    return prepare_images(MNIST, root, download, verify_md5=False)

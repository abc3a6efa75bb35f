"""Datasets as tensors: prepared once into a checksummed ``.npz``, then held in memory."""

from . import mnist1d  # noqa: F401  (registers the dataset)
from . import torchvision_sets  # noqa: F401  (registers cifar10, cifar100, mnist)
from .augment import augment_batch, random_crop, random_flip
from .prepared import CHECK_SETS, DATASETS, Dataset, UnknownDatasetError, load_dataset, prepare_check_set, prepare_dataset

__all__ = [
    "CHECK_SETS",
    "DATASETS",
    "Dataset",
    "UnknownDatasetError",
    "load_dataset",
    "prepare_check_set",
    "prepare_dataset",
    "augment_batch",
    "random_crop",
    "random_flip",
]

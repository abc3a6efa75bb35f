"""Image input pipelines side by side: whole-dataset tensor + batched augmentation vs DataLoader.

Trains the same model from the same initial weights for the same number of SGD steps on the
same synthetic CIFAR-shaped data (uint8 32x32x3 images, 10 classes), augmented with a random
crop (4-pixel zero padding) and a horizontal flip, two ways, in one process:

- ``runvar``: the training loop's pipeline (:mod:`runvar.train`): the normalised dataset is
  one (N, 3, 32, 32) tensor; each batch is indexed from it and augmented in one call of
  :func:`runvar.data.augment_batch`, with draws from a seeded generator.
- ``torchvision``: the reference code's pipeline: a map-style dataset of uint8 images that
  builds a PIL image per example (as ``torchvision.datasets.CIFAR10`` does) and applies
  ``RandomCrop(32, padding=4)``, ``RandomHorizontalFlip()``, ``ToTensor()``, ``Normalize``;
  a ``DataLoader`` with a seeded ``RandomSampler`` collates the batches.

Both feed the identical training step, and each pipeline is also timed alone (batches drawn,
no training), which shows the input cost without the model's compute. Torch runs on
``--threads`` threads and the loader in the main process by default (``--workers 0``): the
comparison is per core, and the machine this runs on is shared. Prints the times and ratios (torchvision time / runvar time).

    python benchmarks/image_pipeline.py [--steps 30] [--batch-size 256] [--model hidden_conv]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, RandomSampler
from torchvision import transforms

from runvar.data import augment_batch
from runvar.models import build_model

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)


def synthetic_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random uint8 (32, 32, 3) images and int64 labels in [0, 10)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n)


class PILImages(torch.utils.data.Dataset):
    """Map-style dataset as torchvision's CIFAR10 serves it: a PIL image per item, transformed."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform: transforms.Compose) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(Image.fromarray(self.images[index])), int(self.labels[index])


def torchvision_batches(
    images: np.ndarray, labels: np.ndarray, batch_size: int, workers: int, seed: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless batches from a DataLoader over per-image PIL transforms."""
    transform = transforms.Compose([
        transforms.RandomCrop(32, padding=4),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(MEAN, STD),
    ])  # fmt: skip
    dataset = PILImages(images, labels, transform)
    sampler = RandomSampler(dataset, generator=torch.Generator().manual_seed(seed))
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers)
    while True:
        yield from loader


def runvar_batches(
    images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless batches indexed from the whole normalised dataset tensor, augmented per batch."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255)
    x = ((x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)).contiguous()
    y = torch.from_numpy(labels)
    shuffle = torch.Generator().manual_seed(seed)
    augment = torch.Generator().manual_seed(seed + 1)
    options = {"crop_padding": 4, "flip": True}
    while True:
        order = torch.randperm(len(y), generator=shuffle)
        for first in range(0, len(y), batch_size):
            idx = order[first : first + batch_size]
            yield augment_batch(x[idx], options, augment), y[idx]


Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


def train(model_name: str, batches: Batches, steps: int) -> tuple[float, float]:
    """SGD for ``steps`` batches (after one untimed warm-up step); returns (seconds, last loss)."""
    model = build_model(model_name, (3, 32, 32), 10, init_seed=1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    model.train()
    batches = iter(batches)
    started = None
    for step in range(steps + 1):
        if step == 1:
            started = time.perf_counter()
        x, y = next(batches)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - started, float(loss.detach())


def draw(batches: Batches, steps: int) -> float:
    """Seconds to produce ``steps`` batches (after one untimed batch), without training."""
    batches = iter(batches)
    next(batches)
    started = time.perf_counter()
    for _ in range(steps):
        next(batches)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="hidden_conv", help="registered model (default hidden_conv)")
    parser.add_argument("--steps", type=int, default=30, help="timed SGD steps per pipeline")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--images", type=int, default=5000, help="synthetic training images")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--repeats", type=int, default=2, help="alternating repeats; best time kept")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    images, labels = synthetic_images(args.images, args.seed)
    print(
        f"{args.model}, {args.steps} steps of batch {args.batch_size} on {args.images} synthetic "
        f"32x32 RGB images, crop(pad 4) + flip; {args.threads} torch thread(s), "
        f"{args.workers} DataLoader worker(s), best of {args.repeats}"
    )
    shared = (args.batch_size, args.seed)
    ours_data = theirs_data = ours = theirs = float("inf")
    for _ in range(args.repeats):  # alternate the two and keep the best: the machine is shared
        ours_data = min(ours_data, draw(runvar_batches(images, labels, *shared), args.steps))
        loader = torchvision_batches(images, labels, args.batch_size, args.workers, args.seed)
        theirs_data = min(theirs_data, draw(loader, args.steps))
        seconds, ours_loss = train(args.model, runvar_batches(images, labels, *shared), args.steps)
        ours = min(ours, seconds)
        loader = torchvision_batches(images, labels, args.batch_size, args.workers, args.seed)
        seconds, theirs_loss = train(args.model, loader, args.steps)
        theirs = min(theirs, seconds)
    images_seen = args.steps * args.batch_size
    print(f"{'':24} {'pipeline alone':>20} {'training ' + args.model:>32}")
    for name, data_s, train_s, loss in (
        ("runvar tensor pipeline", ours_data, ours, ours_loss),
        ("torchvision DataLoader", theirs_data, theirs, theirs_loss),
    ):
        print(
            f"{name:24} {data_s:6.2f} s {images_seen / data_s:7.0f} img/s "
            f"{train_s:8.2f} s {images_seen / train_s:6.0f} img/s (last loss {loss:.2f})"
        )
    print(f"{'ratio torchvision/runvar':24} {theirs_data / ours_data:8.2f}x {'':13} {theirs / ours:8.2f}x")


if __name__ == "__main__":
    main()

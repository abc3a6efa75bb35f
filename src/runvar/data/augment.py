"""Batched augmentation on tensors, every draw taken from the augment generator."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pad(x: torch.Tensor, padding: int, fill: torch.Tensor | None = None) -> torch.Tensor:
    """``x`` (N, C, *spatial) padded by ``padding`` on every side of every spatial axis with 0,
    or with ``fill[c]`` in channel c (the normalised value of a black pixel).

    >>> pad(torch.ones(1, 2, 1), 1, torch.tensor([-1.0, 5.0])).tolist()
    [[[-1.0, 1.0, -1.0], [5.0, 1.0, 5.0]]]
    """
    pads = [padding] * (2 * (x.dim() - 2))
    if fill is None:
        return F.pad(x, pads)
    return torch.cat([F.pad(x[:, c : c + 1], pads, value=float(fill[c])) for c in range(x.shape[1])], dim=1)


def random_crop(
    x: torch.Tensor,
    padding: int,
    generator: torch.Generator,
    fill: torch.Tensor | None = None,
) -> torch.Tensor:
    """Crop each example from its padded copy at a random offset (1-D or 2-D signals).

    ``x`` is (N, C, L) or (N, C, H, W). The padding is 0, or ``fill[c]`` in channel c (for
    normalised images: the value of a black pixel, as the reference pads before normalising).
    Offsets are drawn per example and per spatial axis in [0, 2 * padding]; the output has the
    input's shape. One gather, no per-example loop.
    """
    if padding == 0:
        return x
    n, spatial = x.shape[0], x.shape[2:]
    padded = pad(x, padding, fill)
    offsets = torch.randint(
        0, 2 * padding + 1, (len(spatial), n), generator=generator, device=generator.device
    ).to(x.device)
    out = padded
    for axis, size in enumerate(spatial):
        dim = 2 + axis
        index = offsets[axis].view(n, *([1] * (out.dim() - 1))) + torch.arange(
            size, device=x.device
        ).view(*([1] * dim), size, *([1] * (out.dim() - dim - 1)))
        index = index.expand(*out.shape[:dim], size, *out.shape[dim + 1 :])
        out = out.gather(dim, index)
    return out


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each 2-D image horizontally with probability 1/2 (coins from ``generator``)."""
    coins = torch.randint(0, 2, (x.shape[0],), generator=generator, device=generator.device)
    coins = coins.to(x.device).bool().view(-1, *([1] * (x.dim() - 1)))
    return torch.where(coins, x.flip(-1), x)


def augment_batch(
    x: torch.Tensor,
    options: dict,
    generator: torch.Generator,
    fill: torch.Tensor | None = None,
) -> torch.Tensor:
    """Apply the setup's augmentation (``crop_padding``, ``flip``) to a batch; crops pad with
    ``fill`` per channel (the dataset's ``pad_value``) or 0."""
    x = random_crop(x, int(options.get("crop_padding", 0)), generator, fill)
    if options.get("flip", False):
        if x.dim() != 4:
            raise ValueError("horizontal flip needs 2-D images (N, C, H, W)")
        x = random_flip(x, generator)
    return x

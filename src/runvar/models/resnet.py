"""CIFAR ResNets (SD Table 6: ResNet-6/10/14/18; RE Table 10: ResNet-34), 2-D and 1-D.

Layout as in SD's reference code (``resnet_cifar.py``): a 3x3 conv + BN + ReLU stem (no 7x7
conv, no max-pool), stages of BasicBlocks whose convs have no biases, the first block of every
stage after the first downsampling by stride 2, global average pooling, one linear layer.
The downsampling shortcut is parameter-light: a 1x1 average pool with the stride (i.e. a
subsampling), a BN over the *input* channels, then zero channels appended up to the block's
width. Convs get Kaiming-normal (fan_out) init, BNs gamma 1 / beta 0, except the last BN of
each block, whose gamma starts at 0 so every block starts as the identity. The linear layer
keeps PyTorch's default init, as in the reference.

ResNet-34 is not in the reference code (RE built its own for CIFAR-100). Ours is the standard
[3, 4, 6, 3] BasicBlock layout with [64, 128, 256, 512] channels (He et al. 2016, Table 1)
but with the same CIFAR stem and shortcut style as the other CIFAR ResNets here, so the only
difference to ResNet-18 is depth.

With a 1-D input shape ``(C, L)`` (MNIST-1D) the same networks are built from Conv1d,
BatchNorm1d and AvgPool1d. This module also holds :func:`spatial_ops`, which the other image
models use to pick their 1-D or 2-D layers.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .layers import reference_full_lr
from .registry import register


class SpatialOps(NamedTuple):
    """The layer classes for signals with ``dims`` spatial axes."""

    dims: int
    conv: type[nn.Module]
    batchnorm: type[nn.Module]
    avgpool: type[nn.Module]
    maxpool: type[nn.Module]
    adaptive_avgpool: type[nn.Module]


_OPS = {
    1: SpatialOps(1, nn.Conv1d, nn.BatchNorm1d, nn.AvgPool1d, nn.MaxPool1d, nn.AdaptiveAvgPool1d),
    2: SpatialOps(2, nn.Conv2d, nn.BatchNorm2d, nn.AvgPool2d, nn.MaxPool2d, nn.AdaptiveAvgPool2d),
}


def spatial_ops(input_shape: tuple[int, ...], model: str, dims: tuple[int, ...] = (1, 2)) -> SpatialOps:
    """Layers for ``input_shape`` = (C, L) or (C, H, W); ``dims`` lists what ``model`` supports.

    Raises ``ValueError`` naming the model and the shapes it accepts otherwise.
    """
    spatial = len(input_shape) - 1
    if spatial not in dims:
        allowed = " or ".join({1: "(channels, length)", 2: "(channels, height, width)"}[d] for d in dims)
        raise ValueError(f"model {model!r} needs input shape {allowed}, got {tuple(input_shape)}")
    return _OPS[spatial]


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with a ReLU between, added to the (shortcut) input, then ReLU."""

    def __init__(self, ops: SpatialOps, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f"a block cannot narrow {in_channels} -> {out_channels} channels")
        self.conv1 = ops.conv(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = ops.batchnorm(out_channels)
        self.conv2 = ops.conv(out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = ops.batchnorm(out_channels)
        self.shortcut: nn.Module | None = None
        # F.pad's spec runs from the last axis backwards: no padding on the spatial axes,
        # then (before, after) on the channel axis.
        self.channel_pad = [0, 0] * ops.dims + [0, out_channels - in_channels]
        if stride != 1 or out_channels != in_channels:
            # the reference's `downsample.1`: no "bn" in its name, so its scale gets the full LR
            self.shortcut = nn.Sequential(ops.avgpool(1, stride=stride), reference_full_lr(ops.batchnorm(in_channels)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x
        if self.shortcut is not None:
            identity = F.pad(self.shortcut(x), self.channel_pad)
        return F.relu(out + identity)


class CifarResNet(nn.Module):
    """Stem, one stage per entry of ``blocks``/``channels``, global average pool, linear."""

    def __init__(
        self,
        input_shape: tuple[int, ...],
        num_classes: int,
        blocks: tuple[int, ...],
        channels: tuple[int, ...],
        name: str = "resnet",
    ) -> None:
        super().__init__()
        if len(blocks) != len(channels):
            raise ValueError(f"{name}: {len(blocks)} stage depths but {len(channels)} widths")
        ops = spatial_ops(input_shape, name)
        self.stem = nn.Sequential(
            ops.conv(input_shape[0], channels[0], 3, stride=1, padding=1, bias=False),
            ops.batchnorm(channels[0]),
            nn.ReLU(),
        )
        stages: list[nn.Module] = []
        width = channels[0]
        for i, (depth, out_width) in enumerate(zip(blocks, channels)):
            stage = []
            for j in range(depth):
                stride = 2 if i > 0 and j == 0 else 1
                stage.append(BasicBlock(ops, width, out_width, stride))
                width = out_width
            stages.append(nn.Sequential(*stage))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.Sequential(ops.adaptive_avgpool(1), nn.Flatten())
        self.fc = nn.Linear(width, num_classes)

        for module in self.modules():
            if isinstance(module, ops.conv):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, ops.batchnorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        for module in self.modules():
            if isinstance(module, BasicBlock):
                nn.init.zeros_(module.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.stages(self.stem(x))))


#: name -> (blocks per stage, channels per stage).
LAYOUTS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "resnet6": ((2,), (16,)),
    "resnet10": ((2, 2), (16, 32)),
    "resnet14": ((2, 2, 2), (16, 32, 64)),
    "resnet18": ((2, 2, 2, 2), (64, 128, 256, 512)),
    "resnet34": ((3, 4, 6, 3), (64, 128, 256, 512)),
}


def _register(name: str, blocks: tuple[int, ...], channels: tuple[int, ...]) -> None:
    def build(input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
        return CifarResNet(input_shape, num_classes, blocks, channels, name=name)

    build.__name__ = name
    build.__doc__ = (
        f"CIFAR {name}: {list(blocks)} BasicBlocks x {list(channels)} channels "
        "(1-D for (C, L) inputs)."
    )
    register(name)(build)


for _name, (_blocks, _channels) in LAYOUTS.items():
    _register(_name, _blocks, _channels)

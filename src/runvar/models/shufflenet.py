"""ShuffleNetV2 at 0.5x width for 32x32 images (SD Table 6), after Ma et al. (2018).

Layout as in SD's reference code (the common CIFAR variant): a 3x3 stride-1 conv + BN + ReLU
stem with 24 channels; three stages of widths 48, 96, 192, each one downsampling unit followed
by 3, 7 and 3 basic units; a 1x1 conv to 1024 channels + BN + ReLU; global average pooling;
linear 1024 -> classes. Convs have no biases; PyTorch's default init, as in the reference.
Basic units split the channels in half, transform one half (1x1 conv, 3x3 depthwise conv,
1x1 conv) and shuffle the two halves back together; downsampling units run two stride-2
branches on the whole input and concatenate them.

The reference pools the final map with a fixed 4x4 average pool (the map is 4x4 for 32x32
inputs); we pool adaptively to 1x1, which is the same on CIFAR and also fits 28x28 MNIST
(whose final map is 4x4 as well).

No 1-D counterpart: the network is defined by its 2-D depthwise convs and 2-D channel
shuffle, and the paper uses it on images only; a 1-D input raises ``ValueError``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .registry import register
from .resnet import spatial_ops


def channel_shuffle(x: torch.Tensor, groups: int = 2) -> torch.Tensor:
    """Interleave the channels of ``groups`` equal groups: (N, g*c, H, W) -> (N, c*g, H, W)."""
    n, channels, height, width = x.shape
    x = x.view(n, groups, channels // groups, height, width).transpose(1, 2)
    return x.reshape(n, channels, height, width)


def _conv_bn(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_ch),
    )


class BasicUnit(nn.Module):
    """Keep half the channels; 1x1-ReLU, depthwise 3x3, 1x1-ReLU on the other half; shuffle."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        if channels % 2:
            raise ValueError(f"a ShuffleNetV2 basic unit needs an even channel count, got {channels}")
        half = channels // 2
        self.branch = nn.Sequential(
            _conv_bn(half, half, 1), nn.ReLU(),
            _conv_bn(half, half, 3, groups=half),
            _conv_bn(half, half, 1), nn.ReLU(),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kept, changed = x.chunk(2, dim=1)
        return channel_shuffle(torch.cat([kept, self.branch(changed)], dim=1))


class DownUnit(nn.Module):
    """Two stride-2 branches over the whole input, each giving half the output channels."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        half = out_channels // 2
        self.left = nn.Sequential(
            _conv_bn(in_channels, in_channels, 3, stride=2, groups=in_channels),
            _conv_bn(in_channels, half, 1), nn.ReLU(),
        )  # fmt: skip
        self.right = nn.Sequential(
            _conv_bn(in_channels, half, 1), nn.ReLU(),
            _conv_bn(half, half, 3, stride=2, groups=half),
            _conv_bn(half, half, 1), nn.ReLU(),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_shuffle(torch.cat([self.left(x), self.right(x)], dim=1))


class ShuffleNetV2(nn.Module):
    """Stem, stages of (one DownUnit + ``blocks[i]`` BasicUnits), 1x1 conv, pool, linear."""

    def __init__(
        self,
        input_shape: tuple[int, ...],
        num_classes: int,
        stem: int = 24,
        widths: tuple[int, ...] = (48, 96, 192),
        blocks: tuple[int, ...] = (3, 7, 3),
        final: int = 1024,
        name: str = "shufflenetv2",
    ) -> None:
        super().__init__()
        spatial_ops(input_shape, name, dims=(2,))
        self.stem = nn.Sequential(_conv_bn(input_shape[0], stem, 3), nn.ReLU())
        stages: list[nn.Module] = []
        width = stem
        for out_width, depth in zip(widths, blocks):
            units = [DownUnit(width, out_width)] + [BasicUnit(out_width) for _ in range(depth)]
            stages.append(nn.Sequential(*units))
            width = out_width
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(_conv_bn(width, final, 1), nn.ReLU())
        self.fc = nn.Linear(final, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.stages(self.stem(x)))
        return self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))


@register("shufflenetv2_0.5")
def shufflenetv2_05(input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """ShuffleNetV2-0.5: stem 24, stages 48/96/192 with 3/7/3 basic units, final 1024."""
    return ShuffleNetV2(input_shape, num_classes, name="shufflenetv2_0.5")

"""VGG-11 with batch norm for 32x32 images (SD Table 6).

Layout as in SD's reference code (the common CIFAR variant of Simonyan & Zisserman 2014):
3x3 convs (padding 1, with bias) each followed by BN and ReLU, in the pattern
64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M (M = 2x2 max-pool, stride 2), then one
linear layer 512 -> classes. PyTorch's default init throughout, as in the reference.

The pools use ``ceil_mode=True``. On 32x32 inputs (CIFAR) every pooled size is even, so this
is exactly the reference network; on 28x28 MNIST it keeps the odd 7x7 map as 4x4 instead of
shrinking the map to nothing at the fifth pool, so the features end at 512 x 1 x 1 there too.

No 1-D counterpart: five halvings of a length-40 MNIST-1D signal leave a length-2 map, so the
"512 -> classes" head would not be the same network; a 1-D input raises ``ValueError``.
"""

from __future__ import annotations

from torch import nn

from .layers import reference_full_lr
from .registry import register
from .resnet import spatial_ops

VGG11_LAYOUT: tuple[int | str, ...] = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


def vgg_features(in_channels: int, layout: tuple[int | str, ...]) -> nn.Sequential:
    """Conv-BN-ReLU for each width in ``layout``, a 2x2 max-pool for each ``"M"``."""
    layers: list[nn.Module] = []
    for item in layout:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=True))
        else:
            # the reference's `features.N`: no "bn" in the name, so the scale gets the full LR
            layers += [nn.Conv2d(in_channels, int(item), 3, padding=1), reference_full_lr(nn.BatchNorm2d(int(item))), nn.ReLU()]
            in_channels = int(item)
    return nn.Sequential(*layers)


@register("vgg11")
def vgg11(input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """VGG-11 with BN for (C, H, W) images of at most 32x32 (five 2x2 pools reduce them to 1x1)."""
    spatial_ops(input_shape, "vgg11", dims=(2,))
    features = vgg_features(input_shape[0], VGG11_LAYOUT)
    height, width = input_shape[1:]
    for _ in range(VGG11_LAYOUT.count("M")):
        height, width = -(-height // 2), -(-width // 2)
    if (height, width) != (1, 1):
        raise ValueError(
            f"vgg11: a {input_shape[1]}x{input_shape[2]} image pools to {height}x{width}, "
            "not 1x1; the 512 -> classes head needs images of at most 32x32"
        )
    return nn.Sequential(features, nn.Flatten(), nn.Linear(512, num_classes))

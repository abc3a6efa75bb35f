"""SD's one-hidden-conv-layer model (Table 8, Fig 3), for images and 1-D signals.

As in SD's reference code (``HiddenNet2``): one 5x5 conv, stride 2, padding 2, with bias,
64 channels, ReLU, then a linear layer from the flattened feature map to the classes
(a 32x32 CIFAR image gives 64 x 16 x 16 features). PyTorch's default init. For a (C, L) input
(MNIST-1D) the conv is a Conv1d with the same kernel, stride and padding.

SD's one-hidden-fully-connected-layer model is ``mlp`` with ``hidden=[512]``
(:mod:`runvar.models.small`).
"""

from __future__ import annotations

import math

from torch import nn

from .registry import register
from .resnet import spatial_ops
from .small import CONV_MODES


@register("hidden_conv")
def hidden_conv(
    input_shape: tuple[int, ...],
    num_classes: int,
    channels: int = 64,
    kernel: int = 5,
    stride: int = 2,
    conv: str = "native",
) -> nn.Module:
    """Conv(``kernel``, ``stride``, padding ``kernel // 2``, ``channels``) -> ReLU -> linear.
    ``conv``: as for :func:`~runvar.models.small.cnn1d` (``gemm``: 1-D inputs only; it stacks)."""
    ops = spatial_ops(input_shape, "hidden_conv")
    if conv not in CONV_MODES or (conv != "native" and len(input_shape) != 2):
        raise ValueError(f"hidden_conv: conv {conv!r} is not one of {sorted(CONV_MODES)} "
                         "(gemm for (channels, length) inputs only)")
    layer = CONV_MODES[conv] if len(input_shape) == 2 else ops.conv
    padding = kernel // 2
    out_spatial = [(size + 2 * padding - kernel) // stride + 1 for size in input_shape[1:]]
    return nn.Sequential(
        layer(input_shape[0], channels, kernel, stride=stride, padding=padding),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(channels * math.prod(out_spatial), num_classes),
    )

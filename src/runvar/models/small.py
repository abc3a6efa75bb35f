"""Small models for 1-D signals (MNIST-1D) and flat inputs: linear, MLP, 1-D CNN."""

from __future__ import annotations

import math

from torch import nn

from .layers import SeededDropout
from .registry import register


def _flat_size(input_shape: tuple[int, ...]) -> int:
    return math.prod(input_shape)


@register("linear")
def linear(input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """Logistic regression: input -> classes (SD Table 8's linear model)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(_flat_size(input_shape), num_classes))


@register("mlp")
def mlp(
    input_shape: tuple[int, ...],
    num_classes: int,
    hidden: list[int] | tuple[int, ...] = (512,),
    dropout: float = 0.0,
) -> nn.Module:
    """Fully connected ReLU network; ``hidden=[512]`` is SD's one-hidden-layer model."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = _flat_size(input_shape)
    for units in hidden:
        layers += [nn.Linear(width, units), nn.ReLU()]
        if dropout:
            layers.append(SeededDropout(dropout))
        width = units
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


@register("cnn1d")
def cnn1d(
    input_shape: tuple[int, ...],
    num_classes: int,
    channels: int = 32,
    layers: int = 3,
    dropout: float = 0.0,
) -> nn.Module:
    """1-D CNN for MNIST-1D: ``layers`` stride-2 convs (kernel 5 then 3), ReLU, dropout, linear."""
    if len(input_shape) != 2:
        raise ValueError(f"cnn1d needs input shape (channels, length), got {input_shape}")
    in_channels, length = input_shape
    body: list[nn.Module] = []
    for i in range(layers):
        kernel = 5 if i == 0 else 3
        body += [nn.Conv1d(in_channels, channels, kernel, stride=2, padding=kernel // 2), nn.ReLU()]
        in_channels = channels
        length = (length + 2 * (kernel // 2) - kernel) // 2 + 1
    body.append(nn.Flatten())
    if dropout:
        body.append(SeededDropout(dropout))
    body.append(nn.Linear(channels * length, num_classes))
    return nn.Sequential(*body)

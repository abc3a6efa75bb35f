"""Conv2/Conv4/Conv6 and LeNet-300-100 of Slot Machines / SM, with selected or learned weights.

Options of every model here (the setup's ``model`` block):

- ``mode``: ``select`` (weight selection, :mod:`.weight_selection`) or ``learned``
  (ordinary trainable weights). Learned weights use the same architecture, the same
  Glorot-uniform initialisation U(-b, b) and, like the selection layers, no biases, so the
  two modes differ only in how the weights are trained.
- ``k`` (select only, required): candidate weights per connection.
- ``selection`` (select only): ``greedy`` (default) or ``probabilistic``.
- ``eval_selection`` (select only): rule in eval mode, ``greedy`` (default) or ``probabilistic``.

Conv nets: 3x3 convs with ReLU; Conv2 = conv64, conv64, max-pool 2; Conv4 adds conv128,
conv128, pool; Conv6 adds conv256, conv256, pool; the first four convs are unpadded,
conv5/6 padded by 1; then FC 256, FC 256, FC classes with ReLU between. Image inputs
(C, H, W) get 2-D layers. 1-D signals (C, L), e.g. MNIST-1D (1 x 40), get the 1-D analogue:
kernel 3 instead of 3x3 and max-pool 2 over length, everything else the same; on length 40
the lengths run 38, 36, pool 18 (Conv2), 16, 14, pool 7 (Conv4), 7, 7, pool 3 (Conv6), so
every stage stays positive. LeNet-300-100 flattens any input shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import nn

from .registry import register
from .weight_selection import SELECTIONS, SelectConv1d, SelectConv2d, SelectLinear, check_choice, check_k

MODES: tuple[str, ...] = ("select", "learned")

#: Output channels of each conv, per model; a max-pool follows every pair.
CONV_PLANS: dict[str, tuple[int, ...]] = {
    "conv2": (64, 64),
    "conv4": (64, 64, 128, 128),
    "conv6": (64, 64, 128, 128, 256, 256),
}
#: Convs at this index and later are padded (conv5/6), the earlier ones are not.
FIRST_PADDED_CONV = 4
KERNEL = 3
CONV_HIDDEN = (256, 256)
LENET_HIDDEN = (300, 100)


class LayerFactory:
    """Makes the linear and conv layers of one model in the chosen mode."""

    def __init__(self, mode: str, k: int | None, selection: str, eval_selection: str) -> None:
        self.mode = check_choice("mode", mode, MODES)
        if self.mode == "learned":
            if k is not None:
                raise ValueError(f"k applies only to mode=select; got k={k!r} with mode=learned")
            if (selection, eval_selection) != ("greedy", "greedy"):
                raise ValueError("selection and eval_selection apply only to mode=select")
            return
        if k is None:
            raise ValueError("mode=select needs k (candidate weights per connection), e.g. k: 8")
        self.rules = {
            "k": check_k(k),
            "selection": check_choice("selection", selection, SELECTIONS),
            "eval_selection": check_choice("eval_selection", eval_selection, SELECTIONS),
        }

    def linear(self, in_features: int, out_features: int) -> nn.Module:
        if self.mode == "select":
            return SelectLinear(in_features, out_features, **self.rules)
        layer = nn.Linear(in_features, out_features, bias=False)
        nn.init.xavier_uniform_(layer.weight)
        return layer

    def conv(self, dims: int, in_channels: int, out_channels: int, padding: int) -> nn.Module:
        if self.mode == "select":
            cls = SelectConv1d if dims == 1 else SelectConv2d
            return cls(in_channels, out_channels, KERNEL, padding=padding, **self.rules)
        cls = nn.Conv1d if dims == 1 else nn.Conv2d
        layer = cls(in_channels, out_channels, KERNEL, padding=padding, bias=False)
        nn.init.xavier_uniform_(layer.weight)
        return layer


def _mlp(factory: LayerFactory, width: int, hidden: Sequence[int], num_classes: int) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for units in hidden:
        layers += [factory.linear(width, units), nn.ReLU()]
        width = units
    layers.append(factory.linear(width, num_classes))
    return layers


def conv_net(
    plan: Sequence[int],
    input_shape: tuple[int, ...],
    num_classes: int,
    factory: LayerFactory,
) -> nn.Sequential:
    """The conv stack of ``plan`` (1-D for (C, L), 2-D for (C, H, W)), then FC 256, 256, classes."""
    if len(input_shape) not in (2, 3):
        raise ValueError(f"conv nets need input shape (C, L) or (C, H, W); got {input_shape}")
    dims = len(input_shape) - 1
    channels, spatial = input_shape[0], list(input_shape[1:])
    pool = nn.MaxPool1d if dims == 1 else nn.MaxPool2d
    layers: list[nn.Module] = []
    for i, out_channels in enumerate(plan):
        padding = 1 if i >= FIRST_PADDED_CONV else 0
        layers += [factory.conv(dims, channels, out_channels, padding), nn.ReLU()]
        channels = out_channels
        spatial = [s + 2 * padding - KERNEL + 1 for s in spatial]
        if i % 2 == 1:
            layers.append(pool(2))
            spatial = [s // 2 for s in spatial]
        if min(spatial) < 1:
            raise ValueError(f"input shape {input_shape} is too small: conv {i + 1} leaves size {spatial}")
    layers.append(nn.Flatten())
    layers += _mlp(factory, channels * math.prod(spatial), CONV_HIDDEN, num_classes)
    return nn.Sequential(*layers)


def _register_conv(name: str) -> None:
    plan = CONV_PLANS[name]

    def build(
        input_shape: tuple[int, ...],
        num_classes: int,
        mode: str = "select",
        k: int | None = None,
        selection: str = "greedy",
        eval_selection: str = "greedy",
    ) -> nn.Module:
        return conv_net(plan, input_shape, num_classes, LayerFactory(mode, k, selection, eval_selection))

    build.__name__ = name
    build.__doc__ = f"{name.capitalize()} (convs {plan}); options as in the module docstring."
    register(name)(build)


for _name in CONV_PLANS:
    _register_conv(_name)


@register("lenet")
def lenet(
    input_shape: tuple[int, ...],
    num_classes: int,
    mode: str = "select",
    k: int | None = None,
    selection: str = "greedy",
    eval_selection: str = "greedy",
) -> nn.Module:
    """LeNet-300-100: flatten, FC 300, FC 100, FC classes (ReLU between); options as above."""
    factory = LayerFactory(mode, k, selection, eval_selection)
    return nn.Sequential(nn.Flatten(), *_mlp(factory, math.prod(input_shape), LENET_HIDDEN, num_classes))

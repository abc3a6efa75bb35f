"""Weight-selection ("slot machine") layers: pick one of k fixed random weights per connection.

Each connection holds ``k`` candidate weights drawn once at construction and never updated
(buffers: saved in the state dict, invisible to the optimizer) and ``k`` trainable scores.
The forward pass uses, per connection, the candidate with the highest score (``greedy``) or
one sampled from ``softmax(scores)`` (``probabilistic``, drawn from ``self.generator``, the
run's stochastic source). Scores learn straight through the selection, as in the Slot
Machines reference code: the gradient of score j is the gradient of the effective weight
times candidate j's value, for every j, chosen or not.

Candidates ~ U(-b, b) with b = sqrt(6 / (fan_in + fan_out)) (Glorot uniform, fans computed
without k); scores ~ U(0, b); no biases.

The models after the layers are Slot Machines' / SM's Conv2, Conv4, Conv6 and LeNet-300-100
(registered as conv2, conv4, conv6, lenet), with selected or learned weights.

Options of every model here (the setup's ``model`` block):

- ``mode``: ``select`` (weight selection, the layers above) or ``learned``
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
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .layers import StochasticLayer
from .selection_kernels import argmax_last, chosen_after_step, gather_last, score_gradient
from .registry import register

#: How a layer picks its candidate per connection.
SELECTIONS: tuple[str, ...] = ("greedy", "probabilistic")


def check_choice(option: str, value: object, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``, else a ValueError naming option, value and choices."""
    if value not in allowed:
        raise ValueError(f"{option} must be one of {', '.join(allowed)}; got {value!r}")
    return str(value)


def check_k(k: object) -> int:
    """The candidate count as an int >= 1, else a ValueError naming the option."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k (candidates per connection) must be an integer >= 1; got {k!r}")
    return k


class _StraightThroughSelect(torch.autograd.Function):
    """Effective weight = the chosen candidate; d score_j = d weight * candidate_j (None where the
    optimizer step to come computes it itself: :func:`~.selection_kernels.backward_and_step`)."""

    @staticmethod
    def forward(
        ctx: Any, scores: torch.Tensor, candidates: torch.Tensor, choice: torch.Tensor, chosen: torch.Tensor | None
    ) -> torch.Tensor:
        ctx.save_for_backward(candidates)
        ctx.scores = scores  # which tensor, for the fused step; its values are not needed
        return gather_last(candidates, choice) if chosen is None else chosen

    @staticmethod
    def backward(ctx: Any, grad_weight: torch.Tensor) -> tuple[torch.Tensor | None, None, None, None]:
        (candidates,) = ctx.saved_tensors
        return score_gradient(ctx.scores, grad_weight, candidates), None, None, None


class SelectionLayer(StochasticLayer):
    """Base of the weight-selection layers: candidates, scores, and the choice between them.

    ``selection`` is the training-time rule. ``eval_selection`` is the rule in eval mode;
    by default a probabilistic layer evaluates with the greedy choice (the highest score),
    so evaluation is deterministic and draws nothing from the generator. ``last_choice``
    holds the candidate index per connection used by the most recent forward pass.
    """

    def __init__(
        self,
        weight_shape: tuple[int, ...],
        fan_in: int,
        fan_out: int,
        k: int,
        selection: str = "greedy",
        eval_selection: str = "greedy",
    ) -> None:
        super().__init__()
        self.k = check_k(k)
        self.selection = check_choice("selection", selection, SELECTIONS)
        self.eval_selection = check_choice("eval_selection", eval_selection, SELECTIONS)
        self.generator: torch.Generator | None = None
        self.last_choice: torch.Tensor | None = None
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        # Initial draws come from the global generator, which build_model seeds (init source).
        self.register_buffer("candidates", torch.empty(*weight_shape, self.k).uniform_(-bound, bound))
        self.scores = nn.Parameter(torch.empty(*weight_shape, self.k).uniform_(0.0, bound))

    @property
    def rule(self) -> str:
        """The selection rule the next forward pass uses (depends on train/eval mode)."""
        return self.selection if self.training else self.eval_selection

    @torch.no_grad()
    def greedy_choice(self) -> torch.Tensor:
        """Index of the highest-scoring candidate per connection (first one on ties)."""
        return argmax_last(self.scores)

    @torch.no_grad()
    def sample_choice(self) -> torch.Tensor:
        """One candidate per connection drawn from softmax(scores) with ``self.generator``.

        Inverse-CDF sampling, one uniform per connection: the index is the number of
        cumulative probabilities below the uniform (about twice as fast as multinomial).
        """
        if self.generator is None:
            raise RuntimeError(
                f"{type(self).__name__} samples its weights but has no generator: "
                "call set_stochastic_generator"
            )
        cdf = torch.softmax(self.scores, dim=-1).cumsum_(-1)
        uniform = torch.rand(cdf.shape[:-1] + (1,), generator=self.generator, device=cdf.device)
        # the clamp catches a uniform above a last cumulative sum rounded just below 1
        return (cdf < uniform).sum(-1).clamp_(max=self.k - 1)

    def effective_weight(self) -> torch.Tensor:
        """The weight tensor this forward pass uses; records the choice in ``last_choice``."""
        chosen = None
        if self.rule == "probabilistic":
            choice = self.sample_choice()
        else:  # the fused step may have chosen already, in its pass over the scores
            choice, chosen = chosen_after_step(self.scores, self.candidates) or (self.greedy_choice(), None)
        self.last_choice = choice
        return _StraightThroughSelect.apply(self.scores, self.candidates, choice, chosen)

    def extra_repr(self) -> str:
        return f"k={self.k}, selection={self.selection}, eval_selection={self.eval_selection}"


class SelectLinear(SelectionLayer):
    """Fully connected weight-selection layer without bias (weight shape out x in)."""

    def __init__(self, in_features: int, out_features: int, k: int, **rules: str) -> None:
        super().__init__((out_features, in_features), in_features, out_features, k, **rules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.effective_weight())

    def extra_repr(self) -> str:
        out_features, in_features = self.candidates.shape[:2]
        return f"in_features={in_features}, out_features={out_features}, {super().extra_repr()}"


class _SelectConv(SelectionLayer):
    dims: int

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, k: int, padding: int = 0, **rules: str
    ) -> None:
        receptive = kernel_size**self.dims
        super().__init__(
            (out_channels, in_channels) + (kernel_size,) * self.dims,
            in_channels * receptive,
            out_channels * receptive,
            k,
            **rules,
        )
        self.padding = padding

    def extra_repr(self) -> str:
        shape = tuple(self.candidates.shape)
        layout = f"{shape[1]}, {shape[0]}, kernel_size={shape[2:-1]}, padding={self.padding}"
        return f"{layout}, {super().extra_repr()}"


class SelectConv1d(_SelectConv):
    """1-D convolution (stride 1) that selects its kernel weights; no bias."""

    dims = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv1d(x, self.effective_weight(), padding=self.padding)


class SelectConv2d(_SelectConv):
    """2-D convolution (stride 1, square kernel) that selects its kernel weights; no bias."""

    dims = 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.effective_weight(), padding=self.padding)


def selection_layers(model: nn.Module) -> dict[str, SelectionLayer]:
    """The weight-selection layers of ``model`` by module name."""
    return {name: m for name, m in model.named_modules() if isinstance(m, SelectionLayer)}


def selection_choices(model: nn.Module, last: bool = False) -> dict[str, torch.Tensor]:
    """Chosen candidate index per connection, by layer name, for recording a run's network.

    ``last=False``: the greedy choice (what eval mode uses by default); ``last=True``: the
    choice made by each layer's most recent forward pass (e.g. a probabilistic sample).
    """
    choices = {}
    for name, layer in selection_layers(model).items():
        if last:
            if layer.last_choice is None:
                raise RuntimeError(f"selection layer {name!r} has not run a forward pass yet")
            choices[name] = layer.last_choice.clone()
        else:
            choices[name] = layer.greedy_choice()
    return choices


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

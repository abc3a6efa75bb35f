"""Layers whose randomness comes from an explicit generator instead of the global one."""

from __future__ import annotations

import torch
from torch import nn


class StochasticLayer(nn.Module):
    """Base of layers that draw randomness in training: they read ``self.generator`` only.

    The training loop hands every such layer the run's stochastic-source generator.
    """

    generator: torch.Generator | None = None


class SeededDropout(StochasticLayer):
    """Inverted dropout whose masks are drawn from ``self.generator`` (the stochastic source).

    The training loop assigns the generator with :func:`set_stochastic_generator`; without
    one, training-mode forward raises instead of silently reading the global generator.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.generator is None:
            raise RuntimeError("SeededDropout has no generator: call set_stochastic_generator")
        # a uniform draw compared with p: half the time of bernoulli_ on a CPU thread
        keep = torch.rand(x.shape, generator=self.generator, device=x.device, dtype=x.dtype) >= self.p
        return (x * keep).div_(1.0 - self.p)  # in place on the product: the bits of x * keep / (1 - p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def set_stochastic_generator(model: nn.Module, generator: torch.Generator) -> int:
    """Give every stochastic layer of ``model`` the generator; returns how many it found."""
    found = 0
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            raise TypeError(
                "model uses torch.nn.Dropout, which draws from the global generator; "
                "use runvar.models.layers.SeededDropout"
            )
        if isinstance(module, StochasticLayer):
            module.generator = generator
            found += 1
    return found


#: Set (True) on a batch-norm layer whose scale SD's reference code trains at the full LR: its
#: optimizer gives 0.1 x LR to parameters whose name contains ``bias``, or ``bn`` and ``weight``,
#: and its ResNet downsampling shortcut (``downsample.1``) and VGG batch norms (``features.N``)
#: have no ``bn`` in their names (``optimizer.param_groups: reference``, runvar.train).
REFERENCE_FULL_LR = "reference_full_lr"


def reference_full_lr(module: nn.Module) -> nn.Module:
    """Mark a batch-norm layer whose scale the reference trains at the full LR; returns it."""
    setattr(module, REFERENCE_FULL_LR, True)
    return module

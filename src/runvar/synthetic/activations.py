"""Activation functions as modules, with the smooth ones of Snapp & Shamir (SS) and a by-name lookup.

* ``SmeLU(beta)``: 0 for x <= -beta, (x + beta)^2 / (4 beta) for |x| <= beta, x for x >= beta.
  Continuous with a continuous first derivative (0 at -beta, 1 at +beta).
* ``Swish(beta)``: x * sigmoid(beta x).

>>> import torch
>>> act = activation("smelu", beta=1.0)
>>> act(torch.tensor([-2.0, 0.0, 2.0])).tolist()
[0.0, 0.25, 2.0]
>>> sorted(ACTIVATIONS)
['identity', 'relu', 'smelu', 'swish']
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _SmeLUFunction(torch.autograd.Function):
    """SmeLU with its derivative clamp((x + beta) / (2 beta), 0, 1) saved from the forward pass.

    One elementwise product in the backward pass instead of autograd's chain through clamp,
    power and select: SmeLU sits in the inner loop of the synthetic study.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, beta: float) -> torch.Tensor:  # type: ignore[override]
        slope = ((x + beta) / (2.0 * beta)).clamp_(0.0, 1.0)
        ctx.save_for_backward(slope)
        # On the quadratic piece (x + beta)^2 / (4 beta) = beta * slope^2; above it, x.
        return torch.where(x >= beta, x, slope * slope * beta)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (slope,) = ctx.saved_tensors
        return grad * slope, None


class SmeLU(nn.Module):
    """Smooth ReLU (Shamir, Lin & Coviello 2020) with half-width ``beta`` of the quadratic piece."""

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__()
        if not beta > 0:
            raise ValueError(f"SmeLU beta must be > 0, got {beta}")
        self.beta = float(beta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _SmeLUFunction.apply(x, self.beta)

    def extra_repr(self) -> str:
        return f"beta={self.beta}"


class Swish(nn.Module):
    """Swish (Ramachandran et al. 2017): ``x * sigmoid(beta * x)``."""

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__()
        if not beta > 0:
            raise ValueError(f"Swish beta must be > 0, got {beta}")
        self.beta = float(beta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # silu(beta x) / beta = x * sigmoid(beta x), with silu's fused forward and backward.
        return F.silu(self.beta * x) / self.beta

    def extra_repr(self) -> str:
        return f"beta={self.beta}"


#: Activation names -> (constructor, whether it takes ``beta``).
ACTIVATIONS: dict[str, tuple[type[nn.Module], bool]] = {
    "identity": (nn.Identity, False),
    "relu": (nn.ReLU, False),
    "smelu": (SmeLU, True),
    "swish": (Swish, True),
}


class UnknownActivationError(ValueError):
    """An activation name that is not one of :data:`ACTIVATIONS`."""


def activation(name: str, beta: float | None = None) -> nn.Module:
    """The activation module ``name``; ``beta`` is required by smelu/swish and refused by others."""
    try:
        factory, takes_beta = ACTIVATIONS[name]
    except KeyError:
        raise UnknownActivationError(
            f"unknown activation {name!r}; valid activations: {', '.join(ACTIVATIONS)}"
        ) from None
    if takes_beta:
        if beta is None:
            raise ValueError(f"activation {name!r} needs a beta (> 0)")
        return factory(beta)
    if beta is not None:
        raise ValueError(f"activation {name!r} takes no beta, got beta={beta}")
    return factory()

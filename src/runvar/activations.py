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
from torch import nn


class SmeLU(nn.Module):
    """Smooth ReLU (Shamir, Lin & Coviello 2020) with half-width ``beta`` of the quadratic piece."""

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__()
        if not beta > 0:
            raise ValueError(f"SmeLU beta must be > 0, got {beta}")
        self.beta = float(beta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta = self.beta
        # clamp keeps the quadratic branch finite and its gradient zero outside |x| <= beta.
        inner = (x.clamp(-beta, beta) + beta) ** 2 / (4 * beta)
        return torch.where(x >= beta, x, inner)

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
        return x * torch.sigmoid(self.beta * x)

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

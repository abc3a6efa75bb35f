"""The paper's optimisers with Keras (v1) semantics, applied to batched parameters.

Both are per-coordinate, so a leading model axis changes nothing: each model is updated as
if it were trained alone.

* AdaGrad: ``acc += g^2; p -= lr * g / (sqrt(acc) + eps)``, accumulator starting at
  ``initial_accumulator`` (the paper: 0.1), eps = 1e-7 as in Keras.
* SGD with momentum and decay: Keras' ``decay`` is inverse-time learning-rate decay,
  ``lr_t = lr / (1 + decay * t)`` for step t = 0, 1, ...; then ``v = momentum * v - lr_t * g;
  p += v``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

OPTIMIZERS = ("adagrad", "sgd")
ADAGRAD_EPS = 1e-7


class Adagrad:
    """AdaGrad with an initial accumulator value."""

    def __init__(self, params: Sequence[torch.Tensor], lr: float, initial_accumulator: float) -> None:
        self.params = list(params)
        self.lr = float(lr)
        self.accumulators = [torch.full_like(p, float(initial_accumulator)) for p in self.params]

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor]) -> None:
        grads = list(grads)
        torch._foreach_addcmul_(self.accumulators, grads, grads)
        denominators = torch._foreach_sqrt(self.accumulators)
        torch._foreach_add_(denominators, ADAGRAD_EPS)
        torch._foreach_addcdiv_(self.params, grads, denominators, value=-self.lr)


class MomentumSGD:
    """SGD with momentum and inverse-time learning-rate decay (Keras ``SGD(lr, momentum, decay)``)."""

    def __init__(self, params: Sequence[torch.Tensor], lr: float, momentum: float, decay: float) -> None:
        self.params = list(params)
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.decay = float(decay)
        self.velocities = [torch.zeros_like(p) for p in self.params]
        self.steps = 0

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor]) -> None:
        lr = self.lr / (1.0 + self.decay * self.steps)
        torch._foreach_mul_(self.velocities, self.momentum)
        torch._foreach_add_(self.velocities, list(grads), alpha=-lr)
        torch._foreach_add_(self.params, self.velocities)
        self.steps += 1


def make_optimizer(name: str, params: Sequence[torch.Tensor], lr: float, *, initial_accumulator: float = 0.1,
                   momentum: float = 0.9, decay: float = 0.001) -> Adagrad | MomentumSGD:
    """Optimiser ``name`` ('adagrad' or 'sgd') over ``params``."""
    if name == "adagrad":
        return Adagrad(params, lr, initial_accumulator)
    if name == "sgd":
        return MomentumSGD(params, lr, momentum, decay)
    raise ValueError(f"unknown optimizer {name!r}; valid optimizers: {', '.join(OPTIMIZERS)}")

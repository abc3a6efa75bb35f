"""The synthetic study's models, many at once: every parameter has a leading model axis.

All 2M models of a setting (times its shuffling windows and init modes) share one
architecture, so they train as one batched network: a mini-batch is (K, B, 32) and each layer
is one ``baddbmm`` over the K models instead of K small matrix products. Nothing mixes the
models: model k's gradient depends on model k's parameters and examples only.

Architectures (SS Figs 1, 5): ``linear`` (sigmoid of b + x.w); ``mlp`` with hidden widths
(``[1]`` single unit, ``[2]`` double, ``[16, 8, 4, 2]`` tower, ``[1024, 512]`` for the
quadratic data); ``embedding``: a ``embedding_dim``-d vector per feature, summed over the active
features of each set of 16, the two sums concatenated and fed to the hidden layers.
Initialisation follows Keras defaults (the paper's framework): Glorot-uniform kernels, zero
biases, embeddings uniform in [-0.05, 0.05].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .activations import activation
from .data import LINEAR_SET_SIZE, NUM_FEATURES

MODEL_KINDS = ("linear", "mlp", "embedding")
EMBEDDING_INIT_LIMIT = 0.05


@dataclass(frozen=True)
class Architecture:
    """What one model of a setting is: kind, hidden widths, activation (and its beta)."""

    model: str
    hidden: tuple[int, ...] = ()
    activation: str = "identity"
    beta: float | None = None
    embedding_dim: int = 2

    def input_width(self) -> int:
        if self.model == "embedding":
            return self.embedding_dim * (NUM_FEATURES // LINEAR_SET_SIZE)
        return NUM_FEATURES

    def layer_shapes(self) -> list[tuple[int, int]]:
        """(fan_in, fan_out) of every dense layer, the output layer last."""
        widths = [self.input_width(), *self.hidden, 1]
        return list(zip(widths[:-1], widths[1:]))


def init_parameters(arch: Architecture, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """One model's initial parameters, every value drawn from ``generator`` (CPU)."""
    params: dict[str, torch.Tensor] = {}
    if arch.model == "embedding":
        shape = (NUM_FEATURES // LINEAR_SET_SIZE, LINEAR_SET_SIZE, arch.embedding_dim)
        params["embedding"] = _uniform(shape, EMBEDDING_INIT_LIMIT, generator)
    for i, (fan_in, fan_out) in enumerate(arch.layer_shapes()):
        params[f"w{i}"] = _uniform((fan_in, fan_out), math.sqrt(6.0 / (fan_in + fan_out)), generator)
        params[f"b{i}"] = torch.zeros(1, fan_out)
    return params


def _uniform(shape: tuple[int, ...], limit: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(shape, generator=generator) * 2.0 - 1.0) * limit


class BatchedNet(nn.Module):
    """K models of one architecture; ``forward`` maps (K, B, 32) features to (K, B) logits."""

    def __init__(self, arch: Architecture, models: Sequence[dict[str, torch.Tensor]]) -> None:
        super().__init__()
        if not models:
            raise ValueError("BatchedNet needs at least one model")
        self.arch = arch
        self.params = nn.ParameterDict(
            {name: nn.Parameter(torch.stack([m[name] for m in models])) for name in models[0]}
        )
        self.act = activation(arch.activation, arch.beta) if arch.hidden else nn.Identity()
        self.depth = len(arch.layer_shapes())

    @property
    def num_models(self) -> int:
        return next(iter(self.params.values())).shape[0]

    def model_parameters(self, index: int) -> dict[str, torch.Tensor]:
        """Detached copy of model ``index``'s parameters (e.g. to warm-start other models)."""
        return {name: p[index].detach().clone() for name, p in self.params.items()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, b, _ = x.shape
        h = x
        if self.arch.model == "embedding":
            sets = NUM_FEATURES // LINEAR_SET_SIZE
            h = torch.einsum("kbsf,ksfe->kbse", x.reshape(k, b, sets, LINEAR_SET_SIZE), self.params["embedding"])
            h = h.reshape(k, b, sets * self.arch.embedding_dim)
        for i in range(self.depth - 1):
            h = self.act(torch.baddbmm(self.params[f"b{i}"], h, self.params[f"w{i}"]))
        # The single output unit as multiply-and-sum: batched matrix-vector products are
        # several times slower than this on CPU.
        w, b = self.params[f"w{self.depth - 1}"], self.params[f"b{self.depth - 1}"]
        return (h * w.transpose(1, 2)).sum(dim=-1) + b.squeeze(-1)

"""Several runs of one ``cnn1d(conv="gemm")``, ``linear`` or ``mlp`` setup as one model: each
parameter stacked over the runs, each matrix product batched over them (``bmm``).

On one CPU thread a small model's training step is spent on per-operation overhead and on
matrix products too small to use the core; a stack of 4-5 runs takes about half the time per
run of training them one at a time (``benchmarks/stacked_training.py``). Each run keeps its
own batches, dropout generator and parameters: the runs never mix. The operations are the ones
:class:`~runvar.models.small.GemmConv1d`, ``nn.Flatten``, :class:`SeededDropout` and
``nn.Linear`` perform, in the same order, so on a CPU a stacked run is bitwise the run trained
alone (``tests/test_stacked.py`` checks it) and the stack size is a speed setting only.
That rests on ``bmm`` rounding as ``mm`` does for the shapes at hand, a property of the CPU's
kernels and the library versions: before a job trains a stack, :func:`runvar.train.stack_mismatch`
compares one step of it with its runs alone at every batch size of an epoch, and where the bits
differ the runs train one at a time (``stack_fallback`` in their ``run.json``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from .layers import SeededDropout
from .weight_selection import SelectLinear
from .small import GemmConv1d, strided_windows


class _RunsMatmul(torch.autograd.Function):
    """``a @ weight^T (+ bias)`` per run, for ``a`` (runs, M, F) and ``weight`` (runs, O, F),
    with the gradients computed in the orientation autograd gives ``x @ w.t()`` of one run:
    ``grad @ w`` and ``grad^T @ a``. (``bmm``'s own backward computes the weight's as
    ``a^T @ grad``, which MKL rounds differently for some shapes.)"""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        ctx.save_for_backward(a, weight)
        ctx.has_bias = bias is not None
        if bias is None:
            return torch.bmm(a, weight.transpose(1, 2))
        return torch.baddbmm(bias.unsqueeze(1), a, weight.transpose(1, 2))

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        a, weight = ctx.saved_tensors
        grad_a = torch.bmm(grad, weight) if ctx.needs_input_grad[0] else None
        grad_weight = torch.bmm(grad.transpose(1, 2), a)
        grad_bias = grad.sum(1) if ctx.has_bias else None
        return grad_a, grad_weight, grad_bias


def stackable(block: Mapping[str, Any]) -> bool:
    """Whether runs of a setup with model block ``block`` can train as one stacked model
    (:func:`stack_models`): ``cnn1d`` and ``hidden_conv`` with ``conv: gemm``, ``linear``, ``mlp``
    and ``lenet`` (learned, or selecting its weights greedily)."""
    if block.get("name") == "lenet":  # a probabilistic selection draws from each run's layers' generators
        return block.get("selection", "greedy") == "greedy"
    return (block.get("name") in ("cnn1d", "hidden_conv") and block.get("conv") == "gemm") or block.get("name") in ("linear", "mlp")


def stack_models(block: Mapping[str, Any], models: Sequence[nn.Module]) -> nn.Module:
    """The runs ``models`` of model block ``block`` (:func:`stackable`) as one module."""
    if not stackable(block):
        raise ValueError(f"model {block.get('name')!r} does not stack; stackable: cnn1d and hidden_conv "
                         "(conv: gemm), linear, mlp, lenet (greedy selection or learned)")
    return StackedMLP(models) if block["name"] in ("linear", "mlp", "lenet") else StackedCNN1d(models)


def _one_layout(models: Sequence[nn.Module], stack: str, kind: str) -> list[type]:
    """The layer types the ``nn.Sequential`` ``models`` share; a clear error if they do not."""
    if not models:
        raise ValueError(f"{stack} needs at least one model")
    layout = [type(m) for m in models[0]]
    if any(not isinstance(m, nn.Sequential) or [type(x) for x in m] != layout for m in models):
        raise TypeError(f"{stack} stacks {kind} models of one architecture")
    return layout


def _dropout(x: torch.Tensor, p: float, generators: Sequence[torch.Generator] | None) -> torch.Tensor:
    """:class:`SeededDropout` of each run's slice of ``x`` (runs, ...) with that run's generator."""
    if generators is None or len(generators) != x.shape[0]:
        raise RuntimeError("a stacked model in training needs one dropout generator per run")
    noise = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    for run, g in enumerate(generators):  # each run's uniforms, drawn as torch.rand draws them
        noise[run].uniform_(generator=g)
    return (x * (noise >= p)).div_(1.0 - p)  # the bits of x * keep / (1 - p)


class StackedMLP(nn.Module):
    """The runs of :func:`~runvar.models.small.linear`, :func:`~runvar.models.small.mlp` or
    :func:`~runvar.models.weight_selection.lenet` ``models`` (``Flatten``, then ``Linear`` or
    greedy :class:`~runvar.models.weight_selection.SelectLinear` layers with ``ReLU`` and
    :class:`SeededDropout` between them) as one module, each layer a batched product as in
    :class:`StackedCNN1d`; a selection layer's weight is each run's own chosen candidates,
    chosen as alone. :meth:`forward` takes ``x`` of shape (runs, N, ...) and one dropout
    generator per run."""

    LAYERS = (nn.Flatten, nn.Linear, SelectLinear, nn.ReLU, SeededDropout)

    def __init__(self, models: Sequence[nn.Module]) -> None:
        super().__init__()
        layout = _one_layout(models, "StackedMLP", "linear, mlp or lenet")
        if not all(t in self.LAYERS for t in layout) or layout[0] is not nn.Flatten:
            raise TypeError("StackedMLP stacks linear, mlp or lenet models of one architecture")
        self.runs = nn.ModuleList(models)

    def forward(self, x: torch.Tensor, generators: Sequence[torch.Generator] | None = None) -> torch.Tensor:
        x = x.reshape(*x.shape[:2], -1)
        produced = False  # whether x is a product's output, which no one else holds
        for index, layer in enumerate(self.runs[0]):
            if isinstance(layer, SelectLinear):
                if layer.rule != "greedy":
                    raise RuntimeError("StackedMLP selects weights greedily only")
                x = _RunsMatmul.apply(x, torch.stack([run[index].effective_weight() for run in self.runs]), None)
            elif isinstance(layer, nn.Linear):
                weight = torch.stack([run[index].weight for run in self.runs])
                bias = None if layer.bias is None else torch.stack([run[index].bias for run in self.runs])
                x = _RunsMatmul.apply(x, weight, bias)
            elif isinstance(layer, nn.ReLU):
                x = torch.relu_(x) if produced else torch.relu(x)  # in place on a product's output
            elif isinstance(layer, SeededDropout) and self.training and layer.p:
                x = _dropout(x, layer.p, generators)
            produced = isinstance(layer, (nn.Linear, SelectLinear))
        return x


class StackedCNN1d(nn.Module):
    """The runs of :func:`~runvar.models.small.cnn1d` or :func:`~runvar.models.hidden.hidden_conv`
    ``models`` (built with ``conv="gemm"``: convolutions with ReLU, then dropout and a linear
    layer) as one module. The parameters stay the models' own (``runs``): each step stacks them, so
    an optimizer updates every run's tensors exactly as it would the run's alone (a fused
    optimizer rounds the elements at a tensor's vectorised body and at its tail differently).

    :meth:`forward` takes ``x`` of shape (runs, N, C, L) and one dropout generator per run and
    returns logits (runs, N, classes).
    """

    def __init__(self, models: Sequence[nn.Module]) -> None:
        super().__init__()
        _one_layout(models, "StackedCNN1d", "cnn1d(conv='gemm')")
        self.runs = nn.ModuleList(models)
        first = list(models[0])
        self.convs = [(i, m.kernel_size[0], m.stride[0], m.padding[0]) for i, m in enumerate(first)
                      if isinstance(m, GemmConv1d)]
        self.dropout = next((m.p for m in first if isinstance(m, SeededDropout)), 0.0)
        self.linear = next(i for i, m in enumerate(first) if isinstance(m, nn.Linear))

    def _stacked(self, index: int, name: str) -> torch.Tensor:
        return torch.stack([getattr(run[index], name) for run in self.runs])

    def forward(self, x: torch.Tensor, generators: Sequence[torch.Generator] | None = None) -> torch.Tensor:
        runs, n = x.shape[:2]
        x = x.transpose(2, 3)  # (runs, N, L, C): every layer works channels last, as GemmConv1d
        for index, kernel, stride, padding in self.convs:
            windows = strided_windows(x, kernel, stride, padding)
            length = windows.shape[2]
            weight = self._stacked(index, "weight")  # (runs, O, C, k) -> (runs, O, kC)
            weight = weight.permute(0, 1, 3, 2).reshape(runs, weight.shape[1], -1)
            # the bias in the product (baddbmm, as GemmConv1d's addmm), ReLU in place
            out = _RunsMatmul.apply(windows.reshape(runs, -1, windows.shape[3]), weight, self._stacked(index, "bias"))
            x = torch.relu_(out).view(runs, n, length, -1)
        x = x.transpose(2, 3).reshape(runs, n, -1)  # nn.Flatten of (N, C, L)
        if self.training and self.dropout:
            x = _dropout(x, self.dropout, generators)
        return _RunsMatmul.apply(x, self._stacked(self.linear, "weight"), self._stacked(self.linear, "bias"))

"""Small models for 1-D signals (MNIST-1D) and flat inputs: linear, MLP, 1-D CNN."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .layers import SeededDropout
from .registry import register
from .window_kernels import windows as compiled_windows
from .window_kernels import windows_backward as compiled_windows_backward


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


def strided_windows(x: torch.Tensor, kernel: int, stride: int, padding: int) -> torch.Tensor:
    """The windows a 1-D convolution sees, channels last: ``x`` (..., L, C), zero-padded by
    ``padding`` on both ends of L -> (..., L', kernel x C), tap-major (tap j's C channels at
    ``j * C``). The single model (:class:`GemmConv1d`) and the stacked one
    (:class:`~runvar.models.stacked.StackedCNN1d`) both take their windows, and their
    windows' gradient, from here: so the two sum a position's gradients in the same order."""
    return _Windows.apply(x, kernel, stride, padding)


class _Windows(torch.autograd.Function):
    """:func:`strided_windows`. The forward takes one strided view of the padded input (the
    values only move, so any copy gives the same bits). The backward adds each tap's gradient
    into one zeroed input gradient, tap by tap: where autograd's concatenation backward
    zero-filled and copied one input-sized tensor per tap and summed them, which took about a
    quarter of a stacked training step. Where they apply, :mod:`.window_kernels` do each in one
    compiled pass, with the same bits."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, kernel: int, stride: int, padding: int) -> torch.Tensor:
        shape = (*x.shape[:-2], x.shape[-2] + 2 * padding, x.shape[-1])  # the padded input's
        out_len = (shape[-2] - kernel) // stride + 1
        ctx.geometry = (torch.Size(shape), kernel, stride, padding, stride * (out_len - 1) + 1)
        compiled = compiled_windows(x, kernel, stride, padding, out_len)
        if compiled is not None:
            return compiled
        padded = F.pad(x, (0, 0, padding, padding))
        windows = padded.unfold(-2, kernel, stride).transpose(-1, -2)  # (..., L', kernel, C), a view
        return windows.reshape(*windows.shape[:-2], kernel * x.shape[-1])

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, None, None]:
        if not ctx.needs_input_grad[0]:
            return None, None, None, None
        shape, kernel, stride, padding, span = ctx.geometry
        compiled = compiled_windows_backward(grad, shape, kernel, stride, padding)
        if compiled is not None:
            return compiled, None, None, None
        channels = shape[-1]
        padded = grad.new_zeros(shape)
        for j in range(kernel):
            padded[..., j : j + span : stride, :] += grad[..., j * channels : (j + 1) * channels]
        return padded[..., padding : shape[-2] - padding, :], None, None, None


class GemmConv1d(nn.Conv1d):
    """``nn.Conv1d`` (same parameters, init and input/output layout) computed as one matrix
    product of the strided input windows, channels last.

    On one CPU thread a cnn1d training epoch on MNIST-1D runs 1.2-1.7x faster this way than
    through oneDNN (``benchmarks/conv_step.py``). It never calls
    cuDNN, so a CUDA setup that measures the ``cudnn`` source keeps ``conv: native``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.groups != 1 or self.dilation != (1,) or isinstance(self.padding, str):
            raise ValueError("GemmConv1d supports groups=1, dilation=1 and integer padding only")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (kernel,), (stride,), (padding,) = self.kernel_size, self.stride, self.padding
        windows = strided_windows(x.transpose(1, 2), kernel, stride, padding)  # (N, L', kC)
        length = windows.shape[1]
        weight = self.weight.permute(0, 2, 1).reshape(self.out_channels, -1)  # (O, kC)
        out = F.linear(windows.reshape(-1, windows.shape[2]), weight, self.bias)  # addmm: the bias in the product
        return out.view(x.shape[0], length, self.out_channels).transpose(1, 2)


#: ``cnn1d(conv=...)``: how its convolutions are computed (the function is the same).
CONV_MODES = {"native": nn.Conv1d, "gemm": GemmConv1d}


@register("cnn1d")
def cnn1d(
    input_shape: tuple[int, ...],
    num_classes: int,
    channels: int = 32,
    layers: int = 3,
    dropout: float = 0.0,
    conv: str = "native",
) -> nn.Module:
    """1-D CNN for MNIST-1D: ``layers`` stride-2 convs (kernel 5 then 3), ReLU, dropout, linear.
    ``conv``: ``native`` (``nn.Conv1d``: oneDNN on CPU, cuDNN on CUDA) or ``gemm``
    (:class:`GemmConv1d`, faster on a CPU, never cuDNN)."""
    if len(input_shape) != 2:
        raise ValueError(f"cnn1d needs input shape (channels, length), got {input_shape}")
    if conv not in CONV_MODES:
        raise ValueError(f"cnn1d conv must be one of {', '.join(CONV_MODES)}, got {conv!r}")
    in_channels, length = input_shape
    body: list[nn.Module] = []
    for i in range(layers):
        kernel = 5 if i == 0 else 3
        body += [CONV_MODES[conv](in_channels, channels, kernel, stride=2, padding=kernel // 2), nn.ReLU()]
        in_channels = channels
        length = (length + 2 * (kernel // 2) - kernel) // 2 + 1
    body.append(nn.Flatten())
    if dropout:
        body.append(SeededDropout(dropout))
    body.append(nn.Linear(channels * length, num_classes))
    return nn.Sequential(*body)

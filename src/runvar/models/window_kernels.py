"""The convolution windows of :func:`~runvar.models.small.strided_windows`, compiled: the
forward's copy of the zero-padded input's windows and the backward's sum of each tap's gradient,
each in one pass.

torch builds the windows by padding (one copy) and copying a strided view of the padded input
(another), and their gradient by zero-filling a padded tensor and adding each tap's gradient
into it, one strided pass a tap: on one CPU thread, about a tenth of a stacked cnn1d training
step. The loops below do the same in one pass each and give the same bits: the forward the same
copies (zeros where the window hangs over an end: the +0.0 that padding writes), the backward
each input position's sum of its taps' gradients in the same order, tap 0 first, starting from
+0.0 (as adding into zeros does), into a tensor of the same shape and strides as torch's
result. So they are a speed setting only (``tests/test_window_kernels.py``). They run on
contiguous float32 CPU tensors with torch on one thread; anything else runs torch's operations,
as does ``RUNVAR_WINDOW_KERNELS=0`` in the environment of the process (:data:`ENABLED`), or a
machine where they cannot be built (:mod:`.native`).
"""

from __future__ import annotations

import ctypes
import os

import torch

from .native import POINTER, SIZE, Library

SOURCE = r"""
#include <stdint.h>

/* out[b, i, j*C + c] = x[b*sb + (i*stride + j - padding)*sl + c*sc], +0.0 outside [0, length).
   Here and below the copy and fill loops stay loops: a memcpy or memset call a window costs
   more than the copy when C is 1 */
__attribute__((optimize("no-tree-loop-distribute-patterns")))
void runvar_windows(const float *x, int64_t batch, int64_t length, int64_t channels, int64_t sb, int64_t sl,
                    int64_t sc, int64_t kernel, int64_t stride, int64_t padding, int64_t out_len, float *out) {
    const int rows_contiguous = sc == 1 || channels == 1, whole_rows = rows_contiguous && (sl == channels || channels == 1 && sl == 1);
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t i = 0; i < out_len; ++i) {
            const int64_t first = i * stride - padding;
            float *o = out + (b * out_len + i) * kernel * channels;
            if (whole_rows && first >= 0 && first + kernel <= length) {  /* the window is one run of floats */
                const float *p = x + b * sb + first * sl;
                for (int64_t c = 0; c < kernel * channels; ++c) o[c] = p[c];
                continue;
            }
            for (int64_t j = 0; j < kernel; ++j, o += channels) {
                const int64_t q = first + j;
                if (q < 0 || q >= length) { for (int64_t c = 0; c < channels; ++c) o[c] = 0.0f; continue; }
                const float *p = x + b * sb + q * sl;
                if (rows_contiguous) for (int64_t c = 0; c < channels; ++c) o[c] = p[c];
                else for (int64_t c = 0; c < channels; ++c) o[c] = p[c * sc];
            }
        }
}

/* gx[b, padding + p, c] (p < length; a padded tensor's interior, its row stride `row`) = the sum
   over taps j = 0, 1, ... whose window i (p + padding = i*stride + j, 0 <= i < out_len) covers it
   of grad[b, i, j*C + c], from +0.0 and in that order */
__attribute__((optimize("no-tree-loop-distribute-patterns")))
void runvar_windows_backward(const float *grad, int64_t batch, int64_t length, int64_t channels, int64_t kernel,
                             int64_t stride, int64_t padding, int64_t out_len, int64_t row, float *gx) {
    for (int64_t b = 0; b < batch; ++b) {
        /* position p sits at t = p + padding of the padded input: t = q * stride + r */
        int64_t q = padding / stride, r = padding % stride;
        for (int64_t p = 0; p < length; ++p) {
            float *o = gx + b * row + (p + padding) * channels;
            for (int64_t c = 0; c < channels; ++c) o[c] = 0.0f;
            /* its taps: j = r, r + stride, ... of windows i = q, q - 1, ... (i >= 0 while j <= t) */
            for (int64_t j = r, i = q; j < kernel && i >= 0; j += stride, --i) {
                if (i >= out_len) continue;
                const float *g = grad + ((b * out_len + i) * kernel + j) * channels;
                for (int64_t c = 0; c < channels; ++c) o[c] += g[c];
            }
            if (++r == stride) { r = 0; ++q; }
        }
    }
}
"""

_SIGNATURES = {  # name: (argument types, return type)
    "runvar_windows": ([POINTER] + [SIZE] * 10 + [POINTER], None),
    "runvar_windows_backward": ([POINTER] + [SIZE] * 8 + [POINTER], None),
}

#: Whether the kernels may run (``RUNVAR_WINDOW_KERNELS=0`` when the process starts turns them off).
ENABLED = os.environ.get("RUNVAR_WINDOW_KERNELS", "1") != "0"
_LIBRARY = Library("window", SOURCE, _SIGNATURES, "convolution windows use torch's operations (the same bits, slower)")


def kernels() -> ctypes.CDLL | None:
    """This process's compiled kernels (compiled on first use); None where they are off or failed."""
    return _LIBRARY.get() if ENABLED else None


def _leading_stride(x: torch.Tensor) -> int | None:
    """The one stride of ``x``'s dimensions before its last two, where they merge into one
    (as a contiguous or transposed-last-two tensor's do), else None."""
    leading = [(size, stride) for size, stride in zip(x.shape[:-2], x.stride()[:-2]) if size != 1]
    if any(outer[1] != inner[1] * inner[0] for outer, inner in zip(leading, leading[1:])):
        return None
    return leading[-1][1] if leading else 0


def _usable(x: torch.Tensor) -> ctypes.CDLL | None:
    if x.device.type != "cpu" or x.dtype != torch.float32 or x.dim() < 2 or torch.get_num_threads() != 1:
        return None
    return kernels()


def windows(x: torch.Tensor, kernel: int, stride: int, padding: int, out_len: int) -> torch.Tensor | None:
    """The windows of ``x`` (..., L, C) as :func:`~runvar.models.small.strided_windows` makes them
    ((..., out_len, kernel x C), contiguous); None where the kernels do not apply."""
    library, leading = _usable(x), _leading_stride(x)
    if library is None or leading is None:
        return None
    *batch, length, channels = x.shape
    out = torch.empty(*batch, out_len, kernel * channels)
    library.runvar_windows(x.data_ptr(), out.numel() // max(1, out_len * kernel * channels), length, channels,
                           leading, x.stride(-2), x.stride(-1), kernel, stride, padding, out_len, out.data_ptr())
    return out


def windows_backward(grad: torch.Tensor, shape: torch.Size, kernel: int, stride: int, padding: int) -> torch.Tensor | None:
    """The gradient of the input of :func:`windows` from ``grad`` (..., out_len, kernel x C), as
    a view of a padded tensor of ``shape`` (..., L + 2 padding, C), as torch's backward returns
    it; None where the kernels do not apply."""
    library = _usable(grad)
    # with one or a few channels the per-position loop is slower than torch's tap-wise adds (a
    # first layer's, whose input gradient training never asks for anyway)
    if library is None or not grad.is_contiguous() or shape[-1] < 8:
        return None
    padded = grad.new_empty(shape)
    *_, full, channels = shape
    length = full - 2 * padding
    library.runvar_windows_backward(grad.data_ptr(), padded.numel() // max(1, full * channels), length, channels,
                                    kernel, stride, padding, grad.shape[-2], full * channels, padded.data_ptr())
    return padded[..., padding : padding + length, :]

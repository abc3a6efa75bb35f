"""The compiled convolution windows give torch's bits: the windows, their gradient (values,
shape and strides), and whole cnn1d runs (alone and stacked) trained with and without them."""

import shutil

import pytest
import torch
import torch.nn.functional as F

from runvar.models import window_kernels
from runvar.models.small import strided_windows
from runvar.seeds import run_seeds

from .bitwise import assert_same_runs_both_ways, same_bits, train_alone_and_stacked

needs_compiler = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc) on this machine")
#: (input shape (..., L, C), kernel, stride, padding): cnn1d's and hidden_conv's layers, odd
#: geometries (a window longer than the padding, stride 3, padding past the kernel, no batch)
GEOMETRIES = [((3, 16, 40, 1), 5, 2, 2), ((3, 16, 20, 32), 3, 2, 1), ((3, 16, 10, 32), 3, 2, 1),
              ((16, 40, 1), 5, 2, 2), ((4, 7, 9), 3, 1, 1), ((2, 9, 8), 4, 3, 0), ((6, 12), 2, 1, 3),
              ((2, 1, 11, 8), 5, 2, 4)]


@pytest.fixture
def compiled_calls(monkeypatch):
    """The kernels on, torch on one thread, and counts of the compiled loops' calls (a test of
    them must not pass on torch's operations)."""
    monkeypatch.setattr(window_kernels, "ENABLED", True)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    library = window_kernels.kernels()
    assert library is not None, "the window kernels did not compile"
    calls = {"windows": 0, "windows_backward": 0}

    class Counted:
        def __getattr__(self, name):
            def call(*args):
                calls[name.removeprefix("runvar_")] += 1
                return getattr(library, name)(*args)
            return call

    monkeypatch.setattr(window_kernels, "kernels", lambda: Counted() if window_kernels.ENABLED else None)
    return calls


def _unfolded(x, kernel, stride, padding):
    """The windows as plain autograd builds them: pad, unfold, tap-major, a contiguous copy."""
    windows = F.pad(x, (0, 0, padding, padding)).unfold(-2, kernel, stride).transpose(-1, -2)
    return windows.reshape(*windows.shape[:-2], kernel * x.shape[-1]).contiguous()


def _output_gradient(shape):
    grad = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    grad.view(-1)[:3] = torch.tensor([-0.0, 0.0, -0.0])  # signed zeros: each sum starts from +0.0
    return grad


def _windows_and_gradient(x, geometry, transposed=False, windows_of=strided_windows):
    x = x.detach().clone().requires_grad_(True)
    windows = windows_of(x.transpose(-1, -2) if transposed else x, *geometry)
    (gradient,) = torch.autograd.grad(windows, x, _output_gradient(windows.shape))
    return windows, gradient


@needs_compiler
@pytest.mark.parametrize("shape, kernel, stride, padding", GEOMETRIES)
@pytest.mark.parametrize("transposed", [False, True])
def test_the_windows_and_their_gradient_give_torchs_bits(compiled_calls, monkeypatch, shape, kernel, stride,
                                                         padding, transposed):
    """Against torch's path and against plain autograd of pad + unfold, byte for byte; the input
    holds signed zeros, infinities and a NaN; a transposed input (channels last as a view of
    channels first, as the models pass it) needs no copy."""
    if transposed:
        shape = (*shape[:-2], shape[-1], shape[-2])
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    x.view(-1)[:4] = torch.tensor([0.0, -0.0, float("inf"), float("nan")])
    geometry = (kernel, stride, padding)
    fast = _windows_and_gradient(x, geometry, transposed=transposed)
    assert compiled_calls["windows"] == 1
    assert compiled_calls["windows_backward"] == (fast[1].shape[-1 if not transposed else -2] >= 8)
    monkeypatch.setattr(window_kernels, "ENABLED", False)
    slow = _windows_and_gradient(x, geometry, transposed=transposed)
    assert compiled_calls == {"windows": 1, "windows_backward": int(compiled_calls["windows_backward"])}
    assert same_bits(fast[0].contiguous(), slow[0].contiguous())
    assert fast[1].shape == slow[1].shape and fast[1].stride() == slow[1].stride()  # a view of a padded tensor
    assert same_bits(fast[1].contiguous(), slow[1].contiguous())
    plain = _windows_and_gradient(x, geometry, transposed=transposed, windows_of=_unfolded)
    assert same_bits(fast[0].contiguous(), plain[0].detach())
    assert torch.allclose(fast[1], plain[1], atol=1e-5)  # autograd's unfold backward sums its own way


@needs_compiler
def test_inputs_the_kernels_do_not_take_run_torchs_operations(compiled_calls, monkeypatch):
    x = torch.randn(2, 4, 10, 8, dtype=torch.float64)
    assert torch.equal(strided_windows(x, 3, 2, 1), _unfolded(x, 3, 2, 1))
    merged_badly = torch.randn(4, 2, 10, 8).transpose(0, 1)  # leading dimensions that do not merge
    assert same_bits(strided_windows(merged_badly, 3, 2, 1).contiguous(), _unfolded(merged_badly, 3, 2, 1))
    assert compiled_calls["windows"] == 0
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)  # torch's own loops then run in parallel
    strided_windows(torch.randn(2, 10, 8), 3, 2, 1)
    assert compiled_calls["windows"] == 0


@needs_compiler
@pytest.mark.parametrize("variant", ["all", "bitflip"])
def test_cnn1d_runs_are_bitwise_the_same_with_and_without_the_kernels(tiny_setup, tiny_data, compiled_calls,
                                                                      monkeypatch, variant):
    """The study's path (``conv: gemm``, dropout, crops, a flipped bit; one run alone and a stack
    of 2): every bit of training through the kernels is that of training through torch's operations."""
    setup = {**tiny_setup, "model": {**tiny_setup["model"], "conv": "gemm"}, "epochs": 2, "evaluate_every": 1}
    seeds = [run_seeds(variant, r) for r in (1, 2)]
    fast = train_alone_and_stacked(setup, tiny_data, seeds)
    assert compiled_calls["windows"] > 0 and compiled_calls["windows_backward"] > 0
    monkeypatch.setattr(window_kernels, "ENABLED", False)
    assert_same_runs_both_ways(fast, train_alone_and_stacked(setup, tiny_data, seeds), variant)

"""Each fused piece of a training step against the unfused math it replaces: values to float
tolerance, gradients by ``torch.autograd.gradcheck`` in float64 (issue 31)."""

import pytest
import torch
from torch.func import functional_call

from runvar.models import build_from_block
from runvar.models.small import GemmConv1d
from runvar.models.stacked import StackedCNN1d, _RunsMatmul

GEMM = {"name": "cnn1d", "channels": 4, "layers": 3, "dropout": 0.0, "conv": "gemm"}


@pytest.mark.parametrize("bias", [True, False])
def test_runs_matmul_is_each_runs_product_plus_bias(bias):
    torch.manual_seed(0)
    a, w = torch.randn(3, 7, 5, dtype=torch.float64), torch.randn(3, 4, 5, dtype=torch.float64)
    b = torch.randn(3, 4, dtype=torch.float64) if bias else None
    unfused = torch.stack([a[r] @ w[r].t() + (b[r] if bias else 0.0) for r in range(3)])
    torch.testing.assert_close(_RunsMatmul.apply(a, w, b), unfused, rtol=1e-12, atol=1e-12)
    inputs = tuple(t.requires_grad_() for t in (a, w, b) if t is not None)
    assert torch.autograd.gradcheck(lambda *t: _RunsMatmul.apply(*t, *([] if bias else [None])), inputs)


def test_gemm_conv_with_its_bias_in_the_product_has_the_gradients_of_conv1d():
    """GemmConv1d adds its bias inside the product (addmm): the function and every gradient,
    the bias's included, are those of ``conv1d``."""
    torch.manual_seed(0)
    gemm = GemmConv1d(3, 4, 3, stride=2, padding=1).double()
    x = torch.randn(2, 3, 9, dtype=torch.float64, requires_grad=True)
    weight = gemm.weight.detach().clone().requires_grad_()
    bias = gemm.bias.detach().clone().requires_grad_()
    unfused = torch.nn.functional.conv1d(x, weight, bias, stride=2, padding=1)
    torch.testing.assert_close(gemm(x), unfused, rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(lambda x, w, b: functional_call(gemm, {"weight": w, "bias": b}, (x,)),
                                    (x, weight, bias))


def test_stacked_cnn1d_with_bias_in_the_product_and_relu_in_place_is_each_runs_cnn1d():
    """The stacked convolutions (bias inside ``baddbmm``, ReLU in place on the product) compute
    each run's own cnn1d, values and gradients (float64, no dropout)."""
    models = [build_from_block(GEMM, (1, 20), 10, seed).double() for seed in (1, 2)]
    stack = StackedCNN1d(models).eval()
    x = torch.randn(2, 3, 1, 20, dtype=torch.float64, requires_grad=True)
    unfused = torch.stack([m.eval()(x[r]) for r, m in enumerate(models)])
    torch.testing.assert_close(stack(x), unfused, rtol=1e-12, atol=1e-12)
    params = {k: v.detach().clone().requires_grad_() for k, v in stack.named_parameters()
              if k.split(".")[-2] == "0"}  # the first convolution's weight and bias of each run
    assert len(params) == 4
    assert torch.autograd.gradcheck(
        lambda x, *p: functional_call(stack, dict(zip(params, p)), (x,)), (x, *params.values()))


def test_stacked_dropout_draws_each_runs_mask_as_seeded_dropout_alone():
    """The stacked dropout (one tensor of uniforms, the scale divided in place) is, run by run,
    bitwise :class:`SeededDropout` with that run's generator, and ``x * keep / (1 - p)``; its
    gradient passes gradcheck (float64, the same masks every call)."""
    from runvar.models.layers import SeededDropout
    from runvar.models.stacked import _dropout

    x = torch.rand(3, 6, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    stacked = _dropout(x, 0.3, [torch.Generator().manual_seed(10 + r) for r in range(3)])
    for r in range(3):
        alone = SeededDropout(0.3)
        alone.generator = torch.Generator().manual_seed(10 + r)
        keep = torch.rand(x.shape[1:], generator=torch.Generator().manual_seed(10 + r), dtype=x.dtype) >= 0.3
        assert stacked[r].detach().numpy().tobytes() == alone.train()(x[r]).detach().numpy().tobytes()
        assert stacked[r].detach().numpy().tobytes() == (x[r] * keep / 0.7).detach().numpy().tobytes()
    assert 0 < int((stacked == 0).sum()) < stacked.numel()  # some dropped, some kept
    assert torch.autograd.gradcheck(lambda x: _dropout(x, 0.3, [torch.Generator().manual_seed(10 + r) for r in range(3)]), (x,))

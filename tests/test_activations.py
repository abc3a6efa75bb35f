"""SmeLU and Swish: values, smoothness at the joints, gradients, and the by-name lookup."""

import pytest
import torch
from torch import nn

from runvar.synthetic.activations import ACTIVATIONS, SmeLU, Swish, UnknownActivationError, activation


@pytest.mark.parametrize("beta", [0.25, 1.0, 3.0])
def test_smelu_matches_its_three_pieces(beta):
    x = torch.tensor([-2 * beta, -beta, -beta / 2, 0.0, beta / 2, beta, 2 * beta], dtype=torch.float64)
    expected = torch.where(x <= -beta, torch.zeros_like(x),
                           torch.where(x >= beta, x, (x + beta) ** 2 / (4 * beta)))
    assert torch.allclose(SmeLU(beta)(x), expected, rtol=0, atol=1e-15)
    assert SmeLU(beta)(torch.tensor(0.0, dtype=torch.float64)).item() == pytest.approx(beta / 4)


@pytest.mark.parametrize("beta", [0.5, 2.0])
@pytest.mark.parametrize("sign", [-1.0, 1.0])
def test_smelu_value_and_derivative_are_continuous_at_plus_minus_beta(beta, sign):
    eps = 1e-7
    joint = sign * beta
    x = torch.tensor([joint - eps, joint, joint + eps], dtype=torch.float64, requires_grad=True)
    y = SmeLU(beta)(x)
    (grad,) = torch.autograd.grad(y.sum(), x)
    assert abs(y[0].item() - y[2].item()) < 1e-6
    # Derivative 0 at -beta and 1 at +beta, approached from both sides.
    expected_slope = 0.0 if sign < 0 else 1.0
    assert grad.tolist() == pytest.approx([expected_slope] * 3, abs=1e-6)


def test_smelu_gradient_matches_finite_differences():
    x = (torch.randn(64, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2).requires_grad_()
    assert torch.autograd.gradcheck(SmeLU(1.3), (x,))


@pytest.mark.parametrize("beta", [0.5, 1.0, 4.0])
def test_swish_is_x_sigmoid_beta_x_with_its_gradient(beta):
    x = torch.linspace(-6, 6, 41, dtype=torch.float64, requires_grad=True)
    y = Swish(beta)(x)
    reference = x * torch.sigmoid(beta * x)
    assert torch.allclose(y, reference, atol=1e-12)
    (grad,) = torch.autograd.grad(y.sum(), x)
    s = torch.sigmoid(beta * x)
    assert torch.allclose(grad, s + beta * x * s * (1 - s), atol=1e-12)


def test_lookup_builds_each_activation_and_rejects_bad_names_and_betas():
    assert sorted(ACTIVATIONS) == ["identity", "relu", "smelu", "swish"]
    assert isinstance(activation("identity"), nn.Identity)
    assert isinstance(activation("relu"), nn.ReLU)
    assert activation("smelu", beta=2.0).beta == 2.0
    assert activation("swish", beta=0.5).beta == 0.5
    with pytest.raises(UnknownActivationError, match="'tanh'.*identity, relu, smelu, swish"):
        activation("tanh")
    with pytest.raises(ValueError, match="'smelu' needs a beta"):
        activation("smelu")
    with pytest.raises(ValueError, match="'relu' takes no beta"):
        activation("relu", beta=1.0)
    with pytest.raises(ValueError, match="beta must be > 0"):
        SmeLU(0.0)

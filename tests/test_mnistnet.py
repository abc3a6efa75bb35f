"""SD's MNIST model: the reference's MnistNet, layer by layer and parameter by parameter."""

import pytest
import torch
from torch import nn

from runvar.models import StochasticLayer, build_model


def test_parameter_count_by_hand():
    model = build_model("mnistnet", (1, 28, 28), 10, init_seed=1)
    conv1 = 32 * 1 * 3 * 3 + 32
    conv2 = 64 * 32 * 3 * 3 + 64
    fc1 = 9216 * 128 + 128  # 64 channels x 12 x 12 after the 2 x 2 max-pool
    fc2 = 128 * 10 + 10
    assert sum(p.numel() for p in model.parameters()) == conv1 + conv2 + fc1 + fc2 == 1_199_882
    assert [name for name, _ in model.named_parameters()] == [
        "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
        "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]


def test_forward_is_the_references():
    model = build_model("mnistnet", (1, 28, 28), 10, init_seed=3)
    x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    h = torch.relu(model.conv2(torch.relu(model.conv1(x))))
    h = torch.flatten(nn.functional.max_pool2d(h, 2), 1)
    assert h.shape == (4, 9216)
    expected = model.fc2(torch.relu(model.fc1(h)))
    assert torch.equal(model(x), expected)
    # no dropout in the reference's MnistNet: nothing for the stochastic source
    assert not any(isinstance(m, (StochasticLayer, nn.Dropout)) for m in model.modules())
    model.train()
    assert torch.equal(model(x), expected)


def test_seeded_and_rejects_signals():
    a, b = (build_model("mnistnet", (1, 28, 28), 10, init_seed=5) for _ in range(2))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    with pytest.raises(ValueError, match=r"mnistnet needs images \(channels, height, width\)"):
        build_model("mnistnet", (1, 40), 10, init_seed=1)

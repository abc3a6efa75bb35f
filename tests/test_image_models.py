"""Image models: parameter counts by formula, output shapes, init, shortcut, 1-D counterparts."""

from __future__ import annotations

import math
from functools import lru_cache

import pytest
import torch
from torch import nn

from runvar.models import MODELS, build_model
from runvar.models.resnet import LAYOUTS
from runvar.models.shufflenet import channel_shuffle

CIFAR10, MNIST, MNIST1D = (3, 32, 32), (1, 28, 28), (1, 40)
ONE_D_MODELS = ["resnet6", "resnet10", "resnet14", "resnet18", "resnet34", "hidden_conv"]
IMAGE_MODELS = ONE_D_MODELS + ["vgg11", "shufflenetv2_0.5"]


@lru_cache(maxsize=None)
def built(name: str, shape: tuple, classes: int) -> nn.Module:
    """One build per (model, shape, classes) for the whole file: ResNet-34 takes seconds."""
    return build_model(name, shape, classes, init_seed=1)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def bn(channels: int) -> int:
    return 2 * channels  # gamma and beta


def resnet_params(in_ch: int, classes: int, blocks, channels, taps: int) -> int:
    """Stem conv+BN; per block two bias-free convs + two BNs (+ a shortcut BN over the input
    channels when it downsamples); linear. ``taps`` = 9 for 3x3 kernels, 3 for 1-D."""
    total = in_ch * channels[0] * taps + bn(channels[0])
    width = channels[0]
    for stage, (depth, out) in enumerate(zip(blocks, channels)):
        for j in range(depth):
            total += width * out * taps + out * out * taps + 2 * bn(out)
            if stage > 0 and j == 0:
                total += bn(width)
            width = out
    return total + width * classes + classes


def test_resnet14_cifar10_count_by_hand() -> None:
    # stem 3*16*9 + 32 = 464; stage 1: 2 * (2*16*16*9 + 64) = 9,344;
    # stage 2: (16*32*9 + 32*32*9 + 128 + 32) + (2*32*32*9 + 128) = 13,984 + 18,560 = 32,544;
    # stage 3: (32*64*9 + 64*64*9 + 256 + 64) + (2*64*64*9 + 256) = 55,616 + 73,984 = 129,600;
    # fc 64*10 + 10 = 650.  Total 172,602 (SD quotes ResNet-14 as ~175k parameters).
    assert n_params(built("resnet14", CIFAR10, 10)) == 172_602


@pytest.mark.parametrize("name", sorted(LAYOUTS))
@pytest.mark.parametrize("shape, classes", [(CIFAR10, 10), (CIFAR10, 100), (MNIST, 10), (MNIST1D, 10)])
def test_resnet_counts_follow_the_formula(name: str, shape: tuple, classes: int) -> None:
    blocks, channels = LAYOUTS[name]
    taps = 3 if len(shape) == 2 else 9
    expected = resnet_params(shape[0], classes, blocks, channels, taps)
    assert n_params(built(name, shape, classes)) == expected


def test_resnet_layouts_are_the_references() -> None:
    assert LAYOUTS["resnet6"] == ((2,), (16,))
    assert LAYOUTS["resnet10"] == ((2, 2), (16, 32))
    assert LAYOUTS["resnet14"] == ((2, 2, 2), (16, 32, 64))
    assert LAYOUTS["resnet18"] == ((2, 2, 2, 2), (64, 128, 256, 512))
    assert LAYOUTS["resnet34"] == ((3, 4, 6, 3), (64, 128, 256, 512))


@pytest.mark.parametrize("shape", [CIFAR10, MNIST, MNIST1D])
def test_hidden_conv_count(shape: tuple) -> None:
    spatial = [(s + 4 - 5) // 2 + 1 for s in shape[1:]]  # 5x5 (or 5) kernel, padding 2, stride 2
    expected = shape[0] * 64 * 5 ** len(spatial) + 64 + 64 * math.prod(spatial) * 10 + 10
    assert n_params(built("hidden_conv", shape, 10)) == expected
    if shape == CIFAR10:
        assert expected == 3 * 64 * 25 + 64 + 64 * 16 * 16 * 10 + 10 == 168_714


@pytest.mark.parametrize("shape", [CIFAR10, MNIST])
def test_vgg11_count(shape: tuple) -> None:
    widths = [shape[0], 64, 128, 256, 256, 512, 512, 512, 512]
    convs = sum(a * b * 9 + b + bn(b) for a, b in zip(widths, widths[1:]))  # convs keep their bias
    assert n_params(built("vgg11", shape, 10)) == convs + 512 * 10 + 10
    if shape == CIFAR10:
        assert convs + 5130 == 9_231_114


def test_shufflenet_count() -> None:
    def down(cin: int, cout: int) -> int:
        half = cout // 2
        left = cin * 9 + bn(cin) + cin * half + bn(half)
        right = cin * half + bn(half) + half * 9 + bn(half) + half * half + bn(half)
        return left + right

    def basic(c: int) -> int:
        half = c // 2
        return 2 * (half * half + bn(half)) + half * 9 + bn(half)

    total = 3 * 24 * 9 + bn(24)
    width = 24
    for out, depth in zip((48, 96, 192), (3, 7, 3)):
        total += down(width, out) + depth * basic(out)
        width = out
    total += 192 * 1024 + bn(1024) + 1024 * 10 + 10
    assert n_params(built("shufflenetv2_0.5", CIFAR10, 10)) == total == 352_042


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_image_output_shapes(name: str) -> None:
    assert name in MODELS
    for shape, classes in ((CIFAR10, 10), (MNIST, 10), (CIFAR10, 100)):
        model = built(name, shape, classes).train()
        with torch.no_grad():
            out = model(torch.randn(2, *shape))
        assert out.shape == (2, classes) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", ONE_D_MODELS)
def test_one_d_counterparts(name: str) -> None:
    model = built(name, MNIST1D, 10)
    assert not any(isinstance(m, (nn.Conv2d, nn.BatchNorm2d)) for m in model.modules())
    assert any(isinstance(m, nn.Conv1d) for m in model.modules())
    with torch.no_grad():
        assert model(torch.randn(2, *MNIST1D)).shape == (2, 10)


@pytest.mark.parametrize("name", ["vgg11", "shufflenetv2_0.5"])
def test_image_only_models_reject_1d_inputs_clearly(name: str) -> None:
    expected = rf"model '{name}' needs input shape \(channels, height, width\), got \(1, 40\)"
    with pytest.raises(ValueError, match=expected):
        build_model(name, MNIST1D, 10, init_seed=1)


def test_vgg11_rejects_images_too_big_for_its_head() -> None:
    with pytest.raises(ValueError, match="64x64 image pools to 2x2"):
        build_model("vgg11", (3, 64, 64), 10, init_seed=1)


def test_resnet_init_matches_the_reference() -> None:
    model = built("resnet18", CIFAR10, 10)
    block = model.stages[1][0]
    assert torch.all(block.bn2.weight == 0) and torch.all(block.bn1.weight == 1)
    assert all(b.bias is None for b in model.modules() if isinstance(b, nn.Conv2d))
    # Kaiming normal, fan_out: std = sqrt(2 / (out_channels * 3 * 3)); 128*128*9 draws.
    std = block.conv2.weight.std().item()
    assert std == pytest.approx(math.sqrt(2 / (128 * 9)), rel=0.02)


def test_downsampling_block_starts_as_padded_subsampled_identity() -> None:
    model = build_model("resnet14", CIFAR10, 10, init_seed=2).eval()
    block = model.stages[1][0]  # 16 -> 32 channels, stride 2
    x = torch.randn(2, 16, 32, 32)
    out = block(x)
    assert out.shape == (2, 32, 16, 16)
    # Residual branch is zero (last BN gamma 0, beta 0); eval BN has mean 0, var 1.
    expected = torch.relu(x[:, :, ::2, ::2] / math.sqrt(1 + block.shortcut[1].eps))
    torch.testing.assert_close(out[:, :16], expected)
    assert torch.all(out[:, 16:] == 0)


def test_builds_are_reproducible_per_seed() -> None:
    a = build_model("shufflenetv2_0.5", CIFAR10, 10, init_seed=7).state_dict()
    b = build_model("shufflenetv2_0.5", CIFAR10, 10, init_seed=7).state_dict()
    c = build_model("shufflenetv2_0.5", CIFAR10, 10, init_seed=8).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["stem.0.0.weight"], c["stem.0.0.weight"])


def test_channel_shuffle_interleaves_the_halves() -> None:
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert channel_shuffle(x).flatten().tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]

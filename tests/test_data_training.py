import subprocess
import sys

import numpy as np
import pytest
import torch

from runvar.data import load_dataset, prepare_dataset, random_crop, random_flip
from runvar.data.prepared import UnknownDatasetError
from runvar.io import CorruptFileError
from runvar.models import SeededDropout, build_model
from runvar.runs import DeterminismError, train_and_save, variant_metrics
from runvar.seeds import run_seeds
from runvar.train import lr_at, train_run


def test_random_crop_matches_per_example_loop_1d_and_2d():
    gen = torch.Generator().manual_seed(3)
    for shape in [(6, 2, 11), (5, 3, 8, 9)]:
        x = torch.randn(*shape)
        out = random_crop(x, 3, torch.Generator().manual_seed(3))
        offsets = torch.randint(0, 7, (len(shape) - 2, shape[0]), generator=gen.manual_seed(3))
        padded = torch.nn.functional.pad(x, [3] * (2 * (len(shape) - 2)))
        for i in range(shape[0]):
            if len(shape) == 3:
                expected = padded[i, :, offsets[0, i] : offsets[0, i] + shape[2]]
            else:
                expected = padded[i, :, offsets[0, i] : offsets[0, i] + shape[2], offsets[1, i] : offsets[1, i] + shape[3]]
            assert torch.equal(out[i], expected)


def test_random_crop_pads_each_channel_with_its_fill_value():
    x = torch.ones(50, 3, 6, 6)
    fill = torch.tensor([-1.0, -2.0, -3.0])
    out = random_crop(x, 4, torch.Generator().manual_seed(1), fill)
    for c in range(3):
        assert set(out[:, c].unique().tolist()) <= {1.0, float(fill[c])}
        assert (out[:, c] == fill[c]).any()  # some crops show the padding
    same = random_crop(x, 4, torch.Generator().manual_seed(1))
    assert torch.equal(out == 1.0, same == 1.0)  # the same offsets, only the padding differs


def test_random_flip_flips_about_half():
    x = torch.arange(6.0).view(1, 1, 2, 3).repeat(400, 1, 1, 1)
    out = random_flip(x, torch.Generator().manual_seed(0))
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    assert ((out == x).flatten(1).all(1) | flipped).all()
    assert 150 < int(flipped.sum()) < 250


def test_prepared_dataset_shapes_and_checksum(tiny_data, tmp_path):
    assert tiny_data.x_train.shape == (480, 1, 40) and tiny_data.x_test.shape == (120, 1, 40)
    assert tiny_data.x_train.dtype == torch.float32 and tiny_data.num_classes == 10
    path = tmp_path / "d.npz"
    prepare_dataset("mnist1d", path, num_samples=100, seed=1)
    arrays = dict(np.load(path))
    arrays["x_train"][0, 0, 0] += 1.0
    np.savez(path, **arrays)
    with pytest.raises(CorruptFileError, match="checksum mismatch"):
        load_dataset(path)


def test_unknown_dataset_lists_valid_ones(tmp_path):
    with pytest.raises(UnknownDatasetError, match="valid datasets: .*mnist1d"):
        prepare_dataset("mnist2d", tmp_path / "x.npz")


def test_warmup_then_cosine():
    lrs = [lr_at(s, 100, 10, 0.4) for s in range(100)]
    assert lrs[0] == pytest.approx(0.04) and lrs[9] == pytest.approx(0.4)
    assert lrs[10] == pytest.approx(0.4) and lrs[55] == pytest.approx(0.2)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:])) and lrs[-1] < 1e-3


def test_dropout_draws_only_from_its_generator():
    layer = SeededDropout(0.5).train()
    layer.generator = torch.Generator().manual_seed(4)
    a = layer(torch.ones(1000))
    layer.generator = torch.Generator().manual_seed(4)
    assert torch.equal(a, layer(torch.ones(1000)))
    assert set(a.unique().tolist()) == {0.0, 2.0}
    with pytest.raises(TypeError, match="SeededDropout"):
        from runvar.models import set_stochastic_generator

        set_stochastic_generator(torch.nn.Sequential(torch.nn.Dropout()), torch.Generator())


def test_training_learns(tiny_data, tiny_setup):
    tiny_setup.update(epochs=15, optimizer={**tiny_setup["optimizer"], "lr": 0.1})
    tiny_setup["model"]["channels"] = 16
    result = train_run(tiny_setup, tiny_data, run_seeds("none", 1), log=lambda _: None)
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert result.history[-1]["test_accuracy"] > 0.25  # 10 classes: chance is 0.1
    assert result.logits.shape == (120, 10) and result.logits.dtype == np.float32
    assert result.record["execution"]["threads"] == 1
    assert result.record["execution"]["cudnn_effective"] is False


SUBPROCESS_RUN = """
import sys, torch
from runvar.data import load_dataset
from runvar.seeds import run_seeds
from runvar.train import train_run
from tests.conftest import TINY_SETUP
res = train_run(TINY_SETUP, load_dataset(sys.argv[1]), run_seeds("all", 2), log=lambda _: None)
sys.stdout.buffer.write(res.logits.tobytes())
"""


@pytest.mark.slow  # a training process: ~3 s
def test_same_seeds_bitwise_identical_across_processes(tiny_data, tiny_setup, tmp_path):
    path = tmp_path / "d.npz"
    prepare_dataset("mnist1d", path, num_samples=600, train_split=0.8, seed=7)
    here = train_run(tiny_setup, load_dataset(path), run_seeds("all", 2), log=lambda _: None)
    from tests.conftest import REPO

    out = subprocess.run([sys.executable, "-c", SUBPROCESS_RUN, str(path)], capture_output=True,
                         check=True, cwd=REPO)
    assert out.stdout == here.logits.tobytes()


def test_none_variant_must_be_identical(tiny_data, tiny_setup, tmp_path):
    preds, records = [], []
    for run, variant in [(1, "none"), (2, "none"), (3, "init")]:
        out = tmp_path / f"seed{run}"
        train_and_save("tiny", tiny_setup, variant, run, tiny_data, out, log=lambda _: None)
        preds.append(out / "predictions.npz")
        records.append(out / "run.json")
        assert sorted(p.name for p in out.iterdir()) == ["history.csv", "model.pt", "predictions.npz", "run.json"]
    row = variant_metrics("none", preds[:2], records[:2], resamples=100)
    assert row["accuracy_sd"] == 0.0 and row["bitwise_identical"]
    with pytest.raises(DeterminismError, match="harness|not controlled"):
        variant_metrics("none", preds, records, resamples=100)


def test_unknown_model_lists_valid_ones():
    with pytest.raises(ValueError, match="valid models: .*cnn1d"):
        build_model("nope", (1, 40), 10, 1)


@pytest.mark.parametrize("in_channels,length,kernel,bias", [(1, 40, 5, True), (32, 20, 3, True), (3, 11, 3, False)])
def test_gemm_conv_is_the_same_function_as_conv1d(in_channels, length, kernel, bias):
    from runvar.models.small import GemmConv1d

    torch.manual_seed(0)
    native = torch.nn.Conv1d(in_channels, 8, kernel, stride=2, padding=kernel // 2, bias=bias).double()
    gemm = GemmConv1d(in_channels, 8, kernel, stride=2, padding=kernel // 2, bias=bias).double()
    gemm.load_state_dict(native.state_dict())
    x = torch.randn(4, in_channels, length, dtype=torch.float64, requires_grad=True)
    out_native, out_gemm = native(x), gemm(x)
    assert out_gemm.shape == out_native.shape
    torch.testing.assert_close(out_gemm, out_native, rtol=1e-12, atol=1e-12)
    weights = torch.randn_like(out_native)
    grads_native = torch.autograd.grad((out_native * weights).sum(), [x, native.weight])
    grads_gemm = torch.autograd.grad((out_gemm * weights).sum(), [x, gemm.weight])
    for a, b in zip(grads_gemm, grads_native):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_cnn1d_conv_modes_share_init_and_refuse_unknown_modes():
    native = build_model("cnn1d", (1, 40), 10, 3, channels=8, conv="native")
    gemm = build_model("cnn1d", (1, 40), 10, 3, channels=8, conv="gemm")
    for (name, a), (_, b) in zip(native.state_dict().items(), gemm.state_dict().items()):
        assert torch.equal(a, b), name
    with pytest.raises(ValueError, match="conv must be one of native, gemm"):
        build_model("cnn1d", (1, 40), 10, 3, conv="im2col")


def test_gemm_conv_refuses_what_it_does_not_compute():
    from runvar.models.small import GemmConv1d

    with pytest.raises(ValueError, match="groups=1, dilation=1 and integer padding"):
        GemmConv1d(4, 4, 3, groups=2)
    with pytest.raises(ValueError, match="groups=1, dilation=1 and integer padding"):
        GemmConv1d(4, 4, 3, padding="same")

"""Runs trained as one stacked model are bitwise the runs trained one at a time."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from runvar.models import build_from_block, set_stochastic_generator
from runvar.models.small import GemmConv1d
from runvar.models.stacked import StackedCNN1d, StackedMLP, stack_models, stackable
from runvar.runs import train_and_save_runs
from runvar.seeds import run_seeds
from runvar.train import can_stack, train_run, train_runs

from .bitwise import assert_same_run, same_bits, state_bits

GEMM = {"name": "cnn1d", "channels": 8, "layers": 3, "dropout": 0.2, "conv": "gemm"}


def _wide(seed):
    """cnn1d whose second convolution's windows overlap three times (kernel 5, stride 2): a
    position's gradient is then a sum of three, whose order changes the bits."""
    model = build_from_block(GEMM, (1, 40), 10, seed)
    torch.manual_seed(seed)
    model[2] = GemmConv1d(8, 8, 5, stride=2, padding=2)
    return model


@pytest.mark.parametrize("build", [lambda seed: build_from_block(GEMM, (1, 40), 10, seed), _wide],
                         ids=["cnn1d", "overlapping-windows"])
def test_one_step_outputs_and_gradients_match_each_model(build):
    models = [build(seed) for seed in (1, 2, 3)]
    stack = StackedCNN1d([build(seed) for seed in (1, 2, 3)])
    x, y = torch.randn(3, 32, 1, 40), torch.randint(0, 10, (3, 32))
    out = stack(x, [torch.Generator().manual_seed(10 + k) for k in range(3)])
    losses = [F.cross_entropy(out[k], y[k]) for k in range(3)]
    torch.stack(losses).sum().backward()
    for k, model in enumerate(models):
        set_stochastic_generator(model, torch.Generator().manual_seed(10 + k))
        alone = model(x[k])
        F.cross_entropy(alone, y[k]).backward()
        assert same_bits(alone, out[k])
        for (name, p), stacked in zip(model.named_parameters(), stack.runs[k].parameters()):
            assert same_bits(p.grad, stacked.grad), name


@pytest.mark.parametrize("variant", ["all", "bitflip"])
def test_stacked_runs_are_bitwise_the_runs_trained_alone(tiny_setup, tiny_data, variant):
    setup = {**tiny_setup, "model": GEMM, "epochs": 4, "evaluate_every": 2, "schedule": {"warmup_epochs": 1, "cycles": 2}}
    seeds = [run_seeds(variant, r) for r in (1, 2, 3)]
    alone = [train_run(setup, tiny_data, s, log=lambda _: None) for s in seeds]
    stacked = list(train_runs(setup, tiny_data, seeds, log=lambda _: None, stack=2))  # a stack of 2, then 1
    assert [r.record["stacked_with"] for r in stacked] == [2, 2, 1]
    assert [r.record["stacked"] for r in stacked] == [True] * 3  # no fallback to runs alone
    assert all(r.snapshot_logits is not None for r in stacked)
    for a, b in zip(alone, stacked):
        assert_same_run(a, b)  # snapshot logits included
    assert not same_bits(stacked[0].logits, stacked[1].logits)  # the runs did not mix
    # the bit flip happened (not two runs agreeing on no flip): one per bitflip run, none else
    assert [r.record["bitflip"] is not None for r in stacked] == [variant == "bitflip"] * 3


def test_bit_flip_after_onset_in_a_stack(tiny_setup, tiny_data):
    setup = {**tiny_setup, "model": GEMM, "epochs": 3, "onset_epoch": 1}
    seeds = [run_seeds("bitflip", r, 1) for r in (1, 2)]
    alone = [train_run(setup, tiny_data, s, log=lambda _: None) for s in seeds]
    for a, b in zip(alone, train_runs(setup, tiny_data, seeds, log=lambda _: None, stack=2)):
        assert_same_run(a, b)
        assert b.record["bitflip"] is not None and b.record["stacked_with"] == 2 and b.record["stacked"]


def _bits(t: torch.Tensor) -> np.ndarray:
    return t.numpy().view(np.uint32).reshape(-1)


def _differences(a: dict, b: dict) -> list[tuple[str, int, str, str]]:
    """(tensor, flat index, a's bits, b's bits) of every scalar where two state dicts differ bitwise."""
    assert a.keys() == b.keys()
    found = []
    for name in a:
        x, y = _bits(a[name]), _bits(b[name])
        found += [(name, int(i), f"{x[i]:08x}", f"{y[i]:08x}") for i in np.flatnonzero(x != y)]
    return found


@pytest.mark.parametrize("onset", [0, 1])
def test_bit_flip_is_recorded_and_is_one_float32_step_in_the_weights(tiny_setup, tiny_data, tmp_path, onset):
    """A stack's bitflip runs (stacks of 2, then 1) against the run with the same seeds and no
    flip. At LR 0 training leaves every weight as built: the saved weights differ from the
    unflipped run's in exactly the scalar run.json names, by one float32 step. At the usual LR
    the flip takes part in training: the trained runs differ from the unflipped one."""
    quiet = lambda _: None  # noqa: E731
    runs = [1, 2, 3]
    for lr in (0.0, tiny_setup["optimizer"]["lr"]):
        setup = {**tiny_setup, "model": GEMM, "epochs": 2, "onset_epoch": onset,
                 "optimizer": {**tiny_setup["optimizer"], "lr": lr}}
        root = tmp_path / f"lr{lr}"
        flipped = [root / "bitflip" / f"seed{r}" for r in runs]
        plain = root / "none" / "seed1"
        for out in [*flipped, plain]:
            out.mkdir(parents=True)
        records = train_and_save_runs("cnn1d", setup, "bitflip", runs, tiny_data, flipped, log=quiet, stack=2)
        train_and_save_runs("cnn1d", setup, "none", [1], tiny_data, [plain], log=quiet)
        assert [r["stacked_with"] for r in records] == [2, 2, 1]
        base = torch.load(plain / "model.pt")["state_dict"]
        assert json.loads((plain / "run.json").read_text())["bitflip"] is None
        for out, record in zip(flipped, records):
            flip = json.loads((out / "run.json").read_text())["bitflip"]
            assert flip is not None and flip == record["bitflip"], out
            weights = torch.load(out / "model.pt")["state_dict"]
            if lr == 0.0:
                assert _differences(base, weights) == [
                    (flip["parameter"], flip["flat_index"], flip["old_bits"], flip["new_bits"])], out
                old = torch.tensor(flip["old"], dtype=torch.float32)
                step = torch.nextafter(old, torch.tensor(float("inf") if flip["direction"] == "up" else float("-inf")))
                assert float(step) == flip["new"] and abs(int(flip["old_bits"], 16) - int(flip["new_bits"], 16)) == 1
            else:
                assert len(_differences(base, weights)) > 1, out  # the one step changed the training
        assert len({r["bitflip"]["flat_index"] for r in records}) > 1  # each run its own scalar


MLPS = {"mlp": {"name": "mlp", "hidden": [32, 16], "dropout": 0.2}, "linear": {"name": "linear"},
        "mlp512": {"name": "mlp", "hidden": [512]}, "hidden_conv": {"name": "hidden_conv", "conv": "gemm"},
        "lenet-k4": {"name": "lenet", "mode": "select", "k": 4}, "lenet-learned": {"name": "lenet", "mode": "learned"}}


@pytest.mark.parametrize("block", MLPS.values(), ids=MLPS.keys())
@pytest.mark.parametrize("variant", ["all", "bitflip"])
def test_other_stacked_families_are_bitwise_the_runs_trained_alone(tiny_setup, tiny_data, block, variant):
    setup = {**tiny_setup, "model": block, "epochs": 3, "evaluate_every": 1}
    seeds = [run_seeds(variant, r) for r in (1, 2, 3)]
    alone = [train_run(setup, tiny_data, s, log=lambda _: None) for s in seeds]
    stacked = list(train_runs(setup, tiny_data, seeds, log=lambda _: None, stack=3))
    assert [r.record["stacked"] for r in stacked] == [True] * 3  # the stack check passed: no fallback
    for a, b in zip(alone, stacked):
        assert_same_run(a, b)
    if variant == "all":  # (a one-ulp flip of a score rarely changes which candidate is chosen)
        assert not same_bits(alone[0].logits, alone[1].logits)
    else:  # every run flipped its bit (no two runs agreeing on no flip)
        assert all(r.record["bitflip"] is not None for r in stacked)


def test_which_setups_stack(tiny_setup):
    assert stackable(GEMM) and not stackable({**GEMM, "conv": "native"}) and stackable({"name": "mlp"})
    assert stackable({"name": "linear"}) and not stackable({"name": "hidden_conv"}) and not stackable({"name": "conv2"})
    assert stackable({"name": "hidden_conv", "conv": "gemm"}) and stackable({"name": "lenet", "mode": "select", "k": 2})
    assert not stackable({"name": "lenet", "mode": "select", "k": 2, "selection": "probabilistic"})
    assert isinstance(stack_models({"name": "mlp"}, [build_from_block({"name": "mlp"}, (1, 40), 10, 1)]), StackedMLP)
    with pytest.raises(ValueError, match="model 'hidden_conv' does not stack; stackable: cnn1d"):
        stack_models({"name": "hidden_conv"}, [])
    assert can_stack({**tiny_setup, "model": GEMM})
    assert not can_stack({**tiny_setup, "model": GEMM, "checkpoint_every": 1})  # a checkpoint is one run's
    assert not can_stack(tiny_setup)  # native convolutions


def test_saved_run_directories_do_not_depend_on_the_stack(tiny_setup, tiny_data, tmp_path):
    setup = {**tiny_setup, "model": GEMM}
    dirs = {stack: [tmp_path / f"s{stack}" / f"seed{r}" for r in (1, 2, 3)] for stack in (1, 3)}
    for stack, outs in dirs.items():
        for out in outs:
            out.mkdir(parents=True)
        records = train_and_save_runs("cnn1d", setup, "all", [1, 2, 3], tiny_data, outs, log=lambda _: None, stack=stack)
        assert [r["run"] for r in records] == [1, 2, 3]
        assert [r["stacked_with"] for r in records] == ([1, 1, 1] if stack == 1 else [3, 3, 3])
        assert [r["stacked"] for r in records] == [stack > 1] * 3
    for one, three in zip(dirs[1], dirs[3]):
        assert (one / "predictions.npz").read_bytes() == (three / "predictions.npz").read_bytes()
        a, b = torch.load(one / "model.pt"), torch.load(three / "model.pt")
        assert state_bits(a["state_dict"]) == state_bits(b["state_dict"])


def test_bad_stack_sizes(tiny_setup, tiny_data):
    with pytest.raises(ValueError, match="at least 1"):
        train_runs({**tiny_setup, "model": GEMM}, tiny_data, [run_seeds("all", 1)], stack=0)
    with pytest.raises(TypeError, match="one architecture"):
        StackedCNN1d([build_from_block(GEMM, (1, 40), 10, 1), build_from_block({**GEMM, "layers": 2}, (1, 40), 10, 1)])


def test_hidden_conv_computes_gemm_convolutions_of_signals_only():
    native = build_from_block({"name": "hidden_conv"}, (1, 40), 10, 1)
    gemm = build_from_block({"name": "hidden_conv", "conv": "gemm"}, (1, 40), 10, 1)
    x = torch.randn(8, 1, 40)
    assert isinstance(gemm[0], GemmConv1d) and torch.allclose(native(x), gemm(x), atol=1e-6)  # same init, same function
    with pytest.raises(ValueError, match=r"gemm for \(channels, length\) inputs only"):
        build_from_block({"name": "hidden_conv", "conv": "gemm"}, (3, 32, 32), 10, 1)

"""Runs trained as one stacked model are bitwise the runs trained one at a time."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from runvar.models import build_from_block, set_stochastic_generator
from runvar.models.small import GemmConv1d
from runvar.models.stacked import StackedCNN1d, stackable
from runvar.runs import train_and_save_runs
from runvar.seeds import run_seeds
from runvar.train import can_stack, train_run, train_runs

GEMM = {"name": "cnn1d", "channels": 8, "layers": 3, "dropout": 0.2, "conv": "gemm"}


def _same(a, b):
    assert np.array_equal(a.logits, b.logits)
    assert a.state_dict.keys() == b.state_dict.keys()
    for name in a.state_dict:
        assert torch.equal(a.state_dict[name], b.state_dict[name]), name
    assert [{k: v for k, v in row.items() if k != "seconds"} for row in a.history] == \
           [{k: v for k, v in row.items() if k != "seconds"} for row in b.history]
    assert a.record["bitflip"] == b.record["bitflip"]


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
        assert torch.equal(alone, out[k])
        for (name, p), stacked in zip(model.named_parameters(), stack.runs[k].parameters()):
            assert torch.equal(p.grad, stacked.grad), name


@pytest.mark.parametrize("variant", ["all", "bitflip"])
def test_stacked_runs_are_bitwise_the_runs_trained_alone(tiny_setup, tiny_data, variant):
    setup = {**tiny_setup, "model": GEMM, "epochs": 4, "evaluate_every": 2, "schedule": {"warmup_epochs": 1, "cycles": 2}}
    seeds = [run_seeds(variant, r) for r in (1, 2, 3)]
    alone = [train_run(setup, tiny_data, s, log=lambda _: None) for s in seeds]
    stacked = list(train_runs(setup, tiny_data, seeds, log=lambda _: None, stack=2))  # a stack of 2, then 1
    assert [r.record["stacked_with"] for r in stacked] == [2, 2, 1]
    for a, b in zip(alone, stacked):
        _same(a, b)
        assert np.array_equal(a.snapshot_logits, b.snapshot_logits)
    assert not np.array_equal(stacked[0].logits, stacked[1].logits)  # the runs did not mix


def test_bit_flip_after_onset_in_a_stack(tiny_setup, tiny_data):
    setup = {**tiny_setup, "model": GEMM, "epochs": 3, "onset_epoch": 1}
    seeds = [run_seeds("bitflip", r, 1) for r in (1, 2)]
    alone = [train_run(setup, tiny_data, s, log=lambda _: None) for s in seeds]
    for a, b in zip(alone, train_runs(setup, tiny_data, seeds, log=lambda _: None, stack=2)):
        _same(a, b)


def test_which_setups_stack(tiny_setup):
    assert stackable(GEMM) and not stackable({**GEMM, "conv": "native"}) and not stackable({"name": "mlp"})
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
    for one, three in zip(dirs[1], dirs[3]):
        assert (one / "predictions.npz").read_bytes() == (three / "predictions.npz").read_bytes()
        a, b = torch.load(one / "model.pt"), torch.load(three / "model.pt")
        assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])


def test_bad_stack_sizes(tiny_setup, tiny_data):
    with pytest.raises(ValueError, match="at least 1"):
        train_runs({**tiny_setup, "model": GEMM}, tiny_data, [run_seeds("all", 1)], stack=0)
    with pytest.raises(TypeError, match="one architecture"):
        StackedCNN1d([build_from_block(GEMM, (1, 40), 10, 1), build_from_block({**GEMM, "layers": 2}, (1, 40), 10, 1)])

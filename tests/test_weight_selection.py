"""Weight selection (SM): layers, models, SD-reduction statistics and memory counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from runvar.data import Dataset
from runvar.metrics import bootstrap_sds
from runvar.models import build_model, set_stochastic_generator
from runvar.models.weight_selection import (
    SelectConv1d,
    SelectConv2d,
    SelectLinear,
    selection_choices,
    selection_layers,
)
from runvar.seeds import run_seeds, seeded_generator
from runvar.selection.memory import selection_memory
from runvar.selection.stats import claim_verdict, sd_reduction, sd_reduction_table
from runvar.train import train_run

# Weights of each model with learned weights (no biases), by hand from the architecture.
# 1-D (1 x 40): conv lengths 38, 36 -> pool 18; 16, 14 -> pool 7; 7, 7 -> pool 3.
CONV12_1D = 1 * 64 * 3 + 64 * 64 * 3
CONV34_1D = 64 * 128 * 3 + 128 * 128 * 3
CONV56_1D = 128 * 256 * 3 + 256 * 256 * 3
HEAD = 256 * 256 + 256 * 10
# 2-D CIFAR (3 x 32 x 32): 30, 28 -> pool 14; 12, 10 -> pool 5; 5, 5 -> pool 2.
CONV12_2D = 3 * 64 * 9 + 64 * 64 * 9
CONV34_2D = 64 * 128 * 9 + 128 * 128 * 9
CONV56_2D = 128 * 256 * 9 + 256 * 256 * 9
LEARNED_WEIGHTS = {
    ("conv2", (1, 40)): CONV12_1D + 64 * 18 * 256 + HEAD,
    ("conv4", (1, 40)): CONV12_1D + CONV34_1D + 128 * 7 * 256 + HEAD,
    ("conv6", (1, 40)): CONV12_1D + CONV34_1D + CONV56_1D + 256 * 3 * 256 + HEAD,
    ("lenet", (1, 40)): 40 * 300 + 300 * 100 + 100 * 10,
    ("conv2", (3, 32, 32)): CONV12_2D + 64 * 14 * 14 * 256 + HEAD,
    ("conv4", (3, 32, 32)): CONV12_2D + CONV34_2D + 128 * 5 * 5 * 256 + HEAD,
    ("conv6", (3, 32, 32)): CONV12_2D + CONV34_2D + CONV56_2D + 256 * 2 * 2 * 256 + HEAD,
    ("lenet", (3, 32, 32)): 3072 * 300 + 300 * 100 + 100 * 10,
    ("conv4", (1, 28, 28)): 1 * 64 * 9 + 64 * 64 * 9 + CONV34_2D + 128 * 4 * 4 * 256 + HEAD,
    ("lenet", (1, 28, 28)): 784 * 300 + 300 * 100 + 100 * 10,
}


def random_dataset(shape: tuple[int, ...], n_train: int = 64, n_test: int = 32) -> Dataset:
    gen = torch.Generator().manual_seed(0)
    return Dataset(
        "random",
        torch.randn(n_train, *shape, generator=gen),
        torch.randint(0, 10, (n_train,), generator=gen),
        torch.randn(n_test, *shape, generator=gen),
        torch.arange(n_test) % 10,
        checksum="random",
    )


@pytest.mark.parametrize("selection", ["greedy", "probabilistic"])
def test_training_changes_scores_and_never_candidates(selection: str) -> None:
    data = random_dataset((1, 40))
    options = {"name": "conv2", "mode": "select", "k": 4, "selection": selection}
    setup = {
        "model": options,
        "epochs": 2,
        "batch_size": 16,
        "optimizer": {"lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4},
        "execution": {"device": "cpu", "threads": 1},
    }
    seeds = run_seeds("none", 1)
    result = train_run(setup, data, seeds, log=lambda _: None)
    opts = {k: v for k, v in options.items() if k != "name"}
    initial = build_model("conv2", (1, 40), 10, seeds.init, **opts).state_dict()
    candidate_keys = [key for key in initial if key.endswith("candidates")]
    assert len(candidate_keys) == 5
    for key in candidate_keys:
        assert torch.equal(result.state_dict[key].view(torch.int32), initial[key].view(torch.int32)), key
    scores = [key for key in initial if key.endswith("scores")]
    assert all(not torch.equal(result.state_dict[key], initial[key]) for key in scores)
    assert len(scores) == 5


def test_candidates_are_buffers_not_parameters() -> None:
    model = build_model("lenet", (1, 40), 10, 1, k=2)
    param_names = {name for name, _ in model.named_parameters()}
    buffer_names = {name for name, _ in model.named_buffers()}
    assert param_names == {"1.scores", "3.scores", "5.scores"}
    assert buffer_names == {"1.candidates", "3.candidates", "5.candidates"}
    assert set(model.state_dict()) == param_names | buffer_names


def test_initial_distributions_follow_glorot_bound() -> None:
    torch.manual_seed(0)
    layer = SelectConv2d(16, 32, 3, k=8)
    bound = math.sqrt(6.0 / (16 * 9 + 32 * 9))
    assert layer.candidates.shape == (32, 16, 3, 3, 8)
    assert layer.candidates.abs().max() <= bound
    assert layer.candidates.min() < -0.95 * bound and layer.candidates.max() > 0.95 * bound
    assert layer.scores.min() >= 0 and layer.scores.max() <= bound
    assert layer.scores.max() > 0.95 * bound


def test_greedy_uses_highest_scoring_candidate() -> None:
    layer = SelectLinear(2, 2, k=3)
    with torch.no_grad():
        layer.candidates.copy_(torch.arange(12.0).view(2, 2, 3))
        layer.scores.copy_(
            torch.tensor([[[0.1, 0.9, 0.2], [0.7, 0.1, 0.3]], [[0.0, 0.0, 0.5], [0.2, 0.1, 0.2]]])
        )
    expected = torch.tensor([[1.0, 3.0], [8.0, 9.0]])  # indices [[1, 0], [2, 0]]; ties -> first
    assert torch.equal(layer.effective_weight(), expected)
    x = torch.tensor([[1.0, -2.0]])
    assert torch.equal(layer(x), x @ expected.T)
    assert torch.equal(layer.last_choice, torch.tensor([[1, 0], [2, 0]]))


def test_probabilistic_layer_evaluates_greedily_unless_configured() -> None:
    torch.manual_seed(0)
    layer = SelectLinear(50, 40, k=2, selection="probabilistic").eval()
    greedy = layer.greedy_choice()
    layer.effective_weight()  # no generator needed: eval mode draws nothing
    assert torch.equal(layer.last_choice, greedy)
    layer.train()
    layer.generator = seeded_generator(3)
    layer.effective_weight()
    assert (layer.last_choice != greedy).any()

    torch.manual_seed(0)
    sampling = SelectLinear(50, 40, k=2, selection="probabilistic", eval_selection="probabilistic").eval()
    sampling.generator = seeded_generator(3)
    sampling.effective_weight()
    # scores ~ U(0, b) are close, so about half of 2,000 samples differ from the argmax
    assert 500 < int((sampling.last_choice != greedy).sum()) < 1500


def test_score_gradient_is_weight_gradient_times_candidate_by_hand() -> None:
    layer = SelectLinear(2, 1, k=3)
    with torch.no_grad():
        layer.candidates.copy_(torch.tensor([[[0.5, -1.0, 2.0], [3.0, 0.25, -0.5]]]))
        layer.scores.copy_(torch.tensor([[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]]))
    out = layer(torch.tensor([[1.0, 2.0]]))
    assert out.item() == 1.0 * 2.0 + 2.0 * 3.0  # chosen candidates 2.0 and 3.0
    out.sum().backward()
    # d out / d w = x = [1, 2]; score j of input i gets x_i * candidate_ij, chosen or not
    assert torch.equal(layer.scores.grad, torch.tensor([[[0.5, -1.0, 2.0], [6.0, 0.5, -1.0]]]))
    assert layer.candidates.grad is None


@pytest.mark.parametrize("cls, shape", [(SelectConv1d, (2, 3, 9)), (SelectConv2d, (2, 3, 7, 7))])
def test_conv_score_gradient_matches_ordinary_conv(cls: type, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    layer = cls(3, 4, 3, k=5, padding=1)
    x = torch.randn(*shape)
    layer(x).square().sum().backward()
    weight = layer.effective_weight().detach().requires_grad_(True)
    conv = F.conv1d if cls is SelectConv1d else F.conv2d
    conv(x, weight, padding=1).square().sum().backward()
    assert torch.allclose(layer.scores.grad, weight.grad.unsqueeze(-1) * layer.candidates, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name, shape", sorted(LEARNED_WEIGHTS))
def test_model_parameter_counts_and_output_shapes(name: str, shape: tuple[int, ...]) -> None:
    learned = build_model(name, shape, 10, 1, mode="learned")
    assert sum(p.numel() for p in learned.parameters()) == LEARNED_WEIGHTS[name, shape]
    assert not list(learned.buffers())
    assert all(p.dim() > 1 for p in learned.parameters())  # no biases
    k = 2
    selected = build_model(name, shape, 10, 1, mode="select", k=k)
    assert sum(p.numel() for p in selected.parameters()) == k * LEARNED_WEIGHTS[name, shape]
    assert sum(b.numel() for b in selected.buffers()) == k * LEARNED_WEIGHTS[name, shape]
    x = torch.randn(3, *shape)
    assert learned(x).shape == (3, 10)
    assert selected(x).shape == (3, 10)


def test_layer_dimensionality_follows_input_shape() -> None:
    one_d = build_model("conv6", (1, 40), 10, 1, k=2)
    two_d = build_model("conv6", (3, 32, 32), 10, 1, k=2)
    convs_1d = [m for m in selection_layers(one_d).values() if isinstance(m, SelectConv1d)]
    convs_2d = [m for m in selection_layers(two_d).values() if isinstance(m, SelectConv2d)]
    assert [m.padding for m in convs_1d] == [0, 0, 0, 0, 1, 1]
    assert [m.padding for m in convs_2d] == [0, 0, 0, 0, 1, 1]
    assert len(selection_layers(one_d)) == len(selection_layers(two_d)) == 9


def test_too_small_input_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"too small: conv 4"):
        build_model("conv6", (1, 12), 10, 1, k=2)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"mode": "random"}, r"mode must be one of select, learned; got 'random'"),
        ({"k": 0}, r"k \(candidates per connection\) must be an integer >= 1; got 0"),
        ({"k": 4, "selection": "soft"}, r"selection must be one of greedy, probabilistic; got 'soft'"),
        ({"k": 4, "eval_selection": "x"}, r"eval_selection must be one of greedy, probabilistic; got 'x'"),
        ({"mode": "select"}, r"mode=select needs k"),
        ({"mode": "learned", "k": 4}, r"k applies only to mode=select"),
    ],
)
def test_bad_options_name_option_value_and_choices(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_model("conv2", (1, 40), 10, 1, **options)


def test_probabilistic_selection_draws_only_from_layer_generator() -> None:
    def choices(stochastic_seed: int) -> dict[str, torch.Tensor]:
        model = build_model("lenet", (1, 40), 10, 1, k=4, selection="probabilistic").train()
        set_stochastic_generator(model, seeded_generator(stochastic_seed))
        model(torch.zeros(2, 1, 40))
        return selection_choices(model, last=True)

    torch.manual_seed(123)
    global_state = torch.get_rng_state()
    first, again, other = choices(5), choices(5), choices(6)
    assert torch.equal(torch.get_rng_state(), global_state)
    assert all(torch.equal(first[name], again[name]) for name in first)
    assert any(not torch.equal(first[name], other[name]) for name in first)


def test_probabilistic_samples_follow_softmax_of_scores() -> None:
    layer = SelectLinear(500, 100, k=4, selection="probabilistic")
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    with torch.no_grad():
        layer.scores.copy_(probs.log().expand_as(layer.scores))
    layer.generator = seeded_generator(1)
    frequencies = torch.bincount(layer.sample_choice().flatten(), minlength=4) / 50_000
    # 50,000 draws: the SD of each frequency is at most 0.0023
    assert torch.allclose(frequencies, probs, atol=0.01)


def test_probabilistic_training_without_generator_raises() -> None:
    layer = SelectLinear(3, 2, k=2, selection="probabilistic")
    with pytest.raises(RuntimeError, match="set_stochastic_generator"):
        layer(torch.zeros(1, 3))


def test_sd_reduction_by_hand() -> None:
    # SD([1,2,3]) = sqrt(2/3), SD([1,3,5]) = sqrt(8/3): reduction 1 - 1/2 = 0.5
    reduction, (low, high) = sd_reduction([1.0, 2.0, 3.0], [1.0, 3.0, 5.0])
    assert reduction == pytest.approx(0.5, abs=1e-12)
    assert low < 0.5 < high
    # Constant selected runs: every resample has SD 0. Two learned runs: half the resamples
    # repeat one run (SD 0, ratio 0/0 counted as 1 -> reduction 0), half have SD 0.5
    # (reduction 1). So the 95% interval is exactly (0, 1).
    reduction, interval = sd_reduction([2.0, 2.0, 2.0], [0.0, 1.0])
    assert reduction == 1.0
    assert interval == (0.0, 1.0)
    with pytest.raises(ValueError, match="zero SD"):
        sd_reduction([1.0, 2.0], [3.0, 3.0])


def test_sd_reduction_table_rows() -> None:
    selected = {("conv2", 4): [70.0, 71.0, 72.0], ("conv2", 2): [70.0, 70.0, 73.0]}
    learned = {"conv2": [68.0, 70.0, 72.0]}
    rows = sd_reduction_table(selected, learned, resamples=2000, seed=1)
    assert [(r.model, r.k) for r in rows] == [("conv2", 2), ("conv2", 4)]
    row = rows[1]
    assert row.runs == row.learned_runs == 3
    assert row.mean == 71.0
    assert row.sd == pytest.approx(math.sqrt(2 / 3))
    assert row.learned_sd == pytest.approx(math.sqrt(8 / 3))
    assert row.reduction == pytest.approx(0.5)
    assert row.sd_error == pytest.approx(float(bootstrap_sds(np.array([70.0, 71.0, 72.0]), 2000, 1).std()))
    assert row.verdict == claim_verdict(row.reduction_ci95)
    with pytest.raises(ValueError, match="no learned-weights accuracies for model 'conv4'"):
        sd_reduction_table({("conv4", 2): [1.0, 2.0]}, learned)


def test_claim_verdicts() -> None:
    assert claim_verdict((0.3, 0.5)) == "consistent"
    assert claim_verdict((-0.2, 0.6)) == "inconclusive"
    assert claim_verdict((-0.5, 0.2)) == "below"
    assert claim_verdict((0.45, 0.9)) == "above"


def test_selection_memory_counts() -> None:
    weights = LEARNED_WEIGHTS["lenet", (1, 40)]  # 43,000 connections
    selected = selection_memory(build_model("lenet", (1, 40), 10, 1, k=4))
    assert selected == {
        "trainable_parameters": 4 * weights,
        "fixed_candidates": 4 * weights,
        "connections": weights,
        "state_bytes": 2 * 4 * weights * 4,  # scores + candidates, float32
        "compact_bytes": weights * 2 // 8,  # 2 bits per connection for k = 4
    }
    learned = selection_memory(build_model("lenet", (1, 40), 10, 1, mode="learned"))
    assert learned == {
        "trainable_parameters": weights,
        "fixed_candidates": 0,
        "connections": weights,
        "state_bytes": 4 * weights,
        "compact_bytes": 4 * weights,
    }

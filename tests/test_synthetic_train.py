"""Training pairs: shuffling windows, initialisation, optimisers, batched models, the central contrast."""

import numpy as np
import pytest
import torch

from runvar.synthetic import (Architecture, BatchedNet, init_parameters, make_data_model, resolve_setting,
                              run_setting, torch_generator, train_pass, window_permutation)
from runvar.synthetic.optim import Adagrad, MomentumSGD
from runvar.synthetic.streams import Stream
from runvar.synthetic.train import Slot, _initial_models

SMALL = {"pairs": 4, "log2_examples": 12, "log2_eval_examples": 10, "log2_z": [0, 3]}


def test_z_1_keeps_every_example_inside_its_own_mini_batch():
    order = window_permutation(32 * 50, 32, np.random.default_rng(0))
    batches = order.reshape(50, 32)
    for i, batch in enumerate(batches):
        assert sorted(batch) == list(range(32 * i, 32 * (i + 1)))
    assert not np.array_equal(order, np.arange(32 * 50))  # but shuffled inside


def test_larger_windows_shuffle_across_batches_but_not_across_windows():
    order = window_permutation(1024, 256, np.random.default_rng(1))
    assert sorted(order) == list(range(1024))
    windows = order.reshape(4, 256)
    for w, window in enumerate(windows):
        assert window.min() == 256 * w and window.max() == 256 * w + 255
    moved = np.abs(order // 32 - np.arange(1024) // 32)
    assert moved.max() > 0  # examples leave their mini-batch, within the window
    other = window_permutation(1024, 256, np.random.default_rng(2))
    assert not np.array_equal(order, other)  # the two models of a pair: different orders
    with pytest.raises(ValueError, match="divide"):
        window_permutation(1000, 256, np.random.default_rng(0))


def test_adagrad_step_by_hand():
    p = torch.tensor([1.0, -2.0])
    opt = Adagrad([p], lr=0.5, initial_accumulator=0.1)
    g = torch.tensor([0.3, -1.0])
    opt.step([g])
    acc = 0.1 + g**2
    assert torch.allclose(p, torch.tensor([1.0, -2.0]) - 0.5 * g / (acc.sqrt() + 1e-7))
    opt.step([g])
    acc = acc + g**2
    expected = torch.tensor([1.0, -2.0]) - 0.5 * g / ((0.1 + g**2).sqrt() + 1e-7) - 0.5 * g / (acc.sqrt() + 1e-7)
    assert torch.allclose(p, expected)


def test_sgd_momentum_with_inverse_time_decay_by_hand():
    p = torch.tensor([1.0])
    opt = MomentumSGD([p], lr=0.1, momentum=0.9, decay=0.5)
    g = torch.tensor([2.0])
    opt.step([g])  # lr_0 = 0.1, v = -0.2
    opt.step([g])  # lr_1 = 0.1 / 1.5, v = 0.9 * -0.2 - 2 * 0.1 / 1.5
    v2 = 0.9 * -0.2 - 2 * 0.1 / 1.5
    assert p.item() == pytest.approx(1.0 - 0.2 + v2, rel=1e-6)


def test_embedding_model_sums_the_active_features_embeddings_per_set():
    arch = Architecture("embedding", (3,), "relu", embedding_dim=2)
    params = init_parameters(arch, torch.Generator().manual_seed(0))
    net = BatchedNet(arch, [params])
    x = torch.zeros(1, 2, 32)
    x[0, 0, [0, 5, 20]] = 1.0
    x[0, 1, [16]] = 1.0
    e = params["embedding"]
    for b, (first, second) in enumerate([(e[0, 0] + e[0, 5], e[1, 4]), (torch.zeros(2), e[1, 0])]):
        h = torch.relu(torch.cat([first, second]) @ params["w0"] + params["b0"][0])
        expected = h @ params["w1"][:, 0] + params["b1"][0, 0]
        assert net(x)[0, b].item() == pytest.approx(expected.item(), abs=1e-6)


def test_batched_models_do_not_interact():
    """Training three models together gives each the parameters it gets when trained alone."""
    arch = Architecture("mlp", (4, 2), "smelu", beta=1.0)
    data = make_data_model("linear", np.random.default_rng(0))
    inits = [init_parameters(arch, torch.Generator().manual_seed(s)) for s in range(3)]

    def trained(indices):
        net = BatchedNet(arch, [inits[i] for i in indices])
        opt = Adagrad(list(net.parameters()), lr=0.1, initial_accumulator=0.1)
        train_pass(net, opt, data, [np.random.default_rng(7)], [0] * len(indices), [64] * len(indices),
                   [np.random.default_rng(100 + i) for i in indices], examples=1024, batch_size=32)
        return [net.model_parameters(k) for k in range(len(indices))]

    together = trained([0, 1, 2])
    for i in range(3):
        (alone,) = trained([i])
        for name, value in alone.items():
            assert torch.allclose(together[i][name], value, atol=1e-5), name


def test_same_init_shares_weights_in_a_pair_and_different_init_does_not():
    setting = resolve_setting({"model": "mlp", "hidden": [2], "activation": "relu",
                               "init": ["same", "different"], **SMALL})
    arch = Architecture("mlp", (2,), "relu")
    slots = [Slot(i, 0, p, m) for i in ("same", "different") for p in (0, 1) for m in (0, 1)]
    models = _initial_models(setting, arch, slots, None, torch.device("cpu"), None)
    same = dict(zip(slots, models))
    w = lambda i, p, m: same[Slot(i, 0, p, m)]["w0"]  # noqa: E731
    assert torch.equal(w("same", 0, 0), w("same", 0, 1))
    assert not torch.equal(w("same", 0, 0), w("same", 1, 0))  # each pair its own init
    assert not torch.equal(w("different", 0, 0), w("different", 0, 1))
    assert torch.equal(w("different", 0, 0), w("same", 0, 0))  # common random numbers
    expected = init_parameters(arch, torch_generator(setting["seed"], Stream.INIT, 1, 0))["w0"]
    assert torch.equal(w("same", 1, 1), expected)


def test_same_seed_same_numbers_and_the_global_rng_is_untouched():
    np_state, torch_state = np.random.get_state()[1].copy(), torch.get_rng_state().clone()
    setting = {"model": "mlp", "hidden": [2], "activation": "swish", "beta": 1.0, **SMALL}
    first, second = run_setting(setting), run_setting(setting)
    assert [c["delta_r"]["values"] for c in first["curves"]] == [c["delta_r"]["values"] for c in second["curves"]]
    assert [c["excess_loss"]["values"] for c in first["curves"]] == [c["excess_loss"]["values"] for c in second["curves"]]
    assert np.array_equal(np.random.get_state()[1], np_state)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert first["execution"]["threads"] == 1
    assert first["models_trained"] == 4 * 2 * 2


def test_pairs_per_group_gives_the_same_pairs_as_all_at_once():
    setting = {"model": "linear", "init": ["same", "different"], **SMALL}
    whole = run_setting(setting)
    grouped = run_setting({**setting, "pairs_per_group": 3})
    for a, b in zip(whole["curves"], grouped["curves"]):
        assert a["delta_r"]["values"] == pytest.approx(b["delta_r"]["values"], rel=1e-3, abs=1e-8)
        assert a["excess_loss"]["values"] == pytest.approx(b["excess_loss"]["values"], rel=1e-4)


def test_warm_start_begins_both_models_of_a_pair_from_one_pretrained_model():
    base = {"data": "quadratic", "model": "mlp", "hidden": [8, 4], "activation": "relu", **SMALL}
    cold = run_setting({**base, "lr": 0.01})
    warm = run_setting({**base, "lr": 0.01, "warm_start": {"lr": 0.1}})
    curve = lambda r, z: next(c for c in r["curves"] if c["log2_z"] == z)  # noqa: E731
    # Pretraining on a second stream of 2^12 examples: better loss than the cold small-LR start.
    assert curve(warm, 0)["excess_loss"]["mean"] < 0.8 * curve(cold, 0)["excess_loss"]["mean"]
    assert curve(warm, 0)["delta_r"]["mean"] < 1e-4
    assert warm["label"].endswith("TL")


def test_central_contrast_rounding_only_for_linear_far_more_for_relu_towers():
    """SS's contrast at quick scale: a linear pair with the same init and z = 1 differs only by
    the rounding of differently ordered sums; a ReLU tower pair diverges by orders of magnitude."""
    base = {"pairs": 8, "log2_examples": 14, "log2_eval_examples": 12, "log2_z": [0, 5]}
    linear = run_setting({"model": "linear", **base})
    tower = run_setting({"model": "mlp", "hidden": [16, 8, 4, 2], "activation": "relu", **base})
    delta = lambda r, z: next(c for c in r["curves"] if c["log2_z"] == z)["delta_r"]  # noqa: E731
    assert 0.0 < delta(linear, 0)["mean"] < 1e-5  # not bitwise equal, but only rounding apart
    assert delta(linear, 0)["max"] < 1e-5
    assert delta(tower, 5)["mean"] > 1e4 * delta(linear, 0)["mean"]
    assert delta(tower, 5)["mean"] > 10 * delta(linear, 5)["mean"]

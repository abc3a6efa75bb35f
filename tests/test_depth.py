"""SD's depth finding: a linear model is stable under a one-bit change, a hidden layer is not."""

import copy

import numpy as np

from runvar.metrics import accuracies, cross_entropies, spread_over_time
from runvar.seeds import run_seeds
from runvar.train import train_run


def bitflip_runs(setup, data, runs=4):
    results = [train_run(setup, data, run_seeds("bitflip", r), log=lambda _: None) for r in range(1, runs + 1)]
    logits = np.stack([r.logits for r in results])
    return logits, results[0].labels, results


def test_linear_is_stable_and_hidden_layer_is_not_under_bitflip(tiny_data, tiny_setup):
    setup = copy.deepcopy(tiny_setup)
    # chaos needs a few hundred steps to amplify one ULP: 40 epochs of 8 batches
    setup.update(epochs=40, model={"name": "linear"}, optimizer={**setup["optimizer"], "lr": 0.1})
    logits, labels, results = bitflip_runs(setup, tiny_data)
    linear_acc_sd = np.std(accuracies(logits, labels))
    linear_ce_sd = np.std(cross_entropies(logits, labels))
    assert len({r.record["bitflip"]["flat_index"] for r in results}) > 1
    assert linear_acc_sd == 0.0
    assert 0 < linear_ce_sd < 1e-6  # the paper: ~3e-8 at convergence; measured ~1e-8 here

    setup["model"] = {"name": "mlp", "hidden": [512]}
    logits, labels, _ = bitflip_runs(setup, tiny_data)
    mlp_ce_sd = np.std(cross_entropies(logits, labels))
    assert mlp_ce_sd > 100 * linear_ce_sd


def test_spread_over_time_by_hand():
    values = np.array([[1.0, 2.0], [3.0, 2.0], [5.0, 2.0]])
    spread = spread_over_time(values)
    assert np.allclose(spread["sd"], [np.std([1, 3, 5]), 0.0])
    assert np.allclose(spread["low"], [np.percentile([1, 3, 5], 2.5), 2.0])
    assert np.allclose(spread["range95"], [np.percentile([1, 3, 5], 97.5) - np.percentile([1, 3, 5], 2.5), 0.0])

"""Ensembles from saved runs, the variability reduction %, claim 3 and the derived setups."""

import copy

import numpy as np
import pytest

from runvar.claims import NOT_CONVERGED
from runvar.config import ConfigError, derive_setup
from runvar.reduction.claims import claim_reduction
from runvar.reduction.plan import reduction_plan
from runvar.reduction.ensembles import (
    REDUCTION_METRICS, snapshot_ensemble_stack, vanilla_ensembles, variability_reduction,
)
from runvar.metrics import variability
from runvar.runs import train_and_save


def test_vanilla_ensembles_are_disjoint_group_means(random_logits):
    logits, _ = random_logits
    groups = vanilla_ensembles(logits, 2)
    assert groups.shape == (3, 200, 5)
    assert np.allclose(groups[1], (logits[2] + logits[3]) / 2, atol=1e-6)
    assert np.array_equal(vanilla_ensembles(logits, 1), logits)
    assert vanilla_ensembles(logits, 4).shape[0] == 1  # runs 5, 6 left out
    with pytest.raises(ValueError, match="at least 7 runs"):
        vanilla_ensembles(logits, 7)


def test_snapshot_ensemble_of_one_cycle_is_the_plain_run(tmp_path, tiny_data, tiny_setup):
    plain, cyclic = tmp_path / "plain", tmp_path / "cyclic"
    train_and_save("tiny", tiny_setup, "all", 3, tiny_data, plain, log=lambda _: None)
    one_cycle = copy.deepcopy(tiny_setup)
    one_cycle["schedule"]["cycles"] = 1
    train_and_save("tiny", one_cycle, "all", 3, tiny_data, tmp_path / "one", log=lambda _: None)
    ensembles, _ = snapshot_ensemble_stack([plain / "predictions.npz", tmp_path / "one/predictions.npz"])
    saved = np.load(plain / "predictions.npz")["logits"]
    assert np.array_equal(ensembles[0], saved) and np.array_equal(ensembles[1], saved)
    two = copy.deepcopy(tiny_setup)
    two["schedule"]["cycles"] = 2
    train_and_save("tiny", two, "all", 3, tiny_data, cyclic, log=lambda _: None)
    arrays = np.load(cyclic / "predictions.npz")
    (ensemble,), _ = snapshot_ensemble_stack([cyclic / "predictions.npz"])
    assert np.allclose(ensemble, arrays["snapshot_logits"].mean(0), atol=1e-6)
    assert not np.allclose(ensemble, arrays["logits"])


def test_reduction_formula_reproduces_re_table_7():
    single = dict(accuracy_sd=0.26, cross_entropy_sd=0.0080, pairwise_disagreement=10.7,
                  pairwise_spearman=0.871, ensemble_delta_accuracy=1.84)
    rows = {  # RE Table 7: (metrics, printed variability reduction %)
        "Single/Flip-TTA": ((0.22, 0.0063, 8.0, 0.905, 1.17), 20),
        "Single/Flip-Crop81-TTA": ((0.21, 0.0050, 6.9, 0.922, 0.92), 30),
        "Acc.Ens/Flip-Crop81-TTA": ((0.15, 0.0031, 4.5, 0.972, 0.37), 51),
    }
    for values, printed in rows.values():
        row = dict(zip([k for k, _, _ in REDUCTION_METRICS], values))
        assert round(variability_reduction(row, single)["mean"]) == printed
    assert variability_reduction(single, single)["mean"] == 0


def test_claim_3_reduction_with_bootstrap_intervals():
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 5, size=300)
    logits = (rng.normal(size=(300, 5))[None] + 0.7 * rng.normal(size=(20, 300, 5))).astype(np.float32)
    converged = {"converged": True}  # rows whose recipes passed their plateau check
    noisy = variability(logits, labels, resamples=200) | converged
    calm = variability(logits * 0.2 + logits.mean(0) * 0.8, labels, resamples=200) | converged
    wild = variability(logits + 3.0 * rng.normal(size=logits.shape).astype(np.float32), labels, resamples=200) | converged
    claims, tests = claim_reduction(noisy, {"Single/crop5-TTA": calm}, paired=["Single/crop5-TTA"], resamples=2000)
    assert claims[0]["verdict"] == "supported" and tests[0]["margin"] == "> 0"
    assert tests[0]["statistic"] == pytest.approx(variability_reduction(calm, noisy)["mean"])
    assert 0 < tests[0]["ci95_low"] < tests[0]["statistic"] < tests[0]["ci95_high"]
    claims, tests = claim_reduction(noisy, {"calm": calm, "wild": wild}, resamples=2000)
    assert [t["verdict"] for t in tests] == ["supported", "not supported"] and claims[0]["verdict"] == "mixed"
    claims, _ = claim_reduction(noisy, {"calm": calm | {"converged": False}}, resamples=200)
    assert claims[0]["verdict"] == NOT_CONVERGED
    assert claim_reduction(noisy, {})[0][0]["verdict"] == "not tested"


def test_derived_setups_are_canonical_and_checked():
    setups = {"b": {"epochs": 30, "optimizer": {"lr": 0.1}, "schedule": {"warmup_epochs": 2}}}
    assert derive_setup(setups, "b", cycles=1, onset_epoch=0) == "b" and len(setups) == 1
    assert derive_setup(setups, "b", epochs=10, lr=0.05) == "b.lr0.05.epochs10"
    assert setups["b.lr0.05.epochs10"]["optimizer"]["lr"] == 0.05 and setups["b"]["optimizer"]["lr"] == 0.1
    with pytest.raises(ConfigError, match="multiple of cycles"):
        derive_setup(setups, "b", cycles=7)
    with pytest.raises(ConfigError, match="onset epoch 30 must be below"):
        derive_setup(setups, "b", onset_epoch=30)


def test_plan_shares_runs_and_rejects_bad_blocks():
    setups = {"b": {"epochs": 30, "optimizer": {"lr": 0.1}, "schedule": {}}}
    studies = {"ablations": {"setups": ["b"], "runs": 4, "epochs": {"variants": ["all"], "epochs": [10, 30]},
                             "lr_epochs": {"variants": ["all"], "lr": [0.1], "epochs": [10]}}}
    plan = reduction_plan(studies, setups, 4)
    assert plan["ablation_epochs"]["b"][0]["setup"] == plan["ablation_lr_epochs"]["b"][0]["setup"] == "b.epochs10"
    assert sorted(setups) == ["b", "b.epochs10"]
    bad = {"onset": {"setups": ["b"], "variants": ["all"], "epochs": [0, 5], "runs": 4}}
    with pytest.raises(ConfigError, match="varies 'init'"):
        reduction_plan(bad, setups, 4)
    with pytest.raises(ConfigError, match="leaves 1 disjoint"):
        reduction_plan({"ensembles": {"setups": ["b"], "variant": "all", "runs": 4, "cycles": 5, "sizes": [3]}}, setups, 4)
    with pytest.raises(ConfigError, match="seeds 1..4 only"):
        reduction_plan({"cka": {"setups": ["b"], "variants": ["init"], "runs": 8}}, setups, 4)


def test_ensembles_without_cycles_have_no_snapshot_row(tmp_path, random_logits):
    from runvar.reduction.ensembles import ensemble_rows

    logits, labels = random_logits
    paths = []
    for run, run_logits in enumerate(logits, 1):
        paths.append(tmp_path / f"run{run}.npz")
        np.savez(paths[-1], logits=run_logits, labels=labels)
    setups = {"b": {"epochs": 30, "optimizer": {"lr": 0.1}, "schedule": {}}}
    plan = reduction_plan({"ensembles": {"setups": ["b"], "variant": "all", "runs": 6, "sizes": [1, 3]}}, setups, 6)
    assert plan["ensembles"]["b"]["snapshot"] is None and sorted(setups) == ["b"]  # nothing new to train
    rows = ensemble_rows(paths, [], [1, 3], {"resamples": 50, "seed": 0})
    assert [label for label, _ in rows] == ["Vanilla (N=1)", "Vanilla (N=3)"]
    assert rows[0][1]["accuracy_sd"] == pytest.approx(variability(logits, labels, resamples=50)["accuracy_sd"])

"""The weight-selection study's setups, tables and figures (runvar.selection)."""

import copy
import re

import numpy as np
import pytest

from runvar.config import ConfigError
from runvar.metrics import population_sd
from runvar.selection.memory import memory_frame, memory_markdown, memory_table
from runvar.selection.plan import (
    first_selection_layer,
    protocol_rows,
    resolve_study_setups,
    study_groups,
    study_setups,
)
from runvar.selection.report import (
    accuracy_frame,
    accuracy_markdown,
    group_figure,
    protocol_frame,
    protocol_markdown,
)
from runvar.selection.stats import sd_reduction

STUDY = {
    "models": ["lenet", "conv2"],
    "ks": [2, 8],
    "runs": 5,
    "selection": "greedy",
    "setup": {"epochs": 3, "optimizer": {"lr": 0.1, "weight_decay": 0.0}},
    "selected": {"optimizer": {"lr": 0.5}},
    "learned": {"batch_size": 64},
    "protocol": {"model": "lenet", "k": 8, "variants": ["init", "bitflip"]},
}
CONFIG = {
    "datasets": {"mnist1d": {"num_samples": 600}},
    "setup_defaults": {"dataset": "mnist1d", "epochs": 30, "batch_size": 128,
                       "optimizer": {"lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4}},
    "setups": {"cnn": {"model": {"name": "cnn1d"}}},
    "studies": {"selection": STUDY},
}


def test_first_selection_layer_names_the_first_scored_module():
    assert first_selection_layer("lenet") == "1"  # after the Flatten
    assert first_selection_layer("conv4") == "0"


def test_study_setups_generate_every_group_and_the_candidate_flip_twin():
    setups = study_setups(STUDY)
    assert sorted(setups) == sorted([
        "sel.lenet.k2", "sel.lenet.k8", "sel.lenet.learned", "sel.conv2.k2", "sel.conv2.k8",
        "sel.conv2.learned", "sel.lenet.k8.flip-candidates",
    ])
    k8 = setups["sel.lenet.k8"]
    assert k8["model"] == {"name": "lenet", "mode": "select", "k": 8, "selection": "greedy"}
    assert k8["optimizer"] == {"lr": 0.5, "weight_decay": 0.0} and k8["epochs"] == 3
    assert k8["bitflip"] == {"parameter": "1.scores"}
    assert setups["sel.conv2.k2"]["bitflip"] == {"parameter": "0.scores"}
    twin = setups["sel.lenet.k8.flip-candidates"]
    assert twin["bitflip"] == {"parameter": "1.candidates"}
    assert {**twin, "bitflip": None} == {**k8, "bitflip": None}  # differs only in the flipped tensor
    learned = setups["sel.conv2.learned"]
    assert learned["model"] == {"name": "conv2", "mode": "learned"}
    assert learned["optimizer"]["lr"] == 0.1 and learned["batch_size"] == 64 and "bitflip" not in learned


def test_by_k_overrides_only_the_selection_setups_of_that_k():
    setups = study_setups(dict(STUDY, by_k={2: {"epochs": 7, "optimizer": {"lr": 3.0}}}))
    for model in ("lenet", "conv2"):
        assert setups[f"sel.{model}.k2"]["epochs"] == 7
        assert setups[f"sel.{model}.k2"]["optimizer"] == {"lr": 3.0, "weight_decay": 0.0}
        assert setups[f"sel.{model}.k8"]["epochs"] == 3 and setups[f"sel.{model}.learned"]["epochs"] == 3


def test_protocol_model_outside_the_main_groups_gets_its_setups():
    study = {**STUDY, "models": ["conv2"], "protocol": {"model": "lenet", "k": 4, "variants": ["bitflip"]}}
    setups = study_setups(study)
    assert {"sel.lenet.k4", "sel.lenet.learned", "sel.lenet.k4.flip-candidates"} <= set(setups)
    assert "sel.lenet.k2" not in setups


def test_resolved_setups_take_the_defaults_and_dataset_options():
    resolved = resolve_study_setups(CONFIG)
    k2 = resolved["sel.lenet.k2"]
    assert k2["optimizer"] == {"lr": 0.5, "momentum": 0.9, "weight_decay": 0.0}
    assert k2["batch_size"] == 128 and resolved["sel.lenet.learned"]["batch_size"] == 64
    assert k2["dataset_options"] == {"num_samples": 600}


def _selection(config):
    return config["studies"]["selection"]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c["setups"].update({"sel.conv2.k8": {}}), "setups.sel.conv2.k8: clashes with a setup"),
        (lambda c: _selection(c).update(setup={"dataset": "cifar10"}),
         "studies.selection.setup.dataset: 'cifar10' is not defined under datasets"),
        (lambda c: (c["datasets"].update(cifar10={}), _selection(c).update(learned={"dataset": "cifar10"})),
         "all groups must use one dataset"),
        (lambda c: _selection(c).update(selected={"model": {"k": 3}}),
         "studies.selection.selected.model: the study sets each setup's model"),
        (lambda c: _selection(c).update(by_k={4: {"epochs": 5}}),
         "studies.selection.by_k.4: k = 4 is not in studies.selection.ks [2, 8]"),
        (lambda c: _selection(c).update(by_k={2: {"model": {"k": 3}}}),
         "studies.selection.by_k.2.model: the study sets each setup's model"),
        (lambda c: _selection(c)["protocol"].update(variants=["gamma-rays"]),
         "studies.selection.protocol.variants: unknown variant 'gamma-rays'"),
    ],
)
def test_bad_study_blocks_fail_with_the_key(change, message):
    config = copy.deepcopy(CONFIG)
    change(config)
    with pytest.raises(ConfigError, match=re.escape(message)):
        resolve_study_setups(config)


def test_groups_and_protocol_rows_in_table_order():
    assert [(g["model"], g["k"], g["setup"]) for g in study_groups(STUDY)] == [
        ("lenet", 2, "sel.lenet.k2"), ("lenet", 8, "sel.lenet.k8"), ("lenet", None, "sel.lenet.learned"),
        ("conv2", 2, "sel.conv2.k2"), ("conv2", 8, "sel.conv2.k8"), ("conv2", None, "sel.conv2.learned"),
    ]
    rows = protocol_rows(STUDY)
    assert [(r["setup"], r["variant"], r["flipped"]) for r in rows] == [
        ("sel.lenet.k8", "init", ""), ("sel.lenet.learned", "init", ""),
        ("sel.lenet.k8", "bitflip", "scores"), ("sel.lenet.k8.flip-candidates", "bitflip", "candidates"),
        ("sel.lenet.learned", "bitflip", "weights"),
    ]


def test_accuracy_frame_matches_the_statistics():
    groups = study_groups({"models": ["lenet"], "ks": [2, 8]})
    pattern = np.array([-1.5, -0.5, 0.0, 0.5, 1.5, 0.25])
    accs = [90 + scale * pattern for scale in (0.2, 0.4, 0.5)]
    frame = accuracy_frame(groups, accs, resamples=2000, seed=1)
    assert list(frame["k"]) == ["2", "8", "learned"]
    for (_, row), values in zip(frame.iterrows(), accs):
        assert row["accuracy_sd"] == pytest.approx(population_sd(values), rel=1e-12)
        assert row["accuracy_mean"] == pytest.approx(values.mean(), rel=1e-12)
        assert row["runs"] == 6 and row["accuracy_sd_sd"] > 0
    reduction, (low, high) = sd_reduction(accs[0], accs[2], 2000, 1)
    first = frame.iloc[0]
    assert first["sd_reduction"] == pytest.approx(reduction) == pytest.approx(0.6)
    assert (first["sd_reduction_ci95_low"], first["sd_reduction_ci95_high"]) == (low, high)
    assert frame.iloc[2][["sd_reduction", "sd_reduction_ci95_low", "verdict"]].isna().all()
    md = accuracy_markdown(frame, "T")
    assert f"| lenet | 2 | 6 | {accs[0].mean():.2f} | {population_sd(accs[0]):.3f} ±" in md
    assert f"{100 * reduction:.0f}% [{100 * low:.0f}%, {100 * high:.0f}%] | {first['verdict']} |" in md
    fig = group_figure(frame, "accuracy_sd", "accuracy_sd_sd", "SD", "t")
    assert len(fig.axes[0].patches) == 3


def test_memory_markdown_reports_the_measured_counts():
    frame = memory_frame(memory_table(["lenet"], [2, 16], (1, 40)))
    md = memory_markdown(frame, "M")
    connections = 40 * 300 + 300 * 100 + 100 * 10
    assert f"| lenet | learned | {connections:,} | 0 | {connections:,} |" in md
    assert f"| lenet | 16 | {16 * connections:,} | {16 * connections:,} | {connections:,} |" in md


def test_protocol_frame_takes_each_rows_metrics():
    rows = protocol_rows({"protocol": {"model": "lenet", "k": 2, "variants": ["bitflip"]}})
    metric = {"runs": 3, "accuracy_sd": 0.5, "accuracy_sd_sd": 0.1, "cross_entropy_sd": 0.01,
              "cross_entropy_sd_sd": 0.002, "pairwise_disagreement": 4.0, "pairwise_spearman": 0.99,
              "ensemble_delta_accuracy": 0.3, "accuracy_mean": 60.0, "bitwise_identical": False}
    metrics = [metric, {**metric, "accuracy_sd": 0.0, "bitwise_identical": True}, metric]
    frame = protocol_frame(rows, metrics)
    assert list(frame["accuracy_sd"]) == [0.5, 0.0, 0.5]
    assert list(frame["bitwise_identical"]) == [False, True, False]
    md = protocol_markdown(frame, "P")
    assert "| selected (k=2) | bitflip | candidates | 3 | 0.000 ± 0.100 |" in md
    assert md.count("| no |") == 2 and md.count("| yes |") == 1

"""Check sets: fresh examples from a data set's generator on which the plateau checks decide."""

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from runvar.check_set import check_set_finals
from runvar.config import ConfigError, load_schema, validate_config
from runvar.data import load_dataset, prepare_check_set, prepare_dataset
from runvar.data.prepared import UnknownDatasetError
from runvar.models import build_from_block
from runvar.plateau import plateau_check
from runvar.runs import train_and_save_runs
from runvar.studies import plan_studies

from .test_plateau import histories

REPO = Path(__file__).resolve().parents[1]


def test_a_check_set_is_new_examples_of_the_generator(tmp_path):
    first = prepare_check_set("mnist1d", tmp_path / "a.npz", 500, 8)
    assert prepare_check_set("mnist1d", tmp_path / "b.npz", 500, 8) == first  # the same seed: the same bytes
    assert prepare_check_set("mnist1d", tmp_path / "c.npz", 500, 9) != first
    check = load_dataset(tmp_path / "a.npz")
    assert check.x_train.shape == (0, 1, 40) and check.x_test.shape == (500, 1, 40) and len(check.y_test) == 500
    assert check.num_classes == 10 and sorted(check.y_test.unique().tolist()) == list(range(10))
    # not the study's examples: the data set of seed 7 shares none of them
    prepare_dataset("mnist1d", tmp_path / "study.npz", num_samples=600, train_split=0.8, seed=7)
    study = load_dataset(tmp_path / "study.npz")
    seen = {row.numpy().tobytes() for row in torch.cat([study.x_train, study.x_test])}
    assert not any(row.numpy().tobytes() in seen for row in check.x_test)


def test_a_check_set_refuses_what_it_cannot_generate(tmp_path):
    with pytest.raises(UnknownDatasetError, match="'cifar10' has no check-set generator; datasets with one: mnist1d"):
        prepare_check_set("cifar10", tmp_path / "x.npz", 100, 1)
    with pytest.raises(ValueError, match="examples >= 1, got 0"):
        prepare_check_set("mnist1d", tmp_path / "x.npz", 0, 1)
    assert not (tmp_path / "x.npz").exists()


def _plan(config):
    return plan_studies(validate_config(config, load_schema(REPO / "config" / "schema.yaml")))["plateau"].detail


def test_the_plan_gives_each_recipe_its_data_sets_check_set():
    config = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    detail = _plan(config)
    assert detail["check_sets"] == config["plateau"]["check_sets"]
    assert detail["check_set_of"] == {"tiny_cnn": "mnist1d", "tiny_mlp": "mnist1d"}
    own_seed = copy.deepcopy(config)
    own_seed["plateau"]["check_sets"]["mnist1d"]["seed"] = config["datasets"]["mnist1d"]["seed"]
    with pytest.raises(ConfigError, match=r"check_sets.mnist1d.seed is 7, the seed of the data set itself"):
        _plan(own_seed)
    default_seed = copy.deepcopy(config)
    del default_seed["datasets"]["mnist1d"]["seed"]
    default_seed["plateau"]["check_sets"]["mnist1d"]["seed"] = 42  # mnist1d's own default
    with pytest.raises(ConfigError, match="seed is 42"):
        _plan(default_seed)
    unknown = copy.deepcopy(config)
    unknown["plateau"]["check_sets"] = {"cifar10": {"examples": 10, "seed": 1}}
    with pytest.raises(ConfigError, match="'cifar10' has no check-set generator; data sets with one: mnist1d"):
        _plan(unknown)


def test_a_check_on_the_check_set_decides_on_its_finals_and_keeps_the_test_sets_beside(tmp_path):
    short = histories(tmp_path, "e", [0.970, 0.976, 0.980], 8)
    long = histories(tmp_path, "d", [0.978, 0.978, 0.981], 16)
    finals = {"accuracy": (np.array([97.0, 97.5, 98.0]), np.array([97.1, 97.6, 98.0])),
              "cross_entropy": (np.array([0.10, 0.09, 0.08]), np.array([0.09, 0.08, 0.08]))}
    check = plateau_check("cnn", "all", short, long, 0.3,
                          check_set={"examples": 100000, "checksum": "abc", "finals": finals})
    assert check["accuracy"] == pytest.approx(97.5) and check["accuracy_double"] == pytest.approx(97.5667, abs=1e-4)
    # differences 0.1, 0.1, 0.0: SD 0.0577, SE 0.0333; +0.067 + 1.645 SE < 0.3
    assert check["change"] == pytest.approx(0.06667, abs=1e-5) and check["change_se"] == pytest.approx(0.03333, abs=1e-5)
    assert check["decision"] == "on the plateau" and check["check_examples"] == 100000
    assert check["test_change"] == pytest.approx(0.366667, abs=1e-5)  # the histories' (undecided there)
    assert check["cross_entropy"] == pytest.approx(0.09) and check["cross_entropy_double"] == pytest.approx(0.08333, abs=1e-5)
    assert check["curve"]["epochs"] == [2, 4, 6, 8]  # the curves stay the test set's
    with pytest.raises(ValueError, match="pairs run r at E with run r at 2E"):
        plateau_check("cnn", "all", short, long, 0.3, check_set={"examples": 1, "finals": {
            "accuracy": (np.array([97.0, 97.5]), np.array([97.1, 97.6, 98.0])), "cross_entropy": finals["cross_entropy"]}})


def test_check_set_finals_are_the_saved_models_accuracy_on_it(tmp_path, tiny_setup, tiny_data):
    runs = [tmp_path / f"seed{r}" for r in (1, 2)]
    train_and_save_runs("tiny", tiny_setup, "all", [1, 2], tiny_data, runs, log=lambda line: None)
    prepare_check_set("mnist1d", tmp_path / "check.npz", 300, 11)
    check = load_dataset(tmp_path / "check.npz")
    finals = check_set_finals(tiny_setup, [r / "model.pt" for r in runs], check)
    for value, ce, run in zip(finals["accuracy"], finals["cross_entropy"], runs):
        model = torch.load(run / "model.pt", weights_only=True)["state_dict"]
        net = build_from_block(tiny_setup["model"], (1, 40), 10, 0)
        net.load_state_dict(model)
        with torch.no_grad():
            logits = net.eval()(check.x_test)
        assert value == pytest.approx(100.0 * float((logits.argmax(1) == check.y_test).double().mean()), abs=1e-12)
        assert ce == pytest.approx(float(torch.nn.functional.cross_entropy(logits.double(), check.y_test)), rel=1e-5)
    assert finals["accuracy"][0] != finals["accuracy"][1]  # two runs, two models

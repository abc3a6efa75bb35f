"""No check of a check: a recipe that only trains longer inherits its base's plateau check;
each check states its precision (the standard error of the change)."""

import numpy as np
import pytest

from runvar.config import ConfigError, load_schema, max_runs, validate_config
from runvar.config.files import read_config_file
from runvar.plateau import plateau_check
from runvar.studies import StudyPlan, plan_studies, plateau_plan
from tests.test_plateau import histories

from .conftest import REPO


def test_a_setup_that_only_trains_longer_inherits_its_base_check():
    config = {"setups": {"cnn": {"epochs": 30, "optimizer": {"lr": 0.1}},
                         "cnn.epochs60": {"epochs": 60, "optimizer": {"lr": 0.1}},
                         "cnn.lr0.05.epochs60": {"epochs": 60, "optimizer": {"lr": 0.05}}}}
    plans = {"a": StudyPlan(recipes={"cnn": "cnn", "cnn.epochs60": "cnn.epochs60",
                                     "cnn.lr0.05.epochs60": "cnn.lr0.05.epochs60"})}
    plan = plateau_plan(config, plans)
    assert plans["a"].recipes == {"cnn": "cnn", "cnn.epochs60": "cnn", "cnn.lr0.05.epochs60": "cnn.lr0.05.epochs60"}
    # the longer cnn is the base's own doubled setup: one check for both, none of it
    assert plan.detail["doubled"] == {"cnn": "cnn.epochs60", "cnn.lr0.05.epochs60": "cnn.lr0.05.epochs120"}


def test_full_config_trains_no_check_of_a_check():
    config = validate_config(read_config_file(REPO / "config" / "full.yaml"), load_schema(REPO / "config" / "schema.yaml"))
    plans = plan_studies(config)
    doubled = plans["plateau"].detail["doubled"]
    assert not [s for s in doubled.values() if s.count(".epochs") > 1 or s in doubled], doubled
    recipes = {s: r for plan in plans.values() for s, r in plan.recipes.items()}
    assert recipes["cnn1d.epochs320"] == "cnn1d" and recipes["cnn1d.lr0.05.epochs320"] == "cnn1d.lr0.05"
    assert recipes["cnn1d.lr0.05.epochs320.cycles5"] == "cnn1d.lr0.05.cycles5"


def test_plateau_check_states_the_standard_error_of_its_change(tmp_path):
    short = histories(tmp_path, "e", [0.970, 0.976, 0.980], 8)
    long = histories(tmp_path, "d", [0.978, 0.978, 0.981, 0.979], 16)
    check = plateau_check("cnn", "all", short, long[:3], max_change=0.3)
    # by hand, in points: the runs' differences 0.8, 0.2, 0.1 have variance 0.14333
    assert check["change_se"] == pytest.approx(np.sqrt(0.143333 / 3), abs=1e-4)
    assert check["change_se"] == pytest.approx(0.21858, abs=1e-4)


def test_a_derived_setup_has_one_name_whichever_study_derives_it_first():
    """The quick study's snapshot recipe (cnn1d, 5 cycles, 320 epochs) is the full study's SD
    Table 7 row snapshot-all/0.1/320 (one name, trained once); the quick study checks it at 640
    epochs, the full study's grid from its 160-epoch row (a check is never checked again)."""
    schema = load_schema(REPO / "config" / "schema.yaml")
    quick = plan_studies(validate_config(read_config_file(REPO / "config" / "config.yaml"), schema))
    full = plan_studies(validate_config(read_config_file(REPO / "config" / "full.yaml"), schema))
    recipe = quick["reduction"].detail["ensembles"]["cnn1d"]["snapshot"]["setup"]
    assert recipe == "cnn1d.epochs320.cycles5"
    rows = full["reduction"].detail["ablation_lr_epochs"]["cnn1d"]
    assert [r["setup"] for r in rows if r["label"] == "snapshot-all/0.1/320"] == [recipe]
    assert quick["plateau"].detail["doubled"][recipe] == "cnn1d.epochs640.cycles5"
    assert full["plateau"].detail["doubled"]["cnn1d.cycles5"] == recipe


def quick_plans(**plateau):
    raw = read_config_file(REPO / "config" / "config.yaml")
    raw["plateau"] = {**raw["plateau"], **plateau}
    return plan_studies(validate_config(raw, load_schema(REPO / "config" / "schema.yaml")))


def test_a_recipe_family_can_take_a_larger_check_than_the_others():
    """plateau.runs_by_setup: the selection arms' checks at 40 runs (their paired SE at 10 runs is
    0.10-0.20, docs/recipes.md), every other recipe at plateau.runs."""
    runs = quick_plans(runs_by_setup={"sel.lenet.*": 40})["plateau"].detail["runs_by_recipe"]
    selection = {r for r in runs if r.startswith("sel.lenet.")}
    assert selection >= {"sel.lenet.k2", "sel.lenet.k4", "sel.lenet.k8", "sel.lenet.k16", "sel.lenet.learned"}
    assert {runs[r] for r in selection} == {40}
    assert runs["cnn1d"] == runs["linear"] == runs["cnn1d.epochs320.cycles5"] == 10


def test_a_pattern_that_matches_no_recipe_or_two_that_disagree_are_refused():
    with pytest.raises(ConfigError, match=r"plateau.runs_by_setup: 'sel.lenet.k3' matches no checked recipe; checked: cnn1d, "):
        quick_plans(runs_by_setup={"sel.lenet.k3": 40})
    with pytest.raises(ConfigError, match=r"give sel.lenet.k2 different runs"):
        quick_plans(runs_by_setup={"sel.*": 40, "sel.lenet.k2": 30})


def test_seeds_of_a_larger_check_are_training_targets():
    raw = read_config_file(REPO / "config" / "config.yaml")
    assert max_runs(raw) == 160  # studies.selection.runs
    raw["plateau"]["runs_by_setup"] = {"sel.*": 200}
    assert max_runs(raw) == 200

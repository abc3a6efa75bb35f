"""Pooled plateau checks (plateau.pools): the recipes of one family decide together on their mean
change where their changes agree, each alone where they differ."""

import json

import numpy as np
import pytest
from scipy.stats import chi2

from runvar.config import ConfigError
from runvar.plateau import pooled_check
from runvar.studies import check_pools

from .conftest import tiny_study_base


def _check(change, se, decision="undecided", runs=40):
    return {"setup": "x", "change": change, "change_se": se, "decision": decision, "converged": False,
            "max_change": 0.3, "runs": runs}


def test_a_pool_decides_on_its_members_mean_change_where_they_agree():
    checks = {"k2": _check(0.23, 0.06), "k4": _check(0.21, 0.06), "k8": _check(0.31, 0.09), "k16": _check(0.19, 0.09)}
    record = pooled_check("k8", checks, "selection")
    # mean 0.235, SE sqrt(0.06^2 + 0.06^2 + 0.09^2 + 0.09^2) / 4 = 0.03824; 0.235 + 1.645 x 0.038 = 0.298 < 0.3
    assert record["change"] == pytest.approx(0.235) and record["change_se"] == pytest.approx(0.038243, abs=1e-6)
    assert record["decision"] == "on the plateau" and record["converged"]
    assert (record["own_change"], record["own_change_se"], record["own_decision"]) == (0.31, 0.09, "undecided")
    pool = record["pool"]
    weighted = (0.23 / 0.0036 + 0.21 / 0.0036 + 0.31 / 0.0081 + 0.19 / 0.0081) / (2 / 0.0036 + 2 / 0.0081)
    q = sum(((c - weighted) / s) ** 2 for c, s in ((0.23, 0.06), (0.21, 0.06), (0.31, 0.09), (0.19, 0.09)))
    assert pool["chi_square"] == pytest.approx(q) and pool["p"] == pytest.approx(chi2.sf(q, 3)) and pool["df"] == 3
    assert pool["members"] == ["k16", "k2", "k4", "k8"] and "refused" not in pool
    # per member, the runs at which the pool would decide at its change: 40 x (1.645 SE / (0.3 - 0.235))^2
    assert record["runs_to_decide"] == int(np.ceil(40 * (1.645 * 0.038243 / 0.065) ** 2))


def test_members_whose_changes_differ_decide_alone():
    checks = {"a": _check(0.05, 0.03, "on the plateau"), "b": _check(0.60, 0.05, "not on the plateau")}
    record = pooled_check("a", checks, "ab")
    assert record["pool"]["p"] < 0.05 and "each decides alone" in record["pool"]["refused"]
    assert (record["change"], record["decision"]) == (0.05, "on the plateau")  # its own
    assert pooled_check("b", checks, "ab")["decision"] == "not on the plateau"


def test_a_recipe_without_a_pool_keeps_its_check():
    assert pooled_check("a", {"a": _check(0.1, 0.05)}) == _check(0.1, 0.05)


def test_pools_are_refused_when_they_pool_nothing_or_overlap():
    recipes = ["cnn1d", "sel.lenet.k2", "sel.lenet.k4", "sel.lenet.learned"]
    assert check_pools(recipes, {"select": "sel.lenet.k*"}) == {"select": ["sel.lenet.k2", "sel.lenet.k4"]}
    assert check_pools(recipes, {"cnn": "cnn*"}) == {"cnn": ["cnn1d"]}  # a pool of one: its own check
    with pytest.raises(ConfigError, match=r"pools.vgg: 'vgg\*' matches no checked recipe; checked: cnn1d, sel"):
        check_pools(recipes, {"vgg": "vgg*"})
    with pytest.raises(ConfigError, match="sel.lenet.k2 is in select and lenet; a recipe is in one pool at most"):
        check_pools(recipes, {"select": "sel.lenet.k*", "lenet": "sel.lenet.*"})


@pytest.mark.workflow
def test_the_workflow_decides_each_member_with_its_pool(tmp_path, run_snakemake):
    """Two recipes pooled: each one's final check (results/plateau/) holds its own check
    (results/plateau/own/) and the pool's mean change, and decides with it unless they differ."""
    config = {**tiny_study_base(), "train": {"seeds_per_job": 3},
              "setups": {"tiny_a": {"model": {"name": "mlp", "hidden": [16]}},
                         "tiny_b": {"model": {"name": "mlp", "hidden": [24]}}},
              "studies": {"depth": {"setups": ["tiny_a", "tiny_b"], "variants": ["init"], "runs": 2}},
              "plateau": {"runs": 3, "pools": {"tiny": "tiny_*"}}}
    run_snakemake(tmp_path, "--cores", "2", "results/plateau/tiny_a.json", "results/plateau/tiny_b.json", config=config)
    own = {s: json.loads((tmp_path / f"results/plateau/own/{s}.json").read_text()) for s in ("tiny_a", "tiny_b")}
    for setup in own:
        record = json.loads((tmp_path / f"results/plateau/{setup}.json").read_text())
        pool = record["pool"]
        assert pool["name"] == "tiny" and pool["members"] == ["tiny_a", "tiny_b"]
        assert (record["own_change"], record["own_change_se"]) == (own[setup]["change"], own[setup]["change_se"])
        assert pool["change"] == pytest.approx(np.mean([c["change"] for c in own.values()]))
        assert pool["change_se"] == pytest.approx(np.hypot(*[c["change_se"] for c in own.values()]) / 2)
        decided_by = own[setup] if "refused" in pool else pool
        assert (record["change"], record["decision"]) == (decided_by["change"], decided_by["decision"])

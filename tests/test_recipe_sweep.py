"""benchmarks/recipe_sweep.py trains the runs the workflow's plateau check reads: the same
setups and the same seeds, the second draw's under config/replicate.yaml."""

import pytest

from runvar.runs import setup_run_seeds

from .conftest import REPO
from .test_benchmark_docs import load

recipe_sweep = load("recipe_sweep")


def test_a_sweep_of_the_replicate_config_trains_the_second_draws_seeds():
    first = recipe_sweep.resolved_config(REPO / "config/config.yaml")["setups"]["sel.lenet.k8"]
    second = recipe_sweep.resolved_config(REPO / "config/replicate.yaml")["setups"]["sel.lenet.k8"]
    one, other = setup_run_seeds(first, "all", 3), setup_run_seeds(second, "all", 3)
    assert (one.init, one.shuffle, one.stochastic) == (3, 3, 3)
    assert (other.init, other.shuffle, other.stochastic) == (1003, 1003, 1003)
    assert setup_run_seeds(second, "bitflip", 2).init == 1001  # the fixed seeds shift too


def test_overrides_parse_into_the_setup_and_bad_keys_are_named():
    name, epochs, override = recipe_sweep.parse("sel.lenet.k8:100,200@batch_size=128,lr=1.5")
    assert (name, epochs, override) == ("sel.lenet.k8", [100, 200], {"batch_size": 128, "optimizer": {"lr": 1.5}})
    with pytest.raises(SystemExit, match="unknown override 'beta'; allowed: batch_size"):
        recipe_sweep.parse("cnn1d:10@beta=2")

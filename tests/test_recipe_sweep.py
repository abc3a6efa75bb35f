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


def test_a_sweep_reads_its_finals_on_the_check_set_as_the_workflows_check(tmp_path, tiny_setup):
    """With a check set, a sweep's finals are the runs' final models on it: the values the
    workflow's plateau check computes from the same runs' saved models."""
    from runvar.check_set import check_set_finals
    from runvar.data import load_dataset, prepare_check_set, prepare_dataset
    from runvar.runs import train_and_save_runs

    prepare_dataset("mnist1d", tmp_path / "data.npz", num_samples=600, train_split=0.8, seed=7)
    prepare_check_set("mnist1d", tmp_path / "check.npz", 400, 8)
    job = ("tiny", tiny_setup, str(tmp_path / "data.npz"), str(tmp_path / "check.npz"), 2, "all", [1, 2], 1)
    rows = recipe_sweep.train(job)
    outs = [tmp_path / f"seed{r}" for r in (1, 2)]
    train_and_save_runs("tiny", dict(tiny_setup, epochs=2), "all", [1, 2], load_dataset(tmp_path / "data.npz"), outs,
                        log=lambda line: None)
    finals = check_set_finals(tiny_setup, [o / "model.pt" for o in outs], load_dataset(tmp_path / "check.npz"))
    assert [row[3] for row in rows] == list(finals["accuracy"]) and [row[4] for row in rows] == list(finals["cross_entropy"])
    on_test = recipe_sweep.train(job[:3] + (None,) + job[4:])
    assert [row[3] for row in on_test] != [row[3] for row in rows]  # the test set's finals differ

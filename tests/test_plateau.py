"""The plateau rule: checks from run histories, the plan of doubled setups, sparse evaluation."""

import csv
import math

import numpy as np
import pytest

from runvar.plateau import plateau_check, with_plateau
from runvar.seeds import run_seeds
from runvar.studies import StudyPlan, plateau_plan
from runvar.train import train_run


def write_history(path, accuracies, ces, every=1):
    """A history.csv whose test columns are filled every ``every`` epochs and at the end."""
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["epoch", "test_accuracy", "test_cross_entropy"])
        writer.writeheader()
        for epoch, (acc, ce) in enumerate(zip(accuracies, ces), start=1):
            shown = epoch % every == 0 or epoch == len(accuracies)
            writer.writerow({"epoch": epoch, "test_accuracy": acc if shown else math.nan,
                             "test_cross_entropy": ce if shown else math.nan})
    return path


def histories(tmp_path, name, finals, epochs):
    paths = []
    for run, final in enumerate(finals):
        acc = np.linspace(0.5, final, epochs)
        paths.append(write_history(tmp_path / f"{name}{run}.csv", acc, 1.0 - acc, every=2))
    return paths


def test_plateau_check_compares_final_accuracy_at_e_and_2e(tmp_path):
    short = histories(tmp_path, "e", [0.970, 0.976, 0.980], 8)
    long = histories(tmp_path, "d", [0.978, 0.978, 0.981], 16)
    check = plateau_check("cnn", "all", short, long, max_change=0.3)
    assert check["accuracy"] == pytest.approx(97.533333, abs=1e-4)
    assert check["accuracy_double"] == pytest.approx(97.9, abs=1e-9)
    assert check["change"] == pytest.approx(0.366667, abs=1e-5) and not check["converged"]
    # SE of the change, paired by run: differences 0.8, 0.2, 0.1 points, SD 0.3786, / sqrt(3) = 0.2186;
    # 0.367 -/+ 1.645 SE straddles 0.3, so the check cannot tell, and says so
    assert check["change_se"] == pytest.approx(0.21858, abs=1e-4) and check["decision"] == "undecided"
    assert check["runs_to_decide"] == int(np.ceil(3 * (1.645 * check["change_se"] / (0.366667 - 0.3)) ** 2))
    assert (check["epochs"], check["double_epochs"]) == (8, 16)
    assert check["curve"]["epochs"] == [2, 4, 6, 8]  # only evaluated epochs
    assert check["cross_entropy_change_pct"] == pytest.approx(100 * (0.021 - 0.024667) / 0.024667, rel=1e-3)
    # on the plateau only when the change is below the threshold by 1.645 SE: 0.367 + 0.360 < 1
    assert plateau_check("cnn", "all", short, long, max_change=0.5)["decision"] == "undecided"
    wide = plateau_check("cnn", "all", short, long, max_change=1.0)
    assert wide["converged"] and wide["decision"] == "on the plateau"
    far = histories(tmp_path, "f", [0.990, 0.991, 0.992], 16)  # +1.57 points, SE 0.23
    off = plateau_check("cnn", "all", short, far, max_change=0.3)
    assert off["decision"] == "not on the plateau" and not off["converged"]


def test_the_change_is_paired_by_run(tmp_path):
    """Run r at 2E has every seed of run r at E: what the two share (a selection arm's candidate
    weights, an initialisation) cancels in the change's SE. The same finals paired otherwise
    leave that spread in, and runs that are not the same are refused."""
    short = histories(tmp_path, "e", [0.960, 0.970, 0.980], 8)
    along = plateau_check("cnn", "all", short, histories(tmp_path, "a", [0.962, 0.971, 0.983], 16), 0.3)
    across = plateau_check("cnn", "all", short, histories(tmp_path, "x", [0.983, 0.962, 0.971], 16), 0.3)
    assert along["change"] == pytest.approx(across["change"])
    # differences 0.2, 0.1, 0.3 points: SD 0.1, SE 0.0577; swapped: 2.3, -0.8, -0.9, SE 1.05
    assert along["change_se"] == pytest.approx(0.1 / np.sqrt(3), abs=1e-4) and along["decision"] == "on the plateau"
    assert across["change_se"] == pytest.approx(1.0504, abs=1e-3) and across["decision"] == "undecided"
    with pytest.raises(ValueError, match="pairs run r at E with run r at 2E"):
        plateau_check("cnn", "all", short, histories(tmp_path, "s", [0.96, 0.97], 16), 0.3)
    seeds = []
    for run in (1, 2):
        (tmp_path / "E" / f"seed{run}").mkdir(parents=True)
        (tmp_path / "D" / f"seed{3 - run}").mkdir(parents=True)
        seeds.append((write_history(tmp_path / "E" / f"seed{run}" / "history.csv", [0.97], [0.1]),
                      write_history(tmp_path / "D" / f"seed{3 - run}" / "history.csv", [0.97], [0.1])))
    with pytest.raises(ValueError, match=r"runs \['seed1', 'seed2'\] at E, \['seed2', 'seed1'\] at 2E"):
        plateau_check("cnn", "all", [e for e, _ in seeds], [d for _, d in seeds], 0.3)


def test_with_plateau_marks_a_metrics_row():
    row = with_plateau({"accuracy_sd": 0.3}, {"converged": False, "change": 1.2, "setup": "mlp"})
    assert row == {"accuracy_sd": 0.3, "converged": False, "plateau_decision": "not on the plateau",
                   "plateau_change": 1.2, "plateau_recipe": "mlp"}
    undecided = with_plateau({}, {"converged": False, "decision": "undecided", "change": 0.3, "change_se": 0.1,
                                  "max_change": 0.3, "setup": "mlp"})
    assert undecided["plateau_decision"] == "undecided" and undecided["converged"] is False
    assert (undecided["plateau_change_se"], undecided["plateau_max_change"]) == (0.1, 0.3)
    assert with_plateau({"a": 1}, None) == {"a": 1}


def test_plateau_plan_doubles_each_recipe_once():
    config = {"setups": {"cnn": {"epochs": 30, "optimizer": {"lr": 0.1}, "schedule": {"cycles": 1}},
                         "cnn.onset5": {"epochs": 30, "optimizer": {"lr": 0.1}, "onset_epoch": 5}},
              "plateau": {"runs": 2}}
    plans = {"a": StudyPlan(recipes={"cnn": "cnn", "cnn.onset5": "cnn"})}
    plan = plateau_plan(config, plans)
    assert plan.detail["doubled"] == {"cnn": "cnn.epochs60"}
    assert plan.setups["cnn.epochs60"]["epochs"] == 60 and plan.detail["runs"] == 2
    assert plan.targets[0] == "results/plateau/cnn.json" and "results/tables/plateau.md" in plan.targets


def test_sparse_evaluation_keeps_the_last_epoch_and_cycle_ends(tiny_data, tiny_setup):
    tiny_setup.update(epochs=8, evaluate_every=3, schedule={"warmup_epochs": 1, "cycles": 2})
    result = train_run(tiny_setup, tiny_data, run_seeds("init", 1), log=lambda line: None)
    evaluated = [row["epoch"] for row in result.history if not math.isnan(row["test_accuracy"])]
    assert evaluated == [3, 4, 6, 8]  # every 3rd epoch, the cycle ends (4, 8), the last
    assert result.snapshot_logits.shape[0] == 2
    dense = dict(tiny_setup, evaluate_every=1)
    again = train_run(dense, tiny_data, run_seeds("init", 1), log=lambda line: None)
    assert np.array_equal(result.logits, again.logits)  # evaluating does not touch the sources


def test_an_undecided_check_makes_its_claims_inconclusive_not_failed():
    from runvar.claims import claim_summary, gate_on_convergence

    on = {"converged": True, "plateau_decision": "on the plateau"}
    undecided = {"converged": False, "plateau_decision": "undecided"}
    off = {"converged": False, "plateau_decision": "not on the plateau"}
    assert gate_on_convergence("supported", [on, on]) == "supported"
    assert gate_on_convergence("supported", [on, undecided]) == "inconclusive: plateau undecided"
    assert gate_on_convergence("supported", [on, off]) == "inconclusive: not converged"
    tests = [{"verdict": "supported"}, {"verdict": "inconclusive: plateau undecided"}]
    assert claim_summary("1", "text", tests, "")["verdict"] == "inconclusive: plateau undecided"

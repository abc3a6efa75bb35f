"""Seed budgets (runvar.power) and their column in the sources and architectures tables."""

import math

import pytest
from statsmodels.stats.power import TTestIndPower

from runvar.stats.power import budget, detectable_difference, runs_needed, sample_sd
from runvar.sources.tables import BUDGET_HEADER, sources_frame, sources_markdown, study_frame, study_markdown


def row(acc_sd, runs=10):
    return {"runs": runs, "accuracy_sd": acc_sd, "accuracy_sd_sd": 0.1, "accuracy_sd_ci95": [0, 1],
            "cross_entropy_sd": 0.01, "cross_entropy_sd_sd": 0.002, "cross_entropy_sd_ci95": [0, 0.1],
            "pairwise_disagreement": 5.0, "pairwise_spearman": 0.95, "ensemble_delta_accuracy": 0.4,
            "accuracy_mean": 97.5}


def test_runs_needed_is_the_smallest_r_with_80_percent_power():
    power = TTestIndPower()
    for sd, delta in ((0.2, 0.1), (0.5, 0.1), (1.3, 0.5)):
        r = runs_needed(sd, delta)
        assert power.power(delta / sd, r, 0.05) >= 0.8 > power.power(delta / sd, r - 1, 0.05)
    assert runs_needed(0.0, 0.1) == 2


def test_detectable_difference_has_80_percent_power():
    difference = detectable_difference(0.3, 12)
    assert TTestIndPower().power(difference / 0.3, 12, 0.05) == pytest.approx(0.8, abs=1e-6)
    assert budget(0.3, 12, 0.1)["accuracy_sd_sample"] == pytest.approx(0.3 * math.sqrt(12 / 11))
    with pytest.raises(ValueError, match="at least 2 runs"):
        sample_sd(0.3, 1)


def test_tables_show_runs_needed_for_a_tenth_of_a_point():
    expected = runs_needed(sample_sd(0.5, 10), 0.1)
    text = sources_markdown(sources_frame({"init": row(0.5), "none": row(0.0)}), "Sources")
    assert f"| {BUDGET_HEADER} |" in text
    assert f"| 97.50 | {expected} |" in text and "| 97.50 | 2 |" in text
    text = study_markdown(study_frame({("cnn", "init"): row(0.5)}), "Architectures")
    assert f"| 97.50 | {expected} |" in text
    assert sources_frame({"init": row(0.5)})["runs_to_detect_0.1"].tolist() == [expected]

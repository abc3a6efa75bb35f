"""benchmarks/robust_spread.py: a row's SD against robust SDs that one bad run does not move."""

import numpy as np
import pytest

from .test_benchmark_docs import load

robust_spread = load("robust_spread")


def test_one_bad_run_doubles_the_sd_but_not_the_robust_sds():
    bulk = 98.0 + 0.12 * np.random.default_rng(0).standard_normal(39)
    with_bad = np.append(bulk, 96.5)  # one run 1.5 points low, as in the second draw's shuffle row
    assert with_bad.std() > 2 * bulk.std()
    for before, after in zip(robust_spread.robust_sds(bulk), robust_spread.robust_sds(with_bad)):
        assert after == pytest.approx(before, rel=0.15)
        assert before == pytest.approx(0.12, rel=0.35)


def test_robust_sds_of_known_values():
    mad, iqr = robust_spread.robust_sds(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
    assert mad == pytest.approx(1.4826 * 1.0)
    assert iqr == pytest.approx((4.0 - 2.0) / 1.349)


def test_trimmed_sd_sets_aside_each_end():
    values = np.array([[1.0, 2.0, 3.0, 4.0, 100.0, -50.0]])
    assert robust_spread.trimmed_sd(values, 1)[0] == pytest.approx(np.std([1.0, 2.0, 3.0, 4.0]))
    assert robust_spread.trimmed_sd(values, 0)[0] == pytest.approx(values.std())

"""benchmarks/power_table.py: the power calculation behind R (docs/protocol.md, Replication and power)."""

from math import sqrt

import pytest

from .test_benchmark_docs import load

power_table = load("power_table")


@pytest.mark.parametrize("runs, power", [(10, 0.10), (24, 0.83), (30, 0.92), (40, 0.98)])
def test_claim_one_power_at_a_ratio_of_one_is_the_documented_figure(runs, power):
    se = power_table.log_ratio_se(runs - 1, runs - 1)
    assert se == pytest.approx(sqrt(1 / (runs - 1)))
    assert power_table.power_inside(1.0, se) == pytest.approx(power, abs=0.005)


def test_a_ratio_on_its_margin_decides_less_than_half_the_time():
    se = power_table.log_ratio_se(39, 39)
    assert power_table.power_inside(2.0, se) < 0.05
    assert power_table.power_above(0.5, se) == pytest.approx(0.025, abs=0.001)


def test_two_draws_agree_by_indecision_as_well_as_by_decision():
    # R = 24 has more power than R = 10 but its two draws agree less often: the point of the section
    assert power_table.agreement(0.10) == pytest.approx(0.82)
    assert power_table.agreement(0.83) == pytest.approx(0.83 ** 2 + 0.17 ** 2)
    assert power_table.agreement(0.98) > 0.95 > power_table.agreement(0.83)


def test_claim_two_pooled_flips_against_all_at_forty_runs():
    se = power_table.log_ratio_se(36, 39)
    assert se == pytest.approx(sqrt(1 / 72 + 1 / 78))
    assert power_table.power_above(0.88, se) == pytest.approx(0.93, abs=0.005)
    assert power_table.power_above(0.88, power_table.log_ratio_se(36, 9)) == pytest.approx(0.57, abs=0.005)


def test_a_thin_tail_takes_the_sd_tests_power_but_not_the_bulk_sds():
    # the draws' tail: 1 run in 100 about 10 SDs low; at R = 80 most rows draw one
    sd = power_table.simulated_power(lambda v: v.std(axis=-1), 80, 0.01, trials=60, resamples=300)
    bulk = power_table.simulated_power(power_table.bulk_sd, 80, 0.01, trials=60, resamples=300)
    normal_sd = power_table.simulated_power(lambda v: v.std(axis=-1), 80, 0.0, trials=60, resamples=300)
    assert normal_sd > 0.9 and bulk > 0.9 and sd < 0.5


def test_the_bulk_sd_keeps_about_nine_tenths_of_the_sds_efficiency_on_normal_runs():
    assert power_table.bulk_efficiency(rows=4000) == pytest.approx(0.9, abs=0.04)

"""Claims 1 and 2 compare bulk SDs: a rare bad run must not decide which source looks noisier."""

import numpy as np
import pytest

from runvar.claims import measure, pooled_within_row, ratio_with_interval, resampled_measure
from runvar.sources.claims import sources_claims, tail_note
from runvar.stats.spread import bulk_sd, outside_bulk

from .test_claims_tables import claim_row


def biweight_by_hand(values, c=9.0):
    """Tukey's biweight midvariance written out run by run (Mosteller and Tukey 1977), square-rooted."""
    values = [float(v) for v in values]
    median = float(np.median(values))
    mad = float(np.median([abs(v - median) for v in values]))
    top = bottom = 0.0
    for v in values:
        u = (v - median) / (c * mad)
        if abs(u) < 1:
            top += (v - median) ** 2 * (1 - u * u) ** 4
            bottom += (1 - u * u) * (1 - 5 * u * u)
    return (len(values) * top) ** 0.5 / abs(bottom)


def test_bulk_sd_is_the_biweight_and_the_sd_of_normal_runs():
    rng = np.random.default_rng(5)
    runs = 98.0 + 0.12 * rng.normal(size=40)
    assert bulk_sd(runs) == pytest.approx(biweight_by_hand(runs), rel=1e-12)
    batch = rng.normal(size=(3, 25))
    assert bulk_sd(batch) == pytest.approx([biweight_by_hand(row) for row in batch], rel=1e-12)
    # the SD for normal data: over many rows of 40 the two agree within a few percent
    many = rng.normal(size=(4000, 40))
    assert np.mean(bulk_sd(many)) / np.mean(many.std(axis=1)) == pytest.approx(1.0, abs=0.03)
    assert bulk_sd(5.0 + 3.0 * runs) == pytest.approx(3.0 * bulk_sd(runs), rel=1e-12)
    assert bulk_sd([97.5] * 10) == 0.0 and outside_bulk([97.5] * 10) == 0


def test_a_bad_run_doubles_the_sd_but_not_the_bulk_sd():
    rng = np.random.default_rng(7)
    runs = 98.0 + 0.12 * rng.normal(size=39)
    with_bad = np.append(runs, 96.5)  # 1.5 points low, as the draws' bad runs
    assert with_bad.std() > 1.8 * runs.std()
    assert bulk_sd(with_bad) == pytest.approx(bulk_sd(runs), rel=0.1)
    assert (outside_bulk(runs), outside_bulk(with_bad)) == (0, 1)


def sources_with_a_bad_run():
    """Five rows of 40 runs spread alike (SD 0.12); `augment` drew one run 1.5 points low."""
    rng = np.random.default_rng(11)
    rows = {}
    for variant in ("init", "shuffle", "augment", "stochastic", "all"):
        acc = 98.0 + 0.12 * rng.normal(size=40)
        ce = 0.06 + 0.002 * rng.normal(size=40)
        if variant == "augment":
            acc[17], ce[17] = 96.5, 0.09
        pairs = len(np.triu_indices(40, k=1)[0])
        rows[variant] = claim_row(acc, ce, np.full(pairs, 1.5), np.full(pairs, 0.9), np.full(pairs, 0.1))
    return rows


def test_claim_1_reads_the_bulk_where_the_sd_ratio_reads_which_row_drew_a_bad_run():
    rows = sources_with_a_bad_run()
    sd_ratio, (sd_low, sd_high) = ratio_with_interval(rows["augment"], rows["all"], "accuracy_sd", resamples=2000)
    assert sd_ratio > 1.5 and sd_high > 2.0  # SD's statistic: its interval crosses the margin
    _, tests = sources_claims(rows, margin=(0.5, 2.0), resamples=2000)
    claim1 = {(t["test"], t["measure"]): t for t in tests if t["claim"] == "1"}
    augment = claim1[("augment / all", "accuracy bulk SD")]
    assert augment["statistic"] == pytest.approx(bulk_sd(rows["augment"]["per_run"]["accuracy"])
                                                 / bulk_sd(rows["all"]["per_run"]["accuracy"]))
    assert 0.5 < augment["ci95_low"] and augment["ci95_high"] < 2.0 and augment["verdict"] == "supported"
    note = tail_note(rows)
    assert "augment" in note and "1 of 40 (96.50)" in note and "init" in note and note.count("0 of 40") == 4


def test_resampled_and_pooled_bulk_sds_are_the_bulk_sds_of_what_they_resample_and_pool():
    rows = sources_with_a_bad_run()
    idx = np.random.default_rng(0).integers(0, 40, size=(50, 40))
    acc = np.asarray(rows["augment"]["per_run"]["accuracy"])
    assert resampled_measure(rows["augment"], "accuracy_bulk_sd", idx) == pytest.approx(bulk_sd(acc[idx]), rel=1e-12)
    pooled = pooled_within_row([rows["init"], rows["shuffle"]])
    expected = np.sqrt((bulk_sd(rows["init"]["per_run"]["accuracy"]) ** 2
                        + bulk_sd(rows["shuffle"]["per_run"]["accuracy"]) ** 2) / 2)
    assert measure(pooled, "accuracy_bulk_sd") == pytest.approx(expected, rel=1e-12)

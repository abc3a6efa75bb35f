"""Claims that replicate: runs to decide (the projection of an interval), and claim 2 on bit
flips pooled within several base runs (the sources' and the language study's)."""

import math

import numpy as np
import pytest

from runvar.claims import (
    at_least_verdict, equivalence_verdict, pooled_within_row, projected_interval, ratio_with_interval, runs_to_decide,
)
from runvar.language.report import language_claims
from runvar.selection.stats import reduction_runs_to_decide
from runvar.sources.claims import bases_note, sources_claims

from .test_claims_tables import claim_row, sources_rows


def test_an_interval_shrinks_as_one_over_root_r_minus_one_around_its_statistic():
    # R = 10 -> R' = 37: each side shrinks by sqrt(9 / 36) = 1/2, on the log scale for a ratio
    low, high = projected_interval(0.8, (0.4, 1.6), math.sqrt(9 / 36), log_scale=True)
    assert low == pytest.approx(0.8 * math.sqrt(0.4 / 0.8)) and high == pytest.approx(0.8 * math.sqrt(1.6 / 0.8))
    assert projected_interval(20.0, (-10.0, 30.0), 0.5, log_scale=False) == pytest.approx((5.0, 25.0))


def test_runs_to_decide_against_a_hand_computed_case():
    equivalence = lambda ci: equivalence_verdict(ci, (0.5, 2.0))  # noqa: E731
    # 0.8 [0.4, 1.6] from R = 10: inside [0.5, 2] once the lower side ln 2 shrinks to ln(0.8 / 0.5)
    # = 0.470 and the upper ln 2 to ln(2 / 0.8) = 0.916: factor 0.470 / 0.693 = 0.678,
    # R' = 1 + 9 / 0.678^2 = 20.6 -> 21
    assert runs_to_decide(0.8, (0.4, 1.6), 10, equivalence, log_scale=True) == 21
    assert equivalence(projected_interval(0.8, (0.4, 1.6), math.sqrt(9 / 19), True)) == "inconclusive"  # R' = 20
    assert equivalence(projected_interval(0.8, (0.4, 1.6), math.sqrt(9 / 20), True)) == "supported"  # R' = 21
    # already decided: fewer runs would still decide; wholly outside: "not supported" decides too
    assert runs_to_decide(1.0, (0.8, 1.25), 10, equivalence, log_scale=True) < 10
    assert runs_to_decide(0.2, (0.1, 0.6), 10, lambda ci: at_least_verdict(ci, 0.5), log_scale=True) == 14
    # an effect on its margin: no number of runs decides
    assert runs_to_decide(0.5, (0.25, 1.0), 10, lambda ci: at_least_verdict(ci, 0.5), log_scale=True) is None


def test_sm_arm_runs_to_decide_on_the_sd_ratio():
    # reduction 30% [-20%, 55%]: ratio 0.7 [0.45, 1.2]; consistent once the ratio's upper end
    # falls below 1: ln(1.2 / 0.7) / ln(1 / 0.7) = 1.511, R' = 1 + 9 x 1.511^2 = 21.5 -> 22
    assert reduction_runs_to_decide(0.30, (-0.20, 0.55), 10) == 22


def _row(values, pair_value):
    values = np.asarray(values, dtype=np.float64)
    pairs = len(np.triu_indices(len(values), k=1)[0])
    return claim_row(values, 0.01 * values, np.full(pairs, pair_value), np.full(pairs, 0.99), np.full(pairs, 0.1))


def test_pooled_within_bases_is_the_spread_around_each_base_not_between_bases():
    # two bases whose flips spread by SD 1 each, 100 points apart: within-base SD 1, not 50
    flips = np.random.default_rng(0).permutation(np.tile([0.0, 2.0], 10))
    a, b = _row(flips, 1.0), _row(100.0 + flips[::-1], 3.0)
    pooled = pooled_within_row([a, b])
    assert pooled["accuracy_sd"] == pytest.approx(1.0) and pooled["pairwise_disagreement"] == pytest.approx(2.0)
    assert (pooled["runs"], pooled["base_runs"]) == (40, 2)
    # the two-stage bootstrap resamples within bases: the interval of pooled / a stays near 1
    ratio, (low, high) = ratio_with_interval(pooled, a, "accuracy_sd", resamples=2000)
    assert ratio == pytest.approx(1.0) and 0.3 < low <= 1.0 <= high < 3.5


def test_claim_2_uses_the_pooled_bases_when_given():
    rows = sources_rows()
    bases = [sources_rows(bitflip_scale=s)["bitflip"] for s in (0.9, 1.1, 1.0)]
    claims, tests = sources_claims(rows, margin=(0.5, 2.0), resamples=1000, bases=bases)
    claim2 = [t for t in tests if t["claim"] == "2"]
    assert {t["test"] for t in claim2} == {"bitflip (4 bases) / all", "bitflip (4 bases) / init"}
    sd = next(t for t in claim2 if t["test"] == "bitflip (4 bases) / all" and t["measure"] == "accuracy bulk SD")
    assert sd["statistic"] == pytest.approx(math.sqrt((1 + 0.81 + 1.21 + 1) / 4))
    assert sd["runs"] == 60 and sd["runs_to_decide"] is not None
    _, single = sources_claims(rows, margin=(0.5, 2.0), resamples=1000)
    assert {t["test"] for t in single if t["claim"] == "2"} == {"bitflip / all", "bitflip / init"}


def _language_row(ppl, disagreement, delta):
    ppl = np.asarray(ppl, dtype=np.float64)
    pairs = len(np.triu_indices(len(ppl), k=1)[0])
    return {"setup": "lm", "runs": len(ppl), "ppl_mean": float(ppl.mean()), "ppl_sd": float(ppl.std()),
            "pairwise_disagreement": disagreement, "ensemble_delta_ppl": delta, "converged": True,
            "per_run": {"ppl": list(ppl)},
            "pairs": {"pairwise_disagreement": [disagreement] * pairs, "ensemble_delta_ppl": [delta] * pairs}}


def test_language_claim_2_pools_the_flips_within_bases():
    noise = np.random.default_rng(5).normal(size=40)
    rows = {"init": _language_row(50 + noise, 10.0, -1.0), "stochastic": _language_row(50 + noise, 10.0, -1.0),
            "all": _language_row(50 + noise, 10.0, -1.0),
            "bitflip": _language_row(50 + 0.1 * noise, 1.0, -0.1)}  # base 1: PPL SD a tenth of all's
    # bases 2-4 (10 flips each) spread as much as all, around bases 5, 10 and 15 PPL away
    bases = [_language_row(50 + b + noise[:10] / noise[:10].std() * np.std(noise), 9.0, -0.9) for b in (5, 10, 15)]
    claims, tests = language_claims(rows, (0.5, 2.0), resamples=2000, bases=bases)
    claim2 = {(t["test"], t["measure"]): t for t in tests if t["claim"] == "2"}
    assert set(claim2) == {(f"bitflip (4 bases) / {ref}", m) for ref in ("all", "init")
                           for m in ("PPL SD", "disagreement", "ensemble PPL delta")}
    sd = claim2[("bitflip (4 bases) / all", "PPL SD")]
    # the spread within each base, pooled (sqrt of the mean variance), not the 15 PPL between bases
    assert sd["statistic"] == pytest.approx(math.sqrt((0.01 + 1 + 1 + 1) / 4), rel=1e-9)
    assert sd["runs"] == 40 and claim2[("bitflip (4 bases) / all", "disagreement")]["statistic"] == pytest.approx(
        (1.0 + 27.0) / 4 / 10.0)
    # around base 1 alone, the flips read a tenth of all's spread: claim 2 not supported
    _, single = language_claims(rows, (0.5, 2.0), resamples=2000)
    one = next(t for t in single if t["test"] == "bitflip / all" and t["measure"] == "PPL SD")
    assert one["statistic"] == pytest.approx(0.1) and one["verdict"] == "not supported"
    assert bases_note([rows["bitflip"], *bases], "ppl_sd", "PPL SD").startswith(
        "Claim 2 pools the bit flips around 4 base runs (40, 10, 10, 10 flips; ")

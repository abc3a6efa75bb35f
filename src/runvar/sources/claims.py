"""SD's claims 1 and 2 decided by effect sizes with bootstrap intervals (docs/protocol.md, Claims).

Every test is a ratio of a variability measure between two variants, with a bootstrap 95%
interval over runs (:func:`runvar.claims.ratio_with_interval`), against a margin from the
config (``claims.margin``, default [0.5, 2]: "within a factor of 2"):

- claim 1 (sources have similar effects): each single source's accuracy SD and CE SD over
  ``all``'s; supported when the interval lies inside the margin (equivalence), not supported
  when it lies wholly outside;
- claim 2 (one bit changes as much as all sources): bitflip over ``all`` and over ``init`` on
  accuracy SD, CE SD, disagreement, 1 - Spearman and ensemble gain; supported when the
  interval lies at or above the margin's lower end, not supported when wholly below.

A claim's verdict combines its tests (:func:`runvar.claims.overall_verdict`); any row whose
runs did not reach their plateau makes it ``inconclusive: not converged``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..claims import CLAIM_1, CLAIM_2, CLAIM_MARGIN, MEASURES, claim_summary, ratio_test
from ..metrics import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED
from ..seeds import SINGLE_SOURCE_VARIANTS


def sources_claims(rows: Mapping[str, Mapping], margin: Sequence[float] = CLAIM_MARGIN,
                   resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> tuple[list[dict], list[dict]]:
    """(per-claim verdicts, per-test rows) of claims 1 and 2 from the metrics rows by variant."""
    margin = (float(margin[0]), float(margin[1]))
    singles = [v for v in SINGLE_SOURCE_VARIANTS if v in rows]
    tests1: list[dict] = []
    if "all" in rows:
        tests1 = [ratio_test("1", rows, v, "all", key, margin, True, resamples, seed)
                  for v in singles for key in ("accuracy_sd", "cross_entropy_sd")]
    tests2: list[dict] = []
    if "bitflip" in rows:
        tests2 = [ratio_test("2", rows, "bitflip", ref, key, margin, False, resamples, seed)
                  for ref in ("all", "init") if ref in rows for key, _, _ in MEASURES]
    claims = [
        claim_summary("1", CLAIM_1, tests1, "needs `all` and single-source variants"),
        claim_summary("2", CLAIM_2, tests2, "needs `bitflip` and `all` or `init`"),
    ]
    return claims, tests1 + tests2

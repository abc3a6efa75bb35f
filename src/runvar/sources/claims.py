"""SD's claims 1 and 2 decided by effect sizes with bootstrap intervals (docs/protocol.md, Claims).

Every test is a ratio of a variability measure between two variants, with a bootstrap 95%
interval over runs (:func:`runvar.claims.ratio_with_interval`), against a margin from the
config (``claims.margin``, default [0.5, 2]: "within a factor of 2"):

- claim 1 (sources have similar effects): each single source's accuracy and CE bulk SD over
  ``all``'s; supported when the interval lies inside the margin (equivalence), not supported
  when it lies wholly outside;
- claim 2 (one bit changes as much as all sources): bitflip over ``all`` and over ``init`` on
  accuracy and CE bulk SD, disagreement, 1 - Spearman and ensemble gain; supported when the
  interval lies at or above the margin's lower end, not supported when wholly below. With bit
  flips around several base runs (``studies.sources.bitflip_bases``), claim 2 uses their spread
  pooled within bases (:func:`runvar.claims.pooled_within_row`): around one base the spread
  depends on that base (docs/protocol.md), while SD's single-base row stays in the table.

The spreads are bulk SDs (:mod:`runvar.stats.spread`), not SDs: about 1 run in 100 lands 1-1.5
points below its row (every source draws them), and a row of 40 that draws one doubles its SD,
so an SD ratio reads which row drew it and two draws decide it differently (docs/replication.md).
The table keeps SD's SD per row, and :func:`tail_note` says which runs the bulk sets aside.

A claim's verdict combines its tests (:func:`runvar.claims.overall_verdict`); any row whose
runs did not reach their plateau makes it ``inconclusive: not converged``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..claims import (CLAIM_1, CLAIM_2, CLAIM_MARGIN, MEASURES, claim_summary, pooled_within_row, ratio_test,
                      with_pooled_flips)
from ..metrics import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED
from ..seeds import SINGLE_SOURCE_VARIANTS
from ..stats.spread import BIWEIGHT_C, bulk_sd, outside_bulk


def bases_note(base_rows: Sequence[Mapping], sd: str = "accuracy_sd", sd_label: str = "accuracy SD") -> str:
    """The claims table's paragraph on the bit flips' bases: each base's SD (``sd``, e.g.
    ``ppl_sd`` for the language rows) and disagreement, and the pooled values claim 2 uses.

    >>> print(bases_note([{"setup": "c", "runs": 3, "accuracy_sd": 0.1, "pairwise_disagreement": 1.0},
    ...                   {"setup": "c.base2", "runs": 3, "accuracy_sd": 0.3, "pairwise_disagreement": 2.0}]), end="")
    Claim 2 pools the bit flips around 2 base runs (3 flips each; c, c.base2: every seed the base's): accuracy SD per base 0.100, 0.300 (pooled within bases 0.224); disagreement 1.00, 2.00 (pooled 1.50). SD's single-base row (the table's `bitflip`) is base 1: around one base the spread depends on that base.
    """
    pooled = pooled_within_row(base_rows)
    sds = ", ".join(f"{float(r[sd]):.3f}" for r in base_rows)
    dis = ", ".join(f"{float(r['pairwise_disagreement']):.2f}" for r in base_rows)
    flips = sorted({int(r["runs"]) for r in base_rows})
    each = f"{flips[0]} flips each" if len(flips) == 1 else f"{', '.join(str(int(r['runs'])) for r in base_rows)} flips"
    return (f"Claim 2 pools the bit flips around {len(base_rows)} base runs ({each}; "
            f"{', '.join(str(r['setup']) for r in base_rows)}: every seed the base's): {sd_label} per "
            f"base {sds} (pooled within bases {pooled[sd]:.3f}); disagreement {dis} (pooled "
            f"{pooled['pairwise_disagreement']:.2f}). SD's single-base row (the table's `bitflip`) is base 1: "
            "around one base the spread depends on that base.\n")


def tail_note(rows: Mapping[str, Mapping]) -> str:
    """The claims table's paragraph on each row's accuracy SD, bulk SD and the runs the bulk
    sets aside (rows with per-run accuracies, in the table's order).

    >>> rows = {"init": {"runs": 5, "accuracy_sd": 0.55, "per_run": {"accuracy": [98.0, 98.1, 97.9, 98.0, 96.6]}},
    ...         "all": {"runs": 5, "accuracy_sd": 0.07, "per_run": {"accuracy": [98.0, 98.1, 97.9, 98.0, 98.1]}}}
    >>> print(tail_note(rows), end="")
    Claims 1 and 2 compare bulk SDs (Tukey's biweight, c = 9: the SD for normal runs, runs more than 9 median absolute deviations from the median set aside); SD's SD is the table's. Accuracy SD / bulk SD (%), runs set aside: init 0.550 / 0.080, 1 of 5 (96.60); all 0.070 / 0.079, 0 of 5.
    """
    cells = []
    for variant, row in rows.items():
        if "per_run" not in row:
            continue
        acc = np.asarray(row["per_run"]["accuracy"], dtype=np.float64)
        median, aside = float(np.median(acc)), outside_bulk(acc)
        far = sorted(acc, key=lambda a: -abs(a - median))[:aside]
        listed = f" ({', '.join(f'{a:.2f}' for a in far)})" if aside else ""
        cells.append(f"{variant} {float(row['accuracy_sd']):.3f} / {bulk_sd(acc):.3f}, {aside} of {len(acc)}{listed}")
    return (f"Claims 1 and 2 compare bulk SDs (Tukey's biweight, c = {BIWEIGHT_C:g}: the SD for normal runs, runs more "
            f"than {BIWEIGHT_C:g} median absolute deviations from the median set aside); SD's SD is the table's. "
            f"Accuracy SD / bulk SD (%), runs set aside: {'; '.join(cells)}.\n")


def sources_claims(rows: Mapping[str, Mapping], margin: Sequence[float] = CLAIM_MARGIN,
                   resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                   bases: Sequence[Mapping] = ()) -> tuple[list[dict], list[dict]]:
    """(per-claim verdicts, per-test rows) of claims 1 and 2 from the metrics rows by variant;
    ``bases``: the bitflip rows of bases 2..B (base 1 is ``rows["bitflip"]``), pooled for claim 2."""
    margin = (float(margin[0]), float(margin[1]))
    rows, flips = with_pooled_flips(rows, bases)
    singles = [v for v in SINGLE_SOURCE_VARIANTS if v in rows]
    tests1: list[dict] = []
    if "all" in rows:
        tests1 = [ratio_test("1", rows, v, "all", key, margin, True, resamples, seed)
                  for v in singles for key in ("accuracy_bulk_sd", "cross_entropy_bulk_sd")]
    tests2: list[dict] = []
    if "bitflip" in rows:
        tests2 = [ratio_test("2", rows, flips, ref, key, margin, False, resamples, seed)
                  for ref in ("all", "init") if ref in rows for key, _, _ in MEASURES]
    claims = [
        claim_summary("1", CLAIM_1, tests1, "needs `all` and single-source variants"),
        claim_summary("2", CLAIM_2, tests2, "needs `bitflip` and `all` or `init`"),
    ]
    return claims, tests1 + tests2

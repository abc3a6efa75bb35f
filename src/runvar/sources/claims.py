"""SD's claims 1 and 2 and this run's verdict on each, from the sources table's rows."""

from __future__ import annotations

from collections.abc import Mapping

from ..claims import SD_METRICS, combine, format_with_interval, interval
from ..seeds import SINGLE_SOURCE_VARIANTS

CLAIM_1 = "Sources of nondeterminism have similar effects on variability"
CLAIM_2 = "A one-bit change to the initial weights produces as much variability as any source"


def claim_sources_similar(rows: Mapping[str, Mapping]) -> dict[str, str]:
    """Claim 1: the largest and smallest single-source SD have overlapping bootstrap 95%
    intervals (for accuracy SD and for cross-entropy SD)."""
    singles = [v for v in SINGLE_SOURCE_VARIANTS if v in rows]
    if len(singles) < 2:
        return {"claim": CLAIM_1, "verdict": "not tested", "statistic": "needs >= 2 single-source variants"}
    verdicts, stats = [], []
    for key, label, fmt in SD_METRICS:
        hi = max(singles, key=lambda v: rows[v][key])
        lo = min(singles, key=lambda v: rows[v][key])
        overlap = interval(rows[lo], key)[1] >= interval(rows[hi], key)[0]
        ratio = rows[hi][key] / rows[lo][key] if rows[lo][key] > 0 else float("inf")
        verdicts.append(overlap)
        stats.append(
            f"{label}: largest {format_with_interval(hi, rows[hi], key, fmt)}, "
            f"smallest {format_with_interval(lo, rows[lo], key, fmt)}, "
            f"ratio {ratio:.2f}, 95% intervals {'overlap' if overlap else 'do not overlap'}"
        )
    return {"claim": CLAIM_1, "verdict": combine(verdicts), "statistic": "; ".join(stats)}


def claim_bitflip_as_much(rows: Mapping[str, Mapping]) -> dict[str, str]:
    """Claim 2: the bitflip SD reaches the largest single-source SD (its bootstrap 95% upper
    bound is at least the largest single source's lower bound), for accuracy and CE SD."""
    singles = [v for v in SINGLE_SOURCE_VARIANTS if v in rows]
    if "bitflip" not in rows or not singles:
        return {"claim": CLAIM_2, "verdict": "not tested", "statistic": "needs bitflip and a single-source variant"}
    verdicts, stats = [], []
    for key, label, fmt in SD_METRICS:
        hi = max(singles, key=lambda v: rows[v][key])
        reaches = interval(rows["bitflip"], key)[1] >= interval(rows[hi], key)[0]
        verdicts.append(reaches)
        ratio = rows["bitflip"][key] / rows[hi][key] if rows[hi][key] > 0 else float("inf")
        stats.append(
            f"{label}: {format_with_interval('bitflip', rows['bitflip'], key, fmt)} vs largest source "
            f"{format_with_interval(hi, rows[hi], key, fmt)}, ratio {ratio:.2f}"
        )
    return {"claim": CLAIM_2, "verdict": combine(verdicts), "statistic": "; ".join(stats)}


def sources_claims(rows: Mapping[str, Mapping]) -> list[dict[str, str]]:
    """Verdicts on claims 1 and 2 from the sources table's metrics rows."""
    return [claim_sources_similar(rows), claim_bitflip_as_much(rows)]

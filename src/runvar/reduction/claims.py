"""SD's claim 3 and this run's verdict: snapshot ensembles and TTA reduce variability.

Statistic: the variability reduction % (:func:`runvar.reduction.ensembles.variability_reduction`, the
RE's mean of five per-metric relative reductions) of every method against the single model,
plus the accuracy and cross-entropy SD of the snapshot ensemble against the single model with
their bootstrap 95% intervals. A method reduces variability when its mean reduction is > 0;
the claim is supported when every method does, not supported when none does, else mixed.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..claims import SD_METRICS, combine, format_with_interval
from .ensembles import variability_reduction

CLAIM_3 = "Snapshot ensembles and test-time augmentation reduce run-to-run variability"


def claim_reduction(single: Mapping, methods: Mapping[str, Mapping], snapshot: str | None = None) -> dict[str, str]:
    """Verdict on claim 3 from the single model's metrics row and each method's (label -> row);
    ``snapshot`` names the snapshot-ensemble method, whose SDs are quoted with intervals."""
    if not methods:
        return {"claim": CLAIM_3, "verdict": "not tested", "statistic": "needs snapshot or TTA rows"}
    reductions = {label: variability_reduction(row, single)["mean"] for label, row in methods.items()}
    stats = [", ".join(f"{label} {value:.1f}%" for label, value in reductions.items())]
    stats[0] = "variability reduction vs single model: " + stats[0]
    if snapshot is not None:
        for key, label, fmt in SD_METRICS:
            stats.append(f"{label}: {format_with_interval('single', single, key, fmt)} vs "
                         f"{format_with_interval('snapshot', methods[snapshot], key, fmt)}")
    verdict = combine([value > 0 for value in reductions.values()])
    return {"claim": CLAIM_3, "verdict": verdict, "statistic": "; ".join(stats)}

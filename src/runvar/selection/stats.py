"""Statistics of the weight-selection study (SM): SD per group and SD reduction.

:func:`sd_reduction_table` turns per-run accuracies of each (model, k) and of learned
weights into the SD per group (population SD, bootstrap error bar) and the SD reduction
of each k against learned weights, 1 - SD_k / SD_learned, with a bootstrap 95% interval,
and says whether that interval is consistent with SM's claimed 25-40% reduction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..claims import SM_CLAIMED_REDUCTION, range_verdict, runs_to_decide
from ..metrics import BOOTSTRAP_RESAMPLES, bootstrap_sds, population_sd



@dataclass(frozen=True)
class SDReduction:
    """One (model, k) group against its learned-weights baseline; SDs in accuracy units given."""

    model: str
    k: int
    runs: int
    mean: float
    sd: float
    sd_error: float
    learned_runs: int
    learned_sd: float
    learned_sd_error: float
    reduction: float
    reduction_ci95: tuple[float, float]
    verdict: str
    #: Runs per group that would decide the verdict at the observed reduction (a planning figure).
    runs_to_decide: int | None = None


def _ratio_of_sds(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    # 0/0 (both groups' resamples constant) counts as equal variability, x/0 as infinitely worse.
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = numerator / denominator
    ratio[(numerator == 0) & (denominator == 0)] = 1.0
    return ratio


def claim_verdict(interval: tuple[float, float], claim: tuple[float, float] = SM_CLAIMED_REDUCTION) -> str:
    """Verdict on SM's claimed reduction range from a reduction's 95% interval
    (:func:`runvar.claims.range_verdict`)."""
    return range_verdict(interval, claim)


def reduction_runs_to_decide(reduction: float, interval: tuple[float, float], runs: int) -> int | None:
    """:func:`runvar.claims.runs_to_decide` of an SD reduction: the ratio SD_k / SD_learned
    = 1 - reduction shrinks on the log scale; decided = consistent, below or above SM's range.

    >>> reduction_runs_to_decide(0.30, (-0.20, 0.55), 10)  # ln(1.2 / 0.7) / ln(1 / 0.7) = 1.511: 1 + 9 x 1.511^2 = 21.5
    22
    """
    ratio, ci = 1.0 - reduction, (1.0 - interval[1], 1.0 - interval[0])
    return runs_to_decide(ratio, ci, runs, lambda c: claim_verdict((1.0 - c[1], 1.0 - c[0])), log_scale=True)


def sd_reduction(
    selected: Sequence[float],
    learned: Sequence[float],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> tuple[float, tuple[float, float]]:
    """1 - SD(selected) / SD(learned) (population SDs) and its bootstrap 95% interval.

    Each bootstrap resample draws the runs of each group independently with replacement from
    one :func:`numpy.random.default_rng` (``seed``). The interval is the 2.5 / 97.5 empirical
    quantiles (no interpolation, so resamples with a zero learned SD, whose reduction is
    -inf, bound the interval only when they are more than 2.5% of the resamples).
    """
    selected = np.asarray(selected, dtype=np.float64)
    learned = np.asarray(learned, dtype=np.float64)
    for name, values in (("selected", selected), ("learned", learned)):
        if values.ndim != 1 or len(values) < 2:
            raise ValueError(
                f"{name} accuracies must be a 1-D sequence of at least 2 runs; got shape {values.shape}"
            )
    learned_sd = population_sd(learned)
    if learned_sd == 0:
        raise ValueError("learned-weights accuracies have zero SD: the SD reduction is undefined")
    rng = np.random.default_rng(seed)
    boot_selected = selected[rng.integers(0, len(selected), (resamples, len(selected)))].std(axis=1)
    boot_learned = learned[rng.integers(0, len(learned), (resamples, len(learned)))].std(axis=1)
    boot = 1.0 - _ratio_of_sds(boot_selected, boot_learned)
    low, high = np.quantile(boot, [0.025, 0.975], method="inverted_cdf")
    return 1.0 - population_sd(selected) / learned_sd, (float(low), float(high))


def sd_reduction_table(
    selected: Mapping[tuple[str, int], Sequence[float]],
    learned: Mapping[str, Sequence[float]],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> list[SDReduction]:
    """Rows per (model, k) of ``selected`` (run accuracies), each against ``learned[model]``.

    SD error bars are the SD of bootstrap SDs (:func:`runvar.metrics.bootstrap_sds`).
    """
    rows = []
    for (model, k), values in sorted(selected.items()):
        if model not in learned:
            raise ValueError(f"no learned-weights accuracies for model {model!r}; have {sorted(learned)}")
        values = np.asarray(values, dtype=np.float64)
        base = np.asarray(learned[model], dtype=np.float64)
        reduction, interval = sd_reduction(values, base, resamples, seed)
        rows.append(
            SDReduction(
                model=model,
                k=int(k),
                runs=len(values),
                mean=float(values.mean()),
                sd=population_sd(values),
                sd_error=float(bootstrap_sds(values, resamples, seed).std()),
                learned_runs=len(base),
                learned_sd=population_sd(base),
                learned_sd_error=float(bootstrap_sds(base, resamples, seed).std()),
                reduction=reduction,
                reduction_ci95=interval,
                verdict=claim_verdict(interval),
                runs_to_decide=reduction_runs_to_decide(reduction, interval, min(len(values), len(base))),
            )
        )
    return rows

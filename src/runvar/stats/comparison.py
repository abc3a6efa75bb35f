"""Is B better than A given run-to-run variability? Two sets of runs on the same test set.

Per set: mean accuracy (points) and cross-entropy with bootstrap 95% intervals; the difference
B - A with its bootstrap interval and Welch's t-test p-value (scipy.stats); the probability
that a random run of B is more accurate than a random run of A (rliable's "probability of
improvement": the Mann-Whitney U of B over A divided by the number of run pairs); the
almost-stochastic-order violation ratio epsilon_min of Dror et al. (2019) for "B is better
than A" on accuracy (``deepsig.aso``; below 0.5, B is deemed better); and the mean disagreement
between an A run and a B run beside the mean within A and within B.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import stats

from ..metrics import BOOTSTRAP_RESAMPLES
from .pairwise import ConcatStack, RunStack, as_stack, pairwise_matrices

#: Bootstrap iterations of deepsig's ASO (its default).
ASO_ITERATIONS = 1000


def _mean_difference(b: np.ndarray, a: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(b, axis=axis) - np.mean(a, axis=axis)


def mean_interval(values: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> list[float]:
    """Percentile bootstrap 95% interval of the mean of ``values``."""
    result = stats.bootstrap((np.asarray(values, dtype=np.float64),), np.mean, n_resamples=resamples,
                             method="percentile", rng=np.random.default_rng(seed))
    return [float(result.confidence_interval.low), float(result.confidence_interval.high)]


def difference_interval(b: np.ndarray, a: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES,
                        seed: int = 0) -> list[float]:
    """Percentile bootstrap 95% interval of mean(b) - mean(a), the two resampled independently."""
    result = stats.bootstrap((np.asarray(b, dtype=np.float64), np.asarray(a, dtype=np.float64)),
                             _mean_difference, n_resamples=resamples, method="percentile",
                             rng=np.random.default_rng(seed))
    return [float(result.confidence_interval.low), float(result.confidence_interval.high)]


def welch_p(b: np.ndarray, a: np.ndarray) -> float:
    """Two-sided p-value of Welch's t-test (NaN when both sets have no spread)."""
    if np.ptp(a) == 0 and np.ptp(b) == 0:  # t = difference / 0: scipy would warn, then give NaN
        return float("nan")
    return float(stats.ttest_ind(b, a, equal_var=False).pvalue)


def probability_of_improvement(b: np.ndarray, a: np.ndarray) -> float:
    """P(a random run of B scores higher than a random run of A), ties counting one half."""
    return float(stats.mannwhitneyu(b, a).statistic / (len(a) * len(b)))


def compare_runs(a: np.ndarray | RunStack, b: np.ndarray | RunStack, labels: np.ndarray,
                 resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> dict[str, Any]:
    """The comparison of runs ``b`` against runs ``a`` (each (R, N, C) logits, same labels)."""
    a, b = as_stack(a), as_stack(b)
    runs_a, runs_b = a.shape[0], b.shape[0]
    for name, runs in (("A", runs_a), ("B", runs_b)):
        if runs < 2:
            raise ValueError(f"set {name} needs at least 2 runs, got {runs}")
    pairs = pairwise_matrices(ConcatStack([a, b]), labels)
    accuracy, cross_entropy = pairs.accuracy * 100.0, pairs.cross_entropy
    disagreement = pairs.disagreement * 100.0
    sets = {"a": slice(0, runs_a), "b": slice(runs_a, runs_a + runs_b)}
    out: dict[str, Any] = {}
    for name, part in sets.items():
        within = disagreement[part, part]
        out[name] = {
            "runs": part.stop - part.start,
            "accuracy_mean": float(accuracy[part].mean()),
            "accuracy_ci95": mean_interval(accuracy[part], resamples, seed),
            "cross_entropy_mean": float(cross_entropy[part].mean()),
            "cross_entropy_ci95": mean_interval(cross_entropy[part], resamples, seed),
            "disagreement_within": float(np.nanmean(within)),
            "per_run": {"accuracy": accuracy[part].tolist(), "cross_entropy": cross_entropy[part].tolist()},
        }
    for key, values in (("accuracy", accuracy), ("cross_entropy", cross_entropy)):
        va, vb = values[sets["a"]], values[sets["b"]]
        out[f"{key}_difference"] = float(vb.mean() - va.mean())
        out[f"{key}_difference_ci95"] = difference_interval(vb, va, resamples, seed)
        out[f"{key}_welch_p"] = welch_p(vb, va)
    acc_a, acc_b = accuracy[sets["a"]], accuracy[sets["b"]]
    out["probability_of_improvement"] = probability_of_improvement(acc_b, acc_a)
    from deepsig import aso  # slow to import (pandas, joblib): only when comparing

    with warnings.catch_warnings():
        # deepsig scores a bootstrap sample in which both sets' accuracies coincide (no order
        # either way) as 0.5, the value for a tie, and warns of a division by zero each time.
        warnings.filterwarnings("ignore", message="Division by zero encountered in violation ratio")
        out["aso_epsilon_min"] = float(aso(acc_b, acc_a, confidence_level=0.95, num_bootstrap_iterations=ASO_ITERATIONS,
                                           num_jobs=1, show_progress=False, seed=seed))
    out["disagreement_between"] = float(disagreement[sets["a"], sets["b"]].mean())
    return out

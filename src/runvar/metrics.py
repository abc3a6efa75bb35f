"""Run-to-run variability metrics on a stack of test logits (docs/protocol.md, Metrics).

Every function takes ``logits`` of shape (R, N, C): R runs, N test examples, C classes, and
``labels`` of shape (N,). Pairwise metrics are computed for all R(R-1)/2 pairs at once, a chunk of
examples at a time (:mod:`runvar.stats.pairwise`), so :func:`variability` also takes a
:class:`runvar.stats.pairwise.RunStack` over files too large for memory.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> logits = rng.normal(size=(4, 50, 3)).astype(np.float32)
>>> labels = rng.integers(0, 3, size=50)
>>> row = variability(logits, labels, resamples=1000)
>>> sorted(row)[:3]
['accuracy_mean', 'accuracy_sd', 'accuracy_sd_ci95']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.special import log_softmax

from .stats.pairwise import PairwiseMatrices, RunStack, pairwise_matrices

#: Bootstrap resamples of the R per-run values for the SD-of-SD error bar (docs/protocol.md), and the
#: seed of the resampling: the defaults of the config's ``bootstrap`` block.
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0


def bootstrap_options(config: Mapping[str, Any]) -> dict[str, int]:
    """The config's ``bootstrap`` block over its defaults (:data:`BOOTSTRAP_RESAMPLES`,
    :data:`BOOTSTRAP_SEED`): the ``resamples`` and ``seed`` of every bootstrap interval.

    >>> bootstrap_options({"bootstrap": {"seed": 3}})
    {'resamples': 10000, 'seed': 3}
    """
    return {"resamples": BOOTSTRAP_RESAMPLES, "seed": BOOTSTRAP_SEED, **(config.get("bootstrap") or {})}


def _check_stack(logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    if logits.ndim != 3:
        raise ValueError(f"logits must have shape (runs, examples, classes), got {logits.shape}")
    if labels.shape != (logits.shape[1],):
        raise ValueError(
            f"labels must have shape ({logits.shape[1]},) to match logits {logits.shape}, "
            f"got {labels.shape}"
        )
    return logits, labels


def accuracies(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-run test accuracy as a fraction, shape (R,)."""
    logits, labels = _check_stack(logits, labels)
    return (logits.argmax(axis=2) == labels[None, :]).mean(axis=1)


def cross_entropies(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-run mean test cross-entropy (natural log), shape (R,)."""
    logits, labels = _check_stack(logits, labels)
    logp = log_softmax(logits.astype(np.float64), axis=2)
    return -np.take_along_axis(logp, labels[None, :, None], axis=2)[..., 0].mean(axis=1)


def population_sd(values: np.ndarray) -> float:
    """Standard deviation with ddof=0, as the reference code computes it.

    Computed on the values minus the first one (the SD does not change), so that identical
    values give exactly 0, not a rounding residue of their mean.
    """
    values = np.asarray(values, dtype=np.float64)
    return float(np.std(values - values[0], ddof=0))


def bootstrap_sds(
    values: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> np.ndarray:
    """Population SDs of ``resamples`` bootstrap resamples (with replacement) of ``values``."""
    values = np.asarray(values, dtype=np.float64)
    values = values - values[0]  # exact zeros for identical values, as in population_sd
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), size=(resamples, len(values)))
    return values[idx].std(axis=1, ddof=0)


def bootstrap_sd_of_sd(
    values: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> float:
    """Error bar of an SD: the SD of the SDs of bootstrap resamples of the R values."""
    return float(bootstrap_sds(values, resamples, seed).std(ddof=0))


def pairwise_disagreement_matrix(logits: np.ndarray) -> np.ndarray:
    """(R, R) fraction of examples on which the argmax predictions of runs i and j differ."""
    return _symmetric(_pairs_only(logits).disagreement, 0.0)


def pairwise_spearman_matrix(logits: np.ndarray) -> np.ndarray:
    """(R, R) Spearman rank correlation between the flattened raw logits of runs i and j
    (average ranks for ties, as :func:`scipy.stats.spearmanr`)."""
    return _symmetric(_pairs_only(logits).spearman, 1.0)


def pairwise_ensemble_matrices(
    logits: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(R, R) accuracy and cross-entropy of the two-model ensemble (mean logits) of i < j
    (NaN elsewhere); see :mod:`runvar.stats.pairwise` for the exact definitions."""
    logits, labels = _check_stack(logits, labels)
    pairs = pairwise_matrices(logits, labels)
    return pairs.ensemble_accuracy, pairs.ensemble_cross_entropy


def _pairs_only(logits: np.ndarray) -> PairwiseMatrices:
    """Pair matrices of a stack when no labels are given (the ensemble's are then meaningless)."""
    logits = np.asarray(logits)
    if logits.ndim != 3:
        raise ValueError(f"logits must have shape (runs, examples, classes), got {logits.shape}")
    return pairwise_matrices(logits, np.zeros(logits.shape[1], dtype=np.int64))


def _symmetric(upper: np.ndarray, diagonal: float) -> np.ndarray:
    full = np.where(np.isnan(upper), upper.T, upper)
    np.fill_diagonal(full, diagonal)
    return full


def _upper(matrix: np.ndarray) -> np.ndarray:
    i, j = np.triu_indices(matrix.shape[0], k=1)
    return matrix[i, j]


def pairwise_disagreement(logits: np.ndarray) -> float:
    """Mean over pairs i < j of the fraction of test examples whose argmax differs."""
    return float(_upper(pairwise_disagreement_matrix(logits)).mean())


def pairwise_spearman(logits: np.ndarray) -> float:
    """Mean over pairs i < j of Spearman's rho between flattened logits."""
    return float(_upper(pairwise_spearman_matrix(logits)).mean())


def ensemble_delta(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Mean over pairs of metric(ensemble of i, j) - (metric_i + metric_j) / 2.

    Returns (accuracy delta as a fraction, cross-entropy delta).
    """
    row = variability(logits, labels, resamples=1)
    return row["ensemble_delta_accuracy"] / 100.0, row["ensemble_delta_cross_entropy"]


def variability(
    logits: np.ndarray | RunStack,
    labels: np.ndarray,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> dict[str, Any]:
    """All variability metrics of one (setup, variant) over its R runs.

    Accuracies, disagreement and ensemble deltas are in percent. Needs R >= 2.
    ``*_sd_ci95`` is the 2.5-97.5 percentile interval of the bootstrap SDs. ``per_run`` holds
    each run's accuracy and cross-entropy and ``pairs`` each pair's (i < j, row-major)
    disagreement, Spearman correlation and ensemble delta, so that effect sizes between rows
    can be bootstrapped over runs later (:mod:`runvar.claims`) without the logits.
    """
    if not isinstance(logits, RunStack):
        logits, labels = _check_stack(logits, labels)
    if logits.shape[0] < 2:
        raise ValueError(f"variability needs at least 2 runs, got {logits.shape[0]}")
    pairs = pairwise_matrices(logits, labels)
    fraction = pairs.accuracy
    acc = fraction * 100.0
    ce = pairs.cross_entropy
    acc_boot = bootstrap_sds(acc, resamples, seed)
    ce_boot = bootstrap_sds(ce, resamples, seed)
    disagreement = pairs.upper("disagreement")
    spearman = pairs.upper("spearman")
    i, j = np.triu_indices(len(acc), k=1)
    delta_acc = pairs.upper("ensemble_accuracy") - (fraction[i] + fraction[j]) / 2
    delta_ce = pairs.upper("ensemble_cross_entropy") - (ce[i] + ce[j]) / 2
    return {
        "runs": int(logits.shape[0]),
        "accuracy_mean": float(acc.mean()),
        "accuracy_sd": population_sd(acc),
        "accuracy_sd_sd": float(acc_boot.std(ddof=0)),
        "accuracy_sd_ci95": [float(x) for x in np.percentile(acc_boot, [2.5, 97.5])],
        "cross_entropy_mean": float(ce.mean()),
        "cross_entropy_sd": population_sd(ce),
        "cross_entropy_sd_sd": float(ce_boot.std(ddof=0)),
        "cross_entropy_sd_ci95": [float(x) for x in np.percentile(ce_boot, [2.5, 97.5])],
        "pairwise_disagreement": float(disagreement.mean()) * 100.0,
        "pairwise_spearman": float(spearman.mean()),
        "ensemble_delta_accuracy": float(delta_acc.mean()) * 100.0,
        "ensemble_delta_cross_entropy": float(delta_ce.mean()),
        "per_run": {"accuracy": acc.tolist(), "cross_entropy": ce.tolist()},
        "pairs": {"pairwise_disagreement": (disagreement * 100.0).tolist(),
                  "pairwise_spearman": spearman.tolist(),
                  "ensemble_delta_accuracy": (delta_acc * 100.0).tolist()},
    }


def all_identical(logits: np.ndarray) -> bool:
    """True when every run's logits are bitwise identical to the first run's."""
    logits = np.ascontiguousarray(logits)
    first = logits[0].tobytes()
    return all(run.tobytes() == first for run in logits[1:])


def spread_over_time(values: np.ndarray) -> dict[str, np.ndarray]:
    """Per-epoch spread of a metric over runs, ``values`` of shape (R, epochs) (SD Fig 3).

    Returns the 2.5 and 97.5 percentiles, their difference (the range of the middle 95% of
    runs) and the population SD, each of shape (epochs,).
    """
    values = np.asarray(values, dtype=np.float64)
    low, high = np.percentile(values, [2.5, 97.5], axis=0)
    return {"low": low, "high": high, "range95": high - low, "sd": values.std(axis=0, ddof=0)}

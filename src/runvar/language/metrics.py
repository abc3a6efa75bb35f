"""Language-model variability metrics from per-position predictions (docs/language.md).

A run leaves, for each of the N test positions, the target token's log-probability and the
argmax token; every metric is computed from these (R, N) stacks, never from (R, N, vocab) logits:

- test PPL = exp(-mean log p(target)); its population SD over runs, with the bootstrap SD of
  the SD and its 95% interval;
- pairwise disagreement (%): the fraction of positions whose argmax differs, averaged over pairs;
- ensemble PPL delta: the PPL of the two-run ensemble (probabilities averaged, so the target's
  probability is the mean of the two) minus the pair's mean PPL, averaged over pairs
  (negative: the ensemble is better).

>>> import numpy as np
>>> logprob = np.log(np.array([[0.5, 0.5], [0.25, 0.25]]))
>>> perplexities(logprob).tolist()
[2.0, 4.0]
>>> float(ensemble_ppl_matrix(logprob)[0, 1])  # target probability 0.375 at both positions
2.6666666666666665
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..metrics import BOOTSTRAP_RESAMPLES, bootstrap_sds, population_sd


def perplexities(logprob: np.ndarray) -> np.ndarray:
    """Per-run test perplexity, shape (R,), from (R, N) target log-probabilities."""
    return np.exp(-np.asarray(logprob, dtype=np.float64).mean(axis=1))


def disagreement_matrix(argmax: np.ndarray) -> np.ndarray:
    """(R, R) fraction of positions whose argmax tokens differ (NaN on and below the diagonal)."""
    argmax = np.asarray(argmax)
    runs = len(argmax)
    out = np.full((runs, runs), np.nan)
    for i in range(runs - 1):
        out[i, i + 1 :] = (argmax[i + 1 :] != argmax[i]).mean(axis=1)
    return out


def ensemble_ppl_matrix(logprob: np.ndarray) -> np.ndarray:
    """(R, R) PPL of the probability-averaged ensemble of runs i < j (NaN elsewhere)."""
    logprob = np.asarray(logprob, dtype=np.float64)
    runs = len(logprob)
    out = np.full((runs, runs), np.nan)
    for i in range(runs - 1):
        ensemble = np.logaddexp(logprob[i + 1 :], logprob[i]) - np.log(2.0)
        out[i, i + 1 :] = np.exp(-ensemble.mean(axis=1))
    return out


def language_variability(logprob: np.ndarray, argmax: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES,
                         seed: int = 0) -> dict[str, Any]:
    """The metrics row of one (setup, variant) over its R >= 2 runs; ``per_run`` and ``pairs``
    (i < j, row-major) let :mod:`runvar.claims` bootstrap ratios between rows over runs."""
    logprob, argmax = np.asarray(logprob), np.asarray(argmax)
    if logprob.ndim != 2 or argmax.shape != logprob.shape:
        raise ValueError(f"expected (runs, positions) log-probabilities and argmax of one shape, got "
                         f"{logprob.shape} and {argmax.shape}")
    if len(logprob) < 2:
        raise ValueError(f"variability needs at least 2 runs, got {len(logprob)}")
    ppl = perplexities(logprob)
    boot = bootstrap_sds(ppl, resamples, seed)
    i, j = np.triu_indices(len(ppl), k=1)
    disagreement = disagreement_matrix(argmax)[i, j] * 100.0
    delta = ensemble_ppl_matrix(logprob)[i, j] - (ppl[i] + ppl[j]) / 2
    return {
        "runs": int(len(ppl)),
        "positions": int(logprob.shape[1]),
        "ppl_mean": float(ppl.mean()),
        "ppl_sd": population_sd(ppl),
        "ppl_sd_sd": float(boot.std(ddof=0)),
        "ppl_sd_ci95": [float(x) for x in np.percentile(boot, [2.5, 97.5])],
        "pairwise_disagreement": float(disagreement.mean()),
        "ensemble_delta_ppl": float(delta.mean()),
        "per_run": {"ppl": ppl.tolist()},
        "pairs": {"pairwise_disagreement": disagreement.tolist(), "ensemble_delta_ppl": delta.tolist()},
    }

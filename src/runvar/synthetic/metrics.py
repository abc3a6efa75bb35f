"""Excess loss L and relative prediction difference Delta_r (SS eqs. 2 and 3).

Inputs are log-odds of the positive label (model logits and the true s(x)); everything is
computed in float64 with log-sigmoids, so saturated predictions stay finite.

>>> import numpy as np
>>> true = np.array([0.0, 0.0])
>>> float(relative_prediction_difference(np.array([0.0, 0.0]), np.log([3.0, 3.0]), true))
0.5
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit


def excess_loss(model_logits: np.ndarray, true_logits: np.ndarray) -> np.ndarray:
    """L(m) = mean over examples of KL(p_true(.|x) || p_model(.|x)), over the last axis.

    ``model_logits`` has shape (..., N), ``true_logits`` (N,); returns shape (...).
    """
    q = np.asarray(model_logits, dtype=np.float64)
    s = np.asarray(true_logits, dtype=np.float64)
    p = expit(s)
    kl = p * (log_expit(s) - log_expit(q)) + (1.0 - p) * (log_expit(-s) - log_expit(-q))
    return kl.mean(axis=-1)


def relative_prediction_difference(logits_a: np.ndarray, logits_b: np.ndarray,
                                   true_logits: np.ndarray) -> np.ndarray:
    """Per pair: mean over examples of |p_a(y=1|x) - p_b(y=1|x)| / p_true(y=1|x), over the last axis."""
    pa = expit(np.asarray(logits_a, dtype=np.float64))
    pb = expit(np.asarray(logits_b, dtype=np.float64))
    p = expit(np.asarray(true_logits, dtype=np.float64))
    return (np.abs(pa - pb) / p).mean(axis=-1)


def spread(values: np.ndarray) -> dict[str, float | list[float]]:
    """Mean, SD (ddof=1), standard error, min, max and the values themselves."""
    values = np.asarray(values, dtype=np.float64).ravel()
    sd = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return {
        "mean": float(values.mean()),
        "sd": sd,
        "sem": sd / np.sqrt(values.size),
        "min": float(values.min()),
        "max": float(values.max()),
        "values": [float(v) for v in values],
    }


def pair_metrics(pair_logits: np.ndarray, true_logits: np.ndarray) -> dict[str, dict]:
    """Delta_r per pair and L per model, with their spreads, from logits of shape (M, 2, N).

    ``delta_r.mean`` is SS eq. (3): the mean over pairs and examples.
    """
    pair_logits = np.asarray(pair_logits)
    if pair_logits.ndim != 3 or pair_logits.shape[1] != 2:
        raise ValueError(f"pair logits must have shape (pairs, 2, examples), got {pair_logits.shape}")
    deltas = relative_prediction_difference(pair_logits[:, 0], pair_logits[:, 1], true_logits)
    losses = excess_loss(pair_logits, true_logits).reshape(-1)
    return {"delta_r": spread(deltas), "excess_loss": spread(losses)}

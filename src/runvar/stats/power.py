"""Seed budgets: how small a difference in mean accuracy R runs per model can detect, and how
many runs a given difference needs (two-sided Welch/Student t-test, statsmodels' power solver).

The run-to-run SD is estimated by the sample SD (ddof=1) of the runs' accuracies; metrics rows
hold the population SD (ddof=0), converted by :func:`sample_sd`.

>>> round(detectable_difference(0.2, 10), 3)
0.265
>>> runs_needed(0.2, 0.1)
64
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from statsmodels.stats.power import TTestIndPower

ALPHA = 0.05
POWER = 0.8


def sample_sd(population_sd: float, runs: int) -> float:
    """The ddof=1 SD from a ddof=0 SD of ``runs`` values."""
    if runs < 2:
        raise ValueError(f"an SD needs at least 2 runs, got {runs}")
    return population_sd * math.sqrt(runs / (runs - 1))


def detectable_difference(sd: float, runs: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """Smallest true difference in means (in the units of ``sd``) detected with probability
    ``power`` at level ``alpha`` with ``runs`` runs of each model."""
    if runs < 2:
        raise ValueError(f"a t-test needs at least 2 runs per model, got {runs}")
    effect = TTestIndPower().solve_power(effect_size=None, nobs1=runs, alpha=alpha, power=power, ratio=1.0)
    return float(effect) * sd


def runs_needed(sd: float, delta: float, alpha: float = ALPHA, power: float = POWER) -> int:
    """Runs per model needed to detect a true difference ``delta`` (units of ``sd``); at least 2."""
    if delta <= 0:
        raise ValueError(f"the difference to detect must be positive, got {delta}")
    if sd == 0:
        return 2
    n = TTestIndPower().solve_power(effect_size=delta / sd, nobs1=None, alpha=alpha, power=power, ratio=1.0)
    return max(2, math.ceil(float(n)))


def budget(population_sd: float, runs: int, delta: float, runs_each: int | None = None,
           alpha: float = ALPHA, power: float = POWER) -> dict[str, Any]:
    """The budget of a model whose ``runs`` runs have accuracy SD ``population_sd`` (points):
    the detectable difference with ``runs_each`` (default ``runs``) runs per model and the runs
    needed for ``delta`` points."""
    sd = sample_sd(population_sd, runs)
    each = runs if runs_each is None else runs_each
    return {"runs": runs, "accuracy_sd": population_sd, "accuracy_sd_sample": sd, "alpha": alpha,
            "power": power, "runs_each": each, "detectable_difference": detectable_difference(sd, each, alpha, power),
            "delta": delta, "runs_needed": runs_needed(sd, delta, alpha, power)}


def row_budget(row: Mapping[str, Any], delta: float, runs_each: int | None = None) -> dict[str, Any]:
    """:func:`budget` of a metrics row (``runs``, ``accuracy_sd`` in points)."""
    return budget(float(row["accuracy_sd"]), int(row["runs"]), delta, runs_each)

"""The plateau rule (docs/protocol.md, Convergence), for image and language runs alike: do the same
seeds trained for twice the epochs change a metric's mean final value by less than a
threshold? :func:`plateau_check` reads the runs' ``history.csv`` at E and 2E epochs and
compares the metric a :class:`PlateauMetric` names (test accuracy in points for the image
runs, :data:`TEST_ACCURACY`; validation perplexity in percent for the language runs,
:data:`VALID_PPL`); :func:`with_plateau` marks a metrics row with its recipe's check.

No torch and no pandas here: the language jobs and the claims import this module.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .io import history_matrix, load_json

#: A metrics row's key saying why it has no plateau check: ``"off"`` when the config switched the
#: check off for its setup (``convergence_check.off``).
CONVERGENCE_CHECK = "convergence_check"


@dataclass(frozen=True)
class PlateauMetric:
    """What a plateau check compares: a ``history.csv`` column at E and 2E epochs.

    The check record holds the mean final value under ``name`` (and ``{name}_double``), the
    mean curve over the evaluated epochs under ``name`` too, and ``change``: in percent of the
    value at E when ``relative``, else in the metric's units (after ``scale``). Each of
    ``beside`` (record key, column) is reported with its relative change, not tested."""

    name: str
    column: str
    scale: float = 1.0
    relative: bool = False
    #: Whether the record states ``change_se`` (:func:`change_standard_error` of the runs' finals).
    standard_error: bool = False
    beside: tuple[tuple[str, str], ...] = ()


#: The image runs' rule: mean final test accuracy (%), change in points, with its standard
#: error; test CE beside it (it keeps falling under a cosine schedule long after accuracy has settled).
TEST_ACCURACY = PlateauMetric("accuracy", "test_accuracy", scale=100.0, standard_error=True,
                              beside=(("cross_entropy", "test_cross_entropy"),))
#: The language runs' rule: mean final validation perplexity, change in percent.
VALID_PPL = PlateauMetric("valid_ppl", "valid_ppl", relative=True)


def relative_change_pct(before: float, after: float) -> float:
    """``after`` - ``before`` in percent of ``before``.

    >>> relative_change_pct(40.0, 41.0)
    2.5
    """
    return 100.0 * (after - before) / before


def change_standard_error(before: np.ndarray, after: np.ndarray) -> float:
    """The standard error of the difference of two means, sqrt(s1^2/n1 + s2^2/n2) with sample
    variances (ddof 1): the precision of a plateau check's change (docs/protocol.md: at most 0.1 points).

    >>> round(change_standard_error(np.array([97.0, 98.0, 99.0]), np.array([98.0, 98.0, 98.0, 98.0])), 4)
    0.5774
    """
    return float(np.sqrt(np.var(before, ddof=1) / len(before) + np.var(after, ddof=1) / len(after)))


def _finals_and_curve(paths: Sequence[str | os.PathLike[str]], metric: PlateauMetric) -> tuple[np.ndarray, dict[str, list]]:
    """Each run's final value of ``metric`` and the mean curve over the epochs every run evaluated."""
    values = history_matrix(paths, metric.column)
    if metric.scale != 1.0:
        values = values * metric.scale
    evaluated = ~np.isnan(values).any(axis=0)
    epochs = np.arange(1, values.shape[1] + 1)[evaluated]
    return values[:, -1], {"epochs": epochs.tolist(), metric.name: values[:, evaluated].mean(axis=0).tolist()}


def plateau_check(
    setup: str,
    variant: str,
    histories: Sequence[str | os.PathLike[str]],
    double_histories: Sequence[str | os.PathLike[str]],
    max_change: float,
    metric: PlateauMetric = TEST_ACCURACY,
) -> dict[str, Any]:
    """The plateau rule for one recipe: do the same seeds trained for twice the epochs change
    the mean final ``metric`` by less than ``max_change`` (points, or percent if relative)?

    ``histories`` are the ``history.csv`` of runs 1..n of (setup, variant), ``double_histories``
    those of the same runs of the setup with doubled epochs.
    """
    finals, curve = _finals_and_curve(histories, metric)
    finals2, curve2 = _finals_and_curve(double_histories, metric)
    value, value2 = float(finals.mean()), float(finals2.mean())
    change = relative_change_pct(value, value2) if metric.relative else value2 - value
    record: dict[str, Any] = {
        "setup": setup, "variant": variant, "runs": len(histories),
        "epochs": curve["epochs"][-1], "double_epochs": curve2["epochs"][-1],
        metric.name: value, f"{metric.name}_double": value2, "change": change,
        "max_change": float(max_change), "converged": bool(abs(change) < max_change),
        "curve": curve, "curve_double": curve2,
    }
    if metric.standard_error:
        record["change_se"] = change_standard_error(finals, finals2)
    for key, column in metric.beside:
        before = float(history_matrix(histories, column)[:, -1].mean())
        after = float(history_matrix(double_histories, column)[:, -1].mean())
        record.update({key: before, f"{key}_double": after, f"{key}_change_pct": relative_change_pct(before, after)})
    return record


def load_plateau(paths: Sequence[str | os.PathLike[str]]) -> dict[str, dict]:
    """Plateau checks (:func:`plateau_check` records) keyed by setup."""
    return {record["setup"]: record for record in (load_json(p) for p in paths)}


def with_plateau(row: Mapping[str, Any], check: Mapping[str, Any] | None, off: bool = False) -> dict[str, Any]:
    """``row`` with its recipe's plateau check: ``converged``, ``plateau_change`` (the check's
    ``change`` from E to 2E epochs: points of accuracy, or % of validation PPL) and
    ``plateau_recipe``. Without a check, ``row`` unchanged (its claims are then
    ``inconclusive: convergence not checked``), or with ``off`` (the config's
    ``convergence_check.off`` names its setup) marked ``convergence_check: off``."""
    if check is None:
        return {**row, CONVERGENCE_CHECK: "off"} if off else dict(row)
    return {**row, "converged": bool(check["converged"]), "plateau_change": float(check["change"]),
            "plateau_recipe": check["setup"]}

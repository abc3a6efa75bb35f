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
#: The language runs' rule: mean final validation perplexity, change in percent (its standard
#: error in percent of the value at E too).
VALID_PPL = PlateauMetric("valid_ppl", "valid_ppl", relative=True, standard_error=True)

#: A check's three outcomes (:func:`plateau_decision`).
ON_PLATEAU, OFF_PLATEAU, UNDECIDED = "on the plateau", "not on the plateau", "undecided"
#: z of the check's one-sided tests at 5% (Schuirmann's two one-sided tests: a 90% interval).
DECISION_Z = 1.645


def plateau_decision(change: float, change_se: float | None, max_change: float) -> str:
    """The plateau rule decided with its precision (two one-sided tests at 5%): :data:`ON_PLATEAU`
    when |change| + 1.645 SE < ``max_change`` (the change is below the threshold by a margin its
    SE supports), :data:`OFF_PLATEAU` when |change| - 1.645 SE > ``max_change``, else
    :data:`UNDECIDED` (more runs, or a longer recipe, would decide). Without an SE, the bare rule.

    >>> plateau_decision(0.10, 0.05, 0.3), plateau_decision(0.60, 0.10, 0.3), plateau_decision(0.26, 0.05, 0.3)
    ('on the plateau', 'not on the plateau', 'undecided')
    >>> plateau_decision(-0.35, None, 0.3)
    'not on the plateau'
    """
    if change_se is None or not np.isfinite(change_se):
        return ON_PLATEAU if abs(change) < max_change else OFF_PLATEAU
    margin = DECISION_Z * change_se
    if abs(change) + margin < max_change:
        return ON_PLATEAU
    return OFF_PLATEAU if abs(change) - margin > max_change else UNDECIDED


def check_runs_to_decide(change: float, change_se: float, max_change: float, runs: int) -> int | None:
    """A planning figure: runs per arm at which the check would decide if its change stayed where
    it was observed (the SE shrinks as 1 / sqrt(runs)); ``None`` when the change equals the threshold.

    >>> check_runs_to_decide(0.26, 0.05, 0.3, 10)  # 10 (1.645 x 0.05 / 0.04)^2 = 42.3
    43
    """
    distance = abs(max_change - abs(change))
    if distance == 0 or not np.isfinite(change_se):
        return None
    return max(2, int(np.ceil(runs * (DECISION_Z * change_se / distance) ** 2 - 1e-9)))


def relative_change_pct(before: float, after: float) -> float:
    """``after`` - ``before`` in percent of ``before``.

    >>> relative_change_pct(40.0, 41.0)
    2.5
    """
    return 100.0 * (after - before) / before


#: Why a check refuses two lists of runs that are not the same runs.
PAIRING = "a plateau check pairs run r at E with run r at 2E epochs"


def change_standard_error(before: np.ndarray, after: np.ndarray) -> float:
    """The standard error of a plateau check's change, the mean of the per-run differences
    ``after - before``: their sample SD (ddof 1) over sqrt(n). The check is a paired design (run r
    at 2E epochs has every seed of run r at E), so what the runs share cancels: each selection
    arm's fixed candidate weights, each run's initialisation. ``before`` and ``after`` are the
    same runs, in the same order.

    >>> round(change_standard_error(np.array([97.0, 98.0, 99.0]), np.array([97.5, 98.0, 99.4])), 4)
    0.1528
    """
    if len(before) != len(after):
        raise ValueError(f"{PAIRING}: got {len(before)} runs at E and {len(after)} at 2E")
    differences = np.asarray(after, dtype=float) - np.asarray(before, dtype=float)
    return float(np.std(differences, ddof=1) / np.sqrt(len(differences)))


def decide_change(before: np.ndarray, after: np.ndarray, max_change: float, relative: bool = False,
                  standard_error: bool = True) -> dict[str, Any]:
    """The plateau rule on the same runs' final values at E (``before``) and 2E (``after``):
    ``change`` of the mean (in percent of the mean at E when ``relative``), its paired ``change_se``
    and ``runs_to_decide`` (with ``standard_error``), the ``decision`` and ``converged``.

    >>> decide_change(np.array([97.0, 98.0, 99.0]), np.array([97.1, 98.1, 99.2]), 0.3)["decision"]
    'on the plateau'
    """
    value, value2 = float(np.mean(before)), float(np.mean(after))
    change = relative_change_pct(value, value2) if relative else value2 - value
    record: dict[str, Any] = {"change": change}
    se = None
    if standard_error:
        se = change_standard_error(before, after) * (100.0 / value if relative else 1.0)
        record["change_se"] = se
        record["runs_to_decide"] = check_runs_to_decide(change, se, float(max_change), len(before))
    record["decision"] = plateau_decision(change, se, float(max_change))
    record["converged"] = record["decision"] == ON_PLATEAU
    return record


def _same_runs(histories: Sequence[str | os.PathLike[str]], double_histories: Sequence[str | os.PathLike[str]]) -> None:
    """Refuse checks whose two lists are not the same runs in the same order (``seedN`` folders)."""
    names = [os.path.basename(os.path.dirname(os.fspath(p))) for p in histories]
    doubles = [os.path.basename(os.path.dirname(os.fspath(p))) for p in double_histories]
    if all(n.startswith("seed") for n in names + doubles) and names != doubles:
        raise ValueError(f"{PAIRING}: runs {names} at E, {doubles} at 2E")


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
    check_set: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The plateau rule for one recipe: do the same seeds trained for twice the epochs change
    the mean final ``metric`` by less than ``max_change`` (points, or percent if relative)?

    ``histories`` are the ``history.csv`` of runs 1..n of (setup, variant), ``double_histories``
    those of the same runs, in the same order, of the setup with doubled epochs (the change's SE
    is that of a paired difference: :func:`change_standard_error`).

    ``check_set`` decides on the runs' final models evaluated on a check set instead of their
    last test evaluation: ``{"examples": N, "checksum": ..., "finals": {key: (at E, at 2E)}}`` for
    the metric's name and each ``beside`` key (:func:`runvar.check_set.check_set_finals`). The
    curves stay the test set's, and the record keeps the test set's change beside (``test_change``).
    """
    _same_runs(histories, double_histories)
    finals, curve = _finals_and_curve(histories, metric)
    finals2, curve2 = _finals_and_curve(double_histories, metric)
    beside = {key: (history_matrix(histories, column)[:, -1], history_matrix(double_histories, column)[:, -1])
              for key, column in metric.beside}
    extra: dict[str, Any] = {}
    if check_set is not None:
        measured = check_set["finals"]
        if len(measured[metric.name][0]) != len(finals) or len(measured[metric.name][1]) != len(finals2):
            raise ValueError(f"{PAIRING}: the check set's finals are not one per run")
        extra = {f"test_{metric.name}": float(finals.mean()), f"test_{metric.name}_double": float(finals2.mean()),
                 "test_change": float(finals2.mean() - finals.mean()),
                 "check_examples": int(check_set["examples"]), "check_set_checksum": check_set.get("checksum")}
        finals, finals2 = (np.asarray(v, dtype=float) for v in measured[metric.name])
        beside = {key: measured[key] for key in beside}
    record: dict[str, Any] = {
        "setup": setup, "variant": variant, "runs": len(histories),
        "epochs": curve["epochs"][-1], "double_epochs": curve2["epochs"][-1],
        metric.name: float(finals.mean()), f"{metric.name}_double": float(finals2.mean()),
        "max_change": float(max_change), "curve": curve, "curve_double": curve2,
        **decide_change(finals, finals2, max_change, metric.relative, metric.standard_error), **extra,
    }
    for key, (at_e, at_2e) in beside.items():
        before, after = float(np.mean(at_e)), float(np.mean(at_2e))
        record.update({key: before, f"{key}_double": after, f"{key}_change_pct": relative_change_pct(before, after)})
    return record


#: The p-value under which a pool's members' changes differ (Cochran's Q): each then decides alone.
POOL_HOMOGENEITY_P = 0.05


def pooled_check(setup: str, checks: Mapping[str, Mapping[str, Any]], pool: str | None = None) -> dict[str, Any]:
    """``checks[setup]`` decided with its pool (``checks``: every member's own check, ``setup``
    among them; STUDY.md: "pooled across the arms of one model family if useful").

    The pool's change is the members' mean change (each recipe weighs the same), its SE the root
    of their summed squared SEs over their number. Where the members' changes are consistent with
    one common change (Cochran's Q about their SE-weighted mean, chi-square on m - 1 df, p >=
    :data:`POOL_HOMOGENEITY_P`), the pool decides for every member: ``change``, ``change_se``,
    ``decision``, ``converged`` and ``runs_to_decide`` (per member) become the pool's, and the
    member's own stay as ``own_*``. Otherwise each member decides alone and ``pool`` says why. A
    pool of one is the check itself.

    >>> own = {"a": {"change": 0.2, "change_se": 0.08, "decision": "undecided", "max_change": 0.3, "runs": 40},
    ...        "b": {"change": 0.2, "change_se": 0.06, "decision": "undecided", "max_change": 0.3, "runs": 40}}
    >>> r = pooled_check("a", own, "ab")
    >>> round(r["change_se"], 3), r["decision"], r["own_decision"], r["pool"]["members"]
    (0.05, 'on the plateau', 'undecided', ['a', 'b'])
    """
    from scipy.stats import chi2

    record = dict(checks[setup])
    if len(checks) < 2:
        return record
    changes = np.array([float(c["change"]) for c in checks.values()])
    ses = np.array([float(c["change_se"]) for c in checks.values()])
    max_change = float(record["max_change"])
    change, se = float(changes.mean()), float(np.sqrt(np.sum(ses ** 2)) / len(changes))
    weighted = float(np.sum(changes / ses ** 2) / np.sum(1.0 / ses ** 2))
    q = float(np.sum(((changes - weighted) / ses) ** 2))
    p = float(chi2.sf(q, len(changes) - 1))
    summary = {"name": pool, "members": sorted(checks), "change": change, "change_se": se, "chi_square": q,
               "df": len(changes) - 1, "p": p, "decision": plateau_decision(change, se, max_change)}
    record.update(own_change=record["change"], own_change_se=record["change_se"], own_decision=decision_of(record),
                  pool=summary)
    if p < POOL_HOMOGENEITY_P:
        summary["refused"] = (f"the members' changes differ (chi-square {q:.1f} on {len(changes) - 1} df, "
                              f"p {p:.3f} < {POOL_HOMOGENEITY_P}): each decides alone")
        return record
    record.update(change=change, change_se=se, decision=summary["decision"],
                  converged=summary["decision"] == ON_PLATEAU,
                  runs_to_decide=check_runs_to_decide(change, se, max_change, int(record["runs"])))
    return record


def load_plateau(paths: Sequence[str | os.PathLike[str]]) -> dict[str, dict]:
    """Plateau checks (:func:`plateau_check` records) keyed by setup."""
    return {record["setup"]: record for record in (load_json(p) for p in paths)}


def with_plateau(row: Mapping[str, Any], check: Mapping[str, Any] | None, off: bool = False) -> dict[str, Any]:
    """``row`` with its recipe's plateau check: ``converged`` (decided on the plateau),
    ``plateau_decision`` (:func:`plateau_decision`), ``plateau_change`` (the check's ``change``
    from E to 2E epochs: points of accuracy, or % of validation PPL) and ``plateau_recipe``. Without a check, ``row`` unchanged (its claims are then
    ``inconclusive: convergence not checked``), or with ``off`` (the config's
    ``convergence_check.off`` names its setup) marked ``convergence_check: off``."""
    if check is None:
        return {**row, CONVERGENCE_CHECK: "off"} if off else dict(row)
    precision = {f"plateau_{key}": float(check[key]) for key in ("change_se", "max_change") if key in check}
    return {**row, "converged": bool(check["converged"]), "plateau_decision": decision_of(check),
            "plateau_change": float(check["change"]), **precision, "plateau_recipe": check["setup"]}


def decision_of(check: Mapping[str, Any]) -> str:
    """A check's decision; a record from before decisions: the bare rule's."""
    return check.get("decision") or (ON_PLATEAU if check["converged"] else OFF_PLATEAU)

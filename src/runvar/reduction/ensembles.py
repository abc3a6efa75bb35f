"""Ensembles from saved runs, the variability reduction %, and variability tables of rows.

* Vanilla ensembles (SD Table 5): the pool of R runs split into R // N disjoint groups of N
  consecutive runs; each group's ensemble averages its members' logits.
* Snapshot ensembles: one run with a cyclic schedule; its ensemble averages the logits saved
  at every cycle end. A run without snapshots (one cycle) is its own one-member ensemble.
* Variability reduction (RE Tables 6 and 7): per metric, the relative change against the
  single model, signed so that less variability is positive, and the mean over the five
  metrics (:data:`REDUCTION_FORMULA`).

>>> single = {"accuracy_sd": 0.26, "cross_entropy_sd": 0.0080, "pairwise_disagreement": 10.7,
...           "pairwise_spearman": 0.871, "ensemble_delta_accuracy": 1.84}
>>> snapshot = {"accuracy_sd": 0.17, "cross_entropy_sd": 0.0043, "pairwise_disagreement": 6.1,
...             "pairwise_spearman": 0.957, "ensemble_delta_accuracy": 0.65}
>>> round(variability_reduction(snapshot, single)["mean"])  # RE Table 7, Acc.Ens. row: 40
40
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..io import load_npz, load_prediction_stack
from ..metrics import variability
from ..tables import CONVERGED_NOTE, SOURCES_COLUMNS, converged_cells, converged_header, markdown_table

#: (metrics key, short name, +1 when a smaller value is less variability, -1 when larger is)
REDUCTION_METRICS: tuple[tuple[str, str, int], ...] = (
    ("accuracy_sd", "acc SD", 1),
    ("cross_entropy_sd", "CE SD", 1),
    ("pairwise_disagreement", "disagree", 1),
    ("pairwise_spearman", "corr", -1),
    ("ensemble_delta_accuracy", "ens delta", 1),
)

REDUCTION_FORMULA = (
    "Variability reduction (%) = mean over the five metrics of the relative reduction against "
    "the single model: 100 (m_single - m) / m_single for accuracy SD, cross-entropy SD, pairwise "
    "disagreement and ensemble delta; 100 (rho - rho_single) / rho_single for the pairwise "
    "correlation (higher is less variable). This convention reproduces the reproduction "
    "report's corrected figures (RE Tables 6 and 7)."
)


def vanilla_ensembles(logits: np.ndarray, size: int) -> np.ndarray:
    """(R // size, N, C) mean logits of disjoint groups of ``size`` consecutive runs."""
    logits = np.asarray(logits)
    groups = logits.shape[0] // size
    if groups < 1:
        raise ValueError(f"ensembles of {size} need at least {size} runs, got {logits.shape[0]}")
    grouped = logits[: groups * size].reshape(groups, size, *logits.shape[1:])
    return grouped.mean(axis=1, dtype=np.float64).astype(np.float32)


def snapshot_ensemble(logits: np.ndarray, snapshot_logits: np.ndarray | None) -> np.ndarray:
    """(N, C) snapshot-ensemble logits of one run: the mean over its cycle ends, or, for a run
    trained in one cycle (no snapshots), the run's own logits unchanged."""
    if snapshot_logits is None:
        return np.asarray(logits, dtype=np.float32)
    return np.asarray(snapshot_logits).mean(axis=0, dtype=np.float64).astype(np.float32)


def snapshot_ensemble_stack(paths: Sequence[str | os.PathLike[str]]) -> tuple[np.ndarray, np.ndarray]:
    """(R, N, C) snapshot-ensemble logits of R runs' prediction (or TTA) files, and the labels."""
    logits, labels = load_prediction_stack(list(paths))
    ensembles = []
    for path, run_logits in zip(paths, logits):
        arrays = load_npz(path, {"logits": 2})
        ensembles.append(snapshot_ensemble(run_logits, arrays.get("snapshot_logits")))
    return np.stack(ensembles), labels


def variability_reduction(row: Mapping[str, float], baseline: Mapping[str, float]) -> dict[str, float]:
    """Per-metric relative reduction (%) of ``row`` against ``baseline`` and their ``mean``."""
    out = {}
    for key, _, sign in REDUCTION_METRICS:
        out[key] = 100.0 * sign * (baseline[key] - row[key]) / baseline[key]
    out["mean"] = float(np.mean([out[key] for key, _, _ in REDUCTION_METRICS]))
    return out


def reduction_frame(
    rows: Sequence[tuple[str, Mapping[str, Any]]], baseline: Mapping[str, Any] | None
) -> pd.DataFrame:
    """One row per (label, metrics row); with ``baseline``, the reduction % columns too."""
    records = []
    for label, metrics in rows:
        record = {"setting": label, "runs": metrics["runs"]}
        record.update({key: metrics[key] for key, *_ in SOURCES_COLUMNS})
        record.update({err: metrics[err] for *_, err in SOURCES_COLUMNS if err})
        if baseline is not None:
            reduction = variability_reduction(metrics, baseline)
            record.update({f"reduction_{k}": v for k, v in reduction.items()})
        records.append(record)
    return pd.DataFrame(records)


def frame_markdown(frame: pd.DataFrame, title: str, notes: str = "") -> str:
    """Markdown of a :func:`reduction_frame`: "SD ± SD-of-SD" cells, reduction % if present."""
    with_reduction = "reduction_mean" in frame
    header = ["Setting", "R"] + [label for _, label, _, _ in SOURCES_COLUMNS]
    if with_reduction:
        header += ["Reduction per metric (%)", "Variability reduction (%)"]
    header += converged_header(frame)
    body = []
    for _, rec in frame.iterrows():
        cells = [rec["setting"], str(int(rec["runs"]))]
        for key, _, fmt, err in SOURCES_COLUMNS:
            cells.append(fmt.format(rec[key]) + (" ± " + fmt.format(rec[err]) if err else ""))
        if with_reduction:
            per = " / ".join(f"{rec[f'reduction_{key}']:.0f}" for key, _, _ in REDUCTION_METRICS)
            cells += [per, f"{rec['reduction_mean']:.1f}"]
        body.append(cells + converged_cells(rec))
    if with_reduction:
        order = ", ".join(name for _, name, _ in REDUCTION_METRICS)
        notes = f"{REDUCTION_FORMULA} Per-metric column order: {order}.\n" + notes
    if converged_header(frame):
        notes += CONVERGED_NOTE
    return f"## {title}\n\n" + markdown_table(header, body) + "\n" + notes



def bootstrap_variability(logits: np.ndarray, labels: np.ndarray, bootstrap: Mapping[str, int]) -> dict[str, Any]:
    """:func:`runvar.metrics.variability` with the config's ``{"resamples", "seed"}``."""
    return variability(logits, labels, resamples=int(bootstrap["resamples"]), seed=int(bootstrap["seed"]))


def ensemble_rows(
    pool_paths: Sequence[str | os.PathLike[str]],
    snapshot_paths: Sequence[str | os.PathLike[str]],
    sizes: Sequence[int],
    bootstrap: Mapping[str, int],
    snapshot_label: str = "Snapshot",
) -> list[tuple[str, dict[str, Any]]]:
    """SD Table 5: the snapshot ensembles' metrics (none without ``snapshot_paths``), then
    vanilla ensembles of each size N drawn as disjoint groups from the pool (N = 1 is the
    single model)."""
    pool, labels = load_prediction_stack(list(pool_paths))
    rows = []
    if snapshot_paths:
        snapshots, snapshot_labels = snapshot_ensemble_stack(snapshot_paths)
        if not np.array_equal(labels, snapshot_labels):
            raise ValueError("snapshot runs and pool runs were evaluated on different test labels")
        rows.append((snapshot_label, bootstrap_variability(snapshots, labels, bootstrap)))
    for size in sizes:
        rows.append((f"Vanilla (N={size})", bootstrap_variability(vanilla_ensembles(pool, size), labels, bootstrap)))
    return rows

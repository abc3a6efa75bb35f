"""The convergence study's table and figure: variability against the training length.

One row per (length, variant) with the metrics of its runs, and on the ``init`` and ``all``
rows the ratio of ``bitflip``'s accuracy SD, cross-entropy SD and pairwise disagreement to that
row's at the same length, with a bootstrap 95% interval over the runs
(:func:`runvar.claims.ratio_with_interval`): does a single bit flip vary training as much as
every source together, and does that depend on whether the runs converged?

>>> rows = [{"epochs": 5, "setup": "cnn.epochs5", "variant": v, "runs": 6} for v in ("init", "bitflip")]
>>> metrics = [example_metrics(v, [90.0, 91.0, 92.0, 93.0, 94.0, 95.0], [0.30, 0.31, 0.32, 0.33, 0.34, 0.35])
...            for v in ("init", "bitflip")]
>>> frame = convergence_frame(rows, metrics, resamples=200)
>>> frame[["epochs", "variant", "bitflip_ratio_accuracy_sd"]].to_dict("records")
[{'epochs': 5, 'variant': 'init', 'bitflip_ratio_accuracy_sd': 1.0}, {'epochs': 5, 'variant': 'bitflip', 'bitflip_ratio_accuracy_sd': nan}]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..claims import ratio_with_interval
from ..plots import plt
from ..tables import NOTES, SOURCES_COLUMNS, markdown_table, metric_cells

#: The varied variant whose variability is compared with the references'.
BITFLIP = "bitflip"
#: Variants ``bitflip`` is divided by, on their rows.
REFERENCES: tuple[str, ...] = ("init", "all")
#: Measures of the ratios: (metrics key, label).
RATIO_KEYS: tuple[tuple[str, str], ...] = (
    ("accuracy_sd", "accuracy SD"),
    ("cross_entropy_sd", "CE SD"),
    ("pairwise_disagreement", "disagreement"),
)
#: Metrics columns copied from each metrics row, after epochs, setup, variant, runs.
METRIC_COLUMNS: tuple[str, ...] = (
    "accuracy_mean", "accuracy_sd", "accuracy_sd_sd", "cross_entropy_sd", "cross_entropy_sd_sd",
    "pairwise_disagreement", "pairwise_spearman", "ensemble_delta_accuracy",
)


def ratio_column(key: str) -> str:
    """Column of bitflip's ``key`` divided by the row's (``_low`` / ``_high``: its 95% interval)."""
    return f"bitflip_ratio_{key}"


def convergence_frame(rows: Sequence[Mapping[str, Any]], metrics: Sequence[Mapping[str, Any]],
                      resamples: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """The table: one row per planned (length, variant) (``rows``: epochs, setup, variant) from
    its metrics row (``metrics``, same order, :func:`runvar.metrics.variability` with
    ``per_run`` and ``pairs``). The ``init`` and ``all`` rows carry bitflip / row ratios with
    bootstrap 95% intervals (``resamples`` resamples drawn with ``seed``); other rows, and
    lengths without a ``bitflip`` row, leave them empty."""
    if len(rows) != len(metrics):
        raise ValueError(f"{len(rows)} planned rows but {len(metrics)} metrics rows")
    for spec, row in zip(rows, metrics):
        if row.get("variant", spec["variant"]) != spec["variant"]:
            raise ValueError(f"metrics row of variant {row['variant']!r} given for {spec['setup']}/{spec['variant']}")
    bitflip = {int(spec["epochs"]): row for spec, row in zip(rows, metrics) if spec["variant"] == BITFLIP}
    records = []
    for spec, row in zip(rows, metrics):
        record: dict[str, Any] = {"epochs": int(spec["epochs"]), "setup": spec["setup"],
                                  "variant": spec["variant"], "runs": int(row["runs"])}
        record.update({key: float(row[key]) for key in METRIC_COLUMNS})
        top = bitflip.get(record["epochs"])
        for key, _ in RATIO_KEYS:
            point, (low, high) = math.nan, (math.nan, math.nan)
            if top is not None and spec["variant"] in REFERENCES:
                point, (low, high) = ratio_with_interval(top, row, key, resamples=resamples, seed=seed)
            record.update({ratio_column(key): point, f"{ratio_column(key)}_low": low,
                           f"{ratio_column(key)}_high": high})
        records.append(record)
    return pd.DataFrame.from_records(records)


def _ratio_cell(point: float, low: float, high: float) -> str:
    return f"{point:.3g} [{low:.3g}, {high:.3g}]"


def convergence_markdown(frame: pd.DataFrame, title: str) -> str:
    """The table as Markdown: the metrics per (length, variant), then the bitflip ratios."""
    header = ["Epochs", "Variant", "R"] + [label for _, label, _, _ in SOURCES_COLUMNS]
    body = [[str(rec["epochs"]), rec["variant"], str(rec["runs"]), *metric_cells(rec)]
            for rec in frame.to_dict("records")]
    text = f"## {title}\n\n" + markdown_table(header, body) + NOTES
    ratios = frame[frame[ratio_column("accuracy_sd")].notna()]
    if len(ratios):
        header = ["Epochs", "Ratio"] + [label for _, label in RATIO_KEYS]
        body = [[str(rec["epochs"]), f"bitflip / {rec['variant']}"]
                + [_ratio_cell(rec[ratio_column(k)], rec[f"{ratio_column(k)}_low"], rec[f"{ratio_column(k)}_high"])
                   for k, _ in RATIO_KEYS]
                for rec in ratios.to_dict("records")]
        references = " and ".join(dict.fromkeys(ratios["variant"]))
        text += (f"\n### bitflip relative to {references}\n\n" + markdown_table(header, body)
                 + "\nRatio of bitflip's measure to the reference variant's at the same training length, "
                 "with the bootstrap 95% percentile interval (the runs of both variants resampled "
                 "independently). 1 = a single bit flip varies training as much as the reference.\n")
    return text


def convergence_figure(frame: pd.DataFrame, title: str) -> plt.Figure:
    """Against the training length (log2 axis): mean accuracy, accuracy SD (bootstrap SD-of-SD
    error bars) and pairwise disagreement per variant, and the bitflip/init and bitflip/all
    accuracy-SD ratios with their 95% intervals (dashed line at 1)."""
    variants = list(dict.fromkeys(frame["variant"]))
    colors = {v: f"C{i}" for i, v in enumerate(variants)}
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    panels = (("accuracy_mean", None, "Mean test accuracy (%)"),
              ("accuracy_sd", "accuracy_sd_sd", "Accuracy SD (%)"),
              ("pairwise_disagreement", None, "Pairwise disagreement (%)"))
    for ax, (key, err, label) in zip(axes, panels):
        for variant in variants:
            rows = frame[frame["variant"] == variant].sort_values("epochs")
            ax.errorbar(rows["epochs"], rows[key], yerr=rows[err] if err else None, marker="o",
                        markersize=4, capsize=3, color=colors[variant], label=variant)
        ax.set_title(label, fontsize=10)
    ax = axes[3]
    ratio = ratio_column("accuracy_sd")
    for reference in REFERENCES:
        rows = frame[(frame["variant"] == reference) & frame[ratio].notna()].sort_values("epochs")
        if not len(rows):
            continue
        point = rows[ratio].to_numpy(dtype=float)
        low, high = rows[f"{ratio}_low"].to_numpy(dtype=float), rows[f"{ratio}_high"].to_numpy(dtype=float)
        errors = np.nan_to_num(np.clip(np.vstack([point - low, high - point]), 0, None), nan=0.0, posinf=0.0)
        ax.errorbar(rows["epochs"], np.where(np.isfinite(point), point, np.nan), yerr=errors, marker="o",
                    markersize=4, capsize=3, color=colors.get(reference), label=f"bitflip / {reference}")
    ax.axhline(1.0, color="0.4", linestyle="--", linewidth=1)
    ax.set_title("Accuracy SD ratio (95% CI)", fontsize=10)
    epochs = sorted(set(frame["epochs"]))
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(epochs, [str(e) for e in epochs])
        ax.minorticks_off()
        ax.set_xlabel("training length (epochs)")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def example_metrics(variant: str, accuracy: Sequence[float], cross_entropy: Sequence[float],
                 disagreement: Sequence[float] | None = None) -> dict[str, Any]:
    """A metrics row with the keys this module reads, built from per-run accuracies and
    cross-entropies (and per-pair disagreements, default all 1%): for tests and examples."""
    acc, ce = np.asarray(accuracy, dtype=float), np.asarray(cross_entropy, dtype=float)
    runs = len(acc)
    pairs = np.asarray(disagreement if disagreement is not None else [1.0] * (runs * (runs - 1) // 2), dtype=float)
    return {
        "variant": variant, "runs": runs,
        "accuracy_mean": float(acc.mean()), "accuracy_sd": float(acc.std()), "accuracy_sd_sd": 0.0,
        "cross_entropy_sd": float(ce.std()), "cross_entropy_sd_sd": 0.0,
        "pairwise_disagreement": float(pairs.mean()), "pairwise_spearman": 0.99,
        "ensemble_delta_accuracy": 0.0,
        "per_run": {"accuracy": acc.tolist(), "cross_entropy": ce.tolist()},
        "pairs": {"pairwise_disagreement": pairs.tolist(), "pairwise_spearman": [0.99] * len(pairs),
                  "ensemble_delta_accuracy": [0.0] * len(pairs)},
    }

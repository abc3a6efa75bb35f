"""The sources study's figures: one bar per variant and metric, and SD Fig 3 (spread over time)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..plots import plt

PANELS = (
    ("accuracy_sd", "accuracy_sd_sd", "Accuracy SD (%)"),
    ("cross_entropy_sd", "cross_entropy_sd_sd", "Cross-entropy SD"),
    ("pairwise_disagreement", None, "Pairwise disagreement (%)"),
    ("pairwise_spearman", None, "Pairwise Spearman"),
    ("ensemble_delta_accuracy", None, "Ensemble delta (%)"),
)



def sources_figure(rows: Mapping[str, Mapping], title: str) -> plt.Figure:
    """One panel per metric, one bar per variant; SD panels carry bootstrap SD-of-SD bars."""
    variants = list(rows)
    fig, axes = plt.subplots(1, len(PANELS), figsize=(3.2 * len(PANELS), 3.6))
    for ax, (key, err, label) in zip(axes, PANELS):
        values = [rows[v][key] for v in variants]
        errors = [rows[v][err] for v in variants] if err else None
        ax.bar(range(len(variants)), values, yerr=errors, capsize=3, color="tab:blue")
        ax.set_xticks(range(len(variants)), variants, rotation=60, ha="right", fontsize=8)
        ax.set_title(label, fontsize=10)
        if key == "pairwise_spearman":
            ax.set_ylim(min(values) - 0.01 * (1 - min(values)) - 1e-4, 1.0 + 1e-4)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def over_time_figure(spreads: Mapping[str, Mapping[str, np.ndarray]], metric: str) -> plt.Figure:
    """SD Fig 3: per epoch, the range of the middle 95% of runs and the SD, one line per setup,
    log scale (a linear model's spread is orders of magnitude below a hidden layer's)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, spread in spreads.items():
        epochs = range(1, len(spread["sd"]) + 1)
        axes[0].plot(epochs, spread["range95"], label=name)
        axes[1].plot(epochs, spread["sd"], label=name)
    for ax, label in zip(axes, (f"{metric}: range of middle 95% of runs", f"{metric}: SD over runs")):
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(label, fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig

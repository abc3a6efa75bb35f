"""The onset figure (SD Fig. 2): variability against the epoch at which a source switches on."""

from __future__ import annotations

import pandas as pd

from ..plots import plt


def onset_figure(frame: pd.DataFrame, title: str) -> plt.Figure:
    """SD Fig. 2: accuracy SD and cross-entropy SD (± bootstrap SD of the SD) against the onset
    epoch, one line per source."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    panels = (("accuracy_sd", "accuracy_sd_sd", "Accuracy SD (%)"),
              ("cross_entropy_sd", "cross_entropy_sd_sd", "Cross-entropy SD"))
    for ax, (key, err, label) in zip(axes, panels):
        for source, part in frame.groupby("source", sort=False):
            ax.errorbar(part["onset_epoch"], part[key], yerr=part[err], marker="o", capsize=3, label=source)
        ax.set_xlabel("onset epoch E (all seeds 1 before E)")
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
    axes[0].legend(title="source", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig

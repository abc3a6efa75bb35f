"""Figures: the shared matplotlib backend (Agg) and atomic PNG + PDF output."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .io import write_atomic  # noqa: E402


def save_figure(fig: plt.Figure, png: str | os.PathLike[str], pdf: str | os.PathLike[str]) -> None:
    """Write ``fig`` atomically to both formats, then close it."""
    for path, fmt in ((png, "png"), (pdf, "pdf")):
        write_atomic(path, lambda tmp, fmt=fmt: fig.savefig(Path(tmp), format=fmt, dpi=150, bbox_inches="tight"))
    plt.close(fig)


def plateau_figure(checks: Mapping[str, Mapping]) -> plt.Figure:
    """Mean test accuracy over epochs of each recipe's plateau-check runs at E and 2E epochs."""
    fig, axes = plt.subplots(1, len(checks), figsize=(3.2 * len(checks), 3.2), squeeze=False)
    for ax, (setup, check) in zip(axes[0], checks.items()):
        for curve, style, label in (("curve", "-", "E"), ("curve_double", "--", "2E")):
            points = check[curve]
            ax.plot(points["epochs"], points["accuracy"], style, marker=".", label=f"{label} = {points['epochs'][-1]}")
        ax.set_title(f"{setup}: {check['change']:+.2f} pts", fontsize=9)
        ax.set_xlabel("epoch")
        late = check["curve_double"]["accuracy"]
        ax.set_ylim(max(0.0, min(late[len(late) // 4:]) - 2), None)  # the end of training, not epoch 1
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("mean test accuracy (%)")
    fig.tight_layout()
    return fig

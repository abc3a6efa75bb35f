"""Figures: the shared matplotlib backend (Agg) and atomic PNG + PDF output."""

from __future__ import annotations

import os
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

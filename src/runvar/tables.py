"""Table helpers shared by the studies: the variability columns, Markdown, atomic CSV/Markdown.

>>> print(markdown_table(["a", "b"], [[1, 2]]), end="")
| a | b |
|---|---|
| 1 | 2 |
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from .io import write_atomic

#: (metrics key, Markdown column, format, error-bar key or None)
SOURCES_COLUMNS: tuple[tuple[str, str, str, str | None], ...] = (
    ("accuracy_sd", "Accuracy SD (%)", "{:.3f}", "accuracy_sd_sd"),
    ("cross_entropy_sd", "Cross-entropy SD", "{:.4f}", "cross_entropy_sd_sd"),
    ("pairwise_disagreement", "Pairwise disagreement (%)", "{:.2f}", None),
    ("pairwise_spearman", "Pairwise Spearman correlation", "{:.4f}", None),
    ("ensemble_delta_accuracy", "Ensemble delta (%)", "{:.3f}", None),
    ("accuracy_mean", "Mean accuracy (%)", "{:.2f}", None),
)


METRIC_KEYS = ["runs"] + [k for k, *_ in SOURCES_COLUMNS] + [e for *_, e in SOURCES_COLUMNS if e]


def markdown_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(lines) + "\n"


NOTES = (
    "\nSD: population SD (ddof=0) over runs; ± : SD of the SD over bootstrap resamples of "
    "the runs. Pairwise metrics: means over all run pairs; ensemble delta: accuracy of the "
    "two-run logit-averaged ensemble minus the pair's mean accuracy.\n"
)


def metric_cells(row: Mapping) -> list[str]:
    """The row's :data:`SOURCES_COLUMNS` as text, SDs as "SD ± bootstrap SD-of-SD"."""
    cells = []
    for key, _, fmt, err in SOURCES_COLUMNS:
        value = row[key]
        # tiny SDs (a linear model under bitflip: ~1e-8) would print as 0.0000
        cell = f"{value:.2e}" if 0 < abs(value) < 1e-3 and err else fmt.format(value)
        if err:
            cell += " ± " + (f"{row[err]:.2e}" if 0 < abs(row[err]) < 1e-3 else fmt.format(row[err]))
        cells.append(cell)
    return cells


def write_table(frame: pd.DataFrame, markdown: str, csv_path: str | os.PathLike[str],
                md_path: str | os.PathLike[str]) -> None:
    """Write the CSV and Markdown versions atomically."""
    write_atomic(csv_path, lambda tmp: frame.to_csv(tmp, index=False, float_format="%.10g"))
    write_atomic(md_path, lambda tmp: Path(tmp).write_text(markdown))

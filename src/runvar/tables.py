"""Tables from metrics rows: CSV with numbers, Markdown with the papers' formatting."""

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


def sources_frame(rows: Mapping[str, Mapping]) -> pd.DataFrame:
    """One row per variant (in the given order) with the numeric metrics."""
    frame = pd.DataFrame([{"variant": v, **{k: row[k] for k in METRIC_KEYS}} for v, row in rows.items()])
    frame["cudnn_effective"] = [bool(row.get("cudnn_effective", False)) for row in rows.values()]
    return frame


def study_frame(rows: Mapping[tuple[str, str], Mapping]) -> pd.DataFrame:
    """One row per (setup, variant) with the numeric metrics (depth, architectures tables)."""
    return pd.DataFrame(
        [{"setup": s, "variant": v, **{k: row[k] for k in METRIC_KEYS}} for (s, v), row in rows.items()]
    )


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


def _metric_cells(row: Mapping) -> list[str]:
    cells = []
    for key, _, fmt, err in SOURCES_COLUMNS:
        value = row[key]
        # tiny SDs (a linear model under bitflip: ~1e-8) would print as 0.0000
        cell = f"{value:.2e}" if 0 < abs(value) < 1e-3 and err else fmt.format(value)
        if err:
            cell += " ± " + (f"{row[err]:.2e}" if 0 < abs(row[err]) < 1e-3 else fmt.format(row[err]))
        cells.append(cell)
    return cells


def sources_markdown(frame: pd.DataFrame, title: str) -> str:
    """The sources table as Markdown: SD columns as "SD ± bootstrap SD-of-SD"."""
    header = ["Variant", "R"] + [label for _, label, _, _ in SOURCES_COLUMNS]
    body = [[row["variant"], str(int(row["runs"]))] + _metric_cells(row) for _, row in frame.iterrows()]
    notes = NOTES
    if "cudnn" in " ".join(frame["variant"]) and not frame["cudnn_effective"].any():
        notes += (
            "`cudnn` variants ran on CPU: nondeterministic GPU kernels were requested and "
            "recorded but do not exist there, so those rows vary only their other sources.\n"
        )
    return f"## {title}\n\n" + markdown_table(header, body) + notes


def study_markdown(frame: pd.DataFrame, title: str) -> str:
    """A (setup, variant) table as Markdown, formatted like the sources table."""
    header = ["Setup", "Variant", "R"] + [label for _, label, _, _ in SOURCES_COLUMNS]
    body = [[row["setup"], row["variant"], str(int(row["runs"]))] + _metric_cells(row)
            for _, row in frame.iterrows()]
    return f"## {title}\n\n" + markdown_table(header, body) + NOTES


def write_table(frame: pd.DataFrame, markdown: str, csv_path: str | os.PathLike[str],
                md_path: str | os.PathLike[str]) -> None:
    """Write the CSV and Markdown versions atomically."""
    write_atomic(csv_path, lambda tmp: frame.to_csv(tmp, index=False, float_format="%.10g"))
    write_atomic(md_path, lambda tmp: Path(tmp).write_text(markdown))

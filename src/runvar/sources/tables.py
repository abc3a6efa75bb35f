"""The sources, depth and architectures tables (SD Tables 1, 3, 6, 8) from metrics rows."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..tables import METRIC_KEYS, NOTES, SOURCES_COLUMNS, markdown_table, metric_cells


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


def sources_markdown(frame: pd.DataFrame, title: str) -> str:
    """The sources table as Markdown: SD columns as "SD ± bootstrap SD-of-SD"."""
    header = ["Variant", "R"] + [label for _, label, _, _ in SOURCES_COLUMNS]
    body = [[row["variant"], str(int(row["runs"]))] + metric_cells(row) for _, row in frame.iterrows()]
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
    body = [[row["setup"], row["variant"], str(int(row["runs"]))] + metric_cells(row)
            for _, row in frame.iterrows()]
    return f"## {title}\n\n" + markdown_table(header, body) + NOTES

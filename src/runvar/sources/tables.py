"""The sources, depth and architectures tables (SD Tables 1, 3, 6, 8) from metrics rows."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..stats.power import runs_needed, sample_sd
from ..stats.spread import bulk_sd, outside_bulk
from ..tables import (
    CONVERGED_NOTE,
    METRIC_KEYS,
    NOTES,
    SOURCES_COLUMNS,
    converged_cells,
    converged_header,
    markdown_table,
    metric_cells,
)


#: Optional keys of a metrics row carried into the tables: the plateau check, reused runs.
EXTRA_KEYS = ("converged", "plateau_change", "trained_as", "run1_from")


#: The difference in mean accuracy (points) whose seed budget the tables show, and its column.
BUDGET_DELTA = 0.1
BUDGET_KEY = "runs_to_detect_0.1"
BUDGET_HEADER = "Runs to detect 0.1 points"
BUDGET_NOTE = (f"{BUDGET_HEADER}: runs of each of two models a two-sided t-test (5% level) needs to detect a "
               f"{BUDGET_DELTA}-point difference in mean accuracy with 80% power, from this row's SD "
               "(ddof=1; statsmodels; `runvar budget` for other differences).\n")


def _extras(row: Mapping) -> dict:
    budget = runs_needed(sample_sd(float(row["accuracy_sd"]), int(row["runs"])), BUDGET_DELTA)
    bulk = {}
    if "per_run" in row:  # the spread claims 1 and 2 compare (runvar.stats.spread), and the runs it sets aside
        accuracy = row["per_run"]["accuracy"]
        bulk = {"accuracy_bulk_sd": bulk_sd(accuracy), "runs_set_aside": outside_bulk(accuracy)}
    return {BUDGET_KEY: budget, **bulk, **{key: row[key] for key in EXTRA_KEYS if key in row}}


def sources_frame(rows: Mapping[str, Mapping]) -> pd.DataFrame:
    """One row per variant (in the given order) with the numeric metrics."""
    frame = pd.DataFrame([{"variant": v, **{k: row[k] for k in METRIC_KEYS}, **_extras(row)} for v, row in rows.items()])
    frame["cudnn_effective"] = [bool(row.get("cudnn_effective", False)) for row in rows.values()]
    return frame


def study_frame(rows: Mapping[tuple[str, str], Mapping]) -> pd.DataFrame:
    """One row per (setup, variant) with the numeric metrics (depth, architectures tables)."""
    return pd.DataFrame(
        [{"setup": s, "variant": v, **{k: row[k] for k in METRIC_KEYS}, **_extras(row)} for (s, v), row in rows.items()]
    )


def _variant_cell(row: Mapping) -> str:
    trained, first = row.get("trained_as"), row.get("run1_from")
    return (row["variant"] + (f" (= {trained} runs)" if isinstance(trained, str) else "")
            + (f" (run 1 = {first} run 1)" if isinstance(first, str) else ""))


RUN1_NOTE = ("\"run 1 = none run 1\": run 1 of a variant that varies only seeded sources has every seed 1, "
             "so it is the `none` run 1, trained once and reused (bitwise the same run).\n")


def _run1_note(frame: pd.DataFrame) -> str:
    return RUN1_NOTE if "run1_from" in frame and frame["run1_from"].notna().any() else ""


def sources_markdown(frame: pd.DataFrame, title: str) -> str:
    """The sources table as Markdown: SD columns as "SD ± bootstrap SD-of-SD"."""
    header = ["Variant", "R"] + [label for _, label, _, _ in SOURCES_COLUMNS] + [BUDGET_HEADER] + converged_header(frame)
    body = [[_variant_cell(row), str(int(row["runs"]))] + metric_cells(row) + [str(int(row[BUDGET_KEY]))]
            + converged_cells(row) for _, row in frame.iterrows()]
    notes = NOTES + BUDGET_NOTE + CONVERGED_NOTE * bool(converged_header(frame)) + _run1_note(frame)
    if "cudnn" in " ".join(frame["variant"]) and not frame["cudnn_effective"].any():
        notes += (
            "`cudnn` variants ran on CPU: nondeterministic GPU kernels were requested and "
            "recorded but do not exist there, so those rows are bitwise their twin without "
            "cuDNN and reuse its runs (\"= ... runs\").\n"
        )
    return f"## {title}\n\n" + markdown_table(header, body) + notes


def study_markdown(frame: pd.DataFrame, title: str) -> str:
    """A (setup, variant) table as Markdown, formatted like the sources table."""
    header = (["Setup", "Variant", "R"] + [label for _, label, _, _ in SOURCES_COLUMNS] + [BUDGET_HEADER]
              + converged_header(frame))
    body = [[row["setup"], _variant_cell(row), str(int(row["runs"]))] + metric_cells(row)
            + [str(int(row[BUDGET_KEY]))] + converged_cells(row) for _, row in frame.iterrows()]
    return (f"## {title}\n\n" + markdown_table(header, body) + NOTES + BUDGET_NOTE
            + CONVERGED_NOTE * bool(converged_header(frame)) + _run1_note(frame))

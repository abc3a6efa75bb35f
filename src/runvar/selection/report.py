"""The weight-selection study's tables and figures (SM Figs 1 and 2, the protocol table).

:func:`accuracy_frame` gives mean accuracy and accuracy SD per (model, k) group with the SD
reduction against learned weights (:func:`runvar.selection.stats.sd_reduction_table`);
:func:`group_figure` draws SM's Figs 1 and 2 from that frame. The SD protocol (sources, bit
flip) on one selected model, its learned twin and a twin whose bit flip hits a fixed candidate
weight instead of a score is tabulated by :func:`protocol_frame` from the ordinary per-variant
metrics rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..io import load_prediction_stack
from ..metrics import accuracies
from ..plots import plt
from ..claims import NOT_CONVERGED, PLATEAU_UNDECIDED, RUNS_TO_DECIDE_NOTE, runs_to_decide_cell
from ..plateau import UNDECIDED
from ..tables import CONVERGED_NOTE, METRIC_KEYS, SOURCES_COLUMNS, converged_cells, converged_header, markdown_table
from .plan import LEARNED
from .stats import SM_CLAIMED_REDUCTION, sd_reduction_table


def run_accuracies(prediction_paths: Sequence[str]) -> np.ndarray:
    """Test accuracy (%) of each run from its predictions file."""
    logits, labels = load_prediction_stack(list(prediction_paths))
    return accuracies(logits, labels) * 100.0


def accuracy_frame(
    groups: Sequence[Mapping[str, Any]],
    accs: Sequence[Sequence[float]],
    resamples: int,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per group: runs, mean accuracy and accuracy SD (%) with the bootstrap SD of
    the SD; selected groups add the SD reduction against their model's learned weights with
    its 95% interval and the verdict on SM's claim (:func:`runvar.selection.stats.claim_verdict`).
    """
    learned = {g["model"]: a for g, a in zip(groups, accs) if g["k"] is None}
    selected = {(g["model"], g["k"]): a for g, a in zip(groups, accs) if g["k"] is not None}
    reductions = {(r.model, r.k): r for r in sd_reduction_table(selected, learned, resamples, seed)}
    rows = []
    for group in groups:
        model, k = group["model"], group["k"]
        if k is None:
            first = next(r for r in reductions.values() if r.model == model)
            row = {"runs": first.learned_runs, "accuracy_mean": float(np.mean(learned[model])),
                   "accuracy_sd": first.learned_sd, "accuracy_sd_sd": first.learned_sd_error}
        else:
            r = reductions[(model, k)]
            row = {"runs": r.runs, "accuracy_mean": r.mean, "accuracy_sd": r.sd, "accuracy_sd_sd": r.sd_error,
                   "sd_reduction": r.reduction, "sd_reduction_ci95_low": r.reduction_ci95[0],
                   "sd_reduction_ci95_high": r.reduction_ci95[1], "verdict": r.verdict,
                   "runs_to_decide": r.runs_to_decide}
        rows.append({"model": model, "k": LEARNED if k is None else str(k), **row})
    return pd.DataFrame(rows, columns=[
        "model", "k", "runs", "accuracy_mean", "accuracy_sd", "accuracy_sd_sd",
        "sd_reduction", "sd_reduction_ci95_low", "sd_reduction_ci95_high", "verdict", "runs_to_decide",
    ])


def gate_on_plateau(frame: pd.DataFrame) -> pd.DataFrame:
    """The accuracy frame with the verdict of every selected group whose runs, or whose
    model's learned-weights runs, are not on their plateau set to ``inconclusive: not converged``
    (``inconclusive: plateau undecided`` where the check could not tell and none failed)."""
    frame = frame.copy()
    decisions = frame["plateau_decision"] if "plateau_decision" in frame else [None] * len(frame)
    gates = [PLATEAU_UNDECIDED if d == UNDECIDED else NOT_CONVERGED if not pd.isna(c) and not bool(c) else None
             for c, d in zip(frame["converged"], decisions)]
    learned = {m: g for m, k, g in zip(frame["model"], frame["k"], gates) if k == LEARNED}
    for i, (model, k, gate) in enumerate(zip(frame["model"], frame["k"], gates)):
        both = {gate, learned.get(model)}
        if k != LEARNED and both != {None}:
            frame.iloc[i, frame.columns.get_loc("verdict")] = NOT_CONVERGED if NOT_CONVERGED in both else PLATEAU_UNDECIDED
    return frame


def _percent(x: float) -> str:
    return f"{100 * x:.0f}%"


def accuracy_markdown(frame: pd.DataFrame, title: str) -> str:
    """The accuracy table as Markdown, with the verdict count on SM's 25-40% claim."""
    header = ["Model", "k", "R", "Mean accuracy (%)", "Accuracy SD (%)",
              "SD reduction vs learned [95% CI]", "Verdict", "Runs to decide"] + converged_header(frame)
    body = []
    for _, row in frame.iterrows():
        reduction = verdict = runs = ""
        if row["k"] != LEARNED:
            low, high = row["sd_reduction_ci95_low"], row["sd_reduction_ci95_high"]
            reduction = f"{_percent(row['sd_reduction'])} [{_percent(low)}, {_percent(high)}]"
            verdict, runs = row["verdict"], runs_to_decide_cell(row)
        body.append([row["model"], row["k"], int(row["runs"]), f"{row['accuracy_mean']:.2f}",
                     f"{row['accuracy_sd']:.3f} ± {row['accuracy_sd_sd']:.3f}", reduction, verdict, runs]
                    + converged_cells(row))
    counts = frame["verdict"].dropna().value_counts()
    summary = ", ".join(f"{n} {v}" for v, n in counts.items())
    low, high = SM_CLAIMED_REDUCTION
    notes = (
        f"\nSM claims weight selection lowers the accuracy SD by {_percent(low)}-{_percent(high)} "
        "against learned weights. SD: population SD over runs (variant `all`), ± its bootstrap "
        "SD; reduction = 1 - SD_k / SD_learned with a bootstrap 95% interval (runs of each group "
        "resampled independently). Verdict: `consistent` = the interval overlaps the claimed range "
        "and excludes 0; `inconclusive` = it overlaps the range but includes 0; `below` / `above` = "
        f"it lies entirely below / above the range; `{NOT_CONVERGED}`: the group's or the learned "
        f"weights' recipe is not on its plateau.\n\n{RUNS_TO_DECIDE_NOTE}\nThis run: {summary}.\n"
    ) + CONVERGED_NOTE * bool(converged_header(frame))
    return f"## {title}\n\n" + markdown_table(header, body) + notes


def group_figure(frame: pd.DataFrame, value: str, error: str, ylabel: str, title: str) -> plt.Figure:
    """SM's bar charts: one cluster per model, one bar per k and one for learned weights."""
    models = list(dict.fromkeys(frame["model"]))
    labels = list(dict.fromkeys(frame["k"]))
    width = 0.8 / len(labels)
    fig, ax = plt.subplots(figsize=(1.2 + 1.3 * len(models) * len(labels) / 2.5, 3.6))
    colors = plt.get_cmap("viridis")(np.linspace(0.15, 0.85, max(1, len(labels) - 1)))
    for i, label in enumerate(labels):
        part = frame[frame["k"] == label].set_index("model").reindex(models)
        color = "tab:red" if label == LEARNED else colors[i]
        ax.bar(np.arange(len(models)) + (i - (len(labels) - 1) / 2) * width, part[value], width,
               yerr=part[error], capsize=2, color=color, label=label if label == LEARNED else f"k = {label}")
    ax.set_xticks(range(len(models)), models)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=len(labels), loc="upper center", bbox_to_anchor=(0.5, -0.12))
    fig.tight_layout()
    return fig


def protocol_frame(rows: Sequence[Mapping[str, str]], metrics: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The protocol table: each row's labels with its variant's metrics (sources-table columns)."""
    return pd.DataFrame([
        {**row, **{key: metric[key] for key in METRIC_KEYS}, "bitwise_identical": bool(metric["bitwise_identical"])}
        for row, metric in zip(rows, metrics)
    ])


def protocol_markdown(frame: pd.DataFrame, title: str) -> str:
    """The protocol table as Markdown, SD columns as "SD ± bootstrap SD-of-SD"."""
    header = ["Weights", "Variant", "Bit flip in", "R"] + [label for _, label, _, _ in SOURCES_COLUMNS]
    header.append("Bitwise identical")
    body = []
    for _, row in frame.iterrows():
        cells = [row["weights"], row["variant"], row["flipped"], str(int(row["runs"]))]
        for key, _, fmt, err in SOURCES_COLUMNS:
            cells.append(fmt.format(row[key]) + (" ± " + fmt.format(row[err]) if err else ""))
        cells.append("yes" if row["bitwise_identical"] else "no")
        body.append(cells)
    notes = (
        "\nThe SD protocol applied to weight selection: each variant varies its sources across R "
        "runs (the sources study's R). `bitflip` changes one float32 value by one step after "
        "initialisation: a score or a fixed candidate weight of the first selection layer, or a "
        "weight of the first learned layer. Bitwise identical: all R runs gave the same test "
        "logits bit for bit.\n"
    )
    return f"## {title}\n\n" + markdown_table(header, body) + notes

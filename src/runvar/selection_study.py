"""The weight-selection study (SM) as setups, tables and figures.

The study block (``studies.selection`` of the config) names models and candidate counts k;
:func:`study_setups` turns it into one setup per (model, k) and one learned-weights setup per
model, all trained with every source varied (variant ``all``). :func:`accuracy_frame` gives
mean accuracy and accuracy SD per group with the SD reduction against learned weights
(:func:`runvar.selection_stats.sd_reduction_table`); :func:`group_figure` draws SM's Figs 1
and 2 from that frame. The SD protocol (sources, bit flip) on one selected model, its learned
twin and a twin whose bit flip hits a fixed candidate weight instead of a score is tabulated
by :func:`protocol_frame` from the ordinary per-variant metrics rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from .config import ConfigError, deep_merge, resolve_setup
from .io import load_prediction_stack
from .metrics import accuracies
from .models import build_model
from .models.weight_selection import selection_layers
from .plots import plt
from .seeds import VARIANTS
from .selection_stats import SM_CLAIMED_REDUCTION, sd_reduction_table
from .tables import SOURCES_COLUMNS, markdown_table

#: The variant of the main study: every source varied (STUDY.md, Weight selection).
STUDY_VARIANT = "all"
LEARNED = "learned"


def setup_name(model: str, k: int | None) -> str:
    """Name of the generated setup of ``model`` with ``k`` candidates (None: learned weights)."""
    return f"sel.{model}.{LEARNED if k is None else f'k{k}'}"


def candidate_flip_name(model: str, k: int) -> str:
    """Name of the twin of ``setup_name(model, k)`` whose bit flip hits a candidate weight."""
    return f"{setup_name(model, k)}.flip-candidates"


def first_selection_layer(model: str) -> str:
    """Module name of the first weight-selection layer of ``model`` (e.g. ``"1"`` for LeNet).

    Built on the meta device (no memory, no random draws) for a 1 x 40 signal with k = 2: the
    module names of the registered selection models depend neither on the input shape nor on k.
    """
    with torch.device("meta"):
        built = build_model(model, (1, 40), 10, 0, mode="select", k=2)
    layers = list(selection_layers(built))
    if not layers:
        raise ConfigError(f"studies.selection: model {model!r} has no weight-selection layer")
    return layers[0]


def _group_setup(study: Mapping, model: str, k: int | None, bitflip: str | None = None) -> dict:
    """The setup (before ``setup_defaults``) of one group: shared, then per-mode overrides."""
    mode = LEARNED if k is None else "selected"
    setup = deep_merge(study.get("setup", {}), study.get(mode, {}))
    if k is None:
        setup["model"] = {"name": model, "mode": LEARNED}
    else:
        rules = {key: study[key] for key in ("selection", "eval_selection") if key in study}
        setup["model"] = {"name": model, "mode": "select", "k": k, **rules}
    if bitflip is not None:
        setup["bitflip"] = {"parameter": bitflip}
    return setup


def study_setups(study: Mapping) -> dict[str, dict]:
    """Every setup the study trains, by name, as overrides of ``setup_defaults``.

    Selection setups flip one score of the first selection layer under the ``bitflip``
    variant; the protocol's twin (:func:`candidate_flip_name`) flips one of its candidates.
    """
    setups: dict[str, dict] = {}
    for model in study["models"]:
        layer = first_selection_layer(model)
        for k in study["ks"]:
            setups[setup_name(model, k)] = _group_setup(study, model, k, f"{layer}.scores")
        setups[setup_name(model, None)] = _group_setup(study, model, None)
    protocol = study.get("protocol")
    if protocol:
        model, k = protocol["model"], protocol["k"]
        layer = first_selection_layer(model)
        setups.setdefault(setup_name(model, k), _group_setup(study, model, k, f"{layer}.scores"))
        setups.setdefault(setup_name(model, None), _group_setup(study, model, None))
        setups[candidate_flip_name(model, k)] = _group_setup(study, model, k, f"{layer}.candidates")
    return setups


def resolve_study_setups(config: Mapping) -> dict[str, dict]:
    """The study's setups resolved as config setups are (:func:`runvar.config.resolve_setup`).

    Raises :class:`ConfigError` when an override block sets the model, a generated name
    clashes with a config setup, a setup's dataset is not defined, the setups use more than
    one dataset, or a protocol variant is unknown.
    """
    study = config["studies"]["selection"]
    problems = [
        f"studies.selection.{block}.model: the study sets each setup's model; "
        "use studies.selection.models, ks, selection and eval_selection"
        for block in ("setup", "selected", "learned") if "model" in study.get(block, {})
    ]
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    generated = study_setups(study)
    problems = [
        f"setups.{name}: clashes with a setup the selection study generates; rename it"
        for name in generated if name in config.get("setups", {})
    ]
    merged = {**config, "setups": generated}
    resolved = {name: resolve_setup(merged, name) for name in generated}
    datasets = sorted({setup.get("dataset") for setup in resolved.values()}, key=str)
    for dataset in datasets:
        if dataset not in config.get("datasets", {}):
            problems.append(
                f"studies.selection.setup.dataset: {dataset!r} is not defined under datasets; "
                f"defined datasets: {sorted(config.get('datasets', {}))}"
            )
    if len(datasets) > 1:
        problems.append(f"studies.selection: all groups must use one dataset; got {datasets}")
    for variant in study.get("protocol", {}).get("variants", []):
        if variant not in VARIANTS:
            problems.append(
                f"studies.selection.protocol.variants: unknown variant {variant!r}; "
                f"valid variants: {list(VARIANTS)}"
            )
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    return resolved


def study_groups(study: Mapping) -> list[dict[str, Any]]:
    """The (model, k) groups of the main study in table order; ``k`` None = learned weights."""
    return [
        {"model": model, "k": k, "setup": setup_name(model, k)}
        for model in study["models"]
        for k in [*study["ks"], None]
    ]


def protocol_rows(study: Mapping) -> list[dict[str, str]]:
    """The protocol table's rows: (weights, flipped tensor, setup, variant), in table order.

    Every variant runs on the selected setup and its learned twin; the ``bitflip`` variant
    also runs on the candidate-flip twin.
    """
    protocol = study["protocol"]
    model, k = protocol["model"], protocol["k"]
    selected = f"selected (k={k})"
    rows = []
    for variant in protocol["variants"]:
        rows.append({"weights": selected, "flipped": "scores" if variant == "bitflip" else "",
                     "setup": setup_name(model, k), "variant": variant})
        if variant == "bitflip":
            rows.append({"weights": selected, "flipped": "candidates",
                         "setup": candidate_flip_name(model, k), "variant": variant})
        rows.append({"weights": LEARNED, "flipped": "weights" if variant == "bitflip" else "",
                     "setup": setup_name(model, None), "variant": variant})
    return rows


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
    its 95% interval and the verdict on SM's claim (:func:`runvar.selection_stats.claim_verdict`).
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
                   "sd_reduction_ci95_high": r.reduction_ci95[1], "verdict": r.verdict}
        rows.append({"model": model, "k": LEARNED if k is None else str(k), **row})
    return pd.DataFrame(rows, columns=[
        "model", "k", "runs", "accuracy_mean", "accuracy_sd", "accuracy_sd_sd",
        "sd_reduction", "sd_reduction_ci95_low", "sd_reduction_ci95_high", "verdict",
    ])


def _percent(x: float) -> str:
    return f"{100 * x:.0f}%"


def accuracy_markdown(frame: pd.DataFrame, title: str) -> str:
    """The accuracy table as Markdown, with the verdict count on SM's 25-40% claim."""
    header = ["Model", "k", "R", "Mean accuracy (%)", "Accuracy SD (%)",
              "SD reduction vs learned [95% CI]", "Verdict"]
    body = []
    for _, row in frame.iterrows():
        reduction = verdict = ""
        if row["k"] != LEARNED:
            low, high = row["sd_reduction_ci95_low"], row["sd_reduction_ci95_high"]
            reduction = f"{_percent(row['sd_reduction'])} [{_percent(low)}, {_percent(high)}]"
            verdict = row["verdict"]
        body.append([row["model"], row["k"], int(row["runs"]), f"{row['accuracy_mean']:.2f}",
                     f"{row['accuracy_sd']:.3f} ± {row['accuracy_sd_sd']:.3f}", reduction, verdict])
    counts = frame["verdict"].dropna().value_counts()
    summary = ", ".join(f"{n} {v}" for v, n in counts.items())
    low, high = SM_CLAIMED_REDUCTION
    notes = (
        f"\nSM claims weight selection lowers the accuracy SD by {_percent(low)}-{_percent(high)} "
        "against learned weights. SD: population SD over runs (variant `all`), ± its bootstrap "
        "SD; reduction = 1 - SD_k / SD_learned with a bootstrap 95% interval (runs of each group "
        "resampled independently). Verdict: `consistent` = the interval overlaps the claimed range "
        "and excludes 0; `inconclusive` = it overlaps the range but includes 0; `below` / `above` = "
        f"it lies entirely below / above the range.\n\nThis run: {summary}.\n"
    )
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


def memory_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """:func:`runvar.selection_stats.memory_table` rows as a frame, ``k`` as text."""
    frame = pd.DataFrame(list(rows))
    frame["k"] = frame["k"].astype(str)
    return frame


def memory_markdown(frame: pd.DataFrame, title: str) -> str:
    """Parameter and memory counts per (model, k) as Markdown."""
    header = ["Model", "k", "Trainable", "Fixed candidates", "Connections", "State (KiB)", "Compact (KiB)"]
    body = [
        [r["model"], r["k"], f"{r['trainable_parameters']:,}", f"{r['fixed_candidates']:,}",
         f"{r['connections']:,}", f"{r['state_bytes'] / 1024:,.1f}", f"{r['compact_bytes'] / 1024:,.1f}"]
        for _, r in frame.iterrows()
    ]
    notes = (
        "\nTrainable: elements the optimizer updates (k scores per connection, or the learned "
        "weights). Fixed candidates: k random weights per connection, never updated. State: "
        "float32 parameters and buffers (what a checkpoint holds). Compact: ceil(log2 k) bits per "
        "selected connection, the candidates being rebuilt from the init seed (learned: every "
        "weight in float32).\n"
    )
    return f"## {title}\n\n" + markdown_table(header, body) + notes


def protocol_frame(rows: Sequence[Mapping[str, str]], metrics: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The protocol table: each row's labels with its variant's metrics (sources-table columns)."""
    keys = ["runs"] + [k for k, *_ in SOURCES_COLUMNS] + [e for *_, e in SOURCES_COLUMNS if e]
    return pd.DataFrame([
        {**row, **{key: metric[key] for key in keys}, "bitwise_identical": bool(metric["bitwise_identical"])}
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

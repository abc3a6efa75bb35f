"""Reading and checking the runs given on the command line, and printing results."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..io import load_json, load_npz, load_prediction_stack
from ..stats.pairwise import NpyStack, RunStack, as_stack
from ..tables import markdown_table


@dataclass
class Runs:
    """R runs' logits ((R, N, C) array, or a file-backed stack for .npy) and their labels."""

    logits: np.ndarray | RunStack
    labels: np.ndarray
    paths: list[Path]

    @property
    def count(self) -> int:
        return self.logits.shape[0]


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--labels", metavar="FILE",
                        help="test labels for .npy logits: a .npy of N integers or a .npz with 'labels'")


def add_format_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help="a Markdown table (default) or JSON")


def load_runs(paths: list[str], labels_path: str | None = None, what: str = "runs") -> Runs:
    """The runs in ``paths``: all ``.npz`` prediction files, or all ``.npy`` logits (one file of
    shape (R, N, C) or one (N, C) file per run) with ``labels_path``."""
    files = [Path(p) for p in paths]
    suffixes = {f.suffix for f in files}
    if suffixes == {".npz"}:
        if labels_path:
            raise ValueError("--labels is for .npy logits; .npz prediction files hold their own labels")
        logits, labels = load_prediction_stack(files)  # checks shapes, labels, NaN per file
    elif suffixes == {".npy"}:
        if not labels_path:
            raise ValueError(f"{files[0]}: .npy logits need --labels FILE (the test labels)")
        for path in files:
            if not path.exists():
                raise FileNotFoundError(f"{path} does not exist")
        logits = NpyStack(files[0] if len(files) == 1 else files)
        if logits.dtype != np.float32:
            raise ValueError(f"{files[0]}: logits are {logits.dtype}, expected float32")
        for r in range(logits.shape[0]):
            _check_finite(logits.run(r), files[r] if len(files) > 1 else f"{files[0]} (run {r})")
        labels = load_labels(Path(labels_path), logits.shape[1], logits.shape[2])
    else:
        raise ValueError(f"expected .npz prediction files or .npy logits, got {', '.join(sorted(suffixes))} "
                         f"({files[0]})")
    if logits.shape[0] < 2:
        raise ValueError(f"{what} need at least 2 runs, got {logits.shape[0]} ({files[0]})")
    return Runs(logits, labels, files)


def _check_finite(logits: np.ndarray, where: Any) -> None:
    bad = ~np.isfinite(logits)
    if bad.any():
        example, cls = np.argwhere(bad)[0]
        raise ValueError(f"{where}: {int(bad.sum())} logits are NaN or infinite "
                         f"(first at example {example}, class {cls})")


def load_labels(path: Path, examples: int, classes: int) -> np.ndarray:
    """Labels from a .npy of integers or a .npz with a 'labels' array, checked against the logits."""
    if path.suffix == ".npz":
        labels = load_npz(path, {"labels": 1})["labels"]
    elif not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    else:
        labels = np.load(path, allow_pickle=False)
    if labels.shape != (examples,):
        raise ValueError(f"{path}: labels have shape {labels.shape}, the logits have {examples} examples")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{path}: labels are {labels.dtype}, expected integers")
    if examples and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"{path}: labels must lie in [0, {classes}), got {labels.min()}..{labels.max()}")
    return labels.astype(np.int64)


def same_labels(a: Runs, b: Runs) -> None:
    """Both sets of runs must be on the same test set."""
    if a.logits.shape[1:] != b.logits.shape[1:]:
        raise ValueError(f"{b.paths[0]}: logits (examples, classes) {tuple(b.logits.shape[1:])} differ from "
                         f"{tuple(a.logits.shape[1:])} of {a.paths[0]}")
    if not np.array_equal(a.labels, b.labels):
        raise ValueError(f"{b.paths[0]}: labels differ from those of {a.paths[0]}; compare runs on the same test set")


def run_accuracies(runs: Runs) -> np.ndarray:
    """Each run's test accuracy in points, reading one run at a time."""
    stack = as_stack(runs.logits)
    return np.array([np.mean(stack.run(r).argmax(axis=1) == runs.labels) * 100.0 for r in range(stack.shape[0])])


def load_row(path: str) -> dict[str, Any]:
    """A metrics row (``results/metrics/{setup}/{variant}.json``)."""
    row = load_json(path)
    missing = [k for k in ("runs", "accuracy_sd") if not isinstance(row, dict) or k not in row]
    if missing:
        raise ValueError(f"{path}: not a metrics row (lacks {', '.join(missing)})")
    return row


def emit(args: argparse.Namespace, result: dict[str, Any], table: str) -> None:
    """Print ``result`` as JSON (``--format json``) or ``table``."""
    print(json.dumps(result, indent=2, sort_keys=True) if args.format == "json" else table, end="\n" * (args.format == "json"))


def number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ", ".join(number(v) for v in value) + "]"
    return str(value)


def key_value_table(result: dict[str, Any]) -> str:
    """The scalar entries of ``result`` as a two-column Markdown table."""
    return markdown_table(["quantity", "value"],
                          [[k, number(v)] for k, v in result.items() if not isinstance(v, dict)])

"""Reading and checking the runs given on the command line, and printing results.

Prediction files of the workflow (``results/runs/{setup}/{variant}/seed{r}/predictions.npz``)
come with their ``run.json``: the runs given must then make one row, one setup and one variant
(:func:`row_of`; the `none` run 1 that a single-source variant reuses as its run 1 belongs to
that variant's row, in any order), and be alike (:func:`runvar.execution.check_alike`). Giving
runs of several rows is an input error, named as such, unless ``--allow-pooling`` says to pool
them knowingly.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..execution import PoolingAdvice, check_alike, run_names
from ..io import CorruptFileError, load_json, load_npz, load_prediction_stack
from ..seeds import VARIANTS, first_run_is_none
from ..stats.pairwise import NpyStack, RunStack, as_stack
from ..tables import markdown_table

#: The option of every subcommand that pools runs of several rows, or unlike runs, knowingly.
POOLING_OPTION = "--allow-pooling"
#: What a refusal to pool advises on the command line: no run is removed (the files are the input).
COMMAND_ADVICE = PoolingAdvice(f"pass {POOLING_OPTION}", retrain=False)
#: What a run.json must hold for the command to read it.
RECORD_KEYS = ("setup", "variant", "run", "execution", "config_digest", "wall_seconds")


@dataclass
class Runs:
    """R runs' logits ((R, N, C) array, or a file-backed stack for .npy) and their labels; for
    prediction files with a run.json beside each, the records and the row they make."""

    logits: np.ndarray | RunStack
    labels: np.ndarray
    paths: list[Path]
    records: list[dict[str, Any]] | None = None
    variant: str | None = None

    @property
    def count(self) -> int:
        return self.logits.shape[0]


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--labels", metavar="FILE",
                        help="test labels for .npy logits: a .npy of N integers or a .npz with 'labels'")
    parser.add_argument(POOLING_OPTION, action="store_true",
                        help="pool runs of several setups or variants, or runs that are not alike (other code, "
                             "libraries, threads or CPU kernels), knowingly; without it such runs are refused")


def add_format_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help="a Markdown table (default) or JSON")


def load_runs(paths: Sequence[str | Path], labels_path: str | None = None, what: str = "runs",
              variant: str | None = None, allow_pooling: bool = False) -> Runs:
    """The runs in ``paths``: all ``.npz`` prediction files, or all ``.npy`` logits (one file of
    shape (R, N, C) or one (N, C) file per run) with ``labels_path``. Prediction files with a
    run.json beside each must make one row (:func:`row_of`; ``variant`` names it instead) of
    alike runs, unless ``allow_pooling``."""
    if not paths:
        raise ValueError(f"{what}: no prediction files given")
    files = [Path(p) for p in paths]
    repeated = sorted({str(f) for f in files if files.count(f) > 1})
    if repeated:
        raise ValueError(f"{', '.join(repeated)}: given more than once; each run counts once in a row")
    suffixes = {f.suffix for f in files}
    records = None
    if suffixes == {".npz"}:
        if labels_path:
            raise ValueError("--labels is for .npy logits; .npz prediction files hold their own labels")
        for path in files:
            if not path.exists():
                raise FileNotFoundError(f"{path} does not exist")
        records = load_records(files)
        if records is not None:  # runs in run order, as the workflow pools them (whatever the glob's order)
            order = sorted(range(len(files)), key=lambda i: int(records[i]["run"]))
            files, records = [files[i] for i in order], [records[i] for i in order]
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
    row_variant = None
    if records is not None:
        row_variant = variant or row_of(records, files, allow_pooling)
        check_alike(records, [f.parent for f in files], allow_pooling,
                    f"{records[0]['setup']}/{row_variant} ({what})", COMMAND_ADVICE)
    return Runs(logits, labels, files, records, row_variant)


def missing_run_one(runs: Runs) -> str | None:
    """Why the runs given are not the workflow's row when they lack its run 1, the `none` run 1
    of a variant that varies only seeded sources (``results/runs/SETUP/VARIANT/seed*`` misses
    it); None otherwise."""
    if runs.records is None or runs.variant is None or not first_run_is_none(runs.variant):
        return None
    if any(int(r["run"]) == 1 for r in runs.records):
        return None
    setup = runs.records[0]["setup"]
    return (f"run 1 of {setup}/{runs.variant} is the `none` run 1 (runs/{setup}/none/seed1), not given: these "
            f"{runs.count} runs are not the workflow's row; `runvar metrics --row {setup}/{runs.variant}` finds all")


def load_records(files: Sequence[Path]) -> list[dict[str, Any]] | None:
    """The run.json beside each prediction file; None when no file has one (predictions of
    your own). Some with and some without is an error naming those without."""
    records = [f.parent / "run.json" for f in files]
    missing = [str(r) for r in records if not r.exists()]
    if len(missing) == len(records):
        return None
    if missing:
        raise ValueError(f"{', '.join(missing)}: missing, while the other prediction files have a run.json beside "
                         "them; give runs of the workflow (each with its run.json) or predictions of your own, "
                         "not both")
    loaded = []
    for path in records:
        record = load_json(path)
        lacks = [k for k in RECORD_KEYS if not isinstance(record, dict) or k not in record]
        if lacks:
            raise CorruptFileError(f"{path}: not a run record of the workflow (lacks {', '.join(lacks)})")
        loaded.append(record)
    return loaded


def row_of(records: Sequence[Mapping[str, Any]], files: Sequence[Path], allow_pooling: bool = False) -> str:
    """The variant of the row the runs make, from every run's record (not the first's): the
    variant of all runs but a `none` run 1, which a variant that varies only seeded sources
    reuses as its run 1 (:func:`runvar.seeds.first_run_is_none`). Runs of several setups or
    variants are an input error naming the files of each (with ``allow_pooling``: the first
    run's setup and the variant of most runs, pooled knowingly)."""
    setups = _grouped(files, [str(r["setup"]) for r in records])
    rows = _grouped(files, [f"{r['setup']}/{r['variant']}/run {r['run']}" for r in records])
    twice = {row: names for row, names in rows.items() if len(names) > 1}
    if twice:
        row, names = next(iter(twice.items()))
        raise ValueError(f"{', '.join(names)}: the same run ({row}) given more than once")
    reused = [r["variant"] == "none" and int(r["run"]) == 1 for r in records]
    others = _grouped([f for f, u in zip(files, reused) if not u],
                      [str(r["variant"]) for r, u in zip(records, reused) if not u])
    variant = next(iter(others)) if len(others) == 1 else "none" if not others else None
    if variant is not None and any(reused) and not (variant == "none" or first_run_is_none(variant)):
        others["none (run 1)"] = [n for n, u in zip(run_names([f.parent for f in files]), reused) if u]
        variant = None
    if len(setups) == 1 and variant is not None:
        return variant
    if allow_pooling:
        return variant or max(others, key=lambda v: len(others[v]))
    what = (f"runs of {len(setups)} setups ({_listed(setups)})" if len(setups) > 1
            else f"runs of {len(others)} variants ({_listed(others)})")
    name_it = "" if len(setups) > 1 else "--variant NAME to name the row they make, "
    raise ValueError(f"the files are {what}, an input error: a row pools the runs of one setup and variant (and a "
                     "variant's run 1 may be the `none` run 1); give one row's runs (runvar metrics --row "
                     f"SETUP/VARIANT finds them), {name_it}or {POOLING_OPTION} to pool them knowingly")


def _grouped(files: Sequence[Path], keys: Sequence[str]) -> dict[str, list[str]]:
    names = run_names([f.parent for f in files])
    groups: dict[str, list[str]] = {}
    for key, name in zip(keys, names):
        groups.setdefault(key, []).append(name)
    return groups


def _listed(groups: Mapping[str, Sequence[str]]) -> str:
    return "; ".join(f"{key}: {', '.join(names)}" for key, names in groups.items())


def row_files(row: str, results: str | Path = "results", runs: int | None = None) -> list[Path]:
    """The prediction files of the metrics row ``row`` (``SETUP/VARIANT``) under ``results``,
    found as the workflow finds them (:func:`runvar.seeds.trained_variant`): run 1 of a variant
    that varies only seeded sources is the `none` run 1, and a cuDNN variant trained on a CPU
    is its twin without cuDNN (its own folder holds its runs only when it ran on a GPU). R is
    ``runs``, else the row's own ``runs`` (results/metrics/SETUP/VARIANT.json), else every run
    found from run 1 on."""
    from ..seeds import trained_variant
    from ..studies import METRICS_JSON, RUN_DIR

    setup, _, variant = row.partition("/")
    if not setup or "/" in variant or variant not in VARIANTS:
        raise ValueError(f"--row {row!r}: expected SETUP/VARIANT with VARIANT one of {', '.join(VARIANTS)}")
    base = Path(results)
    own = base / Path(RUN_DIR.format(setup=setup, variant=variant, seed=1)).relative_to("results").parent
    device = "cuda" if own.is_dir() and trained_variant(variant, 2, "cpu") != variant else "cpu"

    def run_file(r: int) -> Path:
        run_dir = RUN_DIR.format(setup=setup, variant=trained_variant(variant, r, device), seed=r)
        return base / Path(run_dir).relative_to("results") / "predictions.npz"

    metrics = base / Path(METRICS_JSON.format(setup=setup, variant=variant)).relative_to("results")
    if runs is None and metrics.exists():
        runs = int(load_row(str(metrics))["runs"])
    if runs is None:
        runs = 0
        while run_file(runs + 1).exists():
            runs += 1
        if not runs:
            raise FileNotFoundError(f"--row {row}: no run found under {base} (run 1 would be {run_file(1)})")
    files = [run_file(r) for r in range(1, runs + 1)]
    missing = [f"{f} (run {r})" for r, f in enumerate(files, 1) if not f.exists()]
    if missing:
        raise FileNotFoundError(f"--row {row}: {len(missing)} of its {runs} runs missing: {', '.join(missing)}")
    return files


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
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path} does not exist (a metrics row is a file results/metrics/SETUP/VARIANT.json)")
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

"""Files: atomic writes, predictions/JSON that fail with a clear message when damaged, and
job logs (:func:`log_to`)."""

from __future__ import annotations

import csv
import json
import os
import secrets
import sys
import time
import traceback
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np


class CorruptFileError(ValueError):
    """A results or data file that is truncated, corrupt, or not what it should contain."""


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    A killed or failing writer leaves no file at ``path`` that looks finished. The file gets
    the permissions a plain ``open(path, "w")`` would give it (``0o666`` less the umask, or
    what the directory's default ACL says), so collaborators in the group can read results;
    :func:`tempfile.mkstemp` would make it ``0o600``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temp(path)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _create_temp(path: Path) -> str:
    """Create an empty, uniquely named temporary file beside ``path``; return its name.

    Like :func:`tempfile.mkstemp` (``O_EXCL``, so never an existing file), but with mode
    ``0o666``: the kernel applies the umask as for any new file, and the umask is never read
    or changed (``os.umask`` can only read it by setting it, process-wide).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(path.parent, f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            os.close(os.open(tmp, flags, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"no free temporary name beside {path}")


def replace_between(text: str, start: str, end: str, body: str, what: str = "generated-block") -> str:
    r"""``text`` with what lies between the marker lines ``start`` and ``end`` replaced by ``body``
    (generated blocks in Markdown files); a clear error when a marker is missing.

    >>> replace_between("a\n<!-- s -->\nold\n<!-- e -->\nz", "<!-- s -->", "<!-- e -->", "new\n")
    'a\n<!-- s -->\nnew\n<!-- e -->\nz'
    """
    if start not in text or end not in text:
        raise ValueError(f"{what} markers not found; expected the lines {start!r} and {end!r}")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}{end}{tail}"


def write_atomic(path: str | os.PathLike[str], write: Callable[[Path], Any]) -> None:
    """Call ``write(tmp_path)`` and move the result onto ``path`` atomically."""
    with atomic_path(path) as tmp:
        write(tmp)


def save_npz(path: str | os.PathLike[str], **arrays: np.ndarray) -> None:
    """Atomically write arrays to an uncompressed ``.npz``."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    write_atomic(path, write)


def load_npz(
    path: str | os.PathLike[str], required: dict[str, int | None]
) -> dict[str, np.ndarray]:
    """Read a ``.npz`` and check it holds ``required`` arrays (name -> ndim, None for any)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as err:
        raise CorruptFileError(
            f"{path} is truncated or corrupt ({type(err).__name__}: {err}); "
            "delete it and rerun the workflow to recreate it"
        ) from None
    for name, ndim in required.items():
        if name not in arrays:
            raise CorruptFileError(
                f"{path} lacks array {name!r} (has {sorted(arrays)}); expected {sorted(required)}"
            )
        if ndim is not None and arrays[name].ndim != ndim:
            raise CorruptFileError(
                f"{path}: array {name!r} has {arrays[name].ndim} dimensions, expected {ndim}"
            )
    return arrays


def save_predictions(
    path: str | os.PathLike[str],
    logits: np.ndarray,
    labels: np.ndarray,
    snapshot_logits: np.ndarray | None = None,
) -> None:
    """Write one run's test logits (float32, N x C), labels (int64, N) and, for a snapshot
    ensemble run, the logits at every cycle end (float32, cycles x N x C)."""
    arrays = {"logits": np.asarray(logits, dtype=np.float32), "labels": np.asarray(labels, np.int64)}
    if snapshot_logits is not None:
        arrays["snapshot_logits"] = np.asarray(snapshot_logits, dtype=np.float32)
    save_npz(path, **arrays)


def load_predictions(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read and validate one run's (logits, labels)."""
    arrays = load_npz(path, {"logits": 2, "labels": 1})
    logits, labels = arrays["logits"], arrays["labels"]
    if logits.dtype != np.float32:
        raise CorruptFileError(f"{path}: logits are {logits.dtype}, expected float32")
    if logits.shape[0] != labels.shape[0]:
        raise CorruptFileError(
            f"{path}: {logits.shape[0]} rows of logits but {labels.shape[0]} labels"
        )
    if not np.isfinite(logits).all():
        raise CorruptFileError(f"{path}: logits contain NaN or infinity (did training diverge?)")
    if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise CorruptFileError(
            f"{path}: labels must lie in [0, {logits.shape[1]}), got [{labels.min()}, {labels.max()}]"
        )
    return logits, labels


def load_prediction_stack(paths: list[str] | list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Stack several runs' predictions into (R, N, C) logits; all must share the same labels."""
    if not paths:
        raise ValueError("no prediction files given")
    stack, labels = [], None
    for path in paths:
        logits, run_labels = load_predictions(path)
        if labels is None:
            labels = run_labels
        elif not np.array_equal(labels, run_labels):
            raise CorruptFileError(f"{path}: labels differ from those of {paths[0]}")
        if stack and logits.shape != stack[0].shape:
            raise CorruptFileError(f"{path}: logits shape {logits.shape} != {stack[0].shape}")
        stack.append(logits)
    return np.stack(stack), labels


def seed_of_run_dir(path: str | os.PathLike[str]) -> int:
    """The seed (run number) of a run directory, named ``seed{r}``: a training job reads its
    runs' seeds from its output directories, so that the seeds need not be a rule param (a
    param holding the job's chunk of seeds would retrain every run when
    ``train.seeds_per_job`` changes).

    >>> seed_of_run_dir("results/runs/cnn1d/all/seed7")
    7
    """
    name = Path(path).name
    if not (name.startswith("seed") and name[4:].isdigit() and int(name[4:]) >= 1):
        raise ValueError(f"{path}: a run directory is named seed{{r}} with r >= 1, got {name!r}")
    return int(name[4:])


def history_matrix(paths: Sequence[str | os.PathLike[str]], column: str = "test_cross_entropy") -> np.ndarray:
    """(R, epochs) matrix of one history column over runs; all runs must have the same epochs
    (NaN where a run's test set was not evaluated that epoch)."""
    rows = []
    for path in paths:
        with open(path, newline="") as fh:
            rows.append([float(r[column]) for r in csv.DictReader(fh)])
    if len({len(r) for r in rows}) != 1:
        raise ValueError(f"histories have different numbers of epochs: {sorted({len(r) for r in rows})}")
    return np.array(rows)


def save_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON."""

    def write(tmp: Path) -> None:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")

    write_atomic(path, write)


def load_json(path: str | os.PathLike[str]) -> Any:
    """Read JSON, naming the file when it is not valid JSON."""
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise CorruptFileError(f"{path} is not valid JSON ({err}); delete it and rerun") from None


@contextmanager
def log_to(path: str | os.PathLike[str]) -> Iterator[Callable[[str], None]]:
    """Yield ``log(line)``: each line goes, time-stamped, to ``path`` and to stderr.

    An exception is written to the log with its traceback and re-raised, so the log of a
    failed job says why it failed.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", buffering=1) as fh:

        def log(line: str) -> None:
            stamped = f"[{time.strftime('%H:%M:%S')}] {line}"
            fh.write(stamped + "\n")
            print(stamped, file=sys.stderr, flush=True)

        try:
            yield log
        except BaseException:
            fh.write(traceback.format_exc())
            raise

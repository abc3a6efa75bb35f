"""Which code trained a run, whether the runs of one row are alike, and global generators that
make a leak of randomness show.

Every ``run.json`` records :func:`code_record`: ``code_digest`` (a SHA-256 of the installed
``runvar`` package's source files, path and content, in path order) and ``git_describe``
(``git describe --always --dirty`` of the checkout the package lives in, None outside one).
A metrics row pools only runs that are alike (:data:`ALIKE_KEYS`: config digest, code digest,
library versions, threads, device and CPU kernels); :func:`check_alike` refuses any other row
with one message naming the runs on each side, what differs, and the command that retrains the
stale ones, unless the config's ``provenance.allow_pooling`` says to pool them knowingly.

Training jobs call :func:`seed_global_generators` first: torch's, numpy's and Python's global
generators start from the operating system's entropy, so code that draws from them (instead of
a run's per-source generators) gives other numbers in every run and breaks the ``none`` row.

>>> check_alike([{"code_digest": "a"}, {"code_digest": "a"}], ["r/seed1", "r/seed2"]) is None
True
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

#: The installed runvar package, whose source files :func:`code_digest` hashes.
PACKAGE_DIR = Path(__file__).resolve().parent

#: What a run's record must agree on with the other runs of its row: (label, path in run.json).
ALIKE_KEYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("config_digest", ("config_digest",)),
    ("code_digest", ("code_digest",)),
    *((f"versions.{lib}", ("versions", lib)) for lib in ("runvar", "python", "torch", "numpy", "cuda", "cudnn")),
    ("execution.threads", ("execution", "threads")),
    ("execution.device", ("execution", "device")),
    ("hardware.torch_cpu_capability", ("hardware", "torch_cpu_capability")),
    ("hardware.cpu_isa_environment", ("hardware", "cpu_isa_environment")),
    ("hardware.gpu_name", ("hardware", "gpu_name")),
)
#: The config key that lets a row pool runs that are not alike.
ALLOW_POOLING_KEY = "provenance.allow_pooling"
#: The record key whose absence marks a run trained before run.json recorded its code.
_MARKER = "code_digest"
_MISSING = "missing (trained before run.json recorded its code)"


class ProvenanceError(RuntimeError):
    """The runs of one metrics row differ in config, code, libraries, threads or CPU kernels."""


@lru_cache(maxsize=None)
def code_digest(package_dir: str | os.PathLike[str] = PACKAGE_DIR) -> str:
    """SHA-256 (hex) over the package's ``.py`` files, sorted by path relative to
    ``package_dir``: each file's relative path and content, length-prefixed."""
    root = Path(package_dir)
    files = sorted((p.relative_to(root).as_posix(), p) for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    sha = hashlib.sha256()
    for relative, path in files:
        for part in (relative.encode(), path.read_bytes()):
            sha.update(len(part).to_bytes(8, "little"))
            sha.update(part)
    return sha.hexdigest()


@lru_cache(maxsize=None)
def git_describe(path: str | os.PathLike[str] = PACKAGE_DIR) -> str | None:
    """``git describe --always --dirty`` of the git checkout holding ``path``; None when ``path``
    is not tracked in one (an installed package, an ignored virtual environment) or git is
    missing."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, timeout=30)

    try:
        if git("rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
            return None
        if git("check-ignore", "-q", str(path)).returncode == 0:  # e.g. site-packages in .venv/
            return None
        described = git("describe", "--always", "--dirty")
    except (OSError, subprocess.SubprocessError):
        return None
    if described.returncode != 0:
        return None
    return described.stdout.strip() or None


def code_record() -> dict[str, str | None]:
    """The run.json entries naming the code that trained a run."""
    return {"code_digest": code_digest(), "git_describe": git_describe()}


def seed_global_generators() -> int:
    """Seed torch's (CPU and CUDA), numpy's and Python's global generators from the operating
    system's entropy; returns the seed. A job calls it before anything else, so any draw that
    escapes the per-source generators differs between runs and fails the ``none`` row."""
    import numpy as np
    import torch

    seed = int.from_bytes(os.urandom(8), "little")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return seed


def _value(record: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = record
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _show(label: str, value: Any) -> str:
    if value is None:
        return _MISSING if label == _MARKER else "not recorded"
    text = repr(value)
    return repr(value[:12]) if label.endswith("_digest") and isinstance(value, str) else text


def differences(records: Sequence[Mapping[str, Any]], names: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    """The :data:`ALIKE_KEYS` in which the records differ: label -> shown value -> run names.
    A run without ``code_digest`` (from before provenance) differs from every run that has one
    and from the current code, even when no run of the row has one."""
    found: dict[str, dict[str, list[str]]] = {}
    for label, path in ALIKE_KEYS:
        groups: dict[str, list[str]] = {}
        for record, name in zip(records, names):
            groups.setdefault(_show(label, _value(record, path)), []).append(name)
        if len(groups) > 1 or (label == _MARKER and _MISSING in groups):
            found[label] = groups
    return found


def current_values() -> dict[str, Any]:
    """This process's code digest and library versions, the values a retrained run would record."""
    from .execution import versions

    now = {"code_digest": code_digest()}
    return {**now, **{label: _value({"versions": versions()}, path)
                      for label, path in ALIKE_KEYS if label.startswith("versions.")}}


def stale_runs(records: Sequence[Mapping[str, Any]], dirs: Sequence[str]) -> list[str]:
    """The run directories whose code or library versions are not this process's (those a rerun
    retrains into alike runs); all of them when every run matches (the difference is in the
    config, threads or kernels, which only retraining the whole row settles)."""
    now = current_values()
    paths = dict(ALIKE_KEYS)
    stale = [d for record, d in zip(records, dirs)
             if any(_value(record, paths[label]) != value for label, value in now.items())]
    return stale or list(dirs)


def check_alike(records: Sequence[Mapping[str, Any]], run_dirs: Sequence[str | os.PathLike[str]],
                allow_pooling: bool = False, row: str = "this row") -> dict[str, dict[str, list[str]]] | None:
    """None when the runs' records agree on every :data:`ALIKE_KEYS` entry. Otherwise raise
    :class:`ProvenanceError` naming the runs on each side, what differs and the command that
    retrains the stale runs; with ``allow_pooling``, return the differences instead (the row
    records them as ``pooled_unlike``)."""
    found = differences(records, [Path(d).name for d in run_dirs])
    if not found:
        return None
    if allow_pooling:
        return found
    raise ProvenanceError(unlike_message(records, run_dirs, found, row))


def unlike_message(records: Sequence[Mapping[str, Any]], run_dirs: Sequence[str | os.PathLike[str]],
                   found: Mapping[str, Mapping[str, Sequence[str]]], row: str = "this row") -> str:
    """The one message for runs that are not alike: what differs, the runs on each side, the fix."""
    dirs = [str(d) for d in run_dirs]
    where = os.path.commonpath(dirs) if len({str(Path(d).parent) for d in dirs}) == 1 else "their directories"
    lines = [f"{row} would pool runs that are not alike (runs in {where}):"]
    for label, groups in found.items():
        lines.append(f"  {label}: " + "; ".join(f"{value} in {', '.join(names)}" for value, names in groups.items()))
    if _MARKER in found and _MISSING in found[_MARKER]:
        lines.append("  Runs without code_digest predate provenance records: what trained them is unknown.")
    stale = stale_runs(records, dirs)
    lines.append(f"Retrain the stale runs: rm -r {' '.join(stale)} && snakemake --cores all "
                 "(with the --configfile/--profile you ran; snakemake retrains what is missing).")
    if any(label.startswith("hardware.") for label in found):
        lines.append("Runs on CPUs with other kernels: pin them with the setup's execution.cpu_isa.")
    lines.append(f"To pool them knowingly, set {ALLOW_POOLING_KEY}: true in the config "
                 "(the row then records pooled_unlike).")
    return "\n".join(lines)


def allow_pooling_of(config: Mapping[str, Any]) -> bool:
    """The config's ``provenance.allow_pooling`` (default false)."""
    value = (config.get("provenance") or {}).get("allow_pooling", False)
    if not isinstance(value, bool):
        raise ValueError(f"{ALLOW_POOLING_KEY} must be true or false, got {value!r}")
    return value

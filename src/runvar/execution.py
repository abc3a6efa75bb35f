"""Execution mode: device, torch thread count, deterministic-kernel switches, the CPU kernels'
instruction set, and the hardware, all recorded.

The thread count is part of the setup (1 and 2 threads give different bits on CPU), so it
comes from the config, never from the scheduler's allocation.

``execution.cpu_isa`` pins the CPU kernels to one instruction set, so that runs on a mixed
cluster give the same bits whatever the node: torch picks its vectorised kernels (and oneDNN and
MKL theirs) from the CPU it starts on, and AVX-512 and AVX2 kernels sum in different orders. The
variables must be in the environment before torch is imported (torch, oneDNN and MKL read them
once), so this module imports torch only inside its functions, and a workflow script calls
:func:`pin_job` first.

The provenance of a run (section at the end) is recorded beside them: the code that trained it
(:func:`code_record`), and whether the runs of one row are alike (:func:`check_alike`).

>>> sorted(ISA_ENVIRONMENT["avx2"].items())
[('ATEN_CPU_CAPABILITY', 'avx2'), ('MKL_CBWR', 'AVX2'), ('ONEDNN_MAX_CPU_ISA', 'AVX2')]
>>> check_alike([{"code_digest": "a"}, {"code_digest": "a"}], ["r/seed1", "r/seed2"]) is None
True
"""

from __future__ import annotations

import hashlib
import os
import platform
import random
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported inside the functions: see the module docstring
    import torch


#: The execution mode of a setup without an ``execution`` block, key by key.
EXECUTION_DEFAULTS = {"device": "cpu", "threads": 1}


def execution_of(setup: Mapping[str, Any]) -> dict[str, Any]:
    """The setup's ``execution`` block with :data:`EXECUTION_DEFAULTS` for the keys it lacks.

    >>> execution_of({}), execution_of({"execution": {"threads": 4}})
    ({'device': 'cpu', 'threads': 1}, {'device': 'cpu', 'threads': 4})
    """
    return {**EXECUTION_DEFAULTS, **(setup.get("execution") or {})}


def resolve_device(requested: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    import torch

    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {requested!r} requested but CUDA is not available here")
    return torch.device(requested)


def set_deterministic_algorithms(mode: bool) -> None:
    """``torch.use_deterministic_algorithms(mode)`` without its one side effect this workflow
    does not use: it also sets torch.compile's (inductor's) flag, and importing inductor's
    config pulls in dynamo and sympy, about 2.5 s of every job's start-up here. The flag the
    eager kernels read is the same global one either way."""
    import torch

    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if setter is None or "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(mode)
    else:
        setter(mode)


def configure(device: torch.device, threads: int, nondeterministic_kernels: bool) -> dict:
    """Set threads and kernel determinism for this process; return the record of what is in force.

    ``nondeterministic_kernels`` is the ``cudnn`` source: on, it is the reference's
    ``cudnn.deterministic=False, cudnn.benchmark=True``; off, deterministic kernels everywhere
    (``torch.use_deterministic_algorithms``, which on CUDA needs the cuBLAS workspace setting).
    On CPU there is no nondeterministic kernel to switch on: the request is recorded, and the
    record says it had no effect.
    """
    import torch

    torch.set_num_threads(int(threads))
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.deterministic = not nondeterministic_kernels
    torch.backends.cudnn.benchmark = nondeterministic_kernels
    set_deterministic_algorithms(not nondeterministic_kernels)
    return {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "cudnn_requested_nondeterministic": nondeterministic_kernels,
        "cudnn_effective": device.type == "cuda" and nondeterministic_kernels,
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
    }


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else what the platform says)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware(device: torch.device) -> dict[str, str]:
    """What the run's bits depend on besides software versions and threads: the CPU model, the
    CPU kernels torch chose (its capability, and any pinning variables of ``execution.cpu_isa``),
    and on CUDA the GPU, driver and cuDNN."""
    import torch

    record = {
        "cpu_model": cpu_model(),
        "machine": platform.machine(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_isa_environment": pinned_environment(),
    }
    if device.type == "cuda":
        driver = getattr(torch._C, "_cuda_getDriverVersion", lambda: None)()
        record.update(
            gpu_name=torch.cuda.get_device_name(device),
            gpu_capability=".".join(map(str, torch.cuda.get_device_capability(device))),
            cuda_driver=str(driver) if driver is not None else "unknown",
            cudnn=str(torch.backends.cudnn.version()),
        )
    return record


def versions() -> dict[str, str]:
    """Versions that can change the bits of a run."""
    import numpy as np
    import torch

    from . import __version__

    return {
        "runvar": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "cuda": str(torch.version.cuda),
        "cudnn": str(torch.backends.cudnn.version()) if torch.backends.cudnn.is_available() else "none",
        "platform": platform.platform(),
        "host": socket.gethostname(),
    }


#: ``execution.cpu_isa`` -> the environment that pins torch's, oneDNN's and MKL's kernels to it.
ISA_ENVIRONMENT: dict[str, dict[str, str]] = {
    "default": {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41", "MKL_CBWR": "COMPATIBLE"},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"},
    "avx512": {"ATEN_CPU_CAPABILITY": "avx512", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE", "MKL_CBWR": "AVX512"},
}
#: torch.backends.cpu.get_cpu_capability() of each pinnable ISA (x86), lowest first.
CAPABILITY_ORDER: tuple[str, ...] = ("DEFAULT", "AVX2", "AVX512")


class CpuIsaError(RuntimeError):
    """The ISA cannot be pinned: unknown, or torch was imported before the pin."""


def pin(isa: str | None) -> dict[str, str]:
    """Put ``isa``'s variables into this process's environment (None: leave it alone); returns
    them. Fails if torch is already imported with another setting in force."""
    if isa is None:
        return {}
    if isa not in ISA_ENVIRONMENT:
        raise CpuIsaError(f"unknown execution.cpu_isa {isa!r}; valid: {', '.join(ISA_ENVIRONMENT)}")
    wanted = ISA_ENVIRONMENT[isa]
    if "torch" in sys.modules and any(os.environ.get(k) != v for k, v in wanted.items()):
        raise CpuIsaError(
            f"execution.cpu_isa {isa!r} must be pinned before torch is imported "
            "(call runvar.execution.pin_job first in the job's script)"
        )
    os.environ.update(wanted)
    return dict(wanted)


def pin_job(snakemake: Any) -> dict[str, str]:
    """Pin the ISA of the job's setup (``snakemake.params.setup``), if it has one."""
    params = getattr(snakemake, "params", None)
    setup = getattr(params, "setup", None) if params is not None else None
    return pin(isa_of(setup) if isinstance(setup, Mapping) else None)


def isa_of(setup: Mapping[str, Any]) -> str | None:
    """The setup's ``execution.cpu_isa`` (None: torch's own choice for this CPU)."""
    return (setup.get("execution") or {}).get("cpu_isa")


def pinned_environment() -> dict[str, str]:
    """The pinning variables in force in this process (recorded in run.json)."""
    keys = sorted({k for env in ISA_ENVIRONMENT.values() for k in env})
    return {k: os.environ[k] for k in keys if k in os.environ}


def check_pinned(setup: Mapping[str, Any]) -> None:
    """Fail unless the setup's ``cpu_isa`` (if any) is pinned in this process's environment: a run
    whose kernels were chosen before the pin would silently not be the setup it claims."""
    isa = isa_of(setup)
    if isa is None:
        return
    pin(isa)  # unknown ISA, or torch imported before the pin: a clear error

# --- Provenance --------------------------------------------------------------------------------
# Which code trained a run, whether the runs of one row are alike, and global generators that
# make a leak of randomness show.
#
# Every ``run.json`` records :func:`code_record`: ``code_digest`` (a SHA-256 of the installed
# ``runvar`` package's source files, path and content, in path order) and ``git_describe``
# (``git describe --always --dirty`` of the checkout the package lives in, None outside one).
# A metrics row pools only runs that are alike (:data:`ALIKE_KEYS`: config digest, code digest,
# library versions, threads, device and CPU kernels); :func:`check_alike` refuses any other row
# with one message naming the runs on each side, what differs, and, in the workflow, the command
# that retrains the stale ones (only those), unless the config's ``provenance.allow_pooling``
# says to pool them knowingly.
#
# Training jobs call :func:`seed_global_generators` first: torch's, numpy's and Python's global
# generators start from the operating system's entropy, so code that draws from them (instead of
# a run's per-source generators) gives other numbers in every run and breaks the ``none`` row.

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


def run_names(run_dirs: Sequence[str | os.PathLike[str]]) -> list[str]:
    """Names of run directories that tell them apart: ``{setup}/{variant}/seed{r}`` (the last
    three parts of each path; "seed2" alone names a run of every row), the whole paths where
    those still collide (runs of two results folders).

    >>> run_names(["results/runs/cnn1d/all/seed2", "results/runs/linear/all/seed2"])
    ['cnn1d/all/seed2', 'linear/all/seed2']
    >>> run_names(["a/results/runs/cnn1d/all/seed2", "b/results/runs/cnn1d/all/seed2"])
    ['a/results/runs/cnn1d/all/seed2', 'b/results/runs/cnn1d/all/seed2']
    """
    paths = [Path(d) for d in run_dirs]
    short = ["/".join(p.parts[-3:]) for p in paths]
    return short if len(set(short)) == len(set(paths)) else [str(p) for p in paths]


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
    now = {"code_digest": code_digest()}
    return {**now, **{label: _value({"versions": versions()}, path)
                      for label, path in ALIKE_KEYS if label.startswith("versions.")}}


def stale_runs(records: Sequence[Mapping[str, Any]], dirs: Sequence[str]) -> list[str]:
    """The run directories whose code or library versions are not this process's: those a rerun
    of the workflow retrains into alike runs. None of them when every run was made by the
    current code and libraries (the difference is then in the config, threads or kernels, and
    removing a run would lose a good run)."""
    now = current_values()
    paths = dict(ALIKE_KEYS)
    return [d for record, d in zip(records, dirs)
            if any(_value(record, paths[label]) != value for label, value in now.items())]


@dataclass(frozen=True)
class PoolingAdvice:
    """What a refusal to pool unlike runs advises, by where it happens: the workflow knows the
    current code and config, so it may name the stale runs to remove (``retrain``); a command
    line's input is the user's choice of files, so it names no removal. ``pool_with`` says how
    to pool the runs knowingly there."""

    pool_with: str
    retrain: bool


#: The workflow's metrics rules: remove the stale runs (only those), or pool in the config.
WORKFLOW_ADVICE = PoolingAdvice(f"set {ALLOW_POOLING_KEY}: true in the config", retrain=True)


def check_alike(records: Sequence[Mapping[str, Any]], run_dirs: Sequence[str | os.PathLike[str]],
                allow_pooling: bool = False, row: str = "this row",
                advice: PoolingAdvice = WORKFLOW_ADVICE) -> dict[str, dict[str, list[str]]] | None:
    """None when the runs' records agree on every :data:`ALIKE_KEYS` entry. Otherwise raise
    :class:`ProvenanceError` naming the runs on each side, what differs and (``advice``) what
    to do; with ``allow_pooling``, return the differences instead (the row records them as
    ``pooled_unlike``)."""
    found = differences(records, run_names(run_dirs))
    if not found:
        return None
    if allow_pooling:
        return found
    raise ProvenanceError(unlike_message(records, run_dirs, found, row, advice))


def unlike_message(records: Sequence[Mapping[str, Any]], run_dirs: Sequence[str | os.PathLike[str]],
                   found: Mapping[str, Mapping[str, Sequence[str]]], row: str = "this row",
                   advice: PoolingAdvice = WORKFLOW_ADVICE) -> str:
    """The one message for runs that are not alike: what differs, which runs on each side, and
    what to do. Only with ``advice.retrain`` (the workflow) does it name a command, and that
    command removes only the stale runs (:func:`stale_runs`), never a run of the current code."""
    dirs = [str(d) for d in run_dirs]
    where = os.path.commonpath(dirs) if len({str(Path(d).parent) for d in dirs}) == 1 else "their directories"
    lines = [f"{row} would pool runs that are not alike (runs in {where}):"]
    for label, groups in found.items():
        lines.append(f"  {label}: " + "; ".join(f"{value} in {', '.join(names)}" for value, names in groups.items()))
    if _MARKER in found and _MISSING in found[_MARKER]:
        lines.append("  Runs without code_digest predate provenance records: what trained them is unknown.")
    if not advice.retrain:  # the command line: the runs are the files the user gave
        lines.append("Giving runs that are not alike is an input error: give the runs of one row, made alike.")
    if advice.retrain:
        stale = stale_runs(records, dirs)
        if stale:
            lines.append(f"Retrain the stale runs (not made by the current code and libraries): rm -r {' '.join(stale)} "
                         "&& snakemake --cores all (with the --configfile/--profile you ran; snakemake retrains "
                         "what is missing).")
        else:
            lines.append("Every one of these runs was made by the current code and libraries: none is stale, "
                         "so removing one would lose a good run.")
    if any(label.startswith("hardware.") for label in found):
        lines.append("Runs on CPUs with other kernels: pin them with the setup's execution.cpu_isa.")
    lines.append(f"To pool them knowingly, {advice.pool_with} (the row then records pooled_unlike).")
    return "\n".join(lines)


def allow_pooling_of(config: Mapping[str, Any]) -> bool:
    """The config's ``provenance.allow_pooling`` (default false)."""
    value = (config.get("provenance") or {}).get("allow_pooling", False)
    if not isinstance(value, bool):
        raise ValueError(f"{ALLOW_POOLING_KEY} must be true or false, got {value!r}")
    return value

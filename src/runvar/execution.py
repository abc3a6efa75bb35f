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

>>> sorted(ISA_ENVIRONMENT["avx2"].items())
[('ATEN_CPU_CAPABILITY', 'avx2'), ('MKL_CBWR', 'AVX2'), ('ONEDNN_MAX_CPU_ISA', 'AVX2')]
"""

from __future__ import annotations

import os
import platform
import socket
import sys
from collections.abc import Mapping
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

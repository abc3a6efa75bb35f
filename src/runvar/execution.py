"""Execution mode: device, torch thread count and deterministic-kernel switches, recorded.

The thread count is part of the setup (1 and 2 threads give different bits on CPU), so it
comes from the config, never from the scheduler's allocation.
"""

from __future__ import annotations

import os
import platform
import socket
import sys

import numpy as np
import torch


def resolve_device(requested: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
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
    from .cpu_isa import pinned_environment

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

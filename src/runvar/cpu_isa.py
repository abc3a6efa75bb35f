"""Pinning CPU kernels to one instruction set (``execution.cpu_isa``), so that runs on a mixed
cluster give the same bits whatever the node: torch picks its vectorised kernels (and oneDNN and
MKL theirs) from the CPU it starts on, and AVX-512 and AVX2 kernels sum in different orders.

The variables must be in the environment before torch is imported (torch, oneDNN and MKL read
them once), so this module imports no torch: a workflow script calls :func:`pin_job` first.

>>> sorted(ISA_ENVIRONMENT["avx2"].items())
[('ATEN_CPU_CAPABILITY', 'avx2'), ('MKL_CBWR', 'AVX2'), ('ONEDNN_MAX_CPU_ISA', 'AVX2')]
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

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
            "(call runvar.cpu_isa.pin_job first in the job's script)"
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

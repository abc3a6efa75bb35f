"""The greedy weight selection's per-connection loops, compiled: argmax, gather, and the
straight-through gradient.

Each connection of a selection layer holds k candidates and k scores in its last dimension.
torch runs ``scores.argmax(-1)``, ``candidates.gather(-1, choice)`` and the backward's
``grad.unsqueeze(-1) * candidates`` as generic reductions and broadcasts: on one CPU thread
the argmax alone was half of a LeNet k = 8 training step and the product a quarter of the rest
(``benchmarks/step_roofline.py``). The loops below do the same per connection in a few
instructions and give the same bits: the argmax the same integers (the first maximum on ties; a
row holding a NaN gives its first NaN, as torch's), the gather the same copies, the gradient the
same single float32 product per element. So the kernels are a speed setting only, like the
stack size: every bit of training is the same whichever path runs (``tests/test_selection_kernels.py``).

The C source is compiled once per process with the machine's C compiler (``$CC``, else ``cc``)
into a temporary shared library loaded with :mod:`ctypes` (no torch headers, a fraction of a
second). Where there is no compiler, where a tensor is not a contiguous float32 CPU tensor, or
where torch runs on more than one thread (its own loops then run in parallel), torch's
operations run. ``RUNVAR_SELECTION_KERNELS=0`` in the environment of the process turns the
kernels off (:data:`ENABLED`).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import torch

SOURCE = r"""
#include <math.h>
#include <stdint.h>

/* the product loop in AVX-512, AVX2 and baseline versions, picked at load time (x86-64 Linux) */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTOR_CLONES
#endif

/* choice[r] = index of the first maximum of s[r*k .. r*k+k-1], or of its first NaN */
void runvar_argmax(const float *s, int64_t rows, int64_t k, int64_t *choice) {
    for (int64_t r = 0; r < rows; ++r) {
        const float *p = s + r * k;
        float best = p[0];
        int64_t index = 0;
        if (!isnan(best)) {
            for (int64_t j = 1; j < k; ++j) {
                float v = p[j];
                if (isnan(v)) { index = j; break; }
                if (v > best) { best = v; index = j; }
            }
        }
        choice[r] = index;
    }
}

/* weight[r] = c[r*k + choice[r]]; 1 (and nothing read out of range) for an index outside [0, k) */
int runvar_gather(const float *c, const int64_t *choice, int64_t rows, int64_t k, float *weight) {
    for (int64_t r = 0; r < rows; ++r) {
        if (choice[r] < 0 || choice[r] >= k) return 1;
        weight[r] = c[r * k + choice[r]];
    }
    return 0;
}

/* out[r*k + j] = g[r] * c[r*k + j]; k a constant where it is one of the common counts, so the
   compiler unrolls and vectorizes each row */
static inline __attribute__((always_inline)) void scale_rows(const float *restrict g, const float *restrict c, int64_t rows,
                                                             int64_t k, float *restrict out) {
    for (int64_t r = 0; r < rows; ++r) {
        const float gr = g[r];
        for (int64_t j = 0; j < k; ++j) out[r * k + j] = gr * c[r * k + j];
    }
}

VECTOR_CLONES
void runvar_scale(const float *g, const float *c, int64_t rows, int64_t k, float *restrict out) {
    switch (k) {
        case 2: scale_rows(g, c, rows, 2, out); break;
        case 4: scale_rows(g, c, rows, 4, out); break;
        case 8: scale_rows(g, c, rows, 8, out); break;
        case 16: scale_rows(g, c, rows, 16, out); break;
        default: scale_rows(g, c, rows, k, out);
    }
}
"""

_FLOAT, _LONG, _SIZE = ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64
_SIGNATURES = {  # name: (argument types, return type)
    "runvar_argmax": ([_FLOAT, _SIZE, _SIZE, _LONG], None),
    "runvar_gather": ([_FLOAT, _LONG, _SIZE, _SIZE, _FLOAT], ctypes.c_int),
    "runvar_scale": ([_FLOAT, _FLOAT, _SIZE, _SIZE, _FLOAT], None),
}

#: Whether the kernels may run (``RUNVAR_SELECTION_KERNELS=0`` when the process starts turns them off).
ENABLED = os.environ.get("RUNVAR_SELECTION_KERNELS", "1") != "0"
_library: ctypes.CDLL | None = None
_tried = False


def _compile() -> ctypes.CDLL | None:
    """The kernels compiled and loaded, or None (with a warning saying why) where they cannot be."""
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        warnings.warn("no C compiler found ($CC or cc): weight selection runs torch's operations "
                      "(the same bits, slower)", RuntimeWarning, stacklevel=4)
        return None
    with tempfile.TemporaryDirectory(prefix="runvar-selection-") as folder:
        source, library = Path(folder) / "selection.c", Path(folder) / "selection.so"
        source.write_text(SOURCE)
        # no -ffast-math, no -march, no contraction into FMAs: IEEE products, code for any CPU
        command = [compiler, "-O3", "-ffp-contract=off", "-shared", "-fPIC", str(source), "-o", str(library)]
        try:
            done = subprocess.run(command, capture_output=True, text=True)
            failure = done.stderr.strip()[:500] if done.returncode != 0 else None
            # mapped into the process: the file may go (a temporary folder mounted noexec fails here)
            loaded = ctypes.CDLL(str(library)) if failure is None else None
        except OSError as error:
            failure, loaded = str(error), None
    if loaded is None:
        warnings.warn(f"the selection kernels could not be built with {compiler} in {tempfile.gettempdir()} "
                      f"(TMPDIR), so weight selection runs torch's operations (the same bits, slower): {failure}",
                      RuntimeWarning, stacklevel=4)
        return None
    for name, (arguments, result) in _SIGNATURES.items():
        getattr(loaded, name).argtypes = arguments
        getattr(loaded, name).restype = result
    return loaded


def kernels() -> ctypes.CDLL | None:
    """This process's compiled kernels (compiled on first use); None where they are off or failed."""
    global _library, _tried
    if not ENABLED:
        return None
    if not _tried:
        _tried = True
        _library = _compile()
    return _library


def _applies(*tensors: torch.Tensor) -> ctypes.CDLL | None:
    """The kernels where they apply to ``tensors`` (contiguous float32 on the CPU, torch on one
    thread, a non-empty last dimension), else None."""
    if torch.get_num_threads() != 1:
        return None
    for t in tensors:
        if t.device.type != "cpu" or t.dtype != torch.float32 or not t.is_contiguous() or t.dim() == 0:
            return None
    if tensors[0].shape[-1] == 0:
        return None
    return kernels()


def argmax_last(scores: torch.Tensor) -> torch.Tensor:
    """``scores.argmax(dim=-1)``."""
    library = _applies(scores)
    if library is None:
        return scores.argmax(dim=-1)
    choice = torch.empty(scores.shape[:-1], dtype=torch.long)
    library.runvar_argmax(scores.data_ptr(), choice.numel(), scores.shape[-1], choice.data_ptr())
    return choice


def gather_last(candidates: torch.Tensor, choice: torch.Tensor) -> torch.Tensor:
    """``candidates.gather(-1, choice.unsqueeze(-1)).squeeze(-1)``: each connection's chosen candidate."""
    library = _applies(candidates)
    if library is None or choice.dtype != torch.long or not choice.is_contiguous() \
            or choice.shape != candidates.shape[:-1] or choice.device.type != "cpu":
        return candidates.gather(-1, choice.unsqueeze(-1)).squeeze(-1)
    weight = torch.empty(choice.shape, dtype=candidates.dtype)
    if library.runvar_gather(candidates.data_ptr(), choice.data_ptr(), choice.numel(), candidates.shape[-1],
                             weight.data_ptr()):
        raise IndexError(f"a chosen candidate index is outside [0, {candidates.shape[-1]})")
    return weight


def scale_last(grad: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """``grad.unsqueeze(-1) * candidates``: every candidate's score gradient, chosen or not."""
    library = _applies(grad, candidates)
    # from 16 candidates on, a row fills a 64-byte cache line and torch's own broadcast keeps up
    if library is None or grad.shape != candidates.shape[:-1] or candidates.shape[-1] >= 16:
        return grad.unsqueeze(-1) * candidates
    out = torch.empty(candidates.shape, dtype=candidates.dtype)
    library.runvar_scale(grad.data_ptr(), candidates.data_ptr(), grad.numel(), candidates.shape[-1], out.data_ptr())
    return out

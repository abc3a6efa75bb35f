"""Keep the memory a training step frees for the next step, instead of handing it back.

PyTorch's CPU tensors come from ``malloc``. glibc's malloc serves a large request (over its
mmap threshold, 128 KiB at first) with a fresh ``mmap`` and returns it on free, and trims the
top of its heap back to the system: so a stacked step's activations, a few MiB each, came
back as new pages every step, each page faulted in and zeroed by the kernel. On an AMD EPYC a
stacked cnn1d step took about 440 page faults and 1.4 ms of system time, about 13% of the step
(``getrusage``; ``tests/test_allocator.py``). Raising the mmap threshold and switching off
trimming keeps the pages in the process: the values computed are the same, only where their
memory comes from changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

#: glibc's ``mallopt`` parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
#: requests up to this size come from the heap (glibc caps the threshold at 32 MiB on 64-bit)
MMAP_THRESHOLD = 32 * 1024 * 1024


@functools.cache
def keep_freed_memory() -> bool:
    """Make this process's glibc malloc keep freed memory for reuse (no mmap per large
    request up to :data:`MMAP_THRESHOLD`, no trimming); True where it took effect, False where
    the C library is not glibc (macOS, musl) and nothing changed. Idempotent."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # trimming off: -1 is read as the largest unsigned threshold
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, -1))

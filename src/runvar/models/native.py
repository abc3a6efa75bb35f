"""Small C loops compiled once per process with the machine's C compiler and loaded by ctypes.

The compiled kernels (:mod:`.selection_kernels`, :mod:`.window_kernels`) are speed settings only:
each gives the bits of the torch operations it replaces, and where it cannot be built (no
compiler, a failed build, a temporary folder mounted noexec) torch's operations run, after one
warning saying why. A :class:`Library` compiles on first use, once per process, so a process that
never needs its kernels never pays for the compile (a fraction of a second).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

#: ctypes argument types: a tensor's data pointer, an int64 count
POINTER, SIZE = ctypes.c_void_p, ctypes.c_int64


def compile_library(name: str, source: str, signatures: dict[str, tuple[list[Any], Any]], fallback: str,
                    stacklevel: int = 4) -> ctypes.CDLL | None:
    """``source`` compiled (``$CC``, else ``cc``) and loaded with each function of ``signatures``
    (name: (argument types, return type)) typed; None, with a warning ending in ``fallback``
    (what runs instead), where it cannot be."""
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        warnings.warn(f"no C compiler found ($CC or cc): {fallback}", RuntimeWarning, stacklevel=stacklevel)
        return None
    with tempfile.TemporaryDirectory(prefix=f"runvar-{name}-") as folder:
        source_file, library = Path(folder) / f"{name}.c", Path(folder) / f"{name}.so"
        source_file.write_text(source)
        # no -ffast-math, no -march, no contraction into FMAs (only explicit fmaf): IEEE
        # arithmetic, code for any CPU (vector loops pick their instructions at load time).
        # -O2 and vectorising: as fast as -O3 for these loops, a third of its compile time
        command = [compiler, "-O2", "-ftree-vectorize", "-ffp-contract=off", "-shared", "-fPIC", str(source_file),
                   "-lm", "-o", str(library)]
        try:
            done = subprocess.run(command, capture_output=True, text=True)
            failure = done.stderr.strip()[:500] if done.returncode != 0 else None
            # mapped into the process: the file may go (a temporary folder mounted noexec fails here)
            loaded = ctypes.CDLL(str(library)) if failure is None else None
        except OSError as error:
            failure, loaded = str(error), None
    if loaded is None:
        warnings.warn(f"the {name} kernels could not be built with {compiler} in {tempfile.gettempdir()} "
                      f"(TMPDIR), so {fallback}: {failure}", RuntimeWarning, stacklevel=stacklevel)
        return None
    for function, (arguments, result) in signatures.items():
        getattr(loaded, function).argtypes = arguments
        getattr(loaded, function).restype = result
    return loaded


class Library:
    """One C source's kernels, compiled on the first :meth:`get` of the process and kept: a build
    that failed is not tried again (its warning is given once)."""

    def __init__(self, name: str, source: str, signatures: dict[str, tuple[list[Any], Any]], fallback: str) -> None:
        self.name, self.source, self.signatures, self.fallback = name, source, signatures, fallback
        self.tried = False
        self.loaded: ctypes.CDLL | None = None

    def compile(self) -> ctypes.CDLL | None:
        """A fresh build (:func:`compile_library`), not kept."""
        return compile_library(self.name, self.source, self.signatures, self.fallback, stacklevel=5)

    def get(self) -> ctypes.CDLL | None:
        """The kernels, built on the first call; None where they could not be."""
        if not self.tried:
            self.tried = True
            self.loaded = self.compile()
        return self.loaded

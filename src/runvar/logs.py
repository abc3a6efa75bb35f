"""Send a job's progress lines and errors to its log file as well as the console."""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
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

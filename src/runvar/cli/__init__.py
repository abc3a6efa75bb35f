"""The ``runvar`` command: run-to-run variability, comparisons and seed budgets from the
prediction files of runs (the workflow's ``predictions.npz``, or ``.npy`` logits with labels).

    runvar metrics (FILE... | --row SETUP/VARIANT) [--labels FILE] [--format table|json]
    runvar compare --a FILE... --b FILE... [--labels FILE] [--format table|json]
    runvar budget (--row METRICS_JSON | FILE...) [--delta 0.1] [--runs-each R]

Errors in the inputs (missing or corrupt files, shapes, labels, NaN logits, too few runs, runs
of several rows, runs that are not alike) are printed as one message naming the files and what
is wrong, with exit status 2 and no traceback, whatever the input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import budget, compare, metrics

COMMANDS = {"metrics": metrics, "compare": compare, "budget": budget}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runvar", description="Run-to-run variability of trained models from their test predictions.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS.values():
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``runvar`` console script; returns the exit status (2: bad input)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help (0) or a usage error (2), already printed by argparse
        return int(done.code or 0)
    try:
        args.run(args)
    except (ValueError, OSError, RuntimeError) as err:
        # bad inputs: CorruptFileError, FileNotFoundError, ProvenanceError, DeterminismError, ...
        print(f"runvar {args.command}: error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # anything else a file can provoke: still one message, no traceback
        print(f"runvar {args.command}: error: {type(err).__name__}: {err} (reading {_inputs(args)})", file=sys.stderr)
        return 2
    return 0


def _inputs(args: argparse.Namespace) -> str:
    """The files (or row) the command was given, for a message."""
    given = [*(getattr(args, k, None) or [] for k in ("files", "a", "b"))]
    files = [f for group in given for f in group] + [v for k in ("row", "labels") if (v := getattr(args, k, None))]
    return ", ".join(map(str, files)) or "no input"


if __name__ == "__main__":
    sys.exit(main())

"""The ``runvar`` command: run-to-run variability, comparisons and seed budgets from the
prediction files of runs (the workflow's ``predictions.npz``, or ``.npy`` logits with labels).

    runvar metrics FILE... [--labels FILE] [--format table|json]
    runvar compare --a FILE... --b FILE... [--labels FILE] [--format table|json]
    runvar budget (--row METRICS_JSON | FILE...) [--delta 0.1] [--runs-each R]

Errors in the inputs (missing or corrupt files, shapes, labels, NaN logits, too few runs) are
printed as one line naming the file, with exit status 2 and no traceback.
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
    """Entry point of the ``runvar`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (ValueError, OSError) as err:  # bad inputs: CorruptFileError, FileNotFoundError, ...
        print(f"runvar {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

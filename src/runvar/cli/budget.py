"""``runvar budget``: the difference R runs can detect and the runs a difference needs."""

from __future__ import annotations

import argparse

from ..metrics import population_sd
from ..stats.power import ALPHA, POWER, budget
from .inputs import add_format_argument, add_input_arguments, emit, key_value_table, load_row, load_runs, run_accuracies


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "budget", help="seed budget: detectable difference and runs needed",
        description="From the run-to-run accuracy SD of a metrics row (--row) or of the runs in FILE...: the "
                    "smallest difference in mean accuracy a two-sided t-test detects with the given power and "
                    "level with R runs of each model, and the runs of each model needed to detect --delta "
                    "points (statsmodels' power functions; SD estimated with ddof=1).")
    parser.add_argument("files", nargs="*", metavar="FILE", help="predictions.npz of each run, or .npy logits")
    parser.add_argument("--row", metavar="JSON", help="a metrics row (results/metrics/{setup}/{variant}.json)")
    add_input_arguments(parser)
    add_format_argument(parser)
    parser.add_argument("--delta", type=float, default=0.1, help="difference to detect, in points (default 0.1)")
    parser.add_argument("--runs-each", type=int, help="runs per model for the detectable difference "
                        "(default: the number of runs given)")
    parser.add_argument("--alpha", type=float, default=ALPHA, help="test level (default 0.05)")
    parser.add_argument("--power", type=float, default=POWER, help="power (default 0.8)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    if bool(args.row) == bool(args.files):
        raise ValueError("give either --row METRICS_JSON or prediction files, not both or neither")
    if args.row:
        row = load_row(args.row)
        sd, runs = float(row["accuracy_sd"]), int(row["runs"])
    else:
        accuracies = run_accuracies(load_runs(args.files, args.labels, "budget", allow_pooling=args.allow_pooling))
        sd, runs = population_sd(accuracies), len(accuracies)
    result = budget(sd, runs, args.delta, args.runs_each, args.alpha, args.power)
    emit(args, result, key_value_table(result))

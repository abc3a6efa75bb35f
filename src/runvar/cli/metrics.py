"""``runvar metrics``: one variability row over the runs in the prediction files, or over the
runs of a row of the workflow's results (``--row SETUP/VARIANT``)."""

from __future__ import annotations

import argparse
import sys

from ..metrics import BOOTSTRAP_RESAMPLES, variability
from ..plateau import load_plateau, with_plateau
from ..runs import variant_row
from .inputs import (
    COMMAND_ADVICE, add_format_argument, add_input_arguments, emit, key_value_table, load_runs, missing_run_one,
    row_files,
)


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "metrics", help="variability metrics over runs",
        description="One variability row (the workflow's results/metrics/{setup}/{variant}.json) over the runs "
                    "in FILE... or over the runs of --row SETUP/VARIANT: accuracy and cross-entropy SDs with "
                    "bootstrap error bars, pairwise disagreement, Spearman correlation and ensemble deltas. With "
                    "each predictions.npz in a run directory beside its run.json, the runs must make one row "
                    "(one setup and variant; a variant's run 1 may be the `none` run 1 it reuses) of alike "
                    "runs, and the row also holds what the run records say.")
    parser.add_argument("files", nargs="*", metavar="FILE", help="predictions.npz of each run, or .npy logits")
    parser.add_argument("--row", metavar="SETUP/VARIANT",
                        help="the runs of this row under --results, found as the workflow finds them (run 1 of "
                             "init, shuffle, augment and stochastic is results/runs/SETUP/none/seed1)")
    parser.add_argument("--results", default="results", metavar="DIR", help="the workflow's results folder "
                        "(default: results)")
    parser.add_argument("--runs", type=int, metavar="R", help="with --row: runs 1..R (default: the R of "
                        "results/metrics/SETUP/VARIANT.json, else every run found)")
    add_input_arguments(parser)
    add_format_argument(parser)
    parser.add_argument("--resamples", type=int, default=BOOTSTRAP_RESAMPLES, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--variant", help="variant name of the row (default: what the run records say)")
    parser.add_argument("--plateau", metavar="FILE", help="the recipe's plateau check (results/plateau/...json)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    if bool(args.row) == bool(args.files):
        raise ValueError("give either prediction files or --row SETUP/VARIANT, not both or neither")
    if args.runs is not None and not args.row:
        raise ValueError("--runs goes with --row SETUP/VARIANT")
    files = row_files(args.row, args.results, args.runs) if args.row else args.files
    variant = args.row.partition("/")[2] if args.row else args.variant
    runs = load_runs(files, args.labels, "metrics", variant, args.allow_pooling)
    if runs.records is not None and not args.row:
        note = missing_run_one(runs)
        if note:
            print(f"runvar metrics: note: {note}", file=sys.stderr)
    if runs.records is not None:
        row = variant_row(runs.variant, runs.logits, runs.labels, runs.records, runs.paths, args.resamples,
                          args.seed, allow_pooling=args.allow_pooling, advice=COMMAND_ADVICE)
    else:
        row = variability(runs.logits, runs.labels, resamples=args.resamples, seed=args.seed)
        if args.variant:
            row["variant"] = args.variant
    if args.plateau:
        row = with_plateau(row, next(iter(load_plateau([args.plateau]).values())))
    emit(args, row, key_value_table(row))

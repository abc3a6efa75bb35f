"""``runvar metrics``: one variability row over the runs in the prediction files."""

from __future__ import annotations

import argparse

from ..io import load_json
from ..metrics import BOOTSTRAP_RESAMPLES, variability
from ..plateau import load_plateau, with_plateau
from ..runs import variant_row
from .inputs import add_format_argument, add_input_arguments, emit, key_value_table, load_runs


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "metrics", help="variability metrics over runs",
        description="One variability row (the workflow's results/metrics/{setup}/{variant}.json) over the runs "
                    "in FILE...: accuracy and cross-entropy SDs with bootstrap error bars, pairwise "
                    "disagreement, Spearman correlation and ensemble deltas. With each predictions.npz in a "
                    "run directory beside its run.json, the row also holds what the run records say.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="predictions.npz of each run, or .npy logits")
    add_input_arguments(parser)
    add_format_argument(parser)
    parser.add_argument("--resamples", type=int, default=BOOTSTRAP_RESAMPLES, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--variant", help="variant name of the row (default: the run records')")
    parser.add_argument("--plateau", metavar="FILE", help="the recipe's plateau check (results/plateau/...json)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    runs = load_runs(args.files, args.labels, "metrics")
    records = [p.parent / "run.json" for p in runs.paths]
    if runs.paths[0].suffix == ".npz" and all(r.exists() for r in records):
        loaded = [load_json(r) for r in records]
        variant = args.variant or loaded[0]["variant"]
        row = variant_row(variant, runs.logits, runs.labels, loaded, runs.paths, args.resamples, args.seed)
    else:
        row = variability(runs.logits, runs.labels, resamples=args.resamples, seed=args.seed)
        if args.variant:
            row["variant"] = args.variant
    if args.plateau:
        row = with_plateau(row, next(iter(load_plateau([args.plateau]).values())))
    emit(args, row, key_value_table(row))

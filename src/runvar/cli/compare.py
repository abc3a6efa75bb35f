"""``runvar compare``: is B better than A given run-to-run variability?"""

from __future__ import annotations

import argparse
from typing import Any

from ..stats.comparison import compare_runs
from ..metrics import BOOTSTRAP_RESAMPLES
from ..tables import markdown_table
from .inputs import add_format_argument, add_input_arguments, emit, load_runs, number, same_labels


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "compare", help="is B better than A, given run-to-run variability",
        description="Compare runs of model B with runs of model A on the same test set: mean accuracy and "
                    "cross-entropy with bootstrap 95%% intervals, the difference B - A with its interval and "
                    "Welch's t-test p-value, the probability that a random run of B beats a random run of A, "
                    "the almost-stochastic-order violation ratio epsilon_min (deepsig; below 0.5: B better) "
                    "and the disagreement between A and B runs beside that within each.")
    parser.add_argument("--a", nargs="+", required=True, metavar="FILE", help="runs of model A")
    parser.add_argument("--b", nargs="+", required=True, metavar="FILE", help="runs of model B")
    add_input_arguments(parser)
    add_format_argument(parser)
    parser.add_argument("--resamples", type=int, default=BOOTSTRAP_RESAMPLES, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap and ASO seed")
    parser.set_defaults(run=run)


def _interval(mean: float, ci: list[float]) -> str:
    return f"{number(mean)} [{number(ci[0])}, {number(ci[1])}]"


def comparison_table(result: dict[str, Any]) -> str:
    a, b = result["a"], result["b"]
    body = [["runs", a["runs"], b["runs"], ""]]
    for key, label in (("accuracy", "accuracy (%)"), ("cross_entropy", "cross-entropy")):
        body.append([f"{label}, mean [95% CI]", _interval(a[f"{key}_mean"], a[f"{key}_ci95"]),
                     _interval(b[f"{key}_mean"], b[f"{key}_ci95"]),
                     _interval(result[f"{key}_difference"], result[f"{key}_difference_ci95"])])
        body.append([f"{label}, Welch p", "", "", number(result[f"{key}_welch_p"])])
    body.append(["disagreement (%), within / between", number(a["disagreement_within"]),
                 number(b["disagreement_within"]), number(result["disagreement_between"])])
    text = markdown_table(["", "A", "B", "B - A"], body)
    text += (f"\nP(a run of B is more accurate than a run of A): {number(result['probability_of_improvement'])}\n"
             f"ASO epsilon_min (B better than A on accuracy; < 0.5: B deemed better): "
             f"{number(result['aso_epsilon_min'])}\n")
    return text


def run(args: argparse.Namespace) -> None:
    a = load_runs(args.a, args.labels, "set A", allow_pooling=args.allow_pooling)
    b = load_runs(args.b, args.labels, "set B", allow_pooling=args.allow_pooling)
    same_labels(a, b)
    result = compare_runs(a.logits, b.logits, a.labels, args.resamples, args.seed)
    emit(args, result, comparison_table(result))

"""Is a row's accuracy SD its bulk spread or a few bad runs? (not a speed benchmark)

For each row (setup, variant) of a finished study's sources table it prints, over the row's
runs' final test accuracies: the SD (population, as the tables), two robust estimates of the
same SD for normal data (1.4826 x the median absolute deviation; the interquartile range /
1.349), the median, the three lowest runs and how many runs sit more than 0.5 points below
the median. Two draws of the quick study (docs/replication.md) gave single-source rows SDs
of 0.11-0.29 whose robust SDs were all 0.09-0.14: a run 1-1.5 points low now and then.

    .venv/bin/python benchmarks/robust_spread.py --results results --results results/replicate/results
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from runvar.io import load_predictions  # noqa: E402
from runvar.seeds import trained_variant  # noqa: E402


def robust_sds(values: np.ndarray) -> tuple[float, float]:
    """(1.4826 x MAD, IQR / 1.349): each the SD for normal data, neither moved by a few outliers."""
    median = np.median(values)
    q75, q25 = np.percentile(values, [75, 25])
    return float(1.4826 * np.median(np.abs(values - median))), float((q75 - q25) / 1.349)


def row_accuracies(results: Path, setup: str, variant: str, runs: int) -> np.ndarray:
    accs = []
    for run in range(1, runs + 1):
        logits, labels = load_predictions(results / "runs" / setup / trained_variant(variant, run, "cpu") / f"seed{run}" / "predictions.npz")
        accs.append(100.0 * float((logits.argmax(-1) == labels).mean()))
    return np.array(accs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, action="append", required=True, help="a results folder (repeat for several draws)")
    parser.add_argument("--setup", default="cnn1d")
    parser.add_argument("--variants", nargs="+", default=["init", "shuffle", "augment", "stochastic", "all"])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    print("results | variant | SD | 1.4826 MAD | IQR/1.349 | median | lowest three | runs > 0.5 below the median")
    for results in args.results:
        for variant in args.variants:
            acc = row_accuracies(results, args.setup, variant, args.runs)
            mad, iqr = robust_sds(acc)
            lowest = ", ".join(f"{a:.2f}" for a in np.sort(acc)[:3])
            print(f"{results} | {variant} | {acc.std():.3f} | {mad:.3f} | {iqr:.3f} | {np.median(acc):.2f} | {lowest} | "
                  f"{int((acc < np.median(acc) - 0.5).sum())}")


if __name__ == "__main__":
    main()

"""Is a row's accuracy SD its bulk spread or a few bad runs? (not a speed benchmark)

For each row (setup, variant) of a finished study's sources table it prints, over the row's
runs' final test accuracies: the SD (population, as the tables), two robust estimates of the
same SD for normal data (1.4826 x the median absolute deviation; the interquartile range /
1.349), the median, the three lowest runs and how many runs sit more than 0.5 points below
the median. Two draws of the quick study (docs/replication.md) gave single-source rows SDs
of 0.11-0.29 whose robust SDs were all 0.09-0.14: a run 1-1.5 points low now and then.

With ``--ratios`` it also prints, for each variant against ``all``, claim 1's ratio of accuracy
SDs and the same ratio of trimmed SDs (the SD of the runs left when the ``--trim`` lowest and
highest are set aside), each with a bootstrap 95% interval (the two rows' runs resampled
independently) and whether it lies inside claim 1's margin [0.5, 2]: would a spread statistic
that a rare bad run does not move decide claim 1 the same way in two draws?

    .venv/bin/python benchmarks/robust_spread.py --results results --results results/replicate/results --ratios
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from runvar.claims import CLAIM_MARGIN, equivalence_verdict  # noqa: E402
from runvar.io import load_predictions  # noqa: E402
from runvar.seeds import trained_variant  # noqa: E402


def robust_sds(values: np.ndarray) -> tuple[float, float]:
    """(1.4826 x MAD, IQR / 1.349): each the SD for normal data, neither moved by a few outliers."""
    median = np.median(values)
    q75, q25 = np.percentile(values, [75, 25])
    return float(1.4826 * np.median(np.abs(values - median))), float((q75 - q25) / 1.349)


def trimmed_sd(values: np.ndarray, trim: int) -> np.ndarray:
    """Population SD along the last axis of the values left when the ``trim`` lowest and
    ``trim`` highest are set aside."""
    ordered = np.sort(values, axis=-1)
    kept = ordered[..., trim:ordered.shape[-1] - trim] if trim else ordered
    return kept.std(axis=-1)


def ratio_interval(a: np.ndarray, b: np.ndarray, spread, resamples: int, rng: np.random.Generator) -> tuple[float, float, float]:
    """spread(a) / spread(b) and its bootstrap 95% interval, each row's runs resampled independently."""
    ia = rng.integers(0, len(a), size=(resamples, len(a)))
    ib = rng.integers(0, len(b), size=(resamples, len(b)))
    ratios = spread(a[ia]) / spread(b[ib])
    low, high = np.percentile(ratios, [2.5, 97.5])
    return float(spread(a) / spread(b)), float(low), float(high)


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
    parser.add_argument("--ratios", action="store_true", help="claim 1's SD and trimmed-SD ratios against all")
    parser.add_argument("--trim", type=int, default=2, help="runs set aside at each end for the trimmed SD (default 2 of 40)")
    parser.add_argument("--resamples", type=int, default=10000)
    args = parser.parse_args()
    print("results | variant | SD | 1.4826 MAD | IQR/1.349 | median | lowest three | runs > 0.5 below the median")
    for results in args.results:
        for variant in args.variants:
            acc = row_accuracies(results, args.setup, variant, args.runs)
            mad, iqr = robust_sds(acc)
            lowest = ", ".join(f"{a:.2f}" for a in np.sort(acc)[:3])
            print(f"{results} | {variant} | {acc.std():.3f} | {mad:.3f} | {iqr:.3f} | {np.median(acc):.2f} | {lowest} | "
                  f"{int((acc < np.median(acc) - 0.5).sum())}")
    if not args.ratios:
        return
    print(f"\nresults | variant / all | accuracy SD ratio [95%] | verdict | trimmed SD ratio (trim {args.trim}) [95%] | verdict")
    for results in args.results:
        reference = row_accuracies(results, args.setup, "all", args.runs)
        for variant in [v for v in args.variants if v != "all"]:
            acc = row_accuracies(results, args.setup, variant, args.runs)
            cells = []
            for spread in (lambda v: v.std(axis=-1), lambda v: trimmed_sd(v, args.trim)):
                ratio, low, high = ratio_interval(acc, reference, spread, args.resamples, np.random.default_rng(0))
                cells.append(f"{ratio:.2f} [{low:.2f}, {high:.2f}] | {equivalence_verdict((low, high), CLAIM_MARGIN)}")
            print(f"{results} | {variant} / all | " + " | ".join(cells))


if __name__ == "__main__":
    main()

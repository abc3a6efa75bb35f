"""Pairwise metrics: vectorised (runvar) vs a per-pair scipy loop, measured in the same run.

R = 100 runs of 10,000 x 10 logits (4,950 pairs). The loop computes Spearman with
scipy.stats.spearmanr, disagreement and the two-model ensemble per pair. By default the loop is
timed on a random sample of pairs and scaled to all pairs (it takes minutes in full); pass
--full-loop to time every pair. Prints both times and the ratio.

    .venv/bin/python benchmarks/pairwise_metrics.py [--runs 100] [--pairs 200] [--full-loop]
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
from scipy.stats import spearmanr

from runvar import metrics


def pair_loop(logits: np.ndarray, labels: np.ndarray, pairs: list[tuple[int, int]]) -> tuple[float, float, float]:
    rho, dis, ens = [], [], []
    for i, j in pairs:
        rho.append(spearmanr(logits[i].ravel(), logits[j].ravel()).statistic)
        dis.append(np.mean(logits[i].argmax(1) != logits[j].argmax(1)))
        ens.append(np.mean(((logits[i] + logits[j]) / 2).argmax(1) == labels))
    return float(np.mean(rho)), float(np.mean(dis)), float(np.mean(ens))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=200, help="pairs timed in the loop, then scaled")
    parser.add_argument("--full-loop", action="store_true")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    labels = rng.integers(0, args.classes, args.examples)
    logits = (rng.normal(size=(args.examples, args.classes))[None]
              + 0.5 * rng.normal(size=(args.runs, args.examples, args.classes))).astype(np.float32)

    start = time.perf_counter()
    rho = metrics.pairwise_spearman(logits)
    dis = metrics.pairwise_disagreement(logits)
    metrics.pairwise_ensemble_matrices(logits, labels)
    vectorised = time.perf_counter() - start

    all_pairs = list(itertools.combinations(range(args.runs), 2))
    if args.full_loop:
        sample = all_pairs
    else:
        chosen = rng.choice(len(all_pairs), size=min(args.pairs, len(all_pairs)), replace=False)
        sample = [all_pairs[k] for k in sorted(chosen)]
    start = time.perf_counter()
    loop_rho, loop_dis, _ = pair_loop(logits, labels, sample)
    loop = (time.perf_counter() - start) * len(all_pairs) / len(sample)
    if args.full_loop:
        assert abs(loop_rho - rho) < 1e-9 and abs(loop_dis - dis) < 1e-12

    print(f"R={args.runs} runs x {args.examples} x {args.classes} logits, {len(all_pairs)} pairs")
    print(f"vectorised (runvar.metrics): {vectorised:8.2f} s")
    scaled = "" if args.full_loop else f" (timed on {len(sample)} pairs, scaled to all)"
    print(f"per-pair scipy loop:         {loop:8.2f} s{scaled}")
    print(f"ratio loop / vectorised:     {loop / vectorised:8.1f}x")


if __name__ == "__main__":
    main()

"""Where a finished study's time went, from the `benchmark:` files its jobs wrote.

Sums Snakemake's per-job wall seconds (column ``s``) under ``results/benchmarks`` by family:
the training jobs of each setup (``train/{setup}``, ``language/train/{setup}``; a plateau
check's doubled setup is its own family), and every other study by its folder. Prints each
family's jobs, seconds and share of the total, and the least wall time those seconds need on
``--cores`` cores. Jobs without a benchmark file (metrics, tables, figures) are not counted.
Snakemake's ``cpu_time`` column is sampled and under-counts short jobs, so it is not used.

    .venv/bin/python benchmarks/study_cost.py [--results results] [--cores 2]
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path


def family(relative: Path) -> str:
    """The family of a benchmark file, from its path under ``results/benchmarks``."""
    parts = relative.parts[:-1]
    if "train" in parts:
        return "/".join(parts[: parts.index("train") + 2])
    return parts[0] if parts else relative.stem


def job_seconds(benchmarks: Path) -> dict[str, list[float]]:
    """Each family's jobs' wall seconds (one row per repeat of a job's benchmark)."""
    seconds: dict[str, list[float]] = defaultdict(list)
    for path in sorted(benchmarks.rglob("*.tsv")):
        with path.open() as f:
            for row in csv.DictReader(f, delimiter="\t"):
                seconds[family(path.relative_to(benchmarks))].append(float(row["s"]))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    benchmarks = args.results / "benchmarks"
    seconds = job_seconds(benchmarks)
    if not seconds:
        raise SystemExit(f"no benchmark files under {benchmarks}: run the study first")
    total = sum(sum(s) for s in seconds.values())
    print(f"{'family':<34} {'jobs':>5} {'seconds':>9} {'share':>6}")
    for name, values in sorted(seconds.items(), key=lambda kv: -sum(kv[1])):
        print(f"{name:<34} {len(values):>5} {sum(values):>9.0f} {sum(values) / total:>6.1%}")
    print(f"{'total':<34} {sum(map(len, seconds.values())):>5} {total:>9.0f}")
    print(f"at least {total / args.cores / 60:.1f} min of wall time on {args.cores} cores, "
          "if they were packed with no gap")


if __name__ == "__main__":
    main()

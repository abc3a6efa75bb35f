"""Where a finished study's time went, from the `benchmark:` files its jobs wrote.

Sums Snakemake's per-job wall seconds (column ``s``) under ``results/benchmarks`` by family:
the training jobs of each setup (``train/{setup}``, ``language/train/{setup}``; a plateau
check's doubled setup is its own family), and every other study by its folder. Prints each
family's jobs, seconds and share of the total, and the least wall time those seconds need on
``--cores`` cores. Jobs without a benchmark file (metrics, tables, figures) are not counted.
Snakemake's ``cpu_time`` column is sampled and under-counts short jobs, so it is not used.
Each training family also gets its seconds per run-epoch: its jobs' seconds over the epochs
they trained, read from the run records (``run.json``) of the seeds each job's benchmark file
names (``seeds{first}-{last}.tsv``; an ``onset_start{E}.tsv`` job trains the ``none`` run 1
whole); jobs whose run records are missing are left out of it.

    .venv/bin/python benchmarks/study_cost.py [--results results] [--cores 2]

With ``--time FILE`` (what ``/usr/bin/time -v -o FILE`` wrote for the study) the study's wall
time is told beside the table, and ``--write DOC`` puts both, with the date and the machine,
into DOC between its study-cost markers (``make study-cost`` does all of it). With
``--target study-full`` they go between the full study's markers (``make study-full-cost``).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from doc_sections import Section, machine  # noqa: E402

#: Each target's section in the docs and the sentence its time goes into.
TARGETS = {
    "study": (Section("study cost", "study-cost"), "`make study` from an empty `results/` took **{wall}** wall"),
    "study-full": (Section("study-full cost", "study-full-cost"),
                   "`make study-full` from an empty `results/` took **{wall}** wall"),
}
SPAN = re.compile(r"seeds(\d+)-(\d+)")
ONSET_START = re.compile(r"onset_start\d+")


def family(relative: Path) -> str:
    """The family of a benchmark file, from its path under ``results/benchmarks``."""
    parts = relative.parts[:-1]
    if "train" in parts:
        return "/".join(parts[: parts.index("train") + 2])
    return parts[0] if parts else relative.stem


SEED_CHUNK = re.compile(r"seeds(\d+)-(\d+)\.tsv")


def superseded(path: Path) -> bool:
    """Whether a chunk job's file ``seedsA-B.tsv`` has a longer chunk from the same first seed
    beside it (``seedsA-C.tsv``, C > B): the job a larger R made of it, which retrained its runs.
    Only the current job counts, as in a study run from an empty ``results/``."""
    match = SEED_CHUNK.fullmatch(path.name)
    if not match:
        return False
    first, last = int(match.group(1)), int(match.group(2))
    for other in path.parent.glob(f"seeds{first}-*.tsv"):
        longer = SEED_CHUNK.fullmatch(other.name)
        if longer and int(longer.group(1)) == first and int(longer.group(2)) > last:
            return True
    return False


def job_rows(benchmarks: Path) -> Iterator[tuple[Path, float]]:
    """Each benchmark file's path under ``benchmarks`` and wall seconds, once per row (a repeat of
    its job); a chunk superseded by a longer one (:func:`superseded`) is left out."""
    for path in sorted(benchmarks.rglob("*.tsv")):
        if superseded(path):
            continue
        with path.open() as f:
            for row in csv.DictReader(f, delimiter="\t"):
                yield path.relative_to(benchmarks), float(row["s"])


def job_seconds(benchmarks: Path) -> dict[str, list[float]]:
    """Each family's jobs' wall seconds (one row per repeat of a job's benchmark)."""
    seconds: dict[str, list[float]] = defaultdict(list)
    for relative, s in job_rows(benchmarks):
        seconds[family(relative)].append(s)
    return seconds


def run_folder(results: Path, relative: Path) -> Path:
    """Where a training job's runs are: ``train/{setup}/{variant}/…`` writes ``runs/{setup}/{variant}``,
    ``language/train/{setup}/{variant}/…`` writes ``language/runs/{setup}/{variant}``."""
    parts = relative.parts[:-1]
    at = parts.index("train")
    return results.joinpath(*parts[:at], "runs", *parts[at + 1 :])


def trained_epochs(record: Mapping) -> int:
    """The epochs a run record's job trained: its setup's, less those it started past (an onset run
    starts at its onset epoch, a resumed run at its checkpoint's)."""
    start = max(record.get("onset_started_at") or 0, record.get("resumed_from_epoch") or 0)
    return int(record["setup_resolved"]["epochs"]) - start


def job_run_epochs(results: Path, relative: Path) -> int | None:
    """The run-epochs the training job of benchmark file ``relative`` trained, from the run records
    of the seeds its name spans; None for a job that trains nothing or whose records are missing."""
    if "train" not in relative.parts[:-1]:
        return None
    folder = run_folder(results, relative)
    span = SPAN.fullmatch(relative.stem)
    if span:
        records, epochs = [folder / f"seed{s}" / "run.json" for s in range(int(span[1]), int(span[2]) + 1)], trained_epochs
    elif ONSET_START.fullmatch(relative.stem):  # the `none` run 1 trained again, whole
        records, epochs = [folder / "seed1" / "run.json"], lambda r: int(r["setup_resolved"]["epochs"])
    else:
        return None
    if not all(path.is_file() for path in records):
        return None
    return sum(epochs(json.loads(path.read_text())) for path in records)


def seconds_per_run_epoch(results: Path) -> dict[str, float]:
    """Each training family's job-seconds over the run-epochs its jobs trained (jobs whose run
    records are missing left out of both)."""
    seconds: dict[str, float] = defaultdict(float)
    run_epochs: dict[str, int] = defaultdict(int)
    for relative, s in job_rows(results / "benchmarks"):
        trained = job_run_epochs(results, relative)
        if trained:
            seconds[family(relative)] += s
            run_epochs[family(relative)] += trained
    return {name: seconds[name] / run_epochs[name] for name in run_epochs}


def wall_time(time_file: Path) -> str:
    """The "Elapsed (wall clock) time" that GNU time -v wrote, as h:mm:ss or m:ss."""
    match = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", time_file.read_text())
    if not match:
        raise SystemExit(f"{time_file}: no 'Elapsed (wall clock) time' line; write it with /usr/bin/time -v -o FILE")
    return match.group(1)


def per_epoch_cell(per_epoch: Mapping[str, float], name: str) -> str:
    """A family's seconds per run-epoch, to 3 decimals ("" for a family that trains no runs)."""
    return f"{per_epoch[name]:.3f}" if name in per_epoch else ""


def cost_markdown(seconds: dict[str, list[float]], cores: int, wall: str | None, target: str = "study",
                  per_epoch: Mapping[str, float] | None = None) -> str:
    """The cost table (family, jobs, core-seconds, share, seconds per run-epoch) and what it means
    on ``cores`` cores."""
    per_epoch = per_epoch or {}
    total = sum(sum(s) for s in seconds.values())
    lines = []
    if wall:
        lines += [TARGETS[target][1].format(wall=wall) + f" ({datetime.date.today().isoformat()}, {machine()}).", ""]
    lines += ["| job family | jobs | core-seconds | share | s per run-epoch |", "|---|---:|---:|---:|---:|"]
    for name, values in sorted(seconds.items(), key=lambda kv: -sum(kv[1])):
        cell = per_epoch_cell(per_epoch, name)
        lines.append(f"| {name} | {len(values)} | {sum(values):,.0f} | {sum(values) / total:.1%} |"
                     f"{' ' + cell if cell else ''} |")
    lines += [f"| total | {sum(map(len, seconds.values()))} | {total:,.0f} | | |", "",
              f"At least {total / cores / 60:.1f} min of wall time on {cores} cores if the jobs were packed "
              "with no gap; jobs without a `benchmark:` file (metrics, tables, figures) are not counted. "
              "Seconds per run-epoch: a training family's job-seconds over the epochs its jobs' runs trained "
              "(from their `run.json`; an onset run from its onset epoch), jobs whose runs are missing left out.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--time", type=Path, help="what /usr/bin/time -v -o FILE wrote for the study")
    parser.add_argument("--write", type=Path, help="a Markdown file with the study-cost markers to fill")
    parser.add_argument("--target", choices=sorted(TARGETS), default="study", help="the make target timed (default study)")
    args = parser.parse_args()
    benchmarks = args.results / "benchmarks"
    seconds = job_seconds(benchmarks)
    if not seconds:
        raise SystemExit(f"no benchmark files under {benchmarks}: run the study first")
    per_epoch = seconds_per_run_epoch(args.results)
    total = sum(sum(s) for s in seconds.values())
    print(f"{'family':<34} {'jobs':>5} {'seconds':>9} {'share':>6} {'s/run-epoch':>11}")
    for name, values in sorted(seconds.items(), key=lambda kv: -sum(kv[1])):
        print(f"{name:<34} {len(values):>5} {sum(values):>9.0f} {sum(values) / total:>6.1%} "
              f"{per_epoch_cell(per_epoch, name):>11}")
    print(f"{'total':<34} {sum(map(len, seconds.values())):>5} {total:>9.0f}")
    print(f"at least {total / args.cores / 60:.1f} min of wall time on {args.cores} cores, "
          "if they were packed with no gap")
    if args.write:
        table = cost_markdown(seconds, args.cores, wall_time(args.time) if args.time else None, args.target, per_epoch)
        TARGETS[args.target][0].write(args.write, table)
        print(f"wrote the cost table into {args.write}")


if __name__ == "__main__":
    main()

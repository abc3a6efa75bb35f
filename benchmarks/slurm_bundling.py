"""SLURM jobs and wall time of one small study, with and without bundling, on a real SLURM.

Starts the single-host test cluster of tests/slurm/cluster.py (needs root and
tests/slurm/install.sh), then runs the same study once per mode with
`snakemake --profile profiles/slurm --profile profiles/slurm-ci`, each in a fresh directory:

  per-seed        train.seeds_per_job = 1: one SLURM job per training run
  seeds-per-job   train.seeds_per_job = runs: one SLURM job trains all runs of a variant
  + groups        as seeds-per-job, and the small jobs after training (variant_metrics,
                  sources_table, sources_figure) in one Snakemake group, all of its
                  components in one SLURM job (--groups ... --group-components), sized
                  by local resource scopes (see modes())

It prints, per mode: sbatch submissions, SLURM jobs that slurmctld recorded as finished for
the run, the CPU-seconds those jobs held their allocations, the wall time of the snakemake
command, and the ratios against the first mode run. It also checks that every mode wrote bitwise the
same predictions (bundling changes how runs are packed into jobs, never their results).

    .venv/bin/python benchmarks/slurm_bundling.py [--config tests/configs/tiny.yaml]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "slurm"))

from cluster import SlurmCluster  # noqa: E402

SNAKEMAKE = Path(sys.executable).parent / "snakemake"
SMALL_RULES = ("variant_metrics", "sources_table", "sources_figure")


def modes(runs: int) -> dict[str, tuple[int, list[str]]]:
    # A group job asks SLURM for what its jobs need when they all run at once (here 10
    # CPUs and 10 GB for 10 metrics jobs: more than the node has, so it would pend for ever).
    # Local resource scopes give each group job its own pool of --resources instead: the
    # group's jobs then run at most 2 at a time, in a 2-CPU / 2 GB allocation.
    groups = [
        "--groups", *(f"{r}=summaries" for r in SMALL_RULES),
        "--group-components", "summaries=1000",
        "--resources", "cpus_per_task=2", "mem_mb=2000",
        "--set-resource-scopes", "cpus_per_task=local", "mem_mb=local",
    ]  # fmt: skip
    return {
        "per-seed": (1, []),
        "seeds-per-job": (runs, []),
        "seeds-per-job + groups": (runs, groups),
    }


def run_mode(cluster: SlurmCluster, base: dict, workdir: Path, seeds_per_job: int, extra: list[str]):
    workdir.mkdir(parents=True)
    cfg = dict(base, train=dict(base.get("train", {}), seeds_per_job=seeds_per_job))
    cfg_file = workdir / "config.yaml"
    cfg_file.write_text(yaml.safe_dump(cfg))
    cmd = [
        str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(cfg_file), "--nocolor",
        "--profile", str(REPO / "profiles" / "slurm"), "--profile", str(REPO / "profiles" / "slurm-ci"),
        *extra,
    ]  # fmt: skip
    log = workdir / "snakemake.log"
    t0 = time.monotonic()
    with open(log, "w") as out:
        rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=cluster.env(), cwd=workdir).returncode
    wall = time.monotonic() - t0
    text = log.read_text()
    if rc != 0:
        raise SystemExit(f"snakemake failed (rc={rc}) in {workdir}:\n{text[-3000:]}")
    run_id = re.search(r"SLURM run ID: (\S+)", text).group(1)
    sbatch = len(re.findall(r"has been submitted with SLURM jobid \d+", text))
    jobs = [j for j in cluster.completed_jobs() if j.get("Name") == run_id]
    assert all(j["JobState"] == "COMPLETED" for j in jobs), jobs

    def seconds(job):
        t = lambda k: datetime.fromisoformat(job[k])  # noqa: E731
        cpus = int(re.search(r"cpu=(\d+)", job["Tres"]).group(1))
        return (t("EndTime") - t("StartTime")).total_seconds() * cpus

    return {
        "sbatch": sbatch,
        "slurm_jobs": len(jobs),
        "cpu_s": sum(seconds(j) for j in jobs),
        "wall_s": wall,
        "cmd": " ".join(cmd),
    }


def predictions(workdir: Path) -> dict[str, bytes]:
    out = {}
    for path in sorted((workdir / "results" / "runs").glob("**/predictions.npz")):
        with np.load(path) as npz:
            out[str(path.relative_to(workdir))] = b"".join(npz[k].tobytes() for k in sorted(npz.files))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=str(REPO / "tests" / "configs" / "tiny.yaml"))
    ap.add_argument("--keep", action="store_true", help="keep the work directories")
    ap.add_argument("--modes", nargs="+", help="run only these modes (names as printed)")
    args = ap.parse_args()
    base = yaml.safe_load(Path(args.config).read_text())
    runs = base["studies"]["sources"]["runs"]

    tmp = Path(tempfile.mkdtemp(prefix="runvar-slurm-bundling-"))
    cluster = SlurmCluster(tmp / "cluster")
    reason = cluster.start_or_reason()
    if reason:
        print(reason, file=sys.stderr)
        return 1
    results, preds = {}, {}
    try:
        chosen = {k: v for k, v in modes(runs).items() if not args.modes or k in args.modes}
        for i, (name, (spj, extra)) in enumerate(chosen.items()):
            workdir = tmp / f"mode{i}"
            results[name] = run_mode(cluster, base, workdir, spj, extra)
            preds[name] = predictions(workdir)
            r = results[name]
            print(f"{name}: {r['slurm_jobs']} SLURM jobs, {r['wall_s']:.0f} s  ({r['cmd']})", flush=True)
    finally:
        cluster.stop()

    first = next(iter(preds.values()))
    assert first, "no predictions written"
    same = all(p == first for p in preds.values())
    ref = next(iter(results.values()))
    print(f"\nconfig: {args.config} (runs per variant: {runs}); cluster: 1 node, "
          f"{cluster.conf.read_text().split('CPUs=')[1].split()[0]} CPUs")  # fmt: skip
    print("| mode | seeds_per_job | sbatch calls | SLURM jobs | allocated CPU-s | wall s | jobs vs first | wall vs first |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        spj = modes(runs)[name][0]
        print(
            f"| {name} | {spj} | {r['sbatch']} | {r['slurm_jobs']} | {r['cpu_s']:.0f} | {r['wall_s']:.0f} "
            f"| {r['slurm_jobs'] / ref['slurm_jobs']:.2f} | {r['wall_s'] / ref['wall_s']:.2f} |"
        )
    print(f"\npredictions bitwise identical across modes: {same} ({len(first)} runs)")
    if not args.keep:
        subprocess.run(["rm", "-rf", str(tmp)], check=False)
    else:
        print(f"work directories kept in {tmp}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

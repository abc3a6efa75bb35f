# Config -> resolved setups and targets; path helpers. No science here.
import os
import sys
from pathlib import Path

# runvar lives in src/: importable here and, through PYTHONPATH, in every job's script, also
# inside a --sdm conda environment (which installs the pinned requirements, not runvar).
_SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, _SRC)
os.environ.update(PYTHONPATH=os.pathsep.join(p for p in (_SRC, os.environ.get("PYTHONPATH")) if p))

from runvar.config import load_schema, validate_config


CFG = validate_config(config, load_schema(Path(workflow.basedir) / "config" / "schema.yaml"))
SETUPS = CFG["setups"]
STUDIES = CFG["studies"]
SEEDS_PER_JOB = CFG.get("train", {}).get("seeds_per_job", 1)
BOOTSTRAP = {"resamples": 10000, "seed": 0, **CFG.get("bootstrap", {})}
RESOURCES = CFG.get("resources", {})
RUN_DIR = "results/runs/{setup}/{variant}/seed{seed}"


wildcard_constraints:
    setup=r"[A-Za-z0-9_.-]+",
    variant=r"[a-z+]+",
    dataset=r"[A-Za-z0-9_]+",
    study=r"depth|architectures|generalization",


def max_runs():
    """Seeds 1..max_runs exist as training targets; studies take what they need."""
    return max([s["runs"] for s in STUDIES.values() if "runs" in s], default=1)


TABLE_STUDIES = [
    name for name in ("sources", "depth", "architectures", "generalization") if name in STUDIES
]


def runs_of(setup):
    """R of a setup's metrics rows: the most runs any table study asks of it (else the sources R)."""
    asked = [STUDIES[s]["runs"] for s in TABLE_STUDIES if setup in STUDIES[s]["setups"]]
    return max(asked, default=STUDIES.get("sources", {}).get("runs", 2))


def run_files(setup, variant, name, runs=None):
    """Files ``name`` of runs 1..runs of (setup, variant); runs defaults to runs_of(setup)."""
    runs = runs or runs_of(setup)
    return [f"{RUN_DIR}/{name}".format(setup=setup, variant=variant, seed=r) for r in range(1, runs + 1)]


def seed_chunks(runs, size):
    """Seeds 1..runs in consecutive chunks of ``size`` (one training job each)."""
    return [list(range(first, min(first + size, runs + 1))) for first in range(1, runs + 1, size)]


def study_metrics(wildcards):
    study = STUDIES[wildcards.study]
    return [f"results/metrics/{s}/{v}.json" for s in study["setups"] for v in study["variants"]]


def over_time_histories(wildcards):
    return {
        setup: run_files(setup, "bitflip", "history.csv") for setup in STUDIES["depth"]["over_time"]
    }


def sources_metrics(wildcards):
    variants = STUDIES["sources"]["variants"]
    return [f"results/metrics/{wildcards.setup}/{v}.json" for v in variants]


def setup_of(wildcards):
    return SETUPS[wildcards.setup]


def resources_for(kind):
    """Cluster resources of a kind of rule from the config (defaults for the rest)."""
    merged = {"runtime": 10, "mem_mb": 1000, "cpus_per_task": 1}
    merged.update(RESOURCES.get("default", {}))
    merged.update(RESOURCES.get(kind, {}))
    return merged


def sources_targets():
    study = STUDIES.get("sources")
    if not study:
        return []
    return [
        path.format(setup=setup)
        for setup in study["setups"]
        for path in (
            "results/tables/sources_{setup}.csv",
            "results/tables/sources_{setup}.md",
            "results/figures/sources_{setup}.png",
            "results/figures/sources_{setup}.pdf",
            "results/claims/sources_{setup}.csv",
            "results/claims/sources_{setup}.md",
        )
    ]


def study_targets():
    targets = []
    for study in ("depth", "architectures", "generalization"):
        if study in STUDIES:
            targets += [f"results/tables/{study}.csv", f"results/tables/{study}.md"]
    if STUDIES.get("depth", {}).get("over_time"):
        targets += ["results/figures/bitflip_over_time.png", "results/figures/bitflip_over_time.pdf"]
    return targets


def all_targets():
    """Every study's outputs (functions of later-included rule files are looked up at call time)."""
    return sources_targets() + study_targets() + reduction_targets() + synthetic_targets() + selection_targets()

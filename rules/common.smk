# Config -> resolved setups and targets; path helpers. No science here.
import os
import sys
from pathlib import Path

# runvar lives in src/: importable here and, through PYTHONPATH, in every job's script, also
# inside a --sdm conda environment (which installs the pinned requirements, not runvar).
_SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, _SRC)
os.environ.update(PYTHONPATH=os.pathsep.join(p for p in (_SRC, os.environ.get("PYTHONPATH")) if p))

from runvar.config import load_schema, max_runs as config_max_runs, validate_config
from runvar.sources.plan import TABLE_STUDIES
from runvar.studies import plan_studies


CFG = validate_config(config, load_schema(Path(workflow.basedir) / "config" / "schema.yaml"))
SETUPS = CFG["setups"]
STUDIES = CFG["studies"]
# Every study's plan (runvar.<study>.plan): the setups it adds, its files, its rules' detail.
PLANS = plan_studies(CFG)
for _plan in PLANS.values():
    SETUPS.update(_plan.setups)
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
    return config_max_runs(CFG)


def runs_of(setup):
    """R of a setup's metrics rows: the most runs any table study asks of it (else the sources R)."""
    asked = [
        STUDIES[s]["runs"]
        for s in ("sources", *TABLE_STUDIES)
        if s in STUDIES and setup in STUDIES[s]["setups"]
    ]
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


def all_targets():
    """Every study's files (runvar.studies.plan_studies)."""
    return [target for plan in PLANS.values() for target in plan.targets]

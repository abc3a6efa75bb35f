# Config -> resolved setups and targets; path helpers. No science here.
import os
import re
import sys
from pathlib import Path

# runvar lives in src/: importable here and, through PYTHONPATH, in every job's script, also
# inside a --sdm conda environment (which installs the pinned requirements, not runvar).
_SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, _SRC)
os.environ.update(PYTHONPATH=os.pathsep.join(p for p in (_SRC, os.environ.get("PYTHONPATH")) if p))

from runvar.claims import claims_options
from runvar.config import load_schema, max_runs as config_max_runs, validate_config
from runvar.config.files import with_bases
from runvar.execution import allow_pooling_of, execution_of
from runvar.forest import forest_targets
from runvar.language.plan import report_files as language_report_files
from runvar.metrics import bootstrap_options
from runvar.reduction.plan import ONSET_START_FILE, REDUCTION_FILE, onset_starts
from runvar.seeds import VARIANTS, first_run_is_none, trained_variant
from runvar.selection.plan import SELECTION_FILE
from runvar.sources.plan import OVER_TIME_FILES, SOURCES_FILES, STUDY_TABLE_FILES
from runvar.studies import CHECK_SET_NPZ, DATA_NPZ, METRICS_JSON, OWN_PLATEAU_JSON, PLATEAU_FILES, PLATEAU_JSON, REPORT_CATEGORIES as REPORT, RUN_DIR
from runvar.studies import job_resources, metrics_runs, plan_studies, seed_chunks, seeds_per_job, unchecked_setups
from runvar.studies import variant_runs
from runvar.summary import SUMMARY_FILES


# `extends:` (runvar.config.files): the named base under the file's values, before validation;
# in place, so that every job's snakemake.config is the resolved config too.
_resolved = with_bases(config, list(workflow.overwrite_configfiles or workflow.configfiles))
config.clear()
config.update(_resolved)
CFG = validate_config(config, load_schema(Path(workflow.basedir) / "config" / "schema.yaml"))
SETUPS = CFG["setups"]
STUDIES = CFG["studies"]
# Every study's plan (runvar.<study>.plan): the setups it adds, its files, its rules' detail.
PLANS = plan_studies(CFG)
for _plan in PLANS.values():
    SETUPS.update(_plan.setups)
SEEDS_PER_JOB = seeds_per_job(CFG)
# params of the metrics rules (so that changing them redoes the rows they change)
BOOTSTRAP = bootstrap_options(CFG)
CLAIMS = claims_options(CFG)
ALLOW_POOLING = allow_pooling_of(CFG)
UNCHECKED = set(unchecked_setups(CFG))
# onset setup -> (base, E): its runs start from the base's `none` run 1 at the end of epoch E
ONSET_STARTS = onset_starts(PLANS.get("reduction").detail if "reduction" in PLANS else {})


wildcard_constraints:
    setup=r"[A-Za-z0-9_.-]+",
    variant=r"[a-z+]+",
    dataset=r"[A-Za-z0-9_]+",
    study=r"depth|architectures|generalization",


def max_runs():
    """Seeds 1..max_runs exist as training targets; studies take what they need."""
    return config_max_runs(CFG)


def runs_of(setup, variant):
    """R of a metrics row: the most runs any study asks of (setup, variant), else the sources R."""
    return metrics_runs(PLANS, setup, variant, STUDIES.get("sources", {}).get("runs", 2))


def run_files(setup, variant, name, runs=None):
    """Files ``name`` of runs 1..runs of (setup, variant); runs defaults to runs_of(setup, variant)."""
    runs = runs or runs_of(setup, variant)
    device = execution_of(SETUPS[setup])["device"]
    return [f"{RUN_DIR}/{name}".format(setup=setup, variant=trained_variant(variant, r, device), seed=r)
            for r in range(1, runs + 1)]


def _one_of(names):
    return "|".join(re.escape(n) for n in sorted(names)) or "(?!)"


def train_families():
    """(rule-name prefix, seed chunks, setup regex, variant regex) of each family of chunk
    rules. Run 1 of a variant that varies only seeded sources is the `none` run
    (runvar.seeds.trained_variant): those variants' chunks start at seed 2, and the `none` run 1
    is a job of its own (a setup may need it without a `none` row)."""
    plateau = PLANS["plateau"].detail
    table_setups = {s for plan in PLANS.values() for s in [*plan.runs, *plan.recipes]}
    doubled = set(plateau["doubled"].values()) - table_setups
    general_setup = rf"(?!(?:{_one_of(doubled)})/)[A-Za-z0-9_.-]+"  # lookahead up to the "/" after the name
    from_two = _one_of(v for v in VARIANTS if first_run_is_none(v))
    last_none = max(variant_runs(PLANS, "none"), default=max_runs())
    families = [
        ("train", seed_chunks(max_runs(), SEEDS_PER_JOB), general_setup, rf"(?!(?:none|{from_two})/)[a-z+]+"),
        ("train_from2", seed_chunks(max_runs(), SEEDS_PER_JOB, 2), general_setup, from_two),
        ("train_none", [[1]], general_setup, "none"),
        ("train_none", seed_chunks(last_none, SEEDS_PER_JOB, 2), general_setup, "none"),
    ]
    if doubled:
        most = max(plateau["runs_by_recipe"].values())
        families.append(("train_doubled", seed_chunks(most, SEEDS_PER_JOB), _one_of(doubled), r"[a-z+]+"))
    return families


def train_inputs(wildcards):
    """A training job's inputs: its dataset and, for onset runs, the state they start from."""
    inputs = {"data": DATA_NPZ.format(dataset=SETUPS[wildcards.setup]["dataset"])}
    if wildcards.setup in ONSET_STARTS:
        base, epoch = ONSET_STARTS[wildcards.setup]
        inputs["start"] = ONSET_START_FILE.format(setup=base, epoch=epoch)
    return inputs


def setup_threads(wildcards):
    """Torch threads of a job of ``wildcards.setup``: part of its execution mode, not --cores."""
    return execution_of(SETUPS[wildcards.setup])["threads"]


def study_metrics(wildcards):
    """Metrics rows of a table study, setup by setup: its variants, then its snapshot row."""
    study = STUDIES[wildcards.study]
    snapshots = PLANS["sources"].detail["snapshots"].get(wildcards.study, {})
    return [METRICS_JSON.format(setup=s, variant=v) for s in study["setups"]
            for v in study["variants"] + ["snapshot"] * (s in snapshots)]


def snapshot_spec(setup):
    """The runs whose snapshot ensembles make the `snapshot` row of base ``setup`` (most runs)."""
    specs = [rows[setup] for rows in PLANS["sources"].detail["snapshots"].values() if setup in rows]
    return max(specs, key=lambda spec: spec["runs"])


def over_time_histories(wildcards):
    return {
        setup: run_files(setup, "bitflip", "history.csv") for setup in STUDIES["depth"]["over_time"]
    }


def sources_metrics(wildcards):
    variants = STUDIES["sources"]["variants"]
    return [METRICS_JSON.format(setup=wildcards.setup, variant=v) for v in variants]


def bitflip_base_metrics(wildcards):
    """The bitflip rows of the setup's bases 2..B (runvar.sources.plan.bitflip_bases); none
    without studies.sources.bitflip_bases."""
    names = PLANS["sources"].detail["bitflip_bases"].get(wildcards.setup, [])
    return [METRICS_JSON.format(setup=name, variant="bitflip") for name in names[1:]]


def setup_of(wildcards):
    return SETUPS[wildcards.setup]


def resources_for(kind):
    """Cluster resources of a kind of rule from the config (runvar.studies.job_resources)."""
    return job_resources(CFG.get("resources"), kind)


def all_targets():
    """Every study's files (runvar.studies.plan_studies), the findings when there is a
    sources study to summarise, and the forest plot of every claim test when there are claims."""
    summary = list(SUMMARY_FILES.values()) if SUMMARY_SETUP else []
    return [target for plan in PLANS.values() for target in plan.targets] + summary + forest_targets(PLANS)


def study_targets(name):
    """The files of one study (its plan's targets), e.g. for a workflow that runs only it."""
    return PLANS[name].targets


def summary_setup():
    """The setup the findings summarise: the first sources setup, when the study has the
    `all` and `bitflip` rows the findings quote (else no findings)."""
    sources = STUDIES.get("sources") or {}
    return sources["setups"][0] if {"all", "bitflip"} <= set(sources.get("variants", [])) else None


SUMMARY_SETUP = summary_setup()


def summary_inputs():
    """The tables and claims the findings are rendered from (runvar.summary.collect)."""
    if not SUMMARY_SETUP:
        return {}
    setup = SUMMARY_SETUP
    files = {
        "sources": SOURCES_FILES["csv"].format(setup=setup),
        "sources_claims": SOURCES_FILES["claims_csv"].format(setup=setup),
        "plateau": PLATEAU_FILES["csv"],
    }
    if "depth" in STUDIES:
        files["depth"] = STUDY_TABLE_FILES["csv"].format(study="depth")
    if setup in PLANS["reduction"].detail.get("ensembles", {}):
        files["ensembles"] = REDUCTION_FILE.format(kind="tables", stem="ensembles", setup=setup, ext="csv")
    if setup in PLANS["reduction"].detail.get("tta", {}):
        files["reduction_claims"] = REDUCTION_FILE.format(kind="claims", stem="reduction", setup=setup, ext="csv")
    if PLANS["selection"].detail:
        files["selection"] = SELECTION_FILE.format(kind="tables", name="accuracy", ext="csv")
    language = list(PLANS["language"].detail.get("doubled", {}))  # the language table setups
    if language:
        files["language"] = language_report_files(language[0])["csv"]
        files["language_claims"] = language_report_files(language[0])["claims_csv"]
    return files


def plateau_inputs(wildcards):
    """History files of the plateau check of one recipe: its runs and the doubled-epochs runs;
    where its data set has a check set, that and the runs' models too."""
    plateau = PLANS["plateau"].detail
    variant, runs = plateau["variant"], plateau["runs_by_recipe"][wildcards.setup]
    setups = (wildcards.setup, plateau["doubled"][wildcards.setup])
    files = {
        "histories": run_files(setups[0], variant, "history.csv", runs),
        "double_histories": run_files(setups[1], variant, "history.csv", runs),
    }
    dataset = plateau["check_set_of"].get(wildcards.setup)
    if dataset:
        files.update(models=run_files(setups[0], variant, "model.pt", runs),
                     double_models=run_files(setups[1], variant, "model.pt", runs),
                     check_set=CHECK_SET_NPZ.format(dataset=dataset))
    return files


def plateau_pool_of(setup):
    """The recipes whose own checks decide ``setup``'s: its pool's members (``plateau.pools``), else itself."""
    plateau = PLANS["plateau"].detail
    pool = plateau["pool_of"].get(setup)
    return plateau["pools"][pool] if pool else [setup]


def recipe_of(setup):
    """The setup whose plateau check stands for ``setup`` (its recipe), None if unchecked."""
    return next((plan.recipes[setup] for plan in PLANS.values() if setup in plan.recipes), None)


def plateau_files(setups):
    """The plateau-check files of the recipes of ``setups`` (those that have one)."""
    return sorted({PLATEAU_JSON.format(setup=recipe_of(s)) for s in setups if recipe_of(s)})

"""Every study of the workflow, planned through one entry point.

Each study is a subpackage (``runvar.sources``, ``runvar.reduction``, ``runvar.selection``,
``runvar.synthetic``) whose ``plan(config)`` takes the validated config
(:func:`runvar.config.validate_config`) and returns a :class:`StudyPlan`: the setups the study
adds to the config's (derived or generated, resolved), the files it writes, and the detail its
rules read. ``rules/common.smk`` loops over :func:`plan_studies`; it names no study.
"""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The HTML report's categories (``snakemake --report``), study key -> name, in reading order:
#: Snakemake lists categories alphabetically, so each name starts with its place, in two digits
#: so that 10 comes after 09 (verdicts first: the forest plot of every claim test, then the
#: claims tables), names the paper table or figure it reproduces, and has no colon (Snakemake
#: makes each name an RST link target).
#: The front page is ``rules/captions/workflow.rst``.
REPORT_CATEGORIES: dict[str, str] = {
    "verdicts": "00. Verdicts at a glance, every claim test",
    "claims": "01. Claims and verdicts",
    "sources": "02. Sources of nondeterminism (SD Tables 1, 3; RE Table 4)",
    "tables": "03. Depth, architectures, generalization (SD Tables 6, 8, Fig. 3; RE Table 10)",
    "reduction": "04. Reducing variability, ensembles and TTA (SD Table 5; RE Table 7)",
    "settings": "05. Variability over settings (SD Fig. 2, Table 7; RE Tables 8, 9)",
    "cka": "06. Representations, linear CKA (SD Fig. 1)",
    "selection": "07. Weight selection (SM Figs 1, 2)",
    "synthetic": "08. Synthetic irreproducibility (SS Figs 2, 6, 8, 10)",
    "convergence": "09. Convergence, plateau checks and training length",
    "language": "10. Language modelling (SD Tables 2, 4)",
}


#: The study subpackages, in the order their plans are made.
STUDY_PACKAGES: tuple[str, ...] = ("sources", "reduction", "selection", "synthetic", "convergence", "language")


@dataclass
class StudyPlan:
    """What one study adds to the workflow."""

    setups: dict[str, dict] = field(default_factory=dict)
    targets: list[str] = field(default_factory=list)
    detail: Any = None
    #: R of the metrics rows (:data:`METRICS_JSON`) the study reads, by
    #: ``setup`` or, more specific, ``setup/variant``; the largest R asked for wins.
    runs: dict[str, int] = field(default_factory=dict)
    #: Setups whose runs feed a table -> the setup whose plateau check stands for them (itself,
    #: or the base of a setup that differs only in when a source switches on).
    recipes: dict[str, str] = field(default_factory=dict)


def variant_runs(plans: Mapping[str, StudyPlan], variant: str) -> list[int]:
    """The run counts any plan asks specifically of ``variant`` (``setup/variant`` keys)."""
    return [runs for plan in plans.values() for key, runs in plan.runs.items() if key.endswith(f"/{variant}")]


#: Where every image study's files live, for the rules to name: a prepared data set, a run
#: directory (``predictions.npz``, ``run.json``, ``history.csv``, ``model.pt``; see
#: :mod:`runvar.runs`), the metrics row of a (setup, variant).
DATA_NPZ = "results/data/{dataset}.npz"
#: A data set's check set (``plateau.check_sets``; :func:`runvar.data.prepare_check_set`).
CHECK_SET_NPZ = "results/data/check/{dataset}.npz"
RUN_DIR = "results/runs/{setup}/{variant}/seed{seed}"
METRICS_JSON = "results/metrics/{setup}/{variant}.json"

#: The plateau check's defaults (config key ``plateau``; docs/protocol.md, Convergence).
PLATEAU_DEFAULTS = {"variant": "all", "runs": 3, "max_change": 0.3, "check_sets": {}, "pools": {}}
#: One recipe's plateau check, and the table and figure of them all (by the rule's output names).
PLATEAU_JSON = "results/plateau/{setup}.json"
#: A recipe's own check, before its pool (``plateau.pools``) decides with it.
OWN_PLATEAU_JSON = "results/plateau/own/{setup}.json"
PLATEAU_FILES: dict[str, str] = {"csv": "results/tables/plateau.csv", "md": "results/tables/plateau.md",
                                 "png": "results/figures/plateau.png", "pdf": "results/figures/plateau.pdf"}


def plateau_plan(config: Mapping, plans: Mapping[str, StudyPlan]) -> StudyPlan:
    """The plateau checks of every recipe the studies' tables use: for each, the same seeds
    (runs 1..``runs`` of ``variant``) trained for twice the epochs, in a derived setup
    ``{recipe}.epochs{2E}``; ``detail`` maps each recipe to its doubled setup and the options.
    A recipe that differs from another only by more epochs inherits that one's check
    (:func:`inherited_recipes`; the plans' ``recipes`` are rewritten to say so): no check of a check.
    """
    from .config import derive_setup

    options = {**PLATEAU_DEFAULTS, **config.get("plateau", {})}
    setups = dict(config.get("setups", {}))
    for plan in plans.values():
        setups.update(plan.setups)
    inherit = inherited_recipes({recipe for plan in plans.values() for recipe in plan.recipes.values()}, setups)
    for plan in plans.values():
        plan.recipes = {setup: inherit[recipe] for setup, recipe in plan.recipes.items()}
    recipes = sorted(set(inherit.values()))
    doubled = {recipe: derive_setup(setups, recipe, epochs=2 * int(setups[recipe]["epochs"])) for recipe in recipes}
    targets = [PLATEAU_JSON.format(setup=recipe) for recipe in recipes]
    if recipes:
        targets += list(PLATEAU_FILES.values())
    runs = check_runs(recipes, int(options["runs"]), options.get("runs_by_setup") or {})
    check_sets = checked_check_sets(options["check_sets"] or {}, config.get("datasets") or {})
    on_check_set = {recipe: setups[recipe].get("dataset") for recipe in recipes
                    if setups[recipe].get("dataset") in check_sets}
    pools = check_pools(recipes, options["pools"] or {})
    return StudyPlan(setups={d: setups[d] for d in doubled.values()}, targets=targets,
                     detail={"doubled": doubled, **options, "check_sets": check_sets, "runs_by_recipe": runs,
                             "check_set_of": on_check_set, "pools": pools,
                             "pool_of": {recipe: name for name, members in pools.items() for recipe in members}})


def check_pools(recipes: list[str], patterns: Mapping[str, str]) -> dict[str, list[str]]:
    """``plateau.pools`` (name -> setup-name pattern, fnmatch) as name -> the checked recipes it
    pools (a pool of one, where a config keeps one of them, is that recipe's own check); a pattern
    matching no checked recipe, or a recipe in two pools, raises :class:`runvar.config.ConfigError`
    naming them.

    >>> check_pools(["cnn", "sel.k2", "sel.k4"], {"selection": "sel.*"})
    {'selection': ['sel.k2', 'sel.k4']}
    """
    from .config import ConfigError

    pools = {name: [r for r in recipes if fnmatch.fnmatchcase(r, pattern)] for name, pattern in patterns.items()}
    for name, members in pools.items():
        if not members:
            raise ConfigError(f"plateau.pools.{name}: {patterns[name]!r} matches no checked recipe; "
                              f"checked: {', '.join(recipes)}")
    for recipe in recipes:
        owners = [name for name, members in pools.items() if recipe in members]
        if len(owners) > 1:
            raise ConfigError(f"plateau.pools: {recipe} is in {' and '.join(owners)}; a recipe is in one pool at most")
    return pools


def checked_check_sets(check_sets: Mapping[str, Mapping], datasets: Mapping[str, Mapping]) -> dict[str, dict]:
    """``plateau.check_sets`` (data set -> ``{examples, seed}``) after refusing a data set without a
    check-set generator and a seed that is the data set's own (its check set would begin with the
    same examples), each with a :class:`runvar.config.ConfigError` naming what is allowed."""
    import inspect

    from .config import ConfigError
    from .data.prepared import CHECK_SETS, DATASETS

    for name, options in check_sets.items():
        if name not in CHECK_SETS:
            raise ConfigError(f"plateau.check_sets: {name!r} has no check-set generator; "
                              f"data sets with one: {', '.join(sorted(CHECK_SETS))}")
        default = inspect.signature(DATASETS[name]).parameters.get("seed")
        own = (datasets.get(name) or {}).get("seed", None if default is None else default.default)
        if int(options["seed"]) == own:
            raise ConfigError(f"plateau.check_sets.{name}.seed is {own}, the seed of the data set itself: "
                              "give the check set another seed (its examples must be new ones)")
    return {name: {"examples": int(o["examples"]), "seed": int(o["seed"])} for name, o in check_sets.items()}


def check_runs(recipes: list[str], runs: int, by_setup: Mapping[str, int]) -> dict[str, int]:
    """Each checked recipe's runs: ``plateau.runs``, or the ``plateau.runs_by_setup`` pattern
    (fnmatch) that matches its name. A pattern matching no checked recipe, or two patterns that
    give one recipe different runs, raise :class:`runvar.config.ConfigError` naming them.

    >>> check_runs(["cnn", "sel.k2", "sel.k4"], 10, {"sel.*": 40, "sel.k4": 40})
    {'cnn': 10, 'sel.k2': 40, 'sel.k4': 40}
    """
    from .config import ConfigError

    for pattern in by_setup:
        if not any(fnmatch.fnmatchcase(recipe, pattern) for recipe in recipes):
            raise ConfigError(f"plateau.runs_by_setup: {pattern!r} matches no checked recipe; checked: {', '.join(recipes)}")
    chosen = {}
    for recipe in recipes:
        asked = {pattern: int(n) for pattern, n in by_setup.items() if fnmatch.fnmatchcase(recipe, pattern)}
        if len(set(asked.values())) > 1:
            raise ConfigError(f"plateau.runs_by_setup: {asked} give {recipe} different runs; give each recipe one")
        chosen[recipe] = next(iter(asked.values()), runs)
    return chosen


def inherited_recipes(recipes: set[str] | list[str], setups: Mapping[str, Mapping]) -> dict[str, str]:
    """Each recipe -> the recipe whose plateau check stands for it: the one with the fewest
    epochs among those that differ from it only by fewer epochs (or by the seed base, which
    picks other seeds of the same recipe), else itself. Training a recipe on its plateau for
    longer keeps it there (docs/protocol.md, Convergence), so it is not checked again.

    >>> setups = {"a": {"epochs": 160, "lr": 0.1}, "a.epochs320": {"epochs": 320, "lr": 0.1},
    ...           "a.epochs640": {"epochs": 640, "lr": 0.1}, "b": {"epochs": 640, "lr": 0.05}}
    >>> inherited_recipes(["a.epochs640", "a.epochs320", "b", "a"], setups)
    {'a': 'a', 'a.epochs320': 'a', 'a.epochs640': 'a', 'b': 'b'}
    >>> inherited_recipes(["a", "a.base2"], {**setups, "a.base2": {"epochs": 160, "lr": 0.1, "seed_base": 2}})
    {'a': 'a', 'a.base2': 'a'}
    """
    def sans_epochs(name: str) -> dict:
        return {k: v for k, v in setups[name].items() if k not in ("epochs", "seed_base")}

    inherited = {}
    for recipe in sorted(recipes):
        shorter = [base for base in recipes if sans_epochs(base) == sans_epochs(recipe)
                   and int(setups[base]["epochs"]) <= int(setups[recipe]["epochs"])]
        inherited[recipe] = min(shorter, key=lambda base: (int(setups[base]["epochs"]), base))
    return inherited


def snapshot_epochs(studies: Mapping, base: str, cycles: int) -> int | None:
    """The epochs of ``base``'s snapshot runs of ``cycles`` cycles: one setup however many studies
    ensemble it (the ensembles study's ``epochs``, a table study's ``snapshot.epochs``). Set in one
    block only, the others follow it; None (the setup's own epochs) when no block sets it. Two
    blocks that set it differently are refused, naming both keys: they would train two setups.

    >>> studies = {"ensembles": {"setups": ["a"], "cycles": 5, "epochs": 320},
    ...            "architectures": {"setups": ["a"], "snapshot": {"cycles": 5}}}
    >>> snapshot_epochs(studies, "a", 5), snapshot_epochs(studies, "a", 4)
    (320, None)
    """
    keys: dict[str, int] = {}
    ensembles = studies.get("ensembles") or {}
    if ensembles.get("cycles") == cycles and base in ensembles.get("setups", []) and ensembles.get("epochs"):
        keys["studies.ensembles.epochs"] = int(ensembles["epochs"])
    for study, block in studies.items():
        snapshot = (block or {}).get("snapshot") or {}
        if (snapshot.get("cycles") == cycles and snapshot.get("epochs")
                and base in snapshot.get("setups", block.get("setups", []))):
            keys[f"studies.{study}.snapshot.epochs"] = int(snapshot["epochs"])
    if len(set(keys.values())) > 1:
        from .config import ConfigError

        listed = ", ".join(f"{key} = {value}" for key, value in keys.items())
        raise ConfigError(f"{listed}: the snapshot runs of {base} at {cycles} cycles are one setup; "
                          "set its epochs once (the other blocks follow) or to the same value")
    return next(iter(keys.values()), None)


def bitflip_base_count(block: Mapping, study: str) -> int:
    """B of a study block's ``bitflip_bases`` (default 1: SD's one base run), refused without
    the variant ``bitflip``; bases 2..B of setup ``s`` are the setups ``{s}.base2`` .. ``{s}.base{B}``
    (every fixed seed B, ``seed_base``), the sources and the language study alike.

    >>> bitflip_base_count({"variants": ["all", "bitflip"], "bitflip_bases": 4}, "sources")
    4
    """
    count = int(block.get("bitflip_bases", 1))
    if count >= 2 and "bitflip" not in block.get("variants", []):
        from .config import ConfigError

        raise ConfigError(f"studies.{study}.bitflip_bases = {count} needs the variant bitflip in studies.{study}.variants")
    return count


def metrics_runs(plans: Mapping[str, StudyPlan], setup: str, variant: str, default: int) -> int:
    """R of the metrics row of (setup, variant): the most runs any plan asks of it, a
    variant-specific request first (e.g. 3 runs of ``none``), else ``default``.

    >>> plans = {"a": StudyPlan(runs={"cnn": 10, "cnn/none": 3}), "b": StudyPlan(runs={"cnn": 20})}
    >>> metrics_runs(plans, "cnn", "none", 2), metrics_runs(plans, "cnn", "init", 2), metrics_runs(plans, "x", "init", 2)
    (3, 20, 2)
    """
    for key in (f"{setup}/{variant}", setup):
        asked = [plan.runs[key] for plan in plans.values() if key in plan.runs]
        if asked:
            return max(asked)
    return default


def plan_studies(config: Mapping) -> dict[str, StudyPlan]:
    """Every study's plan, by subpackage name. Raises :class:`runvar.config.ConfigError` (or the
    study's own config error) naming the key when a block is wrong, or when two studies add
    setups of the same name with different contents."""
    from .config import ConfigError

    plans: dict[str, StudyPlan] = {}
    added: dict[str, tuple[str, dict]] = {}
    for name in STUDY_PACKAGES:
        plans[name] = importlib.import_module(f".{name}", __package__).plan(config)
        for setup, resolved in plans[name].setups.items():
            if setup in added and added[setup][1] != resolved:
                raise ConfigError(f"setup {setup!r} is generated by both {added[setup][0]} and {name}, differently")
            added[setup] = (name, resolved)
    switch_off_checks(config, plans)
    plans["plateau"] = plateau_plan(config, plans)
    return plans


def unchecked_setups(config: Mapping) -> list[str]:
    """The setups whose plateau check the config switches off (``convergence_check.off``)."""
    return list((config.get("convergence_check") or {}).get("off", []))


def switch_off_checks(config: Mapping, plans: Mapping[str, StudyPlan]) -> None:
    """Drop the setups of ``convergence_check.off`` from the plans' recipes, so that no plateau
    check is trained for them (their rows then say ``convergence_check: off``, and their claims
    keep their verdicts with a note). A recipe that still stands for other setups stays checked
    for them. A name that is no table setup is an error naming the valid ones."""
    from .config import ConfigError

    off = unchecked_setups(config)
    checked = sorted({setup for plan in plans.values() for setup in plan.recipes})
    unknown = [setup for setup in off if setup not in checked]
    if unknown:
        raise ConfigError(f"convergence_check.off: {unknown} are not setups whose rows a table uses; "
                          f"valid: {checked}")
    for plan in plans.values():
        plan.recipes = {setup: recipe for setup, recipe in plan.recipes.items() if setup not in off}


def seeds_per_job(config: Mapping) -> int:
    """Runs trained one after another in one job (``train.seeds_per_job``, default 1: one job per seed)."""
    return int((config.get("train") or {}).get("seeds_per_job", 1))


def seed_chunks(runs: int, size: int, first: int = 1) -> list[list[int]]:
    """Seeds ``first``..``runs`` in chunks that end at multiples of ``size``: the seeds of one
    training job each. Aligned, so that a row of R runs (R a multiple of ``size``) needs whole
    chunks only, whether its runs start at seed 1 or at seed 2 (a single-source variant's run 1 is
    the ``none`` run): a 10-run row starting at seed 2 trains seeds 2-5 and 6-10, not 2-6 and 7-11.

    >>> seed_chunks(10, 4), seed_chunks(11, 5, first=2)
    ([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]], [[2, 3, 4, 5], [6, 7, 8, 9, 10], [11]])
    """
    chunks = []
    start = first
    while start <= runs:
        end = min((start - 1) // size * size + size, runs)
        chunks.append(list(range(start, end + 1)))
        start = end + 1
    return chunks


#: Cluster resources of a job whose kind the config's ``resources`` block does not set.
JOB_RESOURCES: dict[str, int] = {"runtime": 10, "mem_mb": 1000, "cpus_per_task": 1}


def job_resources(resources: Mapping[str, Mapping] | None, kind: str,
                  defaults: Mapping[str, Any] = JOB_RESOURCES) -> dict[str, Any]:
    """Cluster resources of a kind of job (``default``, ``train``): ``defaults``, then the
    ``default`` entry of the config's ``resources`` block, then the kind's own entry.

    >>> job_resources({"default": {"mem_mb": 2000}, "train": {"runtime": 60}}, "train")
    {'runtime': 60, 'mem_mb': 2000, 'cpus_per_task': 1}
    """
    resources = resources or {}
    return {**defaults, **resources.get("default", {}), **resources.get(kind, {})}

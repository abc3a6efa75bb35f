"""The language study's plan: the ``studies.language`` block -> setups, runs, job chunks, files.

Each setup gets R runs of every variant (``runs_none`` for ``none``) and a plateau check: runs
1..``plateau.runs`` of ``plateau.variant`` of the setup and of a derived setup
``{setup}.epochs{2E}`` (the check may take more runs than a row: they are trained too). Runs are
trained in jobs of ``train.seeds_per_job`` consecutive seeds (1: one cluster job per run).
The study's runs live under ``results/language/``, apart from the image studies' runs.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..studies import StudyPlan, seed_chunks, seeds_per_job

#: A run directory, by the training jobs' ``{key}`` (``setup/variant``) and by setup and variant.
KEY_RUN_DIR = "results/language/runs/{key}/seed{seed}"
RUN_DIR = KEY_RUN_DIR.replace("{key}", "{setup}/{variant}")
CORPUS_NPZ = "results/language/data/{corpus}.npz"
METRICS_JSON = "results/language/metrics/{setup}/{variant}.json"
PLATEAU_JSON = "results/language/plateau/{setup}.json"


#: One setup's table, claims and figure, by the report rule's output names.
REPORT_FILES: dict[str, str] = {
    "csv": "results/tables/language_{setup}.csv", "md": "results/tables/language_{setup}.md",
    "claims_csv": "results/claims/language_{setup}.csv", "claims_md": "results/claims/language_{setup}.md",
    "claims_html": "results/claims/language_{setup}.html",
    "png": "results/figures/language_{setup}.png", "pdf": "results/figures/language_{setup}.pdf",
}


def report_files(setup: str) -> dict[str, str]:
    """The table, claims and figure of one setup: the study's targets (the HTML claims come with the CSV)."""
    return {name: path.format(setup=setup) for name, path in REPORT_FILES.items() if name != "claims_html"}


def plan(config: Mapping) -> StudyPlan:
    """``detail``: resolved ``setups`` (with the doubled ones), ``variants``, ``runs`` by
    ``setup/variant``, ``doubled`` (setup -> its 2E setup), ``plateau`` options and ``chunks``
    (``(first, last)`` seed span -> the ``setup/variant`` keys trained in jobs of that span).

    >>> study = plan({"studies": {"language": {"variants": ["init", "none"], "runs": 4, "runs_none": 2,
    ...     "settings": {"q": {"epochs": 3}}}}, "train": {"seeds_per_job": 4}})
    >>> study.detail["runs"], study.detail["chunks"]
    ({'q/init': 4, 'q/none': 2, 'q.epochs6/all': 3}, {(1, 4): ['q/init'], (1, 2): ['q/none'], (1, 3): ['q.epochs6/all', 'q/all']})
    >>> study.targets[0]
    'results/tables/language_q.csv'
    >>> study = plan({"studies": {"language": {"variants": ["all"], "runs": 4, "plateau": {"runs": 6},
    ...     "settings": {"q": {"epochs": 3}}}}, "train": {"seeds_per_job": 4}}).detail
    >>> study["runs"], study["chunks"]
    ({'q/all': 4, 'q.epochs6/all': 6}, {(1, 4): ['q/all', 'q.epochs6/all'], (5, 6): ['q/all', 'q.epochs6/all']})
    """
    from .config import PLATEAU_DEFAULTS, resolve_block

    block = (config.get("studies") or {}).get("language")
    if not block:
        return StudyPlan(detail={})
    setups = resolve_block(block, config.get("datasets") or {})
    variants = list(block["variants"])
    plateau = {**PLATEAU_DEFAULTS, **block.get("plateau", {})}
    runs, doubled = {}, {}
    for name in list(setups):
        for variant in variants:
            runs[f"{name}/{variant}"] = int(block.get("runs_none", block["runs"]) if variant == "none" else block["runs"])
        double = f"{name}.epochs{2 * int(setups[name]['epochs'])}"
        setups[double] = {**setups[name], "epochs": 2 * int(setups[name]["epochs"])}
        doubled[name] = double
        runs[f"{double}/{plateau['variant']}"] = int(plateau["runs"])
    # the check reads runs 1..plateau.runs of its variant at E too: trained, whatever the row's R
    # (the row itself stays runs 1..R)
    trained = dict(runs)
    for name in doubled:
        check = f"{name}/{plateau['variant']}"
        trained[check] = max(trained.get(check, 0), int(plateau["runs"]))
    per_job = seeds_per_job(config)
    chunks: dict[tuple[int, int], list[str]] = {}
    for key, count in trained.items():
        for seeds in seed_chunks(count, per_job):
            chunks.setdefault((seeds[0], seeds[-1]), []).append(key)
    targets = [path for name in doubled for path in report_files(name).values()]
    return StudyPlan(targets=targets, detail={"setups": setups, "variants": variants, "runs": runs,
                                              "doubled": doubled, "plateau": plateau, "chunks": chunks})

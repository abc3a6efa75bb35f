"""The language study's plan: the ``studies.language`` block -> setups, runs, job chunks, files.

Each setup gets R runs of every variant (``runs_none`` for ``none``) and a plateau check: runs
1..``plateau.runs`` of ``plateau.variant`` of the setup and of a derived setup
``{setup}.epochs{2E}`` (the check may take more runs than a row: they are trained too). Runs are
trained in jobs of ``train.seeds_per_job`` consecutive seeds (1: one cluster job per run).
The study's runs live under ``results/language/``, apart from the image studies' runs.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..studies import StudyPlan, bitflip_base_count, seed_chunks, seeds_per_job

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
    """``detail``: resolved ``setups`` (with the doubled ones and the bit flips' bases), ``variants``,
    ``runs`` by ``setup/variant`` (``runs``, ``runs_none``, ``runs_by_variant``; each base's flips
    ``bitflip_base_runs``, default the bitflip row's), ``doubled`` (setup -> its 2E setup),
    ``plateau`` options, ``chunks`` (``(first, last)`` seed span -> the ``setup/variant`` keys
    trained in jobs of that span) and ``bitflip_bases`` (:func:`bitflip_bases`).

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
    >>> plan({"studies": {"language": {"variants": ["all", "bitflip"], "runs": 4, "runs_by_variant": {"all": 6},
    ...     "bitflip_bases": 2, "bitflip_base_runs": 2, "settings": {"q": {"epochs": 3}}}}}).detail["runs"]
    {'q/all': 6, 'q/bitflip': 4, 'q.epochs6/all': 3, 'q.base2/bitflip': 2}
    """
    from ..config import ConfigError
    from .config import PLATEAU_DEFAULTS, resolve_block

    block = (config.get("studies") or {}).get("language")
    if not block:
        return StudyPlan(detail={})
    setups = resolve_block(block, config.get("datasets") or {})
    variants = list(block["variants"])
    plateau = {**PLATEAU_DEFAULTS, **block.get("plateau", {})}
    runs, doubled = {}, {}
    by_variant = {"none": block.get("runs_none", block["runs"]), **(block.get("runs_by_variant") or {})}
    unknown = sorted(set(block.get("runs_by_variant") or {}) - set(variants))
    if unknown:
        raise ConfigError(f"studies.language.runs_by_variant: {unknown} not in studies.language.variants {variants}")
    for name in list(setups):
        for variant in variants:
            runs[f"{name}/{variant}"] = int(by_variant.get(variant, block["runs"]))
        double = f"{name}.epochs{2 * int(setups[name]['epochs'])}"
        setups[double] = {**setups[name], "epochs": 2 * int(setups[name]["epochs"])}
        doubled[name] = double
        runs[f"{double}/{plateau['variant']}"] = int(plateau["runs"])
    bases = bitflip_bases(block, setups, list(doubled))
    for names in bases.values():
        for name in names[1:]:
            runs[f"{name}/bitflip"] = int(block.get("bitflip_base_runs", runs[f"{names[0]}/bitflip"]))
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
                                              "doubled": doubled, "plateau": plateau, "chunks": chunks,
                                              "bitflip_bases": bases})


def bitflip_bases(block: Mapping, setups: dict[str, dict], names: list[str]) -> dict[str, list[str]]:
    """The language study's bit-flip bases (``bitflip_bases`` B, as the sources study's,
    :func:`runvar.sources.plan.bitflip_bases`): per table setup, the setups whose `bitflip` rows
    flip bits around bases 1..B, the setup itself (base 1, SD's row) and ``{setup}.base2`` ..
    ``{setup}.base{B}`` (every fixed seed B), added to ``setups``.

    >>> setups = {"q": {"epochs": 3}}
    >>> bitflip_bases({"variants": ["all", "bitflip"], "bitflip_bases": 3}, setups, ["q"])
    {'q': ['q', 'q.base2', 'q.base3']}
    >>> setups["q.base3"]
    {'epochs': 3, 'seed_base': 3}
    """
    count = bitflip_base_count(block, "language")
    if count < 2:
        return {}
    bases = {}
    for name in names:
        bases[name] = [name] + [f"{name}.base{b}" for b in range(2, count + 1)]
        for b, base in enumerate(bases[name][1:], start=2):
            setups[base] = {**setups[name], "seed_base": b}
    return bases

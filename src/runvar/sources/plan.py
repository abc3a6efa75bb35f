"""The sources study's plan: the ``sources``, ``depth``, ``architectures`` and ``generalization``
blocks -> the files they write. They train configured setups, and for a block's ``snapshot``
rows (SD Table 6: snapshot ensembles of `all` runs) the derived setup ``{setup}.cycles{N}``."""

from __future__ import annotations

from collections.abc import Mapping

from ..config import ConfigError, derive_setup
from ..studies import StudyPlan, bitflip_base_count, snapshot_epochs

#: Study blocks rendered as one (setup, variant) table each (SD Tables 6 and 8, RE Table 10).
TABLE_STUDIES: tuple[str, ...] = ("depth", "architectures", "generalization")

#: Files of the sources study per setup, by the rules' output names: table, claims, figure.
SOURCES_FILES: dict[str, str] = {
    "csv": "results/tables/sources_{setup}.csv",
    "md": "results/tables/sources_{setup}.md",
    "claims_csv": "results/claims/sources_{setup}.csv",
    "claims_md": "results/claims/sources_{setup}.md",
    "claims_html": "results/claims/sources_{setup}.html",
    "png": "results/figures/sources_{setup}.png",
    "pdf": "results/figures/sources_{setup}.pdf",
}
#: The targets among them, per setup (the HTML claims come with the CSV).
PER_SETUP = tuple(SOURCES_FILES[name] for name in ("csv", "md", "png", "pdf", "claims_csv", "claims_md"))
#: The table of a table study (``{study}``: depth, architectures, generalization).
STUDY_TABLE_FILES: dict[str, str] = {"csv": "results/tables/{study}.csv", "md": "results/tables/{study}.md"}
#: SD Fig 3: the spread of per-epoch test cross-entropy under bitflip (``depth.over_time``).
OVER_TIME_FILES: dict[str, str] = {"png": "results/figures/bitflip_over_time.png",
                                   "pdf": "results/figures/bitflip_over_time.pdf"}


def plan(config: Mapping) -> StudyPlan:
    """Every table, figure and claims file of the configured blocks.

    >>> study = plan({"studies": {"sources": {"setups": ["cnn"], "variants": ["none", "all"], "runs": 10,
    ...                               "runs_none": 3}, "depth": {"setups": ["lin"], "runs": 5}}})
    >>> study.targets[-2:], study.runs
    (['results/tables/depth.csv', 'results/tables/depth.md'], {'cnn': 10, 'cnn/none': 3, 'lin': 5})
    """
    studies = config.get("studies", {})
    targets = [path.format(setup=setup) for setup in studies.get("sources", {}).get("setups", [])
               for path in PER_SETUP]
    for study in TABLE_STUDIES:
        if study in studies:
            targets += [path.format(study=study) for path in STUDY_TABLE_FILES.values()]
    if studies.get("depth", {}).get("over_time"):
        targets += list(OVER_TIME_FILES.values())
    runs: dict[str, int] = {}
    for name in ("sources", *TABLE_STUDIES):
        block = studies.get(name)
        for setup in (block or {}).get("setups", []):
            runs[setup] = max(runs.get(setup, 0), int(block["runs"]))
            if "none" in block.get("variants", []) and "runs_none" in block:
                runs[f"{setup}/none"] = int(block["runs_none"])
            for variant, count in (block.get("runs_by_variant") or {}).items():
                runs[f"{setup}/{variant}"] = max(runs.get(f"{setup}/{variant}", 0), int(count))
    setups, snapshots = snapshot_rows(studies, config.get("setups", {}))
    known = {**config.get("setups", {}), **setups}
    bases = bitflip_bases(studies.get("sources") or {}, known)
    for setup, names in bases.items():
        for name in names[1:]:
            setups[name] = known[name]
            runs[f"{name}/bitflip"] = runs.get(f"{setup}/bitflip", runs[setup])
    for study_rows in snapshots.values():
        for spec in study_rows.values():
            runs[spec["setup"]] = max(runs.get(spec["setup"], 0), spec["runs"])
            runs[f"{spec['setup']}/{spec['variant']}"] = max(runs.get(f"{spec['setup']}/{spec['variant']}", 0), spec["runs"])
    recipes = {setup: setup for setup in runs if "/" not in setup}
    recipes.update({name: name for names in bases.values() for name in names[1:]})
    return StudyPlan(setups=setups, targets=targets, runs=runs,
                     detail={"snapshots": snapshots, "bitflip_bases": bases}, recipes=recipes)


def bitflip_bases(block: Mapping, setups: dict[str, dict]) -> dict[str, list[str]]:
    """The sources study's bit-flip bases (``bitflip_bases`` B): per setup, the setups whose
    `bitflip` rows flip bits around bases 1..B: the setup itself (base 1, SD's row) and
    ``{setup}.base2`` .. ``{setup}.base{B}`` (every fixed seed B; :func:`runvar.seeds.seed_shift`),
    derived into ``setups``.

    >>> setups = {"cnn": {"epochs": 10, "optimizer": {"lr": 0.1}}}
    >>> bitflip_bases({"setups": ["cnn"], "variants": ["all", "bitflip"], "bitflip_bases": 3}, setups)
    {'cnn': ['cnn', 'cnn.base2', 'cnn.base3']}
    >>> setups["cnn.base3"]
    {'epochs': 10, 'optimizer': {'lr': 0.1}, 'seed_base': 3}
    """
    count = bitflip_base_count(block, "sources")
    if count < 2:
        return {}
    return {setup: [setup] + [derive_setup(setups, setup, seed_base=b) for b in range(2, count + 1)]
            for setup in block["setups"]}



def snapshot_rows(studies: Mapping, configured: Mapping[str, dict]) -> tuple[dict[str, dict], dict[str, dict]]:
    """The derived setups and the snapshot rows of the table studies' ``snapshot`` blocks:
    per study, base setup -> the runs its row ensembles (``{base}.cycles{N}``, or
    ``{base}.epochs{E}.cycles{N}`` with ``snapshot.epochs``; variant ``all``, the block's R), for
    the block's ``snapshot.setups`` (default: all its setups).

    >>> base = {"epochs": 10, "optimizer": {"lr": 0.1}, "schedule": {}}
    >>> setups, rows = snapshot_rows({"architectures": {"setups": ["a", "b"], "runs": 4,
    ...     "snapshot": {"cycles": 5, "setups": ["a"]}}}, {"a": base, "b": base})
    >>> list(setups), rows
    (['a.cycles5'], {'architectures': {'a': {'setup': 'a.cycles5', 'variant': 'all', 'runs': 4}}})
    """
    setups = dict(configured)
    rows: dict[str, dict] = {}
    for study in TABLE_STUDIES:
        block = studies.get(study) or {}
        snapshot = block.get("snapshot")
        if not snapshot:
            continue
        unknown = [s for s in snapshot.get("setups", []) if s not in block["setups"]]
        if unknown:
            raise ConfigError(f"studies.{study}.snapshot.setups: {unknown} not in the block's setups {block['setups']}")
        rows[study] = {
            base: {"setup": derive_setup(setups, base, epochs=snapshot_epochs(studies, base, int(snapshot["cycles"])),
                                           cycles=int(snapshot["cycles"])), "variant": "all",
                   "runs": int(block["runs"])}
            for base in snapshot.get("setups", block["setups"])
        }
    return {name: setup for name, setup in setups.items() if name not in configured}, rows

"""The sources study's plan: the ``sources``, ``depth``, ``architectures`` and ``generalization``
blocks -> the files they write. They train only configured setups (no derived ones)."""

from __future__ import annotations

from collections.abc import Mapping

from ..studies import StudyPlan

#: Study blocks rendered as one (setup, variant) table each (SD Tables 6 and 8, RE Table 10).
TABLE_STUDIES: tuple[str, ...] = ("depth", "architectures", "generalization")

#: Files of the sources study per setup: table, figure and claims.
PER_SETUP = (
    "results/tables/sources_{setup}.csv",
    "results/tables/sources_{setup}.md",
    "results/figures/sources_{setup}.png",
    "results/figures/sources_{setup}.pdf",
    "results/claims/sources_{setup}.csv",
    "results/claims/sources_{setup}.md",
)


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
            targets += [f"results/tables/{study}.csv", f"results/tables/{study}.md"]
    if studies.get("depth", {}).get("over_time"):
        targets += ["results/figures/bitflip_over_time.png", "results/figures/bitflip_over_time.pdf"]
    runs: dict[str, int] = {}
    for name in ("sources", *TABLE_STUDIES):
        block = studies.get(name)
        for setup in (block or {}).get("setups", []):
            runs[setup] = max(runs.get(setup, 0), int(block["runs"]))
            if "none" in block.get("variants", []) and "runs_none" in block:
                runs[f"{setup}/none"] = int(block["runs_none"])
    return StudyPlan(targets=targets, runs=runs, recipes={setup: setup for setup in runs if "/" not in setup})

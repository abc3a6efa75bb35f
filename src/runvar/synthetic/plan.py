"""The synthetic study's plan: the ``synthetic`` config block -> settings, figures, files."""

from __future__ import annotations

from collections.abc import Mapping

from ..studies import StudyPlan
from .config import resolve_block

#: Cluster resources of the synthetic jobs, under the block's own ``resources``.
JOB_RESOURCES: dict[str, int] = {"runtime": 30, "mem_mb": 2000, "cpus_per_task": 1}

#: One JSON file of results per setting.
SETTING_JSON = "results/synthetic/settings/{setting}.json"


def figure_files(figures: Mapping[str, Mapping], kind: str, ext: str) -> list[str]:
    """The summary's files of one kind (``tables`` or ``figures``) and extension, one per figure."""
    return [f"results/{kind}/synthetic_{figure}.{ext}" for figure in figures]


def plan(config: Mapping) -> StudyPlan:
    """Resolved settings (``detail["settings"]``), figures, the jobs' cluster ``resources``, and
    every file the study writes.

    >>> study = plan({"synthetic": {"settings": {"lin": {"model": "linear"}},
    ...                             "figures": {"f": {"title": "t", "settings": ["lin"]}}}})
    >>> study.targets[:2], sorted(study.detail)
    (['results/synthetic/settings/lin.json', 'results/tables/synthetic_f.csv'], ['figures', 'resources', 'settings'])
    """
    block = config.get("synthetic") or {}
    settings = resolve_block(block) if block else {}
    figures = block.get("figures") or {}
    targets = [SETTING_JSON.format(setting=name) for name in settings]
    for kind, exts in (("tables", ("csv", "md")), ("figures", ("png", "pdf"))):
        for ext in exts:
            targets += figure_files(figures, kind, ext)
    resources = {**JOB_RESOURCES, **(block.get("resources") or {})}
    return StudyPlan(targets=targets, detail={"settings": settings, "figures": figures, "resources": resources})

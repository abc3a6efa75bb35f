"""The plan of the variability-reduction studies: ensembles, TTA, onset, CKA, ablations.

:func:`plan` resolves the study blocks ``ensembles``, ``tta``, ``onset``, ``cka`` and
``ablations`` into the rows each table computes, the derived setups they train
(:func:`runvar.config.derive_setup`: ``{base}.cycles5``, ``.onset10``, ``.epochs10``,
``.lr0.05``, ...) and the files they write.

>>> config = {"setups": {"cnn": {"epochs": 30, "optimizer": {"lr": 0.1}, "schedule": {}}},
...           "studies": {"onset": {"setups": ["cnn"], "variants": ["shuffle"], "epochs": [0, 5],
...                                 "runs": 2}}}
>>> study = plan(config)
>>> sorted(study.setups), [r["setup"] for r in study.detail["onset"]["cnn"]]
(['cnn.onset5'], ['cnn', 'cnn.onset5'])
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from ..config import ConfigError, derive_setup, max_runs
from ..seeds import VARIANTS, variant_sources
from ..studies import RUN_DIR, StudyPlan, snapshot_epochs
from .tta import tta_methods

#: A file of a reduction study: ``kind`` tables, claims or figures; ``stem`` the study (the TTA
#: claims: ``reduction``); ``ext`` csv and md, or png and pdf.
REDUCTION_FILE = "results/{kind}/{stem}_{setup}.{ext}"

#: Padding of the TTA crop views when ``studies.tta.crop_padding`` is not set.
TTA_CROP_PADDING = 4


def tta_crop_padding(studies: Mapping[str, Any]) -> int:
    """The padding of the TTA crop views: ``studies.tta.crop_padding``, else :data:`TTA_CROP_PADDING`.

    >>> tta_crop_padding({}), tta_crop_padding({"tta": {"crop_padding": 2}})
    (4, 2)
    """
    return int((studies.get("tta") or {}).get("crop_padding", TTA_CROP_PADDING))


def _check_variants(where: str, variants: list[str], onset: bool = False) -> None:
    for variant in variants:
        if variant not in VARIANTS:
            raise ConfigError(f"{where}: unknown variant {variant!r}; valid variants: {list(VARIANTS)}")
        if onset and "init" in variant_sources(variant):
            raise ConfigError(
                f"{where}: variant {variant!r} varies 'init', which cannot switch on after epoch 0; "
                "use single sources such as shuffle, augment, stochastic, bitflip"
            )


def _check_runs(where: str, runs: int, max_runs: int) -> None:
    if runs > max_runs:
        raise ConfigError(
            f"{where}: {runs} runs asked for, but runs exist for seeds 1..{max_runs} only "
            "(the largest `runs` of any study)"
        )


def row(label: str, setup: str, variant: str, runs: int, **columns: Any) -> dict[str, Any]:
    """One table row to compute: the metrics of runs 1..``runs`` of (setup, variant)."""
    return {"label": label, "setup": setup, "variant": variant, "runs": int(runs), **columns}


def reduction_plan(
    studies: Mapping[str, Mapping], setups: MutableMapping[str, dict], max_runs: int
) -> dict[str, dict[str, Any]]:
    """Resolve the study blocks ``ensembles``, ``tta``, ``onset``, ``cka``, ``ablations``.

    Adds the derived setups they need to ``setups`` and returns, per study and per base
    setup, what its rules compute. Raises :class:`ConfigError` naming the key on bad values.
    """
    plan: dict[str, dict[str, Any]] = {}
    block = studies.get("ensembles")
    if block:
        _check_variants("studies.ensembles.variant", [block["variant"]])
        _check_runs("studies.ensembles.runs", block["runs"], max_runs)
        for size in block["sizes"]:
            if block["runs"] // size < 2:
                raise ConfigError(
                    f"studies.ensembles.sizes: N={size} leaves {block['runs'] // size} disjoint "
                    f"group(s) of the {block['runs']} runs; variability needs >= 2 (N <= runs/2)"
                )
        plan["ensembles"] = {
            base: {
                "pool": row("Single model", base, block["variant"], block["runs"]),
                "snapshot": row(f"Snapshot ({block['cycles']} cycles)",
                                derive_setup(setups, base, epochs=snapshot_epochs(studies, base, block["cycles"]),
                                             cycles=block["cycles"]),
                                block["variant"], block["runs"]) if block.get("cycles") else None,
                "sizes": list(block["sizes"]),
            }
            for base in block["setups"]
        }
    block = studies.get("tta")
    if block:
        _check_runs("studies.tta.runs", block["runs"], max_runs)
        pool_variant = (studies.get("ensembles") or {}).get("variant", "all")
        plan["tta"] = {}
        for base in block["setups"]:
            snapshot = plan.get("ensembles", {}).get(base, {}).get("snapshot")
            plan["tta"][base] = {
                "pool": row("Single model", base, pool_variant, block["runs"]),
                "snapshot": dict(snapshot, runs=block["runs"]) if snapshot else None,
                "views": list(block["views"]),
                "strategies": list(block.get("strategies", ["tta"])),
                "methods": tta_methods(block.get("strategies", ["tta"]), block["views"]),
                "crop_padding": tta_crop_padding(studies),
            }
    block = studies.get("onset")
    if block:
        _check_variants("studies.onset.variants", block["variants"], onset=True)
        _check_runs("studies.onset.runs", block["runs"], max_runs)
        plan["onset"] = {
            base: [
                row(f"{variant}/E={epoch}", derive_setup(setups, base, onset_epoch=epoch), variant,
                    block["runs"], source=variant, onset_epoch=int(epoch))
                for variant in block["variants"]
                for epoch in block["epochs"]
            ]
            for base in block["setups"]
        }
    block = studies.get("cka")
    if block:
        _check_runs("studies.cka.runs", block["runs"], max_runs)
        plan["cka"] = {
            base: {"variants": list(block["variants"]), "runs": int(block["runs"]),
                   "examples": int(block.get("examples", 500)), "seed": int(block.get("seed", 0))}
            for base in block["setups"]
        }
    block = studies.get("ablations")
    if block:
        plan.update(_ablation_plan(block, setups, max_runs))
    return plan


def _ablation_plan(block: Mapping, setups: MutableMapping[str, dict], max_runs: int) -> dict[str, dict]:
    runs = int(block["runs"])
    _check_runs("studies.ablations.runs", runs, max_runs)
    plan: dict[str, dict] = {}
    sizes = block.get("pool_sizes")
    if sizes:
        _check_variants("studies.ablations.pool_sizes.variants", sizes["variants"])
        _check_runs("studies.ablations.pool_sizes.sizes", max(sizes["sizes"]), max_runs)
        plan["ablation_runs"] = {
            base: [row(f"{v}/N={n}", base, v, n, pool_runs=n) for v in sizes["variants"] for n in sizes["sizes"]]
            for base in block["setups"]
        }
    epochs = block.get("epochs")
    if epochs:
        _check_variants("studies.ablations.epochs.variants", epochs["variants"])
        plan["ablation_epochs"] = {
            base: [row(f"{v}/{e}", derive_setup(setups, base, epochs=e), v, runs, epochs=int(e))
                   for v in epochs["variants"] for e in epochs["epochs"]]
            for base in block["setups"]
        }
    grid = block.get("lr_epochs")
    if grid:
        listed = lr_epochs_rows(grid, runs, max_runs)
        plan["ablation_lr_epochs"] = {
            base: [lr_epochs_row(setups, base, *spec) for spec in listed] for base in block["setups"]
        }
    return plan


#: The pseudo-variant of SD Table 7's "snapshot - all sources" row: snapshot ensembles of `all`.
SNAPSHOT_ALL = "snapshot-all"
SNAPSHOT_CYCLES = 5


def lr_epochs_rows(block: Mapping, runs: int, max_runs: int) -> list[tuple[str, float, int, int]]:
    """(variant, lr, epochs, N) of each row of an ``ablations.lr_epochs`` block: its explicit
    ``rows`` (SD Table 7 as published), or the grid variants x lr x epochs with N = ``runs``.

    >>> lr_epochs_rows({"rows": [{"variant": "all", "lr": 0.4, "epochs": 50, "runs": 20}]}, 10, 100)
    [('all', 0.4, 50, 20)]
    >>> lr_epochs_rows({"variants": ["init"], "lr": [0.1], "epochs": [5, 10]}, 10, 100)
    [('init', 0.1, 5, 10), ('init', 0.1, 10, 10)]
    """
    where = "studies.ablations.lr_epochs"
    grid_keys = [key for key in ("variants", "lr", "epochs") if key in block]
    if "rows" in block:
        if grid_keys:
            raise ConfigError(f"{where}: give either rows or the grid (variants, lr, epochs), not both; found {grid_keys}")
        listed = [(r["variant"], float(r["lr"]), int(r["epochs"]), int(r.get("runs", runs))) for r in block["rows"]]
    elif len(grid_keys) == 3:
        listed = [(v, float(lr), int(e), runs) for v in block["variants"] for lr in block["lr"] for e in block["epochs"]]
    else:
        raise ConfigError(f"{where}: needs rows, or all of variants, lr and epochs (found {grid_keys})")
    single = [variant for variant, *_ in listed if variant != SNAPSHOT_ALL]
    _check_variants(f"{where}.rows" if "rows" in block else f"{where}.variants", single)
    for i, (variant, lr, epochs, n) in enumerate(listed):
        _check_runs(f"{where}.rows[{i}].runs" if "rows" in block else f"{where}", n, max_runs)
        if variant == SNAPSHOT_ALL and epochs % SNAPSHOT_CYCLES:
            raise ConfigError(f"{where}.rows[{i}]: {SNAPSHOT_ALL} needs epochs divisible by {SNAPSHOT_CYCLES}, got {epochs}")
    return listed


def lr_epochs_row(setups: MutableMapping[str, dict], base: str, variant: str, lr: float, epochs: int, n: int) -> dict:
    """One planned SD Table 7 row; ``snapshot-all`` ensembles the cycle ends of the `all` runs of
    the derived setup with 5 schedule cycles."""
    snapshot = variant == SNAPSHOT_ALL
    setup = derive_setup(setups, base, lr=lr, epochs=epochs, cycles=SNAPSHOT_CYCLES if snapshot else None)
    return row(f"{variant}/{lr:g}/{epochs}", setup, "all" if snapshot else variant, n,
               lr=float(lr), epochs=int(epochs), snapshot=snapshot)


#: The row-table studies (one variability row per planned row) and their titles.
ROW_TABLES: dict[str, str] = {
    "onset": "Onset of nondeterminism (SD Fig. 2)",
    "ablation_runs": "Number of runs N, subsampled from one pool (RE Table 8)",
    "ablation_epochs": "Number of epochs (RE Table 9)",
    "ablation_lr_epochs": "Peak learning rate x epochs (SD Table 7)",
}


def plan(config: Mapping) -> StudyPlan:
    """The reduction studies of ``config`` (validated): derived setups, rows, targets."""
    setups = dict(config.get("setups", {}))
    detail = reduction_plan(config.get("studies", {}), setups, max_runs(config))
    derived = {name: setup for name, setup in setups.items() if name not in config.get("setups", {})}
    return StudyPlan(setups=derived, targets=targets(detail), detail=detail, recipes=recipes(detail))


def recipes(detail: Mapping[str, Mapping]) -> dict[str, str]:
    """Every setup whose runs feed a reduction table -> its recipe: itself, except that an
    onset setup (the base with a later switch-on epoch) is trained by the base's recipe."""
    found: dict[str, str] = {}
    for study, per_base in detail.items():
        for base, spec in per_base.items():
            rows = spec if isinstance(spec, list) else [spec.get("pool"), spec.get("snapshot")]
            found[base] = base
            for row_spec in filter(None, rows):
                found[row_spec["setup"]] = base if study == "onset" else row_spec["setup"]
    return found


#: The training state of a setup's `none` run 1 at the end of epoch ``{epoch}``, where its onset
#: runs of switch-on epoch E = ``{epoch}`` start: a file of its own per (setup, E), made by a job of
#: its own (:func:`runvar.runs.save_onset_start`), so that the `none` run 1 itself is the same job
#: under every config, whichever onset epochs the config holds.
ONSET_START_FILE = RUN_DIR.replace("{variant}", "none").replace("{seed}", "1") + "/onset_start{epoch}.pt"


def onset_starts(detail: Mapping[str, Mapping]) -> dict[str, tuple[str, int]]:
    """Onset setup -> (its base, switch-on epoch E), for E > 0: its runs start from the base's
    `none` run 1 at the end of epoch E (:data:`ONSET_START_FILE`).

    >>> onset_starts({"onset": {"cnn": [{"setup": "cnn", "onset_epoch": 0},
    ...                                  {"setup": "cnn.onset5", "onset_epoch": 5}]}})
    {'cnn.onset5': ('cnn', 5)}
    """
    return {row_spec["setup"]: (base, row_spec["onset_epoch"])
            for base, rows in detail.get("onset", {}).items() for row_spec in rows if row_spec["onset_epoch"]}


def targets(detail: Mapping[str, Mapping]) -> list[str]:
    """Every table, figure and claims file of the planned reduction studies."""
    files = []
    for study, stem_kinds in (
        ("ensembles", (("tables", "ensembles"),)),
        ("tta", (("tables", "tta"), ("claims", "reduction"))),
        ("cka", (("tables", "cka"), ("figures", "cka"))),
        ("onset", (("figures", "onset"),)),
    ):
        for setup in detail.get(study, {}):
            for kind, stem in stem_kinds:
                exts = ("png", "pdf") if kind == "figures" else ("csv", "md")
                files += [REDUCTION_FILE.format(kind=kind, stem=stem, setup=setup, ext=ext) for ext in exts]
    for table in ROW_TABLES:
        for setup in detail.get(table, {}):
            files += [REDUCTION_FILE.format(kind="tables", stem=table, setup=setup, ext=ext) for ext in ("csv", "md")]
    return files

"""Derived setups and the row plans of the variability-reduction and ablation studies.

A *derived setup* is a configured setup with a few keys overridden: the onset epoch (SD
Fig 2), the number of schedule cycles (snapshot ensembles, SD Table 5), the epochs (RE Table
9) and the peak learning rate (SD Table 7). Its name is canonical, ``{base}`` followed by
``.lr{lr}``, ``.epochs{E}``, ``.cycles{N}``, ``.onset{E}`` for exactly the values that differ
from the base, so a derived setup equal to the base *is* the base and one reached from two
studies is one setup: nothing is trained twice.

>>> setups = {"cnn": {"epochs": 30, "optimizer": {"lr": 0.1}, "schedule": {}}}
>>> derive_setup(setups, "cnn", epochs=10), derive_setup(setups, "cnn", lr=0.1, epochs=30)
('cnn.epochs10', 'cnn')
>>> derive_setup(setups, "cnn", lr=0.05, onset_epoch=5)
'cnn.lr0.05.onset5'
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import pandas as pd

from .config import ConfigError
from .ensembles import bootstrap_variability, reduction_frame
from .io import load_prediction_stack
from .plots import plt
from .seeds import VARIANTS, variant_sources


def derive_setup(
    setups: MutableMapping[str, dict],
    base: str,
    *,
    lr: float | None = None,
    epochs: int | None = None,
    cycles: int | None = None,
    onset_epoch: int | None = None,
) -> str:
    """Add the setup ``base`` with the given overrides to ``setups`` (if new); return its name."""
    setup = copy.deepcopy(setups[base])
    parts = []
    if lr is not None and float(lr) != float(setup["optimizer"]["lr"]):
        setup["optimizer"]["lr"] = float(lr)
        parts.append(f"lr{float(lr):g}")
    if epochs is not None and int(epochs) != int(setup["epochs"]):
        setup["epochs"] = int(epochs)
        parts.append(f"epochs{int(epochs)}")
    if cycles is not None and int(cycles) != int(setup.get("schedule", {}).get("cycles", 1)):
        setup.setdefault("schedule", {})["cycles"] = int(cycles)
        parts.append(f"cycles{int(cycles)}")
    if onset_epoch is not None and int(onset_epoch) != int(setup.get("onset_epoch", 0)):
        setup["onset_epoch"] = int(onset_epoch)
        parts.append(f"onset{int(onset_epoch)}")
    if not parts:
        return base
    name = ".".join([base, *parts])
    _check_derived(name, setup)
    setups.setdefault(name, setup)
    return name


def _check_derived(name: str, setup: Mapping) -> None:
    epochs = int(setup["epochs"])
    cycles = int(setup.get("schedule", {}).get("cycles", 1))
    if epochs % cycles:
        raise ConfigError(f"derived setup {name}: epochs ({epochs}) must be a multiple of cycles ({cycles})")
    onset = int(setup.get("onset_epoch", 0))
    if onset >= epochs:
        raise ConfigError(f"derived setup {name}: onset epoch {onset} must be below epochs ({epochs})")


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
                                derive_setup(setups, base, cycles=block["cycles"]),
                                block["variant"], block["runs"]),
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
                "crop_padding": int(block.get("crop_padding", 4)),
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
        _check_variants("studies.ablations.lr_epochs.variants", grid["variants"])
        plan["ablation_lr_epochs"] = {
            base: [row(f"{v}/{lr:g}/{e}", derive_setup(setups, base, lr=lr, epochs=e), v, runs,
                       lr=float(lr), epochs=int(e))
                   for v in grid["variants"] for lr in grid["lr"] for e in grid["epochs"]]
            for base in block["setups"]
        }
    return plan


#: The row-table studies (one variability row per planned row) and their titles.
ROW_TABLES: dict[str, str] = {
    "onset": "Onset of nondeterminism (SD Fig. 2)",
    "ablation_runs": "Number of runs N, subsampled from one pool (RE Table 8)",
    "ablation_epochs": "Number of epochs (RE Table 9)",
    "ablation_lr_epochs": "Peak learning rate x epochs (SD Table 7)",
}


def row_table_frame(
    rows: Sequence[Mapping[str, Any]],
    prediction_paths: Sequence[Sequence[str | os.PathLike[str]]],
    bootstrap: Mapping[str, int],
) -> pd.DataFrame:
    """The variability of each planned row (over its runs' prediction files), with the row's
    own columns (source, onset epoch, lr, epochs, ...) after the label."""
    metrics = [
        (spec["label"], bootstrap_variability(*load_prediction_stack(list(paths)), bootstrap))
        for spec, paths in zip(rows, prediction_paths)
    ]
    frame = reduction_frame(metrics, None)
    extra = [k for k in rows[0] if k not in ("label", "runs")]
    for position, key in enumerate(extra, start=1):
        frame.insert(position, key, [spec[key] for spec in rows])
    return frame


def onset_figure(frame: pd.DataFrame, title: str) -> plt.Figure:
    """SD Fig. 2: accuracy SD and cross-entropy SD (± bootstrap SD of the SD) against the onset
    epoch, one line per source."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    panels = (("accuracy_sd", "accuracy_sd_sd", "Accuracy SD (%)"),
              ("cross_entropy_sd", "cross_entropy_sd_sd", "Cross-entropy SD"))
    for ax, (key, err, label) in zip(axes, panels):
        for source, part in frame.groupby("source", sort=False):
            ax.errorbar(part["onset_epoch"], part[key], yerr=part[err], marker="o", capsize=3, label=source)
        ax.set_xlabel("onset epoch E (all seeds 1 before E)")
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
    axes[0].legend(title="source", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig

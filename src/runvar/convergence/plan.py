"""The plan of the convergence study: training lengths -> derived setups, rows and files.

The block ``studies.convergence`` names base setups, training lengths (epochs), variants and
runs. Every length becomes a derived setup (:func:`runvar.config.derive_setup`:
``{base}.epochs{E}``, or the base itself at its own epochs) trained ``runs`` times per variant;
the ordinary metrics rows of those (setup, variant) pairs feed one table and one figure per
base setup.

>>> config = {"setups": {"cnn": {"epochs": 30, "optimizer": {"lr": 0.1}, "schedule": {}}},
...           "studies": {"convergence": {"setups": ["cnn"], "epochs": [10, 30],
...                                       "variants": ["init", "bitflip"], "runs": 4}}}
>>> study = plan(config)
>>> sorted(study.setups), study.runs
(['cnn.epochs10'], {'cnn.epochs10': 4, 'cnn': 4})
>>> [(r["epochs"], r["setup"], r["variant"]) for r in study.detail["cnn"]["rows"]][:2]
[(10, 'cnn.epochs10', 'init'), (10, 'cnn.epochs10', 'bitflip')]
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from ..config import ConfigError, derive_setup
from ..seeds import VARIANTS
from ..studies import StudyPlan

#: The config key of the study block.
KEY = "studies.convergence"

#: The files of the study, per base setup, by the rules' output names.
CONVERGENCE_FILES: dict[str, str] = {
    "csv": "results/tables/convergence_{setup}.csv",
    "md": "results/tables/convergence_{setup}.md",
    "png": "results/figures/convergence_{setup}.png",
    "pdf": "results/figures/convergence_{setup}.pdf",
}
PER_SETUP = tuple(CONVERGENCE_FILES.values())


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_block(block: Mapping, setups: Mapping[str, Mapping]) -> None:
    """Raise :class:`ConfigError` naming the key when the block is wrong: unknown setups or
    variants, epochs that are not positive integers sorted ascending without repeats, runs < 2."""
    for key in ("setups", "epochs", "variants", "runs"):
        if key not in block:
            raise ConfigError(f"{KEY}: missing key {key!r}; required keys: setups, epochs, variants, runs")
    for key in ("setups", "epochs", "variants"):
        if isinstance(block[key], (str, bytes)) or not isinstance(block[key], (list, tuple)) or not block[key]:
            raise ConfigError(f"{KEY}.{key}: must be a non-empty list, got {block[key]!r}")
    for setup in block["setups"]:
        if setup not in setups:
            raise ConfigError(f"{KEY}.setups: unknown setup {setup!r}; setups in this config: {sorted(setups)}")
    epochs = list(block["epochs"])
    for value in epochs:
        if not _is_int(value) or value < 1:
            raise ConfigError(f"{KEY}.epochs: {value!r} is not a positive integer (a training length in epochs)")
    if epochs != sorted(set(epochs)):
        raise ConfigError(
            f"{KEY}.epochs: {epochs} must be sorted ascending without repeats, e.g. {sorted(set(epochs))}"
        )
    for variant in block["variants"]:
        if variant not in VARIANTS:
            raise ConfigError(f"{KEY}.variants: unknown variant {variant!r}; valid variants: {list(VARIANTS)}")
    if len(set(block["variants"])) != len(block["variants"]):
        raise ConfigError(f"{KEY}.variants: {list(block['variants'])} names a variant twice")
    runs = block["runs"]
    if not _is_int(runs) or runs < 2:
        raise ConfigError(f"{KEY}.runs: {runs!r}; an SD over runs needs an integer >= 2")


def convergence_plan(block: Mapping, setups: MutableMapping[str, dict]) -> dict[str, dict[str, Any]]:
    """Per base setup: its lengths (epochs -> derived setup name, added to ``setups``), runs,
    variants and the (length, variant) rows its table reads, lengths outer, variants inner."""
    check_block(block, setups)
    runs = int(block["runs"])
    detail: dict[str, dict[str, Any]] = {}
    for base in block["setups"]:
        lengths = []
        for epochs in block["epochs"]:
            try:
                name = derive_setup(setups, base, epochs=epochs)
            except ConfigError as error:
                raise ConfigError(f"{KEY}.epochs: {epochs} epochs of setup {base!r}: {error}") from None
            lengths.append({"epochs": int(epochs), "setup": name})
        rows = [{"epochs": length["epochs"], "setup": length["setup"], "variant": variant, "runs": runs}
                for length in lengths for variant in block["variants"]]
        detail[base] = {"runs": runs, "variants": list(block["variants"]), "lengths": lengths, "rows": rows}
    return detail


def targets(detail: Mapping[str, Any]) -> list[str]:
    """The table and figure files of every planned base setup."""
    return [path.format(setup=base) for base in detail for path in PER_SETUP]


def plan(config: Mapping) -> StudyPlan:
    """The convergence study of ``config`` (validated, setups resolved): the derived setups it
    trains, ``runs`` metrics runs for every length's setup, its table and figure files."""
    block = (config.get("studies") or {}).get("convergence")
    if not block:
        return StudyPlan(detail={})
    setups = dict(config.get("setups", {}))
    detail = convergence_plan(block, setups)
    derived = {name: setup for name, setup in setups.items() if name not in config.get("setups", {})}
    runs = {length["setup"]: spec["runs"] for spec in detail.values() for length in spec["lengths"]}
    return StudyPlan(setups=derived, targets=targets(detail), detail=detail, runs=runs)

"""Setups resolved and derived: ``setup_defaults`` deep-merged with a setup's own keys, and
setups derived from a configured one by a few overrides (with canonical names)."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

from .errors import ConfigError

def deep_merge(base: Mapping, override: Mapping) -> dict:
    """``base`` with ``override`` merged in, recursively for nested mappings."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged

def resolve_setup(config: Mapping, name: str) -> dict:
    """The full setup ``name``: ``setup_defaults`` deep-merged with the setup's own keys, plus
    the options of its dataset under ``dataset_options``."""
    setup = deep_merge(config.get("setup_defaults", {}), config["setups"][name])
    setup["dataset_options"] = copy.deepcopy(config.get("datasets", {}).get(setup.get("dataset"), {}))
    return setup

def derive_setup(
    setups: MutableMapping[str, dict],
    base: str,
    *,
    lr: float | None = None,
    epochs: int | None = None,
    cycles: int | None = None,
    onset_epoch: int | None = None,
    seed_base: int | None = None,
) -> str:
    """Add the setup ``base`` with the given overrides to ``setups`` (if new); return its name.

    A *derived setup* is a configured setup with a few keys overridden: the peak learning
    rate, the epochs, the number of schedule cycles, the onset epoch or the seed base (the fixed
    seeds, :func:`runvar.seeds.seed_shift`). Its name is canonical, ``{base}`` followed by
    ``.lr{lr}``, ``.epochs{E}``, ``.cycles{N}``, ``.onset{E}``, ``.base{B}`` for exactly
    the values that differ from the base, so a derived setup equal to the base *is* the base
    and one reached from two studies is one setup: nothing is trained twice.

    >>> setups = {"cnn": {"epochs": 30, "optimizer": {"lr": 0.1}, "schedule": {}}}
    >>> derive_setup(setups, "cnn", epochs=10), derive_setup(setups, "cnn", lr=0.1, epochs=30)
    ('cnn.epochs10', 'cnn')
    >>> derive_setup(setups, "cnn", lr=0.05, onset_epoch=5), derive_setup(setups, "cnn", seed_base=3)
    ('cnn.lr0.05.onset5', 'cnn.base3')

    A setup derived from a derived one is named from their configured root, in that order
    whichever was derived first: doubling the epochs of ``cnn.cycles5`` is ``cnn.epochs60.cycles5``.

    >>> derive_setup(setups, "cnn", cycles=5), derive_setup(setups, "cnn.cycles5", epochs=60)
    ('cnn.cycles5', 'cnn.epochs60.cycles5')
    """
    setup = copy.deepcopy(setups[base])
    changed = False
    if lr is not None and float(lr) != float(setup["optimizer"]["lr"]):
        setup["optimizer"]["lr"], changed = float(lr), True
    if epochs is not None and int(epochs) != int(setup["epochs"]):
        setup["epochs"], changed = int(epochs), True
    if cycles is not None and int(cycles) != _cycles(setup):
        setup.setdefault("schedule", {})["cycles"], changed = int(cycles), True
    if onset_epoch is not None and int(onset_epoch) != int(setup.get("onset_epoch", 0)):
        setup["onset_epoch"], changed = int(onset_epoch), True
    if seed_base is not None and int(seed_base) != int(setup.get("seed_base", 1)):
        setup["seed_base"], changed = int(seed_base), True
    if not changed:
        return base
    same = [name for name, other in setups.items() if other == setup]
    if same:  # e.g. doubling the epochs of "cnn.epochs60" gives "cnn" back
        return same[0]
    name = _derived_name(setups, _root(setups, base), setup)
    _check_derived(name, setup)
    setups.setdefault(name, setup)
    return name


#: The name parts of a derived setup, in their order: each reads one value of a setup.
_PARTS: tuple[tuple[str, Any], ...] = (
    ("lr", lambda s: f"{float(s['optimizer']['lr']):g}"),
    ("epochs", lambda s: str(int(s["epochs"]))),
    ("cycles", lambda s: str(_cycles(s))),
    ("onset", lambda s: str(int(s.get("onset_epoch", 0)))),
    ("base", lambda s: str(int(s.get("seed_base", 1)))),
)
_DERIVED_SUFFIX = re.compile(r"^(.+)\.(?:lr[0-9][0-9.e+-]*|epochs\d+|cycles\d+|onset\d+|base\d+)$")


def _cycles(setup: Mapping) -> int:
    return int(setup.get("schedule", {}).get("cycles", 1))


def _root(setups: Mapping[str, dict], name: str) -> str:
    """The configured setup a derived setup's name starts from (``name`` itself if none)."""
    root = candidate = name
    while match := _DERIVED_SUFFIX.match(candidate):
        candidate = match.group(1)
        if candidate in setups:
            root = candidate
    return root


def _derived_name(setups: Mapping[str, dict], root: str, setup: Mapping) -> str:
    parts = [f"{key}{read(setup)}" for key, read in _PARTS if read(setup) != read(setups[root])]
    return ".".join([root, *parts])

def _check_derived(name: str, setup: Mapping) -> None:
    epochs = int(setup["epochs"])
    cycles = int(setup.get("schedule", {}).get("cycles", 1))
    if epochs % cycles:
        raise ConfigError(f"derived setup {name}: epochs ({epochs}) must be a multiple of cycles ({cycles})")
    onset = int(setup.get("onset_epoch", 0))
    if onset >= epochs:
        raise ConfigError(f"derived setup {name}: onset epoch {onset} must be below epochs ({epochs})")

def max_runs(config: Mapping) -> int:
    """Seeds 1..max_runs exist as training targets: the largest ``runs`` (or ``runs_by_variant``)
    of any image study block, or of the plateau checks (``plateau.runs``, ``plateau.runs_by_setup``).
    The language study's runs are its own (``results/language/``), not image runs."""
    blocks = [block for name, block in config.get("studies", {}).items() if name != "language"]
    plateau = config.get("plateau") or {}
    return max([s["runs"] for s in blocks if "runs" in s]
               + [r for s in blocks for r in (s.get("runs_by_variant") or {}).values()]
               + [plateau.get("runs", 1), *(plateau.get("runs_by_setup") or {}).values()], default=1)

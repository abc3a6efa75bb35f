"""The study config: JSON-schema validation with clear messages, and resolved setups.

A *setup* in the config states only what differs from ``setup_defaults``; the resolved setup
(defaults deep-merged, dataset options attached) is what a run depends on, so its digest is
what decides whether a run must be redone.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Mapping, MutableMapping
from typing import Any

import jsonschema
import yaml

from .models import MODELS
from .seeds import VARIANTS


class ConfigError(ValueError):
    """A config that does not match the schema or refers to unknown names."""


def load_schema(path: str | os.PathLike[str]) -> dict:
    with open(path) as fh:
        return yaml.safe_load(fh)


def deep_merge(base: Mapping, override: Mapping) -> dict:
    """``base`` with ``override`` merged in, recursively for nested mappings."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _where(path: Any) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _describe(error: jsonschema.ValidationError) -> str:
    where = _where(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return f"{where}: unknown key(s) {extra}; allowed keys: {allowed}"
    if error.validator == "enum":
        return f"{where}: {error.instance!r} is not allowed; allowed values: {error.validator_value}"
    return f"{where}: {error.message}"


def validate_config(config: Mapping, schema: Mapping) -> dict:
    """Validate ``config`` against ``schema`` and the registries; return the resolved config.

    Every problem found is reported at once, each naming the key, the value and what is
    allowed. The result has every setup resolved (see :func:`resolve_setup`).
    """
    validator = jsonschema.Draft202012Validator(schema)
    problems = [_describe(e) for e in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))]
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    resolved = copy.deepcopy(dict(config))
    setups = {}
    for name, setup in config.get("setups", {}).items():
        setups[name] = resolve_setup(config, name)
        problems += _check_setup(name, setups[name], config)
    resolved["setups"] = setups
    for study, block in config.get("studies", {}).items():
        for key in ("setups", "over_time"):
            for setup_name in block.get(key, []):
                if setup_name not in setups:
                    problems.append(
                        f"studies.{study}.{key}: unknown setup {setup_name!r}; "
                        f"setups in this config: {sorted(setups)}"
                    )
        for variant in block.get("variants", []):
            if variant not in VARIANTS:
                problems.append(
                    f"studies.{study}.variants: unknown variant {variant!r}; "
                    f"valid variants: {list(VARIANTS)}"
                )
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    return resolved


def _check_setup(name: str, setup: Mapping, config: Mapping) -> list[str]:
    problems = []
    model = setup.get("model", {}).get("name")
    if model not in MODELS:
        problems.append(f"setups.{name}.model.name: unknown model {model!r}; valid models: {sorted(MODELS)}")
    dataset = setup.get("dataset")
    if dataset not in config.get("datasets", {}):
        problems.append(
            f"setups.{name}.dataset: {dataset!r} is not defined under datasets; "
            f"defined datasets: {sorted(config.get('datasets', {}))}"
        )
    return problems


def resolve_setup(config: Mapping, name: str) -> dict:
    """The full setup ``name``: ``setup_defaults`` deep-merged with the setup's own keys, plus
    the options of its dataset under ``dataset_options``."""
    setup = deep_merge(config.get("setup_defaults", {}), config["setups"][name])
    setup["dataset_options"] = copy.deepcopy(config.get("datasets", {}).get(setup.get("dataset"), {}))
    return setup


def digest(obj: Any) -> str:
    """Short stable SHA-256 of a JSON-serialisable object (key order does not matter)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def derive_setup(
    setups: MutableMapping[str, dict],
    base: str,
    *,
    lr: float | None = None,
    epochs: int | None = None,
    cycles: int | None = None,
    onset_epoch: int | None = None,
) -> str:
    """Add the setup ``base`` with the given overrides to ``setups`` (if new); return its name.

    A *derived setup* is a configured setup with a few keys overridden: the peak learning
    rate, the epochs, the number of schedule cycles or the onset epoch. Its name is canonical,
    ``{base}`` followed by ``.lr{lr}``, ``.epochs{E}``, ``.cycles{N}``, ``.onset{E}`` for exactly
    the values that differ from the base, so a derived setup equal to the base *is* the base
    and one reached from two studies is one setup: nothing is trained twice.

    >>> setups = {"cnn": {"epochs": 30, "optimizer": {"lr": 0.1}, "schedule": {}}}
    >>> derive_setup(setups, "cnn", epochs=10), derive_setup(setups, "cnn", lr=0.1, epochs=30)
    ('cnn.epochs10', 'cnn')
    >>> derive_setup(setups, "cnn", lr=0.05, onset_epoch=5)
    'cnn.lr0.05.onset5'
    """
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
    same = [name for name, other in setups.items() if other == setup]
    if same:  # e.g. doubling the epochs of "cnn.epochs60" gives "cnn" back
        return same[0]
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


def max_runs(config: Mapping) -> int:
    """Seeds 1..max_runs exist as training targets: the largest ``runs`` of any study block."""
    return max([s["runs"] for s in config.get("studies", {}).values() if "runs" in s], default=1)
